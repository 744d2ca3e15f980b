/*
 * Tests of the kube backend's transport against a fake server: every store
 * call's method, path, query, content type and body; TLS verification with
 * a generated CA (and client certificates); bearer tokens from a kubeconfig
 * and from a service-account directory; Status answers mapped to codes;
 * timeouts and size bounds; watch streams split anywhere, their errors,
 * back-pressure and cancellation; connection reuse. API semantics are not
 * tested here: the semantics suite runs against the embedded API server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/kube.h"
#include "test_kube_fake.h"

enum mode {
    ANSWER,     /* status + body */
    STALL,      /* answer nothing until the client gives up */
    STREAM,     /* status 200, the chunks, then end (or hold) */
};

struct fake {
    pthread_mutex_t mu;
    enum mode mode;
    int status;
    const char *body;
    const char *const *chunks; /* NULL-terminated */
    bool hold;                 /* keep the stream open until the client leaves */
    struct fake_request last;
    int requests;
};

static struct fake_tls tls;

static void on_request(void *ctx, const struct fake_request *rq, struct fake_conn *c)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    free(f->last.body);
    f->last = *rq;
    f->last.body = strdup(rq->body);
    f->requests++;
    enum mode mode = f->mode;
    int status = f->status;
    const char *body = f->body;
    const char *const *chunks = f->chunks;
    bool hold = f->hold;
    pthread_mutex_unlock(&f->mu);
    if (mode == STALL) {
        fake_wait_closed(c, 10000);
        fake_reply(c, 200, "{}");
        return;
    }
    if (mode == ANSWER) {
        fake_reply(c, status, body);
        return;
    }
    fake_stream_start(c, status);
    for (size_t i = 0; chunks && chunks[i]; i++)
        fake_stream_chunk(c, chunks[i], strlen(chunks[i]));
    if (hold)
        fake_wait_closed(c, 10000);
    fake_stream_end(c);
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->status = 200;
    f->body = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"}}";
    return f;
}

static void fake_free(struct fake *f)
{
    free(f->last.body);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static unsigned char *dup_bytes(const char *s, size_t *len)
{
    *len = strlen(s);
    return (unsigned char *)strdup(s);
}

static struct kube_config *config_for(const struct fake_server *s, bool https)
{
    struct kube_config *c = calloc(1, sizeof *c);
    char url[64];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u", https ? "https" : "http",
             fake_server_port(s));
    c->server = strdup(url);
    if (https)
        c->ca = dup_bytes(tls.ca, &c->ca_len);
    return c;
}

/* A store over plain HTTP to a fake server answering per f. */
struct rig {
    struct fake *f;
    struct fake_server *srv;
    struct store *st;
};

static void rig_up(struct rig *r, bool https, const struct kube_store_opts *o)
{
    r->f = fake_new();
    r->srv = fake_server_start(https ? &tls : NULL, NULL, on_request, r->f);
    assert_non_null(r->srv);
    struct kube_config *c = config_for(r->srv, https);
    c->token = strdup("s3cret");
    struct err e;
    assert_int_equal(kube_store_new(c, o, &r->st, &e), 0);
    kube_config_free(c);
}

static void rig_down(struct rig *r)
{
    store_free(r->st);
    fake_server_stop(r->srv);
    fake_free(r->f);
}

static const struct api_resource *find(struct store *st, const char *g, const char *plural)
{
    const struct api_resource *res =
        api_registry_find(store_registry(st), g, *g ? (strcmp(g, "gpuslice.dev") == 0
                                                           ? "v1alpha1"
                                                           : "v1")
                                                     : "v1",
                          plural);
    assert_non_null(res);
    return res;
}

static void answer(struct rig *r, int status, const char *body)
{
    pthread_mutex_lock(&r->f->mu);
    r->f->mode = ANSWER;
    r->f->status = status;
    r->f->body = body;
    pthread_mutex_unlock(&r->f->mu);
}

/* ---- request mapping -------------------------------------------------------- */

