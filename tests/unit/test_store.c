/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the store wrappers and the filesystem store: documents, layout and modes,
 * limits, listing, removal, crash leftovers, id checks, the flock sandbox lock across
 * processes, fault points and root resolution. Each test gets its own root under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>
#include <vc/types.h>

struct fixture {
    char root[64];          /* the test's root directory (mkdtemp) */
    struct vc_ctx *ctx;     /* a real context on root */
    struct vc_store *store; /* its filesystem store (owned by ctx) */
};

/* A fault plan: fail every hit of one point with err. */
struct fault_plan {
    const char *point; /* the point to fail, or NULL for none */
    int err;           /* negative errno to inject */
    unsigned hits;     /* how often point was asked */
};

struct log_record {
    unsigned n_store; /* debug messages with topic "store" */
    char last[256];   /* the last of them */
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    snprintf(fx->root, sizeof(fx->root), "/tmp/vc-store-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    assert_int_equal(vc_ctx_new_real(fx->root, &fx->ctx), 0);
    fx->store = vc_ctx_store(fx->ctx);
    assert_non_null(fx->store);
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    vc_ctx_free(fx->ctx);
    (void) nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* fx->root + "/" + rel into buf, which must be large enough. */
static const char *path_in(const struct fixture *fx, char *buf, size_t size, const char *rel)
{
    int n = snprintf(buf, size, "%s/%s", fx->root, rel);

    assert_true(n > 0 && (size_t) n < size);
    return buf;
}

static void put_str(struct vc_store *store, const char *sid, const char *cid, const char *doc)
{
    assert_int_equal(vc_store_put(store, sid, cid, doc, strlen(doc)), 0);
}

static void assert_doc(struct fixture *fx, const char *sid, const char *cid, const char *want)
{
    char *buf = NULL;
    size_t len = 0;

    assert_int_equal(vc_store_get(fx->store, sid, cid, &buf, &len), 0);
    assert_non_null(buf);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    assert_int_equal(buf[len], '\0');
    vc_free(fx->ctx, buf);
}

static void assert_list(struct fixture *fx, const char *sid, const char *const *want, size_t n)
{
    char **v = NULL;
    size_t got = 99;

    assert_int_equal(vc_store_list(fx->store, sid, &v, &got), 0);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i], want[i]);
    vc_strv_free(fx->ctx, v, got);
}

static void assert_mode(const char *path, mode_t mode, bool dir)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    assert_true(dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Entries of a directory other than . and .. */
static size_t count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
}

static void test_put_get_roundtrip(void **state)
{
    struct fixture *fx = *state;
    static const char bin[] = {'a', '\0', 'b', '\n', '\xff'};
    char *buf = NULL;
    size_t len = 0;

    put_str(fx->store, "s1", NULL, "{\"sandbox\":1}");
    put_str(fx->store, "s1", "c1", "{\"container\":1}");
    assert_int_equal(vc_store_put(fx->store, "s1", "c2", bin, sizeof(bin)), 0);
    assert_doc(fx, "s1", NULL, "{\"sandbox\":1}");
    assert_doc(fx, "s1", "c1", "{\"container\":1}");

    /* Documents are bytes: embedded NULs survive. */
    assert_int_equal(vc_store_get(fx->store, "s1", "c2", &buf, &len), 0);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(buf, bin, sizeof(bin));
    assert_int_equal(buf[len], '\0');
    vc_free(fx->ctx, buf);

    /* An empty document is a document. */
    assert_int_equal(vc_store_put(fx->store, "s2", NULL, NULL, 0), 0);
    assert_doc(fx, "s2", NULL, "");
}

static void test_layout(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "sb");
    put_str(fx->store, "s1", "c1", "ct");
    assert_true(exists(path_in(fx, p, sizeof(p), "sbs/s1/persist.json")));
    assert_true(exists(path_in(fx, p, sizeof(p), "sbs/s1/c1/persist.json")));
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs/s1")), 2);
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs/s1/c1")), 1);
}

