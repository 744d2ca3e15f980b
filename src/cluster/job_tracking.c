/*
 * The Job controller's counting of ended pods (see job_tracking.h).
 */
#include "cluster/job_tracking.h"

#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/jdoc.h"

enum pod_end { POD_RUNNING, POD_SUCCEEDED, POD_FAILED, POD_STOPPED };

static enum pod_end pod_end(const json_t *pod, bool stopping)
{
    const char *phase = objstate_phase(pod);
    if (strcmp(phase, "Succeeded") == 0)
        return POD_SUCCEEDED;
    if (strcmp(phase, "Failed") == 0)
        return POD_FAILED;
    if (!objstate_deleting(pod))
        return POD_RUNNING;
    return stopping ? POD_STOPPED : POD_FAILED;
}

static bool holds(const json_t *uids, const char *uid)
{
    size_t i;
    const json_t *u;
    json_array_foreach(uids, i, u) {
        if (json_is_string(u) && strcmp(json_string_value(u), uid) == 0)
            return true;
    }
    return false;
}

/* A copy of uncounted[key] (a new array; [] when absent). */
static json_t *recorded(const json_t *uncounted, const char *key)
{
    const json_t *v = json_object_get(uncounted, key);
    return json_is_array(v) ? json_copy((json_t *)v) : json_array();
}

/* Drops from uids those whose pod no longer holds the finalizer (they are
 * counted from now on); returns how many. */
static int64_t settle(json_t *uids, const json_t *holding)
{
    int64_t moved = 0;
    for (size_t i = json_array_size(uids); i-- > 0;) {
        const char *uid = json_string_value(json_array_get(uids, i));
        if (!uid || !json_object_get(holding, uid)) {
            json_array_remove(uids, i);
            moved++;
        }
    }
    return moved;
}

/* Adds moved to status[key] (absent: 0). */
static int add_count(json_t *status, const char *key, int64_t moved)
{
    int64_t n = json_integer_value(json_object_get(status, key)) + moved;
    return json_object_set_new(status, key, json_integer(n)) ? -ENOMEM : 0;
}

/* Records pod's end in succ or fail unless it is there already, and lists
 * it for release. */
static int record(const json_t *pod, enum pod_end end, json_t *succ, json_t *fail,
                  json_t *release)
{
    const char *uid = meta_uid(pod);
    json_t *into = end == POD_SUCCEEDED ? succ : end == POD_FAILED ? fail : NULL;
    if (into && !holds(succ, uid) && !holds(fail, uid) &&
        json_array_append_new(into, json_string(uid)) != 0)
        return -ENOMEM;
    return json_array_append(release, (json_t *)pod) ? -ENOMEM : 0;
}

/* Holding pods (uid -> pod, borrowed as the object's values). */
static json_t *holding_pods(const json_t *pods)
{
    json_t *holding = json_object();
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        const char *uid = meta_uid(pod);
        if (holding && uid && meta_has_finalizer(pod, JOB_TRACKING_FINALIZER) &&
            json_object_set(holding, uid, pod) != 0) {
            json_decref(holding);
            return NULL;
        }
    }
    return holding;
}

static int store_uncounted(json_t *status, json_t *succ, json_t *fail)
{
    json_t *unc = json_object();
    if (!unc || (json_array_size(succ) && json_object_set(unc, "succeeded", succ)) ||
        (json_array_size(fail) && json_object_set(unc, "failed", fail))) {
        json_decref(unc);
        return -ENOMEM;
    }
    return json_object_set_new(status, "uncountedTerminatedPods", unc) ? -ENOMEM : 0;
}

int job_tracking_update(json_t *copy, const json_t *pods, bool stopping, json_t **release,
                        struct job_counts *counts)
{
    json_t *status = objstate_status(copy);
    const json_t *unc = json_object_get(status, "uncountedTerminatedPods");
    json_t *succ = recorded(unc, "succeeded"), *fail = recorded(unc, "failed");
    json_t *holding = holding_pods(pods);
    json_t *out = json_array();
    int rc = status && succ && fail && holding && out ? 0 : -ENOMEM;
    if (rc == 0)
        rc = add_count(status, "succeeded", settle(succ, holding));
    if (rc == 0)
        rc = add_count(status, "failed", settle(fail, holding));
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        enum pod_end end = pod_end(pod, stopping);
        if (rc == 0 && end != POD_RUNNING && meta_uid(pod) &&
            meta_has_finalizer(pod, JOB_TRACKING_FINALIZER))
            rc = record(pod, end, succ, fail, out);
    }
    if (rc == 0)
        rc = store_uncounted(status, succ, fail);
    if (rc == 0) {
        counts->succeeded = json_integer_value(json_object_get(status, "succeeded")) +
                            (int64_t)json_array_size(succ);
        counts->failed = json_integer_value(json_object_get(status, "failed")) +
                         (int64_t)json_array_size(fail);
        *release = out;
    } else {
        json_decref(out);
    }
    json_decref(succ);
    json_decref(fail);
    json_decref(holding);
    return rc;
}

int job_tracking_release_pod(struct action_list *out, const struct api_resource *pods_res,
                             const json_t *pod, struct err *e)
{
    if (!meta_has_finalizer(pod, JOB_TRACKING_FINALIZER))
        return 0;
    json_t *copy = jdoc_copy(pod);
    if (!copy)
        return err_set(e, -ENOMEM, "job controller: out of memory");
    meta_remove_finalizer(copy, JOB_TRACKING_FINALIZER);
    return action_update(out, pods_res, copy, e);
}

int job_tracking_release(struct action_list *out, const struct api_resource *pods_res,
                         const json_t *pods, struct err *e)
{
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        int rc = job_tracking_release_pod(out, pods_res, pod, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}
