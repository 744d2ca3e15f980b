/*
 * The emulated kubelet's reconciler (see kubelet.h): its Node's
 * registration, and each bound pod's next step from the pod's own status,
 * so that a kubelet restarted from nothing carries on where the API says
 * its pods are.
 */
#include "cluster/kubelet.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/quantity.h"
#include "cluster/kubelet_env.h"
#include "cluster/kubelet_pod.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/jdoc.h"

#define KUBELET_VERSION "v1.30.0-gpuslice"
#define SPEC_MAX 4096

struct kubelet {
    char *name;
    struct kubelet_config cfg;
    json_t *labels;   /* the labels this kubelet owns */
    json_t *taints;   /* registered with the Node */
    json_t *capacity; /* cpu, memory, pods as given */
    const struct api_resource *pods_res, *nodes_res;
    struct loop *loop;
    /* Keys of the pods tried but not yet started ({key: true}): the only
     * ones a ConfigMap change can move on, so that a change need not scan
     * every pod of the node. Set before a start is tried, so a ConfigMap
     * that lands after the try saw it missing still finds the pod here. */
    pthread_mutex_t waiting_mu;
    json_t *waiting;
    struct kubelet_logs *logs; /* NULL unless keep_logs */
    struct kubelet_mps *mps;   /* NULL unless cfg.mps */
};

/* How often a pod with MPS clients is looked at: a dead daemon is found
 * within it. */
#define MPS_RECHECK_NS NS_PER_SEC

/* ---- configuration ------------------------------------------------------------ */

/* Calls each() on every comma-separated item of spec (NULL: none). */
static int each_item(const char *spec, const char *what,
                     int (*each)(struct kubelet *k, char *item, struct err *e), struct kubelet *k,
                     struct err *e)
{
    char buf[SPEC_MAX];
    if (!spec || !*spec)
        return 0;
    if (strlen(spec) >= sizeof buf)
        return err_set(e, -EINVAL, "node %s: %s: longer than %d characters", k->name, what,
                       SPEC_MAX - 1);
    strcpy(buf, spec);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        int rc = each(k, item, e);
        if (rc < 0)
            return err_prefix(e, rc, "node %s: %s: ", k->name, what);
    }
    return 0;
}

static int add_label(struct kubelet *k, char *item, struct err *e)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return err_set(e, -EINVAL, "\"%s\": want key=value", item);
    *eq = '\0';
    if (meta_check_qualified_name(item, "label key", e) ||
        meta_check_label_value(eq + 1, "label value", e))
        return -EINVAL;
    return json_object_set_new(k->labels, item, json_string(eq + 1))
               ? err_set(e, -ENOMEM, "out of memory")
               : 0;
}

static int add_taint(struct kubelet *k, char *item, struct err *e)
{
    char *colon = strrchr(item, ':');
    if (!colon)
        return err_set(e, -EINVAL, "\"%s\": want key[=value]:Effect", item);
    *colon = '\0';
    const char *effect = colon + 1;
    if (strcmp(effect, "NoSchedule") && strcmp(effect, "PreferNoSchedule") &&
        strcmp(effect, "NoExecute"))
        return err_set(e, -EINVAL, "\"%s\": effect must be NoSchedule, PreferNoSchedule or "
                                   "NoExecute", effect);
    char *eq = strchr(item, '=');
    const char *value = "";
    if (eq) {
        *eq = '\0';
        value = eq + 1;
    }
    if (meta_check_qualified_name(item, "taint key", e) ||
        meta_check_label_value(value, "taint value", e))
        return -EINVAL;
    json_t *t = json_pack("{s:s, s:s}", "key", item, "effect", effect);
    if (t && *value)
        jdoc_set(t, "value", json_string(value));
    return !t || json_array_append_new(k->taints, t) ? err_set(e, -ENOMEM, "out of memory") : 0;
}

