/*
 * The embedded API server's admission chain end to end: pods created
 * through the REST layer (in process) go out over loopback HTTPS to the
 * real gpuslice webhook, or to a fake one whose answers the test picks,
 * with MutatingWebhookConfigurations stored like any object. Covers the
 * selectors, rules, failurePolicy, caBundle verification, Service
 * references, dry runs, timeouts, reinvocation, and connections kept
 * between calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#include "api/pod_slices.h"
#include "apiserver/admission.h"
#include "apiserver/bootstrap.h"
#include "apiserver/rest.h"
#include "store/mem.h"
#include "webhook/certs.h"
#include "webhook/webhook.h"

#define NOW_NS 1714557600000000000LL
#define SVC_DNS "gpuslice-webhook.gpuslice-system.svc"

/* What the fake webhook answers. */
enum fake_mode {
    FAKE_ALLOW,         /* allowed, no patch */
    FAKE_ADD_CONTAINER, /* a patch adding a container that asks for a MIG slice */
    FAKE_DENY,          /* allowed: false, 403 "nope" */
    FAKE_DENY_ODD,      /* allowed: false, code 200, reason "Odd", details, no message */
    FAKE_DENY_BARE,     /* allowed: false, no status at all */
    FAKE_WRONG_UID,
    FAKE_HTTP_500,
    FAKE_BAD_PATCH,     /* a patch that does not apply */
    FAKE_SLOW,          /* answers after 3 s */
};

struct fixture {
    char dir[64];
    struct certs_bundle good; /* DNS SVC_DNS and 127.0.0.1: the real webhook's */
    struct certs_bundle ip;   /* 127.0.0.1 only: the fake's */
    struct store *st;
    struct admission_pool *pool;
    struct rest_server srv;
    struct webhook *w;
    struct MHD_Daemon *fake;
    enum fake_mode mode;
    int fake_calls;
    atomic_int fake_connections; /* connections the fake accepted */
    json_t *fake_seen;        /* the last review the fake got */
};

static int64_t clock_fixed(void *ctx)
{
    (void)ctx;
    return NOW_NS;
}

static char *b64(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
    return out;
}

/* ---- the fake webhook ---- */

static json_t *fake_answer(struct fixture *f, const char *uid)
{
    static const char add[] =
        "[{\"op\":\"add\",\"path\":\"/spec/containers/-\",\"value\":{\"name\":\"late\","
        "\"image\":\"i\",\"resources\":{\"limits\":{\"nvidia.com/mig-1g.10gb\":1}}}}]";
    static const char bad[] = "[{\"op\":\"remove\",\"path\":\"/spec/nothing\"}]";
    json_t *resp = json_pack("{s:s, s:b}", "uid", f->mode == FAKE_WRONG_UID ? "other" : uid,
                             "allowed", f->mode != FAKE_DENY && f->mode != FAKE_DENY_ODD &&
                                            f->mode != FAKE_DENY_BARE);
    if (f->mode == FAKE_DENY)
        json_object_set_new(resp, "status", json_pack("{s:i, s:s}", "code", 403, "message",
                                                      "nope"));
    if (f->mode == FAKE_DENY_ODD)
        json_object_set_new(resp, "status", json_pack("{s:i, s:s, s:{s:[{s:s}]}}", "code", 200,
                                                      "reason", "Odd", "details", "causes",
                                                      "field", "spec"));
    if (f->mode == FAKE_ADD_CONTAINER || f->mode == FAKE_BAD_PATCH) {
        char *p = b64(f->mode == FAKE_ADD_CONTAINER ? add : bad);
        json_object_set_new(resp, "patch", json_string(p));
        json_object_set_new(resp, "patchType", json_string("JSONPatch"));
        free(p);
    }
    return json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                     "AdmissionReview", "response", resp);
}

struct fake_body {
    char data[1 << 16];
    size_t len;
};

