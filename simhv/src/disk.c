/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated disk and its store (disk.h). Every path holds what exists now and what would
 * survive a host crash: a write changes only the first, an fsync of the file makes its content
 * durable, a rename stays pending until its directory is synced, and removals become durable
 * with the sync of the parent. Directories are durable as soon as they are made (the filesystem
 * store syncs their parents right away). The store follows store_fs.c step by step. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>
#include <vc/types.h>

#include "cleanup.h"
#include "world_priv.h"

#define DISK_DOC        "persist.json"
#define DISK_TMP_PREFIX ".persist.json."
#define DISK_DIR_MAX    300 /* "sbs/<id>/<id>" with ids of VC_ID_MAX */
#define DISK_PATH_MAX   512 /* a directory, '/' and a file name */

struct disk_store {
    struct vc_store base; /* first member: what callers hold */
    struct simhv_ctx *c;  /* the context it serves (borrowed) */
};

static struct disk_store *disk_of(struct vc_store *store)
{
    return VC_CONTAINER_OF(store, struct disk_store, base);
}

/* --- the disk ------------------------------------------------------------------------------- */

/* Binary search: true and *ret the index when path is there, else false and *ret where it
 * would go. */
static bool disk_find(const struct simhv_disk *d, const char *path, size_t *ret)
{
    size_t lo = 0, hi = d->n_entries;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->entries[mid].path, path);

        if (c == 0) {
            *ret = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ret = lo;
    return false;
}

/* The entry at path, or NULL. Pointers into the table last until the next insertion. */
static struct simhv_disk_entry *disk_get(const struct simhv_disk *d, const char *path)
{
    size_t i;

    return disk_find(d, path, &i) ? &d->entries[i] : NULL;
}

/* The entry at path, made (absent, not durable) if there is none. NULL when out of memory. */
static struct simhv_disk_entry *disk_entry(struct simhv_disk *d, const char *path, bool dir)
{
    struct simhv_disk_entry *e;
    size_t i;
    char *copy;

    if (disk_find(d, path, &i))
        return &d->entries[i];
    if (d->n_entries == d->cap_entries) {
        size_t cap = d->cap_entries ? d->cap_entries * 2 : 32;

        e = realloc(d->entries, cap * sizeof(*e));
        if (!e)
            return NULL;
        d->entries = e;
        d->cap_entries = cap;
    }
    copy = strdup(path);
    if (!copy)
        return NULL;
    memmove(&d->entries[i + 1], &d->entries[i], (d->n_entries - i) * sizeof(*e));
    d->entries[i] = (struct simhv_disk_entry){.path = copy, .dir = dir};
    d->n_entries++;
    return &d->entries[i];
}

static void entry_free(struct simhv_disk_entry *e)
{
    free(e->path);
    free(e->data);
    free(e->dur_data);
    free(e->pend_data);
}

/* Drops entry i when nothing of it is left, now or after a crash. Returns whether it went. */
static bool disk_gc(struct simhv_disk *d, size_t i)
{
    struct simhv_disk_entry *e = &d->entries[i];

    if (e->cur || e->dur || e->pend)
        return false;
    entry_free(e);
    memmove(&d->entries[i], &d->entries[i + 1], (d->n_entries - i - 1) * sizeof(*e));
    d->n_entries--;
    return true;
}

static void entry_drop_cur(struct simhv_disk *d, struct simhv_disk_entry *e)
{
    if (e->cur && !e->dir)
        d->used -= e->len;
    free(e->data);
    e->data = NULL;
    e->len = 0;
    e->cur = false;
}

static char *disk_memdup(const char *p, size_t len)
{
    char *q = malloc(len ? len : 1);

    if (q && len)
        memcpy(q, p, len);
    return q;
}

/* Makes a directory (durable at once) unless it exists. */
static int disk_mkdir(struct simhv_disk *d, const char *path)
{
    struct simhv_disk_entry *e = disk_entry(d, path, true);

    if (!e)
        return -ENOMEM;
    e->cur = true;
    e->dur = true;
    return 0;
}

