/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the hypervisor wrappers over the simulated hypervisor ("sim"): QEMU's state rules
 * as core sees them through the wrappers (lifecycle, hotplug limits, resize, cleanup, reattach
 * after a crash), the wrappers' fault points and their names, and unsupported members. Each test
 * gets a bare context on a fixed clock and an empty world (seed 1); the world's virtual time
 * moves on its own. */
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

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/types.h>

#include <simhv/hv.h>
#include <simhv/world.h>

#include "schema.h"

#define MAX_POINTS 64
#define GIB        (UINT64_C(1) << 30)
#define MIB        (UINT64_C(1) << 20)

/* Records the fault points asked (except "alloc") and fails one of them. */
struct fault_rec {
    char points[MAX_POINTS][32]; /* points asked, in order */
    size_t n;                    /* number of points */
    const char *fail;            /* the point to fail, or NULL */
    int err;                     /* negative errno it fails with */
};

struct fixture {
    struct vc_ctx *ctx;        /* a bare context */
    struct simhv_world *world; /* the VMs */
    struct vc_hv_backend be;   /* simhv over world, resolved through the context */
    struct vc_hv_config cfg;   /* 1 of 4 vCPUs, 2048 of 4096 MiB, 2 DIMM slots */
    struct fault_rec faults;   /* the fault hook's record */
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

static int fixture_setup(void **state)
{
    static const struct vc_clock clock = {.monotonic = fixed_monotonic, .wall = fixed_wall};
    static const struct vc_rng rng = {.next = fixed_random};
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(vc_ctx_new(&clock, &rng, NULL, &fx->ctx), 0);
    assert_int_equal(simhv_world_new(&(struct simhv_options){.seed = 1}, &fx->world), 0);
    assert_int_equal(vc_ctx_register_hv(fx->ctx, &simhv_ops, fx->world), 0);
    assert_int_equal(vc_ctx_hv_backend(fx->ctx, "sim", &fx->be), 0);
    assert_ptr_equal(fx->be.ops, &simhv_ops);
    assert_ptr_equal(fx->be.data, fx->world);
    fx->cfg = (struct vc_hv_config){
        .kind = "sim",
        .vcpus = 1,
        .max_vcpus = 4,
        .memory_mb = 2048,
        .max_memory_mb = 4096,
        .mem_slots = 2,
    };
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    vc_ctx_free(fx->ctx);
    simhv_world_free(fx->world);
    free(fx);
    return 0;
}

/* A VM for sandbox_id made from fx->cfg, started when start is set. */
static struct vc_hv *make_vm(struct fixture *fx, const char *sandbox_id, bool start)
{
    struct vc_hv *hv = NULL;

    assert_int_equal(vc_hv_create(fx->ctx, &fx->be, sandbox_id, &fx->cfg, &hv), 0);
    assert_non_null(hv);
    if (start) {
        /* Within 1 s: the default boot model takes 300 to 900 ms of virtual time. */
        assert_int_equal(vc_hv_start(hv, 1000), 0);
        assert_true(simhv_world_vm(fx->world, sandbox_id)->booted);
    }
    return hv;
}

static void assert_err(struct fixture *fx, int r, int code, const char *msg)
{
    assert_int_equal(r, code);
    assert_int_equal(vc_ctx_errcode(fx->ctx), code);
    if (msg)
        assert_string_equal(vc_ctx_errmsg(fx->ctx), msg);
}

/* --- create, load ------------------------------------------------------------------------- */

static void test_create(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", false);
    const struct simhv_vm *vm = simhv_world_vm(fx->world, "sb1");
    struct vc_hv *dup = (void *) 1;
    struct vc_vm_info info;

    assert_ptr_equal(hv->ops, &simhv_ops);
    assert_ptr_equal(hv->ctx, fx->ctx);
    assert_non_null(vm);
    assert_int_equal(vm->state, VC_VM_STATE_CREATED);
    assert_int_equal(vm->vcpus, 1);
    assert_int_equal(vm->max_vcpus, 4);
    assert_int_equal(vm->memory_mb, 2048);
    assert_int_equal(vm->max_memory_mb, 4096);
    assert_int_equal(vm->mem_slots, 2);
    assert_int_equal(vm->pid, SIMHV_PID_BASE);
    assert_int_equal(vm->cid, SIMHV_CID_BASE);
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", &fx->cfg, &dup), -EEXIST,
               "vm of sandbox 'sb1' exists");
    assert_ptr_equal(dup, (void *) 1);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_CREATED);
    assert_int_equal(info.pid, SIMHV_PID_BASE);
    vc_hv_free(hv);
    vc_hv_free(NULL);
    /* destroy frees the handle only: the VM stays. */
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
    hv = make_vm(fx, "sb2", false);
    assert_int_equal(simhv_world_vm(fx->world, "sb2")->pid, SIMHV_PID_BASE + 1);
    vc_hv_free(hv);
}

