/*
 * gpuslice: one binary, git-style subcommands. This file only dispatches;
 * every command is in its own cmd_*.c and listed in the table below.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/commands.h"
#include "cmd/metrics.h"
#include "util/alloc.h"

const struct command commands[] = {
    {"demo", cmd_demo, "run the sample workloads on an embedded cluster with emulated GPUs",
     "usage: gpuslice demo [-f CLUSTER.yaml | --nodes N --gpus N] [--policy P] [--trace FILE]\n"
     "                     [--samples DIR] [--crds DIR] [--keep [--kubeconfig PATH]]\n\n"
     "Starts an embedded cluster (API server on 127.0.0.1, scheduler, kubelets, the\n"
     "gpuslice controller and one agent per node over emulated GPUs), applies the\n"
     "sample manifests (built in from samples/demo, or FILE) as a user would, shows\n"
     "the pods, their slices and every GPU until the work is done, then a summary.\n"
     "Needs no files: the samples and the CRDs are built into the binary.\n\n"
     "  -f, --file CLUSTER   the cluster from a file in the format of gpuslice place:\n"
     "                       nodes, labels, GPUs, heldBack, allowedProfiles, and slices\n"
     "                       already there (not gpuslice's: they stay)\n"
     "  -n, --nodes N        nodes (default 2)\n"
     "  -g, --gpus N         GPUs per node, A100-40GB and H100-80GB in turn (default 2)\n"
     "  -p, --policy P       first-fit, best-fit or fragmentation-aware (default)\n"
     "  -t, --trace FILE     apply FILE (multi-document YAML) instead of the samples\n"
     "  -s, --samples DIR    apply the *.yaml files of DIR, in name order, instead of\n"
     "                       the built-in samples\n"
     "  --crds DIR           load the CRDs in DIR's *.yaml files instead of the\n"
     "                       built-in ones\n"
     "  -d, --device SPEC    emulated-device items for every node, e.g. fail-create=2:ci\n"
     "  -T, --timeout S      give up after S seconds (default 55)\n"
     "  -k, --keep           leave the cluster up afterwards, write a kubeconfig for\n"
     "                       kubectl, and remove it on Ctrl-C or SIGTERM\n"
     "  --kubeconfig PATH    where --keep writes it (default gpuslice-demo.kubeconfig)\n"
     "  --warm-max-percent N the controller's cap on warm slices (default 10)\n"
     "  --dashboard-address HOST:PORT\n"
     "                       where the web dashboard listens (default 127.0.0.1:0,\n"
     "                       a free port; its URL is printed)\n"
     "  --metrics-address A  serve the controller's, agents' and webhook's /metrics\n"
     "                       there (default 127.0.0.1:0, a free port; URL printed)\n"},
    {"controller", cmd_controller, "run the gpuslice controller against a cluster",
     "usage: gpuslice controller [--kubeconfig F] [--leader-elect-namespace NS]\n"
     "                           [--identity ID] [--policy P] [--lease-duration S]\n"
     "                           [--warm-max-percent N] [--mps-overhead-mib N]\n"
     "                           [--metrics-address A]\n"
     "                           [--dashboard-address HOST:PORT [--dashboard-token-file F]]\n\n"
     "Places gated pods' slices, releases them when pods end. Without --kubeconfig\n"
     "it uses $KUBECONFIG, ~/.kube/config or the pod's service account. With\n"
     "--leader-elect-namespace, replicas elect one leader through a Lease there\n"
     "(--lease-duration S, default 15; renewed every 2/15 of it, given up after\n"
     "2/3 of it without a renewal).\n"
     "Namespaces annotated gpuslice.dev/keep-warm: DURATION keep their ended pods'\n"
     "slices warm for their next pods; --warm-max-percent caps the memory warm\n"
     "slices hold, in percent of the MIG memory (default 10; 0: none kept warm).\n"
     "--mps-overhead-mib N: what the MPS server itself takes of each GPU in mode mps\n"
     "(default 512); clients may pin the rest, in whole GiB (docs/sharing.md).\n"
     "--dashboard-address HOST:PORT serves a live web dashboard there (127.0.0.1:8090,\n"
     "[::1]:8090, :8090 for 127.0.0.1; off by default); off loopback it needs a token:\n"
     "--dashboard-token-file F's first line, else the kubeconfig's bearer token.\n"
     "Browsers open http://HOST:PORT/?token=TOKEN once (it becomes a cookie).\n"
     "Metrics, liveness and readiness (docs/metrics.md):\n"
     CMD_METRICS_OPTION_HELP},
    {"agent", cmd_agent, "run the gpuslice node agent on a GPU node",
     "usage: gpuslice agent --node NAME [--device nvml|emulated:SPEC] [--kubeconfig F]\n"
     "                      [--cdi-dir DIR] [--orphan-grace S] [--reclaim-unmanaged]\n"
     "                      [--state-dir DIR] [--identity ID] [--lease-duration S]\n"
     "                      [--mps-root DIR] [--mps-control PROGRAM] [--metrics-address A]\n\n"
     "Makes and destroys the MIG slices the node's GPUSlices ask for, hands each to\n"
     "its container through a ConfigMap (and a CDI spec with --cdi-dir), and reports\n"
     "the node's GPUs in its GPUNode and its accelerator memory in the Node. Without\n"
     "--kubeconfig it uses $KUBECONFIG, ~/.kube/config or the pod's service account.\n\n"
     "  -n, --node NAME          this node (default $NODE_NAME)\n"
     "  -d, --device D           nvml (default) or emulated:SPEC (see docs/agent.md)\n"
     "  -c, --cdi-dir DIR        write a CDI spec per slice there\n"
     "  -g, --orphan-grace S     destroy gpuslice's slices no GPUSlice holds after S\n"
     "                           seconds (default 60)\n"
     "  -r, --reclaim-unmanaged  destroy slices gpuslice did not make, too\n"
     "  -s, --state-dir DIR      where an emulated device keeps its GPUs' state, as\n"
     "                           DIR/emulated-NODE.json, unless its spec has state=PATH\n"
     "                           (default /var/lib/gpuslice)\n"
     "  --identity ID            this agent in its node's Lease (default hostname-pid)\n"
     "  --lease-duration S       the node's Lease, kube-node-lease/gpuslice-agent-NODE:\n"
     "                           a second agent for the node waits until the holder has\n"
     "                           not renewed it for S seconds (default 15)\n"
     "  --mps-root DIR           the MPS daemons' pipe and log folders, DIR/<GPU UUID>/\n"
     "                           pipe and log (default /run/gpuslice/mps)\n"
     "  --mps-control PROGRAM    run this MPS control program for every device, an\n"
     "                           emulated one too (default: nvidia-cuda-mps-control on\n"
     "                           PATH for nvml; the emulated device's own model)\n"
     CMD_METRICS_OPTION_HELP},
    {"webhook", cmd_webhook, "serve the admission webhook that hands MIG pods to gpuslice",
     "usage: gpuslice webhook --tls-cert FILE --tls-key FILE [--port N] [--address ADDR]\n"
     "                        [--threads N] [--reload-interval S] [--drain S]\n"
     "                        [--max-connections N] [--max-connections-per-address N]\n"
     "                        [--idle-timeout S] [--request-timeout S]\n"
     "                        [--metrics-address A]\n\n"
     "Answers AdmissionReviews on POST /mutate-pod over HTTPS: a pod that asks for\n"
     "nvidia.com/mig-<profile> is gated, labelled, given accelerator memory instead and\n"
     "pointed at the ConfigMap its devices will be in (docs/webhook.md). Also serves\n"
     "GET /healthz, /readyz and /metrics (Prometheus). The certificate and key are\n"
     "re-read every --reload-interval and served without a restart when they change.\n\n"
     "  -p, --port N             port (default 8443; 0: any free port)\n"
     "  --address ADDR           IP address to listen on (default 127.0.0.1; in a\n"
     "                           cluster the pod's IP, or 0.0.0.0 for every interface)\n"
     "  --tls-cert FILE          PEM certificate chain (tls.crt)\n"
     "  --tls-key FILE           PEM private key (tls.key)\n"
     "  --threads N              worker threads (default 2)\n"
     "  --reload-interval S      seconds between certificate checks (default 10)\n"
     "  --drain S                longest a replaced certificate's connections are\n"
     "                           served on (default 60)\n"
     "  --max-connections N      connections in all (default 1024, cut to fit the\n"
     "                           descriptor limit)\n"
     "  --max-connections-per-address N\n"
     "                           connections from one address (default 256)\n"
     "  --idle-timeout S         close a connection idle this long (default 30)\n"
     "  --request-timeout S      a whole request must come within S seconds of the\n"
     "                           connection (default 10)\n"
     CMD_METRICS_OPTION_HELP},
    {"certs", cmd_certs, "write a CA and a serving certificate for the webhook",
     "usage: gpuslice certs --out DIR (--dns NAME | --ip ADDRESS)... [--days N]\n\n"
     "Generates a private CA and a certificate it signs for the DNS names and IP\n"
     "addresses given (subjectAltName), and writes DIR/ca.crt, DIR/tls.crt and\n"
     "DIR/tls.key (ECDSA P-256). The CA's key is not kept. Names may also be given\n"
     "comma-separated. For a cluster without cert-manager, the webhook's Service\n"
     "name is gpuslice-webhook.gpuslice-system.svc (docs/install.md).\n\n"
     "  --dns NAME       a DNS name to serve (repeatable)\n"
     "  --ip ADDRESS     an IPv4 or IPv6 address to serve (repeatable)\n"
     "  -o, --out DIR    where to write the files (created when missing)\n"
     "  --days N         validity in days (default 365, at most 3650)\n"},
    {"help", cmd_help, "show help for gpuslice or one command",
     "usage: gpuslice help [COMMAND]\n"},
    {"version", cmd_version, "print the version", "usage: gpuslice version\n"},
    {"profiles", cmd_profiles, "list GPU models and their MIG profiles",
     "usage: gpuslice profiles [MODEL]\n\n"
     "Prints the catalogue of GPU models and their MIG GPU-instance profiles:\n"
     "name, NVML profile id and index, compute and memory slices, memory (MiB),\n"
     "instance count, SMs and placements ({starts}:size in memory slices, as\n"
     "nvidia-smi mig -lgipp prints them). '*' marks values no real readout\n"
     "confirmed. MODEL is a catalogue name (H100-80GB) or an NVML product name.\n"},
    {"place", cmd_place, "place slice requests on a cluster described in a file",
     "usage: gpuslice place -f CLUSTER.yaml [--policy POLICY] REQUEST...\n\n"
     "Places each REQUEST, in order, on the nodes and GPUs of CLUSTER.yaml, prints\n"
     "each decision (or why the request does not fit), then every GPU's memory\n"
     "slices. Nothing is created; see docs/cli.md for the file format.\n\n"
     "  -f, --file CLUSTER.yaml   the cluster: nodes, labels, GPUs, existing slices\n"
     "  -p, --policy POLICY       first-fit, best-fit or fragmentation-aware (default)\n\n"
     "REQUEST is PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...]: a MIG profile, the GPU\n"
     "models that may take it (default: any) and node labels the node must have,\n"
     "e.g. 3g.40gb  1g.10gb@H100-80GB  2g.20gb@A100-80GB/H100-80GB,zone=a\n"},
    {"plan", cmd_plan, "plan inference servers: accelerator, replicas, batch size",
     "usage: gpuslice plan DIR|FILE [-o table|json] [--model compatible|gpuslice]\n"
     "       gpuslice plan --compare DIR|FILE\n"
     "       gpuslice plan serve [--port N]\n"
     "       gpuslice plan apply -p PLAN.json [--kubeconfig F] [-n NS] [--dry-run] [-o text|json]\n"
     "       gpuslice plan apply --dry-run -p PLAN.json [-o text|json] DEPLOYMENTS\n\n"
     "Decides, for every inference server (a model serving a class of service),\n"
     "which accelerator or MIG slice, how many replicas and which batch size meet\n"
     "the class's TTFT/ITL/throughput targets at the least cost, within the\n"
     "capacity given. DIR holds the inference-optimizer's data files\n"
     "(accelerator-data.json, model-data.json, serviceclass-data.json,\n"
     "server-data.json, capacity-data.json, optimizer-data.json); FILE bundles\n"
     "them under \"system\". See docs/planner.md.\n\n"
     "  -o, --output FORMAT   table (default) or json (the optimizer's allocations)\n"
     "  -m, --model MODEL     compatible (default: the inference optimizer's own model\n"
     "                        and greedy, its answers) or gpuslice (gpuslice's queueing\n"
     "                        model); overrides optimizer-data.json's \"model\"\n"
     "  --compare             plan in both models and print, per server and in total,\n"
     "                        each plan's accelerator, replicas, cost and served load\n"
     "  serve                 answer POST /plan (a bundled problem) and GET /healthz\n"
     "                        on 127.0.0.1:N (default 8090; 0 picks a free port)\n"
     "  apply                 patch each Deployment of namespace NS (default: the\n"
     "                        kubeconfig's) so that its replicas and GPU/MIG resource\n"
     "                        are PLAN.json's; --dry-run prints the kubectl patches\n"
     "                        instead, for the cluster's Deployments or DEPLOYMENTS\n"
     "                        (JSON or YAML, Deployments or a List)\n"},
    {"sim", cmd_sim, "simulate a scenario in virtual time with the real reconcilers",
     "usage: gpuslice sim -f SCENARIO.yaml [-o DIR] [--seed N] [--policy P]\n"
     "       gpuslice sim -f SCENARIO.yaml --compare [--seeds N] [--seed FIRST] [-o DIR]\n\n"
     "Runs the scenario (cluster, device costs, policy, workload: see\n"
     "docs/simulator.md) with the real controller, agents over emulated GPUs,\n"
     "scheduler, kubelets and workload controllers on a virtual clock, single-\n"
     "threaded and deterministic for a seed, and prints a summary: makespan\n"
     "beside its lower bound, latencies, device operations, utilisation.\n\n"
     "  -f, --file SCENARIO   the scenario (YAML)\n"
     "  -o, --output DIR      write summary.json, pods.csv, timeline.csv and\n"
     "                        report.html (a page with the charts) there\n"
     "  -s, --seed N          the seed (default: the scenario's, else 1)\n"
     "  --policy P            first-fit, best-fit or fragmentation-aware instead\n"
     "                        of the scenario's\n"
     "  --compare             run every policy on each of N seeds (from --seed,\n"
     "                        default 1) and print a table per figure; with -o,\n"
     "                        compare.md, compare.json and compare.html\n"
     "  --seeds N             with --compare: how many seeds (default 20)\n"},
    {"cluster", cmd_cluster, "run the embedded Kubernetes API server for kubectl",
     "usage: gpuslice cluster [-f CLUSTER.yaml] [--webhook] [--port N] [--address ADDR]\n"
     "                        [--kubeconfig PATH] [--crds DIR] [--token TOKEN]\n"
     "                        [--tls-cert FILE --tls-key FILE]\n"
     "                        [--max-connections N] [--max-connections-per-address N]\n"
     "                        [--max-watches N] [--idle-timeout S] [--request-timeout S]\n\n"
     "Serves an in-memory object store over the Kubernetes REST API until Ctrl-C,\n"
     "writes a kubeconfig for it, and prints how to use kubectl with it. With -f,\n"
     "also runs the cluster's parts for the nodes of CLUSTER.yaml (kubelets,\n"
     "scheduler, workload controllers, garbage collection), so that gpuslice\n"
     "controller and one gpuslice agent per node run against it as on a real\n"
     "cluster; it prints their commands.\n\n"
     "  -f, --file CLUSTER    the nodes, in the format of gpuslice place (their GPUs\n"
     "                        are the agents'; no slices already on them)\n"
     "  --webhook             also serve gpuslice's admission webhook on 127.0.0.1\n"
     "                        over TLS, registered with a MutatingWebhookConfiguration\n"
     "  -p, --port N          port to listen on (default 0: any free port)\n"
     "  --address ADDR        IP address to listen on (default 127.0.0.1); anything\n"
     "                        but loopback needs --tls-cert/--tls-key, and gets a\n"
     "                        random token when --token is not given\n"
     "  --kubeconfig PATH     where to write the kubeconfig (default\n"
     "                        gpuslice.kubeconfig); never overwrites a file it did\n"
     "                        not write, and removes it on exit\n"
     "  --crds DIR            load the CRDs in DIR's *.yaml files instead of the\n"
     "                        built-in ones (deploy/crds at build time)\n"
     "  --token TOKEN         bearer token clients must send\n"
     "  --tls-cert FILE       serve HTTPS with this PEM certificate (chain) ...\n"
     "  --tls-key FILE        ... and this PEM key\n"
     "  --max-connections N   connections in all (default 1024, cut to fit the\n"
     "                        descriptor limit)\n"
     "  --max-connections-per-address N\n"
     "                        connections from one address until one of their\n"
     "                        requests authenticates (default 64)\n"
     "  --max-watches N       watches at once; more get 429 (default 3/4 of the\n"
     "                        connections)\n"
     "  --idle-timeout S      close a connection idle this long (default 60)\n"
     "  --request-timeout S   a request's headers must come within S seconds of the\n"
     "                        connection (default 10)\n"},
    {"status", cmd_status, "draw the cluster's GPUs, their slices and the pods waiting",
     "usage: gpuslice status [--kubeconfig F] [--context C] [-n NS | -A] [--node N] [-w]\n"
     "       kubectl gpuslice [status] [...the same options]\n\n"
     "Draws, per node and GPU, the memory-slice picture of gpuslice place: each\n"
     "slice's profile and an owner tag (#N) that the lines under the node resolve\n"
     "to the pod, container and phase; ~ marks a warm slice, = a mig-static GPU's\n"
     "layout, ! a slice gpuslice did not make. Then the pods held at gpuslice's\n"
     "scheduling gate, what they ask and why they wait (the controller's\n"
     "condition). Installed as kubectl-gpuslice too: a kubectl plugin.\n\n"
     "  --kubeconfig F       the kubeconfig (default $KUBECONFIG, ~/.kube/config or\n"
     "                       the pod's service account)\n"
     "  --context C          a context of the kubeconfig other than its current one\n"
     "  -n, --namespace NS   only NS's pods: owners and waiting pods (default all)\n"
     "  -A, --all-namespaces every namespace (the default)\n"
     "  --node N             only node N\n"
     "  -w, --watch          draw again after every change, until Ctrl-C\n"},
    {NULL, NULL, NULL, NULL},
};

static const struct command *command_find(const char *name)
{
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: gpuslice [--help] [--version] COMMAND [ARGS]\n\n"
                 "On-demand GPU slicing for Kubernetes.\n\ncommands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "   %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nSee 'gpuslice help COMMAND' for one command.\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stdout);
        return 0;
    }
    const struct command *c = command_find(argv[1]);
    if (!c) {
        fprintf(stderr, "gpuslice: no command '%s'; see 'gpuslice --help'\n", argv[1]);
        return 2;
    }
    fputs(c->usage, stdout);
    return 0;
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("gpuslice %s\n", GPUSLICE_VERSION);
    return 0;
}

/* Run as kubectl-gpuslice (a kubectl plugin: `kubectl gpuslice ...`), no
 * command or options first mean `status`: `kubectl gpuslice -n team-a`. */
static bool plugin_wants_status(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "kubectl-gpuslice") != 0)
        return false;
    return argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") != 0 &&
                        strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "--version") != 0);
}

int main(int argc, char **argv)
{
    /* jansson's allocations follow the one out-of-memory policy too
     * (util/alloc.h): its constructors then return NULL only for bad
     * input, never for memory. */
    json_set_alloc_funcs(alloc_malloc, free);
    if (plugin_wants_status(argc, argv)) {
        char status[] = "status";
        argv[0] = status;
        return cmd_status(argc, argv);
    }
    if (argc < 2) {
        print_overview(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";
    const struct command *c = command_find(name);
    if (!c) {
        fprintf(stderr, "gpuslice: '%s' is not a command; see 'gpuslice --help'\n", argv[1]);
        return 2;
    }
    /* `gpuslice CMD --help` is `gpuslice help CMD`, as in git. */
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(c->usage, stdout);
        return 0;
    }
    return c->run(argc - 1, argv + 1);
}
