/*
 * Shared fixtures of the cluster tests: a mem store with a fixed clock and
 * the system namespaces, and one-line calls into the REST layer that return
 * the status and the parsed JSON answer.
 */
#ifndef GPUSLICE_TESTS_CLUSTER_HELPERS_H
#define GPUSLICE_TESTS_CLUSTER_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apiserver/rest.h"
#include "store/store.h"

/* 2024-05-01T10:00:00Z: the fixtures' "now". */
#define HELPERS_NOW_NS 1714557600000000000LL

struct fixture {
    struct store *st;
    struct rest_server srv;
    int64_t now_ns;
};

/* A fresh mem store (auto-collecting, clock at HELPERS_NOW_NS) with the
 * system namespaces; fails the test on error. */
struct fixture *fixture_new(void);
void fixture_free(struct fixture *f);

/* fixture_new and fixture_free in cmocka's setup/teardown shape, the
 * fixture in *state. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* A fresh api_registry in *state, for a group of tests that only read it. */
int registry_setup(void **state);
int registry_teardown(void **state);

/* The fixture's clock, for configs that take one. */
int64_t fixture_clock(void *ctx);

struct reply {
    int status;
    json_t *json;  /* the body parsed, or NULL when it is not JSON */
    char *text;    /* the body as sent */
    size_t len;
    bool streamed; /* a list stream, read to its end into text */
    bool cut;      /* the list stream ended short (-EIO) */
};

/* Calls rest_handle with the given request; body may be NULL. A watch
 * stream is left in *stream when stream is not NULL (else released); a
 * list stream is read to its end. */
struct reply rest_call(struct fixture *f, const char *method, const char *target,
                       const char *content_type, const char *accept, const char *body,
                       struct watchstream **stream);

/* rest_call with a JSON body and no Accept, stream released. */
struct reply call(struct fixture *f, const char *method, const char *target, const char *body);

void reply_free(struct reply *r);

/* The reason of a Status answer, or "" when it is not one. */
const char *reply_reason(const struct reply *r);

/* A value by JSONPath in the answer (borrowed), for assertions. */
const json_t *reply_at(const struct reply *r, const char *path);

/* Reads a watch stream until it ends or max_ms pass, returning everything
 * it sent; the caller frees the string. */
char *stream_drain(struct watchstream *ws, int max_ms);

/* Reads a list stream to its end, in reads of at most chunk bytes, into
 * r->text and r->json (r->cut when it ended short). */
void list_drain(struct liststream *ls, size_t chunk, struct reply *r);

#endif
