/* SPDX-License-Identifier: Apache-2.0 */
/* The agent wrappers: the only code that calls through struct vc_agent_ops. Each one checks the
 * agent, fails fast when it is dead, runs its fault point, refuses a NULL member and logs.
 *
 * Fault points, one per member: kata's Go method name (vc/agent.go) capitalised, except the stdio
 * calls, which carry their RPC names (ReadStdout, ReadStderr, WriteStdin, CloseStdin):
 *   agent.init agent.load agent.Capabilities agent.Check agent.Disconnect agent.GetAgentURL
 *   agent.SetAgentURL agent.ReuseAgent agent.CreateSandbox agent.Exec agent.StartSandbox
 *   agent.StopSandbox agent.CreateContainer agent.StartContainer agent.StopContainer
 *   agent.SignalProcess agent.WinsizeProcess agent.WriteStdin agent.CloseStdin agent.ReadStdout
 *   agent.ReadStderr agent.UpdateContainer agent.WaitProcess agent.OnlineCPUMem
 *   agent.MemHotplugByProbe agent.StatsContainer agent.PauseContainer agent.ResumeContainer
 *   agent.RemoveStaleVirtiofsShareMounts agent.Configure agent.ConfigureFromGrpc agent.ReseedRNG
 *   agent.UpdateInterface agent.ListInterfaces agent.UpdateEphemeralMounts agent.UpdateRoutes
 *   agent.ListRoutes agent.GetGuestDetails agent.SetGuestDateTime agent.CopyFile agent.AddSwap
 *   agent.Save agent.GetOOMEvent agent.GetAgentMetrics agent.GetGuestVolumeStats
 *   agent.ResizeGuestVolume agent.GetIPTables agent.SetIPTables agent.SetPolicy
 *   agent.GetDiagnosticData agent.KillContainer agent.ProcessListContainer
 * destroy, long_live_conn, mark_dead and cleanup have none: they cannot report a failure.
 * disconnect and save, like those four, also run on a dead agent. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/log.h>

#define VC_LOG_TOPIC "agent"

/* Whether agent (possibly NULL) implements member; the wrappers pass it to agent_enter. */
#define AGENT_HAS(agent, member) ((agent) != NULL && (agent)->ops->member != NULL)

/* The checks every wrapper makes before calling through; point is "agent.<Method>". */
static int agent_dispatch(struct vc_agent *agent, const char *point, bool supported, bool live_only)
{
    const char *method = point + strlen("agent.");
    int r;

    if (!agent)
        return -EINVAL;
    assert(agent->ops && agent->ctx);
    if (live_only && agent->dead)
        return vc_err(agent->ctx, -ENOTCONN, "agent is dead");
    r = vc_fault(agent->ctx, point);
    if (r != 0)
        return r;
    if (!supported)
        return vc_err(agent->ctx, -EOPNOTSUPP, "agent '%s' does not support %s", agent->ops->name,
                      method);
    vc_log(agent->ctx, VC_LOG_DEBUG, "%s", method);
    return 0;
}

static int agent_enter(struct vc_agent *agent, const char *point, bool supported)
{
    return agent_dispatch(agent, point, supported, true);
}

/* The checks of the factories, before the backend is asked for an agent. */
static int agent_enter_backend(struct vc_ctx *ctx, const struct vc_agent_backend *be,
                               const char *point, bool supported, struct vc_agent **ret)
{
    const char *method = point + strlen("agent.");
    int r;

    if (!ctx || !be || !be->ops || !ret)
        return vc_err(ctx, -EINVAL, "agent %s: missing backend or argument", method);
    r = vc_fault(ctx, point);
    if (r != 0)
        return r;
    if (!supported)
        return vc_err(ctx, -EOPNOTSUPP, "agent '%s' does not support %s", be->ops->name, method);
    vc_log(ctx, VC_LOG_DEBUG, "%s", method);
    return 0;
}

/* Completes what a factory returned: the base must point at its ops and context. */
static int agent_made(struct vc_ctx *ctx, const struct vc_agent_backend *be, struct vc_agent *agent,
                      struct vc_agent **ret)
{
    if (!agent)
        return vc_err(ctx, -EPROTO, "agent '%s' returned no agent", be->ops->name);
    if (!agent->ops)
        agent->ops = be->ops;
    if (!agent->ctx)
        agent->ctx = ctx;
    *ret = agent;
    return 0;
}

