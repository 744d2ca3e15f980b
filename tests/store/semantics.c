/*
 * The API-semantics suite of semantics.h: conflicts, finalizers, garbage
 * collection, gated-pod rules, selectors, paging, patches and watches,
 * observed only through store.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "semantics.h"
#include "../common/json_text.h"

struct t {
    const struct store_fixture *f;
    void *ctx;
    struct store *st;
};

static int t_setup(void **state)
{
    const struct store_fixture *f = *state;
    struct t *t = calloc(1, sizeof *t);
    t->f = f;
    if (f->open(&t->ctx, &t->st) != 0) {
        free(t);
        return -1;
    }
    *state = t;
    json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", "t");
    struct err e;
    int rc = store_create(t->st, api_registry_resolve(store_registry(t->st), "namespaces"),
                          NULL, ns, NULL, NULL, &e);
    json_decref(ns);
    return rc;
}

static int t_teardown(void **state)
{
    struct t *t = *state;
    t->f->close(t->ctx, t->st);
    free(t);
    return 0;
}

/* --- helpers ------------------------------------------------------------- */

static const struct api_resource *R(struct t *t, const char *name)
{
    const struct api_resource *r = api_registry_resolve(store_registry(t->st), name);
    assert_non_null(r);
    return r;
}

static void settle(struct t *t)
{
    t->f->settle(t->ctx, t->st);
}

static const char *md_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static uint64_t rv_of(const json_t *obj)
{
    const char *rv = md_str(obj, "resourceVersion");
    assert_non_null(rv);
    return strtoull(rv, NULL, 10);
}

static json_t *pod_json(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                     "metadata", "name", name, "spec", "containers", "name", "main", "image",
                     "busybox");
}

static json_t *cm_json(const char *name)
{
    return json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", name, "data", "k", "v");
}

static json_t *slice_json(const char *name, const char *node)
{
    return json_pack("{s:{s:s}, s:{s:s, s:s, s:s}}", "metadata", "name", name, "spec", "nodeName",
                     node, "gpuUUID", "GPU-0", "profile", "1g.10gb");
}

/* Creates obj (consumed) and returns the stored object. */
static json_t *make(struct t *t, const char *res, json_t *obj)
{
    struct err e;
    json_t *out = NULL;
    int rc = store_create(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, obj, NULL, &out, &e);
    if (rc)
        fail_msg("create %s: %s", res, e.msg);
    json_decref(obj);
    return out;
}

static json_t *get(struct t *t, const char *res, const char *name, int want)
{
    struct err e;
    json_t *out = NULL;
    int rc = store_get(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, name, &out, &e);
    assert_int_equal(rc, want);
    return out;
}

static bool exists(struct t *t, const char *res, const char *name)
{
    struct err e;
    json_t *out = NULL;
    int rc = store_get(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, name, &out, &e);
    json_decref(out);
    return rc == 0;
}

static int update(struct t *t, const char *res, json_t *obj, enum store_subresource sub,
                  json_t **out, struct err *e)
{
    struct store_write_opts o = {.subresource = sub};
    int rc = store_update(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, obj, &o, out, e);
    json_decref(obj);
    return rc;
}

static int patch(struct t *t, const char *res, const char *name, enum store_patch_type type,
                 const char *text, json_t **out, struct err *e)
{
    json_error_t je;
    json_t *p = json_loads(text, 0, &je);
    if (!p)
        fail_msg("bad test patch: %s", je.text);
    struct store_write_opts o = {.field_manager = "test"};
    int rc = store_patch(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, name, type, p,
                         &o, out, e);
    json_decref(p);
    return rc;
}

static int del(struct t *t, const char *res, const char *name, enum store_propagation p,
               struct err *e)
{
    struct store_delete_opts o = {.propagation = p};
    return store_delete(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, name, &o, NULL, e);
}

static void add_owner(json_t *dep, const json_t *owner, bool block)
{
    json_t *md = json_object_get(dep, "metadata");
    json_t *refs = json_object_get(md, "ownerReferences");
    if (!refs)
        json_object_set_new(md, "ownerReferences", refs = json_array());
    json_array_append_new(refs, json_pack("{s:s, s:s, s:s, s:s, s:b}", "apiVersion",
                                          json_string_value(json_object_get(owner, "apiVersion")),
                                          "kind", json_string_value(json_object_get(owner, "kind")),
                                          "name", md_str(owner, "name"), "uid",
                                          md_str(owner, "uid"), "blockOwnerDeletion", block));
}

static json_t *list(struct t *t, const char *res, const struct store_list_opts *o, int want)
{
    struct err e;
    json_t *out = NULL;
    int rc = store_list(t->st, R(t, res), R(t, res)->namespaced ? "t" : NULL, o, &out, &e);
    if (rc != want)
        fail_msg("list %s: got %d (%s), want %d", res, rc, e.msg, want);
    return out;
}

static size_t count(struct t *t, const char *res, const char *ls, const char *fs)
{
    struct store_list_opts o = {.label_selector = ls, .field_selector = fs};
    json_t *l = list(t, res, &o, 0);
    size_t n = json_array_size(json_object_get(l, "items"));
    json_decref(l);
    return n;
}

static struct store_watch *watch(struct t *t, const char *res, const char *rv, const char *ls,
                                 const char *fs)
{
    struct store_watch_opts o = {.label_selector = ls, .field_selector = fs, .resource_version = rv};
    struct store_watch *w = NULL;
    struct err e;
    int rc = store_watch_open(t->st, R(t, res), "t", &o, &w, &e);
    if (rc)
        fail_msg("watch %s: %s", res, e.msg);
    return w;
}

/* The next event within a second; fails the test when none comes. */
static void next(struct store_watch *w, enum store_event_type type, const char *name,
                 struct store_event *ev)
{
    struct err e;
    int rc = store_watch_next(w, 1000, ev, &e);
    if (rc)
        fail_msg("watch next: %d %s", rc, e.msg);
    assert_int_equal(ev->type, type);
    if (name)
        assert_string_equal(md_str(ev->object, "name"), name);
}

static void next_release(struct store_watch *w, enum store_event_type type, const char *name)
{
    struct store_event ev;
    next(w, type, name, &ev);
    store_event_release(&ev);
}

static void no_event(struct store_watch *w)
{
    struct store_event ev;
    struct err e;
    int rc = store_watch_next(w, 0, &ev, &e);
    if (rc == 0)
        fail_msg("unexpected %s event", store_event_name(ev.type));
    assert_int_equal(rc, -EAGAIN);
}

/* --- create, get, update --------------------------------------------------- */

static void create_sets_server_fields(void **state)
{
    struct t *t = *state;
    json_t *pod = make(t, "pods", pod_json("a"));
    assert_non_null(md_str(pod, "uid"));
    assert_int_equal(strlen(md_str(pod, "uid")), 36);
    assert_non_null(md_str(pod, "creationTimestamp"));
    assert_string_equal(md_str(pod, "namespace"), "t");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pod, "metadata"), "generation")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(pod, "status"), "phase")),
                        "Pending");
    json_t *got = get(t, "pods", "a", 0);
    assert_true(json_equal(pod, got));
    json_decref(got);
    json_decref(pod);
    assert_null(get(t, "pods", "missing", -ENOENT));
}

