/* SPDX-License-Identifier: Apache-2.0 */
/* vcdemo: drives the runtime core through a whole sandbox lifecycle against the simulated
 * hypervisor and the noop agent, with a fault injected into one create, and prints a report:
 * one line per step with its result and what the store and the VM hold afterwards. Exit 0
 * when every step gave the expected result. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

struct demo {
    struct fixture *fx; /* context, store, VMs */
    unsigned steps;     /* steps run */
    unsigned failed;    /* steps with an unexpected result */
};

static void report(struct demo *d, const char *what, int r, int want)
{
    struct vc_sandbox_status *st = NULL;
    const struct simhv_vm *vm = simhv_world_vm(d->fx->world, "demo");
    char state[160] = "sandbox gone", msg[VC_ERR_MSG_MAX];
    bool ok = r == want;

    (void) snprintf(msg, sizeof(msg), "%s", vc_ctx_errmsg(d->fx->ctx));
    d->steps++;
    d->failed += !ok;
    if (vc_sandbox_status(d->fx->ctx, "demo", &st) == 0) {
        int n = snprintf(state, sizeof(state), "sandbox %-8s", vc_state_to_string(st->state));
        for (size_t i = 0; i < st->n_containers && n > 0 && (size_t) n < sizeof(state); i++)
            n += snprintf(state + n, sizeof(state) - (size_t) n, " %s:%s", st->containers[i].id,
                          vc_state_to_string(st->containers[i].state));
        vc_sandbox_status_free(d->fx->ctx, st);
    }
    printf("%s %-44s %-10s %s", ok ? "[ ok ]" : "[FAIL]", what, r ? vc_errno_name(r) : "0", state);
    if (vm)
        printf("  | vm %s %u vcpu %u MiB", vc_vm_state_to_string(vm->state), vm->vcpus,
               vm->memory_mb);
    printf("\n");
    if (r)
        printf("       %s\n", msg);
}

int main(void)
{
    struct demo d = {.fx = fixture_new()};
    struct vc_ctx *ctx = d.fx->ctx;
    struct vc_sandbox_config *cfg = fixture_sandbox_config(d.fx, "demo", 2);
    struct vc_process_config cmd = {.args = (char *[]){"uname", "-a"}, .n_args = 2};
    struct vc_resources res = {
        .cpu_quota = 200000, .cpu_period = 100000, .memory_limit = 512ll << 20};
    struct vc_process p = {0};
    int32_t status = -1;

    printf("vcsim runtime core: sandbox lifecycle on the simulated hypervisor (store %s)\n\n",
           d.fx->root);
    fixture_fail_nth(d.fx, "hv.start", 1, -EIO);
    report(&d, "create (vm start fails: rolled back)", vc_sandbox_create(ctx, cfg), -EIO);
    fixture_fail_nth(d.fx, NULL, 0, 0);
    report(&d, "create with 2 containers", vc_sandbox_create(ctx, cfg), 0);
    report(&d, "create again", vc_sandbox_create(ctx, cfg), -EEXIST);
    report(&d, "start", vc_sandbox_start(ctx, "demo"), 0);
    report(&d, "exec 'uname -a' in c1", vc_container_enter(ctx, "demo", "c1", NULL, &cmd, &p), 0);
    report(&d, "wait for it", vc_process_wait(ctx, "demo", "c1", p.exec_id, &status), 0);
    vc_process_clear(ctx, &p);
    report(&d, "update c2 to 2 cpus, 512 MiB (hotplug)",
           vc_container_update(ctx, "demo", "c2", &res), 0);
    report(&d, "pause", vc_sandbox_pause(ctx, "demo"), 0);
    report(&d, "delete while paused with running containers", vc_sandbox_delete(ctx, "demo"),
           -EINVAL);
    report(&d, "resume", vc_sandbox_resume(ctx, "demo"), 0);
    report(&d, "stop container c1", vc_container_stop(ctx, "demo", "c1", false), 0);
    report(&d, "stop", vc_sandbox_stop(ctx, "demo", false), 0);
    report(&d, "delete", vc_sandbox_delete(ctx, "demo"), 0);
    printf("\n%u steps, %u unexpected; %zu vm(s) and %zu store entries left\n", d.steps, d.failed,
           simhv_world_vm_count(d.fx->world), fixture_store_entries(d.fx));
    if (simhv_world_vm_count(d.fx->world) || fixture_store_entries(d.fx))
        d.failed++;
    vc_sandbox_config_free(ctx, cfg);
    fixture_free(d.fx);
    return d.failed ? 1 : 0;
}
