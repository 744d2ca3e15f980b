/*
 * The embedded gpuslice cluster (see embedded.h).
 */
#include "sim/embedded.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/agent_runtime.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "apiserver/apiserver.h"
#include "apiserver/bootstrap.h"
#include "cluster/components.h"
#include "cluster/kubelet_logs.h"
#include "cluster/kubelet_mps.h"
#include "device/emulated.h"
#include "apiserver/kubeconfig.h"
#include "controller/dashboard.h"
#include "controller/runtime.h"
#include "sim/builtin.h"
#include "sim/devstats.h"
#include "sim/layout.h"
#include "store/kube.h"
#include "store/mem.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/yaml.h"
#include "webhook/certs.h"
#include "webhook/webhook.h"

#define NODE_NAME_MAX 64
#define SPEC_MAX 1024

struct embedded_node {
    char name[NODE_NAME_MAX];
    char *labels;                  /* "k=v,..." for its kubelet, or NULL */
    char *spec;                    /* its device, "emulated:..." */
    struct device *device;         /* the emulated GPUs */
    struct device *counted;        /* device, counted (sim/devstats.h): the agent's */
    struct store *client;          /* the agent's own connection, or NULL (direct) */
    struct agent_runtime *agent;
};

struct embedded {
    struct embedded_config cfg;
    struct store *store;           /* mem */
    struct apiserver *server;
    struct webhook *webhook;       /* gpuslice's admission webhook, over TLS */
    char certs_dir[64];            /* its certificate and key, removed at stop */
    struct kube_config *kcfg;      /* how clients reach the server */
    struct store *client;          /* for manifests and checks */
    struct store *controller_client[EMBEDDED_MAX_CONTROLLERS]; /* NULL when direct */
    struct store *parts_client;    /* the cluster's parts' connection */
    /* The cluster's parts; set and cleared under parts_mu, which the API
     * server's pods/log takes from its connection threads. */
    pthread_mutex_t parts_mu;
    struct cluster_parts *parts;
    struct controller_runtime *controller[EMBEDDED_MAX_CONTROLLERS];
    struct dashboard *dashboard;   /* replica 0's, or NULL */
    size_t crds_loaded;
    char webhook_url[64];
    size_t n_controllers;
    size_t n_nodes;
    struct embedded_node nodes[EMBEDDED_MAX_NODES];
};

static int load_crds(struct embedded *emb, struct err *e)
{
    struct fileset *set = NULL;
    int rc = emb->cfg.crds_dir ? fileset_read_yaml_dir(emb->cfg.crds_dir, &set, e) : 0;
    if (rc == 0)
        rc = bootstrap_crds(emb->store, set ? set : builtin_crds(), &emb->crds_loaded, e);
    fileset_free(set);
    return rc;
}

/* pods/log: the kubelet of node's logs (podlogs_source). */
static int open_log(void *ctx, const char *node, const json_t *pod, const char *container,
                    bool previous, struct linelog **out, struct err *e)
{
    struct embedded *emb = ctx;
    pthread_mutex_lock(&emb->parts_mu);
    struct kubelet *k = emb->parts ? cluster_parts_kubelet(emb->parts, node) : NULL;
    int rc = k ? kubelet_open_log(k, pod, container, previous, out, e)
               : err_set(e, -EBUSY, "no kubelet of this cluster runs node %s", node);
    pthread_mutex_unlock(&emb->parts_mu);
    return rc;
}

int embedded_observed_env(struct embedded *emb, const json_t *pod, json_t **out, struct err *e)
{
    const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"),
                                                         "nodeName"));
    *out = NULL;
    pthread_mutex_lock(&emb->parts_mu);
    struct kubelet *k = emb->parts && node ? cluster_parts_kubelet(emb->parts, node) : NULL;
    int rc = k ? kubelet_observed_env(k, pod, out, e)
               : err_set(e, -ENOENT, "no kubelet of this cluster runs the pod's node");
    pthread_mutex_unlock(&emb->parts_mu);
    return rc;
}

