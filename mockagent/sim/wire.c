/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent as simhv's guest speaking the real protocol: each VM that boots gets a guest in
 * the host and a ttrpc server listening on its vsock endpoint in the simulated network, so the
 * runtime's kata backend reaches it by dialling, exactly as it would reach kata-agent. With a
 * tap set, the listener and its connections are wrapped so the tap sees (and may replace) each
 * frame the agent writes and sees the bytes it reads. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include <mockagent/host.h>
#include <mockagent/server.h>
#include <mockagent/sim.h>

struct magent_sim_wire {
    struct vc_ctx *gctx;          /* the guests' context (borrowed) */
    struct magent_host *host;     /* the guests (borrowed) */
    struct magent_server *server; /* their wire front end (owned) */
    struct magent_sim_tap tap;    /* the tap (members NULL: none) */
    void *tap_data;               /* its data */
    bool tapped;                  /* a tap is set: wrap listeners made at boot */
    uint64_t conns;               /* tapped connections accepted so far */
    uint64_t frames;              /* frames the tapped connections wrote so far */
};

/* A tapped connection: the agent's writes are cut into frames and handed to the tap; what goes
 * out waits in out until the inner stream takes it. The last byte of a frame is only taken from
 * the agent once the frame's output is all written, so the agent keeps watching for room while
 * anything of it is held here. */
struct wire_stream {
    struct vc_stream base;     /* base (fd: the inner stream's) */
    struct vc_stream *inner;   /* the simulated connection (owned) */
    struct magent_sim_wire *w; /* the wire (borrowed; outlives its server's connections) */
    uint32_t cid;              /* the guest's vsock CID */
    uint64_t conn;             /* this connection's number */
    uint8_t *frame;            /* the frame being cut out (header, then data) */
    size_t frame_cap;          /* allocated bytes at frame */
    size_t frame_got;          /* bytes of it so far */
    uint64_t pass;             /* bytes of an untapped (oversized) frame still to pass on */
    bool held;                 /* the frame (all but its last byte taken) was already emitted */
    uint8_t *out;              /* bytes to write to inner */
    size_t out_cap;            /* allocated bytes at out */
    size_t out_head;           /* first unwritten byte */
    size_t out_len;            /* bytes from out_head on */
};

/* A tapped listener: accepts through the inner one and wraps each connection. */
struct wire_listener {
    struct vc_listener base;   /* base (fd: the inner listener's) */
    struct vc_listener *inner; /* the simulated listener (owned) */
    struct magent_sim_wire *w; /* the wire (borrowed) */
    uint32_t cid;              /* the guest's vsock CID */
};

int magent_sim_wire_new(struct vc_ctx *gctx, struct magent_host *host, struct magent_sim_wire **ret)
{
    struct magent_sim_wire *w = vc_new0(gctx, struct magent_sim_wire, 1);
    int r;

    if (!w)
        return -ENOMEM;
    *w = (struct magent_sim_wire){.gctx = gctx, .host = host};
    r = magent_server_new(gctx, host, &w->server);
    if (r < 0) {
        vc_free(gctx, w);
        return r;
    }
    *ret = w;
    return 0;
}

void magent_sim_wire_free(struct magent_sim_wire *w)
{
    if (!w)
        return;
    magent_server_free(w->server);
    vc_free(w->gctx, w);
}

struct magent_server *magent_sim_wire_server(struct magent_sim_wire *w)
{
    return w->server;
}

void magent_sim_wire_set_tap(struct magent_sim_wire *w, const struct magent_sim_tap *tap,
                             void *data)
{
    w->tap = tap ? *tap : (struct magent_sim_tap){0};
    w->tap_data = data;
    w->tapped = tap != NULL;
}

/* Writes what out holds to inner: 0 when all of it went, -EAGAIN when inner is full, or its
 * error. */
static int ws_flush(struct wire_stream *ws)
{
    while (ws->out_len > 0) {
        ssize_t n = vc_stream_write(ws->inner, ws->out + ws->out_head, ws->out_len);

        if (n < 0)
            return (int) n;
        if (n == 0)
            return -EAGAIN;
        ws->out_head += (size_t) n;
        ws->out_len -= (size_t) n;
    }
    ws->out_head = 0;
    return 0;
}

