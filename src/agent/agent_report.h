/*
 * The agent's memo of its GPUNode reports (agent_node.c writes them).
 *
 * A pass reads its view of the node (struct gpunode_view) into bytes:
 * equal bytes, equal status, so a pass whose view is the one already found
 * written over the same version of the GPUNode builds nothing. A status
 * that must be built shares, with the one built before, the entry of every
 * GPU whose part of the bytes did not change: one slice's change rebuilt
 * all of a node's GPUs (8 on a large node: 90 % of a write's cost), and
 * the readers of a shared entry (the store comparing versions, the
 * controller's model) can tell it unchanged by its address.
 */
#ifndef GPUSLICE_AGENT_AGENT_REPORT_H
#define GPUSLICE_AGENT_AGENT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/gpunode.h"

struct agent_report_memo {
    char *bytes, *scratch;         /* the view found written; the one read last */
    size_t len, cap, scratch_len, scratch_cap;
    size_t gpu_from[GPUNODE_MAX_GPUS + 1]; /* each GPU's part of scratch */
    char rv[24];                   /* the GPUNode's resourceVersion then */
    char *sent;                    /* the view of the last status sent, */
    size_t sent_len, sent_cap;
    json_t *sent_status;           /* and that status, until found stored */
    /* The entries of status.gpus built last, each with its GPU's part of
     * the view then. */
    struct agent_gpu_entry {
        char *bytes;
        size_t len, cap;
        json_t *entry;
    } gpus[GPUNODE_MAX_GPUS];
};

/* Reads v into m as bytes: every field gpunode_status_new reads. */
void agent_report_view(struct agent_report_memo *m, const struct gpunode_view *v);

/* When the cached GPUNode's status (version rv) is the very object last
 * sent (a store in this process keeps what it is given), that write
 * landed: its view counts as found written there, so the pass after one's
 * own write builds no status to compare. */
void agent_report_landed(struct agent_report_memo *m, const json_t *cached, const char *rv);

/* Whether the view read last is the one found written, over version rv. */
bool agent_report_unchanged(const struct agent_report_memo *m, const char *rv);

/* Whether some view was found written over version rv (over it, another
 * view is another status: only a version not seen needs comparing). */
bool agent_report_seen(const struct agent_report_memo *m, const char *rv);

/* The view read last was found written at version rv (one that does not
 * fit is not remembered). */
void agent_report_written(struct agent_report_memo *m, const char *rv);

/* The status of v, the view read last: what gpunode_status_new(v) makes,
 * to the byte, but with the entry built before for each GPU whose part of
 * the view is the same as then. New reference; NULL when out of memory. */
json_t *agent_report_status(struct agent_report_memo *m, const struct gpunode_view *v);

/* The status made of the view read last goes out in a write (a reference
 * is held so that its address cannot be reused until it is found stored). */
void agent_report_sent(struct agent_report_memo *m, json_t *status);

/* Frees what m holds (not m). */
void agent_report_free(struct agent_report_memo *m);

#endif
