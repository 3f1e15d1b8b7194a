/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated network (net.h): listeners by canonical address, connections as two bounded
 * byte queues whose chunks land in order by world events, readiness on virtual fds, and the
 * fault plan's byte-level actions at "net.connect" and "net.send". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>

#include <simhv/net.h>

#include "world_priv.h"

#define NET_NEVER      UINT64_MAX
#define NET_SCHEME_MAX 32                          /* bytes of a scheme name */
#define NET_BUF_MIN    4096                        /* first allocation of a receive buffer */
#define NET_HANG_NS    (60 * SIMHV_NS_PER_S)       /* a dropped attempt's default wait */
#define NET_BUF_MAX    (2 * SIMHV_NET_QUEUE_BYTES) /* unread plus in flight, duplicates included */

enum net_chunk_kind {
    NET_CHUNK_DATA,     /* bytes */
    NET_CHUNK_TRUNCATE, /* bytes, then the connection closes */
    NET_CHUNK_FIN,      /* the writer closed: the reader sees the end of the stream */
};

/* Bytes in flight. */
struct net_chunk {
    struct net_chunk *next; /* the next chunk of the direction */
    uint64_t at;            /* when it (its next piece, for a drip) lands; NET_NEVER: hung */
    uint64_t step_ns;       /* drip: time between pieces */
    size_t piece;           /* drip: bytes a piece; 0 lands whole */
    size_t len;             /* bytes */
    size_t off;             /* bytes landed so far */
    int kind;               /* enum net_chunk_kind */
    unsigned char data[];   /* the bytes */
};

struct net_conn;
struct simhv_net;

/* One direction of a connection: what end `side` writes and the other end reads. */
struct net_dir {
    struct net_conn *conn;  /* the connection */
    int side;               /* the writing end: 0 client, 1 server */
    struct net_chunk *head; /* in flight, oldest first */
    struct net_chunk *tail; /* newest in flight */
    size_t inflight;        /* bytes of the chunks in flight still to land */
    unsigned char *buf;     /* landed and unread: buf[start, start + n) */
    size_t start;           /* first unread byte */
    size_t n;               /* unread bytes */
    size_t cap;             /* bytes allocated at buf */
    uint64_t last_at;       /* when the newest chunk finishes landing (keeps the order) */
    uint64_t event;         /* pending landing event, 0 if none */
    bool eof;               /* the end of the stream landed: reads give 0 once buf is drained */
    bool fin;               /* the stream is over for the writer: writes fail with -EPIPE */
    bool shut;              /* the reader is gone: writes fail with -EPIPE, nothing lands */
    bool blocked;           /* a write fell short: tell the writer when space frees */
};

/* A stream end. */
struct net_end {
    struct vc_stream base;   /* first member */
    struct net_conn *conn;   /* its connection */
    struct simhv_ctx *owner; /* the simhv context of base.ctx, or NULL */
    int side;                /* 0 client, 1 server */
};

struct net_listener {
    struct vc_listener base;       /* first member */
    struct simhv_net *net;         /* the network */
    struct simhv_ctx *owner;       /* the simhv context of base.ctx, or NULL */
    struct net_listener *next;     /* the network's next listener */
    struct net_conn *backlog;      /* connections waiting for accept, oldest first */
    struct net_conn *backlog_tail; /* newest waiting */
    size_t n_backlog;              /* connections waiting */
    bool dead;                     /* torn down: listens no more, accept fails */
    char addr[];                   /* canonical address */
};

struct net_conn {
    struct simhv_net *net;         /* the network */
    struct net_conn *prev;         /* the network's previous connection */
    struct net_conn *next;         /* the network's next connection */
    struct net_conn *backlog_next; /* next in the listener's backlog */
    struct net_listener *listener; /* whose backlog it waits in, or NULL */
    uint64_t id;                   /* connection number, for the trace */
    struct net_end *end[2];        /* ends handed out: NULL before accept and after close */
    bool gone[2];                  /* the end closed, or will never be accepted */
    bool reset;                    /* reset: both ends fail with -ECONNRESET */
    struct net_dir dir[2];         /* dir[i]: the bytes end i writes */
    char addr[];                   /* the listener's canonical address */
};

struct simhv_net {
    struct simhv_world *w;          /* the world */
    struct simhv_ctx **ctxs;        /* contexts attached */
    size_t n_ctxs;                  /* number of ctxs */
    struct net_listener *listeners; /* listeners not yet closed */
    struct net_conn *conns;         /* connections not yet freed */
    uint64_t next_id;               /* number of the last connection made */
    struct simhv_net_stats stats;   /* counters */
};

/* What the plan asked a chunk to go through. */
struct net_send {
    uint64_t extra_ns; /* delay: lands this much later */
    uint64_t drip_ns;  /* drip: spread over this long (0: no drip) */
    bool hang;         /* never lands */
    bool drop;         /* vanishes */
    bool truncate;     /* half lands, then the connection closes */
    bool corrupt;      /* one bit flips */
    bool duplicate;    /* lands twice */
};

static const struct vc_net_ops net_ops;

