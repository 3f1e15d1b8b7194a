/* SPDX-License-Identifier: Apache-2.0 */
/* Real processes while the wall clock jumps: vcctl (and this program re-run as a helper) under
 * LD_PRELOAD=libfaketime, the offset read from FAKETIME_TIMESTAMP_FILE on every clock read
 * (FAKETIME_NO_CACHE=1) and rewritten mid-run, the monotonic clock left alone
 * (FAKETIME_DONT_FAKE_MONOTONIC=1). An agent call's deadline and a dial timeout must end after
 * their timeout when the wall clock jumps hours ahead, hours back, or both mid-call: neither at
 * once nor never. Guest time sync must send the faked wall time, checked in the mockagent
 * daemon's --record file. The parent is not under libfaketime and bounds every wait by its own
 * monotonic clock; the bounds (0.9 x timeout .. timeout + 10 s) check the deadline logic, not
 * speed. Skips (77) without libfaketime ($VC_LIBFAKETIME, else the path the build found). */
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
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/kata.h>
#include <vc/vc.h>

#include "kata_agent.h"
#include "tool.h"

#ifndef VC_VCCTL
#define VC_VCCTL ""
#endif
#ifndef VC_MOCKAGENT
#define VC_MOCKAGENT ""
#endif
#ifndef VC_LIBFAKETIME
#define VC_LIBFAKETIME ""
#endif

#define TIMEOUT_S   1.5  /* the deadline or dial timeout under test */
#define LATE_S      10.0 /* later than timeout + this: the deadline never fired */
#define EARLY_RATIO 0.9  /* before timeout x this: the deadline fired at once */
#define TEN_DAYS    (10 * 86400)
#define SLACK_S     600 /* time sync: how far the sent time may be from the expected one */
#define HELPER_ENV  "VCTEST_FAKETIME_HELPER" /* the helper's agent URL (helper mode) */
#define OUT_MAX     (64u << 10)

/* Where libfaketime may be, after $VC_LIBFAKETIME and the build's path. */
static const char *const ft_paths[] = {
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib64/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
};

struct fix {
    char dir[64];          /* temporary directory */
    char ts[96];           /* FAKETIME_TIMESTAMP_FILE */
    char sock[96];         /* the test's socket path */
    char url[128];         /* unix://sock */
    char lib[PATH_MAX];    /* libfaketime */
    char vcctl[PATH_MAX];  /* vcctl */
    char magent[PATH_MAX]; /* the mockagent daemon */
    char self[PATH_MAX];   /* this program, for the helper */
    pid_t agent;           /* the daemon, 0 if none */
};

/* One process under libfaketime. */
struct job {
    pid_t pid;     /* the process, 0 once reaped */
    double t0;     /* started (parent's monotonic seconds) */
    double t_end;  /* ended */
    int status;    /* exit status; -1 when killed by a signal */
    int in;        /* its stdin's write end, or -1 */
    char out[128]; /* its stdout file */
    char err[128]; /* its stderr file */
};

static double mono(void)
{
    struct timespec ts;

    ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static bool find_libfaketime(char *buf, size_t size)
{
    const char *e = getenv("VC_LIBFAKETIME");

    if (e && *e)
        return snprintf(buf, size, "%s", e) < (int) size && access(buf, R_OK) == 0;
    if (VC_LIBFAKETIME[0] && access(VC_LIBFAKETIME, R_OK) == 0)
        return snprintf(buf, size, "%s", VC_LIBFAKETIME) < (int) size;
    for (size_t i = 0; i < sizeof(ft_paths) / sizeof(ft_paths[0]); i++)
        if (access(ft_paths[i], R_OK) == 0)
            return snprintf(buf, size, "%s", ft_paths[i]) < (int) size;
    return false;
}

/* The offset the faked processes see from now on ("+6h", "-6h", "+10d"): written beside and
 * renamed over, so a process re-reading the file never sees half of it. */
static void ft_set(const struct fix *f, const char *offset)
{
    char tmp[128];
    FILE *t;

    snprintf(tmp, sizeof(tmp), "%s.new", f->ts);
    t = fopen(tmp, "w");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_ge(fprintf(t, "%s\n", offset), 0);
    ck_assert_int_eq(fclose(t), 0);
    ck_assert_int_eq(rename(tmp, f->ts), 0);
}

static void fix_init(struct fix *f)
{
    ssize_t n;

    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/vc-ckft-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->ts, sizeof(f->ts), "%s/faketimerc", f->dir);
    snprintf(f->sock, sizeof(f->sock), "%s/a.sock", f->dir);
    snprintf(f->url, sizeof(f->url), "unix://%s", f->sock);
    ck_assert(find_libfaketime(f->lib, sizeof(f->lib)));
    ck_assert(vctest_find_bin("VCCTL_BIN", VC_VCCTL, "core/cli/vcctl", f->vcctl, sizeof(f->vcctl)));
    ck_assert(vctest_find_bin("MOCKAGENT_BIN", VC_MOCKAGENT, "mockagent/mockagent", f->magent,
                              sizeof(f->magent)));
    ck_assert_msg(access(f->vcctl, X_OK) == 0, "no vcctl binary at %s", f->vcctl);
    n = readlink("/proc/self/exe", f->self, sizeof(f->self) - 1);
    ck_assert_int_gt(n, 0);
    f->self[n] = '\0';
    ft_set(f, "+0");
}

