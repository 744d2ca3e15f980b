/* The bounded copy of strcopy.h. */
#include "util/strcopy.h"

#include <string.h>

size_t strcopy_cut(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (size == 0)
        return len;
    size_t n = len < size ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return len;
}