/* A shared read sees what a copy sees, and a version read so stays as it
 * was when the object is written again. */
static void a_shared_read_is_the_stored_version(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *v1 = make(t, "configmaps", cm_json("c")), *shared = NULL, *v2 = NULL;
    assert_int_equal(store_get_shared(t->st, R(t, "configmaps"), "t", "c", &shared, &e), 0);
    assert_true(json_equal(shared, v1));
    json_t *mod = json_deep_copy(v1);
    json_object_set_new(json_object_get(mod, "data"), "k", json_string("v2"));
    assert_int_equal(update(t, "configmaps", mod, STORE_MAIN, &v2, &e), 0);
    assert_true(json_equal(shared, v1));
    json_decref(shared);
    assert_int_equal(store_get_shared(t->st, R(t, "configmaps"), "t", "c", &shared, &e), 0);
    assert_true(json_equal(shared, v2));
    json_decref(shared);
    assert_int_equal(store_get_shared(t->st, R(t, "configmaps"), "t", "nope", &shared, &e),
                     -ENOENT);
    assert_null(shared);
    assert_int_equal(store_get_shared(t->st, R(t, "configmaps"), NULL, "c", &shared, &e),
                     -EBADMSG);
    json_decref(v1);
    json_decref(v2);
}

static void create_existing_name_is_already_exists(void **state)
{
    struct t *t = *state;
    json_decref(make(t, "pods", pod_json("a")));
    struct err e;
    json_t *p = pod_json("a");
    assert_int_equal(store_create(t->st, R(t, "pods"), "t", p, NULL, NULL, &e), -EEXIST);
    assert_string_equal(e.msg, "pods \"a\" already exists");
    json_decref(p);
}

static void generate_name_picks_a_free_name(void **state)
{
    struct t *t = *state;
    json_t *p = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "generateName", "web-", "data", "a", "b");
    json_t *a = make(t, "configmaps", json_deep_copy(p));
    json_t *b = make(t, "configmaps", p);
    assert_int_equal(strlen(md_str(a, "name")), strlen("web-") + 5);
    assert_memory_equal(md_str(a, "name"), "web-", 4);
    assert_string_not_equal(md_str(a, "name"), md_str(b, "name"));
    json_decref(a);
    json_decref(b);
}

