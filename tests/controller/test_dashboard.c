/*
 * Tests for the controller's dashboard: the document built from the
 * controller's caches (GPUs with their slices, the slices gpuslice did
 * not make, shared GPUs with their clients, waiting pods with their reason, Events newest first and cut
 * to a bound, strings from users kept as strings), and the server over
 * real loopback sockets (the page and its files, read-only, the token by
 * header, cookie or the page's ?token=, the Host check without a token,
 * the event stream's first document and the next after a change, and the
 * cap on streams).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../common/rawconn.h"
#include "controller/dashboard.h"
#include "controller/dashboard_snapshot.h"
#include "fixture.h"

static const char *const A100[] = {"A100-40GB"};
static const char *const ONE_3G[] = {"3g.20gb"};
static const char *const ONE_4G[] = {"4g.20gb"};

static json_t *list_of(struct world *w, const struct api_resource *res)
{
    json_t *list = NULL;
    assert_int_equal(store_list(w->st, res, NULL, &(struct store_list_opts){0}, &list, NULL), 0);
    json_t *items = json_incref(json_object_get(list, "items"));
    json_decref(list);
    return items;
}

static void add_event(struct world *w, const char *name, const char *time, const char *message)
{
    json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:i}",
                           "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
                           "namespace", "team", "involvedObject", "kind", "Pod", "namespace",
                           "team", "name", "p", "reason", "Test", "message", message,
                           "lastTimestamp", time, "count", 2);
    assert_int_equal(store_create(w->st, w->events, "team", ev, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(ev);
}

static json_t *snapshot_of(struct world *w)
{
    json_t *events = list_of(w, w->events);
    json_t *doc = dashboard_snapshot_of(w->ctl, events);
    json_decref(events);
    return doc;
}

static const char *str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(none)";
}

static void snapshot_shows_slices_waiting_pods_and_counters(void **state)
{
    (void)state;
    struct world *w = world_new();
    world_add_node(w, "n1", A100, 1);
    /* The admin's slice at 4 (not gpuslice's), so a 3g.20gb fits only at
     * 0 and a 4g.20gb fits nowhere. */
    world_set_layout(w, "n1", "mig", "mig",
                     json_pack("[{s:s, s:i, s:i, s:b}]", "profile", "3g.20gb", "start", 4,
                               "size", 4, "managed", 0));
    world_add_pod(w, "fits", ONE_3G, 1);
    world_add_pod(w, "waits", ONE_4G, 1);
    world_settle(w);
    /* Placed but not made yet: it waits for the agent, not for room. */
    json_t *before = snapshot_of(w);
    const json_t *fits = json_array_get(json_object_get(before, "waiting"), 0);
    assert_string_equal(str_at(fits, "name"), "fits");
    assert_string_equal(str_at(fits, "reason"), "SlicesPlaced");
    json_decref(before);
    world_agent_all(w, "Creating", "Created");
    world_settle(w);
    json_t *doc = snapshot_of(w);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 0);
    const json_t *gpu = json_array_get(json_object_get(json_array_get(json_object_get(doc, "nodes"), 0), "gpus"), 0);
    assert_string_equal(str_at(gpu, "model"), "A100-40GB");
    assert_int_equal(json_integer_value(json_object_get(gpu, "memorySlices")), 8);
    const json_t *cells = json_object_get(gpu, "slices");
    assert_int_equal(json_array_size(cells), 2);
    const json_t *mine = json_array_get(cells, 0), *admins = json_array_get(cells, 1);
    assert_string_equal(str_at(mine, "profile"), "3g.20gb");
    assert_string_equal(str_at(mine, "namespace"), "team");
    assert_string_equal(str_at(mine, "pod"), "fits");
    assert_int_equal(json_integer_value(json_object_get(mine, "start")), 0);
    assert_true(json_is_false(json_object_get(mine, "foreign")));
    assert_true(json_is_true(json_object_get(admins, "foreign")));
    assert_true(json_is_true(json_object_get(admins, "static")));
    assert_int_equal(json_integer_value(json_object_get(admins, "start")), 4);
    const json_t *waiting = json_object_get(doc, "waiting");
    assert_int_equal(json_array_size(waiting), 1);
    assert_string_equal(str_at(json_array_get(waiting, 0), "name"), "waits");
    assert_string_equal(str_at(json_array_get(waiting, 0), "reason"), "NoPlacement");
    const json_t *counters = json_object_get(doc, "counters");
    assert_int_equal(json_integer_value(json_object_get(counters, "placed")), 1);
    assert_int_equal(json_integer_value(json_object_get(counters, "waiting")), 1);
    assert_int_equal(json_integer_value(json_object_get(counters, "slices")), 2);
    assert_int_equal(json_integer_value(json_object_get(counters, "gpus")), 1);
    json_decref(doc);
    world_free(w);
}