static void fix_done(struct fix *f)
{
    if (f->agent > 0) {
        (void) kill(f->agent, SIGKILL);
        (void) waitpid(f->agent, NULL, 0);
    }
    ck_assert_int_eq(vctest_rm_tree(f->dir), 0);
}

static void read_all(const char *path, char *buf, size_t size)
{
    ck_assert_int_ge(vctest_read_file(path, buf, size), 0);
}

/* Starts argv[0] under libfaketime; with_stdin gives it a pipe as stdin (j->in). */
static void job_start(const struct fix *f, struct job *j, const char *const *argv, bool with_stdin,
                      const char *extra_env)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[512];
    int p[2] = {-1, -1};

    memset(j, 0, sizeof(*j));
    j->in = -1;
    snprintf(j->out, sizeof(j->out), "%s/out", f->dir);
    snprintf(j->err, sizeof(j->err), "%s/err", f->dir);
    /* libfaketime comes before the sanitizer runtime (gcc's check refuses that) and must not
     * be entered from ASan's allocator before it is set up (clang's static runtime deadlocks
     * there when the allocator reads the clock to schedule its release to the OS). */
    snprintf(asan_opts, sizeof(asan_opts),
             "%s%sverify_asan_link_order=0:allocator_release_to_os_interval_ms=-1",
             asan ? asan : "", asan && *asan ? ":" : "");
    /* There before the child starts, for a parent that reads them early. */
    for (int i = 0; i < 2; i++) {
        int fd = open(i ? j->err : j->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        (void) close(fd);
    }
    if (with_stdin)
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    j->t0 = mono();
    j->pid = fork();
    ck_assert_int_ge(j->pid, 0);
    if (j->pid == 0) {
        int in = with_stdin ? p[0] : open("/dev/null", O_RDONLY);
        int o = open(j->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(j->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        setenv("LD_PRELOAD", f->lib, 1);
        setenv("FAKETIME_TIMESTAMP_FILE", f->ts, 1);
        setenv("FAKETIME_NO_CACHE", "1", 1);
        setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
        unsetenv("FAKETIME"); /* it would win over the file */
        setenv("ASAN_OPTIONS", asan_opts, 1);
        /* Keep the host's vcctl configuration out of the way. */
        setenv("VC_CONFIG", "/nonexistent/vc-config.json", 1);
        setenv("XDG_CONFIG_HOME", f->dir, 1);
        unsetenv("VC_ROOT");
        if (extra_env)
            setenv(HELPER_ENV, extra_env, 1);
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    if (with_stdin) {
        (void) close(p[0]);
        j->in = p[1];
    }
}

/* Reaps the job if it ended: true once it has. */
static bool job_poll(struct job *j)
{
    int st;
    pid_t r;

    if (!j->pid)
        return true;
    r = waitpid(j->pid, &st, WNOHANG);
    ck_assert_int_ge(r, 0);
    if (r == 0)
        return false;
    j->t_end = mono();
    j->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    j->pid = 0;
    return true;
}

/* Kills a job still running (it overran); the test has failed by then. */
static void job_kill(struct job *j)
{
    if (j->pid) {
        (void) kill(j->pid, SIGKILL);
        (void) waitpid(j->pid, NULL, 0);
        j->pid = 0;
    }
    if (j->in >= 0)
        (void) close(j->in);
    j->in = -1;
}

/* A wall clock scenario: offsets written at times after the call started. */
struct jumps {
    const char *name;      /* for the log */
    const char *offset[2]; /* the offsets, in order (NULL: fewer) */
    double at[2];          /* when, in seconds after the call started */
};

static const struct jumps jumps_forward = {"forward 6h", {"+6h", NULL}, {0.3, 0}};
static const struct jumps jumps_backward = {"back 6h", {"-6h", NULL}, {0.3, 0}};
static const struct jumps jumps_both = {"forward 6h, then back 12h", {"+6h", "-6h"}, {0.3, 0.7}};

/* Drives a job while the wall clock jumps. start is when the operation began (parent's clock;
 * 0 until known), fed by step() when given; peer (or -1) gets a byte every 0.2 s from 0.4 s on
 * (nine at most: never a whole ttrpc frame header), so the process wakes up after each jump. */
static void run_jumps(const struct fix *f, struct job *j, const struct jumps *jp, double *start,
                      int lfd)
{
    double limit = j->t0 + TIMEOUT_S + LATE_S, next_byte = 0;
    unsigned done = 0, sent = 0;
    int cfd = -1;
    char buf[4096];

    while (!job_poll(j)) {
        double now = mono();

        if (now > limit) {
            job_kill(j);
            if (cfd >= 0)
                (void) close(cfd);
            ck_abort_msg("%s: still running %.1f s after the start (timeout %.1f s): the "
                         "deadline never fired",
                         jp->name, now - j->t0, TIMEOUT_S);
        }
        if (lfd >= 0 && cfd < 0)
            cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        /* The call has started once its request arrived. */
        if (cfd >= 0 && !*start && read(cfd, buf, sizeof(buf)) > 0)
            *start = mono();
        if (*start) {
            for (; done < 2 && jp->offset[done] && now >= *start + jp->at[done]; done++) {
                ft_set(f, jp->offset[done]);
                fprintf(stderr, "check_faketime: %s: wall clock %s at %.2f s\n", jp->name,
                        jp->offset[done], now - j->t0);
            }
            if (cfd >= 0 && sent < 9 && now >= *start + 0.4 && now >= next_byte) {
                ck_assert_int_eq(write(cfd, "", 1), 1);
                sent++;
                next_byte = now + 0.2;
            }
        }
        pause_ms(10);
    }
    if (cfd >= 0)
        (void) close(cfd);
    ck_assert_msg(*start, "%s: the operation never started", jp->name);
    ck_assert_msg(done == 2 || !jp->offset[done], "%s: ended before every jump (after %.2f s)",
                  jp->name, j->t_end - j->t0);
}

/* The process's deadline fired in time: exit 1 with msg on stderr, not early, not late. */
static void expect_expired(const struct job *j, const struct jumps *jp, const char *msg)
{
    static char err[OUT_MAX];
    double took = j->t_end - j->t0;

    read_all(j->err, err, sizeof(err));
    fprintf(stderr, "check_faketime: %s: ended after %.2f s (timeout %.1f s), status %d\n",
            jp->name, took, TIMEOUT_S, j->status);
    ck_assert_msg(j->status == 1, "%s: status %d, expected 1; stderr: %s", jp->name, j->status,
                  err);
    ck_assert_msg(strstr(err, msg), "%s: no '%s' in stderr: %s", jp->name, msg, err);
    ck_assert_msg(took >= TIMEOUT_S * EARLY_RATIO,
                  "%s: ended after %.2f s, before its %.1f s timeout: the jump fired it", jp->name,
                  took, TIMEOUT_S);
    ck_assert_msg(took <= TIMEOUT_S + LATE_S, "%s: ended after %.2f s", jp->name, took);
}

/* --- (a) a call's deadline ----------------------------------------------------------------- */

/* vcctl agent ... Check against a socket that takes the request and never answers a whole
 * frame; the wall clock jumps mid-call. */
static void deadline_case(const struct jumps *jp)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct fix f;
    struct job j;
    double start = 0;
    int lfd;

    fix_init(&f);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f.sock);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    {
        const char *argv[] = {f.vcctl,  "agent",          f.url, "Check", "--timeout",
                              "1500ms", "--dial-timeout", "10s", NULL};
        job_start(&f, &j, argv, false, NULL);
    }
    run_jumps(&f, &j, jp, &start, lfd);
    (void) close(lfd);
    expect_expired(&j, jp, "DEADLINE_EXCEEDED");
    fix_done(&f);
}

START_TEST(test_deadline_wall_forward)
{
    deadline_case(&jumps_forward);
}
END_TEST

START_TEST(test_deadline_wall_backward)
{
    deadline_case(&jumps_backward);
}
END_TEST

START_TEST(test_deadline_wall_both)
{
    deadline_case(&jumps_both);
}
END_TEST

/* --- (b) a dial timeout -------------------------------------------------------------------- */

/* vcctl agent ... Check where nothing listens: the dial retries until its timeout while the
 * wall clock jumps. */
static void dial_case(const struct jumps *jp)
{
    struct fix f;
    struct job j;
    double start;

    fix_init(&f);
    {
        const char *argv[] = {f.vcctl,  "agent",     f.url, "Check", "--dial-timeout",
                              "1500ms", "--timeout", "60s", NULL};
        job_start(&f, &j, argv, false, NULL);
    }
    start = j.t0; /* dialling starts at once */
    run_jumps(&f, &j, jp, &start, -1);
    expect_expired(&j, jp, "(ETIMEDOUT)");
    fix_done(&f);
}

START_TEST(test_dial_wall_forward)
{
    dial_case(&jumps_forward);
}
END_TEST

START_TEST(test_dial_wall_backward)
{
    dial_case(&jumps_backward);
}
END_TEST

START_TEST(test_dial_wall_both)
{
    dial_case(&jumps_both);
}
END_TEST

/* --- (c) guest time sync ------------------------------------------------------------------- */

/* Helper mode, under libfaketime: what vc_sandbox_set_guest_date_time does once it holds the
 * sandbox's agent (the real context's wall clock, sent with SetGuestDateTime), twice, with a
 * line from stdin in between (the parent moves the clock meanwhile). Prints each time sent. */
static int helper(char *url)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops, .data = NULL};
    struct vc_agent_config cfg = {.kind = "kata", .url = url, .dial_timeout_ms = 10000};
    struct vc_agent *agent = NULL;
    struct vc_ctx *ctx = NULL;
    char line[16];
    int r;

    r = vc_ctx_new_real(getenv("XDG_CONFIG_HOME"), &ctx);
    if (r >= 0)
        r = vc_agent_init(ctx, &be, "sb1", &cfg, &agent);
    for (int i = 0; r >= 0 && i < 2; i++) {
        int64_t now = vc_wall_now(ctx);

        r = vc_agent_set_guest_date_time(agent, now / 1000000000, (now % 1000000000) / 1000);
        if (r < 0)
            break;
        printf("sent %lld\n", (long long) (now / 1000000000));
        (void) fflush(stdout);
        if (i == 0 && !fgets(line, sizeof(line), stdin))
            r = -EPIPE;
    }
    if (r < 0)
        fprintf(stderr, "helper: %s (%d)\n", ctx ? vc_ctx_errmsg(ctx) : "no context", r);
    vc_agent_free(agent);
    vc_ctx_free(ctx);
    return r < 0 ? 1 : 0;
}

