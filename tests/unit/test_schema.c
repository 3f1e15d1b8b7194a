/* SPDX-License-Identifier: Apache-2.0 */
/* The schema's JSON text without json-c's tree (vc_obj_format_json, vc_obj_read_json): the
 * writer gives json-c's bytes exactly, and the reader either fills what json-c's path would
 * or leaves the text to that path with the object cleared. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"
#include "schema.h"

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

/* json-c's text of obj in a layout (JSON_C_TO_STRING_*): the reference the writer must match.
 * malloc'd. */
static char *reference_text_as(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj,
                               int layout)
{
    json_object *j = NULL;
    char *text;

    assert_int_equal(vc_obj_to_json(ctx, s, obj, &j), 0);
    text = strdup(json_object_to_json_string_ext(j, layout));
    json_object_put(j);
    assert_non_null(text);
    return text;
}

static char *reference_text(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj)
{
    return reference_text_as(ctx, s, obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
}

/* The writer's text of obj in one layout, checked against json-c's and against its length
 * contract. malloc'd. */
static char *format_layout(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj,
                           unsigned flags)
{
    char *want = reference_text_as(ctx, s, obj,
                                   flags & VC_OBJ_JSON_PRETTY
                                       ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                       : JSON_C_TO_STRING_PLAIN);
    size_t len = vc_obj_format_json(s, obj, flags, NULL, 0);
    char *got, small[8];

    assert_int_equal(len, strlen(want));
    got = malloc(len + 1);
    assert_non_null(got);
    assert_int_equal(vc_obj_format_json(s, obj, flags, got, len + 1), len);
    assert_string_equal(got, want);
    /* Cut like snprintf: the prefix, NUL-terminated, and the full length returned. */
    assert_int_equal(vc_obj_format_json(s, obj, flags, small, sizeof(small)), len);
    assert_int_equal(strlen(small), len < sizeof(small) ? len : sizeof(small) - 1);
    assert_memory_equal(small, want, strlen(small));
    free(want);
    return got;
}

/* Checks both layouts; returns the pretty text (the persisted one). malloc'd. */
static char *format_checked(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj)
{
    free(format_layout(ctx, s, obj, 0));
    return format_layout(ctx, s, obj, VC_OBJ_JSON_PRETTY);
}

/* A sandbox config that uses every kind of field and awkward strings. */
static struct vc_sandbox_config *awkward_config(struct fixture *fx)
{
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 2);
    struct vc_container_config *c = &cfg->containers[1];
    struct vc_ctx *ctx = fx->ctx;

    vc_free(ctx, cfg->hostname);
    cfg->hostname = vc_strdup(ctx, "a/b\"c\\d\n\t\b\f\r\x01\x1f\x7f caf\xc3\xa9 <&>'");
    vc_free(ctx, cfg->hv.kernel);
    cfg->hv.kernel = vc_strdup(ctx, "");
    c->resources.memory_limit = INT64_MIN;
    c->resources.cpu_quota = -1;
    c->resources.cpu_shares = UINT64_MAX;
    c->process.user.uid = UINT32_MAX;
    c->process.user.extra_gids = vc_new0(ctx, uint32_t, 3);
    assert_non_null(c->process.user.extra_gids);
    c->process.user.extra_gids[0] = 0;
    c->process.user.extra_gids[1] = 7;
    c->process.user.extra_gids[2] = UINT32_MAX;
    c->process.user.n_extra_gids = 3;
    c->process.terminal = true;
    return cfg;
}

static void test_writer_matches_json_c(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = awkward_config(fx), empty = {0};
    struct vc_copy_file f = {.path = "/f", .data = (uint8_t *) "\x00\xff\x10z\x01", .size = 5};
    struct vc_route rt = {.dest = "10.0.0.0/8", .family = INT32_MIN, .mtu = 1500};

    free(format_checked(fx->ctx, &vc_schema_sandbox_config, cfg));
    free(format_checked(fx->ctx, &vc_schema_sandbox_config, &empty));
    free(format_checked(fx->ctx, &vc_schema_container_config, &cfg->containers[1]));
    free(format_checked(fx->ctx, &vc_schema_copy_file, &f));
    for (size_t n = 1; n <= 3; n++) {
        f.size = n; /* each base64 padding */
        free(format_checked(fx->ctx, &vc_schema_copy_file, &f));
    }
    free(format_checked(fx->ctx, &vc_schema_route, &rt));
    vc_sandbox_config_free(fx->ctx, cfg);
}

