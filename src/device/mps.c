/*
 * The MPS control daemons (mps.h): each call one run of the control
 * program with the GPU's environment.
 *
 * The daemon's environment and a client's name the same three things (the
 * visible GPU, the pipe directory, the log directory), both from
 * mps_paths_of, so the two cannot disagree about where the daemon listens.
 */
#include "device/mps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/dirs.h"
#include "util/subproc.h"

static const char *root_of(const struct mps_config *cfg)
{
    return cfg->root ? cfg->root : MPS_ROOT_DEFAULT;
}

static int check_uuid(const char *uuid, struct err *e)
{
    size_t len = strlen(uuid);
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";
    if (len == 0 || len > MPS_UUID_MAX || strspn(uuid, allowed) != len)
        return err_set(e, -EINVAL, "mps: \"%.*s\" is not a GPU UUID (letters, digits and '-', "
                       "at most %d)", MPS_UUID_MAX, uuid, MPS_UUID_MAX);
    return 0;
}

int mps_paths_of(const struct mps_config *cfg, const char *gpu_uuid, struct mps_paths *out,
                 struct err *e)
{
    int rc = check_uuid(gpu_uuid, e);
    if (rc < 0)
        return rc;
    const char *root = root_of(cfg);
    int a = snprintf(out->pipe, sizeof out->pipe, "%s/%s/pipe", root, gpu_uuid);
    int b = snprintf(out->log, sizeof out->log, "%s/%s/log", root, gpu_uuid);
    if (a < 0 || b < 0 || (size_t)a >= sizeof out->pipe || (size_t)b >= sizeof out->log)
        return err_set(e, -EINVAL, "mps: the root %s is too long for its paths", root);
    return 0;
}

/* The variables a daemon and its clients share, "NAME=VALUE" in env[3]. */
struct gpu_env {
    char visible[MPS_UUID_MAX + 32];
    char pipe[MPS_PATH_MAX + 32];
    char log[MPS_PATH_MAX + 32];
    const char *env[4];
};

static int gpu_env(const struct mps_config *cfg, const char *gpu_uuid, struct gpu_env *g,
                   struct err *e)
{
    struct mps_paths p;
    int rc = mps_paths_of(cfg, gpu_uuid, &p, e);
    if (rc < 0)
        return rc;
    snprintf(g->visible, sizeof g->visible, "CUDA_VISIBLE_DEVICES=%s", gpu_uuid);
    snprintf(g->pipe, sizeof g->pipe, "CUDA_MPS_PIPE_DIRECTORY=%s", p.pipe);
    snprintf(g->log, sizeof g->log, "CUDA_MPS_LOG_DIRECTORY=%s", p.log);
    g->env[0] = g->visible;
    g->env[1] = g->pipe;
    g->env[2] = g->log;
    g->env[3] = NULL;
    return 0;
}

/* One run of the control program for gpu_uuid's daemon. */
static int control(const struct mps_config *cfg, const char *gpu_uuid, const char *arg,
                   const char *input, struct subproc_result *out, struct err *e)
{
    struct gpu_env g;
    int rc = gpu_env(cfg, gpu_uuid, &g, e);
    if (rc < 0)
        return rc;
    const char *program = cfg->control ? cfg->control : MPS_CONTROL_DEFAULT;
    const char *argv[] = {program, arg, NULL};
    struct subproc_run r = {.argv = argv, .env = g.env, .input = input,
                            .timeout_ns = cfg->timeout_ns};
    rc = subproc_run(&r, out, e);
    return rc < 0 ? err_prefix(e, rc, "mps: GPU %s: ", gpu_uuid) : 0;
}

int mps_daemon_alive(const struct mps_config *cfg, const char *gpu_uuid, bool *alive,
                     struct err *e)
{
    struct subproc_result out;
    int rc = control(cfg, gpu_uuid, NULL, "get_server_list\n", &out, e);
    if (rc == 0)
        *alive = out.status == 0;
    return rc;
}