static void test_put_overwrite(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "a much longer first version of the document");
    put_str(fx->store, "s1", NULL, "v2");
    assert_doc(fx, "s1", NULL, "v2");
    put_str(fx->store, "s1", "c1", "first");
    put_str(fx->store, "s1", "c1", "second, longer than the first");
    assert_doc(fx, "s1", "c1", "second, longer than the first");
    /* No temporary file is left behind. */
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs/s1")), 2);
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs/s1/c1")), 1);
}

static void test_permissions(void **state)
{
    struct fixture *fx = *state;
    struct vc_store *store = NULL;
    char root[PATH_MAX], p[PATH_MAX];
    mode_t old = umask(0);

    /* A root that does not exist yet: every level the store makes is 0700. */
    path_in(fx, root, sizeof(root), "deep/root");
    assert_int_equal(vc_store_fs_new(fx->ctx, root, &store), 0);
    assert_int_equal(vc_store_put(store, "s1", NULL, "x", 1), 0);
    assert_int_equal(vc_store_put(store, "s1", "c1", "y", 1), 0);
    assert_int_equal(vc_store_put(store, "s1", "c1", "z", 1), 0);
    umask(old);
    vc_store_free(store);

    assert_mode(path_in(fx, p, sizeof(p), "deep"), 0700, true);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root"), 0700, true);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root/sbs"), 0700, true);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root/sbs/s1"), 0700, true);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root/sbs/s1/c1"), 0700, true);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root/sbs/s1/persist.json"), 0600, false);
    assert_mode(path_in(fx, p, sizeof(p), "deep/root/sbs/s1/c1/persist.json"), 0600, false);
}

static void test_get_absent(void **state)
{
    struct fixture *fx = *state;
    char dummy = 0, *buf = &dummy;
    size_t len = 777;

    assert_int_equal(vc_store_get(fx->store, "nope", NULL, &buf, &len), -ENOENT);
    assert_int_equal(vc_ctx_errcode(fx->ctx), -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "store:"));
    put_str(fx->store, "s1", NULL, "sb");
    assert_int_equal(vc_store_get(fx->store, "s1", "nope", &buf, &len), -ENOENT);
    assert_int_equal(vc_store_get(fx->store, "nope", "c1", &buf, &len), -ENOENT);
    /* Out-parameters are written only on success. */
    assert_ptr_equal(buf, &dummy);
    assert_int_equal(len, 777);
}

static void test_size_limit(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX], dummy = 0, *buf = &dummy;
    size_t len = 777;
    char *big = calloc(1, VC_STORE_DOC_MAX + 1);

    assert_non_null(big);
    /* A document written by hand over the limit is refused, not read. */
    put_str(fx->store, "s1", NULL, "small");
    path_in(fx, p, sizeof(p), "sbs/s1/persist.json");
    assert_int_equal(truncate(p, (off_t) VC_STORE_DOC_MAX + 1), 0);
    assert_int_equal(vc_store_get(fx->store, "s1", NULL, &buf, &len), -EFBIG);
    assert_ptr_equal(buf, &dummy);
    assert_int_equal(len, 777);

    /* Exactly the limit is fine. */
    assert_int_equal(truncate(p, (off_t) VC_STORE_DOC_MAX), 0);
    assert_int_equal(vc_store_get(fx->store, "s1", NULL, &buf, &len), 0);
    assert_int_equal(len, VC_STORE_DOC_MAX);
    /* truncate kept the old bytes and padded with zeros. */
    assert_memory_equal(buf, "small", 5);
    assert_int_equal(buf[len - 1], 0);
    assert_int_equal(buf[len], '\0');
    vc_free(fx->ctx, buf);

    /* Puts obey the same limit and leave the old document alone. */
    put_str(fx->store, "s1", NULL, "old");
    assert_int_equal(vc_store_put(fx->store, "s1", NULL, big, VC_STORE_DOC_MAX + 1), -EFBIG);
    assert_doc(fx, "s1", NULL, "old");
    assert_int_equal(vc_store_put(fx->store, "s2", NULL, big, VC_STORE_DOC_MAX + 1), -EFBIG);
    assert_false(exists(path_in(fx, p, sizeof(p), "sbs/s2")));
    assert_int_equal(vc_store_put(fx->store, "s2", NULL, big, VC_STORE_DOC_MAX), 0);
    free(big);
}

