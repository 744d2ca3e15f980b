/* Tests for reconcile/loop: execution order, the outcome policy, time,
 * leadership gating and the thread runner, over the mem store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../common/aborts.h"
#include "api/meta.h"
#include "reconcile/loop.h"
#include "store/mem.h"
#include "util/log.h"

#define MS 1000000LL

/* A scripted reconciler: for each key it runs `script`, which appends the
 * actions the test wants. */
struct fixture;
typedef int script_fn(struct fixture *f, const char *key, struct action_list *out,
                      int64_t *requeue_at, struct err *e);

struct fixture {
    int64_t now;
    struct store *st;
    const struct api_resource *cms;
    struct loop *loop;
    script_fn *script;
    bool leader;
    int calls, externals, executed_ok, executed_failed;
    int last_rc;
    char last_result_name[64]; /* of the last store result executed saw, or "" */
    json_t *stale_copy;
    struct log *log;
    int logged[LOG_LEVEL_DEBUG + 1]; /* lines per level */
    char last_line[LOG_LINE_MAX];
};

static void log_line(void *ctx, enum log_level level, const char *line, size_t len)
{
    struct fixture *f = ctx;
    (void)len;
    f->logged[level]++;
    snprintf(f->last_line, sizeof f->last_line, "%s", line);
}

static int64_t clock_now(void *ctx)
{
    return ((struct fixture *)ctx)->now;
}

static int reconcile(void *self, const char *key, int64_t now, struct action_list *out,
                     int64_t *requeue_at, struct err *e)
{
    struct fixture *f = self;
    (void)now;
    f->calls++;
    return f->script(f, key, out, requeue_at, e);
}

static void executed(void *self, const char *key, const struct action *a, int rc,
                     const json_t *result, const struct err *e)
{
    struct fixture *f = self;
    (void)key;
    (void)a;
    (void)e;
    const char *name = a->kind == ACTION_EXTERNAL ? NULL : meta_name(result);
    snprintf(f->last_result_name, sizeof f->last_result_name, "%s", name ? name : "");
    f->last_rc = rc;
    if (rc == 0)
        f->executed_ok++;
    else
        f->executed_failed++;
}

static int external(void *self, const struct action *a, json_t **result, struct err *e)
{
    struct fixture *f = self;
    f->externals++;
    *result = json_pack("{s:i}", "op", a->op);
    if (a->op == 7)
        f->leader = false; /* the lease was lost while this action ran */
    return a->op == 99 ? err_set(e, -EIO, "device said no") : 0;
}

static bool may_act(void *self, int64_t now)
{
    (void)now;
    return ((struct fixture *)self)->leader;
}

