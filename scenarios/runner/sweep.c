/* SPDX-License-Identifier: Apache-2.0 */
/* `vcsim sweep` and `vcsim explore`: a baseline run of each scenario (invariants only) records
 * the fault points it hits and how often the runtime allocates and persists; from that, sweep
 * plans one run per point and applicable action (and per allocation, and per persist step
 * with a runtime or host crash), and explore draws a random fault plan per seed (swarm
 * testing). Every planned run checks the invariants after every step and ends by cleaning up
 * with faults off (run.c); a run that fails is a violation, printed with its repro line. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simhv/fault.h>

#include "cli.h"
#include "wall.h"

#define SWEEP_NEVER       UINT64_MAX /* the nth hit of a probe rule: never fires, only counts */
#define SWEEP_PROBE_ALLOC 0          /* index of the probe counting the runtime's allocations */
#define SWEEP_PROBE_DISK  1          /* index of the probe counting the runtime's persist steps */
#define SWEEP_HANG_NS     (UINT64_C(60) * 1000000000) /* a hang lasts until this deadline */

/* What the alloc and crash sweeps do not check: a failed allocation or a crash between an
 * action and its save leaves the store one step behind the VM and the guest ("old or new");
 * what they promise is a clean error, no leak, no VM nobody knows, a state that loads, and a
 * cleanup that removes everything. */
#define SWEEP_LAG_SKIP                                                                             \
    ((1u << VCSIM_INV_STORE_MATCHES_VM) | (1u << VCSIM_INV_NO_LOST_VM) |                           \
     (1u << VCSIM_INV_GUEST_MATCHES_STORE) | (1u << VCSIM_INV_RESOURCES_ADD_UP))

/* Counting rules of the baseline: they match the runtime's allocations and disk steps and never
 * fire, so their hit counts are what the alloc and crash sweeps iterate over. */
static const struct simhv_fault_rule sweep_probes[] = {
    [SWEEP_PROBE_ALLOC] = {.point = (char *) "alloc",
                           .context = (char *) "runtime",
                           .trigger = SIMHV_TRIGGER_NTH,
                           .nth = SWEEP_NEVER,
                           .action = SIMHV_ACTION_ERRNO},
    [SWEEP_PROBE_DISK] = {.point = (char *) "disk.*",
                          .context = (char *) "runtime",
                          .trigger = SIMHV_TRIGGER_NTH,
                          .nth = SWEEP_NEVER,
                          .action = SIMHV_ACTION_ERRNO},
};

/* What a plan needs to know of one baseline. */
struct sweep_base {
    size_t scenario;          /* index into the session's scenarios */
    uint64_t seed;            /* seed */
    struct vcsim_result *res; /* its result (points, probe counts; owned by the array) */
};

/* Runs planned from the baselines, with the rules they add (owned here; points borrowed from
 * the baselines' results). */
struct sweep_plan {
    struct simhv_fault_rule *rules;         /* every run's rules, back to back */
    size_t n_rules;                         /* rules used */
    size_t cap_rules;                       /* rules allocated */
    uint64_t per_action[SIMHV_ACTION_LAST]; /* runs per action */
    uint64_t alloc_runs;                    /* alloc sweep runs */
    uint64_t crash_runs;                    /* crash sweep runs */
};

/* --- baselines --------------------------------------------------------------------------- */

/* Runs the baseline of every selected scenario and seed (lo..hi, or the scenario's seed); the
 * results are moved to *ret. 0 or -errno. */
