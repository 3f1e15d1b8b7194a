/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the mock agent's guest model and script engine, called directly (no front end):
 * the model runs on a simhv guest context, and tests advance virtual time with the world. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vc/vc.h>
#include <vc/status.h>
#include <vc/types.h>

#include <mockagent/host.h>
#include <simhv/world.h>

#include "magent_model.h"
#include "schema.h"

#define MS SIMHV_NS_PER_MS
#define S  SIMHV_NS_PER_S

struct mfix {
    struct simhv_world *w;  /* the world */
    struct simhv_ctx *gctx; /* the guest context */
    struct magent_host *h;  /* the host */
    struct magent_guest *g; /* the guest of cid 3 */
};

static char *sleep_argv[] = {"sleep", "*"};
static char *echo_argv[] = {"cat"};
static char *hello_argv[] = {"echo", "**"};
static char *oom_argv[] = {"hog"};
static struct magent_signal_rule term_rules[] = {{.signal = 15, .exit_code = 0},
                                                 {.signal = 1, .ignore = true}};

static struct magent_program programs[] = {
    {.argv = sleep_argv, .n_argv = 2, .runtime_ns = 2 * S, .exit_code = 3},
    {.argv = echo_argv, .n_argv = 1, .echo_stdin = true},
    {.argv = hello_argv, .n_argv = 2, .out = "hello\n", .err = "warn\n", .runtime_ns = 0},
    {.argv = oom_argv, .n_argv = 1, .runtime_ns = UINT64_MAX, .oom_after_ns = 500 * MS},
    {.argv = NULL, .n_argv = 0, .runtime_ns = UINT64_MAX, .signals = term_rules, .n_signals = 2},
};

static int mfix_setup(void **state)
{
    struct magent_script script = {.programs = programs, .n_programs = 5};
    struct mfix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(simhv_world_new(NULL, &f->w), 0);
    assert_int_equal(simhv_ctx_new(f->w, "guest", &f->gctx), 0);
    assert_int_equal(magent_host_new(simhv_ctx_vc(f->gctx), &script, &f->h), 0);
    assert_int_equal(magent_host_boot(f->h, "sb", 3, 1, 256), 0);
    f->g = magent_host_guest(f->h, 3);
    assert_non_null(f->g);
    *state = f;
    return 0;
}

static int mfix_teardown(void **state)
{
    struct mfix *f = *state;

    magent_host_free(f->h);
    simhv_ctx_free(f->gctx);
    simhv_world_free(f->w);
    free(f);
    return 0;
}

static struct vc_ctx *mctx(struct mfix *f)
{
    return simhv_ctx_vc(f->gctx);
}

static void advance(struct mfix *f, uint64_t ns)
{
    (void) simhv_world_run_until(f->w, simhv_world_now(f->w) + ns);
}

/* Creates and starts container id running args. */
static void start_ct(struct mfix *f, const char *id, char **args, size_t n)
{
    struct vc_container_config cfg = {.id = (char *) id, .process = {.args = args, .n_args = n}};
    struct vc_process p = {0};

    assert_int_equal(magent_guest_create_container(f->g, &cfg, &p), VC_STATUS_OK);
    assert_string_equal(p.exec_id, id);
    vc_process_clear(mctx(f), &p);
    assert_int_equal(magent_guest_start_container(f->g, id), VC_STATUS_OK);
}

static void exec_in(struct mfix *f, const char *id, const char *eid, char **args, size_t n)
{
    struct vc_process_config cmd = {.args = args, .n_args = n};
    struct vc_process p = {0};

    assert_int_equal(magent_guest_exec_process(f->g, id, eid, &cmd, &p), VC_STATUS_OK);
    assert_true(p.pid >= MAGENT_PID_FIRST);
    vc_process_clear(mctx(f), &p);
}

static void test_glob(void **state)
{
    assert_true(magent_glob("*", ""));
    assert_true(magent_glob("Create*", "CreateContainer"));
    assert_true(magent_glob("*Container", "StartContainer"));
    assert_true(magent_glob("a*c*e", "abcde"));
    assert_false(magent_glob("a*c*f", "abcde"));
    assert_false(magent_glob("Check", "CheckX"));
    assert_true(magent_glob("", ""));
}

