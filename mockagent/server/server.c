/* SPDX-License-Identifier: Apache-2.0 */
/* The wire front end: one ttrpc server per attached guest, serving grpc.AgentService and
 * grpc.Health from the guest model. A request is decoded, matched against the script's rules
 * with the request fields the in-process agent exposes, then answered from the model; a call the
 * model cannot answer yet is parked and retried whenever the guest may have changed (the
 * model's notification, or another call answered), from a timer on the guest context's loop. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include <mockagent/host.h>
#include <mockagent/server.h>

#include "cleanup.h"
#include "convert.h"
#include "magent_model.h"
#include "schema.h"

#define MS_FIELD_MAX   8        /* request fields exposed to rules */
#define MS_NUM_MAX     24       /* a number as text */
#define MS_S_IFMT      0170000u /* CopyFile's file_mode: the file type bits (st_mode's) */
#define MS_S_IFDIR     0040000u /* a directory */
#define MS_S_IFLNK     0120000u /* a symlink (data is its target) */
#define MS_AGENT_SVC   "grpc.AgentService"
#define MS_HEALTH_SVC  "grpc.Health"
#define MS_DEFAULT_BLK (UINT64_C(128) << 20) /* memory block size when the facts give none */
#define MS_AGENT_RPCS  42                    /* AgentService's RPCs */
#define MS_HEALTH_RPCS 2                     /* Health's RPCs */

struct ms_call;
struct magent_server;

/* A file whose CopyFile chunks are being put together. */
struct ms_copy {
    char *path;       /* guest path (owned) */
    uint8_t *data;    /* bytes so far (owned) */
    size_t len;       /* bytes written so far (highest end of a chunk) */
    size_t file_size; /* its final size */
};

/* One attached guest: its ttrpc server and what its calls share. */
struct ms_bind {
    struct magent_server *srv;  /* the server */
    uint32_t cid;               /* the guest's CID */
    uint64_t gen;               /* the guest's boot serial */
    struct vc_ttrpc_server *tt; /* its connections and listeners (owned) */
    struct ms_copy *copies;     /* files being copied */
    size_t n_copies;            /* number of copies */
    size_t copy_bytes;          /* bytes held by copies */
};

/* A list of waiting calls, oldest first. */
struct ms_list {
    struct ms_call *head; /* oldest */
    struct ms_call *tail; /* newest */
};

enum ms_state {
    MS_DELAYED, /* a delay rule: the timer runs */
    MS_PARKED,  /* the model said "not yet": retried when kicked */
    MS_HUNG,    /* a hang rule: never answered */
};

/* The request fields a call shows the script's rules. */
struct ms_fields {
    struct magent_field f[MS_FIELD_MAX]; /* request fields as text */
    size_t n;                            /* number of f */
    char nums[MS_FIELD_MAX][MS_NUM_MAX]; /* storage for numeric fields */
    char args[MAGENT_ARGS_TEXT_MAX];     /* storage for "args" */
};

typedef int ms_run_fn(struct ms_call *c, struct magent_guest *g);
typedef void ms_extra_fn(const struct magent_server *srv, const ProtobufCMessage *req,
                         struct ms_fields *fs);

/* One RPC: its name, how rules see it, how the model answers it. */
struct ms_method {
    const char *name;          /* RPC name on the wire */
    const char *const *fields; /* top-level request fields rules see (NULL-terminated) */
    ms_extra_fn *extra;        /* derived fields (or NULL) */
    ms_run_fn *run;            /* answers: see ms_finish for its results */
    bool ro;                   /* answering it changes nothing a parked call waits for */
    const ProtobufCServiceDescriptor *svc; /* service descriptor */
};

/* A call the server holds on to. */
struct ms_call {
    struct magent_server *srv;  /* the server */
    struct ms_bind *b;          /* its guest */
    struct vc_ttrpc_call *call; /* the ttrpc call, NULL once answered */
    const struct ms_method *m;  /* the RPC */
    ProtobufCMessage *req;      /* decoded request (owned) */
    size_t held;                /* payload bytes counted in srv->held while waiting */
    int state;                  /* enum ms_state while on a list */
    uint64_t timer;             /* delay timer id, 0 if none */
    struct ms_list *list;       /* the list holding it, or NULL */
    struct ms_call *prev;       /* on list */
    struct ms_call *next;       /* on list */
};

struct magent_server {
    struct vc_ctx *ctx;                           /* guest context (borrowed) */
    struct magent_host *host;                     /* the guests (borrowed) */
    struct ms_bind **binds;                       /* attached guests */
    size_t n_binds;                               /* number of binds */
    struct ms_list waiting;                       /* delayed, parked and hung calls */
    struct ms_list retry;                         /* parked calls being retried */
    size_t n_waiting;                             /* calls on either list */
    size_t n_parked;                              /* of which parked */
    size_t held;                                  /* request bytes they hold */
    uint64_t kick;                                /* retry timer id, 0 if not armed */
    vc_ttrpc_frame_fn *rec_fn;                    /* recorder, or NULL */
    void *rec_data;                               /* passed to rec_fn */
    struct vc_ttrpc_stats lost;                   /* counters of dropped guests */
    const char *agent_names[MS_AGENT_RPCS + 1];   /* AgentService method names, NULL-ended */
    const char *health_names[MS_HEALTH_RPCS + 1]; /* Health method names, NULL-ended */
};

static const struct ms_method *ms_find(const char *service, const char *method);

/* --- lists and timers ------------------------------------------------------------------------ */

