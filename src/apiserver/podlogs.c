/*
 * pods/log (podlogs.h): the options, the container choice in
 * kube-apiserver's words, and the stream that formats a log's lines a
 * chunk at a time.
 */
#include "apiserver/podlogs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/meta.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/vec.h"

#define LOG_CHUNK_LINES 64
#define STAMP_MAX 40
#define NAMES_MAX 2048

/* ---- options ---- */

static int since_time(const char *text, int64_t *ns, struct err *e)
{
    if (meta_parse_time(text, "sinceTime", ns, NULL) == 0)
        return 0;
    return err_set(e, -EBADMSG, "sinceTime: Invalid value: \"%.64s\": not an RFC 3339 time",
                   text);
}

int podlogs_options_parse(const struct query *q, int64_t now_ns, struct podlogs_options *o,
                          struct err *e)
{
    bool tail, limit, secs;
    int64_t since_s = 0;
    *o = (struct podlogs_options){.container = query_get(q, "container"), .tail_lines = -1};
    o->follow = query_bool(q, "follow", false);
    o->previous = query_bool(q, "previous", false);
    o->timestamps = query_bool(q, "timestamps", false);
    const char *at = query_get(q, "sinceTime");
    int rc = query_int(q, "tailLines", INT64_MIN, INT64_MAX, &tail, &o->tail_lines, e);
    if (rc == 0)
        rc = query_int(q, "limitBytes", INT64_MIN, INT64_MAX, &limit, &o->limit_bytes, e);
    if (rc == 0)
        rc = query_int(q, "sinceSeconds", INT64_MIN, INT64_MAX / NS_PER_SEC, &secs, &since_s, e);
    if (rc != 0)
        return rc;
    if (tail && o->tail_lines < 0)
        return err_set(e, -EINVAL, "tailLines: Invalid value: %lld: must be greater than or "
                       "equal to 0", (long long)o->tail_lines);
    if (limit && o->limit_bytes < 1)
        return err_set(e, -EINVAL, "limitBytes: Invalid value: %lld: must be greater than 0",
                       (long long)o->limit_bytes);
    if (secs && since_s < 1)
        return err_set(e, -EINVAL, "sinceSeconds: Invalid value: %lld: must be greater than 0",
                       (long long)since_s);
    if (secs && at)
        return err_set(e, -EINVAL, "PodLogOptions: Invalid value: at most one of sinceTime or "
                       "sinceSeconds may be specified");
    if (secs)
        o->since_ns = now_ns - since_s * NS_PER_SEC;
    return at ? since_time(at, &o->since_ns, e) : 0;
}

/* ---- which container ---- */

static bool has_container(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    for (size_t l = 0; l < 3; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            if (n && strcmp(n, name) == 0)
                return true;
        }
    }
    return false;
}

/* "[a b c]": Go's %s of a []string, init containers first as
 * VisitContainers walks them. */
static void container_names(const json_t *pod, char out[NAMES_MAX])
{
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    size_t used = (size_t)snprintf(out, NAMES_MAX, "[");
    for (size_t l = 0; l < 3; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            if (n && used < NAMES_MAX)
                used += (size_t)snprintf(out + used, NAMES_MAX - used, "%s%s", used > 1 ? " " : "",
                                         n);
        }
    }
    if (used < NAMES_MAX)
        snprintf(out + used, NAMES_MAX - used, "]");
}

int podlogs_container(const json_t *pod, const char *asked, const char **out, struct err *e)
{
    const char *pod_name = meta_name(pod) ? meta_name(pod) : "";
    const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
    *out = NULL;
    if (asked && *asked) {
        if (!has_container(pod, asked))
            return err_set(e, -EBADMSG, "container %s is not valid for pod %s", asked, pod_name);
        *out = asked;
        return 0;
    }
    if (json_array_size(containers) == 1) {
        *out = json_string_value(json_object_get(json_array_get(containers, 0), "name"));
        return *out ? 0 : err_set(e, -EBADMSG, "the pod's container has no name");
    }
    if (json_array_size(containers) == 0)
        return err_set(e, -EBADMSG, "a container name must be specified for pod %s", pod_name);
    char names[NAMES_MAX];
    container_names(pod, names);
    return err_set(e, -EBADMSG, "a container name must be specified for pod %s, choose one of: "
                   "%s", pod_name, names);
}

