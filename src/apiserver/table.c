/*
 * Table conversion (table.h). Built-in printers are rows of a static column
 * table, each column a function of the object; a custom resource's columns
 * are JSONPaths from its CRD, evaluated per object. Cells follow what the
 * API server's printers put there (kubectl only aligns them).
 */
#include "apiserver/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "apiserver/jsonpath.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"

struct table_column {
    const char *name;
    const char *type;   /* string, integer, number, boolean, date */
    const char *format; /* "name" for the name column, else "" */
    const char *description;
    int priority;       /* 0: always shown; 1: with -o wide */
    const char *path;   /* a JSONPath: custom resources', or a built-in field's */
    json_t *(*cell)(const json_t *obj, int64_t now_ns); /* built-in printers */
    /* A built-in column without a printer shows the field at path: its
     * text, or absent when it has none (FIELD_TEXT); its integer, or dflt
     * (FIELD_COUNT). */
    enum { FIELD_CRD, FIELD_TEXT, FIELD_COUNT } field;
    const char *absent;
    json_int_t dflt;
};

#define COL_TEXT(name, type, description, priority, path, absent)                          \
    {name, type, "", description, priority, path, NULL, FIELD_TEXT, absent, 0}
#define COL_COUNT(name, description, priority, path, dflt)                                   \
    {name, "integer", "", description, priority, path, NULL, FIELD_COUNT, NULL, dflt}

struct table_spec {
    const struct table_column *cols;
    size_t n;
    struct table_column *owned; /* cols when they came from a CRD */
    json_t *crd;                /* holds the strings owned columns borrow */
};

/* ---- helpers for cells ---- */

static const json_t *at(const json_t *obj, const char *path)
{
    return jsonpath_get(obj, path);
}

static const char *str_at(const json_t *obj, const char *path)
{
    return json_string_value(at(obj, path));
}

