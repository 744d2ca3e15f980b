/*
 * Benchmark of the admission webhook over HTTPS on loopback: AdmissionReviews
 * of a pod asking for a MIG slice (each answered with a patch), sent by
 * client threads over kept-alive TLS connections (libcurl), as the API
 * server sends them. Reports reviews per second and the latency percentiles
 * the clients saw, for one client (latency alone) and for several (the
 * server's two worker threads busy). Clients and server share the machine,
 * so the rate is what both together reach.
 *
 * Then the embedded API server's side: pods created through its REST layer
 * with the webhook configured, first with a new TLS connection per call
 * (no admission pool), then over the connections the API server keeps
 * (admission.h), as it runs.
 *
 * Target (issue 6): >= 5,000 reviews/s at every client count; the creates
 * through the embedded API server are for reference. A review or create
 * that fails fails the benchmark.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "util/clock.h"
#include "apiserver/admission.h"
#include "apiserver/bootstrap.h"
#include "apiserver/rest.h"
#include "store/mem.h"
#include "webhook/certs.h"
#include "webhook/webhook.h"

#include "bench_report.h"

#define WARMUP 200
#define REVIEWS 20000 /* per client */
#define MAX_CLIENTS 8
#define CREATES 300
#define REVIEWS_TARGET 5000.0

static const char review[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
    "\"uid\":\"0f9b2a44-5c1e-4d7e-9a63-2b7d3c1e8f10\",\"kind\":{\"group\":\"\",\"version\":"
    "\"v1\",\"kind\":\"Pod\"},\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":"
    "\"pods\"},\"requestKind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
    "\"requestResource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},\"name\":"
    "\"\",\"namespace\":\"team-a\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":"
    "\"system:serviceaccount:kube-system:job-controller\",\"groups\":[\"system:"
    "serviceaccounts\",\"system:authenticated\"]},\"object\":{\"kind\":\"Pod\",\"apiVersion\":"
    "\"v1\",\"metadata\":{\"generateName\":\"train-7c9d4-\",\"namespace\":\"team-a\","
    "\"labels\":{\"batch.kubernetes.io/job-name\":\"train\",\"job-name\":\"train\","
    "\"batch.kubernetes.io/controller-uid\":\"5d1c8a8e-1b0f-4a57-9f0e-0b6c1c9e2f3a\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"train\","
    "\"uid\":\"5d1c8a8e-1b0f-4a57-9f0e-0b6c1c9e2f3a\",\"controller\":true,"
    "\"blockOwnerDeletion\":true}]},\"spec\":{\"volumes\":[{\"name\":\"data\","
    "\"persistentVolumeClaim\":{\"claimName\":\"data\"}}],\"containers\":[{\"name\":"
    "\"trainer\",\"image\":\"nvcr.io/nvidia/pytorch:24.05-py3\",\"command\":[\"python\","
    "\"train.py\",\"--epochs\",\"10\"],\"env\":[{\"name\":\"BATCH\",\"value\":\"64\"}],"
    "\"resources\":{\"limits\":{\"nvidia.com/mig-1g.10gb\":\"1\",\"memory\":\"8Gi\"},"
    "\"requests\":{\"nvidia.com/mig-1g.10gb\":\"1\",\"cpu\":\"2\",\"memory\":\"8Gi\"}},"
    "\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"}],\"imagePullPolicy\":"
    "\"IfNotPresent\"}],\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":30,"
    "\"serviceAccountName\":\"default\",\"schedulerName\":\"default-scheduler\","
    "\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\",\"effect\":"
    "\"NoSchedule\"}]}},\"oldObject\":null,\"dryRun\":false,\"options\":{\"kind\":"
    "\"CreateOptions\",\"apiVersion\":\"meta.k8s.io/v1\"}}}";

struct client {
    const char *url;
    const char *ca;
    size_t n;             /* reviews to time, after WARMUP */
    double *latency_s;
    size_t failures;
    double started, ended;
};

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    size_t *bytes = ctx;
    (void)data;
    *bytes += size * n;
    return size * n;
}

static void *run_client(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_blob ca = {.data = (void *)c->ca, .len = strlen(c->ca), .flags = CURL_BLOB_COPY};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    size_t bytes = 0;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, review);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(sizeof review - 1));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for (size_t i = 0; i < WARMUP + c->n; i++) {
        if (i == WARMUP)
            c->started = bench_now_s();
        double t0 = bench_now_s();
        long status = 0;
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            c->failures++;
        if (i >= WARMUP)
            c->latency_s[i - WARMUP] = bench_now_s() - t0;
    }
    c->ended = bench_now_s();
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nclients threads of REVIEWS / nclients reviews each; prints one line. */
static void measure(const char *url, const char *ca, size_t nclients)
{
    struct client cs[MAX_CLIENTS];
    pthread_t th[MAX_CLIENTS];
    size_t per = REVIEWS / nclients, total = per * nclients, failures = 0;
    double *all = malloc(total * sizeof *all), first = 0, last = 0;
    if (!all)
        bench_fail("out of memory");
    for (size_t i = 0; i < nclients; i++) {
        cs[i] = (struct client){.url = url, .ca = ca, .n = per, .latency_s = all + i * per};
        bench_check(-pthread_create(&th[i], NULL, run_client, &cs[i]), NULL, "pthread_create");
    }
    for (size_t i = 0; i < nclients; i++) {
        pthread_join(th[i], NULL);
        failures += cs[i].failures;
        first = i == 0 || cs[i].started < first ? cs[i].started : first;
        last = cs[i].ended > last ? cs[i].ended : last;
    }
    if (failures)
        bench_fail("%zu of %zu reviews (POST over HTTPS) failed or were not answered 200",
                   failures, total + nclients * WARMUP);
    qsort(all, total, sizeof *all, by_value);
    char name[48];
    snprintf(name, sizeof name, "webhook, %zu client%s", nclients, nclients > 1 ? "s" : "");
    struct bench_figure f[] = {
        {.value = (double)total / (last - first), .unit = "reviews/s", .goal = BENCH_AT_LEAST,
         .target = REVIEWS_TARGET},
        {.label = "p99", .value = all[total * 99 / 100] * 1e6, .unit = "us"},
    };
    bench_report(name, f, 2,
                 "p50 %.0f us, max %.0f us; %zu-byte AdmissionReviews answered with a patch, "
                 "HTTPS keep-alive, %d server threads, %ld CPUs",
                 all[total / 2] * 1e6, all[total - 1] * 1e6, sizeof review - 1,
                 WEBHOOK_THREADS_DEFAULT, sysconf(_SC_NPROCESSORS_ONLN));
    free(all);
}