/* Writes the current content of path: -ENOSPC past the capacity, -ENOMEM. */
static int disk_write(struct simhv_disk *d, const char *path, const char *buf, size_t len)
{
    struct simhv_disk_entry *e = disk_get(d, path);
    uint64_t old = e && e->cur ? e->len : 0;
    char *data;

    if (d->used - old + len > d->capacity)
        return -ENOSPC;
    data = disk_memdup(buf, len);
    e = data ? disk_entry(d, path, false) : NULL;
    if (!e) {
        free(data);
        return -ENOMEM;
    }
    entry_drop_cur(d, e);
    e->data = data;
    e->len = len;
    e->cur = true;
    d->used += len;
    return 0;
}

static void disk_unlink(struct simhv_disk *d, const char *path)
{
    size_t i;

    if (!disk_find(d, path, &i))
        return;
    entry_drop_cur(d, &d->entries[i]);
    (void) disk_gc(d, i);
}

/* fsync(2) of a file: its content (and, in this model, its name) survives a crash. */
static int disk_fsync_file(struct simhv_disk *d, const char *path)
{
    struct simhv_disk_entry *e = disk_get(d, path);
    char *copy;

    if (!e || !e->cur)
        return -ENOENT;
    copy = disk_memdup(e->data, e->len);
    if (!copy)
        return -ENOMEM;
    free(e->dur_data);
    e->dur_data = copy;
    e->dur_len = e->len;
    e->dur = true;
    return 0;
}

/* rename(2): the current name moves now; after a crash the old names come back unless the
 * directory was synced. What to brings then is the durable content of from (empty when from
 * never was synced: the zero-length file a crash leaves). */
static int disk_rename(struct simhv_disk *d, const char *from, const char *to)
{
    struct simhv_disk_entry *src, *dst;
    char *pend;
    size_t n;

    dst = disk_entry(d, to, false);
    src = dst ? disk_get(d, from) : NULL;
    if (!src || !src->cur)
        return dst ? -ENOENT : -ENOMEM;
    n = src->dur ? src->dur_len : 0;
    pend = disk_memdup(src->dur_data, n);
    if (!pend)
        return -ENOMEM;
    dst = disk_get(d, to);
    entry_drop_cur(d, dst);
    dst->data = src->data;
    dst->len = src->len;
    dst->cur = true;
    free(dst->pend_data);
    dst->pend_data = pend;
    dst->pend_len = n;
    dst->pend = true;
    src->data = NULL;
    src->len = 0;
    src->cur = false;
    return 0;
}

/* Whether path is directly in dir. */
static bool disk_in_dir(const char *path, const char *dir, size_t dir_len)
{
    return strncmp(path, dir, dir_len) == 0 && path[dir_len] == '/' &&
           !strchr(path + dir_len + 1, '/');
}

/* fsync(2) of a directory: renames into it and removals from it become durable. */
static void disk_fsync_dir(struct simhv_disk *d, const char *dir)
{
    size_t dir_len = strlen(dir);

    for (size_t i = 0; i < d->n_entries;) {
        struct simhv_disk_entry *e = &d->entries[i];

        if (disk_in_dir(e->path, dir, dir_len)) {
            if (e->pend) {
                free(e->dur_data);
                e->dur_data = e->pend_data;
                e->dur_len = e->pend_len;
                e->dur = true;
                e->pend_data = NULL;
                e->pend = false;
            } else if (!e->cur) {
                free(e->dur_data);
                e->dur_data = NULL;
                e->dur = false;
            }
            if (disk_gc(d, i))
                continue;
        }
        i++;
    }
}

/* Whether path is dir or below it. */
static bool disk_under(const char *path, const char *dir, size_t dir_len)
{
    return strncmp(path, dir, dir_len) == 0 && (path[dir_len] == '\0' || path[dir_len] == '/');
}

/* Removes dir and everything below it, now; durable only with disk_forget_tree. */
static void disk_remove_tree(struct simhv_disk *d, const char *dir)
{
    size_t dir_len = strlen(dir), i;

    (void) disk_find(d, dir, &i);
    for (; i < d->n_entries && disk_under(d->entries[i].path, dir, dir_len); i++)
        entry_drop_cur(d, &d->entries[i]);
}

