/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the mock agent's in-process front end ("mock") driven through the real core API on a
 * simhv world: hypervisor "sim", agent "mock", the guest model on its own guest context. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vc/status.h>
#include <vc/vc.h>

#include <mockagent/agent.h>
#include <mockagent/host.h>
#include <mockagent/sim.h>
#include <simhv/hv.h>
#include <simhv/world.h>

#include "magent_model.h"

#define MS SIMHV_NS_PER_MS
#define S  SIMHV_NS_PER_S

struct afix {
    struct simhv_world *w;  /* the world */
    struct simhv_ctx *gctx; /* guest context */
    struct simhv_ctx *rctx; /* runtime context */
    struct magent_host *h;  /* the mock agent's guests */
    struct vc_ctx *ctx;     /* = simhv_ctx_vc(rctx) */
};

static char *sleep_argv[] = {"sleep", "*"};
static char *cat_argv[] = {"cat"};
static char *echo_argv[] = {"echo", "**"};
static char *hog_argv[] = {"hog"};
static struct magent_signal_rule usr1_rule = {.signal = 10, .exit_code = 42};

static struct magent_program programs[] = {
    {.argv = sleep_argv, .n_argv = 2, .runtime_ns = 5 * S, .exit_code = 7},
    {.argv = cat_argv, .n_argv = 1, .echo_stdin = true},
    {.argv = echo_argv, .n_argv = 2, .out = "hello world\n", .runtime_ns = 10 * MS},
    {.argv = hog_argv, .n_argv = 1, .runtime_ns = UINT64_MAX, .oom_after_ns = 2 * S},
    {.argv = NULL, .n_argv = 0, .runtime_ns = UINT64_MAX, .signals = &usr1_rule, .n_signals = 1},
};

static struct afix *afix_new(struct magent_rule *rules, size_t n_rules)
{
    struct magent_script script = {
        .rules = rules, .n_rules = n_rules, .programs = programs, .n_programs = 5};
    struct afix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(simhv_world_new(NULL, &f->w), 0);
    assert_int_equal(simhv_ctx_new(f->w, "guest", &f->gctx), 0);
    assert_int_equal(magent_host_new(simhv_ctx_vc(f->gctx), &script, &f->h), 0);
    simhv_world_set_guest(f->w, &magent_simhv_guest_ops, f->h);
    assert_int_equal(simhv_ctx_new(f->w, "runtime", &f->rctx), 0);
    f->ctx = simhv_ctx_vc(f->rctx);
    assert_int_equal(vc_ctx_register_agent(f->ctx, &mockagent_ops, f->h), 0);
    return f;
}

static void afix_free(struct afix *f)
{
    simhv_world_set_guest(f->w, NULL, NULL);
    simhv_ctx_free(f->rctx);
    magent_host_free(f->h);
    simhv_ctx_free(f->gctx);
    simhv_world_free(f->w);
    free(f);
}

static char *init_args[] = {"server"};

/* Sandbox "sb" with container "c1" running `server`, created and started. */
static void run_sandbox(struct afix *f)
{
    struct vc_container_config ct = {.id = "c1", .process = {.args = init_args, .n_args = 1}};
    char *dns[] = {"nameserver 10.0.0.1"};
    struct vc_sandbox_config cfg = {
        .id = "sb",
        .hostname = "guesthost",
        .hv = {.kind = "sim",
               .vcpus = 1,
               .max_vcpus = 4,
               .memory_mb = 256,
               .max_memory_mb = 2048,
               .mem_slots = 4},
        .agent = {.kind = "mock", .policy = "package agent_policy"},
        .net = {.dns = dns, .n_dns = 1},
        .containers = &ct,
        .n_containers = 1,
    };

    assert_int_equal(vc_sandbox_run(f->ctx, &cfg), 0);
}

static struct magent_guest *guest(struct afix *f)
{
    struct magent_guest *g = magent_host_guest_at(f->h, 0);

    assert_non_null(g);
    return g;
}

