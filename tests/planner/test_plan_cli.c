/*
 * `gpuslice plan` end to end: the binary plans a sample, refuses bad input
 * with the file named, prints apply's dry-run patches, and `plan serve`
 * answers /healthz and /plan over loopback HTTP and stops on SIGTERM.
 * argv[1] is the gpuslice binary, argv[2] the samples/planner directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

static const char *gpuslice, *samples;
static pid_t server; /* killed by the teardown if a check fails first */

/* Runs the binary with args (a shell-quoted string), returns its exit
 * status and its stdout+stderr in out (malloc'd). */
static int run(const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", gpuslice, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 1 << 16;
    *out = calloc(1, cap);
    assert_non_null(*out);
    size_t n;
    while ((n = fread(*out + len, 1, cap - 1 - len, p)) > 0)
        len += n;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void plans_a_sample(void **state)
{
    (void)state;
    char args[600], *out;
    snprintf(args, sizeof args, "plan %s/small", samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "premium-granite3b"));
    assert_non_null(strstr(out, "H100-1g.10gb"));
    free(out);
    snprintf(args, sizeof args, "plan -o json %s/large.json", samples);
    assert_int_equal(run(args, &out), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_true(json_object_size(json_object_get(doc, "allocations")) >= 20);
    json_decref(doc);
    free(out);
}

/* The optimizer's own files plan as it does by default; --model gpuslice
 * overrides that. */
static void model_option(void **state)
{
    (void)state;
    char args[600], *out;
    snprintf(args, sizeof args, "plan -o json %s/inferno-small", samples);
    assert_int_equal(run(args, &out), 0);
    json_t *doc = json_loads(out, 0, NULL);
    json_t *a = json_object_get(json_object_get(doc, "allocations"), "Free-llama_70b");
    assert_string_equal(json_string_value(json_object_get(a, "accelerator")), "4xA100");
    assert_int_equal(json_integer_value(json_object_get(a, "numReplicas")), 106);
    json_decref(doc);
    free(out);
    snprintf(args, sizeof args, "plan --model gpuslice -o json %s/inferno-small", samples);
    assert_int_equal(run(args, &out), 0);
    doc = json_loads(out, 0, NULL);
    a = json_object_get(json_object_get(doc, "allocations"), "Premium-granite_34b");
    assert_int_equal(json_integer_value(json_object_get(a, "maxBatch")), 6); /* in + out tokens count */
    json_decref(doc);
    free(out);
    assert_int_equal(run("plan --model inferno x", &out), 2);
    free(out);
    /* both plans side by side, with the totals */
    snprintf(args, sizeof args, "plan --compare %s/inferno-small", samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "Free-llama_70b           | 4xA100 x106          16960.00    240.00 | 4xA100 x5"));
    assert_non_null(strstr(out, "TOTAL                    |                      43819.00   2100.00 |"));
    free(out);
    assert_int_equal(run("plan --compare -o json x", &out), 2);
    free(out);
}

/* Both plans simulated: the table per plan and the summary, the same for
 * the same seed; the judge's options go only with --judge. */
static void judge_option(void **state)
{
    (void)state;
    char args[600], *out, *again;
    snprintf(args, sizeof args, "plan --judge --seconds 60 --seed 5 %s/inferno-small", samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "compatible plan: cost 43819.00 per hour; judged over 60 s of requests"));
    assert_non_null(strstr(out, "gpuslice plan: cost 33728.00 per hour"));
    assert_non_null(strstr(out, "SERVER                   ACCELERATOR         REQUESTS     TTFT      p95  TARGET"));
    assert_non_null(strstr(out, "compatible   the means          43819.00    2100.00"));
    assert_int_equal(run(args, &again), 0);
    assert_string_equal(out, again);
    free(out);
    free(again);
    snprintf(args, sizeof args, "plan --judge --seconds 60 --percentile 50 %s/inferno-small", samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "p50"));
    free(out);
    assert_int_equal(run("plan --seed 3 x", &out), 2);
    assert_non_null(strstr(out, "go with --judge"));
    free(out);
    assert_int_equal(run("plan --judge --percentile 100 x", &out), 2);
    free(out);
    assert_int_equal(run("plan --judge --compare x", &out), 2);
    free(out);
}

/* --judge -o json: the same numbers for scripts; --sizing judged adds each
 * model's plan sized by the judge, and alone prints that plan, with what
 * the sizing did in its summary. */