static enum MHD_Result fake_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *size, void **state)
{
    (void)url;
    (void)method;
    (void)version;
    struct fixture *f = cls;
    struct fake_body *b = *state;
    if (!b) {
        *state = calloc(1, sizeof *b);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*size) {
        size_t room = sizeof b->data - 1 - b->len, n = *size < room ? *size : room;
        memcpy(b->data + b->len, data, n);
        b->len += n;
        *size = 0;
        return MHD_YES;
    }
    json_decref(f->fake_seen);
    f->fake_seen = json_loadb(b->data, b->len, 0, NULL);
    f->fake_calls++;
    if (f->mode == FAKE_SLOW)
        sleep(3);
    const char *uid = json_string_value(
        json_object_get(json_object_get(f->fake_seen, "request"), "uid"));
    json_t *answer = fake_answer(f, uid ? uid : "");
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc = MHD_queue_response(conn, f->mode == FAKE_HTTP_500 ? 500 : 200, r);
    MHD_destroy_response(r);
    return rc;
}

static void fake_done(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    free(*state);
    *state = NULL;
}

static void fake_connection(void *cls, struct MHD_Connection *conn, void **socket_state,
                            enum MHD_ConnectionNotificationCode what)
{
    (void)conn;
    (void)socket_state;
    struct fixture *f = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&f->fake_connections, 1);
}

static uint16_t fake_port(struct fixture *f)
{
    return MHD_get_daemon_info(f->fake, MHD_DAEMON_INFO_BIND_PORT)->port;
}

/* The fake on port (0: any free one). */
static void start_fake(struct fixture *f, uint16_t port)
{
    f->fake = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_TLS,
                               port, NULL, NULL, fake_request, f, MHD_OPTION_HTTPS_MEM_CERT,
                               f->ip.cert_pem, MHD_OPTION_HTTPS_MEM_KEY, f->ip.key_pem,
                               MHD_OPTION_NOTIFY_COMPLETED, fake_done, NULL,
                               MHD_OPTION_NOTIFY_CONNECTION, fake_connection, f, MHD_OPTION_END);
    assert_non_null(f->fake);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    static const char *const dns[] = {SVC_DNS};
    static const char *const ips[] = {"127.0.0.1"};
    struct certs_request good = {.dns = dns, .n_dns = 1, .ips = ips, .n_ips = 1, .days = 1};
    struct certs_request ip = {.ips = ips, .n_ips = 1, .days = 1};
    struct err e;
    assert_int_equal(certs_generate(&good, &f->good, &e), 0);
    assert_int_equal(certs_generate(&ip, &f->ip, &e), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/gpuslice-admission-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(certs_write(&f->good, f->dir, &e), 0);
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/tls.crt", f->dir);
    snprintf(key, sizeof key, "%s/tls.key", f->dir);
    struct webhook_config wc = {.address = "127.0.0.1", .cert_file = cert, .key_file = key};
    assert_int_equal(webhook_start(&wc, &f->w, &e), 0);
    start_fake(f, 0);
    struct mem_store_config mc = {.now_ns = clock_fixed, .seed = 7, .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &f->st, &e), 0);
    assert_int_equal(bootstrap_namespaces(f->st, &e), 0);
    f->pool = admission_pool_new();
    f->srv = (struct rest_server){.store = f->st, .now_ns = clock_fixed, .version = "test",
                                  .webhooks = f->pool};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    MHD_stop_daemon(f->fake);
    webhook_stop(f->w);
    admission_pool_free(f->pool);
    store_free(f->st);
    static const char *const names[] = {"ca.crt", "tls.crt", "tls.key"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    certs_bundle_free(&f->good);
    certs_bundle_free(&f->ip);
    json_decref(f->fake_seen);
    free(f);
    return 0;
}

/* ---- requests ---- */

struct reply {
    int status;
    json_t *json;
};

static struct reply post(struct fixture *f, const char *target, const char *body)
{
    struct rest_request req = {.method = "POST", .target = target,
                               .content_type = "application/json", .body = body,
                               .body_len = strlen(body)};
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    struct reply r = {.status = resp.status, .json = json_loadb(resp.body, resp.len, 0, NULL)};
    rest_response_release(&resp);
    return r;
}

