/* SPDX-License-Identifier: Apache-2.0 */
/* Wire-compatibility tests of the agent protocol schema (core/proto): the Health.Check frame
 * worked out by hand in kata-protocol.md, field numbers and wire types of the messages the
 * runtime depends on checked through the generated descriptors, hand-encoded byte strings for
 * a few messages both ways, and the exact RPC lists of grpc.AgentService and grpc.Health. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "ttrpc.pb-c.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Protobuf wire types. */
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* ---- helpers -------------------------------------------------------------------------------- */

/* Packs m and checks the bytes are exactly want[0..n). */
static void expect_packed(const ProtobufCMessage *m, const uint8_t *want, size_t n)
{
    size_t size = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(size + 1);

    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), size);
    assert_int_equal(size, n);
    if (n > 0)
        assert_memory_equal(buf, want, n);
    free(buf);
}

/* Unpacks bytes as desc; fails the test if they do not decode. */
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                                size_t n)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, n, bytes);

    assert_non_null(m);
    return m;
}

/* The wire type a field is written with. */
static int wire_type(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED && (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED))
        return WIRE_LEN;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
        return WIRE_VARINT;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WIRE_I32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WIRE_I64;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WIRE_LEN;
    }
    return -1;
}

/* ---- §1.5 worked example: Health.Check as a raw ttrpc frame --------------------------------- */

static void test_health_check_frame(void **state)
{
    static const uint8_t want_frame[] = {
        0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, /* header */
        0x0a, 0x0b, 'g',  'r',  'p',  'c',  '.',  'H',  'e',  'a',  'l',  't',  'h',
        0x12, 0x05, 'C',  'h',  'e',  'c',  'k',  0x20, 0x80, 0xd8, 0x8e, 0xe1, 0x6f,
    };
    Grpc__CheckRequest check = GRPC__CHECK_REQUEST__INIT;
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    uint8_t payload[8], frame[64];
    size_t plen, n;
    (void) state;

    /* an empty CheckRequest encodes to nothing, so payload (field 3) is left out */
    plen = grpc__check_request__pack(&check, payload);
    assert_int_equal(plen, 0);
    req.service = "grpc.Health";
    req.method = "Check";
    req.payload.len = plen;
    req.payload.data = payload;
    req.timeout_nano = 30000000000LL;
    n = ttrpc__request__get_packed_size(&req);
    assert_int_equal(n, 26);
    /* header: length and stream id big-endian, type 1 (request), flags 0 (unary) */
    frame[0] = (uint8_t) (n >> 24);
    frame[1] = (uint8_t) (n >> 16);
    frame[2] = (uint8_t) (n >> 8);
    frame[3] = (uint8_t) n;
    memcpy(frame + 4, (const uint8_t[]){0, 0, 0, 1, 1, 0}, 6);
    assert_int_equal(ttrpc__request__pack(&req, frame + 10), n);
    assert_int_equal(10 + n, sizeof(want_frame));
    assert_memory_equal(frame, want_frame, sizeof(want_frame));
}

static void expect_serving(const uint8_t *resp_bytes, size_t n, bool with_status)
{
    Ttrpc__Response *resp;
    Grpc__HealthCheckResponse *hc;

    resp = (Ttrpc__Response *) unpack(&ttrpc__response__descriptor, resp_bytes, n);
    if (with_status) {
        assert_non_null(resp->status);
        assert_int_equal(resp->status->code, 0);
    } else {
        assert_null(resp->status);
    }
    hc = grpc__health_check_response__unpack(NULL, resp->payload.len, resp->payload.data);
    assert_non_null(hc);
    assert_int_equal(hc->status, GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    grpc__health_check_response__free_unpacked(hc, NULL);
    ttrpc__response__free_unpacked(resp, NULL);
}

static void test_health_check_response(void **state)
{
    static const uint8_t frame[] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
                                    0x01, 0x02, 0x00, 0x12, 0x02, 0x08, 0x01};
    static const uint8_t go_style[] = {0x0a, 0x00, 0x12, 0x02, 0x08, 0x01};
    static const uint8_t truncated[] = {0x12, 0x05, 0x08, 0x01};
    Grpc__HealthCheckResponse hc = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    uint8_t inner[4];
    size_t len =
        ((size_t) frame[0] << 24) | ((size_t) frame[1] << 16) | ((size_t) frame[2] << 8) | frame[3];
    (void) state;

    assert_int_equal(len, sizeof(frame) - 10);
    assert_int_equal(frame[8], 2); /* a response */
    expect_serving(frame + 10, len, false);
    /* Go servers add status{code 0} as "0a 00": the same answer */
    expect_serving(go_style, sizeof(go_style), true);
    /* a payload length past the end does not decode */
    assert_null(protobuf_c_message_unpack(&ttrpc__response__descriptor, NULL, sizeof(truncated),
                                          truncated));
    /* and we encode the same bytes the doc gives */
    hc.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    assert_int_equal(grpc__health_check_response__pack(&hc, inner), 2);
    resp.payload.len = 2;
    resp.payload.data = inner;
    expect_packed(&resp.base, frame + 10, len);
}

/* ---- field numbers and wire types through the descriptors ----------------------------------- */

/* One expected field of one message. */
struct field_expect {
    const ProtobufCMessageDescriptor *msg; /* the message it belongs to */
    const char *name;                      /* the field's schema name */
    unsigned id;                           /* its field number */
    ProtobufCType type;                    /* its scalar or message type */
    ProtobufCLabel label;                  /* NONE (proto3), OPTIONAL (presence), REPEATED */
    int wire;                              /* the wire type it travels with */
};

#define T(x)   PROTOBUF_C_TYPE_##x
#define L_NONE PROTOBUF_C_LABEL_NONE
#define L_OPT  PROTOBUF_C_LABEL_OPTIONAL
#define L_REP  PROTOBUF_C_LABEL_REPEATED
#define V      WIRE_VARINT
#define LD     WIRE_LEN

