/*
 * The agent's reports and edges: the GPUNode and Node status it writes,
 * CDI specs, ConfigMaps it must take over or write again, the invariant
 * helper, and bad configurations, keys and operations.
 */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "api/gpunode.h"
#include "api/pod_slices.h"
#include "reconcile/action.h"

#define LAT "latency=none"

static void gpunode_and_node_report_the_gpus(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,count=2,model=A100-40GB,mig=off,"
                              "other=NVIDIA L4,memory-mib=23034," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 1, "3g.40gb", 4, 4, name);
    h_settle(h, SEC);

    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(gn);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    char boot[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(h->dev, boot, NULL), 0);
    assert_string_equal(v.boot_id, boot);
    assert_int_equal(v.n_gpus, 4);
    assert_string_equal(v.gpus[0].model, "H100-80GB");
    assert_string_equal(v.gpus[0].mig_mode, "Enabled");
    assert_int_equal(v.gpus[0].memory_mib, 81920);
    assert_string_equal(v.gpus[0].uuid, h_gpu(h, 0));
    assert_int_equal(v.gpus[0].n_slices, 0);
    assert_int_equal(v.gpus[1].n_slices, 1);
    const struct gpunode_slice *s = &v.gpus[1].slices[0];
    assert_string_equal(s->profile, "3g.40gb");
    assert_int_equal(s->start, 4);
    assert_int_equal(s->size, 4);
    assert_true(s->managed);
    assert_string_equal(s->device_uuid, h_status(h, name, "deviceUUID"));
    assert_string_equal(v.gpus[2].model, "A100-40GB");
    assert_string_equal(v.gpus[2].mig_mode, "Disabled");
    assert_string_equal(v.gpus[3].model, "");
    assert_string_equal(v.gpus[3].product, "NVIDIA L4");
    assert_string_equal(v.gpus[3].mig_mode, "Unsupported");
    assert_string_equal(meta_label(gn, AGENT_LABEL_NODE), NODE);
    json_decref(gn);

    /* Accelerator memory: the two MIG-enabled H100s, 80 GiB each. */
    json_t *node = h_get(h, h->nodes, NULL, NODE);
    const json_t *st = json_object_get(node, "status");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "capacity"),
                                                          GPUSLICE_RESOURCE_MEMORY)),
                        "160");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "allocatable"),
                                                          GPUSLICE_RESOURCE_MEMORY)),
                        "160");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "capacity"),
                                                          "cpu")),
                        "64");
    json_decref(node);

    /* An admin deletes the GPUNode: the agent writes it again. */
    struct err e = {0};
    h_ok(store_delete(h->st, h->gpunodes, NULL, NODE, &(struct store_delete_opts){0}, NULL, &e),
         &e, "delete GPUNode");
    h_settle(h, SEC);
    gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(gn);
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    assert_int_equal(v.n_gpus, 4);
    assert_true(v.gpus[1].slices[0].managed);
    json_decref(gn);
    json_decref(pod);
    h_free(h);
}

static void nothing_is_written_twice(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    uint64_t rev = mem_store_revision(h->st);
    /* Recovery passes every 30 s find nothing to change. */
    h_settle(h, 95 * SEC);
    assert_int_equal(mem_store_revision(h->st), rev);
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.discoveries, 4);
    /* Nothing changed on the device since the slice was made. */
    assert_int_equal(s.discoveries_unchanged, 3);
    /* Nor anything else the node pass reads: the periodic passes repeat
     * the quiet one after the slice's and are skipped. */
    assert_int_equal(s.node_passes_repeated, 3);
    json_decref(pod);
    h_free(h);
}

/* The agent keeps the slices it reads in a list grown to fit: a node that
 * fills up past its first room (eight) reports every slice, and one
 * emptied by a reboot none. */
