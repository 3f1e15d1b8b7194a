/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent backend against the mockagent daemon in another process, over a real unix
 * socket: every vc_agent_* op that maps to an RPC, with the guest model's answers checked (exec
 * output and exit codes, OOM events, online vCPUs, volume sizes, iptables round trips) and the
 * daemon's --record file proving each of the backend's RPCs crossed the wire, with and without
 * long_live_conn. The binary is $MOCKAGENT_BIN, else the path the build gives (VC_MOCKAGENT). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "tool.h"
#include <json-c/json.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/kata.h>
#include <vc/vc.h>

#include "kata_agent.h"

#ifndef VC_MOCKAGENT
#define VC_MOCKAGENT ""
#endif

#define MIB       (UINT64_C(1) << 20)
#define BIG_FILE  (MIB + MIB / 2) /* a CopyFile of two chunks */
#define GUEST_CPU 4               /* the daemon's --vcpus (spawn_daemon) */
#define STR_(x)   #x
#define STR(x)    STR_(x)

/* The guest script: what the processes do and what the guest reports. */
static const char script_yaml[] =
    "guest:\n"
    "  facts: {mem_hotplug_probe: true, agent_version: \"9.9.9-itest\", volume_size: 1GiB}\n"
    "  programs:\n"
    "    - argv: [echo, \"**\"]\n"
    "      stdout: \"hello from the guest\\n\"\n"
    "      stderr: \"a warning\\n\"\n"
    "      exit: 3\n"
    "    - argv: [cat]\n"
    "      echo_stdin: true\n"
    "    - argv: [sleep, \"**\"]\n"
    "      runtime: forever\n"
    "      signals:\n"
    "        - {signal: SIGUSR1, exit: 42}\n"
    "    - argv: [hog]\n"
    "      runtime: forever\n"
    "      oom_after: 20ms\n";

struct kfix {
    char dir[64];           /* temporary directory */
    char sock[128];         /* the daemon's socket */
    char url[160];          /* unix://sock */
    char rec[128];          /* --record file */
    char script[128];       /* --script file */
    char bin[PATH_MAX];     /* the daemon */
    pid_t pid;              /* the daemon's pid, 0 if none */
    struct vc_ctx *ctx;     /* the runtime's real context */
    struct vc_agent *agent; /* the kata agent under test */
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

/* Starts the daemon on f's socket, with the script and the record file when full. */
static void spawn_daemon(struct kfix *f, bool full)
{
    const char *argv[] = {
        f->bin,    "--listen", f->url, "--vcpus", STR(GUEST_CPU), full ? "--script" : NULL,
        f->script, "--record", f->rec, NULL};

    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0 && !getenv("MOCKAGENT_TEST_VERBOSE"))
            (void) dup2(null, STDOUT_FILENO);
        execv(f->bin, (char *const *) argv);
        _exit(127);
    }
}

/* A fresh directory, the script, the daemon started on a socket there, a real context. */
static void kfix_init(struct kfix *f)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/vc-ckkata-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->sock, sizeof(f->sock), "%s/agent.sock", f->dir);
    snprintf(f->url, sizeof(f->url), "unix://%s", f->sock);
    snprintf(f->rec, sizeof(f->rec), "%s/rec.jsonl", f->dir);
    snprintf(f->script, sizeof(f->script), "%s/script.yaml", f->dir);
    write_file(f->script, script_yaml);
    ck_assert(vctest_find_bin("MOCKAGENT_BIN", VC_MOCKAGENT, "mockagent/mockagent", f->bin,
                              sizeof(f->bin)));
    ck_assert_msg(access(f->bin, X_OK) == 0, "no mockagent binary at %s", f->bin);
    spawn_daemon(f, true);
    ck_assert_int_eq(vc_ctx_new_real(f->dir, &f->ctx), 0);
}

/* The kata agent on the daemon's URL: the dial retries until the daemon listens. */
static void kfix_agent(struct kfix *f, bool long_live)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops, .data = NULL};
    struct vc_agent_config cfg = {
        .kind = "kata",
        .url = f->url,
        .dial_timeout_ms = 10000,
        .long_live_conn = long_live,
        .create_container_timeout_ms = 10000,
    };

    ck_assert_int_eq(vc_agent_init(f->ctx, &be, "sb1", &cfg, &f->agent), 0);
    ck_assert_int_eq(vc_agent_long_live_conn(f->agent), long_live);
}

