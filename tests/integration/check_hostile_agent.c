/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent backend against a malicious agent: a forked child listens on a unix socket with
 * plain blocking socket calls and answers the first connection's request with hostile bytes
 * (oversized lengths, truncated or unknown frames, wrong or reused stream ids, garbage
 * envelopes and payloads, a slow drip, a reset mid-frame, silence, no reading at all, a hybrid
 * vsock handshake never answered), and every later connection well. Each call must end within
 * its deadline with a clear -errno and message, and the backend must then work again. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/kata.h>
#include <vc/ttrpc.h>
#include <vc/vc.h>

#include "frame.h"
#include "tool.h"

#define SHORT_MS 300u  /* CreateContainer's deadline in these tests */
#define DIAL_MS  3000u /* dial budget (generous: a loaded machine must not fail a dial) */

/* What the child does with the first connection's request. */
enum hostile {
    H_OVERSIZE_5M,      /* a Response header declaring 5 MiB, the 5 MiB, then answers well */
    H_OVERSIZE_MAX,     /* a Response header declaring 0xffffffff bytes, then silence */
    H_TRUNC_HEADER,     /* 5 bytes of a header, then close */
    H_UNKNOWN_TYPE,     /* a frame of type 0x7f on the call's stream, then silence */
    H_UNKNOWN_THEN_OK,  /* the same, then the right reply */
    H_WRONG_ID,         /* a valid Response on a stream id never used, then silence */
    H_WRONG_ID_THEN_OK, /* the same, then the right reply */
    H_REUSED_ID,        /* answers the first request well, the second on the first's id */
    H_BAD_ENVELOPE,     /* a Response frame whose data is not a Response */
    H_BAD_PAYLOAD,      /* a valid Response whose payload is not the reply type */
    H_DATA_FRAME,       /* a Data frame (streaming) on the unary call's stream */
    H_DRIP,             /* a valid reply, one byte every 20 ms */
    H_RESET_MID_FRAME,  /* half a Response frame, then close */
    H_SILENT,           /* reads the request, never answers */
    H_NO_READ,          /* never reads at all */
    H_HVSOCK_SILENT,    /* hybrid vsock: takes "CONNECT 1024\n", never answers */
    H_OK,               /* answers well (every later connection) */
};

struct hfix {
    char dir[64];           /* temporary directory */
    char sock[128];         /* the child's socket */
    char url[192];          /* the agent URL */
    pid_t pid;              /* the child */
    struct vc_ctx *ctx;     /* the runtime's real context */
    struct vc_agent *agent; /* the kata agent under test */
};

/* --- the child: blocking sockets, its own frame writer --------------------------------------- */

static void child_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t) n;
    }
}

static bool child_read(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t) n;
    }
    return true;
}

/* Reads one request frame; its stream id, or 0 at EOF. */
static uint32_t child_request(int fd)
{
    uint8_t h[VC_TTRPC_HEADER_LEN], buf[4096];
    struct vc_ttrpc_header hdr;
    uint32_t left;

    if (!child_read(fd, h, sizeof(h)))
        return 0;
    vc_ttrpc_header_decode(h, &hdr);
    for (left = hdr.length; left;) {
        uint32_t n = left < sizeof(buf) ? left : (uint32_t) sizeof(buf);
        if (!child_read(fd, buf, n))
            return 0;
        left -= n;
    }
    return hdr.stream_id;
}

/* A frame of type on id with len bytes of data into out (header included); its size. */
static size_t child_frame(uint8_t *out, uint32_t id, uint8_t type, const uint8_t *data, size_t len)
{
    struct vc_ttrpc_header h = {.length = (uint32_t) len, .stream_id = id, .type = type};

    vc_ttrpc_header_encode(&h, out);
    if (len)
        memcpy(out + VC_TTRPC_HEADER_LEN, data, len);
    return VC_TTRPC_HEADER_LEN + len;
}

/* Response{payload = HealthCheckResponse{status = SERVING}}: field 2, 2 bytes, {1: 1}. */
static const uint8_t ok_reply[] = {0x12, 0x02, 0x08, 0x01};

