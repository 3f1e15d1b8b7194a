/* SPDX-License-Identifier: Apache-2.0 */
/* Sandbox-wide calls into the VM and the guest: device hotplug, interfaces and routes, and the
 * guest services of kata's VCSandbox (OOM events, metrics, volumes, iptables, policy,
 * diagnostics, guest details and clock, files, swap, ephemeral mounts). */
#include <errno.h>
#include <string.h>

#include "schema.h"
#include "sandbox.h"

#define VC_LOG_TOPIC "guest"

#define GUEST_MAX_DEVICES 4096u /* most devices one sandbox records */

/* Opens a running sandbox and its agent: the start of every guest service call. */
static int guest_open(struct vc_ctx *ctx, const char *sid, const char *op, bool exclusive,
                      struct vc_sandbox **ret_sb, struct vc_agent **ret_agent)
{
    struct vc_sandbox *sb;
    int r;

    r = vc_sb_open(ctx, sid, exclusive, &sb);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, op, VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_sb_agent(sb, ret_agent);
    if (r < 0) {
        vc_sb_free(sb);
        return r;
    }
    *ret_sb = sb;
    return 0;
}

/* --- devices ------------------------------------------------------------------------------- */

static int guest_record_device(struct vc_sandbox *sb, const struct vc_device *dev)
{
    struct vc_device *v;

    if (sb->doc.n_devices >= GUEST_MAX_DEVICES)
        return vc_err(sb->ctx, -ENOSPC, "sandbox '%s' has too many devices", sb->id);
    v = vc_realloc(sb->ctx, sb->doc.devices, (sb->doc.n_devices + 1) * sizeof(*v));
    if (!v)
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    sb->doc.devices = v;
    if (vc_obj_copy(sb->ctx, &vc_schema_device, &v[sb->doc.n_devices], dev) < 0)
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    sb->doc.n_devices++;
    return 0;
}

/* Accounts a hotplugged vCPU or DIMM and has the guest online it. */
static int guest_online(struct vc_sandbox *sb, struct vc_agent *agent, const struct vc_device *dev)
{
    if (dev->type == VC_DEVICE_CPU) {
        sb->doc.vcpus += dev->cpus;
        return vc_sb_online(sb, agent, dev->cpus, NULL);
    }
    sb->doc.memory_mb += dev->size_mb;
    return vc_sb_online(sb, agent, 0, dev);
}

int vc_sandbox_add_device(struct vc_ctx *ctx, const char *sandbox_id, const struct vc_device *dev)
{
    struct vc_device copy = {0};
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    int r;

    if (!dev || dev->type < 0 || dev->type >= VC_DEVICE_TYPE_LAST)
        return vc_err(ctx, -EINVAL, "invalid device");
    if (dev->type != VC_DEVICE_CPU && dev->type != VC_DEVICE_MEMORY &&
        vc_id_validate(ctx, "device", dev->id) < 0)
        return vc_ctx_errcode(ctx);
    r = guest_open(ctx, sandbox_id, "add device", true, &sb, &agent);
    if (r < 0)
        return r;
    if (vc_obj_copy(ctx, &vc_schema_device, &copy, dev) < 0)
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r >= 0)
        r = vc_sb_hv(sb, &hv);
    if (r >= 0)
        r = vc_hv_hotplug_add(hv, &copy);
    if (r >= 0 && (copy.type == VC_DEVICE_CPU || copy.type == VC_DEVICE_MEMORY))
        r = guest_online(sb, agent, &copy);
    else if (r >= 0)
        r = guest_record_device(sb, &copy);
    vc_device_clear(ctx, &copy);
    return vc_sb_finish(sb, r);
}

/* --- network ------------------------------------------------------------------------------- */

static int guest_set_interface(struct vc_sandbox *sb, const struct vc_interface *iface)
{
    struct vc_interface *v;
    size_t i;

    for (i = 0; i < sb->doc.n_interfaces; i++)
        if (sb->doc.interfaces[i].name && iface->name &&
            strcmp(sb->doc.interfaces[i].name, iface->name) == 0)
            break;
    if (i == sb->doc.n_interfaces) {
        v = vc_realloc(sb->ctx, sb->doc.interfaces, (i + 1) * sizeof(*v));
        if (!v)
            return vc_err(sb->ctx, -ENOMEM, "out of memory");
        sb->doc.interfaces = v;
        sb->doc.n_interfaces++;
    } else {
        vc_interface_clear(sb->ctx, &sb->doc.interfaces[i]);
    }
    if (vc_obj_copy(sb->ctx, &vc_schema_interface, &sb->doc.interfaces[i], iface) < 0) {
        memmove(&sb->doc.interfaces[i], &sb->doc.interfaces[i + 1],
                (--sb->doc.n_interfaces - i) * sizeof(*v));
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    }
    return 0;
}

