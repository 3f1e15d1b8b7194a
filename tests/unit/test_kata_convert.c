/* SPDX-License-Identifier: Apache-2.0 */
/* The model ↔ agent protocol conversions (core/kata/convert.h): every conversion round-tripped
 * model → message → wire bytes → message → model and compared field by field (as the schema's
 * JSON text), the wire facts kata fixes checked, hostile messages refused with -EINVAL, and an
 * allocation-failure sweep over the deepest conversion. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/err.h>
#include <vc/ttrpc.h>
#include <vc/vc.h>

#include "convert.h"
#include "schema.h"

/* --- plumbing --------------------------------------------------------------------------------- */

static int setup(void **state)
{
    char root[] = "/tmp/vc-kconv-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    vc_ctx_free(*state);
    return 0;
}

/* m packed to bytes and unpacked again through the context's allocator (free with
 * vc_ttrpc_msg_free). */
static ProtobufCMessage *wire(struct vc_ctx *ctx, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    ProtobufCAllocator alloc;
    ProtobufCMessage *out;

    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), n);
    vc_ttrpc_allocator(ctx, &alloc);
    out = protobuf_c_message_unpack(m->descriptor, &alloc, n, buf);
    free(buf);
    assert_non_null(out);
    return out;
}

/* Bytes unpacked as desc (hand-made hostile wire input). */
static ProtobufCMessage *unwire(struct vc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                                const uint8_t *buf, size_t n)
{
    ProtobufCAllocator alloc;
    ProtobufCMessage *out;

    vc_ttrpc_allocator(ctx, &alloc);
    out = protobuf_c_message_unpack(desc, &alloc, n, buf);
    assert_non_null(out);
    return out;
}

/* Asserts that two model structs are equal, field by field, through the schema's JSON. */
static void assert_obj_equal(const struct vc_schema *s, const void *a, const void *b)
{
    size_t na = vc_obj_format_json(s, a, 0, NULL, 0), nb = vc_obj_format_json(s, b, 0, NULL, 0);
    char *ja = malloc(na + 1), *jb = malloc(nb + 1);

    assert_non_null(ja);
    assert_non_null(jb);
    (void) vc_obj_format_json(s, a, 0, ja, na + 1);
    (void) vc_obj_format_json(s, b, 0, jb, nb + 1);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
}

static char *s_args[] = {"sh", "-c", "echo hi", ""};
static char *s_env[] = {"PATH=/bin", "A=1"};
static uint32_t s_gids[] = {10, 20, 30};
static char *s_opts[] = {"rbind", "ro"};
static char *s_dns[] = {"nameserver 10.0.0.1", "search example.com"};
static char *s_strs[] = {"blk", "scsi"};

static struct vc_process_config sample_process(void)
{
    return (struct vc_process_config){
        .args = s_args,
        .n_args = 4,
        .env = s_env,
        .n_env = 2,
        .cwd = "/work",
        .user =
            {.uid = 1000, .gid = 100, .extra_gids = s_gids, .n_extra_gids = 3, .username = "alice"},
        .terminal = true,
        .rows = 24,
        .columns = 80,
    };
}

/* --- containers and processes ----------------------------------------------------------------- */

