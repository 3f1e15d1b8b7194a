/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent's wire front end: a ttrpc server that serves the guests of a struct magent_host
 * as kata-agent serves its VM, with services grpc.AgentService (all 42 RPCs) and grpc.Health
 * (Check, Version). Each connection is bound to one guest, by vsock CID, when its listener or
 * stream is attached. Calls apply the host's script rules exactly as the in-process agent does
 * (same RPC names and request fields), then ask the guest model; calls it cannot answer yet
 * (WaitProcess, reads, GetOOMEvent, a paused VM) wait for the guest to change, on the loop of
 * the guest context. Everything runs on that context: virtual time in simulation, the real
 * clock in the mockagent daemon. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vc/ttrpc.h>

struct vc_ctx;
struct vc_listener;
struct vc_stream;
struct magent_host;
struct magent_server;

/* Limits of one server (on top of the ttrpc server's own). */
#define MAGENT_SERVER_WAITING_MAX 4096u       /* calls waiting (delayed, parked, hung) at once */
#define MAGENT_SERVER_HELD_MAX    (64u << 20) /* request bytes those calls may keep */
#define MAGENT_SERVER_READ_MAX    (1u << 20)  /* bytes one ReadStdout/ReadStderr answers */
#define MAGENT_SERVER_COPY_MAX    (64u << 20) /* bytes of CopyFile chunks assembled per guest */
#define MAGENT_SERVER_COPY_FILES  16u         /* files assembled per guest at once */
#define MAGENT_GRPC_VERSION       "0.0.1"     /* Health.Version's grpc_version (kata's) */

/* A server for host's guests on gctx (both borrowed; they must outlive it; gctx needs a loop
 * and must be the host's context). It becomes the host's one notification listener
 * (magent_host_set_notify). 0, -EINVAL, -EOPNOTSUPP without a loop, -ENOMEM. */
int magent_server_new(struct vc_ctx *gctx, struct magent_host *host, struct magent_server **ret);
/* Closes every connection and listener (waiting calls are abandoned) and frees. NULL-safe; not
 * from inside the server's own callbacks. */
void magent_server_free(struct magent_server *srv);

/* Serves every connection l accepts as the agent of the guest booted with cid (takes ownership
 * of l, also on failure). The guest must be up: -ENOENT otherwise. When that guest halts, its
 * connections are reset and its listeners closed; a guest booted again needs a new attach. */
int magent_server_listen(struct magent_server *srv, uint32_t cid, struct vc_listener *l);
/* Serves one connection (takes ownership of s, also on failure), as above. */
int magent_server_serve(struct magent_server *srv, uint32_t cid, struct vc_stream *s);

/* Sees every frame of every connection (see vc_ttrpc_frame_fn). */
void magent_server_set_recorder(struct magent_server *srv, vc_ttrpc_frame_fn *fn, void *data);
/* Connections open, over every guest. */
size_t magent_server_connections(const struct magent_server *srv);
/* Calls waiting for a delay, for the guest (MAGENT_AGAIN) or forever (a hang rule). */
size_t magent_server_waiting(const struct magent_server *srv);
/* Counters summed over every guest's ttrpc server (those of reset guests are lost). */
void magent_server_stats(const struct magent_server *srv, struct vc_ttrpc_stats *ret);