static void test_list_sorted(void **state)
{
    struct fixture *fx = *state;
    static const char *const sandboxes[] = {"a", "b", "c10", "c2"};
    static const char *const containers[] = {"a1", "m", "z"};
    char p[PATH_MAX];
    char **v = NULL;
    size_t n = 99;

    /* Nothing stored yet, not even <root>/sbs. */
    assert_list(fx, NULL, NULL, 0);
    assert_int_equal(vc_store_list(fx->store, "a", &v, &n), -ENOENT);
    assert_int_equal(n, 99);

    put_str(fx->store, "c2", NULL, "x");
    put_str(fx->store, "b", NULL, "x");
    put_str(fx->store, "c10", NULL, "x");
    put_str(fx->store, "a", NULL, "x");
    put_str(fx->store, "a", "z", "x");
    put_str(fx->store, "a", "m", "x");
    put_str(fx->store, "a", "a1", "x");
    /* Dot-entries and plain files are not sandboxes. */
    assert_int_equal(mkdir(path_in(fx, p, sizeof(p), "sbs/.hidden"), 0700), 0);
    write_file(path_in(fx, p, sizeof(p), "sbs/stray"), "x");

    assert_list(fx, NULL, sandboxes, 4);
    assert_list(fx, "a", containers, 3);
    assert_list(fx, "b", NULL, 0);
}

static void test_remove(void **state)
{
    struct fixture *fx = *state;
    static const char *const left[] = {"a1", "z"};
    static const char *const sandboxes[] = {"b"};
    char dummy = 0, *buf = &dummy, p[PATH_MAX];
    char **v = NULL;
    size_t len = 0, n = 0;

    put_str(fx->store, "a", NULL, "x");
    put_str(fx->store, "a", "z", "x");
    put_str(fx->store, "a", "m", "x");
    put_str(fx->store, "a", "a1", "x");
    put_str(fx->store, "b", NULL, "x");

    assert_int_equal(vc_store_remove(fx->store, "a", "m"), 0);
    assert_list(fx, "a", left, 2);
    assert_int_equal(vc_store_get(fx->store, "a", "m", &buf, &len), -ENOENT);
    assert_int_equal(vc_store_remove(fx->store, "a", "m"), -ENOENT);
    assert_doc(fx, "a", NULL, "x");
    assert_doc(fx, "a", "z", "x");

    assert_int_equal(vc_store_remove(fx->store, "a", NULL), 0);
    assert_false(exists(path_in(fx, p, sizeof(p), "sbs/a")));
    assert_list(fx, NULL, sandboxes, 1);
    assert_int_equal(vc_store_get(fx->store, "a", NULL, &buf, &len), -ENOENT);
    assert_int_equal(vc_store_get(fx->store, "a", "z", &buf, &len), -ENOENT);
    assert_int_equal(vc_store_list(fx->store, "a", &v, &n), -ENOENT);
    assert_int_equal(vc_store_remove(fx->store, "a", NULL), -ENOENT);
    assert_int_equal(vc_store_remove(fx->store, "a", "z"), -ENOENT);
    assert_int_equal(vc_store_remove(fx->store, "never", NULL), -ENOENT);
    assert_doc(fx, "b", NULL, "x");
    assert_ptr_equal(buf, &dummy);
}

static void test_crash_leftover(void **state)
{
    struct fixture *fx = *state;
    static const char *const one[] = {"s1"};
    static const char *const cts[] = {"c1"};
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "good");
    put_str(fx->store, "s1", "c1", "good c1");
    /* What a crash between mkostemp and rename leaves. */
    write_file(path_in(fx, p, sizeof(p), "sbs/s1/.persist.json.AbC123"), "torn");
    write_file(path_in(fx, p, sizeof(p), "sbs/s1/c1/.persist.json.XyZ789"), "{\"tor");

    assert_doc(fx, "s1", NULL, "good");
    assert_doc(fx, "s1", "c1", "good c1");
    assert_list(fx, NULL, one, 1);
    assert_list(fx, "s1", cts, 1);

    /* A put next to the leftover still works. */
    put_str(fx->store, "s1", NULL, "newer");
    assert_doc(fx, "s1", NULL, "newer");

    assert_int_equal(vc_store_remove(fx->store, "s1", NULL), 0);
    assert_false(exists(path_in(fx, p, sizeof(p), "sbs/s1")));
    assert_list(fx, NULL, NULL, 0);
}

