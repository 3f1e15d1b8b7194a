/* SPDX-License-Identifier: Apache-2.0 */
/* The real world's services: the system clocks, a generator seeded from getrandom(2), a
 * poll(2) loop with timers, and the filesystem store. This is the one core file that may call
 * the clock, the kernel's randomness and poll directly (ci/lint-determinism allows it). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <vc/qemu.h>
#include <vc/store.h>
#include <vc/url.h>

#include "ctx_priv.h"

struct real_watch {
    int fd;          /* watched fd */
    unsigned events; /* VC_IO_* requested */
    vc_io_fn *fn;    /* callback */
    void *fn_data;   /* callback data */
};

struct real_timer {
    uint64_t id;       /* handle given to the caller */
    uint64_t deadline; /* monotonic ns */
    vc_timer_fn *fn;   /* callback */
    void *fn_data;     /* callback data */
};

struct vc_real {
    struct vc_ctx *ctx;         /* the context these services belong to */
    struct vc_xoshiro rng;      /* generator state */
    struct real_watch *watches; /* watched fds */
    size_t n_watches;           /* number of watches */
    struct real_timer *timers;  /* pending timers */
    size_t n_timers;            /* number of timers */
    uint64_t next_timer_id;     /* last id handed out */
    struct vc_store *store;     /* the filesystem store (owned) */
};

