/* SPDX-License-Identifier: Apache-2.0 */
/* The world's clock, event queue, generator, budgets, virtual fds and trace (world.h). Time
 * moves only here: a step runs the earliest event due, or moves the clock to the deadline. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world_priv.h"

#define WORLD_FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define WORLD_FNV_PRIME  UINT64_C(0x100000001b3)
#define WORLD_DETAIL_MAX 1024 /* detail formatted on the stack; longer ones are allocated */

static const struct simhv_options world_defaults = {
    .boot_min_ns = 300 * SIMHV_NS_PER_MS,
    .boot_max_ns = 900 * SIMHV_NS_PER_MS,
    .hv_op_ns = 1 * SIMHV_NS_PER_MS,
    .agent_rpc_ns = 200 * UINT64_C(1000),
    .store_op_ns = 50 * UINT64_C(1000),
    .disk_capacity = UINT64_C(64) << 20,
    .max_virtual_ns = 3600 * SIMHV_NS_PER_S,
    .max_events = 10000000,
    .max_trace_records = 1000000,
};

static uint64_t world_or(uint64_t v, uint64_t def)
{
    return v ? v : def;
}

/* Fills the defaults in; -EINVAL for a boot range that goes backwards. */
static int world_options(const struct simhv_options *in, struct simhv_options *out)
{
    const struct simhv_options *d = &world_defaults;
    struct simhv_options o = in ? *in : (struct simhv_options){0};

    if (o.boot_max_ns && o.boot_max_ns < o.boot_min_ns)
        return -EINVAL;
    o.boot_min_ns = world_or(o.boot_min_ns, d->boot_min_ns);
    o.boot_max_ns = world_or(o.boot_max_ns, d->boot_max_ns);
    if (o.boot_max_ns < o.boot_min_ns)
        o.boot_max_ns = o.boot_min_ns;
    o.hv_op_ns = world_or(o.hv_op_ns, d->hv_op_ns);
    o.agent_rpc_ns = world_or(o.agent_rpc_ns, d->agent_rpc_ns);
    o.store_op_ns = world_or(o.store_op_ns, d->store_op_ns);
    o.disk_capacity = world_or(o.disk_capacity, d->disk_capacity);
    o.max_virtual_ns = world_or(o.max_virtual_ns, d->max_virtual_ns);
    o.max_events = world_or(o.max_events, d->max_events);
    o.max_trace_records = world_or(o.max_trace_records, d->max_trace_records);
    *out = o;
    return 0;
}

int simhv_world_new(const struct simhv_options *opts, struct simhv_world **ret)
{
    struct simhv_options o;
    struct simhv_world *w;
    int r;

    if (!ret)
        return -EINVAL;
    r = world_options(opts, &o);
    if (r < 0)
        return r;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct simhv_world){
        .opts = o,
        .next_id = 1,
        .trace_hash = WORLD_FNV_OFFSET,
        .disk = {.capacity = o.disk_capacity},
    };
    vc_xoshiro_seed(&w->rng, o.seed);
    *ret = w;
    return 0;
}

void simhv_world_free(struct simhv_world *w)
{
    if (!w)
        return;
    simhv_vms_free(w);
    simhv_disk_free(w);
    simhv_fault_free_all(w);
    free(w->heap);
    free(w->vfds);
    free(w->ctxs);
    free(w);
}

const struct simhv_options *simhv_world_options(const struct simhv_world *w)
{
    return &w->opts;
}

uint64_t simhv_world_now(const struct simhv_world *w)
{
    return w->now;
}

uint64_t simhv_world_random(struct simhv_world *w)
{
    return vc_xoshiro_next(&w->rng);
}

uint64_t simhv_world_uniform(struct simhv_world *w, uint64_t lo, uint64_t hi)
{
    uint64_t span, limit, v;

    if (hi <= lo)
        return lo;
    span = hi - lo + 1;
    if (span == 0)
        return simhv_world_random(w);
    /* Rejection keeps the draw unbiased; the draws it takes are fixed by the seed too. */
    limit = UINT64_MAX - UINT64_MAX % span;
    do {
        v = simhv_world_random(w);
    } while (v >= limit);
    return lo + v % span;
}

const char *simhv_world_stop_reason(const struct simhv_world *w)
{
    return w->stopped ? w->stop_msg : NULL;
}

/* --- events --------------------------------------------------------------------------------- */

static bool event_before(const struct simhv_event *a, const struct simhv_event *b)
{
    return a->at < b->at || (a->at == b->at && a->id < b->id);
}

