/*
 * JSON objects written in tests as C strings with single quotes
 * ("{'metadata':{'name':'p'}}"), which read far better than escaped double
 * quotes. A string that does not parse fails the test, showing the text.
 * Include after <cmocka.h>.
 */
#ifndef GPUSLICE_TESTS_COMMON_JSON_TEXT_H
#define GPUSLICE_TESTS_COMMON_JSON_TEXT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static inline json_t *json_text(const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON (%s): %s", jerr.text, text);
    return j;
}

/* obj's first members are named keys ("apiVersion,kind,metadata"), in that
 * order: for a document whose member order clients and diffs see. */
static inline void assert_keys_begin(const json_t *obj, const char *keys)
{
    void *it = json_object_iter((json_t *)obj);
    char name[256];
    for (const char *k = keys; *k; k += *k == ',') {
        size_t n = strcspn(k, ",");
        snprintf(name, sizeof name, "%.*s", (int)n, k);
        k += n;
        if (!it)
            fail_msg("no member %s, want %s", name, keys);
        if (strcmp(json_object_iter_key(it), name) != 0)
            fail_msg("member %s where %s was due (want %s)", json_object_iter_key(it), name, keys);
        it = json_object_iter_next((json_t *)obj, it);
    }
}

#endif
