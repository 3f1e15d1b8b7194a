/* SPDX-License-Identifier: Apache-2.0 */
/* Parses a scenario document (FORMAT.md) into struct vcsim_scenario: top-level keys, world,
 * guest script, fault plan, invariants and the steps' expectations; step arguments are parsed
 * by the step table (steps.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "scenario.h"
#include "value.h"

static const char *const sc_invariant_names[VCSIM_INV_LAST] = {
    [VCSIM_INV_STORE_MATCHES_VM] = "store_matches_vm",
    [VCSIM_INV_NO_ORPHAN_VM] = "no_orphan_vm",
    [VCSIM_INV_NO_LOST_VM] = "no_lost_vm",
    [VCSIM_INV_GUEST_MATCHES_STORE] = "guest_matches_store",
    [VCSIM_INV_RESOURCES_ADD_UP] = "resources_add_up",
    [VCSIM_INV_FAILED_CREATE] = "failed_create_leaves_nothing",
    [VCSIM_INV_DELETE] = "delete_leaves_nothing",
    [VCSIM_INV_NO_LEAKS] = "no_leaks",
    [VCSIM_INV_EXPECTATIONS_USED] = "expectations_used",
};

/* The sandbox defaults of FORMAT.md, under the scenario's own. */
static const char sc_builtin_sandbox[] =
    "{\"hv\":{\"kind\":\"sim\",\"vcpus\":1,\"max_vcpus\":4,\"memory_mb\":256,"
    "\"max_memory_mb\":2048,\"mem_slots\":8},\"agent\":{\"kind\":\"mock\"}}";

enum vcsim_invariant vcsim_invariant_from_name(const char *name)
{
    unsigned inv = 0;

    while (inv < VCSIM_INV_LAST && strcmp(sc_invariant_names[inv], name) != 0)
        inv++;
    return (enum vcsim_invariant) inv;
}

const char *vcsim_invariant_name(enum vcsim_invariant inv)
{
    return inv < VCSIM_INV_LAST ? sc_invariant_names[inv] : "?";
}

int vcsim_check_keys(struct vcsim_diag *d, const struct vcsim_node *map, const char *what,
                     const char *keys)
{
    if (map->kind != VCSIM_NODE_MAP)
        return vcsim_diag_node(d, map, "%s must be a map, got %s", what, vcsim_node_kind_name(map));
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (!vcsim_word_in(keys, map->items[i]->text))
            return vcsim_diag_node(d, map->items[i], "unknown key '%s' in %s", map->items[i]->text,
                                   what);
    return 0;
}

static uint64_t sc_clock_zero(void *data)
{
    return 0;
}

static int64_t sc_wall_zero(void *data)
{
    return 0;
}

static int sc_dup(const char *s, char **ret)
{
    char *c = strdup(s);

    if (!c)
        return -ENOMEM;
    free(*ret);
    *ret = c;
    return 0;
}

/* A list of strings. */
static int sc_strv(struct vcsim_diag *d, const struct vcsim_node *n, char ***ret, size_t *ret_n)
{
    const char *s;
    char **v;
    int r;

    if (n->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, n, "expected a list, got %s", vcsim_node_kind_name(n));
    v = calloc(n->n + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        r = vcsim_val_str(d, n->items[i], &s);
        if (r >= 0 && !(v[i] = strdup(s)))
            r = -ENOMEM;
        if (r < 0) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return r;
        }
    }
    *ret = v;
    *ret_n = n->n;
    return 0;
}

static void sc_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int vcsim_obj_from_json(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *at,
                        const struct vc_schema *sc, json_object *j, void *obj)
{
    int r = vc_obj_from_json(s->mem, sc, j, obj);

    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return vcsim_diag_node(d, at, "%s", vc_ctx_errmsg(s->mem));
    return 0;
}

/* --- world ------------------------------------------------------------------------------- */

static int sc_boot_latency(struct vcsim_diag *d, const struct vcsim_node *n,
                           struct simhv_options *o)
{
    int r;

    if (n->kind == VCSIM_NODE_SCALAR) {
        r = vcsim_val_duration(d, n, false, &o->boot_min_ns);
        o->boot_max_ns = o->boot_min_ns;
        return r;
    }
    if (n->kind != VCSIM_NODE_SEQ || n->n != 2)
        return vcsim_diag_node(d, n, "boot_latency must be a duration or [min, max]");
    r = vcsim_val_duration(d, n->items[0], false, &o->boot_min_ns);
    if (r >= 0)
        r = vcsim_val_duration(d, n->items[1], false, &o->boot_max_ns);
    if (r >= 0 && o->boot_max_ns < o->boot_min_ns)
        return vcsim_diag_node(d, n, "boot_latency: max below min");
    return r;
}

