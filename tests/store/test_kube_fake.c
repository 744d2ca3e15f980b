/*
 * The fake API server and certificate factory of test_kube_fake.h.
 */
#include "test_kube_fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define FAKE_CONNS_MAX 256
#define FAKE_HEAD_MAX 16384

/* ---- certificates ------------------------------------------------------------ */

static char *fake_pem(X509 *x, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    int ok = x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
                                                                     NULL, NULL);
    char *data = NULL, *out = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (ok && n > 0 && (out = malloc((size_t)n + 1))) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(b);
    return out;
}

static int fake_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed). */
static X509 *fake_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial, const char *usage)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *signer = issuer ? issuer : x;
    int rc = 0;
    if (!issuer)
        rc |= fake_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE") |
              fake_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    else if (strcmp(usage, "serverAuth") == 0)
        rc |= fake_ext(x, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") |
              fake_ext(x, signer, NID_ext_key_usage, usage);
    else
        rc |= fake_ext(x, signer, NID_ext_key_usage, usage);
    if (rc || !X509_sign(x, issuer ? issuer_key : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int fake_tls_make(struct fake_tls *t)
{
    memset(t, 0, sizeof *t);
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
    EVP_PKEY *cli_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *srv = NULL, *cli = NULL, *other = NULL;
    int rc = -1;
    if (ca_key && srv_key && cli_key && other_key &&
        (ca = fake_cert(ca_key, "fake-ca", NULL, NULL, 1, NULL)) &&
        (srv = fake_cert(srv_key, "fake-apiserver", ca, ca_key, 2, "serverAuth")) &&
        (cli = fake_cert(cli_key, "fake-user", ca, ca_key, 3, "clientAuth")) &&
        (other = fake_cert(other_key, "other-ca", NULL, NULL, 4, NULL))) {
        t->ca = fake_pem(ca, NULL);
        t->server_cert = fake_pem(srv, NULL);
        t->server_key = fake_pem(NULL, srv_key);
        t->client_cert = fake_pem(cli, NULL);
        t->client_key = fake_pem(NULL, cli_key);
        t->other_ca = fake_pem(other, NULL);
        rc = t->ca && t->server_cert && t->server_key && t->client_cert && t->client_key &&
                     t->other_ca
                 ? 0
                 : -1;
    }
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(cli_key);
    EVP_PKEY_free(other_key);
    return rc;
}

void fake_tls_free(struct fake_tls *t)
{
    free(t->ca);
    free(t->server_cert);
    free(t->server_key);
    free(t->client_cert);
    free(t->client_key);
    free(t->other_ca);
    memset(t, 0, sizeof *t);
}

/* ---- the server ---------------------------------------------------------------- */

struct fake_conn {
    struct fake_server *srv;
    int fd;
    SSL *ssl;
    pthread_t thread;
    bool replied;
    bool broken;
};

struct fake_server {
    int fd;
    uint16_t port;
    SSL_CTX *ctx;
    fake_handler handler;
    void *hctx;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    bool stopping;
    unsigned accepted;
    struct fake_conn *conns[FAKE_CONNS_MAX];
    size_t nconns;
};

static ssize_t fake_read(struct fake_conn *c, char *buf, size_t len)
{
    if (c->ssl) {
        int n = SSL_read(c->ssl, buf, (int)len);
        return n > 0 ? n : -1;
    }
    ssize_t n = read(c->fd, buf, len);
    return n > 0 ? n : -1;
}

static bool fake_write(struct fake_conn *c, const char *buf, size_t len)
{
    while (len && !c->broken) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, buf, (int)len)
                           : send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0) {
            c->broken = true;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    return !c->broken;
}

static const char *fake_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    default:
        return "Status";
    }
}

void fake_reply(struct fake_conn *c, int status, const char *body)
{
    char head[256];
    size_t n = strlen(body);
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, fake_reason(status), n);
    c->replied = true;
    if (fake_write(c, head, (size_t)h))
        fake_write(c, body, n);
}

void fake_stream_start(struct fake_conn *c, int status)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n",
                     status, fake_reason(status));
    c->replied = true;
    fake_write(c, head, (size_t)h);
}

bool fake_stream_chunk(struct fake_conn *c, const char *data, size_t len)
{
    char head[32];
    int h = snprintf(head, sizeof head, "%zx\r\n", len);
    return len == 0 || (fake_write(c, head, (size_t)h) && fake_write(c, data, len) &&
                        fake_write(c, "\r\n", 2));
}

void fake_stream_end(struct fake_conn *c)
{
    fake_write(c, "0\r\n\r\n", 5);
}

