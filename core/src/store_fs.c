/* SPDX-License-Identifier: Apache-2.0 */
/* The filesystem store: one persist.json per sandbox and per container under <root>/sbs, put
 * through a temporary file, fsync, rename and a directory fsync so that a reader sees the old
 * document or the new one, never a mix. The sandbox lock is flock(2) on the sandbox directory.
 * This is the real persistence service, so it calls the filesystem directly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>
#include <vc/types.h>

#include "cleanup.h"

#define FS_DOC        "persist.json"
#define FS_TMP_PREFIX ".persist.json."

struct fs_store {
    struct vc_store base; /* first member: what callers hold */
    char *root;           /* root directory, absolute, no trailing slash (owned) */
};

struct fs_lock {
    int fd; /* the locked sandbox directory; closing it drops the lock */
};

static struct fs_store *fs_of(struct vc_store *store)
{
    return VC_CONTAINER_OF(store, struct fs_store, base);
}

static int fs_oom(struct vc_ctx *ctx)
{
    return vc_err(ctx, -ENOMEM, "store: out of memory");
}

/* <root>/sbs, <root>/sbs/<sandbox> or <root>/sbs/<sandbox>/<container>. */
static char *fs_dir(struct fs_store *fs, const char *sid, const char *cid)
{
    struct vc_ctx *ctx = fs->base.ctx;

    if (!sid)
        return vc_strdupf(ctx, "%s/sbs", fs->root);
    if (!cid)
        return vc_strdupf(ctx, "%s/sbs/%s", fs->root, sid);
    return vc_strdupf(ctx, "%s/sbs/%s/%s", fs->root, sid, cid);
}

/* Names the store makes directories for. A leading dot is refused too: dot-entries are the
 * store's temporary files and are never listed. */
static bool fs_id_ok(const char *id)
{
    return id && id[0] && id[0] != '.' && !strchr(id, '/') &&
           strnlen(id, VC_ID_MAX + 1) <= VC_ID_MAX;
}

/* Belt and braces: the core validates ids before they get here. */
static int fs_check_ids(struct vc_ctx *ctx, const char *sid, const char *cid)
{
    if (!fs_id_ok(sid))
        return vc_err(ctx, -EINVAL, "store: invalid sandbox id '%.*s'", VC_ID_MAX, sid ? sid : "");
    if (cid && !fs_id_ok(cid))
        return vc_err(ctx, -EINVAL, "store: invalid container id '%.*s'", VC_ID_MAX, cid);
    /* A container directory of that name would collide with the sandbox's own document. */
    if (cid && strcmp(cid, FS_DOC) == 0)
        return vc_err(ctx, -EINVAL, "store: container id '%s' is reserved", cid);
    return 0;
}

static bool fs_is_dir(int dirfd, const struct dirent *de)
{
    struct stat st;

    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_DIR;
    return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int fs_fsync_dir(struct vc_ctx *ctx, const char *path)
{
    vc_autoclose int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0 || fsync(fd) < 0) {
        r = -errno;
        return vc_err(ctx, r, "store: cannot sync '%s': %s", path, strerror(-r));
    }
    return 0;
}

/* Makes the directory path[0..] (0700) unless it exists. A new directory's entry is synced into
 * its parent, path[0..parent_len) ("/" when 0), so it survives a crash with what is put in it. */
static int fs_mkdir_level(struct vc_ctx *ctx, char *path, size_t parent_len)
{
    char saved;
    int r;

    if (mkdir(path, 0700) < 0) {
        if (errno == EEXIST)
            return 0;
        r = -errno;
        return vc_err(ctx, r, "store: cannot create '%s': %s", path, strerror(-r));
    }
    if (parent_len == 0)
        return fs_fsync_dir(ctx, "/");
    saved = path[parent_len];
    path[parent_len] = '\0';
    r = fs_fsync_dir(ctx, path);
    path[parent_len] = saved;
    return r;
}

