/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated world: options, the event queue and its tie-break, deadlines and budgets, the
 * generator and trace determinism, virtual fds, and contexts (clock, counting allocator, loop). */
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

#include <simhv/world.h>

struct order {
    int seen[16]; /* tags in the order they ran */
    size_t n;     /* number of seen */
};

struct tagged {
    struct order *o; /* where to record */
    int tag;         /* what to record */
};

static void record(void *data)
{
    struct tagged *t = data;

    t->o->seen[t->o->n++] = t->tag;
}

static struct simhv_world *world(uint64_t seed)
{
    struct simhv_options o = {.seed = seed};
    struct simhv_world *w = NULL;

    assert_int_equal(simhv_world_new(&o, &w), 0);
    return w;
}

static void test_options(void **state)
{
    struct simhv_options o = {.boot_min_ns = 2 * SIMHV_NS_PER_S, .boot_max_ns = SIMHV_NS_PER_S};
    struct simhv_world *w = NULL;
    const struct simhv_options *in;

    assert_int_equal(simhv_world_new(&o, &w), -EINVAL);
    assert_null(w);
    assert_int_equal(simhv_world_new(NULL, &w), 0);
    in = simhv_world_options(w);
    assert_int_equal(in->boot_min_ns, 300 * SIMHV_NS_PER_MS);
    assert_int_equal(in->boot_max_ns, 900 * SIMHV_NS_PER_MS);
    assert_int_equal(in->hv_op_ns, SIMHV_NS_PER_MS);
    assert_int_equal(in->store_op_ns, 50000);
    assert_int_equal(in->disk_capacity, 64u << 20);
    assert_int_equal(in->max_virtual_ns, 3600 * SIMHV_NS_PER_S);
    assert_int_equal(in->max_events, 10000000);
    assert_int_equal(simhv_world_now(w), 0);
    simhv_world_free(w);
    /* a minimum above the default maximum lifts the maximum */
    o = (struct simhv_options){.boot_min_ns = 2 * SIMHV_NS_PER_S};
    assert_int_equal(simhv_world_new(&o, &w), 0);
    assert_int_equal(simhv_world_options(w)->boot_max_ns, 2 * SIMHV_NS_PER_S);
    simhv_world_free(w);
    simhv_world_free(NULL);
}

static void test_event_order(void **state)
{
    struct simhv_world *w = world(1);
    struct order o = {0};
    struct tagged t[5] = {{&o, 1}, {&o, 2}, {&o, 3}, {&o, 4}, {&o, 5}};
    uint64_t id = 0;

    assert_int_equal(simhv_world_schedule(w, 300, record, &t[0], NULL), 0);
    assert_int_equal(simhv_world_schedule(w, 100, record, &t[1], NULL), 0);
    assert_int_equal(simhv_world_schedule(w, 300, record, &t[2], NULL), 0); /* same time: after 1 */
    assert_int_equal(simhv_world_schedule(w, 200, record, &t[3], &id), 0);
    assert_int_equal(simhv_world_schedule(w, 100, record, &t[4], NULL), 0); /* after 2 */
    assert_int_equal(simhv_world_pending(w), 5);
    simhv_world_cancel(w, id);
    simhv_world_cancel(w, id);   /* twice: ignored */
    simhv_world_cancel(w, 9999); /* unknown: ignored */
    assert_int_equal(simhv_world_pending(w), 4);
    assert_int_equal(simhv_world_step(w, UINT64_MAX), 0);
    assert_int_equal(simhv_world_now(w), 100);
    assert_int_equal(simhv_world_run_until(w, 1000), 0);
    assert_int_equal(simhv_world_now(w), 1000);
    assert_int_equal(o.n, 4);
    assert_int_equal(o.seen[0], 2);
    assert_int_equal(o.seen[1], 5);
    assert_int_equal(o.seen[2], 1);
    assert_int_equal(o.seen[3], 3);
    assert_int_equal(simhv_world_event_count(w), 4);
    /* an event in the past runs now */
    assert_int_equal(simhv_world_schedule(w, 5, record, &t[3], NULL), 0);
    assert_int_equal(simhv_world_step(w, 1000), 0);
    assert_int_equal(simhv_world_now(w), 1000);
    assert_int_equal(o.seen[4], 4);
    simhv_world_free(w);
}

