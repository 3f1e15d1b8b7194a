/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl as a separate process: raw agent calls against the mockagent daemon (typed, json:// and
 * file:// requests, several calls on one connection, bad requests, unknown RPCs, error statuses,
 * deadlines, unreachable agents), help and exit codes of every command, the sandbox commands'
 * "not found" errors, the configuration file and --from files, and vcctl's peak RSS for a Check.
 * The sandbox commands' success paths need a hypervisor backend a real context registers (QEMU)
 * and are left to the e2e suite. Binaries: $VCCTL_BIN / $MOCKAGENT_BIN, else the build's paths
 * (VC_VCCTL, VC_MOCKAGENT). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "tool.h"
#include <json-c/json.h>

#ifndef VC_VCCTL
#define VC_VCCTL ""
#endif
#ifndef VC_MOCKAGENT
#define VC_MOCKAGENT ""
#endif

/* Sanitizer and coverage builds carry their runtimes: the RSS goal holds for plain builds. */
#if defined(__SANITIZE_ADDRESS__)
#define VC_TEST_INSTRUMENTED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VC_TEST_INSTRUMENTED 1
#endif
#endif
#ifndef VC_TEST_INSTRUMENTED
#define VC_TEST_INSTRUMENTED 0
#endif

#define RSS_GOAL_KIB 4096 /* vcctl agent ... Check must stay within 4 MiB */
#define OUT_MAX      (256u << 10)

static const char script_yaml[] = "guest:\n"
                                  "  rules:\n"
                                  "    - rpc: StatsContainer\n"
                                  "      error: NOT_FOUND\n"
                                  "      message: scripted\n";

struct fix {
    char dir[64];          /* temporary directory */
    char root[96];         /* the store root given with --root */
    char config[96];       /* $VC_CONFIG: "{}" unless a test writes another */
    char url[128];         /* unix://<dir>/a.sock */
    char vcctl[PATH_MAX];  /* the binary under test */
    char magent[PATH_MAX]; /* the mockagent daemon */
    pid_t agent;           /* the daemon, 0 if none */
};

/* What one vcctl run did. */
struct run {
    int status;        /* exit status (-1: killed by a signal) */
    long maxrss_kib;   /* peak RSS */
    char out[OUT_MAX]; /* stdout */
    char err[OUT_MAX]; /* stderr */
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/vc-ckvcctl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->config, sizeof(f->config), "%s/config.json", f->dir);
    snprintf(f->url, sizeof(f->url), "unix://%s/a.sock", f->dir);
    write_file(f->config, "{}\n");
    ck_assert(vctest_find_bin("VCCTL_BIN", VC_VCCTL, "core/cli/vcctl", f->vcctl, sizeof(f->vcctl)));
    ck_assert(vctest_find_bin("MOCKAGENT_BIN", VC_MOCKAGENT, "mockagent/mockagent", f->magent,
                              sizeof(f->magent)));
    ck_assert_msg(access(f->vcctl, X_OK) == 0, "no vcctl binary at %s", f->vcctl);
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

/* Runs vcctl with args (NULL-terminated, without the program name), stdin from /dev/null. */
static void vcctl_run(const struct fix *f, struct run *r, const char *const *args)
{
    const char *argv[64] = {f->vcctl};
    char out[128], err[128];
    struct rusage ru;
    size_t n = 1;
    pid_t pid;
    int st;

    for (; args[n - 1]; n++) {
        ck_assert_uint_lt(n, 63);
        argv[n] = args[n - 1];
    }
    snprintf(out, sizeof(out), "%s/out", f->dir);
    snprintf(err, sizeof(err), "%s/err", f->dir);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        /* Keep the host's own configuration out of the way. */
        setenv("VC_CONFIG", f->config, 1);
        setenv("XDG_CONFIG_HOME", f->dir, 1);
        unsetenv("VC_ROOT");
        execv(f->vcctl, (char *const *) argv);
        _exit(127);
    }
    ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->maxrss_kib = ru.ru_maxrss;
    read_all(out, r->out, sizeof(r->out));
    read_all(err, r->err, sizeof(r->err));
}

