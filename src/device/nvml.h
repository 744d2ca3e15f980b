/*
 * The nvml device backend: real MIG slices through libnvidia-ml, loaded with
 * dlopen when the backend is opened, so gpuslice builds and runs on machines
 * without the driver and only `--device nvml` needs it.
 *
 * The spec string, as in `--device nvml:SPEC`, is empty or
 *
 *   library=PATH     the NVML library to load instead of libnvidia-ml.so.1
 *                    (found through the dynamic loader's search path); the
 *                    tests point it at their fake library
 *
 * What it does and does not do. It discovers the GPUs (index, UUID, name,
 * PCI bus id, memory, MIG mode now and pending), every GPU-instance profile
 * the driver offers with its placements, names each profile from the
 * driver's numbers as NVIDIA names them (nvml_profile_name) and maps it to
 * the catalogue (device_profile.catalog; device_catalog_report lists where
 * the two differ). It creates a slice at an exact placement (GPU instance,
 * then the compute instance spanning it, looked up inside the GPU instance,
 * then the MIG device's UUID), rolling back what it made when a later step
 * fails; destroys compute instances, then the GPU instance; lists what
 * exists; reads the node's boot id. It never calls a setter: no MIG mode,
 * clock, power or compute-mode change and no GPU reset (nvml_sym.h does not
 * even declare them).
 *
 * Errors carry the NVML call that failed, NVML's symbolic code and the
 * driver's own text (nvmlErrorString), mapped to codes by
 * device_code_from_nvml. Times: took_ns is the measured wall time of the
 * calls (device->modelled_time is false).
 */
#ifndef GPUSLICE_DEVICE_NVML_H
#define GPUSLICE_DEVICE_NVML_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "util/err.h"

#define NVML_LIBRARY_DEFAULT "libnvidia-ml.so.1"
#define NVML_LIBRARY_MAX     4096
#define NVML_SPEC_MAX        (NVML_LIBRARY_MAX + 16)

struct nvml_config {
    char library[NVML_LIBRARY_MAX]; /* a file name or a path for dlopen */
};

/* Fills cfg from a spec (NULL or "": the defaults). -EINVAL naming the bad
 * item; cfg is then unspecified. */
int nvml_config_parse(const char *spec, struct nvml_config *cfg, struct err *e);

/* Loads the library, checks every entry point and initialises NVML. The
 * caller frees *out with device_close (which shuts NVML down and unloads
 * the library; the slices on the GPUs stay). -ENOSYS naming the library
 * when it cannot be loaded or lacks an entry point; NVML's own errors from
 * nvmlInit_v2 mapped as device.h says (no driver loaded: -ENOSYS, no
 * permission: -EPERM). */
int nvml_open(const struct nvml_config *cfg, struct device **out, struct err *e);

/* The driver's version ("580.159.04") into buf. -EINVAL when d is not an
 * nvml device. */
int nvml_driver_version(struct device *d, char *buf, size_t size, struct err *e);

/*
 * The name the driver gives a GPU-instance profile, from its numbers: the
 * compute slices, "g.", the memory in GB, "gb", and a suffix for the
 * profile index's variant ("+me" for the media-extended 1_SLICE_REV1 and
 * 2_SLICE_REV1). The GB are the profile's share of the GPU's memory
 * (total_bytes, as nvmlDeviceGetMemoryInfo reports it) rounded up to
 * eighths, times the GPU's memory in whole GiB rounded up, rounded to the
 * nearest: 9984 MiB on an H100 80GB (81559 MiB) is "10gb", 11008 MiB on an
 * H100 NVL is "12gb". -EINVAL (and "" in buf) for zero slices or memory.
 */
int nvml_profile_name(unsigned index, unsigned compute_slices, uint64_t memory_mib,
                      uint64_t total_bytes, char *buf, size_t size);

#endif
