/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent as the guest of simhv's VMs: the hooks that tell a struct magent_host when a
 * simulated VM boots, halts, pauses or gets resources. Set them with
 * simhv_world_set_guest(world, &magent_simhv_guest_ops, host). Lives in its own library
 * (mockagent_sim) so neither the guest model nor simhv depends on the other. */
#pragma once

#include <simhv/hv.h>

extern const struct simhv_guest_ops magent_simhv_guest_ops;
