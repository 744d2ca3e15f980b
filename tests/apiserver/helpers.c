/*
 * Fixtures for the cluster tests (helpers.h).
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "apiserver/bootstrap.h"
#include "apiserver/jsonpath.h"
#include "store/mem.h"

int64_t fixture_clock(void *ctx)
{
    return ((struct fixture *)ctx)->now_ns;
}

struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now_ns = HELPERS_NOW_NS;
    struct mem_store_config cfg = {
        .now_ns = fixture_clock, .clock_ctx = f, .seed = 42, .auto_collect = true};
    struct err e;
    assert_int_equal(mem_store_new(&cfg, &f->st, &e), 0);
    assert_int_equal(bootstrap_namespaces(f->st, &e), 0);
    f->srv.store = f->st;
    f->srv.now_ns = fixture_clock;
    f->srv.clock_ctx = f;
    f->srv.version = "test";
    return f;
}

void fixture_free(struct fixture *f)
{
    store_free(f->st);
    free(f);
}

int fixture_setup(void **state)
{
    *state = fixture_new();
    return 0;
}

int fixture_teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

int registry_setup(void **state)
{
    *state = api_registry_new();
    return *state ? 0 : -1;
}

int registry_teardown(void **state)
{
    api_registry_free(*state);
    return 0;
}

struct reply rest_call(struct fixture *f, const char *method, const char *target,
                       const char *content_type, const char *accept, const char *body,
                       struct watchstream **stream)
{
    struct rest_request req = {
        .method = method,
        .target = target,
        .content_type = content_type,
        .accept = accept,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    struct reply r = {.status = resp.status};
    if (resp.stream && stream) {
        *stream = resp.stream;
        resp.stream = NULL;
    }
    if (resp.list)
        list_drain(resp.list, 4096, &r);
    if (resp.body) {
        r.text = resp.body;
        r.len = resp.len;
        resp.body = NULL;
        r.json = json_loadb(r.text, r.len, 0, NULL);
    }
    rest_response_release(&resp);
    return r;
}

struct reply call(struct fixture *f, const char *method, const char *target, const char *body)
{
    return rest_call(f, method, target, body ? "application/json" : NULL, NULL, body, NULL);
}

void reply_free(struct reply *r)
{
    json_decref(r->json);
    free(r->text);
    memset(r, 0, sizeof *r);
}

const char *reply_reason(const struct reply *r)
{
    const char *kind = json_string_value(json_object_get(r->json, "kind"));
    const char *reason = json_string_value(json_object_get(r->json, "reason"));
    return kind && strcmp(kind, "Status") == 0 && reason ? reason : "";
}

const json_t *reply_at(const struct reply *r, const char *path)
{
    return jsonpath_get(r->json, path);
}

char *stream_drain(struct watchstream *ws, int max_ms)
{
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    assert_non_null(out);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        ssize_t n = watchstream_read(ws, out + len, cap - len - 1, 20);
        if (n < 0)
            break;
        len += (size_t)n;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > max_ms)
            break;
    }
    out[len] = '\0';
    return out;
}

void list_drain(struct liststream *ls, size_t chunk, struct reply *r)
{
    size_t cap = 1 << 16;
    ssize_t n;
    r->streamed = true;
    r->len = 0;
    r->text = malloc(cap);
    assert_non_null(r->text);
    for (;;) {
        if (cap - r->len < chunk + 1) {
            cap *= 2;
            r->text = realloc(r->text, cap);
            assert_non_null(r->text);
        }
        n = liststream_read(ls, r->text + r->len, chunk);
        if (n <= 0)
            break;
        assert_true((size_t)n <= chunk);
        r->len += (size_t)n;
    }
    r->cut = n < 0;
    r->text[r->len] = '\0';
    r->json = json_loadb(r->text, r->len, 0, NULL);
}
