/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the agent wrappers and the noop agent: every wrapper through the noop agent,
 * unsupported members, fault points and their names, dead agents, argument checks and the debug
 * log. Each test gets its own bare context on a fixed clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/log.h>
#include <vc/types.h>

#include "schema.h"

#define MAX_POINTS 64

/* Records the fault points asked (except "alloc") and fails one of them. */
struct fault_rec {
    char points[MAX_POINTS][48]; /* points asked, in order */
    size_t n;                    /* number of points */
    const char *fail;            /* the point to fail, or NULL */
    int err;                     /* negative errno it fails with */
};

struct log_rec {
    unsigned n;     /* debug messages with topic "agent" */
    char last[128]; /* the last of them */
};

struct fixture {
    struct vc_ctx *ctx;      /* a bare context */
    struct vc_agent *agent;  /* a noop agent made through vc_agent_init */
    struct fault_rec faults; /* the fault hook's record */
    struct log_rec log;      /* the log sink's record */
};

static uint64_t fixed_monotonic(void *data)
{
    return 42;
}

static int64_t fixed_wall(void *data)
{
    return 1700000000LL * 1000000000LL;
}

static uint64_t fixed_random(void *data)
{
    return 4;
}

static int fault_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    struct fault_rec *rec = data;

    if (strcmp(point, "alloc") == 0)
        return 0;
    assert_true(rec->n < MAX_POINTS);
    (void) snprintf(rec->points[rec->n++], sizeof(rec->points[0]), "%s", point);
    return rec->fail && strcmp(point, rec->fail) == 0 ? rec->err : 0;
}

static void log_sink(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                     const char *msg)
{
    struct log_rec *rec = data;

    if (level != VC_LOG_DEBUG || strcmp(topic, "agent") != 0)
        return;
    rec->n++;
    (void) snprintf(rec->last, sizeof(rec->last), "%s", msg);
}

static int fixture_setup(void **state)
{
    static const struct vc_clock clock = {.monotonic = fixed_monotonic, .wall = fixed_wall};
    static const struct vc_rng rng = {.next = fixed_random};
    struct vc_agent_backend be;
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(vc_ctx_new(&clock, &rng, NULL, &fx->ctx), 0);
    assert_int_equal(vc_ctx_agent_backend(fx->ctx, "noop", &be), 0);
    assert_ptr_equal(be.ops, &vc_noop_agent_ops);
    assert_int_equal(vc_agent_init(fx->ctx, &be, "sb1", NULL, &fx->agent), 0);
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    vc_agent_free(fx->agent);
    vc_ctx_free(fx->ctx);
    free(fx);
    return 0;
}

/* --- the noop agent ----------------------------------------------------------------------- */

static void test_noop_base(void **state)
{
    struct fixture *fx = *state;

    assert_ptr_equal(fx->agent->ops, &vc_noop_agent_ops);
    assert_ptr_equal(fx->agent->ctx, fx->ctx);
    assert_false(fx->agent->dead);
    assert_string_equal(vc_noop_agent_ops.name, "noop");
    assert_int_equal(vc_noop_agent_ops.version, VC_AGENT_OPS_V1);
}

