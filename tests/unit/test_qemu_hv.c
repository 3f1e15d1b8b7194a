/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the QEMU backend without QEMU: its saved state (round trip, and every check a
 * tampered document must fail), QEMU id rules, the guest CID search, the launcher (a detached
 * process found by its pid file, killed, waited for), and the hv members' rules on a VM that is
 * created but never started: state checks, endpoints, reattach, a run directory claimed by a
 * live VM, a launch that cannot exec, cleanup. A real context rooted in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/qemu.h>
#include <vc/types.h>
#include <vc/vc.h>

#include "hvstate.h"
#include "launcher.h"

#define SEC UINT64_C(1000000000)

struct fixture {
    char root[64];           /* the context's root */
    char dir[128];           /* <root>/vm/sb: the VM's run directory */
    struct vc_ctx *ctx;      /* real context on root */
    struct vc_hv_backend be; /* "qemu" */
    struct vc_hv_config cfg; /* 1 of 2 vCPUs, 256 of 512 MiB, 2 slots; files that need not exist */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    strcpy(f->root, "/tmp/vcqu-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->dir, sizeof(f->dir), "%s/vm/sb", f->root);
    assert_int_equal(setenv("VC_QEMU_AGENT", "serial", 1), 0);
    assert_int_equal(setenv("VC_QEMU_ACCEL", "tcg", 1), 0);
    assert_int_equal(unsetenv("VC_QEMU_ROOT_PORTS"), 0);
    assert_int_equal(vc_ctx_new_real(f->root, &f->ctx), 0);
    assert_int_equal(vc_ctx_hv_backend(f->ctx, "qemu", &f->be), 0);
    f->cfg = (struct vc_hv_config){.kind = "qemu",
                                   .path = "/nonexistent/qemu-system-x86_64",
                                   .vcpus = 1,
                                   .max_vcpus = 2,
                                   .memory_mb = 256,
                                   .max_memory_mb = 512,
                                   .mem_slots = 2,
                                   .kernel = "/nonexistent/vmlinuz",
                                   .initrd = "/nonexistent/initrd.img"};
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    vc_ctx_free(f->ctx);
    (void) nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* --- saved state ------------------------------------------------------------------------------ */

static void test_state_roundtrip(void **state)
{
    struct vc_ctx *ctx = ((struct fixture *) *state)->ctx;
    uint32_t cpu_ids[] = {0, 1};
    struct vc_qemu_dimm dimms[] = {{0, 128, UINT64_C(0x100000000)}, {1, 256, 0}};
    struct vc_qemu_blockdev blocks[] = {{"blk0", "vcblk0", 0}, {"disk.x", "vcblk1", -1}};
    struct vc_qemu_hvstate st = {
        .version = VC_QEMU_STATE_VERSION,
        .vm_state = "paused",
        .crashed = true,
        .pid = 4242,
        .run_dir = "/run/vc/vm/sb",
        .accel = "tcg",
        .agent = "vsock",
        .cid = 1234567,
        .cpu_model = "max",
        .root_ports = 2,
        .debug = true,
        .vcpus = 3,
        .cpu_ids = cpu_ids,
        .n_cpu_ids = 2,
        .cpu_next = 2,
        .memory_mb = 640,
        .dimms = dimms,
        .n_dimms = 2,
        .blocks = blocks,
        .n_blocks = 2,
        .block_next = 2,
    };
    struct vc_qemu_hvstate back = {0};
    char *text = NULL, *again = NULL;

    assert_int_equal(vc_qemu_hvstate_to_json(ctx, &st, &text), 0);
    assert_int_equal(vc_qemu_hvstate_from_json(ctx, text, &back), 0);
    assert_string_equal(back.vm_state, "paused");
    assert_true(back.crashed);
    assert_int_equal(back.pid, 4242);
    assert_string_equal(back.run_dir, "/run/vc/vm/sb");
    assert_string_equal(back.accel, "tcg");
    assert_string_equal(back.agent, "vsock");
    assert_int_equal(back.cid, 1234567);
    assert_string_equal(back.cpu_model, "max");
    assert_int_equal(back.root_ports, 2);
    assert_true(back.debug);
    assert_int_equal(back.n_cpu_ids, 2);
    assert_int_equal(back.cpu_ids[1], 1);
    assert_int_equal(back.cpu_next, 2);
    assert_int_equal(back.memory_mb, 640);
    assert_int_equal(back.n_dimms, 2);
    assert_int_equal(back.dimms[0].addr, UINT64_C(0x100000000));
    assert_int_equal(back.dimms[1].size_mb, 256);
    assert_int_equal(back.n_blocks, 2);
    assert_string_equal(back.blocks[1].id, "disk.x");
    assert_int_equal(back.blocks[1].port, -1);
    assert_int_equal(vc_qemu_hvstate_to_json(ctx, &back, &again), 0);
    assert_string_equal(text, again);
    vc_qemu_hvstate_clear(ctx, &back);
    vc_qemu_hvstate_clear(ctx, NULL);
    vc_free(ctx, text);
    vc_free(ctx, again);
}

#define GOOD_HEAD "{\"version\":1,\"vm_state\":\"running\",\"pid\":7,\"run_dir\":\"/r/vm/sb\","
#define GOOD_TAIL "\"accel\":\"kvm\",\"agent\":\"serial\"}"

static void test_state_rejects(void **state)
{
    struct vc_ctx *ctx = ((struct fixture *) *state)->ctx;
    static const char *const bad[] = {
        "",
        "[1]",
        "{\"version\":1",
        "{\"version\":2,\"vm_state\":\"running\",\"pid\":7,\"run_dir\":\"/r\"," GOOD_TAIL,
        "{\"version\":1,\"vm_state\":\"zombie\",\"pid\":7,\"run_dir\":\"/r\"," GOOD_TAIL,
        "{\"version\":1,\"vm_state\":\"running\",\"pid\":7,\"run_dir\":\"r\"," GOOD_TAIL,
        "{\"version\":1,\"vm_state\":\"running\",\"pid\":-7,\"run_dir\":\"/r\"," GOOD_TAIL,
        "{\"version\":1,\"vm_state\":\"running\",\"pid\":7," GOOD_TAIL,
        GOOD_HEAD "\"accel\":\"hvf\",\"agent\":\"serial\"}",
        GOOD_HEAD "\"accel\":\"kvm\",\"agent\":\"pigeon\"}",
        GOOD_HEAD "\"cid\":2," GOOD_TAIL,
        GOOD_HEAD "\"cid\":4294967295," GOOD_TAIL,
        GOOD_HEAD "\"root_ports\":17," GOOD_TAIL,
        GOOD_HEAD "\"vcpus\":241," GOOD_TAIL,
        GOOD_HEAD "\"cpu_model\":\"\"," GOOD_TAIL,
        GOOD_HEAD "\"blocks\":[{\"id\":\"0blk\",\"node\":\"vcblk0\",\"port\":0}]," GOOD_TAIL,
        GOOD_HEAD "\"blocks\":[{\"id\":\"blk\",\"node\":\"vc blk\",\"port\":0}]," GOOD_TAIL,
        GOOD_HEAD "\"blocks\":[{\"id\":\"blk\",\"node\":\"vcblk0\",\"port\":16}]," GOOD_TAIL,
        GOOD_HEAD "\"blocks\":[{\"id\":\"blk\",\"node\":\"vcblk0\",\"port\":-2}]," GOOD_TAIL,
        GOOD_HEAD "\"dimms\":[{\"slot\":0,\"size_mb\":0}]," GOOD_TAIL,
        GOOD_HEAD "\"dimms\":[{\"slot\":256,\"size_mb\":128}]," GOOD_TAIL,
        GOOD_HEAD "\"pid\":\"7\"," GOOD_TAIL,
    };
    struct vc_qemu_hvstate st = {0};
    char *big;

    assert_int_equal(vc_qemu_hvstate_from_json(ctx, GOOD_HEAD GOOD_TAIL, &st), 0);
    vc_qemu_hvstate_clear(ctx, &st);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = vc_qemu_hvstate_from_json(ctx, bad[i], &st);
        if (r != -EINVAL)
            fail_msg("state %zu '%s': %d (%s)", i, bad[i], r, vc_ctx_errmsg(ctx));
        assert_null(st.vm_state);
        assert_null(st.run_dir);
    }
    assert_int_equal(vc_qemu_hvstate_from_json(ctx, NULL, &st), -EINVAL);
    /* Over the size limit, whatever it holds. */
    big = malloc(VC_QEMU_STATE_MAX + 16);
    assert_non_null(big);
    memset(big, ' ', VC_QEMU_STATE_MAX + 15);
    big[VC_QEMU_STATE_MAX + 15] = '\0';
    assert_int_equal(vc_qemu_hvstate_from_json(ctx, big, &st), -EINVAL);
    free(big);
}

static void test_id_ok(void **state)
{
    char longid[VC_QEMU_ID_MAX + 2];

    assert_true(vc_qemu_id_ok("blk0"));
    assert_true(vc_qemu_id_ok("a.b-c_d"));
    assert_false(vc_qemu_id_ok(NULL));
    assert_false(vc_qemu_id_ok(""));
    assert_false(vc_qemu_id_ok("0blk"));
    assert_false(vc_qemu_id_ok("_blk"));
    assert_false(vc_qemu_id_ok("blk+1"));
    assert_false(vc_qemu_id_ok("blk 1"));
    memset(longid, 'a', sizeof(longid) - 1);
    longid[VC_QEMU_ID_MAX] = '\0';
    assert_true(vc_qemu_id_ok(longid));
    longid[VC_QEMU_ID_MAX] = 'a';
    longid[VC_QEMU_ID_MAX + 1] = '\0';
    assert_false(vc_qemu_id_ok(longid));
}

/* --- CID search ------------------------------------------------------------------------------- */

struct cid_world {
    uint32_t free_lo; /* CIDs in [free_lo, free_hi] are free, the others taken */
    uint32_t free_hi; /* ditto */
    int err;          /* when not 0, every probe fails with it */
    unsigned probes;  /* probes made */
};

static int cid_probe(void *data, uint32_t cid)
{
    struct cid_world *w = data;

    w->probes++;
    if (cid < VC_QEMU_CID_MIN || cid > VC_QEMU_CID_MAX)
        fail_msg("probed reserved cid %u", cid);
    if (w->err)
        return w->err;
    return cid >= w->free_lo && cid <= w->free_hi ? 0 : -EADDRINUSE;
}

static void test_cid_search(void **state)
{
    struct cid_world w = {.free_lo = 100, .free_hi = 200};
    uint32_t cid = 0;

    assert_int_equal(vc_qemu_cid_search(150, cid_probe, &w, &cid), 0);
    assert_int_equal(cid, 150);
    assert_int_equal(w.probes, 1);
    /* Upward first. */
    w.probes = 0;
    assert_int_equal(vc_qemu_cid_search(90, cid_probe, &w, &cid), 0);
    assert_int_equal(cid, 100);
    assert_int_equal(w.probes, 11);
    /* Nothing free above: then downward from start - 1. */
    w = (struct cid_world){.free_lo = 5, .free_hi = 10};
    assert_int_equal(vc_qemu_cid_search(20, cid_probe, &w, &cid), 0);
    assert_int_equal(cid, 10);
    /* The top of the range ends the upward walk without wrapping to 0, 1 or 2. */
    w = (struct cid_world){.free_lo = VC_QEMU_CID_MAX - 3, .free_hi = VC_QEMU_CID_MAX - 3};
    assert_int_equal(vc_qemu_cid_search(UINT32_MAX, cid_probe, &w, &cid), 0);
    assert_int_equal(cid, VC_QEMU_CID_MAX - 3);
    /* Starts below the first usable CID are clamped. */
    w = (struct cid_world){.free_lo = 3, .free_hi = 3};
    assert_int_equal(vc_qemu_cid_search(0, cid_probe, &w, &cid), 0);
    assert_int_equal(cid, 3);
    /* Another error stops the search at once. */
    w = (struct cid_world){.err = -EPERM};
    assert_int_equal(vc_qemu_cid_search(50, cid_probe, &w, &cid), -EPERM);
    assert_int_equal(w.probes, 1);
    /* All taken: bounded. */
    w = (struct cid_world){.free_lo = 1, .free_hi = 0};
    cid = 77;
    assert_int_equal(vc_qemu_cid_search(1000000, cid_probe, &w, &cid), -EADDRNOTAVAIL);
    assert_int_equal(w.probes, 2 * VC_QEMU_CID_TRIES);
    assert_int_equal(cid, 77);
}

/* --- launcher --------------------------------------------------------------------------------- */

static void test_launcher_helpers(void **state)
{
    struct fixture *f = *state;
    char path[160], tail[16], uuid[37];
    pid_t pid = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/pidfile", f->root);
    assert_int_equal(vc_qemu_pidfile_read(path, &pid), -ENOENT);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1234\n", 5), 5);
    close(fd);
    assert_int_equal(vc_qemu_pidfile_read(path, &pid), 0);
    assert_int_equal(pid, 1234);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "12x4", 4), 4);
    close(fd);
    assert_int_equal(vc_qemu_pidfile_read(path, &pid), -EINVAL);

    snprintf(path, sizeof(path), "%s/log", f->root);
    vc_qemu_log_tail(path, tail, sizeof(tail));
    assert_string_equal(tail, "");
    vc_qemu_log_append(path, "first line that is long");
    vc_qemu_log_append(path, "err:\tbad");
    vc_qemu_log_tail(path, tail, sizeof(tail));
    assert_string_equal(tail, "err: bad");

    vc_qemu_uuid(f->ctx, uuid);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');
    assert_true(strchr("89ab", uuid[19]) != NULL);
    assert_false(vc_qemu_pid_alive(f->ctx, 0, "x"));
    assert_false(vc_qemu_pid_alive(f->ctx, getpid(), "no-such-argument"));
}

