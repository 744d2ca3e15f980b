/*
 * Building and executing actions (see action.h). Builders only record; the
 * executor is the one place reconcilers' decisions become store calls.
 */
#include "reconcile/action.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/jdoc.h"
#include "util/utf8.h"
#include "util/vec.h"

#define EVENT_MESSAGE_MAX 1024
#define EVENT_UPDATE_TRIES 5

void action_list_init(struct action_list *l)
{
    memset(l, 0, sizeof *l);
}

static void action_free(struct action *a)
{
    json_decref(a->body);
    free(a->ns);
    free(a->name);
    free(a->uid);
    free(a->node);
    free(a->reason);
    free(a->message);
}

void action_list_clear(struct action_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        action_free(&l->items[i]);
    free(l->items);
    action_list_init(l);
}

/* strdup that keeps NULL as NULL. */
static char *dup_or_null(const char *s)
{
    return s ? alloc_strdup(s) : NULL;
}

/* Appends a copy of proto (strings duplicated, body taken over). */
static void append(struct action_list *l, const struct action *proto, json_t *body)
{
    VEC_RESERVE(l->items, l->cap, l->n + 1);
    struct action a = {
        .kind = proto->kind,
        .res = proto->res,
        .ns = dup_or_null(proto->ns && *proto->ns ? proto->ns : NULL),
        .name = dup_or_null(proto->name),
        .body = body,
        .patch_type = proto->patch_type,
        .uid = dup_or_null(proto->uid),
        .delete_now = proto->delete_now,
        .node = dup_or_null(proto->node),
        .event_type = proto->event_type,
        .reason = dup_or_null(proto->reason),
        .message = dup_or_null(proto->message),
        .op = proto->op,
    };
    l->items[l->n++] = a;
}

static int need(json_t *taken, const void *what, const char *name, struct err *e)
{
    if (what)
        return 0;
    json_decref(taken);
    return err_set(e, -EINVAL, "action: %s is required", name);
}

int action_create(struct action_list *l, const struct api_resource *res, const char *ns,
                  json_t *obj, struct err *e)
{
    int rc = need(obj, res, "resource", e);
    if (rc == 0)
        rc = need(NULL, obj, "object", e);
    if (rc < 0)
        return rc;
    append(l, &(struct action){.kind = ACTION_CREATE, .res = res, .ns = (char *)ns}, obj);
    return 0;
}

static int update_kind(struct action_list *l, enum action_kind kind,
                       const struct api_resource *res, json_t *obj, struct err *e)
{
    int rc = need(obj, res, "resource", e);
    if (rc == 0)
        rc = need(NULL, obj, "object", e);
    if (rc == 0)
        rc = need(obj, meta_name(obj), "object's metadata.name", e);
    if (rc < 0)
        return rc;
    struct action proto = {.kind = kind, .res = res, .ns = (char *)meta_namespace(obj),
                           .name = (char *)meta_name(obj)};
    append(l, &proto, obj);
    return 0;
}

int action_update(struct action_list *l, const struct api_resource *res, json_t *obj,
                  struct err *e)
{
    return update_kind(l, ACTION_UPDATE, res, obj, e);
}

int action_update_status(struct action_list *l, const struct api_resource *res, json_t *obj,
                         struct err *e)
{
    return update_kind(l, ACTION_UPDATE_STATUS, res, obj, e);
}

int action_patch(struct action_list *l, const struct api_resource *res, const char *ns,
                 const char *name, enum store_patch_type type, json_t *patch, struct err *e)
{
    int rc = need(patch, res, "resource", e);
    if (rc == 0)
        rc = need(patch, name, "name", e);
    if (rc == 0)
        rc = need(NULL, patch, "patch", e);
    if (rc < 0)
        return rc;
    struct action proto = {.kind = ACTION_PATCH, .res = res, .ns = (char *)ns,
                           .name = (char *)name, .patch_type = type};
    append(l, &proto, patch);
    return 0;
}