/* What json-c's path makes of text, written back as text; NULL when it refuses it. */
static char *general_text(struct vc_ctx *ctx, const struct vc_schema *s, const char *text)
{
    json_object *j = NULL;
    void *obj = calloc(1, s->size);
    char *out = NULL;

    assert_non_null(obj);
    if (vc_json_parse(ctx, "test", text, strlen(text), &j) == 0 &&
        vc_obj_from_json(ctx, s, j, obj) == 0) {
        out = reference_text(ctx, s, obj);
        vc_obj_clear(ctx, s, obj);
    }
    json_object_put(j);
    free(obj);
    return out;
}

static bool all_zero(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *) p)[i])
            return false;
    return true;
}

/* Reads text both ways: when the reader takes it, the result must be json-c's; when it leaves
 * it, obj must be zeroed again (and nothing leaked: ASan). Returns what the reader said. */
static int read_both(struct vc_ctx *ctx, const struct vc_schema *s, const char *text)
{
    void *obj = calloc(1, s->size);
    int r;

    assert_non_null(obj);
    r = vc_obj_read_json(ctx, s, text, strlen(text), obj);
    if (r == 0) {
        char *want = general_text(ctx, s, text), *got = reference_text(ctx, s, obj);

        assert_non_null(want);
        assert_string_equal(got, want);
        free(want);
        free(got);
        vc_obj_clear(ctx, s, obj);
    } else {
        assert_int_equal(r, VC_OBJ_JSON_OTHER);
        assert_true(all_zero(obj, s->size));
    }
    free(obj);
    return r;
}

static void test_reader_takes_what_the_writer_writes(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = awkward_config(fx);
    char *text = format_checked(fx->ctx, &vc_schema_sandbox_config, cfg);
    struct vc_copy_file f = {.path = "/f", .data = (uint8_t *) "ab", .size = 2};

    assert_int_equal(read_both(fx->ctx, &vc_schema_sandbox_config, text), 0);
    free(text);
    text = format_layout(fx->ctx, &vc_schema_sandbox_config, cfg, 0);
    assert_int_equal(read_both(fx->ctx, &vc_schema_sandbox_config, text), 0);
    free(text);
    vc_sandbox_config_free(fx->ctx, cfg);
    /* Bytes stay with json-c's path. */
    text = format_checked(fx->ctx, &vc_schema_copy_file, &f);
    assert_int_equal(read_both(fx->ctx, &vc_schema_copy_file, text), VC_OBJ_JSON_OTHER);
    free(text);
}

static void test_reader_plain_variants(void **state)
{
    static const char *const taken[] = {
        "{}",
        " \r\n\t{ } \n",
        "{\"kind\":\"sim\",\"vcpus\":4,\"kernel\":null}",
        "{\"unknown\":{\"a\":[1,-2,{\"b\":null}],\"c\":\"x\\u0041\"},\"vcpus\":0}",
        "{\"path\":\"\\/a\\\\b\\\"c\\b\\f\\n\\r\\t\\u0001\\u007F\"}",
        "{\"max_vcpus\":4294967295,\"path\":\"caf\xc3\xa9\"}",
        "{\"kind\":\"\",\"path\":\"\"}",
    };
    static const char *const left[] = {
        "",
        "[]",
        "{\"vcpus\":1,}",
        "{\"vcpus\":1}x",
        "{\"vcpus\":1} {}",
        "{\"vcpus\":1.0}",
        "{\"vcpus\":1e2}",
        "{\"vcpus\":-1}",
        "{\"vcpus\":-0}",
        "{\"vcpus\":01}",
        "{\"vcpus\":4294967296}",
        "{\"vcpus\":\"1\"}",
        "{\"vcpus\":true}",
        "{\"vcpus\":1,\"vcpus\":2}",
        "{\"vcpus\":null,\"vcpus\":2}",
        "{\"kind\":1}",
        "{\"kind\":\"caf\\u00e9\"}",
        "{\"kind\":\"\\u0000\"}",
        "{\"kind\":\"\\ud83d\\ude00\"}",
        "{\"kind\":\"a\nb\"}",
        "{\"kind\":'sim'}",
        "{\"k\\u0069nd\":\"sim\"}",
        "{\"kind\":\"sim\" /* c */}",
        "{\"x\":99999999999999999999}",
        "{\"x\":[1.5]}",
        "{\"x\":True}",
        "{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
        "{\"kind\":\"sim\"",
        "{\"kind\"\"sim\"}",
        "{\"kind\":\"sim\"\f}",
    };
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        print_message("taken %zu: %s\n", i, taken[i]);
        assert_int_equal(read_both(fx->ctx, &vc_schema_hv_config, taken[i]), 0);
    }
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
        print_message("left %zu: %s\n", i, left[i]);
        assert_int_equal(read_both(fx->ctx, &vc_schema_hv_config, left[i]), VC_OBJ_JSON_OTHER);
    }
}

