/*
 * The two renderings of plan_output.h. Numbers are rounded to four
 * decimals so that plans diff cleanly and tests can compare them as text.
 */
#include "planner/plan_output.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

static json_t *number(double x)
{
    return json_real(round(x * 1e4) / 1e4);
}

/* json_object_set_new() that remembers a failure instead of returning it. */
static void put(json_t *obj, const char *key, json_t *value, int *failed)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *failed = 1;
}

/* The targets a server's class leaves out (given as 0 or absent): such a
 * metric is reported but judged against nothing, which the plan says
 * rather than calling it ok. "" when both are set. */
static const char *missing_targets(const struct plan_server *s)
{
    bool itl = s->target->itl_ms > 0.0, ttft = s->target->ttft_ms > 0.0;
    return itl && ttft ? "" : itl ? "no TTFT target" : ttft ? "no ITL target" : "no ITL or TTFT target";
}

static json_t *load_json(const struct plan_server *s)
{
    int failed = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "arrivalRate", number(s->rate_per_min), &failed);
    put(o, "avgInTokens", number(s->req.in_tokens), &failed);
    put(o, "avgOutTokens", number(s->req.out_tokens), &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *allocation_json(const struct plan_system *sys, size_t i, const struct plan_server_result *r)
{
    const struct plan_accelerator *acc = &sys->accelerators[r->alloc.acc];
    const struct plan_perf *perf = &sys->perfs[r->perf];
    char resource[96];
    plan_accelerator_resource(acc, resource, sizeof resource);
    int failed = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "accelerator", json_string(acc->name), &failed);
    put(o, "numReplicas", json_integer(r->alloc.replicas), &failed);
    put(o, "maxBatch", json_integer(r->alloc.max_batch), &failed);
    put(o, "cost", number(r->alloc.cost), &failed);
    put(o, "itlAverage", number(r->alloc.itl_ms), &failed);
    put(o, "ttftAverage", number(r->alloc.ttft_ms), &failed);
    put(o, "load", load_json(&sys->servers[i]), &failed);
    put(o, "status", json_string(plan_status_name(r->status)), &failed);
    put(o, "utilisation", number(r->utilisation), &failed);
    put(o, "resource", json_string(resource), &failed);
    put(o, "resourcesPerReplica", json_integer((json_int_t)perf->acc_count * acc->multiplicity), &failed);
    const char *missing = missing_targets(&sys->servers[i]);
    if (*missing)
        put(o, "targets", json_string(missing), &failed);
    if (r->status == PLAN_SATURATED) {
        put(o, "unservedLoad", number(r->unserved_per_min), &failed);
        put(o, "neededReplicas", json_integer(r->needed_replicas), &failed);
        put(o, "reason", json_string(r->reason), &failed);
    }
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *left_out_json(const struct plan_server_result *r)
{
    return json_pack("{s:s, s:s, s:o}", "status", plan_status_name(r->status), "reason", r->reason,
                     "unservedLoad", number(r->unserved_per_min));
}

static json_t *summary_json(const struct plan_system *sys, const struct plan_result *r)
{
    int failed = 0;
    json_t *o = json_object(), *cap = json_object();
    if (!o || !cap) {
        json_decref(o);
        json_decref(cap);
        return NULL;
    }
    put(o, "solver", json_string(r->solver), &failed);
    put(o, "optimal", json_boolean(r->optimal), &failed);
    put(o, "totalCost", number(r->total_cost), &failed);
    put(o, "servedLoad", number(r->served_per_min), &failed);
    put(o, "unservedLoad", number(r->unserved_per_min), &failed);
    for (size_t t = 0; t < sys->n_types; t++) {
        json_t *c = sys->types[t].count >= 0
                        ? json_pack("{s:I, s:I}", "used", (json_int_t)r->used[t], "count",
                                    (json_int_t)sys->types[t].count)
                        : json_pack("{s:I}", "used", (json_int_t)r->used[t]);
        put(cap, sys->types[t].name, c, &failed);
    }
    put(o, "capacity", cap, &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *plan_result_json(const struct plan_system *sys, const struct plan_result *r)
{
    int failed = 0;
    json_t *root = json_object(), *allocs = json_object(), *out = json_object();
    if (!root || !allocs || !out) {
        json_decref(root);
        json_decref(allocs);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < r->n_servers; i++) {
        const struct plan_server_result *s = &r->servers[i];
        if (s->alloc.acc >= 0)
            put(allocs, sys->servers[i].name, allocation_json(sys, i, s), &failed);
        else
            put(out, sys->servers[i].name, left_out_json(s), &failed);
    }
    put(root, "allocations", allocs, &failed);
    put(root, "unallocated", out, &failed);
    put(root, "summary", summary_json(sys, r), &failed);
    if (failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void table_row(const struct plan_system *sys, size_t i, const struct plan_server_result *r, FILE *out)
{
    const struct plan_server *s = &sys->servers[i];
    fprintf(out, "%-24s %-10s %-14s ", s->name, sys->classes[s->cls].name, sys->models[s->model].name);
    if (r->alloc.acc < 0) {
        fprintf(out, "%-16s %8s %6s %10s %8s %9s %5s %s\n", "-", "-", "-", "-", "-", "-", "-",
                plan_status_name(r->status));
        return;
    }
    const char *missing = missing_targets(s);
    fprintf(out, "%-16s %8d %6d %10.2f %8.2f %9.2f %4.0f%% %s%s%s\n", sys->accelerators[r->alloc.acc].name,
            r->alloc.replicas, r->alloc.max_batch, r->alloc.cost, r->alloc.itl_ms, r->alloc.ttft_ms,
            100.0 * r->utilisation, plan_status_name(r->status), *missing ? ", " : "", missing);
}

int plan_result_table(const struct plan_system *sys, const struct plan_result *r, FILE *out)
{
    fprintf(out, "%-24s %-10s %-14s %-16s %8s %6s %10s %8s %9s %5s %s\n", "SERVER", "CLASS", "MODEL",
            "ACCELERATOR", "REPLICAS", "BATCH", "COST", "ITL(ms)", "TTFT(ms)", "UTIL", "STATUS");
    for (size_t i = 0; i < r->n_servers; i++)
        table_row(sys, i, &r->servers[i], out);
    for (size_t i = 0; i < r->n_servers; i++)
        if (r->servers[i].status != PLAN_OK)
            fprintf(out, "%s: %s\n", sys->servers[i].name, r->servers[i].reason);
    for (size_t i = 0; i < r->n_servers; i++)
        if (r->servers[i].unserved_per_min > 0.0)
            fprintf(out, "%s: left without %.2f of its %.2f requests/min\n", sys->servers[i].name,
                    r->servers[i].unserved_per_min, sys->servers[i].rate_per_min);
    fprintf(out, "total cost %.2f per hour, load served %.2f of %.2f requests/min, model %s, solver %s%s\n",
            r->total_cost, r->served_per_min, r->served_per_min + r->unserved_per_min,
            plan_queue_model_name(sys->options.model), r->solver,
            r->optimal ? "" : " (time limit: best found, not proven optimal)");
    for (size_t t = 0; t < sys->n_types; t++) {
        if (sys->types[t].count >= 0)
            fprintf(out, "  %-24s %ld of %ld used\n", sys->types[t].name, r->used[t], sys->types[t].count);
        else if (r->used[t] > 0)
            fprintf(out, "  %-24s %ld used\n", sys->types[t].name, r->used[t]);
    }
    return ferror(out) ? -EIO : 0;
}

/* "4xA100 x106" or "-", the cost, the load served (requests/min). */
static void compare_cell(const struct plan_system *sys, size_t i, const struct plan_server_result *r, FILE *out)
{
    char what[64] = "-";
    if (r->alloc.acc >= 0)
        snprintf(what, sizeof what, "%s x%d", sys->accelerators[r->alloc.acc].name, r->alloc.replicas);
    fprintf(out, " | %-18s %10.2f %9.2f", what, r->alloc.acc >= 0 ? r->alloc.cost : 0.0,
            sys->servers[i].rate_per_min - r->unserved_per_min);
}

int plan_compare_table(const struct plan_system *sys, const struct plan_result *compatible,
                       const struct plan_result *gpuslice, FILE *out)
{
    fprintf(out, "%-24s | %-40s | %-40s\n", "", "COMPATIBLE (the optimizer's model)", "GPUSLICE (gpuslice's model)");
    fprintf(out, "%-24s | %-18s %10s %9s | %-18s %10s %9s\n", "SERVER", "ACCELERATOR", "COST", "SERVED", "ACCELERATOR",
            "COST", "SERVED");
    for (size_t i = 0; i < sys->n_servers; i++) {
        fprintf(out, "%-24s", sys->servers[i].name);
        compare_cell(sys, i, &compatible->servers[i], out);
        compare_cell(sys, i, &gpuslice->servers[i], out);
        fputc('\n', out);
    }
    fprintf(out, "%-24s | %-18s %10.2f %9.2f | %-18s %10.2f %9.2f\n", "TOTAL", "", compatible->total_cost,
            compatible->served_per_min, "", gpuslice->total_cost, gpuslice->served_per_min);
    fprintf(out, "cost per hour; SERVED: requests/min carried within the targets, of %.2f offered\n",
            compatible->served_per_min + compatible->unserved_per_min);
    return ferror(out) ? -EIO : 0;
}

/* "  60.21  150.30     200  92.1%": mean, tail, target, share within it;
 * "-" where there is nothing to show. */
static void judge_metric_cells(const struct judge_metric *m, FILE *out)
{
    if (isnan(m->mean_ms))
        fprintf(out, " %8s %8s", "-", "-");
    else
        fprintf(out, " %8.2f %8.2f", m->mean_ms, m->tail_ms);
    if (m->target_ms > 0.0)
        fprintf(out, " %7.0f", m->target_ms);
    else
        fprintf(out, " %7s", "none");
    if (isnan(m->attained))
        fprintf(out, " %6s", "-");
    else
        fprintf(out, " %5.1f%%", 100.0 * m->attained);
}

static void judge_row(const char *name, const char *what, const struct judge_stats *st, FILE *out)
{
    fprintf(out, "%-24s %-18s %9.0f", name, what, st->requests);
    judge_metric_cells(&st->ttft, out);
    judge_metric_cells(&st->itl, out);
    if (isnan(st->attained))
        fprintf(out, " %6s", "-");
    else
        fprintf(out, " %5.1f%%", 100.0 * st->attained);
    fprintf(out, " %s\n", judge_verdict_name(st->verdict));
}

static void judge_block(const struct plan_system *sys, const struct plan_judged *p, FILE *out)
{
    const struct judge_result *j = p->judged;
    char sizing[64] = "";
    if (p->rounds >= 0)
        snprintf(sizing, sizeof sizing, " (sized by the judge, %d round%s)", p->rounds, p->rounds == 1 ? "" : "s");
    fprintf(out, "%s plan%s: cost %.2f per hour; judged over %.0f s of requests\n", p->label, sizing,
            p->plan->total_cost, j->seconds);
    char tail[16];
    snprintf(tail, sizeof tail, "p%g", j->percentile);
    fprintf(out, "%-24s %-18s %9s %8s %8s %7s %6s %8s %8s %7s %6s %6s %s\n", "SERVER", "ACCELERATOR", "REQUESTS",
            "TTFT", tail, "TARGET", "WITHIN", "ITL", tail, "TARGET", "WITHIN", "ALL", "VERDICT");
    for (size_t i = 0; i < sys->n_servers; i++) {
        const struct plan_server_result *r = &p->plan->servers[i];
        char what[64] = "-";
        if (r->alloc.acc >= 0)
            snprintf(what, sizeof what, "%s x%d", sys->accelerators[r->alloc.acc].name, r->alloc.replicas);
        judge_row(sys->servers[i].name, what, &j->servers[i], out);
    }
    judge_row("ALL", "", &j->overall, out);
}

int plan_judge_table(const struct plan_system *sys, const struct plan_judged *plans, size_t n, FILE *out)
{
    double percentile = n ? plans[0].judged->percentile : 0.0;
    for (size_t k = 0; k < n; k++) {
        judge_block(sys, &plans[k], out);
        fputc('\n', out);
    }
    fprintf(out, "times in ms (TTFT, ITL: means; p%g: the percentile); WITHIN: share of requests within the target; ALL: within "
            "all of their targets; a server meets its targets when each holds for %g%% of its requests\n\n",
            percentile, percentile);
    fprintf(out, "%-12s %-16s %10s %10s %7s %7s %7s %s\n", "PLAN", "SIZED FOR", "COST", "SERVED", "TTFT", "ITL",
            "ALL", "SERVERS MEETING THEIR TARGETS");
    for (size_t k = 0; k < n; k++) {
        const struct judge_result *j = plans[k].judged;
        char sizing[32] = "the means";
        if (plans[k].rounds >= 0)
            snprintf(sizing, sizeof sizing, "judge, %d round%s", plans[k].rounds, plans[k].rounds == 1 ? "" : "s");
        fprintf(out, "%-12s %-16s %10.2f %10.2f %6.1f%% %6.1f%% %6.1f%% %zu of %zu%s\n", plans[k].label, sizing,
                plans[k].plan->total_cost, plans[k].plan->served_per_min, 100.0 * j->overall.ttft.attained,
                100.0 * j->overall.itl.attained, 100.0 * j->overall.attained, j->meeting, j->n_servers,
                j->meeting == j->n_servers ? ": meets the targets as judged" : "");
    }
    return ferror(out) ? -EIO : 0;
}

/* A share or a time, or null where there is none. */
static json_t *number_or_null(double x)
{
    return isnan(x) ? json_null() : number(x);
}

static json_t *metric_json(const struct judge_metric *m)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "mean", number_or_null(m->mean_ms), "tail",
                     number_or_null(m->tail_ms), "target", m->target_ms > 0.0 ? number(m->target_ms) : json_null(),
                     "attainment", number_or_null(m->attained));
}

static json_t *stats_json(const struct judge_stats *st)
{
    return json_pack("{s:o, s:o, s:s, s:o, s:o}", "requests", number(st->requests), "attainment",
                     number_or_null(st->attained), "verdict", judge_verdict_name(st->verdict), "ttft",
                     metric_json(&st->ttft), "itl", metric_json(&st->itl));
}

static json_t *judged_server_json(const struct plan_system *sys, const struct plan_server_result *r,
                                  const struct judge_stats *st)
{
    json_t *o = stats_json(st);
    int failed = !o;
    if (o && r->alloc.acc >= 0) {
        put(o, "accelerator", json_string(sys->accelerators[r->alloc.acc].name), &failed);
        put(o, "numReplicas", json_integer(r->alloc.replicas), &failed);
    } else if (o) {
        put(o, "accelerator", json_null(), &failed);
        put(o, "numReplicas", json_integer(0), &failed);
    }
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *judged_plan_json(const struct plan_system *sys, const struct plan_judged *p)
{
    const struct judge_result *j = p->judged;
    int failed = 0;
    json_t *o = json_object(), *servers = json_object();
    if (!o || !servers) {
        json_decref(o);
        json_decref(servers);
        return NULL;
    }
    put(o, "plan", json_string(p->label), &failed);
    put(o, "sizing", json_string(p->rounds >= 0 ? "judged" : "mean"), &failed);
    if (p->rounds >= 0)
        put(o, "rounds", json_integer(p->rounds), &failed);
    put(o, "totalCost", number(p->plan->total_cost), &failed);
    put(o, "servedLoad", number(p->plan->served_per_min), &failed);
    put(o, "serversMeeting", json_integer((json_int_t)j->meeting), &failed);
    put(o, "servers", json_integer((json_int_t)j->n_servers), &failed);
    put(o, "overall", stats_json(&j->overall), &failed);
    for (size_t i = 0; i < sys->n_servers; i++)
        put(servers, sys->servers[i].name, judged_server_json(sys, &p->plan->servers[i], &j->servers[i]), &failed);
    put(o, "judged", servers, &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *plan_judge_json(const struct plan_system *sys, const struct plan_judged *plans, size_t n, uint64_t seed)
{
    int failed = 0;
    json_t *o = json_object(), *list = json_array();
    if (!o || !list) {
        json_decref(o);
        json_decref(list);
        return NULL;
    }
    put(o, "seconds", number(n ? plans[0].judged->seconds : 0.0), &failed);
    put(o, "seed", json_integer((json_int_t)seed), &failed);
    put(o, "percentile", number(n ? plans[0].judged->percentile : 0.0), &failed);
    for (size_t k = 0; k < n; k++) {
        json_t *p = judged_plan_json(sys, &plans[k]);
        if (!p || json_array_append_new(list, p) != 0)
            failed = 1;
    }
    put(o, "plans", list, &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *sized_targets_json(const struct plan_judged_server *s)
{
    return json_pack("{s:o, s:o, s:i, s:s}", "ttft", s->ttft_ms > 0.0 ? number(s->ttft_ms) : json_null(), "itl",
                     s->itl_ms > 0.0 ? number(s->itl_ms) : json_null(), "steps", s->steps, "stop",
                     plan_judged_stop_name(s->stop));
}

json_t *plan_sizing_json(const struct plan_system *sys, const struct plan_judged_report *rep,
                         const struct judge_result *judged)
{
    int failed = 0;
    json_t *o = json_object(), *targets = json_object();
    if (!o || !targets) {
        json_decref(o);
        json_decref(targets);
        return NULL;
    }
    put(o, "by", json_string("judge"), &failed);
    put(o, "rounds", json_integer(rep->rounds), &failed);
    put(o, "unsizedCost", number(rep->unsized_cost), &failed);
    put(o, "unsizedServersMeeting", json_integer((json_int_t)rep->unsized_meeting), &failed);
    put(o, "serversMeeting", json_integer((json_int_t)judged->meeting), &failed);
    put(o, "servers", json_integer((json_int_t)judged->n_servers), &failed);
    for (size_t i = 0; i < rep->n_servers; i++)
        put(targets, sys->servers[i].name, sized_targets_json(&rep->servers[i]), &failed);
    put(o, "targets", targets, &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}
