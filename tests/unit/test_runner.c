/* SPDX-License-Identifier: Apache-2.0 */
/* The scenario runner end to end: a passing scenario, failure detection (a wrong expectation
 * must fail the run), determinism by seed, runtime crash and restart, invariants catching a
 * planted violation, and the CLI's exit codes, reports and parallel ordering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "scenario.h"
#include "vcsim.h"
#include "vcsimcli.h"

static const char lifecycle[] = "name: life\n"
                                "guest:\n"
                                "  programs:\n"
                                "    - {argv: [echo, \"**\"], stdout: \"hi\\n\", runtime: 5ms}\n"
                                "steps:\n"
                                "  - create_sandbox: {id: sb1, containers: [{id: c1}]}\n"
                                "    expect: {state: ready}\n"
                                "  - start_sandbox: sb1\n"
                                "  - exec: {sandbox: sb1, container: c1, exec_id: e1, args: "
                                "[echo, hi]}\n"
                                "  - read_stdout: {sandbox: sb1, container: c1, exec_id: e1}\n"
                                "    expect: {output: \"hi\\n\"}\n"
                                "  - wait_process: {sandbox: sb1, container: c1, exec_id: e1}\n"
                                "    expect: {status: 0}\n"
                                "  - stop_sandbox: sb1\n"
                                "  - delete_sandbox: sb1\n"
                                "    expect: {state: absent}\n";

static const char crash[] = "name: crash\n"
                            "faults:\n"
                            "  - {point: agent.StartContainer, nth: 1, runtime_crash: true, "
                            "context: runtime}\n"
                            "steps:\n"
                            "  - create_sandbox: {id: sb1, containers: [{id: c1}]}\n"
                            "  - start_sandbox: sb1\n"
                            "    expect: {crash: true}\n"
                            "  - start_sandbox: sb1\n"
                            "    expect: {state: running}\n"
                            "  - crash_vm: sb1\n"
                            "  - sandbox_status: sb1\n"
                            "    expect: {state: stopped}\n"
                            "  - delete_sandbox: sb1\n";

static struct vcsim_scenario *parse(const char *text)
{
    struct vcsim_diag d = {0};
    struct vcsim_scenario *s = NULL;

    if (vcsim_scenario_parse("mem.yaml", text, strlen(text), &d, &s) < 0)
        fail_msg("parse: %s", d.msg);
    return s;
}

/* Runs text with seed; returns the result (cleared by the caller). */
static struct vcsim_result run_text(const char *text, uint64_t seed)
{
    struct vcsim_scenario *s = parse(text);
    struct vcsim_run_opts o = {.capture_log = true};
    struct vcsim_result res;

    assert_int_equal(vcsim_run(s, seed, &o, &res), 0);
    vcsim_scenario_free(s);
    return res;
}

static void assert_passed(struct vcsim_result *res)
{
    if (!res->passed)
        fail_msg("run failed at step %d: %s\n%s", res->fail_step, res->message ? res->message : "?",
                 res->log ? res->log : "");
}

static void assert_failed_at(struct vcsim_result *res, int step, const char *text)
{
    assert_false(res->passed);
    assert_int_equal(res->fail_step, step);
    assert_non_null(res->message);
    if (!strstr(res->message, text))
        fail_msg("message '%s' lacks '%s'", res->message, text);
}

static void test_pass(void **state)
{
    struct vcsim_result res = run_text(lifecycle, 1);

    assert_passed(&res);
    assert_int_equal(res.steps, 7);
    assert_true(res.virtual_ns >= 300 * SIMHV_NS_PER_MS);
    assert_true(res.trace_records > 10);
    assert_non_null(res.log);
    vcsim_result_clear(&res);
}

/* A runner whose checks cannot fail is worthless: each wrong expectation must fail the run. */
static void test_expectations_fail(void **state)
{
    static const struct {
        const char *step; /* a step with a wrong expectation, after a created sandbox */
        const char *msg;  /* what the failure says */
    } cases[] = {
        {"  - start_sandbox: sb1\n    expect: {rc: ENOENT}\n", "rc 0, expected ENOENT"},
        {"  - start_sandbox: nope\n", "rc ENOENT"},
        {"  - sandbox_status: sb1\n    expect: {state: running}\n",
         "state ready, expected running"},
        {"  - sandbox_status: sb1\n    expect: {result: {containers: [{id: c9}]}}\n",
         "result.containers[0].id does not match"},
        {"  - list_sandboxes:\n    expect: {count: 2}\n", "count 1, expected 2"},
        {"  - expect_vm: {sandbox: sb1, vcpus: 3}\n", "VM has 1 vCPUs, expected 3"},
        {"  - expect_store: {sandboxes: [sb2]}\n", "store holds [sb1]"},
        {"  - start_sandbox: sb1\n    expect: {crash: true}\n", "expected a runtime crash"},
        {"  - advance: 1s\n    expect: {virtual_time: {max: 10ms}}\n", "of virtual time"},
    };
    char text[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vcsim_result res;
        (void) snprintf(text, sizeof(text),
                        "steps:\n  - create_sandbox: {id: sb1, containers: [{id: c1}]}\n%s",
                        cases[i].step);
        res = run_text(text, 1);
        assert_failed_at(&res, 1, cases[i].msg);
        assert_non_null(res.fail_step_name);
        assert_true(strncmp(cases[i].step + 4, res.fail_step_name, strlen(res.fail_step_name)) ==
                    0);
        assert_int_equal(res.fail_line, 3);
        vcsim_result_clear(&res);
    }
}

