/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the ttrpc client with a hostile server: in a simulated world, a client on the runtime
 * context starts a few calls (one with a deadline, one decoding a response, one ignoring it),
 * and the input is the byte stream the "server" on the guest end sends back. Byte 0 says
 * whether the server then closes. Every call must end exactly once, with a result or an
 * error, and nothing may be left behind. */
#include <vc/ttrpc.h>

#include "fuzz_common.h"
#include "health.pb-c.h"
#include "ttrpc.pb-c.h"

#define CALLS 3

/* One call's outcome. */
struct fz_call {
    int n;                                  /* callbacks run */
    int r;                                  /* result */
    const ProtobufCMessageDescriptor *want; /* the response type asked for (NULL: none) */
};

static void on_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct fz_call *o = data;

    o->n++;
    o->r = res->r;
    FZ_ASSERT(res->message);
    FZ_ASSERT(res->r <= 0);
    if (res->r == 0 && o->want)
        FZ_ASSERT(res->resp && res->resp->descriptor == o->want);
    else
        FZ_ASSERT(!res->resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct fz_call o[CALLS] = {{0}};
    struct vc_ttrpc_client *c = NULL;
    struct fz_sim s;
    uint64_t t0;
    bool close_after;

    if (size < 1 || size > (1u << 20))
        return 0;
    close_after = data[0] & 1;
    o[0].want = &grpc__health_check_response__descriptor;
    o[2].want = &ttrpc__string_list__descriptor;
    fz_sim_new(&s, true);
    FZ_ASSERT(vc_ttrpc_client_new(s.r, s.rs, &c) == 0);
    s.rs = NULL;
    t0 = simhv_world_now(s.w);
    FZ_ASSERT(vc_ttrpc_call_start(c, "grpc.Health", "Check", &req.base,
                                  &grpc__health_check_response__descriptor, 0, NULL, 0, on_done,
                                  &o[0], NULL) == 0);
    FZ_ASSERT(vc_ttrpc_call_start(c, "grpc.AgentService", "GetGuestDetails", NULL, NULL,
                                  t0 + FZ_MS(500), NULL, 0, on_done, &o[1], NULL) == 0);
    FZ_ASSERT(vc_ttrpc_call_start(c, "test.Strings", "Echo", &req.base,
                                  &ttrpc__string_list__descriptor, 0, NULL, 0, on_done, &o[2],
                                  NULL) == 0);
    (void) vc_ctx_sleep_until(s.r, t0 + FZ_MS(1));
    fz_sim_drain(&s);
    fz_sim_send(&s, data + 1, size - 1);
    if (close_after)
        fz_sim_close_guest(&s);
    (void) vc_ctx_sleep_until(s.r, simhv_world_now(s.w) + FZ_MS(1000));
    FZ_ASSERT(o[1].n == 1); /* its deadline passed */
    if (close_after) {
        for (int i = 0; i < CALLS; i++)
            FZ_ASSERT(o[i].n == 1);
        FZ_ASSERT(vc_ttrpc_client_pending(c) == 0);
    }
    vc_ttrpc_client_free(c);
    for (int i = 0; i < CALLS; i++)
        FZ_ASSERT(o[i].n == 1);
    fz_sim_free(&s);
    return 0;
}
