/*
 * The backend-independent half of device.h: opening a backend by name, the
 * wrappers every caller goes through, and the one NVML-to-code table.
 *
 * The wrappers check what every backend would otherwise check again (null
 * pointers, a request without a profile), clear the output, and put the
 * backend's name in front of its message, so that a backend only says what
 * went wrong in its own terms.
 */
#include "device/device.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/emulated.h"
#include "device/nvml.h"

static int open_emulated(const char *spec, struct device **out, struct err *e)
{
    struct emulated_config cfg;
    int rc = emulated_config_parse(spec, &cfg, e);
    if (rc < 0)
        return rc;
    return emulated_open(&cfg, out, e);
}

static int open_nvml(const char *spec, struct device **out, struct err *e)
{
    struct nvml_config cfg;
    int rc = nvml_config_parse(spec, &cfg, e);
    if (rc < 0)
        return rc;
    return nvml_open(&cfg, out, e);
}

static const struct {
    const char *name;
    int (*open)(const char *spec, struct device **out, struct err *e);
} backends[] = {
    {"emulated", open_emulated},
    {"nvml", open_nvml},
};

int device_open(const char *what, struct device **out, struct err *e)
{
    if (!out)
        return err_set(e, -EINVAL, "device_open: no place for the device");
    *out = NULL;
    if (!what)
        return err_set(e, -EINVAL, "device_open: no backend named");
    const char *colon = strchr(what, ':');
    size_t len = colon ? (size_t)(colon - what) : strlen(what);
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strlen(backends[i].name) == len && strncmp(backends[i].name, what, len) == 0)
            return backends[i].open(colon ? colon + 1 : "", out, e);
    return err_set(e, -EINVAL, "unknown device backend \"%.*s\" (known: emulated, nvml)", (int)len,
                   what);
}

/* Puts "<backend>: " in front of a backend's failure. */
static int failed(const struct device *d, int rc, struct err *e)
{
    return rc < 0 ? err_prefix(e, rc, "%s: ", d->ops->name) : rc;
}

static int check_ref(const struct device_slice_ref *ref, const char *call, struct err *e)
{
    if (!ref)
        return err_set(e, -EINVAL, "%s: no slice named", call);
    if (!ref->profile || !ref->profile[0])
        return err_set(e, -EINVAL, "%s: no profile named", call);
    return 0;
}

int device_discover(struct device *d, struct device_inventory *inv, uint64_t *took_ns,
                    struct err *e)
{
    uint64_t took = 0;
    if (took_ns)
        *took_ns = 0;
    if (!d || !inv)
        return err_set(e, -EINVAL, "device_discover: no device or inventory");
    memset(inv, 0, sizeof *inv);
    int rc = d->ops->discover(d->impl, inv, &took, e);
    if (took_ns)
        *took_ns = took;
    return failed(d, rc, e);
}

int device_create_slice(struct device *d, const struct device_slice_ref *ref,
                        struct device_slice *out, uint64_t *took_ns, struct err *e)
{
    uint64_t took = 0;
    struct device_slice ignored;
    if (took_ns)
        *took_ns = 0;
    if (!d)
        return err_set(e, -EINVAL, "device_create_slice: no device");
    int rc = check_ref(ref, "create", e);
    if (rc < 0)
        return failed(d, rc, e);
    if (!out)
        out = &ignored;
    memset(out, 0, sizeof *out);
    rc = d->ops->create(d->impl, ref, out, &took, e);
    if (took_ns)
        *took_ns = took;
    return failed(d, rc, e);
}

int device_destroy_slice(struct device *d, const struct device_slice_ref *ref,
                         uint64_t *took_ns, struct err *e)
{
    uint64_t took = 0;
    if (took_ns)
        *took_ns = 0;
    if (!d)
        return err_set(e, -EINVAL, "device_destroy_slice: no device");
    int rc = check_ref(ref, "destroy", e);
    if (rc < 0)
        return failed(d, rc, e);
    rc = d->ops->destroy(d->impl, ref, &took, e);
    if (took_ns)
        *took_ns = took;
    return failed(d, rc, e);
}

