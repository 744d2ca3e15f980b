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
#include "util/fileset.h"

/* Creates default, kube-system, kube-public and kube-node-lease when
 * missing. */
int bootstrap_namespaces(struct store *st, struct err *e);

/* Creates (or replaces) the CustomResourceDefinitions in every file of
 * crds (built in, or read from a folder), in order. Bad YAML, a document of
 * another kind, or a CRD the store rejects is an error naming the file and
 * the document; the CRDs before it stay stored. Sets *loaded (if not NULL)
 * to the number of CRDs stored. */
int bootstrap_crds(struct store *st, const struct fileset *crds, size_t *loaded,
                   struct err *e);

#endif
