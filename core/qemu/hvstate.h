/* SPDX-License-Identifier: Apache-2.0 */
/* What the QEMU backend records about a VM so that another process can reattach to it (the
 * hv_state of the sandbox's document): its pid, run directory, accelerator, agent channel and
 * CID, and the vCPUs, DIMMs and block devices hotplugged into it. Converted to and from JSON
 * through the schema code, then checked against limits: the text comes from disk and is not
 * trusted (internal to core). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vc_ctx;

#define VC_QEMU_STATE_VERSION 1u
#define VC_QEMU_STATE_MAX     (256u << 10) /* bytes of state text accepted */
#define VC_QEMU_MAX_DIMMS     256u         /* DIMMs recorded (QEMU's slot limit) */
#define VC_QEMU_MAX_BLOCKS    64u          /* hotplugged block devices recorded */
#define VC_QEMU_ID_MAX        127u         /* longest device or node id recorded */

/* A hot-added DIMM: backend "mem<slot>", device "dimmmem<slot>". */
struct vc_qemu_dimm {
    uint32_t slot;    /* DIMM slot */
    uint32_t size_mb; /* its size */
    uint64_t addr;    /* guest physical address, 0 when not asked for */
};

/* A hot-added block device. */
struct vc_qemu_blockdev {
    char *id;     /* QEMU device id (the vc_device id) */
    char *node;   /* block node name ("vcblk<n>") */
    int32_t port; /* pcie-root-port rp<port> it sits on; -1: QEMU chose a slot */
};

struct vc_qemu_hvstate {
    uint32_t version;                /* VC_QEMU_STATE_VERSION */
    char *vm_state;                  /* "created", "running", "paused" or "stopped" */
    bool crashed;                    /* found dead while it should have been running */
    int32_t pid;                     /* QEMU's pid; 0 before start */
    char *run_dir;                   /* <root>/vm/<sandbox id> */
    char *accel;                     /* "auto" until started, then "kvm" or "tcg" */
    char *agent;                     /* "vsock" or "serial" */
    uint32_t cid;                    /* vsock guest CID; 0 with a serial agent */
    char *cpu_model;                 /* -cpu override, or NULL for the builder's default */
    uint32_t root_ports;             /* pcie-root-ports rp0.. (q35) */
    bool debug;                      /* kernel "debug", named QEMU threads */
    uint32_t vcpus;                  /* vCPUs plugged now */
    uint32_t *cpu_ids;               /* hot-added CPUs "cpu-<n>", oldest first */
    size_t n_cpu_ids;                /* number of cpu_ids */
    uint32_t cpu_next;               /* n of the next hot-added CPU */
    uint32_t memory_mb;              /* memory plugged now (boot + DIMMs) */
    struct vc_qemu_dimm *dimms;      /* hot-added DIMMs */
    size_t n_dimms;                  /* number of dimms */
    struct vc_qemu_blockdev *blocks; /* hot-added block devices */
    size_t n_blocks;                 /* number of blocks */
    uint32_t block_next;             /* n of the next block node "vcblk<n>" */
};

/* Frees the members and zeroes *st. NULL-safe. */
void vc_qemu_hvstate_clear(struct vc_ctx *ctx, struct vc_qemu_hvstate *st);

/* The JSON text of st (one line). 0 with *ret allocated through the context; -ENOMEM. */
int vc_qemu_hvstate_to_json(struct vc_ctx *ctx, const struct vc_qemu_hvstate *st, char **ret);

/* Parses and checks state text into a zeroed *ret: the version, a known vm_state, accel and
 * agent, an absolute run_dir, a pid >= 0, counts and ids within the limits above. 0; -EINVAL
 * (recorded, naming the problem) with *ret cleared; -ENOMEM. */
int vc_qemu_hvstate_from_json(struct vc_ctx *ctx, const char *text, struct vc_qemu_hvstate *ret);

/* Whether s is usable as a QEMU device or node id: 1..VC_QEMU_ID_MAX bytes, a letter first,
 * then letters, digits, '-', '.' and '_' (QEMU's id_wellformed). */
bool vc_qemu_id_ok(const char *s);
