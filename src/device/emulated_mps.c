/*
 * The emulated backend's MPS control daemons (emulated.h, "MPS, modelled"):
 * one per GPU, in the node's state under its lock, with the accounting a
 * real server enforces on its clients' pinned memory, so that the agent's
 * lifecycle and a client over its limit can be tested without a GPU.
 */
#include "device/emulated_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* The GPU with this UUID, or NULL with e's -ENODEV. Lock held. */
static struct emu_gpu *gpu_of(struct emulated *em, const char *uuid, struct err *e)
{
    for (unsigned i = 0; i < em->cfg.n_gpus; i++)
        if (strcmp(em->gpus[i].uuid, uuid) == 0)
            return &em->gpus[i];
    device_nvml_fail(e, DEVICE_NVML_GPU_NOT_FOUND, "MPS: no GPU %s", uuid);
    return NULL;
}

static void drop_clients(struct emu_mps *m)
{
    if (m->clients)
        memset(m->clients, 0, sizeof *m->clients);
}

void emulated__mps_free(struct emulated *em)
{
    for (unsigned i = 0; i < em->cfg.n_gpus; i++)
        free(em->gpus[i].mps.clients);
}

int emulated__mps_alive(void *impl, const char *gpu_uuid, bool *alive, struct err *e)
{
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    struct emu_gpu *g = gpu_of(em, gpu_uuid, e);
    if (g)
        *alive = g->mps.running;
    pthread_mutex_unlock(&em->lock);
    return g ? 0 : -ENODEV;
}

int emulated__mps_start(void *impl, const char *gpu_uuid, struct err *e)
{
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    struct emu_gpu *g = gpu_of(em, gpu_uuid, e);
    int rc = g ? 0 : -ENODEV;
    if (g && g->cfg.mig_current == DEVICE_MIG_ENABLED)
        rc = device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED, "MPS on GPU %s: MIG is enabled",
                              gpu_uuid);
    if (rc == 0 && !g->mps.running) {
        if (!g->mps.clients)
            g->mps.clients = alloc_calloc(1, sizeof *g->mps.clients);
        g->mps.running = true;
        g->mps.starts++;
        drop_clients(&g->mps);
    }
    pthread_mutex_unlock(&em->lock);
    return rc;
}

int emulated__mps_stop(void *impl, const char *gpu_uuid, struct err *e)
{
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    struct emu_gpu *g = gpu_of(em, gpu_uuid, e);
    if (g) {
        g->mps.running = false;
        drop_clients(&g->mps);
    }
    pthread_mutex_unlock(&em->lock);
    return g ? 0 : -ENODEV;
}

/* The node and its GPU gpu_uuid whose daemon runs, locked; NULL (unlocked,
 * *rc and e set) otherwise. */
static struct emu_gpu *running_gpu(struct device *d, const char *gpu_uuid, struct emulated **em,
                                   int *rc, struct err *e)
{
    *em = emulated__of(d, e);
    if (!*em || !gpu_uuid) {
        *rc = err_set(e, -EINVAL, "emulated: no emulated device or GPU");
        return NULL;
    }
    pthread_mutex_lock(&(*em)->lock);
    struct emu_gpu *g = gpu_of(*em, gpu_uuid, e);
    *rc = g ? 0 : -ENODEV;
    if (g && !g->mps.running)
        *rc = err_set(e, -ENOENT, "emulated: no MPS daemon runs on GPU %s", gpu_uuid);
    if (*rc == 0)
        return g;
    pthread_mutex_unlock(&(*em)->lock);
    return NULL;
}

int emulated_mps_kill(struct device *d, const char *gpu_uuid, struct err *e)
{
    struct emulated *em;
    int rc;
    struct emu_gpu *g = running_gpu(d, gpu_uuid, &em, &rc, e);
    if (!g)
        return rc;
    g->mps.running = false;
    drop_clients(&g->mps);
    pthread_mutex_unlock(&em->lock);
    return 0;
}

unsigned emulated_mps_starts(struct device *d, const char *gpu_uuid)
{
    struct emulated *em = emulated__of(d, NULL);
    if (!em || !gpu_uuid)
        return 0;
    pthread_mutex_lock(&em->lock);
    struct emu_gpu *g = gpu_of(em, gpu_uuid, NULL);
    unsigned n = g ? g->mps.starts : 0;
    pthread_mutex_unlock(&em->lock);
    return n;
}

/* A handle: the daemon's run (its start count) above, the slot below. */
static uint64_t client_handle(const struct emu_mps *m, unsigned slot)
{
    return (uint64_t)m->starts << 32 | slot;
}

