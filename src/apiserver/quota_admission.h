/*
 * ResourceQuota admission for the embedded API server, as kube-apiserver's
 * ResourceQuota plugin does it: after the mutating webhooks (so a pod is
 * charged for what gpuslice's webhook rewrote its slice requests into,
 * gpuslice.dev/accelerator-memory) and before the object is stored, every
 * ResourceQuota of the namespace whose scopes cover the object is charged
 * what it uses (api/quota.h) by an update of its status.used guarded by
 * the resourceVersion it was read at. A conflict reads it again and checks
 * again, so two creates racing for the last unit cannot both pass: the
 * second sees the first's charge or fails to write. A request a quota has
 * no room for is refused with 403 Forbidden and kube-apiserver's message,
 *   pods "NAME" is forbidden: exceeded quota: QUOTA, requested: R=V,
 *   used: R=V, limited: R=V
 * and the quotas charged before it are given back. A charge whose write
 * then fails is given back too (kube-apiserver leaves that to its quota
 * controller's next recount). Dry runs check and charge nothing. The
 * quota's status (hard, used) must have been filled by the quota
 * controller (cluster/quota.h): a resource it constrains with no used yet
 * refuses ("status unknown for quota"), as in Kubernetes.
 */
#ifndef GPUSLICE_APISERVER_QUOTA_ADMISSION_H
#define GPUSLICE_APISERVER_QUOTA_ADMISSION_H

#include <stdbool.h>

#include <jansson.h>

#include "store/store.h"
#include "util/err.h"

/* How many times a charge is tried against a quota that others keep
 * changing before the request fails (429). */
#define QUOTA_ADMISSION_ATTEMPTS 1000

/* What one request charged, to give back if its write fails. */
struct quota_charges;

/* Charges the quotas of ns for obj of res (replaces: in an update, the name
 * of the object it replaces, charged only for what grew, read from st only
 * when a quota of ns counts res: most updates pay no read; NULL for a
 * create; an update of an object st no longer has charges nothing, the
 * update itself says what is wrong). On success
 * *out (may be NULL when nothing was charged) is the caller's, released
 * with quota_charges_keep or quota_refund. -EPERM with the message above
 * when a quota has no room (nothing stays charged), -EAGAIN when the
 * charge kept conflicting, or the store's failure. */
int quota_admit(struct store *st, const struct api_resource *res, const char *ns,
                const char *replaces, const json_t *obj, bool dry_run,
                struct quota_charges **out, struct err *e);

/* The write went through: keeps the charges, frees c (may be NULL). */
void quota_charges_keep(struct quota_charges *c);

/* The write failed: gives every charge back (best effort: a quota that
 * went away meanwhile is skipped) and frees c (may be NULL). */
void quota_refund(struct store *st, struct quota_charges *c);

#endif
