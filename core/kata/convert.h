/* SPDX-License-Identifier: Apache-2.0 */
/* Conversions between the model (vc/types.h) and kata's agent protocol messages (protoc-c),
 * both ways: the kata agent builds requests and reads replies with them, mockagent's ttrpc
 * server reads requests and builds replies with the same code, so both ends agree by
 * construction. Internal to core and mockagent (include path from vc_internal). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/types.h>

#include "agent.pb-c.h"
#include "csi.pb-c.h"
#include "health.pb-c.h"
#include "oci.pb-c.h"
#include "types.pb-c.h"

struct vc_ctx;

/* Limits on what a peer's message may hold when it becomes a model struct (the store's own
 * limits, so whatever converts can also be persisted). Beyond them: -EINVAL. */
#define VC_KATA_STR_MAX   (1u << 20) /* longest string */
#define VC_KATA_ARRAY_MAX 65536u     /* most elements in one repeated field */

#define VC_KATA_HOSTNAME_MAX 64u     /* kata's maxHostnameLen: CreateSandbox cuts to this */
#define VC_KATA_OCI_VERSION  "1.1.0" /* Spec.Version sent with CreateContainer */
#define VC_KATA_STATS_IFNAME "eth0"  /* NetworkStats name of the totals a vc→pb stats carries */
#define VC_KATA_EPHEMERAL    "ephemeral" /* Storage.driver of ephemeral (tmpfs) mounts */

/* ---------------------------------------------------------------------------------------------
 * The arena: every vc→pb function allocates its messages and arrays here, so one
 * vc_kata_arena_free releases a whole request however deep it is. Strings are not copied: they
 * are BORROWED from the model struct given (NULL strings become ""), which must outlive the
 * message. Binary data (CopyFile chunks, iptables, stdin) is borrowed too.
 * ------------------------------------------------------------------------------------------- */

struct vc_kata_arena_block;

struct vc_kata_arena {
    struct vc_ctx *ctx;               /* allocator (borrowed) */
    struct vc_kata_arena_block *head; /* blocks, newest first */
};

/* Readies an empty arena; nothing is allocated until the first use. */
void vc_kata_arena_init(struct vc_kata_arena *a, struct vc_ctx *ctx);
/* size zeroed bytes aligned for any type; NULL with -ENOMEM recorded on the context. */
void *vc_kata_arena_alloc(struct vc_kata_arena *a, size_t size);
/* n elements of size bytes, zeroed, overflow-checked; NULL (-ENOMEM recorded) on failure. */
void *vc_kata_arena_array(struct vc_kata_arena *a, size_t n, size_t size);
/* Frees everything the arena gave out and empties it (it can be used again). NULL-safe. */
void vc_kata_arena_free(struct vc_kata_arena *a);

/* ---------------------------------------------------------------------------------------------
 * vc → pb. Each returns 0 with *ret allocated in the arena (strings borrowed, see above), or
 * -errno recorded on the arena's context: -ENOMEM, -EINVAL for a model value the wire cannot
 * carry (an IP family that is neither v4 nor v6). *ret is untouched on failure; whatever was
 * allocated stays in the arena until vc_kata_arena_free.
 * ------------------------------------------------------------------------------------------- */

/* CreateContainerRequest as kata's createContainer sends it: container_id = exec_id = cfg->id,
 * OCI = Spec{Version, Process, Root{rootfs, readonly}, Mounts, Annotations, Linux{Resources,
 * Namespaces ipc/uts/mount with empty paths (network, cgroup and pid are the host's or the
 * sandbox's, as kata strips them), Devices}}, sandbox_pidns false. A device's host_path is
 * host-only and not sent. */
int vc_kata_container_to_pb(struct vc_kata_arena *a, const struct vc_container_config *cfg,
                            Grpc__CreateContainerRequest **ret);
/* grpc.Process (Terminal, ConsoleSize when rows or columns are set, User, Args, Env, Cwd: "/"
 * for a NULL cwd). */
int vc_kata_process_to_pb(struct vc_kata_arena *a, const struct vc_process_config *p,
                          Grpc__Process **ret);
/* ExecProcessRequest{container_id, exec_id, process}. */
int vc_kata_exec_to_pb(struct vc_kata_arena *a, const char *container_id, const char *exec_id,
                       const struct vc_process_config *cmd, Grpc__ExecProcessRequest **ret);
int vc_kata_interface_to_pb(struct vc_kata_arena *a, const struct vc_interface *iface,
                            Types__Interface **ret);
