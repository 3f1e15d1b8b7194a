/* SPDX-License-Identifier: Apache-2.0 */
/* Scenario parsing: a valid scenario becomes the expected model (world, guest script, faults,
 * steps, sandbox defaults), and malformed input is refused with the exact file:line:col. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vc/status.h>

#include "scenario.h"
#include "value.h"

static const char good[] = "name: demo\n"
                           "tags: [a, b]\n"
                           "seed: 7\n"
                           "world:\n"
                           "  boot_latency: [100ms, 1.5s]\n"
                           "  disk_capacity: 1MiB\n"
                           "sandbox:\n"
                           "  hv: {vcpus: 2}\n"
                           "guest:\n"
                           "  facts: {mem_block_size: 128MiB}\n"
                           "  programs:\n"
                           "    - argv: [sleep, \"*\"]\n"
                           "      runtime: forever\n"
                           "      signals: [{signal: TERM, exit: 143}]\n"
                           "  rules:\n"
                           "    - rpc: CreateContainer\n"
                           "      match: {container_id: c2}\n"
                           "      error: RESOURCE_EXHAUSTED\n"
                           "faults:\n"
                           "  - {point: \"agent.*\", every: true, limit: 3, errno: ETIMEDOUT}\n"
                           "  - {point: disk.write, nth: 2, torn_write: true, name: tear}\n"
                           "steps:\n"
                           "  - create_sandbox:\n"
                           "      id: sb1\n"
                           "      hostname: \"10\"\n"
                           "      containers: [{id: c1, args: [sleep, \"5\"]}]\n"
                           "    expect: {rc: 0, state: ready}\n"
                           "  - kill_container: {sandbox: sb1, id: c1, signal: SIGKILL}\n"
                           "    expect: {rc: ENOENT, error: gone}\n"
                           "  - advance: 2m\n"
                           "  - update_container: {sandbox: sb1, id: c1, resources: "
                           "{memory_limit: 512MiB}}\n";

static struct vcsim_scenario *parse_ok(const char *text)
{
    struct vcsim_diag d = {0};
    struct vcsim_scenario *s = NULL;
    int r = vcsim_scenario_parse("t.yaml", text, strlen(text), &d, &s);

    if (r < 0)
        fail_msg("unexpected parse error: %s", d.msg);
    return s;
}

/* Parses text that must fail and checks the whole message. */
static void parse_err(const char *text, const char *want)
{
    struct vcsim_diag d = {0};
    struct vcsim_scenario *s = NULL;
    int r = vcsim_scenario_parse("t.yaml", text, strlen(text), &d, &s);

    assert_int_equal(r, -EINVAL);
    assert_null(s);
    if (strcmp(d.msg, want) != 0)
        fail_msg("got '%s', want '%s'", d.msg, want);
}

