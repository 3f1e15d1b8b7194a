/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc client: many unary calls in flight on one connection, each on the next odd stream
 * id, with a deadline enforced by a loop timer and sent as timeout_nano. Replies are matched by
 * stream id; anything the peer sends that matches no call is counted and dropped. Callbacks run
 * from the loop only, and may start calls or free the client: a busy count defers the memory. */
#include <errno.h>
#include <stdio.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "conn.h"
#include "ttrpc.pb-c.h"

/* One call in flight. */
struct ttrpc_ccall {
    struct vc_ttrpc_client *c;                   /* the client */
    uint32_t id;                                 /* stream id */
    char *name;                                  /* "service/method", for traces */
    const ProtobufCMessageDescriptor *resp_desc; /* how to decode the reply, or NULL */
    vc_ttrpc_done_fn *fn;                        /* completion callback */
    void *data;                                  /* passed to fn */
    uint64_t timer;                              /* deadline timer id */
    bool has_timer;                              /* timer is armed */
    struct ttrpc_ccall *prev;                    /* list of calls, oldest first */
    struct ttrpc_ccall *next;                    /* ditto */
};

struct vc_ttrpc_client {
    struct vc_ctx *ctx;          /* the context (borrowed) */
    struct ttrpc_conn conn;      /* the connection */
    struct ttrpc_ccall *head;    /* calls in flight, in id order */
    struct ttrpc_ccall *tail;    /* the newest call */
    size_t n_calls;              /* calls in flight */
    uint64_t next_id;            /* the next stream id (odd; past UINT32_MAX: exhausted) */
    bool alive;                  /* the connection is usable */
    bool closing;                /* vc_ttrpc_client_free ran; destroy when not busy */
    unsigned busy;               /* entry points running (loop callbacks, cancel, free) */
    bool fail_armed;             /* fail_timer is armed */
    uint64_t fail_timer;         /* fails the calls of a connection lost in call_start */
    vc_ttrpc_frame_fn *rec_fn;   /* what the connection calls: client_record, or NULL */
    void *rec_data;              /* passed to rec_fn: the client */
    vc_ttrpc_frame_fn *user_fn;  /* recorder (vc_ttrpc_client_set_recorder), or NULL */
    void *user_data;             /* passed to user_fn */
    uint64_t tap_conn;           /* serial for the context's wire tap, 0 if none was set */
    struct vc_ttrpc_stats stats; /* counters */
};

static const char closed_msg[] = "ttrpc: closed";

/* The connection's recorder: the caller's, then the context's wire tap with the whole frame. */
static void client_record(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id, uint8_t type,
                          uint8_t flags, const uint8_t *buf, size_t len)
{
    struct vc_ttrpc_client *c = data;
    uint8_t hdr[VC_TTRPC_HEADER_LEN];

    if (c->user_fn)
        c->user_fn(c->user_data, dir, stream_id, type, flags, buf, len);
    if (!c->tap_conn)
        return;
    /* An oversized frame comes with no data and its declared length. */
    vc_ttrpc_header_encode(&(struct vc_ttrpc_header){(uint32_t) len, stream_id, type, flags}, hdr);
    vc_ctx_wire_tap(c->ctx, c->tap_conn, dir == VC_TTRPC_DIR_OUT ? VC_WIRE_SEND : VC_WIRE_RECV, hdr,
                    buf, buf ? len : 0);
}

static void client_set_record(struct vc_ttrpc_client *c)
{
    c->rec_fn = c->user_fn || c->tap_conn ? client_record : NULL;
    c->rec_data = c;
}

static const struct vc_loop *client_loop(struct vc_ttrpc_client *c)
{
    return vc_ctx_loop(c->ctx);
}

static void client_destroy(struct vc_ttrpc_client *c)
{
    if (c->fail_armed)
        client_loop(c)->ops->timer_cancel(client_loop(c)->data, c->fail_timer);
    ttrpc_conn_fini(&c->conn);
    vc_free(c->ctx, c);
}

