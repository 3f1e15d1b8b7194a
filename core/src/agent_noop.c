/* SPDX-License-Identifier: Apache-2.0 */
/* The noop agent (kata's noopAgent): every call succeeds with zero values and talks to nobody.
 * It implements every member, so a sandbox can run end to end without a guest. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vc/agent.h>
#include <vc/ctx.h>

#include "cleanup.h"
#include "schema.h"

struct noop_agent {
    struct vc_agent base; /* first member: what core sees */
};

/* Hands out a copy of s owned by the caller. */
static int noop_string(struct vc_agent *agent, const char *s, char **ret)
{
    char *p = vc_strdup(agent->ctx, s);

    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

/* A started process: its exec id and no pid, as kata's &Process{} with the token filled. */
static int noop_process(struct vc_agent *agent, const char *exec_id, struct vc_process *ret)
{
    char *id = vc_strdup(agent->ctx, exec_id ? exec_id : "");

    if (!id)
        return -ENOMEM;
    *ret = (struct vc_process){.exec_id = id};
    return 0;
}

static int noop_new(struct vc_ctx *ctx, struct vc_agent **ret)
{
    struct noop_agent *a = vc_new0(ctx, struct noop_agent, 1);

    if (!a)
        return -ENOMEM;
    a->base = (struct vc_agent){.ops = &vc_noop_agent_ops, .ctx = ctx};
    *ret = &a->base;
    return 0;
}

static int noop_init(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                     const struct vc_agent_config *cfg, struct vc_agent **ret)
{
    return noop_new(ctx, ret);
}

static int noop_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                     const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret)
{
    return noop_new(ctx, ret);
}

static void noop_destroy(struct vc_agent *agent)
{
    if (!agent)
        return;
    vc_free(agent->ctx, VC_CONTAINER_OF(agent, struct noop_agent, base));
}

static int noop_capabilities(struct vc_agent *agent, uint32_t *ret_caps)
{
    *ret_caps = 0;
    return 0;
}

static int noop_check(struct vc_agent *agent)
{
    return 0;
}

static bool noop_long_live_conn(struct vc_agent *agent)
{
    return false;
}

static int noop_disconnect(struct vc_agent *agent)
{
    return 0;
}

static int noop_get_agent_url(struct vc_agent *agent, char **ret_url)
{
    return noop_string(agent, "", ret_url);
}

static int noop_set_agent_url(struct vc_agent *agent, const char *url)
{
    return 0;
}

static int noop_reuse_agent(struct vc_agent *agent, struct vc_agent *other)
{
    return 0;
}

static int noop_create_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    return 0;
}

static int noop_exec(struct vc_agent *agent, const char *container_id, const char *exec_id,
                     const struct vc_process_config *cmd, struct vc_process *ret)
{
    return noop_process(agent, exec_id ? exec_id : container_id, ret);
}

static int noop_start_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    return 0;
}

static int noop_stop_sandbox(struct vc_agent *agent)
{
    return 0;
}

static int noop_create_container(struct vc_agent *agent, const struct vc_container_config *cfg,
                                 struct vc_process *ret)
{
    return noop_process(agent, cfg ? cfg->id : NULL, ret);
}

static int noop_start_container(struct vc_agent *agent, const char *container_id)
{
    return 0;
}

static int noop_stop_container(struct vc_agent *agent, const char *container_id)
{
    return 0;
}

static int noop_signal_process(struct vc_agent *agent, const char *container_id,
                               const char *exec_id, int signal, bool all)
{
    return 0;
}

static int noop_winsize_process(struct vc_agent *agent, const char *container_id,
                                const char *exec_id, uint32_t rows, uint32_t columns)
{
    return 0;
}

static int noop_write_process_stdin(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id, const void *buf, size_t len,
                                    size_t *ret_written)
{
    *ret_written = len;
    return 0;
}

static int noop_close_process_stdin(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id)
{
    return 0;
}

/* Both output streams are at end of stream from the start. */
static int noop_read_process_output(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    *ret_len = 0;
    return 0;
}

static int noop_update_container(struct vc_agent *agent, const char *container_id,
                                 const struct vc_resources *res)
{
    return 0;
}

static int noop_wait_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                             int32_t *ret_status)
{
    *ret_status = 0;
    return 0;
}

static int noop_online_cpu_mem(struct vc_agent *agent, uint32_t cpus, bool cpu_only)
{
    return 0;
}

static int noop_mem_hotplug_by_probe(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                     uint32_t block_size_mb)
{
    return 0;
}

static int noop_stats_container(struct vc_agent *agent, const char *container_id,
                                struct vc_container_stats *ret)
{
    *ret = (struct vc_container_stats){0};
    return 0;
}

static int noop_pause_container(struct vc_agent *agent, const char *container_id)
{
    return 0;
}

static int noop_resume_container(struct vc_agent *agent, const char *container_id)
{
    return 0;
}

static int noop_remove_stale_virtiofs_share_mounts(struct vc_agent *agent)
{
    return 0;
}

static int noop_configure(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                          const struct vc_agent_config *cfg)
{
    return 0;
}

static int noop_reseed_rng(struct vc_agent *agent, const void *data, size_t len)
{
    return 0;
}

/* The guest takes the interface as asked. */
static int noop_update_interface(struct vc_agent *agent, const struct vc_interface *iface,
                                 struct vc_interface *ret)
{
    struct vc_interface copy = {0};

    if (iface && vc_obj_copy(agent->ctx, &vc_schema_interface, &copy, iface) < 0)
        return -ENOMEM;
    *ret = copy;
    return 0;
}

/* Both list calls: nothing in the guest. */
static int noop_list_interfaces(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    return 0;
}

