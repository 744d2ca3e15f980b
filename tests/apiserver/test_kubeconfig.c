/* Tests for apiserver/kubeconfig (files in a temp dir) and apiserver/bootstrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/tmpdir.h"
#include "apiserver/bootstrap.h"
#include "apiserver/kubeconfig.h"
#include "helpers.h"
#include "util/yaml.h"

static char dir[TMPDIR_MAX];

static int setup(void **state)
{
    (void)state;
    return tmpdir_make(dir, "kubeconfig");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void writes_a_readable_kubeconfig(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/kc", dir);
    struct kubeconfig_spec k = {"gpuslice", "https://127.0.0.1:6443", "to\"k\\en",
                                "/etc/ca dir/ca.pem"};
    struct err e;
    assert_int_equal(kubeconfig_write(path, &k, &e), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    struct yaml_doc *d;
    assert_int_equal(yaml_doc_load(path, NULL, &d, &e), 0);
    json_t *root = yaml_doc_root(d, 0);
    assert_string_equal(json_string_value(json_object_get(root, "current-context")), "gpuslice");
    json_t *cluster = json_object_get(json_array_get(json_object_get(root, "clusters"), 0),
                                      "cluster");
    assert_string_equal(json_string_value(json_object_get(cluster, "server")),
                        "https://127.0.0.1:6443");
    assert_string_equal(json_string_value(json_object_get(cluster, "certificate-authority")),
                        "/etc/ca dir/ca.pem");
    json_t *user = json_object_get(json_array_get(json_object_get(root, "users"), 0), "user");
    assert_string_equal(json_string_value(json_object_get(user, "token")), "to\"k\\en");
    yaml_doc_free(d);

    /* Rewritten (ours), then removed. */
    k.token = NULL;
    k.ca_file = NULL;
    assert_int_equal(kubeconfig_write(path, &k, &e), 0);
    assert_int_equal(yaml_doc_load(path, NULL, &d, &e), 0);
    user = json_object_get(json_array_get(json_object_get(yaml_doc_root(d, 0), "users"), 0),
                           "user");
    assert_int_equal(json_object_size(user), 0);
    yaml_doc_free(d);
    assert_int_equal(kubeconfig_remove(path, &e), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(kubeconfig_remove(path, &e), 0);
}

static void never_touches_a_foreign_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "apiVersion: v1\nkind: Config\n");
    struct kubeconfig_spec k = {"gpuslice", "http://127.0.0.1:1", NULL, NULL};
    struct err e;
    assert_int_equal(kubeconfig_write(path, &k, &e), -EEXIST);
    assert_non_null(strstr(e.msg, path));
    assert_int_equal(kubeconfig_remove(path, &e), -EEXIST);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/no/such/dir/kc", dir);
    assert_int_equal(kubeconfig_write(path, &k, &e), -ENOENT);
}

/* issue 19: the writer once opened PATH.tmp.PID with O_TRUNC, so a planted
 * link sent the token elsewhere and a planted 0666 file made it readable to
 * all. Both plants stay as they were; the kubeconfig is 0600. */
static void planted_temporary_names_change_nothing(void **state)
{
    (void)state;
    char path[128], plant[160], elsewhere[128];
    snprintf(path, sizeof path, "%s/kc", dir);
    snprintf(plant, sizeof plant, "%s.tmp.%ld", path, (long)getpid());
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
    struct kubeconfig_spec k = {"gpuslice", "https://127.0.0.1:6443", "secret", NULL};
    struct err e;
    struct stat sb;

    assert_int_equal(symlink(elsewhere, plant), 0);
    assert_int_equal(kubeconfig_write(path, &k, &e), 0);
    assert_int_not_equal(lstat(elsewhere, &sb), 0);
    assert_int_equal(lstat(plant, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    unlink(plant);

    write_file(plant, "planted");
    assert_int_equal(chmod(plant, 0666), 0);
    assert_int_equal(kubeconfig_write(path, &k, &e), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(plant, &sb), 0);
    assert_int_equal(sb.st_size, strlen("planted"));
}

static const char crd_yaml[] =
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata: {name: gadgets.example.com}\n"
    "spec:\n  group: example.com\n  scope: Cluster\n"
    "  names: {plural: gadgets, kind: Gadget}\n"
    "  versions: [{name: v1, served: true, storage: true}]\n";

/* bootstrap_crds on files given inline, as the built-in ones are. */
static int bootstrap_texts(struct store *st, const char *a, const char *b, size_t *loaded,
                           struct err *e)
{
    const struct fileset_file files[] = {{"a.yaml", a, strlen(a)}, {"b.yml", b, strlen(b)}};
    struct fileset set = {"test", 2, files};
    return bootstrap_crds(st, &set, loaded, e);
}

static void bootstrap_loads_crds_and_namespaces(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(); /* bootstraps the namespaces */
    struct err e;
    size_t loaded = 0;
    assert_int_equal(bootstrap_namespaces(f->st, &e), 0); /* again: they exist */
    assert_int_equal(bootstrap_texts(f->st, crd_yaml, "", &loaded, &e), 0);
    assert_int_equal(loaded, 1);
    assert_non_null(api_registry_find(store_registry(f->st), "example.com", "v1", "gadgets"));
    assert_int_equal(bootstrap_texts(f->st, crd_yaml, "---\n", &loaded, &e), 0); /* replaces */
    assert_int_equal(loaded, 1);
    const struct api_resource *ns = api_registry_find(store_registry(f->st), "", "v1",
                                                      "namespaces");
    json_t *obj;
    assert_int_equal(store_get(f->st, ns, NULL, "kube-system", &obj, &e), 0);
    json_decref(obj);

    const char *configmap = "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n";
    assert_int_equal(bootstrap_texts(f->st, crd_yaml, configmap, &loaded, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "b.yml: document 2: a ConfigMap"));
    assert_int_equal(loaded, 1); /* a.yaml's CRD before it stays */
    assert_int_equal(bootstrap_texts(f->st, crd_yaml, "kind: [\n", &loaded, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "b.yml"));
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_a_readable_kubeconfig, setup, teardown),
        cmocka_unit_test_setup_teardown(never_touches_a_foreign_file, setup, teardown),
        cmocka_unit_test_setup_teardown(planted_temporary_names_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bootstrap_loads_crds_and_namespaces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