/* Writes clients (taken) as GPU gpu's status.gpus[].clients on node's
 * GPUNode, as the agent reports them, and settles. */
static void report_clients(struct world *w, const char *node, size_t gpu, json_t *clients)
{
    json_t *obj = world_get(w, w->gpunodes, NULL, node);
    json_t *g = json_array_get(json_object_get(json_object_get(obj, "status"), "gpus"), gpu);
    json_object_set_new(g, "clients", clients);
    assert_int_equal(store_update(w->st, w->gpunodes, NULL, obj,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  NULL), 0);
    json_decref(obj);
    world_settle(w);
}

static const json_t *gpu_of(const json_t *doc, size_t i)
{
    return json_array_get(json_object_get(json_array_get(json_object_get(doc, "nodes"), 0),
                                          "gpus"), i);
}

/* A shared GPU shows its clients as the agent reports them, not its
 * shares as MIG slices (before, an MPS share was a nameless cell at 0 and
 * the clients were nowhere). */
static void shared_gpus_show_their_clients(void **state)
{
    (void)state;
    struct world *w = world_new();
    static const char *const modes[] = {"mig", "mps", "timeslice"};
    world_add_mixed_node(w, "n1", modes, 3);
    static const char *const main_only[] = {"main"};
    const unsigned gib = 20;
    world_add_annotated_pod(w, "infer", "[{\"container\":\"main\",\"sharing\":\"mps\","
                                        "\"memoryGiB\":20}]", main_only, &gib, 1, true);
    world_settle(w);
    world_agent_all(w, "Creating", "Created");
    world_settle(w);
    report_clients(w, "n1", 1,
                   json_pack("[{s:s, s:s, s:s, s:s, s:s, s:i, s:i}]", "namespace", w->ns, "pod",
                             "infer", "podUID", "u-1", "container", "main", "sharing", "mps",
                             "memoryGiB", 20, "smPercent", 25));
    report_clients(w, "n1", 2,
                   json_pack("[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]", "namespace", w->ns,
                             "pod", "<b>a</b>", "container", "main", "sharing", "timeslice",
                             "namespace", w->ns, "pod", "b", "container", "main", "sharing",
                             "timeslice"));
    json_t *doc = snapshot_of(w);
    const json_t *mig = gpu_of(doc, 0), *mps = gpu_of(doc, 1), *ts = gpu_of(doc, 2);
    assert_int_equal(json_array_size(json_object_get(mig, "clients")), 0);
    assert_string_equal(str_at(mps, "mode"), "mps");
    assert_int_equal(json_array_size(json_object_get(mps, "slices")), 0);
    assert_int_equal(json_integer_value(json_object_get(mps, "memoryMiB")), 81559);
    const json_t *clients = json_object_get(mps, "clients");
    assert_int_equal(json_array_size(clients), 1);
    const json_t *c = json_array_get(clients, 0);
    assert_string_equal(str_at(c, "namespace"), w->ns);
    assert_string_equal(str_at(c, "pod"), "infer");
    assert_string_equal(str_at(c, "container"), "main");
    assert_string_equal(str_at(c, "sharing"), "mps");
    assert_int_equal(json_integer_value(json_object_get(c, "memoryGiB")), 20);
    assert_int_equal(json_integer_value(json_object_get(c, "smPercent")), 25);
    assert_null(json_object_get(c, "podUID")); /* what the page shows, no more */
    assert_null(json_object_get(mps, "replicas"));
    assert_string_equal(str_at(ts, "mode"), "timeslice");
    assert_int_equal(json_integer_value(json_object_get(ts, "replicas")), 2);
    clients = json_object_get(ts, "clients");
    assert_int_equal(json_array_size(clients), 2);
    assert_string_equal(str_at(json_array_get(clients, 0), "pod"), "<b>a</b>"); /* text */
    assert_null(json_object_get(json_array_get(clients, 0), "memoryGiB"));
    const json_t *counters = json_object_get(doc, "counters");
    assert_int_equal(json_integer_value(json_object_get(counters, "clients")), 3);
    assert_int_equal(json_integer_value(json_object_get(counters, "slices")), 0);
    json_decref(doc);
    world_free(w);
}