/* Runs vcctl and checks its exit status, showing its output when it differs. */
static void expect(const struct fix *f, struct run *r, int status, const char *const *args)
{
    vcctl_run(f, r, args);
    ck_assert_msg(r->status == status,
                  "vcctl %s %s: status %d, expected %d\nstdout: %s\nstderr: %s",
                  args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "", r->status, status,
                  r->out, r->err);
}

static void start_agent(struct fix *f)
{
    char script[128], sock[128];
    const char *argv[] = {f->magent, "--listen", f->url, "--script", script, NULL};

    ck_assert_msg(access(f->magent, X_OK) == 0, "no mockagent binary at %s", f->magent);
    snprintf(script, sizeof(script), "%s/script.yaml", f->dir);
    snprintf(sock, sizeof(sock), "%s/a.sock", f->dir);
    write_file(script, script_yaml);
    f->agent = fork();
    ck_assert_int_ge(f->agent, 0);
    if (f->agent == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            (void) dup2(null, STDOUT_FILENO);
        execv(f->magent, (char *const *) argv);
        _exit(127);
    }
    /* vcctl's dial retries until the daemon listens; nothing to wait for here. */
}

/* Parses one JSON document of vcctl's stdout. */
static json_object *out_json(const struct run *r)
{
    json_object *j = json_tokener_parse(r->out);

    ck_assert_msg(j != NULL, "not JSON: %s", r->out);
    return j;
}

static const char *jstr(json_object *j, const char *key)
{
    json_object *v;

    ck_assert_msg(json_object_object_get_ex(j, key, &v), "no '%s' in %s", key,
                  json_object_to_json_string(j));
    return json_object_get_string(v);
}

/* --- vcctl agent ------------------------------------------------------------------------------ */