int device_list_slices(struct device *d, struct device_slices *out, uint64_t *took_ns,
                       struct err *e)
{
    uint64_t took = 0;
    if (took_ns)
        *took_ns = 0;
    if (!d || !out)
        return err_set(e, -EINVAL, "device_list_slices: no device or list");
    out->n = 0;
    int rc = d->ops->list(d->impl, out, &took, e);
    if (took_ns)
        *took_ns = took;
    return failed(d, rc, e);
}

int device_boot_id(struct device *d, char out[DEVICE_BOOT_ID_MAX], struct err *e)
{
    if (!d || !out)
        return err_set(e, -EINVAL, "device_boot_id: no device or buffer");
    out[0] = '\0';
    return failed(d, d->ops->boot_id(d->impl, out, e), e);
}

int device_changes(struct device *d, uint64_t *out, struct err *e)
{
    if (!d || !out)
        return err_set(e, -EINVAL, "device_changes: no device or count");
    if (!d->ops->changes)
        return err_set(e, -ENOTSUP, "%s: no count of changes", d->ops->name);
    return failed(d, d->ops->changes(d->impl, out), e);
}

void device_set_clock(struct device *d, clock_now_fn now_ns, void *clock_ctx)
{
    if (d && d->ops->set_clock)
        d->ops->set_clock(d->impl, now_ns, clock_ctx);
}

/* ---- MPS control daemons ---- */

int device_set_mps(struct device *d, const char *root, const char *control, struct err *e)
{
    if (!d)
        return err_set(e, -EINVAL, "device_set_mps: no device");
    struct device_mps *m = &d->mps;
    int a = snprintf(m->root, sizeof m->root, "%s", root ? root : "");
    int b = snprintf(m->control, sizeof m->control, "%s", control ? control : "");
    if ((size_t)a >= sizeof m->root || (size_t)b >= sizeof m->control)
        return err_set(e, -EINVAL, "device: the MPS root or control program is longer than %d",
                       MPS_PATH_MAX - 1);
    m->program = control != NULL;
    m->cfg = (struct mps_config){.control = m->control[0] ? m->control : NULL,
                                 .root = m->root[0] ? m->root : NULL};
    return 0;
}

/* Whether d's own model answers for its daemons (else the control program). */
static bool models_mps(const struct device *d)
{
    return d->ops->mps_start && !d->mps.program;
}

static int check_mps(const struct device *d, const char *gpu_uuid, const char *call,
                     struct err *e)
{
    if (!d || !gpu_uuid)
        return err_set(e, -EINVAL, "%s: no device or GPU", call);
    return 0;
}

int device_mps_alive(struct device *d, const char *gpu_uuid, bool *alive, struct err *e)
{
    int rc = check_mps(d, gpu_uuid, "device_mps_alive", e);
    if (rc < 0 || !alive)
        return rc < 0 ? rc : err_set(e, -EINVAL, "device_mps_alive: no answer wanted");
    *alive = false;
    if (!models_mps(d))
        return failed(d, mps_daemon_alive(&d->mps.cfg, gpu_uuid, alive, e), e);
    return failed(d, d->ops->mps_alive(d->impl, gpu_uuid, alive, e), e);
}

int device_mps_ensure(struct device *d, const char *gpu_uuid, bool *started, struct err *e)
{
    if (started)
        *started = false;
    int rc = check_mps(d, gpu_uuid, "device_mps_ensure", e);
    if (rc < 0)
        return rc;
    if (!models_mps(d))
        return failed(d, mps_daemon_ensure(&d->mps.cfg, gpu_uuid, started, e), e);
    bool alive = false;
    rc = d->ops->mps_alive(d->impl, gpu_uuid, &alive, e);
    if (rc == 0 && !alive)
        rc = d->ops->mps_start(d->impl, gpu_uuid, e);
    if (rc == 0 && !alive && started)
        *started = true;
    return failed(d, rc, e);
}

