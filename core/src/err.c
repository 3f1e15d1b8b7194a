/* SPDX-License-Identifier: Apache-2.0 */
/* The last error of a context: its code and message, recorded where it is detected. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctx_priv.h"

int vc_err(struct vc_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    if (!ctx)
        return code;
    va_start(ap, fmt);
    (void) vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
    va_end(ap);
    ctx->err_code = code;
    return code;
}

int vc_err_prefix(struct vc_ctx *ctx, int code, const char *fmt, ...)
{
    char prefix[VC_ERR_MSG_MAX];
    char old[VC_ERR_MSG_MAX];
    va_list ap;

    if (!ctx)
        return code;
    va_start(ap, fmt);
    (void) vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (ctx->err_code != code || !ctx->err_msg[0])
        (void) snprintf(old, sizeof(old), "%s", strerror(-code));
    else
        memcpy(old, ctx->err_msg, sizeof(old));
    /* Built in a buffer that always fits, then cut to the message size. */
    {
        char both[2 * VC_ERR_MSG_MAX + 2];
        (void) snprintf(both, sizeof(both), "%s: %s", prefix, old);
        (void) snprintf(ctx->err_msg, sizeof(ctx->err_msg), "%.*s", VC_ERR_MSG_MAX - 1, both);
    }
    ctx->err_code = code;
    return code;
}

int vc_ctx_errcode(const struct vc_ctx *ctx)
{
    return ctx ? ctx->err_code : 0;
}

const char *vc_ctx_errmsg(const struct vc_ctx *ctx)
{
    return ctx ? ctx->err_msg : "";
}

void vc_err_save(const struct vc_ctx *ctx, struct vc_err_saved *saved)
{
    saved->code = vc_ctx_errcode(ctx);
    (void) snprintf(saved->msg, sizeof(saved->msg), "%s", vc_ctx_errmsg(ctx));
}

int vc_err_restore(struct vc_ctx *ctx, const struct vc_err_saved *saved, int code)
{
    return vc_err(ctx, code, "%s", saved->msg);
}

void vc_err_clear(struct vc_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->err_code = 0;
    ctx->err_msg[0] = '\0';
}

const char *vc_errno_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {EPERM, "EPERM"},
        {ENOENT, "ENOENT"},
        {ESRCH, "ESRCH"},
        {EINTR, "EINTR"},
        {EIO, "EIO"},
        {E2BIG, "E2BIG"},
        {EBADF, "EBADF"},
        {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"},
        {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"},
        {ENOTDIR, "ENOTDIR"},
        {EISDIR, "EISDIR"},
        {EINVAL, "EINVAL"},
        {EMFILE, "EMFILE"},
        {EFBIG, "EFBIG"},
        {ENOSPC, "ENOSPC"},
        {EPIPE, "EPIPE"},
        {ERANGE, "ERANGE"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOSYS, "ENOSYS"},
        {ENOTEMPTY, "ENOTEMPTY"},
        {ENODATA, "ENODATA"},
        {EPROTO, "EPROTO"},
        {EBADMSG, "EBADMSG"},
        {EOVERFLOW, "EOVERFLOW"},
        {EMSGSIZE, "EMSGSIZE"},
        {EOPNOTSUPP, "EOPNOTSUPP"},
        {ECONNRESET, "ECONNRESET"},
        {ENOTCONN, "ENOTCONN"},
        {ETIMEDOUT, "ETIMEDOUT"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {EALREADY, "EALREADY"},
        {ECANCELED, "ECANCELED"},
        {EDEADLK, "EDEADLK"},
        {ESTALE, "ESTALE"},
        {EADDRINUSE, "EADDRINUSE"},
        {ENOBUFS, "ENOBUFS"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == -code)
            return names[i].name;
    return "E?";
}
