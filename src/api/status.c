/*
 * The errno <-> Kubernetes Status table of status.h, and the two
 * conversions built on it. The table is the only place either direction
 * learns a mapping, so the API server and the kube backend cannot disagree.
 */
#include "api/status.h"

#include <stdbool.h>
#include <string.h>

#include "util/jdoc.h"

struct status_row {
    int code;
    const char *reason;
    int http;
};

/* Ordered by HTTP status; where two codes share one (409), the reason tells
 * them apart when parsing. */
static const struct status_row status_rows[] = {
    {-EBADMSG, "BadRequest", 400},
    {-EACCES, "Unauthorized", 401},
    {-EPERM, "Forbidden", 403},
    {-ENOENT, "NotFound", 404},
    {-ENOSYS, "MethodNotAllowed", 405},
    {-ENOTSUP, "NotAcceptable", 406},
    {-EEXIST, "AlreadyExists", 409},
    {-ESTALE, "Conflict", 409},
    {-EKEYEXPIRED, "Expired", 410},
    {-E2BIG, "RequestEntityTooLarge", 413},
    {-ENAMETOOLONG, "RequestURITooLong", 414},
    {-EMEDIUMTYPE, "UnsupportedMediaType", 415},
    {-EINVAL, "Invalid", 422},
    {-EAGAIN, "TooManyRequests", 429},
    {-EIO, "InternalError", 500},
    {-EBUSY, "ServiceUnavailable", 503},
    {-ETIMEDOUT, "Timeout", 504},
    {-ETIME, "Timeout", 504}, /* told apart by its cause, see status_too_large */
};

/* The parts kube-apiserver's "Too large resource version" error adds to a
 * Timeout. */
static const char status_timeout_prefix[] = "Timeout: ";
static const char status_too_large_cause[] = "ResourceVersionTooLarge";

#define STATUS_ROWS (sizeof status_rows / sizeof status_rows[0])

static const struct status_row status_internal = {-EIO, "InternalError", 500};

static const struct status_row *status_row_of_code(int code)
{
    for (size_t i = 0; i < STATUS_ROWS; i++)
        if (status_rows[i].code == code)
            return &status_rows[i];
    return &status_internal;
}

static const struct status_row *status_row_of_reason(const char *reason)
{
    if (!reason)
        return NULL;
    if (strcmp(reason, "Gone") == 0)
        reason = "Expired";
    for (size_t i = 0; i < STATUS_ROWS; i++)
        if (strcmp(status_rows[i].reason, reason) == 0)
            return &status_rows[i];
    return NULL;
}

static const struct status_row *status_row_of_http(int http)
{
    for (size_t i = 0; i < STATUS_ROWS; i++)
        if (status_rows[i].http == http)
            return &status_rows[i];
    return NULL;
}

const char *status_reason(int code)
{
    return code == 0 ? "" : status_row_of_code(code)->reason;
}

int status_http(int code)
{
    return code == 0 ? 200 : status_row_of_code(code)->http;
}

/* Adds what marks a Timeout as "Too large resource version". */
static int status_mark_too_large(json_t *st)
{
    const char *msg = json_string_value(json_object_get(st, "message"));
    json_t *details = json_pack("{s:[{s:s, s:s}], s:i}", "causes", "reason",
                                status_too_large_cause, "message", "Too large resource version",
                                "retryAfterSeconds", 1);
    json_t *prefixed = json_sprintf("%s%s", status_timeout_prefix, msg ? msg : "");
    if (json_object_set_new(st, "details", details) != 0 ||
        json_object_set_new(st, "message", prefixed) != 0)
        return -ENOMEM;
    return 0;
}

/* Whether a parsed Timeout is "Too large resource version". */
static bool status_is_too_large(const json_t *status)
{
    const json_t *causes = json_object_get(json_object_get(status, "details"), "causes");
    size_t i;
    const json_t *cause;
    json_array_foreach(causes, i, cause) {
        const char *reason = json_string_value(json_object_get(cause, "reason"));
        if (reason && strcmp(reason, status_too_large_cause) == 0)
            return true;
    }
    return false;
}

