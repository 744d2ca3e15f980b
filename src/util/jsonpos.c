/*
 * The scanner of jsonpos.h: a walk down the text that skips every value
 * off the path without building it, so locating one error costs one pass
 * over at most the text before it.
 */
#include "util/jsonpos.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scan {
    const char *p, *end;
};

static void skip_space(struct scan *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p))
        s->p++;
}

/* Past a string that starts at s->p (its opening quote). */
static void skip_string(struct scan *s)
{
    for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
        if (*s->p == '\\' && s->p + 1 < s->end)
            s->p++;
    if (s->p < s->end)
        s->p++;
}

/* Past the value at s->p; containers by their depth, skipping strings.
 * Nothing at the end of the text (a member cut off after its colon). */
static void skip_value(struct scan *s)
{
    if (s->p >= s->end)
        return;
    int depth = 0;
    do {
        char c = *s->p;
        if (c == '"') {
            skip_string(s);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        else if (depth == 0 && (c == ',' || isspace((unsigned char)c)))
            return; /* end of a scalar */
        s->p++;
    } while (s->p < s->end && depth > 0);
    if (depth == 0) /* a scalar: run to its end */
        while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
            s->p++;
}

/* Past the value at s->p and the comma after it; false at the end of its
 * container (or of the text). */
static bool next_element(struct scan *s)
{
    skip_value(s);
    skip_space(s);
    if (s->p >= s->end || *s->p != ',')
        return false;
    s->p++;
    return true;
}

/* In the object at s->p, moves to the value of key (klen bytes). */
static bool enter_member(struct scan *s, const char *key, size_t klen)
{
    if (s->p >= s->end || *s->p != '{')
        return false;
    s->p++;
    for (;;) {
        skip_space(s);
        if (s->p >= s->end || *s->p != '"')
            return false;
        const char *name = s->p + 1;
        skip_string(s);
        bool match = (size_t)(s->p - 1 - name) == klen && strncasecmp(name, key, klen) == 0;
        skip_space(s);
        if (s->p >= s->end || *s->p != ':')
            return false;
        s->p++;
        skip_space(s);
        if (match)
            return true;
        if (!next_element(s))
            return false;
    }
}

/* In the array at s->p, moves to item i. */
static bool enter_item(struct scan *s, unsigned long i)
{
    if (s->p >= s->end || *s->p != '[')
        return false;
    s->p++;
    for (unsigned long k = 0;; k++) {
        skip_space(s);
        if (s->p >= s->end || *s->p == ']')
            return false;
        if (k == i)
            return true;
        if (!next_element(s))
            return false;
    }
}

/* Follows one step of the path ("key", "key[3]" or "[3]") from s->p; on
 * success *path is past it. */
static bool step(struct scan *s, const char **path)
{
    const char *q = *path;
    size_t klen = strcspn(q, ".[");
    if (klen > 0 && !enter_member(s, q, klen))
        return false;
    q += klen;
    while (*q == '[') {
        char *end;
        unsigned long i = strtoul(q + 1, &end, 10);
        if (*end != ']' || !enter_item(s, i))
            return false;
        q = end + 1;
    }
    *path = *q == '.' ? q + 1 : q;
    return true;
}

static void position(const char *text, const char *at, struct jsonpos *pos)
{
    pos->line = 1;
    const char *line_start = text;
    for (const char *c = text; c < at; c++) {
        if (*c == '\n') {
            pos->line++;
            line_start = c + 1;
        }
    }
    pos->column = (int)(at - line_start) + 1;
}

bool jsonpos_find(const char *text, size_t len, const char *path, struct jsonpos *at)
{
    struct scan s = {text, text + len};
    skip_space(&s);
    const char *found = s.p;
    bool whole = true;
    while (*path) {
        if (!step(&s, &path)) {
            whole = false;
            break;
        }
        found = s.p;
    }
    position(text, found, at);
    return whole;
}
