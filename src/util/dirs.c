/*
 * mkdir -p (dirs.h): each prefix of the path that ends at a '/' made in
 * turn, EEXIST accepted where it is a folder.
 */
#include "util/dirs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static int make_one(const char *path, mode_t mode, struct err *e)
{
    if (mkdir(path, mode) == 0)
        return 0;
    int rc = -errno;
    struct stat st;
    if (rc == -EEXIST && stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : err_set(e, -ENOTDIR, "%s: not a folder", path);
    return err_set(e, rc, "cannot create %s: %s", path, strerror(-rc));
}

int dirs_make(const char *path, mode_t mode, struct err *e)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return err_set(e, len ? -ENAMETOOLONG : -EINVAL, "a folder path of %zu bytes", len);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        int rc = make_one(buf, mode, e);
        *p = '/';
        if (rc < 0)
            return rc;
    }
    return make_one(buf, mode, e);
}
