/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent's private layout and its one generic RPC path (rpc.c), shared by the files of
 * core/kata. Internal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <vc/agent.h>

#include "cleanup.h"

struct vc_ttrpc_client;

#define KATA_AGENT_SERVICE  "grpc.AgentService"
#define KATA_HEALTH_SERVICE "grpc.Health"

#define KATA_DIAL_TIMEOUT_MS    30000u /* kata's defaultDialTimeout */
#define KATA_CHECK_TIMEOUT_MS   30000u /* checkRequestTimeout */
#define KATA_DEFAULT_TIMEOUT_MS 60000u /* defaultRequestTimeout, createContainerRequestTimeout */

struct kata_agent {
    struct vc_agent base;           /* first member: what core sees */
    char *url;                      /* agent URL (kata's state.URL), or NULL until set */
    struct vc_ttrpc_client *client; /* the connection, made lazily; NULL when disconnected */
    uint32_t dial_timeout_ms;       /* dial budget (0: KATA_DIAL_TIMEOUT_MS) */
    uint32_t create_timeout_ms;     /* CreateContainer deadline (0: KATA_DEFAULT_TIMEOUT_MS) */
    bool long_live_conn;            /* keep the connection between requests */
};

/* How long a request may take (kata's getReqContext). */
enum kata_timeout {
    KATA_T_DEFAULT, /* defaultRequestTimeout */
    KATA_T_CHECK,   /* checkRequestTimeout */
    KATA_T_CREATE,  /* the configured CreateContainer timeout */
    KATA_T_NONE,    /* WaitProcess, GetOOMEvent, ReadStdout, ReadStderr: no deadline */
};

/* Every RPC the agent sends: kata's 42 AgentService methods it uses plus Health.Check. */
enum kata_rpc_id {
    KATA_RPC_CHECK,
    KATA_RPC_CREATE_SANDBOX,
    KATA_RPC_DESTROY_SANDBOX,
    KATA_RPC_CREATE_CONTAINER,
    KATA_RPC_START_CONTAINER,
    KATA_RPC_REMOVE_CONTAINER,
    KATA_RPC_EXEC_PROCESS,
    KATA_RPC_SIGNAL_PROCESS,
    KATA_RPC_WAIT_PROCESS,
    KATA_RPC_UPDATE_CONTAINER,
    KATA_RPC_UPDATE_EPHEMERAL_MOUNTS,
    KATA_RPC_STATS_CONTAINER,
    KATA_RPC_PAUSE_CONTAINER,
    KATA_RPC_RESUME_CONTAINER,
    KATA_RPC_REMOVE_STALE_VIRTIOFS_SHARE_MOUNTS,
    KATA_RPC_GET_DIAGNOSTIC_DATA,
    KATA_RPC_WRITE_STDIN,
    KATA_RPC_READ_STDOUT,
    KATA_RPC_READ_STDERR,
    KATA_RPC_CLOSE_STDIN,
    KATA_RPC_TTY_WIN_RESIZE,
    KATA_RPC_UPDATE_INTERFACE,
    KATA_RPC_UPDATE_ROUTES,
    KATA_RPC_LIST_INTERFACES,
    KATA_RPC_LIST_ROUTES,
    KATA_RPC_ADD_ARP_NEIGHBORS,
    KATA_RPC_GET_IPTABLES,
    KATA_RPC_SET_IPTABLES,
    KATA_RPC_GET_METRICS,
    KATA_RPC_ONLINE_CPU_MEM,
    KATA_RPC_RESEED_RANDOM_DEV,
    KATA_RPC_GET_GUEST_DETAILS,
    KATA_RPC_MEM_HOTPLUG_BY_PROBE,
    KATA_RPC_SET_GUEST_DATE_TIME,
    KATA_RPC_COPY_FILE,
    KATA_RPC_GET_OOM_EVENT,
    KATA_RPC_ADD_SWAP,
    KATA_RPC_GET_VOLUME_STATS,
    KATA_RPC_RESIZE_VOLUME,
    KATA_RPC_SET_POLICY,
    KATA_RPC_LAST
};

/* What the wire needs to know about one RPC. */
struct kata_rpc {
    const char *service;                    /* KATA_AGENT_SERVICE or KATA_HEALTH_SERVICE */
    const char *method;                     /* ttrpc method name */
    const ProtobufCMessageDescriptor *req;  /* request type */
    const ProtobufCMessageDescriptor *resp; /* reply type; NULL for google.protobuf.Empty */
    enum kata_timeout timeout;              /* its deadline */
};

/* The table entry of id. */
const struct kata_rpc *kata_rpc_get(enum kata_rpc_id id);

static inline struct kata_agent *kata_of(struct vc_agent *agent)
{
    return VC_CONTAINER_OF(agent, struct kata_agent, base);
}

/* Makes sure there is a connection (kata's connect): a dead agent fails with -ENOTCONN "agent
 * is dead"; an agent without a URL with -EINVAL; a dial failure marks the agent dead and
 * returns the dial's error. */
int kata_connect(struct kata_agent *k);
/* Drops the connection (calls in flight fail with -ECANCELED). */
void kata_disconnect(struct kata_agent *k);
/* kata's sendReq: connect, send req (a message of the RPC's request type) with the RPC's
 * deadline, wait for the reply, and disconnect afterwards unless long_live_conn. 0 with
 * *ret_resp (may be NULL to drop it; free with vc_ttrpc_msg_free) or -errno recorded on the
 * context: the server's status through vc_status_to_errno ("<Method>: <message> (<STATUS>)"),
 * -ETIMEDOUT "<Name>Request timed out" at the deadline, the connection's errors. */
int kata_call(struct kata_agent *k, enum kata_rpc_id id, const ProtobufCMessage *req,
              ProtobufCMessage **ret_resp);
/* A reply that does not convert to the model (convert.h said -EINVAL): -EPROTO naming the
 * method, keeping the conversion's message. Other errors pass through. */
int kata_bad_reply(struct kata_agent *k, enum kata_rpc_id id, int r);
