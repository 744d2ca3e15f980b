/* libFuzzer harness for the emulated backend's spec parser: any bytes are a
 * spec; an accepted one must open, discover and take one create/destroy
 * without crashing, leaking or tripping the sanitizers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "device/emulated.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    struct emulated_config cfg;
    struct err e;
    struct device *d = NULL;
    if (emulated_config_parse(spec, &cfg, &e) == 0 && emulated_open(&cfg, &d, &e) == 0) {
        struct device_inventory *inv = malloc(sizeof *inv);
        if (inv && device_discover(d, inv, NULL, &e) == 0 && inv->gpus[0].n_profiles > 0) {
            const struct device_profile *p = &inv->gpus[0].profiles[0];
            struct device_slice_ref ref = {.profile = p->name, .start = p->placements[0].start};
            if (device_create_slice(d, &ref, NULL, NULL, &e) == 0)
                device_destroy_slice(d, &ref, NULL, &e);
        }
        free(inv);
        device_close(d);
    }
    free(spec);
    return 0;
}
