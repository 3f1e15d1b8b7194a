/* SPDX-License-Identifier: Apache-2.0 */
/* Sweeps, exploration and shrinking: fault rules written as one-line specs and read back, the
 * YAML writer round trip, --invariants-only with its end-of-run cleanup, a sweep that finds a
 * planted violation and prints a repro that reproduces it, the alloc and crash sweeps, and
 * shrink reducing a failing run to the steps and rules that matter. */
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

#include <simhv/fault.h>

#include "buf.h"
#include "scenario.h"
#include "vcsim.h"
#include "vcsimcli.h"

static const char life[] = "name: life\n"
                           "guest:\n"
                           "  programs:\n"
                           "    - {argv: [echo, \"**\"], stdout: \"hi\\n\", runtime: 5ms}\n"
                           "steps:\n"
                           "  - create_sandbox: {id: sb1, containers: [{id: c1}]}\n"
                           "  - start_sandbox: sb1\n"
                           "  - exec: {sandbox: sb1, container: c1, exec_id: e1, args: [echo, "
                           "hi]}\n"
                           "  - read_stdout: {sandbox: sb1, container: c1, exec_id: e1}\n"
                           "    expect: {output: \"hi\\n\"}\n"
                           "  - wait_process: {sandbox: sb1, container: c1, exec_id: e1}\n"
                           "    expect: {status: 0}\n"
                           "  - stop_sandbox: sb1\n"
                           "  - delete_sandbox: sb1\n";

/* A scenario whose last step leaves a sandbox behind on purpose: only the end-of-run cleanup
 * of --invariants-only removes it. */
static const char dirty[] = "name: dirty\n"
                            "steps:\n"
                            "  - run_sandbox: {id: sb1, containers: [{id: c1}]}\n";

static void spec_round_trip(const char *spec, const char *want)
{
    struct vcsim_diag d = {.path = "--fault"};
    struct simhv_fault_rule f;
    char out[512];

    if (vcsim_fault_spec_parse(spec, &d, &f) < 0)
        fail_msg("%s: %s", spec, d.msg);
    vcsim_fault_spec(&f, out, sizeof(out));
    assert_string_equal(out, want ? want : spec);
    vcsim_fault_clear(&f);
}

static void test_fault_spec(void **state)
{
    static const char *const bad[] = {
        "nth=1,errno=EIO",                             /* no point */
        "point=agent.Exec",                            /* no action */
        "point=agent.Exec,errno=EIO,hang=1s",          /* two actions */
        "point=agent.Exec,nth=1,every=true,errno=EIO", /* two triggers */
        "point=agent.Exec,errno=ENOTANERRNO",          /* unknown errno */
        "point=agent.Exec,errno",                      /* not key=value */
        "point=agent.Exec,errno=EIO,errno=EIO",        /* twice */
        "point=agent.Exec,bogus=1,errno=EIO",          /* unknown key */
        "point=agent.Exec,probability=2,errno=EIO",
    };
    struct vcsim_diag d = {.path = "--fault"};
    struct simhv_fault_rule f;

    (void) state;
    spec_round_trip("point=agent.Exec,nth=2,errno=EIO", NULL);
    spec_round_trip("point=agent.Exec,errno=EIO", "point=agent.Exec,nth=1,errno=EIO");
    spec_round_trip("point=alloc,context=runtime,nth=37,errno=ENOMEM", NULL);
    spec_round_trip("point=net.send,probability=0.05,limit=3,corrupt=true", NULL);
    spec_round_trip("point=hv.start,every=true,limit=2,hang=90s", NULL);
    spec_round_trip("point=agent.*,after=1500ms,delay=250us", NULL);
    spec_round_trip("point=store.put,nth=1,vm_crash=sb1", NULL);
    spec_round_trip("point=disk.*,context=runtime,nth=4,host_crash=true", NULL);
    spec_round_trip("point=net.send,nth=3,drip=1ms", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.msg[0] = '\0';
        assert_int_equal(vcsim_fault_spec_parse(bad[i], &d, &f), -EINVAL);
        assert_non_null(strstr(d.msg, "--fault"));
    }
}

static void test_emit_round_trip(void **state)
{
    struct vcsim_diag d = {.path = "mem.yaml"};
    struct vcsim_node *tree = NULL, *again = NULL;
    struct vcsim_buf a = {0}, b = {0};
    struct vcsim_scenario *sc = NULL;
    struct vcsim_result res;

    (void) state;
    assert_int_equal(vcsim_yaml_parse(life, strlen(life), &d, &tree), 0);
    assert_int_equal(vcsim_node_emit(tree, &a), 0);
    /* What is written parses to the same scenario, runs the same, and writes the same again. */
    if (vcsim_scenario_parse("mem.yaml", a.data, a.len, &d, &sc) < 0)
        fail_msg("%s\n%s", d.msg, a.data);
    assert_int_equal(vcsim_run(sc, 1, NULL, &res), 0);
    assert_true(res.passed);
    assert_int_equal(res.steps, 7);
    vcsim_result_clear(&res);
    assert_int_equal(vcsim_yaml_parse(a.data, a.len, &d, &again), 0);
    assert_int_equal(vcsim_node_emit(again, &b), 0);
    assert_string_equal(a.data, b.data);
    /* Quoted text stays quoted ("**" would otherwise be an alias); "hi\n" keeps its newline
     * as a literal block. */
    assert_non_null(strstr(a.data, "\"**\""));
    assert_non_null(strstr(a.data, "stdout: |\n"));
    vcsim_scenario_free(sc);
    vcsim_node_free(tree);
    vcsim_node_free(again);
    vcsim_buf_clear(&a);
    vcsim_buf_clear(&b);
}