static int sweep_baselines(struct cli_session *s, bool fixed_seed, struct sweep_base **ret,
                           size_t *ret_n)
{
    struct sweep_base *v;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < s->n_files; i++) {
        const struct vcsim_scenario *sc = s->scenarios[i];
        uint64_t lo = s->o.has_seeds && !fixed_seed ? s->o.seed_lo : sc->seed;
        uint64_t hi = s->o.has_seeds && !fixed_seed ? s->o.seed_hi : sc->seed;
        if (!vcsim_cli_selected(s, sc))
            continue;
        for (uint64_t seed = lo; r >= 0; seed++) {
            r = vcsim_cli_add_run(s, &(struct cli_run){.scenario = i,
                                                       .seed = seed,
                                                       .faults = sweep_probes,
                                                       .n_faults = 2,
                                                       .probe = true,
                                                       .label = strdup("baseline")});
            if (seed == hi)
                break;
        }
    }
    s->results = r >= 0 ? calloc(s->n_runs + 1, sizeof(*s->results)) : NULL;
    if (r >= 0 && !s->results)
        r = -ENOMEM;
    if (r >= 0)
        r = vcsim_cli_execute(s);
    v = r >= 0 ? calloc(s->n_runs + 1, sizeof(*v)) : NULL;
    if (r >= 0 && !v)
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && i < s->n_runs; i++) {
        v[i] = (struct sweep_base){.scenario = s->runs[i].scenario, .seed = s->runs[i].seed};
        v[i].res = malloc(sizeof(*v[i].res));
        if (!v[i].res) {
            r = -ENOMEM;
            break;
        }
        *v[i].res = s->results[i];
        s->results[i] = (struct vcsim_result){.fail_step = -1};
        *ret_n = i + 1;
    }
    *ret = v;
    vcsim_cli_reset_runs(s);
    return r;
}

static void sweep_bases_free(struct sweep_base *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        vcsim_result_clear(v[i].res);
        free(v[i].res);
    }
    free(v);
}

static uint64_t sweep_probe_hits(const struct sweep_base *b, size_t probe)
{
    return probe < b->res->n_rules ? b->res->rules[probe].hits : 0;
}

/* --- planning ---------------------------------------------------------------------------- */

/* A new rule slot in the plan; NULL on ENOMEM. Slots move when the plan grows, so runs take
 * their rules by index until the plan is complete (sweep_bind). */
static struct simhv_fault_rule *sweep_rule(struct sweep_plan *p)
{
    if (p->n_rules == p->cap_rules) {
        size_t cap = p->cap_rules ? 2 * p->cap_rules : 256;
        struct simhv_fault_rule *v = realloc(p->rules, cap * sizeof(*v));
        if (!v)
            return NULL;
        p->rules = v;
        p->cap_rules = cap;
    }
    p->rules[p->n_rules] = (struct simhv_fault_rule){0};
    return &p->rules[p->n_rules++];
}

static bool sweep_is(const char *point, const char *prefix)
{
    return strncmp(point, prefix, strlen(prefix)) == 0;
}

/* Whether a rule can leave the store one step behind what happened: a failed save (the
 * allocator, the store, the disk, the states the hypervisor and the agent hand over for it) or
 * a crash. */
static bool sweep_lags(const struct simhv_fault_rule *f)
{
    return strcmp(f->point, "alloc") == 0 || sweep_is(f->point, "disk.") ||
           sweep_is(f->point, "store.") || strcmp(f->point, "agent.Save") == 0 ||
           strcmp(f->point, "hv.save_state") == 0 || f->action == SIMHV_ACTION_RUNTIME_CRASH ||
           f->action == SIMHV_ACTION_HOST_CRASH || f->action == SIMHV_ACTION_TORN_WRITE;
}

/* Whether the scenario's own plan can leave the store behind. */
static bool sweep_plan_lags(const struct vcsim_scenario *sc)
{
    for (size_t i = 0; i < sc->n_faults; i++)
        if (sweep_lags(&sc->faults[i]))
            return true;
    return false;
}

/* Adds a run whose rules are the last n of the plan (bound to pointers later). A run whose
 * plan (the scenario's or these rules) fails a save or crashes is held to what the crash and
 * alloc sweeps promise: the store may lag one step behind the VM and the guest. */
