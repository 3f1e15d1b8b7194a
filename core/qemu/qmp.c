/* SPDX-License-Identifier: Apache-2.0 */
/* The QMP client (qmp.h): lines are read until the stream runs dry (readiness may be
 * edge-triggered, as in simulation) and parsed by json-c under length and depth limits;
 * commands are matched to replies by id, each with a loop timer; events go to waiters or into a
 * bounded buffer. Callbacks run from the loop only; a busy count defers freeing the client while
 * its own code is on the stack. Deterministic: time and I/O only through the context. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/log.h>
#include <vc/stream.h>

#include "qmp.h"

#define VC_LOG_TOPIC "qemu.qmp"

#define QMP_IN_INITIAL (64u << 10)           /* first size of the input buffer */
#define QMP_IN_CAP_MAX (VC_QMP_LINE_MAX + 1) /* the input buffer never grows beyond */
#define QMP_READ_MIN   4096u                 /* grow the input buffer below this much room */
#define QMP_MSG_MAX    192                   /* bytes of a failure's text */
#define QMP_NS_PER_MS  1000000ull

/* One command in flight. */
struct qmp_cmd {
    struct vc_qmp *q;     /* the client */
    uint64_t id;          /* the "id" it was sent with */
    char *name;           /* the command name, for messages and traces */
    vc_qmp_done_fn *fn;   /* completion callback */
    void *data;           /* passed to fn */
    uint64_t start_ns;    /* when it was started */
    uint64_t timer;       /* deadline timer id */
    bool has_timer;       /* timer is armed */
    struct qmp_cmd *prev; /* list of commands, oldest first */
    struct qmp_cmd *next; /* ditto */
};

enum qmp_wait_kind {
    QMP_WAIT_GREETING, /* woken by the greeting (0) or the connection's end (-errno) */
    QMP_WAIT_EVENT,    /* woken by a matching event (0) or the connection's end (-errno) */
    QMP_WAIT_CLOSED,   /* woken by the connection's end (0) */
};

/* A blocking wait in progress; lives on the waiting function's stack. */
struct qmp_waiter {
    enum qmp_wait_kind kind;      /* what it waits for */
    const char *name;             /* QMP_WAIT_EVENT: the event name */
    vc_qmp_event_match_fn *match; /* QMP_WAIT_EVENT: the predicate, or NULL */
    void *match_data;             /* passed to match */
    struct vc_qmp_event *ev;      /* the event handed over (owned by the waiter) */
    bool done;                    /* woken */
    int r;                        /* 0, or why it was woken without what it waited for */
    char msg[QMP_MSG_MAX];        /* the text for r < 0 */
    struct qmp_waiter *prev;      /* list of waiters, newest first */
    struct qmp_waiter *next;      /* ditto */
};

struct vc_qmp {
    struct vc_ctx *ctx;                          /* the context (borrowed) */
    struct vc_stream *s;                         /* the stream (owned), NULL once closed */
    int fd;                                      /* s's fd, kept for unwatching */
    unsigned watching;                           /* VC_IO_* events watched */
    bool alive;                                  /* the connection is usable */
    bool greeted;                                /* the greeting came */
    bool hs_started;                             /* vc_qmp_handshake ran */
    bool ready;                                  /* qmp_capabilities returned */
    bool closing;                                /* vc_qmp_free ran; destroy when not busy */
    unsigned busy;                               /* client code on the stack */
    int dead_err;                                /* why it died (0 while alive) */
    char dead_msg[QMP_MSG_MAX];                  /* the text for it */
    struct json_tokener *tok;                    /* the parser, depth-limited */
    char *in;                                    /* bytes read, not yet handled */
    size_t in_cap;                               /* in's size */
    size_t in_pos;                               /* the first byte not yet handled */
    size_t in_len;                               /* bytes held */
    size_t in_scan;                              /* no '\n' in [in_pos, in_scan) */
    char *out;                                   /* bytes to write */
    size_t out_cap;                              /* out's size */
    size_t out_pos;                              /* the first byte not yet written */
    size_t out_len;                              /* bytes held */
    struct qmp_cmd *head;                        /* commands in flight, oldest first */
    struct qmp_cmd *tail;                        /* the newest */
    size_t n_cmds;                               /* their number */
    uint64_t next_id;                            /* the next command id */
    struct vc_qmp_event *evq[VC_QMP_EVENTS_MAX]; /* buffered events, oldest first */
    size_t n_ev;                                 /* their number */
    uint64_t ev_seq;                             /* events received */
    bool ev_lost;                                /* an event was lost for want of memory */
    struct qmp_waiter *waiters;                  /* blocking waits in progress */
    struct vc_qmp_version version;               /* from the greeting */
    uint64_t timeout_ns;                         /* what a timeout of 0 means */
    bool fail_armed;                             /* fail_timer is armed */
    uint64_t fail_timer;                         /* fails commands of a connection lost early */
    vc_qmp_line_fn *rec_fn;                      /* recorder, or NULL */
    void *rec_data;                              /* passed to rec_fn */
    struct vc_qmp_stats stats;                   /* counters */
};

/* State of one blocking command. */
struct qmp_wait {
    struct vc_ctx *ctx;      /* where the error is recorded */
    const char *name;        /* the command, for the message */
    bool done;               /* the callback ran */
    int r;                   /* its result */
    struct json_object *ret; /* the return value (a reference) */
    struct vc_err_saved err; /* the error recorded when it failed */
};

static const char qmp_freed_msg[] = "client closed";
static const char qmp_lost_msg[] = "an event was lost: out of memory";

/* --- error classes --------------------------------------------------------------------------- */

int vc_qmp_error_to_errno(const char *error_class, const char *desc)
{
    static const struct {
        const char *cls; /* QEMU's class */
        int r;           /* its errno */
    } classes[] = {
        {"CommandNotFound", -EOPNOTSUPP},
        {"DeviceNotFound", -ENOENT},
        {"DeviceNotActive", -ENODEV},
        {"KVMMissingCap", -EOPNOTSUPP},
    };
    static const struct {
        const char *needle; /* text in a GenericError's desc */
        int r;              /* its errno */
    } generic[] = {
        {"duplicate", -EEXIST},
        {" exists", -EEXIST},
        {"in the process of unplug", -EBUSY},
        {" is in use", -EBUSY},
    };

    if (!error_class)
        return -EIO;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(error_class, classes[i].cls) == 0)
            return classes[i].r;
    if (strcmp(error_class, "GenericError") != 0 || !desc)
        return -EIO;
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
        if (strcasestr(desc, generic[i].needle))
            return generic[i].r;
    return -EIO;
}

/* --- plumbing -------------------------------------------------------------------------------- */

static const struct vc_loop *qmp_loop(struct vc_qmp *q)
{
    return vc_ctx_loop(q->ctx);
}