static void test_container_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_mount mounts[] = {
        {.source = "/host/a",
         .destination = "/a",
         .type = "bind",
         .options = s_opts,
         .n_options = 2},
        {.source = "tmpfs", .destination = "/tmp", .type = "tmpfs"},
    };
    struct vc_container_device devs[] = {
        {.container_path = "/dev/xvda", .type = "b", .major = 8, .minor = 1},
    };
    struct vc_annotation ann[] = {{.key = "io.k8s.pod", .value = "p1"}, {.key = "x", .value = "y"}};
    struct vc_container_config cfg =
                                   {
                                       .id = "c1",
                                       .rootfs = "/run/kata-containers/shared/containers/c1/rootfs",
                                       .rootfs_readonly = true,
                                       .process = sample_process(),
                                       .resources = {.cpu_shares = 512,
                                                     .cpu_quota = 50000,
                                                     .cpu_period = 100000,
                                                     .memory_limit = 1 << 28},
                                       .mounts = mounts,
                                       .n_mounts = 2,
                                       .devices = devs,
                                       .n_devices = 1,
                                       .annotations = ann,
                                       .n_annotations = 2,
                                   },
                               back = {0};
    Grpc__CreateContainerRequest *req = NULL, *got;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_container_to_pb(&a, &cfg, &req), 0);
    got = (Grpc__CreateContainerRequest *) wire(ctx, &req->base);
    vc_kata_arena_free(&a);

    /* kata's facts: exec id = container id, the namespaces it leaves, an OCI version. */
    assert_string_equal(got->container_id, "c1");
    assert_string_equal(got->exec_id, "c1");
    assert_false(got->sandbox_pidns);
    assert_non_null(got->oci);
    assert_string_equal(got->oci->version, VC_KATA_OCI_VERSION);
    assert_non_null(got->oci->linux);
    assert_int_equal(got->oci->linux->n_namespaces, 3);
    assert_string_equal(got->oci->linux->namespaces[0]->type, "ipc");
    assert_string_equal(got->oci->linux->namespaces[1]->type, "uts");
    assert_string_equal(got->oci->linux->namespaces[2]->type, "mount");
    assert_string_equal(got->oci->linux->namespaces[2]->path, "");
    assert_int_equal(got->oci->process->consolesize->height, 24);
    assert_int_equal(got->oci->process->consolesize->width, 80);

    assert_int_equal(vc_kata_container_from_pb(ctx, got, &back), 0);
    assert_obj_equal(&vc_schema_container_config, &cfg, &back);
    vc_obj_clear(ctx, &vc_schema_container_config, &back);
    vc_ttrpc_msg_free(ctx, &got->base);
}

static void test_exec_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_process_config p = sample_process(), back = {0}, bare = {0};
    Grpc__ExecProcessRequest *req = NULL, *got;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_exec_to_pb(&a, "c1", "e1", &p, &req), 0);
    got = (Grpc__ExecProcessRequest *) wire(ctx, &req->base);
    vc_kata_arena_free(&a);
    assert_string_equal(got->container_id, "c1");
    assert_string_equal(got->exec_id, "e1");
    assert_int_equal(vc_kata_process_from_pb(ctx, got->process, &back), 0);
    assert_obj_equal(&vc_schema_process_config, &p, &back);
    vc_obj_clear(ctx, &vc_schema_process_config, &back);
    vc_ttrpc_msg_free(ctx, &got->base);

    /* A NULL cwd goes as "/"; no tty size means no ConsoleSize. */
    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_exec_to_pb(&a, "c1", "e2", &bare, &req), 0);
    assert_string_equal(req->process->cwd, "/");
    assert_null(req->process->consolesize);
    vc_kata_arena_free(&a);
    assert_int_equal(vc_kata_process_from_pb(ctx, NULL, &back), 0);
    assert_int_equal(back.n_args, 0);
}

/* --- network ---------------------------------------------------------------------------------- */

static struct vc_ip_address s_addrs[] = {
    {.family = VC_IP_V4, .address = "10.0.0.2", .mask = "24"},
    {.family = VC_IP_V6, .address = "fd00::2", .mask = "64"},
};

static struct vc_interface sample_iface(void)
{
    return (struct vc_interface){.device = "eth0",
                                 .name = "eth0",
                                 .addrs = s_addrs,
                                 .n_addrs = 2,
                                 .mtu = 1500,
                                 .hw_addr = "02:00:00:00:00:01",
                                 .device_path = "/devices/pci0000:00/0000:00:02.0",
                                 .type = "veth",
                                 .raw_flags = 0x1003};
}

