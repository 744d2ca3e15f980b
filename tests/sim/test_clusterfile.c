/* Tests for sim/clusterfile: the sample cluster files decode into the
 * placement model, every bad file is refused with FILE:LINE:COL, and
 * command-line requests parse or are refused with a reason. The samples
 * folder is argv[1]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/clusterfile.h"

static const char *samples_dir;

static int decode_text(const char *text, struct clusterfile *cf, struct err *e)
{
    struct yaml_doc *doc;
    int rc = yaml_doc_parse("c.yaml", text, strlen(text), NULL, &doc, e);
    return rc < 0 ? rc : clusterfile_decode(cf, doc, e);
}

/* Decodes text, which must fail with -EINVAL and exactly the message want. */
static void assert_refused(const char *text, const char *want)
{
    struct clusterfile cf;
    struct err e;
    err_clear(&e);
    assert_int_equal(decode_text(text, &cf, &e), -EINVAL);
    assert_string_equal(e.msg, want);
    assert_null(cf.doc);
    assert_null(cf.gpus);
}

static void load_sample(const char *name, struct clusterfile *cf)
{
    char path[512];
    struct err e;
    snprintf(path, sizeof path, "%s/%s", samples_dir, name);
    if (clusterfile_load(cf, path, &e) < 0)
        fail_msg("%s", e.msg);
}

static void sample_cluster_decodes(void **state)
{
    (void)state;
    struct clusterfile cf;
    load_sample("cluster.yaml", &cf);
    assert_int_equal(cf.n_nodes, 3);
    assert_int_equal(cf.n_gpus, 5);
    assert_string_equal(cf.nodes[0].name, "node-a");
    assert_int_equal(cf.nodes[0].n_labels, 2);
    assert_string_equal(cf.nodes[0].labels[1].key, "pool");
    assert_string_equal(cf.nodes[0].labels[1].value, "training");
    /* A product name resolves to the catalogue's model. */
    assert_ptr_equal(cf.gpus[1].occ.model, catalog_find_model("A100-40GB"));
    assert_false(cf.gpus[0].held_back);
    assert_true(cf.gpus[1].held_back);
    /* node-b's first H100 runs a 3g.40gb at memory slices 4-7. */
    assert_int_equal(cf.gpus[2].node, 1);
    assert_int_equal(cf.gpus[2].occ.memory_mask, 0xf0);
    assert_int_equal(cf.gpus[2].occ.n_slices, 1);
    assert_int_equal(cf.gpus[3].occ.memory_mask, 0);
    assert_int_equal(cf.gpus[2].allowed, PLACEMENT_ALL_PROFILES);
    /* node-c's A30 allows 1g.6gb and 2g.12gb only (profiles 0 and 2). */
    assert_int_equal(cf.gpus[4].allowed, (1u << 0) | (1u << 2));
    assert_int_equal(cf.cluster.n_gpus, 5);
    clusterfile_free(&cf);
    assert_null(cf.doc);
    clusterfile_free(&cf);
    clusterfile_free(NULL);
}

static void other_samples_decode(void **state)
{
    (void)state;
    struct clusterfile cf;
    load_sample("dgx-h100.yaml", &cf);
    assert_int_equal(cf.n_nodes, 2);
    assert_int_equal(cf.n_gpus, 16);
    assert_int_equal(cf.gpus[0].occ.memory_mask, 0xff);
    assert_int_equal(cf.gpus[8].occ.n_slices, 4);
    assert_int_equal(cf.gpus[8].node, 1);
    clusterfile_free(&cf);
    load_sample("inference-pool.yaml", &cf);
    assert_int_equal(cf.n_nodes, 3);
    assert_int_equal(cf.n_gpus, 4);
    assert_int_equal(cf.nodes[2].n_labels, 1);
    assert_int_equal(cf.gpus[0].occ.memory_mask, 0x0c);
    clusterfile_free(&cf);
    load_sample("cluster-apart.yaml", &cf); /* gpuslice cluster -f's: no slices */
    assert_int_equal(cf.n_nodes, 2);
    assert_int_equal(cf.n_gpus, 2);
    assert_int_equal(cf.gpus[0].occ.n_slices + cf.gpus[1].occ.n_slices, 0);
    clusterfile_free(&cf);    load_sample("sharing.yaml", &cf);
    assert_int_equal(cf.n_gpus, 1);
    assert_int_equal(cf.n_shares, 3);
    assert_int_equal(cf.n_whole, 1);
    clusterfile_free(&cf);
}

