/*
 * What an emulated kubelet's container runtime does to a pod over time,
 * as pure edits of the pod's status: start it, fail to configure it, let
 * its containers run their course, stop it.
 *
 * A container runs for the seconds in the pod's annotation
 * gpuslice.dev/run-seconds (a decimal number, fractions allowed), else for
 * N seconds when its command and args are `sleep N`, else until the pod is
 * deleted; it exits with the code in gpuslice.dev/exit-code (default 0).
 * The restart policy decides what an exit means: Never keeps the container
 * terminated, OnFailure restarts it after a non-zero exit, Always restarts
 * it after any exit (restartCount + 1, lastState the run that ended;
 * restarts are immediate, without CrashLoopBackOff, and no faster than one
 * per second). The pod is Succeeded once every container exited 0 and
 * none restarts, Failed once all exited and one did not exit 0.
 *
 * Init containers run first and complete at once. Container times carry
 * microseconds (RFC 3339 with a fraction, which Kubernetes clients read),
 * so that a pod that runs 0.2 s in virtual time ends exactly then and a
 * restarted kubelet continues from the API state alone.
 */
#ifndef GPUSLICE_CLUSTER_KUBELET_POD_H
#define GPUSLICE_CLUSTER_KUBELET_POD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define KUBELET_ANNOTATION_RUN_SECONDS "gpuslice.dev/run-seconds"
#define KUBELET_ANNOTATION_EXIT_CODE "gpuslice.dev/exit-code"
#define KUBELET_EXIT_KILLED 137 /* 128 + SIGKILL: stopped at the end of its grace period */

/* How long container runs, in ns; -1 when it runs until stopped. */
int64_t kubelet_pod_duration_ns(const json_t *pod, const json_t *container);

/* Whether the pod's containers were started (any container running or
 * terminated). */
bool kubelet_pod_started(const json_t *pod);

/* Starts pod at now: init containers completed, every container running,
 * phase Running, Ready. pod is edited in place; -ENOMEM. */
int kubelet_pod_start(json_t *pod, const char *node, int64_t now);

/* Keeps pod Pending because container could not be configured: that
 * container waits with reason CreateContainerConfigError and message, the
 * others with ContainerCreating. -ENOMEM. */
int kubelet_pod_config_error(json_t *pod, const char *container, const char *message,
                             int64_t now);

/* Moves pod's running containers on to now (ends, restarts) and the phase
 * with them. *next_ns is when a running container will next exit (0:
 * none will by itself). -ENOMEM. */
int kubelet_pod_advance(json_t *pod, int64_t now, int64_t *next_ns);

/* Whether kubelet_pod_advance(pod, now) would change nothing: no running
 * container's run ends by now and the phase and conditions already say
 * what the containers' states do. *next_ns is then what it would set. */
bool kubelet_pod_idle(const json_t *pod, int64_t now, int64_t *next_ns);

/* Ends container's running run at now with exit code 1, reason and
 * message (what broke under it: its MPS daemon died), then settles the
 * phase; the restart policy decides whether it runs again at once
 * (restartCount + 1, lastState the failed run). A container not running
 * is left alone. -ENOMEM. */
int kubelet_pod_fail_container(json_t *pod, const char *container, const char *reason,
                               const char *message, int64_t now);

/* Stops pod at now: running containers are killed (exit
 * KUBELET_EXIT_KILLED), containers that never started are reported
 * ContainerStatusUnknown; the phase becomes terminal. -ENOMEM. */
int kubelet_pod_stop(json_t *pod, int64_t now);

#endif