static const struct field_expect fields[] = {
    /* CreateContainerRequest, every field */
    {&grpc__create_container_request__descriptor, "container_id", 1, T(STRING), L_NONE, LD},
    {&grpc__create_container_request__descriptor, "exec_id", 2, T(STRING), L_NONE, LD},
    {&grpc__create_container_request__descriptor, "string_user", 3, T(MESSAGE), L_NONE, LD},
    {&grpc__create_container_request__descriptor, "devices", 4, T(MESSAGE), L_REP, LD},
    {&grpc__create_container_request__descriptor, "storages", 5, T(MESSAGE), L_REP, LD},
    {&grpc__create_container_request__descriptor, "OCI", 6, T(MESSAGE), L_NONE, LD},
    {&grpc__create_container_request__descriptor, "sandbox_pidns", 7, T(BOOL), L_NONE, V},
    {&grpc__create_container_request__descriptor, "shared_mounts", 8, T(MESSAGE), L_REP, LD},
    {&grpc__create_container_request__descriptor, "stdin_port", 9, T(UINT32), L_NONE, V},
    {&grpc__create_container_request__descriptor, "stdout_port", 10, T(UINT32), L_NONE, V},
    {&grpc__create_container_request__descriptor, "stderr_port", 11, T(UINT32), L_NONE, V},
    /* the OCI spec parts the runtime fills */
    {&grpc__spec__descriptor, "Version", 1, T(STRING), L_NONE, LD},
    {&grpc__spec__descriptor, "Process", 2, T(MESSAGE), L_NONE, LD},
    {&grpc__spec__descriptor, "Root", 3, T(MESSAGE), L_NONE, LD},
    {&grpc__spec__descriptor, "Hostname", 4, T(STRING), L_NONE, LD},
    {&grpc__spec__descriptor, "Mounts", 5, T(MESSAGE), L_REP, LD},
    {&grpc__spec__descriptor, "Hooks", 6, T(MESSAGE), L_NONE, LD},
    {&grpc__spec__descriptor, "Annotations", 7, T(MESSAGE), L_REP, LD},
    {&grpc__spec__descriptor, "Linux", 8, T(MESSAGE), L_NONE, LD},
    {&grpc__spec__descriptor, "Windows", 10, T(MESSAGE), L_NONE, LD},
    {&grpc__process__descriptor, "Terminal", 1, T(BOOL), L_NONE, V},
    {&grpc__process__descriptor, "ConsoleSize", 2, T(MESSAGE), L_NONE, LD},
    {&grpc__process__descriptor, "User", 3, T(MESSAGE), L_NONE, LD},
    {&grpc__process__descriptor, "Args", 4, T(STRING), L_REP, LD},
    {&grpc__process__descriptor, "Env", 5, T(STRING), L_REP, LD},
    {&grpc__process__descriptor, "Cwd", 6, T(STRING), L_NONE, LD},
    {&grpc__process__descriptor, "Capabilities", 7, T(MESSAGE), L_NONE, LD},
    {&grpc__process__descriptor, "Rlimits", 8, T(MESSAGE), L_REP, LD},
    {&grpc__process__descriptor, "NoNewPrivileges", 9, T(BOOL), L_NONE, V},
    {&grpc__process__descriptor, "OOMScoreAdj", 11, T(INT64), L_NONE, V},
    {&grpc__process__descriptor, "SelinuxLabel", 12, T(STRING), L_NONE, LD},
    {&grpc__user__descriptor, "UID", 1, T(UINT32), L_NONE, V},
    {&grpc__user__descriptor, "GID", 2, T(UINT32), L_NONE, V},
    {&grpc__user__descriptor, "AdditionalGids", 3, T(UINT32), L_REP, LD}, /* packed */
    {&grpc__user__descriptor, "Username", 4, T(STRING), L_NONE, LD},
    {&grpc__posixrlimit__descriptor, "Hard", 2, T(UINT64), L_NONE, V},
    {&grpc__mount__descriptor, "options", 4, T(STRING), L_REP, LD},
    {&grpc__hooks__descriptor, "StartContainer", 6, T(MESSAGE), L_REP, LD},
    {&grpc__linux__descriptor, "Sysctl", 3, T(MESSAGE), L_REP, LD},
    {&grpc__linux__descriptor, "Resources", 4, T(MESSAGE), L_NONE, LD},
    {&grpc__linux__descriptor, "CgroupsPath", 5, T(STRING), L_NONE, LD},
    {&grpc__linux__descriptor, "Namespaces", 6, T(MESSAGE), L_REP, LD},
    {&grpc__linux__descriptor, "IntelRdt", 13, T(MESSAGE), L_NONE, LD},
    {&grpc__linux_memory__descriptor, "Limit", 1, T(INT64), L_NONE, V},
    {&grpc__linux_memory__descriptor, "Swappiness", 6, T(UINT64), L_NONE, V},
    {&grpc__linux_memory__descriptor, "DisableOOMKiller", 7, T(BOOL), L_NONE, V},
    {&grpc__linux_cpu__descriptor, "Quota", 2, T(INT64), L_NONE, V},
    {&grpc__linux_cpu__descriptor, "Period", 3, T(UINT64), L_NONE, V},
    {&grpc__linux_cpu__descriptor, "Cpus", 6, T(STRING), L_NONE, LD},
    {&grpc__linux_syscall__descriptor, "errnoret", 3, T(UINT32), L_NONE, V},
    /* ExecProcessRequest, every field */
    {&grpc__exec_process_request__descriptor, "container_id", 1, T(STRING), L_NONE, LD},
    {&grpc__exec_process_request__descriptor, "exec_id", 2, T(STRING), L_NONE, LD},
    {&grpc__exec_process_request__descriptor, "string_user", 3, T(MESSAGE), L_NONE, LD},
    {&grpc__exec_process_request__descriptor, "process", 4, T(MESSAGE), L_NONE, LD},
    {&grpc__exec_process_request__descriptor, "stdin_port", 5, T(UINT32), L_NONE, V},
    {&grpc__exec_process_request__descriptor, "stdout_port", 6, T(UINT32), L_NONE, V},
    {&grpc__exec_process_request__descriptor, "stderr_port", 7, T(UINT32), L_NONE, V},
    /* process control and stdio */
    {&grpc__remove_container_request__descriptor, "timeout", 2, T(UINT32), L_NONE, V},
    {&grpc__signal_process_request__descriptor, "signal", 3, T(UINT32), L_NONE, V},
    {&grpc__wait_process_response__descriptor, "status", 1, T(INT32), L_NONE, V},
    {&grpc__write_stream_request__descriptor, "data", 3, T(BYTES), L_NONE, LD},
    {&grpc__write_stream_response__descriptor, "len", 1, T(UINT32), L_NONE, V},
    {&grpc__read_stream_request__descriptor, "len", 3, T(UINT32), L_NONE, V},
    {&grpc__read_stream_response__descriptor, "data", 1, T(BYTES), L_NONE, LD},
    {&grpc__tty_win_resize_request__descriptor, "row", 3, T(UINT32), L_NONE, V},
    {&grpc__tty_win_resize_request__descriptor, "column", 4, T(UINT32), L_NONE, V},
    /* statistics */
    {&grpc__stats_container_response__descriptor, "cgroup_stats", 1, T(MESSAGE), L_NONE, LD},
    {&grpc__stats_container_response__descriptor, "network_stats", 2, T(MESSAGE), L_REP, LD},
    {&grpc__cgroup_stats__descriptor, "blkio_stats", 4, T(MESSAGE), L_NONE, LD},
    {&grpc__cgroup_stats__descriptor, "hugetlb_stats", 5, T(MESSAGE), L_REP, LD},
    {&grpc__cpu_usage__descriptor, "percpu_usage", 2, T(UINT64), L_REP, LD}, /* packed */
    {&grpc__cpu_usage__descriptor, "usage_in_usermode", 4, T(UINT64), L_NONE, V},
    {&grpc__memory_stats__descriptor, "use_hierarchy", 5, T(BOOL), L_NONE, V},
    {&grpc__memory_stats__descriptor, "stats", 6, T(MESSAGE), L_REP, LD},
    {&grpc__memory_stats__stats_entry__descriptor, "key", 1, T(STRING), L_NONE, LD},
    {&grpc__memory_stats__stats_entry__descriptor, "value", 2, T(UINT64), L_NONE, V},
    {&grpc__memory_data__descriptor, "limit", 4, T(UINT64), L_NONE, V},
    {&grpc__blkio_stats__descriptor, "sectors_recursive", 8, T(MESSAGE), L_REP, LD},
    {&grpc__blkio_stats_entry__descriptor, "op", 3, T(STRING), L_NONE, LD},
    {&grpc__network_stats__descriptor, "name", 1, T(STRING), L_NONE, LD},
    {&grpc__network_stats__descriptor, "tx_dropped", 9, T(UINT64), L_NONE, V},
    /* CopyFileRequest, every field */
    {&grpc__copy_file_request__descriptor, "path", 1, T(STRING), L_NONE, LD},
    {&grpc__copy_file_request__descriptor, "file_size", 2, T(INT64), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "file_mode", 3, T(UINT32), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "dir_mode", 4, T(UINT32), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "uid", 5, T(INT32), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "gid", 6, T(INT32), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "offset", 7, T(INT64), L_NONE, V},
    {&grpc__copy_file_request__descriptor, "data", 8, T(BYTES), L_NONE, LD},
    /* the odd numbering upstream */
    {&grpc__reseed_random_dev_request__descriptor, "data", 2, T(BYTES), L_NONE, LD},
    {&grpc__fsgroup__descriptor, "group_id", 2, T(UINT32), L_NONE, V},
    {&grpc__fsgroup__descriptor, "group_change_policy", 3, T(ENUM), L_NONE, V},
    /* sandbox, storage, guest */
    {&grpc__create_sandbox_request__descriptor, "dns", 2, T(STRING), L_REP, LD},
    {&grpc__create_sandbox_request__descriptor, "sandbox_pidns", 4, T(BOOL), L_NONE, V},
    {&grpc__create_sandbox_request__descriptor, "sandbox_id", 5, T(STRING), L_NONE, LD},
    {&grpc__create_sandbox_request__descriptor, "kernel_modules", 7, T(MESSAGE), L_REP, LD},
    {&grpc__storage__descriptor, "driver", 1, T(STRING), L_NONE, LD},
    {&grpc__storage__descriptor, "options", 5, T(STRING), L_REP, LD},
    {&grpc__storage__descriptor, "mount_point", 6, T(STRING), L_NONE, LD},
    {&grpc__storage__descriptor, "fs_group", 7, T(MESSAGE), L_NONE, LD},
    {&grpc__storage__descriptor, "shared", 8, T(BOOL), L_NONE, V},
    {&grpc__device__descriptor, "container_path", 4, T(STRING), L_NONE, LD},
    {&grpc__string_user__descriptor, "additionalGids", 3, T(STRING), L_REP, LD},
    {&grpc__online_cpumem_request__descriptor, "nb_cpus", 2, T(UINT32), L_NONE, V},
    {&grpc__online_cpumem_request__descriptor, "cpu_only", 3, T(BOOL), L_NONE, V},
    {&grpc__guest_details_request__descriptor, "mem_hotplug_probe", 2, T(BOOL), L_NONE, V},
    {&grpc__guest_details_response__descriptor, "mem_block_size_bytes", 1, T(UINT64), L_NONE, V},
    {&grpc__guest_details_response__descriptor, "agent_details", 2, T(MESSAGE), L_NONE, LD},
    {&grpc__guest_details_response__descriptor, "support_mem_hotplug_probe", 3, T(BOOL), L_NONE, V},
    {&grpc__agent_details__descriptor, "init_daemon", 2, T(BOOL), L_NONE, V},
    {&grpc__agent_details__descriptor, "extra_features", 6, T(STRING), L_REP, LD},
    {&grpc__mem_hotplug_by_probe_request__descriptor, "memHotplugProbeAddr", 1, T(UINT64), L_REP,
     LD},
    {&grpc__set_guest_date_time_request__descriptor, "Usec", 2, T(INT64), L_NONE, V},
    {&grpc__add_swap_request__descriptor, "PCIPath", 1, T(UINT32), L_REP, LD},
    {&grpc__add_swap_path_request__descriptor, "path", 1, T(STRING), L_NONE, LD},
    {&grpc__resize_volume_request__descriptor, "size", 2, T(UINT64), L_NONE, V},
    {&grpc__get_diagnostic_data_request__descriptor, "log_type", 1, T(STRING), L_NONE, LD},
    {&grpc__get_diagnostic_data_request__descriptor, "container_id", 2, T(STRING), L_NONE, LD},
    {&grpc__get_diagnostic_data_response__descriptor, "data", 1, T(STRING), L_NONE, LD},
    {&grpc__volume_stats_response__descriptor, "volume_condition", 2, T(MESSAGE), L_NONE, LD},
    {&grpc__volume_usage__descriptor, "unit", 4, T(ENUM), L_NONE, V},
    {&grpc__health_check_response__descriptor, "status", 1, T(ENUM), L_NONE, V},
    {&grpc__version_check_response__descriptor, "agent_version", 2, T(STRING), L_NONE, LD},
    /* network: types.Interface and types.Route, every field */
    {&types__interface__descriptor, "device", 1, T(STRING), L_NONE, LD},
    {&types__interface__descriptor, "name", 2, T(STRING), L_NONE, LD},
    {&types__interface__descriptor, "IPAddresses", 3, T(MESSAGE), L_REP, LD},
    {&types__interface__descriptor, "mtu", 4, T(UINT64), L_NONE, V},
    {&types__interface__descriptor, "hwAddr", 5, T(STRING), L_NONE, LD},
    {&types__interface__descriptor, "devicePath", 6, T(STRING), L_NONE, LD},
    {&types__interface__descriptor, "type", 7, T(STRING), L_NONE, LD},
    {&types__interface__descriptor, "raw_flags", 8, T(UINT32), L_NONE, V},
    {&types__route__descriptor, "dest", 1, T(STRING), L_NONE, LD},
    {&types__route__descriptor, "gateway", 2, T(STRING), L_NONE, LD},
    {&types__route__descriptor, "device", 3, T(STRING), L_NONE, LD},
    {&types__route__descriptor, "source", 4, T(STRING), L_NONE, LD},
    {&types__route__descriptor, "scope", 5, T(UINT32), L_NONE, V},
    {&types__route__descriptor, "family", 6, T(ENUM), L_NONE, V},
    {&types__route__descriptor, "flags", 7, T(UINT32), L_NONE, V},
    {&types__route__descriptor, "mtu", 8, T(UINT32), L_NONE, V},
    {&types__ipaddress__descriptor, "family", 1, T(ENUM), L_NONE, V},
    {&types__ipaddress__descriptor, "mask", 3, T(STRING), L_NONE, LD},
    {&types__arpneighbor__descriptor, "toIPAddress", 1, T(MESSAGE), L_NONE, LD},
    {&types__arpneighbor__descriptor, "state", 4, T(INT32), L_NONE, V},
    {&grpc__interfaces__descriptor, "Interfaces", 1, T(MESSAGE), L_REP, LD},
    {&grpc__routes__descriptor, "Routes", 1, T(MESSAGE), L_REP, LD},
    {&grpc__update_interface_request__descriptor, "interface", 1, T(MESSAGE), L_NONE, LD},
    {&grpc__update_routes_request__descriptor, "routes", 1, T(MESSAGE), L_NONE, LD},
    {&grpc__add_arpneighbors_request__descriptor, "neighbors", 1, T(MESSAGE), L_NONE, LD},
    {&grpc__set_iptables_request__descriptor, "is_ipv6", 1, T(BOOL), L_NONE, V},
    {&grpc__set_iptables_request__descriptor, "data", 2, T(BYTES), L_NONE, LD},
    {&grpc__set_iptables_response__descriptor, "data", 1, T(BYTES), L_NONE, LD},
    {&grpc__get_iptables_response__descriptor, "data", 1, T(BYTES), L_NONE, LD},
    /* mem-agent: every field carries presence (proto3 `optional` upstream) */
    {&grpc__mem_agent_memcg_config__descriptor, "disabled", 1, T(BOOL), L_OPT, V},
    {&grpc__mem_agent_memcg_config__descriptor, "swap", 2, T(BOOL), L_OPT, V},
    {&grpc__mem_agent_memcg_config__descriptor, "swappiness_max", 3, T(UINT32), L_OPT, V},
    {&grpc__mem_agent_memcg_config__descriptor, "period_secs", 4, T(UINT64), L_OPT, V},
    {&grpc__mem_agent_memcg_config__descriptor, "period_psi_percent_limit", 5, T(UINT32), L_OPT, V},
    {&grpc__mem_agent_memcg_config__descriptor, "eviction_psi_percent_limit", 6, T(UINT32), L_OPT,
     V},
    {&grpc__mem_agent_memcg_config__descriptor, "eviction_run_aging_count_min", 7, T(UINT64), L_OPT,
     V},
    {&grpc__mem_agent_compact_config__descriptor, "disabled", 1, T(BOOL), L_OPT, V},
    {&grpc__mem_agent_compact_config__descriptor, "period_secs", 2, T(UINT64), L_OPT, V},
    {&grpc__mem_agent_compact_config__descriptor, "period_psi_percent_limit", 3, T(UINT32), L_OPT,
     V},
    {&grpc__mem_agent_compact_config__descriptor, "compact_psi_percent_limit", 4, T(UINT32), L_OPT,
     V},
    {&grpc__mem_agent_compact_config__descriptor, "compact_sec_max", 5, T(INT64), L_OPT, V},
    {&grpc__mem_agent_compact_config__descriptor, "compact_order", 6, T(UINT32), L_OPT, V},
    {&grpc__mem_agent_compact_config__descriptor, "compact_threshold", 7, T(UINT64), L_OPT, V},
    {&grpc__mem_agent_compact_config__descriptor, "compact_force_times", 8, T(UINT64), L_OPT, V},
};

