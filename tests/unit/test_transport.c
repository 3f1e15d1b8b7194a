/* SPDX-License-Identifier: Apache-2.0 */
/* The real transports: URL parsing and formatting, unix/abstract/mock/remote/serial round trips
 * through vc_listen and vc_dial, dial retries and timeouts, the hybrid vsock handshake against
 * fake peers that run on the same loop (event driven, no threads), its 10 s cap on a virtual
 * clock, and vsock where the host has it. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>
#include <vc/url.h>

#define MS          UINT64_C(1000000)
#define SEC         UINT64_C(1000000000)
#define SAFETY_NS   (10 * SEC) /* a bound on waits that should end at once, not a measurement */
#define PEER_CONNS  64
#define HOST_PORT_0 "1073741824"

struct tfix {
    char dir[64];        /* temporary directory for sockets (and the store) */
    struct vc_ctx *ctx;  /* real context */
    unsigned fds_before; /* open fds at setup */
};

static unsigned count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    struct tfix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    strcpy(f->dir, "/tmp/vc-tp-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->fds_before = count_fds();
    assert_int_equal(vc_ctx_new_real(f->dir, &f->ctx), 0);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct tfix *f = *state;

    vc_ctx_free(f->ctx);
    /* every socket, stream and listener a test made is closed again */
    assert_int_equal(count_fds(), f->fds_before);
    assert_int_equal(nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

static void fmt_url(char *buf, size_t size, const char *fmt, const char *dir)
{
    int n = snprintf(buf, size, fmt, dir);

    assert_true(n > 0 && (size_t) n < size);
}

/* --- loop helpers ------------------------------------------------------------------------- */

static void set_done(void *data, int fd, unsigned revents)
{
    *(bool *) data = true;
}

static void wait_fd(struct vc_ctx *ctx, int fd, unsigned events)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    bool done = false;

    assert_int_equal(loop->ops->watch(loop->data, fd, events, set_done, &done), 0);
    assert_int_equal(vc_ctx_run_until(ctx, &done, vc_now(ctx) + SAFETY_NS), 0);
    assert_int_equal(loop->ops->watch(loop->data, fd, 0, NULL, NULL), 0);
}

static void stream_write_all(struct vc_stream *s, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = vc_stream_write(s, buf, len);

        if (n == -EAGAIN) {
            wait_fd(s->ctx, s->fd, VC_IO_OUT);
            continue;
        }
        assert_true(n > 0);
        buf += n;
        len -= (size_t) n;
    }
}

static void stream_read_exact(struct vc_stream *s, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = vc_stream_read(s, buf, len);

        if (n == -EAGAIN) {
            wait_fd(s->ctx, s->fd, VC_IO_IN);
            continue;
        }
        assert_true(n > 0);
        buf += n;
        len -= (size_t) n;
    }
}

static struct vc_stream *accept_one(struct vc_listener *l)
{
    struct vc_stream *s = NULL;
    int r;

    while ((r = vc_listener_accept(l, &s)) == -EAGAIN)
        wait_fd(l->ctx, l->fd, VC_IO_IN);
    assert_int_equal(r, 0);
    return s;
}

/* Bytes both ways over a dialled and an accepted stream, then EOF after the dialler closes. */
static void exchange(struct vc_stream *a, struct vc_stream *b)
{
    char buf[16];

    stream_write_all(a, "ping", 4);
    stream_read_exact(b, buf, 4);
    assert_memory_equal(buf, "ping", 4);
    stream_write_all(b, "pong!", 5);
    stream_read_exact(a, buf, 5);
    assert_memory_equal(buf, "pong!", 5);
}

/* Listens on url, dials it, checks names and bytes both ways. */
static void round_trip(struct vc_ctx *ctx, const char *url, const char *name)
{
    struct vc_listener *l = NULL;
    struct vc_stream *a = NULL, *b;

    assert_int_equal(vc_listen(ctx, url, &l), 0);
    assert_string_equal(l->ops->name, name);
    assert_int_equal(vc_dial(ctx, url, SAFETY_NS, &a), 0);
    assert_string_equal(a->ops->name, name);
    b = accept_one(l);
    assert_string_equal(b->ops->name, name);
    exchange(a, b);
    vc_stream_close(a);
    vc_stream_close(b);
    vc_listener_close(l);
}