static void test_create_invalid(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = (void *) 1;
    struct vc_hv_config cfg;

    cfg = fx->cfg;
    cfg.vcpus = 0;
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", &cfg, &hv), -EINVAL, NULL);
    cfg = fx->cfg;
    cfg.memory_mb = 0;
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", &cfg, &hv), -EINVAL, NULL);
    cfg = fx->cfg;
    cfg.max_vcpus = 1;
    cfg.vcpus = 2;
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", &cfg, &hv), -EINVAL, NULL);
    cfg = fx->cfg;
    cfg.max_memory_mb = 1024;
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", &cfg, &hv), -EINVAL, NULL);
    assert_err(fx, vc_hv_create(fx->ctx, &fx->be, "sb1", NULL, &hv), -EINVAL, NULL);
    assert_err(fx, vc_hv_create(fx->ctx, NULL, "sb1", &fx->cfg, &hv), -EINVAL, NULL);
    assert_ptr_equal(hv, (void *) 1);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);

    /* Zero maxima mean "same as boot". */
    cfg = fx->cfg;
    cfg.max_vcpus = 0;
    cfg.max_memory_mb = 0;
    assert_int_equal(vc_hv_create(fx->ctx, &fx->be, "sb1", &cfg, &hv), 0);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->max_vcpus, 1);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->max_memory_mb, 2048);
    vc_hv_free(hv);
}

static void test_save_state_load(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_hv *again = NULL;
    struct vc_vm_info info;
    char *st = NULL;

    assert_int_equal(vc_hv_save_state(hv, &st), 0);
    assert_string_equal(st, "{\"vm\":0,\"pid\":4000}");
    assert_int_equal(vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, st, &again), 0);
    assert_int_equal(vc_hv_query(again, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_RUNNING);
    assert_int_equal(info.pid, SIMHV_PID_BASE);
    vc_hv_free(again);
    again = (void *) 1;
    assert_err(fx, vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, "{\"vm\":7,\"pid\":4007}", &again),
               -ESRCH, "vm 7 of sandbox 'sb1' is gone (found vm 0)");
    assert_err(fx, vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, "{\"pid\":", &again), -EINVAL,
               NULL);
    assert_err(fx, vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, "{}", &again), -EINVAL, NULL);
    assert_err(fx, vc_hv_load(fx->ctx, &fx->be, "sb9", &fx->cfg, st, &again), -ESRCH,
               "vm of sandbox 'sb9' is gone");
    assert_ptr_equal(again, (void *) 1);
    vc_free(fx->ctx, st);
    vc_hv_free(hv);
}