/* want: the kinds the simulated world has, space separated. */
static int sc_world_kind(struct vcsim_diag *d, const struct vcsim_node *n, const char *want,
                         const char **ret)
{
    const char *s;
    int r = vcsim_val_str(d, n, &s);

    if (r >= 0 && !vcsim_word_in(want, s))
        return vcsim_diag_node(d, n, "unsupported kind '%s' (the simulated world has: %s)", s,
                               want);
    if (r >= 0 && ret)
        *ret = s;
    return r;
}

static int sc_world(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *map)
{
    struct simhv_options *o = &s->world;
    int r = vcsim_check_keys(d, map, "world",
                             "hypervisor agent boot_latency hv_op agent_rpc store_op "
                             "disk_capacity max_virtual_time");

    for (size_t i = 0; r >= 0 && i + 1 < map->n; i += 2) {
        const char *k = map->items[i]->text;
        const struct vcsim_node *v = map->items[i + 1];
        const char *kind = NULL;

        if (strcmp(k, "hypervisor") == 0)
            r = sc_world_kind(d, v, "sim", NULL);
        else if (strcmp(k, "agent") == 0) {
            r = sc_world_kind(d, v, "mock wire", &kind);
            if (r >= 0) {
                s->wire = strcmp(kind, "wire") == 0;
                s->agent_given = true;
            }
        } else if (strcmp(k, "boot_latency") == 0)
            r = sc_boot_latency(d, v, o);
        else if (strcmp(k, "hv_op") == 0)
            r = vcsim_val_duration(d, v, false, &o->hv_op_ns);
        else if (strcmp(k, "agent_rpc") == 0)
            r = vcsim_val_duration(d, v, false, &o->agent_rpc_ns);
        else if (strcmp(k, "store_op") == 0)
            r = vcsim_val_duration(d, v, false, &o->store_op_ns);
        else if (strcmp(k, "disk_capacity") == 0)
            r = vcsim_val_size(d, v, &o->disk_capacity);
        else
            r = vcsim_val_duration(d, v, false, &o->max_virtual_ns);
    }
    return r;
}

/* --- guest ------------------------------------------------------------------------------- */

static int sc_signal_rule(struct vcsim_diag *d, const struct vcsim_node *n,
                          struct magent_signal_rule *sr)
{
    const struct vcsim_node *v;
    int64_t x;
    int r = vcsim_check_keys(d, n, "signal rule", "signal exit ignore");

    if (r >= 0 && !(v = vcsim_node_get(n, "signal")))
        r = vcsim_diag_node(d, n, "signal rule needs 'signal'");
    if (r >= 0)
        r = vcsim_val_signal(d, v, &sr->signal);
    sr->exit_code = 128 + sr->signal;
    if (r >= 0 && (v = vcsim_node_get(n, "exit"))) {
        r = vcsim_val_int(d, v, 0, 255, &x);
        sr->exit_code = (int32_t) x;
    }
    if (r >= 0 && (v = vcsim_node_get(n, "ignore")))
        r = vcsim_val_bool(d, v, &sr->ignore);
    return r;
}

static int sc_program_field(struct vcsim_diag *d, const char *k, const struct vcsim_node *v,
                            struct magent_program *p)
{
    const char *s;
    int64_t x;
    int r;

    if (strcmp(k, "argv") == 0)
        return sc_strv(d, v, &p->argv, &p->n_argv);
    if (strcmp(k, "runtime") == 0)
        return vcsim_val_duration(d, v, true, &p->runtime_ns);
    if (strcmp(k, "oom_after") == 0)
        return vcsim_val_duration(d, v, false, &p->oom_after_ns);
    if (strcmp(k, "echo_stdin") == 0)
        return vcsim_val_bool(d, v, &p->echo_stdin);
    if (strcmp(k, "exit") == 0) {
        r = vcsim_val_int(d, v, 0, 255, &x);
        p->exit_code = (int32_t) x;
        return r;
    }
    r = vcsim_val_str(d, v, &s);
    if (r < 0)
        return r;
    return sc_dup(s, strcmp(k, "stdout") == 0 ? &p->out : &p->err);
}

