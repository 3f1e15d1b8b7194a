/* SPDX-License-Identifier: Apache-2.0 */
/* The context's wire tap (vc_ctx_set_wire_tap) on a ttrpc client over a socketpair whose other
 * end the test drives by hand: every frame sent must reach the tap byte for byte as the peer read
 * it, every frame received as the peer wrote it (split writes, frames for unknown streams and
 * oversized headers included); connection serials, the recorder alongside, a tap set late or
 * removed; and the e2e capture writer (tests/support/wirecap.c) read back with its reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "health.pb-c.h"
#include "ttrpc.pb-c.h"
#include "wirecap.h"

#define MS(n)   ((uint64_t) (n) *1000000u)
#define MAXCONN 4

/* What the tap saw: per connection and direction, the frames concatenated. */
struct seen {
    uint8_t *bytes[MAXCONN][2]; /* [conn][dir] frames, header then data */
    size_t len[MAXCONN][2];     /* bytes held */
    int frames[MAXCONN][2];     /* frames seen */
    int skipped;                /* received frames with no data (oversized) */
    int recorded;               /* frames the client's recorder saw */
};

static void on_tap(void *data, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                   const uint8_t *body, size_t len)
{
    struct seen *s = data;
    uint32_t declared = vctest_wirecap_be32(hdr);
    uint8_t **b;
    size_t *n;

    assert_true(conn >= 1 && conn < MAXCONN);
    assert_true(dir == VC_WIRE_SEND || dir == VC_WIRE_RECV);
    if (!body && declared > 0) {
        assert_int_equal(dir, VC_WIRE_RECV);
        assert_int_equal(len, 0);
        s->skipped++;
    } else {
        assert_int_equal(declared, len); /* the header matches the data handed over */
    }
    b = &s->bytes[conn][dir];
    n = &s->len[conn][dir];
    *b = realloc(*b, *n + 10 + len);
    assert_non_null(*b);
    memcpy(*b + *n, hdr, 10);
    if (len)
        memcpy(*b + *n + 10, body, len);
    *n += 10 + len;
    s->frames[conn][dir]++;
}

static void seen_free(struct seen *s)
{
    for (int c = 0; c < MAXCONN; c++)
        for (int d = 0; d < 2; d++)
            free(s->bytes[c][d]);
}

static void on_record(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id, uint8_t type,
                      uint8_t flags, const uint8_t *buf, size_t len)
{
    ((struct seen *) data)->recorded++;
}

/* One call's outcome. */
struct res {
    int n; /* callbacks run */
    int r; /* result */
};

static void on_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct res *o = data;

    o->n++;
    o->r = res->r;
}

static struct vc_ctx *real_ctx(void)
{
    char root[] = "/tmp/vc-wiretap-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0);
    return ctx;
}

static void loop_once(struct vc_ctx *ctx)
{
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    int r = loop->ops->run_once(loop->data, vc_now(ctx) + MS(20));

    assert_true(r == 0 || r == -ETIMEDOUT);
}

/* A client over one end of a socketpair; *raw is the other end (non-blocking). */
static struct vc_ttrpc_client *client_raw(struct vc_ctx *ctx, int *raw)
{
    struct vc_ttrpc_client *c = NULL;
    struct vc_stream *s;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(vc_fd_stream_new(ctx, sv[0], "unix", &s), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(vc_ttrpc_client_new(ctx, s, &c), 0);
    *raw = sv[1];
    return c;
}

/* Reads exactly len bytes from the raw end, running the loop meanwhile. */
static void raw_read(struct vc_ctx *ctx, int fd, uint8_t *buf, size_t len)
{
    uint64_t deadline = vc_now(ctx) + MS(10000);

    while (len) {
        ssize_t n = read(fd, buf, len);

        if (n <= 0) {
            assert_true(n < 0 && errno == EAGAIN);
            assert_true(vc_now(ctx) < deadline);
            loop_once(ctx);
            continue;
        }
        buf += n;
        len -= (size_t) n;
    }
}

static void raw_write(int fd, const uint8_t *buf, size_t len)
{
    assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t) len);
}

/* Writes a frame header declaring len data bytes. */
static void hdr_put(uint8_t out[10], uint32_t id, uint8_t type, uint32_t len)
{
    uint8_t h[10] = {len >> 24, len >> 16, len >> 8, len, id >> 24, id >> 16, id >> 8, id, type, 0};

    memcpy(out, h, 10);
}

/* Writes a frame (header and data) at out; its length. */
static size_t frame_put(uint8_t *out, uint32_t id, uint8_t type, const uint8_t *data, uint32_t len)
{
    hdr_put(out, id, type, len);
    if (len)
        memcpy(out + 10, data, len);
    return 10 + (size_t) len;
}

/* A Response envelope carrying a SERVING HealthCheckResponse; its length. */
static size_t serving_response(uint8_t *out, size_t size)
{
    Grpc__HealthCheckResponse hc = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    Ttrpc__Response env = TTRPC__RESPONSE__INIT;
    uint8_t payload[16];

    hc.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    env.payload.len = protobuf_c_message_pack(&hc.base, payload);
    env.payload.data = payload;
    assert_true(protobuf_c_message_get_packed_size(&env.base) <= size);
    return protobuf_c_message_pack(&env.base, out);
}