static int set_capacity(struct kubelet *k, const char *name, const char *given,
                        const char *dflt, struct err *e)
{
    const char *v = given ? given : dflt;
    int64_t milli;
    char field[64];
    snprintf(field, sizeof field, "node %s: %s", k->name, name);
    int rc = quantity_parse(v, field, &milli, e);
    if (rc == 0 && milli < 0)
        rc = err_set(e, -EINVAL, "%s: Invalid value: \"%s\": must not be negative", field, v);
    if (rc == 0 && json_object_set_new(k->capacity, name, json_string(v)) != 0)
        rc = err_set(e, -ENOMEM, "out of memory");
    return rc;
}

static int configure(struct kubelet *k, const struct kubelet_node *n, struct err *e)
{
    int rc = meta_check_subdomain(n->name, "node name", e);
    if (rc == 0 && json_object_set_new(k->labels, "kubernetes.io/hostname", json_string(n->name)))
        rc = -ENOMEM;
    if (rc == 0) {
        jdoc_set(k->labels, "kubernetes.io/os", json_string("linux"));
        jdoc_set(k->labels, "kubernetes.io/arch", json_string("amd64"));
        if (n->gpus)
            jdoc_set(k->labels, KUBELET_LABEL_GPU, json_string("true"));
    }
    if (rc == 0)
        rc = set_capacity(k, "cpu", n->cpu, "8", e);
    if (rc == 0)
        rc = set_capacity(k, "memory", n->memory, "32Gi", e);
    if (rc == 0)
        rc = set_capacity(k, "pods", n->pods, "110", e);
    if (rc == 0)
        rc = each_item(n->labels, "labels", add_label, k, e);
    if (rc == 0)
        rc = each_item(n->taints, "taints", add_taint, k, e);
    return rc == -ENOMEM ? err_set(e, rc, "kubelet: out of memory") : rc;
}

/* ---- the Node ------------------------------------------------------------------ */

/* Puts this kubelet's part of a Node status into status: its capacity
 * entries (others kept), Ready, its addresses and node info. */
static int merge_status(struct kubelet *k, json_t *node, int64_t now)
{
    json_t *status = objstate_status(node);
    if (!status)
        return -ENOMEM;
    static const char *const maps[] = {"capacity", "allocatable"};
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_object_get(status, maps[i]);
        if (!json_is_object(m) && json_object_set_new(status, maps[i], m = json_object()))
            return -ENOMEM;
        if (json_object_update(m, k->capacity) != 0)
            return -ENOMEM;
    }
    json_t *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kubeletVersion",
                             KUBELET_VERSION, "kubeProxyVersion", KUBELET_VERSION,
                             "operatingSystem", "linux", "architecture", "amd64", "osImage",
                             "gpuslice emulated node", "containerRuntimeVersion",
                             "emulated://1.0", "machineID", k->name);
    json_t *addrs = json_pack("[{s:s, s:s}]", "type", "Hostname", "address", k->name);
    if (!info || !addrs || json_object_set_new(status, "nodeInfo", info) ||
        json_object_set_new(status, "addresses", addrs))
        return -ENOMEM;
    return objstate_set_condition(node, "Ready", "True", "KubeletReady",
                                  "kubelet is posting ready status", now) < 0
               ? -ENOMEM
               : 0;
}

static int register_node(struct kubelet *k, int64_t now, struct action_list *out,
                         struct err *e)
{
    json_t *node = json_pack("{s:s, s:s, s:{s:s, s:O}, s:{}}", "apiVersion", "v1", "kind",
                             "Node", "metadata", "name", k->name, "labels", k->labels, "spec");
    if (node && json_array_size(k->taints))
        jdoc_set(json_object_get(node, "spec"), "taints", json_incref(k->taints));
    if (!node || merge_status(k, node, now) < 0) {
        json_decref(node);
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    }
    return action_create(out, k->nodes_res, NULL, node, e);
}

/* Labels this kubelet owns put back where they went missing or changed;
 * true when that changed node. */
