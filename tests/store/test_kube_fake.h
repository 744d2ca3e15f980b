/*
 * A fake API server for the kube backend's transport tests: HTTP/1.1 with
 * keep-alive over plain TCP or TLS (OpenSSL) on 127.0.0.1, one thread per
 * connection, and a handler per test that answers whole bodies or streams.
 * It is only good enough for what the tests send; the real semantics are
 * tested against the embedded API server.
 *
 * fake_tls_make creates, with OpenSSL's C API, a CA, a server certificate
 * for 127.0.0.1/localhost signed by it, a client certificate signed by it,
 * and a second, unrelated CA, all as PEM text.
 */
#ifndef GPUSLICE_TESTS_STORE_TEST_KUBE_FAKE_H
#define GPUSLICE_TESTS_STORE_TEST_KUBE_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_tls {
    char *ca, *server_cert, *server_key, *client_cert, *client_key, *other_ca;
};

/* 0 or -1; fake_tls_free frees what was made. */
int fake_tls_make(struct fake_tls *t);
void fake_tls_free(struct fake_tls *t);

struct fake_request {
    char method[16];
    char target[4096];      /* path and query as sent */
    char auth[1024];        /* the Authorization header, "" when absent */
    char content_type[128];
    char *body;             /* NUL-terminated; "" when none */
    size_t body_len;
};

struct fake_conn;

/* Answers rq on c: fake_reply once, or fake_stream_start then chunks. The
 * handler runs on the connection's thread and may block. */
typedef void (*fake_handler)(void *ctx, const struct fake_request *rq, struct fake_conn *c);

void fake_reply(struct fake_conn *c, int status, const char *body);
void fake_stream_start(struct fake_conn *c, int status);
/* One chunk; false when the client has gone. */
bool fake_stream_chunk(struct fake_conn *c, const char *data, size_t len);
void fake_stream_end(struct fake_conn *c);
/* Waits up to ms for the client to close the connection (or send more);
 * true when it did. */
bool fake_wait_closed(struct fake_conn *c, int ms);

struct fake_server;

/* tls NULL: plain HTTP. client_ca: require a client certificate signed by
 * it (PEM), or NULL. NULL on failure. */
struct fake_server *fake_server_start(const struct fake_tls *tls, const char *client_ca,
                                      fake_handler h, void *ctx);
uint16_t fake_server_port(const struct fake_server *s);
/* Connections accepted so far. */
unsigned fake_server_accepted(struct fake_server *s);
void fake_server_stop(struct fake_server *s);

#endif