/* --- URLs ----------------------------------------------------------------------------------- */

struct good_url {
    const char *url;           /* input */
    enum vc_url_scheme scheme; /* expected */
    const char *path;          /* expected path or abstract name */
    uint32_t cid, port;        /* expected numbers */
    const char *formatted;     /* vc_url_format of the result; NULL: url itself */
};

static char long_path[VC_URL_PATH_MAX + 2]; /* "/xxx...": VC_URL_PATH_MAX + 1 bytes */

static void test_url_parse_good(void **state)
{
    struct tfix *f = *state;
    char max_unix[256], max_abstract[256], max_hvsock[256];
    const struct good_url cases[] = {
        {"unix:///run/vc/a.sock", VC_URL_UNIX, "/run/vc/a.sock", 0, 0, NULL},
        {"unix://@/tmp/kata-agent.socket", VC_URL_ABSTRACT, "/tmp/kata-agent.socket", 0, 0, NULL},
        {"unix://@x", VC_URL_ABSTRACT, "x", 0, 0, NULL},
        {"vsock://3:1024", VC_URL_VSOCK, "", 3, 1024, NULL},
        {"vsock://4294967295:4294967295", VC_URL_VSOCK, "", UINT32_MAX, UINT32_MAX, NULL},
        {"vsock://-1:1024", VC_URL_VSOCK, "", VC_URL_CID_ANY, 1024, "vsock://4294967295:1024"},
        {"vsock://0:1", VC_URL_VSOCK, "", 0, 1, NULL},
        {"vsock://0003:01024", VC_URL_VSOCK, "", 3, 1024, "vsock://3:1024"},
        {"hvsock:///run/vc/vm/1/clh.sock:1024", VC_URL_HVSOCK, "/run/vc/vm/1/clh.sock", 0, 1024,
         NULL},
        {"hvsock:///a:b:1024", VC_URL_HVSOCK, "/a:b", 0, 1024, NULL}, /* split at the last ':' */
        {"mock:///tmp/kata-mock-hybrid-vsock.socket", VC_URL_MOCK,
         "/tmp/kata-mock-hybrid-vsock.socket", 0, 0, NULL},
        {"remote:///run/peerpod/agent.sock", VC_URL_REMOTE, "/run/peerpod/agent.sock", 0, 0, NULL},
        {"serial:///run/vc/vm/1/agent.serial", VC_URL_SERIAL, "/run/vc/vm/1/agent.serial", 0, 0,
         NULL},
        {max_unix, VC_URL_UNIX, long_path, 0, 0, NULL},
        {max_abstract, VC_URL_ABSTRACT, long_path, 0, 0, NULL},
        {max_hvsock, VC_URL_HVSOCK, long_path, 0, 4294967295u, NULL},
    };

    memset(long_path, 'x', VC_URL_PATH_MAX);
    long_path[0] = '/';
    long_path[VC_URL_PATH_MAX] = '\0'; /* exactly 107 bytes: the most sun_path takes */
    snprintf(max_unix, sizeof(max_unix), "unix://%s", long_path);
    snprintf(max_abstract, sizeof(max_abstract), "unix://@%s", long_path);
    snprintf(max_hvsock, sizeof(max_hvsock), "hvsock://%s:4294967295", long_path);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct good_url *c = &cases[i];
        struct vc_url u;
        char buf[VC_URL_MAX];

        print_message("%s\n", c->url);
        assert_int_equal(vc_url_parse(f->ctx, c->url, &u), 0);
        assert_int_equal(u.scheme, c->scheme);
        assert_string_equal(u.path, c->path);
        assert_int_equal(u.cid, c->cid);
        assert_int_equal(u.port, c->port);
        assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), 0);
        assert_string_equal(buf, c->formatted ? c->formatted : c->url);
    }
    assert_string_equal(vc_url_scheme_to_string(VC_URL_ABSTRACT), "unix");
    assert_string_equal(vc_url_scheme_to_string(VC_URL_SERIAL), "serial");
    assert_null(vc_url_scheme_to_string(VC_URL_SCHEME_LAST));
}

struct bad_url {
    const char *url;     /* input */
    const char *problem; /* expected in the message */
};

