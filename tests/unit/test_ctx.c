/* SPDX-License-Identifier: Apache-2.0 */
/* The context: backend kinds and factories, the real I/O loop (timers, fd readiness, sleep),
 * a caller-built context with its own clock and generator, errors, logging and faults. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/kata.h>
#include <vc/qemu.h>
#include <vc/vc.h>

static struct vc_ctx *real_ctx(void)
{
    char root[] = "/tmp/vc-ctx-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0); /* the store creates what it needs on first use */
    return ctx;
}

static int pick_noop(void *data, const char *kind, struct vc_agent_backend *ret)
{
    if (strcmp(kind, "special") != 0)
        return -ENOENT;
    *ret = (struct vc_agent_backend){.ops = &vc_noop_agent_ops, .data = data};
    return 0;
}

static void test_kinds(void **state)
{
    struct vc_ctx *ctx = real_ctx();
    struct vc_agent_backend ab;
    struct vc_hv_backend hb;

    assert_int_equal(vc_ctx_agent_backend(ctx, "noop", &ab), 0);
    assert_ptr_equal(ab.ops, &vc_noop_agent_ops);
    assert_int_equal(vc_ctx_agent_backend(ctx, "hyperstart", &ab), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "no longer supported"));
    assert_int_equal(vc_ctx_agent_backend(ctx, "kata", &ab), 0);
    assert_ptr_equal(ab.ops, &vc_kata_agent_ops);
    assert_int_equal(vc_ctx_agent_backend(ctx, NULL, &ab), 0); /* default: kata */
    assert_ptr_equal(ab.ops, &vc_kata_agent_ops);
    assert_int_equal(vc_ctx_agent_backend(ctx, "bogus", &ab), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "unknown agent kind 'bogus'"));
    assert_int_equal(vc_ctx_hv_backend(ctx, "qemu", &hb), 0); /* the real world's */
    assert_ptr_equal(hb.ops, &vc_qemu_hv_ops);
    assert_int_equal(vc_ctx_hv_backend(ctx, "sim", &hb), -EOPNOTSUPP);
    assert_int_equal(vc_ctx_hv_backend(ctx, "", &hb), 0); /* default: qemu */
    assert_ptr_equal(hb.ops, &vc_qemu_hv_ops);
    assert_int_equal(vc_ctx_hv_backend(ctx, "xen", &hb), -EINVAL);
    /* an explicit factory is asked first; -ENOENT falls back to the registrations */
    vc_ctx_set_agent_factory(ctx, pick_noop, (void *) 42);
    assert_int_equal(vc_ctx_agent_backend(ctx, "special", &ab), 0);
    assert_ptr_equal(ab.data, (void *) 42);
    assert_int_equal(vc_ctx_agent_backend(ctx, "noop", &ab), 0);
    assert_null(ab.data);
    vc_ctx_free(ctx);
}

struct ticks {
    unsigned n;    /* fired */
    bool done;     /* set by the last timer */
    int fd_events; /* readiness callbacks seen */
};

/* The 1 ms timer must fire first and the 2 ms one second, whatever order they were added. */
static void on_first(void *data)
{
    struct ticks *t = data;

    assert_int_equal(t->n, 0);
    t->n++;
}

static void on_second(void *data)
{
    struct ticks *t = data;

    assert_int_equal(t->n, 1);
    t->n++;
}

static void on_last(void *data)
{
    ((struct ticks *) data)->done = true;
}

static void on_fd(void *data, int fd, unsigned revents)
{
    struct ticks *t = data;
    char c;

    assert_true(revents & VC_IO_IN);
    assert_int_equal(read(fd, &c, 1), 1);
    t->fd_events++;
}

