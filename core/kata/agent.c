/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent (vc/kata.h): each vc_agent_ops member as kata's Go runtime (virtcontainers
 * kata_agent.go) does it: the request it builds, the RPCs it sends in which order, and what it
 * makes of the reply. Requests are built in an arena from the model (convert.h) and sent through
 * rpc.c's one path, which owns connecting, deadlines and error wording. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/kata.h>
#include <vc/log.h>
#include <vc/ttrpc.h>
#include <vc/vc.h>

#include "convert.h"
#include "kata_agent.h"
#include "schema.h"

#define VC_LOG_TOPIC "kata"

#define KATA_COPY_CHUNK (1u << 20) /* grpcMaxDataSize: CopyFile data per request */
#define KATA_READ_MAX   (1u << 20) /* most bytes one ReadStdout/ReadStderr asks for */

/* --- one request ------------------------------------------------------------------------------ */

/* A request on its way: its arena, the message and the reply. */
struct kata_op {
    struct kata_agent *k;   /* the agent */
    enum kata_rpc_id id;    /* which RPC */
    struct vc_kata_arena a; /* the request's memory */
    ProtobufCMessage *req;  /* the request (in a) */
    ProtobufCMessage *resp; /* the reply, once sent */
};

/* Points a string field of m named name (if it has one) at v, borrowed. */
static void kata_set_str(ProtobufCMessage *m, const char *name, const char *v)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

    if (f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED)
        *(char **) ((char *) m + f->offset) = (char *) (v ? v : "");
}

/* Starts a request of id's type with its container_id and exec_id set (where it has them). op
 * must be ended with op_end whatever this returns. */
static int op_begin(struct kata_op *op, struct vc_agent *agent, enum kata_rpc_id id,
                    const char *container_id, const char *exec_id)
{
    const ProtobufCMessageDescriptor *d = kata_rpc_get(id)->req;

    *op = (struct kata_op){.k = kata_of(agent), .id = id};
    vc_kata_arena_init(&op->a, agent->ctx);
    op->req = vc_kata_arena_alloc(&op->a, d->sizeof_message);
    if (!op->req)
        return -ENOMEM;
    protobuf_c_message_init(d, op->req);
    kata_set_str(op->req, "container_id", container_id);
    kata_set_str(op->req, "exec_id", exec_id);
    return 0;
}

/* Sends the request if r says so far so good; the reply lands in op->resp. */
static int op_send(struct kata_op *op, int r)
{
    return r < 0 ? r : kata_call(op->k, op->id, op->req, &op->resp);
}

/* Frees the request and the reply; returns r. */
static int op_end(struct kata_op *op, int r)
{
    vc_ttrpc_msg_free(op->k->base.ctx, op->resp);
    vc_kata_arena_free(&op->a);
    return r;
}

/* A request with only ids and no reply worth reading. */
static int kata_ids_call(struct vc_agent *agent, enum kata_rpc_id id, const char *container_id,
                         const char *exec_id)
{
    struct kata_op op;
    int r = op_begin(&op, agent, id, container_id, exec_id);

    return op_end(&op, op_send(&op, r));
}

/* --- handle ----------------------------------------------------------------------------------- */

static void kata_apply_config(struct kata_agent *k, const struct vc_agent_config *cfg)
{
    if (!cfg)
        return;
    k->dial_timeout_ms = cfg->dial_timeout_ms;
    k->create_timeout_ms = cfg->create_container_timeout_ms;
    k->long_live_conn = cfg->long_live_conn;
}

static int kata_set_agent_url(struct vc_agent *agent, const char *url)
{
    struct kata_agent *k = kata_of(agent);
    char *u = NULL;

    if (url && !(u = vc_strdup(agent->ctx, url)))
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    /* A connection to another endpoint is of no use any more. */
    if (!u || !k->url || strcmp(u, k->url) != 0)
        kata_disconnect(k);
    vc_free(agent->ctx, k->url);
    k->url = u;
    return 0;
}

static void kata_destroy(struct vc_agent *agent)
{
    struct kata_agent *k;

    if (!agent)
        return;
    k = kata_of(agent);
    kata_disconnect(k);
    vc_free(agent->ctx, k->url);
    vc_free(agent->ctx, k);
}

