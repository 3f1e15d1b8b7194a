/* SPDX-License-Identifier: Apache-2.0 */
/* Forced operations keep the records true: a forced stop retries a failed VM stop once and
 * records stopped only with the VM down, and delete records stopped as soon as the VM is down. */
#include <errno.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static void make(struct fixture *fx, bool run)
{
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 1);

    assert_int_equal(run ? vc_sandbox_run(fx->ctx, cfg) : vc_sandbox_create(fx->ctx, cfg), 0);
    vc_sandbox_config_free(fx->ctx, cfg);
}

static int32_t state_of(struct fixture *fx)
{
    struct vc_sandbox_status *st = NULL;
    int32_t s;

    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    s = st->state;
    vc_sandbox_status_free(fx->ctx, st);
    return s;
}

static int32_t vm_state(struct fixture *fx)
{
    const struct simhv_vm *vm = simhv_world_vm(fx->world, "sb");

    assert_non_null(vm);
    return vm->state;
}

static size_t hits_of(const struct fixture *fx, const char *point)
{
    size_t n = 0;

    for (size_t i = 0; i < fx->n_points; i++)
        n += strcmp(fx->points[i], point) == 0;
    return n;
}

/* The first VM stop fails: force tries once more on a fresh handle and records stopped. */
static void test_force_stop_retries_vm_stop(void **state)
{
    struct fixture *fx = *state;

    make(fx, true);
    fixture_fail_nth(fx, "hv.stop", 1, -EIO);
    fixture_clear_points(fx);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", true), 0);
    assert_int_equal(hits_of(fx, "hv.stop"), 2);
    assert_int_equal(hits_of(fx, "hv.load"), 2);
    assert_int_equal(state_of(fx), VC_STATE_STOPPED);
    assert_int_equal(vm_state(fx), VC_VM_STATE_STOPPED);
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), 0);
}

/* A plain stop does not retry: the VM's error fails it and the sandbox stays running. */
static void test_plain_stop_keeps_state(void **state)
{
    struct fixture *fx = *state;

    make(fx, true);
    fixture_fail_nth(fx, "hv.stop", 1, -EIO);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), -EIO);
    assert_int_equal(state_of(fx), VC_STATE_RUNNING);
    assert_int_equal(vm_state(fx), VC_VM_STATE_RUNNING);
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", true), 0);
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), 0);
}

/* Delete stops the VM of a ready sandbox and records stopped before hv cleanup, which fails. */
static void test_delete_records_stopped(void **state)
{
    struct fixture *fx = *state;

    make(fx, false);
    fixture_fail_nth(fx, "hv.cleanup", 1, -EIO);
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), -EIO);
    assert_int_equal(state_of(fx), VC_STATE_STOPPED);
    assert_int_equal(vm_state(fx), VC_VM_STATE_STOPPED);
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_int_equal(vc_sandbox_delete(fx->ctx, "sb"), 0);
    assert_null(simhv_world_vm(fx->world, "sb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_force_stop_retries_vm_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_stop_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records_stopped, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
