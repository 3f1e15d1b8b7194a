/* SPDX-License-Identifier: Apache-2.0 */
/* Sandboxes on real QEMU through the public API: a real context rooted in a temporary directory,
 * hypervisor "qemu", agent "kata", the e2e test guest (ci/guest-image) whose /init is the mock
 * agent. Boot, containers, exec, CPU and memory hotplug onlined by the guest, pause and resume,
 * stop and delete, a QEMU killed underneath, failed starts, and the hv table driven directly
 * (block hotplug, reattach from a second context, CPU hot-remove last). Skips (77) without a
 * guest image ($VC_GUEST_DIR, else the build's guest/ folders) or without QEMU. Afterwards no
 * process may have a command line naming this run's directories: leftovers are killed and fail
 * the suite. With $VC_WIRE_CAPTURE_DIR set, each test records its ttrpc traffic there
 * (tests/support/wirecap.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/qemu.h>
#include <vc/types.h>
#include <vc/vc.h>

#include "wirecap.h"

#ifndef VC_GUEST_DIRS
#define VC_GUEST_DIRS ""
#endif

#define SEC        UINT64_C(1000000000)
#define MIB        (UINT64_C(1) << 20)
#define TIMEOUT_S  120
#define BOOT_MS    90000u
#define CMDLINE_SZ 65536

/* "/tmp/vcq<pid of the suite>-": every test's root starts with it, so does every QEMU argv. */
static char g_marker[64];
static char g_image[1024];

struct fx {
    char root[96];              /* the context's root (store and run dirs) */
    char kernel[1100];          /* guest kernel */
    char initrd[1100];          /* guest initramfs */
    struct vc_ctx *ctx;         /* real context on root */
    struct vctest_wirecap *cap; /* ctx's wire capture ($VC_WIRE_CAPTURE_DIR), or NULL */
};

/* --- host helpers ----------------------------------------------------------------------------- */

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

/* Reads a process's command line (NULs kept); its length, or -1. */
static ssize_t read_cmdline(const char *pid, char *buf, size_t size)
{
    char path[300];
    ssize_t n, len = 0;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (len < (ssize_t) size - 1 && (n = read(fd, buf + len, size - 1 - (size_t) len)) > 0)
        len += n;
    close(fd);
    buf[len] = '\0';
    return len;
}