/* Interfaces{Interfaces} (ListInterfaces' reply). */
int vc_kata_interfaces_to_pb(struct vc_kata_arena *a, const struct vc_interface *v, size_t n,
                             Grpc__Interfaces **ret);
int vc_kata_route_to_pb(struct vc_kata_arena *a, const struct vc_route *route, Types__Route **ret);
/* Routes{Routes} (UpdateRoutesRequest.routes, and the reply of UpdateRoutes and ListRoutes). */
int vc_kata_routes_to_pb(struct vc_kata_arena *a, const struct vc_route *v, size_t n,
                         Grpc__Routes **ret);
int vc_kata_neighbor_to_pb(struct vc_kata_arena *a, const struct vc_arp_neighbor *nb,
                           Types__ARPNeighbor **ret);
/* ARPNeighbors{ARPNeighbors} (AddARPNeighborsRequest.neighbors). */
int vc_kata_neighbors_to_pb(struct vc_kata_arena *a, const struct vc_arp_neighbor *v, size_t n,
                            Grpc__ARPNeighbors **ret);
/* LinuxResources: CPU{Shares, Quota, Period} when any is set, Memory{Limit} when set. */
int vc_kata_resources_to_pb(struct vc_kata_arena *a, const struct vc_resources *res,
                            Grpc__LinuxResources **ret);
/* StatsContainerResponse: CpuUsage, MemoryStats.usage, PidsStats and one NetworkStats named
 * VC_KATA_STATS_IFNAME holding the totals (none when both are 0). */
int vc_kata_stats_to_pb(struct vc_kata_arena *a, const struct vc_container_stats *st,
                        Grpc__StatsContainerResponse **ret);
int vc_kata_guest_details_to_pb(struct vc_kata_arena *a, const struct vc_guest_details *gd,
                                Grpc__GuestDetailsResponse **ret);
/* One CopyFile chunk: file's metadata, file_size = file->size, offset, and data = len bytes of
 * file->data from offset (borrowed). -EINVAL if the chunk lies outside the file. */
int vc_kata_copy_file_to_pb(struct vc_kata_arena *a, const struct vc_copy_file *file, size_t offset,
                            size_t len, Grpc__CopyFileRequest **ret);
/* Storage{driver, source, fstype = m->type, options, mount_point = m->destination}. */
int vc_kata_mount_to_storage(struct vc_kata_arena *a, const struct vc_mount *m, const char *driver,
                             Grpc__Storage **ret);
/* UpdateEphemeralMountsRequest: each mount as a Storage with driver VC_KATA_EPHEMERAL. */
int vc_kata_ephemeral_mounts_to_pb(struct vc_kata_arena *a, const struct vc_mount *v, size_t n,
                                   Grpc__UpdateEphemeralMountsRequest **ret);
/* VolumeStatsResponse: usage {BYTES, INODES}, and volume_condition{abnormal, message}. */
int vc_kata_volume_stats_to_pb(struct vc_kata_arena *a, const struct vc_volume_stats *vs,
                               Grpc__VolumeStatsResponse **ret);
/* CreateSandboxRequest as kata's startSandbox sends it: Hostname cut to VC_KATA_HOSTNAME_MAX
 * bytes (copied into the arena), Dns = cfg->net.dns, SandboxId = cfg->id. The model has no
 * shared-fs storages, shared pid namespace, guest hook path or kernel modules: those go empty. */
int vc_kata_sandbox_to_pb(struct vc_kata_arena *a, const struct vc_sandbox_config *cfg,
                          Grpc__CreateSandboxRequest **ret);

/* ---------------------------------------------------------------------------------------------
 * pb → vc. The message is untrusted (a peer's): repeated fields over VC_KATA_ARRAY_MAX, strings
 * over VC_KATA_STR_MAX, enum values outside their range, a missing required sub-message and
 * out-of-range numbers are -EINVAL with a message naming the field. Scalar string fields that
 * are empty on the wire become NULL (proto3 cannot tell "" from absent, the model says NULL for
 * "not set"); elements of string arrays stay "". The result is deep-copied through the
 * context's allocator and freed with the model's own clear/free function (named per function:
 * the generic vc_obj_clear with the type's schema), so every consumer frees it the same way.
 * 0 with *ret filled, or -errno (-ENOMEM, -EINVAL) recorded on ctx with *ret untouched.
 * ------------------------------------------------------------------------------------------- */

