/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated network: the network service (vc_net_ops) of every context simhv_ctx_new makes.
 * Listeners are keyed by URL in the world, connections are pairs of bounded byte queues whose
 * bytes land on the peer after a virtual latency, in order, by world events, and the fault plan
 * can reset, drop, truncate, corrupt, duplicate, drip, delay or hang each chunk written. All of it
 * runs on the world's clock and generator, so a seed reproduces every byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simhv_world;
struct simhv_ctx;

#define SIMHV_NET_CONNECT_NS  UINT64_C(50000)   /* one connection attempt (handshake) takes 50 us */
#define SIMHV_NET_LATENCY_NS  UINT64_C(20000)   /* a chunk lands 20 us after it is written... */
#define SIMHV_NET_BYTE_NS     UINT64_C(1)       /* ...plus 1 ns a byte (1 GB/s) */
#define SIMHV_NET_QUEUE_BYTES (256u << 10)      /* bytes in flight plus unread, per direction */
#define SIMHV_NET_BACKLOG     128               /* connections waiting for accept, per listener */
#define SIMHV_NET_DRIP_NS     UINT64_C(1000000) /* drip spreads a chunk over 1 ms by default */
#define SIMHV_NET_DRIP_PIECES 4096              /* most events a dripped chunk lands in */
#define SIMHV_NET_ADDR_MAX    4096              /* bytes of a URL, with its NUL */

/* What the network holds and has done. Streams and listeners are counted from creation to
 * close; all of the first four are 0 once every stream and listener is closed. */
struct simhv_net_stats {
    size_t streams;           /* stream ends handed out (dialled or accepted), not yet closed */
    size_t listeners;         /* listeners not yet closed (torn-down ones included) */
    size_t connections;       /* connections with an end open or waiting to be accepted */
    size_t backlog;           /* connections waiting in listeners' backlogs */
    uint64_t connects;        /* connections made */
    uint64_t refused;         /* attempts nobody listened for */
    uint64_t resets;          /* connections reset (faults, torn-down addresses, dead owners) */
    uint64_t bytes_written;   /* bytes writes took */
    uint64_t bytes_delivered; /* bytes that landed at a reader (duplicates included) */
};

/* The canonical address of url, the key listeners are found by: "scheme://rest" with the scheme
 * in lower case; vsock://CID:PORT with decimal numbers re-printed (leading zeros dropped, CID
 * "-1" written 4294967295, port not 0); hvsock://PATH:PORT the same for the port (split at the
 * last ':'). Other schemes are opaque keys: the rest is kept byte for byte. 0; -EINVAL for no
 * scheme, an empty rest, a bad number or a URL of SIMHV_NET_ADDR_MAX bytes or more; -ENOBUFS if
 * buf (size bytes) is short (SIMHV_NET_ADDR_MAX always suffices). */
int simhv_net_normalize(const char *url, char *buf, size_t size);

/* Counters of the world's network (all zero while the world has no context). */
void simhv_net_stats(const struct simhv_world *w, struct simhv_net_stats *ret);
size_t simhv_net_stream_count(const struct simhv_world *w);
size_t simhv_net_listener_count(const struct simhv_world *w);

/* Tears down the addresses matching pattern, as when the VM behind them dies: every connection
 * that reached a listener at such an address is reset (both ends read and write -ECONNRESET,
 * bytes in flight and unread are lost), and every such listener stops listening (new attempts
 * are refused, its backlog is reset, accept fails with -ECONNABORTED, its fd reports VC_IO_ERR);
 * the objects stay valid until their owners close them. pattern is a canonical address, or a
 * URL (normalized), or a glob with '*' for any run of characters matched against canonical
 * addresses ("vsock://5:*"). Returns the number of connections and listeners torn down. */
size_t simhv_net_reset_address(struct simhv_world *w, const char *pattern);
/* The same for every port of a vsock CID: what a VM's death does to its guest's sockets. */
size_t simhv_net_reset_vsock_cid(struct simhv_world *w, uint32_t cid);

/* For simhv's contexts only. attach installs the world's network on c's core context (made when
 * the world's first context attaches): 0 or -ENOMEM. detach resets and frees every stream and
 * closes every listener c still owns (its process is gone: peers see -ECONNRESET), and frees the
 * network with the world's last context. NULL-safe, and safe on a context never attached. */
int simhv_net_attach(struct simhv_ctx *c);
void simhv_net_detach(struct simhv_ctx *c);
