/*
 * The emulated container runtime's effect on a pod's status (see
 * kubelet_pod.h). Each function edits the containers' statuses, then
 * settle() derives the phase and conditions from them, the one place the
 * kubelet's phase rules live.
 */
#include "cluster/kubelet_pod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/clock.h"
#include "util/jdoc.h"

#define RESTART_MIN_NS NS_PER_SEC
#define UNREADY_MESSAGE_MAX 1024

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ---- how long a container runs ---------------------------------------------- */

/* A non-negative decimal number of seconds as ns; false when s is not one. */
static bool parse_seconds(const char *s, int64_t *ns)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v < 0 || v > 1e9 || v != v)
        return false;
    *ns = (int64_t)(v * 1e9 + 0.5);
    return true;
}

/* `sleep N` as command and args together (either may hold both). */
static bool sleep_seconds(const json_t *container, int64_t *ns)
{
    const char *argv[3] = {NULL, NULL, NULL};
    size_t n = 0;
    static const char *const lists[] = {"command", "args"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(container, lists[l]), i, a) {
            if (n == 3)
                return false;
            argv[n++] = json_string_value(a);
        }
    }
    if (n != 2 || !argv[0] || !argv[1])
        return false;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    return strcmp(base, "sleep") == 0 && parse_seconds(argv[1], ns);
}

int64_t kubelet_pod_duration_ns(const json_t *pod, const json_t *container)
{
    int64_t ns;
    if (parse_seconds(meta_annotation(pod, KUBELET_ANNOTATION_RUN_SECONDS), &ns))
        return ns;
    if (sleep_seconds(container, &ns))
        return ns;
    return -1;
}

static int exit_code(const json_t *pod)
{
    const char *s = meta_annotation(pod, KUBELET_ANNOTATION_EXIT_CODE);
    char *end;
    if (!s || !*s)
        return 0;
    long v = strtol(s, &end, 10);
    return *end || v < 0 || v > 255 ? 0 : (int)v;
}

/* Whether a container that exited with code restarts under the pod's
 * policy. */
static bool restarts(const json_t *pod, int code)
{
    const char *policy = str(json_object_get(pod, "spec"), "restartPolicy");
    if (!policy || strcmp(policy, "Always") == 0)
        return true;
    return strcmp(policy, "OnFailure") == 0 && code != 0;
}

/* ---- container statuses ------------------------------------------------------ */

static json_t *time_string(int64_t ns)
{
    char t[META_MICROTIME_LEN];
    meta_format_microtime(ns, t);
    return json_string(t);
}

static int64_t time_of(const json_t *v)
{
    int64_t ns = 0;
    if (meta_parse_time(json_string_value(v), "startedAt", &ns, NULL) != 0)
        return 0;
    return ns;
}

/* States and statuses are built member by member (jdoc_put): json_pack's
 * format scan and key checks were most of their cost, at every container
 * start and end. A NULL member (a name that is not UTF-8) makes the whole
 * NULL, as json_pack's result was. */

/* {key: value}, value taken. */
static json_t *state_of(const char *key, json_t *value)
{
    json_t *s = json_object();
    return jdoc_built(s, jdoc_put(s, key, value, true));
}

static json_t *running_state(int64_t started)
{
    return state_of("running", state_of("startedAt", time_string(started)));
}

static json_t *terminated_state(int code, const char *reason, int64_t started, int64_t finished)
{
    json_t *t = json_object();
    bool ok = jdoc_put(t, "exitCode", json_integer(code), true);
    ok = jdoc_put(t, "reason", json_string(reason), ok);
    ok = jdoc_put(t, "finishedAt", time_string(finished), ok);
    if (started)
        ok = jdoc_put(t, "startedAt", time_string(started), ok);
    return state_of("terminated", jdoc_built(t, ok));
}

/* A fresh status for container c of pod in state (taken over). */
static json_t *container_status(const json_t *pod, const char *node, const json_t *c,
                                json_t *state)
{
    const char *name = str(c, "name"), *image = str(c, "image");
    char id[512];
    snprintf(id, sizeof id, "emulated://%s/%s/%s", node ? node : "", meta_uid(pod) ? meta_uid(pod) : "",
             name ? name : "");
    bool running = json_object_get(state, "running") != NULL;
    json_t *st = json_object();
    bool ok = jdoc_put(st, "name", json_string(name ? name : ""), true);
    ok = jdoc_put(st, "image", json_string(image ? image : ""), ok);
    ok = jdoc_put(st, "imageID", json_string(""), ok);
    ok = jdoc_put(st, "containerID", json_string(id), ok);
    ok = jdoc_put(st, "ready", json_boolean(running), ok);
    ok = jdoc_put(st, "started", json_boolean(running), ok);
    ok = jdoc_put(st, "restartCount", json_integer(0), ok);
    ok = jdoc_put(st, "state", state, ok);
    return jdoc_built(st, ok);
}