int vc_agent_init(struct vc_ctx *ctx, const struct vc_agent_backend *be, const char *sandbox_id,
                  const struct vc_agent_config *cfg, struct vc_agent **ret)
{
    struct vc_agent *agent = NULL;
    int r;

    r = agent_enter_backend(ctx, be, "agent.init", be && be->ops && be->ops->init, ret);
    if (r != 0)
        return r;
    r = be->ops->init(ctx, be->data, sandbox_id, cfg, &agent);
    if (r < 0)
        return r;
    return agent_made(ctx, be, agent, ret);
}

int vc_agent_load(struct vc_ctx *ctx, const struct vc_agent_backend *be, const char *sandbox_id,
                  const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret)
{
    struct vc_agent *agent = NULL;
    int r;

    r = agent_enter_backend(ctx, be, "agent.load", be && be->ops && be->ops->load, ret);
    if (r != 0)
        return r;
    r = be->ops->load(ctx, be->data, sandbox_id, cfg, state, &agent);
    if (r < 0)
        return r;
    return agent_made(ctx, be, agent, ret);
}

void vc_agent_free(struct vc_agent *agent)
{
    if (agent && agent->ops->destroy)
        agent->ops->destroy(agent);
}

int vc_agent_capabilities(struct vc_agent *agent, uint32_t *ret_caps)
{
    int r = agent_enter(agent, "agent.Capabilities", AGENT_HAS(agent, capabilities));

    if (r != 0)
        return r;
    return agent->ops->capabilities(agent, ret_caps);
}

int vc_agent_check(struct vc_agent *agent)
{
    int r = agent_enter(agent, "agent.Check", AGENT_HAS(agent, check));

    if (r != 0)
        return r;
    return agent->ops->check(agent);
}

bool vc_agent_long_live_conn(struct vc_agent *agent)
{
    if (!AGENT_HAS(agent, long_live_conn))
        return false;
    vc_log(agent->ctx, VC_LOG_DEBUG, "LongLiveConn");
    return agent->ops->long_live_conn(agent);
}

int vc_agent_disconnect(struct vc_agent *agent)
{
    int r = agent_dispatch(agent, "agent.Disconnect", AGENT_HAS(agent, disconnect), false);

    if (r != 0)
        return r;
    return agent->ops->disconnect(agent);
}

int vc_agent_get_agent_url(struct vc_agent *agent, char **ret_url)
{
    int r = agent_enter(agent, "agent.GetAgentURL", AGENT_HAS(agent, get_agent_url));

    if (r != 0)
        return r;
    return agent->ops->get_agent_url(agent, ret_url);
}

int vc_agent_set_agent_url(struct vc_agent *agent, const char *url)
{
    int r = agent_enter(agent, "agent.SetAgentURL", AGENT_HAS(agent, set_agent_url));

    if (r != 0)
        return r;
    return agent->ops->set_agent_url(agent, url);
}

int vc_agent_reuse_agent(struct vc_agent *agent, struct vc_agent *other)
{
    int r = agent_enter(agent, "agent.ReuseAgent", AGENT_HAS(agent, reuse_agent));

    if (r != 0)
        return r;
    return agent->ops->reuse_agent(agent, other);
}

int vc_agent_create_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    int r = agent_enter(agent, "agent.CreateSandbox", AGENT_HAS(agent, create_sandbox));

    if (r != 0)
        return r;
    return agent->ops->create_sandbox(agent, cfg);
}

int vc_agent_exec(struct vc_agent *agent, const char *container_id, const char *exec_id,
                  const struct vc_process_config *cmd, struct vc_process *ret)
{
    int r = agent_enter(agent, "agent.Exec", AGENT_HAS(agent, exec));

    if (r != 0)
        return r;
    return agent->ops->exec(agent, container_id, exec_id, cmd, ret);
}

int vc_agent_start_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    int r = agent_enter(agent, "agent.StartSandbox", AGENT_HAS(agent, start_sandbox));

    if (r != 0)
        return r;
    return agent->ops->start_sandbox(agent, cfg);
}

int vc_agent_stop_sandbox(struct vc_agent *agent)
{
    int r = agent_enter(agent, "agent.StopSandbox", AGENT_HAS(agent, stop_sandbox));

    if (r != 0)
        return r;
    return agent->ops->stop_sandbox(agent);
}

int vc_agent_create_container(struct vc_agent *agent, const struct vc_container_config *cfg,
                              struct vc_process *ret)
{
    int r = agent_enter(agent, "agent.CreateContainer", AGENT_HAS(agent, create_container));

