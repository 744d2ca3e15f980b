/*
 * `gpuslice place -f CLUSTER.yaml [--policy P] REQUEST...`: places slice
 * requests, in order, on a cluster described in a file, with the same
 * placement code the controller runs, and shows each decision (or why a
 * request does not fit, and whether an upgrade to a larger profile would
 * place it) and then every GPU's memory slices, or a shared GPU's clients
 * (requests "mps:GIB[:SM]" and "timeslice" go to GPUs in mode mps and
 * timeslice). Nothing is created anywhere: it is a way to see and compare
 * the policies.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/clusterfile.h"
#include "cmd/commands.h"
#include "core/placement.h"
#include "core/upgrade.h"
#include "util/alloc.h"

struct place_args {
    const char *file;
    enum placement_policy policy;
    char *const *texts;                   /* the requests as written */
    struct clusterfile_request *requests; /* parsed, malloc'ed */
    size_t n_requests;
    struct share_decision *shares;        /* request i's share, where placed */
    bool *share_placed;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says what was wrong and how to call place; returns the usage exit status. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuslice place: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: gpuslice place -f CLUSTER.yaml [--policy POLICY] REQUEST...\n");
    return 2;
}

/* Fills a from argv; 0, or the exit status of a usage error. */
static int parse_args(int argc, char **argv, struct place_args *a)
{
    static const struct option options[] = {
        {"file", required_argument, NULL, 'f'},
        {"policy", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    struct err e;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "f:p:", options, NULL)) != -1;) {
        if (c == 'f')
            a->file = optarg;
        else if (c == 'p' && placement_policy_parse(optarg, &a->policy, &e) < 0)
            return usage_error("%s", e.msg);
        else if (c == '?')
            return usage_error("bad option or missing value: %s", argv[optind - 1]);
    }
    if (!a->file)
        return usage_error("no cluster file (-f CLUSTER.yaml)");
    a->texts = argv + optind;
    a->n_requests = (size_t)(argc - optind);
    a->requests = alloc_calloc(a->n_requests + 1, sizeof *a->requests);
    a->shares = alloc_calloc(a->n_requests + 1, sizeof *a->shares);
    a->share_placed = alloc_calloc(a->n_requests + 1, sizeof *a->share_placed);
    for (size_t i = 0; i < a->n_requests; i++)
        if (clusterfile_parse_request(a->texts[i], &a->requests[i], &e) < 0)
            return usage_error("%s", e.msg);
    return 0;
}

/* "node-a gpu0 A100-40GB, memory slices 0-1" for d. */
static void print_where(const struct clusterfile *cf, const struct placement_decision *d)
{
    unsigned last = d->start + d->profile->memory_slices - 1u;
    printf("%s gpu%zu %s, memory slice%s %u", cf->nodes[d->node].name, cf->gpu_pos[d->gpu],
           cf->gpus[d->gpu].occ.model->name, last > d->start ? "s" : "", d->start);
    if (last > d->start)
        printf("-%u", last);
}

/* For a request that does not fit: whether an upgrade (a pod annotated
 * gpuslice.dev/upgrade-after) would place it, and where. */
static void print_upgrade(const struct clusterfile *cf, const struct placement_request *r,
                          enum placement_policy policy)
{
    struct placement_decision d;
    printf("     ");
    if (upgrade_decide(&cf->cluster, r, policy, &d) < 0) {
        printf("an upgrade cannot help: no larger profile can be placed either\n");
        return;
    }
    printf("an upgrade would place %s: ", d.profile->name);
    print_where(cf, &d);
    printf("%s\n", d.existing ? " (a slice of the mig-static layout)" : "");
}

/* Places request i, a share; false when it does not fit. */
static bool place_share(struct clusterfile *cf, struct place_args *a, size_t i)
{
    struct share_decision *d = &a->shares[i];
    struct err e;
    if (placement_share_decide(cf->shares, cf->n_shares, cf->nodes, &a->requests[i].share,
                               a->policy, d, &e) < 0) {
        printf("not placed: %s\n", e.msg);
        return false;
    }
    placement_share_take(&cf->shares[d->gpu], d->memory_gib, d->sm_percent);
    a->share_placed[i] = true;
    printf("-> %s gpu%zu %s", cf->nodes[d->node].name, cf->share_pos[d->gpu],
           cf->share_model[d->gpu]);
    if (cf->shares[d->gpu].mode == SHARE_MPS)
        printf(", %u GiB and %u%% of the SMs", d->memory_gib, d->sm_percent);
    putchar('\n');
    return true;
}

/* Places request i (owner tag i + 1); false when it does not fit. */
static bool place_one(struct clusterfile *cf, struct place_args *a, size_t i)
{
    const char *text = a->texts[i];
    const struct placement_request *r = &a->requests[i].req;
    enum placement_policy policy = a->policy;
    struct placement_decision d;
    struct err e;
    printf("#%-3zu %-22s ", i + 1, text);
    if (a->requests[i].share.mode)
        return place_share(cf, a, i);
    int rc = placement_decide(&cf->cluster, r, policy, &d, &e);
    if (rc == 0)
        rc = placement_take(&cf->cluster, d.gpu, d.profile, d.start, (uint32_t)(i + 1), &e);
    if (rc < 0) {
        printf("not placed: %s\n", e.msg);
        if (rc == -ENOSPC)
            print_upgrade(cf, r, policy);
        return false;
    }
    printf("-> ");
    print_where(cf, &d);
    /* The request may have named an alias or a resource name. */
    if (strcmp(d.profile->name, r->profile) != 0)
        printf(" (as %s)", d.profile->name);
    if (d.existing)
        printf(" (a slice of the mig-static layout)");
    putchar('\n');
    return true;
}

