/*
 * The emulated kubelet's MPS clients (kubelet_mps.h): the book of which
 * container uses which daemon, and the pass that connects, watches and
 * disconnects them against the pod's container statuses.
 */
#include "cluster/kubelet_mps.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/kubelet_pod.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"

#define ENV_LIMIT "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"
#define ENV_DEVICES "NVIDIA_VISIBLE_DEVICES"
/* A container restarted after a failure connects no sooner than this
 * after it (as the kubelet's restarts are no faster than one a second):
 * else a daemon that is not back would fail it again within the same
 * instant, forever. */
#define RETRY_NS NS_PER_SEC

struct kubelet_mps {
    char *node;
    const struct kubelet_mps_ops *ops;
    void *ctx;
    pthread_mutex_t mu;
    json_t *pods;
};

struct kubelet_mps *kubelet_mps_new(const char *node, const struct kubelet_mps_ops *ops,
                                    void *ctx)
{
    struct kubelet_mps *b = alloc_calloc(1, sizeof *b);
    b->node = alloc_strdup(node);
    b->ops = ops;
    b->ctx = ctx;
    b->pods = json_object();
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

void kubelet_mps_free(struct kubelet_mps *b)
{
    if (!b)
        return;
    json_decref(b->pods);
    pthread_mutex_destroy(&b->mu);
    free(b->node);
    free(b);
}

/* The MiB of a pinned limit as the agent writes it ("0=4G", "0=512M"); 0
 * when it is not one. */
static uint64_t limit_mib(const char *v)
{
    const char *eq = v ? strchr(v, '=') : NULL;
    char *end;
    if (!eq)
        return 0;
    unsigned long long n = strtoull(eq + 1, &end, 10);
    if (end == eq + 1 || n > (1ull << 40))
        return 0;
    if (strcmp(end, "G") == 0)
        return n * 1024;
    return strcmp(end, "M") == 0 ? n : 0;
}

void kubelet_mps_started(struct kubelet_mps *b, const char *key, const json_t *envs)
{
    json_t *containers = json_object();
    const char *name;
    const json_t *env;
    json_object_foreach((json_t *)envs, name, env) {
        const char *gpu = json_string_value(json_object_get(env, ENV_DEVICES));
        uint64_t mib = limit_mib(json_string_value(json_object_get(env, ENV_LIMIT)));
        if (gpu && mib)
            jdoc_set(containers, name, json_pack("{s:s, s:I}", "gpu", gpu, "limitMiB",
                                                 (json_int_t)mib));
    }
    kubelet_mps_forget(b, key); /* a start again (a restarted kubelet) begins afresh */
    if (json_object_size(containers) == 0) {
        json_decref(containers);
        return;
    }
    pthread_mutex_lock(&b->mu);
    jdoc_set(b->pods, key, json_pack("{s:o}", "containers", containers));
    pthread_mutex_unlock(&b->mu);
}

static void disconnect(struct kubelet_mps *b, json_t *c)
{
    const json_t *client = json_object_get(c, "client");
    if (client)
        b->ops->disconnect(b->ctx, b->node, json_string_value(json_object_get(c, "gpu")),
                           (uint64_t)json_integer_value(client));
    json_object_del(c, "client");
}

static const json_t *status_of(const json_t *pod, const char *container)
{
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                       cs) {
        const char *name = json_string_value(json_object_get(cs, "name"));
        if (name && strcmp(name, container) == 0)
            return cs;
    }
    return NULL;
}

static bool running(const json_t *pod, const char *container)
{
    return json_object_get(json_object_get(status_of(pod, container), "state"), "running");
}

/* Which run of the container this is: its restart count. */
static json_int_t run_of(const json_t *pod, const char *container)
{
    return json_integer_value(json_object_get(status_of(pod, container), "restartCount"));
}

/* One container of the pod brought in line; a failure's words in why
 * (reason) and msg, else why NULL. Lock held. */
static void sync_container(struct kubelet_mps *b, const json_t *pod, const char *name,
                           json_t *c, int64_t now, const char **why, struct err *msg)
{
    const char *gpu = json_string_value(json_object_get(c, "gpu"));
    const json_t *client = json_object_get(c, "client");
    *why = NULL;
    if (json_object_get(c, "unmodelled"))
        return;
    if (!running(pod, name)) {
        disconnect(b, c);
        return;
    }
    /* A client belongs to the run it connected in; a later run (restarted,
     * its failure written) connects anew. */
    if (client && json_integer_value(json_object_get(c, "run")) != run_of(pod, name)) {
        disconnect(b, c);
        client = NULL;
    }
    if (client) {
        if (b->ops->connected(b->ctx, b->node, gpu, (uint64_t)json_integer_value(client)))
            return;
        /* The dead client stays until a later run replaces it: when this
         * failure's write conflicts, the pass again on the fresh pod finds
         * the same run holding it and fails it again, rather than
         * connecting it to the next daemon as if nothing had died. */
        *why = KUBELET_MPS_REASON_DIED;
        err_set(msg, -EIO, "the MPS daemon of GPU %s died: its clients lost the GPU", gpu);
    } else if (now >= json_integer_value(json_object_get(c, "retryAt"))) {
        uint64_t id = 0, mib = (uint64_t)json_integer_value(json_object_get(c, "limitMiB"));
        int rc = b->ops->connect(b->ctx, b->node, gpu, mib, &id, msg);
        if (rc == 0) {
            jdoc_set(c, "client", json_integer((json_int_t)id));
            jdoc_set(c, "run", json_integer(run_of(pod, name)));
        } else if (rc == -ENOSYS)
            jdoc_set(c, "unmodelled", json_true());
        else
            *why = KUBELET_MPS_REASON_REFUSED;
    }
}

int kubelet_mps_sync(struct kubelet_mps *b, const char *key, json_t *copy, int64_t now,
                     bool *recheck)
{
    *recheck = false;
    if (objstate_terminal(copy)) {
        kubelet_mps_forget(b, key);
        return 0;
    }
    pthread_mutex_lock(&b->mu);
    json_t *containers = json_object_get(json_object_get(b->pods, key), "containers");
    const char *name;
    json_t *c;
    int rc = 0;
    json_object_foreach(containers, name, c) {
        const char *why;
        struct err msg;
        sync_container(b, copy, name, c, now, &why, &msg);
        if (why)
            jdoc_set(c, "retryAt", json_integer(now + RETRY_NS));
        if (why && rc == 0)
            rc = kubelet_pod_fail_container(copy, name, why, msg.msg, now);
        /* A container restarted at once connects on the next pass. */
        *recheck = *recheck || (!json_object_get(c, "unmodelled") && running(copy, name));
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void kubelet_mps_forget(struct kubelet_mps *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    const char *name;
    json_t *c;
    json_object_foreach(json_object_get(json_object_get(b->pods, key), "containers"), name, c)
        disconnect(b, c);
    json_object_del(b->pods, key);
    pthread_mutex_unlock(&b->mu);
}

bool kubelet_mps_records(struct kubelet_mps *b, const char *key)
{
    pthread_mutex_lock(&b->mu);
    bool recorded = json_object_get(b->pods, key) != NULL;
    pthread_mutex_unlock(&b->mu);
    return recorded;
}

unsigned kubelet_mps_clients(struct kubelet_mps *b, const char *key)
{
    unsigned n = 0;
    pthread_mutex_lock(&b->mu);
    const char *name;
    json_t *c;
    json_object_foreach(json_object_get(json_object_get(b->pods, key), "containers"), name, c)
        n += json_object_get(c, "client") != NULL;
    pthread_mutex_unlock(&b->mu);
    return n;
}