/* What node's emulated driver says about device uuid (kubelet_device_fn),
 * for the containers' logs; -ENOENT when its GPUs are not in this process
 * (EMBEDDED_CLUSTER) or have no such device. */
static int describe_device(void *ctx, const char *node, const char *uuid,
                           struct kubelet_device *out)
{
    struct embedded *emb = ctx;
    struct device *dev = NULL;
    for (size_t i = 0; i < emb->n_nodes; i++)
        if (strcmp(emb->nodes[i].name, node) == 0)
            dev = emb->nodes[i].device;
    if (!dev)
        return -ENOENT;
    struct device_inventory *inv = alloc_calloc(1, sizeof *inv);
    struct device_slices *sl = alloc_calloc(1, sizeof *sl);
    const char *gpu = strncmp(uuid, "GPU-", 4) == 0 ? uuid : NULL;
    bool found = false;
    *out = (struct kubelet_device){0};
    int rc = device_discover(dev, inv, NULL, NULL);
    if (rc == 0 && !gpu)
        rc = device_list_slices(dev, sl, NULL, NULL);
    for (unsigned i = 0; rc == 0 && !gpu && i < sl->n; i++)
        if (strcmp(sl->items[i].uuid, uuid) == 0) {
            gpu = sl->items[i].gpu_uuid;
            snprintf(out->profile, sizeof out->profile, "%s", sl->items[i].profile);
        }
    for (unsigned i = 0; rc == 0 && gpu && i < inv->n_gpus; i++)
        if (strcmp(inv->gpus[i].uuid, gpu) == 0) {
            snprintf(out->gpu_uuid, sizeof out->gpu_uuid, "%s", inv->gpus[i].uuid);
            snprintf(out->gpu_product, sizeof out->gpu_product, "%s", inv->gpus[i].product);
            found = true;
        }
    free(inv);
    free(sl);
    return found ? 0 : -ENOENT;
}

/* node's emulated GPUs, or NULL when they are not in this process. */
static struct device *node_device(struct embedded *emb, const char *node)
{
    for (size_t i = 0; i < emb->n_nodes; i++)
        if (strcmp(emb->nodes[i].name, node) == 0)
            return emb->nodes[i].device;
    return NULL;
}

/* The kubelets' MPS clients on the emulated daemons (kubelet_mps_ops): a
 * client is the emulated daemon's own handle, which names the daemon's run,
 * so a daemon started again no longer serves the clients of the one that
 * died, whatever thread restarted it when (emulated.h). */
static int mps_connect(void *ctx, const char *node, const char *gpu, uint64_t limit_mib,
                       uint64_t *client, struct err *e)
{
    struct device *dev = node_device(ctx, node);
    if (!dev)
        return -ENOSYS;
    int rc = emulated_mps_connect(dev, gpu, limit_mib, client, e);
    return rc == -EINVAL ? -ENOSYS : rc; /* not an emulated device */
}

static bool mps_connected(void *ctx, const char *node, const char *gpu, uint64_t client)
{
    struct device *dev = node_device(ctx, node);
    return dev && emulated_mps_connected(dev, gpu, client);
}

static void mps_disconnect(void *ctx, const char *node, const char *gpu, uint64_t client)
{
    struct device *dev = node_device(ctx, node);
    if (dev)
        emulated_mps_disconnect(dev, gpu, client, NULL);
}

static const struct kubelet_mps_ops mps_ops = {
    .connect = mps_connect, .disconnect = mps_disconnect, .connected = mps_connected,
};

