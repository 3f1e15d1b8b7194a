/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: ttrpc unary round trips (grpc.Health/Check) between core's client and server in
 * one process over a unix socketpair, one call at a time and 64 in flight, against the raw
 * socket limit: a plain write/read ping-pong of the same byte counts on another socketpair,
 * without and with a poll(2) before each read. Prints microseconds per round trip and calls
 * per second (with --machine as "key value" lines for ci/bench). Figures only: nothing
 * asserted. Real-world tool: uses the wall clock directly. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "health.pb-c.h"

#define INFLIGHT 64u

struct bench {
    struct vc_ctx *ctx;          /* real context (poll loop) */
    struct vc_ttrpc_server *srv; /* the server */
    struct vc_ttrpc_client *cl;  /* the client */
    char root[64];               /* the context's (unused) store root */
};

static double wall_seconds(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The server's Check: decodes the request and answers SERVING, as the mock agent does. */
static void check_handler(void *data, struct vc_ttrpc_call *call, const char *method,
                          const uint8_t *payload, size_t len)
{
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    struct vc_ctx *ctx = data;
    ProtobufCMessage *req = NULL;

    if (vc_ttrpc_call_decode(call, &grpc__check_request__descriptor, payload, len, &req) < 0)
        return;
    vc_ttrpc_msg_free(ctx, req);
    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    (void) vc_ttrpc_reply(call, &resp.base);
}

static int bench_setup(struct bench *b)
{
    static const char *const methods[] = {"Check", NULL};
    struct vc_stream *cs = NULL, *ss = NULL;
    int sv[2], r;

    strcpy(b->root, "/tmp/vc-bench-ttrpc-XXXXXX");
    if (!mkdtemp(b->root))
        return -errno;
    r = vc_ctx_new_real(b->root, &b->ctx);
    if (r < 0)
        return r;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    r = vc_fd_stream_new(b->ctx, sv[0], "unix", &cs);
    if (r < 0) {
        (void) close(sv[1]);
        return r;
    }
    r = vc_fd_stream_new(b->ctx, sv[1], "unix", &ss);
    if (r < 0) {
        vc_stream_close(cs);
        return r;
    }
    r = vc_ttrpc_server_new(b->ctx, &b->srv);
    if (r >= 0)
        r = vc_ttrpc_server_register(b->srv, "grpc.Health", methods, check_handler, b->ctx);
    if (r >= 0) {
        r = vc_ttrpc_server_serve(b->srv, ss);
        ss = NULL;
    } else {
        vc_stream_close(ss);
    }
    if (r >= 0)
        return vc_ttrpc_client_new(b->ctx, cs, &b->cl);
    vc_stream_close(cs);
    return r;
}

static void bench_teardown(struct bench *b)
{
    vc_ttrpc_client_free(b->cl);
    vc_ttrpc_server_free(b->srv);
    vc_ctx_free(b->ctx);
    (void) rmdir(b->root);
}

/* n blocking calls, one after another. */
static int run_serial(struct bench *b, unsigned n)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;

    for (unsigned i = 0; i < n; i++) {
        int r = vc_ttrpc_call(b->cl, "grpc.Health", "Check", &req.base,
                              &grpc__health_check_response__descriptor, 0, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Calls kept INFLIGHT at a time until n have completed. */
struct flight {
    struct bench *b; /* the bench */
    unsigned left;   /* calls still to start */
    unsigned done;   /* calls completed */
    unsigned want;   /* calls in all */
    bool all;        /* done == want */
    int r;           /* first error */
};

static void flight_start(struct flight *f);

static void flight_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct flight *f = data;

    if (res->r < 0 && f->r == 0)
        f->r = res->r;
    f->all = ++f->done == f->want;
    flight_start(f);
}

static void flight_start(struct flight *f)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;

    if (!f->left || f->r < 0)
        return;
    f->left--;
    f->r = vc_ttrpc_call_start(f->b->cl, "grpc.Health", "Check", &req.base,
                               &grpc__health_check_response__descriptor, 0, NULL, 0, flight_done, f,
                               NULL);
}

static int run_pipelined(struct bench *b, unsigned n)
{
    struct flight f = {.b = b, .left = n, .want = n};

    for (unsigned i = 0; i < INFLIGHT && i < n; i++)
        flight_start(&f);
    while (!f.all && f.r == 0) {
        int r = vc_ctx_run_until(b->ctx, &f.all, UINT64_MAX);
        if (r < 0)
            return r;
    }
    return f.r;
}

/* The raw limit: req bytes one way, resp bytes back, n times; with_poll waits for readiness
 * before each read as an event loop would. */
static int run_raw(unsigned n, size_t req, size_t resp, bool with_poll)
{
    char buf[4096];
    int sv[2], r = 0;

    if (req > sizeof(buf) || resp > sizeof(buf))
        return -EINVAL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    memset(buf, 0x5a, sizeof(buf));
    for (unsigned i = 0; i < n && r == 0; i++) {
        struct pollfd pb = {.fd = sv[1], .events = POLLIN}, pa = {.fd = sv[0], .events = POLLIN};
        if (write(sv[0], buf, req) != (ssize_t) req || (with_poll && poll(&pb, 1, -1) != 1) ||
            read(sv[1], buf, req) != (ssize_t) req || write(sv[1], buf, resp) != (ssize_t) resp ||
            (with_poll && poll(&pa, 1, -1) != 1) || read(sv[0], buf, resp) != (ssize_t) resp)
            r = -EIO;
    }
    (void) close(sv[0]);
    (void) close(sv[1]);
    return r;
}

/* One figure: a text line, or "<key>_us" and "<key>_per_s" lines with --machine. */
static void report(bool machine, const char *key, const char *what, unsigned n, double secs)
{
    if (machine) {
        printf("%s_us %.3f\n", key, secs * 1e6 / n);
        printf("%s_per_s %.0f\n", key, n / secs);
    } else {
        printf("  %-44s %8.2f us/call  %10.0f calls/s\n", what, secs * 1e6 / n, n / secs);
    }
}

int main(int argc, char **argv)
{
    bool machine = argc > 1 && strcmp(argv[1], "--machine") == 0;
    unsigned n = argc > 1 + machine ? (unsigned) strtoul(argv[1 + machine], NULL, 10) : 20000;
    struct vc_ttrpc_stats st;
    struct bench b = {0};
    size_t req, resp;
    double t0, t1;
    int r;

    if (n == 0) {
        fprintf(stderr, "usage: bench_ttrpc [--machine] [ROUND_TRIPS]\n");
        return 2;
    }
    r = bench_setup(&b);
    if (r < 0) {
        fprintf(stderr, "bench_ttrpc: setup: %s\n", strerror(-r));
        bench_teardown(&b);
        return 1;
    }
    /* Warm up, and learn the frame sizes from the client's counters. */
    r = run_serial(&b, 100);
    vc_ttrpc_client_stats(b.cl, &st);
    req = (size_t) (st.bytes_out / 100);
    resp = (size_t) (st.bytes_in / 100);
    if (machine) {
        printf("calls %u\nrequest_bytes %zu\nresponse_bytes %zu\n", n, req, resp);
    } else {
        printf("ttrpc unary round trip, grpc.Health/Check, %u calls, one process, unix "
               "socketpair\n",
               n);
        printf("  frames: request %zu bytes, response %zu bytes (headers included)\n", req, resp);
    }
    if (r >= 0) {
        t0 = wall_seconds();
        r = run_serial(&b, n);
        t1 = wall_seconds();
        if (r >= 0)
            report(machine, "unary", "ttrpc client+server, 1 in flight", n, t1 - t0);
    }
    if (r >= 0) {
        t0 = wall_seconds();
        r = run_pipelined(&b, n);
        t1 = wall_seconds();
        if (r >= 0)
            report(machine, "pipelined", "ttrpc client+server, 64 in flight", n, t1 - t0);
    }
    if (r < 0)
        fprintf(stderr, "bench_ttrpc: %s\n", vc_ctx_errmsg(b.ctx));
    bench_teardown(&b);
    for (int with_poll = 0; r >= 0 && with_poll < 2; with_poll++) {
        t0 = wall_seconds();
        r = run_raw(n, req, resp, with_poll);
        t1 = wall_seconds();
        if (r >= 0)
            report(machine, with_poll ? "raw_poll" : "raw",
                   with_poll ? "raw write/read ping-pong, poll before read"
                             : "raw write/read ping-pong (the socket limit)",
                   n, t1 - t0);
    }
    return r < 0 ? 1 : 0;
}