/* Stops the daemon with SIGTERM; it must leave cleanly. */
static void kfix_stop_daemon(struct kfix *f)
{
    int status;

    ck_assert_int_eq(kill(f->pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(f->pid, &status, 0), f->pid);
    f->pid = 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon ended with status %#x",
                  status);
}

static void kfix_done(struct kfix *f)
{
    vc_agent_free(f->agent);
    if (f->pid > 0) {
        (void) kill(f->pid, SIGKILL);
        (void) waitpid(f->pid, NULL, 0);
    }
    vc_ctx_free(f->ctx);
    ck_assert_int_eq(vctest_rm_tree(f->dir), 0);
}

/* Asserts r is 0, showing the context's error otherwise. */
#define OK(f, call)                                                                                \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        ck_assert_msg(r_ == 0, "%s = %d: %s", #call, r_, vc_ctx_errmsg((f)->ctx));                 \
    } while (0)

/* --- the record ------------------------------------------------------------------------------ */

#define REC_METHODS 64

/* What the daemon's --record file says about the requests it received. */
struct recsum {
    char *methods[REC_METHODS];   /* distinct request methods (strdup'd) */
    unsigned counts[REC_METHODS]; /* requests of each */
    size_t n;                     /* number of methods */
    unsigned requests;            /* request frames */
    uint64_t max_stream;          /* highest request stream id */
    uint64_t last_stream;         /* stream id of the last request */
    bool increasing;              /* every request's id above the one before */
};

static void recsum_add(struct recsum *s, const char *method)
{
    size_t i;

    for (i = 0; i < s->n && strcmp(s->methods[i], method) != 0; i++)
        ;
    if (i == s->n) {
        ck_assert_uint_lt(s->n, REC_METHODS);
        s->methods[s->n++] = strdup(method);
    }
    s->counts[i]++;
}

static unsigned recsum_count(const struct recsum *s, const char *method)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->methods[i], method) == 0)
            return s->counts[i];
    return 0;
}

static void recsum_free(struct recsum *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->methods[i]);
}

static void read_record(const struct kfix *f, struct recsum *s)
{
    FILE *r = fopen(f->rec, "r");
    char *line = NULL;
    size_t cap = 0;

    ck_assert_ptr_nonnull(r);
    *s = (struct recsum){.increasing = true};
    while (getline(&line, &cap, r) > 0) {
        json_object *j = json_tokener_parse(line), *dir, *type, *stream, *method;
        uint64_t id;

        ck_assert_msg(j != NULL, "not JSON: %.200s", line);
        ck_assert(json_object_object_get_ex(j, "dir", &dir));
        ck_assert(json_object_object_get_ex(j, "type", &type));
        ck_assert(json_object_object_get_ex(j, "stream", &stream));
        if (strcmp(json_object_get_string(dir), "in") == 0 && json_object_get_int(type) == 1) {
            ck_assert_msg(json_object_object_get_ex(j, "method", &method),
                          "request without a method: %.200s", line);
            recsum_add(s, json_object_get_string(method));
            id = (uint64_t) json_object_get_int64(stream);
            if (s->requests && id <= s->last_stream)
                s->increasing = false;
            s->last_stream = id;
            if (id > s->max_stream)
                s->max_stream = id;
            s->requests++;
        }
        json_object_put(j);
    }
    free(line);
    (void) fclose(r);
}

/* --- the ops --------------------------------------------------------------------------------- */

static char *sleep_args[] = {"sleep", "infinity"};
static char *echo_args[] = {"echo", "hello"};
static char *cat_args[] = {"cat"};
static char *hog_args[] = {"hog"};