static uint64_t qmp_deadline(struct vc_qmp *q, uint64_t timeout_ns)
{
    uint64_t now = vc_now(q->ctx);

    if (!timeout_ns)
        timeout_ns = q->timeout_ns;
    return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

static uint64_t qmp_ms(uint64_t ns)
{
    return ns / QMP_NS_PER_MS;
}

static void qmp_io(void *data, int fd, unsigned revents);

static int qmp_watch(struct vc_qmp *q, unsigned events)
{
    const struct vc_loop *loop = qmp_loop(q);
    int r;

    if (events == q->watching || !q->s)
        return 0;
    r = loop->ops->watch(loop->data, q->fd, events, qmp_io, q);
    if (r < 0)
        return r;
    q->watching = events;
    return 0;
}

static void qmp_record(struct vc_qmp *q, enum vc_qmp_dir dir, const char *line, size_t len)
{
    if (q->rec_fn)
        q->rec_fn(q->rec_data, dir, line, len);
}

/* Notes why the connection is about to die (the first reason wins) and returns r. */
static int qmp_fatal(struct vc_qmp *q, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int qmp_fatal(struct vc_qmp *q, int r, const char *fmt, ...)
{
    va_list ap;

    if (!q->alive || q->dead_msg[0])
        return r;
    va_start(ap, fmt);
    (void) vsnprintf(q->dead_msg, sizeof(q->dead_msg), fmt, ap);
    va_end(ap);
    return r;
}

static void qmp_close_stream(struct vc_qmp *q)
{
    const struct vc_loop *loop = qmp_loop(q);

    if (!q->s)
        return;
    if (q->watching)
        (void) loop->ops->watch(loop->data, q->fd, 0, NULL, NULL);
    q->watching = 0;
    vc_stream_close(q->s);
    q->s = NULL;
}

/* --- events ---------------------------------------------------------------------------------- */

void vc_qmp_event_free(struct vc_qmp_event *ev)
{
    if (!ev)
        return;
    json_object_put(ev->data);
    vc_free(ev->ctx, ev->name);
    vc_free(ev->ctx, ev);
}

bool vc_qmp_match_device(void *data, const struct vc_qmp_event *ev)
{
    struct json_object *d;

    if (!data || !ev || !json_object_object_get_ex(ev->data, "device", &d) ||
        !json_object_is_type(d, json_type_string))
        return false;
    return strcmp(json_object_get_string(d), data) == 0;
}

static bool qmp_event_matches(const struct vc_qmp_event *ev, const char *name,
                              vc_qmp_event_match_fn *match, void *match_data)
{
    return (!name || strcmp(ev->name, name) == 0) && (!match || match(match_data, ev));
}

/* --- waiters --------------------------------------------------------------------------------- */

static void qmp_waiter_link(struct vc_qmp *q, struct qmp_waiter *w)
{
    w->prev = NULL;
    w->next = q->waiters;
    if (q->waiters)
        q->waiters->prev = w;
    q->waiters = w;
}

static void qmp_waiter_unlink(struct vc_qmp *q, struct qmp_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (q->waiters == w)
        q->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

static void qmp_waiter_wake(struct vc_qmp *q, struct qmp_waiter *w, int r, const char *msg)
{
    qmp_waiter_unlink(q, w);
    w->done = true;
    w->r = r;
    (void) snprintf(w->msg, sizeof(w->msg), "%s", msg ? msg : "");
}

/* The connection ended (r < 0): every waiter wakes; those waiting for the end succeed. */
static void qmp_waiters_end(struct vc_qmp *q, int r, const char *msg)
{
    while (q->waiters) {
        struct qmp_waiter *w = q->waiters;

        qmp_waiter_wake(q, w, w->kind == QMP_WAIT_CLOSED ? 0 : r, msg);
    }
}

/* --- commands -------------------------------------------------------------------------------- */

static void qmp_destroy(struct vc_qmp *q)
{
    const struct vc_loop *loop = qmp_loop(q);

    if (q->fail_armed)
        loop->ops->timer_cancel(loop->data, q->fail_timer);
    qmp_close_stream(q);
    for (size_t i = 0; i < q->n_ev; i++)
        vc_qmp_event_free(q->evq[i]);
    if (q->tok)
        json_tokener_free(q->tok);
    vc_free(q->ctx, q->in);
    vc_free(q->ctx, q->out);
    vc_free(q->ctx, q);
}

static void qmp_leave(struct vc_qmp *q)
{
    if (--q->busy == 0 && q->closing)
        qmp_destroy(q);
}

static struct qmp_cmd *qmp_cmd_find(struct vc_qmp *q, uint64_t id)
{
    for (struct qmp_cmd *c = q->head; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void qmp_cmd_unlink(struct qmp_cmd *c)
{
    struct vc_qmp *q = c->q;
    const struct vc_loop *loop = qmp_loop(q);

    if (c->prev)
        c->prev->next = c->next;
    else
        q->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        q->tail = c->prev;
    c->prev = c->next = NULL;
    q->n_cmds--;
    if (c->has_timer) {
        loop->ops->timer_cancel(loop->data, c->timer);
        c->has_timer = false;
    }
}

/* Ends a command: unlinks it, runs its callback, frees it. Runs inside an entry point (busy),
 * so the client outlives the callback even if the callback frees it. */
static void qmp_cmd_finish(struct qmp_cmd *c, int r, struct json_object *ret,
                           const char *error_class, const char *desc)
{
    struct vc_qmp *q = c->q;
    struct vc_qmp_result res = {r, ret, error_class, desc ? desc : ""};

    qmp_cmd_unlink(c);
    vc_trace(q->ctx, "qmp", "done", "id=%" PRIu64 " %s r=%s", c->id, c->name,
             r ? vc_errno_name(r) : "0");
    c->fn(c->data, &res);
    vc_free(q->ctx, c->name);
    vc_free(q->ctx, c);
}

static void qmp_cmds_fail(struct vc_qmp *q, int r, const char *msg)
{
    /* Callbacks cannot add commands: the client is no longer alive. */
    while (q->head)
        qmp_cmd_finish(q->head, r, NULL, NULL, msg);
}

/* Marks the connection dead and closes the stream, without running callbacks. */
static void qmp_break(struct vc_qmp *q, int r)
{
    if (!q->alive)
        return;
    q->alive = false;
    q->dead_err = r;
    if (!q->dead_msg[0])
        (void) snprintf(q->dead_msg, sizeof(q->dead_msg), "connection lost: %s", vc_errno_name(r));
    qmp_close_stream(q);
    vc_trace(q->ctx, "qmp", "closed", "r=%s pending=%zu %s", vc_errno_name(r), q->n_cmds,
             q->dead_msg);
}

/* The connection died: every command fails with r, every waiter wakes. */
static void qmp_die(struct vc_qmp *q, int r)
{
    qmp_break(q, r);
    qmp_cmds_fail(q, q->dead_err, q->dead_msg);
    qmp_waiters_end(q, q->dead_err, q->dead_msg);
}

static void qmp_fail_cb(void *data)
{
    struct vc_qmp *q = data;

    q->fail_armed = false;
    q->busy++;
    qmp_cmds_fail(q, q->dead_err, q->dead_msg);
    qmp_leave(q);
}

/* The connection was lost where callbacks may not run (inside vc_qmp_execute_start): waiters
 * wake now (no caller code runs), commands fail from the loop. Without memory for the timer
 * they fail at their deadlines or when the client is freed. */
static void qmp_break_later(struct vc_qmp *q, int r)
{
    const struct vc_loop *loop = qmp_loop(q);

    qmp_break(q, r);
    qmp_waiters_end(q, q->dead_err, q->dead_msg);
    if (!q->fail_armed &&
        loop->ops->timer_add(loop->data, vc_now(q->ctx), qmp_fail_cb, q, &q->fail_timer) >= 0)
        q->fail_armed = true;
}

static void qmp_cmd_expire(struct vc_qmp *q, uint64_t id, int r)
{
    struct qmp_cmd *c = qmp_cmd_find(q, id);
    char msg[QMP_MSG_MAX];

    if (!c)
        return;
    if (r == -ETIMEDOUT)
        (void) snprintf(msg, sizeof(msg), "timed out after %" PRIu64 " ms",
                        qmp_ms(vc_now(q->ctx) - c->start_ns));
    else if (r == -ECANCELED)
        (void) snprintf(msg, sizeof(msg), "cancelled");
    else
        (void) snprintf(msg, sizeof(msg), "i/o loop failed: %s", vc_errno_name(r));
    q->busy++;
    qmp_cmd_finish(c, r, NULL, NULL, msg);
    qmp_leave(q);
}

static void qmp_cmd_timeout(void *data)
{
    struct qmp_cmd *c = data;

    c->has_timer = false;
    qmp_cmd_expire(c->q, c->id, -ETIMEDOUT);
}

/* --- output ---------------------------------------------------------------------------------- */

static int qmp_flush(struct vc_qmp *q)
{
    int r;

    if (!q->s)
        return -ECONNRESET;
    while (q->out_pos < q->out_len) {
        ssize_t n = vc_stream_write(q->s, q->out + q->out_pos, q->out_len - q->out_pos);

        if (n == -EAGAIN || n == 0)
            break;
        if (n < 0)
            return qmp_fatal(q, -ECONNRESET, "connection lost: %s", vc_errno_name((int) n));
        q->out_pos += (size_t) n;
        q->stats.bytes_out += (uint64_t) n;
    }
    if (q->out_pos == q->out_len)
        q->out_pos = q->out_len = 0;
    r = qmp_watch(q, VC_IO_IN | (q->out_len ? VC_IO_OUT : 0));
    if (r < 0)
        return qmp_fatal(q, -ENOMEM, "cannot watch the stream: %s", vc_errno_name(r));
    return 0;
}

static int qmp_out_append(struct vc_qmp *q, const char *line, size_t len)
{
    size_t need;

    if (len > VC_QMP_LINE_MAX)
        return -EMSGSIZE;
    if (q->out_len - q->out_pos + len + 1 > VC_QMP_OUTPUT_MAX)
        return -ENOBUFS;
    if (q->out_pos) {
        memmove(q->out, q->out + q->out_pos, q->out_len - q->out_pos);
        q->out_len -= q->out_pos;
        q->out_pos = 0;
    }
    need = q->out_len + len + 1;
    if (need > q->out_cap) {
        size_t cap = q->out_cap ? q->out_cap * 2 : 4096;
        char *p;

        while (cap < need)
            cap *= 2;
        p = vc_realloc(q->ctx, q->out, cap);
        if (!p)
            return -ENOMEM;
        q->out = p;
        q->out_cap = cap;
    }
    memcpy(q->out + q->out_len, line, len);
    q->out[q->out_len + len] = '\n';
    q->out_len = need;
    return 0;
}

/* --- input ----------------------------------------------------------------------------------- */

/* Parses one line. 1 with *ret (a reference) for a JSON value, 0 for a blank line, or -EPROTO
 * (noted) for anything else. */
static int qmp_parse(struct vc_qmp *q, const char *line, size_t len, struct json_object **ret)
{
    enum json_tokener_error jerr;
    struct json_object *j;
    size_t end;

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (!len)
        return 0;
    if (memchr(line, '\0', len))
        return qmp_fatal(q, -EPROTO, "protocol error: nul byte in a line");
    json_tokener_reset(q->tok);
    j = json_tokener_parse_ex(q->tok, line, (int) len);
    jerr = json_tokener_get_error(q->tok);
    end = json_tokener_get_parse_end(q->tok);
    if (jerr == json_tokener_continue) {
        /* A bare number or literal waits for a terminator: give it the end of input. */
        j = json_tokener_parse_ex(q->tok, "", 1);
        jerr = json_tokener_get_error(q->tok);
        end = len;
    }
    if (jerr == json_tokener_error_depth)
        return qmp_fatal(q, -EPROTO, "protocol error: json nested deeper than %d levels",
                         VC_QMP_JSON_DEPTH);
    if (jerr != json_tokener_success) {
        json_object_put(j);
        return qmp_fatal(q, -EPROTO, "protocol error: invalid json: %s",
                         json_tokener_error_desc(jerr));
    }
    for (; end < len; end++)
        if (line[end] != ' ' && line[end] != '\t' && line[end] != '\r')
            break;
    if (end < len || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return qmp_fatal(q, -EPROTO, "protocol error: %s",
                         end < len ? "data after the json object" : "line is not a json object");
    }
    *ret = j;
    return 1;
}

/* An integer member: 1 with *ret set, 0 when absent, -EPROTO when not an integer. */
static int qmp_int(struct json_object *o, const char *key, int64_t *ret)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -EPROTO;
    *ret = json_object_get_int64(v);
    return 1;
}

/* A string member, or NULL when absent or not a string. */
static const char *qmp_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int qmp_on_greeting(struct vc_qmp *q, struct json_object *j)
{
    struct json_object *g, *v, *qemu;
    const char *pkg;

    if (!json_object_object_get_ex(j, "QMP", &g) || !json_object_is_type(g, json_type_object))
        return qmp_fatal(q, -EPROTO, "protocol error: expected the greeting");
    if (json_object_object_get_ex(g, "version", &v) &&
        json_object_object_get_ex(v, "qemu", &qemu)) {
        (void) qmp_int(qemu, "major", &q->version.major);
        (void) qmp_int(qemu, "minor", &q->version.minor);
        (void) qmp_int(qemu, "micro", &q->version.micro);
        pkg = qmp_str(v, "package");
        (void) snprintf(q->version.package, sizeof(q->version.package), "%s", pkg ? pkg : "");
    }
    q->greeted = true;
    vc_trace(q->ctx, "qmp", "greeting", "qemu %" PRId64 ".%" PRId64 ".%" PRId64, q->version.major,
             q->version.minor, q->version.micro);
    for (struct qmp_waiter *w = q->waiters, *next; w; w = next) {
        next = w->next;
        if (w->kind == QMP_WAIT_GREETING)
            qmp_waiter_wake(q, w, 0, NULL);
    }
    return 0;
}

static void qmp_on_reply(struct vc_qmp *q, struct json_object *j)
{
    struct json_object *rv, *ev = NULL;
    const char *cls, *desc;
    struct qmp_cmd *c;
    int64_t id = 0;

    if (qmp_int(j, "id", &id) <= 0 || id <= 0 || !(c = qmp_cmd_find(q, (uint64_t) id))) {
        q->stats.stray++;
        return;
    }
    q->stats.replies++;
    if (json_object_object_get_ex(j, "return", &rv)) {
        qmp_cmd_finish(c, 0, rv, NULL, "");
        return;
    }
    (void) json_object_object_get_ex(j, "error", &ev);
    if (!json_object_is_type(ev, json_type_object)) {
        qmp_cmd_finish(c, -EPROTO, NULL, NULL, "protocol error: malformed error reply");
        return;
    }
    cls = qmp_str(ev, "class");
    desc = qmp_str(ev, "desc");
    qmp_cmd_finish(c, vc_qmp_error_to_errno(cls, desc), NULL, cls ? cls : "unknown",
                   desc ? desc : "(no description)");
}

static void qmp_event_buffer(struct vc_qmp *q, struct vc_qmp_event *ev)
{
    for (struct qmp_waiter *w = q->waiters; w; w = w->next) {
        if (w->kind == QMP_WAIT_EVENT && qmp_event_matches(ev, w->name, w->match, w->match_data)) {
            w->ev = ev;
            qmp_waiter_wake(q, w, 0, NULL);
            return;
        }
    }
    if (q->n_ev == VC_QMP_EVENTS_MAX) {
        vc_qmp_event_free(q->evq[0]);
        memmove(&q->evq[0], &q->evq[1], (q->n_ev - 1) * sizeof(q->evq[0]));
        q->n_ev--;
        q->stats.events_dropped++;
    }
    q->evq[q->n_ev++] = ev;
}

static void qmp_on_event(struct vc_qmp *q, struct json_object *j)
{
    const char *name = qmp_str(j, "event");
    struct json_object *data, *ts;
    struct vc_qmp_event *ev;

    if (!name) {
        q->stats.stray++;
        return;
    }
    q->stats.events++;
    ev = vc_new0(q->ctx, struct vc_qmp_event, 1);
    if (!ev || !(ev->name = vc_strdup(q->ctx, name))) {
        /* No memory: the event is lost. It may be the one a wait wants, so waits fail now (or
         * the next one that finds nothing buffered) rather than at their deadlines; the
         * connection goes on. */
        vc_free(q->ctx, ev);
        q->stats.events_dropped++;
        q->ev_lost = true;
        for (struct qmp_waiter *w = q->waiters, *next; w; w = next) {
            next = w->next;
            if (w->kind == QMP_WAIT_EVENT) {
                qmp_waiter_wake(q, w, -ENOMEM, qmp_lost_msg);
                q->ev_lost = false;
            }
        }
        return;
    }
    ev->ctx = q->ctx;
    ev->ts_sec = ev->ts_usec = -1;
    if (json_object_object_get_ex(j, "data", &data))
        ev->data = json_object_get(data);
    if (json_object_object_get_ex(j, "timestamp", &ts)) {
        (void) qmp_int(ts, "seconds", &ev->ts_sec);
        (void) qmp_int(ts, "microseconds", &ev->ts_usec);
    }
    ev->recv_ns = vc_now(q->ctx);
    ev->seq = ++q->ev_seq;
    vc_trace(q->ctx, "qmp", "event", "%s seq=%" PRIu64, ev->name, ev->seq);
    qmp_event_buffer(q, ev);
}

/* Handles one line: 0, or a fatal -errno (noted). */
static int qmp_on_line(struct vc_qmp *q, const char *line, size_t len)
{
    struct json_object *j = NULL, *unused;
    int r;

    q->stats.lines_in++;
    qmp_record(q, VC_QMP_DIR_IN, line, len);
    r = qmp_parse(q, line, len, &j);
    if (r <= 0)
        return r;
    if (!q->greeted)
        r = qmp_on_greeting(q, j);
    else if (json_object_object_get_ex(j, "event", &unused))
        qmp_on_event(q, j);
    else if (json_object_object_get_ex(j, "return", &unused) ||
             json_object_object_get_ex(j, "error", &unused))
        qmp_on_reply(q, j);
    else
        q->stats.stray++;
    json_object_put(j);
    return r;
}

/* Handles the complete lines buffered. 0 when none is left, 1 when the client stopped (died or
 * closing), or a fatal -errno. Re-entrant: a callback may run the loop, which handles the next
 * lines itself; positions live in the client, and a line is parsed before any callback runs. */
static int qmp_drain(struct vc_qmp *q)
{
    while (q->alive && !q->closing) {
        size_t start = q->in_pos, len;
        char *nl = memchr(q->in + q->in_scan, '\n', q->in_len - q->in_scan);
        int r;

        if (!nl) {
            q->in_scan = q->in_len;
            if (q->in_len - q->in_pos > VC_QMP_LINE_MAX)
                return qmp_fatal(q, -EPROTO, "protocol error: line longer than %u bytes",
                                 VC_QMP_LINE_MAX);
            return 0;
        }
        len = (size_t) (nl - (q->in + start));
        if (len > VC_QMP_LINE_MAX)
            return qmp_fatal(q, -EPROTO, "protocol error: line longer than %u bytes",
                             VC_QMP_LINE_MAX);
        q->in_pos = q->in_scan = start + len + 1;
        r = qmp_on_line(q, q->in + start, len);
        if (r < 0)
            return r;
    }
    return 1;
}

/* Makes room to read: moves the unhandled bytes to the front, grows up to QMP_IN_CAP_MAX. */
static int qmp_in_room(struct vc_qmp *q)
{
    if (q->in_pos) {
        memmove(q->in, q->in + q->in_pos, q->in_len - q->in_pos);
        q->in_len -= q->in_pos;
        q->in_scan -= q->in_pos;
        q->in_pos = 0;
    }
    if (q->in_cap - q->in_len < QMP_READ_MIN && q->in_cap < QMP_IN_CAP_MAX) {
        size_t cap = q->in_cap * 2 < QMP_IN_CAP_MAX ? q->in_cap * 2 : QMP_IN_CAP_MAX;
        char *p = vc_realloc(q->ctx, q->in, cap);

        if (!p)
            return qmp_fatal(q, -ENOMEM, "out of memory for a line of %zu bytes", q->in_len);
        q->in = p;
        q->in_cap = cap;
    }
    return 0;
}

/* Handles buffered lines, then reads until the stream has nothing more. 0, or a fatal -errno
 * (noted). */
static int qmp_pump(struct vc_qmp *q)
{
    for (;;) {
        ssize_t n;
        int r = qmp_drain(q);

        if (r)
            return r < 0 ? r : 0;
        r = qmp_in_room(q);
        if (r < 0)
            return r;
        n = vc_stream_read(q->s, q->in + q->in_len, q->in_cap - q->in_len);
        if (n == -EAGAIN)
            return 0;
        if (n == 0)
            return qmp_fatal(q, -ECONNRESET, "connection closed by qemu");
        if (n < 0)
            return qmp_fatal(q, -ECONNRESET, "connection lost: %s", vc_errno_name((int) n));
        q->in_len += (size_t) n;
        q->stats.bytes_in += (uint64_t) n;
    }
}

static void qmp_io(void *data, int fd, unsigned revents)
{
    struct vc_qmp *q = data;
    int r = 0;

    q->busy++;
    if (q->alive && (revents & VC_IO_OUT))
        r = qmp_flush(q);
    if (r >= 0 && q->alive && !q->closing && (revents & (VC_IO_IN | VC_IO_ERR)))
        r = qmp_pump(q);
    if (r < 0 && q->alive && !q->closing)
        qmp_die(q, r);
    qmp_leave(q);
}

/* --- connection ------------------------------------------------------------------------------ */

int vc_qmp_new(struct vc_ctx *ctx, struct vc_stream *s, struct vc_qmp **ret)
{
    struct vc_qmp *q;
    int r;

    if (!ctx || !s || !ret) {
        vc_stream_close(s);
        return vc_err(ctx, -EINVAL, "qmp: a client needs a context and a stream");
    }
    if (!vc_ctx_loop(ctx)) {
        vc_stream_close(s);
        return vc_err(ctx, -EOPNOTSUPP, "qmp: context has no i/o loop");
    }
    q = vc_new0(ctx, struct vc_qmp, 1);
    if (!q) {
        vc_stream_close(s);
        return -ENOMEM;
    }
    q->ctx = ctx;
    q->s = s;
    q->fd = s->fd;
    q->alive = true;
    q->next_id = 1;
    q->timeout_ns = VC_QMP_TIMEOUT_DEFAULT_NS;
    /* json-c counts the outermost value as one level; VC_QMP_JSON_DEPTH levels are allowed. */
    q->tok = json_tokener_new_ex(VC_QMP_JSON_DEPTH);
    q->in = vc_malloc(ctx, QMP_IN_INITIAL);
    r = q->tok && q->in ? 0 : -ENOMEM;
    if (r >= 0) {
        json_tokener_set_flags(q->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        q->in_cap = QMP_IN_INITIAL;
        r = qmp_watch(q, VC_IO_IN);
    }
    if (r < 0)
        goto fail;
    *ret = q;
    return 0;
fail:
    qmp_destroy(q);
    return r;
}

void vc_qmp_free(struct vc_qmp *q)
{
    if (!q || q->closing)
        return;
    q->busy++;
    q->closing = true;
    qmp_break(q, -ECANCELED);
    if (q->fail_armed) {
        qmp_loop(q)->ops->timer_cancel(qmp_loop(q)->data, q->fail_timer);
        q->fail_armed = false;
    }
    qmp_cmds_fail(q, -ECANCELED, qmp_freed_msg);
    qmp_waiters_end(q, -ECANCELED, qmp_freed_msg);
    qmp_leave(q);
}

bool vc_qmp_alive(const struct vc_qmp *q)
{
    return q && q->alive;
}

bool vc_qmp_ready(const struct vc_qmp *q)
{
    return q && q->alive && q->ready;
}

int vc_qmp_dead_err(const struct vc_qmp *q)
{
    return q ? q->dead_err : -EINVAL;
}

const char *vc_qmp_dead_msg(const struct vc_qmp *q)
{
    return q && !q->alive ? q->dead_msg : "";
}

const struct vc_qmp_version *vc_qmp_version(const struct vc_qmp *q)
{
    static const struct vc_qmp_version none = {0};

    return q ? &q->version : &none;
}

void vc_qmp_set_timeout(struct vc_qmp *q, uint64_t timeout_ns)
{
    q->timeout_ns = timeout_ns ? timeout_ns : VC_QMP_TIMEOUT_DEFAULT_NS;
}

void vc_qmp_stats(const struct vc_qmp *q, struct vc_qmp_stats *ret)
{
    *ret = q->stats;
}

size_t vc_qmp_pending(const struct vc_qmp *q)
{
    return q ? q->n_cmds : 0;
}

void vc_qmp_set_recorder(struct vc_qmp *q, vc_qmp_line_fn *fn, void *data)
{
    q->rec_fn = fn;
    q->rec_data = data;
}

/* --- executing ------------------------------------------------------------------------------- */

/* Adds key: v to o, taking v; notes a failure (v freed) in *oom. */
static void qmp_add(bool *oom, struct json_object *o, const char *key, struct json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v) < 0) {
        json_object_put(v);
        *oom = true;
    }
}

/* The command's line, as json-c's string owned by *ret_msg. */
static int qmp_cmd_line(const char *name, struct json_object *args, uint64_t id,
                        struct json_object **ret_msg, const char **ret_line, size_t *ret_len)
{
    struct json_object *m = json_object_new_object();
    bool oom = !m;
    const char *line;

    qmp_add(&oom, m, "execute", json_object_new_string(name));
    if (args)
        qmp_add(&oom, m, "arguments", json_object_get(args));
    qmp_add(&oom, m, "id", json_object_new_int64((int64_t) id));
    line = oom ? NULL
               : json_object_to_json_string_length(
                     m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, ret_len);
    if (!line) {
        json_object_put(m);
        return -ENOMEM;
    }
    *ret_msg = m;
    *ret_line = line;
    return 0;
}

/* Queues the command's line and arms its deadline. */
static int qmp_cmd_send(struct vc_qmp *q, struct qmp_cmd *c, struct json_object *args,
                        uint64_t deadline_ns)
{
    const struct vc_loop *loop = qmp_loop(q);
    struct json_object *m;
    const char *line;
    size_t len;
    int r;

    r = qmp_cmd_line(c->name, args, c->id, &m, &line, &len);
    if (r < 0)
        return r;
    if (deadline_ns) {
        r = loop->ops->timer_add(loop->data, deadline_ns, qmp_cmd_timeout, c, &c->timer);
        if (r < 0)
            goto out;
        c->has_timer = true;
        /* Out of time already: QEMU must not run what is reported as failed. */
        if (deadline_ns <= c->start_ns)
            goto out;
    }
    r = qmp_out_append(q, line, len);
    if (r >= 0)
        qmp_record(q, VC_QMP_DIR_OUT, line, len);
    else if (c->has_timer)
        loop->ops->timer_cancel(loop->data, c->timer);
    if (r < 0)
        c->has_timer = false;
    if (r == -EMSGSIZE)
        r = vc_err(q->ctx, r, "qmp: %s: command of %zu bytes exceeds %u", c->name, len,
                   VC_QMP_LINE_MAX);
    else if (r == -ENOBUFS)
        r = vc_err(q->ctx, r, "qmp: %s: %zu bytes are waiting to be sent", c->name,
                   q->out_len - q->out_pos);
out:
    json_object_put(m);
    return r;
}

/* Starts a command; the caller checked that the client may send. */
static int qmp_start(struct vc_qmp *q, const char *name, struct json_object *args,
                     uint64_t deadline_ns, vc_qmp_done_fn *fn, void *data, uint64_t *ret_id)
{
    struct qmp_cmd *c;
    int r;

    if (q->n_cmds >= VC_QMP_PENDING_MAX)
        return vc_err(q->ctx, -ENOBUFS, "qmp: %s: %zu commands in flight", name, q->n_cmds);
    r = vc_fault(q->ctx, "qmp.execute");
    if (r < 0)
        return r;
    c = vc_new0(q->ctx, struct qmp_cmd, 1);
    if (!c)
        return -ENOMEM;
    *c = (struct qmp_cmd){
        .q = q,
        .id = q->next_id,
        .name = vc_strdup(q->ctx, name),
        .fn = fn,
        .data = data,
        .start_ns = vc_now(q->ctx),
    };
    r = c->name ? qmp_cmd_send(q, c, args, deadline_ns) : -ENOMEM;
    if (r < 0) {
        vc_free(q->ctx, c->name);
        vc_free(q->ctx, c);
        return r;
    }
    c->prev = q->tail;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->n_cmds++;
    q->next_id++;
    q->stats.commands++;
    vc_trace(q->ctx, "qmp", "execute", "id=%" PRIu64 " %s", c->id, c->name);
    if (ret_id)
        *ret_id = c->id;
    r = qmp_flush(q);
    if (r < 0)
        qmp_break_later(q, r);
    return 0;
}

static int qmp_check_send(struct vc_qmp *q, const char *name)
{
    if (q->closing)
        return vc_err(q->ctx, -ECANCELED, "qmp: %s: %s", name, qmp_freed_msg);
    if (!q->alive)
        return vc_err(q->ctx, q->dead_err, "qmp: %s: %s", name, q->dead_msg);
    if (!q->ready)
        return vc_err(q->ctx, -ENOTCONN, "qmp: %s: capabilities not negotiated", name);
    return 0;
}

int vc_qmp_execute_start(struct vc_qmp *q, const char *name, struct json_object *args,
                         uint64_t deadline_ns, vc_qmp_done_fn *fn, void *data, uint64_t *ret_id)
{
    int r;

    if (!q || !name || !fn)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: execute needs a client, a name and fn");
    r = qmp_check_send(q, name);
    return r < 0 ? r : qmp_start(q, name, args, deadline_ns, fn, data, ret_id);
}

void vc_qmp_cancel(struct vc_qmp *q, uint64_t id)
{
    if (q)
        qmp_cmd_expire(q, id, -ECANCELED);
}

static void qmp_wait_done(void *data, const struct vc_qmp_result *res)
{
    struct qmp_wait *w = data;

    w->done = true;
    w->r = res->r;
    if (res->r >= 0) {
        w->ret = json_object_get(res->ret);
        return;
    }
    /* Record now: the text is borrowed, and later callbacks may record errors of their own. */
    if (res->error_class)
        (void) vc_err(w->ctx, res->r, "qmp: %s: %s (%s)", w->name, res->desc, res->error_class);
    else
        (void) vc_err(w->ctx, res->r, "qmp: %s: %s", w->name, res->desc);
    vc_err_save(w->ctx, &w->err);
}

/* A blocking command until deadline_ns; the caller checked that the client may send. */
static int qmp_exec(struct vc_qmp *q, const char *name, struct json_object *args,
                    uint64_t deadline_ns, struct json_object **ret)
{
    struct qmp_wait w = {.ctx = q->ctx, .name = name};
    uint64_t id;
    int r;

    r = qmp_start(q, name, args, deadline_ns, qmp_wait_done, &w, &id);
    if (r < 0)
        return r;
    r = vc_ctx_run_until(w.ctx, &w.done, deadline_ns);
    /* Not done: the loop gave up first (the deadline or an error). The client is still there,
     * since freeing it would have completed the command. */
    if (!w.done)
        qmp_cmd_expire(q, id, r == 0 ? -ETIMEDOUT : r);
    if (w.r < 0)
        return vc_err_restore(w.ctx, &w.err, w.r);
    if (ret)
        *ret = w.ret;
    else
        json_object_put(w.ret);
    return 0;
}

int vc_qmp_execute(struct vc_qmp *q, const char *name, struct json_object *args,
                   uint64_t timeout_ns, struct json_object **ret)
{
    int r;

    if (!q || !name)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: execute needs a client and a name");
    r = qmp_check_send(q, name);
    return r < 0 ? r : qmp_exec(q, name, args, qmp_deadline(q, timeout_ns), ret);
}

/* --- waiting --------------------------------------------------------------------------------- */

/* Runs the loop until w wakes or deadline_ns passes; w is linked for the wait only. 0 when
 * woken (w->r says how), -ETIMEDOUT, or the loop's error. */
static int qmp_wait(struct vc_qmp *q, struct qmp_waiter *w, uint64_t deadline_ns)
{
    int r;

    qmp_waiter_link(q, w);
    r = vc_ctx_run_until(q->ctx, &w->done, deadline_ns);
    if (w->done)
        return 0;
    /* Still linked: freeing the client would have woken it, so q is still there. */
    qmp_waiter_unlink(q, w);
    return r < 0 ? r : -ETIMEDOUT;
}

int vc_qmp_event_pop(struct vc_qmp *q, const char *name, vc_qmp_event_match_fn *match,
                     void *match_data, struct vc_qmp_event **ret)
{
    if (!q)
        return -EINVAL;
    for (size_t i = 0; i < q->n_ev; i++) {
        struct vc_qmp_event *ev = q->evq[i];

        if (!qmp_event_matches(ev, name, match, match_data))
            continue;
        memmove(&q->evq[i], &q->evq[i + 1], (q->n_ev - i - 1) * sizeof(q->evq[0]));
        q->n_ev--;
        if (ret)
            *ret = ev;
        else
            vc_qmp_event_free(ev);
        return 0;
    }
    return -EAGAIN;
}

int vc_qmp_event_wait(struct vc_qmp *q, const char *name, vc_qmp_event_match_fn *match,
                      void *match_data, uint64_t timeout_ns, struct vc_qmp_event **ret)
{
    struct qmp_waiter w = {
        .kind = QMP_WAIT_EVENT, .name = name, .match = match, .match_data = match_data};
    struct vc_ctx *ctx;
    uint64_t start;
    int r;

    if (!q || !name)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: event wait needs a client and a name");
    ctx = q->ctx;
    if (vc_qmp_event_pop(q, name, match, match_data, ret) == 0)
        return 0;
    if (q->closing)
        return vc_err(ctx, -ECANCELED, "qmp: waiting for %s: %s", name, qmp_freed_msg);
    if (q->ev_lost) {
        q->ev_lost = false;
        return vc_err(ctx, -ENOMEM, "qmp: waiting for %s: %s", name, qmp_lost_msg);
    }
    if (!q->alive)
        return vc_err(ctx, q->dead_err, "qmp: waiting for %s: %s", name, q->dead_msg);
    start = vc_now(ctx);
    r = qmp_wait(q, &w, qmp_deadline(q, timeout_ns));
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "qmp: no %s event within %" PRIu64 " ms", name,
                      qmp_ms(vc_now(ctx) - start));
    if (r < 0)
        return vc_err(ctx, r, "qmp: waiting for %s: i/o loop failed", name);
    if (w.r < 0)
        return vc_err(ctx, w.r, "qmp: waiting for %s: %s", name, w.msg);
    if (ret)
        *ret = w.ev;
    else
        vc_qmp_event_free(w.ev);
    return 0;
}

size_t vc_qmp_events_pending(const struct vc_qmp *q)
{
    return q ? q->n_ev : 0;
}

void vc_qmp_events_clear(struct vc_qmp *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_ev; i++)
        vc_qmp_event_free(q->evq[i]);
    q->n_ev = 0;
}

int vc_qmp_wait_closed(struct vc_qmp *q, uint64_t timeout_ns)
{
    struct qmp_waiter w = {.kind = QMP_WAIT_CLOSED};
    struct vc_ctx *ctx;
    uint64_t start;
    int r;

    if (!q)
        return vc_err(NULL, -EINVAL, "qmp: no client");
    ctx = q->ctx;
    if (q->closing)
        return vc_err(ctx, -ECANCELED, "qmp: waiting for qemu to close: %s", qmp_freed_msg);
    if (!q->alive)
        return 0;
    start = vc_now(ctx);
    r = qmp_wait(q, &w, qmp_deadline(q, timeout_ns));
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "qmp: qemu did not close the connection within %" PRIu64 " ms",
                      qmp_ms(vc_now(ctx) - start));
    if (r < 0)
        return vc_err(ctx, r, "qmp: waiting for qemu to close: i/o loop failed");
    return w.r < 0 ? vc_err(ctx, w.r, "qmp: waiting for qemu to close: %s", w.msg) : 0;
}

