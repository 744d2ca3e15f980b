/* Tests for util/log: the klog format, the threshold, capture through a
 * sink and a FILE, the NULL logger, and whole lines from many threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/log.h"

/* 2026-12-06 19:52:05.123456789 UTC */
#define T0 (INT64_C(1796586725) * NS_PER_SEC + 123456789)

struct capture {
    int n;
    enum log_level levels[8];
    char lines[8][LOG_LINE_MAX];
};

static void capture_line(void *ctx, enum log_level level, const char *line, size_t len)
{
    struct capture *c = ctx;
    assert_int_equal(strlen(line), len);
    if (c->n < 8) {
        c->levels[c->n] = level;
        snprintf(c->lines[c->n], sizeof c->lines[c->n], "%s", line);
    }
    c->n++;
}

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return T0;
}

static struct log *capturing(struct capture *c, enum log_level threshold)
{
    memset(c, 0, sizeof *c);
    struct log_config cfg = {.threshold = threshold, .sink = capture_line, .sink_ctx = c,
                             .now_ns = fixed_clock};
    struct log *lg = NULL;
    assert_int_equal(log_new(&cfg, &lg, NULL), 0);
    return lg;
}

static void lines_have_the_klog_header(void **state)
{
    (void)state;
    struct capture c;
    struct log *lg = capturing(&c, 0);
    int line = __LINE__ + 1;
    log_info(lg, "placed %d slices on %s", 3, "node-a");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.levels[0], LOG_LEVEL_INFO);
    char want[256];
    snprintf(want, sizeof want, "I1206 19:52:05.123456 %7ld test_log.c:%d] placed 3 slices on node-a",
             (long)gettid(), line);
    assert_string_equal(c.lines[0], want);
    log_error(lg, "x");
    log_warning(lg, "y");
    assert_int_equal(c.lines[1][0], 'E');
    assert_int_equal(c.lines[2][0], 'W');
    log_free(lg);
}

static void level_letters(void **state)
{
    (void)state;
    assert_int_equal(log_level_letter(LOG_LEVEL_ERROR), 'E');
    assert_int_equal(log_level_letter(LOG_LEVEL_WARNING), 'W');
    assert_int_equal(log_level_letter(LOG_LEVEL_INFO), 'I');
    assert_int_equal(log_level_letter(LOG_LEVEL_DEBUG), 'D');
    assert_int_equal(log_level_letter((enum log_level)0), '?');
}

static void the_threshold_drops_finer_levels(void **state)
{
    (void)state;
    struct capture c;
    struct log *lg = capturing(&c, 0); /* INFO */
    assert_true(log_enabled(lg, LOG_LEVEL_INFO));
    assert_false(log_enabled(lg, LOG_LEVEL_DEBUG));
    log_debug(lg, "dropped");
    log_info(lg, "kept");
    assert_int_equal(c.n, 1);
    log_free(lg);

    lg = capturing(&c, LOG_LEVEL_ERROR);
    log_warning(lg, "dropped");
    log_error(lg, "kept");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.levels[0], LOG_LEVEL_ERROR);
    log_free(lg);

    lg = capturing(&c, LOG_LEVEL_DEBUG);
    log_debug(lg, "kept");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.lines[0][0], 'D');
    log_free(lg);
}

static void bad_thresholds_are_refused(void **state)
{
    (void)state;
    struct log *lg = (struct log *)&lg;
    struct err e;
    struct log_config cfg = {.threshold = (enum log_level)(LOG_LEVEL_DEBUG + 1)};
    assert_int_equal(log_new(&cfg, &lg, &e), -EINVAL);
    assert_null(lg);
    cfg.threshold = (enum log_level)-1;
    assert_int_equal(log_new(&cfg, &lg, NULL), -EINVAL);
}

static void a_null_logger_discards(void **state)
{
    (void)state;
    assert_false(log_enabled(NULL, LOG_LEVEL_ERROR));
    log_error(NULL, "nobody hears %s", "this");
    log_debug(NULL, "nor this");
    log_free(NULL);
}

static void a_line_stays_one_line(void **state)
{
    (void)state;
    struct capture c;
    struct log *lg = capturing(&c, 0);
    log_info(lg, "server said:\nline two\r\n");
    assert_non_null(strstr(c.lines[0], "server said: line two  "));
    char big[2 * LOG_LINE_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_info(lg, "%s", big);
    assert_int_equal(strlen(c.lines[1]), LOG_LINE_MAX - 1);
    log_free(lg);
}

static void a_file_gets_each_line_with_a_newline(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    struct capture c = {0};
    struct log_config cfg = {.out = f, .sink = capture_line, .sink_ctx = &c,
                             .now_ns = fixed_clock};
    struct log *lg;
    assert_int_equal(log_new(&cfg, &lg, NULL), 0);
    log_warning(lg, "one");
    log_info(lg, "two");
    log_free(lg);
    fclose(f);
    assert_int_equal(c.n, 2); /* both the sink and the file */
    assert_non_null(strstr(buf, "] one\nI1206 "));
    assert_int_equal(buf[size - 1], '\n');
    assert_int_equal(buf[0], 'W');
    free(buf);
}

#define WRITERS 8
#define LINES 400

struct writer {
    struct log *lg;
    int id;
};

static void *write_lines(void *arg)
{
    struct writer *w = arg;
    char pad[300];
    memset(pad, 'a' + w->id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        log_info(w->lg, "writer %d line %d %s end", w->id, i, pad);
    return NULL;
}

static void concurrent_writers_write_whole_lines(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    struct log *lg;
    assert_int_equal(log_new(&(struct log_config){.out = f}, &lg, NULL), 0);
    pthread_t t[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){lg, i};
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    log_free(lg);
    rewind(f);
    int next[WRITERS] = {0}, lines = 0;
    char line[LOG_LINE_MAX + 2];
    while (fgets(line, sizeof line, f)) {
        int id, n, end = 0;
        char pad[400];
        const char *msg = strstr(line, "] writer ");
        assert_non_null(msg);
        assert_int_equal(line[0], 'I');
        assert_int_equal(sscanf(msg, "] writer %d line %d %399s end%n", &id, &n, pad, &end), 3);
        assert_true(end > 0);
        assert_int_equal(msg[end], '\n');
        assert_in_range(id, 0, WRITERS - 1);
        assert_int_equal(n, next[id]++); /* each writer's lines in its order */
        assert_int_equal(strlen(pad), 299);
        assert_int_equal(strspn(pad, (char[]){(char)('a' + id), 0}), 299);
        lines++;
    }
    assert_int_equal(lines, WRITERS * LINES);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_have_the_klog_header),
        cmocka_unit_test(level_letters),
        cmocka_unit_test(the_threshold_drops_finer_levels),
        cmocka_unit_test(bad_thresholds_are_refused),
        cmocka_unit_test(a_null_logger_discards),
        cmocka_unit_test(a_line_stays_one_line),
        cmocka_unit_test(a_file_gets_each_line_with_a_newline),
        cmocka_unit_test(concurrent_writers_write_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