static int kata_init(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                     const struct vc_agent_config *cfg, struct vc_agent **ret)
{
    struct kata_agent *k = vc_new0(ctx, struct kata_agent, 1);
    int r;

    if (!k)
        return vc_err(ctx, -ENOMEM, "out of memory");
    k->base = (struct vc_agent){.ops = &vc_kata_agent_ops, .ctx = ctx};
    kata_apply_config(k, cfg);
    r = kata_set_agent_url(&k->base, cfg ? cfg->url : NULL);
    if (r < 0) {
        kata_destroy(&k->base);
        return r;
    }
    *ret = &k->base;
    return 0;
}

/* The state is kata's KataAgentState: {"url": ...}. */
static int kata_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                     const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret)
{
    struct vc_agent *agent = NULL;
    json_object *j = NULL, *url;
    int r = kata_init(ctx, data, sandbox_id, cfg, &agent);

    if (r >= 0 && state && *state)
        r = vc_json_parse(ctx, "kata agent state", state, strlen(state), &j);
    if (r >= 0 && j && json_object_object_get_ex(j, "url", &url)) {
        r = json_object_is_type(url, json_type_string)
                ? kata_set_agent_url(agent, json_object_get_string(url))
                : vc_err(ctx, -EINVAL, "kata agent state: url is not a string");
    }
    json_object_put(j);
    if (r < 0) {
        kata_destroy(agent);
        return r;
    }
    *ret = agent;
    return 0;
}

static int kata_save(struct vc_agent *agent, char **ret_state)
{
    struct kata_agent *k = kata_of(agent);
    json_object *j = json_object_new_object(), *url = NULL;
    bool ok = j != NULL;
    char *s = NULL;

    if (ok && k->url) {
        url = json_object_new_string(k->url);
        ok = url && json_object_object_add(j, "url", url) == 0;
        if (!ok)
            json_object_put(url);
    }
    if (ok)
        s = vc_strdup(agent->ctx, json_object_to_json_string_ext(
                                      j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    if (!s)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    *ret_state = s;
    return 0;
}

static int kata_get_agent_url(struct vc_agent *agent, char **ret_url)
{
    struct kata_agent *k = kata_of(agent);
    char *u = vc_strdup(agent->ctx, k->url ? k->url : "");

    if (!u)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    *ret_url = u;
    return 0;
}

/* kata's agent capabilities: block devices only. */
static int kata_capabilities(struct vc_agent *agent, uint32_t *ret_caps)
{
    *ret_caps = VC_AGENT_CAP_BLOCK_DEVICE;
    return 0;
}

static bool kata_long_live_conn(struct vc_agent *agent)
{
    return kata_of(agent)->long_live_conn;
}

static int kata_disconnect_op(struct vc_agent *agent)
{
    kata_disconnect(kata_of(agent));
    return 0;
}

/* kata shares the other agent's client (the VM factory's agent hands over its connection);
 * here the connection moves, so exactly one agent owns it. */
static int kata_reuse_agent(struct vc_agent *agent, struct vc_agent *other)
{
    struct kata_agent *k = kata_of(agent), *o;
    int r;

    if (!other || other->ops != &vc_kata_agent_ops)
        return vc_err(agent->ctx, -EINVAL, "kata agent: cannot reuse an agent of another kind");
    o = kata_of(other);
    r = kata_set_agent_url(agent, o->url);
    if (r < 0 || !o->client)
        return r;
    kata_disconnect(k);
    k->client = o->client;
    o->client = NULL;
    return 0;
}

/* kata's configure/configureFromGrpc: the endpoint comes from the hypervisor (GenerateSocket),
 * the connection settings from the config. */
static int kata_configure(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                          const struct vc_agent_config *cfg)
{
    char *url = NULL;
    int r = 0;

    kata_apply_config(kata_of(agent), cfg);
    if (cfg && cfg->url)
        return kata_set_agent_url(agent, cfg->url);
    if (!hv)
        return 0;
    r = vc_hv_agent_endpoint(hv, &url);
    if (r >= 0)
        r = kata_set_agent_url(agent, url);
    vc_free(agent->ctx, url);
    return r;
}

static void kata_mark_dead(struct vc_agent *agent)
{
    agent->dead = true;
    kata_disconnect(kata_of(agent));
}

static void kata_cleanup(struct vc_agent *agent, const char *sandbox_id)
{
}

/* kata's createSandbox only configures the agent; the guest hears of the sandbox in
 * startSandbox. */
static int kata_create_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    if (cfg)
        kata_apply_config(kata_of(agent), &cfg->agent);
    return 0;
}

/* --- sandbox ---------------------------------------------------------------------------------- */

static int kata_check(struct vc_agent *agent)
{
    int r = kata_ids_call(agent, KATA_RPC_CHECK, NULL, NULL);

    if (r < 0)
        return vc_err_prefix(agent->ctx, r, "Failed to Check if grpc server is working");
    return 0;
}

static int kata_set_policy(struct vc_agent *agent, const char *policy)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_SET_POLICY, NULL, NULL);

    if (r >= 0)
        ((Grpc__SetPolicyRequest *) op.req)->policy = (char *) (policy ? policy : "");
    return op_end(&op, op_send(&op, r));
}

