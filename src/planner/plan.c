/*
 * The small shared pieces of plan.h: releasing a system or a result, and
 * the names of policies, statuses and resources.
 */
#include "planner/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void plan_system_free(struct plan_system *sys)
{
    if (!sys)
        return;
    for (size_t i = 0; i < sys->n_accelerators; i++)
        free(sys->accelerators[i].name);
    for (size_t i = 0; i < sys->n_types; i++)
        free(sys->types[i].name);
    for (size_t i = 0; i < sys->n_models; i++)
        free(sys->models[i].name);
    for (size_t i = 0; i < sys->n_classes; i++) {
        free(sys->classes[i].name);
        free(sys->classes[i].targets);
    }
    for (size_t i = 0; i < sys->n_servers; i++)
        free(sys->servers[i].name);
    free(sys->accelerators);
    free(sys->types);
    free(sys->models);
    free(sys->perfs);
    free(sys->classes);
    free(sys->servers);
    memset(sys, 0, sizeof *sys);
}

void plan_result_free(struct plan_result *r)
{
    if (!r)
        return;
    free(r->servers);
    free(r->used);
    memset(r, 0, sizeof *r);
}

static const char *const saturation_names[] = {
    [PLAN_SAT_NONE] = "None",
    [PLAN_SAT_PRIORITY_EXHAUSTIVE] = "PriorityExhaustive",
    [PLAN_SAT_PRIORITY_ROUND_ROBIN] = "PriorityRoundRobin",
    [PLAN_SAT_ROUND_ROBIN] = "RoundRobin",
};

const char *plan_saturation_name(enum plan_saturation s)
{
    return saturation_names[s];
}

/* The index of name among names[0 .. n-1], case-insensitively, or -1. */
static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

int plan_saturation_parse(const char *name, enum plan_saturation *out, struct err *e)
{
    int i = name_index(saturation_names, sizeof saturation_names / sizeof saturation_names[0], name);
    if (i >= 0) {
        *out = (enum plan_saturation)i;
        return 0;
    }
    return err_set(e, -EINVAL,
                   "unknown saturation policy \"%s\" (None, PriorityExhaustive, "
                   "PriorityRoundRobin or RoundRobin)",
                   name);
}

const char *plan_status_name(enum plan_status s)
{
    static const char *const names[] = {
        [PLAN_OK] = "ok",
        [PLAN_SATURATED] = "saturated",
        [PLAN_UNALLOCATED] = "unallocated",
        [PLAN_INFEASIBLE] = "infeasible",
    };
    return names[s];
}

void plan_accelerator_resource(const struct plan_accelerator *a, char *buf, size_t len)
{
    if (a->profile)
        snprintf(buf, len, "nvidia.com/mig-%s", a->profile->name);
    else
        snprintf(buf, len, "nvidia.com/gpu");
}

static const char *const model_names[] = {
    [PLAN_MODEL_COMPATIBLE] = "compatible",
    [PLAN_MODEL_GPUSLICE] = "gpuslice",
};

const char *plan_queue_model_name(enum plan_queue_model m)
{
    return model_names[m];
}

int plan_queue_model_parse(const char *name, enum plan_queue_model *out, struct err *e)
{
    int i = name_index(model_names, sizeof model_names / sizeof model_names[0], name);
    if (i >= 0) {
        *out = (enum plan_queue_model)i;
        return 0;
    }
    return err_set(e, -EINVAL, "unknown model \"%s\" (compatible or gpuslice)", name);
}

int plan_type_gpus(const struct plan_system *sys, int type)
{
    const struct plan_type *t = &sys->types[type];
    if (!t->profile)
        return -1;
    for (size_t i = 0; i < sys->n_types; i++)
        if (!sys->types[i].profile && sys->types[i].gpu == t->gpu)
            return (int)i;
    return -1;
}
