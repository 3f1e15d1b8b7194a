/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU argv builder (core/qemu/cmdline.h), libvirt style: every config of a table is built
 * and rendered one option per line, then compared with its golden file
 * tests/golden/qemu/<name>.args; every invalid config of a second table must fail with -EINVAL
 * and the message in tests/golden/qemu/<name>.err. VC_TEST_REGENERATE=1 rewrites the golden
 * files instead of comparing (review the diff before committing it). A file in that directory
 * that no table entry uses fails the test. ci/qemu-argv-smoke starts real QEMU on every .args
 * file. Also: the shell rendering read back by /bin/sh, derived paths, the kernel command line,
 * and an allocation-failure sweep. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/types.h>

#include "cmdline.h"

#ifndef VC_GOLDEN_DIR
#error "VC_GOLDEN_DIR must name tests/golden (set in tests/CMakeLists.txt)"
#endif
#define QEMU_GOLDEN_DIR VC_GOLDEN_DIR "/qemu"

#define UUID      "6b2c3a1e-5d4f-4c7b-9e8a-0f1d2c3b4a59"
#define ASSETS    "/usr/share/vcsim/" /* ci/qemu-argv-smoke puts real files here */
#define RUN_ROOT  "/run/vc/vm/"       /* ci/qemu-argv-smoke puts a temporary dir here */
#define MAX_FILES 256                 /* golden files the directory may hold */
#define SCRATCH   8192                /* bytes a case may use for long strings */

/* --- plumbing --------------------------------------------------------------------------------- */

static int setup(void **state)
{
    char root[] = "/tmp/vc-qargv-XXXXXX";
    struct vc_ctx *ctx;

    assert_non_null(mkdtemp(root));
    assert_int_equal(vc_ctx_new_real(root, &ctx), 0);
    assert_int_equal(rmdir(root), 0);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    vc_ctx_free(*state);
    return 0;
}

/* The base of every case: q35 under TCG, 1 of 4 vCPUs, 256 of 2048 MiB in 4 slots, kernel and
 * initrd, agent on virtio-serial, virtio console to a socket, rng, everything under
 * RUN_ROOT<name>. */
static void base(struct vc_qemu_cmdline_cfg *cfg, const char *name, char *run_dir, size_t n)
{
    vc_qemu_cmdline_cfg_init(cfg, NULL);
    (void) snprintf(run_dir, n, RUN_ROOT "%s", name);
    cfg->machine_type = "q35";
    cfg->vcpus = 1;
    cfg->max_vcpus = 4;
    cfg->memory_mb = 256;
    cfg->max_memory_mb = 2048;
    cfg->mem_slots = 4;
    cfg->kernel = ASSETS "vmlinuz";
    cfg->initrd = ASSETS "initrd.img";
    cfg->sandbox_id = name;
    cfg->uuid = UUID;
    cfg->run_dir = run_dir;
    cfg->accel = VC_QEMU_ACCEL_TCG;
    cfg->agent = VC_QEMU_AGENT_SERIAL;
}

typedef void case_fn(struct vc_qemu_cmdline_cfg *cfg, char *scratch, size_t n);

struct gcase {
    const char *name; /* golden file stem, also the sandbox id */
    case_fn *set;     /* changes to the base config */
};

/* --- valid configs (.args) -------------------------------------------------------------------- */

static void set_q35_initrd_serial_tcg(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    (void) cfg, (void) s, (void) n;
}

/* kata's shape: KVM, vhost-vsock with a pre-opened fd, QMP on a pre-opened listener. */
static void set_q35_vsock_kvm(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->accel = VC_QEMU_ACCEL_KVM;
    cfg->agent = VC_QEMU_AGENT_VSOCK;
    cfg->vsock_cid = 3;
    cfg->vhost_fd = 4;
    cfg->qmp_fd = 3;
}

static void set_q35_image(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->initrd = NULL;
    cfg->image = ASSETS "rootfs.img";
}

static void set_pc(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "pc";
    cfg->cpu_model = "qemu64";
    cfg->console = VC_QEMU_CONSOLE_SERIAL;
    cfg->console_out = VC_QEMU_CONSOLE_OUT_FILE;
}

