/* SPDX-License-Identifier: Apache-2.0 */
/* The context: construction, setters, backend registration and lookup, and the thin service
 * accessors the rest of the core uses instead of libc's clock, randomness and malloc. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vc/agent.h>
#include <vc/hv.h>
#include <vc/kata.h>
#include <vc/store.h>

#include "ctx_priv.h"

static void *ctx_std_malloc(void *data, size_t size)
{
    return malloc(size);
}

static void *ctx_std_realloc(void *data, void *ptr, size_t size)
{
    return realloc(ptr, size);
}

static void ctx_std_free(void *data, void *ptr)
{
    free(ptr);
}

static const struct vc_alloc ctx_std_alloc = {
    .malloc = ctx_std_malloc,
    .realloc = ctx_std_realloc,
    .free = ctx_std_free,
};

int vc_ctx_new(const struct vc_clock *clock, const struct vc_rng *rng, const struct vc_alloc *alloc,
               struct vc_ctx **ret)
{
    struct vc_ctx *ctx;

    if (!clock || !clock->monotonic || !clock->wall || !rng || !rng->next || !ret)
        return -EINVAL;
    if (!alloc)
        alloc = &ctx_std_alloc;
    ctx = alloc->malloc(alloc->data, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    *ctx = (struct vc_ctx){
        .clock = *clock,
        .rng = *rng,
        .alloc = *alloc,
        .log_level = VC_LOG_INFO,
    };
    /* The backends built into core: every context knows them. */
    if (vc_ctx_register_agent(ctx, &vc_noop_agent_ops, NULL) < 0 ||
        vc_ctx_register_agent(ctx, &vc_kata_agent_ops, NULL) < 0) {
        vc_ctx_free(ctx);
        return -ENOMEM;
    }
    *ret = ctx;
    return 0;
}

void vc_ctx_free(struct vc_ctx *ctx)
{
    struct vc_alloc alloc;

    if (!ctx)
        return;
    alloc = ctx->alloc;
    vc_real_free(ctx->real);
    for (size_t i = 0; i < ctx->n_agents; i++)
        alloc.free(alloc.data, ctx->agents[i].name);
    for (size_t i = 0; i < ctx->n_hvs; i++)
        alloc.free(alloc.data, ctx->hvs[i].name);
    alloc.free(alloc.data, ctx->agents);
    alloc.free(alloc.data, ctx->hvs);
    alloc.free(alloc.data, ctx);
}

void vc_ctx_set_log(struct vc_ctx *ctx, vc_log_fn *fn, void *data, enum vc_log_level level)
{
    ctx->log_fn = fn;
    ctx->log_data = data;
    ctx->log_level = level;
}

void vc_ctx_set_trace(struct vc_ctx *ctx, vc_trace_fn *fn, void *data)
{
    ctx->trace_fn = fn;
    ctx->trace_data = data;
}

void vc_ctx_set_fault(struct vc_ctx *ctx, vc_fault_fn *fn, void *data)
{
    ctx->fault_fn = fn;
    ctx->fault_data = data;
}

void vc_ctx_set_wire_tap(struct vc_ctx *ctx, vc_wire_tap_fn *fn, void *data)
{
    ctx->wire_tap_fn = fn;
    ctx->wire_tap_data = data;
}

uint64_t vc_ctx_wire_conn(struct vc_ctx *ctx)
{
    return ctx->wire_tap_fn ? ++ctx->wire_conns : 0;
}

void vc_ctx_wire_tap(struct vc_ctx *ctx, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                     const uint8_t *body, size_t len)
{
    if (ctx->wire_tap_fn)
        ctx->wire_tap_fn(ctx->wire_tap_data, conn, dir, hdr, body, len);
}

void vc_ctx_set_store(struct vc_ctx *ctx, struct vc_store *store)
{
    ctx->store = store;
}

void vc_ctx_set_loop(struct vc_ctx *ctx, const struct vc_loop *loop)
{
    ctx->loop = loop ? *loop : (struct vc_loop){0};
}

void vc_ctx_set_agent_factory(struct vc_ctx *ctx, vc_agent_factory_fn *fn, void *data)
{
    ctx->agent_factory = fn;
    ctx->agent_factory_data = data;
}

void vc_ctx_set_hv_factory(struct vc_ctx *ctx, vc_hv_factory_fn *fn, void *data)
{
    ctx->hv_factory = fn;
    ctx->hv_factory_data = data;
}