/* Check and start_sandbox: SetPolicy, the interfaces, routes and neighbours, CreateSandbox. */
static void run_sandbox(struct kfix *f, bool long_live)
{
    struct vc_ip_address ip = {.family = VC_IP_V4, .address = "10.0.0.2", .mask = "24"};
    struct vc_interface ifs[] = {
        {.device = "eth0",
         .name = "eth0",
         .addrs = &ip,
         .n_addrs = 1,
         .mtu = 1500,
         .hw_addr = "02:00:00:00:00:02"},
    };
    struct vc_route routes[] = {{.dest = "10.0.0.0/24", .device = "eth0", .family = VC_IP_V4},
                                {.dest = "", .gateway = "10.0.0.1", .device = "eth0"}};
    struct vc_arp_neighbor nbs[] = {{.to = {.address = "10.0.0.1", .mask = "32"},
                                     .device = "eth0",
                                     .lladdr = "02:00:00:00:00:01"}};
    char *dns[] = {"nameserver 10.0.0.1"};
    struct vc_sandbox_config cfg = {
        .id = "sb1",
        .hostname = "itest",
        .agent = {.kind = "kata",
                  .url = f->url,
                  .dial_timeout_ms = 10000,
                  .long_live_conn = long_live,
                  .create_container_timeout_ms = 10000,
                  .policy = "package agent_policy\ndefault allow := true\n"},
        .net = {.interfaces = ifs,
                .n_interfaces = 1,
                .routes = routes,
                .n_routes = 2,
                .neighbors = nbs,
                .n_neighbors = 1,
                .dns = dns,
                .n_dns = 1},
    };
    struct vc_interface *lifs = NULL, up = {0}, eth1 = {.device = "eth1", .name = "eth1"};
    struct vc_route *lr = NULL, *ur = NULL;
    size_t n = 0;

    OK(f, vc_agent_check(f->agent));
    /* kata's createSandbox only takes the sandbox's agent settings. */
    OK(f, vc_agent_create_sandbox(f->agent, &cfg));
    ck_assert_int_eq(vc_agent_long_live_conn(f->agent), long_live);
    OK(f, vc_agent_start_sandbox(f->agent, &cfg));

    /* What start_sandbox set up is what the guest lists. */
    OK(f, vc_agent_list_interfaces(f->agent, &lifs, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(lifs[0].name, "eth0");
    ck_assert_uint_eq(lifs[0].n_addrs, 1);
    ck_assert_str_eq(lifs[0].addrs[0].address, "10.0.0.2");
    ck_assert_str_eq(lifs[0].addrs[0].mask, "24");
    vc_interfaces_free(f->ctx, lifs, n);
    OK(f, vc_agent_list_routes(f->agent, &lr, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lr[0].dest, "10.0.0.0/24");
    ck_assert_str_eq(lr[1].gateway, "10.0.0.1");
    vc_routes_free(f->ctx, lr, n);

    /* A second interface and a new route table. */
    OK(f, vc_agent_update_interface(f->agent, &eth1, &up));
    ck_assert_str_eq(up.name, "eth1");
    vc_interface_clear(f->ctx, &up);
    OK(f, vc_agent_list_interfaces(f->agent, &lifs, &n));
    ck_assert_uint_eq(n, 2);
    vc_interfaces_free(f->ctx, lifs, n);
    OK(f, vc_agent_update_routes(f->agent, routes, 1, &ur, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ur[0].device, "eth0");
    vc_routes_free(f->ctx, ur, n);
}

/* Reads a whole stream (stdout or stderr) until its end into buf. */
static size_t read_all(struct kfix *f, const char *cid, const char *eid, bool err, char *buf,
                       size_t size)
{
    size_t got = 0, n;

    for (;;) {
        n = 0;
        if (err)
            OK(f, vc_agent_read_process_stderr(f->agent, cid, eid, buf + got, size - 1 - got, &n));
        else
            OK(f, vc_agent_read_process_stdout(f->agent, cid, eid, buf + got, size - 1 - got, &n));
        if (n == 0)
            break;
        got += n;
        ck_assert_uint_lt(got, size - 1);
    }
    buf[got] = '\0';
    return got;
}

static void exec_cmd(struct kfix *f, const char *eid, char **args, size_t n, bool tty)
{
    struct vc_process_config pc = {
        .args = args, .n_args = n, .cwd = "/", .terminal = tty, .rows = 24, .columns = 80};
    struct vc_process proc = {0};

    OK(f, vc_agent_exec(f->agent, "c1", eid, &pc, &proc));
    ck_assert_str_eq(proc.exec_id, eid);
    vc_process_clear(f->ctx, &proc);
}

static int32_t wait_for(struct kfix *f, const char *cid, const char *eid)
{
    int32_t status = -1;

    OK(f, vc_agent_wait_process(f->agent, cid, eid, &status));
    return status;
}

static void create_start(struct kfix *f, const char *id, char **args, size_t n)
{
    struct vc_mount mnt = {.source = "tmpfs", .destination = "/tmp", .type = "tmpfs"};
    struct vc_container_config cc = {
        .id = (char *) id,
        .rootfs = "/run/kata-containers/shared/containers/rootfs",
        .process = {.args = args, .n_args = n, .cwd = "/"},
        .mounts = &mnt,
        .n_mounts = 1,
    };
    struct vc_process proc = {0};

    OK(f, vc_agent_create_container(f->agent, &cc, &proc));
    ck_assert_str_eq(proc.exec_id, id);
    vc_process_clear(f->ctx, &proc);
    OK(f, vc_agent_start_container(f->agent, id));
}

/* Containers and processes: exec with output, stdin, a tty, signals, updates and stats. */
static void run_processes(struct kfix *f)
{
    struct vc_resources res = {.cpu_shares = 512, .memory_limit = 256 * (int64_t) MIB};
    struct vc_container_stats st = {0};
    char buf[256];
    size_t n = 0;

    create_start(f, "c1", sleep_args, 2);

    /* echo: its output and exit status as the script says. */
    exec_cmd(f, "e1", echo_args, 2, false);
    ck_assert_uint_eq(read_all(f, "c1", "e1", false, buf, sizeof(buf)), 21);
    ck_assert_str_eq(buf, "hello from the guest\n");
    read_all(f, "c1", "e1", true, buf, sizeof(buf));
    ck_assert_str_eq(buf, "a warning\n");
    ck_assert_int_eq(wait_for(f, "c1", "e1"), 3);

    /* cat on a tty: stdin comes back on stdout; closing stdin ends it. */
    exec_cmd(f, "e2", cat_args, 1, true);
    OK(f, vc_agent_write_process_stdin(f->agent, "c1", "e2", "ping\n", 5, &n));
    ck_assert_uint_eq(n, 5);
    OK(f, vc_agent_read_process_stdout(f->agent, "c1", "e2", buf, sizeof(buf), &n));
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(memcmp(buf, "ping\n", 5), 0);
    OK(f, vc_agent_winsize_process(f->agent, "c1", "e2", 40, 120));
    OK(f, vc_agent_close_process_stdin(f->agent, "c1", "e2"));
    ck_assert_uint_eq(read_all(f, "c1", "e2", false, buf, sizeof(buf)), 0);
    ck_assert_int_eq(wait_for(f, "c1", "e2"), 0);

    /* sleep takes SIGUSR1 as the script says. */
    exec_cmd(f, "e3", sleep_args, 2, false);
    OK(f, vc_agent_signal_process(f->agent, "c1", "e3", SIGUSR1, false));
    ck_assert_int_eq(wait_for(f, "c1", "e3"), 42);
    /* A process reaped is forgotten by the guest: naming it is an error. */
    ck_assert_int_eq(vc_agent_signal_process(f->agent, "c1", "e3", SIGKILL, false), -EIO);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f->ctx), "Invalid exec id"));
    ck_assert_int_eq(vc_agent_wait_process(f->agent, "c1", "e3", &(int32_t){0}), -EIO);

    /* Resources: the limit set is the limit the stats report. */
    OK(f, vc_agent_update_container(f->agent, "c1", &res));
    OK(f, vc_agent_stats_container(f->agent, "c1", &st));
    ck_assert_uint_eq(st.mem_limit, 256 * MIB);
    ck_assert_uint_eq(st.pids_current, 1);
    OK(f, vc_agent_pause_container(f->agent, "c1"));
    /* Pausing twice is refused by the guest. */
    ck_assert_int_lt(vc_agent_pause_container(f->agent, "c1"), 0);
    OK(f, vc_agent_resume_container(f->agent, "c1"));
}

/* The guest's resources, time, files, swap, volumes, iptables, policy and diagnostics. */
static void run_guest(struct kfix *f)
{
    struct vc_mount em = {.source = "tmpfs", .destination = "/dev/shm", .type = "tmpfs"};
    struct vc_guest_details gd = {0};
    struct vc_volume_stats vs = {0};
    struct vc_copy_file small = {.path = "/run/kata-containers/shared/containers/hosts",
                                 .file_mode = S_IFREG | 0644,
                                 .dir_mode = 0755,
                                 .data = (uint8_t *) "127.0.0.1 localhost\n",
                                 .size = 20};
    struct vc_copy_file big = {.path = "/run/kata-containers/shared/containers/big.bin",
                               .file_mode = S_IFREG | 0600,
                               .dir_mode = 0755,
                               .size = BIG_FILE};
    struct vc_copy_file bad = {.path = "/etc/passwd", .file_mode = S_IFREG | 0644};
    static const uint8_t rules[] = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    static const uint32_t pci[] = {2, 3};
    uint8_t seed[32], *ipt = NULL;
    char *metrics = NULL, *diag = NULL;
    size_t n = 0;

    /* Every vCPU of the guest is online; asking for more than it has fails. */
    OK(f, vc_agent_online_cpu_mem(f->agent, GUEST_CPU, false));
    ck_assert_int_eq(vc_agent_online_cpu_mem(f->agent, GUEST_CPU + 4, true), -EIO);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f->ctx), "failed to online 8 CPU(s)"));
    OK(f, vc_agent_get_agent_metrics(f->agent, &metrics));
    ck_assert_ptr_nonnull(strstr(metrics, "kata_guest_online_cpus 4\n"));
    ck_assert_ptr_nonnull(strstr(metrics, "kata_agent_containers 1\n"));
    vc_free(f->ctx, metrics);

    OK(f, vc_agent_get_guest_details(f->agent, &gd));
    ck_assert(gd.support_mem_hotplug_probe);
    ck_assert_uint_eq(gd.mem_block_size_bytes, 128 * MIB);
    ck_assert_str_eq(gd.agent_version, "9.9.9-itest");
    vc_guest_details_clear(f->ctx, &gd);
    OK(f, vc_agent_mem_hotplug_by_probe(f->agent, 0x100000000ull, 256, 128));
    memset(seed, 0x5a, sizeof(seed));
    OK(f, vc_agent_reseed_rng(f->agent, seed, sizeof(seed)));
    OK(f, vc_agent_update_ephemeral_mounts(f->agent, &em, 1));
    OK(f, vc_agent_set_guest_date_time(f->agent, 1700000000, 250000));

    /* A small file, one over a MiB (two chunks), and a path the guest refuses. */
    OK(f, vc_agent_copy_file(f->agent, &small));
    big.data = malloc(BIG_FILE);
    ck_assert_ptr_nonnull(big.data);
    for (size_t i = 0; i < BIG_FILE; i++)
        big.data[i] = (uint8_t) (i * 31u);
    OK(f, vc_agent_copy_file(f->agent, &big));
    free(big.data);
    ck_assert_int_eq(vc_agent_copy_file(f->agent, &bad), -EIO);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f->ctx), "CopyFile"));
    OK(f, vc_agent_add_swap(f->agent, pci, 2));

    /* Volumes: the scripted size, then the size it was resized to. */
    OK(f, vc_agent_get_guest_volume_stats(f->agent, "/run/vol1", &vs));
    ck_assert_uint_eq(vs.bytes_total, 1024 * MIB);
    vc_volume_stats_clear(f->ctx, &vs);
    OK(f, vc_agent_resize_guest_volume(f->agent, "/run/vol1", 2048 * MIB));
    OK(f, vc_agent_get_guest_volume_stats(f->agent, "/run/vol1", &vs));
    ck_assert_uint_eq(vs.bytes_total, 2048 * MIB);
    ck_assert_uint_eq(vs.bytes_used, 512 * MIB);
    vc_volume_stats_clear(f->ctx, &vs);

    /* iptables: empty, then what was set, per family. */
    OK(f, vc_agent_get_iptables(f->agent, false, &ipt, &n));
    ck_assert_uint_eq(n, 0);
    vc_free(f->ctx, ipt);
    OK(f, vc_agent_set_iptables(f->agent, true, rules, sizeof(rules) - 1));
    OK(f, vc_agent_get_iptables(f->agent, true, &ipt, &n));
    ck_assert_uint_eq(n, sizeof(rules) - 1);
    ck_assert_int_eq(memcmp(ipt, rules, n), 0);
    vc_free(f->ctx, ipt);

    OK(f, vc_agent_set_policy(f->agent, "package agent_policy\ndefault allow := false\n"));
    OK(f, vc_agent_get_diagnostic_data(f->agent, "agent", "c1", &diag));
    vc_free(f->ctx, diag);
    OK(f, vc_agent_remove_stale_virtiofs_share_mounts(f->agent));
}