/* Messages whose whole field list is known: the count must match too. */
struct count_expect {
    const ProtobufCMessageDescriptor *msg; /* the message */
    const char *full_name;                 /* its fully qualified name */
    unsigned n_fields;                     /* how many fields it has */
};

static const struct count_expect counts[] = {
    {&grpc__create_container_request__descriptor, "grpc.CreateContainerRequest", 11},
    {&grpc__exec_process_request__descriptor, "grpc.ExecProcessRequest", 7},
    {&grpc__create_sandbox_request__descriptor, "grpc.CreateSandboxRequest", 7},
    {&grpc__destroy_sandbox_request__descriptor, "grpc.DestroySandboxRequest", 0},
    {&grpc__copy_file_request__descriptor, "grpc.CopyFileRequest", 8},
    {&grpc__reseed_random_dev_request__descriptor, "grpc.ReseedRandomDevRequest", 1},
    {&grpc__fsgroup__descriptor, "grpc.FSGroup", 2},
    {&grpc__storage__descriptor, "grpc.Storage", 8},
    {&grpc__device__descriptor, "grpc.Device", 5},
    {&grpc__agent_details__descriptor, "grpc.AgentDetails", 6},
    {&grpc__guest_details_response__descriptor, "grpc.GuestDetailsResponse", 3},
    {&grpc__network_stats__descriptor, "grpc.NetworkStats", 9},
    {&grpc__blkio_stats__descriptor, "grpc.BlkioStats", 8},
    {&grpc__cgroup_stats__descriptor, "grpc.CgroupStats", 5},
    {&grpc__spec__descriptor, "grpc.Spec", 10},
    {&grpc__process__descriptor, "grpc.Process", 12},
    {&grpc__linux__descriptor, "grpc.Linux", 13},
    {&grpc__linux_resources__descriptor, "grpc.LinuxResources", 7},
    {&grpc__hooks__descriptor, "grpc.Hooks", 6},
    {&types__interface__descriptor, "types.Interface", 8},
    {&types__route__descriptor, "types.Route", 8},
    {&types__arpneighbor__descriptor, "types.ARPNeighbor", 5},
    {&grpc__mem_agent_memcg_config__descriptor, "grpc.MemAgentMemcgConfig", 7},
    {&grpc__mem_agent_compact_config__descriptor, "grpc.MemAgentCompactConfig", 8},
    {&grpc__volume_stats_response__descriptor, "grpc.VolumeStatsResponse", 2},
    {&grpc__health_check_response__descriptor, "grpc.HealthCheckResponse", 1},
};

