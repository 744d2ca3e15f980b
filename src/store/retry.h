/*
 * Read-modify-write with optimistic concurrency: re-read and re-apply a
 * change when someone else wrote the object in between (-ESTALE, the API
 * server's 409 Conflict), for callers whose change is idempotent (applying
 * it to any version of the object gives what they want), such as adding a
 * finalizer, setting a condition, or removing a scheduling gate.
 */
#ifndef GPUSLICE_STORE_RETRY_H
#define GPUSLICE_STORE_RETRY_H

#include <jansson.h>

#include "store/store.h"

#define STORE_RETRY_ATTEMPTS 5

/* What a mutate function returns to leave the object as it is (the change
 * is already there): nothing is written. */
#define STORE_MUTATE_UNCHANGED 1

/* Changes obj (a fresh copy of the stored object, the caller's to modify)
 * in place. Returns 0 to write it, STORE_MUTATE_UNCHANGED to write nothing,
 * or a negative code (with e filled) to give up. Called once per attempt,
 * each time on the then-current object. */
typedef int (*store_mutate_fn)(json_t *obj, void *ctx, struct err *e);

/* Reads res ns/name, applies mutate, and updates it with the version read as
 * the precondition (whatever mutate did to metadata.resourceVersion); on
 * -ESTALE does it again, up to attempts times in all (0:
 * STORE_RETRY_ATTEMPTS). o (may be NULL) is passed to store_update, so
 * o->subresource = STORE_STATUS writes the status. On success *out (if not
 * NULL) is the object as stored (as read, when unchanged), owned by the
 * caller. Returns the code of the last failure: -ESTALE when every attempt
 * conflicted, -ENOENT when the object is gone, or mutate's own code. On
 * failure no attempt was written (as store.h says of a transport error,
 * the server may still have applied the last one). */
int store_update_retry(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, store_mutate_fn mutate, void *ctx,
                       const struct store_write_opts *o, int attempts, json_t **out,
                       struct err *e);

#endif
