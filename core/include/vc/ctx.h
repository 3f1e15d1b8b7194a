/* SPDX-License-Identifier: Apache-2.0 */
/* The context: every service the runtime core may use. Core code reaches time, randomness,
 * memory, logging, tracing, faults, persistence and I/O readiness only through it, so a
 * simulated world can hand the same code a virtual clock, a seeded generator, a disk with
 * faults and a simulated network. No globals: two contexts can live side by side. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/log.h>

struct vc_ctx;
struct vc_agent_ops;
struct vc_hv_ops;
struct vc_store;

/* Clock: both in nanoseconds. monotonic never goes back and drives deadlines; wall is the
 * calendar time, for guest clock sync. */
struct vc_clock {
    uint64_t (*monotonic)(void *data); /* ns since an arbitrary origin */
    int64_t (*wall)(void *data);       /* ns since the Unix epoch */
    void *data;                        /* passed to both */
};

/* Pseudo-random generator: 64 uniformly distributed bits a call. */
struct vc_rng {
    uint64_t (*next)(void *data); /* next value */
    void *data;                   /* generator state */
};

/* xoshiro256** (Blackman and Vigna's public-domain generator): the generator of both worlds.
 * Seeding expands one 64-bit seed with splitmix64, so every seed gives a usable state. */
struct vc_xoshiro {
    uint64_t s[4]; /* state; never all zero */
};

void vc_xoshiro_seed(struct vc_xoshiro *x, uint64_t seed);
/* The next 64 bits; data is a struct vc_xoshiro, so this fits struct vc_rng's next. */
uint64_t vc_xoshiro_next(void *data);

/* Allocator hooks. malloc and realloc return NULL on failure; free accepts NULL. */
struct vc_alloc {
    void *(*malloc)(void *data, size_t size);             /* like malloc(3) */
    void *(*realloc)(void *data, void *ptr, size_t size); /* like realloc(3) */
    void (*free)(void *data, void *ptr);                  /* like free(3) */
    void *data;                                           /* passed to all three */
};

/* Trace sink: one record per operation or event, stamped with the monotonic clock. */
typedef void vc_trace_fn(void *data, uint64_t ts_ns, const char *category, const char *name,
                         const char *detail);

/* Fault hook: asked at every named fault point. Returns 0 to let the operation run, or a
 * negative errno that the operation then fails with. The hook may also act on its world
 * (advance a virtual clock, crash a simulated VM) before it answers. */
typedef int vc_fault_fn(void *data, struct vc_ctx *ctx, const char *point);

/* Which way a frame went, for a wire tap. */
enum vc_wire_dir {
    VC_WIRE_SEND, /* the runtime sent it */
    VC_WIRE_RECV, /* the runtime received it */
};

/* Wire tap: sees each whole ttrpc frame a client made on this context sends (when queued, in
 * wire order) or receives (once complete, before it is handled): its 10 header bytes and its
 * data, both borrowed for the call. conn is the client's serial on this context (1, 2, ... in
 * the order clients were made while a tap was set). For a received frame over
 * VC_TTRPC_MESSAGE_MAX, body is NULL and len 0 (hdr holds the declared length: the data was
 * skipped). For traffic recorders: core never writes what it sees, the callback's owner does. */
typedef void vc_wire_tap_fn(void *data, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                            const uint8_t *body, size_t len);

/* I/O readiness events, as poll(2). */
enum {
    VC_IO_IN = 1u << 0,  /* readable */
    VC_IO_OUT = 1u << 1, /* writable */
    VC_IO_ERR = 1u << 2, /* error or hang-up (reported, never requested) */
};

typedef void vc_io_fn(void *data, int fd, unsigned revents);
typedef void vc_timer_fn(void *data);

/* The I/O loop: fd readiness and timers on the context's monotonic clock. run_once waits
 * until at least one callback ran or deadline_ns passed (-ETIMEDOUT); in simulation waiting
 * means advancing virtual time to the next event. */
struct vc_loop_ops {
    int (*watch)(void *data, int fd, unsigned events, vc_io_fn *fn,
                 void *fn_data); /* events 0 removes */
    int (*timer_add)(void *data, uint64_t deadline_ns, vc_timer_fn *fn, void *fn_data,
                     uint64_t *ret_id);                /* one-shot timer */
    void (*timer_cancel)(void *data, uint64_t id);     /* unknown ids are ignored */
    int (*run_once)(void *data, uint64_t deadline_ns); /* 0, -ETIMEDOUT, or -errno */
};

struct vc_loop {
    const struct vc_loop_ops *ops; /* borrowed */
    void *data;                    /* loop state */
};

/* A backend registered by kind name ("noop", "kata", "mock"; "qemu", "sim"). */
struct vc_agent_backend {
    const struct vc_agent_ops *ops; /* borrowed, static const */
    void *data;                     /* handed to ops->create and ops->load */
};

struct vc_hv_backend {
    const struct vc_hv_ops *ops; /* borrowed, static const */
    void *data;                  /* the backend's world (a simulated host, a test double) */
};

/* Explicit factories (kata's WithNewAgentFunc for both sides). When set, they are asked first
 * with the kind named in the sandbox config and may pick any backend; returning -ENOENT falls
 * back to the registered kinds. */
typedef int vc_agent_factory_fn(void *data, const char *kind, struct vc_agent_backend *ret);
typedef int vc_hv_factory_fn(void *data, const char *kind, struct vc_hv_backend *ret);

