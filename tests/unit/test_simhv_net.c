/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated network: addresses, listening and dialing (with retries and timeouts), bytes
 * both ways with edge-triggered readiness, backpressure, close and reset, torn-down addresses
 * and dead owners, every byte-level fault action with its exact outcome, and determinism. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>
#include <vc/stream.h>

#include <simhv/fault.h>
#include <simhv/net.h>
#include <simhv/world.h>

#define URL     "vsock://5:1024"
#define US      UINT64_C(1000)
#define LANDING (SIMHV_NET_LATENCY_NS) /* landing time of a chunk, without its bytes */

struct env {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *rc;  /* "runtime": dials */
    struct simhv_ctx *gc;  /* "guest": listens */
    struct vc_ctx *r;      /* rc's core context */
    struct vc_ctx *g;      /* gc's core context */
};

/* A listener and a connection through it. */
struct pair {
    struct vc_listener *l; /* the guest's listener */
    struct vc_stream *c;   /* the runtime's end */
    struct vc_stream *s;   /* the guest's end */
};

static void env_new(struct env *e, uint64_t seed)
{
    struct simhv_options o = {.seed = seed};

    *e = (struct env){0};
    assert_int_equal(simhv_world_new(&o, &e->w), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->rc), 0);
    assert_int_equal(simhv_ctx_new(e->w, "guest", &e->gc), 0);
    e->r = simhv_ctx_vc(e->rc);
    e->g = simhv_ctx_vc(e->gc);
}

/* Nothing may be left: no stream, listener, virtual fd, watch or allocation. */
static void env_free(struct env *e)
{
    assert_int_equal(simhv_net_stream_count(e->w), 0);
    assert_int_equal(simhv_net_listener_count(e->w), 0);
    assert_int_equal(simhv_world_vfd_count(e->w), 0);
    assert_int_equal(simhv_world_watch_count(e->w), 0);
    if (e->rc)
        assert_int_equal(simhv_ctx_live_allocs(e->rc), 0);
    assert_int_equal(simhv_ctx_live_allocs(e->gc), 0);
    simhv_ctx_free(e->rc);
    simhv_ctx_free(e->gc);
    simhv_world_free(e->w);
}

static uint64_t now(const struct env *e)
{
    return simhv_world_now(e->w);
}

static void advance(struct env *e, uint64_t ns)
{
    assert_int_equal(simhv_world_run_until(e->w, now(e) + ns), 0);
}

static void watch(struct vc_ctx *ctx, int fd, unsigned events, vc_io_fn *fn, void *data)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);

    assert_int_equal(loop->ops->watch(loop->data, fd, events, fn, data), 0);
}

static void pair_open(struct env *e, struct pair *p)
{
    *p = (struct pair){0};
    assert_int_equal(vc_listen(e->g, URL, &p->l), 0);
    assert_int_equal(vc_dial(e->r, URL, SIMHV_NS_PER_S, &p->c), 0);
    assert_int_equal(vc_listener_accept(p->l, &p->s), 0);
}

static void pair_close(struct pair *p)
{
    vc_stream_close(p->c);
    vc_stream_close(p->s);
    vc_listener_close(p->l);
    *p = (struct pair){0};
}

/* Reads everything ready into buf (cap bytes); returns the count, *ret_rc the last result. */
static size_t drain(struct vc_stream *s, char *buf, size_t cap, ssize_t *ret_rc)
{
    size_t n = 0;
    ssize_t r;

    while ((r = vc_stream_read(s, buf + n, cap - n)) > 0)
        n += (size_t) r;
    if (ret_rc)
        *ret_rc = r;
    return n;
}

static void add_rule(struct env *e, const char *point, int32_t action, int err, uint64_t delay_ns)
{
    struct simhv_fault_rule r = {
        .point = (char *) point,
        .trigger = SIMHV_TRIGGER_NTH,
        .nth = 1,
        .action = action,
        .err = err,
        .delay_ns = delay_ns,
        .context = "runtime",
    };

    assert_int_equal(simhv_world_add_fault(e->w, &r), 0);
}

/* --- addresses, listening, dialing ---------------------------------------------------------- */