static void test_url_parse_bad(void **state)
{
    struct tfix *f = *state;
    char too_long[256], too_long_abstract[256], too_long_hvsock[256];
    const struct bad_url cases[] = {
        {"", "missing 'scheme://'"},
        {"/run/vc/a.sock", "missing 'scheme://'"},
        {"unix:/run/a.sock", "missing 'scheme://'"},
        {"tcp://1.2.3.4:80", "unknown scheme"},
        {"UNIX:///run/a.sock", "unknown scheme"},
        {"://x", "unknown scheme"},
        {"unix://", "missing path"},
        {"unix://@", "missing abstract socket name"},
        {"unix://relative/a.sock", "path must be absolute"},
        {too_long, "path longer than 107 bytes"},
        {too_long_abstract, "abstract name longer than 107 bytes"},
        {"vsock://", "missing ':PORT'"},
        {"vsock://3", "missing ':PORT'"},
        {"vsock://:1024", "missing CID"},
        {"vsock://3:", "missing port"},
        {"vsock://3:0", "port 0 is not valid"},
        {"vsock://4294967296:1024", "CID out of range"},
        {"vsock://3:4294967296", "port out of range"},
        {"vsock://00000000003:1024", "CID out of range"}, /* 11 digits */
        {"vsock://3:1024x", "junk after the port"},
        {"vsock://3:1024/", "junk after the port"},
        {"vsock://3:1024:5", "junk after the port"},
        {"vsock://3 :1024", "junk after the CID"},
        {"vsock://-3:1024", "CID is not a decimal number"},
        {"vsock://+3:1024", "CID is not a decimal number"},
        {"vsock://3: 1024", "port is not a decimal number"},
        {"vsock://-1:-1", "port is not a decimal number"},
        {"hvsock:///run/a.sock", "missing ':PORT'"},
        {"hvsock:///run/a.sock:", "missing port"},
        {"hvsock://:1024", "missing path"},
        {"hvsock://run/a.sock:1024", "path must be absolute"},
        {"hvsock:///run/a.sock:http", "port is not a decimal number"},
        {"hvsock:///run/a.sock:0", "port 0 is not valid"},
        {too_long_hvsock, "path longer than 107 bytes"},
        {"mock://", "missing path"},
        {"remote://host/agent.sock", "host part must be empty"},
        {"remote://", "missing path"},
        {"serial://agent.serial", "path must be absolute"},
    };
    char lp[VC_URL_PATH_MAX + 2];

    memset(lp, 'x', sizeof(lp) - 1);
    lp[0] = '/';
    lp[sizeof(lp) - 1] = '\0'; /* 108 bytes: one too many */
    snprintf(too_long, sizeof(too_long), "unix://%s", lp);
    snprintf(too_long_abstract, sizeof(too_long_abstract), "unix://@%s", lp);
    snprintf(too_long_hvsock, sizeof(too_long_hvsock), "hvsock://%s:1024", lp);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_url *c = &cases[i];
        struct vc_url u, sentinel;
        char quoted[400];

        print_message("%s\n", c->url);
        memset(&u, 0xa5, sizeof(u));
        sentinel = u;
        vc_err_clear(f->ctx);
        assert_int_equal(vc_url_parse(f->ctx, c->url, &u), -EINVAL);
        assert_int_equal(vc_ctx_errcode(f->ctx), -EINVAL);
        assert_non_null(strstr(vc_ctx_errmsg(f->ctx), c->problem));
        snprintf(quoted, sizeof(quoted), "'%s'", c->url);
        assert_non_null(strstr(vc_ctx_errmsg(f->ctx), quoted));
        assert_memory_equal(&u, &sentinel, sizeof(u)); /* untouched on failure */
    }
    assert_int_equal(vc_url_parse(f->ctx, NULL, &(struct vc_url){0}), -EINVAL);
    assert_int_equal(vc_url_parse(NULL, "bogus", &(struct vc_url){0}), -EINVAL); /* NULL ctx */
}