static void nulls_count_as_absent(void **state)
{
    (void)state;
    struct clusterfile cf;
    struct err e;
    assert_int_equal(decode_text("nodes:\n- name: n\n  labels:\n  gpus:\n  - model: A30-24GB\n"
                                 "    slices:\n    heldBack:\n",
                                 &cf, &e),
                     0);
    assert_int_equal(cf.n_gpus, 1);
    assert_int_equal(cf.nodes[0].n_labels, 0);
    assert_false(cf.gpus[0].held_back);
    clusterfile_free(&cf);
    /* An empty allow list allows nothing. */
    assert_int_equal(decode_text("nodes: [{name: n, gpus: [{model: A30-24GB, allowedProfiles: []}]}]",
                                 &cf, &e),
                     0);
    assert_int_equal(cf.gpus[0].allowed, 0);
    clusterfile_free(&cf);
}

/* mode: mig-static makes the GPU's slices its layout (fixed); mig is the
 * default; any other mode is refused where it is written. */
static void modes_decode(void **state)
{
    (void)state;
    struct clusterfile cf;
    load_sample("mig-static.yaml", &cf);
    assert_int_equal(cf.n_gpus, 1);
    assert_true(cf.gpus[0].fixed);
    assert_int_equal(cf.gpus[0].occ.n_slices, 4);
    assert_int_equal(cf.cluster.n_fixed, 1);
    clusterfile_free(&cf);
    struct err e;
    assert_int_equal(decode_text("nodes: [{name: n, gpus: [{model: A30-24GB, mode: mig}]}]",
                                 &cf, &e), 0);
    assert_false(cf.gpus[0].fixed);
    clusterfile_free(&cf);
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n    mode: static\n",
                   "c.yaml:5:11: unknown mode \"static\" (known: mig, mig-static, mps, "
                   "timeslice, whole)");
}

/* GPUs shared whole (MIG off): a catalogued model or any product with
 * memoryMiB in mode mps, timeslice with its replicas, whole in neither
 * array; each keeps its position among its node's GPUs, and every one of
 * them is in plain, as the emulated clusters lay it out. */
static void shared_gpus_decode(void **state)
{
    (void)state;
    struct clusterfile cf;
    struct err e;
    assert_int_equal(decode_text("nodes: [{name: n, gpus: [{model: H100-80GB},"
                                 " {model: NVIDIA L4, mode: mps, memoryMiB: 23034},"
                                 " {model: A100-80GB, mode: mps, heldBack: true},"
                                 " {model: NVIDIA A10, mode: timeslice, replicas: 3},"
                                 " {model: H100-80GB, mode: whole}]}]", &cf, &e), 0);
    assert_int_equal(cf.n_gpus, 1);
    assert_int_equal(cf.n_shares, 3);
    assert_int_equal(cf.n_whole, 1);
    assert_int_equal(cf.shares[0].mode, SHARE_MPS);
    assert_int_equal(cf.shares[0].capacity_gib, 21);
    assert_string_equal(cf.share_model[0], "NVIDIA L4");
    assert_int_equal(cf.share_pos[0], 1);
    assert_int_equal(cf.shares[1].capacity_gib, 79);
    assert_true(cf.shares[1].held_back);
    assert_string_equal(cf.share_model[1], "A100-80GB");
    assert_int_equal(cf.shares[2].mode, SHARE_TIMESLICE);
    assert_int_equal(cf.shares[2].slots, 3);
    assert_int_equal(cf.share_pos[2], 3);
    assert_int_equal(cf.n_plain, 4);
    assert_string_equal(cf.plain[0].model, "NVIDIA L4");
    assert_false(cf.plain[0].catalogued);
    assert_int_equal(cf.plain[0].memory_mib, 23034);
    assert_true(cf.plain[1].catalogued);
    assert_true(cf.plain[1].held_back);
    assert_int_equal(cf.plain[2].replicas, 3);
    assert_int_equal(cf.plain[3].mode, GPUNODE_MODE_WHOLE);
    assert_int_equal(cf.plain[3].pos, 4);
    clusterfile_free(&cf);
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: NVIDIA L4\n    mode: mps\n",
                   "c.yaml:4:12: an mps GPU of a model the catalogue lacks needs memoryMiB (as "
                   "nvidia-smi shows it)");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n    mode: mps\n"
                   "    replicas: 2\n",
                   "c.yaml:6:15: replicas is for a GPU in mode timeslice, 1 to 48");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n    mode: timeslice\n"
                   "    slices: []\n",
                   "c.yaml:6:5: slices is for a GPU in mode mig or mig-static, not timeslice");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n    memoryMiB: 24000\n",
                   "c.yaml:5:5: memoryMiB is for a GPU in mode mps or timeslice, not mig");
}

