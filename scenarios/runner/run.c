/* SPDX-License-Identifier: Apache-2.0 */
/* One run of a scenario with one seed: builds the world (options, fault plan, guest host,
 * runtime context), runs every step with its expectations, the monitor and the invariants,
 * restarts a crashed runtime, and tears everything down. Everything that reaches the world
 * comes from the scenario and the seed; wall time is measured only for the report. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vc/kata.h>

#include <mockagent/agent.h>
#include <mockagent/host.h>
#include <mockagent/sim.h>
#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/hv.h>

#include "run.h"
#include "value.h"
#include "wall.h"

/* --- sinks ------------------------------------------------------------------------------- */

static void run_trace(void *data, uint64_t seq, uint64_t ts_ns, const char *cat, const char *name,
                      const char *detail)
{
    struct vcsim_run *run = data;

    if (run->opts->capture_log)
        vcsim_buf_printf(&run->log, "%6" PRIu64 " %10.6f %-8s %-24s %s\n", seq,
                         (double) ts_ns / 1e9, cat, name, detail ? detail : "");
    if (!run->opts->trace_jsonl)
        return;
    vcsim_buf_add(&run->trace, "{\"run\":", 7);
    vcsim_buf_json_str(&run->trace, run->sc->name, strlen(run->sc->name));
    vcsim_buf_printf(&run->trace,
                     ",\"seed\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"t_ns\":%" PRIu64 ",\"cat\":",
                     run->res->seed, seq, ts_ns);
    vcsim_buf_json_str(&run->trace, cat, strlen(cat));
    vcsim_buf_add(&run->trace, ",\"name\":", 8);
    vcsim_buf_json_str(&run->trace, name, strlen(name));
    vcsim_buf_add(&run->trace, ",\"detail\":", 10);
    vcsim_buf_json_str(&run->trace, detail ? detail : "", detail ? strlen(detail) : 0);
    vcsim_buf_add(&run->trace, "}\n", 2);
}

static void run_log(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                    const char *msg)
{
    struct vcsim_run *run = data;

    vcsim_buf_printf(&run->log, "       %10.6f log      %s %s: %s\n", (double) ts_ns / 1e9,
                     vc_log_level_to_string(level), topic ? topic : "", msg);
}

/* --- runtime lifecycle ------------------------------------------------------------------- */

struct vc_ctx *vcsim_run_vc(struct vcsim_run *run)
{
    return simhv_ctx_vc(run->rctx);
}

bool vcsim_run_wire(const struct vcsim_scenario *sc, const struct vcsim_run_opts *opts)
{
    if (opts->agent == VCSIM_AGENT_SCENARIO || sc->agent_given)
        return sc->wire;
    return opts->agent == VCSIM_AGENT_WIRE;
}

/* In wire mode the scenarios' agent kind "mock" means the kata backend: the same guests,
 * reached over ttrpc on the simulated network. */
static int run_agent_factory(void *data, const char *kind, struct vc_agent_backend *ret)
{
    if (!kind || strcmp(kind, "mock") != 0)
        return -ENOENT;
    *ret = (struct vc_agent_backend){.ops = &vc_kata_agent_ops};
    return 0;
}

static int run_runtime_start(struct vcsim_run *run)
{
    struct vc_ctx *ctx;
    int r;

    r = simhv_ctx_new(run->world, "runtime", &run->rctx);
    if (r < 0)
        return r;
    ctx = simhv_ctx_vc(run->rctx);
    /* Setting up the runtime is the runner's doing, not the runtime's: no faults here, so an
     * "alloc" rule counts only the runtime's own allocations. */
    simhv_ctx_suspend_faults(run->rctx, true);
    r = vc_ctx_register_agent(ctx, &mockagent_ops, run->host);
    simhv_ctx_suspend_faults(run->rctx, false);
    if (r < 0)
        return r;
    if (run->wire)
        vc_ctx_set_agent_factory(ctx, run_agent_factory, run);
    if (run->opts->capture_log)
        vc_ctx_set_log(ctx, run_log, run, VC_LOG_WARN);
    run->baseline_allocs = simhv_ctx_live_allocs(run->rctx);
    return 0;
}

int vcsim_run_restart(struct vcsim_run *run)
{
    simhv_ctx_free(run->rctx);
    run->rctx = NULL;
    run->restarts++;
    simhv_world_trace(run->world, "runner", "restart", "runtime #%u", run->restarts);
    return run_runtime_start(run);
}