static void test_normalize(void **state)
{
    char b[SIMHV_NET_ADDR_MAX];
    char *big;

    assert_int_equal(simhv_net_normalize("vsock://0005:01024", b, sizeof(b)), 0);
    assert_string_equal(b, "vsock://5:1024");
    assert_int_equal(simhv_net_normalize("VSock://-1:1024", b, sizeof(b)), 0);
    assert_string_equal(b, "vsock://4294967295:1024");
    assert_int_equal(simhv_net_normalize("hvsock:///run/a:b.sock:007", b, sizeof(b)), 0);
    assert_string_equal(b, "hvsock:///run/a:b.sock:7");
    assert_int_equal(simhv_net_normalize("Unix:///run/x.sock", b, sizeof(b)), 0);
    assert_string_equal(b, "unix:///run/x.sock");
    assert_int_equal(simhv_net_normalize("serial:///run/console.sock", b, sizeof(b)), 0);
    assert_string_equal(b, "serial:///run/console.sock");
    assert_int_equal(simhv_net_normalize("anything+else://opaque key", b, sizeof(b)), 0);
    assert_string_equal(b, "anything+else://opaque key");
    /* refused */
    assert_int_equal(simhv_net_normalize("vsock://5:0", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("vsock://5:4294967296", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("vsock://x:1", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("vsock://5", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("vsock://5:1:2", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("hvsock://:1024", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("/run/x.sock", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("://x", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("unix://", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("1unix://x", b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize(NULL, b, sizeof(b)), -EINVAL);
    assert_int_equal(simhv_net_normalize("vsock://5:1024", b, 8), -ENOBUFS);
    big = malloc(SIMHV_NET_ADDR_MAX + 1);
    assert_non_null(big);
    memset(big, 'a', SIMHV_NET_ADDR_MAX);
    memcpy(big, "unix://", 7);
    big[SIMHV_NET_ADDR_MAX] = '\0';
    assert_int_equal(simhv_net_normalize(big, b, sizeof(b)), -EINVAL);
    free(big);
}

static void test_action_names(void **state)
{
    static const char *const names[] = {"reset",   "drop",      "truncate",
                                        "corrupt", "duplicate", "drip"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int a = simhv_action_from_string(names[i]);

        assert_int_equal(a, SIMHV_ACTION_RESET + (int) i);
        assert_string_equal(simhv_action_to_string((enum simhv_action) a), names[i]);
    }
    assert_int_equal(SIMHV_ACTION_DRIP + 1, SIMHV_ACTION_LAST);
}

static void test_listen_errors(void **state)
{
    struct env e;
    struct vc_listener *l = NULL, *l2 = NULL;
    struct vc_stream *s = NULL;

    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, "nonsense", &l), -EINVAL);
    assert_int_equal(vc_dial(e.r, "vsock://5:0", SIMHV_NS_PER_S, &s), -EINVAL);
    assert_int_equal(now(&e), 0); /* not retried */
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    assert_int_equal(simhv_net_listener_count(e.w), 1);
    /* the same address in another spelling, from another context */
    assert_int_equal(vc_listen(e.r, "VSOCK://05:1024", &l2), -EADDRINUSE);
    assert_int_equal(vc_listener_accept(l, &s), -EAGAIN);
    vc_listener_close(l);
    assert_int_equal(vc_listen(e.r, "VSOCK://05:1024", &l2), 0);
    vc_listener_close(l2);
    vc_listener_close(NULL);
    env_free(&e);
}

struct acceptor {
    struct vc_listener *l; /* listens */
    struct vc_stream *s;   /* what accept gave */
    int r;                 /* accept's result */
    int calls;             /* callbacks run */
    bool done;             /* a stream was accepted */
};

static void on_accept(void *data, int fd, unsigned revents)
{
    struct acceptor *a = data;

    a->calls++;
    a->r = vc_listener_accept(a->l, &a->s);
    a->done = a->r == 0;
}

struct reader {
    struct simhv_world *w; /* the world, for the time */
    struct vc_stream *s;   /* reads it */
    size_t max;            /* bytes a callback reads at most */
    char buf[64];          /* what it read */
    size_t n;              /* bytes in buf */
    int calls;             /* callbacks run */
    ssize_t last;          /* last read's result */
    uint64_t at;           /* virtual time of the last callback */
};

static void on_readable(void *data, int fd, unsigned revents)
{
    struct reader *rd = data;

    rd->calls++;
    rd->last = vc_stream_read(rd->s, rd->buf + rd->n, rd->max);
    if (rd->last > 0)
        rd->n += (size_t) rd->last;
    rd->at = simhv_world_now(rd->w);
}

static void test_roundtrip(void **state)
{
    struct env e;
    struct acceptor a = {0};
    struct reader rd = {.max = 2};
    struct vc_stream *c = NULL;
    struct simhv_net_stats st;
    char buf[16];
    uint64_t t0;
    ssize_t rc;

    env_new(&e, 1);
    rd.w = e.w;
    assert_int_equal(vc_listen(e.g, URL, &a.l), 0);
    watch(e.g, a.l->fd, VC_IO_IN, on_accept, &a);
    /* a different spelling of the same address reaches it, after the connect latency */
    assert_int_equal(vc_dial(e.r, "vsock://0005:1024", SIMHV_NS_PER_S, &c), 0);
    assert_int_equal(now(&e), SIMHV_NET_CONNECT_NS);
    assert_string_equal(c->ops->name, "sim");
    assert_true(c->fd >= SIMHV_VFD_BASE);
    assert_int_equal(vc_ctx_run_until(e.g, &a.done, now(&e) + SIMHV_NS_PER_S), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(now(&e), SIMHV_NET_CONNECT_NS);
    assert_int_equal(simhv_net_stream_count(e.w), 2);
    /* bytes land after the latency; a reader taking 2 bytes a callback is called again while
     * bytes remain (edge-triggered, reported again by the read) */
    rd.s = a.s;
    watch(e.g, a.s->fd, VC_IO_IN, on_readable, &rd);
    t0 = now(&e);
    assert_int_equal(vc_stream_write(c, "hello", 5), 5);
    advance(&e, LANDING + 4);
    assert_int_equal(rd.n, 0);
    advance(&e, 1);
    assert_int_equal(rd.n, 5);
    assert_memory_equal(rd.buf, "hello", 5);
    assert_int_equal(rd.calls, 3);
    assert_int_equal(rd.at, t0 + LANDING + 5 * SIMHV_NET_BYTE_NS);
    /* nothing more: no more callbacks */
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(rd.calls, 3);
    /* the other way */
    assert_int_equal(vc_stream_write(a.s, "world!", 6), 6);
    assert_int_equal(vc_stream_read(c, buf, sizeof(buf)), -EAGAIN);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(drain(c, buf, sizeof(buf), &rc), 6);
    assert_int_equal(rc, -EAGAIN);
    assert_memory_equal(buf, "world!", 6);
    assert_int_equal(vc_stream_write(c, "", 0), 0);
    /* the client closes: the server reads the end of the stream, its writes fail */
    vc_stream_close(c);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(rd.last, 0);
    assert_int_equal(vc_stream_read(a.s, buf, sizeof(buf)), 0);
    assert_int_equal(vc_stream_write(a.s, "x", 1), -EPIPE);
    simhv_net_stats(e.w, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.bytes_written, 11);
    assert_int_equal(st.bytes_delivered, 11);
    assert_int_equal(st.connections, 1);
    watch(e.g, a.s->fd, 0, NULL, NULL);
    watch(e.g, a.l->fd, 0, NULL, NULL);
    vc_stream_close(a.s);
    vc_listener_close(a.l);
    simhv_net_stats(e.w, &st);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.backlog, 0);
    env_free(&e);
}

static void listen_later(void *data)
{
    struct env *e = ((void **) data)[0];
    struct vc_listener **l = ((void **) data)[1];

    assert_int_equal(vc_listen(e->g, URL, l), 0);
}

static void test_dial_retry(void **state)
{
    struct env e;
    struct vc_listener *l = NULL;
    struct vc_stream *c = NULL, *s = NULL;
    struct simhv_net_stats st;
    void *args[2] = {&e, &l};

    env_new(&e, 1);
    assert_int_equal(simhv_world_schedule(e.w, 5 * SIMHV_NS_PER_MS, listen_later, args, NULL), 0);
    /* refused at 50 us, 1.1 ms and 3.15 ms; backoffs of 1, 2, 4 ms; made at 7.2 ms */
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c), 0);
    assert_int_equal(now(&e), 7200 * US);
    simhv_net_stats(e.w, &st);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.backlog, 1);
    assert_int_equal(vc_listener_accept(l, &s), 0);
    vc_stream_close(s);
    vc_stream_close(c);
    vc_listener_close(l);
    env_free(&e);
}

static void test_dial_timeout(void **state)
{
    struct env e;
    struct vc_stream *c = NULL;

    env_new(&e, 1);
    assert_int_equal(vc_dial(e.r, URL, 10 * SIMHV_NS_PER_MS, &c), -ETIMEDOUT);
    assert_null(c);
    assert_int_equal(now(&e), 10 * SIMHV_NS_PER_MS);
    assert_non_null(strstr(vc_ctx_errmsg(e.r), "timed out connecting to 'vsock://5:1024'"));
    env_free(&e);
}

static void test_backlog(void **state)
{
    struct env e;
    const struct vc_net *net;
    struct vc_listener *l = NULL;
    struct vc_stream *c[SIMHV_NET_BACKLOG + 1] = {0}, *s = NULL;

    env_new(&e, 1);
    net = vc_ctx_net(e.r);
    assert_non_null(net);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    for (int i = 0; i < SIMHV_NET_BACKLOG; i++)
        assert_int_equal(net->ops->connect(net->data, e.r, URL, UINT64_MAX, &c[i]), 0);
    assert_int_equal(net->ops->connect(net->data, e.r, URL, UINT64_MAX, &c[SIMHV_NET_BACKLOG]),
                     -EAGAIN);
    assert_int_equal(vc_listener_accept(l, &s), 0);
    assert_int_equal(net->ops->connect(net->data, e.r, URL, UINT64_MAX, &c[SIMHV_NET_BACKLOG]), 0);
    vc_stream_close(s);
    /* closing the listener resets what still waits in its backlog */
    vc_listener_close(l);
    advance(&e, SIMHV_NS_PER_MS);
    for (int i = 0; i <= SIMHV_NET_BACKLOG; i++) {
        char b[4];

        assert_int_equal(vc_stream_read(c[i], b, sizeof(b)), i == 0 ? 0 : -ECONNRESET);
        vc_stream_close(c[i]);
    }
    env_free(&e);
}

/* --- flow ----------------------------------------------------------------------------------- */

static void on_writable(void *data, int fd, unsigned revents)
{
    (*(int *) data)++;
}

static void test_backpressure(void **state)
{
    struct env e;
    struct pair p;
    size_t total = 0, n, chunk_len = 64 << 10;
    char *chunk = malloc(chunk_len), *got = malloc(SIMHV_NET_QUEUE_BYTES + 2000);
    int writable = 0;
    ssize_t r;

    assert_non_null(chunk);
    assert_non_null(got);
    env_new(&e, 1);
    pair_open(&e, &p);
    for (size_t i = 0; i < chunk_len; i++)
        chunk[i] = (char) (i * 7 + i / 251);
    while ((r = vc_stream_write(p.c, chunk, chunk_len)) > 0)
        total += (size_t) r;
    assert_int_equal(r, -EAGAIN);
    assert_int_equal(total, SIMHV_NET_QUEUE_BYTES);
    watch(e.r, p.c->fd, VC_IO_OUT, on_writable, &writable);
    advance(&e, SIMHV_NS_PER_MS);
    /* everything landed, nobody read: still full, and the writer heard nothing new */
    assert_int_equal(vc_stream_write(p.c, chunk, 1), -EAGAIN);
    writable = 0;
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(writable, 0);
    /* the reader takes 1000 bytes: the writer is told, and may write exactly 1000 more */
    assert_int_equal(vc_stream_read(p.s, got, 1000), 1000);
    advance(&e, 1);
    assert_int_equal(writable, 1);
    assert_int_equal(vc_stream_write(p.c, chunk, chunk_len), 1000);
    assert_int_equal(vc_stream_write(p.c, chunk, 1), -EAGAIN);
    advance(&e, SIMHV_NS_PER_MS);
    n = 1000 + drain(p.s, got + 1000, SIMHV_NET_QUEUE_BYTES + 1000, &r);
    assert_int_equal(r, -EAGAIN);
    assert_int_equal(n, SIMHV_NET_QUEUE_BYTES + 1000);
    /* every byte in order: four whole chunks, then the first 1000 bytes again */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], chunk[i % chunk_len]);
    watch(e.r, p.c->fd, 0, NULL, NULL);
    pair_close(&p);
    env_free(&e);
    free(chunk);
    free(got);
}

static void test_close_before_accept(void **state)
{
    struct env e;
    struct vc_listener *l = NULL;
    struct vc_stream *c = NULL, *s = NULL;
    char b[8];

    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c), 0);
    assert_int_equal(vc_stream_write(c, "xyz", 3), 3);
    vc_stream_close(c);
    advance(&e, SIMHV_NS_PER_MS);
    /* what was sent before the close is still there for the late accept, then the end */
    assert_int_equal(vc_listener_accept(l, &s), 0);
    assert_int_equal(vc_stream_read(s, b, sizeof(b)), 3);
    assert_memory_equal(b, "xyz", 3);
    assert_int_equal(vc_stream_read(s, b, sizeof(b)), 0);
    assert_int_equal(vc_stream_write(s, "a", 1), -EPIPE);
    vc_stream_close(s);
    vc_listener_close(l);
    env_free(&e);
}

struct errwatch {
    unsigned revents; /* what the last callback got */
    int calls;        /* callbacks run */
};

static void on_any(void *data, int fd, unsigned revents)
{
    struct errwatch *w = data;

    w->revents = revents;
    w->calls++;
}

static void test_reset_address(void **state)
{
    struct env e;
    struct pair p;
    struct vc_stream *c2 = NULL, *s = NULL;
    struct vc_listener *l2 = NULL;
    struct errwatch ew = {0};
    char b[8];

    env_new(&e, 1);
    pair_open(&e, &p);
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c2), 0); /* waits in the backlog */
    assert_int_equal(vc_stream_write(p.s, "lost", 4), 4);
    advance(&e, SIMHV_NS_PER_MS);
    watch(e.r, p.c->fd, VC_IO_IN, on_any, &ew);
    assert_int_equal(simhv_net_reset_vsock_cid(e.w, 6), 0);
    /* the listener, the connection in its backlog and the accepted one */
    assert_int_equal(simhv_net_reset_vsock_cid(e.w, 5), 3);
    assert_int_equal(simhv_net_reset_address(e.w, URL), 0); /* already torn down */
    advance(&e, 1);
    assert_int_equal(ew.calls, 1);
    assert_int_equal(ew.revents, VC_IO_IN | VC_IO_ERR);
    assert_int_equal(vc_stream_read(p.c, b, sizeof(b)), -ECONNRESET);
    assert_int_equal(vc_stream_write(p.c, "x", 1), -ECONNRESET);
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -ECONNRESET);
    assert_int_equal(vc_stream_write(p.s, "x", 1), -ECONNRESET);
    assert_int_equal(vc_stream_read(c2, b, sizeof(b)), -ECONNRESET);
    assert_int_equal(vc_listener_accept(p.l, &s), -ECONNABORTED);
    /* nobody listens there any more; a new listener may take the address */
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_MS, &s), -ETIMEDOUT);
    assert_int_equal(vc_listen(e.g, URL, &l2), 0);
    assert_int_equal(simhv_net_reset_address(e.w, "vsock://*"), 1);
    watch(e.r, p.c->fd, 0, NULL, NULL);
    vc_stream_close(c2);
    vc_listener_close(l2);
    pair_close(&p);
    env_free(&e);
}

