/*
 * The emulated node's state file (emulated.h, "The state file"): what a
 * real GPU keeps when the agent dies, written as JSON after every change
 * and read strictly at open, so that a restarted agent sees exactly what
 * its killed predecessor left, and a file that was edited by hand, cut
 * short or written for other GPUs is refused with FILE:LINE:COL and the
 * field rather than half believed.
 *
 *   {"bootID": "...", "reboots": 0, "migDevicesMade": 3,
 *    "gpus": [{"uuid": "GPU-...", "mig": "on",
 *              "slices": [{"profile": "1g.10gb", "start": 0, "giID": 1,
 *                          "ciID": 0, "uuid": "MIG-...", "inUse": false}]}]}
 *
 * A GPU instance left without its compute instance has no "ciID" and no
 * "uuid". The GPUs themselves (models, products, UUIDs) come from the spec;
 * the file only has to agree with them.
 */
#include "device/emulated_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/readfile.h"
#include "util/alloc.h"
#include "util/atomicfile.h"
#include "util/jdoc.h"
#include "util/jsonpos.h"

#define STATE_FILE_MAX (1 << 20) /* far above 16 GPUs of 7 slices */
#define STATE_FILE_MODE 0644

/* ---- writing -------------------------------------------------------------- */

static const char *mig_name(enum device_mig_mode m)
{
    return m == DEVICE_MIG_ENABLED ? "on" : m == DEVICE_MIG_DISABLED ? "off" : "unsupported";
}

static json_t *slice_json(const struct emu_gpu *g, const struct occupied_slice *os)
{
    const struct slot *s = &g->slots[os->start];
    json_t *o = json_object();
    jdoc_set(o, "profile", json_string(g->occ.model->profiles[os->profile].name));
    jdoc_set(o, "start", json_integer(os->start));
    jdoc_set(o, "giID", json_integer(s->gi_id));
    if (s->ci_id != DEVICE_NO_CI) {
        jdoc_set(o, "ciID", json_integer(s->ci_id));
        jdoc_set(o, "uuid", json_string(s->uuid));
    }
    jdoc_set(o, "inUse", json_boolean(s->in_use));
    return o;
}

static json_t *state_json(const struct emulated *em)
{
    json_t *root = json_object();
    jdoc_set(root, "bootID", json_string(em->boot_id));
    jdoc_set(root, "reboots", json_integer((json_int_t)em->reboots));
    jdoc_set(root, "migDevicesMade", json_integer((json_int_t)em->mig_serial));
    json_t *gpus = json_array();
    for (unsigned i = 0; i < em->cfg.n_gpus; i++) {
        const struct emu_gpu *g = &em->gpus[i];
        json_t *go = json_object();
        jdoc_set(go, "uuid", json_string(g->uuid));
        jdoc_set(go, "mig", json_string(mig_name(g->cfg.mig_current)));
        json_t *slices = json_array();
        for (unsigned k = 0; k < g->occ.n_slices; k++)
            jdoc_append(slices, slice_json(g, &g->occ.slices[k]));
        jdoc_set(go, "slices", slices);
        jdoc_append(gpus, go);
    }
    jdoc_set(root, "gpus", gpus);
    return root;
}

int emulated__state_save(const struct emulated *em, struct err *e)
{
    json_t *root = state_json(em);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return err_set(e, -ENOMEM, "emulated state file %s: cannot format it",
                       em->cfg.state_path);
    int rc = atomicfile_write(em->cfg.state_path, text, strlen(text), STATE_FILE_MODE, e);
    free(text);
    return rc < 0 ? err_prefix(e, rc, "emulated state file: ") : 0;
}

/* ---- reading -------------------------------------------------------------- */

struct reader {
    const char *path;
    const char *text;
    size_t len;
    struct err *e;
};

/* -EINVAL with "FILE:LINE:COL: FIELD: why"; field is a jsonpos path. */
__attribute__((format(printf, 3, 4)))
static int bad(const struct reader *r, const char *field, const char *fmt, ...)
{
    struct jsonpos at = {1, 1};
    jsonpos_find(r->text, r->len, field, &at);
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_set(r->e, -EINVAL, "emulated state file %s:%d:%d: %s%s%s", r->path, at.line,
                   at.column, field, field[0] ? ": " : "", why);
}

