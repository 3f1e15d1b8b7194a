/* SPDX-License-Identifier: Apache-2.0 */
/* The real world's network service: one connection attempt or one listener per URL, over unix
 * sockets (files and abstract names), AF_VSOCK and hybrid vsock, built on the fd streams of
 * fd.c. Real-world only: socket syscalls and the socket file's stat/unlink; every wait runs on
 * the context's loop until the caller's deadline. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "cleanup.h"
#include "transport.h"

#define NET_LISTEN_BACKLOG 128

/* A non-blocking socket of family; vsock's absence is -EAFNOSUPPORT with a clear message. */
static int net_socket(struct vc_ctx *ctx, const char *url, int family, int *ret_fd)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd >= 0) {
        *ret_fd = fd;
        return 0;
    }
    if (family == AF_VSOCK && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT))
        return vc_err(ctx, -EAFNOSUPPORT, "'%s': this host has no vsock support (AF_VSOCK)", url);
    return vc_err(ctx, -errno, "'%s': cannot create a socket: %s", url, strerror(errno));
}

/* Connects fd to sa, waiting on the loop for a connection in progress until deadline. */
static int net_connect_fd(struct vc_ctx *ctx, const char *url, int fd, const void *sa,
                          socklen_t len, uint64_t deadline)
{
    int err = 0, r = connect(fd, sa, len);
    socklen_t elen = sizeof(err);
    unsigned revents;

    if (r == 0)
        return 0;
    if (errno == EAGAIN)
        /* a unix listener's backlog is full: nothing is in progress, the dialer retries */
        return vc_err(ctx, -EAGAIN, "cannot connect to '%s': listener backlog full", url);
    if (errno != EINPROGRESS && errno != EINTR)
        return vc_err(ctx, -errno, "cannot connect to '%s': %s", url, strerror(errno));
    r = vc_transport_wait(ctx, fd, VC_IO_OUT, deadline, &revents);
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "cannot connect to '%s': timed out", url);
    if (r < 0)
        return r;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err)
        return vc_err(ctx, -err, "cannot connect to '%s': %s", url, strerror(err));
    return 0;
}

static int net_connect_url(struct vc_ctx *ctx, const char *url, const struct vc_url *u,
                           uint64_t deadline, int *ret_fd)
{
    vc_autoclose int fd = -1;
    struct sockaddr_un sun;
    struct sockaddr_vm svm;
    const void *sa = &sun;
    socklen_t len;
    int r;

    if (u->scheme == VC_URL_VSOCK) {
        svm = (struct sockaddr_vm){.svm_family = AF_VSOCK, .svm_cid = u->cid, .svm_port = u->port};
        sa = &svm;
        len = sizeof(svm);
    } else
        vc_transport_unix_addr(u, &sun, &len);
    r = net_socket(ctx, url, u->scheme == VC_URL_VSOCK ? AF_VSOCK : AF_UNIX, &fd);
    if (r < 0)
        return r;
    r = net_connect_fd(ctx, url, fd, sa, len, deadline);
    if (r < 0)
        return r;
    if (u->scheme == VC_URL_HVSOCK) {
        r = vc_transport_hvsock_handshake(ctx, url, fd, u->port, deadline);
        if (r < 0)
            return r;
    }
    *ret_fd = VC_TAKE_FD(fd);
    return 0;
}

static int net_real_connect(void *data, struct vc_ctx *ctx, const char *url, uint64_t deadline,
                            struct vc_stream **ret)
{
    struct vc_url u;
    int fd, r = vc_url_parse(ctx, url, &u);

    if (r < 0)
        return r;
    r = net_connect_url(ctx, url, &u, deadline, &fd);
    if (r < 0)
        return r;
    return vc_fd_stream_new(ctx, fd, vc_url_scheme_to_string(u.scheme), ret);
}

/* Makes way for a unix listener at path: nothing there is fine, a socket nobody answers on is
 * stale and removed, anything else is in use. */
