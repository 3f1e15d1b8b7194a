/* SPDX-License-Identifier: Apache-2.0 */
/* `vcsim shrink`: takes a failing run (a scenario, a seed, extra --fault rules, maybe
 * --invariants-only), folds it into one scenario document, and reduces that document while the
 * run still fails the same way: fault rules dropped one at a time, steps dropped in halving
 * chunks (delta debugging), rule parameters made smaller. Every candidate is written as YAML
 * and parsed again, so the result is a scenario file exactly as a person would write it, ready
 * to join the regression suite. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simhv/fault.h>

#include "buf.h"
#include "cli.h"
#include "value.h"

#define SHRINK_MAX_TRIES 5000u /* most candidate runs */
#define SHRINK_SIG_MAX   192u  /* longest failure signature */

/* The reduction in progress. */
struct shrink {
    struct cli_session *s;    /* the session (options, output) */
    const char *path;         /* the scenario file (names candidates in messages) */
    uint64_t seed;            /* the failing seed */
    struct vcsim_node *cur;   /* the smallest failing document so far (owned) */
    char sig[SHRINK_SIG_MAX]; /* how it fails */
    char *message;            /* its failure message (owned) */
    unsigned tries;           /* candidates run */
    unsigned accepted;        /* candidates that still failed the same way */
};

/* How a result fails, stable under reduction: the violated invariant, a settle or budget
 * failure, a runner error, or an unmet expectation ("rc EIO", "output") and its kind of step. */
static void shrink_sig(const struct vcsim_result *r, char *buf, size_t len)
{
    const char *m = r->message ? r->message : "";
    size_t n = strcspn(m, ":");

    if (strncmp(m, "invariant ", 10) == 0 || strncmp(m, "settle", 6) == 0 ||
        strncmp(m, "runner", 6) == 0 || strncmp(m, "nondeterministic", 16) == 0)
        (void) snprintf(buf, len, "%.*s", (int) n, m);
    else if (strncmp(m, "the run was stopped", 19) == 0)
        (void) snprintf(buf, len, "stopped");
    else
        (void) snprintf(buf, len, "%.*s at %s", (int) strcspn(m, ":,'"), m,
                        r->fail_step_name ? r->fail_step_name : "the end");
}

static struct vcsim_node *shrink_child(struct vcsim_node *map, const char *key)
{
    return (struct vcsim_node *) vcsim_node_get(map, key);
}

static void shrink_remove(struct vcsim_node *seq, size_t at, size_t n)
{
    for (size_t i = at; i < at + n; i++)
        vcsim_node_free(seq->items[i]);
    memmove(seq->items + at, seq->items + at + n, (seq->n - at - n) * sizeof(*seq->items));
    seq->n -= n;
}

/* Runs document doc: 1 if it fails with the signature (or any failure when sig is NULL, then
 * stored in ret_sig), 0 if not, -errno when it cannot be written or parsed. */
static int shrink_try(struct shrink *k, const struct vcsim_node *doc, char *ret_sig, char **ret_msg)
{
    struct vcsim_buf text = {0};
    struct vcsim_diag d = {.path = k->path};
    struct vcsim_scenario *sc = NULL;
    struct vcsim_run_opts o = {.agent = k->s->o.agent};
    struct vcsim_result res;
    char sig[SHRINK_SIG_MAX];
    int r;

    k->tries++;
    r = vcsim_node_emit(doc, &text);
    if (r >= 0)
        r = vcsim_scenario_parse(k->path, text.data, text.len, &d, &sc);
    vcsim_buf_clear(&text);
    if (r == -EINVAL && ret_sig)
        fprintf(k->s->err, "%s\n", d.msg);
    if (r == -EINVAL && !ret_sig)
        return 0; /* a reduction that leaves no valid scenario is just not taken */
    if (r < 0)
        return r;
    (void) vcsim_run(sc, k->seed, &o, &res);
    shrink_sig(&res, sig, sizeof(sig));
    r = !res.passed && (ret_sig ? true : strcmp(sig, k->sig) == 0);
    if (ret_sig)
        (void) snprintf(ret_sig, SHRINK_SIG_MAX, "%s", sig);
    if (r && ret_msg) {
        free(*ret_msg);
        *ret_msg = res.message ? strdup(res.message) : NULL;
    }
    vcsim_result_clear(&res);
    vcsim_scenario_free(sc);
    return r;
}

/* Tries cand (owned); when it still fails the same way it becomes the current document. */
static int shrink_take(struct shrink *k, struct vcsim_node *cand)
{
    int r;

    if (!cand)
        return -ENOMEM;
    if (k->tries >= SHRINK_MAX_TRIES) {
        vcsim_node_free(cand);
        return 0;
    }
    r = shrink_try(k, cand, NULL, &k->message);
    if (r <= 0) {
        vcsim_node_free(cand);
        return r;
    }
    vcsim_node_free(k->cur);
    k->cur = cand;
    k->accepted++;
    return 1;
}

