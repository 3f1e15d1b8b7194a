/* SPDX-License-Identifier: Apache-2.0 */
/* The fault plan: rule validation, glob matching, triggers and limits, reproducible
 * probabilities, the registry of points, and every action carried out through a context. */
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

#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/hv.h>
#include <simhv/world.h>

struct env {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *c;   /* a "runtime" context */
    struct vc_ctx *ctx;    /* its core context */
};

static void env_new(struct env *e, uint64_t seed)
{
    struct simhv_options o = {.seed = seed};

    assert_int_equal(simhv_world_new(&o, &e->w), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->c), 0);
    e->ctx = simhv_ctx_vc(e->c);
}

static void env_free(struct env *e)
{
    assert_int_equal(simhv_ctx_live_allocs(e->c), 0);
    simhv_ctx_free(e->c);
    simhv_world_free(e->w);
}

static void add(struct env *e, const char *point, int32_t trigger, uint64_t nth, uint64_t limit,
                int32_t action, int err)
{
    struct simhv_fault_rule r = {
        .point = (char *) point,
        .trigger = trigger,
        .nth = nth,
        .limit = limit,
        .action = action,
        .err = err,
    };

    assert_int_equal(simhv_world_add_fault(e->w, &r), 0);
}

/* Which of n hits of point fail, as a bit mask. */
static uint64_t pattern(struct env *e, const char *point, int n)
{
    uint64_t mask = 0;

    for (int i = 0; i < n; i++)
        if (vc_fault(e->ctx, point) < 0)
            mask |= UINT64_C(1) << i;
    return mask;
}

static void test_rules(void **state)
{
    struct env e;
    struct simhv_fault_rule r = {.point = "x", .action = SIMHV_ACTION_ERRNO, .err = -EIO};
    const struct simhv_fault_rule *got;

    env_new(&e, 1);
    r.point = NULL;
    assert_int_equal(simhv_world_add_fault(e.w, &r), -EINVAL);
    r.point = "";
    assert_int_equal(simhv_world_add_fault(e.w, &r), -EINVAL);
    r.point = "x";
    r.trigger = SIMHV_TRIGGER_LAST;
    assert_int_equal(simhv_world_add_fault(e.w, &r), -EINVAL);
    r.trigger = SIMHV_TRIGGER_NTH;
    r.action = 99;
    assert_int_equal(simhv_world_add_fault(e.w, &r), -EINVAL);
    r.action = SIMHV_ACTION_ERRNO;
    r.err = EIO;
    assert_int_equal(simhv_world_add_fault(e.w, &r), -EINVAL);
    r.err = 0; /* -EIO */
    r.hits = 7;
    r.target = "sb1";
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    assert_int_equal(simhv_world_fault_count(e.w), 1);
    got = simhv_world_fault(e.w, 0);
    assert_ptr_not_equal(got->point, r.point); /* copied */
    assert_string_equal(got->point, "x");
    assert_string_equal(got->target, "sb1");
    assert_int_equal(got->hits, 0); /* counters reset */
    assert_null(simhv_world_fault(e.w, 1));
    assert_int_equal(vc_fault(e.ctx, "x"), -EIO);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "fault injected at 'x'"));
    assert_string_equal(simhv_action_to_string(SIMHV_ACTION_VM_CRASH), "vm_crash");
    assert_int_equal(simhv_action_from_string("torn_write"), SIMHV_ACTION_TORN_WRITE);
    assert_int_equal(simhv_action_from_string("errno"), SIMHV_ACTION_ERRNO);
    assert_int_equal(simhv_action_from_string("bogus"), -1);
    assert_string_equal(simhv_trigger_to_string(SIMHV_TRIGGER_PROB), "prob");
    env_free(&e);
}

static void test_glob(void **state)
{
    struct env e;

    env_new(&e, 1);
    add(&e, "agent.*", SIMHV_TRIGGER_EVERY, 0, 0, SIMHV_ACTION_ERRNO, -EPROTO);
    add(&e, "hv.*t", SIMHV_TRIGGER_EVERY, 0, 0, SIMHV_ACTION_ERRNO, -EBUSY);
    add(&e, "st*re.*u*", SIMHV_TRIGGER_EVERY, 0, 0, SIMHV_ACTION_ERRNO, -ENOSPC);
    add(&e, "exact", SIMHV_TRIGGER_EVERY, 0, 0, SIMHV_ACTION_ERRNO, -EIO);
    assert_int_equal(vc_fault(e.ctx, "agent.CreateContainer"), -EPROTO);
    assert_int_equal(vc_fault(e.ctx, "agent."), -EPROTO);
    assert_int_equal(vc_fault(e.ctx, "agent"), 0);
    assert_int_equal(vc_fault(e.ctx, "xagent.Check"), 0);
    assert_int_equal(vc_fault(e.ctx, "hv.start"), -EBUSY);
    assert_int_equal(vc_fault(e.ctx, "hv.stop"), 0);
    assert_int_equal(vc_fault(e.ctx, "hv.start_at"), -EBUSY); /* backtracks to the last t */
    assert_int_equal(vc_fault(e.ctx, "store.put"), -ENOSPC);
    assert_int_equal(vc_fault(e.ctx, "store.get"), 0);
    assert_int_equal(vc_fault(e.ctx, "exact"), -EIO);
    assert_int_equal(vc_fault(e.ctx, "exactly"), 0);
    assert_int_equal(simhv_world_fault(e.w, 0)->hits, 2);
    assert_int_equal(simhv_world_fault(e.w, 1)->hits, 2);
    env_free(&e);
}

