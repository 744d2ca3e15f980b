/*
 * A table-driven protobuf reader for the few Kubernetes messages that
 * arrive as protobuf (protobuf.h). Each message is a list of fields (number,
 * JSON name, type); nested messages are bounded in depth, and every length
 * is checked against what remains, so no input reads out of bounds.
 */
#include "apiserver/protobuf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/clock.h"

#define PROTOBUF_MAX_DEPTH 16

enum pb_type {
    PB_STRING,
    PB_BYTES,      /* base64 in JSON */
    PB_INT,        /* varint int32/int64 */
    PB_BOOL,
    PB_TIME,       /* k8s.io.apimachinery.pkg.apis.meta.v1.Time: RFC 3339 in JSON */
    PB_MESSAGE,
    PB_STRING_MAP, /* map<string, string> */
    PB_BYTES_MAP,  /* map<string, bytes> */
};

struct pb_field {
    uint32_t num;
    const char *name;
    enum pb_type type;
    bool repeated;
    const struct pb_field *sub; /* PB_MESSAGE: its fields, {0} terminated */
};

/* Field numbers from k8s.io/api/core/v1 and apimachinery's generated.proto. */
static const struct pb_field owner_ref_fields[] = {
    {1, "kind", PB_STRING, false, NULL},
    {3, "name", PB_STRING, false, NULL},
    {4, "uid", PB_STRING, false, NULL},
    {5, "apiVersion", PB_STRING, false, NULL},
    {6, "controller", PB_BOOL, false, NULL},
    {7, "blockOwnerDeletion", PB_BOOL, false, NULL},
    {0},
};

static const struct pb_field object_meta_fields[] = {
    {1, "name", PB_STRING, false, NULL},
    {2, "generateName", PB_STRING, false, NULL},
    {3, "namespace", PB_STRING, false, NULL},
    {5, "uid", PB_STRING, false, NULL},
    {6, "resourceVersion", PB_STRING, false, NULL},
    {7, "generation", PB_INT, false, NULL},
    {8, "creationTimestamp", PB_TIME, false, NULL},
    {9, "deletionTimestamp", PB_TIME, false, NULL},
    {10, "deletionGracePeriodSeconds", PB_INT, false, NULL},
    {11, "labels", PB_STRING_MAP, false, NULL},
    {12, "annotations", PB_STRING_MAP, false, NULL},
    {13, "ownerReferences", PB_MESSAGE, true, owner_ref_fields},
    {14, "finalizers", PB_STRING, true, NULL},
    {0},
};

static const struct pb_field namespace_spec_fields[] = {
    {1, "finalizers", PB_STRING, true, NULL},
    {0},
};

static const struct pb_field namespace_status_fields[] = {
    {1, "phase", PB_STRING, false, NULL},
    {0},
};

static const struct pb_field namespace_fields[] = {
    {1, "metadata", PB_MESSAGE, false, object_meta_fields},
    {2, "spec", PB_MESSAGE, false, namespace_spec_fields},
    {3, "status", PB_MESSAGE, false, namespace_status_fields},
    {0},
};

static const struct pb_field configmap_fields[] = {
    {1, "metadata", PB_MESSAGE, false, object_meta_fields},
    {2, "data", PB_STRING_MAP, false, NULL},
    {3, "binaryData", PB_BYTES_MAP, false, NULL},
    {4, "immutable", PB_BOOL, false, NULL},
    {0},
};

static const struct {
    const char *api_version, *kind;
    const struct pb_field *fields;
} pb_kinds[] = {
    {"v1", "Namespace", namespace_fields},
    {"v1", "ConfigMap", configmap_fields},
};

/* ---- wire format ---- */

struct pb_reader {
    const uint8_t *p, *end;
};