static void created(struct fixture *f, const char *target, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    struct reply r = post(f, target, text);
    if (r.status != 201)
        fail_msg("POST %s: %d %s", target, r.status,
                 json_string_value(json_object_get(r.json, "message")));
    json_decref(r.json);
    json_decref(obj);
    free(text);
}

static void namespace(struct fixture *f, const char *name, bool enabled)
{
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", name);
    if (enabled)
        json_object_set_new(json_object_get(ns, "metadata"), "labels",
                            json_pack("{s:s}", GPUSLICE_NAMESPACE_OPT_IN, "true"));
    created(f, "/api/v1/namespaces", ns);
}

/* One webhook entry calling url (or the Service gpuslice-webhook when url
 * is NULL) with ca as caBundle. */
static json_t *webhook_entry(const char *name, const char *url, const char *ca,
                             const char *policy)
{
    char *bundle = b64(ca);
    json_t *cc = url ? json_pack("{s:s, s:s}", "url", url, "caBundle", bundle)
                     : json_pack("{s:{s:s, s:s, s:s}, s:s}", "service", "namespace",
                                 "gpuslice-system", "name", "gpuslice-webhook", "path",
                                 "/mutate-pod", "caBundle", bundle);
    free(bundle);
    return json_pack("{s:s, s:o, s:[{s:[s], s:[s], s:[s], s:[s], s:s}], s:s, s:s, s:i, "
                     "s:[s], s:{s:{s:s}}, s:{s:[{s:s, s:s, s:[s]}]}}",
                     "name", name, "clientConfig", cc, "rules", "operations", "CREATE",
                     "apiGroups", "", "apiVersions", "v1", "resources", "pods", "scope",
                     "Namespaced", "failurePolicy", policy, "sideEffects", "None",
                     "timeoutSeconds", 1, "admissionReviewVersions", "v1",
                     "namespaceSelector", "matchLabels", GPUSLICE_NAMESPACE_OPT_IN, "true",
                     "objectSelector", "matchExpressions", "key",
                     "app.kubernetes.io/part-of", "operator", "NotIn", "values", "gpuslice");
}

static void configuration(struct fixture *f, const char *name, json_t *entry)
{
    created(f, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            json_pack("{s:s, s:s, s:{s:s}, s:[o]}", "apiVersion",
                      "admissionregistration.k8s.io/v1", "kind",
                      "MutatingWebhookConfiguration", "metadata", "name", name, "webhooks",
                      entry));
}

static char *url_of(uint16_t port)
{
    static char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/mutate-pod", (unsigned)port);
    return url;
}

static void gpuslice_webhook(struct fixture *f, const char *policy)
{
    configuration(f, "gpuslice", webhook_entry("pods.gpuslice.dev", url_of(webhook_port(f->w)),
                                               f->good.ca_pem, policy));
}

static const char pod_text[] =
    "{\"metadata\":{\"generateName\":\"train-\",\"labels\":{\"app\":\"train\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"cuda\",\"resources\":"
    "{\"limits\":{\"nvidia.com/mig-1g.10gb\":1}}}]}}";

/* Creates a pod in ns; returns the answer. */
static struct reply create_pod(struct fixture *f, const char *ns, const char *text)
{
    char target[128];
    snprintf(target, sizeof target, "/api/v1/namespaces/%s/pods", ns);
    return post(f, target, text);
}

static const json_t *limits_of(const json_t *pod, size_t i)
{
    return json_object_get(json_object_get(json_array_get(json_object_get(
                                               json_object_get(pod, "spec"), "containers"), i),
                                           "resources"), "limits");
}

static bool rewritten(const json_t *pod)
{
    return pod_gated(pod, GPUSLICE_GATE) &&
           json_object_get(limits_of(pod, 0), GPUSLICE_RESOURCE_MEMORY) &&
           !json_object_get(limits_of(pod, 0), "nvidia.com/mig-1g.10gb");
}

static const char *message(const struct reply *r)
{
    return json_string_value(json_object_get(r->json, "message"));
}

