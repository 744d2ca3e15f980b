/*
 * The three paths of prom_server.h over httpd_serve.
 */
#include "util/prom_server.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/httpd.h"

struct prom_server {
    struct prom_server_config cfg;
    struct httpd *http;
};

static void answer(struct httpd_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->body = alloc_strdup(text);
    resp->body_len = strlen(text);
}

static void on_request(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct prom_server *s = ctx;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        answer(resp, 405, "only GET\n");
    } else if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/livez") == 0) {
        answer(resp, 200, "ok\n");
    } else if (strcmp(req->path, "/readyz") == 0) {
        bool ready = !s->cfg.ready || s->cfg.ready(s->cfg.ready_ctx);
        answer(resp, ready ? 200 : 503, ready ? "ok\n" : "not ready\n");
    } else if (strcmp(req->path, "/metrics") != 0) {
        answer(resp, 404, "not found (try /metrics, /healthz, /readyz)\n");
    } else if (prom_render(s->cfg.registry, &resp->body, &resp->body_len, NULL) != 0) {
        answer(resp, 500, "out of memory\n");
    } else {
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    }
}

int prom_server_start(const struct prom_server_config *cfg, struct prom_server **out,
                      struct err *e)
{
    struct prom_server *s = alloc_calloc(1, sizeof *s);
    s->cfg = *cfg;
    char host[HTTPD_HOST_MAX];
    struct httpd_config hc = {.address = host, .handler = on_request, .ctx = s};
    int rc = httpd_parse_address(cfg->address ? cfg->address : "", host, &hc.port, e);
    if (rc == 0)
        rc = httpd_serve(&hc, &s->http, e);
    if (rc != 0) {
        free(s);
        return err_prefix(e, rc, "metrics server: ");
    }
    *out = s;
    return 0;
}

uint16_t prom_server_port(const struct prom_server *s)
{
    return httpd_port(s->http);
}

void prom_server_stop(struct prom_server *s)
{
    if (!s)
        return;
    httpd_stop(s->http);
    free(s);
}