static void test_script_validation(void **state)
{
    struct simhv_world *w;
    struct simhv_ctx *c;
    struct magent_host *h = NULL;
    struct magent_rule bad_reply = {.rpc = "Check", .reply = 7};
    struct magent_rule bad_status = {.rpc = "Check", .reply = MAGENT_REPLY_ERROR, .status = 17};
    struct magent_rule no_rpc = {.reply = MAGENT_REPLY_OK};
    struct magent_signal_rule kill_rule = {.signal = 9};
    struct magent_program bad_prog = {.signals = &kill_rule, .n_signals = 1};
    struct magent_script s = {.rules = &bad_reply, .n_rules = 1};

    assert_int_equal(simhv_world_new(NULL, &w), 0);
    assert_int_equal(simhv_ctx_new(w, "guest", &c), 0);
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), &s, &h), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(simhv_ctx_vc(c)), "unknown reply kind"));
    s.rules = &bad_status;
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), &s, &h), -EINVAL);
    assert_non_null(strstr(vc_ctx_errmsg(simhv_ctx_vc(c)), "out of range"));
    s.rules = &no_rpc;
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), &s, &h), -EINVAL);
    s = (struct magent_script){.programs = &bad_prog, .n_programs = 1};
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), &s, &h), -EINVAL);
    assert_null(h);
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), NULL, &h), 0);
    magent_host_free(h);
    assert_int_equal(simhv_ctx_live_allocs(c), 0);
    simhv_ctx_free(c);
    simhv_world_free(w);
}

static void test_script_nth_limit(void **state)
{
    struct magent_match m = {.field = "container_id", .value = "c*"};
    struct magent_rule rules[] = {
        {.rpc = "Start*",
         .match = &m,
         .n_match = 1,
         .nth = 2,
         .limit = 2,
         .reply = MAGENT_REPLY_ERROR,
         .status = VC_STATUS_UNAVAILABLE},
        {.rpc = "StartContainer", .reply = MAGENT_REPLY_OK, .expected = true},
        {.rpc = "Check", .reply = MAGENT_REPLY_HANG, .expected = true},
    };
    struct magent_script s = {.rules = rules, .n_rules = 3};
    struct magent_field fc = {.name = "container_id", .value = "c1"};
    struct magent_field fx = {.name = "container_id", .value = "x1"};
    struct simhv_world *w;
    struct simhv_ctx *c;
    struct magent_host *h;
    const struct magent_rule *r;

    assert_int_equal(simhv_world_new(NULL, &w), 0);
    assert_int_equal(simhv_ctx_new(w, "guest", &c), 0);
    assert_int_equal(magent_host_new(simhv_ctx_vc(c), &s, &h), 0);
    rules[0].used = 99; /* the host works on its own copy */
    assert_int_equal(magent_host_unused_expectations(h), 2);
    r = magent_host_decide(h, "StartContainer", &fc, 1); /* 1st: not yet */
    assert_int_equal(r->reply, MAGENT_REPLY_OK);
    r = magent_host_decide(h, "StartContainer", &fc, 1); /* 2nd: error */
    assert_int_equal(r->reply, MAGENT_REPLY_ERROR);
    r = magent_host_decide(h, "StartContainer", &fx, 1); /* field mismatch */
    assert_int_equal(r->reply, MAGENT_REPLY_OK);
    r = magent_host_decide(h, "StartContainer", &fc, 1); /* 3rd: error */
    assert_int_equal(r->reply, MAGENT_REPLY_ERROR);
    r = magent_host_decide(h, "StartContainer", &fc, 1); /* 4th: past the limit */
    assert_int_equal(r->reply, MAGENT_REPLY_OK);
    assert_null(magent_host_decide(h, "StopContainer", NULL, 0));
    assert_int_equal(magent_host_script(h)->rules[0].used, 2);
    assert_int_equal(magent_host_script(h)->rules[1].used, 3);
    assert_int_equal(magent_host_unused_expectations(h), 1);
    magent_host_free(h);
    simhv_ctx_free(c);
    simhv_world_free(w);
}

static void test_programs_match(void **state)
{
    struct magent_script s = {.programs = programs, .n_programs = 5};
    char *a1[] = {"sleep", "10"}, *a2[] = {"sleep"}, *a3[] = {"echo", "a", "b", "c"};
    char *a4[] = {"echo"};

    assert_ptr_equal(magent_script_program(&s, a1, 2), &programs[0]);
    assert_ptr_equal(magent_script_program(&s, a2, 1), &programs[4]); /* falls to catch-all */
    assert_ptr_equal(magent_script_program(&s, a3, 4), &programs[2]);
    assert_ptr_equal(magent_script_program(&s, a4, 1), &programs[2]); /* ** matches nothing */
}

