/*
 * Tests for webhook/certs: the chain verifies with OpenSSL for the names
 * asked for and no others, key and certificate match, bad requests are
 * refused naming the argument, and the files land with their modes, never
 * through a file or link planted where a temporary file once went.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "webhook/certs.h"

static const char *const dns[] = {"gpuslice-webhook.gpuslice-system.svc", "localhost"};
static const char *const ips[] = {"127.0.0.1", "::1"};

static X509 *parse(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

/* Whether leaf verifies under ca as a TLS server certificate. */
static bool verifies(X509 *ca, X509 *leaf)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static void chain_verifies_for_the_names(void **state)
{
    (void)state;
    struct certs_request r = {.dns = dns, .n_dns = 2, .ips = ips, .n_ips = 2, .days = 30};
    struct certs_bundle b, other;
    struct err e;
    assert_int_equal(certs_generate(&r, &b, &e), 0);
    assert_int_equal(certs_generate(&r, &other, &e), 0);
    X509 *ca = parse(b.ca_pem), *leaf = parse(b.cert_pem), *other_ca = parse(other.ca_pem);
    assert_true(verifies(ca, leaf));
    assert_false(verifies(other_ca, leaf));
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_int_equal(X509_check_host(leaf, dns[0], 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "evil.example", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "10.0.0.1", 0), 0);
    /* Valid now, for the days asked (and not a day more). */
    time_t in29 = time(NULL) + 29 * 86400, in31 = time(NULL) + 31 * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(leaf), &in29) > 0);
    assert_true(X509_cmp_time(X509_get0_notAfter(leaf), &in31) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(leaf)) < 0);
    assert_int_equal(certs_check_pair(b.cert_pem, b.key_pem, &e), 0);
    assert_int_equal(certs_check_pair(b.cert_pem, other.key_pem, &e), -EINVAL);
    assert_string_equal(e.msg, "key: does not match the certificate's public key");
    X509_free(ca);
    X509_free(leaf);
    X509_free(other_ca);
    certs_bundle_free(&b);
    certs_bundle_free(&other);
    certs_bundle_free(NULL);
}

static void check_refused(const struct certs_request *r, const char *message)
{
    struct certs_bundle b;
    struct err e;
    assert_int_equal(certs_generate(r, &b, &e), -EINVAL);
    assert_string_equal(e.msg, message);
    assert_null(b.ca_pem);
}

static void bad_requests(void **state)
{
    (void)state;
    check_refused(&(struct certs_request){0},
                  "certs: at least one DNS name or IP address is required");
    const char *const bad_dns[] = {"ok.example", "a,DNS:evil.example"};
    check_refused(&(struct certs_request){.dns = bad_dns, .n_dns = 2},
                  "certs: dns[1]: \"a,DNS:evil.example\" is not a DNS name");
    const char *const dash[] = {"-a.example"};
    check_refused(&(struct certs_request){.dns = dash, .n_dns = 1},
                  "certs: dns[0]: \"-a.example\" is not a DNS name");
    const char *const empty_label[] = {"a..example"};
    check_refused(&(struct certs_request){.dns = empty_label, .n_dns = 1},
                  "certs: dns[0]: \"a..example\" is not a DNS name");
    const char *const bad_ip[] = {"300.1.1.1"};
    check_refused(&(struct certs_request){.ips = bad_ip, .n_ips = 1},
                  "certs: ip[0]: \"300.1.1.1\" is not an IP address");
    check_refused(&(struct certs_request){.dns = dns, .n_dns = 1, .days = 4000},
                  "certs: days: 4000 is more than 3650");
    const char *const wildcard[] = {"*.gpuslice-system.svc"};
    struct certs_bundle b;
    assert_int_equal(certs_generate(&(struct certs_request){.dns = wildcard, .n_dns = 1}, &b,
                                    NULL), 0);
    certs_bundle_free(&b);
}

static void pair_check_names_the_part(void **state)
{
    (void)state;
    struct certs_request r = {.ips = ips, .n_ips = 1};
    struct certs_bundle b;
    struct err e;
    assert_int_equal(certs_generate(&r, &b, &e), 0);
    assert_int_equal(certs_check_pair("garbage", b.key_pem, &e), -EINVAL);
    assert_string_equal(e.msg, "certificate: no PEM certificate");
    assert_int_equal(certs_check_pair(b.cert_pem, b.cert_pem, &e), -EINVAL);
    assert_string_equal(e.msg, "key: no unencrypted PEM private key");
    certs_bundle_free(&b);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void files_are_written(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-certs-XXXXXX", sub[64], path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/out", dir);
    struct certs_request r = {.dns = dns, .n_dns = 1};
    struct certs_bundle b;
    struct err e;
    assert_int_equal(certs_generate(&r, &b, &e), 0);
    assert_int_equal(certs_write(&b, sub, &e), 0);
    assert_int_equal(certs_write(&b, sub, &e), 0); /* again: replaced */
    static const char *const names[] = {"ca.crt", "tls.crt", "tls.key"};
    const char *texts[] = {b.ca_pem, b.cert_pem, b.key_pem};
    for (size_t i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, i == 2 ? 0600 : 0644);
        assert_string_equal(slurp(path), texts[i]);
        unlink(path);
    }
    rmdir(sub);
    snprintf(path, sizeof path, "%s/no/such", dir);
    assert_true(certs_write(&b, path, &e) < 0);
    assert_non_null(strstr(e.msg, path));
    rmdir(dir);
    certs_bundle_free(&b);
}

/* issue 19: the writer once opened DIR/NAME.tmp.PID with O_TRUNC, so a
 * planted link sent the key elsewhere and a planted 0666 file made it
 * world-readable. Both plants stay as they were; the key is 0600. */
static void planted_temporary_names_change_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuslice-certs-XXXXXX", plant[128], elsewhere[128], path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(plant, sizeof plant, "%s/tls.key.tmp.%ld", dir, (long)getpid());
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
    snprintf(path, sizeof path, "%s/tls.key", dir);
    struct certs_request r = {.dns = dns, .n_dns = 1};
    struct certs_bundle b;
    struct err e;
    assert_int_equal(certs_generate(&r, &b, &e), 0);

    assert_int_equal(symlink(elsewhere, plant), 0);
    assert_int_equal(certs_write(&b, dir, &e), 0);
    struct stat st;
    assert_int_not_equal(lstat(elsewhere, &st), 0);
    assert_int_equal(lstat(plant, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_string_equal(slurp(path), b.key_pem);
    unlink(plant);

    FILE *f = fopen(plant, "w");
    assert_non_null(f);
    fputs("planted", f);
    fclose(f);
    assert_int_equal(chmod(plant, 0666), 0);
    assert_int_equal(certs_write(&b, dir, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(slurp(path), b.key_pem);
    assert_string_equal(slurp(plant), "planted");

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    certs_bundle_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_verifies_for_the_names),
        cmocka_unit_test(bad_requests),
        cmocka_unit_test(pair_check_names_the_part),
        cmocka_unit_test(files_are_written),
        cmocka_unit_test(planted_temporary_names_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
