/* SPDX-License-Identifier: Apache-2.0 */
/* The fault plan (fault.h): rules matched by glob, triggers counted per rule, the registry of
 * distinct points, and carrying a fired rule out. Asked at every fault point, allocations
 * included: a point string asked before is found by its address, and only the rules whose
 * pattern matches the point are looked at, so a miss costs a few compares and never allocates. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vc/err.h>

#include "world_priv.h"

#define FAULT_PPM          UINT64_C(1000000)
#define FAULT_HANG_DEFAULT (60 * SIMHV_NS_PER_S)
#define FAULT_FNV_OFFSET   UINT64_C(0xcbf29ce484222325)
#define FAULT_FNV_PRIME    UINT64_C(0x100000001b3)

static const char *const fault_actions[SIMHV_ACTION_LAST] = {
    [SIMHV_ACTION_ERRNO] = "errno",
    [SIMHV_ACTION_DELAY] = "delay",
    [SIMHV_ACTION_HANG] = "hang",
    [SIMHV_ACTION_VM_CRASH] = "vm_crash",
    [SIMHV_ACTION_RUNTIME_CRASH] = "runtime_crash",
    [SIMHV_ACTION_HOST_CRASH] = "host_crash",
    [SIMHV_ACTION_TORN_WRITE] = "torn_write",
    [SIMHV_ACTION_RESET] = "reset",
    [SIMHV_ACTION_DROP] = "drop",
    [SIMHV_ACTION_TRUNCATE] = "truncate",
    [SIMHV_ACTION_CORRUPT] = "corrupt",
    [SIMHV_ACTION_DUPLICATE] = "duplicate",
    [SIMHV_ACTION_DRIP] = "drip",
};

static const char *const fault_triggers[SIMHV_TRIGGER_LAST] = {
    [SIMHV_TRIGGER_NTH] = "nth",
    [SIMHV_TRIGGER_EVERY] = "every",
    [SIMHV_TRIGGER_PROB] = "prob",
    [SIMHV_TRIGGER_AFTER] = "after",
};

const char *simhv_action_to_string(enum simhv_action a)
{
    return (unsigned) a < SIMHV_ACTION_LAST ? fault_actions[a] : "unknown";
}

int simhv_action_from_string(const char *name)
{
    for (int i = 0; name && i < SIMHV_ACTION_LAST; i++)
        if (strcmp(name, fault_actions[i]) == 0)
            return i;
    return -1;
}

const char *simhv_trigger_to_string(enum simhv_trigger t)
{
    return (unsigned) t < SIMHV_TRIGGER_LAST ? fault_triggers[t] : "unknown";
}

/* --- rules ---------------------------------------------------------------------------------- */

static void rule_clear(struct simhv_fault_rule *r)
{
    free(r->point);
    free(r->target);
    free(r->context);
    *r = (struct simhv_fault_rule){0};
}

void simhv_fault_free_all(struct simhv_world *w)
{
    for (size_t i = 0; i < w->n_rules; i++)
        rule_clear(&w->rules[i]);
    free(w->rules);
    for (size_t i = 0; i < w->n_points; i++)
        free(w->points[i].name);
    free(w->points);
    free(w->point_tab);
}

static char *fault_strdup(const char *s, bool *oom)
{
    char *p;

    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        *oom = true;
    return p;
}

int simhv_world_add_fault(struct simhv_world *w, const struct simhv_fault_rule *rule)
{
    struct simhv_fault_rule copy, *v;
    bool oom = false;

    if (!w || !rule || !rule->point || !rule->point[0])
        return -EINVAL;
    if (rule->trigger < 0 || rule->trigger >= SIMHV_TRIGGER_LAST || rule->action < 0 ||
        rule->action >= SIMHV_ACTION_LAST || rule->err > 0 || rule->prob_ppm > FAULT_PPM)
        return -EINVAL;
    copy = *rule;
    copy.hits = 0;
    copy.fired = 0;
    copy.point = fault_strdup(rule->point, &oom);
    copy.target = fault_strdup(rule->target, &oom);
    copy.context = fault_strdup(rule->context, &oom);
    v = oom ? NULL : realloc(w->rules, (w->n_rules + 1) * sizeof(*v));
    if (!v) {
        rule_clear(&copy);
        return -ENOMEM;
    }
    v[w->n_rules++] = copy;
    w->rules = v;
    return 0;
}

void simhv_world_set_faults(struct simhv_world *w, bool on)
{
    if (w->faults_off == !on)
        return;
    w->faults_off = !on;
    simhv_world_trace(w, "world", "faults", "%s", on ? "on" : "off");
}

size_t simhv_world_fault_count(const struct simhv_world *w)
{
    return w->n_rules;
}

const struct simhv_fault_rule *simhv_world_fault(const struct simhv_world *w, size_t i)
{
    return i < w->n_rules ? &w->rules[i] : NULL;
}

/* --- the registry of points ----------------------------------------------------------------- */

static uint64_t point_hash(const char *s)
{
    uint64_t h = FAULT_FNV_OFFSET;

    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= FAULT_FNV_PRIME;
    }
    return h;
}

