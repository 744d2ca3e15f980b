/*
 * Merge patch, JSON patch and strategic merge patch (patch.h).
 *
 * Each works on a copy of the target, so a failure half way leaves nothing
 * changed: the JSON and strategic patches on a deep copy, the merge patch
 * on new objects along the patch's paths only (the rest shared). The strategic merge knows list strategies from a small
 * table of paths (field names joined by '.', list indexes left out) instead
 * of Go struct tags.
 */
#include "api/patch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/jdoc.h"

/* --- JSON merge patch (RFC 7386) ---------------------------------------- */

/* Merges patch into *target, which may be shared and is never changed:
 * *target is replaced by a new object (its members shared) before a
 * member is set, so only the objects on the patch's paths are new. */
static int merge_into(json_t **target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_t *copy = jdoc_copy(patch);
        if (!copy)
            return -ENOMEM;
        json_decref(*target);
        *target = copy;
        return 0;
    }
    json_t *own = json_is_object(*target) ? jdoc_shallow(*target) : json_object();
    json_decref(*target);
    *target = own;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(*target, key);
            continue;
        }
        json_t *child = json_incref(json_object_get(*target, key));
        int rc = merge_into(&child, v);
        if (rc == 0 && json_object_set_new(*target, key, child) != 0)
            rc = -ENOMEM;
        else if (rc != 0)
            json_decref(child);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int patch_merge(const json_t *target, const json_t *patch, json_t **out, struct err *e)
{
    *out = NULL;
    if (!patch)
        return err_set(e, -EBADMSG, "merge patch: no patch document");
    json_t *doc = target ? json_incref((json_t *)target) : json_null();
    if (merge_into(&doc, patch) != 0) {
        json_decref(doc);
        return err_set(e, -ENOMEM, "merge patch: out of memory");
    }
    *out = doc;
    return 0;
}

/* --- JSON pointer (RFC 6901) ---------------------------------------------- */

/* Decodes the token of pointer starting at p (after a '/') into buf; returns
 * the length consumed, or -1 for a bad escape. */
static int pointer_token(const char *p, char *buf, size_t size)
{
    size_t o = 0;
    int i = 0;
    for (; p[i] && p[i] != '/'; i++) {
        char c = p[i];
        if (c == '~') {
            if (p[i + 1] == '0')
                c = '~';
            else if (p[i + 1] == '1')
                c = '/';
            else
                return -1;
            i++;
        }
        if (o + 1 >= size)
            return -1;
        buf[o++] = c;
    }
    buf[o] = '\0';
    return i;
}

/* An array index token: digits without leading zeros. */
static bool pointer_index(const char *tok, size_t *idx)
{
    if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return false;
    size_t v = 0;
    for (const char *c = tok; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (size_t)(*c - '0');
    }
    *idx = v;
    return true;
}

#define POINTER_TOKEN_MAX 512

/* Resolves pointer in doc to the container holding its last token: *parent
 * and the token in last. -1 when a step on the way does not resolve. The
 * root pointer "" has no parent: *parent is NULL and 0 returned. */
static int pointer_parent(json_t *doc, const char *pointer, json_t **parent,
                          char last[POINTER_TOKEN_MAX])
{
    *parent = NULL;
    if (*pointer == '\0')
        return 0;
    if (*pointer != '/')
        return -1;
    json_t *cur = doc;
    const char *p = pointer + 1;
    for (;;) {
        char tok[POINTER_TOKEN_MAX];
        int n = pointer_token(p, tok, sizeof tok);
        if (n < 0)
            return -1;
        if (p[n] == '\0') {
            memcpy(last, tok, sizeof tok);
            *parent = cur;
            return 0;
        }
        size_t idx = 0;
        if (json_is_object(cur))
            cur = json_object_get(cur, tok);
        else if (json_is_array(cur) && pointer_index(tok, &idx))
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
        if (!cur)
            return -1;
        p += n + 1;
    }
}

json_t *patch_pointer_get(const json_t *doc, const char *pointer)
{
    json_t *parent;
    char last[POINTER_TOKEN_MAX];
    if (!pointer || pointer_parent((json_t *)doc, pointer, &parent, last) != 0)
        return NULL;
    if (!parent)
        return (json_t *)doc;
    size_t idx = 0;
    if (json_is_object(parent))
        return json_object_get(parent, last);
    if (json_is_array(parent) && pointer_index(last, &idx))
        return json_array_get(parent, idx);
    return NULL;
}