static void every_slice_of_a_full_node_is_reported(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB,count=3," LAT);
    h_settle(h, SEC);
    for (unsigned gpu = 0; gpu < 3; gpu++)
        for (unsigned start = 0; start < 7; start++) {
            struct device_slice_ref ref = {.gpu_index = gpu, .profile = "1g.10gb",
                                           .start = start};
            assert_int_equal(emulated_add_slice(h->dev, &ref, NULL, NULL), 0);
        }
    h_settle(h, 31 * SEC);
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    for (unsigned gpu = 0; gpu < 3; gpu++) {
        assert_int_equal(v.gpus[gpu].n_slices, 7);
        assert_int_equal(v.gpus[gpu].slices[6].start, 6);
    }
    json_decref(gn);

    assert_int_equal(emulated_reboot(h->dev, NULL, NULL), 0);
    h_settle(h, 31 * SEC);
    gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    for (unsigned gpu = 0; gpu < 3; gpu++)
        assert_int_equal(v.gpus[gpu].n_slices, 0);
    json_decref(gn);
    h_free(h);
}

/* A quiet node pass is repeated only over the same inputs: an admin who
 * overwrites the Node's accelerator memory between two passes gets it
 * written back, though nothing else changed. */
static void a_changed_node_is_not_a_repeated_pass(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    h_settle(h, 65 * SEC);
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    uint64_t repeated = s.node_passes_repeated;
    assert_true(repeated > 0);

    json_t *node = h_get(h, h->nodes, NULL, NODE);
    json_t *obj = json_deep_copy(node);
    json_decref(node);
    json_object_set_new(json_object_get(json_object_get(obj, "status"), "capacity"),
                        GPUSLICE_RESOURCE_MEMORY, json_string("1"));
    struct err e = {0};
    h_ok(store_update(h->st, h->nodes, NULL, obj,
                      &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
         &e, "overwrite the Node's status");
    json_decref(obj);
    h_settle(h, SEC);
    node = h_get(h, h->nodes, NULL, NODE);
    const json_t *cap = json_object_get(json_object_get(node, "status"), "capacity");
    assert_string_equal(json_string_value(json_object_get(cap, GPUSLICE_RESOURCE_MEMORY)), "80");
    json_decref(node);
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.node_passes_repeated, repeated);
    h_free(h);
}

/* An emulated node counts its changes: a recovery pass with none since
 * the agent's last read of the slices reads nothing, and one after a
 * change the agent did not make (an admin's slice) reads and reports it. */
static void an_unchanged_device_is_not_read_again(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    h_settle(h, 65 * SEC);
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.discoveries, 3);
    assert_int_equal(s.discoveries_unchanged, 2);

    struct device_slice_ref admin = {.gpu_index = 0, .profile = "3g.40gb", .start = 4};
    assert_int_equal(emulated_add_slice(h->dev, &admin, NULL, NULL), 0);
    h_settle(h, 30 * SEC);
    agent_get_stats(agent_runtime_agent(h->rt), &s);
    assert_int_equal(s.discoveries, 4);
    assert_int_equal(s.discoveries_unchanged, 2);
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    assert_int_equal(v.gpus[0].n_slices, 1);
    assert_false(v.gpus[0].slices[0].managed);
    json_decref(gn);
    h_free(h);
}

/* The recovery pass skips making a report it found written before only
 * while the GPUNode is the version it found it in: a status someone else
 * overwrote is written back at the next pass. */
