/*
 * `gpuslice cluster`: runs the embedded API server (the mem store behind
 * the Kubernetes REST API) until SIGINT or SIGTERM, writes a kubeconfig for
 * it, and says how to point kubectl at it. See docs/cluster.md.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "apiserver/apiserver.h"
#include "apiserver/bootstrap.h"
#include "apiserver/kubeconfig.h"
#include "cmd/commands.h"
#include "cmd/limits.h"
#include "cmd/signals.h"
#include "sim/builtin.h"
#include "store/mem.h"
#include "util/alloc.h"
#include "util/clock.h"

#define TLS_FILE_MAX (1u << 20)

struct cluster_args {
    const char *address, *kubeconfig, *crds, *token, *cert_file, *key_file;
    long port;
    struct httpd_limits limits; /* zero fields: the server's defaults */
    unsigned max_watches;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuslice cluster: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'gpuslice help cluster'\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct cluster_args *a)
{
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"address", required_argument, NULL, 'a'},
        {"kubeconfig", required_argument, NULL, 'k'},
        {"crds", required_argument, NULL, 'c'},
        {"token", required_argument, NULL, 't'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"max-watches", required_argument, NULL, 'W'},
        CMD_LIMITS_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    *a = (struct cluster_args){"127.0.0.1", "gpuslice.kubeconfig", NULL, NULL, NULL, NULL, 0,
                               {0}, 0};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "p:", options, NULL)) != -1;) {
        char *end;
        struct err e;
        int taken = cmd_limits_option(c, optarg, &a->limits, &e);
        if (taken < 0)
            return usage_error("%s", e.msg);
        if (taken)
            continue;
        switch (c) {
        case 'p':
            a->port = strtol(optarg, &end, 10);
            if (!*optarg || *end || a->port < 0 || a->port > 65535)
                return usage_error("--port: \"%s\" is not a port number (0-65535)", optarg);
            break;
        case 'a': a->address = optarg; break;
        case 'k': a->kubeconfig = optarg; break;
        case 'c': a->crds = optarg; break;
        case 't': a->token = optarg; break;
        case 'C': a->cert_file = optarg; break;
        case 'K': a->key_file = optarg; break;
        case 'W': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 1000000)
                return usage_error("--max-watches: \"%s\" is not a whole number from 1 to "
                                   "1000000", optarg);
            a->max_watches = (unsigned)v;
            break;
        }
        default: return usage_error("bad option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument: %s", argv[optind]);
    if (!a->cert_file != !a->key_file)
        return usage_error("--tls-cert and --tls-key go together");
    return 0;
}

/* The whole file at path, NUL-terminated; the caller frees it. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? alloc_malloc(TLS_FILE_MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, TLS_FILE_MAX + 1, f) : 0;
    bool ok = buf && !ferror(f) && n <= TLS_FILE_MAX;
    if (f)
        fclose(f);
    if (!ok) {
        free(buf);
        fprintf(stderr, "gpuslice cluster: cannot read %s (or it is over 1 MiB)\n", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* A random token of 32 hex digits for servers off loopback without one. */
static int random_token(char out[33])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)clock_realtime_now(NULL);
    return seed;
}

/* The namespaces and gpuslice's CRDs: the built-in ones, or those of the
 * folder given with --crds. */
static int bootstrap(struct store *st, const char *crds_dir)
{
    struct err e;
    struct fileset *from_disk = NULL;
    size_t loaded = 0;
    int rc = bootstrap_namespaces(st, &e);
    if (rc == 0 && crds_dir)
        rc = fileset_read_yaml_dir(crds_dir, &from_disk, &e);
    if (rc == 0)
        rc = bootstrap_crds(st, from_disk ? from_disk : builtin_crds(), &loaded, &e);
    if (rc != 0)
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
    else if (from_disk)
        printf("loaded %zu CustomResourceDefinitions from %s\n", loaded, crds_dir);
    else
        printf("loaded %zu built-in CustomResourceDefinitions\n", loaded);
    fileset_free(from_disk);
    return rc;
}

static int serve(const struct cluster_args *a, struct store *st, const char *cert,
                 const char *key, const char *token)
{
    struct err e;
    struct apiserver *srv;
    struct apiserver_config cfg = {
        .store = st, .address = a->address, .port = (uint16_t)a->port, .token = token,
        .tls_cert_pem = cert, .tls_key_pem = key, .now_ns = clock_realtime_now,
        .version = GPUSLICE_VERSION, .limits = a->limits, .max_watches = a->max_watches,
    };
    if (apiserver_start(&cfg, &srv, &e) != 0) {
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
        return 1;
    }
    struct kubeconfig_spec k = {"gpuslice", apiserver_url(srv), token, a->cert_file};
    if (kubeconfig_write(a->kubeconfig, &k, &e) != 0) {
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
        apiserver_stop(srv);
        return 1;
    }
    unsigned watches;
    const struct httpd_limits *lim = apiserver_limits(srv, &watches);
    printf("API server listening on %s port %u: %s\n"
           "limits: %u connections, %u per address until authenticated, %u watches; "
           "idle timeout %u s, request timeout %u s\n"
           "kubeconfig written to %s; use it with:\n"
           "  kubectl --kubeconfig %s get namespaces\n"
           "or: export KUBECONFIG=%s\n"
           "Stop with Ctrl-C.\n",
           a->address, (unsigned)apiserver_port(srv), apiserver_url(srv), lim->max_connections,
           lim->max_per_address, watches, lim->idle_timeout_s, lim->request_timeout_s,
           a->kubeconfig,
           a->kubeconfig, a->kubeconfig);
    fflush(stdout);
    int sig = cmd_signals_wait(-1);
    printf("\nstopping (%s)\n", cmd_signal_name(sig));
    apiserver_stop(srv);
    if (kubeconfig_remove(a->kubeconfig, &e) != 0)
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
    return 0;
}

int cmd_cluster(int argc, char **argv)
{
    struct cluster_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    char token_buf[33];
    const char *token = a.token;
    if (!token && !apiserver_is_loopback(a.address)) {
        if (random_token(token_buf) != 0) {
            fprintf(stderr, "gpuslice cluster: no randomness for a token\n");
            return 1;
        }
        token = token_buf;
    }
    char *cert = a.cert_file ? read_file(a.cert_file) : NULL;
    char *key = cert ? read_file(a.key_file) : NULL;
    if (a.cert_file && (!cert || !key)) {
        free(cert);
        free(key);
        return 1;
    }
    cmd_signals_block();
    cmd_raise_nofile();
    struct err e;
    struct store *st = NULL;
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = random_seed(),
                                  .auto_collect = true};
    rc = 1;
    if (mem_store_new(&mc, &st, &e) != 0)
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
    else if (bootstrap(st, a.crds) == 0)
        rc = serve(&a, st, cert, key, token);
    store_free(st);
    free(cert);
    free(key);
    return rc;
}