/* Every key of obj is one of keys (NULL-terminated). */
static int only_keys(const struct reader *r, const char *field, json_t *obj,
                     const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (!keys[i]) {
            char at[128];
            snprintf(at, sizeof at, "%s%s%s", field, field[0] ? "." : "", key);
            return bad(r, at, "unknown field");
        }
    }
    return 0;
}

static int get_uint(const struct reader *r, const char *field, json_t *v, uint64_t max,
                    uint64_t *out)
{
    if (!v)
        return bad(r, field, "missing");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return bad(r, field, "not a whole number in 0..%" PRIu64, max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A string of 1..size-1 bytes, copied into out. */
static int get_string(const struct reader *r, const char *field, json_t *v, char *out,
                      size_t size)
{
    if (!v)
        return bad(r, field, "missing");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size ||
        strlen(json_string_value(v)) != json_string_length(v))
        return bad(r, field, "not a string of 1 to %zu characters", size - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int read_mig(const struct reader *r, const char *field, json_t *v, struct emu_gpu *g)
{
    char mode[16];
    int rc = get_string(r, field, v, mode, sizeof mode);
    if (rc < 0)
        return rc;
    if (!g->cfg.model) {
        if (strcmp(mode, "unsupported") != 0)
            return bad(r, field, "the GPU has no MIG: \"unsupported\", not \"%s\"", mode);
        return 0;
    }
    if (strcmp(mode, "on") == 0)
        g->cfg.mig_current = DEVICE_MIG_ENABLED;
    else if (strcmp(mode, "off") == 0)
        g->cfg.mig_current = DEVICE_MIG_DISABLED;
    else
        return bad(r, field, "\"%s\" is not on or off", mode);
    return 0;
}

static bool gi_id_taken(const struct emu_gpu *g, uint32_t id)
{
    for (unsigned i = 0; i < g->occ.n_slices; i++)
        if (g->occ.slices[i].owner == id)
            return true;
    return false;
}

/* The compute instance half of a slice: both "ciID" and "uuid", or neither. */
static int read_ci(const struct reader *r, const char *field, json_t *so, struct slot *s)
{
    json_t *ci = json_object_get(so, "ciID"), *uuid = json_object_get(so, "uuid");
    char at[160];
    s->ci_id = DEVICE_NO_CI;
    if (!ci && !uuid)
        return 0;
    if (!ci || !uuid)
        return bad(r, field, "\"ciID\" and \"uuid\" go together (neither: a GI without a CI)");
    uint64_t id = 0;
    snprintf(at, sizeof at, "%s.ciID", field);
    int rc = get_uint(r, at, ci, DEVICE_NO_CI - 1, &id);
    snprintf(at, sizeof at, "%s.uuid", field);
    if (rc == 0)
        rc = get_string(r, at, uuid, s->uuid, sizeof s->uuid);
    s->ci_id = (uint32_t)id;
    return rc;
}

static const char *const slice_keys[] = {"profile", "start", "giID", "ciID", "uuid", "inUse",
                                         NULL};

static int read_slice(const struct reader *r, const char *field, json_t *so, struct emu_gpu *g)
{
    char at[160], name[DEVICE_PROFILE_NAME_MAX];
    if (!json_is_object(so))
        return bad(r, field, "not an object");
    int rc = only_keys(r, field, so, slice_keys);
    snprintf(at, sizeof at, "%s.profile", field);
    if (rc == 0)
        rc = get_string(r, at, json_object_get(so, "profile"), name, sizeof name);
    if (rc < 0)
        return rc;
    const struct mig_profile *p = catalog_find_profile(g->cfg.model, name);
    if (!p)
        return bad(r, at, "%s has no profile \"%s\"", g->cfg.model->name, name);
    uint64_t start = 0, gi = 0;
    snprintf(at, sizeof at, "%s.start", field);
    rc = get_uint(r, at, json_object_get(so, "start"), MIG_MAX_MEMORY_SLICES - 1, &start);
    struct err why;
    err_clear(&why);
    if (rc == 0 && occupancy_check(&g->occ, p, (unsigned)start, &why) < 0)
        rc = bad(r, at, "%s cannot be there: %s", p->name, why.msg);
    snprintf(at, sizeof at, "%s.giID", field);
    if (rc == 0)
        rc = get_uint(r, at, json_object_get(so, "giID"), DEVICE_NO_CI - 1, &gi);
    if (rc == 0 && (gi == 0 || gi_id_taken(g, (uint32_t)gi)))
        rc = bad(r, at, "GI id %" PRIu64 " is %s", gi, gi ? "given twice on one GPU" : "not 1 or more");
    struct slot s = {.gi_id = (uint32_t)gi};
    if (rc == 0)
        rc = read_ci(r, field, so, &s);
    json_t *in_use = json_object_get(so, "inUse");
    snprintf(at, sizeof at, "%s.inUse", field);
    if (rc == 0 && !json_is_boolean(in_use))
        rc = bad(r, in_use ? at : field, "%s", in_use ? "not true or false" : "inUse: missing");
    if (rc < 0)
        return rc;
    s.in_use = json_is_true(in_use);
    occupancy_take(&g->occ, p, (unsigned)start, s.gi_id, NULL); /* checked above */
    g->slots[start] = s;
    return 0;
}

static const char *const gpu_keys[] = {"uuid", "mig", "slices", NULL};

static int read_gpu(const struct reader *r, unsigned i, json_t *go, struct emu_gpu *g)
{
    char field[64], at[96], uuid[DEVICE_UUID_MAX];
    snprintf(field, sizeof field, "gpus[%u]", i);
    if (!json_is_object(go))
        return bad(r, field, "not an object");
    int rc = only_keys(r, field, go, gpu_keys);
    snprintf(at, sizeof at, "%s.uuid", field);
    if (rc == 0)
        rc = get_string(r, at, json_object_get(go, "uuid"), uuid, sizeof uuid);
    if (rc == 0 && strcmp(uuid, g->uuid) != 0)
        rc = bad(r, at, "GPU %u is %s here: the file was written for other GPUs (another seed "
                 "or model list)", i, g->uuid);
    snprintf(at, sizeof at, "%s.mig", field);
    if (rc == 0)
        rc = read_mig(r, at, json_object_get(go, "mig"), g);
    json_t *slices = json_object_get(go, "slices");
    snprintf(at, sizeof at, "%s.slices", field);
    if (rc == 0 && !json_is_array(slices))
        rc = bad(r, slices ? at : field, "%s", slices ? "not a list" : "slices: missing");
    if (rc == 0 && json_array_size(slices) > 0 && g->cfg.mig_current != DEVICE_MIG_ENABLED)
        rc = bad(r, at, "slices on a GPU whose MIG is not on");
    for (size_t k = 0; rc == 0 && k < json_array_size(slices); k++) {
        snprintf(at, sizeof at, "%s.slices[%zu]", field, k);
        rc = read_slice(r, at, json_array_get(slices, k), g);
    }
    return rc;
}

static const char *const root_keys[] = {"bootID", "reboots", "migDevicesMade", "gpus", NULL};

static int read_root(const struct reader *r, json_t *root, struct emulated *em)
{
    if (!json_is_object(root))
        return bad(r, "", "not a JSON object");
    int rc = only_keys(r, "", root, root_keys);
    if (rc == 0)
        rc = get_string(r, "bootID", json_object_get(root, "bootID"), em->boot_id,
                        sizeof em->boot_id);
    if (rc == 0)
        rc = get_uint(r, "reboots", json_object_get(root, "reboots"), INT64_MAX, &em->reboots);
    if (rc == 0)
        rc = get_uint(r, "migDevicesMade", json_object_get(root, "migDevicesMade"), INT64_MAX,
                      &em->mig_serial);
    json_t *gpus = json_object_get(root, "gpus");
    if (rc == 0 && !json_is_array(gpus))
        rc = bad(r, gpus ? "gpus" : "", "%s", gpus ? "not a list" : "gpus: missing");
    if (rc == 0 && json_array_size(gpus) != em->cfg.n_gpus)
        rc = bad(r, "gpus", "%zu GPUs, but the node has %u: the file was written for other "
                 "GPUs", json_array_size(gpus), em->cfg.n_gpus);
    for (unsigned i = 0; rc == 0 && i < em->cfg.n_gpus; i++)
        rc = read_gpu(r, i, json_array_get(gpus, i), &em->gpus[i]);
    return rc;
}

int emulated__state_load(struct emulated *em, struct err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = readfile_all(em->cfg.state_path, STATE_FILE_MAX, &text, &len, e);
    if (rc < 0)
        return err_prefix(e, rc, "emulated state file ");
    struct reader r = {.path = em->cfg.state_path, .text = text, .len = len, .e = e};
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        rc = err_set(e, -EINVAL, "emulated state file %s:%d:%d: %s", r.path, je.line, je.column,
                     je.text);
    else
        rc = read_root(&r, root, em);
    json_decref(root);
    free(text);
    return rc;
}
