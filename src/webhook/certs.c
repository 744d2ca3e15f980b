/*
 * Certificate generation with OpenSSL's C API (certs.h). Extensions are
 * given in OpenSSL's configuration syntax ("critical,CA:TRUE"), which is
 * why names are checked against a strict character set first: nothing a
 * caller passes can add an extension of its own.
 */
#include "webhook/certs.h"
#include "util/alloc.h"
#include "util/atomicfile.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SAN_MAX 4096
#define BACKDATE_S 300

/* An OpenSSL failure: what was being done and OpenSSL's reason. */
static int ssl_fail(struct err *e, const char *what)
{
    char reason[256] = "no reason given";
    unsigned long code = ERR_peek_last_error();
    if (code)
        ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    return err_set(e, -EIO, "certs: %s: %s", what, reason);
}

/* ---- checking the request ---- */

static bool dns_name_valid(const char *s)
{
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-.") != n)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            label++;
            continue;
        }
        if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
            return false;
        label = 0;
    }
    return true;
}

static bool ip_valid(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int check_request(const struct certs_request *r, struct err *e)
{
    if (r->n_dns + r->n_ips == 0)
        return err_set(e, -EINVAL, "certs: at least one DNS name or IP address is required");
    if (r->n_dns + r->n_ips > CERTS_NAMES_MAX)
        return err_set(e, -EINVAL, "certs: at most %d DNS names and IP addresses",
                       CERTS_NAMES_MAX);
    if (r->days > CERTS_DAYS_MAX)
        return err_set(e, -EINVAL, "certs: days: %u is more than %d", r->days, CERTS_DAYS_MAX);
    for (size_t i = 0; i < r->n_dns; i++)
        if (!r->dns[i] || !dns_name_valid(r->dns[i]))
            return err_set(e, -EINVAL, "certs: dns[%zu]: \"%.80s\" is not a DNS name", i,
                           r->dns[i] ? r->dns[i] : "");
    for (size_t i = 0; i < r->n_ips; i++)
        if (!r->ips[i] || !ip_valid(r->ips[i]))
            return err_set(e, -EINVAL, "certs: ip[%zu]: \"%.80s\" is not an IP address", i,
                           r->ips[i] ? r->ips[i] : "");
    return 0;
}

/* "DNS:a,DNS:b,IP:1.2.3.4" */
static void san_value(const struct certs_request *r, char out[SAN_MAX])
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_dns + r->n_ips && n < SAN_MAX; i++) {
        bool dns = i < r->n_dns;
        int w = snprintf(out + n, SAN_MAX - n, "%s%s:%s", n ? "," : "", dns ? "DNS" : "IP",
                         dns ? r->dns[i] : r->ips[i - r->n_dns]);
        n += w > 0 ? (size_t)w : 0;
    }
}

/* ---- building certificates ---- */

static int add_ext(X509 *subject, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(subject, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok ? 0 : -1;
}

/* A certificate for key with common name cn, unsigned and without
 * extensions; issuer's name when issuer is not NULL, else its own. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, unsigned days)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = x && name && X509_set_version(x, X509_VERSION_3) && random_serial(x) == 0 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) &&
              X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                         -1, -1, 0) &&
              X509_set_subject_name(x, name) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
              X509_set_pubkey(x, key);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *make_ca(EVP_PKEY *key, unsigned days)
{
    X509 *x = new_cert(key, "gpuslice-webhook-ca", NULL, days);
    if (x && add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
        add_ext(x, x, NID_subject_key_identifier, "hash") == 0 &&
        X509_sign(x, key, EVP_sha256()) > 0)
        return x;
    X509_free(x);
    return NULL;
}

static X509 *make_leaf(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
                       const struct certs_request *r, unsigned days)
{
    char san[SAN_MAX];
    san_value(r, san);
    X509 *x = new_cert(key, r->n_dns ? r->dns[0] : r->ips[0], ca, days);
    if (x && add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") == 0 &&
        add_ext(x, ca, NID_ext_key_usage, "serverAuth") == 0 &&
        add_ext(x, ca, NID_subject_alt_name, san) == 0 &&
        add_ext(x, ca, NID_subject_key_identifier, "hash") == 0 &&
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always") == 0 &&
        X509_sign(x, ca_key, EVP_sha256()) > 0)
        return x;
    X509_free(x);
    return NULL;
}

/* PEM text of a certificate (key NULL) or of a key (x NULL), malloc'd. */
static char *to_pem(X509 *x, EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    bool ok = bio && (x ? PEM_write_bio_X509(bio, x)
                        : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL));
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (n > 0 && (out = alloc_malloc((size_t)n + 1))) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(bio);
    return out;
}

int certs_generate(const struct certs_request *r, struct certs_bundle *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    int rc = check_request(r, e);
    if (rc < 0)
        return rc;
    unsigned days = r->days ? r->days : CERTS_DAYS_DEFAULT;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_ca(ca_key, days) : NULL;
    X509 *leaf = ca && key ? make_leaf(key, ca, ca_key, r, days) : NULL;
    if (!leaf)
        rc = ssl_fail(e, "cannot make the certificates");
    if (rc == 0) {
        out->ca_pem = to_pem(ca, NULL);
        out->cert_pem = to_pem(leaf, NULL);
        out->key_pem = to_pem(NULL, key);
        if (!out->ca_pem || !out->cert_pem || !out->key_pem) {
            certs_bundle_free(out);
            rc = ssl_fail(e, "cannot write PEM");
        }
    }
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* ---- files ---- */

static int write_file(const char *dir, const char *name, const char *text, mode_t mode,
                      struct err *e)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return err_set(e, -ENAMETOOLONG, "certs: %s: path too long", dir);
    int rc = atomicfile_write(path, text, strlen(text), mode, e);
    return rc < 0 ? err_prefix(e, rc, "certs: ") : 0;
}

int certs_write(const struct certs_bundle *b, const char *dir, struct err *e)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_set(e, -errno, "certs: cannot create %s: %s", dir, strerror(errno));
    int rc = write_file(dir, "ca.crt", b->ca_pem, 0644, e);
    if (rc == 0)
        rc = write_file(dir, "tls.key", b->key_pem, 0600, e);
    if (rc == 0)
        rc = write_file(dir, "tls.crt", b->cert_pem, 0644, e);
    return rc;
}

int certs_check_pair(const char *cert_pem, const char *key_pem, struct err *e)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int rc = 0;
    if (!x)
        rc = err_set(e, -EINVAL, "certificate: no PEM certificate");
    else if (!key)
        rc = err_set(e, -EINVAL, "key: no unencrypted PEM private key");
    else if (X509_check_private_key(x, key) != 1)
        rc = err_set(e, -EINVAL, "key: does not match the certificate's public key");
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    return rc;
}

void certs_bundle_free(struct certs_bundle *b)
{
    if (!b)
        return;
    free(b->ca_pem);
    free(b->cert_pem);
    free(b->key_pem);
    memset(b, 0, sizeof *b);
}
