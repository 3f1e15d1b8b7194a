/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent's one path to the wire (kata's connect + sendReq): a table of every RPC it
 * sends with its service, reply type and deadline class, a lazily dialled ttrpc connection that
 * marks the agent dead when the dial fails, and the error rewriting kata does at a deadline. */
#include <errno.h>
#include <stdint.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/log.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "convert.h"
#include "kata_agent.h"

#define VC_LOG_TOPIC "kata"

#define NS_PER_MS UINT64_C(1000000)

#define AGENT(m, req, resp, t)                                                                     \
    {                                                                                              \
        KATA_AGENT_SERVICE, m, &req##__descriptor, resp, t                                         \
    }

static const struct kata_rpc kata_rpcs[KATA_RPC_LAST] = {
    [KATA_RPC_CHECK] = {KATA_HEALTH_SERVICE, "Check", &grpc__check_request__descriptor,
                        &grpc__health_check_response__descriptor, KATA_T_CHECK},
    [KATA_RPC_CREATE_SANDBOX] =
        AGENT("CreateSandbox", grpc__create_sandbox_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_DESTROY_SANDBOX] =
        AGENT("DestroySandbox", grpc__destroy_sandbox_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_CREATE_CONTAINER] =
        AGENT("CreateContainer", grpc__create_container_request, NULL, KATA_T_CREATE),
    [KATA_RPC_START_CONTAINER] =
        AGENT("StartContainer", grpc__start_container_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_REMOVE_CONTAINER] =
        AGENT("RemoveContainer", grpc__remove_container_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_EXEC_PROCESS] =
        AGENT("ExecProcess", grpc__exec_process_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_SIGNAL_PROCESS] =
        AGENT("SignalProcess", grpc__signal_process_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_WAIT_PROCESS] = AGENT("WaitProcess", grpc__wait_process_request,
                                    &grpc__wait_process_response__descriptor, KATA_T_NONE),
    [KATA_RPC_UPDATE_CONTAINER] =
        AGENT("UpdateContainer", grpc__update_container_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_UPDATE_EPHEMERAL_MOUNTS] =
        AGENT("UpdateEphemeralMounts", grpc__update_ephemeral_mounts_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_STATS_CONTAINER] = AGENT("StatsContainer", grpc__stats_container_request,
                                       &grpc__stats_container_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_PAUSE_CONTAINER] =
        AGENT("PauseContainer", grpc__pause_container_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_RESUME_CONTAINER] =
        AGENT("ResumeContainer", grpc__resume_container_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_REMOVE_STALE_VIRTIOFS_SHARE_MOUNTS] =
        AGENT("RemoveStaleVirtiofsShareMounts", grpc__remove_stale_virtiofs_share_mounts_request,
              NULL, KATA_T_DEFAULT),
    [KATA_RPC_GET_DIAGNOSTIC_DATA] =
        AGENT("GetDiagnosticData", grpc__get_diagnostic_data_request,
              &grpc__get_diagnostic_data_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_WRITE_STDIN] = AGENT("WriteStdin", grpc__write_stream_request,
                                   &grpc__write_stream_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_READ_STDOUT] = AGENT("ReadStdout", grpc__read_stream_request,
                                   &grpc__read_stream_response__descriptor, KATA_T_NONE),
    [KATA_RPC_READ_STDERR] = AGENT("ReadStderr", grpc__read_stream_request,
                                   &grpc__read_stream_response__descriptor, KATA_T_NONE),
    [KATA_RPC_CLOSE_STDIN] = AGENT("CloseStdin", grpc__close_stdin_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_TTY_WIN_RESIZE] =
        AGENT("TtyWinResize", grpc__tty_win_resize_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_UPDATE_INTERFACE] = AGENT("UpdateInterface", grpc__update_interface_request,
                                        &types__interface__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_UPDATE_ROUTES] = AGENT("UpdateRoutes", grpc__update_routes_request,
                                     &grpc__routes__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_LIST_INTERFACES] = AGENT("ListInterfaces", grpc__list_interfaces_request,
                                       &grpc__interfaces__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_LIST_ROUTES] =
        AGENT("ListRoutes", grpc__list_routes_request, &grpc__routes__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_ADD_ARP_NEIGHBORS] =
        AGENT("AddARPNeighbors", grpc__add_arpneighbors_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_GET_IPTABLES] = AGENT("GetIPTables", grpc__get_iptables_request,
                                    &grpc__get_iptables_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_SET_IPTABLES] = AGENT("SetIPTables", grpc__set_iptables_request,
                                    &grpc__set_iptables_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_GET_METRICS] =
        AGENT("GetMetrics", grpc__get_metrics_request, &grpc__metrics__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_ONLINE_CPU_MEM] =
        AGENT("OnlineCPUMem", grpc__online_cpumem_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_RESEED_RANDOM_DEV] =
        AGENT("ReseedRandomDev", grpc__reseed_random_dev_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_GET_GUEST_DETAILS] = AGENT("GetGuestDetails", grpc__guest_details_request,
                                         &grpc__guest_details_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_MEM_HOTPLUG_BY_PROBE] =
        AGENT("MemHotplugByProbe", grpc__mem_hotplug_by_probe_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_SET_GUEST_DATE_TIME] =
        AGENT("SetGuestDateTime", grpc__set_guest_date_time_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_COPY_FILE] = AGENT("CopyFile", grpc__copy_file_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_GET_OOM_EVENT] =
        AGENT("GetOOMEvent", grpc__get_oomevent_request, &grpc__oomevent__descriptor, KATA_T_NONE),
    [KATA_RPC_ADD_SWAP] = AGENT("AddSwap", grpc__add_swap_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_GET_VOLUME_STATS] = AGENT("GetVolumeStats", grpc__volume_stats_request,
                                        &grpc__volume_stats_response__descriptor, KATA_T_DEFAULT),
    [KATA_RPC_RESIZE_VOLUME] =
        AGENT("ResizeVolume", grpc__resize_volume_request, NULL, KATA_T_DEFAULT),
    [KATA_RPC_SET_POLICY] = AGENT("SetPolicy", grpc__set_policy_request, NULL, KATA_T_DEFAULT),
};

