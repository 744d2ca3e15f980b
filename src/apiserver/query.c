/*
 * Query strings and percent-decoding for the REST API's request targets
 * (query.h). Decoding happens in one copy of the input so that a parsed
 * query costs a single allocation.
 */
#include "apiserver/query.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int query_unescape(const char *s, size_t len, bool plus_is_space, char *out, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return -EBADMSG;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '\0') {
            return -EBADMSG;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    *out_len = o;
    return 0;
}

void query_free(struct query *q)
{
    free(q->buf);
    memset(q, 0, sizeof *q);
}

/* Decodes one "key=value" piece held at p[0..len) into place. */
static int query_add(struct query *q, char *p, size_t len, struct err *e)
{
    if (q->n == QUERY_MAX_PARAMS)
        return err_set(e, -EBADMSG, "too many query parameters (at most %d)", QUERY_MAX_PARAMS);
    char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    size_t dlen;
    if (query_unescape(p, klen, true, p, &dlen) != 0)
        return err_set(e, -EBADMSG, "query parameter %.*s: invalid %%-escape", (int)klen, p);
    q->v[q->n].key = p;
    if (!eq) {
        q->v[q->n++].value = "";
        return 0;
    }
    char *val = eq + 1;
    if (query_unescape(val, len - klen - 1, true, val, &dlen) != 0)
        return err_set(e, -EBADMSG, "query parameter %s: invalid %%-escape in its value", p);
    q->v[q->n++].value = val;
    return 0;
}

int query_parse(const char *s, size_t len, struct query *q, struct err *e)
{
    memset(q, 0, sizeof *q);
    q->buf = alloc_malloc(len + 1);
    memcpy(q->buf, s, len);
    q->buf[len] = '\0';
    char *p = q->buf, *end = q->buf + len;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p));
        char *stop = amp ? amp : end;
        *stop = '\0';
        if (stop > p) {
            int rc = query_add(q, p, (size_t)(stop - p), e);
            if (rc != 0)
                return rc;
        }
        p = stop + 1;
    }
    return 0;
}

const char *query_get(const struct query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->v[i].key, key) == 0)
            return q->v[i].value;
    return NULL;
}

bool query_bool(const struct query *q, const char *key, bool def)
{
    const char *v = query_get(q, key);
    if (!v)
        return def;
    return strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

int query_int(const struct query *q, const char *key, int64_t min, int64_t max, bool *present,
              int64_t *out, struct err *e)
{
    const char *v = query_get(q, key);
    *present = v != NULL;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    bool digits = *v == '-' ? v[1] >= '0' && v[1] <= '9' : *v >= '0' && *v <= '9';
    if (!digits || *end || errno == ERANGE || x < min || x > max)
        return err_set(e, -EBADMSG, "query parameter %s: \"%.64s\" is not an integer in "
                       "[%lld, %lld]", key, v, (long long)min, (long long)max);
    *out = x;
    return 0;
}
