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

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_place(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_webhook(int argc, char **argv);
int cmd_certs(int argc, char **argv);

#endif