START_TEST(test_agent_calls)
{
    static struct run r;
    struct fix f;
    json_object *j;
    char req[256], file_url[300];

    fix_init(&f);
    start_agent(&f);
    {
        const char *args[] = {"agent", f.url, "Check", NULL};
        expect(&f, &r, 0, args);
        j = out_json(&r);
        ck_assert_str_eq(jstr(j, "status"), "SERVING");
        json_object_put(j);
        /* Pretty by default. */
        ck_assert_ptr_nonnull(strstr(r.out, "{\n  \"status\": \"SERVING\"\n}"));
        fprintf(stderr, "check_vcctl: peak RSS of `vcctl agent URL Check`: %ld KiB%s\n",
                r.maxrss_kib, VC_TEST_INSTRUMENTED ? " (instrumented build: not checked)" : "");
        if (!VC_TEST_INSTRUMENTED)
            ck_assert_int_le(r.maxrss_kib, RSS_GOAL_KIB);
    }
    {
        const char *args[] = {"agent", f.url, "version", "--compact", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_null(strchr(r.out, ' '));
        j = out_json(&r);
        ck_assert_str_eq(jstr(j, "agent_version"), "3.2.0-vcsim");
        json_object_put(j);
    }
    {
        const char *args[] = {"agent", f.url, "GetGuestDetails",
                              "{\"mem_block_size\": true, \"mem_hotplug_probe\": true}", NULL};
        expect(&f, &r, 0, args);
        j = out_json(&r);
        ck_assert_str_eq(jstr(j, "mem_block_size_bytes"), "134217728");
        json_object_put(j);
    }
    {
        const char *args[] = {"agent", f.url, "CreateSandbox",
                              "json://{\"hostname\": \"h\", \"sandbox_id\": \"sb1\"}", NULL};
        expect(&f, &r, 0, args);
        ck_assert_str_eq(r.out, "{}\n");
    }
    /* file://, YAML, and several calls on one connection. */
    snprintf(req, sizeof(req), "%s/cc.yaml", f.dir);
    write_file(req, "container_id: c1\nexec_id: c1\n"
                    "OCI:\n  Process: {Args: [sleep, infinity], Cwd: /}\n"
                    "  Root: {Path: /run/rootfs}\n");
    snprintf(file_url, sizeof(file_url), "file://%s", req);
    {
        const char *args[] = {"agent",
                              f.url,
                              "grpc.AgentService/CreateContainer",
                              file_url,
                              "StartContainer",
                              "{\"container_id\": \"c1\"}",
                              "Check",
                              "--compact",
                              NULL};
        expect(&f, &r, 0, args);
        ck_assert_str_eq(r.out, "{}\n{}\n{\"status\":\"SERVING\"}\n");
    }
    /* --defaults shows fields holding their defaults. */
    {
        const char *args[] = {"agent", f.url, "GetGuestDetails", "--defaults", "--compact", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_nonnull(strstr(r.out, "\"support_mem_hotplug_probe\":false"));
    }
    {
        const char *args[] = {"agent", "--list", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_nonnull(strstr(r.out, "CreateContainer"));
        ck_assert_ptr_nonnull(strstr(r.out, "grpc.CreateContainerRequest"));
        ck_assert_ptr_nonnull(strstr(r.out, "grpc.HealthCheckResponse"));
    }
    fix_done(&f);
}
END_TEST

START_TEST(test_agent_errors)
{
    static struct run r;
    struct fix f;

    fix_init(&f);
    start_agent(&f);
    {
        /* The script answers StatsContainer NOT_FOUND "scripted". */
        const char *args[] = {"agent", f.url, "StatsContainer", "{\"container_id\": \"c1\"}", NULL};
        expect(&f, &r, 1, args);
        ck_assert_str_eq(r.err, "vcctl: StatsContainer: scripted (NOT_FOUND)\n");
        ck_assert_str_eq(r.out, "");
    }
    {
        /* A call after a failed one is not made. */
        const char *args[] = {"agent", f.url, "StatsContainer", "Check", NULL};
        expect(&f, &r, 1, args);
        ck_assert_str_eq(r.out, "");
    }
    {
        /* The guest model's own refusal. */
        const char *args[] = {"agent", f.url, "StartContainer", "{\"container_id\": \"nope\"}",
                              NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: StartContainer: "));
        ck_assert_ptr_nonnull(strstr(r.err, ")\n"));
    }
    {
        const char *args[] = {"agent", f.url, "CreateSandbox", "{\"hostnme\": \"h\"}", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "CreateSandbox: bad request"));
        ck_assert_ptr_nonnull(strstr(r.err, "hostnme"));
    }
    {
        const char *args[] = {"agent", f.url, "CreateSandbox", "json://{\"hostname\": 5}", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "hostname"));
    }
    {
        const char *args[] = {"agent", f.url, "CreateContainer",
                              "{\"OCI\": {\"Process\": {\"Args\": [1]}}}", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "OCI.Process.Args[0]"));
    }
    {
        const char *args[] = {"agent", f.url, "Check", "{\"service\": ", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "malformed JSON"));
    }
    {
        const char *args[] = {"agent", f.url, "Check", "file:///nonexistent/req.json", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/req.json"));
    }
    {
        const char *args[] = {"agent", f.url, "NoSuchRpc", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "unknown RPC 'NoSuchRpc'"));
    }
    {
        const char *args[] = {"agent", f.url, "{}", NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"agent", "bogus://x", "Check", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "bogus://x"));
    }
    {
        const char *args[] = {"agent", f.url, NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"agent", f.url, "Check", "--timeout", "soon", NULL};
        expect(&f, &r, 2, args);
    }
    {
        /* The mock agent holds GetOOMEvent until an OOM happens: the deadline ends the call. */
        const char *args[] = {"agent", f.url, "GetOOMEvent", "--timeout", "200ms", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: GetOOMEvent: "));
        ck_assert_ptr_nonnull(strstr(r.err, "(DEADLINE_EXCEEDED)"));
    }
    {
        char url[160];
        const char *args[] = {"agent", url, "Check", "--dial-timeout", "100ms", NULL};
        snprintf(url, sizeof(url), "unix://%s/nobody.sock", f.dir);
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: dial unix://"));
        ck_assert_ptr_nonnull(strstr(r.err, "(ETIMEDOUT)"));
    }
    fix_done(&f);
}
END_TEST

/* --- help and usage ----------------------------------------------------------------------------
 */

/* Every command, with the fewest words it needs. */
static const struct {
    const char *name; /* command */
    int min;          /* positional words it needs */
} cmds[] = {
    {"create", 1}, {"run", 1},  {"start", 1}, {"stop", 1},   {"delete", 1}, {"pause", 1},
    {"resume", 1}, {"exec", 3}, {"ps", 2},    {"kill", 2},   {"update", 2}, {"stats", 2},
    {"state", 1},  {"list", 0}, {"check", 1}, {"config", 0}, {"agent", 2},
};

