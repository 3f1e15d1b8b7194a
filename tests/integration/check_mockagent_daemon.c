/* SPDX-License-Identifier: Apache-2.0 */
/* The mockagent daemon as a separate process: started on a unix socket in a temporary
 * directory and driven by core's ttrpc client (a container's life under a guest script), hostile
 * bytes (garbage, an oversized frame) after which it must still answer, --record's JSON lines,
 * --once, usage errors, and SIGTERM/SIGINT ending it cleanly with the socket removed. The
 * binary is $MOCKAGENT_BIN, else the path the build gives (VC_MOCKAGENT), else found next to
 * this test in the build tree. */
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
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <check.h>

#include "tool.h"
#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"

#ifndef VC_MOCKAGENT
#define VC_MOCKAGENT ""
#endif

#define SEC   UINT64_C(1000000000)
#define AGENT "grpc.AgentService"

struct dfix {
    char dir[64];               /* temporary directory */
    char sock[128];             /* the daemon's socket */
    char url[160];              /* unix://sock */
    char rec[128];              /* --record file */
    char script[128];           /* --script file */
    char bin[PATH_MAX];         /* the daemon */
    pid_t pid;                  /* the daemon's pid, 0 if none */
    struct vc_ctx *ctx;         /* the client's real context */
    struct vc_ttrpc_client *cl; /* the client, or NULL */
};

static const char script_yaml[] = "guest:\n"
                                  "  programs:\n"
                                  "    - argv: [echo, \"**\"]\n"
                                  "      stdout: \"hi\\n\"\n"
                                  "  rules:\n"
                                  "    - rpc: StatsContainer\n"
                                  "      error: NOT_FOUND\n"
                                  "      message: scripted\n";

static void dfix_init(struct dfix *f)
{
    FILE *s;

    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/vc-ckmagent-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->sock, sizeof(f->sock), "%s/agent.sock", f->dir);
    snprintf(f->url, sizeof(f->url), "unix://%s", f->sock);
    snprintf(f->rec, sizeof(f->rec), "%s/rec.jsonl", f->dir);
    snprintf(f->script, sizeof(f->script), "%s/script.yaml", f->dir);
    s = fopen(f->script, "w");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fputs(script_yaml, s) >= 0, 1);
    ck_assert_int_eq(fclose(s), 0);
    ck_assert(vctest_find_bin("MOCKAGENT_BIN", VC_MOCKAGENT, "mockagent/mockagent", f->bin,
                              sizeof(f->bin)));
    ck_assert_msg(access(f->bin, X_OK) == 0, "no mockagent binary at %s", f->bin);
    ck_assert_int_eq(vc_ctx_new_real(f->dir, &f->ctx), 0);
}

static void dfix_done(struct dfix *f)
{
    vc_ttrpc_client_free(f->cl);
    if (f->pid > 0) {
        (void) kill(f->pid, SIGKILL);
        (void) waitpid(f->pid, NULL, 0);
    }
    vc_ctx_free(f->ctx);
    ck_assert_int_eq(vctest_rm_tree(f->dir), 0);
}

/* Starts the daemon with argv (NULL-terminated, without the program name); quiet sends its
 * stderr to /dev/null too. */
