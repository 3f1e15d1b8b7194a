/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent as the guest of simhv's VMs: the hooks that tell a struct magent_host when a
 * simulated VM boots, halts, pauses or gets resources. Two flavours: without a wire, set
 * simhv_world_set_guest(world, &magent_simhv_guest_ops, host) and the runtime uses the in-process
 * "mock" agent; with the wire, set simhv_world_set_guest(world, &magent_simhv_wire_guest_ops,
 * wire) and the runtime's "kata" agent dials each guest's ttrpc server over the simulated
 * network. Lives in its own library (mockagent_sim) so neither the guest model nor simhv depends
 * on the other. */
#pragma once

#include <simhv/hv.h>

struct vc_ctx;
struct magent_host;
struct magent_server;
struct magent_sim_wire;

/* The port a simulated guest's agent listens on: kata's vsock agent port. */
#define MAGENT_SIM_AGENT_PORT 1024u

extern const struct simhv_guest_ops magent_simhv_guest_ops;

/* The wire flavour's state: a ttrpc server over host's guests on gctx (both borrowed; they must
 * outlive it). At each boot the guest listens on vsock://<cid>:1024 in the simulated network.
 * 0 or -errno. */
int magent_sim_wire_new(struct vc_ctx *gctx, struct magent_host *host,
                        struct magent_sim_wire **ret);
void magent_sim_wire_free(struct magent_sim_wire *w); /* NULL-safe */
struct magent_server *magent_sim_wire_server(struct magent_sim_wire *w);

/* Data: a struct magent_sim_wire. */
extern const struct simhv_guest_ops magent_simhv_wire_guest_ops;