static void events_come_newest_first_cut_to_a_bound_and_stay_text(void **state)
{
    (void)state;
    struct world *w = world_new();
    char name[32], time[32];
    for (int i = 0; i < DASHBOARD_EVENTS_MAX + 5; i++) {
        snprintf(name, sizeof name, "ev-%02d", i);
        snprintf(time, sizeof time, "2026-01-01T00:%02d:00Z", i);
        add_event(w, name, time, i == DASHBOARD_EVENTS_MAX + 4
                                     ? "<img src=x onerror=\"alert(1)\"> & </script>"
                                     : "plain");
    }
    json_t *doc = snapshot_of(w);
    const json_t *events = json_object_get(doc, "events");
    assert_int_equal(json_array_size(events), DASHBOARD_EVENTS_MAX);
    const json_t *newest = json_array_get(events, 0);
    assert_string_equal(str_at(newest, "time"), "2026-01-01T00:54:00Z");
    /* Kept exactly as written: the page sets it as text. */
    assert_string_equal(str_at(newest, "message"), "<img src=x onerror=\"alert(1)\"> & </script>");
    assert_string_equal(str_at(newest, "object"), "Pod team/p");
    assert_int_equal(json_integer_value(json_object_get(newest, "count")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "truncated"),
                                                        "events")), 5);
    json_decref(doc);
    world_free(w);
}

/* ---- the server ---- */

struct answer {
    int status;
    char text[16384];
};

/* Sends a request (head lines after the request line, each ending in
 * \r\n) and reads what arrives until the server closes or wait_ms pass. */
static void ask(uint16_t port, const char *request, int wait_ms, struct answer *a)
{
    int fd = rawconn_open("127.0.0.1", port);
    assert_true(rawconn_send(fd, request));
    size_t got = 0;
    a->text[0] = '\0';
    for (int waited = 0; waited < wait_ms && got < sizeof a->text - 1; waited += 50) {
        ssize_t n = rawconn_read(fd, a->text + got, sizeof a->text - got, 50);
        if (n == 0)
            break;
        if (n > 0)
            got += (size_t)n;
    }
    close(fd);
    a->status = 0;
    sscanf(a->text, "HTTP/1.1 %d", &a->status);
}

/* The status of a request's answer. */
static int status_of(uint16_t port, const char *request)
{
    static struct answer a;
    ask(port, request, 5000, &a);
    return a.status;
}

static struct dashboard *serve_world(struct world *w, const char *token, unsigned max_streams)
{
    struct dashboard *d = NULL;
    struct dashboard_config cfg = {.store = w->st, .token = token,
                                   .streams = {.max_clients = max_streams},
                                   .coalesce_ns = 1};
    assert_int_equal(dashboard_new(&cfg, &d, NULL), 0);
    assert_int_equal(dashboard_start(d, w->ctl, NULL), 0);
    return d;
}

static uint16_t port_of(struct dashboard *d)
{
    const char *url = dashboard_url(d);
    assert_non_null(url);
    return (uint16_t)atoi(strrchr(url, ':') + 1);
}

static void configs_that_would_expose_it_are_refused(void **state)
{
    (void)state;
    struct world *w = world_new();
    struct dashboard *d = NULL;
    struct err e;
    struct dashboard_config cfg = {.store = w->st, .address = "0.0.0.0"};
    assert_int_equal(dashboard_new(&cfg, &d, &e), -EPERM);
    assert_non_null(strstr(e.msg, "needs a token"));
    cfg.address = "localhost";
    assert_int_equal(dashboard_new(&cfg, &d, &e), -EINVAL);
    cfg.address = NULL;
    cfg.token = "";
    assert_int_equal(dashboard_new(&cfg, &d, &e), -EINVAL);
    assert_null(d);
    world_free(w);
}

static void serves_the_page_read_only_to_literal_hosts(void **state)
{
    (void)state;
    struct world *w = world_new();
    struct dashboard *d = serve_world(w, NULL, 0);
    uint16_t port = port_of(d);
    struct answer a;
    ask(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5000, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.text, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert_non_null(strstr(a.text, "<script src=\"/dashboard.js\""));
    ask(port, "GET /dashboard.js HTTP/1.1\r\nHost: localhost:1\r\nConnection: close\r\n\r\n",
        5000, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.text, "text/javascript"));
    assert_non_null(strstr(a.text, "new EventSource('/api/events')"));
    ask(port, "GET /api/snapshot HTTP/1.1\r\nHost: [::1]:8\r\nConnection: close\r\n\r\n", 5000,
        &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.text, "\"nodes\":[]"));
    /* A name someone points at 127.0.0.1 (DNS rebinding) reads nothing. */
    assert_int_equal(status_of(port, "GET /api/snapshot HTTP/1.1\r\nHost: evil.example\r\n"
                                     "Connection: close\r\n\r\n"), 403);
    assert_int_equal(status_of(port, "POST /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Content-Length: 0\r\nConnection: close\r\n\r\n"), 405);
    assert_int_equal(status_of(port, "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Connection: close\r\n\r\n"), 404);
    dashboard_free(d);
    world_free(w);
}

