/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf <-> JSON (core/src/pbjson.c): round trips that give back the same wire bytes, the
 * exact text of every scalar type at its edges, maps, oneofs, enums, presence, both field-name
 * spellings, and every error with its code, its field path and no leak (a counting allocator
 * checks every test, and a fault sweep fails each allocation in turn). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include <vc/vc.h>
#include <vc/pbjson.h>

#include "agent.pb-c.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "ttrpc.pb-c.h"

#define RICH (&vctest__rich__descriptor)
#define SCAL (&vctest__scalars__descriptor)
#define NODE (&vctest__node__descriptor)

/* A context whose allocator counts live blocks and can fail the Nth allocation. */
struct t {
    struct vc_ctx *ctx;  /* the context under test */
    struct vc_xoshiro x; /* its generator */
    long live;           /* blocks allocated and not freed */
    unsigned fail_at;    /* fail the fail_at-th "alloc" point (1-based); 0: never */
    unsigned hits;       /* "alloc" points seen */
};

static void *t_malloc(void *data, size_t size)
{
    void *p = malloc(size);

    ((struct t *) data)->live += p != NULL;
    return p;
}

static void *t_realloc(void *data, void *ptr, size_t size)
{
    void *p = realloc(ptr, size);

    ((struct t *) data)->live += p && !ptr;
    return p;
}

static void t_free(void *data, void *ptr)
{
    ((struct t *) data)->live -= ptr != NULL;
    free(ptr);
}

static uint64_t t_mono(void *data)
{
    return 1;
}

static int64_t t_wall(void *data)
{
    return 1;
}

static int t_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct t *t = data;

    if (strcmp(point, "alloc") != 0)
        return 0;
    t->hits++;
    return t->fail_at && t->hits == t->fail_at ? -ENOMEM : 0;
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    struct vc_alloc alloc = {t_malloc, t_realloc, t_free, t};
    struct vc_clock clock = {t_mono, t_wall, NULL};
    struct vc_rng rng = {vc_xoshiro_next, &t->x};

    assert_non_null(t);
    vc_xoshiro_seed(&t->x, 1);
    assert_int_equal(vc_ctx_new(&clock, &rng, &alloc, &t->ctx), 0);
    vc_ctx_set_fault(t->ctx, t_fault, t);
    t->live = 0; /* the context's own blocks are not the converter's */
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;

    assert_int_equal(t->live, 0); /* every test gives back all it took */
    vc_ctx_free(t->ctx);
    free(t);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------- */

static char *to_s(struct t *t, const ProtobufCMessage *m, unsigned flags)
{
    char *s = NULL;
    int r = vc_pbjson_to_string(t->ctx, m, flags, &s);

    if (r < 0)
        fail_msg("to_string: %d %s", r, vc_ctx_errmsg(t->ctx));
    return s;
}

static ProtobufCMessage *from_s(struct t *t, const ProtobufCMessageDescriptor *d, const char *json,
                                unsigned flags)
{
    ProtobufCMessage *m = NULL;
    int r = vc_pbjson_from_string(t->ctx, d, json, strlen(json), flags, &m);

    if (r < 0)
        fail_msg("from_string(%s): %d %s", json, r, vc_ctx_errmsg(t->ctx));
    return m;
}

/* Parses json as d, expects failure with code and a message containing want. */
static void expect_err(struct t *t, const ProtobufCMessageDescriptor *d, const char *json,
                       unsigned flags, int code, const char *want)
{
    ProtobufCMessage *m = (ProtobufCMessage *) 0x1;
    int r = vc_pbjson_from_string(t->ctx, d, json, strlen(json), flags, &m);

    if (r != code || !strstr(vc_ctx_errmsg(t->ctx), want))
        fail_msg("%s: got %d '%s', want %d '%s'", json, r, vc_ctx_errmsg(t->ctx), code, want);
    assert_ptr_equal(m, (ProtobufCMessage *) 0x1); /* *ret untouched */
    assert_int_equal(t->live, 0);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;

    *len = protobuf_c_message_get_packed_size(m);
    buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la, lb;
    uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);

    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

/* Renders m, parses the text back, and checks the wire bytes and the text are unchanged. */
static void round_trip(struct t *t, const ProtobufCMessage *m, unsigned flags)
{
    char *s = to_s(t, m, flags), *s2;
    ProtobufCMessage *back = from_s(t, m->descriptor, s, 0);

    assert_same_wire(m, back);
    s2 = to_s(t, back, flags);
    assert_string_equal(s, s2);
    vc_free(t->ctx, s2);
    vc_free(t->ctx, s);
    vc_pb_free(t->ctx, back);
}

static void expect_json(struct t *t, const ProtobufCMessage *m, unsigned flags, const char *want)
{
    char *s = to_s(t, m, flags);

    assert_string_equal(s, want);
    vc_free(t->ctx, s);
}

/* --- a message with every kind of field, built by hand -------------------------------------- */

struct rich {
    Vctest__Rich m;                     /* the message */
    Vctest__Scalars sc, rm[2], bv, bz;  /* nested messages */
    int32_t ri32[3], rs32[2], rsf32[1]; /* repeated 32-bit */
    int64_t ri64[3];                    /* repeated int64 */
    uint64_t ru64[2], rf64[1];          /* repeated unsigned 64 */
    double rd[7];                       /* repeated double */
    float rf[6];                        /* repeated float */
    protobuf_c_boolean rb[2];           /* repeated bool */
    char *rs[3];                        /* repeated string */
    ProtobufCBinaryData rby[3];         /* repeated bytes */
    Vctest__Color rc[4];                /* repeated enum */
    Vctest__Scalars *rmp[2];            /* repeated message */
    Vctest__Rich__LabelsEntry lab[2];   /* map<string, string> */
    Vctest__Rich__LabelsEntry *labp[2]; /* its entries */
    Vctest__Rich__ByIdEntry bi[2];      /* map<int32, Scalars> */
    Vctest__Rich__ByIdEntry *bip[2];    /* its entries */
    Vctest__Rich__ByU64Entry bu[2];     /* map<uint64, Color> */
    Vctest__Rich__ByU64Entry *bup[2];   /* its entries */
    Vctest__Rich__ByBoolEntry bb[2];    /* map<bool, bytes> */
    Vctest__Rich__ByBoolEntry *bbp[2];  /* its entries */
    Vctest__Rich__ByS64Entry bs[1];     /* map<sint64, int64> */
    Vctest__Rich__ByS64Entry *bsp[1];   /* its entries */
    Google__Protobuf__Empty empty;      /* google.protobuf.Empty */
    Vctest__Node n1, n2, kid;           /* recursion */
    Vctest__Node *kids[1];              /* n1's children */
};