START_TEST(test_help)
{
    static struct run r;
    char want[64];
    struct fix f;

    fix_init(&f);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *args[] = {cmds[i].name, "--help", NULL};
        const char *args2[] = {"help", cmds[i].name, NULL};
        const char *args3[] = {"--help", cmds[i].name, NULL};
        snprintf(want, sizeof(want), "usage: vcctl %s ", cmds[i].name);
        expect(&f, &r, 0, args);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s --help: %s", cmds[i].name,
                      r.out);
        expect(&f, &r, 0, args2);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "help %s", cmds[i].name);
        expect(&f, &r, 0, args3);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "--help %s", cmds[i].name);
        /* Also in the command list. */
        {
            const char *top[] = {"--help", NULL};
            char line[64];
            expect(&f, &r, 0, top);
            snprintf(line, sizeof(line), "\n  %-8s ", cmds[i].name);
            ck_assert_msg(strstr(r.out, line) != NULL, "%s not listed", cmds[i].name);
        }
    }
    {
        const char *args[] = {"-h", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_nonnull(strstr(r.out, "Exit status"));
    }
    fix_done(&f);
}
END_TEST

START_TEST(test_usage)
{
    static struct run r;
    struct fix f;

    fix_init(&f);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *few[] = {cmds[i].name, "a", "b", "c", NULL};
        const char *many[] = {cmds[i].name, "a", "b", "c", "d", NULL};
        if (cmds[i].min > 0) {
            few[cmds[i].min] = NULL; /* one word short */
            expect(&f, &r, 2, few);
            ck_assert_msg(strstr(r.err, "usage: vcctl") != NULL, "%s: %s", cmds[i].name, r.err);
        }
        /* Too many words, except where the rest is a command or a list of calls. */
        if (strcmp(cmds[i].name, "exec") != 0 && strcmp(cmds[i].name, "ps") != 0 &&
            strcmp(cmds[i].name, "agent") != 0 && strcmp(cmds[i].name, "create") != 0 &&
            strcmp(cmds[i].name, "run") != 0) {
            expect(&f, &r, 2, many);
            ck_assert_ptr_nonnull(strstr(r.err, "unexpected argument"));
        }
        {
            const char *bad[] = {cmds[i].name, "--no-such-option", NULL};
            expect(&f, &r, 2, bad);
            ck_assert_ptr_nonnull(strstr(r.err, "unknown option '--no-such-option'"));
        }
    }
    {
        const char *args[] = {NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"frobnicate", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "unknown command 'frobnicate'"));
    }
    {
        const char *args[] = {"--bogus", "list", NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"--force", "stop", "x", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "must follow the command"));
    }
    {
        const char *args[] = {"state", "sb", "--force", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "'--force' does not apply"));
    }
    {
        const char *args[] = {"kill", "sb", "c", "--signal", "SIGBOGUS", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "invalid value 'SIGBOGUS' for --signal"));
    }
    {
        const char *args[] = {"kill", "sb", "c", "-s", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "needs a value"));
    }
    {
        const char *args[] = {"update", "sb", "c", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "nothing to update"));
    }
    {
        const char *args[] = {"update", "sb", "c", "--memory-limit", "12Q", NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"exec", "sb", "c", "e", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "missing the command"));
    }
    {
        const char *args[] = {"create", "sb", "--container", "c1", NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"create", "sb", "--", "sh", NULL};
        expect(&f, &r, 2, args);
        ck_assert_ptr_nonnull(strstr(r.err, "needs --container"));
    }
    {
        const char *args[] = {"create", "--vcpus", "0", "sb", NULL};
        expect(&f, &r, 2, args);
    }
    {
        const char *args[] = {"create", "--hostname", NULL};
        expect(&f, &r, 2, args);
    }
    fix_done(&f);
}
END_TEST

/* --- sandbox commands without sandboxes --------------------------------------------------------
 */

