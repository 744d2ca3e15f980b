/*
 * The one out-of-memory policy of gpuslice: an allocation that fails
 * aborts the process with a message, as Redis does. Every heap allocation
 * goes through these wrappers (and jansson's, which the binary's main
 * routes here with json_set_alloc_funcs), so callers never see NULL and
 * hold no `if (!p) return -ENOMEM` branches that nothing tests.
 *
 * Why abort: a controller that cannot allocate cannot make progress safely,
 * and a half-done reconcile unwound through a hundred untested error paths
 * is worse than none. Aborting lets Kubernetes restart the container, and
 * every reconcile resumes from the API server, which holds all the state
 * that matters. The rule that goes with it: a size an outside party chooses
 * (a request body, a count in a document) is bounded before it is
 * allocated, so that no client can make the process abort.
 *
 * Ownership: what these return is the caller's, released with free().
 */
#ifndef GPUSLICE_UTIL_ALLOC_H
#define GPUSLICE_UTIL_ALLOC_H

#include <stddef.h>

/* malloc(size); never NULL (size 0 gives a unique pointer). */
void *alloc_malloc(size_t size);

/* calloc(n, size): zeroed; never NULL. n * size overflowing aborts too. */
void *alloc_calloc(size_t n, size_t size);

/* realloc(p, size); never NULL, and never frees p (size 0 keeps one byte). */
void *alloc_realloc(void *p, size_t size);

/* p resized to n elements of size bytes; n * size overflowing aborts. */
void *alloc_realloc_array(void *p, size_t n, size_t size);

/* A copy of s (not NULL); never NULL. */
char *alloc_strdup(const char *s);

/* A copy of at most n bytes of s, NUL-terminated; never NULL. */
char *alloc_strndup(const char *s, size_t n);

/* Writes "gpuslice: out of memory (<size> bytes)" to stderr and aborts:
 * what the wrappers do when the C library says no. */
_Noreturn void alloc_failed(size_t size);

#endif