/* --- JSON patch (RFC 6902) ------------------------------------------------ */

struct jp_op {
    size_t index;
    const char *op, *path, *from;
    const json_t *value;
};

static int jp_fail(struct err *e, const struct jp_op *o, const char *why)
{
    return err_set(e, -EINVAL, "json patch operation %zu (%s %s): %s", o->index, o->op, o->path,
                   why);
}

/* Adds value (reference stolen) at path. */
static int jp_add(json_t **doc, const char *path, json_t *value, const struct jp_op *o,
                  struct err *e)
{
    json_t *parent;
    char last[POINTER_TOKEN_MAX];
    if (pointer_parent(*doc, path, &parent, last) != 0) {
        json_decref(value);
        return jp_fail(e, o, "the path does not exist");
    }
    if (!parent) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    size_t idx = 0;
    int rc;
    if (json_is_object(parent)) {
        rc = json_object_set_new(parent, last, value);
    } else if (json_is_array(parent) && strcmp(last, "-") == 0) {
        rc = json_array_append_new(parent, value);
    } else if (json_is_array(parent) && pointer_index(last, &idx) &&
               idx <= json_array_size(parent)) {
        rc = json_array_insert_new(parent, idx, value);
    } else {
        json_decref(value);
        return jp_fail(e, o, "the path does not exist");
    }
    return rc == 0 ? 0 : err_set(e, -ENOMEM, "json patch: out of memory");
}

/* Removes the value at path; hands it to *taken (new reference) if asked. */
static int jp_remove(json_t *doc, const char *path, json_t **taken, const struct jp_op *o,
                     struct err *e)
{
    json_t *parent;
    char last[POINTER_TOKEN_MAX];
    if (pointer_parent(doc, path, &parent, last) != 0 || !parent)
        return jp_fail(e, o, parent ? "the path does not exist" : "cannot remove the root");
    size_t idx = 0;
    json_t *v = NULL;
    if (json_is_object(parent))
        v = json_object_get(parent, last);
    else if (json_is_array(parent) && pointer_index(last, &idx))
        v = json_array_get(parent, idx);
    if (!v)
        return jp_fail(e, o, "the path does not exist");
    if (taken)
        *taken = json_incref(v);
    if (json_is_object(parent))
        json_object_del(parent, last);
    else
        json_array_remove(parent, idx);
    return 0;
}

static int jp_read_op(const json_t *jo, size_t i, struct jp_op *o, struct err *e)
{
    memset(o, 0, sizeof *o);
    o->index = i;
    if (!json_is_object(jo))
        return err_set(e, -EBADMSG, "json patch operation %zu: must be an object", i);
    o->op = json_string_value(json_object_get(jo, "op"));
    o->path = json_string_value(json_object_get(jo, "path"));
    o->from = json_string_value(json_object_get(jo, "from"));
    o->value = json_object_get(jo, "value");
    if (!o->op)
        return err_set(e, -EBADMSG, "json patch operation %zu: missing \"op\"", i);
    if (!o->path)
        return err_set(e, -EBADMSG, "json patch operation %zu (%s): missing \"path\"", i, o->op);
    bool needs_value = !strcmp(o->op, "add") || !strcmp(o->op, "replace") || !strcmp(o->op, "test");
    bool needs_from = !strcmp(o->op, "move") || !strcmp(o->op, "copy");
    if (!needs_value && !needs_from && strcmp(o->op, "remove") != 0)
        return err_set(e, -EBADMSG, "json patch operation %zu: unknown op \"%s\"", i, o->op);
    if (needs_value && !o->value)
        return err_set(e, -EBADMSG, "json patch operation %zu (%s %s): missing \"value\"", i,
                       o->op, o->path);
    if (needs_from && !o->from)
        return err_set(e, -EBADMSG, "json patch operation %zu (%s %s): missing \"from\"", i,
                       o->op, o->path);
    return 0;
}

