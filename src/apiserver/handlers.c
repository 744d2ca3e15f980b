/*
 * Resource verbs (handlers.h). Each handler reads its options from the
 * query (and for deletes also from a DeleteOptions body), validates what
 * the API server validates before storage, calls the store, and answers in
 * the form negotiated: stored JSON, a Table, or partial metadata.
 */
#include "apiserver/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/status.h"
#include "apiserver/admission.h"
#include "apiserver/podlogs.h"
#include "apiserver/protobuf.h"
#include "apiserver/quota_admission.h"
#include "apiserver/watchstream.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"
#include "util/jsontext.h"
#include "util/yaml.h"

#define FIELD_MANAGER_MAX 128

static bool method_is(const struct handlers_call *c, const char *m)
{
    return strcmp(c->req->method, m) == 0;
}

static void fail(const struct handlers_call *c, struct rest_response *resp,
                 const struct err *e, const char *name)
{
    rest_reply_error(resp, e, c->rt->res->group, c->rt->res->plural, name);
}

static void fail_method(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    err_set(&e, -ENOSYS, "the server does not allow this method on the requested resource");
    fail(c, resp, &e, c->rt->name);
}

static struct store *store_of(const struct handlers_call *c)
{
    return c->srv->store;
}

/* ---- options ---- */

static int parse_dry_run(const char *v, bool *out, struct err *e)
{
    *out = v && *v;
    if (!*out || strcmp(v, "All") == 0)
        return 0;
    return err_set(e, -EBADMSG, "dryRun: Unsupported value: \"%.64s\": supported values: \"All\"",
                   v);
}

/* fieldValidation: Strict makes duplicate fields in a body an error; with
 * no schemas, unknown fields cannot be told apart and are kept. */
static int parse_field_validation(const struct handlers_call *c, bool *strict, struct err *e)
{
    const char *v = query_get(c->q, "fieldValidation");
    *strict = v && strcmp(v, "Strict") == 0;
    if (!v || !*v || *strict || strcmp(v, "Warn") == 0 || strcmp(v, "Ignore") == 0)
        return 0;
    return err_set(e, -EBADMSG, "fieldValidation: Unsupported value: \"%.64s\": supported values: "
                   "\"Ignore\", \"Warn\", \"Strict\"", v);
}

static int write_opts(const struct handlers_call *c, enum store_subresource sub, bool apply,
                      struct store_write_opts *wo, bool *strict, struct err *e)
{
    memset(wo, 0, sizeof *wo);
    wo->subresource = sub;
    wo->field_manager = query_get(c->q, "fieldManager");
    wo->force = query_bool(c->q, "force", false);
    int rc = parse_dry_run(query_get(c->q, "dryRun"), &wo->dry_run, e);
    if (rc == 0)
        rc = parse_field_validation(c, strict, e);
    if (rc == 0 && wo->field_manager && strlen(wo->field_manager) > FIELD_MANAGER_MAX)
        rc = err_set(e, -EINVAL, "fieldManager: Too long: may not be more than %d bytes",
                     FIELD_MANAGER_MAX);
    if (rc == 0 && query_get(c->q, "force") && !apply)
        rc = err_set(e, -EBADMSG, "force: Forbidden: may not be specified for non-apply patch");
    return rc;
}

static int list_opts(const struct handlers_call *c, struct store_list_opts *lo, struct err *e)
{
    memset(lo, 0, sizeof *lo);
    lo->label_selector = query_get(c->q, "labelSelector");
    lo->field_selector = query_get(c->q, "fieldSelector");
    lo->resource_version = query_get(c->q, "resourceVersion");
    lo->continue_token = query_get(c->q, "continue");
    const char *match = query_get(c->q, "resourceVersionMatch");
    lo->exact = match && strcmp(match, "Exact") == 0;
    if (match && *match && !lo->exact && strcmp(match, "NotOlderThan") != 0)
        return err_set(e, -EBADMSG, "resourceVersionMatch: Unsupported value: \"%.64s\": "
                       "supported values: \"Exact\", \"NotOlderThan\"", match);
    bool present;
    int64_t limit = 0;
    int rc = query_int(c->q, "limit", 0, INT64_MAX, &present, &limit, e);
    lo->limit = (size_t)limit;
    return rc;
}

