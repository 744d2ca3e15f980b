/*
 * The atomic file writer (atomicfile.h): a fresh temporary file beside the
 * target, then rename.
 */
#include "util/atomicfile.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/random.h"

enum { ATOMICFILE_TRIES = 16 };

/* Opens a new file named PATH.~XXXXXXXXXXXXXXXX (random hex) with
 * O_EXCL|O_NOFOLLOW, so an existing name, file or link, is never reused;
 * fills tmp with its name. The fd, or -errno. */
static int open_fresh(const char *path, char *tmp, size_t size)
{
    for (int i = 0; i < ATOMICFILE_TRIES; i++) {
        unsigned long long r = 0;
        if (random_fill(&r, sizeof r) != sizeof r)
            return -EIO;
        if (snprintf(tmp, size, "%s.~%016llx", path, r) >= (int)size)
            return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd >= 0 ? fd : -errno;
    }
    return -EEXIST;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Syncs the folder holding path, so the rename survives a crash. Best
 * effort: the file itself is already in place. */
static void sync_folder(const char *path)
{
    char copy[4096];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
                     struct err *e)
{
    char tmp[4096];
    int fd = open_fresh(path, tmp, sizeof tmp);
    if (fd < 0)
        return err_set(e, fd, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(-fd));
    int rc = fchmod(fd, mode) != 0 ? -errno : 0;
    if (rc == 0)
        rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return err_set(e, rc, "%s: cannot write: %s", path, strerror(-rc));
    }
    sync_folder(path);
    return 0;
}

/* name is base + ".~" + 16 hex digits: one of open_fresh's names for base. */
static bool is_temporary_of(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".~", 2) != 0)
        return false;
    const char *hex = name + n + 2;
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)hex[i]))
            return false;
    return hex[16] == '\0';
}

int atomicfile_clean(const char *path, struct err *e)
{
    char folder_buf[4096], base_buf[4096];
    if (snprintf(folder_buf, sizeof folder_buf, "%s", path) >= (int)sizeof folder_buf)
        return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
    memcpy(base_buf, folder_buf, sizeof base_buf);
    const char *folder = dirname(folder_buf), *base = basename(base_buf);
    DIR *dir = opendir(folder);
    if (!dir)
        return err_set(e, -errno, "%s: cannot read the folder: %s", folder, strerror(errno));
    int removed = 0;
    for (struct dirent *d; (d = readdir(dir));)
        if (is_temporary_of(d->d_name, base) && unlinkat(dirfd(dir), d->d_name, 0) == 0)
            removed++;
    closedir(dir);
    return removed;
}