static int sc_program(struct vcsim_diag *d, const struct vcsim_node *n, struct magent_program *p)
{
    const struct vcsim_node *sig;
    int r = vcsim_check_keys(d, n, "program",
                             "argv runtime exit stdout stderr echo_stdin oom_after signals");

    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2)
        if (strcmp(n->items[i]->text, "signals") != 0)
            r = sc_program_field(d, n->items[i]->text, n->items[i + 1], p);
    sig = vcsim_node_get(n, "signals");
    if (r < 0 || !sig)
        return r;
    if (sig->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, sig, "signals must be a list");
    p->signals = calloc(sig->n + 1, sizeof(*p->signals));
    if (!p->signals)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < sig->n; i++, p->n_signals++)
        r = sc_signal_rule(d, sig->items[i], &p->signals[i]);
    return r;
}

static int sc_rule_match(struct vcsim_diag *d, const struct vcsim_node *n, struct magent_rule *ru)
{
    const char *v;
    int r = 0;

    if (n->kind != VCSIM_NODE_MAP)
        return vcsim_diag_node(d, n, "match must be a map of request fields");
    ru->match = calloc(n->n / 2 + 1, sizeof(*ru->match));
    if (!ru->match)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2) {
        struct magent_match *m = &ru->match[ru->n_match];
        r = vcsim_val_str(d, n->items[i + 1], &v);
        if (r < 0)
            break;
        ru->n_match++;
        if (!(m->field = strdup(n->items[i]->text)) || !(m->value = strdup(v)))
            r = -ENOMEM;
    }
    return r;
}

static int sc_rule_field(struct vcsim_diag *d, const char *k, const struct vcsim_node *v,
                         struct magent_rule *ru)
{
    const char *s;
    bool b = false;
    int r;

    if (strcmp(k, "rpc") == 0 || strcmp(k, "message") == 0) {
        r = vcsim_val_str(d, v, &s);
        return r < 0 ? r : sc_dup(s, k[0] == 'r' ? &ru->rpc : &ru->message);
    }
    if (strcmp(k, "match") == 0)
        return sc_rule_match(d, v, ru);
    if (strcmp(k, "nth") == 0 || strcmp(k, "limit") == 0)
        return vcsim_val_u64(d, v, k[0] == 'n' ? &ru->nth : &ru->limit);
    if (strcmp(k, "error") == 0) {
        ru->reply = MAGENT_REPLY_ERROR;
        return vcsim_val_status(d, v, &ru->status);
    }
    if (strcmp(k, "delay") == 0) {
        ru->reply = MAGENT_REPLY_DELAY;
        return vcsim_val_duration(d, v, false, &ru->delay_ns);
    }
    r = vcsim_val_bool(d, v, &b);
    if (strcmp(k, "hang") == 0 && b)
        ru->reply = MAGENT_REPLY_HANG;
    if (strcmp(k, "expect") == 0)
        ru->expected = b;
    return r;
}

static int sc_rule(struct vcsim_diag *d, const struct vcsim_node *n, struct magent_rule *ru)
{
    unsigned actions = 0;
    int r = vcsim_check_keys(d, n, "rule", "rpc match nth limit error message delay hang expect");

    if (r >= 0 && !vcsim_node_get(n, "rpc"))
        return vcsim_diag_node(d, n, "rule needs 'rpc'");
    actions =
        !!vcsim_node_get(n, "error") + !!vcsim_node_get(n, "delay") + !!vcsim_node_get(n, "hang");
    if (r >= 0 && actions > 1)
        return vcsim_diag_node(d, n, "rule takes at most one of error, delay, hang");
    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2)
        r = sc_rule_field(d, n->items[i]->text, n->items[i + 1], ru);
    return r;
}

static int sc_facts(struct vcsim_diag *d, const struct vcsim_node *n, struct magent_facts *f)
{
    const char *s;
    int r = vcsim_check_keys(d, n, "facts",
                             "mem_block_size mem_hotplug_probe agent_version metrics volume_size");

    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2) {
        const char *k = n->items[i]->text;
        const struct vcsim_node *v = n->items[i + 1];
        if (strcmp(k, "mem_block_size") == 0)
            r = vcsim_val_size(d, v, &f->mem_block_bytes);
        else if (strcmp(k, "volume_size") == 0)
            r = vcsim_val_size(d, v, &f->volume_bytes);
        else if (strcmp(k, "mem_hotplug_probe") == 0)
            r = vcsim_val_bool(d, v, &f->mem_hotplug_probe);
        else if ((r = vcsim_val_str(d, v, &s)) >= 0)
            r = sc_dup(s, k[0] == 'a' ? &f->agent_version : &f->metrics);
    }
    return r;
}