static void test_interface_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_interface ifs[2] = {sample_iface(), sample_iface()}, back = {0}, *list = NULL;
    Types__Interface *one = NULL, *got1;
    Grpc__Interfaces *many = NULL, *gotn;
    struct vc_kata_arena a;
    size_t n = 0;

    ifs[1].name = "eth1";
    ifs[1].n_addrs = 0;
    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_interface_to_pb(&a, &ifs[0], &one), 0);
    assert_int_equal(vc_kata_interfaces_to_pb(&a, ifs, 2, &many), 0);
    got1 = (Types__Interface *) wire(ctx, &one->base);
    gotn = (Grpc__Interfaces *) wire(ctx, &many->base);
    vc_kata_arena_free(&a);
    assert_int_equal(got1->ipaddresses[1]->family, TYPES__IPFAMILY__v6);

    assert_int_equal(vc_kata_interface_from_pb(ctx, got1, &back), 0);
    assert_obj_equal(&vc_schema_interface, &ifs[0], &back);
    vc_interface_clear(ctx, &back);
    assert_int_equal(vc_kata_interfaces_from_pb(ctx, gotn, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_obj_equal(&vc_schema_interface, &ifs[0], &list[0]);
    assert_obj_equal(&vc_schema_interface, &ifs[1], &list[1]);
    vc_interfaces_free(ctx, list, n);
    vc_ttrpc_msg_free(ctx, &got1->base);
    vc_ttrpc_msg_free(ctx, &gotn->base);
}

static void test_route_neighbor_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_route routes[] =
        {
            {.dest = "10.0.0.0/24",
             .device = "eth0",
             .source = "10.0.0.2",
             .scope = 253,
             .family = VC_IP_V4},
            {.gateway = "fd00::1", .device = "eth0", .family = VC_IP_V6, .flags = 4, .mtu = 1400},
        },
                    *rback = NULL, rone = {0};
    struct vc_arp_neighbor nbs[] =
        {
            {.to = {.family = VC_IP_V4, .address = "10.0.0.1"},
             .device = "eth0",
             .lladdr = "02:00:00:00:00:fe",
             .state = 128,
             .flags = 1},
        },
                           *nback = NULL;
    Grpc__Routes *rpb = NULL, *rgot;
    Types__Route *r1 = NULL, *r1got;
    Grpc__ARPNeighbors *npb = NULL, *ngot;
    struct vc_kata_arena a;
    size_t n = 0;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_routes_to_pb(&a, routes, 2, &rpb), 0);
    assert_int_equal(vc_kata_route_to_pb(&a, &routes[1], &r1), 0);
    assert_int_equal(vc_kata_neighbors_to_pb(&a, nbs, 1, &npb), 0);
    rgot = (Grpc__Routes *) wire(ctx, &rpb->base);
    r1got = (Types__Route *) wire(ctx, &r1->base);
    ngot = (Grpc__ARPNeighbors *) wire(ctx, &npb->base);
    vc_kata_arena_free(&a);

    assert_int_equal(vc_kata_routes_from_pb(ctx, rgot, &rback, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_obj_equal(&vc_schema_route, &routes[i], &rback[i]);
    vc_routes_free(ctx, rback, n);
    assert_int_equal(vc_kata_route_from_pb(ctx, r1got, &rone), 0);
    assert_obj_equal(&vc_schema_route, &routes[1], &rone);
    vc_obj_clear(ctx, &vc_schema_route, &rone);
    assert_int_equal(vc_kata_neighbors_from_pb(ctx, ngot, &nback, &n), 0);
    assert_int_equal(n, 1);
    assert_obj_equal(&vc_schema_arp_neighbor, &nbs[0], &nback[0]);
    vc_obj_array_free(ctx, &vc_schema_arp_neighbor, nback, n);
    /* No message at all: nothing. */
    assert_int_equal(vc_kata_routes_from_pb(ctx, NULL, &rback, &n), 0);
    assert_null(rback);
    assert_int_equal(n, 0);
    vc_ttrpc_msg_free(ctx, &rgot->base);
    vc_ttrpc_msg_free(ctx, &r1got->base);
    vc_ttrpc_msg_free(ctx, &ngot->base);
}

/* --- resources, stats, details ---------------------------------------------------------------- */

static void test_resources_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_resources res = {.cpu_shares = 2,
                               .cpu_quota = -1,
                               .cpu_period = 100000,
                               .memory_limit = 123456789},
                        none = {0}, back;
    Grpc__LinuxResources *pb = NULL, *got;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_resources_to_pb(&a, &res, &pb), 0);
    got = (Grpc__LinuxResources *) wire(ctx, &pb->base);
    assert_int_equal(vc_kata_resources_from_pb(ctx, got, &back), 0);
    assert_memory_equal(&back, &res, sizeof(res));
    vc_ttrpc_msg_free(ctx, &got->base);
    /* Nothing set: no CPU or memory section at all. */
    assert_int_equal(vc_kata_resources_to_pb(&a, &none, &pb), 0);
    assert_null(pb->cpu);
    assert_null(pb->memory);
    vc_kata_arena_free(&a);
}