/* Runs the loop until both calls ended. */
static void wait_done(struct vc_ctx *ctx, const struct res *a, const struct res *b)
{
    uint64_t deadline = vc_now(ctx) + MS(10000);

    while ((a->n == 0 || b->n == 0) && vc_now(ctx) < deadline)
        loop_once(ctx);
    assert_int_equal(a->n, 1);
    assert_int_equal(b->n, 1);
}

/* Two calls out, three frames back (one split over two writes, one for no call): the tap saw
 * exactly the bytes on the wire in both directions, with the recorder still served. */
static void test_frames_exact(void **state)
{
    struct vc_ctx *ctx = real_ctx();
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct seen s = {0};
    struct res a = {0}, b = {0};
    struct vc_ttrpc_client *c;
    uint8_t env[64], wire[512], *got;
    size_t n_env, n = 0, half;
    int raw;

    req.service = "probe";
    vc_ctx_set_wire_tap(ctx, on_tap, &s);
    c = client_raw(ctx, &raw);
    vc_ttrpc_client_set_recorder(c, on_record, &s);
    assert_int_equal(vc_ttrpc_call_start(c, "grpc.Health", "Check", &req.base,
                                         &grpc__health_check_response__descriptor, 0, NULL, 0,
                                         on_done, &a, NULL),
                     0);
    assert_int_equal(vc_ttrpc_call_start(c, "grpc.AgentService", "GetGuestDetails", NULL, NULL, 0,
                                         NULL, 0, on_done, &b, NULL),
                     0);
    assert_int_equal(s.frames[1][VC_WIRE_SEND], 2);
    got = malloc(s.len[1][VC_WIRE_SEND]);
    assert_non_null(got);
    raw_read(ctx, raw, got, s.len[1][VC_WIRE_SEND]);
    assert_memory_equal(got, s.bytes[1][VC_WIRE_SEND], s.len[1][VC_WIRE_SEND]);
    free(got);

    n_env = serving_response(env, sizeof(env));
    n += frame_put(wire + n, 3, VC_TTRPC_TYPE_RESPONSE, env, (uint32_t) n_env);
    n += frame_put(wire + n, 99, VC_TTRPC_TYPE_RESPONSE, env, (uint32_t) n_env);
    half = n + 4;
    n += frame_put(wire + n, 1, VC_TTRPC_TYPE_RESPONSE, env, (uint32_t) n_env);
    raw_write(raw, wire, half);
    for (int i = 0; i < 3; i++)
        loop_once(ctx);
    raw_write(raw, wire + half, n - half);
    wait_done(ctx, &a, &b);
    assert_int_equal(a.r, 0);
    assert_int_equal(b.r, 0);
    assert_int_equal(s.frames[1][VC_WIRE_RECV], 3);
    assert_int_equal(s.len[1][VC_WIRE_RECV], n);
    assert_memory_equal(s.bytes[1][VC_WIRE_RECV], wire, n);
    assert_int_equal(s.recorded, 5);
    assert_int_equal(s.skipped, 0);
    vc_ttrpc_client_free(c);
    close(raw);
    vc_ctx_free(ctx);
    seen_free(&s);
}

/* A header over the message limit reaches the tap with no data and its declared length. */
static void test_oversized(void **state)
{
    struct vc_ctx *ctx = real_ctx();
    struct seen s = {0};
    struct res a = {0}, b = {1, 0};
    struct vc_ttrpc_client *c;
    uint8_t hdr[10];
    int raw;

    vc_ctx_set_wire_tap(ctx, on_tap, &s);
    c = client_raw(ctx, &raw);
    assert_int_equal(
        vc_ttrpc_call_start(c, "grpc.Health", "Check", NULL, NULL, 0, NULL, 0, on_done, &a, NULL),
        0);
    hdr_put(hdr, 1, VC_TTRPC_TYPE_RESPONSE, 16u << 20);
    raw_write(raw, hdr, 10);
    wait_done(ctx, &a, &b);
    assert_int_equal(a.r, -EMSGSIZE);
    assert_int_equal(s.skipped, 1);
    assert_int_equal(s.frames[1][VC_WIRE_RECV], 1);
    assert_int_equal(s.len[1][VC_WIRE_RECV], 10);
    assert_memory_equal(s.bytes[1][VC_WIRE_RECV], hdr, 10);
    vc_ttrpc_client_free(c);
    close(raw);
    vc_ctx_free(ctx);
    seen_free(&s);
}

/* Serials count the clients made while a tap is set; clients made before see no tap; removing
 * the tap stops the reports. */
