/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the mock agent's wire front end: a magent_server over a socketpair on a real context,
 * driven by core's ttrpc client with the kata conversions building the requests: a container's
 * whole life, parked calls woken by the guest, script rules (error, delay, hang, field
 * matching), protocol errors, halts and pauses, chunked files, and every RPC once with an
 * empty request. Delays are real but short; nothing asserts on wall-clock time. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include <mockagent/host.h>
#include <mockagent/server.h>

#include "convert.h"
#include "magent_model.h"

#define MS     UINT64_C(1000000)
#define SEC    (1000 * MS)
#define CID    3u
#define AGENT  "grpc.AgentService"
#define HEALTH "grpc.Health"

struct sfix {
    struct vc_ctx *ctx;         /* real context */
    struct magent_host *host;   /* the guests */
    struct magent_server *srv;  /* the server */
    struct vc_ttrpc_client *cl; /* client over the socketpair */
    char root[64];              /* temporary store root (never written) */
};

/* The outcome of one asynchronous call. */
struct res {
    bool done;              /* the callback ran */
    int r;                  /* 0 or -errno */
    int code;               /* status code */
    char msg[256];          /* status message */
    ProtobufCMessage *resp; /* the response, taken */
};

static char *echo_argv[] = {"echo", "**"};
static char *sleep_argv[] = {"sleep", "*"};
static struct magent_program programs[] = {
    {.argv = echo_argv, .n_argv = 2, .out = "hi\n", .runtime_ns = 5 * MS},
    {.argv = sleep_argv, .n_argv = 2, .runtime_ns = UINT64_MAX},
};

static struct sfix *sfix_new(struct magent_rule *rules, size_t n_rules)
{
    struct magent_script script = {
        .rules = rules, .n_rules = n_rules, .programs = programs, .n_programs = 2};
    struct sfix *f = calloc(1, sizeof(*f));
    struct vc_stream *ss = NULL, *cs = NULL;
    int sv[2];