/* The Sec of each SetGuestDateTime request in the daemon's record, in order. */
static size_t record_times(const char *path, long long *secs, size_t max)
{
    FILE *r = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0;

    ck_assert_ptr_nonnull(r);
    while (getline(&line, &cap, r) > 0) {
        json_object *j = json_tokener_parse(line), *method, *msg, *sec;

        ck_assert_msg(j != NULL, "not JSON: %.200s", line);
        if (json_object_object_get_ex(j, "method", &method) &&
            strcmp(json_object_get_string(method), "SetGuestDateTime") == 0) {
            ck_assert_msg(json_object_object_get_ex(j, "msg", &msg) &&
                              json_object_object_get_ex(msg, "Sec", &sec),
                          "SetGuestDateTime without Sec: %.200s", line);
            ck_assert_uint_lt(n, max);
            secs[n++] = json_object_get_int64(sec);
        }
        json_object_put(j);
    }
    free(line);
    (void) fclose(r);
    return n;
}

/* Waits (bounded) until the job printed a line "sent N"; returns N. */
static long long wait_sent(struct job *j, int which)
{
    static char out[OUT_MAX];
    double limit = mono() + 20;

    for (;;) {
        const char *p = out;
        int seen = 0;

        read_all(j->out, out, sizeof(out));
        while ((p = strstr(p, "sent "))) {
            if (seen++ == which)
                return strtoll(p + 5, NULL, 10);
            p += 5;
        }
        if (job_poll(j) || mono() > limit) {
            static char err[OUT_MAX];
            read_all(j->err, err, sizeof(err));
            job_kill(j);
            ck_abort_msg("helper sent no time #%d (status %d): %s", which + 1, j->status, err);
        }
        pause_ms(10);
    }
}

