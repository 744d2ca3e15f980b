/*
 * `gpuslice webhook`: serves the admission webhook over HTTPS until SIGINT
 * or SIGTERM, re-reading its certificate and key every --reload-interval
 * seconds so that a rotated pair is served without a restart (webhook.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "cmd/limits.h"
#include "cmd/metrics.h"
#include "cmd/signals.h"
#include "webhook/webhook.h"

#define RELOAD_DEFAULT_S 10

struct webhook_args {
    struct webhook_config cfg;
    long reload_s;
    const char *metrics_address;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuslice webhook: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'gpuslice help webhook'\n");
    return 2;
}

/* A whole number from lo to hi, or -1. */
static long number(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= lo && v <= hi ? v : -1;
}

static int parse_args(int argc, char **argv, struct webhook_args *a)
{
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"address", required_argument, NULL, 'a'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"threads", required_argument, NULL, 't'},
        {"reload-interval", required_argument, NULL, 'r'},
        {"drain", required_argument, NULL, 'd'},
        {"metrics-address", required_argument, NULL, 'M'},
        CMD_LIMITS_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    long port = 8443, threads = WEBHOOK_THREADS_DEFAULT, drain = WEBHOOK_DRAIN_DEFAULT_S;
    *a = (struct webhook_args){.cfg = {.address = WEBHOOK_ADDRESS_DEFAULT},
                               .reload_s = RELOAD_DEFAULT_S};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "p:", options, NULL)) != -1;) {
        struct err e;
        int taken = cmd_limits_option(c, optarg, &a->cfg.limits, &e);
        if (taken < 0)
            return usage_error("%s", e.msg);
        if (taken)
            continue;
        switch (c) {
        case 'p':
            if ((port = number(optarg, 0, 65535)) < 0)
                return usage_error("--port: \"%s\" is not a port number (0-65535)", optarg);
            break;
        case 'a': a->cfg.address = optarg; break;
        case 'M': a->metrics_address = optarg; break;
        case 'C': a->cfg.cert_file = optarg; break;
        case 'K': a->cfg.key_file = optarg; break;
        case 't':
            if ((threads = number(optarg, 1, 64)) < 0)
                return usage_error("--threads: \"%s\" is not from 1 to 64", optarg);
            break;
        case 'r':
            if ((a->reload_s = number(optarg, 1, 3600)) < 0)
                return usage_error("--reload-interval: \"%s\" is not from 1 to 3600 seconds",
                                   optarg);
            break;
        case 'd':
            if ((drain = number(optarg, 1, 3600)) < 0)
                return usage_error("--drain: \"%s\" is not from 1 to 3600 seconds", optarg);
            break;
        default: return usage_error("bad option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument: %s", argv[optind]);
    if (!a->cfg.cert_file || !a->cfg.key_file)
        return usage_error("--tls-cert and --tls-key are required");
    a->cfg.port = (uint16_t)port;
    a->cfg.threads = (unsigned)threads;
    a->cfg.drain_s = (unsigned)drain;
    return 0;
}

/* Waits for SIGINT or SIGTERM, re-reading the pair every reload_s. */
static int serve(struct webhook *w, long reload_s, struct log *lg)
{
    for (;;) {
        int sig = cmd_signals_wait((int64_t)reload_s * NS_PER_SEC);
        if (sig) {
            log_info(lg, "gpuslice webhook: stopping (%s)", cmd_signal_name(sig));
            return 0;
        }
        struct err e;
        int rc = webhook_reload(w, &e);
        if (rc == 1)
            log_info(lg, "gpuslice webhook: serving the new certificate; %zu daemon(s) draining",
                     webhook_draining(w));
        else if (rc < 0)
            log_warning(lg, "gpuslice webhook: %s (keeping the current pair)", e.msg);
    }
}

int cmd_webhook(int argc, char **argv)
{
    struct webhook_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    cmd_signals_block();
    cmd_raise_nofile();
    struct webhook *w = NULL;
    struct err e;
    struct log *lg = cmd_daemon_log();
    struct cmd_metrics metrics;
    rc = cmd_metrics_start(&metrics, a.metrics_address, lg, &e);
    a.cfg.metrics = metrics.registry;
    if (rc != 0 || webhook_start(&a.cfg, &w, &e) != 0) {
        fprintf(stderr, "gpuslice webhook: %s\n", e.msg);
        cmd_metrics_stop(&metrics);
        log_free(lg);
        return 1;
    }
    cmd_metrics_ready(&metrics);
    const struct httpd_limits *lim = webhook_limits(w);
    log_info(lg, "gpuslice webhook: listening on https://%s:%u%s (also /healthz, /readyz, /metrics); "
             "%u connections, %u per address, idle timeout %u s, request timeout %u s",
             a.cfg.address, (unsigned)webhook_port(w), WEBHOOK_PATH_MUTATE, lim->max_connections,
             lim->max_per_address, lim->idle_timeout_s, lim->request_timeout_s);
    rc = serve(w, a.reload_s, lg);
    webhook_stop(w);
    cmd_metrics_stop(&metrics);
    log_free(lg);
    return rc;
}