/* An Invalid failure as kube-apiserver's NewInvalid makes it, which is
 * what kubectl prints in full: details naming the Kind (not the plural)
 * and one cause per field, from a message `Kind "name" is invalid: FIELD:
 * DETAIL` (the store's). A message of another form gets no details, so
 * kubectl prints it (with details and no cause it prints only `The pods
 * "x" is invalid`). */
static void status_invalid_details(json_t *st, const char *msg, const char *group)
{
    const char *q1 = strchr(msg, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
    static const char mark[] = "\" is invalid: ";
    if (!q1 || !q2 || q1 == msg || q1[-1] != ' ' || strncmp(q2, mark, sizeof mark - 1) != 0 ||
        memchr(msg, ' ', (size_t)(q1 - 1 - msg)))
        return;
    const char *rest = q2 + sizeof mark - 1, *colon = strstr(rest, ": ");
    if (!colon || colon == rest || memchr(rest, ' ', (size_t)(colon - rest)))
        return;
    json_t *d = json_pack("{s:s%, s:s%, s:s, s:[{s:s, s:s, s:s%}]}", "name", q1 + 1,
                          (size_t)(q2 - q1 - 1), "kind", msg, (size_t)(q1 - 1 - msg), "group",
                          group ? group : "", "causes", "reason", "FieldValueInvalid", "message",
                          colon + 2, "field", rest, (size_t)(colon - rest));
    if (d)
        json_object_set_new(st, "details", d);
}

/* Every text of the Status goes in scrubbed (jdoc_string_scrubbed): a
 * message or a name from the URL that is not UTF-8 would make no JSON
 * string, and a client's error must never become a 500. */
json_t *status_from_err(const struct err *e, const char *group, const char *resource,
                        const char *name)
{
    int code = e ? e->code : 0;
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:o, s:i}", "kind", "Status", "apiVersion",
                           "v1", "metadata", "status", code ? "Failure" : "Success",
                           "message", jdoc_string_scrubbed(e ? e->msg : ""), "code",
                           status_http(code));
    if (!st)
        return NULL;
    if (code)
        jdoc_set(st, "reason", json_string(status_reason(code)));
    if (code == -ETIME && status_mark_too_large(st) != 0)
        goto fail;
    if (code == -EINVAL) {
        status_invalid_details(st, json_string_value(json_object_get(st, "message")), group);
        return st;
    }
    if (group || resource || name) {
        json_t *d = json_object_get(st, "details");
        if (!d)
            jdoc_set(st, "details", d = json_object());
        if (name)
            jdoc_set(d, "name", jdoc_string_scrubbed(name));
        if (group)
            jdoc_set(d, "group", jdoc_string_scrubbed(group));
        if (resource)
            jdoc_set(d, "kind", jdoc_string_scrubbed(resource));
    }
    return st;
fail:
    json_decref(st);
    return NULL;
}

int status_to_err(const json_t *status, int http, struct err *e)
{
    const char *kind = json_string_value(json_object_get(status, "kind"));
    if (!json_is_object(status) || !kind || strcmp(kind, "Status") != 0) {
        const struct status_row *r = status_row_of_http(http);
        return err_set(e, r ? r->code : -EIO, "HTTP %d without a Status body", http);
    }
    const char *outcome = json_string_value(json_object_get(status, "status"));
    if (outcome && strcmp(outcome, "Success") == 0) {
        err_clear(e);
        return 0;
    }
    const char *reason = json_string_value(json_object_get(status, "reason"));
    const json_t *jcode = json_object_get(status, "code");
    if (json_is_integer(jcode))
        http = (int)json_integer_value(jcode);
    const struct status_row *r = status_row_of_reason(reason);
    if (!r)
        r = status_row_of_http(http);
    if (!r)
        r = &status_internal;
    if (r->code == -ETIMEDOUT && status_is_too_large(status))
        r = status_row_of_code(-ETIME);
    const char *msg = json_string_value(json_object_get(status, "message"));
    if (r->code == -ETIME && msg && strncmp(msg, status_timeout_prefix,
                                            sizeof status_timeout_prefix - 1) == 0)
        msg += sizeof status_timeout_prefix - 1;
    if (msg && *msg)
        return err_set(e, r->code, "%s", msg);
    return err_set(e, r->code, "%s (HTTP %d)", reason ? reason : r->reason, http);
}