bool fake_wait_closed(struct fake_conn *c, int ms)
{
    if (c->ssl && SSL_pending(c->ssl))
        return true;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

static void fake_header(struct fake_request *rq, const char *line, size_t *content_length)
{
    const char *colon = strchr(line, ':');
    if (!colon)
        return;
    size_t klen = (size_t)(colon - line);
    const char *v = colon + 1;
    while (*v == ' ')
        v++;
    if (klen == 14 && strncasecmp(line, "Content-Length", klen) == 0)
        *content_length = strtoul(v, NULL, 10);
    else if (klen == 13 && strncasecmp(line, "Authorization", klen) == 0)
        snprintf(rq->auth, sizeof rq->auth, "%s", v);
    else if (klen == 12 && strncasecmp(line, "Content-Type", klen) == 0)
        snprintf(rq->content_type, sizeof rq->content_type, "%s", v);
}

/* Reads one request; false at the end of the connection. */
static bool fake_read_request(struct fake_conn *c, char *buf, size_t *have,
                              struct fake_request *rq)
{
    char *end;
    while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
        if (*have >= FAKE_HEAD_MAX - 1)
            return false;
        ssize_t n = fake_read(c, buf + *have, FAKE_HEAD_MAX - 1 - *have);
        if (n <= 0)
            return false;
        *have += (size_t)n;
    }
    *end = '\0';
    memset(rq, 0, sizeof *rq);
    size_t content_length = 0;
    char *save = NULL;
    char *line = strtok_r(buf, "\r\n", &save);
    if (!line || sscanf(line, "%15s %4095s", rq->method, rq->target) != 2)
        return false;
    while ((line = strtok_r(NULL, "\r\n", &save)))
        fake_header(rq, line, &content_length);
    size_t head = (size_t)(end - buf) + 4;
    rq->body = malloc(content_length + 1);
    if (!rq->body)
        return false;
    size_t got = *have - head < content_length ? *have - head : content_length;
    memcpy(rq->body, buf + head, got);
    while (got < content_length) {
        ssize_t n = fake_read(c, rq->body + got, content_length - got);
        if (n <= 0) {
            free(rq->body);
            return false;
        }
        got += (size_t)n;
    }
    rq->body[content_length] = '\0';
    rq->body_len = content_length;
    size_t used = head + (*have - head < content_length ? *have - head : content_length);
    memmove(buf, buf + used, *have - used);
    *have -= used;
    return true;
}

static void *fake_serve(void *arg)
{
    struct fake_conn *c = arg;
    struct fake_server *s = c->srv;
    if (s->ctx) {
        c->ssl = SSL_new(s->ctx);
        if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || SSL_accept(c->ssl) != 1)
            return NULL;
    }
    char *buf = malloc(FAKE_HEAD_MAX);
    size_t have = 0;
    struct fake_request rq;
    while (buf && !c->broken && fake_read_request(c, buf, &have, &rq)) {
        c->replied = false;
        s->handler(s->hctx, &rq, c);
        if (!c->replied)
            fake_reply(c, 500, "{}");
        free(rq.body);
    }
    free(buf);
    return NULL;
}

static void *fake_accept(void *arg)
{
    struct fake_server *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        struct fake_conn *c = NULL;
        if (!s->stopping && s->nconns < FAKE_CONNS_MAX && (c = calloc(1, sizeof *c))) {
            c->srv = s;
            c->fd = fd;
            if (pthread_create(&c->thread, NULL, fake_serve, c) == 0) {
                s->conns[s->nconns++] = c;
                s->accepted++;
            } else {
                free(c);
                c = NULL;
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (!c)
            close(fd);
    }
}

static int fake_ctx_setup(struct fake_server *s, const struct fake_tls *tls,
                          const char *client_ca)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(tls->server_cert, -1), *kb = BIO_new_mem_buf(tls->server_key, -1);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = s->ctx && cert && key && SSL_CTX_use_certificate(s->ctx, cert) == 1 &&
             SSL_CTX_use_PrivateKey(s->ctx, key) == 1;
    if (ok && client_ca) {
        BIO *ab = BIO_new_mem_buf(client_ca, -1);
        X509 *ca = ab ? PEM_read_bio_X509(ab, NULL, NULL, NULL) : NULL;
        ok = ca && X509_STORE_add_cert(SSL_CTX_get_cert_store(s->ctx), ca) == 1;
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        X509_free(ca);
        BIO_free(ab);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return ok ? 0 : -1;
}

struct fake_server *fake_server_start(const struct fake_tls *tls, const char *client_ca,
                                      fake_handler h, void *ctx)
{
    struct fake_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->handler = h;
    s->hctx = ctx;
    s->fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if ((tls && fake_ctx_setup(s, tls, client_ca) != 0) ||
        (s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0 ||
        pthread_create(&s->accept_thread, NULL, fake_accept, s) != 0) {
        if (s->fd >= 0)
            close(s->fd);
        SSL_CTX_free(s->ctx);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    return s;
}

uint16_t fake_server_port(const struct fake_server *s)
{
    return s->port;
}

unsigned fake_server_accepted(struct fake_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->accepted;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void fake_server_stop(struct fake_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->accept_thread, NULL);
    close(s->fd);
    for (size_t i = 0; i < s->nconns; i++) {
        struct fake_conn *c = s->conns[i];
        shutdown(c->fd, SHUT_RDWR);
        pthread_join(c->thread, NULL);
        SSL_free(c->ssl);
        close(c->fd);
        free(c);
    }
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
