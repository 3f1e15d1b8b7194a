/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the real transports (private to core/transport): decimal numbers as URLs
 * and the hybrid vsock handshake spell them, socket addresses, waiting on the context's loop,
 * bounded line reads and the hybrid vsock handshake's two sides. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <vc/stream.h>
#include <vc/url.h>

struct vc_ctx;

#define VC_HVSOCK_LINE_MAX        64                    /* handshake line, '\n' included */
#define VC_HVSOCK_HANDSHAKE_NS    UINT64_C(10000000000) /* kata's handshakeTimeout, 10 s */
#define VC_HVSOCK_HOST_PORT_FIRST UINT32_C(1073741824)  /* Firecracker's first host port */

/* Scans 1 to 10 decimal digits at s: 0 with *ret and *ret_end (the first byte after them);
 * -EINVAL if s does not start with a digit, -ERANGE past 10 digits or UINT32_MAX. */
int vc_transport_parse_u32(const char *s, const char **ret_end, uint32_t *ret);

/* The socket address of a unix-socket URL (any scheme but vsock) and its length. */
void vc_transport_unix_addr(const struct vc_url *u, struct sockaddr_un *ret, socklen_t *ret_len);

/* Waits on the context's loop until fd reports one of events (or VC_IO_ERR) or deadline
 * passes. 0 with *ret_revents; -ETIMEDOUT (not recorded); -errno from the loop. */
int vc_transport_wait(struct vc_ctx *ctx, int fd, unsigned events, uint64_t deadline,
                      unsigned *ret_revents);

/* Writes all len bytes to a non-blocking socket, waiting on the loop by deadline. 0;
 * -ETIMEDOUT; -errno (-EPIPE, -ECONNRESET once the peer is gone). Nothing recorded. */
int vc_transport_write_all(struct vc_ctx *ctx, int fd, const void *buf, size_t len,
                           uint64_t deadline);

/* Reads one line from a non-blocking socket by deadline without consuming anything past its
 * '\n'. line must hold VC_HVSOCK_LINE_MAX + 1 bytes; it is NUL-terminated without the '\n'
 * and *ret_len is its length. 0; -ENODATA at end of stream; -E2BIG when no '\n' comes within
 * VC_HVSOCK_LINE_MAX bytes; -ETIMEDOUT; -errno. Nothing recorded. */
int vc_transport_read_line(struct vc_ctx *ctx, int fd, char *line, size_t *ret_len,
                           uint64_t deadline);

/* The dialer's side of the hybrid vsock handshake on a connected unix socket: "CONNECT port\n",
 * then one reply line containing "OK", by min(deadline, now + 10 s). 0; -EPROTO, -ETIMEDOUT
 * or -errno, recorded ("hybrid vsock handshake failed: ..."). url names the peer in messages. */
int vc_transport_hvsock_handshake(struct vc_ctx *ctx, const char *url, int fd, uint32_t port,
                                  uint64_t deadline);

/* The hybrid vsock test listener over inner (a unix listener; ownership taken, closed on
 * failure): see vc_real_net_ops in vc/url.h. 0 with *ret owned by the caller, or -ENOMEM. */
int vc_transport_hvsock_listener_new(struct vc_ctx *ctx, struct vc_listener *inner, uint32_t port,
                                     struct vc_listener **ret);
