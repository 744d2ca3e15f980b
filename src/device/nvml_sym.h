/*
 * NVML as gpuslice uses it: the types and entry points, declared here from
 * NVIDIA's public API documentation (nvml.h is not needed to build, and the
 * library is only loaded at run time), and the table of function pointers
 * the nvml backend fills from the loaded library.
 *
 * One list, NVML_SYM_LIST, names every entry point with its parameters. The
 * backend expands it into its pointer table; the fake libnvidia-ml of the
 * tests expands it into the prototypes of the functions it exports. So the
 * two sides of the dlopen agree by construction, and the layouts are pinned
 * below to the sizes and offsets of NVML's header on 64-bit Linux, so the
 * fake cannot agree with the backend on a layout the real library would
 * not.
 *
 * Only what the backend calls is declared: no setter (MIG mode, clocks,
 * power, compute mode, reset) is in the list, so the backend cannot call
 * one. The suffixed names (_v2, _v3) are the current ABI; the library also
 * exports the unsuffixed ones with older semantics.
 */
#ifndef GPUSLICE_DEVICE_NVML_SYM_H
#define GPUSLICE_DEVICE_NVML_SYM_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef unsigned int nvmlReturn_t; /* a C enum in NVML: 4 bytes; values in device.h */

typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st *nvmlComputeInstance_t;

#define NVML_DEVICE_MIG_DISABLE 0
#define NVML_DEVICE_MIG_ENABLE  1
#define NVML_CI_ENGINE_SHARED   0 /* NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED */
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

typedef struct {
    unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32]; /* "00000000:18:00.0" */
} nvmlPciInfo_t;

typedef struct {
    unsigned int start, size; /* memory slices */
} nvmlGpuInstancePlacement_t;

/* The v1 profile info, which nvmlDeviceGetGpuInstanceProfileInfo fills. */
typedef struct {
    unsigned int id, isP2pSupported, sliceCount, instanceCount, multiprocessorCount,
        copyEngineCount, decoderCount, encoderCount, jpegCount, ofaCount;
    unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct {
    nvmlDevice_t device; /* the parent GPU */
    unsigned int id, profileId;
    nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct {
    unsigned int start, size; /* compute slices */
} nvmlComputeInstancePlacement_t;

/* The v1 compute-instance profile info. */
typedef struct {
    unsigned int id, sliceCount, instanceCount, multiprocessorCount, sharedCopyEngineCount,
        sharedDecoderCount, sharedEncoderCount, sharedJpegCount, sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;

/* `device` is the parent GPU, not the MIG device (NVML's header says so;
 * the MIG device is found with nvmlDeviceGetMigDeviceHandleByIndex). */
typedef struct {
    nvmlDevice_t device;
    nvmlGpuInstance_t gpuInstance;
    unsigned int id, profileId;
    nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(sizeof(nvmlPciInfo_t) == 68 && offsetof(nvmlPciInfo_t, busId) == 36,
               "nvmlPciInfo_t (v3)");
_Static_assert(sizeof(nvmlGpuInstancePlacement_t) == 8, "nvmlGpuInstancePlacement_t");
_Static_assert(sizeof(nvmlGpuInstanceProfileInfo_t) == 48 &&
                   offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB) == 40,
               "nvmlGpuInstanceProfileInfo_t (v1)");
_Static_assert(sizeof(nvmlGpuInstanceInfo_t) == 24 &&
                   offsetof(nvmlGpuInstanceInfo_t, profileId) == 12 &&
                   offsetof(nvmlGpuInstanceInfo_t, placement) == 16,
               "nvmlGpuInstanceInfo_t");
_Static_assert(sizeof(nvmlComputeInstanceProfileInfo_t) == 36,
               "nvmlComputeInstanceProfileInfo_t (v1)");
_Static_assert(sizeof(nvmlComputeInstanceInfo_t) == 32 &&
                   offsetof(nvmlComputeInstanceInfo_t, id) == 16 &&
                   offsetof(nvmlComputeInstanceInfo_t, placement) == 24,
               "nvmlComputeInstanceInfo_t");
#endif

/* Every entry point that returns nvmlReturn_t, as X(name, (parameters)). */
#define NVML_SYM_LIST(X)                                                                  \
    X(nvmlInit_v2, (void))                                                                \
    X(nvmlShutdown, (void))                                                               \
    X(nvmlSystemGetDriverVersion, (char *version, unsigned int length))                   \
    X(nvmlDeviceGetCount_v2, (unsigned int *count))                                       \
    X(nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t *device))          \
    X(nvmlDeviceGetUUID, (nvmlDevice_t device, char *uuid, unsigned int length))          \
    X(nvmlDeviceGetName, (nvmlDevice_t device, char *name, unsigned int length))          \
    X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t *pci))                 \
    X(nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t *memory))               \
    X(nvmlDeviceGetMigMode, (nvmlDevice_t device, unsigned int *current,                  \
                             unsigned int *pending))                                      \
    X(nvmlDeviceGetGpuInstanceProfileInfo, (nvmlDevice_t device, unsigned int profile,    \
                                            nvmlGpuInstanceProfileInfo_t *info))          \
    X(nvmlDeviceGetGpuInstancePossiblePlacements_v2,                                      \
      (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements, \
       unsigned int *count))                                                              \
    X(nvmlDeviceCreateGpuInstanceWithPlacement,                                           \
      (nvmlDevice_t device, unsigned int profileId,                                       \
       const nvmlGpuInstancePlacement_t *placement, nvmlGpuInstance_t *gpuInstance))      \
    X(nvmlDeviceGetGpuInstances, (nvmlDevice_t device, unsigned int profileId,            \
                                  nvmlGpuInstance_t *gpuInstances, unsigned int *count))  \
    X(nvmlGpuInstanceGetInfo, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)) \
    X(nvmlGpuInstanceDestroy, (nvmlGpuInstance_t gpuInstance))                            \
    X(nvmlGpuInstanceGetComputeInstanceProfileInfo,                                       \
      (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,      \
       nvmlComputeInstanceProfileInfo_t *info))                                           \
    X(nvmlGpuInstanceCreateComputeInstance, (nvmlGpuInstance_t gpuInstance,               \
                                             unsigned int profileId,                      \
                                             nvmlComputeInstance_t *computeInstance))     \
    X(nvmlGpuInstanceGetComputeInstances,                                                 \
      (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                             \
       nvmlComputeInstance_t *computeInstances, unsigned int *count))                     \
    X(nvmlComputeInstanceGetInfo_v2, (nvmlComputeInstance_t computeInstance,              \
                                      nvmlComputeInstanceInfo_t *info))                   \
    X(nvmlComputeInstanceDestroy, (nvmlComputeInstance_t computeInstance))                \
    X(nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int *count))         \
    X(nvmlDeviceGetMigDeviceHandleByIndex, (nvmlDevice_t device, unsigned int index,      \
                                            nvmlDevice_t *migDevice))                     \
    X(nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int *id))                \
    X(nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int *id))

/* The loaded entry points; nvmlErrorString is the one that returns text. */
struct nvml_sym {
    const char *(*nvmlErrorString)(nvmlReturn_t result);
#define NVML_SYM_POINTER(name, params) nvmlReturn_t(*name) params;
    NVML_SYM_LIST(NVML_SYM_POINTER)
#undef NVML_SYM_POINTER
};

/* Fills out with every entry point from lib (a dlopen handle); path names
 * the library in messages. -ENOSYS naming the first symbol lib lacks, and
 * then out is unspecified. */
int nvml_sym_load(void *lib, const char *path, struct nvml_sym *out, struct err *e);

#endif