static void test_nth(void **state)
{
    struct env e;

    env_new(&e, 1);
    add(&e, "p", SIMHV_TRIGGER_NTH, 3, 0, SIMHV_ACTION_ERRNO, -EIO); /* hit 3 only */
    add(&e, "q", SIMHV_TRIGGER_NTH, 2, 3, SIMHV_ACTION_ERRNO, -EIO); /* hits 2, 3, 4 */
    add(&e, "r", SIMHV_TRIGGER_NTH, 0, 0, SIMHV_ACTION_ERRNO, -EIO); /* hit 1 */
    assert_int_equal(pattern(&e, "p", 8), 0x4);
    assert_int_equal(pattern(&e, "q", 8), 0xe);
    assert_int_equal(pattern(&e, "r", 8), 0x1);
    assert_int_equal(simhv_world_fault(e.w, 0)->hits, 8);
    assert_int_equal(simhv_world_fault(e.w, 0)->fired, 1);
    assert_int_equal(simhv_world_fault(e.w, 1)->fired, 3);
    env_free(&e);
}

static void test_every_after(void **state)
{
    struct env e;
    struct simhv_fault_rule after = {
        .point = "a",
        .trigger = SIMHV_TRIGGER_AFTER,
        .after_ns = 10 * SIMHV_NS_PER_MS,
        .limit = 2,
        .action = SIMHV_ACTION_ERRNO,
        .err = -ETIMEDOUT,
    };

    env_new(&e, 1);
    add(&e, "e", SIMHV_TRIGGER_EVERY, 0, 0, SIMHV_ACTION_ERRNO, -EIO);
    add(&e, "l", SIMHV_TRIGGER_EVERY, 0, 3, SIMHV_ACTION_ERRNO, -EIO);
    assert_int_equal(simhv_world_add_fault(e.w, &after), 0);
    assert_int_equal(pattern(&e, "e", 6), 0x3f);
    assert_int_equal(pattern(&e, "l", 6), 0x7);
    assert_int_equal(pattern(&e, "a", 3), 0);
    assert_int_equal(simhv_world_run_until(e.w, 10 * SIMHV_NS_PER_MS), 0);
    assert_int_equal(pattern(&e, "a", 5), 0x3);
    assert_int_equal(simhv_world_fault(e.w, 2)->hits, 8);
    assert_int_equal(simhv_world_fault(e.w, 2)->fired, 2);
    env_free(&e);
}

static void test_prob(void **state)
{
    struct env a, b, c;
    struct simhv_fault_rule r = {
        .point = "p",
        .trigger = SIMHV_TRIGGER_PROB,
        .prob_ppm = 500000,
        .action = SIMHV_ACTION_ERRNO,
        .err = -EIO,
    };
    uint64_t pa, pb;

    env_new(&a, 77);
    env_new(&b, 77);
    env_new(&c, 77);
    assert_int_equal(simhv_world_add_fault(a.w, &r), 0);
    assert_int_equal(simhv_world_add_fault(b.w, &r), 0);
    /* points that match no rule draw nothing */
    assert_int_equal(pattern(&b, "other", 10), 0);
    pa = pattern(&a, "p", 64);
    pb = pattern(&b, "p", 64);
    assert_int_equal(pa, pb);
    assert_true(pa != 0 && pa != UINT64_MAX);
    /* an empty plan consumes no randomness either */
    assert_int_equal(pattern(&c, "p", 10), 0);
    assert_int_equal(simhv_world_random(a.w), simhv_world_random(b.w));
    {
        struct simhv_world *fresh = NULL;
        struct simhv_options o = {.seed = 77};

        assert_int_equal(simhv_world_new(&o, &fresh), 0);
        assert_int_equal(simhv_world_random(c.w), simhv_world_random(fresh));
        simhv_world_free(fresh);
    }
    /* 0 and 1,000,000 ppm */
    r.prob_ppm = 0;
    r.point = "never";
    assert_int_equal(simhv_world_add_fault(c.w, &r), 0);
    r.prob_ppm = 1000000;
    r.point = "always";
    r.limit = 2;
    assert_int_equal(simhv_world_add_fault(c.w, &r), 0);
    assert_int_equal(pattern(&c, "never", 20), 0);
    assert_int_equal(pattern(&c, "always", 5), 0x3);
    env_free(&a);
    env_free(&b);
    env_free(&c);
}

