/*
 * The commands' --metrics-address (metrics.h).
 */
#include "cmd/metrics.h"

#include <string.h>

static bool is_ready(void *ctx)
{
    return atomic_load(&((struct cmd_metrics *)ctx)->ready);
}

int cmd_metrics_start(struct cmd_metrics *m, const char *address, struct log *lg, struct err *e)
{
    memset(m, 0, sizeof *m);
    atomic_init(&m->ready, false);
    m->registry = prom_new();
    if (!address || !*address)
        return 0;
    struct prom_server_config cfg = {.address = address, .registry = m->registry,
                                     .ready = is_ready, .ready_ctx = m};
    int rc = prom_server_start(&cfg, &m->server, e);
    if (rc == 0)
        log_info(lg, "metrics on %s (port %u): /metrics, /healthz, /readyz", address,
                 (unsigned)prom_server_port(m->server));
    return rc;
}

void cmd_metrics_ready(struct cmd_metrics *m)
{
    atomic_store(&m->ready, true);
}

void cmd_metrics_stop(struct cmd_metrics *m)
{
    prom_server_stop(m->server);
    prom_free(m->registry);
    m->server = NULL;
    m->registry = NULL;
}