/* The removal of dir became durable (its parent was synced). */
static void disk_forget_tree(struct simhv_disk *d, const char *dir)
{
    size_t dir_len = strlen(dir), i;

    (void) disk_find(d, dir, &i);
    while (i < d->n_entries && disk_under(d->entries[i].path, dir, dir_len)) {
        struct simhv_disk_entry *e = &d->entries[i];

        if (!e->cur) {
            free(e->dur_data);
            free(e->pend_data);
            e->dur_data = e->pend_data = NULL;
            e->dur = e->pend = false;
            if (disk_gc(d, i))
                continue;
        }
        i++;
    }
}

void simhv_disk_crash(struct simhv_world *w)
{
    struct simhv_disk *d = &w->disk;

    d->used = 0;
    for (size_t i = 0; i < d->n_entries;) {
        struct simhv_disk_entry *e = &d->entries[i];

        free(e->data);
        free(e->pend_data);
        e->pend_data = NULL;
        e->pend = false;
        e->cur = e->dur;
        /* The durable copy becomes the current content; a fresh durable copy is made on the
         * next fsync. */
        e->data = e->dur ? disk_memdup(e->dur_data, e->dur_len) : NULL;
        e->len = e->data ? e->dur_len : 0;
        if (e->dur && !e->dir && !e->data)
            e->cur = false; /* out of memory: the file is lost, which a crash may do */
        if (e->cur && !e->dir)
            d->used += e->len;
        if (!disk_gc(d, i))
            i++;
    }
    simhv_world_trace(w, "disk", "crash", "%zu files left", simhv_disk_file_count(w));
}

void simhv_disk_free(struct simhv_world *w)
{
    struct simhv_disk *d = &w->disk;

    for (size_t i = 0; i < d->n_entries; i++)
        entry_free(&d->entries[i]);
    free(d->entries);
    /* Tokens belong to their contexts' allocators; they are gone with the contexts. */
    free(d->locks);
    *d = (struct simhv_disk){0};
}

size_t simhv_disk_file_count(const struct simhv_world *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->disk.n_entries; i++)
        if (w->disk.entries[i].cur && !w->disk.entries[i].dir)
            n++;
    return n;
}

uint64_t simhv_disk_used(const struct simhv_world *w)
{
    return w->disk.used;
}

void simhv_disk_set_capacity(struct simhv_world *w, uint64_t bytes)
{
    w->disk.capacity = bytes;
}

int simhv_disk_read(const struct simhv_world *w, const char *path, const char **ret,
                    size_t *ret_len)
{
    const struct simhv_disk_entry *e = path ? disk_get(&w->disk, path) : NULL;

    if (!e || !e->cur || e->dir)
        return -ENOENT;
    *ret = e->data ? e->data : "";
    *ret_len = e->len;
    return 0;
}

const char *simhv_disk_path_at(const struct simhv_world *w, size_t i)
{
    for (size_t k = 0; k < w->disk.n_entries; k++) {
        const struct simhv_disk_entry *e = &w->disk.entries[k];

        if (e->cur && !e->dir && i-- == 0)
            return e->path;
    }
    return NULL;
}

size_t simhv_disk_lock_count(const struct simhv_world *w)
{
    return w->disk.n_locks;
}

/* --- the store ------------------------------------------------------------------------------ */

/* Names the store makes directories for; dot-names are its temporary files. */
static bool disk_id_ok(const char *id)
{
    return id && id[0] && id[0] != '.' && !strchr(id, '/') &&
           strnlen(id, VC_ID_MAX + 1) <= VC_ID_MAX;
}

static int disk_check_ids(struct vc_ctx *ctx, const char *sid, const char *cid)
{
    if (!disk_id_ok(sid))
        return vc_err(ctx, -EINVAL, "store: invalid sandbox id '%.*s'", VC_ID_MAX, sid ? sid : "");
    if (cid && !disk_id_ok(cid))
        return vc_err(ctx, -EINVAL, "store: invalid container id '%.*s'", VC_ID_MAX, cid);
    if (cid && strcmp(cid, DISK_DOC) == 0)
        return vc_err(ctx, -EINVAL, "store: container id '%s' is reserved", cid);
    return 0;
}

