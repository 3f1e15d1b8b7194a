/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc client and server on a real context's poll loop over socketpairs: round trips,
 * calls in flight answered out of order, deadlines, every server rule checked with a
 * hand-written raw client, every client failure mode checked with a hand-written raw server,
 * callbacks that re-enter, limits, fault points and an allocation-failure sweep. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "health.pb-c.h"
#include "etloop.h"
#include "ttrpc.pb-c.h"

#define MS(n) ((uint64_t) (n) *1000000u)

/* --- plumbing --------------------------------------------------------------------------------- */

static struct vc_ctx *real_ctx(void)
{
    char root[] = "/tmp/vc-ttrpc-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0);
    return ctx;
}

/* How a test runs: on the real poll loop, or on the edge-triggered one. */
struct mode {
    bool edge;                /* use the edge-triggered loop */
    struct vctest_etloop *et; /* the loop made for the running test */
};

static struct vc_ctx *test_ctx(void **state)
{
    struct mode *m = *state;
    struct vc_ctx *ctx = real_ctx();

    if (!m || !m->edge)
        return ctx;
    m->et = vctest_etloop_install(ctx);
    return ctx;
}

static void test_ctx_free(void **state, struct vc_ctx *ctx)
{
    struct mode *m = *state;

    vc_ctx_free(ctx);
    if (!m || !m->et)
        return;
    assert_int_equal(vctest_etloop_watches(m->et), 0); /* every watch was removed */
    vctest_etloop_free(m->et);
    m->et = NULL;
}

static void loop_once(struct vc_ctx *ctx)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    int r = loop->ops->run_once(loop->data, vc_now(ctx) + MS(20));

    assert_true(r == 0 || r == -ETIMEDOUT);
}

/* A stream over one end of a socketpair and the other end raw (non-blocking). */
static struct vc_stream *stream_raw(struct vc_ctx *ctx, int *raw)
{
    struct vc_stream *s;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(vc_fd_stream_new(ctx, sv[0], "unix", &s), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    *raw = sv[1];
    return s;
}

static void raw_write(struct vc_ctx *ctx, int fd, const void *buf, size_t len)
{
    uint64_t deadline = vc_now(ctx) + MS(10000);

    while (len) {
        ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            assert_true(vc_now(ctx) < deadline);
            loop_once(ctx);
            continue;
        }
        buf = (const uint8_t *) buf + n;
        len -= (size_t) n;
    }
}

static void raw_frame(struct vc_ctx *ctx, int fd, uint32_t id, uint8_t type, uint8_t flags,
                      const void *data, uint32_t len)
{
    uint8_t h[10] = {len >> 24, len >> 16, len >> 8, len,  id >> 24,
                     id >> 16,  id >> 8,   id,       type, flags};

    raw_write(ctx, fd, h, 10);
    if (len)
        raw_write(ctx, fd, data, len);
}

static void raw_msg(struct vc_ctx *ctx, int fd, uint32_t id, uint8_t type, uint8_t flags,
                    const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);

    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), n);
    raw_frame(ctx, fd, id, type, flags, buf, (uint32_t) n);
    free(buf);
}

static void raw_read(struct vc_ctx *ctx, int fd, void *buf, size_t len)
{
    uint64_t deadline = vc_now(ctx) + MS(10000);

    while (len) {
        ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            assert_true(vc_now(ctx) < deadline);
            loop_once(ctx);
            continue;
        }
        assert_true(n > 0); /* no end of stream expected */
        buf = (uint8_t *) buf + n;
        len -= (size_t) n;
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* A raw frame: header fields and malloc'd data (NUL-terminated for convenience). */
struct rframe {
    uint32_t len;  /* data length */
    uint32_t id;   /* stream id */
    uint8_t type;  /* type */
    uint8_t flags; /* flags */
    uint8_t *data; /* data */
};

static struct rframe raw_read_frame(struct vc_ctx *ctx, int fd)
{
    uint8_t h[10];
    struct rframe f;

    raw_read(ctx, fd, h, 10);
    f = (struct rframe){be32(h), be32(h + 4), h[8], h[9], NULL};
    f.data = malloc(f.len + 1);
    assert_non_null(f.data);
    raw_read(ctx, fd, f.data, f.len);
    f.data[f.len] = 0;
    return f;
}

/* Nothing arrives on fd while the loop runs a few rounds. */
static void raw_expect_nothing(struct vc_ctx *ctx, int fd)
{
    uint8_t b;

    for (int i = 0; i < 5; i++)
        loop_once(ctx);
    assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
}

/* Reads a Response frame on id and checks its status code and message (prefix). */
static void raw_expect_status(struct vc_ctx *ctx, int fd, uint32_t id, int code, const char *prefix)
{
    struct rframe f = raw_read_frame(ctx, fd);
    Ttrpc__Response *resp;

    assert_int_equal(f.type, VC_TTRPC_TYPE_RESPONSE);
    assert_int_equal(f.flags, 0);
    assert_int_equal(f.id, id);
    resp = ttrpc__response__unpack(NULL, f.len, f.data);
    assert_non_null(resp);
    assert_non_null(resp->status);
    assert_int_equal(resp->status->code, code);
    if (strncmp(resp->status->message, prefix, strlen(prefix)) != 0)
        fail_msg("status message '%s' does not start with '%s'", resp->status->message, prefix);
    ttrpc__response__free_unpacked(resp, NULL);
    free(f.data);
}

/* Reads a Request frame and decodes it (the caller frees with ttrpc__request__free_unpacked). */
static Ttrpc__Request *raw_read_request(struct vc_ctx *ctx, int fd, uint32_t *ret_id)
{
    struct rframe f = raw_read_frame(ctx, fd);
    Ttrpc__Request *req;

    assert_int_equal(f.type, VC_TTRPC_TYPE_REQUEST);
    assert_int_equal(f.flags, 0);
    req = ttrpc__request__unpack(NULL, f.len, f.data);
    assert_non_null(req);
    *ret_id = f.id;
    free(f.data);
    return req;
}

/* Sends a Response on id: status code/message (code < 0: no status) and a StringList payload
 * of one string (NULL: none). */
static void raw_respond(struct vc_ctx *ctx, int fd, uint32_t id, uint8_t flags, int code,
                        const char *message, const char *str)
{
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[1] = {(char *) str};
    uint8_t buf[256];

    if (code >= 0) {
        st.code = code;
        st.message = (char *) (message ? message : "");
        resp.status = &st;
    }
    if (str) {
        sl.n_list = 1;
        sl.list = list;
        resp.payload.len = ttrpc__string_list__pack(&sl, buf);
        resp.payload.data = buf;
    }
    raw_msg(ctx, fd, id, VC_TTRPC_TYPE_RESPONSE, flags, &resp.base);
}

/* --- client results ------------------------------------------------------------------------- */

struct res {
    struct vc_ctx *ctx;              /* for freeing nested responses */
    int n;                           /* callbacks run */
    int r;                           /* last result */
    int code;                        /* last status code */
    char msg[256];                   /* last message */
    char str[64];                    /* first string of a StringList response */
    struct vc_ttrpc_client *free_it; /* free this client from the callback */
    struct vc_ttrpc_client *nest;    /* run a blocking Echo on this client from the callback */
    int nest_r;                      /* its result */
    struct vc_ttrpc_client *chain;   /* start a follow-up call on this client */
    struct res *chain_res;           /* its result */
};

static void nested_echo(struct res *o)
{
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[1] = {"nested"};
    ProtobufCMessage *resp = NULL;

    sl.n_list = 1;
    sl.list = list;
    o->nest_r = vc_ttrpc_call(o->nest, "test.Strings", "Echo", &sl.base,
                              &ttrpc__string_list__descriptor, MS(5000), &resp);
    if (o->nest_r == 0)
        assert_string_equal(((Ttrpc__StringList *) resp)->list[0], "nested");
    vc_ttrpc_msg_free(o->ctx, resp);
}

static void on_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct res *o = data;

    o->n++;
    o->r = res->r;
    o->code = res->code;
    assert_non_null(res->message);
    (void) snprintf(o->msg, sizeof(o->msg), "%s", res->message);
    o->str[0] = 0;
    if (res->resp && res->resp->descriptor == &ttrpc__string_list__descriptor) {
        const Ttrpc__StringList *sl = (const Ttrpc__StringList *) res->resp;

        if (sl->n_list)
            (void) snprintf(o->str, sizeof(o->str), "%s", sl->list[0]);
    }
    if (res->r == 0)
        assert_int_equal(res->code, 0);
    else
        assert_null(res->resp);
    if (o->free_it)
        vc_ttrpc_client_free(o->free_it);
    if (o->chain)
        assert_int_equal(vc_ttrpc_call_start(o->chain, "test.Strings", "Echo", NULL,
                                             &ttrpc__string_list__descriptor, 0, NULL, 0, on_done,
                                             o->chain_res, NULL),
                         0);
    if (o->nest)
        nested_echo(o);
}