static void rich_init(struct rich *r)
{
    static const uint8_t bin[] = {0x00, 0xfb, 0xff, 0x10};

    *r = (struct rich){
        .m = VCTEST__RICH__INIT,
        .sc = VCTEST__SCALARS__INIT,
        .rm = {VCTEST__SCALARS__INIT, VCTEST__SCALARS__INIT},
        .bv = VCTEST__SCALARS__INIT,
        .bz = VCTEST__SCALARS__INIT,
        .ri32 = {-1, INT32_MAX, INT32_MIN},
        .rs32 = {-7, 7},
        .rsf32 = {-100},
        .ri64 = {INT64_MIN, INT64_MAX, -1},
        .ru64 = {UINT64_MAX, 0},
        .rf64 = {UINT64_MAX - 1},
        .rd = {0.1, -0.0, NAN, INFINITY, -INFINITY, DBL_MAX, 5e-324},
        .rf = {0.1f, FLT_MAX, -FLT_MIN, 1e-45f, 16777216.0f, -0.0f},
        .rb = {1, 0},
        .rs = {"", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", "quote\" back\\ nl\n/slash"},
        .rby = {{0, NULL}, {4, (uint8_t *) bin}, {1, (uint8_t *) bin + 1}},
        .rc = {VCTEST__COLOR__RED, VCTEST__COLOR__BLUE, VCTEST__COLOR__COLOR_UNSPECIFIED, 42},
        .lab = {VCTEST__RICH__LABELS_ENTRY__INIT, VCTEST__RICH__LABELS_ENTRY__INIT},
        .bi = {VCTEST__RICH__BY_ID_ENTRY__INIT, VCTEST__RICH__BY_ID_ENTRY__INIT},
        .bu = {VCTEST__RICH__BY_U64_ENTRY__INIT, VCTEST__RICH__BY_U64_ENTRY__INIT},
        .bb = {VCTEST__RICH__BY_BOOL_ENTRY__INIT, VCTEST__RICH__BY_BOOL_ENTRY__INIT},
        .bs = {VCTEST__RICH__BY_S64_ENTRY__INIT},
        .empty = GOOGLE__PROTOBUF__EMPTY__INIT,
        .n1 = VCTEST__NODE__INIT,
        .n2 = VCTEST__NODE__INIT,
        .kid = VCTEST__NODE__INIT,
    };
    r->sc.i32 = -5;
    r->sc.i64 = INT64_MIN;
    r->sc.u64 = UINT64_MAX;
    r->sc.str = "nested";
    r->sc.color = VCTEST__COLOR__GREEN;
    r->rm[0].b = 1;
    r->rm[1].by = (ProtobufCBinaryData){3, (uint8_t *) "foo"};
    r->bv.db = 2.5;
    r->rmp[0] = &r->rm[0];
    r->rmp[1] = &r->rm[1];
    r->lab[0].key = "io.katacontainers.pkg/a";
    r->lab[0].value = "1";
    r->lab[1].key = "";
    r->lab[1].value = "";
    r->bi[0].key = -1;
    r->bi[0].value = &r->bv;
    r->bi[1].key = 7;
    r->bi[1].value = &r->bz; /* empty: {} */
    r->bu[0].key = UINT64_MAX;
    r->bu[0].value = VCTEST__COLOR__BLUE;
    r->bu[1].key = 0;
    r->bu[1].value = 9;
    r->bb[0].key = 1;
    r->bb[0].value = (ProtobufCBinaryData){2, (uint8_t *) "hi"};
    r->bb[1].key = 0;
    r->bs[0].key = INT64_MIN;
    r->bs[0].value = INT64_MAX;
    for (size_t i = 0; i < 2; i++) {
        r->labp[i] = &r->lab[i];
        r->bip[i] = &r->bi[i];
        r->bup[i] = &r->bu[i];
        r->bbp[i] = &r->bb[i];
    }
    r->bsp[0] = &r->bs[0];
    r->n2.value = 2;
    r->n1.child = &r->n2;
    r->kid.value = -3;
    r->kids[0] = &r->kid;
    r->n1.n_children = 1;
    r->n1.children = r->kids;

    r->m.name = "rich";
    r->m.scalars = &r->sc;
    r->m.n_r_i32 = 3, r->m.r_i32 = r->ri32;
    r->m.n_r_i64 = 3, r->m.r_i64 = r->ri64;
    r->m.n_r_u64 = 2, r->m.r_u64 = r->ru64;
    r->m.n_r_double = 7, r->m.r_double = r->rd;
    r->m.n_r_float = 6, r->m.r_float = r->rf;
    r->m.n_r_bool = 2, r->m.r_bool = r->rb;
    r->m.n_r_string = 3, r->m.r_string = r->rs;
    r->m.n_r_bytes = 3, r->m.r_bytes = r->rby;
    r->m.n_r_color = 4, r->m.r_color = r->rc;
    r->m.n_r_msg = 2, r->m.r_msg = r->rmp;
    r->m.n_labels = 2, r->m.labels = r->labp;
    r->m.n_by_id = 2, r->m.by_id = r->bip;
    r->m.n_by_u64 = 2, r->m.by_u64 = r->bup;
    r->m.n_by_bool = 2, r->m.by_bool = r->bbp;
    r->m.n_by_s64 = 1, r->m.by_s64 = r->bsp;
    r->m.choice_case = VCTEST__RICH__CHOICE_CHOICE_I64;
    r->m.choice_i64 = 0; /* a set oneof member shows even at its default */
    r->m.empty = &r->empty;
    r->m.node = &r->n1;
    r->m.camel_case_field_2 = 2;
    r->m.n_r_sint32 = 2, r->m.r_sint32 = r->rs32;
    r->m.n_r_fixed64 = 1, r->m.r_fixed64 = r->rf64;
    r->m.n_r_sfixed32 = 1, r->m.r_sfixed32 = r->rsf32;
}

static const char rich_json[] =
    "{\"name\":\"rich\","
    "\"scalars\":{\"i32\":-5,\"i64\":\"-9223372036854775808\",\"u64\":\"18446744073709551615\","
    "\"str\":\"nested\",\"color\":\"GREEN\"},"
    "\"r_i32\":[-1,2147483647,-2147483648],"
    "\"r_i64\":[\"-9223372036854775808\",\"9223372036854775807\",\"-1\"],"
    "\"r_u64\":[\"18446744073709551615\",\"0\"],"
    "\"r_double\":[0.1,-0.0,\"NaN\",\"Infinity\",\"-Infinity\",1.7976931348623157e+308,"
    "4.94065645841247e-324],"
    "\"r_float\":[0.1,3.4028235e+38,-1.1754944e-38,1.4013e-45,16777216,-0.0],"
    "\"r_bool\":[true,false],"
    "\"r_string\":[\"\",\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\","
    "\"quote\\\" back\\\\ nl\\n/slash\"],"
    "\"r_bytes\":[\"\",\"APv/EA==\",\"+w==\"],"
    "\"r_color\":[\"RED\",\"BLUE\",\"COLOR_UNSPECIFIED\",42],"
    "\"r_msg\":[{\"b\":true},{\"by\":\"Zm9v\"}],"
    "\"labels\":{\"io.katacontainers.pkg/a\":\"1\",\"\":\"\"},"
    "\"by_id\":{\"-1\":{\"db\":2.5},\"7\":{}},"
    "\"by_u64\":{\"18446744073709551615\":\"BLUE\",\"0\":9},"
    "\"by_bool\":{\"true\":\"aGk=\",\"false\":\"\"},"
    "\"by_s64\":{\"-9223372036854775808\":\"9223372036854775807\"},"
    "\"choice_i64\":\"0\","
    "\"empty\":{},"
    "\"node\":{\"child\":{\"value\":2},\"children\":[{\"value\":-3}]},"
    "\"camel_case_field_2\":2,"
    "\"r_sint32\":[-7,7],\"r_fixed64\":[\"18446744073709551614\"],\"r_sfixed32\":[-100]}";

/* --- tests --------------------------------------------------------------------------------- */