_Static_assert(sizeof("sbs//") + 2 * VC_ID_MAX <= DISK_DIR_MAX, "DISK_DIR_MAX fits two ids");
_Static_assert(DISK_DIR_MAX + sizeof("/" DISK_TMP_PREFIX) + 16 <= DISK_PATH_MAX,
               "DISK_PATH_MAX fits a directory and a temporary name");

/* Appends s to the path of n bytes in buf; returns the new length. */
static size_t disk_cat(char *buf, size_t n, const char *s)
{
    size_t k = strlen(s);

    memcpy(buf + n, s, k + 1);
    return n + k;
}

/* "sbs", "sbs/<sandbox>" or "sbs/<sandbox>/<container>" into buf of DISK_DIR_MAX bytes (ids
 * checked, so it fits); returns its length. */
static size_t disk_dir(char *buf, const char *sid, const char *cid)
{
    size_t n = disk_cat(buf, 0, "sbs");

    if (sid) {
        buf[n++] = '/';
        n = disk_cat(buf, n, sid);
        if (cid) {
            buf[n++] = '/';
            n = disk_cat(buf, n, cid);
        }
    }
    return n;
}

/* The document of directory dir (n bytes) into buf of DISK_PATH_MAX bytes. */
static void disk_doc(char *buf, const char *dir, size_t n)
{
    memcpy(buf, dir, n);
    buf[n++] = '/';
    (void) disk_cat(buf, n, DISK_DOC);
}

/* Temporary file seq of directory dir (n bytes), "<dir>/.persist.json.<seq>" with seq in hex of
 * at least six digits, into buf of DISK_PATH_MAX bytes. */
static void disk_tmp(char *buf, const char *dir, size_t n, uint64_t seq)
{
    char hex[16];
    size_t k = 0;

    memcpy(buf, dir, n);
    buf[n++] = '/';
    n = disk_cat(buf, n, DISK_TMP_PREFIX);
    do {
        hex[k++] = "0123456789abcdef"[seq & 15];
        seq >>= 4;
    } while (seq || k < 6);
    while (k)
        buf[n++] = hex[--k];
    buf[n] = '\0';
}

static int disk_oom(struct vc_ctx *ctx)
{
    return vc_err(ctx, -ENOMEM, "store: out of memory");
}

/* The virtual time of one disk step; a context that died meanwhile unwinds. */
static int disk_cost(struct simhv_ctx *c, uint64_t ns)
{
    struct simhv_world *w = c->w;
    int r;

    if (c->crashed)
        return -ECANCELED;
    r = simhv_world_run_until(w, w->now + ns);
    if (r < 0)
        return vc_err(c->vc, r, "store: simulation stopped: %s", simhv_world_stop_reason(w));
    return c->crashed ? -ECANCELED : 0;
}

/* One step of a put: its cost, then its fault point. *ret_torn tells a torn write. */
static int disk_step(struct simhv_ctx *c, const char *point, bool *ret_torn)
{
    struct simhv_fault_hit hit;
    int r = disk_cost(c, c->w->opts.store_op_ns / 4);

    if (r < 0 || c->suspended || !simhv_world_fault_eval(c->w, c, point, &hit))
        return r;
    r = simhv_world_fault_apply(c->w, c, point, &hit);
    if (ret_torn)
        *ret_torn = r < 0 && hit.action == SIMHV_ACTION_TORN_WRITE;
    return r;
}

/* The error of a failed step on path; a crashed context only unwinds. */
static int disk_fail(struct simhv_ctx *c, int r, const char *what, const char *path)
{
    if (r == -ECANCELED)
        return vc_err(c->vc, r, "store: runtime died at %s of '%s'", what, path);
    return vc_err(c->vc, r, "store: cannot %s '%s': %s", what, path, vc_errno_name(r));
}

static int disk_mkdirs(struct simhv_disk *d, const char *sid, const char *cid)
{
    char dir[DISK_DIR_MAX];
    int r;

    disk_dir(dir, NULL, NULL);
    r = disk_mkdir(d, dir);
    disk_dir(dir, sid, NULL);
    if (r == 0)
        r = disk_mkdir(d, dir);
    disk_dir(dir, sid, cid);
    if (r == 0 && cid)
        r = disk_mkdir(d, dir);
    return r;
}