static void get_maps_to_paths_and_sends_token(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    struct err e;
    json_t *obj;
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                          "name")),
                        "p");
    json_decref(obj);
    assert_string_equal(r.f->last.method, "GET");
    assert_string_equal(r.f->last.target, "/api/v1/namespaces/ns1/pods/p");
    assert_string_equal(r.f->last.auth, "Bearer s3cret");

    assert_int_equal(store_get(r.st, find(r.st, "", "nodes"), NULL, "n1", &obj, &e), 0);
    json_decref(obj);
    assert_string_equal(r.f->last.target, "/api/v1/nodes/n1");
    assert_int_equal(store_get(r.st, find(r.st, "gpuslice.dev", "gpuslices"), "team-a",
                               "s.1", &obj, &e),
                     0);
    json_decref(obj);
    assert_string_equal(r.f->last.target, "/apis/gpuslice.dev/v1alpha1/namespaces/team-a/"
                                          "gpuslices/s.1");
    assert_int_equal(store_get(r.st, find(r.st, "gpuslice.dev", "gpunodes"), NULL, "n1", &obj,
                               &e),
                     0);
    json_decref(obj);
    assert_string_equal(r.f->last.target, "/apis/gpuslice.dev/v1alpha1/gpunodes/n1");
    rig_down(&r);
}

static void list_sends_every_option_escaped(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    answer(&r, 200, "{\"kind\":\"PodList\",\"items\":[]}");
    struct store_list_opts o = {.label_selector = "app in (a,b),!x",
                                .field_selector = "spec.nodeName=n1",
                                .resource_version = "42",
                                .exact = true,
                                .limit = 5,
                                .continue_token = "t/+="};
    json_t *list;
    struct err e;
    assert_int_equal(store_list(r.st, find(r.st, "", "pods"), NULL, &o, &list, &e), 0);
    json_decref(list);
    assert_string_equal(r.f->last.target,
                        "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2C%21x"
                        "&fieldSelector=spec.nodeName%3Dn1&resourceVersion=42"
                        "&resourceVersionMatch=Exact&limit=5&continue=t%2F%2B%3D");
    assert_int_equal(store_list(r.st, find(r.st, "apps", "deployments"), "d", NULL, &list, &e),
                     0);
    json_decref(list);
    assert_string_equal(r.f->last.target, "/apis/apps/v1/namespaces/d/deployments");
    rig_down(&r);
}

static void writes_map_to_methods_bodies_and_queries(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    const struct api_resource *pods = find(r.st, "", "pods");
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "kind", "Pod", "apiVersion", "v1",
                            "metadata", "name", "p", "namespace", "ns1", "resourceVersion",
                            "7");
    struct err e;
    json_t *out;
    struct store_write_opts wo = {.dry_run = true, .field_manager = "gpuslice"};
    answer(&r, 201, "{\"kind\":\"Pod\"}");
    assert_int_equal(store_create(r.st, pods, NULL, pod, &wo, &out, &e), 0);
    json_decref(out);
    assert_string_equal(r.f->last.method, "POST");
    assert_string_equal(r.f->last.target,
                        "/api/v1/namespaces/ns1/pods?dryRun=All&fieldManager=gpuslice");
    assert_string_equal(r.f->last.content_type, "application/json");
    json_t *sent = json_loads(r.f->last.body, 0, NULL);
    assert_true(json_equal(sent, pod));
    json_decref(sent);

    answer(&r, 200, "{\"kind\":\"Pod\"}");
    wo = (struct store_write_opts){.subresource = STORE_STATUS};
    assert_int_equal(store_update(r.st, pods, "ns1", pod, &wo, &out, &e), 0);
    json_decref(out);
    assert_string_equal(r.f->last.method, "PUT");
    assert_string_equal(r.f->last.target, "/api/v1/namespaces/ns1/pods/p/status");

    static const struct {
        enum store_patch_type type;
        const char *ctype;
    } patches[] = {{STORE_PATCH_MERGE, "application/merge-patch+json"},
                   {STORE_PATCH_JSON, "application/json-patch+json"},
                   {STORE_PATCH_STRATEGIC, "application/strategic-merge-patch+json"},
                   {STORE_PATCH_APPLY, "application/apply-patch+yaml"}};
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a", "b");
    for (size_t i = 0; i < 4; i++) {
        wo = (struct store_write_opts){.field_manager = "m", .force = true};
        assert_int_equal(store_patch(r.st, pods, "ns1", "p", patches[i].type, patch, &wo, NULL,
                                     &e),
                         0);
        assert_string_equal(r.f->last.method, "PATCH");
        assert_string_equal(r.f->last.content_type, patches[i].ctype);
        assert_string_equal(r.f->last.target,
                            patches[i].type == STORE_PATCH_APPLY
                                ? "/api/v1/namespaces/ns1/pods/p?fieldManager=m&force=true"
                                : "/api/v1/namespaces/ns1/pods/p?fieldManager=m");
    }
    json_decref(patch);
    json_decref(pod);
    rig_down(&r);
}

