/* SPDX-License-Identifier: Apache-2.0 */
/* The script engine: validating deep copy of a script, rule decision with per-rule call counts
 * (nth, limit, use counts) and program lookup by argv globs. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>

#include "magent_model.h"

#define SCRIPT_SIGNAL_MAX 64 /* highest signal number a rule may name */

static const char *const reply_names[MAGENT_REPLY_LAST] = {
    [MAGENT_REPLY_OK] = "ok",
    [MAGENT_REPLY_ERROR] = "error",
    [MAGENT_REPLY_DELAY] = "delay",
    [MAGENT_REPLY_HANG] = "hang",
};

const char *magent_reply_to_string(enum magent_reply r)
{
    if ((int) r < 0 || r >= MAGENT_REPLY_LAST)
        return "unknown";
    return reply_names[r];
}

int magent_reply_from_string(const char *name)
{
    for (int i = 0; name && i < MAGENT_REPLY_LAST; i++)
        if (strcmp(name, reply_names[i]) == 0)
            return i;
    return -1;
}

bool magent_glob(const char *p, const char *t)
{
    const char *star = NULL, *back = NULL;

    /* Iterative wildcard match: on a mismatch, retry after the last '*' one character on. */
    while (*t) {
        if (*p == '*') {
            star = ++p;
            back = t;
        } else if (*p == *t) {
            p++;
            t++;
        } else if (star) {
            p = star;
            t = ++back;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static void strv_free(struct vc_ctx *ctx, char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        vc_free(ctx, v[i]);
    vc_free(ctx, v);
}

/* Copies s into *dst (NULL stays NULL). */
static int str_copy(struct vc_ctx *ctx, const char *s, char **dst)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = vc_strdup(ctx, s);
    return *dst ? 0 : -ENOMEM;
}

static int rule_check(struct vc_ctx *ctx, size_t i, const struct magent_rule *r)
{
    if (!r->rpc || !*r->rpc)
        return vc_err(ctx, -EINVAL, "script: rule %zu: no rpc", i + 1);
    if (r->reply < 0 || r->reply >= MAGENT_REPLY_LAST)
        return vc_err(ctx, -EINVAL, "script: rule %zu (%s): unknown reply kind %d", i + 1, r->rpc,
                      r->reply);
    if (r->reply == MAGENT_REPLY_ERROR && (r->status <= 0 || r->status >= VC_STATUS_LAST))
        return vc_err(ctx, -EINVAL, "script: rule %zu (%s): status %d out of range 1..%d", i + 1,
                      r->rpc, r->status, VC_STATUS_LAST - 1);
    if (r->reply != MAGENT_REPLY_ERROR && r->status != 0)
        return vc_err(ctx, -EINVAL, "script: rule %zu (%s): status given for a '%s' reply", i + 1,
                      r->rpc, magent_reply_to_string(r->reply));
    if (r->n_match && !r->match)
        return vc_err(ctx, -EINVAL, "script: rule %zu (%s): no match array", i + 1, r->rpc);
    for (size_t j = 0; j < r->n_match; j++)
        if (!r->match[j].field || !r->match[j].value)
            return vc_err(ctx, -EINVAL, "script: rule %zu (%s): match %zu lacks field or value",
                          i + 1, r->rpc, j + 1);
    return 0;
}

static int rule_copy(struct vc_ctx *ctx, const struct magent_rule *src, struct magent_rule *dst)
{
    *dst = *src;
    dst->rpc = dst->message = NULL;
    dst->match = NULL;
    dst->n_match = 0;
    dst->used = 0;
    if (str_copy(ctx, src->rpc, &dst->rpc) < 0 || str_copy(ctx, src->message, &dst->message) < 0)
        return -ENOMEM;
    if (src->n_match) {
        dst->match = vc_new0(ctx, struct magent_match, src->n_match);
        if (!dst->match)
            return -ENOMEM;
    }
    for (size_t j = 0; j < src->n_match; j++) {
        dst->n_match = j + 1;
        if (str_copy(ctx, src->match[j].field, &dst->match[j].field) < 0 ||
            str_copy(ctx, src->match[j].value, &dst->match[j].value) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void rule_clear(struct vc_ctx *ctx, struct magent_rule *r)
{
    vc_free(ctx, r->rpc);
    vc_free(ctx, r->message);
    for (size_t j = 0; j < r->n_match; j++) {
        vc_free(ctx, r->match[j].field);
        vc_free(ctx, r->match[j].value);
    }
    vc_free(ctx, r->match);
}

static int program_check(struct vc_ctx *ctx, size_t i, const struct magent_program *p)
{
    if (p->n_argv && !p->argv)
        return vc_err(ctx, -EINVAL, "script: program %zu: no argv array", i + 1);
    for (size_t j = 0; j < p->n_argv; j++)
        if (!p->argv[j])
            return vc_err(ctx, -EINVAL, "script: program %zu: argv[%zu] is null", i + 1, j);
    if (p->exit_code < 0 || p->exit_code > 255)
        return vc_err(ctx, -EINVAL, "script: program %zu: exit code %d out of range 0..255", i + 1,
                      p->exit_code);
    if (p->n_signals && !p->signals)
        return vc_err(ctx, -EINVAL, "script: program %zu: no signals array", i + 1);
    for (size_t j = 0; j < p->n_signals; j++) {
        const struct magent_signal_rule *s = &p->signals[j];
        if (s->signal < 1 || s->signal > SCRIPT_SIGNAL_MAX)
            return vc_err(ctx, -EINVAL, "script: program %zu: signal %d out of range 1..%d", i + 1,
                          s->signal, SCRIPT_SIGNAL_MAX);
        if (s->signal == 9)
            return vc_err(ctx, -EINVAL, "script: program %zu: SIGKILL cannot be handled", i + 1);
        if (s->exit_code < 0 || s->exit_code > 255)
            return vc_err(ctx, -EINVAL, "script: program %zu: signal %d exit code %d out of range",
                          i + 1, s->signal, s->exit_code);
    }
    return 0;
}

static int program_copy(struct vc_ctx *ctx, const struct magent_program *src,
                        struct magent_program *dst)
{
    *dst = *src;
    dst->argv = NULL;
    dst->n_argv = 0;
    dst->out = dst->err = NULL;
    dst->signals = NULL;
    dst->n_signals = 0;
    if (str_copy(ctx, src->out, &dst->out) < 0 || str_copy(ctx, src->err, &dst->err) < 0)
        return -ENOMEM;
    if (src->n_argv) {
        dst->argv = vc_new0(ctx, char *, src->n_argv);
        if (!dst->argv)
            return -ENOMEM;
    }
    for (size_t j = 0; j < src->n_argv; j++) {
        dst->n_argv = j + 1;
        if (str_copy(ctx, src->argv[j], &dst->argv[j]) < 0)
            return -ENOMEM;
    }
    if (src->n_signals) {
        dst->signals = vc_new0(ctx, struct magent_signal_rule, src->n_signals);
        if (!dst->signals)
            return -ENOMEM;
        memcpy(dst->signals, src->signals, src->n_signals * sizeof(*src->signals));
        dst->n_signals = src->n_signals;
    }
    return 0;
}

static void program_clear(struct vc_ctx *ctx, struct magent_program *p)
{
    strv_free(ctx, p->argv, p->n_argv);
    vc_free(ctx, p->out);
    vc_free(ctx, p->err);
    vc_free(ctx, p->signals);
}

static int facts_copy(struct vc_ctx *ctx, const struct magent_facts *src, struct magent_facts *dst)
{
    *dst = *src;
    dst->agent_version = dst->metrics = NULL;
    if (str_copy(ctx, src->agent_version, &dst->agent_version) < 0 ||
        str_copy(ctx, src->metrics, &dst->metrics) < 0)
        return -ENOMEM;
    return 0;
}

static int script_check(struct vc_ctx *ctx, const struct magent_script *s)
{
    int r;

    if ((s->n_rules && !s->rules) || (s->n_programs && !s->programs))
        return vc_err(ctx, -EINVAL, "script: counts given without arrays");
    for (size_t i = 0; i < s->n_rules; i++) {
        r = rule_check(ctx, i, &s->rules[i]);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < s->n_programs; i++) {
        r = program_check(ctx, i, &s->programs[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

void magent_script_clear(struct vc_ctx *ctx, struct magent_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->rules && i < s->n_rules; i++)
        rule_clear(ctx, &s->rules[i]);
    for (size_t i = 0; s->programs && i < s->n_programs; i++)
        program_clear(ctx, &s->programs[i]);
    vc_free(ctx, s->rules);
    vc_free(ctx, s->programs);
    vc_free(ctx, s->facts.agent_version);
    vc_free(ctx, s->facts.metrics);
    *s = (struct magent_script){0};
}

int magent_script_copy(struct vc_ctx *ctx, const struct magent_script *src,
                       struct magent_script *dst, uint64_t **ret_seen)
{
    struct magent_script s = {0};
    uint64_t *seen = NULL;
    int r;

    r = script_check(ctx, src);
    if (r < 0)
        return r;
    r = -ENOMEM;
    /* Arrays are allocated whole first so a failure part way leaves them clearable. */
    if (src->n_rules && !(s.rules = vc_new0(ctx, struct magent_rule, src->n_rules)))
        goto fail;
    if (src->n_programs && !(s.programs = vc_new0(ctx, struct magent_program, src->n_programs)))
        goto fail;
    seen = vc_new0(ctx, uint64_t, src->n_rules ? src->n_rules : 1);
    if (!seen)
        goto fail;
    for (size_t i = 0; i < src->n_rules; i++) {
        s.n_rules = i + 1;
        if (rule_copy(ctx, &src->rules[i], &s.rules[i]) < 0)
            goto fail;
    }
    for (size_t i = 0; i < src->n_programs; i++) {
        s.n_programs = i + 1;
        if (program_copy(ctx, &src->programs[i], &s.programs[i]) < 0)
            goto fail;
    }
    if (facts_copy(ctx, &src->facts, &s.facts) < 0)
        goto fail;
    *dst = s;
    *ret_seen = seen;
    return 0;
fail:
    magent_script_clear(ctx, &s);
    vc_free(ctx, seen);
    return vc_err(ctx, r, "script: out of memory");
}

static bool rule_matches(const struct magent_rule *r, const char *rpc, const struct magent_field *f,
                         size_t n)
{
    if (!magent_glob(r->rpc, rpc))
        return false;
    for (size_t j = 0; j < r->n_match; j++) {
        const char *value = NULL;
        for (size_t k = 0; k < n; k++)
            if (strcmp(f[k].name, r->match[j].field) == 0)
                value = f[k].value ? f[k].value : "";
        /* A field the RPC does not carry never matches. */
        if (!value || !magent_glob(r->match[j].value, value))
            return false;
    }
    return true;
}

const struct magent_rule *magent_script_decide(struct magent_script *s, uint64_t *seen,
                                               const char *rpc, const struct magent_field *f,
                                               size_t n)
{
    struct magent_rule *chosen = NULL;

    /* Every rule counts the calls it matches, so a rule's nth is the nth call of its kind
     * whatever the rules before it decided. */
    for (size_t i = 0; i < s->n_rules; i++) {
        struct magent_rule *r = &s->rules[i];
        uint64_t first = r->nth ? r->nth : 1;
        if (!rule_matches(r, rpc, f, n))
            continue;
        seen[i]++;
        if (chosen || seen[i] < first)
            continue;
        if (r->limit && seen[i] - first >= r->limit)
            continue;
        r->used++;
        chosen = r;
    }
    return chosen;
}

void magent_args_text(char *const *args, size_t n_args, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n_args && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", args[i] ? args[i] : "");
        if (n < 0)
            break;
        off += (size_t) n;
    }
}

static bool program_matches(const struct magent_program *p, char *const *args, size_t n_args)
{
    for (size_t j = 0; j < p->n_argv; j++) {
        if (j + 1 == p->n_argv && strcmp(p->argv[j], "**") == 0)
            return true;
        if (j >= n_args || !magent_glob(p->argv[j], args[j] ? args[j] : ""))
            return false;
    }
    return p->n_argv == n_args || p->n_argv == 0;
}

const struct magent_program *magent_script_program(const struct magent_script *s, char *const *args,
                                                   size_t n_args)
{
    for (size_t i = 0; i < s->n_programs; i++)
        if (program_matches(&s->programs[i], args, n_args))
            return &s->programs[i];
    return NULL;
}
