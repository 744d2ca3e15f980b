/*
 * Object keys (see objkey.h).
 */
#include "util/objkey.h"

#include <errno.h>
#include <string.h>

/* Copies what fits of s (n bytes) to buf + at, below len - 1. */
static void put(char *buf, size_t len, size_t at, const char *s, size_t n)
{
    if (at + 1 >= len)
        return;
    size_t room = len - 1 - at;
    memcpy(buf + at, s, n < room ? n : room);
}

size_t objkey_join(char *buf, size_t len, const char *ns, const char *name)
{
    size_t sl = ns ? strlen(ns) : 0;
    size_t nl = name ? strlen(name) : 0;
    size_t at = sl ? sl + 1 : 0;
    size_t whole = at + nl;
    if (len == 0)
        return whole;
    if (sl) {
        put(buf, len, 0, ns, sl);
        put(buf, len, sl, "/", 1);
    }
    put(buf, len, at, name ? name : "", nl);
    buf[whole < len ? whole : len - 1] = '\0';
    return whole;
}

int objkey_split(const char *key, char *ns, size_t size, const char **name)
{
    const char *slash = strchr(key, '/');
    size_t ns_len = slash ? (size_t)(slash - key) : 0;
    const char *n = slash ? slash + 1 : key;
    if ((slash && ns_len == 0) || !*n || strchr(n, '/'))
        return -EINVAL;
    if (ns_len >= size)
        return -ENAMETOOLONG;
    memcpy(ns, key, ns_len);
    ns[ns_len] = '\0';
    *name = n;
    return 0;
}
