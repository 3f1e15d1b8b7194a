/* SPDX-License-Identifier: Apache-2.0 */
/* Trace details: vc_trace formats its plain conversions itself and must give exactly what
 * vsnprintf gives, for those and for everything it hands on to vsnprintf. */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"

struct sink {
    char detail[2048]; /* the last detail delivered */
    unsigned n;        /* records delivered */
};

static void sink_fn(void *data, uint64_t ts_ns, const char *category, const char *name,
                    const char *detail)
{
    struct sink *s = data;

    (void) snprintf(s->detail, sizeof(s->detail), "%s", detail);
    s->n++;
}

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* What vsnprintf makes of fmt into len bytes. */
static void expect_text(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* vc_trace's detail for a format and its arguments must equal vsnprintf's into 1024 bytes. */
#define CHECK_TRACE(fx, sink, ...)                                                                 \
    do {                                                                                           \
        char want_[1024];                                                                          \
        unsigned n_ = (sink)->n;                                                                   \
                                                                                                   \
        expect_text(want_, sizeof(want_), __VA_ARGS__);                                            \
        vc_trace((fx)->ctx, "test", "fmt", __VA_ARGS__);                                           \
        assert_int_equal((sink)->n, n_ + 1);                                                       \
        assert_string_equal((sink)->detail, want_);                                                \
    } while (0)

static void test_plain_conversions(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};

    vc_ctx_set_trace(fx->ctx, sink_fn, &sink);
    CHECK_TRACE(fx, &sink, "no conversion at all");
    CHECK_TRACE(fx, &sink, "%s", "");
    CHECK_TRACE(fx, &sink, "%s %s", "pod", "running");
    CHECK_TRACE(fx, &sink, "%s/%s pid %d status %d", "app", "x1", 101, -1);
    CHECK_TRACE(fx, &sink, "cid %u sandbox %s vcpus %u memory %u", 3u, "pod", 1u, UINT_MAX);
    CHECK_TRACE(fx, &sink, "%d %d %i", INT_MIN, INT_MAX, 0);
    CHECK_TRACE(fx, &sink, "%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xdeadbeefUL);
    CHECK_TRACE(fx, &sink, "%lld %llu %llx", LLONG_MIN, ULLONG_MAX, 0x0ULL);
    CHECK_TRACE(fx, &sink, "%zu %zx", SIZE_MAX, (size_t) 255);
    CHECK_TRACE(fx, &sink, "%" PRIu64 " %" PRId64 " %" PRIx64 " %" PRIu32 " %" PRId32, UINT64_MAX,
                INT64_MIN, UINT64_C(0xabc), UINT32_MAX, INT32_MIN);
    CHECK_TRACE(fx, &sink, "%x %c%c 100%%", 0x1fu, 'o', 'k');
    vc_ctx_set_trace(fx->ctx, NULL, NULL);
}

static void test_handed_on_and_cut(void **state)
{
    struct fixture *fx = *state;
    struct sink sink = {0};
    const char *volatile none = NULL; /* hidden from the compiler's format checks */
    char *big = malloc(1500);

    vc_ctx_set_trace(fx->ctx, sink_fn, &sink);
    /* Conversions the trace formatter leaves to vsnprintf, in the middle of plain ones. */
    CHECK_TRACE(fx, &sink, "%s %5d|%-4s|%.2s", "a", 7, "b", "cde");
    CHECK_TRACE(fx, &sink, "%u %08x %s", 1u, 0xbeefu, "z");
    CHECK_TRACE(fx, &sink, "%s %zd %s", "a", (ssize_t) -5, "b");
    CHECK_TRACE(fx, &sink, "%s %g", "pi", 3.25);
    CHECK_TRACE(fx, &sink, "%s and %s", "x", none);
    CHECK_TRACE(fx, &sink, "%hu %s", (unsigned short) 9, "y");
    /* Longer than the detail buffer: cut at 1023 bytes, at every boundary. */
    assert_non_null(big);
    memset(big, 'q', 1499);
    big[1499] = '\0';
    CHECK_TRACE(fx, &sink, "%s", big);
    for (size_t cut = 1015; cut < 1030; cut++) {
        big[cut] = '\0';
        CHECK_TRACE(fx, &sink, "%s%d%s", big, 12345, "tail");
        CHECK_TRACE(fx, &sink, "%s|%s", big, big);
        big[cut] = 'q';
    }
    free(big);
    vc_ctx_set_trace(fx->ctx, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handed_on_and_cut, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
