/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent (core/kata) against a scripted ttrpc peer: a real context, a vc_ttrpc_server
 * listening on a unix socket in a temporary directory and serving grpc.AgentService and
 * grpc.Health, recording every request (method, decoded payload, timeout) and answering from a
 * script. The agent dials it through vc_dial like any agent URL. Checks the exact requests of
 * each op (sequences, chunking, deadlines sent as timeout_nano), status → errno, deadline and
 * dial failures, connection reuse, save/load. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/kata.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>
#include <vc/vc.h>

#include "convert.h"

#define NS_PER_S   UINT64_C(1000000000)
#define MS(n)      ((uint64_t) (n) *UINT64_C(1000000))
#define REC_MAX    64
#define SCRIPT_MAX 16

/* --- the scripted peer ------------------------------------------------------------------------ */

struct rec {
    char *method;          /* ttrpc method */
    ProtobufCMessage *msg; /* decoded request */
    int64_t timeout_ns;    /* the request's timeout_nano */
};

struct reply {
    const char *method;           /* which RPC this answers (first unused match wins) */
    int code;                     /* status code (0: OK) */
    const char *message;          /* status message */
    const ProtobufCMessage *resp; /* OK payload (NULL: empty) */
    bool hang;                    /* never answer */
    bool used;                    /* consumed */
};

struct peer {
    struct vc_ctx *ctx;              /* real context */
    char dir[64];                    /* temporary directory */
    char url[128];                   /* unix://<dir>/agent.sock */
    struct vc_ttrpc_server *srv;     /* the server */
    struct rec recs[REC_MAX];        /* requests seen, in order */
    size_t n;                        /* number of recs */
    struct reply script[SCRIPT_MAX]; /* scripted answers */
    size_t n_script;                 /* number of script */
    struct vc_agent *agent;          /* the kata agent under test */
};

static const char *const agent_methods[] = {"CreateContainer",
                                            "StartContainer",
                                            "RemoveContainer",
                                            "ExecProcess",
                                            "SignalProcess",
                                            "WaitProcess",
                                            "UpdateContainer",
                                            "UpdateEphemeralMounts",
                                            "StatsContainer",
                                            "PauseContainer",
                                            "ResumeContainer",
                                            "RemoveStaleVirtiofsShareMounts",
                                            "GetDiagnosticData",
                                            "WriteStdin",
                                            "ReadStdout",
                                            "ReadStderr",
                                            "CloseStdin",
                                            "TtyWinResize",
                                            "UpdateInterface",
                                            "UpdateRoutes",
                                            "ListInterfaces",
                                            "ListRoutes",
                                            "AddARPNeighbors",
                                            "GetIPTables",
                                            "SetIPTables",
                                            "GetMetrics",
                                            "MemAgentMemcgSet",
                                            "MemAgentCompactSet",
                                            "CreateSandbox",
                                            "DestroySandbox",
                                            "OnlineCPUMem",
                                            "ReseedRandomDev",
                                            "GetGuestDetails",
                                            "MemHotplugByProbe",
                                            "SetGuestDateTime",
                                            "CopyFile",
                                            "GetOOMEvent",
                                            "AddSwap",
                                            "AddSwapPath",
                                            "GetVolumeStats",
                                            "ResizeVolume",
                                            "SetPolicy",
                                            NULL};
static const char *const health_methods[] = {"Check", "Version", NULL};

/* The request type of each method the agent sends. */
static const struct {
    const char *method;                     /* ttrpc method */
    const ProtobufCMessageDescriptor *desc; /* its request type */
} req_types[] = {
    {"Check", &grpc__check_request__descriptor},
    {"CreateContainer", &grpc__create_container_request__descriptor},
    {"StartContainer", &grpc__start_container_request__descriptor},
    {"RemoveContainer", &grpc__remove_container_request__descriptor},
    {"ExecProcess", &grpc__exec_process_request__descriptor},
    {"SignalProcess", &grpc__signal_process_request__descriptor},
    {"WaitProcess", &grpc__wait_process_request__descriptor},
    {"UpdateContainer", &grpc__update_container_request__descriptor},
    {"UpdateEphemeralMounts", &grpc__update_ephemeral_mounts_request__descriptor},
    {"StatsContainer", &grpc__stats_container_request__descriptor},
    {"PauseContainer", &grpc__pause_container_request__descriptor},
    {"ResumeContainer", &grpc__resume_container_request__descriptor},
    {"RemoveStaleVirtiofsShareMounts",
     &grpc__remove_stale_virtiofs_share_mounts_request__descriptor},
    {"GetDiagnosticData", &grpc__get_diagnostic_data_request__descriptor},
    {"WriteStdin", &grpc__write_stream_request__descriptor},
    {"ReadStdout", &grpc__read_stream_request__descriptor},
    {"ReadStderr", &grpc__read_stream_request__descriptor},
    {"CloseStdin", &grpc__close_stdin_request__descriptor},
    {"TtyWinResize", &grpc__tty_win_resize_request__descriptor},
    {"UpdateInterface", &grpc__update_interface_request__descriptor},
    {"UpdateRoutes", &grpc__update_routes_request__descriptor},
    {"ListInterfaces", &grpc__list_interfaces_request__descriptor},
    {"ListRoutes", &grpc__list_routes_request__descriptor},
    {"AddARPNeighbors", &grpc__add_arpneighbors_request__descriptor},
    {"GetIPTables", &grpc__get_iptables_request__descriptor},
    {"SetIPTables", &grpc__set_iptables_request__descriptor},
    {"GetMetrics", &grpc__get_metrics_request__descriptor},
    {"CreateSandbox", &grpc__create_sandbox_request__descriptor},
    {"DestroySandbox", &grpc__destroy_sandbox_request__descriptor},
    {"OnlineCPUMem", &grpc__online_cpumem_request__descriptor},
    {"ReseedRandomDev", &grpc__reseed_random_dev_request__descriptor},
    {"GetGuestDetails", &grpc__guest_details_request__descriptor},
    {"MemHotplugByProbe", &grpc__mem_hotplug_by_probe_request__descriptor},
    {"SetGuestDateTime", &grpc__set_guest_date_time_request__descriptor},
    {"CopyFile", &grpc__copy_file_request__descriptor},
    {"GetOOMEvent", &grpc__get_oomevent_request__descriptor},
    {"AddSwap", &grpc__add_swap_request__descriptor},
    {"GetVolumeStats", &grpc__volume_stats_request__descriptor},
    {"ResizeVolume", &grpc__resize_volume_request__descriptor},
    {"SetPolicy", &grpc__set_policy_request__descriptor},
};

