/*
 * --metrics-address for the long-running commands (controller, agent,
 * webhook): the command's Prometheus registry and, when an address is
 * given, the server answering /metrics, /healthz and /readyz on it
 * (util/prom_server.h). /readyz answers 503 until the command says it is
 * ready (its informers synced, its server listening).
 *
 * The struct is the command's, on its stack; start it before the
 * component (so that liveness answers while it starts), stop it after.
 */
#ifndef GPUSLICE_CMD_METRICS_H
#define GPUSLICE_CMD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "util/log.h"
#include "util/prom.h"
#include "util/prom_server.h"

#define CMD_METRICS_OPTION_HELP \
    "  --metrics-address A      serve /metrics, /healthz and /readyz over HTTP on A\n" \
    "                           (HOST:PORT: 0.0.0.0:9090 for every interface,\n" \
    "                           :PORT for 127.0.0.1; default: off)\n"

struct cmd_metrics {
    struct prom *registry;      /* always made: components record into it */
    struct prom_server *server; /* NULL without an address */
    atomic_bool ready;
};

/* Makes the registry and, with an address (not NULL or ""), starts the
 * server, logging its URL. -EINVAL, -EADDRINUSE... with a message. */
int cmd_metrics_start(struct cmd_metrics *m, const char *address, struct log *lg,
                      struct err *e);

/* From now on /readyz answers 200. */
void cmd_metrics_ready(struct cmd_metrics *m);

/* Stops the server and frees the registry; safe on a zeroed struct. The
 * components recording into it must have stopped. */
void cmd_metrics_stop(struct cmd_metrics *m);

#endif
