/*
 * An emulated kubelet's container logs (kubelet_logs.h): one entry per
 * container of a pod ("uid/name"), holding its current run's log and the
 * one before, moved on by what the pod's status says.
 */
#include "cluster/kubelet_logs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/kubelet.h"
#include "cluster/kubelet_pod.h"
#include "util/alloc.h"
#include "util/mutex.h"
#include "util/strmap.h"

#define KEY_MAX 512
#define LINE_MAX_LEN 512
#define VISIBLE_MAX 16

struct container_logs {
    struct linelog *cur;  /* run number `run`; NULL before its start */
    struct linelog *prev; /* run number `run - 1`, or NULL */
    int64_t run;          /* the status's restartCount of cur */
};

struct kubelet_logs {
    char *node;
    size_t max_bytes;
    kubelet_device_fn devices;
    void *devices_ctx;
    struct mutex mu;         /* guards containers and envs */
    struct strmap containers; /* "uid/name" -> struct container_logs */
    struct strmap envs;       /* pod uid -> json_t *: its containers' environments */
};

static void drop_log(struct linelog *log)
{
    if (log) {
        linelog_close(log);
        linelog_unref(log);
    }
}

static void drop_container(void *value)
{
    struct container_logs *c = value;
    drop_log(c->cur);
    drop_log(c->prev);
}

static void drop_env(void *value)
{
    json_decref(*(json_t **)value);
}

struct kubelet_logs *kubelet_logs_new(const char *node, size_t max_bytes,
                                      kubelet_device_fn devices, void *devices_ctx)
{
    struct kubelet_logs *b = alloc_calloc(1, sizeof *b);
    b->node = alloc_strdup(node);
    b->max_bytes = max_bytes ? max_bytes : KUBELET_LOGS_MAX_BYTES_DEFAULT;
    b->devices = devices;
    b->devices_ctx = devices_ctx;
    mutex_init(&b->mu);
    strmap_init(&b->containers, sizeof(struct container_logs), drop_container);
    strmap_init(&b->envs, sizeof(json_t *), drop_env);
    return b;
}

void kubelet_logs_free(struct kubelet_logs *b)
{
    if (!b)
        return;
    strmap_free(&b->containers);
    strmap_free(&b->envs);
    mutex_destroy(&b->mu);
    free(b->node);
    free(b);
}

/* ---- what a container prints ---- */

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int64_t time_at(const json_t *obj, const char *key)
{
    int64_t ns = 0;
    meta_parse_time(str(obj, key), key, &ns, NULL);
    return ns;
}

static void say(struct linelog *log, int64_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct linelog *log, int64_t t, const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    linelog_append(log, t, line);
}

/* One visible device, and the GPU it is on as the container numbers it. */
struct visible {
    char uuid[KUBELET_DEVICE_TEXT_MAX];
    struct kubelet_device d;
    bool known;
};

/* nvidia-smi -L of the devices in visible ("MIG-a,MIG-b"): each GPU once,
 * numbered from 0 in the order its first device comes, then its MIG
 * devices numbered from 0. */
static void list_devices(struct kubelet_logs *b, struct linelog *log, int64_t t,
                         const char *visible)
{
    struct visible v[VISIBLE_MAX];
    size_t n = 0;
    char buf[VISIBLE_MAX * KUBELET_DEVICE_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", visible ? visible : "");
    char *save = NULL;
    for (char *u = strtok_r(buf, ",", &save); u && n < VISIBLE_MAX;
         u = strtok_r(NULL, ",", &save)) {
        if (strcmp(u, "void") == 0 || strcmp(u, "none") == 0)
            continue;
        v[n] = (struct visible){0};
        snprintf(v[n].uuid, sizeof v[n].uuid, "%s", u);
        v[n].known = b->devices && b->devices(b->devices_ctx, b->node, u, &v[n].d) == 0;
        n++;
    }
    if (n == 0) {
        say(log, t, "No devices found.");
        return;
    }
    unsigned gpu = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || (v[i].known && v[j].known &&
                            strcmp(v[i].d.gpu_uuid, v[j].d.gpu_uuid) == 0);
        if (seen)
            continue;
        if (!v[i].known) {
            say(log, t, "%s Device %u: (UUID: %s)", strncmp(v[i].uuid, "MIG-", 4) ? "GPU" : "MIG",
                gpu++, v[i].uuid);
            continue;
        }
        say(log, t, "GPU %u: %s (UUID: %s)", gpu++, v[i].d.gpu_product, v[i].d.gpu_uuid);
        unsigned mig = 0;
        for (size_t j = i; j < n; j++)
            if (v[j].known && *v[j].d.profile && strcmp(v[j].d.gpu_uuid, v[i].d.gpu_uuid) == 0)
                say(log, t, "  MIG %s Device %u: (UUID: %s)", v[j].d.profile, mig++, v[j].uuid);
    }
}

