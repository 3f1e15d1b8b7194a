/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: boot to agent ready on real QEMU with the e2e test guest (ci/guest-image), three
 * ways in one run, interleaved: through the runtime API (vc_sandbox_create with hypervisor
 * "qemu" and agent "kata": launch, QMP, store, Check, CreateSandbox, GetGuestDetails), and two
 * raw QEMU boots timed from fork to the agent's first Health.Check reply: one with exactly the
 * argv the backend builds (so the difference is the runtime's own cost) and one with a minimal
 * argv (so the difference also counts the devices and kernel parameters the runtime adds).
 * Prints every run, the medians and the differences, and, since a TCG boot varies by a few
 * hundred ms from run to run, the runtime's own time measured inside the API boot: before QEMU
 * is forked (store, run dir, command line) and after the agent's first Check reply (the RPCs that
 * follow, the store). With --machine the medians go to stdout as "key value" lines (for
 * ci/bench) and the table to stderr. Figures only: nothing asserted.
 *
 *   bench_boot [--runs N] [--accel tcg|kvm] [--guest DIR] [--machine]
 *                                                           (DIR: $VC_GUEST_DIR by default) */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vc/agent.h>
#include <vc/qemu.h>
#include <vc/vc.h>

#include "cmdline.h"

#define RUNS_MAX 50

/* When the API boot reached its milestones (the context's monotonic clock, seconds). */
struct marks {
    double launch; /* the backend logged the QEMU command line, just before the fork */
    double check;  /* the first Health.Check answered */
};

struct boot {
    struct marks m;     /* the current API boot's milestones */
    const char *guest;  /* guest image directory */
    const char *accel;  /* "tcg" or "kvm" */
    bool machine;       /* --machine: medians as key value lines, the table on stderr */
    char kernel[1100];  /* guest kernel */
    char initrd[1100];  /* guest initramfs */
    char root[64];      /* temporary root */
    struct vc_ctx *ctx; /* real context on root */
};

static double now_s(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static const struct vc_hv_config *hv_config(struct boot *b)
{
    static struct vc_hv_config hv;

    hv = (struct vc_hv_config){.kind = "qemu",
                               .vcpus = 1,
                               .memory_mb = 256,
                               .kernel = b->kernel,
                               .initrd = b->initrd,
                               .boot_timeout_ms = 120000};
    return &hv;
}

/* Health.Check through the kata backend at url, dialling until the guest answers. */
static int agent_check(struct boot *b, const char *url)
{
    struct vc_agent_config cfg = {.kind = "kata", .dial_timeout_ms = 120000};
    struct vc_agent_backend be;
    struct vc_agent *agent = NULL;
    int r = vc_ctx_agent_backend(b->ctx, "kata", &be);

    if (r >= 0)
        r = vc_agent_init(b->ctx, &be, "bench", &cfg, &agent);
    if (r >= 0)
        r = vc_agent_set_agent_url(agent, url);
    if (r >= 0)
        r = vc_agent_check(agent);
    vc_agent_free(agent);
    return r;
}

/* The backend's argv for this guest, with path-form QMP (no fd to hand over) in dir. */
static int same_argv(struct boot *b, const char *dir, char ***ret)
{
    struct vc_qemu_cmdline_cfg c;

    vc_qemu_cmdline_cfg_init(&c, hv_config(b));
    c.sandbox_id = "raw";
    c.uuid = "01234567-89ab-4cde-8f01-23456789abcd";
    c.run_dir = dir;
    c.accel = strcmp(b->accel, "kvm") == 0 ? VC_QEMU_ACCEL_KVM : VC_QEMU_ACCEL_TCG;
    c.console = VC_QEMU_CONSOLE_SERIAL;
    c.console_out = VC_QEMU_CONSOLE_OUT_FILE;
    c.agent = VC_QEMU_AGENT_SERIAL;
    c.pcie_root_ports = VC_QEMU_DEFAULT_ROOT_PORTS;
    return vc_qemu_cmdline_build(b->ctx, &c, ret);
}

/* A minimal argv: the machine, memory, kernel, initrd and the agent's port, nothing else. */
static char **min_argv(struct boot *b, const char *dir)
{
    static char machine[64], chardev[256], serial[256];
    static char *argv[] = {"/usr/bin/qemu-system-x86_64",
                           "-nodefaults",
                           "-no-user-config",
                           "-display",
                           "none",
                           "-no-reboot",
                           "-M",
                           machine,
                           "-cpu",
                           NULL,
                           "-m",
                           "256",
                           "-smp",
                           "1",
                           "-kernel",
                           NULL,
                           "-initrd",
                           NULL,
                           "-append",
                           "console=ttyS0 panic=1 quiet",
                           "-serial",
                           serial,
                           "-device",
                           "virtio-serial-pci",
                           "-chardev",
                           chardev,
                           "-device",
                           "virtserialport,chardev=agent,name=agent.channel.0",
                           NULL};

    snprintf(machine, sizeof(machine), "q35,accel=%s", b->accel);
    snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s/agent.sock,server=on,wait=off",
             dir);
    snprintf(serial, sizeof(serial), "file:%s/console.log", dir);
    argv[9] = strcmp(b->accel, "kvm") == 0 ? "host,pmu=off" : "max";
    argv[15] = b->kernel;
    argv[17] = b->initrd;
    return argv;
}