static void test_noop_lifecycle(void **state)
{
    struct fixture *fx = *state;
    struct vc_agent *other = NULL;
    struct vc_agent_backend be = {.ops = &vc_noop_agent_ops};
    uint32_t caps = 99;
    char *s = NULL;

    assert_int_equal(vc_agent_capabilities(fx->agent, &caps), 0);
    assert_int_equal(caps, 0);
    assert_int_equal(vc_agent_check(fx->agent), 0);
    assert_false(vc_agent_long_live_conn(fx->agent));
    assert_int_equal(vc_agent_get_agent_url(fx->agent, &s), 0);
    assert_string_equal(s, "");
    vc_free(fx->ctx, s);
    assert_int_equal(vc_agent_set_agent_url(fx->agent, "vsock://3:1024"), 0);
    assert_int_equal(vc_agent_configure(fx->agent, NULL, "sb1", NULL), 0);
    assert_int_equal(vc_agent_configure_from_grpc(fx->agent, NULL, "sb1", NULL), 0);
    assert_int_equal(vc_agent_save(fx->agent, &s), 0);
    assert_string_equal(s, "{}");
    assert_int_equal(vc_agent_load(fx->ctx, &be, "sb1", NULL, s, &other), 0);
    vc_free(fx->ctx, s);
    assert_ptr_equal(other->ops, &vc_noop_agent_ops);
    assert_int_equal(vc_agent_reuse_agent(fx->agent, other), 0);
    vc_agent_free(other);
    vc_agent_free(NULL);
    assert_int_equal(vc_agent_create_sandbox(fx->agent, NULL), 0);
    assert_int_equal(vc_agent_start_sandbox(fx->agent, NULL), 0);
    assert_int_equal(vc_agent_stop_sandbox(fx->agent), 0);
    assert_int_equal(vc_agent_disconnect(fx->agent), 0);
    vc_agent_cleanup(fx->agent, "sb1");
}

static void test_noop_containers(void **state)
{
    struct fixture *fx = *state;
    struct vc_container_config cfg = {.id = "c1"};
    struct vc_container_stats stats = {.cpu_total_ns = 7};
    struct vc_process p = {0};
    char *out = NULL;

    assert_int_equal(vc_agent_create_container(fx->agent, &cfg, &p), 0);
    assert_string_equal(p.exec_id, "c1");
    assert_int_equal(p.pid, 0);
    vc_obj_clear(fx->ctx, &vc_schema_process, &p);
    assert_int_equal(vc_agent_exec(fx->agent, "c1", "e1", NULL, &p), 0);
    assert_string_equal(p.exec_id, "e1");
    assert_int_equal(p.pid, 0);
    vc_obj_clear(fx->ctx, &vc_schema_process, &p);
    assert_int_equal(vc_agent_exec(fx->agent, "c1", NULL, NULL, &p), 0);
    assert_string_equal(p.exec_id, "c1");
    vc_obj_clear(fx->ctx, &vc_schema_process, &p);
    assert_int_equal(vc_agent_start_container(fx->agent, "c1"), 0);
    assert_int_equal(vc_agent_update_container(fx->agent, "c1", NULL), 0);
    assert_int_equal(vc_agent_stats_container(fx->agent, "c1", &stats), 0);
    assert_int_equal(stats.cpu_total_ns, 0);
    assert_int_equal(vc_agent_pause_container(fx->agent, "c1"), 0);
    assert_int_equal(vc_agent_resume_container(fx->agent, "c1"), 0);
    assert_int_equal(vc_agent_process_list_container(fx->agent, "c1", NULL, &out), 0);
    assert_string_equal(out, "");
    vc_free(fx->ctx, out);
    assert_int_equal(vc_agent_kill_container(fx->agent, "c1", 9, true), 0);
    assert_int_equal(vc_agent_stop_container(fx->agent, "c1"), 0);
    assert_int_equal(vc_agent_remove_stale_virtiofs_share_mounts(fx->agent), 0);
}

