/* The connection-limit options shared by `gpuslice cluster` and `gpuslice
 * webhook`, and raising the descriptor limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "cmd/limits.h"

static void options_fill_their_field(void **state)
{
    (void)state;
    struct httpd_limits lim = {0};
    struct err e;
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE, "500", &lim, &e), 1);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 1, "8", &lim, &e), 1);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 2, "90", &lim, &e), 1);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 3, "5", &lim, &e), 1);
    assert_int_equal(lim.max_connections, 500);
    assert_int_equal(lim.max_per_address, 8);
    assert_int_equal(lim.idle_timeout_s, 90);
    assert_int_equal(lim.request_timeout_s, 5);
    assert_int_equal(cmd_limits_option('p', "1", &lim, &e), 0);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 4, "1", &lim, &e), 0);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 2, "0", &lim, &e), -EINVAL);
    assert_string_equal(e.msg, "--idle-timeout: \"0\" is not a whole number from 1 to 3600");
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE, "12x", &lim, &e), -EINVAL);
    assert_int_equal(cmd_limits_option(CMD_LIMITS_CODE + 1, "", &lim, &e), -EINVAL);
    assert_int_equal(lim.max_connections, 500);
}

static void the_soft_descriptor_limit_is_raised_to_the_hard_one(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max > 256 && rl.rlim_max != RLIM_INFINITY) {
        rl.rlim_cur = 256;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    unsigned long now = cmd_raise_nofile();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(now, (unsigned long)rl.rlim_cur);
    if (rl.rlim_max != RLIM_INFINITY)
        assert_int_equal(rl.rlim_cur, rl.rlim_max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_fill_their_field),
        cmocka_unit_test(the_soft_descriptor_limit_is_raised_to_the_hard_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
