/*
 * Where the API server is and who we are: a kubeconfig file (through the
 * project's YAML converter, so every error names the file, line, column and
 * field) or a pod's service account. Certificates and keys named by file are
 * read here, once, so a bad path fails at start-up rather than at the first
 * request, and the transport only ever deals with bytes in memory.
 *
 * Precedence follows client-go: *-data over the file it replaces, tokenFile
 * over token; exec and auth-provider plugins and basic authentication are
 * refused with a message saying so, rather than ignored into a 401 later.
 */
#include "store/kube.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#include "util/readfile.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/yaml.h"

#define KUBE_FILE_MAX (1u << 20)

struct kc_ctx {
    const struct yaml_doc *d;
    const char *dir;  /* the kubeconfig's directory, "" for the working one */
    struct err *e;
};

static int kc_fail(const struct kc_ctx *k, const json_t *obj, const char *key, int code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reports at the member key of obj when it is there, else at obj itself. */
static int kc_fail(const struct kc_ctx *k, const json_t *obj, const char *key, int code,
                   const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct yaml_mark at;
    bool known = key ? yaml_doc_where_member(k->d, obj, key, &at, NULL)
                     : yaml_doc_where(k->d, obj, &at);
    return yaml_doc_fail(k->d, known ? &at : NULL, k->e, code, "%s", msg);
}

/* The first line of a token file, without trailing white space. */
static void kube_trim(char *s)
{
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
}

void kube_config_free(struct kube_config *c)
{
    if (!c)
        return;
    free(c->source);
    free(c->server);
    free(c->ns);
    free(c->ca);
    free(c->cert);
    free(c->key);
    free(c->token);
    free(c->token_file);
    free(c);
}

/* ---- kubeconfig fields ---------------------------------------------------- */

/* obj[key] as a string: NULL when absent, an error when not a string. */
static int kc_string(const struct kc_ctx *k, const json_t *obj, const char *key,
                     const char *where, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return kc_fail(k, obj, key, -EINVAL, "%s%s%s: must be a string", where,
                       *where ? "." : "", key);
    *out = json_string_value(v);
    return 0;
}

/* A file name from the kubeconfig, relative to its directory. */
static char *kc_path(const struct kc_ctx *k, const char *name)
{
    char *p = NULL;
    if (name[0] == '/' || !*k->dir)
        return alloc_strdup(name);
    return asprintf(&p, "%s/%s", k->dir, name) < 0 ? NULL : p;
}

/* Fills *buf from obj[data_key] (base64) or else the file obj[file_key]
 * names; leaves it NULL when neither is there. */
static int kc_pem(const struct kc_ctx *k, const json_t *obj, const char *where,
                  const char *data_key, const char *file_key, unsigned char **buf, size_t *len)
{
    const char *data, *file;
    int rc = kc_string(k, obj, data_key, where, &data);
    if (rc == 0)
        rc = kc_string(k, obj, file_key, where, &file);
    if (rc)
        return rc;
    if (data) {
        rc = base64_decode(data, buf, len);
        if (rc == 0 && *len == 0) { /* nothing is no certificate */
            free(*buf);
            *buf = NULL;
            rc = -EINVAL;
        }
        if (rc)
            return kc_fail(k, obj, data_key, -EINVAL, "%s.%s: not valid base64", where,
                           data_key);
        return 0;
    }
    if (!file)
        return 0;
    char *path = kc_path(k, file);
    if (!path)
        return err_set(k->e, -ENOMEM, "out of memory");
    struct err fe;
    char *text;
    rc = readfile_all(path, KUBE_FILE_MAX, &text, len, &fe);
    free(path);
    if (rc)
        return kc_fail(k, obj, file_key, rc, "%s.%s: %s", where, file_key, fe.msg);
    *buf = (unsigned char *)text;
    return 0;
}

/* The item of root[list] whose name is name, and its field inner. */
static int kc_named(const struct kc_ctx *k, const json_t *root, const char *list,
                    const char *name, const char *inner, const json_t **out, char *where,
                    size_t where_len)
{
    const json_t *arr = json_object_get(root, list);
    if (arr && !json_is_array(arr))
        return kc_fail(k, root, list, -EINVAL, "%s: must be a list", list);
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item) {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (!n || strcmp(n, name) != 0)
            continue;
        snprintf(where, where_len, "%s[%zu].%s", list, i, inner);
        const json_t *v = json_object_get(item, inner);
        if (!json_is_object(v))
            return kc_fail(k, item, v ? inner : NULL, -EINVAL, "%s: must be a mapping", where);
        *out = v;
        return 0;
    }
    return kc_fail(k, root, list, -EINVAL, "%s: no entry named \"%s\"", list, name);
}

