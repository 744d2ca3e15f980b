/*
 * Request targets: percent-decoding and the query parameters of the
 * Kubernetes REST API.
 *
 * The API server reads its options from the query string
 * (?labelSelector=app%3Dweb&limit=500&watch=true). A parsed query keeps its
 * decoded keys and values in one buffer it owns; lookups return the first
 * value given for a key, as Go's url.Values.Get does. The number of
 * parameters is bounded so that a hostile request costs a bounded amount.
 */
#ifndef GPUSLICE_APISERVER_QUERY_H
#define GPUSLICE_APISERVER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define QUERY_MAX_PARAMS 32

struct query_param {
    const char *key;   /* decoded, NUL-terminated, in query.buf */
    const char *value; /* "" when the parameter has no '=' */
};

struct query {
    struct query_param v[QUERY_MAX_PARAMS];
    size_t n;
    char *buf; /* owned; freed by query_free */
};

/* Decodes s[0..len) in place of out (out may be s): "%XX" escapes, and '+'
 * as a space when plus_is_space (query strings, not paths). Sets *out_len
 * to the decoded length and NUL-terminates out. -EBADMSG for a truncated or
 * non-hex escape or an escaped NUL. */
int query_unescape(const char *s, size_t len, bool plus_is_space, char *out, size_t *out_len);

/* Parses the query string s[0..len) ("a=1&b=2", without the '?') into q,
 * which the caller releases with query_free (also after a failure).
 * -EBADMSG for a bad escape or more than QUERY_MAX_PARAMS parameters,
 * -ENOMEM. Empty pieces ("a=1&&b") are skipped. */
int query_parse(const char *s, size_t len, struct query *q, struct err *e);

void query_free(struct query *q);

/* The first value of key, or NULL when absent. */
const char *query_get(const struct query *q, const char *key);

/* A boolean parameter the way the API server reads one: absent → def;
 * "false" or "0" (any case) → false; anything else, "" included → true. */
bool query_bool(const struct query *q, const char *key, bool def);

/* An integer parameter in [min, max]: *present says whether it was given
 * (*out untouched when not). -EBADMSG naming the parameter when it is not
 * a decimal integer in range. */
int query_int(const struct query *q, const char *key, int64_t min, int64_t max, bool *present,
              int64_t *out, struct err *e);

#endif
