/*
 * gpuslice status (also `kubectl gpuslice status`): the cluster's GPUs as
 * gpuslice sees them, read from the API like any client. Per node and GPU
 * the memory-slice picture of `gpuslice place` (core's
 * placement_picture_marked): each slice with its profile and an owner tag
 * that the lines below the node resolve to the pod, warm slices marked "~",
 * a mig-static GPU's fixed layout "=", slices gpuslice did not make "!";
 * then the pods held at gpuslice's gate with the controller's reason.
 *
 * The picture is drawn from three informers (GPUNodes, GPUSlices, pods):
 * once when their caches are synced, or with -w again after every change
 * (a burst of changes is drawn once, at most every WATCH_TICK_NS), until
 * SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/gpunode.h"
#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "cmd/commands.h"
#include "cmd/signals.h"
#include "core/placement.h"
#include "store/informer.h"
#include "store/kube.h"
#include "util/alloc.h"
#include "util/clock.h"

#define WATCH_TICK_NS (250 * NS_PER_MS)
#define SYNC_TIMEOUT_MS 30000
#define OWNERS_MAX (GPUNODE_MAX_GPUS * GPUNODE_MAX_SLICES)

struct status_args {
    const char *kubeconfig, *context, *ns, *node;
    bool watch;
};

enum { INF_GPUNODES, INF_SLICES, INF_PODS, N_INF };

struct status {
    const struct status_args *args;
    struct informer *inf[N_INF];
    atomic_bool changed;
};

/* ---- drawing ---- */

/* The owners tagged on one node: tag N is owners[N - 1]. */
struct owners {
    const json_t *slices[OWNERS_MAX];
    size_t n;
};

/* The GPUSlice holding (gpu, start) that is not gone yet, or NULL. */
static const json_t *slice_at(json_t *slices, const char *gpu, unsigned start)
{
    size_t i;
    json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) == 0 && v.spec.gpu_uuid &&
            strcmp(v.spec.gpu_uuid, gpu) == 0 && v.spec.start == start &&
            strcmp(v.status.phase, "Deleted") != 0)
            return obj;
    }
    return NULL;
}

/* The tag of obj on this node (made on first use); 0 when it is of
 * another namespace than -n's. */
static uint32_t tag_of(struct owners *o, const json_t *obj, const char *ns)
{
    if (ns && strcmp(meta_namespace(obj), ns) != 0)
        return 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->slices[i] == obj)
            return (uint32_t)(i + 1);
    if (o->n == OWNERS_MAX)
        return 0;
    o->slices[o->n++] = obj;
    return (uint32_t)o->n;
}

/* Puts one slice on occ and marks it; a slice the rules refuse (a report
 * racing a change) is left out of the picture. */
static void place(struct gpu_occupancy *occ, const char *profile, unsigned start, uint32_t tag,
                  char mark, char marks[MIG_MAX_MEMORY_SLICES])
{
    const struct mig_profile *p = catalog_find_profile(occ->model, profile);
    if (p && start < MIG_MAX_MEMORY_SLICES && occupancy_take(occ, p, start, tag, NULL) == 0)
        marks[start] = mark;
}

/* The picture of one MIG-enabled GPU: the slices the agent reports, then
 * those the controller decided that are not made yet. Returns whether a
 * mark was drawn. */
static bool draw_gpu(FILE *out, const struct gpunode_gpu *g, const struct gpu_model *m,
                     json_t *slices, struct owners *owners, const char *ns)
{
    struct gpu_occupancy occ;
    char marks[MIG_MAX_MEMORY_SLICES] = {0}, pic[PLACEMENT_PICTURE_MAX];
    occupancy_init(&occ, m);
    enum gpunode_mode mode = g->has_active ? g->active : g->mode;
    for (size_t i = 0; i < g->n_slices; i++) {
        const struct gpunode_slice *s = &g->slices[i];
        const json_t *obj = slice_at(slices, g->uuid, s->start);
        struct gpuslice_view v;
        bool warm = obj && gpuslice_read(obj, &v, NULL) == 0 &&
                    strcmp(v.status.phase, "Warm") == 0;
        char mark = warm ? PLACEMENT_MARK_WARM
                    : mode == GPUNODE_MODE_MIG_STATIC ? PLACEMENT_MARK_STATIC
                    : !s->managed ? PLACEMENT_MARK_FOREIGN : '\0';
        place(&occ, s->profile, s->start, obj ? tag_of(owners, obj, ns) : 0, mark, marks);
    }
    size_t i;
    json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) == 0 && v.spec.gpu_uuid &&
            strcmp(v.spec.gpu_uuid, g->uuid) == 0 && !occupancy_slice_at(&occ, v.spec.start) &&
            strcmp(v.status.phase, "Deleted") != 0)
            place(&occ, v.spec.profile, v.spec.start, tag_of(owners, obj, ns), '\0', marks);
    }
    placement_picture_marked(&occ, marks, pic, sizeof pic);
    fprintf(out, "  GPU %-2u %-10s %-10s %s%s\n", g->index, m->name, gpunode_mode_name(mode),
            pic, g->held_back ? "  held back" : "");
    for (size_t k = 0; k < MIG_MAX_MEMORY_SLICES; k++)
        if (marks[k])
            return true;
    return false;
}

