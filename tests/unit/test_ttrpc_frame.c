/* SPDX-License-Identifier: Apache-2.0 */
/* ttrpc framing without I/O: the header codec, the incremental decoder fed whole, byte by byte
 * and in random chunks, oversized frames skipped without buffering, allocation failures, and
 * the output queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>
#include <vc/ttrpc.h>

#include "../../core/ttrpc/frame.h"
#include "ttrpc.pb-c.h"

struct tctx {
    struct vc_xoshiro rng; /* test generator */
    uint64_t now;          /* fixed clock */
    bool fail_alloc;       /* fail every allocation */
    struct vc_ctx *ctx;    /* the context */
};

static uint64_t t_mono(void *data)
{
    return ((struct tctx *) data)->now;
}

static int64_t t_wall(void *data)
{
    return 0;
}

static int t_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct tctx *t = data;

    return t->fail_alloc && strcmp(point, "alloc") == 0 ? -ENOMEM : 0;
}

static struct tctx *tctx_new(void)
{
    struct tctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    vc_xoshiro_seed(&t->rng, 42);
    assert_int_equal(vc_ctx_new(&(struct vc_clock){t_mono, t_wall, t},
                                &(struct vc_rng){vc_xoshiro_next, &t->rng}, NULL, &t->ctx),
                     0);
    vc_ctx_set_fault(t->ctx, t_fault, t);
    return t;
}

static void tctx_free(struct tctx *t)
{
    vc_ctx_free(t->ctx);
    free(t);
}

static void test_header_codec(void **state)
{
    /* The §1.5 worked example: Health.Check request on stream 1, 26 data bytes. */
    static const uint8_t hdr[10] = {0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00};
    struct vc_ttrpc_header h;
    uint8_t out[10];

    vc_ttrpc_header_decode(hdr, &h);
    assert_int_equal(h.length, 26);
    assert_int_equal(h.stream_id, 1);
    assert_int_equal(h.type, VC_TTRPC_TYPE_REQUEST);
    assert_int_equal(h.flags, 0);
    vc_ttrpc_header_encode(&h, out);
    assert_memory_equal(out, hdr, 10);
    h = (struct vc_ttrpc_header){0xa1b2c3d4, 0x01020304, 0xfe, 0x81};
    vc_ttrpc_header_encode(&h, out);
    assert_memory_equal(out, "\xa1\xb2\xc3\xd4\x01\x02\x03\x04\xfe\x81", 10);
}

/* Builds a frame in buf: header then len bytes of a pattern. Returns the total size. */
static size_t make_frame(uint8_t *buf, uint32_t id, uint8_t type, uint32_t len, uint8_t seed)
{
    vc_ttrpc_header_encode(&(struct vc_ttrpc_header){len, id, type, 0}, buf);
    for (uint32_t i = 0; i < len; i++)
        buf[10 + i] = (uint8_t) (seed + i * 7);
    return 10 + (size_t) len;
}

static void test_whole_and_zero_copy(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    uint8_t buf[256];
    size_t n = 0, used;

    n += make_frame(buf + n, 1, VC_TTRPC_TYPE_RESPONSE, 20, 1);
    n += make_frame(buf + n, 3, VC_TTRPC_TYPE_RESPONSE, 0, 0);
    n += make_frame(buf + n, 5, VC_TTRPC_TYPE_DATA, 7, 9);
    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, n, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(used, 30);
    assert_int_equal(f.h.stream_id, 1);
    assert_int_equal(f.len, 20);
    assert_ptr_equal(f.data, buf + 10); /* no copy */
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 30, n - 30, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(used, 10);
    assert_int_equal(f.h.stream_id, 3);
    assert_int_equal(f.len, 0);
    assert_null(f.data);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 40, n - 40, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(f.h.type, VC_TTRPC_TYPE_DATA);
    assert_int_equal(f.len, 7);
    assert_int_equal(f.data[1], 16);
    assert_int_equal(40 + used, n);
    assert_true(vc_ttrpc_decoder_idle(&d));
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 0, &used, &f), VC_TTRPC_DEC_MORE);
    assert_int_equal(used, 0);
    vc_ttrpc_decoder_fini(&d);
    tctx_free(t);
}

/* A header fed alone, then the whole data in the next feed: the data is not copied; a header
 * split across feeds changes nothing; data split across feeds is collected. */
