/*
 * Lists streamed page by page (liststream.h), through the REST layer in
 * process: a list longer than a page is answered as a stream whose bytes,
 * read in any chunk size, make the same document the store's whole list
 * makes (JSON, Table, partial metadata; selectors; the client's limit and
 * continue token), at the first page's resourceVersion whatever is
 * written meanwhile; a page the history no longer reaches cuts it short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"
#include "store/mem.h"

#define NS "/api/v1/namespaces/team/pods"
#define PODS (2 * LISTSTREAM_PAGE + 100)
#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io"
#define PARTIAL_ACCEPT "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"

static const struct api_resource *pods_of(struct fixture *f)
{
    return api_registry_find(store_registry(f->st), "", "v1", "pods");
}

static void add_pods(struct fixture *f, int from, int to)
{
    const struct api_resource *ns = api_registry_find(store_registry(f->st), "", "v1",
                                                      "namespaces");
    json_t *team = json_pack("{s:{s:s}}", "metadata", "name", "team");
    store_create(f->st, ns, NULL, team, NULL, NULL, NULL); /* exists after the first call */
    json_decref(team);
    for (int i = from; i < to; i++) {
        char name[32];
        struct err e;
        snprintf(name, sizeof name, "p-%05d", i);
        json_t *pod = json_pack("{s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "metadata", "name",
                                name, "labels", "half", i % 2 ? "odd" : "even", "spec",
                                "containers", "name", "c", "image", "nginx");
        assert_int_equal(store_create(f->st, pods_of(f), "team", pod, NULL, NULL, &e), 0);
        json_decref(pod);
    }
}

static int setup(void **state)
{
    struct fixture *f = fixture_new();
    add_pods(f, 0, PODS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* What the store lists for o, whole, in the form accept asks for (Table
 * rows carrying include). */
static json_t *expected_in(struct fixture *f, const struct store_list_opts *o,
                           const char *accept, enum table_include include)
{
    struct liststream_form form = {.meta_version = "v1", .now_ns = f->now_ns,
                                   .include = include};
    const char *version;
    json_t *list;
    assert_int_equal(media_answer_type(accept, &form.answer, &version, NULL), 0);
    if (form.answer == MEDIA_ANSWER_TABLE)
        assert_int_equal(table_spec_new(f->st, pods_of(f), &form.table, NULL), 0);
    assert_int_equal(store_list(f->st, pods_of(f), "team", o, &list, NULL), 0);
    json_t *answer = liststream_convert(&form, list);
    table_spec_free(form.table);
    return answer;
}

static json_t *expected(struct fixture *f, const struct store_list_opts *o, const char *accept)
{
    return expected_in(f, o, accept, TABLE_INCLUDE_METADATA);
}

static struct reply get(struct fixture *f, const char *target, const char *accept)
{
    struct reply r = rest_call(f, "GET", target, NULL, accept, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    assert_false(r.cut);
    return r;
}

static void assert_json_equal(const json_t *got, const json_t *want)
{
    if (json_equal(got, want))
        return;
    char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
    fail_msg("got  %.400s\nwant %.400s", a, b);
}

static void a_long_list_is_streamed_as_the_whole_list(void **state)
{
    struct fixture *f = *state;
    struct reply r = get(f, NS, NULL);
    assert_true(r.streamed);
    json_t *want = expected(f, &(struct store_list_opts){0}, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), PODS);
    assert_json_equal(r.json, want);
    assert_null(json_object_get(json_object_get(r.json, "metadata"), "continue"));
    json_decref(want);
    reply_free(&r);
    /* Byte by byte, the same bytes. */
    struct rest_request req = {.method = "GET", .target = NS};
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    assert_non_null(resp.list);
    struct reply small = {0}, big = get(f, NS, NULL);
    list_drain(resp.list, 7, &small);
    assert_false(small.cut);
    assert_int_equal(small.len, big.len);
    assert_memory_equal(small.text, big.text, big.len);
    reply_free(&small);
    reply_free(&big);
    rest_response_release(&resp);
}

static void a_short_list_is_answered_whole(void **state)
{
    struct fixture *f = *state;
    struct reply r = get(f, NS "?limit=10", NULL);
    assert_false(r.streamed);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 10);
    reply_free(&r);
    r = get(f, NS "?fieldSelector=metadata.name%3Dp-00003", NULL);
    assert_false(r.streamed);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    reply_free(&r);
}

static void the_clients_limit_and_continue_span_pages(void **state)
{
    struct fixture *f = *state;
    size_t limit = LISTSTREAM_PAGE + 20;
    char target[128];
    snprintf(target, sizeof target, NS "?limit=%zu", limit);
    struct reply r = get(f, target, NULL);
    assert_true(r.streamed);
    json_t *want = expected(f, &(struct store_list_opts){.limit = limit}, NULL);
    assert_json_equal(r.json, want);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), limit);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"),
                                                        "remainingItemCount")),
                     PODS - limit);
    const char *token = json_string_value(json_object_get(json_object_get(r.json, "metadata"),
                                                          "continue"));
    assert_non_null(token);
    char next[32];
    snprintf(next, sizeof next, "p-%05zu", limit);
    snprintf(target, sizeof target, NS "?limit=%d&continue=%s", PODS, token);
    json_decref(want);
    reply_free(&r);
    r = get(f, target, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), PODS - limit);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
                            json_object_get(r.json, "items"), 0), "metadata"), "name")),
                        next);
    assert_null(json_object_get(json_object_get(r.json, "metadata"), "continue"));
    reply_free(&r);
}