static size_t pods_in(struct fixture *f, const char *ns)
{
    json_t *list;
    struct store_list_opts lo = {0};
    const struct api_resource *pods =
        api_registry_find(store_registry(f->st), "", "v1", "pods");
    assert_int_equal(store_list(f->st, pods, ns, &lo, &list, NULL), 0);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/* ---- tests ---- */

static void a_plain_pod_comes_out_gated_and_rewritten(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    namespace(f, "plain", false);
    gpuslice_webhook(f, "Fail");
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    assert_string_equal(json_string_value(json_object_get(limits_of(r.json, 0),
                                                          GPUSLICE_RESOURCE_MEMORY)), "10");
    char cm[254];
    pod_configmap_name(r.json, "main", cm);
    assert_true(strncmp(cm, "gs-", 3) == 0);
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(r.json, &s, NULL), 0);
    assert_string_equal(s.items[0].profile, "1g.10gb");
    json_decref(r.json);
    assert_int_equal(pods_in(f, "team"), 1);
    /* One that names its namespace itself (admission's path that writes
     * nothing in, so copies nothing) is rewritten all the same. */
    r = create_pod(f, "team", "{\"metadata\":{\"name\":\"named\",\"namespace\":\"team\"},"
                              "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":"
                              "\"cuda\",\"resources\":{\"limits\":"
                              "{\"nvidia.com/mig-1g.10gb\":1}}}]}}");
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    json_decref(r.json);
    /* A namespace that did not opt in, and gpuslice's own pods, are left alone. */
    r = create_pod(f, "plain", pod_text);
    assert_int_equal(r.status, 201);
    assert_false(pod_gated(r.json, GPUSLICE_GATE));
    assert_non_null(json_object_get(limits_of(r.json, 0), "nvidia.com/mig-1g.10gb"));
    json_decref(r.json);
    r = create_pod(f, "team", "{\"metadata\":{\"name\":\"own\",\"labels\":{"
                              "\"app.kubernetes.io/part-of\":\"gpuslice\"}},\"spec\":{"
                              "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}");
    assert_int_equal(r.status, 201);
    json_decref(r.json);
}

static void a_denial_fails_the_create_with_the_webhooks_message(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    gpuslice_webhook(f, "Fail");
    struct reply r = create_pod(f, "team", "{\"metadata\":{\"name\":\"x\"},\"spec\":{"
                                           "\"containers\":[{\"name\":\"main\",\"image\":\"i\","
                                           "\"resources\":{\"limits\":{"
                                           "\"nvidia.com/mig-5g.33gb\":1}}}]}}");
    assert_int_equal(r.status, 422);
    assert_string_equal(json_string_value(json_object_get(r.json, "reason")), "Invalid");
    assert_string_equal(message(&r),
                        "admission webhook \"pods.gpuslice.dev\" denied the request: "
                        "spec.containers[0].resources.limits[nvidia.com/mig-5g.33gb]: unknown "
                        "MIG profile \"5g.33gb\": no catalogued GPU model has it (see "
                        "'gpuslice profiles')");
    /* The webhook's Status as it is: details of the API server's own would
     * make kubectl print `The pods "x" is invalid` and drop the message. */
    assert_null(json_object_get(r.json, "details"));
    assert_string_equal(json_string_value(json_object_get(r.json, "kind")), "Status");
    json_decref(r.json);
    assert_int_equal(pods_in(f, "team"), 0);
    f->mode = FAKE_DENY;
    configuration(f, "z-fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                             "Ignore"));
    r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 403);
    assert_int_equal(json_integer_value(json_object_get(r.json, "code")), 403);
    assert_null(json_object_get(r.json, "reason")); /* none given, none made up */
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "Failure");
    assert_string_equal(message(&r), "admission webhook \"fake.test\" denied the request: nope");
    json_decref(r.json);
}

/* kube-apiserver's ToStatusErr: a code under 400 becomes 400, the reason
 * stands in for a missing message, and the rest of the Status is kept. */