static int sc_guest(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *map)
{
    struct magent_script *sc = &s->script;
    const struct vcsim_node *v;
    int r = vcsim_check_keys(d, map, "guest", "programs rules facts");

    if (r >= 0 && (v = vcsim_node_get(map, "facts")))
        r = sc_facts(d, v, &sc->facts);
    if (r >= 0 && (v = vcsim_node_get(map, "programs"))) {
        if (v->kind != VCSIM_NODE_SEQ)
            return vcsim_diag_node(d, v, "programs must be a list");
        if (!(sc->programs = calloc(v->n + 1, sizeof(*sc->programs))))
            return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < v->n; i++, sc->n_programs++)
            r = sc_program(d, v->items[i], &sc->programs[i]);
    }
    if (r >= 0 && (v = vcsim_node_get(map, "rules"))) {
        if (v->kind != VCSIM_NODE_SEQ)
            return vcsim_diag_node(d, v, "rules must be a list");
        if (!(sc->rules = calloc(v->n + 1, sizeof(*sc->rules))))
            return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < v->n; i++, sc->n_rules++)
            r = sc_rule(d, v->items[i], &sc->rules[i]);
    }
    return r;
}

static void sc_script_clear(struct magent_script *sc)
{
    for (size_t i = 0; i < sc->n_rules; i++) {
        for (size_t j = 0; j < sc->rules[i].n_match; j++) {
            free(sc->rules[i].match[j].field);
            free(sc->rules[i].match[j].value);
        }
        free(sc->rules[i].match);
        free(sc->rules[i].rpc);
        free(sc->rules[i].message);
    }
    for (size_t i = 0; i < sc->n_programs; i++) {
        sc_strv_free(sc->programs[i].argv, sc->programs[i].n_argv);
        free(sc->programs[i].out);
        free(sc->programs[i].err);
        free(sc->programs[i].signals);
    }
    free(sc->rules);
    free(sc->programs);
    free(sc->facts.agent_version);
    free(sc->facts.metrics);
}

/* --- faults ------------------------------------------------------------------------------ */

static int sc_fault_trigger(struct vcsim_diag *d, const struct vcsim_node *n,
                            struct simhv_fault_rule *f)
{
    const struct vcsim_node *v;
    double p;
    char *end;
    bool b;
    int r = 0;

    f->trigger = SIMHV_TRIGGER_NTH;
    if ((v = vcsim_node_get(n, "nth")))
        r = vcsim_val_u64(d, v, &f->nth);
    else if ((v = vcsim_node_get(n, "every"))) {
        f->trigger = SIMHV_TRIGGER_EVERY;
        r = vcsim_val_bool(d, v, &b);
        if (r >= 0 && !b)
            r = vcsim_diag_node(d, v, "every: only true makes sense");
    } else if ((v = vcsim_node_get(n, "after"))) {
        f->trigger = SIMHV_TRIGGER_AFTER;
        r = vcsim_val_duration(d, v, false, &f->after_ns);
    } else if ((v = vcsim_node_get(n, "probability"))) {
        f->trigger = SIMHV_TRIGGER_PROB;
        p = v->kind == VCSIM_NODE_SCALAR ? strtod(v->text, &end) : -1;
        if (v->kind != VCSIM_NODE_SCALAR || !v->plain || *end || p < 0 || p > 1)
            return vcsim_diag_node(d, v, "probability must be a number in [0, 1]");
        f->prob_ppm = (uint32_t) (p * 1e6 + 0.5);
    }
    return r;
}

/* The one action key of a fault rule. */
static int sc_fault_action(struct vcsim_diag *d, const char *k, const struct vcsim_node *v,
                           struct simhv_fault_rule *f)
{
    bool b = true;
    int r = 0;

