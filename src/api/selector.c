/*
 * Label and field selectors of selector.h: a small hand-written lexer and
 * parser for the string forms, a converter for the LabelSelector JSON form,
 * and matching through a getter.
 */
#include "api/selector.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "util/vec.h"
#include "util/alloc.h"

enum sel_op {
    SEL_EQ,
    SEL_NE,
    SEL_IN,
    SEL_NOTIN,
    SEL_EXISTS,
    SEL_NOT_EXISTS,
    SEL_GT,
    SEL_LT,
};

struct sel_req {
    char *key;
    enum sel_op op;
    size_t n, cap;
    char **values;
};

struct selector {
    size_t n, cap;
    struct sel_req *reqs;
};

struct field_selector {
    size_t n, cap;
    struct sel_req *reqs; /* ops SEL_EQ and SEL_NE only, one value each */
};

static void req_free(struct sel_req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->n; i++)
        free(r->values[i]);
    free(r->values);
}

static void reqs_free(struct sel_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        req_free(&reqs[i]);
    free(reqs);
}

void selector_free(struct selector *sel)
{
    if (!sel)
        return;
    reqs_free(sel->reqs, sel->n);
    free(sel);
}

void selector_field_free(struct field_selector *fs)
{
    if (!fs)
        return;
    reqs_free(fs->reqs, fs->n);
    free(fs);
}

/* Appends a requirement (taking ownership of key) to a growing array. */
static struct sel_req *reqs_push(struct sel_req **reqs, size_t *n, size_t *cap, char *key,
                                 enum sel_op op)
{
    VEC_RESERVE(*reqs, *cap, *n + 1);
    struct sel_req *r = &(*reqs)[(*n)++];
    memset(r, 0, sizeof *r);
    r->key = key;
    r->op = op;
    return r;
}

static void req_add_value(struct sel_req *r, const char *v, size_t len)
{
    VEC_RESERVE(r->values, r->cap, r->n + 1);
    r->values[r->n++] = alloc_strndup(v, len);
}

/* --- label selector string syntax ---------------------------------------- */

struct lexer {
    const char *s;
    size_t pos;
};

static void lex_space(struct lexer *lx)
{
    while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t')
        lx->pos++;
}

static bool is_word_char(char c)
{
    return c && !strchr(" \t,()=!<>", c);
}

/* A word at the cursor; len 0 when there is none. */
static size_t lex_word(struct lexer *lx, const char **start)
{
    lex_space(lx);
    *start = lx->s + lx->pos;
    size_t len = 0;
    while (is_word_char(lx->s[lx->pos + len]))
        len++;
    return len;
}

static bool lex_take(struct lexer *lx, const char *tok)
{
    lex_space(lx);
    size_t len = strlen(tok);
    if (strncmp(lx->s + lx->pos, tok, len) != 0)
        return false;
    lx->pos += len;
    return true;
}

static int lex_fail(const struct lexer *lx, const char *expected, struct err *e)
{
    return err_set(e, -EBADMSG, "unable to parse requirement: at position %zu of \"%s\": "
                   "expected %s", lx->pos, lx->s, expected);
}

static int check_value(const char *v, size_t len, struct err *e)
{
    char buf[72];
    if (len >= sizeof buf)
        return err_set(e, -EINVAL, "values[0]: Invalid value: \"%.*s\": must be no more than "
                       "63 characters", (int)len, v);
    memcpy(buf, v, len);
    buf[len] = '\0';
    return meta_check_label_value(buf, "values[0]", e);
}

/* Parses `( v1, v2 )` into r. */
static int parse_set(struct lexer *lx, struct sel_req *r, struct err *e)
{
    if (!lex_take(lx, "("))
        return lex_fail(lx, "'('", e);
    for (;;) {
        const char *w;
        size_t len = lex_word(lx, &w);
        if (len == 0 && r->n == 0 && lex_take(lx, ")"))
            return err_set(e, -EBADMSG, "unable to parse requirement: for 'in', 'notin' "
                           "operators, values set can't be empty");
        if (check_value(w, len, e) != 0)
            return -EINVAL;
        req_add_value(r, w, len);
        lx->pos += len;
        if (lex_take(lx, ")"))
            return 0;
        if (!lex_take(lx, ","))
            return lex_fail(lx, "',' or ')'", e);
    }
}