static void test_crash(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_hv *again = (void *) 1;
    char *st = NULL;

    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_save_state(hv, &st), 0);
    assert_int_equal(simhv_world_crash_vm(fx->world, "sb1"), 0);
    assert_int_equal(simhv_world_crash_vm(fx->world, "sb9"), -ENOENT);
    assert_true(simhv_world_vm(fx->world, "sb1")->crashed);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->state, VC_VM_STATE_STOPPED);
    assert_err(fx, vc_hv_check(hv), -ESRCH, NULL);
    /* A later process reattaches to the remains and learns from check that the VM died. */
    assert_int_equal(vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, st, &again), 0);
    assert_err(fx, vc_hv_check(again), -ESRCH, "vm of sandbox 'sb1' died");
    vc_hv_free(again);
    /* A crashed VM can still be stopped and cleaned up. */
    assert_int_equal(vc_hv_stop(hv, true), 0);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    vc_free(fx->ctx, st);
    vc_hv_free(hv);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static void test_lifecycle(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", false);
    struct vc_vm_info info;

    assert_err(fx, vc_hv_pause(hv), -EINVAL, "cannot pause vm in state 'created'");
    assert_err(fx, vc_hv_resume(hv), -EINVAL, "cannot resume vm in state 'created'");
    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_start(hv, 0), 0);
    assert_err(fx, vc_hv_start(hv, 0), -EINVAL, "cannot start vm in state 'running'");
    assert_err(fx, vc_hv_save(hv), -EINVAL, "cannot save vm in state 'running'");
    assert_err(fx, vc_hv_cleanup(hv), -EBUSY,
               "cannot clean up vm of sandbox 'sb1' in state 'running'");
    assert_int_equal(vc_hv_pause(hv), 0);
    assert_err(fx, vc_hv_pause(hv), -EINVAL, "cannot pause vm in state 'paused'");
    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_save(hv), 0);
    assert_true(simhv_world_vm(fx->world, "sb1")->saved);
    assert_int_equal(vc_hv_resume(hv), 0);
    assert_err(fx, vc_hv_resume(hv), -EINVAL, "cannot resume vm in state 'running'");
    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_STOPPED);
    /* A stopped VM still answers check; it cannot start again. */
    assert_int_equal(vc_hv_check(hv), 0);
    assert_err(fx, vc_hv_start(hv, 0), -EINVAL, "cannot start vm in state 'stopped'");
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_null(simhv_world_vm(fx->world, "sb1"));
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_err(fx, vc_hv_check(hv), -ESRCH, "vm of sandbox 'sb1' is gone");
    assert_err(fx, vc_hv_start(hv, 0), -ESRCH, NULL);
    vc_hv_free(hv);
}

/* A new VM under the same sandbox id is not the one an old handle names. */
static void test_stale_handle(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *old = make_vm(fx, "sb1", false);
    struct vc_hv *hv;

    assert_int_equal(vc_hv_stop(old, false), 0);
    assert_int_equal(vc_hv_cleanup(old), 0);
    hv = make_vm(fx, "sb1", true);
    assert_err(fx, vc_hv_pause(old), -ESRCH, "vm of sandbox 'sb1' is gone");
    assert_int_equal(vc_hv_cleanup(old), 0);
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
    vc_hv_free(old);
    vc_hv_free(hv);
}

/* --- hotplug -------------------------------------------------------------------------------- */

static void test_hotplug_needs_live_vm(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", false);
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 1};

    assert_err(fx, vc_hv_hotplug_add(hv, &cpu), -EINVAL,
               "cannot hotplug into vm in state 'created'");
    assert_int_equal(vc_hv_start(hv, 0), 0);
    assert_int_equal(vc_hv_pause(hv), 0);
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_err(fx, vc_hv_hotplug_remove(hv, &cpu), -EINVAL,
               "cannot hot-unplug from vm in state 'stopped'");
    vc_hv_free(hv);
}

static void test_hotplug_cpu(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 2};

    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(cpu.cpus, 2);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->vcpus, 3);
    /* Beyond max_vcpus: what fits is added. */
    cpu.cpus = 5;
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(cpu.cpus, 1);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->vcpus, 4);
    cpu.cpus = 1;
    assert_err(fx, vc_hv_hotplug_add(hv, &cpu), -ENOSPC, "no free vcpu slot (4 of 4 in use)");
    assert_int_equal(cpu.cpus, 1);
    /* Removal stops at the boot vCPUs. */
    cpu.cpus = 10;
    assert_int_equal(vc_hv_hotplug_remove(hv, &cpu), 0);
    assert_int_equal(cpu.cpus, 3);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->vcpus, 1);
    cpu.cpus = 1;
    assert_err(fx, vc_hv_hotplug_remove(hv, &cpu), -EINVAL, NULL);
    vc_hv_free(hv);
}