static void enter(struct afix *f, const char *eid, char **args, size_t n)
{
    struct vc_process_config cmd = {.args = args, .n_args = n};
    struct vc_process p = {0};

    assert_int_equal(vc_container_enter(f->ctx, "sb", "c1", eid, &cmd, &p), 0);
    assert_string_equal(p.exec_id, eid);
    assert_true(p.pid >= MAGENT_PID_FIRST);
    vc_process_clear(f->ctx, &p);
}

static void test_lifecycle(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    struct magent_ct_view v;
    struct magent_guest *g;
    char *sleep5[] = {"sleep", "5"};
    int32_t st = -1;
    uint64_t t0;

    run_sandbox(f);
    g = guest(f);
    assert_true(magent_guest_sandbox_up(g));
    assert_string_equal(magent_guest_hostname(g), "guesthost");
    assert_string_equal(magent_guest_policy(g), "package agent_policy");
    assert_int_equal(magent_guest_container(g, "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_RUNNING);
    assert_int_equal(v.init_pid, MAGENT_PID_FIRST);
    assert_int_equal(v.n_running, 1);

    enter(f, "e1", sleep5, 2);
    t0 = simhv_world_now(f->w);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "e1", &st), 0);
    assert_int_equal(st, 7);
    /* WaitProcess waited for the program's 5 s of virtual time. */
    assert_true(simhv_world_now(f->w) - t0 >= 5 * S - 10 * MS);
    assert_true(simhv_world_now(f->w) - t0 < 6 * S);

    assert_int_equal(vc_container_stop(f->ctx, "sb", "c1", false), 0);
    assert_int_equal(magent_guest_container_count(g), 0);
    assert_int_equal(vc_sandbox_stop(f->ctx, "sb", false), 0);
    assert_int_equal(magent_host_guest_count(f->h), 0);
    assert_int_equal(vc_sandbox_delete(f->ctx, "sb"), 0);
    assert_int_equal(magent_host_unused_expectations(f->h), 0);
    afix_free(f);
}

static void test_signals_and_exit_codes(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    char *srv[] = {"worker"};
    int32_t st = -1;

    run_sandbox(f);
    enter(f, "k", srv, 1);
    enter(f, "u", srv, 1);
    assert_int_equal(vc_process_signal(f->ctx, "sb", "c1", "k", SIGKILL, false), 0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "k", &st), 0);
    assert_int_equal(st, 137);
    assert_int_equal(vc_process_signal(f->ctx, "sb", "c1", "u", SIGUSR1, false), 0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "u", &st), 0);
    assert_int_equal(st, 42);
    /* A reaped exec: kata-agent answers INTERNAL "Invalid exec id" -> -EIO. */
    assert_int_equal(vc_process_signal(f->ctx, "sb", "c1", "u", SIGKILL, false), -EIO);
    assert_non_null(
        strstr(vc_ctx_errmsg(f->ctx), "agent: SignalProcess: INTERNAL: Invalid exec id"));
    /* kill all: the init goes too. */
    assert_int_equal(vc_container_kill(f->ctx, "sb", "c1", SIGTERM, true), 0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "c1", &st), 0);
    assert_int_equal(st, 137); /* SIGTERM to an init with no handler becomes SIGKILL */
    afix_free(f);
}

static void test_stdio_echo(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    char *cat[] = {"cat"}, *hello[] = {"echo", "hi"};
    char buf[64];
    size_t n = 0, total = 0;
    int32_t st = -1;

    run_sandbox(f);
    enter(f, "h", hello, 2);
    while (vc_process_read_stdout(f->ctx, "sb", "c1", "h", buf + total, sizeof(buf) - total, &n) ==
               0 &&
           n)
        total += n;
    assert_int_equal(total, 12);
    assert_memory_equal(buf, "hello world\n", 12);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "h", &st), 0);
    assert_int_equal(st, 0);

    enter(f, "cat", cat, 1);
    assert_int_equal(vc_process_write_stdin(f->ctx, "sb", "c1", "cat", "ping\n", 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(vc_process_read_stdout(f->ctx, "sb", "c1", "cat", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "ping\n", 5);
    assert_int_equal(vc_process_close_stdin(f->ctx, "sb", "c1", "cat"), 0);
    assert_int_equal(vc_process_read_stdout(f->ctx, "sb", "c1", "cat", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "cat", &st), 0);
    assert_int_equal(st, 0);
    afix_free(f);
}

static void test_wait_forever(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    int32_t st;

    run_sandbox(f);
    /* The init runs until killed and nothing else is scheduled. */
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "c1", &st), -EDEADLK);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "WaitProcess would wait forever"));
    afix_free(f);
}

