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

#define VC_TTRPC_HEADER_LEN    10
#define VC_TTRPC_MESSAGE_MAX   (4u << 20) /* data bytes a frame may carry */
#define VC_TTRPC_TYPE_REQUEST  0x01
#define VC_TTRPC_TYPE_RESPONSE 0x02
#define VC_TTRPC_TYPE_DATA     0x03

/* Limits (every one a peer or a caller could otherwise push without bound). */
#define VC_TTRPC_CLIENT_CALLS_MAX  4096u       /* calls in flight on one client: -ENOBUFS */
#define VC_TTRPC_CLIENT_OUTPUT_MAX (16u << 20) /* unsent request bytes: -ENOBUFS */
#define VC_TTRPC_SERVER_CONNS_MAX  256u        /* connections served at once; more are closed */
#define VC_TTRPC_SERVER_CALLS_MAX  1024u       /* unanswered calls per connection */
#define VC_TTRPC_SERVER_OUTPUT_MAX (8u << 20)  /* unsent reply bytes per connection */
#define VC_TTRPC_METADATA_MAX      (16u << 10) /* metadata bytes a served call may keep */
#define VC_TTRPC_STATUS_MSG_MAX    (64u << 10) /* status message bytes a server sends */

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

/* Sees every frame sent (when it is queued for writing, in wire order) or received (once
 * complete), with header fields and data borrowed for the call. For a received frame over
 * VC_TTRPC_MESSAGE_MAX buf is NULL and len the declared length (the data is skipped). */
typedef void vc_ttrpc_frame_fn(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id, uint8_t type,
                               uint8_t flags, const uint8_t *buf, size_t len);

/* Counters of one client, or of a server over all its connections. */
struct vc_ttrpc_stats {
    uint64_t frames_in;  /* frames received (oversized ones included) */
    uint64_t frames_out; /* frames queued for sending */
    uint64_t bytes_in;   /* bytes read from the stream(s) */
    uint64_t bytes_out;  /* bytes written to the stream(s) */
    uint64_t calls;      /* calls started (client) or handed to handlers (server) */
    uint64_t ignored;    /* frames dropped: unknown type, unknown or finished stream id, late */
    uint64_t oversized;  /* frames over VC_TTRPC_MESSAGE_MAX received (data skipped) */
    uint64_t rejected;   /* server: frames answered with a protocol error status */
};

/* --- client ----------------------------------------------------------------------------------- */

/* The outcome of one call. r is 0 for OK, else a negative errno: a status from the server
 * mapped through vc_status_to_errno (code is then the server's code and message its text), or
 * a local failure, each with its own code: -ETIMEDOUT at the deadline (DEADLINE_EXCEEDED,
 * "ttrpc: deadline exceeded"), -ECONNRESET when the connection closed or failed (UNAVAILABLE,
 * "ttrpc: closed"), -ECANCELED for a cancelled call or a freed client (CANCELLED), -EPROTO for a
 * reply that breaks the protocol (INTERNAL), -EMSGSIZE for a reply frame over 4 MiB
 * (RESOURCE_EXHAUSTED), -ENOMEM (RESOURCE_EXHAUSTED), or an errno injected at the fault point
 * "ttrpc.recv". message is never NULL and is borrowed for the callback. resp is the decoded
 * response (allocated with the context's allocator; the callee frees it after the callback
 * returns unless the callback takes it by setting *take, then frees it with vc_ttrpc_msg_free). */
struct vc_ttrpc_result {
    int r;                  /* 0 or -errno */
    int code;               /* gRPC status code */
    const char *message;    /* status message or local error text; never NULL */
    ProtobufCMessage *resp; /* decoded response on success (NULL without resp_desc) */
};

/* Runs once per call, from the loop. It may start new calls, cancel calls and free the client
 * (the client's memory then goes when the client's own code has unwound); it may also run a
 * blocking vc_ttrpc_call. */
typedef void vc_ttrpc_done_fn(void *data, const struct vc_ttrpc_result *res, bool *take);

/* Makes a client over s (takes ownership of s, also on failure; it is closed with the client).
 * The context must have a loop. 0, -ENOMEM, or -EOPNOTSUPP without a loop. */
int vc_ttrpc_client_new(struct vc_ctx *ctx, struct vc_stream *s, struct vc_ttrpc_client **ret);
/* Fails every call in flight with -ECANCELED (callbacks run), closes the stream, frees.
 * NULL-safe; safe from inside a done callback. */
