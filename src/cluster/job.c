/*
 * The Job controller's reconciler (see job.h).
 */
#include "cluster/job.h"

#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/job_tracking.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/jdoc.h"

struct job_controller {
    struct workloads_owner w;
};

/* What the Job's pods say (succeeded and failed: job_tracking's counts). */
struct tally {
    json_t *active; /* borrowed from the controlled pods */
    int64_t succeeded, failed, ready, restarts;
    bool expecting; /* pods written that the cache does not show yet: create none */
};

static int64_t restarts_of(const json_t *pod)
{
    int64_t n = 0;
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                       cs)
        n += json_integer_value(json_object_get(cs, "restartCount"));
    return n;
}

static int tally_pods(const json_t *pods, bool on_failure, struct tally *t)
{
    memset(t, 0, sizeof *t);
    t->active = json_array();
    if (!t->active)
        return -ENOMEM;
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (objstate_active(pod) && json_array_append(t->active, pod) != 0)
            return -ENOMEM;
        if (objstate_active(pod)) {
            t->ready += objstate_ready(pod);
            if (on_failure)
                t->restarts += restarts_of(pod);
        }
    }
    return 0;
}

/* Deletes the running pods of a Job that stops them (finished, failed or
 * suspended), each one's finalizer removed just before, in the same
 * decision, as Kubernetes' controller does: the pod then counts nowhere,
 * whatever phase the kubelet gives it as it stops (one that reached Failed
 * before a decision saw the Job stopping counted as a failure, and
 * suspending and resuming could reach the backoffLimit). The removal's
 * precondition stops the decision on a pod that changed since the cache
 * (it may have ended on its own: the next decision counts it); each
 * removal goes right before its delete, so a decision stopped midway
 * leaves no running pod without its finalizer. */
