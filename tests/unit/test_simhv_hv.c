/* SPDX-License-Identifier: Apache-2.0 */
/* The "sim" hypervisor: the unchanged core drives it through the public API, and every QEMU
 * rule, the boot model, crashes, reattaching and the guest provider's hooks hold. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>

#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/hv.h>
#include <simhv/world.h>

#include "fixture.h"

struct env {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *c;   /* the runtime's context */
    struct vc_ctx *ctx;    /* its core context */
};

/* What the guest provider heard. */
struct guest {
    int boots;      /* boot calls */
    int halts;      /* halt calls */
    int pauses;     /* pause(true) calls */
    int resumes;    /* pause(false) calls */
    int resources;  /* resources calls */
    uint32_t vcpus; /* vcpus at the last resources call */
    int refuse;     /* what boot returns */
};

static int guest_boot(void *data, const struct simhv_vm *vm)
{
    struct guest *g = data;

    g->boots++;
    return g->refuse;
}

static void guest_halt(void *data, const struct simhv_vm *vm)
{
    ((struct guest *) data)->halts++;
}

static void guest_pause(void *data, const struct simhv_vm *vm, bool paused)
{
    struct guest *g = data;

    if (paused)
        g->pauses++;
    else
        g->resumes++;
}

static void guest_resources(void *data, const struct simhv_vm *vm)
{
    struct guest *g = data;

    g->resources++;
    g->vcpus = vm->vcpus;
}

static const struct simhv_guest_ops guest_ops = {
    .boot = guest_boot,
    .halt = guest_halt,
    .pause = guest_pause,
    .resources = guest_resources,
};

static void env_new(struct env *e, const struct simhv_options *o)
{
    assert_int_equal(simhv_world_new(o, &e->w), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->c), 0);
    e->ctx = simhv_ctx_vc(e->c);
}

static void env_free(struct env *e)
{
    assert_int_equal(simhv_ctx_live_allocs(e->c), 0);
    assert_int_equal(simhv_disk_lock_count(e->w), 0);
    simhv_ctx_free(e->c);
    simhv_world_free(e->w);
}

static struct vc_hv *hv_new(struct env *e, const char *id, const struct vc_hv_config *cfg)
{
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL;

    assert_int_equal(vc_ctx_hv_backend(e->ctx, "sim", &be), 0);
    assert_int_equal(vc_hv_create(e->ctx, &be, id, cfg, &hv), 0);
    return hv;
}

static const struct vc_hv_config small = {
    .vcpus = 1, .max_vcpus = 4, .memory_mb = 256, .max_memory_mb = 1024, .mem_slots = 2};

static void test_core_lifecycle(void **state)
{
    struct env e;
    struct guest g = {0};
    struct vc_sandbox_config *cfg;
    struct vc_sandbox_status *st = NULL;
    const struct simhv_vm *vm;
    size_t live;
    uint64_t t0;

    env_new(&e, NULL);
    simhv_world_set_guest(e.w, &guest_ops, &g);
    cfg = fixture_sandbox_config_in(e.ctx, "sb1", 1);
    live = simhv_ctx_live_allocs(e.c); /* the config's own */
    assert_int_equal(vc_sandbox_run(e.ctx, cfg), 0);
    vm = simhv_world_vm(e.w, "sb1");
    assert_non_null(vm);
    assert_int_equal(vm->state, VC_VM_STATE_RUNNING);
    assert_true(vm->booted);
    assert_int_equal(vm->pid, SIMHV_PID_BASE);
    assert_int_equal(vm->cid, SIMHV_CID_BASE);
    assert_true(vm->booted_ns >= 300 * SIMHV_NS_PER_MS);
    assert_true(simhv_world_now(e.w) < 2 * SIMHV_NS_PER_S);
    assert_non_null(strstr(vm->console, "Linux version"));
    assert_int_equal(g.boots, 1);
    assert_int_equal(simhv_world_vm_by_cid(e.w, SIMHV_CID_BASE), vm);
    assert_int_equal(simhv_disk_lock_count(e.w), 0);
    assert_int_equal(simhv_ctx_live_allocs(e.c), live); /* nothing held between calls */
    assert_int_equal(vc_sandbox_status(e.ctx, "sb1", &st), 0);
    assert_int_equal(st->state, VC_STATE_RUNNING);
    assert_string_equal(st->agent_url, "vsock://3:1024");
    vc_sandbox_status_free(e.ctx, st);
    assert_int_equal(vc_sandbox_pause(e.ctx, "sb1"), 0);
    assert_int_equal(vm->state, VC_VM_STATE_PAUSED);
    assert_int_equal(g.pauses, 1);
    assert_int_equal(vc_sandbox_resume(e.ctx, "sb1"), 0);
    assert_int_equal(g.resumes, 1);
    t0 = simhv_world_now(e.w);
    assert_int_equal(vc_sandbox_stop(e.ctx, "sb1", false), 0);
    assert_true(simhv_world_now(e.w) > t0); /* operations cost virtual time */
    assert_int_equal(vm->state, VC_VM_STATE_STOPPED);
    assert_int_equal(g.halts, 1);
    assert_int_equal(vc_sandbox_delete(e.ctx, "sb1"), 0);
    assert_int_equal(simhv_world_vm_count(e.w), 0);
    assert_int_equal(simhv_disk_file_count(e.w), 0);
    assert_int_equal(vc_sandbox_status(e.ctx, "sb1", &st), -ENOENT);
    vc_sandbox_config_free(e.ctx, cfg);
    env_free(&e);
}

