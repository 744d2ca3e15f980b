/*
 * Tests of kubeconfig and in-cluster configuration: the fields read, the
 * precedence rules, relative file names, and every refusal naming the
 * file, line, column and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/kube.h"

static char dir[] = "/tmp/gs-kubeconfig-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *path_of(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void assert_bytes(const unsigned char *got, size_t len, const char *want)
{
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
}

/* "Q0EtUEVN" is base64 of "CA-PEM", "Q0VSVA==" of "CERT", "S0VZ" of "KEY". */
static const char good[] = "apiVersion: v1\n"
                           "kind: Config\n"
                           "current-context: dev\n"
                           "contexts:\n"
                           "- name: dev\n"
                           "  context: {cluster: c1, user: u1, namespace: team-a}\n"
                           "- name: other\n"
                           "  context: {cluster: c2}\n"
                           "clusters:\n"
                           "- name: c1\n"
                           "  cluster:\n"
                           "    server: https://10.0.0.1:6443/\n"
                           "    certificate-authority-data: Q0EtUEVN\n"
                           "    certificate-authority: /does/not/exist\n"
                           "- name: c2\n"
                           "  cluster:\n"
                           "    server: http://127.0.0.1:8080\n"
                           "    insecure-skip-tls-verify: true\n"
                           "users:\n"
                           "- name: u1\n"
                           "  user:\n"
                           "    client-certificate-data: Q0VSVA==\n"
                           "    client-key-data: S0VZ\n"
                           "    token: abc\n";

static void current_context_is_resolved(void **state)
{
    (void)state;
    put("good", good);
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_load(path_of("good"), NULL, &c, &e), 0);
    assert_string_equal(c->server, "https://10.0.0.1:6443");
    assert_string_equal(c->ns, "team-a");
    assert_false(c->insecure);
    assert_bytes(c->ca, c->ca_len, "CA-PEM"); /* data wins over the file */
    assert_bytes(c->cert, c->cert_len, "CERT");
    assert_bytes(c->key, c->key_len, "KEY");
    assert_string_equal(c->token, "abc");
    assert_null(c->token_file);
    assert_string_equal(c->source, path_of("good"));
    kube_config_free(c);
}

static void a_named_context_is_resolved(void **state)
{
    (void)state;
    put("good", good);
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_load(path_of("good"), "other", &c, &e), 0);
    assert_string_equal(c->server, "http://127.0.0.1:8080");
    assert_true(c->insecure);
    assert_null(c->ns);
    assert_null(c->ca);
    assert_null(c->token);
    assert_null(c->cert);
    kube_config_free(c);
}

static void files_are_relative_to_the_kubeconfig(void **state)
{
    (void)state;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/certs", dir);
    mkdir(sub, 0700);
    put("certs/ca.pem", "CA-FILE");
    put("certs/c.pem", "CERT-FILE");
    put("key.pem", "KEY-FILE");
    put("tok", "t0\n");
    char text[2048];
    snprintf(text, sizeof text,
             "current-context: x\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
             "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: "
             "certs/ca.pem}}]\n"
             "users: [{name: u, user: {client-certificate: certs/c.pem, client-key: %s, "
             "tokenFile: tok, token: ignored}}]\n",
             path_of("key.pem"));
    put("rel", text);
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_load(path_of("rel"), NULL, &c, &e), 0);
    assert_bytes(c->ca, c->ca_len, "CA-FILE");
    assert_bytes(c->cert, c->cert_len, "CERT-FILE");
    assert_bytes(c->key, c->key_len, "KEY-FILE");
    assert_string_equal(c->token_file, path_of("tok"));
    kube_config_free(c);
}

/* A kubeconfig with one cluster c and one user u whose fields are given. */
static void bad(const char *cluster, const char *user, const char *context, int code,
                const char *where, const char *what)
{
    char text[2048];
    snprintf(text, sizeof text,
             "current-context: x\n"
             "contexts:\n"
             "- name: x\n"
             "  context: {cluster: c, user: u}\n"
             "clusters:\n"
             "- name: c\n"
             "  cluster:\n"
             "    %s\n"
             "users:\n"
             "- name: u\n"
             "  user:\n"
             "    %s\n",
             cluster, user);
    put("bad", text);
    struct kube_config *c = (struct kube_config *)1;
    struct err e;
    assert_int_equal(kube_config_load(path_of("bad"), context, &c, &e), code);
    assert_null(c);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s:%s", path_of("bad"), where);
    if (strncmp(e.msg, prefix, strlen(prefix)) != 0 || !strstr(e.msg, what))
        fail_msg("got \"%s\", want \"%s...%s\"", e.msg, prefix, what);
}

