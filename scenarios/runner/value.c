/* SPDX-License-Identifier: Apache-2.0 */
/* Scalar values of the scenario format: numbers, booleans, durations, sizes, errno, status and
 * signal names. Only the YAML core schema is recognised, and only in plain scalars. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vc/err.h>
#include <vc/status.h>

#include "value.h"

/* Units of durations and sizes. */
struct val_unit {
    const char *name; /* suffix */
    uint64_t mult;    /* value of one unit */
};

static const struct val_unit val_durations[] = {
    {"ns", 1},
    {"us", 1000},
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", UINT64_C(60) * 1000000000},
    {"h", UINT64_C(3600) * 1000000000},
};

static const struct val_unit val_sizes[] = {
    {"B", 1},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
};

/* Signal names without the SIG prefix. */
struct val_signal {
    const char *name; /* "TERM" */
    int num;          /* SIGTERM */
};

static const struct val_signal val_signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"SYS", SIGSYS},
};

static int val_scalar(struct vcsim_diag *d, const struct vcsim_node *n, const char *what)
{
    if (!n || n->kind != VCSIM_NODE_SCALAR)
        return vcsim_diag_node(d, n, "expected %s, got %s", what, vcsim_node_kind_name(n));
    return 0;
}

int vcsim_val_str(struct vcsim_diag *d, const struct vcsim_node *n, const char **ret)
{
    int r = val_scalar(d, n, "a string");

    if (r < 0)
        return r;
    if (strlen(n->text) != n->len)
        return vcsim_diag_node(d, n, "string contains a NUL byte");
    *ret = n->text;
    return 0;
}

int vcsim_val_bool(struct vcsim_diag *d, const struct vcsim_node *n, bool *ret)
{
    int r = val_scalar(d, n, "true or false");

    if (r < 0)
        return r;
    if (n->plain && strcmp(n->text, "true") == 0)
        *ret = true;
    else if (n->plain && strcmp(n->text, "false") == 0)
        *ret = false;
    else
        return vcsim_diag_node(d, n, "expected true or false, got '%s'", n->text);
    return 0;
}

/* Parses an integer in the core schema's forms; false if malformed or out of range. */
static bool val_parse_int(const char *s, int64_t *ret)
{
    bool neg = false;
    int base = 10;
    unsigned long long v;
    char *end;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        s += 2;
    }
    if (!*s || !strchr("0123456789abcdefABCDEF", *s))
        return false;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno || *end || v > (unsigned long long) INT64_MAX + neg)
        return false;
    *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
    return true;
}

int vcsim_val_int(struct vcsim_diag *d, const struct vcsim_node *n, int64_t lo, int64_t hi,
                  int64_t *ret)
{
    int64_t v;
    int r = val_scalar(d, n, "an integer");

    if (r < 0)
        return r;
    if (!n->plain || !val_parse_int(n->text, &v))
        return vcsim_diag_node(d, n, "expected an integer, got '%s'", n->text);
    if (v < lo || v > hi)
        return vcsim_diag_node(d, n, "%s out of range [%" PRId64 ", %" PRId64 "]", n->text, lo, hi);
    *ret = v;
    return 0;
}

int vcsim_val_u64(struct vcsim_diag *d, const struct vcsim_node *n, uint64_t *ret)
{
    char *end;
    unsigned long long v;
    int r = val_scalar(d, n, "an integer");

    if (r < 0)
        return r;
    errno = 0;
    v = strtoull(n->text, &end, 10);
    if (!n->plain || n->text[0] < '0' || n->text[0] > '9' || errno || *end)
        return vcsim_diag_node(d, n, "expected a non-negative integer, got '%s'", n->text);
    *ret = v;
    return 0;
}

/* Parses "<number><unit>" (a decimal fraction allowed) against units; a bare "0" is zero. */
static bool val_parse_units(const char *s, const struct val_unit *u, size_t nu, bool need_unit,
                            uint64_t *ret)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return false;
        whole = whole * 10 + (uint64_t) (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale < UINT64_C(1000000000)) {
                frac = frac * 10 + (uint64_t) (*p - '0');
                scale *= 10;
            }
    for (size_t i = 0; i < nu && *p; i++) {
        if (strcmp(p, u[i].name) != 0)
            continue;
        if (whole > UINT64_MAX / u[i].mult)
            return false;
        /* The fraction is rounded to the nearest unit of the smallest scale. */
        *ret = whole * u[i].mult +
               (uint64_t) ((double) frac / (double) scale * (double) u[i].mult + 0.5);
        return true;
    }
    if (*p || (need_unit && whole != 0) || scale != 1)
        return false;
    *ret = whole;
    return true;
}