/* The same calls on the same seed give the same trace, byte for byte. */
static uint64_t lifecycle_hash(uint64_t seed)
{
    struct simhv_options o = {.seed = seed};
    struct vc_sandbox_config *cfg;
    struct env e;
    uint64_t h;

    env_new(&e, &o);
    cfg = fixture_sandbox_config_in(e.ctx, "sb1", 1);
    assert_int_equal(vc_sandbox_run(e.ctx, cfg), 0);
    assert_int_equal(vc_sandbox_stop(e.ctx, "sb1", false), 0);
    assert_int_equal(vc_sandbox_delete(e.ctx, "sb1"), 0);
    vc_sandbox_config_free(e.ctx, cfg);
    assert_true(simhv_world_trace_count(e.w) > 10);
    h = simhv_world_trace_hash(e.w);
    env_free(&e);
    return h;
}

static void test_core_determinism(void **state)
{
    assert_int_equal(lifecycle_hash(5), lifecycle_hash(5));
    /* boot latency comes from the seed */
    assert_int_not_equal(lifecycle_hash(5), lifecycle_hash(6));
}

static void test_core_crash_reattach(void **state)
{
    struct env e;
    struct vc_sandbox_config *cfg;
    struct vc_sandbox_status *st = NULL;

    env_new(&e, NULL);
    cfg = fixture_sandbox_config_in(e.ctx, "sb1", 1);
    assert_int_equal(vc_sandbox_run(e.ctx, cfg), 0);
    assert_int_equal(simhv_world_crash_vm(e.w, "sb1"), 0);
    assert_int_equal(simhv_world_crash_vm(e.w, "nope"), -ENOENT);
    assert_non_null(strstr(simhv_world_vm(e.w, "sb1")->console, "Kernel panic"));
    /* the monitor notices */
    assert_int_equal(vc_sandbox_check(e.ctx, "sb1"), -ESRCH);
    assert_int_equal(vc_sandbox_status(e.ctx, "sb1", &st), 0);
    vc_sandbox_status_free(e.ctx, st);
    /* a restarted runtime cleans up the remains */
    vc_sandbox_config_free(e.ctx, cfg);
    simhv_ctx_free(e.c);
    assert_int_equal(simhv_ctx_new(e.w, "runtime", &e.c), 0);
    e.ctx = simhv_ctx_vc(e.c);
    assert_int_equal(vc_sandbox_stop(e.ctx, "sb1", true), 0);
    assert_int_equal(vc_sandbox_delete(e.ctx, "sb1"), 0);
    assert_int_equal(simhv_disk_file_count(e.w), 0);
    assert_int_equal(simhv_world_vm_count(e.w), 0);
    env_free(&e);
}