/* statuses of every container in the pod's list (containers or
 * initContainers), made by make(); NULL when out of memory. */
static json_t *statuses(const json_t *pod, const char *node, const char *list,
                        json_t *(*make)(const json_t *c, const void *arg), const void *arg)
{
    json_t *out = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), list), i, c) {
        json_t *st = container_status(pod, node, c, make(c, arg));
        if (!st || json_array_append_new(out, st) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- phase and conditions ---------------------------------------------------- */

struct tally {
    size_t running, waiting, terminated, failed;
    char unready[UNREADY_MESSAGE_MAX];
    size_t unready_len;
};

static void tally_containers(const json_t *pod, struct tally *t)
{
    memset(t, 0, sizeof *t);
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                       cs) {
        const json_t *state = json_object_get(cs, "state");
        const json_t *term = json_object_get(state, "terminated");
        if (json_object_get(state, "running")) {
            t->running++;
            continue;
        }
        if (term) {
            t->terminated++;
            t->failed += json_integer_value(json_object_get(term, "exitCode")) != 0;
        } else {
            t->waiting++;
        }
        if (t->unready_len < sizeof t->unready)
            t->unready_len += (size_t)snprintf(t->unready + t->unready_len,
                                               sizeof t->unready - t->unready_len, "%s%s",
                                               t->unready_len ? " " : "",
                                               str(cs, "name") ? str(cs, "name") : "");
    }
}

/* What the containers' states say: the phase, and the status, reason and
 * message of the Initialized (always True), ContainersReady and Ready
 * conditions. */
struct settled {
    const char *phase, *ready, *reason, *msg;
    char message[UNREADY_MESSAGE_MAX + 64];
};

static void settled_of(const json_t *pod, struct settled *s)
{
    struct tally t;
    tally_containers(pod, &t);
    s->phase = t.waiting ? "Pending" : t.running ? "Running" : t.failed ? "Failed" : "Succeeded";
    bool ready = t.running > 0 && !t.waiting && !t.terminated;
    s->ready = ready ? "True" : "False";
    s->reason = s->msg = NULL;
    if (!ready && strcmp(s->phase, "Succeeded") == 0) {
        s->reason = "PodCompleted";
    } else if (!ready) {
        s->reason = "ContainersNotReady";
        snprintf(s->message, sizeof s->message, "containers with unready status: [%s]",
                 t.unready);
        s->msg = s->message;
    }
}

/* The phase and the conditions from the containers' states. */
static int settle(json_t *pod, int64_t now)
{
    struct settled s;
    settled_of(pod, &s);
    json_t *st = objstate_status(pod);
    if (json_object_set_new(st, "phase", json_string(s.phase)) != 0 ||
        objstate_set_condition(pod, "Initialized", "True", NULL, NULL, now) < 0 ||
        objstate_set_condition(pod, "ContainersReady", s.ready, s.reason, s.msg, now) < 0 ||
        objstate_set_condition(pod, "Ready", s.ready, s.reason, s.msg, now) < 0)
        return -ENOMEM;
    return 0;
}

/* Whether obj's member key is the string s (absent for NULL): what
 * objstate_set_condition leaves alone. */
static bool string_is(const json_t *obj, const char *key, const char *s)
{
    const json_t *v = json_object_get(obj, key);
    if (!s)
        return v == NULL;
    return json_string_value(v) && strcmp(json_string_value(v), s) == 0;
}

static bool condition_is(const json_t *pod, const char *type, const char *status,
                         const char *reason, const char *message)
{
    const json_t *c = objstate_condition(pod, type);
    return c && string_is(c, "status", status) && string_is(c, "reason", reason) &&
           string_is(c, "message", message);
}

/* Whether settle() would change nothing in pod. */
static bool is_settled(const json_t *pod)
{
    struct settled s;
    settled_of(pod, &s);
    return string_is(json_object_get(pod, "status"), "phase", s.phase) &&
           condition_is(pod, "Initialized", "True", NULL, NULL) &&
           condition_is(pod, "ContainersReady", s.ready, s.reason, s.msg) &&
           condition_is(pod, "Ready", s.ready, s.reason, s.msg);
}

static int set_start_time(json_t *pod, int64_t now)
{
    json_t *st = objstate_status(pod);
    if (json_object_get(st, "startTime"))
        return 0;
    char t[META_TIME_LEN];
    meta_format_time(now, t);
    return json_object_set_new(st, "startTime", json_string(t)) ? -ENOMEM : 0;
}

/* ---- the transitions ---------------------------------------------------------- */

bool kubelet_pod_started(const json_t *pod)
{
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                       cs) {
        const json_t *state = json_object_get(cs, "state");
        if (json_object_get(state, "running") || json_object_get(state, "terminated"))
            return true;
    }
    return false;
}

