/*
 * Building JSON documents in code without ignoring jansson's results.
 *
 * json_object_set_new and json_array_append_new fail in two ways: out of
 * memory, which the binary's allocator turns into an abort (util/alloc.h),
 * and a NULL value, a non-object target or a key that is not UTF-8, which
 * are the caller's bugs (a constructor such as json_string() returns NULL
 * for invalid UTF-8). jdoc_set and jdoc_append make the second kind loud:
 * they abort with a message naming the key instead of quietly dropping the
 * field. So the rule for callers: use them for values built from trusted
 * data (literals, numbers, strings read from parsed JSON or YAML, which are
 * valid UTF-8 by then); a string from the wire that was never validated (a
 * URL path or query parameter) goes through jdoc_string first, which
 * reports -EBADMSG, so that no client can make the process abort.
 *
 * Ownership: the value is stolen, as by the _new functions of jansson.
 */
#ifndef GPUSLICE_UTIL_JDOC_H
#define GPUSLICE_UTIL_JDOC_H

#include <stdbool.h>

#include <jansson.h>

#include "util/err.h"

/* Sets obj[key] to value (stolen); aborts with a message when it cannot. */
void jdoc_set(json_t *obj, const char *key, json_t *value);

/* Appends value (stolen) to arr; aborts with a message when it cannot. */
void jdoc_append(json_t *arr, json_t *value);

/* obj[key] = value (stolen; key a literal, not checked again), for an
 * object built member by member where json_pack would scan its format and
 * check every literal key at each call: returns ok, or false when value is
 * NULL (a string that is not UTF-8, as json_pack would fail) or obj is
 * not an object. */
bool jdoc_put(json_t *obj, const char *key, json_t *value, bool ok);

/* The end of a build by jdoc_put: obj when every member was put (ok),
 * else NULL with obj released. */
json_t *jdoc_built(json_t *obj, bool ok);

/* Whether v is the JSON string s, byte for byte and of its length (as
 * json_equal compares two strings; a string holding a NUL is not s). */
bool jdoc_string_is(const json_t *v, const char *s);

/* A JSON string of s, or NULL and -EBADMSG in e when s is not valid UTF-8
 * (what names where: "namespace in the URL"). */
json_t *jdoc_string(const char *s, const char *what, struct err *e);

/* A JSON string of s with every byte that is not part of a UTF-8
 * character as '?' and a character cut at its end dropped (utf8_scrub), for
 * text that must reach a client whatever bytes it echoes (a Status's
 * message, a name from the URL). Never NULL: allocation failure aborts. */
json_t *jdoc_string_scrubbed(const char *s);

/* A deep copy of v (NULL for NULL): what json_deep_copy gives, for a
 * fraction of its cost, because it skips jansson's check for loops (a
 * formatted pointer and a hash table insert per object and array, plus a
 * table made and freed per call). A loop cannot be built but by setting a
 * container inside itself, which no code here does; parsed documents have
 * none. Objects and arrays are new; strings, numbers and the constants are
 * v's own, shared (a reference each, about half the allocations of a
 * document), which is safe because no code here changes a scalar in place
 * (json_string_set, json_integer_set and json_real_set are not used: to
 * change a member, set a new value). Memory follows util/alloc.h, so it
 * never fails. */
json_t *jdoc_copy(const json_t *v);

/* A new object with obj's members (an object), in order, their values
 * shared (references): for building a new version of a value no one
 * changes, replacing only the members that differ. */
json_t *jdoc_shallow(const json_t *obj);

#endif