static void test_field_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < N_ELEMS(fields); i++) {
        const struct field_expect *e = &fields[i];
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(e->msg, e->name);

        if (f == NULL)
            fail_msg("%s has no field %s", e->msg->name, e->name);
        if (f->id != e->id || f->type != e->type || f->label != e->label || wire_type(f) != e->wire)
            fail_msg("%s.%s: got #%u type %d label %d wire %d, want #%u type %d label %d wire %d",
                     e->msg->name, e->name, f->id, (int) f->type, (int) f->label, wire_type(f),
                     e->id, (int) e->type, (int) e->label, e->wire);
        /* and the number leads back to the same field */
        assert_ptr_equal(protobuf_c_message_descriptor_get_field(e->msg, e->id), f);
    }
    for (size_t i = 0; i < N_ELEMS(counts); i++) {
        if (strcmp(counts[i].msg->name, counts[i].full_name) != 0 ||
            counts[i].msg->n_fields != counts[i].n_fields)
            fail_msg("%s: %u fields, want %s with %u", counts[i].msg->name, counts[i].msg->n_fields,
                     counts[i].full_name, counts[i].n_fields);
    }
    /* upstream has no field 1 in these two */
    assert_null(
        protobuf_c_message_descriptor_get_field(&grpc__reseed_random_dev_request__descriptor, 1));
    assert_null(protobuf_c_message_descriptor_get_field(&grpc__fsgroup__descriptor, 1));
    /* the errno of a seccomp rule is a one-member oneof upstream */
    assert_true(
        protobuf_c_message_descriptor_get_field(&grpc__linux_syscall__descriptor, 3)->flags &
        PROTOBUF_C_FIELD_FLAG_ONEOF);
}