static int propagation_of(const char *s, enum store_propagation *out, struct err *e)
{
    static const struct {
        const char *name;
        enum store_propagation p;
    } policies[] = {
        {"Background", STORE_PROPAGATE_BACKGROUND},
        {"Foreground", STORE_PROPAGATE_FOREGROUND},
        {"Orphan", STORE_PROPAGATE_ORPHAN},
    };
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
        if (strcmp(s, policies[i].name) == 0) {
            *out = policies[i].p;
            return 0;
        }
    return err_set(e, -EINVAL, "propagationPolicy: Unsupported value: \"%.64s\": supported "
                   "values: \"Background\", \"Foreground\", \"Orphan\"", s);
}

/* DeleteOptions fields of a body, over what the query said. */
static int delete_body_opts(const json_t *b, struct store_delete_opts *o, struct err *e)
{
    const json_t *policy = json_object_get(b, "propagationPolicy");
    const json_t *orphan = json_object_get(b, "orphanDependents");
    const json_t *grace = json_object_get(b, "gracePeriodSeconds");
    const json_t *pre = json_object_get(b, "preconditions");
    const json_t *dry = json_object_get(b, "dryRun");
    const char *kind = json_string_value(json_object_get(b, "kind"));
    if (kind && strcmp(kind, "DeleteOptions") != 0)
        return err_set(e, -EBADMSG, "the body of a delete must be DeleteOptions, not %.64s", kind);
    if (policy && !json_is_null(policy)) {
        if (!json_is_string(policy))
            return err_set(e, -EINVAL, "propagationPolicy: must be a string");
        int rc = propagation_of(json_string_value(policy), &o->propagation, e);
        if (rc != 0)
            return rc;
    }
    if (orphan && !json_is_null(orphan)) {
        if (!json_is_boolean(orphan) || (policy && !json_is_null(policy)))
            return err_set(e, -EINVAL, "orphanDependents: Invalid value: may not be set with "
                           "propagationPolicy, and must be a boolean");
        o->propagation = json_is_true(orphan) ? STORE_PROPAGATE_ORPHAN : STORE_PROPAGATE_BACKGROUND;
    }
    if (grace && !json_is_null(grace)) {
        if (!json_is_integer(grace) || json_integer_value(grace) < 0 ||
            json_integer_value(grace) > STORE_GRACE_MAX_S)
            return err_set(e, -EINVAL, "gracePeriodSeconds: Invalid value: must be >= 0 and "
                           "at most %lld", STORE_GRACE_MAX_S);
        o->has_grace = true;
        o->grace_s = json_integer_value(grace);
    }
    o->precondition_uid = json_string_value(json_object_get(pre, "uid"));
    o->precondition_resource_version = json_string_value(json_object_get(pre, "resourceVersion"));
    if (json_array_size(dry) > 0)
        return parse_dry_run(json_string_value(json_array_get(dry, 0)), &o->dry_run, e);
    return 0;
}

/* *body keeps the strings o borrows; the caller releases it. */
static int delete_opts(const struct handlers_call *c, struct store_delete_opts *o, json_t **body,
                       struct err *e)
{
    memset(o, 0, sizeof *o);
    *body = NULL;
    const char *policy = query_get(c->q, "propagationPolicy");
    bool present = false;
    int rc = 0;
    if (policy)
        rc = propagation_of(policy, &o->propagation, e);
    if (rc == 0)
        rc = query_int(c->q, "gracePeriodSeconds", 0, STORE_GRACE_MAX_S, &present, &o->grace_s, e);
    o->has_grace = present;
    if (rc == 0)
        rc = parse_dry_run(query_get(c->q, "dryRun"), &o->dry_run, e);
    if (rc != 0 || c->req->body_len == 0)
        return rc;
    json_error_t je;
    *body = jsontext_load(c->req->body, c->req->body_len, 0, &je);
    if (!json_is_object(*body))
        return err_set(e, -EBADMSG, "error decoding DeleteOptions: %s", *body ? "not an object"
                                                                             : je.text);
    return delete_body_opts(*body, o, e);
}