static void test_oom_event(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    char *hog[] = {"hog"};
    char *id = NULL;
    int32_t st;
    uint64_t t0;

    run_sandbox(f);
    t0 = simhv_world_now(f->w);
    enter(f, "hog", hog, 1);
    assert_int_equal(vc_sandbox_get_oom_event(f->ctx, "sb", &id), 0);
    assert_string_equal(id, "c1");
    vc_free(f->ctx, id);
    assert_true(simhv_world_now(f->w) - t0 >= 2 * S);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "hog", &st), 0);
    assert_int_equal(st, 137);
    assert_int_equal(magent_guest_oom(guest(f), "c1"), 0);
    assert_int_equal(vc_sandbox_get_oom_event(f->ctx, "sb", &id), 0);
    assert_string_equal(id, "c1");
    vc_free(f->ctx, id);
    afix_free(f);
}

static void test_script_error_delay_hang(void **state)
{
    struct magent_match m = {.field = "exec_id", .value = "bad*"};
    struct magent_rule rules[] = {
        {.rpc = "ExecProcess",
         .match = &m,
         .n_match = 1,
         .reply = MAGENT_REPLY_ERROR,
         .status = VC_STATUS_RESOURCE_EXHAUSTED,
         .message = "no room",
         .expected = true},
        {.rpc = "StatsContainer", .reply = MAGENT_REPLY_DELAY, .delay_ns = 3 * S},
        {.rpc = "UpdateContainer", .nth = 2, .limit = 1, .reply = MAGENT_REPLY_HANG},
        {.rpc = "GetMetrics", .reply = MAGENT_REPLY_OK, .expected = true},
    };
    struct afix *f = afix_new(rules, 4);
    struct vc_process_config cmd = {.args = init_args, .n_args = 1};
    struct vc_container_stats stats;
    struct vc_resources res = {.cpu_shares = 512};
    struct vc_process p;
    uint64_t t0;

    run_sandbox(f);
    assert_int_equal(vc_container_enter(f->ctx, "sb", "c1", "bad1", &cmd, &p), -ENOSPC);
    assert_string_equal(vc_ctx_errmsg(f->ctx), "agent: ExecProcess: RESOURCE_EXHAUSTED: no room");
    assert_int_equal(magent_guest_container_count(guest(f)), 1);
    t0 = simhv_world_now(f->w);
    assert_int_equal(vc_container_stats(f->ctx, "sb", "c1", &stats), 0);
    assert_true(simhv_world_now(f->w) - t0 >= 3 * S);
    assert_true(simhv_world_now(f->w) - t0 < 3 * S + 100 * MS);
    assert_int_equal(stats.pids_current, 1);
    assert_int_equal(vc_container_update(f->ctx, "sb", "c1", &res), 0);
    t0 = simhv_world_now(f->w);
    assert_int_equal(vc_container_update(f->ctx, "sb", "c1", &res), -ETIMEDOUT);
    assert_string_equal(vc_ctx_errmsg(f->ctx), "UpdateContainerRequest timed out");
    assert_true(simhv_world_now(f->w) - t0 >= 60 * S);
    assert_true(simhv_world_now(f->w) - t0 < 61 * S);
    assert_int_equal(vc_container_update(f->ctx, "sb", "c1", &res), 0); /* limit 1 */
    assert_int_equal(magent_host_script(f->h)->rules[2].used, 1);
    assert_int_equal(magent_host_unused_expectations(f->h), 1); /* GetMetrics never called */
    afix_free(f);
}