static json_int_t int_at(const json_t *obj, const char *path, json_int_t def)
{
    const json_t *v = at(obj, path);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

static json_t *string_or_none(const char *s)
{
    return json_string(s && *s ? s : "<none>");
}

static json_t *age_cell(const char *timestamp, int64_t now_ns)
{
    char age[TABLE_AGE_LEN];
    table_age_since(timestamp, now_ns, age);
    return json_string(age);
}

/* Joins the strings at member key of each element of arr with ','. */
static json_t *join_members(const json_t *arr, const char *key)
{
    char buf[1024];
    size_t len = 0, i;
    const json_t *el;
    buf[0] = '\0';
    json_array_foreach(arr, i, el) {
        const char *s = json_string_value(json_object_get(el, key));
        if (s && len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", s);
    }
    return string_or_none(buf);
}

static bool condition_is(const json_t *obj, const char *type, const char *status)
{
    const json_t *conds = at(obj, ".status.conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && strcmp(t, type) == 0 && strcmp(s, status) == 0)
            return true;
    }
    return false;
}

/* ---- columns every kind has ---- */

static json_t *cell_name(const json_t *obj, int64_t now_ns)
{
    (void)now_ns;
    return json_string(meta_name(obj) ? meta_name(obj) : "");
}

static json_t *cell_age(const json_t *obj, int64_t now_ns)
{
    return age_cell(str_at(obj, ".metadata.creationTimestamp"), now_ns);
}

#define COL_NAME                                                                            \
    {"Name", "string", "name", "Name must be unique within a namespace.", 0, NULL, cell_name}
#define COL_AGE                                                                             \
    {"Age", "string", "", "The time since the object was created.", 0, NULL, cell_age}

static const struct table_column default_cols[] = {COL_NAME, COL_AGE};

/* ---- pods ---- */

/* The STATUS column: the most telling reason, as kubectl users know it. */
static void pod_reason(const json_t *pod, char *out, size_t size)
{
    const char *phase = str_at(pod, ".status.phase");
    const char *reason = str_at(pod, ".status.reason");
    snprintf(out, size, "%s", reason && *reason ? reason : phase && *phase ? phase : "Pending");
    const json_t *gates = at(pod, ".spec.schedulingGates");
    if (json_array_size(gates) > 0 && !str_at(pod, ".spec.nodeName"))
        snprintf(out, size, "SchedulingGated");
    const json_t *inits = at(pod, ".status.initContainerStatuses");
    size_t ninit = json_array_size(at(pod, ".spec.initContainers"));
    size_t i;
    const json_t *cs;
    bool initializing = false;
    json_array_foreach(inits, i, cs) {
        const json_t *term = jsonpath_get(cs, ".state.terminated");
        const char *wait = str_at(cs, ".state.waiting.reason");
        if (term && int_at(term, ".exitCode", 0) == 0)
            continue;
        initializing = true;
        if (term)
            snprintf(out, size, "Init:%s", str_at(term, ".reason") ? str_at(term, ".reason")
                                                                   : "Error");
        else if (wait && *wait && strcmp(wait, "PodInitializing") != 0)
            snprintf(out, size, "Init:%s", wait);
        else
            snprintf(out, size, "Init:%zu/%zu", i, ninit);
        break;
    }
    const json_t *statuses = at(pod, ".status.containerStatuses");
    for (size_t k = json_array_size(statuses); !initializing && k-- > 0;) {
        cs = json_array_get(statuses, k);
        const char *wait = str_at(cs, ".state.waiting.reason");
        const json_t *term = at(cs, ".state.terminated");
        if (wait && *wait)
            snprintf(out, size, "%s", wait);
        else if (term && str_at(term, ".reason"))
            snprintf(out, size, "%s", str_at(term, ".reason"));
        else if (term && int_at(term, ".signal", 0) != 0)
            snprintf(out, size, "Signal:%lld", (long long)int_at(term, ".signal", 0));
        else if (term)
            snprintf(out, size, "ExitCode:%lld", (long long)int_at(term, ".exitCode", 0));
    }
    if (at(pod, ".metadata.deletionTimestamp"))
        snprintf(out, size, "Terminating");
}

static json_t *cell_pod_ready(const json_t *pod, int64_t now_ns)
{
    (void)now_ns;
    const json_t *statuses = at(pod, ".status.containerStatuses");
    size_t ready = 0, i;
    const json_t *cs;
    json_array_foreach(statuses, i, cs) {
        ready += json_is_true(json_object_get(cs, "ready"));
    }
    char buf[48];
    snprintf(buf, sizeof buf, "%zu/%zu", ready, json_array_size(at(pod, ".spec.containers")));
    return json_string(buf);
}

static json_t *cell_pod_status(const json_t *pod, int64_t now_ns)
{
    (void)now_ns;
    char buf[256];
    pod_reason(pod, buf, sizeof buf);
    return json_string(buf);
}

static json_t *cell_pod_restarts(const json_t *pod, int64_t now_ns)
{
    (void)now_ns;
    json_int_t n = 0;
    size_t i;
    const json_t *cs;
    json_array_foreach(at(pod, ".status.containerStatuses"), i, cs) {
        n += int_at(cs, ".restartCount", 0);
    }
    return json_integer(n);
}

static const struct table_column pod_cols[] = {
    COL_NAME,
    {"Ready", "string", "", "The containers ready and in all.", 0, NULL, cell_pod_ready},
    {"Status", "string", "", "The aggregate status of the containers.", 0, NULL,
     cell_pod_status},
    {"Restarts", "integer", "", "Container restarts.", 0, NULL, cell_pod_restarts},
    COL_AGE,
    COL_TEXT("IP", "string", "The pod's IP address.", 1, ".status.podIP", "<none>"),
    COL_TEXT("Node", "string", "The node the pod is bound to.", 1, ".spec.nodeName", "<none>"),
    COL_TEXT("Nominated Node", "string", "The node the scheduler nominated.", 1,
             ".status.nominatedNodeName", "<none>"),
};

/* ---- nodes ---- */

static json_t *cell_node_status(const json_t *node, int64_t now_ns)
{
    (void)now_ns;
    const char *s = condition_is(node, "Ready", "True")     ? "Ready"
                    : condition_is(node, "Ready", "False") ||
                              condition_is(node, "Ready", "Unknown")
                        ? "NotReady"
                        : "Unknown";
    char buf[64];
    snprintf(buf, sizeof buf, "%s%s", s,
             json_is_true(at(node, ".spec.unschedulable")) ? ",SchedulingDisabled" : "");
    return json_string(buf);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *cell_node_roles(const json_t *node, int64_t now_ns)
{
    (void)now_ns;
    static const char prefix[] = "node-role.kubernetes.io/";
    const char *roles[16];
    size_t n = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)at(node, ".metadata.labels"), key, v) {
        if (n == 16)
            break;
        if (strncmp(key, prefix, sizeof prefix - 1) == 0 && key[sizeof prefix - 1])
            roles[n++] = key + sizeof prefix - 1;
        else if (strcmp(key, "kubernetes.io/role") == 0 && json_string_length(v))
            roles[n++] = json_string_value(v);
    }
    qsort(roles, n, sizeof roles[0], compare_strings);
    char buf[512];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", roles[i]);
    return string_or_none(buf);
}

static json_t *cell_node_version(const json_t *node, int64_t now_ns)
{
    (void)now_ns;
    const char *v = str_at(node, ".status.nodeInfo.kubeletVersion");
    return json_string(v ? v : "");
}

static json_t *node_address(const json_t *node, const char *type)
{
    size_t i;
    const json_t *a;
    json_array_foreach(at(node, ".status.addresses"), i, a) {
        const char *t = json_string_value(json_object_get(a, "type"));
        if (t && strcmp(t, type) == 0)
            return string_or_none(json_string_value(json_object_get(a, "address")));
    }
    return json_string("<none>");
}

static json_t *cell_node_internal_ip(const json_t *node, int64_t now_ns)
{
    (void)now_ns;
    return node_address(node, "InternalIP");
}

static json_t *cell_node_external_ip(const json_t *node, int64_t now_ns)
{
    (void)now_ns;
    return node_address(node, "ExternalIP");
}

static const struct table_column node_cols[] = {
    COL_NAME,
    {"Status", "string", "", "The status of the node.", 0, NULL, cell_node_status},
    {"Roles", "string", "", "The roles of the node.", 0, NULL, cell_node_roles},
    COL_AGE,
    {"Version", "string", "", "Kubelet version.", 0, NULL, cell_node_version},
    {"Internal-IP", "string", "", "The internal IP address.", 1, NULL, cell_node_internal_ip},
    {"External-IP", "string", "", "The external IP address.", 1, NULL, cell_node_external_ip},
    COL_TEXT("OS-Image", "string", "The operating system image.", 1, ".status.nodeInfo.osImage",
             "<none>"),
};

/* ---- namespaces, events, configmaps, leases, CRDs, webhooks ---- */

static const struct table_column namespace_cols[] = {
    COL_NAME,
    COL_TEXT("Status", "string", "The phase of the namespace.", 0, ".status.phase", ""),
    COL_AGE,
};

static json_t *cell_event_last_seen(const json_t *ev, int64_t now_ns)
{
    const char *paths[] = {".lastTimestamp", ".eventTime", ".series.lastObservedTime",
                           ".metadata.creationTimestamp"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *t = str_at(ev, paths[i]);
        if (t && *t)
            return age_cell(t, now_ns);
    }
    return json_string("<unknown>");
}

static json_t *cell_event_object(const json_t *ev, int64_t now_ns)
{
    (void)now_ns;
    const char *kind = str_at(ev, ".involvedObject.kind");
    const char *name = str_at(ev, ".involvedObject.name");
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s/%s", kind ? kind : "", name ? name : "");
    for (int i = 0; i < n && buf[i] != '/'; i++)
        buf[i] = (char)(buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] - 'A' + 'a' : buf[i]);
    return json_string(buf);
}