int device_mps_stop(struct device *d, const char *gpu_uuid, struct err *e)
{
    int rc = check_mps(d, gpu_uuid, "device_mps_stop", e);
    if (rc < 0)
        return rc;
    if (!models_mps(d))
        return failed(d, mps_daemon_stop(&d->mps.cfg, gpu_uuid, e), e);
    return failed(d, d->ops->mps_stop(d->impl, gpu_uuid, e), e);
}

int device_mps_client_env(const struct device *d, const char *gpu_uuid, unsigned mem_gib,
                          unsigned sm_percent, struct mps_client_env *out, struct err *e)
{
    int rc = check_mps(d, gpu_uuid, "device_mps_client_env", e);
    if (rc < 0 || !out)
        return rc < 0 ? rc : err_set(e, -EINVAL, "device_mps_client_env: no place for it");
    return mps_client_env(&d->mps.cfg, gpu_uuid, mem_gib, sm_percent, out, e);
}

void device_close(struct device *d)
{
    if (!d)
        return;
    d->ops->close(d->impl);
    free(d);
}

int device_code_from_nvml(unsigned nvml_return)
{
    switch (nvml_return) {
    case DEVICE_NVML_SUCCESS:
        return 0;
    case DEVICE_NVML_INSUFFICIENT_RESOURCES:
        return -ENOSPC;
    case DEVICE_NVML_IN_USE:
        return -EBUSY;
    case DEVICE_NVML_INVALID_ARGUMENT:
        return -EINVAL;
    case DEVICE_NVML_NOT_SUPPORTED:
        return -ENOTSUP;
    case DEVICE_NVML_NO_PERMISSION:
        return -EPERM;
    case DEVICE_NVML_GPU_IS_LOST:
    case DEVICE_NVML_GPU_NOT_FOUND:
        return -ENODEV;
    case DEVICE_NVML_NOT_FOUND:
        return -ENOENT;
    case DEVICE_NVML_TIMEOUT:
        return -ETIMEDOUT;
    case DEVICE_NVML_NOT_READY:
    case DEVICE_NVML_INVALID_STATE:
        return -EAGAIN;
    case DEVICE_NVML_MEMORY:
        return -ENOMEM;
    case DEVICE_NVML_UNINITIALIZED:
    case DEVICE_NVML_DRIVER_NOT_LOADED:
    case DEVICE_NVML_LIBRARY_NOT_FOUND:
    case DEVICE_NVML_FUNCTION_NOT_FOUND:
    case DEVICE_NVML_LIB_RM_VERSION_MISMATCH:
        return -ENOSYS;
    case DEVICE_NVML_INSUFFICIENT_SIZE:
        return -E2BIG;
    default:
        return -EIO;
    }
}