/* Starts test.Strings/<method> with a StringList of str (NULL: empty request). */
static uint32_t start(struct vc_ttrpc_client *c, const char *method, const char *str,
                      uint64_t deadline, struct res *o)
{
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[1] = {(char *) str};
    uint32_t id = 0;

    if (str) {
        sl.n_list = 1;
        sl.list = list;
    }
    assert_int_equal(vc_ttrpc_call_start(c, "test.Strings", method, &sl.base,
                                         &ttrpc__string_list__descriptor, deadline, NULL, 0,
                                         on_done, o, &id),
                     0);
    return id;
}

/* --- a test server ------------------------------------------------------------------------ */

#define HOLD_MAX 1100

struct srvt {
    struct vc_ctx *ctx;                   /* the context */
    struct vc_ttrpc_call *held[HOLD_MAX]; /* calls held by Hold, unanswered */
    size_t n_held;                        /* number held */
    int abandoned;                        /* abandon callbacks run */
    int64_t timeout;                      /* the last Meta call's timeout */
    char md[256];                         /* the last Meta call's metadata, "k=v;" each */
    int reply_r;                          /* the last reply's result */
    size_t big;                           /* bytes of the string Big answers */
    int n_big;                            /* Big calls answered */
    struct vc_ttrpc_server *free_srv;     /* free this server from the handler */
};

static const char *const strings_methods[] = {"Echo", "Hold", "Meta", "Big", NULL};
static const char *const health_methods[] = {"Check", NULL};

static void on_abandon(void *data, struct vc_ttrpc_call *call)
{
    struct srvt *t = data;

    assert_true(vc_ttrpc_call_abandoned(call));
    t->abandoned++;
}

static void h_meta(struct srvt *t, struct vc_ttrpc_call *call)
{
    const struct vc_ttrpc_md *md;
    size_t n = vc_ttrpc_call_metadata(call, &md);

    t->timeout = vc_ttrpc_call_timeout_ns(call);
    t->md[0] = 0;
    for (size_t i = 0; i < n; i++)
        (void) snprintf(t->md + strlen(t->md), sizeof(t->md) - strlen(t->md), "%s=%s;", md[i].key,
                        md[i].value);
    t->reply_r = vc_ttrpc_reply(call, NULL);
}

static void h_big(struct srvt *t, struct vc_ttrpc_call *call)
{
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *s = malloc(t->big + 1);

    assert_non_null(s);
    memset(s, 'x', t->big);
    s[t->big] = 0;
    sl.n_list = 1;
    sl.list = &s;
    t->reply_r = vc_ttrpc_reply(call, &sl.base);
    t->n_big++;
    free(s);
}

static void h_strings(void *data, struct vc_ttrpc_call *call, const char *method,
                      const uint8_t *payload, size_t len)
{
    struct srvt *t = data;
    ProtobufCMessage *m;

    assert_string_equal(vc_ttrpc_call_service(call), "test.Strings");
    assert_int_equal(vc_ttrpc_call_id(call) % 2, 1);
    if (vc_ttrpc_call_decode(call, &ttrpc__string_list__descriptor, payload, len, &m) < 0)
        return;
    if (strcmp(method, "Echo") == 0) {
        t->reply_r = vc_ttrpc_reply(call, m);
    } else if (strcmp(method, "Hold") == 0) {
        assert_true(t->n_held < HOLD_MAX);
        vc_ttrpc_call_on_abandon(call, on_abandon, t);
        t->held[t->n_held++] = call;
    } else if (strcmp(method, "Meta") == 0) {
        h_meta(t, call);
    } else {
        h_big(t, call);
    }
    vc_ttrpc_msg_free(t->ctx, m);
    if (t->free_srv)
        vc_ttrpc_server_free(t->free_srv);
}

static void h_health(void *data, struct vc_ttrpc_call *call, const char *method,
                     const uint8_t *payload, size_t len)
{
    struct srvt *t = data;
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    ProtobufCMessage *m;

    assert_string_equal(method, "Check");
    if (vc_ttrpc_call_decode(call, &grpc__check_request__descriptor, payload, len, &m) < 0)
        return;
    vc_ttrpc_msg_free(t->ctx, m);
    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    t->reply_r = vc_ttrpc_reply(call, &resp.base);
}

static struct vc_ttrpc_server *server_new(struct vc_ctx *ctx, struct srvt *t)
{
    struct vc_ttrpc_server *srv;

    t->ctx = ctx;
    assert_int_equal(vc_ttrpc_server_new(ctx, &srv), 0);
    assert_int_equal(vc_ttrpc_server_register(srv, "test.Strings", strings_methods, h_strings, t),
                     0);
    assert_int_equal(vc_ttrpc_server_register(srv, "grpc.Health", health_methods, h_health, t), 0);
    assert_int_equal(vc_ttrpc_server_register(srv, "grpc.Health", health_methods, h_health, t),
                     -EEXIST);
    return srv;
}

/* A client connected to srv over a socketpair. */
static struct vc_ttrpc_client *client_to(struct vc_ctx *ctx, struct vc_ttrpc_server *srv)
{
    struct vc_stream *a, *b;
    struct vc_ttrpc_client *c;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(vc_fd_stream_new(ctx, sv[0], "unix", &a), 0);
    assert_int_equal(vc_fd_stream_new(ctx, sv[1], "unix", &b), 0);
    assert_int_equal(vc_ttrpc_server_serve(srv, a), 0);
    assert_int_equal(vc_ttrpc_client_new(ctx, b, &c), 0);
    return c;
}