/* Adds or replaces name in a registration table. */
static int ctx_register(struct vc_ctx *ctx, struct vc_ctx_reg **tab, size_t *n, const char *name,
                        const void *ops, void *data)
{
    struct vc_ctx_reg *v;
    char *copy;

    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*tab)[i].name, name) == 0) {
            (*tab)[i].ops = ops;
            (*tab)[i].data = data;
            return 0;
        }
    }
    copy = vc_strdup(ctx, name);
    if (!copy)
        return -ENOMEM;
    v = vc_realloc(ctx, *tab, (*n + 1) * sizeof(**tab));
    if (!v) {
        vc_free(ctx, copy);
        return -ENOMEM;
    }
    v[*n] = (struct vc_ctx_reg){.name = copy, .ops = ops, .data = data};
    *tab = v;
    (*n)++;
    return 0;
}

int vc_ctx_register_agent(struct vc_ctx *ctx, const struct vc_agent_ops *ops, void *data)
{
    if (!ctx || !ops || !ops->name)
        return -EINVAL;
    return ctx_register(ctx, &ctx->agents, &ctx->n_agents, ops->name, ops, data);
}

int vc_ctx_register_hv(struct vc_ctx *ctx, const struct vc_hv_ops *ops, void *data)
{
    if (!ctx || !ops || !ops->name)
        return -EINVAL;
    return ctx_register(ctx, &ctx->hvs, &ctx->n_hvs, ops->name, ops, data);
}

static const struct vc_ctx_reg *ctx_find(const struct vc_ctx_reg *tab, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].name, name) == 0)
            return &tab[i];
    return NULL;
}

static bool ctx_name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

/* The refusal for a kind that is not registered: retired, known but not built, or unknown. */
static int ctx_kind_refused(struct vc_ctx *ctx, const char *what, const char *kind,
                            const char *const *known, const char *const *retired)
{
    if (ctx_name_in(kind, retired))
        return vc_err(ctx, -EINVAL, "%s kind '%s' is no longer supported", what, kind);
    if (ctx_name_in(kind, known))
        return vc_err(ctx, -EOPNOTSUPP, "%s kind '%s' is not available in this build", what, kind);
    return vc_err(ctx, -EINVAL, "unknown %s kind '%s'", what, kind);
}

int vc_ctx_agent_backend(struct vc_ctx *ctx, const char *kind, struct vc_agent_backend *ret)
{
    static const char *const known[] = {"kata", "mock", "noop", NULL};
    static const char *const retired[] = {"hyperstart", NULL};
    const struct vc_ctx_reg *reg;

    if (!kind || !*kind)
        kind = "kata";
    if (ctx->agent_factory) {
        int r = ctx->agent_factory(ctx->agent_factory_data, kind, ret);
        if (r != -ENOENT)
            return r < 0 ? vc_err(ctx, r, "agent factory refused kind '%s'", kind) : r;
    }
    reg = ctx_find(ctx->agents, ctx->n_agents, kind);
    if (!reg)
        return ctx_kind_refused(ctx, "agent", kind, known, retired);
    *ret = (struct vc_agent_backend){.ops = reg->ops, .data = reg->data};
    return 0;
}

int vc_ctx_hv_backend(struct vc_ctx *ctx, const char *kind, struct vc_hv_backend *ret)
{
    static const char *const known[] = {"qemu", "sim", NULL};
    static const char *const retired[] = {NULL};
    const struct vc_ctx_reg *reg;

    if (!kind || !*kind)
        kind = "qemu";
    if (ctx->hv_factory) {
        int r = ctx->hv_factory(ctx->hv_factory_data, kind, ret);
        if (r != -ENOENT)
            return r < 0 ? vc_err(ctx, r, "hypervisor factory refused kind '%s'", kind) : r;
    }
    reg = ctx_find(ctx->hvs, ctx->n_hvs, kind);
    if (!reg)
        return ctx_kind_refused(ctx, "hypervisor", kind, known, retired);
    *ret = (struct vc_hv_backend){.ops = reg->ops, .data = reg->data};
    return 0;
}

uint64_t vc_now(struct vc_ctx *ctx)
{
    return ctx->clock.monotonic(ctx->clock.data);
}

int64_t vc_wall_now(struct vc_ctx *ctx)
{
    return ctx->clock.wall(ctx->clock.data);
}