static uint64_t net_add(uint64_t a, uint64_t b)
{
    return a > NET_NEVER - b ? NET_NEVER : a + b;
}

static const char *net_ctx_name(const struct simhv_ctx *c)
{
    return c ? c->name : "?";
}

static bool net_crashed(const struct simhv_ctx *c)
{
    return c && c->crashed;
}

/* The world's network: the one its contexts carry. */
static struct simhv_net *net_of(const struct simhv_world *w)
{
    for (size_t i = 0; w && i < w->n_ctxs; i++) {
        const struct vc_net *n = w->ctxs[i]->vc ? vc_ctx_net(w->ctxs[i]->vc) : NULL;

        if (n && n->ops == &net_ops)
            return n->data;
    }
    return NULL;
}

/* --- addresses ------------------------------------------------------------------------------ */

/* A decimal number in [s, end) within 32 bits; "-1" is UINT32_MAX when any is allowed. */
static int net_u32(const char *s, const char *end, bool any, uint32_t *ret)
{
    uint64_t v = 0;

    if (any && end - s == 2 && s[0] == '-' && s[1] == '1') {
        *ret = UINT32_MAX;
        return 0;
    }
    if (s == end)
        return -EINVAL;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t) (*s - '0');
        if (v > UINT32_MAX)
            return -EINVAL;
    }
    *ret = (uint32_t) v;
    return 0;
}

/* The scheme of url, lower-cased into scheme (NET_SCHEME_MAX bytes); *ret_rest after "://". */
static int net_scheme(const char *url, char *scheme, const char **ret_rest)
{
    const char *sep = strstr(url, "://");
    size_t n = sep ? (size_t) (sep - url) : 0;

    if (n == 0 || n >= NET_SCHEME_MAX || !sep[3])
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = url[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char) (ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))))
            return -EINVAL;
        scheme[i] = ch;
    }
    scheme[n] = '\0';
    *ret_rest = sep + 3;
    return 0;
}