static void test_hotplug_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 512};

    assert_int_equal(vc_hv_hotplug_add(hv, &mem), 0);
    assert_int_equal(mem.addr, 4 * GIB);
    assert_string_equal(mem.guest_path, "dimm0");
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), 0);
    assert_int_equal(mem.addr, 4 * GIB + 512 * MIB);
    assert_string_equal(mem.guest_path, "dimm1");
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->memory_mb, 3072);
    /* Both DIMM slots are taken. */
    assert_err(fx, vc_hv_hotplug_add(hv, &mem), -ENOSPC, "no free memory slot (2 of 2 in use)");
    assert_err(fx, vc_hv_hotplug_remove(hv, &mem), -EOPNOTSUPP,
               "memory hot-unplug is not supported");
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->memory_mb, 3072);
    vc_free(fx->ctx, mem.guest_path);
    vc_hv_free(hv);
}

static void test_hotplug_memory_max(void **state)
{
    struct fixture *fx = *state;
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 4096};
    struct vc_hv *hv;

    fx->cfg.mem_slots = 8;
    hv = make_vm(fx, "sb1", true);
    assert_err(fx, vc_hv_hotplug_add(hv, &mem), -ENOSPC,
               "cannot hotplug 4096 MiB: vm has 2048 MiB of at most 4096 MiB");
    assert_null(mem.guest_path);
    mem.size_mb = 2048;
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), 0);
    mem.size_mb = 1;
    assert_int_equal(vc_hv_hotplug_add(hv, &mem), -ENOSPC);
    vc_free(fx->ctx, mem.guest_path);
    vc_hv_free(hv);
}

static void test_hotplug_pci(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device dev = {.type = VC_DEVICE_BLOCK, .id = "d0", .path = "/img"};
    char id[16];

    assert_int_equal(vc_hv_hotplug_add(hv, &dev), 0);
    assert_string_equal(dev.guest_path, "02/00");
    vc_free(fx->ctx, dev.guest_path);
    dev.guest_path = NULL;
    assert_err(fx, vc_hv_hotplug_add(hv, &dev), -EEXIST, "device 'd0' exists");
    assert_null(dev.guest_path);
    dev.type = VC_DEVICE_NET;
    assert_int_equal(vc_hv_hotplug_add(hv, &dev), -EEXIST);
    for (int i = 1; i < 16; i++) {
        (void) snprintf(id, sizeof(id), "d%d", i);
        dev = (struct vc_device){.type = VC_DEVICE_BLOCK + i % 3, .id = id};
        assert_int_equal(vc_hv_hotplug_add(hv, &dev), 0);
        vc_free(fx->ctx, dev.guest_path);
    }
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->n_devices, 16);
    dev = (struct vc_device){.type = VC_DEVICE_VFIO, .id = "d16"};
    assert_err(fx, vc_hv_hotplug_add(hv, &dev), -ENOSPC,
               "no free pcie root port for device 'd16' (16 in use)");
    dev.id = NULL;
    assert_int_equal(vc_hv_hotplug_add(hv, &dev), -EINVAL);
    dev.id = "d0";
    assert_int_equal(vc_hv_hotplug_remove(hv, &dev), 0);
    assert_err(fx, vc_hv_hotplug_remove(hv, &dev), -ENOENT, "device 'd0' not found");
    /* The freed port is taken again. */
    dev.id = "d16";
    assert_int_equal(vc_hv_hotplug_add(hv, &dev), 0);
    assert_string_equal(dev.guest_path, "02/00");
    vc_free(fx->ctx, dev.guest_path);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->n_devices, 16);
    vc_hv_free(hv);
}