static int start_server(struct embedded *emb, struct err *e)
{
    const struct embedded_config *c = &emb->cfg;
    /* Versions from the wall clock in microseconds: a restarted server's
     * store starts past every version its lost one gave (mem.h). Every
     * version the history holds keeps its value: the cluster's in-process
     * parts read events and write objects thousands of writes after they
     * were made in a burst, and parsing each cold version cost 1.7-4.6 ms
     * of CPU per pod in the 1,000-pod HTTP burst (bench_lifecycle: 15.7 to
     * 17.3 ms against 13.9-14.0 with these); at most ~110 MB of values. */
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .auto_collect = true,
                                  .values_kept = MEM_STORE_HISTORY_DEFAULT - 1,
                                  .seed = c->store_seed ? c->store_seed : 1,
                                  .first_revision =
                                      (uint64_t)(clock_realtime_now(NULL) / 1000)};
    int rc = mem_store_new(&mc, &emb->store, e);
    if (rc == 0)
        rc = bootstrap_namespaces(emb->store, e);
    if (rc == 0)
        rc = load_crds(emb, e);
    struct apiserver_config ac = {.store = emb->store, .address = c->address, .port = c->port,
                                  .token = c->token, .tls_cert_pem = c->tls_cert_pem,
                                  .tls_key_pem = c->tls_key_pem, .now_ns = clock_realtime_now,
                                  .version = c->version ? c->version : "embedded",
                                  .limits = c->limits, .max_watches = c->max_watches,
                                  .logs = {.open = open_log, .ctx = emb},
                                  .metrics = c->metrics};
    if (rc == 0)
        rc = apiserver_start(&ac, &emb->server, e);
    return rc;
}

/* The MutatingWebhookConfiguration that sends pods created in opted-in
 * namespaces to the webhook at url, trusting ca_pem only. */
static json_t *webhook_configuration(const char *url, const char *ca_pem)
{
    size_t len = strlen(ca_pem);
    char *bundle = alloc_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)bundle, (const unsigned char *)ca_pem, (int)len);
    json_t *mwc = json_pack(
        "{s:s, s:s, s:{s:s}, s:[{s:s, s:{s:s, s:s}, s:[{s:[s], s:[s], s:[s], s:[s]}],"
        " s:s, s:s, s:i, s:[s], s:{s:{s:s}}}]}",
        "apiVersion", "admissionregistration.k8s.io/v1", "kind", "MutatingWebhookConfiguration",
        "metadata", "name", "gpuslice", "webhooks", "name", "pods.gpuslice.dev",
        "clientConfig", "url", url, "caBundle", bundle, "rules", "operations", "CREATE",
        "apiGroups", "", "apiVersions", "v1", "resources", "pods", "failurePolicy", "Fail",
        "sideEffects", "None", "timeoutSeconds", 5, "admissionReviewVersions", "v1",
        "namespaceSelector", "matchLabels", "gpuslice.dev/enabled", "true");
    free(bundle);
    return mwc;
}

/* gpuslice's webhook on 127.0.0.1 with a CA of its own, registered with
 * the API server as a real cluster would have it. */
static int start_webhook(struct embedded *emb, struct err *e)
{
    const char *ips[] = {"127.0.0.1"};
    struct certs_request req = {.ips = ips, .n_ips = 1, .days = 1};
    struct certs_bundle b = {0};
    snprintf(emb->certs_dir, sizeof emb->certs_dir, "/tmp/gpuslice-embedded-XXXXXX");
    int rc = mkdtemp(emb->certs_dir) ? 0 : err_set(e, -errno, "embedded: mkdtemp failed");
    if (rc == 0)
        rc = certs_generate(&req, &b, e);
    if (rc == 0)
        rc = certs_write(&b, emb->certs_dir, e);
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/tls.crt", emb->certs_dir);
    snprintf(key, sizeof key, "%s/tls.key", emb->certs_dir);
    struct webhook_config wc = {.address = "127.0.0.1", .cert_file = cert, .key_file = key,
                                .metrics = emb->cfg.metrics};
    if (rc == 0)
        rc = webhook_start(&wc, &emb->webhook, e);
    json_t *mwc = NULL;
    if (rc == 0) {
        snprintf(emb->webhook_url, sizeof emb->webhook_url, "https://127.0.0.1:%u%s",
                 (unsigned)webhook_port(emb->webhook), WEBHOOK_PATH_MUTATE);
        mwc = webhook_configuration(emb->webhook_url, b.ca_pem);
        const struct api_resource *res = api_registry_find(
            store_registry(emb->store), "admissionregistration.k8s.io", "v1",
            "mutatingwebhookconfigurations");
        rc = mwc && res ? store_create(emb->store, res, NULL, mwc, &(struct store_write_opts){0},
                                       NULL, e)
                        : err_set(e, -ENOMEM, "embedded: cannot register the webhook");
    }
    json_decref(mwc);
    certs_bundle_free(&b);
    return rc;
}

