/* SPDX-License-Identifier: Apache-2.0 */
/* The QMP client against a scripted fake monitor (libvirt's qemuMonitorTest style) on the other
 * end of a socketpair, both on one real context's loop (poll, and an edge-triggered epoll loop
 * standing in for simulation's): handshake, replies and error classes, ids, events, timeouts,
 * EOF, limits, hostile monitors, and every helper's exact command sequence (compared as JSON). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include <vc/vc.h>
#include <vc/stream.h>

#include "etloop.h"
#include "qmp.h"

#define MS(n) ((uint64_t) (n) *1000000u)

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\n";

/* --- the fake monitor ------------------------------------------------------------------------ */

/* One expected command and what the monitor does about it. */
struct mon_item {
    const char *expect; /* the command without its "id", as JSON */
    const char *reply;  /* lines to send ('\n'-separated; "$ID" becomes the id); NULL: none; a
                         * last line "$EOF" closes the connection instead */
};

#define MON_GOT_MAX 256

struct mon {
    struct vc_ctx *ctx;           /* the context */
    int fd;                       /* our end, -1 once closed */
    unsigned watching;            /* events watched */
    char *in;                     /* bytes read */
    size_t in_len;                /* held */
    size_t in_cap;                /* in's size */
    char *out;                    /* bytes to write */
    size_t out_len;               /* held */
    size_t out_cap;               /* out's size */
    const struct mon_item *items; /* the script */
    size_t n_items;               /* its length */
    size_t next;                  /* the next item */
    bool auto_caps;               /* answer the first qmp_capabilities by itself */
    bool caps_seen;               /* it came */
    bool hold;                    /* collect commands, answer none */
    int64_t ids[MON_GOT_MAX];     /* ids received, in order */
    char *got[MON_GOT_MAX];       /* commands received without id (JSON text) */
    size_t n_got;                 /* their number */
    unsigned errors;              /* script violations */
    char err[1024];               /* the first one */
};

static void mon_fail(struct mon *m, const char *fmt, ...)
{
    va_list ap;

    if (m->errors++)
        return;
    va_start(ap, fmt);
    (void) vsnprintf(m->err, sizeof(m->err), fmt, ap);
    va_end(ap);
}

static void mon_io(void *data, int fd, unsigned revents);

static void mon_watch(struct mon *m, unsigned events)
{
    const struct vc_loop *loop = vc_ctx_loop(m->ctx);

    if (m->fd < 0 || events == m->watching)
        return;
    assert_int_equal(loop->ops->watch(loop->data, m->fd, events, mon_io, m), 0);
    m->watching = events;
}

static void mon_flush(struct mon *m)
{
    size_t off = 0;

    while (m->fd >= 0 && off < m->out_len) {
        ssize_t n = send(m->fd, m->out + off, m->out_len - off, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            off = m->out_len; /* the client is gone: drop the rest */
            break;
        }
        off += (size_t) n;
    }
    if (off) {
        memmove(m->out, m->out + off, m->out_len - off);
        m->out_len -= off;
    }
    mon_watch(m, VC_IO_IN | (m->out_len ? VC_IO_OUT : 0));
}

/* Queues raw bytes to the client and writes what the socket takes. */
static void mon_send(struct mon *m, const char *buf, size_t len)
{
    if (m->out_len + len > m->out_cap) {
        m->out_cap = (m->out_len + len) * 2;
        m->out = realloc(m->out, m->out_cap);
        assert_non_null(m->out);
    }
    memcpy(m->out + m->out_len, buf, len);
    m->out_len += len;
    mon_flush(m);
}

static void mon_sendf(struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mon_sendf(struct mon *m, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t) n < sizeof(buf));
    mon_send(m, buf, (size_t) n);
}

static void mon_close(struct mon *m);

/* Sends template with "$ID" replaced by id, and a final '\n'. */
static void mon_reply(struct mon *m, const char *tmpl, int64_t id)
{
    char buf[8192], num[24];
    size_t n = 0;

    (void) snprintf(num, sizeof(num), "%" PRId64, id);
    for (const char *p = tmpl; *p; p++) {
        if (strcmp(p, "$EOF") == 0) {
            mon_send(m, buf, n);
            mon_close(m);
            return;
        }
        if (strncmp(p, "$ID", 3) == 0) {
            assert_true(n + strlen(num) < sizeof(buf));
            memcpy(buf + n, num, strlen(num));
            n += strlen(num);
            p += 2;
            continue;
        }
        assert_true(n + 1 < sizeof(buf));
        buf[n++] = *p;
    }
    buf[n++] = '\n';
    mon_send(m, buf, n);
}

static void mon_close(struct mon *m)
{
    const struct vc_loop *loop = vc_ctx_loop(m->ctx);

    if (m->fd < 0)
        return;
    mon_flush(m);
    if (m->watching)
        (void) loop->ops->watch(loop->data, m->fd, 0, NULL, NULL);
    m->watching = 0;
    close(m->fd);
    m->fd = -1;
}

static void mon_on_line(struct mon *m, const char *line)
{
    struct json_object *j = json_tokener_parse(line), *idv, *exp;
    const struct mon_item *it;
    int64_t id = -1;
    const char *text;

    if (!j) {
        mon_fail(m, "unparsable line from the client: %s", line);
        return;
    }
    if (json_object_object_get_ex(j, "id", &idv) && json_object_is_type(idv, json_type_int))
        id = json_object_get_int64(idv);
    else
        mon_fail(m, "command without an integer id: %s", line);
    json_object_object_del(j, "id");
    text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    if (m->n_got < MON_GOT_MAX) {
        m->ids[m->n_got] = id;
        m->got[m->n_got++] = strdup(text);
    }
    if (m->auto_caps && !m->caps_seen && strcmp(text, "{\"execute\":\"qmp_capabilities\"}") == 0) {
        m->caps_seen = true;
        mon_reply(m, "{\"return\": {}, \"id\": $ID}", id);
    } else if (m->hold) {
        /* the test answers */
    } else if (m->next >= m->n_items) {
        mon_fail(m, "unexpected command %s", text);
    } else {
        it = &m->items[m->next++];
        exp = json_tokener_parse(it->expect);
        assert_non_null(exp);
        if (!json_object_equal(exp, j))
            mon_fail(m, "command %zu: expected %s, got %s", m->next, it->expect, text);
        json_object_put(exp);
        if (it->reply)
            mon_reply(m, it->reply, id);
    }
    json_object_put(j);
}

static void mon_io(void *data, int fd, unsigned revents)
{
    struct mon *m = data;

    if (revents & VC_IO_OUT)
        mon_flush(m);
    while (m->fd >= 0 && (revents & (VC_IO_IN | VC_IO_ERR))) {
        ssize_t n;
        char *nl;

        if (m->in_cap - m->in_len < 4096) {
            m->in_cap = m->in_cap ? m->in_cap * 2 : 65536;
            m->in = realloc(m->in, m->in_cap);
            assert_non_null(m->in);
        }
        n = read(m->fd, m->in + m->in_len, m->in_cap - m->in_len - 1);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            mon_close(m);
            break;
        }
        m->in_len += (size_t) n;
        while ((nl = memchr(m->in, '\n', m->in_len))) {
            size_t len = (size_t) (nl - m->in);

            *nl = '\0';
            mon_on_line(m, m->in);
            memmove(m->in, nl + 1, m->in_len - len - 1);
            m->in_len -= len + 1;
        }
    }
}

/* Asserts the script ran exactly. */
static void mon_check(struct mon *m)
{
    if (m->errors)
        fail_msg("fake monitor: %s", m->err);
    if (m->next != m->n_items)
        fail_msg("fake monitor: %zu of %zu commands came", m->next, m->n_items);
}

static void mon_free(struct mon *m)
{
    mon_close(m);
    for (size_t i = 0; i < m->n_got; i++)
        free(m->got[i]);
    free(m->in);
    free(m->out);
    free(m);
}

/* --- per-test setup -------------------------------------------------------------------------- */

struct mode {
    bool edge; /* use the edge-triggered loop */
};

struct t {
    struct vc_ctx *ctx;       /* real context */
    struct vctest_etloop *et; /* the edge-triggered loop, or NULL */
    struct mon *m;            /* the fake monitor */
    struct vc_qmp *q;         /* the client */
};

static struct vc_ctx *real_ctx(void)
{
    char root[] = "/tmp/vc-qmp-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0);
    return ctx;
}