static void a_denial_passes_the_webhooks_status_through(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    f->mode = FAKE_DENY_ODD;
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 400);
    assert_int_equal(json_integer_value(json_object_get(r.json, "code")), 400);
    assert_string_equal(json_string_value(json_object_get(r.json, "reason")), "Odd");
    assert_string_equal(message(&r), "admission webhook \"fake.test\" denied the request: Odd");
    const json_t *cause = json_array_get(
        json_object_get(json_object_get(r.json, "details"), "causes"), 0);
    assert_string_equal(json_string_value(json_object_get(cause, "field")), "spec");
    json_decref(r.json);
    f->mode = FAKE_DENY_BARE;
    r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 400);
    assert_string_equal(message(&r), "admission webhook \"fake.test\" denied the request "
                                     "without explanation");
    json_decref(r.json);
    assert_int_equal(pods_in(f, "team"), 0);
}

static void a_wrong_ca_is_refused(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    configuration(f, "gpuslice", webhook_entry("pods.gpuslice.dev", url_of(webhook_port(f->w)),
                                               f->ip.ca_pem, "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(message(&r), "Internal error occurred: failed calling webhook "
                                        "\"pods.gpuslice.dev\": Post \"https://127.0.0.1:"));
    assert_non_null(strstr(message(&r), "certificate"));
    json_decref(r.json);
    assert_int_equal(pods_in(f, "team"), 0);
}

static void failure_policy(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    /* Nothing listens there. */
    configuration(f, "down", webhook_entry("down.test", "https://127.0.0.1:1/mutate",
                                           f->good.ca_pem, "Ignore"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    assert_false(pod_gated(r.json, GPUSLICE_GATE));
    json_decref(r.json);
    static const struct {
        enum fake_mode mode;
        const char *says;
    } failures[] = {
        {FAKE_WRONG_UID, "expected response.uid="},
        {FAKE_HTTP_500, "the webhook answered HTTP 500"},
        {FAKE_SLOW, "timed out"},
    };
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
        f->mode = failures[i].mode;
        r = create_pod(f, "team", pod_text);
        assert_int_equal(r.status, 500);
        if (!strstr(message(&r), failures[i].says))
            fail_msg("\"%s\" does not say \"%s\"", message(&r), failures[i].says);
        json_decref(r.json);
    }
}

static void a_patch_that_does_not_apply_fails_even_when_ignored(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    f->mode = FAKE_BAD_PATCH;
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Ignore"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(message(&r), "admission webhook \"fake.test\" returned a patch that "
                                        "does not apply"));
    json_decref(r.json);
}

static void a_service_reference_is_verified_for_its_dns_name(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    namespace(f, "gpuslice-system", false);
    json_t *svc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[{s:i, s:i}]}}", "apiVersion", "v1",
                            "kind", "Service", "metadata", "name", "gpuslice-webhook", "spec",
                            "clusterIP", "127.0.0.1", "ports", "port", 443, "targetPort",
                            (int)webhook_port(f->w));
    created(f, "/api/v1/namespaces/gpuslice-system/services", svc);
    configuration(f, "gpuslice", webhook_entry("pods.gpuslice.dev", NULL, f->good.ca_pem,
                                               "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    json_decref(r.json);
}

static void a_service_reference_to_a_certificate_without_the_name_fails(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    namespace(f, "gpuslice-system", false);
    json_t *svc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[{s:i, s:i}]}}", "apiVersion", "v1",
                            "kind", "Service", "metadata", "name", "gpuslice-webhook", "spec",
                            "clusterIP", "127.0.0.1", "ports", "port", 443, "targetPort",
                            (int)fake_port(f));
    created(f, "/api/v1/namespaces/gpuslice-system/services", svc);
    configuration(f, "fake", webhook_entry("fake.test", NULL, f->ip.ca_pem, "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(message(&r), "Post \"https://" SVC_DNS ":443/mutate-pod\""));
    assert_int_equal(f->fake_calls, 0);
    json_decref(r.json);
}

