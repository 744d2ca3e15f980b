/*
 * `gpuslice cluster`: runs the embedded API server (the mem store behind
 * the Kubernetes REST API) until SIGINT or SIGTERM, writes a kubeconfig for
 * it, and says how to point kubectl at it; with -f CLUSTER.yaml also the
 * cluster's parts for the nodes the file names (sim/embedded.h,
 * EMBEDDED_CLUSTER), and with --webhook gpuslice's admission webhook, so
 * that `gpuslice controller` and `gpuslice agent` run against it as on a
 * real cluster. See docs/cluster.md.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "apiserver/apiserver.h"
#include "apiserver/kubeconfig.h"
#include "sim/clusterfile.h"
#include "cmd/commands.h"
#include "cmd/limits.h"
#include "cmd/signals.h"
#include "sim/embedded.h"
#include "util/alloc.h"
#include "util/clock.h"

#define TLS_FILE_MAX (1u << 20)

struct cluster_args {
    const char *address, *kubeconfig, *crds, *token, *cert_file, *key_file, *file;
    long port;
    bool webhook;
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
        {"file", required_argument, NULL, 'f'},
        {"webhook", no_argument, NULL, 'w'},
        {"max-watches", required_argument, NULL, 'W'},
        CMD_LIMITS_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    *a = (struct cluster_args){.address = "127.0.0.1", .kubeconfig = "gpuslice.kubeconfig"};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "p:f:", options, NULL)) != -1;) {
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
        case 'f': a->file = optarg; break;
        case 'w': a->webhook = true; break;
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

static void print_crds(const struct cluster_args *a, size_t loaded)
{
    if (a->crds)
        printf("loaded %zu CustomResourceDefinitions from %s\n", loaded, a->crds);
    else
        printf("loaded %zu built-in CustomResourceDefinitions\n", loaded);
}

/* With -f: the nodes, and the commands that run gpuslice against them. */
static void print_parts(struct embedded *emb, const struct cluster_args *a)
{
    const char *url = embedded_webhook_url(emb);
    if (url)
        printf("admission webhook on %s (registered for namespaces labelled "
               "gpuslice.dev/enabled=true)\n", url);
    if (!a->file)
        return;
    printf("nodes (kubelets, scheduler, workload controllers, garbage collection running):\n");
    for (size_t i = 0; i < embedded_node_count(emb); i++)
        printf("  %s\n", embedded_node_name(emb, i));
    printf("run gpuslice against it, each in a terminal of its own:\n"
           "  gpuslice controller --kubeconfig %s\n", a->kubeconfig);
    for (size_t i = 0; i < embedded_node_count(emb); i++) {
        char device[1024];
        if (embedded_agent_device(emb, i, device, sizeof device, NULL) == 0)
            printf("  gpuslice agent --kubeconfig %s --node %s --device %s\n", a->kubeconfig,
                   embedded_node_name(emb, i), device);
    }
}

static int serve(const struct cluster_args *a, struct embedded_config *cfg)
{
    struct err e;
    struct embedded *emb = NULL;
    if (embedded_start(cfg, &emb, &e) != 0) {
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
        return 1;
    }
    print_crds(a, embedded_crds_loaded(emb));
    struct kubeconfig_spec k = {"gpuslice", embedded_url(emb), cfg->token, a->cert_file};
    if (kubeconfig_write(a->kubeconfig, &k, &e) != 0) {
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
        embedded_stop(emb);
        return 1;
    }
    unsigned watches;
    const struct httpd_limits *lim = embedded_limits(emb, &watches);
    printf("API server listening on %s port %u: %s\n"
           "limits: %u connections, %u per address until authenticated, %u watches; "
           "idle timeout %u s, request timeout %u s\n"
           "kubeconfig written to %s; use it with:\n"
           "  kubectl --kubeconfig %s get namespaces\n"
           "or: export KUBECONFIG=%s\n",
           a->address, (unsigned)embedded_port(emb), embedded_url(emb), lim->max_connections,
           lim->max_per_address, watches, lim->idle_timeout_s, lim->request_timeout_s,
           a->kubeconfig, a->kubeconfig, a->kubeconfig);
    print_parts(emb, a);
    printf("Stop with Ctrl-C.\n");
    fflush(stdout);
    int sig = cmd_signals_wait(-1);
    printf("\nstopping (%s)\n", cmd_signal_name(sig));
    embedded_stop(emb);
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
    struct err e;
    struct clusterfile cf = {0};
    if (a.file && clusterfile_load(&cf, a.file, &e) < 0) {
        fprintf(stderr, "gpuslice cluster: %s\n", e.msg);
        return 1;
    }
    char *cert = a.cert_file ? read_file(a.cert_file) : NULL;
    char *key = cert ? read_file(a.key_file) : NULL;
    rc = 1;
    if (!a.cert_file || (cert && key)) {
        struct embedded_config cfg = {
            .mode = a.file ? EMBEDDED_CLUSTER : EMBEDDED_SERVER, .webhook = a.webhook,
            .layout = a.file ? &cf : NULL, .crds_dir = a.crds, .address = a.address,
            .port = (uint16_t)a.port, .token = token, .tls_cert_pem = cert, .tls_key_pem = key,
            .version = GPUSLICE_VERSION, .store_seed = random_seed(),
            .limits = a.limits, .max_watches = a.max_watches,
            .log = cmd_daemon_log(),
        };
        cmd_raise_nofile();
        cmd_signals_block();
        rc = serve(&a, &cfg);
        log_free(cfg.log);
    }
    clusterfile_free(&cf);
    free(cert);
    free(key);
    return rc;
}
