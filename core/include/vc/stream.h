/* SPDX-License-Identifier: Apache-2.0 */
/* Byte streams and the network service that makes them. A stream is a connected, non-blocking,
 * reliable byte pipe (a unix or vsock socket, a hybrid vsock after its handshake, a virtio-serial
 * port's host socket, or a simulated connection on virtual time); its fd is what the context's
 * loop watches for readiness, real or virtual. The context's network service dials and listens
 * by URL, so the same ttrpc code runs over real sockets and over the simulated network. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vc_ctx;
struct vc_stream;
struct vc_listener;

#define VC_STREAM_OPS_V1 1u

/* A stream. read and write never block: -EAGAIN means "watch fd and try again". */
struct vc_stream_ops {
    unsigned version; /* VC_STREAM_OPS_V1; members are only ever appended */
    const char *name; /* "unix", "vsock", "hvsock", "serial", "sim" */
    /* Bytes read (> 0), 0 at end of stream, -EAGAIN when none are ready, or -errno. */
    ssize_t (*read)(struct vc_stream *s, void *buf, size_t len);
    /* Bytes written (> 0, possibly fewer than len), -EAGAIN when the pipe is full, or -errno
     * (-EPIPE or -ECONNRESET once the peer is gone). */
    ssize_t (*write)(struct vc_stream *s, const void *buf, size_t len);
    /* Closes the stream and frees it. The caller has removed its watch first. */
    void (*close)(struct vc_stream *s);
};

/* Stream properties (struct vc_stream.flags). */
enum {
    /* The peer may be replaced without this end seeing a close: a virtio-serial port inside a
     * guest is one byte stream however often the host reconnects. A protocol keeping per-peer
     * state (ttrpc's stream ids) must let a new peer start over. */
    VC_STREAM_PEER_REPLACEABLE = 1u << 0,
};

/* The base every stream embeds as its first member. */
struct vc_stream {
    const struct vc_stream_ops *ops; /* the transport */
    struct vc_ctx *ctx;              /* the context it was made with (borrowed) */
    int fd;                          /* what the loop watches (a virtual fd in simulation) */
    unsigned flags;                  /* VC_STREAM_* properties, set by whoever made it */
};

#define VC_LISTENER_OPS_V1 1u

struct vc_listener_ops {
    unsigned version; /* VC_LISTENER_OPS_V1 */
    const char *name; /* as for streams */
    /* A connection that arrived: 0 with *ret owned by the caller, -EAGAIN when none is
     * waiting (watch fd for VC_IO_IN), or -errno. */
    int (*accept)(struct vc_listener *l, struct vc_stream **ret);
    void (*close)(struct vc_listener *l); /* stops listening and frees */
};

struct vc_listener {
    const struct vc_listener_ops *ops; /* the transport */
    struct vc_ctx *ctx;                /* the context it was made with (borrowed) */
    int fd;                            /* readable when a connection waits */
};

/* The network service a context carries. URLs are kata's: unix://PATH, unix://@ABSTRACT,
 * vsock://CID:PORT, hvsock://PATH:PORT, mock://PATH (unix, no handshake), remote://PATH, and
 * serial://PATH for a virtio-serial port exposed as a host unix socket. */
struct vc_net_ops {
    /* One connection attempt, handshake included, finished by deadline_ns (monotonic; the
     * handshake runs on the context's loop). 0 with *ret owned by the caller; -ECONNREFUSED or
     * -ENOENT when nobody listens yet (worth retrying), -ETIMEDOUT, -EINVAL for a bad URL,
     * -EPROTO for a failed handshake, -EAFNOSUPPORT for a scheme this world lacks. */
    int (*connect)(void *data, struct vc_ctx *ctx, const char *url, uint64_t deadline_ns,
                   struct vc_stream **ret);
    /* Listens on url. 0 with *ret owned by the caller, or -errno. */
    int (*listen)(void *data, struct vc_ctx *ctx, const char *url, struct vc_listener **ret);
};

struct vc_net {
    const struct vc_net_ops *ops; /* borrowed */
    void *data;                   /* the network's state */
};

/* Sets the context's network (copied). The real context has the real transports already. */
void vc_ctx_set_net(struct vc_ctx *ctx, const struct vc_net *net);
const struct vc_net *vc_ctx_net(struct vc_ctx *ctx); /* NULL if none */

/* Dials url until a connection is made or timeout_ns has passed: attempts that fail with a
 * retryable error (-ECONNREFUSED, -ENOENT, -EAGAIN, -ECONNRESET, -EPIPE, -ECONNABORTED,
 * -EPROTO from a handshake, -ETIMEDOUT of one attempt, and vhost-vsock's -ENODEV and
 * -EHOSTUNREACH while a guest boots) are repeated after a backoff that doubles from 1 ms up to 50
 * ms, slept on the context's loop. 0 with *ret owned by the caller; -ETIMEDOUT ("timed out
 * connecting to URL after N attempts: <the last attempt's error>") when time runs out; other errors
 * at once; -EOPNOTSUPP without a network. Fault point "net.dial" (each attempt). */
int vc_dial(struct vc_ctx *ctx, const char *url, uint64_t timeout_ns, struct vc_stream **ret);
/* Listens on url through the context's network. Fault point "net.listen". */
int vc_listen(struct vc_ctx *ctx, const char *url, struct vc_listener **ret);

/* Thin wrappers over the ops. NULL-safe closes. */
ssize_t vc_stream_read(struct vc_stream *s, void *buf, size_t len);
ssize_t vc_stream_write(struct vc_stream *s, const void *buf, size_t len);
void vc_stream_close(struct vc_stream *s);
int vc_listener_accept(struct vc_listener *l, struct vc_stream **ret);
void vc_listener_close(struct vc_listener *l);

/* A stream over a connected socket or pipe fd of the real world (takes ownership of fd, which
 * is made non-blocking and close-on-exec). name is the transport's ("unix"). 0 or -errno (fd
 * closed). The transports build on it. */
int vc_fd_stream_new(struct vc_ctx *ctx, int fd, const char *name, struct vc_stream **ret);
/* A listener over a listening socket fd (takes ownership); accept gives fd streams named
 * name. unlink_path (copied, may be NULL) is removed when the listener closes. */
int vc_fd_listener_new(struct vc_ctx *ctx, int fd, const char *name, const char *unlink_path,
                       struct vc_listener **ret);