/* Makes room for n more bytes at frame or out (*buf of *cap bytes, used of them taken). */
static int ws_reserve(struct vc_ctx *ctx, uint8_t **buf, size_t *cap, size_t used, size_t n)
{
    size_t want = used + n, c = *cap ? *cap : 256;
    uint8_t *p;

    if (want <= *cap)
        return 0;
    while (c < want)
        c *= 2;
    p = vc_realloc(ctx, *buf, c);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

/* The frame is complete: queues it, or the tap's bytes in its place. */
static int ws_emit(struct wire_stream *ws)
{
    struct magent_sim_wire *w = ws->w;
    const uint8_t *p = ws->frame;
    size_t len = ws->frame_got;
    uint64_t n = w->frames++;

    if (w->tap.frame)
        (void) w->tap.frame(w->tap_data, ws->cid, ws->conn, n, ws->frame, ws->frame_got, &p, &len);
    if (len == 0)
        return 0;
    if (ws_reserve(ws->base.ctx, &ws->out, &ws->out_cap, ws->out_len, len) < 0)
        return -ENOMEM;
    memcpy(ws->out + ws->out_len, p, len);
    ws->out_len += len;
    return 0;
}

static uint32_t ws_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Takes bytes of the current frame from buf[0..len): how many, or -errno. A frame that becomes
 * complete is emitted and flushed; if inner cannot take it all, its last byte is left to the
 * agent (see struct wire_stream). */
static ssize_t ws_take(struct wire_stream *ws, const uint8_t *buf, size_t len)
{
    size_t need, n;
    int r;

    if (ws->pass) {
        ssize_t k = vc_stream_write(ws->inner, buf, len < ws->pass ? len : (size_t) ws->pass);

        if (k > 0)
            ws->pass -= (uint64_t) k;
        return k;
    }
    need = VC_TTRPC_HEADER_LEN;
    if (ws->frame_got >= VC_TTRPC_HEADER_LEN)
        need += ws_be32(ws->frame);
    n = need - ws->frame_got;
    if (n > len)
        n = len;
    if (ws->held) {
        /* The frame went out already: its last byte only closes it. */
        ws->held = false;
        ws->frame_got = 0;
        return 1;
    }
    if (ws_reserve(ws->base.ctx, &ws->frame, &ws->frame_cap, ws->frame_got, n) < 0)
        return -ENOMEM;
    memcpy(ws->frame + ws->frame_got, buf, n);
    ws->frame_got += n;
    if (ws->frame_got == VC_TTRPC_HEADER_LEN && ws_be32(ws->frame) > VC_TTRPC_MESSAGE_MAX) {
        /* Not a frame this server sends: pass it on untapped. */
        r = ws_reserve(ws->base.ctx, &ws->out, &ws->out_cap, ws->out_len, VC_TTRPC_HEADER_LEN);
        if (r < 0)
            return r;
        memcpy(ws->out + ws->out_len, ws->frame, VC_TTRPC_HEADER_LEN);
        ws->out_len += VC_TTRPC_HEADER_LEN;
        ws->pass = ws_be32(ws->frame);
        ws->frame_got = 0;
        return (ssize_t) n;
    }
    /* need counted the data only once the header was complete. */
    if (ws->frame_got < VC_TTRPC_HEADER_LEN ||
        ws->frame_got < VC_TTRPC_HEADER_LEN + ws_be32(ws->frame))
        return (ssize_t) n;
    r = ws_emit(ws);
    if (r < 0) {
        ws->frame_got -= n; /* not taken: the agent writes these bytes again */
        return r;
    }
    r = ws_flush(ws);
    if (r == -EAGAIN) {
        ws->held = true;
        return (ssize_t) n - 1;
    }
    ws->frame_got = 0;
    return r < 0 ? r : (ssize_t) n;
}

static ssize_t ws_write(struct vc_stream *s, const void *buf, size_t len)
{
    struct wire_stream *ws = (struct wire_stream *) s;
    size_t done = 0;
    int r = ws_flush(ws);

    if (r < 0)
        return r;
    while (done < len) {
        ssize_t n = ws_take(ws, (const uint8_t *) buf + done, len - done);

        if (n < 0)
            return done > 0 ? (ssize_t) done : n;
        done += (size_t) n;
        if (n == 0 || ws->out_len > 0)
            break; /* inner is full: the agent comes back when it has room */
    }
    return done > 0 ? (ssize_t) done : -EAGAIN;
}

static ssize_t ws_read(struct vc_stream *s, void *buf, size_t len)
{
    struct wire_stream *ws = (struct wire_stream *) s;
    ssize_t n = vc_stream_read(ws->inner, buf, len);

    if (n > 0 && ws->w->tap.read)
        ws->w->tap.read(ws->w->tap_data, ws->cid, ws->conn, buf, (size_t) n);
    return n;
}

static void ws_close(struct vc_stream *s)
{
    struct wire_stream *ws = (struct wire_stream *) s;

    vc_stream_close(ws->inner);
    vc_free(s->ctx, ws->frame);
    vc_free(s->ctx, ws->out);
    vc_free(s->ctx, ws);
}

static const struct vc_stream_ops ws_ops = {
    .version = VC_STREAM_OPS_V1,
    .name = "sim",
    .read = ws_read,
    .write = ws_write,
    .close = ws_close,
};

static int wl_accept(struct vc_listener *l, struct vc_stream **ret)
{
    struct wire_listener *wl = (struct wire_listener *) l;
    struct vc_stream *s = NULL;
    struct wire_stream *ws;
    int r = vc_listener_accept(wl->inner, &s);

    if (r < 0)
        return r;
    ws = vc_new0(l->ctx, struct wire_stream, 1);
    if (!ws) {
        vc_stream_close(s);
        return -ENOMEM;
    }
    *ws = (struct wire_stream){
        .base = {.ops = &ws_ops, .ctx = l->ctx, .fd = s->fd, .flags = s->flags},
        .inner = s,
        .w = wl->w,
        .cid = wl->cid,
        .conn = wl->w->conns++,
    };
    *ret = &ws->base;
    return 0;
}

static void wl_close(struct vc_listener *l)
{
    struct wire_listener *wl = (struct wire_listener *) l;

    vc_listener_close(wl->inner);
    vc_free(l->ctx, wl);
}

static const struct vc_listener_ops wl_ops = {
    .version = VC_LISTENER_OPS_V1,
    .name = "sim",
    .accept = wl_accept,
    .close = wl_close,
};

/* Wraps *l (owned) for the tap; on failure *l is closed. */
static int wl_wrap(struct magent_sim_wire *w, uint32_t cid, struct vc_listener **l)
{
    struct wire_listener *wl = vc_new0(w->gctx, struct wire_listener, 1);

    if (!wl) {
        vc_listener_close(*l);
        *l = NULL;
        return -ENOMEM;
    }
    *wl = (struct wire_listener){
        .base = {.ops = &wl_ops, .ctx = w->gctx, .fd = (*l)->fd},
        .inner = *l,
        .w = w,
        .cid = cid,
    };
    *l = &wl->base;
    return 0;
}

static int wire_boot(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;
    struct vc_listener *l = NULL;
    char url[64];
    int r;

    r = magent_host_boot(w->host, vm->sandbox_id, vm->cid, vm->vcpus, vm->memory_mb);
    if (r < 0)
        return r;
    (void) snprintf(url, sizeof(url), "vsock://%" PRIu32 ":%u", vm->cid, MAGENT_SIM_AGENT_PORT);
    r = vc_listen(w->gctx, url, &l);
    if (r >= 0 && w->tapped)
        r = wl_wrap(w, vm->cid, &l);
    if (r >= 0)
        r = magent_server_listen(w->server, vm->cid, l);
    if (r < 0)
        magent_host_halt(w->host, vm->cid);
    return r;
}

/* Halting the guest is enough: the server hears of it from the host and resets the guest's
 * connections and closes its listener. */
static void wire_halt(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;

    magent_host_halt(w->host, vm->cid);
}

static void wire_pause(void *data, const struct simhv_vm *vm, bool paused)
{
    struct magent_sim_wire *w = data;

    magent_host_pause(w->host, vm->cid, paused);
}

static void wire_resources(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;

    magent_host_resources(w->host, vm->cid, vm->vcpus, vm->memory_mb);
}

const struct simhv_guest_ops magent_simhv_wire_guest_ops = {
    .boot = wire_boot,
    .halt = wire_halt,
    .pause = wire_pause,
    .resources = wire_resources,
};