/* mkdir -p, each level 0700. path is modified while this runs and restored before it returns. */
static int fs_mkdir_p(struct vc_ctx *ctx, char *path)
{
    size_t parent_len = 0;
    int r;

    for (size_t i = 1;; i++) {
        char c = path[i];

        if (c != '/' && c != '\0')
            continue;
        path[i] = '\0';
        r = fs_mkdir_level(ctx, path, parent_len);
        path[i] = c;
        if (r < 0 || c == '\0')
            return r;
        parent_len = i;
    }
}

static int fs_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Creates a temporary file from tmpl (its XXXXXX replaced), writes buf and syncs it. On failure
 * the file is gone again. */
static int fs_write_tmp(struct vc_ctx *ctx, char *tmpl, const void *buf, size_t len)
{
    /* mkostemp always opens O_CREAT|O_EXCL; the flags add O_CLOEXEC. */
    vc_autoclose int fd = mkostemp(tmpl, O_CLOEXEC);
    int r;

    if (fd < 0) {
        r = -errno;
        return vc_err(ctx, r, "store: cannot create '%s': %s", tmpl, strerror(-r));
    }
    /* 0600 whatever the umask. */
    r = fchmod(fd, 0600) < 0 ? -errno : 0;
    if (r == 0)
        r = fs_write_all(fd, buf, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r < 0) {
        (void) unlink(tmpl);
        return vc_err(ctx, r, "store: cannot write '%s': %s", tmpl, strerror(-r));
    }
    return 0;
}

static int fs_put(struct vc_store *store, const char *sid, const char *cid, const void *buf,
                  size_t len)
{
    struct vc_ctx *ctx = store->ctx;
    char *dir = NULL, *tmp = NULL, *doc = NULL;
    int r;

    r = fs_check_ids(ctx, sid, cid);
    if (r < 0)
        return r;
    if (len > VC_STORE_DOC_MAX)
        return vc_err(ctx, -EFBIG, "store: document of %zu bytes is over the limit of %u", len,
                      VC_STORE_DOC_MAX);
    r = -ENOMEM;
    dir = fs_dir(fs_of(store), sid, cid);
    if (!dir)
        goto out;
    tmp = vc_strdupf(ctx, "%s/" FS_TMP_PREFIX "XXXXXX", dir);
    doc = tmp ? vc_strdupf(ctx, "%s/" FS_DOC, dir) : NULL;
    if (!doc)
        goto out;
    r = fs_mkdir_p(ctx, dir);
    if (r < 0)
        goto out;
    r = fs_write_tmp(ctx, tmp, buf, len);
    if (r < 0)
        goto out;
    if (rename(tmp, doc) < 0) {
        r = -errno;
        (void) unlink(tmp);
        (void) vc_err(ctx, r, "store: cannot write '%s': %s", doc, strerror(-r));
        goto out;
    }
    r = fs_fsync_dir(ctx, dir);
out:
    vc_free(ctx, doc);
    vc_free(ctx, tmp);
    vc_free(ctx, dir);
    return r;
}