static const struct table_column event_cols[] = {
    {"Last Seen", "string", "", "When the event was last seen.", 0, NULL, cell_event_last_seen},
    COL_TEXT("Type", "string", "Normal or Warning.", 0, ".type", ""),
    COL_TEXT("Reason", "string", "Why the event happened.", 0, ".reason", ""),
    {"Object", "string", "", "The object the event is about.", 0, NULL, cell_event_object},
    COL_TEXT("Message", "string", "What happened.", 0, ".message", ""),
};

static json_t *cell_configmap_data(const json_t *cm, int64_t now_ns)
{
    (void)now_ns;
    return json_integer((json_int_t)(json_object_size(at(cm, ".data")) +
                                     json_object_size(at(cm, ".binaryData"))));
}

static const struct table_column configmap_cols[] = {
    COL_NAME,
    {"Data", "integer", "", "Keys in data and binaryData.", 0, NULL, cell_configmap_data},
    COL_AGE,
};

static const struct table_column lease_cols[] = {
    COL_NAME,
    COL_TEXT("Holder", "string", "The holder of the lease.", 0, ".spec.holderIdentity", ""),
    COL_AGE,
};

static const struct table_column crd_cols[] = {
    COL_NAME,
    COL_TEXT("Created At", "date", "When the definition was created.", 0,
             ".metadata.creationTimestamp", ""),
};