static void bad_fields_are_named_with_their_place(void **state)
{
    (void)state;
    const char *srv = "server: https://h";
    const char *tok = "token: t";
    bad("insecure-skip-tls-verify: true", tok, NULL, -EINVAL, "8:5: ",
        "clusters[0].cluster.server: Required value");
    bad("server: localhost:6443", tok, NULL, -EINVAL, "8:5: ",
        "clusters[0].cluster.server: \"localhost:6443\" is not an http:// or https:// URL");
    bad("server: [a]", tok, NULL, -EINVAL, "8:5: ", "clusters[0].cluster.server: must be a string");
    bad("{server: https://h, insecure-skip-tls-verify: yes}", tok, NULL, -EINVAL, "8:",
        "insecure-skip-tls-verify: must be true or false");
    bad("{server: https://h, insecure-skip-tls-verify: true, certificate-authority-data: "
        "Q0E=}",
        tok, NULL, -EINVAL, "8:", "a certificate authority and insecure-skip-tls-verify");
    bad("{server: https://h, certificate-authority-data: '!!!'}", tok, NULL, -EINVAL, "8:",
        "clusters[0].cluster.certificate-authority-data: not valid base64");
    bad("{server: https://h, certificate-authority: missing.pem}", tok, NULL, -ENOENT, "8:",
        "clusters[0].cluster.certificate-authority: ");
    bad(srv, "exec: {command: aws}", NULL, -ENOTSUP, "12:5: ",
        "users[0].user.exec: a credential plugin is not supported");
    bad(srv, "auth-provider: {name: gcp}", NULL, -ENOTSUP, "12:5: ",
        "users[0].user.auth-provider: a credential plugin is not supported");
    bad(srv, "username: admin", NULL, -ENOTSUP, "12:5: ",
        "users[0].user.username: basic authentication is not supported");
    bad(srv, "client-certificate-data: Q0E=", NULL, -EINVAL, "12:5: ",
        "users[0].user: client-certificate without client-key");
    bad(srv, "client-key-data: Q0E=", NULL, -EINVAL, "12:5: ",
        "users[0].user: client-key without client-certificate");
    bad(srv, "tokenFile: nope", NULL, -ENOENT, "12:5: ", "users[0].user.tokenFile: ");
    bad(srv, "token: 3", NULL, -EINVAL, "12:5: ", "users[0].user.token: must be a string");
    bad(srv, tok, "elsewhere", -EINVAL, "2:1: ", "contexts: no entry named \"elsewhere\"");
}

static void bad_documents_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
        const char *what;
    } cases[] = {
        {"", -EINVAL, "empty kubeconfig"},
        {"- a\n", -EINVAL, "not a kubeconfig"},
        {"contexts: []\n", -EINVAL, "current-context: Required value"},
        {"current-context: x\ncontexts: {x: 1}\n", -EINVAL, "contexts: must be a list"},
        {"current-context: x\ncontexts: [{name: x, context: 3}]\n", -EINVAL,
         "contexts[0].context: must be a mapping"},
        {"current-context: x\ncontexts: [{name: x, context: {user: u}}]\n", -EINVAL,
         "contexts[0].context.cluster: Required value"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n", -EINVAL,
         "clusters: no entry named \"c\""},
        {"a: [\n", -EINVAL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put("doc", cases[i].text);
        struct kube_config *c;
        struct err e;
        assert_int_equal(kube_config_load(path_of("doc"), NULL, &c, &e), cases[i].code);
        assert_null(c);
        assert_non_null(strstr(e.msg, path_of("doc")));
        if (!strstr(e.msg, cases[i].what))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].what);
    }
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_load(path_of("absent"), NULL, &c, &e), -ENOENT);
    assert_non_null(strstr(e.msg, path_of("absent")));
}

static void in_cluster_reads_the_service_account(void **state)
{
    (void)state;
    char sa[600];
    snprintf(sa, sizeof sa, "%s/sa", dir);
    mkdir(sa, 0700);
    put("sa/token", "tok\n");
    put("sa/ca.crt", "CA");
    struct kube_config *c;
    struct err e;
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_in_cluster(sa, &c, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "KUBERNETES_SERVICE_HOST"));
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(kube_config_in_cluster(sa, &c, &e), 0);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    assert_bytes(c->ca, c->ca_len, "CA");
    char tok[700];
    snprintf(tok, sizeof tok, "%s/token", sa);
    assert_string_equal(c->token_file, tok);
    assert_null(c->ns); /* no namespace file */
    kube_config_free(c);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    put("sa/namespace", "kube-system\n");
    assert_int_equal(kube_config_in_cluster(sa, &c, &e), 0);
    assert_string_equal(c->server, "https://10.96.0.1:443");
    assert_string_equal(c->ns, "kube-system");
    kube_config_free(c);
    assert_int_equal(kube_config_in_cluster(path_of("nowhere"), &c, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "not in a cluster"));
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void default_takes_the_first_kubeconfig(void **state)
{
    (void)state;
    put("good", good);
    char list[1200];
    snprintf(list, sizeof list, "%s:/nonexistent", path_of("good"));
    setenv("KUBECONFIG", list, 1);
    struct kube_config *c;
    struct err e;
    assert_int_equal(kube_config_default(&c, &e), 0);
    assert_string_equal(c->server, "https://10.0.0.1:6443");
    kube_config_free(c);
    unsetenv("KUBECONFIG");
    setenv("HOME", dir, 1); /* no .kube/config there, and not in a cluster */
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_default(&c, &e), -ENOENT);
    assert_null(c);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(current_context_is_resolved),
        cmocka_unit_test(a_named_context_is_resolved),
        cmocka_unit_test(files_are_relative_to_the_kubeconfig),
        cmocka_unit_test(bad_fields_are_named_with_their_place),
        cmocka_unit_test(bad_documents_are_refused),
        cmocka_unit_test(in_cluster_reads_the_service_account),
        cmocka_unit_test(default_takes_the_first_kubeconfig),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