static json_t *make_running(const json_t *c, const void *arg)
{
    (void)c;
    return running_state(*(const int64_t *)arg);
}

static json_t *make_completed(const json_t *c, const void *arg)
{
    (void)c;
    int64_t at = *(const int64_t *)arg;
    return terminated_state(0, "Completed", at, at);
}

struct waiting_arg {
    const char *container, *message;
};

static json_t *make_waiting(const json_t *c, const void *arg)
{
    const struct waiting_arg *w = arg;
    const char *name = str(c, "name");
    if (name && strcmp(name, w->container) == 0)
        return json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CreateContainerConfigError",
                         "message", w->message);
    return json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
}

/* Replaces status.<key> with value (taken over). */
static int put(json_t *pod, const char *key, json_t *value)
{
    if (!value)
        return -ENOMEM;
    return json_object_set_new(objstate_status(pod), key, value) ? -ENOMEM : 0;
}

int kubelet_pod_start(json_t *pod, const char *node, int64_t now)
{
    int rc = put(pod, "containerStatuses", statuses(pod, node, "containers", make_running, &now));
    if (rc == 0 && json_array_size(json_object_get(json_object_get(pod, "spec"), "initContainers")))
        rc = put(pod, "initContainerStatuses",
                 statuses(pod, node, "initContainers", make_completed, &now));
    if (rc == 0)
        rc = set_start_time(pod, now);
    return rc == 0 ? settle(pod, now) : rc;
}

int kubelet_pod_config_error(json_t *pod, const char *container, const char *message,
                             int64_t now)
{
    struct waiting_arg w = {.container = container, .message = message};
    int rc = put(pod, "containerStatuses", statuses(pod, NULL, "containers", make_waiting, &w));
    if (rc == 0)
        rc = set_start_time(pod, now);
    return rc == 0 ? settle(pod, now) : rc;
}

static const json_t *container_spec(const json_t *pod, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
        if (name && str(c, "name") && strcmp(str(c, "name"), name) == 0)
            return c;
    return NULL;
}

/* A running container's current run: when it started and ends by itself
 * (a restart no sooner than RESTART_MIN_NS after the start), its exit code
 * and whether it restarts then. */
struct run {
    int64_t started, ends;
    int code;
    bool again;
};

/* cs's run; false when it is not running or runs until stopped. */
static bool run_of(const json_t *pod, const json_t *cs, struct run *r)
{
    const json_t *running = json_object_get(json_object_get(cs, "state"), "running");
    if (!running)
        return false; /* before the duration: finding its spec is the dear part */
    int64_t dur = kubelet_pod_duration_ns(pod, container_spec(pod, str(cs, "name")));
    if (dur < 0)
        return false;
    r->started = time_of(json_object_get(running, "startedAt"));
    r->code = exit_code(pod);
    r->again = restarts(pod, r->code);
    if (r->again && dur < RESTART_MIN_NS)
        dur = RESTART_MIN_NS;
    r->ends = r->started + dur;
    return true;
}

