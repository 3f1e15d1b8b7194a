/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: full sandbox lifecycles in the simulated world with the in-process mock agent
 * (create a sandbox with one container and start it, exec, wait, stop, delete), through the
 * unchanged runtime API; with --wire the runtime's kata backend speaks ttrpc to the mock agent's
 * server over the simulated network instead of calling the guest model in-process. Prints
 * lifecycles per second of wall time on one core, virtual time per lifecycle, the virtual:wall
 * ratio and the peak resident set; with --machine the same figures as "key value" lines for
 * ci/bench. Figures only: nothing asserted. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vc/vc.h>

#include <mockagent/agent.h>
#include <mockagent/host.h>
#include <mockagent/sim.h>
#include <simhv/hv.h>
#include <simhv/world.h>

struct bench {
    struct simhv_world *world;    /* the simulated world */
    struct simhv_ctx *gctx;       /* the guest's context */
    struct simhv_ctx *rctx;       /* the runtime's context */
    struct magent_host *host;     /* the mock agent's guests */
    struct magent_sim_wire *wire; /* their ttrpc server (--wire), or NULL */
    bool use_wire;                /* the kata backend over the simulated network */
};

static double wall_seconds(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int bench_setup(struct bench *b, uint64_t seed)
{
    static char *true_argv[] = {"true"};
    struct magent_program prog = {.argv = true_argv, .n_argv = 1};
    struct magent_script script = {.programs = &prog, .n_programs = 1};
    struct simhv_options opts = {
        .seed = seed,
        .max_virtual_ns = UINT64_MAX / 2, /* hours of virtual time: no budget here */
        .max_events = UINT64_MAX / 2,
        .max_trace_records = UINT64_MAX / 2,
    };
    int r;

    r = simhv_world_new(&opts, &b->world);
    if (r >= 0)
        r = simhv_ctx_new(b->world, "guest", &b->gctx);
    if (r >= 0)
        r = magent_host_new(simhv_ctx_vc(b->gctx), &script, &b->host);
    if (r < 0)
        return r;
    if (b->use_wire) {
        r = magent_sim_wire_new(simhv_ctx_vc(b->gctx), b->host, &b->wire);
        if (r < 0)
            return r;
        simhv_world_set_guest(b->world, &magent_simhv_wire_guest_ops, b->wire);
    } else {
        simhv_world_set_guest(b->world, &magent_simhv_guest_ops, b->host);
    }
    r = simhv_ctx_new(b->world, "runtime", &b->rctx);
    if (r >= 0)
        r = vc_ctx_register_agent(simhv_ctx_vc(b->rctx), &mockagent_ops, b->host);
    return r;
}

static void bench_teardown(struct bench *b)
{
    simhv_ctx_free(b->rctx);
    if (b->world)
        simhv_world_set_guest(b->world, NULL, NULL);
    magent_sim_wire_free(b->wire);
    magent_host_free(b->host);
    simhv_ctx_free(b->gctx);
    simhv_world_free(b->world);
}

/* One lifecycle; 0 or the first error. */
static int lifecycle(struct vc_ctx *ctx, bool wire)
{
    static char *sleep_args[] = {"sleep", "infinity"};
    static char *true_args[] = {"true"};
    struct vc_container_config ct = {
        .id = "app",
        .rootfs = "/run/vc/rootfs/app",
        .process = {.args = sleep_args, .n_args = 2},
    };
    struct vc_sandbox_config cfg = {
        .id = "pod",
        .hv = {.kind = "sim",
               .vcpus = 1,
               .max_vcpus = 4,
               .memory_mb = 256,
               .max_memory_mb = 2048,
               .mem_slots = 8},
        .agent = {.kind = wire ? "kata" : "mock"},
        .containers = &ct,
        .n_containers = 1,
    };
    struct vc_process_config cmd = {.args = true_args, .n_args = 1};
    struct vc_process proc = {0};
    int32_t status = -1;
    int r;

    r = vc_sandbox_run(ctx, &cfg);
    if (r >= 0)
        r = vc_container_enter(ctx, "pod", "app", "x1", &cmd, &proc);
    vc_process_clear(ctx, &proc);
    if (r >= 0)
        r = vc_process_wait(ctx, "pod", "app", "x1", &status);
    if (r >= 0 && status != 0)
        r = -EPROTO;
    if (r >= 0)
        r = vc_sandbox_stop(ctx, "pod", false);
    if (r >= 0)
        r = vc_sandbox_delete(ctx, "pod");
    return r;
}

/* The figures as "key value" lines, one each, for scripts. */
static void print_machine(const struct bench *b, long n, double wall, uint64_t virt,
                          const struct rusage *ru)
{
    printf("agent %s\n", b->use_wire ? "wire" : "direct");
    printf("lifecycles %ld\n", n);
    printf("wall_s %.6f\n", wall);
    printf("lifecycles_per_s %.1f\n", (double) n / wall);
    printf("wall_us_per_lifecycle %.2f\n", wall * 1e6 / (double) n);
    printf("virtual_ms_per_lifecycle %.3f\n", (double) virt / 1e6 / (double) n);
    printf("virtual_wall_ratio %.1f\n", (double) virt / 1e9 / wall);
    printf("events %llu\n", (unsigned long long) simhv_world_event_count(b->world));
    printf("trace_records %llu\n", (unsigned long long) simhv_world_trace_count(b->world));
    printf("peak_rss_kib %ld\n", ru->ru_maxrss);
}

static void print_text(const struct bench *b, long n, double wall, uint64_t virt,
                       const struct rusage *ru)
{
    printf("agent                %s\n", b->use_wire
                                            ? "kata over ttrpc on the simulated network (wire)"
                                            : "in-process mock (direct)");
    printf("lifecycles           %ld (run sandbox with 1 container, exec, wait, stop, delete)\n",
           n);
    printf("wall                 %.3f s\n", wall);
    printf("lifecycles/s         %.0f (one core)\n", (double) n / wall);
    printf("wall per lifecycle   %.1f us\n", wall * 1e6 / (double) n);
    printf("virtual per lifecycle %.1f ms\n", (double) virt / 1e6 / (double) n);
    printf("virtual:wall         %.0f:1\n", (double) virt / 1e9 / wall);
    printf("events               %llu\n", (unsigned long long) simhv_world_event_count(b->world));
    printf("trace records        %llu\n", (unsigned long long) simhv_world_trace_count(b->world));
    printf("peak rss             %ld KiB\n", ru->ru_maxrss);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    bool machine = false;
    long n = 20000;
    struct rusage ru;
    double t0, wall;
    uint64_t virt;
    int r;

    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--wire") == 0) {
            b.use_wire = true;
        } else if (strcmp(argv[i], "--machine") == 0) {
            machine = true;
        } else {
            n = strtol(argv[i], &end, 10);
            if (*end)
                n = 0;
        }
    }
    if (n <= 0) {
        fprintf(stderr, "usage: %s [--wire] [--machine] [LIFECYCLES]\n", argv[0]);
        return 2;
    }
    r = bench_setup(&b, 1);
    if (r < 0) {
        fprintf(stderr, "setup: %s\n", strerror(-r));
        bench_teardown(&b);
        return 1;
    }
    t0 = wall_seconds();
    for (long i = 0; i < n && r >= 0; i++)
        r = lifecycle(simhv_ctx_vc(b.rctx), b.use_wire);
    wall = wall_seconds() - t0;
    virt = simhv_world_now(b.world);
    if (r < 0) {
        fprintf(stderr, "lifecycle failed: %s\n", vc_ctx_errmsg(simhv_ctx_vc(b.rctx)));
        bench_teardown(&b);
        return 1;
    }
    (void) getrusage(RUSAGE_SELF, &ru);
    if (machine)
        print_machine(&b, n, wall, virt, &ru);
    else
        print_text(&b, n, wall, virt, &ru);
    bench_teardown(&b);
    return 0;
}