/* The hand-built message renders to the exact text, and text -> message -> wire is lossless. */
static void test_rich_round_trip(void **state)
{
    struct t *t = *state;
    struct rich r;
    ProtobufCMessage *back;

    rich_init(&r);
    expect_json(t, &r.m.base, 0, rich_json);
    back = from_s(t, RICH, rich_json, 0);
    assert_same_wire(&r.m.base, back);
    vc_pb_free(t->ctx, back);
    /* every output option reads back to the same wire bytes */
    round_trip(t, &r.m.base, 0);
    round_trip(t, &r.m.base, VC_PBJSON_CAMEL_CASE);
    round_trip(t, &r.m.base, VC_PBJSON_ENUM_NUMBERS | VC_PBJSON_INT64_NUMBERS);
    round_trip(t, &r.m.base, VC_PBJSON_DEFAULTS | VC_PBJSON_PRETTY);
}

/* Wire bytes unpacked through vc_pb_allocator render like the original and free cleanly. */
static void test_unpacked(void **state)
{
    struct t *t = *state;
    ProtobufCAllocator a;
    ProtobufCMessage *m;
    struct rich r;
    uint8_t *buf;
    size_t len;

    rich_init(&r);
    buf = pack(&r.m.base, &len);
    vc_pb_allocator(t->ctx, &a);
    m = protobuf_c_message_unpack(RICH, &a, len, buf);
    assert_non_null(m);
    assert_true(t->live > 0);
    expect_json(t, m, 0, rich_json);
    vc_pb_free(t->ctx, m);
    vc_pb_free(t->ctx, NULL);
    free(buf);
}

/* Every scalar type at its extremes, in both directions. */
static void test_scalar_edges(void **state)
{
    struct t *t = *state;
    Vctest__Scalars s = VCTEST__SCALARS__INIT, *b;
    static const char want[] =
        "{\"i32\":-2147483648,\"i64\":\"-9223372036854775808\",\"u32\":4294967295,"
        "\"u64\":\"18446744073709551615\",\"s32\":-2147483648,\"s64\":\"9223372036854775807\","
        "\"f32\":4294967295,\"f64\":\"18446744073709551615\",\"sf32\":2147483647,"
        "\"sf64\":\"-9223372036854775808\",\"fl\":-3.4028235e+38,\"db\":2.2250738585072014e-308,"
        "\"b\":true,\"str\":\"x\",\"by\":\"AA==\",\"color\":\"BLUE\"}";

    s.i32 = INT32_MIN, s.i64 = INT64_MIN, s.u32 = UINT32_MAX, s.u64 = UINT64_MAX;
    s.s32 = INT32_MIN, s.s64 = INT64_MAX, s.f32 = UINT32_MAX, s.f64 = UINT64_MAX;
    s.sf32 = INT32_MAX, s.sf64 = INT64_MIN, s.fl = -FLT_MAX, s.db = DBL_MIN, s.b = 1;
    s.str = "x", s.by = (ProtobufCBinaryData){1, (uint8_t *) ""}, s.color = VCTEST__COLOR__BLUE;
    expect_json(t, &s.base, 0, want);
    round_trip(t, &s.base, 0);
    b = (Vctest__Scalars *) from_s(t, SCAL, want, 0);
    assert_int_equal(b->i64, INT64_MIN);
    assert_true(b->u64 == UINT64_MAX);
    assert_true(b->fl == -FLT_MAX);
    assert_true(b->db == DBL_MIN);
    vc_pb_free(t->ctx, &b->base);
    /* 64-bit integers as numbers, on request */
    expect_json(t, &s.base, VC_PBJSON_INT64_NUMBERS | VC_PBJSON_ENUM_NUMBERS,
                "{\"i32\":-2147483648,\"i64\":-9223372036854775808,\"u32\":4294967295,"
                "\"u64\":18446744073709551615,\"s32\":-2147483648,\"s64\":9223372036854775807,"
                "\"f32\":4294967295,\"f64\":18446744073709551615,\"sf32\":2147483647,"
                "\"sf64\":-9223372036854775808,\"fl\":-3.4028235e+38,"
                "\"db\":2.2250738585072014e-308,\"b\":true,\"str\":\"x\",\"by\":\"AA==\","
                "\"color\":-3}");
    round_trip(t, &s.base, VC_PBJSON_INT64_NUMBERS | VC_PBJSON_ENUM_NUMBERS);
}

/* Integers come as numbers, integral floats, exponents or strings. */
static void test_int_inputs(void **state)
{
    struct t *t = *state;
    Vctest__Scalars *s;

    s = (Vctest__Scalars *) from_s(t, SCAL,
                                   "{\"i32\":\"-12\",\"i64\":-9223372036854775808,"
                                   "\"u32\":1e3,\"u64\":18446744073709551615,\"s32\":7.0,"
                                   "\"s64\":\"1.5e1\",\"f32\":\"4294967295\",\"f64\":\"0\","
                                   "\"sf32\":-0,\"sf64\":\"-9223372036854775808\"}",
                                   0);
    assert_int_equal(s->i32, -12);
    assert_true(s->i64 == INT64_MIN);
    assert_int_equal(s->u32, 1000);
    assert_true(s->u64 == UINT64_MAX);
    assert_int_equal(s->s32, 7);
    assert_int_equal(s->s64, 15);
    assert_int_equal(s->f32, UINT32_MAX);
    assert_int_equal(s->sf32, 0);
    assert_true(s->sf64 == INT64_MIN);
    vc_pb_free(t->ctx, &s->base);

    expect_err(t, SCAL, "{\"i32\":2147483648}", 0, -ERANGE,
               "i32: 2147483648 out of range for int32");
    expect_err(t, SCAL, "{\"i32\":-2147483649}", 0, -ERANGE, "i32: -2147483649 out of range");
    expect_err(t, SCAL, "{\"u32\":-1}", 0, -ERANGE, "u32: -1 out of range for uint32");
    expect_err(t, SCAL, "{\"u32\":4294967296}", 0, -ERANGE, "u32: 4294967296 out of range");
    expect_err(t, SCAL, "{\"i64\":9223372036854775808}", 0, -ERANGE, "i64: 9223372036854775808");
    expect_err(t, SCAL, "{\"u64\":-1}", 0, -ERANGE, "u64: -1 out of range for uint64");
    /* json-c would clamp these two literals to 64 bits: they are caught with their path */
    expect_err(t, SCAL, "{\"u64\":18446744073709551616}", 0, -ERANGE, "u64: '18446744073709551616");
    expect_err(t, SCAL, "{\"str\":\"18446744073709551616\",\"i64\":-9223372036854775809}", 0,
               -ERANGE, "i64: -9223372036854775809 out of range for int64");
    expect_err(t, SCAL, "{\"u64\":\"18446744073709551616\"}", 0, -ERANGE, "u64: '1844674407");
    expect_err(t, SCAL, "{\"sf64\":1e19}", 0, -ERANGE,
               "sf64: 10000000000000000000 out of range for sfixed64");
    expect_err(t, SCAL, "{\"i64\":\"1e400\"}", 0, -ERANGE, "i64: '1e400' out of range");
    expect_err(t, SCAL, "{\"i32\":1.5}", 0, -EINVAL, "i32: expected int32, got '1.5'");
    expect_err(t, SCAL, "{\"i32\":1e-400}", 0, -EINVAL, "i32: expected int32");
    expect_err(t, SCAL, "{\"i32\":\"0x10\"}", 0, -EINVAL, "i32: expected int32, got '0x10'");
    expect_err(t, SCAL, "{\"i32\":\" 1\"}", 0, -EINVAL, "expected int32");
    expect_err(t, SCAL, "{\"i32\":\"\"}", 0, -EINVAL, "expected int32");
    expect_err(t, SCAL, "{\"i32\":true}", 0, -EINVAL, "i32: expected int32");
    expect_err(t, SCAL, "{\"u64\":[1]}", 0, -EINVAL, "u64: expected uint64");
    expect_err(t, SCAL, "{\"i32\":\"1\\u00002\"}", 0, -EINVAL, "i32: expected int32");
    /* wide literals are found outside strings only, anywhere in the document */
    expect_err(t, RICH,
               "{\"name\":\"a\\\"99999999999999999999\",\"r_u64\":[\"1\",99999999999999999999]}", 0,
               -ERANGE, "r_u64[1]: '99999999999999999999.0' out of range for uint64");
    {
        Vctest__Rich *r = (Vctest__Rich *) from_s(
            t, RICH, "{\"name\":\"99999999999999999999\",\"r_double\":[-99999999999999999999]}", 0);

        assert_string_equal(r->name, "99999999999999999999");
        assert_true(r->r_double[0] == -99999999999999999999.0);
        vc_pb_free(t->ctx, &r->base);
    }
    /* a tree built in code: doubles and unsigned values */
    {
        json_object *j = json_object_new_object();
        ProtobufCMessage *m = NULL;

        json_object_object_add(j, "i32", json_object_new_double(-3.0));
        json_object_object_add(j, "u64", json_object_new_uint64(UINT64_MAX));
        json_object_object_add(j, "db", json_object_new_int64(INT64_MIN));
        assert_int_equal(vc_pbjson_from_json(t->ctx, SCAL, j, 0, &m), 0);
        assert_int_equal(((Vctest__Scalars *) m)->i32, -3);
        assert_true(((Vctest__Scalars *) m)->u64 == UINT64_MAX);
        assert_true(((Vctest__Scalars *) m)->db == -9223372036854775808.0);
        vc_pb_free(t->ctx, m);
        json_object_object_add(j, "u32", json_object_new_double(0.5));
        assert_int_equal(vc_pbjson_from_json(t->ctx, SCAL, j, 0, &m), -EINVAL);
        assert_string_equal(vc_ctx_errmsg(t->ctx), "u32: expected uint32, got '0.5'");
        json_object_put(j);
    }
}