static void bad_names_and_labels_are_invalid(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *p = pod_json("Bad_Name");
    assert_int_equal(store_create(t->st, R(t, "pods"), "t", p, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.name"));
    json_decref(p);
    p = pod_json("ok");
    json_object_set_new(json_object_get(p, "metadata"), "labels", json_pack("{s:s}", "app", "a b"));
    assert_int_equal(store_create(t->st, R(t, "pods"), "t", p, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.labels"));
    json_decref(p);
    p = json_pack("{s:{s:s}}", "metadata", "name", "Not.A.Label");
    assert_int_equal(store_create(t->st, R(t, "namespaces"), NULL, p, NULL, NULL, &e), -EINVAL);
    json_decref(p);
    p = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "cm", "data", "a/b", "x");
    assert_int_equal(store_create(t->st, R(t, "configmaps"), "t", p, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "ConfigMap \"cm\" is invalid: data[a/b]"));
    json_decref(p);
    p = pod_json("res");
    json_object_set_new(json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0),
                        "resources", json_pack("{s:{s:s}}", "requests", "nvidia.com/mig-1g.10gb", "0.5"));
    assert_int_equal(store_create(t->st, R(t, "pods"), "t", p, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.containers[0].resources.requests[nvidia.com/mig-1g.10gb]"));
    json_decref(p);
}

static void stale_update_is_conflict(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *v1 = make(t, "configmaps", cm_json("c"));
    json_t *v2 = NULL;
    json_t *mod = json_deep_copy(v1);
    json_object_set_new(json_object_get(mod, "data"), "k", json_string("v2"));
    assert_int_equal(update(t, "configmaps", mod, STORE_MAIN, &v2, &e), 0);
    assert_true(rv_of(v2) > rv_of(v1));
    /* a write based on v1 is refused */
    mod = json_deep_copy(v1);
    json_object_set_new(json_object_get(mod, "data"), "k", json_string("v3"));
    assert_int_equal(update(t, "configmaps", mod, STORE_MAIN, NULL, &e), -ESTALE);
    assert_non_null(strstr(e.msg, "the object has been modified"));
    /* without a resourceVersion the update is unconditional */
    mod = json_deep_copy(v1);
    json_object_del(json_object_get(mod, "metadata"), "resourceVersion");
    json_object_set_new(json_object_get(mod, "data"), "k", json_string("v4"));
    assert_int_equal(update(t, "configmaps", mod, STORE_MAIN, NULL, &e), 0);
    /* an update of something missing */
    assert_int_equal(update(t, "configmaps", cm_json("nope"), STORE_MAIN, NULL, &e), -ENOENT);
    json_decref(v1);
    json_decref(v2);
}

static void noop_update_keeps_resource_version(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *v1 = make(t, "configmaps", cm_json("c"));
    struct store_watch *w = watch(t, "configmaps", md_str(v1, "resourceVersion"), NULL, NULL);
    json_t *v2 = NULL;
    assert_int_equal(update(t, "configmaps", json_deep_copy(v1), STORE_MAIN, &v2, &e), 0);
    assert_int_equal(rv_of(v2), rv_of(v1));
    no_event(w);
    store_watch_close(w);
    json_decref(v1);
    json_decref(v2);
}

static void resource_version_is_cluster_wide(void **state)
{
    struct t *t = *state;
    json_t *a = make(t, "configmaps", cm_json("a"));
    json_t *b = make(t, "pods", pod_json("b"));
    json_t *c = make(t, "gpunodes", json_pack("{s:{s:s}}", "metadata", "name", "n1"));
    assert_true(rv_of(a) < rv_of(b));
    assert_true(rv_of(b) < rv_of(c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void generation_counts_spec_changes_only(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *s = make(t, "gpuslices", slice_json("s", "n1"));
    json_t *out = NULL;
    json_t *mod = json_deep_copy(s);
    json_object_set_new(json_object_get(mod, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
    assert_int_equal(update(t, "gpuslices", mod, STORE_MAIN, &out, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")), 1);
    mod = out;
    json_object_set_new(mod, "status", json_pack("{s:s}", "phase", "Created"));
    assert_int_equal(update(t, "gpuslices", mod, STORE_STATUS, &out, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")), 1);
    mod = out;
    json_object_set_new(json_object_get(mod, "spec"), "profile", json_string("2g.20gb"));
    assert_int_equal(update(t, "gpuslices", mod, STORE_MAIN, &out, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")), 2);
    json_decref(out);
    json_decref(s);
}

static void status_subresource_splits_writes(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *s = make(t, "gpuslices", slice_json("s", "n1"));
    /* a main write ignores status */
    json_t *mod = json_deep_copy(s), *out = NULL;
    json_object_set_new(mod, "status", json_pack("{s:s}", "phase", "Created"));
    assert_int_equal(update(t, "gpuslices", mod, STORE_MAIN, &out, &e), 0);
    assert_null(json_object_get(out, "status"));
    /* a status write ignores spec and labels */
    mod = out;
    json_object_set_new(mod, "status", json_pack("{s:s}", "phase", "Created"));
    json_object_set_new(json_object_get(mod, "spec"), "nodeName", json_string("elsewhere"));
    json_object_set_new(json_object_get(mod, "metadata"), "labels", json_pack("{s:s}", "x", "y"));
    assert_int_equal(update(t, "gpuslices", mod, STORE_STATUS, &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
                        "Created");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "spec"), "nodeName")), "n1");
    assert_null(json_object_get(json_object_get(out, "metadata"), "labels"));
    /* ... and needs none: a body of metadata and status keeps the stored spec */
    mod = json_pack("{s:O, s:O, s:O, s:{s:s}}", "apiVersion", json_object_get(out, "apiVersion"),
                    "kind", json_object_get(out, "kind"), "metadata",
                    json_object_get(out, "metadata"), "status", "phase", "Ungated");
    json_decref(out);
    assert_int_equal(update(t, "gpuslices", mod, STORE_STATUS, &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
                        "Ungated");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "spec"), "nodeName")), "n1");
    json_decref(out);
    /* a resource without the subresource */
    assert_int_equal(update(t, "configmaps", cm_json("x"), STORE_STATUS, NULL, &e), -ENOENT);
    json_decref(s);
}

/* Handed over (take), an object is stored as a copying write stores it;
 * the caller may still read it, and later writes and reads see it whole. */
static void taken_objects_are_stored_as_given(void **state)
{
    struct t *t = *state;
    struct err e;
    const struct api_resource *pods = R(t, "pods"), *slices = R(t, "gpuslices");
    struct store_write_opts take = {.handed_over = true};
    json_t *pod = pod_json("taken");
    assert_int_equal(store_create(t->st, pods, "t", pod, &take, NULL, &e), 0);
    assert_string_equal(md_str(pod, "name"), "taken");
    json_decref(pod);
    json_t *got = get(t, "pods", "taken", 0);
    assert_string_equal(json_string_value(json_object_get(got, "kind")), "Pod");
    /* an update handed over, then a status update handed over */
    json_object_set_new(json_object_get(got, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
    assert_int_equal(store_update(t->st, pods, "t", got, &take, NULL, &e), 0);
    json_decref(got);
    json_t *s = make(t, "gpuslices", slice_json("s", "n1"));
    json_object_set_new(s, "status", json_pack("{s:s}", "phase", "Created"));
    struct store_write_opts take_status = {.subresource = STORE_STATUS, .handed_over = true};
    assert_int_equal(store_update(t->st, slices, "t", s, &take_status, NULL, &e), 0);
    json_decref(s);
    got = get(t, "pods", "taken", 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(got, "metadata"), "labels"), "a")),
                        "b");
    json_decref(got);
    got = get(t, "gpuslices", "s", 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "status"), "phase")),
                        "Created");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "spec"), "nodeName")),
                        "n1");
    json_decref(got);
}


static void dry_run_stores_nothing(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *p = cm_json("dry");
    json_t *out = NULL;
    struct store_write_opts o = {.dry_run = true};
    assert_int_equal(store_create(t->st, R(t, "configmaps"), "t", p, &o, &out, &e), 0);
    assert_string_equal(md_str(out, "name"), "dry");
    assert_false(exists(t, "configmaps", "dry"));
    json_decref(p);
    json_decref(out);
}

/* --- deletion, finalizers, garbage collection ---------------------------- */

static void finalizers_hold_deletion(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *c = cm_json("f");
    json_object_set_new(json_object_get(c, "metadata"), "finalizers", json_pack("[s, s]", "x.io/a", "x.io/b"));
    json_decref(make(t, "configmaps", c));
    assert_int_equal(del(t, "configmaps", "f", STORE_PROPAGATE_DEFAULT, &e), 0);
    json_t *marked = get(t, "configmaps", "f", 0);
    assert_non_null(md_str(marked, "deletionTimestamp"));
    /* no new finalizers once deleting */
    json_t *mod = json_deep_copy(marked);
    json_array_append_new(json_object_get(json_object_get(mod, "metadata"), "finalizers"),
                          json_string("x.io/c"));
    assert_int_equal(update(t, "configmaps", mod, STORE_MAIN, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.finalizers"));
    /* removing one keeps it, removing the last deletes it */
    json_t *out = NULL;
    assert_int_equal(patch(t, "configmaps", "f", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"finalizers\":[\"x.io/b\"]}}", &out, &e), 0);
    assert_true(exists(t, "configmaps", "f"));
    json_decref(out);
    assert_int_equal(patch(t, "configmaps", "f", STORE_PATCH_JSON,
                           "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]", NULL, &e), 0);
    assert_false(exists(t, "configmaps", "f"));
    json_decref(marked);
}

static void delete_preconditions(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *c = make(t, "configmaps", cm_json("p"));
    struct store_delete_opts o = {.precondition_uid = "not-the-uid"};
    assert_int_equal(store_delete(t->st, R(t, "configmaps"), "t", "p", &o, NULL, &e), -ESTALE);
    o = (struct store_delete_opts){.precondition_resource_version = "1"};
    assert_int_equal(store_delete(t->st, R(t, "configmaps"), "t", "p", &o, NULL, &e), -ESTALE);
    o = (struct store_delete_opts){.precondition_uid = md_str(c, "uid"),
                                   .precondition_resource_version = md_str(c, "resourceVersion")};
    assert_int_equal(store_delete(t->st, R(t, "configmaps"), "t", "p", &o, NULL, &e), 0);
    assert_false(exists(t, "configmaps", "p"));
    assert_int_equal(del(t, "configmaps", "p", STORE_PROPAGATE_DEFAULT, &e), -ENOENT);
    json_decref(c);
}

static void bound_pod_deletion_is_graceful(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "pods", pod_json("g")));
    assert_int_equal(store_bind(t->st, "t", "g", "node-1", &e), 0);
    /* a grace past any time a deletionTimestamp can say (now + grace
     * overflowed its nanoseconds) is refused, the pod left as it was */
    struct store_delete_opts ages = {.has_grace = true, .grace_s = 9300000000LL};
    assert_int_equal(store_delete(t->st, R(t, "pods"), "t", "g", &ages, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "gracePeriodSeconds"));
    json_t *p = get(t, "pods", "g", 0);
    assert_null(md_str(p, "deletionTimestamp"));
    json_decref(p);
    assert_int_equal(del(t, "pods", "g", STORE_PROPAGATE_DEFAULT, &e), 0);
    p = get(t, "pods", "g", 0);
    assert_non_null(md_str(p, "deletionTimestamp"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "metadata"),
                                                        "deletionGracePeriodSeconds")), 30);
    json_decref(p);
    struct store_delete_opts now = {.has_grace = true, .grace_s = 0};
    assert_int_equal(store_delete(t->st, R(t, "pods"), "t", "g", &now, NULL, &e), 0);
    assert_false(exists(t, "pods", "g"));
    /* an unbound pod goes at once */
    json_decref(make(t, "pods", pod_json("u")));
    assert_int_equal(del(t, "pods", "u", STORE_PROPAGATE_DEFAULT, &e), 0);
    assert_false(exists(t, "pods", "u"));
}

