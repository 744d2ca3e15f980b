/*
 * Tests for util/httpd over real loopback sockets: the handler sees method,
 * path and body and its answer arrives; bodies over the limit are refused;
 * port 0 picks a port; a taken port is an error; httpd_serve's request
 * headers, query and response headers, and a stream read until it ends;
 * addresses parsed and told loopback or not; secrets compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "util/httpd.h"

struct seen {
    char method[16], path[64];
    size_t body_len;
    char body_head[32];
    int calls;
};

/* Echoes what it saw; /teapot answers 418 in JSON. */
static void echo(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct seen *s = ctx;
    s->calls++;
    snprintf(s->method, sizeof s->method, "%s", req->method);
    snprintf(s->path, sizeof s->path, "%s", req->path);
    s->body_len = req->body_len;
    snprintf(s->body_head, sizeof s->body_head, "%s", req->body);
    if (strcmp(req->path, "/teapot") == 0) {
        resp->status = 418;
        resp->content_type = "application/json";
    }
    if (asprintf(&resp->body, "%s %s %zu", req->method, req->path, req->body_len) >= 0)
        resp->body_len = strlen(resp->body);
}

/* One request over a fresh connection; returns the status, fills the body. */
static int call(uint16_t port, const char *method, const char *path, const char *body, size_t len,
                char *out, size_t out_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     method, path, len);
    assert_int_equal(write(fd, head, (size_t)n), n);
    for (size_t sent = 0; sent < len;) {
        ssize_t w = write(fd, body + sent, len - sent);
        if (w <= 0)
            break; /* the server may refuse and close before all is sent */
        sent += (size_t)w;
    }
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t got = 0;
    ssize_t r;
    while (got < (1 << 16) - 1 && (r = read(fd, buf + got, (1 << 16) - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *payload = strstr(buf, "\r\n\r\n");
    snprintf(out, out_len, "%s", payload ? payload + 4 : "");
    if (strstr(buf, "Content-Type: application/json"))
        strncat(out, " [json]", out_len - strlen(out) - 1);
    free(buf);
    return status;
}

static void serves_get_and_post(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct httpd *h = NULL;
    assert_int_equal(httpd_start(0, echo, &seen, &h, NULL), 0);
    uint16_t port = httpd_port(h);
    assert_true(port > 0);
    char out[256];
    assert_int_equal(call(port, "GET", "/healthz", "", 0, out, sizeof out), 200);
    assert_string_equal(out, "GET /healthz 0");
    const char *body = "{\"system\": {}}";
    assert_int_equal(call(port, "POST", "/plan?x=1", body, strlen(body), out, sizeof out), 200);
    assert_string_equal(out, "POST /plan 14");
    assert_string_equal(seen.body_head, body);
    assert_int_equal(call(port, "PUT", "/teapot", "", 0, out, sizeof out), 418);
    assert_string_equal(out, "PUT /teapot 0 [json]");
    assert_int_equal(seen.calls, 3);
    httpd_stop(h);
}

static void large_bodies_are_refused(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct httpd *h = NULL;
    assert_int_equal(httpd_start(0, echo, &seen, &h, NULL), 0);
    size_t len = HTTPD_MAX_BODY + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 'x', len);
    char out[256];
    assert_int_equal(call(httpd_port(h), "POST", "/plan", big, len, out, sizeof out), 413);
    assert_int_equal(seen.calls, 0);
    /* Exactly the limit still reaches the handler. */
    assert_int_equal(call(httpd_port(h), "POST", "/plan", big, len - 1, out, sizeof out), 200);
    assert_int_equal(seen.body_len, len - 1);
    free(big);
    httpd_stop(h);
}

static void taken_port_is_an_error(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct httpd *a = NULL, *b = NULL;
    assert_int_equal(httpd_start(0, echo, &seen, &a, NULL), 0);
    struct err e;
    assert_int_equal(httpd_start(httpd_port(a), echo, &seen, &b, &e), -EADDRINUSE);
    assert_non_null(strstr(e.msg, "cannot listen on 127.0.0.1:"));
    assert_null(b);
    httpd_stop(a);
    httpd_stop(NULL);
}

static void bodies_arrive_in_chunks_up_to_a_limit(void **state)
{
    (void)state;
    void *st = NULL;
    size_t size = 0;
    assert_int_equal(httpd_body_feed(&st, 8, NULL, &size), 1); /* the request's start */
    assert_non_null(st);
    struct httpd_body *b = st;
    assert_null(b->data);
    size = 5;
    assert_int_equal(httpd_body_feed(&st, 8, "hello", &size), 1);
    assert_int_equal(size, 0);
    size = 3;
    assert_int_equal(httpd_body_feed(&st, 8, "abc", &size), 1);
    assert_string_equal(b->data, "helloabc");
    assert_int_equal(b->len, 8);
    assert_false(b->too_large);
    size = 1;
    assert_int_equal(httpd_body_feed(&st, 8, "!", &size), 1);
    assert_true(b->too_large);
    assert_string_equal(b->data, "helloabc");
    size = 0;
    assert_int_equal(httpd_body_feed(&st, 8, NULL, &size), 0); /* complete */
    httpd_body_free(st);
    httpd_body_free(NULL);
}

/* Three pieces "a", "b", "c", with a wait (0) before each, then the end. */
struct pieces {
    int next, done;
};

static ssize_t pieces_read(void *ctx, char *buf, size_t max)
{
    struct pieces *p = ctx;
    (void)max;
    int at = p->next++;
    if (at >= 6)
        return -1;
    if (at % 2 == 0)
        return 0;
    buf[0] = (char)('a' + at / 2);
    return 1;
}

static void pieces_done(void *ctx)
{
    ((struct pieces *)ctx)->done++;
}

/* /stream streams the pieces; anything else echoes X-Name and ?q. */
static void streamer(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    if (strcmp(req->path, "/stream") == 0) {
        resp->content_type = "text/event-stream";
        resp->stream = (struct httpd_stream){pieces_read, pieces_done, ctx};
        return;
    }
    const char *name = httpd_header(req, "x-name"), *q = httpd_query(req, "q");
    assert_int_equal(httpd_response_header(resp, "X-Seen", name ? name : "-"), 0);
    if (asprintf(&resp->body, "q=%s", q ? q : "-") >= 0)
        resp->body_len = strlen(resp->body);
}

static bool trust_nobody(void *ctx, const struct httpd_request *req)
{
    (void)ctx;
    return httpd_header(req, "x-name") != NULL;
}

static void serve_answers_headers_queries_and_streams(void **state)
{
    (void)state;
    struct pieces p = {0};
    struct httpd *h = NULL;
    struct httpd_config cfg = {.handler = streamer, .ctx = &p, .trusted = trust_nobody};
    assert_int_equal(httpd_serve(&cfg, &h, NULL), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)httpd_port(h));
    assert_string_equal(httpd_url(h), url);
    char out[256];
    assert_int_equal(call(httpd_port(h), "GET", "/stream", "", 0, out, sizeof out), 200);
    /* Chunked, a chunk per piece, then the last chunk. */
    assert_non_null(strstr(out, "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n"));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(httpd_port(h))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    const char *ask = "GET /x?q=a%3Cb HTTP/1.1\r\nHost: h\r\nX-Name: n1\r\n"
                      "Connection: close\r\n\r\n";
    assert_int_equal(write(fd, ask, strlen(ask)), (ssize_t)strlen(ask));
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(fd, out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fd);
    assert_non_null(strstr(out, "X-Seen: n1\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nq=a<b"));
    httpd_stop(h);
    assert_int_equal(p.done, 1);
    struct err e;
    cfg.address = "localhost";
    assert_int_equal(httpd_serve(&cfg, &h, &e), -EINVAL);
}

