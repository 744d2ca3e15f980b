/*
 * Tests for core/catalog: the look-ups, the tables' self-consistency for
 * every model, the documented derivations of provisional numbers, and the
 * H100-80GB entry against the readout of a real H100 (path in argv[1]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/catalog.h"

static const char *readout_path;

static const struct gpu_model *model(const char *name)
{
    const struct gpu_model *m = catalog_find_model(name);
    assert_non_null(m);
    return m;
}

static const struct mig_profile *profile(const char *model_name, const char *name)
{
    const struct mig_profile *p = catalog_find_profile(model(model_name), name);
    assert_non_null(p);
    return p;
}

static void models_are_listed_in_a_stable_order(void **state)
{
    (void)state;
    static const char *const expected[] = {"A30-24GB",  "A100-40GB", "A100-80GB",  "H100-80GB",
                                           "H100-94GB", "H100-96GB", "H200-141GB", "B200-180GB"};
    assert_int_equal(catalog_model_count(), sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < catalog_model_count(); i++)
        assert_string_equal(catalog_model(i)->name, expected[i]);
    assert_null(catalog_model(catalog_model_count()));
    assert_null(catalog_model((size_t)-1));
}

static void find_model_by_catalogue_or_product_name(void **state)
{
    (void)state;
    assert_ptr_equal(catalog_find_model("H100-80GB"), catalog_model(3));
    assert_ptr_equal(catalog_find_model("h100-80gb"), catalog_model(3));
    assert_ptr_equal(catalog_find_model("NVIDIA H100 80GB HBM3"), catalog_model(3));
    assert_ptr_equal(catalog_find_model("nvidia a100-sxm4-40gb"), catalog_model(1));
    assert_ptr_equal(catalog_find_model("NVIDIA A100-PCIE-40GB"), catalog_model(1));
    assert_ptr_equal(catalog_find_model("NVIDIA A100-SXM4-80GB"), catalog_model(2));
    assert_ptr_equal(catalog_find_model("NVIDIA A30"), catalog_model(0));
    assert_ptr_equal(catalog_find_model("NVIDIA H100 NVL"), catalog_model(4));
    assert_ptr_equal(catalog_find_model("NVIDIA H200"), catalog_model(6));
    assert_ptr_equal(catalog_find_model("NVIDIA B200"), catalog_model(7));
    assert_null(catalog_find_model("H100"));
    assert_null(catalog_find_model("NVIDIA H100 80GB HBM3 "));
    assert_null(catalog_find_model(""));
    assert_null(catalog_find_model(NULL));
}

static void find_profile_by_name_alias_or_resource_name(void **state)
{
    (void)state;
    const struct gpu_model *h100 = model("H100-80GB");
    const struct mig_profile *p = &h100->profiles[0];
    assert_string_equal(p->name, "1g.10gb");
    assert_ptr_equal(catalog_find_profile(h100, "1g.10gb"), p);
    assert_ptr_equal(catalog_find_profile(h100, "1G.10GB"), p);
    assert_ptr_equal(catalog_find_profile(h100, "mig-1g.10gb"), p);
    assert_ptr_equal(catalog_find_profile(h100, "nvidia.com/mig-1g.10gb"), p);
    assert_ptr_equal(catalog_find_profile(h100, "NVIDIA.COM/MIG-1g.10gb"), p);
    assert_ptr_equal(catalog_find_profile(h100, "nvidia.com/mig-1g.10gb+me"), &h100->profiles[1]);
    assert_ptr_equal(catalog_find_profile(model("A100-80GB"), "mig-7g.79gb"),
                     profile("A100-80GB", "7g.80gb"));
    assert_ptr_equal(catalog_find_profile(model("A100-80GB"), "3g.39gb"),
                     profile("A100-80GB", "3g.40gb"));
    /* Only the two resource-name prefixes are stripped, and only once. */
    assert_null(catalog_find_profile(h100, "nvidia.com/1g.10gb"));
    assert_null(catalog_find_profile(h100, "mig-mig-1g.10gb"));
    assert_null(catalog_find_profile(h100, "mig-"));
    assert_null(catalog_find_profile(h100, "1g.10gb+"));
    assert_null(catalog_find_profile(h100, "1g.5gb"));
    assert_null(catalog_find_profile(h100, ""));
    assert_null(catalog_find_profile(h100, NULL));
    assert_null(catalog_find_profile(NULL, "1g.10gb"));
    /* The GiB of a name across models reads names as the lookup does. */
    unsigned gib = 0;
    assert_int_equal(catalog_name_gib("NVIDIA.COM/MIG-3G.40GB", &gib), 0);
    assert_int_equal(gib, 40);
    assert_int_equal(catalog_name_gib("mig-mig-1g.10gb", &gib), -ENOENT);
    assert_int_equal(catalog_name_gib("", &gib), -ENOENT);
    assert_int_equal(catalog_name_gib(NULL, &gib), -ENOENT);
}