const struct simhv_fault_rule *vcsim_run_fault(struct vcsim_run *run, const char *key)
{
    char *end;
    unsigned long i;

    for (size_t k = 0; k < run->sc->n_faults; k++)
        if (run->sc->fault_names[k] && strcmp(run->sc->fault_names[k], key) == 0)
            return simhv_world_fault(run->world, k);
    i = strtoul(key, &end, 10);
    if (*key < '0' || *key > '9' || *end || i >= simhv_world_fault_count(run->world))
        return NULL;
    return simhv_world_fault(run->world, i);
}

static int run_setup(struct vcsim_run *run, uint64_t seed)
{
    struct simhv_options o = run->sc->world;
    int r;

    o.seed = seed;
    r = simhv_world_new(&o, &run->world);
    if (r < 0)
        return r;
    if (run->opts->capture_log || run->opts->trace_jsonl)
        simhv_world_set_trace(run->world, run_trace, run);
    for (size_t i = 0; r >= 0 && i < run->sc->n_faults; i++)
        r = simhv_world_add_fault(run->world, &run->sc->faults[i]);
    for (size_t i = 0; r >= 0 && i < run->opts->n_faults; i++)
        r = simhv_world_add_fault(run->world, &run->opts->faults[i]);
    if (r >= 0)
        r = simhv_ctx_new(run->world, "guest", &run->gctx);
    if (r >= 0)
        r = magent_host_new(simhv_ctx_vc(run->gctx), &run->sc->script, &run->host);
    if (r >= 0 && vcsim_run_wire(run->sc, run->opts))
        r = magent_sim_wire_new(simhv_ctx_vc(run->gctx), run->host, &run->wire);
    if (r < 0)
        return r;
    if (run->wire)
        simhv_world_set_guest(run->world, &magent_simhv_wire_guest_ops, run->wire);
    else
        simhv_world_set_guest(run->world, &magent_simhv_guest_ops, run->host);
    return run_runtime_start(run);
}

static void run_teardown(struct vcsim_run *run)
{
    simhv_ctx_free(run->rctx);
    if (run->world)
        simhv_world_set_guest(run->world, NULL, NULL);
    magent_sim_wire_free(run->wire);
    magent_host_free(run->host);
    simhv_ctx_free(run->gctx);
    simhv_world_free(run->world);
    run->rctx = run->gctx = NULL;
    run->wire = NULL;
    run->host = NULL;
    run->world = NULL;
}

/* --- expectations ------------------------------------------------------------------------ */

void vcsim_step_target(const struct vcsim_step *st, const char **ret_sandbox,
                       const char **ret_container)
{
    const struct vcsim_args *a = &st->args;

    *ret_sandbox = NULL;
    *ret_container = NULL;
    switch (st->desc->target) {
    case VCSIM_TGT_SANDBOX:
        *ret_sandbox = a->id;
        break;
    case VCSIM_TGT_SANDBOX_CFG:
        *ret_sandbox = a->obj ? ((const struct vc_sandbox_config *) a->obj)->id : NULL;
        break;
    case VCSIM_TGT_SANDBOX_ARG:
        *ret_sandbox = a->sandbox;
        break;
    case VCSIM_TGT_CONTAINER:
        *ret_sandbox = a->sandbox;
        *ret_container = a->id;
        break;
    case VCSIM_TGT_CONTAINER_CFG:
        *ret_sandbox = a->sandbox;
        *ret_container = a->obj ? ((const struct vc_container_config *) a->obj)->id : NULL;
        break;
    case VCSIM_TGT_PROCESS:
        *ret_sandbox = a->sandbox;
        *ret_container = a->container;
        break;
    case VCSIM_TGT_NONE:
        break;
    }
}

/* The stored state of the step's object (VCSIM_STATE_ABSENT if not stored), faults off. */
static int32_t run_state_of(struct vcsim_run *run, const struct vcsim_step *st)
{
    struct vc_sandbox_status *sst;
    struct vc_container_status *cst;
    const char *sb, *ct;
    int32_t state = VCSIM_STATE_ABSENT;

    vcsim_step_target(st, &sb, &ct);
    if (!sb)
        return state;
    simhv_ctx_suspend_faults(run->rctx, true);
    if (ct && vc_container_status(vcsim_run_vc(run), sb, ct, &cst) >= 0) {
        state = cst->state;
        vc_container_status_free(vcsim_run_vc(run), cst);
    } else if (!ct && vc_sandbox_status(vcsim_run_vc(run), sb, &sst) >= 0) {
        state = sst->state;
        vc_sandbox_status_free(vcsim_run_vc(run), sst);
    }
    simhv_ctx_suspend_faults(run->rctx, false);
    return state;
}

