/*
 * Certificates for the webhook when nothing else issues them: a private CA
 * and a serving certificate it signs, for `gpuslice certs`, the embedded
 * cluster and the tests (a real cluster can use cert-manager instead; see
 * deploy/cert-manager).
 *
 * Keys are ECDSA P-256 in PKCS#8 PEM; certificates are X.509 v3 signed with
 * SHA-256. The CA is marked CA:TRUE with keyCertSign; the serving
 * certificate has CA:FALSE, the serverAuth extended key usage and the DNS
 * names and IP addresses asked for as subjectAltName entries (clients such
 * as the Kubernetes API server match names against those only, never the
 * common name). Both start five minutes in the past, for clocks that
 * disagree a little. The CA's key is thrown away once the serving
 * certificate is signed: nothing else can be issued under it.
 */
#ifndef GPUSLICE_WEBHOOK_CERTS_H
#define GPUSLICE_WEBHOOK_CERTS_H

#include <stddef.h>

#include "util/err.h"

#define CERTS_DAYS_DEFAULT 365
#define CERTS_DAYS_MAX 3650
#define CERTS_NAMES_MAX 32 /* DNS names and IP addresses together */

struct certs_request {
    const char *const *dns; /* DNS names ("gpuslice-webhook.gpuslice-system.svc") */
    size_t n_dns;
    const char *const *ips; /* IPv4 or IPv6 literals */
    size_t n_ips;
    unsigned days;          /* validity of both; 0: CERTS_DAYS_DEFAULT */
};

/* PEM text, each malloc'd and NUL-terminated. */
struct certs_bundle {
    char *ca_pem;   /* ca.crt: what clients trust (a caBundle) */
    char *cert_pem; /* tls.crt: the serving certificate */
    char *key_pem;  /* tls.key: its private key */
};

/* Makes a CA and a serving certificate for r's names. -EINVAL naming the
 * argument when there is no name, a name is not a DNS name ([A-Za-z0-9-.],
 * labels of 1 to 63, optionally a leading "*."), an address does not parse,
 * or days is above CERTS_DAYS_MAX; -EIO with OpenSSL's reason otherwise.
 * On success the caller frees *out with certs_bundle_free. */
int certs_generate(const struct certs_request *r, struct certs_bundle *out, struct err *e);

/* Writes ca.crt, tls.crt and tls.key (mode 0600) into dir, creating dir
 * (mode 0755) when missing. Each file is written beside its final name and
 * renamed over it (util/atomicfile.h), so a reader never sees half a file
 * and no file or link planted there is written through. -errno naming the
 * path. */
int certs_write(const struct certs_bundle *b, const char *dir, struct err *e);

/* Checks that cert_pem holds at least one certificate and key_pem a private
 * key matching the first. -EINVAL saying which is wrong. */
int certs_check_pair(const char *cert_pem, const char *key_pem, struct err *e);

/* Frees what b holds and empties it (b may be NULL). */
void certs_bundle_free(struct certs_bundle *b);

#endif