static void ms_list_add(struct ms_list *l, struct ms_call *c)
{
    c->list = l;
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void ms_list_del(struct ms_call *c)
{
    struct ms_list *l = c->list;

    if (!l)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->list = NULL;
    c->prev = c->next = NULL;
}

static const struct vc_loop *ms_loop(const struct magent_server *srv)
{
    return vc_ctx_loop(srv->ctx);
}

/* Takes a call off the waiting lists (it is being answered or retried). */
static void ms_unwait(struct ms_call *c)
{
    struct magent_server *srv = c->srv;

    if (!c->list)
        return;
    if (c->timer)
        ms_loop(srv)->ops->timer_cancel(ms_loop(srv)->data, c->timer);
    c->timer = 0;
    if (c->state == MS_PARKED)
        srv->n_parked--;
    srv->n_waiting--;
    srv->held -= c->held;
    c->held = 0;
    ms_list_del(c);
}

static void ms_call_free(struct ms_call *c)
{
    struct magent_server *srv = c->srv;

    ms_unwait(c);
    vc_ttrpc_msg_free(srv->ctx, c->req);
    vc_free(srv->ctx, c);
}

static void ms_kick_fire(void *data);

/* Retries the parked calls soon, from the top of the loop (never from inside the model). */
static void ms_kick(struct magent_server *srv)
{
    const struct vc_loop *loop = ms_loop(srv);

    if (srv->kick || !srv->n_parked)
        return;
    /* Without a timer the calls stay parked until the next kick; nothing better to do. */
    if (loop->ops->timer_add(loop->data, vc_now(srv->ctx), ms_kick_fire, srv, &srv->kick) < 0)
        srv->kick = 0;
}

static struct magent_guest *ms_guest(const struct ms_bind *b);

/* The model's word that cid's guest changed: retry what is parked, and reset the connections of
 * a guest that halted (even with nothing parked). */
static void ms_notify(void *data, uint32_t cid)
{
    struct magent_server *srv = data;
    const struct vc_loop *loop = ms_loop(srv);
    bool gone = false;

    for (size_t i = 0; i < srv->n_binds && !gone; i++)
        gone = srv->binds[i]->cid == cid && !ms_guest(srv->binds[i]);
    if (srv->kick || (!gone && !srv->n_parked))
        return;
    if (loop->ops->timer_add(loop->data, vc_now(srv->ctx), ms_kick_fire, srv, &srv->kick) < 0)
        srv->kick = 0;
}

/* --- guests ---------------------------------------------------------------------------------- */

/* The guest a binding serves, if it is still the one that was attached. */
static struct magent_guest *ms_guest(const struct ms_bind *b)
{
    struct magent_guest *g = magent_host_guest(b->srv->host, b->cid);

    return g && magent_guest_generation(g) == b->gen ? g : NULL;
}

static void ms_copies_clear(struct ms_bind *b)
{
    struct vc_ctx *ctx = b->srv->ctx;

    for (size_t i = 0; i < b->n_copies; i++) {
        vc_free(ctx, b->copies[i].path);
        vc_free(ctx, b->copies[i].data);
    }
    vc_free(ctx, b->copies);
    b->copies = NULL;
    b->n_copies = 0;
    b->copy_bytes = 0;
}

/* Closes a binding's connections and listeners (its waiting calls are abandoned and freed) and
 * forgets it. Safe from inside its own handler: the ttrpc server goes when it has unwound. */
static void ms_bind_drop(struct ms_bind *b, const char *why)
{
    struct magent_server *srv = b->srv;
    struct vc_ttrpc_stats st;
    size_t i;

    for (i = 0; i < srv->n_binds && srv->binds[i] != b; i++)
        ;
    if (i < srv->n_binds) {
        memmove(&srv->binds[i], &srv->binds[i + 1], (srv->n_binds - i - 1) * sizeof(*srv->binds));
        srv->n_binds--;
    }
    if (b->tt) {
        vc_ttrpc_server_stats(b->tt, &st);
        srv->lost.frames_in += st.frames_in;
        srv->lost.frames_out += st.frames_out;
        srv->lost.bytes_in += st.bytes_in;
        srv->lost.bytes_out += st.bytes_out;
        srv->lost.calls += st.calls;
        srv->lost.ignored += st.ignored;
        srv->lost.oversized += st.oversized;
        srv->lost.rejected += st.rejected;
    }
    vc_trace(srv->ctx, "magent", "close", "cid %u: %s", b->cid, why);
    vc_ttrpc_server_free(b->tt);
    ms_copies_clear(b);
    vc_free(srv->ctx, b);
}

/* --- request fields ----------------------------------------------------------------------------
 */

static void ms_field(struct ms_fields *fs, const char *name, const char *value)
{
    if (fs->n < MS_FIELD_MAX)
        fs->f[fs->n++] = (struct magent_field){.name = name, .value = value ? value : ""};
}

static void ms_field_u64(struct ms_fields *fs, const char *name, uint64_t v)
{
    if (fs->n >= MS_FIELD_MAX)
        return;
    (void) snprintf(fs->nums[fs->n], MS_NUM_MAX, "%" PRIu64, v);
    ms_field(fs, name, fs->nums[fs->n]);
}

/* A singular scalar field of msg as text, as the in-process agent writes it: strings as they
 * are, bools "true"/"false", integers in decimal (signed ones as their 64-bit two's
 * complement, as the in-process agent prints them). */
static void ms_field_scalar(struct ms_fields *fs, const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    const char *p;
    uint64_t v;

    if (!fd || fd->label == PROTOBUF_C_LABEL_REPEATED)
        return;
    p = (const char *) msg + fd->offset;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        ms_field(fs, fd->name, *(char *const *) (const void *) p);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        ms_field(fs, fd->name, *(const protobuf_c_boolean *) (const void *) p ? "true" : "false");
        return;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        v = (uint64_t) (int64_t) * (const int32_t *) (const void *) p;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        v = *(const uint32_t *) (const void *) p;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        v = (uint64_t) * (const int64_t *) (const void *) p;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        v = *(const uint64_t *) (const void *) p;
        break;
    default:
        return;
    }
    ms_field_u64(fs, fd->name, v);
}

static void ms_fields_build(const struct magent_server *srv, const struct ms_method *m,
                            const ProtobufCMessage *req, struct ms_fields *fs)
{
    for (size_t i = 0; m->fields && m->fields[i]; i++)
        ms_field_scalar(fs, req, m->fields[i]);
    if (m->extra)
        m->extra(srv, req, fs);
}

/* ExecProcess: the command line as "args". */
static void ex_exec(const struct magent_server *srv, const ProtobufCMessage *req,
                    struct ms_fields *fs)
{
    const Grpc__ExecProcessRequest *r = (const void *) req;
    const Grpc__Process *p = r->process;

    magent_args_text(p ? p->args : NULL, p ? p->n_args : 0, fs->args, sizeof(fs->args));
    ms_field(fs, "args", fs->args);
}

/* WriteStdin and ReadStdout's siblings: the data's length as "len". */
static void ex_write(const struct magent_server *srv, const ProtobufCMessage *req,
                     struct ms_fields *fs)
{
    ms_field_u64(fs, "len", ((const Grpc__WriteStreamRequest *) (const void *) req)->data.len);
}

static void ex_reseed(const struct magent_server *srv, const ProtobufCMessage *req,
                      struct ms_fields *fs)
{
    ms_field_u64(fs, "len", ((const Grpc__ReseedRandomDevRequest *) (const void *) req)->data.len);
}

static void ex_routes(const struct magent_server *srv, const ProtobufCMessage *req,
                      struct ms_fields *fs)
{
    const Grpc__UpdateRoutesRequest *r = (const void *) req;

    ms_field_u64(fs, "count", r->routes ? r->routes->n_routes : 0);
}

static void ex_neighbors(const struct magent_server *srv, const ProtobufCMessage *req,
                         struct ms_fields *fs)
{
    const Grpc__AddARPNeighborsRequest *r = (const void *) req;

    ms_field_u64(fs, "count", r->neighbors ? r->neighbors->n_arpneighbors : 0);
}

static void ex_ephemeral(const struct magent_server *srv, const ProtobufCMessage *req,
                         struct ms_fields *fs)
{
    ms_field_u64(fs, "count",
                 ((const Grpc__UpdateEphemeralMountsRequest *) (const void *) req)->n_storages);
}

static void ex_interface(const struct magent_server *srv, const ProtobufCMessage *req,
                         struct ms_fields *fs)
{
    const Types__Interface *i =
        ((const Grpc__UpdateInterfaceRequest *) (const void *) req)->interface;

    ms_field(fs, "name", i ? i->name : NULL);
    ms_field(fs, "device", i ? i->device : NULL);
}

