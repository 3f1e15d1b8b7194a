/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the host-side decode path of agent replies: byte 0 picks a response message of
 * grpc.AgentService (or grpc.Health, or the ttrpc Response envelope), the rest is unpacked with
 * protobuf-c through the context's allocator and, where core/kata/convert.h has one, converted
 * with the *_from_pb function; everything is freed again. */
#include <protobuf-c/protobuf-c.h>

#include "agent.pb-c.h"
#include "convert.h"
#include "fuzz_common.h"
#include "health.pb-c.h"
#include "schema.h"
#include "ttrpc.pb-c.h"
#include "types.pb-c.h"

#include <vc/pbjson.h>

/* Converts m (of its own descriptor) the way the kata backend would, then frees the result. */
static void convert(struct vc_ctx *ctx, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (d == &grpc__interfaces__descriptor) {
        struct vc_interface *v = NULL;
        size_t n = 0;

        if (vc_kata_interfaces_from_pb(ctx, (const Grpc__Interfaces *) m, &v, &n) == 0)
            vc_interfaces_free(ctx, v, n);
    } else if (d == &types__interface__descriptor) {
        struct vc_interface i = {0};

        if (vc_kata_interface_from_pb(ctx, (const Types__Interface *) m, &i) == 0)
            vc_interface_clear(ctx, &i);
    } else if (d == &grpc__routes__descriptor) {
        struct vc_route *v = NULL;
        size_t n = 0;

        if (vc_kata_routes_from_pb(ctx, (const Grpc__Routes *) m, &v, &n) == 0)
            vc_routes_free(ctx, v, n);
    } else if (d == &grpc__arpneighbors__descriptor) {
        struct vc_arp_neighbor *v = NULL;
        size_t n = 0;

        if (vc_kata_neighbors_from_pb(ctx, (const Grpc__ARPNeighbors *) m, &v, &n) == 0)
            vc_obj_array_free(ctx, &vc_schema_arp_neighbor, v, n);
    } else if (d == &grpc__stats_container_response__descriptor) {
        struct vc_container_stats st = {0};

        (void) vc_kata_stats_from_pb(ctx, (const Grpc__StatsContainerResponse *) m, &st);
    } else if (d == &grpc__guest_details_response__descriptor) {
        struct vc_guest_details g = {0};

        if (vc_kata_guest_details_from_pb(ctx, (const Grpc__GuestDetailsResponse *) m, &g) == 0)
            vc_guest_details_clear(ctx, &g);
    } else if (d == &grpc__volume_stats_response__descriptor) {
        struct vc_volume_stats vs = {0};

        if (vc_kata_volume_stats_from_pb(ctx, (const Grpc__VolumeStatsResponse *) m, &vs) == 0)
            vc_volume_stats_clear(ctx, &vs);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &grpc__interfaces__descriptor,
        &types__interface__descriptor,
        &grpc__routes__descriptor,
        &grpc__arpneighbors__descriptor,
        &grpc__stats_container_response__descriptor,
        &grpc__guest_details_response__descriptor,
        &grpc__volume_stats_response__descriptor,
        &grpc__wait_process_response__descriptor,
        &grpc__read_stream_response__descriptor,
        &grpc__write_stream_response__descriptor,
        &grpc__metrics__descriptor,
        &grpc__oomevent__descriptor,
        &grpc__get_iptables_response__descriptor,
        &grpc__set_iptables_response__descriptor,
        &grpc__get_diagnostic_data_response__descriptor,
        &grpc__version_check_response__descriptor,
        &grpc__health_check_response__descriptor,
        &ttrpc__response__descriptor,
    };
    ProtobufCAllocator a;
    ProtobufCMessage *m;
    struct fz_plain p;

    if (size < 1)
        return 0;
    fz_plain_new(&p);
    vc_pb_allocator(p.ctx, &a);
    m = protobuf_c_message_unpack(descs[data[0] % (sizeof(descs) / sizeof(descs[0]))], &a, size - 1,
                                  data + 1);
    if (m) {
        convert(p.ctx, m);
        vc_pb_free(p.ctx, m);
    }
    fz_plain_free(&p);
    return 0;
}
