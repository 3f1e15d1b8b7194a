/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc server (mockagent's wire front end): listeners and connections on the context's
 * loop, the stream id and dispatch rules of Go ttrpc answered as statuses on the offending
 * stream, and calls handed to handlers that answer now or later. Handlers decode their own
 * payloads. A busy count defers freeing connections and the server while their code runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "conn.h"
#include "ttrpc.pb-c.h"

#define NAME_ECHO_MAX     1024       /* bytes of a peer's service or method name echoed back */
#define STATUS_SLACK      (1u << 20) /* room for status replies past the output limit */
#define SRV_PEER_OUT_HARD (VC_TTRPC_SERVER_OUTPUT_MAX + STATUS_SLACK)

struct srv_service {
    const char *name;           /* service name (borrowed) */
    const char *const *methods; /* NULL-terminated method names (borrowed) */
    vc_ttrpc_handler_fn *fn;    /* handler */
    void *data;                 /* passed to fn */
};

struct srv_listener {
    struct vc_ttrpc_server *srv; /* the server */
    struct vc_listener *l;       /* the listener (owned) */
    struct srv_listener *next;   /* next listener */
};

/* One served connection. */
struct srv_conn {
    struct vc_ttrpc_server *srv; /* the server */
    struct ttrpc_conn conn;      /* the connection */
    uint64_t serial;             /* connection number, for traces */
    uint32_t last_id;            /* highest Request stream id seen */
    bool closed;                 /* closed; freed when the server is not busy */
    struct vc_ttrpc_call *calls; /* calls in flight on this connection */
    size_t n_calls;              /* number of calls */
    struct srv_conn *prev;       /* list of open connections, or of closed ones (next only) */
    struct srv_conn *next;       /* ditto */
};

struct vc_ttrpc_call {
    struct vc_ttrpc_server *srv;     /* the server */
    struct srv_conn *conn;           /* the connection, NULL once abandoned */
    uint32_t id;                     /* stream id */
    const char *service;             /* registered service name (borrowed) */
    const char *method;              /* registered method name (borrowed) */
    int64_t timeout_ns;              /* the request's timeout_nano */
    struct vc_ttrpc_md *md;          /* metadata, strings in the same allocation */
    size_t n_md;                     /* metadata pairs */
    vc_ttrpc_abandon_fn *abandon_fn; /* run when the connection goes first, or NULL */
    void *abandon_data;              /* passed to abandon_fn */
    struct vc_ttrpc_call *prev;      /* list on the connection or the server's abandoned */
    struct vc_ttrpc_call *next;      /* ditto */
};

struct vc_ttrpc_server {
    struct vc_ctx *ctx;              /* the context (borrowed) */
    struct srv_service *services;    /* registered services */
    size_t n_services;               /* number of services */
    struct srv_listener *listeners;  /* listeners */
    struct srv_conn *conns;          /* open connections */
    size_t n_conns;                  /* number of open connections */
    struct srv_conn *zombies;        /* closed connections awaiting free */
    struct vc_ttrpc_call *abandoned; /* unanswered calls whose connection is gone */
    size_t n_pending;                /* unanswered calls, abandoned ones included */
    uint64_t next_serial;            /* next connection number */
    unsigned busy;                   /* entry points running */
    bool freed;                      /* vc_ttrpc_server_free ran; destroy when not busy */
    vc_ttrpc_frame_fn *rec_fn;       /* recorder, or NULL */
    void *rec_data;                  /* passed to rec_fn */
    struct vc_ttrpc_stats stats;     /* counters */
};

static void call_list_add(struct vc_ttrpc_call **head, struct vc_ttrpc_call *call)
{
    call->prev = NULL;
    call->next = *head;
    if (*head)
        (*head)->prev = call;
    *head = call;
}

static void call_list_del(struct vc_ttrpc_call **head, struct vc_ttrpc_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        *head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* Takes a call out of whichever list holds it (answering it must not see it abandoned). */
static void call_detach(struct vc_ttrpc_call *call)
{
    if (call->conn) {
        call_list_del(&call->conn->calls, call);
        call->conn->n_calls--;
        call->conn = NULL;
    } else {
        call_list_del(&call->srv->abandoned, call);
    }
}

/* Frees a detached call. */
static void call_release(struct vc_ttrpc_call *call)
{
    struct vc_ttrpc_server *srv = call->srv;

    srv->n_pending--;
    vc_free(srv->ctx, call->md);
    vc_free(srv->ctx, call);
}

static void call_free(struct vc_ttrpc_call *call)
{
    call_detach(call);
    call_release(call);
}

/* message, or a copy cut at VC_TTRPC_STATUS_MSG_MAX bytes in *cut (freed by the caller). */
static const char *status_msg(struct vc_ctx *ctx, const char *message, char **cut)
{
    *cut = NULL;
    if (!message)
        return "";
    if (strlen(message) <= VC_TTRPC_STATUS_MSG_MAX)
        return message;
    *cut = vc_malloc(ctx, VC_TTRPC_STATUS_MSG_MAX + 1);
    if (!*cut)
        return "";
    memcpy(*cut, message, VC_TTRPC_STATUS_MSG_MAX);
    (*cut)[VC_TTRPC_STATUS_MSG_MAX] = '\0';
    return *cut;
}

static void srv_destroy(struct vc_ttrpc_server *srv)
{
    while (srv->zombies) {
        struct srv_conn *sc = srv->zombies;

        srv->zombies = sc->next;
        ttrpc_conn_fini(&sc->conn);
        vc_free(srv->ctx, sc);
    }
    if (!srv->freed)
        return;
    while (srv->abandoned)
        call_free(srv->abandoned);
    vc_free(srv->ctx, srv->services);
    vc_free(srv->ctx, srv);
}

static void srv_leave(struct vc_ttrpc_server *srv)
{
    if (--srv->busy == 0)
        srv_destroy(srv);
}

/* Closes a connection: its calls are abandoned (callbacks run), its memory goes when the
 * server is no longer busy. Runs inside an entry point. */
static void srv_conn_close(struct srv_conn *sc, const char *why)
{
    struct vc_ttrpc_server *srv = sc->srv;

    if (sc->closed)
        return;
    sc->closed = true;
    ttrpc_conn_close(&sc->conn);
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        srv->conns = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    sc->prev = NULL;
    sc->next = srv->zombies;
    srv->zombies = sc;
    srv->n_conns--;
    vc_trace(srv->ctx, "ttrpc", "disconnect", "conn=%llu calls=%zu %s",
             (unsigned long long) sc->serial, sc->n_calls, why);
    while (sc->calls) {
        struct vc_ttrpc_call *call = sc->calls;

        call_list_del(&sc->calls, call);
        sc->n_calls--;
        call->conn = NULL;
        call_list_add(&srv->abandoned, call);
        if (call->abandon_fn)
            call->abandon_fn(call->abandon_data, call); /* may reply, freeing call */
    }
}

/* Queues a Response on the connection and writes what the stream takes. queue_max bounds the
 * output. 0; -EMSGSIZE or -ENOBUFS (nothing queued); -ECONNRESET when the connection had to be
 * closed (out of memory or a write error). */
static int srv_send(struct srv_conn *sc, uint32_t id, Ttrpc__Response *resp, size_t queue_max)
{
    int r;

    if (sc->closed)
        return -ECONNRESET;
    r = ttrpc_conn_send(&sc->conn, id, VC_TTRPC_TYPE_RESPONSE, 0, &resp->base, queue_max);
    if (r == -EMSGSIZE || r == -ENOBUFS)
        return r;
    if (r >= 0)
        r = ttrpc_conn_flush(&sc->conn);
    if (r < 0) {
        srv_conn_close(sc, r == -ENOMEM ? "out of memory" : "write failed");
        return -ECONNRESET;
    }
    return 0;
}

/* Sends a status (no payload) on stream id. A peer that lets these pile up unread past the
 * hard output limit is disconnected. */
static int srv_send_status(struct srv_conn *sc, uint32_t id, int code, const char *message)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    char *cut;
    int r;

    st.code = code;
    st.message = (char *) status_msg(sc->srv->ctx, message, &cut);
    resp.status = &st;
    r = srv_send(sc, id, &resp, SRV_PEER_OUT_HARD);
    vc_free(sc->srv->ctx, cut);
    if (r == -ENOBUFS) {
        srv_conn_close(sc, "peer does not read its replies");
        r = -ECONNRESET;
    }
    return r;
}

/* Answers a frame that breaks a rule. */
static void srv_reject(struct srv_conn *sc, uint32_t id, int code, const char *message)
{
    sc->srv->stats.rejected++;
    vc_trace(sc->srv->ctx, "ttrpc", "reject", "conn=%llu id=%u code=%s %.96s",
             (unsigned long long) sc->serial, id, vc_status_to_string(code), message);
    (void) srv_send_status(sc, id, code, message);
}

static const struct srv_service *srv_find_service(const struct vc_ttrpc_server *srv,
                                                  const char *name)
{
    for (size_t i = 0; i < srv->n_services; i++)
        if (strcmp(srv->services[i].name, name) == 0)
            return &srv->services[i];
    return NULL;
}

static const char *srv_find_method(const struct srv_service *svc, const char *name)
{
    /* Every request looks its method up: the first byte rules most names out before strcmp. */
    for (const char *const *m = svc->methods; *m; m++)
        if ((*m)[0] == name[0] && strcmp(*m, name) == 0)
            return *m;
    return NULL;
}

/* Copies the request's metadata into one allocation: the pairs, then their strings. */
static int md_copy(struct vc_ctx *ctx, const Ttrpc__Request *req, struct vc_ttrpc_md **ret,
                   size_t *ret_n)
{
    size_t total = req->n_metadata * sizeof(struct vc_ttrpc_md);
    struct vc_ttrpc_md *md;
    char *p;

    *ret = NULL;
    *ret_n = 0;
    if (!req->n_metadata)
        return 0;
    if (req->n_metadata > VC_TTRPC_METADATA_MAX)
        return -E2BIG;
    for (size_t i = 0; i < req->n_metadata; i++) {
        const Ttrpc__KeyValue *kv = req->metadata[i];

        total += strlen(kv->key ? kv->key : "") + strlen(kv->value ? kv->value : "") + 2;
        if (total > VC_TTRPC_METADATA_MAX)
            return -E2BIG;
    }
    md = vc_malloc(ctx, total);
    if (!md)
        return -ENOMEM;
    p = (char *) (md + req->n_metadata);
    for (size_t i = 0; i < req->n_metadata; i++) {
        const char *k = req->metadata[i]->key ? req->metadata[i]->key : "";
        const char *v = req->metadata[i]->value ? req->metadata[i]->value : "";

        md[i].key = p;
        p = stpcpy(p, k) + 1;
        md[i].value = p;
        p = stpcpy(p, v) + 1;
    }
    *ret = md;
    *ret_n = req->n_metadata;
    return 0;
}

/* Makes the call for a request that passed the rules, or answers why it cannot be made. */
static struct vc_ttrpc_call *srv_call_new(struct srv_conn *sc, uint32_t id,
                                          const Ttrpc__Request *req, const char *service,
                                          const char *method)
{
    struct vc_ttrpc_server *srv = sc->srv;
    struct vc_ttrpc_call *call;
    char msg[128];
    int r;

    if (sc->n_calls >= VC_TTRPC_SERVER_CALLS_MAX) {
        (void) snprintf(msg, sizeof(msg), "ttrpc: %zu calls in flight on this connection",
                        sc->n_calls);
        srv_reject(sc, id, VC_STATUS_RESOURCE_EXHAUSTED, msg);
        return NULL;
    }
    call = vc_new0(srv->ctx, struct vc_ttrpc_call, 1);
    r = call ? md_copy(srv->ctx, req, &call->md, &call->n_md) : -ENOMEM;
    if (r < 0) {
        vc_free(srv->ctx, call);
        if (r == -E2BIG)
            (void) snprintf(msg, sizeof(msg), "ttrpc: request metadata exceeds %u bytes",
                            VC_TTRPC_METADATA_MAX);
        srv_reject(sc, id, VC_STATUS_RESOURCE_EXHAUSTED,
                   r == -E2BIG ? msg : "ttrpc: out of memory");
        return NULL;
    }
    call->srv = srv;
    call->conn = sc;
    call->id = id;
    call->service = service;
    call->method = method;
    call->timeout_ns = req->timeout_nano;
    call_list_add(&sc->calls, call);
    sc->n_calls++;
    srv->n_pending++;
    srv->stats.calls++;
    return call;
}

static void srv_on_request(struct srv_conn *sc, const struct vc_ttrpc_frame *f)
{
    struct vc_ttrpc_server *srv = sc->srv;
    const struct srv_service *svc;
    const char *method = NULL;
    struct vc_ttrpc_call *call;
    struct ttrpc_pballoc pa;
    Ttrpc__Request *req;
    char msg[NAME_ECHO_MAX + 16];

    /* A peer that may be replaced unseen (a virtio-serial port's host side): a new client
     * starts over at stream 1. */
    if (f->h.stream_id == 1 && sc->conn.s && (sc->conn.s->flags & VC_STREAM_PEER_REPLACEABLE))
        sc->last_id = 0;
    if (f->h.stream_id <= sc->last_id) {
        srv_reject(sc, f->h.stream_id, VC_STATUS_INVALID_ARGUMENT,
                   "StreamID cannot be re-used and must increment");
        return;
    }
    sc->last_id = f->h.stream_id;
    ttrpc_pballoc_init(&pa, srv->ctx);
    req = ttrpc__request__unpack(&pa.a, f->len, f->data);
    if (!req) {
        if (pa.oom)
            srv_reject(sc, f->h.stream_id, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
        else
            srv_reject(sc, f->h.stream_id, VC_STATUS_INVALID_ARGUMENT,
                       "unmarshal request error: proto: cannot parse invalid wire-format data");
        return;
    }
    svc = srv_find_service(srv, req->service);
    if (svc)
        method = srv_find_method(svc, req->method);
    if (!svc || !method) {
        (void) snprintf(msg, sizeof(msg), svc ? "method %.*s" : "service %.*s", NAME_ECHO_MAX,
                        svc ? req->method : req->service);
        srv_reject(sc, f->h.stream_id, VC_STATUS_UNIMPLEMENTED, msg);
    } else if ((call = srv_call_new(sc, f->h.stream_id, req, svc->name, method))) {
        vc_trace(srv->ctx, "ttrpc", "serve", "conn=%llu id=%u %s/%s",
                 (unsigned long long) sc->serial, call->id, svc->name, method);
        svc->fn(svc->data, call, method, req->payload.len ? req->payload.data : NULL,
                req->payload.len);
    }
    ttrpc__request__free_unpacked(req, &pa.a);
}

static bool srv_on_frame(void *data, int ev, const struct vc_ttrpc_frame *f)
{
    struct srv_conn *sc = data;
    struct vc_ttrpc_server *srv = sc->srv;
    char msg[96];

    if (ev == VC_TTRPC_DEC_OVERSIZED) {
        srv->stats.oversized++;
        (void) snprintf(msg, sizeof(msg), "message length %u exceed maximum message size of %u",
                        f->h.length, VC_TTRPC_MESSAGE_MAX);
        srv_reject(sc, f->h.stream_id, VC_STATUS_RESOURCE_EXHAUSTED, msg);
    } else if (f->h.stream_id % 2 != 1) {
        srv_reject(sc, f->h.stream_id, VC_STATUS_INVALID_ARGUMENT,
                   "StreamID must be odd for client initiated streams");
    } else if (f->h.type == VC_TTRPC_TYPE_DATA) {
        bool active = false;

        for (const struct vc_ttrpc_call *call = sc->calls; call && !active; call = call->next)
            active = call->id == f->h.stream_id;
        if (active)
            srv->stats.ignored++; /* unary calls only: their data frames mean nothing */
        else
            srv_reject(sc, f->h.stream_id, VC_STATUS_INVALID_ARGUMENT,
                       "StreamID is no longer active");
    } else if (f->h.type == VC_TTRPC_TYPE_REQUEST) {
        srv_on_request(sc, f);
    } else {
        srv->stats.ignored++; /* other types are ignored, for future compatibility */
    }
    return !sc->closed && !srv->freed;
}

static void srv_conn_io(void *data, int fd, unsigned revents)
{
    struct srv_conn *sc = data;
    struct vc_ttrpc_server *srv = sc->srv;
    int r = 0;

    srv->busy++;
    if (!sc->closed && (revents & VC_IO_OUT))
        r = ttrpc_conn_flush(&sc->conn);
    if (r >= 0 && !sc->closed && (revents & (VC_IO_IN | VC_IO_ERR)))
        r = ttrpc_conn_pump(&sc->conn, srv_on_frame, sc);
    if (r < 0)
        srv_conn_close(sc, r == -ECONNRESET ? (ttrpc_conn_idle(&sc->conn) ? "eof" : "eof mid-frame")
                                            : vc_errno_name(r));
    srv_leave(srv);
}

int vc_ttrpc_server_new(struct vc_ctx *ctx, struct vc_ttrpc_server **ret)
{
    struct vc_ttrpc_server *srv;

    if (!ctx || !ret)
        return vc_err(ctx, -EINVAL, "ttrpc: server needs a context");
    if (!vc_ctx_loop(ctx))
        return vc_err(ctx, -EOPNOTSUPP, "ttrpc: context has no i/o loop");
    srv = vc_new0(ctx, struct vc_ttrpc_server, 1);
    if (!srv)
        return -ENOMEM;
    srv->ctx = ctx;
    srv->next_serial = 1;
    *ret = srv;
    return 0;
}

void vc_ttrpc_server_free(struct vc_ttrpc_server *srv)
{
    const struct vc_loop *loop;

    if (!srv || srv->freed)
        return;
    loop = vc_ctx_loop(srv->ctx);
    srv->busy++;
    srv->freed = true;
    while (srv->listeners) {
        struct srv_listener *sl = srv->listeners;

        srv->listeners = sl->next;
        (void) loop->ops->watch(loop->data, sl->l->fd, 0, NULL, NULL);
        vc_listener_close(sl->l);
        vc_free(srv->ctx, sl);
    }
    while (srv->conns)
        srv_conn_close(srv->conns, "server closed");
    srv_leave(srv);
}

int vc_ttrpc_server_register(struct vc_ttrpc_server *srv, const char *service,
                             const char *const *methods, vc_ttrpc_handler_fn *fn, void *data)
{
    struct srv_service *v;

    if (!srv || !service || !methods || !fn)
        return vc_err(srv ? srv->ctx : NULL, -EINVAL, "ttrpc: register needs a service");
    if (srv_find_service(srv, service))
        return vc_err(srv->ctx, -EEXIST, "ttrpc: service '%s' registered twice", service);
    v = vc_realloc(srv->ctx, srv->services, (srv->n_services + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    v[srv->n_services++] = (struct srv_service){service, methods, fn, data};
    srv->services = v;
    return 0;
}

int vc_ttrpc_server_serve(struct vc_ttrpc_server *srv, struct vc_stream *s)
{
    struct srv_conn *sc;
    int r;

    if (!srv || !s) {
        vc_stream_close(s);
        return vc_err(srv ? srv->ctx : NULL, -EINVAL, "ttrpc: serve needs a stream");
    }
    if (srv->freed || srv->n_conns >= VC_TTRPC_SERVER_CONNS_MAX) {
        vc_stream_close(s);
        return vc_err(srv->ctx, -EMFILE, "ttrpc: server has %zu connections", srv->n_conns);
    }
    sc = vc_new0(srv->ctx, struct srv_conn, 1);
    if (!sc) {
        vc_stream_close(s);
        return -ENOMEM;
    }
    sc->srv = srv;
    r = ttrpc_conn_init(&sc->conn, srv->ctx, s, srv_conn_io, sc, &srv->rec_fn, &srv->rec_data,
                        &srv->stats);
    if (r < 0) {
        vc_free(srv->ctx, sc);
        return r;
    }
    sc->serial = srv->next_serial++;
    sc->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = sc;
    srv->conns = sc;
    srv->n_conns++;
    vc_trace(srv->ctx, "ttrpc", "connect", "conn=%llu", (unsigned long long) sc->serial);
    return 0;
}

static void srv_listener_io(void *data, int fd, unsigned revents)
{
    struct srv_listener *sl = data;
    struct vc_ttrpc_server *srv = sl->srv;

    srv->busy++;
    /* Accept until none waits (readiness may be edge-triggered). An accept error other than
     * "none waiting" ends this round; the listener stays. */
    while (!srv->freed) {
        struct vc_stream *s = NULL;

        if (vc_listener_accept(sl->l, &s) < 0)
            break;
        (void) vc_ttrpc_server_serve(srv, s);
    }
    srv_leave(srv);
}

int vc_ttrpc_server_listen(struct vc_ttrpc_server *srv, struct vc_listener *l)
{
    const struct vc_loop *loop;
    struct srv_listener *sl;
    int r;

    if (!srv || !l || srv->freed) {
        vc_listener_close(l);
        return vc_err(srv ? srv->ctx : NULL, -EINVAL, "ttrpc: listen needs a listener");
    }
    loop = vc_ctx_loop(srv->ctx);
    sl = vc_new0(srv->ctx, struct srv_listener, 1);
    if (!sl) {
        vc_listener_close(l);
        return -ENOMEM;
    }
    *sl = (struct srv_listener){.srv = srv, .l = l};
    r = loop->ops->watch(loop->data, l->fd, VC_IO_IN, srv_listener_io, sl);
    if (r < 0) {
        vc_listener_close(l);
        vc_free(srv->ctx, sl);
        return vc_err(srv->ctx, r, "ttrpc: cannot watch listener");
    }
    sl->next = srv->listeners;
    srv->listeners = sl;
    /* Connections may already wait, and an edge-triggered loop would not say so again. */
    srv_listener_io(sl, l->fd, VC_IO_IN);
    return 0;
}

void vc_ttrpc_server_set_recorder(struct vc_ttrpc_server *srv, vc_ttrpc_frame_fn *fn, void *data)
{
    srv->rec_fn = fn;
    srv->rec_data = data;
}

void vc_ttrpc_server_stats(const struct vc_ttrpc_server *srv, struct vc_ttrpc_stats *ret)
{
    *ret = srv->stats;
}

size_t vc_ttrpc_server_connections(const struct vc_ttrpc_server *srv)
{
    return srv ? srv->n_conns : 0;
}

size_t vc_ttrpc_server_pending(const struct vc_ttrpc_server *srv)
{
    return srv ? srv->n_pending : 0;
}

/* Ends a call with resp: sends it (unless the connection is gone) and frees the call. */
static int call_answer(struct vc_ttrpc_call *call, Ttrpc__Response *resp, int code)
{
    struct vc_ttrpc_server *srv = call->srv;
    struct srv_conn *sc = call->conn;
    char msg[96] = "";
    int r;

    call_detach(call);
    if (!sc) {
        call_release(call);
        return 0;
    }
    srv->busy++;
    r = srv_send(sc, call->id, resp, VC_TTRPC_SERVER_OUTPUT_MAX);
    if (r == -EMSGSIZE || r == -ENOBUFS) {
        if (r == -EMSGSIZE)
            (void) snprintf(msg, sizeof(msg),
                            "message length %zu exceed maximum message size of %u",
                            protobuf_c_message_get_packed_size(&resp->base), VC_TTRPC_MESSAGE_MAX);
        code = VC_STATUS_RESOURCE_EXHAUSTED;
        if (srv_send_status(sc, call->id, code,
                            r == -EMSGSIZE ? msg : "ttrpc: connection output buffer full") < 0)
            r = -ECONNRESET;
    }
    if (r == -EMSGSIZE)
        (void) vc_err(srv->ctx, r, "ttrpc: reply to %s/%s: %s", call->service, call->method, msg);
    else if (r == -ENOBUFS)
        (void) vc_err(srv->ctx, r, "ttrpc: reply to %s/%s: connection output buffer full",
                      call->service, call->method);
    else if (r < 0)
        (void) vc_err(srv->ctx, r, "ttrpc: reply to %s/%s: connection closed", call->service,
                      call->method);
    vc_trace(srv->ctx, "ttrpc", "reply", "conn=%llu id=%u %s/%s code=%s",
             (unsigned long long) sc->serial, call->id, call->service, call->method,
             vc_status_to_string(code));
    call_release(call);
    srv_leave(srv);
    return r;
}

int vc_ttrpc_reply(struct vc_ttrpc_call *call, const ProtobufCMessage *resp)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response env = TTRPC__RESPONSE__INIT;
    struct vc_ctx *ctx;
    size_t n;
    int r;

    if (!call)
        return -EINVAL;
    ctx = call->srv->ctx;
    if (!call->conn)
        return call_answer(call, &env, VC_STATUS_OK);
    n = resp ? protobuf_c_message_get_packed_size(resp) : 0;
    if (n > VC_TTRPC_MESSAGE_MAX) {
        char msg[96];

        (void) snprintf(msg, sizeof(msg), "message length %zu exceed maximum message size of %u", n,
                        VC_TTRPC_MESSAGE_MAX);
        r = vc_ttrpc_reply_error(call, VC_STATUS_RESOURCE_EXHAUSTED, msg);
        return r < 0 ? r : vc_err(ctx, -EMSGSIZE, "ttrpc: reply %s", msg);
    }
    /* Go ttrpc always sends a status, code 0 for OK (on the wire: 0a 00). */
    env.status = &st;
    if (n) {
        env.payload.data = vc_malloc(ctx, n);
        if (!env.payload.data)
            return vc_ttrpc_reply_error(call, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
        env.payload.len = protobuf_c_message_pack(resp, env.payload.data);
    }
    r = call_answer(call, &env, VC_STATUS_OK);
    vc_free(ctx, env.payload.data);
    return r;
}

int vc_ttrpc_reply_error(struct vc_ttrpc_call *call, int code, const char *message)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response env = TTRPC__RESPONSE__INIT;
    struct vc_ctx *ctx;
    char *cut;
    int r;

    if (!call)
        return -EINVAL;
    ctx = call->srv->ctx;
    st.code = code;
    st.message = (char *) status_msg(ctx, message, &cut);
    env.status = &st;
    r = call_answer(call, &env, code);
    vc_free(ctx, cut);
    return r;
}

int vc_ttrpc_call_decode(struct vc_ttrpc_call *call, const ProtobufCMessageDescriptor *desc,
                         const uint8_t *payload, size_t len, ProtobufCMessage **ret)
{
    struct ttrpc_pballoc pa;
    ProtobufCMessage *msg;

    if (!call || !desc || !ret)
        return -EINVAL;
    ttrpc_pballoc_init(&pa, call->srv->ctx);
    msg = protobuf_c_message_unpack(desc, &pa.a, len, payload);
    if (msg) {
        *ret = msg;
        return 0;
    }
    if (pa.oom) {
        (void) vc_ttrpc_reply_error(call, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
        return -ENOMEM;
    }
    (void) vc_ttrpc_reply_error(call, VC_STATUS_INTERNAL,
                                "ttrpc: error unmarshalling payload: proto: cannot parse invalid "
                                "wire-format data");
    return vc_err(pa.ctx, -EBADMSG, "ttrpc: request payload is not a valid %s", desc->name);
}

int64_t vc_ttrpc_call_timeout_ns(const struct vc_ttrpc_call *call)
{
    return call->timeout_ns;
}

size_t vc_ttrpc_call_metadata(const struct vc_ttrpc_call *call, const struct vc_ttrpc_md **ret)
{
    *ret = call->md;
    return call->n_md;
}

uint32_t vc_ttrpc_call_id(const struct vc_ttrpc_call *call)
{
    return call->id;
}

const char *vc_ttrpc_call_service(const struct vc_ttrpc_call *call)
{
    return call->service;
}

void vc_ttrpc_call_on_abandon(struct vc_ttrpc_call *call, vc_ttrpc_abandon_fn *fn, void *data)
{
    call->abandon_fn = fn;
    call->abandon_data = data;
}

bool vc_ttrpc_call_abandoned(const struct vc_ttrpc_call *call)
{
    return !call->conn;
}