/* The memory block (section) size probes are made in: the facts', or 128 MiB. */
static uint64_t ms_block_bytes(const struct magent_server *srv)
{
    uint64_t b = magent_host_facts(srv->host)->mem_block_bytes;

    return b >= (UINT64_C(1) << 20) ? b : MS_DEFAULT_BLK;
}

/* MemHotplugByProbe: the first address as "addr" and the size probed as "size_mb", which is what
 * the runtime asked for: one address per section, sections the distance between them. */
static void ex_probe(const struct magent_server *srv, const ProtobufCMessage *req,
                     struct ms_fields *fs)
{
    const Grpc__MemHotplugByProbeRequest *r = (const void *) req;
    const uint64_t *a = r->memhotplugprobeaddr;
    size_t n = r->n_memhotplugprobeaddr;
    uint64_t sect = n > 1 && a[1] > a[0] ? a[1] - a[0] : ms_block_bytes(srv);

    ms_field_u64(fs, "addr", n ? a[0] : 0);
    ms_field_u64(fs, "size_mb", (uint64_t) n * (sect >> 20));
}

/* --- answers ------------------------------------------------------------------------------------
 */

/* Answers c OK with resp (NULL: empty) and marks it answered. Always 0: a reply that cannot be
 * sent is the connection's problem, already handled by ttrpc. */
static int ms_reply(struct ms_call *c, const ProtobufCMessage *resp)
{
    vc_trace(c->srv->ctx, "magent", c->m->name, "cid %u -> OK", c->b->cid);
    (void) vc_ttrpc_reply(c->call, resp);
    c->call = NULL;
    return 0;
}

/* Answers c with a status it chose itself. Always 0. */
static int ms_fail(struct ms_call *c, int code, const char *message)
{
    vc_trace(c->srv->ctx, "magent", c->m->name, "cid %u -> %s", c->b->cid,
             vc_status_to_string(code));
    (void) vc_ttrpc_reply_error(c->call, code, message);
    c->call = NULL;
    return 0;
}

/* Ends c from a run function's result: 0 (it answered), a status (the guest's message),
 * MAGENT_NOMEM, or -errno of a conversion (its recorded message). Malformed requests get
 * INTERNAL, as kata-agent's rpc.rs answers most failures of its handlers. */
static void ms_finish(struct ms_call *c, struct magent_guest *g, int st)
{
    struct vc_ctx *ctx = c->srv->ctx;
    int code = st;
    const char *msg;

    if (!c->call)
        return;
    if (st == MAGENT_NOMEM || st == -ENOMEM) {
        code = VC_STATUS_INTERNAL;
        msg = "ENOMEM";
    } else if (st < 0) {
        code = st == -EINVAL ? VC_STATUS_INTERNAL : vc_status_from_errno(st);
        msg = vc_ctx_errmsg(ctx);
    } else if (st == 0) {
        msg = "";
    } else {
        msg = g ? magent_guest_message(g) : "";
    }
    if (code == VC_STATUS_OK)
        code = VC_STATUS_INTERNAL; /* a run function that said OK without answering */
    (void) ms_fail(c, code, msg);
}

/* --- waiting --------------------------------------------------------------------------------- */

/* Puts c on the waiting list in state. false (and c answered RESOURCE_EXHAUSTED) beyond the
 * server's limits. */
static bool ms_wait(struct ms_call *c, enum ms_state state, size_t held)
{
    struct magent_server *srv = c->srv;
    char msg[96];

    if (srv->n_waiting >= MAGENT_SERVER_WAITING_MAX || held > MAGENT_SERVER_HELD_MAX - srv->held) {
        (void) snprintf(msg, sizeof(msg), "mockagent: %zu calls waiting hold %zu bytes",
                        srv->n_waiting, srv->held);
        (void) ms_fail(c, VC_STATUS_RESOURCE_EXHAUSTED, msg);
        return false;
    }
    c->state = state;
    c->held = held;
    srv->held += held;
    srv->n_waiting++;
    if (state == MS_PARKED)
        srv->n_parked++;
    ms_list_add(&srv->waiting, c);
    return true;
}

/* Asks the model once. Afterwards c is answered and freed, parked, or freed with its guest's
 * connections: the caller must not touch it. */
static void ms_attempt(struct ms_call *c)
{
    struct magent_server *srv = c->srv;
    struct magent_guest *g = ms_guest(c->b);
    int st;

    if (!g) {
        ms_bind_drop(c->b, "the guest is gone"); /* frees c through its abandon callback */
        return;
    }
    /* A paused VM answers nothing until it runs again. */
    magent_guest_set_out_ctx(g, srv->ctx);
    st = magent_guest_paused(g) ? MAGENT_AGAIN : c->m->run(c, g);
    /* Sending the answer may have crashed the VM (a fault in the simulated network): the
     * guest is then gone, and its connections are reset later, from the loop. */
    g = ms_guest(c->b);
    if (g)
        magent_guest_set_out_ctx(g, NULL);
    if (st == MAGENT_AGAIN && c->call) {
        if (ms_wait(c, MS_PARKED, protobuf_c_message_get_packed_size(c->req)))
            return;
        st = 0; /* answered RESOURCE_EXHAUSTED */
    }
    ms_finish(c, g, st);
    /* What this call changed may let a parked one go on. (Exits, OOM kills and VM events come
     * with the model's notification; output at a start or from stdin does not.) */
    if (st == VC_STATUS_OK && !c->m->ro)
        ms_kick(srv);
    ms_call_free(c);
}

static void ms_kick_fire(void *data)
{
    struct magent_server *srv = data;
    struct ms_call *c, *next;

    srv->kick = 0;
    for (size_t i = 0; i < srv->n_binds;) {
        if (!ms_guest(srv->binds[i]))
            ms_bind_drop(srv->binds[i], "the guest is gone");
        else
            i++;
    }
    for (c = srv->waiting.head; c; c = next) {
        next = c->next;
        if (c->state != MS_PARKED)
            continue;
        ms_list_del(c);
        ms_list_add(&srv->retry, c);
    }
    /* Oldest first; each retry may free others (a reset), so take the head every time. */
    while ((c = srv->retry.head)) {
        ms_unwait(c);
        ms_attempt(c);
    }
}

static void ms_delay_fire(void *data)
{
    struct ms_call *c = data;

    c->timer = 0;
    ms_unwait(c);
    ms_attempt(c);
}

static void ms_on_abandon(void *data, struct vc_ttrpc_call *call)
{
    struct ms_call *c = data;

    (void) vc_ttrpc_reply_error(call, VC_STATUS_CANCELLED, "abandoned"); /* frees call */
    c->call = NULL;
    ms_call_free(c);
}

