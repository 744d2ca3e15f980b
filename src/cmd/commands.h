/*
 * The subcommands of the one gpuslice binary. Each lives in its own
 * cmd_NAME.c, takes argv with argv[0] = its name, returns the process exit
 * status (0 ok, 1 failure, 2 usage error), and writes its own errors to stderr.
 */
#ifndef GPUSLICE_CMD_COMMANDS_H
#define GPUSLICE_CMD_COMMANDS_H

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `gpuslice --help` */
    const char *usage;   /* the full text for `gpuslice help NAME` */
};

/* The table, in the order `gpuslice --help` lists it; NULL-name terminated. */
extern const struct command commands[];

#endif