/* Writes and syncs the temporary file; on failure it is gone again (unless the runtime died
 * with it). */
static int disk_put_tmp(struct simhv_ctx *c, const char *tmp, const void *buf, size_t len)
{
    struct simhv_disk *d = &c->w->disk;
    bool torn = false;
    int r = disk_step(c, "disk.write", &torn);

    if (r == -ECANCELED)
        return disk_fail(c, r, "write", tmp);
    if (r < 0 && torn)
        (void) disk_write(d, tmp, buf, len / 2);
    if (r == 0) {
        r = disk_write(d, tmp, buf, len);
        if (r == -ENOSPC) {
            r = vc_err(c->vc, r,
                       "store: disk full: cannot write %zu bytes to '%s' (%" PRIu64 " of %" PRIu64
                       " bytes used)",
                       len, tmp, d->used, d->capacity);
            disk_unlink(d, tmp);
            return r;
        }
    }
    if (r < 0) {
        disk_unlink(d, tmp);
        return r == -ENOMEM ? disk_oom(c->vc) : disk_fail(c, r, "write", tmp);
    }
    r = disk_step(c, "disk.fsync", NULL);
    if (r == 0)
        r = disk_fsync_file(d, tmp);
    if (r < 0 && r != -ECANCELED)
        disk_unlink(d, tmp);
    return r < 0 ? disk_fail(c, r, "sync", tmp) : 0;
}

static int disk_put(struct vc_store *store, const char *sid, const char *cid, const void *buf,
                    size_t len)
{
    struct simhv_ctx *c = disk_of(store)->c;
    struct simhv_disk *d = &c->w->disk;
    char dir[DISK_DIR_MAX], tmp[DISK_PATH_MAX], doc[DISK_PATH_MAX];
    size_t n;
    int r;

    r = disk_check_ids(store->ctx, sid, cid);
    if (r < 0)
        return r;
    if (len > VC_STORE_DOC_MAX)
        return vc_err(store->ctx, -EFBIG, "store: document of %zu bytes is over the limit of %u",
                      len, VC_STORE_DOC_MAX);
    n = disk_dir(dir, sid, cid);
    disk_doc(doc, dir, n);
    disk_tmp(tmp, dir, n, d->tmp_seq++);
    simhv_world_trace_str(c->w, c->name, "disk", "put", doc);
    if (disk_mkdirs(d, sid, cid) < 0)
        return disk_oom(store->ctx);
    r = disk_put_tmp(c, tmp, buf, len);
    if (r < 0)
        return r;
    r = disk_step(c, "disk.rename", NULL);
    if (r == 0)
        r = disk_rename(d, tmp, doc);
    if (r < 0) {
        if (r != -ECANCELED)
            disk_unlink(d, tmp);
        return disk_fail(c, r, "write", doc);
    }
    r = disk_step(c, "disk.fsync", NULL);
    if (r < 0)
        return disk_fail(c, r, "sync", dir);
    disk_fsync_dir(d, dir);
    return 0;
}

static int disk_get_op(struct vc_store *store, const char *sid, const char *cid, char **ret,
                       size_t *ret_len)
{
    struct simhv_ctx *c = disk_of(store)->c;
    char dir[DISK_DIR_MAX], doc[DISK_PATH_MAX];
    const struct simhv_disk_entry *e;
    char *buf;
    int r;

    r = disk_check_ids(store->ctx, sid, cid);
    if (r < 0)
        return r;
    disk_doc(doc, dir, disk_dir(dir, sid, cid));
    r = disk_cost(c, c->w->opts.store_op_ns / 4);
    if (r < 0)
        return r;
    e = disk_get(&c->w->disk, doc);
    if (!e || !e->cur)
        return vc_err(store->ctx, -ENOENT, "store: no document '%s'", doc);
    if (e->len > VC_STORE_DOC_MAX)
        return vc_err(store->ctx, -EFBIG, "store: '%s' is over the limit of %u bytes", doc,
                      VC_STORE_DOC_MAX);
    buf = vc_malloc(store->ctx, e->len + 1);
    if (!buf)
        return disk_oom(store->ctx);
    if (e->len)
        memcpy(buf, e->data, e->len);
    buf[e->len] = '\0';
    *ret = buf;
    *ret_len = e->len;
    return 0;
}