/* An entry with `count` stands for that many alike nodes, named in order
 * and each with GPUs and labels of its own. */
static void counted_nodes_expand(void **state)
{
    (void)state;
    struct clusterfile cf;
    struct err e;
    assert_int_equal(decode_text("nodes:\n- {name: one, gpus: [{model: A30-24GB}]}\n"
                                 "- name: gpu\n  count: 12\n  labels: {zone: b}\n"
                                 "  gpus: [{model: H100-80GB}, {model: A100-40GB}]\n",
                                 &cf, &e), 0);
    assert_int_equal(cf.n_nodes, 13);
    assert_int_equal(cf.n_gpus, 25);
    assert_string_equal(cf.nodes[0].name, "one");
    assert_string_equal(cf.nodes[1].name, "gpu-00");
    assert_string_equal(cf.nodes[12].name, "gpu-11");
    assert_int_equal(cf.nodes[12].n_labels, 1);
    assert_string_equal(cf.nodes[12].labels[0].value, "b");
    assert_int_equal(cf.gpus[24].node, 12);
    assert_string_equal(cf.gpus[24].occ.model->name, "A100-40GB");
    clusterfile_free(&cf);
    assert_refused("nodes:\n- {name: a, count: 0, gpus: []}\n",
                   "c.yaml:2:20: count must be 1 to 100000, not 0");
    assert_refused("nodes:\n- {name: a, count: 2, gpus: []}\n- {name: a-1, gpus: []}\n",
                   "c.yaml:3:10: duplicate node name \"a-1\" (first at 2:10)");
}

static void bad_documents_are_refused(void **state)
{
    (void)state;
    assert_refused("", "c.yaml: a cluster file holds one YAML document, not 0");
    assert_refused("nodes: []\n---\nnodes: []\n",
                   "c.yaml:3:1: a cluster file holds one YAML document, not 2");
    assert_refused("- a\n", "c.yaml:1:1: a cluster file is a mapping with \"nodes\", not a sequence");
    assert_refused("true\n", "c.yaml: a cluster file is a mapping with \"nodes\", not a boolean");
    assert_refused("nodes: []\nnode: []\n",
                   "c.yaml:2:1: unknown field \"node\" in a cluster file (known: nodes)");
    assert_refused("kind: x\n", "c.yaml:1:1: unknown field \"kind\" in a cluster file (known: nodes)");
    assert_refused("nodes:\n", "c.yaml:1:7: a cluster file needs \"nodes\"");
    assert_refused("nodes: {a: 1}\n", "c.yaml:1:8: \"nodes\" must be a sequence, not a mapping");
    assert_refused("nodes: [\n", "c.yaml:2:1: did not find expected node content "
                                 "(while parsing a flow node that started at 2:1)");
}

static void bad_nodes_are_refused(void **state)
{
    (void)state;
    assert_refused("nodes:\n  - just-a-name\n",
                   "c.yaml:2:5: a node must be a mapping, not a string");
    assert_refused("nodes:\n  - gpus: []\n", "c.yaml:2:5: a node needs \"name\"");
    assert_refused("nodes:\n  - name: 12\n    gpus: []\n",
                   "c.yaml:2:11: \"name\" must be a string, not an integer");
    assert_refused("nodes:\n  - name: a\n", "c.yaml:2:5: a node needs \"gpus\"");
    assert_refused("nodes:\n  - name: \"\"\n    gpus: []\n",
                   "c.yaml:2:11: a node name must not be empty");
    /* issue 19: a node name must be a Kubernetes node name, since it
     * becomes one (a 100,000-character name was taken). */
    char *text = malloc(100100), *want = malloc(200);
    int at = snprintf(text, 100100, "nodes:\n  - name: ");
    memset(text + at, 'a', 100000);
    snprintf(text + at + 100000, 100, "\n    gpus: []\n");
    snprintf(want, 200, "c.yaml:2:11: a node name must be a DNS-1123 subdomain of at most 253 "
             "characters, not %d", 100000);
    assert_refused(text, want);
    free(text);
    free(want);
    assert_refused("nodes:\n  - name: Node_A\n    gpus: []\n",
                   "c.yaml:2:11: name: Invalid value: \"Node_A\": a lowercase RFC 1123 "
                   "subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'example.com')");
    assert_refused("nodes:\n  - name: a\n    gpus: []\n  - name: a\n    gpus: []\n",
                   "c.yaml:4:11: duplicate node name \"a\" (first at 2:11)");
    assert_refused("nodes:\n  - name: a\n    gpus: []\n    lables: {}\n",
                   "c.yaml:4:5: unknown field \"lables\" in a node (known: name, count, labels, gpus)");
    assert_refused("nodes:\n  - name: a\n    labels: {zone: 1}\n    gpus: []\n",
                   "c.yaml:3:20: label \"zone\" must be a string, not an integer (quote it)");
    assert_refused("nodes:\n  - name: a\n    labels: {\"\": x}\n    gpus: []\n",
                   "c.yaml:3:14: a label key must not be empty");
    assert_refused("nodes:\n  - name: a\n    labels: [zone]\n    gpus: []\n",
                   "c.yaml:3:13: \"labels\" must be a mapping, not a sequence");
}