/* Recorder: keeps the first frames' headers. */
struct rec {
    int n;            /* frames seen */
    int dir[16];      /* their direction */
    uint32_t id[16];  /* stream ids */
    uint8_t type[16]; /* types */
    size_t len[16];   /* data lengths */
};

static void on_frame(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id, uint8_t type,
                     uint8_t flags, const uint8_t *buf, size_t len)
{
    struct rec *r = data;

    assert_int_equal(flags, 0);
    assert_true(len == 0 || buf);
    if (r->n < 16) {
        r->dir[r->n] = dir;
        r->id[r->n] = stream_id;
        r->type[r->n] = type;
        r->len[r->n] = len;
    }
    r->n++;
}

/* Trace sink: keeps the ttrpc records as "name detail" lines. */
struct traces {
    int n;            /* ttrpc records */
    char line[8][96]; /* the first ones */
};

static void on_trace(void *data, uint64_t ts_ns, const char *category, const char *name,
                     const char *detail)
{
    struct traces *t = data;

    if (strcmp(category, "ttrpc") != 0)
        return;
    if (t->n < 8)
        (void) snprintf(t->line[t->n], sizeof(t->line[0]), "%s %s", name, detail);
    t->n++;
}

/* --- client and server together --------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[2] = {"a", "b"};
    struct vc_ttrpc_md md[2] = {{"k1", "v1"}, {"k1", "v2"}};
    struct rec crec = {0}, srec = {0};
    struct traces tr = {0};
    struct vc_ttrpc_stats st;
    ProtobufCMessage *resp = NULL;
    struct res o = {0};

    vc_ttrpc_client_set_recorder(c, on_frame, &crec);
    vc_ttrpc_server_set_recorder(srv, on_frame, &srec);
    assert_int_equal(vc_ttrpc_server_connections(srv), 1);
    vc_ctx_set_trace(ctx, on_trace, &tr);
    assert_int_equal(vc_ttrpc_call(c, "grpc.Health", "Check", &req.base,
                                   &grpc__health_check_response__descriptor, MS(5000), &resp),
                     0);
    vc_ctx_set_trace(ctx, NULL, NULL);
    /* One record per call start and end on each side. */
    assert_int_equal(tr.n, 4);
    assert_string_equal(tr.line[0], "call id=1 grpc.Health/Check");
    assert_string_equal(tr.line[1], "serve conn=1 id=1 grpc.Health/Check");
    assert_string_equal(tr.line[2], "reply conn=1 id=1 grpc.Health/Check code=OK");
    assert_string_equal(tr.line[3], "done id=1 grpc.Health/Check r=0 code=OK");
    assert_int_equal(((Grpc__HealthCheckResponse *) resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    vc_ttrpc_msg_free(ctx, resp);
    assert_int_equal(crec.n, 2);
    assert_int_equal(crec.dir[0], VC_TTRPC_DIR_OUT);
    assert_int_equal(crec.id[0], 1);
    assert_int_equal(crec.type[0], VC_TTRPC_TYPE_REQUEST);
    assert_int_equal(crec.dir[1], VC_TTRPC_DIR_IN);
    assert_int_equal(crec.type[1], VC_TTRPC_TYPE_RESPONSE);
    assert_int_equal(crec.len[1], 6); /* 0a 00 12 02 08 01: OK status, SERVING */
    assert_int_equal(srec.n, 2);
    assert_int_equal(srec.dir[0], VC_TTRPC_DIR_IN);
    assert_int_equal(srec.id[1], 1);

    sl.n_list = 2;
    sl.list = list;
    resp = NULL;
    assert_int_equal(vc_ttrpc_call(c, "test.Strings", "Echo", &sl.base,
                                   &ttrpc__string_list__descriptor, 0, &resp),
                     0);
    assert_int_equal(((Ttrpc__StringList *) resp)->n_list, 2);
    assert_string_equal(((Ttrpc__StringList *) resp)->list[1], "b");
    vc_ttrpc_msg_free(ctx, resp);
    assert_int_equal(crec.id[2], 3);

    /* Deadline and metadata reach the handler. */
    assert_int_equal(vc_ttrpc_call_start(c, "test.Strings", "Meta", NULL, NULL,
                                         vc_now(ctx) + MS(10000), md, 2, on_done, &o, NULL),
                     0);
    assert_int_equal(o.n, 0); /* never from inside call_start */
    assert_int_equal(vc_ttrpc_client_pending(c), 1);
    while (o.n == 0)
        loop_once(ctx);
    assert_int_equal(o.r, 0);
    assert_true(t.timeout > 0 && t.timeout <= (int64_t) MS(10000));
    assert_string_equal(t.md, "k1=v1;k1=v2;");

    /* Errors from the server and from the handler's decoding. */
    assert_int_equal(vc_ttrpc_call(c, "test.Strings", "Nope", NULL, NULL, MS(5000), NULL),
                     -EOPNOTSUPP);
    assert_string_equal(vc_ctx_errmsg(ctx), "Nope: method Nope (UNIMPLEMENTED)");
    assert_int_equal(vc_ttrpc_call(c, "nope.Svc", "X", NULL, NULL, MS(5000), NULL), -EOPNOTSUPP);
    assert_string_equal(vc_ctx_errmsg(ctx), "X: service nope.Svc (UNIMPLEMENTED)");
    {
        Google__Rpc__Status bad = GOOGLE__RPC__STATUS__INIT; /* 08 05: not a StringList */

        bad.code = 5;
        assert_int_equal(vc_ttrpc_call(c, "test.Strings", "Echo", &bad.base,
                                       &ttrpc__string_list__descriptor, MS(5000), NULL),
                         -EIO);
        assert_string_equal(vc_ctx_errmsg(ctx), "Echo: ttrpc: error unmarshalling payload: proto: "
                                                "cannot parse invalid wire-format data (INTERNAL)");
    }
    vc_ttrpc_client_stats(c, &st);
    assert_int_equal(st.calls, 6);
    assert_int_equal(st.frames_out, 6);
    assert_int_equal(st.frames_in, 6);
    assert_int_equal(st.ignored, 0);
    assert_int_equal(vc_ttrpc_client_pending(c), 0);
    assert_int_equal(vc_ttrpc_server_pending(srv), 0);
    vc_ttrpc_server_stats(srv, &st);
    assert_int_equal(st.calls, 4); /* unknown service and method never reach a handler */
    assert_int_equal(st.rejected, 2);
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

static void test_out_of_order(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    static const int order[4] = {2, 0, 3, 1};
    struct res o[4] = {0};
    char name[4][16];

    for (int i = 0; i < 4; i++) {
        (void) snprintf(name[i], sizeof(name[i]), "call-%d", i);
        assert_int_equal(start(c, "Hold", name[i], 0, &o[i]), 2 * i + 1);
    }
    assert_int_equal(vc_ttrpc_client_pending(c), 4);
    while (t.n_held < 4)
        loop_once(ctx);
    assert_int_equal(vc_ttrpc_server_pending(srv), 4);
    for (int k = 0; k < 4; k++) {
        int i = order[k];
        Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
        char *list[1] = {name[i]};

        sl.n_list = 1;
        sl.list = list;
        /* held[] is in arrival order, which is call order */
        assert_int_equal(vc_ttrpc_reply(t.held[i], &sl.base), 0);
        while (o[i].n == 0)
            loop_once(ctx);
        for (int j = 0; j < 4; j++) {
            int answered = 0;

            for (int m = 0; m <= k; m++)
                answered |= order[m] == j;
            assert_int_equal(o[j].n, answered);
        }
        assert_int_equal(o[i].r, 0);
        assert_string_equal(o[i].str, name[i]);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i].n, 1);
    assert_int_equal(vc_ttrpc_server_pending(srv), 0);
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

static void test_deadline(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    struct vc_ttrpc_stats st;
    struct res o = {0};
    bool done = false;

    start(c, "Hold", "slow", vc_now(ctx) + MS(50), &o);
    while (o.n == 0)
        loop_once(ctx);
    assert_int_equal(o.r, -ETIMEDOUT);
    assert_int_equal(o.code, VC_STATUS_DEADLINE_EXCEEDED);
    assert_string_equal(o.msg, "ttrpc: deadline exceeded");
    assert_int_equal(vc_ttrpc_client_pending(c), 0);
    /* The server still holds the call; its late answer is dropped by the client. */
    assert_int_equal(t.n_held, 1);
    assert_true(t.held[0] && vc_ttrpc_call_timeout_ns(t.held[0]) > 0);
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    (void) vc_ctx_run_until(ctx, &done, vc_now(ctx) + MS(30));
    vc_ttrpc_client_stats(c, &st);
    assert_int_equal(st.ignored, 1);
    assert_int_equal(o.n, 1);
    /* A blocking call times out the same way. */
    assert_int_equal(vc_ttrpc_call(c, "test.Strings", "Hold", NULL, NULL, MS(50), NULL),
                     -ETIMEDOUT);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "Hold: ttrpc: deadline exceeded"));
    assert_true(vc_ttrpc_client_alive(c));
    assert_int_equal(vc_ttrpc_server_pending(srv), 1);
    /* Freeing everything with a call held: no leak (ASan). */
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

/* --- the server's rules, seen by a raw client ------------------------------------------------- */

/* A raw request for test.Strings/<method> with a StringList of str. */
static void raw_request(struct vc_ctx *ctx, int fd, uint32_t id, const char *service,
                        const char *method, const char *str)
{
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[1] = {(char *) str};
    uint8_t buf[256];

    req.service = (char *) service;
    req.method = (char *) method;
    if (str) {
        sl.n_list = 1;
        sl.list = list;
        req.payload.len = ttrpc__string_list__pack(&sl, buf);
        req.payload.data = buf;
    }
    raw_msg(ctx, fd, id, VC_TTRPC_TYPE_REQUEST, 0, &req.base);
}

static void raw_expect_echo(struct vc_ctx *ctx, int fd, uint32_t id, const char *str)
{
    struct rframe f = raw_read_frame(ctx, fd);
    Ttrpc__Response *resp;
    Ttrpc__StringList *sl;

    assert_int_equal(f.id, id);
    assert_int_equal(f.type, VC_TTRPC_TYPE_RESPONSE);
    /* Like Go ttrpc, an OK status is sent: 0a 00 first. */
    assert_true(f.len >= 2 && f.data[0] == 0x0a && f.data[1] == 0x00);
    resp = ttrpc__response__unpack(NULL, f.len, f.data);
    assert_non_null(resp);
    assert_int_equal(resp->status->code, 0);
    sl = ttrpc__string_list__unpack(NULL, resp->payload.len, resp->payload.data);
    assert_non_null(sl);
    assert_int_equal(sl->n_list, 1);
    assert_string_equal(sl->list[0], str);
    ttrpc__string_list__free_unpacked(sl, NULL);
    ttrpc__response__free_unpacked(resp, NULL);
    free(f.data);
}

/* A peer that may be replaced unseen (VC_STREAM_PEER_REPLACEABLE, a virtio-serial port in a
 * guest): a request on stream 1 starts a new client; on any other stream it is a reused id. */
static void test_server_replaceable_peer(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_stream *plain, *serial;
    int fd_plain, fd_serial;

    plain = stream_raw(ctx, &fd_plain);
    serial = stream_raw(ctx, &fd_serial);
    serial->flags |= VC_STREAM_PEER_REPLACEABLE;
    assert_int_equal(vc_ttrpc_server_serve(srv, plain), 0);
    assert_int_equal(vc_ttrpc_server_serve(srv, serial), 0);
    for (unsigned round = 0; round < 2; round++) {
        raw_request(ctx, fd_serial, 1, "test.Strings", "Echo", "one");
        raw_expect_echo(ctx, fd_serial, 1, "one");
        raw_request(ctx, fd_serial, 3, "test.Strings", "Echo", "three");
        raw_expect_echo(ctx, fd_serial, 3, "three");
    }
    raw_request(ctx, fd_serial, 3, "test.Strings", "Echo", "x");
    raw_expect_status(ctx, fd_serial, 3, VC_STATUS_INVALID_ARGUMENT, "StreamID cannot be re-used");
    raw_request(ctx, fd_plain, 1, "test.Strings", "Echo", "one");
    raw_expect_echo(ctx, fd_plain, 1, "one");
    raw_request(ctx, fd_plain, 1, "test.Strings", "Echo", "again");
    raw_expect_status(ctx, fd_plain, 1, VC_STATUS_INVALID_ARGUMENT, "StreamID cannot be re-used");
    close(fd_plain);
    close(fd_serial);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

static void test_server_rules(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_stats st;
    int fd;
    uint8_t *junk;

    assert_int_equal(vc_ttrpc_server_serve(srv, stream_raw(ctx, &fd)), 0);
    raw_request(ctx, fd, 2, "test.Strings", "Echo", "x");
    raw_expect_status(ctx, fd, 2, VC_STATUS_INVALID_ARGUMENT,
                      "StreamID must be odd for client initiated streams");
    raw_frame(ctx, fd, 0, 0x7f, 0, NULL, 0); /* even id beats unknown type, as in Go */
    raw_expect_status(ctx, fd, 0, VC_STATUS_INVALID_ARGUMENT, "StreamID must be odd");
    raw_frame(ctx, fd, 11, VC_TTRPC_TYPE_DATA, 0, "zz", 2);
    raw_expect_status(ctx, fd, 11, VC_STATUS_INVALID_ARGUMENT, "StreamID is no longer active");
    raw_request(ctx, fd, 5, "test.Strings", "Echo", "five");
    raw_expect_echo(ctx, fd, 5, "five");
    raw_request(ctx, fd, 3, "test.Strings", "Echo", "x");
    raw_expect_status(ctx, fd, 3, VC_STATUS_INVALID_ARGUMENT,
                      "StreamID cannot be re-used and must increment");
    raw_request(ctx, fd, 5, "test.Strings", "Echo", "x");
    raw_expect_status(ctx, fd, 5, VC_STATUS_INVALID_ARGUMENT, "StreamID cannot be re-used");
    raw_request(ctx, fd, 7, "nope", "Echo", "x");
    raw_expect_status(ctx, fd, 7, VC_STATUS_UNIMPLEMENTED, "service nope");
    raw_request(ctx, fd, 9, "test.Strings", "Nope", "x");
    raw_expect_status(ctx, fd, 9, VC_STATUS_UNIMPLEMENTED, "method Nope");
    raw_frame(ctx, fd, 11, VC_TTRPC_TYPE_REQUEST, 0, "\xff\xff\xff\xff", 4);
    raw_expect_status(ctx, fd, 11, VC_STATUS_INVALID_ARGUMENT, "unmarshal request error: ");
    {
        Ttrpc__Request req = TTRPC__REQUEST__INIT;

        req.service = "test.Strings";
        req.method = "Echo";
        req.payload.data = (uint8_t *) "\x08\x05"; /* field 1 as a varint: not a StringList */
        req.payload.len = 2;
        raw_msg(ctx, fd, 13, VC_TTRPC_TYPE_REQUEST, 0, &req.base);
        raw_expect_status(ctx, fd, 13, VC_STATUS_INTERNAL,
                          "ttrpc: error unmarshalling payload: proto: cannot parse invalid "
                          "wire-format data");
    }
    /* Unknown types are ignored: the next frame answered is the next request's. */
    raw_frame(ctx, fd, 15, 0x7f, 0, "abc", 3);
    raw_request(ctx, fd, 17, "test.Strings", "Echo", "seventeen");
    raw_expect_echo(ctx, fd, 17, "seventeen");
    /* Oversized: answered at once, the data skipped as it comes, the connection kept. */
    junk = calloc(1, VC_TTRPC_MESSAGE_MAX + 1);
    assert_non_null(junk);
    raw_frame(ctx, fd, 19, VC_TTRPC_TYPE_REQUEST, 0, junk, VC_TTRPC_MESSAGE_MAX + 1);
    free(junk);
    raw_expect_status(ctx, fd, 19, VC_STATUS_RESOURCE_EXHAUSTED,
                      "message length 4194305 exceed maximum message size of 4194304");
    raw_request(ctx, fd, 21, "test.Strings", "Echo", "alive");
    raw_expect_echo(ctx, fd, 21, "alive");
    /* Data on a call in flight is ignored; the call still answers. */
    raw_request(ctx, fd, 23, "test.Strings", "Hold", "held");
    while (t.n_held < 1)
        loop_once(ctx);
    raw_frame(ctx, fd, 23, VC_TTRPC_TYPE_DATA, 0, "zz", 2);
    raw_expect_nothing(ctx, fd);
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    raw_expect_status(ctx, fd, 23, VC_STATUS_OK, "");
    /* Metadata beyond the limit. */
    {
        Ttrpc__Request req = TTRPC__REQUEST__INIT;
        Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *kvp = &kv;
        char *v = malloc(VC_TTRPC_METADATA_MAX + 1);

        assert_non_null(v);
        memset(v, 'v', VC_TTRPC_METADATA_MAX);
        v[VC_TTRPC_METADATA_MAX] = 0;
        kv.key = "k";
        kv.value = v;
        req.service = "test.Strings";
        req.method = "Echo";
        req.n_metadata = 1;
        req.metadata = &kvp;
        raw_msg(ctx, fd, 25, VC_TTRPC_TYPE_REQUEST, 0, &req.base);
        free(v);
        raw_expect_status(ctx, fd, 25, VC_STATUS_RESOURCE_EXHAUSTED, "ttrpc: request metadata");
    }
    vc_ttrpc_server_stats(srv, &st);
    assert_int_equal(st.oversized, 1);
    assert_int_equal(st.rejected, 10);
    assert_int_equal(st.ignored, 2);
    assert_int_equal(vc_ttrpc_server_connections(srv), 1);
    /* A header cut short, then the end: the connection goes. */
    raw_write(ctx, fd, "\0\0\0", 3);
    close(fd);
    while (vc_ttrpc_server_connections(srv))
        loop_once(ctx);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

static void test_server_limits(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt *t = calloc(1, sizeof(*t));
    struct vc_ttrpc_server *srv;
    struct vc_ttrpc_client *c;
    struct rframe f;
    int fd;

    assert_non_null(t);
    srv = server_new(ctx, t);
    /* Calls in flight on one connection. */
    assert_int_equal(vc_ttrpc_server_serve(srv, stream_raw(ctx, &fd)), 0);
    for (uint32_t i = 0; i <= VC_TTRPC_SERVER_CALLS_MAX; i++)
        raw_request(ctx, fd, 2 * i + 1, "test.Strings", "Hold", "h");
    raw_expect_status(ctx, fd, 2 * VC_TTRPC_SERVER_CALLS_MAX + 1, VC_STATUS_RESOURCE_EXHAUSTED,
                      "ttrpc: 1024 calls in flight");
    assert_int_equal(t->n_held, VC_TTRPC_SERVER_CALLS_MAX);
    assert_int_equal(vc_ttrpc_server_pending(srv), VC_TTRPC_SERVER_CALLS_MAX);
    /* The connection goes: every call is abandoned, replying only frees them. */
    close(fd);
    while (vc_ttrpc_server_connections(srv))
        loop_once(ctx);
    assert_int_equal(t->abandoned, VC_TTRPC_SERVER_CALLS_MAX);
    assert_true(vc_ttrpc_call_abandoned(t->held[0]));
    for (size_t i = 0; i < t->n_held; i++)
        assert_int_equal(vc_ttrpc_reply(t->held[i], NULL), 0);
    t->n_held = 0;
    assert_int_equal(vc_ttrpc_server_pending(srv), 0);

    /* Output a peer does not read: past the limit a reply becomes RESOURCE_EXHAUSTED. */
    assert_int_equal(vc_ttrpc_server_serve(srv, stream_raw(ctx, &fd)), 0);
    t->big = 3u << 20;
    for (uint32_t id = 1; id <= 5; id += 2)
        raw_request(ctx, fd, id, "test.Strings", "Big", "b");
    while (t->n_big < 3)
        loop_once(ctx);
    assert_int_equal(t->reply_r, -ENOBUFS);
    for (uint32_t id = 1; id <= 3; id += 2) {
        f = raw_read_frame(ctx, fd);
        assert_int_equal(f.id, id);
        assert_true(f.len > (3u << 20));
        free(f.data);
    }
    raw_expect_status(ctx, fd, 5, VC_STATUS_RESOURCE_EXHAUSTED,
                      "ttrpc: connection output buffer full");
    close(fd);

    /* A reply over 4 MiB becomes RESOURCE_EXHAUSTED. */
    c = client_to(ctx, srv);
    t->big = VC_TTRPC_MESSAGE_MAX;
    assert_int_equal(vc_ttrpc_call(c, "test.Strings", "Big", NULL, NULL, MS(5000), NULL), -ENOSPC);
    assert_int_equal(t->reply_r, -EMSGSIZE);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "exceed maximum message size of 4194304"));
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
    free(t);
    test_ctx_free(state, ctx);
}

/* Several clients through a listener; the server freed with connections and a call open. */
static void test_server_listener(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c[3];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct vc_listener *l;
    struct res o[3] = {0};
    char dir[] = "/tmp/vc-ttrpc-l-XXXXXX";
    int lfd;

    assert_non_null(mkdtemp(dir));
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    assert_int_equal(vc_fd_listener_new(ctx, lfd, "unix", sa.sun_path, &l), 0);
    assert_int_equal(vc_ttrpc_server_listen(srv, l), 0);
    for (int i = 0; i < 3; i++) {
        struct vc_stream *s;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(vc_fd_stream_new(ctx, fd, "unix", &s), 0);
        assert_int_equal(vc_ttrpc_client_new(ctx, s, &c[i]), 0);
        start(c[i], "Hold", "h", 0, &o[i]);
    }
    while (t.n_held < 3)
        loop_once(ctx);
    assert_int_equal(vc_ttrpc_server_connections(srv), 3);
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    assert_int_equal(vc_ttrpc_reply_error(t.held[1], VC_STATUS_NOT_FOUND, "gone"), 0);
    while (o[0].n + o[1].n + o[2].n < 2)
        loop_once(ctx);
    assert_int_equal(o[0].r + o[1].r + o[2].r, -ENOENT);
    for (int i = 0; i < 3; i++)
        if (o[i].n)
            vc_ttrpc_client_free(c[i]);
    while (vc_ttrpc_server_connections(srv) > 1)
        loop_once(ctx);
    /* Freeing the server abandons the last call and closes its connection. */
    vc_ttrpc_server_free(srv);
    assert_int_equal(t.abandoned, 1);
    for (int i = 0; i < 3; i++) {
        if (o[i].n)
            continue;
        while (o[i].n == 0)
            loop_once(ctx);
        assert_int_equal(o[i].r, -ECONNRESET);
        assert_false(vc_ttrpc_client_alive(c[i]));
        vc_ttrpc_client_free(c[i]);
    }
    assert_int_equal(access(sa.sun_path, F_OK), -1); /* the listener removed its socket */
    assert_int_equal(rmdir(dir), 0);
    test_ctx_free(state, ctx);
}

/* A handler frees the server: safe, the connection closes. */
static void test_server_free_in_handler(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    struct res o[2] = {0};

    start(c, "Hold", "a", 0, &o[0]);
    while (t.n_held < 1)
        loop_once(ctx);
    t.free_srv = srv;
    start(c, "Echo", "b", 0, &o[1]);
    while (o[0].n + o[1].n < 2)
        loop_once(ctx);
    /* The echo was answered before the server went; the held call was abandoned. */
    assert_int_equal(o[1].r, 0);
    assert_string_equal(o[1].str, "b");
    assert_int_equal(o[0].r, -ECONNRESET);
    assert_int_equal(t.abandoned, 1);
    vc_ttrpc_client_free(c);
    test_ctx_free(state, ctx);
}

/* --- the client's failure modes, caused by a raw server --------------------------------------- */

static void test_client_requests(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct vc_ttrpc_md md[2] = {{"trace", "abc"}, {"trace", "def"}};
    struct res o[4] = {0};
    Ttrpc__Request *req;
    uint64_t t0 = vc_now(ctx);
    uint32_t id;
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            vc_ttrpc_call_start(c, "grpc.AgentService", "Do", NULL, &ttrpc__string_list__descriptor,
                                i == 1 ? t0 + MS(30000) : 0, md, (size_t) i, on_done, &o[i], &id),
            0);
    assert_int_equal(id, 5);
    for (uint32_t want = 1; want <= 5; want += 2) {
        req = raw_read_request(ctx, fd, &id);
        assert_int_equal(id, want);
        assert_string_equal(req->service, "grpc.AgentService");
        assert_string_equal(req->method, "Do");
        assert_int_equal(req->payload.len, 0);
        assert_int_equal(req->n_metadata, (want - 1) / 2);
        if (want == 3) {
            assert_true(req->timeout_nano > 0 && req->timeout_nano <= (int64_t) MS(30000));
            assert_string_equal(req->metadata[0]->key, "trace");
            assert_string_equal(req->metadata[0]->value, "abc");
        } else {
            assert_int_equal(req->timeout_nano, 0);
        }
        if (want == 5)
            assert_string_equal(req->metadata[1]->value, "def");
        ttrpc__request__free_unpacked(req, NULL);
    }
    /* A deadline already passed: nothing is sent, the call times out from the loop. */
    assert_int_equal(
        vc_ttrpc_call_start(c, "s", "m", NULL, NULL, vc_now(ctx) - 1, NULL, 0, on_done, &o[3], &id),
        0);
    assert_int_equal(id, 7);
    assert_int_equal(o[3].n, 0);
    raw_expect_nothing(ctx, fd);
    assert_int_equal(o[3].r, -ETIMEDOUT);
    /* Answers out of order: a status, then OK with flags set (ignored), then no status. */
    raw_respond(ctx, fd, 3, 0, VC_STATUS_NOT_FOUND, "not here", NULL);
    raw_respond(ctx, fd, 1, 0x80, 0, "fine", "one");
    raw_respond(ctx, fd, 5, 0, -1, NULL, "five");
    while (o[0].n + o[1].n + o[2].n < 3)
        loop_once(ctx);
    assert_int_equal(o[1].r, -ENOENT);
    assert_int_equal(o[1].code, VC_STATUS_NOT_FOUND);
    assert_string_equal(o[1].msg, "not here");
    assert_int_equal(o[0].r, 0);
    assert_string_equal(o[0].str, "one");
    assert_int_equal(o[2].r, 0);
    assert_string_equal(o[2].str, "five");
    assert_true(vc_ttrpc_client_alive(c));
    vc_ttrpc_client_free(c);
    close(fd);
    test_ctx_free(state, ctx);
}