/* The MPS limits a client container got (agent_share.c's ConfigMap), as a
 * CUDA program under MPS would find them; nothing for a container that is
 * no MPS client. */
static void list_mps(struct linelog *log, int64_t t, const json_t *env)
{
    const char *limit = str(env, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT");
    const char *percent = str(env, "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE");
    const char *pipe = str(env, "CUDA_MPS_PIPE_DIRECTORY");
    if (!limit && !percent)
        return;
    say(log, t, "[gpuslice] MPS client: pinned device memory limit %s, active thread "
        "percentage %s, control daemon at %s", limit ? limit : "none", percent ? percent : "100",
        pipe ? pipe : "/tmp/nvidia-mps");
}

/* The start of a run: its devices, then how long it runs. Called with the
 * lock held. */
static void write_start(struct kubelet_logs *b, struct linelog *log, const json_t *pod,
                        const json_t *spec, const char *name, int64_t t)
{
    json_t **envs = meta_uid(pod) ? strmap_get(&b->envs, meta_uid(pod)) : NULL;
    const json_t *env = envs ? json_object_get(*envs, name) : NULL;
    list_devices(b, log, t, str(env, "NVIDIA_VISIBLE_DEVICES"));
    list_mps(log, t, env);
    int64_t ns = kubelet_pod_duration_ns(pod, spec);
    if (ns < 0)
        say(log, t, "[gpuslice] emulated container %s started; runs until stopped", name);
    else
        say(log, t, "[gpuslice] emulated container %s started; runs %g s", name,
            (double)ns / 1e9);
}

/* The end of a run, from its terminated state; once. */
static void write_end(struct linelog *log, const char *name, const json_t *terminated)
{
    if (!log || !terminated || linelog_closed(log))
        return;
    const char *reason = str(terminated, "reason");
    say(log, time_at(terminated, "finishedAt"), "[gpuslice] emulated container %s exited with "
        "code %d (%s)", name, (int)json_integer_value(json_object_get(terminated, "exitCode")),
        reason ? reason : "");
    linelog_close(log);
}

/* ---- following the status ---- */

/* The element named name of the first of pod's lists under parent (spec
 * or status) that has one, or NULL. */
static const json_t *named(const json_t *pod, const char *parent, const char *const *lists,
                           const char *name)
{
    for (size_t l = 0; lists[l]; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, parent), lists[l]), i, c) {
            const char *n = str(c, "name");
            if (n && strcmp(n, name) == 0)
                return c;
        }
    }
    return NULL;
}

static const json_t *spec_container(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers", NULL};
    return named(pod, "spec", lists, name);
}

static bool container_key(const json_t *pod, const char *name, char key[KEY_MAX])
{
    const char *uid = meta_uid(pod);
    return uid && name && snprintf(key, KEY_MAX, "%s/%s", uid, name) < KEY_MAX;
}

/* Moves c on to what status cs says. Called with the lock held. */
static void observe_container(struct kubelet_logs *b, const json_t *pod, const char *name,
                              const json_t *cs, struct container_logs *c)
{
    int64_t run = json_integer_value(json_object_get(cs, "restartCount"));
    const json_t *state = json_object_get(cs, "state");
    const json_t *running = json_object_get(state, "running");
    const json_t *ended = json_object_get(state, "terminated");
    const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
    if (c->cur && c->run != run) {
        drop_log(c->prev);
        c->prev = NULL;
        if (run == c->run + 1) { /* restarted: the run that ended is the previous one */
            write_end(c->cur, name, last);
            c->prev = c->cur;
        } else {
            drop_log(c->cur);
        }
        c->cur = NULL;
    }
    const json_t *started = running ? running : ended;
    if (!c->cur && started && str(started, "startedAt")) {
        c->cur = linelog_new(b->max_bytes);
        c->run = run;
        write_start(b, c->cur, pod, spec_container(pod, name), name,
                    time_at(started, "startedAt"));
    }
    write_end(c->cur, name, ended);
    write_end(c->prev, name, last);
}