static const char *run_state_name(int32_t state)
{
    return state == VCSIM_STATE_ABSENT ? "absent" : vc_state_to_string((enum vc_state) state);
}

static bool json_match(json_object *want, json_object *have, const char *key, char *path,
                       size_t len);

static bool json_match_scalar(json_object *want, json_object *have, const char *key)
{
    const char *ws = json_object_get_string(want);

    if (!want)
        return !have;
    if (!have)
        return false;
    /* Integers that stand for states may be expected by name. */
    if (json_object_is_type(want, json_type_string) && json_object_is_type(have, json_type_int) &&
        key && strcmp(key, "state") == 0)
        return strcmp(ws, vc_state_to_string((enum vc_state) json_object_get_int(have))) == 0;
    if (json_object_is_type(want, json_type_int) && json_object_is_type(have, json_type_int))
        return json_object_get_int64(want) == json_object_get_int64(have);
    return json_object_get_type(want) == json_object_get_type(have) ||
                   json_object_is_type(want, json_type_string)
               ? strcmp(ws, json_object_get_string(have)) == 0
               : false;
}

static bool json_match_array(json_object *want, json_object *have, char *path, size_t len)
{
    size_t n = json_object_array_length(want), plen = strlen(path);

    if (!json_object_is_type(have, json_type_array) || json_object_array_length(have) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        (void) snprintf(path + plen, len - plen, "[%zu]", i);
        if (!json_match(json_object_array_get_idx(want, i), json_object_array_get_idx(have, i),
                        NULL, path, len))
            return false;
    }
    path[plen] = '\0';
    return true;
}

/* Whether have holds want (subset for objects, element by element for arrays); path gets the
 * place of the first mismatch. */
static bool json_match(json_object *want, json_object *have, const char *key, char *path,
                       size_t len)
{
    size_t plen = strlen(path);

    if (json_object_is_type(want, json_type_array))
        return json_match_array(want, have, path, len);
    if (!json_object_is_type(want, json_type_object))
        return json_match_scalar(want, have, key);
    if (!json_object_is_type(have, json_type_object))
        return false;
    json_object_object_foreach(want, k, wv)
    {
        json_object *hv = NULL;
        (void) json_object_object_get_ex(have, k, &hv);
        (void) snprintf(path + plen, len - plen, ".%s", k);
        if (!json_match(wv, hv, k, path, len))
            return false;
    }
    path[plen] = '\0';
    return true;
}

static void run_check_rc(const struct vcsim_step *st, int rc, const char *errmsg, bool crashed,
                         char *msg, size_t len)
{
    const struct vcsim_expect *e = &st->expect;
    int want = e->given & VCSIM_EXP_RC ? e->rc : 0;
    bool ok = want == VCSIM_RC_ANY || (want == VCSIM_RC_ANY_ERROR ? rc < 0 : rc == want);

    /* A crashed step's rc is whatever the unwinding gave: only checked when asked for. */
    if (crashed && !(e->given & VCSIM_EXP_RC))
        return;
    if (ok)
        return;
    (void) snprintf(msg, len, "rc %s%s%s, expected %s", rc < 0 ? vc_errno_name(rc) : "0",
                    rc < 0 ? ": " : "", rc < 0 ? errmsg : "",
                    want == VCSIM_RC_ANY_ERROR ? "an error"
                    : want < 0                 ? vc_errno_name(want)
                                               : "0");
}

static void run_check_output(const struct vcsim_expect *e, const struct vcsim_outcome *out,
                             char *msg, size_t len)
{
    const char *have = out->output ? out->output : "";

    if ((e->given & VCSIM_EXP_OUTPUT) &&
        (out->output_len != e->output_len || memcmp(have, e->output, e->output_len) != 0))
        (void) snprintf(msg, len, "output '%.200s', expected '%.200s'", have, e->output);
    else if ((e->given & VCSIM_EXP_CONTAINS) && !strstr(have, e->contains))
        (void) snprintf(msg, len, "output '%.200s' does not contain '%.200s'", have, e->contains);
    else if ((e->given & VCSIM_EXP_STATUS) && (!out->has_status || out->status != e->status))
        (void) snprintf(msg, len, "exit status %" PRId32 ", expected %" PRId32,
                        out->has_status ? out->status : -1, e->status);
    else if ((e->given & VCSIM_EXP_COUNT) && (!out->has_count || out->count != e->count))
        (void) snprintf(msg, len, "count %" PRIu64 ", expected %" PRIu64, out->count, e->count);
}