static int kata_update_interface(struct vc_agent *agent, const struct vc_interface *iface,
                                 struct vc_interface *ret)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_UPDATE_INTERFACE, NULL, NULL);

    if (r >= 0)
        r = vc_kata_interface_to_pb(&op.a, iface,
                                    &((Grpc__UpdateInterfaceRequest *) op.req)->interface);
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_bad_reply(
            op.k, op.id,
            vc_kata_interface_from_pb(agent->ctx, (const Types__Interface *) op.resp, ret));
    return op_end(&op, r);
}

static int kata_list_interfaces(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_LIST_INTERFACES, NULL, NULL));

    if (r >= 0)
        r = kata_bad_reply(
            op.k, op.id,
            vc_kata_interfaces_from_pb(agent->ctx, (const Grpc__Interfaces *) op.resp, ret, ret_n));
    return op_end(&op, r);
}

static int kata_update_routes(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                              struct vc_route **ret, size_t *ret_n)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_UPDATE_ROUTES, NULL, NULL);

    if (r >= 0)
        r = vc_kata_routes_to_pb(&op.a, routes, n, &((Grpc__UpdateRoutesRequest *) op.req)->routes);
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_bad_reply(
            op.k, op.id,
            vc_kata_routes_from_pb(agent->ctx, (const Grpc__Routes *) op.resp, ret, ret_n));
    return op_end(&op, r);
}

static int kata_list_routes(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_LIST_ROUTES, NULL, NULL));

    if (r >= 0)
        r = kata_bad_reply(
            op.k, op.id,
            vc_kata_routes_from_pb(agent->ctx, (const Grpc__Routes *) op.resp, ret, ret_n));
    return op_end(&op, r);
}

/* An agent too old for AddARPNeighbors (UNIMPLEMENTED) is let off, as kata does. */
static int kata_add_arp_neighbors(struct vc_agent *agent, const struct vc_arp_neighbor *v, size_t n)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_ADD_ARP_NEIGHBORS, NULL, NULL);

    if (r >= 0)
        r = vc_kata_neighbors_to_pb(&op.a, v, n,
                                    &((Grpc__AddARPNeighborsRequest *) op.req)->neighbors);
    r = op_send(&op, r);
    if (r == -EOPNOTSUPP) {
        vc_log(agent->ctx, VC_LOG_WARN, "agent too old for AddARPNeighbors: ignored");
        vc_err_clear(agent->ctx);
        r = 0;
    }
    return op_end(&op, r);
}

/* kata's setupNetworks: each interface, then the routes, then the neighbours (each step only
 * when there is something to send). */
static int kata_setup_networks(struct vc_agent *agent, const struct vc_network_config *net)
{
    struct vc_interface out = {0};
    struct vc_route *routes = NULL;
    size_t n = 0;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < net->n_interfaces; i++) {
        r = kata_update_interface(agent, &net->interfaces[i], &out);
        vc_interface_clear(agent->ctx, &out);
    }
    if (r >= 0 && net->n_routes) {
        r = kata_update_routes(agent, net->routes, net->n_routes, &routes, &n);
        vc_routes_free(agent->ctx, routes, n);
    }
    if (r >= 0 && net->n_neighbors)
        r = kata_add_arp_neighbors(agent, net->neighbors, net->n_neighbors);
    return r;
}

/* kata's startSandbox: Check, SetPolicy (when configured), setupNetworks, CreateSandbox. */
static int kata_start_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    Grpc__CreateSandboxRequest *req = NULL;
    struct kata_op op;
    int r;

    if (!cfg)
        return vc_err(agent->ctx, -EINVAL, "kata agent: start sandbox without a config");
    r = kata_check(agent);
    if (r >= 0 && cfg->agent.policy)
        r = kata_set_policy(agent, cfg->agent.policy);
    if (r >= 0)
        r = kata_setup_networks(agent, &cfg->net);
    if (r < 0)
        return r;
    r = op_begin(&op, agent, KATA_RPC_CREATE_SANDBOX, NULL, NULL);
    if (r >= 0)
        r = vc_kata_sandbox_to_pb(&op.a, cfg, &req);
    if (r >= 0)
        op.req = &req->base;
    return op_end(&op, op_send(&op, r));
}

