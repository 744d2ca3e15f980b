/*
 * The agent's executor: the one place where its decisions touch the device
 * and the file system (the EXTERNAL actions of agent.h), and where what the
 * device answered becomes the agent's memory for the next decision.
 *
 * After every call that can change the slices it reads them (and the boot
 * id) again, so the next decision sees the device as the call left it, and
 * it queues the key, every other GPUSlice at the same placement (their
 * decisions waited for the call) and the node key, so that the statuses
 * and the GPUNode report the change. A failed call is noted for the key's next decision
 * (which turns it into a status, or retries it after a backoff).
 *
 * A create or destroy is an agent_call: made here, or handed to the GPU's
 * worker in real time (agent_workers.c); agent__call_finish takes its
 * outcome in either case. Modelled durations (device.h, "Time") are slept
 * in real time, or in virtual time recorded as the slice being busy until
 * the call would have finished (the device's duration includes waiting for
 * its GPU); a discovery makes the whole node busy.
 */
#include "agent/agent_internal.h"
#include "util/alloc.h"
#include "util/vec.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/atomicfile.h"
#include "util/backoff.h"
#include "util/clock.h"

/* Counters are read by agent_get_stats from any thread. */
void agent__count(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static int64_t now_of(const struct agent *a)
{
    return a->cfg.now_ns(a->cfg.clock_ctx);
}

/* Stamps a read of the slices about to start: of two reads, the one that
 * started later saw every call that had ended before the other began. */
static uint64_t next_read(struct agent *a)
{
    return __atomic_add_fetch(&a->read_seq, 1, __ATOMIC_SEQ_CST);
}

void agent__pending_set(struct agent *a, unsigned gpu, unsigned start, int64_t done_at,
                        int64_t now)
{
    assert(mutex_held(&a->lock));
    agent__node_inputs_changed(a);
    size_t kept = 0;
    for (size_t i = 0; i < a->n_pending; i++) {
        struct agent_pending *p = &a->pending[i];
        if (p->gpu == gpu && p->start == start)
            p->done_at = done_at;
        if (p->done_at > now)
            a->pending[kept++] = *p;
    }
    a->n_pending = kept;
    if (done_at <= now || agent__pending_until(a, gpu, start, now))
        return;
    VEC_RESERVE(a->pending, a->cap_pending, a->n_pending + 1);
    a->pending[a->n_pending++] = (struct agent_pending){gpu, start, done_at};
}

/* A discovery's modelled duration: slept in real time, the node busy in
 * virtual time. */
static void spend_node(struct agent *a, uint64_t took)
{
    if (!a->cfg.device->modelled_time || took == 0)
        return;
    if (!a->cfg.virtual_time) {
        clock_sleep_ns((int64_t)took);
        return;
    }
    mutex_lock(&a->lock);
    a->node_busy_until = now_of(a) + (int64_t)took;
    mutex_unlock(&a->lock);
}

static bool same_slices(const struct device_slices *x, const struct device_slices *y)
{
    return x->n == y->n && memcmp(x->items, y->items, x->n * sizeof x->items[0]) == 0;
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
    bool pruned = kept != a->n_made;
    a->n_made = kept;
    if (pruned) {
        agent__node_inputs_changed(a);
        agent__ledger_pruned(a);
    }
}

/* Takes the slices read at seq, after the device's count was `changes`,
 * as the device's, unless a later read is already there. */
struct device_inventory *agent__inventory_empty(void)
{
    return alloc_calloc(1, offsetof(struct device_inventory, gpus));
}

struct device_slices *agent__slices_empty(void)
{
    return alloc_calloc(1, offsetof(struct device_slices, items));
}

/* inv as the agent keeps it: its GPUs only. */
static struct device_inventory *inventory_kept(const struct device_inventory *inv)
{
    size_t size = offsetof(struct device_inventory, gpus) + inv->n_gpus * sizeof inv->gpus[0];
    struct device_inventory *kept = alloc_malloc(size);
    memcpy(kept, inv, size);
    return kept;
}

/* Room in a->dev for n slices, grown by half again so that a node filling
 * up reallocates it a few times, not at each slice. */
static void slices_reserve(struct agent *a, unsigned n)
{
    if (n <= a->dev_cap)
        return;
    unsigned cap = n + n / 2 < 8 ? 8 : n + n / 2;
    if (cap > DEVICE_MAX_SLICES)
        cap = DEVICE_MAX_SLICES;
    a->dev = alloc_realloc(a->dev, offsetof(struct device_slices, items) +
                                       cap * sizeof a->dev->items[0]);
    a->dev_cap = cap;
}

static void publish(struct agent *a, const struct device_slices *read, uint64_t seq,
                    struct agent_changes changes)
{
    if (seq <= a->dev_seq)
        return;
    slices_reserve(a, read->n);
    a->dev->n = read->n;
    memcpy(a->dev->items, read->items, read->n * sizeof read->items[0]);
    agent__node_inputs_changed(a);
    a->dev_seq = seq;
    a->dev_changes = changes;
    prune_made(a);
}

static struct agent_changes changes_now(struct agent *a)
{
    struct agent_changes c = {0};
    c.known = device_changes(a->cfg.device, &c.count, NULL) == 0;
    return c;
}

/* Whether a discovery now would report what the agent has: the device
 * counts its changes and has made none since the slices in dev were read,
 * and its boot id (read after the count) is the agent's. The inventory
 * and the boot id change only with a reboot, which the count counts, but
 * in real time they may be older than dev: a device call on a worker
 * publishes a later list (and count) while a discovery that read the boot
 * id before a reboot still runs, and that discovery then writes the old
 * boot id and modes; the boot id, cheap to read, says so. Most recovery
 * passes of an emulated node, which ten thousand agents of a simulation
 * make every period. A real GPU has no count: it is always discovered
 * again. */
static bool discovery_unchanged(struct agent *a, struct agent_changes now)
{
    char boot[DEVICE_BOOT_ID_MAX];
    mutex_lock(&a->lock);
    bool same = now.known && a->have_inventory && !a->need_discovery && a->dev_changes.known &&
                a->dev_changes.count == now.count;
    mutex_unlock(&a->lock);
    if (!same || device_boot_id(a->cfg.device, boot, NULL) < 0)
        return false;
    mutex_lock(&a->lock);
    same = strcmp(boot, a->boot_id) == 0;
    mutex_unlock(&a->lock);
    return same;
}

static void remember_made(struct agent *a, const struct agent_place *p)
{
    if (agent__made(a, p))
        return;
    VEC_RESERVE(a->made, a->cap_made, a->n_made + 1);
    a->made[a->n_made++] = *p;
}

/* A discovery that discovery_unchanged answered: what a full one would do
 * when it found nothing new, the modelled time (the last discovery's, which
 * an unchanged node repeats) and the counts included, without the reads. */
static int discovery_skipped(struct agent *a, uint64_t seq)
{
    spend_node(a, a->discover_took);
    agent__metrics_device(a, "discover", 0, a->discover_took);
    mutex_lock(&a->lock);
    if (seq > a->dev_seq) {
        a->dev_seq = seq;
        prune_made(a);
    }
    a->next_discovery = now_of(a) + a->cfg.recovery_period_ns;
    mutex_unlock(&a->lock);
    agent__count(&a->stats.discoveries, 1);
    agent__count(&a->stats.discoveries_unchanged, 1);
    return 0;
}

/* The buffers a discovery reads into are allocated for it, not kept: at
 * some 66 KB they were most of an idle agent's memory, and a simulation
 * runs ten thousand agents. */
static int exec_discover(struct agent *a, struct err *e)
{
    struct device *d = a->cfg.device;
    char boot[DEVICE_BOOT_ID_MAX];
    uint64_t t_inv = 0, t_list = 0, seq = next_read(a);
    struct agent_changes changes = changes_now(a);
    if (discovery_unchanged(a, changes))
        return discovery_skipped(a, seq);
    struct device_inventory *inv = alloc_malloc(sizeof *inv);
    struct device_slices *list = alloc_malloc(sizeof *list);
    int rc = device_boot_id(d, boot, e);
    if (rc == 0)
        rc = device_discover(d, inv, &t_inv, e);
    if (rc == 0)
        rc = device_list_slices(d, list, &t_list, e);
    spend_node(a, t_inv + t_list);
    agent__metrics_device(a, "discover", rc, t_inv + t_list);
    mutex_lock(&a->lock);
    if (rc < 0) {
        a->have_inventory = false;
        mutex_unlock(&a->lock);
        free(inv);
        free(list);
        agent__count(&a->stats.device_failures, 1);
        return rc;
    }
    bool changed = !a->have_inventory || strcmp(boot, a->boot_id) != 0 ||
                   !same_slices(a->dev, list);
    free(a->inv);
    a->inv = inventory_kept(inv);
    free(inv);
    a->inv_gen++;
    agent__node_inputs_changed(a); /* and the boot id, below */
    a->discover_took = t_inv + t_list;
    publish(a, list, seq, changes);
    free(list);
    memcpy(a->boot_id, boot, sizeof a->boot_id);
    a->have_inventory = true;
    a->need_discovery = false;
    a->next_discovery = now_of(a) + a->cfg.recovery_period_ns;
    mutex_unlock(&a->lock);
    agent__count(&a->stats.discoveries, 1);
    if (changed) /* a slice vanished or appeared: every GPUSlice looks again */
        agent__enqueue_all(a);
    return 0;
}

void agent__call_run(struct agent *a, struct agent_call *c, struct device_slices *after)
{
    struct device_slice_ref ref = {.gpu_uuid = c->gpu_uuid, .profile = c->profile,
                                   .start = c->start};
    err_clear(&c->why);
    c->took = 0;
    c->rc = c->create ? device_create_slice(a->cfg.device, &ref, &c->made, &c->took, &c->why)
                      : device_destroy_slice(a->cfg.device, &ref, &c->took, &c->why);
    if (!c->create && c->rc == -ENOENT)
        c->rc = 0; /* not there: what a destroy wants */
    agent__metrics_device(a, c->create ? "create" : "destroy", c->rc, c->took);
    uint64_t t = 0;
    c->seq = next_read(a);
    c->changes = changes_now(a);
    c->listed = device_list_slices(a->cfg.device, after, &t, NULL) == 0 &&
                device_boot_id(a->cfg.device, c->boot_id, NULL) == 0;
    c->took += t;
}

/* The call's outcome for its key's next decision, or its orphan's; a
 * failure sets when the call may be made again. */
static void note_outcome(struct agent *a, const struct agent_call *c, int64_t done_at)
{
    struct agent_note *n = c->key[0] ? agent__note(a, c->key, c->rc < 0) : NULL;
    unsigned *failures = n ? &n->failures : NULL;
    int64_t *retry_at = n ? &n->retry_at : NULL;
    if (n) {
        agent__failure_set(c->create ? &n->create : &n->destroy, c->rc,
                           c->rc < 0 ? c->why.msg : NULL);
    }
    for (size_t i = 0; !c->key[0] && i < a->n_orphans; i++)
        if (a->orphans[i].at.gpu == c->gpu && a->orphans[i].at.start == c->start) {
            failures = &a->orphans[i].failures;
            retry_at = &a->orphans[i].retry_at;
        }
    if (c->rc == 0 || !failures) {
        if (failures)
            *failures = 0, *retry_at = 0;
        return;
    }
    const struct backoff b = AGENT_RETRY_BACKOFF;
    int64_t delay = backoff_delay(&b, ++*failures);
    *retry_at = done_at + delay;
    log_warning(a->cfg.log, "agent %s: %s%s: %s; tried again in %lld ms", a->node,
                c->key[0] ? "a device call for " : "destroying an orphan",
                c->key[0] ? c->key : "", c->why.msg, (long long)(delay / NS_PER_MS));
}

void agent__call_finish(struct agent *a, const struct agent_call *c,
                        const struct device_slices *after, int64_t done_at)
{
    assert(mutex_held(&a->lock));
    agent__node_inputs_changed(a); /* made, the orphans' failures */
    if (c->listed)
        publish(a, after, c->seq, c->changes);
    if (!c->listed || strcmp(c->boot_id, a->boot_id) != 0)
        a->need_discovery = true;
    int64_t now = now_of(a);
    agent__pending_set(a, c->gpu, c->start, done_at, now);
    note_outcome(a, c, done_at > now ? done_at : now);
    if (c->create) {
        /* A call that timed out may have made the slice all the same. */
        struct agent_place p = {c->gpu, c->start, c->profile_id};
        if (c->rc == 0 || c->rc == -ETIMEDOUT)
            remember_made(a, &p);
        agent__ledger_done(a, &p);
    }
    if (c->rc < 0) {
        agent__count(&a->stats.device_failures, 1);
    } else if (c->create) {
        agent__count(&a->stats.creates, 1);
        agent__count(&a->stats.recreated, c->recreate);
    } else {
        agent__count(&a->stats.destroys, 1);
        agent__count(&a->stats.orphans_destroyed, !c->key[0]);
    }
    if (a->need_discovery)
        agent__enqueue(a, AGENT_KEY_NODE);
    else
        agent__report_later(a);
    /* Every decision about the slice waited for this call (agent_slice.c),
     * not only its own key's: a GPUSlice placed there meanwhile (a warm
     * slice's taker that came while it was destroyed) decides again now,
     * or never would. */
    if (c->key[0])
        agent__enqueue(a, c->key);
    agent__enqueue_at(a, c->gpu, c->start);
}

/* Fills c from an action's params; -EINVAL when they do not name a slice. */
static int call_of(const json_t *params, bool create, struct agent_call *c, struct err *e)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *gpu_uuid = json_string_value(json_object_get(params, "gpuUUID"));
    const char *profile = json_string_value(json_object_get(params, "profile"));
    const json_t *start = json_object_get(params, "start");
    memset(c, 0, sizeof *c);
    if (!gpu_uuid || !profile || !json_is_integer(start) || json_integer_value(start) < 0 ||
        json_integer_value(start) >= MIG_MAX_MEMORY_SLICES || strlen(gpu_uuid) >= DEVICE_UUID_MAX ||
        strlen(profile) >= DEVICE_PROFILE_NAME_MAX || (key && strlen(key) >= WORKQUEUE_KEY_MAX))
        return err_set(e, -EINVAL, "agent: a %s needs gpuUUID, profile and start",
                       create ? "create" : "destroy");
    c->create = create;
    c->recreate = json_is_true(json_object_get(params, "recreate"));
    c->start = (unsigned)json_integer_value(start);
    snprintf(c->key, sizeof c->key, "%s", key ? key : "");
    snprintf(c->gpu_uuid, sizeof c->gpu_uuid, "%s", gpu_uuid);
    snprintf(c->profile, sizeof c->profile, "%s", profile);
    return 0;
}