int vc_qmp_handshake(struct vc_qmp *q, uint64_t timeout_ns)
{
    struct qmp_waiter w = {.kind = QMP_WAIT_GREETING};
    uint64_t deadline, start;
    int r;

    if (!q)
        return vc_err(NULL, -EINVAL, "qmp: no client");
    if (q->hs_started)
        return vc_err(q->ctx, -EALREADY, "qmp: handshake already done");
    q->hs_started = true;
    start = vc_now(q->ctx);
    deadline = qmp_deadline(q, timeout_ns);
    if (!q->greeted && q->alive && !q->closing) {
        r = qmp_wait(q, &w, deadline);
        if (r == -ETIMEDOUT)
            return vc_err(q->ctx, r, "qmp: no greeting from qemu within %" PRIu64 " ms",
                          qmp_ms(vc_now(q->ctx) - start));
        if (r < 0)
            return vc_err(q->ctx, r, "qmp: waiting for the greeting: i/o loop failed");
        if (w.r < 0)
            return vc_err(q->ctx, w.r, "qmp: waiting for the greeting: %s", w.msg);
    }
    if (q->closing)
        return vc_err(q->ctx, -ECANCELED, "qmp: waiting for the greeting: %s", qmp_freed_msg);
    if (!q->alive)
        return vc_err(q->ctx, q->dead_err, "qmp: waiting for the greeting: %s", q->dead_msg);
    r = qmp_exec(q, "qmp_capabilities", NULL, deadline, NULL);
    if (r < 0)
        return r;
    q->ready = true;
    vc_log(q->ctx, VC_LOG_DEBUG, "connected to qemu %" PRId64 ".%" PRId64 ".%" PRId64,
           q->version.major, q->version.minor, q->version.micro);
    return 0;
}