static int kata_stop_sandbox(struct vc_agent *agent)
{
    return kata_ids_call(agent, KATA_RPC_DESTROY_SANDBOX, NULL, NULL);
}

/* --- containers and processes ----------------------------------------------------------------- */

/* What kata's buildProcessFromExecID returns: the exec id and the start moment (no pid: the
 * agent does not report it). */
static int kata_process_out(struct vc_agent *agent, const char *exec_id, struct vc_process *ret)
{
    char *id = vc_strdup(agent->ctx, exec_id ? exec_id : "");

    if (!id)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    *ret = (struct vc_process){.exec_id = id, .start_time_ns = vc_wall_now(agent->ctx)};
    return 0;
}

static int kata_create_container(struct vc_agent *agent, const struct vc_container_config *cfg,
                                 struct vc_process *ret)
{
    Grpc__CreateContainerRequest *req = NULL;
    struct kata_op op;
    int r;

    if (!cfg || !ret)
        return vc_err(agent->ctx, -EINVAL, "kata agent: CreateContainer without a config");
    r = op_begin(&op, agent, KATA_RPC_CREATE_CONTAINER, NULL, NULL);
    if (r >= 0)
        r = vc_kata_container_to_pb(&op.a, cfg, &req);
    if (r >= 0)
        op.req = &req->base;
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_process_out(agent, cfg->id, ret);
    return op_end(&op, r);
}

static int kata_exec(struct vc_agent *agent, const char *container_id, const char *exec_id,
                     const struct vc_process_config *cmd, struct vc_process *ret)
{
    Grpc__ExecProcessRequest *req = NULL;
    struct kata_op op;
    int r;

    if (!cmd || !ret)
        return vc_err(agent->ctx, -EINVAL, "kata agent: ExecProcess without a command");
    r = op_begin(&op, agent, KATA_RPC_EXEC_PROCESS, NULL, NULL);
    if (r >= 0)
        r = vc_kata_exec_to_pb(&op.a, container_id, exec_id, cmd, &req);
    if (r >= 0)
        op.req = &req->base;
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_process_out(agent, exec_id, ret);
    return op_end(&op, r);
}

static int kata_start_container(struct vc_agent *agent, const char *container_id)
{
    return kata_ids_call(agent, KATA_RPC_START_CONTAINER, container_id, NULL);
}

/* kata's stopContainer is RemoveContainer{timeout 0} alone: the core has already killed and
 * waited (container.c), as kata's container.stop does before calling it. */
static int kata_stop_container(struct vc_agent *agent, const char *container_id)
{
    return kata_ids_call(agent, KATA_RPC_REMOVE_CONTAINER, container_id, NULL);
}

/* all sends exec_id "" (every process of the container). A process already gone answers
 * "ESRCH: No such process", which kata counts as delivered. */
static int kata_signal_process(struct vc_agent *agent, const char *container_id,
                               const char *exec_id, int signal, bool all)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_SIGNAL_PROCESS, container_id, all ? "" : exec_id);

    if (r >= 0)
        ((Grpc__SignalProcessRequest *) op.req)->signal = (uint32_t) signal;
    r = op_send(&op, r);
    if (r < 0 && strstr(vc_ctx_errmsg(agent->ctx), "ESRCH")) {
        vc_err_clear(agent->ctx);
        r = 0;
    }
    return op_end(&op, r);
}

/* The 2018 seed's killContainer: a signal to the container's init, or to all its processes. */
static int kata_kill_container(struct vc_agent *agent, const char *container_id, int signal,
                               bool all)
{
    return kata_signal_process(agent, container_id, container_id, signal, all);
}

static int kata_winsize_process(struct vc_agent *agent, const char *container_id,
                                const char *exec_id, uint32_t rows, uint32_t columns)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_TTY_WIN_RESIZE, container_id, exec_id);

    if (r >= 0) {
        ((Grpc__TtyWinResizeRequest *) op.req)->row = rows;
        ((Grpc__TtyWinResizeRequest *) op.req)->column = columns;
    }
    return op_end(&op, op_send(&op, r));
}