static void test_good_model(void **state)
{
    struct vcsim_scenario *s = parse_ok(good);
    const struct vc_sandbox_config *cfg;
    const struct vc_resources *res;

    assert_string_equal(s->name, "demo");
    assert_int_equal(s->n_tags, 2);
    assert_true(vcsim_scenario_has_tag(s, "b"));
    assert_int_equal(s->seed, 7);
    assert_int_equal(s->world.boot_min_ns, 100 * SIMHV_NS_PER_MS);
    assert_int_equal(s->world.boot_max_ns, 1500 * SIMHV_NS_PER_MS);
    assert_int_equal(s->world.disk_capacity, 1u << 20);
    assert_int_equal(s->script.facts.mem_block_bytes, UINT64_C(128) << 20);
    assert_int_equal(s->script.n_programs, 1);
    assert_int_equal(s->script.programs[0].runtime_ns, UINT64_MAX);
    assert_int_equal(s->script.programs[0].signals[0].exit_code, 143);
    assert_int_equal(s->script.rules[0].reply, MAGENT_REPLY_ERROR);
    assert_int_equal(s->script.rules[0].status, VC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(s->script.rules[0].match[0].value, "c2");
    assert_int_equal(s->n_faults, 2);
    assert_int_equal(s->faults[0].trigger, SIMHV_TRIGGER_EVERY);
    assert_int_equal(s->faults[0].err, -ETIMEDOUT);
    assert_int_equal(s->faults[1].action, SIMHV_ACTION_TORN_WRITE);
    assert_string_equal(s->fault_names[1], "tear");
    assert_int_equal(s->n_steps, 4);
    cfg = s->steps[0].args.obj;
    assert_string_equal(cfg->id, "sb1");
    assert_string_equal(cfg->hostname, "10"); /* a quoted number stays a string */
    assert_int_equal(cfg->hv.vcpus, 2);       /* scenario default over the built-in */
    assert_int_equal(cfg->hv.memory_mb, 256); /* built-in default */
    assert_string_equal(cfg->hv.kind, "sim");
    assert_string_equal(cfg->agent.kind, "mock");
    assert_int_equal(cfg->n_containers, 1);
    assert_string_equal(cfg->containers[0].process.args[1], "5");
    assert_string_equal(cfg->containers[0].rootfs, "/run/vc/rootfs/c1");
    assert_int_equal(s->steps[0].expect.state, VC_STATE_READY);
    assert_int_equal(s->steps[1].args.signal, 9);
    assert_int_equal(s->steps[1].expect.rc, -ENOENT);
    assert_string_equal(s->steps[1].expect.error, "gone");
    assert_int_equal(s->steps[1].line, 28);
    assert_int_equal(s->steps[2].args.duration, 120 * SIMHV_NS_PER_S);
    res = s->steps[3].args.vec;
    assert_int_equal(res->memory_limit, 512 << 20);
    vcsim_scenario_free(s);
}

static void test_default_container(void **state)
{
    struct vcsim_scenario *s = parse_ok("steps:\n  - create_sandbox: {id: x, containers: "
                                        "[{id: c}]}\n");
    const struct vc_sandbox_config *cfg = s->steps[0].args.obj;

    assert_string_equal(s->name, "t");
    assert_int_equal(s->seed, 1);
    assert_int_equal(cfg->containers[0].process.n_args, 2);
    assert_string_equal(cfg->containers[0].process.args[0], "sleep");
    assert_string_equal(cfg->containers[0].process.args[1], "infinity");
    vcsim_scenario_free(s);
}

static void test_unknown_keys(void **state)
{
    parse_err("steps:\n  - start_sandbox: {id: sb1, bogus: 1}\n",
              "t.yaml:2:30: unknown key 'bogus' in step 'start_sandbox'");
    parse_err("nmae: x\nsteps: [{list_sandboxes: }]\n",
              "t.yaml:1:1: unknown key 'nmae' in scenario");
    parse_err("steps:\n  - create_sandbox: {id: a, hv: {vcpu: 2}}\n",
              "t.yaml:2:34: unknown key 'vcpu' in vc_hv_config");
    parse_err("steps:\n  - frobnicate: x\n", "t.yaml:2:5: unknown step 'frobnicate'");
    parse_err("steps:\n  - list_sandboxes:\n    expect: {output: x}\n",
              "t.yaml:3:14: step 'list_sandboxes' has no 'output' to expect");
}

static void test_bad_values(void **state)
{
    parse_err("world: {hv_op: 5 parsecs}\nsteps: [{list_sandboxes: }]\n",
              "t.yaml:1:16: bad duration '5 parsecs' (a number with ns, us, ms, s, m or h)");
    parse_err("steps:\n  - start_sandbox: sb1\n    expect: {rc: EWHAT}\n",
              "t.yaml:3:18: unknown errno name 'EWHAT'");
    parse_err("steps:\n  - create_sandbox: {id: a, hv: {vcpus: \"2\"}}\n",
              "t.yaml:2:41: expected an integer, got '2'");
    parse_err("steps:\n  - kill_container: {sandbox: a, id: b, signal: SIGNOPE}\n",
              "t.yaml:2:49: unknown signal 'SIGNOPE'");
    parse_err("faults: [{point: x, errno: EIO, delay: 1s}]\nsteps: [{list_sandboxes: }]\n",
              "t.yaml:1:10: fault needs exactly one action (errno delay hang vm_crash "
              "runtime_crash host_crash torn_write reset drop truncate corrupt duplicate drip)");
    parse_err("steps:\n  - stop_sandbox: {force: true}\n",
              "t.yaml:2:19: step 'stop_sandbox' needs 'id'");
    parse_err("steps: []\n", "t.yaml:1:8: steps must not be empty");
    parse_err("name: x\n", "t.yaml:1:1: scenario has no 'steps'");
}

static void test_malformed_yaml(void **state)
{
    parse_err("steps:\n  - start_sandbox: [sb1\n",
              "t.yaml:3:1: malformed YAML: did not find expected ',' or ']'");
    parse_err("a: &x [1]\nb: *x\n", "t.yaml:1:4: anchors and aliases are not supported");
    parse_err("a: 1\na: 2\n", "t.yaml:2:1: duplicate key 'a'");
    parse_err("- 1\n", "t.yaml:1:1: a scenario must be a map, got a list");
    parse_err("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is allowed");
}

static void test_limits(void **state)
{
    char *deep = malloc(4096);
    size_t n = 0;

    assert_non_null(deep);
    n += (size_t) sprintf(deep, "steps: ");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    parse_err(deep, "t.yaml:1:71: nesting too deep");
    free(deep);
}

static void test_values(void **state)
{
    uint64_t v;

    assert_true(vcsim_parse_duration("250ms", &v));
    assert_int_equal(v, 250 * SIMHV_NS_PER_MS);
    assert_true(vcsim_parse_duration("1.5s", &v));
    assert_int_equal(v, 1500 * SIMHV_NS_PER_MS);
    assert_true(vcsim_parse_duration("0", &v));
    assert_int_equal(v, 0);
    assert_false(vcsim_parse_duration("5", &v));
    assert_false(vcsim_parse_duration("5 s", &v));
    assert_true(vcsim_parse_size("64MiB", &v));
    assert_int_equal(v, 64u << 20);
    assert_true(vcsim_parse_size("4096", &v));
    assert_int_equal(v, 4096);
    assert_int_equal(vcsim_errno_from_name("ENOSPC"), -ENOSPC);
    assert_int_equal(vcsim_errno_from_name("ENOPE"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_model),     cmocka_unit_test(test_default_container),
        cmocka_unit_test(test_unknown_keys),   cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_malformed_yaml), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
