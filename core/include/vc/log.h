/* SPDX-License-Identifier: Apache-2.0 */
/* Logging through the context: the core returns errors and logs only at debug level; the
 * runner, the CLI and test harnesses install a callback and decide what to print. */
#pragma once

#include <stdint.h>

struct vc_ctx;

enum vc_log_level { VC_LOG_ERROR, VC_LOG_WARN, VC_LOG_INFO, VC_LOG_DEBUG, VC_LOG_LEVEL_LAST };

/* The log sink. ts_ns is the context's monotonic clock, so transcripts of simulated runs are
 * stable. msg is borrowed for the call. */
typedef void vc_log_fn(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                       const char *msg);

/* Formats and hands a message to the context's sink when level is at or below its threshold. */
void vc_log_at(struct vc_ctx *ctx, enum vc_log_level level, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every .c file that logs defines VC_LOG_TOPIC before using vc_log(). */
#define vc_log(ctx, level, ...) vc_log_at((ctx), (level), VC_LOG_TOPIC, __VA_ARGS__)

const char *vc_log_level_to_string(enum vc_log_level level);
