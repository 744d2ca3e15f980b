/* What the device unit tests share: opening an emulated node from a spec and
 * naming a slice in one line. */
#ifndef GPUSLICE_TESTS_DEVICE_UNIT_HELPERS_H
#define GPUSLICE_TESTS_DEVICE_UNIT_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "device/device.h"
#include "device/emulated.h"

/* Opens "emulated:SPEC" or fails the test with the parser's message. */
static inline struct device *open_spec(const char *spec)
{
    char what[EMULATED_SPEC_MAX + 16];
    struct err e;
    struct device *d = NULL;
    err_clear(&e);
    snprintf(what, sizeof what, "emulated:%s", spec);
    if (device_open(what, &d, &e) != 0)
        fail_msg("device_open(%s): %s", what, e.msg);
    return d;
}

static inline struct device_slice_ref ref_at(unsigned gpu, const char *profile, unsigned start)
{
    return (struct device_slice_ref){.gpu_index = gpu, .profile = profile, .start = start};
}

static inline void assert_msg_has(const struct err *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

/* NVML's 8-4-4-4-12 layout of lower-case hex after prefix. */
static inline void assert_uuid_format(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    assert_int_equal(strncmp(s, prefix, n), 0);
    s += n;
    assert_int_equal(strlen(s), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", s[i]));
    }
}

#endif
