/* SPDX-License-Identifier: Apache-2.0 */
/* Strict parsers for the values vcctl's options take: decimal numbers with nothing around them,
 * sizes with binary suffixes, durations and signal names. Every one refuses signs where they do
 * not belong, empty text, trailing bytes and values beyond its type. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcctl.h"

/* Digits only, at most 20 of them, into *ret; *end is the first byte after them. */
static int parse_digits(const char *s, uint64_t *ret, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned) (*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (p == s)
        return -EINVAL;
    *ret = v;
    *end = p;
    return 0;
}

int vcctl_parse_u64(const char *s, uint64_t *ret)
{
    const char *end;
    uint64_t v;
    int r = parse_digits(s, &v, &end);

    if (r < 0)
        return r;
    if (*end)
        return -EINVAL;
    *ret = v;
    return 0;
}

int vcctl_parse_u32(const char *s, uint32_t *ret)
{
    uint64_t v;
    int r = vcctl_parse_u64(s, &v);

    if (r < 0)
        return r;
    if (v > UINT32_MAX)
        return -ERANGE;
    *ret = (uint32_t) v;
    return 0;
}

int vcctl_parse_i64(const char *s, int64_t *ret)
{
    bool neg = s[0] == '-';
    uint64_t v;
    int r = vcctl_parse_u64(s + neg, &v);

    if (r < 0)
        return r;
    if (v > (uint64_t) INT64_MAX + neg)
        return -ERANGE;
    *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
    return 0;
}

int vcctl_parse_size(const char *s, int64_t *ret)
{
    static const char units[] = "kmgt";
    const char *end, *u;
    uint64_t v, mul = 1;
    int r = parse_digits(s, &v, &end);

    if (r < 0)
        return r;
    if (*end) {
        u = strchr(units, end[0] | 0x20);
        if (!u)
            return -EINVAL;
        mul = UINT64_C(1) << (10 * (u - units + 1));
        end++;
        /* k, kb, ki, kib, in either case */
        if ((*end | 0x20) == 'i')
            end++;
        if ((*end | 0x20) == 'b')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (v > (uint64_t) INT64_MAX / mul)
        return -ERANGE;
    *ret = (int64_t) (v * mul);
    return 0;
}

int vcctl_parse_duration(const char *s, uint64_t *ret_ns)
{
    const char *end;
    uint64_t whole, frac = 0, frac_div = 1, unit;
    int r = parse_digits(s, &whole, &end);

    if (r < 0)
        return r;
    if (*end == '.') {
        const char *f = ++end;
        for (; *end >= '0' && *end <= '9'; end++) {
            if (frac_div < UINT64_C(1000000)) { /* six digits kept: no overflow below */
                frac = frac * 10 + (uint64_t) (*end - '0');
                frac_div *= 10;
            }
        }
        if (end == f)
            return -EINVAL;
    }
    if (!*end || strcmp(end, "s") == 0)
        unit = UINT64_C(1000000000);
    else if (strcmp(end, "ms") == 0)
        unit = UINT64_C(1000000);
    else if (strcmp(end, "m") == 0)
        unit = UINT64_C(60000000000);
    else
        return -EINVAL;
    if (whole > UINT64_MAX / unit / 2)
        return -ERANGE;
    whole = whole * unit + frac * unit / frac_div;
    if (!whole)
        return -EINVAL;
    *ret_ns = whole;
    return 0;
}

/* Linux's signal names (the guest's numbering is the host's: both are Linux). */
static const struct {
    const char *name; /* without "SIG" */
    int num;          /* number */
} vcctl_signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int vcctl_parse_signal(const char *s, int *ret)
{
    uint32_t n;

    if (s[0] >= '0' && s[0] <= '9') {
        /* 1..64: the kernel's _NSIG - 1, real-time signals included. */
        if (vcctl_parse_u32(s, &n) < 0 || n < 1 || n > 64)
            return -EINVAL;
        *ret = (int) n;
        return 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(vcctl_signals) / sizeof(vcctl_signals[0]); i++) {
        if (strcasecmp(s, vcctl_signals[i].name) == 0) {
            *ret = vcctl_signals[i].num;
            return 0;
        }
    }
    return -EINVAL;
}