static void bad_gpus_are_refused(void **state)
{
    (void)state;
    assert_refused("nodes:\n- name: a\n  gpus: [H100-80GB]\n",
                   "c.yaml:3:10: a GPU must be a mapping, not a string");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - heldBack: true\n",
                   "c.yaml:4:5: a GPU needs \"model\"");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: X100\n",
                   "c.yaml:4:12: unknown GPU model \"X100\" (known: A30-24GB, A100-40GB, "
                   "A100-80GB, H100-80GB, H100-94GB, H100-96GB, H200-141GB, B200-180GB)");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: [H100-80GB]\n",
                   "c.yaml:4:12: \"model\" must be a string, not a sequence");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: H100-80GB\n    heldBack: yes\n",
                   "c.yaml:5:15: \"heldBack\" must be a boolean, not a string");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: H100-80GB\n    mig: true\n",
                   "c.yaml:5:5: unknown field \"mig\" in a GPU "
                   "(known: model, heldBack, allowedProfiles, mode, slices, memoryMiB, replicas)");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n"
                   "    allowedProfiles: [1g.6gb, 3g.40gb]\n",
                   "c.yaml:5:31: A30-24GB has no profile \"3g.40gb\" "
                   "(its profiles: 1g.6gb, 1g.6gb+me, 2g.12gb, 2g.12gb+me, 4g.24gb)");
    assert_refused("nodes:\n- name: a\n  gpus:\n  - model: A30-24GB\n"
                   "    allowedProfiles: [1g.6gb, 2]\n",
                   "c.yaml:5:31: a profile must be a string, not an integer");
}

static void bad_slices_are_refused(void **state)
{
    (void)state;
    const char *head = "nodes:\n- name: a\n  gpus:\n  - model: H100-80GB\n    slices:\n";
    static const struct {
        const char *slices;
        const char *want;
    } cases[] = {
        {"    - 3g.40gb\n", "c.yaml:6:7: a slice must be a mapping, not a string"},
        {"    - {profile: 3g.40gb}\n", "c.yaml:6:7: a slice needs \"start\""},
        {"    - {start: 0}\n", "c.yaml:6:7: a slice needs \"profile\""},
        {"    - {profile: 3g.40gb, start: \"0\"}\n",
         "c.yaml:6:33: \"start\" must be an integer, not a string"},
        {"    - {profile: 3g.40gb, start: 0, owner: x}\n",
         "c.yaml:6:36: unknown field \"owner\" in a slice (known: profile, start)"},
        {"    - {profile: 3g.20gb, start: 0}\n",
         "c.yaml:6:17: H100-80GB has no profile \"3g.20gb\" (its profiles: 1g.10gb, 1g.10gb+me, "
         "1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb)"},
        {"    - {profile: 3g.40gb, start: -1}\n",
         "c.yaml:6:33: start -1 is not a memory slice of H100-80GB (0-7)"},
        {"    - {profile: 3g.40gb, start: 8}\n",
         "c.yaml:6:33: start 8 is not a memory slice of H100-80GB (0-7)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", head, cases[i].slices);
        assert_refused(text, cases[i].want);
    }
}

/* Occupancy rules refuse slices that cannot coexist; the message is the
 * occupancy module's, placed at the slice. */