static void test_url_parse(void **state)
{
    uint32_t cid, port;

    assert_int_equal(magent_url_parse("vsock://3:1024", &cid, &port), 0);
    assert_int_equal(cid, 3);
    assert_int_equal(port, 1024);
    assert_int_equal(magent_url_parse("vsock://4294967295:1", &cid, &port), 0);
    assert_int_equal(magent_url_parse("vsock://4294967296:1", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse("vsock://3:0", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse("vsock://-3:1024", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse("vsock://3:1024x", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse("vsock://:1024", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse("hvsock://3:1024", &cid, &port), -EINVAL);
    assert_int_equal(magent_url_parse(NULL, &cid, &port), -EINVAL);
    assert_int_equal(
        magent_url_parse("vsock://0000000000000000000000000000000000000000000000000000003:1", &cid,
                         &port),
        -EINVAL);
}

static void test_host_lifecycle(void **state)
{
    struct mfix *f = *state;

    assert_int_equal(magent_host_boot(f->h, "other", 3, 1, 1), -EEXIST);
    assert_int_equal(magent_host_boot(f->h, "sb2", 4, 2, 512), 0);
    assert_int_equal(magent_host_guest_count(f->h), 2);
    assert_non_null(magent_host_guest_by_url(f->h, "vsock://4:1024"));
    assert_null(magent_host_guest_by_url(f->h, "vsock://5:1024"));
    assert_string_equal(magent_guest_sandbox_id(magent_host_guest_at(f->h, 1)), "sb2");
    magent_host_halt(f->h, 4);
    assert_int_equal(magent_host_guest_count(f->h), 1);
    assert_null(magent_host_guest(f->h, 4));
    magent_host_halt(f->h, 4); /* unknown: ignored */
}

static void test_container_lifecycle(void **state)
{
    struct mfix *f = *state;
    char *args[] = {"sleep", "2"};
    struct vc_container_config cfg = {.id = "c1", .process = {.args = args, .n_args = 2}};
    struct magent_ct_view v;
    struct vc_process p = {0};
    int32_t st = -1;

    assert_int_equal(magent_guest_create_sandbox(f->g, "host", NULL, 0, "sb"), 0);
    assert_true(magent_guest_sandbox_up(f->g));
    assert_string_equal(magent_guest_hostname(f->g), "host");
    assert_int_equal(magent_guest_create_container(f->g, &cfg, &p), VC_STATUS_OK);
    assert_int_equal(p.pid, MAGENT_PID_FIRST);
    vc_process_clear(mctx(f), &p);
    /* kata-agent refuses a second container of that id, with INTERNAL. */
    assert_int_equal(magent_guest_create_container(f->g, &cfg, &p), VC_STATUS_INTERNAL);
    assert_non_null(strstr(magent_guest_message(f->g), "already exists"));
    cfg.id = "x";
    assert_int_equal(magent_guest_create_container(f->g, &cfg, &p), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_container(f->g, "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_CREATED);
    assert_int_equal(v.n_running, 0);
    assert_int_equal(magent_guest_start_container(f->g, "nope"), VC_STATUS_INTERNAL);
    assert_string_equal(magent_guest_message(f->g), "Invalid container id");
    assert_int_equal(magent_guest_start_container(f->g, "c1"), VC_STATUS_OK);
    assert_int_equal(magent_guest_start_container(f->g, "c1"), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), MAGENT_AGAIN);
    advance(f, 1999 * MS);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "", &st), MAGENT_AGAIN);
    advance(f, 1 * MS);
    assert_int_equal(magent_guest_container(f->g, "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_STOPPED);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_OK);
    assert_int_equal(st, 3);
    /* Reaped: it is forgotten. */
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_remove_container(f->g, "c1"), VC_STATUS_OK);
    assert_int_equal(magent_guest_remove_container(f->g, "c1"), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_container_count(f->g), 0);
}

static void test_signals(void **state)
{
    struct mfix *f = *state;
    char *init[] = {"server"}, *hup[] = {"worker"};
    int32_t st;

    start_ct(f, "c1", init, 1);
    exec_in(f, "c1", "e1", hup, 1);
    exec_in(f, "c1", "e2", hup, 1);
    assert_int_equal(magent_guest_exec_process(
                         f->g, "c1", "e1", &(struct vc_process_config){.args = hup, .n_args = 1},
                         &(struct vc_process){0}),
                     VC_STATUS_ALREADY_EXISTS);
    assert_int_equal(magent_guest_exec_process(
                         f->g, "c1", "", &(struct vc_process_config){.args = hup, .n_args = 1},
                         &(struct vc_process){0}),
                     VC_STATUS_INVALID_ARGUMENT);
    /* SIGHUP is ignored by the program's rule; SIGTERM exits 0 per rule; SIGUSR1 default. */
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "e1", 1, false), VC_STATUS_OK);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "e1", &st), MAGENT_AGAIN);
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "e1", 15, false), VC_STATUS_OK);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "e1", &st), VC_STATUS_OK);
    assert_int_equal(st, 128 + 15); /* exit_code 0 takes the default */
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "e2", 10, false), VC_STATUS_OK);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "e2", &st), VC_STATUS_OK);
    assert_int_equal(st, 138);
    /* Signalling a reaped exec is refused; an unknown container too. */
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "e2", 9, false), VC_STATUS_INTERNAL);
    assert_string_equal(magent_guest_message(f->g), "Invalid exec id");
    assert_int_equal(magent_guest_signal_process(f->g, "zz", "", 9, true), VC_STATUS_INTERNAL);
    /* all: every process, init included; SIGKILL is 137. */
    exec_in(f, "c1", "e3", hup, 1);
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "", 9, true), VC_STATUS_OK);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "e3", &st), VC_STATUS_OK);
    assert_int_equal(st, 137);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_OK);
    assert_int_equal(st, 137);
}

