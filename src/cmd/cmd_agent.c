/*
 * gpuslice agent: the node agent against a real API server (kubeconfig, or
 * the pod's service account), over a device backend: the GPUs of the node
 * it runs on (nvml) or emulated ones (emulated:SPEC, device/emulated.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent_runtime.h"
#include "cmd/commands.h"
#include "cmd/metrics.h"
#include "cmd/signals.h"
#include "device/emulated.h"
#include "store/kube.h"


#define DEFAULT_STATE_DIR "/var/lib/gpuslice"

#define AGENT_LEASE_NAMESPACE "kube-node-lease"

struct agent_args {
    const char *node, *device, *kubeconfig, *cdi_dir, *state_dir, *identity, *metrics_address;
    const char *mps_root, *mps_control;
    int64_t orphan_grace_ns, lease_ns;
    bool reclaim_unmanaged;
};

static int parse_seconds(const char *s, int64_t *ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 86400 * 365))
        return -1;
    *ns = (int64_t)(v * 1e9);
    return 0;
}

static int parse_args(int argc, char **argv, struct agent_args *a)
{
    static const struct option opts[] = {
        {"node", required_argument, NULL, 'n'},
        {"device", required_argument, NULL, 'd'},
        {"kubeconfig", required_argument, NULL, 'k'},
        {"cdi-dir", required_argument, NULL, 'c'},
        {"orphan-grace", required_argument, NULL, 'g'},
        {"reclaim-unmanaged", no_argument, NULL, 'r'},
        {"state-dir", required_argument, NULL, 's'},
        {"identity", required_argument, NULL, 'i'},
        {"lease-duration", required_argument, NULL, 'L'},
        {"metrics-address", required_argument, NULL, 'M'},
        {"mps-root", required_argument, NULL, 'P'},
        {"mps-control", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->node = getenv("NODE_NAME");
    a->device = "nvml";
    a->state_dir = DEFAULT_STATE_DIR;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "n:d:k:c:g:rs:", opts, NULL)) != -1) {
        switch (c) {
        case 'n': a->node = optarg; break;
        case 'd': a->device = optarg; break;
        case 'k': a->kubeconfig = optarg; break;
        case 'c': a->cdi_dir = optarg; break;
        case 'r': a->reclaim_unmanaged = true; break;
        case 's': a->state_dir = optarg; break;
        case 'i': a->identity = optarg; break;
        case 'M': a->metrics_address = optarg; break;
        case 'P': a->mps_root = optarg; break;
        case 'C': a->mps_control = optarg; break;
        case 'L':
            if (cmd_lease_seconds(optarg, &a->lease_ns) < 0) {
                fprintf(stderr, "gpuslice agent: --lease-duration: \"%s\" is not a whole number "
                                "of seconds (1..3600)\n", optarg);
                return 2;
            }
            break;
        case 'g':
            if (parse_seconds(optarg, &a->orphan_grace_ns) < 0) {
                fprintf(stderr, "gpuslice agent: --orphan-grace: \"%s\" is not a number of "
                                "seconds\n", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "see 'gpuslice help agent'\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gpuslice agent: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!a->node || !*a->node) {
        fprintf(stderr, "gpuslice agent: which node? (--node NAME or $NODE_NAME)\n");
        return 2;
    }
    return 0;
}

/* The agent's folder on the node (made when missing): its ledger of the
 * slices it made, and an emulated device's state. */
static int state_dir_ready(const struct agent_args *a, struct err *e)
{
    if (strchr(a->node, '/'))
        return err_set(e, -EINVAL, "node name \"%s\" has a '/'", a->node);
    if (mkdir(a->state_dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "state directory %s: %s (--state-dir DIR)", a->state_dir,
                       strerror(errno));
    return 0;
}

/* An emulated device keeps its GPUs' state in a file, as real GPUs keep
 * their slices when the agent dies: the spec's state=PATH, or by default
 * STATE_DIR/emulated-NODE.json. Other backends are opened as given. The
 * device string to open goes into buf. */
static int device_with_state(const struct agent_args *a, char *buf, size_t size,
                             struct err *e)
{
    const char *spec = NULL;
    if (strcmp(a->device, "emulated") == 0)
        spec = "";
    else if (strncmp(a->device, "emulated:", 9) == 0)
        spec = a->device + 9;
    bool has_state = spec && (strncmp(spec, "state=", 6) == 0 || strstr(spec, ",state="));
    if (!spec || has_state) {
        snprintf(buf, size, "%s", a->device);
        return 0;
    }
    if (snprintf(buf, size, "emulated:%s%sstate=%s/emulated-%s.json", spec, spec[0] ? "," : "",
                 a->state_dir, a->node) >= (int)size)
        return err_set(e, -ENAMETOOLONG, "--device with its state file is too long");
    return 0;
}

int cmd_agent(int argc, char **argv)
{
    struct agent_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct kube_config *kc = NULL;
    struct store *st = NULL;
    struct device *dev = NULL;
    struct err e = {0};
    struct cmd_metrics metrics = {0};
    struct log *lg = cmd_daemon_log();
    char device[EMULATED_SPEC_MAX + 16], ledger[4096];
    cmd_signals_block();
    rc = cmd_metrics_start(&metrics, a.metrics_address, lg, &e);
    if (rc == 0)
        rc = state_dir_ready(&a, &e);
    if (rc == 0)
        rc = device_with_state(&a, device, sizeof device, &e);
    snprintf(ledger, sizeof ledger, "%s/agent-%s.json", a.state_dir, a.node);
    if (rc == 0)
        rc = device_open(device, &dev, &e);
    if (rc == 0)
        rc = a.kubeconfig ? kube_config_load(a.kubeconfig, NULL, &kc, &e)
                          : kube_config_default(&kc, &e);
    if (rc == 0)
        rc = kube_store_new(kc, NULL, &st, &e);
    struct agent_runtime_config cfg = {
        .agent = {.store = st, .device = dev, .node = a.node, .cdi_dir = a.cdi_dir,
                  .orphan_grace_ns = a.orphan_grace_ns,
                  .reclaim_unmanaged = a.reclaim_unmanaged, .ledger_path = ledger,
                  .mps_root = a.mps_root, .mps_control = a.mps_control,
                  .metrics = metrics.registry},
        .log = lg,
        .lease_namespace = AGENT_LEASE_NAMESPACE, .identity = a.identity, .lease_ns = a.lease_ns,
    };
    struct agent_runtime *rt = NULL;
    if (rc == 0)
        rc = agent_runtime_new(&cfg, &rt, &e);
    if (rc == 0)
        rc = agent_start(rt, &e);
    if (rc == 0) {
        cmd_metrics_ready(&metrics);
        log_info(cfg.log, "gpuslice agent: node %s, device %s, API server %s", a.node, a.device,
                 kc->server);
        cmd_signals_wait(-1);
    }
    agent_runtime_free(rt);
    cmd_metrics_stop(&metrics);
    if (rc < 0)
        fprintf(stderr, "gpuslice agent: %s\n", e.msg);
    log_free(cfg.log);
    store_free(st);
    kube_config_free(kc);
    device_close(dev);
    return rc == 0 ? 0 : 1;
}
