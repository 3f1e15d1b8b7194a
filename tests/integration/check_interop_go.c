/* SPDX-License-Identifier: Apache-2.0 */
/* Interop with containerd's Go ttrpc, both ways: the Go client (tests/interop/ttrpcpeer) calls
 * the mockagent daemon, and core's ttrpc client and the kata agent backend call the Go server.
 * The peer's path comes from the build (VC_TTRPCPEER, "" when Go or the ttrpc sources are
 * missing: the suite then skips with 77). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "tool.h"

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/kata.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "health.pb-c.h"

#ifndef VC_TTRPCPEER
#define VC_TTRPCPEER ""
#endif
#ifndef VC_MOCKAGENT
#define VC_MOCKAGENT ""
#endif

#define SEC    UINT64_C(1000000000)
#define HEALTH "grpc.Health"
#define OUT    8192 /* bytes of the peer's output kept */

struct gfix {
    char dir[64];               /* temporary directory */
    char sock[128];             /* the socket */
    char url[160];              /* unix://sock */
    pid_t pid;                  /* the server process (daemon or Go peer), 0 if none */
    int out;                    /* read end of the server's stdout, -1 if none */
    struct vc_ctx *ctx;         /* our real context */
    struct vc_ttrpc_client *cl; /* our client, or NULL */
};

static void gfix_init(struct gfix *g)
{
    memset(g, 0, sizeof(*g));
    g->out = -1;
    strcpy(g->dir, "/tmp/vc-ckgo-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g->dir));
    snprintf(g->sock, sizeof(g->sock), "%s/agent.sock", g->dir);
    snprintf(g->url, sizeof(g->url), "unix://%s", g->sock);
    ck_assert_int_eq(vc_ctx_new_real(g->dir, &g->ctx), 0);
}

static void gfix_done(struct gfix *g)
{
    vc_ttrpc_client_free(g->cl);
    if (g->pid > 0) {
        (void) kill(g->pid, SIGKILL);
        (void) waitpid(g->pid, NULL, 0);
    }
    if (g->out >= 0)
        (void) close(g->out);
    vc_ctx_free(g->ctx);
    ck_assert_int_eq(vctest_rm_tree(g->dir), 0);
}

/* Runs argv with stdout on a pipe (stderr too when both); the pipe's read end in *ret_out. */
static pid_t spawn(const char *const *argv, bool both, int *ret_out)
{
    int p[2];
    pid_t pid;

    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        (void) dup2(p[1], STDOUT_FILENO);
        if (both)
            (void) dup2(p[1], STDERR_FILENO);
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    (void) close(p[1]);
    *ret_out = p[0];
    return pid;
}

/* Reads fd to its end (or until buf is full) into buf, NUL-ended. */
static void read_all(int fd, char *buf, size_t size)
{
    size_t got = 0;
    ssize_t n;

    while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t) n;
    buf[got] = '\0';
}

/* Reads one line from fd (blocking), without the '\n'. */
static void read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;

    while (n + 1 < size && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
        n++;
    buf[n] = '\0';
}

/* --- Go client -> mockagent daemon ------------------------------------------------------------ */

static void find_daemon(char *buf, size_t size)
{
    ck_assert(vctest_find_bin("MOCKAGENT_BIN", VC_MOCKAGENT, "mockagent/mockagent", buf, size));
    ck_assert_msg(access(buf, X_OK) == 0, "no mockagent binary at '%s'", buf);
}

/* Waits for a listener on g->sock (the daemon starts whenever it gets there). */
static void wait_listening(struct gfix *g)
{
    struct vc_stream *s = NULL;

    ck_assert_msg(vc_dial(g->ctx, g->url, 10 * SEC, &s) == 0, "%s", vc_ctx_errmsg(g->ctx));
    vc_stream_close(s);
}

