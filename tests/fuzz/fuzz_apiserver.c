/* libFuzzer harness for the API server's request path: the REST layer
 * (routing, query parsing, negotiation, body decoding in every media type,
 * every verb on the mem store) in process, without sockets, exactly as the
 * HTTP glue calls it. The input is a request written as
 *
 *     METHOD TARGET\n
 *     Header: value\n      (Content-Type, Accept, Authorization)
 *     \n
 *     body
 *
 * Every answer must be well formed: a status in 200..599, and for an
 * error a Status object whose code is that status. Watch streams are read
 * without waiting. The store is renewed every few hundred inputs so that
 * what earlier inputs created stays bounded. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiserver/bootstrap.h"
#include "apiserver/rest.h"
#include "store/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RENEW_EVERY 256
#define MAX_INPUT (1u << 16)

static struct store *store;
static unsigned uses;

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1714557600000000000LL;
}

static struct store *fresh_store(void)
{
    if (store && ++uses < RENEW_EVERY)
        return store;
    store_free(store);
    uses = 0;
    struct mem_store_config cfg = {.now_ns = fixed_now, .seed = 1, .auto_collect = true,
                                   .history = 256};
    if (mem_store_new(&cfg, &store, NULL) != 0 || bootstrap_namespaces(store, NULL) != 0)
        abort();
    return store;
}

/* Splits text into the request line, headers and body (all in place). */
static void parse_input(char *text, size_t len, struct rest_request *req)
{
    char *end = text + len;
    char *nl = memchr(text, '\n', len);
    char *line_end = nl ? nl : end;
    *line_end = '\0';
    char *sp = strchr(text, ' ');
    req->method = sp ? text : "GET";
    req->target = sp ? sp + 1 : text;
    if (sp)
        *sp = '\0';
    char *p = nl ? nl + 1 : end;
    while (p < end && *p != '\n') {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *stop = eol ? eol : end;
        *stop = '\0';
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            const char *v = colon + 1 + (colon[1] == ' ');
            if (strcasecmp(p, "content-type") == 0)
                req->content_type = v;
            else if (strcasecmp(p, "accept") == 0)
                req->accept = v;
            else if (strcasecmp(p, "authorization") == 0)
                req->authorization = v;
        }
        p = stop + 1;
    }
    if (p < end) {
        req->body = p + 1;
        req->body_len = (size_t)(end - p - 1);
    }
}

static void check_answer(const struct rest_response *r)
{
    if (r->status < 200 || r->status > 599 || !r->content_type)
        abort();
    if (r->stream || r->status < 400)
        return;
    json_t *st = json_loadb(r->body, r->len, 0, NULL);
    const char *kind = json_string_value(json_object_get(st, "kind"));
    if (!kind || strcmp(kind, "Status") != 0 ||
        json_integer_value(json_object_get(st, "code")) != r->status)
        abort();
    json_decref(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *text = malloc(size + 2);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = text[size + 1] = '\0';
    struct rest_request req = {0};
    parse_input(text, size, &req);
    struct rest_server srv = {.store = fresh_store(), .now_ns = fixed_now, .max_body = 1u << 15,
                              .version = "fuzz"};
    struct rest_response resp;
    rest_handle(&srv, &req, &resp);
    check_answer(&resp);
    if (resp.stream) {
        char buf[4096];
        for (int i = 0; i < 8 && watchstream_read(resp.stream, buf, sizeof buf, 0) > 0; i++)
            ;
    }
    rest_response_release(&resp);
    free(text);
    return 0;
}
