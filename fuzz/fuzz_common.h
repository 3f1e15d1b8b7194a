/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the fuzz targets share: a bare context on a fixed clock and a seeded generator (no
 * loop, no store) for the pure decoders, and a simulated world with a "runtime" and a "guest"
 * context joined by one simulated stream for the protocol clients. Everything lives in a struct
 * the target keeps on its stack for one input: no globals. The one exception is
 * fz_plain_shared, a bare context kept for the process by targets whose code only allocates
 * through it, so an input's outcome never depends on the inputs before it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <vc/vc.h>
#include <vc/stream.h>

#include <simhv/net.h>
#include <simhv/world.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_URL   "vsock://3:1024"
#define FZ_MS(n) ((uint64_t) (n) *SIMHV_NS_PER_MS)

/* A target's own check: a broken invariant is a crash the fuzzer reports. */
#define FZ_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Leaves a function out of the coverage the fuzzer collects (clang 13 and later): for a
 * harness's own loops and checks, whose counters would only add features that say nothing about
 * the code under test and cost libFuzzer time on every input. */
#if defined(__clang__) && __clang_major__ >= 13
#define FZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define FZ_NO_COVERAGE
#endif

/* A bare context: fixed clock, xoshiro generator seeded with 1, malloc. */
struct fz_plain {
    struct vc_clock clock; /* always 1 s */
    struct vc_xoshiro x;   /* generator state */
    struct vc_rng rng;     /* over x */
    struct vc_ctx *ctx;    /* the context */
};

static inline uint64_t fz_mono(void *data)
{
    return 1000000000ull;
}

static inline int64_t fz_wall(void *data)
{
    return 1700000000000000000ll;
}

static inline struct vc_ctx *fz_plain_new(struct fz_plain *p)
{
    *p = (struct fz_plain){.clock = {fz_mono, fz_wall, NULL}};
    vc_xoshiro_seed(&p->x, 1);
    p->rng = (struct vc_rng){vc_xoshiro_next, &p->x};
    if (vc_ctx_new(&p->clock, &p->rng, NULL, &p->ctx) < 0)
        abort();
    return p->ctx;
}

static inline void fz_plain_free(struct fz_plain *p)
{
    vc_ctx_free(p->ctx);
}

/* A bare context made at the first call and kept for the process (never freed; reachable, so
 * LeakSanitizer does not count it): for code that keeps nothing in the context between inputs
 * but allocations it frees, which saves making a context per input. */
static inline struct vc_ctx *fz_plain_shared(void)
{
    static struct fz_plain shared;

    if (!shared.ctx)
        fz_plain_new(&shared);
    return shared.ctx;
}

/* A world with two contexts and a connected stream: rs on the runtime side, gs on the guest. */
struct fz_sim {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *rc;  /* runtime */
    struct simhv_ctx *gc;  /* guest */
    struct vc_ctx *r;      /* rc's core context */
    struct vc_ctx *g;      /* gc's core context */
    struct vc_listener *l; /* guest listener (closed once accepted) */
    struct vc_stream *rs;  /* runtime end (handed to the client under test) */
    struct vc_stream *gs;  /* guest end: the fuzz bytes are written here */
};

/* Makes the world; with connect, also the stream pair. Aborts on setup failure. */
static inline void fz_sim_new(struct fz_sim *s, bool connect)
{
    struct simhv_options o = {.seed = 1};

    *s = (struct fz_sim){0};
    FZ_ASSERT(simhv_world_new(&o, &s->w) == 0);
    FZ_ASSERT(simhv_ctx_new(s->w, "runtime", &s->rc) == 0);
    FZ_ASSERT(simhv_ctx_new(s->w, "guest", &s->gc) == 0);
    s->r = simhv_ctx_vc(s->rc);
    s->g = simhv_ctx_vc(s->gc);
    if (!connect)
        return;
    FZ_ASSERT(vc_listen(s->g, FZ_URL, &s->l) == 0);
    FZ_ASSERT(vc_dial(s->r, FZ_URL, SIMHV_NS_PER_S, &s->rs) == 0);
    for (int i = 0; i < 100 && vc_listener_accept(s->l, &s->gs) < 0; i++)
        (void) vc_ctx_sleep_until(s->r, simhv_world_now(s->w) + FZ_MS(1));
    FZ_ASSERT(s->gs);
    vc_listener_close(s->l);
    s->l = NULL;
}