int vc_sandbox_add_interface(struct vc_ctx *ctx, const char *sandbox_id,
                             const struct vc_interface *iface, struct vc_interface *ret)
{
    struct vc_interface out = {0};
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!iface || !iface->name || !*iface->name || !ret)
        return vc_err(ctx, -EINVAL, "interface needs a name");
    r = guest_open(ctx, sandbox_id, "add interface", true, &sb, &agent);
    if (r < 0)
        return r;
    r = vc_agent_update_interface(agent, iface, &out);
    if (r >= 0)
        r = guest_set_interface(sb, out.name ? &out : iface);
    r = vc_sb_finish(sb, r);
    if (r < 0) {
        vc_interface_clear(ctx, &out);
        return r;
    }
    *ret = out;
    return 0;
}

int vc_sandbox_remove_interface(struct vc_ctx *ctx, const char *sandbox_id, const char *name)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    int r;

    if (!name)
        return vc_err(ctx, -EINVAL, "interface needs a name");
    r = guest_open(ctx, sandbox_id, "remove interface", true, &sb, &agent);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (size_t i = 0; i < sb->doc.n_interfaces; i++) {
        if (!sb->doc.interfaces[i].name || strcmp(sb->doc.interfaces[i].name, name) != 0)
            continue;
        vc_interface_clear(ctx, &sb->doc.interfaces[i]);
        memmove(&sb->doc.interfaces[i], &sb->doc.interfaces[i + 1],
                (sb->doc.n_interfaces - i - 1) * sizeof(sb->doc.interfaces[0]));
        sb->doc.n_interfaces--;
        r = 0;
        break;
    }
    if (r < 0)
        return vc_sb_finish(sb, vc_err(ctx, -ENOENT, "interface '%s' does not exist", name));
    /* A NIC hotplugged for this interface goes with it. */
    for (size_t i = 0; r >= 0 && i < sb->doc.n_devices; i++) {
        struct vc_device *d = &sb->doc.devices[i];
        if (d->type != VC_DEVICE_NET || !d->ifname || strcmp(d->ifname, name) != 0)
            continue;
        r = vc_sb_hv(sb, &hv);
        if (r >= 0)
            r = vc_hv_hotplug_remove(hv, d);
        if (r >= 0) {
            vc_device_clear(ctx, d);
            memmove(d, d + 1, (sb->doc.n_devices - i - 1) * sizeof(*d));
            sb->doc.n_devices--;
        }
        break;
    }
    return vc_sb_finish(sb, r);
}

int vc_sandbox_list_interfaces(struct vc_ctx *ctx, const char *sandbox_id,
                               struct vc_interface **ret, size_t *ret_n)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret || !ret_n)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "list interfaces", false, &sb, &agent);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_agent_list_interfaces(agent, ret, ret_n));
}

int vc_sandbox_update_routes(struct vc_ctx *ctx, const char *sandbox_id,
                             const struct vc_route *routes, size_t n, struct vc_route **ret,
                             size_t *ret_n)
{
    struct vc_route *out = NULL, *copy = NULL;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    size_t n_out = 0;
    int r;

    if ((!routes && n) || !ret || !ret_n)
        return vc_err(ctx, -EINVAL, "no routes");
    r = guest_open(ctx, sandbox_id, "update routes", true, &sb, &agent);
    if (r < 0)
        return r;
    r = vc_agent_update_routes(agent, routes, n, &out, &n_out);
    if (r >= 0 && vc_obj_array_copy(ctx, &vc_schema_route, out, n_out, (void **) &copy) < 0)
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r >= 0) {
        vc_routes_free(ctx, sb->doc.routes, sb->doc.n_routes);
        sb->doc.routes = copy;
        sb->doc.n_routes = n_out;
    }
    r = vc_sb_finish(sb, r);
    if (r < 0) {
        vc_routes_free(ctx, out, n_out);
        return r;
    }
    *ret = out;
    *ret_n = n_out;
    return 0;
}

int vc_sandbox_list_routes(struct vc_ctx *ctx, const char *sandbox_id, struct vc_route **ret,
                           size_t *ret_n)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret || !ret_n)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "list routes", false, &sb, &agent);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_agent_list_routes(agent, ret, ret_n));
}

/* --- guest services -------------------------------------------------------------------------- */

/* Each service: open shared (or exclusive), check running, call one agent method, close. The
 * macro-free form keeps the state checks visible per call. */

int vc_sandbox_get_oom_event(struct vc_ctx *ctx, const char *sandbox_id, char **ret)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "get oom event", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_get_oom_event(agent, ret));
}

int vc_sandbox_get_agent_metrics(struct vc_ctx *ctx, const char *sandbox_id, char **ret)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "get agent metrics", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_get_agent_metrics(agent, ret));
}