/* One raw boot: fork, exec argv, Check over dir/agent.sock. Seconds, or -1. */
static double raw_boot(struct boot *b, char **argv, const char *dir)
{
    char url[256];
    double t0 = now_s(), t;
    pid_t pid;
    int r, null;

    snprintf(url, sizeof(url), "serial://%s/agent.sock", dir);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            (void) dup2(null, STDIN_FILENO);
            (void) dup2(null, STDOUT_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    r = agent_check(b, url);
    t = now_s() - t0;
    (void) kill(pid, SIGKILL);
    (void) waitpid(pid, NULL, 0);
    if (r < 0)
        fprintf(stderr, "bench_boot: raw boot: %s\n", vc_ctx_errmsg(b->ctx));
    return r < 0 ? -1 : t;
}

static void on_log(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                   const char *msg)
{
    struct boot *b = data;

    if (!b->m.launch && strcmp(topic, "qemu") == 0 && strncmp(msg, "launching ", 10) == 0)
        b->m.launch = (double) ts_ns / 1e9;
}

static void on_trace(void *data, uint64_t ts_ns, const char *category, const char *name,
                     const char *detail)
{
    struct boot *b = data;

    if (!b->m.check && strcmp(category, "ttrpc") == 0 && strcmp(name, "done") == 0 &&
        strstr(detail, "Check") && strstr(detail, "r=0"))
        b->m.check = (double) ts_ns / 1e9;
}

/* One boot through the API: vc_sandbox_create, then stop and delete (not timed). *pre gets the
 * runtime's time before QEMU is forked, *post its time after the agent's first reply. */
static double api_boot(struct boot *b, int i, double *pre, double *post)
{
    struct vc_sandbox_config cfg = {.hv = *hv_config(b),
                                    .agent = {.kind = "kata", .dial_timeout_ms = 120000}};
    char id[32];
    double t0, t;
    int r;

    snprintf(id, sizeof(id), "bench%d", i);
    cfg.id = id;
    b->m = (struct marks){0};
    t0 = now_s();
    r = vc_sandbox_create(b->ctx, &cfg);
    t = now_s() - t0;
    *pre = b->m.launch ? b->m.launch - t0 : -1;
    *post = b->m.check ? t0 + t - b->m.check : -1;
    if (r < 0) {
        fprintf(stderr, "bench_boot: api boot: %s\n", vc_ctx_errmsg(b->ctx));
        return -1;
    }
    (void) vc_sandbox_stop(b->ctx, id, true);
    (void) vc_sandbox_delete(b->ctx, id);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse(int argc, char **argv, struct boot *b, int *runs)
{
    static const struct option opts[] = {{"runs", required_argument, NULL, 'n'},
                                         {"accel", required_argument, NULL, 'a'},
                                         {"guest", required_argument, NULL, 'g'},
                                         {"machine", no_argument, NULL, 'm'},
                                         {NULL, 0, NULL, 0}};
    int c;

    b->guest = getenv("VC_GUEST_DIR");
    b->accel = getenv("VC_QEMU_ACCEL") ? getenv("VC_QEMU_ACCEL") : "tcg";
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            *runs = atoi(optarg);
        else if (c == 'a')
            b->accel = optarg;
        else if (c == 'g')
            b->guest = optarg;
        else if (c == 'm')
            b->machine = true;
        else
            return -1;
    }
    if (!b->guest || *runs < 1 || *runs > RUNS_MAX ||
        (strcmp(b->accel, "tcg") != 0 && strcmp(b->accel, "kvm") != 0))
        return -1;
    snprintf(b->kernel, sizeof(b->kernel), "%s/vmlinuz", b->guest);
    snprintf(b->initrd, sizeof(b->initrd), "%s/initrd.img", b->guest);
    return 0;
}

int main(int argc, char **argv)
{
    double api[RUNS_MAX], same[RUNS_MAX], min[RUNS_MAX], pre[RUNS_MAX], post[RUNS_MAX];
    double m_api, m_same, m_min, m_pre, m_post;
    struct boot b = {0};
    char dir[128], **sargv = NULL;
    int runs = 5, ok = 0;
    FILE *out;

    if (parse(argc, argv, &b, &runs) < 0) {
        fprintf(stderr,
                "usage: bench_boot [--runs 1..%d] [--accel tcg|kvm] [--guest DIR] [--machine]\n"
                "(the guest directory defaults to $VC_GUEST_DIR)\n",
                RUNS_MAX);
        return 2;
    }
    out = b.machine ? stderr : stdout;
    /* The backend reads its accelerator here; the raw boots use the same one. */
    (void) setenv("VC_QEMU_ACCEL", b.accel, 1);
    strcpy(b.root, "/tmp/vcboot-XXXXXX");
    if (!mkdtemp(b.root) || vc_ctx_new_real(b.root, &b.ctx) < 0) {
        fprintf(stderr, "bench_boot: cannot set up %s\n", b.root);
        return 1;
    }
    vc_ctx_set_log(b.ctx, on_log, &b, VC_LOG_DEBUG);
    vc_ctx_set_trace(b.ctx, on_trace, &b);
    snprintf(dir, sizeof(dir), "%s/raw", b.root);
    (void) mkdir(dir, 0700);
    if (same_argv(&b, dir, &sargv) < 0) {
        fprintf(stderr, "bench_boot: %s\n", vc_ctx_errmsg(b.ctx));
        return 1;
    }
    fprintf(out, "boot to agent ready, q35, %s, 1 vCPU, 256 MiB, %d runs each (seconds)\n", b.accel,
            runs);
    fprintf(out, "%6s %9s %9s %9s %12s %12s\n", "run", "raw-min", "raw-same", "api", "api-pre-fork",
            "api-post-ack");
    for (int i = 0; i < runs; i++) {
        min[ok] = raw_boot(&b, min_argv(&b, dir), dir);
        same[ok] = raw_boot(&b, sargv, dir);
        api[ok] = api_boot(&b, i, &pre[ok], &post[ok]);
        fprintf(out, "%6d %9.3f %9.3f %9.3f %12.3f %12.3f\n", i + 1, min[ok], same[ok], api[ok],
                pre[ok], post[ok]);
        if (min[ok] >= 0 && same[ok] >= 0 && api[ok] >= 0 && pre[ok] >= 0 && post[ok] >= 0)
            ok++;
    }
    vc_qemu_argv_free(b.ctx, sargv);
    vc_ctx_free(b.ctx);
    (void) nftw(b.root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (!ok)
        return 1;
    m_min = median(min, ok);
    m_same = median(same, ok);
    m_api = median(api, ok);
    m_pre = median(pre, ok);
    m_post = median(post, ok);
    fprintf(out, "median %9.3f %9.3f %9.3f %12.3f %12.3f\n", m_min, m_same, m_api, m_pre, m_post);
    if (b.machine) {
        printf("accel %s\nruns %d\nruns_ok %d\n", b.accel, runs, ok);
        printf("raw_min_s %.4f\nraw_same_s %.4f\napi_s %.4f\n", m_min, m_same, m_api);
        printf("api_pre_fork_ms %.2f\napi_post_ack_ms %.2f\nown_ms %.2f\n", m_pre * 1000,
               m_post * 1000, (m_pre + m_post) * 1000);
        printf("api_minus_raw_same_ms %.1f\napi_minus_raw_min_ms %.1f\n", (m_api - m_same) * 1000,
               (m_api - m_min) * 1000);
        return 0;
    }
    printf("api - raw (medians, TCG boot noise included): %+.0f ms over the same argv, %+.0f ms "
           "over the minimal one\n",
           (m_api - m_same) * 1000, (m_api - m_min) * 1000);
    printf("the runtime's own time around the boot (before the fork + after the first Check "
           "reply): %.0f ms (goal: <= 150 ms)\n",
           (m_pre + m_post) * 1000);
    return 0;
}