/* One running container moved on to now; *next is lowered to its next exit. */
static int advance_one(const json_t *pod, json_t *cs, int64_t now, int64_t *next)
{
    struct run r;
    if (!run_of(pod, cs, &r))
        return 0;
    if (now < r.ends) {
        if (*next == 0 || r.ends < *next)
            *next = r.ends;
        return 0;
    }
    const char *reason = r.code == 0 ? "Completed" : "Error";
    if (!r.again) {
        jdoc_set(cs, "ready", json_false());
        jdoc_set(cs, "started", json_false());
        return json_object_set_new(cs, "state",
                                   terminated_state(r.code, reason, r.started, r.ends))
                   ? -ENOMEM
                   : 0;
    }
    /* Every run that ended by now, in one step: the state after k of them. */
    int64_t dur = r.ends - r.started, k = (now - r.started) / dur,
            restarted = r.started + k * dur;
    json_int_t count = json_integer_value(json_object_get(cs, "restartCount"));
    if (*next == 0 || restarted + dur < *next)
        *next = restarted + dur;
    if (json_object_set_new(cs, "restartCount", json_integer(count + k)) ||
        json_object_set_new(cs, "lastState",
                            terminated_state(r.code, reason, restarted - dur, restarted)) ||
        json_object_set_new(cs, "state", running_state(restarted)))
        return -ENOMEM;
    return 0;
}

int kubelet_pod_advance(json_t *pod, int64_t now, int64_t *next_ns)
{
    *next_ns = 0;
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(objstate_status(pod), "containerStatuses"), i, cs) {
        int rc = advance_one(pod, cs, now, next_ns);
        if (rc < 0)
            return rc;
    }
    return settle(pod, now);
}

bool kubelet_pod_idle(const json_t *pod, int64_t now, int64_t *next_ns)
{
    *next_ns = 0;
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                       cs) {
        struct run r;
        if (!run_of(pod, cs, &r))
            continue;
        if (now >= r.ends)
            return false;
        if (*next_ns == 0 || r.ends < *next_ns)
            *next_ns = r.ends;
    }
    return is_settled(pod);
}

/* container's status in pod, or NULL. */
static json_t *container_status_of(json_t *pod, const char *container)
{
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(objstate_status(pod), "containerStatuses"), i, cs)
        if (str(cs, "name") && strcmp(str(cs, "name"), container) == 0)
            return cs;
    return NULL;
}

int kubelet_pod_fail_container(json_t *pod, const char *container, const char *reason,
                               const char *message, int64_t now)
{
    json_t *cs = container_status_of(pod, container);
    const json_t *running = json_object_get(json_object_get(cs, "state"), "running");
    if (!running)
        return 0;
    json_t *ended = terminated_state(1, reason, time_of(json_object_get(running, "startedAt")),
                                     now);
    if (!ended)
        return -ENOMEM;
    jdoc_set(json_object_get(ended, "terminated"), "message", json_string(message));
    if (restarts(pod, 1)) {
        json_int_t count = json_integer_value(json_object_get(cs, "restartCount"));
        if (json_object_set_new(cs, "restartCount", json_integer(count + 1)) ||
            json_object_set_new(cs, "lastState", ended) ||
            json_object_set_new(cs, "state", running_state(now)))
            return -ENOMEM;
    } else {
        jdoc_set(cs, "ready", json_false());
        jdoc_set(cs, "started", json_false());
        if (json_object_set_new(cs, "state", ended))
            return -ENOMEM;
    }
    return settle(pod, now);
}

static json_t *make_unknown(const json_t *c, const void *arg)
{
    (void)c;
    return terminated_state(KUBELET_EXIT_KILLED, "ContainerStatusUnknown", 0,
                            *(const int64_t *)arg);
}

int kubelet_pod_stop(json_t *pod, int64_t now)
{
    size_t i;
    json_t *cs;
    /* A pod this kubelet never started has no container status yet. */
    if (json_array_size(json_object_get(objstate_status(pod), "containerStatuses")) == 0) {
        int rc = put(pod, "containerStatuses",
                     statuses(pod, NULL, "containers", make_unknown, &now));
        return rc == 0 ? settle(pod, now) : rc;
    }
    json_array_foreach(json_object_get(objstate_status(pod), "containerStatuses"), i, cs) {
        const json_t *state = json_object_get(cs, "state");
        const json_t *running = json_object_get(state, "running");
        json_t *next = NULL;
        if (running) {
            next = terminated_state(KUBELET_EXIT_KILLED, "Error",
                                    time_of(json_object_get(running, "startedAt")), now);
        } else if (!json_object_get(state, "terminated")) {
            next = make_unknown(NULL, &now);
        } else {
            continue;
        }
        jdoc_set(cs, "ready", json_false());
        jdoc_set(cs, "started", json_false());
        if (!next || json_object_set_new(cs, "state", next) != 0)
            return -ENOMEM;
    }
    return settle(pod, now);
}