static int sweep_add(struct cli_session *s, struct sweep_plan *p, const struct sweep_base *b,
                     size_t n, char *label)
{
    bool lags = sweep_plan_lags(s->scenarios[b->scenario]);

    if (!label)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        lags |= sweep_lags(&p->rules[p->n_rules - n + i]);
    return vcsim_cli_add_run(s, &(struct cli_run){.scenario = b->scenario,
                                                  .seed = b->seed,
                                                  .first_rule = p->n_rules - n,
                                                  .n_faults = n,
                                                  .skip = lags ? SWEEP_LAG_SKIP : 0,
                                                  .label = label});
}

static void sweep_bind(struct cli_session *s, struct sweep_plan *p)
{
    for (size_t i = 0; i < s->n_runs; i++)
        s->runs[i].faults = p->rules + s->runs[i].first_rule;
}

static char *sweep_label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *sweep_label(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* Whether action a means something at point: errno everywhere; hang and VM crash wherever an
 * operation can wait or a VM can die (not the allocator); a connection reset on the simulated
 * network; a torn write at the disk's write. */
static bool sweep_applies(const char *point, enum simhv_action a)
{
    switch (a) {
    case SIMHV_ACTION_ERRNO:
        return true;
    case SIMHV_ACTION_HANG:
    case SIMHV_ACTION_VM_CRASH:
        return strcmp(point, "alloc") != 0;
    case SIMHV_ACTION_RESET:
        return strcmp(point, "net.send") == 0 || strcmp(point, "net.connect") == 0;
    case SIMHV_ACTION_TORN_WRITE:
        return strcmp(point, "disk.write") == 0;
    default:
        return false;
    }
}

static int sweep_plan_faults(struct cli_session *s, struct sweep_plan *p,
                             const struct sweep_base *b)
{
    static const enum simhv_action actions[] = {SIMHV_ACTION_ERRNO, SIMHV_ACTION_HANG,
                                                SIMHV_ACTION_VM_CRASH, SIMHV_ACTION_RESET,
                                                SIMHV_ACTION_TORN_WRITE};
    uint64_t max = s->o.max_hits ? s->o.max_hits : 1;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < b->res->n_points; i++) {
        const struct vcsim_point *pt = &b->res->points[i];
        for (uint64_t nth = 1; r >= 0 && nth <= pt->hits && nth <= max; nth++)
            for (size_t a = 0; r >= 0 && a < sizeof(actions) / sizeof(actions[0]); a++) {
                struct simhv_fault_rule *f;
                if (!sweep_applies(pt->name, actions[a]) ||
                    (s->o.actions && !(s->o.actions & (1u << actions[a]))))
                    continue;
                if (!(f = sweep_rule(p)))
                    return -ENOMEM;
                /* The allocator is the runtime's own (the alloc sweep goes through all of
                 * them); the guest model's setup is not under test. */
                *f = (struct simhv_fault_rule){
                    .point = pt->name,
                    .context = strcmp(pt->name, "alloc") == 0 ? (char *) "runtime" : NULL,
                    .trigger = SIMHV_TRIGGER_NTH,
                    .nth = nth,
                    .action = actions[a],
                    .err = strcmp(pt->name, "alloc") == 0 ? -ENOMEM : -EIO,
                    .delay_ns = actions[a] == SIMHV_ACTION_HANG ? SWEEP_HANG_NS : 0};
                p->per_action[actions[a]]++;
                r = sweep_add(s, p, b, 1,
                              sweep_label("%s#%" PRIu64 " %s", pt->name, nth,
                                          simhv_action_to_string(actions[a])));
            }
    }
    return r;
}

static int sweep_plan_alloc(struct cli_session *s, struct sweep_plan *p, const struct sweep_base *b)
{
    uint64_t n = sweep_probe_hits(b, SWEEP_PROBE_ALLOC);
    int r = 0;

    if (s->o.max_hits && n > s->o.max_hits)
        n = s->o.max_hits;
    for (uint64_t nth = 1; r >= 0 && nth <= n; nth++) {
        struct simhv_fault_rule *f = sweep_rule(p);
        if (!f)
            return -ENOMEM;
        *f = sweep_probes[SWEEP_PROBE_ALLOC];
        f->nth = nth;
        f->err = -ENOMEM;
        p->alloc_runs++;
        r = sweep_add(s, p, b, 1, sweep_label("alloc#%" PRIu64 "/%" PRIu64 " ENOMEM", nth, n));
    }
    return r;
}

