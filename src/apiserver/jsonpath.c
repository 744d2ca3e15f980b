/*
 * A small evaluator for printer-column JSONPaths (jsonpath.h). It walks the
 * path once, left to right, holding one current node; no allocation.
 */
#include "apiserver/jsonpath.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Member name characters: up to the next step. */
static size_t name_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != '.' && p[n] != '[')
        n++;
    return n;
}

static const json_t *member(const json_t *obj, const char *name, size_t len)
{
    return json_is_object(obj) ? json_object_getn(obj, name, len) : NULL;
}

/* [N] at p (after the '['); sets *next past the ']'. */
static const json_t *index_step(const json_t *arr, const char *p, const char **next)
{
    char *end;
    long i = strtol(p, &end, 10);
    if (end == p || *end != ']' || !json_is_array(arr))
        return NULL;
    *next = end + 1;
    long n = (long)json_array_size(arr);
    if (i < 0)
        i += n;
    return i >= 0 && i < n ? json_array_get(arr, (size_t)i) : NULL;
}

/* Whether el's member (at [key, key+klen)) is the string [want, want+wlen). */
static bool field_equals(const json_t *el, const char *key, size_t klen, const char *want,
                         size_t wlen)
{
    const json_t *v = member(el, key, klen);
    return json_is_string(v) && json_string_length(v) == wlen &&
           memcmp(json_string_value(v), want, wlen) == 0;
}

/* [?(@.key=="value")] at p (after the '['); sets *next past the ']'. */
static const json_t *filter_step(const json_t *arr, const char *p, const char **next)
{
    if (strncmp(p, "?(@.", 4) != 0 || !json_is_array(arr))
        return NULL;
    const char *key = p + 4;
    const char *eq = strstr(key, "==");
    if (!eq)
        return NULL;
    char quote = eq[2];
    if (quote != '"' && quote != '\'')
        return NULL;
    const char *want = eq + 3;
    const char *close = strchr(want, quote);
    if (!close || strncmp(close + 1, ")]", 2) != 0)
        return NULL;
    *next = close + 3;
    size_t i;
    const json_t *el;
    json_array_foreach(arr, i, el) {
        if (field_equals(el, key, (size_t)(eq - key), want, (size_t)(close - want)))
            return el;
    }
    return NULL;
}

const json_t *jsonpath_get(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    if (*p == '.' && p[1] == '\0')
        return root;
    while (cur && *p) {
        if (*p == '.') {
            size_t n = name_len(++p);
            if (n == 0)
                return NULL;
            cur = member(cur, p, n);
            p += n;
        } else if (*p == '[') {
            p++;
            if (*p == '*' && p[1] == ']') {
                cur = json_is_array(cur) ? json_array_get(cur, 0) : NULL;
                p += 2;
            } else {
                cur = *p == '?' ? filter_step(cur, p, &p) : index_step(cur, p, &p);
            }
        } else if (p == path) {
            size_t n = name_len(p); /* a path may omit its leading '.' */
            cur = member(cur, p, n);
            p += n;
        } else {
            return NULL;
        }
    }
    return cur;
}