static void test_url_format(void **state)
{
    struct tfix *f = *state;
    struct vc_url u = {.scheme = VC_URL_VSOCK, .cid = 3, .port = 1024};
    char buf[VC_URL_MAX];

    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "vsock://3:1024");
    assert_int_equal(vc_url_format(f->ctx, &u, buf, strlen("vsock://3:1024")), -ENOBUFS);
    assert_int_equal(vc_url_format(f->ctx, &u, buf, strlen("vsock://3:1024") + 1), 0);
    u.port = 0;
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "port 0 is not valid"));
    u = (struct vc_url){.scheme = VC_URL_UNIX, .path = "@x"};
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "does not read back as unix"));
    u = (struct vc_url){.scheme = VC_URL_SERIAL, .path = "relative"};
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    u = (struct vc_url){.scheme = VC_URL_SERIAL};
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "missing path"));
    memset(u.path, 'x', sizeof(u.path)); /* not terminated */
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    u = (struct vc_url){.scheme = VC_URL_SCHEME_LAST, .path = "/x"};
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), -EINVAL);
    u = (struct vc_url){.scheme = VC_URL_ABSTRACT, .path = "/tmp/a"};
    assert_int_equal(vc_url_format(f->ctx, &u, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "unix://@/tmp/a");
}

/* --- unix-socket schemes -------------------------------------------------------------------- */

static void test_real_net_installed(void **state)
{
    struct tfix *f = *state;

    assert_non_null(vc_ctx_net(f->ctx));
    assert_ptr_equal(vc_ctx_net(f->ctx)->ops, &vc_real_net_ops);
}

static void test_unix_round_trip(void **state)
{
    struct tfix *f = *state;
    char url[128], path[128];
    struct stat st;
    struct vc_listener *l = NULL;

    fmt_url(url, sizeof(url), "unix://%s/a.sock", f->dir);
    fmt_url(path, sizeof(path), "%s/a.sock", f->dir);
    round_trip(f->ctx, url, "unix");
    /* the socket file went away with the listener */
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    /* a stale socket file (its listener died without cleaning up) is replaced */
    {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        strcpy(sun.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
        close(fd);
    }
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(vc_listen(f->ctx, url, &l), 0);
    /* a live one is not */
    assert_int_equal(vc_listen(f->ctx, url, &(struct vc_listener *){NULL}), -EADDRINUSE);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "someone is listening there"));
    vc_listener_close(l);
    /* nor is a file that is not a socket */
    fclose(fopen(path, "w"));
    assert_int_equal(vc_listen(f->ctx, url, &(struct vc_listener *){NULL}), -EADDRINUSE);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "not a socket"));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(unlink(path), 0);
}

static void test_abstract_round_trip(void **state)
{
    struct tfix *f = *state;
    char url[128];

    /* the temporary directory's name makes the abstract name unique to this run */
    fmt_url(url, sizeof(url), "unix://@%s/abstract", f->dir);
    round_trip(f->ctx, url, "unix");
    /* the name is free again */
    round_trip(f->ctx, url, "unix");
}

static void test_mock_remote_serial(void **state)
{
    struct tfix *f = *state;
    char url[128];

    fmt_url(url, sizeof(url), "mock://%s/mock.sock", f->dir);
    round_trip(f->ctx, url, "mock");
    fmt_url(url, sizeof(url), "remote://%s/remote.sock", f->dir);
    round_trip(f->ctx, url, "remote");
    fmt_url(url, sizeof(url), "serial://%s/console.serial", f->dir);
    round_trip(f->ctx, url, "serial");
    /* the schemes are interchangeable on the wire: all are plain unix sockets */
    {
        struct vc_listener *l = NULL;
        struct vc_stream *a = NULL, *b;
        char dial[128];

        assert_int_equal(vc_listen(f->ctx, url, &l), 0);
        fmt_url(dial, sizeof(dial), "unix://%s/console.serial", f->dir);
        assert_int_equal(vc_dial(f->ctx, dial, SAFETY_NS, &a), 0);
        b = accept_one(l);
        exchange(a, b);
        vc_stream_close(a);
        vc_stream_close(b);
        vc_listener_close(l);
    }
}

