/*
 * The checked document builders of jdoc.h. The abort is an assertion that
 * stays on in release builds: a field silently missing from an object that
 * is then written to the API server is worse than a restart.
 */
#include "util/jdoc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/utf8.h"

static _Noreturn void refused(const char *what, const char *key, const json_t *value)
{
    fprintf(stderr, "gpuslice: cannot %s \"%.100s\": %s\n", what, key,
            value ? "the target is not a container, or the key is not UTF-8"
                  : "no value (a JSON constructor was given invalid input)");
    abort();
}

void jdoc_set(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        refused("set the JSON field", key, value);
}

void jdoc_append(json_t *arr, json_t *value)
{
    if (!value || json_array_append_new(arr, value) != 0)
        refused("append to the JSON array", "", value);
}

bool jdoc_put(json_t *obj, const char *key, json_t *value, bool ok)
{
    return json_object_set_new_nocheck(obj, key, value) == 0 && ok;
}

json_t *jdoc_built(json_t *obj, bool ok)
{
    if (ok)
        return obj;
    json_decref(obj);
    return NULL;
}

bool jdoc_string_is(const json_t *v, const char *s)
{
    size_t len = strlen(s);
    return json_is_string(v) && json_string_length(v) == len &&
           memcmp(json_string_value(v), s, len) == 0;
}

json_t *jdoc_string(const char *s, const char *what, struct err *e)
{
    json_t *j = json_string(s);
    if (!j)
        err_set(e, -EBADMSG, "%s is not valid UTF-8", what);
    return j;
}

json_t *jdoc_string_scrubbed(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = alloc_strdup(s);
    j = json_string(utf8_scrub(copy));
    free(copy);
    if (!j)
        refused("make a JSON string of", s, NULL);
    return j;
}

/* A new object with o's keys, in order, and its values copied (deep) or
 * shared. */
static json_t *copy_object(const json_t *o, bool deep)
{
    json_t *c = json_object();
    const char *key;
    size_t len;
    json_t *v;
    json_object_keylen_foreach((json_t *)o, key, len, v) {
        json_t *value = deep ? jdoc_copy(v) : json_incref(v);
        if (!c || json_object_setn_new_nocheck(c, key, len, value) != 0)
            refused("copy the JSON field", key, v);
    }
    return c;
}

json_t *jdoc_shallow(const json_t *obj)
{
    return copy_object(obj, false);
}

static json_t *copy_array(const json_t *a)
{
    json_t *c = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        jdoc_append(c, jdoc_copy(v));
    return c;
}

json_t *jdoc_copy(const json_t *v)
{
    switch (json_typeof(v ? v : json_null())) {
    case JSON_OBJECT:
        return copy_object(v, true);
    case JSON_ARRAY:
        return copy_array(v);
    default: /* scalars: shared (no code here changes one in place) */
        return v ? json_incref((json_t *)v) : NULL;
    }
}
