/*
 * Metadata rules of meta.h. The character classes and limits are the API
 * server's (apimachinery validation); messages keep its wording, minus the
 * regular expressions it appends.
 */
#include "api/meta.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "util/jdoc.h"

#define META_LABEL_MAX 63
#define META_ANNOTATIONS_MAX (256 * 1024)

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int invalid(struct err *e, const char *field, const char *value, const char *why)
{
    return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": %s", field, value, why);
}

/* s, of at most max bytes, has the shape ok accepts; else why. */
static int check_shape(const char *s, const char *field, size_t max,
                       bool (*ok)(const char *s, size_t len), const char *why, struct err *e)
{
    size_t len = strlen(s);
    if (len > max) {
        char limit[64];
        snprintf(limit, sizeof limit, "must be no more than %zu characters", max);
        return invalid(e, field, s, limit);
    }
    return ok(s, len) ? 0 : invalid(e, field, s, why);
}

/* Whether the len bytes at s (not empty) begin and end with a character
 * edge accepts and hold only those and the ones in inner. */
static bool run_ok(const char *s, size_t len, bool (*edge)(char), const char *inner)
{
    if (len == 0 || !edge(s[0]) || !edge(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!edge(s[i]) && (s[i] == '\0' || !strchr(inner, s[i])))
            return false;
    return true;
}

/* One DNS label of len bytes at s (no length check beyond emptiness). */
static bool dns_label_ok(const char *s, size_t len)
{
    return run_ok(s, len, is_lower_alnum, "-");
}

static bool subdomain_ok(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (!dns_label_ok(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

int meta_check_subdomain(const char *s, const char *field, struct err *e)
{
    return check_shape(s, field, META_SUBDOMAIN_MAX, subdomain_ok,
                       "a lowercase RFC 1123 subdomain must consist of lower case "
                       "alphanumeric characters, '-' or '.', and must start and end with an "
                       "alphanumeric character (e.g. 'example.com')", e);
}

int meta_check_label_name(const char *s, const char *field, struct err *e)
{
    return check_shape(s, field, META_LABEL_MAX, dns_label_ok,
                       "a lowercase RFC 1123 label must consist of lower case "
                       "alphanumeric characters or '-', and must start and end with an "
                       "alphanumeric character (e.g. 'my-name', or '123-abc')", e);
}

/* [A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9] (or one alphanumeric) */
static bool name_part_ok(const char *s, size_t len)
{
    return run_ok(s, len, is_alnum, "-_.");
}

static bool label_value_ok(const char *s, size_t len)
{
    return len == 0 || name_part_ok(s, len);
}

int meta_check_qualified_name(const char *s, const char *field, struct err *e)
{
    const char *slash = strchr(s, '/');
    const char *name = slash ? slash + 1 : s;
    if (slash) {
        size_t plen = (size_t)(slash - s);
        if (plen == 0)
            return invalid(e, field, s, "prefix part must be non-empty");
        if (plen > META_SUBDOMAIN_MAX || !subdomain_ok(s, plen))
            return invalid(e, field, s, "prefix part a lowercase RFC 1123 subdomain must "
                           "consist of lower case alphanumeric characters, '-' or '.', and "
                           "must start and end with an alphanumeric character");
        if (strchr(name, '/'))
            return invalid(e, field, s, "a qualified name must consist of alphanumeric "
                           "characters, '-', '_' or '.', with an optional DNS subdomain "
                           "prefix and '/' (e.g. 'example.com/MyName')");
    }
    size_t len = strlen(name);
    if (len == 0)
        return invalid(e, field, s, "name part must be non-empty");
    if (len > META_LABEL_MAX)
        return invalid(e, field, s, "name part must be no more than 63 characters");
    if (!name_part_ok(name, len))
        return invalid(e, field, s, "name part must consist of alphanumeric characters, '-', "
                       "'_' or '.', and must start and end with an alphanumeric character "
                       "(e.g. 'MyName', or 'my.name', or '123-abc')");
    return 0;
}

int meta_check_label_value(const char *s, const char *field, struct err *e)
{
    return check_shape(s, field, META_LABEL_MAX, label_value_ok,
                       "a valid label must be an empty string or consist of "
                       "alphanumeric characters, '-', '_' or '.', and must start and end with "
                       "an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')",
                       e);
}

int meta_check_labels(const json_t *labels, const char *field, struct err *e)
{
    if (!labels || json_is_null(labels))
        return 0;
    if (!json_is_object(labels))
        return err_set(e, -EINVAL, "%s: Invalid value: must be a map of strings", field);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v) {
        if (meta_check_qualified_name(key, field, e) != 0)
            return -EINVAL;
        if (!json_is_string(v))
            return err_set(e, -EINVAL, "%s[%s]: Invalid value: must be a string", field, key);
        if (meta_check_label_value(json_string_value(v), field, e) != 0)
            return -EINVAL;
    }
    return 0;
}

int meta_check_annotations(const json_t *annotations, const char *field, struct err *e)
{
    if (!annotations || json_is_null(annotations))
        return 0;
    if (!json_is_object(annotations))
        return err_set(e, -EINVAL, "%s: Invalid value: must be a map of strings", field);
    size_t total = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)annotations, key, v) {
        if (meta_check_qualified_name(key, field, e) != 0)
            return -EINVAL;
        if (!json_is_string(v))
            return err_set(e, -EINVAL, "%s[%s]: Invalid value: must be a string", field, key);
        total += strlen(key) + json_string_length(v);
    }
    if (total > META_ANNOTATIONS_MAX)
        return err_set(e, -EINVAL, "%s: Too long: must have at most %d bytes", field,
                       META_ANNOTATIONS_MAX);
    return 0;
}

static int check_finalizers(const json_t *fins, struct err *e)
{
    if (!fins || json_is_null(fins))
        return 0;
    if (!json_is_array(fins))
        return err_set(e, -EINVAL, "metadata.finalizers: Invalid value: must be a list of strings");
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        char field[48];
        snprintf(field, sizeof field, "metadata.finalizers[%zu]", i);
        if (!f)
            return err_set(e, -EINVAL, "%s: Invalid value: must be a string", field);
        if (meta_check_qualified_name(f, field, e) != 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(f, json_string_value(json_array_get(fins, j))) == 0)
                return err_set(e, -EINVAL, "%s: Duplicate value: \"%s\"", field, f);
    }
    return 0;
}

