/*
 * The values the store puts in object after object, made once and shared
 * by every version that holds them (mem_internal.h, enum mem_literal): a
 * string costs two allocations and a UTF-8 check to make and two frees
 * when the history drops its version, a shared one a reference count.
 */
#include "api/meta.h"
#include "store/mem_internal.h"
#include "util/clock.h"

void mem__literals_make(struct mem_store *ms)
{
    static const char *const strings[MEM_LIT_COUNT] = {
        [MEM_LIT_POD_SCHEDULED] = "PodScheduled",
        [MEM_LIT_TRUE] = "True",
        [MEM_LIT_FALSE] = "False",
        [MEM_LIT_SCHEDULING_GATED] = "SchedulingGated",
        [MEM_LIT_GATED_MESSAGE] = "Scheduling is blocked due to non-empty scheduling gates",
        [MEM_LIT_PENDING] = "Pending",
        [MEM_LIT_ALWAYS] = "Always",
        [MEM_LIT_CLUSTER_FIRST] = "ClusterFirst",
        [MEM_LIT_DEFAULT_SCHEDULER] = "default-scheduler",
    };
    for (size_t i = 0; i < MEM_LIT_COUNT; i++)
        ms->literals[i] = strings[i] ? json_string(strings[i]) : NULL;
    ms->literals[MEM_LIT_ONE] = json_integer(1);
    ms->literals[MEM_LIT_GRACE_SECONDS] = json_integer(30);
}

void mem__literals_free(struct mem_store *ms)
{
    for (size_t i = 0; i < MEM_LIT_COUNT; i++)
        json_decref(ms->literals[i]);
    json_decref(ms->last_time);
}

json_t *mem__literal(struct mem_store *ms, enum mem_literal l)
{
    return json_incref(ms->literals[l]);
}

json_t *mem__time_value(struct mem_store *ms, int64_t ns)
{
    /* the whole second meta_format_time prints */
    int64_t s = ns / NS_PER_SEC - (ns % NS_PER_SEC < 0);
    if (!ms->last_time || s != ms->last_time_s) {
        char t[META_TIME_LEN];
        meta_format_time(ns, t);
        json_decref(ms->last_time);
        ms->last_time = json_string(t);
        ms->last_time_s = s;
    }
    return json_incref(ms->last_time);
}