static void heap_swap(struct simhv_event *h, size_t i, size_t j)
{
    struct simhv_event t = h[i];

    h[i] = h[j];
    h[j] = t;
}

static void heap_up(struct simhv_event *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!event_before(&h[i], &h[parent]))
            break;
        heap_swap(h, i, parent);
        i = parent;
    }
}

static void heap_down(struct simhv_event *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < n && event_before(&h[l], &h[m]))
            m = l;
        if (r < n && event_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

/* Removes slot i of the heap. */
static void heap_remove(struct simhv_world *w, size_t i)
{
    w->n_heap--;
    if (i == w->n_heap)
        return;
    w->heap[i] = w->heap[w->n_heap];
    heap_up(w->heap, i);
    heap_down(w->heap, w->n_heap, i);
}

int simhv_world_schedule_owned(struct simhv_world *w, uint64_t at_ns, simhv_event_fn *fn,
                               void *data, const void *owner, uint64_t *ret_id)
{
    if (!fn)
        return -EINVAL;
    if (w->n_heap == w->cap_heap) {
        size_t cap = w->cap_heap ? w->cap_heap * 2 : 64;
        struct simhv_event *h = realloc(w->heap, cap * sizeof(*h));

        if (!h)
            return -ENOMEM;
        w->heap = h;
        w->cap_heap = cap;
    }
    w->heap[w->n_heap] = (struct simhv_event){
        .at = at_ns < w->now ? w->now : at_ns,
        .id = w->next_id++,
        .fn = fn,
        .data = data,
        .owner = owner,
    };
    if (ret_id)
        *ret_id = w->heap[w->n_heap].id;
    w->n_heap++;
    heap_up(w->heap, w->n_heap - 1);
    return 0;
}

int simhv_world_schedule(struct simhv_world *w, uint64_t at_ns, simhv_event_fn *fn, void *data,
                         uint64_t *ret_id)
{
    return simhv_world_schedule_owned(w, at_ns, fn, data, NULL, ret_id);
}

void simhv_world_cancel(struct simhv_world *w, uint64_t id)
{
    if (id == 0)
        return;
    for (size_t i = 0; i < w->n_heap; i++) {
        if (w->heap[i].id == id) {
            heap_remove(w, i);
            return;
        }
    }
}

size_t simhv_world_pending(const struct simhv_world *w)
{
    return w->n_heap;
}

uint64_t simhv_world_event_count(const struct simhv_world *w)
{
    return w->n_events;
}

static int world_stop(struct simhv_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Ends the run: a budget is spent. Every later step fails the same way. */
static int world_stop(struct simhv_world *w, const char *fmt, ...)
{
    va_list ap;

    if (!w->stopped) {
        va_start(ap, fmt);
        (void) vsnprintf(w->stop_msg, sizeof(w->stop_msg), fmt, ap);
        va_end(ap);
        w->stopped = true;
    }
    return -E2BIG;
}

int simhv_world_step(struct simhv_world *w, uint64_t deadline_ns)
{
    uint64_t limit = deadline_ns < w->opts.max_virtual_ns ? deadline_ns : w->opts.max_virtual_ns;
    struct simhv_event ev;

    if (w->stopped)
        return -E2BIG;
    if (w->n_heap > 0 && w->heap[0].at <= limit) {
        if (w->n_events >= w->opts.max_events)
            return world_stop(w, "event budget of %" PRIu64 " events spent", w->opts.max_events);
        ev = w->heap[0];
        heap_remove(w, 0);
        if (ev.at > w->now)
            w->now = ev.at;
        w->n_events++;
        ev.fn(ev.data);
        return 0;
    }
    if (deadline_ns == UINT64_MAX && w->n_heap == 0)
        return -EDEADLK;
    if (deadline_ns > w->opts.max_virtual_ns) {
        if (w->now < w->opts.max_virtual_ns)
            w->now = w->opts.max_virtual_ns;
        return world_stop(w, "virtual time budget of %" PRIu64 " ms spent",
                          w->opts.max_virtual_ns / SIMHV_NS_PER_MS);
    }
    if (deadline_ns > w->now)
        w->now = deadline_ns;
    return -ETIMEDOUT;
}

int simhv_world_run_until(struct simhv_world *w, uint64_t deadline_ns)
{
    for (;;) {
        int r = simhv_world_step(w, deadline_ns);

        if (r == -ETIMEDOUT)
            return 0;
        if (r < 0)
            return r;
    }
}

/* --- virtual fds ---------------------------------------------------------------------------- */

static struct simhv_vfd *vfd_get(struct simhv_world *w, int fd)
{
    size_t i;

    if (fd < SIMHV_VFD_BASE)
        return NULL;
    i = (size_t) (fd - SIMHV_VFD_BASE);
    return i < w->n_vfd_slots && w->vfds[i].open ? &w->vfds[i] : NULL;
}

/* Delivers pending readiness to every watcher that asked for it, in fd order. */
static void vfd_dispatch(void *data)
{
    struct simhv_world *w = data;

    w->io_event = 0;
    /* Watchers may open, close or watch fds: re-read the table each round. */
    for (size_t i = 0; i < w->n_vfd_slots; i++) {
        struct simhv_vfd *v = &w->vfds[i];
        unsigned rev = v->ready & (v->events | VC_IO_ERR);

        if (!v->open || !v->fn || !v->events || !rev)
            continue;
        v->ready &= ~rev;
        v->fn(v->fn_data, SIMHV_VFD_BASE + (int) i, rev);
    }
}

/* Makes sure a dispatch runs at the next step when a watcher has something to hear. */
static void vfd_kick(struct simhv_world *w, const struct simhv_vfd *v)
{
    if (w->io_event || !v->fn || !v->events || !(v->ready & (v->events | VC_IO_ERR)))
        return;
    /* On -ENOMEM the readiness stays pending and the next kick retries. */
    (void) simhv_world_schedule(w, w->now, vfd_dispatch, w, &w->io_event);
}

int simhv_world_vfd_new(struct simhv_world *w, int *ret_fd)
{
    size_t i;

    for (i = 0; i < w->n_vfd_slots && w->vfds[i].open; i++)
        ;
    if (i == w->n_vfd_slots) {
        size_t cap = w->n_vfd_slots ? w->n_vfd_slots * 2 : 16;
        struct simhv_vfd *v;

        if (cap > (size_t) (INT32_MAX - SIMHV_VFD_BASE))
            return -EMFILE;
        v = realloc(w->vfds, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        memset(v + w->n_vfd_slots, 0, (cap - w->n_vfd_slots) * sizeof(*v));
        w->vfds = v;
        w->n_vfd_slots = cap;
    }
    w->vfds[i] = (struct simhv_vfd){.open = true};
    w->n_vfds++;
    *ret_fd = SIMHV_VFD_BASE + (int) i;
    return 0;
}

void simhv_world_vfd_close(struct simhv_world *w, int fd)
{
    struct simhv_vfd *v = vfd_get(w, fd);

    if (!v)
        return;
    if (v->fn)
        w->n_watches--;
    *v = (struct simhv_vfd){0};
    w->n_vfds--;
}

void simhv_world_vfd_ready(struct simhv_world *w, int fd, unsigned events)
{
    struct simhv_vfd *v = vfd_get(w, fd);

    if (!v)
        return;
    v->ready |= events;
    vfd_kick(w, v);
}

int simhv_world_watch(struct simhv_world *w, int fd, unsigned events, vc_io_fn *fn, void *fn_data,
                      const void *owner)
{
    struct simhv_vfd *v = vfd_get(w, fd);

    if (!v)
        return events ? -EBADF : 0;
    if (v->fn)
        w->n_watches--;
    if (!events || !fn) {
        v->fn = NULL;
        v->events = 0;
        v->fn_data = NULL;
        v->owner = NULL;
        return 0;
    }
    v->fn = fn;
    v->events = events;
    v->fn_data = fn_data;
    v->owner = owner;
    w->n_watches++;
    vfd_kick(w, v);
    return 0;
}

void simhv_world_drop_owner(struct simhv_world *w, const void *owner)
{
    for (size_t i = 0; i < w->n_heap;) {
        if (w->heap[i].owner == owner)
            heap_remove(w, i);
        else
            i++;
    }
    for (size_t i = 0; i < w->n_vfd_slots; i++) {
        struct simhv_vfd *v = &w->vfds[i];

        if (v->open && v->fn && v->owner == owner) {
            v->fn = NULL;
            v->events = 0;
            v->fn_data = NULL;
            v->owner = NULL;
            w->n_watches--;
        }
    }
}

size_t simhv_world_watch_count(const struct simhv_world *w)
{
    return w->n_watches;
}

size_t simhv_world_owner_watch_count(const struct simhv_world *w, const void *owner)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_vfd_slots; i++)
        n += w->vfds[i].open && w->vfds[i].fn && w->vfds[i].owner == owner;
    return n;
}

size_t simhv_world_vfd_count(const struct simhv_world *w)
{
    return w->n_vfds;
}

/* --- trace ---------------------------------------------------------------------------------- */

void simhv_world_set_trace(struct simhv_world *w, simhv_trace_fn *fn, void *data)
{
    w->trace_fn = fn;
    w->trace_data = data;
}

static uint64_t fnv_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char) p[i];
        h *= WORLD_FNV_PRIME;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= WORLD_FNV_PRIME;
    }
    return h;
}