static int kata_write_process_stdin(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id, const void *buf, size_t len,
                                    size_t *ret_written)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_WRITE_STDIN, container_id, exec_id);
    uint32_t n;

    if (r >= 0)
        ((Grpc__WriteStreamRequest *) op.req)->data =
            (ProtobufCBinaryData){.len = len, .data = (uint8_t *) buf};
    r = op_send(&op, r);
    if (r < 0)
        return op_end(&op, r);
    n = ((const Grpc__WriteStreamResponse *) op.resp)->len;
    if (n > len)
        r = vc_err(agent->ctx, -EPROTO, "WriteStdin: agent took %u of %zu bytes", n, len);
    else
        *ret_written = n;
    return op_end(&op, r);
}

static int kata_close_process_stdin(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id)
{
    return kata_ids_call(agent, KATA_RPC_CLOSE_STDIN, container_id, exec_id);
}

/* kata-agent answers a read at the end of a stream with INTERNAL "read meet eof" (rpc.rs
 * read_stream); kata's shim takes any read error as the end of the stream. Here only that
 * answer is the end; every other failure stays an error. */
static bool kata_read_eof(struct vc_agent *agent, int r)
{
    return r == -EIO && strstr(vc_ctx_errmsg(agent->ctx), "read meet eof") != NULL;
}

/* ReadStdout / ReadStderr: one read of at most len bytes; no data means end of stream. */
static int kata_read(struct vc_agent *agent, enum kata_rpc_id id, const char *container_id,
                     const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    const ProtobufCBinaryData *data;
    struct kata_op op;
    int r = op_begin(&op, agent, id, container_id, exec_id);

    if (r >= 0)
        ((Grpc__ReadStreamRequest *) op.req)->len = len > KATA_READ_MAX ? KATA_READ_MAX : len;
    r = op_send(&op, r);
    if (r < 0 && kata_read_eof(agent, r)) {
        vc_err_clear(agent->ctx);
        *ret_len = 0;
        return op_end(&op, 0);
    }
    if (r < 0)
        return op_end(&op, r);
    data = &((const Grpc__ReadStreamResponse *) op.resp)->data;
    if (data->len > len) {
        r = vc_err(agent->ctx, -EPROTO, "%s: agent sent %zu bytes for a read of %zu",
                   kata_rpc_get(id)->method, data->len, len);
    } else {
        if (data->len)
            memcpy(buf, data->data, data->len);
        *ret_len = data->len;
    }
    return op_end(&op, r);
}

static int kata_read_process_stdout(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return kata_read(agent, KATA_RPC_READ_STDOUT, container_id, exec_id, buf, len, ret_len);
}

static int kata_read_process_stderr(struct vc_agent *agent, const char *container_id,
                                    const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return kata_read(agent, KATA_RPC_READ_STDERR, container_id, exec_id, buf, len, ret_len);
}

static int kata_update_container(struct vc_agent *agent, const char *container_id,
                                 const struct vc_resources *res)
{
    struct vc_resources none = {0};
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_UPDATE_CONTAINER, container_id, NULL);

    if (r >= 0)
        r = vc_kata_resources_to_pb(&op.a, res ? res : &none,
                                    &((Grpc__UpdateContainerRequest *) op.req)->resources);
    return op_end(&op, op_send(&op, r));
}

static int kata_wait_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                             int32_t *ret_status)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_WAIT_PROCESS, container_id, exec_id));

    if (r >= 0)
        *ret_status = ((const Grpc__WaitProcessResponse *) op.resp)->status;
    return op_end(&op, r);
}

static int kata_stats_container(struct vc_agent *agent, const char *container_id,
                                struct vc_container_stats *ret)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_STATS_CONTAINER, container_id, NULL));

    if (r >= 0)
        r = kata_bad_reply(
            op.k, op.id,
            vc_kata_stats_from_pb(agent->ctx, (const Grpc__StatsContainerResponse *) op.resp, ret));
    return op_end(&op, r);
}

static int kata_pause_container(struct vc_agent *agent, const char *container_id)
{
    return kata_ids_call(agent, KATA_RPC_PAUSE_CONTAINER, container_id, NULL);
}

static int kata_resume_container(struct vc_agent *agent, const char *container_id)
{
    return kata_ids_call(agent, KATA_RPC_RESUME_CONTAINER, container_id, NULL);
}