/* A context, a monitor (sending the greeting when greet) and a client (not connected). */
static void t_init(void **state, struct t *t, bool greet)
{
    struct mode *mode = *state;
    struct vc_stream *s;
    int sv[2];

    *t = (struct t){.ctx = real_ctx()};
    if (mode && mode->edge) {
        t->et = vctest_etloop_install(t->ctx);
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    t->m = calloc(1, sizeof(*t->m));
    assert_non_null(t->m);
    t->m->ctx = t->ctx;
    t->m->fd = sv[1];
    t->m->auto_caps = true;
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    mon_watch(t->m, VC_IO_IN);
    assert_int_equal(vc_fd_stream_new(t->ctx, sv[0], "unix", &s), 0);
    assert_int_equal(vc_qmp_new(t->ctx, s, &t->q), 0);
    if (greet)
        mon_send(t->m, greeting, strlen(greeting));
}

/* t_init, then the handshake, then the script. */
static void t_connect(void **state, struct t *t, const struct mon_item *items, size_t n)
{
    t_init(state, t, true);
    assert_int_equal(vc_qmp_handshake(t->q, MS(5000)), 0);
    assert_true(t->m->caps_seen);
    t->m->items = items;
    t->m->n_items = n;
}

static void t_done(struct t *t)
{
    vc_qmp_free(t->q);
    mon_free(t->m);
    vc_ctx_free(t->ctx);
    vctest_etloop_free(t->et);
}

/* Runs the loop until the monitor holds n commands. */
static void t_wait_got(struct t *t, size_t n)
{
    uint64_t deadline = vc_now(t->ctx) + MS(5000);
    const struct vc_loop *loop = vc_ctx_loop(t->ctx);

    while (t->m->n_got < n) {
        assert_true(vc_now(t->ctx) < deadline);
        (void) loop->ops->run_once(loop->data, vc_now(t->ctx) + MS(10));
    }
}

/* Runs the loop for a while (the client reads what the monitor sent). */
static void t_spin(struct t *t, uint64_t ns)
{
    (void) vc_ctx_sleep_until(t->ctx, vc_now(t->ctx) + ns);
}

static void assert_json_eq(struct json_object *got, const char *want)
{
    struct json_object *w = json_tokener_parse(want);

    assert_non_null(w);
    if (!json_object_equal(got, w))
        fail_msg("json: expected %s, got %s", want,
                 json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN));
    json_object_put(w);
}

static void assert_errmsg(struct vc_ctx *ctx, const char *want)
{
    if (!strstr(vc_ctx_errmsg(ctx), want))
        fail_msg("error message '%s' lacks '%s'", vc_ctx_errmsg(ctx), want);
}

/* An async completion, kept for inspection. */
struct done {
    bool ran;                /* the callback ran */
    int r;                   /* its r */
    struct json_object *ret; /* a reference to its ret */
    char cls[64];            /* error class */
    char desc[256];          /* desc */
};

static void on_done(void *data, const struct vc_qmp_result *res)
{
    struct done *d = data;

    assert_false(d->ran);
    d->ran = true;
    d->r = res->r;
    d->ret = json_object_get(res->ret);
    (void) snprintf(d->cls, sizeof(d->cls), "%s", res->error_class ? res->error_class : "");
    (void) snprintf(d->desc, sizeof(d->desc), "%s", res->desc);
}

/* --- handshake ------------------------------------------------------------------------------- */

static void test_handshake(void **state)
{
    struct t t;
    const struct vc_qmp_version *v;
    struct vc_qmp_stats st;

    t_init(state, &t, true);
    assert_false(vc_qmp_ready(t.q));
    assert_int_equal(vc_qmp_handshake(t.q, MS(5000)), 0);
    assert_true(vc_qmp_ready(t.q));
    assert_true(t.m->caps_seen);
    assert_int_equal(t.m->n_got, 1);
    assert_string_equal(t.m->got[0], "{\"execute\":\"qmp_capabilities\"}");
    assert_int_equal(t.m->ids[0], 1);
    v = vc_qmp_version(t.q);
    assert_int_equal(v->major, 7);
    assert_int_equal(v->minor, 2);
    assert_int_equal(v->micro, 22);
    assert_string_equal(v->package, "Debian 1:7.2+dfsg-7+deb12u18+b3");
    vc_qmp_stats(t.q, &st);
    assert_int_equal(st.commands, 1);
    assert_int_equal(st.replies, 1);
    assert_int_equal(st.lines_in, 2);
    assert_int_equal(vc_qmp_handshake(t.q, MS(100)), -EALREADY);
    t_done(&t);
}

static void send_greeting_rest(void *data)
{
    struct mon *m = data;

    mon_send(m, greeting + 20, strlen(greeting) - 20);
}

static void test_handshake_greeting_late(void **state)
{
    struct t t;
    const struct vc_loop *loop;
    uint64_t id;

    t_init(state, &t, false);
    /* The greeting comes in two pieces, the second while the handshake waits. */
    loop = vc_ctx_loop(t.ctx);
    mon_send(t.m, greeting, 20);
    assert_int_equal(
        loop->ops->timer_add(loop->data, vc_now(t.ctx) + MS(20), send_greeting_rest, t.m, &id), 0);
    assert_int_equal(vc_qmp_handshake(t.q, MS(5000)), 0);
    assert_int_equal(vc_qmp_version(t.q)->major, 7);
    t_done(&t);
}

static void test_handshake_timeout(void **state)
{
    struct t t;

    t_init(state, &t, false);
    assert_int_equal(vc_qmp_handshake(t.q, MS(30)), -ETIMEDOUT);
    assert_errmsg(t.ctx, "qmp: no greeting from qemu within");
    assert_false(vc_qmp_ready(t.q));
    t_done(&t);
}

static void test_handshake_not_greeting(void **state)
{
    struct t t;

    t_init(state, &t, false);
    mon_sendf(t.m, "{\"return\": {}, \"id\": 1}\n");
    assert_int_equal(vc_qmp_handshake(t.q, MS(5000)), -EPROTO);
    assert_errmsg(t.ctx, "expected the greeting");
    assert_false(vc_qmp_alive(t.q));
    assert_int_equal(vc_qmp_dead_err(t.q), -EPROTO);
    t_done(&t);
}

static void test_handshake_eof(void **state)
{
    struct t t;

    t_init(state, &t, false);
    mon_close(t.m);
    assert_int_equal(vc_qmp_handshake(t.q, MS(5000)), -ECONNRESET);
    assert_errmsg(t.ctx, "qmp: waiting for the greeting: connection closed by qemu");
    t_done(&t);
}

static void test_handshake_caps_error(void **state)
{
    struct t t;
    static const struct mon_item items[] = {
        {"{\"execute\":\"qmp_capabilities\"}",
         "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}, \"id\": $ID}"},
    };

    t_init(state, &t, true);
    t.m->auto_caps = false;
    t.m->items = items;
    t.m->n_items = 1;
    assert_int_equal(vc_qmp_handshake(t.q, MS(5000)), -EOPNOTSUPP);
    assert_string_equal(vc_ctx_errmsg(t.ctx), "qmp: qmp_capabilities: nope (CommandNotFound)");
    assert_false(vc_qmp_ready(t.q));
    mon_check(t.m);
    t_done(&t);
}

static void test_before_handshake(void **state)
{
    struct t t;
    struct done d = {0};

    t_init(state, &t, true);
    assert_int_equal(vc_qmp_execute(t.q, "query-status", NULL, MS(100), NULL), -ENOTCONN);
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d, NULL), -ENOTCONN);
    assert_int_equal(t.m->n_got, 0);
    t_done(&t);
}

static void test_connect_path(void **state)
{
    struct mode *mode = *state;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char dir[] = "/tmp/vc-qmpc-XXXXXX";
    struct vc_ctx *ctx = real_ctx();
    struct vc_qmp *q = NULL;
    int lfd, cfd;
    pid_t pid;

    (void) mode;
    assert_non_null(mkdtemp(dir));
    (void) snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/qmp.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    /* The monitor: a child answering with blocking calls, as QEMU would. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[512];
        ssize_t n;

        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0 || write(cfd, greeting, strlen(greeting)) < 0)
            _exit(1);
        n = read(cfd, buf, sizeof(buf) - 1);
        if (n <= 0)
            _exit(2);
        buf[n] = '\0';
        if (!strstr(buf, "\"qmp_capabilities\""))
            _exit(3);
        (void) !write(cfd, "{\"return\": {}, \"id\": 1}\n", 24);
        (void) !read(cfd, buf, sizeof(buf));
        _exit(0);
    }
    close(lfd);
    assert_int_equal(vc_qmp_connect(ctx, sun.sun_path, MS(5000), &q), 0);
    assert_true(vc_qmp_ready(q));
    assert_int_equal(vc_qmp_version(q)->micro, 22);
    vc_qmp_free(q);
    {
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* Nobody listens: the dial fails within its time. */
    assert_int_equal(unlink(sun.sun_path), 0);
    assert_true(vc_qmp_connect(ctx, sun.sun_path, MS(30), &q) < 0);
    assert_int_equal(rmdir(dir), 0);
    vc_ctx_free(ctx);
}

/* --- commands -------------------------------------------------------------------------------- */

static void test_return(void **state)
{
    struct t t;
    struct json_object *ret = NULL, *args;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "
         "\"id\": $ID}"},
        {"{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info "
         "version\"}}",
         "{\"return\": \"7.2.22\\r\\n\", \"id\": $ID}"},
        {"{\"execute\":\"stop\"}", "{\"return\": {}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 3);
    assert_int_equal(vc_qmp_execute(t.q, "query-status", NULL, 0, &ret), 0);
    assert_json_eq(ret, "{\"status\":\"running\",\"singlestep\":false,\"running\":true}");
    json_object_put(ret);
    args = json_object_new_object();
    json_object_object_add(args, "command-line", json_object_new_string("info version"));
    assert_int_equal(vc_qmp_execute(t.q, "human-monitor-command", args, 0, &ret), 0);
    json_object_put(args);
    assert_string_equal(json_object_get_string(ret), "7.2.22\r\n");
    json_object_put(ret);
    assert_int_equal(vc_qmp_execute(t.q, "stop", NULL, 0, NULL), 0);
    assert_int_equal(t.m->ids[1], 2);
    assert_int_equal(t.m->ids[3], 4);
    mon_check(t.m);
    t_done(&t);
}