/* No hotplug on microvm; the console on the UART to a log file, so that
 * ci/qemu-argv-smoke --boot sees the guest run with microvm's kernel parameters. */
static void set_microvm(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "microvm";
    cfg->console = VC_QEMU_CONSOLE_SERIAL;
    cfg->console_out = VC_QEMU_CONSOLE_OUT_FILE;
    cfg->vcpus = 2;
    cfg->max_vcpus = 0;
    cfg->max_memory_mb = 0;
    cfg->mem_slots = 0;
}

static void set_microvm_image_vsock_kvm(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    set_microvm(cfg, s, n);
    cfg->accel = VC_QEMU_ACCEL_KVM;
    cfg->initrd = NULL;
    cfg->image = ASSETS "rootfs.img";
    cfg->agent = VC_QEMU_AGENT_VSOCK;
    cfg->vsock_cid = 1234567;
    cfg->console = VC_QEMU_CONSOLE_SERIAL;
}

static void set_memory_hotplug(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->memory_mb = 1024;
    cfg->max_memory_mb = 8192;
    cfg->mem_slots = 8;
}

static void set_no_hotplug(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->vcpus = 2;
    cfg->max_vcpus = 2;
    cfg->max_memory_mb = 256;
    cfg->mem_slots = 0;
}

static void set_vcpus(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->vcpus = 4;
    cfg->max_vcpus = 8;
}

static void set_root_ports(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->pcie_root_ports = VC_QEMU_MAX_ROOT_PORTS;
}

static void set_kernel_params(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->kernel_params = "agent.log=debug agent.debug_console quiet=0 it's \"quoted\"";
    cfg->debug = true;
}

/* The kernel's own console to a log file through the 8250 UART: Debian kernels print there
 * from the first line (virtio_console is a module). */
static void set_console_log(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->console = VC_QEMU_CONSOLE_SERIAL;
    cfg->console_out = VC_QEMU_CONSOLE_OUT_FILE;
}

static void set_console_virtio_log(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->console_out = VC_QEMU_CONSOLE_OUT_FILE;
    cfg->agent = VC_QEMU_AGENT_NONE;
}

static void set_minimal(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->console = VC_QEMU_CONSOLE_NONE;
    cfg->agent = VC_QEMU_AGENT_NONE;
    cfg->rng = false;
    cfg->max_vcpus = 0;
    cfg->max_memory_mb = 0;
    cfg->mem_slots = 0;
}

/* Commas doubled inside QEMU option lists, spaces quoted for the shell, not elsewhere. */
static void set_odd_paths(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->run_dir = RUN_ROOT "odd-paths/a,b c";
    cfg->image = ASSETS "root,fs.img";
    cfg->initrd = NULL;
    cfg->console = VC_QEMU_CONSOLE_SERIAL;
}

static void set_explicit_paths(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->binary = "/usr/bin/qemu-system-x86_64";
    cfg->run_dir = NULL;
    cfg->qmp_path = RUN_ROOT "explicit-paths/mon.sock";
    cfg->console_path = RUN_ROOT "explicit-paths/tty.sock";
    cfg->agent_path = RUN_ROOT "explicit-paths/kata.sock";
    cfg->agent_name = "io.vcsim.agent";
    cfg->pidfile = RUN_ROOT "explicit-paths/qemu.pid";
}

static const struct gcase args_cases[] = {
    {"q35-initrd-serial-tcg", set_q35_initrd_serial_tcg},
    {"q35-vsock-kvm", set_q35_vsock_kvm},
    {"q35-image", set_q35_image},
    {"pc", set_pc},
    {"microvm", set_microvm},
    {"microvm-image-vsock-kvm", set_microvm_image_vsock_kvm},
    {"memory-hotplug", set_memory_hotplug},
    {"no-hotplug", set_no_hotplug},
    {"vcpus", set_vcpus},
    {"root-ports", set_root_ports},
    {"kernel-params", set_kernel_params},
    {"console-log", set_console_log},
    {"console-virtio-log", set_console_virtio_log},
    {"minimal", set_minimal},
    {"odd-paths", set_odd_paths},
    {"explicit-paths", set_explicit_paths},
};

/* --- invalid configs (.err) ------------------------------------------------------------------- */

static void err_vcpus_over_max(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->vcpus = 8;
}

