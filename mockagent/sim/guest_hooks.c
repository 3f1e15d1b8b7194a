/* SPDX-License-Identifier: Apache-2.0 */
/* simhv's guest hooks forwarded to the mock agent's host (see mockagent/sim.h). */
#include <mockagent/host.h>
#include <mockagent/sim.h>

static int hooks_boot(void *data, const struct simhv_vm *vm)
{
    return magent_host_boot(data, vm->sandbox_id, vm->cid, vm->vcpus, vm->memory_mb);
}

static void hooks_halt(void *data, const struct simhv_vm *vm)
{
    magent_host_halt(data, vm->cid);
}

static void hooks_pause(void *data, const struct simhv_vm *vm, bool paused)
{
    magent_host_pause(data, vm->cid, paused);
}

static void hooks_resources(void *data, const struct simhv_vm *vm)
{
    magent_host_resources(data, vm->cid, vm->vcpus, vm->memory_mb);
}

const struct simhv_guest_ops magent_simhv_guest_ops = {
    .boot = hooks_boot,
    .halt = hooks_halt,
    .pause = hooks_pause,
    .resources = hooks_resources,
};