static char *b64(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
    return out;
}

static int post(struct rest_server *srv, const char *target, const char *body)
{
    struct rest_request req = {.method = "POST", .target = target,
                               .content_type = "application/json", .body = body,
                               .body_len = strlen(body)};
    struct rest_response resp;
    rest_handle(srv, &req, &resp);
    int status = resp.status;
    rest_response_release(&resp);
    return status;
}

/* Pods created through the embedded API server's admission chain, over
 * pool's connections (NULL: a new one per call). */
static void measure_creates(const char *url, const char *ca, struct admission_pool *pool)
{
    struct store *st;
    struct err e;
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = 1, .auto_collect = true};
    bench_check(mem_store_new(&mc, &st, &e), &e, "mem_store_new");
    bench_check(bootstrap_namespaces(st, &e), &e, "bootstrap_namespaces");
    struct rest_server srv = {.store = st, .now_ns = clock_realtime_now, .version = "bench",
                              .webhooks = pool};
    char *bundle = b64(ca);
    json_t *mwc = json_pack(
        "{s:s, s:s, s:{s:s}, s:[{s:s, s:{s:s, s:s}, s:[{s:[s], s:[s], s:[s], s:[s]}], "
        "s:s, s:[s]}]}",
        "apiVersion", "admissionregistration.k8s.io/v1", "kind",
        "MutatingWebhookConfiguration", "metadata", "name", "gpuslice", "webhooks", "name",
        "pods.gpuslice.dev", "clientConfig", "url", url, "caBundle", bundle, "rules",
        "operations", "CREATE", "apiGroups", "", "apiVersions", "v1", "resources", "pods",
        "sideEffects", "None", "admissionReviewVersions", "v1");
    char *text = json_dumps(mwc, JSON_COMPACT);
    int status = post(&srv, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                      text);
    if (status != 201)
        bench_fail("POST of the MutatingWebhookConfiguration: HTTP %d", status);
    static const char pod[] = "{\"metadata\":{\"generateName\":\"p-\"},\"spec\":{\"containers\":"
                              "[{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"limits\":{"
                              "\"nvidia.com/mig-1g.10gb\":1}}}]}}";
    double t0 = bench_now_s();
    for (size_t i = 0; i < CREATES; i++)
        if ((status = post(&srv, "/api/v1/namespaces/default/pods", pod)) != 201)
            bench_fail("pod create %zu through the webhook: HTTP %d", i, status);
    double dt = bench_now_s() - t0;
    uint64_t calls = CREATES, connections = CREATES;
    if (pool)
        admission_pool_stats(pool, &calls, &connections);
    bench_report1(pool ? "webhook via the embedded API server, connections kept"
                       : "webhook via the embedded API server, a connection per call",
                  CREATES / dt, "pod creates/s", BENCH_REFERENCE, 0,
                  "%.0f us each; %llu TLS connections for %llu calls", dt / CREATES * 1e6,
                  (unsigned long long)connections, (unsigned long long)calls);
    free(text);
    free(bundle);
    json_decref(mwc);
    store_free(st);
}

int main(void)
{
    static const char *const ips[] = {"127.0.0.1"};
    struct certs_request r = {.ips = ips, .n_ips = 1, .days = 1};
    struct certs_bundle b;
    struct err e;
    char dir[] = "/tmp/gpuslice-bench-webhook-XXXXXX", cert[96], key[96], url[64];
    if (!mkdtemp(dir))
        bench_fail("mkdtemp of %s failed", dir);
    bench_check(certs_generate(&r, &b, &e), &e, "certs_generate");
    bench_check(certs_write(&b, dir, &e), &e, "certs_write to %s", dir);
    snprintf(cert, sizeof cert, "%s/tls.crt", dir);
    snprintf(key, sizeof key, "%s/tls.key", dir);
    struct webhook_config cfg = {.address = "127.0.0.1", .cert_file = cert, .key_file = key};
    struct webhook *w;
    bench_check(webhook_start(&cfg, &w, &e), &e, "webhook_start");
    snprintf(url, sizeof url, "https://127.0.0.1:%u/mutate-pod", (unsigned)webhook_port(w));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    measure(url, b.ca_pem, 1);
    measure(url, b.ca_pem, 2);
    measure(url, b.ca_pem, 4);
    struct admission_pool *pool = admission_pool_new();
    measure_creates(url, b.ca_pem, NULL);
    measure_creates(url, b.ca_pem, pool);
    admission_pool_free(pool);
    webhook_stop(w);
    curl_global_cleanup();
    static const char *const names[] = {"ca.crt", "tls.crt", "tls.key"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    certs_bundle_free(&b);
    return 0;
}