static void err_vcpus_zero(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->vcpus = 0;
}

static void err_max_vcpus_limit(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->max_vcpus = VC_QEMU_MAX_VCPUS + 1;
}

static void err_memory_over_max(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->memory_mb = 4096;
}

static void err_memory_zero(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->memory_mb = 0;
}

static void err_slots_without_maxmem(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->max_memory_mb = 0;
}

static void err_slots_limit(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->mem_slots = VC_QEMU_MAX_MEM_SLOTS + 1;
}

static void err_microvm_cpu_hotplug(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "microvm";
}

static void err_microvm_mem_hotplug(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "microvm";
    cfg->max_vcpus = 0;
}

static void err_root_ports_pc(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "pc";
    cfg->pcie_root_ports = 2;
}

static void err_root_ports_limit(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->pcie_root_ports = VC_QEMU_MAX_ROOT_PORTS + 1;
}

static void err_unknown_machine(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->machine_type = "virt";
}

static void err_unknown_accel(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->accel = VC_QEMU_ACCEL_LAST;
}

static void err_missing_kernel(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->kernel = NULL;
}

static void err_relative_kernel(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->kernel = "boot/vmlinuz";
}

static void err_initrd_and_image(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->image = ASSETS "rootfs.img";
}

static void err_no_initrd_no_image(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->initrd = NULL;
}

static void err_socket_path_too_long(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    (void) snprintf(s, n, RUN_ROOT "%0100d", 7);
    cfg->run_dir = s;
}

static void err_path_too_long(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    memset(s, 'k', n - 1);
    s[0] = '/';
    s[n - 1] = '\0';
    cfg->initrd = s;
}

static void err_no_run_dir(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->run_dir = NULL;
}

static void err_control_char(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->kernel_params = "init=/sbin/init\nroot=/dev/vdb";
}

static void err_cmdline_too_long(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    (void) snprintf(s, n, "x=%02000d", 1);
    cfg->kernel_params = s;
}

static void err_bad_uuid(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->uuid = "6b2c3a1e-5d4f-4c7b-9e8a+0f1d2c3b4a59";
}

static void err_missing_uuid(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->uuid = NULL;
}

static void err_bad_sandbox_id(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->sandbox_id = "a,b";
}

static void err_cid_reserved(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->agent = VC_QEMU_AGENT_VSOCK;
    cfg->vsock_cid = 2;
}

static void err_vhost_fd_stdio(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->agent = VC_QEMU_AGENT_VSOCK;
    cfg->vsock_cid = 3;
    cfg->vhost_fd = 1;
}

static void err_qmp_fd_negative(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->qmp_fd = -2;
}

static void err_agent_name(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->agent_name = "agent,channel";
}

static void err_empty_cpu_model(struct vc_qemu_cmdline_cfg *cfg, char *s, size_t n)
{
    cfg->cpu_model = "";
}

static const struct gcase err_cases[] = {
    {"err-vcpus-over-max", err_vcpus_over_max},
    {"err-vcpus-zero", err_vcpus_zero},
    {"err-max-vcpus-limit", err_max_vcpus_limit},
    {"err-memory-over-max", err_memory_over_max},
    {"err-memory-zero", err_memory_zero},
    {"err-slots-without-maxmem", err_slots_without_maxmem},
    {"err-slots-limit", err_slots_limit},
    {"err-microvm-cpu-hotplug", err_microvm_cpu_hotplug},
    {"err-microvm-mem-hotplug", err_microvm_mem_hotplug},
    {"err-root-ports-pc", err_root_ports_pc},
    {"err-root-ports-limit", err_root_ports_limit},
    {"err-unknown-machine", err_unknown_machine},
    {"err-unknown-accel", err_unknown_accel},
    {"err-missing-kernel", err_missing_kernel},
    {"err-relative-kernel", err_relative_kernel},
    {"err-initrd-and-image", err_initrd_and_image},
    {"err-no-initrd-no-image", err_no_initrd_no_image},
    {"err-socket-path-too-long", err_socket_path_too_long},
    {"err-path-too-long", err_path_too_long},
    {"err-no-run-dir", err_no_run_dir},
    {"err-control-char", err_control_char},
    {"err-cmdline-too-long", err_cmdline_too_long},
    {"err-bad-uuid", err_bad_uuid},
    {"err-missing-uuid", err_missing_uuid},
    {"err-bad-sandbox-id", err_bad_sandbox_id},
    {"err-cid-reserved", err_cid_reserved},
    {"err-vhost-fd-stdio", err_vhost_fd_stdio},
    {"err-qmp-fd-negative", err_qmp_fd_negative},
    {"err-agent-name", err_agent_name},
    {"err-empty-cpu-model", err_empty_cpu_model},
};

