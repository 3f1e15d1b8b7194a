/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated world: a virtual clock in nanoseconds, an event queue with a deterministic
 * tie-break (time, then the order events were scheduled), a generator seeded once, a trace of
 * every operation and event, a fault plan, a simulated host with VMs (hv.h) and a disk (disk.h).
 * Contexts made by the world hand the unchanged runtime core this clock, generator, disk and
 * event loop; running the loop advances virtual time to the next event. One thread; no globals;
 * two worlds can run side by side in one process. The same seed and the same calls give the same
 * trace, byte for byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/ctx.h>

struct simhv_world;
struct simhv_ctx;
struct simhv_fault_rule;

#define SIMHV_NS_PER_MS UINT64_C(1000000)
#define SIMHV_NS_PER_S  UINT64_C(1000000000)
/* The first virtual fd number: far above any real one. */
#define SIMHV_VFD_BASE 1000000
/* The wall clock of virtual time 0: 2024-01-01T00:00:00Z. */
#define SIMHV_WALL_EPOCH_NS (INT64_C(1704067200) * INT64_C(1000000000))

/* Knobs of the world; zero fields take the defaults named. */
struct simhv_options {
    uint64_t seed;           /* the generator's seed */
    uint64_t boot_min_ns;    /* VM boot latency, drawn uniformly from [min, max] (300 ms) */
    uint64_t boot_max_ns;    /* (900 ms; never below min) */
    uint64_t hv_op_ns;       /* virtual cost of one hypervisor operation, a QMP round trip (1 ms) */
    uint64_t agent_rpc_ns;   /* virtual cost of one agent RPC round trip (200 us) */
    uint64_t store_op_ns;    /* virtual cost of one store operation (50 us) */
    uint64_t disk_capacity;  /* bytes the disk holds before ENOSPC (64 MiB) */
    uint64_t max_virtual_ns; /* the run's virtual time budget; the loop fails past it (1 h) */
    uint64_t max_events;     /* events the run may take before it is stopped (10,000,000) */
    uint64_t max_trace_records; /* trace records before the run is stopped (1,000,000) */
    bool no_trace;              /* keep no trace: nothing formatted, hashed or delivered, no
                                 * trace budget (for fuzzing, which never reads it) */
};

/* A trace sink: every record in order. ts_ns is virtual time; the strings are borrowed. */
typedef void simhv_trace_fn(void *data, uint64_t seq, uint64_t ts_ns, const char *category,
                            const char *name, const char *detail);

typedef void simhv_event_fn(void *data);

/* A world with the options given (NULL: defaults). 0, -EINVAL for contradictory options, or
 * -ENOMEM. Free with simhv_world_free after every context made over it. */
int simhv_world_new(const struct simhv_options *opts, struct simhv_world **ret);
void simhv_world_free(struct simhv_world *w); /* NULL-safe */

/* The options in force (defaults filled in). Borrowed. */
const struct simhv_options *simhv_world_options(const struct simhv_world *w);

/* Virtual time, in ns since the world began. */
uint64_t simhv_world_now(const struct simhv_world *w);
/* 64 bits from the world's generator; every random choice of the world goes through it. */
uint64_t simhv_world_random(struct simhv_world *w);
/* A uniform value in [lo, hi] (lo when hi <= lo). */
uint64_t simhv_world_uniform(struct simhv_world *w, uint64_t lo, uint64_t hi);

/* --- events --------------------------------------------------------------------------------- */

/* Schedules fn(data) at virtual time at_ns (now if in the past). Events at the same time run in
 * the order they were scheduled. 0 or -ENOMEM; *ret_id (may be NULL) cancels it. */
int simhv_world_schedule(struct simhv_world *w, uint64_t at_ns, simhv_event_fn *fn, void *data,
                         uint64_t *ret_id);
/* Cancels a pending event; unknown or already-run ids are ignored. */
void simhv_world_cancel(struct simhv_world *w, uint64_t id);
/* Pending events. */
size_t simhv_world_pending(const struct simhv_world *w);

/* Runs the earliest event due at or before deadline_ns, moving the clock to its time: 0. With
 * none due, the clock moves to deadline_ns and -ETIMEDOUT is returned; with none at all and no
 * deadline (UINT64_MAX), -EDEADLK ("nothing left to happen": the caller would wait forever).
 * -E2BIG once the virtual time budget, the event budget or the trace budget is spent (see
 * simhv_world_stop_reason). */
