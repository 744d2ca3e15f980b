/* Tests for api/lease: reading, building and expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "api/lease.h"

#define T0 1714557600000000000LL
#define S 1000000000LL

static void new_lease_reads_back(void **state)
{
    (void)state;
    json_t *l = lease_new("kube-system", "gpuslice-controller", "pod-a", 15, T0 + 123456000);
    struct lease_view v;
    struct err e;
    assert_int_equal(lease_read(l, &v, &e), 0);
    assert_string_equal(v.name, "gpuslice-controller");
    assert_string_equal(v.ns, "kube-system");
    assert_string_equal(v.holder, "pod-a");
    assert_int_equal(v.duration_s, 15);
    assert_true(v.renew_ns == T0 + 123456000);
    assert_true(v.acquire_ns == T0 + 123456000);
    assert_int_equal(v.transitions, 0);
    assert_false(lease_expired(&v, T0 + 10 * S));
    assert_true(lease_expired(&v, T0 + 16 * S));
    json_decref(l);
}

static void empty_lease_is_free(void **state)
{
    (void)state;
    json_t *l = json_pack("{s:{s:s, s:s}}", "metadata", "name", "x", "namespace", "y");
    struct lease_view v;
    assert_int_equal(lease_read(l, &v, NULL), 0);
    assert_string_equal(v.holder, "");
    assert_true(lease_expired(&v, T0));
    json_decref(l);
}

static void bad_leases_name_the_field(void **state)
{
    (void)state;
    struct lease_view v;
    struct err e;
    json_t *l = json_pack("{s:{s:s}}", "spec", "renewTime", "yesterday");
    assert_int_equal(lease_read(l, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.renewTime"));
    json_decref(l);
    l = json_pack("{s:{s:i}}", "spec", "leaseDurationSeconds", -1);
    assert_int_equal(lease_read(l, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.leaseDurationSeconds"));
    json_decref(l);
    l = json_pack("{s:{s:i}}", "spec", "holderIdentity", 3);
    assert_int_equal(lease_read(l, &v, &e), -EINVAL);
    json_decref(l);
    l = json_pack("{s:i}", "spec", 3);
    assert_int_equal(lease_read(l, &v, &e), -EINVAL);
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_lease_reads_back),
        cmocka_unit_test(empty_lease_is_free),
        cmocka_unit_test(bad_leases_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
