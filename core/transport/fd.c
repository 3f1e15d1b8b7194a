/* SPDX-License-Identifier: Apache-2.0 */
/* Streams and listeners over real file descriptors: the common base of the real transports.
 * Readiness is the context loop's business; these only read, write, accept and close. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>

struct fd_stream {
    struct vc_stream base;    /* first member */
    struct vc_stream_ops ops; /* carries the transport's name */
};

struct fd_listener {
    struct vc_listener base;    /* first member */
    struct vc_listener_ops ops; /* carries the transport's name */
    char *unlink_path;          /* socket file to remove on close, or NULL */
};

static int fd_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

static ssize_t fd_stream_read(struct vc_stream *s, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(s->fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static ssize_t fd_stream_write(struct vc_stream *s, const void *buf, size_t len)
{
    ssize_t n;

    /* MSG_NOSIGNAL keeps a vanished peer from raising SIGPIPE; pipes and ttys fall back. */
    do
        n = send(s->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOTSOCK) {
        do
            n = write(s->fd, buf, len);
        while (n < 0 && errno == EINTR);
    }
    if (n >= 0)
        return n;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static void fd_stream_close(struct vc_stream *s)
{
    struct fd_stream *fs = (struct fd_stream *) s;

    if (s->fd >= 0)
        (void) close(s->fd);
    vc_free(s->ctx, fs);
}

int vc_fd_stream_new(struct vc_ctx *ctx, int fd, const char *name, struct vc_stream **ret)
{
    struct fd_stream *fs;
    int r = fd_nonblock_cloexec(fd);

    if (r < 0) {
        (void) close(fd);
        return vc_err(ctx, r, "stream: cannot set up fd %d", fd);
    }
    fs = vc_new0(ctx, struct fd_stream, 1);
    if (!fs) {
        (void) close(fd);
        return -ENOMEM;
    }
    fs->ops = (struct vc_stream_ops){
        .version = VC_STREAM_OPS_V1,
        .name = name,
        .read = fd_stream_read,
        .write = fd_stream_write,
        .close = fd_stream_close,
    };
    fs->base = (struct vc_stream){.ops = &fs->ops, .ctx = ctx, .fd = fd};
    *ret = &fs->base;
    return 0;
}

static int fd_listener_accept(struct vc_listener *l, struct vc_stream **ret)
{
    int fd;

    do
        fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EWOULDBLOCK || errno == ECONNABORTED)
            return -EAGAIN;
        return vc_err(l->ctx, -errno, "accept on '%s' listener failed", l->ops->name);
    }
    return vc_fd_stream_new(l->ctx, fd, l->ops->name, ret);
}

static void fd_listener_close(struct vc_listener *l)
{
    struct fd_listener *fl = (struct fd_listener *) l;

    if (l->fd >= 0)
        (void) close(l->fd);
    if (fl->unlink_path) {
        (void) unlink(fl->unlink_path);
        vc_free(l->ctx, fl->unlink_path);
    }
    vc_free(l->ctx, fl);
}

int vc_fd_listener_new(struct vc_ctx *ctx, int fd, const char *name, const char *unlink_path,
                       struct vc_listener **ret)
{
    struct fd_listener *fl;
    int r = fd_nonblock_cloexec(fd);

    if (r < 0) {
        (void) close(fd);
        return vc_err(ctx, r, "listener: cannot set up fd %d", fd);
    }
    fl = vc_new0(ctx, struct fd_listener, 1);
    if (!fl)
        goto nomem;
    if (unlink_path) {
        fl->unlink_path = vc_strdup(ctx, unlink_path);
        if (!fl->unlink_path)
            goto nomem;
    }
    fl->ops = (struct vc_listener_ops){
        .version = VC_LISTENER_OPS_V1,
        .name = name,
        .accept = fd_listener_accept,
        .close = fd_listener_close,
    };
    fl->base = (struct vc_listener){.ops = &fl->ops, .ctx = ctx, .fd = fd};
    *ret = &fl->base;
    return 0;
nomem:
    vc_free(ctx, fl);
    (void) close(fd);
    return -ENOMEM;
}