/* A container whose program is OOM-killed: the event names it, and its stats count it. */
static void run_oom(struct kfix *f)
{
    struct vc_container_stats st = {0};
    char *id = NULL;

    create_start(f, "c2", hog_args, 1);
    OK(f, vc_agent_get_oom_event(f->agent, &id));
    ck_assert_str_eq(id, "c2");
    vc_free(f->ctx, id);
    OK(f, vc_agent_stats_container(f->agent, "c2", &st));
    ck_assert_uint_eq(st.mem_failcnt, 1);
    ck_assert_int_eq(wait_for(f, "c2", "c2"), 137);
    OK(f, vc_agent_stop_container(f->agent, "c2"));
}

/* The end: the 2018 seed's kill, the signal to all, stop, and the sandbox gone. */
static void run_teardown(struct kfix *f)
{
    char *out = NULL;

    ck_assert_int_eq(vc_agent_process_list_container(f->agent, "c1", NULL, &out), -EOPNOTSUPP);
    OK(f, vc_agent_kill_container(f->agent, "c1", SIGKILL, false));
    ck_assert_int_eq(wait_for(f, "c1", "c1"), 137);
    OK(f, vc_agent_signal_process(f->agent, "c1", "", SIGKILL, true));
    OK(f, vc_agent_stop_container(f->agent, "c1"));
    /* The container is gone from the guest. */
    ck_assert_int_eq(vc_agent_start_container(f->agent, "c1"), -EIO);
    ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f->ctx), "Invalid container id"));
    OK(f, vc_agent_stop_sandbox(f->agent));
}