static void test_remove_keeps_foreign(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "x");
    put_str(fx->store, "s1", "c1", "x");
    write_file(path_in(fx, p, sizeof(p), "sbs/s1/c1/not-ours"), "precious");

    /* The store deletes only what it makes, and says so. */
    assert_int_equal(vc_store_remove(fx->store, "s1", NULL), -ENOTEMPTY);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "did not create"));
    assert_true(exists(path_in(fx, p, sizeof(p), "sbs/s1/c1/not-ours")));
}

static void test_bad_ids(void **state)
{
    struct fixture *fx = *state;
    char long_id[VC_ID_MAX + 2], max_id[VC_ID_MAX + 1], p[PATH_MAX];
    const char *bad[] = {"", ".", "..", "a/b", "../x", "/abs", ".hidden", long_id};
    char *buf = NULL, **v = NULL;
    size_t len = 0, n = 0;
    void *tok = NULL;

    memset(long_id, 'a', VC_ID_MAX + 1);
    long_id[VC_ID_MAX + 1] = '\0';
    memset(max_id, 'b', VC_ID_MAX);
    max_id[VC_ID_MAX] = '\0';
    put_str(fx->store, "ok", NULL, "x");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *id = bad[i];

        assert_int_equal(vc_store_put(fx->store, id, NULL, "x", 1), -EINVAL);
        assert_int_equal(vc_store_put(fx->store, "ok", id, "x", 1), -EINVAL);
        assert_int_equal(vc_store_get(fx->store, id, NULL, &buf, &len), -EINVAL);
        assert_int_equal(vc_store_get(fx->store, "ok", id, &buf, &len), -EINVAL);
        assert_int_equal(vc_store_remove(fx->store, id, NULL), -EINVAL);
        assert_int_equal(vc_store_remove(fx->store, "ok", id), -EINVAL);
        assert_int_equal(vc_store_list(fx->store, id, &v, &n), -EINVAL);
        assert_int_equal(vc_store_lock(fx->store, id, true, true, &tok), -EINVAL);
    }
    /* The sandbox's document name is not a container. */
    assert_int_equal(vc_store_put(fx->store, "ok", "persist.json", "x", 1), -EINVAL);
    assert_int_equal(vc_store_put(fx->store, NULL, NULL, "x", 1), -EINVAL);
    assert_int_equal(vc_store_put(fx->store, "ok", NULL, NULL, 1), -EINVAL);
    assert_null(buf);
    assert_null(v);
    assert_null(tok);
    /* Nothing escaped the root or appeared in it, and the longest id is fine. */
    assert_doc(fx, "ok", NULL, "x");
    assert_int_equal(count_entries(fx->root), 1);
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs")), 1);
    put_str(fx->store, max_id, NULL, "long");
    assert_doc(fx, max_id, NULL, "long");
}

static bool readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;

    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

struct locker {
    pid_t pid; /* the child */
    int go;    /* write end: tells the child to lock */
    int done;  /* read end: the child's lock result (an int) */
};

/* Forks a child that, when told, takes the lock on sid and reports vc_store_lock's result. It
 * is forked before the parent locks anything, so it inherits no lock. */