static void delete_sends_delete_options_and_drops_a_status(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    const struct api_resource *pods = find(r.st, "", "pods");
    struct store_delete_opts o = {.propagation = STORE_PROPAGATE_FOREGROUND,
                                  .has_grace = true,
                                  .grace_s = 0,
                                  .precondition_uid = "u-1",
                                  .precondition_resource_version = "9",
                                  .dry_run = true};
    json_t *out = NULL;
    struct err e;
    answer(&r, 200, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}");
    assert_int_equal(store_delete(r.st, pods, "ns1", "p", &o, &out, &e), 0);
    assert_non_null(out);
    json_decref(out);
    assert_string_equal(r.f->last.method, "DELETE");
    assert_string_equal(r.f->last.target, "/api/v1/namespaces/ns1/pods/p");
    json_t *want = json_pack("{s:s, s:s, s:s, s:i, s:[s], s:{s:s, s:s}}", "kind",
                             "DeleteOptions", "apiVersion", "v1", "propagationPolicy",
                             "Foreground", "gracePeriodSeconds", 0, "dryRun", "All",
                             "preconditions", "uid", "u-1", "resourceVersion", "9");
    json_t *sent = json_loads(r.f->last.body, 0, NULL);
    assert_true(json_equal(sent, want));
    json_decref(sent);
    json_decref(want);

    answer(&r, 200, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\"}");
    assert_int_equal(store_delete(r.st, find(r.st, "", "configmaps"), "ns1", "c", NULL, &out,
                                  &e),
                     0);
    assert_null(out);
    sent = json_loads(r.f->last.body, 0, NULL);
    assert_null(json_object_get(sent, "propagationPolicy"));
    json_decref(sent);
    rig_down(&r);
}

static void bind_posts_a_binding(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    answer(&r, 201, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\"}");
    struct err e;
    assert_int_equal(store_bind(r.st, "ns1", "p", "node-3", &e), 0);
    assert_string_equal(r.f->last.method, "POST");
    assert_string_equal(r.f->last.target, "/api/v1/namespaces/ns1/pods/p/binding");
    json_t *sent = json_loads(r.f->last.body, 0, NULL);
    json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "kind", "Binding",
                             "apiVersion", "v1", "metadata", "name", "p", "namespace", "ns1",
                             "target", "apiVersion", "v1", "kind", "Node", "name", "node-3");
    assert_true(json_equal(sent, want));
    json_decref(sent);
    json_decref(want);
    rig_down(&r);
}

static void write_without_namespace_or_name_is_refused_locally(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    json_t *pod = json_pack("{s:{s:s}}", "metadata", "name", "p");
    json_t *anon = json_pack("{s:{s:s}}", "metadata", "namespace", "x");
    struct err e;
    assert_int_equal(store_create(r.st, find(r.st, "", "pods"), NULL, pod, NULL, NULL, &e),
                     -EBADMSG);
    assert_non_null(strstr(e.msg, "namespace"));
    assert_int_equal(store_update(r.st, find(r.st, "", "pods"), NULL, anon, NULL, NULL, &e),
                     -EBADMSG);
    assert_non_null(strstr(e.msg, "metadata.name"));
    assert_int_equal(r.f->requests, 0);
    json_decref(pod);
    json_decref(anon);
    rig_down(&r);
}