/* ---- bodies ---- */

static int unsupported_media(const struct handlers_call *c, bool patch, struct err *e)
{
    return err_set(e, -EMEDIUMTYPE, "the body of the request was in an unknown format (%.64s) - "
                   "accepted media types include: %s", c->req->content_type,
                   patch ? "application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml, application/strategic-merge-patch+json"
                         : "application/json, application/yaml, "
                           "application/vnd.kubernetes.protobuf");
}

/* The body type of a create, update or binding: a whole object. */
static int object_body_type(const struct handlers_call *c, enum media_body *type, struct err *e)
{
    *type = media_body_type(c->req->content_type);
    if (*type == MEDIA_BODY_JSON || *type == MEDIA_BODY_YAML || *type == MEDIA_BODY_PROTOBUF)
        return 0;
    return unsupported_media(c, false, e);
}

static int decode_yaml(const struct handlers_call *c, json_t **out, struct err *e)
{
    struct yaml_doc *d;
    int rc = yaml_doc_parse("request body", c->req->body, c->req->body_len, NULL, &d, e);
    if (rc == -EINVAL) /* malformed YAML is a bad request, not an invalid object */
        rc = e->code = -EBADMSG;
    if (rc != 0)
        return rc;
    if (yaml_doc_count(d) == 1)
        *out = json_incref(yaml_doc_root(d, 0));
    else
        rc = err_set(e, -EBADMSG, "request body: expected one YAML document, found %zu",
                     yaml_doc_count(d));
    yaml_doc_free(d);
    return rc;
}