static void test_init_sigterm_becomes_sigkill(void **state)
{
    struct mfix *f = *state;
    char *args[] = {"sleep", "100"};
    int32_t st;

    start_ct(f, "c1", args, 2);
    assert_int_equal(magent_guest_signal_process(f->g, "c1", "", 15, false), VC_STATUS_OK);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_OK);
    assert_int_equal(st, 137);
}

static void test_stdio(void **state)
{
    struct mfix *f = *state;
    char *init[] = {"server"}, *cat[] = {"cat"}, *hello[] = {"echo", "hi"};
    char buf[64];
    size_t n = 0;
    int32_t st;

    start_ct(f, "c1", init, 1);
    exec_in(f, "c1", "h", hello, 2);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "h", false, buf, 3, &n), VC_STATUS_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "hel", 3);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "h", false, buf, 64, &n), VC_STATUS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "h", true, buf, 64, &n), VC_STATUS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "warn\n", 5);
    /* Drained but still running (it ends at the next event): not yet. */
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "h", false, buf, 64, &n), MAGENT_AGAIN);
    advance(f, 1);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "h", false, buf, 64, &n), VC_STATUS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "h", &st), VC_STATUS_OK);
    assert_int_equal(st, 0);

    exec_in(f, "c1", "cat", cat, 1);
    assert_int_equal(magent_guest_write_stdin(f->g, "c1", "cat", "ping", 4, &n), VC_STATUS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "cat", false, buf, 64, &n), VC_STATUS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(magent_guest_close_stdin(f->g, "c1", "cat"), VC_STATUS_OK);
    assert_int_equal(magent_guest_write_stdin(f->g, "c1", "cat", "x", 1, &n), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_read_stream(f->g, "c1", "cat", false, buf, 64, &n), VC_STATUS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "cat", &st), VC_STATUS_OK);
    assert_int_equal(st, 0);
    assert_int_equal(magent_guest_close_stdin(f->g, "c1", "cat"), VC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(magent_guest_tty_win_resize(f->g, "c1", "cat", 1, 1), VC_STATUS_UNAVAILABLE);
}

