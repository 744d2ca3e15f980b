/* Tests for cluster/watchstream over the mem store: lines, small reads,
 * timeouts, cancellation from another thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apiserver/watchstream.h"
#include "helpers.h"

static const struct api_resource *configmaps(struct fixture *f)
{
    return api_registry_find(store_registry(f->st), "", "v1", "configmaps");
}

static void put_configmap(struct fixture *f, const char *name)
{
    json_t *obj = json_pack("{s:{s:s}}", "metadata", "name", name);
    assert_int_equal(store_create(f->st, configmaps(f), "default", obj, NULL, NULL, NULL), 0);
    json_decref(obj);
}

static struct watchstream *open_keepalive(struct fixture *f, int64_t timeout_ms,
                                          int64_t keepalive_ms)
{
    struct store_watch *w;
    struct store_watch_opts o = {.want_raw = true};
    assert_int_equal(store_watch_open(f->st, configmaps(f), "default", &o, &w, NULL), 0);
    struct watchstream_config cfg = {.timeout_ms = timeout_ms, .keepalive_ms = keepalive_ms,
                                     .meta_version = "v1", .now_ns = fixture_clock,
                                     .clock_ctx = f};
    struct watchstream *ws;
    assert_int_equal(watchstream_new(w, &cfg, &ws, NULL), 0);
    return ws;
}

static struct watchstream *open_stream(struct fixture *f, int64_t timeout_ms)
{
    return open_keepalive(f, timeout_ms, 0);
}

static void small_reads_reassemble_lines(void **state)
{
    struct fixture *f = *state;
    put_configmap(f, "one");
    put_configmap(f, "two");
    struct watchstream *ws = open_stream(f, 0);
    char all[4096];
    size_t len = 0;
    /* Three bytes at a time: a line is never lost or split wrongly. */
    for (int lines = 0; lines < 2;) {
        ssize_t n = watchstream_read(ws, all + len, 3, 1000);
        assert_true(n > 0 && n <= 3);
        for (ssize_t i = 0; i < n; i++)
            lines += all[len + (size_t)i] == '\n';
        len += (size_t)n;
    }
    all[len] = '\0';
    assert_int_equal(watchstream_read(ws, all, sizeof all, 0), 0); /* nothing more yet */
    json_error_t je;
    json_t *first = json_loads(all, JSON_DISABLE_EOF_CHECK, &je);
    json_t *second = json_loads(strchr(all, '\n') + 1, JSON_DISABLE_EOF_CHECK, NULL);
    assert_string_equal(json_string_value(json_object_get(first, "type")), "ADDED");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(second, "object"), "metadata"),
                            "name")),
                        "two");
    json_decref(first);
    json_decref(second);
    watchstream_free(ws);
}

static void timeout_ends_the_stream(void **state)
{
    struct fixture *f = *state;
    struct watchstream *ws = open_stream(f, 50);
    char buf[256];
    ssize_t n;
    while ((n = watchstream_read(ws, buf, sizeof buf, 20)) == 0)
        ;
    assert_int_equal(n, -1);
    assert_int_equal(watchstream_read(ws, buf, sizeof buf, 0), -1);
    watchstream_free(ws);
}

static void *cancel_later(void *arg)
{
    usleep(100 * 1000);
    watchstream_cancel(arg);
    return NULL;
}

static void cancel_wakes_a_blocked_read(void **state)
{
    struct fixture *f = *state;
    struct watchstream *ws = open_stream(f, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, ws), 0);
    char buf[256];
    assert_int_equal(watchstream_read(ws, buf, sizeof buf, -1), -1);
    pthread_join(t, NULL);
    watchstream_free(ws);
    watchstream_free(NULL);
}

/* With nothing to send, a read waiting longer than the keepalive gives a
 * newline when it is due; an event in between puts it off. */
static void an_idle_stream_sends_keepalives(void **state)
{
    struct fixture *f = *state;
    struct watchstream *ws = open_keepalive(f, 0, 50);
    char buf[4096];
    assert_int_equal(watchstream_read(ws, buf, sizeof buf, -1), 1);
    assert_int_equal(buf[0], '\n');
    assert_int_equal(watchstream_read(ws, buf, sizeof buf, 5000), 1);
    assert_int_equal(buf[0], '\n');
    put_configmap(f, "one");
    ssize_t n = watchstream_read(ws, buf, sizeof buf, 5000);
    assert_true(n > 1);
    assert_int_equal(buf[n - 1], '\n');
    assert_non_null(strstr(buf, "\"ADDED\""));
    watchstream_free(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(small_reads_reassemble_lines,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(timeout_ends_the_stream, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_idle_stream_sends_keepalives, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(cancel_wakes_a_blocked_read,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