static json_t *cell_webhook_count(const json_t *obj, int64_t now_ns)
{
    (void)now_ns;
    return json_integer((json_int_t)json_array_size(at(obj, ".webhooks")));
}

static const struct table_column webhook_cols[] = {
    COL_NAME,
    {"Webhooks", "integer", "", "The webhooks configured.", 0, NULL, cell_webhook_count},
    COL_AGE,
};

/* ---- workloads ---- */

static json_t *cell_deploy_ready(const json_t *d, int64_t now_ns)
{
    (void)now_ns;
    char buf[48];
    snprintf(buf, sizeof buf, "%lld/%lld", (long long)int_at(d, ".status.readyReplicas", 0),
             (long long)int_at(d, ".spec.replicas", 1));
    return json_string(buf);
}

static json_t *cell_containers(const json_t *w, int64_t now_ns)
{
    (void)now_ns;
    return join_members(at(w, ".spec.template.spec.containers"), "name");
}

static json_t *cell_images(const json_t *w, int64_t now_ns)
{
    (void)now_ns;
    return join_members(at(w, ".spec.template.spec.containers"), "image");
}

static json_t *cell_selector(const json_t *w, int64_t now_ns)
{
    (void)now_ns;
    char buf[1024];
    size_t len = 0;
    const char *key;
    const json_t *v;
    buf[0] = '\0';
    json_object_foreach((json_t *)at(w, ".spec.selector.matchLabels"), key, v) {
        if (len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s=%s", len ? "," : "", key,
                                    json_string_value(v) ? json_string_value(v) : "");
    }
    return string_or_none(buf);
}

static const struct table_column deployment_cols[] = {
    COL_NAME,
    {"Ready", "string", "", "Ready replicas out of desired.", 0, NULL, cell_deploy_ready},
    COL_COUNT("Up-to-date", "Replicas of the latest template.", 0, ".status.updatedReplicas", 0),
    COL_COUNT("Available", "Replicas available to users.", 0, ".status.availableReplicas", 0),
    COL_AGE,
    {"Containers", "string", "", "The template's containers.", 1, NULL, cell_containers},
    {"Images", "string", "", "The template's images.", 1, NULL, cell_images},
    {"Selector", "string", "", "The pod selector.", 1, NULL, cell_selector},
};

static const struct table_column replicaset_cols[] = {
    COL_NAME,
    COL_COUNT("Desired", "Desired replicas.", 0, ".spec.replicas", 1),
    COL_COUNT("Current", "Created replicas.", 0, ".status.replicas", 0),
    COL_COUNT("Ready", "Ready replicas.", 0, ".status.readyReplicas", 0),
    COL_AGE,
    {"Containers", "string", "", "The template's containers.", 1, NULL, cell_containers},
    {"Images", "string", "", "The template's images.", 1, NULL, cell_images},
    {"Selector", "string", "", "The pod selector.", 1, NULL, cell_selector},
};

