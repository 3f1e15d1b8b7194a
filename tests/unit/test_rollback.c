/* SPDX-License-Identifier: Apache-2.0 */
/* CreateSandbox rollback: fail every fault point a successful create passes through, one at a
 * time, and check that the create reports that failure and leaves nothing behind: no VM, no
 * stored sandbox, no file under the store root, no leak (ASan). The same for every allocation
 * (torture), and for container create. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

/* Runs a create with nothing failing and returns how many points (with prefix) it passes. */
static unsigned count_points(const char *prefix, size_t n_containers, bool run)
{
    struct fixture *fx = fixture_new();
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", n_containers);
    unsigned n;

    fixture_fail_nth(fx, prefix, 0, 0);
    assert_int_equal(run ? vc_sandbox_run(fx->ctx, cfg) : vc_sandbox_create(fx->ctx, cfg), 0);
    n = fx->hits;
    vc_sandbox_config_free(fx->ctx, cfg);
    fixture_free(fx);
    return n;
}

static void check_nothing_left(struct fixture *fx)
{
    struct vc_sandbox_status *v = NULL;
    size_t n = 99;

    assert_int_equal(simhv_world_vm_count(fx->world), 0);
    assert_int_equal(fixture_store_entries(fx), 0);
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_int_equal(vc_sandbox_list(fx->ctx, &v, &n), 0);
    assert_int_equal(n, 0);
}

/* A create under a fault ends all or nothing: the injected error with nothing left, or
 * success (the fault hit a step whose failure is harmless, such as the final disconnect) with
 * the sandbox stored and its VM running. */
static void check_outcome(struct fixture *fx, unsigned k, int r, int err, bool run)
{
    struct vc_sandbox_status *st = NULL;

    if (r == 0) {
        fixture_fail_nth(fx, NULL, 0, 0);
        assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
        assert_int_equal(st->state, run ? VC_STATE_RUNNING : VC_STATE_READY);
        vc_sandbox_status_free(fx->ctx, st);
        assert_int_equal(simhv_world_vm_count(fx->world), 1);
        return;
    }
    if (r != err) {
        fprintf(stderr, "failing hit %u (%s) gave %d: %s\n", k, fx->failed_point, r,
                vc_ctx_errmsg(fx->ctx));
        fail();
    }
    /* the message names what failed, not a rollback step */
    if (strcmp(fx->failed_point, "alloc") != 0 &&
        !strstr(vc_ctx_errmsg(fx->ctx), fx->failed_point)) {
        fprintf(stderr, "failing hit %u (%s): message '%s'\n", k, fx->failed_point,
                vc_ctx_errmsg(fx->ctx));
        fail();
    }
    if (simhv_world_vm_count(fx->world) || fixture_store_entries(fx)) {
        fprintf(stderr, "failing hit %u (%s) left %zu vm(s), %zu store entries\n", k,
                fx->failed_point, simhv_world_vm_count(fx->world), fixture_store_entries(fx));
        fail();
    }
    check_nothing_left(fx);
}

static void sweep(const char *prefix, int err, size_t n_containers, bool run)
{
    unsigned total = count_points(prefix, n_containers, run), failed = 0;

    assert_true(total > 0);
    for (unsigned k = 1; k <= total; k++) {
        struct fixture *fx = fixture_new();
        struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", n_containers);
        int r;

        fixture_fail_nth(fx, prefix, k, err);
        r = run ? vc_sandbox_run(fx->ctx, cfg) : vc_sandbox_create(fx->ctx, cfg);
        assert_non_null(fx->failed_point);
        failed += r != 0;
        vc_sandbox_config_free(fx->ctx, cfg);
        check_outcome(fx, k, r, err, run);
        fixture_free(fx);
    }
    /* nearly every point matters: only harmless tail steps may succeed */
    assert_true(failed + 2 >= total);
}

static void test_create_fail_each_op(void **state)
{
    /* every agent, hypervisor and store operation of a create with two containers */
    sweep("agent.", -EIO, 2, false);
    sweep("hv.", -EIO, 2, false);
    sweep("store.", -EIO, 2, false);
}

static void test_run_fail_each_op(void **state)
{
    sweep("agent.", -ETIMEDOUT, 1, true);
    sweep("hv.", -ENOSPC, 1, true);
}

static void test_create_fail_each_alloc(void **state)
{
    sweep("alloc", -ENOMEM, 1, false);
}

static void test_points_of_a_create(void **state)
{
    struct fixture *fx = fixture_new();
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 1);
    static const char *const order[] = {
        "store.lock",           "hv.create",           "hv.start",
        "agent.init",           "agent.CreateSandbox", "agent.StartSandbox",
        "agent.CreateContainer"};
    size_t at = 0;

    assert_int_equal(vc_sandbox_create(fx->ctx, cfg), 0);
    /* the kata order: VM first, then the guest sandbox, then its containers */
    for (size_t i = 0; i < fx->n_points && at < sizeof(order) / sizeof(order[0]); i++)
        if (strcmp(fx->points[i], order[at]) == 0)
            at++;
    assert_int_equal(at, sizeof(order) / sizeof(order[0]));
    vc_sandbox_config_free(fx->ctx, cfg);
    fixture_free(fx);
}

static void test_container_create_rollback(void **state)
{
    struct fixture *fx = fixture_new();
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 0);
    struct vc_container_config *cc = fixture_container_config(fx, "big");
    struct vc_sandbox_status *st = NULL;

    assert_int_equal(vc_sandbox_run(fx->ctx, cfg), 0);
    cc->resources.cpu_quota = 200000;
    cc->resources.cpu_period = 100000;
    fixture_fail_nth(fx, "agent.CreateContainer", 1, -EIO);
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), -EIO);
    /* the vCPUs plugged for it went back, and it is nowhere */
    assert_int_equal(simhv_world_vm(fx->world, "sb")->vcpus, 1);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    assert_int_equal(st->n_containers, 0);
    assert_int_equal(st->vcpus, 1);
    vc_sandbox_status_free(fx->ctx, st);
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_int_equal(vc_container_create(fx->ctx, "sb", cc), 0);
    fixture_container_config_free(fx, cc);
    vc_sandbox_config_free(fx->ctx, cfg);
    fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_of_a_create),
        cmocka_unit_test(test_create_fail_each_op),
        cmocka_unit_test(test_run_fail_each_op),
        cmocka_unit_test(test_create_fail_each_alloc),
        cmocka_unit_test(test_container_create_rollback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
