/*
 * gpuslice controller: the cluster's controller against a real API server
 * (kubeconfig, or the pod's service account), with Lease leader election
 * so that two replicas can run and only one acts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/signals.h"
#include "controller/runtime.h"
#include "store/kube.h"


struct controller_args {
    const char *kubeconfig;
    const char *lease_namespace;
    const char *identity;
    int64_t lease_ns;
    enum placement_policy policy;
    int warm_max_percent;
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

static int parse_args(int argc, char **argv, struct controller_args *a)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, NULL, 'k'},
        {"leader-elect-namespace", required_argument, NULL, 'l'},
        {"identity", required_argument, NULL, 'i'},
        {"policy", required_argument, NULL, 'p'},
        {"lease-duration", required_argument, NULL, 'L'},
        {"warm-max-percent", required_argument, NULL, 'w'},
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
        case 'k': a->kubeconfig = optarg; break;
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

int cmd_controller(int argc, char **argv)
{
    struct controller_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct kube_config *kc = NULL;
    struct store *st = NULL;
    struct controller_runtime *rt = NULL;
    struct err e = {0};
    rc = a.kubeconfig ? kube_config_load(a.kubeconfig, NULL, &kc, &e)
                      : kube_config_default(&kc, &e);
    if (rc == 0)
        rc = kube_store_new(kc, NULL, &st, &e);
    struct controller_runtime_config cfg = {.store = st, .policy = a.policy,
                                            .warm_max_percent = a.warm_max_percent,
                                            .identity = a.identity,
                                            .lease_namespace = a.lease_namespace,
                                            .lease_ns = a.lease_ns,
                                            .log = cmd_daemon_log()};
    cmd_signals_block();
    if (rc == 0)
        rc = controller_runtime_start(&cfg, &rt, &e);
    if (rc == 0) {
        log_info(cfg.log, "gpuslice controller: running against %s (%s)", kc->server,
                 placement_policy_name(a.policy));
        cmd_signals_wait(-1);
    } else {
        fprintf(stderr, "gpuslice controller: %s\n", e.msg);
    }
    controller_runtime_stop(rt);
    log_free(cfg.log);
    store_free(st);
    kube_config_free(kc);
    return rc == 0 ? 0 : 1;
}