/* The same with an unknown field 15 of 36 bytes in the payload: a 52-byte frame, ~1 s of drip. */
static const uint8_t drip_reply[] = {0x12, 0x28, 0x08, 0x01, 0x7a, 0x24, 'p', 'a', 'd', 'd', 'i',
                                     'n',  'g',  ' ',  'p',  'a',  'd',  'd', 'i', 'n', 'g', ' ',
                                     'p',  'a',  'd',  'd',  'i',  'n',  'g', ' ', 'p', 'a', 'd',
                                     'd',  'i',  'n',  'g',  ' ',  '.',  '.', '.', '.'};

static void child_reply(int fd, uint32_t id, const uint8_t *data, size_t len)
{
    uint8_t f[64];

    child_write(fd, f, child_frame(f, id, VC_TTRPC_TYPE_RESPONSE, data, len));
}

/* Answers every request well until EOF. */
static void child_serve_ok(int fd)
{
    uint32_t id;

    while ((id = child_request(fd)) != 0)
        child_reply(fd, id, ok_reply, sizeof(ok_reply));
}

static void child_header_only(int fd, uint32_t id, uint32_t len)
{
    uint8_t h[VC_TTRPC_HEADER_LEN];
    struct vc_ttrpc_header hdr = {.length = len, .stream_id = id, .type = VC_TTRPC_TYPE_RESPONSE};

    vc_ttrpc_header_encode(&hdr, h);
    child_write(fd, h, sizeof(h));
}

/* The hostile act on the first connection. true: keep fd open (silence), false: close it. */
static bool child_hostile(int fd, enum hostile mode)
{
    /* Field 1 (status) claiming 16 bytes with 1 there; field 2 (payload) likewise inside. */
    static const uint8_t bad_env[] = {0x0a, 0x10, 0x08};
    static const uint8_t bad_payload[] = {0x12, 0x03, 0x0a, 0x10, 0x08};
    static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef};
    uint8_t f[64], line[32], *big;
    uint32_t id = mode == H_NO_READ || mode == H_HVSOCK_SILENT ? 0 : child_request(fd);
    size_t n;

    switch (mode) {
    case H_OVERSIZE_5M:
        /* Go ttrpc's receiver skips an oversized frame and the connection goes on. */
        child_header_only(fd, id, 5u << 20);
        big = calloc(1, 5u << 20);
        if (big)
            child_write(fd, big, 5u << 20);
        free(big);
        child_serve_ok(fd);
        return false;
    case H_OVERSIZE_MAX:
        child_header_only(fd, id, UINT32_MAX);
        return true;
    case H_TRUNC_HEADER:
        (void) child_frame(f, id, VC_TTRPC_TYPE_RESPONSE, ok_reply, sizeof(ok_reply));
        child_write(fd, f, 5);
        return false;
    case H_UNKNOWN_TYPE:
    case H_UNKNOWN_THEN_OK:
        child_write(fd, f, child_frame(f, id, 0x7f, junk, sizeof(junk)));
        if (mode == H_UNKNOWN_THEN_OK)
            child_reply(fd, id, ok_reply, sizeof(ok_reply));
        return true;
    case H_WRONG_ID:
    case H_WRONG_ID_THEN_OK:
        child_reply(fd, id + 2, ok_reply, sizeof(ok_reply));
        if (mode == H_WRONG_ID_THEN_OK)
            child_reply(fd, id, ok_reply, sizeof(ok_reply));
        return true;
    case H_REUSED_ID:
        child_reply(fd, id, ok_reply, sizeof(ok_reply));
        if (child_request(fd))
            child_reply(fd, id, ok_reply, sizeof(ok_reply));
        return true;
    case H_BAD_ENVELOPE:
        child_reply(fd, id, bad_env, sizeof(bad_env));
        return true;
    case H_BAD_PAYLOAD:
        child_reply(fd, id, bad_payload, sizeof(bad_payload));
        return true;
    case H_DATA_FRAME:
        child_write(fd, f, child_frame(f, id, VC_TTRPC_TYPE_DATA, ok_reply, sizeof(ok_reply)));
        return true;
    case H_DRIP:
        n = child_frame(f, id, VC_TTRPC_TYPE_RESPONSE, drip_reply, sizeof(drip_reply));
        for (size_t i = 0; i < n; i++) {
            child_write(fd, f + i, 1);
            usleep(20000);
        }
        return true;
    case H_RESET_MID_FRAME:
        n = child_frame(f, id, VC_TTRPC_TYPE_RESPONSE, ok_reply, sizeof(ok_reply));
        child_write(fd, f, n / 2);
        return false;
    case H_HVSOCK_SILENT:
        /* The CONNECT line is read (or not: it makes no difference), no reply is sent. */
        (void) read(fd, line, sizeof(line));
        return true;
    case H_SILENT:
    case H_NO_READ:
        return true;
    case H_OK:
        break;
    }
    return false;
}

