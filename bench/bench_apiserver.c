/* Benchmark of the embedded API server over loopback HTTP:
 *
 *   creates/s   pods POSTed by CLIENTS threads, each on one keep-alive
 *               connection (libcurl), answered by the server's threads;
 *   events/s    watch events delivered to WATCHERS concurrent chunked
 *               watches (one libcurl multi handle), counted as lines
 *               received, while EVENTS objects are written to the store.
 *
 * Targets (issue 4): >= 5,000 writes/s and >= 100,000 events/s in total. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "apiserver/apiserver.h"
#include "apiserver/bootstrap.h"
#include "store/mem.h"

#define CLIENTS 4
#define CREATES_PER_CLIENT 5000
#define WATCHERS 100
#define EVENTS 2000

static int64_t real_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

struct client {
    const char *base;
    int id;
    int failures;
};

static void *create_pods(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char url[256], body[512];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/default/pods", c->base);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    for (int i = 0; i < CREATES_PER_CLIENT; i++) {
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-%d-%d\","
                 "\"labels\":{\"app\":\"bench\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                 "\"image\":\"nginx\",\"resources\":{\"limits\":{\"nvidia.com/mig-1g.10gb\":1}}}]}}",
                 c->id, i);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        long status = 0;
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 201)
            c->failures++;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return NULL;
}

static int bench_creates(const char *base)
{
    pthread_t t[CLIENTS];
    struct client c[CLIENTS];
    double t0 = wall_s();
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = (struct client){base, i, 0};
        pthread_create(&t[i], NULL, create_pods, &c[i]);
    }
    int failures = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        failures += c[i].failures;
    }
    double dt = wall_s() - t0;
    int n = CLIENTS * CREATES_PER_CLIENT;
    printf("creates:  %d pods over HTTP by %d keep-alive clients in %.3f s: %.0f creates/s "
           "(%d failed)\n", n, CLIENTS, dt, n / dt, failures);
    return failures;
}

struct watch_count {
    long lines;
};

static size_t count_lines(char *data, size_t size, size_t n, void *ctx)
{
    struct watch_count *w = ctx;
    for (size_t i = 0; i < size * n; i++)
        w->lines += data[i] == '\n';
    return size * n;
}

struct writer {
    struct store *st;
    const struct api_resource *res;
    double t0;
};

static void *write_events(void *arg)
{
    struct writer *w = arg;
    w->t0 = wall_s();
    for (int i = 0; i < EVENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "cm-%d", i);
        json_t *obj = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", name, "data", "k",
                                "v");
        store_create(w->st, w->res, "default", obj, NULL, NULL, NULL);
        json_decref(obj);
    }
    return NULL;
}

static int bench_fanout(const char *base, struct store *st)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/default/configmaps?watch=true&"
             "resourceVersion=%llu&timeoutSeconds=120", base,
             (unsigned long long)mem_store_revision(st));
    CURLM *m = curl_multi_init();
    CURL *h[WATCHERS];
    struct watch_count counts[WATCHERS] = {0};
    for (int i = 0; i < WATCHERS; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, count_lines);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &counts[i]);
        curl_multi_add_handle(m, h[i]);
    }
    struct writer w = {st, api_registry_find(store_registry(st), "", "v1", "configmaps"), 0};
    pthread_t t;
    pthread_create(&t, NULL, write_events, &w);
    long total = 0, want = (long)WATCHERS * EVENTS;
    double deadline = wall_s() + 120;
    int running = 1;
    while (total < want && running && wall_s() < deadline) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
        total = 0;
        for (int i = 0; i < WATCHERS; i++)
            total += counts[i].lines;
    }
    double dt = wall_s() - w.t0;
    pthread_join(t, NULL);
    printf("fan-out:  %ld of %ld events to %d watchers in %.3f s: %.0f events/s delivered\n",
           total, want, WATCHERS, dt, total / dt);
    for (int i = 0; i < WATCHERS; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    return total == want ? 0 : 1;
}

int main(void)
{
    struct err e;
    struct store *st;
    struct mem_store_config mc = {.now_ns = real_now, .seed = 1, .auto_collect = true,
                                  .history = 4 * EVENTS};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (mem_store_new(&mc, &st, &e) != 0 || bootstrap_namespaces(st, &e) != 0) {
        fprintf(stderr, "bench_apiserver: %s\n", e.msg);
        return 1;
    }
    struct apiserver *srv;
    struct apiserver_config cfg = {.store = st, .now_ns = real_now, .version = "bench"};
    if (apiserver_start(&cfg, &srv, &e) != 0) {
        fprintf(stderr, "bench_apiserver: %s\n", e.msg);
        return 1;
    }
    int rc = bench_creates(apiserver_url(srv));
    rc |= bench_fanout(apiserver_url(srv), st);
    apiserver_stop(srv);
    store_free(st);
    curl_global_cleanup();
    return rc;
}