int simhv_world_step(struct simhv_world *w, uint64_t deadline_ns);
/* Runs events until virtual time reaches deadline_ns (events at deadline_ns included). 0, or
 * the error of simhv_world_step (-EDEADLK only with deadline_ns UINT64_MAX, -E2BIG). */
int simhv_world_run_until(struct simhv_world *w, uint64_t deadline_ns);
/* Why the run was stopped ("event budget of 10 events spent"), or NULL while it may go on.
 * Once stopped, every step fails with -E2BIG. */
const char *simhv_world_stop_reason(const struct simhv_world *w);

/* Virtual file descriptors for the loop's watch(): numbered from 1,000,000 up so they never
 * collide with real ones. The simulated network (a later layer) creates them and reports
 * readiness; the loop calls the watcher from an event. */
int simhv_world_vfd_new(struct simhv_world *w, int *ret_fd);
void simhv_world_vfd_close(struct simhv_world *w, int fd);
/* Marks fd ready for events (VC_IO_*): a watcher asking for any of them runs at the next step.
 * Readiness is delivered once (edge-triggered): the watcher gets the bits it asked for (and
 * VC_IO_ERR) and they are cleared; bits no watcher asked for wait until one does. The producer
 * reports again when the fd is still ready after the watcher ran. An fd that is not open is
 * ignored. */
void simhv_world_vfd_ready(struct simhv_world *w, int fd, unsigned events);
/* Watches registered and virtual fds open: both 0 between steps of a clean run. */
size_t simhv_world_watch_count(const struct simhv_world *w);
size_t simhv_world_vfd_count(const struct simhv_world *w);

/* --- trace ---------------------------------------------------------------------------------- */

/* Sets the sink (NULL to drop records); the hash is kept either way. */
void simhv_world_set_trace(struct simhv_world *w, simhv_trace_fn *fn, void *data);
/* Appends a record at the current virtual time. */
void simhv_world_trace(struct simhv_world *w, const char *category, const char *name,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* FNV-1a 64 over every record so far (time, category, name, detail): two runs of one seed
 * agree on it exactly when their traces agree. */
uint64_t simhv_world_trace_hash(const struct simhv_world *w);
uint64_t simhv_world_trace_count(const struct simhv_world *w);
/* Events run so far. */
uint64_t simhv_world_event_count(const struct simhv_world *w);

/* --- contexts --------------------------------------------------------------------------------- */

/* A context over the world, named for the trace ("runtime", "guest"): the virtual clock (wall =
 * SIMHV_WALL_EPOCH_NS + virtual time), the world's generator, a counting allocator, a trace sink
 * into the world's trace, the fault hook of the world's plan, the event loop, the sim disk's
 * store and the "sim" hypervisor registered with the world as its data. The runtime crash fault
 * crashes this context: from then on every fault point on it fails with -ECANCELED, so the code
 * running unwinds without touching the world again, as if its process had died; the caller
 * frees it and makes a new one (the restarted runtime). 0 or -ENOMEM. */
int simhv_ctx_new(struct simhv_world *w, const char *name, struct simhv_ctx **ret);
/* NULL-safe. Releases the store locks the context still held (its process is gone). */
void simhv_ctx_free(struct simhv_ctx *c);
struct vc_ctx *simhv_ctx_vc(struct simhv_ctx *c);
const char *simhv_ctx_name(const struct simhv_ctx *c);
/* Whether a runtime crash fault hit this context. */
bool simhv_ctx_crashed(const struct simhv_ctx *c);
/* Live allocations made through the context and not freed, and their bytes. Measured from a
 * baseline taken at the end of simhv_ctx_new, so the context's own bookkeeping (the core
 * context, its registrations, the store) does not count: a fresh context reads 0, and so does
 * one between API calls of a clean run. Registrations added later (vc_ctx_register_agent) count
 * until the context goes. */
size_t simhv_ctx_live_allocs(const struct simhv_ctx *c);
size_t simhv_ctx_live_bytes(const struct simhv_ctx *c);
/* I/O watches the context has registered on the world's loop (0 between API calls of a clean
 * run: a runtime keeps nothing watched while idle). */
size_t simhv_ctx_watch_count(const struct simhv_ctx *c);
/* Turns fault injection off (and back on) for this context, for a harness's own checks. */
void simhv_ctx_suspend_faults(struct simhv_ctx *c, bool suspend);
