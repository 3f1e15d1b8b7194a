/* SPDX-License-Identifier: Apache-2.0 */
/* Test fixture: a real context over a fresh temporary store root, a simulated world (seed 1)
 * whose hypervisor is registered on it as kind "sim", builders for configs, and a fault hook that
 * fails the Nth hit. The world's hypervisor advances the world's virtual time on its own (boot
 * latency, operation costs), so it runs under the real context without wall-clock waits. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <vc/vc.h>

#include <simhv/hv.h>
#include <simhv/world.h>

#define FIX_MAX_POINTS 4096 /* fault point hits recorded per fixture */
#define FIX_SEED       1 /* the simulated world's seed: every run draws the same boot latencies */

struct fixture {
    char root[256];               /* temporary store root */
    struct vc_ctx *ctx;           /* real context over root */
    struct simhv_world *world;    /* the simulated world: the VMs */
    unsigned fail_at;             /* fail the fail_at-th hit (1-based); 0: never */
    const char *fail_prefix;      /* count only points starting with this (NULL: all) */
    int fail_errno;               /* what the failing hit returns */
    unsigned hits;                /* hits counted so far */
    char *failed_point;           /* the point that failed (strdup'd) */
    char *points[FIX_MAX_POINTS]; /* every point hit, in order (strdup'd) */
    size_t n_points;              /* number of points */
    bool record;                  /* record points */
};

/* Sets up and tears down; both abort the test on failure. */
struct fixture *fixture_new(void);
void fixture_free(struct fixture *fx);

/* Arms the fault hook: the nth counted hit fails with err (negative). Resets counters. */
void fixture_fail_nth(struct fixture *fx, const char *prefix, unsigned nth, int err);
void fixture_clear_points(struct fixture *fx);

/* A sandbox config with id, hypervisor "sim", agent "noop", 1 vCPU (max 4), 256 MiB (max
 * 2048, 4 slots) and n containers named c1..cn. Free with vc_sandbox_config_free. */
struct vc_sandbox_config *fixture_sandbox_config(struct fixture *fx, const char *id, size_t n);
/* The same config made on any context (one without a fixture, as a simulated world's). */
struct vc_sandbox_config *fixture_sandbox_config_in(struct vc_ctx *ctx, const char *id, size_t n);

/* A container config with id and args "sh". Free with fixture_container_config_free. */
struct vc_container_config *fixture_container_config(struct fixture *fx, const char *id);
void fixture_container_config_free(struct fixture *fx, struct vc_container_config *cfg);

/* Number of entries in the store root's sbs/ directory and files below it. */
size_t fixture_store_entries(const struct fixture *fx);
