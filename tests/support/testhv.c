/* SPDX-License-Identifier: Apache-2.0 */
/* testhv: the hypervisor test double (see testhv.h). Handles and the strings they hand out come
 * from the context's allocator, like a real backend's; the world uses plain malloc, since it
 * outlives contexts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/types.h>

#include "cleanup.h"
#include "schema.h"
#include "testhv.h"

#define TESTHV_PID_BASE  1000
#define TESTHV_DIMM_BASE (UINT64_C(4) << 30) /* guest physical address of the first DIMM */

struct testhv_world {
    struct testhv_vm **vms; /* VMs present, in creation order */
    size_t n_vms;           /* number of vms */
    uint32_t n_created;     /* VMs ever created: the next pid is TESTHV_PID_BASE + this */
};

/* A handle: names its VM by sandbox id and pid, so a VM made again under the same sandbox id is
 * not mistaken for the one the handle was made for. */
struct testhv {
    struct vc_hv base;          /* first member: what core sees */
    struct testhv_world *world; /* borrowed registration data */
    char *sandbox_id;           /* the VM's key (ctx allocator) */
    int32_t pid;                /* the VM's pid */
};

static struct testhv *testhv_of(struct vc_hv *hv)
{
    return VC_CONTAINER_OF(hv, struct testhv, base);
}

