/*
 * Fills the NVML entry-point table (nvml_sym.h) from a loaded library.
 *
 * Every symbol is looked up before any is called, so a library that lacks
 * one (an older driver, a stub) is refused at open with the symbol's name
 * rather than failing later in the middle of a create.
 */
#include "device/nvml_sym.h"

#include <dlfcn.h>
#include <string.h>

/* POSIX lets dlsym's void * be converted to a function pointer; copying the
 * bits needs both to be the same size. */
_Static_assert(sizeof(void *) == sizeof(nvmlReturn_t(*)(void)), "function pointer size");

static const struct {
    const char *name;
    size_t offset;
} entries[] = {
    {"nvmlErrorString", offsetof(struct nvml_sym, nvmlErrorString)},
#define NVML_SYM_ENTRY(name, params) {#name, offsetof(struct nvml_sym, name)},
    NVML_SYM_LIST(NVML_SYM_ENTRY)
#undef NVML_SYM_ENTRY
};

int nvml_sym_load(void *lib, const char *path, struct nvml_sym *out, struct err *e)
{
    if (!lib || !out)
        return err_set(e, -EINVAL, "nvml_sym_load: no library or table");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        dlerror();
        void *fn = dlsym(lib, entries[i].name);
        if (!fn)
            return err_set(e, -ENOSYS, "%s lacks %s (not libnvidia-ml, or a driver too old "
                           "for MIG)", path ? path : "the NVML library", entries[i].name);
        memcpy((char *)out + entries[i].offset, &fn, sizeof fn);
    }
    return 0;
}
