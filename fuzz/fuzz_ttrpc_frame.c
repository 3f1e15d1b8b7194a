/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the pure ttrpc frame decoder: the input is split into chunks whose sizes come from the
 * input's first bytes, fed incrementally with a small limit so oversized frames are skipped too;
 * every frame returned must be consistent with its header. Built for speed: the context is made
 * once (the decoder only allocates through it) and the harness itself is left out of coverage,
 * so libFuzzer's features are the decoder's alone. */
#include "frame.h"
#include "fuzz_common.h"

FZ_NO_COVERAGE int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vc_ttrpc_decoder d = {0};
    struct vc_ttrpc_frame f;
    size_t off, seed_len, si = 0;
    const uint8_t *seed;
    uint32_t max;
    size_t sum = 0;
    int idle = 0;

    if (size < 2)
        return 0;
    /* Byte 0: limit selector; byte 1: how many chunk-size bytes follow. */
    max = (data[0] & 1) ? 64 : 4u << 20;
    seed_len = data[1] % 8;
    if (size < 2 + seed_len)
        return 0;
    seed = data + 2;
    off = 2 + seed_len;
    vc_ttrpc_decoder_init(&d, fz_plain_shared(), max);
    while (off < size) {
        size_t chunk = size - off, used = 0;
        int r;

        if (seed_len > 0) {
            chunk = (size_t) seed[si] + 1;
            si = si + 1 == seed_len ? 0 : si + 1; /* no division per chunk: it showed in perf */
        }
        if (chunk > size - off)
            chunk = size - off;
        while (chunk > 0) {
            r = vc_ttrpc_decoder_feed(&d, data + off, chunk, &used, &f);
            FZ_ASSERT(r >= 0 && used <= chunk);
            if (r == VC_TTRPC_DEC_FRAME) {
                FZ_ASSERT(f.len == f.h.length && f.h.length <= max);
                FZ_ASSERT(f.len == 0 || f.data);
                if (f.len > 0) /* both ends of the borrowed data: ASan checks them */
                    sum += (size_t) f.data[0] + f.data[f.len - 1];
                FZ_ASSERT(vc_ttrpc_decoder_idle(&d));
            } else if (r == VC_TTRPC_DEC_OVERSIZED) {
                FZ_ASSERT(f.h.length > max && f.data == NULL && f.len == 0);
            } else {
                FZ_ASSERT(used == chunk);
            }
            off += used;
            chunk -= used;
            if (used == 0 && ++idle > 2)
                break; /* no progress: the decoder must use input or return an event */
            if (used > 0)
                idle = 0;
        }
    }
    FZ_ASSERT(sum <= (size_t) 510 * size);
    vc_ttrpc_decoder_fini(&d);
    return 0;
}
