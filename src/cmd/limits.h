/*
 * The connection-limit options `gpuslice cluster` and `gpuslice webhook`
 * share (util/httpd_guard.h): --max-connections,
 * --max-connections-per-address, --idle-timeout and --request-timeout, and
 * the descriptor limit their connection caps are fitted to.
 */
#ifndef GPUSLICE_CMD_LIMITS_H
#define GPUSLICE_CMD_LIMITS_H

#include <getopt.h>

#include "util/err.h"
#include "util/httpd_guard.h"

/* getopt_long codes of the options, clear of every short option. */
#define CMD_LIMITS_CODE 0x1000

/* The options' entries, for a command's getopt_long table. */
#define CMD_LIMITS_OPTIONS                                                           \
    {"max-connections", required_argument, NULL, CMD_LIMITS_CODE},                  \
    {"max-connections-per-address", required_argument, NULL, CMD_LIMITS_CODE + 1},  \
    {"idle-timeout", required_argument, NULL, CMD_LIMITS_CODE + 2},                 \
    {"request-timeout", required_argument, NULL, CMD_LIMITS_CODE + 3}

/* Takes getopt_long's code c and its argument into lim: 1 when c is one of
 * the options and arg a whole number in its range (connections 1 to
 * 1,000,000, seconds 1 to 3600), 0 when c is another option, -EINVAL with
 * e naming the option when arg is not. */
int cmd_limits_option(int c, const char *arg, struct httpd_limits *lim, struct err *e);

/* Raises the soft RLIMIT_NOFILE to the hard limit, as Go's runtime does for
 * every program, so that the connection caps are not cut to fit a soft
 * limit of 1024; the limit after (the soft one). */
unsigned long cmd_raise_nofile(void);

#endif
