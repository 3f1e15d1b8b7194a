/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc framing (frame.h): the header codec, the incremental decoder and the output queue. No
 * I/O and no clock: bytes in, frames out, so fuzzers can drive it directly. */
#include <errno.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/ttrpc.h>

#include "frame.h"

#define DEC_BUF_MIN  4096u        /* first allocation for a split frame */
#define DEC_BUF_KEEP (64u << 10)  /* larger buffers are freed once their frame is handed out */
#define OUTQ_MIN     4096u        /* first allocation of an output queue */
#define OUTQ_KEEP    (256u << 10) /* larger idle output queues are freed */

void vc_ttrpc_header_encode(const struct vc_ttrpc_header *h, uint8_t out[10])
{
    out[0] = (uint8_t) (h->length >> 24);
    out[1] = (uint8_t) (h->length >> 16);
    out[2] = (uint8_t) (h->length >> 8);
    out[3] = (uint8_t) h->length;
    out[4] = (uint8_t) (h->stream_id >> 24);
    out[5] = (uint8_t) (h->stream_id >> 16);
    out[6] = (uint8_t) (h->stream_id >> 8);
    out[7] = (uint8_t) h->stream_id;
    out[8] = h->type;
    out[9] = h->flags;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void vc_ttrpc_header_decode(const uint8_t in[10], struct vc_ttrpc_header *h)
{
    *h = (struct vc_ttrpc_header){
        .length = be32(in),
        .stream_id = be32(in + 4),
        .type = in[8],
        .flags = in[9],
    };
}

void vc_ttrpc_decoder_init(struct vc_ttrpc_decoder *d, struct vc_ctx *ctx, uint32_t max)
{
    *d = (struct vc_ttrpc_decoder){.ctx = ctx, .max = max};
}

void vc_ttrpc_decoder_fini(struct vc_ttrpc_decoder *d)
{
    vc_free(d->ctx, d->buf);
    d->buf = NULL;
    d->cap = d->got = d->hdr_got = 0;
    d->in_data = d->shrink = false;
    d->skip = 0;
}

bool vc_ttrpc_decoder_idle(const struct vc_ttrpc_decoder *d)
{
    return d->hdr_got == 0 && !d->in_data && d->skip == 0;
}

/* Makes room for got + n data bytes, growing geometrically but never past the frame's length,
 * so a peer that announces 4 MiB and sends little costs little. */
static int dec_reserve(struct vc_ttrpc_decoder *d, size_t n)
{
    size_t want = d->got + n, cap = d->cap;
    uint8_t *p;

    if (want <= d->cap)
        return 0;
    cap = cap < DEC_BUF_MIN ? DEC_BUF_MIN : cap;
    while (cap < want)
        cap *= 2;
    if (cap > d->cur.length)
        cap = d->cur.length;
    p = vc_realloc(d->ctx, d->buf, cap);
    if (!p)
        return -ENOMEM;
    d->buf = p;
    d->cap = cap;
    return 0;
}

/* The header of cur is complete: classify the frame. */
static int dec_header_done(struct vc_ttrpc_decoder *d, struct vc_ttrpc_frame *ret)
{
    if (d->cur.length > d->max) {
        d->skip = d->cur.length;
        *ret = (struct vc_ttrpc_frame){.h = d->cur};
        return VC_TTRPC_DEC_OVERSIZED;
    }
    if (d->cur.length == 0) {
        *ret = (struct vc_ttrpc_frame){.h = d->cur};
        return VC_TTRPC_DEC_FRAME;
    }
    d->in_data = true;
    d->got = 0;
    return VC_TTRPC_DEC_MORE;
}

/* Collects header bytes from in[0..len): how many were taken. Once the header is complete it is
 * decoded into cur; a header lying whole in the input is decoded straight from it. */
static size_t dec_header(struct vc_ttrpc_decoder *d, const uint8_t *in, size_t len)
{
    size_t n;

    if (d->hdr_got == 0 && len >= VC_TTRPC_HEADER_LEN) {
        vc_ttrpc_header_decode(in, &d->cur);
        return VC_TTRPC_HEADER_LEN;
    }
    n = VC_TTRPC_HEADER_LEN - d->hdr_got;
    n = len < n ? len : n;
    memcpy(d->hdr + d->hdr_got, in, n);
    d->hdr_got += n;
    if (d->hdr_got == VC_TTRPC_HEADER_LEN) {
        d->hdr_got = 0;
        vc_ttrpc_header_decode(d->hdr, &d->cur);
    }
    return n;
}

int vc_ttrpc_decoder_feed(struct vc_ttrpc_decoder *d, const uint8_t *in, size_t len, size_t *used,
                          struct vc_ttrpc_frame *ret)
{
    size_t pos = 0, n;
    int ev;

    if (d->shrink) {
        vc_free(d->ctx, d->buf);
        d->buf = NULL;
        d->cap = 0;
        d->shrink = false;
    }
    while (pos < len) {
        if (d->skip) {
            n = len - pos < d->skip ? len - pos : d->skip;
            d->skip -= (uint32_t) n;
            pos += n;
            continue;
        }
        if (!d->in_data) {
            pos += dec_header(d, in + pos, len - pos);
            if (d->hdr_got)
                break; /* the header is still partial: every byte was used */
            ev = dec_header_done(d, ret);
            if (ev == VC_TTRPC_DEC_MORE && len - pos >= d->cur.length) {
                /* The whole data lies in the input (however the header came): no copy. */
                d->in_data = false;
                ev = VC_TTRPC_DEC_FRAME;
                *ret = (struct vc_ttrpc_frame){d->cur, in + pos, d->cur.length};
                pos += d->cur.length;
            }
            if (ev != VC_TTRPC_DEC_MORE) {
                *used = pos;
                return ev;
            }
            continue;
        }
        if (d->got == 0 && len - pos >= d->cur.length) {
            /* The header ended the previous feed and the data lies whole in this one. */
            d->in_data = false;
            *ret = (struct vc_ttrpc_frame){d->cur, in + pos, d->cur.length};
            *used = pos + d->cur.length;
            return VC_TTRPC_DEC_FRAME;
        }
        n = d->cur.length - d->got;
        n = len - pos < n ? len - pos : n;
        if (dec_reserve(d, n) < 0) {
            *used = pos;
            return -ENOMEM;
        }
        memcpy(d->buf + d->got, in + pos, n);
        d->got += n;
        pos += n;
        if (d->got == d->cur.length) {
            d->in_data = false;
            d->shrink = d->cap > DEC_BUF_KEEP;
            *ret = (struct vc_ttrpc_frame){d->cur, d->buf, d->got};
            *used = pos;
            return VC_TTRPC_DEC_FRAME;
        }
    }
    *used = pos;
    return VC_TTRPC_DEC_MORE;
}

void vc_ttrpc_outq_init(struct vc_ttrpc_outq *q, struct vc_ctx *ctx)
{
    *q = (struct vc_ttrpc_outq){.ctx = ctx};
}

void vc_ttrpc_outq_fini(struct vc_ttrpc_outq *q)
{
    vc_free(q->ctx, q->buf);
    q->buf = NULL;
    q->head = q->len = q->cap = 0;
}

/* Makes room for n more bytes after the queued ones. */
static int outq_reserve(struct vc_ttrpc_outq *q, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (n > SIZE_MAX / 4 - q->len)
        return -ENOMEM;
    if (q->head + q->len + n <= q->cap)
        return 0;
    if (q->head) {
        memmove(q->buf, q->buf + q->head, q->len);
        q->head = 0;
        if (q->len + n <= q->cap)
            return 0;
    }
    cap = q->cap < OUTQ_MIN ? OUTQ_MIN : q->cap;
    while (cap < q->len + n)
        cap *= 2;
    p = vc_realloc(q->ctx, q->buf, cap);
    if (!p)
        return -ENOMEM;
    q->buf = p;
    q->cap = cap;
    return 0;
}

int vc_ttrpc_outq_append_msg(struct vc_ttrpc_outq *q, uint32_t stream_id, uint8_t type,
                             uint8_t flags, const ProtobufCMessage *msg, uint32_t max,
                             const uint8_t **ret_data)
{
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    uint8_t *p;
    int r;

    if (n > max)
        return -EMSGSIZE;
    r = outq_reserve(q, VC_TTRPC_HEADER_LEN + n);
    if (r < 0)
        return r;
    p = q->buf + q->head + q->len;
    vc_ttrpc_header_encode(&(struct vc_ttrpc_header){(uint32_t) n, stream_id, type, flags}, p);
    if (msg && protobuf_c_message_pack(msg, p + VC_TTRPC_HEADER_LEN) != n)
        return -EINVAL; /* protobuf-c disagrees with itself: not appended */
    q->len += VC_TTRPC_HEADER_LEN + n;
    if (ret_data)
        *ret_data = p + VC_TTRPC_HEADER_LEN;
    return (int) n;
}

const uint8_t *vc_ttrpc_outq_peek(const struct vc_ttrpc_outq *q, size_t *ret_len)
{
    *ret_len = q->len;
    return q->buf ? q->buf + q->head : NULL;
}

void vc_ttrpc_outq_consume(struct vc_ttrpc_outq *q, size_t n)
{
    if (n > q->len)
        n = q->len;
    q->head += n;
    q->len -= n;
    if (q->len)
        return;
    q->head = 0;
    if (q->cap > OUTQ_KEEP)
        vc_ttrpc_outq_fini(q);
}
