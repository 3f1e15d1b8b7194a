/* SPDX-License-Identifier: Apache-2.0 */
/* The store: where sandbox and container documents persist, and the per-sandbox lock. The
 * filesystem store is the real one; a simulated disk implements the same table. Documents are
 * opaque bytes here (the core writes JSON); a put is atomic: after a crash a reader sees the
 * old document or the new one, never a mix. Only core/src/store.c calls through the table;
 * the wrappers run the "store.<op>" fault points. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct vc_ctx;
struct vc_store;

#define VC_STORE_OPS_V1  1u
#define VC_STORE_DOC_MAX (4u << 20) /* largest document a store accepts or returns */

struct vc_store_ops {
    unsigned version; /* VC_STORE_OPS_V1; members are only ever appended */
    const char *name; /* "fs", "simdisk" */

    void (*free)(struct vc_store *store); /* NULL-safe */
    /* Writes the document of a sandbox (container_id NULL) or of one of its containers,
     * atomically, creating directories as needed. */
    int (*put)(struct vc_store *store, const char *sandbox_id, const char *container_id,
               const void *buf, size_t len);
    /* Reads a document: -ENOENT if absent, -EFBIG if over VC_STORE_DOC_MAX. *ret is owned by
     * the caller (vc_free), NUL-terminated past len. */
    int (*get)(struct vc_store *store, const char *sandbox_id, const char *container_id, char **ret,
               size_t *ret_len);
    /* Removes a container's document, or with container_id NULL the whole sandbox (its
     * document, its containers). -ENOENT if absent. */
    int (*remove)(struct vc_store *store, const char *sandbox_id, const char *container_id);
    /* Lists stored sandbox ids (sandbox_id NULL) or a sandbox's container ids, sorted. *ret is
     * an array of *ret_n strings, freed with vc_strv_free(ctx, ret, n). */
    int (*list)(struct vc_store *store, const char *sandbox_id, char ***ret, size_t *ret_n);
    /* Takes the sandbox's lock, shared or exclusive, blocking (flock on the sandbox directory in
     * the filesystem store); create makes the sandbox's place first. *ret_token is handed back to
     * unlock. -ENOENT if the sandbox does not exist and create is false. */
    int (*lock)(struct vc_store *store, const char *sandbox_id, bool exclusive, bool create,
                void **ret_token);
    void (*unlock)(struct vc_store *store, void *token); /* NULL-safe */
};

/* The base every store embeds as its first member. */
struct vc_store {
    const struct vc_store_ops *ops; /* the backend */
    struct vc_ctx *ctx;             /* the context it was made with (borrowed) */
};

/* The filesystem store rooted at root (NULL: $VC_ROOT, else /run/vc when running as root, else
 * $XDG_RUNTIME_DIR/vc). Layout: <root>/sbs/<sandbox>/persist.json and
 * <root>/sbs/<sandbox>/<container>/persist.json; directories 0700, files 0600; puts go through
 * a temporary file, fsync, rename and an fsync of the directory. 0, -EINVAL (no usable root),
 * -ENOMEM. */
int vc_store_fs_new(struct vc_ctx *ctx, const char *root, struct vc_store **ret);

/* The root directory a filesystem store uses (borrowed), for messages and tools. */
const char *vc_store_fs_root(const struct vc_store *store);

/* Wrappers (only these call through the table). */
void vc_store_free(struct vc_store *store);
int vc_store_put(struct vc_store *store, const char *sandbox_id, const char *container_id,
                 const void *buf, size_t len);
int vc_store_get(struct vc_store *store, const char *sandbox_id, const char *container_id,
                 char **ret, size_t *ret_len);
int vc_store_remove(struct vc_store *store, const char *sandbox_id, const char *container_id);
int vc_store_list(struct vc_store *store, const char *sandbox_id, char ***ret, size_t *ret_n);
int vc_store_lock(struct vc_store *store, const char *sandbox_id, bool exclusive, bool create,
                  void **ret_token);
void vc_store_unlock(struct vc_store *store, void *token);

/* Frees an array of n strings made with the context's allocator. NULL-safe. */
void vc_strv_free(struct vc_ctx *ctx, char **v, size_t n);
