/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent's guests: one per booted VM, keyed by vsock CID, each a kata-agent guest that
 * holds state (sandbox, containers, processes, interfaces, routes, neighbours, online CPUs and
 * memory, time, iptables, policy, volumes, copied files, swap, mounts, OOM events) and answers
 * as its script says. The host is told of VM lifecycle by whoever simulates the VMs (simhv's
 * guest hooks, wired by the runner); front ends (the in-process "mock" agent, the ttrpc server)
 * find a guest by the agent URL's CID. The guest model reaches time and timers only through the
 * guest context it was made with. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mockagent/script.h>

struct vc_ctx;
struct magent_host;
struct magent_guest;

/* A host whose guests follow script (copied) and live on gctx's clock and loop (borrowed; must
 * outlive the host). 0, -EINVAL for a malformed script, -ENOMEM. */
int magent_host_new(struct vc_ctx *gctx, const struct magent_script *script,
                    struct magent_host **ret);
void magent_host_free(struct magent_host *host); /* NULL-safe */

/* VM lifecycle. boot: a guest comes up for a VM with vcpus and memory_mb (-EEXIST if the CID has
 * one). halt: the guest and everything in it vanish; calls in flight fail as a reset connection.
 * pause: guest time stops (nothing in it runs and no call is answered) until resumed. resources:
 * vCPUs or memory plugged now. */
int magent_host_boot(struct magent_host *host, const char *sandbox_id, uint32_t cid, uint32_t vcpus,
                     uint32_t memory_mb);
void magent_host_halt(struct magent_host *host, uint32_t cid);
void magent_host_pause(struct magent_host *host, uint32_t cid, bool paused);
void magent_host_resources(struct magent_host *host, uint32_t cid, uint32_t vcpus,
                           uint32_t memory_mb);

/* The guest of cid, or NULL. Borrowed; valid until halted. */
struct magent_guest *magent_host_guest(struct magent_host *host, uint32_t cid);
/* The guest an agent URL names ("vsock://<cid>:<port>"), or NULL. */
struct magent_guest *magent_host_guest_by_url(struct magent_host *host, const char *url);
size_t magent_host_guest_count(const struct magent_host *host);
struct magent_guest *magent_host_guest_at(struct magent_host *host, size_t i);

/* The script's rules with their use counts, and how many expected rules were never used. */
const struct magent_script *magent_host_script(const struct magent_host *host);
size_t magent_host_unused_expectations(const struct magent_host *host);

/* --- inspecting a guest (for invariants and tests) ---------------------------------------- */

enum magent_ct_state {
    MAGENT_CT_CREATED, /* created, init not started */
    MAGENT_CT_RUNNING, /* init running */
    MAGENT_CT_PAUSED,  /* frozen */
    MAGENT_CT_STOPPED, /* init exited */
    MAGENT_CT_LAST
};

struct magent_ct_view {
    const char *id;   /* container id (borrowed) */
    int32_t state;    /* enum magent_ct_state */
    int32_t init_pid; /* guest pid of init */
    size_t n_running; /* processes of the container still running (init and execs) */
    size_t n_procs;   /* processes the agent still tracks */
};

const char *magent_guest_sandbox_id(const struct magent_guest *g);
uint32_t magent_guest_cid(const struct magent_guest *g);
/* Whether CreateSandbox ran (and DestroySandbox has not). */
bool magent_guest_sandbox_up(const struct magent_guest *g);
size_t magent_guest_container_count(const struct magent_guest *g);
/* 0 and *ret filled, or -ENOENT past the end. */
int magent_guest_container_at(const struct magent_guest *g, size_t i, struct magent_ct_view *ret);
int magent_guest_container(const struct magent_guest *g, const char *id,
                           struct magent_ct_view *ret);
/* vCPUs and memory plugged into the VM, and how much of it the guest has online. */
uint32_t magent_guest_vcpus(const struct magent_guest *g);
uint32_t magent_guest_online_vcpus(const struct magent_guest *g);
uint32_t magent_guest_memory_mb(const struct magent_guest *g);
uint32_t magent_guest_online_memory_mb(const struct magent_guest *g);
/* Makes container id hit OOM now: its processes are killed (137) and an OOM event is queued.
 * 0, or -ENOENT. */
int magent_guest_oom(struct magent_guest *g, const char *container_id);
/* Events the guest has queued for GetOOMEvent and not yet delivered. */
size_t magent_guest_pending_oom(const struct magent_guest *g);

const char *magent_ct_state_to_string(enum magent_ct_state s);
