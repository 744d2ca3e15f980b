/*
 * Tests for util/httpd over real loopback sockets: the handler sees method,
 * path and body and its answer arrives; bodies over the limit are refused;
 * port 0 picks a port; a taken port is an error.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_get_and_post),
        cmocka_unit_test(large_bodies_are_refused),
        cmocka_unit_test(taken_port_is_an_error),
        cmocka_unit_test(bodies_arrive_in_chunks_up_to_a_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
