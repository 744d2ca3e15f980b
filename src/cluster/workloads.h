/*
 * What the Deployment, ReplicaSet, StatefulSet and Job controllers share: the caches
 * they read, the pods an object controls, pods made from a template, and
 * expectations.
 *
 * Expectations are how a controller that creates or deletes pods avoids
 * doing it twice: after its writes, its next decision may come before the
 * pod cache shows them (an update of its own object re-queues it at once),
 * and counting from that cache would create the same pods again. So each
 * pod written is remembered until the cache shows it (created: present;
 * deleted: gone or being deleted) or a timeout passes, and meanwhile the
 * controller only updates status. This is client-go's
 * ControllerExpectations, kept per pod name instead of as counts so that
 * the check needs no hook into the informer.
 *
 * A workloads_owner is the frame of a controller that creates and deletes
 * pods for its objects (ReplicaSet, StatefulSet, Job): its loop, its expectations, and
 * the reconcile that looks the key's object up and hands it to decide.
 */
#ifndef GPUSLICE_CLUSTER_WORKLOADS_H
#define GPUSLICE_CLUSTER_WORKLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/clock.h"
#include "util/err.h"

#define WORKLOADS_EXPECT_TIMEOUT_NS (300 * NS_PER_SEC) /* client-go's five minutes */
#define WORKLOADS_BURST 500 /* pods created or deleted by one decision at most */

struct workloads_config {
    struct store *store;             /* not owned */
    struct informer *pods;           /* all pods, indexed OBJSTATE_INDEX_OWNER; not owned */
    struct informer *replicasets;    /* indexed OBJSTATE_INDEX_OWNER; not owned */
    struct informer *deployments;    /* not owned */
    struct informer *jobs;           /* not owned */
    struct informer *statefulsets;   /* not owned */
    clock_now_fn now_ns;             /* NULL: the real clock */
    void *clock_ctx;
};

struct workloads_expectations;

/* Empty expectations on the config's clock; the caller owns them. */
int workloads_expectations_new(const struct workloads_config *cfg,
                               struct workloads_expectations **out, struct err *e);

void workloads_expectations_free(struct workloads_expectations *x);

/* The pod write a (just executed for owner_key with outcome rc and stored
 * object result) is remembered when it was a pod created or deleted. The
 * shape of a reconciler's `executed` callback, minus self. */
void workloads_expectations_executed(struct workloads_expectations *x, const char *owner_key,
                                     const struct action *a, int rc, const json_t *result);

/* Whether owner_key (in namespace ns) still waits for the pod cache to
 * show one of its writes; forgets those it shows or that timed out. */
bool workloads_expecting(struct workloads_expectations *x, const char *owner_key, const char *ns);

/* Forgets everything about owner_key (its object is gone). */
void workloads_expectations_forget(struct workloads_expectations *x, const char *owner_key);

/* Remembers a (executed for owner_key with outcome rc) when it is a status
 * write that succeeded: the version it wrote over (its body's
 * resourceVersion), for workloads_status_behind. */
void workloads_expectations_status(struct workloads_expectations *x, const char *owner_key,
                                   const struct action *a, int rc);

/* Whether obj, owner_key's cached object, is still the version its last
 * status write (within WORKLOADS_EXPECT_TIMEOUT_NS) wrote over: any other
 * version is that write or later, as the write's precondition was that
 * one. Forgets the write once it is not. */
bool workloads_status_behind(struct workloads_expectations *x, const char *owner_key,
                             const json_t *obj);

/* The objects in inf whose controller has uid, indexed by owner: a new
 * array of read-only references, owned by the caller; NULL when out of
 * memory. */
json_t *workloads_controlled(struct informer *inf, const char *uid);

/* A pod for owner from template (a PodTemplateSpec): generateName
 * "<owner name>-", the template's labels plus extra_labels (may be NULL)
 * and annotations, owner as its controller (blockOwnerDeletion), and the
 * template's spec. A new reference, NULL when out of memory. */
json_t *workloads_pod_from_template(const json_t *owner, const json_t *template,
                                    const json_t *extra_labels);

struct workloads_owner;

/* What tells one workloads_owner from another. */
struct workloads_owner_def {
    const char *loop_name;      /* the loop's and Events' name: "job-controller" */
    const char *what;           /* messages' prefix: "job controller" */
    const char *group, *plural; /* the objects' resource (version v1) */
    /* Called for each object (not being deleted) a key names; now as the loop's. */
    int (*decide)(struct workloads_owner *o, const char *key, const json_t *obj, int64_t now,
                  struct action_list *out, struct err *e);
    /* Whether decisions wait (workloads_owner_pods' expecting) until the
     * cache shows the object's last status write: for a controller whose
     * status holds what the pods no longer say (the Job's counts). */
    bool waits_for_status;
    /* Optional: called for a key whose object is gone (obj NULL) or being
     * deleted, so that the controller lets go of what holds its pods. */
    int (*gone)(struct workloads_owner *o, const char *ns, const char *name, const json_t *obj,
                struct action_list *out, struct err *e);
};

struct workloads_owner {
    struct workloads_config cfg;
    const struct workloads_owner_def *def; /* static */
    struct informer *objects;              /* the def's objects, from cfg; not owned */
    const struct api_resource *pods_res, *res;
    struct workloads_expectations *expect;
    struct loop *loop;
};

/* Sets up o (zeroed, its memory the caller's) for def with cfg's store and
 * pods informer and objects (cfg's informer of def's resource): its
 * expectations and its idle loop. -EINVAL without them, -ENOENT when the
 * store serves no pods or no def resource. On failure o holds nothing. */
int workloads_owner_init(struct workloads_owner *o, const struct workloads_config *cfg,
                         struct informer *objects, const struct workloads_owner_def *def,
                         struct err *e);

/* Frees what o holds (not o); o may be zeroed. */
void workloads_owner_fini(struct workloads_owner *o);

/* The pods obj (the object key names) controls, as workloads_controlled
 * (NULL when out of memory), and in *expecting whether key still waits for
 * its pod writes (workloads_expecting) or, for a def that waits for its
 * status, for the cache to show its last status write. Expectations are asked first, as
 * client-go's controllers do: a pod the question found in the cache is in
 * the list read after it, whereas a list read first may miss a pod that the
 * cache shows by the time of the question, which then counts it as seen,
 * and the controller would create it again. */
json_t *workloads_owner_pods(struct workloads_owner *o, const char *key, const json_t *obj,
                             bool *expecting);

/* Writes obj's status with counts (an object of numbers, taken; NULL
 * counts as out of memory) and observedGeneration merged in, unless that
 * changes nothing (objstate_write_status). */
int workloads_write_counts(struct workloads_owner *o, const json_t *obj, json_t *counts,
                           struct action_list *out, struct err *e);

/* Enqueues into l the key "namespace/name" of obj (a handler's helper). */
void workloads_enqueue(struct loop *l, const json_t *obj);

/* Whether ref (an owner reference) names a kind of API group (its
 * apiVersion "group/version") called name (NULL: any name): a kind of the
 * same name in another group (a CRD's Job) is another controller's. */
bool workloads_ref_is(const json_t *ref, const char *group, const char *kind, const char *name);

/* Enqueues into l the key "namespace/name" of obj's controller when it is
 * a kind of group (workloads_ref_is; a handler's helper). */
void workloads_enqueue_controller(struct loop *l, const json_t *obj, const char *group,
                                  const char *kind);

#endif
