/* SPDX-License-Identifier: Apache-2.0 */
/* The state machine (kata's validTransition) and id validation (runc's rule). */
#include <errno.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>

static struct vc_ctx *ctx;

static int setup(void **state)
{
    return vc_ctx_new_real("/tmp", &ctx);
}

static int teardown(void **state)
{
    vc_ctx_free(ctx);
    return 0;
}

static void test_transition_table(void **state)
{
    /* allowed[from][to], the table of kata's types.StateString.validTransition */
    static const bool allowed[VC_STATE_LAST][VC_STATE_LAST] = {
        [VC_STATE_READY] = {[VC_STATE_RUNNING] = true, [VC_STATE_STOPPED] = true},
        [VC_STATE_RUNNING] = {[VC_STATE_PAUSED] = true, [VC_STATE_STOPPED] = true},
        [VC_STATE_PAUSED] = {[VC_STATE_RUNNING] = true, [VC_STATE_STOPPED] = true},
        [VC_STATE_STOPPED] = {[VC_STATE_RUNNING] = true},
    };

    for (int from = 0; from < VC_STATE_LAST; from++) {
        for (int to = 0; to < VC_STATE_LAST; to++) {
            int r = vc_state_transition(ctx, "sandbox", from, to);
            assert_int_equal(r, allowed[from][to] ? 0 : -EINVAL);
            if (r == 0)
                continue;
            /* the error names both states */
            if (vc_state_valid(from)) {
                assert_non_null(strstr(vc_ctx_errmsg(ctx), vc_state_to_string(from)));
                assert_non_null(strstr(vc_ctx_errmsg(ctx), vc_state_to_string(to)));
            }
        }
    }
    assert_int_equal(vc_state_transition(ctx, "x", VC_STATE_READY, VC_STATE_LAST), -EINVAL);
    assert_int_equal(vc_state_transition(ctx, "x", (enum vc_state) 99, VC_STATE_READY), -EINVAL);
}

static void test_state_names(void **state)
{
    for (int s = 0; s < VC_STATE_LAST; s++)
        assert_int_equal(vc_state_from_string(vc_state_to_string(s)), s);
    assert_string_equal(vc_state_to_string(VC_STATE_PAUSED), "paused");
    assert_int_equal(vc_state_from_string("bogus"), -1);
    assert_int_equal(vc_state_from_string(NULL), -1);
    assert_false(vc_state_valid(VC_STATE_CREATING));
    assert_true(vc_state_valid(VC_STATE_STOPPED));
}

static void test_ids(void **state)
{
    static const char *const good[] = {"a", "sb-1", "A_b.c+d", "0123456789abcdef", "..."};
    static const char *const bad[] = {"", ".", "..", "a/b", "/abs", "a b", "a\nb", "é", "a:b"};
    char longest[VC_ID_MAX + 2];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(vc_id_validate(ctx, "sandbox", good[i]), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vc_id_validate(ctx, "sandbox", bad[i]), -EINVAL);
        assert_non_null(strstr(vc_ctx_errmsg(ctx), "sandbox id"));
    }
    assert_int_equal(vc_id_validate(ctx, "container", NULL), -EINVAL);
    memset(longest, 'x', sizeof(longest));
    longest[VC_ID_MAX] = '\0';
    assert_int_equal(vc_id_validate(ctx, "container", longest), 0);
    longest[VC_ID_MAX] = 'x';
    longest[VC_ID_MAX + 1] = '\0';
    assert_int_equal(vc_id_validate(ctx, "container", longest), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_ids),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