static int sweep_plan_crash(struct cli_session *s, struct sweep_plan *p, const struct sweep_base *b)
{
    static const enum simhv_action actions[] = {SIMHV_ACTION_RUNTIME_CRASH,
                                                SIMHV_ACTION_HOST_CRASH};
    uint64_t n = sweep_probe_hits(b, SWEEP_PROBE_DISK);
    int r = 0;

    if (s->o.max_hits && n > s->o.max_hits)
        n = s->o.max_hits;
    for (uint64_t nth = 1; r >= 0 && nth <= n; nth++)
        for (size_t a = 0; r >= 0 && a < 2; a++) {
            struct simhv_fault_rule *f = sweep_rule(p);
            if (!f)
                return -ENOMEM;
            *f = sweep_probes[SWEEP_PROBE_DISK];
            f->nth = nth;
            f->action = actions[a];
            p->crash_runs++;
            r = sweep_add(s, p, b, 1,
                          sweep_label("persist#%" PRIu64 "/%" PRIu64 " %s", nth, n,
                                      simhv_action_to_string(actions[a])));
        }
    return r;
}

/* --- explore ----------------------------------------------------------------------------- */

/* splitmix64: the plan generator, a pure function of its state. */
static uint64_t sweep_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t sweep_below(uint64_t *state, uint64_t n)
{
    return n ? sweep_next(state) % n : 0;
}

/* One random action for point, with its parameters. */
static void sweep_draw_action(uint64_t *st, const char *point, struct simhv_fault_rule *f)
{
    static const int errs[] = {-EIO, -ENOMEM, -ETIMEDOUT, -ECONNRESET, -ENOSPC, -EAGAIN};
    static const enum simhv_action net[] = {SIMHV_ACTION_RESET,     SIMHV_ACTION_DROP,
                                            SIMHV_ACTION_TRUNCATE,  SIMHV_ACTION_CORRUPT,
                                            SIMHV_ACTION_DUPLICATE, SIMHV_ACTION_DRIP};
    uint64_t k = sweep_below(st, 100);

    f->err = errs[sweep_below(st, sizeof(errs) / sizeof(errs[0]))];
    f->action = SIMHV_ACTION_ERRNO;
    if (strcmp(point, "alloc") == 0) {
        f->err = -ENOMEM;
        f->context = (char *) "runtime";
        return;
    }
    if (sweep_is(point, "net.") && k < 50)
        f->action = net[sweep_below(st, sizeof(net) / sizeof(net[0]))];
    else if (strcmp(point, "disk.write") == 0 && k < 30)
        f->action = SIMHV_ACTION_TORN_WRITE;
    else if (k < 40)
        f->action = SIMHV_ACTION_ERRNO;
    else if (k < 55)
        f->action = SIMHV_ACTION_DELAY;
    else if (k < 70)
        f->action = SIMHV_ACTION_HANG;
    else if (k < 85)
        f->action = SIMHV_ACTION_VM_CRASH;
    else if (k < 97)
        f->action = SIMHV_ACTION_RUNTIME_CRASH;
    else
        f->action = SIMHV_ACTION_HOST_CRASH;
    if (f->action == SIMHV_ACTION_DELAY || f->action == SIMHV_ACTION_DRIP)
        f->delay_ns = (1 + sweep_below(st, 5000)) * UINT64_C(1000000);
    else if (f->action == SIMHV_ACTION_HANG)
        f->delay_ns = (1 + sweep_below(st, 120)) * UINT64_C(1000000000);
}