static int check_owner_refs(const json_t *refs, struct err *e)
{
    if (!refs || json_is_null(refs))
        return 0;
    if (!json_is_array(refs))
        return err_set(e, -EINVAL, "metadata.ownerReferences: Invalid value: must be a list");
    size_t controllers = 0;
    static const char *const required[] = {"apiVersion", "kind", "name", "uid"};
    for (size_t i = 0; i < json_array_size(refs); i++) {
        const json_t *ref = json_array_get(refs, i);
        if (!json_is_object(ref))
            return err_set(e, -EINVAL, "metadata.ownerReferences[%zu]: Invalid value: must be "
                           "an object", i);
        for (size_t k = 0; k < 4; k++) {
            const char *v = json_string_value(json_object_get(ref, required[k]));
            if (!v || !*v)
                return err_set(e, -EINVAL, "metadata.ownerReferences[%zu].%s: %s", i,
                               required[k], v ? "Invalid value: \"\": must not be empty"
                                               : "Required value");
        }
        if (json_is_true(json_object_get(ref, "controller")))
            controllers++;
    }
    if (controllers > 1)
        return err_set(e, -EINVAL, "metadata.ownerReferences: Invalid value: only one reference "
                       "can have Controller set to true");
    return 0;
}

int meta_check(const json_t *metadata, bool name_is_label, bool allow_generate, struct err *e)
{
    if (!json_is_object(metadata))
        return err_set(e, -EINVAL, "metadata: Required value");
    const char *name = json_string_value(json_object_get(metadata, "name"));
    const char *gen = json_string_value(json_object_get(metadata, "generateName"));
    if (name && *name) {
        int rc = name_is_label ? meta_check_label_name(name, "metadata.name", e)
                               : meta_check_subdomain(name, "metadata.name", e);
        if (rc)
            return rc;
    } else if (!(allow_generate && gen && *gen)) {
        return err_set(e, -EINVAL, "metadata.name: Required value: name or generateName is required");
    }
    if (meta_check_labels(json_object_get(metadata, "labels"), "metadata.labels", e) ||
        meta_check_annotations(json_object_get(metadata, "annotations"),
                               "metadata.annotations", e) ||
        check_finalizers(json_object_get(metadata, "finalizers"), e) ||
        check_owner_refs(json_object_get(metadata, "ownerReferences"), e))
        return -EINVAL;
    return 0;
}

