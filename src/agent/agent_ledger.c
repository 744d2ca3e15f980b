/*
 * The agent's ledger: which slices on the node gpuslice made, kept in a
 * file on the node (agent_config.ledger_path) so that it outlives both the
 * agent and the API server's store.
 *
 * Why. The device cannot label a slice, and the GPUNode's `managed` marks
 * (agent_recovery.c) live in the API server: an API server that restarts
 * with an empty store forgets them, and a slice made by an agent process
 * that is gone then looks like an admin's and is kept for good (issue 19's
 * kill harness found six such slices after one restart). With the ledger a
 * restarted agent knows its own slices whatever the store says, and the
 * orphan rule destroys those no GPUSlice holds.
 *
 * When. A create is written down before the device is asked (an intent),
 * so a process killed during the call, between GI and CI, or before it
 * could note the outcome, leaves the place in the file; at the call's end
 * the intent becomes a slice made (also after a timeout: the call may have
 * made it) or is dropped with the next listing that does not show it. The
 * file holds made ∪ intents and is replaced atomically after each change,
 * a slice made that a listing no longer shows included: a place left in
 * the file would make a restarted agent destroy, as its own orphan, a
 * slice someone else made there since.
 * Places are what the agent's `made` holds: GPU index, start, profile id.
 *
 *   {"made": [{"gpu": 0, "start": 4, "profileID": 9}]}
 */
#include "agent/agent_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/atomicfile.h"
#include "util/jdoc.h"
#include "util/vec.h"

#define LEDGER_MAX_ENTRIES 4096 /* far above 16 GPUs x 8 starts x profiles */

static bool same_place(const struct agent_place *x, const struct agent_place *y)
{
    return x->gpu == y->gpu && x->start == y->start && x->profile_id == y->profile_id;
}

static json_t *place_json(const struct agent_place *p)
{
    json_t *o = json_object();
    jdoc_set(o, "gpu", json_integer(p->gpu));
    jdoc_set(o, "start", json_integer(p->start));
    jdoc_set(o, "profileID", json_integer(p->profile_id));
    return o;
}

static void save(struct agent *a)
{
    if (!a->cfg.ledger_path)
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < a->n_made; i++)
        jdoc_append(list, place_json(&a->made[i]));
    for (size_t i = 0; i < a->n_intents; i++)
        if (!agent__made(a, &a->intents[i]))
            jdoc_append(list, place_json(&a->intents[i]));
    json_t *root = json_object();
    jdoc_set(root, "made", list);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    struct err e = {0};
    if (!text || atomicfile_write(a->cfg.ledger_path, text, strlen(text), 0644, &e) < 0)
        log_warning(a->cfg.log, "agent %s: ledger of the slices it made: %s", a->node,
                    text ? e.msg : "cannot format it");
    free(text);
}

void agent__ledger_intend(struct agent *a, const struct agent_place *p)
{
    assert(mutex_held(&a->lock));
    VEC_RESERVE(a->intents, a->cap_intents, a->n_intents + 1);
    a->intents[a->n_intents++] = *p;
    save(a);
}

void agent__ledger_done(struct agent *a, const struct agent_place *p)
{
    assert(mutex_held(&a->lock));
    for (size_t i = 0; i < a->n_intents; i++)
        if (same_place(&a->intents[i], p)) {
            a->intents[i] = a->intents[--a->n_intents];
            break;
        }
    save(a);
}

void agent__ledger_pruned(struct agent *a)
{
    assert(mutex_held(&a->lock));
    save(a);
}

static int read_entry(const json_t *o, struct agent_place *p)
{
    const json_t *gpu = json_object_get(o, "gpu"), *start = json_object_get(o, "start"),
                 *id = json_object_get(o, "profileID");
    if (!json_is_object(o) || json_object_size(o) != 3 || !json_is_integer(gpu) ||
        !json_is_integer(start) || !json_is_integer(id) || json_integer_value(gpu) < 0 ||
        json_integer_value(gpu) >= DEVICE_MAX_GPUS || json_integer_value(start) < 0 ||
        json_integer_value(start) >= MIG_MAX_MEMORY_SLICES || json_integer_value(id) < 0 ||
        json_integer_value(id) > UINT32_MAX)
        return -EINVAL;
    *p = (struct agent_place){(unsigned)json_integer_value(gpu),
                              (unsigned)json_integer_value(start),
                              (uint32_t)json_integer_value(id)};
    return 0;
}

int agent__ledger_load(struct agent *a, struct err *e)
{
    if (!a->cfg.ledger_path)
        return 0;
    atomicfile_clean(a->cfg.ledger_path, NULL); /* a killed predecessor's half writes */
    json_error_t je;
    json_t *root = json_load_file(a->cfg.ledger_path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        FILE *f = fopen(a->cfg.ledger_path, "r");
        if (!f && errno == ENOENT)
            return 0; /* a node this agent never worked on */
        if (f)
            fclose(f);
        return err_set(e, -EINVAL, "agent ledger %s:%d:%d: %s", a->cfg.ledger_path, je.line,
                       je.column, je.text);
    }
    json_t *list = json_object_get(root, "made");
    int rc = json_is_object(root) && json_object_size(root) == 1 && json_is_array(list) &&
                     json_array_size(list) <= LEDGER_MAX_ENTRIES
                 ? 0
                 : err_set(e, -EINVAL, "agent ledger %s: not {\"made\": [...]}",
                           a->cfg.ledger_path);
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
        struct agent_place p;
        if (read_entry(json_array_get(list, i), &p) < 0) {
            rc = err_set(e, -EINVAL, "agent ledger %s: made[%zu] is not {\"gpu\", \"start\", "
                         "\"profileID\"} in range", a->cfg.ledger_path, i);
        } else if (!agent__made(a, &p)) {
            VEC_RESERVE(a->made, a->cap_made, a->n_made + 1);
            a->made[a->n_made++] = p;
        }
    }
    json_decref(root);
    return rc;
}