static bool merge_labels(struct kubelet *k, json_t *node)
{
    json_t *md = meta_of(node);
    json_t *labels = md ? json_object_get(md, "labels") : NULL;
    if (md && !json_is_object(labels))
        jdoc_set(md, "labels", labels = json_object());
    bool changed = false;
    const char *key;
    json_t *v;
    json_object_foreach(k->labels, key, v) {
        if (!json_equal(json_object_get(labels, key), v)) {
            jdoc_set(labels, key, json_incref(v));
            changed = true;
        }
    }
    return changed;
}

static int reconcile_node(struct kubelet *k, int64_t now, struct action_list *out,
                          struct err *e)
{
    json_t *node = NULL;
    if (informer_get(k->cfg.nodes, NULL, k->name, &node) != 0)
        return register_node(k, now, out, e);
    json_t *copy = jdoc_copy(node);
    int rc = copy ? 0 : err_set(e, -ENOMEM, "kubelet: out of memory");
    if (rc == 0 && merge_labels(k, copy)) {
        /* The status follows once the update comes back through the cache. */
        rc = action_update(out, k->nodes_res, copy, e);
    } else if (rc == 0) {
        if (merge_status(k, copy, now) < 0) {
            json_decref(copy);
            rc = err_set(e, -ENOMEM, "kubelet: out of memory");
        } else {
            rc = objstate_write_status(out, k->nodes_res, node, copy, e);
        }
    }
    json_decref(node);
    return rc;
}

/* ---- pods -------------------------------------------------------------------------- */

static json_t *get_configmap(void *ctx, const char *ns, const char *name)
{
    struct kubelet *k = ctx;
    json_t *cm = NULL;
    informer_get(k->cfg.configmaps, ns, name, &cm);
    return cm;
}

/* The environment of every container, init containers first, into *envs
 * ({container: {VAR: value}}); on failure *failed names the container. */
static int resolve_all(struct kubelet *k, const json_t *pod, json_t **envs, const char **failed,
                       struct err *e)
{
    static const char *const lists[] = {"initContainers", "containers"};
    *envs = json_object();
    if (!*envs)
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            json_t *env = NULL;
            int rc = kubelet_env_resolve(pod, c, get_configmap, k, &env, e);
            if (rc == 0 && json_object_set_new(*envs, name ? name : "", env) != 0)
                rc = err_set(e, -ENOMEM, "kubelet: out of memory");
            if (rc < 0) {
                *failed = name ? name : "";
                json_decref(*envs);
                *envs = NULL;
                return rc;
            }
        }
    }
    return 0;
}