static void remove_certs(struct embedded *emb)
{
    if (!emb->certs_dir[0] || strstr(emb->certs_dir, "XXXXXX"))
        return;
    static const char *const files[] = {"ca.crt", "tls.crt", "tls.key"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", emb->certs_dir, files[i]);
        unlink(path);
    }
    rmdir(emb->certs_dir);
}

/* A new client store over HTTP to the embedded server. */
static int new_client(struct embedded *emb, struct store **out, struct err *e)
{
    if (!emb->kcfg) {
        const struct embedded_config *c = &emb->cfg;
        emb->kcfg = alloc_calloc(1, sizeof *emb->kcfg);
        emb->kcfg->server = alloc_strdup(apiserver_url(emb->server));
        emb->kcfg->source = alloc_strdup("the embedded API server");
        emb->kcfg->token = c->token ? alloc_strdup(c->token) : NULL;
        if (c->tls_cert_pem) {
            emb->kcfg->ca_len = strlen(c->tls_cert_pem);
            emb->kcfg->ca = (unsigned char *)alloc_strdup(c->tls_cert_pem);
        }
    }
    return kube_store_new(emb->kcfg, NULL, out, e);
}

static int start_parts(struct embedded *emb, struct err *e)
{
    struct kubelet_node kn[EMBEDDED_MAX_NODES];
    for (size_t i = 0; i < emb->n_nodes; i++)
        kn[i] = (struct kubelet_node){.name = emb->nodes[i].name, .gpus = true,
                                      .labels = emb->nodes[i].labels};
    /* Through the API, as in a real cluster: the pods the Job and
     * ReplicaSet controllers make must pass admission (the webhook). */
    int rc = new_client(emb, &emb->parts_client, e);
    struct cluster_parts_config pc = {.store = emb->parts_client, .now_ns = clock_realtime_now,
                                      .nodes = kn, .node_count = emb->n_nodes, .seed = 1,
                                      .keep_logs = true, .devices = describe_device,
                                      .devices_ctx = emb, .mps = &mps_ops, .mps_ctx = emb};
    struct cluster_parts *parts = NULL;
    if (rc == 0)
        rc = cluster_parts_new(&pc, &parts, e);
    pthread_mutex_lock(&emb->parts_mu);
    emb->parts = parts;
    pthread_mutex_unlock(&emb->parts_mu);
    if (rc == 0)
        rc = cluster_parts_start(emb->parts, e);
    if (rc == 0 && cluster_parts_wait_synced(emb->parts, 30000) < 0)
        rc = err_set(e, -ETIMEDOUT, "embedded: the cluster's parts did not sync in 30 s");
    return rc;
}

/* "model=A100-40GB,model=H100-80GB,seed=N,<extra>" for node i. */
static int device_spec(const struct embedded *emb, size_t i, char *spec, size_t size,
                       struct err *e)
{
    size_t used = (size_t)snprintf(spec, size, "emulated:");
    if (emb->cfg.layout) {
        int rc = layout_models(emb->cfg.layout, i, spec + used, size - used, e);
        if (rc < 0)
            return rc;
        used += strlen(spec + used);
    }
    for (size_t g = 0; !emb->cfg.layout && g < emb->cfg.gpus_per_node && used < size; g++)
        used += (size_t)snprintf(spec + used, size - used, "model=%s,",
                                 emb->cfg.models[g % emb->cfg.n_models]);
    if (used < size)
        used += (size_t)snprintf(spec + used, size - used, "seed=%zu%s%s", i + 1,
                                 emb->cfg.device_spec ? "," : "",
                                 emb->cfg.device_spec ? emb->cfg.device_spec : "");
    return used < size ? 0 : err_set(e, -E2BIG, "embedded: device spec too long");
}

/* What the layout puts on node i before its agent starts: the slices
 * already on its GPUs and the GPUNode with the admin's settings. */