static void test_serials(void **state)
{
    struct vc_ctx *ctx = real_ctx();
    struct seen s = {0};
    struct res o[4] = {{0}};
    struct vc_ttrpc_client *before, *c1, *c2;
    int raw[3];

    before = client_raw(ctx, &raw[0]);
    vc_ctx_set_wire_tap(ctx, on_tap, &s);
    c1 = client_raw(ctx, &raw[1]);
    c2 = client_raw(ctx, &raw[2]);
    assert_int_equal(
        vc_ttrpc_call_start(before, "s", "m", NULL, NULL, 0, NULL, 0, on_done, &o[0], NULL), 0);
    assert_int_equal(
        vc_ttrpc_call_start(c2, "s", "m", NULL, NULL, 0, NULL, 0, on_done, &o[1], NULL), 0);
    assert_int_equal(
        vc_ttrpc_call_start(c1, "s", "m", NULL, NULL, 0, NULL, 0, on_done, &o[2], NULL), 0);
    assert_int_equal(s.frames[0][VC_WIRE_SEND], 0);
    assert_int_equal(s.frames[1][VC_WIRE_SEND], 1);
    assert_int_equal(s.frames[2][VC_WIRE_SEND], 1);
    assert_int_equal(s.frames[3][VC_WIRE_SEND], 0);
    vc_ctx_set_wire_tap(ctx, NULL, NULL);
    assert_int_equal(
        vc_ttrpc_call_start(c1, "s", "m", NULL, NULL, 0, NULL, 0, on_done, &o[3], NULL), 0);
    assert_int_equal(s.frames[1][VC_WIRE_SEND], 1);
    vc_ttrpc_client_free(before);
    vc_ttrpc_client_free(c1);
    vc_ttrpc_client_free(c2);
    for (int i = 0; i < 3; i++)
        close(raw[i]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i].r, -ECANCELED);
    vc_ctx_free(ctx);
    seen_free(&s);
}

/* Reads a whole file. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 16);

    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    assert_true(*len < (1 << 16));
    fclose(f);
    return buf;
}

/* The capture writer, read back with the reader: every record, in order, intact. */
static void test_capture_file(void **state)
{
    char dir[] = "/tmp/vc-wirecap-XXXXXX", path[128];
    struct vctest_wirecap_rec rec = {0};
    struct vctest_wirecap *w = NULL;
    const uint8_t body[] = {1, 2, 3, 4, 5};
    uint8_t h1[10], h2[10], *buf;
    size_t len, off;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(setenv(VCTEST_WIRECAP_ENV, dir, 1), 0);
    {
        struct vc_ctx *ctx = real_ctx();

        w = vctest_wirecap_install(ctx, "unit");
        assert_non_null(w);
        hdr_put(h1, 1, VC_TTRPC_TYPE_REQUEST, sizeof(body));
        hdr_put(h2, 1, VC_TTRPC_TYPE_RESPONSE, 32u << 20); /* declared, never received */
        vc_ctx_wire_tap(ctx, 7, VC_WIRE_SEND, h1, body, sizeof(body));
        vc_ctx_wire_tap(ctx, 7, VC_WIRE_RECV, h2, NULL, 0);
        vc_ctx_free(ctx);
    }
    assert_int_equal(unsetenv(VCTEST_WIRECAP_ENV), 0);
    assert_int_equal(vctest_wirecap_records(w), 2);
    assert_int_equal(vctest_wirecap_errors(w), 0);
    vctest_wirecap_close(w);
    (void) snprintf(path, sizeof(path), "%s/unit-%ld.wcap", dir, (long) getpid());
    buf = slurp(path, &len);
    assert_true(vctest_wirecap_check(buf, len, &off));
    assert_int_equal(vctest_wirecap_next(buf, len, &off, &rec), 1);
    assert_int_equal(rec.dir, VC_WIRE_SEND);
    assert_int_equal(rec.conn, 7);
    assert_int_equal(rec.flags, 0);
    assert_int_equal(rec.len, 10 + sizeof(body));
    assert_memory_equal(rec.frame, h1, 10);
    assert_memory_equal(rec.frame + 10, body, sizeof(body));
    assert_int_equal(vctest_wirecap_next(buf, len, &off, &rec), 1);
    assert_int_equal(rec.dir, VC_WIRE_RECV);
    assert_int_equal(rec.flags, VCTEST_WIRECAP_SKIPPED);
    assert_int_equal(rec.len, 10);
    assert_int_equal(vctest_wirecap_next(buf, len, &off, &rec), 0);
    /* A record cut short is malformed, the ones before it still read. */
    off = VCTEST_WIRECAP_MAGIC_LEN;
    assert_int_equal(vctest_wirecap_next(buf, len - 1, &off, &rec), 1);
    assert_int_equal(vctest_wirecap_next(buf, len - 1, &off, &rec), -EBADMSG);
    free(buf);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Without the variable nothing is installed. */
static void test_capture_off(void **state)
{
    struct vc_ctx *ctx = real_ctx();

    assert_int_equal(unsetenv(VCTEST_WIRECAP_ENV), 0);
    assert_null(vctest_wirecap_install(ctx, "unit"));
    assert_int_equal(vc_ctx_wire_conn(ctx), 0);
    vc_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_exact), cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_serials),      cmocka_unit_test(test_capture_file),
        cmocka_unit_test(test_capture_off),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