static void test_floats(void **state)
{
    struct t *t = *state;
    Vctest__Scalars s = VCTEST__SCALARS__INIT, *b;

    s.fl = 0.3f, s.db = 1.0;
    expect_json(t, &s.base, 0, "{\"fl\":0.3,\"db\":1}");
    s.fl = NAN, s.db = -INFINITY;
    expect_json(t, &s.base, 0, "{\"fl\":\"NaN\",\"db\":\"-Infinity\"}");
    b = (Vctest__Scalars *) from_s(t, SCAL, "{\"fl\":\"Infinity\",\"db\":\"NaN\"}", 0);
    assert_true(isinf(b->fl) && b->fl > 0);
    assert_true(isnan(b->db));
    vc_pb_free(t->ctx, &b->base);
    b = (Vctest__Scalars *) from_s(t, SCAL, "{\"fl\":\"-2.5e-3\",\"db\":18446744073709551615}", 0);
    assert_true(b->fl == -2.5e-3f);
    assert_true(b->db == 18446744073709551615.0);
    vc_pb_free(t->ctx, &b->base);
    b = (Vctest__Scalars *) from_s(t, SCAL, "{\"fl\":3.4028235e38,\"db\":-5e-324}", 0);
    assert_true(b->fl == FLT_MAX); /* rounds to the largest float, not beyond */
    assert_true(b->db == -5e-324);
    vc_pb_free(t->ctx, &b->base);
    expect_err(t, SCAL, "{\"fl\":3.5e38}", 0, -ERANGE, "fl: value out of range for float");
    expect_err(t, SCAL, "{\"fl\":\"-1e39\"}", 0, -ERANGE, "fl: value out of range for float");
    expect_err(t, SCAL, "{\"db\":1e400}", 0, -ERANGE, "db: value out of range for double");
    expect_err(t, SCAL, "{\"db\":\"-1e400\"}", 0, -ERANGE, "db: value out of range");
    expect_err(t, SCAL, "{\"db\":\"nan\"}", 0, -EINVAL, "db: expected double");
    expect_err(t, SCAL, "{\"db\":\"1.\"}", 0, -EINVAL, "db: expected double");
    expect_err(t, SCAL, "{\"db\":false}", 0, -EINVAL, "db: expected double");
    expect_err(t, SCAL, "{\"fl\":{}}", 0, -EINVAL, "fl: expected float");
}

static void test_bytes(void **state)
{
    struct t *t = *state;
    Vctest__Scalars *b;

    static const struct {
        const char *in;   /* JSON bytes value */
        const char *want; /* decoded */
        size_t len;       /* decoded length */
        const char *out;  /* canonical form */
    } ok[] = {
        {"", "", 0, NULL},
        {"Zg==", "f", 1, "Zg=="},
        {"Zm8=", "fo", 2, "Zm8="},
        {"Zm9v", "foo", 3, "Zm9v"},
        {"Zg", "f", 1, "Zg=="},
        {"Zm8", "fo", 2, "Zm8="},
        {"-_8=", "\xfb\xff", 2, "+/8="},
        {"+/8", "\xfb\xff", 2, "+/8="},
        {"Zm9vYmFy", "foobar", 6, "Zm9vYmFy"},
    };
    static const char *const bad[] = {
        "Z", "Zg=", "Zg===", "=", "Zm9v!", "Zg==Zg==", "Zm 9v", "Zm9vY", "Z===",
    };
    char json[64], want[64];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *s;

        (void) snprintf(json, sizeof(json), "{\"by\":\"%s\"}", ok[i].in);
        b = (Vctest__Scalars *) from_s(t, SCAL, json, 0);
        assert_int_equal(b->by.len, ok[i].len);
        if (ok[i].len)
            assert_memory_equal(b->by.data, ok[i].want, ok[i].len);
        s = to_s(t, &b->base, 0);
        if (ok[i].out)
            (void) snprintf(want, sizeof(want), "{\"by\":\"%s\"}", ok[i].out);
        else
            (void) snprintf(want, sizeof(want), "{}");
        assert_string_equal(s, want);
        vc_free(t->ctx, s);
        vc_pb_free(t->ctx, &b->base);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        (void) snprintf(json, sizeof(json), "{\"by\":\"%s\"}", bad[i]);
        expect_err(t, SCAL, json, 0, -EINVAL, "by: invalid base64");
    }
    expect_err(t, SCAL, "{\"by\":12}", 0, -EINVAL, "by: expected base64 string");
    expect_err(t, RICH, "{\"r_bytes\":[\"Zg==\",\"Zg=\"]}", 0, -EINVAL,
               "r_bytes[1]: invalid base64");
}