/* Free: vc_obj_clear(ctx, &vc_schema_container_config, ret). -EINVAL without an OCI spec. */
int vc_kata_container_from_pb(struct vc_ctx *ctx, const Grpc__CreateContainerRequest *req,
                              struct vc_container_config *ret);
/* Free: vc_obj_clear(ctx, &vc_schema_process_config, ret). NULL p gives an empty config. */
int vc_kata_process_from_pb(struct vc_ctx *ctx, const Grpc__Process *p,
                            struct vc_process_config *ret);
/* Free: vc_interface_clear(ctx, ret). */
int vc_kata_interface_from_pb(struct vc_ctx *ctx, const Types__Interface *pb,
                              struct vc_interface *ret);
/* Free: vc_interfaces_free(ctx, *ret, *ret_n). NULL pb gives none. */
int vc_kata_interfaces_from_pb(struct vc_ctx *ctx, const Grpc__Interfaces *pb,
                               struct vc_interface **ret, size_t *ret_n);
/* Free: vc_obj_clear(ctx, &vc_schema_route, ret). */
int vc_kata_route_from_pb(struct vc_ctx *ctx, const Types__Route *pb, struct vc_route *ret);
/* Free: vc_routes_free(ctx, *ret, *ret_n). NULL pb gives none. */
int vc_kata_routes_from_pb(struct vc_ctx *ctx, const Grpc__Routes *pb, struct vc_route **ret,
                           size_t *ret_n);
/* Free: vc_obj_clear(ctx, &vc_schema_arp_neighbor, ret). */
int vc_kata_neighbor_from_pb(struct vc_ctx *ctx, const Types__ARPNeighbor *pb,
                             struct vc_arp_neighbor *ret);
/* Free: vc_obj_array_free(ctx, &vc_schema_arp_neighbor, *ret, *ret_n). NULL pb gives none. */
int vc_kata_neighbors_from_pb(struct vc_ctx *ctx, const Grpc__ARPNeighbors *pb,
                              struct vc_arp_neighbor **ret, size_t *ret_n);
/* Allocates nothing. NULL pb gives all zero ("not set"). */
int vc_kata_resources_from_pb(struct vc_ctx *ctx, const Grpc__LinuxResources *pb,
                              struct vc_resources *ret);
/* Allocates nothing. Network totals are the saturating sums over every NetworkStats. */
int vc_kata_stats_from_pb(struct vc_ctx *ctx, const Grpc__StatsContainerResponse *pb,
                          struct vc_container_stats *ret);
/* Free: vc_guest_details_clear(ctx, ret). */
int vc_kata_guest_details_from_pb(struct vc_ctx *ctx, const Grpc__GuestDetailsResponse *pb,
                                  struct vc_guest_details *ret);
/* One chunk: *ret carries the metadata and the chunk's bytes (size = chunk length),
 * *ret_offset and *ret_file_size (either may be NULL) where it goes. -EINVAL for an empty or
 * relative path, a negative offset or size, or a chunk past file_size. Free:
 * vc_obj_clear(ctx, &vc_schema_copy_file, ret). */
int vc_kata_copy_file_from_pb(struct vc_ctx *ctx, const Grpc__CopyFileRequest *pb,
                              struct vc_copy_file *ret, int64_t *ret_offset,
                              int64_t *ret_file_size);
/* Storage → mount (the driver is dropped). Free: vc_obj_clear(ctx, &vc_schema_mount, ret). */
int vc_kata_storage_to_mount(struct vc_ctx *ctx, const Grpc__Storage *pb, struct vc_mount *ret);
/* Free: vc_obj_array_free(ctx, &vc_schema_mount, *ret, *ret_n). */
int vc_kata_ephemeral_mounts_from_pb(struct vc_ctx *ctx,
                                     const Grpc__UpdateEphemeralMountsRequest *pb,
                                     struct vc_mount **ret, size_t *ret_n);
/* Free: vc_volume_stats_clear(ctx, ret). Usage entries of unit UNKNOWN are ignored. */
int vc_kata_volume_stats_from_pb(struct vc_ctx *ctx, const Grpc__VolumeStatsResponse *pb,
                                 struct vc_volume_stats *ret);
/* The parts of a sandbox config CreateSandbox carries: id, hostname, net.dns. -EINVAL for a
 * hostname over VC_KATA_HOSTNAME_MAX. Free: vc_obj_clear(ctx, &vc_schema_sandbox_config, ret). */
int vc_kata_sandbox_from_pb(struct vc_ctx *ctx, const Grpc__CreateSandboxRequest *pb,
                            struct vc_sandbox_config *ret);
