/*
 * The memo of pod_slices_memo.h, over util/jmemo: the annotation value is
 * the key, what was read from it the answer.
 */
#include "api/pod_slices_memo.h"

#include <string.h>

/* 64 slots: at about 4 KB a slot, 256 KB a memo. */
#define POD_SLICES_MEMO_BITS 6

struct jmemo *pod_slices_memo_new(void)
{
    return jmemo_new(POD_SLICES_MEMO_BITS, sizeof(struct pod_slices));
}

int pod_slices_memo_of(struct jmemo *memo, const json_t *pod, struct pod_slices *out,
                       struct err *e)
{
    json_t *text = json_object_get(
        json_object_get(json_object_get(pod, "metadata"), "annotations"),
        GPUSLICE_ANNOTATION_SLICES);
    if (!json_is_string(text))
        return pod_slices_of(pod, out, e);
    const struct pod_slices *kept = jmemo_find(memo, text);
    if (kept) {
        /* The entries only: the whole table is some 4 KB, copied on every
         * decision of the controller for a pod of one or two entries. */
        out->n = kept->n;
        memcpy(out->items, kept->items, kept->n * sizeof kept->items[0]);
        return 0;
    }
    int rc = pod_slices_of(pod, out, e);
    if (rc == 0)
        jmemo_keep(memo, text, out);
    return rc;
}