int emulated_mps_connect(struct device *d, const char *gpu_uuid, uint64_t limit_mib,
                         uint64_t *client, struct err *e)
{
    struct emulated *em;
    int rc;
    if (limit_mib == 0 || !client)
        return err_set(e, -EINVAL, "emulated: an MPS client needs a limit and a place for it");
    struct emu_gpu *g = running_gpu(d, gpu_uuid, &em, &rc, e);
    if (!g)
        return rc;
    uint64_t sum = limit_mib, room = g->cfg.memory_mib > em->cfg.mps_overhead_mib
                                         ? g->cfg.memory_mib - em->cfg.mps_overhead_mib : 0;
    unsigned free_slot = EMULATED_MPS_CLIENTS;
    for (unsigned i = 0; i < EMULATED_MPS_CLIENTS; i++) {
        sum += g->mps.clients->limit_mib[i];
        if (!g->mps.clients->limit_mib[i] && free_slot == EMULATED_MPS_CLIENTS)
            free_slot = i;
    }
    if (free_slot == EMULATED_MPS_CLIENTS)
        rc = err_set(e, -E2BIG, "emulated: the MPS daemon of GPU %s has %d clients",
                     gpu_uuid, EMULATED_MPS_CLIENTS);
    else if (sum > room)
        rc = err_set(e, -ENOSPC, "emulated: GPU %s: the MPS clients' limits would come to %llu "
                     "MiB, over the %llu MiB its server leaves", gpu_uuid,
                     (unsigned long long)sum, (unsigned long long)room);
    if (rc == 0) {
        g->mps.clients->limit_mib[free_slot] = limit_mib;
        *client = client_handle(&g->mps, free_slot);
    }
    pthread_mutex_unlock(&em->lock);
    return rc;
}

/* The slot of a connected client, or EMULATED_MPS_CLIENTS. Lock held. */
static unsigned client_slot(const struct emu_mps *m, uint64_t client)
{
    unsigned slot = (unsigned)(client & 0xffffffffu);
    if (slot >= EMULATED_MPS_CLIENTS || (unsigned)(client >> 32) != m->starts ||
        !m->clients->limit_mib[slot])
        return EMULATED_MPS_CLIENTS;
    return slot;
}

bool emulated_mps_connected(struct device *d, const char *gpu_uuid, uint64_t client)
{
    struct emulated *em;
    int rc;
    struct emu_gpu *g = running_gpu(d, gpu_uuid, &em, &rc, NULL);
    if (!g)
        return false;
    bool connected = client_slot(&g->mps, client) < EMULATED_MPS_CLIENTS;
    pthread_mutex_unlock(&em->lock);
    return connected;
}

/* A connected client pins mib more, or (release) ends. */
static int client_change(struct device *d, const char *gpu_uuid, uint64_t client, uint64_t mib,
                         bool release, struct err *e)
{
    struct emulated *em;
    int rc;
    struct emu_gpu *g = running_gpu(d, gpu_uuid, &em, &rc, e);
    if (!g)
        return rc;
    struct emu_mps *m = &g->mps;
    unsigned slot = client_slot(m, client);
    uint64_t want = slot < EMULATED_MPS_CLIENTS ? m->clients->pinned_mib[slot] + mib : 0;
    if (slot == EMULATED_MPS_CLIENTS)
        rc = err_set(e, -ENOENT, "emulated: GPU %s has no MPS client %u of its daemon's run %u",
                     gpu_uuid, (unsigned)(client & 0xffffffffu), (unsigned)(client >> 32));
    else if (release)
        m->clients->limit_mib[slot] = m->clients->pinned_mib[slot] = 0;
    else if (want > m->clients->limit_mib[slot])
        rc = err_set(e, -ENOMEM, "emulated: MPS client %u of GPU %s would pin %llu MiB, over "
                     "its limit of %llu MiB", slot, gpu_uuid, (unsigned long long)want,
                     (unsigned long long)m->clients->limit_mib[slot]);
    else
        m->clients->pinned_mib[slot] = want;
    pthread_mutex_unlock(&em->lock);
    return rc;
}

int emulated_mps_pin(struct device *d, const char *gpu_uuid, uint64_t client, uint64_t mib,
                     struct err *e)
{
    return client_change(d, gpu_uuid, client, mib, false, e);
}

int emulated_mps_disconnect(struct device *d, const char *gpu_uuid, uint64_t client,
                            struct err *e)
{
    return client_change(d, gpu_uuid, client, 0, true, e);
}
