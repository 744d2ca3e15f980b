/*
 * Discovery documents (discovery.h), assembled from a snapshot of the
 * registry so that a CRD added or removed meanwhile never shows half.
 */
#include "apiserver/discovery.h"
#include "util/alloc.h"
#include "util/jdoc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t discovery_resources(struct api_registry *reg, const struct api_resource ***out)
{
    *out = NULL;
    for (;;) {
        size_t want = api_registry_list(reg, NULL, 0);
        if (want == 0)
            return 0;
        /* Room for a few registered meanwhile, so the second call fits. */
        const struct api_resource **v = alloc_malloc((want + 8) * sizeof *v);
        size_t n = api_registry_list(reg, v, want + 8);
        if (n <= want + 8) {
            *out = v;
            return n;
        }
        free(v);
    }
}

json_t *discovery_core(void)
{
    return json_pack("{s:s, s:[s]}", "kind", "APIVersions", "versions", "v1");
}

static json_t *group_version_entry(const struct api_resource *r)
{
    return json_pack("{s:s, s:s}", "groupVersion", r->api_version, "version", r->version);
}

/* The APIGroup of group from the snapshot v[0..n), or NULL when none. */
static json_t *group_doc(const struct api_resource **v, size_t n, const char *group)
{
    json_t *versions = json_array(), *preferred = NULL;
    for (size_t i = 0; versions && i < n; i++) {
        if (strcmp(v[i]->group, group) != 0)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(v[k]->group, group) == 0 && strcmp(v[k]->version, v[i]->version) == 0;
        if (seen)
            continue;
        jdoc_append(versions, group_version_entry(v[i]));
        if (!preferred)
            preferred = group_version_entry(v[i]);
    }
    if (!versions || !preferred) {
        json_decref(versions);
        json_decref(preferred);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "kind", "APIGroup", "apiVersion", "v1", "name",
                     group, "versions", versions, "preferredVersion", preferred);
}

json_t *discovery_groups(struct api_registry *reg)
{
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < n; i++) {
        if (v[i]->group[0] == '\0')
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(v[k]->group, v[i]->group) == 0;
        json_t *g = seen ? NULL : group_doc(v, n, v[i]->group);
        if (g) {
            json_object_del(g, "kind");
            json_object_del(g, "apiVersion");
            jdoc_append(groups, g);
        }
    }
    free(v);
    return groups ? json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
                              "groups", groups)
                  : NULL;
}

json_t *discovery_group(struct api_registry *reg, const char *group)
{
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    json_t *g = group[0] ? group_doc(v, n, group) : NULL;
    free(v);
    return g;
}

static json_t *string_list(const char *const *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && s[i]; i++)
        jdoc_append(a, json_string(s[i]));
    return a;
}

static json_t *resource_entry(const struct api_resource *r, const char *sub,
                              const char *const *verbs)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s%s", r->plural, sub ? "/" : "", sub ? sub : "");
    json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName",
                          sub ? "" : r->singular, "namespaced", r->namespaced, "kind",
                          strcmp(sub ? sub : "", "binding") == 0 ? "Binding" : r->kind, "verbs",
                          string_list(verbs));
    if (e && !sub) {
        if (r->short_names[0])
            jdoc_set(e, "shortNames", string_list(r->short_names));
        if (r->categories[0])
            jdoc_set(e, "categories", string_list(r->categories));
    }
    return e;
}

json_t *discovery_group_version(struct api_registry *reg, const char *group,
                                const char *version)
{
    static const char *const all_verbs[] = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch",
                                            NULL};
    static const char *const status_verbs[] = {"get", "patch", "update", NULL};
    static const char *const binding_verbs[] = {"create", NULL};
    static const char *const log_verbs[] = {"get", NULL};
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    json_t *list = json_array();
    const char *gv = NULL;
    for (size_t i = 0; list && i < n; i++) {
        const struct api_resource *r = v[i];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        gv = r->api_version;
        jdoc_append(list, resource_entry(r, NULL, all_verbs));
        if (r->has_status)
            jdoc_append(list, resource_entry(r, "status", status_verbs));
        if (r->builtin && r->group[0] == '\0' && strcmp(r->plural, "pods") == 0) {
            jdoc_append(list, resource_entry(r, "binding", binding_verbs));
            jdoc_append(list, resource_entry(r, "log", log_verbs));
        }
    }
    json_t *doc = list && gv ? json_pack("{s:s, s:s, s:s, s:O}", "kind", "APIResourceList",
                                         "apiVersion", "v1", "groupVersion", gv, "resources",
                                         list)
                             : NULL;
    json_decref(list);
    free(v);
    return doc;
}

json_t *discovery_version(const char *gpuslice_version)
{
    char git[128];
    snprintf(git, sizeof git, "v%s.%s.0+gpuslice-%s", DISCOVERY_KUBE_MAJOR, DISCOVERY_KUBE_MINOR,
             gpuslice_version);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "major", DISCOVERY_KUBE_MAJOR, "minor",
                     DISCOVERY_KUBE_MINOR, "gitVersion", git, "gitCommit", "", "gitTreeState",
                     "clean", "buildDate", "");
}