static const ProtobufCMessageDescriptor *req_type(const char *method)
{
    for (size_t i = 0; i < sizeof(req_types) / sizeof(req_types[0]); i++)
        if (strcmp(req_types[i].method, method) == 0)
            return req_types[i].desc;
    return NULL;
}

static void handler(void *data, struct vc_ttrpc_call *call, const char *method,
                    const uint8_t *payload, size_t len)
{
    struct peer *p = data;
    const ProtobufCMessageDescriptor *desc = req_type(method);
    ProtobufCMessage *msg = NULL;
    struct rec *rec;

    assert_non_null(desc); /* the agent sends only what it should */
    assert_true(p->n < REC_MAX);
    if (vc_ttrpc_call_decode(call, desc, payload, len, &msg) < 0)
        fail_msg("request %s does not decode", method);
    rec = &p->recs[p->n++];
    rec->method = strdup(method);
    rec->msg = msg;
    rec->timeout_ns = vc_ttrpc_call_timeout_ns(call);
    for (size_t i = 0; i < p->n_script; i++) {
        struct reply *r = &p->script[i];

        if (r->used || strcmp(r->method, method) != 0)
            continue;
        r->used = true;
        if (r->hang)
            return;
        if (r->code)
            (void) vc_ttrpc_reply_error(call, r->code, r->message);
        else
            (void) vc_ttrpc_reply(call, r->resp);
        return;
    }
    (void) vc_ttrpc_reply(call, NULL);
}

static void script(struct peer *p, const char *method, int code, const char *message,
                   const ProtobufCMessage *resp)
{
    assert_true(p->n_script < SCRIPT_MAX);
    p->script[p->n_script++] =
        (struct reply){.method = method, .code = code, .message = message, .resp = resp};
}

static void script_hang(struct peer *p, const char *method)
{
    script(p, method, 0, NULL, NULL);
    p->script[p->n_script - 1].hang = true;
}

static void peer_forget(struct peer *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->recs[i].method);
        vc_ttrpc_msg_free(p->ctx, p->recs[i].msg);
    }
    p->n = 0;
    p->n_script = 0;
}

/* The agent with a config (url filled in when cfg->url is NULL). */
static void peer_agent(struct peer *p, struct vc_agent_config *cfg)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops};

    vc_agent_free(p->agent);
    p->agent = NULL;
    if (!cfg->url)
        cfg->url = p->url;
    assert_int_equal(vc_agent_init(p->ctx, &be, "sb1", cfg, &p->agent), 0);
}

/* A server serving both services on p->url. */
static void peer_serve(struct peer *p)
{
    struct vc_listener *l = NULL;

    assert_int_equal(vc_ttrpc_server_new(p->ctx, &p->srv), 0);
    assert_int_equal(
        vc_ttrpc_server_register(p->srv, "grpc.AgentService", agent_methods, handler, p), 0);
    assert_int_equal(vc_ttrpc_server_register(p->srv, "grpc.Health", health_methods, handler, p),
                     0);
    assert_int_equal(vc_listen(p->ctx, p->url, &l), 0);
    assert_int_equal(vc_ttrpc_server_listen(p->srv, l), 0);
}

static int setup(void **state)
{
    struct peer *p = calloc(1, sizeof(*p));
    char root[] = "/tmp/vc-kagent-root-XXXXXX";
    struct vc_agent_config cfg = {0};

    assert_non_null(p);
    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &p->ctx), 0);
    assert_int_equal(rmdir(root), 0);
    snprintf(p->dir, sizeof(p->dir), "/tmp/vc-kagent-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->url, sizeof(p->url), "unix://%s/agent.sock", p->dir);
    peer_serve(p);
    peer_agent(p, &cfg);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct peer *p = *state;

    vc_agent_free(p->agent);
    peer_forget(p);
    vc_ttrpc_server_free(p->srv);
    vc_ctx_free(p->ctx);
    (void) rmdir(p->dir);
    free(p);
    return 0;
}

/* The i-th recorded request, checked to be method. */
static void *req_at(struct peer *p, size_t i, const char *method)
{
    assert_true(i < p->n);
    assert_string_equal(p->recs[i].method, method);
    return p->recs[i].msg;
}

/* Lets the loop run a little (the server notices a closed connection). */
static void settle(struct peer *p)
{
    (void) vc_ctx_sleep_until(p->ctx, vc_now(p->ctx) + MS(20));
}

/* A timeout_nano sent for a deadline of want seconds: a little under it, never over. */
static void assert_timeout(const struct rec *r, uint64_t want_ns)
{
    assert_true((uint64_t) r->timeout_ns <= want_ns);
    assert_true((uint64_t) r->timeout_ns > want_ns - (want_ns < MS(2000) ? want_ns / 2 : MS(1000)));
}