/* Starts one call and returns its id after the raw server has read the request. */
static uint32_t call_and_read(struct vc_ctx *ctx, struct vc_ttrpc_client *c, int fd, struct res *o)
{
    uint32_t id = start(c, "Echo", "q", 0, o), got;
    Ttrpc__Request *req = raw_read_request(ctx, fd, &got);

    assert_int_equal(got, id);
    ttrpc__request__free_unpacked(req, NULL);
    return id;
}

static void test_client_hostile(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct vc_ttrpc_stats st;
    struct res o[10] = {0};
    uint8_t *junk;
    uint32_t id;
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    /* Unknown type, unknown ids (odd and even): ignored, the call still answers. */
    id = call_and_read(ctx, c, fd, &o[0]);
    raw_frame(ctx, fd, id, 0x55, 0, "x", 1);
    raw_respond(ctx, fd, 99, 0, 0, NULL, "stray");
    raw_respond(ctx, fd, 2, 0, 0, NULL, "even");
    raw_expect_nothing(ctx, fd);
    assert_int_equal(o[0].n, 0);
    raw_respond(ctx, fd, id, 0, 0, NULL, "ok");
    while (o[0].n == 0)
        loop_once(ctx);
    assert_int_equal(o[0].r, 0);
    assert_string_equal(o[0].str, "ok");
    /* The same id again: dropped. */
    raw_respond(ctx, fd, id, 0, 0, NULL, "again");
    raw_expect_nothing(ctx, fd);
    assert_int_equal(o[0].n, 1);
    vc_ttrpc_client_stats(c, &st);
    assert_int_equal(st.ignored, 4);
    /* A garbage envelope fails that call only. */
    id = call_and_read(ctx, c, fd, &o[1]);
    raw_frame(ctx, fd, id, VC_TTRPC_TYPE_RESPONSE, 0, "\xff\xff\xff", 3);
    while (o[1].n == 0)
        loop_once(ctx);
    assert_int_equal(o[1].r, -EPROTO);
    assert_string_equal(o[1].msg, "ttrpc: malformed response envelope");
    /* A payload that does not decode as the response type. */
    id = call_and_read(ctx, c, fd, &o[2]);
    {
        Ttrpc__Response resp = TTRPC__RESPONSE__INIT;

        resp.payload.data = (uint8_t *) "\x08\x05";
        resp.payload.len = 2;
        raw_msg(ctx, fd, id, VC_TTRPC_TYPE_RESPONSE, 0, &resp.base);
    }
    while (o[2].n == 0)
        loop_once(ctx);
    assert_int_equal(o[2].r, -EPROTO);
    assert_string_equal(o[2].msg, "ttrpc: cannot decode ttrpc.StringList response payload");
    /* Data on a unary call. */
    id = call_and_read(ctx, c, fd, &o[3]);
    raw_frame(ctx, fd, id, VC_TTRPC_TYPE_DATA, 0, "d", 1);
    while (o[3].n == 0)
        loop_once(ctx);
    assert_int_equal(o[3].r, -EPROTO);
    /* Oversized (first byte not zero): the call fails at once, 16 MiB are skipped as they
     * arrive, the connection stays usable. */
    id = call_and_read(ctx, c, fd, &o[4]);
    junk = calloc(1, (16u << 20) + 1);
    assert_non_null(junk);
    raw_frame(ctx, fd, id, VC_TTRPC_TYPE_RESPONSE, 0, junk, (16u << 20) + 1);
    free(junk);
    while (o[4].n == 0)
        loop_once(ctx);
    assert_int_equal(o[4].r, -EMSGSIZE);
    assert_int_equal(o[4].code, VC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(o[4].msg, "message length 16777217 exceed maximum message size of 4194304");
    id = call_and_read(ctx, c, fd, &o[5]);
    raw_respond(ctx, fd, id, 0, 0, NULL, "after");
    while (o[5].n == 0)
        loop_once(ctx);
    assert_int_equal(o[5].r, 0);
    assert_string_equal(o[5].str, "after");
    /* Slow drip: one byte per loop round. */
    id = call_and_read(ctx, c, fd, &o[6]);
    {
        uint8_t frame[64] = {0, 0, 0, 0, id >> 24, id >> 16, id >> 8, id, 2, 0};
        uint8_t body[] = {0x12, 0x06, 0x0a, 0x04, 'd', 'r', 'i', 'p'};

        frame[3] = sizeof(body);
        memcpy(frame + 10, body, sizeof(body));
        for (size_t i = 0; i < 10 + sizeof(body); i++) {
            assert_int_equal(o[6].n, 0);
            raw_write(ctx, fd, frame + i, 1);
            loop_once(ctx);
        }
        while (o[6].n == 0)
            loop_once(ctx);
        assert_int_equal(o[6].r, 0);
        assert_string_equal(o[6].str, "drip");
    }
    vc_ttrpc_client_stats(c, &st);
    assert_int_equal(st.oversized, 1);
    assert_int_equal(st.calls, 7);
    assert_true(vc_ttrpc_client_alive(c));
    vc_ttrpc_client_free(c);
    close(fd);
    test_ctx_free(state, ctx);
}

/* A header cut short, then the end of the stream: every call fails "ttrpc: closed". */
static void test_client_truncated_eof(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct res o[2] = {0};
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    call_and_read(ctx, c, fd, &o[0]);
    call_and_read(ctx, c, fd, &o[1]);
    raw_write(ctx, fd, "\0\0\0\x04\0", 5);
    close(fd);
    while (o[0].n + o[1].n < 2)
        loop_once(ctx);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(o[i].r, -ECONNRESET);
        assert_int_equal(o[i].code, VC_STATUS_UNAVAILABLE);
        assert_string_equal(o[i].msg, "ttrpc: closed");
    }
    assert_false(vc_ttrpc_client_alive(c));
    assert_int_equal(vc_ttrpc_call_start(c, "s", "m", NULL, NULL, 0, NULL, 0, on_done, &o[0], NULL),
                     -ECONNRESET);
    assert_int_equal(o[0].n, 1);
    vc_ttrpc_client_free(c);
    test_ctx_free(state, ctx);
}