/* ---- answers ------------------------------------------------------------------ */

static void status_answers_map_to_codes(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const struct {
        int http;
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {404,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
         "\"pods \\\"p\\\" not found\",\"reason\":\"NotFound\",\"code\":404}",
         -ENOENT, "pods \"p\" not found"},
        {409,
         "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"the object has been "
         "modified\",\"reason\":\"Conflict\",\"code\":409}",
         -ESTALE, "the object has been modified"},
        {409,
         "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"exists\",\"reason\":"
         "\"AlreadyExists\",\"code\":409}",
         -EEXIST, "exists"},
        {422,
         "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"spec.x: Invalid\","
         "\"reason\":\"Invalid\",\"code\":422}",
         -EINVAL, "spec.x: Invalid"},
        {502, "<html>bad gateway</html>", -EIO, "HTTP 502 without a Status body"},
        {403, "", -EPERM, "HTTP 403 without a Status body"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        answer(&r, cases[i].http, cases[i].body);
        struct err e;
        json_t *obj;
        assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e),
                         cases[i].code);
        assert_null(obj);
        assert_string_equal(e.msg, cases[i].msg);
    }
    answer(&r, 200, "not json");
    struct err e;
    json_t *obj;
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "not JSON"));
    rig_down(&r);
}

/* A write whose caller takes no answer does not parse it (a text that is
 * not JSON proves it), while a refusal is still read for its code. */
static void a_write_without_out_leaves_the_answer_unparsed(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    const struct api_resource *pods = find(r.st, "", "pods");
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}}", "kind", "Pod", "apiVersion", "v1",
                            "metadata", "name", "p", "namespace", "ns1");
    struct store_write_opts wo = {0};
    struct err e;
    answer(&r, 200, "not json");
    assert_int_equal(store_update(r.st, pods, "ns1", pod, &wo, NULL, &e), 0);
    json_t *out = NULL;
    assert_int_equal(store_update(r.st, pods, "ns1", pod, &wo, &out, &e), -EPROTO);
    assert_null(out);
    answer(&r, 201, "not json");
    assert_int_equal(store_create(r.st, pods, "ns1", pod, &wo, NULL, &e), 0);
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a", "b");
    answer(&r, 200, "not json");
    assert_int_equal(store_patch(r.st, pods, "ns1", "p", STORE_PATCH_MERGE, patch, &wo, NULL,
                                 &e),
                     0);
    answer(&r, 409, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"the object "
                    "has been modified\",\"reason\":\"Conflict\",\"code\":409}");
    assert_int_equal(store_update(r.st, pods, "ns1", pod, &wo, NULL, &e), -ESTALE);
    assert_string_equal(e.msg, "the object has been modified");
    json_decref(patch);
    json_decref(pod);
    rig_down(&r);
}

static void slow_answers_time_out(void **state)
{
    (void)state;
    struct rig r;
    struct kube_store_opts o = {.timeout_ms = 200};
    rig_up(&r, false, &o);
    r.f->mode = STALL;
    struct err e;
    json_t *obj;
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e),
                     -ETIMEDOUT);
    assert_non_null(strstr(e.msg, "GET /api/v1/namespaces/ns1/pods/p"));
    rig_down(&r);
}

static void large_answers_are_refused(void **state)
{
    (void)state;
    struct rig r;
    struct kube_store_opts o = {.max_response = 1024};
    rig_up(&r, false, &o);
    char *big = malloc(8192);
    memset(big, ' ', 8191);
    big[0] = '{';
    big[8190] = '}';
    big[8191] = '\0';
    answer(&r, 200, big);
    struct err e;
    json_t *obj;
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), -E2BIG);
    answer(&r, 200, "{}");
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), 0);
    json_decref(obj);
    free(big);
    rig_down(&r);
}