static void test_error_map(void **state)
{
    static const struct {
        const char *cls;  /* class */
        const char *desc; /* desc */
        int r;            /* expected errno */
    } cases[] = {
        {"GenericError", "Bus 'nobus' not found", -EIO},
        {"GenericError", "Duplicate device ID 'cpu-1'", -EEXIST},
        {"GenericError", "Duplicate nodes with node-name='drv0'", -EEXIST},
        {"GenericError", "attempt to add duplicate property 'mem0' to object (type 'container')",
         -EEXIST},
        {"GenericError", "CPU[1] with APIC ID 1 exists", -EEXIST},
        {"GenericError", "Device blk0 is already in the process of unplug", -EBUSY},
        {"GenericError", "Node drv0 is in use", -EBUSY},
        {"CommandNotFound", "The command nosuch has not been found", -EOPNOTSUPP},
        {"DeviceNotActive", "No balloon device has been activated", -ENODEV},
        {"DeviceNotFound", "Device 'nosuch' not found", -ENOENT},
        {"KVMMissingCap", "Using KVM without synchronous MMU", -EOPNOTSUPP},
        {"SomethingNew", "a duplicate of something", -EIO},
    };
    char reply[512], want[512];
    struct mon_item items[12];
    struct t t;

    assert_int_equal(vc_qmp_error_to_errno(NULL, NULL), -EIO);
    assert_int_equal(vc_qmp_error_to_errno("GenericError", NULL), -EIO);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(vc_qmp_error_to_errno(cases[i].cls, cases[i].desc), cases[i].r);
    /* And through the wire, with the message recorded. */
    for (size_t i = 0; i < 12; i++) {
        (void) snprintf(reply, sizeof(reply),
                        "{\"error\": {\"class\": \"%s\", \"desc\": \"%s\"}, \"id\": $ID}",
                        cases[i].cls, cases[i].desc);
        items[0] = (struct mon_item){"{\"execute\":\"device_add\"}", reply};
        t_connect(state, &t, items, 1);
        assert_int_equal(vc_qmp_execute(t.q, "device_add", NULL, 0, NULL), cases[i].r);
        (void) snprintf(want, sizeof(want), "qmp: device_add: %s (%s)", cases[i].desc,
                        cases[i].cls);
        assert_string_equal(vc_ctx_errmsg(t.ctx), want);
        assert_int_equal(vc_ctx_errcode(t.ctx), cases[i].r);
        assert_true(vc_qmp_alive(t.q));
        mon_check(t.m);
        t_done(&t);
    }
}

static void test_error_malformed(void **state)
{
    struct t t;
    static const struct mon_item items[] = {
        {"{\"execute\":\"a\"}", "{\"error\": \"oops\", \"id\": $ID}"},
        {"{\"execute\":\"b\"}", "{\"error\": {}, \"id\": $ID}"},
        {"{\"execute\":\"c\"}", "{\"return\": null, \"id\": $ID}"},
    };
    struct json_object *ret = (struct json_object *) 1;

    t_connect(state, &t, items, 3);
    assert_int_equal(vc_qmp_execute(t.q, "a", NULL, 0, NULL), -EPROTO);
    assert_errmsg(t.ctx, "qmp: a: protocol error: malformed error reply");
    assert_int_equal(vc_qmp_execute(t.q, "b", NULL, 0, NULL), -EIO);
    assert_string_equal(vc_ctx_errmsg(t.ctx), "qmp: b: (no description) (unknown)");
    assert_int_equal(vc_qmp_execute(t.q, "c", NULL, 0, &ret), 0);
    assert_null(ret);
    assert_true(vc_qmp_alive(t.q));
    mon_check(t.m);
    t_done(&t);
}

static void test_two_queued(void **state)
{
    struct t t;
    struct done d1 = {0}, d2 = {0}, d3 = {0};
    uint64_t id1, id2, id3;
    struct vc_qmp_stats st;

    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute_start(t.q, "query-status", NULL, 0, on_done, &d1, &id1), 0);
    assert_int_equal(vc_qmp_execute_start(t.q, "query-kvm", NULL, 0, on_done, &d2, &id2), 0);
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d3, &id3), 0);
    assert_int_equal(id1, 2);
    assert_int_equal(id2, 3);
    assert_int_equal(id3, 4);
    assert_int_equal(vc_qmp_pending(t.q), 3);
    /* Sent in order, all before any answer. */
    t_wait_got(&t, 4);
    assert_string_equal(t.m->got[1], "{\"execute\":\"query-status\"}");
    assert_string_equal(t.m->got[2], "{\"execute\":\"query-kvm\"}");
    assert_string_equal(t.m->got[3], "{\"execute\":\"stop\"}");
    assert_false(d1.ran || d2.ran || d3.ran);
    /* Matched by id, whatever the order; a stray id and an id-less reply are dropped. */
    mon_sendf(t.m, "{\"return\": {\"enabled\": false, \"present\": true}, \"id\": 3}\n"
                   "{\"return\": {}, \"id\": 99}\n"
                   "{\"return\": {}}\n"
                   "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, \"id\": 4}\n"
                   "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\n");
    while (!(d1.ran && d2.ran && d3.ran))
        t_spin(&t, MS(5));
    assert_int_equal(d1.r, 0);
    assert_json_eq(d1.ret, "{\"status\":\"paused\",\"running\":false}");
    assert_int_equal(d2.r, 0);
    assert_json_eq(d2.ret, "{\"enabled\":false,\"present\":true}");
    assert_int_equal(d3.r, -EIO);
    assert_string_equal(d3.cls, "GenericError");
    assert_string_equal(d3.desc, "x");
    json_object_put(d1.ret);
    json_object_put(d2.ret);
    vc_qmp_stats(t.q, &st);
    assert_int_equal(st.stray, 2);
    assert_int_equal(st.replies, 4);
    assert_int_equal(vc_qmp_pending(t.q), 0);
    t_done(&t);
}

static void test_cancel(void **state)
{
    struct t t;
    struct done d = {0};
    uint64_t id;

    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d, &id), 0);
    vc_qmp_cancel(t.q, id);
    assert_true(d.ran);
    assert_int_equal(d.r, -ECANCELED);
    vc_qmp_cancel(t.q, 12345);
    /* The late reply is dropped. */
    mon_reply(t.m, "{\"return\": {}, \"id\": $ID}", (int64_t) id);
    t_spin(&t, MS(20));
    assert_true(vc_qmp_alive(t.q));
    t_done(&t);
}

static void test_timeout(void **state)
{
    struct t t;
    struct vc_qmp_stats st;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-status\"}", NULL},
        {"{\"execute\":\"stop\"}", "{\"return\": {}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 2);
    assert_int_equal(vc_qmp_execute(t.q, "query-status", NULL, MS(30), NULL), -ETIMEDOUT);
    assert_errmsg(t.ctx, "qmp: query-status: timed out after");
    assert_int_equal(vc_qmp_pending(t.q), 0);
    /* The answer comes late: dropped; the connection goes on. */
    mon_reply(t.m, "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": $ID}", 2);
    assert_int_equal(vc_qmp_execute(t.q, "stop", NULL, MS(5000), NULL), 0);
    vc_qmp_stats(t.q, &st);
    assert_int_equal(st.stray, 1);
    /* The client's default timeout. */
    vc_qmp_set_timeout(t.q, MS(20));
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute(t.q, "cont", NULL, 0, NULL), -ETIMEDOUT);
    mon_check(t.m);
    t_done(&t);
}

static void test_async_timeout(void **state)
{
    struct t t;
    struct done d1 = {0}, d2 = {0};

    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    assert_int_equal(
        vc_qmp_execute_start(t.q, "a", NULL, vc_now(t.ctx) + MS(20), on_done, &d1, NULL), 0);
    assert_int_equal(vc_qmp_execute_start(t.q, "b", NULL, 0, on_done, &d2, NULL), 0);
    while (!d1.ran)
        t_spin(&t, MS(5));
    assert_int_equal(d1.r, -ETIMEDOUT);
    assert_string_equal(d1.cls, "");
    assert_non_null(strstr(d1.desc, "timed out after"));
    assert_false(d2.ran);
    assert_int_equal(vc_qmp_pending(t.q), 1);
    t_done(&t);
    /* Freeing the client cancels what is left. */
    assert_true(d2.ran);
    assert_int_equal(d2.r, -ECANCELED);
    assert_string_equal(d2.desc, "client closed");
    /* A deadline already past: nothing is sent, the command times out from the loop. */
    t_connect(state, &t, NULL, 0);
    memset(&d1, 0, sizeof(d1));
    assert_int_equal(
        vc_qmp_execute_start(t.q, "device_add", NULL, vc_now(t.ctx) - 1, on_done, &d1, NULL), 0);
    assert_false(d1.ran);
    while (!d1.ran)
        t_spin(&t, MS(5));
    assert_int_equal(d1.r, -ETIMEDOUT);
    t_spin(&t, MS(10));
    assert_int_equal(t.m->n_got, 1);
    t_done(&t);
}

