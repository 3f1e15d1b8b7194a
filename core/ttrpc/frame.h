/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc framing, free of I/O: the 10-byte header, an incremental decoder that turns bytes as
 * they arrive into frames (skipping the data of oversized frames without buffering it), and the
 * output queue frames are encoded into. Internal to core/ttrpc; fuzzers and tests use it too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct vc_ctx;

/* The fields of a frame header. */
struct vc_ttrpc_header {
    uint32_t length;    /* data bytes after the header */
    uint32_t stream_id; /* odd for client-initiated streams */
    uint8_t type;       /* VC_TTRPC_TYPE_* (others exist on the wire and are ignored) */
    uint8_t flags;      /* per type; 0 for unary calls */
};

/* Writes h as 10 bytes (length and stream id big-endian). */
void vc_ttrpc_header_encode(const struct vc_ttrpc_header *h, uint8_t out[10]);
/* Reads 10 bytes into *h. Every byte pattern is a header: limits are the caller's business. */
void vc_ttrpc_header_decode(const uint8_t in[10], struct vc_ttrpc_header *h);

/* What a call to vc_ttrpc_decoder_feed produced. */
enum vc_ttrpc_dec_event {
    VC_TTRPC_DEC_MORE,      /* every input byte was used; no frame is complete yet */
    VC_TTRPC_DEC_FRAME,     /* a whole frame: header and data */
    VC_TTRPC_DEC_OVERSIZED, /* a header declaring more than the limit; its data is skipped */
};

/* A decoded frame. data is borrowed: it stays valid until the next feed or reset. For an
 * oversized frame data is NULL and len 0 (the declared length is h.length). */
struct vc_ttrpc_frame {
    struct vc_ttrpc_header h; /* the header */
    const uint8_t *data;      /* h.length bytes (NULL when the length is 0 or oversized) */
    size_t len;               /* bytes at data */
};

/* Incremental decoder state. Zero-fill, then vc_ttrpc_decoder_init. */
struct vc_ttrpc_decoder {
    struct vc_ctx *ctx;         /* allocator for partial frames (borrowed) */
    uint32_t max;               /* largest data length accepted */
    uint8_t hdr[10];            /* header bytes collected so far */
    size_t hdr_got;             /* how many of them */
    struct vc_ttrpc_header cur; /* the frame being collected, once its header is complete */
    bool in_data;               /* collecting cur's data */
    uint32_t skip;              /* oversized data bytes still to discard */
    uint8_t *buf;               /* data of a frame split across feeds */
    size_t cap;                 /* allocated bytes at buf */
    size_t got;                 /* bytes of cur's data in buf */
    bool shrink;                /* free buf at the next feed (it held a large frame) */
};

/* Prepares d to decode frames whose data is at most max bytes (VC_TTRPC_MESSAGE_MAX). */
void vc_ttrpc_decoder_init(struct vc_ttrpc_decoder *d, struct vc_ctx *ctx, uint32_t max);
/* Frees what d holds; d may then be used again after init. */
void vc_ttrpc_decoder_fini(struct vc_ttrpc_decoder *d);
/* Consumes input from in[0..len) until one frame event is complete or the input is used up.
 * *used says how many bytes were consumed; feed the rest again. Returns an event
 * (VC_TTRPC_DEC_*) with *ret filled for FRAME and OVERSIZED, or -ENOMEM (the decoder is then
 * unusable: drop the connection). A frame whose data lies wholly inside in is returned without
 * copying, whether its header came in this feed or earlier ones; only data split across feeds
 * is collected in the decoder's buffer. */
int vc_ttrpc_decoder_feed(struct vc_ttrpc_decoder *d, const uint8_t *in, size_t len, size_t *used,
                          struct vc_ttrpc_frame *ret);
/* Whether d sits on a frame boundary (no partial header, data or skip pending). */
bool vc_ttrpc_decoder_idle(const struct vc_ttrpc_decoder *d);

/* A byte queue of encoded frames waiting to be written. */
struct vc_ttrpc_outq {
    struct vc_ctx *ctx; /* allocator (borrowed) */
    uint8_t *buf;       /* storage */
    size_t head;        /* first unwritten byte */
    size_t len;         /* bytes from head on */
    size_t cap;         /* allocated bytes */
};

void vc_ttrpc_outq_init(struct vc_ttrpc_outq *q, struct vc_ctx *ctx);
void vc_ttrpc_outq_fini(struct vc_ttrpc_outq *q);
/* Appends a frame whose data is msg packed (msg NULL: no data). Returns the frame's data
 * length, -EMSGSIZE if it would exceed max (nothing appended), or -ENOMEM. *ret_data (may be
 * NULL) points at the appended data, valid until the queue changes (for recorders). */
int vc_ttrpc_outq_append_msg(struct vc_ttrpc_outq *q, uint32_t stream_id, uint8_t type,
                             uint8_t flags, const ProtobufCMessage *msg, uint32_t max,
                             const uint8_t **ret_data);
/* The bytes waiting, and marks n of them written. */
const uint8_t *vc_ttrpc_outq_peek(const struct vc_ttrpc_outq *q, size_t *ret_len);
void vc_ttrpc_outq_consume(struct vc_ttrpc_outq *q, size_t n);