/* The peer resets mid-frame (it closes with our request unread: the kernel reports
 * ECONNRESET). */
static void test_client_reset_mid_frame(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct res o = {0};
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    start(c, "Echo", "q", 0, &o);
    raw_write(ctx, fd, "\0\0\0\x10\0\0\0\x01\x02\0\x12\x02", 12);
    close(fd);
    while (o.n == 0)
        loop_once(ctx);
    assert_int_equal(o.r, -ECONNRESET);
    assert_false(vc_ttrpc_client_alive(c));
    vc_ttrpc_client_free(c);
    test_ctx_free(state, ctx);
}

/* The peer is gone when a call is written: the call fails from the loop, not inside start. */
static void test_client_write_error(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct res o = {0};
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    close(fd);
    start(c, "Echo", "q", 0, &o);
    assert_int_equal(o.n, 0);
    assert_false(vc_ttrpc_client_alive(c));
    while (o.n == 0)
        loop_once(ctx);
    assert_int_equal(o.r, -ECONNRESET);
    vc_ttrpc_client_free(c);
    test_ctx_free(state, ctx);
}

/* --- callbacks that re-enter ---------------------------------------------------------------- */

static void test_client_callbacks(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    struct res o[5] = {0}, p[3] = {0};
    uint32_t id;

    /* Cancel: the callback runs before cancel returns; the late answer is dropped. */
    id = start(c, "Hold", "h", 0, &o[0]);
    while (t.n_held < 1)
        loop_once(ctx);
    vc_ttrpc_call_cancel(c, id);
    assert_int_equal(o[0].n, 1);
    assert_int_equal(o[0].r, -ECANCELED);
    vc_ttrpc_call_cancel(c, id); /* unknown now: ignored */
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    t.n_held = 0;

    /* A callback starts the next call. */
    o[1].chain = c;
    o[1].chain_res = &o[2];
    start(c, "Echo", "first", 0, &o[1]);
    while (o[2].n == 0)
        loop_once(ctx);
    assert_int_equal(o[1].r, 0);
    assert_int_equal(o[2].r, 0);

    /* A callback runs a blocking call while another answer sits in the same read: the nested
     * loop must handle the buffered frame first, then its own. */
    o[3].ctx = ctx;
    o[3].nest = c;
    start(c, "Hold", "a", 0, &o[3]);
    start(c, "Hold", "b", 0, &o[4]);
    while (t.n_held < 2)
        loop_once(ctx);
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    assert_int_equal(vc_ttrpc_reply(t.held[1], NULL), 0);
    t.n_held = 0;
    while (o[3].n + o[4].n < 2)
        loop_once(ctx);
    assert_int_equal(o[3].nest_r, 0);
    assert_int_equal(o[4].r, 0);

    /* A callback frees the client: the other calls are cancelled, nothing dangles. */
    p[0].free_it = c;
    start(c, "Hold", "x", 0, &p[0]);
    start(c, "Hold", "y", 0, &p[1]);
    start(c, "Hold", "z", 0, &p[2]);
    while (t.n_held < 3)
        loop_once(ctx);
    assert_int_equal(vc_ttrpc_reply(t.held[0], NULL), 0);
    while (p[0].n == 0)
        loop_once(ctx);
    assert_int_equal(p[0].r, 0);
    assert_int_equal(p[1].r, -ECANCELED);
    assert_int_equal(p[2].r, -ECANCELED);
    assert_int_equal(p[1].n + p[2].n, 2);
    while (vc_ttrpc_server_connections(srv))
        loop_once(ctx);
    assert_int_equal(t.abandoned, 2);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

/* Freeing a client with calls in flight cancels them; past the limit of calls, none starts. */
static void test_client_free_pending(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct vc_ttrpc_client *c;
    struct res o[2] = {0};
    int fd;

    assert_int_equal(vc_ttrpc_client_new(ctx, stream_raw(ctx, &fd), &c), 0);
    start(c, "Echo", "a", 0, &o[0]);
    start(c, "Echo", "b", vc_now(ctx) + MS(10000), &o[1]);
    /* The limit of calls in flight (the peer reads nothing: requests queue up too). */
    for (unsigned i = 2; i < VC_TTRPC_CLIENT_CALLS_MAX; i++)
        start(c, "Echo", "c", 0, &o[0]);
    assert_int_equal(vc_ttrpc_call_start(c, "test.Strings", "Echo", NULL, NULL, 0, NULL, 0, on_done,
                                         &o[0], NULL),
                     -ENOBUFS);
    assert_int_equal(vc_ttrpc_client_pending(c), VC_TTRPC_CLIENT_CALLS_MAX);
    vc_ttrpc_client_free(c);
    assert_int_equal(o[0].n, VC_TTRPC_CLIENT_CALLS_MAX - 1);
    assert_int_equal(o[0].r, -ECANCELED);
    assert_int_equal(o[1].r, -ECANCELED);
    assert_string_equal(o[1].msg, "ttrpc: client closed");
    vc_ttrpc_client_free(NULL);
    vc_ttrpc_server_free(NULL);
    close(fd);
    test_ctx_free(state, ctx);
}

/* --- fault points and allocation failures ----------------------------------------------------- */

struct fault {
    const char *point; /* which point fails */
    int err;           /* with what */
    unsigned nth;      /* alloc sweep: fail this hit (1-based; 0: never) */
    unsigned hits;     /* alloc hits counted */
};

static int fault_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    struct fault *f = data;

    if (strcmp(point, "alloc") == 0)
        return f->nth && ++f->hits == f->nth ? -ENOMEM : 0;
    return f->point && strcmp(point, f->point) == 0 ? f->err : 0;
}