static int delete_active(struct workloads_owner *o, const struct tally *t,
                         struct action_list *out, struct err *e)
{
    size_t i;
    const json_t *pod;
    json_array_foreach(t->active, i, pod) {
        int rc = job_tracking_release_pod(out, o->pods_res, pod, e);
        if (rc == 0)
            rc = action_delete(out, o->pods_res, meta_namespace(pod), meta_name(pod),
                               meta_uid(pod), e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int create_pods(struct workloads_owner *o, const json_t *job, int64_t n,
                       struct action_list *out, struct err *e)
{
    const json_t *template = json_object_get(json_object_get(job, "spec"), "template");
    if (!json_is_object(json_object_get(template, "spec")))
        return action_event(out, job, ACTION_EVENT_WARNING, "FailedCreate", e,
                            "Error creating: spec.template.spec: Required value");
    const char *name = meta_name(job), *uid = meta_uid(job);
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "job-name", name,
                               "batch.kubernetes.io/job-name", name, "controller-uid",
                               uid ? uid : "", "batch.kubernetes.io/controller-uid",
                               uid ? uid : "");
    int rc = labels ? 0 : err_set(e, -ENOMEM, "job controller: out of memory");
    for (int64_t i = 0; rc == 0 && i < n && i < WORKLOADS_BURST; i++) {
        json_t *pod = workloads_pod_from_template(job, template, labels);
        if (pod)
            meta_add_finalizer(pod, JOB_TRACKING_FINALIZER);
        rc = pod ? action_create(out, o->pods_res, meta_namespace(job), pod, e)
                 : err_set(e, -ENOMEM, "job controller: out of memory");
        if (rc == 0)
            rc = action_event(out, job, ACTION_EVENT_NORMAL, "SuccessfulCreate", e,
                              "Created pod for job %s", name);
    }
    json_decref(labels);
    return rc;
}

static int set_time(json_t *job, const char *key, int64_t now)
{
    char t[META_TIME_LEN];
    meta_format_time(now, t);
    json_t *status = objstate_status(job);
    return !status || json_object_set_new(status, key, json_string(t)) ? -ENOMEM : 0;
}

/* 0, or the failure (objstate's bare -ENOMEM given its message). */
static int outcome(int rc, struct err *e)
{
    if (rc == -ENOMEM && (!e || e->code != -ENOMEM))
        return err_set(e, rc, "job controller: out of memory");
    return rc < 0 ? rc : 0;
}

/* Runs the pods the Job is short of; edits copy's status. */
static int run(struct workloads_owner *o, const json_t *job, json_t *copy,
               const struct tally *t, int64_t now, struct action_list *out, struct err *e)
{
    int64_t completions = objstate_int(job, "spec.completions", 1);
    int64_t parallelism = objstate_int(job, "spec.parallelism", 1);
    int rc = 0;
    if (objstate_condition_true(job, "Suspended"))
        rc = objstate_set_condition(copy, "Suspended", "False", "JobResumed", "Job resumed", now);
    if (rc >= 0 && !json_object_get(objstate_status(copy), "startTime"))
        rc = set_time(copy, "startTime", now);
    int64_t left = completions - t->succeeded;
    int64_t more = (parallelism < left ? parallelism : left) - (int64_t)json_array_size(t->active);
    if (rc >= 0 && more > 0 && !t->expecting)
        rc = create_pods(o, job, more, out, e);
    return outcome(rc, e);
}

/* How a Job stops running pods: its condition, and the Event that says so
 * (none for a pause). */
struct ending {
    const char *type, *reason, *message;
    bool complete;                 /* sets completionTime */
    const char *event_reason, *event_message;
    enum action_event_type event_type;
};

static const struct ending job_failed = {
    "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", false,
    "BackoffLimitExceeded", "Job has reached the specified backoff limit", ACTION_EVENT_WARNING};
static const struct ending job_complete = {
    "Complete", "CompletionsReached", "Reached expected number of succeeded pods", true,
    "Completed", "Job completed", ACTION_EVENT_NORMAL};
static const struct ending job_suspended = {
    "Suspended", "JobSuspended", "Job suspended", false, NULL, NULL, ACTION_EVENT_NORMAL};

/* Ends (or pauses) the Job as how says: its running pods are deleted. */
static int stop(struct workloads_owner *o, const json_t *job, json_t *copy, const struct tally *t,
                const struct ending *how, int64_t now, struct action_list *out, struct err *e)
{
    int rc = objstate_set_condition(copy, how->type, "True", how->reason, how->message, now);
    if (rc >= 0 && how->complete)
        rc = set_time(copy, "completionTime", now);
    if (rc >= 0 && how->event_reason)
        rc = action_event(out, job, how->event_type, how->event_reason, e, "%s",
                          how->event_message);
    if (rc >= 0)
        rc = delete_active(o, t, out, e);
    if (rc >= 0 && json_object_set_new(objstate_status(copy), "active", json_integer(0)) != 0)
        rc = -ENOMEM;
    return outcome(rc, e);
}

/* The Job's end, its pause, or its next pods. */
static int step(struct workloads_owner *o, const json_t *job, json_t *copy,
                const struct tally *t, int64_t now, struct action_list *out, struct err *e)
{
    if (t->failed + t->restarts > objstate_int(job, "spec.backoffLimit", 6))
        return stop(o, job, copy, t, &job_failed, now, out, e);
    if (t->succeeded >= objstate_int(job, "spec.completions", 1))
        return stop(o, job, copy, t, &job_complete, now, out, e);
    if (json_is_true(json_object_get(json_object_get(job, "spec"), "suspend")))
        return stop(o, job, copy, t, &job_suspended, now, out, e);
    return run(o, job, copy, t, now, out, e);
}

static bool finished(const json_t *job)
{
    return objstate_condition_true(job, "Complete") || objstate_condition_true(job, "Failed");
}

/* The Job's pods counted (job_tracking) and looked at; the pods whose
 * finalizer may go into *release. */
static int tally_job(const json_t *job, json_t *copy, const json_t *pods, struct tally *t,
                     json_t **release)
{
    const json_t *tspec = json_object_get(json_object_get(json_object_get(job, "spec"),
                                                          "template"), "spec");
    const char *policy = json_string_value(json_object_get(tspec, "restartPolicy"));
    bool stopping = finished(job) ||
                    json_is_true(json_object_get(json_object_get(job, "spec"), "suspend"));
    struct job_counts counts;
    json_t *status = objstate_status(copy);
    if (!status || tally_pods(pods, policy && !strcmp(policy, "OnFailure"), t) != 0 ||
        job_tracking_update(copy, pods, stopping, release, &counts) != 0)
        return -ENOMEM;
    t->succeeded = counts.succeeded;
    t->failed = counts.failed;
    if (json_object_set_new(status, "active", json_integer(json_array_size(t->active))) ||
        json_object_set_new(status, "ready", json_integer(t->ready)))
        return -ENOMEM;
    return 0;
}

/* The status (uncounted uids recorded) goes out before the finalizers of
 * the pods they name: job_tracking.h says why. */
static int decide(struct workloads_owner *o, const char *key, const json_t *job, int64_t now,
                  struct action_list *out, struct err *e)
{
    bool expecting;
    json_t *pods = workloads_owner_pods(o, key, job, &expecting);
    json_t *copy = jdoc_copy(job), *release = NULL;
    struct tally t = {0};
    int rc = pods && copy && tally_job(job, copy, pods, &t, &release) == 0
                 ? 0
                 : err_set(e, -ENOMEM, "job controller: out of memory");
    t.expecting = expecting;
    if (rc == 0)
        rc = finished(job) ? delete_active(o, &t, out, e) : step(o, job, copy, &t, now, out, e);
    if (rc == 0)
        rc = objstate_write_status(out, o->res, job, copy, e);
    else
        json_decref(copy);
    if (rc == 0)
        rc = job_tracking_release(out, o->pods_res, release, e);
    json_decref(release);
    json_decref(t.active);
    json_decref(pods);
    return rc;
}

/* A Job deleted (obj NULL) or being deleted lets go of its pods: their
 * finalizers go, counted or not, or they would stay in the store for good. */
static int gone(struct workloads_owner *o, const char *ns, const char *name, const json_t *obj,
                struct action_list *out, struct err *e)
{
    json_t *pods = obj ? workloads_controlled(o->cfg.pods, meta_uid(obj))
                       : informer_list(o->cfg.pods, ns);
    json_t *mine = json_array();
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (mine &&
            (obj || workloads_ref_is(meta_controller_ref(pod), o->def->group, "Job", name)) &&
            json_array_append(mine, pod) != 0) {
            json_decref(mine);
            mine = NULL;
        }
    }
    int rc = pods && mine ? job_tracking_release(out, o->pods_res, mine, e)
                          : err_set(e, -ENOMEM, "job controller: out of memory");
    json_decref(mine);
    json_decref(pods);
    return rc;
}

static const struct workloads_owner_def job_def = {
    .loop_name = "job-controller",
    .what = "job controller",
    .group = "batch",
    .plural = "jobs",
    .decide = decide,
    .waits_for_status = true, /* the counts are in the status (job_tracking.h) */
    .gone = gone,
};

void job_changed(void *ctx, enum informer_change change, const json_t *old, const json_t *cur)
{
    struct job_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue(c->w.loop, cur);
}

void job_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur)
{
    struct job_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue_controller(c->w.loop, cur, "batch", "Job");
}

int job_controller_new(const struct workloads_config *cfg, struct job_controller **out,
                       struct err *e)
{
    struct job_controller *c = alloc_calloc(1, sizeof *c);
    int rc = workloads_owner_init(&c->w, cfg, cfg->jobs, &job_def, e);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void job_controller_free(struct job_controller *c)
{
    if (!c)
        return;
    workloads_owner_fini(&c->w);
    free(c);
}

struct loop *job_controller_loop(struct job_controller *c)
{
    return c->w.loop;
}
