/*
 * Lease-based leader election (see leader.h). Expiry is judged only from
 * when this replica saw the lease record change, on its own clock.
 */
#include "reconcile/leader.h"

#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "util/clock.h"
#include "util/jdoc.h"

int leader_init(struct leader *l, const struct leader_config *cfg, struct err *e)
{
    memset(l, 0, sizeof *l);
    size_t len = cfg->identity ? strlen(cfg->identity) : 0;
    if (len == 0 || len >= LEADER_IDENTITY_MAX)
        return err_set(e, -EINVAL, "leader election: identity must be 1 to %d bytes",
                       LEADER_IDENTITY_MAX - 1);
    if (!(0 < cfg->retry_ns && cfg->retry_ns < cfg->renew_deadline_ns &&
          cfg->renew_deadline_ns < cfg->lease_ns))
        return err_set(e, -EINVAL, "leader election: need 0 < retry period < renew deadline "
                                   "< lease duration");
    l->cfg = *cfg;
    return 0;
}

static const char *spec_string(const json_t *lease, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(lease, "spec"), key));
    return s ? s : "";
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Notes the lease record; a change restarts the expiry clock. */
static void observe(struct leader *l, const json_t *lease, int64_t now_ns)
{
    const char *holder = spec_string(lease, "holderIdentity");
    const char *renew = spec_string(lease, "renewTime");
    const char *rv = meta_resource_version(lease);
    if (!l->seen_any || l->seen_absent || strcmp(holder, l->seen_holder) != 0 ||
        strcmp(renew, l->seen_renew) != 0) {
        copy_field(l->seen_holder, sizeof l->seen_holder, holder);
        copy_field(l->seen_renew, sizeof l->seen_renew, renew);
        l->seen_at_ns = now_ns;
        l->seen_any = true;
        l->seen_absent = false;
    }
    copy_field(l->seen_rv, sizeof l->seen_rv, rv);
}

/* Whether a replica that found no lease may create one now. The leader
 * may (nobody else will for a lease duration), and so may a replica that
 * never saw a held one. Any other waits as for a silent record: the old
 * leader may still act on its last renewal for up to the renew deadline. */
static bool may_create(struct leader *l, int64_t now_ns)
{
    if (l->leading || !l->seen_any || !l->seen_holder[0])
        return true;
    if (!l->seen_absent) {
        l->seen_absent = true;
        l->seen_at_ns = now_ns;
    }
    return now_ns - l->seen_at_ns >= l->cfg.lease_ns;
}

static json_t *new_lease(const struct leader *l, const char *ns, const char *name,
                         const char *now)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}",
                     "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                     "metadata", "name", name, "namespace", ns,
                     "spec", "holderIdentity", l->cfg.identity,
                     "leaseDurationSeconds", (json_int_t)(l->cfg.lease_ns / NS_PER_SEC),
                     "acquireTime", now, "renewTime", now, "leaseTransitions", 0);
}

/* The read lease with this replica as holder: a renewal keeps acquireTime,
 * a takeover sets it and counts a transition. */
static json_t *claimed(const struct leader *l, const json_t *lease, bool takeover,
                       const char *now)
{
    json_t *w = jdoc_copy(lease);
    json_t *spec = w ? json_object_get(w, "spec") : NULL;
    if (w && !json_is_object(spec)) {
        spec = json_object();
        jdoc_set(w, "spec", spec);
    }
    if (!spec) {
        json_decref(w);
        return NULL;
    }
    jdoc_set(spec, "holderIdentity", json_string(l->cfg.identity));
    jdoc_set(spec, "leaseDurationSeconds",
                        json_integer(l->cfg.lease_ns / NS_PER_SEC));
    jdoc_set(spec, "renewTime", json_string(now));
    if (takeover) {
        json_int_t n = json_integer_value(json_object_get(spec, "leaseTransitions"));
        jdoc_set(spec, "acquireTime", json_string(now));
        jdoc_set(spec, "leaseTransitions", json_integer(n + 1));
    }
    return w;
}

int leader_step(struct leader *l, const json_t *lease, const char *ns, const char *name,
                int64_t now_ns, int64_t wall_ns, json_t **write, struct err *e)
{
    *write = NULL;
    if (l->leading && now_ns - l->last_renew_ns > l->cfg.renew_deadline_ns)
        l->leading = false;
    char now[META_MICROTIME_LEN];
    meta_format_microtime(wall_ns, now);
    if (!lease) {
        if (!may_create(l, now_ns))
            return 0;
        *write = new_lease(l, ns, name, now);
        return *write ? 0 : err_set(e, -ENOMEM, "leader election: out of memory");
    }
    observe(l, lease, now_ns);
    const char *holder = spec_string(lease, "holderIdentity");
    bool mine = strcmp(holder, l->cfg.identity) == 0;
    bool expired = !*holder || now_ns - l->seen_at_ns >= l->cfg.lease_ns;
    if (!mine)
        l->leading = false;
    if (!mine && !expired)
        return 0;
    *write = claimed(l, lease, !mine, now);
    return *write ? 0 : err_set(e, -ENOMEM, "leader election: out of memory");
}

void leader_written(struct leader *l, int rc, const json_t *stored, int64_t now_ns)
{
    if (rc < 0 || !stored)
        return;
    observe(l, stored, now_ns);
    if (strcmp(spec_string(stored, "holderIdentity"), l->cfg.identity) == 0) {
        l->leading = true;
        l->last_renew_ns = now_ns;
    }
}

bool leader_is_leading(const struct leader *l, int64_t now_ns)
{
    return l->leading && now_ns - l->last_renew_ns <= l->cfg.renew_deadline_ns;
}

int64_t leader_next_step(const struct leader *l, int64_t now_ns)
{
    return now_ns + l->cfg.retry_ns;
}