    assert_non_null(f);
    strcpy(f->root, "/tmp/vc-magent-srv-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    assert_int_equal(vc_ctx_new_real(f->root, &f->ctx), 0);
    assert_int_equal(magent_host_new(f->ctx, &script, &f->host), 0);
    assert_int_equal(magent_host_boot(f->host, "sb1", CID, 2, 2048), 0);
    assert_int_equal(magent_server_new(f->ctx, f->host, &f->srv), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(vc_fd_stream_new(f->ctx, sv[0], "unix", &ss), 0);
    assert_int_equal(vc_fd_stream_new(f->ctx, sv[1], "unix", &cs), 0);
    assert_int_equal(magent_server_serve(f->srv, CID, ss), 0);
    assert_int_equal(vc_ttrpc_client_new(f->ctx, cs, &f->cl), 0);
    return f;
}

static void sfix_free(struct sfix *f)
{
    vc_ttrpc_client_free(f->cl);
    magent_server_free(f->srv);
    magent_host_free(f->host);
    vc_ctx_free(f->ctx);
    (void) rmdir(f->root);
    free(f);
}

static struct magent_guest *guest(struct sfix *f)
{
    struct magent_guest *g = magent_host_guest(f->host, CID);

    assert_non_null(g);
    return g;
}

static void res_done(void *data, const struct vc_ttrpc_result *r, bool *take)
{
    struct res *x = data;

    x->done = true;
    x->r = r->r;
    x->code = r->code;
    (void) snprintf(x->msg, sizeof(x->msg), "%s", r->message);
    if (r->resp) {
        x->resp = r->resp;
        *take = true;
    }
}

static void start(struct sfix *f, const char *svc, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *rd, uint64_t timeout, struct res *x)
{
    uint64_t deadline = timeout ? vc_now(f->ctx) + timeout : 0;

    *x = (struct res){0};
    assert_int_equal(
        vc_ttrpc_call_start(f->cl, svc, method, req, rd, deadline, NULL, 0, res_done, x, NULL), 0);
}

static void wait_res(struct sfix *f, struct res *x)
{
    (void) vc_ctx_run_until(f->ctx, &x->done, vc_now(f->ctx) + 10 * SEC);
    assert_true(x->done);
}

/* A blocking call; returns the status code (0 OK), the response in *resp (may be NULL). */
static int call(struct sfix *f, const char *svc, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *rd, struct res *x)
{
    start(f, svc, method, req, rd, 5 * SEC, x);
    wait_res(f, x);
    return x->code;
}

static void res_clear(struct sfix *f, struct res *x)
{
    vc_ttrpc_msg_free(f->ctx, x->resp);
    x->resp = NULL;
}

/* Runs the loop a little (real time, bounded) until cond holds. */
static bool settle(struct sfix *f, bool (*cond)(struct sfix *f))
{
    for (int i = 0; i < 200 && !cond(f); i++)
        (void) vc_ctx_sleep_until(f->ctx, vc_now(f->ctx) + MS);
    return cond(f);
}

static bool one_waiting(struct sfix *f)
{
    return magent_server_waiting(f->srv) == 1;
}

static bool none_waiting(struct sfix *f)
{
    return magent_server_waiting(f->srv) == 0;
}

static bool no_connections(struct sfix *f)
{
    return magent_server_connections(f->srv) == 0;
}

/* --- requests ---------------------------------------------------------------------------- */

static int create_sandbox(struct sfix *f)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    struct res x;

    req.hostname = "host1";
    req.sandbox_id = "sb1";
    return call(f, AGENT, "CreateSandbox", &req.base, NULL, &x);
}

static int create_container(struct sfix *f, const char *id, char **args, size_t n_args)
{
    struct vc_container_config cfg = {.id = (char *) id, .rootfs = "/run/rootfs"};
    struct vc_kata_arena a;
    Grpc__CreateContainerRequest *req;
    struct res x;
    int code;

    cfg.process.args = args;
    cfg.process.n_args = n_args;
    vc_kata_arena_init(&a, f->ctx);
    assert_int_equal(vc_kata_container_to_pb(&a, &cfg, &req), 0);
    code = call(f, AGENT, "CreateContainer", &req->base, NULL, &x);
    vc_kata_arena_free(&a);
    return code;
}

static int container_call(struct sfix *f, const char *method, const char *id, struct res *x)
{
    Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;

    /* Start, Remove, Pause, Resume and Stats requests all begin with container_id = 1. */
    req.container_id = (char *) id;
    return call(f, AGENT, method, &req.base, NULL, x);
}

static int exec_process(struct sfix *f, const char *cid, const char *eid, char **args,
                        size_t n_args)
{
    struct vc_process_config pc = {.args = args, .n_args = n_args};
    struct vc_kata_arena a;
    Grpc__ExecProcessRequest *req;
    struct res x;
    int code;

    vc_kata_arena_init(&a, f->ctx);
    assert_int_equal(vc_kata_exec_to_pb(&a, cid, eid, &pc, &req), 0);
    code = call(f, AGENT, "ExecProcess", &req->base, NULL, &x);
    vc_kata_arena_free(&a);
    return code;
}

static void start_wait(struct sfix *f, const char *cid, const char *eid, struct res *x)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;

    req.container_id = (char *) cid;
    req.exec_id = (char *) eid;
    start(f, AGENT, "WaitProcess", &req.base, &grpc__wait_process_response__descriptor, 0, x);
}

static int signal_process(struct sfix *f, const char *cid, const char *eid, uint32_t sig)
{
    Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    struct res x;

    req.container_id = (char *) cid;
    req.exec_id = (char *) eid;
    req.signal = sig;
    return call(f, AGENT, "SignalProcess", &req.base, NULL, &x);
}

static int check(struct sfix *f, struct res *x)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;

    return call(f, HEALTH, "Check", &req.base, &grpc__health_check_response__descriptor, x);
}

/* --- tests --------------------------------------------------------------------------------- */