static void an_overwritten_report_is_written_back(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    h_settle(h, 35 * SEC);
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(gn);
    json_t *want = json_incref(json_object_get(gn, "status"));
    json_object_set_new(gn, "status", json_pack("{s:[]}", "gpus"));
    struct err e = {0};
    h_ok(store_update(h->st, h->gpunodes, NULL, gn,
                      &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
         &e, "overwrite the status");
    json_decref(gn);
    h_settle(h, 35 * SEC);
    gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_true(json_equal(json_object_get(gn, "status"), want));
    json_decref(gn);
    json_decref(want);
    h_free(h);
}

static void count_wake(void *ctx)
{
    (*(unsigned *)ctx)++;
}

/* Once it has listed, the agent follows its watches, and its on_event is
 * told of writes to its node's objects and of no others: what lets the
 * simulator step only the agents with work. */
static void writes_to_its_node_wake_the_agent(void **state)
{
    (void)state;
    unsigned woken = 0;
    struct agent_config o = {.on_event = count_wake, .on_event_ctx = &woken};
    struct harness *h = h_new_with("model=H100-80GB," LAT, &o);
    assert_false(agent_runtime_watching(h->rt));
    h_drain(h);
    assert_true(agent_runtime_watching(h->rt));
    woken = 0;
    json_t *pod = h_pod(h, "train");
    assert_int_equal(woken, 0);
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    assert_int_equal(woken, 1);
    json_decref(pod);
    h_free(h);
}

/* GPUNode writes the store took since watch w opened. */
static unsigned gpunode_writes(struct store_watch *w)
{
    unsigned n = 0;
    struct store_event ev;
    while (store_watch_next(w, 0, &ev, NULL) == 0) {
        n += ev.type == STORE_MODIFIED;
        store_event_release(&ev);
    }
    return n;
}

/* Seven slices asked for 10 ms apart, as pods arrive, then released 10 ms
 * apart: each burst is one GPUNode write, sent within the report period of
 * its first change (nothing waits on it: no mode change), not one write
 * per slice, nor one at the shorter report delay. */
static void a_burst_of_changes_is_one_report(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    h_settle(h, SEC);
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)mem_store_revision(h->st));
    struct store_watch *w = NULL;
    struct err e = {0};
    h_ok(store_watch_open(h->st, h->gpunodes, NULL,
                          &(struct store_watch_opts){.resource_version = rv}, &w, &e),
         &e, "watch GPUNodes");
    json_t *pod = h_pod(h, "train");
    char names[7][GPUSLICE_NAME_MAX];
    for (unsigned i = 0; i < 7; i++) {
        h_slice(h, pod, i, 0, "1g.10gb", i, 1, names[i]);
        h_settle(h, 10 * MSEC);
        assert_string_equal(h_phase(h, names[i]), "Created");
    }
    h_settle(h, AGENT_REPORT_DELAY_DEFAULT_NS);
    assert_int_equal(gpunode_writes(w), 0);
    h_settle(h, AGENT_REPORT_PERIOD_DEFAULT_NS - AGENT_REPORT_DELAY_DEFAULT_NS - 70 * MSEC);
    assert_int_equal(gpunode_writes(w), 1);
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    struct gpunode_view v;
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    assert_int_equal(v.gpus[0].n_slices, 7);
    json_decref(gn);
    h_settle(h, SEC);
    assert_int_equal(gpunode_writes(w), 0);

    for (unsigned i = 0; i < 7; i++) {
        h_set_phase(h, names[i], "Deleting");
        h_settle(h, 10 * MSEC);
        assert_string_equal(h_phase(h, names[i]), "Deleted");
    }
    h_settle(h, AGENT_REPORT_PERIOD_DEFAULT_NS - 70 * MSEC);
    assert_int_equal(gpunode_writes(w), 1);
    gn = h_get(h, h->gpunodes, NULL, NODE);
    assert_int_equal(gpunode_read(gn, &v, NULL), 0);
    assert_int_equal(v.gpus[0].n_slices, 0);
    json_decref(gn);
    store_watch_close(w);
    json_decref(pod);
    h_free(h);
}

/* The agent's decision for key now, as the loop would make it. */
static void decide(struct harness *h, const char *key, struct action_list *out)
{
    struct err e = {0};
    int64_t requeue = 0;
    action_list_clear(out);
    h_ok(agent_reconcile(agent_runtime_agent(h->rt), key, h->now, out, &requeue, &e), &e,
         "agent_reconcile");
}

/* The status write among the actions, or NULL. */
static const struct action *status_write(const struct action_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].kind == ACTION_UPDATE_STATUS)
            return &l->items[i];
    return NULL;
}

/* Runs every action as the loop does, telling the agent how each went. */
static void execute(struct harness *h, const char *key, const struct action_list *l)
{
    struct agent *a = agent_runtime_agent(h->rt);
    struct action_context ctx = {.component = "test", .now_ns = h->now};
    for (size_t i = 0; i < l->n; i++) {
        struct err e = {0};
        const struct action *act = &l->items[i];
        int rc = act->kind == ACTION_EXTERNAL ? agent_execute(a, act, NULL, &e)
                                              : action_execute(h->st, act, &ctx, NULL, &e);
        agent_executed(a, key, act, rc, NULL, &e);
    }
}

/* A 1g.10gb GPUSlice of pod on GPU 0, made: name and its key filled. */
static void created_slice(struct harness *h, const json_t *pod, char *name, char *key)
{
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    snprintf(key, GPUSLICE_NAME_MAX + 8, "%s/%s", NS, name);
}