/* Slot of point with hash h in the open table: its slot, or the free slot it would take. */
static size_t point_slot(const struct simhv_world *w, const char *point, uint64_t h)
{
    size_t mask = w->point_tab_size - 1;

    for (size_t i = (size_t) h & mask;; i = (i + 1) & mask) {
        uint32_t e = w->point_tab[i];

        if (e == 0)
            return i;
        if (w->points[e - 1].hash == h && strcmp(w->points[e - 1].name, point) == 0)
            return i;
    }
}

/* Doubles the table (kept at most half full). */
static int point_grow(struct simhv_world *w)
{
    size_t size = w->point_tab_size ? w->point_tab_size * 2 : 64;
    uint32_t *tab = calloc(size, sizeof(*tab));

    if (!tab)
        return -ENOMEM;
    free(w->point_tab);
    w->point_tab = tab;
    w->point_tab_size = size;
    for (size_t i = 0; i < w->n_points; i++)
        tab[point_slot(w, w->points[i].name, w->points[i].hash)] = (uint32_t) (i + 1);
    return 0;
}

/* Interns a new point; on -ENOMEM it is simply not recorded. */
static int point_add(struct simhv_world *w, const char *point, uint64_t h, size_t *ret)
{
    struct simhv_point *v;
    char *name;

    if ((w->n_points + 1) * 2 > w->point_tab_size && point_grow(w) < 0)
        return -ENOMEM;
    if (w->n_points == w->cap_points) {
        size_t cap = w->cap_points ? w->cap_points * 2 : 32;

        v = realloc(w->points, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        w->points = v;
        w->cap_points = cap;
    }
    name = strdup(point);
    if (!name)
        return -ENOMEM;
    w->points[w->n_points] = (struct simhv_point){.name = name, .hash = h};
    w->point_tab[point_slot(w, point, h)] = (uint32_t) (w->n_points + 1);
    *ret = w->n_points++;
    return 0;
}

/* Whether s spells name. */
static bool point_is(const char *name, const char *s)
{
    while (*name && *name == *s) {
        name++;
        s++;
    }
    return *name == *s;
}

/* The point cache slot of the string at s; by address, which decides only hits and misses. */
static size_t point_cache_slot(const char *s)
{
    uintptr_t a = (uintptr_t) s;

    return (size_t) ((a ^ a >> 7 ^ a >> 13) & (SIMHV_POINT_CACHE - 1));
}

/* The index of point in the registry, interned on first sight (SIZE_MAX when out of memory),
 * and cached under its address. Kept out of line: the cached path stays small. */
static __attribute__((noinline)) size_t point_intern(struct simhv_world *w, const char *point,
                                                     struct simhv_point_ref *ref)
{
    uint64_t h = point_hash(point);
    size_t i;

    if (w->point_tab_size) {
        uint32_t e = w->point_tab[point_slot(w, point, h)];

        if (e) {
            i = e - 1;
            goto found;
        }
    }
    if (point_add(w, point, h, &i) < 0)
        return SIZE_MAX;
found:
    *ref = (struct simhv_point_ref){.str = point, .idx = i};
    return i;
}

/* Counts a hit of point; returns its index, or SIZE_MAX when it could not be recorded. A string
 * asked before is found by its address (checked by content) before any hashing. */
static size_t point_record(struct simhv_world *w, const char *point)
{
    struct simhv_point_ref *ref = &w->pcache.slot[point_cache_slot(point)];
    size_t i = ref->idx;

    if (ref->str != point || !point_is(w->points[i].name, point))
        i = point_intern(w, point, ref);
    if (i != SIZE_MAX)
        w->points[i].hits++;
    return i;
}

size_t simhv_world_point_count(const struct simhv_world *w)
{
    return w->n_points;
}

const char *simhv_world_point_name(const struct simhv_world *w, size_t i)
{
    return i < w->n_points ? w->points[i].name : NULL;
}

uint64_t simhv_world_point_hits(const struct simhv_world *w, size_t i)
{
    return i < w->n_points ? w->points[i].hits : 0;
}

/* --- evaluation ----------------------------------------------------------------------------- */

/* Backtracks to the last star. */
bool simhv_glob(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* Whether a matching hit fires (its hit already counted). PROB draws only here. */
static bool rule_fires(struct simhv_world *w, const struct simhv_fault_rule *r)
{
    uint64_t nth = r->nth ? r->nth : 1;

    switch (r->trigger) {
    case SIMHV_TRIGGER_NTH:
        return r->hits >= nth && r->hits - nth < (r->limit ? r->limit : 1);
    case SIMHV_TRIGGER_EVERY:
        return !r->limit || r->fired < r->limit;
    case SIMHV_TRIGGER_PROB:
        if (r->limit && r->fired >= r->limit)
            return false;
        return simhv_world_random(w) % FAULT_PPM < r->prob_ppm;
    case SIMHV_TRIGGER_AFTER:
        return w->now >= r->after_ns && (!r->limit || r->fired < r->limit);
    default:
        return false;
    }
}

static bool rule_context_matches(const struct simhv_fault_rule *r, const struct simhv_ctx *c)
{
    return !r->context || (c && strcmp(r->context, c->name) == 0);
}

/* Rule i met a hit of point (pattern and context matched): counts it and, if it fires, fills
 * *ret and traces the firing. */
static bool rule_hit(struct simhv_world *w, struct simhv_ctx *c, const char *point, size_t i,
                     struct simhv_fault_hit *ret)
{
    struct simhv_fault_rule *r = &w->rules[i];

    r->hits++;
    if (!rule_fires(w, r))
        return false;
    r->fired++;
    *ret = (struct simhv_fault_hit){
        .action = r->action,
        .err = r->err ? r->err : -EIO,
        .delay_ns = r->delay_ns,
        .rule = i,
    };
    if (r->action == SIMHV_ACTION_HANG && !ret->delay_ns)
        ret->delay_ns = FAULT_HANG_DEFAULT;
    simhv_world_trace(w, "fault", point, "rule %zu %s %s%s%s", i,
                      simhv_action_to_string((enum simhv_action) r->action),
                      vc_errno_name(ret->err), c ? " context " : "", c ? c->name : "");
    return true;
}

/* The rules whose pattern matches point p, as a mask; patterns of rules added since the last
 * call are matched now (the plan only grows). */
static uint64_t point_rules(struct simhv_world *w, struct simhv_point *p)
{
    for (; p->n_rules_seen < w->n_rules; p->n_rules_seen++)
        if (simhv_glob(w->rules[p->n_rules_seen].point, p->name))
            p->rules |= UINT64_C(1) << p->n_rules_seen;
    return p->rules;
}

bool simhv_world_fault_eval(struct simhv_world *w, struct simhv_ctx *c, const char *point,
                            struct simhv_fault_hit *ret)
{
    size_t pi;

    if (w->faults_off)
        return false;
    pi = point_record(w, point);
    if (!w->n_rules)
        return false;
    if (pi != SIZE_MAX && w->n_rules <= SIMHV_POINT_RULES) {
        /* Only rules whose pattern matches are asked, in plan order. */
        for (uint64_t m = point_rules(w, &w->points[pi]); m; m &= m - 1) {
            size_t i = (size_t) __builtin_ctzll(m);

            if (rule_context_matches(&w->rules[i], c) && rule_hit(w, c, point, i, ret))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i < w->n_rules; i++)
        if (rule_context_matches(&w->rules[i], c) && simhv_glob(w->rules[i].point, point) &&
            rule_hit(w, c, point, i, ret))
            return true;
    return false;
}

/* --- carrying out --------------------------------------------------------------------------- */

static void fault_crash_vms(struct simhv_world *w, const char *target)
{
    if (target) {
        (void) simhv_world_crash_vm(w, target);
        return;
    }
    /* Crashing removes nothing from the list, so indices stay valid. */
    for (size_t i = 0; i < w->n_vms; i++) {
        const struct simhv_vm *vm = &w->vms[i]->vm;

        if (vm->state == VC_VM_STATE_RUNNING || vm->state == VC_VM_STATE_PAUSED)
            (void) simhv_world_crash_vm(w, vm->sandbox_id);
    }
}

static void fault_crash_ctx(struct simhv_world *w, struct simhv_ctx *c)
{
    if (!c || c->crashed)
        return;
    c->crashed = true;
    simhv_world_trace(w, "world", "runtime_crash", "context %s", c->name);
}

int simhv_world_fault_apply(struct simhv_world *w, struct simhv_ctx *c, const char *point,
                            const struct simhv_fault_hit *hit)
{
    const struct simhv_fault_rule *rule = hit->rule < w->n_rules ? &w->rules[hit->rule] : NULL;
    int r;

    switch (hit->action) {
    case SIMHV_ACTION_DELAY:
        return simhv_world_run_until(w, w->now + hit->delay_ns);
    case SIMHV_ACTION_HANG:
        r = simhv_world_run_until(w, w->now + hit->delay_ns);
        return r < 0 ? r : -ETIMEDOUT;
    case SIMHV_ACTION_VM_CRASH:
        fault_crash_vms(w, rule ? rule->target : NULL);
        return 0;
    case SIMHV_ACTION_RUNTIME_CRASH:
        fault_crash_ctx(w, c);
        return -ECANCELED;
    case SIMHV_ACTION_HOST_CRASH:
        simhv_world_trace(w, "world", "host_crash", "at %s", point);
        simhv_disk_crash(w);
        for (size_t i = 0; i < w->n_vms; i++)
            if (w->vms[i]->vm.state != VC_VM_STATE_STOPPED)
                (void) simhv_world_crash_vm(w, w->vms[i]->vm.sandbox_id);
        fault_crash_ctx(w, c);
        return -ECANCELED;
    case SIMHV_ACTION_ERRNO:
    case SIMHV_ACTION_TORN_WRITE:
    default:
        return hit->err;
    }
}
