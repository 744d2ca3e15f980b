/* libFuzzer harness for the store's input paths: selectors, the three
 * patch formats, and the mem store's writes with whatever they produce.
 * The input is "SELECTOR\0OBJECT\0PATCH": the selector is parsed as a label
 * and a field selector and used to list; OBJECT (JSON) is stored as a Pod
 * and as a ConfigMap, then PATCH (JSON) applied to both with every patch
 * type; the object is then deleted. Anything may be refused; nothing may
 * crash, leak or trip the sanitizers, and a refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "api/selector.h"
#include "store/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1714557600000000000LL;
}

/* The next NUL-terminated part of the input (copied), advancing *p. */
static char *part(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    size_t len = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    char *s = malloc(len + 1);
    memcpy(s, *p, len);
    s[len] = '\0';
    *p += len + (nul != NULL);
    return s;
}

static void refused_with_reason(int rc, const struct err *e)
{
    if (rc != 0 && e->msg[0] == '\0')
        abort();
}

static void exercise(struct store *st, const struct api_resource *res, json_t *obj,
                     const json_t *patch, const char *sel)
{
    struct err e = {0};
    if (!json_is_object(obj))
        return;
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md))
        json_object_set_new(obj, "metadata", md = json_object());
    json_object_set_new(md, "name", json_string("x"));
    int rc = store_create(st, res, "ns", obj, NULL, NULL, &e);
    refused_with_reason(rc, &e);
    for (int type = STORE_PATCH_MERGE; patch && type <= STORE_PATCH_APPLY; type++) {
        err_clear(&e);
        rc = store_patch(st, res, "ns", "x", (enum store_patch_type)type, patch, NULL, NULL, &e);
        refused_with_reason(rc, &e);
    }
    struct store_list_opts lo = {.label_selector = sel, .field_selector = sel, .limit = 1};
    json_t *list = NULL;
    rc = store_list(st, res, "ns", &lo, &list, &e);
    refused_with_reason(rc, &e);
    json_decref(list);
    struct store_delete_opts dopts = {.propagation = STORE_PROPAGATE_FOREGROUND};
    store_delete(st, res, "ns", "x", &dopts, NULL, &e);
    mem_store_collect(st, 0, NULL, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *sel = part(&p, end), *obj_text = part(&p, end), *patch_text = part(&p, end);
    struct err e;
    struct selector *ls = NULL;
    struct field_selector *fs = NULL;
    if (selector_parse(sel, &ls, &e) == 0)
        selector_match_labels(ls, NULL);
    selector_field_parse(sel, NULL, &fs, &e);
    selector_free(ls);
    selector_field_free(fs);

    json_t *obj = json_loads(obj_text, JSON_DECODE_ANY, NULL);
    json_t *patch = json_loads(patch_text, JSON_DECODE_ANY, NULL);
    if (obj && patch) {
        json_t *out = NULL;
        if (patch_merge(obj, patch, &out, &e) == 0)
            json_decref(out);
        if (patch_json(obj, patch, &out, &e) == 0)
            json_decref(out);
        if (patch_strategic(obj, patch, "Pod", &out, &e) == 0)
            json_decref(out);
    }
    struct mem_store_config cfg = {.now_ns = fixed_clock, .history = 64};
    struct store *st;
    if (obj && mem_store_new(&cfg, &st, &e) == 0) {
        struct api_registry *reg = store_registry(st);
        json_t *copy = json_deep_copy(obj);
        exercise(st, api_registry_find(reg, "", "v1", "pods"), obj, patch, sel);
        exercise(st, api_registry_find(reg, "", "v1", "configmaps"), copy, patch, sel);
        json_decref(copy);
        store_free(st);
    }
    json_decref(obj);
    json_decref(patch);
    free(sel);
    free(obj_text);
    free(patch_text);
    return 0;
}