static void test_eof_mid_command(void **state)
{
    struct t t;
    struct done d = {0};
    struct vc_qmp_event *ev = NULL;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-status\"}",
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": false, \"reason\": \"host-signal\"}}\n$EOF"},
    };

    t_connect(state, &t, items, 1);
    /* An async command waits unanswered; the next one's answer is an event, then EOF. */
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d, NULL), 0);
    t_wait_got(&t, 2);
    t.m->hold = false;
    assert_int_equal(vc_qmp_execute(t.q, "query-status", NULL, MS(5000), NULL), -ECONNRESET);
    assert_string_equal(vc_ctx_errmsg(t.ctx), "qmp: query-status: connection closed by qemu");
    assert_true(d.ran);
    assert_int_equal(d.r, -ECONNRESET);
    assert_false(vc_qmp_alive(t.q));
    assert_int_equal(vc_qmp_dead_err(t.q), -ECONNRESET);
    assert_string_equal(vc_qmp_dead_msg(t.q), "connection closed by qemu");
    /* Dead for good; buffered events are still there. */
    assert_int_equal(vc_qmp_execute(t.q, "cont", NULL, 0, NULL), -ECONNRESET);
    assert_int_equal(vc_qmp_event_wait(t.q, "STOP", NULL, NULL, MS(100), NULL), -ECONNRESET);
    assert_int_equal(vc_qmp_event_wait(t.q, "SHUTDOWN", NULL, NULL, MS(100), &ev), 0);
    assert_int_equal(ev->ts_sec, 1);
    assert_int_equal(ev->ts_usec, 2);
    assert_json_eq(ev->data, "{\"guest\":false,\"reason\":\"host-signal\"}");
    vc_qmp_event_free(ev);
    assert_int_equal(vc_qmp_wait_closed(t.q, MS(10)), 0);
    mon_check(t.m);
    t_done(&t);
}

static void test_pending_limit(void **state)
{
    struct t t;
    struct done d[VC_QMP_PENDING_MAX + 1];

    memset(d, 0, sizeof(d));
    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    for (size_t i = 0; i < VC_QMP_PENDING_MAX; i++)
        assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d[i], NULL), 0);
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done, &d[64], NULL), -ENOBUFS);
    assert_false(d[64].ran);
    t_done(&t);
    for (size_t i = 0; i < VC_QMP_PENDING_MAX; i++)
        assert_int_equal(d[i].r, -ECANCELED);
}

static void test_big_command(void **state)
{
    struct t t;
    struct json_object *args = json_object_new_object();
    char *big = malloc(VC_QMP_LINE_MAX + 1);

    memset(big, 'a', VC_QMP_LINE_MAX);
    big[VC_QMP_LINE_MAX] = '\0';
    json_object_object_add(args, "x", json_object_new_string(big));
    t_connect(state, &t, NULL, 0);
    assert_int_equal(vc_qmp_execute(t.q, "x", args, 0, NULL), -EMSGSIZE);
    assert_errmsg(t.ctx, "exceeds");
    assert_true(vc_qmp_alive(t.q));
    json_object_put(args);
    free(big);
    t_done(&t);
}

static int fault_fn(void *data, struct vc_ctx *ctx, const char *point)
{
    return strcmp(point, "qmp.execute") == 0 ? *(int *) data : 0;
}

static void test_fault_point(void **state)
{
    struct t t;
    int err = -EIO;

    t_connect(state, &t, NULL, 0);
    vc_ctx_set_fault(t.ctx, fault_fn, &err);
    assert_int_equal(vc_qmp_execute(t.q, "stop", NULL, 0, NULL), -EIO);
    vc_ctx_set_fault(t.ctx, NULL, NULL);
    assert_int_equal(t.m->n_got, 1);
    t_done(&t);
}

/* A callback that frees the client. */
static void on_done_free(void *data, const struct vc_qmp_result *res)
{
    struct t *t = data;

    vc_qmp_free(t->q);
    t->q = NULL;
}

static void test_free_in_callback(void **state)
{
    struct t t;
    struct done d = {0};

    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute_start(t.q, "a", NULL, 0, on_done_free, &t, NULL), 0);
    assert_int_equal(vc_qmp_execute_start(t.q, "b", NULL, 0, on_done, &d, NULL), 0);
    t_wait_got(&t, 3);
    /* Both answers in one read: the first callback frees the client mid-read. */
    mon_sendf(t.m, "{\"return\": {}, \"id\": 2}\n{\"return\": {}, \"id\": 3}\n");
    while (t.q)
        t_spin(&t, MS(5));
    assert_true(d.ran);
    assert_int_equal(d.r, -ECANCELED);
    t_done(&t);
}

/* A callback that runs a blocking command (re-entering the loop and the reader). */
struct nested {
    struct vc_qmp *q;        /* client */
    int r;                   /* the nested command's result */
    struct json_object *ret; /* its return */
    bool ran;                /* ran */
};

static void on_done_nested(void *data, const struct vc_qmp_result *res)
{
    struct nested *n = data;

    n->r = vc_qmp_execute(n->q, "query-status", NULL, MS(5000), &n->ret);
    n->ran = true;
}

static void test_nested(void **state)
{
    struct t t;
    struct nested n = {0};
    static const struct mon_item items[] = {
        {"{\"execute\":\"stop\"}", "{\"return\": {}, \"id\": $ID}\n"
                                   "{\"event\": \"STOP\"}\n"
                                   "{\"event\": \"X\"}"},
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 2);
    n.q = t.q;
    assert_int_equal(vc_qmp_execute_start(t.q, "stop", NULL, 0, on_done_nested, &n, NULL), 0);
    while (!n.ran)
        t_spin(&t, MS(5));
    assert_int_equal(n.r, 0);
    assert_json_eq(n.ret, "{\"status\":\"paused\",\"running\":false}");
    json_object_put(n.ret);
    assert_int_equal(vc_qmp_event_pop(t.q, "STOP", NULL, NULL, NULL), 0);
    assert_int_equal(vc_qmp_event_pop(t.q, "X", NULL, NULL, NULL), 0);
    mon_check(t.m);
    t_done(&t);
}

struct rec {
    char lines[8][128]; /* "<" or ">" + line */
    size_t n;           /* lines */
};

static void recorder(void *data, enum vc_qmp_dir dir, const char *line, size_t len)
{
    struct rec *r = data;

    if (r->n < 8)
        (void) snprintf(r->lines[r->n++], sizeof(r->lines[0]), "%c%.*s",
                        dir == VC_QMP_DIR_IN ? '<' : '>', (int) len, line);
}