static struct locker spawn_locker(struct fixture *fx, const char *sid, bool exclusive, bool create)
{
    int go[2], done[2];
    struct locker l;

    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    assert_int_equal(pipe2(done, O_CLOEXEC), 0);
    l.pid = fork();
    assert_true(l.pid >= 0);
    if (l.pid == 0) {
        void *tok = NULL;
        char c;
        int r;

        close(go[1]);
        close(done[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        r = vc_store_lock(fx->store, sid, exclusive, create, &tok);
        if (write(done[1], &r, sizeof(r)) != (ssize_t) sizeof(r))
            _exit(3);
        vc_store_unlock(fx->store, tok);
        _exit(0);
    }
    close(go[0]);
    close(done[1]);
    l.go = go[1];
    l.done = done[0];
    return l;
}

static void locker_go(const struct locker *l)
{
    assert_int_equal(write(l->go, "g", 1), 1);
}

/* Waits (generously: this is a hang guard, not a timing check) for the child's result. */
static int locker_result(struct locker *l)
{
    int r = 1, status = 0;

    assert_true(readable_within(l->done, 60000));
    assert_int_equal(read(l->done, &r, sizeof(r)), (ssize_t) sizeof(r));
    assert_int_equal(waitpid(l->pid, &status, 0), l->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(l->go);
    close(l->done);
    return r;
}

static void test_lock_shared_shared(void **state)
{
    struct fixture *fx = *state;
    struct locker l;
    void *tok = NULL;

    put_str(fx->store, "s1", NULL, "x");
    l = spawn_locker(fx, "s1", false, false);
    assert_int_equal(vc_store_lock(fx->store, "s1", false, false, &tok), 0);
    assert_non_null(tok);
    locker_go(&l);
    /* The child gets its shared lock while the parent still holds one. */
    assert_int_equal(locker_result(&l), 0);
    vc_store_unlock(fx->store, tok);
}

/* The parent holds a lock of one kind; the child asking for the other must wait for it. */
static void check_lock_excludes(struct fixture *fx, bool parent_exclusive, bool child_exclusive)
{
    struct locker l;
    void *tok = NULL;

    put_str(fx->store, "s1", NULL, "x");
    l = spawn_locker(fx, "s1", child_exclusive, false);
    assert_int_equal(vc_store_lock(fx->store, "s1", parent_exclusive, false, &tok), 0);
    locker_go(&l);
    assert_false(readable_within(l.done, 200));
    vc_store_unlock(fx->store, tok);
    assert_int_equal(locker_result(&l), 0);
}

static void test_lock_exclusive_blocks(void **state)
{
    check_lock_excludes(*state, true, true);
}

static void test_lock_shared_blocks_exclusive(void **state)
{
    check_lock_excludes(*state, false, true);
}

static void test_lock_missing(void **state)
{
    struct fixture *fx = *state;
    static const char *const one[] = {"s1"};
    void *tok = NULL;

    assert_int_equal(vc_store_lock(fx->store, "s1", true, false, &tok), -ENOENT);
    assert_null(tok);
    assert_list(fx, NULL, NULL, 0);
    assert_int_equal(vc_store_lock(fx->store, "s1", true, true, &tok), 0);
    assert_non_null(tok);
    assert_list(fx, NULL, one, 1);
    vc_store_unlock(fx->store, tok);
    vc_store_unlock(fx->store, NULL);
    /* The lock made the sandbox's place; the document still has to be put. */
    assert_int_equal(vc_store_lock(fx->store, "s1", false, false, &tok), 0);
    vc_store_unlock(fx->store, tok);
}

/* A waiter whose sandbox is removed under it must not end up holding a lock on a deleted
 * directory: without create it gets -ENOENT, with create a lock on a fresh directory. */
static void check_lock_removed(struct fixture *fx, bool create)
{
    struct locker l;
    void *tok = NULL;
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "x");
    l = spawn_locker(fx, "s1", true, create);
    assert_int_equal(vc_store_lock(fx->store, "s1", true, false, &tok), 0);
    locker_go(&l);
    assert_false(readable_within(l.done, 200));
    assert_int_equal(vc_store_remove(fx->store, "s1", NULL), 0);
    vc_store_unlock(fx->store, tok);
    assert_int_equal(locker_result(&l), create ? 0 : -ENOENT);
    assert_int_equal(exists(path_in(fx, p, sizeof(p), "sbs/s1")), create);
}

static void test_lock_removed_while_waiting(void **state)
{
    check_lock_removed(*state, false);
}

static void test_lock_removed_while_waiting_create(void **state)
{
    check_lock_removed(*state, true);
}

static int fault_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    struct fault_plan *plan = data;

    if (!plan->point || strcmp(point, plan->point) != 0)
        return 0;
    plan->hits++;
    return plan->err;
}

static void test_fault_put(void **state)
{
    struct fixture *fx = *state;
    struct fault_plan plan = {.point = "store.put", .err = -EIO};
    char p[PATH_MAX];

    put_str(fx->store, "s1", NULL, "old");
    vc_ctx_set_fault(fx->ctx, fault_hook, &plan);
    assert_int_equal(vc_store_put(fx->store, "s1", NULL, "new", 3), -EIO);
    assert_int_equal(vc_store_put(fx->store, "s2", NULL, "new", 3), -EIO);
    assert_int_equal(plan.hits, 2);
    assert_int_equal(vc_ctx_errcode(fx->ctx), -EIO);
    /* Reads are not affected, and the old document is intact. */
    assert_doc(fx, "s1", NULL, "old");
    vc_ctx_set_fault(fx->ctx, NULL, NULL);
    assert_doc(fx, "s1", NULL, "old");
    assert_false(exists(path_in(fx, p, sizeof(p), "sbs/s2")));
    assert_int_equal(count_entries(path_in(fx, p, sizeof(p), "sbs/s1")), 1);
}

static void test_fault_points(void **state)
{
    struct fixture *fx = *state;
    struct fault_plan plan = {.err = -ENOSPC};
    char *buf = NULL, **v = NULL;
    size_t len = 0, n = 0;
    void *tok = NULL;

    put_str(fx->store, "s1", NULL, "x");
    vc_ctx_set_fault(fx->ctx, fault_hook, &plan);
    plan.point = "store.get";
    assert_int_equal(vc_store_get(fx->store, "s1", NULL, &buf, &len), -ENOSPC);
    plan.point = "store.list";
    assert_int_equal(vc_store_list(fx->store, NULL, &v, &n), -ENOSPC);
    plan.point = "store.lock";
    assert_int_equal(vc_store_lock(fx->store, "s1", true, false, &tok), -ENOSPC);
    plan.point = "store.remove";
    assert_int_equal(vc_store_remove(fx->store, "s1", NULL), -ENOSPC);
    assert_int_equal(plan.hits, 4);
    assert_null(buf);
    assert_null(v);
    assert_null(tok);
    vc_ctx_set_fault(fx->ctx, NULL, NULL);
    assert_doc(fx, "s1", NULL, "x");
}

/* Allocation failures through the context's "alloc" point end in -ENOMEM, no leak. */
static void test_alloc_failures(void **state)
{
    struct fixture *fx = *state;
    struct fault_plan plan = {.point = "alloc", .err = -ENOMEM};
    char *buf = NULL, **v = NULL;
    size_t len = 0, n = 0;
    void *tok = NULL;

    put_str(fx->store, "s1", NULL, "x");
    vc_ctx_set_fault(fx->ctx, fault_hook, &plan);
    assert_int_equal(vc_store_put(fx->store, "s1", NULL, "y", 1), -ENOMEM);
    assert_int_equal(vc_store_get(fx->store, "s1", NULL, &buf, &len), -ENOMEM);
    assert_int_equal(vc_store_list(fx->store, NULL, &v, &n), -ENOMEM);
    assert_int_equal(vc_store_lock(fx->store, "s1", true, false, &tok), -ENOMEM);
    assert_int_equal(vc_store_remove(fx->store, "s1", NULL), -ENOMEM);
    vc_ctx_set_fault(fx->ctx, NULL, NULL);
    assert_doc(fx, "s1", NULL, "x");
}

/* Fails the nth allocation only. */
struct alloc_plan {
    unsigned nth;  /* the allocation to fail, counting from 1 */
    unsigned seen; /* allocations asked for so far */
};

static int alloc_nth_hook(void *data, struct vc_ctx *ctx, const char *point)
{
    struct alloc_plan *plan = data;

    if (strcmp(point, "alloc") != 0)
        return 0;
    return ++plan->seen == plan->nth ? -ENOMEM : 0;
}

/* Runs store operation op once; what it got is freed again. */
static int run_op(struct fixture *fx, int op)
{
    char *buf = NULL, **v = NULL;
    size_t len = 0, n = 0;
    void *tok = NULL;
    int r;

    switch (op) {
    case 0:
        return vc_store_put(fx->store, "s1", "c1", "new", 3);
    case 1:
        r = vc_store_get(fx->store, "s1", "c1", &buf, &len);
        vc_free(fx->ctx, buf);
        return r;
    case 2:
        r = vc_store_list(fx->store, NULL, &v, &n);
        vc_strv_free(fx->ctx, v, n);
        return r;
    case 3:
        r = vc_store_list(fx->store, "s1", &v, &n);
        vc_strv_free(fx->ctx, v, n);
        return r;
    case 4:
        r = vc_store_lock(fx->store, "s1", true, true, &tok);
        vc_store_unlock(fx->store, tok);
        return r;
    default:
        return vc_store_remove(fx->store, "s1", NULL);
    }
}

/* Each allocation of each operation fails in turn (curl torture, libuv OOM loop): every
 * failure is a clean -ENOMEM with no leak, and the stored document is the old or the new one. */
static void test_alloc_torture(void **state)
{
    struct fixture *fx = *state;
    char *buf = NULL;
    size_t len = 0;

    put_str(fx->store, "s0", NULL, "x");
    put_str(fx->store, "s1", "c1", "old");
    put_str(fx->store, "s1", "c2", "x");
    for (int op = 0; op <= 5; op++) {
        struct alloc_plan plan = {0};
        int r;

        for (plan.nth = 1;; plan.nth++) {
            plan.seen = 0;
            vc_ctx_set_fault(fx->ctx, alloc_nth_hook, &plan);
            r = run_op(fx, op);
            vc_ctx_set_fault(fx->ctx, NULL, NULL);
            if (plan.seen < plan.nth)
                break;
            assert_int_equal(r, -ENOMEM);
            assert_int_equal(vc_ctx_errcode(fx->ctx), -ENOMEM);
            if (op == 0) {
                assert_int_equal(vc_store_get(fx->store, "s1", "c1", &buf, &len), 0);
                assert_true(strcmp(buf, "old") == 0 || strcmp(buf, "new") == 0);
                vc_free(fx->ctx, buf);
            }
        }
        /* The run that saw no failure succeeded, after at least one failing run. */
        assert_int_equal(r, 0);
        assert_true(plan.nth > 1);
    }
    assert_list(fx, NULL, (const char *const[]){"s0"}, 1);
}

static void test_fs_root(void **state)
{
    struct fixture *fx = *state;
    const char *saved_env = getenv("VC_ROOT");
    char *saved = saved_env ? strdup(saved_env) : NULL;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct vc_store *store = NULL;

    assert_string_equal(vc_store_fs_root(fx->store), fx->root);
    assert_null(vc_store_fs_root(NULL));

    assert_int_equal(vc_store_fs_new(fx->ctx, "/tmp/some/where//", &store), 0);
    assert_string_equal(vc_store_fs_root(store), "/tmp/some/where");
    vc_store_free(store);

    assert_int_equal(setenv("VC_ROOT", "/tmp/from-env", 1), 0);
    assert_int_equal(vc_store_fs_new(fx->ctx, NULL, &store), 0);
    assert_string_equal(vc_store_fs_root(store), "/tmp/from-env");
    vc_store_free(store);
    /* The argument wins over the environment. */
    assert_int_equal(vc_store_fs_new(fx->ctx, "/tmp/arg", &store), 0);
    assert_string_equal(vc_store_fs_root(store), "/tmp/arg");
    vc_store_free(store);

    store = NULL;
    assert_int_equal(setenv("VC_ROOT", "relative/root", 1), 0);
    assert_int_equal(vc_store_fs_new(fx->ctx, NULL, &store), -EINVAL);
    assert_null(store);
    assert_int_equal(vc_store_fs_new(fx->ctx, "relative", &store), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "absolute"));