static void unreachable_server_is_refused(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct fake_server *srv = fake_server_start(NULL, NULL, on_request, f);
    struct kube_config *c = config_for(srv, false);
    fake_server_stop(srv); /* the port is closed now */
    struct store *st;
    struct err e;
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    json_t *obj;
    assert_int_equal(store_get(st, find(st, "", "pods"), "a", "b", &obj, &e), -ECONNREFUSED);
    store_free(st);
    kube_config_free(c);
    fake_free(f);
}

static void connections_are_reused(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    struct err e;
    for (int i = 0; i < 20; i++) {
        json_t *obj;
        assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), 0);
        json_decref(obj);
    }
    assert_int_equal(r.f->requests, 20);
    assert_int_equal(fake_server_accepted(r.srv), 1);
    rig_down(&r);
}

static void bad_configs_are_refused(void **state)
{
    (void)state;
    struct kube_config c = {.server = "ftp://x"};
    struct store *st;
    struct err e;
    assert_int_equal(kube_store_new(&c, NULL, &st, &e), -EINVAL);
    assert_null(st);
    assert_int_equal(kube_store_new(NULL, NULL, &st, &e), -EINVAL);
    unsigned char pem[] = "x";
    c = (struct kube_config){.server = "https://h", .cert = pem, .cert_len = 1};
    assert_int_equal(kube_store_new(&c, NULL, &st, &e), -EINVAL);
}

/* ---- TLS ------------------------------------------------------------------------ */

static void tls_is_verified_against_the_given_ca(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, true, NULL);
    struct err e;
    json_t *obj;
    assert_int_equal(store_get(r.st, find(r.st, "", "pods"), "ns1", "p", &obj, &e), 0);
    json_decref(obj);
    assert_string_equal(r.f->last.auth, "Bearer s3cret");

    /* The same server through a config trusting another CA. */
    struct kube_config *c = config_for(r.srv, true);
    free(c->ca);
    c->ca = dup_bytes(tls.other_ca, &c->ca_len);
    struct store *st;
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    assert_int_equal(store_get(st, find(st, "", "pods"), "ns1", "p", &obj, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "/api/v1/namespaces/ns1/pods/p"));
    store_free(st);

    /* Skipping verification reaches it. */
    free(c->ca);
    c->ca = NULL;
    c->insecure = true;
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    assert_int_equal(store_get(st, find(st, "", "pods"), "ns1", "p", &obj, &e), 0);
    json_decref(obj);
    store_free(st);
    kube_config_free(c);
    rig_down(&r);
}

static void client_certificates_are_presented(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct fake_server *srv = fake_server_start(&tls, tls.ca, on_request, f);
    assert_non_null(srv);
    struct kube_config *c = config_for(srv, true);
    struct store *st;
    struct err e;
    json_t *obj;
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    assert_true(store_get(st, find(st, "", "pods"), "a", "p", &obj, &e) < 0);
    assert_int_equal(f->requests, 0);
    store_free(st);
    c->cert = dup_bytes(tls.client_cert, &c->cert_len);
    c->key = dup_bytes(tls.client_key, &c->key_len);
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    assert_int_equal(store_get(st, find(st, "", "pods"), "a", "p", &obj, &e), 0);
    json_decref(obj);
    assert_int_equal(f->requests, 1);
    store_free(st);
    kube_config_free(c);
    fake_server_stop(srv);
    fake_free(f);
}