static void test_recorder(void **state)
{
    struct t t;
    struct rec r = {0};
    static const struct mon_item items[] = {
        {"{\"execute\":\"cont\"}", "{\"return\": {}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 1);
    vc_qmp_set_recorder(t.q, recorder, &r);
    assert_int_equal(vc_qmp_cont(t.q), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.lines[0], ">{\"execute\":\"cont\",\"id\":2}");
    assert_string_equal(r.lines[1], "<{\"return\": {}, \"id\": 2}");
    mon_check(t.m);
    t_done(&t);
}

/* --- events ---------------------------------------------------------------------------------- */

static void test_event_between(void **state)
{
    struct t t;
    struct json_object *ret = NULL;
    struct vc_qmp_event *ev = NULL;
    static const struct mon_item items[] = {
        {"{\"execute\":\"stop\"}",
         "{\"timestamp\": {\"seconds\": 1795446951, \"microseconds\": 656858}, \"event\": "
         "\"STOP\"}\n"
         "{\"return\": {}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 1);
    assert_int_equal(vc_qmp_execute(t.q, "stop", NULL, 0, &ret), 0);
    assert_json_eq(ret, "{}");
    json_object_put(ret);
    assert_int_equal(vc_qmp_events_pending(t.q), 1);
    assert_int_equal(vc_qmp_event_pop(t.q, "RESUME", NULL, NULL, &ev), -EAGAIN);
    assert_int_equal(vc_qmp_event_pop(t.q, NULL, NULL, NULL, &ev), 0);
    assert_string_equal(ev->name, "STOP");
    assert_null(ev->data);
    assert_int_equal(ev->ts_sec, 1795446951);
    assert_int_equal(ev->ts_usec, 656858);
    assert_int_equal(ev->seq, 1);
    assert_true(ev->recv_ns > 0);
    vc_qmp_event_free(ev);
    assert_int_equal(vc_qmp_events_pending(t.q), 0);
    mon_check(t.m);
    t_done(&t);
}

static void send_deleted(void *data)
{
    struct mon *m = data;

    mon_sendf(m, "{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": "
                 "\"/machine/peripheral/blk0/virtio-backend\"}, \"timestamp\": {\"seconds\": 5, "
                 "\"microseconds\": 1}}\n"
                 "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"blk1\", \"path\": "
                 "\"/machine/peripheral/blk1\"}}\n"
                 "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"blk0\", \"path\": "
                 "\"/machine/peripheral/blk0\"}}\n");
}

static void test_event_wait(void **state)
{
    struct t t;
    const struct vc_loop *loop;
    struct vc_qmp_event *ev = NULL;
    uint64_t id;

    t_connect(state, &t, NULL, 0);
    loop = vc_ctx_loop(t.ctx);
    assert_int_equal(
        loop->ops->timer_add(loop->data, vc_now(t.ctx) + MS(10), send_deleted, t.m, &id), 0);
    assert_int_equal(vc_qmp_event_wait(t.q, VC_QMP_EVENT_DEVICE_DELETED, vc_qmp_match_device,
                                       "blk0", MS(5000), &ev),
                     0);
    assert_json_eq(ev->data, "{\"device\":\"blk0\",\"path\":\"/machine/peripheral/blk0\"}");
    assert_int_equal(ev->seq, 3);
    vc_qmp_event_free(ev);
    /* The others were buffered, in order. */
    assert_int_equal(vc_qmp_events_pending(t.q), 2);
    assert_int_equal(vc_qmp_event_wait(t.q, VC_QMP_EVENT_DEVICE_DELETED, vc_qmp_match_device,
                                       "blk1", MS(5000), &ev),
                     0);
    assert_int_equal(ev->seq, 2);
    vc_qmp_event_free(ev);
    assert_int_equal(vc_qmp_event_wait(t.q, VC_QMP_EVENT_DEVICE_DELETED, NULL, NULL, 0, &ev), 0);
    assert_int_equal(ev->seq, 1);
    assert_int_equal(ev->ts_sec, 5);
    assert_false(vc_qmp_match_device("blk0", ev));
    vc_qmp_event_free(ev);
    /* Nothing more comes. */
    assert_int_equal(vc_qmp_event_wait(t.q, "SHUTDOWN", NULL, NULL, MS(30), NULL), -ETIMEDOUT);
    assert_errmsg(t.ctx, "qmp: no SHUTDOWN event within");
    assert_true(vc_qmp_alive(t.q));
    t_done(&t);
}

static void test_event_overflow(void **state)
{
    struct t t;
    struct vc_qmp_event *ev = NULL;
    struct vc_qmp_stats st;
    static const struct mon_item items[] = {
        {"{\"execute\":\"cont\"}", "{\"return\": {}, \"id\": $ID}"},
    };
    char line[128];

    t_connect(state, &t, items, 1);
    for (int i = 1; i <= VC_QMP_EVENTS_MAX + 44; i++) {
        int n = snprintf(line, sizeof(line), "{\"event\": \"E\", \"data\": {\"n\": %d}}\n", i);
        mon_send(t.m, line, (size_t) n);
    }
    assert_int_equal(vc_qmp_cont(t.q), 0);
    vc_qmp_stats(t.q, &st);
    assert_int_equal(st.events, VC_QMP_EVENTS_MAX + 44);
    assert_int_equal(st.events_dropped, 44);
    assert_int_equal(vc_qmp_events_pending(t.q), VC_QMP_EVENTS_MAX);
    assert_int_equal(vc_qmp_event_pop(t.q, "E", NULL, NULL, &ev), 0);
    assert_int_equal(ev->seq, 45);
    vc_qmp_event_free(ev);
    vc_qmp_events_clear(t.q);
    assert_int_equal(vc_qmp_events_pending(t.q), 0);
    mon_check(t.m);
    t_done(&t);
}

static void test_wait_closed(void **state)
{
    struct t t;

    t_connect(state, &t, NULL, 0);
    assert_int_equal(vc_qmp_wait_closed(t.q, MS(20)), -ETIMEDOUT);
    mon_close(t.m);
    assert_int_equal(vc_qmp_wait_closed(t.q, MS(5000)), 0);
    assert_false(vc_qmp_alive(t.q));
    t_done(&t);
}

/* --- limits and hostile monitors ------------------------------------------------------------- */

/* Connects, sends bytes while a command waits, and checks how the command ends. */
static void hostile(void **state, const char *bytes, size_t len, int want, const char *msg)
{
    struct t t;
    struct done d = {0};

    t_connect(state, &t, NULL, 0);
    t.m->hold = true;
    assert_int_equal(vc_qmp_execute_start(t.q, "query-status", NULL, 0, on_done, &d, NULL), 0);
    t_wait_got(&t, 2);
    mon_send(t.m, bytes, len);
    for (int i = 0; i < 1000 && !d.ran; i++)
        t_spin(&t, MS(5));
    assert_true(d.ran);
    assert_int_equal(d.r, want);
    if (!strstr(d.desc, msg))
        fail_msg("'%s' lacks '%s'", d.desc, msg);
    if (want == -EPROTO) {
        assert_false(vc_qmp_alive(t.q));
        assert_int_equal(vc_qmp_dead_err(t.q), -EPROTO);
        assert_int_equal(vc_qmp_execute(t.q, "x", NULL, 0, NULL), -EPROTO);
    }
    json_object_put(d.ret);
    t_done(&t);
}

#define HOSTILE(state, s, want, msg) hostile(state, s, sizeof(s) - 1, want, msg)

static void test_overlong_line(void **state)
{
    char *buf = malloc(VC_QMP_LINE_MAX + 2);

    /* A line of exactly the limit is fine (spaces pad the reply)... */
    memset(buf, ' ', VC_QMP_LINE_MAX + 1);
    memcpy(buf, "{\"return\": {}, \"id\": 2}", 23);
    buf[VC_QMP_LINE_MAX] = '\n';
    hostile(state, buf, VC_QMP_LINE_MAX + 1, 0, "");
    /* ...one byte more is not, newline or not. */
    memset(buf, ' ', VC_QMP_LINE_MAX + 2);
    memcpy(buf, "{\"return\": {}, \"id\": 2}", 23);
    buf[VC_QMP_LINE_MAX + 1] = '\n';
    hostile(state, buf, VC_QMP_LINE_MAX + 2, -EPROTO, "line longer than 1048576 bytes");
    memset(buf, 'x', VC_QMP_LINE_MAX + 2);
    hostile(state, buf, VC_QMP_LINE_MAX + 2, -EPROTO, "line longer than 1048576 bytes");
    free(buf);
}

static void test_invalid_json(void **state)
{
    HOSTILE(state, "{\"return\": }\n", -EPROTO, "invalid json");
    HOSTILE(state, "{\"return\": {}, \"id\": 2\n", -EPROTO, "invalid json: unexpected end");
    HOSTILE(state, "{\"return\": {}, \"id\": 2} {}\n", -EPROTO, "invalid json");
    HOSTILE(state, "{\"return\": {}, \"id\": 2,}\n", -EPROTO, "invalid json");
    HOSTILE(state, "{\"return\": 0x10, \"id\": 2}\n", -EPROTO, "invalid json");
    HOSTILE(state, "[1, 2]\n", -EPROTO, "not a json object");
    HOSTILE(state, "42\n", -EPROTO, "not a json object");
    HOSTILE(state, "null\n", -EPROTO, "not a json object");
    HOSTILE(state, "\"str\"\n", -EPROTO, "not a json object");
    HOSTILE(state, "{\"return\": \"\xff\xfe\", \"id\": 2}\n", -EPROTO, "invalid json");
    HOSTILE(state, "{\"return\": {}, \"id\": 2}\0\n", -EPROTO, "nul byte");
    HOSTILE(state, "\x01\x02\x03garbage\n", -EPROTO, "invalid json");
    /* Blank lines and CRLF are fine. */
    HOSTILE(state, "\n\r\n  \n{\"return\": {}, \"id\": 2}\r\n", 0, "");
}

static void test_deep_json(void **state)
{
    /* The reply object is level 1, "return" holds the rest. */
    char ok[512], deep[512];
    size_t n = 0;

    n += (size_t) sprintf(ok + n, "{\"id\": 2, \"return\": ");
    for (int i = 0; i < VC_QMP_JSON_DEPTH - 1; i++)
        ok[n++] = '[';
    for (int i = 0; i < VC_QMP_JSON_DEPTH - 1; i++)
        ok[n++] = ']';
    n += (size_t) sprintf(ok + n, "}\n");
    hostile(state, ok, n, 0, "");
    n = 0;
    n += (size_t) sprintf(deep + n, "{\"id\": 2, \"return\": ");
    for (int i = 0; i < VC_QMP_JSON_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < VC_QMP_JSON_DEPTH; i++)
        deep[n++] = ']';
    n += (size_t) sprintf(deep + n, "}\n");
    hostile(state, deep, n, -EPROTO, "nested deeper than 64");
}

static void test_odd_objects(void **state)
{
    struct t t;
    struct vc_qmp_stats st;
    static const struct mon_item items[] = {
        {"{\"execute\":\"cont\"}", "{\"foo\": 1}\n"
                                   "{\"event\": 5}\n"
                                   "{\"return\": {}, \"id\": \"x\"}\n"
                                   "{\"return\": {}, \"id\": -1}\n"
                                   "{\"return\": {}, \"id\": 18446744073709551615}\n"
                                   "{\"QMP\": {}}\n"
                                   "{\"event\": \"E\", \"data\": [1], \"timestamp\": \"now\"}\n"
                                   "{\"return\": {}, \"id\": $ID}"},
    };
    struct vc_qmp_event *ev = NULL;

    t_connect(state, &t, items, 1);
    assert_int_equal(vc_qmp_cont(t.q), 0);
    vc_qmp_stats(t.q, &st);
    assert_int_equal(st.stray, 6);
    assert_int_equal(vc_qmp_event_pop(t.q, "E", NULL, NULL, &ev), 0);
    assert_int_equal(ev->ts_sec, -1);
    assert_json_eq(ev->data, "[1]");
    vc_qmp_event_free(ev);
    mon_check(t.m);
    t_done(&t);
}

static void test_garbage_fuzz(void **state)
{
    static const char *const frags[] = {
        "{",         "}",
        "[",         "]",
        "\"",        ":",
        ",",         "\n",
        "\"event\"", "\"return\"",
        "\"error\"", "\"id\"",
        "2",         "-1",
        "1e999",     "\"DEVICE_DELETED\"",
        "\"data\"",  "{\"device\":\"x\"}",
        "null",      "true",
        "\\u0000",   "\xc3\xa9",
        "\xff",      " ",
        "\r",
    };
    struct vc_xoshiro x;

    vc_xoshiro_seed(&x, 7);
    for (int round = 0; round < 60; round++) {
        struct t t;
        struct done d = {0};
        char buf[2048];
        size_t n = 0;

        while (n < sizeof(buf) - 32) {
            const char *f = frags[vc_xoshiro_next(&x) % (sizeof(frags) / sizeof(frags[0]))];

            memcpy(buf + n, f, strlen(f));
            n += strlen(f);
        }
        t_connect(state, &t, NULL, 0);
        t.m->hold = true;
        assert_int_equal(
            vc_qmp_execute_start(t.q, "q", NULL, vc_now(t.ctx) + MS(200), on_done, &d, NULL), 0);
        mon_send(t.m, buf, n);
        mon_close(t.m);
        for (int i = 0; i < 1000 && !d.ran; i++)
            t_spin(&t, MS(5));
        /* Whatever happened, the command ended, and the client is dead (EOF at least). */
        assert_true(d.ran);
        assert_true(d.r == 0 || d.r == -EPROTO || d.r == -ECONNRESET || d.r == -EIO ||
                    d.r == -ENOENT || d.r == -EOPNOTSUPP || d.r == -ENODEV || d.r == -EEXIST ||
                    d.r == -EBUSY);
        while (vc_qmp_alive(t.q))
            t_spin(&t, MS(5));
        json_object_put(d.ret);
        t_done(&t);
    }
}

/* --- helpers --------------------------------------------------------------------------------- */

static void test_status_helpers(void **state)
{
    struct t t;
    struct vc_qmp_status st;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}, "
         "\"id\": $ID}"},
        {"{\"execute\":\"cont\"}", "{\"event\": \"RESUME\"}\n{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": $ID}"},
        {"{\"execute\":\"stop\"}", "{\"event\": \"STOP\"}\n{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": $ID}"},
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"brand-new\", \"running\": false}, \"id\": $ID}"},
        {"{\"execute\":\"query-status\"}", "{\"return\": [], \"id\": $ID}"},
        {"{\"execute\":\"query-status\"}",
         "{\"return\": {\"status\": \"running\", \"running\": 1}, \"id\": $ID}"},
        {"{\"execute\":\"system_powerdown\"}",
         "{\"event\": \"POWERDOWN\"}\n{\"return\": {}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 9);
    assert_int_equal(vc_qmp_query_status(t.q, &st), 0);
    assert_int_equal(st.state, VC_QMP_RUN_STATE_PRELAUNCH);
    assert_false(st.running);
    assert_int_equal(vc_qmp_cont(t.q), 0);
    assert_int_equal(vc_qmp_query_status(t.q, &st), 0);
    assert_int_equal(st.state, VC_QMP_RUN_STATE_RUNNING);
    assert_true(st.running);
    assert_int_equal(vc_qmp_stop(t.q), 0);
    assert_int_equal(vc_qmp_query_status(t.q, &st), 0);
    assert_int_equal(st.state, VC_QMP_RUN_STATE_PAUSED);
    assert_int_equal(vc_qmp_query_status(t.q, &st), 0);
    assert_int_equal(st.state, VC_QMP_RUN_STATE_UNKNOWN);
    assert_int_equal(vc_qmp_query_status(t.q, &st), -EPROTO);
    assert_errmsg(t.ctx, "qmp: query-status: malformed reply");
    assert_int_equal(vc_qmp_query_status(t.q, &st), -EPROTO);
    assert_int_equal(vc_qmp_system_powerdown(t.q), 0);
    assert_int_equal(vc_qmp_event_wait(t.q, "RESUME", NULL, NULL, 0, NULL), 0);
    assert_int_equal(vc_qmp_event_wait(t.q, "STOP", NULL, NULL, 0, NULL), 0);
    assert_int_equal(vc_qmp_event_wait(t.q, "POWERDOWN", NULL, NULL, 0, NULL), 0);
    assert_string_equal(vc_qmp_run_state_to_string(VC_QMP_RUN_STATE_GUEST_PANICKED),
                        "guest-panicked");
    assert_null(vc_qmp_run_state_to_string(VC_QMP_RUN_STATE_LAST));
    mon_check(t.m);
    t_done(&t);
}

static void test_quit(void **state)
{
    struct t t;
    static const struct mon_item items[] = {
        {"{\"execute\":\"quit\"}",
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
         "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\n"
         "{\"return\": {}, \"id\": $ID}\n$EOF"},
    };
    static const struct mon_item gone[] = {
        {"{\"execute\":\"quit\"}", "$EOF"},
    };
    struct vc_qmp_event *ev = NULL;

    t_connect(state, &t, items, 1);
    assert_int_equal(vc_qmp_quit(t.q, MS(5000)), 0);
    assert_false(vc_qmp_alive(t.q));
    assert_int_equal(vc_qmp_event_pop(t.q, VC_QMP_EVENT_SHUTDOWN, NULL, NULL, &ev), 0);
    assert_json_eq(ev->data, "{\"guest\":false,\"reason\":\"host-qmp-quit\"}");
    vc_qmp_event_free(ev);
    /* Quitting a QEMU that is gone is done already. */
    assert_int_equal(vc_qmp_quit(t.q, MS(100)), 0);
    mon_check(t.m);
    t_done(&t);
    /* QEMU closes before answering. */
    t_connect(state, &t, gone, 1);
    assert_int_equal(vc_qmp_quit(t.q, MS(5000)), 0);
    mon_check(t.m);
    t_done(&t);
}

/* Real QEMU 7.2's answers (-smp 1,maxcpus=4 on q35, TCG). */
#define HOTCPUS_REPLY                                                                              \
    "{\"return\": [{\"props\": {\"core-id\": 3, \"thread-id\": 0, \"node-id\": 0, \"socket-id\": " \
    "0}, \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\"}, {\"props\": {\"core-id\": 2, "      \
    "\"thread-id\": 0, \"node-id\": 0, \"socket-id\": 0}, \"vcpus-count\": 1, \"type\": "          \
    "\"qemu64-x86_64-cpu\"}, {\"props\": {\"core-id\": 1, \"thread-id\": 0, \"node-id\": 0, "      \
    "\"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\"}, {\"props\": "        \
    "{\"core-id\": 0, \"thread-id\": 0, \"node-id\": 0, \"socket-id\": 0}, \"vcpus-count\": 1, "   \
    "\"qom-path\": \"/machine/unattached/device[0]\", \"type\": \"qemu64-x86_64-cpu\"}], "         \
    "\"id\": $ID}"

#define CPUS_FAST_REPLY                                                                            \
    "{\"return\": [{\"thread-id\": 21457, \"props\": {\"core-id\": 0, \"thread-id\": 0, "          \
    "\"node-id\": 0, \"socket-id\": 0}, \"qom-path\": \"/machine/unattached/device[0]\", "         \
    "\"cpu-index\": 0, \"target\": \"x86_64\"}, {\"thread-id\": 21526, \"props\": {\"core-id\": "  \
    "1, \"thread-id\": 0, \"node-id\": 0, \"socket-id\": 0}, \"qom-path\": "                       \
    "\"/machine/peripheral/cpu-1\", \"cpu-index\": 1, \"target\": \"x86_64\"}], \"id\": $ID}"

#define MEMDEVS_REPLY                                                                              \
    "{\"return\": [{\"type\": \"dimm\", \"data\": {\"memdev\": \"/objects/mem0\", "                \
    "\"hotplugged\": true, \"addr\": 4294967296, \"hotpluggable\": true, \"size\": 134217728, "    \
    "\"slot\": 0, \"node\": 0, \"id\": \"dimmmem0\"}}], \"id\": $ID}"

static void test_cpu_helpers(void **state)
{
    struct t t;
    struct vc_qmp_cpu_props p;
    struct vc_qmp_cpu *cpus = NULL;
    struct vc_qmp_hotcpu *hc = NULL;
    size_t n = 0;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-hotpluggable-cpus\"}", HOTCPUS_REPLY},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"qemu64-x86_64-cpu\",\"id\":"
         "\"cpu-1\",\"socket-id\":0,\"core-id\":1,\"thread-id\":0}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"query-cpus-fast\"}", CPUS_FAST_REPLY},
        {"{\"execute\":\"query-hotpluggable-cpus\"}", HOTCPUS_REPLY},
        /* with dies, and the device_add failing */
        {"{\"execute\":\"query-hotpluggable-cpus\"}",
         "{\"return\": [{\"props\": {\"core-id\": 0, \"thread-id\": 1, \"die-id\": 1, "
         "\"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"host-x86_64-cpu\"}, {\"props\": "
         "{\"core-id\": 0, \"thread-id\": 0, \"die-id\": 1, \"socket-id\": 1}, \"vcpus-count\": "
         "1, \"type\": \"host-x86_64-cpu\"}], \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"host-x86_64-cpu\",\"id\":"
         "\"cpu-2\",\"socket-id\":1,\"die-id\":1,\"core-id\":0,\"thread-id\":0}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"CPU[5] with APIC ID 5 exists\"}, "
         "\"id\": $ID}"},
        /* no free slot: no device_add */
        {"{\"execute\":\"query-hotpluggable-cpus\"}",
         "{\"return\": [{\"props\": {\"core-id\": 0, \"thread-id\": 0, \"socket-id\": 0}, "
         "\"vcpus-count\": 1, \"qom-path\": \"/machine/unattached/device[0]\", \"type\": "
         "\"qemu64-x86_64-cpu\"}], \"id\": $ID}"},
        /* malformed */
        {"{\"execute\":\"query-hotpluggable-cpus\"}",
         "{\"return\": [{\"props\": {\"core-id\": \"zero\"}, \"vcpus-count\": 1, \"type\": "
         "\"t\"}], \"id\": $ID}"},
        {"{\"execute\":\"query-cpus-fast\"}", "{\"return\": [{\"cpu-index\": 0}], \"id\": $ID}"},
        {"{\"execute\":\"query-cpus-fast\"}", "{\"return\": [], \"id\": $ID}"},
    };

    t_connect(state, &t, items, 10);
    assert_int_equal(vc_qmp_cpu_add(t.q, "cpu-1", &p), 0);
    assert_int_equal(p.core_id, 1);
    assert_int_equal(p.socket_id, 0);
    assert_int_equal(p.node_id, 0);
    assert_int_equal(p.die_id, -1);
    assert_int_equal(vc_qmp_query_cpus_fast(t.q, &cpus, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cpus[1].cpu_index, 1);
    assert_int_equal(cpus[1].thread_id, 21526);
    assert_string_equal(cpus[1].qom_path, "/machine/peripheral/cpu-1");
    assert_string_equal(cpus[1].target, "x86_64");
    assert_int_equal(cpus[1].props.core_id, 1);
    vc_qmp_cpus_free(t.ctx, cpus, n);
    assert_int_equal(vc_qmp_query_hotpluggable_cpus(t.q, &hc, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(hc[0].type, "qemu64-x86_64-cpu");
    assert_null(hc[0].qom_path);
    assert_int_equal(hc[0].props.core_id, 3);
    assert_string_equal(hc[3].qom_path, "/machine/unattached/device[0]");
    assert_int_equal(hc[3].vcpus_count, 1);
    vc_qmp_hotcpus_free(t.ctx, hc, n);
    assert_int_equal(vc_qmp_cpu_add(t.q, "cpu-2", NULL), -EEXIST);
    assert_string_equal(vc_ctx_errmsg(t.ctx),
                        "qmp: device_add: CPU[5] with APIC ID 5 exists (GenericError)");
    assert_int_equal(vc_qmp_cpu_add(t.q, "cpu-3", &p), -ENOSPC);
    assert_errmsg(t.ctx, "no free cpu slot for 'cpu-3'");
    assert_int_equal(vc_qmp_cpu_add(t.q, "cpu-3", &p), -EPROTO);
    assert_errmsg(t.ctx, "qmp: query-hotpluggable-cpus: malformed reply");
    assert_int_equal(vc_qmp_query_cpus_fast(t.q, &cpus, &n), -EPROTO);
    cpus = (struct vc_qmp_cpu *) 1;
    assert_int_equal(vc_qmp_query_cpus_fast(t.q, &cpus, &n), 0);
    assert_int_equal(n, 0);
    assert_null(cpus);
    mon_check(t.m);
    t_done(&t);
}

static void test_device_remove(void **state)
{
    struct t t;
    static const struct mon_item items[] = {
        /* event after the return */
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"cpu-1\"}}",
         "{\"return\": {}, \"id\": $ID}\n"
         "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"cpu-1\", \"path\": "
         "\"/machine/peripheral/cpu-1\"}}"},
        /* event before the return */
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"cpu-2\"}}",
         "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"cpu-2\", \"path\": "
         "\"/machine/peripheral/cpu-2\"}}\n"
         "{\"return\": {}, \"id\": $ID}"},
        /* no event: the guest never acks */
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"cpu-3\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"cpu-3\"}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device cpu-3 is already in the "
         "process of unplug\"}, \"id\": $ID}"},
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"nosuch\"}}",
         "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nosuch' not found\"}, "
         "\"id\": $ID}"},
    };

    t_connect(state, &t, items, 5);
    assert_int_equal(vc_qmp_device_remove(t.q, "cpu-1", MS(5000)), 0);
    assert_int_equal(vc_qmp_device_remove(t.q, "cpu-2", MS(5000)), 0);
    /* A stale event for cpu-3 is buffered: it must not satisfy the next removal. */
    mon_sendf(t.m, "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"cpu-3\"}}\n");
    while (vc_qmp_events_pending(t.q) == 0)
        t_spin(&t, MS(5));
    assert_int_equal(vc_qmp_device_remove(t.q, "cpu-3", MS(30)), -ETIMEDOUT);
    assert_errmsg(t.ctx, "qmp: device_del 'cpu-3': no DEVICE_DELETED event within");
    assert_int_equal(vc_qmp_device_remove(t.q, "cpu-3", MS(30)), -EBUSY);
    assert_int_equal(vc_qmp_device_remove(t.q, "nosuch", MS(30)), -ENOENT);
    assert_int_equal(vc_qmp_events_pending(t.q), 0);
    mon_check(t.m);
    t_done(&t);
}

