/* SPDX-License-Identifier: Apache-2.0 */
/* Hybrid vsock (Firecracker, Cloud Hypervisor): a unix socket on which the host first asks for
 * a guest port with "CONNECT <port>\n" and the VMM answers "OK <host port>\n". The dialer's side
 * is kata's; the listener is a test helper that plays the VMM. Real-world only: socket I/O,
 * waits on the context's loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "cleanup.h"
#include "transport.h"

struct hvsock_listener {
    struct vc_listener base;   /* first member; fd is inner's */
    struct vc_listener *inner; /* the unix listener (owned) */
    uint32_t port;             /* the guest port this listener plays */
    uint32_t next_host_port;   /* the next host port handed out in "OK <n>" */
};

/* Copies line into out (size > 0) with every byte that is not printable ASCII as '?', so a
 * hostile reply can be quoted in a message. */
static const char *hvsock_printable(const char *line, size_t len, char *out, size_t size)
{
    size_t i;

    for (i = 0; i < len && i + 1 < size; i++)
        out[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
    out[i] = '\0';
    return out;
}

static bool hvsock_has_ok(const char *line, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == 'O' && line[i + 1] == 'K')
            return true;
    return false;
}

int vc_transport_hvsock_handshake(struct vc_ctx *ctx, const char *url, int fd, uint32_t port,
                                  uint64_t deadline)
{
    uint64_t cap = vc_now(ctx) + VC_HVSOCK_HANDSHAKE_NS; /* kata's race guard */
    uint64_t hs_deadline = deadline < cap ? deadline : cap;
    char req[sizeof("CONNECT 4294967295\n")];
    char line[VC_HVSOCK_LINE_MAX + 1], shown[VC_HVSOCK_LINE_MAX + 1];
    size_t len;
    int r, n = snprintf(req, sizeof(req), "CONNECT %" PRIu32 "\n", port);

    r = vc_transport_write_all(ctx, fd, req, (size_t) n, hs_deadline);
    if (r < 0)
        return vc_err(ctx, r, "hybrid vsock handshake failed: cannot send CONNECT to '%s': %s", url,
                      strerror(-r));
    r = vc_transport_read_line(ctx, fd, line, &len, hs_deadline);
    if (r == -ENODATA)
        return vc_err(ctx, -EPROTO,
                      "hybrid vsock handshake failed: '%s' closed the connection "
                      "(no guest listening on port %" PRIu32 "?)",
                      url, port);
    if (r == -E2BIG)
        return vc_err(ctx, -EPROTO,
                      "hybrid vsock handshake failed: '%s' answered a line longer "
                      "than %d bytes",
                      url, VC_HVSOCK_LINE_MAX);
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "hybrid vsock handshake failed: no reply from '%s' in time", url);
    if (r < 0)
        return vc_err(ctx, r, "hybrid vsock handshake failed: reading from '%s': %s", url,
                      strerror(-r));
    if (!hvsock_has_ok(line, len))
        return vc_err(ctx, -EPROTO, "hybrid vsock handshake failed: '%s' answered '%s'", url,
                      hvsock_printable(line, len, shown, sizeof(shown)));
    return 0;
}

/* Reads "CONNECT <port>" (or kata runtime-rs's lowercase "connect") from a fresh connection. */
static int hvsock_serve(struct hvsock_listener *hl, int fd, uint64_t deadline)
{
    struct vc_ctx *ctx = hl->base.ctx;
    char line[VC_HVSOCK_LINE_MAX + 1], shown[VC_HVSOCK_LINE_MAX + 1], reply[32];
    const char *end;
    uint32_t port;
    size_t len;
    int r = vc_transport_read_line(ctx, fd, line, &len, deadline);

    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "hvsock listener: no CONNECT request in time");
    if (r == -ENODATA || r == -E2BIG)
        return vc_err(ctx, -EPROTO, "hvsock listener: no CONNECT request line");
    if (r < 0)
        return vc_err(ctx, r, "hvsock listener: reading the request: %s", strerror(-r));
    if ((strncmp(line, "CONNECT ", 8) != 0 && strncmp(line, "connect ", 8) != 0) ||
        vc_transport_parse_u32(line + 8, &end, &port) < 0 || *end != '\0')
        return vc_err(ctx, -EPROTO, "hvsock listener: malformed request '%s'",
                      hvsock_printable(line, len, shown, sizeof(shown)));
    if (port != hl->port)
        return vc_err(ctx, -ECONNREFUSED,
                      "hvsock listener: CONNECT to port %" PRIu32 ", listening on %" PRIu32, port,
                      hl->port);
    r = snprintf(reply, sizeof(reply), "OK %" PRIu32 "\n", hl->next_host_port++);
    r = vc_transport_write_all(ctx, fd, reply, (size_t) r, deadline);
    if (r < 0)
        return vc_err(ctx, r, "hvsock listener: cannot send OK: %s", strerror(-r));
    return 0;
}

static int hvsock_listener_accept(struct vc_listener *l, struct vc_stream **ret)
{
    struct hvsock_listener *hl = VC_CONTAINER_OF(l, struct hvsock_listener, base);
    struct vc_stream *s = NULL;
    int r = vc_listener_accept(hl->inner, &s);

    if (r < 0)
        return r;
    r = hvsock_serve(hl, s->fd, vc_now(l->ctx) + VC_HVSOCK_HANDSHAKE_NS);
    if (r < 0) {
        vc_stream_close(s);
        return r;
    }
    *ret = s;
    return 0;
}

static void hvsock_listener_close(struct vc_listener *l)
{
    struct hvsock_listener *hl = VC_CONTAINER_OF(l, struct hvsock_listener, base);

    vc_listener_close(hl->inner);
    vc_free(l->ctx, hl);
}

/* accept runs the VMM's side of the handshake */
static const struct vc_listener_ops hvsock_listener_ops = {
    .version = VC_LISTENER_OPS_V1,
    .name = "hvsock",
    .accept = hvsock_listener_accept,
    .close = hvsock_listener_close,
};

int vc_transport_hvsock_listener_new(struct vc_ctx *ctx, struct vc_listener *inner, uint32_t port,
                                     struct vc_listener **ret)
{
    struct hvsock_listener *hl = vc_new0(ctx, struct hvsock_listener, 1);

    if (!hl) {
        vc_listener_close(inner);
        return -ENOMEM;
    }
    hl->base = (struct vc_listener){.ops = &hvsock_listener_ops, .ctx = ctx, .fd = inner->fd};
    hl->inner = inner;
    hl->port = port;
    hl->next_host_port = VC_HVSOCK_HOST_PORT_FIRST;
    *ret = &hl->base;
    return 0;
}
