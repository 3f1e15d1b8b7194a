/* SPDX-License-Identifier: Apache-2.0 */
/* Log and trace delivery to the context's sinks. Trace details are formatted by a small
 * formatter for the plain conversions they use (every API call emits several). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctx_priv.h"

void vc_log_at(struct vc_ctx *ctx, enum vc_log_level level, const char *topic, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!ctx || !ctx->log_fn || level > ctx->log_level)
        return;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_data, level, topic, vc_now(ctx), msg);
}

const char *vc_log_level_to_string(enum vc_log_level level)
{
    static const char *const names[VC_LOG_LEVEL_LAST] = {
        [VC_LOG_ERROR] = "error",
        [VC_LOG_WARN] = "warn",
        [VC_LOG_INFO] = "info",
        [VC_LOG_DEBUG] = "debug",
    };

    return (unsigned) level < VC_LOG_LEVEL_LAST ? names[level] : "?";
}

/* Output of the formatter: at most len - 1 bytes and a NUL, like vsnprintf. */
struct log_out {
    char *p;    /* next byte */
    char *last; /* the byte kept for the NUL */
};

static void log_put(struct log_out *o, const char *s, size_t n)
{
    size_t room = (size_t) (o->last - o->p);

    if (n > room)
        n = room;
    memcpy(o->p, s, n);
    o->p += n;
}

static void log_put_u(struct log_out *o, unsigned long long v, unsigned base, bool neg)
{
    char d[24];
    size_t i = sizeof(d);

    do {
        d[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        d[--i] = '-';
    log_put(o, d + i, sizeof(d) - i);
}

/* One integer conversion with length modifier mod ('\0', 'l', 'L' for ll, 'z'). */
static void log_put_int(struct log_out *o, char conv, char mod, va_list *ap)
{
    unsigned long long u;
    long long v;

    if (conv == 'd' || conv == 'i') {
        v = mod == 'L' ? va_arg(*ap, long long) : mod == 'l' ? va_arg(*ap, long) : va_arg(*ap, int);
        log_put_u(o, v < 0 ? 0 - (unsigned long long) v : (unsigned long long) v, 10, v < 0);
        return;
    }
    u = mod == 'L'   ? va_arg(*ap, unsigned long long)
        : mod == 'l' ? va_arg(*ap, unsigned long)
        : mod == 'z' ? va_arg(*ap, size_t)
                     : va_arg(*ap, unsigned);
    log_put_u(o, u, conv == 'x' ? 16 : 10, false);
}

/* Formats what vsnprintf would into buf of len (> 0) bytes, for %%, %c, %s (not NULL), %d, %i,
 * %u and %x with no flags, width or precision and an l, ll or z (unsigned only) modifier.
 * false, with ap consumed, when fmt needs more: the caller then uses vsnprintf. */
static bool log_format(char *buf, size_t len, const char *fmt, va_list *ap)
{
    struct log_out o = {.p = buf, .last = buf + len - 1};

    for (const char *f = fmt; *f;) {
        const char *run = f;
        char mod = '\0', conv;

        while (*f && *f != '%')
            f++;
        log_put(&o, run, (size_t) (f - run));
        if (!*f)
            break;
        f++;
        if (*f == 'l' || *f == 'z') {
            mod = *f++;
            if (mod == 'l' && *f == 'l') {
                mod = 'L';
                f++;
            }
        }
        conv = *f++;
        if (conv == '%' && !mod) {
            log_put(&o, "%", 1);
        } else if (conv == 'c' && !mod) {
            char c = (char) va_arg(*ap, int);
            log_put(&o, &c, 1);
        } else if (conv == 's' && !mod) {
            const char *s = va_arg(*ap, const char *);
            if (!s)
                return false;
            log_put(&o, s, strlen(s));
        } else if ((conv == 'u' || conv == 'x') || ((conv == 'd' || conv == 'i') && mod != 'z')) {
            log_put_int(&o, conv, mod, ap);
        } else {
            return false;
        }
    }
    *o.p = '\0';
    return true;
}

void vc_trace(struct vc_ctx *ctx, const char *category, const char *name, const char *fmt, ...)
{
    char detail[1024];
    va_list ap, aq;

    if (!ctx || !ctx->trace_fn)
        return;
    va_start(ap, fmt);
    va_copy(aq, ap);
    if (!log_format(detail, sizeof(detail), fmt, &aq))
        (void) vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(aq);
    va_end(ap);
    ctx->trace_fn(ctx->trace_data, vc_now(ctx), category, name, detail);
}