/* The program's words, on one line, for a message. */
static const char *said(struct subproc_result *out)
{
    for (char *c = out->output; *c; c++)
        if (*c == '\n')
            *c = c[1] ? ' ' : '\0';
    return out->output_len ? out->output : "nothing";
}

int mps_daemon_ensure(const struct mps_config *cfg, const char *gpu_uuid, bool *started,
                      struct err *e)
{
    bool alive = false;
    int rc = mps_daemon_alive(cfg, gpu_uuid, &alive, e);
    if (started)
        *started = false;
    if (rc < 0 || alive)
        return rc;
    struct mps_paths p;
    if ((rc = mps_paths_of(cfg, gpu_uuid, &p, e)) < 0)
        return rc;
    if ((rc = dirs_make(p.pipe, 0755, e)) < 0 || (rc = dirs_make(p.log, 0755, e)) < 0)
        return err_prefix(e, rc, "mps: GPU %s: ", gpu_uuid);
    struct subproc_result out;
    if ((rc = control(cfg, gpu_uuid, "-d", NULL, &out, e)) < 0)
        return rc;
    if (out.status != 0)
        return err_set(e, -EIO, "mps: GPU %s: the control daemon did not start (exit %d): %s",
                       gpu_uuid, out.status, said(&out));
    if ((rc = mps_daemon_alive(cfg, gpu_uuid, &alive, e)) < 0)
        return rc;
    if (!alive)
        return err_set(e, -EIO, "mps: GPU %s: the control daemon started but does not answer "
                       "on %s", gpu_uuid, p.pipe);
    if (started)
        *started = true;
    return 0;
}

int mps_daemon_stop(const struct mps_config *cfg, const char *gpu_uuid, struct err *e)
{
    bool alive = false;
    int rc = mps_daemon_alive(cfg, gpu_uuid, &alive, e);
    if (rc < 0 || !alive)
        return rc;
    struct subproc_result out;
    if ((rc = control(cfg, gpu_uuid, NULL, "quit\n", &out, e)) < 0)
        return rc;
    if (out.status != 0)
        return err_set(e, -EIO, "mps: GPU %s: quit refused (exit %d): %s", gpu_uuid,
                       out.status, said(&out));
    return 0;
}

static void set_var(struct mps_client_env *out, size_t i, const char *name, const char *value)
{
    out->vars[i].name = name;
    snprintf(out->vars[i].value, sizeof out->vars[i].value, "%s", value);
}

int mps_client_env(const struct mps_config *cfg, const char *gpu_uuid, unsigned mem_gib,
                   unsigned sm_percent, struct mps_client_env *out, struct err *e)
{
    if (mem_gib == 0)
        return err_set(e, -EINVAL, "mps: a client's memory limit must be at least 1 GiB");
    if (sm_percent < 1 || sm_percent > 100)
        return err_set(e, -EINVAL, "mps: a client's SM share is 1 to 100 percent, not %u",
                       sm_percent);
    struct mps_paths p;
    int rc = mps_paths_of(cfg, gpu_uuid, &p, e);
    if (rc < 0)
        return rc;
    char limit[32], percent[8];
    snprintf(limit, sizeof limit, "0=%uG", mem_gib); /* device 0: the one it sees */
    snprintf(percent, sizeof percent, "%u", sm_percent);
    set_var(out, 0, "NVIDIA_VISIBLE_DEVICES", gpu_uuid);
    set_var(out, 1, "CUDA_VISIBLE_DEVICES", gpu_uuid);
    set_var(out, 2, "CUDA_MPS_PIPE_DIRECTORY", p.pipe);
    set_var(out, 3, "CUDA_MPS_LOG_DIRECTORY", p.log);
    set_var(out, 4, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", limit);
    set_var(out, 5, "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", percent);
    return 0;
}