    assert_int_equal(unsetenv("VC_ROOT"), 0);
    if (geteuid() == 0) {
        assert_int_equal(vc_store_fs_new(fx->ctx, NULL, &store), 0);
        assert_string_equal(vc_store_fs_root(store), "/run/vc");
        vc_store_free(store);
    } else if (xdg && xdg[0] == '/') {
        char want[PATH_MAX];

        snprintf(want, sizeof(want), "%s/vc", xdg);
        assert_int_equal(vc_store_fs_new(fx->ctx, NULL, &store), 0);
        assert_string_equal(vc_store_fs_root(store), want);
        vc_store_free(store);
    }
    if (saved)
        assert_int_equal(setenv("VC_ROOT", saved, 1), 0);
    free(saved);
}

static void test_unsupported_ops(void **state)
{
    struct fixture *fx = *state;
    static const struct vc_store_ops empty_ops = {.version = VC_STORE_OPS_V1, .name = "empty"};
    struct vc_store empty = {.ops = &empty_ops, .ctx = fx->ctx};
    char *buf = NULL, **v = NULL;
    size_t len = 0, n = 0;
    void *tok = NULL;
    int dummy = 0;

    assert_int_equal(vc_store_put(&empty, "s1", NULL, "x", 1), -EOPNOTSUPP);
    assert_non_null(strstr(vc_ctx_errmsg(fx->ctx), "empty"));
    assert_int_equal(vc_store_get(&empty, "s1", NULL, &buf, &len), -EOPNOTSUPP);
    assert_int_equal(vc_store_remove(&empty, "s1", NULL), -EOPNOTSUPP);
    assert_int_equal(vc_store_list(&empty, NULL, &v, &n), -EOPNOTSUPP);
    assert_int_equal(vc_store_lock(&empty, "s1", true, true, &tok), -EOPNOTSUPP);
    assert_null(vc_store_fs_root(&empty));
    vc_store_unlock(&empty, &dummy);
    vc_store_free(&empty);
    vc_store_free(NULL);
    vc_strv_free(fx->ctx, NULL, 0);
}