/* Serves connections until killed; a connection kept silent stays open (the fd is not closed)
 * while the next ones are served. */
static void child_main(int lfd, enum hostile mode)
{
    for (unsigned conn = 0;; conn++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(1);
        if (mode == H_HVSOCK_SILENT || (conn == 0 && mode != H_OK)) {
            if (child_hostile(fd, mode))
                continue;
            /* The same connection had to carry on: no other is served. */
            if (mode == H_OVERSIZE_5M)
                _exit(0);
        } else {
            child_serve_ok(fd);
        }
        (void) close(fd);
    }
}

/* --- the parent ------------------------------------------------------------------------------ */

/* The child listening on a fresh socket (bound before the fork: the dial finds it at once). */
static void hfix_init(struct hfix *h, enum hostile mode)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int lfd;

    memset(h, 0, sizeof(*h));
    strcpy(h->dir, "/tmp/vc-ckhost-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(h->dir));
    snprintf(h->sock, sizeof(h->sock), "%s/agent.sock", h->dir);
    if (mode == H_HVSOCK_SILENT)
        snprintf(h->url, sizeof(h->url), "hvsock://%s:1024", h->sock);
    else
        snprintf(h->url, sizeof(h->url), "unix://%s", h->sock);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    strcpy(sun.sun_path, h->sock);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    h->pid = fork();
    ck_assert_int_ge(h->pid, 0);
    if (h->pid == 0) {
        (void) signal(SIGPIPE, SIG_IGN);
        child_main(lfd, mode);
        _exit(0);
    }
    (void) close(lfd);
    ck_assert_int_eq(vc_ctx_new_real(h->dir, &h->ctx), 0);
}

static void hfix_agent(struct hfix *h, bool long_live)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops, .data = NULL};
    struct vc_agent_config cfg = {
        .kind = "kata",
        .url = h->url,
        .dial_timeout_ms = DIAL_MS,
        .long_live_conn = long_live,
        .create_container_timeout_ms = SHORT_MS,
    };

    vc_agent_free(h->agent);
    ck_assert_int_eq(vc_agent_init(h->ctx, &be, "sb1", &cfg, &h->agent), 0);
}

static void hfix_done(struct hfix *h)
{
    vc_agent_free(h->agent);
    if (h->pid > 0) {
        (void) kill(h->pid, SIGKILL);
        (void) waitpid(h->pid, NULL, 0);
    }
    vc_ctx_free(h->ctx);
    ck_assert_int_eq(vctest_rm_tree(h->dir), 0);
}

/* Asserts the call's result and that the context's message holds want. */
static void expect_err(struct hfix *h, int r, int want, const char *msg)
{
    const char *got = vc_ctx_errmsg(h->ctx);

    if (getenv("VC_TEST_VERBOSE"))
        fprintf(stderr, "%s: %s\n", vc_errno_name(r), got);

    ck_assert_msg(r == want, "got %d (%s), want %d; message: %s", r, vc_errno_name(r), want, got);
    ck_assert_msg(strstr(got, msg) != NULL, "message '%s' lacks '%s'", got, msg);
}

/* A CreateContainer request (its deadline is the configurable one); env_bytes of environment
 * make it large. */