/* owner (a ReplicaSet-like ConfigMap) -> two pods */
static json_t *owner_with_pods(struct t *t, const char *owner, bool block)
{
    json_t *o = make(t, "configmaps", cm_json(owner));
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-pod-%d", owner, i);
        json_t *p = pod_json(name);
        add_owner(p, o, block);
        json_decref(make(t, "pods", p));
    }
    return o;
}

static void gc_background_deletes_dependents(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(owner_with_pods(t, "o", true));
    settle(t);
    assert_true(exists(t, "pods", "o-pod-0"));
    assert_int_equal(del(t, "configmaps", "o", STORE_PROPAGATE_BACKGROUND, &e), 0);
    assert_false(exists(t, "configmaps", "o"));
    settle(t);
    assert_false(exists(t, "pods", "o-pod-0"));
    assert_false(exists(t, "pods", "o-pod-1"));
}

static void gc_foreground_deletes_dependents_first(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(owner_with_pods(t, "o", true));
    /* one dependent holds on with a finalizer */
    assert_int_equal(patch(t, "pods", "o-pod-0", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"finalizers\":[\"x.io/hold\"]}}", NULL, &e), 0);
    assert_int_equal(del(t, "configmaps", "o", STORE_PROPAGATE_FOREGROUND, &e), 0);
    settle(t);
    json_t *o = get(t, "configmaps", "o", 0);
    assert_non_null(md_str(o, "deletionTimestamp"));
    const json_t *fins = json_object_get(json_object_get(o, "metadata"), "finalizers");
    assert_string_equal(json_string_value(json_array_get(fins, 0)), "foregroundDeletion");
    json_decref(o);
    assert_false(exists(t, "pods", "o-pod-1"));
    json_t *held = get(t, "pods", "o-pod-0", 0);
    assert_non_null(md_str(held, "deletionTimestamp"));
    json_decref(held);
    /* the owner goes once the blocking dependent is gone */
    assert_int_equal(patch(t, "pods", "o-pod-0", STORE_PATCH_JSON,
                           "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]", NULL, &e), 0);
    settle(t);
    assert_false(exists(t, "pods", "o-pod-0"));
    assert_false(exists(t, "configmaps", "o"));
}

static void gc_foreground_does_not_wait_for_non_blocking(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(owner_with_pods(t, "o", false));
    assert_int_equal(patch(t, "pods", "o-pod-0", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"finalizers\":[\"x.io/hold\"]}}", NULL, &e), 0);
    assert_int_equal(del(t, "configmaps", "o", STORE_PROPAGATE_FOREGROUND, &e), 0);
    settle(t);
    assert_false(exists(t, "configmaps", "o"));
    assert_true(exists(t, "pods", "o-pod-0")); /* still finalizing */
}

static void gc_orphan_keeps_dependents(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(owner_with_pods(t, "o", true));
    assert_int_equal(del(t, "configmaps", "o", STORE_PROPAGATE_ORPHAN, &e), 0);
    settle(t);
    assert_false(exists(t, "configmaps", "o"));
    json_t *p = get(t, "pods", "o-pod-0", 0);
    assert_null(json_object_get(json_object_get(p, "metadata"), "ownerReferences"));
    json_decref(p);
    assert_true(exists(t, "pods", "o-pod-1"));
}

static void gc_keeps_dependents_with_a_live_owner(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *a = make(t, "configmaps", cm_json("a"));
    json_t *b = make(t, "configmaps", cm_json("b"));
    json_t *p = pod_json("shared");
    add_owner(p, a, false);
    add_owner(p, b, false);
    json_decref(make(t, "pods", p));
    assert_int_equal(del(t, "configmaps", "a", STORE_PROPAGATE_BACKGROUND, &e), 0);
    settle(t);
    json_t *left = get(t, "pods", "shared", 0);
    const json_t *refs = json_object_get(json_object_get(left, "metadata"), "ownerReferences");
    assert_int_equal(json_array_size(refs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 0), "name")), "b");
    json_decref(left);
    json_decref(a);
    json_decref(b);
}

static void gc_deletes_objects_with_missing_owners(void **state)
{
    struct t *t = *state;
    json_t *ghost = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                              "metadata", "name", "ghost", "uid", "00000000-0000-4000-8000-000000000000");
    json_t *p = pod_json("orphaned");
    add_owner(p, ghost, false);
    json_decref(make(t, "pods", p));
    settle(t);
    assert_false(exists(t, "pods", "orphaned"));
    json_decref(ghost);
}

static void gc_cascades_through_levels(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *top = make(t, "configmaps", cm_json("top"));
    json_t *mid = cm_json("mid");
    add_owner(mid, top, true);
    mid = make(t, "configmaps", mid);
    json_t *leaf = pod_json("leaf");
    add_owner(leaf, mid, true);
    json_decref(make(t, "pods", leaf));
    assert_int_equal(del(t, "configmaps", "top", STORE_PROPAGATE_FOREGROUND, &e), 0);
    settle(t);
    assert_false(exists(t, "pods", "leaf"));
    assert_false(exists(t, "configmaps", "mid"));
    assert_false(exists(t, "configmaps", "top"));
    json_decref(top);
    json_decref(mid);
}

static void namespace_deletion_empties_it(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "configmaps", cm_json("x")));
    json_decref(make(t, "pods", pod_json("y")));
    json_t *ns = get(t, "namespaces", "t", 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ns, "metadata"), "labels"),
                            "kubernetes.io/metadata.name")), "t");
    json_decref(ns);
    assert_int_equal(del(t, "namespaces", "t", STORE_PROPAGATE_DEFAULT, &e), 0);
    json_t *p = cm_json("late");
    assert_int_equal(store_create(t->st, R(t, "configmaps"), "t", p, NULL, NULL, &e), -EPERM);
    json_decref(p);
    settle(t);
    assert_false(exists(t, "configmaps", "x"));
    assert_false(exists(t, "pods", "y"));
    assert_false(exists(t, "namespaces", "t"));
}

/* --- pods: gates, binding ------------------------------------------------- */

static json_t *gated_pod(struct t *t, const char *name)
{
    json_t *p = pod_json(name);
    json_object_set_new(json_object_get(p, "spec"), "schedulingGates",
                        json_pack("[{s:s}, {s:s}]", "name", "gpuslice.dev/slice", "name", "x.io/other"));
    return make(t, "pods", p);
}