/* --- golden files ----------------------------------------------------------------------------- */

static bool regenerate(void)
{
    const char *v = getenv("VC_TEST_REGENERATE");

    return v && *v && strcmp(v, "0") != 0;
}

/* The whole file, NUL-terminated (malloc'd), or NULL if it cannot be read. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, cap = 4096;
    char *buf;

    if (!f)
        return NULL;
    buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
        assert_non_null(buf);
    }
    (void) fclose(f);
    buf[n] = '\0';
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* Compares text with the golden file (or rewrites it); true if they match. */
static bool golden_check(const char *file, const char *text)
{
    char path[512];
    char *want;
    size_t line = 1, i = 0;

    (void) snprintf(path, sizeof(path), "%s/%s", QEMU_GOLDEN_DIR, file);
    if (regenerate()) {
        write_file(path, text);
        return true;
    }
    want = read_file(path);
    if (!want) {
        print_error("%s: missing (run with VC_TEST_REGENERATE=1 to create it)\n", path);
        return false;
    }
    if (strcmp(want, text) == 0) {
        free(want);
        return true;
    }
    while (want[i] && want[i] == text[i])
        line += want[i++] == '\n';
    print_error("%s: differs from line %zu (VC_TEST_REGENERATE=1 rewrites it)\n"
                "--- golden\n%s\n--- built\n%s\n",
                path, line, want, text);
    free(want);
    return false;
}

/* Marks file as used; the list is the test's own (no globals). */
struct used {
    char names[MAX_FILES][128]; /* golden files used */
    size_t n;                   /* number of names */
};

static void used_add(struct used *u, const char *stem, const char *ext)
{
    assert_true(u->n < MAX_FILES);
    (void) snprintf(u->names[u->n++], sizeof(u->names[0]), "%s%s", stem, ext);
}

static bool used_has(const struct used *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->names[i], name) == 0)
            return true;
    return false;
}

/* Fails on any file of the golden directory that no case used (README.md aside). */
static bool golden_all_used(const struct used *u)
{
    DIR *d = opendir(QEMU_GOLDEN_DIR);
    struct dirent *e;
    bool ok = true;

    assert_non_null(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || used_has(u, e->d_name))
            continue;
        print_error("%s/%s: no test uses this file (remove it)\n", QEMU_GOLDEN_DIR, e->d_name);
        ok = false;
    }
    (void) closedir(d);
    return ok;
}

static char *build_render(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg)
{
    char **argv = NULL;
    char *text = NULL;
    int r = vc_qemu_cmdline_build(ctx, cfg, &argv);

    if (r < 0)
        print_error("build failed: %s: %s\n", vc_errno_name(r), vc_ctx_errmsg(ctx));
    assert_int_equal(r, 0);
    assert_int_equal(vc_qemu_argv_render(ctx, argv, VC_QEMU_RENDER_MULTILINE, &text), 0);
    vc_qemu_argv_free(ctx, argv);
    return text;
}