static int delete_kind(struct action_list *l, const struct api_resource *res, const char *ns,
                       const char *name, const char *uid, bool now, struct err *e)
{
    int rc = need(NULL, res, "resource", e);
    if (rc == 0)
        rc = need(NULL, name, "name", e);
    if (rc < 0)
        return rc;
    struct action proto = {.kind = ACTION_DELETE, .res = res, .ns = (char *)ns,
                           .name = (char *)name, .uid = (char *)uid, .delete_now = now};
    append(l, &proto, NULL);
    return 0;
}

int action_delete(struct action_list *l, const struct api_resource *res, const char *ns,
                  const char *name, const char *uid, struct err *e)
{
    return delete_kind(l, res, ns, name, uid, false, e);
}

int action_delete_now(struct action_list *l, const struct api_resource *res, const char *ns,
                      const char *name, const char *uid, struct err *e)
{
    return delete_kind(l, res, ns, name, uid, true, e);
}

int action_bind(struct action_list *l, const char *ns, const char *pod, const char *node,
                struct err *e)
{
    int rc = need(NULL, pod, "pod", e);
    if (rc == 0)
        rc = need(NULL, node, "node", e);
    if (rc < 0)
        return rc;
    struct action proto = {.kind = ACTION_BIND, .ns = (char *)ns, .name = (char *)pod,
                           .node = (char *)node};
    append(l, &proto, NULL);
    return 0;
}