static void test_enums(void **state)
{
    (void) state;
    assert_int_equal(TYPES__IPFAMILY__v4, 0);
    assert_int_equal(TYPES__IPFAMILY__v6, 1);
    assert_int_equal(TYPES__FSGROUP_CHANGE_POLICY__Always, 0);
    assert_int_equal(TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch, 1);
    assert_int_equal(GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__UNKNOWN, 0);
    assert_int_equal(GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING, 1);
    assert_int_equal(GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING, 2);
    assert_int_equal(GRPC__VOLUME_USAGE__UNIT__BYTES, 1);
    assert_int_equal(GRPC__VOLUME_USAGE__UNIT__INODES, 2);
    assert_string_equal(types__ipfamily__descriptor.name, "types.IPFamily");
    assert_string_equal(types__fsgroup_change_policy__descriptor.name, "types.FSGroupChangePolicy");
}

/* ---- hand-encoded bytes, both ways ---------------------------------------------------------- */

static void test_bytes_create_container(void **state)
{
    /* container_id="c1" exec_id="c1" OCI{Version="1.0.2" Process{Args=["sh"] Env=["A=1"]}} */
    static const uint8_t want[] = {
        0x0a, 0x02, 'c', '1', 0x12, 0x02, 'c', '1', 0x32, 0x12, /* OCI, 18 bytes */
        0x0a, 0x05, '1', '.', '0',  '.',  '2',                  /* Version */
        0x12, 0x09,                                             /* Process, 9 bytes */
        0x22, 0x02, 's', 'h', 0x2a, 0x03, 'A', '=', '1',
    };
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    Grpc__Spec spec = GRPC__SPEC__INIT;
    Grpc__Process proc = GRPC__PROCESS__INIT;
    char *args[] = {"sh"}, *env[] = {"A=1"};
    Grpc__CreateContainerRequest *got;
    (void) state;

    proc.n_args = 1;
    proc.args = args;
    proc.n_env = 1;
    proc.env = env;
    spec.version = "1.0.2";
    spec.process = &proc;
    req.container_id = "c1";
    req.exec_id = "c1";
    req.oci = &spec;
    expect_packed(&req.base, want, sizeof(want));

    got = (Grpc__CreateContainerRequest *) unpack(&grpc__create_container_request__descriptor, want,
                                                  sizeof(want));
    assert_string_equal(got->container_id, "c1");
    assert_non_null(got->oci);
    assert_non_null(got->oci->process);
    assert_int_equal(got->oci->process->n_args, 1);
    assert_string_equal(got->oci->process->args[0], "sh");
    assert_string_equal(got->oci->process->env[0], "A=1");
    assert_null(got->oci->linux);
    assert_int_equal(got->stdin_port, 0);
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

static void test_bytes_exec_wait_streams(void **state)
{
    static const uint8_t exec_want[] = {0x0a, 0x01, 'c', 0x12, 0x01, 'e', 0x22, 0x00, 0x28, 0x05};
    /* status=-1: a negative int32 is a 10-byte varint */
    static const uint8_t wait_want[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t read_want[] = {0x0a, 0x02, 'h', 'i'};
    Grpc__ExecProcessRequest exec = GRPC__EXEC_PROCESS_REQUEST__INIT;
    Grpc__Process proc = GRPC__PROCESS__INIT;
    Grpc__WaitProcessResponse wait = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    Grpc__ReadStreamResponse rd = GRPC__READ_STREAM_RESPONSE__INIT;
    Grpc__WaitProcessResponse *wgot;
    (void) state;

    exec.container_id = "c";
    exec.exec_id = "e";
    exec.process = &proc; /* an empty but present message still goes out */
    exec.stdin_port = 5;
    expect_packed(&exec.base, exec_want, sizeof(exec_want));

    wait.status = -1;
    expect_packed(&wait.base, wait_want, sizeof(wait_want));
    wgot = (Grpc__WaitProcessResponse *) unpack(&grpc__wait_process_response__descriptor, wait_want,
                                                sizeof(wait_want));
    assert_int_equal(wgot->status, -1);
    protobuf_c_message_free_unpacked(&wgot->base, NULL);

    rd.data.data = (uint8_t *) "hi";
    rd.data.len = 2;
    expect_packed(&rd.base, read_want, sizeof(read_want));
    /* no data at all is zero bytes: the runtime reads that as end of stream */
    rd.data.len = 0;
    expect_packed(&rd.base, NULL, 0);
}

static void test_bytes_stats(void **state)
{
    static const uint8_t want[] = {
        0x0a, 0x17,                                          /* cgroup_stats, 23 bytes */
        0x0a, 0x08, 0x0a, 0x06,                              /* cpu_stats{cpu_usage{ */
        0x08, 0x03, 0x12, 0x02, 0x01, 0x02,                  /*   total 3, percpu packed [1,2] }} */
        0x12, 0x0b, 0x32, 0x09,                              /* memory_stats{stats entry{ */
        0x0a, 0x05, 'c',  'a',  'c',  'h',  'e', 0x10, 0x05, /* "cache": 5 }} */
        0x12, 0x08, 0x0a, 0x04, 'e',  't',  'h', '0',  0x10, 0x01, /* network_stats */
    };
    /* the same CpuUsage as an unpacked repeated field, which decoders must also accept */
    static const uint8_t unpacked_cpu[] = {0x08, 0x03, 0x10, 0x01, 0x10, 0x02};
    /* Go writes a zero map value explicitly; protoc-c leaves it out; both mean 0 */
    static const uint8_t go_zero_entry[] = {0x32, 0x05, 0x0a, 0x01, 'x', 0x10, 0x00};
    Grpc__StatsContainerResponse resp = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    Grpc__CgroupStats cg = GRPC__CGROUP_STATS__INIT;
    Grpc__CpuStats cpu = GRPC__CPU_STATS__INIT;
    Grpc__CpuUsage usage = GRPC__CPU_USAGE__INIT;
    Grpc__MemoryStats mem = GRPC__MEMORY_STATS__INIT;
    Grpc__MemoryStats__StatsEntry entry = GRPC__MEMORY_STATS__STATS_ENTRY__INIT;
    Grpc__MemoryStats__StatsEntry *entries[] = {&entry};
    Grpc__NetworkStats net = GRPC__NETWORK_STATS__INIT;
    Grpc__NetworkStats *nets[] = {&net};
    uint64_t percpu[] = {1, 2};
    Grpc__StatsContainerResponse *got;
    Grpc__CpuUsage *ugot;
    Grpc__MemoryStats *mgot;
    (void) state;

    usage.total_usage = 3;
    usage.n_percpu_usage = 2;
    usage.percpu_usage = percpu;
    cpu.cpu_usage = &usage;
    entry.key = "cache";
    entry.value = 5;
    mem.n_stats = 1;
    mem.stats = entries;
    cg.cpu_stats = &cpu;
    cg.memory_stats = &mem;
    net.name = "eth0";
    net.rx_bytes = 1;
    resp.cgroup_stats = &cg;
    resp.n_network_stats = 1;
    resp.network_stats = nets;
    expect_packed(&resp.base, want, sizeof(want));

    got = (Grpc__StatsContainerResponse *) unpack(&grpc__stats_container_response__descriptor, want,
                                                  sizeof(want));
    assert_int_equal(got->cgroup_stats->cpu_stats->cpu_usage->n_percpu_usage, 2);
    assert_int_equal(got->cgroup_stats->cpu_stats->cpu_usage->percpu_usage[1], 2);
    assert_string_equal(got->cgroup_stats->memory_stats->stats[0]->key, "cache");
    assert_int_equal(got->cgroup_stats->memory_stats->stats[0]->value, 5);
    assert_int_equal(got->network_stats[0]->rx_bytes, 1);
    protobuf_c_message_free_unpacked(&got->base, NULL);

    ugot =
        (Grpc__CpuUsage *) unpack(&grpc__cpu_usage__descriptor, unpacked_cpu, sizeof(unpacked_cpu));
    assert_int_equal(ugot->n_percpu_usage, 2);
    assert_int_equal(ugot->percpu_usage[0], 1);
    protobuf_c_message_free_unpacked(&ugot->base, NULL);

    mgot = (Grpc__MemoryStats *) unpack(&grpc__memory_stats__descriptor, go_zero_entry,
                                        sizeof(go_zero_entry));
    assert_int_equal(mgot->n_stats, 1);
    assert_string_equal(mgot->stats[0]->key, "x");
    assert_int_equal(mgot->stats[0]->value, 0);
    protobuf_c_message_free_unpacked(&mgot->base, NULL);
}

static void test_bytes_copy_file(void **state)
{
    /* path="/run/x" file_size=3 file_mode=0644 dir_mode=0755 uid=gid=offset=0 data="abc" */
    static const uint8_t want[] = {0x0a, 0x06, '/',  'r',  'u',  'n',  '/',  'x', 0x10, 0x03, 0x18,
                                   0xa4, 0x03, 0x20, 0xed, 0x03, 0x42, 0x03, 'a', 'b',  'c'};
    Grpc__CopyFileRequest req = GRPC__COPY_FILE_REQUEST__INIT;
    (void) state;

    req.path = "/run/x";
    req.file_size = 3;
    req.file_mode = 0644;
    req.dir_mode = 0755;
    req.data.data = (uint8_t *) "abc";
    req.data.len = 3;
    expect_packed(&req.base, want, sizeof(want));
}

static void test_bytes_reseed_fsgroup(void **state)
{
    static const uint8_t reseed_want[] = {0x12, 0x02, 0x01, 0x02};
    static const uint8_t reseed_field1[] = {0x0a, 0x02, 0x01, 0x02};
    static const uint8_t fsg_want[] = {0x10, 0xe8, 0x07, 0x18, 0x01};
    uint8_t seed[] = {1, 2};
    Grpc__ReseedRandomDevRequest reseed = GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;
    Grpc__FSGroup fsg = GRPC__FSGROUP__INIT;
    Grpc__ReseedRandomDevRequest *rgot;
    Grpc__FSGroup *fgot;
    (void) state;

    reseed.data.data = seed;
    reseed.data.len = sizeof(seed);
    expect_packed(&reseed.base, reseed_want, sizeof(reseed_want));
    /* bytes sent as field 1 are an unknown field, not the seed */
    rgot = (Grpc__ReseedRandomDevRequest *) unpack(&grpc__reseed_random_dev_request__descriptor,
                                                   reseed_field1, sizeof(reseed_field1));
    assert_int_equal(rgot->data.len, 0);
    protobuf_c_message_free_unpacked(&rgot->base, NULL);

    fsg.group_id = 1000;
    fsg.group_change_policy = TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch;
    expect_packed(&fsg.base, fsg_want, sizeof(fsg_want));
    fgot = (Grpc__FSGroup *) unpack(&grpc__fsgroup__descriptor, fsg_want, sizeof(fsg_want));
    assert_int_equal(fgot->group_id, 1000);
    assert_int_equal(fgot->group_change_policy, TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch);
    protobuf_c_message_free_unpacked(&fgot->base, NULL);
}

static void test_bytes_guest_details(void **state)
{
    /* mem_block_size_bytes=128 MiB agent_details{version="3.0" init_daemon=true} */
    static const uint8_t want[] = {0x08, 0x80, 0x80, 0x80, 0x40, 0x12, 0x07,
                                   0x0a, 0x03, '3',  '.',  '0',  0x10, 0x01};
    Grpc__GuestDetailsResponse resp = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails details = GRPC__AGENT_DETAILS__INIT;
    Grpc__GuestDetailsResponse *got;
    (void) state;

    details.version = "3.0";
    details.init_daemon = 1;
    resp.mem_block_size_bytes = 128u << 20;
    resp.agent_details = &details;
    expect_packed(&resp.base, want, sizeof(want));
    got = (Grpc__GuestDetailsResponse *) unpack(&grpc__guest_details_response__descriptor, want,
                                                sizeof(want));
    assert_int_equal(got->mem_block_size_bytes, 128u << 20);
    assert_string_equal(got->agent_details->version, "3.0");
    assert_false(got->support_mem_hotplug_probe);
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

static void test_bytes_network(void **state)
{
    static const uint8_t route_want[] = {0x0a, 0x0a, '1',  '0',  '.',  '0',  '.', '0',
                                         '.',  '0',  '/',  '8',  0x1a, 0x04, 'e', 't',
                                         'h',  '0',  0x30, 0x01, 0x40, 0xdc, 0x0b};
    static const uint8_t iface_want[] = {0x0a, 0x04, 'e',  't',  'h',  '0',  0x1a, 0x09, 0x12,
                                         0x03, '1',  '.',  '2',  0x1a, 0x02, '2',  '4',  0x20,
                                         0xdc, 0x0b, 0x3a, 0x03, 't',  'a',  'p'};
    static const uint8_t ipt_want[] = {0x08, 0x01, 0x12, 0x01, 'x'};
    Types__Route route = TYPES__ROUTE__INIT;
    Types__Interface iface = TYPES__INTERFACE__INIT;
    Types__IPAddress ip = TYPES__IPADDRESS__INIT;
    Types__IPAddress *ips[] = {&ip};
    Grpc__SetIPTablesRequest ipt = GRPC__SET_IPTABLES_REQUEST__INIT;
    (void) state;

    route.dest = "10.0.0.0/8";
    route.device = "eth0";
    route.family = TYPES__IPFAMILY__v6;
    route.mtu = 1500;
    expect_packed(&route.base, route_want, sizeof(route_want));

    /* family v4 is the default (0) and is not written */
    ip.address = "1.2";
    ip.mask = "24";
    iface.device = "eth0";
    iface.n_ipaddresses = 1;
    iface.ipaddresses = ips;
    iface.mtu = 1500;
    iface.type = "tap";
    expect_packed(&iface.base, iface_want, sizeof(iface_want));

    ipt.is_ipv6 = 1;
    ipt.data.data = (uint8_t *) "x";
    ipt.data.len = 1;
    expect_packed(&ipt.base, ipt_want, sizeof(ipt_want));
}

static void test_bytes_mem_agent_presence(void **state)
{
    /* disabled=false and swappiness_max=0, both explicitly set, go on the wire */
    static const uint8_t want[] = {0x08, 0x00, 0x18, 0x00};
    Grpc__MemAgentMemcgConfig cfg = GRPC__MEM_AGENT_MEMCG_CONFIG__INIT;
    Grpc__MemAgentMemcgConfig *got;
    (void) state;

    expect_packed(&cfg.base, NULL, 0); /* nothing set: nothing sent */
    cfg.has_disabled = 1;
    cfg.disabled = 0;
    cfg.has_swappiness_max = 1;
    cfg.swappiness_max = 0;
    expect_packed(&cfg.base, want, sizeof(want));
    got = (Grpc__MemAgentMemcgConfig *) unpack(&grpc__mem_agent_memcg_config__descriptor, want,
                                               sizeof(want));
    assert_true(got->has_disabled);
    assert_false(got->disabled);
    assert_true(got->has_swappiness_max);
    assert_false(got->has_swap);
    assert_false(got->has_period_secs);
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

/* ---- services ------------------------------------------------------------------------------- */

/* One expected RPC. */
struct rpc_expect {
    const char *name;   /* the bare method name sent in ttrpc Request.method */
    const char *input;  /* full name of the request message */
    const char *output; /* full name of the response message */
};

#define EMPTY "google.protobuf.Empty"

static const struct rpc_expect agent_rpcs[] = {
    {"CreateContainer", "grpc.CreateContainerRequest", EMPTY},
    {"StartContainer", "grpc.StartContainerRequest", EMPTY},
    {"RemoveContainer", "grpc.RemoveContainerRequest", EMPTY},
    {"ExecProcess", "grpc.ExecProcessRequest", EMPTY},
    {"SignalProcess", "grpc.SignalProcessRequest", EMPTY},
    {"WaitProcess", "grpc.WaitProcessRequest", "grpc.WaitProcessResponse"},
    {"UpdateContainer", "grpc.UpdateContainerRequest", EMPTY},
    {"UpdateEphemeralMounts", "grpc.UpdateEphemeralMountsRequest", EMPTY},
    {"StatsContainer", "grpc.StatsContainerRequest", "grpc.StatsContainerResponse"},
    {"PauseContainer", "grpc.PauseContainerRequest", EMPTY},
    {"ResumeContainer", "grpc.ResumeContainerRequest", EMPTY},
    {"RemoveStaleVirtiofsShareMounts", "grpc.RemoveStaleVirtiofsShareMountsRequest", EMPTY},
    {"GetDiagnosticData", "grpc.GetDiagnosticDataRequest", "grpc.GetDiagnosticDataResponse"},
    {"WriteStdin", "grpc.WriteStreamRequest", "grpc.WriteStreamResponse"},
    {"ReadStdout", "grpc.ReadStreamRequest", "grpc.ReadStreamResponse"},
    {"ReadStderr", "grpc.ReadStreamRequest", "grpc.ReadStreamResponse"},
    {"CloseStdin", "grpc.CloseStdinRequest", EMPTY},
    {"TtyWinResize", "grpc.TtyWinResizeRequest", EMPTY},
    {"UpdateInterface", "grpc.UpdateInterfaceRequest", "types.Interface"},
    {"UpdateRoutes", "grpc.UpdateRoutesRequest", "grpc.Routes"},
    {"ListInterfaces", "grpc.ListInterfacesRequest", "grpc.Interfaces"},
    {"ListRoutes", "grpc.ListRoutesRequest", "grpc.Routes"},
    {"AddARPNeighbors", "grpc.AddARPNeighborsRequest", EMPTY},
    {"GetIPTables", "grpc.GetIPTablesRequest", "grpc.GetIPTablesResponse"},
    {"SetIPTables", "grpc.SetIPTablesRequest", "grpc.SetIPTablesResponse"},
    {"GetMetrics", "grpc.GetMetricsRequest", "grpc.Metrics"},
    {"MemAgentMemcgSet", "grpc.MemAgentMemcgConfig", EMPTY},
    {"MemAgentCompactSet", "grpc.MemAgentCompactConfig", EMPTY},
    {"CreateSandbox", "grpc.CreateSandboxRequest", EMPTY},
    {"DestroySandbox", "grpc.DestroySandboxRequest", EMPTY},
    {"OnlineCPUMem", "grpc.OnlineCPUMemRequest", EMPTY},
    {"ReseedRandomDev", "grpc.ReseedRandomDevRequest", EMPTY},
    {"GetGuestDetails", "grpc.GuestDetailsRequest", "grpc.GuestDetailsResponse"},
    {"MemHotplugByProbe", "grpc.MemHotplugByProbeRequest", EMPTY},
    {"SetGuestDateTime", "grpc.SetGuestDateTimeRequest", EMPTY},
    {"CopyFile", "grpc.CopyFileRequest", EMPTY},
    {"GetOOMEvent", "grpc.GetOOMEventRequest", "grpc.OOMEvent"},
    {"AddSwap", "grpc.AddSwapRequest", EMPTY},
    {"AddSwapPath", "grpc.AddSwapPathRequest", EMPTY},
    {"GetVolumeStats", "grpc.VolumeStatsRequest", "grpc.VolumeStatsResponse"},
    {"ResizeVolume", "grpc.ResizeVolumeRequest", EMPTY},
    {"SetPolicy", "grpc.SetPolicyRequest", EMPTY},
};

static const struct rpc_expect health_rpcs[] = {
    {"Check", "grpc.CheckRequest", "grpc.HealthCheckResponse"},
    {"Version", "grpc.CheckRequest", "grpc.VersionCheckResponse"},
};

static void expect_service(const ProtobufCServiceDescriptor *svc, const char *full_name,
                           const struct rpc_expect *rpcs, size_t n)
{
    assert_string_equal(svc->name, full_name);
    assert_int_equal(svc->n_methods, n);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMethodDescriptor *m = &svc->methods[i];

        if (strcmp(m->name, rpcs[i].name) != 0 || strcmp(m->input->name, rpcs[i].input) != 0 ||
            strcmp(m->output->name, rpcs[i].output) != 0)
            fail_msg("%s #%zu: got %s(%s) -> %s, want %s(%s) -> %s", full_name, i + 1, m->name,
                     m->input->name, m->output->name, rpcs[i].name, rpcs[i].input, rpcs[i].output);
        assert_ptr_equal(protobuf_c_service_descriptor_get_method_by_name(svc, rpcs[i].name), m);
    }
}

static void test_services(void **state)
{
    (void) state;
    assert_int_equal(N_ELEMS(agent_rpcs), 42);
    expect_service(&grpc__agent_service__descriptor, "grpc.AgentService", agent_rpcs,
                   N_ELEMS(agent_rpcs));
    expect_service(&grpc__health__descriptor, "grpc.Health", health_rpcs, N_ELEMS(health_rpcs));
    /* google.protobuf.Empty encodes to zero bytes */
    {
        Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;

        expect_packed(&e.base, NULL, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_check_frame),
        cmocka_unit_test(test_health_check_response),
        cmocka_unit_test(test_field_table),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_bytes_create_container),
        cmocka_unit_test(test_bytes_exec_wait_streams),
        cmocka_unit_test(test_bytes_stats),
        cmocka_unit_test(test_bytes_copy_file),
        cmocka_unit_test(test_bytes_reseed_fsgroup),
        cmocka_unit_test(test_bytes_guest_details),
        cmocka_unit_test(test_bytes_network),
        cmocka_unit_test(test_bytes_mem_agent_presence),
        cmocka_unit_test(test_services),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