static void test_header_then_data(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    uint8_t buf[64];
    size_t n = make_frame(buf, 7, VC_TTRPC_TYPE_RESPONSE, 20, 3), used;

    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 10, &used, &f), VC_TTRPC_DEC_MORE);
    assert_int_equal(used, 10);
    assert_false(vc_ttrpc_decoder_idle(&d));
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 10, n - 10, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(used, 20);
    assert_int_equal(f.h.stream_id, 7);
    assert_int_equal(f.len, 20);
    assert_ptr_equal(f.data, buf + 10); /* straight from the second feed */
    assert_true(vc_ttrpc_decoder_idle(&d));

    /* Header in two pieces, data whole: still no copy. */
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 4, &used, &f), VC_TTRPC_DEC_MORE);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 4, 6, &used, &f), VC_TTRPC_DEC_MORE);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 10, n - 10, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_ptr_equal(f.data, buf + 10);

    /* Data in two pieces: collected, and equal to what was sent. */
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 15, &used, &f), VC_TTRPC_DEC_MORE);
    assert_int_equal(used, 15);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + 15, n - 15, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_true(f.data < buf || f.data >= buf + sizeof(buf));
    assert_memory_equal(f.data, buf + 10, 20);
    assert_true(vc_ttrpc_decoder_idle(&d));
    vc_ttrpc_decoder_fini(&d);
    tctx_free(t);
}

static void test_byte_by_byte(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    uint8_t buf[600];
    size_t n = make_frame(buf, 7, VC_TTRPC_TYPE_RESPONSE, 590, 3), used;

    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    for (size_t i = 0; i < n - 1; i++) {
        assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + i, 1, &used, &f), VC_TTRPC_DEC_MORE);
        assert_int_equal(used, 1);
        assert_false(vc_ttrpc_decoder_idle(&d));
    }
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + n - 1, 1, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(f.h.stream_id, 7);
    assert_int_equal(f.len, 590);
    assert_memory_equal(f.data, buf + 10, 590);
    assert_true(vc_ttrpc_decoder_idle(&d));
    vc_ttrpc_decoder_fini(&d);
    tctx_free(t);
}

/* A 4 MiB frame is the largest accepted; one byte more is skipped as it arrives without being
 * buffered, and the frame after it decodes. */
static void test_limit_and_oversized(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    size_t big = VC_TTRPC_MESSAGE_MAX + 10, used, pos;
    uint8_t *buf = malloc(big + 1 + 20);
    uint8_t tail[32];
    int ev = VC_TTRPC_DEC_MORE;

    assert_non_null(buf);
    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    make_frame(buf, 1, VC_TTRPC_TYPE_RESPONSE, VC_TTRPC_MESSAGE_MAX, 5);
    for (pos = 0; pos < big && ev == VC_TTRPC_DEC_MORE; pos += used)
        ev = vc_ttrpc_decoder_feed(&d, buf + pos, big - pos < 65536 ? big - pos : 65536, &used, &f);
    assert_int_equal(ev, VC_TTRPC_DEC_FRAME);
    assert_int_equal(pos, big);
    assert_int_equal(f.len, VC_TTRPC_MESSAGE_MAX);
    assert_memory_equal(f.data, buf + 10, VC_TTRPC_MESSAGE_MAX);

    /* One byte over: announced as oversized at once, then skipped chunk by chunk. */
    make_frame(buf, 3, VC_TTRPC_TYPE_RESPONSE, VC_TTRPC_MESSAGE_MAX + 1, 5);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 10, &used, &f), VC_TTRPC_DEC_OVERSIZED);
    assert_int_equal(f.h.length, VC_TTRPC_MESSAGE_MAX + 1);
    assert_int_equal(f.h.stream_id, 3);
    assert_null(f.data);
    assert_int_equal(d.cap, 0); /* the large buffer of the last frame went, nothing new came */
    for (pos = 10; pos < big + 1; pos += used) {
        size_t n = big + 1 - pos < 65536 ? big + 1 - pos : 65536;

        assert_int_equal(vc_ttrpc_decoder_feed(&d, buf + pos, n, &used, &f), VC_TTRPC_DEC_MORE);
        assert_int_equal(used, n);
        assert_int_equal(d.cap, 0);
    }
    assert_true(vc_ttrpc_decoder_idle(&d));
    make_frame(tail, 5, VC_TTRPC_TYPE_RESPONSE, 4, 1);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, tail, 14, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(f.h.stream_id, 5);

    /* A first byte that is not zero (16 MiB and more): oversized whatever the rest says; the
     * skip continues into the bytes that follow in the same feed. */
    memcpy(tail, "\x01\x00\x00\x02\x00\x00\x00\x09\x02\x00xy", 12);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, tail, 12, &used, &f), VC_TTRPC_DEC_OVERSIZED);
    assert_int_equal(used, 10);
    assert_int_equal(f.h.length, 0x01000002);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, tail + 10, 2, &used, &f), VC_TTRPC_DEC_MORE);
    assert_false(vc_ttrpc_decoder_idle(&d));
    assert_int_equal(d.skip, 0x01000000);
    vc_ttrpc_decoder_fini(&d);
    free(buf);
    tctx_free(t);
}