int vc_qmp_connect(struct vc_ctx *ctx, const char *path, uint64_t timeout_ns, struct vc_qmp **ret)
{
    struct vc_stream *s = NULL;
    struct vc_qmp *q = NULL;
    uint64_t deadline, now;
    char *url;
    int r;

    if (!ctx || !path || !ret)
        return vc_err(ctx, -EINVAL, "qmp: connect needs a context, a path and ret");
    if (!timeout_ns)
        timeout_ns = VC_QMP_TIMEOUT_DEFAULT_NS;
    now = vc_now(ctx);
    deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    url = strstr(path, "://") ? vc_strdup(ctx, path) : vc_strdupf(ctx, "unix://%s", path);
    if (!url)
        return -ENOMEM;
    r = vc_dial(ctx, url, timeout_ns, &s);
    vc_free(ctx, url);
    if (r < 0)
        return vc_err_prefix(ctx, r, "qmp");
    r = vc_qmp_new(ctx, s, &q);
    if (r < 0)
        return r;
    now = vc_now(ctx);
    r = vc_qmp_handshake(q, deadline > now ? deadline - now : 1);
    if (r < 0) {
        vc_qmp_free(q);
        return r;
    }
    *ret = q;
    return 0;
}

/* --- helpers --------------------------------------------------------------------------------- */