static void test_states(void **state)
{
    struct env e;
    struct guest g = {0};
    struct vc_hv *hv;
    struct vc_vm_info info;
    uint32_t caps = 0;

    env_new(&e, NULL);
    simhv_world_set_guest(e.w, &guest_ops, &g);
    hv = hv_new(&e, "sb1", &small);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_CREATED);
    assert_int_equal(vc_hv_pause(hv), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "cannot pause vm in state 'created'"));
    assert_int_equal(vc_hv_resume(hv), -EINVAL);
    assert_int_equal(vc_hv_start(hv, 5000), 0);
    assert_int_equal(vc_hv_start(hv, 5000), -EINVAL);
    assert_int_equal(vc_hv_resume(hv), -EINVAL);
    assert_int_equal(vc_hv_save(hv), -EINVAL);
    assert_int_equal(vc_hv_pause(hv), 0);
    assert_int_equal(vc_hv_pause(hv), -EINVAL);
    assert_int_equal(vc_hv_save(hv), 0);
    assert_true(simhv_world_vm(e.w, "sb1")->saved);
    assert_int_equal(vc_hv_cleanup(hv), -EBUSY);
    assert_int_equal(vc_hv_resume(hv), 0);
    assert_int_equal(vc_hv_capabilities(hv, &caps), 0);
    assert_true(caps & VC_HV_CAP_BLOCK_DEVICE);
    assert_true(caps & VC_HV_CAP_CPU_HOTPLUG);
    assert_true(caps & VC_HV_CAP_MEM_HOTPLUG);
    assert_true(caps & VC_HV_CAP_NET_HOTPLUG);
    assert_true(caps & VC_HV_CAP_FS_SHARING);
    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_int_equal(vc_hv_stop(hv, false), 0); /* stopping a stopped VM is fine */
    assert_int_equal(vc_hv_pause(hv), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "cannot pause vm in state 'stopped'"));
    assert_int_equal(g.boots, 1);
    assert_int_equal(g.halts, 1);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_int_equal(vc_hv_cleanup(hv), 0); /* already gone */
    assert_int_equal(vc_hv_check(hv), -ESRCH);
    vc_hv_free(hv);
    env_free(&e);
}

static void test_create_refusals(void **state)
{
    struct env e;
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL, *hv2 = NULL;
    struct vc_hv_config bad = small;

    env_new(&e, NULL);
    assert_int_equal(vc_ctx_hv_backend(e.ctx, "sim", &be), 0);
    hv = hv_new(&e, "sb1", &small);
    assert_int_equal(vc_hv_create(e.ctx, &be, "sb1", &small, &hv2), -EEXIST);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "vm of sandbox 'sb1' exists"));
    bad.vcpus = 0;
    assert_int_equal(vc_hv_create(e.ctx, &be, "sb2", &bad, &hv2), -EINVAL);
    bad = small;
    bad.max_vcpus = 0;
    bad.vcpus = 2;
    bad.max_memory_mb = 128;
    assert_int_equal(vc_hv_create(e.ctx, &be, "sb2", &bad, &hv2), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "max memory 128 MiB below memory 256 MiB"));
    assert_null(hv2);
    assert_int_equal(simhv_world_vm_count(e.w), 1);
    vc_hv_free(hv);
    env_free(&e);
}

static void test_hotplug(void **state)
{
    struct env e;
    struct guest g = {0};
    struct vc_hv *hv;
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 2};
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 256};
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "d0"};
    char id[16];
    uint32_t old = 0, now = 0;

    env_new(&e, NULL);
    simhv_world_set_guest(e.w, &guest_ops, &g);
    hv = hv_new(&e, "sb1", &small);
    /* a VM that is not up takes no hotplug */
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), -EINVAL);
    assert_int_equal(vc_hv_start(hv, 5000), 0);
    /* vCPUs: up to max vcpus */
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(cpu.cpus, 2);
    assert_int_equal(g.resources, 1);
    assert_int_equal(g.vcpus, 3);
    cpu.cpus = 5;
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(cpu.cpus, 1); /* what fit */
    cpu.cpus = 1;
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), -ENOSPC);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "no free vcpu slot (4 of 4 in use)"));
    assert_int_equal(vc_hv_resize_vcpus(hv, 2, &old, &now), 0);
    assert_int_equal(old, 4);
    assert_int_equal(now, 2);
    /* DIMMs: slots and the ceiling */
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), 0);
    assert_non_null(mem.guest_path);
    vc_free(e.ctx, mem.guest_path);
    mem.guest_path = NULL;
    mem.size_mb = 1024;
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), -ENOSPC);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "cannot hotplug 1024 MiB"));
    mem.size_mb = 128;
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), 0);
    vc_free(e.ctx, mem.guest_path);
    mem.guest_path = NULL;
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), -ENOSPC);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "no free memory slot (2 of 2 in use)"));
    assert_int_equal(simhv_world_vm(e.w, "sb1")->memory_mb, 640);
    assert_int_equal(vc_hv_hotplug_remove(hv, &mem), -EOPNOTSUPP);
    /* PCI root ports: 16, then -ENOSPC; duplicates -EEXIST */
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), 0);
    assert_string_equal(blk.guest_path, "02/00");
    vc_free(e.ctx, blk.guest_path);
    blk.guest_path = NULL;
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), -EEXIST);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "device 'd0' exists"));
    for (int i = 1; i < SIMHV_PCI_PORTS; i++) {
        struct vc_device d = {.type = i % 2 ? VC_DEVICE_NET : VC_DEVICE_VFIO, .id = id};

        (void) snprintf(id, sizeof(id), "d%d", i);
        assert_int_equal(vc_hv_hotplug_add(hv, &d), 0);
        vc_free(e.ctx, d.guest_path);
    }
    blk.id = "d16";
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), -ENOSPC);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "no free pcie root port for device 'd16'"));
    blk.id = "d3";
    assert_int_equal(vc_hv_hotplug_remove(hv, &blk), 0);
    blk.id = "d16";
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), 0);
    assert_string_equal(blk.guest_path, "05/00"); /* d3's port */
    vc_free(e.ctx, blk.guest_path);
    blk.id = "nope";
    assert_int_equal(vc_hv_hotplug_remove(hv, &blk), -ENOENT);
    assert_int_equal(simhv_world_vm(e.w, "sb1")->n_devices, SIMHV_PCI_PORTS);
    vc_hv_free(hv);
    env_free(&e);
}

