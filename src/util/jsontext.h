/*
 * JSON text to and from jansson values, several times faster than jansson's
 * own json_loadb and json_dumps for the documents the API carries, with
 * exactly their results.
 *
 * Every watch event a client reads, every request body the API server
 * takes and every object it stores is parsed or printed once; jansson
 * reads a byte at a time through a stream and checks each container
 * against its parents while printing, which made JSON text the largest
 * cost of a pod's way through the cluster over HTTP (issue 12). These
 * functions take the common shapes (ASCII strings with the short escapes,
 * integers, true, false, null, objects and arrays) in one pass over the
 * bytes and hand anything else (a \u escape, a byte above 0x7F, a real
 * number, a syntax error, very deep nesting, a repeated key under
 * JSON_REJECT_DUPLICATES, any other flag) to
 * jansson itself, so values, key order, errors and output bytes are
 * jansson's in every case.
 *
 * Ownership: as jansson's (a new reference, a malloc'd string).
 */
#ifndef GPUSLICE_UTIL_JSONTEXT_H
#define GPUSLICE_UTIL_JSONTEXT_H

#include <stddef.h>

#include <jansson.h>

/* As json_loadb(text, len, flags, error). */
json_t *jsontext_load(const char *text, size_t len, size_t flags, json_error_t *error);

/* As json_dumps(v, JSON_COMPACT). */
char *jsontext_dumps(const json_t *v);

/* As json_dumpb(v, buf, size, JSON_COMPACT): the length of v's text, which
 * is whole in buf when it is at most size (not NUL-terminated); 0 on
 * failure. */
size_t jsontext_dumpb(const json_t *v, char *buf, size_t size);

#endif