static void gated_pod_is_scheduling_gated(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *p = gated_pod(t, "g");
    const json_t *c = json_array_get(json_object_get(json_object_get(p, "status"), "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "PodScheduled");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "False");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "SchedulingGated");
    assert_string_equal(json_string_value(json_object_get(c, "message")),
                        "Scheduling is blocked due to non-empty scheduling gates");
    assert_keys_begin(c, "type,status,reason,message,lastProbeTime,lastTransitionTime");
    assert_int_equal(json_object_size(c), 6);
    assert_true(json_is_null(json_object_get(c, "lastProbeTime")));
    assert_true(json_is_string(json_object_get(c, "lastTransitionTime")));
    json_decref(p);
    /* a gated pod cannot name a node */
    p = pod_json("n");
    json_object_set_new(json_object_get(p, "spec"), "schedulingGates", json_pack("[{s:s}]", "name", "a.io/b"));
    json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string("node-1"));
    assert_int_equal(store_create(t->st, R(t, "pods"), "t", p, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.nodeName"));
    json_decref(p);
}

static void gates_may_only_be_removed(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(gated_pod(t, "g"));
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_STRATEGIC,
                           "{\"spec\":{\"schedulingGates\":[{\"name\":\"x.io/new\"}]}}", NULL, &e),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "only deletion is allowed"));
    json_t *out = NULL;
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_STRATEGIC,
                           "{\"spec\":{\"schedulingGates\":[{\"name\":\"x.io/other\",\"$patch\":\"delete\"}]}}",
                           &out, &e), 0);
    const json_t *gates = json_object_get(json_object_get(out, "spec"), "schedulingGates");
    assert_int_equal(json_array_size(gates), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(gates, 0), "name")),
                        "gpuslice.dev/slice");
    json_decref(out);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_JSON,
                           "[{\"op\":\"remove\",\"path\":\"/spec/schedulingGates\"}]", &out, &e), 0);
    json_decref(out);
    /* and never come back */
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"schedulingGates\":[{\"name\":\"gpuslice.dev/slice\"}]}}",
                           NULL, &e), -EINVAL);
}

static void gated_pod_scheduling_may_be_tightened(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(gated_pod(t, "g"));
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"n1\"}}}", NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"nodeSelector\":{\"zone\":\"a\"}}}", NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"nodeSelector\":{\"zone\":\"b\"}}}", NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.nodeSelector"));
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"nodeSelector\":{\"zone\":null}}}", NULL, &e), -EINVAL);
    const char *req1 =
        "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]}}}}}";
    const char *req2 =
        "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"},"
        "{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]}}}}}";
    const char *other =
        "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
        "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]}}}}}";
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE, req1, NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE, req2, NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE, other, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "nodeAffinity"));
    /* ungated, the same fields are fixed */
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_JSON,
                           "[{\"op\":\"remove\",\"path\":\"/spec/schedulingGates\"}]", NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_MERGE,
                           "{\"spec\":{\"nodeSelector\":{\"more\":\"x\"}}}", NULL, &e), -EINVAL);
}

static void pod_spec_is_otherwise_immutable(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "pods", pod_json("p")));
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_STRATEGIC,
                           "{\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox:2\"}]}}",
                           NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_MERGE,
                           "{\"spec\":{\"restartPolicy\":\"Never\"}}", NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "pod updates may not change fields"));
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_MERGE, "{\"spec\":{\"nodeName\":\"n\"}}",
                           NULL, &e), -EINVAL);
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_MERGE,
                           "{\"spec\":{\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}",
                           NULL, &e), 0);
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_MERGE, "{\"spec\":{\"tolerations\":[]}}",
                           NULL, &e), -EINVAL);
    /* status is the pod's own business */
    json_t *out = NULL;
    struct store_write_opts so = {.subresource = STORE_STATUS};
    json_t *ph = json_pack("{s:{s:s}}", "status", "phase", "Running");
    assert_int_equal(store_patch(t->st, R(t, "pods"), "t", "p", STORE_PATCH_MERGE, ph, &so, &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
                        "Running");
    json_decref(ph);
    json_decref(out);
}

static void binding_sets_node_once(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(gated_pod(t, "g"));
    assert_int_equal(store_bind(t->st, "t", "g", "n1", &e), -ESTALE);
    assert_int_equal(patch(t, "pods", "g", STORE_PATCH_JSON,
                           "[{\"op\":\"remove\",\"path\":\"/spec/schedulingGates\"}]", NULL, &e), 0);
    assert_int_equal(store_bind(t->st, "t", "g", "n1", &e), 0);
    json_t *p = get(t, "pods", "g", 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName")), "n1");
    const json_t *c = json_array_get(json_object_get(json_object_get(p, "status"), "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    assert_string_equal(json_string_value(json_object_get(c, "type")), "PodScheduled");
    assert_keys_begin(c, "type,status,lastProbeTime,lastTransitionTime");
    assert_int_equal(json_object_size(c), 4);
    assert_true(json_is_null(json_object_get(c, "lastProbeTime")));
    assert_true(json_is_string(json_object_get(c, "lastTransitionTime")));
    json_decref(p);
    assert_int_equal(store_bind(t->st, "t", "g", "n2", &e), -ESTALE);
    assert_non_null(strstr(e.msg, "already assigned"));
    assert_int_equal(store_bind(t->st, "t", "missing", "n1", &e), -ENOENT);
}

/* --- selectors and lists ---------------------------------------------------- */

static void labelled(struct t *t, const char *name, const char *app, const char *tier)
{
    json_t *c = cm_json(name);
    json_t *labels = json_object();
    if (app)
        json_object_set_new(labels, "app", json_string(app));
    if (tier)
        json_object_set_new(labels, "tier", json_string(tier));
    json_object_set_new(json_object_get(c, "metadata"), "labels", labels);
    json_decref(make(t, "configmaps", c));
}

static void label_selectors(void **state)
{
    struct t *t = *state;
    labelled(t, "a", "web", "front");
    labelled(t, "b", "web", "back");
    labelled(t, "c", "db", NULL);
    labelled(t, "d", NULL, NULL);
    assert_int_equal(count(t, "configmaps", "app=web", NULL), 2);
    assert_int_equal(count(t, "configmaps", "app==web,tier=back", NULL), 1);
    assert_int_equal(count(t, "configmaps", "app!=web", NULL), 2);
    assert_int_equal(count(t, "configmaps", "app in (web, db)", NULL), 3);
    assert_int_equal(count(t, "configmaps", "app notin (web)", NULL), 2);
    assert_int_equal(count(t, "configmaps", "tier", NULL), 2);
    assert_int_equal(count(t, "configmaps", "!tier", NULL), 2);
    assert_int_equal(count(t, "configmaps", "app,!tier", NULL), 1);
    struct store_list_opts bad = {.label_selector = "app in web"};
    json_decref(list(t, "configmaps", &bad, -EBADMSG));
}

static void field_selectors(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "pods", pod_json("a")));
    json_decref(make(t, "pods", pod_json("b")));
    assert_int_equal(store_bind(t->st, "t", "a", "n1", &e), 0);
    assert_int_equal(count(t, "pods", NULL, "metadata.name=b"), 1);
    assert_int_equal(count(t, "pods", NULL, "spec.nodeName=n1"), 1);
    assert_int_equal(count(t, "pods", NULL, "spec.nodeName="), 1);
    assert_int_equal(count(t, "pods", NULL, "spec.nodeName!=n1,status.phase=Pending"), 1);
    assert_int_equal(count(t, "pods", NULL, "metadata.namespace=t"), 2);
    struct store_list_opts bad = {.field_selector = "spec.image=x"};
    json_decref(list(t, "pods", &bad, -EBADMSG));
    json_decref(make(t, "events", json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:s}", "metadata", "name",
                                            "ev1", "involvedObject", "kind", "Pod", "name", "a",
                                            "namespace", "t", "reason", "Scheduled")));
    assert_int_equal(count(t, "events", NULL, "involvedObject.name=a,involvedObject.kind=Pod"), 1);
    assert_int_equal(count(t, "events", NULL, "involvedObject.name=b"), 0);
    json_decref(make(t, "gpuslices", slice_json("s1", "n1")));
    json_decref(make(t, "gpuslices", slice_json("s2", "n2")));
    assert_int_equal(count(t, "gpuslices", NULL, "spec.nodeName=n2"), 1);
}

