/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated hypervisor ("sim"): every vc_hv_ops member with QEMU's rules, over the world's
 * VMs. VMs outlive the handles the core gets (as QEMU processes outlive a runtime invocation),
 * so a restarted runtime reattaches with load. Start boots for a latency drawn from the world's
 * boot model and fails with -ETIMEDOUT past its timeout; vCPU slots up to max vcpus; memory is
 * boot memory plus DIMMs in mem_slots up to max memory, in the guest's block size; block, net and
 * vfio devices each take one of 16 PCIe root ports; pause needs running, resume paused, save
 * paused; hotplug needs a live VM; duplicate device ids are refused with -EEXIST, exhausted
 * slots and ports with -ENOSPC. Each VM has a virtual host pid, a vsock CID, console text and
 * an agent endpoint "vsock://<cid>:1024". A guest provider (the mock agent) is told when a guest
 * boots, halts, pauses or gets resources. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/hv.h>

struct simhv_world;

#define SIMHV_PCI_PORTS   16    /* PCIe root ports for block, net and vfio devices */
#define SIMHV_AGENT_PORT  1024  /* kata-agent's vsock port */
#define SIMHV_CONSOLE_MAX 65536 /* console text kept per VM (older text is dropped) */
#define SIMHV_PID_BASE    4000  /* first virtual host pid */
#define SIMHV_CID_BASE    3     /* first vsock CID (0-2 are reserved) */

/* The ops table; register with vc_ctx_register_hv(ctx, &simhv_ops, world) (simhv_ctx_new does). */
extern const struct vc_hv_ops simhv_ops;

struct simhv_port {
    int32_t type; /* enum vc_device_type */
    char *id;     /* device id; NULL for a free port */
};

/* A VM of the world. Read only; the world changes it. */
struct simhv_vm {
    char *sandbox_id;                         /* sandbox it was created for */
    uint32_t n;                               /* creation number (0, 1, ...) */
    int32_t state;                            /* enum vc_vm_state */
    bool booted;                              /* the guest came up */
    bool crashed;                             /* died underneath (fault or simhv_world_crash_vm) */
    bool saved;                               /* save ran while paused */
    int32_t pid;                              /* virtual host pid: SIMHV_PID_BASE + n */
    uint32_t cid;                             /* vsock CID: SIMHV_CID_BASE + n */
    uint64_t created_ns;                      /* virtual time of create */
    uint64_t booted_ns;                       /* virtual time the guest came up */
    uint32_t boot_vcpus;                      /* vCPUs at boot */
    uint32_t vcpus;                           /* vCPUs plugged now */
    uint32_t max_vcpus;                       /* vCPU slots */
    uint32_t boot_memory_mb;                  /* memory at boot */
    uint32_t memory_mb;                       /* memory plugged now (boot + DIMMs) */
    uint32_t max_memory_mb;                   /* memory ceiling */
    uint32_t mem_slots;                       /* DIMM slots */
    uint32_t used_slots;                      /* DIMMs plugged */
    uint32_t n_devices;                       /* block, net and vfio devices plugged */
    struct simhv_port ports[SIMHV_PCI_PORTS]; /* devices by root port */
    char *console;                            /* console text (NUL-terminated) */
    size_t console_len;                       /* bytes in console */
};

/* What the guest provider hears. Every member may be NULL. */
struct simhv_guest_ops {
    /* The VM finished booting: its guest comes up. A negative errno fails the boot (start
     * returns it and the VM stops). */
    int (*boot)(void *data, const struct simhv_vm *vm);
    /* The VM stopped or died: its guest and everything in it are gone. */
    void (*halt)(void *data, const struct simhv_vm *vm);
    /* The VM was paused (true) or resumed (false): guest time stops meanwhile. */
    void (*pause)(void *data, const struct simhv_vm *vm, bool paused);
    /* vCPUs or memory were plugged or unplugged: vm holds the new totals. */
    void (*resources)(void *data, const struct simhv_vm *vm);
};

/* Sets the guest provider of every VM (borrowed). */
void simhv_world_set_guest(struct simhv_world *w, const struct simhv_guest_ops *ops, void *data);

/* VMs the world holds (created and not yet cleaned up), in creation order. */
size_t simhv_world_vm_count(const struct simhv_world *w);
const struct simhv_vm *simhv_world_vm_at(const struct simhv_world *w, size_t i);
/* The VM of sandbox_id, or NULL. Borrowed; valid until it is cleaned up. */
const struct simhv_vm *simhv_world_vm(const struct simhv_world *w, const char *sandbox_id);
/* The VM whose vsock CID is cid, or NULL. */
const struct simhv_vm *simhv_world_vm_by_cid(const struct simhv_world *w, uint32_t cid);

/* The VM dies underneath its handles (QEMU killed, guest panic): stopped, crashed, its guest
 * halted; check and load then report it gone. 0, or -ENOENT if there is no such VM. */
int simhv_world_crash_vm(struct simhv_world *w, const char *sandbox_id);
/* Appends text to a VM's console (the guest provider writes boot messages and panics here). */
void simhv_world_console_write(struct simhv_world *w, const char *sandbox_id, const char *text);
