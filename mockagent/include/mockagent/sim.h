/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent as the guest of simhv's VMs: the hooks that tell a struct magent_host when a
 * simulated VM boots, halts, pauses or gets resources. Two flavours: without a wire, set
 * simhv_world_set_guest(world, &magent_simhv_guest_ops, host) and the runtime uses the in-process
 * "mock" agent; with the wire, set simhv_world_set_guest(world, &magent_simhv_wire_guest_ops,
 * wire) and the runtime's "kata" agent dials each guest's ttrpc server over the simulated
 * network. Lives in its own library (mockagent_sim) so neither the guest model nor simhv depends
 * on the other. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* A tap on the connections the guests' agents accept, for fuzzers and traffic recorders. Each
 * connection is numbered from 0 (conn) and each frame the agents write from 0 (n), over the
 * wire's life. Both members may be NULL. */
struct magent_sim_tap {
    /* A whole frame (10-byte header, then data) the agent of guest cid writes on conn, in wire
     * order. false sends it unchanged; true with *ret and *ret_len set sends those bytes in its
     * place (any bytes: another frame, a piece of one, garbage, or none; borrowed until the tap
     * is called again). Frames declaring more than VC_TTRPC_MESSAGE_MAX pass untapped. */
    bool (*frame)(void *data, uint32_t cid, uint64_t conn, uint64_t n, const uint8_t *frame,
                  size_t len, const uint8_t **ret, size_t *ret_len);
    /* Bytes the agent read from conn (the client's requests), as they arrive. */
    void (*read)(void *data, uint32_t cid, uint64_t conn, const uint8_t *buf, size_t len);
};

/* Sets the tap (copied; NULL: none) and its data. Only connections accepted on listeners made
 * at boots while a tap is set are tapped, through the tap in force at each frame: set it before
 * the VM starts; setting NULL later lets every frame pass unchanged. Without a tap nothing is
 * wrapped and the wire costs nothing extra. */
void magent_sim_wire_set_tap(struct magent_sim_wire *w, const struct magent_sim_tap *tap,
                             void *data);

/* Data: a struct magent_sim_wire. */
extern const struct simhv_guest_ops magent_simhv_wire_guest_ops;