static void test_memory_helpers(void **state)
{
    struct t t;
    struct vc_qmp_dimm dimm;
    struct vc_qmp_memdev *md = NULL;
    size_t n = 0;
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-memory-devices\"}", "{\"return\": [], \"id\": $ID}"},
        {"{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-ram\",\"id\":"
         "\"mem0\",\"size\":134217728}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\",\"id\":\"dimmmem0\","
         "\"memdev\":\"mem0\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"query-memory-devices\"}", MEMDEVS_REPLY},
        /* the next slot, a file backend, and the address asked for */
        {"{\"execute\":\"query-memory-devices\"}",
         "{\"return\": [{\"type\": \"dimm\", \"data\": {\"slot\": 0, \"id\": \"dimmmem0\"}}, "
         "{\"type\": \"dimm\", \"data\": {\"slot\": 2, \"id\": \"dimmmem2\"}}, {\"type\": "
         "\"virtio-mem\", \"data\": {\"id\": \"vm0\", \"size\": 0}}], \"id\": $ID}"},
        {"{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":"
         "\"mem3\",\"size\":268435456,\"mem-path\":\"/dev/shm\",\"share\":true}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\",\"id\":\"dimmmem3\","
         "\"memdev\":\"mem3\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"query-memory-devices\"}",
         "{\"return\": [{\"type\": \"dimm\", \"data\": {\"slot\": 3, \"id\": \"dimmmem3\", "
         "\"addr\": 5368709120, \"size\": 268435456}}], \"id\": $ID}"},
        /* device_add fails: the backend is deleted, the first error stays */
        {"{\"execute\":\"query-memory-devices\"}", "{\"return\": [], \"id\": $ID}"},
        {"{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-ram\",\"id\":"
         "\"mem0\",\"size\":1048576}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\",\"id\":\"dimmmem0\","
         "\"memdev\":\"mem0\"}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"not enough slots\"}, \"id\": $ID}"},
        {"{\"execute\":\"object-del\",\"arguments\":{\"id\":\"mem0\"}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"in use\"}, \"id\": $ID}"},
    };

    t_connect(state, &t, items, 12);
    assert_int_equal(vc_qmp_memory_add(t.q, &(struct vc_qmp_mem_req){.size_mb = 128}, &dimm), 0);
    assert_int_equal(dimm.slot, 0);
    assert_int_equal(dimm.size, 128u << 20);
    assert_int_equal(dimm.addr, 0);
    assert_int_equal(vc_qmp_query_memory_devices(t.q, &md, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(md[0].type, "dimm");
    assert_string_equal(md[0].id, "dimmmem0");
    assert_string_equal(md[0].memdev, "/objects/mem0");
    assert_int_equal(md[0].addr, 4294967296ull);
    assert_int_equal(md[0].size, 134217728);
    assert_int_equal(md[0].slot, 0);
    assert_int_equal(md[0].node, 0);
    assert_true(md[0].hotplugged);
    assert_true(md[0].hotpluggable);
    vc_qmp_memdevs_free(t.ctx, md, n);
    assert_int_equal(vc_qmp_memory_add(t.q,
                                       &(struct vc_qmp_mem_req){.size_mb = 256,
                                                                .mem_path = "/dev/shm",
                                                                .share = true,
                                                                .query_addr = true},
                                       &dimm),
                     0);
    assert_int_equal(dimm.slot, 3);
    assert_int_equal(dimm.addr, 5368709120ull);
    assert_int_equal(vc_qmp_memory_add(t.q, &(struct vc_qmp_mem_req){.size_mb = 1}, &dimm), -EIO);
    assert_string_equal(vc_ctx_errmsg(t.ctx), "qmp: device_add: not enough slots (GenericError)");
    assert_int_equal(vc_qmp_memory_add(t.q, &(struct vc_qmp_mem_req){.size_mb = 0}, &dimm),
                     -EINVAL);
    mon_check(t.m);
    t_done(&t);
}

static void test_block_helpers(void **state)
{
    struct t t;
    static const struct mon_item items[] = {
        {"{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":"
         "\"drive-1\",\"read-only\":true,\"file\":{\"driver\":\"file\",\"filename\":"
         "\"/var/lib/img.raw\",\"aio\":\"threads\"},\"cache\":{\"direct\":true,\"no-flush\":"
         "false}}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"id\":"
         "\"virtio-drive-1\",\"drive\":\"drive-1\",\"bus\":\"rp0\",\"addr\":\"00\",\"share-rw\":"
         "true}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":"
         "\"drive-2\",\"read-only\":false,\"file\":{\"driver\":\"host_device\",\"filename\":"
         "\"/dev/sdb\"}}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"id\":"
         "\"blk2\",\"drive\":\"drive-2\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\",\"node-name\":"
         "\"drv0\",\"size\":1048576}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"id\":"
         "\"blk0\",\"drive\":\"drv0\",\"bus\":\"nobus\"}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Bus 'nobus' not found\"}, "
         "\"id\": $ID}"},
        {"{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"drv0\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\",\"node-name\":"
         "\"drv0\",\"read-only\":true}}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate nodes with "
         "node-name='drv0'\"}, \"id\": $ID}"},
        /* removal */
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"blk2\"}}",
         "{\"return\": {}, \"id\": $ID}\n"
         "{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": "
         "\"/machine/peripheral/blk2/virtio-backend\"}}\n"
         "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"blk2\", \"path\": "
         "\"/machine/peripheral/blk2\"}}"},
        {"{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"drive-2\"}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"blk9\"}}",
         "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'blk9' not found\"}, "
         "\"id\": $ID}"},
    };

    t_connect(state, &t, items, 11);
    assert_int_equal(vc_qmp_block_add(t.q, &(struct vc_qmp_block){.id = "virtio-drive-1",
                                                                  .node_name = "drive-1",
                                                                  .filename = "/var/lib/img.raw",
                                                                  .read_only = true,
                                                                  .aio = "threads",
                                                                  .cache_direct = true,
                                                                  .bus = "rp0",
                                                                  .addr = "00",
                                                                  .share_rw = true}),
                     0);
    assert_int_equal(vc_qmp_block_add(t.q, &(struct vc_qmp_block){.id = "blk2",
                                                                  .node_name = "drive-2",
                                                                  .filename = "/dev/sdb",
                                                                  .host_device = true}),
                     0);
    assert_int_equal(vc_qmp_block_add(t.q, &(struct vc_qmp_block){.id = "blk0",
                                                                  .node_name = "drv0",
                                                                  .null_size = 1 << 20,
                                                                  .bus = "nobus"}),
                     -EIO);
    assert_string_equal(vc_ctx_errmsg(t.ctx),
                        "qmp: device_add: Bus 'nobus' not found (GenericError)");
    assert_int_equal(
        vc_qmp_block_add(
            t.q, &(struct vc_qmp_block){.id = "blk0", .node_name = "drv0", .read_only = true}),
        -EEXIST);
    assert_int_equal(vc_qmp_block_add(t.q, &(struct vc_qmp_block){.id = "blk0"}), -EINVAL);
    assert_int_equal(vc_qmp_block_remove(t.q, "blk2", "drive-2", MS(5000)), 0);
    assert_int_equal(vc_qmp_block_remove(t.q, "blk9", "drive-9", MS(5000)), -ENOENT);
    /* The backend's DEVICE_DELETED (no "device") stays buffered. */
    assert_int_equal(vc_qmp_events_pending(t.q), 1);
    mon_check(t.m);
    t_done(&t);
}