static void test_points_context(void **state)
{
    struct env e;
    struct simhv_ctx *guest = NULL;
    struct simhv_fault_rule r = {
        .point = "*",
        .trigger = SIMHV_TRIGGER_EVERY,
        .action = SIMHV_ACTION_ERRNO,
        .err = -EPERM,
        .context = "guest",
    };
    struct simhv_fault_hit hit;

    env_new(&e, 1);
    assert_int_equal(simhv_ctx_new(e.w, "guest", &guest), 0);
    assert_int_equal(simhv_world_point_count(e.w), 0); /* setup hits no point */
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    assert_int_equal(vc_fault(e.ctx, "one"), 0);
    assert_int_equal(vc_fault(simhv_ctx_vc(guest), "one"), -EPERM);
    assert_false(simhv_world_fault_eval(e.w, NULL, "two", &hit)); /* the world's own point */
    /* a harness's own checks run without faults */
    simhv_ctx_suspend_faults(guest, true);
    assert_int_equal(vc_fault(simhv_ctx_vc(guest), "one"), 0);
    simhv_ctx_suspend_faults(guest, false);
    assert_int_equal(vc_fault(e.ctx, "one"), 0);
    {
        char name[32];

        for (int i = 0; i < 200; i++) { /* enough to grow the registry's table */
            (void) snprintf(name, sizeof(name), "p%d", i);
            assert_int_equal(vc_fault(e.ctx, name), 0);
        }
    }
    assert_int_equal(simhv_world_point_count(e.w), 202);
    assert_string_equal(simhv_world_point_name(e.w, 0), "one");
    assert_int_equal(simhv_world_point_hits(e.w, 0), 3);
    assert_string_equal(simhv_world_point_name(e.w, 1), "two");
    assert_string_equal(simhv_world_point_name(e.w, 201), "p199");
    assert_null(simhv_world_point_name(e.w, 202));
    /* allocations are points too */
    vc_free(e.ctx, vc_malloc(e.ctx, 1));
    vc_free(e.ctx, vc_malloc(e.ctx, 1));
    assert_string_equal(simhv_world_point_name(e.w, 202), "alloc");
    assert_int_equal(simhv_world_point_hits(e.w, 202), 2);
    simhv_ctx_free(guest);
    env_free(&e);
}

static void test_delay_hang(void **state)
{
    struct env e;
    struct simhv_fault_rule r = {
        .point = "slow",
        .trigger = SIMHV_TRIGGER_EVERY,
        .action = SIMHV_ACTION_DELAY,
        .delay_ns = 5 * SIMHV_NS_PER_S,
    };

    env_new(&e, 1);
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    r.point = "stuck";
    r.action = SIMHV_ACTION_HANG;
    r.delay_ns = 0; /* 60 s */
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    r.point = "stuck2";
    r.delay_ns = 2 * SIMHV_NS_PER_S;
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    assert_int_equal(vc_fault(e.ctx, "slow"), 0);
    assert_int_equal(vc_now(e.ctx), 5 * SIMHV_NS_PER_S);
    assert_int_equal(vc_fault(e.ctx, "stuck"), -ETIMEDOUT);
    assert_int_equal(vc_now(e.ctx), 65 * SIMHV_NS_PER_S);
    assert_int_equal(vc_fault(e.ctx, "stuck2"), -ETIMEDOUT);
    assert_int_equal(vc_now(e.ctx), 67 * SIMHV_NS_PER_S);
    env_free(&e);
}

static struct vc_hv *vm(struct env *e, const char *id)
{
    struct vc_hv_config cfg = {.vcpus = 1, .memory_mb = 256};
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL;

    assert_int_equal(vc_ctx_hv_backend(e->ctx, "sim", &be), 0);
    assert_int_equal(vc_hv_create(e->ctx, &be, id, &cfg, &hv), 0);
    assert_int_equal(vc_hv_start(hv, 5000), 0);
    return hv;
}