bool vcsim_parse_duration(const char *s, uint64_t *ret)
{
    return val_parse_units(s, val_durations, sizeof(val_durations) / sizeof(val_durations[0]), true,
                           ret);
}

bool vcsim_parse_size(const char *s, uint64_t *ret)
{
    return val_parse_units(s, val_sizes, sizeof(val_sizes) / sizeof(val_sizes[0]), false, ret);
}

int vcsim_val_duration(struct vcsim_diag *d, const struct vcsim_node *n, bool allow_forever,
                       uint64_t *ret)
{
    int r = val_scalar(d, n, "a duration");

    if (r < 0)
        return r;
    if (allow_forever && strcmp(n->text, "forever") == 0) {
        *ret = VCSIM_FOREVER;
        return 0;
    }
    if (!vcsim_parse_duration(n->text, ret))
        return vcsim_diag_node(d, n, "bad duration '%s' (a number with ns, us, ms, s, m or h%s)",
                               n->text, allow_forever ? ", or forever" : "");
    return 0;
}

int vcsim_val_size(struct vcsim_diag *d, const struct vcsim_node *n, uint64_t *ret)
{
    int r = val_scalar(d, n, "a size");

    if (r < 0)
        return r;
    if (!vcsim_parse_size(n->text, ret))
        return vcsim_diag_node(d, n, "bad size '%s' (bytes, or with KiB, MiB, GiB)", n->text);
    return 0;
}

int vcsim_errno_from_name(const char *name)
{
    /* vc_errno_name is the one table of names; walk the errno space against it. */
    for (int e = 1; e < 200; e++)
        if (strcmp(vc_errno_name(-e), name) == 0)
            return -e;
    return 0;
}

int vcsim_val_errno(struct vcsim_diag *d, const struct vcsim_node *n, int *ret)
{
    int e, r = val_scalar(d, n, "an errno name");

    if (r < 0)
        return r;
    e = vcsim_errno_from_name(n->text);
    if (!e)
        return vcsim_diag_node(d, n, "unknown errno name '%s'", n->text);
    *ret = e;
    return 0;
}

int vcsim_val_status(struct vcsim_diag *d, const struct vcsim_node *n, int32_t *ret)
{
    int s, r = val_scalar(d, n, "a status name");

    if (r < 0)
        return r;
    s = vc_status_from_string(n->text);
    if (s < 0)
        return vcsim_diag_node(d, n, "unknown status name '%s'", n->text);
    *ret = s;
    return 0;
}

int vcsim_val_signal(struct vcsim_diag *d, const struct vcsim_node *n, int32_t *ret)
{
    const char *s;
    int64_t v;
    int r = val_scalar(d, n, "a signal");

    if (r < 0)
        return r;
    if (n->plain && val_parse_int(n->text, &v)) {
        if (v < 1 || v > 64)
            return vcsim_diag_node(d, n, "signal %s out of range [1, 64]", n->text);
        *ret = (int32_t) v;
        return 0;
    }
    s = strncmp(n->text, "SIG", 3) == 0 ? n->text + 3 : n->text;
    for (size_t i = 0; i < sizeof(val_signals) / sizeof(val_signals[0]); i++)
        if (strcmp(s, val_signals[i].name) == 0) {
            *ret = val_signals[i].num;
            return 0;
        }
    return vcsim_diag_node(d, n, "unknown signal '%s'", n->text);
}

const char *vcsim_fmt_duration(uint64_t ns, char *buf, size_t len)
{
    if (ns == VCSIM_FOREVER)
        (void) snprintf(buf, len, "forever");
    else if (ns >= UINT64_C(1000000000))
        (void) snprintf(buf, len, "%.3fs", (double) ns / 1e9);
    else if (ns >= 1000000)
        (void) snprintf(buf, len, "%.3fms", (double) ns / 1e6);
    else if (ns >= 1000)
        (void) snprintf(buf, len, "%.3fus", (double) ns / 1e3);
    else
        (void) snprintf(buf, len, "%" PRIu64 "ns", ns);
    return buf;
}

bool vcsim_word_in(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t) (e - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}