static void impossible_slices_are_refused_at_the_slice(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "    - {profile: 3g.40gb, start: 2}\n",                                   /* illegal */
        "    - {profile: 4g.40gb, start: 0}\n    - {profile: 2g.20gb, start: 2}\n", /* overlap */
        "    - {profile: 1g.10gb+me, start: 0}\n    - {profile: 1g.10gb+me, start: 1}\n",
    };
    static const char *const where[] = {"c.yaml:6:7: ", "c.yaml:7:7: ", "c.yaml:7:7: "};
    static const char *const naming[] = {"3g.40gb", "2g.20gb", "1g.10gb+me"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "nodes:\n- name: a\n  gpus:\n  - model: H100-80GB\n"
                 "    slices:\n%s", bodies[i]);
        struct clusterfile cf;
        struct err e;
        assert_int_equal(decode_text(text, &cf, &e), -EINVAL);
        assert_memory_equal(e.msg, where[i], strlen(where[i]));
        assert_non_null(strstr(e.msg + strlen(where[i]), naming[i]));
    }
}

static void missing_files_are_reported(void **state)
{
    (void)state;
    struct clusterfile cf;
    struct err e;
    assert_int_equal(clusterfile_load(&cf, "/nonexistent/c.yaml", &e), -ENOENT);
    assert_string_equal(e.msg, "/nonexistent/c.yaml: No such file or directory");
    assert_null(cf.doc);
}

static void model_names_are_listed_and_cut(void **state)
{
    (void)state;
    char buf[64];
    clusterfile_model_names(buf, sizeof buf);
    assert_memory_equal(buf, "A30-24GB, A100-40GB, A100-80GB, ", 32);
    assert_int_equal(strlen(buf), sizeof buf - 1);
    char tiny[1] = {'x'};
    clusterfile_model_names(tiny, 0);
    assert_int_equal(tiny[0], 'x');
}

/* A cluster held inside another document (a scenario's `cluster:`):
 * decoded from its node, errors placed in the outer file, the document
 * left to its owner. */
static void a_cluster_decodes_from_a_node(void **state)
{
    (void)state;
    const char *text = "cluster:\n  nodes:\n    - name: n1\n      gpus: [{model: A100-40GB}]\n"
                       "other:\n  nodes:\n    - name: n2\n      gpus: [{model: Z}]\n";
    struct yaml_doc *doc = NULL;
    struct err e = {0};
    assert_int_equal(yaml_doc_parse("s.yaml", text, strlen(text), NULL, &doc, &e), 0);
    json_t *root = yaml_doc_root(doc, 0);
    struct clusterfile cf;
    assert_int_equal(clusterfile_decode_at(&cf, doc, json_object_get(root, "cluster"), &e), 0);
    assert_int_equal(cf.cluster.n_gpus, 1);
    assert_null(cf.doc);
    clusterfile_free(&cf);
    assert_int_equal(clusterfile_decode_at(&cf, doc, json_object_get(root, "other"), &e), -EINVAL);
    assert_non_null(strstr(e.msg, "s.yaml:8:"));
    assert_int_equal(clusterfile_decode_at(&cf, doc, root, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown field \"cluster\""));
    yaml_doc_free(doc);
}