const struct kata_rpc *kata_rpc_get(enum kata_rpc_id id)
{
    return &kata_rpcs[id];
}

int kata_connect(struct kata_agent *k)
{
    struct vc_ctx *ctx = k->base.ctx;
    uint64_t dial_ms = k->dial_timeout_ms ? k->dial_timeout_ms : KATA_DIAL_TIMEOUT_MS;
    struct vc_stream *s = NULL;
    int r;

    if (k->base.dead)
        return vc_err(ctx, -ENOTCONN, "agent is dead");
    /* A connection the peer closed is replaced rather than failing every later call. */
    if (k->client && vc_ttrpc_client_alive(k->client))
        return 0;
    kata_disconnect(k);
    if (!k->url || !*k->url)
        return vc_err(ctx, -EINVAL, "kata agent: no agent url");
    vc_log(ctx, VC_LOG_DEBUG, "new client for '%s'", k->url);
    r = vc_dial(ctx, k->url, dial_ms * NS_PER_MS, &s);
    if (r >= 0)
        r = vc_ttrpc_client_new(ctx, s, &k->client);
    if (r < 0)
        k->base.dead = true;
    return r;
}

void kata_disconnect(struct kata_agent *k)
{
    vc_ttrpc_client_free(k->client);
    k->client = NULL;
}

static uint64_t kata_timeout_ns(const struct kata_agent *k, enum kata_timeout t)
{
    switch (t) {
    case KATA_T_CHECK:
        return KATA_CHECK_TIMEOUT_MS * NS_PER_MS;
    case KATA_T_CREATE:
        return (k->create_timeout_ms ? k->create_timeout_ms : KATA_DEFAULT_TIMEOUT_MS) * NS_PER_MS;
    case KATA_T_NONE:
        return 0;
    default:
        return KATA_DEFAULT_TIMEOUT_MS * NS_PER_MS;
    }
}

int kata_call(struct kata_agent *k, enum kata_rpc_id id, const ProtobufCMessage *req,
              ProtobufCMessage **ret_resp)
{
    const struct kata_rpc *rpc = &kata_rpcs[id];
    struct vc_ctx *ctx = k->base.ctx;
    ProtobufCMessage *resp = NULL;
    int r = kata_connect(k);

    if (r < 0)
        return r;
    r = vc_ttrpc_call(k->client, rpc->service, rpc->method, req, rpc->resp,
                      kata_timeout_ns(k, rpc->timeout), &resp);
    if (!k->long_live_conn)
        kata_disconnect(k);
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "%s timed out", rpc->req->short_name);
    if (r < 0)
        return r;
    if (ret_resp)
        *ret_resp = resp;
    else
        vc_ttrpc_msg_free(ctx, resp);
    return 0;
}

int kata_bad_reply(struct kata_agent *k, enum kata_rpc_id id, int r)
{
    struct vc_err_saved why;

    if (r != -EINVAL)
        return r;
    vc_err_save(k->base.ctx, &why);
    return vc_err(k->base.ctx, -EPROTO, "%s: bad reply: %s", kata_rpcs[id].method, why.msg);
}
