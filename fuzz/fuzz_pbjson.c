/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes vc_pbjson_from_string: byte 0 picks a message descriptor and flags, the rest is the
 * JSON text. A message that parses is rendered back to JSON and parsed again. */
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include <vc/pbjson.h>

#include "agent.pb-c.h"
#include "fuzz_common.h"
#include "health.pb-c.h"
#include "oci.pb-c.h"
#include "ttrpc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &grpc__create_container_request__descriptor,
        &ttrpc__request__descriptor,
        &ttrpc__response__descriptor,
        &grpc__create_sandbox_request__descriptor,
        &grpc__exec_process_request__descriptor,
        &grpc__update_interface_request__descriptor,
        &grpc__update_routes_request__descriptor,
        &grpc__stats_container_response__descriptor,
        &grpc__guest_details_response__descriptor,
        &grpc__spec__descriptor,
        &grpc__health_check_response__descriptor,
        &grpc__copy_file_request__descriptor,
    };
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage *m = NULL, *m2 = NULL;
    struct fz_plain p;
    char *text = NULL;
    unsigned flags;

    if (size < 1)
        return 0;
    desc = descs[(data[0] & 0x0f) % (sizeof(descs) / sizeof(descs[0]))];
    flags = (data[0] & 0x10) ? VC_PBJSON_IGNORE_UNKNOWN : 0;
    fz_plain_new(&p);
    if (vc_pbjson_from_string(p.ctx, desc, (const char *) data + 1, size - 1, flags, &m) == 0) {
        FZ_ASSERT(m && m->descriptor == desc);
        if (vc_pbjson_to_string(p.ctx, m, (data[0] & 0x20) ? VC_PBJSON_DEFAULTS : 0, &text) == 0) {
            int r = vc_pbjson_from_string(p.ctx, desc, text, strlen(text), 0, &m2);

            FZ_ASSERT(r == 0 || r == -E2BIG || r == -EMSGSIZE);
            vc_pb_free(p.ctx, m2);
            vc_free(p.ctx, text);
        }
        vc_pb_free(p.ctx, m);
    }
    fz_plain_free(&p);
    return 0;
}
