/* SPDX-License-Identifier: Apache-2.0 */
/* Every API entry point against the noop agent and the simulated hypervisor: results, state
 * checks with errors naming both sides, what the store and the VM hold afterwards. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* Creates sandbox "sb" with n containers through the API. */
static void make_sandbox(struct fixture *fx, size_t n, bool run)
{
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", n);
    int r = run ? vc_sandbox_run(fx->ctx, cfg) : vc_sandbox_create(fx->ctx, cfg);

    vc_sandbox_config_free(fx->ctx, cfg);
    assert_int_equal(r, 0);
}

static int sb_state(struct fixture *fx)
{
    struct vc_sandbox_status *st = NULL;
    int s;

    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    s = st->state;
    vc_sandbox_status_free(fx->ctx, st);
    return s;
}

static int ct_state(struct fixture *fx, const char *cid)
{
    struct vc_container_status *st = NULL;
    int s;

    assert_int_equal(vc_container_status(fx->ctx, "sb", cid, &st), 0);
    s = st->state;
    vc_container_status_free(fx->ctx, st);
    return s;
}

static void test_create_status_fetch(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = NULL;
    struct vc_sandbox_status *st = NULL;
    const struct simhv_vm *vm;

    make_sandbox(fx, 2, false);
    assert_int_equal(vc_sandbox_fetch(fx->ctx, "sb", &cfg, &st), 0);
    assert_string_equal(cfg->id, "sb");
    assert_int_equal(cfg->n_containers, 2);
    assert_string_equal(cfg->containers[1].id, "c2");
    assert_string_equal(cfg->containers[0].process.args[0], "sh");
    assert_int_equal(st->state, VC_STATE_READY);
    assert_string_equal(st->hv_kind, "sim");
    assert_string_equal(st->agent_kind, "noop");
    assert_int_equal(st->n_containers, 2);
    assert_int_equal(st->containers[0].state, VC_STATE_READY);
    assert_int_equal(st->vcpus, 1);
    assert_int_equal(st->memory_mb, 256);
    vc_sandbox_config_free(fx->ctx, cfg);
    vc_sandbox_status_free(fx->ctx, st);
    vm = simhv_world_vm(fx->world, "sb");
    assert_non_null(vm);
    assert_int_equal(vm->state, VC_VM_STATE_RUNNING);
    assert_true(vm->booted);
    assert_int_equal(vm->pid, SIMHV_PID_BASE);
}

static void test_create_twice_and_bad_kinds(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg;

    make_sandbox(fx, 0, false);
    cfg = fixture_sandbox_config(fx, "sb", 0);
    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), -EEXIST);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "already exists"));
    vc_free(fx->ctx, cfg->id);
    cfg->id = vc_strdup(fx->ctx, "other");
    vc_free(fx->ctx, cfg->agent.kind);
    cfg->agent.kind = vc_strdup(fx->ctx, "hyperstart");
    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "hyperstart"));
    vc_free(fx->ctx, cfg->agent.kind);
    cfg->agent.kind = vc_strdup(fx->ctx, "bogus");
    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "unknown agent kind 'bogus'"));
    vc_free(fx->ctx, cfg->agent.kind);
    cfg->agent.kind = vc_strdup(fx->ctx, "noop");
    vc_free(fx->ctx, cfg->hv.kind);
    cfg->hv.kind = vc_strdup(fx->ctx, "firecracker");
    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "unknown hypervisor kind 'firecracker'"));
    vc_sandbox_config_free(fx->ctx, cfg);
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
}

static void test_bad_ids(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "../x", 0);

    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), -EINVAL);
    vc_sandbox_config_free(fx->ctx, cfg);
    cfg = fixture_sandbox_config(fx, "sb", 0);
    vc_free(fx->ctx, cfg->containers);
    cfg->containers = NULL;
    vc_sandbox_config_free(fx->ctx, cfg);
    assert_int_equal(vc_sandbox_start(fx->ctx, "a/b"), -EINVAL);
    assert_int_equal(vc_sandbox_start(fx->ctx, "nosuch"), -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "does not exist"));
    assert_int_equal(fixture_store_entries(fx), 0);
}

