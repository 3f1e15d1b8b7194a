/* SPDX-License-Identifier: Apache-2.0 */
/* Agent URLs (kata's schemes) parsed and formatted in one place, and the real world's network
 * service that dials and listens on them: unix and abstract unix sockets, vsock, hybrid vsock
 * (a unix socket plus the CONNECT handshake of Firecracker and Cloud Hypervisor) and
 * virtio-serial ports that QEMU exposes as host unix sockets. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vc/stream.h>

struct vc_ctx;

/* The schemes. Every one but vsock names a unix socket on the host. */
enum vc_url_scheme {
    VC_URL_UNIX,        /* unix://PATH: a unix socket file */
    VC_URL_ABSTRACT,    /* unix://@NAME: an abstract unix socket (Linux), NAME without the '@' */
    VC_URL_VSOCK,       /* vsock://CID:PORT */
    VC_URL_HVSOCK,      /* hvsock://PATH:PORT: unix connect, then "CONNECT PORT\n" / "OK ...\n" */
    VC_URL_MOCK,        /* mock://PATH: plain unix, no handshake (kata: "just for tests use") */
    VC_URL_REMOTE,      /* remote://PATH: plain unix; the host part must be empty */
    VC_URL_SERIAL,      /* serial://PATH: a virtio-serial port's host unix socket (QEMU chardev) */
    VC_URL_SCHEME_LAST, /* sentinel */
};

/* sun_path holds 108 bytes: a path needs its NUL, an abstract name its leading NUL, so either
 * is at most 107 bytes long. */
#define VC_URL_PATH_MAX 107

/* The longest URL vc_url_format writes, with its NUL: "hvsock://" PATH ":" 10 digits. */
#define VC_URL_MAX (sizeof("hvsock://") + VC_URL_PATH_MAX + sizeof(":4294967295"))

/* vsock://-1:PORT (kata's agent default) and vsock://4294967295:PORT both mean any CID. */
#define VC_URL_CID_ANY UINT32_MAX

/* A parsed URL. Only the members its scheme uses are set; the others are zero. */
struct vc_url {
    enum vc_url_scheme scheme;      /* which of the above */
    char path[VC_URL_PATH_MAX + 1]; /* socket path, or abstract name without '@'; NUL-ended */
    uint32_t cid;                   /* vsock: context id */
    uint32_t port;                  /* vsock and hvsock: port, never 0 */
};

/* "unix", "vsock", "hvsock", "mock", "remote", "serial" (abstract is "unix"); NULL past the end. */
const char *vc_url_scheme_to_string(enum vc_url_scheme scheme);

/* Parses url strictly. Paths (all schemes but vsock and abstract unix) must be absolute, since
 * what follows "//" is the path and an empty host is the only host there is; they are taken
 * byte for byte (no percent-decoding) and hold at most VC_URL_PATH_MAX bytes, as does an
 * abstract name (non-empty). Numbers are decimal, at most 10 digits, no sign, no spaces, within
 * 32 bits; ports are not 0; the CID may also be "-1" (any). hvsock splits PATH from PORT at the
 * last ':'. 0 with *ret filled; -EINVAL (recorded on ctx, which may be NULL, naming the URL and
 * the problem) otherwise, *ret untouched. */
int vc_url_parse(struct vc_ctx *ctx, const char *url, struct vc_url *ret);

/* Writes url as a string into buf (size bytes; VC_URL_MAX always suffices) after checking it
 * as vc_url_parse would. 0; -EINVAL (recorded) for invalid parts; -ENOBUFS if buf is short. */
int vc_url_format(struct vc_ctx *ctx, const struct vc_url *url, char *buf, size_t size);

/* The real world's network service (data NULL): what vc_ctx_new_real installs. These use
 * sockets directly; every wait runs on the context's loop until the attempt's deadline.
 *
 * connect: one attempt. Unix-socket schemes connect to the path or name; vsock connects with
 * AF_VSOCK (-EAFNOSUPPORT when the host has no vsock); hvsock connects to PATH, writes
 * "CONNECT PORT\n" and reads one reply line of at most 64 bytes (a longer one is -EPROTO) by
 * min(deadline, now + 10 s), succeeding iff the line contains "OK"; EOF or any other reply is
 * -EPROTO ("hybrid vsock handshake failed: ..."), no reply in time -ETIMEDOUT. Nothing past the
 * reply's '\n' is consumed. A unix socket whose backlog is full gives -EAGAIN (retried).
 *
 * listen: unix, mock, remote and serial listen on a unix socket file (a stale socket there is
 * removed first, anything else or a live listener is -EADDRINUSE; the file is removed on
 * close), abstract on the name, vsock on CID:PORT (CID -1 for any). serial's listener plays
 * QEMU's side of a port in tests. hvsock's listener is a test helper playing Firecracker's side:
 * accept takes a connection and runs the handshake there and then, on the loop (up to 10 s):
 * "CONNECT PORT\n" (or lowercase "connect") for the URL's port gets "OK <host port>\n" (host
 * ports count up from 1073741824), another port gets the connection closed (-ECONNREFUSED), a
 * malformed request or EOF -EPROTO, silence -ETIMEDOUT; the listener stays usable. */
extern const struct vc_net_ops vc_real_net_ops;