static void profile_index_only_for_the_models_own_profiles(void **state)
{
    (void)state;
    const struct gpu_model *h100 = model("H100-80GB");
    for (size_t i = 0; i < h100->n_profiles; i++)
        assert_int_equal(catalog_profile_index(h100, &h100->profiles[i], NULL), (int)i);

    struct err e;
    err_clear(&e);
    const struct mig_profile *foreign = profile("A100-40GB", "1g.5gb");
    assert_int_equal(catalog_profile_index(h100, foreign, &e), -EINVAL);
    assert_string_equal(e.msg, "profile 1g.5gb is not one of H100-80GB's profiles");

    /* Same contents, another address: still not the model's profile. */
    struct mig_profile copy = h100->profiles[2];
    assert_int_equal(catalog_profile_index(h100, &copy, &e), -EINVAL);
    assert_string_equal(e.msg, "profile 1g.20gb is not one of H100-80GB's profiles");

    assert_int_equal(catalog_profile_index(h100, NULL, &e), -EINVAL);
    assert_string_equal(e.msg, "no profile given for H100-80GB");
    assert_int_equal(catalog_profile_index(NULL, foreign, &e), -EINVAL);
    assert_string_equal(e.msg, "no GPU model given");
}

static void placement_mask_covers_the_placement(void **state)
{
    (void)state;
    assert_int_equal(mig_placement_mask((struct mig_placement){0, 1}), 0x01);
    assert_int_equal(mig_placement_mask((struct mig_placement){6, 2}), 0xc0);
    assert_int_equal(mig_placement_mask((struct mig_placement){4, 4}), 0xf0);
    assert_int_equal(mig_placement_mask((struct mig_placement){0, 8}), 0xff);
}

static void check_placements(const struct gpu_model *m, const struct mig_profile *p)
{
    assert_in_range(p->n_placements, 1, MIG_MAX_PLACEMENTS);
    for (unsigned k = 0; k < p->n_placements; k++) {
        const struct mig_placement pl = p->placements[k];
        assert_int_equal(pl.size, p->memory_slices);
        assert_true(pl.start + pl.size <= m->memory_slices);
        if (k > 0)
            assert_true(pl.start > p->placements[k - 1].start);
    }
}

/* "1g.10gb": the leading digit is the compute slices, "+me" the flag. */
static void check_name_matches_numbers(const struct mig_profile *p)
{
    char expect[8];
    snprintf(expect, sizeof expect, "%ug.", (unsigned)p->compute_slices);
    assert_memory_equal(p->name, expect, strlen(expect));
    size_t len = strlen(p->name);
    bool me = len > 3 && strcmp(p->name + len - 3, "+me") == 0;
    assert_int_equal(me, p->media_extended);
}

static void check_profile(const struct gpu_model *m, size_t i)
{
    const struct mig_profile *p = &m->profiles[i];
    assert_in_range(p->memory_slices, 1, m->memory_slices);
    assert_in_range(p->compute_slices, 1, m->compute_slices);
    assert_in_range(p->max_instances, 1, p->n_placements);
    assert_true(p->sm_count > 0);
    assert_true(p->memory_mib > 0 && p->memory_mib <= m->memory_mib);
    /* NVML's MiB come in 128 MiB steps on 8-slice GPUs, 64 on A30. */
    assert_int_equal(p->memory_mib % (m->memory_slices == 8 ? 128 : 64), 0);
    check_name_matches_numbers(p);
    check_placements(m, p);
    if (i > 0) { /* the -lgip order: by compute slices, then memory slices */
        const struct mig_profile *prev = &m->profiles[i - 1];
        assert_true(prev->compute_slices < p->compute_slices ||
                    (prev->compute_slices == p->compute_slices &&
                     prev->memory_slices <= p->memory_slices));
    }
    for (size_t j = 0; j < i; j++) {
        assert_int_not_equal(m->profiles[j].nvml_id, p->nvml_id);
        assert_int_not_equal(m->profiles[j].nvml_index, p->nvml_index);
    }
    assert_ptr_equal(catalog_find_profile(m, p->name), p);
    for (size_t a = 0; a < CATALOG_MAX_ALIASES && p->aliases[a]; a++)
        assert_ptr_equal(catalog_find_profile(m, p->aliases[a]), p);
}