static void test_owner_gone(void **state)
{
    struct env e;
    struct pair p;
    struct vc_listener *rl = NULL;
    char b[8];

    env_new(&e, 1);
    pair_open(&e, &p);
    assert_int_equal(vc_listen(e.r, "unix:///run/runtime.sock", &rl), 0);
    assert_int_equal(vc_stream_write(p.c, "ab", 2), 2);
    assert_int_equal(simhv_ctx_live_allocs(e.rc), 2);
    /* the runtime's process goes with its stream and listener: the peer sees a reset */
    simhv_ctx_free(e.rc);
    e.rc = NULL;
    assert_int_equal(simhv_net_stream_count(e.w), 1);
    assert_int_equal(simhv_net_listener_count(e.w), 1);
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -ECONNRESET);
    vc_stream_close(p.s);
    vc_listener_close(p.l);
    env_free(&e);
}

static void test_crashed_owner(void **state)
{
    struct env e;
    struct pair p;
    char b[8];

    env_new(&e, 1);
    pair_open(&e, &p);
    add_rule(&e, "net.send", SIMHV_ACTION_RUNTIME_CRASH, 0, 0);
    assert_int_equal(vc_stream_write(p.c, "ab", 2), -ECANCELED);
    assert_true(simhv_ctx_crashed(e.rc));
    assert_int_equal(vc_stream_read(p.c, b, sizeof(b)), -ECANCELED);
    /* the dead process's close is a reset */
    vc_stream_close(p.c);
    p.c = NULL;
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -ECONNRESET);
    pair_close(&p);
    env_free(&e);
}