static void test_dial_timeout(void **state)
{
    struct tfix *f = *state;
    struct vc_stream *s = NULL;
    unsigned attempts = 0;
    const char *msg, *p;
    char url[128];

    fmt_url(url, sizeof(url), "unix://%s/nobody.sock", f->dir);
    assert_int_equal(vc_dial(f->ctx, url, 100 * MS, &s), -ETIMEDOUT);
    assert_null(s);
    msg = vc_ctx_errmsg(f->ctx);
    print_message("%s\n", msg);
    assert_non_null(strstr(msg, "timed out connecting to"));
    assert_non_null(strstr(msg, url));
    p = strstr(msg, " after ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, " after %u attempts", &attempts), 1);
    assert_true(attempts >= 2); /* it retried */
    /* a bad URL is not retried */
    assert_int_equal(vc_dial(f->ctx, "unix://relative", 100 * MS, &s), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "path must be absolute"));
    /* one attempt through the ops: nobody listens */
    assert_int_equal(vc_ctx_net(f->ctx)->ops->connect(NULL, f->ctx, url, vc_now(f->ctx) + SEC, &s),
                     -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "cannot connect to"));
}

struct late {
    struct vc_ctx *ctx;    /* context */
    const char *url;       /* where to listen */
    struct vc_listener *l; /* made by the timer */
};

static void late_listen(void *data)
{
    struct late *late = data;

    assert_int_equal(vc_listen(late->ctx, late->url, &late->l), 0);
}

static void test_dial_late_listener(void **state)
{
    struct tfix *f = *state;
    const struct vc_loop *loop = vc_ctx_loop(f->ctx);
    struct late late = {.ctx = f->ctx};
    struct vc_stream *a = NULL, *b;
    char url[128];

    fmt_url(url, sizeof(url), "unix://%s/late.sock", f->dir);
    late.url = url;
    assert_int_equal(
        loop->ops->timer_add(loop->data, vc_now(f->ctx) + 30 * MS, late_listen, &late, NULL), 0);
    assert_int_equal(vc_dial(f->ctx, url, SAFETY_NS, &a), 0);
    assert_non_null(late.l); /* the dial could only succeed once the timer ran */
    b = accept_one(late.l);
    exchange(a, b);
    vc_stream_close(a);
    vc_stream_close(b);
    vc_listener_close(late.l);
}

/* --- hybrid vsock against fake peers on the same loop --------------------------------------- */

enum peer_mode {
    PEER_OK,       /* "OK 1073741824\n" */
    PEER_OK_EXTRA, /* the same, followed at once by stream bytes */
    PEER_EOF,      /* closes after the request (no guest listening) */
    PEER_NOPE,     /* "NOPE\n" */
    PEER_LONG,     /* a 100-byte line that contains OK */
    PEER_SILENT,   /* reads the request and never answers */
};

struct peer {
    struct vc_ctx *ctx;         /* context whose loop runs the peer */
    enum peer_mode mode;        /* how to answer */
    int lfd;                    /* listening socket */
    int conns[PEER_CONNS];      /* accepted connections, -1 when free */
    char req[PEER_CONNS][64];   /* request bytes per connection */
    size_t req_len[PEER_CONNS]; /* bytes in req */
    unsigned accepted;          /* connections accepted */
    char last_req[64];          /* the last complete request line */
};

static void peer_drop(struct peer *p, size_t i)
{
    const struct vc_loop *loop = vc_ctx_loop(p->ctx);

    assert_int_equal(loop->ops->watch(loop->data, p->conns[i], 0, NULL, NULL), 0);
    close(p->conns[i]);
    p->conns[i] = -1;
}

static void peer_answer(struct peer *p, size_t i)
{
    char line[128];
    const char *reply = NULL;

    switch (p->mode) {
    case PEER_OK:
        reply = "OK " HOST_PORT_0 "\n";
        break;
    case PEER_OK_EXTRA:
        reply = "OK " HOST_PORT_0 "\nHELLO";
        break;
    case PEER_EOF:
        peer_drop(p, i);
        return;
    case PEER_NOPE:
        reply = "NOPE\n";
        break;
    case PEER_LONG:
        memset(line, 'O', 100);
        line[100] = 'K';
        line[101] = '\n';
        line[102] = '\0';
        reply = line;
        break;
    case PEER_SILENT:
        return;
    }
    assert_int_equal(send(p->conns[i], reply, strlen(reply), MSG_NOSIGNAL),
                     (ssize_t) strlen(reply));
}