static void test_lifecycle(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 2, false);
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(sb_state(fx), VC_STATE_RUNNING);
    assert_int_equal(ct_state(fx, "c1"), VC_STATE_RUNNING);
    /* start again: running -> running is not a transition */
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "from 'running' to 'running'"));
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), -EINVAL);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0);
    assert_int_equal(sb_state(fx), VC_STATE_STOPPED);
    assert_int_equal(ct_state(fx, "c2"), VC_STATE_STOPPED);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->state, VC_VM_STATE_STOPPED);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0); /* stopped: no-op */
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_int_equal(fixture_store_entries(fx), 0);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &(struct vc_sandbox_status *){0}), -ENOENT);
}

static void test_restart_after_stop(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 1, true);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0);
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(sb_state(fx), VC_STATE_RUNNING);
    assert_int_equal(ct_state(fx, "c1"), VC_STATE_RUNNING);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->state, VC_VM_STATE_RUNNING);
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
}

static void test_delete_ready_sandbox_stops_vm(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 1, false);
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_int_equal(fixture_store_entries(fx), 0);
}

static void test_pause_resume_sandbox(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 2, false);
    assert_int_equal(vc_sandbox_pause(fx->ctx, "sb"), -EINVAL); /* ready */
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "is ready"));
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(vc_container_pause(fx->ctx, "sb", "c2"), 0);
    assert_int_equal(vc_sandbox_pause(fx->ctx, "sb"), 0);
    assert_int_equal(sb_state(fx), VC_STATE_PAUSED);
    assert_int_equal(ct_state(fx, "c1"), VC_STATE_PAUSED);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->state, VC_VM_STATE_PAUSED);
    assert_int_equal(vc_sandbox_resume(fx->ctx, "sb"), 0);
    assert_int_equal(sb_state(fx), VC_STATE_RUNNING);
    assert_int_equal(ct_state(fx, "c1"), VC_STATE_RUNNING);
    /* c2 was paused on its own: the sandbox resume leaves it paused */
    assert_int_equal(ct_state(fx, "c2"), VC_STATE_PAUSED);
    assert_int_equal(vc_container_resume(fx->ctx, "sb", "c2"), 0);
    assert_int_equal(ct_state(fx, "c2"), VC_STATE_RUNNING);
    assert_int_equal(vc_sandbox_resume(fx->ctx, "sb"), -EINVAL);
}

static void test_container_lifecycle(void **state)
{
    struct fixture *fx = *state;
    struct vc_container_config *cc = fixture_container_config(fx, "extra");

    make_sandbox(fx, 0, true);
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), 0);
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), -EEXIST);
    assert_int_equal(ct_state(fx, "extra"), VC_STATE_READY);
    assert_int_equal(vc_container_pause(fx->ctx, "sb", "extra"), -EINVAL);
    assert_int_equal(vc_container_start(fx->ctx, "sb", "extra"), 0);
    assert_int_equal(vc_container_start(fx->ctx, "sb", "extra"), -EINVAL);
    assert_int_equal(vc_container_delete(fx->ctx, "sb", "extra"), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "container 'extra' is running"));
    assert_int_equal(vc_container_stop(fx->ctx, "sb", "extra", false), 0);
    assert_int_equal(ct_state(fx, "extra"), VC_STATE_STOPPED);
    assert_int_equal(vc_container_start(fx->ctx, "sb", "extra"), 0); /* stopped -> running */
    assert_int_equal(vc_container_stop(fx->ctx, "sb", "extra", false), 0);
    assert_int_equal(vc_container_delete(fx->ctx, "sb", "extra"), 0);
    assert_int_equal(
        vc_container_status(fx->ctx, "sb", "extra", &(struct vc_container_status *){0}), -ENOENT);
    assert_int_equal(vc_container_start(fx->ctx, "sb", "nosuch"), -ENOENT);
    fixture_container_config_free(fx, cc);
}

static void test_container_in_stopped_sandbox(void **state)
{
    struct fixture *fx = *state;
    struct vc_container_config *cc = fixture_container_config(fx, "late");

    make_sandbox(fx, 0, true);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0);
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "sandbox 'sb' is stopped"));
    fixture_container_config_free(fx, cc);
}

