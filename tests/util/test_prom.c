/*
 * Tests for util/prom: the text of each family type, label escaping,
 * series made on first use, cumulative buckets, re-registration, invalid
 * names, scrape hooks, NULL safety, and many threads counting at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/prom.h"

static char *text_of(struct prom *p)
{
    char *text;
    size_t len;
    assert_int_equal(prom_render(p, &text, &len, NULL), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void counters_and_gauges(void **state)
{
    (void)state;
    struct prom *p = prom_new();
    struct prom_family *c = prom_counter(p, "ops_total", "Ops done.\nSecond line \\.", "kind,result");
    struct prom_family *g = prom_gauge(p, "depth", "Queue depth.", NULL);
    prom_add(c, 1, "create", "success");
    prom_add(c, 2, "create", "success");
    prom_add(c, -5, "create", "success"); /* a counter never falls */
    prom_add(c, 1, "a\"b\\c\nd", NULL);
    prom_set(g, 2.5);
    char *t = text_of(p);
    assert_string_equal(t, "# HELP ops_total Ops done.\\nSecond line \\\\.\n"
                           "# TYPE ops_total counter\n"
                           "ops_total{kind=\"create\",result=\"success\"} 3\n"
                           "ops_total{kind=\"a\\\"b\\\\c\\nd\",result=\"\"} 1\n"
                           "# HELP depth Queue depth.\n"
                           "# TYPE depth gauge\n"
                           "depth 2.5\n");
    free(t);
    prom_clear(c);
    prom_add(g, -1);
    t = text_of(p);
    assert_null(strstr(t, "ops_total{"));
    assert_non_null(strstr(t, "\ndepth 1.5\n"));
    free(t);
    prom_free(p);
}

static void histograms_are_cumulative(void **state)
{
    (void)state;
    struct prom *p = prom_new();
    const double bounds[] = {0.1, 1};
    struct prom_family *h = prom_histogram(p, "op_seconds", "Op latency.", "kind", 2, bounds);
    struct prom_family *empty = prom_histogram(p, "idle_seconds", "Never.", NULL, 2, bounds);
    (void)empty;
    prom_observe(h, 0.05, "a");
    prom_observe(h, 0.1, "a");  /* on the bound: in it */
    prom_observe(h, 0.5, "a");
    prom_observe(h, 7, "a");
    char *t = text_of(p);
    assert_string_equal(t, "# HELP op_seconds Op latency.\n"
                           "# TYPE op_seconds histogram\n"
                           "op_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n"
                           "op_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"
                           "op_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"
                           "op_seconds_sum{kind=\"a\"} 7.65\n"
                           "op_seconds_count{kind=\"a\"} 4\n"
                           "# HELP idle_seconds Never.\n"
                           "# TYPE idle_seconds histogram\n"
                           "idle_seconds_bucket{le=\"0.1\"} 0\n"
                           "idle_seconds_bucket{le=\"1\"} 0\n"
                           "idle_seconds_bucket{le=\"+Inf\"} 0\n"
                           "idle_seconds_sum 0\n"
                           "idle_seconds_count 0\n");
    free(t);
    prom_free(p);
}

static void registration_rules(void **state)
{
    (void)state;
    struct prom *p = prom_new();
    struct prom_family *a = prom_counter(p, "a_total", "A.", "x");
    assert_non_null(a);
    assert_ptr_equal(prom_counter(p, "a_total", "A again.", "x"), a);
    assert_null(prom_gauge(p, "a_total", "A.", "x"));
    assert_null(prom_counter(p, "a_total", "A.", "y"));
    assert_null(prom_counter(p, "9lives", "Bad.", NULL));
    assert_null(prom_counter(p, "bad-name", "Bad.", NULL));
    assert_null(prom_counter(p, "ok_total", "Bad label.", "x:y"));
    assert_null(prom_counter(p, "ok_total", "Reserved.", "le"));
    assert_null(prom_counter(p, "ok_total", "Too many.", "a,b,c,d,e"));
    assert_null(prom_histogram(p, "h", "Bad bounds.", NULL, 2, (const double[]){1, 1}));
    assert_null(prom_counter(NULL, "x_total", "No registry.", NULL));
    prom_add(NULL, 1);
    prom_set(NULL, 1);
    prom_observe(NULL, 1);
    prom_clear(NULL);
    char *t;
    size_t len;
    assert_int_equal(prom_render(NULL, &t, &len, NULL), 0);
    assert_string_equal(t, "");
    free(t);
    prom_free(p);
    prom_free(NULL);
}

struct hook_ctx {
    struct prom_family *g;
    int calls;
};

static void refresh(void *ctx)
{
    struct hook_ctx *h = ctx;
    prom_clear(h->g);
    prom_set(h->g, ++h->calls, "node-a");
}

static void hooks_run_at_each_scrape(void **state)
{
    (void)state;
    struct prom *p = prom_new();
    struct hook_ctx h = {.g = prom_gauge(p, "slices", "Slices.", "node")};
    prom_on_scrape(p, refresh, &h);
    char *t = text_of(p);
    assert_non_null(strstr(t, "slices{node=\"node-a\"} 1\n"));
    free(t);
    t = text_of(p);
    assert_non_null(strstr(t, "slices{node=\"node-a\"} 2\n"));
    free(t);
    prom_remove_hook(p, refresh, &h);
    free(text_of(p));
    assert_int_equal(h.calls, 2);
    for (int i = 0; i < 20; i++) /* as many as the components need */
        prom_on_scrape(p, refresh, &h);
    free(text_of(p));
    assert_int_equal(h.calls, 22);
    prom_on_scrape(NULL, refresh, &h);
    prom_free(p);
}

static void *count_many(void *arg)
{
    struct prom_family *f = arg;
    for (int i = 0; i < 10000; i++)
        prom_add(f, 1, (i & 1) ? "odd" : "even");
    return NULL;
}

static void threads_count_without_loss(void **state)
{
    (void)state;
    struct prom *p = prom_new();
    struct prom_family *f = prom_counter(p, "n_total", "N.", "parity");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, count_many, f), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *t = text_of(p);
    assert_non_null(strstr(t, "n_total{parity=\"even\"} 20000\n"));
    assert_non_null(strstr(t, "n_total{parity=\"odd\"} 20000\n"));
    free(t);
    prom_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_and_gauges),
        cmocka_unit_test(histograms_are_cumulative),
        cmocka_unit_test(registration_rules),
        cmocka_unit_test(hooks_run_at_each_scrape),
        cmocka_unit_test(threads_count_without_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