static void peer_on_conn(void *data, int fd, unsigned revents)
{
    struct peer *p = data;
    size_t i;
    ssize_t n;

    for (i = 0; i < PEER_CONNS && p->conns[i] != fd; i++)
        ;
    assert_true(i < PEER_CONNS);
    n = recv(fd, p->req[i] + p->req_len[i], sizeof(p->req[i]) - 1 - p->req_len[i], MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) { /* the dialler gave up */
        peer_drop(p, i);
        return;
    }
    p->req_len[i] += (size_t) n;
    p->req[i][p->req_len[i]] = '\0';
    if (strchr(p->req[i], '\n')) {
        strcpy(p->last_req, p->req[i]);
        p->req_len[i] = 0;
        peer_answer(p, i);
    }
}

static void peer_on_listen(void *data, int fd, unsigned revents)
{
    struct peer *p = data;
    const struct vc_loop *loop = vc_ctx_loop(p->ctx);
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t i;

    if (c < 0)
        return;
    p->accepted++;
    for (i = 0; i < PEER_CONNS && p->conns[i] >= 0; i++)
        ;
    assert_true(i < PEER_CONNS);
    p->conns[i] = c;
    p->req_len[i] = 0;
    assert_int_equal(loop->ops->watch(loop->data, c, VC_IO_IN, peer_on_conn, p), 0);
}

static void peer_start(struct peer *p, struct vc_ctx *ctx, const char *path, enum peer_mode mode,
                       bool watch)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const struct vc_loop *loop = vc_ctx_loop(ctx);

    memset(p, 0, sizeof(*p));
    p->ctx = ctx;
    p->mode = mode;
    for (size_t i = 0; i < PEER_CONNS; i++)
        p->conns[i] = -1;
    p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(p->lfd >= 0);
    assert_true(strlen(path) < sizeof(sun.sun_path));
    strcpy(sun.sun_path, path);
    assert_int_equal(bind(p->lfd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(p->lfd, 16), 0);
    if (watch)
        assert_int_equal(loop->ops->watch(loop->data, p->lfd, VC_IO_IN, peer_on_listen, p), 0);
}

static void peer_stop(struct peer *p, const char *path)
{
    const struct vc_loop *loop = vc_ctx_loop(p->ctx);

    for (size_t i = 0; i < PEER_CONNS; i++)
        if (p->conns[i] >= 0)
            peer_drop(p, i);
    (void) loop->ops->watch(loop->data, p->lfd, 0, NULL, NULL);
    close(p->lfd);
    unlink(path);
}

static void test_hvsock_ok(void **state)
{
    struct tfix *f = *state;
    char path[128], url[160], buf[8];
    struct vc_stream *s = NULL;
    struct peer p;

    fmt_url(path, sizeof(path), "%s/fc.hvsock", f->dir);
    snprintf(url, sizeof(url), "hvsock://%s:1024", path);
    peer_start(&p, f->ctx, path, PEER_OK, true);
    assert_int_equal(vc_dial(f->ctx, url, SAFETY_NS, &s), 0);
    assert_string_equal(s->ops->name, "hvsock");
    assert_string_equal(p.last_req, "CONNECT 1024\n");
    assert_int_equal(p.accepted, 1);
    vc_stream_close(s);
    /* bytes right behind the OK line belong to the stream: the handshake leaves them unread */
    p.mode = PEER_OK_EXTRA;
    assert_int_equal(vc_dial(f->ctx, url, SAFETY_NS, &s), 0);
    stream_read_exact(s, buf, 5);
    assert_memory_equal(buf, "HELLO", 5);
    vc_stream_close(s);
    peer_stop(&p, path);
}

/* One attempt fails with want and a message containing what; a dial of 100 ms times out. */
static void hvsock_fails(struct tfix *f, enum peer_mode mode, int want, const char *what)
{
    char path[128], url[160];
    struct vc_stream *s = NULL;
    struct peer p;
    unsigned attempts = 0;

    fmt_url(path, sizeof(path), "%s/bad.hvsock", f->dir);
    snprintf(url, sizeof(url), "hvsock://%s:1024", path);
    peer_start(&p, f->ctx, path, mode, true);
    assert_int_equal(
        vc_ctx_net(f->ctx)->ops->connect(NULL, f->ctx, url, vc_now(f->ctx) + 200 * MS, &s), want);
    assert_null(s);
    print_message("%s\n", vc_ctx_errmsg(f->ctx));
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "hybrid vsock handshake failed"));
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), what));
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), url));
    assert_int_equal(vc_dial(f->ctx, url, 100 * MS, &s), -ETIMEDOUT);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx),
                           "after ")); /* "timed out connecting to ... after N attempts" */
    assert_int_equal(sscanf(strstr(vc_ctx_errmsg(f->ctx), "after "), "after %u", &attempts), 1);
    assert_true(attempts >= 1);
    if (mode != PEER_SILENT)
        assert_true(attempts >= 2 && p.accepted >= 3); /* each failed attempt was retried */
    peer_stop(&p, path);
}

