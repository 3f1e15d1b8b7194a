/* SPDX-License-Identifier: Apache-2.0 */
/* The store wrappers: the only code that calls through a store's ops table. Each checks its
 * arguments, runs the "store.<op>" fault point, refuses a missing method with -EOPNOTSUPP and
 * logs the call at debug level. */
#include <errno.h>
#include <stddef.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/log.h>
#include <vc/store.h>

#define VC_LOG_TOPIC "store"

/* The refusal for a method the backend leaves NULL. Wrappers run their fault point before this
 * check, so a fault plan can fail an operation the backend lacks. */
static int store_unsupported(struct vc_store *store, const char *point)
{
    return vc_err(store->ctx, -EOPNOTSUPP, "store '%s' does not support '%s'",
                  store->ops->name ? store->ops->name : "?", point);
}

/* Container id for messages: the sandbox's own document has none. */
static const char *store_cid(const char *container_id)
{
    return container_id ? container_id : "";
}

void vc_store_free(struct vc_store *store)
{
    if (!store || !store->ops || !store->ops->free)
        return;
    store->ops->free(store);
}

int vc_store_put(struct vc_store *store, const char *sandbox_id, const char *container_id,
                 const void *buf, size_t len)
{
    int r;

    if (!store || !sandbox_id || (!buf && len))
        return vc_err(store ? store->ctx : NULL, -EINVAL, "store: invalid put arguments");
    r = vc_fault(store->ctx, "store.put");
    if (r < 0)
        return r;
    if (!store->ops->put)
        return store_unsupported(store, "store.put");
    vc_log(store->ctx, VC_LOG_DEBUG, "put sandbox '%s' container '%s' (%zu bytes)", sandbox_id,
           store_cid(container_id), len);
    return store->ops->put(store, sandbox_id, container_id, buf, len);
}

int vc_store_get(struct vc_store *store, const char *sandbox_id, const char *container_id,
                 char **ret, size_t *ret_len)
{
    int r;

    if (!store || !sandbox_id || !ret || !ret_len)
        return vc_err(store ? store->ctx : NULL, -EINVAL, "store: invalid get arguments");
    r = vc_fault(store->ctx, "store.get");
    if (r < 0)
        return r;
    if (!store->ops->get)
        return store_unsupported(store, "store.get");
    vc_log(store->ctx, VC_LOG_DEBUG, "get sandbox '%s' container '%s'", sandbox_id,
           store_cid(container_id));
    return store->ops->get(store, sandbox_id, container_id, ret, ret_len);
}

int vc_store_remove(struct vc_store *store, const char *sandbox_id, const char *container_id)
{
    int r;

    if (!store || !sandbox_id)
        return vc_err(store ? store->ctx : NULL, -EINVAL, "store: invalid remove arguments");
    r = vc_fault(store->ctx, "store.remove");
    if (r < 0)
        return r;
    if (!store->ops->remove)
        return store_unsupported(store, "store.remove");
    vc_log(store->ctx, VC_LOG_DEBUG, "remove sandbox '%s' container '%s'", sandbox_id,
           store_cid(container_id));
    return store->ops->remove(store, sandbox_id, container_id);
}

int vc_store_list(struct vc_store *store, const char *sandbox_id, char ***ret, size_t *ret_n)
{
    int r;

    if (!store || !ret || !ret_n)
        return vc_err(store ? store->ctx : NULL, -EINVAL, "store: invalid list arguments");
    r = vc_fault(store->ctx, "store.list");
    if (r < 0)
        return r;
    if (!store->ops->list)
        return store_unsupported(store, "store.list");
    vc_log(store->ctx, VC_LOG_DEBUG, "list sandbox '%s'", sandbox_id ? sandbox_id : "");
    return store->ops->list(store, sandbox_id, ret, ret_n);
}

int vc_store_lock(struct vc_store *store, const char *sandbox_id, bool exclusive, bool create,
                  void **ret_token)
{
    int r;

    if (!store || !sandbox_id || !ret_token)
        return vc_err(store ? store->ctx : NULL, -EINVAL, "store: invalid lock arguments");
    r = vc_fault(store->ctx, "store.lock");
    if (r < 0)
        return r;
    if (!store->ops->lock)
        return store_unsupported(store, "store.lock");
    vc_log(store->ctx, VC_LOG_DEBUG, "lock sandbox '%s' %s%s", sandbox_id,
           exclusive ? "exclusive" : "shared", create ? " create" : "");
    return store->ops->lock(store, sandbox_id, exclusive, create, ret_token);
}

void vc_store_unlock(struct vc_store *store, void *token)
{
    if (!store || !token || !store->ops->unlock)
        return;
    vc_log(store->ctx, VC_LOG_DEBUG, "unlock");
    store->ops->unlock(store, token);
}

void vc_strv_free(struct vc_ctx *ctx, char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        vc_free(ctx, v[i]);
    vc_free(ctx, v);
}