static json_t *cell_job_status(const json_t *job, int64_t now_ns)
{
    (void)now_ns;
    const char *s = condition_is(job, "Suspended", "True")         ? "Suspended"
                    : condition_is(job, "Complete", "True")        ? "Complete"
                    : condition_is(job, "Failed", "True")          ? "Failed"
                    : at(job, ".metadata.deletionTimestamp")       ? "Terminating"
                    : condition_is(job, "SuccessCriteriaMet", "True") ? "SuccessCriteriaMet"
                    : condition_is(job, "FailureTarget", "True")   ? "FailureTarget"
                                                                   : "Running";
    return json_string(s);
}

static json_t *cell_job_completions(const json_t *job, int64_t now_ns)
{
    (void)now_ns;
    long long done = (long long)int_at(job, ".status.succeeded", 0);
    long long want = (long long)int_at(job, ".spec.completions", -1);
    long long par = (long long)int_at(job, ".spec.parallelism", 1);
    char buf[80];
    if (want >= 0)
        snprintf(buf, sizeof buf, "%lld/%lld", done, want);
    else if (par > 1)
        snprintf(buf, sizeof buf, "%lld/1 of %lld", done, par);
    else
        snprintf(buf, sizeof buf, "%lld/1", done);
    return json_string(buf);
}

static json_t *cell_job_duration(const json_t *job, int64_t now_ns)
{
    int64_t start, end = now_ns;
    const char *done = str_at(job, ".status.completionTime");
    if (meta_parse_time(str_at(job, ".status.startTime"), "", &start, NULL) != 0)
        return json_string("");
    if (done && meta_parse_time(done, "", &end, NULL) != 0)
        end = now_ns;
    char buf[TABLE_AGE_LEN];
    table_age(end - start, buf);
    return json_string(buf);
}

static const struct table_column job_cols[] = {
    COL_NAME,
    {"Status", "string", "", "The status of the job.", 0, NULL, cell_job_status},
    {"Completions", "string", "", "Succeeded pods out of desired.", 0, NULL,
     cell_job_completions},
    {"Duration", "string", "", "How long the job ran.", 0, NULL, cell_job_duration},
    COL_AGE,
    {"Containers", "string", "", "The template's containers.", 1, NULL, cell_containers},
    {"Images", "string", "", "The template's images.", 1, NULL, cell_images},
};

#define COLS(a) (a), sizeof(a) / sizeof((a)[0])

static const struct {
    const char *group, *plural;
    const struct table_column *cols;
    size_t n;
} builtin_tables[] = {
    {"", "pods", COLS(pod_cols)},
    {"", "nodes", COLS(node_cols)},
    {"", "namespaces", COLS(namespace_cols)},
    {"", "events", COLS(event_cols)},
    {"", "configmaps", COLS(configmap_cols)},
    {"apps", "deployments", COLS(deployment_cols)},
    {"apps", "replicasets", COLS(replicaset_cols)},
    {"batch", "jobs", COLS(job_cols)},
    {"coordination.k8s.io", "leases", COLS(lease_cols)},
    {"apiextensions.k8s.io", "customresourcedefinitions", COLS(crd_cols)},
    {"admissionregistration.k8s.io", "mutatingwebhookconfigurations", COLS(webhook_cols)},
};

/* ---- specs ---- */

int table_include_parse(const char *s, enum table_include *out, struct err *e)
{
    if (!s || strcmp(s, "Metadata") == 0)
        *out = TABLE_INCLUDE_METADATA;
    else if (strcmp(s, "Object") == 0)
        *out = TABLE_INCLUDE_OBJECT;
    else if (strcmp(s, "None") == 0)
        *out = TABLE_INCLUDE_NONE;
    else
        return err_set(e, -EBADMSG, "includeObject: Unsupported value: \"%.64s\": supported "
                       "values: \"None\", \"Metadata\", \"Object\"", s);
    return 0;
}

/* The printer columns of res's version in its CRD, or NULL. */
static const json_t *crd_columns(const json_t *crd, const char *version)
{
    size_t i;
    const json_t *v;
    json_array_foreach(at(crd, ".spec.versions"), i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name && strcmp(name, version) == 0)
            return json_object_get(v, "additionalPrinterColumns");
    }
    return NULL;
}

/* Columns from a CRD's additionalPrinterColumns, after Name. Entries
 * without a name or a JSONPath are skipped (the CRD's validation is the
 * store's). */