START_TEST(test_time_sync_sends_faked_wall)
{
    struct fix f;
    struct job j;
    char rec[128], url[160];
    long long sent[2], got[4];
    time_t before, after;
    size_t n;

    fix_init(&f);
    snprintf(rec, sizeof(rec), "%s/rec.jsonl", f.dir);
    snprintf(url, sizeof(url), "%s", f.url);
    ck_assert_msg(access(f.magent, X_OK) == 0, "no mockagent binary at %s", f.magent);
    {
        /* The daemon is the guest: not under libfaketime. */
        const char *argv[] = {f.magent, "--listen", url, "--record", rec, NULL};
        f.agent = fork();
        ck_assert_int_ge(f.agent, 0);
        if (f.agent == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0)
                (void) dup2(null, STDOUT_FILENO);
            execv(f.magent, (char *const *) argv);
            _exit(127);
        }
    }
    ft_set(&f, "+10d");
    before = time(NULL);
    {
        const char *argv[] = {f.self, NULL};
        job_start(&f, &j, argv, true, url);
    }
    sent[0] = wait_sent(&j, 0);
    ft_set(&f, "-3h");
    ck_assert_int_eq(write(j.in, "go\n", 3), 3);
    sent[1] = wait_sent(&j, 1);
    while (!job_poll(&j)) {
        ck_assert_msg(mono() < j.t0 + 30, "the helper did not exit");
        pause_ms(10);
    }
    job_kill(&j);
    after = time(NULL);
    ck_assert_int_eq(j.status, 0);
    fprintf(stderr, "check_faketime: time sync: host %lld..%lld, sent %+lld s then %+lld s\n",
            (long long) before, (long long) after, sent[0] - (long long) before,
            sent[1] - (long long) before);
    /* What crossed the wire is what the helper read from its (faked) wall clock. */
    n = record_times(rec, got, 4);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(got[0], sent[0]);
    ck_assert_int_eq(got[1], sent[1]);
    ck_assert_msg(got[0] >= before + TEN_DAYS - SLACK_S && got[0] <= after + TEN_DAYS + SLACK_S,
                  "first time %lld is not the host's + 10 days (%lld..%lld)", got[0],
                  (long long) before, (long long) after);
    ck_assert_msg(got[1] >= before - 3 * 3600 - SLACK_S && got[1] <= after - 3 * 3600 + SLACK_S,
                  "second time %lld is not the host's - 3 hours (%lld..%lld)", got[1],
                  (long long) before, (long long) after);
    fix_done(&f);
}
END_TEST