/* --- resize --------------------------------------------------------------------------------- */

static void test_resize_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device dimm;
    uint32_t mb = 0;

    /* 52 MiB missing, rounded up to one 128 MiB block. */
    assert_int_equal(vc_hv_resize_memory(hv, 2100, 128, true, &mb, &dimm), 0);
    assert_int_equal(mb, 2176);
    assert_int_equal(dimm.type, VC_DEVICE_MEMORY);
    assert_int_equal(dimm.size_mb, 128);
    assert_int_equal(dimm.addr, 4 * GIB);
    assert_true(dimm.probe);
    assert_string_equal(dimm.id, "dimm0");
    vc_obj_clear(fx->ctx, &vc_schema_device, &dimm);
    /* Never shrinks. */
    assert_int_equal(vc_hv_resize_memory(hv, 1024, 128, false, &mb, &dimm), 0);
    assert_int_equal(mb, 2176);
    assert_int_equal(dimm.size_mb, 0);
    assert_null(dimm.id);
    /* Clamped to the maximum. */
    assert_int_equal(vc_hv_resize_memory(hv, 100000, 128, false, &mb, NULL), 0);
    assert_int_equal(mb, 4096);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->used_slots, 2);
    mb = 7;
    assert_err(fx, vc_hv_resize_memory(hv, 5000, 128, false, &mb, NULL), -ENOSPC,
               "vm has reached its maximum of 4096 MiB");
    assert_int_equal(mb, 7);
    vc_hv_free(hv);
}

static void test_resize_memory_slots(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv;
    uint32_t mb = 0;

    fx->cfg.mem_slots = 0;
    hv = make_vm(fx, "sb1", true);
    assert_int_equal(vc_hv_resize_memory(hv, 2048, 128, false, &mb, NULL), 0);
    assert_int_equal(mb, 2048);
    assert_err(fx, vc_hv_resize_memory(hv, 2049, 128, false, &mb, NULL), -ENOSPC, NULL);
    vc_hv_free(hv);
}

static void test_resize_vcpus(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", false);
    uint32_t old = 0;
    uint32_t now = 0;

    assert_int_equal(vc_hv_resize_vcpus(hv, 2, &old, &now), -EINVAL);
    assert_int_equal(vc_hv_start(hv, 0), 0);
    assert_int_equal(vc_hv_resize_vcpus(hv, 3, &old, &now), 0);
    assert_int_equal(old, 1);
    assert_int_equal(now, 3);
    assert_int_equal(vc_hv_resize_vcpus(hv, 10, &old, &now), 0);
    assert_int_equal(old, 3);
    assert_int_equal(now, 4);
    assert_int_equal(vc_hv_resize_vcpus(hv, 1, &old, &now), 0);
    assert_int_equal(now, 1);
    assert_err(fx, vc_hv_resize_vcpus(hv, 0, &old, &now), -EINVAL, NULL);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->vcpus, 1);
    vc_hv_free(hv);
}

/* --- queries -------------------------------------------------------------------------------- */

static void test_queries(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 1};
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "rootfs"};
    struct vc_vm_info info;
    int32_t *pids = NULL;
    uint32_t caps = 0;
    char *s = NULL;
    size_t n = 0;

    assert_int_equal(vc_hv_console(hv, &s), 0);
    assert_string_equal(s, "unix:///run/vc/vm/sb1/console.sock");
    vc_free(fx->ctx, s);
    assert_int_equal(vc_hv_agent_endpoint(hv, &s), 0);
    assert_string_equal(s, "vsock://3:1024"); /* SIMHV_CID_BASE, SIMHV_AGENT_PORT */
    vc_free(fx->ctx, s);
    assert_int_equal(vc_hv_pids(hv, &pids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], SIMHV_PID_BASE);
    vc_free(fx->ctx, pids);
    assert_int_equal(vc_hv_capabilities(hv, &caps), 0);
    assert_int_equal(caps, VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG |
                               VC_HV_CAP_NET_HOTPLUG | VC_HV_CAP_FS_SHARING);
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), 0);
    vc_free(fx->ctx, blk.guest_path);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_RUNNING);
    assert_int_equal(info.vcpus, 2);
    assert_int_equal(info.memory_mb, 2048);
    assert_int_equal(info.n_devices, 1);
    assert_int_equal(info.pid, SIMHV_PID_BASE);
    vc_hv_free(hv);
}

