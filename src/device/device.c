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

#include <stdlib.h>
#include <string.h>

#include "device/emulated.h"

static int open_emulated(const char *spec, struct device **out, struct err *e)
{
    struct emulated_config cfg;
    int rc = emulated_config_parse(spec, &cfg, e);
    if (rc < 0)
        return rc;
    return emulated_open(&cfg, out, e);
}

static const struct {
    const char *name;
    int (*open)(const char *spec, struct device **out, struct err *e);
} backends[] = {
    {"emulated", open_emulated},
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
    return err_set(e, -EINVAL, "unknown device backend \"%.*s\" (known: emulated)", (int)len,
                   what);
}

/* Puts "<backend>: " in front of a backend's failure. */
static int failed(const struct device *d, int rc, struct err *e)
{
    if (rc < 0)
        err_prefix(e, "%s: ", d->ops->name);
    return rc;
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
