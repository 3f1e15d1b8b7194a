/* SPDX-License-Identifier: Apache-2.0 */
/* The sim disk and its store: the store protocol and layout, faults at each step of a put,
 * what a host crash keeps, capacity, and locks per context. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>

#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/world.h>

struct env {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *c;   /* the runtime's context */
    struct vc_ctx *ctx;    /* its core context */
    struct vc_store *st;   /* its store */
};

static void env_new(struct env *e)
{
    assert_int_equal(simhv_world_new(NULL, &e->w), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->c), 0);
    e->ctx = simhv_ctx_vc(e->c);
    e->st = vc_ctx_store(e->ctx);
    assert_non_null(e->st);
    assert_string_equal(e->st->ops->name, "simdisk");
}

static void env_free(struct env *e)
{
    assert_int_equal(simhv_ctx_live_allocs(e->c), 0);
    simhv_ctx_free(e->c);
    simhv_world_free(e->w);
}

static void put(struct env *e, const char *sid, const char *cid, const char *doc)
{
    assert_int_equal(vc_store_put(e->st, sid, cid, doc, strlen(doc)), 0);
}

/* The document's text, or NULL when absent. */
static char *get(struct env *e, const char *sid, const char *cid)
{
    char *doc = NULL;
    size_t len = 0;
    int r = vc_store_get(e->st, sid, cid, &doc, &len);

    if (r == -ENOENT)
        return NULL;
    assert_int_equal(r, 0);
    assert_int_equal(strlen(doc), len);
    return doc;
}

static void assert_doc(struct env *e, const char *sid, const char *cid, const char *want)
{
    char *doc = get(e, sid, cid);

    if (!want) {
        assert_null(doc);
        return;
    }
    assert_non_null(doc);
    assert_string_equal(doc, want);
    vc_free(e->ctx, doc);
}

static void add_rule(struct env *e, const char *point, uint64_t nth, int32_t action, int err)
{
    struct simhv_fault_rule r = {
        .point = (char *) point,
        .trigger = SIMHV_TRIGGER_NTH,
        .nth = nth,
        .action = action,
        .err = err,
    };

    assert_int_equal(simhv_world_add_fault(e->w, &r), 0);
}

/* Whether a temporary file is on the disk. */
static bool has_tmp(const struct simhv_world *w)
{
    const char *p;

    for (size_t i = 0; (p = simhv_disk_path_at(w, i)); i++)
        if (strstr(p, "/.persist.json."))
            return true;
    return false;
}