static int parse_requirement(struct lexer *lx, struct selector *sel, struct err *e)
{
    bool negate = lex_take(lx, "!");
    const char *w;
    size_t len = lex_word(lx, &w);
    if (len == 0)
        return lex_fail(lx, "a label key", e);
    char *key = alloc_strndup(w, len);
    lx->pos += len;
    if (meta_check_qualified_name(key, "key", e) != 0) {
        free(key);
        return -EINVAL;
    }
    lex_space(lx);
    enum sel_op op = SEL_EXISTS;
    const char *rest = lx->s + lx->pos;
    if (negate)
        op = SEL_NOT_EXISTS;
    else if (lex_take(lx, "==") || lex_take(lx, "="))
        op = SEL_EQ;
    else if (lex_take(lx, "!="))
        op = SEL_NE;
    else if (lex_take(lx, ">"))
        op = SEL_GT;
    else if (lex_take(lx, "<"))
        op = SEL_LT;
    else if (strncmp(rest, "notin", 5) == 0 && !is_word_char(rest[5])) {
        lx->pos += 5;
        op = SEL_NOTIN;
    } else if (strncmp(rest, "in", 2) == 0 && !is_word_char(rest[2])) {
        lx->pos += 2;
        op = SEL_IN;
    }
    struct sel_req *r = reqs_push(&sel->reqs, &sel->n, &sel->cap, key, op);
    switch (op) {
    case SEL_EXISTS:
    case SEL_NOT_EXISTS:
        return 0;
    case SEL_IN:
    case SEL_NOTIN:
        return parse_set(lx, r, e);
    default:
        break;
    }
    len = lex_word(lx, &w);
    if ((op == SEL_GT || op == SEL_LT)) {
        char *end = NULL;
        char num[24];
        snprintf(num, sizeof num, "%.*s", (int)(len < 23 ? len : 23), w);
        if (len == 0 || len > 18 || (strtoll(num, &end, 10), *end != '\0'))
            return lex_fail(lx, "an integer", e);
    } else if (check_value(w, len, e) != 0) {
        return -EINVAL;
    }
    lx->pos += len;
    req_add_value(r, w, len);
    return 0;
}

/* A selector string with a bad key or value is a bad request, as the API
 * server answers it, not an invalid object. */
static int as_bad_request(struct err *e)
{
    return err_prefix(e, -EBADMSG, "unable to parse requirement: ");
}

static struct selector *selector_alloc(void)
{
    return alloc_calloc(1, sizeof(struct selector));
}

