/*
 * plan_run.h: parse, load, solve, render, with every intermediate released
 * on every path.
 */
#include "planner/plan_run.h"

#include <jansson.h>

#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/solve.h"

int plan_run_text(const char *text, size_t len, const char *origin, char **out, struct err *e)
{
    struct plan_system sys;
    int rc = plan_load_text(text, len, origin, &sys, e);
    if (rc)
        return rc;
    struct plan_result r;
    if ((rc = plan_solve(&sys, &r, e)) == 0) {
        json_t *doc = plan_result_json(&sys, &r);
        *out = doc ? json_dumps(doc, PLAN_JSON_DUMP_FLAGS) : NULL;
        json_decref(doc);
        if (!*out)
            rc = err_set(e, -ENOMEM, "out of memory");
        plan_result_free(&r);
    }
    plan_system_free(&sys);
    return rc;
}