/* Applies the script's rule for a new call: error, delay, hang or on to the model. */
static void ms_start(struct ms_call *c, size_t payload_len)
{
    struct magent_server *srv = c->srv;
    const struct vc_loop *loop = ms_loop(srv);
    const struct magent_rule *rule;
    struct ms_fields fs = {.n = 0};

    ms_fields_build(srv, c->m, c->req, &fs);
    rule = magent_host_decide(srv->host, c->m->name, fs.f, fs.n);
    if (rule && rule->reply == MAGENT_REPLY_ERROR) {
        (void) ms_fail(c, rule->status, rule->message ? rule->message : "scripted failure");
    } else if (rule && rule->reply == MAGENT_REPLY_HANG) {
        /* Nothing of the request is needed any more. */
        vc_ttrpc_msg_free(srv->ctx, c->req);
        c->req = NULL;
        if (ms_wait(c, MS_HUNG, 0))
            return;
    } else if (rule && rule->reply == MAGENT_REPLY_DELAY) {
        if (!ms_wait(c, MS_DELAYED, payload_len)) {
            ms_call_free(c);
            return;
        }
        if (loop->ops->timer_add(loop->data, vc_now(srv->ctx) + rule->delay_ns, ms_delay_fire, c,
                                 &c->timer) >= 0)
            return;
        c->timer = 0;
        ms_unwait(c);
        (void) ms_fail(c, VC_STATUS_RESOURCE_EXHAUSTED, "mockagent: cannot arm a timer");
    } else {
        ms_attempt(c);
        return;
    }
    ms_call_free(c);
}

static void ms_handle(void *data, struct vc_ttrpc_call *call, const char *method,
                      const uint8_t *payload, size_t len)
{
    struct ms_bind *b = data;
    struct magent_server *srv = b->srv;
    const struct ms_method *m = ms_find(vc_ttrpc_call_service(call), method);
    const ProtobufCMethodDescriptor *md;
    ProtobufCMessage *req = NULL;
    struct ms_call *c;

    md = m ? protobuf_c_service_descriptor_get_method_by_name(m->svc, m->name) : NULL;
    if (!md) {
        (void) vc_ttrpc_reply_error(call, VC_STATUS_UNIMPLEMENTED, method);
        return;
    }
    if (!ms_guest(b)) {
        ms_bind_drop(b, "the guest is gone"); /* the call goes with the connection */
        return;
    }
    if (vc_ttrpc_call_decode(call, md->input, payload, len, &req) < 0)
        return; /* answered INTERNAL (or RESOURCE_EXHAUSTED) */
    c = vc_new0(srv->ctx, struct ms_call, 1);
    if (!c) {
        vc_ttrpc_msg_free(srv->ctx, req);
        (void) vc_ttrpc_reply_error(call, VC_STATUS_RESOURCE_EXHAUSTED, "mockagent: out of memory");
        return;
    }
    *c = (struct ms_call){.srv = srv, .b = b, .call = call, .m = m, .req = req};
    vc_ttrpc_call_on_abandon(call, ms_on_abandon, c);
    ms_start(c, len);
}

/* --- RPCs: containers and processes --------------------------------------------------------- */

#define REQ(type, c) ((const type *) (const void *) (c)->req)