int vc_sandbox_guest_volume_stats(struct vc_ctx *ctx, const char *sandbox_id,
                                  const char *volume_path, struct vc_volume_stats *ret)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!volume_path || volume_path[0] != '/' || !ret)
        return vc_err(ctx, -EINVAL, "volume path must be absolute");
    r = guest_open(ctx, sandbox_id, "get volume stats", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_get_guest_volume_stats(agent, volume_path, ret));
}

int vc_sandbox_resize_guest_volume(struct vc_ctx *ctx, const char *sandbox_id,
                                   const char *volume_path, uint64_t size)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!volume_path || volume_path[0] != '/')
        return vc_err(ctx, -EINVAL, "volume path must be absolute");
    r = guest_open(ctx, sandbox_id, "resize volume", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_resize_guest_volume(agent, volume_path, size));
}

int vc_sandbox_get_iptables(struct vc_ctx *ctx, const char *sandbox_id, bool ipv6, uint8_t **ret,
                            size_t *ret_len)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret || !ret_len)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "get iptables", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_get_iptables(agent, ipv6, ret, ret_len));
}

int vc_sandbox_set_iptables(struct vc_ctx *ctx, const char *sandbox_id, bool ipv6,
                            const uint8_t *data, size_t len)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!data && len)
        return vc_err(ctx, -EINVAL, "no iptables data");
    r = guest_open(ctx, sandbox_id, "set iptables", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_set_iptables(agent, ipv6, data, len));
}

int vc_sandbox_set_policy(struct vc_ctx *ctx, const char *sandbox_id, const char *policy)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!policy)
        return vc_err(ctx, -EINVAL, "no policy");
    r = guest_open(ctx, sandbox_id, "set policy", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_set_policy(agent, policy));
}

int vc_sandbox_get_diagnostic_data(struct vc_ctx *ctx, const char *sandbox_id, const char *log_type,
                                   const char *container_id, char **ret)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!log_type || !*log_type || !ret)
        return vc_err(ctx, -EINVAL, "diagnostic data needs a log type");
    if (container_id && *container_id && vc_id_validate(ctx, "container", container_id) < 0)
        return vc_ctx_errcode(ctx);
    r = guest_open(ctx, sandbox_id, "get diagnostic data", false, &sb, &agent);
    return r < 0
               ? r
               : vc_sb_finish(sb, vc_agent_get_diagnostic_data(agent, log_type, container_id, ret));
}

int vc_sandbox_guest_details(struct vc_ctx *ctx, const char *sandbox_id,
                             struct vc_guest_details *ret)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = guest_open(ctx, sandbox_id, "get guest details", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_get_guest_details(agent, ret));
}

int vc_sandbox_set_guest_date_time(struct vc_ctx *ctx, const char *sandbox_id)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int64_t now;
    int r;

    r = guest_open(ctx, sandbox_id, "set guest time", false, &sb, &agent);
    if (r < 0)
        return r;
    now = vc_wall_now(ctx);
    r = vc_agent_set_guest_date_time(agent, now / 1000000000, (now % 1000000000) / 1000);
    return vc_sb_finish(sb, r);
}

/* Absolute, no empty, "." or ".." components (kata's agent refuses anything else). */
static bool guest_path_canonical(const char *p)
{
    if (p[0] != '/')
        return false;
    while (*p) {
        const char *c = p + 1, *end = strchr(c, '/');
        size_t len = end ? (size_t) (end - c) : strlen(c);

        if ((len == 0 && end) || (len == 1 && c[0] == '.') ||
            (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        p = c + len;
    }
    return true;
}

int vc_sandbox_copy_file(struct vc_ctx *ctx, const char *sandbox_id,
                         const struct vc_copy_file *file)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!file || !file->path || file->path[0] != '/' || (!file->data && file->size))
        return vc_err(ctx, -EINVAL, "copy file needs an absolute guest path");
    if (!guest_path_canonical(file->path))
        return vc_err(ctx, -EINVAL, "guest path '%s' is not canonical", file->path);
    r = guest_open(ctx, sandbox_id, "copy file", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_copy_file(agent, file));
}

int vc_sandbox_add_swap(struct vc_ctx *ctx, const char *sandbox_id, const uint32_t *pci_path,
                        size_t n)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!pci_path || !n)
        return vc_err(ctx, -EINVAL, "swap needs a pci path");
    r = guest_open(ctx, sandbox_id, "add swap", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_add_swap(agent, pci_path, n));
}

int vc_sandbox_update_ephemeral_mounts(struct vc_ctx *ctx, const char *sandbox_id,
                                       const struct vc_mount *mounts, size_t n)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!mounts && n)
        return vc_err(ctx, -EINVAL, "no mounts");
    r = guest_open(ctx, sandbox_id, "update ephemeral mounts", false, &sb, &agent);
    return r < 0 ? r : vc_sb_finish(sb, vc_agent_update_ephemeral_mounts(agent, mounts, n));
}
