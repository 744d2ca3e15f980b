/*
 * Reading and building Leases (lease.h).
 */
#include "api/lease.h"

#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "util/clock.h"

static int read_time(const json_t *spec, const char *key, int64_t *ns, struct err *e)
{
    const json_t *v = json_object_get(spec, key);
    if (!v || json_is_null(v))
        return 0;
    char field[48];
    snprintf(field, sizeof field, "spec.%s", key);
    return meta_parse_time(json_string_value(v), field, ns, e);
}

static int read_count(const json_t *spec, const char *key, int64_t *out, struct err *e)
{
    const json_t *v = json_object_get(spec, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return err_set(e, -EINVAL, "spec.%s: Invalid value: must be a number >= 0", key);
    *out = json_integer_value(v);
    return 0;
}

int lease_read(const json_t *lease, struct lease_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(lease);
    v->ns = meta_namespace(lease);
    const json_t *spec = json_object_get(lease, "spec");
    if (spec && !json_is_object(spec))
        return err_set(e, -EINVAL, "spec: Invalid value: must be an object");
    const json_t *holder = json_object_get(spec, "holderIdentity");
    if (holder && !json_is_null(holder) && !json_is_string(holder))
        return err_set(e, -EINVAL, "spec.holderIdentity: Invalid value: must be a string");
    v->holder = json_is_string(holder) ? json_string_value(holder) : "";
    if (read_count(spec, "leaseDurationSeconds", &v->duration_s, e) ||
        read_count(spec, "leaseTransitions", &v->transitions, e) ||
        read_time(spec, "acquireTime", &v->acquire_ns, e) ||
        read_time(spec, "renewTime", &v->renew_ns, e))
        return -EINVAL;
    return 0;
}

json_t *lease_new(const char *ns, const char *name, const char *holder, int64_t duration_s,
                  int64_t now_ns)
{
    char t[META_MICROTIME_LEN];
    meta_format_microtime(now_ns, t);
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}", "apiVersion",
                     "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name,
                     "namespace", ns, "spec", "holderIdentity", holder, "leaseDurationSeconds",
                     (json_int_t)duration_s, "acquireTime", t, "renewTime", t,
                     "leaseTransitions", 0);
}

bool lease_expired(const struct lease_view *v, int64_t now_ns)
{
    if (!*v->holder)
        return true;
    int64_t last = v->renew_ns ? v->renew_ns : v->acquire_ns;
    return now_ns - last > v->duration_s * NS_PER_SEC;
}
