/*
 * The agent's memo of its GPUNode reports (see agent_report.h).
 */
#include "agent/agent_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

static void fp_bytes(struct agent_report_memo *m, const void *p, size_t n)
{
    if (m->scratch_len + n > m->scratch_cap) /* a call saved per field: most passes */
        VEC_RESERVE(m->scratch, m->scratch_cap, m->scratch_len + n);
    memcpy(m->scratch + m->scratch_len, p, n);
    m->scratch_len += n;
}

static void fp_str(struct agent_report_memo *m, const char *s)
{
    if (s)
        fp_bytes(m, s, strlen(s) + 1);
    else
        fp_bytes(m, "\xff", 1); /* NULL, apart from "" */
}

static void fp_uint(struct agent_report_memo *m, unsigned long u)
{
    fp_bytes(m, &u, sizeof u);
}

/* A shared GPU's clients, as their JSON text (NULL apart from []) in
 * their own order: the text of the status entry that writes them. */
static void fp_clients(struct agent_report_memo *m, const json_t *clients)
{
    char *text = clients ? json_dumps(clients, JSON_COMPACT) : NULL;
    fp_str(m, text);
    free(text);
}

/* Every field of v, as bytes, into m's scratch: equal bytes, equal status
 * (gpunode_status_new reads nothing else), and a GPU's part (gpu_from)
 * equal, its entry equal. */
void agent_report_view(struct agent_report_memo *m, const struct gpunode_view *v)
{
    m->scratch_len = 0;
    fp_str(m, v->name);
    fp_str(m, v->boot_id);
    fp_str(m, v->mode_pending);
    fp_str(m, v->mode_pending_since);
    fp_uint(m, v->n_gpus);
    for (size_t i = 0; i < v->n_gpus; i++) {
        const struct gpunode_gpu *g = &v->gpus[i];
        m->gpu_from[i] = m->scratch_len;
        fp_uint(m, g->index);
        fp_str(m, g->uuid);
        fp_str(m, g->product);
        fp_str(m, g->model);
        fp_str(m, g->mig_mode);
        fp_uint(m, g->memory_mib);
        fp_uint(m, g->has_active ? 1u + (unsigned)g->active : 0);
        fp_clients(m, g->clients);
        fp_uint(m, g->n_slices);
        for (size_t k = 0; k < g->n_slices; k++) {
            const struct gpunode_slice *s = &g->slices[k];
            fp_str(m, s->profile);
            fp_uint(m, s->start);
            fp_uint(m, s->size);
            fp_uint(m, s->gi_id);
            fp_uint(m, s->ci_id);
            fp_str(m, s->device_uuid);
            fp_uint(m, s->managed);
        }
    }
    m->gpu_from[v->n_gpus] = m->scratch_len;
}

json_t *agent_report_status(struct agent_report_memo *m, const struct gpunode_view *v)
{
    json_t *entries[GPUNODE_MAX_GPUS];
    for (size_t i = 0; i < v->n_gpus; i++) {
        struct agent_gpu_entry *memo = &m->gpus[i];
        const char *part = m->scratch + m->gpu_from[i];
        size_t n = m->gpu_from[i + 1] - m->gpu_from[i];
        if (!memo->entry || memo->len != n || memcmp(memo->bytes, part, n) != 0) {
            json_t *built = gpunode_gpu_status_new(&v->gpus[i]);
            if (!built)
                return NULL;
            json_decref(memo->entry);
            memo->entry = built;
            VEC_RESERVE(memo->bytes, memo->cap, n);
            memcpy(memo->bytes, part, n);
            memo->len = n;
        }
        entries[i] = memo->entry;
    }
    return gpunode_status_of(v, entries);
}

void agent_report_free(struct agent_report_memo *m)
{
    free(m->bytes);
    free(m->scratch);
    free(m->sent);
    json_decref(m->sent_status);
    for (size_t i = 0; i < GPUNODE_MAX_GPUS; i++) {
        free(m->gpus[i].bytes);
        json_decref(m->gpus[i].entry);
    }
}

bool agent_report_unchanged(const struct agent_report_memo *m, const char *rv)
{
    return rv && m->bytes && m->len == m->scratch_len && strcmp(m->rv, rv) == 0 &&
           memcmp(m->bytes, m->scratch, m->len) == 0;
}

/* The view of n bytes was found written at version rv. */
static void written(struct agent_report_memo *m, const char *view, size_t n, const char *rv)
{
    VEC_RESERVE(m->bytes, m->cap, n);
    memcpy(m->bytes, view, n);
    m->len = n;
    snprintf(m->rv, sizeof m->rv, "%s", rv ? rv : "");
}

void agent_report_sent(struct agent_report_memo *m, json_t *status)
{
    VEC_RESERVE(m->sent, m->sent_cap, m->scratch_len);
    memcpy(m->sent, m->scratch, m->scratch_len);
    m->sent_len = m->scratch_len;
    json_decref(m->sent_status);
    m->sent_status = json_incref(status);
}

void agent_report_landed(struct agent_report_memo *m, const json_t *cached, const char *rv)
{
    if (!m->sent_status || json_object_get(cached, "status") != m->sent_status || !rv ||
        strlen(rv) >= sizeof m->rv)
        return;
    written(m, m->sent, m->sent_len, rv);
    json_decref(m->sent_status);
    m->sent_status = NULL;
}

bool agent_report_seen(const struct agent_report_memo *m, const char *rv)
{
    return rv && m->bytes && strcmp(m->rv, rv) == 0;
}

void agent_report_written(struct agent_report_memo *m, const char *rv)
{
    if (rv && strlen(rv) < sizeof m->rv)
        written(m, m->scratch, m->scratch_len, rv);
}