static void print_node(const struct clusterfile *cf, size_t node)
{
    const struct placement_node *n = &cf->nodes[node];
    printf("%s", n->name);
    for (size_t i = 0; i < n->n_labels; i++)
        printf("%s%s=%s", i ? "," : "  ", n->labels[i].key, n->labels[i].value);
    putchar('\n');
}

/* A mig-static GPU's slices are its fixed layout ("="); elsewhere a slice
 * without a request's tag was in the file: not gpuslice's ("!"). */
static void print_gpu(const struct placement_gpu *g, size_t node_gpu)
{
    char picture[PLACEMENT_PICTURE_MAX], marks[MIG_MAX_MEMORY_SLICES] = {0};
    for (size_t i = 0; i < g->occ.n_slices; i++) {
        const struct occupied_slice *s = &g->occ.slices[i];
        if (g->fixed || s->owner == 0)
            marks[s->start] = g->fixed ? PLACEMENT_MARK_STATIC : PLACEMENT_MARK_FOREIGN;
    }
    placement_picture_marked(&g->occ, marks, picture, sizeof picture);
    printf("  gpu%-2zu %-10s %s", node_gpu, g->occ.model->name, picture);
    if (g->fixed)
        printf("  mig-static");
    if (g->held_back)
        printf("  held back");
    if (g->allowed != PLACEMENT_ALL_PROFILES) {
        printf("  only:");
        for (size_t i = 0; i < g->occ.model->n_profiles; i++)
            if (g->allowed & (1u << i))
                printf(" %s", g->occ.model->profiles[i].name);
    }
    putchar('\n');
}

/* A shared GPU and the requests placed there:
 *   gpu1  NVIDIA L4  mps 16 of 21 GiB, 60% of the SMs: #1 8 GiB 30%, #3 8 GiB 30% */
static void print_share(const struct clusterfile *cf, const struct place_args *a, size_t s)
{
    const struct share_gpu *g = &cf->shares[s];
    printf("  gpu%-2zu %-10s ", cf->share_pos[s], cf->share_model[s]);
    if (g->mode == SHARE_MPS)
        printf("mps %u of %u GiB, %u%% of the SMs", g->used_gib, g->capacity_gib, g->used_sm);
    else
        printf("timeslice %u of %u pods", g->clients, g->slots);
    const char *sep = ": ";
    for (size_t i = 0; i < a->n_requests; i++) {
        if (!a->share_placed[i] || a->shares[i].gpu != s)
            continue;
        printf("%s#%zu", sep, i + 1);
        if (g->mode == SHARE_MPS)
            printf(" %u GiB %u%%", a->shares[i].memory_gib, a->shares[i].sm_percent);
        sep = ", ";
    }
    printf("%s\n", g->held_back ? "  held back" : "");
}

/* Every node and its GPUs in file order, MIG and shared ones merged. */
static void print_cluster(const struct clusterfile *cf, const struct place_args *a)
{
    size_t g = 0, s = 0;
    for (size_t n = 0; n < cf->n_nodes; n++) {
        print_node(cf, n);
        for (;;) {
            bool mig = g < cf->n_gpus && cf->gpus[g].node == n;
            bool shared = s < cf->n_shares && cf->shares[s].node == n;
            if (mig && (!shared || cf->gpu_pos[g] < cf->share_pos[s]))
                print_gpu(&cf->gpus[g], cf->gpu_pos[g]), g++;
            else if (shared)
                print_share(cf, a, s++);
            else
                break;
        }
    }
}

int cmd_place(int argc, char **argv)
{
    struct place_args a = {.policy = PLACEMENT_POLICY_DEFAULT};
    struct clusterfile cf = {0};
    struct err e;
    int status = parse_args(argc, argv, &a);
    if (status == 0 && clusterfile_load(&cf, a.file, &e) < 0) {
        fprintf(stderr, "gpuslice place: %s\n", e.msg);
        status = 1;
    }
    if (status == 0) {
        printf("%s: %zu nodes, %zu GPUs; policy %s\n\n", a.file, cf.n_nodes,
               cf.n_gpus + cf.n_shares + cf.n_whole, placement_policy_name(a.policy));
        size_t placed = 0;
        for (size_t i = 0; i < a.n_requests; i++)
            placed += place_one(&cf, &a, i);
        if (a.n_requests)
            printf("\nplaced %zu of %zu requests\n\n", placed, a.n_requests);
        print_cluster(&cf, &a);
    }
    clusterfile_free(&cf);
    free(a.requests);
    free(a.shares);
    free(a.share_placed);
    return status;
}