uint64_t vc_random(struct vc_ctx *ctx)
{
    return ctx->rng.next(ctx->rng.data);
}

struct vc_store *vc_ctx_store(struct vc_ctx *ctx)
{
    return ctx->store;
}

const struct vc_loop *vc_ctx_loop(struct vc_ctx *ctx)
{
    return ctx->loop.ops ? &ctx->loop : NULL;
}

void *vc_malloc(struct vc_ctx *ctx, size_t size)
{
    if (ctx->fault_fn && ctx->fault_fn(ctx->fault_data, ctx, "alloc") < 0)
        return NULL;
    return ctx->alloc.malloc(ctx->alloc.data, size ? size : 1);
}

void *vc_calloc(struct vc_ctx *ctx, size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    p = vc_malloc(ctx, n * size);
    if (p && n && size)
        memset(p, 0, n * size);
    return p;
}

void *vc_realloc(struct vc_ctx *ctx, void *ptr, size_t size)
{
    if (ctx->fault_fn && ctx->fault_fn(ctx->fault_data, ctx, "alloc") < 0)
        return NULL;
    return ctx->alloc.realloc(ctx->alloc.data, ptr, size ? size : 1);
}

void vc_free(struct vc_ctx *ctx, void *ptr)
{
    if (ptr)
        ctx->alloc.free(ctx->alloc.data, ptr);
}

char *vc_strdup(struct vc_ctx *ctx, const char *s)
{
    size_t len;
    char *p;

    if (!s)
        return NULL;
    len = strlen(s) + 1;
    p = vc_malloc(ctx, len);
    if (p)
        memcpy(p, s, len);
    return p;
}

/* Formats once on the stack when the text is short, twice (measure, then write) otherwise. */
static int ctx_vappendf(struct vc_ctx *ctx, char **s, const char *fmt, va_list ap)
{
    size_t old = *s ? strlen(*s) : 0;
    char stack[256];
    va_list aq;
    char *p;
    int n;

    va_copy(aq, ap);
    n = vsnprintf(stack, sizeof(stack), fmt, aq);
    va_end(aq);
    if (n < 0)
        return vc_err(ctx, -EINVAL, "bad format '%s'", fmt);
    p = vc_realloc(ctx, *s, old + (size_t) n + 1);
    if (!p)
        return vc_err(ctx, -ENOMEM, "out of memory");
    if ((size_t) n < sizeof(stack))
        memcpy(p + old, stack, (size_t) n + 1);
    else
        (void) vsnprintf(p + old, (size_t) n + 1, fmt, ap);
    *s = p;
    return 0;
}

int vc_strappendf(struct vc_ctx *ctx, char **s, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = ctx_vappendf(ctx, s, fmt, ap);
    va_end(ap);
    return r;
}

char *vc_strdupf(struct vc_ctx *ctx, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = ctx_vappendf(ctx, &s, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : s;
}

int vc_fault(struct vc_ctx *ctx, const char *point)
{
    int r;

    if (!ctx->fault_fn)
        return 0;
    r = ctx->fault_fn(ctx->fault_data, ctx, point);
    if (r >= 0)
        return 0;
    vc_trace(ctx, "fault", point, "%s", vc_errno_name(r));
    return vc_err(ctx, r, "fault injected at '%s' (%s)", point, vc_errno_name(r));
}

int vc_ctx_sleep_until(struct vc_ctx *ctx, uint64_t deadline_ns)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);

    if (!loop)
        return vc_err(ctx, -EOPNOTSUPP, "context has no i/o loop");
    while (vc_now(ctx) < deadline_ns) {
        int r = loop->ops->run_once(loop->data, deadline_ns);
        if (r < 0 && r != -ETIMEDOUT)
            return vc_err(ctx, r, "i/o loop failed");
    }
    return 0;
}

int vc_ctx_run_until(struct vc_ctx *ctx, const bool *done, uint64_t deadline_ns)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);

    if (!loop)
        return vc_err(ctx, -EOPNOTSUPP, "context has no i/o loop");
    while (!*done) {
        int r;

        if (vc_now(ctx) >= deadline_ns)
            return -ETIMEDOUT;
        r = loop->ops->run_once(loop->data, deadline_ns);
        if (r < 0 && r != -ETIMEDOUT)
            return vc_err(ctx, r, "i/o loop failed");
    }
    return 0;
}