static int lay_out_node(struct embedded *emb, size_t i, struct err *e)
{
    const struct clusterfile *c = emb->cfg.layout;
    json_t *gpunode = NULL;
    int rc = layout_add_slices(c, i, emb->nodes[i].device, e);
    if (rc == 0)
        rc = layout_gpunode(c, i, emb->nodes[i].device, &gpunode, e);
    if (rc == 0 && gpunode) {
        const struct api_resource *res = api_registry_find(
            store_registry(emb->store), GPUSLICE_API_GROUP, "v1alpha1", "gpunodes");
        rc = res ? store_create(emb->store, res, NULL, gpunode, &(struct store_write_opts){0},
                                NULL, e)
                 : err_set(e, -ENOENT, "embedded: the store serves no GPUNodes");
    }
    json_decref(gpunode);
    return rc;
}

/* Without its agent here (EMBEDDED_CLUSTER), a node is its kubelet and
 * its GPUNode's admin settings: its GPUs, opened only to name them, are
 * the agent's. */
static int lay_out_node_apart(struct embedded *emb, size_t i, struct err *e)
{
    struct embedded_node *n = &emb->nodes[i];
    int rc = device_open(n->spec, &n->device, e);
    if (rc == 0 && emb->cfg.layout)
        rc = lay_out_node(emb, i, e);
    device_close(n->device);
    n->device = NULL;
    return rc < 0 ? err_prefix(e, rc, "node %s: ", n->name) : 0;
}

static int start_node(struct embedded *emb, size_t i, struct err *e)
{
    struct embedded_node *n = &emb->nodes[i];
    char spec[SPEC_MAX];
    int rc = device_spec(emb, i, spec, sizeof spec, e);
    if (rc < 0)
        return err_prefix(e, rc, "node %s: ", n->name);
    n->spec = alloc_strdup(spec);
    if (emb->cfg.mode == EMBEDDED_CLUSTER)
        return lay_out_node_apart(emb, i, e);
    rc = device_open(spec, &n->device, e);
    if (rc == 0 && emb->cfg.layout)
        rc = lay_out_node(emb, i, e);
    if (rc == 0) {
        rc = devstats_wrap(n->device, &n->counted, e);
        if (rc < 0)
            n->device = NULL; /* closed with the wrapper */
    }
    if (rc == 0 && !emb->cfg.direct)
        rc = new_client(emb, &n->client, e);
    struct agent_runtime_config ac = {
        .agent = {.store = n->client ? n->client : emb->store, .device = n->counted,
                  .node = n->name, .metrics = emb->cfg.metrics},
        .log = emb->cfg.log,
    };
    if (rc == 0)
        rc = agent_runtime_new(&ac, &n->agent, e);
    if (rc == 0)
        rc = agent_start(n->agent, e);
    if (rc < 0)
        err_prefix(e, rc, "node %s: ", n->name);
    return rc;
}

static int start_controller(struct embedded *emb, size_t i, struct err *e)
{
    int rc = emb->cfg.direct ? 0 : new_client(emb, &emb->controller_client[i], e);
    char identity[48];
    snprintf(identity, sizeof identity, "embedded-controller-%zu", i);
    bool elect = emb->n_controllers > 1;
    struct controller_runtime_config cc = {
        .store = emb->controller_client[i] ? emb->controller_client[i] : emb->store,
        .policy = emb->cfg.policy, .warm_max_percent = emb->cfg.warm_max_percent,
        .log = emb->cfg.log, .identity = identity,
        .lease_namespace = elect ? "kube-system" : NULL,
        .lease_ns = 4000000000LL, .renew_deadline_ns = 3000000000LL, .retry_ns = 500000000LL,
        .metrics = i == 0 ? emb->cfg.metrics : NULL,
    };
    struct dashboard_config dc = {.store = cc.store, .address = emb->cfg.dashboard_address,
                                  .port = emb->cfg.dashboard_port, .token = emb->cfg.token,
                                  .log = emb->cfg.log};
    if (rc == 0 && i == 0 && emb->cfg.dashboard &&
        (rc = dashboard_new(&dc, &emb->dashboard, e)) == 0) {
        cc.changed = dashboard_changed;
        cc.changed_ctx = emb->dashboard;
    }
    if (rc == 0)
        rc = controller_runtime_start(&cc, &emb->controller[i], e);
    if (rc == 0 && i == 0 && emb->dashboard)
        rc = dashboard_start(emb->dashboard,
                             controller_runtime_controller(emb->controller[i]), e);
    return rc;
}

