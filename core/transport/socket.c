/* SPDX-License-Identifier: Apache-2.0 */
/* Real-world socket plumbing for the transports: addresses, waiting for readiness on the
 * context's loop (never poll directly, so deadlines hold on any loop), whole writes and bounded
 * line reads. Real-world only: this file makes socket syscalls. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "transport.h"

struct sock_wait {
    bool done;        /* the watch fired */
    unsigned revents; /* what it reported */
};

void vc_transport_unix_addr(const struct vc_url *u, struct sockaddr_un *ret, socklen_t *ret_len)
{
    size_t len = strlen(u->path);

    *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (u->scheme == VC_URL_ABSTRACT) {
        /* a leading NUL, then the name; the address length says where it ends */
        memcpy(ret->sun_path + 1, u->path, len);
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + len);
    } else {
        memcpy(ret->sun_path, u->path, len + 1);
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
}

static void sock_wait_cb(void *data, int fd, unsigned revents)
{
    struct sock_wait *w = data;

    w->revents = revents;
    w->done = true;
}

int vc_transport_wait(struct vc_ctx *ctx, int fd, unsigned events, uint64_t deadline,
                      unsigned *ret_revents)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    struct sock_wait w = {0};
    int r;

    if (!loop)
        return vc_err(ctx, -EOPNOTSUPP, "context has no i/o loop");
    r = loop->ops->watch(loop->data, fd, events, sock_wait_cb, &w);
    if (r < 0)
        return vc_err(ctx, r, "cannot watch fd %d", fd);
    r = vc_ctx_run_until(ctx, &w.done, deadline);
    /* w lives on this stack frame: the watch must not outlive it, whatever happened */
    (void) loop->ops->watch(loop->data, fd, 0, NULL, NULL);
    if (r < 0)
        return r;
    *ret_revents = w.revents;
    return 0;
}

int vc_transport_write_all(struct vc_ctx *ctx, int fd, const void *buf, size_t len,
                           uint64_t deadline)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        unsigned revents;
        int r;

        if (n > 0) {
            p += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        r = vc_transport_wait(ctx, fd, VC_IO_OUT, deadline, &revents);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Peeks at what is waiting and consumes it up to and including a '\n'. Returns the bytes
 * consumed (> 0), -ENODATA at end of stream, -EAGAIN, or -errno; *ret_eol says a '\n' ended
 * them. Peeking first keeps the bytes after the line (the stream's first bytes) unread. */
static ssize_t sock_take_line(int fd, char *buf, size_t room, bool *ret_eol)
{
    ssize_t n, m;
    const char *nl;

    do
        n = recv(fd, buf, room, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return -ENODATA;
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    nl = memchr(buf, '\n', (size_t) n);
    if (nl)
        n = nl - buf + 1;
    do
        m = recv(fd, buf, (size_t) n, 0);
    while (m < 0 && errno == EINTR);
    if (m < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (m == 0)
        return -ENODATA;
    *ret_eol = nl && m == n;
    return m;
}

int vc_transport_read_line(struct vc_ctx *ctx, int fd, char *line, size_t *ret_len,
                           uint64_t deadline)
{
    size_t len = 0;

    for (;;) {
        bool eol = false;
        ssize_t n = sock_take_line(fd, line + len, VC_HVSOCK_LINE_MAX - len, &eol);
        unsigned revents;
        int r;

        if (n == -EAGAIN) {
            r = vc_transport_wait(ctx, fd, VC_IO_IN, deadline, &revents);
            if (r < 0)
                return r;
            continue;
        }
        if (n < 0)
            return (int) n;
        len += (size_t) n;
        if (eol) {
            line[len - 1] = '\0';
            *ret_len = len - 1;
            return 0;
        }
        if (len >= VC_HVSOCK_LINE_MAX)
            return -E2BIG;
    }
}