static pid_t spawn_io(struct dfix *f, const char *const *args, bool quiet)
{
    const char *argv[16] = {f->bin};
    pid_t pid;
    size_t n = 1;

    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0 && !getenv("MOCKAGENT_TEST_VERBOSE")) {
            (void) dup2(null, STDOUT_FILENO);
            if (quiet)
                (void) dup2(null, STDERR_FILENO);
        }
        execv(f->bin, (char *const *) argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn(struct dfix *f, const char *const *args)
{
    return spawn_io(f, args, true);
}

static void start_daemon(struct dfix *f, bool once)
{
    const char *args[] = {
        "--listen", f->url, "--record", f->rec, "--script", f->script, once ? "--once" : NULL,
        NULL};

    f->pid = spawn_io(f, args, false);
}

static int wait_exit(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "daemon died of signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static void connect_client(struct dfix *f)
{
    struct vc_stream *s = NULL;

    vc_ttrpc_client_free(f->cl);
    f->cl = NULL;
    ck_assert_msg(vc_dial(f->ctx, f->url, 10 * SEC, &s) == 0, "dial: %s", vc_ctx_errmsg(f->ctx));
    ck_assert_int_eq(vc_ttrpc_client_new(f->ctx, s, &f->cl), 0);
}

static void health_check(struct dfix *f)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;

    ck_assert_msg(vc_ttrpc_call(f->cl, "grpc.Health", "Check", &req.base,
                                &grpc__health_check_response__descriptor, 5 * SEC, &resp) == 0,
                  "Check: %s", vc_ctx_errmsg(f->ctx));
    ck_assert_int_eq(((Grpc__HealthCheckResponse *) (void *) resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    vc_ttrpc_msg_free(f->ctx, resp);
}

static int agent_call(struct dfix *f, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *rd, ProtobufCMessage **resp)
{
    return vc_ttrpc_call(f->cl, AGENT, method, req, rd, 5 * SEC, resp);
}

/* The end of an asynchronous call. */
struct async {
    bool done; /* it ended */
    int r;     /* how */
};

static void oom_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct async *a = data;

    a->done = true;
    a->r = res->r;
}

/* --- raw frames ------------------------------------------------------------------------------ */

static int raw_connect(const struct dfix *f)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 10};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    strcpy(sun.sun_path, f->sock);
    ck_assert_int_eq(connect(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

static void raw_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        ck_assert_int_gt(n, 0);
        p += n;
        len -= (size_t) n;
    }
}

static void raw_read(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);
        ck_assert_msg(n > 0, "read: %s", n < 0 ? strerror(errno) : "eof");
        p += n;
        len -= (size_t) n;
    }
}

static void raw_header(uint8_t h[10], uint32_t len, uint32_t id, uint8_t type)
{
    h[0] = (uint8_t) (len >> 24);
    h[1] = (uint8_t) (len >> 16);
    h[2] = (uint8_t) (len >> 8);
    h[3] = (uint8_t) len;
    h[4] = (uint8_t) (id >> 24);
    h[5] = (uint8_t) (id >> 16);
    h[6] = (uint8_t) (id >> 8);
    h[7] = (uint8_t) id;
    h[8] = type;
    h[9] = 0;
}

/* Reads one Response frame: its stream id and status code. */
static void raw_response(int fd, uint32_t *ret_id, int *ret_code)
{
    uint8_t h[10], buf[4096];
    uint32_t len;

    raw_read(fd, h, sizeof(h));
    len = (uint32_t) h[0] << 24 | (uint32_t) h[1] << 16 | (uint32_t) h[2] << 8 | h[3];
    ck_assert_int_eq(h[8], VC_TTRPC_TYPE_RESPONSE);
    ck_assert_uint_le(len, sizeof(buf));
    raw_read(fd, buf, len);
    *ret_id = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];
    /* Response{status = 1 {code = 1}}: the code is 0 unless the status carries field 1. */
    *ret_code = len >= 4 && buf[0] == 0x0a && buf[2] == 0x08 ? buf[3] : 0;
}

/* What a --record file holds: every line a JSON object with the frame's fields. */
struct recsum {
    unsigned lines; /* lines */
    bool check;     /* a Check request, named */
    bool oversized; /* an oversized frame */
};