static void test_state_names(void **state)
{
    assert_string_equal(vc_vm_state_to_string(VC_VM_STATE_CREATED), "created");
    assert_string_equal(vc_vm_state_to_string(VC_VM_STATE_RUNNING), "running");
    assert_string_equal(vc_vm_state_to_string(VC_VM_STATE_PAUSED), "paused");
    assert_string_equal(vc_vm_state_to_string(VC_VM_STATE_STOPPED), "stopped");
    assert_string_equal(vc_vm_state_to_string(VC_VM_STATE_LAST), "invalid");
}

/* --- the wrappers: faults, unsupported members, arguments --------------------------------------
 */

static void test_fault_points(void **state)
{
    static const char *const want[] = {
        "hv.create",       "hv.start",          "hv.pause",          "hv.save",
        "hv.resume",       "hv.hotplug_add",    "hv.hotplug_remove", "hv.resize_memory",
        "hv.resize_vcpus", "hv.console",        "hv.pids",           "hv.check",
        "hv.capabilities", "hv.agent_endpoint", "hv.save_state",     "hv.load",
        "hv.query",        "hv.stop",           "hv.cleanup",
    };
    struct fixture *fx = *state;
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 1};
    struct vc_hv *hv = NULL;
    struct vc_hv *again = NULL;
    struct vc_vm_info info;
    int32_t *pids;
    uint32_t a, b;
    char *s;
    size_t n;

    vc_ctx_set_fault(fx->ctx, fault_hook, &fx->faults);
    assert_int_equal(vc_hv_create(fx->ctx, &fx->be, "sb1", &fx->cfg, &hv), 0);
    assert_int_equal(vc_hv_start(hv, 0), 0);
    assert_int_equal(vc_hv_pause(hv), 0);
    assert_int_equal(vc_hv_save(hv), 0);
    assert_int_equal(vc_hv_resume(hv), 0);
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), 0);
    assert_int_equal(vc_hv_hotplug_remove(hv, &cpu), 0);
    assert_int_equal(vc_hv_resize_memory(hv, 2048, 128, false, &a, NULL), 0);
    assert_int_equal(vc_hv_resize_vcpus(hv, 1, &a, &b), 0);
    assert_int_equal(vc_hv_console(hv, &s), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_hv_pids(hv, &pids, &n), 0);
    vc_free(fx->ctx, pids);
    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_capabilities(hv, &a), 0);
    assert_int_equal(vc_hv_agent_endpoint(hv, &s), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_hv_save_state(hv, &s), 0);
    assert_int_equal(vc_hv_load(fx->ctx, &fx->be, "sb1", &fx->cfg, s, &again), 0);
    vc_free(fx->ctx, s);
    assert_int_equal(vc_hv_query(again, &info), 0);
    assert_int_equal(vc_hv_stop(again, false), 0);
    assert_int_equal(vc_hv_cleanup(again), 0);
    vc_hv_free(again);
    vc_hv_free(hv);

    assert_int_equal(fx->faults.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < fx->faults.n; i++)
        assert_string_equal(fx->faults.points[i], want[i]);
}