static uint64_t real_clock_ns(clockid_t id)
{
    struct timespec ts;

    (void) clock_gettime(id, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static uint64_t real_monotonic(void *data)
{
    return real_clock_ns(CLOCK_MONOTONIC);
}

static int64_t real_wall(void *data)
{
    return (int64_t) real_clock_ns(CLOCK_REALTIME);
}

static int real_watch(void *data, int fd, unsigned events, vc_io_fn *fn, void *fn_data)
{
    struct vc_real *real = data;
    struct real_watch *v;

    for (size_t i = 0; i < real->n_watches; i++) {
        if (real->watches[i].fd != fd)
            continue;
        if (!events) {
            real->watches[i] = real->watches[--real->n_watches];
            return 0;
        }
        real->watches[i] = (struct real_watch){fd, events, fn, fn_data};
        return 0;
    }
    if (!events)
        return 0;
    v = vc_realloc(real->ctx, real->watches, (real->n_watches + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    v[real->n_watches++] = (struct real_watch){fd, events, fn, fn_data};
    real->watches = v;
    return 0;
}

static int real_timer_add(void *data, uint64_t deadline, vc_timer_fn *fn, void *fn_data,
                          uint64_t *ret_id)
{
    struct vc_real *real = data;
    struct real_timer *v;

    v = vc_realloc(real->ctx, real->timers, (real->n_timers + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    real->timers = v;
    v[real->n_timers++] = (struct real_timer){++real->next_timer_id, deadline, fn, fn_data};
    if (ret_id)
        *ret_id = real->next_timer_id;
    return 0;
}

static void real_timer_cancel(void *data, uint64_t id)
{
    struct vc_real *real = data;

    for (size_t i = 0; i < real->n_timers; i++) {
        if (real->timers[i].id == id) {
            memmove(&real->timers[i], &real->timers[i + 1],
                    (real->n_timers - i - 1) * sizeof(real->timers[0]));
            real->n_timers--;
            return;
        }
    }
}

/* Fires the earliest expired timer, if any. Returns true when one ran. */
static bool real_fire_timer(struct vc_real *real, uint64_t now)
{
    size_t best = SIZE_MAX;
    struct real_timer t;

    for (size_t i = 0; i < real->n_timers; i++)
        if (real->timers[i].deadline <= now &&
            (best == SIZE_MAX || real->timers[i].deadline < real->timers[best].deadline))
            best = i;
    if (best == SIZE_MAX)
        return false;
    t = real->timers[best];
    real_timer_cancel(real, t.id);
    t.fn(t.fn_data);
    return true;
}

static unsigned real_revents(short re)
{
    return ((re & POLLIN) ? VC_IO_IN : 0) | ((re & POLLOUT) ? VC_IO_OUT : 0) |
           ((re & (POLLERR | POLLHUP | POLLNVAL)) ? VC_IO_ERR : 0);
}

/* Polls the watched fds until the earliest of deadline and the next timer, then dispatches. */
static int real_run_once(void *data, uint64_t deadline)
{
    struct vc_real *real = data;
    struct pollfd *pfds;
    uint64_t now = real_monotonic(NULL), wake = deadline;
    size_t n = real->n_watches;
    int timeout_ms, r, dispatched = 0;

    if (real_fire_timer(real, now))
        return 0;
    for (size_t i = 0; i < real->n_timers; i++)
        if (real->timers[i].deadline < wake)
            wake = real->timers[i].deadline;
    timeout_ms = wake <= now ? 0 : (int) ((wake - now + 999999) / 1000000);
    pfds = vc_calloc(real->ctx, n ? n : 1, sizeof(*pfds));
    if (!pfds)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        pfds[i] = (struct pollfd){
            .fd = real->watches[i].fd,
            .events = (short) (((real->watches[i].events & VC_IO_IN) ? POLLIN : 0) |
                               ((real->watches[i].events & VC_IO_OUT) ? POLLOUT : 0)),
        };
    r = poll(pfds, n, timeout_ms);
    if (r < 0) {
        r = errno == EINTR ? 0 : -errno;
        vc_free(real->ctx, pfds);
        return r;
    }
    /* A callback may change the watch table: look each ready fd up again before calling. */
    for (size_t i = 0; i < n; i++) {
        if (!pfds[i].revents)
            continue;
        for (size_t j = 0; j < real->n_watches; j++) {
            if (real->watches[j].fd == pfds[i].fd) {
                struct real_watch w = real->watches[j];
                w.fn(w.fn_data, w.fd, real_revents(pfds[i].revents));
                dispatched++;
                break;
            }
        }
    }
    vc_free(real->ctx, pfds);
    if (real_fire_timer(real, real_monotonic(NULL)))
        dispatched++;
    if (dispatched)
        return 0;
    return real_monotonic(NULL) >= deadline ? -ETIMEDOUT : 0;
}

static const struct vc_loop_ops real_loop_ops = {
    .watch = real_watch,
    .timer_add = real_timer_add,
    .timer_cancel = real_timer_cancel,
    .run_once = real_run_once,
};

void vc_real_free(struct vc_real *real)
{
    struct vc_ctx *ctx;

    if (!real)
        return;
    ctx = real->ctx;
    vc_store_free(real->store);
    vc_free(ctx, real->watches);
    vc_free(ctx, real->timers);
    vc_free(ctx, real);
}

int vc_ctx_new_real(const char *root, struct vc_ctx **ret)
{
    struct vc_real *real;
    struct vc_ctx *ctx = NULL;
    uint64_t seed[4];
    int r;

    if (!ret)
        return -EINVAL;
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t) sizeof(seed))
        return -errno ? -errno : -EIO;
    real = calloc(1, sizeof(*real));
    if (!real)
        return -ENOMEM;
    memcpy(real->rng.s, seed, sizeof(seed));
    r = vc_ctx_new(&(struct vc_clock){.monotonic = real_monotonic, .wall = real_wall},
                   &(struct vc_rng){.next = vc_xoshiro_next, .data = &real->rng}, NULL, &ctx);
    if (r < 0) {
        free(real);
        return r;
    }
    /* From here on real belongs to ctx and is freed with it (through ctx's allocator, which is
     * malloc here, so the calloc above matches). */
    real->ctx = ctx;
    ctx->real = real;
    vc_ctx_set_loop(ctx, &(struct vc_loop){.ops = &real_loop_ops, .data = real});
    vc_ctx_set_net(ctx, &(struct vc_net){.ops = &vc_real_net_ops});
    r = vc_store_fs_new(ctx, root, &real->store);
    if (r < 0)
        goto fail;
    vc_ctx_set_store(ctx, real->store);
    r = vc_ctx_register_hv(ctx, &vc_qemu_hv_ops, NULL);
    if (r < 0)
        goto fail;
    *ret = ctx;
    return 0;
fail:
    vc_ctx_free(ctx);
    return r;
}
