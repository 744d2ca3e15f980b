/*
 * The `kube` store backend: the store.h interface over a Kubernetes API
 * server's REST API, with libcurl. It is what the controller and the agent
 * use in a real cluster, and what the integration tests run against the
 * embedded API server, so both backends answer every call the same way.
 *
 * Where the server is and who we are comes from a struct kube_config: read
 * from a kubeconfig file (kube_config_load) or from the service account a
 * pod runs as (kube_config_in_cluster). TLS is always verified unless the
 * kubeconfig says insecure-skip-tls-verify; certificates and keys are read
 * when the configuration is loaded and handed to libcurl from memory.
 *
 * Every call is one HTTP request (a watch is one streaming request read by
 * a thread of its own). Idle connections are kept in a pool and reused; TLS
 * sessions and DNS answers are shared between them. Requests time out, and
 * responses and watch events are bounded in size (-E2BIG past the bound).
 *
 * Where the server answers differently from the mem backend, the kube
 * backend passes the answer through: store_delete's *out is NULL when the
 * server answers a delete with a Status rather than the object (the API
 * server does for most kinds but pods and custom resources), and watch
 * events carry objects, never raw text.
 */
#ifndef GPUSLICE_STORE_KUBE_H
#define GPUSLICE_STORE_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

#define KUBE_IN_CLUSTER_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the API server is and how to authenticate to it. Every field is
 * owned by the config and freed by kube_config_free; byte buffers hold PEM
 * text (not NUL-terminated; their length says). */
struct kube_config {
    char *source;          /* what the config was read from, for messages */
    char *server;          /* "https://host:port" or "http://host:port", no trailing '/' */
    char *ns;              /* the context's namespace, or NULL */
    bool insecure;         /* insecure-skip-tls-verify */
    unsigned char *ca;     /* certificate-authority(-data); NULL: the system's */
    size_t ca_len;
    unsigned char *cert;   /* client-certificate(-data); NULL: none */
    size_t cert_len;
    unsigned char *key;    /* client-key(-data); set exactly when cert is */
    size_t key_len;
    char *token;           /* bearer token, or NULL */
    char *token_file;      /* re-read every minute (service-account tokens rotate) */
};

/* Reads the kubeconfig at path and resolves context (NULL: its
 * current-context) into *out, owned by the caller (kube_config_free).
 * Relative file names are relative to the kubeconfig's directory. Errors
 * name the file, the line and column and the field: -EINVAL for a missing
 * or malformed field, -ENOTSUP for an exec or auth-provider plugin or basic
 * authentication (not supported), -errno for a file that cannot be read. */
int kube_config_load(const char *path, const char *context, struct kube_config **out,
                     struct err *e);

/* The configuration of a pod's service account: the token and CA in dir
 * (NULL: KUBE_IN_CLUSTER_DIR) and the server from KUBERNETES_SERVICE_HOST
 * and KUBERNETES_SERVICE_PORT. -ENOENT when not running in a cluster (the
 * variables are unset or the token is missing). *out is the caller's. */
int kube_config_in_cluster(const char *dir, struct kube_config **out, struct err *e);

/* Where a client finds its cluster when it is not told: the first file in
 * $KUBECONFIG (a ':'-separated list), else ~/.kube/config when it exists,
 * else the in-cluster configuration. *out is the caller's. */
int kube_config_default(struct kube_config **out, struct err *e);

void kube_config_free(struct kube_config *c);

#define KUBE_TIMEOUT_MS_DEFAULT 30000
#define KUBE_CONNECT_TIMEOUT_MS_DEFAULT 10000
#define KUBE_MAX_RESPONSE_DEFAULT (64u << 20)
#define KUBE_MAX_EVENT_DEFAULT (8u << 20)
#define KUBE_WATCH_QUEUE_DEFAULT 1024

/* Limits of a kube store; a zero field takes its *_DEFAULT. */
struct kube_store_opts {
    long timeout_ms;         /* whole request, watches excepted */
    long connect_timeout_ms; /* connection set-up, watches included */
    size_t max_response;     /* bytes of one response body */
    size_t max_event;        /* bytes of one watch event line */
    size_t watch_queue;      /* events a watch buffers before it stops reading */
    size_t idle_connections; /* connections kept for reuse; 0: 8 */
};

/* A store talking to the API server cfg names. cfg is copied; o may be
 * NULL. The registry knows the built-in resources and gpuslice's own CRDs
 * (api_registry_new); kube_store_discover adds the server's other CRDs.
 * Nothing is sent until the first call. *out is the caller's (store_free).
 * -EINVAL for an unusable config, -ENOMEM. */
int kube_store_new(const struct kube_config *cfg, const struct kube_store_opts *o,
                   struct store **out, struct err *e);

/* Lists the server's CustomResourceDefinitions and serves each in the
 * store's registry, so that store_registry() resolves their resources too.
 * A CRD the registry refuses (one that redefines a built-in resource, or
 * that it cannot read) is skipped. Sets *added (if not NULL) to how many
 * CRDs were served. -EINVAL when st is not a kube store. */
int kube_store_discover(struct store *st, size_t *added, struct err *e);

#endif
