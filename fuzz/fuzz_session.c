/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes a whole sandbox lifecycle in wire mode: the runtime's kata backend speaks ttrpc over the
 * simulated network to the mock agent's server, and the input chooses fault rules on the channel
 * and replaces reply frames (whole, their data, or their payload) through the wire's tap. Every
 * API call must return; afterwards, with faults and replacements off, the runtime must stop and
 * delete whatever is left, and nothing may leak. Input layout: fuzz/README.md. */
#include <malloc.h>

#include "session.h"

#define FS_RULES_MAX 3

static void fs_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* The tap: replaces frame n when a substitution names it. */
static bool fs_frame(void *data, uint32_t cid, uint64_t conn, uint64_t n, const uint8_t *frame,
                     size_t len, const uint8_t **ret, size_t *ret_len)
{
    struct fs_run *run = data;
    const struct fs_sub *s = NULL;
    size_t k = VC_TTRPC_HEADER_LEN;

    for (size_t i = 0; i < run->n_subs && !s; i++)
        if (run->subs[i].index == n)
            s = &run->subs[i];
    if (!s)
        return false;
    if (s->mode == FS_SUB_RAW) {
        *ret = s->p;
        *ret_len = s->len;
        return true;
    }
    memcpy(run->out, frame, VC_TTRPC_HEADER_LEN);
    if (s->mode == FS_SUB_PAYLOAD) {
        size_t v = s->len;

        run->out[k++] = 0x12; /* field 2 (payload), length-delimited */
        do {
            run->out[k++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
    }
    memcpy(run->out + k, s->p, s->len);
    k += s->len;
    fs_be32(run->out, (uint32_t) (k - VC_TTRPC_HEADER_LEN));
    *ret = run->out;
    *ret_len = k;
    return true;
}

/* Reads up to FS_RULES_MAX rules (4 bytes each) and adds them on net.send. */
static void fs_rules(struct fs_run *run, const uint8_t **p, const uint8_t *end, unsigned n)
{
    static const int32_t actions[] = {
        SIMHV_ACTION_CORRUPT, SIMHV_ACTION_TRUNCATE, SIMHV_ACTION_DROP,  SIMHV_ACTION_DUPLICATE,
        SIMHV_ACTION_DRIP,    SIMHV_ACTION_RESET,    SIMHV_ACTION_DELAY, SIMHV_ACTION_HANG,
    };

    for (unsigned i = 0; i < n && end - *p >= 4; i++, *p += 4) {
        const uint8_t *b = *p;
        struct simhv_fault_rule rule = {
            .point = "net.send",
            .trigger = SIMHV_TRIGGER_NTH,
            .nth = (uint64_t) b[1] + 1,
            .limit = (uint64_t) (b[2] & 7) + 1,
            .action = actions[b[0] & 7],
            .delay_ns = FZ_MS(b[3]),
            .context = (b[0] & 0x80) ? "runtime" : "guest",
        };

        FZ_ASSERT(simhv_world_add_fault(run->w, &rule) == 0);
    }
}

/* The rest of the input: substitutions of index, mode, 2-byte length, bytes. */
static void fs_subs(struct fs_run *run, const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 4 && run->n_subs < FS_SUBS_MAX) {
        struct fs_sub *s = &run->subs[run->n_subs++];
        size_t len = (size_t) p[2] << 8 | p[3];

        s->index = p[0];
        s->mode = p[1] % FS_SUB_LAST;
        p += 4;
        if (len > (size_t) (end - p))
            len = (size_t) (end - p);
        if (len > FS_SUB_MAX)
            len = FS_SUB_MAX;
        s->p = p;
        s->len = len;
        p += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool malloc_tuned;
    struct fs_run *run;
    const uint8_t *p = data + 1, *end = data + size;
    unsigned opts;

    if (size < 1 || size > (1u << 16))
        return 0;
    if (!malloc_tuned) {
        /* Each API call makes and frees the agent connection's buffers: keep glibc from giving
         * the top of the heap back and taking it again every time (a tenth of the time, perf
         * said). A no-op under ASan. */
        (void) mallopt(M_TRIM_THRESHOLD, 64 << 20);
        malloc_tuned = true;
    }
    opts = data[0];
    run = calloc(1, sizeof(*run));
    FZ_ASSERT(run);
    fs_setup(run, &(struct magent_sim_tap){.frame = fs_frame}, run);
    fs_rules(run, &p, end, (opts >> FS_RULES_SHIFT) % (FS_RULES_MAX + 1));
    fs_subs(run, p, end);
    fs_lifecycle(run, opts);
    fs_cleanup(run);
    fs_free(run);
    free(run);
    return 0;
}