static void test_fault_points(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    struct srvt t = {0};
    struct vc_ttrpc_server *srv = server_new(ctx, &t);
    struct vc_ttrpc_client *c = client_to(ctx, srv);
    struct fault f = {"ttrpc.send", -EIO, 0, 0};
    struct res o = {0};

    vc_ctx_set_fault(ctx, fault_hook, &f);
    assert_int_equal(
        vc_ttrpc_call_start(c, "test.Strings", "Echo", NULL, NULL, 0, NULL, 0, on_done, &o, NULL),
        -EIO);
    f.point = "ttrpc.recv";
    f.err = -EPIPE;
    start(c, "Echo", "x", 0, &o);
    while (o.n == 0)
        loop_once(ctx);
    assert_int_equal(o.r, -EPIPE);
    f.point = NULL;
    start(c, "Echo", "y", 0, &o);
    while (o.n == 1)
        loop_once(ctx);
    assert_int_equal(o.r, 0);
    vc_ctx_set_fault(ctx, NULL, NULL);
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
    test_ctx_free(state, ctx);
}

/* One session under the allocation fault: set up, one call, tear down. */
static void sweep_once(struct vc_ctx *ctx, struct fault *f)
{
    struct srvt t = {.ctx = ctx};
    struct vc_ttrpc_server *srv = NULL;
    struct vc_ttrpc_client *c = NULL;
    struct vc_stream *a, *b;
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *list[1] = {"sweep"};
    ProtobufCMessage *resp = NULL;
    int sv[2];

    sl.n_list = 1;
    sl.list = list;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vc_ctx_set_fault(ctx, fault_hook, f);
    if (vc_fd_stream_new(ctx, sv[0], "unix", &a) < 0) {
        close(sv[1]);
        goto out;
    }
    if (vc_fd_stream_new(ctx, sv[1], "unix", &b) < 0) {
        vc_stream_close(a);
        goto out;
    }
    if (vc_ttrpc_server_new(ctx, &srv) < 0 ||
        vc_ttrpc_server_register(srv, "test.Strings", strings_methods, h_strings, &t) < 0) {
        vc_stream_close(a);
        vc_stream_close(b);
        goto out;
    }
    if (vc_ttrpc_server_serve(srv, a) < 0) {
        vc_stream_close(b);
        goto out;
    }
    if (vc_ttrpc_client_new(ctx, b, &c) < 0)
        goto out;
    if (vc_ttrpc_call(c, "test.Strings", "Echo", &sl.base, &ttrpc__string_list__descriptor, MS(300),
                      &resp) == 0)
        assert_string_equal(((Ttrpc__StringList *) resp)->list[0], "sweep");
    vc_ttrpc_msg_free(ctx, resp);
out:
    vc_ctx_set_fault(ctx, NULL, NULL);
    vc_ttrpc_client_free(c);
    vc_ttrpc_server_free(srv);
}