static void dry_runs(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    gpuslice_webhook(f, "Fail");
    struct reply r = post(f, "/api/v1/namespaces/team/pods?dryRun=All", pod_text);
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    json_decref(r.json);
    assert_int_equal(pods_in(f, "team"), 0);
    json_t *entry = webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem, "Ignore");
    json_object_set_new(entry, "sideEffects", json_string("Some"));
    configuration(f, "fake", entry);
    r = post(f, "/api/v1/namespaces/team/pods?dryRun=All", pod_text);
    assert_int_equal(r.status, 400);
    assert_string_equal(message(&r), "admission webhook \"fake.test\" does not support dry run");
    json_decref(r.json);
    assert_int_equal(f->fake_calls, 0);
}

static void the_review_sent(void **state)
{
    struct fixture *f = *state;
    f->srv.webhooks = NULL; /* a connection per call works the same */
    namespace(f, "team", true);
    f->mode = FAKE_ALLOW;
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    json_decref(r.json);
    assert_int_equal(f->fake_calls, 1);
    const json_t *req = json_object_get(f->fake_seen, "request");
    assert_string_equal(json_string_value(json_object_get(f->fake_seen, "apiVersion")),
                        "admission.k8s.io/v1");
    assert_int_equal(strlen(json_string_value(json_object_get(req, "uid"))), 36);
    assert_string_equal(json_string_value(json_object_get(req, "operation")), "CREATE");
    assert_string_equal(json_string_value(json_object_get(req, "namespace")), "team");
    assert_string_equal(json_string_value(json_object_get(req, "name")), "");
    assert_string_equal(json_string_value(json_object_get(json_object_get(req, "kind"), "kind")),
                        "Pod");
    assert_string_equal(json_string_value(json_object_get(json_object_get(req, "resource"),
                                                           "resource")), "pods");
    assert_true(json_is_false(json_object_get(req, "dryRun")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_object_get(req, "object"), "metadata"), "namespace")), "team");
    /* Rules that do not name the request: not called. */
    json_t *entry = webhook_entry("other.test", url_of(fake_port(f)), f->ip.ca_pem, "Fail");
    json_object_set_new(json_array_get(json_object_get(entry, "rules"), 0), "resources",
                        json_pack("[s]", "pods/status"));
    configuration(f, "other", entry);
    r = create_pod(f, "team", pod_text);
    json_decref(r.json);
    assert_int_equal(f->fake_calls, 2);
}

static void creates(struct fixture *f, int n, int status)
{
    for (int i = 0; i < n; i++) {
        struct reply r = create_pod(f, "team", pod_text);
        assert_int_equal(r.status, status);
        json_decref(r.json);
    }
}

static void connections_are_kept_and_a_restarted_webhook_is_reached_again(void **state)
{
    struct fixture *f = *state;
    uint64_t calls, connections;
    namespace(f, "team", true);
    f->mode = FAKE_ALLOW;
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    creates(f, 5, 201);
    assert_int_equal(atomic_load(&f->fake_connections), 1);
    admission_pool_stats(f->pool, &calls, &connections);
    assert_int_equal(calls, 5);
    assert_int_equal(connections, 1);
    /* The webhook restarts on its port: the kept connection is dead. */
    uint16_t port = fake_port(f);
    MHD_stop_daemon(f->fake);
    start_fake(f, port);
    creates(f, 3, 201);
    assert_int_equal(atomic_load(&f->fake_connections), 2);
    admission_pool_stats(f->pool, &calls, &connections);
    assert_int_equal(calls, 8);
    assert_int_equal(connections, 2);
    assert_int_equal(f->fake_calls, 8);
    /* A webhook at the same address with another caBundle never gets a
     * connection verified against the first one. */
    configuration(f, "z-other-ca", webhook_entry("other.test", url_of(port), f->good.ca_pem,
                                                 "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(message(&r), "failed calling webhook \"other.test\""));
    json_decref(r.json);
    assert_int_equal(f->fake_calls, 9);
}

/* The configurations are listed once for a run of creates, and again only
 * after one changed: a change (a new one, an update, a delete) is seen by
 * the very next create. */
