/* SPDX-License-Identifier: Apache-2.0 */
/* The e2e test guest (ci/guest-image) booted under real QEMU and driven by core's kata backend
 * over the virtio-serial port's host socket (serial://): Check, CreateSandbox, GetGuestDetails
 * with the guest's real memory block size, a container and `echo hi` answered by the model, and
 * CPU and memory hot-added over QMP then onlined by the guest through sysfs. Skips (77) without a
 * guest image ($VC_GUEST_DIR, else the build's guest/ folders) or without QEMU. Runs under TCG
 * unless VC_E2E_ACCEL=kvm (an openable /dev/kvm may still be a nested KVM that cannot boot).
 * VC_E2E_VERBOSE=1 runs the agent with -v and prints the guest's console.
 * QEMU dies with the test process (PR_SET_PDEATHSIG) whatever happens to it. With
 * $VC_WIRE_CAPTURE_DIR set, each test records its ttrpc traffic there (tests/support/wirecap.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
#include <vc/types.h>
#include <vc/vc.h>

#include "wirecap.h"

#ifndef VC_GUEST_DIRS
#define VC_GUEST_DIRS ""
#endif

#define SEC         UINT64_C(1000000000)
#define MIB         (UINT64_C(1) << 20)
#define QMP_LINE    65536
#define WAIT_ONLINE (20 * SEC) /* hot-added memory shows up in the guest within this */

struct guest {
    char dir[64];               /* temporary directory */
    char sock[128];             /* the agent port's host socket */
    char qmp[128];              /* QMP socket */
    char console[128];          /* the guest's console log */
    char url[160];              /* serial://sock */
    pid_t qemu;                 /* QEMU's pid, 0 when gone */
    int qmp_fd;                 /* QMP connection, -1 if none */
    struct vc_ctx *ctx;         /* the test's real context */
    struct vc_agent *agent;     /* the kata agent */
    double boot_s;              /* QEMU start to the first Check reply */
    struct vctest_wirecap *cap; /* ctx's wire capture ($VC_WIRE_CAPTURE_DIR), or NULL */
};

/* Where the image is: the first folder holding vmlinuz and initrd.img. */
static bool guest_dir(char *buf, size_t size)
{
    const char *env = getenv("VC_GUEST_DIR");
    char list[1024], path[1100], *save = NULL;

    snprintf(list, sizeof(list), "%s", env && *env ? env : VC_GUEST_DIRS);
    for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof(path), "%s/initrd.img", d);
        if (access(path, R_OK) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/vmlinuz", d);
        if (access(path, R_OK) == 0 && snprintf(buf, size, "%s", d) < (int) size)
            return true;
    }
    return false;
}

