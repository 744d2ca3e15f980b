/* Tests for reconcile/leader: two replicas over one Lease held in a tiny
 * in-test "store" that enforces resourceVersion preconditions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "reconcile/leader.h"

#define S 1000000000LL

struct lease_store {
    json_t *lease; /* NULL until created */
    unsigned rv;
};

/* Writes w like the API server would: create only when absent, update only
 * when w's resourceVersion is the stored one. Returns 0 or -ESTALE/-EEXIST. */
static int store_write(struct lease_store *s, json_t *w, json_t **stored)
{
    const char *rv = json_string_value(json_object_get(json_object_get(w, "metadata"),
                                                       "resourceVersion"));
    char cur[16];
    snprintf(cur, sizeof cur, "%u", s->rv);
    if (!s->lease && rv)
        return -ENOENT;
    if (s->lease && !rv)
        return -EEXIST;
    if (s->lease && strcmp(rv, cur) != 0)
        return -ESTALE;
    snprintf(cur, sizeof cur, "%u", ++s->rv);
    json_object_set_new(json_object_get(w, "metadata"), "resourceVersion", json_string(cur));
    json_decref(s->lease);
    s->lease = json_deep_copy(w);
    *stored = s->lease;
    return 0;
}

static struct leader replica(const char *id)
{
    struct leader l;
    struct leader_config c = {.identity = id, .lease_ns = 15 * S, .renew_deadline_ns = 10 * S,
                              .retry_ns = 2 * S};
    assert_int_equal(leader_init(&l, &c, NULL), 0);
    return l;
}

/* One step of l against the store (reading the lease fresh); alive false
 * means the replica is partitioned: it decides but its write never lands. */
static int tick(struct leader *l, struct lease_store *s, int64_t now, bool alive)
{
    json_t *read = s->lease ? json_deep_copy(s->lease) : NULL;
    json_t *w = NULL;
    assert_int_equal(leader_step(l, read, "gpuslice-system", "gpuslice-controller", now,
                                 now + 1700000000LL * S, &w, NULL), 0);
    int rc = 0;
    if (w) {
        json_t *stored = NULL;
        rc = alive ? store_write(s, w, &stored) : -ETIMEDOUT;
        leader_written(l, rc, stored, now);
    }
    json_decref(w);
    json_decref(read);
    return rc;
}

static const char *holder(const struct lease_store *s)
{
    return json_string_value(json_object_get(json_object_get(s->lease, "spec"), "holderIdentity"));
}

static void first_replica_creates_and_leads(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    assert_false(leader_is_leading(&a, 0));
    tick(&a, &s, 0, true);
    assert_true(leader_is_leading(&a, 0));
    assert_string_equal(holder(&s), "a");
    tick(&b, &s, 1 * S, true);
    assert_false(leader_is_leading(&b, 1 * S));
    assert_int_equal(leader_next_step(&a, 5 * S), 7 * S);
    json_decref(s.lease);
}

static void renewing_leader_keeps_the_lease(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    for (int64_t t = 0; t < 120 * S; t += 2 * S) {
        tick(&a, &s, t, true);
        tick(&b, &s, t + S, true);
        assert_true(leader_is_leading(&a, t + S));
        assert_false(leader_is_leading(&b, t + S));
    }
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s.lease, "spec"),
                                                        "leaseTransitions")), 0);
    json_decref(s.lease);
}

static void follower_takes_over_only_after_a_silent_lease_duration(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    tick(&a, &s, 0, true);
    tick(&b, &s, 0, true); /* b sees the record at t=0 */
    /* a dies at t=0. b must wait 15 s from when it saw the last change. */
    for (int64_t t = 2 * S; t < 15 * S; t += 2 * S) {
        tick(&b, &s, t, true);
        assert_false(leader_is_leading(&b, t));
    }
    tick(&b, &s, 16 * S, true);
    assert_true(leader_is_leading(&b, 16 * S));
    assert_string_equal(holder(&s), "b");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s.lease, "spec"),
                                                        "leaseTransitions")), 1);
    json_decref(s.lease);
}

static void racing_candidates_cannot_both_win(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b"), c = replica("c");
    tick(&a, &s, 0, true);
    tick(&b, &s, 0, true);
    tick(&c, &s, 0, true);
    /* a dies; b and c read the same expired lease and both try. */
    json_t *read = json_deep_copy(s.lease);
    json_t *wb = NULL, *wc = NULL, *stored = NULL;
    leader_step(&b, read, "ns", "l", 20 * S, 20 * S, &wb, NULL);
    leader_step(&c, read, "ns", "l", 20 * S, 20 * S, &wc, NULL);
    assert_non_null(wb);
    assert_non_null(wc);
    int rb = store_write(&s, wb, &stored);
    leader_written(&b, rb, stored, 20 * S);
    int rc = store_write(&s, wc, &stored);
    leader_written(&c, rc, rc == 0 ? stored : NULL, 20 * S);
    assert_int_equal(rb, 0);
    assert_int_equal(rc, -ESTALE);
    assert_true(leader_is_leading(&b, 20 * S));
    assert_false(leader_is_leading(&c, 20 * S));
    json_decref(wb);
    json_decref(wc);
    json_decref(read);
    json_decref(s.lease);
}

