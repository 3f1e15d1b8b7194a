/* SPDX-License-Identifier: Apache-2.0 */
/* The layout of struct vc_ctx, shared by the few core files that implement the context. */
#pragma once

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>

struct vc_real;

struct vc_ctx_reg {
    char *name;      /* kind name (copied) */
    const void *ops; /* struct vc_agent_ops or vc_hv_ops */
    void *data;      /* backend data */
};

struct vc_ctx {
    struct vc_clock clock;              /* time */
    struct vc_rng rng;                  /* randomness */
    struct vc_alloc alloc;              /* memory */
    vc_log_fn *log_fn;                  /* log sink, or NULL */
    void *log_data;                     /* passed to log_fn */
    enum vc_log_level log_level;        /* most verbose level delivered */
    vc_trace_fn *trace_fn;              /* trace sink, or NULL */
    void *trace_data;                   /* passed to trace_fn */
    vc_fault_fn *fault_fn;              /* fault hook, or NULL */
    void *fault_data;                   /* passed to fault_fn */
    vc_wire_tap_fn *wire_tap_fn;        /* wire tap, or NULL */
    void *wire_tap_data;                /* passed to wire_tap_fn */
    uint64_t wire_conns;                /* connection serials handed out to clients */
    struct vc_store *store;             /* persistence (borrowed or owned via real) */
    struct vc_loop loop;                /* I/O loop (ops NULL if none) */
    struct vc_net net;                  /* network service (ops NULL if none) */
    vc_agent_factory_fn *agent_factory; /* explicit agent factory, or NULL */
    void *agent_factory_data;           /* passed to agent_factory */
    vc_hv_factory_fn *hv_factory;       /* explicit hypervisor factory, or NULL */
    void *hv_factory_data;              /* passed to hv_factory */
    struct vc_ctx_reg *agents;          /* registered agent kinds */
    size_t n_agents;                    /* number of agents */
    struct vc_ctx_reg *hvs;             /* registered hypervisor kinds */
    size_t n_hvs;                       /* number of hvs */
    struct vc_real *real;               /* real-world services this context owns, or NULL */
    int err_code;                       /* last error code, 0 if none */
    char err_msg[VC_ERR_MSG_MAX];       /* last error message */
};

/* Frees the real-world services a context made in vc_ctx_new_real (ctx_real.c). NULL-safe. */
void vc_real_free(struct vc_real *real);