static int kata_remove_stale_virtiofs_share_mounts(struct vc_agent *agent)
{
    return kata_ids_call(agent, KATA_RPC_REMOVE_STALE_VIRTIOFS_SHARE_MOUNTS, NULL, NULL);
}

/* 2018's ProcessListContainer (ListProcesses) left the agent protocol with kata 2.0. */
static int kata_process_list_container(struct vc_agent *agent, const char *container_id,
                                       const struct vc_ps_options *opts, char **ret_output)
{
    return vc_err(agent->ctx, -EOPNOTSUPP,
                  "kata agent: ListProcesses is not in the agent protocol (removed in kata 2.0)");
}

/* --- guest resources ---------------------------------------------------------------------------
 */

/* wait=false, as kata sends it. */
static int kata_online_cpu_mem(struct vc_agent *agent, uint32_t cpus, bool cpu_only)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_ONLINE_CPU_MEM, NULL, NULL);

    if (r >= 0) {
        ((Grpc__OnlineCPUMemRequest *) op.req)->wait = false;
        ((Grpc__OnlineCPUMemRequest *) op.req)->nb_cpus = cpus;
        ((Grpc__OnlineCPUMemRequest *) op.req)->cpu_only = cpu_only;
    }
    return op_end(&op, op_send(&op, r));
}

/* One address per memory section of block_size_mb: addr + (i * block_size_mb) << 20. */
static int kata_mem_hotplug_by_probe(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                     uint32_t block_size_mb)
{
    Grpc__MemHotplugByProbeRequest *req;
    struct kata_op op;
    size_t n;
    int r;

    if (!block_size_mb)
        return vc_err(agent->ctx, -EINVAL, "memorySectionSizeMB couldn't be zero");
    n = size_mb / block_size_mb;
    if (n > VC_KATA_ARRAY_MAX)
        return vc_err(agent->ctx, -EINVAL, "MemHotplugByProbe: %zu sections, more than %u", n,
                      VC_KATA_ARRAY_MAX);
    r = op_begin(&op, agent, KATA_RPC_MEM_HOTPLUG_BY_PROBE, NULL, NULL);
    req = (Grpc__MemHotplugByProbeRequest *) op.req;
    if (r >= 0 && n) {
        req->memhotplugprobeaddr = vc_kata_arena_array(&op.a, n, sizeof(uint64_t));
        r = req->memhotplugprobeaddr ? 0 : -ENOMEM;
    }
    for (size_t i = 0; r >= 0 && i < n; i++)
        req->memhotplugprobeaddr[i] = addr + (((uint64_t) i * block_size_mb) << 20);
    if (r >= 0)
        req->n_memhotplugprobeaddr = n;
    return op_end(&op, op_send(&op, r));
}

static int kata_reseed_rng(struct vc_agent *agent, const void *data, size_t len)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_RESEED_RANDOM_DEV, NULL, NULL);

    if (r >= 0)
        ((Grpc__ReseedRandomDevRequest *) op.req)->data =
            (ProtobufCBinaryData){.len = len, .data = (uint8_t *) data};
    return op_end(&op, op_send(&op, r));
}

/* Nothing to send for no mounts (kata skips a nil list). */
static int kata_update_ephemeral_mounts(struct vc_agent *agent, const struct vc_mount *mounts,
                                        size_t n)
{
    Grpc__UpdateEphemeralMountsRequest *req = NULL;
    struct kata_op op;
    int r;

    if (!n)
        return 0;
    r = op_begin(&op, agent, KATA_RPC_UPDATE_EPHEMERAL_MOUNTS, NULL, NULL);
    if (r >= 0)
        r = vc_kata_ephemeral_mounts_to_pb(&op.a, mounts, n, &req);
    if (r >= 0)
        op.req = &req->base;
    return op_end(&op, op_send(&op, r));
}

/* Asks for the memory block size and probe support, as kata's getGuestDetails caller does. */
static int kata_get_guest_details(struct vc_agent *agent, struct vc_guest_details *ret)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_GET_GUEST_DETAILS, NULL, NULL);

    if (r >= 0) {
        ((Grpc__GuestDetailsRequest *) op.req)->mem_block_size = true;
        ((Grpc__GuestDetailsRequest *) op.req)->mem_hotplug_probe = true;
    }
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_bad_reply(op.k, op.id,
                           vc_kata_guest_details_from_pb(
                               agent->ctx, (const Grpc__GuestDetailsResponse *) op.resp, ret));
    return op_end(&op, r);
}