static void configurations_are_listed_again_only_after_a_change(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    f->mode = FAKE_DENY;
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    uint64_t before = admission_pool_lists(f->pool);
    creates(f, 5, 403);
    assert_int_equal(admission_pool_lists(f->pool) - before, 1);
    assert_int_equal(f->fake_calls, 5);

    /* Updated to ask only for pods labelled tier=x: the next create is not
     * sent. */
    const struct api_resource *mwc = api_registry_find(
        store_registry(f->st), "admissionregistration.k8s.io", "v1",
        "mutatingwebhookconfigurations");
    json_t *cfg = NULL;
    assert_int_equal(store_get(f->st, mwc, NULL, "fake", &cfg, NULL), 0);
    json_object_set_new(json_array_get(json_object_get(cfg, "webhooks"), 0), "objectSelector",
                        json_pack("{s:{s:s}}", "matchLabels", "tier", "x"));
    assert_int_equal(store_update(f->st, mwc, NULL, cfg, &(struct store_write_opts){0}, NULL,
                                  NULL),
                     0);
    json_decref(cfg);
    creates(f, 3, 201);
    assert_int_equal(admission_pool_lists(f->pool) - before, 2);
    assert_int_equal(f->fake_calls, 5);

    /* Deleted, then made again: each is seen at once. */
    assert_int_equal(store_delete(f->st, mwc, NULL, "fake", &(struct store_delete_opts){0},
                                  NULL, NULL),
                     0);
    creates(f, 1, 201);
    configuration(f, "fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                           "Fail"));
    creates(f, 2, 403);
    assert_int_equal(f->fake_calls, 7);
    assert_int_equal(admission_pool_lists(f->pool) - before, 4);
}

static void reinvocation(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    f->mode = FAKE_ADD_CONTAINER;
    json_t *ours = webhook_entry("pods.gpuslice.dev", url_of(webhook_port(f->w)),
                                 f->good.ca_pem, "Fail");
    json_object_set_new(ours, "reinvocationPolicy", json_string("IfNeeded"));
    configuration(f, "a-gpuslice", ours);
    configuration(f, "b-fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                             "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    assert_null(json_object_get(limits_of(r.json, 1), "nvidia.com/mig-1g.10gb"));
    assert_string_equal(json_string_value(json_object_get(limits_of(r.json, 1),
                                                          GPUSLICE_RESOURCE_MEMORY)), "10");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(r.json, &s, NULL), 0);
    assert_int_equal(s.n, 2);
    json_decref(r.json);
}

static void without_reinvocation_the_late_request_stays(void **state)
{
    struct fixture *f = *state;
    namespace(f, "team", true);
    f->mode = FAKE_ADD_CONTAINER;
    configuration(f, "a-gpuslice", webhook_entry("pods.gpuslice.dev",
                                                 url_of(webhook_port(f->w)), f->good.ca_pem,
                                                 "Fail"));
    configuration(f, "b-fake", webhook_entry("fake.test", url_of(fake_port(f)), f->ip.ca_pem,
                                             "Fail"));
    struct reply r = create_pod(f, "team", pod_text);
    assert_int_equal(r.status, 201);
    assert_true(rewritten(r.json));
    assert_non_null(json_object_get(limits_of(r.json, 1), "nvidia.com/mig-1g.10gb"));
    json_decref(r.json);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_plain_pod_comes_out_gated_and_rewritten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_denial_fails_the_create_with_the_webhooks_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_denial_passes_the_webhooks_status_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_wrong_ca_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(a_patch_that_does_not_apply_fails_even_when_ignored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_service_reference_is_verified_for_its_dns_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_service_reference_to_a_certificate_without_the_name_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(the_review_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(
            connections_are_kept_and_a_restarted_webhook_is_reached_again, setup, teardown),
        cmocka_unit_test_setup_teardown(configurations_are_listed_again_only_after_a_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(reinvocation, setup, teardown),
        cmocka_unit_test_setup_teardown(without_reinvocation_the_late_request_stays, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
