/*
 * Tests for util/httpd_guard over loopback sockets, with a small
 * libmicrohttpd server (a connection thread each, as the API server's) and
 * small limits: the per-address cap of connections not yet trusted, the
 * cap in all, the request deadline a slow or silent client meets, the idle
 * timeout, and fitting the cap to the descriptors the process has (issue
 * 19: before the guard, 1,030 idle connections locked every client out).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/rawconn.h"
#include "util/httpd_guard.h"

struct server {
    struct httpd_guard *guard;
    struct MHD_Daemon *daemon;
    uint16_t port;
};

/* Answers "ok"; a request with "X-Trust: yes" makes its connection
 * trusted, as a request with a valid token does in the API server. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    (void)size;
    /* Answered on the second call: an answer queued with the headers would
     * make libmicrohttpd close the connection after it. */
    if (!*state) {
        *state = conn;
        return MHD_YES;
    }
    const char *trust = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Trust");
    httpd_guard_received(conn, trust && strcmp(trust, "yes") == 0);
    static char ok[] = "ok";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(2, ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)state;
    (void)why;
    httpd_guard_answered(conn);
}

static struct server *start(struct httpd_limits lim)
{
    struct server *s = calloc(1, sizeof *s);
    struct err e;
    assert_int_equal(httpd_guard_new(&lim, &s->guard, &e), 0);
    struct MHD_OptionItem opts[HTTPD_GUARD_OPTIONS];
    httpd_guard_options(s->guard, opts);
    s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_POLL,
                                 0, httpd_guard_accept, s->guard, on_request, NULL,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_ARRAY,
                                 opts, MHD_OPTION_END);
    assert_non_null(s->daemon);
    s->port = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    return s;
}

static void stop(struct server *s)
{
    MHD_stop_daemon(s->daemon);
    httpd_guard_free(s->guard);
    free(s);
}

/* Sends a request on fd and says whether "ok" came back. */
static bool served(int fd, bool trust)
{
    char buf[1024];
    if (!rawconn_send(fd, trust ? "GET / HTTP/1.1\r\nHost: t\r\nX-Trust: yes\r\n\r\n"
                                : "GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
        return false;
    return rawconn_read(fd, buf, sizeof buf, 10000) > 0 && strstr(buf, "\r\n\r\nok");
}

static void limits_take_defaults_and_fit_the_descriptors(void **state)
{
    (void)state;
    struct httpd_limits d = {100, 10, 60, 10};
    struct httpd_limits l = httpd_limits_or((struct httpd_limits){.idle_timeout_s = 5}, d);
    assert_int_equal(l.max_connections, 100);
    assert_int_equal(l.max_per_address, 10);
    assert_int_equal(l.idle_timeout_s, 5);
    assert_int_equal(l.request_timeout_s, 10);
    /* 1024 descriptors: half of what the reserve leaves. */
    l = httpd_limits_fit((struct httpd_limits){1024, 2000, 1, 1}, 1024);
    assert_int_equal(l.max_connections, (1024 - HTTPD_FD_RESERVE) / 2);
    assert_int_equal(l.max_per_address, l.max_connections);
    l = httpd_limits_fit((struct httpd_limits){1024, 8, 1, 1}, 1u << 20);
    assert_int_equal(l.max_connections, 1024);
    assert_int_equal(l.max_per_address, 8);
    assert_int_equal(httpd_limits_fit(d, 10).max_connections, 1);
    struct httpd_guard *g;
    struct err e;
    assert_int_equal(httpd_guard_new(&(struct httpd_limits){1, 1, 0, 1}, &g, &e), -EINVAL);
    assert_int_equal(httpd_guard_new(&d, &g, &e), 0);
    assert_int_equal(httpd_guard_limits(g)->max_per_address, 10);
    httpd_guard_free(g);
    httpd_guard_free(NULL);
}

/* Two untrusted connections from 127.0.0.1 fill its share: a third is
 * closed at once, while a trusted connection from the same address and a
 * client from another are served. */
static void one_address_cannot_take_every_connection(void **state)
{
    (void)state;
    struct server *s = start((struct httpd_limits){16, 2, 30, 30});
    int trusted = rawconn_open("127.0.0.1", s->port);
    assert_true(served(trusted, true));
    int idle[2] = {rawconn_open("127.0.0.1", s->port), rawconn_open("127.0.0.1", s->port)};
    int refused = rawconn_open("127.0.0.1", s->port);
    assert_true(rawconn_closed_within(refused, 10000));
    assert_true(served(trusted, false));
    int other = rawconn_open("127.0.0.2", s->port);
    assert_true(served(other, false));
    /* Once one of the two leaves, the address has room again. */
    close(idle[0]);
    bool again = false;
    for (int i = 0; i < 100 && !again; i++) {
        int fd = rawconn_open("127.0.0.1", s->port);
        again = served(fd, false);
        close(fd);
        if (!again)
            usleep(20000);
    }
    assert_true(again);
    close(idle[1]);
    close(refused);
    close(trusted);
    close(other);
    stop(s);
}

/* Three connections fill the server: a fourth is not served while they
 * stay, from any address. */
static void the_cap_in_all_holds(void **state)
{
    (void)state;
    struct server *s = start((struct httpd_limits){3, 3, 30, 30});
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = rawconn_open("127.0.0.1", s->port);
        assert_true(served(fds[i], true));
    }
    int late = rawconn_open("127.0.0.2", s->port);
    char buf[256];
    rawconn_send(late, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ssize_t n = rawconn_read(late, buf, sizeof buf, 300);
    assert_true(n <= 0); /* closed, or kept waiting */
    close(late);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    stop(s);
}

/* A client that trickles its headers a byte at a time (each byte resets
 * the idle timer) is cut off at the request deadline; so is one that says
 * nothing at all, although the idle timeout is far longer. */
static void slow_and_silent_clients_meet_the_request_deadline(void **state)
{
    (void)state;
    struct server *s = start((struct httpd_limits){16, 16, 60, 1});
    int slow = rawconn_open("127.0.0.1", s->port);
    int silent = rawconn_open("127.0.0.1", s->port);
    assert_true(rawconn_send(slow, "GET / HTTP/1.1\r\n"));
    bool cut = false;
    for (int i = 0; i < 200 && !cut; i++) {
        char buf[64];
        cut = !rawconn_send(slow, "X") || rawconn_read(slow, buf, sizeof buf, 50) == 0;
    }
    assert_true(cut);
    assert_true(rawconn_closed_within(silent, 10000));
    close(slow);
    close(silent);
    stop(s);
}

/* After its answer, a kept-alive connection that stays idle is closed at
 * the idle timeout. */
static void an_idle_connection_is_closed(void **state)
{
    (void)state;
    struct server *s = start((struct httpd_limits){16, 16, 1, 30});
    int fd = rawconn_open("127.0.0.1", s->port);
    assert_true(served(fd, true));
    assert_true(rawconn_closed_within(fd, 10000));
    close(fd);
    stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_take_defaults_and_fit_the_descriptors),
        cmocka_unit_test(one_address_cannot_take_every_connection),
        cmocka_unit_test(the_cap_in_all_holds),
        cmocka_unit_test(slow_and_silent_clients_meet_the_request_deadline),
        cmocka_unit_test(an_idle_connection_is_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