START_TEST(test_not_found)
{
    static const char *const cmdlines[][8] = {
        {"state", "nosuch", NULL},
        {"state", "nosuch", "c1", NULL},
        {"start", "nosuch", NULL},
        {"stop", "nosuch", NULL},
        {"stop", "nosuch", "--force", NULL},
        {"delete", "nosuch", NULL},
        {"delete", "nosuch", "-f", NULL},
        {"pause", "nosuch", NULL},
        {"resume", "nosuch", "c1", NULL},
        {"kill", "nosuch", "c1", "--signal", "KILL", NULL},
        {"kill", "nosuch", "c1", "e1", "-s", "9", NULL},
        {"stats", "nosuch", "c1", NULL},
        {"ps", "nosuch", "c1", NULL},
        {"update", "nosuch", "c1", "--memory-limit", "256M", NULL},
        {"exec", "nosuch", "c1", "e1", "--", "true", NULL},
        {"check", "nosuch", NULL},
    };
    static struct run r;
    char want[128];
    struct fix f;

    fix_init(&f);
    for (size_t i = 0; i < sizeof(cmdlines) / sizeof(cmdlines[0]); i++) {
        const char *args[12] = {"--root", f.root};
        size_t n = 2;
        for (size_t k = 0; cmdlines[i][k]; k++)
            args[n++] = cmdlines[i][k];
        args[n] = NULL;
        expect(&f, &r, 1, args);
        snprintf(want, sizeof(want), "vcctl: %s: sandbox 'nosuch' does not exist (ENOENT)\n",
                 cmdlines[i][0]);
        ck_assert_msg(strcmp(r.err, want) == 0, "%s: %s", cmdlines[i][0], r.err);
        ck_assert_str_eq(r.out, "");
    }
    {
        /* --json: the error as an object on stdout too. */
        const char *args[] = {"state", "nosuch", "--json", "--root", f.root, NULL};
        json_object *j, *e;
        expect(&f, &r, 1, args);
        j = out_json(&r);
        ck_assert(json_object_object_get_ex(j, "error", &e));
        ck_assert_str_eq(jstr(e, "errno"), "ENOENT");
        ck_assert_str_eq(jstr(e, "what"), "state");
        json_object_put(j);
    }
    {
        /* An invalid id never reaches the store. */
        const char *args[] = {"--root", f.root, "state", "../etc", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "(EINVAL)"));
    }
    {
        const char *args[] = {"--root", f.root, "list", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_nonnull(strstr(r.out, "ID"));
    }
    {
        const char *args[] = {"--root", f.root, "--json", "list", NULL};
        expect(&f, &r, 0, args);
        ck_assert_str_eq(r.out, "[]\n");
    }
    {
        const char *args[] = {"--root", "relative/dir", "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: store: "));
    }
    fix_done(&f);
}
END_TEST

/* --- configuration -----------------------------------------------------------------------------
 */

