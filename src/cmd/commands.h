/*
 * The subcommands of the one gpuslice binary. Each lives in its own
 * cmd_NAME.c, takes argv with argv[0] = its name, returns the process exit
 * status (0 ok, 1 failure, 2 usage error), and writes its own errors to stderr.
 */
#ifndef GPUSLICE_CMD_COMMANDS_H
#define GPUSLICE_CMD_COMMANDS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/err.h"
#include "util/log.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `gpuslice --help` */
    const char *usage;   /* the full text for `gpuslice help NAME` */
};

/* The table, in the order `gpuslice --help` lists it; NULL-name terminated. */
extern const struct command commands[];

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_place(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_webhook(int argc, char **argv);
int cmd_certs(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* --warm-max-percent's value, 0 to 100, as controller_config takes it
 * (0, none kept warm, is -1 there); -EINVAL with a message otherwise. */
int cmd_warm_percent(const char *text, int *out, struct err *e);

/* The logger of a long-running command (agent, controller, webhook):
 * klog-style lines on stderr, info and above. The caller frees it
 * (log_free). What a command prints for its user (usage, a failure to
 * start) is not logging and goes to stdout or stderr directly. */
static inline struct log *cmd_daemon_log(void)
{
    struct log *lg = NULL;
    log_new(&(struct log_config){.out = stderr}, &lg, NULL);
    return lg;
}

/* --lease-duration S of the daemons that elect or fence with a Lease: whole
 * seconds, 1..3600 (a Lease counts whole seconds); -1 for anything else. */
static inline int cmd_lease_seconds(const char *s, int64_t *ns)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 3600)
        return -1;
    *ns = (int64_t)v * 1000000000;
    return 0;
}

#endif