static void test_enums(void **state)
{
    struct t *t = *state;
    Vctest__Rich *r;

    r = (Vctest__Rich *) from_s(t, RICH, "{\"r_color\":[\"RED\",2,-3,\"BLUE\",77,2.0]}", 0);
    assert_int_equal(r->n_r_color, 6);
    assert_int_equal(r->r_color[1], VCTEST__COLOR__GREEN);
    assert_int_equal(r->r_color[2], VCTEST__COLOR__BLUE);
    assert_int_equal(r->r_color[4], 77);
    assert_int_equal(r->r_color[5], VCTEST__COLOR__GREEN);
    expect_json(t, &r->base, 0, "{\"r_color\":[\"RED\",\"GREEN\",\"BLUE\",\"BLUE\",77,\"GREEN\"]}");
    expect_json(t, &r->base, VC_PBJSON_ENUM_NUMBERS, "{\"r_color\":[1,2,-3,-3,77,2]}");
    vc_pb_free(t->ctx, &r->base);
    expect_err(t, SCAL, "{\"color\":\"PURPLE\"}", 0, -EINVAL,
               "color: unknown value 'PURPLE' for enum vctest.Color");
    expect_err(t, SCAL, "{\"color\":\"red\"}", 0, -EINVAL, "unknown value 'red'");
    expect_err(t, SCAL, "{\"color\":\"2\"}", 0, -EINVAL, "unknown value '2'"); /* names only */
    expect_err(t, SCAL, "{\"color\":2147483648}", 0, -ERANGE, "color: 2147483648 out of range");
    expect_err(t, SCAL, "{\"color\":true}", 0, -EINVAL, "color: expected enum vctest.Color");
    expect_err(t, RICH, "{\"r_color\":[1,null]}", 0, -EINVAL,
               "r_color[1]: expected enum, got null");
}

static void test_maps(void **state)
{
    struct t *t = *state;
    Vctest__Rich *r;

    r = (Vctest__Rich *) from_s(t, RICH,
                                "{\"labels\":{\"b\":\"2\",\"a\":\"1\",\"n\":null},"
                                "\"by_id\":{\"-2147483648\":{\"i32\":1},\"5\":null},"
                                "\"by_u64\":{\"18446744073709551615\":\"RED\"},"
                                "\"by_bool\":{\"false\":\"AQ==\"},\"by_s64\":{\"-1\":\"-2\"}}",
                                0);
    assert_int_equal(r->n_labels, 3);
    assert_string_equal(r->labels[0]->key, "b"); /* the order given */
    assert_string_equal(r->labels[1]->value, "1");
    assert_string_equal(r->labels[2]->value, ""); /* null: the default */
    assert_int_equal(r->n_by_id, 2);
    assert_int_equal(r->by_id[0]->key, INT32_MIN);
    assert_int_equal(r->by_id[0]->value->i32, 1);
    assert_null(r->by_id[1]->value);
    assert_true(r->by_u64[0]->key == UINT64_MAX);
    assert_false(r->by_bool[0]->key);
    assert_int_equal(r->by_s64[0]->key, -1);
    assert_int_equal(r->by_s64[0]->value, -2);
    expect_json(t, &r->base, 0,
                "{\"labels\":{\"b\":\"2\",\"a\":\"1\",\"n\":\"\"},"
                "\"by_id\":{\"-2147483648\":{\"i32\":1},\"5\":{}},"
                "\"by_u64\":{\"18446744073709551615\":\"RED\"},"
                "\"by_bool\":{\"false\":\"AQ==\"},\"by_s64\":{\"-1\":\"-2\"}}");
    vc_pb_free(t->ctx, &r->base);
    /* an entry without its message value reads back with an empty one, and is then stable */
    r = (Vctest__Rich *) from_s(t, RICH, "{\"labels\":{\"n\":null},\"by_id\":{\"5\":{}}}", 0);
    assert_non_null(r->by_id[0]->value);
    round_trip(t, &r->base, 0);
    vc_pb_free(t->ctx, &r->base);

    expect_err(t, RICH, "{\"by_id\":{\"abc\":{}}}", 0, -EINVAL,
               "by_id[\"abc\"]: expected int32 as map key");
    expect_err(t, RICH, "{\"by_id\":{\"1\":{},\"2147483648\":{}}}", 0, -ERANGE,
               "by_id[\"2147483648\"]: 2147483648 out of range for int32");
    expect_err(t, RICH, "{\"by_u64\":{\"-1\":\"RED\"}}", 0, -ERANGE, "by_u64[\"-1\"]: -1 out of");
    expect_err(t, RICH, "{\"by_u64\":{\"99999999999999999999\":0}}", 0, -ERANGE,
               "map key out of range for uint64");
    expect_err(t, RICH, "{\"by_bool\":{\"yes\":\"\"}}", 0, -EINVAL,
               "by_bool[\"yes\"]: expected \"true\" or \"false\" as map key");
    expect_err(t, RICH, "{\"labels\":{\"k\":1}}", 0, -EINVAL, "labels[\"k\"]: expected string");
    expect_err(t, RICH, "{\"by_id\":{\"3\":{\"i64\":{}}}}", 0, -EINVAL,
               "by_id[\"3\"].i64: expected int64");
    expect_err(t, RICH, "{\"labels\":[]}", 0, -EINVAL, "labels: expected object");
    expect_err(t, RICH, "{\"labels\":{\"\xff\":\"x\"}}", 0, -EINVAL,
               "labels[\"?\"]: invalid UTF-8 in string");
}

static void test_oneof(void **state)
{
    struct t *t = *state;
    Vctest__Rich *r;

    r = (Vctest__Rich *) from_s(t, RICH, "{\"choice_str\":null,\"choice_msg\":{}}", 0);
    assert_int_equal(r->choice_case, VCTEST__RICH__CHOICE_CHOICE_MSG);
    assert_non_null(r->choice_msg);
    expect_json(t, &r->base, 0, "{\"choice_msg\":{}}");
    round_trip(t, &r->base, 0);
    vc_pb_free(t->ctx, &r->base);
    r = (Vctest__Rich *) from_s(t, RICH, "{\"choiceStr\":\"\"}", 0);
    assert_int_equal(r->choice_case, VCTEST__RICH__CHOICE_CHOICE_STR);
    expect_json(t, &r->base, 0, "{\"choice_str\":\"\"}");
    round_trip(t, &r->base, 0);
    vc_pb_free(t->ctx, &r->base);
    r = (Vctest__Rich *) from_s(t, RICH, "{\"choice_color\":\"COLOR_UNSPECIFIED\"}", 0);
    expect_json(t, &r->base, 0, "{\"choice_color\":\"COLOR_UNSPECIFIED\"}");
    vc_pb_free(t->ctx, &r->base);

    expect_err(t, RICH, "{\"choice_str\":\"a\",\"choice_i64\":1}", 0, -EINVAL,
               "choice_i64: oneof member 'choice_str' already set");
    expect_err(t, RICH, "{\"choice_msg\":{\"str\":\"x\"},\"choice_color\":1}", 0, -EINVAL,
               "choice_color: oneof member 'choice_msg' already set");
    expect_err(t, RICH, "{\"choice_msg\":{\"str\":7}}", 0, -EINVAL,
               "choice_msg.str: expected string");
}

