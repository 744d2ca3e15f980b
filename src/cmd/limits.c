/*
 * The shared connection-limit options (limits.h).
 */
#include "cmd/limits.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>

static const struct {
    const char *name;
    long most;
} option_of[] = {
    {"--max-connections", 1000000},
    {"--max-connections-per-address", 1000000},
    {"--idle-timeout", 3600},
    {"--request-timeout", 3600},
};

int cmd_limits_option(int c, const char *arg, struct httpd_limits *lim, struct err *e)
{
    unsigned i = (unsigned)(c - CMD_LIMITS_CODE);
    if (c < CMD_LIMITS_CODE || i >= sizeof option_of / sizeof option_of[0])
        return 0;
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < 1 || v > option_of[i].most)
        return err_set(e, -EINVAL, "%s: \"%s\" is not a whole number from 1 to %ld",
                       option_of[i].name, arg, option_of[i].most);
    unsigned *field[] = {&lim->max_connections, &lim->max_per_address, &lim->idle_timeout_s,
                         &lim->request_timeout_s};
    *field[i] = (unsigned)v;
    return 1;
}

unsigned long cmd_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}