/* --- faults --------------------------------------------------------------------------------- */

/* A pair with a "net.send" rule on the runtime's first chunk. */
static void fault_env(struct env *e, struct pair *p, int32_t action, int err, uint64_t delay_ns)
{
    env_new(e, 1);
    pair_open(e, p);
    add_rule(e, "net.send", action, err, delay_ns);
}

static void test_fault_errno(void **state)
{
    struct env e;
    struct pair p;
    char b[8];

    fault_env(&e, &p, SIMHV_ACTION_ERRNO, -EIO, 0);
    assert_int_equal(vc_stream_write(p.c, "bad", 3), -EIO);
    assert_int_equal(vc_stream_write(p.c, "ok", 2), 2);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(drain(p.s, b, sizeof(b), NULL), 2);
    assert_memory_equal(b, "ok", 2);
    assert_int_equal(simhv_world_fault(e.w, 0)->fired, 1);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_reset(void **state)
{
    struct env e;
    struct pair p;
    struct simhv_net_stats st;
    char b[8];

    fault_env(&e, &p, SIMHV_ACTION_RESET, 0, 0);
    assert_int_equal(vc_stream_write(p.s, "in", 2), 2); /* in flight to the runtime: lost */
    assert_int_equal(vc_stream_write(p.c, "abc", 3), -ECONNRESET);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(vc_stream_read(p.c, b, sizeof(b)), -ECONNRESET);
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -ECONNRESET);
    assert_int_equal(vc_stream_write(p.s, "x", 1), -ECONNRESET);
    simhv_net_stats(e.w, &st);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.bytes_delivered, 0);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_drop(void **state)
{
    struct env e;
    struct pair p;
    char b[16];

    fault_env(&e, &p, SIMHV_ACTION_DROP, 0, 0);
    assert_int_equal(vc_stream_write(p.c, "lost", 4), 4);
    assert_int_equal(vc_stream_write(p.c, "kept", 4), 4);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(drain(p.s, b, sizeof(b), NULL), 4);
    assert_memory_equal(b, "kept", 4);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_truncate(void **state)
{
    struct env e;
    struct pair p;
    char b[16];
    ssize_t rc;

    fault_env(&e, &p, SIMHV_ACTION_TRUNCATE, 0, 0);
    assert_int_equal(vc_stream_write(p.s, "reply", 5), 5); /* on its way to the runtime */
    assert_int_equal(vc_stream_write(p.c, "0123456789", 10), 10);
    advance(&e, SIMHV_NS_PER_MS);
    /* half the chunk, then the end of the stream */
    assert_int_equal(drain(p.s, b, sizeof(b), &rc), 5);
    assert_int_equal(rc, 0);
    assert_memory_equal(b, "01234", 5);
    assert_int_equal(vc_stream_write(p.s, "x", 1), -EPIPE);
    /* the writer: what was on its way still lands, then the end; its writes fail */
    assert_int_equal(vc_stream_write(p.c, "more", 4), -EPIPE);
    assert_int_equal(drain(p.c, b, sizeof(b), &rc), 5);
    assert_int_equal(rc, 0);
    assert_memory_equal(b, "reply", 5);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_corrupt(void **state)
{
    struct env e;
    struct pair p;
    char sent[64], got[64];
    unsigned flipped = 0;

    fault_env(&e, &p, SIMHV_ACTION_CORRUPT, 0, 0);
    for (size_t i = 0; i < sizeof(sent); i++)
        sent[i] = (char) i;
    assert_int_equal(vc_stream_write(p.c, sent, sizeof(sent)), sizeof(sent));
    assert_int_equal(vc_stream_write(p.c, sent, sizeof(sent)), sizeof(sent));
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(vc_stream_read(p.s, got, sizeof(got)), sizeof(got));
    /* exactly one bit of the first chunk flipped */
    for (size_t i = 0; i < sizeof(sent); i++)
        flipped += (unsigned) __builtin_popcount((unsigned char) (sent[i] ^ got[i]));
    assert_int_equal(flipped, 1);
    /* the second chunk is intact */
    assert_int_equal(vc_stream_read(p.s, got, sizeof(got)), sizeof(got));
    assert_memory_equal(got, sent, sizeof(sent));
    pair_close(&p);
    env_free(&e);
}

static void test_fault_duplicate(void **state)
{
    struct env e;
    struct pair p;
    struct simhv_net_stats st;
    char b[16];

    fault_env(&e, &p, SIMHV_ACTION_DUPLICATE, 0, 0);
    assert_int_equal(vc_stream_write(p.c, "ab", 2), 2);
    assert_int_equal(vc_stream_write(p.c, "c", 1), 1);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(drain(p.s, b, sizeof(b), NULL), 5);
    assert_memory_equal(b, "ababc", 5);
    simhv_net_stats(e.w, &st);
    assert_int_equal(st.bytes_written, 3);
    assert_int_equal(st.bytes_delivered, 5);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_drip(void **state)
{
    struct env e;
    struct pair p;
    struct reader rd = {.max = sizeof(rd.buf)};
    uint64_t t0, first;

    fault_env(&e, &p, SIMHV_ACTION_DRIP, 0, SIMHV_NS_PER_MS);
    rd.w = e.w;
    rd.s = p.s;
    watch(e.g, p.s->fd, VC_IO_IN, on_readable, &rd);
    t0 = now(&e);
    first = t0 + LANDING + 6 * SIMHV_NET_BYTE_NS;
    assert_int_equal(vc_stream_write(p.c, "abcdef", 6), 6);
    assert_int_equal(vc_stream_write(p.c, "g", 1), 1); /* waits behind the drip */
    /* one byte at first, then one every 1 ms / 5 */
    assert_int_equal(simhv_world_run_until(e.w, first), 0);
    assert_int_equal(rd.n, 1);
    assert_int_equal(simhv_world_run_until(e.w, first + 200 * US), 0);
    assert_int_equal(rd.n, 2);
    assert_int_equal(simhv_world_run_until(e.w, first + 800 * US - 1), 0);
    assert_int_equal(rd.n, 4);
    assert_int_equal(simhv_world_run_until(e.w, first + 1000 * US), 0);
    assert_int_equal(rd.n, 7);
    assert_memory_equal(rd.buf, "abcdefg", 7);
    assert_int_equal(rd.calls, 6); /* the last byte of the drip and "g" land at one time */
    watch(e.g, p.s->fd, 0, NULL, NULL);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_delay(void **state)
{
    struct env e;
    struct pair p;
    char b[8];
    uint64_t t0;

    fault_env(&e, &p, SIMHV_ACTION_DELAY, 0, 5 * SIMHV_NS_PER_MS);
    t0 = now(&e);
    assert_int_equal(vc_stream_write(p.c, "a", 1), 1);
    assert_int_equal(now(&e), t0); /* the write itself does not wait */
    assert_int_equal(vc_stream_write(p.c, "b", 1), 1);
    /* "b" does not overtake the delayed "a" */
    assert_int_equal(simhv_world_run_until(e.w, t0 + 5 * SIMHV_NS_PER_MS + LANDING), 0);
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -EAGAIN);
    assert_int_equal(simhv_world_run_until(e.w, t0 + 5 * SIMHV_NS_PER_MS + LANDING + 1), 0);
    assert_int_equal(drain(p.s, b, sizeof(b), NULL), 2);
    assert_memory_equal(b, "ab", 2);
    pair_close(&p);
    env_free(&e);
}

static void test_fault_hang(void **state)
{
    struct env e;
    struct pair p;
    char b[8];

    fault_env(&e, &p, SIMHV_ACTION_HANG, 0, 0);
    assert_int_equal(vc_stream_write(p.c, "x", 1), 1);
    assert_int_equal(vc_stream_write(p.c, "y", 1), 1);
    advance(&e, 10 * SIMHV_NS_PER_S);
    assert_int_equal(vc_stream_read(p.s, b, sizeof(b)), -EAGAIN);
    /* the connection stays open: the other way still works */
    assert_int_equal(vc_stream_write(p.s, "z", 1), 1);
    advance(&e, SIMHV_NS_PER_MS);
    assert_int_equal(vc_stream_read(p.c, b, sizeof(b)), 1);
    assert_int_equal(b[0], 'z');
    assert_int_equal(simhv_world_pending(e.w), 0); /* nothing will ever land */
    pair_close(&p);
    env_free(&e);
}

static void test_fault_connect(void **state)
{
    struct env e;
    struct vc_listener *l = NULL;
    struct vc_stream *c = NULL, *s = NULL;

    /* an errno that is not worth retrying fails the dial at once */
    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    add_rule(&e, "net.connect", SIMHV_ACTION_ERRNO, -EACCES, 0);
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c), -EACCES);
    assert_int_equal(now(&e), 0);
    vc_listener_close(l);
    env_free(&e);
    /* a hung attempt ends at the dial's deadline */
    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    add_rule(&e, "net.connect", SIMHV_ACTION_HANG, 0, 0);
    assert_int_equal(vc_dial(e.r, URL, 100 * SIMHV_NS_PER_MS, &c), -ETIMEDOUT);
    assert_int_equal(now(&e), 100 * SIMHV_NS_PER_MS);
    vc_listener_close(l);
    env_free(&e);
    /* a delayed attempt takes longer */
    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    add_rule(&e, "net.connect", SIMHV_ACTION_DELAY, 0, SIMHV_NS_PER_MS);
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c), 0);
    assert_int_equal(now(&e), SIMHV_NS_PER_MS + SIMHV_NET_CONNECT_NS);
    vc_stream_close(c);
    vc_listener_close(l);
    env_free(&e);
    /* a reset attempt is retried after the first backoff */
    env_new(&e, 1);
    assert_int_equal(vc_listen(e.g, URL, &l), 0);
    add_rule(&e, "net.connect", SIMHV_ACTION_RESET, 0, 0);
    assert_int_equal(vc_dial(e.r, URL, SIMHV_NS_PER_S, &c), 0);
    assert_int_equal(now(&e), SIMHV_NS_PER_MS + SIMHV_NET_CONNECT_NS);
    assert_int_equal(vc_listener_accept(l, &s), 0);
    vc_stream_close(s);
    vc_stream_close(c);
    vc_listener_close(l);
    env_free(&e);
}

