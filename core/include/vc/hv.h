/* SPDX-License-Identifier: Apache-2.0 */
/* The hypervisor interface. Only core/src/hv.c calls through the table; everything else calls
 * the vc_hv_* wrappers, which return -EOPNOTSUPP for a NULL member, run the "hv.<op>" fault
 * point and log at debug level. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/types.h>

struct vc_ctx;
struct vc_hv;
struct vc_hv_backend;

#define VC_HV_OPS_V1 1u

/* Hypervisor capabilities. */
enum {
    VC_HV_CAP_BLOCK_DEVICE = 1u << 0, /* block device hotplug */
    VC_HV_CAP_MULTI_QUEUE = 1u << 1,  /* multi-queue net */
    VC_HV_CAP_FS_SHARING = 1u << 2,   /* shared filesystem */
    VC_HV_CAP_NET_HOTPLUG = 1u << 3,  /* network hotplug */
    VC_HV_CAP_CPU_HOTPLUG = 1u << 4,  /* vCPU hotplug */
    VC_HV_CAP_MEM_HOTPLUG = 1u << 5,  /* memory hotplug */
};

/* What the hypervisor itself says about its VM. */
enum vc_vm_state {
    VC_VM_STATE_CREATED, /* configured, not started */
    VC_VM_STATE_RUNNING, /* running */
    VC_VM_STATE_PAUSED,  /* paused */
    VC_VM_STATE_STOPPED, /* stopped or gone */
    VC_VM_STATE_LAST
};

struct vc_vm_info {
    int32_t state;      /* enum vc_vm_state */
    uint32_t vcpus;     /* vCPUs plugged */
    uint32_t memory_mb; /* memory plugged (base + DIMMs) */
    uint32_t n_devices; /* hotplugged block/net/vfio devices */
    int32_t pid;        /* host pid of the VM process (virtual in simulation) */
};

struct vc_hv_ops {
    unsigned version; /* VC_HV_OPS_V1; members are only ever appended */
    const char *name; /* kind name: "qemu", "sim" */

    /* create: the factory, for a new VM (not started). data is the backend's registration
     * data. cfg is borrowed for the call. *ret owned by the caller, freed with destroy. */
    int (*create)(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                  const struct vc_hv_config *cfg, struct vc_hv **ret);
    /* load: reattaches to a VM from the state save_state produced (in another process). It
     * succeeds for a VM that died, so the caller can stop and clean up its remains; check then
     * reports -ESRCH. -ESRCH from load means nothing of the VM is left. state NULL: a create
     * was cut short before any state was saved; the backend finds what the sandbox left by
     * its id alone (-ESRCH when nothing). */
    int (*load)(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret);
    /* destroy: frees the handle; the VM itself keeps running. NULL-safe, half-built safe. */
    void (*destroy)(struct vc_hv *hv);
    int (*start)(struct vc_hv *hv, uint32_t timeout_ms);
    int (*stop)(struct vc_hv *hv, bool wait_only);
    int (*pause)(struct vc_hv *hv);
    int (*resume)(struct vc_hv *hv);
    int (*save)(struct vc_hv *hv); /* VM state to its template path */
    /* Hotplug: dev is in/out (see struct vc_device). */
    int (*hotplug_add)(struct vc_hv *hv, struct vc_device *dev);
    int (*hotplug_remove)(struct vc_hv *hv, struct vc_device *dev);
    /* Grows memory to req_mb in block_mb steps; *ret_mb is the memory now plugged and *ret_dev
     * (may be NULL) describes the DIMM added, for probe-based guests. */
    int (*resize_memory)(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                         uint32_t *ret_mb, struct vc_device *ret_dev);
    int (*resize_vcpus)(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new);
    int (*console)(struct vc_hv *hv, char **ret_url);            /* *ret owned by caller */
    int (*pids)(struct vc_hv *hv, int32_t **ret, size_t *ret_n); /* *ret owned by caller */
    int (*check)(struct vc_hv *hv);   /* 0 if the VM is alive, -ESRCH if gone */
    int (*cleanup)(struct vc_hv *hv); /* removes run dirs and sockets after stop */
    int (*capabilities)(struct vc_hv *hv, uint32_t *ret_caps);
    int (*agent_endpoint)(struct vc_hv *hv, char **ret_url); /* *ret owned by caller */
    int (*save_state)(struct vc_hv *hv, char **ret_state);   /* *ret owned by caller */
    int (*query)(struct vc_hv *hv, struct vc_vm_info *ret);
};

/* The base every backend embeds as its first member. */
struct vc_hv {
    const struct vc_hv_ops *ops; /* the backend */
    struct vc_ctx *ctx;          /* the context it was made with (borrowed) */
};

int vc_hv_create(struct vc_ctx *ctx, const struct vc_hv_backend *be, const char *sandbox_id,
                 const struct vc_hv_config *cfg, struct vc_hv **ret);
int vc_hv_load(struct vc_ctx *ctx, const struct vc_hv_backend *be, const char *sandbox_id,
               const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret);
void vc_hv_free(struct vc_hv *hv); /* NULL-safe */
int vc_hv_start(struct vc_hv *hv, uint32_t timeout_ms);
int vc_hv_stop(struct vc_hv *hv, bool wait_only);
int vc_hv_pause(struct vc_hv *hv);
int vc_hv_resume(struct vc_hv *hv);
int vc_hv_save(struct vc_hv *hv);
int vc_hv_hotplug_add(struct vc_hv *hv, struct vc_device *dev);
int vc_hv_hotplug_remove(struct vc_hv *hv, struct vc_device *dev);
int vc_hv_resize_memory(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                        uint32_t *ret_mb, struct vc_device *ret_dev);
int vc_hv_resize_vcpus(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new);
int vc_hv_console(struct vc_hv *hv, char **ret_url);
int vc_hv_pids(struct vc_hv *hv, int32_t **ret, size_t *ret_n);
int vc_hv_check(struct vc_hv *hv);
int vc_hv_cleanup(struct vc_hv *hv);
int vc_hv_capabilities(struct vc_hv *hv, uint32_t *ret_caps);
int vc_hv_agent_endpoint(struct vc_hv *hv, char **ret_url);
int vc_hv_save_state(struct vc_hv *hv, char **ret_state);
int vc_hv_query(struct vc_hv *hv, struct vc_vm_info *ret);

const char *vc_vm_state_to_string(enum vc_vm_state state);