/* Fields without presence are left out at their default unless asked for. */
static void test_defaults(void **state)
{
    struct t *t = *state;
    Vctest__Scalars s = VCTEST__SCALARS__INIT;
    Vctest__Rich r = VCTEST__RICH__INIT;
    Ttrpc__Request *req;

    expect_json(t, &s.base, 0, "{}");
    expect_json(t, &s.base, VC_PBJSON_DEFAULTS,
                "{\"i32\":0,\"i64\":\"0\",\"u32\":0,\"u64\":\"0\",\"s32\":0,\"s64\":\"0\","
                "\"f32\":0,\"f64\":\"0\",\"sf32\":0,\"sf64\":\"0\",\"fl\":0,\"db\":0,"
                "\"b\":false,\"str\":\"\",\"by\":\"\",\"color\":\"COLOR_UNSPECIFIED\"}");
    s.db = -0.0; /* the packer treats it as the default too */
    expect_json(t, &s.base, 0, "{}");
    round_trip(t, &s.base, VC_PBJSON_DEFAULTS);
    /* messages and oneofs have presence: never invented */
    expect_json(t, &r.base, VC_PBJSON_DEFAULTS | VC_PBJSON_CAMEL_CASE,
                "{\"name\":\"\",\"rI32\":[],\"rI64\":[],\"rU64\":[],\"rDouble\":[],"
                "\"rFloat\":[],\"rBool\":[],\"rString\":[],\"rBytes\":[],\"rColor\":[],"
                "\"rMsg\":[],\"labels\":{},\"byId\":{},\"byU64\":{},\"byBool\":{},"
                "\"byS64\":{},\"camelCaseField2\":0,\"rSint32\":[],\"rFixed64\":[],"
                "\"rSfixed32\":[]}");
    round_trip(t, &r.base, VC_PBJSON_DEFAULTS);
    /* null means unset, everywhere */
    req = (Ttrpc__Request *) from_s(t, &ttrpc__request__descriptor,
                                    "{\"service\":null,\"payload\":null,\"metadata\":null}", 0);
    expect_json(t, &req->base, 0, "{}");
    vc_pb_free(t->ctx, &req->base);
}

/* Output uses the .proto names (or lowerCamelCase on request); input takes both. */
static void test_names(void **state)
{
    struct t *t = *state;
    Ttrpc__Request *req;
    Vctest__Rich *r;

    req = (Ttrpc__Request *) from_s(t, &ttrpc__request__descriptor,
                                    "{\"timeoutNano\":\"5\",\"service\":\"grpc.Health\"}", 0);
    assert_int_equal(req->timeout_nano, 5);
    expect_json(t, &req->base, 0, "{\"service\":\"grpc.Health\",\"timeout_nano\":\"5\"}");
    expect_json(t, &req->base, VC_PBJSON_CAMEL_CASE,
                "{\"service\":\"grpc.Health\",\"timeoutNano\":\"5\"}");
    vc_pb_free(t->ctx, &req->base);
    r = (Vctest__Rich *) from_s(t, RICH, "{\"camelCaseField2\":3,\"rI32\":[1],\"by_s64\":{}}", 0);
    assert_int_equal(r->camel_case_field_2, 3);
    assert_int_equal(r->n_r_i32, 1);
    vc_pb_free(t->ctx, &r->base);
    expect_err(t, &ttrpc__request__descriptor, "{\"timeout_nano\":1,\"timeoutNano\":2}", 0, -EINVAL,
               "field 'timeout_nano' given twice (also as 'timeoutNano') in ttrpc.Request");
    expect_err(t, &ttrpc__request__descriptor, "{\"TimeoutNano\":1}", 0, -EINVAL,
               "unknown field 'TimeoutNano' in ttrpc.Request");
}

/* The ttrpc envelope as it exists: bytes, int64, repeated messages, Status with Any. */
static void test_ttrpc_envelope(void **state)
{
    struct t *t = *state;
    Ttrpc__KeyValue kv[2] = {TTRPC__KEY_VALUE__INIT, TTRPC__KEY_VALUE__INIT},
                    *kvp[2] = {&kv[0], &kv[1]};
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT, *anyp = &any;

    req.service = "grpc.AgentService";
    req.method = "CreateContainer";
    req.payload = (ProtobufCBinaryData){3, (uint8_t *) "\x0a\x01\x63"};
    req.timeout_nano = INT64_MIN;
    kv[0].key = "k", kv[0].value = "v";
    kv[1].key = "k";
    req.n_metadata = 2, req.metadata = kvp;
    expect_json(t, &req.base, 0,
                "{\"service\":\"grpc.AgentService\",\"method\":\"CreateContainer\","
                "\"payload\":\"CgFj\",\"timeout_nano\":\"-9223372036854775808\","
                "\"metadata\":[{\"key\":\"k\",\"value\":\"v\"},{\"key\":\"k\"}]}");
    round_trip(t, &req.base, 0);
    st.code = 5;
    st.message = "container c1 not found";
    any.type_url = "type.googleapis.com/grpc.Foo";
    any.value = (ProtobufCBinaryData){1, (uint8_t *) "\x08"};
    st.n_details = 1, st.details = &anyp;
    resp.status = &st;
    expect_json(
        t, &resp.base, VC_PBJSON_CAMEL_CASE,
        "{\"status\":{\"code\":5,\"message\":\"container c1 not found\","
        "\"details\":[{\"typeUrl\":\"type.googleapis.com/grpc.Foo\",\"value\":\"CA==\"}]}}");
    round_trip(t, &resp.base, VC_PBJSON_CAMEL_CASE);
}

/* proto2: required fields, explicit defaults, has_ presence. */
static void test_proto2(void **state)
{
    struct t *t = *state;
    Vctest2__Legacy l = VCTEST2__LEGACY__INIT, *b;

    l.id = "a";
    expect_json(t, &l.base, 0, "{\"id\":\"a\",\"count\":0}");
    expect_json(t, &l.base, VC_PBJSON_DEFAULTS, "{\"id\":\"a\",\"count\":0,\"tags\":[]}");
    l.has_big = 1, l.big = 0, l.label = "x", l.has_ratio = 1, l.ratio = 0.5;
    expect_json(t, &l.base, 0,
                "{\"id\":\"a\",\"count\":0,\"label\":\"x\",\"big\":\"0\",\"ratio\":0.5}");
    round_trip(t, &l.base, 0);
    b = (Vctest2__Legacy *) from_s(t, &vctest2__legacy__descriptor,
                                   "{\"id\":\"i\",\"count\":1,\"blob\":\"\",\"next\":{\"id\":\"j\","
                                   "\"count\":2}}",
                                   0);
    assert_true(b->has_blob);
    assert_false(b->has_big);
    assert_int_equal(b->big, -5); /* the declared default */
    assert_string_equal(b->label, "none");
    assert_string_equal(b->next->id, "j");
    expect_json(t, &b->base, 0,
                "{\"id\":\"i\",\"count\":1,\"blob\":\"\",\"next\":{\"id\":\"j\",\"count\":2}}");
    round_trip(t, &b->base, 0);
    vc_pb_free(t->ctx, &b->base);
    expect_err(t, &vctest2__legacy__descriptor, "{\"id\":\"i\"}", 0, -EINVAL,
               "missing required field 'count' in vctest2.Legacy");
    expect_err(t, &vctest2__legacy__descriptor, "{\"id\":\"i\",\"count\":null}", 0, -EINVAL,
               "missing required field 'count'");
    expect_err(t, &vctest2__legacy__descriptor, "{\"id\":\"i\",\"count\":1,\"next\":{\"count\":1}}",
               0, -EINVAL, "next: missing required field 'id' in vctest2.Legacy");
}