START_TEST(test_config)
{
    static struct run r;
    char path[128], yaml[128], from[128];
    json_object *j, *hv, *agent;
    struct fix f;

    fix_init(&f);
    snprintf(path, sizeof(path), "%s/kata.json", f.dir);
    write_file(path,
               "{\"root\": \"/tmp/vc-elsewhere\",\n"
               " \"hypervisor\": {\"kind\": \"qemu\", \"path\": \"/usr/bin/qemu-system-x86_64\",\n"
               "   \"kernel\": \"/usr/share/kata-containers/vmlinux.container\",\n"
               "   \"image\": \"/usr/share/kata-containers/kata-containers.img\",\n"
               "   \"machine_type\": \"q35\", \"vcpus\": 2, \"memory_mb\": 1024},\n"
               " \"agent\": {\"dial_timeout_ms\": 5000, \"long_live_conn\": true}}\n");
    {
        const char *args[] = {"--config", path, "config", NULL};
        expect(&f, &r, 0, args);
        j = out_json(&r);
        ck_assert_str_eq(jstr(j, "file"), path);
        ck_assert_str_eq(jstr(j, "root"), "/tmp/vc-elsewhere");
        ck_assert_str_eq(jstr(j, "store"), "/tmp/vc-elsewhere");
        ck_assert(json_object_object_get_ex(j, "hypervisor", &hv));
        ck_assert_str_eq(jstr(hv, "machine_type"), "q35");
        ck_assert_str_eq(jstr(hv, "vcpus"), "2");
        ck_assert(json_object_object_get_ex(j, "agent", &agent));
        ck_assert_str_eq(jstr(agent, "kind"), "kata"); /* the default */
        ck_assert_str_eq(jstr(agent, "long_live_conn"), "true");
        json_object_put(j);
    }
    {
        /* --root wins over the config's root; $VC_CONFIG (set by the harness) is read. */
        const char *args[] = {"config", "--root", f.root, NULL};
        expect(&f, &r, 0, args);
        j = out_json(&r);
        ck_assert_str_eq(jstr(j, "file"), f.config);
        ck_assert_str_eq(jstr(j, "store"), f.root);
        ck_assert(json_object_object_get_ex(j, "hypervisor", &hv));
        ck_assert_str_eq(jstr(hv, "kind"), "qemu");
        ck_assert_str_eq(jstr(hv, "memory_mb"), "2048");
        json_object_put(j);
    }
    snprintf(yaml, sizeof(yaml), "%s/c.yaml", f.dir);
    write_file(yaml, "hypervisor:\n  vcpus: 3\n  kernel_params: \"quiet\"\nagent:\n  kind: noop\n");
    {
        const char *args[] = {"--config", yaml, "config", NULL};
        expect(&f, &r, 0, args);
        j = out_json(&r);
        ck_assert(json_object_object_get_ex(j, "hypervisor", &hv));
        ck_assert_str_eq(jstr(hv, "vcpus"), "3");
        ck_assert_str_eq(jstr(hv, "kernel_params"), "quiet");
        json_object_put(j);
    }
    /* Mistakes are errors naming the file and the key. */
    write_file(path, "{\"hypervisor\": {\"vcpu\": 2}}");
    {
        const char *args[] = {"--config", path, "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "unknown key 'vcpu'"));
        ck_assert_ptr_nonnull(strstr(r.err, path));
    }
    write_file(path, "{\"hypervisor\": {\"vcpus\": \"two\"}}");
    {
        const char *args[] = {"--config", path, "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcpus"));
    }
    write_file(path, "{\"hypervisr\": {}}");
    {
        const char *args[] = {"--config", path, "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "unknown key 'hypervisr'"));
    }
    write_file(path, "{\"root\": \"relative\"}");
    {
        const char *args[] = {"--config", path, "list", NULL};
        expect(&f, &r, 1, args);
    }
    write_file(yaml, "a: &x 1\nb: *x\n");
    {
        const char *args[] = {"--config", yaml, "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "anchors and aliases"));
    }
    write_file(yaml, "hypervisor: [\n");
    {
        const char *args[] = {"--config", yaml, "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, yaml));
    }
    {
        const char *args[] = {"--config", "/nonexistent/vc.json", "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/vc.json"));
    }
    /* --from: bad keys are named with their path; nothing is created. */
    snprintf(from, sizeof(from), "%s/sb.yaml", f.dir);
    write_file(from, "id: sb1\ncontainers:\n  - id: c1\n    process: {argz: [sh]}\n");
    {
        const char *args[] = {"--root", f.root, "create", "--from", from, NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "containers[0].process.argz"));
    }
    write_file(from, "id: sb1\nhypervisor: {kind: nosuch}\n");
    {
        const char *args[] = {"--root", f.root, "create", "sb2", "--from", from, NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "differs"));
    }
    {
        /* A hypervisor kind nobody registered: create fails cleanly and leaves nothing. */
        const char *args[] = {"--root", f.root, "create", "--from", from, NULL};
        const char *list[] = {"--root", f.root, "--json", "list", NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: create: "));
        ck_assert_ptr_nonnull(strstr(r.err, "nosuch"));
        expect(&f, &r, 0, list);
        ck_assert_str_eq(r.out, "[]\n");
    }
    {
        const char *args[] = {"--root", f.root,        "run", "sb3",    "--hypervisor",
                              "nosuch", "--container", "c1",  "--args", "sh",
                              "-c",     "echo hi",     NULL};
        expect(&f, &r, 1, args);
        ck_assert_ptr_nonnull(strstr(r.err, "vcctl: run: "));
    }
    fix_done(&f);
}
END_TEST

/* What create and run would hand the runtime: configuration, --from and options layered. */
START_TEST(test_create_dry_run)
{
    static struct run r;
    char cfg[128], from[128];
    json_object *j, *hv, *c, *p, *res, *v;
    struct fix f;

    fix_init(&f);
    snprintf(cfg, sizeof(cfg), "%s/kata.json", f.dir);
    snprintf(from, sizeof(from), "%s/sb.yaml", f.dir);
    write_file(cfg, "{\"hypervisor\": {\"kernel\": \"/k\", \"machine_type\": \"q35\", "
                    "\"vcpus\": 4}, \"agent\": {\"dial_timeout_ms\": 1234}}");
    write_file(from, "id: sb5\nhostname: demo\nhypervisor: {memory_mb: 512}\n"
                     "annotations: [{key: k, value: v}]\n");
    {
        const char *args[] = {
            "--config", cfg,       "--root", f.root,           "run",    "--from",
            from,       "--vcpus", "2",      "--container",    "c1",     "--rootfs",
            "/",        "-e",      "A=1",    "--memory-limit", "1G",     "--dry-run",
            "--args",   "sh",      "-c",     "echo hi",        "--json", NULL};
        expect(&f, &r, 0, args);
    }
    j = out_json(&r);
    ck_assert_str_eq(jstr(j, "id"), "sb5");
    ck_assert_str_eq(jstr(j, "hostname"), "demo");
    ck_assert(json_object_object_get_ex(j, "hv", &hv));
    ck_assert_str_eq(jstr(hv, "kind"), "qemu");
    ck_assert_str_eq(jstr(hv, "kernel"), "/k");
    ck_assert_str_eq(jstr(hv, "machine_type"), "q35");
    ck_assert_str_eq(jstr(hv, "vcpus"), "2");       /* the option over the config's 4 */
    ck_assert_str_eq(jstr(hv, "memory_mb"), "512"); /* --from over the default */
    ck_assert(json_object_object_get_ex(j, "agent", &v));
    ck_assert_str_eq(jstr(v, "dial_timeout_ms"), "1234");
    ck_assert(json_object_object_get_ex(j, "containers", &c));
    ck_assert_uint_eq(json_object_array_length(c), 1);
    c = json_object_array_get_idx(c, 0);
    ck_assert_str_eq(jstr(c, "id"), "c1");
    ck_assert_str_eq(jstr(c, "rootfs"), "/");
    ck_assert(json_object_object_get_ex(c, "process", &p));
    ck_assert(json_object_object_get_ex(p, "args", &v));
    ck_assert_uint_eq(json_object_array_length(v), 4); /* everything after --args */
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)), "echo hi");
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 3)), "--json");
    ck_assert(json_object_object_get_ex(p, "env", &v));
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "A=1");
    ck_assert_str_eq(jstr(p, "cwd"), "/");
    ck_assert(json_object_object_get_ex(c, "resources", &res));
    ck_assert_str_eq(jstr(res, "memory_limit"), "1073741824");
    json_object_put(j);
    {
        /* No --env: PATH gets its default. */
        const char *args[] = {"--root",      f.root, "create", "sb6",  "--dry-run",
                              "--container", "c1",   "--",     "true", NULL};
        expect(&f, &r, 0, args);
        ck_assert_ptr_nonnull(strstr(r.out, "\"PATH=/usr/local/sbin:"));
        ck_assert_ptr_nonnull(strstr(r.out, "\"id\": \"sb6\""));
    }
    fix_done(&f);
}
END_TEST

static Suite *vcctl_suite(void)
{
    Suite *s = suite_create("vcctl");
    TCase *agent = tcase_create("agent");
    TCase *cli = tcase_create("cli");

    tcase_set_timeout(agent, 60);
    tcase_add_test(agent, test_agent_calls);
    tcase_add_test(agent, test_agent_errors);
    suite_add_tcase(s, agent);
    tcase_set_timeout(cli, 120);
    tcase_add_test(cli, test_help);
    tcase_add_test(cli, test_usage);
    tcase_add_test(cli, test_not_found);
    tcase_add_test(cli, test_config);
    tcase_add_test(cli, test_create_dry_run);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vcctl_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