static void test_hvsock_eof(void **state)
{
    hvsock_fails(*state, PEER_EOF, -EPROTO, "closed the connection");
}

static void test_hvsock_nope(void **state)
{
    hvsock_fails(*state, PEER_NOPE, -EPROTO, "answered 'NOPE'");
}

static void test_hvsock_overlong(void **state)
{
    hvsock_fails(*state, PEER_LONG, -EPROTO, "longer than 64 bytes");
}

static void test_hvsock_silent(void **state)
{
    hvsock_fails(*state, PEER_SILENT, -ETIMEDOUT, "no reply");
}

/* A clock that only moves when the loop waits, and a loop on which nothing ever gets ready:
 * waiting jumps to the deadline. So the handshake's own 10 s cap shows without 10 s passing. */
struct frozen {
    uint64_t now;     /* monotonic ns */
    unsigned watches; /* watch calls seen */
};

static uint64_t frozen_mono(void *data)
{
    return ((struct frozen *) data)->now;
}

static int64_t frozen_wall(void *data)
{
    return (int64_t) ((struct frozen *) data)->now;
}

static uint64_t frozen_rng(void *data)
{
    return 4;
}

static int frozen_watch(void *data, int fd, unsigned events, vc_io_fn *fn, void *fn_data)
{
    ((struct frozen *) data)->watches++;
    return 0;
}

static int frozen_run_once(void *data, uint64_t deadline)
{
    struct frozen *fz = data;

    if (fz->now < deadline)
        fz->now = deadline;
    return -ETIMEDOUT;
}

static const struct vc_loop_ops frozen_loop_ops = {
    .watch = frozen_watch,
    .run_once = frozen_run_once,
};

static void test_hvsock_handshake_cap(void **state)
{
    struct tfix *f = *state;
    struct frozen fz = {.now = 1000 * SEC};
    struct vc_ctx *ctx;
    struct vc_stream *s = NULL;
    char path[128], url[160];
    struct peer p;

    assert_int_equal(vc_ctx_new(&(struct vc_clock){frozen_mono, frozen_wall, &fz},
                                &(struct vc_rng){frozen_rng, NULL}, NULL, &ctx),
                     0);
    vc_ctx_set_loop(ctx, &(struct vc_loop){&frozen_loop_ops, &fz});
    vc_ctx_set_net(ctx, &(struct vc_net){.ops = &vc_real_net_ops});
    fmt_url(path, sizeof(path), "%s/cap.hvsock", f->dir);
    snprintf(url, sizeof(url), "hvsock://%s:1024", path);
    /* the peer's backlog takes the connection; nobody ever answers */
    peer_start(&p, f->ctx, path, PEER_SILENT, false);
    assert_int_equal(vc_ctx_net(ctx)->ops->connect(NULL, ctx, url, fz.now + 60 * SEC, &s),
                     -ETIMEDOUT);
    assert_int_equal(fz.now, 1010 * SEC); /* min(deadline, now + 10 s) */
    assert_true(fz.watches >= 2);         /* it waited on this loop, not elsewhere */
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "no reply"));
    assert_int_equal(vc_ctx_net(ctx)->ops->connect(NULL, ctx, url, fz.now + 3 * SEC, &s),
                     -ETIMEDOUT);
    assert_int_equal(fz.now, 1013 * SEC); /* the overall deadline when it is sooner */
    /* through vc_dial: the dial timeout wins and the handshake is retried until then */
    assert_int_equal(vc_dial(ctx, url, 25 * SEC, &s), -ETIMEDOUT);
    assert_int_equal(fz.now, 1038 * SEC);
    assert_non_null(strstr(vc_ctx_errmsg(ctx), "timed out connecting to"));
    vc_ctx_free(ctx);
    peer_stop(&p, path);
}