static void a_token_is_needed_by_header_or_cookie(void **state)
{
    (void)state;
    struct world *w = world_new();
    struct dashboard *d = serve_world(w, "s3cret", 0);
    uint16_t port = port_of(d);
    assert_int_equal(status_of(port, "GET /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Connection: close\r\n\r\n"), 401);
    assert_int_equal(status_of(port, "GET /api/snapshot HTTP/1.1\r\nHost: x\r\n"
                                     "Authorization: Bearer wrong\r\nConnection: close\r\n\r\n"),
                     401);
    assert_int_equal(status_of(port, "GET /api/snapshot HTTP/1.1\r\nHost: x\r\n"
                                     "Authorization: Bearer s3cret\r\nConnection: close\r\n\r\n"),
                     200);
    assert_int_equal(status_of(port, "GET /?token=wrong HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n"), 401);
    struct answer a;
    ask(port, "GET /?token=s3cret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000, &a);
    assert_int_equal(a.status, 303);
    assert_non_null(strstr(a.text, "Set-Cookie: gpuslice_dashboard=s3cret; Path=/; HttpOnly; "
                                   "SameSite=Strict\r\n"));
    assert_non_null(strstr(a.text, "Location: /\r\n"));
    assert_int_equal(status_of(port, "GET /api/snapshot HTTP/1.1\r\nHost: x\r\nCookie: a=b; "
                                     "gpuslice_dashboard=s3cret\r\nConnection: close\r\n\r\n"),
                     200);
    dashboard_free(d);
    world_free(w);
}

/* Reads the stream on fd until its text holds want (or 10 s pass). */
static bool stream_until(int fd, char *buf, size_t size, size_t *got, const char *want)
{
    for (int waited = 0; waited < 10000; waited += 50) {
        if (strstr(buf, want))
            return true;
        ssize_t n = rawconn_read(fd, buf + *got, size - *got, 50);
        if (n == 0)
            return false;
        if (n > 0)
            *got += (size_t)n;
    }
    return strstr(buf, want) != NULL;
}

static void the_stream_sends_the_document_then_each_change(void **state)
{
    (void)state;
    struct world *w = world_new();
    world_add_node(w, "n1", A100, 1);
    world_settle(w);
    struct dashboard *d = serve_world(w, NULL, 1);
    uint16_t port = port_of(d);
    int fd = rawconn_open("127.0.0.1", port);
    assert_true(rawconn_send(fd, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    static char buf[1 << 16];
    size_t got = 0;
    buf[0] = '\0';
    assert_true(stream_until(fd, buf, sizeof buf, &got, "\"model\":\"A100-40GB\""));
    assert_non_null(strstr(buf, "Content-Type: text/event-stream"));
    assert_non_null(strstr(buf, "retry: 3000\n"));
    assert_non_null(strstr(buf, "event: snapshot\ndata: {"));
    /* The cap: one stream at a time here. */
    struct answer a;
    ask(port, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5000,
        &a);
    assert_int_equal(a.status, 429);
    assert_non_null(strstr(a.text, "Retry-After: 5"));
    /* A pod placed: its slice arrives on the open stream. */
    world_add_pod(w, "live", ONE_3G, 1);
    world_settle(w);
    dashboard_changed(d); /* the fixture's controller has no hook: tell it */
    assert_true(stream_until(fd, buf, sizeof buf, &got, "\"pod\":\"live\""));
    close(fd);
    struct sse_stats st;
    dashboard_stream_stats(d, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.joined, 1);
    dashboard_free(d);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_shows_slices_waiting_pods_and_counters),
        cmocka_unit_test(shared_gpus_show_their_clients),
        cmocka_unit_test(events_come_newest_first_cut_to_a_bound_and_stay_text),
        cmocka_unit_test(configs_that_would_expose_it_are_refused),
        cmocka_unit_test(serves_the_page_read_only_to_literal_hosts),
        cmocka_unit_test(a_token_is_needed_by_header_or_cookie),
        cmocka_unit_test(the_stream_sends_the_document_then_each_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
