/*
 * The probe and scrape server every long-running component runs on its
 * --metrics-address: GET /metrics (the registry's text, prom.h), GET
 * /healthz (the process answers: 200 "ok") and GET /readyz (200 "ok" once
 * the component says it is ready, 503 before; Kubernetes' readiness probe).
 *
 * It is an httpd_serve server (httpd.h: a thread per connection behind the
 * connection guard, HTTPD_LIMITS_DEFAULT): it may listen on every interface
 * for Prometheus and the kubelet, and answers nothing but these three
 * read-only paths, so it needs no authentication.
 */
#ifndef GPUSLICE_UTIL_PROM_SERVER_H
#define GPUSLICE_UTIL_PROM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/prom.h"

struct prom_server_config {
    const char *address;        /* httpd_parse_address's "HOST:PORT" ("0.0.0.0:9090") */
    struct prom *registry;      /* not owned; must outlive the server */
    /* Whether the component is ready (called from the server's thread);
     * NULL: always. */
    bool (*ready)(void *ctx);
    void *ready_ctx;
};

struct prom_server;

/* Starts serving; *out is the caller's (prom_server_stop). -EINVAL for a
 * bad address, -EADDRINUSE and others when it cannot be had. */
int prom_server_start(const struct prom_server_config *cfg, struct prom_server **out,
                      struct err *e);

/* The port it listens on (the one picked when the address said 0). */
uint16_t prom_server_port(const struct prom_server *s);

/* Stops serving, waits for the request in progress, frees s (may be NULL). */
void prom_server_stop(struct prom_server *s);

#endif