static const char *const run_state_names[VC_QMP_RUN_STATE_LAST] = {
    [VC_QMP_RUN_STATE_DEBUG] = "debug",
    [VC_QMP_RUN_STATE_INMIGRATE] = "inmigrate",
    [VC_QMP_RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [VC_QMP_RUN_STATE_IO_ERROR] = "io-error",
    [VC_QMP_RUN_STATE_PAUSED] = "paused",
    [VC_QMP_RUN_STATE_POSTMIGRATE] = "postmigrate",
    [VC_QMP_RUN_STATE_PRELAUNCH] = "prelaunch",
    [VC_QMP_RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [VC_QMP_RUN_STATE_RESTORE_VM] = "restore-vm",
    [VC_QMP_RUN_STATE_RUNNING] = "running",
    [VC_QMP_RUN_STATE_SAVE_VM] = "save-vm",
    [VC_QMP_RUN_STATE_SHUTDOWN] = "shutdown",
    [VC_QMP_RUN_STATE_SUSPENDED] = "suspended",
    [VC_QMP_RUN_STATE_WATCHDOG] = "watchdog",
    [VC_QMP_RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [VC_QMP_RUN_STATE_COLO] = "colo",
    [VC_QMP_RUN_STATE_UNKNOWN] = "unknown",
};

const char *vc_qmp_run_state_to_string(enum vc_qmp_run_state s)
{
    return (unsigned) s < VC_QMP_RUN_STATE_LAST ? run_state_names[s] : NULL;
}

static enum vc_qmp_run_state qmp_run_state(const char *s)
{
    for (unsigned i = 0; i < VC_QMP_RUN_STATE_UNKNOWN; i++)
        if (strcmp(s, run_state_names[i]) == 0)
            return (enum vc_qmp_run_state) i;
    return VC_QMP_RUN_STATE_UNKNOWN;
}

static int qmp_malformed(struct vc_qmp *q, const char *name, const char *what)
{
    return vc_err(q->ctx, -EPROTO, "qmp: %s: malformed reply: %s", name, what);
}

/* A command whose return is not needed. */
static int qmp_simple(struct vc_qmp *q, const char *name, struct json_object *args)
{
    return vc_qmp_execute(q, name, args, 0, NULL);
}

/* A command whose only argument is a string: {key: value}. */
static int qmp_simple_str(struct vc_qmp *q, const char *name, const char *key, const char *value)
{
    struct json_object *a = json_object_new_object();
    bool oom = !a;
    int r;

    qmp_add(&oom, a, key, json_object_new_string(value));
    r = oom ? -ENOMEM : qmp_simple(q, name, a);
    json_object_put(a);
    return r;
}

int vc_qmp_query_status(struct vc_qmp *q, struct vc_qmp_status *ret)
{
    struct json_object *j = NULL, *running;
    const char *status;
    int r;

    if (!q || !ret)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: query-status needs a client and ret");
    r = vc_qmp_execute(q, "query-status", NULL, 0, &j);
    if (r < 0)
        return r;
    status = qmp_str(j, "status");
    if (!status || !json_object_object_get_ex(j, "running", &running) ||
        !json_object_is_type(running, json_type_boolean)) {
        json_object_put(j);
        return qmp_malformed(q, "query-status", "no status or running");
    }
    *ret = (struct vc_qmp_status){qmp_run_state(status), json_object_get_boolean(running)};
    json_object_put(j);
    return 0;
}

int vc_qmp_stop(struct vc_qmp *q)
{
    return q ? qmp_simple(q, "stop", NULL) : -EINVAL;
}

int vc_qmp_cont(struct vc_qmp *q)
{
    return q ? qmp_simple(q, "cont", NULL) : -EINVAL;
}

int vc_qmp_system_powerdown(struct vc_qmp *q)
{
    return q ? qmp_simple(q, "system_powerdown", NULL) : -EINVAL;
}

int vc_qmp_quit(struct vc_qmp *q, uint64_t timeout_ns)
{
    struct vc_err_saved saved;
    int r;

    if (!q)
        return vc_err(NULL, -EINVAL, "qmp: no client");
    vc_err_save(q->ctx, &saved);
    r = vc_qmp_execute(q, "quit", NULL, timeout_ns, NULL);
    /* QEMU may close before its answer is read: the quit did its job. */
    if (r == -ECONNRESET)
        (void) vc_err_restore(q->ctx, &saved, saved.code);
    else if (r < 0)
        return r;
    return vc_qmp_wait_closed(q, timeout_ns);
}

/* A CPU's props; all -1 when o is NULL. 0 or -EPROTO. */
static int qmp_cpu_props(struct json_object *o, struct vc_qmp_cpu_props *p)
{
    int r = 0;

    *p = (struct vc_qmp_cpu_props){-1, -1, -1, -1, -1, -1};
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return -EPROTO;
    r |= qmp_int(o, "node-id", &p->node_id);
    r |= qmp_int(o, "socket-id", &p->socket_id);
    r |= qmp_int(o, "die-id", &p->die_id);
    r |= qmp_int(o, "cluster-id", &p->cluster_id);
    r |= qmp_int(o, "core-id", &p->core_id);
    r |= qmp_int(o, "thread-id", &p->thread_id);
    return r < 0 ? -EPROTO : 0;
}

/* Runs a query whose return is a list: 0 with *ret (a reference) and *ret_n, or -errno. */
static int qmp_query_list(struct vc_qmp *q, const char *name, struct json_object **ret,
                          size_t *ret_n)
{
    struct json_object *j = NULL;
    size_t n;
    int r;

    if (!q || !ret_n)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: %s needs a client and ret", name);
    r = vc_qmp_execute(q, name, NULL, 0, &j);
    if (r < 0)
        return r;
    if (!json_object_is_type(j, json_type_array)) {
        json_object_put(j);
        return qmp_malformed(q, name, "not a list");
    }
    n = json_object_array_length(j);
    if (n > VC_QMP_LIST_MAX) {
        json_object_put(j);
        return qmp_malformed(q, name, "too many entries");
    }
    *ret = j;
    *ret_n = n;
    return 0;
}

/* A string member copied with the context's allocator: 0 (NULL when absent and optional),
 * -EPROTO when required and absent, -ENOMEM. */
static int qmp_dup(struct vc_ctx *ctx, struct json_object *o, const char *key, bool required,
                   char **ret)
{
    const char *s = qmp_str(o, key);

    *ret = NULL;
    if (!s)
        return required ? -EPROTO : 0;
    *ret = vc_strdup(ctx, s);
    return *ret ? 0 : -ENOMEM;
}

void vc_qmp_hotcpus_free(struct vc_ctx *ctx, struct vc_qmp_hotcpu *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        vc_free(ctx, v[i].type);
        vc_free(ctx, v[i].qom_path);
    }
    vc_free(ctx, v);
}

void vc_qmp_cpus_free(struct vc_ctx *ctx, struct vc_qmp_cpu *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        vc_free(ctx, v[i].qom_path);
        vc_free(ctx, v[i].target);
    }
    vc_free(ctx, v);
}

void vc_qmp_memdevs_free(struct vc_ctx *ctx, struct vc_qmp_memdev *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        vc_free(ctx, v[i].type);
        vc_free(ctx, v[i].id);
        vc_free(ctx, v[i].memdev);
    }
    vc_free(ctx, v);
}