static int noop_update_ephemeral_mounts(struct vc_agent *agent, const struct vc_mount *mounts,
                                        size_t n)
{
    return 0;
}

/* The guest takes the routes as asked. */
static int noop_update_routes(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                              struct vc_route **ret, size_t *ret_n)
{
    void *v = NULL;

    if (vc_obj_array_copy(agent->ctx, &vc_schema_route, routes, n, &v) < 0)
        return -ENOMEM;
    *ret = v;
    *ret_n = v ? n : 0;
    return 0;
}

static int noop_list_routes(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    return 0;
}

static int noop_get_guest_details(struct vc_agent *agent, struct vc_guest_details *ret)
{
    *ret = (struct vc_guest_details){0};
    return 0;
}

static int noop_set_guest_date_time(struct vc_agent *agent, int64_t sec, int64_t usec)
{
    return 0;
}

static int noop_copy_file(struct vc_agent *agent, const struct vc_copy_file *file)
{
    return 0;
}

static int noop_add_swap(struct vc_agent *agent, const uint32_t *pci_path, size_t n)
{
    return 0;
}

static void noop_mark_dead(struct vc_agent *agent)
{
}

static void noop_cleanup(struct vc_agent *agent, const char *sandbox_id)
{
}

static int noop_save(struct vc_agent *agent, char **ret_state)
{
    return noop_string(agent, "{}", ret_state);
}

/* kata's noopAgent answers at once, with no container. */
static int noop_get_oom_event(struct vc_agent *agent, char **ret_container_id)
{
    return noop_string(agent, "", ret_container_id);
}

static int noop_get_agent_metrics(struct vc_agent *agent, char **ret_metrics)
{
    return noop_string(agent, "", ret_metrics);
}

static int noop_get_guest_volume_stats(struct vc_agent *agent, const char *volume_guest_path,
                                       struct vc_volume_stats *ret)
{
    *ret = (struct vc_volume_stats){0};
    return 0;
}

static int noop_resize_guest_volume(struct vc_agent *agent, const char *volume_guest_path,
                                    uint64_t size)
{
    return 0;
}

static int noop_get_iptables(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len)
{
    *ret = NULL;
    *ret_len = 0;
    return 0;
}

static int noop_set_iptables(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len)
{
    return 0;
}

static int noop_set_policy(struct vc_agent *agent, const char *policy)
{
    return 0;
}

static int noop_get_diagnostic_data(struct vc_agent *agent, const char *log_type,
                                    const char *container_id, char **ret_data)
{
    return noop_string(agent, "", ret_data);
}

static int noop_kill_container(struct vc_agent *agent, const char *container_id, int signal,
                               bool all)
{
    return 0;
}

static int noop_process_list_container(struct vc_agent *agent, const char *container_id,
                                       const struct vc_ps_options *opts, char **ret_output)
{
    return noop_string(agent, "", ret_output);
}

const struct vc_agent_ops vc_noop_agent_ops = {
    .version = VC_AGENT_OPS_V1,
    .name = "noop",
    .init = noop_init,
    .load = noop_load,
    .destroy = noop_destroy,
    .capabilities = noop_capabilities,
    .check = noop_check,
    .long_live_conn = noop_long_live_conn,
    .disconnect = noop_disconnect,
    .get_agent_url = noop_get_agent_url,
    .set_agent_url = noop_set_agent_url,
    .reuse_agent = noop_reuse_agent,
    .create_sandbox = noop_create_sandbox,
    .exec = noop_exec,
    .start_sandbox = noop_start_sandbox,
    .stop_sandbox = noop_stop_sandbox,
    .create_container = noop_create_container,
    .start_container = noop_start_container,
    .stop_container = noop_stop_container,
    .signal_process = noop_signal_process,
    .winsize_process = noop_winsize_process,
    .write_process_stdin = noop_write_process_stdin,
    .close_process_stdin = noop_close_process_stdin,
    .read_process_stdout = noop_read_process_output,
    .read_process_stderr = noop_read_process_output,
    .update_container = noop_update_container,
    .wait_process = noop_wait_process,
    .online_cpu_mem = noop_online_cpu_mem,
    .mem_hotplug_by_probe = noop_mem_hotplug_by_probe,
    .stats_container = noop_stats_container,
    .pause_container = noop_pause_container,
    .resume_container = noop_resume_container,
    .remove_stale_virtiofs_share_mounts = noop_remove_stale_virtiofs_share_mounts,
    .configure = noop_configure,
    .configure_from_grpc = noop_configure,
    .reseed_rng = noop_reseed_rng,
    .update_interface = noop_update_interface,
    .list_interfaces = noop_list_interfaces,
    .update_ephemeral_mounts = noop_update_ephemeral_mounts,
    .update_routes = noop_update_routes,
    .list_routes = noop_list_routes,
    .get_guest_details = noop_get_guest_details,
    .set_guest_date_time = noop_set_guest_date_time,
    .copy_file = noop_copy_file,
    .add_swap = noop_add_swap,
    .mark_dead = noop_mark_dead,
    .cleanup = noop_cleanup,
    .save = noop_save,
    .get_oom_event = noop_get_oom_event,
    .get_agent_metrics = noop_get_agent_metrics,
    .get_guest_volume_stats = noop_get_guest_volume_stats,
    .resize_guest_volume = noop_resize_guest_volume,
    .get_iptables = noop_get_iptables,
    .set_iptables = noop_set_iptables,
    .set_policy = noop_set_policy,
    .get_diagnostic_data = noop_get_diagnostic_data,
    .kill_container = noop_kill_container,
    .process_list_container = noop_process_list_container,
};