static void log_sink(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                     const char *msg)
{
    struct log_record *rec = data;

    if (level != VC_LOG_DEBUG || strcmp(topic, "store") != 0)
        return;
    rec->n_store++;
    snprintf(rec->last, sizeof(rec->last), "%s", msg);
}

static void test_debug_log(void **state)
{
    struct fixture *fx = *state;
    struct log_record rec = {0};

    vc_ctx_set_log(fx->ctx, log_sink, &rec, VC_LOG_DEBUG);
    put_str(fx->store, "logged-sandbox", NULL, "x");
    vc_ctx_set_log(fx->ctx, NULL, NULL, VC_LOG_INFO);
    assert_true(rec.n_store >= 1);
    assert_non_null(strstr(rec.last, "'logged-sandbox'"));
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_put_get_roundtrip),
        STORE_TEST(test_layout),
        STORE_TEST(test_put_overwrite),
        STORE_TEST(test_permissions),
        STORE_TEST(test_get_absent),
        STORE_TEST(test_size_limit),
        STORE_TEST(test_list_sorted),
        STORE_TEST(test_remove),
        STORE_TEST(test_crash_leftover),
        STORE_TEST(test_remove_keeps_foreign),
        STORE_TEST(test_bad_ids),
        STORE_TEST(test_lock_shared_shared),
        STORE_TEST(test_lock_exclusive_blocks),
        STORE_TEST(test_lock_shared_blocks_exclusive),
        STORE_TEST(test_lock_missing),
        STORE_TEST(test_lock_removed_while_waiting),
        STORE_TEST(test_lock_removed_while_waiting_create),
        STORE_TEST(test_fault_put),
        STORE_TEST(test_fault_points),
        STORE_TEST(test_alloc_failures),
        STORE_TEST(test_alloc_torture),
        STORE_TEST(test_fs_root),
        STORE_TEST(test_unsupported_ops),
        STORE_TEST(test_debug_log),
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
