/*
 * The fake libnvidia-ml: a shared library that exports the NVML entry
 * points the nvml backend loads (the same names and, through nvml_sym.h,
 * the same layouts), over emulated GPUs, so that the real backend (dlopen,
 * symbol lookup, error mapping, rollback) runs in `make test` without a
 * GPU. The geometry comes from src/core (catalogue and occupancy), so the
 * fake and the emulated backend follow the same rules.
 *
 * Description. The state is loaded from a description: by fakenvml_load,
 * or at the first nvmlInit_v2 when nothing was loaded, from the environment
 * variable FAKENVML_SPEC (inline) or FAKENVML_SPEC_FILE (a file of the same
 * items, one per line or comma-separated, '#' to the end of a line a
 * comment); neither: one H100-80GB with MIG on. Items:
 *
 *   model=, other=, count=, mig=, memory-mib=, seed=   the GPUs, exactly
 *                    as in `--device emulated:SPEC` (device/emulated.h)
 *   driver=VERSION   what nvmlSystemGetDriverVersion says (580.159.04)
 *   gpu-memory=GPU:MIB   the memory nvmlDeviceGetMemoryInfo reports for GPU
 *                    (default: 81559 MiB on an H100-80GB, as a real one
 *                    says; the catalogue's size otherwise); the driver names
 *                    profiles from it, so another size renames them
 *   slice=GPU:PROFILE@START[:noci][:busy]   an instance that already
 *                    exists: the GI, its CI spanning it unless noci, busy
 *                    when a process holds it (destroying gives IN_USE)
 *   fail=FUNCTION:RETURN[@N]   the Nth call (every call without @N) of the
 *                    NVML function returns RETURN (a number or a name such
 *                    as IN_USE, NVML_ERROR_IN_USE) and does nothing
 *
 * The state outlives nvmlShutdown, as a GPU's instances outlive the
 * process that made them; it is what a kernel driver would hold, hence
 * file-scope state in a test library.
 *
 * Missing symbols. The library is built twice: libfakenvml.so exports the
 * whole list; libfakenvml-nosym.so is the same code linked with a version
 * script that hides nvmlGpuInstanceCreateComputeInstance, as an older or
 * stub library would lack it.
 *
 * Control. Besides NVML, the library exports the fakenvml_* functions
 * below for tests, which reach them with dlsym on the same library.
 */
#ifndef GPUSLICE_TESTS_FAKENVML_H
#define GPUSLICE_TESTS_FAKENVML_H

#include <stddef.h>

#include "device/nvml_sym.h"

#define FAKENVML_MISSING_SYMBOL "nvmlGpuInstanceCreateComputeInstance" /* in -nosym */

/* The NVML functions the library exports. */
#define FAKENVML_PROTOTYPE(name, params) nvmlReturn_t name params;
NVML_SYM_LIST(FAKENVML_PROTOTYPE)
#undef FAKENVML_PROTOTYPE
const char *nvmlErrorString(nvmlReturn_t result);

/* Replaces the whole state (and the call counts) with spec's. 0, or -EINVAL
 * with why in err (size bytes). NVML initialisations stay counted. */
int fakenvml_load(const char *spec, char *err, size_t size);

/* Marks the GI starting at memory slice start of GPU gpu as held by a
 * process (busy != 0) or not. -ENOENT when no GI starts there. */
int fakenvml_set_busy(unsigned gpu, unsigned start, int busy);

/* How many GPU and compute instances GPU gpu holds. -ENODEV for no GPU. */
int fakenvml_count(unsigned gpu, unsigned *gis, unsigned *cis);

/* How many times the NVML function was called since the last load; 0 for
 * a name the library does not export. */
unsigned long fakenvml_calls(const char *function);

/* The NVML calls of every function since the last load. */
unsigned long fakenvml_calls_total(void);

/* nvmlInit_v2 calls not yet matched by nvmlShutdown. */
unsigned fakenvml_inits(void);

#endif