int simhv_net_normalize(const char *url, char *buf, size_t size)
{
    char scheme[NET_SCHEME_MAX];
    const char *rest, *colon, *end;
    uint32_t cid, port;
    int n;

    if (!url || !buf || strnlen(url, SIMHV_NET_ADDR_MAX) >= SIMHV_NET_ADDR_MAX ||
        net_scheme(url, scheme, &rest) < 0)
        return -EINVAL;
    end = rest + strlen(rest);
    if (strcmp(scheme, "vsock") == 0) {
        colon = strchr(rest, ':');
        if (!colon || net_u32(rest, colon, true, &cid) < 0 ||
            net_u32(colon + 1, end, false, &port) < 0 || port == 0)
            return -EINVAL;
        n = snprintf(buf, size, "vsock://%" PRIu32 ":%" PRIu32, cid, port);
    } else if (strcmp(scheme, "hvsock") == 0) {
        colon = strrchr(rest, ':');
        if (!colon || colon == rest || net_u32(colon + 1, end, false, &port) < 0 || port == 0)
            return -EINVAL;
        n = snprintf(buf, size, "hvsock://%.*s:%" PRIu32, (int) (colon - rest), rest, port);
    } else {
        n = snprintf(buf, size, "%s://%s", scheme, rest);
    }
    return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* --- directions ----------------------------------------------------------------------------- */

static void end_ready(const struct net_end *e, unsigned events)
{
    if (e)
        simhv_world_vfd_ready(e->conn->net->w, e->base.fd, events);
}

/* Bytes the writer may still put in: the queue bounds bytes in flight plus unread. */
static size_t dir_space(const struct net_dir *d)
{
    size_t used = d->inflight + d->n;

    return used >= SIMHV_NET_QUEUE_BYTES ? 0 : SIMHV_NET_QUEUE_BYTES - used;
}

static void dir_land(void *data);

/* Schedules the landing of the head chunk (a hung head waits forever). */
static void dir_schedule(struct net_dir *d)
{
    struct simhv_world *w = d->conn->net->w;

    if (d->event || !d->head || d->head->at == NET_NEVER)
        return;
    /* On -ENOMEM the direction stalls, as a hung chunk would. */
    (void) simhv_world_schedule(w, d->head->at, dir_land, d, &d->event);
}

/* Drops what is in flight (landed bytes stay readable). */
static void dir_clear_flight(struct net_dir *d)
{
    struct net_chunk *ch = d->head;

    simhv_world_cancel(d->conn->net->w, d->event);
    d->event = 0;
    while (ch) {
        struct net_chunk *next = ch->next;

        free(ch);
        ch = next;
    }
    d->head = d->tail = NULL;
    d->inflight = 0;
}

/* Drops everything: in flight and unread. */
static void dir_clear(struct net_dir *d)
{
    dir_clear_flight(d);
    free(d->buf);
    d->buf = NULL;
    d->start = d->n = d->cap = 0;
}

/* Makes room for everything in flight plus extra landing bytes, so landing never allocates. */
static int dir_reserve(struct net_dir *d, size_t extra)
{
    size_t need = d->n + d->inflight + extra, cap = d->cap ? d->cap : NET_BUF_MIN;
    unsigned char *b;

    if (need <= d->cap)
        return 0;
    if (need > NET_BUF_MAX)
        return -ENOBUFS;
    while (cap < need)
        cap *= 2;
    b = malloc(cap);
    if (!b)
        return -ENOMEM;
    if (d->n)
        memcpy(b, d->buf + d->start, d->n);
    free(d->buf);
    d->buf = b;
    d->start = 0;
    d->cap = cap;
    return 0;
}

static void dir_append(struct net_dir *d, const unsigned char *p, size_t k)
{
    if (!k)
        return;
    if (d->start + d->n + k > d->cap) {
        memmove(d->buf, d->buf + d->start, d->n);
        d->start = 0;
    }
    memcpy(d->buf + d->start + d->n, p, k);
    d->n += k;
}

/* Queues ch behind everything in flight: it never lands before them. */
static void dir_queue(struct net_dir *d, struct net_chunk *ch)
{
    size_t pieces = ch->piece ? (ch->len + ch->piece - 1) / ch->piece : 1;

    if (ch->at < d->last_at)
        ch->at = d->last_at;
    d->last_at =
        ch->at == NET_NEVER ? NET_NEVER : net_add(ch->at, ch->step_ns * (pieces ? pieces - 1 : 0));
    ch->next = NULL;
    if (d->tail)
        d->tail->next = ch;
    else
        d->head = ch;
    d->tail = ch;
    d->inflight += ch->len;
    dir_schedule(d);
}

static struct net_chunk *chunk_new(const void *p, size_t len, int kind, uint64_t at)
{
    struct net_chunk *ch = malloc(sizeof(*ch) + len);

    if (!ch)
        return NULL;
    *ch = (struct net_chunk){.at = at, .len = len, .kind = kind};
    if (len)
        memcpy(ch->data, p, len);
    return ch;
}

/* --- connections ---------------------------------------------------------------------------- */

static void net_trace_conn(const struct net_conn *cn, const char *name, const char *what)
{
    simhv_world_trace(cn->net->w, "net", name, "#%" PRIu64 " %s %s", cn->id, cn->addr, what);
}

/* Takes cn out of its listener's backlog: it will never be accepted. */
static void conn_unqueue(struct net_conn *cn)
{
    struct net_listener *l = cn->listener;
    struct net_conn **pp, *prev = NULL;

    if (!l)
        return;
    for (pp = &l->backlog; *pp && *pp != cn; pp = &(*pp)->backlog_next)
        prev = *pp;
    if (*pp) {
        *pp = cn->backlog_next;
        if (l->backlog_tail == cn)
            l->backlog_tail = prev;
        l->n_backlog--;
        cn->net->stats.backlog--;
    }
    cn->backlog_next = NULL;
    cn->listener = NULL;
    cn->gone[1] = true;
}

/* Frees cn once both ends are gone. */
static void conn_maybe_free(struct net_conn *cn)
{
    struct simhv_net *net = cn->net;

    if (!cn->gone[0] || !cn->gone[1])
        return;
    dir_clear(&cn->dir[0]);
    dir_clear(&cn->dir[1]);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        net->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    net->stats.connections--;
    free(cn);
}

/* Resets cn: everything in flight and unread is lost, both ends fail with -ECONNRESET, a
 * connection not yet accepted never will be. The caller frees it with conn_maybe_free. */
static void conn_reset(struct net_conn *cn, const char *why)
{
    if (cn->reset)
        return;
    cn->reset = true;
    cn->net->stats.resets++;
    dir_clear(&cn->dir[0]);
    dir_clear(&cn->dir[1]);
    conn_unqueue(cn);
    net_trace_conn(cn, "reset", why);
    end_ready(cn->end[0], VC_IO_IN | VC_IO_OUT | VC_IO_ERR);
    end_ready(cn->end[1], VC_IO_IN | VC_IO_OUT | VC_IO_ERR);
}

/* A truncated chunk landed in d: the connection closes as if its writer had closed it. The
 * reader sees the end of the stream now; the writer's writes fail with -EPIPE and it reads the
 * end of the stream after what was already on its way to it. */
static void conn_truncated(struct net_conn *cn, struct net_dir *d)
{
    struct net_dir *back = &cn->dir[1 - d->side];
    struct net_chunk *fin;

    dir_clear_flight(d);
    d->eof = true;
    d->fin = true;
    if (!back->fin && !back->shut) {
        fin = chunk_new(NULL, 0, NET_CHUNK_FIN,
                        net_add(simhv_world_now(cn->net->w), SIMHV_NET_LATENCY_NS));
        if (fin)
            dir_queue(back, fin);
        else
            back->eof = true; /* no memory for the FIN: the end shows at once */
    }
    back->fin = true;
    net_trace_conn(cn, "close", "after truncate");
    end_ready(cn->end[d->side], VC_IO_OUT);
    end_ready(cn->end[1 - d->side], VC_IO_IN | VC_IO_OUT);
}

/* The landing event of d's head chunk (or of one piece of it). */
static void dir_land(void *data)
{
    struct net_dir *d = data;
    struct net_conn *cn = d->conn;
    struct net_chunk *ch = d->head;
    const struct net_end *reader = cn->end[1 - d->side];
    size_t k;
    int kind;

    d->event = 0;
    if (!ch)
        return;
    if (ch->kind != NET_CHUNK_FIN) {
        k = ch->len - ch->off;
        if (ch->piece && k > ch->piece)
            k = ch->piece;
        dir_append(d, ch->data + ch->off, k);
        ch->off += k;
        d->inflight -= k;
        cn->net->stats.bytes_delivered += k;
        if (ch->off < ch->len) {
            ch->at = net_add(simhv_world_now(cn->net->w), ch->step_ns);
            dir_schedule(d);
            end_ready(reader, VC_IO_IN);
            return;
        }
    }
    d->head = ch->next;
    if (!d->head)
        d->tail = NULL;
    kind = ch->kind;
    free(ch);
    if (kind == NET_CHUNK_FIN)
        d->eof = true;
    if (kind == NET_CHUNK_TRUNCATE)
        conn_truncated(cn, d);
    else
        dir_schedule(d);
    end_ready(reader, VC_IO_IN);
}

/* --- streams -------------------------------------------------------------------------------- */

static int end_err(struct net_end *e, int r, const char *what)
{
    return vc_err(e->base.ctx, r, "sim connection #%" PRIu64 " to '%s': %s", e->conn->id,
                  e->conn->addr, what);
}

static ssize_t net_read(struct vc_stream *s, void *buf, size_t len)
{
    struct net_end *e = (struct net_end *) s;
    struct net_conn *cn = e->conn;
    struct net_dir *in = &cn->dir[1 - e->side];
    size_t k;

    if (net_crashed(e->owner))
        return -ECANCELED;
    if (cn->reset)
        return end_err(e, -ECONNRESET, "reset");
    if (len == 0)
        return 0;
    if (in->n == 0)
        return in->eof ? 0 : -EAGAIN;
    k = len < in->n ? len : in->n;
    memcpy(buf, in->buf + in->start, k);
    in->start += k;
    in->n -= k;
    if (in->n == 0)
        in->start = 0;
    if (in->blocked) {
        in->blocked = false;
        end_ready(cn->end[1 - e->side], VC_IO_OUT);
    }
    /* Edge-triggered readiness: still readable after this read, so say it again. */
    if (in->n || in->eof)
        end_ready(e, VC_IO_IN);
    return (ssize_t) k;
}

/* The state that fails a write, or 0. */
static int end_write_state(struct net_end *e)
{
    const struct net_dir *d = &e->conn->dir[e->side];

    if (net_crashed(e->owner))
        return -ECANCELED;
    if (e->conn->reset)
        return end_err(e, -ECONNRESET, "reset");
    if (d->shut || d->fin)
        return end_err(e, -EPIPE, "the peer closed the connection");
    return 0;
}

/* The plan's say on one chunk: 0 with *spec filled, or the -errno the write fails with. */
static int end_send_fault(struct net_end *e, struct net_send *spec)
{
    struct simhv_world *w = e->conn->net->w;
    struct simhv_fault_hit hit;
    int r;

    if ((e->owner && e->owner->suspended) || !simhv_world_fault_eval(w, e->owner, "net.send", &hit))
        return 0;
    switch (hit.action) {
    case SIMHV_ACTION_DELAY:
        spec->extra_ns = hit.delay_ns;
        return 0;
    case SIMHV_ACTION_HANG:
        spec->hang = true;
        return 0;
    case SIMHV_ACTION_RESET:
        conn_reset(e->conn, "by fault");
        return end_err(e, -ECONNRESET, "reset by an injected fault");
    case SIMHV_ACTION_DROP:
        spec->drop = true;
        return 0;
    case SIMHV_ACTION_TRUNCATE:
        spec->truncate = true;
        return 0;
    case SIMHV_ACTION_CORRUPT:
        spec->corrupt = true;
        return 0;
    case SIMHV_ACTION_DUPLICATE:
        spec->duplicate = true;
        return 0;
    case SIMHV_ACTION_DRIP:
        spec->drip_ns = hit.delay_ns ? hit.delay_ns : SIMHV_NET_DRIP_NS;
        return 0;
    default:
        r = simhv_world_fault_apply(w, e->owner, "net.send", &hit);
        if (r < 0)
            return end_err(e, r, "injected fault");
        /* The fault acted on the world (a VM died): the connection may be gone now. */
        return end_write_state(e);
    }
}

/* Queues n bytes of buf as the plan says. 0 or -ENOMEM/-ENOBUFS (nothing queued). */
static int end_send(struct net_end *e, const unsigned char *buf, size_t n,
                    const struct net_send *spec)
{
    struct net_conn *cn = e->conn;
    struct net_dir *d = &cn->dir[e->side];
    struct simhv_world *w = cn->net->w;
    size_t plen = spec->truncate ? n / 2 : n;
    struct net_chunk *ch, *dup = NULL;
    uint64_t at;
    int r;

    if (spec->drop) {
        simhv_world_trace(w, "net", "drop", "#%" PRIu64 " %zu bytes", cn->id, n);
        return 0;
    }
    r = dir_reserve(d, spec->duplicate ? 2 * plen : plen);
    if (r < 0)
        return r;
    at = net_add(simhv_world_now(w), SIMHV_NET_LATENCY_NS + plen * SIMHV_NET_BYTE_NS);
    at = spec->hang ? NET_NEVER : net_add(at, spec->extra_ns);
    ch = chunk_new(buf, plen, spec->truncate ? NET_CHUNK_TRUNCATE : NET_CHUNK_DATA, at);
    if (ch && spec->duplicate)
        dup = chunk_new(buf, plen, NET_CHUNK_DATA, at);
    if (!ch || (spec->duplicate && !dup)) {
        free(ch);
        return -ENOMEM;
    }
    if (spec->corrupt) {
        uint64_t pos = simhv_world_uniform(w, 0, plen - 1), bit = simhv_world_uniform(w, 0, 7);

        ch->data[pos] ^= (unsigned char) (1u << bit);
        simhv_world_trace(w, "net", "corrupt",
                          "#%" PRIu64 " byte %" PRIu64 " bit %" PRIu64 " of %zu", cn->id, pos, bit,
                          plen);
    }
    if (spec->drip_ns && plen > 1) {
        size_t pieces;

        ch->piece = (plen + SIMHV_NET_DRIP_PIECES - 1) / SIMHV_NET_DRIP_PIECES;
        pieces = (plen + ch->piece - 1) / ch->piece;
        ch->step_ns = spec->drip_ns / (pieces - 1); /* plen > 1 makes at least 2 pieces */
        simhv_world_trace(w, "net", "drip", "#%" PRIu64 " %zu bytes in %zu pieces", cn->id, plen,
                          pieces);
    }
    if (spec->truncate)
        simhv_world_trace(w, "net", "truncate", "#%" PRIu64 " %zu of %zu bytes", cn->id, plen, n);
    if (spec->hang)
        simhv_world_trace(w, "net", "hang", "#%" PRIu64 " %zu bytes", cn->id, n);
    if (spec->extra_ns)
        simhv_world_trace(w, "net", "delay", "#%" PRIu64 " %zu bytes by %" PRIu64 " ns", cn->id, n,
                          spec->extra_ns);
    if (dup)
        simhv_world_trace(w, "net", "duplicate", "#%" PRIu64 " %zu bytes", cn->id, n);
    dir_queue(d, ch);
    if (dup)
        dir_queue(d, dup);
    return 0;
}

static ssize_t net_write(struct vc_stream *s, const void *buf, size_t len)
{
    struct net_end *e = (struct net_end *) s;
    struct net_dir *d = &e->conn->dir[e->side];
    struct net_send spec = {0};
    size_t n;
    int r = end_write_state(e);

    if (r < 0)
        return r;
    if (len == 0)
        return 0;
    n = dir_space(d);
    if (n == 0) {
        d->blocked = true;
        return -EAGAIN;
    }
    if (n > len)
        n = len;
    r = end_send_fault(e, &spec);
    if (r >= 0)
        r = end_send(e, buf, n, &spec);
    if (r < 0)
        return r == -ENOBUFS || r == -ENOMEM ? end_err(e, r, "no memory for the chunk") : r;
    e->conn->net->stats.bytes_written += n;
    if (n < len)
        d->blocked = true;
    else if (dir_space(d))
        end_ready(e, VC_IO_OUT);
    return (ssize_t) n;
}

/* Closes end e and frees it. A graceful close sends the end of the stream behind the bytes in
 * flight and loses what was coming in; a forced one (the owner's process is gone) resets. */
static void end_close(struct net_end *e, bool force)
{
    struct net_conn *cn = e->conn;
    struct simhv_net *net = cn->net;
    struct net_dir *out = &cn->dir[e->side], *in = &cn->dir[1 - e->side];
    struct net_chunk *fin = NULL;
    int side = e->side;

    force = force || net_crashed(e->owner);
    if (!cn->reset && !force && !out->fin && !out->shut) {
        fin = chunk_new(NULL, 0, NET_CHUNK_FIN,
                        net_add(simhv_world_now(net->w), SIMHV_NET_LATENCY_NS));
        force = !fin;
    }
    if (!cn->reset && force) {
        conn_reset(cn, "owner gone");
    } else if (!cn->reset) {
        if (fin)
            dir_queue(out, fin);
        out->fin = true;
        dir_clear(in);
        in->shut = true;
        in->blocked = false;
        end_ready(cn->end[1 - side], VC_IO_OUT);
    }
    simhv_world_trace(net->w, "net", "close", "#%" PRIu64 " [%s] %s", cn->id,
                      net_ctx_name(e->owner), side ? "server" : "client");
    simhv_world_vfd_close(net->w, e->base.fd);
    cn->end[side] = NULL;
    cn->gone[side] = true;
    net->stats.streams--;
    vc_free(e->base.ctx, e);
    conn_maybe_free(cn);
}

static void net_stream_close(struct vc_stream *s)
{
    end_close((struct net_end *) s, false);
}

static const struct vc_stream_ops net_stream_ops = {
    .version = VC_STREAM_OPS_V1,
    .name = "sim",
    .read = net_read,
    .write = net_write,
    .close = net_stream_close,
};

/* A stream end of cn on ctx: 0, -ENOMEM or -EMFILE (nothing changed). */
static int end_new(struct net_conn *cn, struct vc_ctx *ctx, int side, struct net_end **ret)
{
    struct net_end *e = vc_new0(ctx, struct net_end, 1);
    int fd, r;

    if (!e)
        return -ENOMEM;
    r = simhv_world_vfd_new(cn->net->w, &fd);
    if (r < 0) {
        vc_free(ctx, e);
        return vc_err(ctx, r, "sim network: no virtual fd for a stream");
    }
    *e = (struct net_end){
        .base = {.ops = &net_stream_ops, .ctx = ctx, .fd = fd},
        .conn = cn,
        .owner = simhv_ctx_find(cn->net->w, ctx),
        .side = side,
    };
    cn->end[side] = e;
    cn->net->stats.streams++;
    *ret = e;
    return 0;
}

/* --- listeners ------------------------------------------------------------------------------ */

static struct net_listener *net_find_listener(const struct simhv_net *net, const char *addr)
{
    for (struct net_listener *l = net->listeners; l; l = l->next)
        if (!l->dead && strcmp(l->addr, addr) == 0)
            return l;
    return NULL;
}

/* Resets every connection waiting in l's backlog; returns how many. */
static size_t listener_flush(struct net_listener *l, const char *why)
{
    size_t n = 0;

    for (; l->backlog; n++) {
        struct net_conn *cn = l->backlog;

        conn_unqueue(cn);
        conn_reset(cn, why);
        conn_maybe_free(cn);
    }
    return n;
}

static int net_accept(struct vc_listener *vl, struct vc_stream **ret)
{
    struct net_listener *l = (struct net_listener *) vl;
    struct net_conn *cn = l->backlog;
    struct net_end *e;
    unsigned ready = 0;
    int r;

    if (net_crashed(l->owner))
        return -ECANCELED;
    if (l->dead)
        return vc_err(vl->ctx, -ECONNABORTED, "sim listener '%s' was torn down", l->addr);
    if (!cn)
        return -EAGAIN;
    r = end_new(cn, vl->ctx, 1, &e);
    if (r < 0)
        return r;
    l->backlog = cn->backlog_next;
    if (!l->backlog)
        l->backlog_tail = NULL;
    l->n_backlog--;
    l->net->stats.backlog--;
    cn->backlog_next = NULL;
    cn->listener = NULL;
    simhv_world_trace(l->net->w, "net", "accept", "#%" PRIu64 " [%s]", cn->id,
                      net_ctx_name(l->owner));
    ready = VC_IO_OUT;
    if (cn->dir[0].n || cn->dir[0].eof)
        ready |= VC_IO_IN;
    end_ready(e, ready);
    if (l->backlog)
        simhv_world_vfd_ready(l->net->w, vl->fd, VC_IO_IN);
    *ret = &e->base;
    return 0;
}

static void net_listener_close(struct vc_listener *vl)
{
    struct net_listener *l = (struct net_listener *) vl, **pp;
    struct simhv_net *net = l->net;

    (void) listener_flush(l, "listener closed");
    for (pp = &net->listeners; *pp && *pp != l; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = l->next;
    net->stats.listeners--;
    simhv_world_trace(net->w, "net", "unlisten", "[%s] %s", net_ctx_name(l->owner), l->addr);
    simhv_world_vfd_close(net->w, vl->fd);
    vc_free(vl->ctx, l);
}

static const struct vc_listener_ops net_listener_ops = {
    .version = VC_LISTENER_OPS_V1,
    .name = "sim",
    .accept = net_accept,
    .close = net_listener_close,
};

static int net_listen(void *data, struct vc_ctx *ctx, const char *url, struct vc_listener **ret)
{
    struct simhv_net *net = data;
    struct simhv_ctx *c = simhv_ctx_find(net->w, ctx);
    char addr[SIMHV_NET_ADDR_MAX];
    struct net_listener *l;
    size_t len;
    int fd, r;

    if (net_crashed(c))
        return -ECANCELED;
    if (simhv_net_normalize(url, addr, sizeof(addr)) < 0)
        return vc_err(ctx, -EINVAL, "listen on '%s': not a valid address", url);
    if (net_find_listener(net, addr))
        return vc_err(ctx, -EADDRINUSE, "listen on '%s': someone is listening there", url);
    len = strlen(addr) + 1;
    l = vc_malloc(ctx, sizeof(*l) + len);
    if (!l)
        return -ENOMEM;
    r = simhv_world_vfd_new(net->w, &fd);
    if (r < 0) {
        vc_free(ctx, l);
        return vc_err(ctx, r, "listen on '%s': no virtual fd", url);
    }
    *l = (struct net_listener){
        .base = {.ops = &net_listener_ops, .ctx = ctx, .fd = fd},
        .net = net,
        .owner = c,
        .next = net->listeners,
    };
    memcpy(l->addr, addr, len);
    net->listeners = l;
    net->stats.listeners++;
    simhv_world_trace(net->w, "net", "listen", "[%s] %s", net_ctx_name(c), addr);
    *ret = &l->base;
    return 0;
}

/* --- connecting ----------------------------------------------------------------------------- */

/* Waits ns on ctx's loop, but not past deadline (then -ETIMEDOUT). */
static int net_wait(struct vc_ctx *ctx, const char *url, uint64_t ns, uint64_t deadline)
{
    uint64_t until = net_add(vc_now(ctx), ns);
    int r = vc_ctx_sleep_until(ctx, until < deadline ? until : deadline);

    if (r < 0)
        return r;
    if (until > deadline)
        return vc_err(ctx, -ETIMEDOUT, "connect to '%s': no answer by the deadline", url);
    return 0;
}

/* The plan's say on one attempt: 0 to go on (*lat_ns may grow), or the -errno it fails with. */
static int net_connect_fault(struct simhv_net *net, struct vc_ctx *ctx, const char *url,
                             uint64_t deadline, uint64_t *lat_ns)
{
    struct simhv_ctx *c = simhv_ctx_find(net->w, ctx);
    struct simhv_fault_hit hit;
    int r;

    if ((c && c->suspended) || !simhv_world_fault_eval(net->w, c, "net.connect", &hit))
        return 0;
    switch (hit.action) {
    case SIMHV_ACTION_DELAY:
        *lat_ns = net_add(*lat_ns, hit.delay_ns);
        return 0;
    case SIMHV_ACTION_HANG:
    case SIMHV_ACTION_DROP:
        r = net_wait(ctx, url, hit.delay_ns ? hit.delay_ns : NET_HANG_NS, deadline);
        return r < 0 ? r : vc_err(ctx, -ETIMEDOUT, "connect to '%s': no answer", url);
    case SIMHV_ACTION_RESET:
        return vc_err(ctx, -ECONNRESET, "connect to '%s': reset by an injected fault", url);
    default:
        r = simhv_world_fault_apply(net->w, c, "net.connect", &hit);
        return r < 0 ? vc_err(ctx, r, "connect to '%s': injected fault", url) : 0;
    }
}

/* A connection from ctx to l: the client end is returned, the server's waits for accept. */
static int net_conn_new(struct simhv_net *net, struct vc_ctx *ctx, struct net_listener *l,
                        struct vc_stream **ret)
{
    size_t len = strlen(l->addr) + 1;
    struct net_conn *cn = calloc(1, sizeof(*cn) + len);
    struct net_end *e;
    int r;

    if (!cn)
        return vc_err(ctx, -ENOMEM, "connect to '%s': out of memory", l->addr);
    cn->net = net;
    memcpy(cn->addr, l->addr, len);
    for (int i = 0; i < 2; i++)
        cn->dir[i] = (struct net_dir){.conn = cn, .side = i};
    r = end_new(cn, ctx, 0, &e);
    if (r < 0) {
        free(cn);
        return r;
    }
    cn->id = ++net->next_id;
    cn->next = net->conns;
    if (net->conns)
        net->conns->prev = cn;
    net->conns = cn;
    cn->listener = l;
    if (l->backlog_tail)
        l->backlog_tail->backlog_next = cn;
    else
        l->backlog = cn;
    l->backlog_tail = cn;
    l->n_backlog++;
    net->stats.backlog++;
    net->stats.connections++;
    net->stats.connects++;
    simhv_world_trace(net->w, "net", "connect", "#%" PRIu64 " [%s] %s", cn->id,
                      net_ctx_name(e->owner), cn->addr);
    simhv_world_vfd_ready(net->w, l->base.fd, VC_IO_IN);
    end_ready(e, VC_IO_OUT);
    *ret = &e->base;
    return 0;
}

static int net_connect(void *data, struct vc_ctx *ctx, const char *url, uint64_t deadline,
                       struct vc_stream **ret)
{
    struct simhv_net *net = data;
    char addr[SIMHV_NET_ADDR_MAX];
    uint64_t lat = SIMHV_NET_CONNECT_NS;
    struct net_listener *l;
    int r;

    if (net_crashed(simhv_ctx_find(net->w, ctx)))
        return -ECANCELED;
    if (simhv_net_normalize(url, addr, sizeof(addr)) < 0)
        return vc_err(ctx, -EINVAL, "connect to '%s': not a valid address", url);
    r = net_connect_fault(net, ctx, url, deadline, &lat);
    if (r >= 0)
        r = net_wait(ctx, url, lat, deadline);
    if (r < 0)
        return r;
    l = net_find_listener(net, addr);
    if (!l) {
        net->stats.refused++;
        simhv_world_trace(net->w, "net", "refused", "[%s] %s",
                          net_ctx_name(simhv_ctx_find(net->w, ctx)), addr);
        return vc_err(ctx, -ECONNREFUSED, "connect to '%s': nobody listens there", url);
    }
    if (l->n_backlog >= SIMHV_NET_BACKLOG)
        return vc_err(ctx, -EAGAIN, "connect to '%s': the listener's backlog is full", url);
    return net_conn_new(net, ctx, l, ret);
}

static const struct vc_net_ops net_ops = {
    .connect = net_connect,
    .listen = net_listen,
};

/* --- the world's network -------------------------------------------------------------------- */

void simhv_net_stats(const struct simhv_world *w, struct simhv_net_stats *ret)
{
    const struct simhv_net *net = net_of(w);

    *ret = net ? net->stats : (struct simhv_net_stats){0};
}

size_t simhv_net_stream_count(const struct simhv_world *w)
{
    const struct simhv_net *net = net_of(w);

    return net ? net->stats.streams : 0;
}

size_t simhv_net_listener_count(const struct simhv_world *w)
{
    const struct simhv_net *net = net_of(w);

    return net ? net->stats.listeners : 0;
}

size_t simhv_net_reset_address(struct simhv_world *w, const char *pattern)
{
    struct simhv_net *net = net_of(w);
    char key[SIMHV_NET_ADDR_MAX];
    const char *pat = pattern;
    struct net_conn *cn, *next;
    size_t count = 0;

    if (!net || !pattern)
        return 0;
    if (!strchr(pattern, '*') && simhv_net_normalize(pattern, key, sizeof(key)) == 0)
        pat = key;
    for (struct net_listener *l = net->listeners; l; l = l->next) {
        if (l->dead || !simhv_glob(pat, l->addr))
            continue;
        l->dead = true;
        simhv_world_trace(w, "net", "teardown", "[%s] %s", net_ctx_name(l->owner), l->addr);
        count += 1 + listener_flush(l, "address torn down");
        simhv_world_vfd_ready(w, l->base.fd, VC_IO_IN | VC_IO_ERR);
    }
    for (cn = net->conns; cn; cn = next) {
        next = cn->next;
        if (cn->reset || !simhv_glob(pat, cn->addr))
            continue;
        count++;
        conn_reset(cn, "address torn down");
        conn_maybe_free(cn);
    }
    return count;
}

size_t simhv_net_reset_vsock_cid(struct simhv_world *w, uint32_t cid)
{
    char pat[sizeof("vsock://4294967295:*")];

    (void) snprintf(pat, sizeof(pat), "vsock://%" PRIu32 ":*", cid);
    return simhv_net_reset_address(w, pat);
}

int simhv_net_attach(struct simhv_ctx *c)
{
    struct simhv_net *net = net_of(c->w);
    struct simhv_ctx **v;

    if (!net) {
        net = calloc(1, sizeof(*net));
        if (!net)
            return -ENOMEM;
        net->w = c->w;
    }
    v = realloc(net->ctxs, (net->n_ctxs + 1) * sizeof(*v));
    if (!v) {
        if (!net->n_ctxs)
            free(net);
        return -ENOMEM;
    }
    v[net->n_ctxs++] = c;
    net->ctxs = v;
    vc_ctx_set_net(c->vc, &(struct vc_net){.ops = &net_ops, .data = net});
    return 0;
}

/* Closes what c owns: its streams reset (its process is gone), its listeners close. */
static void net_drop_owned(struct simhv_net *net, const struct vc_ctx *vc)
{
    struct net_conn *cn, *next;
    struct net_listener *l, *lnext;

    for (cn = net->conns; cn; cn = next) {
        struct net_end *e0 = cn->end[0] && cn->end[0]->base.ctx == vc ? cn->end[0] : NULL;
        struct net_end *e1 = cn->end[1] && cn->end[1]->base.ctx == vc ? cn->end[1] : NULL;

        /* Closing an end may free cn (never another connection): read next first, and
         * close end 0 first, as cn outlives that close while end 1 is still open. */
        next = cn->next;
        if (e0)
            end_close(e0, true);
        if (e1)
            end_close(e1, true);
    }
    for (l = net->listeners; l; l = lnext) {
        lnext = l->next;
        if (l->base.ctx == vc)
            net_listener_close(&l->base);
    }
}

static void net_free(struct simhv_net *net)
{
    while (net->conns) {
        struct net_conn *cn = net->conns;

        cn->gone[0] = cn->gone[1] = true;
        conn_maybe_free(cn);
    }
    free(net->ctxs);
    free(net);
}

void simhv_net_detach(struct simhv_ctx *c)
{
    const struct vc_net *vn = c && c->vc ? vc_ctx_net(c->vc) : NULL;
    struct simhv_net *net = vn && vn->ops == &net_ops ? vn->data : NULL;
    size_t i;

    if (!net && c)
        net = net_of(c->w);
    if (!net)
        return;
    for (i = 0; i < net->n_ctxs && net->ctxs[i] != c; i++)
        ;
    if (i == net->n_ctxs)
        return;
    net_drop_owned(net, c->vc);
    memmove(&net->ctxs[i], &net->ctxs[i + 1], (net->n_ctxs - i - 1) * sizeof(net->ctxs[0]));
    net->n_ctxs--;
    vc_ctx_set_net(c->vc, NULL);
    if (net->n_ctxs == 0)
        net_free(net);
}