/* --- determinism ---------------------------------------------------------------------------- */

/* Twenty chunks through a network that corrupts half of them: the trace hash, and in *ret_sum
 * a checksum of the bytes received. */
static uint64_t det_run(uint64_t seed, uint64_t *ret_sum)
{
    struct simhv_fault_rule rule = {
        .point = "net.send",
        .trigger = SIMHV_TRIGGER_PROB,
        .prob_ppm = 500000,
        .action = SIMHV_ACTION_CORRUPT,
    };
    struct env e;
    struct pair p;
    char sent[32], got[sizeof(sent) * 2];
    uint64_t sum = 0, hash;

    env_new(&e, seed);
    assert_int_equal(simhv_world_add_fault(e.w, &rule), 0);
    pair_open(&e, &p);
    for (size_t i = 0; i < sizeof(sent); i++)
        sent[i] = (char) (i * 13);
    for (int i = 0; i < 20; i++) {
        size_t n;

        assert_int_equal(vc_stream_write(p.c, sent, sizeof(sent)), sizeof(sent));
        advance(&e, 100 * US);
        n = drain(p.s, got, sizeof(got), NULL);
        assert_int_equal(n, sizeof(sent));
        for (size_t k = 0; k < n; k++)
            sum = sum * 31 + (unsigned char) got[k];
    }
    pair_close(&p);
    hash = simhv_world_trace_hash(e.w);
    assert_true(simhv_world_fault(e.w, 0)->fired > 0);
    env_free(&e);
    *ret_sum = sum;
    return hash;
}

static void test_determinism(void **state)
{
    uint64_t s1, s1b, s2;
    uint64_t h1 = det_run(1, &s1), h1b = det_run(1, &s1b), h2 = det_run(2, &s2);

    assert_int_equal(h1, h1b);
    assert_int_equal(s1, s1b);
    assert_int_not_equal(h1, h2);
    assert_int_not_equal(s1, s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_dial_retry),
        cmocka_unit_test(test_dial_timeout),
        cmocka_unit_test(test_backlog),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_close_before_accept),
        cmocka_unit_test(test_reset_address),
        cmocka_unit_test(test_owner_gone),
        cmocka_unit_test(test_crashed_owner),
        cmocka_unit_test(test_fault_errno),
        cmocka_unit_test(test_fault_reset),
        cmocka_unit_test(test_fault_drop),
        cmocka_unit_test(test_fault_truncate),
        cmocka_unit_test(test_fault_corrupt),
        cmocka_unit_test(test_fault_duplicate),
        cmocka_unit_test(test_fault_drip),
        cmocka_unit_test(test_fault_delay),
        cmocka_unit_test(test_fault_hang),
        cmocka_unit_test(test_fault_connect),
        cmocka_unit_test(test_determinism),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
