/*
 * Schema checks with positions (schema.h).
 */
#include "util/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *schema_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a sequence";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static const char *field_type_name(json_type t)
{
    static const struct {
        json_type type;
        const char *name;
    } names[] = {{JSON_OBJECT, "a mapping"}, {JSON_ARRAY, "a sequence"},
                 {JSON_STRING, "a string"},  {JSON_INTEGER, "an integer"},
                 {JSON_TRUE, "a boolean"},   {JSON_REAL, "a number"}};
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (names[i].type == t)
            return names[i].name;
    return "?";
}

static bool has_type(const json_t *v, json_type t)
{
    if (t == JSON_TRUE)
        return json_is_boolean(v);
    if (t == JSON_REAL)
        return json_is_number(v);
    return t == JSON_NULL || json_typeof(v) == t;
}

static int vfail(const struct schema *s, const struct yaml_mark *at, const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return yaml_doc_fail(s->doc, at, s->e, -EINVAL, "%s", msg);
}

int schema_fail_member(const struct schema *s, const json_t *obj, const char *key,
                       bool key_side, const char *fmt, ...)
{
    struct yaml_mark at;
    bool known = key_side ? yaml_doc_where_member(s->doc, obj, key, &at, NULL)
                          : yaml_doc_where_member(s->doc, obj, key, NULL, &at);
    known = known || yaml_doc_where(s->doc, obj, &at);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(s, known ? &at : NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int schema_fail_item(const struct schema *s, const json_t *arr, size_t i, const char *fmt, ...)
{
    struct yaml_mark at;
    bool known = yaml_doc_where_item(s->doc, arr, i, &at);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(s, known ? &at : NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int schema_fail_at(const struct schema *s, const json_t *v, const char *fmt, ...)
{
    struct yaml_mark at;
    bool known = yaml_doc_where(s->doc, v, &at);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(s, known ? &at : NULL, fmt, ap);
    va_end(ap);
    return rc;
}

void schema_list_append(char *buf, size_t size, size_t *used, const char *name)
{
    if (*used == 0 && size > 0)
        buf[0] = '\0';
    if (*used < size)
        *used += (size_t)snprintf(buf + *used, size - *used, "%s%s", *used ? ", " : "", name);
}

static void field_names(const struct schema_field *fields, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        schema_list_append(buf, size, &used, fields[i].name);
}

int schema_check(const struct schema *s, const json_t *obj, const char *what,
                 const struct schema_field *fields, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(fields[i].name, key) != 0)
            i++;
        if (i == n) {
            char known[256];
            field_names(fields, n, known, sizeof known);
            return schema_fail_member(s, obj, key, true, "unknown field \"%s\" in %s (known: %s)",
                                      key, what, known);
        }
        if (!json_is_null(v) && !has_type(v, fields[i].type))
            return schema_fail_member(s, obj, key, false, "\"%s\" must be %s, not %s", key,
                                      field_type_name(fields[i].type), schema_type_name(v));
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *given = json_object_get(obj, fields[i].name);
        if (fields[i].required && (!given || json_is_null(given)))
            return schema_fail_member(s, obj, fields[i].name, false, "%s needs \"%s\"", what,
                                      fields[i].name);
    }
    return 0;
}

int schema_mapping_item(const struct schema *s, const json_t *arr, size_t i, const char *what,
                        json_t **out)
{
    *out = json_array_get(arr, i);
    if (!json_is_object(*out))
        return schema_fail_item(s, arr, i, "%s must be a mapping, not %s", what,
                                schema_type_name(*out));
    return 0;
}