/* Drops items of list key in chunks, from halves down to single items, each chunk size
 * walking from the end so the steps that set things up stay longest. */
static int shrink_list(struct shrink *k, const char *key)
{
    const struct vcsim_node *seq = vcsim_node_get(k->cur, key);
    bool progress = false;
    int r = 0;

    if (!seq || seq->kind != VCSIM_NODE_SEQ || !seq->n)
        return 0;
    for (size_t chunk = (seq->n + 1) / 2; r >= 0; chunk /= 2) {
        /* Removing [end - chunk, end) leaves the items before it where they were. */
        for (size_t end = vcsim_node_get(k->cur, key)->n; end >= chunk && r >= 0; end -= chunk) {
            struct vcsim_node *cand = vcsim_node_copy(k->cur);
            if (cand)
                shrink_remove(shrink_child(cand, key), end - chunk, chunk);
            r = shrink_take(k, cand);
            progress |= r > 0;
        }
        if (chunk <= 1)
            break;
    }
    return r < 0 ? r : progress;
}

/* Smaller values for one fault rule: the first hit, no limit, shorter delays. */
static int shrink_rule_values(struct shrink *k, size_t i)
{
    static const char *const tries[][2] = {{"nth", "1"},     {"limit", NULL}, {"probability", NULL},
                                           {"every", NULL},  {"after", NULL}, {"hang", "1s"},
                                           {"delay", "1ms"}, {"drip", "1ms"}};
    bool progress = false;
    int r = 0;

    for (size_t t = 0; r >= 0 && t < sizeof(tries) / sizeof(tries[0]); t++) {
        const struct vcsim_node *rule = vcsim_node_get(k->cur, "faults")->items[i];
        const struct vcsim_node *v = vcsim_node_get(rule, tries[t][0]);
        struct vcsim_node *cand, *crule;
        if (!v || (tries[t][1] && v->text && strcmp(v->text, tries[t][1]) == 0))
            continue;
        cand = vcsim_node_copy(k->cur);
        crule = cand ? shrink_child(cand, "faults")->items[i] : NULL;
        if (crule && tries[t][1]) {
            r = vcsim_node_put(crule, tries[t][0],
                               vcsim_node_new(VCSIM_NODE_SCALAR, tries[t][1], true));
        } else if (crule) {
            /* Without its trigger a rule fires at its first hit. */
            for (size_t j = 0; j + 1 < crule->n; j += 2)
                if (strcmp(crule->items[j]->text, tries[t][0]) == 0) {
                    shrink_remove(crule, j, 2);
                    break;
                }
        }
        if (r < 0) {
            vcsim_node_free(cand);
            return r;
        }
        r = shrink_take(k, cand);
        progress |= r > 0;
    }
    return r < 0 ? r : progress;
}

static int shrink_values(struct shrink *k)
{
    const struct vcsim_node *faults = vcsim_node_get(k->cur, "faults");
    bool progress = false;
    int r = 0;

    for (size_t i = 0; r >= 0 && faults && i < faults->n; i++) {
        r = shrink_rule_values(k, i);
        progress |= r > 0;
        faults = vcsim_node_get(k->cur, "faults");
    }
    return r < 0 ? r : progress;
}

/* Folds the command line into the document: seed, agent, --invariants-only, --fault rules. */
/* The child of map under key, made (of kind) when missing; NULL on ENOMEM. */
static struct vcsim_node *shrink_ensure(struct vcsim_node *map, const char *key,
                                        enum vcsim_node_kind kind)
{
    if (!shrink_child(map, key) && vcsim_node_put(map, key, vcsim_node_new(kind, NULL, false)) < 0)
        return NULL;
    return shrink_child(map, key);
}

static int shrink_put(struct vcsim_node *map, const char *key, const char *value)
{
    return map ? vcsim_node_put(map, key, vcsim_node_new(VCSIM_NODE_SCALAR, value, true)) : -ENOMEM;
}