const char *device_nvml_return_name(unsigned nvml_return)
{
    static const char *const names[] = {
        [DEVICE_NVML_SUCCESS] = "NVML_SUCCESS",
        [DEVICE_NVML_UNINITIALIZED] = "NVML_ERROR_UNINITIALIZED",
        [DEVICE_NVML_INVALID_ARGUMENT] = "NVML_ERROR_INVALID_ARGUMENT",
        [DEVICE_NVML_NOT_SUPPORTED] = "NVML_ERROR_NOT_SUPPORTED",
        [DEVICE_NVML_NO_PERMISSION] = "NVML_ERROR_NO_PERMISSION",
        [DEVICE_NVML_ALREADY_INITIALIZED] = "NVML_ERROR_ALREADY_INITIALIZED",
        [DEVICE_NVML_NOT_FOUND] = "NVML_ERROR_NOT_FOUND",
        [DEVICE_NVML_INSUFFICIENT_SIZE] = "NVML_ERROR_INSUFFICIENT_SIZE",
        [DEVICE_NVML_INSUFFICIENT_POWER] = "NVML_ERROR_INSUFFICIENT_POWER",
        [DEVICE_NVML_DRIVER_NOT_LOADED] = "NVML_ERROR_DRIVER_NOT_LOADED",
        [DEVICE_NVML_TIMEOUT] = "NVML_ERROR_TIMEOUT",
        [DEVICE_NVML_IRQ_ISSUE] = "NVML_ERROR_IRQ_ISSUE",
        [DEVICE_NVML_LIBRARY_NOT_FOUND] = "NVML_ERROR_LIBRARY_NOT_FOUND",
        [DEVICE_NVML_FUNCTION_NOT_FOUND] = "NVML_ERROR_FUNCTION_NOT_FOUND",
        [DEVICE_NVML_CORRUPTED_INFOROM] = "NVML_ERROR_CORRUPTED_INFOROM",
        [DEVICE_NVML_GPU_IS_LOST] = "NVML_ERROR_GPU_IS_LOST",
        [DEVICE_NVML_RESET_REQUIRED] = "NVML_ERROR_RESET_REQUIRED",
        [DEVICE_NVML_OPERATING_SYSTEM] = "NVML_ERROR_OPERATING_SYSTEM",
        [DEVICE_NVML_LIB_RM_VERSION_MISMATCH] = "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
        [DEVICE_NVML_IN_USE] = "NVML_ERROR_IN_USE",
        [DEVICE_NVML_MEMORY] = "NVML_ERROR_MEMORY",
        [DEVICE_NVML_NO_DATA] = "NVML_ERROR_NO_DATA",
        [DEVICE_NVML_VGPU_ECC_NOT_SUPPORTED] = "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED",
        [DEVICE_NVML_INSUFFICIENT_RESOURCES] = "NVML_ERROR_INSUFFICIENT_RESOURCES",
        [DEVICE_NVML_FREQ_NOT_SUPPORTED] = "NVML_ERROR_FREQ_NOT_SUPPORTED",
        [DEVICE_NVML_ARGUMENT_VERSION_MISMATCH] = "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
        [DEVICE_NVML_DEPRECATED] = "NVML_ERROR_DEPRECATED",
        [DEVICE_NVML_NOT_READY] = "NVML_ERROR_NOT_READY",
        [DEVICE_NVML_GPU_NOT_FOUND] = "NVML_ERROR_GPU_NOT_FOUND",
        [DEVICE_NVML_INVALID_STATE] = "NVML_ERROR_INVALID_STATE",
        [DEVICE_NVML_RESET_TYPE_NOT_SUPPORTED] = "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED",
    };
    if (nvml_return == DEVICE_NVML_UNKNOWN)
        return "NVML_ERROR_UNKNOWN";
    if (nvml_return < sizeof names / sizeof names[0])
        return names[nvml_return];
    return "NVML_ERROR_UNKNOWN_CODE";
}

int device_nvml_fail(struct err *e, unsigned ret, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, device_code_from_nvml(ret), "%s: %s", device_nvml_return_name(ret), msg);
}

int device_slice_failed(int rc, const char *call, const struct device_slice_ref *ref,
                        struct err *e)
{
    if (rc >= 0)
        return rc;
    if (ref->gpu_uuid)
        err_prefix(e, rc, "%s %.*s at %u on %.*s: ", call, DEVICE_PROFILE_NAME_MAX, ref->profile,
                   ref->start, DEVICE_UUID_MAX, ref->gpu_uuid);
    else
        err_prefix(e, rc, "%s %.*s at %u on GPU %u: ", call, DEVICE_PROFILE_NAME_MAX, ref->profile,
                   ref->start, ref->gpu_index);
    return rc;
}

/* ---- the catalogue cross-check ------------------------------------------ */

struct report {
    char *buf;
    size_t size, used;
    unsigned n;
};