static int disk_remove(struct vc_store *store, const char *sid, const char *cid)
{
    struct simhv_ctx *c = disk_of(store)->c;
    struct simhv_disk *d = &c->w->disk;
    const struct simhv_disk_entry *e;
    char dir[DISK_DIR_MAX], parent[DISK_DIR_MAX];
    int r;

    r = disk_check_ids(store->ctx, sid, cid);
    if (r < 0)
        return r;
    disk_dir(dir, sid, cid);
    disk_dir(parent, cid ? sid : NULL, NULL);
    e = disk_get(d, dir);
    if (!e || !e->cur)
        return vc_err(store->ctx, -ENOENT, "store: '%s' does not exist", dir);
    simhv_world_trace_str(c->w, c->name, "disk", "remove", dir);
    disk_remove_tree(d, dir);
    r = disk_step(c, "disk.fsync", NULL);
    if (r < 0)
        return disk_fail(c, r, "sync", parent);
    disk_forget_tree(d, dir);
    return 0;
}

static int disk_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The directories directly in dir that are ids, sorted (the table is sorted by path, and ids
 * under one parent sort as their paths do). */
static int disk_list_dir(struct vc_ctx *ctx, const struct simhv_disk *d, const char *dir,
                         char ***ret, size_t *ret_n)
{
    size_t dir_len = strlen(dir), n = 0, i;
    char **v = NULL;

    (void) disk_find(d, dir, &i);
    for (size_t k = i; k < d->n_entries && disk_under(d->entries[k].path, dir, dir_len); k++) {
        const struct simhv_disk_entry *e = &d->entries[k];

        if (e->dir && e->cur && disk_in_dir(e->path, dir, dir_len) &&
            disk_id_ok(e->path + dir_len + 1))
            n++;
    }
    if (n) {
        v = vc_new0(ctx, char *, n);
        if (!v)
            return disk_oom(ctx);
    }
    n = 0;
    for (size_t k = i; k < d->n_entries && disk_under(d->entries[k].path, dir, dir_len); k++) {
        const struct simhv_disk_entry *e = &d->entries[k];

        if (!e->dir || !e->cur || !disk_in_dir(e->path, dir, dir_len) ||
            !disk_id_ok(e->path + dir_len + 1))
            continue;
        v[n] = vc_strdup(ctx, e->path + dir_len + 1);
        if (!v[n]) {
            vc_strv_free(ctx, v, n);
            return disk_oom(ctx);
        }
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), disk_strcmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

static int disk_list(struct vc_store *store, const char *sid, char ***ret, size_t *ret_n)
{
    struct simhv_ctx *c = disk_of(store)->c;
    const struct simhv_disk_entry *e;
    char dir[DISK_DIR_MAX];
    int r;

    r = sid ? disk_check_ids(store->ctx, sid, NULL) : 0;
    if (r < 0)
        return r;
    r = disk_cost(c, c->w->opts.store_op_ns / 4);
    if (r < 0)
        return r;
    disk_dir(dir, sid, NULL);
    e = disk_get(&c->w->disk, dir);
    if (!e || !e->cur) {
        if (sid)
            return vc_err(store->ctx, -ENOENT, "store: sandbox '%s' does not exist", sid);
        *ret = NULL; /* nothing was ever stored */
        *ret_n = 0;
        return 0;
    }
    return disk_list_dir(store->ctx, &c->w->disk, dir, ret, ret_n);
}

/* The holder a request would wait for, or NULL. */
static const struct simhv_disk_lock *disk_lock_conflict(const struct simhv_disk *d, const char *sid,
                                                        bool exclusive)
{
    for (size_t i = 0; i < d->n_locks; i++) {
        const struct simhv_disk_lock *l = d->locks[i];

        if (strcmp(l->sandbox_id, sid) == 0 && (exclusive || l->exclusive))
            return l;
    }
    return NULL;
}

static int disk_lock_push(struct simhv_disk *d, struct simhv_disk_lock *l)
{
    if (d->n_locks == d->cap_locks) {
        size_t cap = d->cap_locks ? d->cap_locks * 2 : 8;
        struct simhv_disk_lock **v = realloc(d->locks, cap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        d->locks = v;
        d->cap_locks = cap;
    }
    d->locks[d->n_locks++] = l;
    return 0;
}

static int disk_lock(struct vc_store *store, const char *sid, bool exclusive, bool create,
                     void **ret_token)
{
    struct simhv_ctx *c = disk_of(store)->c;
    struct simhv_disk *d = &c->w->disk;
    const struct simhv_disk_lock *held;
    const struct simhv_disk_entry *e;
    struct simhv_disk_lock *l;
    char dir[DISK_DIR_MAX];
    int r;

    r = disk_check_ids(store->ctx, sid, NULL);
    if (r < 0)
        return r;
    disk_dir(dir, sid, NULL);
    e = disk_get(d, dir);
    if ((!e || !e->cur) && !create)
        return vc_err(store->ctx, -ENOENT, "store: no sandbox at '%s'", dir);
    if ((!e || !e->cur) && disk_mkdirs(d, sid, NULL) < 0)
        return disk_oom(store->ctx);
    held = disk_lock_conflict(d, sid, exclusive);
    if (held)
        return vc_err(store->ctx, -EDEADLK,
                      "store: sandbox '%s' is locked %s by context '%s': the %s lock would "
                      "wait forever",
                      sid, held->exclusive ? "exclusively" : "shared", held->owner->name,
                      exclusive ? "exclusive" : "shared");
    l = vc_malloc(store->ctx, sizeof(*l) + strlen(sid) + 1);
    if (!l)
        return disk_oom(store->ctx);
    l->owner = c;
    l->exclusive = exclusive;
    memcpy(l->sandbox_id, sid, strlen(sid) + 1);
    if (disk_lock_push(d, l) < 0) {
        vc_free(store->ctx, l);
        return disk_oom(store->ctx);
    }
    *ret_token = l;
    return 0;
}

/* Forgets lock i of the table (the token is freed by the caller). */
static void disk_lock_drop(struct simhv_disk *d, size_t i)
{
    memmove(&d->locks[i], &d->locks[i + 1], (d->n_locks - i - 1) * sizeof(d->locks[0]));
    d->n_locks--;
}

static void disk_unlock(struct vc_store *store, void *token)
{
    struct simhv_disk *d;

    if (!token)
        return;
    d = &disk_of(store)->c->w->disk;
    for (size_t i = 0; i < d->n_locks; i++) {
        if (d->locks[i] == token) {
            disk_lock_drop(d, i);
            break;
        }
    }
    vc_free(store->ctx, token);
}

void simhv_disk_release(struct simhv_world *w, struct simhv_ctx *c)
{
    struct simhv_disk *d = &w->disk;

    for (size_t i = 0; i < d->n_locks;) {
        struct simhv_disk_lock *l = d->locks[i];

        if (l->owner != c) {
            i++;
            continue;
        }
        disk_lock_drop(d, i);
        vc_free(c->vc, l);
    }
}

static void disk_store_free(struct vc_store *store)
{
    if (!store)
        return;
    vc_free(store->ctx, disk_of(store));
}

static const struct vc_store_ops disk_store_ops = {
    .version = VC_STORE_OPS_V1,
    .name = "simdisk",
    .free = disk_store_free,
    .put = disk_put,
    .get = disk_get_op,
    .remove = disk_remove,
    .list = disk_list,
    .lock = disk_lock,
    .unlock = disk_unlock,
};

int simhv_disk_store_new(struct simhv_ctx *c, struct vc_store **ret)
{
    struct disk_store *s;

    if (!c || !c->vc || !ret)
        return -EINVAL;
    s = vc_new0(c->vc, struct disk_store, 1);
    if (!s)
        return -ENOMEM;
    *s = (struct disk_store){.base = {.ops = &disk_store_ops, .ctx = c->vc}, .c = c};
    *ret = &s->base;
    return 0;
}
