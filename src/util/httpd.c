/*
 * The libmicrohttpd glue of httpd.h: a per-connection body buffer grown as
 * upload data arrives, one handler call when the body is complete, and the
 * handler's malloc'd body handed to libmicrohttpd, which frees it.
 */
#include "util/alloc.h"
#include "util/httpd.h"
#include "util/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler handler;
    void *ctx;
    uint16_t port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *type, char *body, size_t len)
{
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, int status, const char *text)
{
    char *body = alloc_strdup(text);
    return reply(conn, status, "text/plain", body, strlen(body));
}

/* Appends a chunk, keeping one byte for the terminating NUL. */
static void body_add(struct httpd_body *b, size_t max, const char *data, size_t len)
{
    if (b->too_large || len > max - b->len) {
        b->too_large = true;
        return;
    }
    VEC_RESERVE(b->data, b->cap, b->len + len + 1);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

int httpd_body_feed(void **state, size_t max, const char *data, size_t *size)
{
    if (!*state) {
        *state = alloc_calloc(1, sizeof(struct httpd_body));
        return 1;
    }
    if (*size > 0) {
        body_add(*state, max, data, *size);
        *size = 0;
        return 1;
    }
    return 0;
}

void httpd_body_free(struct httpd_body *b)
{
    if (b) {
        free(b->data);
        free(b);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **state)
{
    (void)version;
    struct httpd *h = cls;
    int more = httpd_body_feed(state, HTTPD_MAX_BODY, upload_data, upload_size);
    if (more != 0)
        return more > 0 ? MHD_YES : MHD_NO;
    const struct httpd_body *u = *state;
    if (u->too_large)
        return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
    struct httpd_request req = {.method = method, .path = url, .body = u->data ? u->data : "", .body_len = u->len};
    struct httpd_response resp = {.status = MHD_HTTP_OK, .content_type = "text/plain"};
    h->handler(h->ctx, &req, &resp);
    return reply(conn, resp.status, resp.content_type, resp.body, resp.body_len);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    httpd_body_free(*state);
    *state = NULL;
}

int httpd_start(uint16_t port, httpd_handler handler, void *ctx, struct httpd **out, struct err *e)
{
    struct httpd *h = alloc_calloc(1, sizeof *h);
    h->handler = handler;
    h->ctx = ctx;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!h->daemon) {
        free(h);
        return err_set(e, -EADDRINUSE, "cannot listen on 127.0.0.1:%u (port in use or not allowed)",
                       (unsigned)port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    *out = h;
    return 0;
}

uint16_t httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