static void draw_owners(FILE *out, const struct owners *o)
{
    for (size_t i = 0; i < o->n; i++) {
        struct gpuslice_view v;
        if (gpuslice_read(o->slices[i], &v, NULL) < 0)
            continue;
        char pod[320];
        snprintf(pod, sizeof pod, "%s/%s", v.ns, v.spec.pod_name);
        fprintf(out, "    #%-3zu %-30s %-12s %-10s %s", i + 1, pod, v.spec.container,
                v.spec.profile, v.status.phase);
        if (v.spec.requested_profile && strcmp(v.spec.requested_profile, v.spec.profile) != 0)
            fprintf(out, " (asked %s)", v.spec.requested_profile);
        if (strcmp(v.status.phase, "Warm") == 0 && v.status.warm_until)
            fprintf(out, " until %s", v.status.warm_until);
        fputc('\n', out);
    }
}

/* One node: its GPUs and the owners of their slices. Returns whether a
 * mark was drawn. */
static bool draw_node(FILE *out, const json_t *gpunode, json_t *slices, const char *ns)
{
    struct gpunode_view v;
    struct err e;
    if (gpunode_read(gpunode, &v, &e) < 0) {
        fprintf(out, "%s: unreadable GPUNode: %s\n", meta_name(gpunode), e.msg);
        return false;
    }
    fprintf(out, "%s%s%s\n", v.name, v.mode_pending ? "  mode change pending: " : "",
            v.mode_pending ? v.mode_pending : "");
    struct owners owners = {0};
    bool marked = false;
    for (size_t i = 0; i < v.n_gpus; i++) {
        const struct gpunode_gpu *g = &v.gpus[i];
        const struct gpu_model *m = g->model ? catalog_find_model(g->model) : NULL;
        if (m && g->mig_mode && strcmp(g->mig_mode, "Enabled") == 0)
            marked |= draw_gpu(out, g, m, slices, &owners, ns);
        else
            fprintf(out, "  GPU %-2u %-21s MIG %s\n", g->index, g->product ? g->product : "?",
                    g->mig_mode ? g->mig_mode : "unknown");
    }
    if (v.n_gpus == 0)
        fprintf(out, "  no GPUs reported\n");
    draw_owners(out, &owners);
    return marked;
}

/* Whether some GPUSlice is the pod's. */
static bool has_slices(json_t *slices, const json_t *pod)
{
    size_t i;
    json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) == 0 && strcmp(v.ns, meta_namespace(pod)) == 0 &&
            strcmp(v.spec.pod_name, meta_name(pod)) == 0)
            return true;
    }
    return false;
}

/* What a gated pod waits for: the controller's SlicesPlaced condition
 * (none on a pod placed at its first decision: its GPUSlices say so). */
static void waiting_reason(const json_t *pod, json_t *slices, char *out, size_t size)
{
    if (pod_gate_count(pod) > 1) {
        snprintf(out, size, "WaitingForGates: other scheduling gates are still on the pod");
        return;
    }
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond) {
        const char *type = json_string_value(json_object_get(cond, "type"));
        if (type && strcmp(type, "gpuslice.dev/SlicesPlaced") == 0) {
            const char *reason = json_string_value(json_object_get(cond, "reason"));
            const char *msg = json_string_value(json_object_get(cond, "message"));
            snprintf(out, size, "%s: %s", reason ? reason : "?", msg ? msg : "");
            return;
        }
    }
    snprintf(out, size, has_slices(slices, pod)
                            ? "Placed: the agent is making its slices"
                            : "Pending: the controller has not decided yet");
}