static bool read_varint(struct pb_reader *r, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* A length-delimited value: [*data, *data + *len). */
static bool read_bytes(struct pb_reader *r, const uint8_t **data, size_t *len)
{
    uint64_t n;
    if (!read_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return false;
    *data = r->p;
    *len = (size_t)n;
    r->p += n;
    return true;
}

static bool skip_value(struct pb_reader *r, unsigned wire)
{
    uint64_t v;
    const uint8_t *d;
    size_t n;
    size_t fixed = wire == 1 ? 8 : wire == 5 ? 4 : 0;
    if (wire == 0)
        return read_varint(r, &v);
    if (wire == 2)
        return read_bytes(r, &d, &n);
    if (!fixed || (size_t)(r->end - r->p) < fixed)
        return false; /* groups (3, 4) are not used by Kubernetes */
    r->p += fixed;
    return true;
}

/* ---- values ---- */

/* bytes, as JSON carries them: standard base64. */
static json_t *bytes_json(const uint8_t *d, size_t n)
{
    char *s = base64_encode(d, n, BASE64_STD);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* A Time message; NULL with *zero set for the zero time (omitted). */
static json_t *decode_time(const uint8_t *d, size_t n, bool *zero)
{
    struct pb_reader r = {d, d + n};
    uint64_t secs = 0, nanos = 0;
    while (r.p < r.end) {
        uint64_t tag, v;
        if (!read_varint(&r, &tag))
            return NULL;
        if ((tag >> 3 == 1 || tag >> 3 == 2) && (tag & 7) == 0) {
            if (!read_varint(&r, &v))
                return NULL;
            *(tag >> 3 == 1 ? &secs : &nanos) = v;
        } else if (!skip_value(&r, (unsigned)(tag & 7))) {
            return NULL;
        }
    }
    *zero = secs == 0 && nanos == 0;
    if (*zero)
        return NULL;
    char buf[META_TIME_LEN];
    meta_format_time((int64_t)secs * NS_PER_SEC + (int64_t)(int32_t)nanos, buf);
    return json_string(buf);
}

static int decode_message(const uint8_t *d, size_t n, const struct pb_field *fields,
                          json_t *out, int depth, struct err *e);

/* A map entry message (key 1, value 2) into the object at name in out. */
static int decode_map_entry(const uint8_t *d, size_t n, const struct pb_field *f, json_t *out,
                            struct err *e)
{
    struct pb_reader r = {d, d + n};
    const uint8_t *k = NULL, *v = (const uint8_t *)"";
    size_t klen = 0, vlen = 0;
    while (r.p < r.end) {
        uint64_t tag;
        const uint8_t *b;
        size_t blen;
        if (!read_varint(&r, &tag))
            return err_set(e, -EBADMSG, "protobuf: %s: malformed map entry", f->name);
        if ((tag & 7) == 2 && (tag >> 3 == 1 || tag >> 3 == 2)) {
            if (!read_bytes(&r, &b, &blen))
                return err_set(e, -EBADMSG, "protobuf: %s: truncated map entry", f->name);
            if (tag >> 3 == 1) {
                k = b;
                klen = blen;
            } else {
                v = b;
                vlen = blen;
            }
        } else if (!skip_value(&r, (unsigned)(tag & 7))) {
            return err_set(e, -EBADMSG, "protobuf: %s: malformed map entry", f->name);
        }
    }
    json_t *map = json_object_get(out, f->name);
    if (!map && json_object_set_new(out, f->name, map = json_object()) != 0)
        return err_set(e, -ENOMEM, "out of memory");
    json_t *val = f->type == PB_BYTES_MAP ? bytes_json(v, vlen) : json_stringn((const char *)v, vlen);
    if (!k)
        json_decref(val);
    if (!k || !val || json_object_setn_new(map, (const char *)k, klen, val) != 0)
        return err_set(e, -EBADMSG, "protobuf: %s: a key or value is missing or not UTF-8",
                       f->name);
    return 0;
}

/* Sets (or appends, for a repeated field) v at f->name in out; v NULL is
 * a value to leave out. */
static int put(json_t *out, const struct pb_field *f, json_t *v, struct err *e)
{
    if (!v)
        return 0;
    if (!f->repeated)
        return json_object_set_new(out, f->name, v) ? err_set(e, -ENOMEM, "out of memory") : 0;
    json_t *arr = json_object_get(out, f->name);
    if (!arr && json_object_set_new(out, f->name, arr = json_array()) != 0) {
        json_decref(v);
        return err_set(e, -ENOMEM, "out of memory");
    }
    return json_array_append_new(arr, v) ? err_set(e, -ENOMEM, "out of memory") : 0;
}

static int decode_field(struct pb_reader *r, unsigned wire, const struct pb_field *f,
                        json_t *out, int depth, struct err *e)
{
    uint64_t v = 0;
    const uint8_t *d = NULL;
    size_t n = 0;
    bool varint = f->type == PB_INT || f->type == PB_BOOL;
    if (wire != (varint ? 0u : 2u) || !(varint ? read_varint(r, &v) : read_bytes(r, &d, &n)))
        return err_set(e, -EBADMSG, "protobuf: field %s: wrong wire type or truncated", f->name);
    bool zero = false;
    json_t *val = NULL, *obj;
    switch (f->type) {
    case PB_STRING:
        if (n == 0 && !f->repeated)
            return 0;
        val = json_stringn((const char *)d, n);
        if (!val)
            return err_set(e, -EBADMSG, "protobuf: field %s: not UTF-8", f->name);
        break;
    case PB_BYTES:
        val = bytes_json(d, n);
        break;
    case PB_INT:
        if (v == 0)
            return 0;
        val = json_integer((json_int_t)(int64_t)v);
        break;
    case PB_BOOL:
        if (v == 0)
            return 0;
        val = json_true();
        break;
    case PB_TIME:
        val = decode_time(d, n, &zero);
        if (!val && !zero)
            return err_set(e, -EBADMSG, "protobuf: field %s: malformed time", f->name);
        break;
    case PB_MESSAGE:
        obj = json_object();
        if (!obj)
            return err_set(e, -ENOMEM, "out of memory");
        int rc = decode_message(d, n, f->sub, obj, depth + 1, e);
        if (rc != 0) {
            json_decref(obj);
            return err_prefix(e, rc, "%s.", f->name);
        }
        val = obj;
        break;
    case PB_STRING_MAP:
    case PB_BYTES_MAP:
        return decode_map_entry(d, n, f, out, e);
    }
    return put(out, f, val, e);
}

static int decode_message(const uint8_t *d, size_t n, const struct pb_field *fields,
                          json_t *out, int depth, struct err *e)
{
    if (depth > PROTOBUF_MAX_DEPTH)
        return err_set(e, -EBADMSG, "protobuf: nested too deeply");
    struct pb_reader r = {d, d + n};
    while (r.p < r.end) {
        uint64_t tag;
        if (!read_varint(&r, &tag))
            return err_set(e, -EBADMSG, "protobuf: malformed field tag");
        const struct pb_field *f = fields;
        while (f->name && f->num != tag >> 3)
            f++;
        if (f->name) {
            int rc = decode_field(&r, (unsigned)(tag & 7), f, out, depth, e);
            if (rc != 0)
                return rc;
        } else if (!skip_value(&r, (unsigned)(tag & 7))) {
            return err_set(e, -EBADMSG, "protobuf: malformed field %u", (unsigned)(tag >> 3));
        }
    }
    return 0;
}

/* ---- the envelope ---- */

static const struct pb_field type_meta_fields[] = {
    {1, "apiVersion", PB_STRING, false, NULL},
    {2, "kind", PB_STRING, false, NULL},
    {0},
};

int protobuf_decode_object(const char *body, size_t len, json_t **out, struct err *e)
{
    static const char magic[4] = {'k', '8', 's', '\0'};
    *out = NULL;
    if (len < sizeof magic || memcmp(body, magic, sizeof magic) != 0)
        return err_set(e, -EBADMSG, "protobuf: the body does not start with the k8s magic");
    struct pb_reader r = {(const uint8_t *)body + 4, (const uint8_t *)body + len};
    json_t *type = json_object();
    const uint8_t *raw = (const uint8_t *)""; /* no raw field: an empty object */
    size_t raw_len = 0;
    int rc = type ? 0 : err_set(e, -ENOMEM, "out of memory");
    while (rc == 0 && r.p < r.end) {
        uint64_t tag;
        const uint8_t *d;
        size_t n;
        if (!read_varint(&r, &tag) || ((tag >> 3 == 1 || tag >> 3 == 2) && (tag & 7) != 2))
            rc = err_set(e, -EBADMSG, "protobuf: malformed envelope");
        else if (tag >> 3 == 1 && read_bytes(&r, &d, &n))
            rc = decode_message(d, n, type_meta_fields, type, 0, e);
        else if (tag >> 3 == 2 && read_bytes(&r, &d, &n)) {
            raw = d;
            raw_len = n;
        } else if (tag >> 3 <= 2 || !skip_value(&r, (unsigned)(tag & 7)))
            rc = err_set(e, -EBADMSG, "protobuf: malformed envelope");
    }
    const char *av = json_string_value(json_object_get(type, "apiVersion"));
    const char *kind = json_string_value(json_object_get(type, "kind"));
    const struct pb_field *fields = NULL;
    for (size_t i = 0; rc == 0 && av && kind && i < sizeof pb_kinds / sizeof pb_kinds[0]; i++)
        if (strcmp(pb_kinds[i].api_version, av) == 0 && strcmp(pb_kinds[i].kind, kind) == 0)
            fields = pb_kinds[i].fields;
    if (rc == 0 && !fields)
        rc = err_set(e, -EMEDIUMTYPE, "protobuf bodies are read for v1 Namespace and ConfigMap "
                     "only, not %.64s %.64s; send application/json", av ? av : "",
                     kind ? kind : "(no kind)");
    if (rc == 0)
        rc = decode_message(raw, raw_len, fields, type, 0, e);
    if (rc != 0)
        json_decref(type);
    else
        *out = type;
    return rc;
}