/* Our own hvsock listener (a test helper playing Firecracker) against our dialer. */
struct hv_accept {
    struct vc_listener *l; /* listener */
    struct vc_stream *s;   /* what accept gave */
    int r;                 /* what accept returned */
    unsigned calls;        /* accept attempts */
};

static void hv_on_listen(void *data, int fd, unsigned revents)
{
    struct hv_accept *h = data;

    h->calls++;
    h->r = vc_listener_accept(h->l, &h->s);
}

static void test_hvsock_listener(void **state)
{
    struct tfix *f = *state;
    const struct vc_loop *loop = vc_ctx_loop(f->ctx);
    struct hv_accept h = {0};
    struct vc_stream *a = NULL;
    char path[128], url[160], wrong[160], buf[32];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd;

    fmt_url(path, sizeof(path), "%s/own.hvsock", f->dir);
    snprintf(url, sizeof(url), "hvsock://%s:1024", path);
    snprintf(wrong, sizeof(wrong), "hvsock://%s:1025", path);
    assert_int_equal(vc_listen(f->ctx, url, &h.l), 0);
    assert_string_equal(h.l->ops->name, "hvsock");
    assert_int_equal(loop->ops->watch(loop->data, h.l->fd, VC_IO_IN, hv_on_listen, &h), 0);
    assert_int_equal(vc_dial(f->ctx, url, SAFETY_NS, &a), 0);
    assert_int_equal(h.r, 0);
    assert_non_null(h.s);
    assert_string_equal(h.s->ops->name, "hvsock");
    exchange(a, h.s);
    vc_stream_close(a);
    vc_stream_close(h.s);
    h.s = NULL;
    /* no guest on another port: the connection is closed, the dialer sees EOF */
    assert_int_equal(
        vc_ctx_net(f->ctx)->ops->connect(NULL, f->ctx, wrong, vc_now(f->ctx) + SEC, &a), -EPROTO);
    assert_int_equal(h.r, -ECONNREFUSED);
    assert_null(h.s);
    assert_int_equal(loop->ops->watch(loop->data, h.l->fd, 0, NULL, NULL), 0);
    /* runtime-rs's lowercase request, and the host port counting up */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    strcpy(sun.sun_path, path);
    assert_int_equal(connect(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(write(fd, "connect 1024\n", 13), 13);
    h.s = accept_one(h.l);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT), 14);
    assert_string_equal(buf, "OK 1073741825\n");
    vc_stream_close(h.s);
    close(fd);
    /* a malformed request */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(write(fd, "HELLO\n", 6), 6);
    wait_fd(f->ctx, h.l->fd, VC_IO_IN);
    assert_int_equal(vc_listener_accept(h.l, &h.s), -EPROTO);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "malformed request 'HELLO'"));
    close(fd);
    vc_listener_close(h.l);
}

/* --- vsock ---------------------------------------------------------------------------------- */

static void test_vsock(void **state)
{
    struct tfix *f = *state;
    struct vc_stream *s = NULL;
    struct vc_listener *l = NULL;
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r;

    if (fd < 0) {
        /* no vsock here: the transport says so clearly */
        assert_int_equal(vc_dial(f->ctx, "vsock://3:1024", 100 * MS, &s), -EAFNOSUPPORT);
        assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "no vsock support"));
        skip();
    }
    close(fd);
    /* an unused CID: fails cleanly (refused, reset, unreachable or timed out), no fd left */
    r = vc_dial(f->ctx, "vsock://4000000000:1024", 100 * MS, &s);
    print_message("vsock dial: %d %s\n", r, vc_ctx_errmsg(f->ctx));
    assert_true(r < 0);
    assert_null(s);
    assert_true(vc_ctx_errmsg(f->ctx)[0] != '\0');
    /* listening on any CID works where vsock does (or fails with a message) */
    r = vc_listen(f->ctx, "vsock://-1:40777", &l);
    print_message("vsock listen: %d %s\n", r, r < 0 ? vc_ctx_errmsg(f->ctx) : "");
    if (r == 0) {
        assert_string_equal(l->ops->name, "vsock");
        assert_int_equal(vc_listener_accept(l, &s), -EAGAIN);
        vc_listener_close(l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_url_parse_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_parse_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_net_installed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abstract_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mock_remote_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_late_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_nope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_overlong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_handshake_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvsock_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vsock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