static bool pod_done(const json_t *pod)
{
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"),
                                                          "phase"));
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") ||
           (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

/* "1g.10gb x2, 3g.40gb" */
static void asked(const json_t *pod, char *out, size_t size)
{
    struct pod_slices ps;
    size_t used = 0;
    out[0] = '\0';
    if (pod_slices_of(pod, &ps, NULL) < 0)
        return;
    for (size_t i = 0; i < ps.n && used < size; i++) {
        const struct pod_slice_request *r = &ps.items[i];
        char what[48];
        if (r->memory_gib)
            snprintf(what, sizeof what, "%uGiB", r->memory_gib);
        else
            snprintf(what, sizeof what, "%s", r->profile);
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", what);
        if (r->count > 1 && used < size)
            used += (size_t)snprintf(out + used, size - used, " x%u", r->count);
    }
}

static void draw_waiting(FILE *out, json_t *pods, json_t *slices, const char *ns)
{
    size_t i, n = 0;
    json_t *pod;
    json_array_foreach(pods, i, pod)
        n += pod_gated(pod, GPUSLICE_GATE) && !pod_done(pod) &&
             (!ns || strcmp(meta_namespace(pod), ns) == 0);
    fprintf(out, "\nPods waiting at gpuslice's gate: %zu\n", n);
    json_array_foreach(pods, i, pod) {
        if (!pod_gated(pod, GPUSLICE_GATE) || pod_done(pod) ||
            (ns && strcmp(meta_namespace(pod), ns) != 0))
            continue;
        char why[1024], what[256], name[320];
        waiting_reason(pod, slices, why, sizeof why);
        asked(pod, what, sizeof what);
        snprintf(name, sizeof name, "%s/%s", meta_namespace(pod), meta_name(pod));
        fprintf(out, "  %-32s %-20s %s\n", name, what, why);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(meta_name(*(json_t *const *)a), meta_name(*(json_t *const *)b));
}

static void draw(FILE *out, struct status *s)
{
    json_t *nodes = informer_list(s->inf[INF_GPUNODES], NULL);
    json_t *slices = informer_list(s->inf[INF_SLICES], NULL);
    json_t *pods = informer_list(s->inf[INF_PODS], NULL);
    size_t n = json_array_size(nodes), shown = 0;
    json_t **sorted = alloc_calloc(n ? n : 1, sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(nodes, i);
    qsort(sorted, n, sizeof *sorted, by_name);
    bool marked = false;
    for (size_t i = 0; i < n; i++) {
        if (s->args->node && strcmp(meta_name(sorted[i]), s->args->node) != 0)
            continue;
        marked |= draw_node(out, sorted[i], slices, s->args->ns);
        shown++;
    }
    if (shown == 0)
        fprintf(out, s->args->node ? "no GPUNode %s\n" : "no GPUNodes: no gpuslice agent has "
                "reported a node yet\n", s->args->node);
    if (marked)
        fprintf(out, "%c warm (kept for its namespace's next pod)  %c mig-static layout  %c not "
                "gpuslice's\n", PLACEMENT_MARK_WARM, PLACEMENT_MARK_STATIC,
                PLACEMENT_MARK_FOREIGN);
    draw_waiting(out, pods, slices, s->args->ns);
    free(sorted);
    json_decref(nodes);
    json_decref(slices);
    json_decref(pods);
}

/* ---- the informers ---- */

static void on_change(void *ctx, enum informer_change change, const json_t *old,
                      const json_t *cur)
{
    (void)change;
    (void)old;
    (void)cur;
    atomic_store(&((struct status *)ctx)->changed, true);
}

static int watch_all(struct status *s, struct store *st, struct err *e)
{
    static const char *const what[N_INF][3] = {
        [INF_GPUNODES] = {GPUSLICE_API_GROUP, "v1alpha1", "gpunodes"},
        [INF_SLICES] = {GPUSLICE_API_GROUP, "v1alpha1", "gpuslices"},
        [INF_PODS] = {"", "v1", "pods"},
    };
    for (size_t i = 0; i < N_INF; i++) {
        const struct api_resource *res =
            api_registry_find(store_registry(st), what[i][0], what[i][1], what[i][2]);
        if (!res)
            return err_set(e, -ENOENT, "the client does not know %s", what[i][2]);
        struct informer_config ic = {.store = st, .res = res, .handler = on_change,
                                     .handler_ctx = s, .seed = 1};
        int rc = informer_new(&ic, &s->inf[i], e);
        if (rc == 0)
            rc = informer_start(s->inf[i], e);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < N_INF; i++)
        if (informer_wait_synced(s->inf[i], SYNC_TIMEOUT_MS) < 0)
            return err_set(e, -ETIMEDOUT, "the API server did not list %s in %d s (are the "
                           "gpuslice CRDs installed?)", what[i][2], SYNC_TIMEOUT_MS / 1000);
    return 0;
}

static void stop_all(struct status *s)
{
    for (size_t i = 0; i < N_INF; i++)
        if (s->inf[i]) {
            informer_stop(s->inf[i]);
            informer_free(s->inf[i]);
        }
}

/* -w: redraws after each burst of changes until a stop signal. On a
 * terminal the screen is redrawn in place; piped, each picture follows
 * the last under a line with the time. */
static void watch_loop(struct status *s)
{
    bool tty = isatty(STDOUT_FILENO);
    for (;;) {
        if (atomic_exchange(&s->changed, false)) {
            if (tty) {
                printf("\033[H\033[2J");
            } else {
                time_t now = time(NULL);
                char ts[32];
                strftime(ts, sizeof ts, "%H:%M:%S", localtime(&now));
                printf("\n--- %s\n", ts);
            }
            draw(stdout, s);
            fflush(stdout);
        }
        if (cmd_signals_wait(WATCH_TICK_NS) != 0)
            return;
    }
}

/* ---- the command ---- */

static int parse_args(int argc, char **argv, struct status_args *a)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, NULL, 'k'}, {"context", required_argument, NULL, 'c'},
        {"namespace", required_argument, NULL, 'n'},  {"node", required_argument, NULL, 'N'},
        {"watch", no_argument, NULL, 'w'},            {"all-namespaces", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "n:wA", opts, NULL)) != -1;) {
        switch (c) {
        case 'k': a->kubeconfig = optarg; break;
        case 'c': a->context = optarg; break;
        case 'n': a->ns = optarg; break;
        case 'N': a->node = optarg; break;
        case 'w': a->watch = true; break;
        case 'A': a->ns = NULL; break;
        default: fprintf(stderr, "see 'gpuslice help status'\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gpuslice status: unexpected argument '%s'\nsee 'gpuslice help status'\n",
                argv[optind]);
        return 2;
    }
    return 0;
}