static void run_check_result(const struct vcsim_expect *e, const struct vcsim_outcome *out,
                             char *msg, size_t len)
{
    char path[256] = "result";

    if (!(e->given & VCSIM_EXP_RESULT) ||
        json_match(e->result, out->result, NULL, path, sizeof(path)))
        return;
    (void) snprintf(msg, len, "%s does not match: got %.300s", path,
                    out->result ? json_object_to_json_string(out->result) : "nothing");
}

static void run_check_expect(struct vcsim_run *run, const struct vcsim_step *st, int rc,
                             const char *errmsg, const struct vcsim_outcome *out, uint64_t dt,
                             char *msg, size_t len)
{
    const struct vcsim_expect *e = &st->expect;
    char a[32], b[32];
    int32_t state;

    if ((e->given & VCSIM_EXP_CRASH) && e->crash != run->crashed)
        (void) snprintf(msg, len,
                        run->crashed ? "unexpected runtime crash"
                                     : "expected a runtime crash, none happened");
    if (!msg[0])
        run_check_rc(st, rc, errmsg, run->crashed, msg, len);
    if (!msg[0] && (e->given & VCSIM_EXP_ERROR) && (rc >= 0 || !strstr(errmsg, e->error)))
        (void) snprintf(msg, len, "error '%s' does not contain '%s'", errmsg, e->error);
    if (!msg[0] && (e->given & VCSIM_EXP_STATE) && (state = run_state_of(run, st)) != e->state)
        (void) snprintf(msg, len, "state %s, expected %s", run_state_name(state),
                        run_state_name(e->state));
    if (!msg[0])
        run_check_output(e, out, msg, len);
    if (!msg[0])
        run_check_result(e, out, msg, len);
    if (!msg[0] && (e->given & VCSIM_EXP_VTIME) && (dt < e->vt_min || dt > e->vt_max))
        (void) snprintf(msg, len, "took %s of virtual time, expected [%s, %s]",
                        vcsim_fmt_duration(dt, a, sizeof(a)),
                        vcsim_fmt_duration(e->vt_min, b, sizeof(b)),
                        vcsim_fmt_duration(e->vt_max, a + 16, sizeof(a) - 16));
    if (!msg[0] && out->fail[0])
        (void) snprintf(msg, len, "%s", out->fail);
}

/* --- steps ------------------------------------------------------------------------------- */

bool vcsim_run_stored(struct vcsim_run *run, const char *sandbox_id)
{
    struct vc_sandbox_status *sst;
    int r;

    simhv_ctx_suspend_faults(run->rctx, true);
    r = vc_sandbox_status(vcsim_run_vc(run), sandbox_id, &sst);
    if (r >= 0)
        vc_sandbox_status_free(vcsim_run_vc(run), sst);
    simhv_ctx_suspend_faults(run->rctx, false);
    return r >= 0;
}

static void run_fail(struct vcsim_run *run, const struct vcsim_step *st, const char *msg)
{
    struct vcsim_result *res = run->res;

    if (!res->passed)
        return;
    res->passed = false;
    res->fail_step = st ? (int) st->index : -1;
    res->fail_step_name = st ? strdup(st->desc->name) : NULL;
    res->fail_line = st ? st->line : 0;
    res->message = strdup(msg);
    simhv_world_trace(run->world, "runner", "fail", "%s", msg);
}

/* Runs the step's call and recovers from a runtime crash; the error message is saved first. */
static int run_call(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out,
                    char *errmsg, size_t len)
{
    int rc, r;

    vc_err_clear(vcsim_run_vc(run));
    rc = st->desc->exec(run, st, out);
    (void) snprintf(errmsg, len, "%s", rc < 0 ? vc_ctx_errmsg(vcsim_run_vc(run)) : "");
    run->crashed = simhv_ctx_crashed(run->rctx);
    if (run->crashed) {
        r = vcsim_run_restart(run);
        if (r < 0)
            return r;
    }
    return rc;
}

static void run_outcome_clear(struct vcsim_outcome *out)
{
    free(out->output);
    json_object_put(out->result);
}

