/* The pod observer over an in-process store: every pod kept (no cap), a
 * pod deleted and made again under its name is a new one, creation is
 * taken from creationTimestamp when the observer saw the pod late, and the
 * summary's makespan runs from the first creation to the last end. Waits
 * are bounded polls; nothing asserts how long anything took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "apiserver/bootstrap.h"
#include "sim/observer.h"
#include "store/mem.h"
#include "util/clock.h"

#define PODS 600 /* more than the demo's old cap of 512 */

static struct store *new_store(const struct api_resource **pods)
{
    struct store *st = NULL;
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = 1};
    assert_int_equal(mem_store_new(&mc, &st, NULL), 0);
    assert_int_equal(bootstrap_namespaces(st, NULL), 0);
    *pods = api_registry_find(store_registry(st), "", "v1", "pods");
    assert_non_null(*pods);
    return st;
}

static void create_pod(struct store *st, const struct api_resource *pods, const char *name)
{
    json_t *pod = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s}], s:[{s:s, s:s}]}}", "apiVersion",
                            "v1", "kind", "Pod", "metadata", "name", name, "spec",
                            "schedulingGates", "name", GPUSLICE_GATE, "containers", "name",
                            "main", "image", "busybox");
    struct err e;
    if (store_create(st, pods, "default", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create %s: %s", name, e.msg);
    json_decref(pod);
}

/* Every pod, once the observer has n of them (bounded wait). */
static size_t wait_pods(struct observer *o, size_t n, struct observed_pod **pods, size_t *cap)
{
    size_t got = 0;
    for (int i = 0; i < 2000 && (got = observer_pods_all(o, pods, cap)) < n; i++)
        clock_sleep_ns(10 * NS_PER_MS);
    assert_int_equal(got, n);
    return got;
}

static void every_pod_is_kept_and_a_new_one_under_a_name_is_new(void **state)
{
    (void)state;
    const struct api_resource *pods;
    struct store *st = new_store(&pods);
    struct observer *o = NULL;
    assert_int_equal(observer_start(st, &o, NULL), 0);
    char name[32];
    for (int i = 0; i < PODS; i++) {
        snprintf(name, sizeof name, "p%04d", i);
        create_pod(st, pods, name);
    }
    struct observed_pod *all = NULL;
    size_t cap = 0;
    wait_pods(o, PODS, &all, &cap);
    for (size_t i = 0; i < PODS; i++) {
        assert_true(all[i].was_gated);
        assert_true(all[i].created_ns > 0 && all[i].created_ns <= all[i].seen_ns);
    }
    struct observed_pod first[2];
    assert_int_equal(observer_pods(o, first, 2), PODS);

    struct observer_summary s;
    observer_summarize(o, &s);
    assert_int_equal(s.pods, PODS);
    assert_int_equal(s.last_ended_ns, 0);
    assert_true(s.makespan_s == 0);

    assert_int_equal(store_delete(st, pods, "default", "p0000",
                                  &(struct store_delete_opts){.has_grace = true, .grace_s = 0}, NULL, NULL),
                     0);
    create_pod(st, pods, "p0000");
    wait_pods(o, PODS + 1, &all, &cap);
    for (int i = 0; i < 2000 && !all[0].deleted; i++) {
        clock_sleep_ns(10 * NS_PER_MS);
        observer_pods_all(o, &all, &cap);
    }
    assert_true(all[0].deleted);
    assert_string_equal(all[PODS].name, "p0000");
    assert_false(all[PODS].deleted);
    observer_summarize(o, &s);
    assert_int_equal(s.first_created_ns, all[0].created_ns);
    assert_true(s.last_ended_ns >= all[0].finished_ns && s.last_ended_ns > 0);
    assert_true(s.makespan_s >= 0);
    free(all);
    observer_free(o);
    store_free(st);
}

/* A pod the observer first sees more than a second after its creation
 * second: its creation is taken from the timestamp, not the sighting. */
static void late_sightings_count_from_the_timestamp(void **state)
{
    (void)state;
    const struct api_resource *pods;
    struct store *st = new_store(&pods);
    create_pod(st, pods, "early");
    json_t *obj = NULL;
    assert_int_equal(store_get(st, pods, "default", "early", &obj, NULL), 0);
    int64_t stamp;
    assert_int_equal(meta_parse_time(json_string_value(json_object_get(
                                         json_object_get(obj, "metadata"), "creationTimestamp")),
                                     "creationTimestamp", &stamp, NULL), 0);
    json_decref(obj);
    while (clock_realtime_ns() < stamp + NS_PER_SEC + 100 * NS_PER_MS)
        clock_sleep_ns(20 * NS_PER_MS);
    struct observer *o = NULL;
    assert_int_equal(observer_start(st, &o, NULL), 0);
    struct observed_pod *all = NULL;
    size_t cap = 0;
    wait_pods(o, 1, &all, &cap);
    assert_int_equal(all[0].created_ns, stamp + NS_PER_SEC - 1);
    assert_true(all[0].created_ns < all[0].seen_ns);
    free(all);
    observer_free(o);
    store_free(st);
}

static int64_t virtual_now(void *ctx)
{
    return *(int64_t *)ctx;
}

struct moves {
    int counts[OBSERVED_ENDED + 1];
    unsigned gib;
};

static void count_move(void *ctx, const struct observed_pod *p, enum observed_state from,
                       enum observed_state to)
{
    struct moves *m = ctx;
    m->counts[from]--;
    m->counts[to]++;
    m->gib = p->memory_gib;
}

/* Stepped on a virtual clock: times are the clock's, nothing happens
 * between steps, and each move from one state to the next is heard. */
static void a_stepped_observer_runs_on_its_clock(void **state)
{
    (void)state;
    int64_t now = INT64_C(1800000000) * NS_PER_SEC;
    struct store *st = NULL;
    struct mem_store_config mc = {.now_ns = virtual_now, .clock_ctx = &now, .seed = 1};
    assert_int_equal(mem_store_new(&mc, &st, NULL), 0);
    assert_int_equal(bootstrap_namespaces(st, NULL), 0);
    const struct api_resource *pods = api_registry_find(store_registry(st), "", "v1", "pods");
    struct moves m = {0};
    struct observer *o = NULL;
    struct observer_config oc = {.store = st, .now_ns = virtual_now, .clock_ctx = &now,
                                 .moved = count_move, .moved_ctx = &m};
    assert_int_equal(observer_new(&oc, &o, NULL), 0);
    create_pod(st, pods, "p");
    assert_true(observer_step(o) > 0);
    assert_int_equal(m.counts[OBSERVED_WAITING], 1);
    assert_int_equal(observer_step(o), 0);

    now += 2 * NS_PER_SEC;
    json_t *pod = NULL;
    assert_int_equal(store_get(st, pods, "default", "p", &pod, NULL), 0);
    json_object_set_new(json_object_get(pod, "metadata"), "finalizers",
                        json_pack("[s]", GPUSLICE_FINALIZER));
    json_object_del(json_object_get(pod, "spec"), "schedulingGates");
    assert_int_equal(store_update(st, pods, "default", pod, NULL, NULL, NULL), 0);
    json_decref(pod);
    observer_step(o);
    assert_int_equal(m.counts[OBSERVED_WAITING], 0);
    assert_int_equal(m.counts[OBSERVED_PENDING], 1);
    struct observed_pod *all = NULL;
    size_t cap = 0;
    assert_int_equal(observer_pods_all(o, &all, &cap), 1);
    assert_int_equal(all[0].ungated_ns - all[0].created_ns, 2 * NS_PER_SEC);
    assert_int_equal(all[0].placed_ns, all[0].ungated_ns);
    assert_int_equal(all[0].state, OBSERVED_PENDING);
    free(all);
    observer_free(o);
    store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pod_is_kept_and_a_new_one_under_a_name_is_new),
        cmocka_unit_test(late_sightings_count_from_the_timestamp),
        cmocka_unit_test(a_stepped_observer_runs_on_its_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
