/*
 * A string into a fixed buffer, cut to fit: what snprintf(dst, size, "%s",
 * src) does, without parsing a format. The controller and the API readers
 * copy names into fixed fields on every pod (a reservation's namespace,
 * name, GPU and profile; a slice request's container and profile), and the
 * format machinery cost ten times the bytes copied.
 */
#ifndef GPUSLICE_UTIL_STRCOPY_H
#define GPUSLICE_UTIL_STRCOPY_H

#include <stddef.h>

/* Copies src into dst (size bytes), cut to size - 1 bytes and always
 * NUL-terminated when size > 0; nothing is written when size is 0.
 * Returns strlen(src), as snprintf does: a result >= size means it was
 * cut. src and dst must not overlap. */
size_t strcopy_cut(char *dst, size_t size, const char *src);

#endif
