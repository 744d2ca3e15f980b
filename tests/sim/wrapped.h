/* The world of a test of a store wrapper (sim/forward.h and the wrappers
 * built on it): a mem store with the built-in namespaces, the wrapper over
 * it (made by the test's setup) and the resources the tests write. */
#ifndef GPUSLICE_TESTS_SIM_WRAPPED_H
#define GPUSLICE_TESTS_SIM_WRAPPED_H

#include <stdlib.h>

#include "apiserver/bootstrap.h"
#include "store/mem.h"

struct world {
    struct store *mem, *st; /* the inner store, and the wrapper over it */
    const struct api_resource *pods, *namespaces, *cms;
};

static inline int64_t wrapped_fixed_now(void *ctx)
{
    (void)ctx;
    return INT64_C(1800000000) * 1000000000;
}

/* A world whose st the caller's setup still has to make. */
static inline struct world *wrapped_world(void)
{
    struct world *w = calloc(1, sizeof *w);
    struct mem_store_config mc = {.now_ns = wrapped_fixed_now, .seed = 1, .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &w->mem, NULL), 0);
    assert_int_equal(bootstrap_namespaces(w->mem, NULL), 0);
    struct api_registry *reg = store_registry(w->mem);
    w->pods = api_registry_find(reg, "", "v1", "pods");
    w->namespaces = api_registry_find(reg, "", "v1", "namespaces");
    w->cms = api_registry_find(reg, "", "v1", "configmaps");
    return w;
}

/* The cmocka teardown of every wrapper test. */
static inline int teardown(void **state)
{
    struct world *w = *state;
    store_free(w->st);
    store_free(w->mem);
    free(w);
    return 0;
}

#endif
