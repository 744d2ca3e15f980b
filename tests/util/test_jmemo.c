/* util/jmemo: answers kept per value, the values held while kept, and a
 * slot taken by another key never answering for the wrong one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/jmemo.h"

struct answer {
    int64_t n;
    char text[40];
};

static void keeps_an_answer_while_holding_its_key(void **state)
{
    (void)state;
    struct jmemo *m = jmemo_new(4, sizeof(struct answer));
    json_t *key = json_string("gpuslice.dev/slices");
    assert_null(jmemo_find(m, key));
    assert_null(jmemo_find(m, NULL)); /* not the empty slot's answer */
    jmemo_keep(m, NULL, &(struct answer){.n = 1});
    assert_null(jmemo_find(m, NULL));
    struct answer a = {.n = 7, .text = "seven"};
    jmemo_keep(m, key, &a);
    a.n = 8; /* copied, not pointed at */
    const struct answer *got = jmemo_find(m, key);
    assert_non_null(got);
    assert_int_equal(got->n, 7);
    assert_string_equal(got->text, "seven");
    assert_int_equal((uintptr_t)got % 16, 0);
    assert_int_equal(key->refcount, 2);
    jmemo_keep(m, key, &a); /* the same key again: one reference still */
    assert_int_equal(key->refcount, 2);
    assert_int_equal(((const struct answer *)jmemo_find(m, key))->n, 8);
    jmemo_forget(m, key); /* let go: found no more, its reference dropped */
    assert_null(jmemo_find(m, key));
    assert_int_equal(key->refcount, 1);
    json_t *other = json_string("other");
    jmemo_keep(m, key, &a);
    jmemo_forget(m, other); /* not held: nothing changes */
    jmemo_forget(m, NULL);
    assert_non_null(jmemo_find(m, key));
    json_decref(other);
    jmemo_free(m);
    assert_int_equal(key->refcount, 1);
    json_decref(key);
}

/* Far more keys than slots: each find gives its own key's answer or
 * nothing, and a key pushed out of its slot is let go. */
static void a_replaced_slot_forgets_its_key(void **state)
{
    (void)state;
    enum { KEYS = 200 };
    struct jmemo *m = jmemo_new(3, sizeof(int64_t));
    json_t *keys[KEYS];
    for (int64_t i = 0; i < KEYS; i++) {
        keys[i] = json_integer(i);
        jmemo_keep(m, keys[i], &i);
    }
    size_t held = 0, found = 0;
    for (int64_t i = 0; i < KEYS; i++) {
        const int64_t *got = jmemo_find(m, keys[i]);
        held += keys[i]->refcount == 2;
        if (got) {
            assert_int_equal(*got, i);
            assert_int_equal(keys[i]->refcount, 2);
            found++;
        }
    }
    assert_int_equal(found, held);
    assert_in_range(found, 1, 8);
    jmemo_free(m);
    for (int i = 0; i < KEYS; i++) {
        assert_int_equal(keys[i]->refcount, 1);
        json_decref(keys[i]);
    }
}

static void frees_null(void **state)
{
    (void)state;
    jmemo_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_an_answer_while_holding_its_key),
        cmocka_unit_test(a_replaced_slot_forgets_its_key),
        cmocka_unit_test(frees_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
