/* SPDX-License-Identifier: Apache-2.0 */
/* The real transports against peers in another process: a forked child plays Firecracker's
 * side of hybrid vsock with plain blocking socket calls (independent of the code under test),
 * or serves an abstract unix socket through its own context, while the parent dials with
 * vc_dial. The child starts listening whenever it gets there, so the dial's retries matter. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>
#include <vc/url.h>
#include "tool.h"

#define SEC UINT64_C(1000000000)

enum child_mode {
    CHILD_OK,  /* answers "OK 1073741824\n", then echoes */
    CHILD_EOF, /* closes every connection after the request */
};

struct tdir {
    char dir[64];       /* temporary directory */
    char path[128];     /* the hybrid vsock socket in it */
    struct vc_ctx *ctx; /* the parent's real context */
};

static void tdir_init(struct tdir *t)
{
    strcpy(t->dir, "/tmp/vc-ckt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/fc.hvsock", t->dir);
    ck_assert_int_eq(vc_ctx_new_real(t->dir, &t->ctx), 0);
}

static void tdir_done(struct tdir *t)
{
    vc_ctx_free(t->ctx);
    ck_assert_int_eq(vctest_rm_tree(t->dir), 0);
}

/* Reads up to a '\n' byte by byte (blocking). */
static ssize_t child_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;

    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return (ssize_t) n;
}

/* The child: listens on path with blocking calls and serves conns connections. */
static void child_serve(const char *path, enum child_mode mode, unsigned conns)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char line[128];
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

    usleep(20000); /* let the parent's first attempts fail */
    strcpy(sun.sun_path, path);
    if (lfd < 0 || bind(lfd, (struct sockaddr *) &sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0)
        _exit(2);
    for (unsigned i = 0; i < conns; i++) {
        int c = accept(lfd, NULL, NULL);
        ssize_t n;

        if (c < 0)
            _exit(3);
        if (child_read_line(c, line, sizeof(line)) < 0 || strcmp(line, "CONNECT 1024\n") != 0)
            _exit(4);
        if (mode == CHILD_EOF) {
            close(c);
            continue;
        }
        if (write(c, "OK 1073741824\n", 14) != 14)
            _exit(5);
        while ((n = read(c, line, sizeof(line))) > 0)
            if (write(c, line, (size_t) n) != n)
                _exit(6);
        close(c);
    }
    _exit(0);
}

static void wait_child(pid_t pid, int want)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), want);
}

static void set_done(void *data, int fd, unsigned revents)
{
    *(bool *) data = true;
}

/* Reads exactly len bytes from s, waiting on the loop. */
static void read_exact(struct vc_ctx *ctx, struct vc_stream *s, char *buf, size_t len)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);

    while (len > 0) {
        ssize_t n = vc_stream_read(s, buf, len);
        bool done = false;

        if (n > 0) {
            buf += n;
            len -= (size_t) n;
            continue;
        }
        ck_assert_int_eq(n, -EAGAIN);
        ck_assert_int_eq(loop->ops->watch(loop->data, s->fd, VC_IO_IN, set_done, &done), 0);
        ck_assert_int_eq(vc_ctx_run_until(ctx, &done, vc_now(ctx) + 10 * SEC), 0);
        ck_assert_int_eq(loop->ops->watch(loop->data, s->fd, 0, NULL, NULL), 0);
    }
}

START_TEST(test_hvsock_child_ok)
{
    struct tdir t;
    struct vc_stream *s = NULL;
    char url[192], buf[16];
    pid_t pid;

    tdir_init(&t);
    snprintf(url, sizeof(url), "hvsock://%s:1024", t.path);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_serve(t.path, CHILD_OK, 1);
    ck_assert_int_eq(vc_dial(t.ctx, url, 10 * SEC, &s), 0);
    ck_assert_int_eq(vc_stream_write(s, "echo me", 7), 7);
    read_exact(t.ctx, s, buf, 7);
    ck_assert_mem_eq(buf, "echo me", 7);
    vc_stream_close(s);
    wait_child(pid, 0);
    tdir_done(&t);
}
END_TEST

START_TEST(test_hvsock_child_eof)
{
    struct tdir t;
    struct vc_stream *s = NULL;
    char url[192];
    pid_t pid;

    tdir_init(&t);
    snprintf(url, sizeof(url), "hvsock://%s:1024", t.path);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_serve(t.path, CHILD_EOF, 1000000);
    /* every attempt meets EOF and is retried until the dial gives up */
    ck_assert_int_eq(vc_dial(t.ctx, url, SEC / 2, &s), -ETIMEDOUT);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(t.ctx), "timed out connecting to"));
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    tdir_done(&t);
}
END_TEST

/* The child serves an abstract socket through its own context and the real listener. */
static void child_abstract(const char *dir, const char *url)
{
    char root[128];

    struct vc_ctx *ctx = NULL;
    struct vc_listener *l = NULL;
    struct vc_stream *s = NULL;
    char buf[8];
    int r;

    snprintf(root, sizeof(root), "%s/child", dir);
    if (vc_ctx_new_real(root, &ctx) < 0 || vc_listen(ctx, url, &l) < 0)
        _exit(2);
    while ((r = vc_listener_accept(l, &s)) == -EAGAIN)
        (void) vc_ctx_sleep_until(ctx, vc_now(ctx) + SEC / 1000);
    if (r < 0)
        _exit(3);
    read_exact(ctx, s, buf, 4);
    if (vc_stream_write(s, buf, 4) != 4)
        _exit(4);
    read_exact(ctx, s, buf, 1); /* hold the stream until the parent has read */
    vc_stream_close(s);
    vc_listener_close(l);
    vc_ctx_free(ctx);
    _exit(0);
}

START_TEST(test_abstract_child)
{
    struct tdir t;
    struct vc_stream *s = NULL;
    char url[192], buf[8];
    pid_t pid;

    tdir_init(&t);
    snprintf(url, sizeof(url), "unix://@%s/agent", t.dir);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_abstract(t.dir, url);
    ck_assert_int_eq(vc_dial(t.ctx, url, 10 * SEC, &s), 0);
    ck_assert_int_eq(vc_stream_write(s, "ping", 4), 4);
    read_exact(t.ctx, s, buf, 4);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_int_eq(vc_stream_write(s, "x", 1), 1);
    vc_stream_close(s);
    wait_child(pid, 0);
    tdir_done(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("peers");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hvsock_child_ok);
    tcase_add_test(tc, test_hvsock_child_eof);
    tcase_add_test(tc, test_abstract_child);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