/* A stand-in for QEMU: a shell whose command line holds marker, launched detached. */
static pid_t fake_vm(struct fixture *f, const char *marker)
{
    char log[160];
    char *argv[] = {"/bin/sh", "-c", "sleep 60; true", "fake-qemu", (char *) marker, NULL};
    pid_t pid = 0;

    snprintf(log, sizeof(log), "%s/fake.log", f->root);
    assert_int_equal(vc_qemu_spawn(f->ctx, argv, NULL, 0, log, &pid), 0);
    return pid;
}

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    p = strrchr(buf, ')');
    return p ? (pid_t) atoi(p + 4) : -1;
}

static void test_spawn_detached(void **state)
{
    struct fixture *f = *state;
    char marker[160], log[160];
    char *bad[] = {"/nonexistent/qemu", NULL};
    pid_t pid;

    snprintf(marker, sizeof(marker), "%s/marker", f->root);
    pid = fake_vm(f, marker);
    assert_true(pid > 0);
    /* The kernel sets an exec'd process's command line a moment after the close-on-exec pipe
     * that vc_qemu_spawn waits on closes: give it that moment (5 s at most). */
    for (uint64_t end = vc_now(f->ctx) + 5 * SEC;
         !vc_qemu_pid_alive(f->ctx, pid, marker) && vc_now(f->ctx) < end;)
        (void) vc_ctx_sleep_until(f->ctx, vc_now(f->ctx) + SEC / 100);
    assert_true(vc_qemu_pid_alive(f->ctx, pid, marker));
    assert_false(vc_qemu_pid_alive(f->ctx, pid, "/other"));
    /* Not this process's child: it outlives whoever started it. */
    assert_int_not_equal(parent_of(pid), getpid());
    assert_int_equal(vc_qemu_pid_wait_exit(f->ctx, pid, marker, SEC / 20), -ETIMEDOUT);
    assert_int_equal(vc_qemu_pid_kill(f->ctx, pid, marker, 10 * SEC), 0);
    assert_false(vc_qemu_pid_alive(f->ctx, pid, marker));
    assert_int_equal(vc_qemu_pid_kill(f->ctx, pid, marker, SEC), 0);

    snprintf(log, sizeof(log), "%s/bad.log", f->root);
    assert_int_equal(vc_qemu_spawn(f->ctx, bad, NULL, 0, log, &pid), -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "cannot execute '/nonexistent/qemu'"));
    assert_int_equal(vc_qemu_spawn(f->ctx, NULL, NULL, 0, log, &pid), -EINVAL);
}

