/* SPDX-License-Identifier: Apache-2.0 */
/* The edge-triggered test loop (etloop.h). Test support on real sockets: it calls epoll and the
 * allocator directly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include <vc/ctx.h>

#include "etloop.h"

struct et_watch {
    int fd;       /* watched fd */
    vc_io_fn *fn; /* callback */
    void *data;   /* its data */
};

struct et_timer {
    uint64_t id;       /* handle */
    uint64_t deadline; /* when */
    vc_timer_fn *fn;   /* callback */
    void *data;        /* its data */
};

struct vctest_etloop {
    struct vc_ctx *ctx; /* for the clock */
    int ep;             /* the epoll fd */
    struct et_watch *w; /* watches */
    size_t n_w;         /* number of watches */
    struct et_timer *t; /* timers */
    size_t n_t;         /* number of timers */
    uint64_t next_id;   /* last timer id */
};

static int et_watch(void *data, int fd, unsigned events, vc_io_fn *fn, void *fn_data)
{
    struct vctest_etloop *l = data;
    struct epoll_event ev = {.events = EPOLLET | ((events & VC_IO_IN) ? EPOLLIN : 0) |
                                       ((events & VC_IO_OUT) ? EPOLLOUT : 0),
                             .data.fd = fd};
    size_t i;

    for (i = 0; i < l->n_w && l->w[i].fd != fd; i++)
        ;
    if (!events) {
        if (i < l->n_w) {
            assert_int_equal(epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL), 0);
            l->w[i] = l->w[--l->n_w];
        }
        return 0;
    }
    if (i == l->n_w) {
        l->w = realloc(l->w, (l->n_w + 1) * sizeof(*l->w));
        assert_non_null(l->w);
        l->n_w++;
        assert_int_equal(epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev), 0);
    } else {
        assert_int_equal(epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev), 0);
    }
    l->w[i] = (struct et_watch){fd, fn, fn_data};
    return 0;
}

static int et_timer_add(void *data, uint64_t deadline, vc_timer_fn *fn, void *fn_data,
                        uint64_t *ret_id)
{
    struct vctest_etloop *l = data;

    l->t = realloc(l->t, (l->n_t + 1) * sizeof(*l->t));
    assert_non_null(l->t);
    l->t[l->n_t++] = (struct et_timer){++l->next_id, deadline, fn, fn_data};
    if (ret_id)
        *ret_id = l->next_id;
    return 0;
}

static void et_timer_cancel(void *data, uint64_t id)
{
    struct vctest_etloop *l = data;

    for (size_t i = 0; i < l->n_t; i++)
        if (l->t[i].id == id) {
            memmove(&l->t[i], &l->t[i + 1], (l->n_t - i - 1) * sizeof(*l->t));
            l->n_t--;
            return;
        }
}

static bool et_fire(struct vctest_etloop *l)
{
    uint64_t now = vc_now(l->ctx);
    size_t best = SIZE_MAX;
    struct et_timer t;

    for (size_t i = 0; i < l->n_t; i++)
        if (l->t[i].deadline <= now && (best == SIZE_MAX || l->t[i].deadline < l->t[best].deadline))
            best = i;
    if (best == SIZE_MAX)
        return false;
    t = l->t[best];
    et_timer_cancel(l, t.id);
    t.fn(t.data);
    return true;
}

static int et_run_once(void *data, uint64_t deadline)
{
    struct vctest_etloop *l = data;
    struct epoll_event evs[16];
    uint64_t now = vc_now(l->ctx), wake = deadline;
    int n, ran = 0;

    if (et_fire(l))
        return 0;
    for (size_t i = 0; i < l->n_t; i++)
        wake = l->t[i].deadline < wake ? l->t[i].deadline : wake;
    n = epoll_wait(l->ep, evs, 16, wake <= now ? 0 : (int) ((wake - now + 999999) / 1000000));
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < l->n_w; j++) {
            if (l->w[j].fd != evs[i].data.fd)
                continue;
            l->w[j].fn(l->w[j].data, l->w[j].fd,
                       ((evs[i].events & EPOLLIN) ? VC_IO_IN : 0) |
                           ((evs[i].events & EPOLLOUT) ? VC_IO_OUT : 0) |
                           ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? VC_IO_ERR : 0));
            ran++;
            break;
        }
    }
    ran += et_fire(l);
    return ran || vc_now(l->ctx) < deadline ? 0 : -ETIMEDOUT;
}

static const struct vc_loop_ops et_ops = {
    .watch = et_watch,
    .timer_add = et_timer_add,
    .timer_cancel = et_timer_cancel,
    .run_once = et_run_once,
};

struct vctest_etloop *vctest_etloop_install(struct vc_ctx *ctx)
{
    struct vctest_etloop *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    l->ctx = ctx;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    assert_true(l->ep >= 0);
    vc_ctx_set_loop(ctx, &(struct vc_loop){&et_ops, l});
    return l;
}

size_t vctest_etloop_watches(const struct vctest_etloop *l)
{
    return l->n_w;
}

void vctest_etloop_free(struct vctest_etloop *l)
{
    if (!l)
        return;
    (void) close(l->ep);
    free(l->w);
    free(l->t);
    free(l);
}
