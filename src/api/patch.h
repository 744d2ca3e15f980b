/*
 * The three PATCH formats of the Kubernetes API, applied to JSON documents.
 *
 * - JSON merge patch (RFC 7386): objects merge key by key, null deletes,
 *   anything else (arrays included) replaces.
 * - JSON patch (RFC 6902): add, remove, replace, move, copy and test, with
 *   JSON pointers (RFC 6901, "-" appends to an array); the operations apply
 *   in order and all or nothing; at most PATCH_JSON_MAX_OPS of them.
 * - Strategic merge patch, for the built-in kinds: like a merge patch, but a
 *   list the kind declares mergeable merges element by element on its merge
 *   key instead of being replaced. Covered: Pod (and the pod template of
 *   Deployment, ReplicaSet and Job) containers, initContainers,
 *   ephemeralContainers (by name), their env (name), ports (containerPort),
 *   volumeMounts (mountPath) and volumeDevices (devicePath); volumes,
 *   imagePullSecrets, schedulingGates, resourceClaims (name); hostAliases
 *   (ip); status.conditions of every kind (type); Node status.addresses
 *   (type); MutatingWebhookConfiguration webhooks (name);
 *   metadata.ownerReferences (uid); metadata.finalizers (merged as a set).
 *   Every other list (tolerations, nodeSelectorTerms, args, ...) is replaced
 *   whole, as the API server does for lists without a patch strategy.
 *   Directives: `$patch: replace` (a map, or a list element meaning "replace
 *   the whole list"), `$patch: delete` (a map, or a list element deleting the
 *   element with that key), `$deleteFromPrimitiveList/<list>`, `$retainKeys`;
 *   `$setElementOrder/<list>` is accepted and ignored (merged elements keep
 *   their order, new ones are appended).
 *
 * All functions leave their inputs untouched and return a new document in
 * *out owned by the caller; the merge patch's shares with target the parts
 * the patch leaves alone (every object on a patched path is new), so its
 * caller changes only what the patch touched, or copies first. -EBADMSG when the patch itself is malformed,
 * -EINVAL when it does not apply (a path that does not exist, a failed
 * test), each with a message naming the operation or path.
 */
#ifndef GPUSLICE_API_PATCH_H
#define GPUSLICE_API_PATCH_H

#include <jansson.h>

#include "util/err.h"

#define PATCH_JSON_MAX_OPS 10000

int patch_merge(const json_t *target, const json_t *patch, json_t **out, struct err *e);

int patch_json(const json_t *target, const json_t *ops, json_t **out, struct err *e);

/* kind is the object's kind ("Pod"); an unknown kind merges every list by
 * replacement. */
int patch_strategic(const json_t *target, const json_t *patch, const char *kind, json_t **out,
                    struct err *e);

/* The value at a JSON pointer (RFC 6901) in doc, borrowed; NULL when it does
 * not resolve. */
json_t *patch_pointer_get(const json_t *doc, const char *pointer);

#endif
