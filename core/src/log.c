/* SPDX-License-Identifier: Apache-2.0 */
/* Log and trace delivery to the context's sinks. */
#include <stdarg.h>
#include <stdio.h>

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

void vc_trace(struct vc_ctx *ctx, const char *category, const char *name, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;

    if (!ctx || !ctx->trace_fn)
        return;
    va_start(ap, fmt);
    (void) vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    ctx->trace_fn(ctx->trace_data, vc_now(ctx), category, name, detail);
}