static void test_fault_injected(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = (void *) 1;
    struct vc_vm_info info = {.pid = 77};

    fx->faults = (struct fault_rec){.fail = "hv.create", .err = -ENOMEM};
    vc_ctx_set_fault(fx->ctx, fault_hook, &fx->faults);
    assert_int_equal(vc_hv_create(fx->ctx, &fx->be, "sb1", &fx->cfg, &hv), -ENOMEM);
    assert_ptr_equal(hv, (void *) 1);
    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    fx->faults = (struct fault_rec){.fail = "hv.start", .err = -ETIMEDOUT};
    hv = make_vm(fx, "sb1", false);
    assert_int_equal(vc_hv_start(hv, 0), -ETIMEDOUT);
    assert_string_equal(vc_ctx_errmsg(fx->ctx), "fault injected at 'hv.start' (ETIMEDOUT)");
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->state, VC_VM_STATE_CREATED);
    fx->faults = (struct fault_rec){.fail = "hv.query", .err = -EIO};
    assert_int_equal(vc_hv_query(hv, &info), -EIO);
    assert_int_equal(info.pid, 77);
    vc_hv_free(hv);
}

/* Allocation failures inside simhv are clean -ENOMEM: no VM, no leak, out-params untouched. */
static int fail_alloc_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    return strcmp(point, "alloc") == 0 ? -ENOMEM : 0;
}

static void test_out_of_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv *hv = make_vm(fx, "sb1", true);
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "d0"};
    struct vc_hv *other = (void *) 1;
    char *s = (void *) 1;

    vc_ctx_set_fault(fx->ctx, fail_alloc_hook, NULL);
    assert_int_equal(vc_hv_create(fx->ctx, &fx->be, "sb2", &fx->cfg, &other), -ENOMEM);
    assert_ptr_equal(other, (void *) 1);
    assert_int_equal(simhv_world_vm_count(fx->world), 1);
    assert_int_equal(vc_hv_console(hv, &s), -ENOMEM);
    assert_ptr_equal(s, (void *) 1);
    assert_int_equal(vc_hv_hotplug_add(hv, &blk), -ENOMEM);
    assert_null(blk.guest_path);
    assert_int_equal(simhv_world_vm(fx->world, "sb1")->n_devices, 0);
    vc_hv_free(hv);
}

static int partial_create(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                          const struct vc_hv_config *cfg, struct vc_hv **ret)
{
    struct vc_hv *hv = vc_new0(ctx, struct vc_hv, 1);

    if (!hv)
        return -ENOMEM;
    *ret = hv;
    return 0;
}

static void partial_destroy(struct vc_hv *hv)
{
    if (hv)
        vc_free(hv->ctx, hv);
}

static const struct vc_hv_ops partial_ops = {
    .version = VC_HV_OPS_V1,
    .name = "partial",
    .create = partial_create,
    .destroy = partial_destroy,
};

static void test_unsupported(void **state)
{
    struct fixture *fx = *state;
    struct vc_hv_backend be = {.ops = &partial_ops};
    struct vc_hv *hv = NULL;
    uint32_t caps = 77;

    assert_int_equal(vc_hv_create(fx->ctx, &be, "sb1", &fx->cfg, &hv), 0);
    assert_ptr_equal(hv->ops, &partial_ops);
    assert_ptr_equal(hv->ctx, fx->ctx);
    assert_err(fx, vc_hv_pause(hv), -EOPNOTSUPP, "hypervisor 'partial' does not support pause");
    assert_err(fx, vc_hv_capabilities(hv, &caps), -EOPNOTSUPP,
               "hypervisor 'partial' does not support capabilities");
    assert_int_equal(caps, 77);
    assert_err(fx, vc_hv_hotplug_add(hv, NULL), -EOPNOTSUPP, NULL);
    assert_err(fx, vc_hv_load(fx->ctx, &be, "sb1", &fx->cfg, "{}", &hv), -EOPNOTSUPP,
               "hypervisor 'partial' does not support load");
    vc_hv_free(hv);
    assert_int_equal(vc_hv_start(NULL, 0), -EINVAL);
    assert_int_equal(vc_hv_check(NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_invalid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_save_state_load, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_crash, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stale_handle, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hotplug_needs_live_vm, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hotplug_cpu, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hotplug_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hotplug_memory_max, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hotplug_pci, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_resize_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_resize_memory_slots, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_resize_vcpus, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_queries, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test_setup_teardown(test_fault_points, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fault_injected, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, fixture_setup, fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
