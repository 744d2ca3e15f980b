/*
 * Strict decoding of YAML mappings against a small schema: which fields a
 * mapping may hold, their JSON types, which are required; every failure is
 * "FILE:LINE:COL: what" at the value at fault (util/yaml.h keeps the
 * positions). The cluster file and the simulator's scenario decode with it,
 * so both refuse the same mistakes in the same words.
 */
#ifndef GPUSLICE_UTIL_SCHEMA_H
#define GPUSLICE_UTIL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"
#include "util/yaml.h"

/* What a mapping may hold. JSON_TRUE stands for either boolean, JSON_REAL
 * for any number, JSON_NULL for any type (the caller checks it). */
struct schema_field {
    const char *name;
    json_type type;
    bool required;
};

/* Where errors come from and go: the document the values are in. */
struct schema {
    const struct yaml_doc *doc;
    struct err *e; /* never NULL */
};

/* "a mapping", "a string", "an integer", ...: what v is, for messages. */
const char *schema_type_name(const json_t *v);

/* Checks obj (a mapping, said to be `what` in messages) against fields: no
 * unknown field, the right types, the required ones present. A null value
 * counts as absent. -EINVAL naming the field and where. */
int schema_check(const struct schema *s, const json_t *obj, const char *what,
                 const struct schema_field *fields, size_t n);

/* The item i of arr, which must be a mapping (a `what`). */
int schema_mapping_item(const struct schema *s, const json_t *arr, size_t i, const char *what,
                        json_t **out);

/* Fails (-EINVAL) at the value of obj's member key (its key when key_side),
 * or at obj itself when it has no such member. */
int schema_fail_member(const struct schema *s, const json_t *obj, const char *key,
                       bool key_side, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fails (-EINVAL) at item i of arr. */
int schema_fail_item(const struct schema *s, const json_t *arr, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fails (-EINVAL) at node v, or names only the file when v's place is not
 * known. */
int schema_fail_at(const struct schema *s, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends name to the ", "-separated list in buf[size], cut when full;
 * *used is the list's length so far (start at 0). */
void schema_list_append(char *buf, size_t size, size_t *used, const char *name);

#endif