static void paged_list_is_a_consistent_snapshot(void **state)
{
    struct t *t = *state;
    struct err e;
    for (int i = 0; i < 25; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%02d", i);
        json_decref(make(t, "configmaps", cm_json(name)));
    }
    struct store_list_opts o = {.limit = 10};
    json_t *page = list(t, "configmaps", &o, 0);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 10);
    assert_string_equal(md_str(json_array_get(json_object_get(page, "items"), 0), "name"), "c00");
    const char *tok = md_str(page, "continue");
    assert_non_null(tok);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(page, "metadata"),
                                                        "remainingItemCount")), 15);
    char *token = strdup(tok);
    uint64_t at = rv_of(page);
    json_decref(page);
    /* changes after the first page do not show in later pages */
    assert_int_equal(del(t, "configmaps", "c15", STORE_PROPAGATE_DEFAULT, &e), 0);
    json_decref(make(t, "configmaps", cm_json("c99")));
    size_t seen = 10;
    bool saw15 = false;
    while (token) {
        o = (struct store_list_opts){.limit = 10, .continue_token = token};
        page = list(t, "configmaps", &o, 0);
        assert_int_equal(rv_of(page), at);
        json_t *items = json_object_get(page, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            assert_string_not_equal(md_str(json_array_get(items, i), "name"), "c99");
            saw15 |= !strcmp(md_str(json_array_get(items, i), "name"), "c15");
        }
        seen += json_array_size(items);
        free(token);
        token = md_str(page, "continue") ? strdup(md_str(page, "continue")) : NULL;
        json_decref(page);
    }
    assert_int_equal(seen, 25);
    assert_true(saw15);
    /* a fresh list sees the present */
    assert_int_equal(count(t, "configmaps", NULL, NULL), 25);
}

/* A list of a cluster-scoped kind pages: a page that ends at one of its
 * objects continues after it (the mem store's token names its bare name
 * now; the kube backend's list once refused such a list for a
 * namespace). */
static void paged_cluster_scoped_list_continues(void **state)
{
    struct t *t = *state;
    const char *const names[] = {"n1", "n2", "n3"};
    for (size_t i = 0; i < 3; i++)
        json_decref(make(t, "gpunodes", json_pack("{s:{s:s}}", "metadata", "name", names[i])));
    struct store_list_opts o = {.limit = 2};
    json_t *page = list(t, "gpunodes", &o, 0);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
    char *token = strdup(md_str(page, "continue"));
    json_decref(page);
    o = (struct store_list_opts){.limit = 2, .continue_token = token};
    page = list(t, "gpunodes", &o, 0);
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(md_str(json_array_get(items, 0), "name"), "n3");
    assert_null(md_str(page, "continue"));
    json_decref(page);
    free(token);
}

static void continue_token_expires_with_compaction(void **state)
{
    struct t *t = *state;
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_decref(make(t, "configmaps", cm_json(name)));
    }
    struct store_list_opts o = {.limit = 2};
    json_t *page = list(t, "configmaps", &o, 0);
    char *token = strdup(md_str(page, "continue"));
    json_decref(page);
    json_decref(make(t, "configmaps", cm_json("later")));
    t->f->compact(t->ctx, t->st);
    o = (struct store_list_opts){.limit = 2, .continue_token = token};
    json_decref(list(t, "configmaps", &o, -EKEYEXPIRED));
    free(token);
    o = (struct store_list_opts){.continue_token = "!!not a token!!"};
    json_decref(list(t, "configmaps", &o, -EBADMSG));
}

/* --- patches ----------------------------------------------------------------- */

static void merge_and_json_patches(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "configmaps", cm_json("c")));
    json_t *out = NULL;
    assert_int_equal(patch(t, "configmaps", "c", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"data\":{\"k\":null,\"n\":\"2\"}}",
                           &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"), "a")), "1");
    assert_null(json_object_get(json_object_get(out, "data"), "k"));
    json_decref(out);
    assert_int_equal(patch(t, "configmaps", "c", STORE_PATCH_JSON,
                           "[{\"op\":\"test\",\"path\":\"/data/n\",\"value\":\"2\"},"
                           "{\"op\":\"replace\",\"path\":\"/data/n\",\"value\":\"3\"},"
                           "{\"op\":\"copy\",\"from\":\"/data/n\",\"path\":\"/data/m\"},"
                           "{\"op\":\"move\",\"from\":\"/data/m\",\"path\":\"/data/o\"},"
                           "{\"op\":\"add\",\"path\":\"/metadata/labels/b~1c\",\"value\":\"x\"}]",
                           &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "data"), "o")), "3");
    assert_null(json_object_get(json_object_get(out, "data"), "m"));
    assert_non_null(json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"), "b/c"));
    json_decref(out);
    /* a failed test changes nothing */
    json_t *before = get(t, "configmaps", "c", 0);
    assert_int_equal(patch(t, "configmaps", "c", STORE_PATCH_JSON,
                           "[{\"op\":\"replace\",\"path\":\"/data/n\",\"value\":\"9\"},"
                           "{\"op\":\"test\",\"path\":\"/data/n\",\"value\":\"2\"}]", NULL, &e), -EINVAL);
    json_t *after = get(t, "configmaps", "c", 0);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    assert_int_equal(patch(t, "configmaps", "c", STORE_PATCH_JSON, "{\"op\":\"add\"}", NULL, &e), -EBADMSG);
    assert_int_equal(patch(t, "configmaps", "missing", STORE_PATCH_MERGE, "{}", NULL, &e), -ENOENT);
    /* a resourceVersion in a patch is a precondition */
    assert_int_equal(patch(t, "configmaps", "c", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"resourceVersion\":\"1\"},\"data\":{\"z\":\"1\"}}", NULL, &e),
                     -ESTALE);
}