static void client_leave(struct vc_ttrpc_client *c)
{
    if (--c->busy == 0 && c->closing)
        client_destroy(c);
}

static struct ttrpc_ccall *ccall_find(struct vc_ttrpc_client *c, uint32_t id)
{
    for (struct ttrpc_ccall *call = c->head; call; call = call->next)
        if (call->id == id)
            return call;
    return NULL;
}

static void ccall_unlink(struct ttrpc_ccall *call)
{
    struct vc_ttrpc_client *c = call->c;

    if (call->prev)
        call->prev->next = call->next;
    else
        c->head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        c->tail = call->prev;
    call->prev = call->next = NULL;
    c->n_calls--;
    if (call->has_timer) {
        client_loop(c)->ops->timer_cancel(client_loop(c)->data, call->timer);
        call->has_timer = false;
    }
}

/* Ends a call: unlinks it, runs its callback, frees it (and resp unless taken). Runs inside an
 * entry point, so the client outlives the callback even if the callback frees it. */
static void ccall_finish(struct ttrpc_ccall *call, int r, int code, const char *message,
                         ProtobufCMessage *resp)
{
    struct vc_ttrpc_client *c = call->c;
    struct vc_ttrpc_result res = {r, code, message ? message : "", resp};
    bool take = false;

    ccall_unlink(call);
    vc_trace(c->ctx, "ttrpc", "done", "id=%u %s r=%s code=%s", call->id, call->name,
             r ? vc_errno_name(r) : "0", vc_status_to_string(code));
    call->fn(call->data, &res, &take);
    if (!take)
        vc_ttrpc_msg_free(c->ctx, resp);
    vc_free(c->ctx, call->name);
    vc_free(c->ctx, call);
}

static void client_fail_all(struct vc_ttrpc_client *c, int r, int code, const char *message)
{
    /* Callbacks cannot add calls: the client is no longer alive. */
    while (c->head)
        ccall_finish(c->head, r, code, message, NULL);
}

/* Marks the connection lost and closes the stream, without running callbacks. */
static void client_break(struct vc_ttrpc_client *c)
{
    if (!c->alive)
        return;
    c->alive = false;
    ttrpc_conn_close(&c->conn);
    vc_trace(c->ctx, "ttrpc", "closed", "pending=%zu", c->n_calls);
}

/* The connection is lost: every call fails with -ECONNRESET (callbacks run). */
static void client_die(struct vc_ttrpc_client *c)
{
    client_break(c);
    client_fail_all(c, -ECONNRESET, VC_STATUS_UNAVAILABLE, closed_msg);
}

static void client_fail_cb(void *data)
{
    struct vc_ttrpc_client *c = data;

    c->fail_armed = false;
    c->busy++;
    client_fail_all(c, -ECONNRESET, VC_STATUS_UNAVAILABLE, closed_msg);
    client_leave(c);
}

/* The connection was lost where callbacks may not run (in vc_ttrpc_call_start): the calls
 * fail from the loop. Without memory for the timer they fail at their deadlines or on free. */
static void client_break_later(struct vc_ttrpc_client *c)
{
    const struct vc_loop *loop = client_loop(c);

    client_break(c);
    if (!c->fail_armed &&
        loop->ops->timer_add(loop->data, vc_now(c->ctx), client_fail_cb, c, &c->fail_timer) >= 0)
        c->fail_armed = true;
}

/* A response for call. The envelope is decoded before the receive fault point: a fault that
 * delays or hangs runs the loop, which may end the call (its deadline) or reuse the buffer f
 * points into, so after it the call is looked up again and f is not touched. */