static int run_create_container(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_container_config cfg = {0};
    struct vc_process proc = {0};
    int st = vc_kata_container_from_pb(ctx, REQ(Grpc__CreateContainerRequest, c), &cfg);

    if (st < 0)
        return st;
    st = magent_guest_create_container(g, &cfg, &proc);
    vc_obj_clear(ctx, &vc_schema_container_config, &cfg);
    vc_obj_clear(ctx, &vc_schema_process, &proc);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_start_container(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_start_container(g, REQ(Grpc__StartContainerRequest, c)->container_id);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_remove_container(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_remove_container(g, REQ(Grpc__RemoveContainerRequest, c)->container_id);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_exec(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__ExecProcessRequest *r = REQ(Grpc__ExecProcessRequest, c);
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_process_config pc = {0};
    struct vc_process proc = {0};
    int st = vc_kata_process_from_pb(ctx, r->process, &pc);

    if (st < 0)
        return st;
    st = magent_guest_exec_process(g, r->container_id, r->exec_id, &pc, &proc);
    vc_obj_clear(ctx, &vc_schema_process_config, &pc);
    vc_obj_clear(ctx, &vc_schema_process, &proc);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

/* An empty exec_id signals every process of the container (the runtime's "all"). */
static int run_signal(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__SignalProcessRequest *r = REQ(Grpc__SignalProcessRequest, c);
    int sig = r->signal > INT_MAX ? INT_MAX : (int) r->signal;
    int st = magent_guest_signal_process(g, r->container_id, r->exec_id, sig, !r->exec_id[0]);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_wait(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__WaitProcessRequest *r = REQ(Grpc__WaitProcessRequest, c);
    Grpc__WaitProcessResponse resp = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    int st = magent_guest_wait_process(g, r->container_id, r->exec_id, &resp.status);

    return st == VC_STATUS_OK ? ms_reply(c, &resp.base) : st;
}

static int run_update_container(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__UpdateContainerRequest *r = REQ(Grpc__UpdateContainerRequest, c);
    struct vc_resources res = {0};
    int st = vc_kata_resources_from_pb(c->srv->ctx, r->resources, &res);

    if (st < 0)
        return st;
    st = magent_guest_update_container(g, r->container_id, &res);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_ephemeral(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_mount *v = NULL;
    size_t n = 0;
    int st =
        vc_kata_ephemeral_mounts_from_pb(ctx, REQ(Grpc__UpdateEphemeralMountsRequest, c), &v, &n);

    if (st < 0)
        return st;
    st = magent_guest_update_ephemeral_mounts(g, v, n);
    vc_obj_array_free(ctx, &vc_schema_mount, v, n);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_stats(struct ms_call *c, struct magent_guest *g)
{
    struct vc_container_stats s = {0};
    struct vc_kata_arena a;
    Grpc__StatsContainerResponse *resp;
    int st = magent_guest_stats_container(g, REQ(Grpc__StatsContainerRequest, c)->container_id, &s);

    if (st != VC_STATUS_OK)
        return st;
    vc_kata_arena_init(&a, c->srv->ctx);
    st = vc_kata_stats_to_pb(&a, &s, &resp);
    if (st >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    return st;
}

static int run_pause(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_pause_container(g, REQ(Grpc__PauseContainerRequest, c)->container_id);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_resume(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_resume_container(g, REQ(Grpc__ResumeContainerRequest, c)->container_id);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_stale_mounts(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_remove_stale_virtiofs_share_mounts(g);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_diagnostic(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__GetDiagnosticDataRequest *r = REQ(Grpc__GetDiagnosticDataRequest, c);
    Grpc__GetDiagnosticDataResponse resp = GRPC__GET_DIAGNOSTIC_DATA_RESPONSE__INIT;
    char *data = NULL;
    int st = magent_guest_diagnostic_data(g, r->log_type, r->container_id, &data);

    if (st != VC_STATUS_OK)
        return st;
    resp.data = data;
    st = ms_reply(c, &resp.base);
    vc_free(c->srv->ctx, data);
    return st;
}

static int run_write_stdin(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__WriteStreamRequest *r = REQ(Grpc__WriteStreamRequest, c);
    Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;
    size_t n = 0;
    int st =
        magent_guest_write_stdin(g, r->container_id, r->exec_id, r->data.data, r->data.len, &n);

    if (st != VC_STATUS_OK)
        return st;
    resp.len = n > UINT32_MAX ? UINT32_MAX : (uint32_t) n;
    return ms_reply(c, &resp.base);
}

/* One read of at most len bytes. As kata-agent's read_stream, a read that finds the end of the
 * stream (or asks for nothing) fails with "read meet eof" rather than answering no data. */
static int run_read(struct ms_call *c, struct magent_guest *g, bool err)
{
    const Grpc__ReadStreamRequest *r = REQ(Grpc__ReadStreamRequest, c);
    Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
    size_t len = r->len < MAGENT_SERVER_READ_MAX ? r->len : MAGENT_SERVER_READ_MAX;
    uint8_t *buf;
    size_t n = 0;
    int st;

    if (len == 0)
        return ms_fail(c, VC_STATUS_INTERNAL, "read meet eof");
    buf = vc_malloc(c->srv->ctx, len);
    if (!buf)
        return MAGENT_NOMEM;
    st = magent_guest_read_stream(g, r->container_id, r->exec_id, err, buf, len, &n);
    if (st == VC_STATUS_OK && n == 0)
        st = ms_fail(c, VC_STATUS_INTERNAL, "read meet eof");
    else if (st == VC_STATUS_OK) {
        resp.data = (ProtobufCBinaryData){.len = n, .data = buf};
        st = ms_reply(c, &resp.base);
    }
    vc_free(c->srv->ctx, buf);
    return st;
}

static int run_read_stdout(struct ms_call *c, struct magent_guest *g)
{
    return run_read(c, g, false);
}

static int run_read_stderr(struct ms_call *c, struct magent_guest *g)
{
    return run_read(c, g, true);
}

static int run_close_stdin(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__CloseStdinRequest *r = REQ(Grpc__CloseStdinRequest, c);
    int st = magent_guest_close_stdin(g, r->container_id, r->exec_id);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_winsize(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__TtyWinResizeRequest *r = REQ(Grpc__TtyWinResizeRequest, c);
    int st = magent_guest_tty_win_resize(g, r->container_id, r->exec_id, r->row, r->column);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

/* --- RPCs: network ---------------------------------------------------------------------------- */

static int run_update_interface(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__UpdateInterfaceRequest *r = REQ(Grpc__UpdateInterfaceRequest, c);
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_interface in = {0}, out = {0};
    struct vc_kata_arena a;
    Types__Interface *resp;
    int st;

    if (!r->interface)
        return ms_fail(c, VC_STATUS_INVALID_ARGUMENT, "empty update interface request");
    st = vc_kata_interface_from_pb(ctx, r->interface, &in);
    if (st < 0)
        return st;
    st = magent_guest_update_interface(g, &in, &out);
    vc_obj_clear(ctx, &vc_schema_interface, &in);
    vc_kata_arena_init(&a, ctx);
    if (st == VC_STATUS_OK && (st = vc_kata_interface_to_pb(&a, &out, &resp)) >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    vc_obj_clear(ctx, &vc_schema_interface, &out);
    return st;
}

static int ms_reply_routes(struct ms_call *c, struct vc_route *v, size_t n)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_kata_arena a;
    Grpc__Routes *resp;
    int st;

    vc_kata_arena_init(&a, ctx);
    st = vc_kata_routes_to_pb(&a, v, n, &resp);
    if (st >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    vc_obj_array_free(ctx, &vc_schema_route, v, n);
    return st;
}

static int run_update_routes(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__UpdateRoutesRequest *r = REQ(Grpc__UpdateRoutesRequest, c);
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_route *in = NULL, *out = NULL;
    size_t n_in = 0, n_out = 0;
    int st;

    if (!r->routes)
        return ms_fail(c, VC_STATUS_INVALID_ARGUMENT, "empty update routes request");
    st = vc_kata_routes_from_pb(ctx, r->routes, &in, &n_in);
    if (st < 0)
        return st;
    st = magent_guest_update_routes(g, in, n_in, &out, &n_out);
    vc_obj_array_free(ctx, &vc_schema_route, in, n_in);
    return st == VC_STATUS_OK ? ms_reply_routes(c, out, n_out) : st;
}

static int run_list_interfaces(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_interface *v = NULL;
    struct vc_kata_arena a;
    Grpc__Interfaces *resp;
    size_t n = 0;
    int st = magent_guest_list_interfaces(g, &v, &n);

    if (st != VC_STATUS_OK)
        return st;
    vc_kata_arena_init(&a, ctx);
    st = vc_kata_interfaces_to_pb(&a, v, n, &resp);
    if (st >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    vc_obj_array_free(ctx, &vc_schema_interface, v, n);
    return st;
}

static int run_list_routes(struct ms_call *c, struct magent_guest *g)
{
    struct vc_route *v = NULL;
    size_t n = 0;
    int st = magent_guest_list_routes(g, &v, &n);

    return st == VC_STATUS_OK ? ms_reply_routes(c, v, n) : st;
}

static int run_add_arp(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__AddARPNeighborsRequest *r = REQ(Grpc__AddARPNeighborsRequest, c);
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_arp_neighbor *v = NULL;
    size_t n = 0;
    int st;

    if (!r->neighbors)
        return ms_fail(c, VC_STATUS_INVALID_ARGUMENT, "empty add arp neighbours request");
    st = vc_kata_neighbors_from_pb(ctx, r->neighbors, &v, &n);
    if (st < 0)
        return st;
    st = magent_guest_add_arp_neighbors(g, v, n);
    vc_obj_array_free(ctx, &vc_schema_arp_neighbor, v, n);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_get_iptables(struct ms_call *c, struct magent_guest *g)
{
    Grpc__GetIPTablesResponse resp = GRPC__GET_IPTABLES_RESPONSE__INIT;
    uint8_t *data = NULL;
    size_t n = 0;
    int st = magent_guest_get_iptables(g, REQ(Grpc__GetIPTablesRequest, c)->is_ipv6, &data, &n);

    if (st != VC_STATUS_OK)
        return st;
    resp.data = (ProtobufCBinaryData){.len = n, .data = data};
    st = ms_reply(c, &resp.base);
    vc_free(c->srv->ctx, data);
    return st;
}

static int run_set_iptables(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__SetIPTablesRequest *r = REQ(Grpc__SetIPTablesRequest, c);
    Grpc__SetIPTablesResponse resp = GRPC__SET_IPTABLES_RESPONSE__INIT;
    int st = magent_guest_set_iptables(g, r->is_ipv6, r->data.data, r->data.len);

    return st == VC_STATUS_OK ? ms_reply(c, &resp.base) : st;
}

/* --- RPCs: sandbox, resources, misc -------------------------------------------------------- */

static int run_metrics(struct ms_call *c, struct magent_guest *g)
{
    Grpc__Metrics resp = GRPC__METRICS__INIT;
    char *m = NULL;
    int st = magent_guest_get_metrics(g, &m);

    if (st != VC_STATUS_OK)
        return st;
    resp.metrics = m;
    st = ms_reply(c, &resp.base);
    vc_free(c->srv->ctx, m);
    return st;
}

/* kata-agent without its memory agent (the default) refuses both settings. */
static int run_mem_agent(struct ms_call *c, struct magent_guest *g)
{
    return ms_fail(c, VC_STATUS_INTERNAL, "mem-agent is disabled");
}

static int run_create_sandbox(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_sandbox_config sb = {0};
    int st = vc_kata_sandbox_from_pb(ctx, REQ(Grpc__CreateSandboxRequest, c), &sb);

    if (st < 0)
        return st;
    st = magent_guest_create_sandbox(g, sb.hostname ? sb.hostname : "", sb.net.dns, sb.net.n_dns,
                                     sb.id);
    vc_obj_clear(ctx, &vc_schema_sandbox_config, &sb);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_destroy_sandbox(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_destroy_sandbox(g);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_online(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__OnlineCPUMemRequest *r = REQ(Grpc__OnlineCPUMemRequest, c);
    int st = magent_guest_online_cpu_mem(g, r->nb_cpus, r->cpu_only);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_reseed(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__ReseedRandomDevRequest *r = REQ(Grpc__ReseedRandomDevRequest, c);
    int st = magent_guest_reseed_random(g, r->data.data, r->data.len);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

/* As kata-agent, the memory facts are filled only when asked for. */
static int run_details(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__GuestDetailsRequest *r = REQ(Grpc__GuestDetailsRequest, c);
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_guest_details d = {0};
    struct vc_kata_arena a;
    Grpc__GuestDetailsResponse *resp;
    int st = magent_guest_get_details(g, &d);

    if (st != VC_STATUS_OK)
        return st;
    if (!r->mem_block_size)
        d.mem_block_size_bytes = 0;
    if (!r->mem_hotplug_probe)
        d.support_mem_hotplug_probe = false;
    vc_kata_arena_init(&a, ctx);
    st = vc_kata_guest_details_to_pb(&a, &d, &resp);
    if (st >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    vc_obj_clear(ctx, &vc_schema_guest_details, &d);
    return st;
}

/* One probed block per address, as the agent writes each address to the probe file. */
static int run_probe(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__MemHotplugByProbeRequest *r = REQ(Grpc__MemHotplugByProbeRequest, c);
    uint32_t mb = (uint32_t) (ms_block_bytes(c->srv) >> 20);
    int st = VC_STATUS_OK;

    for (size_t i = 0; st == VC_STATUS_OK && i < r->n_memhotplugprobeaddr; i++)
        st = magent_guest_mem_hotplug_by_probe(g, r->memhotplugprobeaddr[i], mb, mb);
    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_date_time(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__SetGuestDateTimeRequest *r = REQ(Grpc__SetGuestDateTimeRequest, c);
    int st = magent_guest_set_date_time(g, r->sec, r->usec);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static struct ms_copy *ms_copy_find(struct ms_bind *b, const char *path)
{
    for (size_t i = 0; i < b->n_copies; i++)
        if (strcmp(b->copies[i].path, path) == 0)
            return &b->copies[i];
    return NULL;
}

static void ms_copy_drop(struct ms_bind *b, struct ms_copy *cp)
{
    struct vc_ctx *ctx = b->srv->ctx;

    b->copy_bytes -= cp->len;
    vc_free(ctx, cp->path);
    vc_free(ctx, cp->data);
    *cp = b->copies[--b->n_copies];
}

/* The assembly of f's path; a chunk at offset 0 starts it anew. 0 with *ret, 0 with c answered
 * past the limits, or MAGENT_NOMEM. */
static int ms_copy_get(struct ms_call *c, const struct vc_copy_file *f, int64_t off, int64_t size,
                       struct ms_copy **ret)
{
    struct ms_bind *b = c->b;
    struct ms_copy *cp = ms_copy_find(b, f->path), *v;

    if (cp && off != 0) {
        *ret = cp;
        return 0;
    }
    if (cp)
        ms_copy_drop(b, cp);
    if (b->n_copies >= MAGENT_SERVER_COPY_FILES || (uint64_t) size > MAGENT_SERVER_COPY_MAX)
        return ms_fail(c, VC_STATUS_INTERNAL, "ENOSPC: No space left on device");
    v = vc_realloc(b->srv->ctx, b->copies, (b->n_copies + 1) * sizeof(*v));
    if (!v)
        return MAGENT_NOMEM;
    b->copies = v;
    cp = &v[b->n_copies];
    *cp = (struct ms_copy){.path = vc_strdup(b->srv->ctx, f->path), .file_size = (size_t) size};
    if (!cp->path)
        return MAGENT_NOMEM;
    b->n_copies++;
    *ret = cp;
    return 0;
}

/* Writes a chunk into its assembly at off: 0, 0 with c answered past the limits, or
 * MAGENT_NOMEM. */
static int ms_copy_put(struct ms_call *c, struct ms_copy *cp, const struct vc_copy_file *f,
                       size_t off)
{
    struct ms_bind *b = c->b;
    size_t end = off + f->size;
    uint8_t *d;

    if (end > cp->len) {
        if (end - cp->len > MAGENT_SERVER_COPY_MAX - b->copy_bytes)
            return ms_fail(c, VC_STATUS_INTERNAL, "ENOSPC: No space left on device");
        d = vc_realloc(b->srv->ctx, cp->data, end);
        if (!d)
            return MAGENT_NOMEM;
        memset(d + cp->len, 0, end - cp->len);
        cp->data = d;
        b->copy_bytes += end - cp->len;
        cp->len = end;
    }
    if (f->size)
        memcpy(cp->data + off, f->data, f->size);
    return 0;
}

/* A chunked file goes to the guest once every byte has come, as kata-agent renames its temp
 * file into place then; a directory, a symlink or a file in one chunk goes at once. The
 * model's status, or 0 with c answered. */
static int ms_copy_chunk(struct ms_call *c, struct magent_guest *g, struct vc_copy_file *f,
                         int64_t off, int64_t size)
{
    struct ms_copy *cp = ms_copy_find(c->b, f->path);
    uint32_t type = f->file_mode & MS_S_IFMT;
    int st;

    if (type == MS_S_IFDIR || type == MS_S_IFLNK || (off == 0 && (int64_t) f->size == size)) {
        if (cp)
            ms_copy_drop(c->b, cp);
        return magent_guest_copy_file(g, f);
    }
    st = ms_copy_get(c, f, off, size, &cp);
    if (st == 0 && c->call)
        st = ms_copy_put(c, cp, f, (size_t) off);
    if (st != 0 || !c->call || cp->len != cp->file_size)
        return st;
    vc_free(c->srv->ctx, f->data);
    f->data = cp->data;
    f->size = cp->len;
    cp->data = NULL;
    ms_copy_drop(c->b, cp);
    return magent_guest_copy_file(g, f);
}

static int run_copy_file(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_copy_file f = {0};
    int64_t off = 0, size = 0;
    int st = vc_kata_copy_file_from_pb(ctx, REQ(Grpc__CopyFileRequest, c), &f, &off, &size);

    if (st < 0)
        return st;
    st = ms_copy_chunk(c, g, &f, off, size);
    vc_obj_clear(ctx, &vc_schema_copy_file, &f);
    return st == VC_STATUS_OK && c->call ? ms_reply(c, NULL) : st;
}

static int run_oom(struct ms_call *c, struct magent_guest *g)
{
    Grpc__OOMEvent resp = GRPC__OOMEVENT__INIT;
    char *id = NULL;
    int st = magent_guest_get_oom_event(g, &id);

    if (st != VC_STATUS_OK)
        return st;
    resp.container_id = id;
    st = ms_reply(c, &resp.base);
    vc_free(c->srv->ctx, id);
    return st;
}

static int run_add_swap(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__AddSwapRequest *r = REQ(Grpc__AddSwapRequest, c);
    int st = magent_guest_add_swap(g, r->pcipath, r->n_pcipath);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

/* The model has no swap files; the request is accepted as a guest with the file would. */
static int run_add_swap_path(struct ms_call *c, struct magent_guest *g)
{
    return ms_reply(c, NULL);
}

static int run_volume_stats(struct ms_call *c, struct magent_guest *g)
{
    struct vc_ctx *ctx = c->srv->ctx;
    struct vc_volume_stats vs = {0};
    struct vc_kata_arena a;
    Grpc__VolumeStatsResponse *resp;
    int st = magent_guest_volume_stats(g, REQ(Grpc__VolumeStatsRequest, c)->volume_guest_path, &vs);

    if (st != VC_STATUS_OK)
        return st;
    vc_kata_arena_init(&a, ctx);
    st = vc_kata_volume_stats_to_pb(&a, &vs, &resp);
    if (st >= 0)
        st = ms_reply(c, &resp->base);
    vc_kata_arena_free(&a);
    vc_obj_clear(ctx, &vc_schema_volume_stats, &vs);
    return st;
}

static int run_resize_volume(struct ms_call *c, struct magent_guest *g)
{
    const Grpc__ResizeVolumeRequest *r = REQ(Grpc__ResizeVolumeRequest, c);
    int st = magent_guest_resize_volume(g, r->volume_guest_path, r->size);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

static int run_set_policy(struct ms_call *c, struct magent_guest *g)
{
    int st = magent_guest_set_policy(g, REQ(Grpc__SetPolicyRequest, c)->policy);

    return st == VC_STATUS_OK ? ms_reply(c, NULL) : st;
}

/* --- Health ----------------------------------------------------------------------------------- */

static int run_check(struct ms_call *c, struct magent_guest *g)
{
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;

    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return ms_reply(c, &resp.base);
}

/* agent_version is the one GetGuestDetails reports. */
static int run_version(struct ms_call *c, struct magent_guest *g)
{
    Grpc__VersionCheckResponse resp = GRPC__VERSION_CHECK_RESPONSE__INIT;
    struct vc_guest_details d = {0};
    int st = magent_guest_get_details(g, &d);

    if (st != VC_STATUS_OK)
        return st;
    resp.grpc_version = (char *) MAGENT_GRPC_VERSION;
    resp.agent_version = d.agent_version ? d.agent_version : (char *) "";
    st = ms_reply(c, &resp.base);
    vc_obj_clear(c->srv->ctx, &vc_schema_guest_details, &d);
    return st;
}

/* --- the method tables ------------------------------------------------------------------------ */

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define AGENT(n, f, x, r)                                                                          \
    {                                                                                              \
        .name = n, .fields = f, .extra = x, .run = r, .svc = &grpc__agent_service__descriptor      \
    }
#define AGENT_RO(n, f, x, r)                                                                       \
    {                                                                                              \
        .name = n, .fields = f, .extra = x, .run = r, .ro = true,                                  \
        .svc = &grpc__agent_service__descriptor                                                    \
    }

/* Rules see the request fields the in-process agent (src/agent.c) gives them, by the same
 * names, so a scenario's script behaves the same over the wire. */
static const struct ms_method ms_agent_methods[] = {
    AGENT("CreateContainer", FIELDS("container_id", "exec_id"), NULL, run_create_container),
    AGENT("StartContainer", FIELDS("container_id"), NULL, run_start_container),
    AGENT("RemoveContainer", FIELDS("container_id", "timeout"), NULL, run_remove_container),
    AGENT("ExecProcess", FIELDS("container_id", "exec_id"), ex_exec, run_exec),
    AGENT("SignalProcess", FIELDS("container_id", "exec_id", "signal"), NULL, run_signal),
    AGENT("WaitProcess", FIELDS("container_id", "exec_id"), NULL, run_wait),
    AGENT("UpdateContainer", FIELDS("container_id"), NULL, run_update_container),
    AGENT("UpdateEphemeralMounts", NULL, ex_ephemeral, run_ephemeral),
    AGENT_RO("StatsContainer", FIELDS("container_id"), NULL, run_stats),
    AGENT("PauseContainer", FIELDS("container_id"), NULL, run_pause),
    AGENT("ResumeContainer", FIELDS("container_id"), NULL, run_resume),
    AGENT("RemoveStaleVirtiofsShareMounts", NULL, NULL, run_stale_mounts),
    AGENT_RO("GetDiagnosticData", FIELDS("log_type", "container_id"), NULL, run_diagnostic),
    AGENT("WriteStdin", FIELDS("container_id", "exec_id"), ex_write, run_write_stdin),
    AGENT_RO("ReadStdout", FIELDS("container_id", "exec_id", "len"), NULL, run_read_stdout),
    AGENT_RO("ReadStderr", FIELDS("container_id", "exec_id", "len"), NULL, run_read_stderr),
    AGENT("CloseStdin", FIELDS("container_id", "exec_id"), NULL, run_close_stdin),
    AGENT("TtyWinResize", FIELDS("container_id", "exec_id", "row", "column"), NULL, run_winsize),
    AGENT("UpdateInterface", NULL, ex_interface, run_update_interface),
    AGENT("UpdateRoutes", NULL, ex_routes, run_update_routes),
    AGENT_RO("ListInterfaces", NULL, NULL, run_list_interfaces),
    AGENT_RO("ListRoutes", NULL, NULL, run_list_routes),
    AGENT("AddARPNeighbors", NULL, ex_neighbors, run_add_arp),
    AGENT_RO("GetIPTables", FIELDS("is_ipv6"), NULL, run_get_iptables),
    AGENT("SetIPTables", FIELDS("is_ipv6"), NULL, run_set_iptables),
    AGENT_RO("GetMetrics", NULL, NULL, run_metrics),
    AGENT_RO("MemAgentMemcgSet", NULL, NULL, run_mem_agent),
    AGENT_RO("MemAgentCompactSet", NULL, NULL, run_mem_agent),
    AGENT("CreateSandbox", FIELDS("hostname", "sandbox_id"), NULL, run_create_sandbox),
    AGENT("DestroySandbox", NULL, NULL, run_destroy_sandbox),
    AGENT("OnlineCPUMem", FIELDS("wait", "nb_cpus", "cpu_only"), NULL, run_online),
    AGENT("ReseedRandomDev", NULL, ex_reseed, run_reseed),
    AGENT_RO("GetGuestDetails", FIELDS("mem_block_size", "mem_hotplug_probe"), NULL, run_details),
    AGENT("MemHotplugByProbe", NULL, ex_probe, run_probe),
    AGENT("SetGuestDateTime", FIELDS("Sec"), NULL, run_date_time),
    AGENT("CopyFile", FIELDS("path"), NULL, run_copy_file),
    AGENT_RO("GetOOMEvent", NULL, NULL, run_oom),
    AGENT("AddSwap", NULL, NULL, run_add_swap),
    AGENT("AddSwapPath", FIELDS("path"), NULL, run_add_swap_path),
    AGENT_RO("GetVolumeStats", FIELDS("volume_guest_path"), NULL, run_volume_stats),
    AGENT("ResizeVolume", FIELDS("volume_guest_path", "size"), NULL, run_resize_volume),
    AGENT("SetPolicy", NULL, NULL, run_set_policy),
};

static const struct ms_method ms_health_methods[] = {
    {.name = "Check",
     .fields = FIELDS("service"),
     .run = run_check,
     .ro = true,
     .svc = &grpc__health__descriptor},
    {.name = "Version",
     .fields = FIELDS("service"),
     .run = run_version,
     .ro = true,
     .svc = &grpc__health__descriptor},
};

static const struct ms_method *ms_find(const char *service, const char *method)
{
    bool agent = strcmp(service, MS_AGENT_SVC) == 0;
    const struct ms_method *v = agent ? ms_agent_methods : ms_health_methods;
    size_t n = agent ? VC_ELEMENTSOF(ms_agent_methods) : VC_ELEMENTSOF(ms_health_methods);

    /* The ttrpc server hands over the very name registered (from these tables): its address
     * finds the method without comparing strings; other callers fall back to comparing. */
    for (size_t i = 0; i < n; i++)
        if (v[i].name == method)
            return &v[i];
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, method) == 0)
            return &v[i];
    return NULL;
}

/* --- the server ------------------------------------------------------------------------------- */

int magent_server_new(struct vc_ctx *gctx, struct magent_host *host, struct magent_server **ret)
{
    struct magent_server *srv;

    _Static_assert(VC_ELEMENTSOF(ms_agent_methods) == MS_AGENT_RPCS, "AgentService has 42 RPCs");
    _Static_assert(VC_ELEMENTSOF(ms_health_methods) == MS_HEALTH_RPCS, "Health has 2 RPCs");
    if (!gctx || !host || !ret)
        return vc_err(gctx, -EINVAL, "mockagent server: missing context or host");
    if (!vc_ctx_loop(gctx))
        return vc_err(gctx, -EOPNOTSUPP, "mockagent server: the context has no loop");
    srv = vc_new0(gctx, struct magent_server, 1);
    if (!srv)
        return vc_err(gctx, -ENOMEM, "out of memory");
    srv->ctx = gctx;
    srv->host = host;
    for (size_t i = 0; i < VC_ELEMENTSOF(ms_agent_methods); i++)
        srv->agent_names[i] = ms_agent_methods[i].name;
    for (size_t i = 0; i < VC_ELEMENTSOF(ms_health_methods); i++)
        srv->health_names[i] = ms_health_methods[i].name;
    magent_host_set_notify(host, ms_notify, srv);
    *ret = srv;
    return 0;
}

void magent_server_free(struct magent_server *srv)
{
    const struct vc_loop *loop;

    if (!srv)
        return;
    loop = ms_loop(srv);
    magent_host_set_notify(srv->host, NULL, NULL);
    if (srv->kick)
        loop->ops->timer_cancel(loop->data, srv->kick);
    while (srv->n_binds)
        ms_bind_drop(srv->binds[srv->n_binds - 1], "server closed");
    vc_free(srv->ctx, srv->binds);
    vc_free(srv->ctx, srv);
}

/* The binding of cid's current guest, made on first use. */
static int ms_bind_get(struct magent_server *srv, uint32_t cid, struct ms_bind **ret)
{
    struct magent_guest *g = magent_host_guest(srv->host, cid);
    struct ms_bind *b = NULL, **v;
    int r;

    if (!g)
        return vc_err(srv->ctx, -ENOENT, "mockagent server: no guest with cid %u", cid);
    for (size_t i = 0; i < srv->n_binds; i++)
        if (srv->binds[i]->cid == cid && srv->binds[i]->gen == magent_guest_generation(g))
            return *ret = srv->binds[i], 0;
    v = vc_realloc(srv->ctx, srv->binds, (srv->n_binds + 1) * sizeof(*v));
    if (!v)
        return vc_err(srv->ctx, -ENOMEM, "out of memory");
    srv->binds = v;
    b = vc_new0(srv->ctx, struct ms_bind, 1);
    if (!b)
        return vc_err(srv->ctx, -ENOMEM, "out of memory");
    *b = (struct ms_bind){.srv = srv, .cid = cid, .gen = magent_guest_generation(g)};
    r = vc_ttrpc_server_new(srv->ctx, &b->tt);
    if (r >= 0)
        r = vc_ttrpc_server_register(b->tt, MS_AGENT_SVC, srv->agent_names, ms_handle, b);
    if (r >= 0)
        r = vc_ttrpc_server_register(b->tt, MS_HEALTH_SVC, srv->health_names, ms_handle, b);
    if (r < 0) {
        vc_ttrpc_server_free(b->tt);
        vc_free(srv->ctx, b);
        return r;
    }
    vc_ttrpc_server_set_recorder(b->tt, srv->rec_fn, srv->rec_data);
    srv->binds[srv->n_binds++] = b;
    *ret = b;
    return 0;
}

int magent_server_listen(struct magent_server *srv, uint32_t cid, struct vc_listener *l)
{
    struct ms_bind *b;
    int r;

    if (!srv || !l) {
        vc_listener_close(l);
        return -EINVAL;
    }
    r = ms_bind_get(srv, cid, &b);
    if (r < 0) {
        vc_listener_close(l);
        return r;
    }
    return vc_ttrpc_server_listen(b->tt, l);
}

int magent_server_serve(struct magent_server *srv, uint32_t cid, struct vc_stream *s)
{
    struct ms_bind *b;
    int r;

    if (!srv || !s) {
        vc_stream_close(s);
        return -EINVAL;
    }
    r = ms_bind_get(srv, cid, &b);
    if (r < 0) {
        vc_stream_close(s);
        return r;
    }
    return vc_ttrpc_server_serve(b->tt, s);
}

void magent_server_set_recorder(struct magent_server *srv, vc_ttrpc_frame_fn *fn, void *data)
{
    srv->rec_fn = fn;
    srv->rec_data = data;
    for (size_t i = 0; i < srv->n_binds; i++)
        vc_ttrpc_server_set_recorder(srv->binds[i]->tt, fn, data);
}

size_t magent_server_connections(const struct magent_server *srv)
{
    size_t n = 0;

    for (size_t i = 0; srv && i < srv->n_binds; i++)
        n += vc_ttrpc_server_connections(srv->binds[i]->tt);
    return n;
}

size_t magent_server_waiting(const struct magent_server *srv)
{
    return srv ? srv->n_waiting : 0;
}

void magent_server_stats(const struct magent_server *srv, struct vc_ttrpc_stats *ret)
{
    struct vc_ttrpc_stats st;

    *ret = srv->lost;
    for (size_t i = 0; i < srv->n_binds; i++) {
        vc_ttrpc_server_stats(srv->binds[i]->tt, &st);
        ret->frames_in += st.frames_in;
        ret->frames_out += st.frames_out;
        ret->bytes_in += st.bytes_in;
        ret->bytes_out += st.bytes_out;
        ret->calls += st.calls;
        ret->ignored += st.ignored;
        ret->oversized += st.oversized;
        ret->rejected += st.rejected;
    }
}