/* Adapters that let one loop fill any of the query arrays below. */
typedef int qmp_parse_any_fn(struct vc_ctx *ctx, struct json_object *e, void *elem);
typedef void qmp_free_any_fn(struct vc_ctx *ctx, void *v, size_t n);

static int qmp_hotcpu_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem);
static int qmp_cpu_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem);
static int qmp_memdev_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem);

static void qmp_hotcpu_free_any(struct vc_ctx *ctx, void *v, size_t n)
{
    vc_qmp_hotcpus_free(ctx, v, n);
}

static void qmp_cpu_free_any(struct vc_ctx *ctx, void *v, size_t n)
{
    vc_qmp_cpus_free(ctx, v, n);
}

static void qmp_memdev_free_any(struct vc_ctx *ctx, void *v, size_t n)
{
    vc_qmp_memdevs_free(ctx, v, n);
}

/* Runs a query whose return is a list and parses each entry into an array of elem_size
 * elements. 0 with *ret (owned, freed with free_fn) and *ret_n, or -errno. */
static int qmp_query_array(struct vc_qmp *q, const char *name, size_t elem_size,
                           qmp_parse_any_fn *parse, qmp_free_any_fn *free_fn, void **ret,
                           size_t *ret_n)
{
    char *v = NULL;
    struct json_object *j = NULL;
    size_t n = 0, i;
    int r = qmp_query_list(q, name, &j, &n);

    if (r < 0)
        return r;
    if (n && !(v = vc_calloc(q->ctx, n, elem_size)))
        r = -ENOMEM;
    for (i = 0; r >= 0 && i < n; i++)
        r = parse(q->ctx, json_object_array_get_idx(j, i), v + i * elem_size);
    json_object_put(j);
    if (r < 0) {
        free_fn(q->ctx, v, n);
        return r == -EPROTO ? qmp_malformed(q, name, "bad entry") : r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int qmp_hotcpu_parse(struct vc_ctx *ctx, struct json_object *e, struct vc_qmp_hotcpu *c)
{
    struct json_object *props = NULL;
    int r;

    if (!json_object_is_type(e, json_type_object) ||
        !json_object_object_get_ex(e, "props", &props) || !props)
        return -EPROTO;
    r = qmp_int(e, "vcpus-count", &c->vcpus_count) > 0 ? 0 : -EPROTO;
    if (r >= 0)
        r = qmp_cpu_props(props, &c->props);
    if (r >= 0)
        r = qmp_dup(ctx, e, "type", true, &c->type);
    if (r >= 0)
        r = qmp_dup(ctx, e, "qom-path", false, &c->qom_path);
    return r;
}

int vc_qmp_query_hotpluggable_cpus(struct vc_qmp *q, struct vc_qmp_hotcpu **ret, size_t *ret_n)
{
    void *v = NULL;
    int r = qmp_query_array(q, "query-hotpluggable-cpus", sizeof(struct vc_qmp_hotcpu),
                            qmp_hotcpu_parse_any, qmp_hotcpu_free_any, &v, ret_n);

    if (r >= 0)
        *ret = v;
    return r;
}

static int qmp_cpu_parse(struct vc_ctx *ctx, struct json_object *e, struct vc_qmp_cpu *c)
{
    struct json_object *props = NULL;
    int r;

    if (!json_object_is_type(e, json_type_object))
        return -EPROTO;
    (void) json_object_object_get_ex(e, "props", &props);
    r = qmp_int(e, "cpu-index", &c->cpu_index) > 0 && qmp_int(e, "thread-id", &c->thread_id) > 0
            ? 0
            : -EPROTO;
    if (r >= 0)
        r = qmp_cpu_props(props, &c->props);
    if (r >= 0)
        r = qmp_dup(ctx, e, "qom-path", true, &c->qom_path);
    if (r >= 0)
        r = qmp_dup(ctx, e, "target", false, &c->target);
    return r;
}

int vc_qmp_query_cpus_fast(struct vc_qmp *q, struct vc_qmp_cpu **ret, size_t *ret_n)
{
    void *v = NULL;
    int r = qmp_query_array(q, "query-cpus-fast", sizeof(struct vc_qmp_cpu), qmp_cpu_parse_any,
                            qmp_cpu_free_any, &v, ret_n);

    if (r >= 0)
        *ret = v;
    return r;
}

/* An unsigned member: 0 (ret untouched when absent) or -EPROTO. */
static int qmp_u64(struct json_object *o, const char *key, uint64_t *ret)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
        return -EPROTO;
    *ret = json_object_get_uint64(v);
    return 0;
}

static int qmp_bool(struct json_object *o, const char *key, bool *ret)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return -EPROTO;
    *ret = json_object_get_boolean(v);
    return 0;
}

