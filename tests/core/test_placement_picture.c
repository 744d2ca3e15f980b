/* Tests for placement_picture: cells, spans, tags, shortening, cutting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/placement.h"

static const struct mig_profile *profile(const struct gpu_occupancy *o, const char *name)
{
    const struct mig_profile *p = catalog_find_profile(o->model, name);
    assert_non_null(p);
    return p;
}

static void take(struct gpu_occupancy *o, const char *name, unsigned start, uint32_t owner)
{
    assert_int_equal(occupancy_take(o, profile(o, name), start, owner, NULL), 0);
}

static void empty_gpu_is_all_free_cells(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("H100-80GB"));
    char buf[PLACEMENT_PICTURE_MAX];
    assert_int_equal(placement_picture(&o, buf, sizeof buf), 57);
    assert_string_equal(buf, "[..    |..    |..    |..    |..    |..    |..    |..    ]");
}

static void slices_span_their_memory_and_show_tags(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("H100-80GB"));
    take(&o, "3g.40gb", 0, 12);
    take(&o, "1g.10gb", 4, 3);
    take(&o, "1g.10gb+me", 5, 0);
    char buf[PLACEMENT_PICTURE_MAX];
    assert_int_equal(placement_picture(&o, buf, sizeof buf), 57);
    assert_string_equal(buf, "[3g.40gb #12                |1g #3 |1g+me |..    |..    ]");

    occupancy_init(&o, catalog_find_model("H100-80GB"));
    take(&o, "7g.80gb", 0, 7);
    placement_picture(&o, buf, sizeof buf);
    assert_string_equal(buf, "[7g.80gb #7                                             ]");
}

/* The name is cut to keep the tag; a tag that still does not fit goes. */
static void long_labels_are_shortened(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("H100-80GB"));
    take(&o, "2g.20gb", 0, 123456);
    take(&o, "1g.10gb", 2, 1234);
    take(&o, "1g.20gb", 6, 99);
    char buf[PLACEMENT_PICTURE_MAX];
    placement_picture(&o, buf, sizeof buf);
    assert_string_equal(buf, "[2g #123456   |1g    |..    |..    |..    |1g.20gb #99  ]");
}

static void a30_has_four_cells(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("A30-24GB"));
    take(&o, "2g.12gb+me", 2, 5);
    char buf[PLACEMENT_PICTURE_MAX];
    assert_int_equal(placement_picture(&o, buf, sizeof buf), 29);
    assert_string_equal(buf, "[..    |..    |2g.12gb+me #5]");
}

static void small_buffers_are_cut_and_terminated(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("A30-24GB"));
    char buf[8];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(placement_picture(&o, buf, 5), 29);
    assert_string_equal(buf, "[.. ");
    assert_int_equal(buf[5], 'x');
    assert_int_equal(placement_picture(&o, NULL, 0), 29);
    assert_int_equal(placement_picture(NULL, buf, sizeof buf), 2);
    assert_string_equal(buf, "[]");
}

/* Marks go inside the slice's cells: the picture keeps its width. */
static void marks_go_before_labels(void **state)
{
    (void)state;
    struct gpu_occupancy o;
    occupancy_init(&o, catalog_find_model("H100-80GB"));
    take(&o, "1g.10gb", 0, 4);
    take(&o, "3g.40gb", 4, 0);
    take(&o, "1g.10gb", 1, 0);
    char marks[MIG_MAX_MEMORY_SLICES] = {0};
    marks[0] = PLACEMENT_MARK_WARM;
    marks[4] = PLACEMENT_MARK_STATIC;
    char buf[PLACEMENT_PICTURE_MAX];
    assert_int_equal(placement_picture_marked(&o, marks, buf, sizeof buf), 57);
    assert_string_equal(buf, "[~1g #4|1g    |..    |..    |=3g.40gb                   ]");
    /* Without marks, the plain picture. */
    char plain[PLACEMENT_PICTURE_MAX];
    placement_picture_marked(&o, NULL, buf, sizeof buf);
    placement_picture(&o, plain, sizeof plain);
    assert_string_equal(buf, plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(marks_go_before_labels),
        cmocka_unit_test(empty_gpu_is_all_free_cells),
        cmocka_unit_test(slices_span_their_memory_and_show_tags),
        cmocka_unit_test(long_labels_are_shortened),
        cmocka_unit_test(a30_has_four_cells),
        cmocka_unit_test(small_buffers_are_cut_and_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