static void read_record(const struct dfix *f, struct recsum *sum)
{
    static char line[8u << 20];
    FILE *r = fopen(f->rec, "r");

    ck_assert_ptr_nonnull(r);
    *sum = (struct recsum){0};
    while (fgets(line, sizeof(line), r)) {
        json_object *j = json_tokener_parse(line), *v;

        ck_assert_msg(j != NULL, "not JSON: %.200s", line);
        ck_assert(json_object_object_get_ex(j, "dir", &v));
        ck_assert(json_object_object_get_ex(j, "stream", &v));
        ck_assert(json_object_object_get_ex(j, "type", &v));
        ck_assert(json_object_object_get_ex(j, "flags", &v));
        ck_assert(json_object_object_get_ex(j, "data", &v));
        if (json_object_object_get_ex(j, "method", &v) &&
            strcmp(json_object_get_string(v), "Check") == 0)
            sum->check = true;
        if (json_object_object_get_ex(j, "oversized", &v))
            sum->oversized = true;
        json_object_put(j);
        sum->lines++;
    }
    (void) fclose(r);
}

/* --- tests ------------------------------------------------------------------------------------ */

/* A container's life over the wire, the script deciding StatsContainer and echo's output. */
START_TEST(test_daemon_lifecycle)
{
    struct dfix f;
    char *init_args[] = {"sleep", "infinity"}, *echo_args[] = {"echo", "hi"};
    Grpc__CreateSandboxRequest sb = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__Process proc = GRPC__PROCESS__INIT, eproc = GRPC__PROCESS__INIT;
    Grpc__Spec spec = GRPC__SPEC__INIT;
    Grpc__Root root = GRPC__ROOT__INIT;
    Grpc__CreateContainerRequest cc = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    Grpc__StartContainerRequest st = GRPC__START_CONTAINER_REQUEST__INIT;
    Grpc__ExecProcessRequest ex = GRPC__EXEC_PROCESS_REQUEST__INIT;
    Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
    Grpc__StatsContainerRequest stats = GRPC__STATS_CONTAINER_REQUEST__INIT;
    Grpc__GetOOMEventRequest oom = GRPC__GET_OOMEVENT_REQUEST__INIT;
    struct async oom_res = {0};
    ProtobufCMessage *resp = NULL;

    dfix_init(&f);
    start_daemon(&f, false);
    connect_client(&f);
    health_check(&f);
    sb.hostname = "h";
    sb.sandbox_id = "sb1";
    ck_assert_int_eq(agent_call(&f, "CreateSandbox", &sb.base, NULL, NULL), 0);
    proc.args = init_args;
    proc.n_args = 2;
    proc.cwd = "/";
    root.path = "/run/rootfs";
    spec.process = &proc;
    spec.root = &root;
    cc.container_id = cc.exec_id = "c1";
    cc.oci = &spec;
    ck_assert_msg(agent_call(&f, "CreateContainer", &cc.base, NULL, NULL) == 0, "%s",
                  vc_ctx_errmsg(f.ctx));
    st.container_id = "c1";
    ck_assert_int_eq(agent_call(&f, "StartContainer", &st.base, NULL, NULL), 0);
    eproc.args = echo_args;
    eproc.n_args = 2;
    eproc.cwd = "/";
    ex.container_id = "c1";
    ex.exec_id = "e1";
    ex.process = &eproc;
    ck_assert_int_eq(agent_call(&f, "ExecProcess", &ex.base, NULL, NULL), 0);
    rd.container_id = "c1";
    rd.exec_id = "e1";
    rd.len = 100;
    ck_assert_int_eq(
        agent_call(&f, "ReadStdout", &rd.base, &grpc__read_stream_response__descriptor, &resp), 0);
    ck_assert_uint_eq(((Grpc__ReadStreamResponse *) (void *) resp)->data.len, 3);
    ck_assert_int_eq(memcmp(((Grpc__ReadStreamResponse *) (void *) resp)->data.data, "hi\n", 3), 0);
    vc_ttrpc_msg_free(f.ctx, resp);
    stats.container_id = "c1";
    ck_assert_int_eq(agent_call(&f, "StatsContainer", &stats.base, NULL, NULL), -ENOENT);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f.ctx), "scripted"));

    /* A call the daemon holds when it is told to go: it still leaves cleanly. */
    ck_assert_int_eq(vc_ttrpc_call_start(f.cl, AGENT, "GetOOMEvent", &oom.base, NULL, 0, NULL, 0,
                                         oom_done, &oom_res, NULL),
                     0);
    (void) vc_ctx_sleep_until(f.ctx, vc_now(f.ctx) + SEC / 20);
    ck_assert_int_eq(kill(f.pid, SIGTERM), 0);
    ck_assert_int_eq(wait_exit(f.pid), 0);
    f.pid = 0;
    ck_assert_int_eq(access(f.sock, F_OK), -1);
    (void) vc_ctx_run_until(f.ctx, &oom_res.done, vc_now(f.ctx) + 5 * SEC);
    ck_assert(oom_res.done);
    ck_assert_int_eq(oom_res.r, -ECONNRESET);
    dfix_done(&f);
}
END_TEST