/* The agent's GPUSlice informer takes in every change the store has. */
static void step_slices(struct harness *h)
{
    struct informer *infs[AGENT_INFORMERS];
    agent_informers(agent_runtime_agent(h->rt), infs);
    while (informer_step(infs[0], 0, NULL) == 0)
        ;
}

/* Decided again before the cache shows its own status write (a ConfigMap
 * event can bring the key back first), the agent does not send the same
 * write again: from that version it could only be a conflict. A write the
 * store refused is sent again. */
/* A node whose pod "train" has a slice made (name, key), then set to
 * phase by another writer. */
static struct harness *slice_set_to(const char *phase, json_t **pod, char *name, char *key)
{
    struct harness *h = h_new("model=H100-80GB," LAT);
    *pod = h_pod(h, "train");
    created_slice(h, *pod, name, key);
    h_set_phase(h, name, phase);
    return h;
}

static void a_status_write_is_not_sent_twice_from_one_version(void **state)
{
    (void)state;
    json_t *pod;
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    struct harness *h = slice_set_to("Deleting", &pod, name, key);
    step_slices(h);
    struct action_list out;
    action_list_init(&out);
    decide(h, key, &out); /* the destroy */
    execute(h, key, &out);
    decide(h, key, &out); /* the ConfigMap, then Deleted */
    const struct action *w = status_write(&out);
    assert_non_null(w);
    /* refused (say the connection broke): sent again */
    agent_executed(agent_runtime_agent(h->rt), key, w, -EIO, NULL, NULL);
    decide(h, key, &out);
    assert_non_null(status_write(&out));
    execute(h, key, &out);
    assert_string_equal(h_phase(h, name), "Deleted");
    /* taken: the cache still shows Deleting, and nothing is sent */
    decide(h, key, &out);
    assert_null(status_write(&out));
    /* once the cache has it, the key is done */
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

/* How many of the actions write the GPUSlice res (any kind). */
static size_t slice_writes(const struct action_list *l, const struct api_resource *res)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->items[i].kind != ACTION_EXTERNAL && l->items[i].res == res;
    return n;
}

/* Deletes the GPUSlice name (key its key), lets the agent destroy its
 * slice with nothing written, and leaves in out what it decides next: the
 * ConfigMap, then its finalizer's removal. */
