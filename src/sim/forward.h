/*
 * The base of a store that wraps another one in this process (sim/admit.c
 * mutates pod creates, sim/tally.c counts writes): a struct forward_store
 * first in the wrapper, and forward_* functions that hand a call to the
 * inner store unchanged. A wrapper's store_ops table names its own
 * functions for the calls it changes and forward_* for the rest, so each
 * wrapper says only what it adds.
 *
 * Watches are the inner store's own (they carry its ops), so a watch's
 * calls never come back to the wrapper.
 *
 * Ownership: the inner store is not owned and must outlive the wrapper;
 * forward_destroy frees the wrapper itself, which must have been allocated
 * with its forward_store first.
 */
#ifndef GPUSLICE_SIM_FORWARD_H
#define GPUSLICE_SIM_FORWARD_H

#include "store/store.h"
#include "util/err.h"

struct forward_store {
    struct store base; /* first: the store interface */
    struct store *inner;
};

/* Makes f a store with ops over inner (registry: inner's). */
void forward_init(struct forward_store *f, const struct store_ops *ops, struct store *inner);

/* The store st wraps; st must start with a forward_store. */
struct store *forward_inner(struct store *st);

int forward_get(struct store *st, const struct api_resource *res, const char *ns,
                const char *name, json_t **out, struct err *e);
int forward_list(struct store *st, const struct api_resource *res, const char *ns,
                 const struct store_list_opts *o, json_t **out, struct err *e);
int forward_create(struct store *st, const struct api_resource *res, const char *ns,
                   const json_t *obj, const struct store_write_opts *o, json_t **out,
                   struct err *e);
int forward_update(struct store *st, const struct api_resource *res, const char *ns,
                   const json_t *obj, const struct store_write_opts *o, json_t **out,
                   struct err *e);
int forward_patch(struct store *st, const struct api_resource *res, const char *ns,
                  const char *name, enum store_patch_type type, const json_t *patch,
                  const struct store_write_opts *o, json_t **out, struct err *e);
int forward_remove(struct store *st, const struct api_resource *res, const char *ns,
                   const char *name, const struct store_delete_opts *o, json_t **out,
                   struct err *e);
int forward_bind(struct store *st, const char *ns, const char *pod, const char *node,
                 struct err *e);
int forward_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                       const struct store_watch_opts *o, struct store_watch **out,
                       struct err *e);
void forward_destroy(struct store *st);

#endif
