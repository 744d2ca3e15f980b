/*
 * Building and reading Events (event.h).
 */
#include "api/event.h"

#include <stdio.h>
#include <string.h>

#include "api/meta.h"

json_t *event_new(const json_t *involved, const struct event_spec *s, int64_t now_ns)
{
    const char *name = meta_name(involved);
    if (!name || !s->reason)
        return NULL;
    const char *ns = meta_namespace(involved);
    char gen[300], t[META_TIME_LEN], mt[META_MICROTIME_LEN];
    snprintf(gen, sizeof gen, "%.240s.", name);
    meta_format_time(now_ns, t);
    meta_format_microtime(now_ns, mt);
    json_t *ref = json_pack("{s:s?, s:s?, s:s, s:s?, s:s?, s:s?}", "apiVersion",
                            json_string_value(json_object_get(involved, "apiVersion")), "kind",
                            json_string_value(json_object_get(involved, "kind")), "name", name,
                            "namespace", ns, "uid", meta_uid(involved), "resourceVersion",
                            meta_resource_version(involved));
    const char *component = s->component ? s->component : "gpuslice";
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:i,"
                     " s:s, s:s}",
                     "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
                     "namespace", ns && *ns ? ns : "default", "involvedObject", ref, "reason",
                     s->reason, "message", s->message ? s->message : "", "type",
                     s->type ? s->type : EVENT_NORMAL, "source", "component", component,
                     "reportingComponent", component, "firstTimestamp", t, "lastTimestamp", t,
                     "count", 1, "eventTime", mt, "reportingInstance", component);
}

int event_read(const json_t *ev, struct event_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(ev);
    v->ns = meta_namespace(ev);
    const json_t *io = json_object_get(ev, "involvedObject");
    if (!json_is_object(io))
        return err_set(e, -EINVAL, "involvedObject: Required value");
    v->kind = json_string_value(json_object_get(io, "kind"));
    v->object = json_string_value(json_object_get(io, "name"));
    v->object_ns = json_string_value(json_object_get(io, "namespace"));
    v->object_uid = json_string_value(json_object_get(io, "uid"));
    if (!v->kind || !*v->kind)
        return err_set(e, -EINVAL, "involvedObject.kind: Required value");
    if (!v->object || !*v->object)
        return err_set(e, -EINVAL, "involvedObject.name: Required value");
    const json_t *type = json_object_get(ev, "type");
    v->type = type ? json_string_value(type) : EVENT_NORMAL;
    if (!v->type || (strcmp(v->type, EVENT_NORMAL) && strcmp(v->type, EVENT_WARNING)))
        return err_set(e, -EINVAL, "type: Unsupported value: \"%s\": supported values: \"Normal\", "
                       "\"Warning\"", v->type ? v->type : "");
    v->reason = json_string_value(json_object_get(ev, "reason"));
    v->message = json_string_value(json_object_get(ev, "message"));
    const json_t *count = json_object_get(ev, "count");
    if (count && !json_is_integer(count))
        return err_set(e, -EINVAL, "count: Invalid value: must be a number");
    v->count = count ? json_integer_value(count) : 1;
    return 0;
}