static int event_per_container(const json_t *pod, const json_t *statuses, bool running_only,
                               const char *reason, const char *verb, struct action_list *out,
                               struct err *e)
{
    size_t i;
    const json_t *cs;
    json_array_foreach(statuses, i, cs) {
        if (running_only && !json_object_get(json_object_get(cs, "state"), "running"))
            continue;
        const char *name = json_string_value(json_object_get(cs, "name"));
        int rc = action_event(out, pod, ACTION_EVENT_NORMAL, reason, e, "%s container %s", verb,
                              name ? name : "");
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Keeps pod Pending: container could not be configured (why). The Event
 * goes with the status change, so a pod retried on every ConfigMap change
 * does not repeat it. */
static int hold_pod(struct kubelet *k, const json_t *pod, json_t *copy, const char *container,
                    const char *why, int64_t now, struct action_list *out, struct err *e)
{
    if (kubelet_pod_config_error(copy, container, why, now) < 0) {
        json_decref(copy);
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    }
    bool changed = !json_equal(json_object_get(copy, "status"), json_object_get(pod, "status"));
    int rc = objstate_write_status(out, k->pods_res, pod, copy, e);
    if (rc == 0 && changed)
        rc = action_event(out, pod, ACTION_EVENT_WARNING, "Failed", e, "Error: %s", why);
    return rc;
}

/* The pod's MPS clients in line with copy (kubelet_mps_sync); while it
 * has some to watch, *requeue_at comes no later than a recheck. */
static int sync_mps(struct kubelet *k, const char *key, json_t *copy, int64_t now,
                    int64_t *requeue_at, struct err *e)
{
    bool recheck = false;
    if (!k->mps)
        return 0;
    if (kubelet_mps_sync(k->mps, key, copy, now, &recheck) < 0)
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    if (recheck)
        loop_requeue_by(requeue_at, now + MPS_RECHECK_NS);
    return 0;
}

/* A start is one write, the status, conditional on the version decided
 * from. What the containers were given (envs) stays with the kubelet, in
 * its log book (their device listings, kubelet_observed_env), as a real
 * kubelet keeps what it passed to the runtime: writing it on the pod (an
 * annotation, gpuslice.dev/observed-env, before) was a write per pod that
 * only tests read, and one that made a start two writes with a version
 * in between to be ignored. */
static int start_pod(struct kubelet *k, const char *key, const json_t *pod, json_t *copy,
                     int64_t now, struct action_list *out, int64_t *requeue_at, struct err *e)
{
    json_t *envs = NULL;
    const char *failed = NULL;
    struct err why = {0};
    int rc = resolve_all(k, pod, &envs, &failed, &why);
    if (rc == -ENOENT)
        return hold_pod(k, pod, copy, failed, why.msg, now, out, e);
    if (rc < 0 || kubelet_pod_start(copy, k->name, now) < 0 ||
        kubelet_pod_advance(copy, now, requeue_at) < 0) {
        json_decref(envs);
        json_decref(copy);
        return rc < 0 ? err_set(e, rc, "%s", why.msg)
                      : err_set(e, -ENOMEM, "kubelet: out of memory");
    }
    if (k->mps)
        kubelet_mps_started(k->mps, key, envs);
    if (k->logs)
        kubelet_logs_started(k->logs, pod, envs);
    else
        json_decref(envs);
    const json_t *statuses = json_object_get(json_object_get(copy, "status"), "containerStatuses");
    rc = event_per_container(pod, statuses, true, "Started", "Started", out, e);
    if (rc == 0)
        rc = sync_mps(k, key, copy, now, requeue_at, e);
    if (rc == 0)
        return action_update_status(out, k->pods_res, copy, e);
    json_decref(copy);
    return rc;
}

static int64_t deletion_ns(const json_t *pod)
{
    const char *t = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"));
    int64_t ns = 0;
    meta_parse_time(t, "metadata.deletionTimestamp", &ns, NULL);
    return ns;
}

/* What a pass decides on, read once from the cached pod: each is a walk of
 * its JSON, and a pass asked each of them up to four times. */
struct pod_state {
    bool started;  /* a container runs or ran (kubelet_pod_started) */
    bool terminal; /* phase Succeeded or Failed */
    bool deleting; /* deletionTimestamp set */
};

static struct pod_state pod_state_of(const json_t *pod)
{
    return (struct pod_state){.started = kubelet_pod_started(pod),
                              .terminal = objstate_terminal(pod),
                              .deleting = objstate_deleting(pod)};
}

/* A started pod moved on to now; a pod being deleted is stopped at its
 * deletionTimestamp, then deleted. */
static int run_pod(struct kubelet *k, const char *key, const json_t *pod, bool deleting,
                   json_t *copy, int64_t now, struct action_list *out, int64_t *requeue_at,
                   struct err *e)
{
    int64_t deadline = deleting ? deletion_ns(pod) : 0, next = 0;
    bool mps_recheck = false;
    int rc = 0;
    if (!objstate_terminal(copy)) {
        int64_t until = deleting && deadline < now ? deadline : now;
        rc = kubelet_pod_advance(copy, until, &next);
        if (rc == 0 && deleting && now >= deadline && !objstate_terminal(copy)) {
            const json_t *before = json_object_get(json_object_get(copy, "status"),
                                                   "containerStatuses");
            rc = event_per_container(pod, before, true, "Killing", "Stopping", out, e);
            if (rc == 0)
                rc = kubelet_pod_stop(copy, deadline);
        }
    }
    if (rc == 0 && k->mps)
        rc = kubelet_mps_sync(k->mps, key, copy, now, &mps_recheck);
    if (rc < 0) {
        json_decref(copy);
        return rc == -ENOMEM ? err_set(e, rc, "kubelet: out of memory") : rc;
    }
    bool done = objstate_terminal(copy);
    rc = objstate_write_status(out, k->pods_res, pod, copy, e);
    if (rc == 0 && deleting && done)
        return action_delete_now(out, k->pods_res, meta_namespace(pod), meta_name(pod),
                                 meta_uid(pod), e);
    if (deleting && (next == 0 || deadline < next))
        next = deadline;
    if (mps_recheck && (next == 0 || next > now + MPS_RECHECK_NS))
        next = now + MPS_RECHECK_NS;
    *requeue_at = next;
    return rc;
}

/* A running pod with nothing due: no run ends by now, its status already
 * says what its containers do, it is not being deleted and has no MPS
 * client to keep in line. run_pod would copy it to find its status
 * unchanged (the pass right after its start, the most common one); only
 * the requeue at its next exit is left. */
static bool idle_pod(struct kubelet *k, const char *key, const json_t *pod,
                     const struct pod_state *st, int64_t now, int64_t *requeue_at)
{
    int64_t next;
    if (st->deleting || st->terminal || !st->started ||
        (k->mps && kubelet_mps_records(k->mps, key)) || !kubelet_pod_idle(pod, now, &next))
        return false;
    *requeue_at = next;
    return true;
}

static void forget_mps(struct kubelet *k, const char *key)
{
    if (k->mps)
        kubelet_mps_forget(k->mps, key);
}

/* Marks pod key as waiting to start (or no longer). */
static int set_waiting(struct kubelet *k, const char *key, bool waiting, struct err *e)
{
    pthread_mutex_lock(&k->waiting_mu);
    int rc = 0;
    bool first = waiting && json_object_size(k->waiting) == 0;
    if (!waiting)
        json_object_del(k->waiting, key);
    else if (json_object_set_new(k->waiting, key, json_true()) != 0)
        rc = err_set(e, -ENOMEM, "kubelet: out of memory");
    pthread_mutex_unlock(&k->waiting_mu);
    if (rc == 0 && first && k->cfg.on_waiting)
        k->cfg.on_waiting(k->cfg.on_waiting_ctx, k->name);
    return rc;
}

static int reconcile_pod(struct kubelet *k, const char *key, int64_t now,
                         struct action_list *out, int64_t *requeue_at, struct err *e)
{
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    int rc = objstate_split_key(key, ns, name, e);
    json_t *pod = NULL;
    if (rc < 0)
        return rc;
    if (informer_get(k->cfg.pods, ns, name, &pod) != 0) {
        forget_mps(k, key);
        return set_waiting(k, key, false, e);
    }
    const char *node = objstate_node(pod);
    if (!node || strcmp(node, k->name) != 0) {
        json_decref(pod);
        forget_mps(k, key);
        return set_waiting(k, key, false, e); /* not this node's (any more) */
    }
    struct pod_state st = pod_state_of(pod);
    bool waiting = !st.started && !st.terminal && !st.deleting;
    if (st.terminal && !st.deleting) {
        /* Ended and staying: nothing moves on (run_pod would copy it to
         * find its status unchanged, on every write of it). */
        json_decref(pod);
        forget_mps(k, key);
        return set_waiting(k, key, false, e);
    }
    if (idle_pod(k, key, pod, &st, now, requeue_at)) {
        json_decref(pod);
        return set_waiting(k, key, false, e);
    }
    json_t *copy = meta_copy_for_write(pod, "status");
    if (!copy) {
        rc = err_set(e, -ENOMEM, "kubelet: out of memory");
    } else if ((rc = set_waiting(k, key, waiting, e)) < 0) {
        json_decref(copy);
    } else if (st.started || st.terminal) {
        rc = run_pod(k, key, pod, st.deleting, copy, now, out, requeue_at, e);
    } else if (st.deleting) {
        /* Nothing runs: nothing to wait for. */
        rc = kubelet_pod_stop(copy, now) < 0 ? err_set(e, -ENOMEM, "kubelet: out of memory") : 0;
        if (rc == 0)
            rc = run_pod(k, key, pod, st.deleting, copy, now, out, requeue_at, e);
        else
            json_decref(copy);
    } else {
        rc = start_pod(k, key, pod, copy, now, out, requeue_at, e);
    }
    json_decref(pod);
    return rc;
}

static int kubelet_reconcile(void *self, const char *key, int64_t now, struct action_list *out,
                             int64_t *requeue_at, struct err *e)
{
    struct kubelet *k = self;
    if (strcmp(key, KUBELET_NODE_KEY) == 0)
        return reconcile_node(k, now, out, e);
    return reconcile_pod(k, key, now, out, requeue_at, e);
}

/* ---- handlers ------------------------------------------------------------------ */

void kubelet_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct kubelet *k = ctx;
    (void)old;
    const char *node = objstate_node(cur);
    char key[OBJSTATE_KEY_MAX];
    if (!node || strcmp(node, k->name) != 0 || objstate_key(cur, key, sizeof key) != 0)
        return;
    if (k->logs && change == INFORMER_DELETED)
        kubelet_logs_forget(k->logs, cur);
    else if (k->logs)
        kubelet_logs_observe(k->logs, cur);
    if (change == INFORMER_DELETED) {
        set_waiting(k, key, false, NULL);
        forget_mps(k, key);
    }
    else
        loop_enqueue(k->loop, key);
}

void kubelet_node_changed(void *ctx, enum informer_change change, const json_t *old,
                          const json_t *cur)
{
    struct kubelet *k = ctx;
    (void)change;
    (void)old;
    const char *name = meta_name(cur);
    if (name && strcmp(name, k->name) == 0)
        loop_enqueue(k->loop, KUBELET_NODE_KEY);
}

/* Whether one container names ConfigMap cm in envFrom or an env
 * configMapKeyRef: the only ways resolve_all reads one. */
static bool container_reads(const json_t *c, const char *cm)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(c, "envFrom"), i, x) {
        const char *name = json_string_value(
            json_object_get(json_object_get(x, "configMapRef"), "name"));
        if (name && strcmp(name, cm) == 0)
            return true;
    }
    json_array_foreach(json_object_get(c, "env"), i, x) {
        const json_t *ref = json_object_get(json_object_get(x, "valueFrom"), "configMapKeyRef");
        const char *name = json_string_value(json_object_get(ref, "name"));
        if (name && strcmp(name, cm) == 0)
            return true;
    }
    return false;
}