static int net_clear_stale(struct vc_ctx *ctx, const char *url, const struct vc_url *u)
{
    vc_autoclose int fd = -1;
    struct sockaddr_un sun;
    struct stat st;
    socklen_t len;
    int r;

    if (lstat(u->path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return vc_err(ctx, -errno, "listen on '%s': %s", url, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return vc_err(ctx, -EADDRINUSE, "listen on '%s': path exists and is not a socket", url);
    r = net_socket(ctx, url, AF_UNIX, &fd);
    if (r < 0)
        return r;
    vc_transport_unix_addr(u, &sun, &len);
    if (connect(fd, (const struct sockaddr *) &sun, len) == 0 || errno == EAGAIN)
        return vc_err(ctx, -EADDRINUSE, "listen on '%s': someone is listening there", url);
    if (errno == ENOENT) /* gone meanwhile */
        return 0;
    if (errno != ECONNREFUSED)
        return vc_err(ctx, -errno, "listen on '%s': probing the old socket: %s", url,
                      strerror(errno));
    if (unlink(u->path) < 0 && errno != ENOENT)
        return vc_err(ctx, -errno, "listen on '%s': cannot remove the stale socket: %s", url,
                      strerror(errno));
    return 0;
}

/* Binds and listens; 0 with *ret_fd, or -errno recorded. */
static int net_bind_listen(struct vc_ctx *ctx, const char *url, int family, const void *sa,
                           socklen_t len, int *ret_fd)
{
    vc_autoclose int fd = -1;
    int r = net_socket(ctx, url, family, &fd);

    if (r < 0)
        return r;
    if (bind(fd, sa, len) < 0)
        return vc_err(ctx, -errno, "listen on '%s': cannot bind: %s", url, strerror(errno));
    if (listen(fd, NET_LISTEN_BACKLOG) < 0)
        return vc_err(ctx, -errno, "listen on '%s': %s", url, strerror(errno));
    *ret_fd = VC_TAKE_FD(fd);
    return 0;
}

static int net_listen_unix(struct vc_ctx *ctx, const char *url, const struct vc_url *u,
                           struct vc_listener **ret)
{
    const char *unlink_path = u->scheme == VC_URL_ABSTRACT ? NULL : u->path;
    struct sockaddr_un sun;
    socklen_t len;
    int fd, r;

    if (unlink_path) {
        r = net_clear_stale(ctx, url, u);
        if (r < 0)
            return r;
    }
    vc_transport_unix_addr(u, &sun, &len);
    r = net_bind_listen(ctx, url, AF_UNIX, &sun, len, &fd);
    if (r < 0)
        return r;
    r = vc_fd_listener_new(ctx, fd, vc_url_scheme_to_string(u->scheme), unlink_path, ret);
    if (r < 0 && unlink_path)
        (void) unlink(unlink_path);
    return r;
}

static int net_real_listen(void *data, struct vc_ctx *ctx, const char *url,
                           struct vc_listener **ret)
{
    struct sockaddr_vm svm;
    struct vc_listener *l;
    struct vc_url u;
    int fd, r = vc_url_parse(ctx, url, &u);

    if (r < 0)
        return r;
    if (u.scheme == VC_URL_VSOCK) {
        svm = (struct sockaddr_vm){.svm_family = AF_VSOCK, .svm_cid = u.cid, .svm_port = u.port};
        r = net_bind_listen(ctx, url, AF_VSOCK, &svm, sizeof(svm), &fd);
        if (r < 0)
            return r;
        return vc_fd_listener_new(ctx, fd, "vsock", NULL, ret);
    }
    r = net_listen_unix(ctx, url, &u, &l);
    if (r < 0)
        return r;
    if (u.scheme == VC_URL_HVSOCK)
        return vc_transport_hvsock_listener_new(ctx, l, u.port, ret);
    *ret = l;
    return 0;
}

const struct vc_net_ops vc_real_net_ops = {
    .connect = net_real_connect,
    .listen = net_real_listen,
};
