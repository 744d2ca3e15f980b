/*
 * The pods/log subresource (`kubectl logs`): its options, which container
 * a read is about, and the text a container's log is answered with, at
 * once or followed.
 *
 * The API server keeps no log: as kube-apiserver asks the kubelet of the
 * pod's node, this one asks a podlogs_source (the embedded cluster wires
 * its kubelets' logs, cluster/kubelet_logs.h) for a reference to the log
 * (util/linelog.h), and a podlogs_stream formats it for one response. What
 * one response holds in memory is bounded (LOG_CHUNK_LINES formatted lines
 * at a time); a followed log holds its connection like a watch and counts
 * against the server's watch cap (apiserver.h), so followers cannot pile
 * up either.
 *
 * As kube-apiserver: a pod not bound to a node answers an empty log; no
 * container named with several in the pod is 400 "a container name must be
 * specified for pod P, choose one of: [a b]" (init containers after the
 * others, as its VisitContainers lists them), an unknown one 400
 * "container c is not valid for pod P"; the kubelet's own refusals (a
 * container waiting to start, no previous run) are 400 with its message.
 * Options: container, follow, previous, timestamps (RFC 3339 with
 * nanoseconds, trailing zeros trimmed, then a space), tailLines,
 * limitBytes, sinceSeconds, sinceTime (at most one of the two).
 */
#ifndef GPUSLICE_APISERVER_PODLOGS_H
#define GPUSLICE_APISERVER_PODLOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "apiserver/query.h"
#include "util/err.h"
#include "util/linelog.h"

/* Where logs are read: the kubelet of node. open gives a reference to
 * container's log (the current run, or the one before with previous), or
 * fails with the kubelet's message and code (-EBADMSG: no log to read).
 * Called on connection threads, at the same time. */
struct podlogs_source {
    int (*open)(void *ctx, const char *node, const json_t *pod, const char *container,
                bool previous, struct linelog **out, struct err *e);
    void *ctx;
};

struct podlogs_options {
    const char *container; /* borrowed from the query; NULL: not given */
    bool follow, previous, timestamps;
    int64_t tail_lines;    /* -1: all */
    int64_t limit_bytes;   /* 0: no limit */
    int64_t since_ns;      /* lines written before it are left out; 0: none */
};

/* Reads the options from q (now_ns turns sinceSeconds into a time).
 * -EINVAL naming the option for a negative count or both since options,
 * -EBADMSG for one that does not parse. */
int podlogs_options_parse(const struct query *q, int64_t now_ns, struct podlogs_options *o,
                          struct err *e);

/* The container a read of pod is about: asked (NULL or "": the only one)
 * when pod has it, into *out (borrowed from pod or asked). -EBADMSG with
 * kube-apiserver's words otherwise. */
int podlogs_container(const json_t *pod, const char *asked, const char **out, struct err *e);

struct podlogs_stream;

/* A stream of log's text as o says (log: a reference the stream takes;
 * o is copied, its container unused). Without follow it ends after the
 * lines there now; with it, once the log is closed and read. */
struct podlogs_stream *podlogs_stream_new(struct linelog *log, const struct podlogs_options *o);

/* Copies up to max bytes into buf, waiting up to wait_ms (negative: as
 * long as it takes) for a line when a followed log has none yet: the
 * bytes copied (> 0), 0 when nothing came in time, -1 at the end. One
 * reader thread at a time. */
ssize_t podlogs_stream_read(struct podlogs_stream *s, char *buf, size_t max, int wait_ms);

/* Ends the stream from any thread: a read waiting returns, and the next
 * gives the end. */
void podlogs_stream_cancel(struct podlogs_stream *s);

/* Frees s (may be NULL) and gives its log back. */
void podlogs_stream_free(struct podlogs_stream *s);

/* The whole text of a stream that does not follow, into a new string
 * (*len bytes, NUL-terminated); the stream is read to its end. */
char *podlogs_stream_text(struct podlogs_stream *s, size_t *len);

#endif