/* The GB in "H100-80GB", for the nominal-capacity rule. */
static unsigned name_gb(const char *name)
{
    const char *dash = strchr(name, '-');
    assert_non_null(dash);
    return (unsigned)strtoul(dash + 1, NULL, 10);
}

static void every_model_is_self_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        assert_true(m->memory_slices == 8 || m->memory_slices == 4);
        assert_true(m->memory_slices <= MIG_MAX_MEMORY_SLICES);
        assert_int_equal(m->compute_slices, m->memory_slices == 8 ? 7 : 4);
        assert_int_equal(m->memory_mib, name_gb(m->name) * 1024u);
        assert_in_range(m->n_profiles, 1, CATALOG_MAX_PROFILES);
        assert_non_null(m->product_names[0]);
        for (const char *const *pn = m->product_names; *pn; pn++)
            assert_ptr_equal(catalog_find_model(*pn), m);
        assert_ptr_equal(catalog_find_model(m->name), m);
        for (size_t j = 0; j < m->n_profiles; j++)
            check_profile(m, j);
        /* Every model has exactly one profile taking the whole GPU. */
        const struct mig_profile *whole = &m->profiles[m->n_profiles - 1];
        assert_int_equal(whole->memory_slices, m->memory_slices);
        assert_int_equal(whole->compute_slices, m->compute_slices);
    }
}

/* No spelling (name or alias) answers for two profiles of one model. */
static void names_and_aliases_are_unique_per_model(void **state)
{
    (void)state;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        const char *seen[CATALOG_MAX_PROFILES * (1 + CATALOG_MAX_ALIASES)];
        size_t n = 0;
        for (size_t j = 0; j < m->n_profiles; j++) {
            const struct mig_profile *p = &m->profiles[j];
            seen[n++] = p->name;
            for (size_t a = 0; a < CATALOG_MAX_ALIASES && p->aliases[a]; a++)
                seen[n++] = p->aliases[a];
        }
        for (size_t a = 0; a < n; a++)
            for (size_t b = a + 1; b < n; b++)
                assert_string_not_equal(seen[a], seen[b]);
    }
}

/* The rules catalog.c documents for numbers no readout gives. */
static unsigned rule_sibling(unsigned sibling_mib, unsigned gb, unsigned sibling_gb)
{
    return (unsigned)((unsigned long)sibling_mib * gb / sibling_gb / 128 * 128);
}

static void derived_numbers_follow_the_documented_rules(void **state)
{
    (void)state;
    const struct gpu_model *nvl = model("H100-94GB"), *gh200 = model("H100-96GB");
    assert_int_equal(nvl->n_profiles, gh200->n_profiles);
    for (size_t i = 0; i < gh200->n_profiles; i++) {
        assert_int_equal(gh200->profiles[i].memory_mib,
                         rule_sibling(nvl->profiles[i].memory_mib, 96, 94));
        assert_int_equal(gh200->profiles[i].sm_count, model("H100-80GB")->profiles[i].sm_count);
        assert_true(gh200->profiles[i].provisional);
    }
    const unsigned b200_per_slice = profile("B200-180GB", "2g.45gb")->memory_mib / 2;
    const unsigned b200_1g_sm = profile("B200-180GB", "1g.23gb")->sm_count;
    static const char *const derived[] = {"3g.90gb", "4g.90gb", "7g.180gb"};
    for (size_t i = 0; i < 3; i++) {
        const struct mig_profile *p = profile("B200-180GB", derived[i]);
        assert_int_equal(p->memory_mib, p->memory_slices * b200_per_slice);
        assert_int_equal(p->sm_count, p->compute_slices * b200_1g_sm);
    }
    const struct mig_profile *a30_4g = profile("A30-24GB", "4g.24gb");
    assert_int_equal(a30_4g->memory_mib, 4 * profile("A30-24GB", "2g.12gb")->memory_mib / 2);
}