static void test_stats_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_container_stats st = {.cpu_total_ns = 1,
                                    .cpu_kernel_ns = 2,
                                    .cpu_user_ns = 3,
                                    .mem_usage = 4,
                                    .mem_max_usage = 5,
                                    .mem_limit = 6,
                                    .mem_failcnt = 7,
                                    .pids_current = 8,
                                    .pids_limit = 9,
                                    .net_rx_bytes = 10,
                                    .net_tx_bytes = 11},
                              back;
    Grpc__StatsContainerResponse *pb = NULL, *got;
    Grpc__NetworkStats n1 = GRPC__NETWORK_STATS__INIT, n2 = GRPC__NETWORK_STATS__INIT;
    Grpc__NetworkStats *nv[] = {&n1, NULL, &n2};
    Grpc__StatsContainerResponse multi = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_stats_to_pb(&a, &st, &pb), 0);
    got = (Grpc__StatsContainerResponse *) wire(ctx, &pb->base);
    vc_kata_arena_free(&a);
    assert_int_equal(got->n_network_stats, 1);
    assert_string_equal(got->network_stats[0]->name, VC_KATA_STATS_IFNAME);
    assert_int_equal(vc_kata_stats_from_pb(ctx, got, &back), 0);
    assert_memory_equal(&back, &st, sizeof(st));
    vc_ttrpc_msg_free(ctx, &got->base);

    /* Several interfaces add up, saturating; absent sections are zero. */
    n1.rx_bytes = UINT64_MAX - 1;
    n1.tx_bytes = 5;
    n2.rx_bytes = 7;
    n2.tx_bytes = 6;
    multi.network_stats = nv;
    multi.n_network_stats = 3;
    assert_int_equal(vc_kata_stats_from_pb(ctx, &multi, &back), 0);
    assert_true(back.net_rx_bytes == UINT64_MAX);
    assert_int_equal(back.net_tx_bytes, 11);
    assert_int_equal(back.cpu_total_ns, 0);
}

static void test_guest_details_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_guest_details gd = {.mem_block_size_bytes = 128u << 20,
                                  .support_mem_hotplug_probe = true,
                                  .agent_version = "3.2.0",
                                  .init_daemon = true,
                                  .device_handlers = s_strs,
                                  .n_device_handlers = 2,
                                  .storage_handlers = s_opts,
                                  .n_storage_handlers = 2,
                                  .supports_seccomp = true,
                                  .extra_features = s_dns,
                                  .n_extra_features = 1},
                            back = {0};
    Grpc__GuestDetailsResponse *pb = NULL, *got;
    Grpc__GuestDetailsResponse bare = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_guest_details_to_pb(&a, &gd, &pb), 0);
    got = (Grpc__GuestDetailsResponse *) wire(ctx, &pb->base);
    vc_kata_arena_free(&a);
    assert_int_equal(vc_kata_guest_details_from_pb(ctx, got, &back), 0);
    assert_obj_equal(&vc_schema_guest_details, &gd, &back);
    vc_guest_details_clear(ctx, &back);
    vc_ttrpc_msg_free(ctx, &got->base);
    /* No AgentDetails: only the memory facts. */
    bare.mem_block_size_bytes = 4096;
    assert_int_equal(vc_kata_guest_details_from_pb(ctx, &bare, &back), 0);
    assert_int_equal(back.mem_block_size_bytes, 4096);
    assert_null(back.agent_version);
}

static void test_volume_stats_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_volume_stats vs = {.bytes_available = 1,
                                 .bytes_total = 2,
                                 .bytes_used = 3,
                                 .inodes_available = 4,
                                 .inodes_total = 5,
                                 .inodes_used = 6,
                                 .abnormal = true,
                                 .message = "disk on fire"},
                           back = {0};
    Grpc__VolumeStatsResponse *pb = NULL, *got;
    struct vc_kata_arena a;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_volume_stats_to_pb(&a, &vs, &pb), 0);
    got = (Grpc__VolumeStatsResponse *) wire(ctx, &pb->base);
    vc_kata_arena_free(&a);
    assert_int_equal(got->n_usage, 2);
    assert_int_equal(got->usage[0]->unit, GRPC__VOLUME_USAGE__UNIT__BYTES);
    assert_int_equal(got->usage[1]->unit, GRPC__VOLUME_USAGE__UNIT__INODES);
    assert_int_equal(vc_kata_volume_stats_from_pb(ctx, got, &back), 0);
    assert_obj_equal(&vc_schema_volume_stats, &vs, &back);
    vc_volume_stats_clear(ctx, &back);
    vc_ttrpc_msg_free(ctx, &got->base);
}