static json_t *configmap(const char *name, const char *value)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", name, "namespace", "default", "data", "v",
                     value);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->now = 1000 * MS;
    f->leader = true;
    struct mem_store_config mc = {.now_ns = clock_now, .clock_ctx = f, .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &f->st, NULL), 0);
    struct log_config logc = {.threshold = LOG_LEVEL_DEBUG, .sink = log_line, .sink_ctx = f};
    assert_int_equal(log_new(&logc, &f->log, NULL), 0);
    f->cms = api_registry_find(store_registry(f->st), "", "v1", "configmaps");
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", "default");
    store_create(f->st, api_registry_find(store_registry(f->st), "", "v1", "namespaces"), NULL,
                 ns, &(struct store_write_opts){0}, NULL, NULL);
    json_decref(ns);
    struct loop_config lc = {
        .store = f->st, .component = "test", .now_ns = clock_now, .clock_ctx = f,
        .backoff = {.base_ns = 10 * MS, .max_ns = 1000 * MS},
        .reconciler = {.name = "test", .self = f, .reconcile = reconcile, .executed = executed,
                       .execute_external = external},
        .may_act = may_act, .may_act_ctx = f, .log = f->log,
    };
    assert_int_equal(loop_new(&lc, &f->loop, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    loop_free(f->loop);
    log_free(f->log);
    store_free(f->st);
    free(f);
    return 0;
}

static int create_named_by_key(struct fixture *f, const char *key, struct action_list *out,
                               int64_t *requeue_at, struct err *e)
{
    (void)requeue_at;
    return action_create(out, f->cms, "default", configmap(key, "1"), e);
}

static void enqueue_empty(void *arg)
{
    loop_enqueue(arg, "");
}

static void enqueue_too_long(void *arg)
{
    char key[WORKQUEUE_KEY_MAX + 1];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    loop_enqueue(arg, key);
}

/* An enqueue cannot fail quietly: a key the queue cannot hold is a bug in
 * the caller's key scheme, and says so. */
static void a_key_that_cannot_be_queued_aborts(void **state)
{
    struct fixture *f = *state;
    assert_aborts(enqueue_empty, f->loop, "enqueue: workqueue: key must be 1 to");
    assert_aborts(enqueue_too_long, f->loop, "enqueue: workqueue: key must be 1 to");
    char longest[WORKQUEUE_KEY_MAX];
    memset(longest, 'k', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    loop_enqueue(f->loop, longest);
    assert_int_equal(loop_next_due(f->loop), 0);
}

static void actions_run_in_order_and_count(void **state)
{
    struct fixture *f = *state;
    f->script = create_named_by_key;
    loop_enqueue(f->loop, "a");
    loop_enqueue(f->loop, "b");
    loop_enqueue(f->loop, "a");
    assert_int_equal(loop_next_due(f->loop), 0);
    assert_int_equal(loop_run_ready(f->loop, 0), 2);
    json_t *got = NULL;
    assert_int_equal(store_get(f->st, f->cms, "default", "a", &got, NULL), 0);
    json_decref(got);
    struct loop_stats s;
    loop_get_stats(f->loop, &s);
    assert_int_equal(s.reconciles, 2);
    assert_int_equal(s.actions, 2);
    assert_int_equal(loop_next_due(f->loop), INT64_MAX);
}

/* The stored object reaches executed only for a reconciler that wants it:
 * over HTTP every other answer goes unparsed. */
static void results_reach_executed_only_when_wanted(void **state)
{
    struct fixture *f = *state;
    f->script = create_named_by_key;
    loop_enqueue(f->loop, "plain");
    loop_run_ready(f->loop, 0);
    assert_int_equal(f->executed_ok, 1);
    assert_string_equal(f->last_result_name, "");
    loop_free(f->loop);
    struct loop_config lc = {.store = f->st, .component = "test", .now_ns = clock_now,
                             .clock_ctx = f,
                             .reconciler = {.name = "t", .self = f, .reconcile = reconcile,
                                            .executed = executed, .wants_results = true}};
    assert_int_equal(loop_new(&lc, &f->loop, NULL), 0);
    loop_enqueue(f->loop, "wanted");
    loop_run_ready(f->loop, 0);
    assert_int_equal(f->executed_ok, 2);
    assert_string_equal(f->last_result_name, "wanted");
}

/* Updates "x" from a copy read once, before anyone else wrote it (stale),
 * the first time; from a fresh read after that. */
static int update_from_old_copy(struct fixture *f, const char *key, struct action_list *out,
                                int64_t *requeue_at, struct err *e)
{
    (void)key;
    (void)requeue_at;
    json_t *obj = NULL;
    if (f->calls == 1) {
        obj = json_deep_copy(f->stale_copy);
    } else {
        store_get(f->st, f->cms, "default", "x", &obj, NULL);
    }
    json_object_set_new(json_object_get(obj, "data"), "v", json_string("mine"));
    int rc = action_update(out, f->cms, obj, e);
    if (rc == 0)
        rc = action_create(out, f->cms, "default", configmap("after", "1"), e);
    return rc;
}

static void a_stale_decision_is_dropped_and_decided_again(void **state)
{
    struct fixture *f = *state;
    json_t *x = configmap("x", "0");
    store_create(f->st, f->cms, "default", x, &(struct store_write_opts){0}, &f->stale_copy,
                 NULL);
    json_decref(x);
    json_t *other = json_deep_copy(f->stale_copy);
    json_object_set_new(json_object_get(other, "data"), "v", json_string("theirs"));
    assert_int_equal(store_update(f->st, f->cms, "default", other, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(other);
    f->script = update_from_old_copy;
    loop_enqueue(f->loop, "k");
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
    assert_int_equal(f->last_rc, -ESTALE);
    json_t *got = NULL;
    /* The action after the stale one was not executed. */
    assert_int_equal(store_get(f->st, f->cms, "default", "after", &got, NULL), -ENOENT);
    struct loop_stats s;
    loop_get_stats(f->loop, &s);
    assert_int_equal(s.stale, 1);
    /* A cache behind is no failure: said at info only. */
    assert_int_equal(f->logged[LOG_LEVEL_INFO], 1);
    assert_int_equal(f->logged[LOG_LEVEL_WARNING], 0);
    assert_non_null(strstr(f->last_line, "test: update configmaps default/x for k: "));
    /* Retried after the backoff, on fresh state. */
    assert_int_equal(loop_next_due(f->loop), f->now + 10 * MS);
    assert_int_equal(loop_run_ready(f->loop, 0), 0);
    f->now += 10 * MS;
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
    assert_int_equal(store_get(f->st, f->cms, "default", "x", &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "v")),
                        "mine");
    json_decref(got);
    json_decref(f->stale_copy);
}

static int fail_to_decide(struct fixture *f, const char *key, struct action_list *out,
                          int64_t *requeue_at, struct err *e)
{
    (void)f;
    (void)key;
    (void)out;
    (void)requeue_at;
    return err_set(e, -EIO, "cannot decide");
}

static void a_failing_key_backs_off_exponentially(void **state)
{
    struct fixture *f = *state;
    f->script = fail_to_decide;
    loop_enqueue(f->loop, "k");
    int64_t want[] = {10 * MS, 20 * MS, 40 * MS};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(loop_run_ready(f->loop, 0), 1);
        assert_int_equal(loop_next_due(f->loop), f->now + want[i]);
        f->now += want[i];
    }
    struct loop_stats s;
    loop_get_stats(f->loop, &s);
    assert_int_equal(s.failures, 3);
    assert_int_equal(f->logged[LOG_LEVEL_WARNING], 3);
    assert_non_null(strstr(f->last_line, "] test: cannot decide for k: cannot decide"));
    assert_true(f->last_line[0] == 'W');
}

/* The loop's metrics: queue depth, keys decided, retries by cause, read
 * when scraped; a freed loop is no longer scraped. */
static void metrics_show_the_queue_and_retries(void **state)
{
    struct fixture *f = *state;
    f->script = fail_to_decide;
    struct prom *reg = prom_new();
    struct loop *l;
    struct loop_config lc = {.store = f->st, .component = "test", .now_ns = clock_now,
                             .clock_ctx = f, .metrics = reg,
                             .reconciler = {.name = "agent n1", .self = f,
                                            .reconcile = reconcile}};
    assert_int_equal(loop_new(&lc, &l, NULL), 0);
    loop_enqueue(l, "a");
    loop_enqueue(l, "b");
    assert_int_equal(loop_queue_depth(l), 2);
    assert_int_equal(loop_run_ready(l, 1), 1); /* a fails: back in the queue */
    char *text;
    size_t len;
    assert_int_equal(prom_render(reg, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "\ngpuslice_reconcile_queue_depth{loop=\"agent n1\"} 2\n"));
    assert_non_null(strstr(text, "\ngpuslice_reconcile_total{loop=\"agent n1\"} 1\n"));
    assert_non_null(strstr(text, "\ngpuslice_reconcile_retries_total{loop=\"agent n1\","
                                 "cause=\"failure\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE gpuslice_reconcile_retries_total counter\n"));
    free(text);
    loop_free(l);
    assert_int_equal(prom_render(reg, &text, &len, NULL), 0); /* no hook left to run */
    free(text);
    prom_free(reg);
}

static int ask_again_later(struct fixture *f, const char *key, struct action_list *out,
                           int64_t *requeue_at, struct err *e)
{
    (void)key;
    (void)out;
    (void)e;
    *requeue_at = f->now + 500 * MS;
    return 0;
}

static void requeue_time_is_honoured(void **state)
{
    struct fixture *f = *state;
    f->script = ask_again_later;
    loop_enqueue(f->loop, "k");
    loop_run_ready(f->loop, 0);
    assert_int_equal(loop_next_due(f->loop), f->now + 500 * MS);
    f->now += 499 * MS;
    assert_int_equal(loop_run_ready(f->loop, 0), 0);
    f->now += MS;
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
}

static void a_follower_keeps_keys_queued(void **state)
{
    struct fixture *f = *state;
    f->script = create_named_by_key;
    f->leader = false;
    loop_enqueue(f->loop, "a");
    assert_int_equal(loop_run_ready(f->loop, 0), 0);
    assert_int_equal(f->calls, 0);
    f->leader = true;
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
}

static int device_then_create(struct fixture *f, const char *key, struct action_list *out,
                              int64_t *requeue_at, struct err *e)
{
    (void)requeue_at;
    int rc = action_external(out, 7, NULL, e);
    return rc < 0 ? rc : action_create(out, f->cms, "default", configmap(key, "1"), e);
}

/* A replica that stops leading in the middle of a decision writes nothing
 * more of it: the new leader may be acting already. The key stays queued
 * for when it leads again. */
static void a_replica_that_stops_leading_stops_writing(void **state)
{
    struct fixture *f = *state;
    f->script = device_then_create;
    loop_enqueue(f->loop, "k");
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
    json_t *got = NULL;
    assert_int_equal(store_get(f->st, f->cms, "default", "k", &got, NULL), -ENOENT);
    assert_int_equal(f->executed_ok, 1);
    f->leader = true;
    f->now += 1000 * MS;
    f->script = create_named_by_key;
    assert_int_equal(loop_run_ready(f->loop, 0), 1);
    assert_int_equal(store_get(f->st, f->cms, "default", "k", &got, NULL), 0);
    json_decref(got);
}

static int mixed_outcomes(struct fixture *f, const char *key, struct action_list *out,
                          int64_t *requeue_at, struct err *e)
{
    (void)requeue_at;
    int rc = action_delete(out, f->cms, "default", "never-existed", NULL, e);
    if (rc == 0)
        rc = action_external(out, strcmp(key, "bad-device") == 0 ? 99 : 1, NULL, e);
    if (rc == 0)
        rc = action_create(out, f->cms, "default", configmap(key, "1"), e);
    return rc;
}

static void deleting_what_is_gone_is_done_and_a_failed_device_call_stops(void **state)
{
    struct fixture *f = *state;
    f->script = mixed_outcomes;
    loop_enqueue(f->loop, "good");
    loop_run_ready(f->loop, 0);
    json_t *got = NULL;
    assert_int_equal(store_get(f->st, f->cms, "default", "good", &got, NULL), 0);
    json_decref(got);
    assert_int_equal(f->externals, 1);
    assert_int_equal(f->executed_failed, 0); /* the delete of nothing counted as done */
    /* A failed external action stops the rest and backs off. */
    loop_enqueue(f->loop, "bad-device");
    loop_run_ready(f->loop, 0);
    assert_int_equal(store_get(f->st, f->cms, "default", "bad-device", &got, NULL), -ENOENT);
    assert_int_equal(f->last_rc, -EIO);
    assert_int_equal(loop_next_due(f->loop), f->now + 10 * MS);
    assert_int_equal(f->logged[LOG_LEVEL_WARNING], 1);
    assert_non_null(strstr(f->last_line, "for bad-device: device said no"));
}

/* The loop on its thread, creating a ConfigMap per key. The thread reads
 * the clock while the test waits: a real clock here. */
static void start_threaded(struct fixture *f)
{
    loop_free(f->loop);
    struct loop_config lc = {.store = f->st, .component = "test",
                             .reconciler = {.name = "t", .self = f, .reconcile = reconcile}};
    assert_int_equal(loop_new(&lc, &f->loop, NULL), 0);
    f->script = create_named_by_key;
    assert_int_equal(loop_start(f->loop, NULL), 0);
}

static void threaded_runner_processes_and_stops(void **state)
{
    struct fixture *f = *state;
    start_threaded(f);
    struct err e;
    assert_int_equal(loop_start(f->loop, &e), -EBUSY);
    for (int i = 0; i < 50; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        loop_enqueue(f->loop, key);
    }
    struct loop_stats s = {0};
    for (int i = 0; i < 500 && s.actions < 50; i++) {
        nanosleep(&(struct timespec){0, 10 * MS}, NULL);
        loop_get_stats(f->loop, &s);
    }
    assert_int_equal(s.actions, 50);
    loop_kick(f->loop);
    loop_stop(f->loop);
    loop_stop(f->loop);
}

/* The thread asleep with nothing due, and each key enqueued only once the
 * last is done: every enqueue finds it asleep for up to a second, so an
 * enqueue that does not wake it makes the test outlast the harness's
 * timeout. */
#define WAKE_ROUNDS 100

static void a_sleeping_loop_is_woken_by_every_enqueue(void **state)
{
    struct fixture *f = *state;
    start_threaded(f);
    for (int i = 1; i <= WAKE_ROUNDS; i++) {
        char key[16];
        snprintf(key, sizeof key, "w%d", i);
        loop_enqueue(f->loop, key);
        struct loop_stats s = {0};
        while (s.actions < (uint64_t)i) {
            nanosleep(&(struct timespec){0, MS / 4}, NULL);
            loop_get_stats(f->loop, &s);
        }
    }
    loop_stop(f->loop);
}

static void bad_configuration_is_refused(void **state)
{
    (void)state;
    struct loop *l = NULL;
    struct err e;
    struct loop_config lc = {.component = "x"};
    assert_int_equal(loop_new(&lc, &l, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "needs a store"));
    loop_free(NULL);
}

/* Reconcilers that wait for several things ask for the earliest. */
static void requeue_by_keeps_the_earliest_time(void **state)
{
    (void)state;
    int64_t at = 0;
    loop_requeue_by(&at, 500);
    assert_int_equal(at, 500); /* nothing asked yet */
    loop_requeue_by(&at, 700);
    assert_int_equal(at, 500); /* a later time does not delay it */
    loop_requeue_by(&at, 300);
    assert_int_equal(at, 300);
}

static void due_says_whether_the_time_came_and_else_asks_for_it(void **state)
{
    (void)state;
    int64_t at = 0;
    assert_true(loop_due(100, 100, &at));
    assert_int_equal(at, 0); /* come: nothing to ask for */
    assert_false(loop_due(400, 100, &at));
    assert_int_equal(at, 400);
    assert_false(loop_due(900, 100, &at));
    assert_int_equal(at, 400); /* the earlier one stays */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(results_reach_executed_only_when_wanted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(actions_run_in_order_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(a_key_that_cannot_be_queued_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sleeping_loop_is_woken_by_every_enqueue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_stale_decision_is_dropped_and_decided_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failing_key_backs_off_exponentially, setup, teardown),
        cmocka_unit_test_setup_teardown(requeue_time_is_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_show_the_queue_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(a_follower_keeps_keys_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(a_replica_that_stops_leading_stops_writing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(deleting_what_is_gone_is_done_and_a_failed_device_call_stops,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(threaded_runner_processes_and_stops, setup, teardown),
        cmocka_unit_test(bad_configuration_is_refused),
        cmocka_unit_test(requeue_by_keeps_the_earliest_time),
        cmocka_unit_test(due_says_whether_the_time_came_and_else_asks_for_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
