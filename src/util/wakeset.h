/*
 * Which of many parts (the simulator's agents, the kubelets: one per node)
 * to step in virtual time: the ones told that something concerns them
 * (wakeset_mark) and the ones whose own timers are due, so that a round at
 * one instant costs the parts that work, not every node. A bitmap of marked
 * parts, walked in index order as the engine stepped every part, and a
 * tournament tree of each part's next due time (the minimum at its root).
 *
 * Ownership: the set is the caller's (wakeset_free).
 */
#ifndef GPUSLICE_UTIL_WAKESET_H
#define GPUSLICE_UTIL_WAKESET_H

#include <stddef.h>
#include <stdint.h>

struct wakeset;

/* A set of n parts, every one marked, none due (INT64_MAX). */
struct wakeset *wakeset_new(size_t n);
void wakeset_free(struct wakeset *ws);

void wakeset_mark(struct wakeset *ws, size_t i);
/* Part i's next due time (INT64_MAX: none). */
void wakeset_set_due(struct wakeset *ws, size_t i, int64_t due);
/* The earliest due time of all parts. */
int64_t wakeset_next_due(const struct wakeset *ws);
/* Marks every part due at or before now. */
void wakeset_mark_due(struct wakeset *ws, int64_t now);
/* The first marked part at or after from, unmarked; SIZE_MAX: none. */
size_t wakeset_take(struct wakeset *ws, size_t from);

#endif
