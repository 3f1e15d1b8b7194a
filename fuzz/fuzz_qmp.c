/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the QMP client with a hostile monitor: in a simulated world, the input is what QEMU's
 * monitor sends (a greeting first, or not), one line per virtual millisecond. The client does its
 * handshake; if that succeeds, one command is started and the rest of the stream read. Byte 0 says
 * whether the monitor closes. The command must end exactly once and nothing may be left behind. */
#include <json-c/json.h>

#include "fuzz_common.h"
#include "qmp.h"

/* The command's outcome. */
struct fz_cmd {
    int n; /* callbacks run */
};

static void on_done(void *data, const struct vc_qmp_result *res)
{
    struct fz_cmd *o = data;

    o->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vc_qmp *q = NULL;
    struct fz_cmd o = {0};
    struct fz_sim s;
    struct fz_feed feed;
    bool close_after, started = false;

    if (size < 1 || size > (1u << 20))
        return 0;
    close_after = data[0] & 1;
    fz_sim_new(&s, true);
    FZ_ASSERT(vc_qmp_new(s.r, s.rs, &q) == 0);
    s.rs = NULL;
    fz_feed_start(&feed, &s, data + 1, size - 1, close_after);
    if (vc_qmp_handshake(q, FZ_MS(200)) == 0) {
        uint64_t t = simhv_world_now(s.w);

        started =
            vc_qmp_execute_start(q, "query-status", NULL, t + FZ_MS(100), on_done, &o, NULL) == 0;
        (void) vc_ctx_sleep_until(s.r, t + FZ_MS(200));
        if (started)
            FZ_ASSERT(o.n == 1); /* its deadline passed */
    }
    fz_feed_stop(&feed);
    fz_sim_drain(&s);
    vc_qmp_free(q);
    FZ_ASSERT(o.n == (started ? 1 : 0));
    fz_sim_free(&s);
    return 0;
}