    if (strcmp(k, "errno") == 0) {
        f->action = SIMHV_ACTION_ERRNO;
        return vcsim_val_errno(d, v, &f->err);
    }
    if (strcmp(k, "delay") == 0 || strcmp(k, "hang") == 0 || strcmp(k, "drip") == 0) {
        f->action = simhv_action_from_string(k);
        return vcsim_val_duration(d, v, false, &f->delay_ns);
    }
    if (strcmp(k, "vm_crash") == 0) {
        f->action = SIMHV_ACTION_VM_CRASH;
        if (v->kind == VCSIM_NODE_SCALAR && v->plain && strcmp(v->text, "true") == 0)
            return 0;
        return vcsim_val_str(d, v, (const char **) &k) < 0 ? -EINVAL : sc_dup(k, &f->target);
    }
    r = vcsim_val_bool(d, v, &b);
    if (r >= 0 && !b)
        return vcsim_diag_node(d, v, "%s: only true makes sense", k);
    f->action = simhv_action_from_string(k);
    return r;
}

int vcsim_fault_parse(struct vcsim_diag *d, const struct vcsim_node *n, struct simhv_fault_rule *f,
                      char **name)
{
    static const char actions[] = "errno delay hang vm_crash runtime_crash host_crash torn_write "
                                  "reset drop truncate corrupt duplicate drip";
    const struct vcsim_node *v;
    unsigned n_act = 0, n_trig = 0;
    const char *s;
    int r = vcsim_check_keys(d, n, "fault",
                             "point nth every probability after limit context name "
                             "errno delay hang vm_crash runtime_crash host_crash "
                             "torn_write reset drop truncate corrupt duplicate drip");

    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2) {
        n_act += vcsim_word_in(actions, n->items[i]->text);
        n_trig += vcsim_word_in("nth every probability after", n->items[i]->text);
    }
    if (r >= 0 && !(v = vcsim_node_get(n, "point")))
        return vcsim_diag_node(d, n, "fault needs 'point'");
    if (r >= 0 && (n_act != 1 || n_trig > 1))
        return vcsim_diag_node(d, n,
                               n_act != 1 ? "fault needs exactly one action (%s)"
                                          : "fault takes one trigger (%s)",
                               n_act != 1 ? actions : "nth every probability after");
    if (r >= 0 && (r = vcsim_val_str(d, v, &s)) >= 0)
        r = sc_dup(s, &f->point);
    if (r >= 0)
        r = sc_fault_trigger(d, n, f);
    for (size_t i = 0; r >= 0 && i + 1 < n->n; i += 2)
        if (vcsim_word_in(actions, n->items[i]->text))
            r = sc_fault_action(d, n->items[i]->text, n->items[i + 1], f);
    if (r >= 0 && (v = vcsim_node_get(n, "limit")))
        r = vcsim_val_u64(d, v, &f->limit);
    if (r >= 0 && (v = vcsim_node_get(n, "context")) && (r = vcsim_val_str(d, v, &s)) >= 0)
        r = sc_dup(s, &f->context);
    if (r >= 0 && (v = vcsim_node_get(n, "name")) && (r = vcsim_val_str(d, v, &s)) >= 0)
        r = sc_dup(s, name);
    return r;
}

static int sc_faults(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *seq)
{
    int r = 0;

    if (seq->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, seq, "faults must be a list");
    s->faults = calloc(seq->n + 1, sizeof(*s->faults));
    s->fault_names = calloc(seq->n + 1, sizeof(*s->fault_names));
    if (!s->faults || !s->fault_names)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < seq->n; i++, s->n_faults++)
        r = vcsim_fault_parse(d, seq->items[i], &s->faults[i], &s->fault_names[i]);
    return r;
}

/* --- expectations ------------------------------------------------------------------------ */

static int sc_expect_rc(struct vcsim_diag *d, const struct vcsim_node *v, struct vcsim_expect *e)
{
    if (v->kind == VCSIM_NODE_SCALAR && v->plain &&
        (strcmp(v->text, "0") == 0 || strcmp(v->text, "ok") == 0)) {
        e->rc = 0;
        return 0;
    }
    if (v->kind == VCSIM_NODE_SCALAR && strcmp(v->text, "error") == 0) {
        e->rc = VCSIM_RC_ANY_ERROR;
        return 0;
    }
    if (v->kind == VCSIM_NODE_SCALAR && strcmp(v->text, "any") == 0) {
        e->rc = VCSIM_RC_ANY;
        return 0;
    }
    return vcsim_val_errno(d, v, &e->rc);
}

static int sc_expect_state(struct vcsim_diag *d, const struct vcsim_node *v, struct vcsim_expect *e)
{
    const char *s;
    int r = vcsim_val_str(d, v, &s);

    if (r < 0)
        return r;
    e->state = strcmp(s, "absent") == 0 ? VCSIM_STATE_ABSENT : vc_state_from_string(s);
    if (e->state == -1)
        return vcsim_diag_node(d, v, "unknown state '%s'", s);
    return 0;
}

