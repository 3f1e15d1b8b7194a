/* SPDX-License-Identifier: Apache-2.0 */
/* One run of a scenario with one seed: the world, the guest host, the runtime context, and
 * what the step executors (steps.c) and the invariant checks (invariants.c) share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <mockagent/host.h>
#include <simhv/world.h>

#include "buf.h"
#include "scenario.h"
#include "vcsim.h"

/* What a step gave besides its return code. */
struct vcsim_outcome {
    char *output;              /* text output (malloc), or NULL */
    size_t output_len;         /* bytes in output */
    bool has_count;            /* count is set */
    uint64_t count;            /* number of results */
    bool has_status;           /* status is set */
    int32_t status;            /* exit status */
    json_object *result;       /* result as JSON, or NULL */
    char fail[VCSIM_DIAG_MAX]; /* a world check that did not hold ("" if none) */
};

struct vcsim_run {
    const struct vcsim_scenario *sc;   /* the scenario (borrowed) */
    const struct vcsim_run_opts *opts; /* options (borrowed) */
    struct vcsim_result *res;          /* where the result goes */
    struct simhv_world *world;         /* the world */
    struct simhv_ctx *gctx;            /* the guest's context */
    struct simhv_ctx *rctx;            /* the runtime's context (replaced on a crash) */
    struct magent_host *host;          /* the mock agent's guests */
    struct magent_sim_wire *wire;      /* their ttrpc server (wire mode), or NULL */
    size_t baseline_allocs;            /* runtime allocations right after it started */
    unsigned restarts;                 /* runtime restarts so far */
    bool crashed;                      /* the current step crashed the runtime */
    bool existed_before;               /* the current create step's sandbox was stored before */
    const char *errmsg;                /* the current step's error message ("" if none) */
    struct vcsim_buf log;              /* captured trace and log (verbose) */
    struct vcsim_buf trace;            /* JSONL trace records (--trace) */
};

/* Whether the run speaks the wire protocol (world.agent: wire, or forced by the options). */
bool vcsim_run_wire(const struct vcsim_scenario *sc, const struct vcsim_run_opts *opts);
/* Whether only invariants are checked (the options' or the scenario's invariants.only). */
bool vcsim_run_lenient(const struct vcsim_run *run);
/* The runtime's vc context. */
struct vc_ctx *vcsim_run_vc(struct vcsim_run *run);
/* Replaces the runtime with a fresh one over the same world. 0 or -ENOMEM. */
int vcsim_run_restart(struct vcsim_run *run);
/* Runs check_sandbox on every stored live sandbox whose VM died (faults suspended). */
void vcsim_run_monitor(struct vcsim_run *run);
/* Checks the invariants after step st (NULL: at the end); "" or the violation in msg. */
void vcsim_run_invariants(struct vcsim_run *run, const struct vcsim_step *st, int rc, char *msg,
                          size_t len);
/* Whether a sandbox is stored (faults suspended). */
bool vcsim_run_stored(struct vcsim_run *run, const char *sandbox_id);
/* The fault rule named key (its name, or its position from 0), or NULL. */
const struct simhv_fault_rule *vcsim_run_fault(struct vcsim_run *run, const char *key);
/* The ids a step is about: sandbox and container (either may be NULL). */
void vcsim_step_target(const struct vcsim_step *st, const char **ret_sandbox,
                       const char **ret_container);