static int qmp_memdev_parse(struct vc_ctx *ctx, struct json_object *e, struct vc_qmp_memdev *m)
{
    struct json_object *d;
    int r = 0;

    m->slot = m->node = -1;
    if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "data", &d) ||
        !json_object_is_type(d, json_type_object))
        return -EPROTO;
    r |= qmp_int(d, "slot", &m->slot) < 0 ? -EPROTO : 0;
    r |= qmp_int(d, "node", &m->node) < 0 ? -EPROTO : 0;
    r |= qmp_u64(d, "addr", &m->addr);
    r |= qmp_u64(d, "size", &m->size);
    r |= qmp_bool(d, "hotplugged", &m->hotplugged);
    r |= qmp_bool(d, "hotpluggable", &m->hotpluggable);
    if (r < 0)
        return -EPROTO;
    r = qmp_dup(ctx, e, "type", true, &m->type);
    if (r >= 0)
        r = qmp_dup(ctx, d, "id", false, &m->id);
    if (r >= 0)
        r = qmp_dup(ctx, d, "memdev", false, &m->memdev);
    return r;
}

static int qmp_hotcpu_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem)
{
    return qmp_hotcpu_parse(ctx, e, elem);
}

static int qmp_cpu_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem)
{
    return qmp_cpu_parse(ctx, e, elem);
}

static int qmp_memdev_parse_any(struct vc_ctx *ctx, struct json_object *e, void *elem)
{
    return qmp_memdev_parse(ctx, e, elem);
}

int vc_qmp_query_memory_devices(struct vc_qmp *q, struct vc_qmp_memdev **ret, size_t *ret_n)
{
    void *v = NULL;
    int r = qmp_query_array(q, "query-memory-devices", sizeof(struct vc_qmp_memdev),
                            qmp_memdev_parse_any, qmp_memdev_free_any, &v, ret_n);

    if (r >= 0)
        *ret = v;
    return r;
}