static void client_on_response(struct vc_ttrpc_client *c, struct ttrpc_ccall *call,
                               const struct vc_ttrpc_frame *f)
{
    struct ttrpc_pballoc pa;
    Ttrpc__Response *env;
    ProtobufCMessage *resp = NULL;
    uint32_t id = call->id;
    char msg[192];
    int r, code;

    ttrpc_pballoc_init(&pa, c->ctx);
    env = ttrpc__response__unpack(&pa.a, f->len, f->data);
    r = vc_fault(c->ctx, "ttrpc.recv");
    call = ccall_find(c, id);
    if (!call) {
        /* Finished while the fault ran the loop: the response is late, as any other. */
        c->stats.ignored++;
    } else if (r < 0) {
        ccall_finish(call, r, vc_status_from_errno(r), "ttrpc: receive fault injected", NULL);
    } else if (!env && pa.oom) {
        ccall_finish(call, -ENOMEM, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: out of memory", NULL);
    } else if (!env) {
        ccall_finish(call, -EPROTO, VC_STATUS_INTERNAL, "ttrpc: malformed response envelope", NULL);
    } else if ((code = env->status ? env->status->code : VC_STATUS_OK) != VC_STATUS_OK) {
        /* An absent status and a status with code 0 both mean OK. */
        ccall_finish(call, vc_status_to_errno(code), code, env->status->message, NULL);
    } else if (call->resp_desc &&
               !(resp = protobuf_c_message_unpack(call->resp_desc, &pa.a, env->payload.len,
                                                  env->payload.data))) {
        (void) snprintf(msg, sizeof(msg), "ttrpc: cannot decode %s response payload",
                        call->resp_desc->name);
        if (pa.oom)
            ccall_finish(call, -ENOMEM, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: out of memory", NULL);
        else
            ccall_finish(call, -EPROTO, VC_STATUS_INTERNAL, msg, NULL);
    } else {
        ccall_finish(call, 0, VC_STATUS_OK, "", resp);
    }
    if (env)
        ttrpc__response__free_unpacked(env, &pa.a);
}

static bool client_on_frame(void *data, int ev, const struct vc_ttrpc_frame *f)
{
    struct vc_ttrpc_client *c = data;
    struct ttrpc_ccall *call = NULL;
    char msg[96];

    if (ev == VC_TTRPC_DEC_OVERSIZED)
        c->stats.oversized++;
    /* Frames of unknown type are ignored for compatibility; so is anything for a stream id
     * not in flight (late, finished, never issued, even). */
    if (ev == VC_TTRPC_DEC_OVERSIZED || f->h.type == VC_TTRPC_TYPE_REQUEST ||
        f->h.type == VC_TTRPC_TYPE_RESPONSE || f->h.type == VC_TTRPC_TYPE_DATA)
        call = ccall_find(c, f->h.stream_id);
    if (!call) {
        c->stats.ignored++;
    } else if (ev == VC_TTRPC_DEC_OVERSIZED) {
        (void) snprintf(msg, sizeof(msg), "message length %u exceed maximum message size of %u",
                        f->h.length, VC_TTRPC_MESSAGE_MAX);
        ccall_finish(call, -EMSGSIZE, VC_STATUS_RESOURCE_EXHAUSTED, msg, NULL);
    } else if (f->h.type == VC_TTRPC_TYPE_RESPONSE) {
        /* Response flags are undefined ("should be empty"): they are ignored. */
        client_on_response(c, call, f);
    } else {
        ccall_finish(call, -EPROTO, VC_STATUS_INTERNAL,
                     f->h.type == VC_TTRPC_TYPE_DATA
                         ? "ttrpc: received data from non-streaming server"
                         : "ttrpc: received a request on a client stream",
                     NULL);
    }
    return c->alive && !c->closing;
}

static void client_io(void *data, int fd, unsigned revents)
{
    struct vc_ttrpc_client *c = data;
    int r = 0;

    c->busy++;
    if (c->alive && (revents & VC_IO_OUT))
        r = ttrpc_conn_flush(&c->conn);
    if (r >= 0 && c->alive && (revents & (VC_IO_IN | VC_IO_ERR)))
        r = ttrpc_conn_pump(&c->conn, client_on_frame, c);
    if (r < 0 && c->alive && !c->closing)
        client_die(c);
    client_leave(c);
}

static void ccall_timeout(void *data)
{
    struct ttrpc_ccall *call = data;
    struct vc_ttrpc_client *c = call->c;

    call->has_timer = false;
    c->busy++;
    ccall_finish(call, -ETIMEDOUT, VC_STATUS_DEADLINE_EXCEEDED, "ttrpc: deadline exceeded", NULL);
    client_leave(c);
}

int vc_ttrpc_client_new(struct vc_ctx *ctx, struct vc_stream *s, struct vc_ttrpc_client **ret)
{
    struct vc_ttrpc_client *c;
    int r;

    if (!ctx || !s || !ret) {
        vc_stream_close(s);
        return vc_err(ctx, -EINVAL, "ttrpc: client needs a context and a stream");
    }
    c = vc_new0(ctx, struct vc_ttrpc_client, 1);
    if (!c) {
        vc_stream_close(s);
        return -ENOMEM;
    }
    c->ctx = ctx;
    c->next_id = 1;
    c->alive = true;
    c->tap_conn = vc_ctx_wire_conn(ctx);
    client_set_record(c);
    r = ttrpc_conn_init(&c->conn, ctx, s, client_io, c, &c->rec_fn, &c->rec_data, &c->stats);
    if (r < 0) {
        vc_free(ctx, c);
        return r;
    }
    *ret = c;
    return 0;
}

void vc_ttrpc_client_free(struct vc_ttrpc_client *c)
{
    if (!c || c->closing)
        return;
    c->busy++;
    c->closing = true;
    client_break(c);
    if (c->fail_armed) {
        client_loop(c)->ops->timer_cancel(client_loop(c)->data, c->fail_timer);
        c->fail_armed = false;
    }
    client_fail_all(c, -ECANCELED, VC_STATUS_CANCELLED, "ttrpc: client closed");
    client_leave(c);
}

bool vc_ttrpc_client_alive(const struct vc_ttrpc_client *c)
{
    return c && c->alive;
}

void vc_ttrpc_client_set_recorder(struct vc_ttrpc_client *c, vc_ttrpc_frame_fn *fn, void *data)
{
    c->user_fn = fn;
    c->user_data = data;
    client_set_record(c);
}

void vc_ttrpc_client_stats(const struct vc_ttrpc_client *c, struct vc_ttrpc_stats *ret)
{
    *ret = c->stats;
}

size_t vc_ttrpc_client_pending(const struct vc_ttrpc_client *c)
{
    return c ? c->n_calls : 0;
}

/* The request envelope's metadata, pointing at the caller's strings. */
static int md_build(struct vc_ctx *ctx, const struct vc_ttrpc_md *md, size_t n,
                    Ttrpc__KeyValue **ret_kvs, Ttrpc__KeyValue ***ret_ptrs)
{
    Ttrpc__KeyValue *kvs;
    Ttrpc__KeyValue **ptrs;

    if (!n)
        return 0;
    kvs = vc_new0(ctx, Ttrpc__KeyValue, n);
    ptrs = vc_new0(ctx, Ttrpc__KeyValue *, n);
    if (!kvs || !ptrs) {
        vc_free(ctx, kvs);
        vc_free(ctx, ptrs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        kvs[i] = (Ttrpc__KeyValue) TTRPC__KEY_VALUE__INIT;
        kvs[i].key = (char *) (md[i].key ? md[i].key : "");
        kvs[i].value = (char *) (md[i].value ? md[i].value : "");
        ptrs[i] = &kvs[i];
    }
    *ret_kvs = kvs;
    *ret_ptrs = ptrs;
    return 0;
}

/* Packs req into a buffer from the context's allocator (*ret NULL for no req). */
static int payload_pack(struct vc_ttrpc_client *c, const char *name, const ProtobufCMessage *req,
                        ProtobufCBinaryData *ret)
{
    size_t n = req ? protobuf_c_message_get_packed_size(req) : 0;

    *ret = (ProtobufCBinaryData){0};
    if (!n)
        return 0;
    if (n > VC_TTRPC_MESSAGE_MAX)
        return vc_err(c->ctx, -EMSGSIZE,
                      "ttrpc: %s request of %zu bytes exceeds maximum message size of %u", name, n,
                      VC_TTRPC_MESSAGE_MAX);
    ret->data = vc_malloc(c->ctx, n);
    if (!ret->data)
        return -ENOMEM;
    ret->len = protobuf_c_message_pack(req, ret->data);
    return 0;
}

static int64_t timeout_nano(uint64_t deadline_ns, uint64_t now)
{
    if (!deadline_ns || deadline_ns <= now)
        return 0;
    return deadline_ns - now > INT64_MAX ? INT64_MAX : (int64_t) (deadline_ns - now);
}

/* Arms the deadline and queues the request (nothing is sent once the deadline has passed). */
static int ccall_send(struct vc_ttrpc_client *c, struct ttrpc_ccall *call, Ttrpc__Request *env,
                      uint64_t deadline_ns, uint64_t now)
{
    const struct vc_loop *loop = client_loop(c);
    int r;

    if (deadline_ns) {
        r = loop->ops->timer_add(loop->data, deadline_ns, ccall_timeout, call, &call->timer);
        if (r < 0)
            return r;
        call->has_timer = true;
        if (deadline_ns <= now)
            return 0;
    }
    r = ttrpc_conn_send(&c->conn, call->id, VC_TTRPC_TYPE_REQUEST, 0, &env->base,
                        VC_TTRPC_CLIENT_OUTPUT_MAX);
    if (r >= 0)
        return 0;
    if (call->has_timer)
        loop->ops->timer_cancel(loop->data, call->timer);
    call->has_timer = false;
    if (r == -EMSGSIZE)
        return vc_err(c->ctx, r, "ttrpc: %s request envelope exceeds maximum message size of %u",
                      call->name, VC_TTRPC_MESSAGE_MAX);
    if (r == -ENOBUFS)
        return vc_err(c->ctx, r, "ttrpc: %zu bytes of requests are waiting to be sent",
                      c->conn.out.len);
    return r;
}

int vc_ttrpc_call_start(struct vc_ttrpc_client *c, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        uint64_t deadline_ns, const struct vc_ttrpc_md *md, size_t n_md,
                        vc_ttrpc_done_fn *fn, void *data, uint32_t *ret_id)
{
    Ttrpc__Request env = TTRPC__REQUEST__INIT;
    Ttrpc__KeyValue *kvs = NULL;
    struct ttrpc_ccall *call = NULL;
    uint64_t now;
    int r;

    if (!c || !service || !method || !fn || (n_md && !md))
        return vc_err(c ? c->ctx : NULL, -EINVAL, "ttrpc: call needs a service, method and fn");
    if (!c->alive)
        return vc_err(c->ctx, -ECONNRESET, "%s", closed_msg);
    if (c->n_calls >= VC_TTRPC_CLIENT_CALLS_MAX)
        return vc_err(c->ctx, -ENOBUFS, "ttrpc: %zu calls in flight", c->n_calls);
    if (c->next_id > UINT32_MAX)
        return vc_err(c->ctx, -ENOSPC, "ttrpc: stream ids exhausted");
    r = vc_fault(c->ctx, "ttrpc.send");
    if (r < 0)
        return r;
    call = vc_new0(c->ctx, struct ttrpc_ccall, 1);
    if (!call)
        return -ENOMEM;
    *call = (struct ttrpc_ccall){
        .c = c,
        .id = (uint32_t) c->next_id,
        .name = vc_strdupf(c->ctx, "%s/%s", service, method),
        .resp_desc = resp_desc,
        .fn = fn,
        .data = data,
    };
    r = call->name ? 0 : -ENOMEM;
    if (r >= 0)
        r = payload_pack(c, call->name, req, &env.payload);
    if (r >= 0)
        r = md_build(c->ctx, md, n_md, &kvs, &env.metadata);
    if (r < 0)
        goto fail;
    now = vc_now(c->ctx);
    env.service = (char *) service;
    env.method = (char *) method;
    env.timeout_nano = timeout_nano(deadline_ns, now);
    env.n_metadata = n_md;
    r = ccall_send(c, call, &env, deadline_ns, now);
    if (r < 0)
        goto fail;
    call->prev = c->tail;
    if (c->tail)
        c->tail->next = call;
    else
        c->head = call;
    c->tail = call;
    c->n_calls++;
    c->next_id += 2;
    c->stats.calls++;
    vc_trace(c->ctx, "ttrpc", "call", "id=%u %s", call->id, call->name);
    if (ret_id)
        *ret_id = call->id;
    vc_free(c->ctx, env.payload.data);
    vc_free(c->ctx, kvs);
    vc_free(c->ctx, env.metadata);
    if (ttrpc_conn_flush(&c->conn) < 0)
        client_break_later(c);
    return 0;
fail:
    vc_free(c->ctx, env.payload.data);
    vc_free(c->ctx, kvs);
    vc_free(c->ctx, env.metadata);
    vc_free(c->ctx, call->name);
    vc_free(c->ctx, call);
    return r;
}

void vc_ttrpc_call_cancel(struct vc_ttrpc_client *c, uint32_t id)
{
    struct ttrpc_ccall *call = c ? ccall_find(c, id) : NULL;

    if (!call)
        return;
    c->busy++;
    ccall_finish(call, -ECANCELED, VC_STATUS_CANCELLED, "ttrpc: call cancelled", NULL);
    client_leave(c);
}

/* State of one blocking call. */
struct call_wait {
    struct vc_ctx *ctx;      /* where the error is recorded */
    const char *method;      /* for the error message */
    bool done;               /* the callback ran */
    int r;                   /* its result */
    ProtobufCMessage *resp;  /* the response, taken */
    struct vc_err_saved err; /* the error recorded when it failed */
};

static void call_wait_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct call_wait *w = data;

    w->done = true;
    w->r = res->r;
    if (res->r >= 0) {
        w->resp = res->resp;
        *take = true;
        return;
    }
    /* Record now: the message is borrowed, and later callbacks may record errors of their own. */
    (void) vc_err(w->ctx, res->r, "%s: %s (%s)", w->method, res->message,
                  vc_status_to_string(res->code));
    vc_err_save(w->ctx, &w->err);
}

int vc_ttrpc_call(struct vc_ttrpc_client *c, const char *service, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                  uint64_t timeout_ns, ProtobufCMessage **ret_resp)
{
    struct call_wait w = {.method = method};
    uint64_t now, deadline = 0;
    uint32_t id;
    int r;

    if (!c)
        return vc_err(NULL, -EINVAL, "ttrpc: no client");
    w.ctx = c->ctx;
    now = vc_now(c->ctx);
    if (timeout_ns)
        deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    r = vc_ttrpc_call_start(c, service, method, req, resp_desc, deadline, NULL, 0, call_wait_done,
                            &w, &id);
    if (r < 0)
        return r;
    r = vc_ctx_run_until(w.ctx, &w.done, deadline ? deadline : UINT64_MAX);
    if (!w.done) {
        /* The loop gave up first (its deadline or an error): end the call here. The client
         * is still there, since freeing it would have completed the call. */
        vc_ttrpc_call_cancel(c, id);
        if (r == -ETIMEDOUT)
            return vc_err(w.ctx, r, "%s: ttrpc: deadline exceeded (%s)", method,
                          vc_status_to_string(VC_STATUS_DEADLINE_EXCEEDED));
        return r < 0 ? r : vc_err(w.ctx, -EIO, "%s: i/o loop stopped", method);
    }
    if (w.r < 0)
        return vc_err_restore(w.ctx, &w.err, w.r);
    if (ret_resp)
        *ret_resp = w.resp;
    else
        vc_ttrpc_msg_free(w.ctx, w.resp);
    return 0;
}
