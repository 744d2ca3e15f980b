/* libFuzzer harness for util/yaml and the cluster-file decoder: any bytes
 * are a YAML stream. An accepted stream must know the position of every
 * member and item it produced (a lost position aborts), and then decode as
 * a cluster file, or be refused, without crashing, leaking or tripping the
 * sanitizers; a decoded cluster takes a few placements. The first line is
 * also tried as a command-line slice request. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/clusterfile.h"
#include "util/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that a slow input is still fast; the defaults are tested
 * by the unit tests. */
static const struct yaml_limits limits = {1u << 16, 32, 1u << 14};

static void walk(const struct yaml_doc *d, const json_t *v)
{
    struct yaml_mark at;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child) {
            if (!yaml_doc_where_member(d, v, key, &at, NULL) || at.line == 0)
                abort();
            walk(d, child);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!yaml_doc_where_item(d, v, i, &at) || at.line == 0)
                abort();
            walk(d, json_array_get(v, i));
        }
    }
    bool shared = json_is_boolean(v) || json_is_null(v); /* jansson singletons */
    if (!shared && !yaml_doc_where(d, v, &at))
        abort();
}

static void place_some(struct clusterfile *cf)
{
    static const char *const requests[] = {"1g.10gb", "3g.40gb@H100-80GB", "2g.12gb,zone=a",
                                           "4g.20gb"};
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        struct clusterfile_request r;
        struct placement_decision dec;
        if (clusterfile_parse_request(requests[i], &r, NULL) == 0 &&
            placement_decide(&cf->cluster, &r.req, PLACEMENT_POLICY_DEFAULT, &dec, NULL) == 0)
            placement_take(&cf->cluster, dec.gpu, dec.profile, dec.start, (uint32_t)i + 1, NULL);
    }
}

static void try_request(const uint8_t *data, size_t size)
{
    char line[CLUSTERFILE_REQUEST_MAX + 8];
    size_t n = 0;
    while (n < size && n < sizeof line - 1 && data[n] != '\n')
        n++;
    memcpy(line, data, n);
    line[n] = '\0';
    struct clusterfile_request r;
    struct err e;
    clusterfile_parse_request(line, &r, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_request(data, size);
    struct yaml_doc *doc;
    struct err e;
    if (yaml_doc_parse("fuzz.yaml", (const char *)data, size, &limits, &doc, &e) < 0)
        return 0;
    for (size_t i = 0; i < yaml_doc_count(doc); i++)
        walk(doc, yaml_doc_root(doc, i));
    struct clusterfile cf;
    if (clusterfile_decode(&cf, doc, &e) == 0) {
        place_some(&cf);
        clusterfile_free(&cf);
    }
    return 0;
}