/* --- sandbox ---------------------------------------------------------------------------------- */

static void test_check(void **state)
{
    struct peer *p = *state;
    Grpc__HealthCheckResponse serving = GRPC__HEALTH_CHECK_RESPONSE__INIT;

    /* The status is not looked at: UNKNOWN (kata's mock answers that) is as good as SERVING. */
    assert_int_equal(vc_agent_check(p->agent), 0);
    serving.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    script(p, "Check", 0, NULL, &serving.base);
    assert_int_equal(vc_agent_check(p->agent), 0);
    assert_int_equal(p->n, 2);
    assert_string_equal(((Grpc__CheckRequest *) req_at(p, 0, "Check"))->service, "");
    assert_timeout(&p->recs[0], 30 * NS_PER_S);
    /* A failure is worded as kata words it. */
    script(p, "Check", VC_STATUS_UNAVAILABLE, "not yet", NULL);
    assert_int_equal(vc_agent_check(p->agent), -ECONNREFUSED);
    assert_string_equal(vc_ctx_errmsg(p->ctx),
                        "Failed to Check if grpc server is working: Check: not yet (UNAVAILABLE)");
}

static void test_start_sandbox(void **state)
{
    struct peer *p = *state;
    struct vc_ip_address ip = {.family = VC_IP_V4, .address = "10.0.0.2", .mask = "24"};
    struct vc_interface ifs[] = {{.device = "eth0", .name = "eth0", .addrs = &ip, .n_addrs = 1},
                                 {.device = "eth1", .name = "eth1"}};
    struct vc_route routes[] = {{.dest = "10.0.0.0/24", .device = "eth0"}};
    struct vc_arp_neighbor nbs[] = {{.to = {.address = "10.0.0.1"}, .device = "eth0"}};
    char *dns[] = {"nameserver 1.1.1.1"};
    char host[80];
    struct vc_sandbox_config cfg = {.id = "sb1",
                                    .hostname = host,
                                    .agent = {.policy = "package agent_policy"},
                                    .net = {.interfaces = ifs,
                                            .n_interfaces = 2,
                                            .routes = routes,
                                            .n_routes = 1,
                                            .neighbors = nbs,
                                            .n_neighbors = 1,
                                            .dns = dns,
                                            .n_dns = 1}};
    static const char *const order[] = {"Check",           "SetPolicy",    "UpdateInterface",
                                        "UpdateInterface", "UpdateRoutes", "AddARPNeighbors",
                                        "CreateSandbox"};
    Grpc__CreateSandboxRequest *cs;
    Grpc__UpdateInterfaceRequest *ui;

    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    /* An agent too old for AddARPNeighbors is let off. */
    script(p, "AddARPNeighbors", VC_STATUS_UNIMPLEMENTED, "method AddARPNeighbors", NULL);
    assert_int_equal(vc_agent_create_sandbox(p->agent, &cfg), 0);
    assert_int_equal(p->n, 0); /* kata's createSandbox sends nothing */
    assert_int_equal(vc_agent_start_sandbox(p->agent, &cfg), 0);
    assert_int_equal(p->n, 7);
    for (size_t i = 0; i < 7; i++)
        (void) req_at(p, i, order[i]);
    assert_string_equal(((Grpc__SetPolicyRequest *) p->recs[1].msg)->policy,
                        "package agent_policy");
    ui = req_at(p, 2, "UpdateInterface");
    assert_string_equal(ui->interface->name, "eth0");
    assert_string_equal(ui->interface->ipaddresses[0]->address, "10.0.0.2");
    cs = req_at(p, 6, "CreateSandbox");
    assert_int_equal(strlen(cs->hostname), 64);
    assert_string_equal(cs->sandbox_id, "sb1");
    assert_int_equal(cs->n_dns, 1);
    assert_string_equal(cs->dns[0], "nameserver 1.1.1.1");
    assert_false(cs->sandbox_pidns);
    assert_timeout(&p->recs[6], 60 * NS_PER_S);

    peer_forget(p);
    assert_int_equal(vc_agent_stop_sandbox(p->agent), 0);
    (void) req_at(p, 0, "DestroySandbox");

    /* A failing step stops the sequence there. */
    peer_forget(p);
    script(p, "UpdateInterface", VC_STATUS_INTERNAL, "netlink said no", NULL);
    assert_int_equal(vc_agent_start_sandbox(p->agent, &cfg), -EIO);
    assert_string_equal(vc_ctx_errmsg(p->ctx), "UpdateInterface: netlink said no (INTERNAL)");
    assert_int_equal(p->n, 3);
}

/* --- containers and processes ----------------------------------------------------------------- */