static void test_unused_expectation(void **state)
{
    struct vcsim_result res = run_text("guest:\n  rules: [{rpc: StatsContainer, expect: true}]\n"
                                       "steps:\n  - create_sandbox: {id: sb1}\n",
                                       1);

    assert_failed_at(&res, -1, "invariant expectations_used");
    vcsim_result_clear(&res);
}

static void test_determinism(void **state)
{
    struct vcsim_result a = run_text(lifecycle, 5), b = run_text(lifecycle, 5);
    uint64_t first = a.trace_hash;
    bool differ = false;

    assert_int_equal(a.trace_hash, b.trace_hash);
    assert_int_equal(a.trace_records, b.trace_records);
    assert_int_equal(a.virtual_ns, b.virtual_ns);
    assert_string_equal(a.log, b.log);
    vcsim_result_clear(&a);
    vcsim_result_clear(&b);
    /* Boot latency is drawn from the seed: some seeds must give other traces. */
    for (uint64_t seed = 1; seed <= 8 && !differ; seed++) {
        a = run_text(lifecycle, seed);
        differ = a.trace_hash != first;
        vcsim_result_clear(&a);
    }
    assert_true(differ);
}

static void test_runtime_crash(void **state)
{
    struct vcsim_result res = run_text(crash, 1);

    assert_passed(&res);
    assert_non_null(strstr(res.log, "restart"));
    vcsim_result_clear(&res);
}

/* With the monitor off, a VM that dies underneath is a lost VM: the invariant must say so. */
static void test_invariant_catches_lost_vm(void **state)
{
    struct vcsim_result res = run_text("invariants: {monitor: false}\n"
                                       "steps:\n"
                                       "  - create_sandbox: {id: sb1}\n"
                                       "  - crash_vm: sb1\n",
                                       1);

    assert_failed_at(&res, 1, "invariant no_lost_vm: sandbox 'sb1' is ready but its VM died");
    vcsim_result_clear(&res);
    res = run_text("invariants: {monitor: false, skip: [no_lost_vm]}\n"
                   "steps:\n"
                   "  - create_sandbox: {id: sb1}\n"
                   "  - crash_vm: sb1\n"
                   "  - check_sandbox: sb1\n"
                   "    expect: {rc: ESRCH, state: stopped}\n",
                   1);
    assert_passed(&res);
    vcsim_result_clear(&res);
}

#define write_tmp vctest_write_tmp
#define cli       vctest_vcsim

static void test_cli(void **state)
{
    char dir[] = "/tmp/vcsim-test-XXXXXX", *out, *err, *good, *bad, *broken, *junit;
    char seed_arg[] = "--seeds", seeds[] = "1..3", run[] = "run", prog[] = "vcsim";
    char junit_opt[] = "--junit", shard_opt[] = "--shard", shard[] = "2/2";

    assert_non_null(mkdtemp(dir));
    good = write_tmp(dir, "good.yaml", lifecycle);
    bad = write_tmp(dir, "bad.yaml", "steps:\n  - start_sandbox: nope\n");
    broken = write_tmp(dir, "broken.yaml", "steps:\n  - start_sandbox: {id: a, x: 1}\n");
    assert_true(asprintf(&junit, "%s/j.xml", dir) > 0);

    assert_int_equal(cli(&out, &err, 5, (char *[]){prog, run, good, seed_arg, seeds}), 0);
    assert_non_null(strstr(out, "3 passed, 0 failed"));
    free(out);
    free(err);

    assert_int_equal(cli(&out, &err, 5, (char *[]){prog, run, bad, junit_opt, junit}), 1);
    assert_non_null(strstr(out, "repro: vcsim run"));
    assert_non_null(strstr(out, "bad.yaml --seed 1"));
    assert_int_equal(access(junit, R_OK), 0);
    free(out);
    free(err);

    assert_int_equal(cli(&out, &err, 3, (char *[]){prog, run, broken}), 2);
    assert_non_null(strstr(err, "broken.yaml:2:28: unknown key 'x'"));
    free(out);
    free(err);

    assert_int_equal(cli(&out, &err, 3, (char *[]){prog, run, shard_opt}), 2);
    free(out);
    free(err);

    /* Runs 1 and 3 of good x 1..3 with seeds 1..3 are shard 1/2; 2/2 holds seed 2 only. */
    assert_int_equal(
        cli(&out, &err, 7, (char *[]){prog, run, good, seed_arg, seeds, shard_opt, shard}), 0);
    assert_non_null(strstr(out, "seed=2"));
    assert_null(strstr(out, "seed=1 "));
    free(out);
    free(err);

    (void) unlink(junit);
    (void) unlink(good);
    (void) unlink(bad);
    (void) unlink(broken);
    (void) rmdir(dir);
    free(junit);
    free(good);
    free(bad);
    free(broken);
}