static bool pod_reads(const json_t *pod, const char *cm)
{
    static const char *const lists[] = {"initContainers", "containers"};
    const json_t *spec = json_object_get(pod, "spec");
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            if (container_reads(c, cm))
                return true;
        }
    }
    return false;
}

/* Only a pod still waiting to start that reads this ConfigMap can move on
 * from the change; retrying the node's others would be work for nothing. */
void kubelet_configmap_changed(void *ctx, enum informer_change change, const json_t *old,
                               const json_t *cur)
{
    struct kubelet *k = ctx;
    (void)change;
    (void)old;
    const char *ns = meta_namespace(cur), *cm = meta_name(cur);
    if (!ns || !cm)
        return;
    pthread_mutex_lock(&k->waiting_mu);
    const char *key;
    json_t *v;
    json_object_foreach(k->waiting, key, v) {
        char pns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
        json_t *pod = NULL;
        if (objstate_split_key(key, pns, name, NULL) == 0 && strcmp(pns, ns) == 0 &&
            informer_get(k->cfg.pods, pns, name, &pod) == 0 && pod_reads(pod, cm))
            loop_enqueue(k->loop, key);
        json_decref(pod);
    }
    pthread_mutex_unlock(&k->waiting_mu);
}

bool kubelet_has_waiting(struct kubelet *k)
{
    pthread_mutex_lock(&k->waiting_mu);
    bool any = json_object_size(k->waiting) > 0;
    pthread_mutex_unlock(&k->waiting_mu);
    return any;
}

