/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated disk and the store over it ("simdisk"). Files live in memory with two versions:
 * what was written and what is durable. A put follows the filesystem store's protocol (write a
 * temporary file, fsync it, rename it over the document, fsync the directory), each step a fault
 * point of its own: disk.write (a torn write lands half the bytes), disk.fsync, disk.rename. A
 * host crash throws away everything not yet durable. Writes past the capacity fail with -ENOSPC.
 * Locks are per sandbox and per context: one exclusive holder or many shared; a request that
 * would have to wait can never be granted in a one-threaded world, so it fails with -EDEADLK;
 * freeing a context releases its locks, as the kernel drops a dead process's flocks. The layout
 * is the filesystem store's: sbs/<sandbox>/persist.json and sbs/<sandbox>/<container>/persist.json.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simhv_world;
struct simhv_ctx;
struct vc_store;

/* The store of context c over its world's disk (simhv_ctx_new sets it on the context). 0 or
 * -ENOMEM; freed with vc_store_free. */
int simhv_disk_store_new(struct simhv_ctx *c, struct vc_store **ret);

/* Files on the disk (temporary files included) and bytes they use. */
size_t simhv_disk_file_count(const struct simhv_world *w);
uint64_t simhv_disk_used(const struct simhv_world *w);
/* Sets the capacity in bytes (the world's option by default). */
void simhv_disk_set_capacity(struct simhv_world *w, uint64_t bytes);
/* The current content of path ("sbs/sb1/persist.json"): 0, or -ENOENT. Borrowed until the next
 * write. */
int simhv_disk_read(const struct simhv_world *w, const char *path, const char **ret,
                    size_t *ret_len);
/* Path of file i (sorted by path), for listings and checks; NULL past the end. */
const char *simhv_disk_path_at(const struct simhv_world *w, size_t i);
/* Loses everything not durable (part of a host crash). */
void simhv_disk_crash(struct simhv_world *w);
/* Locks held now, over all contexts: 0 between API calls of a clean run. */
size_t simhv_disk_lock_count(const struct simhv_world *w);