/* Reads up to size bytes (the size fstat saw); *ret_len is what was there. */
static int fs_read_all(int fd, char *buf, size_t size, size_t *ret_len)
{
    size_t len = 0;

    while (len < size) {
        ssize_t n = read(fd, buf + len, size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        len += (size_t) n;
    }
    *ret_len = len;
    return 0;
}

/* Opens, checks and reads the document at path into a NUL-terminated buffer. */
static int fs_read_doc(struct vc_ctx *ctx, const char *path, char **ret, size_t *ret_len)
{
    vc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    size_t len = 0;
    char *buf;
    int r;

    if (fd < 0 && errno == ENOENT)
        return vc_err(ctx, -ENOENT, "store: no document '%s'", path);
    if (fd < 0 || fstat(fd, &st) < 0) {
        r = -errno;
        return vc_err(ctx, r, "store: cannot read '%s': %s", path, strerror(-r));
    }
    if (!S_ISREG(st.st_mode))
        return vc_err(ctx, -EINVAL, "store: '%s' is not a regular file", path);
    if ((uintmax_t) st.st_size > VC_STORE_DOC_MAX)
        return vc_err(ctx, -EFBIG, "store: '%s' is over the limit of %u bytes", path,
                      VC_STORE_DOC_MAX);
    buf = vc_malloc(ctx, (size_t) st.st_size + 1);
    if (!buf)
        return fs_oom(ctx);
    r = fs_read_all(fd, buf, (size_t) st.st_size, &len);
    if (r < 0) {
        vc_free(ctx, buf);
        return vc_err(ctx, r, "store: cannot read '%s': %s", path, strerror(-r));
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

static int fs_get(struct vc_store *store, const char *sid, const char *cid, char **ret,
                  size_t *ret_len)
{
    struct vc_ctx *ctx = store->ctx;
    char *dir, *doc;
    int r;

    r = fs_check_ids(ctx, sid, cid);
    if (r < 0)
        return r;
    dir = fs_dir(fs_of(store), sid, cid);
    doc = dir ? vc_strdupf(ctx, "%s/" FS_DOC, dir) : NULL;
    r = doc ? fs_read_doc(ctx, doc, ret, ret_len) : -ENOMEM;
    vc_free(ctx, doc);
    vc_free(ctx, dir);
    return r;
}

static int fs_remove_tree(struct vc_ctx *ctx, int pfd, const char *path, const char *name,
                          bool sandbox);

/* One entry of a directory being removed: documents and temporary files go, container
 * directories (in a sandbox) go recursively, anything else stays so that the rmdir of the
 * directory reports it instead of the store deleting what it did not make. */
static int fs_remove_entry(struct vc_ctx *ctx, int dfd, const char *path, const struct dirent *de,
                           bool sandbox)
{
    const char *n = de->d_name;
    char *sub;
    int r;

    if (strcmp(n, FS_DOC) == 0 || strncmp(n, FS_TMP_PREFIX, strlen(FS_TMP_PREFIX)) == 0) {
        if (unlinkat(dfd, n, 0) < 0 && errno != ENOENT) {
            r = -errno;
            return vc_err(ctx, r, "store: cannot remove '%s/%s': %s", path, n, strerror(-r));
        }
        return 0;
    }
    if (!sandbox || !fs_id_ok(n) || !fs_is_dir(dfd, de))
        return 0;
    sub = vc_strdupf(ctx, "%s/%s", path, n);
    if (!sub)
        return -ENOMEM;
    r = fs_remove_tree(ctx, dfd, sub, n, false);
    vc_free(ctx, sub);
    return r;
}

/* Removes the directory name under pfd (path, for messages): a sandbox's or a container's. */
static int fs_remove_tree(struct vc_ctx *ctx, int pfd, const char *path, const char *name,
                          bool sandbox)
{
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (fd < 0 && errno == ENOENT)
        return vc_err(ctx, -ENOENT, "store: '%s' does not exist", path);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        r = -errno;
        fd = vc_safe_close(fd);
        return vc_err(ctx, r, "store: cannot open '%s': %s", path, strerror(-r));
    }
    while (r == 0) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            r = errno ? vc_err(ctx, -errno, "store: cannot read '%s': %s", path, strerror(errno))
                      : 0;
            break;
        }
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            r = fs_remove_entry(ctx, dirfd(d), path, de, sandbox);
    }
    (void) closedir(d);
    if (r < 0)
        return r;
    if (unlinkat(pfd, name, AT_REMOVEDIR) < 0) {
        r = -errno;
        if (r == -ENOTEMPTY || r == -EEXIST)
            return vc_err(ctx, r, "store: '%s' holds entries the store did not create", path);
        return vc_err(ctx, r, "store: cannot remove '%s': %s", path, strerror(-r));
    }
    return 0;
}

static int fs_remove(struct vc_store *store, const char *sid, const char *cid)
{
    struct vc_ctx *ctx = store->ctx;
    char *parent = NULL, *dir = NULL;
    int pfd = -1, r;

    r = fs_check_ids(ctx, sid, cid);
    if (r < 0)
        return r;
    r = -ENOMEM;
    /* The sandbox directory goes from <root>/sbs, a container's from its sandbox's. */
    parent = fs_dir(fs_of(store), cid ? sid : NULL, NULL);
    dir = parent ? fs_dir(fs_of(store), sid, cid) : NULL;
    if (!dir)
        goto out;
    pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        r = -errno;
        if (r == -ENOENT)
            (void) vc_err(ctx, r, "store: '%s' does not exist", dir);
        else
            (void) vc_err(ctx, r, "store: cannot open '%s': %s", parent, strerror(-r));
        goto out;
    }
    r = fs_remove_tree(ctx, pfd, dir, cid ? cid : sid, cid == NULL);
    if (r == 0 && fsync(pfd) < 0) {
        r = -errno;
        (void) vc_err(ctx, r, "store: cannot sync '%s': %s", parent, strerror(-r));
    }