/* Garbage and an oversized frame do not hurt the daemon; the connection with the oversized
 * frame even stays usable, as Go ttrpc's does. */
START_TEST(test_daemon_hostile)
{
    static const uint8_t check_req[] = {0x0a, 0x0b, 'g', 'r',  'p',  'c', '.', 'H', 'e', 'a',
                                        'l',  't',  'h', 0x12, 0x05, 'C', 'h', 'e', 'c', 'k'};
    struct recsum sum;
    struct dfix f;
    uint8_t h[10];
    uint8_t *junk = malloc(1 << 20);
    uint32_t id;
    int fd, code;

    ck_assert_ptr_nonnull(junk);
    dfix_init(&f);
    start_daemon(&f, false);
    connect_client(&f);
    health_check(&f);

    /* Pseudo-random bytes, then the peer goes away. */
    fd = raw_connect(&f);
    for (size_t i = 0; i < (1u << 20); i++)
        junk[i] = (uint8_t) ((i * 2654435761u) >> 13);
    raw_write(fd, junk, 1u << 20);
    (void) close(fd);

    /* A 5 MiB frame on stream 1, then a Check on stream 3. */
    fd = raw_connect(&f);
    raw_header(h, 5u << 20, 1, VC_TTRPC_TYPE_REQUEST);
    raw_write(fd, h, sizeof(h));
    for (int i = 0; i < 5; i++)
        raw_write(fd, junk, 1u << 20);
    raw_header(h, sizeof(check_req), 3, VC_TTRPC_TYPE_REQUEST);
    raw_write(fd, h, sizeof(h));
    raw_write(fd, check_req, sizeof(check_req));
    raw_response(fd, &id, &code);
    ck_assert_uint_eq(id, 1);
    ck_assert_int_eq(code, VC_STATUS_RESOURCE_EXHAUSTED);
    raw_response(fd, &id, &code);
    ck_assert_uint_eq(id, 3);
    ck_assert_int_eq(code, VC_STATUS_OK);
    /* Half a header, then gone. */
    raw_write(fd, h, 4);
    (void) close(fd);

    /* The first client and a new one are both still served. */
    health_check(&f);
    connect_client(&f);
    health_check(&f);
    ck_assert_int_eq(kill(f.pid, SIGINT), 0);
    ck_assert_int_eq(wait_exit(f.pid), 0);
    f.pid = 0;
    /* The record of all that is still one JSON object a line. */
    read_record(&f, &sum);
    ck_assert(sum.oversized);
    ck_assert(sum.check);
    free(junk);
    dfix_done(&f);
}
END_TEST

/* --record writes one JSON object per frame, requests named and decoded. */
START_TEST(test_daemon_record)
{
    struct recsum sum;
    struct dfix f;

    dfix_init(&f);
    start_daemon(&f, false);
    connect_client(&f);
    health_check(&f);
    ck_assert_int_eq(kill(f.pid, SIGTERM), 0);
    ck_assert_int_eq(wait_exit(f.pid), 0);
    f.pid = 0;
    read_record(&f, &sum);
    ck_assert_uint_eq(sum.lines, 2);
    ck_assert(sum.check);
    dfix_done(&f);
}
END_TEST

