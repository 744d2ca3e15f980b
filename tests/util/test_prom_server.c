/*
 * Tests for util/prom_server over real loopback sockets: /metrics answers
 * the registry's text, /healthz always, /readyz once the component says it
 * is ready; other paths and methods are refused; a bad address is an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "util/prom_server.h"

/* One request over a fresh connection; returns the status, fills the body. */
static int call(uint16_t port, const char *method, const char *path, char *out, size_t out_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method,
                     path);
    assert_int_equal(write(fd, head, (size_t)n), n);
    char buf[4096] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *payload = strstr(buf, "\r\n\r\n");
    snprintf(out, out_len, "%s", payload ? payload + 4 : "");
    return status;
}

static bool ready_flag(void *ctx)
{
    return *(bool *)ctx;
}

static void answers_three_paths(void **state)
{
    (void)state;
    struct prom *reg = prom_new();
    prom_add(prom_counter(reg, "x_total", "Xs.", NULL), 2);
    bool ready = false;
    struct prom_server *s = NULL;
    struct prom_server_config cfg = {.address = "127.0.0.1:0", .registry = reg,
                                     .ready = ready_flag, .ready_ctx = &ready};
    assert_int_equal(prom_server_start(&cfg, &s, NULL), 0);
    uint16_t port = prom_server_port(s);
    assert_true(port > 0);
    char out[1024];
    assert_int_equal(call(port, "GET", "/healthz", out, sizeof out), 200);
    assert_int_equal(call(port, "GET", "/readyz", out, sizeof out), 503);
    ready = true;
    assert_int_equal(call(port, "GET", "/readyz", out, sizeof out), 200);
    assert_int_equal(call(port, "GET", "/metrics", out, sizeof out), 200);
    assert_string_equal(out, "# HELP x_total Xs.\n# TYPE x_total counter\nx_total 2\n");
    assert_int_equal(call(port, "POST", "/metrics", out, sizeof out), 405);
    assert_int_equal(call(port, "GET", "/nope", out, sizeof out), 404);
    prom_server_stop(s);
    prom_server_stop(NULL);
    prom_free(reg);
}

static void bad_addresses_are_refused(void **state)
{
    (void)state;
    struct prom *reg = prom_new();
    struct prom_server *s = NULL;
    struct err e;
    const char *bad[] = {"nowhere", "localhost:9090", "127.0.0.1", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct prom_server_config cfg = {.address = bad[i], .registry = reg};
        assert_int_equal(prom_server_start(&cfg, &s, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "metrics server: "));
        assert_null(s);
    }
    prom_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_three_paths),
        cmocka_unit_test(bad_addresses_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
