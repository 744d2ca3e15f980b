/* Tests for cluster/objstate: keys, the pod predicates every part shares,
 * conditions (transition time moves only with the status), and integer
 * paths, with malformed input. */
#include "harness.h"

#include "cluster/objstate.h"

static void keys_and_their_parts(void **state)
{
    (void)state;
    char key[OBJSTATE_KEY_MAX], ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *pod = json_text("{'metadata':{'name':'p','namespace':'team'}}");
    json_t *node = json_text("{'metadata':{'name':'n1'}}");
    json_t *nameless = json_text("{'metadata':{}}");
    assert_int_equal(objstate_key(pod, key, sizeof key), 0);
    assert_string_equal(key, "team/p");
    assert_int_equal(objstate_key(node, key, sizeof key), 0);
    assert_string_equal(key, "n1");
    assert_int_equal(objstate_key(nameless, key, sizeof key), -EINVAL);
    assert_int_equal(objstate_key(pod, key, 4), -ENAMETOOLONG);
    assert_int_equal(objstate_split_key("team/p", ns, name, NULL), 0);
    assert_string_equal(ns, "team");
    assert_string_equal(name, "p");
    assert_int_equal(objstate_split_key("n1", ns, name, NULL), 0);
    assert_string_equal(ns, "");
    assert_string_equal(name, "n1");
    struct err e = {0};
    const char *bad[] = {"/p", "team/", "", "a/b/c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(objstate_split_key(bad[i], ns, name, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "key"));
    }
    char lng[OBJSTATE_NAME_MAX + 8];
    memset(lng, 'a', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    assert_int_equal(objstate_split_key(lng, ns, name, NULL), -EINVAL);
    json_decref(pod);
    json_decref(node);
    json_decref(nameless);
}

static void pod_predicates(void **state)
{
    (void)state;
    json_t *running = json_text("{'spec':{'nodeName':'n1'},'status':{'phase':'Running',"
                             "'conditions':[{'type':'Ready','status':'True'}]}}");
    json_t *done = json_text("{'spec':{'nodeName':''},'status':{'phase':'Succeeded'}}");
    json_t *going = json_text("{'metadata':{'deletionTimestamp':'2026-01-01T00:00:00Z'}}");
    json_t *empty = json_text("{}");
    assert_string_equal(objstate_phase(running), "Running");
    assert_string_equal(objstate_phase(empty), "");
    assert_string_equal(objstate_node(running), "n1");
    assert_null(objstate_node(done)); /* "" is not bound */
    assert_true(objstate_active(running));
    assert_true(objstate_ready(running));
    assert_true(objstate_terminal(done));
    assert_false(objstate_active(done));
    assert_true(objstate_deleting(going));
    assert_false(objstate_active(going));
    assert_false(objstate_ready(empty));
    assert_null(objstate_condition(empty, "Ready"));
    json_decref(running);
    json_decref(done);
    json_decref(going);
    json_decref(empty);
}

static void conditions_move_their_time_only_on_a_new_status(void **state)
{
    (void)state;
    json_t *obj = json_text("{}");
    assert_int_equal(objstate_set_condition(obj, "Ready", "False", "Starting", "wait", T0), 1);
    assert_string_equal(h_str(obj, "status.conditions.0.lastTransitionTime"),
                        "2026-09-21T14:13:20Z");
    assert_int_equal(objstate_set_condition(obj, "Ready", "False", "Starting", "wait", T0 + SEC),
                     0);
    assert_int_equal(objstate_set_condition(obj, "Ready", "False", "Other", NULL, T0 + SEC), 1);
    assert_string_equal(h_str(obj, "status.conditions.0.lastTransitionTime"),
                        "2026-09-21T14:13:20Z");
    assert_null(json_object_get(json_array_get(json_object_get(json_object_get(obj, "status"),
                                                               "conditions"),
                                               0),
                                "message"));
    assert_int_equal(objstate_set_condition(obj, "Ready", "True", NULL, NULL, T0 + SEC), 1);
    assert_string_equal(h_str(obj, "status.conditions.0.lastTransitionTime"),
                        "2026-09-21T14:13:21Z");
    assert_true(objstate_condition_true(obj, "Ready"));
    assert_int_equal(objstate_set_condition(obj, "Other", "True", NULL, NULL, T0), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(obj, "status"),
                                                     "conditions")), 2);
    json_decref(obj);
    /* A status that is not an object is replaced, not crashed on. */
    obj = json_text("{'status':3}");
    assert_int_equal(objstate_set_condition(obj, "Ready", "True", NULL, NULL, T0), 1);
    assert_true(objstate_condition_true(obj, "Ready"));
    json_decref(obj);
}

static void status_writes_only_when_changed(void **state)
{
    (void)state;
    const struct api_resource pods = {.group = "", .version = "v1", .plural = "pods",
                                      .kind = "Pod", .namespaced = true, .has_status = true};
    json_t *orig = json_text("{'metadata':{'name':'p','namespace':'d'},'status':{'phase':'Running'}}");
    struct action_list out;
    action_list_init(&out);
    assert_int_equal(objstate_write_status(&out, &pods, orig, json_deep_copy(orig), NULL), 0);
    assert_int_equal(out.n, 0);
    json_t *copy = json_deep_copy(orig);
    json_object_set_new(objstate_status(copy), "phase", json_string("Succeeded"));
    assert_int_equal(objstate_write_status(&out, &pods, orig, copy, NULL), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.items[0].kind, ACTION_UPDATE_STATUS);
    assert_string_equal(h_str(out.items[0].body, "status.phase"), "Succeeded");
    action_list_clear(&out);
    /* A missing or malformed status becomes an empty object. */
    json_t *bare = json_text("{'status':'nonsense'}");
    json_t *st = objstate_status(bare);
    assert_true(json_is_object(st));
    assert_int_equal(json_object_size(st), 0);
    json_decref(bare);
    json_decref(orig);
}

static void times_and_integers(void **state)
{
    (void)state;
    json_t *obj = json_text("{'metadata':{'creationTimestamp':'2026-09-21T14:13:20Z',"
                         "'generation':4},'spec':{'replicas':3,'name':'x'}}");
    json_t *bad = json_text("{'metadata':{'creationTimestamp':'yesterday'}}");
    assert_int_equal(objstate_created_ns(obj), T0);
    assert_int_equal(objstate_created_ns(bad), 0);
    assert_int_equal(objstate_int(obj, "spec.replicas", 1), 3);
    assert_int_equal(objstate_int(obj, "metadata.generation", 0), 4);
    assert_int_equal(objstate_int(obj, "spec.missing", 7), 7);
    assert_int_equal(objstate_int(obj, "spec.name", 7), 7);
    assert_int_equal(objstate_int(obj, "spec.replicas.deeper", 7), 7);
    json_decref(obj);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_and_their_parts),
        cmocka_unit_test(pod_predicates),
        cmocka_unit_test(conditions_move_their_time_only_on_a_new_status),
        cmocka_unit_test(status_writes_only_when_changed),
        cmocka_unit_test(times_and_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
