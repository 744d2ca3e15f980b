/*
 * What the files of src/api share and nothing else may use: the typed field
 * readers of gpuslice.c and gpunode.c, and the field paths the readers of
 * pods, nodes and GPUNodes name in their errors. A missing optional field leaves the
 * caller's default; a present field of the wrong type (or a missing
 * required one) is -EINVAL with a message naming "path.key". On error *out
 * is unchanged.
 */
#ifndef GPUSLICE_API_API_INTERNAL_H
#define GPUSLICE_API_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

/* A string, non-empty when required; borrowed from o. */
int api__read_string(const json_t *o, const char *key, const char *path, bool required,
                     const char **out, struct err *e);

/* A whole number from 0 to max. */
int api__read_uint(const json_t *o, const char *key, const char *path, bool required,
                   unsigned max, unsigned *out, struct err *e);

/* true or false; never required. */
int api__read_bool(const json_t *o, const char *key, const char *path, bool *out,
                   struct err *e);

/* The same, given the member's value v (NULL when absent) instead of its
 * object: for a reader that gathered them with api__members. */
int api__take_string(const json_t *v, const char *key, const char *path, bool required,
                     const char **out, struct err *e);
int api__take_uint(const json_t *v, const char *key, const char *path, bool required,
                   unsigned max, unsigned *out, struct err *e);
int api__take_bool(const json_t *v, const char *key, const char *path, bool *out,
                   struct err *e);

/* vals[i] = o[names[i]] (NULL when absent or o is not an object), found in
 * one pass over o's members instead of n hashed lookups: for views read
 * very often. names must be non-empty. Each member's name is looked for
 * from the one after the last found on, so an object written in names'
 * order (members kept in insertion order, as jansson does) finds each at
 * its first or nearly first try. */
void api__members(const json_t *o, const char *const *names, size_t n, const json_t **vals);

/* Field paths ("spec.containers[0].resources"), made for every element a
 * reader visits and used only in its error messages, so made without
 * printf (which cost more than the reading). Each writes into buf (size
 * bytes, truncated at size - 1) and returns buf. */

/* base followed by suffix. */
const char *api__path(char *buf, size_t size, const char *base, const char *suffix);

/* "base[i]". */
const char *api__path_index(char *buf, size_t size, const char *base, size_t i);

/* "base[key]", key cut at 256 bytes. */
const char *api__path_key(char *buf, size_t size, const char *base, const char *key);

#endif