static char *testhv_strdupf(struct vc_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A formatted string from the context's allocator; NULL when out of memory. */
static char *testhv_strdupf(struct vc_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = vc_malloc(ctx, (size_t) n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    (void) vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* --- the world ------------------------------------------------------------------------------ */

static size_t world_index(const struct testhv_world *world, const char *sandbox_id)
{
    for (size_t i = 0; i < world->n_vms; i++)
        if (strcmp(world->vms[i]->sandbox_id, sandbox_id) == 0)
            return i;
    return world->n_vms;
}

static struct testhv_vm *world_find(const struct testhv_world *world, const char *sandbox_id)
{
    size_t i;

    if (!world || !sandbox_id)
        return NULL;
    i = world_index(world, sandbox_id);
    return i < world->n_vms ? world->vms[i] : NULL;
}

static void vm_free(struct testhv_vm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < TESTHV_PCI_PORTS; i++)
        free(vm->ports[i].id);
    free(vm->sandbox_id);
    free(vm);
}

static void world_remove(struct testhv_world *world, const char *sandbox_id)
{
    size_t i = world_index(world, sandbox_id);

    if (i == world->n_vms)
        return;
    vm_free(world->vms[i]);
    memmove(&world->vms[i], &world->vms[i + 1], (world->n_vms - i - 1) * sizeof(world->vms[0]));
    world->n_vms--;
}

/* Adds a VM in state CREATED for a validated config. 0 or -ENOMEM. */
static int world_add(struct testhv_world *world, const char *sandbox_id,
                     const struct vc_hv_config *cfg, struct testhv_vm **ret)
{
    struct testhv_vm *vm = calloc(1, sizeof(*vm));
    struct testhv_vm **v;

    if (!vm)
        return -ENOMEM;
    *vm = (struct testhv_vm){
        .sandbox_id = strdup(sandbox_id),
        .state = VC_VM_STATE_CREATED,
        .pid = TESTHV_PID_BASE + (int32_t) world->n_created,
        .boot_vcpus = cfg->vcpus,
        .vcpus = cfg->vcpus,
        .max_vcpus = cfg->max_vcpus ? cfg->max_vcpus : cfg->vcpus,
        .boot_memory_mb = cfg->memory_mb,
        .memory_mb = cfg->memory_mb,
        .max_memory_mb = cfg->max_memory_mb ? cfg->max_memory_mb : cfg->memory_mb,
        .mem_slots = cfg->mem_slots,
    };
    v = realloc(world->vms, (world->n_vms + 1) * sizeof(*v));
    if (!vm->sandbox_id || !v) {
        if (v)
            world->vms = v;
        vm_free(vm);
        return -ENOMEM;
    }
    v[world->n_vms++] = vm;
    world->vms = v;
    world->n_created++;
    *ret = vm;
    return 0;
}

struct testhv_world *testhv_world_new(void)
{
    return calloc(1, sizeof(struct testhv_world));
}

void testhv_world_free(struct testhv_world *world)
{
    if (!world)
        return;
    for (size_t i = 0; i < world->n_vms; i++)
        vm_free(world->vms[i]);
    free(world->vms);
    free(world);
}

size_t testhv_world_count(const struct testhv_world *world)
{
    return world ? world->n_vms : 0;
}

int testhv_world_kill(struct testhv_world *world, const char *sandbox_id)
{
    struct testhv_vm *vm = world_find(world, sandbox_id);

    if (!vm)
        return -ENOENT;
    vm->state = VC_VM_STATE_STOPPED;
    vm->killed = true;
    return 0;
}

const struct testhv_vm *testhv_world_vm(const struct testhv_world *world, const char *sandbox_id)
{
    return world_find(world, sandbox_id);
}

/* --- handles -------------------------------------------------------------------------------- */

/* The handle's VM: -ESRCH when it was cleaned up (or replaced by another of the same id). */
static int testhv_vm(struct vc_hv *hv, struct testhv_vm **ret)
{
    struct testhv *t = testhv_of(hv);
    struct testhv_vm *vm = world_find(t->world, t->sandbox_id);

    if (!vm || vm->pid != t->pid)
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' is gone", t->sandbox_id);
    *ret = vm;
    return 0;
}

/* Whether the VM can take hotplug and resize requests (QMP answers them). */
static bool vm_live(const struct testhv_vm *vm)
{
    return vm->state == VC_VM_STATE_RUNNING || vm->state == VC_VM_STATE_PAUSED;
}

static const char *vm_state(const struct testhv_vm *vm)
{
    return vc_vm_state_to_string((enum vc_vm_state) vm->state);
}

static int testhv_handle_new(struct vc_ctx *ctx, struct testhv_world *world, const char *sandbox_id,
                             int32_t pid, struct vc_hv **ret)
{
    struct testhv *t = vc_new0(ctx, struct testhv, 1);

    if (!t)
        return -ENOMEM;
    *t = (struct testhv){
        .base = {.ops = &testhv_ops, .ctx = ctx},
        .world = world,
        .sandbox_id = vc_strdup(ctx, sandbox_id),
        .pid = pid,
    };
    if (!t->sandbox_id) {
        vc_free(ctx, t);
        return -ENOMEM;
    }
    *ret = &t->base;
    return 0;
}

static int testhv_check_config(struct vc_ctx *ctx, const struct vc_hv_config *cfg)
{
    if (cfg->vcpus < 1)
        return vc_err(ctx, -EINVAL, "invalid vcpus %u", cfg->vcpus);
    if (cfg->memory_mb < 1)
        return vc_err(ctx, -EINVAL, "invalid memory %u MiB", cfg->memory_mb);
    if (cfg->max_vcpus && cfg->max_vcpus < cfg->vcpus)
        return vc_err(ctx, -EINVAL, "max vcpus %u below vcpus %u", cfg->max_vcpus, cfg->vcpus);
    if (cfg->max_memory_mb && cfg->max_memory_mb < cfg->memory_mb)
        return vc_err(ctx, -EINVAL, "max memory %u MiB below memory %u MiB", cfg->max_memory_mb,
                      cfg->memory_mb);
    return 0;
}

static void testhv_destroy(struct vc_hv *hv)
{
    struct testhv *t;

    if (!hv)
        return;
    t = testhv_of(hv);
    vc_free(hv->ctx, t->sandbox_id);
    vc_free(hv->ctx, t);
}

static int testhv_create(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                         const struct vc_hv_config *cfg, struct vc_hv **ret)
{
    struct testhv_world *world = data;
    struct testhv_vm *vm = NULL;
    struct vc_hv *hv;
    int r;

    if (!world || !sandbox_id || !cfg)
        return vc_err(ctx, -EINVAL, "testhv: missing world, sandbox id or config");
    if (world_find(world, sandbox_id))
        return vc_err(ctx, -EEXIST, "vm of sandbox '%s' exists", sandbox_id);
    r = testhv_check_config(ctx, cfg);
    if (r < 0)
        return r;
    r = testhv_handle_new(ctx, world, sandbox_id, TESTHV_PID_BASE + (int32_t) world->n_created,
                          &hv);
    if (r < 0)
        return r;
    r = world_add(world, sandbox_id, cfg, &vm);
    if (r < 0) {
        testhv_destroy(hv);
        return r;
    }
    *ret = hv;
    return 0;
}

/* Reads {"pid":N}, what save_state wrote. */
static int testhv_parse_state(struct vc_ctx *ctx, const char *state, int32_t *ret_pid)
{
    json_object *j = NULL;
    json_object *pid;
    int64_t v;
    int r;

    if (!state)
        return vc_err(ctx, -EINVAL, "testhv: no state to load");
    r = vc_json_parse(ctx, "testhv state", state, strlen(state), &j);
    if (r < 0)
        return r;
    if (!json_object_object_get_ex(j, "pid", &pid) || !json_object_is_type(pid, json_type_int)) {
        json_object_put(j);
        return vc_err(ctx, -EINVAL, "testhv state has no pid");
    }
    v = json_object_get_int64(pid);
    json_object_put(j);
    if (v <= 0 || v > INT32_MAX)
        return vc_err(ctx, -EINVAL, "testhv state has invalid pid %lld", (long long) v);
    *ret_pid = (int32_t) v;
    return 0;
}

static int testhv_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                       const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret)
{
    struct testhv_world *world = data;
    struct testhv_vm *vm = NULL;
    int32_t pid = 0;
    int r;

    if (!world || !sandbox_id)
        return vc_err(ctx, -EINVAL, "testhv: missing world or sandbox id");
    /* A killed VM is reattached to its remains, so it can be stopped and cleaned up; check
     * reports that it died. Only a VM the world no longer holds is gone. */
    vm = world_find(world, sandbox_id);
    if (!vm)
        return vc_err(ctx, -ESRCH, "vm of sandbox '%s' is gone", sandbox_id);
    r = testhv_parse_state(ctx, state, &pid);
    if (r < 0)
        return r;
    if (pid != vm->pid)
        return vc_err(ctx, -ESRCH, "vm of sandbox '%s' is gone (pid %d, found %d)", sandbox_id, pid,
                      vm->pid);
    return testhv_handle_new(ctx, world, sandbox_id, pid, ret);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static int testhv_start(struct vc_hv *hv, uint32_t timeout_ms)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (vm->state != VC_VM_STATE_CREATED)
        return vc_err(hv->ctx, -EINVAL, "cannot start vm in state '%s'", vm_state(vm));
    vm->state = VC_VM_STATE_RUNNING;
    return 0;
}

/* Stopping a stopped (or killed) VM is fine, as kata's StopVM on a gone QEMU. */
static int testhv_stop(struct vc_hv *hv, bool wait_only)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    vm->state = VC_VM_STATE_STOPPED;
    return 0;
}

