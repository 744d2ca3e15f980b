/*
 * The controller's web dashboard: one page (HTML, CSS and JavaScript of
 * its own, built into the binary: nothing is fetched from elsewhere) that
 * draws every node and GPU as memory-slice bars coloured by profile and
 * namespace, the pods that wait and why, the pods that run, recent Events
 * and the controller's counters, and keeps them live from a server-sent
 * event stream instead of reloading.
 *
 * Served (GET and HEAD only; read-only):
 *   /                the page; /?token=T sets the token as a cookie
 *                    (HttpOnly, SameSite=Strict) and redirects to /, so
 *                    that a browser, whose EventSource sends no header of
 *                    its own, can authenticate
 *   /dashboard.js, /dashboard.css
 *   /api/snapshot    the document (controller/dashboard_snapshot.h)
 *   /api/events      text/event-stream: "snapshot" events carrying the
 *                    document, the current one first, then one per change
 * Changes are coalesced: a change (dashboard_changed, from the
 * controller's informer handlers, or an Event seen by the dashboard's own
 * Event informer) marks the document stale, and a publisher thread
 * rebuilds it once per coalesce interval at most, sending it only when it
 * differs from the last one sent. Streams are capped in number and in
 * unsent bytes per client (util/sse.h): a slow client is dropped.
 *
 * Access: it listens on 127.0.0.1 unless told otherwise; anywhere else it
 * needs a token (-EPERM without one). With a token every request must
 * bring it (Authorization: Bearer, or the cookie); without one (loopback
 * only) the Host header must name an IP address or localhost, so that a
 * web page elsewhere cannot read the dashboard through a DNS name it
 * points at 127.0.0.1 (DNS rebinding).
 *
 * Life: dashboard_new before the controller (its changed hook goes into
 * the controller's config), dashboard_start once the controller runs,
 * dashboard_stop before the controller stops, dashboard_free after (the
 * hook may be called until then).
 */
#ifndef GPUSLICE_CONTROLLER_DASHBOARD_H
#define GPUSLICE_CONTROLLER_DASHBOARD_H

#include <stdint.h>

#include "controller/controller.h"
#include "store/store.h"
#include "util/err.h"
#include "util/httpd.h"
#include "util/log.h"
#include "util/sse.h"

#define DASHBOARD_COALESCE_DEFAULT_NS (250 * NS_PER_MS)
#define DASHBOARD_COOKIE "gpuslice_dashboard"

struct dashboard_config {
    struct store *store;         /* the Events' (not owned) */
    const char *address;         /* an IP literal; NULL: 127.0.0.1 */
    uint16_t port;               /* 0: a free one */
    const char *token;           /* NULL: none (loopback only) */
    struct sse_limits streams;   /* zero fields: SSE_LIMITS_DEFAULT's */
    struct httpd_limits limits;  /* zero fields: HTTPD_LIMITS_DEFAULT's */
    int64_t coalesce_ns;         /* 0: DASHBOARD_COALESCE_DEFAULT_NS */
    struct log *log;             /* not owned; NULL: none */
};

struct dashboard;

/* Checks cfg and makes a dashboard that serves nothing yet: -EINVAL for an
 * address that is not an IP literal or an empty token, -EPERM for an
 * address off loopback without a token. *out is the caller's. */
int dashboard_new(const struct dashboard_config *cfg, struct dashboard **out, struct err *e);

/* The controller's change hook: marks the document stale (any thread). */
void dashboard_changed(void *dashboard);

/* Starts the Event informer, the publisher and the server, showing c.
 * -EADDRINUSE when the address cannot be had. */
int dashboard_start(struct dashboard *d, struct controller *c, struct err *e);

/* "http://127.0.0.1:PORT/" once started, else NULL. */
const char *dashboard_url(const struct dashboard *d);

/* The streams' figures (clients, refused, dropped). */
void dashboard_stream_stats(struct dashboard *d, struct sse_stats *out);

/* Ends the streams, stops the server, the publisher and the Event
 * informer (d may be NULL; stopping twice is fine). */
void dashboard_stop(struct dashboard *d);

/* Stops d if it runs and frees it (may be NULL). */
void dashboard_free(struct dashboard *d);

/* The built-in files: the content type and body of path ("/",
 * "/dashboard.js", "/dashboard.css"), or NULL. */
const char *dashboard_asset(const char *path, const char **content_type);

#endif