static struct vcsim_scenario *parse(const char *text)
{
    struct vcsim_diag d = {0};
    struct vcsim_scenario *s = NULL;

    if (vcsim_scenario_parse("mem.yaml", text, strlen(text), &d, &s) < 0)
        fail_msg("parse: %s", d.msg);
    return s;
}

static void test_invariants_only(void **state)
{
    struct vcsim_scenario *sc = parse(dirty), *lf = parse(life);
    struct vcsim_diag d = {.path = "--fault"};
    struct vcsim_run_opts lenient = {.invariants_only = true};
    struct simhv_fault_rule f;
    struct vcsim_result res;

    (void) state;
    /* The settle at the end stops and deletes what the steps left. */
    assert_int_equal(vcsim_run(sc, 1, &lenient, &res), 0);
    assert_true(res.passed);
    vcsim_result_clear(&res);
    /* An injected error fails an expectation, unless only invariants count; the rule's
     * counters come back with the result. */
    assert_int_equal(vcsim_fault_spec_parse("point=agent.ReadStdout,errno=EIO", &d, &f), 0);
    lenient.faults = &f;
    lenient.n_faults = 1;
    assert_int_equal(vcsim_run(lf, 1, &lenient, &res), 0);
    assert_true(res.passed);
    assert_int_equal(res.n_rules, 1);
    assert_int_equal(res.rules[0].fired, 1);
    vcsim_result_clear(&res);
    lenient.invariants_only = false;
    assert_int_equal(vcsim_run(lf, 1, &lenient, &res), 0);
    assert_false(res.passed);
    assert_non_null(strstr(res.message, "EIO"));
    vcsim_result_clear(&res);
    vcsim_fault_clear(&f);
    vcsim_scenario_free(sc);
    vcsim_scenario_free(lf);
}

#define write_tmp vctest_write_tmp

/* Runs the CLI on a NULL-terminated argument list; out and err are returned (free them). */
static int cli(char **out, char **err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    va_start(ap, err);
    while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
        argc++;
    va_end(ap);
    return vctest_vcsim(out, err, argc, argv);
}

/* Picks the text after "repro: vcsim " on the first repro line of out and splits it like a
 * shell would (single quotes only). Returns the number of words. */
static int repro_words(char *out, char **words, int max)
{
    char *p = strstr(out, "repro: vcsim ");
    int n = 0;

    assert_non_null(p);
    p += strlen("repro: ");
    *strchr(p, '\n') = '\0';
    while (*p && n < max - 1) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        words[n++] = p;
        if (*p == '\'') {
            words[n - 1] = ++p;
            p = strchr(p, '\'');
            assert_non_null(p);
            *p++ = '\0';
            continue;
        }
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
    words[n] = NULL;
    return n;
}

static void test_sweep_finds_and_reproduces(void **state)
{
    char dir[] = "/tmp/vcsim-sweep-XXXXXX", *out, *err, *file, *words[32];
    int n;

    (void) state;
    assert_non_null(mkdtemp(dir));
    /* The planted violation: the monitor is off, so a VM killed under the runtime by the
     * sweep's vm_crash stays stored as live: no_lost_vm must catch it. */
    file = write_tmp(dir, "planted.yaml",
                     "name: planted\n"
                     "invariants: {monitor: false}\n"
                     "steps:\n"
                     "  - run_sandbox: {id: sb1, containers: [{id: c1}]}\n"
                     "  - container_status: {sandbox: sb1, id: c1}\n");
    assert_int_equal(cli(&out, &err, "vcsim", "sweep", file, "--actions", "vm_crash", NULL), 1);
    assert_non_null(strstr(out, "invariant no_lost_vm"));
    assert_non_null(strstr(out, "vm_crash"));
    assert_null(strstr(out, "never fired"));
    assert_non_null(strstr(out, "sweep: 1 baseline run (0 failed)"));
    /* The repro line, run as it is printed, fails the same way. */
    n = repro_words(out, words, 32);
    assert_true(n > 4);
    free(err);
    {
        char *out2;
        assert_int_equal(cli(&out2, &err, words[0], words[1], words[2], words[3], words[4],
                             n > 5 ? words[5] : NULL, n > 6 ? words[6] : NULL,
                             n > 7 ? words[7] : NULL, n > 8 ? words[8] : NULL, NULL),
                         1);
        assert_non_null(strstr(out2, "invariant no_lost_vm"));
        free(out2);
    }
    free(out);
    free(err);

    /* Without the plant, the same sweep over every action finds nothing. */
    (void) unlink(file);
    free(file);
    file = write_tmp(dir, "clean.yaml",
                     "name: clean\n"
                     "steps:\n"
                     "  - run_sandbox: {id: sb1, containers: [{id: c1}]}\n"
                     "  - container_status: {sandbox: sb1, id: c1}\n");
    assert_int_equal(
        cli(&out, &err, "vcsim", "sweep", file, "--kinds", "faults,alloc", "--jobs", "2", NULL), 0);
    assert_non_null(strstr(out, ", 0 violations"));
    assert_non_null(strstr(out, "alloc "));
    assert_null(strstr(out, "never fired"));
    free(out);
    free(err);
    /* The crash sweep reaches every persist step with both crashes (what it finds is the
     * runtime's business, not this test's). */
    (void) cli(&out, &err, "vcsim", "sweep", file, "--kinds", "crash", NULL);
    assert_non_null(strstr(out, "planned runs: crash "));
    assert_null(strstr(out, "never fired"));
    free(out);
    free(err);
    (void) unlink(file);
    free(file);
    (void) rmdir(dir);
}