int selector_parse(const char *s, struct selector **out, struct err *e)
{
    *out = NULL;
    struct selector *sel = selector_alloc();
    struct lexer lx = {s ? s : "", 0};
    lex_space(&lx);
    int rc = 0;
    while (rc == 0 && lx.s[lx.pos]) {
        rc = parse_requirement(&lx, sel, e);
        lex_space(&lx);
        if (rc != 0 || !lx.s[lx.pos])
            continue;
        if (!lex_take(&lx, ",")) {
            rc = lex_fail(&lx, "','", e);
            continue;
        }
        lex_space(&lx);
        if (!lx.s[lx.pos])
            rc = lex_fail(&lx, "a requirement after ','", e);
    }
    if (rc == -EINVAL)
        rc = as_bad_request(e);
    if (rc != 0) {
        selector_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

int selector_from_json(const json_t *ls, const char *field, struct selector **out,
                       struct err *e)
{
    *out = NULL;
    if (ls && !json_is_null(ls) && !json_is_object(ls))
        return err_set(e, -EINVAL, "%s: Invalid value: must be an object", field);
    struct selector *sel = selector_alloc();
    const json_t *ml = json_object_get(ls, "matchLabels");
    const json_t *mx = json_object_get(ls, "matchExpressions");
    char path[160];
    snprintf(path, sizeof path, "%s.matchLabels", field);
    int rc = meta_check_labels(ml, path, e);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ml, key, v) {
        if (rc)
            break;
        struct sel_req *r = reqs_push(&sel->reqs, &sel->n, &sel->cap, alloc_strdup(key), SEL_EQ);
        req_add_value(r, json_string_value(v), json_string_length(v));
    }
    if (rc == 0 && mx && !json_is_array(mx))
        rc = err_set(e, -EINVAL, "%s.matchExpressions: Invalid value: must be a list", field);
    static const struct {
        const char *name;
        enum sel_op op;
        bool values;
    } ops[] = {{"In", SEL_IN, true},
               {"NotIn", SEL_NOTIN, true},
               {"Exists", SEL_EXISTS, false},
               {"DoesNotExist", SEL_NOT_EXISTS, false}};
    for (size_t i = 0; rc == 0 && i < json_array_size(mx); i++) {
        const json_t *x = json_array_get(mx, i);
        const char *k = json_string_value(json_object_get(x, "key"));
        const char *opname = json_string_value(json_object_get(x, "operator"));
        const json_t *vals = json_object_get(x, "values");
        snprintf(path, sizeof path, "%s.matchExpressions[%zu]", field, i);
        size_t o = 0;
        while (o < 4 && !(opname && strcmp(opname, ops[o].name) == 0))
            o++;
        if (!k || meta_check_qualified_name(k, path, e) != 0) {
            rc = k ? -EINVAL : err_set(e, -EINVAL, "%s.key: Required value", path);
        } else if (o == 4) {
            rc = err_set(e, -EINVAL, "%s.operator: Unsupported value: \"%s\": supported values: "
                         "\"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"", path,
                         opname ? opname : "");
        } else if (ops[o].values != (json_array_size(vals) > 0)) {
            rc = err_set(e, -EINVAL, "%s.values: %s", path,
                         ops[o].values ? "Required value: must be specified when `operator` "
                                         "is 'In' or 'NotIn'"
                                       : "Forbidden: may not be specified when `operator` is "
                                         "'Exists' or 'DoesNotExist'");
        } else {
            struct sel_req *r = reqs_push(&sel->reqs, &sel->n, &sel->cap, alloc_strdup(k),
                                          ops[o].op);
            for (size_t j = 0; rc == 0 && j < json_array_size(vals); j++) {
                const json_t *jv = json_array_get(vals, j);
                if (!json_is_string(jv))
                    rc = err_set(e, -EINVAL, "%s.values[%zu]: Invalid value: must be a string",
                                 path, j);
                else
                    req_add_value(r, json_string_value(jv), json_string_length(jv));
            }
        }
    }
    if (rc != 0) {
        selector_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

static bool value_in(const struct sel_req *r, const char *v)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->values[i], v) == 0)
            return true;
    return false;
}

static bool req_match(const struct sel_req *r, const char *v)
{
    switch (r->op) {
    case SEL_EQ:
        return v && strcmp(v, r->values[0]) == 0;
    case SEL_NE:
        return !v || strcmp(v, r->values[0]) != 0;
    case SEL_IN:
        return v && value_in(r, v);
    case SEL_NOTIN:
        return !v || !value_in(r, v);
    case SEL_EXISTS:
        return v != NULL;
    case SEL_NOT_EXISTS:
        return v == NULL;
    case SEL_GT:
    case SEL_LT: {
        if (!v)
            return false;
        char *end;
        long long have = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0')
            return false;
        long long want = strtoll(r->values[0], NULL, 10);
        return r->op == SEL_GT ? have > want : have < want;
    }
    }
    return false;
}

bool selector_match(const struct selector *sel, selector_get_fn get, void *ctx)
{
    for (size_t i = 0; sel && i < sel->n; i++)
        if (!req_match(&sel->reqs[i], get(ctx, sel->reqs[i].key)))
            return false;
    return true;
}

static const char *labels_get(void *ctx, const char *key)
{
    return json_string_value(json_object_get(ctx, key));
}

bool selector_match_labels(const struct selector *sel, const json_t *labels)
{
    return selector_match(sel, labels_get, (void *)labels);
}

bool selector_empty(const struct selector *sel)
{
    return !sel || sel->n == 0;
}

/* --- field selectors ------------------------------------------------------ */