static void apply_defaults(struct embedded_config *c)
{
    if (c->mode == EMBEDDED_ALL)
        c->webhook = true;
    if (c->layout)
        c->nodes = c->layout->cluster.n_nodes;
    if (!c->nodes)
        c->nodes = 2;
    if (!c->gpus_per_node)
        c->gpus_per_node = 2;
    if (!c->controllers)
        c->controllers = 1;
    if (c->mode != EMBEDDED_ALL)
        c->controllers = 0;
    if (c->mode == EMBEDDED_SERVER)
        c->nodes = 0;
    if (!c->n_models) {
        c->models[0] = "A100-40GB";
        c->models[1] = "H100-80GB";
        c->n_models = 2;
    }
}

/* Node i's name ("gpu-node-<i+1>" unless the layout names it) and labels. */
static void name_node(struct embedded *emb, size_t i)
{
    struct embedded_node *n = &emb->nodes[i];
    if (!emb->cfg.layout) {
        snprintf(n->name, NODE_NAME_MAX, "gpu-node-%zu", i + 1);
        return;
    }
    snprintf(n->name, NODE_NAME_MAX, "%s", emb->cfg.layout->cluster.nodes[i].name);
    n->labels = layout_labels(&emb->cfg.layout->cluster, i);
}

/* Slices already on the GPUs are made on emulated GPUs in this process;
 * without the agents here there are none to make them on. */
static int check_mode(const struct embedded_config *c, struct err *e)
{
    if (c->mode != EMBEDDED_CLUSTER || !c->layout)
        return 0;
    const struct placement_cluster *l = &c->layout->cluster;
    for (size_t g = 0; g < l->n_gpus; g++)
        if (l->gpus[g].occ.n_slices > 0)
            return err_set(e, -EINVAL, "node %s lists slices already on its GPUs, but the GPUs "
                           "are its agent's, not the cluster's: run `gpuslice demo -f` for "
                           "those", l->nodes[l->gpus[g].node].name);
    return 0;
}

int embedded_start(const struct embedded_config *cfg, struct embedded **out, struct err *e)
{
    if (cfg->nodes > EMBEDDED_MAX_NODES || cfg->n_models > EMBEDDED_MAX_MODELS ||
        cfg->controllers > EMBEDDED_MAX_CONTROLLERS)
        return err_set(e, -EINVAL, "embedded: at most %d nodes, %d models and %d controllers",
                       EMBEDDED_MAX_NODES, EMBEDDED_MAX_MODELS, EMBEDDED_MAX_CONTROLLERS);
    int rc = cfg->layout ? layout_check(cfg->layout, EMBEDDED_MAX_NODES, NODE_NAME_MAX, e) : 0;
    if (rc < 0)
        return err_prefix(e, rc, "embedded: ");
    struct embedded *emb = alloc_calloc(1, sizeof *emb);
    pthread_mutex_init(&emb->parts_mu, NULL);
    emb->cfg = *cfg;
    apply_defaults(&emb->cfg);
    emb->n_nodes = emb->cfg.nodes;
    emb->n_controllers = emb->cfg.controllers;
    for (size_t i = 0; i < emb->n_nodes; i++)
        name_node(emb, i);
    rc = check_mode(&emb->cfg, e);
    if (rc == 0)
        rc = start_server(emb, e);
    if (rc == 0 && emb->cfg.webhook)
        rc = start_webhook(emb, e);
    if (rc == 0)
        rc = new_client(emb, &emb->client, e);
    if (rc == 0 && emb->cfg.mode != EMBEDDED_SERVER)
        rc = start_parts(emb, e);
    for (size_t i = 0; rc == 0 && i < emb->n_nodes; i++)
        rc = start_node(emb, i, e);
    for (size_t i = 0; rc == 0 && i < emb->n_controllers; i++)
        rc = start_controller(emb, i, e);
    emb->cfg.layout = NULL; /* borrowed for the start only */
    if (rc < 0) {
        embedded_stop(emb);
        return rc;
    }
    *out = emb;
    return 0;
}

