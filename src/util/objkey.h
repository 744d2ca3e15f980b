/*
 * The key of an object in a cache, a work queue or a table:
 * "namespace/name", or the bare name of a cluster-scoped object (client-go's
 * MetaNamespaceKeyFunc and SplitMetaNamespaceKey): every key is made and
 * taken apart here, so the two forms never drift. Joined by hand: informers
 * and reconcilers make one per event, and snprintf's format parsing cost
 * several times the copy.
 */
#ifndef GPUSLICE_UTIL_OBJKEY_H
#define GPUSLICE_UTIL_OBJKEY_H

#include <stddef.h>

/* Writes the key of name in namespace ns (NULL or "": cluster-scoped; a
 * NULL name is "") to buf, len bytes, cut to fit and NUL-terminated when
 * len > 0, as snprintf does; returns the key's whole length, so a result
 * >= len means it was cut. */
size_t objkey_join(char *buf, size_t len, const char *ns, const char *name);

/* Splits key, as objkey_join makes it, into its namespace, copied to ns
 * (size bytes; "" for a bare, cluster-scoped name), and its name, *name
 * pointing into key. Returns 0; -EINVAL for a key objkey_join does not make
 * (an empty name, an empty namespace before the '/', a second '/'); or
 * -ENAMETOOLONG when the namespace does not fit in ns. */
int objkey_split(const char *key, char *ns, size_t size, const char **name);

#endif