/* The service-account files of a pod, in a temporary directory. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void in_cluster_config_reaches_the_server(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct fake_server *srv = fake_server_start(&tls, NULL, on_request, f);
    char dir[] = "/tmp/gs-sa-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "token", "sa-token-1\n");
    write_file(dir, "ca.crt", tls.ca);
    write_file(dir, "namespace", "team-a\n");
    char port[16];
    snprintf(port, sizeof port, "%u", fake_server_port(srv));
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_in_cluster(dir, &c, &e), 0);
    assert_string_equal(c->ns, "team-a");
    struct store *st;
    assert_int_equal(kube_store_new(c, NULL, &st, &e), 0);
    json_t *obj;
    assert_int_equal(store_get(st, find(st, "", "pods"), c->ns, "p", &obj, &e), 0);
    json_decref(obj);
    assert_string_equal(f->last.auth, "Bearer sa-token-1");
    assert_string_equal(f->last.target, "/api/v1/namespaces/team-a/pods/p");
    store_free(st);
    kube_config_free(c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    fake_server_stop(srv);
    fake_free(f);
}

/* ---- discovery ------------------------------------------------------------------ */

static void discover_serves_the_servers_crds(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    answer(&r, 200,
           "{\"kind\":\"CustomResourceDefinitionList\",\"apiVersion\":\"apiextensions.k8s.io/"
           "v1\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"apiVersion\":"
           "\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"metadata\":{"
           "\"name\":\"workloads.kueue.x-k8s.io\"},\"spec\":{\"group\":\"kueue.x-k8s.io\","
           "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"workloads\",\"singular\":"
           "\"workload\",\"kind\":\"Workload\",\"listKind\":\"WorkloadList\"},\"versions\":[{"
           "\"name\":\"v1beta1\",\"served\":true,\"storage\":true}]}}]}");
    assert_null(api_registry_find(store_registry(r.st), "kueue.x-k8s.io", "v1beta1",
                                  "workloads"));
    size_t added;
    struct err e;
    assert_int_equal(kube_store_discover(r.st, &added, &e), 0);
    assert_int_equal(added, 1);
    assert_string_equal(r.f->last.target,
                        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    assert_non_null(api_registry_find(store_registry(r.st), "kueue.x-k8s.io", "v1beta1",
                                      "workloads"));
    rig_down(&r);
}

static void crds_written_through_the_store_are_served(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const char crd[] =
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
        "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":"
        "\"example.com\",\"scope\":\"Cluster\",\"names\":{\"plural\":\"widgets\","
        "\"singular\":\"widget\",\"kind\":\"Widget\",\"listKind\":\"WidgetList\"},"
        "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true}]}}";
    const struct api_resource *crds =
        find(r.st, "apiextensions.k8s.io", "customresourcedefinitions");
    json_t *obj = json_loads(crd, 0, NULL);
    struct err e;
    struct store_write_opts dry = {.dry_run = true};
    answer(&r, 201, crd);
    assert_int_equal(store_create(r.st, crds, NULL, obj, &dry, NULL, &e), 0);
    assert_null(api_registry_find(store_registry(r.st), "example.com", "v1", "widgets"));
    assert_int_equal(store_create(r.st, crds, NULL, obj, NULL, NULL, &e), 0);
    assert_non_null(api_registry_find(store_registry(r.st), "example.com", "v1", "widgets"));
    answer(&r, 200, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Success\"}");
    assert_int_equal(store_delete(r.st, crds, NULL, "widgets.example.com", NULL, NULL, &e), 0);
    assert_null(api_registry_find(store_registry(r.st), "example.com", "v1", "widgets"));
    json_decref(obj);
    rig_down(&r);
}

/* ---- watches ---------------------------------------------------------------------- */

static struct store_watch *watch_with(struct rig *r, const char *const *chunks, bool hold,
                                      int status, int *rc, struct err *e)
{
    pthread_mutex_lock(&r->f->mu);
    r->f->mode = STREAM;
    r->f->status = status;
    r->f->chunks = chunks;
    r->f->hold = hold;
    pthread_mutex_unlock(&r->f->mu);
    struct store_watch_opts o = {.label_selector = "a=b",
                                 .resource_version = "10",
                                 .bookmarks = true};
    struct store_watch *w = NULL;
    *rc = store_watch_open(r->st, find(r->st, "", "pods"), "ns1", &o, &w, e);
    return w;
}

static const char *name_of(const struct store_event *ev)
{
    return json_string_value(
        json_object_get(json_object_get(ev->object, "metadata"), "name"));
}

static void watch_reassembles_events_split_anywhere(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const char *const chunks[] = {
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n{\"type\":\"MOD",
        "IFIED\",\"object\":{\"metadata\":{\"name\":\"b\"}}}\r\n",
        "\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"12\"}}}\n"
        "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"c\"}}}",
        "\n",
        NULL,
    };
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, chunks, false, 200, &rc, &e);
    assert_int_equal(rc, 0);
    assert_string_equal(r.f->last.target, "/api/v1/namespaces/ns1/pods?watch=1&labelSelector="
                                          "a%3Db&resourceVersion=10&allowWatchBookmarks=true");
    static const struct {
        enum store_event_type type;
        const char *name;
    } want[] = {{STORE_ADDED, "a"},
                {STORE_MODIFIED, "b"},
                {STORE_BOOKMARK, NULL},
                {STORE_DELETED, "c"}};
    for (size_t i = 0; i < 4; i++) {
        struct store_event ev;
        assert_int_equal(store_watch_next(w, 5000, &ev, &e), 0);
        assert_int_equal(ev.type, want[i].type);
        if (want[i].name)
            assert_string_equal(name_of(&ev), want[i].name);
        assert_null(ev.raw);
        store_event_release(&ev);
    }
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EPIPE);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EPIPE);
    store_watch_close(w);
    rig_down(&r);
}