static void strategic_patch_merges_containers_by_name(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *p = pod_json("p");
    json_array_append_new(json_object_get(json_object_get(p, "spec"), "containers"),
                          json_pack("{s:s, s:s}", "name", "side", "image", "envoy"));
    json_decref(make(t, "pods", p));
    json_t *out = NULL;
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_STRATEGIC,
                           "{\"spec\":{\"containers\":[{\"name\":\"side\",\"image\":\"envoy:2\"}]}}",
                           &out, &e), 0);
    const json_t *cs = json_object_get(json_object_get(out, "spec"), "containers");
    assert_int_equal(json_array_size(cs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "image")), "busybox");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "image")), "envoy:2");
    json_decref(out);
    /* a merge patch replaces the list instead (and here removes a container) */
    assert_int_equal(patch(t, "pods", "p", STORE_PATCH_MERGE,
                           "{\"spec\":{\"containers\":[{\"name\":\"side\",\"image\":\"envoy:3\"}]}}",
                           NULL, &e), -EINVAL);
    /* custom resources take no strategic patches */
    json_decref(make(t, "gpuslices", slice_json("s", "n1")));
    assert_int_equal(patch(t, "gpuslices", "s", STORE_PATCH_STRATEGIC, "{\"spec\":{\"nodeName\":\"n2\"}}",
                           NULL, &e), -EMEDIUMTYPE);
}

static void apply_creates_then_updates(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *out = NULL;
    assert_int_equal(patch(t, "configmaps", "ap", STORE_PATCH_APPLY,
                           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ap\"},"
                           "\"data\":{\"a\":\"1\"}}", &out, &e), 0);
    assert_non_null(md_str(out, "uid"));
    json_decref(out);
    assert_int_equal(patch(t, "configmaps", "ap", STORE_PATCH_APPLY,
                           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ap\"},"
                           "\"data\":{\"b\":\"2\"}}", &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "data"), "b")), "2");
    json_decref(out);
    assert_int_equal(patch(t, "gpuslices", "as", STORE_PATCH_APPLY,
                           "{\"apiVersion\":\"gpuslice.dev/v1alpha1\",\"kind\":\"GPUSlice\","
                           "\"metadata\":{\"name\":\"as\"},\"spec\":{\"nodeName\":\"n1\"}}", &out, &e), 0);
    json_decref(out);
}

/* --- watches -------------------------------------------------------------------- */

static void watch_from_zero_starts_with_current_state(void **state)
{
    struct t *t = *state;
    struct err e;
    json_decref(make(t, "configmaps", cm_json("a")));
    json_decref(make(t, "configmaps", cm_json("b")));
    struct store_watch *w = watch(t, "configmaps", "0", NULL, NULL);
    struct store_event ev;
    next(w, STORE_ADDED, NULL, &ev);
    store_event_release(&ev);
    next(w, STORE_ADDED, NULL, &ev);
    store_event_release(&ev);
    no_event(w);
    assert_int_equal(patch(t, "configmaps", "a", STORE_PATCH_MERGE, "{\"data\":{\"x\":\"y\"}}", NULL, &e), 0);
    next_release(w, STORE_MODIFIED, "a");
    json_t *gone = get(t, "configmaps", "b", 0);
    assert_int_equal(del(t, "configmaps", "b", STORE_PROPAGATE_DEFAULT, &e), 0);
    next(w, STORE_DELETED, "b", &ev);
    assert_true(rv_of(ev.object) > rv_of(gone)); /* the deletion's resourceVersion */
    store_event_release(&ev);
    json_decref(gone);
    store_watch_close(w);
}

static void watch_from_version_sees_later_changes_only(void **state)
{
    struct t *t = *state;
    json_t *a = make(t, "configmaps", cm_json("a"));
    json_decref(make(t, "configmaps", cm_json("b")));
    struct store_watch *w = watch(t, "configmaps", md_str(a, "resourceVersion"), NULL, NULL);
    next_release(w, STORE_ADDED, "b");
    no_event(w);
    store_watch_close(w);
    json_decref(a);
}

static void watch_selectors_turn_changes_into_add_and_delete(void **state)
{
    struct t *t = *state;
    struct err e;
    labelled(t, "a", "web", NULL);
    struct store_watch *w = watch(t, "configmaps", "0", "app=web", NULL);
    next_release(w, STORE_ADDED, "a");
    assert_int_equal(patch(t, "configmaps", "a", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}", NULL, &e), 0);
    next_release(w, STORE_DELETED, "a");
    labelled(t, "b", "db", NULL);
    no_event(w);
    assert_int_equal(patch(t, "configmaps", "b", STORE_PATCH_MERGE,
                           "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", NULL, &e), 0);
    next_release(w, STORE_ADDED, "b");
    store_watch_close(w);
    struct store_watch *one = watch(t, "configmaps", "0", NULL, "metadata.name=b");
    next_release(one, STORE_ADDED, "b");
    no_event(one);
    store_watch_close(one);
}

static void watch_from_compacted_version_is_expired(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *a = make(t, "configmaps", cm_json("a"));
    json_decref(make(t, "configmaps", cm_json("b")));
    t->f->compact(t->ctx, t->st);
    struct store_watch *w = watch(t, "configmaps", md_str(a, "resourceVersion"), NULL, NULL);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 1000, &ev, &e), -EKEYEXPIRED);
    assert_non_null(strstr(e.msg, "too old resource version"));
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EKEYEXPIRED);
    store_watch_close(w);
    json_decref(a);
}

static void watch_bookmarks_report_progress(void **state)
{
    struct t *t = *state;
    json_t *a = make(t, "configmaps", cm_json("a"));
    struct store_watch_opts o = {.label_selector = "app=none", .resource_version = md_str(a, "resourceVersion"),
                                 .bookmarks = true};
    struct store_watch *w = NULL;
    struct err e;
    assert_int_equal(store_watch_open(t->st, R(t, "configmaps"), "t", &o, &w, &e), 0);
    json_t *b = make(t, "configmaps", cm_json("b"));
    struct store_event ev;
    int rc;
    /* about once a minute, as kube-apiserver's watch cache: none yet */
    assert_int_equal(store_watch_next(w, 300, &ev, &e), -EAGAIN);
    t->f->advance(t->ctx, 60 * 1000000000LL);
    /* a server relays them after its own poll: wait up to ten seconds for
     * one that covers b */
    bool covered = false;
    for (int tries = 0; tries < 10 && !covered; tries++) {
        rc = store_watch_next(w, 1000, &ev, &e);
        if (rc == -EAGAIN)
            continue;
        assert_int_equal(rc, 0);
        assert_int_equal(ev.type, STORE_BOOKMARK);
        covered = rv_of(ev.object) >= rv_of(b);
        store_event_release(&ev);
    }
    assert_true(covered);
    /* and the next one a minute later */
    json_t *c = make(t, "configmaps", cm_json("c"));
    assert_int_equal(store_watch_next(w, 300, &ev, &e), -EAGAIN);
    store_watch_close(w);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void watch_cancel_wakes_the_reader(void **state)
{
    struct t *t = *state;
    struct err e;
    struct store_watch *w = watch(t, "configmaps", "0", NULL, NULL);
    store_watch_cancel(w);
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 5000, &ev, &e), -ECANCELED);
    store_watch_close(w);
}