static void test_golden(void **state)
{
    struct vc_ctx *ctx = *state;
    struct used *u = calloc(1, sizeof(*u));
    char run_dir[256], scratch[SCRATCH], file[160];
    struct vc_qemu_cmdline_cfg cfg;
    unsigned bad = 0;

    assert_non_null(u);
    for (size_t i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
        const struct gcase *c = &args_cases[i];
        char *text;

        base(&cfg, c->name, run_dir, sizeof(run_dir));
        c->set(&cfg, scratch, sizeof(scratch));
        text = build_render(ctx, &cfg);
        (void) snprintf(file, sizeof(file), "%s.args", c->name);
        bad += !golden_check(file, text);
        used_add(u, c->name, ".args");
        vc_free(ctx, text);
    }
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct gcase *c = &err_cases[i];
        char **argv = NULL, *text = NULL;
        int r;

        base(&cfg, c->name, run_dir, sizeof(run_dir));
        c->set(&cfg, scratch, sizeof(scratch));
        vc_err_clear(ctx);
        r = vc_qemu_cmdline_build(ctx, &cfg, &argv);
        assert_null(argv);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(vc_qemu_cmdline_validate(ctx, &cfg), -EINVAL);
        text = vc_strdupf(ctx, "%s: %s\n", vc_errno_name(r), vc_ctx_errmsg(ctx));
        assert_non_null(text);
        (void) snprintf(file, sizeof(file), "%s.err", c->name);
        bad += !golden_check(file, text);
        used_add(u, c->name, ".err");
        vc_free(ctx, text);
    }
    used_add(u, "README", ".md");
    bad += !golden_all_used(u);
    free(u);
    assert_int_equal(bad, 0);
}

/* --- rendering -------------------------------------------------------------------------------- */

static void test_render_single_line(void **state)
{
    struct vc_ctx *ctx = *state;
    char *argv[] = {"/bin/qemu", "-a", "x y", "", "it's", "a,b=c:d/e@f%g+h", "$HOME", NULL};
    char *s = NULL;

    assert_int_equal(vc_qemu_argv_render(ctx, argv, 0, &s), 0);
    assert_string_equal(s, "/bin/qemu -a 'x y' '' 'it'\\''s' a,b=c:d/e@f%g+h '$HOME'");
    vc_free(ctx, s);
    assert_int_equal(vc_qemu_argv_render(ctx, argv, VC_QEMU_RENDER_MULTILINE, &s), 0);
    assert_string_equal(s, "/bin/qemu \\\n-a 'x y' '' 'it'\\''s' a,b=c:d/e@f%g+h '$HOME'\n");
    vc_free(ctx, s);
    assert_int_equal(vc_qemu_argv_render(ctx, NULL, 0, &s), -EINVAL);
}

/* Both renderings, run by /bin/sh as `printf '%s\n' <rendering>`, give back the argv. */
static void test_render_shell_roundtrip(void **state)
{
    struct vc_ctx *ctx = *state;
    char *argv[] = {"printf", "[%s]\\n", "-x", "two words", "",  "'",     "a'b\"c",
                    "\\",     "`id`",    "-y", "*",         "~", "$(id)", NULL};
    const char *want = "[-x]\n[two words]\n[]\n[']\n[a'b\"c]\n[\\]\n[`id`]\n[-y]\n[*]\n[~]\n"
                       "[$(id)]\n";
    unsigned flags[] = {0, VC_QEMU_RENDER_MULTILINE};

    for (size_t i = 0; i < 2; i++) {
        char *s = NULL, *out;
        FILE *f;
        size_t n;

        assert_int_equal(vc_qemu_argv_render(ctx, argv, flags[i], &s), 0);
        f = popen(s, "r");
        assert_non_null(f);
        out = calloc(1, 1024);
        assert_non_null(out);
        n = fread(out, 1, 1023, f);
        assert_int_equal(pclose(f), 0);
        out[n] = '\0';
        assert_string_equal(out, want);
        free(out);
        vc_free(ctx, s);
    }
}

/* --- paths, kernel command line, config from vc_hv_config --------------------------------------
 */