static void partitioned_leader_stops_before_anyone_takes_over(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    tick(&a, &s, 0, true);
    tick(&b, &s, 0, true);
    /* From t=2 s a's writes no longer land; check every half second that
     * never both act. */
    int64_t a_stopped = -1, b_started = -1;
    for (int64_t t = S / 2; t <= 30 * S; t += S / 2) {
        if (t % (2 * S) == 0) {
            tick(&a, &s, t, false);
            tick(&b, &s, t, true);
        }
        bool la = leader_is_leading(&a, t), lb = leader_is_leading(&b, t);
        assert_false(la && lb);
        if (!la && a_stopped < 0)
            a_stopped = t;
        if (lb && b_started < 0)
            b_started = t;
    }
    assert_true(a_stopped > 0 && a_stopped <= 11 * S);
    assert_true(b_started >= 15 * S);
    assert_true(a_stopped < b_started);
    json_decref(s.lease);
}

static void released_lease_is_taken_at_once(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    tick(&a, &s, 0, true);
    json_object_set_new(json_object_get(s.lease, "spec"), "holderIdentity", json_string(""));
    tick(&b, &s, 1 * S, true);
    assert_true(leader_is_leading(&b, 1 * S));
    /* a sees it lost the lease and stops at once. */
    tick(&a, &s, 2 * S, true);
    assert_false(leader_is_leading(&a, 2 * S));
    json_decref(s.lease);
}

/* The API server restarted with an empty store: the Lease is gone while a
 * still acts on its last renewal. b, which saw a hold it, must not create a
 * new one before a would have stopped; a, still the leader, takes its lease
 * back at once. Never two leaders at one moment. */
static void lost_lease_gives_no_second_leader_while_the_first_acts(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    tick(&a, &s, 0, true);
    tick(&b, &s, 0, true);
    tick(&a, &s, 2 * S, true);
    json_decref(s.lease);
    s.lease = NULL; /* the store lost it at 2.5 s */
    for (int64_t t = 3 * S; t <= 40 * S; t += S) {
        if (t % (2 * S) == 0)
            tick(&a, &s, t, true);
        else
            tick(&b, &s, t, true);
        assert_false(leader_is_leading(&a, t) && leader_is_leading(&b, t));
    }
    assert_true(leader_is_leading(&a, 40 * S));
    assert_string_equal(holder(&s), "a");
    json_decref(s.lease);
}

/* The same loss with a dead as well: b takes the lease only after it has
 * been gone a whole lease duration, so after a's renew deadline. */
static void lost_lease_of_a_dead_leader_is_taken_after_a_lease_duration(void **state)
{
    (void)state;
    struct lease_store s = {0};
    struct leader a = replica("a"), b = replica("b");
    tick(&a, &s, 0, true);
    tick(&b, &s, S, true);
    json_decref(s.lease);
    s.lease = NULL;
    int64_t b_started = -1;
    for (int64_t t = 2 * S; t <= 40 * S && b_started < 0; t += S) {
        tick(&b, &s, t, true);
        assert_false(leader_is_leading(&a, t) && leader_is_leading(&b, t));
        if (leader_is_leading(&b, t))
            b_started = t;
    }
    assert_true(b_started >= 17 * S);
    assert_string_equal(holder(&s), "b");
    json_decref(s.lease);
}

static void bad_configuration_is_refused(void **state)
{
    (void)state;
    struct leader l;
    struct err e;
    struct leader_config c = {.identity = "a", .lease_ns = 10 * S, .renew_deadline_ns = 10 * S,
                              .retry_ns = 2 * S};
    assert_int_equal(leader_init(&l, &c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "renew deadline"));
    c.renew_deadline_ns = 5 * S;
    c.identity = "";
    assert_int_equal(leader_init(&l, &c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "identity"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_replica_creates_and_leads),
        cmocka_unit_test(renewing_leader_keeps_the_lease),
        cmocka_unit_test(follower_takes_over_only_after_a_silent_lease_duration),
        cmocka_unit_test(racing_candidates_cannot_both_win),
        cmocka_unit_test(partitioned_leader_stops_before_anyone_takes_over),
        cmocka_unit_test(released_lease_is_taken_at_once),
        cmocka_unit_test(lost_lease_gives_no_second_leader_while_the_first_acts),
        cmocka_unit_test(lost_lease_of_a_dead_leader_is_taken_after_a_lease_duration),
        cmocka_unit_test(bad_configuration_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
