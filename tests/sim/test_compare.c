/* The comparison of policies: every policy on every seed, the statistics
 * and the paired differences by hand, and the renderings (the Markdown
 * tables, the page with its title escaped, the three files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include <math.h>

#include "scenario_text.h"
#include "sim/compare.h"

static size_t calls;

static void ran(void *ctx, const struct outcome_summary *s, size_t done, size_t total)
{
    (void)ctx;
    (void)s;
    assert_int_equal(done, ++calls);
    assert_int_equal(total, 6);
}

static void every_policy_runs_on_every_seed(void **state)
{
    (void)state;
    struct scenario sc;
    struct err e = {0};
    assert_int_equal(scenario_text(ENVELOPE_CLUSTER "policy: first-fit\nworkload: [{count: 4, "
                                                    "profile: 1g.5gb, runSeconds: 3}]\n",
                                   &sc, &e), 0);
    struct compare c;
    calls = 0;
    assert_int_equal(compare_run(&sc, &(struct compare_options){.seeds = 2, .first_seed = 7,
                                                                .ran = ran}, &c, &e), 0);
    assert_int_equal(calls, 6);
    assert_int_equal(c.n_seeds, 2);
    for (int p = 0; p < PLACEMENT_POLICY_COUNT; p++)
        for (size_t k = 0; k < 2; k++) {
            const struct outcome_summary *s = &c.runs[p * 2 + k];
            assert_string_equal(s->policy, placement_policy_name((enum placement_policy)p));
            assert_int_equal(s->seed, 7 + k);
            assert_int_equal(s->pods_completed, 4);
        }
    compare_free(&c);
    scenario_free(&sc);
}

/* Three policies on three seeds with figures chosen by hand. */
static struct compare by_hand(void)
{
    static struct outcome_summary runs[PLACEMENT_POLICY_COUNT * 3];
    const double util[] = {0.5, 0.6, 0.7, /* best-fit */ 0.6, 0.6, 0.6,
                           /* fragmentation-aware */ 0.55, 0.65, 0.65};
    const double wait[] = {10, 20, 30, 10, 10, 10, 0, 30, 20};
    for (size_t i = 0; i < PLACEMENT_POLICY_COUNT * 3; i++)
        runs[i] = (struct outcome_summary){.memory_slice_utilisation = util[i],
                                           .fragmentation_wait_s = wait[i],
                                           .policy = placement_policy_name(
                                               (enum placement_policy)(i / 3)),
                                           .seed = 1 + i % 3};
    return (struct compare){.n_seeds = 3, .first_seed = 1, .runs = runs};
}

static void statistics_and_pairs(void **state)
{
    (void)state;
    struct compare c = by_hand();
    struct compare_stat st = compare_stat_of(&c, PLACEMENT_FIRST_FIT, COMPARE_UTILISATION);
    assert_true(fabs(st.mean - 0.6) < 1e-12);
    assert_true(fabs(st.stddev - 0.1) < 1e-12); /* sample deviation, n - 1 */
    assert_true(st.min == 0.5 && st.max == 0.7);
    st = compare_stat_of(&c, PLACEMENT_BEST_FIT, COMPARE_FRAGMENTATION_WAIT);
    assert_true(st.mean == 10 && st.stddev == 0);
    /* Utilisation: more is better. FA - FF: +0.05, +0.05, -0.05. */
    struct compare_paired pr =
        compare_paired_of(&c, PLACEMENT_FRAGMENTATION_AWARE, COMPARE_UTILISATION);
    assert_true(fabs(pr.mean_difference - 0.05 / 3) < 1e-12);
    /* Differences 0.05, 0.05, -0.05: deviation sqrt(1/300), over sqrt(3). */
    assert_true(fabs(pr.standard_error - sqrt(1.0 / 300) / sqrt(3)) < 1e-12);
    assert_int_equal(pr.better, 2);
    assert_int_equal(pr.worse, 1);
    /* Wait: less is better. FA - FF: -10, +10, -10. */
    pr = compare_paired_of(&c, PLACEMENT_FRAGMENTATION_AWARE, COMPARE_FRAGMENTATION_WAIT);
    assert_true(fabs(pr.mean_difference + 10.0 / 3) < 1e-12);
    assert_int_equal(pr.better, 2);
    assert_int_equal(pr.worse, 1);
    pr = compare_paired_of(&c, PLACEMENT_FIRST_FIT, COMPARE_FRAGMENTATION_WAIT);
    assert_true(pr.better == 0 && pr.worse == 0); /* ties with itself */
    assert_true(compare_higher_is_better(COMPARE_UTILISATION));
    assert_false(compare_higher_is_better(COMPARE_MAKESPAN));
    assert_string_equal(compare_figure_name(COMPARE_FRAGMENTATION_WAIT),
                        "fragmentationWaitSeconds");
    assert_string_equal(compare_figure_name(COMPARE_FIGURES), "?");
    assert_true(compare_figure_of(&c.runs[1], COMPARE_UTILISATION) == 0.6);
}