static void test_paths(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_qemu_cmdline_cfg cfg;
    char run_dir[256], *p = NULL;

    base(&cfg, "paths", run_dir, sizeof(run_dir));
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_QMP, &p), 0);
    assert_string_equal(p, RUN_ROOT "paths/" VC_QEMU_QMP_SOCK);
    vc_free(ctx, p);
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_CONSOLE, &p), 0);
    assert_string_equal(p, RUN_ROOT "paths/" VC_QEMU_CONSOLE_SOCK);
    vc_free(ctx, p);
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_AGENT, &p), 0);
    assert_string_equal(p, RUN_ROOT "paths/" VC_QEMU_AGENT_SOCK);
    vc_free(ctx, p);
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_PIDFILE, &p), 0);
    assert_string_equal(p, RUN_ROOT "paths/" VC_QEMU_PIDFILE);
    vc_free(ctx, p);

    cfg.console_out = VC_QEMU_CONSOLE_OUT_FILE;
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_CONSOLE, &p), 0);
    assert_string_equal(p, RUN_ROOT "paths/" VC_QEMU_CONSOLE_LOG);
    vc_free(ctx, p);

    /* The fd form still names where the listener belongs; unused kinds are -ENOENT. */
    cfg.qmp_fd = 3;
    cfg.qmp_path = "/tmp/q.sock";
    cfg.console = VC_QEMU_CONSOLE_NONE;
    cfg.agent = VC_QEMU_AGENT_VSOCK;
    cfg.vsock_cid = 3;
    p = NULL;
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_QMP, &p), 0);
    assert_string_equal(p, "/tmp/q.sock");
    vc_free(ctx, p);
    p = NULL;
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_CONSOLE, &p), -ENOENT);
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_AGENT, &p), -ENOENT);
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_LAST, &p), -EINVAL);
    assert_null(p);
    cfg.qmp_path = "relative.sock";
    assert_int_equal(vc_qemu_cmdline_path(ctx, &cfg, VC_QEMU_PATH_PIDFILE, &p), -EINVAL);
    assert_null(p);
}

/* The -append argument is exactly what vc_qemu_cmdline_kernel_params returns. */
static void test_kernel_params(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_qemu_cmdline_cfg cfg;
    char run_dir[256], scratch[SCRATCH], **argv = NULL, *params = NULL;
    size_t i;

    base(&cfg, "kp", run_dir, sizeof(run_dir));
    set_microvm(&cfg, scratch, sizeof(scratch));
    cfg.kernel_params = "foo=bar";
    assert_int_equal(vc_qemu_cmdline_kernel_params(ctx, &cfg, &params), 0);
    assert_string_equal(params,
                        "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 "
                        "i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=t "
                        "cryptomgr.notests net.ifnames=0 pci=off console=ttyS0 quiet panic=1 "
                        "nr_cpus=2 foo=bar");
    assert_int_equal(vc_qemu_cmdline_build(ctx, &cfg, &argv), 0);
    for (i = 0; argv[i] && strcmp(argv[i], "-append") != 0; i++)
        ;
    assert_non_null(argv[i]);
    assert_string_equal(argv[i + 1], params);
    vc_qemu_argv_free(ctx, argv);
    vc_free(ctx, params);

    /* The longest command line passes, one byte more does not. */
    cfg.kernel_params = NULL;
    assert_int_equal(vc_qemu_cmdline_kernel_params(ctx, &cfg, &params), 0);
    i = VC_QEMU_APPEND_MAX - strlen(params) - 1;
    vc_free(ctx, params);
    memset(scratch, 'x', i);
    scratch[i] = '\0';
    cfg.kernel_params = scratch;
    assert_int_equal(vc_qemu_cmdline_kernel_params(ctx, &cfg, &params), 0);
    assert_int_equal(strlen(params), VC_QEMU_APPEND_MAX);
    vc_free(ctx, params);
    scratch[i] = 'x';
    scratch[i + 1] = '\0';
    params = NULL;
    assert_int_equal(vc_qemu_cmdline_kernel_params(ctx, &cfg, &params), -EINVAL);
    assert_null(params);
}

