/* SPDX-License-Identifier: Apache-2.0 */
/* Streams, listeners and dialing through the context's network service. The dial loop retries
 * with a bounded backoff slept on the context's loop, so it runs on virtual time in simulation
 * and gives up at the dial timeout, as kata's dialer does. */
#include <errno.h>
#include <stdbool.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>

#include "ctx_priv.h"

#define VC_LOG_TOPIC "stream"

#define DIAL_BACKOFF_MIN_NS UINT64_C(1000000)  /* 1 ms */
#define DIAL_BACKOFF_MAX_NS UINT64_C(50000000) /* 50 ms */

void vc_ctx_set_net(struct vc_ctx *ctx, const struct vc_net *net)
{
    ctx->net = net ? *net : (struct vc_net){0};
}

const struct vc_net *vc_ctx_net(struct vc_ctx *ctx)
{
    return ctx->net.ops ? &ctx->net : NULL;
}

static bool dial_retryable(int r)
{
    return r == -ECONNREFUSED || r == -ENOENT || r == -EAGAIN || r == -ECONNRESET || r == -EPROTO ||
           r == -ETIMEDOUT || r == -EPIPE || r == -ECONNABORTED || r == -ENODEV ||
           r == -EHOSTUNREACH;
}

int vc_dial(struct vc_ctx *ctx, const char *url, uint64_t timeout_ns, struct vc_stream **ret)
{
    const struct vc_net *net = vc_ctx_net(ctx);
    uint64_t start = vc_now(ctx);
    uint64_t deadline = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
    uint64_t backoff = DIAL_BACKOFF_MIN_NS;
    unsigned attempts = 0;
    struct vc_err_saved last = {0};

    if (!url || !ret)
        return vc_err(ctx, -EINVAL, "dial: no url");
    if (!net)
        return vc_err(ctx, -EOPNOTSUPP, "dial '%s': context has no network", url);
    for (;;) {
        struct vc_stream *s = NULL;
        uint64_t now;
        int r;

        attempts++;
        r = vc_fault(ctx, "net.dial");
        if (r >= 0)
            r = net->ops->connect(net->data, ctx, url, deadline, &s);
        if (r >= 0) {
            vc_trace(ctx, "net", "dial", "%s attempts=%u", url, attempts);
            *ret = s;
            return 0;
        }
        if (!dial_retryable(r))
            return vc_err_prefix(ctx, r, "dial '%s'", url);
        vc_err_save(ctx, &last);
        now = vc_now(ctx);
        if (now >= deadline)
            break;
        r = vc_ctx_sleep_until(ctx, deadline - now < backoff ? deadline : now + backoff);
        if (r < 0)
            return r;
        backoff = backoff * 2 > DIAL_BACKOFF_MAX_NS ? DIAL_BACKOFF_MAX_NS : backoff * 2;
    }
    return vc_err(ctx, -ETIMEDOUT, "timed out connecting to '%s' after %u attempts: %s", url,
                  attempts, last.msg[0] ? last.msg : vc_errno_name(last.code));
}

int vc_listen(struct vc_ctx *ctx, const char *url, struct vc_listener **ret)
{
    const struct vc_net *net = vc_ctx_net(ctx);
    int r;

    if (!url || !ret)
        return vc_err(ctx, -EINVAL, "listen: no url");
    if (!net || !net->ops->listen)
        return vc_err(ctx, -EOPNOTSUPP, "listen '%s': context has no network", url);
    r = vc_fault(ctx, "net.listen");
    if (r < 0)
        return r;
    return net->ops->listen(net->data, ctx, url, ret);
}

ssize_t vc_stream_read(struct vc_stream *s, void *buf, size_t len)
{
    return s->ops->read(s, buf, len);
}

ssize_t vc_stream_write(struct vc_stream *s, const void *buf, size_t len)
{
    return s->ops->write(s, buf, len);
}

void vc_stream_close(struct vc_stream *s)
{
    if (s)
        s->ops->close(s);
}

int vc_listener_accept(struct vc_listener *l, struct vc_stream **ret)
{
    return l->ops->accept(l, ret);
}

void vc_listener_close(struct vc_listener *l)
{
    if (l)
        l->ops->close(l);
}