static int jp_apply(json_t **doc, const struct jp_op *o, struct err *e)
{
    const char *op = o->op;
    if (!strcmp(op, "add"))
        return jp_add(doc, o->path, jdoc_copy(o->value), o, e);
    if (!strcmp(op, "remove"))
        return jp_remove(*doc, o->path, NULL, o, e);
    if (!strcmp(op, "replace")) {
        if (!patch_pointer_get(*doc, o->path))
            return jp_fail(e, o, "the path does not exist");
        if (*o->path && jp_remove(*doc, o->path, NULL, o, e) != 0)
            return -EINVAL;
        return jp_add(doc, o->path, jdoc_copy(o->value), o, e);
    }
    if (!strcmp(op, "test")) {
        const json_t *have = patch_pointer_get(*doc, o->path);
        if (!have)
            return jp_fail(e, o, "the path does not exist");
        return json_equal(have, o->value) ? 0 : jp_fail(e, o, "test failed: the value differs");
    }
    if (!strcmp(op, "copy")) {
        const json_t *src = patch_pointer_get(*doc, o->from);
        if (!src)
            return jp_fail(e, o, "the \"from\" path does not exist");
        return jp_add(doc, o->path, jdoc_copy(src), o, e);
    }
    /* move: a location cannot move into one of its own children */
    size_t fl = strlen(o->from);
    if (strncmp(o->path, o->from, fl) == 0 && o->path[fl] == '/')
        return jp_fail(e, o, "cannot move a value into one of its children");
    json_t *v = NULL;
    if (strcmp(o->path, o->from) == 0)
        return patch_pointer_get(*doc, o->from) ? 0 : jp_fail(e, o, "the \"from\" path does not exist");
    if (jp_remove(*doc, o->from, &v, o, e) != 0)
        return -EINVAL;
    return jp_add(doc, o->path, v, o, e);
}