static void watch_error_events_end_the_watch(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const char *const expired[] = {
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
        "\"Failure\",\"message\":\"too old resource version: 10 (20)\",\"reason\":\"Expired\","
        "\"code\":410}}\n",
        NULL,
    };
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, expired, true, 200, &rc, &e);
    assert_int_equal(rc, 0);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), 0);
    store_event_release(&ev);
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EKEYEXPIRED);
    assert_string_equal(e.msg, "too old resource version: 10 (20)");
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EKEYEXPIRED);
    store_watch_close(w);

    static const char *const garbage[] = {"{\"type\":\"ADDED\"}\n", NULL};
    w = watch_with(&r, garbage, true, 200, &rc, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EPROTO);
    store_watch_close(w);

    static const char *const odd[] = {"{\"type\":\"RENAMED\",\"object\":{}}\n", NULL};
    w = watch_with(&r, odd, true, 200, &rc, &e);
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "RENAMED"));
    store_watch_close(w);
    rig_down(&r);
}

static void watch_open_reports_error_answers(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const char *const bad[] = {
        "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"unable to parse "
        "requirement\",\"reason\":\"BadRequest\",\"code\":400}",
        NULL};
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, bad, false, 400, &rc, &e);
    assert_int_equal(rc, -EBADMSG);
    assert_null(w);
    assert_string_equal(e.msg, "unable to parse requirement");

    /* A 410 at open is left to the first store_watch_next, as store.h says. */
    static const char *const gone[] = {
        "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old\",\"reason\":"
        "\"Expired\",\"code\":410}",
        NULL};
    w = watch_with(&r, gone, false, 410, &rc, &e);
    assert_int_equal(rc, 0);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EKEYEXPIRED);
    store_watch_close(w);
    rig_down(&r);
}

static void watch_bounds_event_size(void **state)
{
    (void)state;
    struct rig r;
    struct kube_store_opts o = {.max_event = 64};
    rig_up(&r, false, &o);
    static const char *const big[] = {
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}}\n",
        NULL};
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, big, true, 200, &rc, &e);
    assert_int_equal(rc, 0);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -E2BIG);
    store_watch_close(w);
    rig_down(&r);
}