/* --- the hv members on a VM that never starts ------------------------------------------------- */

static void test_created_vm(void **state)
{
    struct fixture *f = *state;
    struct vc_device cpu = {.type = VC_DEVICE_CPU, .cpus = 1};
    struct vc_hv *hv = NULL, *hv2 = NULL;
    struct vc_vm_info info;
    char *s = NULL, *st = NULL, want[256];
    int32_t *pids = NULL;
    size_t n = 0;
    uint32_t caps = 0, mb = 0, old = 0, now = 0;
    struct stat sb;

    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), 0);
    assert_int_equal(stat(f->dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv2), 0); /* no VM runs */
    vc_hv_free(hv2);
    hv2 = NULL;

    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_pause(hv), -EINVAL);
    assert_int_equal(vc_hv_resume(hv), -EINVAL);
    assert_int_equal(vc_hv_hotplug_add(hv, &cpu), -EINVAL);
    assert_int_equal(vc_hv_hotplug_remove(hv, &cpu), -EINVAL);
    assert_int_equal(vc_hv_hotplug_add(hv, NULL), -EINVAL);
    assert_int_equal(vc_hv_resize_memory(hv, 384, 128, false, &mb, NULL), -EINVAL);
    assert_int_equal(vc_hv_resize_vcpus(hv, 2, &old, &now), -EINVAL);
    assert_int_equal(vc_hv_resize_vcpus(hv, 0, &old, &now), -EINVAL);
    assert_int_equal(vc_hv_save(hv), -EOPNOTSUPP);
    assert_int_equal(vc_hv_pids(hv, &pids, &n), -ESRCH);
    assert_int_equal(vc_hv_capabilities(hv, &caps), 0);
    assert_int_equal(caps, VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG);
    assert_int_equal(vc_hv_agent_endpoint(hv, &s), 0);
    snprintf(want, sizeof(want), "serial://%s/agent.sock", f->dir);
    assert_string_equal(s, want);
    vc_free(f->ctx, s);
    assert_int_equal(vc_hv_console(hv, &s), 0);
    snprintf(want, sizeof(want), "file://%s/console.log", f->dir);
    assert_string_equal(s, want);
    vc_free(f->ctx, s);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_CREATED);
    assert_int_equal(info.vcpus, 1);
    assert_int_equal(info.memory_mb, 256);
    assert_int_equal(info.pid, 0);

    /* Reattach through the state, as another process does. */
    assert_int_equal(vc_hv_save_state(hv, &st), 0);
    assert_non_null(strstr(st, "\"vm_state\":\"created\""));
    assert_non_null(strstr(st, "\"accel\":\"tcg\""));
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", &f->cfg, st, &hv2), 0);
    assert_int_equal(vc_hv_query(hv2, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_CREATED);
    vc_hv_free(hv2);
    hv2 = NULL;
    /* The state only ever names this sandbox's run directory. */
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "other", &f->cfg, st, &hv2), -EINVAL);
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", &f->cfg, "{}", &hv2), -EINVAL);
    /* Without a state (a create cut short before saving one) the run directory is found by
     * the sandbox id; no QEMU runs from it, so it reads as created, and only the config can
     * rebuild the rest. */
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", NULL, NULL, &hv2), -EINVAL);
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", &f->cfg, NULL, &hv2), 0);
    assert_int_equal(vc_hv_query(hv2, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_CREATED);
    assert_int_equal(info.pid, 0);
    vc_hv_free(hv2);
    hv2 = NULL;
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "other", &f->cfg, NULL, &hv2), -ESRCH);

    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_STOPPED);
    assert_int_equal(vc_hv_start(hv, 1000), -EINVAL);
    assert_int_equal(vc_hv_check(hv), 0);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_false(exists(f->dir));
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", &f->cfg, st, &hv2), -ESRCH);
    assert_int_equal(vc_hv_load(f->ctx, &f->be, "sb", &f->cfg, NULL, &hv2), -ESRCH);
    vc_free(f->ctx, st);
    vc_hv_free(hv);
}