/* Writes all of buf into the guest end, letting the world run while the queues are full. Stops
 * early if the runtime side went away. */
static inline void fz_sim_send(struct fz_sim *s, const uint8_t *buf, size_t len)
{
    int stalls = 0;

    while (len > 0 && stalls < 1000) {
        ssize_t n = vc_stream_write(s->gs, buf, len);

        if (n > 0) {
            buf += n;
            len -= (size_t) n;
            stalls = 0;
        } else if (n == -EAGAIN || n == 0) {
            stalls++;
            (void) vc_ctx_sleep_until(s->r, simhv_world_now(s->w) + FZ_MS(1));
        } else {
            return;
        }
    }
}

/* Drains what the runtime wrote to the guest end (the requests), so its queue never fills. */
static inline void fz_sim_drain(struct fz_sim *s)
{
    uint8_t buf[4096];

    if (!s->gs)
        return;
    while (vc_stream_read(s->gs, buf, sizeof(buf)) > 0)
        ;
}

/* Feeds bytes into the guest end over virtual time: one line (up to and including '\n', at most
 * 4 KiB) every millisecond, from world events, so a blocking call on the runtime side sees them
 * arrive one by one; with close_after the guest end is closed after the last one. */
struct fz_feed {
    struct fz_sim *s; /* the world and the guest end */
    const uint8_t *p; /* bytes to send (borrowed input) */
    size_t len;       /* their number */
    size_t off;       /* bytes sent */
    bool close_after; /* close the guest end once all is sent */
    uint64_t event;   /* the pending event's id (0: none) */
};

static inline void fz_feed_tick(void *data)
{
    struct fz_feed *f = data;
    size_t n = 0;
    ssize_t w;

    f->event = 0;
    if (!f->s->gs)
        return;
    while (f->off + n < f->len && n < 4096 && f->p[f->off + n++] != '\n')
        ;
    w = n > 0 ? vc_stream_write(f->s->gs, f->p + f->off, n) : 0;
    if (w > 0)
        f->off += (size_t) w;
    else if (w < 0 && w != -EAGAIN)
        f->off = f->len; /* the runtime side is gone */
    if (f->off < f->len) {
        FZ_ASSERT(simhv_world_schedule(f->s->w, simhv_world_now(f->s->w) + FZ_MS(1), fz_feed_tick,
                                       f, &f->event) == 0);
    } else if (f->close_after) {
        vc_stream_close(f->s->gs);
        f->s->gs = NULL;
    }
}

static inline void fz_feed_start(struct fz_feed *f, struct fz_sim *s, const uint8_t *p, size_t len,
                                 bool close_after)
{
    *f = (struct fz_feed){s, p, len, 0, close_after, 0};
    FZ_ASSERT(simhv_world_schedule(s->w, simhv_world_now(s->w) + FZ_MS(1), fz_feed_tick, f,
                                   &f->event) == 0);
}

/* Cancels what is left to feed. */
static inline void fz_feed_stop(struct fz_feed *f)
{
    if (f->event)
        simhv_world_cancel(f->s->w, f->event);
    f->event = 0;
}

/* Closes the guest end (EOF for the runtime) unless already closed. */
static inline void fz_sim_close_guest(struct fz_sim *s)
{
    vc_stream_close(s->gs);
    s->gs = NULL;
}

/* Frees the world after checking nothing is left behind (the caller freed its clients). */
static inline void fz_sim_free(struct fz_sim *s)
{
    vc_stream_close(s->gs);
    vc_stream_close(s->rs);
    vc_listener_close(s->l);
    FZ_ASSERT(simhv_net_stream_count(s->w) == 0);
    FZ_ASSERT(simhv_net_listener_count(s->w) == 0);
    FZ_ASSERT(simhv_ctx_live_allocs(s->rc) == 0);
    FZ_ASSERT(simhv_ctx_live_allocs(s->gc) == 0);
    simhv_ctx_free(s->rc);
    simhv_ctx_free(s->gc);
    simhv_world_free(s->w);
}