static int spec_from_crd(struct table_spec *ts, json_t *crd, const json_t *cols)
{
    ts->owned = alloc_calloc(json_array_size(cols) + 1, sizeof *ts->owned);
    ts->crd = crd;
    ts->owned[0] = default_cols[0];
    size_t n = 1, i;
    const json_t *c;
    json_array_foreach(cols, i, c) {
        struct table_column *col = &ts->owned[n];
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *format = json_string_value(json_object_get(c, "format"));
        const char *desc = json_string_value(json_object_get(c, "description"));
        col->name = json_string_value(json_object_get(c, "name"));
        col->path = json_string_value(json_object_get(c, "jsonPath"));
        if (!col->name || !col->path)
            continue;
        col->type = type ? type : "string";
        col->format = format ? format : "";
        col->description = desc ? desc : "";
        col->priority = (int)json_integer_value(json_object_get(c, "priority"));
        n++;
    }
    ts->cols = ts->owned;
    ts->n = n;
    return 0;
}

int table_spec_new(struct store *st, const struct api_resource *res, struct table_spec **out,
                   struct err *e)
{
    struct table_spec *ts = alloc_calloc(1, sizeof *ts);
    *out = NULL;
    ts->cols = default_cols;
    ts->n = sizeof default_cols / sizeof default_cols[0];
    for (size_t i = 0; i < sizeof builtin_tables / sizeof builtin_tables[0]; i++)
        if (strcmp(builtin_tables[i].group, res->group) == 0 &&
            strcmp(builtin_tables[i].plural, res->plural) == 0) {
            ts->cols = builtin_tables[i].cols;
            ts->n = builtin_tables[i].n;
        }
    const struct api_resource *crds = api_registry_find(
        store_registry(st), "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    char name[512];
    json_t *crd = NULL;
    snprintf(name, sizeof name, "%s.%s", res->plural, res->group);
    if (!res->builtin && crds && store_get(st, crds, NULL, name, &crd, NULL) == 0) {
        const json_t *cols = crd_columns(crd, res->version);
        if (json_array_size(cols) > 0 && spec_from_crd(ts, crd, cols) != 0) {
            json_decref(crd);
            free(ts);
            return err_set(e, -ENOMEM, "table: out of memory");
        }
        if (!ts->crd)
            json_decref(crd);
    }
    *out = ts;
    return 0;
}

void table_spec_free(struct table_spec *ts)
{
    if (!ts)
        return;
    free(ts->owned);
    json_decref(ts->crd);
    free(ts);
}

/* ---- building tables ---- */

static json_t *column_definitions(const struct table_spec *ts)
{
    json_t *defs = json_array();
    for (size_t i = 0; defs && i < ts->n; i++) {
        const struct table_column *c = &ts->cols[i];
        jdoc_append(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name,
                                              "type", c->type, "format", c->format,
                                              "description", c->description, "priority",
                                              c->priority));
    }
    return defs;
}

/* A CRD column's cell as the API server's table converter makes it: the
 * value at the path converted to the column's type (null when it is of
 * another type); a string column prints any scalar, and objects and arrays
 * as compact JSON; a date column shows the age. */
static json_t *path_cell(const struct table_column *c, const json_t *obj, int64_t now_ns)
{
    const json_t *v = jsonpath_get(obj, c->path);
    const char *t = c->type;
    if (!v || json_is_null(v))
        return json_null();
    if (strcmp(t, "date") == 0)
        return json_is_string(v) ? age_cell(json_string_value(v), now_ns) : json_null();
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v) ? json_integer(json_integer_value(v))
               : json_is_real(v)  ? json_integer((json_int_t)json_real_value(v))
                                  : json_null();
    if (strcmp(t, "number") == 0)
        return json_is_number(v) ? jdoc_copy(v) : json_null();
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v) ? jdoc_copy(v) : json_null();
    if (json_is_string(v))
        return jdoc_copy(v);
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *cell = s ? json_string(s) : NULL;
    free(s);
    return cell;
}

/* A built-in text column's cell: the text at its path, else its absent. */
static json_t *text_cell(const struct table_column *c, const json_t *obj)
{
    const char *s = str_at(obj, c->path);
    return json_string(s && *s ? s : c->absent);
}

