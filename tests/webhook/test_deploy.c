/*
 * deploy/ renders with `kubectl kustomize` (plain and the cert-manager
 * overlay), says what the issue asks of it, and applies to the embedded API
 * server through its REST layer as kubectl would create each object: the
 * CRDs become served, RBAC and the rest are stored, and the webhook
 * configuration is live (a pod asking for a slice in an opted-in namespace
 * is refused while no webhook answers, failurePolicy Fail).
 *
 * usage: test_webhook_deploy DEPLOY_DIR. Skipped (77) without kubectl
 * ($KUBECTL, default /usr/bin/kubectl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apiserver/bootstrap.h"
#include "apiserver/rest.h"
#include "store/mem.h"
#include "util/yaml.h"

#define NOW_NS 1714557600000000000LL

static const char *deploy_dir;
static const char *kubectl;

static int64_t clock_fixed(void *ctx)
{
    (void)ctx;
    return NOW_NS;
}

/* The documents `kubectl kustomize dir` prints; the caller frees them. */
static struct yaml_doc *render(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' kustomize '%s' 2>&1", kubectl, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    for (size_t n; (n = fread(text + len, 1, cap - len - 1, p)) > 0;)
        len += n;
    text[len] = '\0';
    int status = pclose(p);
    if (status != 0)
        fail_msg("kubectl kustomize %s failed:\n%s", dir, text);
    struct yaml_doc *d;
    struct err e;
    if (yaml_doc_parse(dir, text, len, NULL, &d, &e) != 0)
        fail_msg("%s", e.msg);
    free(text);
    return d;
}

/* The rendered object of this kind and name (borrowed), or NULL. */
static const json_t *find(const struct yaml_doc *d, const char *kind, const char *name)
{
    for (size_t i = 0; i < yaml_doc_count(d); i++) {
        const json_t *o = yaml_doc_root(d, i);
        const char *k = json_string_value(json_object_get(o, "kind"));
        const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                          "name"));
        if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
            return o;
    }
    return NULL;
}

/* The value at path: keys and list indices separated by spaces (keys hold
 * dots). */
static const json_t *at(const json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *p = strtok_r(buf, " ", &save); o && p;
         p = strtok_r(NULL, " ", &save)) {
        char *end;
        long i = strtol(p, &end, 10);
        o = *end == '\0' ? json_array_get(o, (size_t)i) : json_object_get(o, p);
    }
    return o;
}

static const char *str_at(const json_t *o, const char *path)
{
    const char *s = json_string_value(at(o, path));
    return s ? s : "(none)";
}

static void renders_what_the_issue_asks(void **state)
{
    (void)state;
    struct yaml_doc *d = render(deploy_dir);
    assert_non_null(find(d, "CustomResourceDefinition", "gpuslices.gpuslice.dev"));
    assert_non_null(find(d, "CustomResourceDefinition", "gpunodes.gpuslice.dev"));
    assert_non_null(find(d, "Namespace", "gpuslice-system"));
    const json_t *ctl = find(d, "Deployment", "gpuslice-controller");
    assert_int_equal(json_integer_value(at(ctl, "spec replicas")), 2);
    assert_string_equal(str_at(ctl, "spec template spec containers 0 args 1"),
                        "--leader-elect-namespace=gpuslice-system");
    const json_t *agent = find(d, "DaemonSet", "gpuslice-agent");
    assert_string_equal(str_at(agent, "spec template spec nodeSelector nvidia.com/gpu.present"),
                        "true");
    assert_true(json_is_true(at(agent, "spec template spec containers 0 securityContext "
                                       "privileged")));
    assert_string_equal(str_at(agent, "spec template spec containers 0 env 0 valueFrom "
                                      "fieldRef fieldPath"), "spec.nodeName");
    assert_string_equal(str_at(agent, "spec template spec volumes 0 hostPath path"),
                        "/var/run/cdi");
    assert_string_equal(str_at(agent, "spec template spec volumes 1 hostPath path"),
                        "/run/nvidia/mps");
    assert_string_equal(str_at(agent, "spec template spec volumes 2 hostPath path"),
                        "/var/lib/gpuslice"); /* the agent's ledger outlives the pod */
    /* The webhook listens on its pod's IP, where its Service points. */
    const json_t *hook = find(d, "Deployment", "gpuslice-webhook");
    assert_string_equal(str_at(hook, "spec template spec containers 0 args 1"),
                        "--address=$(POD_IP)");
    assert_string_equal(str_at(hook, "spec template spec containers 0 env 0 name"), "POD_IP");
    assert_string_equal(str_at(hook, "spec template spec containers 0 env 0 valueFrom "
                                     "fieldRef fieldPath"), "status.podIP");
    const json_t *mwc = find(d, "MutatingWebhookConfiguration", "gpuslice");
    assert_string_equal(str_at(mwc, "webhooks 0 failurePolicy"), "Fail");
    assert_int_equal(json_integer_value(at(mwc, "webhooks 0 timeoutSeconds")), 5);
    assert_string_equal(str_at(mwc, "webhooks 0 namespaceSelector matchLabels "
                                    "gpuslice.dev/enabled"), "true");
    assert_string_equal(str_at(mwc, "webhooks 0 objectSelector matchExpressions 0 key"),
                        "app.kubernetes.io/part-of");
    assert_non_null(find(d, "PodDisruptionBudget", "gpuslice-webhook"));
    assert_non_null(find(d, "PodDisruptionBudget", "gpuslice-controller"));
    assert_non_null(find(d, "ServiceAccount", "gpuslice-webhook"));
    assert_null(find(d, "ClusterRole", "gpuslice-webhook")); /* no API access */
    assert_null(find(d, "Certificate", "gpuslice-webhook"));
    yaml_doc_free(d);
}

