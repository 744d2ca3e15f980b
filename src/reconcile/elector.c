/*
 * The election thread (see elector.h): read the Lease, step, write, tell.
 */
#include "reconcile/elector.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/resource.h"
#include "reconcile/leader.h"
#include "util/alloc.h"
#include "util/clock.h"

struct elector {
    struct elector_config cfg;
    const struct api_resource *leases;
    char ns[64], name[256];
    char identity[LEADER_IDENTITY_MAX];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool stopping;
    struct leader leader;                  /* under lock */
    char holder[LEADER_IDENTITY_MAX];      /* the other holder last logged */
};

bool elector_leading(struct elector *el)
{
    pthread_mutex_lock(&el->lock);
    bool leading = leader_is_leading(&el->leader, clock_monotonic_ns());
    pthread_mutex_unlock(&el->lock);
    return leading;
}

/* Says once per holder who holds the lease while this process waits. */
static void note_holder(struct elector *el, const json_t *lease)
{
    json_t *spec = json_object_get(lease, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    if (!holder || !*holder || strcmp(holder, el->identity) == 0 ||
        strcmp(holder, el->holder) == 0)
        return;
    snprintf(el->holder, sizeof el->holder, "%s", holder);
    log_info(el->cfg.log, "%s: %s waits: the Lease %s/%s is held by %s", el->cfg.component,
             el->identity, el->ns, el->name, holder);
}

/* One election round: read the Lease, decide, write. */
static void elect_once(struct elector *el)
{
    json_t *lease = NULL, *write = NULL, *stored = NULL;
    if (store_get(el->cfg.store, el->leases, el->ns, el->name, &lease, NULL) < 0)
        lease = NULL;
    pthread_mutex_lock(&el->lock);
    bool was = leader_is_leading(&el->leader, clock_monotonic_ns());
    leader_step(&el->leader, lease, el->ns, el->name, clock_monotonic_ns(), clock_realtime_ns(),
                &write, NULL);
    pthread_mutex_unlock(&el->lock);
    int rc = 0;
    if (write)
        rc = lease ? store_update(el->cfg.store, el->leases, el->ns, write,
                                  &(struct store_write_opts){0}, &stored, NULL)
                   : store_create(el->cfg.store, el->leases, el->ns, write,
                                  &(struct store_write_opts){0}, &stored, NULL);
    pthread_mutex_lock(&el->lock);
    if (write)
        leader_written(&el->leader, rc, stored, clock_monotonic_ns());
    bool now = leader_is_leading(&el->leader, clock_monotonic_ns());
    pthread_mutex_unlock(&el->lock);
    if (!now)
        note_holder(el, stored ? stored : lease);
    if (now != was) {
        log_info(el->cfg.log, "%s: %s %s", el->cfg.component, el->identity,
                 now ? "is the leader" : "stopped leading");
        el->holder[0] = '\0';
        if (el->cfg.on_change)
            el->cfg.on_change(el->cfg.ctx, now);
    }
    json_decref(lease);
    json_decref(write);
    json_decref(stored);
}

static void *elector_thread(void *arg)
{
    struct elector *el = arg;
    pthread_mutex_lock(&el->lock);
    while (!el->stopping) {
        pthread_mutex_unlock(&el->lock);
        elect_once(el);
        pthread_mutex_lock(&el->lock);
        struct timespec until = clock_deadline(CLOCK_MONOTONIC, el->leader.cfg.retry_ns);
        if (!el->stopping)
            pthread_cond_timedwait(&el->wake, &el->lock, &until);
    }
    pthread_mutex_unlock(&el->lock);
    return NULL;
}

int elector_start(const struct elector_config *cfg, struct elector **out, struct err *e)
{
    const struct api_resource *leases =
        api_registry_find(store_registry(cfg->store), "coordination.k8s.io", "v1", "leases");
    if (!leases)
        return err_set(e, -ENOENT, "%s: the store does not serve leases", cfg->component);
    if (cfg->identity && strlen(cfg->identity) >= LEADER_IDENTITY_MAX)
        return err_set(e, -EINVAL, "%s: identity longer than %d bytes", cfg->component,
                       LEADER_IDENTITY_MAX - 1);
    struct elector *el = alloc_calloc(1, sizeof *el);
    el->cfg = *cfg;
    el->leases = leases;
    snprintf(el->ns, sizeof el->ns, "%s", cfg->lease_namespace);
    snprintf(el->name, sizeof el->name, "%s", cfg->lease_name);
    if (cfg->identity) {
        snprintf(el->identity, sizeof el->identity, "%s", cfg->identity);
    } else {
        char host[64] = "";
        gethostname(host, sizeof host - 1);
        snprintf(el->identity, sizeof el->identity, "%s-%d", host[0] ? host : "gpuslice",
                 (int)getpid());
    }
    int64_t lease_ns = cfg->lease_ns ? cfg->lease_ns : ELECTOR_LEASE_DEFAULT_NS;
    struct leader_config lc = {
        .identity = el->identity,
        .lease_ns = lease_ns,
        .renew_deadline_ns = cfg->renew_deadline_ns ? cfg->renew_deadline_ns : lease_ns * 2 / 3,
        .retry_ns = cfg->retry_ns ? cfg->retry_ns : lease_ns * 2 / 15,
    };
    int rc = leader_init(&el->leader, &lc, e);
    if (rc < 0) {
        free(el);
        return rc;
    }
    pthread_mutex_init(&el->lock, NULL);
    clock_cond_init(&el->wake);
    rc = pthread_create(&el->thread, NULL, elector_thread, el);
    if (rc != 0) {
        pthread_cond_destroy(&el->wake);
        pthread_mutex_destroy(&el->lock);
        free(el);
        return err_set(e, -rc, "%s: cannot start the election thread", cfg->component);
    }
    *out = el;
    return 0;
}

void elector_stop(struct elector *el)
{
    if (!el)
        return;
    pthread_mutex_lock(&el->lock);
    el->stopping = true;
    pthread_cond_signal(&el->wake);
    pthread_mutex_unlock(&el->lock);
    pthread_join(el->thread, NULL);
    pthread_cond_destroy(&el->wake);
    pthread_mutex_destroy(&el->lock);
    free(el);
}
