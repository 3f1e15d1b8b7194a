/* SPDX-License-Identifier: Apache-2.0 */
/* Separate processes drive one sandbox through the store's lock: each API call locks, loads,
 * acts, saves and unlocks, so concurrent changes from two processes are all kept. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

#define PER_CHILD 25

/* A child process: its own context over the same store root, adding PER_CHILD containers. */
static int child(struct fixture *fx, int n)
{
    struct vc_ctx *ctx;
    int failures = 0;

    if (vc_ctx_new_real(fx->root, &ctx) < 0 || vc_ctx_register_hv(ctx, &simhv_ops, fx->world) < 0)
        return 100;
    for (int i = 0; i < PER_CHILD; i++) {
        struct vc_container_config cc = {0};
        char id[32];

        (void) snprintf(id, sizeof(id), "p%d-c%d", n, i);
        cc.id = id;
        cc.process.args = (char *[]){"sh"};
        cc.process.n_args = 1;
        if (vc_container_create(ctx, "sb", &cc) < 0) {
            fprintf(stderr, "child %d: %s\n", n, vc_ctx_errmsg(ctx));
            failures++;
        }
    }
    vc_ctx_free(ctx);
    return failures;
}

static void test_two_processes_add_containers(void **state)
{
    struct fixture *fx = fixture_new();
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 0);
    struct vc_sandbox_status *st = NULL;
    pid_t pids[2];

    assert_int_equal(vc_sandbox_run(fx->ctx, cfg), 0);
    vc_sandbox_config_free(fx->ctx, cfg);
    for (int n = 0; n < 2; n++) {
        pids[n] = fork();
        assert_true(pids[n] >= 0);
        if (pids[n] == 0)
            _exit(child(fx, n));
    }
    for (int n = 0; n < 2; n++) {
        int status;
        assert_int_equal(waitpid(pids[n], &status, 0), pids[n]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* every container of both processes is there: no update was lost */
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    assert_int_equal(st->n_containers, 2 * PER_CHILD);
    for (size_t i = 0; i < st->n_containers; i++)
        assert_int_equal(st->containers[i].state, VC_STATE_READY);
    vc_sandbox_status_free(fx->ctx, st);
    fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_add_containers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