/* Each component serves /metrics on a port named metrics, says so to
 * Prometheus in its pod's annotations, and is probed there. */
static void exposes_metrics(void **state)
{
    (void)state;
    struct yaml_doc *d = render(deploy_dir);
    const char *kinds[][2] = {{"Deployment", "gpuslice-controller"},
                              {"DaemonSet", "gpuslice-agent"},
                              {"Deployment", "gpuslice-webhook"}};
    for (size_t i = 0; i < 3; i++) {
        const json_t *o = find(d, kinds[i][0], kinds[i][1]);
        assert_non_null(o);
        const json_t *tmpl = at(o, "spec template");
        assert_string_equal(str_at(tmpl, "metadata annotations prometheus.io/scrape"), "true");
        assert_string_equal(str_at(tmpl, "metadata annotations prometheus.io/port"), "9090");
        const json_t *ctr = at(tmpl, "spec containers 0");
        bool arg = false, port = false;
        size_t k;
        const json_t *v;
        json_array_foreach(json_object_get(ctr, "args"), k, v)
            arg |= strcmp(json_string_value(v), "--metrics-address=0.0.0.0:9090") == 0;
        json_array_foreach(json_object_get(ctr, "ports"), k, v)
            port |= strcmp(str_at(v, "name"), "metrics") == 0 &&
                    json_integer_value(json_object_get(v, "containerPort")) == 9090;
        if (!arg || !port)
            fail_msg("%s: no --metrics-address=0.0.0.0:9090 or no port named metrics", kinds[i][1]);
    }
    const json_t *ctl = find(d, "Deployment", "gpuslice-controller");
    assert_string_equal(str_at(ctl, "spec template spec containers 0 readinessProbe httpGet path"),
                        "/readyz");
    assert_null(find(d, "ServiceMonitor", "gpuslice")); /* only in the overlay */
    yaml_doc_free(d);
}

static void monitoring_overlay(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/monitoring", deploy_dir);
    struct yaml_doc *d = render(dir);
    const json_t *sm = find(d, "ServiceMonitor", "gpuslice");
    assert_string_equal(str_at(sm, "spec endpoints 0 port"), "metrics");
    assert_string_equal(str_at(sm, "spec selector matchLabels gpuslice.dev/metrics"), "true");
    const char *services[] = {"gpuslice-controller-metrics", "gpuslice-agent-metrics",
                              "gpuslice-webhook-metrics"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *svc = find(d, "Service", services[i]);
        assert_non_null(svc);
        assert_string_equal(str_at(svc, "metadata labels gpuslice.dev/metrics"), "true");
        assert_string_equal(str_at(svc, "spec ports 0 targetPort"), "metrics");
    }
    assert_non_null(find(d, "Deployment", "gpuslice-controller")); /* the base, too */
    yaml_doc_free(d);
}

static void cert_manager_overlay(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cert-manager", deploy_dir);
    struct yaml_doc *d = render(dir);
    const json_t *cert = find(d, "Certificate", "gpuslice-webhook");
    assert_string_equal(str_at(cert, "spec secretName"), "gpuslice-webhook-tls");
    assert_string_equal(str_at(cert, "spec dnsNames 0"), "gpuslice-webhook.gpuslice-system.svc");
    assert_non_null(find(d, "Issuer", "gpuslice-ca"));
    const json_t *mwc = find(d, "MutatingWebhookConfiguration", "gpuslice");
    assert_string_equal(str_at(mwc, "metadata annotations cert-manager.io/inject-ca-from"),
                        "gpuslice-system/gpuslice-webhook");
    yaml_doc_free(d);
}

