/*
 * `gpuslice certs`: writes a private CA and a serving certificate for the
 * webhook (or any local TLS server) into a directory: ca.crt, tls.crt,
 * tls.key (webhook/certs.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "webhook/certs.h"

struct certs_args {
    const char *dns[CERTS_NAMES_MAX], *ips[CERTS_NAMES_MAX];
    size_t n_dns, n_ips;
    const char *out;
    long days;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuslice certs: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'gpuslice help certs'\n");
    return 2;
}

/* Adds the comma-separated names of arg (modified in place) to list. */
static int add_names(char *arg, const char **list, size_t *n, size_t other)
{
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n + other >= CERTS_NAMES_MAX)
            return usage_error("at most %d names and addresses", CERTS_NAMES_MAX);
        list[(*n)++] = tok;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct certs_args *a)
{
    static const struct option options[] = {
        {"dns", required_argument, NULL, 'n'},
        {"ip", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"days", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->days = CERTS_DAYS_DEFAULT;
    opterr = 0;
    for (int c, rc; (c = getopt_long(argc, argv, "o:", options, NULL)) != -1;) {
        char *end;
        switch (c) {
        case 'n':
            if ((rc = add_names(optarg, a->dns, &a->n_dns, a->n_ips)) != 0)
                return rc;
            break;
        case 'i':
            if ((rc = add_names(optarg, a->ips, &a->n_ips, a->n_dns)) != 0)
                return rc;
            break;
        case 'o': a->out = optarg; break;
        case 'd':
            a->days = strtol(optarg, &end, 10);
            if (!*optarg || *end || a->days < 1 || a->days > CERTS_DAYS_MAX)
                return usage_error("--days: \"%s\" is not from 1 to %d", optarg,
                                   CERTS_DAYS_MAX);
            break;
        default: return usage_error("bad option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument: %s", argv[optind]);
    if (!a->out)
        return usage_error("--out DIR is required");
    if (a->n_dns + a->n_ips == 0)
        return usage_error("give at least one --dns NAME or --ip ADDRESS");
    return 0;
}

int cmd_certs(int argc, char **argv)
{
    struct certs_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    struct certs_request r = {.dns = a.dns, .n_dns = a.n_dns, .ips = a.ips, .n_ips = a.n_ips,
                              .days = (unsigned)a.days};
    struct certs_bundle b;
    struct err e;
    if (certs_generate(&r, &b, &e) != 0 || certs_write(&b, a.out, &e) != 0) {
        certs_bundle_free(&b);
        fprintf(stderr, "gpuslice certs: %s\n", e.msg);
        return 1;
    }
    certs_bundle_free(&b);
    printf("wrote %s/ca.crt, %s/tls.crt and %s/tls.key (valid %ld days)\n"
           "the caBundle of a MutatingWebhookConfiguration is: base64 -w0 %s/ca.crt\n",
           a.out, a.out, a.out, a.days, a.out);
    return 0;
}