void embedded_stop(struct embedded *emb)
{
    if (!emb)
        return;
    /* The kubelets first: their logs describe devices closed below. */
    if (emb->parts)
        cluster_parts_stop(emb->parts);
    for (size_t i = 0; i < emb->n_controllers; i++)
        embedded_stop_controller(emb, i);
    for (size_t i = 0; i < emb->n_nodes; i++) {
        agent_runtime_free(emb->nodes[i].agent);
        store_free(emb->nodes[i].client);
        if (emb->nodes[i].counted)
            device_close(emb->nodes[i].counted);
        else
            device_close(emb->nodes[i].device);
        free(emb->nodes[i].labels);
        free(emb->nodes[i].spec);
    }
    pthread_mutex_lock(&emb->parts_mu);
    struct cluster_parts *parts = emb->parts;
    emb->parts = NULL;
    pthread_mutex_unlock(&emb->parts_mu);
    cluster_parts_free(parts);
    store_free(emb->parts_client);

    store_free(emb->client);
    apiserver_stop(emb->server);
    webhook_stop(emb->webhook);
    remove_certs(emb);
    kube_config_free(emb->kcfg);
    store_free(emb->store);
    pthread_mutex_destroy(&emb->parts_mu);
    free(emb);
}

const struct httpd_limits *embedded_limits(const struct embedded *emb, unsigned *max_watches)
{
    return apiserver_limits(emb->server, max_watches);
}

size_t embedded_crds_loaded(const struct embedded *emb)
{
    return emb->crds_loaded;
}

const char *embedded_webhook_url(const struct embedded *emb)
{
    return emb->webhook ? emb->webhook_url : NULL;
}

int embedded_agent_device(const struct embedded *emb, size_t i, char *buf, size_t size,
                          struct err *e)
{
    if (i >= emb->n_nodes || !emb->nodes[i].spec)
        return err_set(e, -ENODEV, "embedded: no node %zu", i);
    if (snprintf(buf, size, "%s", emb->nodes[i].spec) >= (int)size)
        return err_set(e, -E2BIG, "embedded: node %zu's device spec is longer than %zu", i,
                       size - 1);
    return 0;
}

const char *embedded_url(struct embedded *emb)
{
    return apiserver_url(emb->server);
}

uint16_t embedded_port(const struct embedded *emb)
{
    return apiserver_port(emb->server);
}

struct store *embedded_client(struct embedded *emb)
{
    return emb->client;
}

struct store *embedded_store(struct embedded *emb)
{
    return emb->store;
}

size_t embedded_node_count(const struct embedded *emb)
{
    return emb->n_nodes;
}

const char *embedded_node_name(const struct embedded *emb, size_t i)
{
    return i < emb->n_nodes ? emb->nodes[i].name : NULL;
}

struct device *embedded_device(struct embedded *emb, size_t i)
{
    return i < emb->n_nodes ? emb->nodes[i].device : NULL;
}

int embedded_gpu_stats(struct embedded *emb, size_t node, unsigned gpu,
                       struct devstats_gpu *out)
{
    if (node >= emb->n_nodes || !emb->nodes[node].counted)
        return -ENODEV;
    return devstats_get(emb->nodes[node].counted, gpu, out, NULL);
}

const char *embedded_dashboard_url(const struct embedded *emb)
{
    return dashboard_url(emb->dashboard);
}

int embedded_leader(struct embedded *emb)
{
    for (size_t i = 0; i < emb->n_controllers; i++)
        if (emb->controller[i] && controller_runtime_leading(emb->controller[i]))
            return (int)i;
    return -1;
}