/* A random plan of 1..max rules over the baseline's points. */
static int sweep_draw(struct cli_session *s, struct sweep_plan *p, const struct sweep_base *b,
                      uint64_t seed)
{
    uint64_t st = seed * UINT64_C(0x100000001b3) ^ (b->scenario + 1) * UINT64_C(0xcbf29ce484222325);
    size_t n = b->res->n_points ? 1 + (size_t) sweep_below(&st, s->o.max_rules) : 0;

    for (size_t i = 0; i < n; i++) {
        const struct vcsim_point *pt = &b->res->points[sweep_below(&st, b->res->n_points)];
        struct simhv_fault_rule *f = sweep_rule(p);
        uint64_t k = sweep_below(&st, 100);
        if (!f)
            return -ENOMEM;
        f->point = pt->name;
        f->trigger = SIMHV_TRIGGER_NTH;
        f->nth = 1 + sweep_below(&st, pt->hits);
        if (k >= 70 && k < 85) {
            f->trigger = SIMHV_TRIGGER_PROB;
            f->prob_ppm = (uint32_t) (10000 + sweep_below(&st, 290000));
            f->limit = 1 + sweep_below(&st, 4);
        } else if (k >= 85) {
            f->trigger = SIMHV_TRIGGER_EVERY;
            f->limit = 1 + sweep_below(&st, 3);
        }
        sweep_draw_action(&st, pt->name, f);
        p->per_action[f->action]++;
    }
    return sweep_add(s, p, &(struct sweep_base){.scenario = b->scenario, .seed = seed}, n,
                     sweep_label("plan of %zu rule%s", n, n == 1 ? "" : "s"));
}

/* --- the commands ------------------------------------------------------------------------ */

/* Runs the plan, then reports violations: failed baselines first, then failed runs. */
static int sweep_finish(struct cli_session *s, struct sweep_plan *p, struct sweep_base *bases,
                        size_t n_bases, const char *what, double t0)
{
    size_t failed = 0, unreached = 0, base_failed = 0, k = 0;
    struct vcsim_result *all;
    int r;

    sweep_bind(s, p);
    r = vcsim_cli_shard(s);
    if (r >= 0)
        r = vcsim_cli_execute(s);
    if (r < 0) {
        fprintf(s->err, "vcsim: %s failed: %s\n", what, strerror(-r));
        return 2;
    }
    for (size_t i = 0; i < n_bases; i++)
        base_failed += !bases[i].res->passed;
    all = calloc(base_failed + s->n_runs + 1, sizeof(*all));
    if (!all)
        return 2;
    /* The reports see failed baselines as runs of their own, then the sweep's runs. */
    for (size_t i = 0; i < n_bases; i++)
        if (!bases[i].res->passed)
            all[k++] = *bases[i].res;
    for (size_t i = 0; i < s->n_runs; i++) {
        all[k++] = s->results[i];
        failed += !s->results[i].passed;
        unreached += s->results[i].n_rules && !s->results[i].rules[0].fired;
    }
    vcsim_report_text(s->out, all, k, vcsim_wall_seconds() - t0, s->o.verbose, true);
    fprintf(s->out, "%s: %zu baseline run%s (%zu failed), %zu fault runs, %zu violation%s", what,
            n_bases, n_bases == 1 ? "" : "s", base_failed, s->n_runs, failed,
            failed == 1 ? "" : "s");
    if (unreached)
        fprintf(s->out, ", %zu whose %s never fired%s", unreached,
                strcmp(what, "sweep") == 0 ? "fault" : "first rule",
                strcmp(what, "sweep") == 0 ? " (the scenario's own plan took the hit)" : "");
    fprintf(s->out, "\n");
    if (s->o.junit && (r = vcsim_report_junit(s->o.junit, all, k, vcsim_wall_seconds() - t0)) < 0)
        fprintf(s->err, "vcsim: %s: %s\n", s->o.junit, strerror(-r));
    if (s->o.json && (r = vcsim_report_json(s->o.json, all, k, vcsim_wall_seconds() - t0)) < 0)
        fprintf(s->err, "vcsim: %s: %s\n", s->o.json, strerror(-r));
    free(all);
    if (r < 0)
        return 2;
    return failed || base_failed ? 1 : 0;
}

