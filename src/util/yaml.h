/*
 * YAML in, jansson trees out, with the line and column of every node kept.
 *
 * gpuslice reads YAML (cluster files, kubeconfig, manifests) but reasons
 * about JSON, the form the Kubernetes API speaks. A parsed YAML stream is
 * one struct yaml_doc: its documents ("---" separated) as jansson trees, and
 * a side table that says where each node was written, so that a caller that
 * finds a semantically wrong value can report "FILE:LINE:COL: message".
 *
 * Scalars follow the YAML 1.2 core schema: a plain scalar is null (null,
 * Null, NULL, ~, empty), a bool (true/false in three casings), an integer
 * (decimal, 0o octal, 0x hex), a real (decimal with fraction or exponent),
 * and otherwise a string; quoted and block scalars are always strings. The
 * tags !!str, !!int, !!float, !!bool, !!null, !!seq and !!map are honoured;
 * other tags, .inf/.nan (JSON has no form for them) and integers beyond 64
 * bits are errors. Mapping keys are taken as written ("1: x" has the key
 * "1"); non-scalar keys, duplicate keys and keys with a NUL are errors.
 *
 * Anchors and aliases are supported: an alias becomes a deep copy of the
 * node its anchor names, which must be complete (no recursion). Copies count
 * towards the node limit, so an alias bomb ("billion laughs") is an error,
 * not an allocation storm. Input size and nesting depth are bounded too.
 *
 * Positions are 1-based; columns count characters. jansson's true, false
 * and null are shared singletons, so their position is only known through
 * their parent (yaml_doc_where_member, yaml_doc_where_item). The trees
 * belong to the yaml_doc; changing them may lose positions.
 */
#ifndef GPUSLICE_UTIL_YAML_H
#define GPUSLICE_UTIL_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

#define YAML_DEFAULT_MAX_BYTES (4u << 20)
#define YAML_DEFAULT_MAX_DEPTH 64u
#define YAML_DEFAULT_MAX_NODES (1u << 20)

struct yaml_limits {
    size_t max_bytes;   /* input size */
    unsigned max_depth; /* nesting of sequences and mappings */
    size_t max_nodes;   /* nodes in all documents, alias copies included */
};

struct yaml_mark {
    unsigned line; /* 1-based */
    unsigned col;  /* 1-based, in characters */
};

struct yaml_doc;

/* Parses text[0..len) as a YAML stream. name is what errors call the input
 * (a file name); limits may be NULL for the YAML_DEFAULT_* ones. On success
 * *out is a new yaml_doc the caller frees with yaml_doc_free; on failure
 * *out is NULL and e says "name:line:col: what" (-EINVAL bad YAML, -E2BIG
 * a limit passed, -ENOMEM). */
int yaml_doc_parse(const char *name, const char *text, size_t len,
                   const struct yaml_limits *limits, struct yaml_doc **out, struct err *e);

/* yaml_doc_parse on the contents of the file at path, named by path; -errno
 * when it cannot be read. */
int yaml_doc_load(const char *path, const struct yaml_limits *limits, struct yaml_doc **out,
                  struct err *e);

void yaml_doc_free(struct yaml_doc *d);

/* The name errors use for the input. */
const char *yaml_doc_name(const struct yaml_doc *d);

/* How many documents the stream holds (0 for an empty stream), and the root
 * of document i (borrowed from d; NULL when i is out of range). */
size_t yaml_doc_count(const struct yaml_doc *d);
json_t *yaml_doc_root(const struct yaml_doc *d, size_t i);

/* Where node was written; false when unknown (true/false/null, or a node
 * not from d). */
bool yaml_doc_where(const struct yaml_doc *d, const json_t *node, struct yaml_mark *at);

/* Where the member key of object obj was written: its key (key_at) and its
 * value (value_at); either may be NULL. False when obj has no such member. */
bool yaml_doc_where_member(const struct yaml_doc *d, const json_t *obj, const char *key,
                           struct yaml_mark *key_at, struct yaml_mark *value_at);

/* Where item i of array arr was written; false when there is no such item. */
bool yaml_doc_where_item(const struct yaml_doc *d, const json_t *arr, size_t i,
                         struct yaml_mark *at);

/* Sets e to "name:line:col: message" (just "name: message" when at is NULL)
 * and returns code, for callers reporting a semantic error in d. */
int yaml_doc_fail(const struct yaml_doc *d, const struct yaml_mark *at, struct err *e, int code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