/* The body as JSON, parsed as its Content-Type says (YAML for apply). */
static int decode_body(const struct handlers_call *c, enum media_body type, bool strict,
                       json_t **out, struct err *e)
{
    *out = NULL;
    if (c->req->body_len == 0)
        return err_set(e, -EBADMSG, "the request body is empty");
    if (type == MEDIA_BODY_YAML || type == MEDIA_BODY_APPLY_PATCH)
        return decode_yaml(c, out, e);
    if (type == MEDIA_BODY_PROTOBUF)
        return protobuf_decode_object(c->req->body, c->req->body_len, out, e);
    json_error_t je;
    *out = jsontext_load(c->req->body, c->req->body_len, strict ? JSON_REJECT_DUPLICATES : 0,
                         &je);
    if (!*out)
        return err_set(e, -EBADMSG, "error decoding the request body: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    return 0;
}

/* The body must be an object of res's apiVersion and kind; missing ones are
 * filled in, as the API server defaults them from the URL. */
static int check_type(const struct api_resource *res, json_t *obj, struct err *e)
{
    if (!json_is_object(obj))
        return err_set(e, -EBADMSG, "the request body must be a JSON object");
    const json_t *av = json_object_get(obj, "apiVersion"), *kind = json_object_get(obj, "kind");
    if ((av && !json_is_string(av)) || (kind && !json_is_string(kind)))
        return err_set(e, -EBADMSG, "apiVersion and kind must be strings");
    if (json_string_length(av) && strcmp(json_string_value(av), res->api_version) != 0)
        return err_set(e, -EBADMSG, "the API version in the data (%.64s) does not match the "
                       "expected API version (%s)", json_string_value(av), res->api_version);
    if (json_string_length(kind) && strcmp(json_string_value(kind), res->kind) != 0)
        return err_set(e, -EBADMSG, "the kind in the data (%.64s) does not match the expected "
                       "kind (%s)", json_string_value(kind), res->kind);
    if (json_object_set_new(obj, "apiVersion", json_string(res->api_version)) != 0 ||
        json_object_set_new(obj, "kind", json_string(res->kind)) != 0)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

/* ---- answers ---- */

/* Answers a Table of items (taken) with list metadata meta (taken). */
static void reply_table(const struct handlers_call *c, struct rest_response *resp, int status,
                        json_t *items, json_t *meta)
{
    struct table_spec *ts;
    struct err e;
    if (table_spec_new(store_of(c), c->rt->res, &ts, &e) != 0) {
        fail(c, resp, &e, NULL);
    } else {
        rest_reply_json(resp, status,
                        table_build(ts, items, meta, true, c->include, c->meta_version,
                                    c->srv->now_ns(c->srv->clock_ctx)));
        table_spec_free(ts);
    }
    json_decref(items);
    json_decref(meta);
}

/* Answers one object (taken) in the negotiated form. */
static void reply_object(const struct handlers_call *c, struct rest_response *resp, int status,
                         json_t *obj)
{
    if (c->answer == MEDIA_ANSWER_JSON) {
        rest_reply_json(resp, status, obj);
    } else if (c->answer == MEDIA_ANSWER_PARTIAL) {
        rest_reply_json(resp, status, table_partial(obj, c->meta_version));
        json_decref(obj);
    } else {
        const char *rv = meta_resource_version(obj);
        json_t *meta = json_pack("{s:s}", "resourceVersion", rv ? rv : "");
        reply_table(c, resp, status, json_pack("[o]", obj), meta);
    }
}

/* Where a write's object should go: nowhere when JSON is asked for, since
 * the store's text of it (raw) is the answer, and the mem store then keeps
 * the object as its parse of that text instead of dropping it. */
static json_t **stored_object(const struct handlers_call *c, json_t **out)
{
    *out = NULL;
    return c->answer == MEDIA_ANSWER_JSON ? NULL : out;
}

/* Answers a write with what was stored: the store's own text of it when it
 * gave one (raw, released here) and JSON is asked for, which spares
 * serialising the object again; else as reply_object. A store that gave
 * neither (only mem keeps text) is an internal error. */
static void reply_stored(const struct handlers_call *c, struct rest_response *resp, int status,
                         json_t *obj, struct store_blob *raw)
{
    if (!raw && !obj) {
        struct err e;
        err_set(&e, -EIO, "the store answered the write with no object");
        fail(c, resp, &e, c->rt->name);
        return;
    }
    if (!raw || c->answer != MEDIA_ANSWER_JSON) {
        store_blob_unref(raw);
        reply_object(c, resp, status, obj);
        return;
    }
    json_decref(obj);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = alloc_malloc(raw->len + 1);
    memcpy(resp->body, raw->data, raw->len + 1);
    resp->len = raw->len;
    store_blob_unref(raw);
}

/* The form a list is answered in; -ENOMEM (a Table's columns) is the only
 * failure. form->table is the caller's. */
static int list_form(const struct handlers_call *c, struct liststream_form *form, struct err *e)
{
    *form = (struct liststream_form){
        .answer = c->answer,
        .include = c->include,
        .meta_version = c->meta_version,
        .now_ns = c->srv->now_ns(c->srv->clock_ctx),
    };
    if (c->answer == MEDIA_ANSWER_TABLE)
        return table_spec_new(store_of(c), c->rt->res, &form->table, e);
    return 0;
}

/* Answers a List (taken) whole, in the negotiated form. */
static void reply_list(const struct handlers_call *c, struct rest_response *resp, json_t *list)
{
    struct liststream_form form;
    struct err e;
    if (list_form(c, &form, &e) != 0) {
        fail(c, resp, &e, NULL);
        json_decref(list);
        return;
    }
    rest_reply_json(resp, 200, liststream_convert(&form, list));
    table_spec_free(form.table);
}

/* ---- admission ---- */

/* The NamespaceLifecycle admission plugin's rule that the store leaves to
 * the API server: new objects only in namespaces that exist (the store
 * itself refuses namespaces being deleted). Read in place: every create
 * asks, and copying the namespace was 0.8 % of a pod's CPU over HTTP. */
static int check_namespace(const struct handlers_call *c, const char *ns, struct err *e)
{
    const struct api_resource *nsres =
        api_registry_find(store_registry(store_of(c)), "", "v1", "namespaces");
    json_t *obj;
    if (!c->rt->res->namespaced || !nsres || !ns)
        return 0;
    int rc = store_get_shared(store_of(c), nsres, NULL, ns, &obj, e);
    json_decref(obj);
    return rc;
}

/* ---- verbs ---- */

static void serve_get(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    json_t *obj;
    if (store_get(store_of(c), c->rt->res, c->rt->ns, c->rt->name, &obj, &e) != 0)
        fail(c, resp, &e, c->rt->name);
    else
        reply_object(c, resp, 200, obj);
}

/* A list is streamed as it is encoded when it is longer than a page
 * (liststream.h), so that no list is ever whole in memory. */
static void serve_list(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    struct store_list_opts lo;
    struct liststream_form form;
    json_t *whole;
    int rc = list_opts(c, &lo, &e);
    if (rc == 0)
        rc = list_form(c, &form, &e);
    if (rc == 0)
        rc = liststream_open(store_of(c), c->rt->res, c->rt->ns, &lo, &form, &whole,
                             &resp->list, &e);
    if (rc != 0) {
        fail(c, resp, &e, NULL);
    } else if (whole) {
        rest_reply_json(resp, 200, whole);
    } else {
        resp->status = 200;
        resp->content_type = "application/json";
    }
}

static void serve_watch(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    bool present;
    int64_t timeout_s = REST_WATCH_TIMEOUT_DEFAULT_S;
    struct store_watch_opts wo = {
        .label_selector = query_get(c->q, "labelSelector"),
        .field_selector = query_get(c->q, "fieldSelector"),
        .resource_version = query_get(c->q, "resourceVersion"),
        .bookmarks = query_bool(c->q, "allowWatchBookmarks", false),
        .want_raw = true,
    };
    struct watchstream_config cfg = {
        .keepalive_ms = c->srv->watch_keepalive_ms,
        .partial = c->answer == MEDIA_ANSWER_PARTIAL,
        .include = c->include,
        .meta_version = c->meta_version,
        .now_ns = c->srv->now_ns,
        .clock_ctx = c->srv->clock_ctx,
    };
    struct store_watch *w;
    int rc = query_int(c->q, "timeoutSeconds", 0, INT64_MAX / 1000, &present, &timeout_s, &e);
    if (rc == 0 && c->answer == MEDIA_ANSWER_TABLE)
        rc = table_spec_new(store_of(c), c->rt->res, &cfg.table, &e);
    if (rc == 0)
        rc = store_watch_open(store_of(c), c->rt->res, c->rt->ns, &wo, &w, &e);
    cfg.timeout_ms = timeout_s * 1000;
    if (rc == 0)
        rc = watchstream_new(w, &cfg, &resp->stream, &e);
    else
        table_spec_free(cfg.table);
    if (rc != 0) {
        fail(c, resp, &e, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
}

/* A create's or an update's write options and body, an object of the
 * route's kind (*obj a new reference, NULL on failure). */
static int read_object(const struct handlers_call *c, enum store_subresource sub,
                       struct store_write_opts *wo, json_t **obj, struct err *e)
{
    bool strict;
    enum media_body type;
    int rc = object_body_type(c, &type, e);
    if (rc == 0)
        rc = write_opts(c, sub, false, wo, &strict, e);
    if (rc == 0)
        rc = decode_body(c, type, strict, obj, e);
    if (rc == 0)
        rc = check_type(c->rt->res, *obj, e);
    return rc;
}

static void serve_create(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    struct store_write_opts wo;
    struct store_blob *raw = NULL;
    json_t *obj = NULL, *out, *denial = NULL;
    int rc = read_object(c, STORE_MAIN, &wo, &obj, &e);
    if (rc == 0)
        rc = check_namespace(c, c->rt->ns, &e);
    if (rc == 0)
        rc = admission_create(c->srv->webhooks, store_of(c), c->rt->res, c->rt->ns, wo.dry_run,
                              &obj, &denial, &e);
    /* quota after the webhooks: it charges what they made of the object */
    struct quota_charges *charges = NULL;
    if (rc == 0)
        rc = quota_admit(store_of(c), c->rt->res, c->rt->ns, NULL, obj, wo.dry_run, &charges,
                         &e);
    wo.raw = &raw;
    if (rc == 0)
        rc = store_create(store_of(c), c->rt->res, c->rt->ns, obj, &wo,
                          stored_object(c, &out), &e);
    if (rc != 0)
        quota_refund(store_of(c), charges);
    else
        quota_charges_keep(charges);
    if (denial) /* the webhook's Status, as it made it: no details of ours */
        rest_reply_json(resp, (int)json_integer_value(json_object_get(denial, "code")), denial);
    else if (rc != 0)
        fail(c, resp, &e, meta_name(obj));
    else
        reply_stored(c, resp, 201, out, raw);
    json_decref(obj);
}

/* An update charges the quotas for what it adds to what the stored object
 * used (a pod given activeDeadlineSeconds moves into Terminating quotas). */
static void serve_update(const struct handlers_call *c, struct rest_response *resp,
                         enum store_subresource sub)
{
    struct err e;
    struct store_write_opts wo;
    struct store_blob *raw = NULL;
    json_t *obj = NULL, *out;
    int rc = read_object(c, sub, &wo, &obj, &e);
    wo.raw = &raw;
    wo.handed_over = true; /* the body's parse: nothing here reads it after the write */
    const char *name = rc == 0 ? meta_name(obj) : NULL;
    if (rc == 0 && !name)
        rc = json_object_set_new(meta_of(obj), "name", json_string(c->rt->name)) != 0
                 ? err_set(&e, -EBADMSG, "metadata must be an object")
                 : 0;
    else if (rc == 0 && strcmp(name, c->rt->name) != 0)
        rc = err_set(&e, -EBADMSG, "the name of the object (%.253s) does not match the name on "
                     "the URL (%.253s)", name, c->rt->name);
    struct quota_charges *charges = NULL;
    if (rc == 0 && sub == STORE_MAIN)
        rc = quota_admit(store_of(c), c->rt->res, c->rt->ns, c->rt->name, obj, wo.dry_run,
                         &charges, &e);
    if (rc == 0)
        rc = store_update(store_of(c), c->rt->res, c->rt->ns, obj, &wo,
                          stored_object(c, &out), &e);
    if (rc != 0)
        quota_refund(store_of(c), charges);
    else
        quota_charges_keep(charges);
    if (rc != 0)
        fail(c, resp, &e, c->rt->name);
    else
        reply_stored(c, resp, 200, out, raw);
    json_decref(obj);
}

static int patch_type(enum media_body body, enum store_patch_type *out)
{
    switch (body) {
    case MEDIA_BODY_MERGE_PATCH:
        *out = STORE_PATCH_MERGE;
        return 0;
    case MEDIA_BODY_JSON_PATCH:
        *out = STORE_PATCH_JSON;
        return 0;
    case MEDIA_BODY_STRATEGIC_PATCH:
        *out = STORE_PATCH_STRATEGIC;
        return 0;
    case MEDIA_BODY_APPLY_PATCH:
        *out = STORE_PATCH_APPLY;
        return 0;
    default:
        return -EMEDIUMTYPE;
    }
}

static void serve_patch(const struct handlers_call *c, struct rest_response *resp,
                        enum store_subresource sub)
{
    struct err e;
    struct store_write_opts wo;
    struct store_blob *raw = NULL;
    enum store_patch_type type = STORE_PATCH_MERGE;
    bool strict, existed = true;
    json_t *patch = NULL, *out;
    enum media_body body = media_body_type(c->req->content_type);
    int rc = patch_type(body, &type) == 0 ? 0 : unsupported_media(c, true, &e);
    if (rc == 0)
        rc = write_opts(c, sub, type == STORE_PATCH_APPLY, &wo, &strict, &e);
    if (rc == 0)
        rc = decode_body(c, body, strict, &patch, &e);
    if (rc == 0 && type == STORE_PATCH_APPLY) {
        /* Only to answer 201 when apply creates; the store decides. */
        json_t *cur = NULL;
        existed = store_get(store_of(c), c->rt->res, c->rt->ns, c->rt->name, &cur, NULL) == 0;
        json_decref(cur);
        rc = check_type(c->rt->res, patch, &e);
        if (rc == 0 && !existed)
            rc = check_namespace(c, c->rt->ns, &e);
    }
    wo.raw = &raw;
    if (rc == 0)
        rc = store_patch(store_of(c), c->rt->res, c->rt->ns, c->rt->name, type, patch, &wo,
                         stored_object(c, &out), &e);
    if (rc != 0)
        fail(c, resp, &e, c->rt->name);
    else
        reply_stored(c, resp, existed ? 200 : 201, out, raw);
    json_decref(patch);
}

static void serve_delete(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    struct store_delete_opts o;
    json_t *body, *out;
    int rc = delete_opts(c, &o, &body, &e);
    if (rc == 0)
        rc = store_delete(store_of(c), c->rt->res, c->rt->ns, c->rt->name, &o, &out, &e);
    if (rc != 0)
        fail(c, resp, &e, c->rt->name);
    else
        reply_object(c, resp, 200, out);
    json_decref(body);
}

/* Deletes what a list with the request's selectors finds; answers the list
 * of what was deleted (as left: marked ones with deletionTimestamp). */
static void serve_delete_collection(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    struct store_delete_opts o;
    struct store_list_opts lo;
    json_t *body = NULL, *list = NULL, *done = json_array();
    int rc = done ? delete_opts(c, &o, &body, &e) : err_set(&e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = list_opts(c, &lo, &e);
    if (rc == 0)
        rc = store_list(store_of(c), c->rt->res, c->rt->ns, &lo, &list, &e);
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(list, "items"), i, obj) {
        json_t *out;
        if (rc != 0)
            break;
        rc = store_delete(store_of(c), c->rt->res, meta_namespace(obj), meta_name(obj), &o, &out,
                          &e);
        if (rc == 0)
            jdoc_append(done, out);
        else if (rc == -ENOENT)
            rc = 0; /* deleted meanwhile */
    }
    if (rc != 0) {
        fail(c, resp, &e, NULL);
        json_decref(list);
    } else {
        jdoc_set(list, "items", json_incref(done));
        reply_list(c, resp, list);
    }
    json_decref(done);
    json_decref(body);
}

/* pods/NAME/binding: a Binding names the node in target.name. */
static void serve_bind(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    json_t *b = NULL;
    enum media_body type;
    int rc = object_body_type(c, &type, &e);
    if (rc == 0)
        rc = decode_body(c, type, false, &b, &e);
    const json_t *target = json_object_get(b, "target");
    const char *node = json_string_value(json_object_get(target, "name"));
    const char *kind = json_string_value(json_object_get(target, "kind"));
    const char *name = meta_name(b);
    if (rc == 0 && !json_is_object(b))
        rc = err_set(&e, -EBADMSG, "the request body must be a Binding object");
    else if (rc == 0 && (!node || !*node))
        rc = err_set(&e, -EINVAL, "target.name: Required value");
    else if (rc == 0 && kind && *kind && strcmp(kind, "Node") != 0)
        rc = err_set(&e, -EINVAL, "target.kind: Unsupported value: \"%.64s\": supported values: "
                     "\"Node\"", kind);
    else if (rc == 0 && name && strcmp(name, c->rt->name) != 0)
        rc = err_set(&e, -EBADMSG, "the name of the object (%.253s) does not match the name on "
                     "the URL (%.253s)", name, c->rt->name);
    if (rc == 0)
        rc = store_bind(store_of(c), c->rt->ns, c->rt->name, node, &e);
    if (rc != 0) {
        fail(c, resp, &e, c->rt->name);
    } else {
        err_clear(&e);
        json_t *st = status_from_err(&e, NULL, NULL, NULL);
        jdoc_set(st, "code", json_integer(201));
        rest_reply_json(resp, 201, st);
    }
    json_decref(b);
}

/* pods/NAME/log: the container's log from the kubelet of the pod's node
 * (podlogs.h), whole or followed. */
static void serve_log(const struct handlers_call *c, struct rest_response *resp)
{
    struct err e;
    struct podlogs_options o;
    struct linelog *log = NULL;
    json_t *pod = NULL;
    const char *container = NULL;
    int64_t now = c->srv->now_ns ? c->srv->now_ns(c->srv->clock_ctx) : clock_realtime_ns();
    int rc = podlogs_options_parse(c->q, now, &o, &e);
    if (rc == 0)
        rc = store_get(store_of(c), c->rt->res, c->rt->ns, c->rt->name, &pod, &e);
    if (rc == 0)
        rc = podlogs_container(pod, o.container, &container, &e);
    const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"),
                                                         "nodeName"));
    if (rc == 0 && node && *node && !c->srv->logs)
        rc = err_set(&e, -EBUSY, "no kubelet serves the logs of node %s", node);
    else if (rc == 0 && node && *node)
        rc = c->srv->logs->open(c->srv->logs->ctx, node, pod, container, o.previous, &log, &e);
    json_decref(pod);
    if (rc != 0) {
        fail(c, resp, &e, c->rt->name);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain";
    if (!log) { /* not bound to a node: nothing ran, nothing to say */
        resp->body = alloc_strdup("");
        return;
    }
    struct podlogs_stream *s = podlogs_stream_new(log, &o);
    if (o.follow) {
        resp->log = s;
        return;
    }
    resp->body = podlogs_stream_text(s, &resp->len);
    podlogs_stream_free(s);
}

/* ---- dispatch ---- */

static void serve_object(const struct handlers_call *c, struct rest_response *resp,
                         enum store_subresource sub)
{
    if (method_is(c, "GET"))
        serve_get(c, resp);
    else if (method_is(c, "PUT"))
        serve_update(c, resp, sub);
    else if (method_is(c, "PATCH"))
        serve_patch(c, resp, sub);
    else if (method_is(c, "DELETE") && sub == STORE_MAIN)
        serve_delete(c, resp);
    else
        fail_method(c, resp);
}

void handlers_serve(const struct handlers_call *c, struct rest_response *resp)
{
    const struct route *rt = c->rt;
    bool no_ns = rt->res->namespaced && !rt->ns;
    memset(resp, 0, sizeof *resp);
    if (rt->kind == ROUTE_COLLECTION) {
        if (method_is(c, "GET") && query_bool(c->q, "watch", false))
            serve_watch(c, resp);
        else if (method_is(c, "GET"))
            serve_list(c, resp);
        else if (method_is(c, "POST") && !no_ns)
            serve_create(c, resp);
        else if (method_is(c, "DELETE") && !no_ns)
            serve_delete_collection(c, resp);
        else
            fail_method(c, resp);
        return;
    }
    struct err e;
    const char *sub = rt->subresource;
    bool pods = rt->res->builtin && !rt->res->group[0] && strcmp(rt->res->plural, "pods") == 0;
    if (no_ns) {
        err_set(&e, -ENOENT, ROUTE_NOT_FOUND);
        fail(c, resp, &e, NULL);
    } else if (!sub) {
        serve_object(c, resp, STORE_MAIN);
    } else if (strcmp(sub, "status") == 0 && rt->res->has_status) {
        serve_object(c, resp, STORE_STATUS);
    } else if (strcmp(sub, "log") == 0 && pods) {
        if (method_is(c, "GET"))
            serve_log(c, resp);
        else
            fail_method(c, resp);
    } else if (strcmp(sub, "binding") == 0 && pods) {
        if (method_is(c, "POST"))
            serve_bind(c, resp);
        else
            fail_method(c, resp);
    } else {
        err_set(&e, -ENOENT, ROUTE_NOT_FOUND);
        fail(c, resp, &e, NULL);
    }
}