static void test_real_loop(void **state)
{
    struct vc_ctx *ctx = real_ctx();
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    struct ticks t = {0};
    uint64_t id, start = vc_now(ctx);
    int p[2];

    assert_non_null(loop);
    assert_int_equal(loop->ops->timer_add(loop->data, start + 2000000, on_second, &t, &id), 0);
    assert_int_equal(loop->ops->timer_add(loop->data, start + 1000000, on_first, &t, NULL), 0);
    assert_int_equal(loop->ops->timer_add(loop->data, start + 1500000, on_first, &t, &id), 0);
    loop->ops->timer_cancel(loop->data, id);
    assert_int_equal(loop->ops->timer_add(loop->data, start + 3000000, on_last, &t, NULL), 0);
    assert_int_equal(vc_ctx_run_until(ctx, &t.done, start + 5000000000ull), 0);
    assert_int_equal(t.n, 2); /* the cancelled one never fired */
    assert_true(vc_now(ctx) >= start + 3000000);
    /* fd readiness */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop->ops->watch(loop->data, p[0], VC_IO_IN, on_fd, &t), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(loop->ops->run_once(loop->data, vc_now(ctx) + 5000000000ull), 0);
    assert_int_equal(t.fd_events, 1);
    /* nothing ready: run_once times out at its deadline */
    assert_int_equal(loop->ops->run_once(loop->data, vc_now(ctx) + 1000000), -ETIMEDOUT);
    assert_int_equal(loop->ops->watch(loop->data, p[0], 0, NULL, NULL), 0);
    start = vc_now(ctx);
    assert_int_equal(vc_ctx_sleep_until(ctx, start + 2000000), 0);
    assert_true(vc_now(ctx) >= start + 2000000);
    close(p[0]);
    close(p[1]);
    vc_ctx_free(ctx);
}

/* A caller-built context: a clock that only moves when told, a counting generator. */
struct fake {
    uint64_t now;  /* monotonic ns */
    uint64_t next; /* generator state */
    char log[256]; /* last log line */
};

static uint64_t fake_mono(void *data)
{
    return ((struct fake *) data)->now;
}

static int64_t fake_wall(void *data)
{
    return 1700000000ll * 1000000000ll + (int64_t) ((struct fake *) data)->now;
}

static uint64_t fake_next(void *data)
{
    return ++((struct fake *) data)->next;
}

static void fake_log(void *data, enum vc_log_level level, const char *topic, uint64_t ts,
                     const char *msg)
{
    (void) snprintf(((struct fake *) data)->log, 256, "%llu %s %s: %s", (unsigned long long) ts,
                    vc_log_level_to_string(level), topic, msg);
}

static int fail_alloc(void *data, struct vc_ctx *ctx, const char *point)
{
    return strcmp(point, "alloc") == 0 ? -ENOMEM : 0;
}

static void test_custom_ctx(void **state)
{
    struct fake f = {.now = 5};
    struct vc_ctx *ctx;

    assert_int_equal(vc_ctx_new(&(struct vc_clock){fake_mono, fake_wall, &f},
                                &(struct vc_rng){fake_next, &f}, NULL, &ctx),
                     0);
    assert_int_equal(vc_now(ctx), 5);
    assert_int_equal(vc_random(ctx), 1);
    assert_int_equal(vc_random(ctx), 2);
    assert_null(vc_ctx_store(ctx));
    assert_null(vc_ctx_loop(ctx));
    assert_int_equal(vc_ctx_sleep_until(ctx, 10), -EOPNOTSUPP);
    /* the API refuses to run without a store */
    assert_int_equal(vc_sandbox_start(ctx, "sb"), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "no store"));
    /* logging goes to the sink, stamped by the context's clock, filtered by level */
    vc_ctx_set_log(ctx, fake_log, &f, VC_LOG_INFO);
    vc_log_at(ctx, VC_LOG_DEBUG, "t", "hidden");
    assert_string_equal(f.log, "");
    f.now = 77;
    vc_log_at(ctx, VC_LOG_WARN, "t", "shown %d", 1);
    assert_string_equal(f.log, "77 warn t: shown 1");
    /* errors: prefixing keeps the original detail */
    assert_int_equal(vc_err(ctx, -EIO, "disk says %s", "no"), -EIO);
    assert_int_equal(vc_err_prefix(ctx, -EIO, "saving '%s'", "sb"), -EIO);
    assert_string_equal(vc_ctx_errmsg(ctx), "saving 'sb': disk says no");
    assert_string_equal(vc_errno_name(-ENOSPC), "ENOSPC");
    vc_err_clear(ctx);
    assert_int_equal(vc_ctx_errcode(ctx), 0);
    /* the alloc fault point fails allocations */
    vc_ctx_set_fault(ctx, fail_alloc, NULL);
    assert_null(vc_malloc(ctx, 16));
    assert_null(vc_strdup(ctx, "x"));
    assert_int_equal(vc_fault(ctx, "hv.start"), 0);
    vc_ctx_set_fault(ctx, NULL, NULL);
    assert_null(vc_calloc(ctx, SIZE_MAX / 2, 4)); /* overflow */
    vc_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_real_loop),
        cmocka_unit_test(test_custom_ctx),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