/* Kills every process whose command line has an argument containing marker; how many. */
static int sweep(const char *marker, bool kill_them)
{
    char *buf = malloc(CMDLINE_SZ);
    struct dirent *de;
    DIR *d = opendir("/proc");
    int found = 0;

    if (!buf || !d) {
        free(buf);
        if (d)
            closedir(d);
        return 0;
    }
    while ((de = readdir(d))) {
        ssize_t len;
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
            continue;
        len = read_cmdline(de->d_name, buf, CMDLINE_SZ);
        for (ssize_t i = 0; i < len; i += (ssize_t) strlen(buf + i) + 1) {
            if (!strstr(buf + i, marker))
                continue;
            found++;
            if (kill_them)
                kill(atoi(de->d_name), SIGKILL);
            break;
        }
    }
    closedir(d);
    free(buf);
    return found;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* QEMU's pid from the VM's pid file (<root>/vm/<id>/pid), or 0. */
static pid_t vm_pid(const struct fx *f, const char *id)
{
    char path[256], buf[32] = "";
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/vm/%s/pid", f->root, id);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return (pid_t) atoi(buf);
}

/* A process that is there and not a zombie. */
static bool pid_running(pid_t pid)
{
    char path[64], buf[512];
    char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static pid_t pid_parent(pid_t pid)
{
    char path[64], buf[512];
    char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p ? (pid_t) atoi(p + 4) : -1;
}

/* Waits on the context's loop (bounded) until pid is gone. */
static bool wait_gone(struct vc_ctx *ctx, pid_t pid)
{
    uint64_t until = vc_now(ctx) + 20 * SEC;

    while (pid_running(pid) && vc_now(ctx) < until)
        (void) vc_ctx_sleep_until(ctx, vc_now(ctx) + SEC / 50);
    return !pid_running(pid);
}

/* --- fixture ---------------------------------------------------------------------------------- */

static void log_sink(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                     const char *msg)
{
    fprintf(stderr, "[%s] %s: %s\n", vc_log_level_to_string(level), topic, msg);
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "%sXXXXXX", g_marker);
    ck_assert_ptr_nonnull(mkdtemp(f->root));
    snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", g_image);
    snprintf(f->initrd, sizeof(f->initrd), "%s/initrd.img", g_image);
    ck_assert_int_eq(vc_ctx_new_real(f->root, &f->ctx), 0);
    vc_ctx_set_log(f->ctx, log_sink, NULL, getenv("VC_E2E_DEBUG") ? VC_LOG_DEBUG : VC_LOG_WARN);
    f->cap = vctest_wirecap_install(f->ctx, "qemu_sandbox");
}

/* Frees the context, kills what is left of this test's VMs and removes its root. */
static void fx_done(struct fx *f)
{
    vc_ctx_free(f->ctx);
    f->ctx = NULL;
    vctest_wirecap_close(f->cap);
    f->cap = NULL;
    ck_assert_int_eq(sweep(f->root, true), 0);
    (void) nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *init_args[] = {"sleep", "infinity"};
static char *echo_args[] = {"echo", "hi"};

/* A sandbox config on f's guest with one container c1 (its strings borrowed). */
static void sb_config(struct fx *f, const char *id, struct vc_container_config *c1,
                      struct vc_sandbox_config *cfg)
{
    *c1 = (struct vc_container_config){
        .id = "c1",
        .rootfs = "/rootfs",
        .process = {.args = init_args, .n_args = 2, .cwd = "/"},
    };
    *cfg = (struct vc_sandbox_config){
        .id = (char *) id,
        .hostname = (char *) id,
        .hv = {.kind = "qemu",
               .vcpus = 1,
               .max_vcpus = 3,
               .memory_mb = 256,
               .max_memory_mb = 1024,
               .mem_slots = 4,
               .kernel = f->kernel,
               .initrd = f->initrd,
               .boot_timeout_ms = BOOT_MS},
        .agent = {.kind = "kata", .dial_timeout_ms = 60000},
        .containers = c1,
        .n_containers = 1,
    };
}

static void sb_status_is(struct fx *f, const char *id, enum vc_state state)
{
    struct vc_sandbox_status *st = NULL;

    ck_assert_msg(vc_sandbox_status(f->ctx, id, &st) == 0, "status: %s", vc_ctx_errmsg(f->ctx));
    ck_assert_str_eq(vc_state_to_string(st->state), vc_state_to_string(state));
    vc_sandbox_status_free(f->ctx, st);
}

/* Runs `echo hi` in c1 as exec_id and checks its output and exit code. */
static void exec_echo(struct vc_ctx *ctx, const char *id, const char *exec_id)
{
    struct vc_process_config cmd = {.args = echo_args, .n_args = 2, .cwd = "/"};
    struct vc_process proc = {0};
    char out[64];
    size_t n, total = 0;
    int32_t status = -1;

    ck_assert_msg(vc_container_enter(ctx, id, "c1", exec_id, &cmd, &proc) == 0, "exec: %s",
                  vc_ctx_errmsg(ctx));
    vc_process_clear(ctx, &proc);
    do {
        ck_assert_msg(vc_process_read_stdout(ctx, id, "c1", exec_id, out + total,
                                             sizeof(out) - total, &n) == 0,
                      "read stdout: %s", vc_ctx_errmsg(ctx));
        total += n;
    } while (n > 0 && total < sizeof(out));
    ck_assert_uint_eq(total, 3);
    ck_assert_int_eq(memcmp(out, "hi\n", 3), 0);
    ck_assert_msg(vc_process_wait(ctx, id, "c1", exec_id, &status) == 0, "wait: %s",
                  vc_ctx_errmsg(ctx));
    ck_assert_int_eq(status, 0);
}

/* A value of the guest's metrics ("kata_guest_online_cpus 2"), or -1. */
static long metric(struct fx *f, const char *id, const char *name)
{
    char *text = NULL, *p;
    long v = -1;

    ck_assert_msg(vc_sandbox_get_agent_metrics(f->ctx, id, &text) == 0, "metrics: %s",
                  vc_ctx_errmsg(f->ctx));
    for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = strlen(name);
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            v = strtol(p + n + 1, NULL, 10);
    }
    vc_free(f->ctx, text);
    return v;
}

/* Whether qemu.log's command line names the accelerator. */
static bool log_has(struct fx *f, const char *id, const char *what)
{
    char path[256], buf[16384];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/vm/%s/qemu.log", f->root, id);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return strstr(buf, what) != NULL;
}

/* Waits for the guest's agent at url to answer Check (the guest is up: hotplug events are
 * handled from then on). */
static void agent_ready(struct vc_ctx *ctx, const char *url)
{
    struct vc_agent_config cfg = {.kind = "kata", .dial_timeout_ms = 60000};
    struct vc_agent_backend be;
    struct vc_agent *agent = NULL;

    ck_assert_int_eq(vc_ctx_agent_backend(ctx, "kata", &be), 0);
    ck_assert_int_eq(vc_agent_init(ctx, &be, "hvd", &cfg, &agent), 0);
    ck_assert_int_eq(vc_agent_set_agent_url(agent, url), 0);
    ck_assert_msg(vc_agent_check(agent) == 0, "Check: %s", vc_ctx_errmsg(ctx));
    vc_agent_free(agent);
}

/* --- tests ------------------------------------------------------------------------------------ */

/* The whole life of a sandbox through the API, one exec from another process. */
START_TEST(test_lifecycle)
{
    struct vc_resources res = {
        .cpu_quota = 100000, .cpu_period = 100000, .memory_limit = (int64_t) (128 * MIB)};
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_sandbox_status *st = NULL;
    char dir[256];
    pid_t pid, child;
    int status;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "life", &c1, &cfg);
    ck_assert_msg(vc_sandbox_create(f.ctx, &cfg) == 0, "create: %s", vc_ctx_errmsg(f.ctx));
    sb_status_is(&f, "life", VC_STATE_READY);
    pid = vm_pid(&f, "life");
    ck_assert_int_gt(pid, 0);
    ck_assert(pid_running(pid));
    /* Detached: QEMU is not this process's child, and outlives the call that started it. */
    ck_assert_int_ne(pid_parent(pid), getpid());
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "life", &st), 0);
    ck_assert_str_eq(st->hv_kind, "qemu");
    snprintf(dir, sizeof(dir), "serial://%s/vm/life/agent.sock", f.root);
    ck_assert_str_eq(st->agent_url, dir);
    vc_sandbox_status_free(f.ctx, st);

    ck_assert_msg(vc_sandbox_start(f.ctx, "life") == 0, "start: %s", vc_ctx_errmsg(f.ctx));
    sb_status_is(&f, "life", VC_STATE_RUNNING);
    ck_assert_int_eq(vc_sandbox_check(f.ctx, "life"), 0);
    exec_echo(f.ctx, "life", "e1");

    /* Another process (a second vcctl, say) drives the same sandbox. */
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct vc_ctx *ctx2 = NULL;
        if (vc_ctx_new_real(f.root, &ctx2) < 0)
            _exit(2);
        exec_echo(ctx2, "life", "e2");
        vc_ctx_free(ctx2);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Container limits: one more vCPU and a 128 MiB DIMM, onlined by the guest. */
    ck_assert_int_eq(metric(&f, "life", "kata_guest_online_cpus"), 1);
    ck_assert_int_eq(metric(&f, "life", "kata_guest_online_memory_mb"), 256);
    ck_assert_msg(vc_container_update(f.ctx, "life", "c1", &res) == 0, "update: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "life", &st), 0);
    ck_assert_uint_eq(st->vcpus, 2);
    ck_assert_uint_eq(st->memory_mb, 384);
    vc_sandbox_status_free(f.ctx, st);
    ck_assert_int_eq(metric(&f, "life", "kata_guest_online_cpus"), 2);
    ck_assert_int_eq(metric(&f, "life", "kata_guest_online_memory_mb"), 384);

    ck_assert_msg(vc_sandbox_pause(f.ctx, "life") == 0, "pause: %s", vc_ctx_errmsg(f.ctx));
    sb_status_is(&f, "life", VC_STATE_PAUSED);
    ck_assert_int_eq(vc_sandbox_check(f.ctx, "life"), 0);
    ck_assert_msg(vc_sandbox_resume(f.ctx, "life") == 0, "resume: %s", vc_ctx_errmsg(f.ctx));
    sb_status_is(&f, "life", VC_STATE_RUNNING);
    exec_echo(f.ctx, "life", "e3");

    ck_assert_msg(vc_sandbox_stop(f.ctx, "life", false) == 0, "stop: %s", vc_ctx_errmsg(f.ctx));
    sb_status_is(&f, "life", VC_STATE_STOPPED);
    ck_assert(wait_gone(f.ctx, pid));
    ck_assert_msg(vc_sandbox_delete(f.ctx, "life") == 0, "delete: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "life", &st), -ENOENT);
    snprintf(dir, sizeof(dir), "%s/vm/life", f.root);
    ck_assert(!exists(dir));
    fx_done(&f);
}
END_TEST

/* TCG asked for explicitly; block and CPU hotplug through vc_sandbox_add_device. */
START_TEST(test_tcg_devices)
{
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "blk0"};
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 1};
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 128};
    struct vc_sandbox_status *st = NULL;
    struct fx f;

    ck_assert_int_eq(setenv("VC_QEMU_ACCEL", "tcg", 1), 0);
    fx_init(&f);
    sb_config(&f, "tcg", &c1, &cfg);
    ck_assert_msg(vc_sandbox_run(f.ctx, &cfg) == 0, "run: %s", vc_ctx_errmsg(f.ctx));
    ck_assert(log_has(&f, "tcg", "accel=tcg"));
    ck_assert(!log_has(&f, "tcg", "accel=kvm"));
    exec_echo(f.ctx, "tcg", "e1");

    ck_assert_msg(vc_sandbox_add_device(f.ctx, "tcg", &blk) == 0, "block: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_sandbox_add_device(f.ctx, "tcg", &blk), -EEXIST);
    blk.id = "blk1";
    ck_assert_int_eq(vc_sandbox_add_device(f.ctx, "tcg", &blk), 0);
    blk.id = "blk2"; /* two root ports by default */
    ck_assert_int_eq(vc_sandbox_add_device(f.ctx, "tcg", &blk), -ENOSPC);

    ck_assert_msg(vc_sandbox_add_device(f.ctx, "tcg", &cpu) == 0, "cpu: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_msg(vc_sandbox_add_device(f.ctx, "tcg", &mem) == 0, "memory: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "tcg", &st), 0);
    ck_assert_uint_eq(st->vcpus, 2);
    ck_assert_uint_eq(st->memory_mb, 384);
    vc_sandbox_status_free(f.ctx, st);
    ck_assert_int_eq(metric(&f, "tcg", "kata_guest_online_cpus"), 2);
    ck_assert_int_eq(metric(&f, "tcg", "kata_guest_online_memory_mb"), 384);
    exec_echo(f.ctx, "tcg", "e2");

    ck_assert_int_eq(vc_sandbox_stop(f.ctx, "tcg", false), 0);
    ck_assert_int_eq(vc_sandbox_delete(f.ctx, "tcg"), 0);
    fx_done(&f);
}
END_TEST

