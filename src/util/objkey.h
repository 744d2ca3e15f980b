/*
 * The key of an object in a cache, a work queue or a table:
 * "namespace/name", or the bare name of a cluster-scoped object (client-go's
 * MetaNamespaceKeyFunc). Joined by hand: informers and reconcilers make one
 * per event, and snprintf's format parsing cost several times the copy.
 */
#ifndef GPUSLICE_UTIL_OBJKEY_H
#define GPUSLICE_UTIL_OBJKEY_H

#include <stddef.h>

/* Writes the key of name in namespace ns (NULL or "": cluster-scoped; a
 * NULL name is "") to buf, len bytes, cut to fit and NUL-terminated when
 * len > 0, as snprintf does; returns the key's whole length, so a result
 * >= len means it was cut. */
size_t objkey_join(char *buf, size_t len, const char *ns, const char *name);

#endif
