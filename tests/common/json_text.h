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

#endif
