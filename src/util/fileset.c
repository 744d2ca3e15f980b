/*
 * Reading a folder's YAML files into a fileset (fileset.h).
 */
#include "util/readfile.h"
#include "util/fileset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static int is_yaml_entry(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && ((n > 5 && strcmp(d->d_name + n - 5, ".yaml") == 0) ||
                                   (n > 4 && strcmp(d->d_name + n - 4, ".yml") == 0));
}

/* The whole file at path into f; f->name takes path. */
static int read_one(const char *path, struct fileset_file *f, struct err *e)
{
    char *text;
    size_t len;
    int rc = readfile_all(path, FILESET_MAX_FILE_BYTES, &text, &len, e);
    if (rc == 0)
        *f = (struct fileset_file){.name = alloc_strdup(path), .text = text, .len = len};
    return rc;
}

static int read_all(const char *dir, struct dirent **ents, int n, struct fileset *set,
                    struct err *e)
{
    struct fileset_file *files = alloc_calloc((size_t)n, sizeof *files);
    set->files = files;
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) >= (int)sizeof path)
            return err_set(e, -ENAMETOOLONG, "%s/%s: path too long", dir, ents[i]->d_name);
        int rc = read_one(path, &files[i], e);
        if (rc != 0)
            return rc;
        set->n++;
    }
    return 0;
}

int fileset_read_yaml_dir(const char *dir, struct fileset **out, struct err *e)
{
    *out = NULL;
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, is_yaml_entry, alphasort);
    if (n < 0)
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    struct fileset *set = alloc_calloc(1, sizeof *set);
    set->origin = alloc_strdup(dir);
    int rc = n == 0 ? err_set(e, -ENOENT, "%s: no *.yaml or *.yml files", dir) : 0;
    if (rc == 0)
        rc = read_all(dir, ents, n, set, e);
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    if (rc != 0) {
        fileset_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

/* The casts drop the const that the fileset shows its readers: these
 * strings were allocated by read_one. */
void fileset_free(struct fileset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free((char *)set->files[i].name);
        free((char *)set->files[i].text);
    }
    free((struct fileset_file *)set->files);
    free((char *)set->origin);
    free(set);
}
