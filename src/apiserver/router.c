/*
 * Path parsing for the REST API (router.h): split into %-decoded segments,
 * then matched against the handful of path shapes the API server has.
 */
#include "apiserver/router.h"

#include <stdbool.h>
#include <string.h>

#include "apiserver/query.h"

/* /apis/G/V/namespaces/NS/PLURAL/NAME/SUB is the longest path served. */
#define ROUTE_MAX_SEGMENTS 8

static int not_found(struct err *e)
{
    return err_set(e, -ENOENT, ROUTE_NOT_FOUND);
}

static bool is_health(const char *s)
{
    return strcmp(s, "healthz") == 0 || strcmp(s, "livez") == 0 || strcmp(s, "readyz") == 0;
}

/* Splits path (which starts with '/') into decoded segments in rt->buf.
 * An empty segment ("//", a trailing '/') names nothing the API has. */
static int split(const char *path, size_t len, struct route *rt, const char **seg, size_t *n,
                 struct err *e)
{
    char *o = rt->buf;
    *n = 0;
    for (size_t i = 1; i < len;) {
        const char *slash = memchr(path + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - path) : len;
        if (end == i || *n == ROUTE_MAX_SEGMENTS)
            return not_found(e);
        size_t dlen;
        if (query_unescape(path + i, end - i, false, o, &dlen) != 0)
            return err_set(e, -EBADMSG, "request path: invalid %%-escape in \"%.*s\"",
                           (int)(end - i), path + i);
        seg[(*n)++] = o;
        o += dlen + 1;
        i = end + 1;
        if (slash && i == len)
            return not_found(e);
    }
    return 0;
}

static int parse_openapi(const char **seg, size_t n, struct route *rt, struct err *e)
{
    if (n < 2 || strcmp(seg[1], "v3") != 0)
        return not_found(e);
    if (n == 2) {
        rt->kind = ROUTE_OPENAPI_INDEX;
        return 0;
    }
    rt->kind = ROUTE_OPENAPI_DOC;
    if (n == 4 && strcmp(seg[2], "api") == 0) {
        rt->group = "";
        rt->version = seg[3];
        return 0;
    }
    if (n == 5 && strcmp(seg[2], "apis") == 0) {
        rt->group = seg[3];
        rt->version = seg[4];
        return 0;
    }
    return not_found(e);
}

/* The part after /api/v1 or /apis/G/V: seg[0..n). */
static int parse_resource(struct api_registry *reg, const char **seg, size_t n,
                          struct route *rt, struct err *e)
{
    if (n == 0) {
        rt->kind = ROUTE_GROUP_VERSION;
        return 0;
    }
    /* namespaces/NS/status names the namespace's own subresource, not a
     * resource called "status" inside it. */
    bool ns_sub = n == 3 && rt->group[0] == '\0' &&
                  (strcmp(seg[2], "status") == 0 || strcmp(seg[2], "finalize") == 0);
    if (strcmp(seg[0], "namespaces") == 0 && n >= 3 && !ns_sub) {
        rt->ns = seg[1];
        seg += 2;
        n -= 2;
    }
    if (n > 3)
        return not_found(e);
    rt->res = api_registry_find(reg, rt->group, rt->version, seg[0]);
    if (!rt->res || (rt->ns && !rt->res->namespaced))
        return not_found(e);
    rt->kind = n == 1 ? ROUTE_COLLECTION : ROUTE_OBJECT;
    rt->name = n >= 2 ? seg[1] : NULL;
    rt->subresource = n == 3 ? seg[2] : NULL;
    return 0;
}

int router_parse(struct api_registry *reg, const char *path, size_t len, struct route *rt,
                 struct err *e)
{
    memset(rt, 0, offsetof(struct route, buf));
    rt->buf[0] = '\0';
    if (len >= ROUTE_PATH_MAX)
        return err_set(e, -EBADMSG, "request path: longer than %d bytes", ROUTE_PATH_MAX - 1);
    if (len == 0 || path[0] != '/')
        return not_found(e);
    const char *seg[ROUTE_MAX_SEGMENTS];
    size_t n;
    int rc = split(path, len, rt, seg, &n, e);
    if (rc != 0)
        return rc;
    if (n == 0) {
        rt->kind = ROUTE_ROOT;
        return 0;
    }
    if (is_health(seg[0])) {
        rt->kind = ROUTE_HEALTH;
        return 0;
    }
    if (strcmp(seg[0], "version") == 0 && n == 1) {
        rt->kind = ROUTE_VERSION;
        return 0;
    }
    if (strcmp(seg[0], "openapi") == 0)
        return parse_openapi(seg, n, rt, e);
    if (strcmp(seg[0], "api") == 0) {
        rt->kind = ROUTE_API;
        if (n == 1)
            return 0;
        rt->group = "";
        rt->version = seg[1];
        return parse_resource(reg, seg + 2, n - 2, rt, e);
    }
    if (strcmp(seg[0], "apis") == 0) {
        rt->kind = n == 1 ? ROUTE_APIS : ROUTE_GROUP;
        if (n >= 2)
            rt->group = seg[1];
        if (n <= 2)
            return 0;
        rt->version = seg[2];
        return parse_resource(reg, seg + 3, n - 3, rt, e);
    }
    return not_found(e);
}