    if (r != 0)
        return r;
    return agent->ops->create_container(agent, cfg, ret);
}

int vc_agent_start_container(struct vc_agent *agent, const char *container_id)
{
    int r = agent_enter(agent, "agent.StartContainer", AGENT_HAS(agent, start_container));

    if (r != 0)
        return r;
    return agent->ops->start_container(agent, container_id);
}

int vc_agent_stop_container(struct vc_agent *agent, const char *container_id)
{
    int r = agent_enter(agent, "agent.StopContainer", AGENT_HAS(agent, stop_container));

    if (r != 0)
        return r;
    return agent->ops->stop_container(agent, container_id);
}

int vc_agent_signal_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                            int signal, bool all)
{
    int r = agent_enter(agent, "agent.SignalProcess", AGENT_HAS(agent, signal_process));

    if (r != 0)
        return r;
    return agent->ops->signal_process(agent, container_id, exec_id, signal, all);
}

int vc_agent_winsize_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                             uint32_t rows, uint32_t columns)
{
    int r = agent_enter(agent, "agent.WinsizeProcess", AGENT_HAS(agent, winsize_process));

    if (r != 0)
        return r;
    return agent->ops->winsize_process(agent, container_id, exec_id, rows, columns);
}

int vc_agent_write_process_stdin(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, const void *buf, size_t len,
                                 size_t *ret_written)
{
    int r = agent_enter(agent, "agent.WriteStdin", AGENT_HAS(agent, write_process_stdin));

    if (r != 0)
        return r;
    return agent->ops->write_process_stdin(agent, container_id, exec_id, buf, len, ret_written);
}

int vc_agent_close_process_stdin(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id)
{
    int r = agent_enter(agent, "agent.CloseStdin", AGENT_HAS(agent, close_process_stdin));

    if (r != 0)
        return r;
    return agent->ops->close_process_stdin(agent, container_id, exec_id);
}

int vc_agent_read_process_stdout(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    int r = agent_enter(agent, "agent.ReadStdout", AGENT_HAS(agent, read_process_stdout));

    if (r != 0)
        return r;
    return agent->ops->read_process_stdout(agent, container_id, exec_id, buf, len, ret_len);
}

int vc_agent_read_process_stderr(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    int r = agent_enter(agent, "agent.ReadStderr", AGENT_HAS(agent, read_process_stderr));

    if (r != 0)
        return r;
    return agent->ops->read_process_stderr(agent, container_id, exec_id, buf, len, ret_len);
}

int vc_agent_update_container(struct vc_agent *agent, const char *container_id,
                              const struct vc_resources *res)
{
    int r = agent_enter(agent, "agent.UpdateContainer", AGENT_HAS(agent, update_container));

    if (r != 0)
        return r;
    return agent->ops->update_container(agent, container_id, res);
}

int vc_agent_wait_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                          int32_t *ret_status)
{
    int r = agent_enter(agent, "agent.WaitProcess", AGENT_HAS(agent, wait_process));

    if (r != 0)
        return r;
    return agent->ops->wait_process(agent, container_id, exec_id, ret_status);
}

int vc_agent_online_cpu_mem(struct vc_agent *agent, uint32_t cpus, bool cpu_only)
{
    int r = agent_enter(agent, "agent.OnlineCPUMem", AGENT_HAS(agent, online_cpu_mem));

    if (r != 0)
        return r;
    return agent->ops->online_cpu_mem(agent, cpus, cpu_only);
}

int vc_agent_mem_hotplug_by_probe(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                  uint32_t block_size_mb)
{
    int r = agent_enter(agent, "agent.MemHotplugByProbe", AGENT_HAS(agent, mem_hotplug_by_probe));

    if (r != 0)
        return r;
    return agent->ops->mem_hotplug_by_probe(agent, addr, size_mb, block_size_mb);
}

int vc_agent_stats_container(struct vc_agent *agent, const char *container_id,
                             struct vc_container_stats *ret)
{
    int r = agent_enter(agent, "agent.StatsContainer", AGENT_HAS(agent, stats_container));

    if (r != 0)
        return r;
    return agent->ops->stats_container(agent, container_id, ret);
}

int vc_agent_pause_container(struct vc_agent *agent, const char *container_id)
{
    int r = agent_enter(agent, "agent.PauseContainer", AGENT_HAS(agent, pause_container));

    if (r != 0)
        return r;
    return agent->ops->pause_container(agent, container_id);
}