static int run_step(struct vcsim_run *run, const struct vcsim_step *st)
{
    struct vcsim_outcome out = {0};
    char msg[VCSIM_DIAG_MAX] = "", errmsg[VC_ERR_MSG_MAX];
    const char *sb, *ct;
    uint64_t t0 = simhv_world_now(run->world);
    int rc;

    vcsim_step_target(st, &sb, &ct);
    run->existed_before = (st->desc->out & VCSIM_OUT_CREATE) && sb && vcsim_run_stored(run, sb);
    if (!sb)
        sb = st->args.sandbox;
    simhv_world_trace(run->world, "step", st->desc->name, "#%u line %u %s%s%s", st->index, st->line,
                      sb ? sb : "", ct ? "/" : "", ct ? ct : "");
    rc = run_call(run, st, &out, errmsg, sizeof(errmsg));
    run->errmsg = errmsg;
    if (!run->rctx) {
        run_outcome_clear(&out);
        return -ENOMEM;
    }
    simhv_world_trace(run->world, "step", "result", "#%u rc=%s%s", st->index,
                      rc < 0 ? vc_errno_name(rc) : "0", run->crashed ? " crashed" : "");
    if (simhv_world_stop_reason(run->world))
        (void) snprintf(msg, sizeof(msg), "the run was stopped (a hang or a runaway loop): %s",
                        simhv_world_stop_reason(run->world));
    else if (!vcsim_run_lenient(run))
        run_check_expect(run, st, rc, errmsg, &out, simhv_world_now(run->world) - t0, msg,
                         sizeof(msg));
    run_outcome_clear(&out);
    if (!run->sc->no_monitor)
        vcsim_run_monitor(run);
    if (!msg[0])
        vcsim_run_invariants(run, st, rc, msg, sizeof(msg));
    run->errmsg = NULL;
    if (msg[0])
        run_fail(run, st, msg);
    return 0;
}

/* Invariants-only runs end by cleaning up with the fault plan off: the monitor, then stop and
 * delete of every stored sandbox. Whatever a fault did, the runtime must be able to remove it
 * all, leaving no VM, no guest, nothing stored and nothing held. "" or the violation in msg. */
static void run_settle(struct vcsim_run *run, char *msg, size_t len)
{
    struct vc_ctx *ctx = vcsim_run_vc(run);
    struct vc_sandbox_status *v = NULL;
    size_t n = 0;
    int r;

    simhv_world_set_faults(run->world, false);
    simhv_world_trace(run->world, "runner", "settle", "stop and delete everything, faults off");
    vcsim_run_monitor(run);
    r = vc_sandbox_list(ctx, &v, &n);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        /* A create cut short by a crash stays "creating": delete takes it as it is. */
        bool live = v[i].state == VC_STATE_READY || v[i].state == VC_STATE_RUNNING ||
                    v[i].state == VC_STATE_PAUSED;
        if (live && (r = vc_sandbox_stop(ctx, v[i].id, true)) < 0)
            (void) snprintf(msg, len, "settle: cannot stop sandbox '%s': %s: %s", v[i].id,
                            vc_errno_name(r), vc_ctx_errmsg(ctx));
        else if ((r = vc_sandbox_delete(ctx, v[i].id)) < 0)
            (void) snprintf(msg, len, "settle: cannot delete sandbox '%s': %s: %s", v[i].id,
                            vc_errno_name(r), vc_ctx_errmsg(ctx));
    }
    if (v)
        vc_sandbox_status_list_free(ctx, v, n);
    if (r < 0 && !msg[0])
        (void) snprintf(msg, len, "settle: cannot list the store: %s: %s", vc_errno_name(r),
                        vc_ctx_errmsg(ctx));
    if (!msg[0] && simhv_world_stop_reason(run->world))
        (void) snprintf(msg, len, "settle: the run was stopped: %s",
                        simhv_world_stop_reason(run->world));
    if (!msg[0])
        vcsim_run_invariants(run, NULL, 0, msg, len);
    if (msg[0])
        return;
    for (size_t i = 0; i < simhv_world_vm_count(run->world) && !msg[0]; i++) {
        const struct simhv_vm *vm = simhv_world_vm_at(run->world, i);
        if (vm && (vm->state == VC_VM_STATE_RUNNING || vm->state == VC_VM_STATE_PAUSED))
            (void) snprintf(msg, len, "settle: VM of sandbox '%s' still runs", vm->sandbox_id);
    }
    for (size_t i = 0; i < magent_host_guest_count(run->host) && !msg[0]; i++) {
        struct magent_guest *g = magent_host_guest_at(run->host, i);
        if (g && magent_guest_sandbox_up(g))
            (void) snprintf(msg, len, "settle: the guest of '%s' is still up",
                            magent_guest_sandbox_id(g));
    }
}