static int sc_expect_vtime(struct vcsim_diag *d, const struct vcsim_node *v, struct vcsim_expect *e)
{
    const struct vcsim_node *x;
    int r = vcsim_check_keys(d, v, "virtual_time", "min max");

    e->vt_max = UINT64_MAX;
    if (r >= 0 && (x = vcsim_node_get(v, "min")))
        r = vcsim_val_duration(d, x, false, &e->vt_min);
    if (r >= 0 && (x = vcsim_node_get(v, "max")))
        r = vcsim_val_duration(d, x, true, &e->vt_max);
    return r;
}

static int sc_expect_text(struct vcsim_diag *d, const struct vcsim_node *v, char **ret,
                          size_t *ret_len)
{
    int r = v->kind == VCSIM_NODE_SCALAR ? 0 : vcsim_diag_node(d, v, "expected text");

    if (r < 0)
        return r;
    *ret = malloc(v->len + 1);
    if (!*ret)
        return -ENOMEM;
    memcpy(*ret, v->text, v->len + 1);
    if (ret_len)
        *ret_len = v->len;
    return 0;
}

/* One expect key; bit is its VCSIM_EXP_* flag. */
static int sc_expect_key(struct vcsim_diag *d, const char *k, const struct vcsim_node *v,
                         struct vcsim_expect *e)
{
    int64_t x;
    int r;

    if (strcmp(k, "rc") == 0)
        return sc_expect_rc(d, v, e);
    if (strcmp(k, "state") == 0)
        return sc_expect_state(d, v, e);
    if (strcmp(k, "virtual_time") == 0)
        return sc_expect_vtime(d, v, e);
    if (strcmp(k, "crash") == 0)
        return vcsim_val_bool(d, v, &e->crash);
    if (strcmp(k, "count") == 0)
        return vcsim_val_u64(d, v, &e->count);
    if (strcmp(k, "result") == 0)
        return vcsim_json_from_any(d, v, &e->result);
    if (strcmp(k, "status") == 0) {
        r = vcsim_val_int(d, v, INT32_MIN, INT32_MAX, &x);
        e->status = (int32_t) x;
        return r;
    }
    if (strcmp(k, "output") == 0)
        return sc_expect_text(d, v, &e->output, &e->output_len);
    return sc_expect_text(d, v, strcmp(k, "error") == 0 ? &e->error : &e->contains, NULL);
}

/* Which expect keys a step may use, given what it outputs. */
static bool sc_expect_allowed(const struct vcsim_step_desc *desc, unsigned bit)
{
    switch (bit) {
    case VCSIM_EXP_STATUS:
        return desc->out & VCSIM_OUT_STATUS;
    case VCSIM_EXP_OUTPUT:
    case VCSIM_EXP_CONTAINS:
        return desc->out & VCSIM_OUT_OUTPUT;
    case VCSIM_EXP_COUNT:
        return desc->out & VCSIM_OUT_COUNT;
    case VCSIM_EXP_RESULT:
        return desc->out & VCSIM_OUT_RESULT;
    case VCSIM_EXP_STATE:
        return desc->target != VCSIM_TGT_NONE && desc->target != VCSIM_TGT_SANDBOX_ARG;
    default:
        return true;
    }
}

static const char *const sc_expect_keys[] = {
    "rc",    "error",  "state", "status",       "output", "contains",
    "count", "result", "crash", "virtual_time", NULL,
}; /* in the order of the VCSIM_EXP_* bits */

static int sc_expect(struct vcsim_diag *d, const struct vcsim_node *map, struct vcsim_step *st)
{
    int r = map->kind == VCSIM_NODE_MAP ? 0
                                        : vcsim_diag_node(d, map, "expect must be a map, got %s",
                                                          vcsim_node_kind_name(map));

    for (size_t i = 0; r >= 0 && i + 1 < map->n; i += 2) {
        const char *k = map->items[i]->text;
        unsigned b = 0;
        while (sc_expect_keys[b] && strcmp(sc_expect_keys[b], k) != 0)
            b++;
        if (!sc_expect_keys[b])
            return vcsim_diag_node(d, map->items[i], "unknown key '%s' in expect", k);
        if (!sc_expect_allowed(st->desc, 1u << b))
            return vcsim_diag_node(d, map->items[i], "step '%s' has no '%s' to expect",
                                   st->desc->name, k);
        st->expect.given |= 1u << b;
        r = sc_expect_key(d, k, map->items[i + 1], &st->expect);
    }
    return r;
}