/* --- tests ----------------------------------------------------------------------------------- */

/* Every op over the wire; _i selects long_live_conn (0: a connection per request). */
START_TEST(test_every_rpc)
{
    bool long_live = _i == 1;
    struct recsum rs;
    struct kfix f;

    kfix_init(&f);
    kfix_agent(&f, long_live);
    run_sandbox(&f, long_live);
    run_processes(&f);
    run_guest(&f);
    run_oom(&f);
    run_teardown(&f);
    kfix_stop_daemon(&f);

    read_record(&f, &rs);
    for (int id = 0; id < KATA_RPC_LAST; id++) {
        const char *m = kata_rpc_get((enum kata_rpc_id) id)->method;
        ck_assert_msg(recsum_count(&rs, m) > 0, "no %s request in the record", m);
    }
    /* Two chunks for the big file, plus the small one and the refused one. */
    ck_assert_uint_eq(recsum_count(&rs, "CopyFile"), 4);
    ck_assert_uint_eq(recsum_count(&rs, "Check"), 2); /* ours, and start_sandbox's */
    /* One connection: the ids count up. A connection each: every request is stream 1. */
    if (long_live) {
        ck_assert(rs.increasing);
        ck_assert_uint_eq(rs.max_stream, 2 * (uint64_t) rs.requests - 1);
    } else {
        ck_assert_uint_eq(rs.max_stream, 1);
    }
    recsum_free(&rs);
    kfix_done(&f);
}
END_TEST

/* The daemon goes away under a long-lived connection and comes back on the same socket: the
 * next request finds the dead connection and dials again. */
START_TEST(test_daemon_restart)
{
    struct kfix f;
    int r;

    kfix_init(&f);
    kfix_agent(&f, true);
    OK(&f, vc_agent_check(f.agent));
    kfix_stop_daemon(&f);
    spawn_daemon(&f, false);
    /* The first call may still find the old connection and see it closed; the next one dials
     * the new daemon (retrying until it listens). */
    r = vc_agent_check(f.agent);
    if (r != 0) {
        ck_assert_msg(r == -ECONNRESET, "%d: %s", r, vc_ctx_errmsg(f.ctx));
        ck_assert_ptr_nonnull(strstr(vc_ctx_errmsg(f.ctx), "ttrpc: closed"));
        OK(&f, vc_agent_check(f.agent));
    }
    ck_assert(!f.agent->dead);
    kfix_stop_daemon(&f);
    kfix_done(&f);
}
END_TEST

static Suite *kata_suite(void)
{
    Suite *s = suite_create("kata_mockagent");
    TCase *tc = tcase_create("wire");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_every_rpc, 0, 2);
    tcase_add_test(tc, test_daemon_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kata_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
