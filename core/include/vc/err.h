/* SPDX-License-Identifier: Apache-2.0 */
/* Error reporting: every failure is a negative errno, and its detail is recorded once, on the
 * context, where the failure was detected. */
#pragma once

#include <stdarg.h>

struct vc_ctx;

#define VC_ERR_MSG_MAX 512

/* Records code and a formatted message on ctx as the last error and returns code unchanged,
 * so a detection site reads `return vc_err(ctx, -EINVAL, "...")`. code must be negative.
 * ctx may be NULL (nothing is recorded). */
int vc_err(struct vc_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "<prefix>: " in front of the message already recorded for code and returns code. */
int vc_err_prefix(struct vc_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last recorded error: its code (0 if none) and message ("" if none). Borrowed. */
int vc_ctx_errcode(const struct vc_ctx *ctx);
const char *vc_ctx_errmsg(const struct vc_ctx *ctx);

/* The last error, kept across cleanup steps that may record errors of their own. */
struct vc_err_saved {
    int code;                 /* saved code */
    char msg[VC_ERR_MSG_MAX]; /* saved message */
};

/* Saves the last error into *saved. */
void vc_err_save(const struct vc_ctx *ctx, struct vc_err_saved *saved);
/* Makes *saved the last error again and returns code (the caller's result, negative). */
int vc_err_restore(struct vc_ctx *ctx, const struct vc_err_saved *saved, int code);

/* Forgets the last error. */
void vc_err_clear(struct vc_ctx *ctx);

/* The symbolic name of a negative errno ("ENOENT"); "E?" for an unknown one. */
const char *vc_errno_name(int code);
