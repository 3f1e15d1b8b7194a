/* SPDX-License-Identifier: Apache-2.0 */
/* An edge-triggered I/O loop (epoll, EPOLLET) for tests on real sockets, standing in for the
 * simulated world's loop, whose readiness is delivered once per change: code that does not read
 * until -EAGAIN, or that waits for output readiness it never asked for, hangs under it. Timers
 * work as the real loop's. */
#pragma once

#include <stddef.h>

struct vc_ctx;
struct vctest_etloop;

/* Makes the loop and sets it on ctx (replacing the real one). Asserts on failure. */
struct vctest_etloop *vctest_etloop_install(struct vc_ctx *ctx);
/* Watches registered now. */
size_t vctest_etloop_watches(const struct vctest_etloop *l);
/* Frees the loop. NULL-safe; call after the context no longer uses it. */
void vctest_etloop_free(struct vctest_etloop *l);