static void test_container_lifecycle(void **state)
{
    struct peer *p = *state;
    char *args[] = {"sh", "-c", "true"};
    struct vc_container_config cc = {
        .id = "c1", .rootfs = "/rootfs", .process = {.args = args, .n_args = 3, .cwd = "/"}};
    struct vc_agent_config cfg = {.create_container_timeout_ms = 5000};
    Grpc__WaitProcessResponse wait = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    Grpc__CreateContainerRequest *req;
    Grpc__RemoveContainerRequest *rm;
    struct vc_process proc = {0};
    int32_t status = -1;

    peer_agent(p, &cfg);
    assert_int_equal(vc_agent_create_container(p->agent, &cc, &proc), 0);
    assert_string_equal(proc.exec_id, "c1");
    assert_int_equal(proc.pid, 0);
    vc_process_clear(p->ctx, &proc);
    req = req_at(p, 0, "CreateContainer");
    assert_string_equal(req->container_id, "c1");
    assert_string_equal(req->exec_id, "c1");
    assert_string_equal(req->oci->root->path, "/rootfs");
    assert_int_equal(req->oci->process->n_args, 3);
    assert_string_equal(req->oci->process->args[2], "true");
    assert_timeout(&p->recs[0], 5 * NS_PER_S);

    assert_int_equal(vc_agent_start_container(p->agent, "c1"), 0);
    assert_string_equal(
        ((Grpc__StartContainerRequest *) req_at(p, 1, "StartContainer"))->container_id, "c1");
    assert_timeout(&p->recs[1], 60 * NS_PER_S);

    /* stop = RemoveContainer{timeout 0} only: the core kills and waits first. */
    assert_int_equal(vc_agent_stop_container(p->agent, "c1"), 0);
    assert_int_equal(p->n, 3);
    rm = req_at(p, 2, "RemoveContainer");
    assert_string_equal(rm->container_id, "c1");
    assert_int_equal(rm->timeout, 0);

    /* WaitProcess has no deadline: timeout_nano 0. */
    wait.status = 137;
    script(p, "WaitProcess", 0, NULL, &wait.base);
    assert_int_equal(vc_agent_wait_process(p->agent, "c1", "c1", &status), 0);
    assert_int_equal(status, 137);
    assert_string_equal(((Grpc__WaitProcessRequest *) req_at(p, 3, "WaitProcess"))->exec_id, "c1");
    assert_int_equal(p->recs[3].timeout_ns, 0);

    assert_int_equal(vc_agent_pause_container(p->agent, "c1"), 0);
    assert_int_equal(vc_agent_resume_container(p->agent, "c1"), 0);
    (void) req_at(p, 4, "PauseContainer");
    (void) req_at(p, 5, "ResumeContainer");
    assert_int_equal(vc_agent_remove_stale_virtiofs_share_mounts(p->agent), 0);
    (void) req_at(p, 6, "RemoveStaleVirtiofsShareMounts");
}

static void test_signals(void **state)
{
    struct peer *p = *state;
    Grpc__SignalProcessRequest *sp;
    char *out = NULL;

    /* all: exec id "" means every process of the container. */
    assert_int_equal(vc_agent_signal_process(p->agent, "c1", "e1", SIGKILL, true), 0);
    sp = req_at(p, 0, "SignalProcess");
    assert_string_equal(sp->container_id, "c1");
    assert_string_equal(sp->exec_id, "");
    assert_int_equal(sp->signal, SIGKILL);
    assert_int_equal(vc_agent_signal_process(p->agent, "c1", "e1", SIGTERM, false), 0);
    sp = req_at(p, 1, "SignalProcess");
    assert_string_equal(sp->exec_id, "e1");
    assert_int_equal(sp->signal, SIGTERM);
    /* A process already gone: kata counts the signal as delivered. */
    script(p, "SignalProcess", VC_STATUS_INTERNAL, "ESRCH: No such process", NULL);
    assert_int_equal(vc_agent_signal_process(p->agent, "c1", "e1", SIGTERM, false), 0);
    /* The 2018 seed's killContainer signals the init (exec id = container id). */
    assert_int_equal(vc_agent_kill_container(p->agent, "c1", SIGUSR1, false), 0);
    sp = req_at(p, 3, "SignalProcess");
    assert_string_equal(sp->exec_id, "c1");
    assert_int_equal(sp->signal, SIGUSR1);
    /* ListProcesses is gone from the protocol: refused without a request. */
    assert_int_equal(vc_agent_process_list_container(p->agent, "c1", NULL, &out), -EOPNOTSUPP);
    assert_non_null(strstr(vc_ctx_errmsg(p->ctx), "ListProcesses"));
    assert_int_equal(p->n, 4);
}

