/*
 * Start-up objects of the API server (bootstrap.h).
 */
#include "apiserver/bootstrap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/yaml.h"

int bootstrap_namespaces(struct store *st, struct err *e)
{
    static const char *const names[] = {"default", "kube-system", "kube-public",
                                        "kube-node-lease"};
    const struct api_resource *ns = api_registry_find(store_registry(st), "", "v1", "namespaces");
    if (!ns)
        return err_set(e, -ENOENT, "bootstrap: the store serves no namespaces");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                                "metadata", "name", names[i]);
        int rc = obj ? store_create(st, ns, NULL, obj, NULL, NULL, e)
                     : err_set(e, -ENOMEM, "bootstrap: out of memory");
        json_decref(obj);
        if (rc != 0 && rc != -EEXIST)
            return rc;
    }
    err_clear(e);
    return 0;
}

/* Stores one CRD document: create, or replace what is there. */
static int store_crd(struct store *st, const struct api_resource *crds, const json_t *doc,
                     struct err *e)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (!kind || strcmp(kind, "CustomResourceDefinition") != 0)
        return err_set(e, -EINVAL, "a %s, where only CustomResourceDefinitions are expected",
                       kind ? kind : "document without a kind");
    int rc = store_create(st, crds, NULL, doc, NULL, NULL, e);
    if (rc == -EEXIST)
        rc = store_update(st, crds, NULL, doc, NULL, NULL, e);
    return rc;
}

static int load_file(struct store *st, const struct api_resource *crds,
                     const struct fileset_file *f, size_t *loaded, struct err *e)
{
    struct yaml_doc *d = NULL;
    int rc = yaml_doc_parse(f->name, f->text, f->len, NULL, &d, e);
    for (size_t i = 0; rc == 0 && i < yaml_doc_count(d); i++) {
        const json_t *doc = yaml_doc_root(d, i);
        if (json_is_null(doc))
            continue; /* an empty document between separators */
        rc = store_crd(st, crds, doc, e);
        if (rc != 0)
            err_prefix(e, rc, "%s: document %zu: ", f->name, i + 1);
        else
            (*loaded)++;
    }
    yaml_doc_free(d);
    return rc;
}

int bootstrap_crds(struct store *st, const struct fileset *set, size_t *loaded, struct err *e)
{
    size_t count = 0;
    const struct api_resource *crds = api_registry_find(store_registry(st), "apiextensions.k8s.io",
                                                        "v1", "customresourcedefinitions");
    int rc = crds ? 0
                  : err_set(e, -ENOENT, "bootstrap: the store serves no customresourcedefinitions");
    for (size_t i = 0; rc == 0 && i < set->n; i++)
        rc = load_file(st, crds, &set->files[i], &count, e);
    if (loaded)
        *loaded = count;
    return rc;
}