int patch_json(const json_t *target, const json_t *ops, json_t **out, struct err *e)
{
    *out = NULL;
    if (!json_is_array(ops))
        return err_set(e, -EBADMSG, "json patch: must be a list of operations");
    if (json_array_size(ops) > PATCH_JSON_MAX_OPS)
        return err_set(e, -EBADMSG, "json patch: %zu operations, at most %d allowed",
                       json_array_size(ops), PATCH_JSON_MAX_OPS);
    /* Every operation is read (and checked) once, before any applies. */
    size_t n = json_array_size(ops);
    struct jp_op *read = alloc_malloc((n ? n : 1) * sizeof *read);
    for (size_t i = 0; i < n; i++)
        if (jp_read_op(json_array_get(ops, i), i, &read[i], e) != 0) {
            free(read);
            return -EBADMSG;
        }
    json_t *doc = jdoc_copy(target);
    int rc = doc ? 0 : err_set(e, -ENOMEM, "json patch: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = jp_apply(&doc, &read[i], e);
    free(read);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

/* --- strategic merge patch ------------------------------------------------ */

struct smp_list {
    const char *path;      /* field names from the object root, '.'-joined */
    const char *merge_key; /* NULL: a list of primitives merged as a set */
};

/* Paths inside a pod spec, used under "spec." for Pods and under
 * "spec.template.spec." for the kinds with a pod template. */
static const struct smp_list smp_pod_spec[] = {
    {"containers", "name"},
    {"initContainers", "name"},
    {"ephemeralContainers", "name"},
    {"containers.env", "name"},
    {"initContainers.env", "name"},
    {"containers.ports", "containerPort"},
    {"initContainers.ports", "containerPort"},
    {"containers.volumeMounts", "mountPath"},
    {"initContainers.volumeMounts", "mountPath"},
    {"containers.volumeDevices", "devicePath"},
    {"initContainers.volumeDevices", "devicePath"},
    {"volumes", "name"},
    {"imagePullSecrets", "name"},
    {"schedulingGates", "name"},
    {"resourceClaims", "name"},
    {"hostAliases", "ip"},
};

static const struct smp_list smp_common[] = {
    {"metadata.ownerReferences", "uid"},
    {"metadata.finalizers", NULL},
    {"status.conditions", "type"},
};

struct smp_kind_list {
    const char *kind;
    struct smp_list list;
};

static const struct smp_kind_list smp_kinds[] = {
    {"Node", {"status.addresses", "type"}},
    {"MutatingWebhookConfiguration", {"webhooks", "name"}},
};

static bool smp_kind_has_template(const char *kind)
{
    return kind && (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") ||
                    !strcmp(kind, "Job"));
}

/* Finds the strategy of the list at path: 1 with *key set (NULL for a set
 * of primitives) when it merges, 0 when it is replaced. */
static int smp_strategy(const char *kind, const char *path, const char **key)
{
    for (size_t i = 0; i < sizeof smp_common / sizeof smp_common[0]; i++)
        if (!strcmp(path, smp_common[i].path)) {
            *key = smp_common[i].merge_key;
            return 1;
        }
    for (size_t i = 0; i < sizeof smp_kinds / sizeof smp_kinds[0]; i++)
        if (kind && !strcmp(kind, smp_kinds[i].kind) && !strcmp(path, smp_kinds[i].list.path)) {
            *key = smp_kinds[i].list.merge_key;
            return 1;
        }
    const char *prefix = NULL;
    if (kind && !strcmp(kind, "Pod"))
        prefix = "spec.";
    else if (smp_kind_has_template(kind))
        prefix = "spec.template.spec.";
    if (!prefix || strncmp(path, prefix, strlen(prefix)) != 0)
        return 0;
    const char *rest = path + strlen(prefix);
    for (size_t i = 0; i < sizeof smp_pod_spec / sizeof smp_pod_spec[0]; i++)
        if (!strcmp(rest, smp_pod_spec[i].path)) {
            *key = smp_pod_spec[i].merge_key;
            return 1;
        }
    return 0;
}

struct smp {
    const char *kind;
    struct err *e;
};

#define SMP_PATH_MAX 512

static bool smp_directive(const json_t *m, const char *value)
{
    const char *d = json_string_value(json_object_get(m, "$patch"));
    return d && !strcmp(d, value);
}

/* A copy of v without directives (the part of a patch that is plain data). */
static json_t *smp_clean(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < json_array_size(v); i++) {
            const json_t *el = json_array_get(v, i);
            if (json_is_object(el) && json_object_get(el, "$patch"))
                continue;
            if (json_array_append_new(a, smp_clean(el)) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (!json_is_object(v))
        return jdoc_copy(v);
    json_t *o = json_object();
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        if (key[0] == '$' || json_is_null(child))
            continue;
        if (!o || json_object_set_new(o, key, smp_clean(child)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int smp_merge_map(const struct smp *s, json_t *orig, const json_t *patch,
                         const char *path);

static bool smp_key_equal(const json_t *a, const json_t *b, const char *key)
{
    const json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
    return va && vb && json_equal(va, vb);
}

static int smp_merge_list(const struct smp *s, json_t *orig, const json_t *patch,
                          const char *path, const char *key)
{
    for (size_t i = 0; i < json_array_size(patch); i++) {
        const json_t *p = json_array_get(patch, i);
        if (!key) { /* a set of primitives */
            bool have = false;
            for (size_t j = 0; j < json_array_size(orig) && !have; j++)
                have = json_equal(json_array_get(orig, j), p);
            if (!have && json_array_append_new(orig, jdoc_copy(p)) != 0)
                return err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
            continue;
        }
        if (!json_is_object(p))
            return err_set(s->e, -EBADMSG, "strategic merge patch: %s[%zu]: must be an object "
                           "with merge key \"%s\"", path, i, key);
        if (!json_object_get(p, key))
            return err_set(s->e, -EBADMSG, "strategic merge patch: %s[%zu]: map has no merge "
                           "key \"%s\"", path, i, key);
        size_t j = 0;
        while (j < json_array_size(orig) && !smp_key_equal(json_array_get(orig, j), p, key))
            j++;
        bool found = j < json_array_size(orig);
        if (smp_directive(p, "delete")) {
            if (found)
                json_array_remove(orig, j);
            continue;
        }
        if (!found) {
            if (json_array_append_new(orig, smp_clean(p)) != 0)
                return err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
            continue;
        }
        json_t *el = json_array_get(orig, j);
        if (!json_is_object(el)) {
            if (json_array_set_new(orig, j, smp_clean(p)) != 0)
                return err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
            continue;
        }
        int rc = smp_merge_map(s, el, p, path);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sets orig[field] from a patch list under the list's strategy. */
static int smp_set_list(const struct smp *s, json_t *orig, const char *field,
                        const json_t *plist, const char *path)
{
    const char *key = NULL;
    bool replace = !smp_strategy(s->kind, path, &key);
    for (size_t i = 0; i < json_array_size(plist) && !replace; i++)
        replace = json_is_object(json_array_get(plist, i)) &&
                  smp_directive(json_array_get(plist, i), "replace");
    json_t *cur = json_object_get(orig, field);
    if (replace || !json_is_array(cur)) {
        json_t *clean = smp_clean(plist);
        if (!clean || json_object_set_new(orig, field, clean) != 0)
            return err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
        return 0;
    }
    return smp_merge_list(s, cur, plist, path, key);
}

/* Applies `$deleteFromPrimitiveList/<field>: [values]`. */
static int smp_delete_primitives(json_t *orig, const char *field, const json_t *values,
                                 const struct smp *s)
{
    if (!json_is_array(values))
        return err_set(s->e, -EBADMSG, "strategic merge patch: $deleteFromPrimitiveList/%s: "
                       "must be a list", field);
    json_t *list = json_object_get(orig, field);
    for (size_t i = 0; i < json_array_size(values); i++)
        for (size_t j = json_array_size(list); j-- > 0;)
            if (json_equal(json_array_get(list, j), json_array_get(values, i)))
                json_array_remove(list, j);
    return 0;
}

static int smp_retain_keys(json_t *orig, const json_t *keys, const struct smp *s,
                           const char *path)
{
    if (!json_is_array(keys))
        return err_set(s->e, -EBADMSG, "strategic merge patch: %s.$retainKeys: must be a list",
                       path);
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(orig, tmp, key, v) {
        bool keep = false;
        for (size_t i = 0; i < json_array_size(keys) && !keep; i++)
        {
            const char *k = json_string_value(json_array_get(keys, i));
            keep = k && !strcmp(key, k);
        }
        if (!keep)
            json_object_del(orig, key);
    }
    return 0;
}

static int smp_merge_map(const struct smp *s, json_t *orig, const json_t *patch,
                         const char *path)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v) {
        char sub[SMP_PATH_MAX];
        int rc = 0;
        if (!strncmp(key, "$deleteFromPrimitiveList/", 25)) {
            rc = smp_delete_primitives(orig, key + 25, v, s);
        } else if (key[0] == '$') {
            continue; /* $patch, $retainKeys (below), $setElementOrder/... */
        } else if (json_is_null(v)) {
            json_object_del(orig, key);
        } else if (snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key) >=
                   (int)sizeof sub) {
            rc = err_set(s->e, -EBADMSG, "strategic merge patch: path too deep at %s", path);
        } else if (json_is_array(v)) {
            rc = smp_set_list(s, orig, key, v, sub);
        } else if (json_is_object(v) && smp_directive(v, "delete")) {
            json_object_del(orig, key);
        } else if (json_is_object(v) && !smp_directive(v, "replace")) {
            /* merged even into nothing, so that its directives are read */
            json_t *child = json_object_get(orig, key);
            if (!json_is_object(child) && json_object_set_new(orig, key, child = json_object()))
                rc = err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
            if (rc == 0)
                rc = smp_merge_map(s, child, v, sub);
        } else {
            json_t *clean = smp_clean(v);
            if (!clean || json_object_set_new(orig, key, clean) != 0)
                rc = err_set(s->e, -ENOMEM, "strategic merge patch: out of memory");
        }
        if (rc)
            return rc;
    }
    const json_t *retain = json_object_get(patch, "$retainKeys");
    return retain ? smp_retain_keys(orig, retain, s, path) : 0;
}

int patch_strategic(const json_t *target, const json_t *patch, const char *kind, json_t **out,
                    struct err *e)
{
    *out = NULL;
    if (!json_is_object(patch))
        return err_set(e, -EBADMSG, "strategic merge patch: must be a JSON object");
    struct smp s = {kind, e};
    json_t *doc = json_is_object(target) ? jdoc_copy(target) : json_object();
    if (!doc)
        return err_set(e, -ENOMEM, "strategic merge patch: out of memory");
    int rc;
    if (smp_directive(patch, "replace")) {
        json_decref(doc);
        doc = smp_clean(patch);
        rc = doc ? 0 : err_set(e, -ENOMEM, "strategic merge patch: out of memory");
    } else {
        rc = smp_merge_map(&s, doc, patch, "");
    }
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}