static void test_noop_processes(void **state)
{
    struct fixture *fx = *state;
    char buf[16];
    size_t n = 99;
    int32_t status = 99;

    assert_int_equal(vc_agent_signal_process(fx->agent, "c1", "e1", 15, false), 0);
    assert_int_equal(vc_agent_winsize_process(fx->agent, "c1", "e1", 24, 80), 0);
    assert_int_equal(vc_agent_write_process_stdin(fx->agent, "c1", "e1", "hello", 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(vc_agent_close_process_stdin(fx->agent, "c1", "e1"), 0);
    n = 99;
    assert_int_equal(vc_agent_read_process_stdout(fx->agent, "c1", "e1", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(vc_agent_read_process_stderr(fx->agent, "c1", "e1", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(vc_agent_wait_process(fx->agent, "c1", "e1", &status), 0);
    assert_int_equal(status, 0);
}

static void test_noop_network(void **state)
{
    struct fixture *fx = *state;
    struct vc_ip_address addr = {.family = VC_IP_V4, .address = "10.0.0.2", .mask = "24"};
    struct vc_interface in = {.device = "eth0", .name = "eth0", .addrs = &addr, .n_addrs = 1};
    struct vc_route routes[2] = {{.dest = "10.0.0.0/24", .device = "eth0"}, {.dest = ""}};
    struct vc_interface out = {0};
    struct vc_interface *ifaces = (void *) 1;
    struct vc_route *rv = NULL;
    size_t n = 99;

    assert_int_equal(vc_agent_update_interface(fx->agent, &in, &out), 0);
    assert_string_equal(out.device, "eth0");
    assert_ptr_not_equal(out.device, in.device);
    assert_int_equal(out.n_addrs, 1);
    assert_string_equal(out.addrs[0].address, "10.0.0.2");
    vc_obj_clear(fx->ctx, &vc_schema_interface, &out);
    assert_int_equal(vc_agent_list_interfaces(fx->agent, &ifaces, &n), 0);
    assert_null(ifaces);
    assert_int_equal(n, 0);
    assert_int_equal(vc_agent_update_routes(fx->agent, routes, 2, &rv, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rv[0].dest, "10.0.0.0/24");
    assert_string_equal(rv[1].dest, "");
    vc_obj_array_free(fx->ctx, &vc_schema_route, rv, n);
    rv = (void *) 1;
    assert_int_equal(vc_agent_list_routes(fx->agent, &rv, &n), 0);
    assert_null(rv);
    assert_int_equal(n, 0);
}

static void test_noop_guest(void **state)
{
    struct fixture *fx = *state;
    struct vc_guest_details details = {.mem_block_size_bytes = 1};
    struct vc_volume_stats vs = {.bytes_total = 1};
    uint32_t pci_path[2] = {2, 0};
    uint8_t *rules = (void *) 1;
    size_t n = 99;
    char *s = NULL;

    assert_int_equal(vc_agent_online_cpu_mem(fx->agent, 2, false), 0);
    assert_int_equal(vc_agent_mem_hotplug_by_probe(fx->agent, 1ull << 32, 128, 128), 0);
    assert_int_equal(vc_agent_reseed_rng(fx->agent, "seed", 4), 0);
    assert_int_equal(vc_agent_update_ephemeral_mounts(fx->agent, NULL, 0), 0);
    assert_int_equal(vc_agent_get_guest_details(fx->agent, &details), 0);
    assert_int_equal(details.mem_block_size_bytes, 0);
    assert_null(details.agent_version);
    assert_int_equal(vc_agent_set_guest_date_time(fx->agent, 1, 2), 0);
    assert_int_equal(vc_agent_copy_file(fx->agent, NULL), 0);
    assert_int_equal(vc_agent_add_swap(fx->agent, pci_path, 2), 0);
    assert_int_equal(vc_agent_get_oom_event(fx->agent, &s), 0);
    assert_string_equal(s, "");
    vc_free(fx->ctx, s);
    assert_int_equal(vc_agent_get_agent_metrics(fx->agent, &s), 0);
    assert_string_equal(s, "");
    vc_free(fx->ctx, s);
    assert_int_equal(vc_agent_get_guest_volume_stats(fx->agent, "/v", &vs), 0);
    assert_int_equal(vs.bytes_total, 0);
    assert_int_equal(vc_agent_resize_guest_volume(fx->agent, "/v", 1 << 20), 0);
    assert_int_equal(vc_agent_get_iptables(fx->agent, false, &rules, &n), 0);
    assert_null(rules);
    assert_int_equal(n, 0);
    assert_int_equal(vc_agent_set_iptables(fx->agent, true, (const uint8_t *) "x", 1), 0);
    assert_int_equal(vc_agent_set_policy(fx->agent, "package agent_policy"), 0);
    assert_int_equal(vc_agent_get_diagnostic_data(fx->agent, "dmesg", "c1", &s), 0);
    assert_string_equal(s, "");
    vc_free(fx->ctx, s);
}

/* --- unsupported members -------------------------------------------------------------------- */

/* A backend that implements only its factory and destructor, and leaves the base to core. */
static int partial_init(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                        const struct vc_agent_config *cfg, struct vc_agent **ret)
{
    struct vc_agent *a = vc_new0(ctx, struct vc_agent, 1);

    if (!a)
        return -ENOMEM;
    *ret = a;
    return 0;
}

static void partial_destroy(struct vc_agent *agent)
{
    if (agent)
        vc_free(agent->ctx, agent);
}

static const struct vc_agent_ops partial_ops = {
    .version = VC_AGENT_OPS_V1,
    .name = "partial",
    .init = partial_init,
    .destroy = partial_destroy,
};

static void assert_unsupported(struct fixture *fx, int r, const char *method)
{
    char want[128];

    (void) snprintf(want, sizeof(want), "agent 'partial' does not support %s", method);
    assert_int_equal(r, -EOPNOTSUPP);
    assert_int_equal(vc_ctx_errcode(fx->ctx), -EOPNOTSUPP);
    assert_string_equal(vc_ctx_errmsg(fx->ctx), want);
}

static void test_unsupported(void **state)
{
    struct fixture *fx = *state;
    struct vc_agent_backend be = {.ops = &partial_ops};
    struct vc_agent *a = NULL;
    struct vc_agent *b = (void *) 1;
    struct vc_process p = {.pid = 77};
    int32_t status = 77;
    char *s = (void *) 1;
    size_t n = 77;

    assert_int_equal(vc_agent_init(fx->ctx, &be, "sb1", NULL, &a), 0);
    assert_ptr_equal(a->ops, &partial_ops);
    assert_ptr_equal(a->ctx, fx->ctx);
    assert_unsupported(fx, vc_agent_load(fx->ctx, &be, "sb1", NULL, "{}", &b), "load");
    assert_ptr_equal(b, (void *) 1);
    assert_unsupported(fx, vc_agent_check(a), "Check");
    assert_unsupported(fx, vc_agent_create_container(a, NULL, &p), "CreateContainer");
    assert_int_equal(p.pid, 77);
    assert_unsupported(fx, vc_agent_wait_process(a, "c1", "c1", &status), "WaitProcess");
    assert_int_equal(status, 77);
    assert_unsupported(fx, vc_agent_read_process_stdout(a, "c1", "c1", NULL, 0, &n), "ReadStdout");
    assert_int_equal(n, 77);
    assert_unsupported(fx, vc_agent_write_process_stdin(a, "c1", "c1", "x", 1, &n), "WriteStdin");
    assert_unsupported(fx, vc_agent_get_agent_url(a, &s), "GetAgentURL");
    assert_ptr_equal(s, (void *) 1);
    assert_unsupported(fx, vc_agent_online_cpu_mem(a, 1, false), "OnlineCPUMem");
    assert_unsupported(fx, vc_agent_disconnect(a), "Disconnect");
    assert_unsupported(fx, vc_agent_get_iptables(a, false, NULL, NULL), "GetIPTables");
    assert_unsupported(fx, vc_agent_process_list_container(a, "c1", NULL, &s),
                       "ProcessListContainer");
    /* The members that cannot fail are skipped quietly. */
    assert_false(vc_agent_long_live_conn(a));
    vc_agent_cleanup(a, "sb1");
    vc_agent_mark_dead(a);
    assert_true(a->dead);
    vc_agent_free(a);
}

/* --- faults --------------------------------------------------------------------------------- */

static void test_fault_points(void **state)
{
    static const char *const want[] = {
        "agent.init",
        "agent.CreateSandbox",
        "agent.CreateContainer",
        "agent.StartContainer",
        "agent.WaitProcess",
        "agent.ReadStdout",
        "agent.WriteStdin",
        "agent.CloseStdin",
        "agent.WinsizeProcess",
        "agent.Exec",
        "agent.UpdateContainer",
        "agent.OnlineCPUMem",
        "agent.Disconnect",
        "agent.Save",
    };
    struct fixture *fx = *state;
    struct vc_agent_backend be = {.ops = &vc_noop_agent_ops};
    struct vc_container_config cfg = {.id = "c1"};
    struct vc_process p = {.pid = 77};
    struct vc_agent *a = NULL;
    int32_t status;
    char buf[4];
    size_t n;
    char *s;

    fx->faults = (struct fault_rec){.fail = "agent.CreateContainer", .err = -EIO};
    vc_ctx_set_fault(fx->ctx, fault_hook, &fx->faults);
    assert_int_equal(vc_agent_init(fx->ctx, &be, "sb1", NULL, &a), 0);
    assert_int_equal(vc_agent_create_sandbox(a, NULL), 0);
    assert_int_equal(vc_agent_create_container(a, &cfg, &p), -EIO);
    assert_int_equal(vc_ctx_errcode(fx->ctx), -EIO);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "agent.CreateContainer"));
    assert_null(p.exec_id);
    assert_int_equal(p.pid, 77);
    assert_int_equal(vc_agent_start_container(a, "c1"), 0);
    assert_int_equal(vc_agent_wait_process(a, "c1", "c1", &status), 0);
    assert_int_equal(vc_agent_read_process_stdout(a, "c1", "c1", buf, sizeof(buf), &n), 0);
    assert_int_equal(vc_agent_write_process_stdin(a, "c1", "c1", "x", 1, &n), 0);
    assert_int_equal(vc_agent_close_process_stdin(a, "c1", "c1"), 0);
    assert_int_equal(vc_agent_winsize_process(a, "c1", "c1", 1, 1), 0);
    assert_int_equal(vc_agent_exec(a, "c1", "e1", NULL, &p), 0);
    vc_obj_clear(fx->ctx, &vc_schema_process, &p);
    assert_int_equal(vc_agent_update_container(a, "c1", NULL), 0);
    assert_int_equal(vc_agent_online_cpu_mem(a, 1, true), 0);
    assert_int_equal(vc_agent_disconnect(a), 0);
    assert_int_equal(vc_agent_save(a, &s), 0);
    vc_free(fx->ctx, s);
    /* No fault points for the members that cannot fail. */
    (void) vc_agent_long_live_conn(a);
    vc_agent_cleanup(a, "sb1");
    vc_agent_mark_dead(a);
    vc_agent_free(a);

    assert_int_equal(fx->faults.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < fx->faults.n; i++)
        assert_string_equal(fx->faults.points[i], want[i]);
}

static void test_fault_init(void **state)
{
    struct fixture *fx = *state;
    struct vc_agent_backend be = {.ops = &vc_noop_agent_ops};
    struct vc_agent *a = (void *) 1;

    fx->faults = (struct fault_rec){.fail = "agent.init", .err = -ENOMEM};
    vc_ctx_set_fault(fx->ctx, fault_hook, &fx->faults);
    assert_int_equal(vc_agent_init(fx->ctx, &be, "sb1", NULL, &a), -ENOMEM);
    assert_ptr_equal(a, (void *) 1);
    fx->faults = (struct fault_rec){.fail = "agent.load", .err = -EIO};
    assert_int_equal(vc_agent_load(fx->ctx, &be, "sb1", NULL, "{}", &a), -EIO);
    assert_ptr_equal(a, (void *) 1);
    assert_string_equal(fx->faults.points[0], "agent.load");
}

/* Allocation failures inside the noop agent are clean -ENOMEM with out-params untouched. */
static int fail_alloc_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    return strcmp(point, "alloc") == 0 ? -ENOMEM : 0;
}

static void test_noop_out_of_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_agent_backend be = {.ops = &vc_noop_agent_ops};
    struct vc_interface in = {.device = "eth0"};
    struct vc_interface out = {.mtu = 7};
    struct vc_route route = {.dest = "d"};
    struct vc_route *rv = (void *) 1;
    struct vc_process p = {.pid = 7};
    struct vc_agent *a = (void *) 1;
    char *s = (void *) 1;
    size_t n = 7;

    vc_ctx_set_fault(fx->ctx, fail_alloc_hook, NULL);
    assert_int_equal(vc_agent_init(fx->ctx, &be, "sb1", NULL, &a), -ENOMEM);
    assert_ptr_equal(a, (void *) 1);
    assert_int_equal(vc_agent_get_agent_url(fx->agent, &s), -ENOMEM);
    assert_int_equal(vc_agent_save(fx->agent, &s), -ENOMEM);
    assert_ptr_equal(s, (void *) 1);
    assert_int_equal(vc_agent_exec(fx->agent, "c1", "e1", NULL, &p), -ENOMEM);
    assert_int_equal(p.pid, 7);
    assert_int_equal(vc_agent_update_interface(fx->agent, &in, &out), -ENOMEM);
    assert_int_equal(out.mtu, 7);
    assert_int_equal(vc_agent_update_routes(fx->agent, &route, 1, &rv, &n), -ENOMEM);
    assert_ptr_equal(rv, (void *) 1);
    assert_int_equal(n, 7);
}

/* --- dead agents, arguments, logging --------------------------------------------------------- */

static void test_dead(void **state)
{
    struct fixture *fx = *state;
    int32_t status = 77;

    vc_agent_mark_dead(fx->agent);
    assert_true(fx->agent->dead);
    fx->faults = (struct fault_rec){0};
    vc_ctx_set_fault(fx->ctx, fault_hook, &fx->faults);
    assert_int_equal(vc_agent_check(fx->agent), -ENOTCONN);
    assert_string_equal(vc_ctx_errmsg(fx->ctx), "agent is dead");
    assert_int_equal(vc_agent_start_container(fx->agent, "c1"), -ENOTCONN);
    assert_int_equal(vc_agent_wait_process(fx->agent, "c1", "c1", &status), -ENOTCONN);
    assert_int_equal(status, 77);
    /* A dead agent is not asked: no fault point ran. */
    assert_int_equal(fx->faults.n, 0);
    /* These still run on a dead agent. */
    assert_int_equal(vc_agent_disconnect(fx->agent), 0);
    assert_false(vc_agent_long_live_conn(fx->agent));
    vc_agent_cleanup(fx->agent, "sb1");
    vc_agent_mark_dead(fx->agent);
    assert_int_equal(fx->faults.n, 1);
    assert_string_equal(fx->faults.points[0], "agent.Disconnect");
}

static void test_arguments(void **state)
{
    struct fixture *fx = *state;
    struct vc_agent *a = (void *) 1;

    assert_int_equal(vc_agent_check(NULL), -EINVAL);
    assert_int_equal(vc_agent_disconnect(NULL), -EINVAL);
    assert_int_equal(vc_agent_create_sandbox(NULL, NULL), -EINVAL);
    assert_false(vc_agent_long_live_conn(NULL));
    vc_agent_mark_dead(NULL);
    vc_agent_cleanup(NULL, "sb1");
    assert_int_equal(vc_agent_init(fx->ctx, NULL, "sb1", NULL, &a), -EINVAL);
    assert_int_equal(vc_agent_load(fx->ctx, NULL, "sb1", NULL, "{}", &a), -EINVAL);
    assert_ptr_equal(a, (void *) 1);
}

static void test_debug_log(void **state)
{
    struct fixture *fx = *state;

    vc_ctx_set_log(fx->ctx, log_sink, &fx->log, VC_LOG_DEBUG);
    assert_int_equal(vc_agent_check(fx->agent), 0);
    assert_int_equal(fx->log.n, 1);
    assert_string_equal(fx->log.last, "Check");
    assert_int_equal(vc_agent_stop_sandbox(fx->agent), 0);
    assert_string_equal(fx->log.last, "StopSandbox");
    vc_ctx_set_log(fx->ctx, log_sink, &fx->log, VC_LOG_INFO);
    assert_int_equal(vc_agent_check(fx->agent), 0);
    assert_int_equal(fx->log.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_noop_base, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_lifecycle, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_containers, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_processes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_network, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_guest, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fault_points, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fault_init, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_noop_out_of_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dead, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_arguments, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_debug_log, fixture_setup, fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
