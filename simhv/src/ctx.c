/* SPDX-License-Identifier: Apache-2.0 */
/* Contexts over the world (world.h): the unchanged core gets the virtual clock, the world's
 * generator, a counting allocator, the world's trace and fault plan, an event loop over the
 * world's events and virtual fds, the sim disk's store and the "sim" hypervisor. */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>

#include <simhv/net.h>

#include "world_priv.h"

/* Every block carries its size in a header, so free can count bytes; the header keeps the
 * block's alignment that of max_align_t. */
#define CTX_HDR (sizeof(max_align_t) > sizeof(size_t) ? sizeof(max_align_t) : sizeof(size_t))

/* --- counting allocator --------------------------------------------------------------------- */

static void *ctx_malloc(void *data, size_t size)
{
    struct simhv_ctx *c = data;
    char *p;

    if (size > SIZE_MAX - CTX_HDR)
        return NULL;
    p = malloc(CTX_HDR + size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    c->live_allocs++;
    c->live_bytes += size;
    return p + CTX_HDR;
}

static void ctx_free(void *data, void *ptr)
{
    struct simhv_ctx *c = data;
    char *p;
    size_t size;

    if (!ptr)
        return;
    p = (char *) ptr - CTX_HDR;
    memcpy(&size, p, sizeof(size));
    c->live_allocs--;
    c->live_bytes -= size;
    free(p);
}

static void *ctx_realloc(void *data, void *ptr, size_t size)
{
    struct simhv_ctx *c = data;
    size_t old;
    char *p;

    if (!ptr)
        return ctx_malloc(data, size);
    if (size > SIZE_MAX - CTX_HDR)
        return NULL;
    memcpy(&old, (char *) ptr - CTX_HDR, sizeof(old));
    p = realloc((char *) ptr - CTX_HDR, CTX_HDR + size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    c->live_bytes = c->live_bytes - old + size;
    return p + CTX_HDR;
}

/* --- clock, trace, faults ------------------------------------------------------------------- */

static uint64_t ctx_monotonic(void *data)
{
    return simhv_world_now(((struct simhv_ctx *) data)->w);
}

static int64_t ctx_wall(void *data)
{
    return SIMHV_WALL_EPOCH_NS + (int64_t) simhv_world_now(((struct simhv_ctx *) data)->w);
}

static void ctx_trace(void *data, uint64_t ts_ns, const char *category, const char *name,
                      const char *detail)
{
    struct simhv_ctx *c = data;

    simhv_world_trace_str(c->w, c->name, category, name, detail);
}

/* The fault hook: a crashed context fails everything, as if its process were gone. */
static int ctx_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct simhv_ctx *c = data;
    struct simhv_fault_hit hit;

    if (c->crashed)
        return -ECANCELED;
    if (c->suspended)
        return 0;
    if (!simhv_world_fault_eval(c->w, c, point, &hit))
        return 0;
    return simhv_world_fault_apply(c->w, c, point, &hit);
}

/* --- loop ----------------------------------------------------------------------------------- */

static int loop_watch(void *data, int fd, unsigned events, vc_io_fn *fn, void *fn_data)
{
    struct simhv_ctx *c = data;
    int r;

    if (events && c->crashed)
        return -ECANCELED;
    r = simhv_world_watch(c->w, fd, events, fn, fn_data, c);
    if (r < 0)
        return vc_err(c->vc, r, "cannot watch fd %d: not a virtual fd", fd);
    return 0;
}

static int loop_timer_add(void *data, uint64_t deadline_ns, vc_timer_fn *fn, void *fn_data,
                          uint64_t *ret_id)
{
    struct simhv_ctx *c = data;

    if (c->crashed)
        return -ECANCELED;
    return simhv_world_schedule_owned(c->w, deadline_ns, fn, fn_data, c, ret_id);
}

static void loop_timer_cancel(void *data, uint64_t id)
{
    struct simhv_ctx *c = data;

    simhv_world_cancel(c->w, id);
}

static int loop_run_once(void *data, uint64_t deadline_ns)
{
    struct simhv_ctx *c = data;
    int r;

    if (c->crashed)
        return -ECANCELED;
    r = simhv_world_step(c->w, deadline_ns);
    if (r == -E2BIG)
        return vc_err(c->vc, r, "simulation stopped: %s", simhv_world_stop_reason(c->w));
    if (r == -EDEADLK)
        return vc_err(c->vc, r, "nothing left to happen: the wait would never end");
    return r;
}

static const struct vc_loop_ops ctx_loop_ops = {
    .watch = loop_watch,
    .timer_add = loop_timer_add,
    .timer_cancel = loop_timer_cancel,
    .run_once = loop_run_once,
};

/* --- contexts ------------------------------------------------------------------------------- */

static int ctx_attach(struct simhv_world *w, struct simhv_ctx *c)
{
    struct simhv_ctx **v = realloc(w->ctxs, (w->n_ctxs + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    v[w->n_ctxs++] = c;
    w->ctxs = v;
    return 0;
}

static void ctx_detach(struct simhv_world *w, const struct simhv_ctx *c)
{
    for (size_t i = 0; i < w->n_ctxs; i++) {
        if (w->ctxs[i] == c) {
            memmove(&w->ctxs[i], &w->ctxs[i + 1], (w->n_ctxs - i - 1) * sizeof(w->ctxs[0]));
            w->n_ctxs--;
            return;
        }
    }
}

struct simhv_ctx *simhv_ctx_find(const struct simhv_world *w, const struct vc_ctx *vc)
{
    for (size_t i = 0; vc && i < w->n_ctxs; i++)
        if (w->ctxs[i]->vc == vc)
            return w->ctxs[i];
    return NULL;
}

/* Wires the services into a new core context. The fault hook goes last, so that setup's own
 * allocations are never failed and the point registry starts with the caller's work. */
static int ctx_wire(struct simhv_ctx *c)
{
    struct vc_loop loop = {.ops = &ctx_loop_ops, .data = c};
    int r;

    r = vc_ctx_new(&c->clock, &c->rng, &c->alloc, &c->vc);
    if (r < 0)
        return r;
    if (!simhv_world_options(c->w)->no_trace)
        vc_ctx_set_trace(c->vc, ctx_trace, c);
    vc_ctx_set_loop(c->vc, &loop);
    r = simhv_net_attach(c);
    if (r < 0)
        return r;
    r = simhv_disk_store_new(c, &c->store);
    if (r < 0)
        return r;
    vc_ctx_set_store(c->vc, c->store);
    r = vc_ctx_register_hv(c->vc, &simhv_ops, c->w);
    if (r < 0)
        return r;
    vc_ctx_set_fault(c->vc, ctx_fault, c);
    return 0;
}

int simhv_ctx_new(struct simhv_world *w, const char *name, struct simhv_ctx **ret)
{
    struct simhv_ctx *c;
    int r;

    if (!w || !ret)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    *c = (struct simhv_ctx){
        .w = w,
        .name = strdup(name ? name : "runtime"),
        .clock = {.monotonic = ctx_monotonic, .wall = ctx_wall, .data = c},
        .rng = {.next = vc_xoshiro_next, .data = &w->rng},
        .alloc = {.malloc = ctx_malloc, .realloc = ctx_realloc, .free = ctx_free, .data = c},
    };
    r = c->name ? ctx_attach(w, c) : -ENOMEM;
    if (r < 0) {
        free(c->name);
        free(c);
        return r;
    }
    r = ctx_wire(c);
    if (r < 0)
        goto fail;
    c->base_allocs = c->live_allocs;
    c->base_bytes = c->live_bytes;
    *ret = c;
    return 0;
fail:
    simhv_ctx_free(c);
    return r;
}

void simhv_ctx_free(struct simhv_ctx *c)
{
    if (!c)
        return;
    simhv_net_detach(c);
    simhv_world_drop_owner(c->w, c);
    simhv_disk_release(c->w, c);
    vc_store_free(c->store);
    vc_ctx_free(c->vc);
    ctx_detach(c->w, c);
    free(c->name);
    free(c);
}

size_t simhv_ctx_watch_count(const struct simhv_ctx *c)
{
    return simhv_world_owner_watch_count(c->w, c);
}

struct vc_ctx *simhv_ctx_vc(struct simhv_ctx *c)
{
    return c->vc;
}

const char *simhv_ctx_name(const struct simhv_ctx *c)
{
    return c->name;
}

bool simhv_ctx_crashed(const struct simhv_ctx *c)
{
    return c->crashed;
}

/* What core and its backends hold now beyond the context's own bookkeeping (the core context,
 * its registrations and the store, measured right after setup). Registrations added later
 * count until the context goes. */
size_t simhv_ctx_live_allocs(const struct simhv_ctx *c)
{
    return c->live_allocs > c->base_allocs ? c->live_allocs - c->base_allocs : 0;
}

size_t simhv_ctx_live_bytes(const struct simhv_ctx *c)
{
    return c->live_bytes > c->base_bytes ? c->live_bytes - c->base_bytes : 0;
}

void simhv_ctx_suspend_faults(struct simhv_ctx *c, bool suspend)
{
    c->suspended = suspend;
}