bool vcsim_run_lenient(const struct vcsim_run *run)
{
    return run->opts->invariants_only || run->sc->invariants_only;
}

static void run_end_checks(struct vcsim_run *run)
{
    char msg[VCSIM_DIAG_MAX] = "";
    size_t unused = magent_host_unused_expectations(run->host);

    if (vcsim_run_lenient(run)) {
        run_settle(run, msg, sizeof(msg));
        if (msg[0])
            run_fail(run, NULL, msg);
        return;
    }
    if (unused && !(run->sc->skip & (1u << VCSIM_INV_EXPECTATIONS_USED))) {
        (void) snprintf(msg, sizeof(msg),
                        "invariant expectations_used: %zu expected guest rule(s) never used",
                        unused);
        run_fail(run, NULL, msg);
    }
}

static void run_points(struct vcsim_run *run)
{
    struct vcsim_result *res = run->res;
    size_t n = simhv_world_point_count(run->world);

    res->points = calloc(n + 1, sizeof(*res->points));
    for (size_t i = 0; res->points && i < n; i++) {
        res->points[i].name = strdup(simhv_world_point_name(run->world, i));
        res->points[i].hits = simhv_world_point_hits(run->world, i);
        res->n_points += res->points[i].name != NULL;
    }
}

static void run_finish(struct vcsim_run *run, double t0)
{
    struct vcsim_result *res = run->res;

    if (run->world) {
        size_t base = run->sc->n_faults, n = run->opts->n_faults;
        res->rules = n ? calloc(n, sizeof(*res->rules)) : NULL;
        for (size_t i = 0; res->rules && i < n && base + i < simhv_world_fault_count(run->world);
             i++) {
            const struct simhv_fault_rule *f = simhv_world_fault(run->world, base + i);
            res->rules[i] = (struct vcsim_rule_stat){.hits = f->hits, .fired = f->fired};
            res->n_rules = i + 1;
        }
        res->virtual_ns = simhv_world_now(run->world);
        res->events = simhv_world_event_count(run->world);
        res->trace_records = simhv_world_trace_count(run->world);
        res->trace_hash = simhv_world_trace_hash(run->world);
        if (run->opts->list_points)
            run_points(run);
    }
    run_teardown(run);
    if (run->log.truncated)
        vcsim_buf_printf(&run->log, "... (log truncated)\n");
    res->log = vcsim_buf_steal(&run->log);
    res->trace = vcsim_buf_steal(&run->trace);
    res->wall_s = vcsim_wall_seconds() - t0;
}

int vcsim_run(const struct vcsim_scenario *s, uint64_t seed, const struct vcsim_run_opts *opts,
              struct vcsim_result *ret)
{
    static const struct vcsim_run_opts none = {0};
    struct vcsim_run run = {.sc = s, .opts = opts ? opts : &none, .res = ret};
    double t0 = vcsim_wall_seconds();
    char msg[VCSIM_DIAG_MAX];
    int r;

    *ret = (struct vcsim_result){
        .seed = seed, .agent = run.opts->agent, .passed = true, .fail_step = -1};
    ret->path = strdup(s->path);
    ret->name = strdup(s->name);
    r = run_setup(&run, seed);
    for (size_t i = 0; r >= 0 && i < s->n_steps && ret->passed; i++) {
        r = run_step(&run, &s->steps[i]);
        ret->steps++;
    }

    if (r >= 0 && ret->passed)
        run_end_checks(&run);
    if (r < 0) {
        (void) snprintf(msg, sizeof(msg), "runner: cannot %s: %s",
                        run.world ? "run" : "set up the world", vc_errno_name(r));
        ret->passed = false;
        free(ret->message);
        ret->message = strdup(msg);
    }
    run_finish(&run, t0);
    return r < 0 ? r : 0;
}

void vcsim_result_clear(struct vcsim_result *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->name);
    free(r->fail_step_name);
    free(r->message);
    free(r->label);
    free(r->args);
    free(r->rules);
    free(r->log);
    free(r->trace);
    for (size_t i = 0; i < r->n_points; i++)
        free(r->points[i].name);
    free(r->points);
    *r = (struct vcsim_result){.fail_step = -1};
}
