/*
 * Content-Type and Accept parsing (media.h). Media types are compared
 * case-insensitively and their parameters read without allocating.
 */
#include "apiserver/media.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* A [s, s+len) span with blanks trimmed off both ends. */
static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static bool span_is(const char *s, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(s, want, len) == 0;
}

/* The media type of one range: the part before ';'. */
static void media_type_span(const char *s, size_t len, const char **t, size_t *tlen)
{
    const char *semi = memchr(s, ';', len);
    *t = s;
    *tlen = semi ? (size_t)(semi - s) : len;
    trim(t, tlen);
}

enum media_body media_body_type(const char *content_type)
{
    if (!content_type || !*content_type)
        return MEDIA_BODY_JSON;
    static const struct {
        const char *type;
        enum media_body body;
    } types[] = {
        {"application/json", MEDIA_BODY_JSON},
        {"application/yaml", MEDIA_BODY_YAML},
        {"application/merge-patch+json", MEDIA_BODY_MERGE_PATCH},
        {"application/json-patch+json", MEDIA_BODY_JSON_PATCH},
        {"application/strategic-merge-patch+json", MEDIA_BODY_STRATEGIC_PATCH},
        {"application/apply-patch+yaml", MEDIA_BODY_APPLY_PATCH},
        {"application/vnd.kubernetes.protobuf", MEDIA_BODY_PROTOBUF},
    };
    const char *t;
    size_t tlen;
    media_type_span(content_type, strlen(content_type), &t, &tlen);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (span_is(t, tlen, types[i].type))
            return types[i].body;
    return MEDIA_BODY_UNSUPPORTED;
}

/* The value of parameter name in range [s, s+len), as a span; false when
 * absent. */
static bool param(const char *s, size_t len, const char *name, const char **v, size_t *vlen)
{
    const char *end = s + len;
    const char *p = memchr(s, ';', len);
    while (p && p < end) {
        p++;
        const char *next = memchr(p, ';', (size_t)(end - p));
        const char *stop = next ? next : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq) {
            const char *k = p;
            size_t klen = (size_t)(eq - p);
            trim(&k, &klen);
            if (span_is(k, klen, name)) {
                *v = eq + 1;
                *vlen = (size_t)(stop - eq - 1);
                trim(v, vlen);
                return true;
            }
        }
        p = next;
    }
    return false;
}

/* Whether one range can be served, and as what. */
static bool range_answer(const char *s, size_t len, enum media_answer *out,
                         const char **table_version)
{
    const char *t, *as, *g, *v;
    size_t tlen, aslen, glen, vlen;
    media_type_span(s, len, &t, &tlen);
    if (!span_is(t, tlen, "application/json") && !span_is(t, tlen, "application/*") &&
        !span_is(t, tlen, "*/*"))
        return false;
    if (!param(s, len, "as", &as, &aslen)) {
        *out = MEDIA_ANSWER_JSON;
        return true;
    }
    if (!param(s, len, "g", &g, &glen) || !span_is(g, glen, "meta.k8s.io") ||
        !param(s, len, "v", &v, &vlen) ||
        !(span_is(v, vlen, "v1") || span_is(v, vlen, "v1beta1")))
        return false;
    if (span_is(as, aslen, "Table"))
        *out = MEDIA_ANSWER_TABLE;
    else if (span_is(as, aslen, "PartialObjectMetadata") ||
             span_is(as, aslen, "PartialObjectMetadataList"))
        *out = MEDIA_ANSWER_PARTIAL;
    else
        return false;
    *table_version = vlen == 2 ? "v1" : "v1beta1";
    return true;
}

int media_answer_type(const char *accept, enum media_answer *out, const char **table_version,
                      struct err *e)
{
    *out = MEDIA_ANSWER_JSON;
    *table_version = "v1";
    if (!accept || !*accept)
        return 0;
    const char *p = accept, *end = accept + strlen(accept);
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (range_answer(p, (size_t)(stop - p), out, table_version))
            return 0;
        p = stop + 1;
    }
    *out = MEDIA_ANSWER_JSON;
    *table_version = "v1";
    return err_set(e, -ENOTSUP, "only the following media types are accepted: application/json, "
                   "application/json;as=Table;v=v1;g=meta.k8s.io");
}