static bool have_qemu(void)
{
    return system("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

static bool use_kvm(void)
{
    const char *accel = getenv("VC_E2E_ACCEL");

    return accel && strcmp(accel, "kvm") == 0;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Execs QEMU for g (in the child after fork; parent is the test process). */
static void qemu_exec(struct guest *g, const char *image, pid_t parent)
{
    char kernel[1100], initrd[1100], serial[160], qmp[160], chardev[200];
    bool kvm = use_kvm();
    const char *argv[] = {"qemu-system-x86_64",
                          "-nodefaults",
                          "-no-user-config",
                          "-display",
                          "none",
                          "-monitor",
                          "none",
                          "-no-reboot",
                          "-M",
                          "q35",
                          "-accel",
                          kvm ? "kvm" : "tcg",
                          "-cpu",
                          kvm ? "host" : "qemu64",
                          "-m",
                          "256,slots=2,maxmem=1G",
                          "-smp",
                          "1,maxcpus=2",
                          "-kernel",
                          kernel,
                          "-initrd",
                          initrd,
                          "-append",
                          getenv("VC_E2E_VERBOSE") ? "console=ttyS0 panic=-1 -- -v"
                                                   : "console=ttyS0 panic=-1 quiet",
                          "-serial",
                          serial,
                          "-qmp",
                          qmp,
                          "-object",
                          "rng-random,id=rng0,filename=/dev/urandom",
                          "-device",
                          "virtio-rng-pci,rng=rng0",
                          "-device",
                          "virtio-serial-pci",
                          "-chardev",
                          chardev,
                          "-device",
                          "virtserialport,chardev=agent,name=agent.channel.0",
                          NULL};
    int null;

    /* The test process going away for any reason takes QEMU with it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        (void) dup2(null, STDOUT_FILENO);
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", image);
    snprintf(initrd, sizeof(initrd), "%s/initrd.img", image);
    snprintf(serial, sizeof(serial), "file:%s", g->console);
    snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", g->qmp);
    snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s,server=on,wait=off", g->sock);
    execvp(argv[0], (char *const *) argv);
    _exit(127);
}

/* Waits (bounded) for QEMU to make the agent port's socket, failing early when it exits. */
static void guest_wait_socket(struct guest *g)
{
    struct timespec nap = {.tv_nsec = 10 * 1000 * 1000};
    int status;

    for (int i = 0; i < 1000 && access(g->sock, F_OK) != 0; i++) {
        if (waitpid(g->qemu, &status, WNOHANG) == g->qemu) {
            g->qemu = 0;
            ck_abort_msg("QEMU exited (status 0x%x) before making %s (console: %s)", status,
                         g->sock, g->console);
        }
        (void) nanosleep(&nap, NULL);
    }
    ck_assert_msg(access(g->sock, F_OK) == 0, "QEMU made no %s", g->sock);
}

/* Boots the guest and connects the kata agent (one connection for every call when long_live,
 * else one per call), with Check as the first call. */
static void guest_boot(struct guest *g, bool long_live)
{
    struct vc_agent_backend be = {.ops = &vc_kata_agent_ops};
    struct vc_agent_config cfg = {.dial_timeout_ms = 10000, .long_live_conn = long_live};
    char image[1024];
    pid_t self = getpid();
    double t0;

    ck_assert(guest_dir(image, sizeof(image)));
    memset(g, 0, sizeof(*g));
    g->qmp_fd = -1;
    strcpy(g->dir, "/tmp/vc-e2e-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g->dir));
    snprintf(g->sock, sizeof(g->sock), "%s/agent.sock", g->dir);
    snprintf(g->qmp, sizeof(g->qmp), "%s/qmp.sock", g->dir);
    snprintf(g->console, sizeof(g->console), "%s/console.log", g->dir);
    snprintf(g->url, sizeof(g->url), "serial://%s", g->sock);
    ck_assert_int_eq(vc_ctx_new_real(g->dir, &g->ctx), 0);
    g->cap = vctest_wirecap_install(g->ctx, "guest_boot");
    t0 = mono_s();
    g->qemu = fork();
    ck_assert_int_ge(g->qemu, 0);
    if (g->qemu == 0)
        qemu_exec(g, image, self);
    guest_wait_socket(g);
    cfg.url = g->url;
    ck_assert_int_eq(vc_agent_init(g->ctx, &be, "e2e", &cfg, &g->agent), 0);
    ck_assert_msg(vc_agent_check(g->agent) == 0, "Check: %s (guest console: %s)",
                  vc_ctx_errmsg(g->ctx), g->console);
    g->boot_s = mono_s() - t0;
    fprintf(stderr, "check_guest_boot: q35 %s: first reply after %.2f s\n",
            use_kvm() ? "kvm" : "tcg", g->boot_s);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Kills QEMU and removes everything (with VC_E2E_VERBOSE, shows the guest's console first).
 * After a failed assertion it is not reached: the folder stays, console log included, and
 * QEMU goes with the test process. */
static void guest_done(struct guest *g)
{
    char cmd[200];

    vc_agent_free(g->agent);
    g->agent = NULL;
    if (g->qmp_fd >= 0)
        (void) close(g->qmp_fd);
    if (g->qemu > 0) {
        (void) kill(g->qemu, SIGKILL);
        (void) waitpid(g->qemu, NULL, 0);
        g->qemu = 0;
    }
    snprintf(cmd, sizeof(cmd), "cat %s >&2", g->console);
    if (getenv("VC_E2E_VERBOSE") && system(cmd) != 0)
        fprintf(stderr, "check_guest_boot: no console log\n");
    vc_ctx_free(g->ctx);
    g->ctx = NULL;
    vctest_wirecap_close(g->cap);
    g->cap = NULL;
    (void) nftw(g->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* --- QMP ------------------------------------------------------------------------------------- */

/* One line from QMP (events skipped when skip_events) as JSON; NULL at EOF. */
static json_object *qmp_read(struct guest *g, bool skip_events)
{
    char *buf = malloc(QMP_LINE);
    json_object *j = NULL;
    size_t n = 0;

    ck_assert_ptr_nonnull(buf);
    while (!j && read(g->qmp_fd, buf + n, 1) == 1) {
        if (buf[n] != '\n') {
            ck_assert_uint_lt(++n, QMP_LINE - 1);
            continue;
        }
        buf[n] = '\0';
        n = 0;
        j = json_tokener_parse(buf);
        ck_assert_ptr_nonnull(j);
        if (skip_events && json_object_object_get_ex(j, "event", NULL)) {
            json_object_put(j);
            j = NULL;
        }
    }
    free(buf);
    return j;
}

/* Runs a command (arguments taken, may be NULL); its "return" value, owned by the caller. */
static json_object *qmp_cmd(struct guest *g, const char *cmd, json_object *args)
{
    json_object *req = json_object_new_object(), *resp, *ret = NULL, *err = NULL;
    const char *text;

    json_object_object_add(req, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "arguments", args);
    text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    ck_assert_int_eq(write(g->qmp_fd, text, strlen(text)), (ssize_t) strlen(text));
    ck_assert_int_eq(write(g->qmp_fd, "\n", 1), 1);
    json_object_put(req);
    resp = qmp_read(g, true);
    ck_assert_ptr_nonnull(resp);
    ck_assert_msg(!json_object_object_get_ex(resp, "error", &err), "%s: %s", cmd,
                  json_object_to_json_string(err));
    ck_assert(json_object_object_get_ex(resp, "return", &ret));
    ret = json_object_get(ret);
    json_object_put(resp);
    return ret;
}

static void qmp_connect(struct guest *g)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    json_object *greeting;

    g->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(g->qmp_fd, 0);
    ck_assert_uint_lt(strlen(g->qmp), sizeof(sa.sun_path));
    memcpy(sa.sun_path, g->qmp, strlen(g->qmp) + 1);
    ck_assert_int_eq(connect(g->qmp_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    greeting = qmp_read(g, true);
    ck_assert_ptr_nonnull(greeting);
    ck_assert(json_object_object_get_ex(greeting, "QMP", NULL));
    json_object_put(greeting);
    json_object_put(qmp_cmd(g, "qmp_capabilities", NULL));
}

/* device_add of the first CPU slot QEMU lists as free (its type and ids as listed). */
static void qmp_add_cpu(struct guest *g)
{
    json_object *slots = qmp_cmd(g, "query-hotpluggable-cpus", NULL), *args = NULL, *v;

    for (size_t i = 0; !args && i < json_object_array_length(slots); i++) {
        json_object *slot = json_object_array_get_idx(slots, i), *props;

        if (json_object_object_get_ex(slot, "qom-path", NULL) ||
            !json_object_object_get_ex(slot, "props", &props) ||
            !json_object_object_get_ex(slot, "type", &v))
            continue;
        args = json_object_new_object();
        json_object_object_add(args, "driver", json_object_get(v));
        json_object_object_add(args, "id", json_object_new_string("cpu1"));
        json_object_object_foreach(props, key, val)
        {
            if (strcmp(key, "node-id") != 0)
                json_object_object_add(args, key, json_object_get(val));
        }
    }
    ck_assert_ptr_nonnull(args);
    json_object_put(slots);
    json_object_put(qmp_cmd(g, "device_add", args));
}

static void qmp_add_dimm(struct guest *g, uint64_t bytes)
{
    json_object *mem = json_object_new_object(), *dimm = json_object_new_object();

    json_object_object_add(mem, "qom-type", json_object_new_string("memory-backend-ram"));
    json_object_object_add(mem, "id", json_object_new_string("mem1"));
    json_object_object_add(mem, "size", json_object_new_int64((int64_t) bytes));
    json_object_put(qmp_cmd(g, "object-add", mem));
    json_object_object_add(dimm, "driver", json_object_new_string("pc-dimm"));
    json_object_object_add(dimm, "id", json_object_new_string("dimm1"));
    json_object_object_add(dimm, "memdev", json_object_new_string("mem1"));
    json_object_put(qmp_cmd(g, "device_add", dimm));
}

/* --- the agent ------------------------------------------------------------------------------- */

/* A value of the model's default metrics ("kata_guest_online_cpus 2"), or -1. */
static long metric(struct guest *g, const char *name)
{
    char *text = NULL, *p;
    long v = -1;

    ck_assert_msg(vc_agent_get_agent_metrics(g->agent, &text) == 0, "GetMetrics: %s",
                  vc_ctx_errmsg(g->ctx));
    for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = strlen(name);

        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            v = strtol(p + n + 1, NULL, 10);
    }
    vc_free(g->ctx, text);
    return v;
}

START_TEST(test_guest_agent)
{
    char *init_args[] = {"sleep", "infinity"}, *echo_args[] = {"echo", "hi"};
    struct vc_sandbox_config sb = {.id = "e2e", .hostname = "e2e"};
    struct vc_container_config cc = {
        .id = "c1", .rootfs = "/rootfs", .process = {.args = init_args, .n_args = 2, .cwd = "/"}};
    struct vc_process_config echo = {.args = echo_args, .n_args = 2, .cwd = "/"};
    struct vc_guest_details det = {0};
    struct vc_process proc = {0};
    char out[64];
    size_t n, total = 0;
    int32_t status = -1;
    struct guest g;

    guest_boot(&g, true);
    ck_assert_msg(vc_agent_start_sandbox(g.agent, &sb) == 0, "CreateSandbox: %s",
                  vc_ctx_errmsg(g.ctx));
    ck_assert_int_eq(vc_agent_get_guest_details(g.agent, &det), 0);
    /* The guest kernel's block size (x86-64 with little memory: 128 MiB), read from sysfs. */
    ck_assert_uint_eq(det.mem_block_size_bytes, 128 * MIB);
    ck_assert(det.init_daemon);
    vc_guest_details_clear(g.ctx, &det);
    /* The counts come from the guest's sysfs: one CPU, 256 MiB in 128 MiB blocks. */
    ck_assert_int_eq(metric(&g, "kata_guest_online_cpus"), 1);
    ck_assert_int_eq(metric(&g, "kata_guest_online_memory_mb"), 256);
    ck_assert_int_eq(vc_agent_set_guest_date_time(g.agent, 1700000000, 0), 0);

    ck_assert_msg(vc_agent_create_container(g.agent, &cc, &proc) == 0, "CreateContainer: %s",
                  vc_ctx_errmsg(g.ctx));
    vc_process_clear(g.ctx, &proc);
    ck_assert_int_eq(vc_agent_start_container(g.agent, "c1"), 0);
    ck_assert_int_eq(vc_agent_exec(g.agent, "c1", "e1", &echo, &proc), 0);
    vc_process_clear(g.ctx, &proc);
    do {
        ck_assert_int_eq(
            vc_agent_read_process_stdout(g.agent, "c1", "e1", out + total, sizeof(out) - total, &n),
            0);
        total += n;
    } while (n > 0 && total < sizeof(out));
    ck_assert_uint_eq(total, 3);
    ck_assert_int_eq(memcmp(out, "hi\n", 3), 0);
    ck_assert_int_eq(vc_agent_wait_process(g.agent, "c1", "e1", &status), 0);
    ck_assert_int_eq(status, 0);

    ck_assert_int_eq(vc_agent_signal_process(g.agent, "c1", "c1", SIGKILL, true), 0);
    ck_assert_int_eq(vc_agent_wait_process(g.agent, "c1", "c1", &status), 0);
    ck_assert_int_eq(status, 137);
    ck_assert_int_eq(vc_agent_stop_container(g.agent, "c1"), 0);
    ck_assert_int_eq(vc_agent_stop_sandbox(g.agent), 0);
    guest_done(&g);
}
END_TEST

/* Real guest work: QEMU hot-adds a CPU and a DIMM; OnlineCPUMem onlines them through sysfs. */
START_TEST(test_guest_hotplug)
{
    struct guest g;
    uint64_t until;
    long mem;

    guest_boot(&g, true);
    qmp_connect(&g);
    ck_assert_int_eq(metric(&g, "kata_guest_online_cpus"), 1);
    qmp_add_cpu(&g);
    /* The guest retries until the CPU shows up, as kata-agent does. */
    ck_assert_msg(vc_agent_online_cpu_mem(g.agent, 1, true) == 0, "OnlineCPUMem: %s",
                  vc_ctx_errmsg(g.ctx));
    ck_assert_int_eq(metric(&g, "kata_guest_online_cpus"), 2);

    ck_assert_int_eq(metric(&g, "kata_guest_online_memory_mb"), 256);
    qmp_add_dimm(&g, 128 * MIB);
    /* The DIMM's blocks appear when the guest has handled the ACPI event: online until they
     * have (bounded). */
    until = vc_now(g.ctx) + WAIT_ONLINE;
    do {
        ck_assert_int_eq(vc_agent_online_cpu_mem(g.agent, 0, false), 0);
        mem = metric(&g, "kata_guest_online_memory_mb");
        if (mem == 256)
            (void) vc_ctx_sleep_until(g.ctx, vc_now(g.ctx) + SEC / 10);
    } while (mem == 256 && vc_now(g.ctx) < until);
    ck_assert_int_eq(mem, 384);
    guest_done(&g);
}
END_TEST

/* One connection per call, as kata's default: the host side of the port closes and reopens
 * between calls and no request may be lost in between (the guest keeps the port open). */
START_TEST(test_guest_reconnect)
{
    struct vc_guest_details det = {0};
    struct guest g;

    guest_boot(&g, false);
    for (int i = 0; i < 20; i++) {
        ck_assert_msg(vc_agent_check(g.agent) == 0, "Check %d: %s", i, vc_ctx_errmsg(g.ctx));
        ck_assert_msg(vc_agent_get_guest_details(g.agent, &det) == 0, "GetGuestDetails %d: %s", i,
                      vc_ctx_errmsg(g.ctx));
        ck_assert_uint_eq(det.mem_block_size_bytes, 128 * MIB);
        vc_guest_details_clear(g.ctx, &det);
    }
    guest_done(&g);
}
END_TEST

static Suite *guest_suite(void)
{
    Suite *s = suite_create("guest_boot");
    TCase *tc = tcase_create("qemu");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_guest_agent);
    tcase_add_test(tc, test_guest_hotplug);
    tcase_add_test(tc, test_guest_reconnect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    char image[1024];
    SRunner *sr;
    int failed;

    if (!guest_dir(image, sizeof(image))) {
        fprintf(stderr, "check_guest_boot: no guest image (run ci/guest-image, or set "
                        "VC_GUEST_DIR): skipped\n");
        return 77;
    }
    if (!have_qemu()) {
        fprintf(stderr, "check_guest_boot: no qemu-system-x86_64: skipped\n");
        return 77;
    }
    sr = srunner_create(guest_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