static int kata_set_guest_date_time(struct vc_agent *agent, int64_t sec, int64_t usec)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_SET_GUEST_DATE_TIME, NULL, NULL);

    if (r >= 0) {
        ((Grpc__SetGuestDateTimeRequest *) op.req)->sec = sec;
        ((Grpc__SetGuestDateTimeRequest *) op.req)->usec = usec;
    }
    return op_end(&op, op_send(&op, r));
}

/* kata's copyFile: chunks of at most KATA_COPY_CHUNK bytes at advancing offsets, each carrying
 * the whole file's size and metadata; an empty file or a directory is one request without
 * data; a symlink's data is its target. */
static int kata_copy_file(struct vc_agent *agent, const struct vc_copy_file *file)
{
    struct vc_copy_file f;
    Grpc__CopyFileRequest *req = NULL;
    struct kata_op op;
    size_t off = 0, len;
    int r = 0;

    if (!file || !file->path || (file->size && !file->data))
        return vc_err(agent->ctx, -EINVAL, "kata agent: CopyFile without a path or data");
    f = *file;
    if (S_ISDIR(f.file_mode))
        f.size = 0;
    do {
        len = f.size - off > KATA_COPY_CHUNK ? KATA_COPY_CHUNK : f.size - off;
        r = op_begin(&op, agent, KATA_RPC_COPY_FILE, NULL, NULL);
        if (r >= 0)
            r = vc_kata_copy_file_to_pb(&op.a, &f, off, len, &req);
        if (r >= 0)
            op.req = &req->base;
        r = op_end(&op, op_send(&op, r));
        off += len;
    } while (r >= 0 && off < f.size);
    return r;
}

static int kata_add_swap(struct vc_agent *agent, const uint32_t *pci_path, size_t n)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_ADD_SWAP, NULL, NULL);

    if (r >= 0 && n) {
        ((Grpc__AddSwapRequest *) op.req)->pcipath = (uint32_t *) pci_path;
        ((Grpc__AddSwapRequest *) op.req)->n_pcipath = n;
    }
    return op_end(&op, op_send(&op, r));
}

/* A copy of a string field of the reply (a NULL field gives ""). */
static int kata_reply_str(struct kata_op *op, const char *s, char **ret)
{
    char *copy = vc_strdup(op->k->base.ctx, s ? s : "");

    if (!copy)
        return vc_err(op->k->base.ctx, -ENOMEM, "out of memory");
    *ret = copy;
    return 0;
}

static int kata_get_oom_event(struct vc_agent *agent, char **ret_container_id)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_GET_OOM_EVENT, NULL, NULL));

    if (r >= 0)
        r = kata_reply_str(&op, ((const Grpc__OOMEvent *) op.resp)->container_id, ret_container_id);
    return op_end(&op, r);
}

static int kata_get_agent_metrics(struct vc_agent *agent, char **ret_metrics)
{
    struct kata_op op;
    int r = op_send(&op, op_begin(&op, agent, KATA_RPC_GET_METRICS, NULL, NULL));

    if (r >= 0)
        r = kata_reply_str(&op, ((const Grpc__Metrics *) op.resp)->metrics, ret_metrics);
    return op_end(&op, r);
}

static int kata_get_diagnostic_data(struct vc_agent *agent, const char *log_type,
                                    const char *container_id, char **ret_data)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_GET_DIAGNOSTIC_DATA, container_id, NULL);

    if (r >= 0)
        kata_set_str(op.req, "log_type", log_type);
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_reply_str(&op, ((const Grpc__GetDiagnosticDataResponse *) op.resp)->data,
                           ret_data);
    return op_end(&op, r);
}

static int kata_get_guest_volume_stats(struct vc_agent *agent, const char *volume_guest_path,
                                       struct vc_volume_stats *ret)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_GET_VOLUME_STATS, NULL, NULL);

    if (r >= 0)
        kata_set_str(op.req, "volume_guest_path", volume_guest_path);
    r = op_send(&op, r);
    if (r >= 0)
        r = kata_bad_reply(op.k, op.id,
                           vc_kata_volume_stats_from_pb(
                               agent->ctx, (const Grpc__VolumeStatsResponse *) op.resp, ret));
    return op_end(&op, r);
}