int vc_agent_resume_container(struct vc_agent *agent, const char *container_id)
{
    int r = agent_enter(agent, "agent.ResumeContainer", AGENT_HAS(agent, resume_container));

    if (r != 0)
        return r;
    return agent->ops->resume_container(agent, container_id);
}

int vc_agent_remove_stale_virtiofs_share_mounts(struct vc_agent *agent)
{
    int r = agent_enter(agent, "agent.RemoveStaleVirtiofsShareMounts",
                        AGENT_HAS(agent, remove_stale_virtiofs_share_mounts));

    if (r != 0)
        return r;
    return agent->ops->remove_stale_virtiofs_share_mounts(agent);
}

int vc_agent_configure(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                       const struct vc_agent_config *cfg)
{
    int r = agent_enter(agent, "agent.Configure", AGENT_HAS(agent, configure));

    if (r != 0)
        return r;
    return agent->ops->configure(agent, hv, id, cfg);
}

int vc_agent_configure_from_grpc(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                                 const struct vc_agent_config *cfg)
{
    int r = agent_enter(agent, "agent.ConfigureFromGrpc", AGENT_HAS(agent, configure_from_grpc));

    if (r != 0)
        return r;
    return agent->ops->configure_from_grpc(agent, hv, id, cfg);
}

int vc_agent_reseed_rng(struct vc_agent *agent, const void *data, size_t len)
{
    int r = agent_enter(agent, "agent.ReseedRNG", AGENT_HAS(agent, reseed_rng));

    if (r != 0)
        return r;
    return agent->ops->reseed_rng(agent, data, len);
}

int vc_agent_update_interface(struct vc_agent *agent, const struct vc_interface *iface,
                              struct vc_interface *ret)
{
    int r = agent_enter(agent, "agent.UpdateInterface", AGENT_HAS(agent, update_interface));

    if (r != 0)
        return r;
    return agent->ops->update_interface(agent, iface, ret);
}

int vc_agent_list_interfaces(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n)
{
    int r = agent_enter(agent, "agent.ListInterfaces", AGENT_HAS(agent, list_interfaces));

    if (r != 0)
        return r;
    return agent->ops->list_interfaces(agent, ret, ret_n);
}

int vc_agent_update_ephemeral_mounts(struct vc_agent *agent, const struct vc_mount *mounts,
                                     size_t n)
{
    int r = agent_enter(agent, "agent.UpdateEphemeralMounts",
                        AGENT_HAS(agent, update_ephemeral_mounts));

    if (r != 0)
        return r;
    return agent->ops->update_ephemeral_mounts(agent, mounts, n);
}

int vc_agent_update_routes(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                           struct vc_route **ret, size_t *ret_n)
{
    int r = agent_enter(agent, "agent.UpdateRoutes", AGENT_HAS(agent, update_routes));

    if (r != 0)
        return r;
    return agent->ops->update_routes(agent, routes, n, ret, ret_n);
}

int vc_agent_list_routes(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n)
{
    int r = agent_enter(agent, "agent.ListRoutes", AGENT_HAS(agent, list_routes));

    if (r != 0)
        return r;
    return agent->ops->list_routes(agent, ret, ret_n);
}

int vc_agent_get_guest_details(struct vc_agent *agent, struct vc_guest_details *ret)
{
    int r = agent_enter(agent, "agent.GetGuestDetails", AGENT_HAS(agent, get_guest_details));

    if (r != 0)
        return r;
    return agent->ops->get_guest_details(agent, ret);
}

int vc_agent_set_guest_date_time(struct vc_agent *agent, int64_t sec, int64_t usec)
{
    int r = agent_enter(agent, "agent.SetGuestDateTime", AGENT_HAS(agent, set_guest_date_time));

    if (r != 0)
        return r;
    return agent->ops->set_guest_date_time(agent, sec, usec);
}

int vc_agent_copy_file(struct vc_agent *agent, const struct vc_copy_file *file)
{
    int r = agent_enter(agent, "agent.CopyFile", AGENT_HAS(agent, copy_file));

    if (r != 0)
        return r;
    return agent->ops->copy_file(agent, file);
}

int vc_agent_add_swap(struct vc_agent *agent, const uint32_t *pci_path, size_t n)
{
    int r = agent_enter(agent, "agent.AddSwap", AGENT_HAS(agent, add_swap));

    if (r != 0)
        return r;
    return agent->ops->add_swap(agent, pci_path, n);
}