static void test_args(void **state)
{
    struct t t;

    t_connect(state, &t, NULL, 0);
    assert_int_equal(vc_qmp_execute(NULL, "x", NULL, 0, NULL), -EINVAL);
    assert_int_equal(vc_qmp_execute(t.q, NULL, NULL, 0, NULL), -EINVAL);
    assert_int_equal(vc_qmp_execute_start(t.q, "x", NULL, 0, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(vc_qmp_event_wait(t.q, NULL, NULL, NULL, 0, NULL), -EINVAL);
    assert_int_equal(vc_qmp_cpu_add(t.q, NULL, NULL), -EINVAL);
    assert_int_equal(vc_qmp_device_remove(t.q, NULL, 0), -EINVAL);
    assert_int_equal(vc_qmp_memory_add(t.q, NULL, NULL), -EINVAL);
    assert_int_equal(vc_qmp_block_add(t.q, NULL), -EINVAL);
    assert_int_equal(vc_qmp_block_remove(t.q, "a", NULL, 0), -EINVAL);
    assert_int_equal(vc_qmp_query_status(t.q, NULL), -EINVAL);
    assert_int_equal(vc_qmp_new(t.ctx, NULL, NULL), -EINVAL);
    assert_int_equal(vc_qmp_connect(t.ctx, NULL, 0, NULL), -EINVAL);
    assert_int_equal(t.m->n_got, 1);
    vc_qmp_free(NULL);
    vc_qmp_event_free(NULL);
    vc_qmp_cpus_free(t.ctx, NULL, 0);
    t_done(&t);
}

/* --- allocation failures --------------------------------------------------------------------- */

struct sweep {
    unsigned k;    /* fail the k-th allocation */
    unsigned hits; /* allocations so far */
};

static int sweep_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct sweep *s = data;

    if (strcmp(point, "alloc") != 0)
        return 0;
    return ++s->hits == s->k ? -ENOMEM : 0;
}

/* Fails each allocation of a connect + memory hot-add + event wait in turn: every run ends in
 * success or a clean error, and (under ASan) leaks nothing. */
static void test_alloc_sweep(void **state)
{
    static const struct mon_item items[] = {
        {"{\"execute\":\"query-memory-devices\"}", "{\"return\": [], \"id\": $ID}"},
        {"{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-ram\",\"id\":"
         "\"mem0\",\"size\":134217728}}",
         "{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\",\"id\":\"dimmmem0\","
         "\"memdev\":\"mem0\"}}",
         "{\"event\": \"ACPI_DEVICE_OST\", \"data\": {}}\n{\"return\": {}, \"id\": $ID}"},
        {"{\"execute\":\"object-del\",\"arguments\":{\"id\":\"mem0\"}}",
         "{\"return\": {}, \"id\": $ID}"},
    };
    unsigned ok = 0, failed = 0;

    for (unsigned k = 1;; k++) {
        struct sweep sw = {.k = k};
        struct vc_stream *s;
        struct t t;
        int sv[2], r;

        t_init(state, &t, true);
        vc_qmp_free(t.q);
        t.q = NULL;
        t.m->items = items;
        t.m->n_items = 4;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        mon_close(t.m);
        t.m->fd = sv[1];
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        mon_watch(t.m, VC_IO_IN);
        mon_send(t.m, greeting, strlen(greeting));
        vc_ctx_set_fault(t.ctx, sweep_fault, &sw);
        r = vc_fd_stream_new(t.ctx, sv[0], "unix", &s);
        if (r >= 0)
            r = vc_qmp_new(t.ctx, s, &t.q);
        if (r >= 0)
            r = vc_qmp_handshake(t.q, MS(5000));
        if (r >= 0)
            r = vc_qmp_memory_add(t.q, &(struct vc_qmp_mem_req){.size_mb = 128}, NULL);
        if (r >= 0)
            r = vc_qmp_event_wait(t.q, "ACPI_DEVICE_OST", NULL, NULL, MS(5000), NULL);
        vc_ctx_set_fault(t.ctx, NULL, NULL);
        if (r < 0 && r != -ENOMEM)
            fail_msg("allocation %u: %d %s", k, r, vc_ctx_errmsg(t.ctx));
        r < 0 ? failed++ : ok++;
        t_done(&t);
        if (sw.hits < k)
            break;
    }
    assert_true(failed > 10);
    assert_true(ok >= 1);
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_prestate(fn, &poll_mode), cmocka_unit_test_prestate(fn, &edge_mode)

int main(void)
{
    static struct mode poll_mode = {false}, edge_mode = {true};
    const struct CMUnitTest tests[] = {
        BOTH(test_handshake),
        BOTH(test_handshake_greeting_late),
        BOTH(test_handshake_timeout),
        BOTH(test_handshake_not_greeting),
        BOTH(test_handshake_eof),
        BOTH(test_handshake_caps_error),
        BOTH(test_before_handshake),
        cmocka_unit_test_prestate(test_connect_path, &poll_mode),
        BOTH(test_return),
        BOTH(test_error_map),
        BOTH(test_error_malformed),
        BOTH(test_two_queued),
        BOTH(test_cancel),
        BOTH(test_timeout),
        BOTH(test_async_timeout),
        BOTH(test_eof_mid_command),
        BOTH(test_pending_limit),
        BOTH(test_big_command),
        BOTH(test_fault_point),
        BOTH(test_free_in_callback),
        BOTH(test_nested),
        BOTH(test_recorder),
        BOTH(test_event_between),
        BOTH(test_event_wait),
        BOTH(test_event_overflow),
        BOTH(test_wait_closed),
        BOTH(test_overlong_line),
        BOTH(test_invalid_json),
        BOTH(test_deep_json),
        BOTH(test_odd_objects),
        BOTH(test_garbage_fuzz),
        BOTH(test_status_helpers),
        BOTH(test_quit),
        BOTH(test_cpu_helpers),
        BOTH(test_device_remove),
        BOTH(test_memory_helpers),
        BOTH(test_block_helpers),
        BOTH(test_args),
        BOTH(test_alloc_sweep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