out:
    pfd = vc_safe_close(pfd);
    vc_free(ctx, dir);
    vc_free(ctx, parent);
    return r;
}

static int fs_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int fs_strv_push(struct vc_ctx *ctx, char ***v, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **nv;

        if (ncap > SIZE_MAX / sizeof(char *))
            return fs_oom(ctx);
        nv = vc_realloc(ctx, *v, ncap * sizeof(char *));
        if (!nv)
            return fs_oom(ctx);
        *v = nv;
        *cap = ncap;
    }
    (*v)[*n] = vc_strdup(ctx, s);
    if (!(*v)[*n])
        return fs_oom(ctx);
    (*n)++;
    return 0;
}

/* The subdirectories of d that are ids, unsorted. */
static int fs_read_ids(struct vc_ctx *ctx, DIR *d, const char *path, char ***ret, size_t *ret_n)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int r = 0;

    while (r == 0) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            r = errno ? vc_err(ctx, -errno, "store: cannot read '%s': %s", path, strerror(errno))
                      : 0;
            break;
        }
        if (fs_id_ok(de->d_name) && fs_is_dir(dirfd(d), de))
            r = fs_strv_push(ctx, &v, &n, &cap, de->d_name);
    }
    if (r < 0) {
        vc_strv_free(ctx, v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int fs_list(struct vc_store *store, const char *sid, char ***ret, size_t *ret_n)
{
    struct vc_ctx *ctx = store->ctx;
    char *dir;
    DIR *d = NULL;
    int fd, r;

    r = sid ? fs_check_ids(ctx, sid, NULL) : 0;
    if (r < 0)
        return r;
    dir = fs_dir(fs_of(store), sid, NULL);
    if (!dir)
        return -ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        r = -errno;
        fd = vc_safe_close(fd);
        if (r == -ENOENT && !sid) {
            /* Nothing was ever stored. */
            *ret = NULL;
            *ret_n = 0;
            r = 0;
        } else if (r == -ENOENT) {
            (void) vc_err(ctx, r, "store: sandbox '%s' does not exist", sid);
        } else {
            (void) vc_err(ctx, r, "store: cannot open '%s': %s", dir, strerror(-r));
        }
        vc_free(ctx, dir);
        return r;
    }
    r = fs_read_ids(ctx, d, dir, ret, ret_n);
    (void) closedir(d);
    vc_free(ctx, dir);
    if (r == 0 && *ret_n > 1)
        qsort(*ret, *ret_n, sizeof(**ret), fs_strcmp);
    return r;
}

/* Opens dir and takes the lock on it. -ESTALE (nothing recorded) when the directory was removed
 * or replaced while this waited: a lock on it would protect nothing. */
static int fs_lock_dir(struct vc_ctx *ctx, const char *dir, bool exclusive, int *ret_fd)
{
    vc_autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat locked, now;
    int r;

    if (fd < 0 && errno == ENOENT)
        return vc_err(ctx, -ENOENT, "store: no sandbox at '%s'", dir);
    if (fd < 0) {
        r = -errno;
        return vc_err(ctx, r, "store: cannot open '%s': %s", dir, strerror(-r));
    }
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR) {
            r = -errno;
            return vc_err(ctx, r, "store: cannot lock '%s': %s", dir, strerror(-r));
        }
    }
    if (fstat(fd, &locked) < 0) {
        r = -errno;
        return vc_err(ctx, r, "store: cannot stat '%s': %s", dir, strerror(-r));
    }
    if (stat(dir, &now) < 0) {
        r = -errno;
        if (r == -ENOENT)
            return -ESTALE;
        return vc_err(ctx, r, "store: cannot stat '%s': %s", dir, strerror(-r));
    }
    if (locked.st_dev != now.st_dev || locked.st_ino != now.st_ino)
        return -ESTALE;
    *ret_fd = VC_TAKE_FD(fd);
    return 0;
}