/* 200 events through a queue of 2: nothing dropped, order kept. */
static void watch_queue_pushes_back_without_loss(void **state)
{
    (void)state;
    struct rig r;
    struct kube_store_opts o = {.watch_queue = 2};
    rig_up(&r, false, &o);
    enum { N = 200 };
    char **lines = calloc(N + 1, sizeof *lines);
    for (int i = 0; i < N; i++)
        assert_true(asprintf(&lines[i],
                             "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p%d\"}}}"
                             "\n",
                             i) > 0);
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, (const char *const *)lines, false, 200, &rc, &e);
    assert_int_equal(rc, 0);
    usleep(50000); /* let the reader fill the queue and block */
    for (int i = 0; i < N; i++) {
        struct store_event ev;
        assert_int_equal(store_watch_next(w, 5000, &ev, &e), 0);
        char want[16];
        snprintf(want, sizeof want, "p%d", i);
        assert_string_equal(name_of(&ev), want);
        store_event_release(&ev);
    }
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -EPIPE);
    store_watch_close(w);
    for (int i = 0; i < N; i++)
        free(lines[i]);
    free(lines);
    rig_down(&r);
}

struct canceller {
    struct store_watch *w;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    usleep(100000);
    store_watch_cancel(c->w);
    return NULL;
}

static void watch_cancel_wakes_a_blocked_reader(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, false, NULL);
    static const char *const none[] = {NULL};
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, none, true, 200, &rc, &e);
    assert_int_equal(rc, 0);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    assert_int_equal(store_watch_next(w, 20, &ev, &e), -EAGAIN);
    struct canceller c = {w};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
    assert_int_equal(store_watch_next(w, -1, &ev, &e), -ECANCELED);
    pthread_join(t, NULL);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -ECANCELED);
    store_watch_close(w);
    rig_down(&r);
}

static void watch_over_tls(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, true, NULL);
    static const char *const one[] = {
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n", NULL};
    int rc;
    struct err e;
    struct store_watch *w = watch_with(&r, one, true, 200, &rc, &e);
    assert_int_equal(rc, 0);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), 0);
    assert_string_equal(name_of(&ev), "a");
    store_event_release(&ev);
    assert_string_equal(r.f->last.auth, "Bearer s3cret");
    store_watch_close(w);
    rig_down(&r);
}

static int setup(void **state)
{
    (void)state;
    /* The fake server's SSL_write to a client that has gone would raise
     * SIGPIPE; the client side (curl) never does. */
    signal(SIGPIPE, SIG_IGN);
    return fake_tls_make(&tls);
}

static int teardown(void **state)
{
    (void)state;
    fake_tls_free(&tls);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_maps_to_paths_and_sends_token),
        cmocka_unit_test(list_sends_every_option_escaped),
        cmocka_unit_test(writes_map_to_methods_bodies_and_queries),
        cmocka_unit_test(delete_sends_delete_options_and_drops_a_status),
        cmocka_unit_test(bind_posts_a_binding),
        cmocka_unit_test(write_without_namespace_or_name_is_refused_locally),
        cmocka_unit_test(status_answers_map_to_codes),
        cmocka_unit_test(a_write_without_out_leaves_the_answer_unparsed),
        cmocka_unit_test(slow_answers_time_out),
        cmocka_unit_test(large_answers_are_refused),
        cmocka_unit_test(unreachable_server_is_refused),
        cmocka_unit_test(connections_are_reused),
        cmocka_unit_test(bad_configs_are_refused),
        cmocka_unit_test(tls_is_verified_against_the_given_ca),
        cmocka_unit_test(client_certificates_are_presented),
        cmocka_unit_test(in_cluster_config_reaches_the_server),
        cmocka_unit_test(discover_serves_the_servers_crds),
        cmocka_unit_test(crds_written_through_the_store_are_served),
        cmocka_unit_test(watch_reassembles_events_split_anywhere),
        cmocka_unit_test(watch_error_events_end_the_watch),
        cmocka_unit_test(watch_open_reports_error_answers),
        cmocka_unit_test(watch_bounds_event_size),
        cmocka_unit_test(watch_queue_pushes_back_without_loss),
        cmocka_unit_test(watch_cancel_wakes_a_blocked_reader),
        cmocka_unit_test(watch_over_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