json_t *table_partial(const json_t *obj, const char *version)
{
    json_t *meta = json_object_get(obj, "metadata");
    return json_pack("{s:s, s:s+, s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/", version, "metadata",
                     meta ? jdoc_copy(meta) : json_object());
}

static json_t *table_row(const struct table_spec *ts, const json_t *obj, enum table_include inc,
                         const char *version, int64_t now_ns)
{
    json_t *cells = json_array();
    for (size_t i = 0; cells && i < ts->n; i++) {
        const struct table_column *c = &ts->cols[i];
        json_t *cell = c->cell                  ? c->cell(obj, now_ns)
                       : c->field == FIELD_TEXT  ? text_cell(c, obj)
                       : c->field == FIELD_COUNT ? json_integer(int_at(obj, c->path, c->dflt))
                                                 : path_cell(c, obj, now_ns);
        if (!cell || json_array_append_new(cells, cell) != 0) {
            json_decref(cells);
            return NULL;
        }
    }
    if (!cells)
        return NULL;
    json_t *row = json_pack("{s:o}", "cells", cells);
    if (row && inc != TABLE_INCLUDE_NONE) {
        json_t *o = inc == TABLE_INCLUDE_OBJECT ? json_incref((json_t *)obj)
                                                : table_partial(obj, version);
        if (!o || json_object_set_new(row, "object", o) != 0) {
            json_decref(row);
            return NULL;
        }
    }
    return row;
}

json_t *table_build(const struct table_spec *ts, const json_t *items, const json_t *list_meta,
                    bool columns, enum table_include inc, const char *version, int64_t now_ns)
{
    json_t *rows = json_array();
    if (!rows)
        return NULL;
    size_t i;
    const json_t *obj;
    json_array_foreach(items, i, obj) {
        json_t *row = table_row(ts, obj, inc, version, now_ns);
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    json_t *t = json_pack("{s:s, s:s+, s:o, s:o}", "kind", "Table", "apiVersion",
                          "meta.k8s.io/", version, "metadata",
                          list_meta ? jdoc_copy(list_meta) : json_object(), "rows", rows);
    if (t && columns && json_object_set_new(t, "columnDefinitions", column_definitions(ts)) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

/* ---- ages ---- */

void table_age(int64_t ns, char out[TABLE_AGE_LEN])
{
    int64_t s = ns / NS_PER_SEC;
    if (s < -1) {
        snprintf(out, TABLE_AGE_LEN, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    int64_t m = s / 60, h = s / 3600, d = h / 24, y = d / 365;
    if (s < 120)
        snprintf(out, TABLE_AGE_LEN, "%llds", (long long)s);
    else if (m < 10 && s % 60)
        snprintf(out, TABLE_AGE_LEN, "%lldm%llds", (long long)m, (long long)(s % 60));
    else if (m < 180)
        snprintf(out, TABLE_AGE_LEN, "%lldm", (long long)m);
    else if (h < 8 && m % 60)
        snprintf(out, TABLE_AGE_LEN, "%lldh%lldm", (long long)h, (long long)(m % 60));
    else if (h < 48)
        snprintf(out, TABLE_AGE_LEN, "%lldh", (long long)h);
    else if (h < 24 * 8 && h % 24)
        snprintf(out, TABLE_AGE_LEN, "%lldd%lldh", (long long)d, (long long)(h % 24));
    else if (d < 365 * 2)
        snprintf(out, TABLE_AGE_LEN, "%lldd", (long long)d);
    else if (y < 8 && d % 365)
        snprintf(out, TABLE_AGE_LEN, "%lldy%lldd", (long long)y, (long long)(d % 365));
    else
        snprintf(out, TABLE_AGE_LEN, "%lldy", (long long)y);
}

void table_age_since(const char *s, int64_t now_ns, char out[TABLE_AGE_LEN])
{
    int64_t t;
    if (!s || meta_parse_time(s, "", &t, NULL) != 0) {
        snprintf(out, TABLE_AGE_LEN, "<unknown>");
        return;
    }
    table_age(now_ns - t, out);
}