static void test_vm_pause_freezes_guest(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    char *sleep5[] = {"sleep", "5"};
    int32_t st;
    uint64_t t0;

    run_sandbox(f);
    enter(f, "s", sleep5, 2);
    t0 = simhv_world_now(f->w);
    assert_int_equal(vc_sandbox_pause(f->ctx, "sb"), 0);
    assert_true(magent_guest_paused(guest(f)));
    (void) simhv_world_run_until(f->w, simhv_world_now(f->w) + 20 * S);
    assert_int_equal(vc_sandbox_resume(f->ctx, "sb"), 0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "s", &st), 0);
    assert_int_equal(st, 7);
    /* 20 s frozen: the process ended 25 s after it started, not 5. */
    assert_true(simhv_world_now(f->w) - t0 >= 25 * S);
    afix_free(f);
}

static void test_vm_crash_resets(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    int32_t st;

    run_sandbox(f);
    assert_int_equal(simhv_world_crash_vm(f->w, "sb"), 0);
    assert_int_equal(magent_host_guest_count(f->h), 0);
    /* Nobody listens at the CID any more. */
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "c1", &st), -ECONNREFUSED);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "no agent listening at vsock://"));
    afix_free(f);
}

/* The VM dies while WaitProcess waits: the call fails as a reset connection. */
static void crash_event(void *data)
{
    (void) simhv_world_crash_vm(data, "sb");
}

static void test_vm_crash_in_flight(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    int32_t st;

    run_sandbox(f);
    assert_int_equal(simhv_world_schedule(f->w, simhv_world_now(f->w) + S, crash_event, f->w, NULL),
                     0);
    assert_int_equal(vc_process_wait(f->ctx, "sb", "c1", "c1", &st), -ECONNRESET);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "connection reset"));
    afix_free(f);
}

static void test_refusals_and_guest_services(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    struct vc_copy_file cf = {.path = "/run/kata-containers/shared/x",
                              .file_mode = 0600,
                              .data = (uint8_t *) "data",
                              .size = 4};
    struct vc_volume_stats vs = {0};
    struct vc_guest_details d = {0};
    const uint8_t *data;
    uint8_t *ipt = NULL;
    char *s = NULL;
    size_t size;
    uint32_t mode;

    run_sandbox(f);
    assert_int_equal(vc_sandbox_copy_file(f->ctx, "sb", &cf), 0);
    assert_int_equal(magent_guest_file(guest(f), cf.path, &data, &size, &mode), 0);
    assert_int_equal(size, 4);
    cf.path = "/etc/shadow";
    assert_int_equal(vc_sandbox_copy_file(f->ctx, "sb", &cf), -EIO);
    assert_int_equal(vc_sandbox_set_iptables(f->ctx, "sb", false, (const uint8_t *) "*filter", 7),
                     0);
    assert_int_equal(vc_sandbox_get_iptables(f->ctx, "sb", false, &ipt, &size), 0);
    assert_int_equal(size, 7);
    vc_free(f->ctx, ipt);
    assert_int_equal(vc_sandbox_guest_volume_stats(f->ctx, "sb", "/vol", &vs), 0);
    assert_int_equal(vs.bytes_total, UINT64_C(1) << 30);
    vc_volume_stats_clear(f->ctx, &vs);
    assert_int_equal(vc_sandbox_guest_details(f->ctx, "sb", &d), 0);
    assert_string_equal(d.agent_version, "3.2.0-vcsim");
    vc_guest_details_clear(f->ctx, &d);
    assert_int_equal(vc_sandbox_get_agent_metrics(f->ctx, "sb", &s), 0);
    assert_non_null(strstr(s, "kata_agent_containers 1"));
    vc_free(f->ctx, s);
    assert_int_equal(vc_container_process_list(f->ctx, "sb", "c1", NULL, &s), 0);
    assert_non_null(strstr(s, "server"));
    vc_free(f->ctx, s);
    assert_int_equal(vc_sandbox_set_guest_date_time(f->ctx, "sb"), 0);
    assert_true(magent_guest_date_time_sec(guest(f)) >= SIMHV_WALL_EPOCH_NS / (int64_t) S);
    assert_int_equal(vc_sandbox_add_swap(f->ctx, "sb", (const uint32_t[]){2, 1}, 2), 0);
    assert_int_equal(magent_guest_swap_count(guest(f)), 1);
    afix_free(f);
}