static void requests_parse(void **state)
{
    (void)state;
    struct clusterfile_request r;
    struct err e;
    assert_int_equal(clusterfile_parse_request("3g.40gb", &r, &e), 0);
    assert_string_equal(r.req.profile, "3g.40gb");
    assert_null(r.req.models);
    assert_int_equal(r.req.n_models, 0);
    assert_null(r.req.selector);
    assert_int_equal(clusterfile_parse_request("1g.10gb@A100-80GB/NVIDIA H100 80GB HBM3,zone=a,gpu=",
                                               &r, &e),
                     0);
    assert_string_equal(r.req.profile, "1g.10gb");
    assert_int_equal(r.req.n_models, 2);
    assert_ptr_equal(r.req.models[0], catalog_find_model("A100-80GB"));
    assert_ptr_equal(r.req.models[1], catalog_find_model("H100-80GB"));
    assert_int_equal(r.req.n_selector, 2);
    assert_string_equal(r.req.selector[0].key, "zone");
    assert_string_equal(r.req.selector[0].value, "a");
    assert_string_equal(r.req.selector[1].key, "gpu");
    assert_string_equal(r.req.selector[1].value, "");
    assert_int_equal(clusterfile_parse_request("nvidia.com/mig-2g.20gb,pool=x", &r, &e), 0);
    assert_string_equal(r.req.profile, "nvidia.com/mig-2g.20gb");
    assert_int_equal(r.share.mode, 0);
    /* Shares: mps:GIB[:SM] and timeslice, with selector terms. */
    assert_int_equal(clusterfile_parse_request("mps:8:30,zone=a", &r, &e), 0);
    assert_int_equal(r.share.mode, SHARE_MPS);
    assert_int_equal(r.share.memory_gib, 8);
    assert_int_equal(r.share.sm_percent, 30);
    assert_int_equal(r.share.where.n_selector, 1);
    assert_string_equal(r.share.where.selector[0].value, "a");
    assert_int_equal(clusterfile_parse_request("mps:12", &r, &e), 0);
    assert_int_equal(r.share.sm_percent, 0);
    assert_int_equal(clusterfile_parse_request("timeslice", &r, &e), 0);
    assert_int_equal(r.share.mode, SHARE_TIMESLICE);
    static const char *const bad[] = {"mps:", "mps:0", "mps:8:", "mps:8:0", "mps:8:101",
                                      "mps:8x", "mps:8@A30-24GB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(clusterfile_parse_request(bad[i], &r, &e), -EINVAL);
}

static void bad_requests_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        const char *want;
    } cases[] = {
        {"", "request \"\" names no profile (PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...])"},
        {"@H100-80GB", "request \"@H100-80GB\" names no profile "
                       "(PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...])"},
        {"9g.1gb", "request \"9g.1gb\": no GPU model has profile \"9g.1gb\""},
        {"1g.5gb@H100-80GB", "request \"1g.5gb@H100-80GB\": no accepted GPU model has profile "
                             "\"1g.5gb\""},
        {"1g.10gb@", "request \"1g.10gb@\": empty model name"},
        {"1g.10gb@A100-80GB//H100-80GB", "request \"1g.10gb@A100-80GB//H100-80GB\": empty model name"},
        {"1g.10gb@X1", "request \"1g.10gb@X1\": unknown GPU model \"X1\" (known: A30-24GB, "
                       "A100-40GB, A100-80GB, H100-80GB, H100-94GB, H100-96GB, H200-141GB, "
                       "B200-180GB)"},
        {"1g.10gb,zone", "request \"1g.10gb,zone\": selector term \"zone\" is not KEY=VALUE"},
        {"1g.10gb,=a", "request \"1g.10gb,=a\": selector term \"=a\" is not KEY=VALUE"},
        {"1g.10gb,", "request \"1g.10gb,\": selector term \"\" is not KEY=VALUE"},
        {"1g.10gb,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9",
         "request \"1g.10gb,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9\": more than 8 selector terms"},
        {"1g.10gb@A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB",
         "request \"1g.10gb@A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/A30-24GB/"
         "A30-24GB/A30-24GB\": more than 8 models"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct clusterfile_request r;
        struct err e;
        err_clear(&e);
        assert_int_equal(clusterfile_parse_request(cases[i].arg, &r, &e), -EINVAL);
        assert_string_equal(e.msg, cases[i].want);
    }
    char longer[CLUSTERFILE_REQUEST_MAX + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    struct clusterfile_request r;
    struct err e;
    assert_int_equal(clusterfile_parse_request(longer, &r, &e), -EINVAL);
    assert_string_equal(e.msg, "request longer than 128 characters");
    assert_int_equal(clusterfile_parse_request(longer + 1, &r, NULL), -EINVAL);
}

int main(int argc, char **argv)
{
    samples_dir = argc > 1 ? argv[1] : "samples";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_cluster_decodes),
        cmocka_unit_test(other_samples_decode),
        cmocka_unit_test(nulls_count_as_absent),
        cmocka_unit_test(modes_decode),
        cmocka_unit_test(shared_gpus_decode),
        cmocka_unit_test(counted_nodes_expand),
        cmocka_unit_test(bad_documents_are_refused),
        cmocka_unit_test(bad_nodes_are_refused),
        cmocka_unit_test(bad_gpus_are_refused),
        cmocka_unit_test(bad_slices_are_refused),
        cmocka_unit_test(impossible_slices_are_refused_at_the_slice),
        cmocka_unit_test(missing_files_are_reported),
        cmocka_unit_test(model_names_are_listed_and_cut),
        cmocka_unit_test(requests_parse),
        cmocka_unit_test(a_cluster_decodes_from_a_node),
        cmocka_unit_test(bad_requests_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
