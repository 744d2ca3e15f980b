/*
 * The one-pass reader and printer of util/jsontext.h. Each gives up on
 * the first thing outside its common shapes (returns NULL or -1) and the
 * public functions then ask jansson, so nothing here has to reproduce
 * jansson's error texts, its number rules or its UTF-8 checks.
 */
#include "util/jsontext.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/decimal.h"

/* Deeper documents go to jansson (which allows 2048 levels). */
#define JSONTEXT_DEPTH_MAX 128
/* At most 18 digits: always an int64_t, never jansson's "too big integer". */
#define JSONTEXT_DIGITS_MAX 18

/* ---- reading ----------------------------------------------------------------- */

struct reader {
    const char *p, *end;
    bool unique_keys; /* JSON_REJECT_DUPLICATES: a repeated key is jansson's error */
    char *scratch; /* an unescaped string value */
    size_t cap;
};

static void skip_space(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static void scratch_put(struct reader *r, size_t at, char ch)
{
    if (at + 1 >= r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->scratch = alloc_realloc(r->scratch, r->cap);
    }
    r->scratch[at] = ch;
}

/* The string whose opening quote r->p is at: *s and *len point into the
 * text or, once an escape is seen, into r->scratch (*escaped), where the
 * value is unescaped. False when it is not plain ASCII with the short
 * escapes. */
static bool read_string(struct reader *r, const char **s, size_t *len, bool *escaped)
{
    static const char plain[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
    const char *start = ++r->p;
    size_t n = 0; /* bytes in r->scratch */
    *escaped = false;
    for (const char *q = start; q < r->end; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch == '"') {
            *s = *escaped ? r->scratch : start;
            *len = *escaped ? n : (size_t)(q - start);
            r->p = q + 1;
            return true;
        }
        if (ch < 0x20 || ch >= 0x80)
            return false;
        if (ch == '\\') {
            for (const char *h = start; !*escaped && h < q; h++)
                scratch_put(r, n++, *h); /* the plain head, once */
            *escaped = true;
            const char *esc = ++q < r->end && *q ? strchr(plain, *q) : NULL;
            if (!esc)
                return false;
            ch = (unsigned char)meant[esc - plain];
        }
        if (*escaped)
            scratch_put(r, n++, (char)ch);
    }
    return false;
}

static json_t *read_value(struct reader *r, int depth);

static json_t *read_integer(struct reader *r)
{
    const char *q = r->p;
    bool negative = q < r->end && *q == '-';
    if (negative)
        q++;
    const char *digits = q;
    int64_t v = 0;
    while (q < r->end && *q >= '0' && *q <= '9' && q - digits < JSONTEXT_DIGITS_MAX)
        v = v * 10 + (*q++ - '0');
    size_t n = (size_t)(q - digits);
    if (n == 0 || (n > 1 && *digits == '0'))
        return NULL;
    /* more digits, or a real: jansson's range rules and its strtod */
    if (q < r->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E'))
        return NULL;
    r->p = q;
    return json_integer(negative ? -v : v);
}

static json_t *read_word(struct reader *r, const char *word, json_t *value)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return NULL;
    r->p += n;
    return value;
}

/* Takes the separator after an item: true with *more for ',' and false
 * for the closing bracket; false also for anything else (*more false). */
static bool read_separator(struct reader *r, char close, bool *more)
{
    skip_space(r);
    *more = r->p < r->end && *r->p == ',';
    if (r->p < r->end && (*more || *r->p == close)) {
        r->p++;
        return true;
    }
    return false;
}

/* Reads one item into a container: true when it was added. */
typedef bool (*read_item_fn)(struct reader *r, json_t *into, int depth);

static bool read_element(struct reader *r, json_t *arr, int depth)
{
    json_t *item = read_value(r, depth);
    return item && json_array_append_new(arr, item) == 0;
}

static bool read_member(struct reader *r, json_t *obj, int depth)
{
    const char *key;
    size_t klen;
    bool escaped;
    skip_space(r);
    /* An escaped key would share r->scratch with its value: jansson's. */
    if (r->p >= r->end || *r->p != '"' || !read_string(r, &key, &klen, &escaped) || escaped)
        return false;
    skip_space(r);
    if (r->p >= r->end || *r->p != ':')
        return false;
    r->p++;
    json_t *value = read_value(r, depth);
    /* A repeated key replaces the member and leaves the size as it was:
     * told apart that way, without a lookup of every key before its
     * insert (which looks it up again). */
    size_t members = r->unique_keys ? json_object_size(obj) : 0;
    return value && json_object_setn_new_nocheck(obj, key, klen, value) == 0 &&
           (!r->unique_keys || json_object_size(obj) > members);
}

/* The array or object c whose opening bracket r->p is at, up to close;
 * NULL (c released) when jansson must read it. */
static json_t *read_container(struct reader *r, json_t *c, char close, read_item_fn item,
                              int depth)
{
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return c;
    }
    for (bool more = true; more;) {
        if (!item(r, c, depth + 1) || !read_separator(r, close, &more)) {
            json_decref(c);
            return NULL;
        }
    }
    return c;
}