static void test_vm_crash(void **state)
{
    struct env e;
    struct simhv_fault_rule r = {
        .point = "kill.one",
        .trigger = SIMHV_TRIGGER_EVERY,
        .action = SIMHV_ACTION_VM_CRASH,
        .target = "sb2",
    };
    struct vc_hv *a, *b, *c;

    env_new(&e, 1);
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    r.point = "kill.all";
    r.target = NULL;
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    a = vm(&e, "sb1");
    b = vm(&e, "sb2");
    c = vm(&e, "sb3");
    assert_int_equal(vc_hv_pause(c), 0);
    assert_int_equal(vc_fault(e.ctx, "kill.one"), 0); /* the operation proceeds */
    assert_false(simhv_world_vm(e.w, "sb1")->crashed);
    assert_true(simhv_world_vm(e.w, "sb2")->crashed);
    assert_int_equal(vc_hv_check(a), 0);
    assert_int_equal(vc_hv_check(b), -ESRCH);
    assert_int_equal(vc_fault(e.ctx, "kill.all"), 0);
    assert_true(simhv_world_vm(e.w, "sb1")->crashed);
    assert_true(simhv_world_vm(e.w, "sb3")->crashed); /* paused VMs die too */
    assert_int_equal(simhv_world_vm(e.w, "sb3")->state, VC_VM_STATE_STOPPED);
    vc_hv_free(a);
    vc_hv_free(b);
    vc_hv_free(c);
    env_free(&e);
}

static void test_runtime_crash(void **state)
{
    struct env e;
    struct simhv_ctx *other = NULL;
    const struct vc_loop *loop;
    uint64_t id;

    env_new(&e, 1);
    assert_int_equal(simhv_ctx_new(e.w, "other", &other), 0);
    add(&e, "die", SIMHV_TRIGGER_NTH, 1, 0, SIMHV_ACTION_RUNTIME_CRASH, 0);
    assert_int_equal(vc_fault(e.ctx, "die"), -ECANCELED);
    assert_true(simhv_ctx_crashed(e.c));
    assert_false(simhv_ctx_crashed(other));
    /* from now on every point fails, allocations included, and time stands still for it */
    assert_int_equal(vc_fault(e.ctx, "anything"), -ECANCELED);
    assert_int_equal(vc_fault(e.ctx, "die"), -ECANCELED);
    assert_null(vc_malloc(e.ctx, 8));
    loop = vc_ctx_loop(e.ctx);
    assert_int_equal(loop->ops->run_once(loop->data, SIMHV_NS_PER_S), -ECANCELED);
    assert_int_equal(loop->ops->timer_add(loop->data, 1, NULL, NULL, &id), -ECANCELED);
    assert_int_equal(vc_now(e.ctx), 0);
    assert_int_equal(simhv_world_fault(e.w, 0)->fired, 1);
    /* suspending does not revive it */
    simhv_ctx_suspend_faults(e.c, true);
    assert_int_equal(vc_fault(e.ctx, "x"), -ECANCELED);
    assert_int_equal(vc_fault(simhv_ctx_vc(other), "anything"), 0);
    simhv_ctx_free(other);
    env_free(&e);
}

static void test_host_crash(void **state)
{
    struct env e;
    struct vc_store *store;
    struct vc_hv *a;
    char *doc = NULL;
    size_t len;

    env_new(&e, 1);
    store = vc_ctx_store(e.ctx);
    a = vm(&e, "sb1");
    assert_int_equal(vc_store_put(store, "sb1", NULL, "{}", 2), 0);
    add(&e, "boom", SIMHV_TRIGGER_NTH, 1, 0, SIMHV_ACTION_HOST_CRASH, 0);
    assert_int_equal(vc_fault(e.ctx, "boom"), -ECANCELED);
    assert_true(simhv_ctx_crashed(e.c));
    assert_true(simhv_world_vm(e.w, "sb1")->crashed);
    vc_hv_free(a);
    /* the restarted runtime finds what was synced */
    simhv_ctx_free(e.c);
    assert_int_equal(simhv_ctx_new(e.w, "runtime", &e.c), 0);
    e.ctx = simhv_ctx_vc(e.c);
    assert_int_equal(vc_store_get(vc_ctx_store(e.ctx), "sb1", NULL, &doc, &len), 0);
    assert_string_equal(doc, "{}");
    vc_free(e.ctx, doc);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),         cmocka_unit_test(test_glob),
        cmocka_unit_test(test_nth),           cmocka_unit_test(test_every_after),
        cmocka_unit_test(test_prob),          cmocka_unit_test(test_points_context),
        cmocka_unit_test(test_delay_hang),    cmocka_unit_test(test_vm_crash),
        cmocka_unit_test(test_runtime_crash), cmocka_unit_test(test_host_crash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