bool meta_has_finalizer(const json_t *obj, const char *name)
{
    const json_t *fins = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        if (f && strcmp(f, name) == 0)
            return true;
    }
    return false;
}

int meta_add_finalizer(json_t *obj, const char *name)
{
    if (meta_has_finalizer(obj, name))
        return 0;
    json_t *md = meta_of(obj);
    if (!md)
        return -EINVAL;
    json_t *fins = json_object_get(md, "finalizers");
    if (!json_is_array(fins)) {
        fins = json_array();
        if (json_object_set_new(md, "finalizers", fins) != 0)
            return -ENOMEM;
    }
    return json_array_append_new(fins, json_string(name)) == 0 ? 1 : -ENOMEM;
}

int meta_remove_finalizer(json_t *obj, const char *name)
{
    json_t *md = json_object_get(obj, "metadata");
    json_t *fins = json_object_get(md, "finalizers");
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        if (f && strcmp(f, name) == 0) {
            json_array_remove(fins, i);
            if (json_array_size(fins) == 0)
                json_object_del(md, "finalizers");
            return 1;
        }
    }
    return 0;
}

size_t meta_finalizer_count(const json_t *obj)
{
    return json_array_size(json_object_get(json_object_get(obj, "metadata"), "finalizers"));
}

/* A string of the owner's own (valid UTF-8 already, so not checked
 * again), or null, as json_pack's "s?" gave. */
static json_t *string_or_null(const char *s)
{
    return s ? json_string_nocheck(s) : json_null();
}

/* Built member by member: json_pack's format scan and key checks were
 * most of its cost, once per object a controller creates. */
json_t *meta_owner_ref(const json_t *owner, bool controller, bool block)
{
    json_t *ref = json_object();
    jdoc_set(ref, "apiVersion",
             string_or_null(json_string_value(json_object_get(owner, "apiVersion"))));
    jdoc_set(ref, "kind", string_or_null(json_string_value(json_object_get(owner, "kind"))));
    jdoc_set(ref, "name", string_or_null(meta_name(owner)));
    jdoc_set(ref, "uid", string_or_null(meta_uid(owner)));
    jdoc_set(ref, "controller", json_boolean(controller));
    jdoc_set(ref, "blockOwnerDeletion", json_boolean(block));
    return ref;
}

const json_t *meta_controller_ref(const json_t *obj)
{
    const json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    for (size_t i = 0; i < json_array_size(refs); i++)
        if (json_is_true(json_object_get(json_array_get(refs, i), "controller")))
            return json_array_get(refs, i);
    return NULL;
}

bool meta_owned_by(const json_t *obj, const char *uid)
{
    const json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    for (size_t i = 0; i < json_array_size(refs); i++) {
        const char *u = json_string_value(json_object_get(json_array_get(refs, i), "uid"));
        if (u && strcmp(u, uid) == 0)
            return true;
    }
    return false;
}

static const char *meta_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

const char *meta_name(const json_t *obj)
{
    return meta_string(obj, "name");
}

const char *meta_namespace(const json_t *obj)
{
    return meta_string(obj, "namespace");
}

const char *meta_uid(const json_t *obj)
{
    return meta_string(obj, "uid");
}

const char *meta_resource_version(const json_t *obj)
{
    return meta_string(obj, "resourceVersion");
}

const char *meta_label(const json_t *obj, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
}

const char *meta_annotation(const json_t *obj, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

json_t *meta_of(json_t *obj)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *md = json_object_get(obj, "metadata");
    if (!md) {
        md = json_object();
        if (json_object_set_new(obj, "metadata", md) != 0)
            return NULL;
    }
    return json_is_object(md) ? md : NULL;
}

