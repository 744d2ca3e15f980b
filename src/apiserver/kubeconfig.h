/*
 * The kubeconfig file `gpuslice cluster` writes so that kubectl (or the
 * kube store backend) can reach the embedded API server: one cluster, one
 * user with the bearer token if there is one, one context, current.
 *
 * The file is written with mode 0600 (it may hold the token) and replaced
 * atomically. It starts with a marker line, and a file without it is never
 * overwritten, so pointing --kubeconfig at ~/.kube/config by mistake
 * cannot destroy a real configuration.
 */
#ifndef GPUSLICE_APISERVER_KUBECONFIG_H
#define GPUSLICE_APISERVER_KUBECONFIG_H

#include "util/err.h"

#define KUBECONFIG_MARKER "# Written by gpuslice cluster; removed when it stops."

struct kubeconfig_spec {
    const char *name;    /* cluster, user and context name, e.g. "gpuslice" */
    const char *server;  /* base URL */
    const char *token;   /* NULL: no user credentials */
    const char *ca_file; /* CA certificate for an https server, or NULL */
};

/* Writes the kubeconfig for k at path, mode 0600, atomically
 * (util/atomicfile.h). -EEXIST when path exists and was
 * not written by gpuslice; -errno for I/O failures. */
int kubeconfig_write(const char *path, const struct kubeconfig_spec *k, struct err *e);

/* Removes path if gpuslice wrote it (the marker is there); 0 also when
 * there is nothing to remove. -EEXIST when the file is someone else's. */
int kubeconfig_remove(const char *path, struct err *e);

#endif