START_TEST(test_go_client_to_daemon)
{
    char bin[PATH_MAX], out[OUT];
    const char *daemon[] = {bin, "--listen", NULL, NULL};
    const char *client[] = {VC_TTRPCPEER, "client", NULL, NULL};
    struct gfix g;
    pid_t pid;
    int fd, status;

    gfix_init(&g);
    find_daemon(bin, sizeof(bin));
    daemon[2] = g.url;
    g.pid = spawn(daemon, false, &g.out);
    wait_listening(&g);
    client[2] = g.sock;
    pid = spawn(client, true, &fd);
    read_all(fd, out, sizeof(out));
    (void) close(fd);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ttrpcpeer: %#x: %s", status, out);
    /* SERVING, the daemon's versions, and Go's wording of UNIMPLEMENTED for a service. */
    ck_assert_msg(strstr(out, "Check status=1\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "Version grpc_version=") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "agent_version=3.2.0-vcsim") != NULL, "%s", out);
    ck_assert_msg(
        strstr(out, "Unknown rpc error: code = Unimplemented desc = service grpc.Nothing") != NULL,
        "%s", out);
    gfix_done(&g);
}
END_TEST

/* --- our client -> Go server ------------------------------------------------------------------ */

/* Starts the Go server; it prints "listening" once it listens. */
static void start_go_server(struct gfix *g)
{
    const char *argv[] = {VC_TTRPCPEER, "server", g->sock, NULL};
    char line[64];

    g->pid = spawn(argv, false, &g->out);
    read_line(g->out, line, sizeof(line));
    ck_assert_str_eq(line, "listening");
}

static void connect_go(struct gfix *g)
{
    struct vc_stream *s = NULL;

    ck_assert_msg(vc_dial(g->ctx, g->url, 10 * SEC, &s) == 0, "%s", vc_ctx_errmsg(g->ctx));
    ck_assert_int_eq(vc_ttrpc_client_new(g->ctx, s, &g->cl), 0);
}

START_TEST(test_client_to_go_server)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    struct gfix g;

    gfix_init(&g);
    start_go_server(&g);
    connect_go(&g);

    ck_assert_msg(vc_ttrpc_call(g.cl, HEALTH, "Check", &req.base,
                                &grpc__health_check_response__descriptor, 5 * SEC, &resp) == 0,
                  "%s", vc_ctx_errmsg(g.ctx));
    ck_assert_int_eq(((Grpc__HealthCheckResponse *) (void *) resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    vc_ttrpc_msg_free(g.ctx, resp);

    req.service = "grpc.AgentService"; /* a non-empty payload this time */
    ck_assert_msg(vc_ttrpc_call(g.cl, HEALTH, "Version", &req.base,
                                &grpc__version_check_response__descriptor, 5 * SEC, &resp) == 0,
                  "%s", vc_ctx_errmsg(g.ctx));
    ck_assert_str_eq(((Grpc__VersionCheckResponse *) (void *) resp)->grpc_version, "go-ttrpc");
    ck_assert_str_eq(((Grpc__VersionCheckResponse *) (void *) resp)->agent_version, "interop");
    vc_ttrpc_msg_free(g.ctx, resp);

    /* Go's UNIMPLEMENTED for an unknown method and an unknown service; the connection stays. */
    ck_assert_int_eq(vc_ttrpc_call(g.cl, HEALTH, "Nope", &req.base, NULL, 5 * SEC, NULL),
                     -EOPNOTSUPP);
    ck_assert_str_eq(vc_ctx_errmsg(g.ctx), "Nope: method Nope (UNIMPLEMENTED)");
    ck_assert_int_eq(vc_ttrpc_call(g.cl, "grpc.Nothing", "Check", &req.base, NULL, 5 * SEC, NULL),
                     -EOPNOTSUPP);
    ck_assert_str_eq(vc_ctx_errmsg(g.ctx), "Check: service grpc.Nothing (UNIMPLEMENTED)");
    ck_assert(vc_ttrpc_client_alive(g.cl));
    gfix_done(&g);
}
END_TEST

/* Many calls in flight on one connection, answered in whatever order the Go server likes. */
struct many {
    unsigned done;    /* callbacks run */
    unsigned serving; /* of them, SERVING replies */
    bool all;         /* every call ended */
};

static void many_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct many *m = data;

    if (res->r == 0 && res->resp &&
        ((const Grpc__HealthCheckResponse *) (const void *) res->resp)->status ==
            GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
        m->serving++;
    m->all = ++m->done == 64;
}

START_TEST(test_concurrent_to_go_server)
{
    static const struct vc_ttrpc_md md[] = {
        {"traceparent", "00-0af7651916cd43dd-01"}, {"k", "v1"}, {"k", "v2"}};
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct many m = {0};
    struct gfix g;

    gfix_init(&g);
    start_go_server(&g);
    connect_go(&g);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(vc_ttrpc_call_start(g.cl, HEALTH, "Check", &req.base,
                                             &grpc__health_check_response__descriptor,
                                             vc_now(g.ctx) + 10 * SEC, md, 3, many_done, &m, NULL),
                         0);
    ck_assert_uint_eq(vc_ttrpc_client_pending(g.cl), 64);
    (void) vc_ctx_run_until(g.ctx, &m.all, vc_now(g.ctx) + 10 * SEC);
    ck_assert_uint_eq(m.done, 64);
    ck_assert_uint_eq(m.serving, 64);
    gfix_done(&g);
}
END_TEST

/* The kata backend's Check (a ttrpc call through its own dial and deadline) on the Go server. */
START_TEST(test_kata_check_go_server)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops, .data = NULL};
    struct vc_agent_config cfg = {.kind = "kata", .dial_timeout_ms = 5000};
    struct vc_agent *agent = NULL;
    struct gfix g;

    gfix_init(&g);
    start_go_server(&g);
    cfg.url = g.url;
    for (int live = 0; live < 2; live++) {
        cfg.long_live_conn = live;
        ck_assert_int_eq(vc_agent_init(g.ctx, &be, "sb1", &cfg, &agent), 0);
        ck_assert_msg(vc_agent_check(agent) == 0, "%s", vc_ctx_errmsg(g.ctx));
        ck_assert_msg(vc_agent_check(agent) == 0, "%s", vc_ctx_errmsg(g.ctx));
        /* The Go peer serves no AgentService: kata's wording around Go's status. */
        ck_assert_int_eq(vc_agent_stop_sandbox(agent), -EOPNOTSUPP);
        ck_assert_str_eq(vc_ctx_errmsg(g.ctx),
                         "DestroySandbox: service grpc.AgentService (UNIMPLEMENTED)");
        vc_agent_free(agent);
        agent = NULL;
    }
    gfix_done(&g);
}
END_TEST

static Suite *interop_suite(void)
{
    Suite *s = suite_create("interop_go");
    TCase *tc = tcase_create("go");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_go_client_to_daemon);
    tcase_add_test(tc, test_client_to_go_server);
    tcase_add_test(tc, test_concurrent_to_go_server);
    tcase_add_test(tc, test_kata_check_go_server);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (!VC_TTRPCPEER[0]) {
        fprintf(stderr, "check_interop_go: skipped: no Go ttrpc peer was built (needs go and "
                        "golang-github-containerd-ttrpc-dev)\n");
        return 77;
    }
    sr = srunner_create(interop_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