static json_t *read_value(struct reader *r, int depth)
{
    skip_space(r);
    if (r->p >= r->end || depth > JSONTEXT_DEPTH_MAX)
        return NULL;
    const char *s;
    size_t len;
    bool escaped;
    switch (*r->p) {
    case '{':
        return read_container(r, json_object(), '}', read_member, depth);
    case '[':
        return read_container(r, json_array(), ']', read_element, depth);
    case '"':
        return read_string(r, &s, &len, &escaped) ? json_stringn_nocheck(s, len) : NULL;
    case 't':
        return read_word(r, "true", json_true());
    case 'f':
        return read_word(r, "false", json_false());
    case 'n':
        return read_word(r, "null", json_null());
    default:
        return read_integer(r);
    }
}

/* The document, or NULL when jansson must read it. */
static json_t *read_document(const char *text, size_t len, bool unique_keys)
{
    struct reader r = {.p = text, .end = text + len, .unique_keys = unique_keys};
    skip_space(&r);
    json_t *doc = NULL;
    if (r.p < r.end && (*r.p == '{' || *r.p == '['))
        doc = read_value(&r, 0);
    skip_space(&r);
    if (doc && r.p != r.end) {
        json_decref(doc);
        doc = NULL;
    }
    free(r.scratch);
    return doc;
}

json_t *jsontext_load(const char *text, size_t len, size_t flags, json_error_t *error)
{
    bool mine = (flags & ~(size_t)JSON_REJECT_DUPLICATES) == 0 && text;
    json_t *doc = mine ? read_document(text, len, flags & JSON_REJECT_DUPLICATES) : NULL;
    if (doc && error) /* as jansson leaves it after a success */
        *error = (json_error_t){.line = -1, .column = -1, .source = "<buffer>"};
    if (doc)
        return doc;
    return json_loadb(text, len, flags, error);
}

/* ---- printing ---------------------------------------------------------------- */

/* Into buf (growing it when grow) or, past size, only counted. */
struct writer {
    char *buf;
    size_t size, len;
    bool grow;
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->grow && w->len + n + 1 > w->size) {
        size_t want = w->size ? w->size * 2 : 1024;
        while (want < w->len + n + 1)
            want *= 2;
        w->buf = alloc_realloc(w->buf, want);
        w->size = want;
    }
    if (w->len + n <= w->size)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* -1 for a string jansson must print (a byte above 0x7F: its UTF-8 check). */
static int put_string(struct writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80)
            return -1;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)ch, 0};
        size_t n = 2;
        switch (ch) {
        case '"':
        case '\\':
            break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            n = 6;
        }
        put(w, esc, n);
    }
    put(w, s + run, len - run);
    put(w, "\"", 1);
    return 0;
}

static void put_integer(struct writer *w, json_int_t v)
{
    char digits[DECIMAL_MAX];
    put(w, digits, decimal_i64(digits, v));
}

static int put_value(struct writer *w, const json_t *v, int depth);

static int put_object(struct writer *w, const json_t *v, int depth)
{
    put(w, "{", 1);
    bool first = true;
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it), first = false) {
        if (!first)
            put(w, ",", 1);
        if (put_string(w, json_object_iter_key(it), json_object_iter_key_len(it)) < 0)
            return -1;
        put(w, ":", 1);
        if (put_value(w, json_object_iter_value(it), depth + 1) < 0)
            return -1;
    }
    put(w, "}", 1);
    return 0;
}

static int put_array(struct writer *w, const json_t *v, int depth)
{
    put(w, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i)
            put(w, ",", 1);
        if (put_value(w, json_array_get(v, i), depth + 1) < 0)
            return -1;
    }
    put(w, "]", 1);
    return 0;
}

/* -1 for what jansson must print: reals (its %.17g rules), non-ASCII
 * strings, and depths where a loop may be (it detects them). */
static int put_value(struct writer *w, const json_t *v, int depth)
{
    if (depth > JSONTEXT_DEPTH_MAX)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(w, v, depth);
    case JSON_ARRAY:
        return put_array(w, v, depth);
    case JSON_STRING:
        return put_string(w, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        put_integer(w, json_integer_value(v));
        return 0;
    case JSON_TRUE:
        put(w, "true", 4);
        return 0;
    case JSON_FALSE:
        put(w, "false", 5);
        return 0;
    case JSON_NULL:
        put(w, "null", 4);
        return 0;
    default:
        return -1;
    }
}

static bool is_container(const json_t *v)
{
    return v && (json_is_object(v) || json_is_array(v));
}

char *jsontext_dumps(const json_t *v)
{
    struct writer w = {.grow = true};
    if (!is_container(v) || put_value(&w, v, 0) < 0) {
        free(w.buf);
        return json_dumps(v, JSON_COMPACT);
    }
    w.buf[w.len] = '\0'; /* put left room for it */
    return w.buf;
}

size_t jsontext_dumpb(const json_t *v, char *buf, size_t size)
{
    struct writer w = {.buf = buf, .size = size};
    if (!is_container(v) || put_value(&w, v, 0) < 0)
        return json_dumpb(v, buf, size, JSON_COMPACT);
    return w.len;
}
