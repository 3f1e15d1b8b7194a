/* SPDX-License-Identifier: Apache-2.0 */
/* Persistence through the API: what is on disk, corrupt and newer-version documents, and the
 * schema's JSON conversion limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void path_of(const struct fixture *fx, const char *rel, char *buf, size_t len)
{
    (void) snprintf(buf, len, "%s/sbs/%s", fx->root, rel);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void make(struct fixture *fx)
{
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 1);

    assert_int_equal(vc_sandbox_run(fx->ctx, cfg), 0);
    vc_sandbox_config_free(fx->ctx, cfg);
}

static void test_layout_and_modes(void **state)
{
    struct fixture *fx = *state;
    char path[512];
    struct stat st;

    make(fx);
    path_of(fx, "sb", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_non_null(strstr(read_file(path), "\"state\": \"running\""));
    assert_non_null(strstr(read_file(path), "\"version\": 1"));
    path_of(fx, "sb/c1/persist.json", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_non_null(strstr(read_file(path), "\"id\": \"c1\""));
}

/* A status through a second context, as another process would see it. */
static int status_from_new_ctx(struct fixture *fx)
{
    struct vc_sandbox_status *st = NULL;
    struct vc_ctx *other;
    int r;

    assert_int_equal(vc_ctx_new_real(fx->root, &other), 0);
    assert_int_equal(vc_ctx_register_hv(other, &simhv_ops, fx->world), 0);
    r = vc_sandbox_status(other, "sb", &st);
    if (r == 0)
        r = st->state;
    vc_sandbox_status_free(other, st);
    vc_ctx_free(other);
    return r;
}

static void test_another_process_sees_state(void **state)
{
    struct fixture *fx = *state;

    make(fx);
    assert_int_equal(status_from_new_ctx(fx), VC_STATE_RUNNING);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0);
    assert_int_equal(status_from_new_ctx(fx), VC_STATE_STOPPED);
}

static void test_corrupt_documents(void **state)
{
    static const char *const bad[] = {
        "",
        "{",
        "not json",
        "[1,2,3]",
        "{\"version\": 1}", /* no state, no id */
        "{\"version\": \"one\", \"state\": \"ready\"}",
        "{\"version\": 1, \"state\": \"sleeping\", \"config\": {\"id\": \"sb\"}}",
        "{\"version\": 1, \"state\": \"ready\", \"config\": {\"id\": \"other\"}}",
        "{\"version\": 1, \"state\": \"ready\", \"config\": {\"id\": \"sb\", \"hv\": 7}}",
        "{\"version\": 1, \"state\": \"ready\", \"vcpus\": -1, \"config\": {\"id\": \"sb\"}}",
        "{\"version\": 1, \"state\": \"ready\", \"vcpus\": 4294967296, \"config\": {\"id\": "
        "\"sb\"}}",
        "{\"version\": 1, \"state\": \"ready\", \"config\": {\"id\": \"sb\"}} trailing",
        "{\"version\": 1, \"state\": \"ready\", \"config\": {\"id\": \"sb\"}, "
        "\"containers\": [\"c1\", 5]}",
        "{\"version\": 1, \"state\": \"ready\", \"config\": {\"id\": \"sb\"}, "
        "\"guest_leftovers\": [5]}",
    };
    struct fixture *fx = *state;
    struct vc_sandbox_status *st = NULL;
    char path[512];

    make(fx);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i]);
        assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), -EBADMSG);
        assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "corrupt"));
        assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", true), -EBADMSG);
    }
}

static void test_deeply_nested_document(void **state)
{
    struct fixture *fx = *state;
    size_t depth = 100000;
    char *doc = malloc(2 * depth + 1), path[512];

    assert_non_null(doc);
    memset(doc, '[', depth);
    memset(doc + depth, ']', depth);
    doc[2 * depth] = '\0';
    make(fx);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    write_file(path, doc);
    free(doc);
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &(struct vc_sandbox_status *){0}), -EBADMSG);
}

static void test_newer_version(void **state)
{
    struct fixture *fx = *state;
    char path[512];

    make(fx);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    write_file(path, "{\"version\": 2, \"state\": 7, \"config\": []}");
    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &(struct vc_sandbox_status *){0}), -EPROTO);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "newer"));
    path_of(fx, "sb/c1/persist.json", path, sizeof(path));
    write_file(path, "{\"version\": 99}");
    assert_int_equal(vc_sandbox_list(fx->ctx, &(struct vc_sandbox_status *){0}, &(size_t){0}),
                     -EPROTO);
}

static void test_corrupt_container_document(void **state)
{
    struct fixture *fx = *state;
    char path[512];

    make(fx);
    path_of(fx, "sb/c1/persist.json", path, sizeof(path));
    write_file(path, "{\"version\": 1, \"state\": \"running\", \"config\": {\"id\": \"c2\"}}");
    assert_int_equal(vc_container_stop(fx->ctx, "sb", "c1", false), -EBADMSG);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "sandbox 'sb'"));
}