static void provisional_flags_mark_unconfirmed_models(void **state)
{
    (void)state;
    static const char *const inferred[] = {"H100-96GB", "H200-141GB", "B200-180GB"};
    for (size_t i = 0; i < 3; i++) {
        const struct gpu_model *m = model(inferred[i]);
        for (size_t j = 0; j < m->n_profiles; j++)
            assert_true(m->profiles[j].provisional);
    }
    const struct gpu_model *confirmed[] = {model("H100-80GB"), model("A100-40GB")};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < confirmed[i]->n_profiles; j++)
            assert_false(confirmed[i]->profiles[j].provisional);
}

/* ---- the H100-80GB entry against tests/data/h100-80gb-hbm3.txt ---- */

struct readout {
    unsigned lgip_rows, placement_rows, nvml_ok, nvml_err;
    bool product_seen;
};

static const struct mig_profile *by_id(const struct gpu_model *m, unsigned id)
{
    for (size_t i = 0; i < m->n_profiles; i++)
        if (m->profiles[i].nvml_id == id)
            return &m->profiles[i];
    fail_msg("readout names profile id %u, which H100-80GB lacks", id);
    return NULL;
}

static const struct mig_profile *by_index(const struct gpu_model *m, unsigned index)
{
    for (size_t i = 0; i < m->n_profiles; i++)
        if (m->profiles[i].nvml_index == index)
            return &m->profiles[i];
    return NULL;
}

/* "|   0  MIG 1g.10gb   19   7/7   9.75   No   16   1   0   |" */
static void compare_lgip_row(const struct gpu_model *m, const char *line, struct readout *r)
{
    char name[32];
    unsigned id, free_count, total, sm;
    double gib;
    assert_int_equal(sscanf(line, "| %*u MIG %31s %u %u/%u %lf %*s %u", name, &id, &free_count,
                            &total, &gib, &sm),
                     6);
    const struct mig_profile *p = catalog_find_profile(m, name);
    if (!p)
        fail_msg("readout profile %s is not in H100-80GB", name);
    assert_int_equal(p->nvml_id, id);
    assert_int_equal(p->max_instances, total);
    assert_int_equal(free_count, total);
    assert_int_equal(p->sm_count, sm);
    /* nvidia-smi prints GiB cut to two decimals (19.625 as 19.62). */
    double mine = p->memory_mib / 1024.0;
    assert_true(mine >= gib && mine - gib < 0.01);
    r->lgip_rows++;
}

/* "GPU  0 Profile ID 15 Placements: {0,2,4,6}:2" */
static void compare_placement_row(const struct gpu_model *m, const char *line, struct readout *r)
{
    unsigned id;
    assert_int_equal(sscanf(strstr(line, "Profile ID"), "Profile ID %u", &id), 1);
    const struct mig_profile *p = by_id(m, id);
    const char *c = strchr(line, '{');
    assert_non_null(c);
    unsigned n = 0;
    while (*c != '}') {
        char *end;
        unsigned long start = strtoul(c + 1, &end, 10);
        assert_true(end != c + 1);
        assert_in_range(n, 0, p->n_placements - 1);
        assert_int_equal(p->placements[n].start, start);
        n++;
        c = end;
        assert_true(*c == ',' || *c == '}');
    }
    assert_int_equal(n, p->n_placements);
    unsigned size;
    assert_int_equal(sscanf(c, "}:%u", &size), 1);
    assert_int_equal(p->memory_slices, size);
    r->placement_rows++;
}

/* "0 19 1 9984 7 16 1" or "5 err Not Supported" */
static void compare_nvml_row(const struct gpu_model *m, const char *line, struct readout *r)
{
    unsigned index, id, slices, mib, count, sm, ce;
    char word[8];
    if (sscanf(line, "%u %7s", &index, word) == 2 && strcmp(word, "err") == 0) {
        if (by_index(m, index))
            fail_msg("NVML index %u is not supported on the H100 but the catalogue has it", index);
        r->nvml_err++;
        return;
    }
    assert_int_equal(sscanf(line, "%u %u %u %u %u %u %u", &index, &id, &slices, &mib, &count, &sm,
                            &ce),
                     7);
    const struct mig_profile *p = by_index(m, index);
    if (!p)
        fail_msg("NVML index %u is in the readout but not in the catalogue", index);
    assert_int_equal(p->nvml_id, id);
    assert_int_equal(p->compute_slices, slices);
    assert_int_equal(p->memory_mib, mib);
    assert_int_equal(p->max_instances, count);
    assert_int_equal(p->sm_count, sm);
    r->nvml_ok++;
}