/* Hostile or broken input: every error has its code, its place and leaks nothing. */
static void test_errors(void **state)
{
    struct t *t = *state;
    static const struct {
        const ProtobufCMessageDescriptor *d; /* the type parsed */
        const char *json;                    /* the input */
        int code;                            /* expected result */
        const char *want;                    /* part of the message */
    } cases[] = {
        {SCAL, "{\"zz\":1}", -EINVAL, "unknown field 'zz' in vctest.Scalars"},
        {RICH, "{\"scalars\":{\"i32\":1,\"zz\":1}}", -EINVAL,
         "scalars: unknown field 'zz' in vctest.Scalars"},
        {RICH, "{\"r_msg\":[{},{\"str\":5}]}", -EINVAL, "r_msg[1].str: expected string"},
        {RICH, "{\"r_string\":[\"a\",\"b\",3]}", -EINVAL, "r_string[2]: expected string"},
        {RICH, "{\"r_string\":\"a\"}", -EINVAL, "r_string: expected array"},
        {RICH, "{\"r_msg\":[null]}", -EINVAL, "r_msg[0]: expected message, got null"},
        {RICH, "{\"scalars\":[]}", -EINVAL, "scalars: expected object"},
        {RICH, "[]", -EINVAL, "vctest.Rich: expected object"},
        {RICH, "\"x\"", -EINVAL, "vctest.Rich: expected object"},
        {RICH, "null", -EINVAL, "vctest.Rich: expected object"},
        {SCAL, "{\"b\":1}", -EINVAL, "b: expected boolean"},
        {SCAL, "{\"b\":\"true\"}", -EINVAL, "b: expected boolean"},
        {SCAL, "{\"str\":\"\xff\"}", -EINVAL, "str: invalid UTF-8 in string"},
        {SCAL, "{\"str\":\"\xc0\xaf\"}", -EINVAL, "str: invalid UTF-8"},         /* overlong */
        {SCAL, "{\"str\":\"\xed\xa0\x80\"}", -EINVAL, "str: invalid UTF-8"},     /* surrogate */
        {SCAL, "{\"str\":\"\xf4\x90\x80\x80\"}", -EINVAL, "str: invalid UTF-8"}, /* > U+10FFFF */
        {SCAL, "{\"str\":\"\xe2\x82\"}", -EINVAL, "str: invalid UTF-8"},         /* cut short */
        {SCAL, "{\"str\":\"a\\u0000b\"}", -EINVAL, "str: string contains NUL"},
        {SCAL, "{\"str\":1}", -EINVAL, "str: expected string"},
        {SCAL, "{\"i32\":1,}", -EINVAL, "vctest.Scalars: malformed JSON at line 1 column 10"},
        {SCAL, "{\n  \"i32\": 1\n  \"u32\": 2}", -EINVAL, "malformed JSON at line 3 column 3"},
        {SCAL, "{\"i32\":1", -EINVAL, "unexpected end of input"},
        {SCAL, "", -EINVAL, "unexpected end of input"},
        {SCAL, "{} {}", -EINVAL, "line 1 column 4 (offset 3)"},
        {SCAL, "{\"i32\":-}", -EINVAL, "line 1 column 9 (offset 8): number expected"},
        {SCAL, "12", -EINVAL, "vctest.Scalars: expected object"},
        {SCAL, "{\"i32\":01}", -EINVAL, "malformed JSON"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_err(t, cases[i].d, cases[i].json, 0, cases[i].code, cases[i].want);
    /* the same input with a NUL inside: trailing data, not a silent cut */
    {
        ProtobufCMessage *m = NULL;

        assert_int_equal(vc_pbjson_from_string(t->ctx, SCAL, "{}\0{\"x\":1}", 10, 0, &m), -EINVAL);
        assert_non_null(strstr(vc_ctx_errmsg(t->ctx), "trailing data"));
        assert_int_equal(vc_pbjson_from_string(t->ctx, NULL, "{}", 2, 0, &m), -EINVAL);
        assert_int_equal(vc_pbjson_from_json(t->ctx, SCAL, NULL, 0, &m), -EINVAL);
        assert_int_equal(vc_pbjson_to_json(t->ctx, NULL, 0, NULL), -EINVAL);
        assert_null(m);
    }
    /* unknown fields may be skipped on request, at any depth, whatever their value */
    {
        Vctest__Rich *r = (Vctest__Rich *) from_s(
            t, RICH, "{\"zz\":[{\"deep\":1}],\"scalars\":{\"yy\":null,\"i32\":4}}",
            VC_PBJSON_IGNORE_UNKNOWN);

        assert_int_equal(r->scalars->i32, 4);
        vc_pb_free(t->ctx, &r->base);
    }
}

/* JSON of depth nested Node objects ({"child":{"child":...{"value":1}}}) into buf. */
static void nest(char *buf, size_t size, int depth)
{
    size_t n = 0;

    for (int i = 1; i < depth; i++)
        n += (size_t) snprintf(buf + n, size - n, "{\"child\":");
    n += (size_t) snprintf(buf + n, size - n, "{\"value\":1");
    for (int i = 0; i < depth; i++)
        buf[n++] = '}';
    buf[n] = '\0';
}

/* Nesting: exactly VC_PBJSON_DEPTH_MAX containers pass, one more fails, both ways. */
static void test_depth(void **state)
{
    struct t *t = *state;
    size_t len = 16 * (2 * VC_PBJSON_DEPTH_MAX + 2);
    char *json = malloc(len);
    Vctest__Node nodes[VC_PBJSON_DEPTH_MAX + 1];
    struct json_tokener *tok;
    ProtobufCMessage *m;
    json_object *j;
    char *s = NULL;
    size_t n = 0;

    assert_non_null(json);
    nest(json, len, VC_PBJSON_DEPTH_MAX);
    m = from_s(t, NODE, json, 0);
    s = to_s(t, m, 0);
    assert_string_equal(s, json);
    vc_free(t->ctx, s);
    vc_pb_free(t->ctx, m);
    /* one more level fails in the parser */
    nest(json, len, VC_PBJSON_DEPTH_MAX + 1);
    expect_err(t, NODE, json, 0, -E2BIG, "malformed JSON");
    /* a tree built elsewhere is held to the same limit, and the error has its path */
    tok = json_tokener_new_ex(2 * VC_PBJSON_DEPTH_MAX);
    assert_non_null(tok);
    j = json_tokener_parse_ex(tok, json, (int) strlen(json));
    json_tokener_free(tok);
    assert_non_null(j);
    assert_int_equal(vc_pbjson_from_json(t->ctx, NODE, j, 0, &m), -E2BIG);
    assert_non_null(strstr(vc_ctx_errmsg(t->ctx), "child.child.child"));
    assert_non_null(strstr(vc_ctx_errmsg(t->ctx), ": nested deeper than 64"));
    json_object_put(j);
    assert_int_equal(t->live, 0);
    /* arrays count too: each level of children is two containers */
    for (int i = 0; i < VC_PBJSON_DEPTH_MAX / 2 + 1; i++)
        n += (size_t) snprintf(json + n, len - n, "{\"children\":[");
    for (int i = 0; i < VC_PBJSON_DEPTH_MAX / 2 + 1; i++)
        n += (size_t) snprintf(json + n, len - n, "]}");
    expect_err(t, NODE, json, 0, -E2BIG, "line 1");
    /* a message nested too deep to render fails cleanly; one level less renders */
    for (size_t i = 0; i <= VC_PBJSON_DEPTH_MAX; i++) {
        nodes[i] = (Vctest__Node) VCTEST__NODE__INIT;
        nodes[i].child = i < VC_PBJSON_DEPTH_MAX ? &nodes[i + 1] : NULL;
    }
    nodes[VC_PBJSON_DEPTH_MAX].value = 1;
    s = NULL;
    assert_int_equal(vc_pbjson_to_string(t->ctx, &nodes[0].base, 0, &s), -E2BIG);
    assert_null(s);
    assert_non_null(strstr(vc_ctx_errmsg(t->ctx), "nested deeper than 64"));
    assert_int_equal(t->live, 0);
    nest(json, len, VC_PBJSON_DEPTH_MAX);
    expect_json(t, &nodes[1].base, 0, json);
    free(json);
}

/* Input size is bounded; a huge repeated field costs no more than its text. */
static void test_size(void **state)
{
    struct t *t = *state;
    size_t len = VC_PBJSON_INPUT_MAX + 1;
    char *json = malloc(len + 1);
    ProtobufCMessage *m = NULL;
    Vctest__Rich *r;
    size_t n = 0;

    assert_non_null(json);
    memset(json, ' ', len);
    json[0] = '{', json[len - 1] = '}', json[len] = '\0';
    assert_int_equal(vc_pbjson_from_string(t->ctx, RICH, json, len, 0, &m), -EMSGSIZE);
    assert_non_null(strstr(vc_ctx_errmsg(t->ctx), "exceeds 4194304"));
    assert_int_equal(vc_pbjson_from_string(t->ctx, RICH, json, len - 1, 0, &m), -EINVAL);
    json[len - 2] = '}';
    assert_int_equal(vc_pbjson_from_string(t->ctx, RICH, json, len - 1, 0, &m), 0);
    vc_pb_free(t->ctx, m);
    /* just under the limit: an array of zeros as long as it gets */
    n = (size_t) snprintf(json, len, "{\"r_i32\":[0");
    while (n + 4 < VC_PBJSON_INPUT_MAX)
        memcpy(json + n, ",0", 2), n += 2;
    memcpy(json + n, "]}", 3), n += 2;
    r = (Vctest__Rich *) from_s(t, RICH, json, 0);
    assert_true(r->n_r_i32 > (VC_PBJSON_INPUT_MAX - 16) / 2);
    vc_pb_free(t->ctx, &r->base);
    free(json);
}

/* Strings that are not UTF-8 never leave as JSON. */
static void test_out_errors(void **state)
{
    struct t *t = *state;
    Vctest__Rich r = VCTEST__RICH__INIT;
    Vctest__Rich__LabelsEntry e = VCTEST__RICH__LABELS_ENTRY__INIT, *ep = &e;
    Vctest__Scalars *nul = NULL;
    char *bad[] = {"ok", "\xff"};
    json_object *j = NULL;

    r.n_r_string = 2, r.r_string = bad;
    assert_int_equal(vc_pbjson_to_json(t->ctx, &r.base, 0, &j), -EINVAL);
    assert_string_equal(vc_ctx_errmsg(t->ctx), "r_string[1]: invalid UTF-8 in string");
    r.n_r_string = 0;
    e.key = "k", e.value = "\xc3";
    r.n_labels = 1, r.labels = &ep;
    assert_int_equal(vc_pbjson_to_json(t->ctx, &r.base, 0, &j), -EINVAL);
    assert_string_equal(vc_ctx_errmsg(t->ctx), "labels[\"k\"]: invalid UTF-8 in string");
    e.key = "\xc3";
    assert_int_equal(vc_pbjson_to_json(t->ctx, &r.base, 0, &j), -EINVAL);
    assert_string_equal(vc_ctx_errmsg(t->ctx), "labels: invalid UTF-8 in map key");
    r.n_labels = 0;
    r.n_r_msg = 1, r.r_msg = &nul;
    assert_int_equal(vc_pbjson_to_json(t->ctx, &r.base, 0, &j), -EINVAL);
    assert_string_equal(vc_ctx_errmsg(t->ctx), "r_msg[0]: NULL message in repeated field");
    assert_null(j);
}

/* A realistic agent call, as agent-ctl would be given it. */
static void test_create_container(void **state)
{
    struct t *t = *state;
    static const char in[] =
        "{\"container_id\":\"c1\",\"exec_id\":\"c1\","
        "\"storages\":[{\"driver\":\"virtio-fs\",\"source\":\"kataShared\",\"fstype\":\"virtiofs\","
        "\"options\":[\"ro\"],\"mount_point\":\"/run/kata-containers/shared\"}],"
        "\"OCI\":{\"Version\":\"1.0.2\",\"Process\":{\"Terminal\":false,"
        "\"User\":{\"UID\":0,\"GID\":0},\"Args\":[\"sh\",\"-c\",\"echo hi\"],"
        "\"Env\":[\"PATH=/usr/bin:/bin\"],\"Cwd\":\"/\",\"OOMScoreAdj\":\"-999\"},"
        "\"Root\":{\"Path\":\"/run/kata-containers/c1/rootfs\",\"Readonly\":true},"
        "\"Hostname\":\"pod\",\"Annotations\":{\"io.kubernetes.cri.container-type\":\"container\"}}"
        ","
        "\"sandbox_pidns\":true}";
    Grpc__CreateContainerRequest *req;
    char *s;

    req = (Grpc__CreateContainerRequest *) from_s(t, &grpc__create_container_request__descriptor,
                                                  in, 0);
    assert_string_equal(req->container_id, "c1");
    assert_int_equal(req->oci->process->n_args, 3);
    assert_string_equal(req->oci->process->args[2], "echo hi");
    assert_int_equal(req->oci->process->oomscoreadj, -999);
    assert_int_equal(req->oci->n_annotations, 1);
    assert_string_equal(req->oci->annotations[0]->value, "container");
    assert_true(req->sandbox_pidns);
    s = to_s(t, &req->base, 0);
    assert_non_null(strstr(s, "\"Args\":[\"sh\",\"-c\",\"echo hi\"]"));
    assert_non_null(strstr(s, "\"Annotations\":{\"io.kubernetes.cri.container-type\":"));
    vc_free(t->ctx, s);
    round_trip(t, &req->base, 0);
    round_trip(t, &req->base, VC_PBJSON_CAMEL_CASE | VC_PBJSON_DEFAULTS);
    vc_pb_free(t->ctx, &req->base);
    expect_err(t, &grpc__create_container_request__descriptor,
               "{\"OCI\":{\"Process\":{\"Args\":[\"sh\",\"-c\",3]}}}", 0, -EINVAL,
               "OCI.Process.Args[2]: expected string");
    expect_err(t, &grpc__create_container_request__descriptor,
               "{\"OCI\":{\"Process\":{\"Argz\":[]}}}", 0, -EINVAL,
               "OCI.Process: unknown field 'Argz' in grpc.Process");
}

/* Every allocation failing in turn: a clean -ENOMEM each time, nothing leaked. */
static void test_alloc_faults(void **state)
{
    struct t *t = *state;
    unsigned total;
    struct rich r;

    rich_init(&r);
    t->hits = 0;
    {
        ProtobufCMessage *m = from_s(t, RICH, rich_json, 0);

        vc_pb_free(t->ctx, m);
    }
    total = t->hits;
    assert_true(total > 30);
    for (unsigned k = 1; k <= total; k++) {
        ProtobufCMessage *m = NULL;
        int rc;

        t->hits = 0, t->fail_at = k;
        rc = vc_pbjson_from_string(t->ctx, RICH, rich_json, strlen(rich_json), 0, &m);
        assert_int_equal(rc, -ENOMEM);
        assert_null(m);
        assert_non_null(strstr(vc_ctx_errmsg(t->ctx), "out of memory"));
        assert_int_equal(t->live, 0);
    }
    for (unsigned k = 1;; k++) {
        char *s = NULL;
        int rc;

        t->hits = 0, t->fail_at = k;
        rc = vc_pbjson_to_string(t->ctx, &r.m.base, 0, &s);
        if (rc == 0) {
            assert_string_equal(s, rich_json);
            vc_free(t->ctx, s);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(t->live, 0);
    }
    t->fail_at = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rich_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpacked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scalar_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_floats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oneof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttrpc_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proto2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_faults, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