void kubelet_logs_observe(struct kubelet_logs *b, const json_t *pod)
{
    static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
    mutex_lock(&b->mu);
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *cs;
        json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, cs) {
            char key[KEY_MAX];
            const char *name = str(cs, "name");
            if (container_key(pod, name, key))
                observe_container(b, pod, name, cs, strmap_put(&b->containers, key, NULL));
        }
    }
    mutex_unlock(&b->mu);
}

void kubelet_logs_started(struct kubelet_logs *b, const json_t *pod, json_t *envs)
{
    const char *uid = meta_uid(pod);
    if (!uid) {
        json_decref(envs);
        return;
    }
    mutex_lock(&b->mu);
    strmap_set(&b->envs, uid, &envs);
    mutex_unlock(&b->mu);
}

json_t *kubelet_logs_env(struct kubelet_logs *b, const json_t *pod)
{
    const char *uid = meta_uid(pod);
    mutex_lock(&b->mu);
    json_t **envs = uid ? strmap_get(&b->envs, uid) : NULL;
    json_t *got = envs ? json_incref(*envs) : NULL;
    mutex_unlock(&b->mu);
    return got;
}

void kubelet_logs_forget(struct kubelet_logs *b, const json_t *pod)
{
    static const char *const lists[] = {"initContainers", "containers"};
    mutex_lock(&b->mu);
    if (meta_uid(pod))
        strmap_del(&b->envs, meta_uid(pod));
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c) {
            char key[KEY_MAX];
            if (container_key(pod, str(c, "name"), key))
                strmap_del(&b->containers, key);
        }
    }
    mutex_unlock(&b->mu);
}

/* ---- reading ---- */

static const json_t *container_status(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses", NULL};
    return named(pod, "status", lists, name);
}

/* The log of run number `run` of the container at key, or an empty closed
 * one when this book never saw that run. */
static struct linelog *log_of_run(struct kubelet_logs *b, const char *key, int64_t run)
{
    struct linelog *log = NULL;
    mutex_lock(&b->mu);
    const struct container_logs *c = strmap_get(&b->containers, key);
    if (c && c->cur && c->run == run)
        log = linelog_ref(c->cur);
    else if (c && c->prev && c->run - 1 == run)
        log = linelog_ref(c->prev);
    mutex_unlock(&b->mu);
    if (!log) {
        log = linelog_new(1);
        linelog_close(log);
    }
    return log;
}

/* The kubelet's validateContainerLogStatus: which run a read is about, or
 * why there is none. */
int kubelet_logs_open(struct kubelet_logs *b, const json_t *pod, const char *container,
                      bool previous, struct linelog **out, struct err *e)
{
    const char *pod_name = meta_name(pod) ? meta_name(pod) : "";
    const json_t *cs = container_status(pod, container);
    char key[KEY_MAX];
    *out = NULL;
    if (!cs || !container_key(pod, container, key))
        return err_set(e, -EBADMSG, "container \"%s\" in pod \"%s\" is not available",
                       container, pod_name);
    int64_t run = json_integer_value(json_object_get(cs, "restartCount"));
    const json_t *state = json_object_get(cs, "state");
    const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
    const json_t *waiting = json_object_get(state, "waiting");
    if (previous && !last)
        return err_set(e, -EBADMSG, "previous terminated container \"%s\" in pod \"%s\" not "
                       "found", container, pod_name);
    if (previous || (!json_object_get(state, "running") &&
                     !json_object_get(state, "terminated") && last))
        run--;
    else if (waiting)
        return err_set(e, -EBADMSG, "container \"%s\" in pod \"%s\" is waiting to start: %s",
                       container, pod_name, str(waiting, "reason") ? str(waiting, "reason") : "");
    else if (!json_object_get(state, "running") && !json_object_get(state, "terminated"))
        return err_set(e, -EBADMSG, "container \"%s\" in pod \"%s\" is waiting to start - no "
                       "logs yet", container, pod_name);
    *out = log_of_run(b, key, run);
    return 0;
}
