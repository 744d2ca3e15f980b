/*
 * Upgrade and restore annotations, and owners that recreate pods (see
 * pod_upgrade.h).
 */
#include "api/pod_upgrade.h"

#include <string.h>

#include "api/meta.h"
#include "util/duration.h"

int pod_upgrade_of(const json_t *pod, struct pod_upgrade *out, struct err *e)
{
    *out = (struct pod_upgrade){.restore = true};
    const char *after = meta_annotation(pod, GPUSLICE_ANNOTATION_UPGRADE_AFTER);
    const char *restore = meta_annotation(pod, GPUSLICE_ANNOTATION_RESTORE);
    int rc = 0;
    if (after) {
        struct err why = {0};
        rc = duration_parse(after, &out->after_ns, &why);
        out->upgrade = rc == 0;
        if (rc < 0)
            err_set(e, -EINVAL, "annotation %s: %s", GPUSLICE_ANNOTATION_UPGRADE_AFTER,
                    why.msg);
    }
    if (restore) {
        out->restore = false; /* "never", or a bad value: the safe side */
        if (strcmp(restore, "never") != 0) {
            if (rc == 0)
                err_set(e, -EINVAL, "annotation %s: \"%s\" is not a value it takes (only "
                        "\"never\")", GPUSLICE_ANNOTATION_RESTORE, restore);
            rc = -EINVAL;
        }
    }
    return rc;
}

const json_t *pod_recreating_owner(const json_t *pod)
{
    static const char *const kinds[] = {"ReplicaSet", "Job", "StatefulSet"};
    const json_t *ref = meta_controller_ref(pod);
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return ref;
    return NULL;
}