static void test_enter_kill_ps_stats(void **state)
{
    struct fixture *fx = *state;
    struct vc_process_config cmd = {.args = (char *[]){"echo", "hi"}, .n_args = 2};
    struct vc_ps_options bad = {.format = "yaml"};
    struct vc_container_stats stats;
    struct vc_process p = {0}, p2 = {0};
    char *out = NULL;

    make_sandbox(fx, 1, false);
    assert_int_equal(vc_container_enter(fx->ctx, "sb", "c1", NULL, &cmd, &p), -EINVAL);
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(vc_container_enter(fx->ctx, "sb", "c1", NULL, &cmd, &p), 0);
    assert_non_null(p.exec_id);
    assert_int_equal(strlen(p.exec_id), 16);
    assert_int_equal(vc_container_enter(fx->ctx, "sb", "c1", "mine", &cmd, &p2), 0);
    assert_string_equal(p2.exec_id, "mine");
    assert_int_equal(vc_container_enter(fx->ctx, "sb", "c1", "bad/id", &cmd, &p2), -EINVAL);
    assert_int_equal(vc_container_kill(fx->ctx, "sb", "c1", SIGTERM, true), 0);
    assert_int_equal(vc_container_process_list(fx->ctx, "sb", "c1", NULL, &out), 0);
    assert_non_null(out);
    vc_free(fx->ctx, out);
    assert_int_equal(vc_container_process_list(fx->ctx, "sb", "c1", &bad, &out), -EINVAL);
    assert_int_equal(vc_container_stats(fx->ctx, "sb", "c1", &stats), 0);
    vc_process_clear(fx->ctx, &p);
    vc_process_clear(fx->ctx, &p2);
}

static void test_process_calls(void **state)
{
    struct fixture *fx = *state;
    char buf[16];
    size_t n = 99;
    int32_t status = -1;

    make_sandbox(fx, 1, true);
    assert_int_equal(vc_process_wait(fx->ctx, "sb", "c1", "c1", &status), 0);
    assert_int_equal(status, 0);
    assert_int_equal(vc_process_wait(fx->ctx, "sb", "c1", "", &status), -EINVAL);
    assert_int_equal(vc_process_signal(fx->ctx, "sb", "c1", "", SIGKILL, true), 0);
    assert_int_equal(vc_process_signal(fx->ctx, "sb", "c1", "", SIGKILL, false), -EINVAL);
    assert_int_equal(vc_process_winsize(fx->ctx, "sb", "c1", "c1", 24, 80), 0);
    assert_int_equal(vc_process_write_stdin(fx->ctx, "sb", "c1", "c1", "abc", 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(vc_process_close_stdin(fx->ctx, "sb", "c1", "c1"), 0);
    assert_int_equal(vc_process_read_stdout(fx->ctx, "sb", "c1", "c1", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(vc_process_read_stderr(fx->ctx, "sb", "c1", "c1", buf, sizeof(buf), &n), 0);
    assert_int_equal(vc_container_stop(fx->ctx, "sb", "c1", false), 0);
    assert_int_equal(vc_process_wait(fx->ctx, "sb", "c1", "c1", &status), -EINVAL);
}

static void test_update_hotplugs_cpu_and_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_resources res = {
        .cpu_quota = 150000, .cpu_period = 100000, .memory_limit = 300ll << 20};
    struct vc_sandbox_status *st = NULL;
    const struct simhv_vm *vm;

    make_sandbox(fx, 1, true);
    assert_int_equal(vc_container_update(fx->ctx, "sb", "c1", &res), 0);
    vm = simhv_world_vm(fx->world, "sb");
    assert_int_equal(vm->vcpus, 3);          /* 1 + ceil(1.5) */
    assert_true(vm->memory_mb >= 256 + 300); /* rounded up to the memory block */
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    assert_int_equal(st->vcpus, vm->vcpus);
    assert_int_equal(st->memory_mb, vm->memory_mb);
    vc_sandbox_status_free(fx->ctx, st);
    /* more than the VM can take: clamped to the maximum (kata's ResizeVCPUs/ResizeMemory),
     * and once at the maximum a further increase asks for nothing more */
    res.cpu_quota = 1000000;
    res.memory_limit = 4096ll << 20;
    assert_int_equal(vc_container_update(fx->ctx, "sb", "c1", &res), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->vcpus, 4);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->memory_mb, 2048);
    res.memory_limit = 8192ll << 20;
    assert_int_equal(vc_container_update(fx->ctx, "sb", "c1", &res), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->memory_mb, 2048);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    assert_int_equal(st->memory_mb, 2048);
    vc_sandbox_status_free(fx->ctx, st);
}

static void test_create_container_with_limits(void **state)
{
    struct fixture *fx = *state;
    struct vc_container_config *cc = fixture_container_config(fx, "big");

    make_sandbox(fx, 0, true);
    cc->resources.cpu_quota = 200000;
    cc->resources.cpu_period = 100000;
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->vcpus, 3);
    assert_int_equal(vc_container_delete(fx->ctx, "sb", "big"), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->vcpus, 1); /* CPUs come back */
    fixture_container_config_free(fx, cc);
}

static void test_add_device(void **state)
{
    struct fixture *fx = *state;
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "disk0", .path = "/dev/null"};
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 2};
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 128};
    struct vc_sandbox_status *st = NULL;

    make_sandbox(fx, 0, false);
    assert_int_equal(vc_sandbox_add_device(fx->ctx, "sb", &blk), -EINVAL); /* not running */
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(vc_sandbox_add_device(fx->ctx, "sb", &blk), 0);
    assert_int_equal(vc_sandbox_add_device(fx->ctx, "sb", &blk), -EEXIST);
    assert_int_equal(vc_sandbox_add_device(fx->ctx, "sb", &cpu), 0);
    assert_int_equal(vc_sandbox_add_device(fx->ctx, "sb", &mem), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb")->n_devices, 1);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    assert_int_equal(st->vcpus, 3);
    assert_int_equal(st->memory_mb, 384);
    vc_sandbox_status_free(fx->ctx, st);
}

