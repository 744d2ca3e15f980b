/*
 * Writing and removing the embedded cluster's kubeconfig (kubeconfig.h).
 * Strings are written as YAML double-quoted scalars, so a token or path
 * with any characters reads back as written.
 */
#include "apiserver/kubeconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/atomicfile.h"

/* Whether path exists and is not ours; -errno when it cannot be read. */
static int foreign_file(const char *path, bool *foreign)
{
    char line[sizeof KUBECONFIG_MARKER + 1];
    FILE *f = fopen(path, "r");
    *foreign = false;
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    *foreign = !fgets(line, sizeof line, f) ||
               strncmp(line, KUBECONFIG_MARKER, sizeof KUBECONFIG_MARKER - 1) != 0;
    fclose(f);
    return 0;
}

static void put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_field(FILE *f, const char *indent, const char *key, const char *value)
{
    fprintf(f, "%s%s: ", indent, key);
    put_quoted(f, value);
    fputc('\n', f);
}

static void put_config(FILE *f, const struct kubeconfig_spec *k)
{
    fprintf(f, "%s\napiVersion: v1\nkind: Config\nclusters:\n- cluster:\n", KUBECONFIG_MARKER);
    put_field(f, "    ", "server", k->server);
    if (k->ca_file)
        put_field(f, "    ", "certificate-authority", k->ca_file);
    put_field(f, "  ", "name", k->name);
    fputs("contexts:\n- context:\n", f);
    put_field(f, "    ", "cluster", k->name);
    put_field(f, "    ", "user", k->name);
    put_field(f, "  ", "name", k->name);
    put_field(f, "", "current-context", k->name);
    fputs("preferences: {}\nusers:\n- name: ", f);
    put_quoted(f, k->name);
    fputs("\n  user:", f);
    if (k->token) {
        fputc('\n', f);
        put_field(f, "    ", "token", k->token);
    } else {
        fputs(" {}\n", f);
    }
}

int kubeconfig_write(const char *path, const struct kubeconfig_spec *k, struct err *e)
{
    bool foreign;
    int rc = foreign_file(path, &foreign);
    if (rc != 0)
        return err_set(e, rc, "%s: %s", path, strerror(-rc));
    if (foreign)
        return err_set(e, -EEXIST, "%s exists and was not written by gpuslice; choose another "
                       "--kubeconfig", path);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return err_set(e, -ENOMEM, "%s: out of memory", path);
    put_config(f, k);
    bool failed = ferror(f) != 0;
    failed |= fclose(f) != 0;
    rc = failed ? err_set(e, -ENOMEM, "%s: out of memory", path)
                : atomicfile_write(path, text, len, 0600, e);
    free(text);
    return rc;
}

int kubeconfig_remove(const char *path, struct err *e)
{
    bool foreign;
    int rc = foreign_file(path, &foreign);
    if (rc != 0)
        return err_set(e, rc, "%s: %s", path, strerror(-rc));
    if (foreign)
        return err_set(e, -EEXIST, "%s was not written by gpuslice; left in place", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    return 0;
}