/* A stream that has nothing on its first call, then "x", then ends. */
static ssize_t later_x(void *ctx, char *buf, size_t max)
{
    int *calls = ctx;
    (void)max;
    switch ((*calls)++) {
    case 0:
        return 0;
    case 1:
        buf[0] = 'x';
        return 1;
    default:
        return -1;
    }
}

/* httpd_stream_next waits out a stream's empty reads while the client is
 * there, ends with it or with the stop flag, and ends with an error once
 * the client hung up. */
static void a_stream_is_read_until_it_or_its_client_ends(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    int calls = 0;
    struct httpd_stream s = {.read = later_x, .ctx = &calls};
    char buf[8];
    atomic_bool stop = false;
    assert_int_equal(httpd_stream_next(&s, fds[0], &stop, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(calls, 2);
    assert_int_equal(httpd_stream_next(&s, fds[0], NULL, buf, sizeof buf),
                     MHD_CONTENT_READER_END_OF_STREAM);
    calls = 0;
    atomic_store(&stop, true);
    assert_int_equal(httpd_stream_next(&s, fds[0], &stop, buf, sizeof buf),
                     MHD_CONTENT_READER_END_OF_STREAM);
    assert_int_equal(calls, 0);
    close(fds[1]);
    assert_int_equal(httpd_stream_next(&s, fds[0], NULL, buf, sizeof buf),
                     MHD_CONTENT_READER_END_WITH_ERROR);
    assert_int_equal(calls, 1);
    close(fds[0]);
}

static void addresses_parse_and_tell_loopback(void **state)
{
    (void)state;
    char host[HTTPD_HOST_MAX];
    uint16_t port = 1;
    assert_int_equal(httpd_parse_address("127.0.0.1:8080", host, &port, NULL), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(httpd_parse_address(":0", host, &port, NULL), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(httpd_parse_address("[::1]:9", host, &port, NULL), 0);
    assert_string_equal(host, "::1");
    struct err e;
    assert_int_equal(httpd_parse_address("localhost:80", host, &port, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "not an IP address"));
    assert_int_equal(httpd_parse_address("::1:80", host, &port, &e), -EINVAL);
    assert_int_equal(httpd_parse_address("1.2.3.4", host, &port, &e), -EINVAL);
    assert_int_equal(httpd_parse_address("1.2.3.4:70000", host, &port, &e), -EINVAL);
    assert_int_equal(httpd_parse_address(NULL, host, &port, &e), -EINVAL);
    assert_true(httpd_is_loopback("127.3.2.1"));
    assert_true(httpd_is_loopback("::1"));
    assert_false(httpd_is_loopback("0.0.0.0"));
    assert_false(httpd_is_loopback("10.0.0.1"));
    assert_true(httpd_is_ip_literal("::"));
    assert_false(httpd_is_ip_literal("example.com"));
    assert_true(httpd_same_secret("abc", "abc"));
    assert_false(httpd_same_secret("abc", "abd"));
    assert_false(httpd_same_secret("abc", "abcd"));
    assert_false(httpd_same_secret("", "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_get_and_post),
        cmocka_unit_test(large_bodies_are_refused),
        cmocka_unit_test(taken_port_is_an_error),
        cmocka_unit_test(bodies_arrive_in_chunks_up_to_a_limit),
        cmocka_unit_test(serve_answers_headers_queries_and_streams),
        cmocka_unit_test(a_stream_is_read_until_it_or_its_client_ends),
        cmocka_unit_test(addresses_parse_and_tell_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
