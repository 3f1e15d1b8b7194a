/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox session the session target fuzzes and fuzz/record.c records: a simulated world in
 * wire mode (the runtime's kata backend dials the mock agent's ttrpc server over the simulated
 * network, the wire's tap on every agent connection), a lifecycle with optional steps, and the
 * check that, faults off, the runtime stops and deletes whatever is left. Static functions only:
 * each program including it has its own copy. */
#pragma once

#include <signal.h>
#include <string.h>

#include <vc/ttrpc.h>
#include <vc/vc.h>

#include <mockagent/host.h>
#include <mockagent/sim.h>
#include <simhv/fault.h>
#include <simhv/hv.h>

#include "fuzz_common.h"

#define FS_SB       "pod"
#define FS_CT       "app"
#define FS_EXEC     "x1"
#define FS_SUBS_MAX 16
#define FS_SUB_MAX  4096 /* bytes of one replacement */

/* Byte 0: which optional steps run, and how many fault rules follow. */
enum {
    FS_OPT_PAUSE = 1u << 0, /* pause and resume the sandbox */
    FS_OPT_QUERY = 1u << 1, /* check, stats, guest details, interfaces, routes */
    FS_OPT_STDIO = 1u << 2, /* write and close the exec's stdin, read its stdout */
    FS_OPT_CTDEL = 1u << 3, /* stop and delete the container before the sandbox */
    FS_OPT_LONG = 1u << 4,  /* keep one agent connection between calls */
};
#define FS_RULES_SHIFT 5

/* Replacement of reply frame index by bytes, per mode. */
enum {
    FS_SUB_RAW,     /* the bytes instead of the whole frame */
    FS_SUB_DATA,    /* the frame's header (length fixed up) with the bytes as data */
    FS_SUB_PAYLOAD, /* the header, then a ttrpc Response{payload: bytes} with status OK */
    FS_SUB_LAST
};

struct fs_sub {
    uint8_t index;    /* reply frame number (over the wire's life) */
    uint8_t mode;     /* FS_SUB_* */
    const uint8_t *p; /* bytes (borrowed input) */
    size_t len;       /* their number */
};

struct fs_run {
    struct simhv_world *w;                             /* the world */
    struct simhv_ctx *gc;                              /* the guest's context */
    struct simhv_ctx *rc;                              /* the runtime's context */
    struct magent_host *host;                          /* the mock agent's guests */
    struct magent_sim_wire *wire;                      /* their ttrpc server */
    struct fs_sub subs[FS_SUBS_MAX];                   /* replacements */
    size_t n_subs;                                     /* number of subs */
    uint8_t out[VC_TTRPC_HEADER_LEN + 6 + FS_SUB_MAX]; /* the replacement handed to the tap */
};

/* Makes the world with tap (and its data) on the wire. */
static inline void fs_setup(struct fs_run *run, const struct magent_sim_tap *tap, void *tap_data)
{
    static char *sleep_argv[] = {"sleep", "**"};
    static char *echo_argv[] = {"echo", "**"};
    static char *cat_argv[] = {"cat"};
    struct magent_program programs[] = {
        {.argv = sleep_argv, .n_argv = 2, .runtime_ns = UINT64_MAX},
        {.argv = echo_argv, .n_argv = 2, .out = "hi\n", .runtime_ns = FZ_MS(1)},
        {.argv = cat_argv, .n_argv = 1, .echo_stdin = true, .runtime_ns = UINT64_MAX},
    };
    struct magent_script script = {.programs = programs, .n_programs = 3};
    struct simhv_options o = {
        .seed = 1,
        .max_virtual_ns = 3600 * SIMHV_NS_PER_S,
        .max_events = 2000000,
        .no_trace = true,
    };

    FZ_ASSERT(simhv_world_new(&o, &run->w) == 0);
    FZ_ASSERT(simhv_ctx_new(run->w, "guest", &run->gc) == 0);
    FZ_ASSERT(magent_host_new(simhv_ctx_vc(run->gc), &script, &run->host) == 0);
    FZ_ASSERT(magent_sim_wire_new(simhv_ctx_vc(run->gc), run->host, &run->wire) == 0);
    magent_sim_wire_set_tap(run->wire, tap, tap_data);
    simhv_world_set_guest(run->w, &magent_simhv_wire_guest_ops, run->wire);
    FZ_ASSERT(simhv_ctx_new(run->w, "runtime", &run->rc) == 0);
}

/* The optional queries; results are freed, errors ignored. */
static inline void fs_query(struct vc_ctx *ctx)
{
    struct vc_container_stats st = {0};
    struct vc_guest_details gd = {0};
    struct vc_interface *ifs = NULL;
    struct vc_route *routes = NULL;
    size_t n = 0;

    (void) vc_sandbox_check(ctx, FS_SB);
    (void) vc_container_stats(ctx, FS_SB, FS_CT, &st);
    if (vc_sandbox_guest_details(ctx, FS_SB, &gd) == 0)
        vc_guest_details_clear(ctx, &gd);
    if (vc_sandbox_list_interfaces(ctx, FS_SB, &ifs, &n) == 0)
        vc_interfaces_free(ctx, ifs, n);
    if (vc_sandbox_list_routes(ctx, FS_SB, &routes, &n) == 0)
        vc_routes_free(ctx, routes, n);
}

/* The exec and what may be done with it. */
static inline void fs_exec(struct vc_ctx *ctx, unsigned opts)
{
    static char *echo_args[] = {"echo", "hi"};
    static char *cat_args[] = {"cat"};
    struct vc_process_config cmd = {.args = echo_args, .n_args = 2};
    struct vc_process proc = {0};
    char buf[64];
    size_t n = 0;
    int32_t status = -1;

    if (opts & FS_OPT_STDIO)
        cmd = (struct vc_process_config){.args = cat_args, .n_args = 1};
    if (vc_container_enter(ctx, FS_SB, FS_CT, FS_EXEC, &cmd, &proc) == 0)
        vc_process_clear(ctx, &proc);
    if (opts & FS_OPT_STDIO) {
        (void) vc_process_write_stdin(ctx, FS_SB, FS_CT, FS_EXEC, "hi\n", 3, &n);
        (void) vc_process_close_stdin(ctx, FS_SB, FS_CT, FS_EXEC);
        (void) vc_process_read_stdout(ctx, FS_SB, FS_CT, FS_EXEC, buf, sizeof(buf), &n);
    }
    (void) vc_process_wait(ctx, FS_SB, FS_CT, FS_EXEC, &status);
}

/* The lifecycle under faults: every call must return; results do not matter. */
static inline void fs_lifecycle(struct fs_run *run, unsigned opts)
{
    static char *sleep_args[] = {"sleep", "infinity"};
    struct vc_ctx *ctx = simhv_ctx_vc(run->rc);
    struct vc_container_config ct = {
        .id = FS_CT,
        .rootfs = "/run/vc/rootfs/" FS_CT,
        .process = {.args = sleep_args, .n_args = 2},
    };
    struct vc_sandbox_config cfg = {
        .id = FS_SB,
        .hv = {.kind = "sim",
               .vcpus = 1,
               .max_vcpus = 4,
               .memory_mb = 256,
               .max_memory_mb = 2048,
               .mem_slots = 8},
        .agent = {.kind = "kata", .long_live_conn = (opts & FS_OPT_LONG) != 0},
    };

    (void) vc_sandbox_run(ctx, &cfg);
    (void) vc_container_create(ctx, FS_SB, &ct);
    (void) vc_container_start(ctx, FS_SB, FS_CT);
    fs_exec(ctx, opts);
    if (opts & FS_OPT_QUERY)
        fs_query(ctx);
    if (opts & FS_OPT_PAUSE) {
        (void) vc_sandbox_pause(ctx, FS_SB);
        (void) vc_sandbox_resume(ctx, FS_SB);
    }
    if (opts & FS_OPT_CTDEL) {
        (void) vc_container_kill(ctx, FS_SB, FS_CT, SIGKILL, false);
        (void) vc_container_stop(ctx, FS_SB, FS_CT, false);
        (void) vc_container_delete(ctx, FS_SB, FS_CT);
    }
    (void) vc_sandbox_stop(ctx, FS_SB, false);
    (void) vc_sandbox_delete(ctx, FS_SB);
    FZ_ASSERT(simhv_ctx_live_allocs(run->rc) == 0);
}

/* Faults and replacements off: whatever is left must stop and delete, leaving no sandbox and no
 * VM. Skipped when a world budget stopped the run (nothing can run any more). */
static inline void fs_cleanup(struct fs_run *run)
{
    struct vc_ctx *ctx = simhv_ctx_vc(run->rc);
    struct vc_sandbox_status *v = NULL;
    size_t n = 0;

    simhv_ctx_suspend_faults(run->rc, true);
    simhv_ctx_suspend_faults(run->gc, true);
    magent_sim_wire_set_tap(run->wire, NULL, NULL);
    if (simhv_world_stop_reason(run->w))
        return;
    FZ_ASSERT(vc_sandbox_list(ctx, &v, &n) == 0);
    for (size_t i = 0; i < n; i++) {
        FZ_ASSERT(vc_sandbox_stop(ctx, v[i].id, true) == 0);
        FZ_ASSERT(vc_sandbox_delete(ctx, v[i].id) == 0);
    }
    vc_sandbox_status_list_free(ctx, v, n);
    FZ_ASSERT(vc_sandbox_list(ctx, &v, &n) == 0);
    FZ_ASSERT(n == 0);
    vc_sandbox_status_list_free(ctx, v, n);
    FZ_ASSERT(simhv_world_vm_count(run->w) == 0);
    FZ_ASSERT(simhv_ctx_live_allocs(run->rc) == 0);
}

/* Frees the world after checking nothing is left behind. */
static inline void fs_free(struct fs_run *run)
{
    simhv_ctx_free(run->rc);
    simhv_world_set_guest(run->w, NULL, NULL);
    magent_sim_wire_free(run->wire);
    magent_host_free(run->host);
    FZ_ASSERT(simhv_ctx_live_allocs(run->gc) == 0);
    simhv_ctx_free(run->gc);
    FZ_ASSERT(simhv_net_stream_count(run->w) == 0);
    FZ_ASSERT(simhv_net_listener_count(run->w) == 0);
    simhv_world_free(run->w);
}
