/* SPDX-License-Identifier: Apache-2.0 */
/* The connection machinery shared by the ttrpc client and server (conn.h): reading and
 * decoding until the stream runs dry (readiness may be edge-triggered, as in simulation),
 * writing the output queue as the stream accepts it and watching for output only while some
 * is left, and the protobuf-c allocators over the context. */
#include <errno.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "conn.h"

static void *pb_ctx_alloc(void *data, size_t size)
{
    return vc_malloc(data, size);
}

static void pb_ctx_free(void *data, void *ptr)
{
    vc_free(data, ptr);
}

void vc_ttrpc_allocator(struct vc_ctx *ctx, ProtobufCAllocator *ret)
{
    *ret = (ProtobufCAllocator){.alloc = pb_ctx_alloc, .free = pb_ctx_free, .allocator_data = ctx};
}

void vc_ttrpc_msg_free(struct vc_ctx *ctx, ProtobufCMessage *msg)
{
    ProtobufCAllocator a;

    if (!msg)
        return;
    vc_ttrpc_allocator(ctx, &a);
    protobuf_c_message_free_unpacked(msg, &a);
}

static void *pb_track_alloc(void *data, size_t size)
{
    struct ttrpc_pballoc *pa = data;
    void *p = vc_malloc(pa->ctx, size);

    if (!p)
        pa->oom = true;
    return p;
}

static void pb_track_free(void *data, void *ptr)
{
    struct ttrpc_pballoc *pa = data;

    vc_free(pa->ctx, ptr);
}

void ttrpc_pballoc_init(struct ttrpc_pballoc *pa, struct vc_ctx *ctx)
{
    *pa = (struct ttrpc_pballoc){
        .a = {.alloc = pb_track_alloc, .free = pb_track_free, .allocator_data = pa},
        .ctx = ctx,
    };
}

static int conn_watch(struct ttrpc_conn *c, unsigned events)
{
    const struct vc_loop *loop = vc_ctx_loop(c->ctx);
    int r;

    if (events == c->watching || !loop)
        return 0;
    r = loop->ops->watch(loop->data, c->fd, events, c->io_fn, c->io_data);
    if (r < 0)
        return r;
    c->watching = events;
    return 0;
}

int ttrpc_conn_init(struct ttrpc_conn *c, struct vc_ctx *ctx, struct vc_stream *s, vc_io_fn *io_fn,
                    void *io_data, vc_ttrpc_frame_fn **rec_fn, void **rec_data,
                    struct vc_ttrpc_stats *stats)
{
    int r;

    *c = (struct ttrpc_conn){
        .ctx = ctx,
        .s = s,
        .fd = s->fd,
        .io_fn = io_fn,
        .io_data = io_data,
        .rec_fn = rec_fn,
        .rec_data = rec_data,
        .stats = stats,
    };
    vc_ttrpc_decoder_init(&c->dec, ctx, VC_TTRPC_MESSAGE_MAX);
    vc_ttrpc_outq_init(&c->out, ctx);
    if (!vc_ctx_loop(ctx)) {
        r = vc_err(ctx, -EOPNOTSUPP, "ttrpc: context has no i/o loop");
        goto fail;
    }
    c->rbuf = vc_malloc(ctx, TTRPC_READ_CHUNK);
    if (!c->rbuf) {
        r = -ENOMEM;
        goto fail;
    }
    r = conn_watch(c, VC_IO_IN);
    if (r < 0)
        goto fail;
    return 0;
fail:
    ttrpc_conn_fini(c);
    return r;
}

void ttrpc_conn_close(struct ttrpc_conn *c)
{
    if (!c->s)
        return;
    (void) conn_watch(c, 0);
    c->watching = 0;
    vc_stream_close(c->s);
    c->s = NULL;
}

void ttrpc_conn_fini(struct ttrpc_conn *c)
{
    if (!c->ctx)
        return;
    ttrpc_conn_close(c);
    vc_ttrpc_decoder_fini(&c->dec);
    vc_ttrpc_outq_fini(&c->out);
    vc_free(c->ctx, c->rbuf);
    c->rbuf = NULL;
    c->rpos = c->rlen = 0;
}

static void conn_record(struct ttrpc_conn *c, enum vc_ttrpc_dir dir,
                        const struct vc_ttrpc_header *h, const uint8_t *buf, size_t len)
{
    if (*c->rec_fn)
        (*c->rec_fn)(*c->rec_data, dir, h->stream_id, h->type, h->flags, buf, len);
}

int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t id, uint8_t type, uint8_t flags,
                    const ProtobufCMessage *msg, size_t queue_max)
{
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    const uint8_t *data = NULL;
    int r;

    if (n > VC_TTRPC_MESSAGE_MAX)
        return -EMSGSIZE;
    if (c->out.len + VC_TTRPC_HEADER_LEN + n > queue_max)
        return -ENOBUFS;
    r = vc_ttrpc_outq_append_msg(&c->out, id, type, flags, msg, VC_TTRPC_MESSAGE_MAX, &data);
    if (r < 0)
        return r;
    c->stats->frames_out++;
    conn_record(c, VC_TTRPC_DIR_OUT, &(struct vc_ttrpc_header){(uint32_t) r, id, type, flags}, data,
                (size_t) r);
    return r;
}

int ttrpc_conn_flush(struct ttrpc_conn *c)
{
    if (!c->s)
        return -ECONNRESET;
    while (c->out.len) {
        size_t len;
        const uint8_t *p = vc_ttrpc_outq_peek(&c->out, &len);
        ssize_t n = vc_stream_write(c->s, p, len);

        if (n == -EAGAIN || n == 0)
            break;
        if (n < 0)
            return (int) n;
        c->stats->bytes_out += (uint64_t) n;
        vc_ttrpc_outq_consume(&c->out, (size_t) n);
    }
    return conn_watch(c, VC_IO_IN | (c->out.len ? VC_IO_OUT : 0));
}

int ttrpc_conn_pump(struct ttrpc_conn *c, ttrpc_frame_cb *fn, void *data)
{
    for (;;) {
        ssize_t n;

        /* Buffered input first: a nested pump (fn ran the loop) must keep stream order. */
        while (c->rpos < c->rlen) {
            struct vc_ttrpc_frame f;
            size_t used = 0;
            int ev =
                vc_ttrpc_decoder_feed(&c->dec, c->rbuf + c->rpos, c->rlen - c->rpos, &used, &f);

            c->rpos += used;
            if (ev < 0)
                return ev;
            if (ev == VC_TTRPC_DEC_MORE)
                break;
            c->stats->frames_in++;
            conn_record(c, VC_TTRPC_DIR_IN, &f.h, f.data,
                        ev == VC_TTRPC_DEC_OVERSIZED ? f.h.length : f.len);
            if (!fn(data, ev, &f))
                return 1;
        }
        if (!c->s)
            return -ECONNRESET;
        n = vc_stream_read(c->s, c->rbuf, TTRPC_READ_CHUNK);
        if (n == -EAGAIN)
            return 0;
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return (int) n;
        c->stats->bytes_in += (uint64_t) n;
        c->rpos = 0;
        c->rlen = (size_t) n;
    }
}

bool ttrpc_conn_idle(const struct ttrpc_conn *c)
{
    return c->rpos >= c->rlen && vc_ttrpc_decoder_idle(&c->dec);
}
