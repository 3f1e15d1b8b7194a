/* SPDX-License-Identifier: Apache-2.0 */
/* The mockagent daemon as a test guest's /init: bringing the machine up (filesystems, virtio
 * modules, the agent's port), the real machine under the guest model, and powering off. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "magent_model.h"

#define DM_INIT_CHANNEL   "agent.channel.0"           /* the virtio-serial port kata names */
#define DM_INIT_VSOCK_URL "vsock://-1:1024"           /* kata-agent's vsock port, any CID */
#define DM_INIT_MODULES   "/lib/modules/load.list"    /* modules to load, in order */
#define DM_INIT_SCRIPT    "/etc/mockagent/guest.yaml" /* guest script used when present */
#define DM_INIT_URL_MAX   128

/* What bringing the machine up found. */
struct dm_init {
    char url[DM_INIT_URL_MAX]; /* "serial:///dev/vportNpM" of the agent port, or "" */
    bool vsock;                /* a virtio vsock device is bound: serve DM_INIT_VSOCK_URL too */
    uint32_t vcpus;            /* CPUs online now */
    uint32_t memory_mb;        /* memory online now, MiB */
};

/* Mounts proc, sysfs, devtmpfs and /run (already mounted is fine), makes sure stdio is open on
 * the console, loads the modules DM_INIT_MODULES lists, and, when want_port, waits (bounded)
 * for the port named DM_INIT_CHANNEL. 0 and *ret filled; -ENODEV when neither the port nor a
 * vsock device showed up (a message printed). */
int dm_init_boot(bool want_port, struct dm_init *ret);

/* Prints why to the console; as PID 1 syncs and powers the machine off (never returns), else
 * returns so the caller exits. */
void dm_init_halt(const char *why);

/* The real machine for the guest model: sysfs CPU and memory onlining, the real clock. */
extern const struct magent_real_ops dm_init_real_ops;
