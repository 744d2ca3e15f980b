/*
 * What an API server has before its first client: the system namespaces,
 * and for gpuslice its own CustomResourceDefinitions (deploy/crds), stored
 * as objects so that `kubectl get crds` lists them and their printer
 * columns shape `kubectl get gpuslices`.
 */
#ifndef GPUSLICE_APISERVER_BOOTSTRAP_H
#define GPUSLICE_APISERVER_BOOTSTRAP_H

#include "store/store.h"
#include "util/err.h"

/* Creates default, kube-system, kube-public and kube-node-lease when
 * missing. */
int bootstrap_namespaces(struct store *st, struct err *e);

/* Creates (or replaces) the CustomResourceDefinitions in every *.yaml and
 * *.yml file of dir, in name order. A document of another kind, or a CRD
 * the store rejects, is an error naming the file. Sets *loaded (if not
 * NULL) to the number of CRDs stored. */
int bootstrap_crds(struct store *st, const char *dir, size_t *loaded, struct err *e);

#endif