int action_event(struct action_list *l, const json_t *obj, enum action_event_type type,
                 const char *reason, struct err *e, const char *fmt, ...)
{
    if (!obj || !meta_name(obj) || !json_is_string(json_object_get(obj, "kind")) ||
        !json_is_string(json_object_get(obj, "apiVersion")))
        return err_set(e, -EINVAL, "action: an event needs an object with apiVersion, "
                                   "kind and metadata.name");
    if (!reason || !*reason)
        return err_set(e, -EINVAL, "action: an event needs a reason");
    char message[EVENT_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* A message may quote what a client wrote (a status message) and is
     * cut at its limit, perhaps inside a character: JSON takes only UTF-8,
     * and an Event that cannot be built is never said. */
    utf8_scrub(message);
    json_t *involved = json_object();
    bool ok = jdoc_put(involved, "apiVersion", json_incref(json_object_get(obj, "apiVersion")),
                       true);
    ok = jdoc_put(involved, "kind", json_incref(json_object_get(obj, "kind")), ok);
    ok = jdoc_put(involved, "name", json_string(meta_name(obj)), ok);
    const char *ns = meta_namespace(obj), *uid = meta_uid(obj);
    if (ns)
        ok = jdoc_put(involved, "namespace", json_string(ns), ok);
    if (uid)
        ok = jdoc_put(involved, "uid", json_string(uid), ok);
    if (!ok) {
        json_decref(involved);
        return err_set(e, -ENOMEM, "action list: out of memory");
    }
    /* Kubernetes files Events about cluster-scoped objects under default. */
    struct action proto = {.kind = ACTION_EVENT, .ns = (char *)(ns ? ns : "default"),
                           .event_type = type,
                           .reason = (char *)reason, .message = message};
    append(l, &proto, involved);
    return 0;
}

int action_external(struct action_list *l, int op, json_t *params, struct err *e)
{
    (void)e; /* nothing fails: memory follows util/alloc.h */
    append(l, &(struct action){.kind = ACTION_EXTERNAL, .op = op}, params);
    return 0;
}

static const struct api_resource *event_resource(struct store *st, struct err *e)
{
    const struct api_resource *res = api_registry_find(store_registry(st), "", "v1", "events");
    if (!res)
        err_set(e, -ENOENT, "the store serves no events resource");
    return res;
}

/* "<involved name>.<16 hex digits>": one Event object per distinct (object,
 * type, reason, message), like the API server's correlator keys them. */
static void event_name(const struct action *a, char *buf, size_t size)
{
    const char *parts[] = {
        json_string_value(json_object_get(a->body, "uid")),
        json_string_value(json_object_get(a->body, "kind")),
        json_string_value(json_object_get(a->body, "name")),
        a->event_type == ACTION_EVENT_WARNING ? "Warning" : "Normal",
        a->reason, a->message,
    };
    uint64_t h = HASH_INIT;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        h = hash_field(h, parts[i]);
    snprintf(buf, size, "%.200s.%016llx", json_string_value(json_object_get(a->body, "name")),
             (unsigned long long)h);
}

/* The Event, member by member in json_pack's order: json_pack would scan
 * its format and check every literal again, twice the cost of the object
 * on each event recorded. */
static json_t *event_object(const struct action *a, const struct action_context *ctx,
                            const char *name)
{
    char now[META_TIME_LEN], micro[META_MICROTIME_LEN];
    meta_format_time(ctx->now_ns, now);
    meta_format_microtime(ctx->now_ns, micro);
    json_t *ev = json_object(), *md = json_object(), *source = json_object();
    bool ok = jdoc_put(md, "name", json_string(name), true);
    ok = jdoc_put(source, "component", json_string(ctx->component), ok);
    ok = jdoc_put(ev, "apiVersion", json_string_nocheck("v1"), ok);
    ok = jdoc_put(ev, "kind", json_string_nocheck("Event"), ok);
    ok = jdoc_put(ev, "metadata", md, ok);
    ok = jdoc_put(ev, "involvedObject", json_incref(a->body), ok);
    ok = jdoc_put(ev, "reason", json_string(a->reason), ok);
    ok = jdoc_put(ev, "message", json_string(a->message), ok);
    ok = jdoc_put(ev, "type",
                   json_string_nocheck(a->event_type == ACTION_EVENT_WARNING ? "Warning"
                                                                             : "Normal"),
                   ok);
    ok = jdoc_put(ev, "source", source, ok);
    ok = jdoc_put(ev, "firstTimestamp", json_string_nocheck(now), ok);
    ok = jdoc_put(ev, "lastTimestamp", json_string_nocheck(now), ok);
    ok = jdoc_put(ev, "count", json_integer(1), ok);
    ok = jdoc_put(ev, "eventTime", json_string_nocheck(micro), ok);
    ok = jdoc_put(ev, "reportingComponent", json_string(ctx->component), ok);
    if (ok && a->ns)
        ok = jdoc_put(md, "namespace", json_string(a->ns), ok);
    if (ok && ctx->host) {
        ok = jdoc_put(source, "host", json_string(ctx->host), ok);
        ok = jdoc_put(ev, "reportingInstance", json_string(ctx->host), ok);
    }
    return jdoc_built(ev, ok);
}

/* A repeat of an event already recorded: count it and move lastTimestamp. */
static int event_repeat(struct store *st, const struct api_resource *res, const char *ns,
                        const char *name, const struct action_context *ctx, json_t **out,
                        struct err *e)
{
    char now[META_TIME_LEN];
    meta_format_time(ctx->now_ns, now);
    int rc = -ESTALE;
    for (int i = 0; i < EVENT_UPDATE_TRIES && rc == -ESTALE; i++) {
        json_t *old = NULL;
        rc = store_get(st, res, ns, name, &old, e);
        if (rc < 0)
            return rc;
        json_int_t count = json_integer_value(json_object_get(old, "count"));
        jdoc_set(old, "count", json_integer(count > 0 ? count + 1 : 2));
        jdoc_set(old, "lastTimestamp", json_string(now));
        rc = store_update(st, res, ns, old, &(struct store_write_opts){.handed_over = true}, out,
                          e);
        json_decref(old);
    }
    return rc;
}

static int execute_event(struct store *st, const struct action *a,
                         const struct action_context *ctx, json_t **out, struct err *e)
{
    const struct api_resource *res = event_resource(st, e);
    if (!res)
        return -ENOENT;
    char name[256];
    event_name(a, name, sizeof name);
    json_t *ev = event_object(a, ctx, name);
    if (!ev)
        return err_set(e, -ENOMEM, "event: out of memory");
    int rc = store_create(st, res, a->ns, ev, &(struct store_write_opts){.handed_over = true},
                          out, e);
    json_decref(ev);
    if (rc == -EEXIST)
        rc = event_repeat(st, res, a->ns, name, ctx, out, e);
    return rc;
}

int action_execute(struct store *st, const struct action *a, const struct action_context *ctx,
                   json_t **out, struct err *e)
{
    /* The body is the action's own (action.h): the store may keep it. */
    struct store_write_opts main_write = {.subresource = STORE_MAIN, .handed_over = true};
    struct store_write_opts status_write = {.subresource = STORE_STATUS, .handed_over = true};
    if (out)
        *out = NULL;
    switch (a->kind) {
    case ACTION_CREATE:
        return store_create(st, a->res, a->ns, a->body, &main_write, out, e);
    case ACTION_UPDATE:
        return store_update(st, a->res, a->ns, a->body, &main_write, out, e);
    case ACTION_UPDATE_STATUS:
        return store_update(st, a->res, a->ns, a->body, &status_write, out, e);
    case ACTION_PATCH:
        return store_patch(st, a->res, a->ns, a->name, a->patch_type, a->body, &main_write,
                           out, e);
    case ACTION_DELETE: {
        struct store_delete_opts o = {.precondition_uid = a->uid, .has_grace = a->delete_now,
                                      .grace_s = 0};
        return store_delete(st, a->res, a->ns, a->name, &o, out, e);
    }
    case ACTION_BIND:
        return store_bind(st, a->ns, a->name, a->node, e);
    case ACTION_EVENT:
        return execute_event(st, a, ctx, out, e);
    case ACTION_EXTERNAL:
        return err_set(e, -ENOSYS, "action: an external operation (%d) is executed by its "
                                   "reconciler, not the store", a->op);
    }
    return err_set(e, -EINVAL, "action: unknown kind %d", (int)a->kind);
}

static const char *kind_verb(enum action_kind kind)
{
    static const char *const verbs[] = {
        [ACTION_CREATE] = "create", [ACTION_UPDATE] = "update",
        [ACTION_UPDATE_STATUS] = "update status of", [ACTION_PATCH] = "patch",
        [ACTION_DELETE] = "delete", [ACTION_BIND] = "bind", [ACTION_EVENT] = "event",
        [ACTION_EXTERNAL] = "external",
    };
    return (unsigned)kind < sizeof verbs / sizeof verbs[0] ? verbs[kind] : "?";
}

void action_describe(const struct action *a, char *buf, size_t size)
{
    const char *ns = a->ns ? a->ns : "", *slash = a->ns ? "/" : "";
    switch (a->kind) {
    case ACTION_BIND:
        snprintf(buf, size, "bind pods %s%s%s to %s", ns, slash, a->name, a->node);
        return;
    case ACTION_EVENT:
        snprintf(buf, size, "event %s on %s %s%s%s", a->reason,
                 json_string_value(json_object_get(a->body, "kind")), ns, slash,
                 json_string_value(json_object_get(a->body, "name")));
        return;
    case ACTION_EXTERNAL:
        snprintf(buf, size, "external operation %d", a->op);
        return;
    case ACTION_CREATE: {
        const char *name = meta_name(a->body);
        snprintf(buf, size, "create %s %s%s%s", a->res->plural, ns, slash,
                 name ? name : "(generated)");
        return;
    }
    default:
        snprintf(buf, size, "%s %s %s%s%s", kind_verb(a->kind), a->res->plural, ns, slash,
                 a->name);
    }
}