void vc_ttrpc_client_free(struct vc_ttrpc_client *c);
/* Whether the connection is still usable (false after EOF, a reset or a write error). */
bool vc_ttrpc_client_alive(const struct vc_ttrpc_client *c);
void vc_ttrpc_client_set_recorder(struct vc_ttrpc_client *c, vc_ttrpc_frame_fn *fn, void *data);
void vc_ttrpc_client_stats(const struct vc_ttrpc_client *c, struct vc_ttrpc_stats *ret);

/* Starts a call: encodes req (NULL: empty payload) into a Request{service, method, payload,
 * timeout_nano, metadata} on the next odd stream id (1, 3, 5...) and queues it, writing what the
 * stream takes at once. deadline_ns is monotonic, 0 for none (then timeout_nano is 0; otherwise
 * it is deadline_ns - now); at the deadline the call fails with -ETIMEDOUT and a late reply is
 * dropped; a deadline already passed sends nothing. resp_desc says how to decode the reply
 * payload (NULL: ignore it). Strings and md are borrowed for the call of this function only.
 * fn runs exactly once, from the loop (never from inside this function). 0 with *ret_id (may be
 * NULL) naming the call, or -errno (fn will not run): -ECONNRESET when the client is not
 * alive, -EMSGSIZE for a request over 4 MiB, -ENOBUFS beyond the client limits, -ENOSPC once
 * the stream ids run out (2^31 calls), -ENOMEM, or the errno injected at the fault point
 * "ttrpc.send". */
int vc_ttrpc_call_start(struct vc_ttrpc_client *c, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        uint64_t deadline_ns, const struct vc_ttrpc_md *md, size_t n_md,
                        vc_ttrpc_done_fn *fn, void *data, uint32_t *ret_id);
/* Cancels a call in flight: its callback runs with -ECANCELED before this returns; a reply
 * that comes later is dropped. Unknown ids are ignored. */
void vc_ttrpc_call_cancel(struct vc_ttrpc_client *c, uint32_t id);
/* Calls in flight. */
size_t vc_ttrpc_client_pending(const struct vc_ttrpc_client *c);

/* A blocking call: start, then run the loop until it completes or its deadline passes
 * (timeout_ns 0: no deadline). 0 with *ret_resp owned by the caller (free it with
 * vc_ttrpc_msg_free; NULL without resp_desc), or the call's -errno with the error recorded on
 * the context as "<method>: <message> (<STATUS>)". */
int vc_ttrpc_call(struct vc_ttrpc_client *c, const char *service, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                  uint64_t timeout_ns, ProtobufCMessage **ret_resp);

/* A protobuf-c allocator over the context's allocator, for unpacking. */
void vc_ttrpc_allocator(struct vc_ctx *ctx, ProtobufCAllocator *ret);
/* Frees a message unpacked through the context's allocator. NULL-safe. */
void vc_ttrpc_msg_free(struct vc_ctx *ctx, ProtobufCMessage *msg);

/* --- server ----------------------------------------------------------------------------------- */

/* A request arrived for a registered method (method is the registered name). payload (NULL
 * when empty) is borrowed until the handler returns; the server never decodes it: the handler
 * does (vc_ttrpc_call_decode answers INTERNAL for a payload that does not decode). The handler
 * answers now or later with vc_ttrpc_reply / vc_ttrpc_reply_error (exactly once), and may learn
 * the caller's timeout from vc_ttrpc_call_timeout_ns (the server does not enforce it). If the
 * connection goes away first, the call is abandoned: the abandon callback runs (see
 * vc_ttrpc_call_on_abandon) and replying is then a no-op that frees the call. A call never
 * answered is freed with the server. */
typedef void vc_ttrpc_handler_fn(void *data, struct vc_ttrpc_call *call, const char *method,
                                 const uint8_t *payload, size_t len);
typedef void vc_ttrpc_abandon_fn(void *data, struct vc_ttrpc_call *call);

/* The server follows Go ttrpc's rules, each answered as a Response on the offending stream id
 * with the connection kept: a frame over 4 MiB gets RESOURCE_EXHAUSTED "message length N exceed
 * maximum message size of 4194304" (its data skipped); an even stream id INVALID_ARGUMENT
 * "StreamID must be odd for client initiated streams"; a Data frame for a stream not in flight
 * INVALID_ARGUMENT "StreamID is no longer active" (Data on a call in flight is ignored: only
 * unary calls are served, whatever the Request flags); a Request id not above the last one
 * INVALID_ARGUMENT "StreamID cannot be re-used and must increment"; an envelope that does not
 * decode INVALID_ARGUMENT "unmarshal request error: ..."; frames of other types are ignored.
 * Beyond the limits (VC_TTRPC_SERVER_*, VC_TTRPC_METADATA_MAX) requests and replies get
 * RESOURCE_EXHAUSTED; a peer that lets unsent replies pile past the output limit plus 1 MiB
 * (it does not read) is disconnected. */
