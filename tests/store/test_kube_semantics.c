/*
 * The API-semantics suite (semantics.c) against the kube backend, talking
 * HTTP over loopback to the embedded API server, which serves a mem store:
 * every semantic the suite checks on mem directly must survive the trip
 * through the REST API and back (paths, query parameters, Status codes,
 * watch streams).
 *
 * Settling and compaction act on the mem store behind the server, as an
 * operator's etcd compaction would behind a real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/apiserver.h"
#include "semantics.h"
#include "store/kube.h"
#include "store/mem.h"

#define T0 1714557600000000000LL /* 2024-05-01T10:00:00Z */

struct kfx {
    int64_t now;
    struct store *mem;
    struct apiserver *srv;
};

static int64_t kfx_now(void *ctx)
{
    return ((struct kfx *)ctx)->now;
}

static void kfx_free(struct kfx *k)
{
    apiserver_stop(k->srv);
    store_free(k->mem);
    free(k);
}

static int fixture_open(void **ctx, struct store **st)
{
    struct kfx *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->now = T0;
    struct mem_store_config mc = {.now_ns = kfx_now, .clock_ctx = k, .seed = 42};
    struct err e;
    int rc = mem_store_new(&mc, &k->mem, &e);
    struct apiserver_config ac = {.store = k->mem, .now_ns = kfx_now, .clock_ctx = k,
                                  .version = "test"};
    if (rc == 0)
        rc = apiserver_start(&ac, &k->srv, &e);
    struct kube_config kc = {.server = rc == 0 ? (char *)apiserver_url(k->srv) : NULL};
    if (rc == 0)
        rc = kube_store_new(&kc, NULL, st, &e);
    if (rc) {
        print_error("kube fixture: %s\n", e.msg);
        kfx_free(k);
        return rc;
    }
    *ctx = k;
    return 0;
}

static void fixture_close(void *ctx, struct store *st)
{
    store_free(st);
    kfx_free(ctx);
}

static void fixture_settle(void *ctx, struct store *st)
{
    (void)st;
    struct kfx *k = ctx;
    struct err e;
    size_t pending = 1;
    assert_true(mem_store_collect(k->mem, 0, &pending, &e) >= 0);
    assert_int_equal(pending, 0);
}

static void fixture_compact(void *ctx, struct store *st)
{
    (void)st;
    mem_store_compact(((struct kfx *)ctx)->mem);
}

static void fixture_advance(void *ctx, int64_t ns)
{
    /* The server's threads read the clock meanwhile. */
    __atomic_add_fetch(&((struct kfx *)ctx)->now, ns, __ATOMIC_RELAXED);
}

static const struct store_fixture kube_fixture = {
    "store_kube_semantics", fixture_open, fixture_close, fixture_settle, fixture_compact,
    fixture_advance,
};

int main(void)
{
    return store_semantics_run(&kube_fixture);
}