static void judge_json_and_judged_sizing(void **state)
{
    (void)state;
    char args[600], *out;
    snprintf(args, sizeof args, "plan --judge -o json --seconds 600 --seed 5 --sizing judged %s/small", samples);
    assert_int_equal(run(args, &out), 0);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    if (!doc)
        fail_msg("%s: %s", je.text, out);
    assert_int_equal(json_integer_value(json_object_get(doc, "seed")), 5);
    json_t *plans = json_object_get(doc, "plans");
    assert_int_equal(json_array_size(plans), 4);
    json_t *mean = json_array_get(plans, 0), *judged = json_array_get(plans, 1);
    assert_string_equal(json_string_value(json_object_get(mean, "plan")), "compatible");
    assert_string_equal(json_string_value(json_object_get(mean, "sizing")), "mean");
    assert_string_equal(json_string_value(json_object_get(judged, "sizing")), "judged");
    assert_true(json_integer_value(json_object_get(judged, "rounds")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(judged, "serversMeeting")), 5);
    assert_true(json_integer_value(json_object_get(mean, "serversMeeting")) < 5);
    assert_true(json_number_value(json_object_get(judged, "totalCost")) >=
                json_number_value(json_object_get(mean, "totalCost")));
    json_t *srv = json_object_get(json_object_get(judged, "judged"), "premium-llama8b");
    assert_string_equal(json_string_value(json_object_get(srv, "verdict")), "meets");
    assert_true(json_number_value(json_object_get(json_object_get(srv, "ttft"), "target")) == 500.0);
    assert_true(json_number_value(json_object_get(json_object_get(srv, "ttft"), "attainment")) >= 0.95);
    assert_non_null(json_object_get(srv, "numReplicas"));
    json_decref(doc);
    free(out);
    snprintf(args, sizeof args, "plan --sizing judged --seconds 600 -o json %s/small", samples);
    assert_int_equal(run(args, &out), 0);
    doc = json_loads(out, 0, NULL);
    json_t *sizing = json_object_get(json_object_get(doc, "summary"), "sizing");
    assert_string_equal(json_string_value(json_object_get(sizing, "by")), "judge");
    assert_int_equal(json_integer_value(json_object_get(sizing, "serversMeeting")), 5);
    assert_non_null(json_object_get(json_object_get(sizing, "targets"), "bronze-llama8b"));
    assert_non_null(json_object_get(json_object_get(doc, "allocations"), "bronze-llama8b"));
    json_decref(doc);
    free(out);
    snprintf(args, sizeof args, "plan --sizing judged --seconds 600 %s/small", samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "5 of 5 servers meet their targets as judged"));
    free(out);
    assert_int_equal(run("plan --sizing tail x", &out), 2);
    free(out);
    assert_int_equal(run("plan --compare --sizing judged x", &out), 2);
    free(out);
}

static void refuses_bad_input(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run("plan /nonexistent/dir", &out), 1);
    assert_string_equal(out, "gpuslice plan: /nonexistent/dir: No such file or directory\n");
    free(out);
    assert_int_equal(run("plan -o yaml x", &out), 2);
    free(out);
    assert_int_equal(run("plan apply -p x.json y.yaml", &out), 2);
    assert_non_null(strstr(out, "a DEPLOYMENTS file is read only with --dry-run"));
    free(out);
}

static void apply_dry_run_prints_patches(void **state)
{
    (void)state;
    char args[800], *out;
    snprintf(args, sizeof args, "plan apply --dry-run -p %s/small/expected-plan.json %s/deployments.yaml", samples,
             samples);
    assert_int_equal(run(args, &out), 0);
    assert_non_null(strstr(out, "kubectl patch deployment premium-llama8b -n inference --type json -p '["));
    assert_non_null(strstr(out, "# inference/granite (server bronze-granite3b): already as planned"));
    free(out);
}

struct buffer {
    char data[1 << 16];
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
    struct buffer *b = ctx;
    size_t len = size * n, room = sizeof b->data - 1 - b->len;
    if (len > room)
        len = room;
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return size * n;
}

static long http(unsigned port, const char *method, const char *path, const char *body, struct buffer *out)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void serve_answers_over_http(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = server = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        execl(gpuslice, gpuslice, "plan", "serve", "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *banner = fdopen(pipefd[0], "r");
    char line[256] = "";
    unsigned port = 0;
    assert_non_null(fgets(line, sizeof line, banner));
    assert_int_equal(sscanf(line, "gpuslice plan serve: listening on http://127.0.0.1:%u", &port), 1);
    struct buffer *b = calloc(1, sizeof *b);
    assert_non_null(b);
    assert_int_equal(http(port, "GET", "/healthz", NULL, b), 200);
    assert_string_equal(b->data, "ok\n");
    char path[600];
    snprintf(path, sizeof path, "%s/large.json", samples);
    char *body = read_all(path);
    assert_int_equal(http(port, "POST", "/plan", body, b), 200);
    json_t *doc = json_loads(b->data, 0, NULL);
    assert_non_null(json_object_get(json_object_get(doc, "allocations"), "premium-llama70b-1"));
    json_decref(doc);
    free(body);
    assert_int_equal(http(port, "POST", "/plan", "{\"system\": {}}", b), 400);
    assert_string_equal(b->data, "{\"error\":\"request body:1:12: system.acceleratorData is missing\"}");
    assert_int_equal(http(port, "GET", "/plan", NULL, b), 405);
    assert_int_equal(http(port, "GET", "/metrics", NULL, b), 404);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    server = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fclose(banner);
    free(b);
}

static int stop_server(void **state)
{
    (void)state;
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s GPUSLICE SAMPLES_DIR\n", argv[0]);
        return 2;
    }
    gpuslice = argv[1];
    samples = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plans_a_sample),
        cmocka_unit_test(model_option),
        cmocka_unit_test(judge_option),
        cmocka_unit_test(judge_json_and_judged_sizing),
        cmocka_unit_test(refuses_bad_input),
        cmocka_unit_test(apply_dry_run_prints_patches),
        cmocka_unit_test_teardown(serve_answers_over_http, stop_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