/* Writers bump counters on their own ConfigMaps while a reader watches,
 * dropping and resuming its watch from the last resourceVersion it saw;
 * every write must be seen exactly once, in order. */
#define WRITERS 4
#define WRITES 150

struct writer {
    struct t *t;
    int id;
};

static void *writer_main(void *arg)
{
    struct writer *wr = arg;
    char name[16];
    snprintf(name, sizeof name, "w%d", wr->id);
    for (int i = 1; i <= WRITES; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"data\":{\"n\":\"%d\"}}", i);
        struct err e;
        json_error_t je;
        json_t *p = json_loads(body, 0, &je);
        struct store_write_opts o = {0};
        if (store_patch(wr->t->st, R(wr->t, "configmaps"), "t", name, STORE_PATCH_MERGE, p, &o,
                        NULL, &e) != 0)
            fprintf(stderr, "writer %d: %s\n", wr->id, e.msg);
        json_decref(p);
    }
    return NULL;
}

static void watch_resume_loses_and_repeats_nothing(void **state)
{
    struct t *t = *state;
    json_t *last = NULL;
    for (int i = 0; i < WRITERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        json_decref(last);
        last = make(t, "configmaps", json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", name, "data", "n", "0"));
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%s", md_str(last, "resourceVersion"));
    json_decref(last);
    pthread_t th[WRITERS];
    struct writer wr[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        wr[i] = (struct writer){t, i};
        pthread_create(&th[i], NULL, writer_main, &wr[i]);
    }
    int seen[WRITERS] = {0};
    uint64_t prev_rv = strtoull(rv, NULL, 10);
    int total = 0, since_reopen = 0, idle = 0;
    struct store_watch *w = watch(t, "configmaps", rv, NULL, NULL);
    while (total < WRITERS * WRITES && idle < 200) {
        struct store_event ev;
        struct err e;
        int rc = store_watch_next(w, 50, &ev, &e);
        if (rc == -EAGAIN) {
            idle++;
            continue;
        }
        if (rc != 0)
            fail_msg("watch: %s", e.msg);
        idle = 0;
        assert_int_equal(ev.type, STORE_MODIFIED);
        uint64_t erv = rv_of(ev.object);
        assert_true(erv > prev_rv);
        prev_rv = erv;
        int id = md_str(ev.object, "name")[1] - '0';
        int n = atoi(json_string_value(json_object_get(json_object_get(ev.object, "data"), "n")));
        assert_int_equal(n, seen[id] + 1);
        seen[id] = n;
        total++;
        store_event_release(&ev);
        if (++since_reopen == 37) {
            store_watch_close(w);
            snprintf(rv, sizeof rv, "%llu", (unsigned long long)prev_rv);
            w = watch(t, "configmaps", rv, NULL, NULL);
            since_reopen = 0;
        }
    }
    store_watch_close(w);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(total, WRITERS * WRITES);
}

/* --- custom resources ----------------------------------------------------------- */

static void crd_serves_a_new_resource(void **state)
{
    struct t *t = *state;
    struct err e;
    json_t *crd = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:b, s:b, s:{s:{}}, s:{s:{s:s}}}]}}",
        "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata", "name",
        "widgets.example.com", "spec", "group", "example.com", "scope", "Namespaced", "names", "plural",
        "widgets", "singular", "widget", "kind", "Widget", "versions", "name", "v1", "served", 1,
        "storage", 1, "subresources", "status", "schema", "openAPIV3Schema", "type", "object");
    json_t *stored = make(t, "customresourcedefinitions", crd);
    const json_t *conds = json_object_get(json_object_get(stored, "status"), "conditions");
    assert_true(json_array_size(conds) >= 1);
    json_decref(stored);
    const struct api_resource *w = api_registry_find(store_registry(t->st), "example.com", "v1", "widgets");
    assert_non_null(w);
    json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "example.com/v1", "kind",
                            "Widget", "metadata", "name", "w1", "spec", "size", 3);
    assert_int_equal(store_create(t->st, w, "t", obj, NULL, NULL, &e), 0);
    json_decref(obj);
    struct store_delete_opts o = {0};
    assert_int_equal(store_delete(t->st, R(t, "customresourcedefinitions"), NULL, "widgets.example.com",
                                  &o, NULL, &e), 0);
    settle(t);
    assert_false(exists(t, "customresourcedefinitions", "widgets.example.com"));
    assert_null(api_registry_find(store_registry(t->st), "example.com", "v1", "widgets"));
}

int store_semantics_run(const struct store_fixture *f)
{
    void *fx = (void *)f;
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, t_setup, t_teardown, fx)
    const struct CMUnitTest tests[] = {
        T(create_sets_server_fields),
        T(a_shared_read_is_the_stored_version),
        T(create_existing_name_is_already_exists),
        T(generate_name_picks_a_free_name),
        T(bad_names_and_labels_are_invalid),
        T(stale_update_is_conflict),
        T(noop_update_keeps_resource_version),
        T(resource_version_is_cluster_wide),
        T(generation_counts_spec_changes_only),
        T(status_subresource_splits_writes),
        T(taken_objects_are_stored_as_given),
        T(dry_run_stores_nothing),
        T(finalizers_hold_deletion),
        T(delete_preconditions),
        T(bound_pod_deletion_is_graceful),
        T(gc_background_deletes_dependents),
        T(gc_foreground_deletes_dependents_first),
        T(gc_foreground_does_not_wait_for_non_blocking),
        T(gc_orphan_keeps_dependents),
        T(gc_keeps_dependents_with_a_live_owner),
        T(gc_deletes_objects_with_missing_owners),
        T(gc_cascades_through_levels),
        T(namespace_deletion_empties_it),
        T(gated_pod_is_scheduling_gated),
        T(gates_may_only_be_removed),
        T(gated_pod_scheduling_may_be_tightened),
        T(pod_spec_is_otherwise_immutable),
        T(binding_sets_node_once),
        T(label_selectors),
        T(field_selectors),
        T(paged_list_is_a_consistent_snapshot),
        T(paged_cluster_scoped_list_continues),
        T(continue_token_expires_with_compaction),
        T(merge_and_json_patches),
        T(strategic_patch_merges_containers_by_name),
        T(apply_creates_then_updates),
        T(watch_from_zero_starts_with_current_state),
        T(watch_from_version_sees_later_changes_only),
        T(watch_selectors_turn_changes_into_add_and_delete),
        T(watch_from_compacted_version_is_expired),
        T(watch_bookmarks_report_progress),
        T(watch_cancel_wakes_the_reader),
        T(watch_resume_loses_and_repeats_nothing),
        T(crd_serves_a_new_resource),
    };
#undef T
    return _cmocka_run_group_tests(f->name, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
