/*
 * The linear decode/prefill fits of perfmodel.h and their validation. Kept
 * apart from the queueing model so that the fits can change (a measured table
 * instead of a line) without touching the chain.
 */
#include "planner/perfmodel.h"

#include <math.h>

double perfmodel_decode_ms(const struct perf_params *p, double n)
{
    return p->alpha + p->beta * n;
}

double perfmodel_prefill_ms(const struct perf_params *p, double in_tokens, double n)
{
    return p->gamma + p->delta * in_tokens * n;
}

double perfmodel_service_ms(const struct perf_params *p, const struct perf_request *r, double n)
{
    return perfmodel_prefill_ms(p, r->in_tokens, n) + (r->out_tokens - 1.0) * perfmodel_decode_ms(p, n);
}

double perfmodel_service_scv(const struct perf_params *p, const struct perf_request *r, double n)
{
    double d = perfmodel_decode_ms(p, n), mean = perfmodel_service_ms(p, r, n);
    return d * d * r->out_tokens * (r->out_tokens - 1.0) / (mean * mean);
}

int perfmodel_batch_limit(const struct perf_params *p, const struct perf_request *r)
{
    double tokens = r->in_tokens + r->out_tokens;
    double n = floor((double)p->max_batch * (double)p->at_tokens / tokens);
    if (!(n >= 1.0))
        return 1;
    if (n > PERFMODEL_MAX_BATCH)
        return PERFMODEL_MAX_BATCH;
    return (int)n;
}

static int check_at_least(double v, double min, int strict, const char *field, struct err *e)
{
    if (!isfinite(v))
        return err_set(e, -EINVAL, "%s must be a finite number, got %g", field, v);
    if (strict ? !(v > min) : !(v >= min))
        return err_set(e, -EINVAL, "%s must be %s %g, got %g", field, strict ? ">" : ">=", min, v);
    return 0;
}

int perfmodel_check(const struct perf_params *p, struct err *e)
{
    int rc;
    if ((rc = check_at_least(p->alpha, 0, 1, "decodeParms.alpha", e)) ||
        (rc = check_at_least(p->beta, 0, 0, "decodeParms.beta", e)) ||
        (rc = check_at_least(p->gamma, 0, 0, "prefillParms.gamma", e)) ||
        (rc = check_at_least(p->delta, 0, 0, "prefillParms.delta", e)))
        return rc;
    if (p->max_batch < 1)
        return err_set(e, -EINVAL, "maxBatchSize must be >= 1, got %d", p->max_batch);
    if (p->at_tokens < 1)
        return err_set(e, -EINVAL, "atTokens must be >= 1, got %d", p->at_tokens);
    return 0;
}

int perfmodel_check_request(const struct perf_request *r, struct err *e)
{
    int rc;
    if ((rc = check_at_least(r->in_tokens, 0, 0, "avgInTokens", e)) ||
        (rc = check_at_least(r->out_tokens, 1, 0, "avgOutTokens", e)))
        return rc;
    return 0;
}