static void test_explore(void **state)
{
    char dir[] = "/tmp/vcsim-explore-XXXXXX", *out1, *out2, *err, *file;

    (void) state;
    assert_non_null(mkdtemp(dir));
    file = write_tmp(dir, "life.yaml", life);
    /* A plan is a function of the seed: the same seeds give the same report. */
    (void) cli(&out1, &err, "vcsim", "explore", file, "--seeds", "1..40", NULL);
    free(err);
    (void) cli(&out2, &err, "vcsim", "explore", file, "--seeds", "1..40", "--jobs", "2", NULL);
    free(err);
    assert_non_null(strstr(out1, "explore: 1 baseline run (0 failed), 40 fault runs"));
    *strstr(out1, "; wall") = '\0';
    *strstr(out2, "; wall") = '\0';
    assert_string_equal(out1, out2);
    free(out1);
    free(out2);
    assert_int_equal(cli(&out1, &err, "vcsim", "explore", file, NULL), 2);
    assert_non_null(strstr(err, "--seeds"));
    free(out1);
    free(err);
    (void) unlink(file);
    free(file);
    (void) rmdir(dir);
}

static void test_shrink(void **state)
{
    char dir[] = "/tmp/vcsim-shrink-XXXXXX", *out, *err, *file, *shrunk, *text;
    struct vcsim_diag d = {0};
    struct vcsim_scenario *sc = NULL;
    struct vcsim_result res;
    size_t len;

    (void) state;
    assert_non_null(mkdtemp(dir));
    file = write_tmp(dir, "life.yaml", life);
    assert_true(asprintf(&shrunk, "%s/shrunk.yaml", dir) > 0);
    /* Exec fails: what matters is creating, starting and the exec; the unrelated rule goes. */
    assert_int_equal(cli(&out, &err, "vcsim", "shrink", file, "--fault",
                         "point=agent.Exec,errno=EIO", "--fault",
                         "point=agent.Nothing,every=true,errno=EPERM", "-o", shrunk, NULL),
                     0);
    assert_non_null(strstr(err, "to 3 of 7 steps and 1 of 2 fault rules"));
    free(out);
    free(err);
    d.path = shrunk;
    assert_int_equal(vcsim_file_read(shrunk, &d, &text, &len), 0);
    assert_non_null(strstr(text, "# Shrunk by vcsim shrink"));
    assert_non_null(strstr(text, "create_sandbox"));
    assert_non_null(strstr(text, "start_sandbox"));
    assert_non_null(strstr(text, "point: agent.Exec"));
    assert_null(strstr(text, "agent.Nothing"));
    assert_null(strstr(text, "read_stdout"));
    free(text);
    /* The written file is a scenario of its own that fails the same way. */
    assert_int_equal(vcsim_scenario_load(shrunk, &d, &sc), 0);
    assert_int_equal(sc->n_steps, 3);
    assert_int_equal(vcsim_run(sc, sc->seed, NULL, &res), 0);
    assert_false(res.passed);
    assert_non_null(strstr(res.message, "rc EIO"));
    vcsim_result_clear(&res);
    vcsim_scenario_free(sc);
    /* A run that passes has nothing to shrink. */
    assert_int_equal(cli(&out, &err, "vcsim", "shrink", file, NULL), 1);
    assert_non_null(strstr(err, "does not fail"));
    free(out);
    free(err);
    (void) unlink(shrunk);
    (void) unlink(file);
    free(shrunk);
    free(file);
    (void) rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_spec),      cmocka_unit_test(test_emit_round_trip),
        cmocka_unit_test(test_invariants_only), cmocka_unit_test(test_sweep_finds_and_reproduces),
        cmocka_unit_test(test_explore),         cmocka_unit_test(test_shrink),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