/* --- files, storages, sandbox ----------------------------------------------------------------- */

static void test_copy_file_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    uint8_t data[100];
    struct vc_copy_file f = {.path = "/run/kata-containers/shared/f",
                             .file_mode = S_IFREG | 0644,
                             .dir_mode = 0750,
                             .uid = 1,
                             .gid = 2,
                             .data = data,
                             .size = sizeof(data)},
                        back = {0};
    Grpc__CopyFileRequest *pb = NULL, *got;
    struct vc_kata_arena a;
    int64_t off = -1, size = -1;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t) i;
    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_copy_file_to_pb(&a, &f, 40, 30, &pb), 0);
    got = (Grpc__CopyFileRequest *) wire(ctx, &pb->base);
    assert_int_equal(got->offset, 40);
    assert_int_equal(got->file_size, 100);
    assert_int_equal(got->data.len, 30);
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, got, &back, &off, &size), 0);
    assert_int_equal(off, 40);
    assert_int_equal(size, 100);
    assert_string_equal(back.path, f.path);
    assert_int_equal(back.file_mode, f.file_mode);
    assert_int_equal(back.dir_mode, 0750);
    assert_int_equal(back.uid, 1);
    assert_int_equal(back.gid, 2);
    assert_int_equal(back.size, 30);
    assert_memory_equal(back.data, data + 40, 30);
    vc_obj_clear(ctx, &vc_schema_copy_file, &back);
    vc_ttrpc_msg_free(ctx, &got->base);
    /* A chunk outside the file is refused before anything is sent. */
    assert_int_equal(vc_kata_copy_file_to_pb(&a, &f, 90, 11, &pb), -EINVAL);
    vc_kata_arena_free(&a);
}

static void test_storage_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_mount m[] =
        {
            {.source = "tmpfs",
             .destination = "/run/kata-containers/sandbox/ephemeral/v",
             .type = "tmpfs",
             .options = s_opts,
             .n_options = 2},
            {.source = "shm", .destination = "/dev/shm", .type = "tmpfs"},
        },
                    one = {0}, *back = NULL;
    Grpc__UpdateEphemeralMountsRequest *pb = NULL, *got;
    Grpc__Storage *st = NULL;
    struct vc_kata_arena a;
    size_t n = 0;

    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_ephemeral_mounts_to_pb(&a, m, 2, &pb), 0);
    assert_int_equal(vc_kata_mount_to_storage(&a, &m[1], "local", &st), 0);
    assert_string_equal(st->driver, "local");
    got = (Grpc__UpdateEphemeralMountsRequest *) wire(ctx, &pb->base);
    assert_string_equal(got->storages[0]->driver, VC_KATA_EPHEMERAL);
    assert_string_equal(got->storages[0]->mount_point, m[0].destination);
    assert_string_equal(got->storages[0]->fstype, "tmpfs");
    assert_int_equal(vc_kata_ephemeral_mounts_from_pb(ctx, got, &back, &n), 0);
    assert_int_equal(n, 2);
    assert_obj_equal(&vc_schema_mount, &m[0], &back[0]);
    assert_obj_equal(&vc_schema_mount, &m[1], &back[1]);
    vc_obj_array_free(ctx, &vc_schema_mount, back, n);
    assert_int_equal(vc_kata_storage_to_mount(ctx, st, &one), 0);
    assert_obj_equal(&vc_schema_mount, &m[1], &one);
    vc_obj_clear(ctx, &vc_schema_mount, &one);
    vc_ttrpc_msg_free(ctx, &got->base);
    vc_kata_arena_free(&a);
}