static int testhv_pause(struct vc_hv *hv)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (vm->state != VC_VM_STATE_RUNNING)
        return vc_err(hv->ctx, -EINVAL, "cannot pause vm in state '%s'", vm_state(vm));
    vm->state = VC_VM_STATE_PAUSED;
    return 0;
}

static int testhv_resume(struct vc_hv *hv)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (vm->state != VC_VM_STATE_PAUSED)
        return vc_err(hv->ctx, -EINVAL, "cannot resume vm in state '%s'", vm_state(vm));
    vm->state = VC_VM_STATE_RUNNING;
    return 0;
}

/* Migration to a template needs a paused VM. */
static int testhv_save(struct vc_hv *hv)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (vm->state != VC_VM_STATE_PAUSED)
        return vc_err(hv->ctx, -EINVAL, "cannot save vm in state '%s'", vm_state(vm));
    vm->saved = true;
    return 0;
}

/* --- hotplug -------------------------------------------------------------------------------- */

/* Adds what fits below max_vcpus, as QEMU's hotplugAddCPUs; dev->cpus becomes what was added. */
static int testhv_add_cpus(struct vc_ctx *ctx, struct testhv_vm *vm, struct vc_device *dev)
{
    uint32_t room = vm->max_vcpus - vm->vcpus;
    uint32_t add = dev->cpus < room ? dev->cpus : room;

    if (dev->cpus == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 vcpus");
    if (add == 0)
        return vc_err(ctx, -ENOSPC, "no free vcpu slot (%u of %u in use)", vm->vcpus,
                      vm->max_vcpus);
    vm->vcpus += add;
    dev->cpus = add;
    return 0;
}

/* Removes hotplugged vCPUs only: the boot vCPUs stay. dev->cpus becomes what was removed. */
static int testhv_remove_cpus(struct vc_ctx *ctx, struct testhv_vm *vm, struct vc_device *dev)
{
    uint32_t plugged = vm->vcpus - vm->boot_vcpus;
    uint32_t rm = dev->cpus < plugged ? dev->cpus : plugged;

    if (dev->cpus == 0)
        return vc_err(ctx, -EINVAL, "cannot hot-unplug 0 vcpus");
    if (rm == 0)
        return vc_err(ctx, -EINVAL, "no hotplugged vcpus to remove (%u boot vcpus)",
                      vm->boot_vcpus);
    vm->vcpus -= rm;
    dev->cpus = rm;
    return 0;
}

/* Whether a DIMM of size_mb can be plugged: a free slot and room below max_memory_mb. */
static int testhv_dimm_fits(struct vc_ctx *ctx, const struct testhv_vm *vm, uint32_t size_mb)
{
    if (size_mb == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 MiB of memory");
    if (vm->used_slots >= vm->mem_slots)
        return vc_err(ctx, -ENOSPC, "no free memory slot (%u of %u in use)", vm->used_slots,
                      vm->mem_slots);
    if (size_mb > vm->max_memory_mb - vm->memory_mb)
        return vc_err(ctx, -ENOSPC, "cannot hotplug %u MiB: vm has %u MiB of at most %u MiB",
                      size_mb, vm->memory_mb, vm->max_memory_mb);
    return 0;
}

/* The next DIMM's guest address: after the DIMMs already plugged. */
static uint64_t testhv_dimm_addr(const struct testhv_vm *vm)
{
    return TESTHV_DIMM_BASE + ((uint64_t) (vm->memory_mb - vm->boot_memory_mb) << 20);
}

static void testhv_dimm_commit(struct testhv_vm *vm, uint32_t size_mb)
{
    vm->memory_mb += size_mb;
    vm->used_slots++;
}

static int testhv_add_memory(struct vc_ctx *ctx, struct testhv_vm *vm, struct vc_device *dev)
{
    int r = testhv_dimm_fits(ctx, vm, dev->size_mb);
    char *guest_path;

    if (r < 0)
        return r;
    guest_path = testhv_strdupf(ctx, "dimm%u", vm->used_slots);
    if (!guest_path)
        return -ENOMEM;
    vc_free(ctx, dev->guest_path);
    dev->guest_path = guest_path;
    dev->addr = testhv_dimm_addr(vm);
    testhv_dimm_commit(vm, dev->size_mb);
    return 0;
}

static size_t testhv_port_of(const struct testhv_vm *vm, const char *id)
{
    for (size_t i = 0; i < TESTHV_PCI_PORTS; i++)
        if (vm->ports[i].id && strcmp(vm->ports[i].id, id) == 0)
            return i;
    return TESTHV_PCI_PORTS;
}

/* Block, net and vfio devices each take a PCIe root port; the guest sees "<port>/00". */
static int testhv_add_pci(struct vc_ctx *ctx, struct testhv_vm *vm, struct vc_device *dev)
{
    char *guest_path;
    size_t port;
    char *id;

    if (!dev->id || !*dev->id)
        return vc_err(ctx, -EINVAL, "%s device without id", vc_device_type_to_string(dev->type));
    if (testhv_port_of(vm, dev->id) < TESTHV_PCI_PORTS)
        return vc_err(ctx, -EEXIST, "device '%s' exists", dev->id);
    for (port = 0; port < TESTHV_PCI_PORTS && vm->ports[port].id; port++)
        ;
    if (port == TESTHV_PCI_PORTS)
        return vc_err(ctx, -ENOSPC, "no free pcie root port for device '%s'", dev->id);
    id = strdup(dev->id);
    guest_path = testhv_strdupf(ctx, "%02zx/00", port + 2);
    if (!id || !guest_path) {
        free(id);
        vc_free(ctx, guest_path);
        return -ENOMEM;
    }
    vm->ports[port] = (struct testhv_device){.type = dev->type, .id = id};
    vm->n_devices++;
    vc_free(ctx, dev->guest_path);
    dev->guest_path = guest_path;
    return 0;
}

static int testhv_remove_pci(struct vc_ctx *ctx, struct testhv_vm *vm, struct vc_device *dev)
{
    size_t port = dev->id ? testhv_port_of(vm, dev->id) : TESTHV_PCI_PORTS;

    if (port == TESTHV_PCI_PORTS)
        return vc_err(ctx, -ENOENT, "device '%s' not found", dev->id ? dev->id : "");
    free(vm->ports[port].id);
    vm->ports[port] = (struct testhv_device){0};
    vm->n_devices--;
    return 0;
}

static int testhv_hotplug_add(struct vc_hv *hv, struct vc_device *dev)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hotplug");
    if (!vm_live(vm))
        return vc_err(hv->ctx, -EINVAL, "cannot hotplug into vm in state '%s'", vm_state(vm));
    switch (dev->type) {
    case VC_DEVICE_CPU:
        return testhv_add_cpus(hv->ctx, vm, dev);
    case VC_DEVICE_MEMORY:
        return testhv_add_memory(hv->ctx, vm, dev);
    case VC_DEVICE_BLOCK:
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return testhv_add_pci(hv->ctx, vm, dev);
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
}

static int testhv_hotplug_remove(struct vc_hv *hv, struct vc_device *dev)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hot-unplug");
    if (!vm_live(vm))
        return vc_err(hv->ctx, -EINVAL, "cannot hot-unplug from vm in state '%s'", vm_state(vm));
    switch (dev->type) {
    case VC_DEVICE_CPU:
        return testhv_remove_cpus(hv->ctx, vm, dev);
    case VC_DEVICE_MEMORY:
        /* kata's QEMU backend never unplugs DIMMs. */
        return vc_err(hv->ctx, -EOPNOTSUPP, "memory hot-unplug is not supported");
    case VC_DEVICE_BLOCK:
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return testhv_remove_pci(hv->ctx, vm, dev);
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
}

/* The DIMM kata's qemu.ResizeMemory plugs: the missing MiB, clamped to the maximum, rounded up to
 * the guest's memory block. */
static uint32_t testhv_grow_size(const struct testhv_vm *vm, uint32_t req_mb, uint32_t block_mb)
{
    uint64_t add = req_mb - vm->memory_mb;
    uint64_t block = block_mb ? block_mb : 1;

    if (add > vm->max_memory_mb - vm->memory_mb)
        add = vm->max_memory_mb - vm->memory_mb;
    add = (add + block - 1) / block * block;
    return add > UINT32_MAX ? UINT32_MAX : (uint32_t) add;
}

/* Grows memory to req_mb; never shrinks (a DIMM cannot be removed). */
static int testhv_resize_memory(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                                uint32_t *ret_mb, struct vc_device *ret_dev)
{
    struct vc_device dimm = {.type = VC_DEVICE_MEMORY, .probe = probe};
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (!vm_live(vm))
        return vc_err(hv->ctx, -EINVAL, "cannot resize memory of vm in state '%s'", vm_state(vm));
    if (req_mb > vm->memory_mb) {
        if (vm->memory_mb >= vm->max_memory_mb)
            return vc_err(hv->ctx, -ENOSPC, "vm has reached its maximum of %u MiB",
                          vm->max_memory_mb);
        dimm.size_mb = testhv_grow_size(vm, req_mb, block_mb);
        r = testhv_dimm_fits(hv->ctx, vm, dimm.size_mb);
        if (r < 0)
            return r;
        dimm.addr = testhv_dimm_addr(vm);
        if (ret_dev) {
            dimm.id = testhv_strdupf(hv->ctx, "dimm%u", vm->used_slots);
            if (!dimm.id)
                return -ENOMEM;
        }
        testhv_dimm_commit(vm, dimm.size_mb);
    }
    *ret_mb = vm->memory_mb;
    if (ret_dev)
        *ret_dev = dimm;
    return 0;
}

/* Sets the vCPU count to req, clamped to [boot vcpus, max vcpus]. */
static int testhv_resize_vcpus(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new)
{
    struct testhv_vm *vm = NULL;
    uint32_t old;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (req == 0)
        return vc_err(hv->ctx, -EINVAL, "cannot resize to 0 vcpus");
    if (!vm_live(vm))
        return vc_err(hv->ctx, -EINVAL, "cannot resize vcpus of vm in state '%s'", vm_state(vm));
    old = vm->vcpus;
    if (req > vm->max_vcpus)
        req = vm->max_vcpus;
    if (req < vm->boot_vcpus)
        req = vm->boot_vcpus;
    vm->vcpus = req;
    *ret_old = old;
    *ret_new = req;
    return 0;
}

/* --- queries -------------------------------------------------------------------------------- */

static int testhv_console(struct vc_hv *hv, char **ret_url)
{
    struct testhv_vm *vm = NULL;
    char *url;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    url = testhv_strdupf(hv->ctx, "unix:///run/testhv/%s/console.sock", vm->sandbox_id);
    if (!url)
        return -ENOMEM;
    *ret_url = url;
    return 0;
}

static int testhv_pids(struct vc_hv *hv, int32_t **ret, size_t *ret_n)
{
    struct testhv_vm *vm = NULL;
    int32_t *v;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    v = vc_new0(hv->ctx, int32_t, 1);
    if (!v)
        return -ENOMEM;
    v[0] = vm->pid;
    *ret = v;
    *ret_n = 1;
    return 0;
}

/* Alive unless the VM was killed underneath or cleaned up; a stopped VM still answers. */
static int testhv_check(struct vc_hv *hv)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    if (vm->killed)
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' died", vm->sandbox_id);
    return 0;
}

/* Removes the VM from the world once it is stopped; a VM already removed is fine. */
static int testhv_cleanup(struct vc_hv *hv)
{
    struct testhv *t = testhv_of(hv);
    struct testhv_vm *vm = world_find(t->world, t->sandbox_id);

    if (!vm || vm->pid != t->pid)
        return 0;
    if (vm->state != VC_VM_STATE_STOPPED && !vm->killed)
        return vc_err(hv->ctx, -EBUSY, "cannot clean up vm in state '%s'", vm_state(vm));
    world_remove(t->world, t->sandbox_id);
    return 0;
}

static int testhv_capabilities(struct vc_hv *hv, uint32_t *ret_caps)
{
    *ret_caps = VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG |
                VC_HV_CAP_NET_HOTPLUG;
    return 0;
}

static int testhv_agent_endpoint(struct vc_hv *hv, char **ret_url)
{
    struct testhv_vm *vm = NULL;
    char *url;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    url = testhv_strdupf(hv->ctx, "mock:///run/testhv/%s/agent.sock", vm->sandbox_id);
    if (!url)
        return -ENOMEM;
    *ret_url = url;
    return 0;
}

static int testhv_save_state(struct vc_hv *hv, char **ret_state)
{
    char *state = testhv_strdupf(hv->ctx, "{\"pid\":%d}", testhv_of(hv)->pid);

    if (!state)
        return -ENOMEM;
    *ret_state = state;
    return 0;
}

static int testhv_query(struct vc_hv *hv, struct vc_vm_info *ret)
{
    struct testhv_vm *vm = NULL;
    int r = testhv_vm(hv, &vm);

    if (r < 0)
        return r;
    *ret = (struct vc_vm_info){
        .state = vm->state,
        .vcpus = vm->vcpus,
        .memory_mb = vm->memory_mb,
        .n_devices = vm->n_devices,
        .pid = vm->pid,
    };
    return 0;
}

const struct vc_hv_ops testhv_ops = {
    .version = VC_HV_OPS_V1,
    .name = "test",
    .create = testhv_create,
    .load = testhv_load,
    .destroy = testhv_destroy,
    .start = testhv_start,
    .stop = testhv_stop,
    .pause = testhv_pause,
    .resume = testhv_resume,
    .save = testhv_save,
    .hotplug_add = testhv_hotplug_add,
    .hotplug_remove = testhv_hotplug_remove,
    .resize_memory = testhv_resize_memory,
    .resize_vcpus = testhv_resize_vcpus,
    .console = testhv_console,
    .pids = testhv_pids,
    .check = testhv_check,
    .cleanup = testhv_cleanup,
    .capabilities = testhv_capabilities,
    .agent_endpoint = testhv_agent_endpoint,
    .save_state = testhv_save_state,
    .query = testhv_query,
};