/* Creates a context wired to the real world: CLOCK_MONOTONIC/CLOCK_REALTIME, a generator
 * seeded by the kernel (getrandom), malloc, no log sink, no trace, no fault hook, a poll(2) loop,
 * the real transports as its network (vc/url.h),
 * and the filesystem store rooted at root (NULL: $VC_ROOT, else /run/vc for root, else
 * $XDG_RUNTIME_DIR/vc). The "noop" agent is registered. Returns 0 or -errno; *ret is owned by
 * the caller and freed with vc_ctx_free(). */
int vc_ctx_new_real(const char *root, struct vc_ctx **ret);

/* Creates a bare context from caller-supplied services (all borrowed, must outlive it). alloc
 * may be NULL for malloc. No store and no loop are set: add them with the setters below. */
int vc_ctx_new(const struct vc_clock *clock, const struct vc_rng *rng, const struct vc_alloc *alloc,
               struct vc_ctx **ret);

/* NULL-safe. Frees what the context owns (the real services it made, registrations). */
void vc_ctx_free(struct vc_ctx *ctx);

/* Setters. Everything passed is borrowed unless said otherwise. */
void vc_ctx_set_log(struct vc_ctx *ctx, vc_log_fn *fn, void *data, enum vc_log_level level);
void vc_ctx_set_trace(struct vc_ctx *ctx, vc_trace_fn *fn, void *data);
void vc_ctx_set_fault(struct vc_ctx *ctx, vc_fault_fn *fn, void *data);
void vc_ctx_set_store(struct vc_ctx *ctx, struct vc_store *store);    /* borrowed */
void vc_ctx_set_loop(struct vc_ctx *ctx, const struct vc_loop *loop); /* copied */
void vc_ctx_set_agent_factory(struct vc_ctx *ctx, vc_agent_factory_fn *fn, void *data);
void vc_ctx_set_hv_factory(struct vc_ctx *ctx, vc_hv_factory_fn *fn, void *data);
/* Sets the wire tap (NULL: off, a pointer check per frame). Clients made while a tap is set
 * report to whatever tap the context holds when their frames pass; clients made before see none. */
void vc_ctx_set_wire_tap(struct vc_ctx *ctx, vc_wire_tap_fn *fn, void *data);

/* Registers a backend under ops->name, replacing an earlier one of that name. 0 or -ENOMEM. */
int vc_ctx_register_agent(struct vc_ctx *ctx, const struct vc_agent_ops *ops, void *data);
int vc_ctx_register_hv(struct vc_ctx *ctx, const struct vc_hv_ops *ops, void *data);

/* Resolves a kind: the factory first, then registrations. -EINVAL with a clear message for an
 * unknown or retired kind ("hyperstart"); -EOPNOTSUPP for a known kind not in this build. */
int vc_ctx_agent_backend(struct vc_ctx *ctx, const char *kind, struct vc_agent_backend *ret);
int vc_ctx_hv_backend(struct vc_ctx *ctx, const char *kind, struct vc_hv_backend *ret);

/* Services, for core and backends. */
uint64_t vc_now(struct vc_ctx *ctx);                   /* monotonic ns */
int64_t vc_wall_now(struct vc_ctx *ctx);               /* wall ns */
uint64_t vc_random(struct vc_ctx *ctx);                /* 64 random bits */
struct vc_store *vc_ctx_store(struct vc_ctx *ctx);     /* NULL if none */
const struct vc_loop *vc_ctx_loop(struct vc_ctx *ctx); /* NULL if none */

/* Allocation through the context's hooks. vc_new0 is zeroed and checks n*size for overflow.
 * The "alloc" fault point fails an allocation. */
void *vc_malloc(struct vc_ctx *ctx, size_t size);
void *vc_calloc(struct vc_ctx *ctx, size_t n, size_t size);
void *vc_realloc(struct vc_ctx *ctx, void *ptr, size_t size);
void vc_free(struct vc_ctx *ctx, void *ptr);
char *vc_strdup(struct vc_ctx *ctx, const char *s); /* NULL for NULL or on failure */
/* A printf-formatted string from the context's allocator; NULL on failure (-ENOMEM recorded). */
char *vc_strdupf(struct vc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends printf output to *s (NULL starts a new string), growing it with the context's
 * allocator. 0, or -ENOMEM (recorded) with *s unchanged. */
int vc_strappendf(struct vc_ctx *ctx, char **s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define vc_new0(ctx, type, n) ((type *) vc_calloc((ctx), (n), sizeof(type)))

/* Runs the named fault point: 0 if the operation proceeds, or the injected -errno (recorded as
 * the last error). A single pointer check when no hook is set. */
int vc_fault(struct vc_ctx *ctx, const char *point);

/* For the ttrpc client: a new connection serial (1, 2, ...) when a wire tap is set, else 0
 * (no serial used). */
uint64_t vc_ctx_wire_conn(struct vc_ctx *ctx);
/* Hands one frame to the wire tap (no-op without one): see vc_wire_tap_fn. */
void vc_ctx_wire_tap(struct vc_ctx *ctx, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                     const uint8_t *body, size_t len);

/* Emits a trace record (no-op without a sink). */
void vc_trace(struct vc_ctx *ctx, const char *category, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runs the loop until deadline_ns (monotonic): the context's way to sleep. 0, or -errno from
 * the loop; -EOPNOTSUPP without a loop. */
int vc_ctx_sleep_until(struct vc_ctx *ctx, uint64_t deadline_ns);

/* Runs the loop until *done becomes true or deadline_ns passes (-ETIMEDOUT). */
int vc_ctx_run_until(struct vc_ctx *ctx, const bool *done, uint64_t deadline_ns);
