/* SPDX-License-Identifier: Apache-2.0 */
/* A guest script on its own, for the mockagent daemon's --script: a YAML file with a scenario's
 * `guest:` section, parsed by the scenario parser itself so the syntax is exactly FORMAT.md's. */
#pragma once

#include "scenario.h"
#include "yamltree.h"

/* Reads path, a block mapping with a `guest` key (programs, rules, facts). Other scenario keys
 * are parsed and ignored, so a whole scenario file serves too; a file without `steps` is given
 * a no-op one to satisfy the parser. 0 with *ret, whose script is (*ret)->script (free with
 * vcsim_scenario_free); -EINVAL with d->msg ("FILE:LINE:COL: message"), or -ENOMEM. */
int vcsim_script_load(const char *path, struct vcsim_diag *d, struct vcsim_scenario **ret);
