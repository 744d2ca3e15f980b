/*
 * The agent's executor: the one place where its decisions touch the device
 * and the file system (the EXTERNAL actions of agent.h), and where what the
 * device answered becomes the agent's memory for the next decision.
 *
 * After every call that can change the slices it reads them (and the boot
 * id) again, so the next decision sees the device as the call left it, and
 * it queues the node key so that the GPUNode reports the change. A failed
 * call of a GPUSlice's own is noted for its next decision (which turns it
 * into a status) and returned to the loop, which backs the key off.
 *
 * Modelled durations (device.h, "Time") are slept in real time, or in
 * virtual time recorded as the GPU (and the slice) being busy until the
 * call would have finished; a discovery makes the whole node busy.
 */
#include "agent/agent_internal.h"
#include "util/vec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

/* Counters are read by agent_get_stats from any thread. */
static void count(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static int64_t now_of(const struct agent *a)
{
    return a->cfg.now_ns(a->cfg.clock_ctx);
}

static void pending_add(struct agent *a, unsigned gpu, unsigned start, int64_t done_at,
                        int64_t now)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->n_pending; i++)
        if (a->pending[i].done_at > now)
            a->pending[kept++] = a->pending[i];
    a->n_pending = kept;
    VEC_RESERVE(a->pending, a->cap_pending, a->n_pending + 1);
    a->pending[a->n_pending++] = (struct agent_pending){gpu, start, done_at};
}

/* Accounts for a call's modelled duration; gpu < 0 stands for the node. */
static void spend(struct agent *a, uint64_t took, int gpu, unsigned start)
{
    if (!a->cfg.device->modelled_time || took == 0)
        return;
    if (!a->cfg.virtual_time) {
        clock_sleep_ns((int64_t)took);
        return;
    }
    int64_t now = now_of(a), done = now + (int64_t)took;
    if (gpu < 0) {
        a->node_busy_until = done;
        return;
    }
    a->gpu_busy_until[gpu] = done;
    pending_add(a, (unsigned)gpu, start, done, now);
}

static bool same_slices(const struct device_slices *x, const struct device_slices *y)
{
    return x->n == y->n && memcmp(x->items, y->items, x->n * sizeof x->items[0]) == 0;
}

static void swap_slices(struct agent *a)
{
    struct device_slices *t = a->dev;
    a->dev = a->scratch;
    a->scratch = t;
}

/* Forgets having made slices that are no longer on the device. */
static void prune_made(struct agent *a)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->n_made; i++) {
        const struct agent_place *p = &a->made[i];
        const struct device_slice *s = agent__slice_at(a, p->gpu, p->start);
        if (s && s->profile_id == p->profile_id)
            a->made[kept++] = *p;
    }
    a->n_made = kept;
}

static void remember_made(struct agent *a, const struct device_slice *s)
{
    struct agent_place p = {s->gpu_index, s->placement.start, s->profile_id};
    if (agent__made(a, &p))
        return;
    VEC_RESERVE(a->made, a->cap_made, a->n_made + 1);
    a->made[a->n_made++] = p;
}

/* Reads the slices and the boot id again after a call that changed them;
 * when that fails, or the boot id moved, a discovery is due. */
static void refresh(struct agent *a, uint64_t *took)
{
    char boot[DEVICE_BOOT_ID_MAX];
    uint64_t t = 0;
    int rc = device_list_slices(a->cfg.device, a->scratch, &t, NULL);
    *took += t;
    if (rc == 0 && device_boot_id(a->cfg.device, boot, NULL) == 0) {
        swap_slices(a);
        prune_made(a);
        if (strcmp(boot, a->boot_id) != 0)
            a->need_discovery = true;
    } else {
        a->need_discovery = true;
    }
    agent__enqueue(a, AGENT_KEY_NODE);
}

static int exec_discover(struct agent *a, struct err *e)
{
    struct device *d = a->cfg.device;
    char boot[DEVICE_BOOT_ID_MAX];
    uint64_t t_inv = 0, t_list = 0;
    int rc = device_boot_id(d, boot, e);
    if (rc == 0)
        rc = device_discover(d, a->inv, &t_inv, e);
    if (rc == 0)
        rc = device_list_slices(d, a->scratch, &t_list, e);
    spend(a, t_inv + t_list, -1, 0);
    if (rc < 0) {
        a->have_inventory = false;
        count(&a->stats.device_failures, 1);
        return rc;
    }
    bool changed = !a->have_inventory || strcmp(boot, a->boot_id) != 0 ||
                   !same_slices(a->dev, a->scratch);
    swap_slices(a);
    memcpy(a->boot_id, boot, sizeof a->boot_id);
    a->have_inventory = true;
    a->need_discovery = false;
    a->next_discovery = now_of(a) + a->cfg.recovery_period_ns;
    count(&a->stats.discoveries, 1);
    prune_made(a);
    if (changed) /* a slice vanished or appeared: every GPUSlice looks again */
        agent__enqueue_all(a);
    return 0;
}