int vc_ttrpc_server_new(struct vc_ctx *ctx, struct vc_ttrpc_server **ret);
/* Closes every connection and listener, abandons calls (abandon callbacks run), frees them.
 * NULL-safe; safe from inside a handler (the memory goes when the server's code has unwound).
 * Calls must not be used afterwards. */
void vc_ttrpc_server_free(struct vc_ttrpc_server *srv);
/* Registers a service and its method names (borrowed, must outlive the server;
 * NULL-terminated). Requests for other services get UNIMPLEMENTED "service X", for other
 * methods UNIMPLEMENTED "method X". 0, -EEXIST for a service registered twice, -ENOMEM. */
int vc_ttrpc_server_register(struct vc_ttrpc_server *srv, const char *service,
                             const char *const *methods, vc_ttrpc_handler_fn *fn, void *data);
/* Serves every connection the listener accepts (takes ownership of l, also on failure). */
int vc_ttrpc_server_listen(struct vc_ttrpc_server *srv, struct vc_listener *l);
/* Serves one connection (takes ownership of s, also on failure). -EMFILE beyond
 * VC_TTRPC_SERVER_CONNS_MAX. */
int vc_ttrpc_server_serve(struct vc_ttrpc_server *srv, struct vc_stream *s);
void vc_ttrpc_server_set_recorder(struct vc_ttrpc_server *srv, vc_ttrpc_frame_fn *fn, void *data);
void vc_ttrpc_server_stats(const struct vc_ttrpc_server *srv, struct vc_ttrpc_stats *ret);
/* Connections open, and calls handed to handlers and not yet answered (abandoned ones too). */
size_t vc_ttrpc_server_connections(const struct vc_ttrpc_server *srv);
size_t vc_ttrpc_server_pending(const struct vc_ttrpc_server *srv);

/* Answers OK with resp encoded as the payload (NULL: an empty payload). The call is freed. 0;
 * -EMSGSIZE when resp is over 4 MiB (RESOURCE_EXHAUSTED is sent instead); -ENOBUFS when the
 * connection's output is full (RESOURCE_EXHAUSTED sent instead); -ECONNRESET when the reply
 * could not be queued or written and the connection was closed. 0 for an abandoned call. */
int vc_ttrpc_reply(struct vc_ttrpc_call *call, const ProtobufCMessage *resp);
/* Answers with a status (code != 0; VC_STATUS_*) and a message (NULL: "", cut at
 * VC_TTRPC_STATUS_MSG_MAX bytes). The call is freed. Returns as vc_ttrpc_reply. */
int vc_ttrpc_reply_error(struct vc_ttrpc_call *call, int code, const char *message);
/* Decodes a handler's payload as desc through the context's allocator: 0 with *ret (free with
 * vc_ttrpc_msg_free). If it does not decode, answers the call INTERNAL "ttrpc: error
 * unmarshalling payload: proto: cannot parse invalid wire-format data" as Go ttrpc does (the
 * call is then finished and freed) and returns -EBADMSG; -ENOMEM likewise answers
 * RESOURCE_EXHAUSTED. */
int vc_ttrpc_call_decode(struct vc_ttrpc_call *call, const ProtobufCMessageDescriptor *desc,
                         const uint8_t *payload, size_t len, ProtobufCMessage **ret);
/* The request's timeout_nano (0: none) and its metadata (borrowed until the reply). */
int64_t vc_ttrpc_call_timeout_ns(const struct vc_ttrpc_call *call);
size_t vc_ttrpc_call_metadata(const struct vc_ttrpc_call *call, const struct vc_ttrpc_md **ret);
/* The call's stream id and service name (the registered one). */
uint32_t vc_ttrpc_call_id(const struct vc_ttrpc_call *call);
const char *vc_ttrpc_call_service(const struct vc_ttrpc_call *call);
/* Sets a callback run once if the call's connection goes away (or the server is freed) before
 * it is answered, so a handler that answers later can drop its timers. The callback may reply
 * (which only frees the call); otherwise the call stays until replied or the server is freed. */
void vc_ttrpc_call_on_abandon(struct vc_ttrpc_call *call, vc_ttrpc_abandon_fn *fn, void *data);
/* Whether the call's connection is gone. */
bool vc_ttrpc_call_abandoned(const struct vc_ttrpc_call *call);