static int create_container(struct hfix *h, size_t env_bytes)
{
    char *args[] = {"sh"}, *env[1] = {NULL};
    struct vc_container_config cc = {
        .id = "c1",
        .rootfs = "/run/rootfs",
        .process = {.args = args, .n_args = 1, .cwd = "/"},
    };
    struct vc_process proc = {0};
    int r;

    if (env_bytes) {
        env[0] = malloc(env_bytes + 1);
        ck_assert_ptr_nonnull(env[0]);
        memset(env[0], 'x', env_bytes);
        memcpy(env[0], "BIG=", 4);
        env[0][env_bytes] = '\0';
        cc.process.env = env;
        cc.process.n_env = 1;
    }
    r = vc_agent_create_container(h->agent, &cc, &proc);
    vc_process_clear(h->ctx, &proc);
    free(env[0]);
    return r;
}

/* After the hostile connection, the backend talks to a sane agent again. */
static void expect_recovers(struct hfix *h)
{
    ck_assert(!h->agent->dead);
    ck_assert_msg(vc_agent_check(h->agent) == 0, "%s", vc_ctx_errmsg(h->ctx));
}

/* --- tests ----------------------------------------------------------------------------------- */

/* A length over 4 MiB fails the call at once (the data is never waited for). 5 MiB: on a
 * long-lived connection, whose next call works once the 5 MiB are skipped; 4 GiB: never sent. */