void embedded_stop_controller(struct embedded *emb, size_t i)
{
    if (i >= emb->n_controllers)
        return;
    if (i == 0)
        dashboard_stop(emb->dashboard); /* it reads the replica's caches */
    controller_runtime_stop(emb->controller[i]);
    if (i == 0) {
        dashboard_free(emb->dashboard); /* the replica told it of changes until it stopped */
        emb->dashboard = NULL;
    }
    store_free(emb->controller_client[i]);
    emb->controller[i] = NULL;
    emb->controller_client[i] = NULL;
}

void embedded_slice_counts(struct embedded *emb, struct devstats_gpu *out)
{
    *out = (struct devstats_gpu){0};
    for (size_t n = 0; n < emb->n_nodes; n++) {
        struct devstats_gpu g;
        for (unsigned i = 0; embedded_gpu_stats(emb, n, i, &g) == 0; i++) {
            out->creates += g.creates;
            out->destroys += g.destroys;
            out->failed += g.failed;
            out->busy_ns += g.busy_ns;
            out->made += g.made;
            out->made_by_failed += g.made_by_failed;
            out->removed += g.removed;
        }
    }
}

static int apply_object(struct embedded *emb, const json_t *obj, struct err *e)
{
    const char *api_version = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (!api_version || !kind)
        return err_set(e, -EINVAL, "apiVersion and kind are required");
    const struct api_resource *res =
        api_registry_by_kind(store_registry(emb->client), api_version, kind);
    if (!res)
        return err_set(e, -ENOENT, "no resource serves %s %s", api_version, kind);
    const char *ns = res->namespaced ? meta_namespace(obj) : NULL;
    if (res->namespaced && !ns)
        ns = "default";
    return store_create(emb->client, res, ns, obj, &(struct store_write_opts){0}, NULL, e);
}

/* Creates the objects of every document of doc, counting them in *n. */
static int apply_documents(struct embedded *emb, const struct yaml_doc *doc, size_t *n,
                           struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < yaml_doc_count(doc); i++) {
        const json_t *obj = yaml_doc_root(doc, i);
        if (json_is_null(obj))
            continue; /* an empty document between --- markers */
        rc = apply_object(emb, obj, e);
        if (rc < 0)
            err_prefix(e, rc, "%s: document %zu: ", yaml_doc_name(doc), i + 1);
        else
            (*n)++;
    }
    return rc;
}

int embedded_apply_file(struct embedded *emb, const char *path, size_t *created,
                        struct err *e)
{
    struct yaml_doc *doc = NULL;
    size_t n = 0;
    int rc = yaml_doc_load(path, NULL, &doc, e);
    if (rc == 0)
        rc = apply_documents(emb, doc, &n, e);
    yaml_doc_free(doc);
    if (created)
        *created = n;
    return rc;
}

int embedded_apply_files(struct embedded *emb, const struct fileset *set, size_t *created,
                         struct err *e)
{
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        struct yaml_doc *doc = NULL;
        const struct fileset_file *f = &set->files[i];
        rc = yaml_doc_parse(f->name, f->text, f->len, NULL, &doc, e);
        if (rc == 0)
            rc = apply_documents(emb, doc, &n, e);
        yaml_doc_free(doc);
    }
    if (created)
        *created = n;
    return rc;
}

int embedded_write_kubeconfig(struct embedded *emb, const char *path, struct err *e)
{
    struct kubeconfig_spec k = {.name = "gpuslice-demo", .server = embedded_url(emb)};
    return kubeconfig_write(path, &k, e);
}

int embedded_check_slices(struct embedded *emb, unsigned *leaked, unsigned *missing,
                          struct err *e)
{
    unsigned total_leaked = 0, total_missing = 0;
    int rc = 0;
    for (size_t i = 0; i < emb->n_nodes; i++) {
        unsigned l = 0, m = 0;
        struct err why = {0};
        int r = agent_invariant_check(emb->store, emb->nodes[i].device, emb->nodes[i].name, &l,
                                      &m, &why);
        total_leaked += l;
        total_missing += m;
        if (r < 0 && rc == 0) {
            rc = r;
            if (e)
                *e = why;
        }
    }
    if (leaked)
        *leaked = total_leaked;
    if (missing)
        *missing = total_missing;
    return rc;
}