static void compare_product_line(const char *line, struct readout *r)
{
    const char *open = strstr(line, " (");
    if (!open || r->product_seen)
        return;
    char product[96];
    size_t len = (size_t)(open - (line + 2));
    assert_true(len < sizeof product);
    memcpy(product, line + 2, len);
    product[len] = '\0';
    assert_ptr_equal(catalog_find_model(product), model("H100-80GB"));
    r->product_seen = true;
}

static void h100_entry_matches_real_readout(void **state)
{
    (void)state;
    if (!readout_path)
        fail_msg("no readout path given: run as test_core_catalog PATH/h100-80gb-hbm3.txt");
    FILE *f = fopen(readout_path, "r");
    if (!f)
        fail_msg("cannot open the H100 readout %s (tests/data/h100-80gb-hbm3.txt)",
                 readout_path);
    const struct gpu_model *m = model("H100-80GB");
    struct readout r = {0};
    bool in_nvml = false;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "# NVIDIA ", 9) == 0)
            compare_product_line(line, &r);
        else if (strncmp(line, "# NVML", 6) == 0)
            in_nvml = true;
        else if (strstr(line, " MIG "))
            compare_lgip_row(m, line, &r);
        else if (strstr(line, "Profile ID"))
            compare_placement_row(m, line, &r);
        else if (in_nvml && line[0] >= '0' && line[0] <= '9')
            compare_nvml_row(m, line, &r);
    }
    fclose(f);
    assert_true(r.product_seen);
    assert_int_equal(r.lgip_rows, m->n_profiles);
    assert_int_equal(r.placement_rows, m->n_profiles);
    assert_int_equal(r.nvml_ok, m->n_profiles);
    assert_int_equal(r.nvml_ok + r.nvml_err, 15);
}

/* Requests by memory: the smallest profile with at least that many GiB
 * (rounded up from MiB), then fewer compute slices; no +me profiles. */
static void profiles_by_memory_come_smallest_first(void **state)
{
    (void)state;
    struct catalog_fit fits[CATALOG_FITS_MAX];
    size_t n = catalog_fits_memory(5, fits, CATALOG_FITS_MAX);
    assert_true(n > 10);
    assert_string_equal(fits[0].profile->name, "1g.5gb");
    assert_string_equal(fits[0].model->name, "A100-40GB");
    for (size_t i = 1; i < n; i++) {
        unsigned a = catalog_profile_gib(fits[i - 1].profile);
        unsigned b = catalog_profile_gib(fits[i].profile);
        assert_true(a < b || (a == b && fits[i - 1].profile->compute_slices <=
                                            fits[i].profile->compute_slices));
        assert_false(fits[i].profile->media_extended);
        assert_true(b >= 5);
    }
    assert_int_equal(catalog_profile_gib(catalog_find_profile(catalog_find_model("H100-80GB"),
                                                              "1g.10gb")), 10);
    /* 12 GiB: an A30's 2g.12gb first; more than any GPU has: none. */
    assert_true(catalog_fits_memory(12, fits, 1) == 1);
    assert_string_equal(fits[0].profile->name, "2g.12gb");
    assert_int_equal(catalog_fits_memory(100000, fits, CATALOG_FITS_MAX), 0);
}

int main(int argc, char **argv)
{
    readout_path = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(models_are_listed_in_a_stable_order),
        cmocka_unit_test(find_model_by_catalogue_or_product_name),
        cmocka_unit_test(find_profile_by_name_alias_or_resource_name),
        cmocka_unit_test(profile_index_only_for_the_models_own_profiles),
        cmocka_unit_test(placement_mask_covers_the_placement),
        cmocka_unit_test(every_model_is_self_consistent),
        cmocka_unit_test(names_and_aliases_are_unique_per_model),
        cmocka_unit_test(derived_numbers_follow_the_documented_rules),
        cmocka_unit_test(provisional_flags_mark_unconfirmed_models),
        cmocka_unit_test(h100_entry_matches_real_readout),
        cmocka_unit_test(profiles_by_memory_come_smallest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