/* ---- life --------------------------------------------------------------------------- */

int kubelet_new(const struct kubelet_config *cfg, struct kubelet **out, struct err *e)
{
    if (!cfg->store || !cfg->pods || !cfg->nodes || !cfg->configmaps || !cfg->node.name)
        return err_set(e, -EINVAL, "kubelet: needs a store, the pods, nodes and configmaps "
                                   "informers, and a node name");
    struct api_registry *reg = store_registry(cfg->store);
    const struct api_resource *pods = api_registry_find(reg, "", "v1", "pods");
    const struct api_resource *nodes = api_registry_find(reg, "", "v1", "nodes");
    if (!pods || !nodes)
        return err_set(e, -ENOENT, "kubelet: the store serves no pods or nodes");
    struct kubelet *k = alloc_calloc(1, sizeof *k);
    k->cfg = *cfg;
    k->name = alloc_strdup(cfg->node.name);
    k->cfg.node = (struct kubelet_node){.name = k->name};
    k->labels = json_object();
    k->taints = json_array();
    k->capacity = json_object();
    k->waiting = json_object();
    pthread_mutex_init(&k->waiting_mu, NULL);
    k->pods_res = pods;
    k->nodes_res = nodes;
    if (cfg->keep_logs)
        k->logs = kubelet_logs_new(k->name, cfg->log_max_bytes, cfg->devices, cfg->devices_ctx);
    if (cfg->mps)
        k->mps = kubelet_mps_new(k->name, cfg->mps, cfg->mps_ctx);
    int rc = k->name && k->labels && k->taints && k->capacity && k->waiting
                 ? configure(k, &cfg->node, e)
                 : err_set(e, -ENOMEM, "kubelet: out of memory");
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = k->name, .self = k, .reconcile = kubelet_reconcile},
        .component = "kubelet",
        .host = k->name,
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    if (rc == 0)
        rc = loop_new(&lc, &k->loop, e);
    if (rc == 0)
        loop_enqueue(k->loop, KUBELET_NODE_KEY);
    if (rc < 0) {
        kubelet_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void kubelet_free(struct kubelet *k)
{
    if (!k)
        return;
    loop_free(k->loop);
    kubelet_logs_free(k->logs);
    kubelet_mps_free(k->mps);
    json_decref(k->labels);
    json_decref(k->taints);
    json_decref(k->capacity);
    json_decref(k->waiting);
    pthread_mutex_destroy(&k->waiting_mu);
    free(k->name);
    free(k);
}

struct loop *kubelet_loop(struct kubelet *k)
{
    return k->loop;
}

const char *kubelet_node_name(const struct kubelet *k)
{
    return k->name;
}

int kubelet_open_log(struct kubelet *k, const json_t *pod, const char *container, bool previous,
                     struct linelog **out, struct err *e)
{
    *out = NULL;
    if (!k->logs)
        return err_set(e, -EBUSY, "the kubelet of node %s keeps no container logs", k->name);
    return kubelet_logs_open(k->logs, pod, container, previous, out, e);
}

int kubelet_observed_env(struct kubelet *k, const json_t *pod, json_t **out, struct err *e)
{
    *out = NULL;
    if (!k->logs)
        return err_set(e, -EBUSY, "the kubelet of node %s keeps no container logs", k->name);
    *out = kubelet_logs_env(k->logs, pod);
    return *out ? 0 : err_set(e, -ENOENT, "pod %s was not started on node %s",
                              meta_name(pod) ? meta_name(pod) : "", k->name);
}