static void test_exec_and_io(void **state)
{
    struct peer *p = *state;
    char *args[] = {"cat"};
    struct vc_process_config cmd = {.args = args, .n_args = 1, .terminal = true};
    Grpc__WriteStreamResponse wr = GRPC__WRITE_STREAM_RESPONSE__INIT, greedy = wr;
    Grpc__ReadStreamResponse rd = GRPC__READ_STREAM_RESPONSE__INIT;
    Grpc__ExecProcessRequest *ex;
    Grpc__ReadStreamRequest *rq;
    Grpc__TtyWinResizeRequest *tw;
    struct vc_process proc = {0};
    char buf[16];
    size_t n = 99;

    assert_int_equal(vc_agent_exec(p->agent, "c1", "e1", &cmd, &proc), 0);
    assert_string_equal(proc.exec_id, "e1");
    vc_process_clear(p->ctx, &proc);
    ex = req_at(p, 0, "ExecProcess");
    assert_string_equal(ex->container_id, "c1");
    assert_string_equal(ex->exec_id, "e1");
    assert_true(ex->process->terminal);
    assert_string_equal(ex->process->args[0], "cat");

    wr.len = 3;
    script(p, "WriteStdin", 0, NULL, &wr.base);
    assert_int_equal(vc_agent_write_process_stdin(p->agent, "c1", "e1", "hello", 5, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(((Grpc__WriteStreamRequest *) req_at(p, 1, "WriteStdin"))->data.len, 5);
    /* An agent claiming more than it was given breaks the protocol. */
    greedy.len = 6;
    script(p, "WriteStdin", 0, NULL, &greedy.base);
    assert_int_equal(vc_agent_write_process_stdin(p->agent, "c1", "e1", "hello", 5, &n), -EPROTO);

    rd.data = (ProtobufCBinaryData){.len = 5, .data = (uint8_t *) "world"};
    script(p, "ReadStdout", 0, NULL, &rd.base);
    assert_int_equal(vc_agent_read_process_stdout(p->agent, "c1", "e1", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "world", 5);
    rq = req_at(p, 3, "ReadStdout");
    assert_int_equal(rq->len, sizeof(buf));
    assert_int_equal(p->recs[3].timeout_ns, 0);
    /* No data is the end of the stream. */
    assert_int_equal(vc_agent_read_process_stderr(p->agent, "c1", "e1", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 0);
    (void) req_at(p, 4, "ReadStderr");
    assert_int_equal(p->recs[4].timeout_ns, 0);
    /* More bytes than asked for: refused, nothing written past the buffer. */
    script(p, "ReadStdout", 0, NULL, &rd.base);
    assert_int_equal(vc_agent_read_process_stdout(p->agent, "c1", "e1", buf, 4, &n), -EPROTO);

    assert_int_equal(vc_agent_close_process_stdin(p->agent, "c1", "e1"), 0);
    (void) req_at(p, 6, "CloseStdin");
    assert_int_equal(vc_agent_winsize_process(p->agent, "c1", "e1", 50, 132), 0);
    tw = req_at(p, 7, "TtyWinResize");
    assert_int_equal(tw->row, 50);
    assert_int_equal(tw->column, 132);
}

static void test_update_and_stats(void **state)
{
    struct peer *p = *state;
    struct vc_resources res = {.cpu_quota = 20000, .cpu_period = 100000, .memory_limit = 1 << 30};
    struct vc_container_stats want = {.cpu_total_ns = 5,
                                      .mem_usage = 6,
                                      .pids_current = 7,
                                      .net_rx_bytes = 8},
                              got = {0};
    Grpc__StatsContainerResponse *resp = NULL;
    Grpc__UpdateContainerRequest *uc;
    struct vc_kata_arena a;

    assert_int_equal(vc_agent_update_container(p->agent, "c1", &res), 0);
    uc = req_at(p, 0, "UpdateContainer");
    assert_string_equal(uc->container_id, "c1");
    assert_int_equal(uc->resources->cpu->quota, 20000);
    assert_int_equal(uc->resources->memory->limit, 1 << 30);

    vc_kata_arena_init(&a, p->ctx);
    assert_int_equal(vc_kata_stats_to_pb(&a, &want, &resp), 0);
    script(p, "StatsContainer", 0, NULL, &resp->base);
    assert_int_equal(vc_agent_stats_container(p->agent, "c1", &got), 0);
    vc_kata_arena_free(&a);
    assert_memory_equal(&got, &want, sizeof(got));
}

/* --- files ------------------------------------------------------------------------------------ */

static void test_copy_file(void **state)
{
    struct peer *p = *state;
    size_t size = 5u << 19; /* 2.5 MiB */
    uint8_t *data = malloc(size);
    struct vc_copy_file f = {.path = "/run/kata-containers/shared/big",
                             .file_mode = S_IFREG | 0640,
                             .dir_mode = 0750,
                             .uid = 7,
                             .gid = 8,
                             .data = data,
                             .size = size};
    static const size_t offs[] = {0, 1u << 20, 2u << 20};
    static const size_t lens[] = {1u << 20, 1u << 20, 1u << 19};

    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t) (i * 7);
    assert_int_equal(vc_agent_copy_file(p->agent, &f), 0);
    assert_int_equal(p->n, 3);
    for (size_t i = 0; i < 3; i++) {
        Grpc__CopyFileRequest *c = req_at(p, i, "CopyFile");

        assert_string_equal(c->path, f.path);
        assert_int_equal(c->offset, offs[i]);
        assert_int_equal(c->file_size, size);
        assert_int_equal(c->data.len, lens[i]);
        assert_memory_equal(c->data.data, data + offs[i], lens[i]);
        assert_int_equal(c->file_mode, S_IFREG | 0640);
        assert_int_equal(c->dir_mode, 0750);
        assert_int_equal(c->uid, 7);
        assert_int_equal(c->gid, 8);
    }
    /* An empty file, a directory: one request without data. A symlink: its target. */
    peer_forget(p);
    f.size = 0;
    assert_int_equal(vc_agent_copy_file(p->agent, &f), 0);
    f.file_mode = S_IFDIR | 0755;
    f.size = 10;
    assert_int_equal(vc_agent_copy_file(p->agent, &f), 0);
    f.file_mode = S_IFLNK | 0777;
    f.data = (uint8_t *) "../target";
    f.size = 9;
    assert_int_equal(vc_agent_copy_file(p->agent, &f), 0);
    assert_int_equal(p->n, 3);
    assert_int_equal(((Grpc__CopyFileRequest *) req_at(p, 0, "CopyFile"))->data.len, 0);
    assert_int_equal(((Grpc__CopyFileRequest *) req_at(p, 1, "CopyFile"))->data.len, 0);
    assert_int_equal(((Grpc__CopyFileRequest *) req_at(p, 1, "CopyFile"))->file_size, 0);
    assert_memory_equal(((Grpc__CopyFileRequest *) req_at(p, 2, "CopyFile"))->data.data,
                        "../target", 9);
    /* A failing chunk stops the copy. */
    peer_forget(p);
    f = (struct vc_copy_file){.path = "/run/x", .file_mode = S_IFREG, .data = data, .size = size};
    script(p, "CopyFile", 0, NULL, NULL);
    script(p, "CopyFile", VC_STATUS_RESOURCE_EXHAUSTED, "no space", NULL);
    assert_int_equal(vc_agent_copy_file(p->agent, &f), -ENOSPC);
    assert_int_equal(p->n, 2);
    free(data);
}

/* --- guest ------------------------------------------------------------------------------------ */

static void test_guest_ops(void **state)
{
    struct peer *p = *state;
    Grpc__GuestDetailsResponse gd = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails ad = GRPC__AGENT_DETAILS__INIT;
    Grpc__OOMEvent oom = GRPC__OOMEVENT__INIT;
    Grpc__Metrics met = GRPC__METRICS__INIT;
    Grpc__GetIPTablesResponse ipt = GRPC__GET_IPTABLES_RESPONSE__INIT;
    Grpc__GetDiagnosticDataResponse diag = GRPC__GET_DIAGNOSTIC_DATA_RESPONSE__INIT;
    struct vc_guest_details det = {0};
    Grpc__MemHotplugByProbeRequest *mp;
    Grpc__OnlineCPUMemRequest *on;
    Grpc__GuestDetailsRequest *gr;
    uint32_t pci[] = {2, 3};
    uint8_t *rules = NULL;
    uint8_t seed[512] = {1};
    size_t n = 0;
    char *s = NULL;

    gd.mem_block_size_bytes = 128u << 20;
    gd.support_mem_hotplug_probe = true;
    ad.version = "3.18.0";
    gd.agent_details = &ad;
    script(p, "GetGuestDetails", 0, NULL, &gd.base);
    assert_int_equal(vc_agent_get_guest_details(p->agent, &det), 0);
    gr = req_at(p, 0, "GetGuestDetails");
    assert_true(gr->mem_block_size);
    assert_true(gr->mem_hotplug_probe);
    assert_int_equal(det.mem_block_size_bytes, 128u << 20);
    assert_true(det.support_mem_hotplug_probe);
    assert_string_equal(det.agent_version, "3.18.0");
    vc_guest_details_clear(p->ctx, &det);

    /* One address per section: 512 MiB in 128 MiB sections. */
    assert_int_equal(vc_agent_mem_hotplug_by_probe(p->agent, 0x100000000ull, 512, 128), 0);
    mp = req_at(p, 1, "MemHotplugByProbe");
    assert_int_equal(mp->n_memhotplugprobeaddr, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(mp->memhotplugprobeaddr[i] == 0x100000000ull + ((uint64_t) i * 128 << 20));
    assert_int_equal(vc_agent_mem_hotplug_by_probe(p->agent, 0, 512, 0), -EINVAL);

    assert_int_equal(vc_agent_online_cpu_mem(p->agent, 4, true), 0);
    on = req_at(p, 2, "OnlineCPUMem");
    assert_false(on->wait);
    assert_int_equal(on->nb_cpus, 4);
    assert_true(on->cpu_only);

    assert_int_equal(vc_agent_set_guest_date_time(p->agent, 1700000000, 123456), 0);
    assert_int_equal(((Grpc__SetGuestDateTimeRequest *) req_at(p, 3, "SetGuestDateTime"))->usec,
                     123456);
    assert_int_equal(vc_agent_reseed_rng(p->agent, seed, sizeof(seed)), 0);
    assert_int_equal(((Grpc__ReseedRandomDevRequest *) req_at(p, 4, "ReseedRandomDev"))->data.len,
                     512);
    assert_int_equal(vc_agent_add_swap(p->agent, pci, 2), 0);
    assert_int_equal(((Grpc__AddSwapRequest *) req_at(p, 5, "AddSwap"))->pcipath[1], 3);

    oom.container_id = "c3";
    script(p, "GetOOMEvent", 0, NULL, &oom.base);
    assert_int_equal(vc_agent_get_oom_event(p->agent, &s), 0);
    assert_string_equal(s, "c3");
    vc_free(p->ctx, s);
    assert_int_equal(p->recs[6].timeout_ns, 0); /* GetOOMEvent blocks: no deadline */

    met.metrics = "# HELP x\nx 1\n";
    script(p, "GetMetrics", 0, NULL, &met.base);
    assert_int_equal(vc_agent_get_agent_metrics(p->agent, &s), 0);
    assert_string_equal(s, met.metrics);
    vc_free(p->ctx, s);

    ipt.data = (ProtobufCBinaryData){.len = 3, .data = (uint8_t *) "*f\n"};
    script(p, "GetIPTables", 0, NULL, &ipt.base);
    assert_int_equal(vc_agent_get_iptables(p->agent, true, &rules, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(rules, "*f\n", 3);
    vc_free(p->ctx, rules);
    assert_true(((Grpc__GetIPTablesRequest *) req_at(p, 8, "GetIPTables"))->is_ipv6);
    assert_int_equal(vc_agent_set_iptables(p->agent, false, (const uint8_t *) "COMMIT\n", 7), 0);
    assert_int_equal(((Grpc__SetIPTablesRequest *) req_at(p, 9, "SetIPTables"))->data.len, 7);

    diag.data = "last words";
    script(p, "GetDiagnosticData", 0, NULL, &diag.base);
    assert_int_equal(vc_agent_get_diagnostic_data(p->agent, "termination_log", "c1", &s), 0);
    assert_string_equal(s, "last words");
    vc_free(p->ctx, s);
    assert_string_equal(
        ((Grpc__GetDiagnosticDataRequest *) req_at(p, 10, "GetDiagnosticData"))->log_type,
        "termination_log");

    assert_int_equal(vc_agent_set_policy(p->agent, "default allow"), 0);
    assert_string_equal(((Grpc__SetPolicyRequest *) req_at(p, 11, "SetPolicy"))->policy,
                        "default allow");
    assert_int_equal(vc_agent_resize_guest_volume(p->agent, "/vol", 1 << 30), 0);
    assert_int_equal(((Grpc__ResizeVolumeRequest *) req_at(p, 12, "ResizeVolume"))->size, 1 << 30);
}

static void test_network_ops(void **state)
{
    struct peer *p = *state;
    struct vc_ip_address bad_ip = {.family = 5, .address = "x"};
    struct vc_interface want = {.device = "eth0", .name = "eth0", .mtu = 9000}, got = {0},
                        *list = NULL;
    struct vc_route rt = {.dest = "default", .gateway = "10.0.0.1"}, *rlist = NULL;
    struct vc_mount eph = {.source = "tmpfs", .destination = "/eph", .type = "tmpfs"};
    struct vc_volume_stats vs = {0};
    Types__Interface *ipb = NULL;
    Types__IPAddress bad = TYPES__IPADDRESS__INIT;
    Types__IPAddress *badv[] = {&bad};
    Types__Interface hostile = TYPES__INTERFACE__INIT;
    Grpc__VolumeStatsResponse *vpb = NULL;
    struct vc_volume_stats vwant = {.bytes_total = 100, .bytes_used = 40, .message = "ok"};
    struct vc_kata_arena a;
    size_t n = 0;

    vc_kata_arena_init(&a, p->ctx);
    assert_int_equal(vc_kata_interface_to_pb(&a, &want, &ipb), 0);
    script(p, "UpdateInterface", 0, NULL, &ipb->base);
    assert_int_equal(vc_agent_update_interface(p->agent, &want, &got), 0);
    assert_string_equal(got.name, "eth0");
    assert_int_equal(got.mtu, 9000);
    vc_interface_clear(p->ctx, &got);
    assert_int_equal(vc_agent_list_interfaces(p->agent, &list, &n), 0);
    assert_int_equal(n, 0);
    (void) req_at(p, 1, "ListInterfaces");
    assert_int_equal(vc_agent_update_routes(p->agent, &rt, 1, &rlist, &n), 0);
    assert_int_equal(((Grpc__UpdateRoutesRequest *) req_at(p, 2, "UpdateRoutes"))->routes->n_routes,
                     1);
    vc_routes_free(p->ctx, rlist, n);
    assert_int_equal(vc_agent_list_routes(p->agent, &rlist, &n), 0);
    (void) req_at(p, 3, "ListRoutes");

    /* A reply the model cannot hold (IP family 5) is a protocol error. */
    bad.family = 5;
    hostile.ipaddresses = badv;
    hostile.n_ipaddresses = 1;
    script(p, "UpdateInterface", 0, NULL, &hostile.base);
    assert_int_equal(vc_agent_update_interface(p->agent, &want, &got), -EPROTO);
    assert_non_null(strstr(vc_ctx_errmsg(p->ctx), "UpdateInterface: bad reply"));
    assert_null(got.name);
    /* A request the wire cannot carry is refused before sending. */
    want.addrs = &bad_ip;
    want.n_addrs = 1;
    assert_int_equal(vc_agent_update_interface(p->agent, &want, &got), -EINVAL);
    assert_int_equal(p->n, 5);

    assert_int_equal(vc_agent_update_ephemeral_mounts(p->agent, &eph, 1), 0);
    assert_string_equal(
        ((Grpc__UpdateEphemeralMountsRequest *) req_at(p, 5, "UpdateEphemeralMounts"))
            ->storages[0]
            ->driver,
        "ephemeral");
    assert_int_equal(vc_agent_update_ephemeral_mounts(p->agent, NULL, 0), 0);
    assert_int_equal(p->n, 6);

    assert_int_equal(vc_kata_volume_stats_to_pb(&a, &vwant, &vpb), 0);
    script(p, "GetVolumeStats", 0, NULL, &vpb->base);
    assert_int_equal(vc_agent_get_guest_volume_stats(p->agent, "/vol", &vs), 0);
    assert_int_equal(vs.bytes_total, 100);
    assert_string_equal(vs.message, "ok");
    vc_volume_stats_clear(p->ctx, &vs);
    assert_string_equal(
        ((Grpc__VolumeStatsRequest *) req_at(p, 6, "GetVolumeStats"))->volume_guest_path, "/vol");
    vc_kata_arena_free(&a);
}

/* --- errors, deadlines, connections ----------------------------------------------------------- */

static void test_status_errors(void **state)
{
    struct peer *p = *state;
    static const struct {
        int code; /* status the agent answers */
        int err;  /* errno the op returns */
    } cases[] = {
        {VC_STATUS_NOT_FOUND, -ENOENT},         {VC_STATUS_ALREADY_EXISTS, -EEXIST},
        {VC_STATUS_INVALID_ARGUMENT, -EINVAL},  {VC_STATUS_INTERNAL, -EIO},
        {VC_STATUS_UNIMPLEMENTED, -EOPNOTSUPP}, {VC_STATUS_DEADLINE_EXCEEDED, -ETIMEDOUT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        script(p, "StartContainer", cases[i].code, "container c9 not found", NULL);
        assert_int_equal(vc_agent_start_container(p->agent, "c9"), cases[i].err);
    }
    script(p, "StartContainer", VC_STATUS_NOT_FOUND, "container c9 not found", NULL);
    assert_int_equal(vc_agent_start_container(p->agent, "c9"), -ENOENT);
    assert_string_equal(vc_ctx_errmsg(p->ctx),
                        "StartContainer: container c9 not found (NOT_FOUND)");
}

static void test_deadline(void **state)
{
    struct peer *p = *state;
    char *args[] = {"sleep"};
    struct vc_container_config cc = {.id = "c1", .process = {.args = args, .n_args = 1}};
    struct vc_agent_config cfg = {.create_container_timeout_ms = 50};
    struct vc_process proc = {0};

    peer_agent(p, &cfg);
    script_hang(p, "CreateContainer");
    assert_int_equal(vc_agent_create_container(p->agent, &cc, &proc), -ETIMEDOUT);
    assert_string_equal(vc_ctx_errmsg(p->ctx), "CreateContainerRequest timed out");
    assert_null(proc.exec_id);
    assert_timeout(&p->recs[0], MS(50));
    /* The agent is not dead for it: the next request goes out. */
    assert_int_equal(vc_agent_start_container(p->agent, "c1"), 0);
    assert_int_equal(p->n, 2);
}

/* Counts the dial attempts (fault point "net.dial"), failing none. */
static int count_dials(void *data, struct vc_ctx *ctx, const char *point)
{
    if (strcmp(point, "net.dial") == 0)
        ++*(unsigned *) data;
    return 0;
}

static void test_dial_failure(void **state)
{
    struct peer *p = *state;
    char url[160];
    struct vc_agent_config cfg = {.url = url, .dial_timeout_ms = 30};
    unsigned dials = 0;

    snprintf(url, sizeof(url), "unix://%s/nobody.sock", p->dir);
    peer_agent(p, &cfg);
    vc_ctx_set_fault(p->ctx, count_dials, &dials);
    assert_int_equal(vc_agent_check(p->agent), -ETIMEDOUT);
    assert_true(p->agent->dead);
    assert_true(dials > 1); /* retried until the dial timeout */
    /* Dead: every later call fails at once, without dialling. */
    dials = 0;
    assert_int_equal(vc_agent_start_container(p->agent, "c1"), -ENOTCONN);
    assert_string_equal(vc_ctx_errmsg(p->ctx), "agent is dead");
    assert_int_equal(vc_agent_check(p->agent), -ENOTCONN);
    assert_int_equal(dials, 0);
    vc_ctx_set_fault(p->ctx, NULL, NULL);
    assert_int_equal(p->n, 0);
    /* mark_dead does the same to a live agent. */
    cfg.url = NULL;
    peer_agent(p, &cfg);
    assert_int_equal(vc_agent_check(p->agent), 0);
    vc_agent_mark_dead(p->agent);
    assert_int_equal(vc_agent_check(p->agent), -ENOTCONN);
    assert_int_equal(p->n, 1);
}

static void test_connections(void **state)
{
    struct peer *p = *state;
    struct vc_agent_config cfg = {.long_live_conn = true};

    /* Short-lived (kata's default): one connection per request, closed after it. */
    assert_false(vc_agent_long_live_conn(p->agent));
    assert_int_equal(vc_agent_check(p->agent), 0);
    settle(p);
    assert_int_equal(vc_ttrpc_server_connections(p->srv), 0);
    /* Long-lived: the connection stays until disconnect. */
    peer_agent(p, &cfg);
    assert_true(vc_agent_long_live_conn(p->agent));
    assert_int_equal(vc_agent_check(p->agent), 0);
    assert_int_equal(vc_agent_start_container(p->agent, "c1"), 0);
    settle(p);
    assert_int_equal(vc_ttrpc_server_connections(p->srv), 1);
    assert_int_equal(vc_agent_disconnect(p->agent), 0);
    settle(p);
    assert_int_equal(vc_ttrpc_server_connections(p->srv), 0);
    /* After a disconnect the next request dials again. */
    assert_int_equal(vc_agent_check(p->agent), 0);
    assert_int_equal(p->n, 4);
    /* A connection the peer dropped (the agent restarted) is replaced by a new dial. */
    vc_ttrpc_server_free(p->srv);
    settle(p);
    peer_serve(p);
    assert_int_equal(vc_agent_check(p->agent), 0);
    assert_int_equal(p->n, 5);
}

static void test_state(void **state)
{
    struct peer *p = *state;
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops};
    struct vc_agent_config cfg = {0};
    struct vc_agent *other = NULL, *bad = NULL;
    char *saved = NULL, *url = NULL, want[192];
    uint32_t caps = 0;

    assert_int_equal(vc_agent_save(p->agent, &saved), 0);
    snprintf(want, sizeof(want), "{\"url\":\"%s\"}", p->url);
    assert_string_equal(saved, want);
    assert_int_equal(vc_agent_load(p->ctx, &be, "sb1", &cfg, saved, &other), 0);
    assert_int_equal(vc_agent_get_agent_url(other, &url), 0);
    assert_string_equal(url, p->url);
    vc_free(p->ctx, url);
    assert_int_equal(vc_agent_check(other), 0);
    assert_int_equal(vc_agent_load(p->ctx, &be, "sb1", &cfg, "{\"url\":7}", &bad), -EINVAL);
    assert_int_equal(vc_agent_load(p->ctx, &be, "sb1", &cfg, "{nope", &bad), -EINVAL);
    assert_null(bad);
    /* reuse_agent takes the other's endpoint (and its connection). */
    assert_int_equal(vc_agent_set_agent_url(p->agent, "unix:///nowhere"), 0);
    assert_int_equal(vc_agent_reuse_agent(p->agent, other), 0);
    assert_int_equal(vc_agent_get_agent_url(p->agent, &url), 0);
    assert_string_equal(url, p->url);
    vc_free(p->ctx, url);
    vc_agent_free(other);
    assert_int_equal(vc_agent_capabilities(p->agent, &caps), 0);
    assert_int_equal(caps, VC_AGENT_CAP_BLOCK_DEVICE);
    vc_free(p->ctx, saved);
    /* The kind registers like any other. */
    assert_int_equal(vc_ctx_register_agent(p->ctx, &vc_kata_agent_ops, NULL), 0);
    assert_int_equal(vc_ctx_agent_backend(p->ctx, "kata", &be), 0);
    assert_ptr_equal(be.ops, &vc_kata_agent_ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_and_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