/* A create or destroy: handed to the GPU's worker when they run, else made
 * here (virtual time: it ends at now + its duration; real time: slept). A
 * device failure is noted, not returned (agent.h). */
static int exec_slice(struct agent *a, const json_t *params, bool create, struct err *e)
{
    struct agent_call c;
    int rc = call_of(params, create, &c, e);
    if (rc < 0)
        return rc;
    mutex_lock(&a->lock);
    const struct device_gpu *g = agent__gpu(a, c.gpu_uuid);
    if (!g) {
        mutex_unlock(&a->lock);
        return err_set(e, -ENODEV, "agent: no GPU %s on node %s", c.gpu_uuid, a->node);
    }
    c.gpu = g->index;
    const struct mig_profile *p = g->model ? catalog_find_profile(g->model, c.profile) : NULL;
    c.profile_id = p ? p->nvml_id : UINT32_MAX;
    if (create)
        agent__ledger_intend(a, &(struct agent_place){c.gpu, c.start, c.profile_id});
    int64_t now = now_of(a);
    agent__pending_set(a, c.gpu, c.start, AGENT_RUNNING, now);
    bool handed = a->workers && agent__workers_submit(a, &c) == 0;
    mutex_unlock(&a->lock);
    if (handed)
        return 0;
    /* The list after the call (32 KB) lives on the stack: from the heap, a
     * request that large had malloc consolidate its fast bins at every
     * device call, and its free give the memory back to the top chunk
     * (most of exec_slice's cost in a large simulation). */
    struct device_slices list;
    agent__call_run(a, &c, &list);
    bool modelled = a->cfg.device->modelled_time;
    if (modelled && !a->cfg.virtual_time)
        clock_sleep_ns((int64_t)c.took);
    mutex_lock(&a->lock);
    agent__call_finish(a, &c, &list, modelled && a->cfg.virtual_time ? now + (int64_t)c.took : 0);
    mutex_unlock(&a->lock);
    return 0;
}

