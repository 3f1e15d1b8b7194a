/* SPDX-License-Identifier: Apache-2.0 */
/* testhv: a hypervisor test double. It implements every vc_hv_ops member with QEMU's state rules
 * (start only once, pause only when running, hotplug only into a live VM, DIMMs never removed)
 * over a world of VMs keyed by sandbox id that outlives the handles core gets, so tests can
 * reattach with load, kill a VM underneath core, and inspect what the VM holds.
 * Register it with vc_ctx_register_hv(ctx, &testhv_ops, world); its kind name is "test". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/hv.h>

#define TESTHV_PCI_PORTS 16 /* PCIe root ports for block, net and vfio devices */

/* A hotplugged block, net or vfio device, on the root port of its index. */
struct testhv_device {
    int32_t type; /* enum vc_device_type */
    char *id;     /* device id; NULL for a free port */
};

/* A VM of the world. Read it through testhv_world_vm(); only testhv changes it. */
struct testhv_vm {
    char *sandbox_id;                             /* the key */
    int32_t state;                                /* enum vc_vm_state */
    bool killed;                                  /* died underneath (testhv_world_kill) */
    bool saved;                                   /* save ran while paused */
    int32_t pid;                                  /* fake host pid, 1000 + creation count */
    uint32_t boot_vcpus;                          /* vCPUs at boot */
    uint32_t vcpus;                               /* vCPUs plugged now */
    uint32_t max_vcpus;                           /* vCPU slots */
    uint32_t boot_memory_mb;                      /* memory at boot */
    uint32_t memory_mb;                           /* memory plugged now (boot + DIMMs) */
    uint32_t max_memory_mb;                       /* memory ceiling */
    uint32_t mem_slots;                           /* DIMM slots */
    uint32_t used_slots;                          /* DIMMs plugged */
    uint32_t n_devices;                           /* block, net and vfio devices plugged */
    struct testhv_device ports[TESTHV_PCI_PORTS]; /* devices by root port */
};

struct testhv_world;

/* The ops table (kind "test"); its registration data is a struct testhv_world. */
extern const struct vc_hv_ops testhv_ops;

/* An empty world; NULL when out of memory. Free with testhv_world_free (NULL-safe), after every
 * handle made over it. */
struct testhv_world *testhv_world_new(void);
void testhv_world_free(struct testhv_world *world);

/* How many VMs the world holds (created and not yet cleaned up). */
size_t testhv_world_count(const struct testhv_world *world);

/* The VM dies underneath its handles: stopped and marked killed, so check and load report it
 * gone (-ESRCH). 0, or -ENOENT if the world has no VM for sandbox_id. */
int testhv_world_kill(struct testhv_world *world, const char *sandbox_id);

/* The VM of sandbox_id, or NULL. Borrowed; valid until the VM is cleaned up. */
const struct testhv_vm *testhv_world_vm(const struct testhv_world *world, const char *sandbox_id);