static void test_health(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    Grpc__VersionCheckResponse *v;
    struct res x;

    assert_int_equal(check(f, &x), VC_STATUS_OK);
    assert_int_equal(((Grpc__HealthCheckResponse *) (void *) x.resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    res_clear(f, &x);
    assert_int_equal(
        call(f, HEALTH, "Version", &req.base, &grpc__version_check_response__descriptor, &x), 0);
    v = (Grpc__VersionCheckResponse *) (void *) x.resp;
    assert_string_equal(v->grpc_version, MAGENT_GRPC_VERSION);
    assert_string_equal(v->agent_version, "3.2.0-vcsim");
    res_clear(f, &x);
    sfix_free(f);
}

/* CreateSandbox → CreateContainer → StartContainer → ExecProcess → ReadStdout → WaitProcess →
 * RemoveContainer → DestroySandbox, the guest model checked at every step. */
static void test_lifecycle(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    char *init_args[] = {"sleep", "infinity"};
    char *exec_args[] = {"echo", "hi"};
    Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
    struct magent_ct_view v;
    struct res x, w;

    assert_int_equal(create_sandbox(f), 0);
    assert_true(magent_guest_sandbox_up(guest(f)));
    assert_string_equal(magent_guest_hostname(guest(f)), "host1");
    assert_int_equal(create_container(f, "c1", init_args, 2), 0);
    assert_int_equal(magent_guest_container(guest(f), "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_CREATED);
    assert_int_equal(container_call(f, "StartContainer", "c1", &x), 0);
    assert_int_equal(magent_guest_container(guest(f), "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_RUNNING);
    assert_int_equal(exec_process(f, "c1", "e1", exec_args, 2), 0);

    rd.container_id = "c1";
    rd.exec_id = "e1";
    rd.len = 1024;
    assert_int_equal(
        call(f, AGENT, "ReadStdout", &rd.base, &grpc__read_stream_response__descriptor, &x), 0);
    assert_int_equal(((Grpc__ReadStreamResponse *) (void *) x.resp)->data.len, 3);
    assert_memory_equal(((Grpc__ReadStreamResponse *) (void *) x.resp)->data.data, "hi\n", 3);
    res_clear(f, &x);

    /* The exec ends by itself after 5 ms: WaitProcess waits for it. */
    start_wait(f, "c1", "e1", &w);
    wait_res(f, &w);
    assert_int_equal(w.code, 0);
    assert_int_equal(((Grpc__WaitProcessResponse *) (void *) w.resp)->status, 0);
    res_clear(f, &w);

    /* The init runs forever: its WaitProcess parks until SIGKILL reaches it. */
    start_wait(f, "c1", "c1", &w);
    assert_true(settle(f, one_waiting));
    assert_false(w.done);
    assert_int_equal(signal_process(f, "c1", "", 9), 0);
    wait_res(f, &w);
    assert_int_equal(w.code, 0);
    assert_int_equal(((Grpc__WaitProcessResponse *) (void *) w.resp)->status, 137);
    res_clear(f, &w);
    assert_int_equal(magent_server_waiting(f->srv), 0);

    assert_int_equal(container_call(f, "RemoveContainer", "c1", &x), 0);
    assert_int_equal(magent_guest_container_count(guest(f)), 0);
    assert_int_equal(container_call(f, "StartContainer", "c1", &x), VC_STATUS_INTERNAL);
    {
        Grpc__DestroySandboxRequest ds = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
        assert_int_equal(call(f, AGENT, "DestroySandbox", &ds.base, NULL, &x), 0);
    }
    assert_false(magent_guest_sandbox_up(guest(f)));
    sfix_free(f);
}

/* A read parks until output comes; at the end of the stream it fails as kata-agent's does. */
static void test_read_parks(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    char *init_args[] = {"sleep", "infinity"};
    Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
    struct res x, w;

    assert_int_equal(create_sandbox(f), 0);
    assert_int_equal(create_container(f, "c1", init_args, 2), 0);
    assert_int_equal(container_call(f, "StartContainer", "c1", &x), 0);
    rd.container_id = "c1";
    rd.exec_id = "c1";
    rd.len = 64;
    start(f, AGENT, "ReadStdout", &rd.base, &grpc__read_stream_response__descriptor, 0, &x);
    assert_true(settle(f, one_waiting));
    assert_false(x.done);
    start_wait(f, "c1", "c1", &w);
    assert_int_equal(signal_process(f, "c1", "c1", 15), 0);
    wait_res(f, &x);
    assert_int_equal(x.code, VC_STATUS_INTERNAL);
    assert_string_equal(x.msg, "read meet eof");
    wait_res(f, &w);
    assert_int_equal(((Grpc__WaitProcessResponse *) (void *) w.resp)->status, 137);
    res_clear(f, &w);
    sfix_free(f);
}

static void test_rule_error(void **state)
{
    struct magent_match m = {.field = "container_id", .value = "c*"};
    struct magent_rule rules[] = {{.rpc = "StartContainer",
                                   .match = &m,
                                   .n_match = 1,
                                   .reply = MAGENT_REPLY_ERROR,
                                   .status = VC_STATUS_NOT_FOUND,
                                   .message = "nope"}};
    struct sfix *f = sfix_new(rules, 1);
    struct res x;

    assert_int_equal(container_call(f, "StartContainer", "c1", &x), VC_STATUS_NOT_FOUND);
    assert_int_equal(x.r, -ENOENT);
    assert_string_equal(x.msg, "nope");
    /* A request the match does not fit goes to the model (which has no such container). */
    assert_int_equal(container_call(f, "StartContainer", "x1", &x), VC_STATUS_INTERNAL);
    assert_string_not_equal(x.msg, "nope");
    assert_int_equal(magent_host_script(f->host)->rules[0].used, 1);
    sfix_free(f);
}

/* The rule fields the in-process agent gives are given over the wire too. */
static void test_rule_fields(void **state)
{
    struct magent_match args = {.field = "args", .value = "echo *"};
    struct magent_match sig = {.field = "signal", .value = "15"};
    struct magent_rule rules[] = {
        {.rpc = "ExecProcess",
         .match = &args,
         .n_match = 1,
         .reply = MAGENT_REPLY_ERROR,
         .status = VC_STATUS_PERMISSION_DENIED},
        {.rpc = "SignalProcess",
         .match = &sig,
         .n_match = 1,
         .nth = 2,
         .reply = MAGENT_REPLY_ERROR,
         .status = VC_STATUS_ABORTED},
    };
    struct sfix *f = sfix_new(rules, 2);
    char *init_args[] = {"sleep", "infinity"};
    char *exec_args[] = {"echo", "hello"};

    assert_int_equal(create_sandbox(f), 0);
    assert_int_equal(create_container(f, "c1", init_args, 2), 0);
    assert_int_equal(exec_process(f, "c1", "e1", exec_args, 2), VC_STATUS_PERMISSION_DENIED);
    /* The first SIGTERM reaches the model, the second is the rule's. */
    assert_int_not_equal(signal_process(f, "c1", "c1", 15), VC_STATUS_ABORTED);
    assert_int_equal(signal_process(f, "c1", "c1", 15), VC_STATUS_ABORTED);
    sfix_free(f);
}

static void test_rule_delay(void **state)
{
    struct magent_rule rules[] = {
        {.rpc = "Check", .reply = MAGENT_REPLY_DELAY, .delay_ns = 30 * MS}};
    struct sfix *f = sfix_new(rules, 1);
    struct res x;

    start(f, HEALTH, "Check", NULL, &grpc__health_check_response__descriptor, 5 * SEC, &x);
    assert_true(settle(f, one_waiting));
    wait_res(f, &x);
    assert_int_equal(x.code, 0);
    assert_int_equal(((Grpc__HealthCheckResponse *) (void *) x.resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    res_clear(f, &x);
    assert_int_equal(magent_server_waiting(f->srv), 0);
    sfix_free(f);
}

/* A hung call ends at the client's deadline; the server keeps it until the connection goes. */
static void test_rule_hang(void **state)
{
    struct magent_rule rules[] = {{.rpc = "StatsContainer", .reply = MAGENT_REPLY_HANG}};
    struct sfix *f = sfix_new(rules, 1);
    struct res x;

    start(f, AGENT, "StatsContainer", NULL, NULL, 50 * MS, &x);
    wait_res(f, &x);
    assert_int_equal(x.r, -ETIMEDOUT);
    assert_int_equal(magent_server_waiting(f->srv), 1);
    /* Other calls still go through meanwhile. */
    assert_int_equal(check(f, &x), 0);
    res_clear(f, &x);
    vc_ttrpc_client_free(f->cl);
    f->cl = NULL;
    assert_true(settle(f, none_waiting));
    assert_true(settle(f, no_connections));
    sfix_free(f);
}

static void test_protocol_errors(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    Grpc__WaitProcessResponse bad = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    struct res x;

    /* A varint where StartContainerRequest has a string: the payload does not decode. */
    bad.status = 5;
    assert_int_equal(call(f, AGENT, "StartContainer", &bad.base, NULL, &x), VC_STATUS_INTERNAL);
    assert_non_null(strstr(x.msg, "ttrpc: error unmarshalling payload"));
    assert_int_equal(call(f, AGENT, "ListProcesses", NULL, NULL, &x), VC_STATUS_UNIMPLEMENTED);
    assert_string_equal(x.msg, "method ListProcesses");
    assert_int_equal(call(f, "grpc.Nothing", "Check", NULL, NULL, &x), VC_STATUS_UNIMPLEMENTED);
    assert_string_equal(x.msg, "service grpc.Nothing");
    assert_int_equal(call(f, AGENT, "MemAgentMemcgSet", NULL, NULL, &x), VC_STATUS_INTERNAL);
    assert_string_equal(x.msg, "mem-agent is disabled");
    /* The connection is still good. */
    assert_int_equal(check(f, &x), 0);
    res_clear(f, &x);
    sfix_free(f);
}

/* A halted guest resets its connections: parked calls fail, later ones cannot be made. */
static void test_halt(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;
    struct res x;

    start(f, AGENT, "GetOOMEvent", &req.base, &grpc__oomevent__descriptor, 0, &x);
    assert_true(settle(f, one_waiting));
    magent_host_halt(f->host, CID);
    wait_res(f, &x);
    assert_int_equal(x.r, -ECONNRESET);
    assert_int_equal(magent_server_waiting(f->srv), 0);
    assert_int_equal(magent_server_connections(f->srv), 0);
    assert_false(vc_ttrpc_client_alive(f->cl));
    sfix_free(f);
}

/* A paused VM answers nothing until it resumes; an OOM event wakes GetOOMEvent. */
static void test_pause_and_oom(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    char *init_args[] = {"sleep", "infinity"};
    Grpc__GetOOMEventRequest oreq = GRPC__GET_OOMEVENT_REQUEST__INIT;
    struct res x, o;

    assert_int_equal(create_sandbox(f), 0);
    assert_int_equal(create_container(f, "c1", init_args, 2), 0);
    assert_int_equal(container_call(f, "StartContainer", "c1", &x), 0);
    magent_host_pause(f->host, CID, true);
    start(f, HEALTH, "Check", NULL, &grpc__health_check_response__descriptor, 5 * SEC, &x);
    assert_true(settle(f, one_waiting));
    assert_false(x.done);
    magent_host_pause(f->host, CID, false);
    wait_res(f, &x);
    assert_int_equal(x.code, 0);
    res_clear(f, &x);

    start(f, AGENT, "GetOOMEvent", &oreq.base, &grpc__oomevent__descriptor, 0, &o);
    assert_true(settle(f, one_waiting));
    assert_int_equal(magent_guest_oom(guest(f), "c1"), 0);
    wait_res(f, &o);
    assert_int_equal(o.code, 0);
    assert_string_equal(((Grpc__OOMEvent *) (void *) o.resp)->container_id, "c1");
    res_clear(f, &o);
    sfix_free(f);
}

static int copy_chunk(struct sfix *f, const struct vc_copy_file *file, size_t off, size_t len)
{
    struct vc_kata_arena a;
    Grpc__CopyFileRequest *req;
    struct res x;
    int code;

    vc_kata_arena_init(&a, f->ctx);
    assert_int_equal(vc_kata_copy_file_to_pb(&a, file, off, len, &req), 0);
    code = call(f, AGENT, "CopyFile", &req->base, NULL, &x);
    vc_kata_arena_free(&a);
    return code;
}

/* A file sent in chunks reaches the guest once complete, as kata-agent renames it in place. */
static void test_copy_file_chunks(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    struct vc_copy_file file = {.path = "/run/kata-containers/shared/f",
                                .file_mode = 0100644,
                                .dir_mode = 0755,
                                .data = (uint8_t *) "abcdef",
                                .size = 6};
    const uint8_t *data;
    size_t size;
    uint32_t mode;

    assert_int_equal(copy_chunk(f, &file, 0, 3), 0);
    assert_int_equal(magent_guest_file(guest(f), file.path, &data, &size, &mode), -ENOENT);
    assert_int_equal(copy_chunk(f, &file, 3, 3), 0);
    assert_int_equal(magent_guest_file(guest(f), file.path, &data, &size, &mode), 0);
    assert_int_equal(size, 6);
    assert_memory_equal(data, "abcdef", 6);
    assert_int_equal(mode, 0100644);

    /* A chunk of a file too big to put together, and one lying past its file's end. */
    {
        Grpc__CopyFileRequest req = GRPC__COPY_FILE_REQUEST__INIT;
        struct res x;

        req.path = "/run/kata-containers/shared/big";
        req.file_mode = 0100644;
        req.file_size = INT64_C(1) << 40;
        req.data = (ProtobufCBinaryData){.len = 3, .data = (uint8_t *) "abc"};
        assert_int_equal(call(f, AGENT, "CopyFile", &req.base, NULL, &x), VC_STATUS_INTERNAL);
        assert_non_null(strstr(x.msg, "ENOSPC"));
        req.file_size = 2;
        assert_int_equal(call(f, AGENT, "CopyFile", &req.base, NULL, &x), VC_STATUS_INTERNAL);
    }
    sfix_free(f);
}

static void test_probe_and_details(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    uint64_t addrs[] = {UINT64_C(1) << 32, (UINT64_C(1) << 32) + (UINT64_C(128) << 20)};
    Grpc__MemHotplugByProbeRequest req = GRPC__MEM_HOTPLUG_BY_PROBE_REQUEST__INIT;
    Grpc__GuestDetailsRequest dreq = GRPC__GUEST_DETAILS_REQUEST__INIT;
    Grpc__GuestDetailsResponse *d;
    struct res x;

    req.memhotplugprobeaddr = addrs;
    req.n_memhotplugprobeaddr = 2;
    assert_int_equal(call(f, AGENT, "MemHotplugByProbe", &req.base, NULL, &x), 0);
    assert_int_equal(magent_guest_probed_blocks(guest(f)), 2);
    dreq.mem_block_size = true;
    assert_int_equal(call(f, AGENT, "GetGuestDetails", &dreq.base,
                          &grpc__guest_details_response__descriptor, &x),
                     0);
    d = (Grpc__GuestDetailsResponse *) (void *) x.resp;
    assert_int_equal(d->mem_block_size_bytes, UINT64_C(128) << 20);
    assert_false(d->support_mem_hotplug_probe);
    assert_non_null(d->agent_details);
    assert_string_equal(d->agent_details->version, "3.2.0-vcsim");
    res_clear(f, &x);
    sfix_free(f);
}

/* Every RPC with an empty request answers something (never UNIMPLEMENTED, never a crash); only
 * GetOOMEvent, with no event, waits. */
static void test_every_rpc_empty(void **state)
{
    const ProtobufCServiceDescriptor *svcs[] = {&grpc__agent_service__descriptor,
                                                &grpc__health__descriptor};
    struct sfix *f = sfix_new(NULL, 0);
    uint64_t buf[512];
    struct res x;

    for (size_t s = 0; s < 2; s++) {
        for (unsigned i = 0; i < svcs[s]->n_methods; i++) {
            const ProtobufCMethodDescriptor *md = &svcs[s]->methods[i];
            bool blocks = strcmp(md->name, "GetOOMEvent") == 0;

            assert_true(md->input->sizeof_message <= sizeof(buf));
            protobuf_c_message_init(md->input, buf);
            start(f, svcs[s]->name, md->name, (ProtobufCMessage *) (void *) buf, md->output,
                  blocks ? 20 * MS : 5 * SEC, &x);
            wait_res(f, &x);
            if (blocks) {
                assert_int_equal(x.r, -ETIMEDOUT);
                continue;
            }
            if (x.code == VC_STATUS_UNIMPLEMENTED || x.code == VC_STATUS_DEADLINE_EXCEEDED)
                fail_msg("%s: %s", md->name, x.msg);
            res_clear(f, &x);
        }
    }
    assert_int_equal(check(f, &x), 0);
    res_clear(f, &x);
    sfix_free(f);
}

/* Attaching needs the guest up; a second stream for it shares the binding. */
static void test_attach(void **state)
{
    struct sfix *f = sfix_new(NULL, 0);
    struct vc_stream *s = NULL;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(vc_fd_stream_new(f->ctx, sv[0], "unix", &s), 0);
    assert_int_equal(magent_server_serve(f->srv, 99, s), -ENOENT);
    assert_int_equal(vc_fd_stream_new(f->ctx, sv[1], "unix", &s), 0);
    assert_int_equal(magent_server_serve(f->srv, CID, s), 0);
    assert_int_equal(magent_server_connections(f->srv), 2);
    sfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_read_parks),
        cmocka_unit_test(test_rule_error),
        cmocka_unit_test(test_rule_fields),
        cmocka_unit_test(test_rule_delay),
        cmocka_unit_test(test_rule_hang),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_halt),
        cmocka_unit_test(test_pause_and_oom),
        cmocka_unit_test(test_copy_file_chunks),
        cmocka_unit_test(test_probe_and_details),
        cmocka_unit_test(test_every_rpc_empty),
        cmocka_unit_test(test_attach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