/* --once: the daemon leaves by itself when its one connection ends. */
START_TEST(test_daemon_once)
{
    struct dfix f;

    dfix_init(&f);
    start_daemon(&f, true);
    connect_client(&f);
    health_check(&f);
    vc_ttrpc_client_free(f.cl);
    f.cl = NULL;
    ck_assert_int_eq(wait_exit(f.pid), 0);
    f.pid = 0;
    ck_assert_int_eq(access(f.sock, F_OK), -1);
    dfix_done(&f);
}
END_TEST

/* serial:// naming a character device: the daemon serves the port itself, as inside a guest.
 * A pseudo-terminal in raw mode plays the virtio-serial port, its master the host's side. */
START_TEST(test_daemon_serial)
{
    char pts[64], url[96];
    const char *args[] = {"--listen", url, "--once", NULL};
    struct vc_stream *s = NULL;
    struct termios tio;
    struct dfix f;
    int m, sl;

    dfix_init(&f);
    m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, pts, sizeof(pts)) != 0) {
        fprintf(stderr, "check_mockagent_daemon: no pseudo-terminals here, serial not tested\n");
        dfix_done(&f);
        return;
    }
    sl = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(sl, 0);
    ck_assert_int_eq(tcgetattr(sl, &tio), 0);
    cfmakeraw(&tio);
    ck_assert_int_eq(tcsetattr(sl, TCSANOW, &tio), 0);
    snprintf(url, sizeof(url), "serial://%s", pts);
    f.pid = spawn_io(&f, args, false);
    ck_assert_int_eq(vc_fd_stream_new(f.ctx, m, "serial", &s), 0);
    ck_assert_int_eq(vc_ttrpc_client_new(f.ctx, s, &f.cl), 0);
    health_check(&f);
    health_check(&f);
    /* The host side goes: the daemon with --once is done. */
    vc_ttrpc_client_free(f.cl);
    f.cl = NULL;
    (void) close(sl);
    ck_assert_int_eq(wait_exit(f.pid), 0);
    f.pid = 0;
    dfix_done(&f);
}
END_TEST

START_TEST(test_daemon_usage)
{
    static const char *const none[] = {NULL};
    static const char *const help[] = {"--help", NULL};
    static const char *const bad[] = {"--listen", "unix:///x", "--vcpus", "zero", NULL};
    static const char *const extra[] = {"--listen", "unix:///x", "surplus", NULL};
    struct dfix f;
    FILE *s;

    dfix_init(&f);
    ck_assert_int_eq(wait_exit(spawn(&f, none)), 2);
    ck_assert_int_eq(wait_exit(spawn(&f, help)), 0);
    ck_assert_int_eq(wait_exit(spawn(&f, bad)), 2);
    ck_assert_int_eq(wait_exit(spawn(&f, extra)), 2);
    /* A script that does not parse, and a URL nobody can listen on, are runtime errors. */
    s = fopen(f.script, "w");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_ge(fputs("guest:\n  rules: [{rpc: Check, error: NO_SUCH_STATUS}]\n", s), 0);
    ck_assert_int_eq(fclose(s), 0);
    {
        const char *const args[] = {"--listen", f.url, "--script", f.script, NULL};
        ck_assert_int_eq(wait_exit(spawn(&f, args)), 1);
    }
    {
        const char *const args[] = {"--listen", "bogus://nowhere", NULL};
        ck_assert_int_eq(wait_exit(spawn(&f, args)), 1);
    }
    dfix_done(&f);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("mockagent_daemon");
    TCase *tc = tcase_create("daemon");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_daemon_lifecycle);
    tcase_add_test(tc, test_daemon_hostile);
    tcase_add_test(tc, test_daemon_record);
    tcase_add_test(tc, test_daemon_once);
    tcase_add_test(tc, test_daemon_serial);
    tcase_add_test(tc, test_daemon_usage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(daemon_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
