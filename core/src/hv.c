/* SPDX-License-Identifier: Apache-2.0 */
/* The hypervisor wrappers: the only code that calls through struct vc_hv_ops. Each one checks
 * the handle, runs its fault point, refuses a NULL member and logs at debug level.
 *
 * Fault points, one per member: hv.create hv.load hv.start hv.stop hv.pause hv.resume hv.save
 * hv.hotplug_add hv.hotplug_remove hv.resize_memory hv.resize_vcpus hv.console hv.pids hv.check
 * hv.cleanup hv.capabilities hv.agent_endpoint hv.save_state hv.query. destroy has none. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/log.h>

#define VC_LOG_TOPIC "hv"

/* Whether hv (possibly NULL) implements member; the wrappers pass it to hv_enter. */
#define HV_HAS(hv, member) ((hv) != NULL && (hv)->ops->member != NULL)

/* The checks every wrapper makes before calling through; point is "hv.<op>". */
static int hv_enter(struct vc_hv *hv, const char *point, bool supported)
{
    const char *method = point + strlen("hv.");
    int r;

    if (!hv)
        return -EINVAL;
    assert(hv->ops && hv->ctx);
    r = vc_fault(hv->ctx, point);
    if (r != 0)
        return r;
    if (!supported)
        return vc_err(hv->ctx, -EOPNOTSUPP, "hypervisor '%s' does not support %s", hv->ops->name,
                      method);
    vc_log(hv->ctx, VC_LOG_DEBUG, "%s", method);
    return 0;
}

/* The checks of the factories, before the backend is asked for a handle. */
static int hv_enter_backend(struct vc_ctx *ctx, const struct vc_hv_backend *be, const char *point,
                            bool supported, struct vc_hv **ret)
{
    const char *method = point + strlen("hv.");
    int r;

    if (!ctx || !be || !be->ops || !ret)
        return vc_err(ctx, -EINVAL, "hypervisor %s: missing backend or argument", method);
    r = vc_fault(ctx, point);
    if (r != 0)
        return r;
    if (!supported)
        return vc_err(ctx, -EOPNOTSUPP, "hypervisor '%s' does not support %s", be->ops->name,
                      method);
    vc_log(ctx, VC_LOG_DEBUG, "%s", method);
    return 0;
}

/* Completes what a factory returned: the base must point at its ops and context. */
static int hv_made(struct vc_ctx *ctx, const struct vc_hv_backend *be, struct vc_hv *hv,
                   struct vc_hv **ret)
{
    if (!hv)
        return vc_err(ctx, -EPROTO, "hypervisor '%s' returned no handle", be->ops->name);
    if (!hv->ops)
        hv->ops = be->ops;
    if (!hv->ctx)
        hv->ctx = ctx;
    *ret = hv;
    return 0;
}

int vc_hv_create(struct vc_ctx *ctx, const struct vc_hv_backend *be, const char *sandbox_id,
                 const struct vc_hv_config *cfg, struct vc_hv **ret)
{
    struct vc_hv *hv = NULL;
    int r;

    r = hv_enter_backend(ctx, be, "hv.create", be && be->ops && be->ops->create, ret);
    if (r != 0)
        return r;
    r = be->ops->create(ctx, be->data, sandbox_id, cfg, &hv);
    if (r < 0)
        return r;
    return hv_made(ctx, be, hv, ret);
}

int vc_hv_load(struct vc_ctx *ctx, const struct vc_hv_backend *be, const char *sandbox_id,
               const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret)
{
    struct vc_hv *hv = NULL;
    int r;

    r = hv_enter_backend(ctx, be, "hv.load", be && be->ops && be->ops->load, ret);
    if (r != 0)
        return r;
    r = be->ops->load(ctx, be->data, sandbox_id, cfg, state, &hv);
    if (r < 0)
        return r;
    return hv_made(ctx, be, hv, ret);
}

void vc_hv_free(struct vc_hv *hv)
{
    if (hv && hv->ops->destroy)
        hv->ops->destroy(hv);
}

int vc_hv_start(struct vc_hv *hv, uint32_t timeout_ms)
{
    int r = hv_enter(hv, "hv.start", HV_HAS(hv, start));

    if (r != 0)
        return r;
    return hv->ops->start(hv, timeout_ms);
}

int vc_hv_stop(struct vc_hv *hv, bool wait_only)
{
    int r = hv_enter(hv, "hv.stop", HV_HAS(hv, stop));

    if (r != 0)
        return r;
    return hv->ops->stop(hv, wait_only);
}