static void test_oom(void **state)
{
    struct mfix *f = *state;
    char *init[] = {"server"}, *hog[] = {"hog"};
    struct vc_container_stats s;
    char *id = NULL;
    int32_t st;

    start_ct(f, "c1", init, 1);
    exec_in(f, "c1", "hog", hog, 1);
    assert_int_equal(magent_guest_get_oom_event(f->g, &id), MAGENT_AGAIN);
    advance(f, 499 * MS);
    assert_int_equal(magent_guest_pending_oom(f->g), 0);
    advance(f, 1 * MS);
    assert_int_equal(magent_guest_pending_oom(f->g), 1);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "hog", &st), VC_STATUS_OK);
    assert_int_equal(st, 137);
    assert_int_equal(magent_guest_get_oom_event(f->g, &id), VC_STATUS_OK);
    assert_string_equal(id, "c1");
    vc_free(mctx(f), id);
    assert_int_equal(magent_guest_stats_container(f->g, "c1", &s), VC_STATUS_OK);
    assert_int_equal(s.mem_failcnt, 1);
    assert_int_equal(s.pids_current, 1);
    assert_int_equal(s.cpu_total_ns, 500 * MS); /* init ran 0.5 s; hog was reaped */
    /* Forced OOM of the whole container. */
    assert_int_equal(magent_guest_oom(f->g, "zz"), -ENOENT);
    assert_int_equal(magent_guest_oom(f->g, "c1"), 0);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_OK);
    assert_int_equal(st, 137);
    assert_int_equal(magent_guest_pending_oom(f->g), 1);
    assert_int_equal(magent_guest_stats_container(f->g, "zz", &s), VC_STATUS_INVALID_ARGUMENT);
}

static void test_pause_freezes(void **state)
{
    struct mfix *f = *state;
    char *args[] = {"sleep", "2"};
    struct magent_ct_view v;
    int32_t st;

    start_ct(f, "c1", args, 2);
    advance(f, 1 * S);
    magent_guest_set_paused(f->g, true);
    advance(f, 10 * S);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), MAGENT_AGAIN);
    magent_guest_set_paused(f->g, false);
    /* Container pause stacks with the VM's. */
    assert_int_equal(magent_guest_pause_container(f->g, "c1"), VC_STATUS_OK);
    assert_int_equal(magent_guest_pause_container(f->g, "c1"), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_container(f->g, "c1", &v), 0);
    assert_int_equal(v.state, MAGENT_CT_PAUSED);
    advance(f, 5 * S);
    assert_int_equal(magent_guest_resume_container(f->g, "c1"), VC_STATUS_OK);
    assert_int_equal(magent_guest_resume_container(f->g, "c1"), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_pause_container(f->g, "zz"), VC_STATUS_INVALID_ARGUMENT);
    advance(f, 999 * MS);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), MAGENT_AGAIN);
    advance(f, 1 * MS);
    assert_int_equal(magent_guest_wait_process(f->g, "c1", "c1", &st), VC_STATUS_OK);
    assert_int_equal(st, 3);
}