static void test_create_invalid(void **state)
{
    struct fixture *f = *state;
    struct vc_hv_config cfg = f->cfg;
    struct vc_hv *hv = NULL;
    char longid[VC_ID_MAX + 1];

    assert_int_equal(vc_hv_create(f->ctx, &f->be, "../x", &cfg, &hv), -EINVAL);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", NULL, &hv), -EINVAL);
    cfg.max_vcpus = 0;
    cfg.vcpus = 2;
    cfg.max_vcpus = 1;
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &cfg, &hv), -EINVAL);
    cfg = f->cfg;
    cfg.machine_type = "microvm";
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &cfg, &hv), -EINVAL);
    cfg.machine_type = "virt";
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &cfg, &hv), -EINVAL);
    cfg = f->cfg;
    cfg.kernel = "relative/vmlinuz";
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &cfg, &hv), -EINVAL);
    assert_int_equal(setenv("VC_QEMU_ACCEL", "hvf", 1), 0);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), -EINVAL);
    assert_int_equal(setenv("VC_QEMU_ACCEL", "tcg", 1), 0);
    assert_int_equal(setenv("VC_QEMU_ROOT_PORTS", "17", 1), 0);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), -EINVAL);
    assert_int_equal(setenv("VC_QEMU_ROOT_PORTS", "4x", 1), 0);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), -EINVAL);
    assert_int_equal(unsetenv("VC_QEMU_ROOT_PORTS"), 0);
    assert_int_equal(setenv("VC_QEMU_AGENT", "pigeon", 1), 0);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), -EINVAL);
    assert_int_equal(setenv("VC_QEMU_AGENT", "serial", 1), 0);
    /* Sockets in the run dir must fit a sockaddr_un. */
    memset(longid, 'a', VC_ID_MAX);
    longid[VC_ID_MAX] = '\0';
    assert_int_equal(vc_hv_create(f->ctx, &f->be, longid, &f->cfg, &hv), -ENAMETOOLONG);
    assert_null(hv);
    assert_false(exists(f->dir));
}

