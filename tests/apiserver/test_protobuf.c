/* Tests for cluster/protobuf: Kubernetes protobuf bodies into JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/protobuf.h"

/* A tiny protobuf writer for building inputs. */
struct buf {
    uint8_t b[1024];
    size_t n;
};

static void varint(struct buf *o, uint64_t v)
{
    do {
        o->b[o->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void bytes(struct buf *o, unsigned field, const void *d, size_t n)
{
    varint(o, field << 3 | 2);
    varint(o, n);
    memcpy(o->b + o->n, d, n);
    o->n += n;
}

static void str(struct buf *o, unsigned field, const char *s)
{
    bytes(o, field, s, strlen(s));
}

static void sub(struct buf *o, unsigned field, const struct buf *m)
{
    bytes(o, field, m->b, m->n);
}

static void num(struct buf *o, unsigned field, uint64_t v)
{
    varint(o, field << 3);
    varint(o, v);
}

static void map_entry(struct buf *o, unsigned field, const char *k, const char *v)
{
    struct buf e = {0};
    str(&e, 1, k);
    str(&e, 2, v);
    sub(o, field, &e);
}

/* "k8s\0" + Unknown{typeMeta{av, kind}, raw}. */
static struct buf envelope(const char *av, const char *kind, const struct buf *raw)
{
    struct buf o = {{'k', '8', 's', 0}, 4}, tm = {0};
    str(&tm, 1, av);
    str(&tm, 2, kind);
    sub(&o, 1, &tm);
    sub(&o, 2, raw);
    str(&o, 4, "application/vnd.kubernetes.protobuf");
    return o;
}

static json_t *decode(const struct buf *b, int want)
{
    json_t *out = NULL;
    struct err e;
    assert_int_equal(protobuf_decode_object((const char *)b->b, b->n, &out, &e), want);
    return out;
}

static void configmap_with_metadata(void **state)
{
    (void)state;
    struct buf meta = {0}, time = {0}, owner = {0}, cm = {0};
    str(&meta, 1, "cfg");
    str(&meta, 2, "");        /* empty: left out, as omitempty does */
    str(&meta, 3, "default");
    num(&meta, 7, 3);
    num(&time, 1, 1714557600);
    sub(&meta, 8, &time);
    map_entry(&meta, 11, "app", "web");
    str(&owner, 1, "Pod");
    str(&owner, 3, "p");
    str(&owner, 4, "u-1");
    str(&owner, 5, "v1");
    num(&owner, 6, 1);
    sub(&meta, 13, &owner);
    str(&meta, 14, "a/b");
    str(&meta, 14, "c/d");
    num(&meta, 99, 7); /* unknown fields are skipped */
    sub(&cm, 1, &meta);
    map_entry(&cm, 2, "k", "v");
    struct buf bin = {0};
    str(&bin, 1, "b");
    bytes(&bin, 2, "\x00\xff\x10", 3);
    sub(&cm, 3, &bin);
    num(&cm, 4, 1);
    struct buf in = envelope("v1", "ConfigMap", &cm);
    json_t *obj = decode(&in, 0);
    char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        s, "{\"apiVersion\":\"v1\",\"binaryData\":{\"b\":\"AP8Q\"},\"data\":{\"k\":\"v\"},"
           "\"immutable\":true,\"kind\":\"ConfigMap\",\"metadata\":{\"creationTimestamp\":"
           "\"2024-05-01T10:00:00Z\",\"finalizers\":[\"a/b\",\"c/d\"],\"generation\":3,"
           "\"labels\":{\"app\":\"web\"},\"name\":\"cfg\",\"namespace\":\"default\","
           "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"controller\":true,\"kind\":\"Pod\","
           "\"name\":\"p\",\"uid\":\"u-1\"}]}}");
    free(s);
    json_decref(obj);
}

static void namespace_as_kubectl_sends_it(void **state)
{
    (void)state;
    struct buf meta = {0}, ns = {0}, zero = {0}, empty = {0};
    str(&meta, 1, "team-a");
    sub(&meta, 8, &zero); /* the zero time: left out */
    sub(&ns, 1, &meta);
    sub(&ns, 2, &empty);
    sub(&ns, 3, &empty);
    struct buf in = envelope("v1", "Namespace", &ns);
    json_t *obj = decode(&in, 0);
    char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                           "\"team-a\"},\"spec\":{},\"status\":{}}");
    free(s);
    json_decref(obj);
}

static void rejects_what_it_cannot_read(void **state)
{
    (void)state;
    struct buf empty = {0};
    struct buf pod = envelope("v1", "Pod", &empty);
    assert_null(decode(&pod, -EMEDIUMTYPE));
    struct buf nomagic = {{'{', '}'}, 2};
    assert_null(decode(&nomagic, -EBADMSG));

    struct buf meta = {0}, cm = {0};
    str(&meta, 1, "x");
    sub(&cm, 1, &meta);
    struct buf in = envelope("v1", "ConfigMap", &cm);
    for (size_t cut = 5; cut < in.n; cut++) {
        struct buf t = in;
        t.n = cut;
        json_t *out = NULL;
        int rc = protobuf_decode_object((const char *)t.b, t.n, &out, NULL);
        assert_true(rc == -EBADMSG || rc == -EMEDIUMTYPE || (rc == 0 && out));
        json_decref(out);
    }

    struct buf bad = {0}, badmeta = {0};
    num(&badmeta, 1, 5); /* name as a varint: wrong wire type */
    sub(&bad, 1, &badmeta);
    struct buf in2 = envelope("v1", "ConfigMap", &bad);
    assert_null(decode(&in2, -EBADMSG));

    struct buf utf = {0}, utfmeta = {0};
    str(&utfmeta, 1, "\xff\xfe");
    sub(&utf, 1, &utfmeta);
    struct buf in3 = envelope("v1", "ConfigMap", &utf);
    assert_null(decode(&in3, -EBADMSG));

    /* A map entry with a value and no key (found by fuzz-apiserver). */
    struct buf nokey = {0}, entry = {0};
    str(&entry, 2, "v");
    sub(&nokey, 2, &entry);
    struct buf in5 = envelope("v1", "ConfigMap", &nokey);
    assert_null(decode(&in5, -EBADMSG));

    struct buf groups = {0};
    varint(&groups, 1 << 3 | 3);
    struct buf in4 = envelope("v1", "ConfigMap", &groups);
    assert_null(decode(&in4, -EBADMSG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configmap_with_metadata),
        cmocka_unit_test(namespace_as_kubectl_sends_it),
        cmocka_unit_test(rejects_what_it_cannot_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