/* Writes v (0 <= v < 10^width) as width digits; returns the end. */
static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* The civil date of a day counted from 1970-01-01 (proleptic Gregorian;
 * H. Hinnant's days-to-civil): what gmtime_r gives, without its lock. */
static void civil_of(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Timestamps are written on every status write and Event, so this one
 * formats by hand: printf and gmtime_r cost a few thousand instructions
 * a call. */
static void format_utc(int64_t ns, char *out, size_t size, bool micro)
{
    int64_t secs = ns / NS_PER_SEC;
    int64_t frac = ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t year;
    int month, day;
    civil_of(days, &year, &month, &day);
    char tmp[META_MICROTIME_LEN + 16], *p = tmp;
    p = put_digits(p, year, 4); /* int64 nanoseconds span the years 1677 to 2262 */
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (micro) {
        *p++ = '.';
        p = put_digits(p, frac / 1000, 6);
    }
    *p++ = 'Z';
    size_t len = (size_t)(p - tmp) < size - 1 ? (size_t)(p - tmp) : size - 1;
    memcpy(out, tmp, len);
    out[len] = '\0';
}

void meta_format_time(int64_t ns, char out[META_TIME_LEN])
{
    format_utc(ns, out, META_TIME_LEN, false);
}

void meta_format_microtime(int64_t ns, char out[META_MICROTIME_LEN])
{
    format_utc(ns, out, META_MICROTIME_LEN, true);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days-from-civil, civil_of's inverse); a day past the month's end counts
 * on into the next month, as timegm has it. */
static int64_t days_of_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The n characters at s as a number, or -1 when one is not a digit (the
 * string's end included, so nothing past it is read). */
static int digits_at(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SS" into f (year, month, day, hour, minute, second),
 * read by hand: the controller reads a pod's times at every decision, and
 * sscanf took 3.5 k instructions a call. false for any other spelling,
 * which sscanf then reads, leniency and all, as it always did. */
static bool read_plain_time(const char *s, int f[6])
{
    static const struct {
        int at, len;
        char after;
    } parts[] = {{0, 4, '-'}, {5, 2, '-'}, {8, 2, 'T'}, {11, 2, ':'}, {14, 2, ':'}, {17, 2, 0}};
    for (size_t i = 0; i < 6; i++) {
        /* each part is read only once the one before it is there whole */
        if ((f[i] = digits_at(s + parts[i].at, parts[i].len)) < 0 ||
            (parts[i].after && s[parts[i].at + parts[i].len] != parts[i].after))
            return false;
    }
    return true;
}

int meta_parse_time(const char *s, const char *field, int64_t *ns, struct err *e)
{
    int f[6], used = 0;
    if (s && read_plain_time(s, f))
        used = 19;
    else if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &f[0], &f[1], &f[2], &f[3], &f[4],
                          &f[5], &used) != 6)
        goto bad;
    if (used != 19 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
        f[4] > 59 || f[5] > 60)
        goto bad;
    const char *p = s + used;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        if (digits == 0)
            goto bad;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
            goto bad;
        offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
    } else {
        goto bad;
    }
    int64_t secs = days_of_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5] -
                   offset;
    if (secs > META_TIME_MAX_SECONDS || secs < -META_TIME_MAX_SECONDS)
        return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": out of range (nanoseconds "
                       "since 1970 are kept in 64 bits: about years 1678 to 2261)", field, s);
    *ns = secs * NS_PER_SEC + frac;
    return 0;
bad:
    return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": must be an RFC 3339 time "
                   "(2006-01-02T15:04:05Z)", field, s ? s : "");
}

json_t *meta_copy_for_write(const json_t *obj, const char *deep)
{
    json_t *copy = json_is_object(obj) ? jdoc_shallow(obj) : NULL;
    const json_t *md = json_object_get(obj, "metadata");
    if (copy && json_is_object(md))
        jdoc_set(copy, "metadata", deep && strcmp(deep, "metadata") == 0 ? jdoc_copy(md)
                                                                          : jdoc_shallow(md));
    const json_t *part = deep ? json_object_get(obj, deep) : NULL;
    if (copy && part && strcmp(deep, "metadata") != 0)
        jdoc_set(copy, deep, jdoc_copy(part));
    return copy;
}