/* A run directory whose pid file names a live VM is taken; once it is gone, it is reused. */
static void test_create_exists(void **state)
{
    struct fixture *f = *state;
    struct vc_hv *hv = NULL;
    char pidfile[160], text[32];
    pid_t pid;
    int fd;

    assert_int_equal(vc_qemu_run_dir_make(f->ctx, f->dir), 0);
    snprintf(pidfile, sizeof(pidfile), "%s/pid", f->dir);
    pid = fake_vm(f, pidfile);
    fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    snprintf(text, sizeof(text), "%d\n", (int) pid);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), -EEXIST);
    assert_true(exists(pidfile));
    assert_int_equal(vc_qemu_pid_kill(f->ctx, pid, pidfile, 10 * SEC), 0);
    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), 0);
    assert_false(exists(pidfile)); /* the stale files went */
    vc_hv_free(hv);
}

/* A start that cannot exec QEMU fails cleanly and leaves a stopped VM to clean up. */
static void test_start_fails(void **state)
{
    struct fixture *f = *state;
    struct vc_hv *hv = NULL;
    struct vc_vm_info info;
    char path[200];

    assert_int_equal(vc_hv_create(f->ctx, &f->be, "sb", &f->cfg, &hv), 0);
    assert_int_equal(vc_hv_start(hv, 5000), -ENOENT);
    assert_non_null(strstr(vc_ctx_errmsg(f->ctx), "cannot execute"));
    assert_int_equal(vc_hv_query(hv, &info), 0);
    assert_int_equal(info.state, VC_VM_STATE_STOPPED);
    assert_int_equal(vc_hv_check(hv), 0);
    snprintf(path, sizeof(path), "%s/qmp.sock", f->dir);
    assert_false(exists(path));
    snprintf(path, sizeof(path), "%s/qemu.log", f->dir);
    assert_true(exists(path)); /* the command line, for a look */
    assert_int_equal(vc_hv_stop(hv, false), 0);
    assert_int_equal(vc_hv_cleanup(hv), 0);
    assert_false(exists(f->dir));
    vc_hv_free(hv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_roundtrip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_state_rejects, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_id_ok),
        cmocka_unit_test(test_cid_search),
        cmocka_unit_test_setup_teardown(test_launcher_helpers, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_detached, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_created_vm, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_invalid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_exists, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_start_fails, fixture_setup, fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