static void test_sandbox_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    char host[101];
    struct vc_sandbox_config cfg = {.id = "sb1",
                                    .hostname = host,
                                    .net = {.dns = s_dns, .n_dns = 2}},
                             back = {0};
    Grpc__CreateSandboxRequest *pb = NULL, *got;
    struct vc_kata_arena a;

    memset(host, 'h', 100);
    host[100] = '\0';
    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_sandbox_to_pb(&a, &cfg, &pb), 0);
    got = (Grpc__CreateSandboxRequest *) wire(ctx, &pb->base);
    vc_kata_arena_free(&a);
    /* kata cuts the hostname to 64 bytes. */
    assert_int_equal(strlen(got->hostname), VC_KATA_HOSTNAME_MAX);
    assert_string_equal(got->sandbox_id, "sb1");
    assert_int_equal(got->n_storages, 0);
    assert_string_equal(got->guest_hook_path, "");
    assert_int_equal(vc_kata_sandbox_from_pb(ctx, got, &back), 0);
    assert_string_equal(back.id, "sb1");
    assert_int_equal(strlen(back.hostname), VC_KATA_HOSTNAME_MAX);
    assert_memory_equal(back.hostname, host, VC_KATA_HOSTNAME_MAX);
    assert_obj_equal(&vc_schema_network_config, &cfg.net, &back.net);
    vc_obj_clear(ctx, &vc_schema_sandbox_config, &back);
    vc_ttrpc_msg_free(ctx, &got->base);
}

/* --- hostile input ---------------------------------------------------------------------------- */

static void test_hostile_counts(void **state)
{
    struct vc_ctx *ctx = *state;
    size_t n = VC_KATA_ARRAY_MAX + 1, count = 7;
    Types__Route route = TYPES__ROUTE__INIT;
    Types__Route **v = malloc(n * sizeof(*v));
    Grpc__Routes routes = GRPC__ROUTES__INIT;
    Grpc__GuestDetailsResponse gd = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails ad = GRPC__AGENT_DETAILS__INIT;
    struct vc_guest_details gback = {0};
    struct vc_route *back = NULL;

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = &route;
    routes.routes = v;
    routes.n_routes = n;
    assert_int_equal(vc_kata_routes_from_pb(ctx, &routes, &back, &count), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "routes"));
    assert_null(back);
    assert_int_equal(count, 7);
    /* A missing element. */
    routes.n_routes = 3;
    v[1] = NULL;
    assert_int_equal(vc_kata_routes_from_pb(ctx, &routes, &back, &count), -EINVAL);
    /* Too many strings in a vector. */
    ad.device_handlers = (char **) v;
    ad.n_device_handlers = n;
    gd.agent_details = &ad;
    assert_int_equal(vc_kata_guest_details_from_pb(ctx, &gd, &gback), -EINVAL);
    assert_null(gback.agent_version);
    free(v);
}

static void test_hostile_strings(void **state)
{
    struct vc_ctx *ctx = *state;
    size_t len = VC_KATA_STR_MAX + 1;
    char *big = malloc(len + 1);
    Types__Interface iface = TYPES__INTERFACE__INIT;
    Grpc__CreateSandboxRequest sb = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    struct vc_sandbox_config sback = {0};
    struct vc_interface back = {0};

    assert_non_null(big);
    memset(big, 'x', len);
    big[len] = '\0';
    iface.name = big;
    assert_int_equal(vc_kata_interface_from_pb(ctx, &iface, &back), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "interface name"));
    assert_null(back.device);
    /* A CreateSandbox hostname over 64 bytes did not come from kata. */
    big[65] = '\0';
    sb.hostname = big;
    assert_int_equal(vc_kata_sandbox_from_pb(ctx, &sb, &sback), -EINVAL);
    free(big);
}

/* A Routes message on the wire whose one route has IP family 7. */
static void test_hostile_enum(void **state)
{
    struct vc_ctx *ctx = *state;
    /* Routes{Routes: [Route{dest "a", family 7}]} */
    static const uint8_t bytes[] = {0x0a, 0x05, 0x0a, 0x01, 'a', 0x30, 0x07};
    ProtobufCMessage *m = unwire(ctx, &grpc__routes__descriptor, bytes, sizeof(bytes));
    struct vc_route *back = NULL;
    struct vc_interface ifc = sample_iface();
    struct vc_ip_address bad = {.family = 9, .address = "1.2.3.4"};
    Types__Interface *pb = NULL;
    struct vc_kata_arena a;
    size_t n = 0;

    assert_int_equal(vc_kata_routes_from_pb(ctx, (Grpc__Routes *) m, &back, &n), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "family"));
    vc_ttrpc_msg_free(ctx, m);
    /* The model side is checked too: the wire cannot carry family 9. */
    ifc.addrs = &bad;
    ifc.n_addrs = 1;
    vc_kata_arena_init(&a, ctx);
    assert_int_equal(vc_kata_interface_to_pb(&a, &ifc, &pb), -EINVAL);
    vc_kata_arena_free(&a);
}