static void test_reader_numbers_and_arrays(void **state)
{
    static const char *const res_taken[] = {
        "{\"cpu_shares\":18446744073709551615,\"memory_limit\":-9223372036854775808}",
        "{\"cpu_quota\":9223372036854775807,\"cpu_period\":0}",
    };
    static const char *const res_left[] = {
        "{\"cpu_quota\":9223372036854775808}",
        "{\"cpu_shares\":18446744073709551616}",
        "{\"memory_limit\":-9223372036854775809}",
    };
    static const char *const user_taken[] = {
        "{\"extra_gids\":[]}",
        "{\"extra_gids\":[0, 1 ,4294967295],\"username\":\"u\"}",
        "{\"uid\":1,\"extra_gids\":null}",
    };
    static const char *const user_left[] = {
        "{\"extra_gids\":[1,]}", "{\"extra_gids\":[null]}",       "{\"extra_gids\":[-1]}",
        "{\"extra_gids\":{}}",   "{\"extra_gids\":[4294967296]}",
    };
    static const char *const mount_left[] = {
        "{\"options\":[\"a\",1]}",
        "{\"options\":[\"a\",null]}",
    };
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof(res_taken) / sizeof(res_taken[0]); i++)
        assert_int_equal(read_both(fx->ctx, &vc_schema_resources, res_taken[i]), 0);
    for (size_t i = 0; i < sizeof(res_left) / sizeof(res_left[0]); i++)
        assert_int_equal(read_both(fx->ctx, &vc_schema_resources, res_left[i]), 1);
    for (size_t i = 0; i < sizeof(user_taken) / sizeof(user_taken[0]); i++)
        assert_int_equal(read_both(fx->ctx, &vc_schema_user, user_taken[i]), 0);
    for (size_t i = 0; i < sizeof(user_left) / sizeof(user_left[0]); i++)
        assert_int_equal(read_both(fx->ctx, &vc_schema_user, user_left[i]), 1);
    for (size_t i = 0; i < sizeof(mount_left) / sizeof(mount_left[0]); i++)
        assert_int_equal(read_both(fx->ctx, &vc_schema_mount, mount_left[i]), 1);
    assert_int_equal(read_both(fx->ctx, &vc_schema_mount, "{\"options\":[\"a\",\"\"]}"), 0);
}

/* Every allocation of a read fails in turn: -ENOMEM, obj zeroed, nothing leaked (ASan). */
static void test_reader_out_of_memory(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = awkward_config(fx), back;
    char *text = format_checked(fx->ctx, &vc_schema_sandbox_config, cfg);
    int r = -ENOMEM;

    for (unsigned nth = 1; r == -ENOMEM; nth++) {
        memset(&back, 0, sizeof(back));
        fixture_fail_nth(fx, "alloc", nth, -ENOMEM);
        r = vc_obj_read_json(fx->ctx, &vc_schema_sandbox_config, text, strlen(text), &back);
        if (r == -ENOMEM) {
            assert_true(all_zero(&back, sizeof(back)));
            assert_int_equal(vc_ctx_errcode(fx->ctx), -ENOMEM);
        }
        assert_true(nth < 1000);
    }
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_int_equal(r, 0);
    vc_obj_clear(fx->ctx, &vc_schema_sandbox_config, &back);
    free(text);
    vc_sandbox_config_free(fx->ctx, cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_matches_json_c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_takes_what_the_writer_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_plain_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_numbers_and_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_out_of_memory, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
