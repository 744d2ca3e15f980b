/*
 * Reading and building ConfigMaps (configmap.h).
 */
#include "api/configmap.h"

#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "util/jdoc.h"

int configmap_check_key(const char *key, const char *field, struct err *e)
{
    size_t len = strlen(key);
    if (len == 0 || len > 253 || !strcmp(key, ".") || !strcmp(key, ".."))
        return err_set(e, -EINVAL, "%s: Invalid value: \"%.64s\": a valid config key must be 1 to "
                       "253 characters and not '.' or '..'", field, key);
    for (const char *c = key; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return err_set(e, -EINVAL, "%s: Invalid value: \"%.64s\": a valid config key must "
                           "consist of alphanumeric characters, '-', '_' or '.'", field, key);
    return 0;
}

static int read_map(const json_t *map, const char *what, size_t *bytes, struct err *e)
{
    if (map && !json_is_null(map) && !json_is_object(map))
        return err_set(e, -EINVAL, "%s: Invalid value: must be an object", what);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (configmap_check_key(key, NULL, NULL) == 0 && json_is_string(v)) {
            *bytes += strlen(key) + json_string_length(v);
            continue;
        }
        char field[300]; /* named for the error only: every write of a ConfigMap reads it */
        snprintf(field, sizeof field, "%s[%.256s]", what, key);
        if (configmap_check_key(key, field, e) != 0)
            return -EINVAL;
        return err_set(e, -EINVAL, "%s: Invalid value: must be a string", field);
    }
    return 0;
}

int configmap_read(const json_t *cm, struct configmap_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(cm);
    v->ns = meta_namespace(cm);
    v->data = json_object_get(cm, "data");
    v->binary_data = json_object_get(cm, "binaryData");
    size_t bytes = 0;
    if (read_map(v->data, "data", &bytes, e) || read_map(v->binary_data, "binaryData", &bytes, e))
        return -EINVAL;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v->binary_data, key, val) {
        if (json_object_get(v->data, key))
            return err_set(e, -EINVAL, "data[%.256s]: Invalid value: duplicate of key present in "
                           "binaryData", key);
    }
    if (bytes > CONFIGMAP_MAX_BYTES)
        return err_set(e, -EINVAL, "data: Too long: must have at most %d bytes",
                       CONFIGMAP_MAX_BYTES);
    return 0;
}

json_t *configmap_new(const char *ns, const char *name, const json_t *data, const json_t *owner)
{
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", name, "namespace", ns, "data",
                           data ? jdoc_copy(data) : json_object());
    if (cm && owner) {
        json_t *ref = meta_owner_ref(owner, true, true);
        if (!ref || json_object_set_new(json_object_get(cm, "metadata"), "ownerReferences",
                                        json_pack("[o]", ref)) != 0) {
            json_decref(cm);
            return NULL;
        }
    }
    return cm;
}