/* Fails each allocation of a whole session in turn: every outcome is clean (ASan checks the
 * leaks and fds are closed), and the sweep ends when a session no longer reaches the hit. */
static void test_alloc_sweep(void **state)
{
    struct vc_ctx *ctx = test_ctx(state);
    unsigned nth;

    for (nth = 1; nth < 2000; nth++) {
        struct fault f = {NULL, 0, nth, 0};

        sweep_once(ctx, &f);
        if (f.hits < nth)
            break;
    }
    print_message("allocation sweep: %u sessions\n", nth);
    assert_true(nth > 10 && nth < 2000);
    test_ctx_free(state, ctx);
}

#define BOTH(t) cmocka_unit_test_prestate(t, &poll_mode), cmocka_unit_test_prestate(t, &edge_mode)

int main(void)
{
    struct mode poll_mode = {false, NULL}, edge_mode = {true, NULL};
    const struct CMUnitTest tests[] = {
        BOTH(test_round_trip),
        BOTH(test_out_of_order),
        BOTH(test_deadline),
        BOTH(test_server_rules),
        BOTH(test_server_replaceable_peer),
        BOTH(test_server_limits),
        BOTH(test_server_listener),
        BOTH(test_server_free_in_handler),
        BOTH(test_client_requests),
        BOTH(test_client_hostile),
        BOTH(test_client_truncated_eof),
        BOTH(test_client_reset_mid_frame),
        BOTH(test_client_write_error),
        BOTH(test_client_callbacks),
        BOTH(test_client_free_pending),
        BOTH(test_fault_points),
        BOTH(test_alloc_sweep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