static void test_resources_and_misc(void **state)
{
    struct mfix *f = *state;
    struct vc_copy_file cf = {
        .path = "/run/kata-containers/f", .file_mode = 0644, .data = (uint8_t *) "abc", .size = 3};
    const uint8_t *data;
    size_t size;
    uint32_t mode;
    uint8_t *ipt = NULL;
    struct vc_volume_stats vs;
    struct vc_guest_details d;
    char *ps = NULL;
    char *init[] = {"server", "-x"};

    assert_int_equal(magent_guest_online_vcpus(f->g), 1);
    magent_host_resources(f->h, 3, 3, 512);
    assert_int_equal(magent_guest_vcpus(f->g), 3);
    assert_int_equal(magent_guest_online_cpu_mem(f->g, 2, true), VC_STATUS_OK);
    assert_int_equal(magent_guest_online_vcpus(f->g), 3);
    assert_int_equal(magent_guest_online_memory_mb(f->g), 256);
    assert_int_equal(magent_guest_online_cpu_mem(f->g, 4, true), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_online_cpu_mem(f->g, 0, false), VC_STATUS_OK);
    assert_int_equal(magent_guest_online_memory_mb(f->g), 512);
    assert_int_equal(magent_guest_mem_hotplug_by_probe(f->g, 1u << 30, 256, 128), 0);
    assert_int_equal(magent_guest_probed_blocks(f->g), 2);
    assert_int_equal(magent_guest_set_date_time(f->g, 1700000000, 5), 0);
    assert_int_equal(magent_guest_date_time_sec(f->g), 1700000000);
    assert_int_equal(magent_guest_copy_file(f->g, &cf), 0);
    assert_int_equal(magent_guest_file(f->g, "/run/kata-containers/f", &data, &size, &mode), 0);
    assert_int_equal(size, 3);
    assert_int_equal(mode, 0644);
    cf.path = "/etc/passwd";
    assert_int_equal(magent_guest_copy_file(f->g, &cf), VC_STATUS_INTERNAL);
    cf.path = "/run/../etc/passwd";
    assert_int_equal(magent_guest_copy_file(f->g, &cf), VC_STATUS_INTERNAL);
    assert_int_equal(magent_guest_set_iptables(f->g, true, (const uint8_t *) "v6", 2), 0);
    assert_int_equal(magent_guest_get_iptables(f->g, false, &ipt, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(magent_guest_get_iptables(f->g, true, &ipt, &size), 0);
    assert_int_equal(size, 2);
    vc_free(mctx(f), ipt);
    assert_int_equal(magent_guest_volume_stats(f->g, "/v", &vs), 0);
    assert_int_equal(vs.bytes_total, UINT64_C(1) << 30);
    assert_int_equal(magent_guest_resize_volume(f->g, "/v", 4096), 0);
    assert_int_equal(magent_guest_volume_stats(f->g, "/v", &vs), 0);
    assert_int_equal(vs.bytes_total, 4096);
    assert_int_equal(magent_guest_get_details(f->g, &d), 0);
    assert_int_equal(d.mem_block_size_bytes, UINT64_C(128) << 20);
    assert_string_equal(d.agent_version, "3.2.0-vcsim");
    vc_guest_details_clear(mctx(f), &d);
    start_ct(f, "c1", init, 2);
    assert_int_equal(magent_guest_list_processes(f->g, "c1", "json", &ps), 0);
    assert_string_equal(ps, "[100]");
    vc_free(mctx(f), ps);
    assert_int_equal(magent_guest_list_processes(f->g, "c1", "table", &ps), 0);
    assert_non_null(strstr(ps, "server -x"));
    assert_non_null(strstr(ps, "PID"));
    vc_free(mctx(f), ps);
    assert_int_equal(magent_guest_list_processes(f->g, "c1", "yaml", &ps),
                     VC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(magent_guest_destroy_sandbox(f->g), 0);
    assert_int_equal(magent_guest_container_count(f->g), 0);
    assert_false(magent_guest_sandbox_up(f->g));
}

static void test_network(void **state)
{
    struct mfix *f = *state;
    struct vc_interface i1 = {.name = "eth0", .device = "eth0", .mtu = 1500};
    struct vc_interface out = {0}, *list = NULL;
    struct vc_route rt[2] = {{.dest = "10.0.0.0/24", .device = "eth0"}, {.dest = ""}};
    struct vc_route *routes = NULL;
    size_t n = 0;

    assert_int_equal(magent_guest_update_interface(f->g, NULL, &out), VC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(magent_guest_update_interface(f->g, &i1, &out), 0);
    vc_interface_clear(mctx(f), &out);
    i1.mtu = 9000;
    assert_int_equal(magent_guest_update_interface(f->g, &i1, &out), 0);
    vc_interface_clear(mctx(f), &out);
    assert_int_equal(magent_guest_list_interfaces(f->g, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].mtu, 9000);
    vc_interfaces_free(mctx(f), list, n);
    assert_int_equal(magent_guest_update_routes(f->g, rt, 2, &routes, &n), 0);
    assert_int_equal(n, 2);
    vc_routes_free(mctx(f), routes, n);
    assert_int_equal(magent_guest_update_routes(f->g, rt, 1, &routes, &n), 0);
    vc_routes_free(mctx(f), routes, n);
    assert_int_equal(magent_guest_list_routes(f->g, &routes, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(routes[0].dest, "10.0.0.0/24");
    vc_routes_free(mctx(f), routes, n);
}

static void test_halt_frees_timers(void **state)
{
    struct mfix *f = *state;
    char *args[] = {"sleep", "2"};

    start_ct(f, "c1", args, 2);
    assert_true(simhv_world_pending(f->w) > 0);
    magent_host_halt(f->h, 3);
    f->g = NULL;
    /* The process timer went with the guest: running the world touches nothing freed. */
    advance(f, 10 * S);
    assert_int_equal(magent_host_guest_count(f->h), 0);
}

#define MT(fn) cmocka_unit_test_setup_teardown(fn, mfix_setup, mfix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_script_validation),
        cmocka_unit_test(test_script_nth_limit),
        cmocka_unit_test(test_programs_match),
        cmocka_unit_test(test_url_parse),
        MT(test_host_lifecycle),
        MT(test_container_lifecycle),
        MT(test_signals),
        MT(test_init_sigterm_becomes_sigkill),
        MT(test_stdio),
        MT(test_oom),
        MT(test_pause_freezes),
        MT(test_resources_and_misc),
        MT(test_network),
        MT(test_halt_frees_timers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