static void test_agent_handle(void **state)
{
    struct afix *f = afix_new(NULL, 0);
    struct vc_agent_backend be;
    struct vc_agent_config cfg = {.kind = "mock"};
    struct vc_agent *a = NULL, *b = NULL;
    char *st = NULL, *url = NULL;
    uint32_t caps = 0;
    struct vc_process p;
    struct vc_container_config cc = {.id = "c9", .process = {.args = init_args, .n_args = 1}};

    run_sandbox(f);
    assert_int_equal(vc_ctx_agent_backend(f->ctx, "mock", &be), 0);
    assert_int_equal(vc_agent_init(f->ctx, &be, "sb", &cfg, &a), 0);
    assert_int_equal(vc_agent_check(a), -EINVAL); /* no url yet */
    assert_int_equal(vc_agent_set_agent_url(a, "vsock://99:1024"), 0);
    assert_int_equal(vc_agent_check(a), -ECONNREFUSED);
    assert_int_equal(vc_agent_set_agent_url(a, "vsock://3:1024"), 0);
    assert_int_equal(vc_agent_check(a), 0);
    assert_int_equal(vc_agent_capabilities(a, &caps), 0);
    assert_true(caps & VC_AGENT_CAP_BLOCK_DEVICE);
    assert_false(vc_agent_long_live_conn(a));
    assert_int_equal(vc_agent_save(a, &st), 0);
    assert_string_equal(st, "{\"url\":\"vsock:\\/\\/3:1024\"}");
    assert_int_equal(vc_agent_load(f->ctx, &be, "sb", &cfg, st, &b), 0);
    assert_int_equal(vc_agent_get_agent_url(b, &url), 0);
    assert_string_equal(url, "vsock://3:1024");
    /* Refusals with kata-agent's statuses. */
    assert_int_equal(vc_agent_start_container(b, "nope"), -EIO);
    assert_int_equal(vc_agent_pause_container(b, "nope"), -EINVAL);
    assert_string_equal(vc_ctx_errmsg(f->ctx),
                        "agent: PauseContainer: INVALID_ARGUMENT: invalid container id");
    assert_int_equal(vc_agent_create_container(b, &cc, &p), 0);
    vc_process_clear(f->ctx, &p);
    assert_int_equal(vc_agent_create_container(b, &cc, &p), -EIO);
    assert_int_equal(vc_agent_winsize_process(b, "c9", "zz", 1, 1), -ECONNREFUSED);
    assert_int_equal(vc_agent_online_cpu_mem(b, 8, true), -EIO);
    assert_int_equal(vc_agent_stop_container(b, "c9"), 0);
    vc_agent_mark_dead(b);
    assert_int_equal(vc_agent_check(b), -ENOTCONN);
    vc_free(f->ctx, st);
    vc_free(f->ctx, url);
    vc_agent_free(a);
    vc_agent_free(b);
    afix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_signals_and_exit_codes),
        cmocka_unit_test(test_stdio_echo),
        cmocka_unit_test(test_wait_forever),
        cmocka_unit_test(test_oom_event),
        cmocka_unit_test(test_script_error_delay_hang),
        cmocka_unit_test(test_vm_pause_freezes_guest),
        cmocka_unit_test(test_vm_crash_resets),
        cmocka_unit_test(test_vm_crash_in_flight),
        cmocka_unit_test(test_refusals_and_guest_services),
        cmocka_unit_test(test_agent_handle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