/* --- steps ------------------------------------------------------------------------------- */

static int sc_step(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *n,
                   struct vcsim_step *st)
{
    const struct vcsim_node *key = NULL, *ex = NULL;
    int r;

    if (n->kind != VCSIM_NODE_MAP)
        return vcsim_diag_node(d, n, "a step must be a map naming its action");
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        if (strcmp(n->items[i]->text, "expect") == 0)
            ex = n->items[i + 1];
        else if (key)
            return vcsim_diag_node(d, n->items[i], "step has two actions ('%s' and '%s')",
                                   key->text, n->items[i]->text);
        else
            key = n->items[i];
    }
    if (!key)
        return vcsim_diag_node(d, n, "step names no action");
    st->line = key->line;
    st->col = key->col;
    st->desc = vcsim_step_desc_find(key->text);
    if (!st->desc)
        return vcsim_diag_node(d, key, "unknown step '%s'", key->text);
    r = vcsim_step_parse_args(s, d, st, vcsim_node_get(n, key->text));
    if (r >= 0 && ex)
        r = sc_expect(d, ex, st);
    return r;
}

static int sc_steps(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *seq)
{
    int r = 0;

    if (seq->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, seq, "steps must be a list");
    if (seq->n == 0)
        return vcsim_diag_node(d, seq, "steps must not be empty");
    s->steps = calloc(seq->n, sizeof(*s->steps));
    if (!s->steps)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < seq->n; i++, s->n_steps++) {
        s->steps[i].index = (unsigned) i;
        r = sc_step(s, d, seq->items[i], &s->steps[i]);
    }
    return r;
}

/* --- top level --------------------------------------------------------------------------- */

static int sc_invariants(struct vcsim_scenario *s, struct vcsim_diag *d,
                         const struct vcsim_node *map)
{
    const struct vcsim_node *skip, *mon;
    bool monitor = true;
    int r = vcsim_check_keys(d, map, "invariants", "skip monitor only");

    if (r >= 0 && (mon = vcsim_node_get(map, "monitor")))
        r = vcsim_val_bool(d, mon, &monitor);
    if (r >= 0 && (mon = vcsim_node_get(map, "only")))
        r = vcsim_val_bool(d, mon, &s->invariants_only);
    s->no_monitor = !monitor;
    if (r < 0 || !(skip = vcsim_node_get(map, "skip")))
        return r;
    if (skip->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, skip, "skip must be a list of invariant names");
    for (size_t i = 0; i < skip->n; i++) {
        unsigned inv = 0;
        while (inv < VCSIM_INV_LAST && (skip->items[i]->kind != VCSIM_NODE_SCALAR ||
                                        strcmp(sc_invariant_names[inv], skip->items[i]->text)))
            inv++;
        if (inv == VCSIM_INV_LAST)
            return vcsim_diag_node(d, skip->items[i], "unknown invariant '%s'",
                                   skip->items[i]->text ? skip->items[i]->text : "?");
        s->skip |= 1u << inv;
    }
    return 0;
}

static int sc_sandbox_defaults(struct vcsim_scenario *s, struct vcsim_diag *d,
                               const struct vcsim_node *map)
{
    json_object *builtin = json_tokener_parse(sc_builtin_sandbox), *own = NULL;
    int r = 0;

    if (!builtin)
        return -ENOMEM;
    if (map) {
        r = vcsim_check_keys(d, map, "sandbox", "hostname hv agent net annotations");
        if (r >= 0)
            r = vcsim_json_from_map(d, &vc_schema_sandbox_config, map, NULL, &own);
    }
    if (r >= 0)
        r = vcsim_json_merge(builtin, own, &s->sandbox_defaults);
    json_object_put(builtin);
    json_object_put(own);
    return r;
}

static int sc_name(struct vcsim_scenario *s, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t len;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".yaml") == 0)
        len -= 5;
    s->name = strndup(base, len);
    return s->name ? 0 : -ENOMEM;
}

static int sc_meta(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *root)
{
    const struct vcsim_node *v;
    const char *str;
    int r = 0;

    if ((v = vcsim_node_get(root, "name")) && (r = vcsim_val_str(d, v, &str)) >= 0)
        r = sc_dup(str, &s->name);
    if (r >= 0 && (v = vcsim_node_get(root, "description")) && (r = vcsim_val_str(d, v, &str)) >= 0)
        r = sc_dup(str, &s->description);
    if (r >= 0 && (v = vcsim_node_get(root, "tags")))
        r = sc_strv(d, v, &s->tags, &s->n_tags);
    if (r >= 0 && (v = vcsim_node_get(root, "seed")))
        r = vcsim_val_u64(d, v, &s->seed);
    return r;
}