static int fs_lock(struct vc_store *store, const char *sid, bool exclusive, bool create,
                   void **ret_token)
{
    struct vc_ctx *ctx = store->ctx;
    struct fs_lock *lock = NULL;
    char *dir = NULL;
    int r;

    r = fs_check_ids(ctx, sid, NULL);
    if (r < 0)
        return r;
    r = -ENOMEM;
    dir = fs_dir(fs_of(store), sid, NULL);
    lock = dir ? vc_new0(ctx, struct fs_lock, 1) : NULL;
    if (!lock) {
        (void) fs_oom(ctx);
        goto out;
    }
    *lock = (struct fs_lock){.fd = -1};
    do {
        r = create ? fs_mkdir_p(ctx, dir) : 0;
        if (r == 0)
            r = fs_lock_dir(ctx, dir, exclusive, &lock->fd);
    } while (r == -ESTALE && create);
    if (r == -ESTALE)
        r = vc_err(ctx, -ENOENT, "store: sandbox '%s' was removed", sid);
    if (r == 0)
        *ret_token = VC_TAKE_PTR(lock);
out:
    vc_free(ctx, lock);
    vc_free(ctx, dir);
    return r;
}

static void fs_unlock(struct vc_store *store, void *token)
{
    struct fs_lock *lock = token;

    if (!lock)
        return;
    lock->fd = vc_safe_close(lock->fd);
    vc_free(store->ctx, lock);
}

static void fs_free(struct vc_store *store)
{
    struct fs_store *fs;

    if (!store)
        return;
    fs = fs_of(store);
    vc_free(store->ctx, fs->root);
    vc_free(store->ctx, fs);
}

static const struct vc_store_ops fs_store_ops = {
    .version = VC_STORE_OPS_V1,
    .name = "fs",
    .free = fs_free,
    .put = fs_put,
    .get = fs_get,
    .remove = fs_remove,
    .list = fs_list,
    .lock = fs_lock,
    .unlock = fs_unlock,
};

/* The root: the argument, else $VC_ROOT, else /run/vc as root, else $XDG_RUNTIME_DIR/vc. Only
 * absolute paths are usable: the store must not depend on the working directory. */
static int fs_resolve_root(struct vc_ctx *ctx, const char *root, char **ret)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    size_t len;
    char *s;

    if (!root || !root[0])
        root = secure_getenv("VC_ROOT");
    if (root && root[0])
        s = vc_strdup(ctx, root);
    else if (geteuid() == 0)
        s = vc_strdup(ctx, "/run/vc");
    else if (xdg && xdg[0] == '/')
        s = vc_strdupf(ctx, "%s/vc", xdg);
    else
        return vc_err(ctx, -EINVAL, "store: no root directory: set VC_ROOT or XDG_RUNTIME_DIR");
    if (!s)
        return fs_oom(ctx);
    if (s[0] != '/') {
        vc_free(ctx, s);
        return vc_err(ctx, -EINVAL, "store: root '%s' is not an absolute path", root);
    }
    for (len = strlen(s); len > 1 && s[len - 1] == '/'; len--)
        s[len - 1] = '\0';
    *ret = s;
    return 0;
}

int vc_store_fs_new(struct vc_ctx *ctx, const char *root, struct vc_store **ret)
{
    struct fs_store *fs;
    int r;

    if (!ctx || !ret)
        return vc_err(ctx, -EINVAL, "store: invalid arguments");
    fs = vc_new0(ctx, struct fs_store, 1);
    if (!fs)
        return fs_oom(ctx);
    *fs = (struct fs_store){.base = {.ops = &fs_store_ops, .ctx = ctx}};
    r = fs_resolve_root(ctx, root, &fs->root);
    if (r < 0)
        goto fail;
    *ret = &fs->base;
    return 0;
fail:
    fs_free(&fs->base);
    return r;
}

const char *vc_store_fs_root(const struct vc_store *store)
{
    if (!store || store->ops != &fs_store_ops)
        return NULL;
    return ((const struct fs_store *) (const void *) store)->root;
}
