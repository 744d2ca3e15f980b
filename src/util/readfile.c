/*
 * Whole-file reads (readfile.h): fread into a buffer grown as it fills,
 * never asked for more than max + 1 bytes in all.
 */
#include "util/readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

int readfile_all(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char *buf = NULL;
    int rc = 0;
    while (rc == 0 && n <= max) {
        VEC_RESERVE(buf, cap, n < 4096 ? 4096 : n + 1);
        size_t want = cap - n < max + 1 - n ? cap - n : max + 1 - n;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got == 0 && ferror(f))
            rc = err_set(e, errno ? -errno : -EIO, "%s: %s", path, strerror(errno ? errno : EIO));
        if (got == 0)
            break;
    }
    if (rc == 0 && n > max)
        rc = err_set(e, -E2BIG, "%s: larger than %zu bytes", path, max);
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    VEC_RESERVE(buf, cap, n + 1);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}