int vc_hv_pause(struct vc_hv *hv)
{
    int r = hv_enter(hv, "hv.pause", HV_HAS(hv, pause));

    if (r != 0)
        return r;
    return hv->ops->pause(hv);
}

int vc_hv_resume(struct vc_hv *hv)
{
    int r = hv_enter(hv, "hv.resume", HV_HAS(hv, resume));

    if (r != 0)
        return r;
    return hv->ops->resume(hv);
}

int vc_hv_save(struct vc_hv *hv)
{
    int r = hv_enter(hv, "hv.save", HV_HAS(hv, save));

    if (r != 0)
        return r;
    return hv->ops->save(hv);
}

int vc_hv_hotplug_add(struct vc_hv *hv, struct vc_device *dev)
{
    int r = hv_enter(hv, "hv.hotplug_add", HV_HAS(hv, hotplug_add));

    if (r != 0)
        return r;
    return hv->ops->hotplug_add(hv, dev);
}

int vc_hv_hotplug_remove(struct vc_hv *hv, struct vc_device *dev)
{
    int r = hv_enter(hv, "hv.hotplug_remove", HV_HAS(hv, hotplug_remove));

    if (r != 0)
        return r;
    return hv->ops->hotplug_remove(hv, dev);
}

int vc_hv_resize_memory(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                        uint32_t *ret_mb, struct vc_device *ret_dev)
{
    int r = hv_enter(hv, "hv.resize_memory", HV_HAS(hv, resize_memory));

    if (r != 0)
        return r;
    return hv->ops->resize_memory(hv, req_mb, block_mb, probe, ret_mb, ret_dev);
}

int vc_hv_resize_vcpus(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new)
{
    int r = hv_enter(hv, "hv.resize_vcpus", HV_HAS(hv, resize_vcpus));

    if (r != 0)
        return r;
    return hv->ops->resize_vcpus(hv, req, ret_old, ret_new);
}

int vc_hv_console(struct vc_hv *hv, char **ret_url)
{
    int r = hv_enter(hv, "hv.console", HV_HAS(hv, console));

    if (r != 0)
        return r;
    return hv->ops->console(hv, ret_url);
}

int vc_hv_pids(struct vc_hv *hv, int32_t **ret, size_t *ret_n)
{
    int r = hv_enter(hv, "hv.pids", HV_HAS(hv, pids));

    if (r != 0)
        return r;
    return hv->ops->pids(hv, ret, ret_n);
}

int vc_hv_check(struct vc_hv *hv)
{
    int r = hv_enter(hv, "hv.check", HV_HAS(hv, check));

    if (r != 0)
        return r;
    return hv->ops->check(hv);
}

int vc_hv_cleanup(struct vc_hv *hv)
{
    int r = hv_enter(hv, "hv.cleanup", HV_HAS(hv, cleanup));

    if (r != 0)
        return r;
    return hv->ops->cleanup(hv);
}

int vc_hv_capabilities(struct vc_hv *hv, uint32_t *ret_caps)
{
    int r = hv_enter(hv, "hv.capabilities", HV_HAS(hv, capabilities));

    if (r != 0)
        return r;
    return hv->ops->capabilities(hv, ret_caps);
}

int vc_hv_agent_endpoint(struct vc_hv *hv, char **ret_url)
{
    int r = hv_enter(hv, "hv.agent_endpoint", HV_HAS(hv, agent_endpoint));

    if (r != 0)
        return r;
    return hv->ops->agent_endpoint(hv, ret_url);
}

int vc_hv_save_state(struct vc_hv *hv, char **ret_state)
{
    int r = hv_enter(hv, "hv.save_state", HV_HAS(hv, save_state));

    if (r != 0)
        return r;
    return hv->ops->save_state(hv, ret_state);
}

int vc_hv_query(struct vc_hv *hv, struct vc_vm_info *ret)
{
    int r = hv_enter(hv, "hv.query", HV_HAS(hv, query));

    if (r != 0)
        return r;
    return hv->ops->query(hv, ret);
}

const char *vc_vm_state_to_string(enum vc_vm_state state)
{
    static const char *const names[VC_VM_STATE_LAST] = {
        [VC_VM_STATE_CREATED] = "created",
        [VC_VM_STATE_RUNNING] = "running",
        [VC_VM_STATE_PAUSED] = "paused",
        [VC_VM_STATE_STOPPED] = "stopped",
    };

    if ((unsigned) state >= VC_VM_STATE_LAST)
        return "invalid";
    return names[state];
}