static void test_put_get_list_remove(void **state)
{
    struct env e;
    const char *text;
    size_t len;
    char **v = NULL;
    size_t n = 99;
    uint64_t t0;

    env_new(&e);
    assert_int_equal(vc_store_list(e.st, NULL, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_doc(&e, "sb1", NULL, NULL);
    t0 = simhv_world_now(e.w);
    put(&e, "sb1", NULL, "{\"v\":1}");
    assert_int_equal(simhv_world_now(e.w) - t0, 50000); /* four steps of store_op_ns / 4 */
    put(&e, "sb1", NULL, "{\"v\":2}");
    assert_doc(&e, "sb1", NULL, "{\"v\":2}");
    put(&e, "sb1", "c2", "c2doc");
    put(&e, "sb1", "c1", "c1doc");
    put(&e, "sb10", NULL, "x");
    put(&e, "sb-a", NULL, "y");
    assert_int_equal(simhv_disk_read(e.w, "sbs/sb1/c1/persist.json", &text, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(text, "c1doc", 5);
    assert_int_equal(simhv_disk_read(e.w, "sbs/sb1/c3/persist.json", &text, &len), -ENOENT);
    assert_int_equal(simhv_disk_file_count(e.w), 5);
    assert_int_equal(simhv_disk_used(e.w), 7 + 5 + 5 + 1 + 1);
    assert_string_equal(simhv_disk_path_at(e.w, 0), "sbs/sb-a/persist.json");
    assert_null(simhv_disk_path_at(e.w, 5));
    assert_false(has_tmp(e.w));
    assert_int_equal(vc_store_list(e.st, NULL, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "sb-a");
    assert_string_equal(v[1], "sb1");
    assert_string_equal(v[2], "sb10");
    vc_strv_free(e.ctx, v, n);
    assert_int_equal(vc_store_list(e.st, "sb1", &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "c1");
    assert_string_equal(v[1], "c2");
    vc_strv_free(e.ctx, v, n);
    assert_int_equal(vc_store_list(e.st, "nope", &v, &n), -ENOENT);
    assert_int_equal(vc_store_remove(e.st, "sb1", "c2"), 0);
    assert_int_equal(vc_store_remove(e.st, "sb1", "c2"), -ENOENT);
    assert_doc(&e, "sb1", "c2", NULL);
    assert_doc(&e, "sb1", "c1", "c1doc");
    /* a sandbox goes with its containers */
    assert_int_equal(vc_store_remove(e.st, "sb1", NULL), 0);
    assert_int_equal(vc_store_remove(e.st, "sb1", NULL), -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "'sbs/sb1' does not exist"));
    assert_doc(&e, "sb1", "c1", NULL);
    assert_doc(&e, "sb10", NULL, "x");
    assert_int_equal(simhv_disk_file_count(e.w), 2);
    assert_int_equal(simhv_disk_used(e.w), 2);
    /* ids are checked before they touch a path */
    assert_int_equal(vc_store_put(e.st, "../x", NULL, "a", 1), -EINVAL);
    assert_int_equal(vc_store_put(e.st, "sb1", "persist.json", "a", 1), -EINVAL);
    assert_int_equal(vc_store_put(e.st, "sb1", NULL, "a", VC_STORE_DOC_MAX + 1), -EFBIG);
    env_free(&e);
}

static void test_step_errors(void **state)
{
    static const char *const points[] = {"disk.write", "disk.fsync", "disk.rename"};
    struct env e;

    env_new(&e);
    put(&e, "sb1", NULL, "old");
    for (size_t i = 0; i < 3; i++) {
        add_rule(&e, points[i], 1, SIMHV_ACTION_ERRNO, -EIO);
        assert_int_equal(vc_store_put(e.st, "sb1", NULL, "new", 3), -EIO);
        assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "sbs/sb1/"));
        assert_doc(&e, "sb1", NULL, "old");
        assert_false(has_tmp(e.w)); /* cleaned up, as the filesystem store does */
        /* the rule is spent: the next put goes through */
        put(&e, "sb1", NULL, "old");
    }
    /* the directory sync fails after the rename: the new document is there, but not durable */
    add_rule(&e, "disk.fsync", 2, SIMHV_ACTION_ERRNO, -EIO);
    assert_int_equal(vc_store_put(e.st, "sb1", NULL, "new", 3), -EIO);
    assert_doc(&e, "sb1", NULL, "new");
    simhv_disk_crash(e.w);
    assert_doc(&e, "sb1", NULL, "old");
    assert_true(has_tmp(e.w)); /* the undone rename brings the synced temporary file back */
    /* removing the sandbox takes temporary files too */
    assert_int_equal(vc_store_remove(e.st, "sb1", NULL), 0);
    assert_int_equal(simhv_disk_file_count(e.w), 0);
    env_free(&e);
}

static void test_torn_write(void **state)
{
    struct env e;
    struct simhv_fault_rule r = {
        .point = "disk.write",
        .trigger = SIMHV_TRIGGER_NTH,
        .action = SIMHV_ACTION_TORN_WRITE,
    };

    env_new(&e);
    put(&e, "sb1", NULL, "{\"old\":true}");
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    assert_int_equal(vc_store_put(e.st, "sb1", NULL, "{\"new\":true}", 12), -EIO);
    assert_doc(&e, "sb1", NULL, "{\"old\":true}");
    assert_false(has_tmp(e.w));
    assert_int_equal(simhv_world_fault(e.w, 0)->fired, 1);
    /* elsewhere a torn write is an errno */
    r.point = "other";
    r.err = -ENOSPC;
    assert_int_equal(simhv_world_add_fault(e.w, &r), 0);
    assert_int_equal(vc_fault(e.ctx, "other"), -ENOSPC);
    env_free(&e);
}

static void test_host_crash(void **state)
{
    struct env e;

    env_new(&e);
    put(&e, "sb1", NULL, "synced");
    put(&e, "sb2", NULL, "synced2");
    /* the runtime dies after writing a temporary file, before syncing it */
    add_rule(&e, "disk.fsync", 1, SIMHV_ACTION_RUNTIME_CRASH, 0);
    assert_int_equal(vc_store_put(e.st, "sb1", NULL, "unsynced", 8), -ECANCELED);
    assert_true(simhv_ctx_crashed(e.c));
    assert_true(has_tmp(e.w)); /* a dead process cleans nothing up */
    assert_int_equal(simhv_disk_file_count(e.w), 3);
    /* the host dies: the unsynced temporary file vanishes, synced documents stay */
    simhv_disk_crash(e.w);
    assert_false(has_tmp(e.w));
    assert_int_equal(simhv_disk_file_count(e.w), 2);
    simhv_ctx_free(e.c);
    assert_int_equal(simhv_ctx_new(e.w, "runtime", &e.c), 0);
    e.ctx = simhv_ctx_vc(e.c);
    e.st = vc_ctx_store(e.ctx);
    assert_doc(&e, "sb1", NULL, "synced");
    assert_doc(&e, "sb2", NULL, "synced2");
    /* a host crash in the middle of a put, after the rename */
    add_rule(&e, "disk.fsync", 2, SIMHV_ACTION_HOST_CRASH, 0); /* its directory sync */
    assert_int_equal(vc_store_put(e.st, "sb2", NULL, "lost", 4), -ECANCELED);
    assert_true(simhv_ctx_crashed(e.c));
    simhv_ctx_free(e.c);
    assert_int_equal(simhv_ctx_new(e.w, "runtime", &e.c), 0);
    e.ctx = simhv_ctx_vc(e.c);
    e.st = vc_ctx_store(e.ctx);
    assert_doc(&e, "sb2", NULL, "synced2");
    /* a removal not yet synced comes back */
    add_rule(&e, "disk.fsync", 1, SIMHV_ACTION_ERRNO, -EIO);
    assert_int_equal(vc_store_remove(e.st, "sb1", NULL), -EIO);
    assert_doc(&e, "sb1", NULL, NULL);
    simhv_disk_crash(e.w);
    assert_doc(&e, "sb1", NULL, "synced");
    env_free(&e);
}

static void test_capacity(void **state)
{
    struct env e;
    char big[600];

    env_new(&e);
    memset(big, 'b', sizeof(big));
    simhv_disk_set_capacity(e.w, 1000);
    put(&e, "sb1", NULL, "small");
    /* the temporary file needs room next to the old document */
    assert_int_equal(vc_store_put(e.st, "sb2", NULL, big, sizeof(big)), 0);
    assert_int_equal(vc_store_put(e.st, "sb2", NULL, big, sizeof(big)), -ENOSPC);
    assert_non_null(strstr(vc_ctx_errmsg(e.ctx), "disk full"));
    assert_false(has_tmp(e.w));
    assert_int_equal(simhv_disk_used(e.w), 605);
    assert_int_equal(vc_store_remove(e.st, "sb2", NULL), 0);
    assert_int_equal(vc_store_put(e.st, "sb2", NULL, big, sizeof(big)), 0);
    env_free(&e);
}

static void test_locks(void **state)
{
    struct env e;
    struct simhv_ctx *other = NULL;
    struct vc_store *ost;
    void *t1 = NULL, *t2 = NULL, *t3 = NULL;
    char **v = NULL;
    size_t n = 0;

    env_new(&e);
    assert_int_equal(simhv_ctx_new(e.w, "other", &other), 0);
    ost = vc_ctx_store(simhv_ctx_vc(other));
    assert_int_equal(vc_store_lock(e.st, "sb1", true, false, &t1), -ENOENT);
    assert_int_equal(vc_store_lock(e.st, "sb1", true, true, &t1), 0);
    /* the lock made the sandbox's place */
    assert_int_equal(vc_store_list(e.st, NULL, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "sb1");
    vc_strv_free(e.ctx, v, n);
    assert_int_equal(vc_store_lock(e.st, "sb1", false, false, &t2), -EDEADLK);
    assert_int_equal(vc_store_lock(ost, "sb1", true, false, &t2), -EDEADLK);
    assert_non_null(strstr(vc_ctx_errmsg(simhv_ctx_vc(other)), "by context 'runtime'"));
    assert_int_equal(simhv_disk_lock_count(e.w), 1);
    vc_store_unlock(e.st, t1);
    assert_int_equal(simhv_disk_lock_count(e.w), 0);
    /* shared locks share */
    assert_int_equal(vc_store_lock(e.st, "sb1", false, false, &t1), 0);
    assert_int_equal(vc_store_lock(ost, "sb1", false, false, &t2), 0);
    assert_int_equal(vc_store_lock(ost, "sb1", true, false, &t3), -EDEADLK);
    assert_int_equal(vc_store_lock(ost, "sb2", true, true, &t3), 0); /* another sandbox */
    assert_int_equal(simhv_disk_lock_count(e.w), 3);
    /* the other process dies: its locks go */
    simhv_ctx_free(other);
    assert_int_equal(simhv_disk_lock_count(e.w), 1);
    vc_store_unlock(e.st, t1);
    vc_store_unlock(e.st, NULL);
    assert_int_equal(simhv_disk_lock_count(e.w), 0);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_list_remove),
        cmocka_unit_test(test_step_errors),
        cmocka_unit_test(test_torn_write),
        cmocka_unit_test(test_host_crash),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_locks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