/* ---- the stream ---- */

struct podlogs_stream {
    struct linelog *log;
    struct podlogs_options o;
    uint64_t next;        /* the next line to read */
    char *pending;        /* formatted, not yet given */
    size_t pending_len, pending_at, pending_cap;
    int64_t given;        /* bytes given so far (limitBytes) */
    atomic_bool cancelled;
};

struct podlogs_stream *podlogs_stream_new(struct linelog *log, const struct podlogs_options *o)
{
    struct podlogs_stream *s = alloc_calloc(1, sizeof *s);
    s->log = log;
    s->o = *o;
    s->o.container = NULL;
    s->next = o->tail_lines >= 0 ? linelog_tail(log, (uint64_t)o->tail_lines) : 0;
    atomic_init(&s->cancelled, false);
    return s;
}

void podlogs_stream_free(struct podlogs_stream *s)
{
    if (!s)
        return;
    linelog_unref(s->log);
    free(s->pending);
    free(s);
}

void podlogs_stream_cancel(struct podlogs_stream *s)
{
    atomic_store(&s->cancelled, true);
    linelog_wake(s->log);
}

/* RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano). */
static void stamp(int64_t ns, char out[STAMP_MAX])
{
    time_t secs = (time_t)(ns / NS_PER_SEC);
    long frac = (long)(ns % NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, STAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        n += (size_t)snprintf(out + n, STAMP_MAX - n, ".%09ld", frac);
        while (out[n - 1] == '0')
            n--;
    }
    snprintf(out + n, STAMP_MAX - n, "Z");
}

static void add_pending(struct podlogs_stream *s, const char *text, size_t len)
{
    VEC_RESERVE(s->pending, s->pending_cap, s->pending_len + len + 1);
    memcpy(s->pending + s->pending_len, text, len);
    s->pending_len += len;
}

/* Formats the next lines into pending; how many were read. */
static size_t fill(struct podlogs_stream *s)
{
    struct linelog_line lines[LOG_CHUNK_LINES];
    size_t n = linelog_read(s->log, &s->next, lines, LOG_CHUNK_LINES);
    s->pending_len = s->pending_at = 0;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].t_ns < s->o.since_ns)
            continue;
        if (s->o.timestamps) {
            char t[STAMP_MAX + 1];
            stamp(lines[i].t_ns, t);
            strcat(t, " ");
            add_pending(s, t, strlen(t));
        }
        add_pending(s, lines[i].text, strlen(lines[i].text));
        add_pending(s, "\n", 1);
    }
    linelog_lines_free(lines, n);
    return n;
}

ssize_t podlogs_stream_read(struct podlogs_stream *s, char *buf, size_t max, int wait_ms)
{
    for (;;) {
        size_t left = s->pending_len - s->pending_at;
        if (s->o.limit_bytes && s->given + (int64_t)left > s->o.limit_bytes)
            left = (size_t)(s->o.limit_bytes - s->given);
        if (left > 0 && !atomic_load(&s->cancelled)) {
            size_t n = left < max ? left : max;
            memcpy(buf, s->pending + s->pending_at, n);
            s->pending_at += n;
            s->given += (int64_t)n;
            return (ssize_t)n;
        }
        if (atomic_load(&s->cancelled) ||
            (s->o.limit_bytes && s->given >= s->o.limit_bytes))
            return -1;
        /* Closed first: a line written before the close is read below. */
        bool closed = linelog_closed(s->log);
        if (fill(s) > 0)
            continue;
        if (closed || !s->o.follow)
            return -1;
        if (wait_ms == 0 || !linelog_wait(s->log, s->next, wait_ms))
            return 0;
    }
}

char *podlogs_stream_text(struct podlogs_stream *s, size_t *len)
{
    char *text = NULL, chunk[4096];
    size_t cap = 0;
    ssize_t n;
    *len = 0;
    VEC_RESERVE(text, cap, 1);
    while ((n = podlogs_stream_read(s, chunk, sizeof chunk, 0)) > 0) {
        VEC_RESERVE(text, cap, *len + (size_t)n + 1);
        memcpy(text + *len, chunk, (size_t)n);
        *len += (size_t)n;
    }
    text[*len] = '\0';
    return text;
}