static void the_json_has_every_run(void **state)
{
    (void)state;
    struct compare c = by_hand();
    json_t *o = compare_json(&c);
    assert_int_equal(json_array_size(json_object_get(o, "seeds")), 3);
    json_t *fa = json_array_get(json_object_get(o, "policies"), 2);
    assert_string_equal(json_string_value(json_object_get(fa, "policy")),
                        "fragmentation-aware");
    json_t *wait = json_object_get(fa, "fragmentationWaitSeconds");
    assert_true(json_real_value(json_object_get(wait, "mean")) == 50.0 / 3);
    assert_int_equal(json_array_size(json_object_get(wait, "runs")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(wait, "againstFirstFit"),
                                                        "better")), 2);
    json_decref(o);
}

static char *rendered(void (*render)(FILE *, const struct compare *, const char *),
                      const struct compare *c, const char *title)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    render(f, c, title);
    fclose(f);
    char *text = strdup(buf); /* not the stream's buffer: gcc takes that for a local */
    free(buf);
    return text;
}

static void the_renderings(void **state)
{
    (void)state;
    struct compare c = by_hand();
    char *md = rendered(compare_markdown, &c, "p.yaml");
    assert_non_null(strstr(md, "# Placement policies on p.yaml"));
    assert_non_null(strstr(md, "3 seeds (1 to 3)"));
    assert_non_null(strstr(md, "## memorySliceUtilisation (higher is better)"));
    assert_non_null(strstr(md, "| first-fit | 0.6000 | 0.1000 | 0.5000 | 0.7000 |  |  |"));
    assert_non_null(strstr(md, "| fragmentation-aware | 16.7 | 15.3 | 0.0 | 30.0 | -3.3 ± 6.7 | 2 / 1 |"));
    free(md);
    char *page = rendered(compare_html, &c, "<x>.yaml");
    assert_null(strstr(page, "<x>"));
    assert_non_null(strstr(page, "&lt;x&gt;.yaml"));
    assert_int_equal(strncmp(page, "<!DOCTYPE html>", 15), 0);
    size_t dots = 0;
    for (const char *p = strstr(page, "<circle"); p; p = strstr(p + 1, "<circle"))
        dots++;
    assert_int_equal(dots, COMPARE_FIGURES * PLACEMENT_POLICY_COUNT * 3);
    assert_non_null(strstr(page, "fragmentation-aware, seed 2: 0.6500"));
    free(page);
}

static void the_files(void **state)
{
    (void)state;
    struct compare c = by_hand();
    char dir[] = "/tmp/test_compare_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64];
    snprintf(sub, sizeof sub, "%s/out", dir); /* made when missing */
    struct err e = {0};
    assert_int_equal(compare_write(&c, sub, "p.yaml", &e), 0);
    const char *names[] = {"compare.md", "compare.json", "compare.html"};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        assert_int_equal(access(path, R_OK), 0);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
    assert_true(compare_write(&c, "/nonexistent/x", "p", &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_policy_runs_on_every_seed),
        cmocka_unit_test(statistics_and_pairs),
        cmocka_unit_test(the_json_has_every_run),
        cmocka_unit_test(the_renderings),
        cmocka_unit_test(the_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