void vc_agent_mark_dead(struct vc_agent *agent)
{
    if (!agent)
        return;
    /* The base flag makes every later wrapper fail fast, whatever the backend does. */
    agent->dead = true;
    vc_log(agent->ctx, VC_LOG_DEBUG, "MarkDead");
    if (agent->ops->mark_dead)
        agent->ops->mark_dead(agent);
}

void vc_agent_cleanup(struct vc_agent *agent, const char *sandbox_id)
{
    if (!AGENT_HAS(agent, cleanup))
        return;
    vc_log(agent->ctx, VC_LOG_DEBUG, "Cleanup");
    agent->ops->cleanup(agent, sandbox_id);
}

int vc_agent_save(struct vc_agent *agent, char **ret_state)
{
    /* What a dead agent saves is still needed: the sandbox is stored after its VM died. */
    int r = agent_dispatch(agent, "agent.Save", AGENT_HAS(agent, save), false);

    if (r != 0)
        return r;
    return agent->ops->save(agent, ret_state);
}

int vc_agent_get_oom_event(struct vc_agent *agent, char **ret_container_id)
{
    int r = agent_enter(agent, "agent.GetOOMEvent", AGENT_HAS(agent, get_oom_event));

    if (r != 0)
        return r;
    return agent->ops->get_oom_event(agent, ret_container_id);
}

int vc_agent_get_agent_metrics(struct vc_agent *agent, char **ret_metrics)
{
    int r = agent_enter(agent, "agent.GetAgentMetrics", AGENT_HAS(agent, get_agent_metrics));

    if (r != 0)
        return r;
    return agent->ops->get_agent_metrics(agent, ret_metrics);
}

int vc_agent_get_guest_volume_stats(struct vc_agent *agent, const char *volume_guest_path,
                                    struct vc_volume_stats *ret)
{
    int r =
        agent_enter(agent, "agent.GetGuestVolumeStats", AGENT_HAS(agent, get_guest_volume_stats));

    if (r != 0)
        return r;
    return agent->ops->get_guest_volume_stats(agent, volume_guest_path, ret);
}

int vc_agent_resize_guest_volume(struct vc_agent *agent, const char *volume_guest_path,
                                 uint64_t size)
{
    int r = agent_enter(agent, "agent.ResizeGuestVolume", AGENT_HAS(agent, resize_guest_volume));

    if (r != 0)
        return r;
    return agent->ops->resize_guest_volume(agent, volume_guest_path, size);
}

int vc_agent_get_iptables(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len)
{
    int r = agent_enter(agent, "agent.GetIPTables", AGENT_HAS(agent, get_iptables));

    if (r != 0)
        return r;
    return agent->ops->get_iptables(agent, ipv6, ret, ret_len);
}

int vc_agent_set_iptables(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len)
{
    int r = agent_enter(agent, "agent.SetIPTables", AGENT_HAS(agent, set_iptables));

    if (r != 0)
        return r;
    return agent->ops->set_iptables(agent, ipv6, data, len);
}

int vc_agent_set_policy(struct vc_agent *agent, const char *policy)
{
    int r = agent_enter(agent, "agent.SetPolicy", AGENT_HAS(agent, set_policy));

    if (r != 0)
        return r;
    return agent->ops->set_policy(agent, policy);
}

int vc_agent_get_diagnostic_data(struct vc_agent *agent, const char *log_type,
                                 const char *container_id, char **ret_data)
{
    int r = agent_enter(agent, "agent.GetDiagnosticData", AGENT_HAS(agent, get_diagnostic_data));

    if (r != 0)
        return r;
    return agent->ops->get_diagnostic_data(agent, log_type, container_id, ret_data);
}

int vc_agent_kill_container(struct vc_agent *agent, const char *container_id, int signal, bool all)
{
    int r = agent_enter(agent, "agent.KillContainer", AGENT_HAS(agent, kill_container));

    if (r != 0)
        return r;
    return agent->ops->kill_container(agent, container_id, signal, all);
}

int vc_agent_process_list_container(struct vc_agent *agent, const char *container_id,
                                    const struct vc_ps_options *opts, char **ret_output)
{
    int r =
        agent_enter(agent, "agent.ProcessListContainer", AGENT_HAS(agent, process_list_container));

    if (r != 0)
        return r;
    return agent->ops->process_list_container(agent, container_id, opts, ret_output);
}