/* Orders slots by (socket, die, cluster, core, thread): < 0 when a comes first. */
static int qmp_props_cmp(const struct vc_qmp_cpu_props *a, const struct vc_qmp_cpu_props *b)
{
    const int64_t ka[] = {a->socket_id, a->die_id, a->cluster_id, a->core_id, a->thread_id};
    const int64_t kb[] = {b->socket_id, b->die_id, b->cluster_id, b->core_id, b->thread_id};

    for (size_t i = 0; i < sizeof(ka) / sizeof(ka[0]); i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return 0;
}

static int qmp_cpu_device_add(struct vc_qmp *q, const char *id, const struct vc_qmp_hotcpu *slot)
{
    const struct vc_qmp_cpu_props *p = &slot->props;
    struct json_object *a = json_object_new_object();
    bool oom = !a;
    int r;

    qmp_add(&oom, a, "driver", json_object_new_string(slot->type));
    qmp_add(&oom, a, "id", json_object_new_string(id));
    if (p->socket_id >= 0)
        qmp_add(&oom, a, "socket-id", json_object_new_int64(p->socket_id));
    if (p->die_id >= 0)
        qmp_add(&oom, a, "die-id", json_object_new_int64(p->die_id));
    if (p->core_id >= 0)
        qmp_add(&oom, a, "core-id", json_object_new_int64(p->core_id));
    if (p->thread_id >= 0)
        qmp_add(&oom, a, "thread-id", json_object_new_int64(p->thread_id));
    r = oom ? -ENOMEM : qmp_simple(q, "device_add", a);
    json_object_put(a);
    return r;
}

int vc_qmp_cpu_add(struct vc_qmp *q, const char *id, struct vc_qmp_cpu_props *ret_props)
{
    struct vc_qmp_hotcpu *v = NULL;
    const struct vc_qmp_hotcpu *best = NULL;
    size_t n = 0;
    int r;

    if (!q || !id)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: cpu hot-add needs a client and an id");
    r = vc_qmp_query_hotpluggable_cpus(q, &v, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (!v[i].qom_path && (!best || qmp_props_cmp(&v[i].props, &best->props) < 0))
            best = &v[i];
    if (!best)
        r = vc_err(q->ctx, -ENOSPC, "qmp: no free cpu slot for '%s' (%zu slots)", id, n);
    else
        r = qmp_cpu_device_add(q, id, best);
    if (r >= 0 && ret_props)
        *ret_props = best->props;
    vc_qmp_hotcpus_free(q->ctx, v, n);
    return r;
}

int vc_qmp_device_remove(struct vc_qmp *q, const char *id, uint64_t timeout_ns)
{
    uint64_t start;
    int r;

    if (!q || !id)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: device removal needs a client and an id");
    /* Events for an earlier device of this id must not end this wait. */
    while (vc_qmp_event_pop(q, VC_QMP_EVENT_DEVICE_DELETED, vc_qmp_match_device, (void *) id,
                            NULL) == 0)
        ;
    r = qmp_simple_str(q, "device_del", "id", id);
    if (r < 0)
        return r;
    start = vc_now(q->ctx);
    r = vc_qmp_event_wait(q, VC_QMP_EVENT_DEVICE_DELETED, vc_qmp_match_device, (void *) id,
                          timeout_ns, NULL);
    if (r == -ETIMEDOUT)
        return vc_err(q->ctx, r,
                      "qmp: device_del '%s': no DEVICE_DELETED event within %" PRIu64
                      " ms (the guest did not release it)",
                      id, qmp_ms(vc_now(q->ctx) - start));
    return r;
}

/* The next DIMM slot: 1 + the highest slot in use, 0 when none is. */
static int qmp_next_slot(struct vc_qmp *q, int64_t *ret)
{
    struct vc_qmp_memdev *v = NULL;
    int64_t max = -1;
    size_t n = 0;
    int r;

    r = vc_qmp_query_memory_devices(q, &v, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (v[i].slot > max)
            max = v[i].slot;
    vc_qmp_memdevs_free(q->ctx, v, n);
    if (max >= INT32_MAX)
        return qmp_malformed(q, "query-memory-devices", "slot out of range");
    *ret = max + 1;
    return 0;
}

static int qmp_mem_object_add(struct vc_qmp *q, const struct vc_qmp_mem_req *req,
                              const char *mem_id)
{
    struct json_object *a = json_object_new_object();
    bool oom = !a;
    int r;

    qmp_add(&oom, a, "qom-type",
            json_object_new_string(req->mem_path ? "memory-backend-file" : "memory-backend-ram"));
    qmp_add(&oom, a, "id", json_object_new_string(mem_id));
    qmp_add(&oom, a, "size", json_object_new_int64((int64_t) (req->size_mb << 20)));
    if (req->mem_path)
        qmp_add(&oom, a, "mem-path", json_object_new_string(req->mem_path));
    if (req->share)
        qmp_add(&oom, a, "share", json_object_new_boolean(1));
    r = oom ? -ENOMEM : qmp_simple(q, "object-add", a);
    json_object_put(a);
    return r;
}

static int qmp_dimm_device_add(struct vc_qmp *q, const char *dimm_id, const char *mem_id)
{
    struct json_object *a = json_object_new_object();
    bool oom = !a;
    int r;

    qmp_add(&oom, a, "driver", json_object_new_string("pc-dimm"));
    qmp_add(&oom, a, "id", json_object_new_string(dimm_id));
    qmp_add(&oom, a, "memdev", json_object_new_string(mem_id));
    r = oom ? -ENOMEM : qmp_simple(q, "device_add", a);
    json_object_put(a);
    return r;
}

/* The guest address of DIMM dimm_id. */
static int qmp_dimm_addr(struct vc_qmp *q, const char *dimm_id, uint64_t *ret)
{
    struct vc_qmp_memdev *v = NULL;
    size_t n = 0, i;
    int r;

    r = vc_qmp_query_memory_devices(q, &v, &n);
    if (r < 0)
        return r;
    for (i = 0; i < n && !(v[i].id && strcmp(v[i].id, dimm_id) == 0); i++)
        ;
    if (i < n)
        *ret = v[i].addr;
    else
        r = qmp_malformed(q, "query-memory-devices", "the new dimm is not listed");
    vc_qmp_memdevs_free(q->ctx, v, n);
    return r;
}

int vc_qmp_memory_add(struct vc_qmp *q, const struct vc_qmp_mem_req *req, struct vc_qmp_dimm *ret)
{
    char mem_id[32], dimm_id[32];
    struct vc_err_saved saved;
    uint64_t addr = 0;
    int64_t slot = -1;
    int r;

    if (!q || !req || !req->size_mb || req->size_mb > ((uint64_t) INT64_MAX >> 20))
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: memory hot-add needs a size in MiB");
    r = qmp_next_slot(q, &slot);
    if (r < 0)
        return r;
    (void) snprintf(mem_id, sizeof(mem_id), "mem%" PRId64, slot);
    (void) snprintf(dimm_id, sizeof(dimm_id), "dimmmem%" PRId64, slot);
    r = qmp_mem_object_add(q, req, mem_id);
    if (r < 0)
        return r;
    r = qmp_dimm_device_add(q, dimm_id, mem_id);
    if (r < 0) {
        vc_err_save(q->ctx, &saved);
        (void) qmp_simple_str(q, "object-del", "id", mem_id);
        return vc_err_restore(q->ctx, &saved, r);
    }
    if (req->query_addr) {
        r = qmp_dimm_addr(q, dimm_id, &addr);
        if (r < 0)
            return r;
    }
    if (ret)
        *ret = (struct vc_qmp_dimm){slot, req->size_mb << 20, addr};
    return 0;
}

static struct json_object *qmp_blockdev_args(const struct vc_qmp_block *b)
{
    struct json_object *a = json_object_new_object(), *file = NULL, *cache = NULL;
    bool oom = !a;

    if (!b->filename) {
        qmp_add(&oom, a, "driver", json_object_new_string("null-co"));
        qmp_add(&oom, a, "node-name", json_object_new_string(b->node_name));
        if (b->null_size)
            qmp_add(&oom, a, "size", json_object_new_int64((int64_t) b->null_size));
        if (b->read_only)
            qmp_add(&oom, a, "read-only", json_object_new_boolean(1));
        goto out;
    }
    qmp_add(&oom, a, "driver", json_object_new_string("raw"));
    qmp_add(&oom, a, "node-name", json_object_new_string(b->node_name));
    qmp_add(&oom, a, "read-only", json_object_new_boolean(b->read_only));
    file = json_object_new_object();
    qmp_add(&oom, file, "driver", json_object_new_string(b->host_device ? "host_device" : "file"));
    qmp_add(&oom, file, "filename", json_object_new_string(b->filename));
    if (b->aio)
        qmp_add(&oom, file, "aio", json_object_new_string(b->aio));
    qmp_add(&oom, a, "file", file);
    if (b->cache_direct || b->cache_no_flush) {
        cache = json_object_new_object();
        qmp_add(&oom, cache, "direct", json_object_new_boolean(b->cache_direct));
        qmp_add(&oom, cache, "no-flush", json_object_new_boolean(b->cache_no_flush));
        qmp_add(&oom, a, "cache", cache);
    }
out:
    if (oom) {
        json_object_put(a);
        return NULL;
    }
    return a;
}

static struct json_object *qmp_blk_device_args(const struct vc_qmp_block *b)
{
    struct json_object *a = json_object_new_object();
    bool oom = !a;

    qmp_add(&oom, a, "driver", json_object_new_string(b->driver ? b->driver : "virtio-blk-pci"));
    qmp_add(&oom, a, "id", json_object_new_string(b->id));
    qmp_add(&oom, a, "drive", json_object_new_string(b->node_name));
    if (b->bus)
        qmp_add(&oom, a, "bus", json_object_new_string(b->bus));
    if (b->addr)
        qmp_add(&oom, a, "addr", json_object_new_string(b->addr));
    if (b->share_rw)
        qmp_add(&oom, a, "share-rw", json_object_new_boolean(1));
    if (oom) {
        json_object_put(a);
        return NULL;
    }
    return a;
}

int vc_qmp_block_add(struct vc_qmp *q, const struct vc_qmp_block *b)
{
    struct vc_err_saved saved;
    struct json_object *a;
    int r;

    if (!q || !b || !b->id || !b->node_name)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: block hot-add needs an id and a node name");
    a = qmp_blockdev_args(b);
    r = a ? qmp_simple(q, "blockdev-add", a) : -ENOMEM;
    json_object_put(a);
    if (r < 0)
        return r;
    a = qmp_blk_device_args(b);
    r = a ? qmp_simple(q, "device_add", a) : -ENOMEM;
    json_object_put(a);
    if (r < 0) {
        vc_err_save(q->ctx, &saved);
        (void) qmp_simple_str(q, "blockdev-del", "node-name", b->node_name);
        return vc_err_restore(q->ctx, &saved, r);
    }
    return 0;
}

int vc_qmp_block_remove(struct vc_qmp *q, const char *id, const char *node_name,
                        uint64_t timeout_ns)
{
    int r;

    if (!q || !id || !node_name)
        return vc_err(q ? q->ctx : NULL, -EINVAL, "qmp: block removal needs an id and a node name");
    r = vc_qmp_device_remove(q, id, timeout_ns);
    if (r < 0)
        return r;
    return qmp_simple_str(q, "blockdev-del", "node-name", node_name);
}