/* Adds one line; counts it even when it no longer fits. */
__attribute__((format(printf, 2, 3))) static void report_line(struct report *r,
                                                             const char *fmt, ...)
{
    r->n++;
    if (r->used + 1 >= r->size)
        return;
    if (r->used > 0)
        r->buf[r->used++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->buf + r->used, r->size - r->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->used += (size_t)n < r->size - r->used ? (size_t)n : r->size - r->used - 1;
    r->buf[r->used] = '\0';
}

/* Appends ", what X (catalogue Y)" to a line under construction. */
static void field_diff(char *line, size_t size, const char *what, unsigned have, unsigned want)
{
    if (have == want)
        return;
    size_t used = strlen(line);
    snprintf(line + used, size - used, "%s%s %u (catalogue %u)", used ? ", " : "", what, have,
             want);
}

static bool same_placements(const struct device_profile *p, const struct mig_profile *c)
{
    if (p->n_placements != c->n_placements)
        return false;
    for (unsigned i = 0; i < p->n_placements; i++)
        if (p->placements[i].start != c->placements[i].start ||
            p->placements[i].size != c->placements[i].size)
            return false;
    return true;
}

static void profile_report(struct report *r, const struct device_gpu *g,
                           const struct device_profile *p)
{
    const struct mig_profile *c = p->catalog;
    if (!c) {
        report_line(r, "GPU %u: profile %s (id %u, index %u) is not in the catalogue of %s",
                    g->index, p->name, p->nvml_id, p->nvml_index, g->model->name);
        return;
    }
    if (strcmp(p->name, c->name) != 0)
        report_line(r, "GPU %u: the driver names %s what the catalogue of %s calls %s", g->index,
                    p->name, g->model->name, c->name);
    char line[256] = "";
    field_diff(line, sizeof line, "id", p->nvml_id, c->nvml_id);
    field_diff(line, sizeof line, "index", p->nvml_index, c->nvml_index);
    field_diff(line, sizeof line, "compute slices", p->compute_slices, c->compute_slices);
    field_diff(line, sizeof line, "memory slices", p->memory_slices, c->memory_slices);
    field_diff(line, sizeof line, "instances", p->max_instances, c->max_instances);
    field_diff(line, sizeof line, "SMs", p->sm_count, c->sm_count);
    field_diff(line, sizeof line, "MiB", p->memory_mib, c->memory_mib);
    if (!same_placements(p, c)) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, "%splacements differ", used ? ", " : "");
    }
    if (line[0])
        report_line(r, "GPU %u: %s differs from the catalogue of %s: %s", g->index, p->name,
                    g->model->name, line);
}

unsigned device_catalog_report(const struct device_gpu *g, char *buf, size_t size)
{
    struct report r = {.buf = buf, .size = buf ? size : 0};
    if (r.size)
        buf[0] = '\0';
    if (!g)
        return 0;
    if (!g->model) {
        if (g->mig_current != DEVICE_MIG_UNSUPPORTED || g->n_profiles > 0)
            report_line(&r, "GPU %u: %s is not in the catalogue; its %u profiles are used as "
                        "the driver reports them", g->index, g->product, g->n_profiles);
        return r.n;
    }
    if (g->n_profiles == 0) {
        if (g->mig_current == DEVICE_MIG_ENABLED)
            report_line(&r, "GPU %u: MIG is enabled but the driver offers no profile", g->index);
        return r.n;
    }
    for (unsigned i = 0; i < g->n_profiles; i++)
        profile_report(&r, g, &g->profiles[i]);
    for (unsigned k = 0; k < g->model->n_profiles; k++) {
        const struct mig_profile *c = &g->model->profiles[k];
        unsigned i = 0;
        while (i < g->n_profiles && g->profiles[i].catalog != c)
            i++;
        if (i == g->n_profiles)
            report_line(&r, "GPU %u: the catalogue's %s (id %u) of %s is not offered by the "
                        "driver", g->index, c->name, c->nvml_id, g->model->name);
    }
    return r.n;
}