/* QEMU killed underneath: check notices, stop and delete clean up. */
START_TEST(test_killed)
{
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_container_status *cs = NULL;
    char dir[256];
    pid_t pid;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "kill", &c1, &cfg);
    ck_assert_msg(vc_sandbox_run(f.ctx, &cfg) == 0, "run: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_sandbox_check(f.ctx, "kill"), 0);
    pid = vm_pid(&f, "kill");
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(wait_gone(f.ctx, pid));
    ck_assert_int_eq(vc_sandbox_check(f.ctx, "kill"), -ESRCH);
    sb_status_is(&f, "kill", VC_STATE_STOPPED);
    ck_assert_int_eq(vc_container_status(f.ctx, "kill", "c1", &cs), 0);
    ck_assert_int_eq(cs->state, VC_STATE_STOPPED);
    vc_container_status_free(f.ctx, cs);
    ck_assert_msg(vc_sandbox_stop(f.ctx, "kill", false) == 0, "stop: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_msg(vc_sandbox_delete(f.ctx, "kill") == 0, "delete: %s", vc_ctx_errmsg(f.ctx));
    snprintf(dir, sizeof(dir), "%s/vm/kill", f.root);
    ck_assert(!exists(dir));
    fx_done(&f);
}
END_TEST

/* A start that fails leaves no QEMU, no run directory and no stored sandbox. */
START_TEST(test_failed_start)
{
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_sandbox_status *st = NULL;
    char dir[256];
    struct fx f;

    fx_init(&f);
    sb_config(&f, "bad", &c1, &cfg);
    cfg.hv.kernel = "/nonexistent/vmlinuz";
    ck_assert_int_lt(vc_sandbox_create(f.ctx, &cfg), 0);
    ck_assert_msg(strstr(vc_ctx_errmsg(f.ctx), "did not start"), "%s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(sweep(f.root, false), 0);
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "bad", &st), -ENOENT);
    snprintf(dir, sizeof(dir), "%s/vm/bad", f.root);
    ck_assert(!exists(dir));

    sb_config(&f, "bad", &c1, &cfg);
    cfg.hv.path = "/nonexistent/qemu-system-x86_64";
    ck_assert_int_eq(vc_sandbox_create(f.ctx, &cfg), -ENOENT);
    ck_assert(!exists(dir));
    ck_assert_int_eq(vc_sandbox_status(f.ctx, "bad", &st), -ENOENT);

    /* Config QEMU would refuse fails before anything is launched. */
    sb_config(&f, "bad", &c1, &cfg);
    cfg.hv.machine_type = "microvm";
    ck_assert_int_eq(vc_sandbox_create(f.ctx, &cfg), -EINVAL);
    ck_assert(!exists(dir));
    fx_done(&f);
}
END_TEST

