/* SPDX-License-Identifier: Apache-2.0 */
/* The connection machinery the ttrpc client and server share: a stream watched on the
 * context's loop, an input buffer feeding the frame decoder, an output queue written as the
 * stream accepts it, the recorder hook and the counters. Internal to core/ttrpc. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <vc/ctx.h>
#include <vc/ttrpc.h>

#include "frame.h"

#define TTRPC_READ_CHUNK (64u << 10) /* bytes read from the stream at a time */

/* One end of a ttrpc connection. */
struct ttrpc_conn {
    struct vc_ctx *ctx;           /* the context (borrowed) */
    struct vc_stream *s;          /* the stream (owned), NULL once closed */
    int fd;                       /* s's fd, kept for unwatching */
    unsigned watching;            /* VC_IO_* events currently watched */
    vc_io_fn *io_fn;              /* the owner's readiness callback */
    void *io_data;                /* passed to io_fn */
    struct vc_ttrpc_decoder dec;  /* incoming frames */
    struct vc_ttrpc_outq out;     /* outgoing bytes */
    uint8_t *rbuf;                /* bytes read and not yet decoded */
    size_t rpos;                  /* first undecoded byte in rbuf */
    size_t rlen;                  /* bytes held in rbuf */
    vc_ttrpc_frame_fn **rec_fn;   /* the owner's recorder (points at the owner's field) */
    void **rec_data;              /* passed to *rec_fn */
    struct vc_ttrpc_stats *stats; /* the owner's counters */
};

/* Sets up c over s and watches it for input. Takes ownership of s: on failure s is closed. 0,
 * -ENOMEM, -EOPNOTSUPP without a loop, or the loop's error. */
int ttrpc_conn_init(struct ttrpc_conn *c, struct vc_ctx *ctx, struct vc_stream *s, vc_io_fn *io_fn,
                    void *io_data, vc_ttrpc_frame_fn **rec_fn, void **rec_data,
                    struct vc_ttrpc_stats *stats);
/* Stops watching and closes the stream (buffers stay until fini). Idempotent. */
void ttrpc_conn_close(struct ttrpc_conn *c);
/* Closes and frees the buffers. Safe on a zeroed or half-built c. */
void ttrpc_conn_fini(struct ttrpc_conn *c);
/* Queues a frame carrying msg (NULL: no data), unless the queue would then hold more than
 * queue_max bytes (-ENOBUFS). Records it. The data length, or -EMSGSIZE (over 4 MiB), -ENOBUFS,
 * -ENOMEM. */
int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t id, uint8_t type, uint8_t flags,
                    const ProtobufCMessage *msg, size_t queue_max);
/* Writes what the stream takes and watches for output while some is left. 0 or the stream's
 * fatal -errno (the caller closes the connection). */
int ttrpc_conn_flush(struct ttrpc_conn *c);
/* Called for each decoded frame (event VC_TTRPC_DEC_FRAME or _OVERSIZED); returns false to
 * stop reading (the owner closed or is going away). */
typedef bool ttrpc_frame_cb(void *data, int event, const struct vc_ttrpc_frame *f);
/* Decodes buffered input, then reads until the stream has nothing more, handing every frame to
 * fn. Re-entrant: fn may run the loop, which may call this again for the same connection; the
 * frame's data is then no longer valid when fn returns. 0 when the stream ran dry, 1 when fn
 * stopped, -ECONNRESET at end of stream, -ENOMEM, or the stream's -errno. */
int ttrpc_conn_pump(struct ttrpc_conn *c, ttrpc_frame_cb *fn, void *data);
/* Whether the connection stopped on a frame boundary (for end-of-stream messages). */
bool ttrpc_conn_idle(const struct ttrpc_conn *c);

/* A protobuf-c allocator over the context's that notes allocation failures, so a failed unpack
 * can be told apart as -ENOMEM or malformed input. */
struct ttrpc_pballoc {
    ProtobufCAllocator a; /* what protobuf-c is given; first member */
    struct vc_ctx *ctx;   /* the allocator behind it */
    bool oom;             /* an allocation failed */
};

void ttrpc_pballoc_init(struct ttrpc_pballoc *pa, struct vc_ctx *ctx);
