/*
 * Mutating admission for the embedded API server, as the real one does it:
 * the MutatingWebhookConfigurations in the store say which webhooks see a
 * request, and each one that matches is called over HTTPS with an
 * AdmissionReview (admission.k8s.io/v1) before the object is stored.
 *
 * A webhook matches when one of its rules names the operation, the
 * resource's group, version and plural (or "*"; "*\/\*" too) and its scope,
 * when its namespaceSelector matches the labels of the object's namespace
 * (with kubernetes.io/metadata.name, which the API server sets on every
 * namespace; a Namespace is matched by its own labels; other cluster-scoped
 * objects are not filtered), and when its objectSelector matches the
 * object's labels. Webhooks run in the order of their configurations'
 * names, then as listed; each sees what the ones before it made. The
 * MutatingWebhookConfigurations themselves are never sent to webhooks.
 *
 * The call: POST to clientConfig.url, or for clientConfig.service
 * {namespace, name, port (443), path} to the Service's spec.clusterIP and
 * the targetPort of its port (the embedded cluster stands in for
 * kube-proxy, so a webhook on this host is reached by giving its Service
 * clusterIP 127.0.0.1 and its port as targetPort), while TLS checks the
 * certificate for <name>.<namespace>.svc as the real API server does. The
 * certificate must verify against caBundle (PEM, base64 in the object), or
 * the system's roots when there is none; only https is allowed. The call
 * lasts at most timeoutSeconds (10 when unset).
 *
 * The answer: allowed: false fails the request with the webhook's own
 * Status passed through as kube-apiserver does (its webhook
 * errors.ToStatusErr): reason, details and code as the webhook gave them
 * (a code outside 400-599 becomes 400; no reason is derived from the
 * code), status Failure, and the message "admission webhook \"NAME\"
 * denied the request: MESSAGE" (the webhook's reason when it gave no
 * message; "... denied the request without explanation" when neither), which
 * kubectl prints; a JSONPatch is applied to the object. A failure to call
 * (connection, TLS, timeout, HTTP status, an answer that is not a
 * matching AdmissionReview) fails the request as an internal error when
 * failurePolicy is Fail (the default) and is skipped when it is Ignore. A
 * patch that does not apply always fails the request.
 *
 * In a dry run, only webhooks with sideEffects None or NoneOnDryRun are
 * called (with dryRun: true); any other that matches fails the request.
 * reinvocationPolicy IfNeeded calls a webhook once more when a webhook
 * after it changed the object. matchConditions (CEL) are not evaluated:
 * a webhook with them is called as if they held.
 *
 * Connections are kept, as the real API server keeps them: an
 * admission_pool holds the curl handles of finished calls, each with its
 * live TLS connections, and the next call takes the most recently used
 * one, so a burst of creates reuses a few connections instead of paying a
 * TLS handshake per pod. curl reuses a connection only for the same host,
 * port and TLS settings (the caBundle included), checks that it is still
 * alive first, and opens a new one when the webhook closed it (a restart,
 * an idle timeout, a certificate reload).
 */
#ifndef GPUSLICE_APISERVER_ADMISSION_H
#define GPUSLICE_APISERVER_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util/err.h"

/* The longest answer read from a webhook. */
#define ADMISSION_MAX_RESPONSE (8u << 20)
/* Idle curl handles (with their connections) a pool keeps: as many as
 * creates that call webhooks at the same time, in the common case. */
#define ADMISSION_POOL_IDLE_MAX 8

/* Webhook connections kept between calls; safe to use from any number of
 * threads at once. */
struct admission_pool;

/* A new, empty pool, owned by the caller (admission_pool_free). Allocation
 * failure aborts (util/alloc.h). */
struct admission_pool *admission_pool_new(void);

/* Closes the kept connections and frees pool (may be NULL). No call may be
 * in progress. */
void admission_pool_free(struct admission_pool *pool);

/* Webhook calls made through pool so far, and the connections they had to
 * open (the rest reused one). */
void admission_pool_stats(const struct admission_pool *pool, uint64_t *calls,
                          uint64_t *connections);

/* How many times admissions through pool listed the
 * MutatingWebhookConfigurations: once, then again only after they changed
 * (the pool watches them; see admission.c). */
uint64_t admission_pool_lists(const struct admission_pool *pool);

/* Admits the creation of *obj (res in namespace ns, NULL when
 * cluster-scoped), calling webhooks over pool's connections (NULL: a new
 * connection per call, closed after it): on success *obj is replaced by what the webhooks made of
 * it (the old reference released). On failure *obj is left as it was and e
 * says which webhook refused or failed and why, with the code the API server
 * would answer: the webhook's own (-EINVAL 422, -EPERM 403, -EBADMSG 400,
 * ...) for a denial, -EIO (500) for a failed call or patch, -EBADMSG for a
 * dry run a webhook does not support. *denial is the Status to answer a
 * webhook's denial with (a new reference, the caller's), NULL for every
 * other outcome, whose Status the caller makes from e. */
int admission_create(struct admission_pool *pool, struct store *st,
                     const struct api_resource *res, const char *ns, bool dry_run, json_t **obj,
                     json_t **denial, struct err *e);

#endif
