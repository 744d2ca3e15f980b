/*
 * Object metadata: the validation rules of names, labels and annotations,
 * finalizers and owner references, and the timestamp format, as the
 * Kubernetes API server applies them to every object.
 *
 * Validators return 0 or -EINVAL with a message in the API server's form,
 * naming the field: `metadata.labels: Invalid value: "a b": name part must
 * consist of alphanumeric characters, '-', '_' or '.'`. The field argument
 * is the path to print ("metadata.name", "spec.nodeSelector").
 */
#ifndef GPUSLICE_API_META_H
#define GPUSLICE_API_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define META_TIME_LEN 21       /* "2006-01-02T15:04:05Z" + NUL */
#define META_MICROTIME_LEN 28  /* "2006-01-02T15:04:05.000000Z" + NUL */

#define META_SUBDOMAIN_MAX 253 /* characters */

/* A DNS-1123 subdomain: at most 253 characters of [a-z0-9-.], each
 * dot-separated part starting and ending alphanumeric. */
int meta_check_subdomain(const char *s, const char *field, struct err *e);

/* A DNS-1123 label: at most 63 characters of [a-z0-9-], starting and ending
 * alphanumeric. */
int meta_check_label_name(const char *s, const char *field, struct err *e);

/* A qualified name (label and annotation keys, finalizers, scheduling
 * gates): an optional DNS subdomain prefix and '/', then a name of at most
 * 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric. */
int meta_check_qualified_name(const char *s, const char *field, struct err *e);

/* A label value: empty, or at most 63 characters of [A-Za-z0-9-_.] starting
 * and ending alphanumeric. */
int meta_check_label_value(const char *s, const char *field, struct err *e);

/* A map of labels (keys qualified names, values label values), as at
 * metadata.labels or spec.nodeSelector. NULL is an empty map. */
int meta_check_labels(const json_t *labels, const char *field, struct err *e);

/* metadata.annotations: qualified-name keys, string values, 256 KiB in all. */
int meta_check_annotations(const json_t *annotations, const char *field, struct err *e);

/* The rules of metadata every object obeys: the name (a label when
 * name_is_label, else a subdomain; generateName allowed in its place when
 * allow_generate), labels, annotations, finalizers (qualified names, no
 * duplicates), ownerReferences (apiVersion, kind, name and uid required; at
 * most one controller). */
int meta_check(const json_t *metadata, bool name_is_label, bool allow_generate, struct err *e);

/* Whether metadata.finalizers holds name. */
bool meta_has_finalizer(const json_t *obj, const char *name);

/* Adds name to metadata.finalizers when missing; returns 1 when added, 0
 * when present, -ENOMEM. */
int meta_add_finalizer(json_t *obj, const char *name);

/* Removes name from metadata.finalizers; returns 1 when removed, 0 when it
 * was not there. An emptied list is removed. */
int meta_remove_finalizer(json_t *obj, const char *name);

/* The number of metadata.finalizers. */
size_t meta_finalizer_count(const json_t *obj);

/* An owner reference from the owner's apiVersion, kind, name and uid, with
 * controller and blockOwnerDeletion; new reference owned by the caller. */
json_t *meta_owner_ref(const json_t *owner, bool controller, bool block);

/* The ownerReferences entry with controller: true, or NULL (borrowed). */
const json_t *meta_controller_ref(const json_t *obj);

/* Whether obj lists an owner with this uid. */
bool meta_owned_by(const json_t *obj, const char *uid);

/* Borrowed strings of metadata (NULL when absent or not a string). */
const char *meta_name(const json_t *obj);
const char *meta_namespace(const json_t *obj);
const char *meta_uid(const json_t *obj);
const char *meta_resource_version(const json_t *obj);
const char *meta_label(const json_t *obj, const char *key);
const char *meta_annotation(const json_t *obj, const char *key);

/* obj's metadata object, created empty when missing; NULL when obj is not an
 * object or metadata is not one (borrowed). */
json_t *meta_of(json_t *obj);

/* A copy of the object obj for a write of a reconciler (an action's body,
 * which the store may keep as the stored version: store.h, handed_over):
 * a top-level object and a metadata object of its own, obj's member deep
 * (NULL: none; "metadata": all of metadata) copied whole, every other part
 * shared with obj and read-only. Cached objects never change, and a store
 * changes only a body's top level and metadata members, so a caller that
 * changes only those and deep costs a copy of them instead of the whole
 * object (a pod's status write copied its spec too). New reference; NULL
 * when obj is not an object. */
json_t *meta_copy_for_write(const json_t *obj, const char *deep);

/* Formats ns since the Unix epoch as RFC 3339 in UTC with whole seconds
 * ("2024-05-01T10:00:00Z"), the form of metav1.Time. */
void meta_format_time(int64_t ns, char out[META_TIME_LEN]);

/* The same with microseconds, the form of metav1.MicroTime. */
void meta_format_microtime(int64_t ns, char out[META_MICROTIME_LEN]);

/* The furthest a parsed time lies from 1970, in seconds: what 64 bits of
 * nanoseconds hold, less a year, so that a time plus any duration this
 * project adds to one (a minute, a keep-warm) cannot overflow. */
#define META_TIME_MAX_SECONDS (INT64_MAX / 1000000000 - 366LL * 86400)

/* Parses an RFC 3339 time (UTC "Z" or a +hh:mm offset, optional fraction)
 * into ns since the epoch. -EINVAL naming field when malformed or past
 * META_TIME_MAX_SECONDS either way (a client may write any year). */
int meta_parse_time(const char *s, const char *field, int64_t *ns, struct err *e);

#endif
