/*
 * Label and field selectors, parsed once and matched many times.
 *
 * Label selectors take the API's string syntax: requirements separated by
 * commas, each `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k>n` or `k<n`; or the LabelSelector JSON form
 * (matchLabels, matchExpressions). `k!=v` and `notin` also match objects
 * without the label, as in Kubernetes. An empty selector matches everything.
 *
 * Field selectors are `f=v`, `f==v` or `f!=v` requirements separated by
 * commas, with `\,`, `\=` and `\\` escapes in values; a resource accepts
 * metadata.name, metadata.namespace and its selectable_fields. A missing
 * field reads as "", so `spec.nodeName=` selects unscheduled pods.
 *
 * Matching reads values through a getter so that callers can match a JSON
 * object or their own index without building one.
 */
#ifndef GPUSLICE_API_SELECTOR_H
#define GPUSLICE_API_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/resource.h"
#include "util/err.h"

struct selector;       /* label selector */
struct field_selector;

/* The value for key, or NULL when absent. */
typedef const char *(*selector_get_fn)(void *ctx, const char *key);

/* Parses s (NULL or "": match everything) into *out, owned by the caller
 * (selector_free). -EBADMSG when s is malformed (with the position and what
 * was expected) or a key or value is not valid (saying which). */
int selector_parse(const char *s, struct selector **out, struct err *e);

/* Parses a LabelSelector object (NULL or {}: match everything) into *out.
 * -EINVAL naming the field (prefixed with field) when malformed. */
int selector_from_json(const json_t *ls, const char *field, struct selector **out,
                       struct err *e);

/* Whether the labels read through get match. */
bool selector_match(const struct selector *sel, selector_get_fn get, void *ctx);

/* Whether a labels map (NULL: no labels) matches. */
bool selector_match_labels(const struct selector *sel, const json_t *labels);

/* Whether sel has no requirements. */
bool selector_empty(const struct selector *sel);

/* The first `key=value` requirement of sel: its value, with *key set to
 * its key, or NULL when sel has none; lets a store route objects to the
 * watches that select by a label. */
const char *selector_first_equals(const struct selector *sel, const char **key);

void selector_free(struct selector *sel);

/* Parses s (NULL or "": everything) into *out, owned by the caller
 * (selector_field_free). When res is not NULL, a field it does not accept is
 * -EBADMSG ("field label not supported: spec.x"). */
int selector_field_parse(const char *s, const struct api_resource *res,
                         struct field_selector **out, struct err *e);

/* Whether the fields read through get (NULL read as "") match. */
bool selector_field_match(const struct field_selector *fs, selector_get_fn get, void *ctx);

/* Whether fs has no requirements. */
bool selector_field_empty(const struct field_selector *fs);

/* The value fs requires field to equal (an `=` requirement), or NULL; lets a
 * store use an index for metadata.name=x. */
const char *selector_field_equals(const struct field_selector *fs, const char *field);

void selector_field_free(struct field_selector *fs);

/* The value of a dotted field path in obj ("metadata.name",
 * "spec.nodeName"): strings as they are, booleans as "true"/"false",
 * integers in decimal; NULL when absent or of another type. The string is
 * borrowed from obj or static, except integers which are written to buf. */
const char *selector_field_value(const json_t *obj, const char *path, char buf[24]);

#endif