static int kc_dup(const char *s, char **out, struct err *e)
{
    *out = NULL;
    if (s && !(*out = alloc_strdup(s)))
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

static int kc_cluster(const struct kc_ctx *k, const json_t *cl, const char *where,
                      struct kube_config *c)
{
    const char *server;
    int rc = kc_string(k, cl, "server", where, &server);
    if (rc)
        return rc;
    if (!server || !*server)
        return kc_fail(k, cl, NULL, -EINVAL, "%s.server: Required value", where);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return kc_fail(k, cl, "server", -EINVAL,
                       "%s.server: \"%s\" is not an http:// or https:// URL", where, server);
    if ((rc = kc_dup(server, &c->server, k->e)))
        return rc;
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    const json_t *insecure = json_object_get(cl, "insecure-skip-tls-verify");
    if (insecure && !json_is_boolean(insecure))
        return kc_fail(k, cl, "insecure-skip-tls-verify", -EINVAL,
                       "%s.insecure-skip-tls-verify: must be true or false", where);
    c->insecure = json_is_true(insecure);
    rc = kc_pem(k, cl, where, "certificate-authority-data", "certificate-authority", &c->ca,
                &c->ca_len);
    if (rc == 0 && c->insecure && c->ca)
        return kc_fail(k, cl, "insecure-skip-tls-verify", -EINVAL,
                       "%s: a certificate authority and insecure-skip-tls-verify together "
                       "are not allowed",
                       where);
    return rc;
}

static int kc_user(const struct kc_ctx *k, const json_t *u, const char *where,
                   struct kube_config *c)
{
    static const char *const refused[] = {"exec", "auth-provider", "username", "password"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (json_object_get(u, refused[i]))
            return kc_fail(k, u, refused[i], -ENOTSUP,
                           "%s.%s: %s is not supported; use a token, tokenFile or a "
                           "client certificate",
                           where, refused[i],
                           i < 2 ? "a credential plugin" : "basic authentication");
    int rc = kc_pem(k, u, where, "client-certificate-data", "client-certificate", &c->cert,
                    &c->cert_len);
    if (rc == 0)
        rc = kc_pem(k, u, where, "client-key-data", "client-key", &c->key, &c->key_len);
    if (rc)
        return rc;
    if (!c->cert != !c->key)
        return kc_fail(k, u, NULL, -EINVAL, "%s: %s without %s", where,
                       c->cert ? "client-certificate" : "client-key",
                       c->cert ? "client-key" : "client-certificate");
    const char *token, *token_file;
    if ((rc = kc_string(k, u, "token", where, &token)) ||
        (rc = kc_string(k, u, "tokenFile", where, &token_file)))
        return rc;
    if (token_file) {
        if (!(c->token_file = kc_path(k, token_file)))
            return err_set(k->e, -ENOMEM, "out of memory");
        struct stat sb;
        if (stat(c->token_file, &sb) != 0)
            return kc_fail(k, u, "tokenFile", -errno, "%s.tokenFile: %s: %s", where,
                           c->token_file, strerror(errno));
    }
    return kc_dup(token, &c->token, k->e);
}

static int kc_resolve(const struct kc_ctx *k, const json_t *root, const char *context,
                      struct kube_config *c)
{
    if (!json_is_object(root))
        return kc_fail(k, root, NULL, -EINVAL, "not a kubeconfig (expected a mapping)");
    const char *name = context;
    int rc = 0;
    if (!name && (rc = kc_string(k, root, "current-context", "", &name)))
        return rc;
    if (!name || !*name)
        return kc_fail(k, root, NULL, -EINVAL, "current-context: Required value (no context "
                                               "given and none is current)");
    char where[64], cwhere[64], uwhere[64];
    const json_t *ctx, *cl, *u;
    if ((rc = kc_named(k, root, "contexts", name, "context", &ctx, where, sizeof where)))
        return rc;
    const char *cluster, *user, *ns;
    if ((rc = kc_string(k, ctx, "cluster", where, &cluster)) ||
        (rc = kc_string(k, ctx, "user", where, &user)) ||
        (rc = kc_string(k, ctx, "namespace", where, &ns)))
        return rc;
    if (!cluster)
        return kc_fail(k, ctx, NULL, -EINVAL, "%s.cluster: Required value", where);
    if ((rc = kc_named(k, root, "clusters", cluster, "cluster", &cl, cwhere, sizeof cwhere)) ||
        (rc = kc_cluster(k, cl, cwhere, c)) || (rc = kc_dup(ns, &c->ns, k->e)))
        return rc;
    if (!user)
        return 0;
    if ((rc = kc_named(k, root, "users", user, "user", &u, uwhere, sizeof uwhere)))
        return rc;
    return kc_user(k, u, uwhere, c);
}

int kube_config_load(const char *path, const char *context, struct kube_config **out,
                     struct err *e)
{
    *out = NULL;
    struct yaml_doc *d;
    int rc = yaml_doc_load(path, NULL, &d, e);
    if (rc)
        return rc;
    struct kube_config *c = alloc_calloc(1, sizeof *c);
    char *dir = alloc_strdup(path);
    c->source = alloc_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    struct kc_ctx k = {d, slash ? dir : "", e};
    json_t *root = yaml_doc_count(d) ? yaml_doc_root(d, 0) : NULL;
    rc = root ? kc_resolve(&k, root, context, c) : err_set(e, -EINVAL, "%s: empty kubeconfig", path);
    free(dir);
    yaml_doc_free(d);
    if (rc) {
        kube_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- in-cluster ------------------------------------------------------------ */

static int kube_join(const char *dir, const char *file, char **out, struct err *e)
{
    if (asprintf(out, "%s/%s", dir, file) < 0) {
        *out = NULL;
        return err_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

int kube_config_in_cluster(const char *dir, struct kube_config **out, struct err *e)
{
    *out = NULL;
    if (!dir)
        dir = KUBE_IN_CLUSTER_DIR;
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return err_set(e, -ENOENT, "not in a cluster: KUBERNETES_SERVICE_HOST and "
                                   "KUBERNETES_SERVICE_PORT must be set");
    struct kube_config *c = alloc_calloc(1, sizeof *c);
    int rc = 0;
    bool v6 = strchr(host, ':') != NULL;
    if (asprintf(&c->server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0 ||
        !(c->source = alloc_strdup(dir))) {
        c->server = NULL;
        rc = err_set(e, -ENOMEM, "out of memory");
    }
    char *path = NULL, *text = NULL;
    size_t len;
    if (rc == 0 && (rc = kube_join(dir, "token", &c->token_file, e)) == 0 &&
        (rc = readfile_all(c->token_file, KUBE_FILE_MAX, &text, &len, e)) == -ENOENT)
        err_prefix(e, rc, "not in a cluster: ");
    free(text);
    if (rc == 0 && (rc = kube_join(dir, "ca.crt", &path, e)) == 0 &&
        (rc = readfile_all(path, KUBE_FILE_MAX, &text, &c->ca_len, e)) == 0)
        c->ca = (unsigned char *)text;
    free(path);
    path = NULL;
    /* The namespace file is optional: a pod may run without it. */
    if (rc == 0 && (rc = kube_join(dir, "namespace", &path, e)) == 0 &&
        readfile_all(path, 256, &c->ns, &len, NULL) == 0)
        kube_trim(c->ns);
    free(path);
    if (rc) {
        kube_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int kube_config_default(struct kube_config **out, struct err *e)
{
    *out = NULL;
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        size_t n = strcspn(env, ":");
        char *first = alloc_strndup(env, n);
        int rc = kube_config_load(first, NULL, out, e);
        free(first);
        return rc;
    }
    const char *home = getenv("HOME");
    char *path = NULL;
    struct stat sb;
    if (home && *home && asprintf(&path, "%s/.kube/config", home) < 0)
        return err_set(e, -ENOMEM, "out of memory");
    int rc = path && stat(path, &sb) == 0 ? kube_config_load(path, NULL, out, e)
                                          : kube_config_in_cluster(NULL, out, e);
    free(path);
    return rc;
}