/* The kubeconfig as kubectl picks it: --kubeconfig, else the first file of
 * $KUBECONFIG, else ~/.kube/config; --context within it. */
static int load_config(const struct status_args *a, struct kube_config **kc, struct err *e)
{
    if (!a->kubeconfig && !a->context)
        return kube_config_default(kc, e);
    char path[4096];
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
    if (a->kubeconfig)
        snprintf(path, sizeof path, "%s", a->kubeconfig);
    else if (env && *env)
        snprintf(path, sizeof path, "%.*s", (int)strcspn(env, ":"), env);
    else
        snprintf(path, sizeof path, "%s/.kube/config", home ? home : "");
    return kube_config_load(path, a->context, kc, e);
}

int cmd_status(int argc, char **argv)
{
    struct status_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct kube_config *kc = NULL;
    struct store *st = NULL;
    struct status s = {.args = &a};
    atomic_init(&s.changed, false);
    struct err e = {0};
    cmd_signals_block();
    rc = load_config(&a, &kc, &e);
    if (rc == 0)
        rc = kube_store_new(kc, NULL, &st, &e);
    if (rc == 0)
        rc = watch_all(&s, st, &e);
    if (rc == 0 && a.watch) {
        atomic_store(&s.changed, true);
        watch_loop(&s);
    } else if (rc == 0) {
        draw(stdout, &s);
    } else {
        fprintf(stderr, "gpuslice status: %s\n", e.msg);
    }
    stop_all(&s);
    store_free(st);
    kube_config_free(kc);
    return rc == 0 ? 0 : 1;
}