static void sweep_print_plan(struct cli_session *s, const struct sweep_plan *p)
{
    bool first = true;

    if (s->o.quiet)
        return;
    fprintf(s->out, "planned runs:");
    for (size_t a = 0; a < SIMHV_ACTION_LAST; a++)
        if (p->per_action[a]) {
            fprintf(s->out, "%s %s %" PRIu64, first ? "" : ",",
                    simhv_action_to_string((enum simhv_action) a), p->per_action[a]);
            first = false;
        }
    if (p->alloc_runs)
        fprintf(s->out, "%s alloc %" PRIu64, first ? "" : ",", p->alloc_runs), first = false;
    if (p->crash_runs)
        fprintf(s->out, "%s crash %" PRIu64, first ? "" : ",", p->crash_runs), first = false;
    fprintf(s->out, "%s\n", first ? " none" : "");
}

int vcsim_cli_sweep(struct cli_session *s)
{
    double t0 = vcsim_wall_seconds();
    struct sweep_plan p = {0};
    struct sweep_base *bases = NULL;
    size_t n_bases = 0;
    unsigned kinds = s->o.kinds ? s->o.kinds : VCSIM_SWEEP_FAULTS;
    int r, code;

    s->o.invariants_only = true;
    if (vcsim_cli_load(s) < 0)
        return 2;
    r = sweep_baselines(s, false, &bases, &n_bases);
    for (size_t i = 0; r >= 0 && i < n_bases; i++) {
        const struct sweep_base *b = &bases[i];
        size_t before = s->n_runs;
        if (r >= 0 && (kinds & VCSIM_SWEEP_FAULTS))
            r = sweep_plan_faults(s, &p, b);
        if (r >= 0 && (kinds & VCSIM_SWEEP_ALLOC))
            r = sweep_plan_alloc(s, &p, b);
        if (r >= 0 && (kinds & VCSIM_SWEEP_CRASH))
            r = sweep_plan_crash(s, &p, b);
        if (r >= 0 && !s->o.quiet && s->o.verbose)
            fprintf(s->out,
                    "%-40s seed=%-6" PRIu64 " %4zu points %6" PRIu64 " allocs %4" PRIu64
                    " persist steps %6zu runs\n",
                    b->res->name, b->seed, b->res->n_points, sweep_probe_hits(b, SWEEP_PROBE_ALLOC),
                    sweep_probe_hits(b, SWEEP_PROBE_DISK), s->n_runs - before);
    }
    if (r < 0) {
        fprintf(s->err, "vcsim: cannot plan the sweep: %s\n", strerror(-r));
        code = 2;
    } else {
        sweep_print_plan(s, &p);
        code = sweep_finish(s, &p, bases, n_bases, "sweep", t0);
    }
    sweep_bases_free(bases, n_bases);
    free(p.rules);
    return code;
}

int vcsim_cli_explore(struct cli_session *s)
{
    double t0 = vcsim_wall_seconds();
    struct sweep_plan p = {0};
    struct sweep_base *bases = NULL;
    size_t n_bases = 0;
    int r, code;

    s->o.invariants_only = true;
    if (vcsim_cli_load(s) < 0)
        return 2;
    r = sweep_baselines(s, true, &bases, &n_bases);
    for (size_t i = 0; r >= 0 && i < n_bases; i++)
        for (uint64_t seed = s->o.seed_lo; r >= 0; seed++) {
            r = sweep_draw(s, &p, &bases[i], seed);
            if (seed == s->o.seed_hi)
                break;
        }
    if (r < 0) {
        fprintf(s->err, "vcsim: cannot plan the exploration: %s\n", strerror(-r));
        code = 2;
    } else {
        sweep_print_plan(s, &p);
        code = sweep_finish(s, &p, bases, n_bases, "explore", t0);
    }
    sweep_bases_free(bases, n_bases);
    free(p.rules);
    return code;
}