static int kata_resize_guest_volume(struct vc_agent *agent, const char *volume_guest_path,
                                    uint64_t size)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_RESIZE_VOLUME, NULL, NULL);

    if (r >= 0) {
        kata_set_str(op.req, "volume_guest_path", volume_guest_path);
        ((Grpc__ResizeVolumeRequest *) op.req)->size = size;
    }
    return op_end(&op, op_send(&op, r));
}

static int kata_get_iptables(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len)
{
    const ProtobufCBinaryData *data;
    struct kata_op op;
    uint8_t *copy = NULL;
    int r = op_begin(&op, agent, KATA_RPC_GET_IPTABLES, NULL, NULL);

    if (r >= 0)
        ((Grpc__GetIPTablesRequest *) op.req)->is_ipv6 = ipv6;
    r = op_send(&op, r);
    if (r < 0)
        return op_end(&op, r);
    data = &((const Grpc__GetIPTablesResponse *) op.resp)->data;
    if (data->len && !(copy = vc_malloc(agent->ctx, data->len)))
        return op_end(&op, vc_err(agent->ctx, -ENOMEM, "out of memory"));
    if (data->len)
        memcpy(copy, data->data, data->len);
    *ret = copy;
    *ret_len = data->len;
    return op_end(&op, 0);
}

static int kata_set_iptables(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len)
{
    struct kata_op op;
    int r = op_begin(&op, agent, KATA_RPC_SET_IPTABLES, NULL, NULL);

    if (r >= 0) {
        ((Grpc__SetIPTablesRequest *) op.req)->is_ipv6 = ipv6;
        ((Grpc__SetIPTablesRequest *) op.req)->data =
            (ProtobufCBinaryData){.len = len, .data = (uint8_t *) data};
    }
    return op_end(&op, op_send(&op, r));
}

const struct vc_agent_ops vc_kata_agent_ops = {
    .version = VC_AGENT_OPS_V1,
    .name = "kata",
    .init = kata_init,
    .load = kata_load,
    .destroy = kata_destroy,
    .capabilities = kata_capabilities,
    .check = kata_check,
    .long_live_conn = kata_long_live_conn,
    .disconnect = kata_disconnect_op,
    .get_agent_url = kata_get_agent_url,
    .set_agent_url = kata_set_agent_url,
    .reuse_agent = kata_reuse_agent,
    .create_sandbox = kata_create_sandbox,
    .exec = kata_exec,
    .start_sandbox = kata_start_sandbox,
    .stop_sandbox = kata_stop_sandbox,
    .create_container = kata_create_container,
    .start_container = kata_start_container,
    .stop_container = kata_stop_container,
    .signal_process = kata_signal_process,
    .winsize_process = kata_winsize_process,
    .write_process_stdin = kata_write_process_stdin,
    .close_process_stdin = kata_close_process_stdin,
    .read_process_stdout = kata_read_process_stdout,
    .read_process_stderr = kata_read_process_stderr,
    .update_container = kata_update_container,
    .wait_process = kata_wait_process,
    .online_cpu_mem = kata_online_cpu_mem,
    .mem_hotplug_by_probe = kata_mem_hotplug_by_probe,
    .stats_container = kata_stats_container,
    .pause_container = kata_pause_container,
    .resume_container = kata_resume_container,
    .remove_stale_virtiofs_share_mounts = kata_remove_stale_virtiofs_share_mounts,
    .configure = kata_configure,
    .configure_from_grpc = kata_configure,
    .reseed_rng = kata_reseed_rng,
    .update_interface = kata_update_interface,
    .list_interfaces = kata_list_interfaces,
    .update_ephemeral_mounts = kata_update_ephemeral_mounts,
    .update_routes = kata_update_routes,
    .list_routes = kata_list_routes,
    .get_guest_details = kata_get_guest_details,
    .set_guest_date_time = kata_set_guest_date_time,
    .copy_file = kata_copy_file,
    .add_swap = kata_add_swap,
    .mark_dead = kata_mark_dead,
    .cleanup = kata_cleanup,
    .save = kata_save,
    .get_oom_event = kata_get_oom_event,
    .get_agent_metrics = kata_get_agent_metrics,
    .get_guest_volume_stats = kata_get_guest_volume_stats,
    .resize_guest_volume = kata_resize_guest_volume,
    .get_iptables = kata_get_iptables,
    .set_iptables = kata_set_iptables,
    .set_policy = kata_set_policy,
    .get_diagnostic_data = kata_get_diagnostic_data,
    .kill_container = kata_kill_container,
    .process_list_container = kata_process_list_container,
};