static void test_random_chunks(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    uint8_t *stream = malloc(1 << 20);
    uint32_t lens[200];
    size_t n = 0, got = 0, pos = 0;

    assert_non_null(stream);
    for (size_t i = 0; i < 200; i++) {
        uint64_t r = vc_xoshiro_next(&t->rng);

        lens[i] = (r & 3) == 0 ? 0 : (uint32_t) (r >> 8) % ((r & 4) ? 20000 : 40);
        n += make_frame(stream + n, (uint32_t) (2 * i + 1), (uint8_t) (1 + i % 3), lens[i],
                        (uint8_t) i);
    }
    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    while (pos < n) {
        size_t chunk = 1 + vc_xoshiro_next(&t->rng) % 3000, used;

        chunk = chunk > n - pos ? n - pos : chunk;
        while (chunk) {
            int ev = vc_ttrpc_decoder_feed(&d, stream + pos, chunk, &used, &f);

            pos += used;
            chunk -= used;
            if (ev == VC_TTRPC_DEC_MORE)
                continue;
            assert_int_equal(ev, VC_TTRPC_DEC_FRAME);
            assert_int_equal(f.h.stream_id, 2 * got + 1);
            assert_int_equal(f.h.type, 1 + got % 3);
            assert_int_equal(f.len, lens[got]);
            for (uint32_t k = 0; k < f.len; k++)
                assert_int_equal(f.data[k], (uint8_t) (got + k * 7));
            got++;
        }
    }
    assert_int_equal(got, 200);
    assert_true(vc_ttrpc_decoder_idle(&d));
    vc_ttrpc_decoder_fini(&d);
    free(stream);
    tctx_free(t);
}

static void test_decoder_enomem(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    uint8_t buf[64];
    size_t used;

    make_frame(buf, 1, VC_TTRPC_TYPE_RESPONSE, 40, 0);
    vc_ttrpc_decoder_init(&d, t->ctx, VC_TTRPC_MESSAGE_MAX);
    t->fail_alloc = true;
    /* A whole frame needs no memory; a split one does. */
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 50, &used, &f), VC_TTRPC_DEC_FRAME);
    assert_int_equal(vc_ttrpc_decoder_feed(&d, buf, 20, &used, &f), -ENOMEM);
    vc_ttrpc_decoder_fini(&d);
    tctx_free(t);
}

static void test_outq(void **state)
{
    struct tctx *t = tctx_new();
    struct vc_ttrpc_outq q;
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    const uint8_t *data, *p;
    size_t len;

    kv.key = "k";
    kv.value = "vv";
    vc_ttrpc_outq_init(&q, t->ctx);
    assert_int_equal(vc_ttrpc_outq_append_msg(&q, 9, VC_TTRPC_TYPE_RESPONSE, 0, &kv.base,
                                              VC_TTRPC_MESSAGE_MAX, &data),
                     7);
    assert_memory_equal(data, "\x0a\x01k\x12\x02vv", 7);
    assert_int_equal(
        vc_ttrpc_outq_append_msg(&q, 11, VC_TTRPC_TYPE_DATA, 4, NULL, VC_TTRPC_MESSAGE_MAX, NULL),
        0);
    assert_int_equal(vc_ttrpc_outq_append_msg(&q, 13, 1, 0, &kv.base, 6, NULL), -EMSGSIZE);
    p = vc_ttrpc_outq_peek(&q, &len);
    assert_int_equal(len, 27);
    assert_memory_equal(p, "\0\0\0\x07\0\0\0\x09\x02\0", 10);
    vc_ttrpc_outq_consume(&q, 17);
    p = vc_ttrpc_outq_peek(&q, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(p, "\0\0\0\0\0\0\0\x0b\x03\x04", 10);
    vc_ttrpc_outq_consume(&q, 10);
    assert_int_equal(q.len, 0);
    t->fail_alloc = true;
    vc_ttrpc_outq_fini(&q);
    assert_int_equal(vc_ttrpc_outq_append_msg(&q, 1, 1, 0, &kv.base, 100, NULL), -ENOMEM);
    tctx_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_codec),        cmocka_unit_test(test_whole_and_zero_copy),
        cmocka_unit_test(test_header_then_data),    cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_limit_and_oversized), cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_decoder_enomem),      cmocka_unit_test(test_outq),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