static void test_failed_save_keeps_old_document(void **state)
{
    struct fixture *fx = *state;
    char path[512], before[1 << 16];

    make(fx);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    (void) snprintf(before, sizeof(before), "%s", read_file(path));
    fixture_fail_nth(fx, "store.put", 1, -ENOSPC);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), -ENOSPC);
    assert_string_equal(read_file(path), before);
}

static size_t leftovers(struct fixture *fx, const char **ret_first)
{
    struct vc_sandbox_status *st = NULL;
    size_t n;

    assert_int_equal(vc_sandbox_status(fx->ctx, "sb", &st), 0);
    n = st->n_guest_leftovers;
    if (n && ret_first)
        *ret_first = strcmp(st->guest_leftovers[0], "c1") == 0 ? "c1" : "other";
    vc_sandbox_status_free(fx->ctx, st);
    return n;
}

/* A forced stop the guest does not confirm records the container as a guest leftover in the
 * sandbox document; an empty list is not written (older readers see what they know), and a
 * stop that brings the VM down clears it. */
static void test_guest_leftovers(void **state)
{
    struct fixture *fx = *state;
    const char *first = NULL;
    char path[512], doc[1 << 16];
    size_t len;

    make(fx);
    path_of(fx, "sb/persist.json", path, sizeof(path));
    assert_null(strstr(read_file(path), "guest_leftovers"));
    assert_int_equal(leftovers(fx, NULL), 0);
    fixture_fail_nth(fx, "agent.StopContainer", 1, -EIO);
    assert_int_equal(vc_container_stop(fx->ctx, "sb", "c1", true), 0);
    fixture_fail_nth(fx, NULL, 0, 0);
    assert_non_null(strstr(read_file(path), "\"guest_leftovers\""));
    assert_int_equal(leftovers(fx, &first), 1);
    assert_string_equal(first, "c1");
    /* read back by the general parser too: a document with a member it must skip */
    (void) snprintf(doc, sizeof(doc), "%s", read_file(path));
    len = strlen(doc);
    while (len && doc[len - 1] != '}')
        len--;
    assert_true(len > 0);
    (void) snprintf(doc + len - 1, sizeof(doc) - len + 1, ", \"x_unknown\": {\"a\": [1]}}");
    write_file(path, doc);
    assert_int_equal(leftovers(fx, &first), 1);
    assert_int_equal(vc_sandbox_stop(fx->ctx, "sb", false), 0);
    assert_int_equal(leftovers(fx, NULL), 0);
    assert_null(strstr(read_file(path), "guest_leftovers"));
}

static void test_schema_roundtrip_and_limits(void **state)
{
    struct fixture *fx = *state;
    struct vc_sandbox_config *cfg = fixture_sandbox_config(fx, "sb", 2), back = {0};
    struct vc_copy_file f = {.path = "/run/f", .data = (uint8_t *) "\x00\xff\x10z", .size = 4},
                        f2 = {0};
    json_object *j = NULL, *j2 = NULL;

    cfg->containers[1].resources.memory_limit = -1;
    cfg->containers[1].resources.cpu_shares = UINT64_MAX;
    assert_int_equal(vc_obj_to_json(fx->ctx, &vc_schema_sandbox_config, cfg, &j), 0);
    assert_int_equal(vc_obj_from_json(fx->ctx, &vc_schema_sandbox_config, j, &back), 0);
    assert_int_equal(vc_obj_to_json(fx->ctx, &vc_schema_sandbox_config, &back, &j2), 0);
    assert_string_equal(json_object_to_json_string(j), json_object_to_json_string(j2));
    assert_int_equal(back.containers[1].resources.cpu_shares, UINT64_MAX);
    assert_int_equal(back.containers[1].resources.memory_limit, -1);
    json_object_put(j);
    json_object_put(j2);
    vc_obj_clear(fx->ctx, &vc_schema_sandbox_config, &back);
    vc_sandbox_config_free(fx->ctx, cfg);
    /* bytes go through base64 */
    assert_int_equal(vc_obj_to_json(fx->ctx, &vc_schema_copy_file, &f, &j), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(j, "data")), "AP8Qeg==");
    assert_int_equal(vc_obj_from_json(fx->ctx, &vc_schema_copy_file, j, &f2), 0);
    assert_int_equal(f2.size, 4);
    assert_memory_equal(f2.data, f.data, 4);
    vc_obj_clear(fx->ctx, &vc_schema_copy_file, &f2);
    json_object_object_add(j, "data", json_object_new_string("AP8Qe==="));
    assert_int_equal(vc_obj_from_json(fx->ctx, &vc_schema_copy_file, j, &f2), -EINVAL);
    json_object_put(j);
}

static void test_schema_array_limit(void **state)
{
    struct fixture *fx = *state;
    json_object *j = json_object_new_object(), *a = json_object_new_array();
    struct vc_process_config p = {0};

    for (unsigned i = 0; i <= VC_SCHEMA_ARRAY_MAX; i++)
        json_object_array_add(a, json_object_new_string("x"));
    json_object_object_add(j, "args", a);
    assert_int_equal(vc_obj_from_json(fx->ctx, &vc_schema_process_config, j, &p), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "args: too large"));
    assert_null(p.args);
    json_object_put(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_process_sees_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deeply_nested_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_container_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_save_keeps_old_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_roundtrip_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_array_limit, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