static void delete_and_destroy(struct harness *h, const char *name, const char *key,
                               struct action_list *out)
{
    struct err e = {0};
    h_ok(store_delete(h->st, h->slices, NS, name, &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete GPUSlice");
    step_slices(h);
    decide(h, key, out); /* the destroy, and nothing written */
    assert_int_equal(out->n, 1);
    assert_int_equal(out->items[0].kind, ACTION_EXTERNAL);
    execute(h, key, out);
    decide(h, key, out);
}

/* The controller releases a slice by deleting its GPUSlice: the agent
 * destroys the slice, then removes its finalizer: one write to the
 * GPUSlice, no status (Deleting or Deleted) written; the object's going is
 * its Deleted. Decided again before the cache hears the object went (its
 * ConfigMap's deletion can bring the key back first), the agent does not
 * send the removal again, nor the ConfigMap's deletion: each could only be
 * refused as Not Found. */
static void a_deleted_gpuslice_ends_in_one_write(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    created_slice(h, pod, name, key);
    struct action_list out;
    action_list_init(&out);
    delete_and_destroy(h, name, key, &out);
    assert_null(status_write(&out));
    assert_int_equal(slice_writes(&out, h->slices), 1);
    const struct action *last = &out.items[out.n - 1];
    assert_int_equal(last->kind, ACTION_PATCH);
    assert_ptr_equal(last->res, h->slices);
    execute(h, key, &out);
    json_t *gone = NULL;
    assert_int_equal(store_get(h->st, h->slices, NS, name, &gone, NULL), -ENOENT);
    decide(h, key, &out); /* the cache still shows it, finalizer and all, and its ConfigMap */
    assert_int_equal(slice_writes(&out, h->slices), 0);
    assert_int_equal(slice_writes(&out, h->cms), 0);
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 0);
    free(dev);
    h_settle(h, SEC);
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    h_invariant(h);
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

/* The same for a slice whose status is already terminal (Failed, as an
 * older version left it, finalizer and all): its removal is sent once per
 * cached version too (the terminal path forgot what it had sent). */
static void a_deleted_failed_gpuslice_sends_its_removal_once(void **state)
{
    (void)state;
    json_t *pod;
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    struct harness *h = slice_set_to("Failed", &pod, name, key);
    struct err e = {0};
    h_ok(store_delete(h->st, h->slices, NS, name, &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete GPUSlice");
    step_slices(h);
    struct action_list out;
    action_list_init(&out);
    decide(h, key, &out);
    assert_int_equal(slice_writes(&out, h->slices), 1);
    execute(h, key, &out);
    json_t *gone = NULL;
    assert_int_equal(store_get(h->st, h->slices, NS, name, &gone, NULL), -ENOENT);
    decide(h, key, &out); /* the cache still shows it */
    assert_int_equal(slice_writes(&out, h->slices), 0);
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

/* Settles h (caches synced, GPUs discovered), places a 1g.10gb slice of
 * pod on GPU 0 (its name and key out), has the agent make it on the device
 * and decide again: *out (initialised here) holds that decision, the
 * slice's ConfigMap write and then Created. */
static void slice_made(struct harness *h, json_t *pod, char name[GPUSLICE_NAME_MAX],
                       char key[GPUSLICE_NAME_MAX + 8], struct action_list *out)
{
    h_settle(h, SEC);
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    snprintf(key, GPUSLICE_NAME_MAX + 8, "%s/%s", NS, name);
    step_slices(h);
    action_list_init(out);
    decide(h, key, out); /* the create on the device */
    execute(h, key, out);
    decide(h, key, out);
}

/* Decided again before the ConfigMap cache hears the agent's own write of
 * it (its status write's event brings the key back first), the agent does
 * not send that write again: a create could only be refused as
 * AlreadyExists (a delete as Not Found: a_deleted_gpuslice_ends_in_one_write).
 * After AGENT_CONFIG_MAP_NOTE_NS without a word from the cache it is sent
 * again; once the cache has it, nothing is. */
static void a_config_map_write_is_not_sent_twice_from_one_version(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    struct action_list out;
    slice_made(h, pod, name, key, &out); /* its ConfigMap, then Created */
    assert_int_equal(slice_writes(&out, h->cms), 1);
    execute(h, key, &out);
    step_slices(h); /* Created is in the cache; the ConfigMap is not */
    decide(h, key, &out);
    assert_int_equal(slice_writes(&out, h->cms), 0);
    h->now += AGENT_CONFIG_MAP_NOTE_NS;
    decide(h, key, &out); /* never heard of: sent again (and refused) */
    assert_int_equal(slice_writes(&out, h->cms), 1);
    /* A write decided but never executed (an action before it failed, the
     * rest dropped) holds nothing back: the next decision sends it. */
    decide(h, key, &out);
    assert_int_equal(slice_writes(&out, h->cms), 1);
    h_settle(h, SEC);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

/* Another party's finalizer removed between the agent's decision and its
 * write: the agent's removal patches the list it read, so it names that
 * list's version and is refused as a conflict (decided again from the
 * newer cache at once), where it would have put the other finalizer back,
 * which the store refuses on an object being deleted as Invalid (a failure
 * that backs off). */
static void a_finalizer_removed_meanwhile_is_a_conflict(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    created_slice(h, pod, name, key);
    struct err e = {0};
    json_t *fins = json_pack("{s:{s:[s, s]}}", "metadata", "finalizers",
                             GPUSLICE_SLICE_FINALIZER, "example.com/audit");
    h_ok(store_patch(h->st, h->slices, NS, name, STORE_PATCH_MERGE, fins,
                     &(struct store_write_opts){0}, NULL, &e), &e, "add a finalizer");
    json_decref(fins);
    struct action_list out;
    action_list_init(&out);
    delete_and_destroy(h, name, key, &out);
    const struct action *last = &out.items[out.n - 1];
    assert_int_equal(last->kind, ACTION_PATCH);
    /* The patch keeps the other finalizer and names the version read. */
    const json_t *md = json_object_get(last->body, "metadata");
    json_t *left = json_pack("[s]", "example.com/audit");
    assert_true(json_equal(json_object_get(md, "finalizers"), left));
    json_decref(left);
    json_t *cached = NULL;
    h_ok(store_get(h->st, h->slices, NS, name, &cached, &e), &e, "get");
    assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")),
                        meta_resource_version(cached));
    json_decref(cached);
    fins = json_pack("{s:{s:[s]}}", "metadata", "finalizers", GPUSLICE_SLICE_FINALIZER);
    h_ok(store_patch(h->st, h->slices, NS, name, STORE_PATCH_MERGE, fins,
                     &(struct store_write_opts){0}, NULL, &e), &e, "the audit lets go");
    json_decref(fins);
    struct action_context ctx = {.component = "test", .now_ns = h->now};
    assert_int_equal(action_execute(h->st, last, &ctx, NULL, &e), -ESTALE);
    agent_executed(agent_runtime_agent(h->rt), key, last, -ESTALE, NULL, &e);
    h_settle(h, SEC);
    json_t *gone = NULL;
    assert_int_equal(store_get(h->st, h->slices, NS, name, &gone, NULL), -ENOENT);
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void cdi_spec_follows_the_slice(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-agent-cdi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct agent_config o = {.cdi_dir = dir};
    struct harness *h = h_new_with("model=H100-80GB," LAT, &o);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "2g.20gb", 2, 2, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    char path[512];
    snprintf(path, sizeof path, "%s/gpuslice-mig-%s-2.json", dir, h_gpu(h, 0));
    json_t *spec = json_loads(read_file(path), 0, NULL);
    assert_non_null(spec);
    assert_string_equal(json_string_value(json_object_get(spec, "kind")), AGENT_CDI_KIND);
    const json_t *dev = json_array_get(json_object_get(spec, "devices"), 0);
    char want[2 * GPUSLICE_NAME_MAX];
    snprintf(want, sizeof want, "%s_%s", NS, name);
    assert_string_equal(json_string_value(json_object_get(dev, "name")), want);
    snprintf(want, sizeof want, "NVIDIA_VISIBLE_DEVICES=%s", h_status(h, name, "deviceUUID"));
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(dev, "containerEdits"), "env"), 0)),
                        want);
    json_decref(spec);

    h_set_phase(h, name, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Deleted");
    assert_int_equal(access(path, F_OK), -1);

    /* A GPUSlice that goes without Deleting: its orphan's spec goes too. */
    h_slice(h, pod, 1, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    snprintf(path, sizeof path, "%s/gpuslice-mig-%s-0.json", dir, h_gpu(h, 0));
    assert_int_equal(access(path, F_OK), 0);
    struct err e = {0};
    h_ok(store_delete(h->st, h->slices, NS, name, &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete GPUSlice");
    h_settle(h, 2 * AGENT_ORPHAN_GRACE_DEFAULT_NS);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(rmdir(dir), 0);
    json_decref(pod);
    h_free(h);
}

/* issue 19: the spec was once written through DIR/NAME.tmp, so a link
 * planted there made the agent (root) write wherever it pointed. */
static void cdi_spec_is_not_written_through_a_planted_link(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-agent-cdi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct agent_config o = {.cdi_dir = dir};
    struct harness *h = h_new_with("model=H100-80GB," LAT, &o);
    char path[512], plant[520], elsewhere[512];
    snprintf(path, sizeof path, "%s/gpuslice-mig-%s-0.json", dir, h_gpu(h, 0));
    snprintf(plant, sizeof plant, "%s.tmp", path);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
    assert_int_equal(symlink(elsewhere, plant), 0);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    struct stat st;
    assert_int_not_equal(lstat(elsewhere, &st), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(plant, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    json_decref(pod);
    h_free(h);
}

static void cdi_write_failure_fails_the_slice(void **state)
{
    (void)state;
    struct agent_config o = {.cdi_dir = "/nonexistent/gpuslice-cdi"};
    struct harness *h = h_new_with("model=H100-80GB," LAT, &o);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    /* The container could not get the device through CDI: Failed, and the
     * slice destroyed so that the controller can place it elsewhere. */
    assert_string_equal(h_phase(h, name), "Failed");
    assert_string_equal(h_status(h, name, "reason"), "HandOverFailed");
    assert_non_null(strstr(h_status(h, name, "message"), "cannot write CDI spec"));
    assert_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    struct device_slices *dev = calloc(1, sizeof *dev);
    assert_int_equal(h_device_slices(h, dev), 0);
    free(dev);
    json_decref(pod);
    h_free(h);
}

/* A ConfigMap named as train's container's, written by someone else (not
 * labelled for the agent's cache). */
static void foreign_config_map(struct harness *h)
{
    h_create(h, h->cms, NS,
             json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                       "ConfigMap", "metadata", "name", "train-main", "namespace", NS, "data",
                       "NVIDIA_VISIBLE_DEVICES", "none"),
             NULL);
}

static void delete_config_map(struct harness *h)
{
    struct err e = {0};
    h_ok(store_delete(h->st, h->cms, NS, "train-main", &(struct store_delete_opts){0}, NULL, &e),
         &e, "delete ConfigMap");
}

static void foreign_config_map_is_taken_over(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    foreign_config_map(h);
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    json_t *cm = h_get(h, h->cms, NS, "train-main");
    assert_string_equal(meta_label(cm, AGENT_LABEL_NODE), NODE);
    json_decref(cm);

    /* Deleted under a running pod: written again. */
    delete_config_map(h);
    h_settle(h, SEC);
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    json_decref(pod);
    h_free(h);
}

/* The foreign ConfigMap goes before its takeover: the patch finds nothing,
 * and the next decision creates the ConfigMap instead of sending the same
 * patch (a 404) for good, the slice never handed over. */
static void a_foreign_config_map_gone_before_its_takeover_is_created(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    foreign_config_map(h);
    char name[GPUSLICE_NAME_MAX], key[GPUSLICE_NAME_MAX + 8];
    /* the caches synced without the foreign ConfigMap; out: its create,
     * refused, one being there */
    struct action_list out;
    slice_made(h, pod, name, key, &out);
    assert_int_equal(slice_writes(&out, h->cms), 1);
    execute(h, key, &out);
    delete_config_map(h);
    decide(h, key, &out); /* the takeover: a patch of what is gone */
    assert_int_equal(slice_writes(&out, h->cms), 1);
    execute(h, key, &out);
    h_settle(h, 30 * SEC);
    assert_non_null(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"));
    assert_string_equal(h_cm(h, "train-main", "NVIDIA_VISIBLE_DEVICES"),
                        h_status(h, name, "deviceUUID"));
    action_list_clear(&out);
    json_decref(pod);
    h_free(h);
}

static void invariant_names_leaks_and_missing_slices(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    json_t *pod = h_pod(h, "train");
    char name[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.10gb", 0, 1, name);
    h_settle(h, SEC);
    h_invariant(h);

    /* Behind the agent's back: one slice more, the GPUSlice's slice gone. */
    struct device_slice_ref extra = {.gpu_index = 0, .profile = "1g.10gb", .start = 3};
    struct device_slice_ref mine = {.gpu_index = 0, .profile = "1g.10gb", .start = 0};
    assert_int_equal(device_create_slice(h->dev, &extra, NULL, NULL, NULL), 0);
    assert_int_equal(device_destroy_slice(h->dev, &mine, NULL, NULL), 0);
    unsigned leaked = 0, missing = 0;
    struct err e = {0};
    assert_int_equal(agent_invariant_check(h->st, h->dev, NODE, &leaked, &missing, &e), -EPROTO);
    assert_int_equal(leaked, 1);
    assert_int_equal(missing, 1);
    assert_non_null(strstr(e.msg, "leaked: "));
    assert_non_null(strstr(e.msg, "1g.10gb at 3"));
    assert_non_null(strstr(e.msg, "missing: team/train-main-0 (Created)"));
    assert_int_equal(agent_invariant_check(NULL, h->dev, NODE, NULL, NULL, &e), -EINVAL);
    json_decref(pod);
    h_free(h);
}

static void bad_configs_are_refused(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    struct agent *a = NULL;
    struct err e = {0};
    struct agent_config c = h->cfg.agent;
    c.node = "Not A Node";
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"Not A Node\" is not a node name"));
    c = h->cfg.agent;
    c.device = NULL;
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    c = h->cfg.agent;
    c.orphan_grace_ns = -1;
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    c = h->cfg.agent;
    c.report_delay_ns = -1;
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "report delay"));
    c = h->cfg.agent;
    c.report_period_ns = -1;
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "report period"));
    c = h->cfg.agent;
    c.now_ns = NULL;
    assert_int_equal(agent_new(&c, &a, &e), -EINVAL);
    assert_null(a);
    h_free(h);
}

static void bad_keys_and_operations_are_refused(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    h_settle(h, SEC);
    struct agent *a = agent_runtime_agent(h->rt);
    struct action_list out;
    action_list_init(&out);
    int64_t requeue = 0;
    struct err e = {0};
    assert_int_equal(agent_reconcile(a, "no-slash", h->now, &out, &requeue, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "not namespace/name"));
    assert_int_equal(agent_reconcile(a, "/x", h->now, &out, &requeue, &e), -EINVAL);
    /* A key of a GPUSlice that does not exist: nothing to do. */
    assert_int_equal(agent_reconcile(a, NS "/ghost", h->now, &out, &requeue, &e), 0);
    assert_int_equal(out.n, 0);

    assert_int_equal(action_external(&out, 99, json_object(), &e), 0);
    assert_int_equal(agent_execute(a, &out.items[0], NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown external operation 99"));
    action_list_clear(&out);
    assert_int_equal(action_external(&out, AGENT_OP_CREATE,
                                     json_pack("{s:s, s:i}", "gpuUUID", "GPU-x", "start", 9),
                                     &e),
                     0);
    assert_int_equal(agent_execute(a, &out.items[0], NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "a create needs gpuUUID, profile and start"));
    action_list_clear(&out);
    assert_int_equal(action_external(&out, AGENT_OP_WRITE_CDI, json_object(), &e), 0);
    assert_int_equal(agent_execute(a, &out.items[0], NULL, &e), -EINVAL);
    action_list_clear(&out);
    h_free(h);
}

/* Before the caches have their first list nothing is decided. */
static void nothing_before_the_caches_sync(void **state)
{
    (void)state;
    struct harness *h = h_new("model=H100-80GB," LAT);
    struct agent *a = agent_runtime_agent(h->rt);
    struct action_list out;
    action_list_init(&out);
    int64_t requeue = 0;
    assert_int_equal(agent_reconcile(a, AGENT_KEY_NODE, h->now, &out, &requeue, NULL), 0);
    assert_int_equal(out.n, 0);
    assert_true(requeue > h->now);
    struct reconciler r = agent_reconciler(a);
    assert_ptr_equal(r.self, a);
    assert_ptr_equal(r.reconcile, agent_reconcile);
    assert_ptr_equal(r.execute_external, agent_execute);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpunode_and_node_report_the_gpus),
        cmocka_unit_test(nothing_is_written_twice),
        cmocka_unit_test(a_changed_node_is_not_a_repeated_pass),
        cmocka_unit_test(every_slice_of_a_full_node_is_reported),
        cmocka_unit_test(an_unchanged_device_is_not_read_again),
        cmocka_unit_test(writes_to_its_node_wake_the_agent),
        cmocka_unit_test(an_overwritten_report_is_written_back),
        cmocka_unit_test(a_burst_of_changes_is_one_report),
        cmocka_unit_test(a_status_write_is_not_sent_twice_from_one_version),
        cmocka_unit_test(a_deleted_gpuslice_ends_in_one_write),
        cmocka_unit_test(a_config_map_write_is_not_sent_twice_from_one_version),
        cmocka_unit_test(a_deleted_failed_gpuslice_sends_its_removal_once),
        cmocka_unit_test(a_finalizer_removed_meanwhile_is_a_conflict),
        cmocka_unit_test(cdi_spec_follows_the_slice),
        cmocka_unit_test(cdi_spec_is_not_written_through_a_planted_link),
        cmocka_unit_test(cdi_write_failure_fails_the_slice),
        cmocka_unit_test(foreign_config_map_is_taken_over),
        cmocka_unit_test(a_foreign_config_map_gone_before_its_takeover_is_created),
        cmocka_unit_test(invariant_names_leaks_and_missing_slices),
        cmocka_unit_test(bad_configs_are_refused),
        cmocka_unit_test(bad_keys_and_operations_are_refused),
        cmocka_unit_test(nothing_before_the_caches_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
