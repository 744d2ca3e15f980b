/*
 * The agent's shortcut for a status write that changes nothing
 * (agent__status_unchanged), held against the full path it stands in for:
 * the object as the write makes it (agent__with_status) compared with the
 * cached one. A shortcut that says "unchanged" where the write would
 * change something leaves a stale status in the store for good, so every
 * field it reads is varied alone, with and without the fields a write
 * clears.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "agent/agent_internal.h"

/* What hand_over writes for a slice on the device (agent_slice.c). */
#define CREATED "\"phase\":\"Created\",\"deviceUUID\":\"MIG-a\",\"bootID\":\"boot-1\""
#define IDS     "\"giID\":3,\"ciID\":0"
#define WARM    "\"warmUntil\":\"2026-09-22T10:00:00Z\""

static const struct gpuslice_status handed = {
    .phase = "Created", .device_uuid = "MIG-a", .boot_id = "boot-1",
    .has_ids = true, .gi_id = 3, .ci_id = 0,
};

struct status_case {
    const char *what;
    const char *cached;          /* the cached status, JSON text; NULL: none */
    struct gpuslice_status want; /* the write's fields */
    unsigned clear;
    bool unchanged;              /* what the full path says */
};

static struct gpuslice_status with_reason(struct gpuslice_status st, const char *reason,
                                          const char *message)
{
    st.reason = reason;
    st.message = message;
    return st;
}

static struct gpuslice_status with_warm(struct gpuslice_status st, const char *until)
{
    st.warm_until = until;
    return st;
}

/* A GPUSlice whose status is `status` (JSON text; NULL: none), the caller's. */
static json_t *cached_slice(const char *status)
{
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}", "apiVersion",
                            GPUSLICE_API_VERSION, "kind", "GPUSlice", "metadata", "name", "s",
                            "namespace", "team", "resourceVersion", "7", "spec", "node",
                            "node-a");
    assert_non_null(obj);
    if (status) {
        json_error_t err;
        json_t *st = json_loads(status, 0, &err);
        if (!st)
            fail_msg("status %s: %s", status, err.text);
        assert_int_equal(json_object_set_new(obj, "status", st), 0);
    }
    return obj;
}

/* Whether the full path leaves obj's status as it is. */
static bool full_path_unchanged(const json_t *obj, const struct gpuslice_status *st,
                                unsigned clear)
{
    json_t *copy = agent__with_status(obj, st, clear, NULL);
    assert_non_null(copy);
    bool same = json_equal(json_object_get(copy, "status"), json_object_get(obj, "status"));
    json_decref(copy);
    return same;
}

static void shortcut_agrees_with_the_full_path(void **state)
{
    (void)state;
    const unsigned why = AGENT_CLEAR_WHY, device = AGENT_CLEAR_DEVICE;
    const struct gpuslice_status failed = {.phase = "Ungated", .reason = "GPULost",
                                           .message = "gone"};
    const struct status_case cases[] = {
        {"the same", "{" CREATED "," IDS "}", handed, why, true},
        {"the same, nothing cleared", "{" CREATED "," IDS "}", handed, 0, true},
        {"the same, both cleared", "{" CREATED "," IDS "}", handed, why | device, true},
        {"a reason the write clears", "{" CREATED "," IDS ",\"reason\":\"InUse\"}", handed, why,
         false},
        {"a message the write clears", "{" CREATED "," IDS ",\"message\":\"busy\"}", handed, why,
         false},
        {"a reason kept: nothing cleared", "{" CREATED "," IDS ",\"reason\":\"InUse\"}", handed,
         0, true},
        {"a reason kept: the device cleared", "{" CREATED "," IDS ",\"reason\":\"InUse\"}",
         handed, device, true},
        {"the reason set again", "{" CREATED "," IDS ",\"reason\":\"InUse\",\"message\":\"m\"}",
         with_reason(handed, "InUse", "m"), why, true},
        {"another reason", "{" CREATED "," IDS ",\"reason\":\"InUse\",\"message\":\"m\"}",
         with_reason(handed, "Timeout", "m"), why, false},
        {"another message", "{" CREATED "," IDS ",\"reason\":\"InUse\",\"message\":\"m\"}",
         with_reason(handed, "InUse", "n"), 0, false},
        {"another giID", "{" CREATED ",\"giID\":4,\"ciID\":0}", handed, why, false},
        {"another ciID", "{" CREATED ",\"giID\":3,\"ciID\":1}", handed, why, false},
        {"no giID", "{" CREATED ",\"ciID\":0}", handed, why, false},
        {"no ids", "{" CREATED "}", handed, 0, false},
        {"a giID not a number", "{" CREATED ",\"giID\":\"3\",\"ciID\":0}", handed, why, false},
        {"another deviceUUID", "{\"phase\":\"Created\",\"deviceUUID\":\"MIG-b\","
         "\"bootID\":\"boot-1\"," IDS "}", handed, why, false},
        {"another bootID", "{\"phase\":\"Created\",\"deviceUUID\":\"MIG-a\","
         "\"bootID\":\"boot-2\"," IDS "}", handed, why, false},
        {"another phase", "{" CREATED "," IDS "}",
         (struct gpuslice_status){.phase = "Ungated", .device_uuid = "MIG-a",
                                  .boot_id = "boot-1", .has_ids = true, .gi_id = 3},
         why, false},
        {"another warmUntil", "{" CREATED "," IDS "," WARM "}",
         with_warm(handed, "2026-09-22T11:00:00Z"), why, false},
        {"a warmUntil set", "{" CREATED "," IDS "}", with_warm(handed, "2026-09-22T10:00:00Z"),
         why, false},
        {"the warmUntil set again", "{" CREATED "," IDS "," WARM "}",
         with_warm(handed, "2026-09-22T10:00:00Z"), why, true},
        {"a warmUntil kept", "{" CREATED "," IDS "," WARM "}", handed, why | device, true},
        {"the device the write clears",
         "{\"phase\":\"Ungated\",\"reason\":\"GPULost\",\"message\":\"gone\","
         "\"deviceUUID\":\"MIG-a\"}", failed, device, false},
        {"ids the write clears",
         "{\"phase\":\"Ungated\",\"reason\":\"GPULost\",\"message\":\"gone\",\"ciID\":0}",
         failed, device, false},
        {"ids kept: the reason cleared",
         "{\"phase\":\"Ungated\",\"reason\":\"GPULost\",\"message\":\"gone\"," IDS "}", failed,
         why, true},
        {"no device to clear", "{\"phase\":\"Ungated\",\"reason\":\"GPULost\",\"message\":\"gone\"}",
         failed, why | device, true},
        {"no status", NULL, handed, why, false},
        {"a status not an object", "[]", handed, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct status_case *c = &cases[i];
        json_t *obj = cached_slice(c->cached);
        bool full = full_path_unchanged(obj, &c->want, c->clear);
        bool shortcut = agent__status_unchanged(obj, &c->want, c->clear);
        json_decref(obj);
        if (full != c->unchanged)
            fail_msg("%s: the full path says %s", c->what, full ? "unchanged" : "changed");
        if (shortcut != full)
            fail_msg("%s: the shortcut says %s, the full path %s", c->what,
                     shortcut ? "unchanged" : "changed", full ? "unchanged" : "changed");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shortcut_agrees_with_the_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