static Suite *faketime_suite(void)
{
    Suite *s = suite_create("faketime");
    TCase *deadline = tcase_create("deadline");
    TCase *dial = tcase_create("dial");
    TCase *sync = tcase_create("time_sync");

    tcase_set_timeout(deadline, 30);
    tcase_add_test(deadline, test_deadline_wall_forward);
    tcase_add_test(deadline, test_deadline_wall_backward);
    tcase_add_test(deadline, test_deadline_wall_both);
    suite_add_tcase(s, deadline);
    tcase_set_timeout(dial, 30);
    tcase_add_test(dial, test_dial_wall_forward);
    tcase_add_test(dial, test_dial_wall_backward);
    tcase_add_test(dial, test_dial_wall_both);
    suite_add_tcase(s, dial);
    tcase_set_timeout(sync, 60);
    tcase_add_test(sync, test_time_sync_sends_faked_wall);
    suite_add_tcase(s, sync);
    return s;
}

int main(void)
{
    char *helper_url = getenv(HELPER_ENV);
    char lib[PATH_MAX];
    SRunner *sr;
    int failed;

    if (helper_url && *helper_url)
        return helper(helper_url);
    if (!find_libfaketime(lib, sizeof(lib))) {
        fprintf(stderr, "check_faketime: no libfaketime (Debian: libfaketime): skipped\n");
        return 77;
    }
    sr = srunner_create(faketime_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