static void test_network(void **state)
{
    struct fixture *fx = *state;
    struct vc_ip_address addr = {.family = VC_IP_V4, .address = "10.0.0.2", .mask = "24"};
    struct vc_interface eth = {
        .name = "eth0", .device = "eth0", .addrs = &addr, .n_addrs = 1, .mtu = 1500};
    struct vc_route rt = {.dest = "0.0.0.0/0", .gateway = "10.0.0.1", .device = "eth0"};
    struct vc_interface out = {0}, *list = NULL;
    struct vc_route *routes = NULL;
    size_t n = 0;

    make_sandbox(fx, 0, true);
    assert_int_equal(vc_sandbox_add_interface(fx->ctx, "sb", &eth, &out), 0);
    assert_string_equal(out.name, "eth0");
    assert_int_equal(out.n_addrs, 1);
    vc_interface_clear(fx->ctx, &out);
    assert_int_equal(vc_sandbox_list_interfaces(fx->ctx, "sb", &list, &n), 0);
    vc_interfaces_free(fx->ctx, list, n);
    assert_int_equal(vc_sandbox_update_routes(fx->ctx, "sb", &rt, 1, &routes, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(routes[0].gateway, "10.0.0.1");
    vc_routes_free(fx->ctx, routes, n);
    assert_int_equal(vc_sandbox_list_routes(fx->ctx, "sb", &routes, &n), 0);
    vc_routes_free(fx->ctx, routes, n);
    assert_int_equal(vc_sandbox_remove_interface(fx->ctx, "sb", "eth0"), 0);
    assert_int_equal(vc_sandbox_remove_interface(fx->ctx, "sb", "eth0"), -ENOENT);
}

static void test_guest_services(void **state)
{
    struct fixture *fx = *state;
    struct vc_copy_file f = {
        .path = "/run/x", .file_mode = 0100644, .data = (uint8_t *) "hi", .size = 2};
    struct vc_copy_file bad = {.path = "/run/../etc/passwd"};
    struct vc_mount m = {.source = "tmpfs", .destination = "/dev/shm", .type = "tmpfs"};
    struct vc_guest_details gd;
    struct vc_volume_stats vs;
    uint32_t pci[] = {2, 1};
    uint8_t *ipt = NULL;
    char *s = NULL;
    size_t n = 0;

    make_sandbox(fx, 1, false);
    assert_int_equal(vc_sandbox_get_agent_metrics(fx->ctx, "sb", &s), -EINVAL); /* ready */
    assert_int_equal(vc_sandbox_start(fx->ctx, "sb"), 0);
    assert_int_equal(vc_sandbox_get_oom_event(fx->ctx, "sb", &s), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_sandbox_get_agent_metrics(fx->ctx, "sb", &s), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_sandbox_guest_volume_stats(fx->ctx, "sb", "/vol", &vs), 0);
    vc_volume_stats_clear(fx->ctx, &vs);
    assert_int_equal(vc_sandbox_guest_volume_stats(fx->ctx, "sb", "vol", &vs), -EINVAL);
    assert_int_equal(vc_sandbox_resize_guest_volume(fx->ctx, "sb", "/vol", 1 << 30), 0);
    assert_int_equal(vc_sandbox_set_iptables(fx->ctx, "sb", false, (const uint8_t *) "x", 1), 0);
    assert_int_equal(vc_sandbox_get_iptables(fx->ctx, "sb", false, &ipt, &n), 0);
    vc_free(fx->ctx, ipt);
    assert_int_equal(vc_sandbox_set_policy(fx->ctx, "sb", "package agent_policy"), 0);
    assert_int_equal(vc_sandbox_get_diagnostic_data(fx->ctx, "sb", "agent", "c1", &s), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_sandbox_guest_details(fx->ctx, "sb", &gd), 0);
    vc_guest_details_clear(fx->ctx, &gd);
    assert_int_equal(vc_sandbox_set_guest_date_time(fx->ctx, "sb"), 0);
    assert_int_equal(vc_sandbox_copy_file(fx->ctx, "sb", &f), 0);
    assert_int_equal(vc_sandbox_copy_file(fx->ctx, "sb", &bad), -EINVAL);
    assert_int_equal(vc_sandbox_add_swap(fx->ctx, "sb", pci, 2), 0);
    assert_int_equal(vc_sandbox_update_ephemeral_mounts(fx->ctx, "sb", &m, 1), 0);
}

static void test_list(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_status *v = NULL;
    struct vc_sandbox_config *cfg;
    size_t n = 0;

    assert_int_equal(vc_sandbox_list(fx->ctx, &v, &n), 0);
    assert_int_equal(n, 0);
    make_sandbox(fx, 1, false);
    cfg = fixture_sandbox_config(fx, "a-first", 0);
    assert_int_equal(vc_sandbox_run(fx->ctx, cfg), 0);
    vc_sandbox_config_free(fx->ctx, cfg);
    assert_int_equal(vc_sandbox_list(fx->ctx, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "a-first");
    assert_int_equal(v[0].state, VC_STATE_RUNNING);
    assert_string_equal(v[1].id, "sb");
    assert_int_equal(v[1].n_containers, 1);
    vc_sandbox_status_list_free(fx->ctx, v, n);
}

static void test_cleanup_container(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 2, true);
    assert_int_equal(vc_container_cleanup(fx->ctx, "sb", "c1", true), 0);
    assert_int_equal(sb_state(fx), VC_STATE_RUNNING);
    /* the last container takes the sandbox with it */
    assert_int_equal(vc_container_cleanup(fx->ctx, "sb", "c2", true), 0);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &(struct vc_sandbox_status *){0}), -ENOENT);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_int_equal(fixture_store_entries(fx), 0);
}

static void test_cleanup_after_vm_died(void **state)
{
    struct fixture *fx = *state;

    make_sandbox(fx, 1, true);
    assert_int_equal(simhv_world_crash_vm(fx->world, "sb"), 0);
    /* without force the agent, marked dead, refuses to stop the container */
    assert_int_not_equal(vc_container_cleanup(fx->ctx, "sb", "c1", false), 0);
    assert_int_equal(vc_container_cleanup(fx->ctx, "sb", "c1", true), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_int_equal(fixture_store_entries(fx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_status_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_twice_and_bad_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_ready_sandbox_stops_vm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_in_stopped_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enter_kill_ps_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_hotplugs_cpu_and_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_container_with_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_after_vm_died, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