static int sc_sections(struct vcsim_scenario *s, struct vcsim_diag *d,
                       const struct vcsim_node *root)
{
    const struct vcsim_node *v;
    int r = vcsim_check_keys(d, root, "scenario",
                             "name description tags seed world sandbox guest faults steps "
                             "invariants");

    if (r >= 0)
        r = sc_meta(s, d, root);
    if (r >= 0 && (v = vcsim_node_get(root, "world")))
        r = sc_world(s, d, v);
    if (r >= 0)
        r = sc_sandbox_defaults(s, d, vcsim_node_get(root, "sandbox"));
    if (r >= 0 && (v = vcsim_node_get(root, "guest")))
        r = sc_guest(s, d, v);
    if (r >= 0 && (v = vcsim_node_get(root, "faults")))
        r = sc_faults(s, d, v);
    if (r >= 0 && (v = vcsim_node_get(root, "invariants")))
        r = sc_invariants(s, d, v);
    if (r >= 0 && !(v = vcsim_node_get(root, "steps")))
        r = vcsim_diag_node(d, root, "scenario has no 'steps'");
    if (r >= 0)
        r = sc_steps(s, d, v);
    return r;
}

static int sc_new(const char *path, struct vcsim_scenario **ret)
{
    struct vcsim_scenario *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->seed = 1;
    s->mem_clock = (struct vc_clock){.monotonic = sc_clock_zero, .wall = sc_wall_zero};
    s->mem_rng = (struct vc_rng){.next = sc_clock_zero};
    r = vc_ctx_new(&s->mem_clock, &s->mem_rng, NULL, &s->mem);
    if (r >= 0 && !(s->path = strdup(path)))
        r = -ENOMEM;
    if (r >= 0)
        r = sc_name(s, path);
    if (r < 0) {
        vcsim_scenario_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

int vcsim_scenario_parse(const char *path, const char *text, size_t len, struct vcsim_diag *d,
                         struct vcsim_scenario **ret)
{
    struct vcsim_scenario *s = NULL;
    struct vcsim_node *root = NULL;
    int r;

    d->path = path;
    r = vcsim_yaml_parse(text, len, d, &root);
    if (r >= 0 && root->kind != VCSIM_NODE_MAP)
        r = vcsim_diag_node(d, root, "a scenario must be a map, got %s",
                            vcsim_node_kind_name(root));
    if (r >= 0)
        r = sc_new(path, &s);
    if (r >= 0)
        r = sc_sections(s, d, root);
    vcsim_node_free(root);
    if (r == -ENOMEM)
        (void) vcsim_diag_at(d, 0, 0, "out of memory");
    if (r < 0) {
        vcsim_scenario_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

int vcsim_scenario_load(const char *path, struct vcsim_diag *d, struct vcsim_scenario **ret)
{
    char *buf;
    size_t len;
    int r;

    d->path = path;
    r = vcsim_file_read(path, d, &buf, &len);
    if (r < 0)
        return r;
    r = vcsim_scenario_parse(path, buf, len, d, ret);
    free(buf);
    return r;
}

void vcsim_scenario_free(struct vcsim_scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_steps; i++) {
        vcsim_step_args_clear(s, &s->steps[i]);
        free(s->steps[i].expect.error);
        free(s->steps[i].expect.output);
        free(s->steps[i].expect.contains);
        json_object_put(s->steps[i].expect.result);
    }
    free(s->steps);
    for (size_t i = 0; i < s->n_faults; i++) {
        free(s->faults[i].point);
        free(s->faults[i].target);
        free(s->faults[i].context);
        free(s->fault_names[i]);
    }
    free(s->faults);
    free(s->fault_names);
    sc_script_clear(&s->script);
    sc_strv_free(s->tags, s->n_tags);
    json_object_put(s->sandbox_defaults);
    vc_ctx_free(s->mem);
    free(s->description);
    free(s->name);
    free(s->path);
    free(s);
}

bool vcsim_scenario_has_tag(const struct vcsim_scenario *s, const char *tag)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (strcmp(s->tags[i], tag) == 0)
            return true;
    return false;
}