static void test_hostile_copy_file(void **state)
{
    struct vc_ctx *ctx = *state;
    uint8_t buf[8] = {0};
    Grpc__CopyFileRequest req = GRPC__COPY_FILE_REQUEST__INIT;
    struct vc_copy_file back = {0};
    Grpc__CreateContainerRequest cc = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    struct vc_container_config cback = {0};

    req.path = "relative/path";
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, &req, &back, NULL, NULL), -EINVAL);
    req.path = "/run/f";
    req.offset = -1;
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, &req, &back, NULL, NULL), -EINVAL);
    req.offset = 4;
    req.file_size = 8;
    req.data = (ProtobufCBinaryData){.len = 5, .data = buf};
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, &req, &back, NULL, NULL), -EINVAL);
    req.data.len = 4;
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, &req, &back, NULL, NULL), 0);
    vc_obj_clear(ctx, &vc_schema_copy_file, &back);
    req.offset = INT64_MAX;
    req.file_size = INT64_MAX;
    assert_int_equal(vc_kata_copy_file_from_pb(ctx, &req, &back, NULL, NULL), -EINVAL);
    /* CreateContainer without its OCI spec. */
    cc.container_id = "c1";
    assert_int_equal(vc_kata_container_from_pb(ctx, &cc, &cback), -EINVAL);
    assert_null(cback.id);
}

/* Truncated or garbage wire bytes never become a message (protobuf-c's own check). */
static void test_hostile_bytes(void **state)
{
    struct vc_ctx *ctx = *state;
    static const uint8_t truncated[] = {0x0a, 0x7f, 0x0a};
    ProtobufCAllocator alloc;

    vc_ttrpc_allocator(ctx, &alloc);
    assert_null(
        protobuf_c_message_unpack(&grpc__routes__descriptor, &alloc, sizeof(truncated), truncated));
}

/* --- allocation failures ---------------------------------------------------------------------- */

struct alloc_fault {
    unsigned nth;  /* fail this "alloc" hit (1-based) */
    unsigned hits; /* "alloc" hits so far */
};

static int alloc_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    struct alloc_fault *f = data;

    if (strcmp(point, "alloc") != 0)
        return 0;
    return ++f->hits == f->nth ? -ENOMEM : 0;
}

/* Every allocation of the deepest conversions, failed in turn: a clean -ENOMEM, nothing leaked
 * (ASan's leak check), until the run that fails nothing succeeds. */
static void test_alloc_failures(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_container_config cfg = {.id = "c1", .process = sample_process()}, back = {0};
    struct vc_interface ifc = sample_iface();
    Grpc__CreateContainerRequest *req = NULL;
    Types__Interface *ipb = NULL;
    struct vc_interface iback = {0};
    struct alloc_fault f = {0};
    struct vc_kata_arena a;
    int r, r2;

    for (f.nth = 1;; f.nth++) {
        f.hits = 0;
        vc_kata_arena_init(&a, ctx);
        vc_ctx_set_fault(ctx, alloc_hook, &f);
        r = vc_kata_container_to_pb(&a, &cfg, &req);
        if (r >= 0)
            r = vc_kata_container_from_pb(ctx, req, &back);
        r2 = vc_kata_interface_to_pb(&a, &ifc, &ipb);
        if (r2 >= 0)
            r2 = vc_kata_interface_from_pb(ctx, ipb, &iback);
        vc_ctx_set_fault(ctx, NULL, NULL);
        vc_kata_arena_free(&a);
        assert_true(r == 0 || r == -ENOMEM);
        assert_true(r2 == 0 || r2 == -ENOMEM);
        vc_obj_clear(ctx, &vc_schema_container_config, &back);
        vc_interface_clear(ctx, &iback);
        if (r == 0 && r2 == 0)
            break;
        assert_true(f.nth < 1000);
    }
    assert_true(f.nth > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_container_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interface_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_neighbor_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_details_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_stats_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_file_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sandbox_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_copy_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