void agent__cdi_path(const struct agent *a, const char *gpu_uuid, unsigned start, char *buf,
                     size_t size)
{
    snprintf(buf, size, "%s/gpuslice-mig-%s-%u.json", a->cfg.cdi_dir, gpu_uuid, start);
}

/* Writes the spec beside its place and renames it there
 * (util/atomicfile.h), so a runtime never reads half a file and no link
 * planted in the folder is written through. */
static int exec_write_cdi(struct agent *a, const json_t *params, struct err *e)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *path = json_string_value(json_object_get(params, "path"));
    const char *uuid = json_string_value(json_object_get(params, "uuid"));
    const json_t *spec = json_object_get(params, "spec");
    if (!key || !path || !uuid || !json_is_object(spec))
        return err_set(e, -EINVAL, "agent: a CDI write needs key, path, uuid and spec");
    struct err why;
    err_clear(&why);
    char *text = json_dumps(spec, JSON_INDENT(2));
    int rc = text ? atomicfile_write(path, text, strlen(text), 0644, &why)
                  : err_set(&why, -ENOMEM, "%s: out of memory", path);
    free(text);
    if (rc < 0)
        err_prefix(&why, rc, "agent: cannot write CDI spec: ");
    mutex_lock(&a->lock);
    struct agent_note *n = agent__note(a, key, true);
    if (n) {
        snprintf(n->cdi_uuid, sizeof n->cdi_uuid, "%s", rc == 0 ? uuid : "");
        agent__failure_set(&n->hand_over, rc, why.msg);
    }
    mutex_unlock(&a->lock);
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
    mutex_lock(&a->lock);
    struct agent_note *n = key ? agent__note(a, key, false) : NULL;
    if (n)
        n->cdi_uuid[0] = '\0';
    mutex_unlock(&a->lock);
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
    case AGENT_OP_MPS_ENSURE:
        return agent__exec_mps(a, act->body, true, e);
    case AGENT_OP_MPS_STOP:
        return agent__exec_mps(a, act->body, false, e);
    }
    return err_set(e, -EINVAL, "agent: unknown external operation %d", act->op);
}