START_TEST(test_oversize)
{
    struct hfix h;

    hfix_init(&h, _i == 0 ? H_OVERSIZE_5M : H_OVERSIZE_MAX);
    hfix_agent(&h, _i == 0);
    expect_err(&h, vc_agent_check(h.agent), -EMSGSIZE,
               _i == 0 ? "message length 5242880 exceed maximum message size of 4194304"
                       : "message length 4294967295 exceed maximum message size of 4194304");
    ck_assert_ptr_nonnull(
        strstr(vc_ctx_errmsg(h.ctx), "Failed to Check if grpc server is working"));
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

START_TEST(test_truncated_header)
{
    struct hfix h;

    hfix_init(&h, H_TRUNC_HEADER);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -ECONNRESET, "ttrpc: closed");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* An unknown frame type is ignored: nothing else comes, the deadline ends the call; the right
 * reply after it, the call succeeds. */
START_TEST(test_unknown_type)
{
    struct hfix h;

    hfix_init(&h, _i == 0 ? H_UNKNOWN_TYPE : H_UNKNOWN_THEN_OK);
    hfix_agent(&h, false);
    if (_i == 0)
        expect_err(&h, create_container(&h, 0), -ETIMEDOUT, "CreateContainerRequest timed out");
    else
        ck_assert_msg(vc_agent_check(h.agent) == 0, "%s", vc_ctx_errmsg(h.ctx));
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* A reply on a stream id no call has is dropped (then the right one is taken). */
START_TEST(test_wrong_id)
{
    struct hfix h;

    hfix_init(&h, _i == 0 ? H_WRONG_ID : H_WRONG_ID_THEN_OK);
    hfix_agent(&h, false);
    if (_i == 0)
        expect_err(&h, create_container(&h, 0), -ETIMEDOUT, "CreateContainerRequest timed out");
    else
        ck_assert_msg(vc_agent_check(h.agent) == 0, "%s", vc_ctx_errmsg(h.ctx));
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* On one long-lived connection, a second reply on the first call's id is not the second
 * call's answer. */
START_TEST(test_reused_id)
{
    struct hfix h;

    hfix_init(&h, H_REUSED_ID);
    hfix_agent(&h, true);
    ck_assert_msg(vc_agent_check(h.agent) == 0, "%s", vc_ctx_errmsg(h.ctx));
    expect_err(&h, create_container(&h, 0), -ETIMEDOUT, "CreateContainerRequest timed out");
    /* The connection is still the hostile one (kept): a new agent gets a fresh one. */
    hfix_agent(&h, false);
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

START_TEST(test_bad_envelope)
{
    struct hfix h;

    hfix_init(&h, H_BAD_ENVELOPE);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -EPROTO, "ttrpc: malformed response envelope");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

START_TEST(test_bad_payload)
{
    struct hfix h;

    hfix_init(&h, H_BAD_PAYLOAD);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -EPROTO,
               "cannot decode grpc.HealthCheckResponse response payload");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* Data frames belong to streaming calls; kata's calls are unary. */
START_TEST(test_data_frame)
{
    struct hfix h;

    hfix_init(&h, H_DATA_FRAME);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -EPROTO,
               "ttrpc: received data from non-streaming server");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* A valid reply one byte per 20 ms (52 bytes) arrives whole within Check's 30 s, unknown
 * payload field and all; within CreateContainer's 300 ms it does not. */
START_TEST(test_slow_drip)
{
    struct hfix h;

    hfix_init(&h, H_DRIP);
    hfix_agent(&h, false);
    if (_i == 0)
        ck_assert_msg(vc_agent_check(h.agent) == 0, "%s", vc_ctx_errmsg(h.ctx));
    else
        expect_err(&h, create_container(&h, 0), -ETIMEDOUT, "CreateContainerRequest timed out");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

START_TEST(test_reset_mid_frame)
{
    struct hfix h;

    hfix_init(&h, H_RESET_MID_FRAME);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -ECONNRESET, "ttrpc: closed");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* A reply that never comes: CreateContainer's configured deadline. */
START_TEST(test_never_replies)
{
    struct hfix h;

    hfix_init(&h, H_SILENT);
    hfix_agent(&h, false);
    expect_err(&h, create_container(&h, 0), -ETIMEDOUT, "CreateContainerRequest timed out");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* The same for Check, whose deadline is kata's fixed 30 s (so this test takes that long). */
START_TEST(test_check_never_replies)
{
    struct hfix h;

    hfix_init(&h, H_SILENT);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -ETIMEDOUT,
               "Failed to Check if grpc server is working: CheckRequest timed out");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* A peer that never reads: a 3 MiB request fills the socket, the write waits, the deadline
 * ends it. */
START_TEST(test_never_reads)
{
    struct hfix h;

    hfix_init(&h, H_NO_READ);
    hfix_agent(&h, false);
    expect_err(&h, create_container(&h, 3u << 20), -ETIMEDOUT, "CreateContainerRequest timed out");
    expect_recovers(&h);
    hfix_done(&h);
}
END_TEST

/* Hybrid vsock whose handshake is never answered: the dial gives up at its budget, clearly,
 * and the agent is dead from then on (kata's k.dead). */
START_TEST(test_hvsock_silent)
{
    struct hfix h;

    hfix_init(&h, H_HVSOCK_SILENT);
    hfix_agent(&h, false);
    expect_err(&h, vc_agent_check(h.agent), -ETIMEDOUT, "timed out connecting to 'hvsock://");
    /* ...saying why the last attempt failed. */
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(h.ctx), "hybrid vsock handshake failed"));
    ck_assert(h.agent->dead);
    expect_err(&h, vc_agent_check(h.agent), -ENOTCONN, "agent is dead");
    hfix_done(&h);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile_agent");
    TCase *tc = tcase_create("hostile");
    TCase *slow = tcase_create("deadline30s");

    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_oversize, 0, 2);
    tcase_add_test(tc, test_truncated_header);
    tcase_add_loop_test(tc, test_unknown_type, 0, 2);
    tcase_add_loop_test(tc, test_wrong_id, 0, 2);
    tcase_add_test(tc, test_reused_id);
    tcase_add_test(tc, test_bad_envelope);
    tcase_add_test(tc, test_bad_payload);
    tcase_add_test(tc, test_data_frame);
    tcase_add_loop_test(tc, test_slow_drip, 0, 2);
    tcase_add_test(tc, test_reset_mid_frame);
    tcase_add_test(tc, test_never_replies);
    tcase_add_test(tc, test_never_reads);
    tcase_add_test(tc, test_hvsock_silent);
    suite_add_tcase(s, tc);
    tcase_set_timeout(slow, 60);
    tcase_add_test(slow, test_check_never_replies);
    suite_add_tcase(s, slow);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
