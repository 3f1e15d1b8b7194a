/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc, containerd's small RPC protocol that kata-agent speaks: 10-byte frames (length and
 * stream id big-endian, type, flags) carrying protobuf Request and Response envelopes. The client
 * keeps many calls in flight on one stream; the server (mockagent's) serves many connections.
 * Both are event driven on the context's loop, one thread. Every byte from the peer is
 * untrusted: frames over 4 MiB, malformed envelopes and protocol violations fail the affected
 * call (or the connection) with a clear error, never a crash or a hang. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct vc_ctx;
struct vc_stream;
struct vc_listener;
struct vc_ttrpc_client;
struct vc_ttrpc_server;
struct vc_ttrpc_call;

#define VC_TTRPC_HEADER_LEN   10
#define VC_TTRPC_MESSAGE_MAX  (4u << 20) /* data bytes a frame may carry */
#define VC_TTRPC_TYPE_REQUEST 0x01
#define VC_TTRPC_TYPE_RESPONSE 0x02
#define VC_TTRPC_TYPE_DATA    0x03

/* Metadata pairs of a request (a key may repeat). Borrowed for the call. */
struct vc_ttrpc_md {
    const char *key;   /* metadata key */
    const char *value; /* its value */
};

/* Which way a frame went, for recorders. */
enum vc_ttrpc_dir {
    VC_TTRPC_DIR_IN,  /* received */
    VC_TTRPC_DIR_OUT, /* sent */
};

/* Sees every frame sent or received (header fields and data, borrowed for the call). */
typedef void vc_ttrpc_frame_fn(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id,
                               uint8_t type, uint8_t flags, const uint8_t *buf, size_t len);

/* --- client ----------------------------------------------------------------------------------- */

/* The outcome of one call. r is 0 for OK, else a negative errno: the status mapped through
 * vc_status_to_errno, -ETIMEDOUT at the deadline, -ECONNRESET when the connection closed or
 * failed, -EPROTO for a reply that breaks the protocol, -EMSGSIZE for an oversized frame.
 * code is the gRPC status (VC_STATUS_*; UNAVAILABLE for local failures) and message its text.
 * resp is the decoded response (allocated with the context's allocator; the callee frees it
 * after the callback returns unless the callback takes it by setting *take). */
struct vc_ttrpc_result {
    int r;                    /* 0 or -errno */
    int code;                 /* gRPC status code */
    const char *message;      /* status message or local error text; never NULL */
    ProtobufCMessage *resp;   /* decoded response on success, NULL otherwise */
};

typedef void vc_ttrpc_done_fn(void *data, const struct vc_ttrpc_result *res, bool *take);

/* Makes a client over s (takes ownership of s; it is closed with the client). 0 or -ENOMEM. */
int vc_ttrpc_client_new(struct vc_ctx *ctx, struct vc_stream *s, struct vc_ttrpc_client **ret);
/* Fails every call in flight with -ECANCELED (callbacks run), closes the stream, frees.
 * NULL-safe. */
void vc_ttrpc_client_free(struct vc_ttrpc_client *c);
/* Whether the connection is still usable (false after EOF, a reset or a fatal protocol error). */
bool vc_ttrpc_client_alive(const struct vc_ttrpc_client *c);
void vc_ttrpc_client_set_recorder(struct vc_ttrpc_client *c, vc_ttrpc_frame_fn *fn, void *data);

/* Starts a call: encodes req into a Request{service, method, payload, timeout_nano, metadata}
 * on the next odd stream id and queues it. deadline_ns is monotonic, 0 for none (then
 * timeout_nano is 0); at the deadline the call fails with -ETIMEDOUT and a late reply is
 * dropped. resp_desc says how to decode the reply. fn runs exactly once, from the loop (never
 * from inside this function). 0 with *ret_id (may be NULL) naming the call, or -errno (fn will
 * not run). */
int vc_ttrpc_call_start(struct vc_ttrpc_client *c, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        uint64_t deadline_ns, const struct vc_ttrpc_md *md, size_t n_md,
                        vc_ttrpc_done_fn *fn, void *data, uint32_t *ret_id);
/* Cancels a call in flight: its callback runs with -ECANCELED before this returns. Unknown ids
 * are ignored. */
void vc_ttrpc_call_cancel(struct vc_ttrpc_client *c, uint32_t id);
/* Calls in flight. */
size_t vc_ttrpc_client_pending(const struct vc_ttrpc_client *c);

/* A blocking call: start, then run the loop until it completes or its deadline passes
 * (timeout_ns 0: no deadline). 0 with *ret_resp owned by the caller (free it with
 * vc_ttrpc_msg_free), or the call's -errno with the error recorded on the context as
 * "<method>: <message> (<STATUS>)". */
int vc_ttrpc_call(struct vc_ttrpc_client *c, const char *service, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                  uint64_t timeout_ns, ProtobufCMessage **ret_resp);

/* A protobuf-c allocator over the context's allocator, for unpacking. */
void vc_ttrpc_allocator(struct vc_ctx *ctx, ProtobufCAllocator *ret);
/* Frees a message unpacked through the context's allocator. NULL-safe. */
void vc_ttrpc_msg_free(struct vc_ctx *ctx, ProtobufCMessage *msg);

/* --- server ----------------------------------------------------------------------------------- */

/* A request arrived for a registered method. payload is borrowed until the handler returns;
 * the handler answers now or later with vc_ttrpc_reply / vc_ttrpc_reply_error (exactly once),
 * and may learn the caller's deadline from vc_ttrpc_call_timeout_ns. If the connection goes
 * away first, the call is abandoned: replying is then a no-op that frees it. */
typedef void vc_ttrpc_handler_fn(void *data, struct vc_ttrpc_call *call, const char *method,
                                 const uint8_t *payload, size_t len);

int vc_ttrpc_server_new(struct vc_ctx *ctx, struct vc_ttrpc_server **ret);
/* Closes every connection and listener, abandons calls, frees. NULL-safe. */
void vc_ttrpc_server_free(struct vc_ttrpc_server *srv);
/* Registers a service and its method names (borrowed; NULL-terminated). Requests for other
 * services get UNIMPLEMENTED "service X", for other methods UNIMPLEMENTED "method X". */
int vc_ttrpc_server_register(struct vc_ttrpc_server *srv, const char *service,
                             const char *const *methods, vc_ttrpc_handler_fn *fn, void *data);
/* Serves every connection the listener accepts (takes ownership of l). */
int vc_ttrpc_server_listen(struct vc_ttrpc_server *srv, struct vc_listener *l);
/* Serves one connection (takes ownership of s). */
int vc_ttrpc_server_serve(struct vc_ttrpc_server *srv, struct vc_stream *s);
void vc_ttrpc_server_set_recorder(struct vc_ttrpc_server *srv, vc_ttrpc_frame_fn *fn, void *data);
/* Connections open and calls not yet answered. */
size_t vc_ttrpc_server_connections(const struct vc_ttrpc_server *srv);
size_t vc_ttrpc_server_pending(const struct vc_ttrpc_server *srv);

/* Answers OK with resp encoded as the payload (NULL: an empty payload). */
int vc_ttrpc_reply(struct vc_ttrpc_call *call, const ProtobufCMessage *resp);
/* Answers with a status (code != 0) and a message. */
int vc_ttrpc_reply_error(struct vc_ttrpc_call *call, int code, const char *message);
/* The request's timeout_nano (0: none) and its metadata. */
int64_t vc_ttrpc_call_timeout_ns(const struct vc_ttrpc_call *call);
size_t vc_ttrpc_call_metadata(const struct vc_ttrpc_call *call, const struct vc_ttrpc_md **ret);