/* The hv table itself: block hotplug and removal, a second context reattaching to the VM (as a
 * new process would), memory, and the CPU hot-remove last (QEMU 7.2 TCG aborts on a device_add
 * after one). */
START_TEST(test_hv_direct)
{
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "blk0"};
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 5};
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 128};
    struct vc_device dimm = {0};
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_hv_backend be, be2;
    struct vc_ctx *ctx2 = NULL;
    struct vc_hv *hv = NULL, *hv2 = NULL;
    struct vc_vm_info info;
    char *s = NULL, *state = NULL, want[256];
    int32_t *pids = NULL;
    size_t n_pids = 0;
    uint32_t caps = 0, old = 0, now = 0, mb = 0;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "hvd", &c1, &cfg);
    ck_assert_int_eq(vc_ctx_hv_backend(f.ctx, "qemu", &be), 0);
    ck_assert_msg(vc_hv_create(f.ctx, &be, "hvd", &cfg.hv, &hv) == 0, "create: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_check(hv), 0);
    ck_assert_int_eq(vc_hv_pause(hv), -EINVAL);
    ck_assert_msg(vc_hv_start(hv, BOOT_MS) == 0, "start: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_start(hv, BOOT_MS), -EINVAL);
    ck_assert_int_eq(vc_hv_capabilities(hv, &caps), 0);
    ck_assert_uint_eq(caps, VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG);
    ck_assert_int_eq(vc_hv_agent_endpoint(hv, &s), 0);
    snprintf(want, sizeof(want), "serial://%s/vm/hvd/agent.sock", f.root);
    ck_assert_str_eq(s, want);
    agent_ready(f.ctx, s);
    vc_free(f.ctx, s);
    ck_assert_int_eq(vc_hv_console(hv, &s), 0);
    snprintf(want, sizeof(want), "file://%s/vm/hvd/console.log", f.root);
    ck_assert_str_eq(s, want);
    vc_free(f.ctx, s);
    ck_assert_int_eq(vc_hv_pids(hv, &pids, &n_pids), 0);
    ck_assert_uint_eq(n_pids, 2); /* QEMU and its one vCPU thread */
    ck_assert_int_eq(pids[0], vm_pid(&f, "hvd"));
    vc_free(f.ctx, pids);
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_int_eq(info.state, VC_VM_STATE_RUNNING);
    ck_assert_uint_eq(info.vcpus, 1);
    ck_assert_uint_eq(info.memory_mb, 256);

    ck_assert_msg(vc_hv_hotplug_add(hv, &blk) == 0, "block: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_ptr_nonnull(blk.guest_path);
    vc_free(f.ctx, blk.guest_path);
    blk.guest_path = NULL;
    ck_assert_int_eq(vc_hv_hotplug_add(hv, &blk), -EEXIST);
    blk.id = "blk1";
    ck_assert_int_eq(vc_hv_hotplug_add(hv, &blk), 0);
    vc_free(f.ctx, blk.guest_path);
    blk.guest_path = NULL;
    blk.id = "0bad";
    ck_assert_int_eq(vc_hv_hotplug_add(hv, &blk), -EINVAL);

    /* Reattach from a second context, as another process would. */
    ck_assert_int_eq(vc_hv_save_state(hv, &state), 0);
    vc_hv_free(hv);
    hv = NULL;
    ck_assert_int_eq(vc_ctx_new_real(f.root, &ctx2), 0);
    ck_assert_int_eq(vc_ctx_hv_backend(ctx2, "qemu", &be2), 0);
    ck_assert_msg(vc_hv_load(ctx2, &be2, "hvd", &cfg.hv, state, &hv2) == 0, "load: %s",
                  vc_ctx_errmsg(ctx2));
    ck_assert_int_eq(vc_hv_check(hv2), 0);
    ck_assert_int_eq(vc_hv_query(hv2, &info), 0);
    ck_assert_uint_eq(info.n_devices, 2);
    blk.id = "blk0";
    ck_assert_msg(vc_hv_hotplug_remove(hv2, &blk) == 0, "unplug: %s", vc_ctx_errmsg(ctx2));
    ck_assert_int_eq(vc_hv_hotplug_remove(hv2, &blk), -ENOENT);
    ck_assert_int_eq(vc_hv_pause(hv2), 0);
    ck_assert_int_eq(vc_hv_query(hv2, &info), 0);
    ck_assert_int_eq(info.state, VC_VM_STATE_PAUSED);
    ck_assert_int_eq(vc_hv_resume(hv2), 0);
    ck_assert_int_eq(vc_hv_save(hv2), -EOPNOTSUPP);

    ck_assert_msg(vc_hv_hotplug_add(hv2, &mem) == 0, "dimm: %s", vc_ctx_errmsg(ctx2));
    ck_assert_str_eq(mem.guest_path, "dimmmem0");
    ck_assert_uint_ne(mem.addr, 0);
    vc_device_clear(ctx2, &mem);
    ck_assert_int_eq(vc_hv_resize_memory(hv2, 512, 128, false, &mb, &dimm), 0);
    ck_assert_uint_eq(mb, 512);
    ck_assert_uint_eq(dimm.size_mb, 128);
    vc_device_clear(ctx2, &dimm);
    ck_assert_int_eq(vc_hv_resize_vcpus(hv2, 2, &old, &now), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_uint_eq(now, 2);
    ck_assert_int_eq(vc_hv_hotplug_add(hv2, &cpu), 0);
    ck_assert_uint_eq(cpu.cpus, 1); /* max_vcpus 3 */
    ck_assert_int_eq(vc_hv_hotplug_add(hv2, &cpu), -ENOSPC);
    cpu.cpus = 1;
    ck_assert_msg(vc_hv_hotplug_remove(hv2, &cpu) == 0, "cpu unplug: %s", vc_ctx_errmsg(ctx2));
    ck_assert_int_eq(vc_hv_query(hv2, &info), 0);
    ck_assert_uint_eq(info.vcpus, 2);
    ck_assert_uint_eq(info.memory_mb, 512);

    ck_assert_int_eq(vc_hv_cleanup(hv2), -EBUSY);
    ck_assert_msg(vc_hv_stop(hv2, false) == 0, "stop: %s", vc_ctx_errmsg(ctx2));
    ck_assert_int_eq(vc_hv_check(hv2), 0);
    ck_assert_int_eq(vc_hv_stop(hv2, false), 0);
    ck_assert_int_eq(vc_hv_cleanup(hv2), 0);
    vc_hv_free(hv2);
    ck_assert_int_eq(vc_hv_load(ctx2, &be2, "hvd", &cfg.hv, state, &hv2), -ESRCH);
    vc_free(f.ctx, state);
    vc_ctx_free(ctx2);
    fx_done(&f);
}
END_TEST

/* A runtime that crashed mid-start left QEMU running with a state that predates it (pid 0), or
 * with no state at all: load finds QEMU through its pid file, and stop and cleanup remove it. */
START_TEST(test_reattach_without_state)
{
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL;
    struct vc_vm_info info;
    char *created = NULL;
    pid_t pid;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "nost", &c1, &cfg);
    ck_assert_int_eq(vc_ctx_hv_backend(f.ctx, "qemu", &be), 0);
    ck_assert_msg(vc_hv_create(f.ctx, &be, "nost", &cfg.hv, &hv) == 0, "create: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_save_state(hv, &created), 0);
    ck_assert_msg(vc_hv_start(hv, BOOT_MS) == 0, "start: %s", vc_ctx_errmsg(f.ctx));
    vc_hv_free(hv); /* the process "crashes": QEMU runs on */
    pid = vm_pid(&f, "nost");
    ck_assert_int_gt(pid, 0);
    ck_assert(pid_running(pid));

    ck_assert_msg(vc_hv_load(f.ctx, &be, "nost", &cfg.hv, created, &hv) == 0, "load: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_int_eq(info.pid, pid);
    ck_assert_int_eq(info.state, VC_VM_STATE_RUNNING);
    vc_hv_free(hv);
    hv = NULL;

    ck_assert_msg(vc_hv_load(f.ctx, &be, "nost", &cfg.hv, NULL, &hv) == 0, "load: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_int_eq(info.pid, pid);
    ck_assert_int_eq(vc_hv_cleanup(hv), -EBUSY);
    ck_assert_msg(vc_hv_stop(hv, false) == 0, "stop: %s", vc_ctx_errmsg(f.ctx));
    ck_assert(!pid_running(pid));
    ck_assert_int_eq(vc_hv_cleanup(hv), 0);
    vc_hv_free(hv);
    hv = NULL;
    ck_assert_int_eq(vc_hv_load(f.ctx, &be, "nost", &cfg.hv, NULL, &hv), -ESRCH);
    vc_free(f.ctx, created);
    fx_done(&f);
}
END_TEST

/* The pc machine has no PCIe root ports: a block device goes on the PCI bus, and comes off. */
START_TEST(test_pc_block)
{
    struct vc_device blk = {.type = VC_DEVICE_BLOCK, .id = "blk0"};
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL;
    struct vc_vm_info info;
    char *s = NULL;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "pcb", &c1, &cfg);
    cfg.hv.machine_type = "pc";
    ck_assert_int_eq(vc_ctx_hv_backend(f.ctx, "qemu", &be), 0);
    ck_assert_msg(vc_hv_create(f.ctx, &be, "pcb", &cfg.hv, &hv) == 0, "create: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_msg(vc_hv_start(hv, BOOT_MS) == 0, "start: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_agent_endpoint(hv, &s), 0);
    agent_ready(f.ctx, s);
    vc_free(f.ctx, s);
    ck_assert_msg(vc_hv_hotplug_add(hv, &blk) == 0, "block: %s", vc_ctx_errmsg(f.ctx));
    /* Its slot on the root bus, as QEMU chose it: one PCI path element ("05"). */
    ck_assert_ptr_nonnull(blk.guest_path);
    ck_assert_uint_eq(strlen(blk.guest_path), 2);
    ck_assert(strspn(blk.guest_path, "0123456789abcdef") == 2);
    ck_assert_str_ne(blk.guest_path, "00");
    vc_free(f.ctx, blk.guest_path);
    blk.guest_path = NULL;
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_uint_eq(info.n_devices, 1);
    ck_assert_msg(vc_hv_hotplug_remove(hv, &blk) == 0, "unplug: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_uint_eq(info.n_devices, 0);
    ck_assert_msg(vc_hv_stop(hv, false) == 0, "stop: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_cleanup(hv), 0);
    vc_hv_free(hv);
    fx_done(&f);
}
END_TEST

/* Asks the guest's agent at url to online what was hot-added (OnlineCPUMem), as kata does after
 * a hotplug; the test guest onlines memory movable. */
static void agent_online(struct vc_ctx *ctx, const char *url)
{
    struct vc_agent_config cfg = {.kind = "kata", .dial_timeout_ms = 60000};
    struct vc_agent_backend be;
    struct vc_agent *agent = NULL;

    ck_assert_int_eq(vc_ctx_agent_backend(ctx, "kata", &be), 0);
    ck_assert_int_eq(vc_agent_init(ctx, &be, "munp", &cfg, &agent), 0);
    ck_assert_int_eq(vc_agent_set_agent_url(agent, url), 0);
    ck_assert_msg(vc_agent_online_cpu_mem(agent, 0, false) == 0, "OnlineCPUMem: %s",
                  vc_ctx_errmsg(ctx));
    vc_agent_free(agent);
}

/* DIMMs come out again where the guest lets them go (QEMU asks it through ACPI): one the guest
 * left offline, and one it onlined (movable). */
START_TEST(test_memory_unplug)
{
    struct vc_device mem = {.type = VC_DEVICE_MEMORY, .size_mb = 128};
    struct vc_container_config c1;
    struct vc_sandbox_config cfg;
    struct vc_hv_backend be;
    struct vc_hv *hv = NULL;
    struct vc_vm_info info;
    char *url = NULL;
    struct fx f;

    fx_init(&f);
    sb_config(&f, "munp", &c1, &cfg);
    ck_assert_int_eq(vc_ctx_hv_backend(f.ctx, "qemu", &be), 0);
    ck_assert_msg(vc_hv_create(f.ctx, &be, "munp", &cfg.hv, &hv) == 0, "create: %s",
                  vc_ctx_errmsg(f.ctx));
    ck_assert_msg(vc_hv_start(hv, BOOT_MS) == 0, "start: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_agent_endpoint(hv, &url), 0);
    agent_ready(f.ctx, url);
    ck_assert_int_eq(vc_hv_hotplug_remove(hv, &mem), -EINVAL); /* nothing hot-added yet */

    ck_assert_msg(vc_hv_hotplug_add(hv, &mem) == 0, "dimm: %s", vc_ctx_errmsg(f.ctx));
    vc_device_clear(f.ctx, &mem);
    mem = (struct vc_device){.type = VC_DEVICE_MEMORY, .size_mb = 64};
    ck_assert_int_eq(vc_hv_hotplug_remove(hv, &mem), -EINVAL); /* DIMMs come out whole */
    mem.size_mb = 0;
    ck_assert_msg(vc_hv_hotplug_remove(hv, &mem) == 0, "unplug: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_uint_eq(mem.size_mb, 128);
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_uint_eq(info.memory_mb, 256);

    mem = (struct vc_device){.type = VC_DEVICE_MEMORY, .size_mb = 128};
    ck_assert_msg(vc_hv_hotplug_add(hv, &mem) == 0, "dimm: %s", vc_ctx_errmsg(f.ctx));
    vc_device_clear(f.ctx, &mem);
    agent_online(f.ctx, url);
    mem = (struct vc_device){.type = VC_DEVICE_MEMORY};
    ck_assert_msg(vc_hv_hotplug_remove(hv, &mem) == 0, "unplug online: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_query(hv, &info), 0);
    ck_assert_uint_eq(info.memory_mb, 256);

    vc_free(f.ctx, url);
    ck_assert_msg(vc_hv_stop(hv, false) == 0, "stop: %s", vc_ctx_errmsg(f.ctx));
    ck_assert_int_eq(vc_hv_cleanup(hv), 0);
    vc_hv_free(hv);
    fx_done(&f);
}
END_TEST

static void add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

/* One case per test, so CK_RUN_CASE=<name> runs one. */
static Suite *qemu_suite(void)
{
    Suite *s = suite_create("qemu_sandbox");

    add_case(s, "lifecycle", test_lifecycle);
    add_case(s, "tcg_devices", test_tcg_devices);
    add_case(s, "killed", test_killed);
    add_case(s, "failed_start", test_failed_start);
    add_case(s, "hv_direct", test_hv_direct);
    add_case(s, "reattach_without_state", test_reattach_without_state);
    add_case(s, "pc_block", test_pc_block);
    add_case(s, "memory_unplug", test_memory_unplug);
    return s;
}

/* Removes the suite's leftover roots (a test that failed or timed out). */
static void remove_roots(void)
{
    const char *base = strrchr(g_marker, '/') + 1;
    struct dirent *de;
    char path[512];
    DIR *d = opendir("/tmp");

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, base, strlen(base)) != 0)
            continue;
        snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
        (void) nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
    closedir(d);
}

int main(void)
{
    SRunner *sr;
    int failed, left;

    if (!guest_dir(g_image, sizeof(g_image))) {
        fprintf(stderr, "check_qemu_sandbox: no guest image (run ci/guest-image, or set "
                        "VC_GUEST_DIR): skipped\n");
        return 77;
    }
    if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
        fprintf(stderr, "check_qemu_sandbox: no qemu-system-x86_64: skipped\n");
        return 77;
    }
    snprintf(g_marker, sizeof(g_marker), "/tmp/vcq%d-", (int) getpid());
    sr = srunner_create(qemu_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    left = sweep(g_marker, true);
    if (left) {
        fprintf(stderr, "check_qemu_sandbox: %d process(es) of this run survived: killed\n", left);
        failed++;
    }
    /* VC_E2E_KEEP=1 keeps the roots (consoles, qemu.log) of failed tests for a look. */
    if (!getenv("VC_E2E_KEEP"))
        remove_roots();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