/* Notes the outcome of a call made for a GPUSlice (key NULL: an orphan). */
static void note_outcome(struct agent *a, const char *key, bool create, int rc,
                         const struct err *why)
{
    struct agent_note *n = key ? agent__note(a, key, rc < 0) : NULL;
    if (!n)
        return;
    struct agent_failure *f = create ? &n->create : &n->destroy;
    f->code = rc;
    snprintf(f->msg, sizeof f->msg, "%s", rc < 0 ? why->msg : "");
}

static int exec_slice(struct agent *a, const json_t *params, bool create, struct err *e)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *gpu_uuid = json_string_value(json_object_get(params, "gpuUUID"));
    const char *profile = json_string_value(json_object_get(params, "profile"));
    const json_t *start = json_object_get(params, "start");
    if (!gpu_uuid || !profile || !json_is_integer(start) || json_integer_value(start) < 0 ||
        json_integer_value(start) >= MIG_MAX_MEMORY_SLICES)
        return err_set(e, -EINVAL, "agent: a %s needs gpuUUID, profile and start",
                       create ? "create" : "destroy");
    struct device_slice_ref ref = {.gpu_uuid = gpu_uuid, .profile = profile,
                                   .start = (unsigned)json_integer_value(start)};
    const struct device_gpu *g = agent__gpu(a, gpu_uuid);
    struct device_slice made;
    struct err why;
    err_clear(&why);
    uint64_t took = 0;
    int rc = create ? device_create_slice(a->cfg.device, &ref, &made, &took, &why)
                    : device_destroy_slice(a->cfg.device, &ref, &took, &why);
    if (!create && rc == -ENOENT)
        rc = 0; /* not there: what a destroy wants */
    refresh(a, &took);
    spend(a, took, g ? (int)g->index : -1, ref.start);
    note_outcome(a, key, create, rc, &why);
    if (rc < 0) {
        count(&a->stats.device_failures, 1);
        if (e)
            *e = why;
        return rc;
    }
    if (create) {
        remember_made(a, &made);
        count(&a->stats.creates, 1);
        count(&a->stats.recreated, json_is_true(json_object_get(params, "recreate")));
    } else {
        count(&a->stats.destroys, 1);
        count(&a->stats.orphans_destroyed, !key);
    }
    return 0;
}

void agent__cdi_path(const struct agent *a, const char *gpu_uuid, unsigned start, char *buf,
                     size_t size)
{
    snprintf(buf, size, "%s/gpuslice-mig-%s-%u.json", a->cdi_dir, gpu_uuid, start);
}

/* Writes the spec next to its place and renames it there, so a runtime
 * never reads half a file. */
static int exec_write_cdi(struct agent *a, const json_t *params, struct err *e)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *path = json_string_value(json_object_get(params, "path"));
    const char *uuid = json_string_value(json_object_get(params, "uuid"));
    const json_t *spec = json_object_get(params, "spec");
    if (!key || !path || !uuid || !json_is_object(spec))
        return err_set(e, -EINVAL, "agent: a CDI write needs key, path, uuid and spec");
    char tmp[AGENT_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = f ? 0 : -errno;
    if (f && (json_dumpf(spec, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF))
        rc = -EIO;
    if (f && fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    struct err why;
    err_clear(&why);
    if (rc < 0) {
        unlink(tmp);
        err_set(&why, rc, "agent: cannot write CDI spec %s: %s", path, strerror(-rc));
    }
    struct agent_note *n = agent__note(a, key, true);
    if (n) {
        snprintf(n->cdi_uuid, sizeof n->cdi_uuid, "%s", rc == 0 ? uuid : "");
        n->hand_over.code = rc;
        snprintf(n->hand_over.msg, sizeof n->hand_over.msg, "%s", why.msg);
    }
    if (rc < 0 && e)
        *e = why;
    return rc;
}

static int exec_remove_cdi(struct agent *a, const json_t *params, struct err *e)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *path = json_string_value(json_object_get(params, "path"));
    if (!path)
        return err_set(e, -EINVAL, "agent: a CDI removal needs a path");
    if (unlink(path) < 0 && errno != ENOENT)
        return err_set(e, -errno, "agent: cannot remove CDI spec %s: %s", path, strerror(errno));
    struct agent_note *n = key ? agent__note(a, key, false) : NULL;
    if (n)
        n->cdi_uuid[0] = '\0';
    return 0;
}

int agent_execute(void *self, const struct action *act, json_t **result, struct err *e)
{
    (void)result;
    struct agent *a = self;
    if (act->kind != ACTION_EXTERNAL)
        return err_set(e, -EINVAL, "agent: asked to execute a store action");
    switch ((enum agent_op)act->op) {
    case AGENT_OP_DISCOVER:
        return exec_discover(a, e);
    case AGENT_OP_CREATE:
        return exec_slice(a, act->body, true, e);
    case AGENT_OP_DESTROY:
        return exec_slice(a, act->body, false, e);
    case AGENT_OP_WRITE_CDI:
        return exec_write_cdi(a, act->body, e);
    case AGENT_OP_REMOVE_CDI:
        return exec_remove_cdi(a, act->body, e);
    }
    return err_set(e, -EINVAL, "agent: unknown external operation %d", act->op);
}