static int shrink_fold(struct shrink *k, struct vcsim_node *doc, const struct vcsim_scenario *sc)
{
    struct cli_opts *o = &k->s->o;
    struct vcsim_node *skip;
    char seed[32];
    int r;

    (void) snprintf(seed, sizeof(seed), "%" PRIu64, k->seed);
    r = shrink_put(doc, "seed", seed);
    for (size_t i = 0; r >= 0 && i < o->n_faults; i++) {
        struct vcsim_node *faults = shrink_ensure(doc, "faults", VCSIM_NODE_SEQ);
        r = faults ? vcsim_node_append(faults, vcsim_fault_node(&o->faults[i])) : -ENOMEM;
    }
    if (r >= 0 && o->invariants_only)
        r = shrink_put(shrink_ensure(doc, "invariants", VCSIM_NODE_MAP), "only", "true");
    for (unsigned i = 0; r >= 0 && i < VCSIM_INV_LAST; i++) {
        if (!(o->skip & (1u << i)) || (sc->skip & (1u << i)))
            continue;
        skip = shrink_ensure(doc, "invariants", VCSIM_NODE_MAP);
        skip = skip ? shrink_ensure(skip, "skip", VCSIM_NODE_SEQ) : NULL;
        r = skip ? vcsim_node_append(
                       skip, vcsim_node_new(VCSIM_NODE_SCALAR,
                                            vcsim_invariant_name((enum vcsim_invariant) i), true))
                 : -ENOMEM;
    }
    if (r >= 0 && o->agent != VCSIM_AGENT_SCENARIO && !sc->agent_given)
        r = shrink_put(shrink_ensure(doc, "world", VCSIM_NODE_MAP), "agent",
                       o->agent == VCSIM_AGENT_WIRE ? "wire" : "mock");
    /* Folded in: candidates run with the document alone. */
    o->agent = VCSIM_AGENT_SCENARIO;
    return r;
}

static size_t shrink_len(const struct vcsim_node *doc, const char *key)
{
    const struct vcsim_node *v = vcsim_node_get(doc, key);

    return v && v->kind == VCSIM_NODE_SEQ ? v->n : 0;
}

static int shrink_write(struct shrink *k, size_t steps0, size_t faults0)
{
    struct vcsim_buf text = {0};
    FILE *f = k->s->o.output ? fopen(k->s->o.output, "w") : k->s->out;
    int r;

    if (!f) {
        fprintf(k->s->err, "vcsim: %s: %s\n", k->s->o.output, strerror(errno));
        return -errno;
    }
    r = vcsim_node_emit(k->cur, &text);
    fprintf(f,
            "# Shrunk by vcsim shrink from %s (seed %" PRIu64 "): %zu of %zu steps, %zu of %zu\n"
            "# fault rules. It fails with: %.300s\n",
            k->path, k->seed, shrink_len(k->cur, "steps"), steps0, shrink_len(k->cur, "faults"),
            faults0, k->message ? k->message : k->sig);
    if (r >= 0)
        fputs(text.data + (strncmp(text.data, "---", 3) == 0 ? 4 : 0), f);
    vcsim_buf_clear(&text);
    if (f != k->s->out && fclose(f) != 0)
        r = -errno;
    return r;
}

int vcsim_cli_shrink(struct cli_session *s)
{
    struct shrink k = {.s = s, .path = s->o.paths[0]};
    struct vcsim_diag d = {.path = k.path};
    struct vcsim_scenario *sc = NULL;
    size_t steps0, faults0;
    bool progress = true, failing = false;
    int r;

    r = vcsim_scenario_load(k.path, &d, &sc);
    if (r >= 0)
        r = vcsim_yaml_load(k.path, &d, &k.cur);
    if (r < 0) {
        fprintf(s->err, "%s\n", r == -ENOMEM ? "vcsim: out of memory" : d.msg);
        vcsim_scenario_free(sc);
        vcsim_node_free(k.cur);
        return 2;
    }
    k.seed = s->o.has_seeds ? s->o.seed_lo : sc->seed;
    r = shrink_fold(&k, k.cur, sc);
    vcsim_scenario_free(sc);
    steps0 = shrink_len(k.cur, "steps");
    faults0 = shrink_len(k.cur, "faults");
    if (r >= 0)
        r = shrink_try(&k, k.cur, k.sig, &k.message);
    failing = r > 0;
    if (r == 0)
        fprintf(s->err, "vcsim: %s [seed=%" PRIu64 "] does not fail; nothing to shrink\n", k.path,
                k.seed);
    while (r > 0 && progress) {
        progress = false;
        r = shrink_list(&k, "faults");
        progress |= r > 0;
        if (r >= 0)
            r = shrink_list(&k, "steps");
        progress |= r > 0;
        if (r >= 0)
            r = shrink_values(&k);
        progress |= r > 0;
        r = r < 0 ? r : 1;
    }
    if (r > 0) {
        fprintf(s->err,
                "vcsim: shrunk %s [seed=%" PRIu64 "] to %zu of %zu steps and %zu of %zu fault "
                "rules in %u runs; it fails with: %s\n",
                k.path, k.seed, shrink_len(k.cur, "steps"), steps0, shrink_len(k.cur, "faults"),
                faults0, k.tries, k.sig);
        r = shrink_write(&k, steps0, faults0);
    } else if (r < 0) {
        fprintf(s->err, "vcsim: cannot shrink %s: %s\n", k.path, strerror(-r));
    }
    vcsim_node_free(k.cur);
    free(k.message);
    return r < 0 ? 2 : !failing ? 1 : 0;
}