static void test_resize_memory(void **state)
{
    struct env e;
    struct vc_hv *hv;
    struct vc_device dimm = {0};
    uint32_t mb = 0;

    env_new(&e, NULL);
    hv = hv_new(&e, "sb1", &small);
    assert_int_equal(vc_hv_start(hv, 5000), 0);
    assert_int_equal(vc_hv_resize_memory(hv, 300, 128, false, &mb, &dimm), 0);
    assert_int_equal(mb, 384); /* one block of 128 */
    assert_int_equal(dimm.size_mb, 128);
    assert_non_null(dimm.id);
    vc_free(e.ctx, dimm.id);
    assert_int_equal(vc_hv_resize_memory(hv, 100, 128, false, &mb, NULL), 0);
    assert_int_equal(mb, 384); /* never shrinks */
    assert_int_equal(vc_hv_resize_memory(hv, 5000, 128, false, &mb, NULL), 0);
    assert_int_equal(mb, 1024); /* clamped to the ceiling */
    assert_int_equal(vc_hv_resize_memory(hv, 5000, 128, false, &mb, NULL), -ENOSPC);
    vc_hv_free(hv);
    env_free(&e);
}

static void test_queries_state(void **state)
{
    struct env e;
    struct vc_hv_backend be;
    struct vc_hv *hv, *again = NULL;
    char *s = NULL;
    int32_t *pids = NULL;
    size_t n = 0;

    env_new(&e, NULL);
    assert_int_equal(vc_ctx_hv_backend(e.ctx, "sim", &be), 0);
    hv = hv_new(&e, "sb0", &small);
    vc_hv_free(hv);
    assert_int_equal(simhv_world_crash_vm(e.w, "sb0"), 0);
    hv = hv_new(&e, "sb1", &small); /* the second VM: n 1 */
    assert_int_equal(vc_hv_start(hv, 5000), 0);
    assert_int_equal(vc_hv_agent_endpoint(hv, &s), 0);
    assert_string_equal(s, "vsock://4:1024");
    vc_free(e.ctx, s);
    assert_int_equal(vc_hv_console(hv, &s), 0);
    assert_string_equal(s, "unix:///run/vc/vm/sb1/console.sock");
    vc_free(e.ctx, s);
    assert_int_equal(vc_hv_pids(hv, &pids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], SIMHV_PID_BASE + 1);
    vc_free(e.ctx, pids);
    assert_int_equal(vc_hv_save_state(hv, &s), 0);
    assert_string_equal(s, "{\"vm\":1,\"pid\":4001}");
    vc_hv_free(hv);
    /* another process reattaches */
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb1", &small, s, &again), 0);
    assert_int_equal(vc_hv_check(again), 0);
    /* after a crash: load still works, check reports it */
    assert_int_equal(simhv_world_crash_vm(e.w, "sb1"), 0);
    vc_hv_free(again);
    again = NULL;
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb1", &small, s, &again), 0);
    assert_int_equal(vc_hv_check(again), -ESRCH);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "vm of sandbox 'sb1' died"));
    assert_int_equal(vc_hv_stop(again, false), 0);
    assert_int_equal(vc_hv_cleanup(again), 0);
    vc_hv_free(again);
    again = NULL;
    /* cleaned up: nothing left to load */
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb1", &small, s, &again), -ESRCH);
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb0", &small, s, &again), -ESRCH); /* other vm */
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb0", &small, "{\"pid\":1}", &again), -EINVAL);
    assert_int_equal(vc_hv_load(e.ctx, &be, "sb0", &small, "garbage", &again), -EINVAL);
    assert_null(again);
    vc_free(e.ctx, s);
    env_free(&e);
}