/* The REST path of obj's collection, as kubectl builds it. */
static void collection_path(struct store *st, const json_t *obj, char *out, size_t cap)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const struct api_resource *res = api_registry_by_kind(store_registry(st), av, kind);
    if (!res)
        fail_msg("the embedded API server does not serve %s %s", av, kind);
    const char *ns = json_string_value(at(obj, "metadata namespace"));
    snprintf(out, cap, "%s%s%s%s/%s", res->group[0] ? "/apis/" : "/api/", res->api_version,
             ns ? "/namespaces/" : "", ns ? ns : "", res->plural);
}

static struct rest_response post(struct rest_server *srv, const char *target, const char *body)
{
    struct rest_request req = {.method = "POST", .target = target,
                               .content_type = "application/json", .body = body,
                               .body_len = strlen(body)};
    struct rest_response resp;
    rest_handle(srv, &req, &resp);
    return resp;
}

static int get_status(struct rest_server *srv, const char *target)
{
    struct rest_request req = {.method = "GET", .target = target};
    struct rest_response resp;
    rest_handle(srv, &req, &resp);
    int status = resp.status;
    rest_response_release(&resp);
    return status;
}

static void applies_to_the_embedded_api_server(void **state)
{
    (void)state;
    struct store *st;
    struct err e;
    struct mem_store_config mc = {.now_ns = clock_fixed, .seed = 3, .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &st, &e), 0);
    assert_int_equal(bootstrap_namespaces(st, &e), 0);
    struct rest_server srv = {.store = st, .now_ns = clock_fixed, .version = "test"};
    struct yaml_doc *d = render(deploy_dir);
    for (size_t i = 0; i < yaml_doc_count(d); i++) {
        const json_t *obj = yaml_doc_root(d, i);
        char path[256];
        collection_path(st, obj, path, sizeof path);
        char *body = json_dumps(obj, JSON_COMPACT);
        struct rest_response resp = post(&srv, path, body);
        if (resp.status != 201)
            fail_msg("POST %s: %d %.*s", path, resp.status, (int)resp.len, resp.body);
        rest_response_release(&resp);
        free(body);
    }
    yaml_doc_free(d);
    /* Served and stored. */
    assert_non_null(api_registry_find(store_registry(st), "gpuslice.dev", "v1alpha1",
                                      "gpuslices"));
    assert_int_equal(get_status(&srv, "/apis/gpuslice.dev/v1alpha1/gpuslices"), 200);
    assert_int_equal(get_status(&srv, "/apis/rbac.authorization.k8s.io/v1/clusterroles/"
                                      "gpuslice-agent"), 200);
    assert_int_equal(get_status(&srv, "/apis/rbac.authorization.k8s.io/v1/namespaces/"
                                      "gpuslice-system/rolebindings/gpuslice-controller-leader"),
                     200);
    assert_int_equal(get_status(&srv, "/apis/apps/v1/namespaces/gpuslice-system/daemonsets/"
                                      "gpuslice-agent"), 200);
    assert_int_equal(get_status(&srv, "/apis/admissionregistration.k8s.io/v1/"
                                      "mutatingwebhookconfigurations/gpuslice"), 200);
    /* The webhook configuration is live: nothing answers for the Service. */
    struct rest_response r =
        post(&srv, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"team\",\"labels\":"
                                         "{\"gpuslice.dev/enabled\":\"true\"}}}");
    assert_int_equal(r.status, 201);
    rest_response_release(&r);
    static const char pod[] = "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{"
                              "\"name\":\"a\",\"image\":\"i\"}]}}";
    r = post(&srv, "/api/v1/namespaces/team/pods", pod);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "failed calling webhook \\\"pods.gpuslice.dev\\\""));
    rest_response_release(&r);
    r = post(&srv, "/api/v1/namespaces/default/pods", pod);
    assert_int_equal(r.status, 201);
    rest_response_release(&r);
    store_free(st);
}

int main(int argc, char **argv)
{
    kubectl = getenv("KUBECTL") ? getenv("KUBECTL") : "/usr/bin/kubectl";
    if (argc < 2) {
        fprintf(stderr, "usage: %s DEPLOY_DIR\n", argv[0]);
        return 2;
    }
    deploy_dir = argv[1];
    if (access(kubectl, X_OK) != 0) {
        printf("SKIP: no kubectl at %s (set KUBECTL to use another)\n", kubectl);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_what_the_issue_asks),
        cmocka_unit_test(cert_manager_overlay),
        cmocka_unit_test(exposes_metrics),
        cmocka_unit_test(monitoring_overlay),
        cmocka_unit_test(applies_to_the_embedded_api_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
