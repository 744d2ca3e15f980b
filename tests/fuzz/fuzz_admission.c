/* libFuzzer harness for the webhook's AdmissionReview path: any bytes are a
 * request body. A body is answered with a review or refused (-EBADMSG,
 * -E2BIG) without crashing, leaking or tripping the sanitizers; a review
 * answers the request's uid; and when it carries a patch, the patch
 * applies to the request's object and the patched pod, reviewed again,
 * needs no patch (reinvocation gives the same pod). A broken promise
 * aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "webhook/mutate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_patch(const char *body, size_t len)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const json_t *pod = json_object_get(json_object_get(doc, "request"), "object");
    json_t *ops = NULL, *patched = NULL, *again = NULL;
    if (mutate_pod(pod, "gs-fuzz", &ops, NULL) != 0 || !ops ||
        patch_json(pod, ops, &patched, NULL) != 0 ||
        mutate_pod(patched, "gs-other", &again, NULL) != 0 || again)
        abort();
    json_decref(patched);
    json_decref(ops);
    json_decref(doc);
}

static void check_uid(const char *body, size_t len, const char *out)
{
    json_t *in = json_loadb(body, len, 0, NULL), *answer = json_loads(out, 0, NULL);
    const char *uid = json_string_value(json_object_get(json_object_get(in, "request"), "uid"));
    const char *echoed =
        json_string_value(json_object_get(json_object_get(answer, "response"), "uid"));
    if (!uid || !echoed || strcmp(uid, echoed) != 0)
        abort();
    json_decref(in);
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char *out = NULL;
    size_t len = 0;
    enum mutate_outcome outcome;
    struct err e;
    int rc = mutate_review(body, size, "gs-fuzz", &out, &len, &outcome, &e);
    if (rc != 0 && rc != -EBADMSG && rc != -E2BIG)
        abort();
    if (rc == 0) {
        check_uid(body, size, out);
        if (outcome == MUTATE_PATCHED)
            check_patch(body, size);
    }
    free(out);
    return 0;
}