/* The decimal digits of v, ending at end (no NUL); returns where they start. */
static char *trace_u64(char *end, uint64_t v)
{
    do {
        *--end = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Hands a record to the sink; a context's record gets its "[<context>] " prefix. */
static void trace_deliver(struct simhv_world *w, const char *ctx_name, const char *category,
                          const char *name, const char *detail)
{
    char buf[WORLD_DETAIL_MAX];
    char *heap = NULL, *d = buf;
    size_t nc, nd;

    if (!ctx_name) {
        w->trace_fn(w->trace_data, w->trace_count, w->now, category, name, detail);
        return;
    }
    nc = strlen(ctx_name);
    nd = strlen(detail);
    if (nc + nd + 4 > sizeof(buf))
        d = heap = malloc(nc + nd + 4);
    if (d) {
        d[0] = '[';
        memcpy(d + 1, ctx_name, nc);
        memcpy(d + 1 + nc, "] ", 2);
        memcpy(d + 3 + nc, detail, nd + 1);
    }
    w->trace_fn(w->trace_data, w->trace_count, w->now, category, name, d ? d : detail);
    free(heap);
}

/* The canonical text of a record is "<ts>\x1f<category>\x1f<name>\x1f<detail>\x1e", where the
 * detail of a context's record starts with "[<context>] ". It is hashed as it goes, never
 * assembled. */
static void trace_emit(struct simhv_world *w, const char *ctx_name, const char *category,
                       const char *name, const char *detail)
{
    char ts[24];
    char *digits = trace_u64(ts + sizeof(ts), w->now);
    uint64_t h = w->trace_hash;

    h = fnv_bytes(h, digits, (size_t) (ts + sizeof(ts) - digits));
    h = fnv_bytes(h, "\x1f", 1);
    h = fnv_str(h, category);
    h = fnv_bytes(h, "\x1f", 1);
    h = fnv_str(h, name);
    h = fnv_bytes(h, "\x1f", 1);
    if (ctx_name) {
        h = fnv_bytes(h, "[", 1);
        h = fnv_str(h, ctx_name);
        h = fnv_bytes(h, "] ", 2);
    }
    h = fnv_str(h, detail);
    h = fnv_bytes(h, "\x1e", 1);
    w->trace_hash = h;
    w->trace_count++;
    if (w->trace_fn)
        trace_deliver(w, ctx_name, category, name, detail);
}

/* One record, unless the trace budget is spent (then the run stops, saying so once). */
static void trace_record(struct simhv_world *w, const char *ctx_name, const char *category,
                         const char *name, const char *detail)
{
    if (w->opts.no_trace)
        return;
    if (w->trace_count >= w->opts.max_trace_records) {
        if (!w->stopped) {
            (void) world_stop(w, "trace budget of %" PRIu64 " records spent",
                              w->opts.max_trace_records);
            trace_emit(w, NULL, "world", "stop", w->stop_msg);
        }
        return;
    }
    trace_emit(w, ctx_name, category ? category : "", name ? name : "", detail ? detail : "");
}

void simhv_world_trace_str(struct simhv_world *w, const char *ctx_name, const char *category,
                           const char *name, const char *detail)
{
    trace_record(w, ctx_name, category, name, detail);
}

void simhv_world_trace(struct simhv_world *w, const char *category, const char *name,
                       const char *fmt, ...)
{
    char buf[WORLD_DETAIL_MAX];
    char *heap = NULL;
    va_list ap;
    int n;

    if (w->opts.no_trace)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
    else if (n >= (int) sizeof(buf) && (heap = malloc((size_t) n + 1))) {
        va_start(ap, fmt);
        (void) vsnprintf(heap, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }
    trace_record(w, NULL, category, name, heap ? heap : buf);
    free(heap);
}

uint64_t simhv_world_trace_hash(const struct simhv_world *w)
{
    return w->trace_hash;
}

uint64_t simhv_world_trace_count(const struct simhv_world *w)
{
    return w->trace_count;
}
