/*
 * The API-semantics suite, written against store.h alone so that it runs
 * unchanged against every backend: the mem store directly, and the kube
 * backend through the embedded API server over loopback.
 *
 * A backend provides a fixture; store_semantics_run runs every test with a
 * fresh store from it. Tests create the namespace "t" first and work in it.
 */
#ifndef GPUSLICE_TESTS_STORE_SEMANTICS_H
#define GPUSLICE_TESTS_STORE_SEMANTICS_H

#include <stdint.h>

#include "store/store.h"

struct store_fixture {
    const char *name;
    /* A fresh, empty store; *ctx is the fixture's own state for this test. */
    int (*open)(void **ctx, struct store **st);
    void (*close)(void *ctx, struct store *st);
    /* Lets the collector finish what the last writes queued (garbage
     * collection, namespace and CRD cleanup); returns when idle. */
    void (*settle)(void *ctx, struct store *st);
    /* Forgets all history up to now, as etcd compaction does. */
    void (*compact)(void *ctx, struct store *st);
    /* Moves the store's clock on by ns (the server's, behind an API). */
    void (*advance)(void *ctx, int64_t ns);
};

/* Runs the suite against f; returns the number of failed tests. */
int store_semantics_run(const struct store_fixture *f);

#endif