static bool field_supported(const struct api_resource *res, const char *field)
{
    if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0)
        return true;
    for (size_t i = 0; res->selectable_fields[i]; i++)
        if (strcmp(res->selectable_fields[i], field) == 0)
            return true;
    return false;
}

/* Copies s[0..len) into a new string, resolving backslash escapes. */
static char *unescape(const char *s, size_t len)
{
    char *out = alloc_malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            i++;
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

/* The end of the term starting at s: the first unescaped ',' or NUL. */
static size_t term_len(const char *s)
{
    size_t i = 0;
    while (s[i] && s[i] != ',') {
        if (s[i] == '\\' && s[i + 1])
            i++;
        i++;
    }
    return i;
}

static int parse_field_term(const char *t, size_t len, const struct api_resource *res,
                            struct field_selector *fs, struct err *e)
{
    size_t k = 0;
    while (k < len && t[k] != '=' && t[k] != '!')
        k++;
    enum sel_op op;
    size_t vstart;
    if (k + 1 < len && t[k] == '!' && t[k + 1] == '=') {
        op = SEL_NE;
        vstart = k + 2;
    } else if (k + 1 < len && t[k] == '=' && t[k + 1] == '=') {
        op = SEL_EQ;
        vstart = k + 2;
    } else if (k < len && t[k] == '=') {
        op = SEL_EQ;
        vstart = k + 1;
    } else {
        return err_set(e, -EBADMSG, "invalid selector: '%.*s'; can't understand '%.*s'",
                       (int)len, t, (int)len, t);
    }
    size_t klen = k;
    while (klen > 0 && isspace((unsigned char)t[klen - 1]))
        klen--;
    size_t kstart = 0;
    while (kstart < klen && isspace((unsigned char)t[kstart]))
        kstart++;
    char *key = alloc_strndup(t + kstart, klen - kstart);
    if (res && !field_supported(res, key)) {
        err_set(e, -EBADMSG, "field label not supported: %s", key);
        free(key);
        return -EBADMSG;
    }
    struct sel_req *r = reqs_push(&fs->reqs, &fs->n, &fs->cap, key, op);
    char **vals = alloc_malloc(sizeof *vals);
    vals[0] = unescape(t + vstart, len - vstart);
    r->values = vals;
    r->n = r->cap = 1;
    return 0;
}

int selector_field_parse(const char *s, const struct api_resource *res,
                         struct field_selector **out, struct err *e)
{
    *out = NULL;
    struct field_selector *fs = alloc_calloc(1, sizeof *fs);
    const char *p = s ? s : "";
    while (*p) {
        size_t len = term_len(p);
        int rc = parse_field_term(p, len, res, fs, e);
        if (rc != 0) {
            selector_field_free(fs);
            return rc;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = fs;
    return 0;
}

bool selector_field_match(const struct field_selector *fs, selector_get_fn get, void *ctx)
{
    for (size_t i = 0; fs && i < fs->n; i++) {
        const char *v = get(ctx, fs->reqs[i].key);
        if (!v)
            v = "";
        if (!req_match(&fs->reqs[i], v))
            return false;
    }
    return true;
}

bool selector_field_empty(const struct field_selector *fs)
{
    return !fs || fs->n == 0;
}

const char *selector_first_equals(const struct selector *sel, const char **key)
{
    for (size_t i = 0; sel && i < sel->n; i++)
        if (sel->reqs[i].op == SEL_EQ) {
            *key = sel->reqs[i].key;
            return sel->reqs[i].values[0];
        }
    return NULL;
}

const char *selector_field_equals(const struct field_selector *fs, const char *field)
{
    for (size_t i = 0; fs && i < fs->n; i++)
        if (fs->reqs[i].op == SEL_EQ && strcmp(fs->reqs[i].key, field) == 0)
            return fs->reqs[i].values[0];
    return NULL;
}

const char *selector_field_value(const json_t *obj, const char *path, char buf[24])
{
    const json_t *cur = obj;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        cur = json_object_getn(cur, p, len);
        p += len + (dot != NULL);
    }
    if (json_is_string(cur))
        return json_string_value(cur);
    if (json_is_boolean(cur))
        return json_is_true(cur) ? "true" : "false";
    if (json_is_integer(cur)) {
        snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
        return buf;
    }
    return NULL;
}