/* Counts the events of phase ph in a Chrome trace file (-1 if it does not parse as one). */
static int chrome_count(const char *path, const char *ph)
{
    json_object *root = json_object_from_file(path), *ev;
    int n = 0;

    if (!root || !json_object_object_get_ex(root, "traceEvents", &ev)) {
        json_object_put(root);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(ev); i++) {
        json_object *e = json_object_array_get_idx(ev, i), *v;
        n += json_object_object_get_ex(e, "ph", &v) && strcmp(json_object_get_string(v), ph) == 0;
    }
    json_object_put(root);
    return n;
}

/* --trace FILE writes Chrome's trace-event format (steps as slices); FILE.jsonl JSON lines,
 * over the wire too (--agent wire adds ttrpc and net records). */
static void test_trace_formats(void **state)
{
    char dir[] = "/tmp/vcsim-test-XXXXXX", *out, *err, *good, *chrome, *jsonl;
    char run[] = "run", prog[] = "vcsim", trace_opt[] = "--trace", agent_opt[] = "--agent";
    char wire[] = "wire";
    FILE *f;
    char line[4096];
    size_t lines = 0, ttrpc = 0;

    assert_non_null(mkdtemp(dir));
    good = write_tmp(dir, "good.yaml", lifecycle);
    assert_true(asprintf(&chrome, "%s/t.json", dir) > 0);
    assert_true(asprintf(&jsonl, "%s/t.jsonl", dir) > 0);
    assert_int_equal(cli(&out, &err, 5, (char *[]){prog, run, good, trace_opt, chrome}), 0);
    free(out);
    free(err);
    assert_true(chrome_count(chrome, "X") >= 3); /* the lifecycle's steps */
    assert_true(chrome_count(chrome, "i") > 10);
    assert_true(chrome_count(chrome, "M") >= 3); /* process and thread names */
    assert_int_equal(
        cli(&out, &err, 7, (char *[]){prog, run, good, trace_opt, jsonl, agent_opt, wire}), 0);
    free(out);
    free(err);
    f = fopen(jsonl, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        lines++;
        ttrpc += strstr(line, "\"cat\":\"ttrpc\"") != NULL;
        json_object_put(o);
    }
    (void) fclose(f);
    assert_true(lines > 10);
    assert_true(ttrpc > 0);
    (void) unlink(chrome);
    (void) unlink(jsonl);
    (void) unlink(good);
    (void) rmdir(dir);
    free(chrome);
    free(jsonl);
    free(good);
}

/* --jobs gives the same results in the same order as a sequential run. */
static void test_jobs_order(void **state)
{
    char dir[] = "/tmp/vcsim-test-XXXXXX", *out1, *out2, *err, *good, *crashf;
    char seed_arg[] = "--seeds", seeds[] = "1..4", run[] = "run", prog[] = "vcsim";
    char jobs_opt[] = "--jobs", jobs[] = "3", det[] = "--check-determinism";

    assert_non_null(mkdtemp(dir));
    good = write_tmp(dir, "a.yaml", lifecycle);
    crashf = write_tmp(dir, "b.yaml", crash);
    assert_int_equal(cli(&out1, &err, 5, (char *[]){prog, run, dir, seed_arg, seeds}), 0);
    free(err);
    assert_int_equal(
        cli(&out2, &err, 8, (char *[]){prog, run, dir, seed_arg, seeds, jobs_opt, jobs, det}), 0);
    free(err);
    /* Everything but the wall-time summary line agrees. */
    *strstr(out1, "\n8 passed") = '\0';
    *strstr(out2, "\n8 passed") = '\0';
    assert_string_equal(out1, out2);
    free(out1);
    free(out2);
    (void) unlink(good);
    (void) unlink(crashf);
    (void) rmdir(dir);
    free(good);
    free(crashf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_expectations_fail),
        cmocka_unit_test(test_unused_expectation),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_runtime_crash),
        cmocka_unit_test(test_invariant_catches_lost_vm),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_jobs_order),
        cmocka_unit_test(test_trace_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