static void test_boot(void **state)
{
    struct simhv_options o = {.boot_min_ns = 2 * SIMHV_NS_PER_S, .boot_max_ns = 3 * SIMHV_NS_PER_S};
    struct simhv_fault_rule rule = {
        .point = "vm.boot",
        .trigger = SIMHV_TRIGGER_NTH,
        .action = SIMHV_ACTION_ERRNO,
        .err = -EIO,
    };
    struct guest g = {0};
    struct env e;
    struct vc_hv *hv;
    uint64_t t0;

    env_new(&e, &o);
    simhv_world_set_guest(e.w, &guest_ops, &g);
    /* too slow for its timeout */
    hv = hv_new(&e, "sb1", &small);
    t0 = simhv_world_now(e.w);
    assert_int_equal(vc_hv_start(hv, 1000), -ETIMEDOUT);
    assert_non_null(
        strstr(vc_ctx_errmsg(e.ctx), "vm of sandbox 'sb1' did not boot within 1000 ms"));
    assert_int_equal(simhv_world_now(e.w) - t0, SIMHV_NS_PER_MS + SIMHV_NS_PER_S);
    assert_int_equal(simhv_world_vm(e.w, "sb1")->state, VC_VM_STATE_STOPPED);
    assert_false(simhv_world_vm(e.w, "sb1")->booted);
    assert_int_equal(simhv_world_pending(e.w), 0); /* the boot event went with it */
    assert_int_equal(g.boots, 0);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    vc_hv_free(hv);
    /* the world's own fault point */
    assert_int_equal(simhv_world_add_fault(e.w, &rule), 0);
    hv = hv_new(&e, "sb2", &small);
    assert_int_equal(vc_hv_start(hv, 10000), -EIO);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "failed to boot"));
    assert_int_equal(simhv_world_vm(e.w, "sb2")->state, VC_VM_STATE_STOPPED);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    vc_hv_free(hv);
    /* the guest refuses to come up */
    g.refuse = -EPROTO;
    hv = hv_new(&e, "sb3", &small);
    assert_int_equal(vc_hv_start(hv, 10000), -EPROTO);
    assert_int_equal(g.boots, 1);
    assert_int_equal(g.halts, 0);
    assert_int_equal(simhv_world_vm(e.w, "sb3")->state, VC_VM_STATE_STOPPED);
    assert_non_null(strstr(simhv_world_vm(e.w, "sb3")->console, "Kernel panic"));
    vc_hv_free(hv);
    /* crashed while booting */
    g.refuse = 0;
    hv = hv_new(&e, "sb4", &small);
    assert_int_equal(simhv_world_crash_vm(e.w, "sb4"), 0);
    vc_hv_free(hv);
    /* a fine boot within its window */
    hv = hv_new(&e, "sb5", &small);
    t0 = simhv_world_now(e.w);
    assert_int_equal(vc_hv_start(hv, 10000), 0);
    assert_true(simhv_world_now(e.w) - t0 >= 2 * SIMHV_NS_PER_S);
    assert_true(simhv_world_now(e.w) - t0 <= 3 * SIMHV_NS_PER_S + SIMHV_NS_PER_MS);
    simhv_world_console_write(e.w, "sb5", "hello console\n");
    assert_non_null(strstr(simhv_world_vm(e.w, "sb5")->console, "hello console\n"));
    vc_hv_free(hv);
    assert_int_equal(simhv_world_vm_count(e.w), 3);
    assert_string_equal(simhv_world_vm_at(e.w, 0)->sandbox_id, "sb3");
    env_free(&e);
}

static void test_console_limit(void **state)
{
    struct env e;
    struct vc_hv *hv;
    char line[1001];
    const struct simhv_vm *vm;

    env_new(&e, NULL);
    hv = hv_new(&e, "sb1", &small);
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        simhv_world_console_write(e.w, "sb1", line);
    simhv_world_console_write(e.w, "sb1", "end\n");
    vm = simhv_world_vm(e.w, "sb1");
    assert_true(vm->console_len < SIMHV_CONSOLE_MAX);
    assert_int_equal(strlen(vm->console), vm->console_len);
    assert_string_equal(vm->console + vm->console_len - 4, "end\n");
    vc_hv_free(hv);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_lifecycle),
        cmocka_unit_test(test_core_determinism),
        cmocka_unit_test(test_core_crash_reattach),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_hotplug),
        cmocka_unit_test(test_resize_memory),
        cmocka_unit_test(test_queries_state),
        cmocka_unit_test(test_boot),
        cmocka_unit_test(test_console_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
