/*
 * gpuslice controller: the cluster's controller against a real API server
 * (kubeconfig, or the pod's service account), with Lease leader election
 * so that two replicas can run and only one acts, and with
 * --dashboard-address its web dashboard (controller/dashboard.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/metrics.h"
#include "cmd/signals.h"
#include "controller/dashboard.h"
#include "controller/runtime.h"
#include "store/kube.h"
#include "util/httpd.h"


struct controller_args {
    const char *kubeconfig;
    const char *lease_namespace;
    const char *identity;
    const char *metrics_address;
    int64_t lease_ns;
    enum placement_policy policy;
    int warm_max_percent;
    unsigned mps_overhead_mib;
    bool dashboard;
    char dashboard_host[HTTPD_HOST_MAX];
    uint16_t dashboard_port;
    const char *dashboard_token_file;
};

int cmd_warm_percent(const char *text, int *out, struct err *e)
{
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : -1;
    if (!text || !*text || *end || v < 0 || v > 100)
        return err_set(e, -EINVAL, "--warm-max-percent: want 0 to 100 (percent of the MIG "
                       "memory warm slices may hold; 0: none), not \"%.32s\"",
                       text ? text : "");
    *out = v == 0 ? -1 : (int)v;
    return 0;
}

/* --mps-overhead-mib's value: 1..65536 MiB. */
static int cmd_mps_overhead(const char *text, unsigned *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > 65536)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct controller_args *a)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, NULL, 'k'},
        {"leader-elect-namespace", required_argument, NULL, 'l'},
        {"identity", required_argument, NULL, 'i'},
        {"policy", required_argument, NULL, 'p'},
        {"lease-duration", required_argument, NULL, 'L'},
        {"warm-max-percent", required_argument, NULL, 'w'},
        {"mps-overhead-mib", required_argument, NULL, 'O'},
        {"dashboard-address", required_argument, NULL, 'D'},
        {"dashboard-token-file", required_argument, NULL, 'T'},
        {"metrics-address", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->policy = PLACEMENT_POLICY_DEFAULT;
    optind = 1;
    int c;
    struct err e = {0};
    while ((c = getopt_long(argc, argv, "k:l:i:p:", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (cmd_warm_percent(optarg, &a->warm_max_percent, &e) < 0) {
                fprintf(stderr, "gpuslice controller: %s\n", e.msg);
                return 2;
            }
            break;
        case 'D':
            if (httpd_parse_address(optarg, a->dashboard_host, &a->dashboard_port, &e) < 0) {
                fprintf(stderr, "gpuslice controller: --dashboard-address %s\n", e.msg);
                return 2;
            }
            a->dashboard = true;
            break;
        case 'O':
            if (cmd_mps_overhead(optarg, &a->mps_overhead_mib) < 0) {
                fprintf(stderr, "gpuslice controller: --mps-overhead-mib: \"%s\" is not a "
                                "whole number of MiB (1..65536)\n", optarg);
                return 2;
            }
            break;
        case 'T': a->dashboard_token_file = optarg; break;
        case 'k': a->kubeconfig = optarg; break;
        case 'm': a->metrics_address = optarg; break;
        case 'l': a->lease_namespace = optarg; break;
        case 'i': a->identity = optarg; break;
        case 'L':
            if (cmd_lease_seconds(optarg, &a->lease_ns) < 0) {
                fprintf(stderr, "gpuslice controller: --lease-duration: \"%s\" is not a whole "
                                "number of seconds (1..3600)\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (placement_policy_parse(optarg, &a->policy, &e) < 0) {
                fprintf(stderr, "gpuslice controller: %s\n", e.msg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "see 'gpuslice help controller'\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gpuslice controller: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* The first line of path, without its line end, into out. */
static int read_token(const char *path, char *out, size_t size, struct err *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, -errno, "--dashboard-token-file %s: %s", path, strerror(errno));
    bool got = fgets(out, (int)size, f) != NULL;
    fclose(f);
    if (got)
        out[strcspn(out, "\r\n")] = '\0';
    if (!got || !*out)
        return err_set(e, -EINVAL, "--dashboard-token-file %s: no token in it", path);
    return 0;
}

/* The dashboard's config: its own token file's token, else (the same
 * token as the API) the kubeconfig's bearer token, only needed off
 * loopback. */
static int dashboard_config_of(const struct controller_args *a, const struct kube_config *kc,
                               char *token, size_t size, struct dashboard_config *out,
                               struct err *e)
{
    *out = (struct dashboard_config){.address = a->dashboard_host, .port = a->dashboard_port};
    if (a->dashboard_token_file) {
        int rc = read_token(a->dashboard_token_file, token, size, e);
        if (rc < 0)
            return rc;
        out->token = token;
    } else if (!httpd_is_loopback(a->dashboard_host)) {
        out->token = kc->token;
    }
    return 0;
}

int cmd_controller(int argc, char **argv)
{
    struct controller_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct kube_config *kc = NULL;
    struct store *st = NULL;
    struct controller_runtime *rt = NULL;
    struct dashboard *dash = NULL;
    struct cmd_metrics metrics = {0};
    struct err e = {0};
    struct log *lg = cmd_daemon_log();
    cmd_signals_block();
    rc = cmd_metrics_start(&metrics, a.metrics_address, lg, &e);
    if (rc == 0)
        rc = a.kubeconfig ? kube_config_load(a.kubeconfig, NULL, &kc, &e)
                          : kube_config_default(&kc, &e);
    if (rc == 0)
        rc = kube_store_new(kc, NULL, &st, &e);
    struct controller_runtime_config cfg = {.store = st, .policy = a.policy,
                                            .warm_max_percent = a.warm_max_percent,
                                            .mps_overhead_mib = a.mps_overhead_mib,
                                            .identity = a.identity,
                                            .lease_namespace = a.lease_namespace,
                                            .lease_ns = a.lease_ns,
                                            .log = lg, .metrics = metrics.registry};
    char token[512];
    struct dashboard_config dc;
    if (rc == 0 && a.dashboard &&
        (rc = dashboard_config_of(&a, kc, token, sizeof token, &dc, &e)) == 0) {
        dc.store = st;
        dc.log = cfg.log;
        if ((rc = dashboard_new(&dc, &dash, &e)) == 0) {
            cfg.changed = dashboard_changed;
            cfg.changed_ctx = dash;
        }
    }
    if (rc == 0)
        rc = controller_runtime_start(&cfg, &rt, &e);
    if (rc == 0 && dash)
        rc = dashboard_start(dash, controller_runtime_controller(rt), &e);
    if (rc == 0) {
        if (dash)
            printf("gpuslice controller: dashboard at %s\n", dashboard_url(dash));
        fflush(stdout);
        cmd_metrics_ready(&metrics);
        log_info(cfg.log, "gpuslice controller: running against %s (%s)", kc->server,
                 placement_policy_name(a.policy));
        cmd_signals_wait(-1);
    } else {
        fprintf(stderr, "gpuslice controller: %s\n", e.msg);
    }
    dashboard_stop(dash);
    controller_runtime_stop(rt);
    dashboard_free(dash);
    cmd_metrics_stop(&metrics);
    log_free(cfg.log);
    store_free(st);
    kube_config_free(kc);
    return rc == 0 ? 0 : 1;
}