static void selectors_tables_and_partial_metadata(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *query, *accept, *labels;
        enum table_include include;
    } cases[] = {
        {"?labelSelector=half%3Dodd", NULL, "half=odd", TABLE_INCLUDE_METADATA},
        {"", TABLE_ACCEPT, NULL, TABLE_INCLUDE_METADATA},
        {"?includeObject=Object", TABLE_ACCEPT, NULL, TABLE_INCLUDE_OBJECT},
        {"?labelSelector=half%3Deven", PARTIAL_ACCEPT, "half=even", TABLE_INCLUDE_METADATA},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char target[128];
        snprintf(target, sizeof target, NS "%s", cases[i].query);
        struct reply r = get(f, target, cases[i].accept);
        assert_true(r.streamed);
        json_t *want = expected_in(
            f, &(struct store_list_opts){.label_selector = cases[i].labels}, cases[i].accept,
            cases[i].include);
        assert_json_equal(r.json, want);
        json_decref(want);
        reply_free(&r);
    }
}

static void pages_are_read_at_the_first_pages_resource_version(void **state)
{
    struct fixture *f = *state;
    struct rest_request req = {.method = "GET", .target = NS};
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    assert_non_null(resp.list);
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)mem_store_revision(f->st));
    char first[1000]; /* within the first page */
    for (size_t got = 0; got < sizeof first;) {
        ssize_t n = liststream_read(resp.list, first + got, sizeof first - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    /* Written after the first page: neither shows. */
    add_pods(f, PODS, PODS + 5);
    assert_int_equal(store_delete(f->st, pods_of(f), "team", "p-00590",
                                  &(struct store_delete_opts){0}, NULL, NULL), 0);
    struct reply r = {0};
    list_drain(resp.list, 4096, &r);
    char *text = malloc(sizeof first + r.len + 1);
    memcpy(text, first, sizeof first);
    memcpy(text + sizeof first, r.text, r.len + 1);
    json_t *got = json_loads(text, 0, NULL);
    json_t *want = expected(f, &(struct store_list_opts){.resource_version = rv, .exact = true},
                            NULL);
    assert_int_equal(json_array_size(json_object_get(got, "items")), PODS);
    assert_json_equal(got, want);
    json_decref(got);
    json_decref(want);
    free(text);
    reply_free(&r);
    rest_response_release(&resp);
}

static void a_page_the_history_no_longer_reaches_cuts_the_stream(void **state)
{
    struct fixture *f = *state;
    struct mem_store_config mc = {.now_ns = fixture_clock, .clock_ctx = f, .seed = 1,
                                  .history = 16};
    store_free(f->st);
    assert_int_equal(mem_store_new(&mc, &f->st, NULL), 0);
    f->srv.store = f->st;
    add_pods(f, 0, PODS);
    struct rest_request req = {.method = "GET", .target = NS};
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    assert_non_null(resp.list);
    add_pods(f, PODS, PODS + 20); /* the first page's version leaves the history */
    struct reply r = {0};
    list_drain(resp.list, 4096, &r);
    assert_true(r.cut);
    assert_null(r.json);
    assert_true(liststream_read(resp.list, (char[8]){0}, 8) < 0);
    reply_free(&r);
    rest_response_release(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_long_list_is_streamed_as_the_whole_list, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_short_list_is_answered_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(the_clients_limit_and_continue_span_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(selectors_tables_and_partial_metadata, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pages_are_read_at_the_first_pages_resource_version,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_page_the_history_no_longer_reaches_cuts_the_stream,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