static void test_cfg_from_hv(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_hv_config hv = {
        .kind = "qemu",
        .path = "/opt/qemu/bin/qemu-system-x86_64",
        .vcpus = 2,
        .max_vcpus = 0,
        .memory_mb = 512,
        .max_memory_mb = 1024,
        .mem_slots = 2,
        .kernel = "/boot/vmlinuz",
        .initrd = "/boot/initrd.img",
        .kernel_params = "agent.log=debug",
        .machine_type = NULL,
    };
    struct vc_qemu_cmdline_cfg cfg;
    char **argv = NULL, *text = NULL;

    vc_qemu_cmdline_cfg_init(&cfg, &hv);
    assert_ptr_equal(cfg.binary, hv.path);
    assert_ptr_equal(cfg.kernel, hv.kernel);
    assert_int_equal(cfg.accel, VC_QEMU_ACCEL_KVM);
    assert_int_equal(cfg.agent, VC_QEMU_AGENT_VSOCK);
    assert_int_equal(cfg.qmp_fd, -1);
    assert_int_equal(cfg.vhost_fd, -1);
    assert_true(cfg.rng);
    cfg.sandbox_id = "sb1";
    cfg.uuid = UUID;
    cfg.run_dir = "/run/vc/vm/sb1";
    /* vsock_cid is a run-time fact: left 0 the config is refused. */
    assert_int_equal(vc_qemu_cmdline_build(ctx, &cfg, &argv), -EINVAL);
    assert_null(argv);
    cfg.vsock_cid = 3;
    assert_int_equal(vc_qemu_cmdline_build(ctx, &cfg, &argv), 0);
    assert_int_equal(vc_qemu_argv_render(ctx, argv, 0, &text), 0);
    assert_non_null(strstr(text, "/opt/qemu/bin/qemu-system-x86_64 -name sandbox-sb1 -uuid "));
    assert_non_null(strstr(text, " -machine q35,accel=kvm,kernel_irqchip=on -cpu host,pmu=off "));
    assert_non_null(strstr(text, " -m 512M,slots=2,maxmem=1024M "));
    assert_non_null(strstr(text, " -device vhost-vsock-pci,id=vsock-3,guest-cid=3 "));
    assert_non_null(strstr(text, " nr_cpus=2 agent.log=debug' "));
    assert_non_null(strstr(text, " -smp 2,cores=1,threads=1,sockets=2,maxcpus=2"));
    vc_free(ctx, text);
    vc_qemu_argv_free(ctx, argv);
    vc_qemu_argv_free(ctx, NULL);
}

static void test_machine_names(void **state)
{
    (void) state;
    assert_int_equal(vc_qemu_machine_from_string(NULL), VC_QEMU_MACHINE_Q35);
    assert_int_equal(vc_qemu_machine_from_string("pc"), VC_QEMU_MACHINE_PC);
    assert_int_equal(vc_qemu_machine_from_string("microvm"), VC_QEMU_MACHINE_MICROVM);
    assert_int_equal(vc_qemu_machine_from_string("Q35"), -1);
    assert_string_equal(vc_qemu_machine_to_string(VC_QEMU_MACHINE_Q35), "q35");
    assert_null(vc_qemu_machine_to_string(VC_QEMU_MACHINE_LAST));
}

/* --- allocation failures ---------------------------------------------------------------------- */

struct nth {
    unsigned fail_at; /* the hit of "alloc" to fail (1-based), 0: none */
    unsigned hits;    /* hits so far */
};

static int nth_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct nth *f = data;

    (void) ctx;
    if (strcmp(point, "alloc") != 0)
        return 0;
    return ++f->hits == f->fail_at ? -ENOMEM : 0;
}

/* Fails every allocation of a build of the richest config in turn: each fails cleanly with
 * -ENOMEM and nothing leaks (ASan); then the build succeeds and matches the unfaulted one. */
static void test_alloc_failures(void **state)
{
    struct vc_ctx *ctx = *state;
    struct vc_qemu_cmdline_cfg cfg;
    char run_dir[256], scratch[SCRATCH], *want, *got = NULL;
    struct nth f = {0};
    unsigned k;

    base(&cfg, "alloc", run_dir, sizeof(run_dir));
    set_odd_paths(&cfg, scratch, sizeof(scratch));
    cfg.pcie_root_ports = 3;
    cfg.kernel_params = "a=b";
    want = build_render(ctx, &cfg);
    vc_ctx_set_fault(ctx, nth_fault, &f);
    for (k = 1;; k++) {
        char **argv = NULL;
        int r;

        f = (struct nth){.fail_at = k};
        r = vc_qemu_cmdline_build(ctx, &cfg, &argv);
        if (r == 0) {
            f.fail_at = 0;
            assert_int_equal(vc_qemu_argv_render(ctx, argv, VC_QEMU_RENDER_MULTILINE, &got), 0);
            vc_qemu_argv_free(ctx, argv);
            break;
        }
        assert_int_equal(r, -ENOMEM);
        assert_null(argv);
        assert_true(k < 10000);
    }
    vc_ctx_set_fault(ctx, NULL, NULL);
    assert_true(k > 20);
    assert_string_equal(got, want);
    vc_free(ctx, got);
    vc_free(ctx, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_single_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_shell_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cfg_from_hv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_machine_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
