/*
 * Tests for util/sse: the framing of an event (ids, event names, data over
 * several lines), and the hub's limits: a client past the cap is refused,
 * a client that does not read is dropped when the next event does not fit
 * its buffer (and one that keeps up is not, even for an event larger than
 * the buffer), a quiet stream gets a keepalive comment, and closing the
 * hub ends every stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/sse.h"

static void frames_carry_id_event_and_each_data_line(void **state)
{
    (void)state;
    size_t len = 0;
    char *f = sse_frame("snapshot", 7, "{\"a\":1}", &len);
    assert_string_equal(f, "id: 7\nevent: snapshot\ndata: {\"a\":1}\n\n");
    assert_int_equal(len, strlen(f));
    free(f);
    /* A newline in the data would end the event early: each line is a
     * data line of its own, which the browser joins back with \n. */
    f = sse_frame("x\ny", 1, "one\ntwo\r\nthree\r", &len);
    assert_string_equal(f, "id: 1\nevent: xy\ndata: one\ndata: two\ndata: three\ndata: \n\n");
    free(f);
    f = sse_frame("e", 2, "", &len);
    assert_string_equal(f, "id: 2\nevent: e\ndata: \n\n");
    free(f);
}

static struct sse_hub *hub_of(unsigned clients, size_t buffer, int keepalive_ms)
{
    struct sse_hub *hub = NULL;
    struct sse_limits lim = {.max_clients = clients, .client_buffer = buffer,
                             .keepalive_ms = keepalive_ms};
    assert_int_equal(sse_hub_new(&lim, &hub, NULL), 0);
    return hub;
}

static void clients_past_the_cap_are_refused(void **state)
{
    (void)state;
    struct sse_hub *hub = hub_of(2, 1024, 60000);
    struct sse_client *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(sse_hub_join(hub, "a", 1, &a, NULL), 0);
    assert_int_equal(sse_hub_join(hub, "b", 1, &b, NULL), 0);
    struct err e;
    assert_int_equal(sse_hub_join(hub, "c", 1, &c, &e), -EBUSY);
    assert_non_null(strstr(e.msg, "allows 2 at once"));
    sse_client_leave(a);
    assert_int_equal(sse_hub_join(hub, "c", 1, &c, NULL), 0); /* a's place */
    struct sse_stats st;
    sse_hub_stats(hub, &st);
    assert_int_equal(st.clients, 2);
    assert_int_equal(st.joined, 3);
    assert_int_equal(st.refused, 1);
    sse_client_leave(b);
    sse_client_leave(c);
    sse_hub_free(hub);
}

static void every_client_reads_what_was_published(void **state)
{
    (void)state;
    struct sse_hub *hub = hub_of(4, 1024, 60000);
    struct sse_client *a = NULL, *b = NULL;
    assert_int_equal(sse_hub_join(hub, "first;", 6, &a, NULL), 0);
    assert_int_equal(sse_hub_join(hub, "hello;", 6, &b, NULL), 0);
    sse_hub_publish(hub, "next;", 5);
    char buf[64] = {0};
    assert_int_equal(sse_client_read(a, buf, 4, 0), 4); /* in pieces of max */
    assert_int_equal(sse_client_read(a, buf + 4, sizeof buf - 5, 0), 7);
    assert_string_equal(buf, "first;next;");
    memset(buf, 0, sizeof buf);
    assert_int_equal(sse_client_read(b, buf, sizeof buf - 1, 0), 11);
    assert_string_equal(buf, "hello;next;");
    assert_int_equal(sse_client_read(b, buf, sizeof buf, 0), 0); /* nothing more */
    sse_client_leave(a);
    sse_client_leave(b);
    sse_hub_free(hub);
}

static void a_client_that_does_not_read_is_dropped(void **state)
{
    (void)state;
    struct sse_hub *hub = hub_of(4, 16, 60000);
    struct sse_client *slow = NULL, *fast = NULL;
    assert_int_equal(sse_hub_join(hub, "", 0, &slow, NULL), 0);
    assert_int_equal(sse_hub_join(hub, "", 0, &fast, NULL), 0);
    char buf[64];
    const char *big = "0123456789abcdefghij"; /* 20 bytes: over the 16 */
    /* An event larger than the buffer still reaches a client that has read
     * everything: the cap bounds what piles up, not one event. */
    sse_hub_publish(hub, big, 20);
    assert_int_equal(sse_client_read(fast, buf, sizeof buf, 0), 20);
    sse_hub_publish(hub, "12345678", 8);
    assert_int_equal(sse_client_read(fast, buf, sizeof buf, 0), 8);
    /* slow still holds the 20 bytes: the next 8 do not fit its 16. */
    assert_int_equal(sse_client_read(slow, buf, sizeof buf, 0), -1);
    sse_hub_publish(hub, "more", 4);
    assert_int_equal(sse_client_read(fast, buf, sizeof buf, 0), 4);
    assert_int_equal(sse_client_read(slow, buf, sizeof buf, 0), -1);
    struct sse_stats st;
    sse_hub_stats(hub, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.events, 3);
    sse_client_leave(slow);
    sse_client_leave(fast);
    sse_hub_free(hub);
}

static void a_quiet_stream_gets_a_keepalive_comment(void **state)
{
    (void)state;
    struct sse_hub *hub = hub_of(1, 64, 1);
    struct sse_client *c = NULL;
    assert_int_equal(sse_hub_join(hub, "", 0, &c, NULL), 0);
    char buf[16] = {0};
    ssize_t n = 0;
    for (int i = 0; i < 1000 && n == 0; i++)
        n = sse_client_read(c, buf, sizeof buf - 1, 10);
    assert_int_equal(n, 3);
    assert_string_equal(buf, ":\n\n"); /* a comment: EventSource ignores it */
    sse_client_leave(c);
    sse_hub_free(hub);
}

static void closing_the_hub_ends_every_stream(void **state)
{
    (void)state;
    struct sse_hub *hub = hub_of(2, 64, 60000);
    struct sse_client *c = NULL, *late = NULL;
    assert_int_equal(sse_hub_join(hub, "x", 1, &c, NULL), 0);
    sse_hub_close(hub);
    char buf[8];
    assert_int_equal(sse_client_read(c, buf, sizeof buf, 1000), -1);
    assert_int_equal(sse_hub_join(hub, "y", 1, &late, NULL), -EPIPE);
    sse_client_leave(c);
    sse_client_leave(NULL);
    sse_hub_free(hub);
    struct sse_limits tiny = {.client_buffer = 2};
    assert_int_equal(sse_hub_new(&tiny, &hub, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_carry_id_event_and_each_data_line),
        cmocka_unit_test(clients_past_the_cap_are_refused),
        cmocka_unit_test(every_client_reads_what_was_published),
        cmocka_unit_test(a_client_that_does_not_read_is_dropped),
        cmocka_unit_test(a_quiet_stream_gets_a_keepalive_comment),
        cmocka_unit_test(closing_the_hub_ends_every_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
