/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the mock agent's ttrpc server: in a simulated world, a guest is booted in a mock agent
 * host, its server serves the guest end of a stream, and the input is the byte stream a hostile
 * client sends (frames carrying grpc.AgentService and grpc.Health requests). Byte 0 says whether
 * the client then closes. The server answers, parks or drops what it gets; afterwards the guest
 * is halted and everything freed, with nothing left behind. */
#include <mockagent/host.h>
#include <mockagent/server.h>

#include "fuzz_common.h"

#define CID 3u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *echo_argv[] = {"echo", "**"};
    char *sleep_argv[] = {"sleep", "*"};
    struct magent_program programs[] = {
        {.argv = echo_argv, .n_argv = 2, .out = "hi\n", .runtime_ns = FZ_MS(5)},
        {.argv = sleep_argv, .n_argv = 2, .runtime_ns = UINT64_MAX},
    };
    struct magent_script script = {.programs = programs, .n_programs = 2};
    struct magent_host *host = NULL;
    struct magent_server *srv = NULL;
    struct fz_sim s;
    bool close_after;
    struct vc_stream *tmp;

    if (size < 1 || size > (1u << 20))
        return 0;
    close_after = data[0] & 1;
    fz_sim_new(&s, true);
    FZ_ASSERT(magent_host_new(s.g, &script, &host) == 0);
    FZ_ASSERT(magent_host_boot(host, "sb1", CID, 2, 2048) == 0);
    FZ_ASSERT(magent_server_new(s.g, host, &srv) == 0);
    FZ_ASSERT(magent_server_serve(srv, CID, s.gs) == 0);
    s.gs = NULL;
    /* The runtime end plays the hostile client: swap the roles of the helper's two ends. */
    tmp = s.rs;
    s.rs = NULL;
    s.gs = tmp;
    fz_sim_send(&s, data + 1, size - 1);
    fz_sim_drain(&s);
    if (close_after)
        fz_sim_close_guest(&s);
    for (int i = 0; i < 20; i++) {
        (void) vc_ctx_sleep_until(s.r, simhv_world_now(s.w) + FZ_MS(100));
        fz_sim_drain(&s);
    }
    magent_host_halt(host, CID);
    (void) vc_ctx_sleep_until(s.r, simhv_world_now(s.w) + FZ_MS(1));
    magent_server_free(srv);
    magent_host_free(host);
    fz_sim_free(&s);
    return 0;
}