static void test_deadlines(void **state)
{
    struct simhv_world *w = world(1);
    struct order o = {0};
    struct tagged t = {&o, 7};

    /* nothing at all and no deadline: a wait that would never end */
    assert_int_equal(simhv_world_step(w, UINT64_MAX), -EDEADLK);
    assert_int_equal(simhv_world_run_until(w, UINT64_MAX), -EDEADLK);
    assert_int_equal(simhv_world_step(w, 500), -ETIMEDOUT);
    assert_int_equal(simhv_world_now(w), 500);
    /* the clock never goes back */
    assert_int_equal(simhv_world_step(w, 100), -ETIMEDOUT);
    assert_int_equal(simhv_world_now(w), 500);
    assert_int_equal(simhv_world_schedule(w, 2000, record, &t, NULL), 0);
    assert_int_equal(simhv_world_step(w, 1999), -ETIMEDOUT);
    assert_int_equal(simhv_world_now(w), 1999);
    assert_int_equal(o.n, 0);
    /* events at the deadline are included */
    assert_int_equal(simhv_world_run_until(w, 2000), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(simhv_world_now(w), 2000);
    assert_null(simhv_world_stop_reason(w));
    simhv_world_free(w);
}

static void again(void *data)
{
    struct simhv_world *w = data;

    assert_int_equal(simhv_world_schedule(w, simhv_world_now(w) + 1, again, w, NULL), 0);
}

static void test_budgets(void **state)
{
    struct simhv_options o = {.max_events = 10};
    struct simhv_world *w = NULL;

    assert_int_equal(simhv_world_new(&o, &w), 0);
    assert_int_equal(simhv_world_schedule(w, 0, again, w, NULL), 0);
    assert_int_equal(simhv_world_run_until(w, UINT64_MAX), -E2BIG);
    assert_int_equal(simhv_world_event_count(w), 10);
    assert_non_null(strstr(simhv_world_stop_reason(w), "event budget of 10 events"));
    /* stopped for good */
    assert_int_equal(simhv_world_step(w, 1), -E2BIG);
    simhv_world_free(w);

    o = (struct simhv_options){.max_virtual_ns = 5 * SIMHV_NS_PER_S};
    assert_int_equal(simhv_world_new(&o, &w), 0);
    assert_int_equal(simhv_world_run_until(w, 4 * SIMHV_NS_PER_S), 0);
    assert_int_equal(simhv_world_run_until(w, 6 * SIMHV_NS_PER_S), -E2BIG);
    assert_int_equal(simhv_world_now(w), 5 * SIMHV_NS_PER_S);
    assert_non_null(strstr(simhv_world_stop_reason(w), "virtual time budget of 5000 ms"));
    simhv_world_free(w);

    /* an event past the time budget with no deadline: the run is over, not deadlocked */
    assert_int_equal(simhv_world_new(&o, &w), 0);
    assert_int_equal(simhv_world_schedule(w, 7 * SIMHV_NS_PER_S, again, w, NULL), 0);
    assert_int_equal(simhv_world_step(w, UINT64_MAX), -E2BIG);
    simhv_world_free(w);

    o = (struct simhv_options){.max_trace_records = 3};
    assert_int_equal(simhv_world_new(&o, &w), 0);
    for (int i = 0; i < 5; i++)
        simhv_world_trace(w, "test", "rec", "%d", i);
    assert_int_equal(simhv_world_trace_count(w), 4); /* three and the stop record */
    assert_int_equal(simhv_world_step(w, 10), -E2BIG);
    assert_non_null(strstr(simhv_world_stop_reason(w), "trace budget of 3 records"));
    simhv_world_free(w);
}

struct sink {
    char text[4096];   /* records, one a line */
    uint64_t last_seq; /* last sequence number seen */
};

static void sink_fn(void *data, uint64_t seq, uint64_t ts_ns, const char *category,
                    const char *name, const char *detail)
{
    struct sink *s = data;
    size_t len = strlen(s->text);

    assert_int_equal(seq, s->last_seq + 1);
    s->last_seq = seq;
    (void) snprintf(s->text + len, sizeof(s->text) - len, "%llu %s %s %s\n",
                    (unsigned long long) ts_ns, category, name, detail);
}

/* A little run whose trace depends on the generator. */
static uint64_t run_seeded(uint64_t seed, struct sink *s, uint64_t *ret_first)
{
    struct simhv_world *w = world(seed);
    uint64_t h;

    if (s)
        simhv_world_set_trace(w, sink_fn, s);
    *ret_first = simhv_world_random(w);
    for (int i = 0; i < 5; i++) {
        uint64_t v = simhv_world_uniform(w, 10, 20);

        assert_true(v >= 10 && v <= 20);
        assert_int_equal(simhv_world_run_until(w, simhv_world_now(w) + v), 0);
        simhv_world_trace(w, "test", "draw", "value %llu", (unsigned long long) v);
    }
    h = simhv_world_trace_hash(w);
    assert_int_equal(simhv_world_trace_count(w), 5);
    simhv_world_free(w);
    return h;
}

static void test_determinism(void **state)
{
    struct sink s1 = {0}, s2 = {0};
    uint64_t f1, f2, f3, h1, h2, h3;

    h1 = run_seeded(42, &s1, &f1);
    h2 = run_seeded(42, &s2, &f2); /* with or without a sink, the same hash */
    assert_int_equal(h1, h2);
    assert_int_equal(f1, f2);
    assert_string_equal(s1.text, s2.text);
    assert_int_equal(run_seeded(42, NULL, &f2), h1);
    h3 = run_seeded(43, NULL, &f3);
    assert_int_not_equal(f1, f3);
    assert_int_not_equal(h1, h3);
    assert_non_null(strstr(s1.text, "test draw value "));
    /* the generator is core's xoshiro256** seeded with the world's seed */
    {
        struct vc_xoshiro x;

        vc_xoshiro_seed(&x, 42);
        assert_int_equal(vc_xoshiro_next(&x), f1);
    }
    /* uniform on an empty range takes no randomness */
    {
        struct simhv_world *a = world(5), *b = world(5);

        assert_int_equal(simhv_world_uniform(a, 9, 3), 9);
        assert_int_equal(simhv_world_uniform(a, 4, 4), 4);
        assert_int_equal(simhv_world_random(a), simhv_world_random(b));
        simhv_world_free(a);
        simhv_world_free(b);
    }
}

struct io {
    int fd;           /* fd seen */
    unsigned revents; /* events seen */
    int calls;        /* callbacks */
};

static void io_fn(void *data, int fd, unsigned revents)
{
    struct io *io = data;

    io->fd = fd;
    io->revents = revents;
    io->calls++;
}

static void test_vfd(void **state)
{
    struct simhv_world *w = world(1);
    struct simhv_ctx *c = NULL;
    const struct vc_loop *loop;
    struct io io = {0};
    int fd = -1, fd2 = -1;

    assert_int_equal(simhv_ctx_new(w, "runtime", &c), 0);
    loop = vc_ctx_loop(simhv_ctx_vc(c));
    assert_non_null(loop);
    assert_int_equal(simhv_world_vfd_new(w, &fd), 0);
    assert_int_equal(simhv_world_vfd_new(w, &fd2), 0);
    assert_true(fd >= SIMHV_VFD_BASE);
    assert_int_not_equal(fd, fd2);
    assert_int_equal(simhv_world_vfd_count(w), 2);
    /* a real fd cannot be watched in the simulation */
    assert_int_equal(loop->ops->watch(loop->data, 0, VC_IO_IN, io_fn, &io), -EBADF);
    assert_int_equal(loop->ops->watch(loop->data, fd, VC_IO_IN, io_fn, &io), 0);
    assert_int_equal(simhv_world_watch_count(w), 1);
    /* output readiness is not asked for: nothing runs */
    simhv_world_vfd_ready(w, fd, VC_IO_OUT);
    assert_int_equal(simhv_world_pending(w), 0);
    simhv_world_vfd_ready(w, fd, VC_IO_IN);
    assert_int_equal(simhv_world_pending(w), 1);
    assert_int_equal(loop->ops->run_once(loop->data, 100), 0);
    assert_int_equal(io.calls, 1);
    assert_int_equal(io.fd, fd);
    assert_int_equal(io.revents, VC_IO_IN);
    /* delivered once */
    assert_int_equal(loop->ops->run_once(loop->data, 100), -ETIMEDOUT);
    assert_int_equal(io.calls, 1);
    /* asking for output now delivers the readiness that waited */
    assert_int_equal(loop->ops->watch(loop->data, fd, VC_IO_IN | VC_IO_OUT, io_fn, &io), 0);
    assert_int_equal(simhv_world_watch_count(w), 1);
    assert_int_equal(loop->ops->run_once(loop->data, 200), 0);
    assert_int_equal(io.revents, VC_IO_OUT);
    /* errors are reported though never asked for */
    simhv_world_vfd_ready(w, fd, VC_IO_ERR);
    assert_int_equal(loop->ops->run_once(loop->data, 300), 0);
    assert_int_equal(io.revents, VC_IO_ERR);
    assert_int_equal(loop->ops->watch(loop->data, fd, 0, NULL, NULL), 0);
    assert_int_equal(simhv_world_watch_count(w), 0);
    simhv_world_vfd_ready(w, fd, VC_IO_IN);
    assert_int_equal(simhv_world_pending(w), 0);
    /* closing a watched fd drops its watcher; slots are reused */
    assert_int_equal(loop->ops->watch(loop->data, fd2, VC_IO_IN, io_fn, &io), 0);
    simhv_world_vfd_close(w, fd2);
    assert_int_equal(simhv_world_watch_count(w), 0);
    assert_int_equal(simhv_world_vfd_new(w, &fd2), 0);
    assert_int_equal(fd2, fd + 1);
    simhv_world_vfd_close(w, fd2);
    simhv_world_vfd_close(w, fd);
    simhv_world_vfd_close(w, fd); /* twice: ignored */
    assert_int_equal(simhv_world_vfd_count(w), 0);
    simhv_ctx_free(c);
    simhv_world_free(w);
}

static void count_timer(void *data)
{
    (*(int *) data)++;
}

static void test_ctx_clock_loop(void **state)
{
    struct simhv_world *w = world(9);
    struct simhv_ctx *c = NULL;
    struct vc_ctx *ctx;
    const struct vc_loop *loop;
    uint64_t id = 0, id2 = 0;
    int fired = 0;
    bool done = false;

    assert_int_equal(simhv_ctx_new(w, "runtime", &c), 0);
    ctx = simhv_ctx_vc(c);
    assert_string_equal(simhv_ctx_name(c), "runtime");
    assert_false(simhv_ctx_crashed(c));
    assert_int_equal(vc_now(ctx), 0);
    assert_int_equal(vc_wall_now(ctx), SIMHV_WALL_EPOCH_NS);
    assert_int_equal(vc_ctx_sleep_until(ctx, 5 * SIMHV_NS_PER_MS), 0);
    assert_int_equal(vc_now(ctx), 5 * SIMHV_NS_PER_MS);
    assert_int_equal(simhv_world_now(w), 5 * SIMHV_NS_PER_MS);
    assert_int_equal(vc_wall_now(ctx), SIMHV_WALL_EPOCH_NS + 5 * (int64_t) SIMHV_NS_PER_MS);
    /* the context's generator is the world's */
    {
        struct simhv_world *twin = world(9);

        assert_int_equal(vc_random(ctx), simhv_world_random(twin));
        assert_int_equal(simhv_world_random(w), simhv_world_random(twin));
        simhv_world_free(twin);
    }
    loop = vc_ctx_loop(ctx);
    assert_int_equal(
        loop->ops->timer_add(loop->data, 10 * SIMHV_NS_PER_MS, count_timer, &fired, &id), 0);
    assert_int_equal(
        loop->ops->timer_add(loop->data, 20 * SIMHV_NS_PER_MS, count_timer, &fired, &id2), 0);
    loop->ops->timer_cancel(loop->data, id2);
    assert_int_equal(vc_ctx_run_until(ctx, &done, 30 * SIMHV_NS_PER_MS), -ETIMEDOUT);
    assert_int_equal(fired, 1);
    assert_int_equal(vc_now(ctx), 30 * SIMHV_NS_PER_MS);
    /* a context's timers go with it */
    assert_int_equal(loop->ops->timer_add(loop->data, SIMHV_NS_PER_S, count_timer, &fired, &id), 0);
    assert_int_equal(simhv_world_pending(w), 1);
    simhv_ctx_free(c);
    assert_int_equal(simhv_world_pending(w), 0);
    simhv_world_free(w);
}

static void test_ctx_alloc(void **state)
{
    struct simhv_world *w = world(1);
    struct simhv_ctx *c = NULL, *c2 = NULL;
    struct vc_ctx *ctx;
    char *p, *q;

    assert_int_equal(simhv_ctx_new(w, "runtime", &c), 0);
    assert_int_equal(simhv_ctx_new(w, "guest", &c2), 0);
    ctx = simhv_ctx_vc(c);
    /* the context's own bookkeeping is the baseline */
    assert_int_equal(simhv_ctx_live_allocs(c), 0);
    assert_int_equal(simhv_ctx_live_bytes(c), 0);
    p = vc_malloc(ctx, 100);
    q = vc_strdup(ctx, "hello");
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(simhv_ctx_live_allocs(c), 2);
    assert_int_equal(simhv_ctx_live_bytes(c), 106);
    assert_int_equal(simhv_ctx_live_allocs(c2), 0); /* counted per context */
    p = vc_realloc(ctx, p, 1000);
    assert_non_null(p);
    memset(p, 1, 1000);
    assert_int_equal(simhv_ctx_live_allocs(c), 2);
    assert_int_equal(simhv_ctx_live_bytes(c), 1006);
    vc_free(ctx, p);
    vc_free(ctx, q);
    vc_free(ctx, NULL);
    assert_int_equal(simhv_ctx_live_allocs(c), 0);
    assert_int_equal(simhv_ctx_live_bytes(c), 0);
    /* realloc of NULL is malloc */
    p = vc_realloc(ctx, NULL, 8);
    assert_int_equal(simhv_ctx_live_allocs(c), 1);
    vc_free(ctx, p);
    simhv_ctx_free(c2);
    simhv_ctx_free(c);
    simhv_ctx_free(NULL);
    simhv_world_free(w);
}

static void test_ctx_trace(void **state)
{
    struct simhv_world *w = world(1);
    struct simhv_ctx *c = NULL;
    struct sink s = {0};

    simhv_world_set_trace(w, sink_fn, &s);
    assert_int_equal(simhv_ctx_new(w, "runtime", &c), 0);
    assert_int_equal(simhv_world_run_until(w, 7), 0);
    vc_trace(simhv_ctx_vc(c), "api", "sandbox_create", "id %s", "sb1");
    assert_string_equal(s.text, "7 api sandbox_create [runtime] id sb1\n");
    assert_int_equal(simhv_world_trace_count(w), 1);
    simhv_ctx_free(c);
    simhv_world_free(w);
}

/* A world without a trace: nothing reaches the sink, no record counts or hashes, and no trace
 * budget stops the run. */
static void test_no_trace(void **state)
{
    struct simhv_options o = {.seed = 1, .max_trace_records = 1, .no_trace = true};
    struct simhv_world *w = NULL;
    struct simhv_ctx *c = NULL;
    struct sink s = {0};
    uint64_t h;

    assert_int_equal(simhv_world_new(&o, &w), 0);
    simhv_world_set_trace(w, sink_fn, &s);
    h = simhv_world_trace_hash(w);
    assert_int_equal(simhv_ctx_new(w, "runtime", &c), 0);
    for (int i = 0; i < 5; i++) {
        simhv_world_trace(w, "test", "rec", "%d", i);
        vc_trace(simhv_ctx_vc(c), "api", "sandbox_create", "id %s", "sb1");
    }
    assert_string_equal(s.text, "");
    assert_int_equal(simhv_world_trace_count(w), 0);
    assert_int_equal(simhv_world_trace_hash(w), h);
    assert_int_equal(simhv_world_run_until(w, 7), 0);
    assert_null(simhv_world_stop_reason(w));
    simhv_ctx_free(c);
    simhv_world_free(w);
}

/* Events per second of virtual work: a rough figure, printed, never asserted. */
static void bench_tick(void *data)
{
    struct simhv_world *w = data;

    (void) simhv_world_schedule(w, simhv_world_now(w) + 1 + simhv_world_random(w) % 100, bench_tick,
                                w, NULL);
}

static void test_many_events(void **state)
{
    struct simhv_world *w = world(3);

    for (int i = 0; i < 64; i++)
        assert_int_equal(simhv_world_schedule(w, (uint64_t) i, bench_tick, w, NULL), 0);
    while (simhv_world_event_count(w) < 200000)
        assert_int_equal(simhv_world_step(w, UINT64_MAX), 0);
    assert_int_equal(simhv_world_pending(w), 64);
    simhv_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),        cmocka_unit_test(test_event_order),
        cmocka_unit_test(test_deadlines),      cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_determinism),    cmocka_unit_test(test_vfd),
        cmocka_unit_test(test_ctx_clock_loop), cmocka_unit_test(test_ctx_alloc),
        cmocka_unit_test(test_ctx_trace),      cmocka_unit_test(test_no_trace),
        cmocka_unit_test(test_many_events),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
