/* SPDX-License-Identifier: Apache-2.0 */
/* The "qemu" hypervisor (vc/qemu.h): every member of struct vc_hv_ops over a real QEMU that the
 * launcher starts detached and QMP drives. A handle holds the recorded state (hvstate.h) and a
 * QMP connection made on first use, so any process can load the state and carry on. The rules
 * are simhv's: what may be done in which VM state, and which errno says what. Host contact goes
 * through launcher.c; waits run on the context's loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/log.h>
#include <vc/qemu.h>
#include <vc/stream.h>
#include <vc/types.h>
#include <vc/vc.h>

#include "cleanup.h"
#include "cmdline.h"
#include "hvstate.h"
#include "launcher.h"
#include "qmp.h"
#include "schema.h"

#define VC_LOG_TOPIC "qemu"

#define MS_NS          1000000ull
#define QMP_FD         3     /* the QMP listener's number in QEMU */
#define VHOST_FD       4     /* the vhost-vsock fd's number in QEMU */
#define CONNECT_MS     2000u /* reconnecting to QMP of a VM that should be up */
#define LOG_TAIL_MAX   VC_QEMU_LOG_TAIL
#define UNPLUG_POLL_NS (100 * MS_NS) /* CPU hot-remove: how often QEMU is asked */

#define QH_EVENT_OST      "ACPI_DEVICE_OST" /* the guest's _OST answer to a hotplug */
#define QH_OST_TIMEOUT_MS 5000u             /* how long a hot-add waits for it */

struct qemu_hv {
    struct vc_hv base;             /* first member: what core sees */
    char *sandbox_id;              /* the sandbox (ctx allocator) */
    struct vc_hv_config cfg;       /* the VM's config (a copy) */
    struct vc_qemu_hvstate st;     /* what save_state records */
    char *path[VC_QEMU_PATH_LAST]; /* QMP, console, agent and pid file paths in the run dir */
    char *log_path;                /* QEMU's stdout and stderr */
    struct vc_qmp *qmp;            /* QMP connection, made on first use; NULL when none */
};

static struct qemu_hv *hv_of(struct vc_hv *hv)
{
    return VC_CONTAINER_OF(hv, struct qemu_hv, base);
}

/* --- VM states -------------------------------------------------------------------------------- */

static const char *const vm_state_names[VC_VM_STATE_LAST] = {
    [VC_VM_STATE_CREATED] = "created",
    [VC_VM_STATE_RUNNING] = "running",
    [VC_VM_STATE_PAUSED] = "paused",
    [VC_VM_STATE_STOPPED] = "stopped",
};

static enum vc_vm_state qh_state(const struct qemu_hv *h)
{
    for (int i = 0; i < VC_VM_STATE_LAST; i++)
        if (h->st.vm_state && strcmp(h->st.vm_state, vm_state_names[i]) == 0)
            return (enum vc_vm_state) i;
    return VC_VM_STATE_STOPPED;
}

/* Sets a static name: the state strings are allocated, so this copies. */
static int qh_set_state(struct qemu_hv *h, enum vc_vm_state s)
{
    char *name = vc_strdup(h->base.ctx, vm_state_names[s]);

    if (!name)
        return vc_err(h->base.ctx, -ENOMEM, "out of memory");
    vc_free(h->base.ctx, h->st.vm_state);
    h->st.vm_state = name;
    return 0;
}

/* Replaces a string member of the state with a copy of value. */
static int qh_set_str(struct qemu_hv *h, char **field, const char *value)
{
    char *s = value ? vc_strdup(h->base.ctx, value) : NULL;

    if (value && !s)
        return vc_err(h->base.ctx, -ENOMEM, "out of memory");
    vc_free(h->base.ctx, *field);
    *field = s;
    return 0;
}

static bool qh_live(const struct qemu_hv *h)
{
    enum vc_vm_state s = qh_state(h);

    return s == VC_VM_STATE_RUNNING || s == VC_VM_STATE_PAUSED;
}

static int qh_require_live(struct qemu_hv *h, const char *op)
{
    if (qh_live(h))
        return 0;
    return vc_err(h->base.ctx, -EINVAL, "cannot %s vm of sandbox '%s' in state '%s'", op,
                  h->sandbox_id, vm_state_names[qh_state(h)]);
}

static uint32_t qh_max_vcpus(const struct qemu_hv *h)
{
    return h->cfg.max_vcpus ? h->cfg.max_vcpus : h->cfg.vcpus;
}

static uint32_t qh_max_memory(const struct qemu_hv *h)
{
    return h->cfg.max_memory_mb ? h->cfg.max_memory_mb : h->cfg.memory_mb;
}

static int qh_machine(const struct qemu_hv *h)
{
    return vc_qemu_machine_from_string(h->cfg.machine_type);
}

/* --- the process and QMP ---------------------------------------------------------------------- */

static bool qh_alive(struct qemu_hv *h)
{
    return vc_qemu_pid_alive(h->base.ctx, h->st.pid, h->path[VC_QEMU_PATH_PIDFILE]);
}

static void qh_qmp_drop(struct qemu_hv *h)
{
    vc_qmp_free(h->qmp);
    h->qmp = NULL;
}

/* Notes that QEMU is gone while the VM should run: check reports -ESRCH from then on. */
static int qh_gone(struct qemu_hv *h)
{
    qh_qmp_drop(h);
    if (qh_live(h))
        h->st.crashed = true;
    return vc_err(h->base.ctx, -ESRCH, "vm of sandbox '%s' is gone (qemu pid %d exited)",
                  h->sandbox_id, (int) h->st.pid);
}

/* The QMP connection, made now if there is none: -ESRCH when QEMU is gone. */
static int qh_qmp(struct qemu_hv *h, struct vc_qmp **ret)
{
    struct vc_ctx *ctx = h->base.ctx;
    int r;

    if (h->qmp && vc_qmp_alive(h->qmp)) {
        *ret = h->qmp;
        return 0;
    }
    qh_qmp_drop(h);
    if (!qh_alive(h))
        return qh_gone(h);
    r = vc_qmp_connect(ctx, h->path[VC_QEMU_PATH_QMP], (uint64_t) CONNECT_MS * MS_NS, &h->qmp);
    if (r < 0) {
        h->qmp = NULL;
        return qh_alive(h) ? vc_err_prefix(ctx, r, "vm of sandbox '%s'", h->sandbox_id)
                           : qh_gone(h);
    }
    vc_qmp_set_timeout(h->qmp, (uint64_t) VC_QEMU_QMP_TIMEOUT_MS * MS_NS);
    *ret = h->qmp;
    return 0;
}

/* A QMP failure: -ESRCH when it is because QEMU died meanwhile, else r as recorded. */
static int qh_qmp_failed(struct qemu_hv *h, int r)
{
    if (!qh_alive(h))
        return qh_gone(h);
    return r;
}

/* --- handles ---------------------------------------------------------------------------------- */

static void qemu_destroy(struct vc_hv *hv)
{
    struct qemu_hv *h;
    struct vc_ctx *ctx;

    if (!hv)
        return;
    h = hv_of(hv);
    ctx = hv->ctx;
    qh_qmp_drop(h);
    for (int i = 0; i < VC_QEMU_PATH_LAST; i++)
        vc_free(ctx, h->path[i]);
    vc_free(ctx, h->log_path);
    vc_qemu_hvstate_clear(ctx, &h->st);
    vc_obj_clear(ctx, &vc_schema_hv_config, &h->cfg);
    vc_free(ctx, h->sandbox_id);
    vc_free(ctx, h);
}

/* <root>/vm/<sandbox id>. */
static int qh_run_dir(struct vc_ctx *ctx, const char *sandbox_id, char **ret)
{
    char *root = NULL, *dir;
    int r = vc_qemu_run_root(ctx, &root);

    if (r < 0)
        return r;
    dir = vc_strdupf(ctx, "%s/vm/%s", root, sandbox_id);
    vc_free(ctx, root);
    if (!dir)
        return vc_err(ctx, -ENOMEM, "out of memory");
    *ret = dir;
    return 0;
}

/* The files in the run dir; the sockets must fit a sockaddr_un. */
static int qh_paths(struct qemu_hv *h)
{
    static const char *const names[VC_QEMU_PATH_LAST] = {
        [VC_QEMU_PATH_QMP] = VC_QEMU_QMP_SOCK,
        [VC_QEMU_PATH_CONSOLE] = VC_QEMU_CONSOLE_LOG,
        [VC_QEMU_PATH_AGENT] = VC_QEMU_AGENT_SOCK,
        [VC_QEMU_PATH_PIDFILE] = VC_QEMU_PIDFILE,
    };
    struct vc_ctx *ctx = h->base.ctx;
    const char *dir = h->st.run_dir;

    for (int i = 0; i < VC_QEMU_PATH_LAST; i++) {
        h->path[i] = vc_strdupf(ctx, "%s/%s", dir, names[i]);
        if (!h->path[i])
            return vc_err(ctx, -ENOMEM, "out of memory");
    }
    h->log_path = vc_strdupf(ctx, "%s/%s", dir, VC_QEMU_LOG);
    if (!h->log_path)
        return vc_err(ctx, -ENOMEM, "out of memory");
    if (strlen(h->path[VC_QEMU_PATH_QMP]) > VC_QEMU_SOCK_PATH_MAX ||
        strlen(h->path[VC_QEMU_PATH_AGENT]) > VC_QEMU_SOCK_PATH_MAX)
        return vc_err(ctx, -ENAMETOOLONG,
                      "qemu: run directory '%s' is too long for its sockets (at most %u bytes "
                      "for '%s')",
                      dir, VC_QEMU_SOCK_PATH_MAX, h->path[VC_QEMU_PATH_AGENT]);
    return 0;
}

/* A handle for sandbox_id with cfg copied (NULL: empty) and no state yet. */
static int qh_new(struct vc_ctx *ctx, const char *sandbox_id, const struct vc_hv_config *cfg,
                  struct qemu_hv **ret)
{
    struct qemu_hv *h = vc_new0(ctx, struct qemu_hv, 1);

    if (!h)
        return vc_err(ctx, -ENOMEM, "out of memory");
    h->base = (struct vc_hv){.ops = &vc_qemu_hv_ops, .ctx = ctx};
    h->sandbox_id = vc_strdup(ctx, sandbox_id);
    if (!h->sandbox_id || (cfg && vc_obj_copy(ctx, &vc_schema_hv_config, &h->cfg, cfg) < 0)) {
        qemu_destroy(&h->base);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    *ret = h;
    return 0;
}

/* --- create and load -------------------------------------------------------------------------- */

/* An environment knob's value, or def. */
static const char *qh_env(const char *name, const char *def)
{
    const char *v = secure_getenv(name);

    return v && *v ? v : def;
}

/* The knobs of vc/qemu.h, read once when the VM is created. */
static int qh_knobs(struct qemu_hv *h)
{
    struct vc_ctx *ctx = h->base.ctx;
    const char *accel = qh_env("VC_QEMU_ACCEL", "auto");
    const char *agent = qh_env("VC_QEMU_AGENT", vc_qemu_vhost_vsock_present() ? "vsock" : "serial");
    const char *ports = qh_env("VC_QEMU_ROOT_PORTS", NULL);
    const char *debug = qh_env("VC_QEMU_DEBUG", "0");
    unsigned long n = VC_QEMU_DEFAULT_ROOT_PORTS;
    char *end = NULL;
    int r;

    if (strcmp(accel, "auto") != 0 && strcmp(accel, "kvm") != 0 && strcmp(accel, "tcg") != 0)
        return vc_err(ctx, -EINVAL, "VC_QEMU_ACCEL '%.32s' is not kvm, tcg or auto", accel);
    if (strcmp(agent, "vsock") != 0 && strcmp(agent, "serial") != 0)
        return vc_err(ctx, -EINVAL, "VC_QEMU_AGENT '%.32s' is not vsock or serial", agent);
    if (ports) {
        errno = 0;
        n = strtoul(ports, &end, 10);
        if (errno || end == ports || *end || n > VC_QEMU_MAX_ROOT_PORTS)
            return vc_err(ctx, -EINVAL, "VC_QEMU_ROOT_PORTS '%.32s' is not 0..%u", ports,
                          VC_QEMU_MAX_ROOT_PORTS);
    }
    if (qh_machine(h) != VC_QEMU_MACHINE_Q35)
        n = 0;
    h->st.root_ports = (uint32_t) n;
    h->st.debug = strcmp(debug, "0") != 0;
    if ((r = qh_set_str(h, &h->st.accel, accel)) < 0 ||
        (r = qh_set_str(h, &h->st.agent, agent)) < 0 ||
        (r = qh_set_str(h, &h->st.cpu_model, qh_env("VC_QEMU_CPU", NULL))) < 0)
        return r;
    return 0;
}

/* The command line config for the VM (strings borrowed from h and uuid). */
static void qh_cmdline_cfg(const struct qemu_hv *h, enum vc_qemu_accel accel, const char *uuid,
                           int vhost_fd, struct vc_qemu_cmdline_cfg *c)
{
    bool vsock = strcmp(h->st.agent, "vsock") == 0;

    vc_qemu_cmdline_cfg_init(c, &h->cfg);
    c->sandbox_id = h->sandbox_id;
    c->uuid = uuid;
    c->run_dir = h->st.run_dir;
    c->accel = accel;
    c->cpu_model = h->st.cpu_model;
    c->qmp_fd = QMP_FD;
    c->qmp_path = h->path[VC_QEMU_PATH_QMP];
    c->pidfile = h->path[VC_QEMU_PATH_PIDFILE];
    /* The serial port reaches the console from the first kernel line; a log file keeps it. */
    c->console = VC_QEMU_CONSOLE_SERIAL;
    c->console_out = VC_QEMU_CONSOLE_OUT_FILE;
    c->console_path = h->path[VC_QEMU_PATH_CONSOLE];
    c->agent = vsock ? VC_QEMU_AGENT_VSOCK : VC_QEMU_AGENT_SERIAL;
    c->vsock_cid = vsock ? (h->st.cid ? h->st.cid : VC_QEMU_CID_MIN) : 0;
    c->vhost_fd = vsock ? vhost_fd : -1;
    c->agent_path = h->path[VC_QEMU_PATH_AGENT];
    c->pcie_root_ports = h->st.root_ports;
    c->rng = true;
    c->debug = h->st.debug;
}

/* An earlier VM of this sandbox id still running there is an error; its remains are not. */
static int qh_claim_run_dir(struct qemu_hv *h)
{
    struct vc_ctx *ctx = h->base.ctx;
    pid_t pid;

    if (vc_qemu_pidfile_read(h->path[VC_QEMU_PATH_PIDFILE], &pid) == 0 &&
        vc_qemu_pid_alive(ctx, pid, h->path[VC_QEMU_PATH_PIDFILE]))
        return vc_err(ctx, -EEXIST, "vm of sandbox '%s' exists (qemu pid %d)", h->sandbox_id,
                      (int) pid);
    if (vc_qemu_run_dir_remove(ctx, h->st.run_dir) < 0)
        return vc_err_prefix(ctx, vc_ctx_errcode(ctx), "stale run directory");
    return vc_qemu_run_dir_make(ctx, h->st.run_dir);
}

/* The state of a VM not started yet, from the config. */
static int qh_fresh_state(struct qemu_hv *h, const struct vc_hv_config *cfg)
{
    int r;

    h->st.version = VC_QEMU_STATE_VERSION;
    h->st.vcpus = cfg->vcpus;
    h->st.memory_mb = cfg->memory_mb;
    r = qh_set_state(h, VC_VM_STATE_CREATED);
    if (r >= 0)
        r = qh_run_dir(h->base.ctx, h->sandbox_id, &h->st.run_dir);
    if (r >= 0)
        r = qh_paths(h);
    if (r >= 0)
        r = qh_knobs(h);
    return r;
}

/* A QEMU started but not yet on record (its pid is saved once the start completes): the
 * pidfile in the run directory names it, if it still runs with this sandbox's command line. */
static void qh_adopt_pidfile(struct qemu_hv *h)
{
    pid_t pid;

    if (h->st.pid == 0 && vc_qemu_pidfile_read(h->path[VC_QEMU_PATH_PIDFILE], &pid) == 0 &&
        vc_qemu_pid_alive(h->base.ctx, pid, h->path[VC_QEMU_PATH_PIDFILE]) &&
        qh_set_state(h, VC_VM_STATE_RUNNING) >= 0)
        h->st.pid = (int32_t) pid;
}

static int qemu_create(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                       const struct vc_hv_config *cfg, struct vc_hv **ret)
{
    struct vc_qemu_cmdline_cfg c;
    struct qemu_hv *h = NULL;
    char uuid[37];
    int r;

    if (!sandbox_id || !cfg || !ret)
        return vc_err(ctx, -EINVAL, "qemu hypervisor: missing sandbox id or config");
    r = vc_id_validate(ctx, "sandbox", sandbox_id);
    if (r >= 0)
        r = qh_new(ctx, sandbox_id, cfg, &h);
    if (r < 0)
        return r;
    r = qh_fresh_state(h, cfg);
    if (r < 0)
        goto fail;
    /* A config QEMU would refuse fails here, before anything exists on the host. */
    vc_qemu_uuid(ctx, uuid);
    qh_cmdline_cfg(h, VC_QEMU_ACCEL_TCG, uuid, -1, &c);
    r = vc_qemu_cmdline_validate(ctx, &c);
    if (r >= 0)
        r = qh_claim_run_dir(h);
    if (r < 0)
        goto fail;
    *ret = &h->base;
    return 0;
fail:
    qemu_destroy(&h->base);
    return r;
}

static int qemu_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                     const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret)
{
    struct qemu_hv *h = NULL;
    char *dir = NULL;
    int r;

    if (!sandbox_id || !ret || (!state && !cfg))
        return vc_err(ctx, -EINVAL, "qemu hypervisor: missing sandbox id, state or config");
    r = vc_id_validate(ctx, "sandbox", sandbox_id);
    if (r >= 0)
        r = qh_new(ctx, sandbox_id, cfg, &h);
    /* No state: a create cut short before it saved any; the run directory is all there is. */
    if (r >= 0 && !state)
        r = qh_fresh_state(h, cfg);
    else if (r >= 0)
        r = vc_qemu_hvstate_from_json(ctx, state, &h->st);
    if (r >= 0)
        r = qh_run_dir(ctx, sandbox_id, &dir);
    /* The state says which directory cleanup empties: only ever this sandbox's. */
    if (r >= 0 && strcmp(dir, h->st.run_dir) != 0)
        r = vc_err(ctx, -EINVAL, "qemu state of sandbox '%s' names run directory '%s', not '%s'",
                   sandbox_id, h->st.run_dir, dir);
    vc_free(ctx, dir);
    if (r >= 0 && state)
        r = qh_paths(h);
    if (r >= 0 && !vc_qemu_path_exists(h->st.run_dir))
        r = vc_err(ctx, -ESRCH, "vm of sandbox '%s' is gone (no '%s')", sandbox_id, h->st.run_dir);
    if (r < 0) {
        qemu_destroy(h ? &h->base : NULL);
        return r;
    }
    qh_adopt_pidfile(h);
    *ret = &h->base;
    return 0;
}

/* --- start ------------------------------------------------------------------------------------ */

/* One launch attempt's moving parts. */
struct qh_launch {
    enum vc_qemu_accel accel; /* the accelerator tried */
    int vhost_fd;             /* /dev/vhost-vsock with the CID reserved, or -1 */
    int listen_fd;            /* QMP listener handed to QEMU, or -1 */
    int client_fd;            /* our QMP connection, queued on the listener, or -1 */
    char **argv;              /* the command line */
    pid_t pid;                /* QEMU, 0 before the launch */
    bool died;                /* QEMU exited before QMP answered */
};

static void qh_launch_clear(struct vc_ctx *ctx, struct qh_launch *l)
{
    l->vhost_fd = vc_safe_close(l->vhost_fd);
    l->listen_fd = vc_safe_close(l->listen_fd);
    l->client_fd = vc_safe_close(l->client_fd);
    vc_qemu_argv_free(ctx, l->argv);
    l->argv = NULL;
}

/* The command line, written to qemu.log first so a failure can be replayed by hand. */
static int qh_launch_argv(struct qemu_hv *h, struct qh_launch *l)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qemu_cmdline_cfg c;
    char uuid[37], *text = NULL;
    int r;

    if (strcmp(h->st.agent, "vsock") == 0) {
        r = vc_qemu_vhost_vsock_open(ctx, &l->vhost_fd, &h->st.cid);
        if (r < 0)
            return r;
    }
    vc_qemu_uuid(ctx, uuid);
    qh_cmdline_cfg(h, l->accel, uuid, l->vhost_fd >= 0 ? VHOST_FD : -1, &c);
    r = vc_qemu_cmdline_build(ctx, &c, &l->argv);
    if (r < 0)
        return r;
    if (vc_qemu_argv_render(ctx, l->argv, 0, &text) >= 0) {
        vc_qemu_log_append(h->log_path, text);
        vc_log(ctx, VC_LOG_DEBUG, "launching %s", text);
    }
    vc_free(ctx, text);
    return 0;
}

/* Waits for QMP's greeting on the queued connection, then for query-status to say running. */
static int qh_launch_qmp(struct qemu_hv *h, struct qh_launch *l, uint64_t deadline)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qmp_status status;
    struct vc_stream *s = NULL;
    uint64_t now = vc_now(ctx);
    int r;

    r = vc_fd_stream_new(ctx, VC_TAKE_FD(l->client_fd), "unix", &s);
    if (r >= 0)
        r = vc_qmp_new(ctx, s, &h->qmp);
    if (r < 0)
        return r;
    vc_qmp_set_timeout(h->qmp, (uint64_t) VC_QEMU_QMP_TIMEOUT_MS * MS_NS);
    r = vc_qmp_handshake(h->qmp, deadline > now ? deadline - now : 1);
    if (r == -ETIMEDOUT)
        return vc_err(ctx, r, "qmp did not answer in time");
    if (r < 0) {
        l->died = r == -ECONNRESET || !qh_alive(h);
        return r;
    }
    r = vc_qmp_query_status(h->qmp, &status);
    if (r >= 0 && !status.running)
        r = vc_err(ctx, -EIO, "qemu is '%s', not running",
                   vc_qmp_run_state_to_string(status.state));
    return r;
}

/* Removes what a launch leaves in the run dir besides the logs. */
static void qh_remove_sockets(struct qemu_hv *h)
{
    (void) unlink(h->path[VC_QEMU_PATH_QMP]);
    (void) unlink(h->path[VC_QEMU_PATH_AGENT]);
    (void) unlink(h->path[VC_QEMU_PATH_PIDFILE]);
}

/* One attempt: QEMU runs and answers QMP, or it is gone and r says why (recorded with the end of
 * qemu.log). */
static int qh_launch(struct qemu_hv *h, struct qh_launch *l, uint64_t deadline)
{
    struct vc_ctx *ctx = h->base.ctx;
    int pass[2] = {-1, -1}, r;
    char tail[LOG_TAIL_MAX];
    struct vc_err_saved err;
    pid_t pidfile;

    qh_remove_sockets(h);
    r = qh_launch_argv(h, l);
    if (r >= 0)
        r = vc_qemu_qmp_listen(ctx, h->path[VC_QEMU_PATH_QMP], &l->listen_fd, &l->client_fd);
    if (r < 0)
        return r;
    pass[0] = l->listen_fd;
    pass[1] = l->vhost_fd;
    r = vc_qemu_spawn(ctx, l->argv, pass, l->vhost_fd >= 0 ? 2 : 1, h->log_path, &l->pid);
    /* QEMU holds its own copies now: when it exits, the listener and the CID go with it. */
    l->listen_fd = vc_safe_close(l->listen_fd);
    l->vhost_fd = vc_safe_close(l->vhost_fd);
    if (r < 0) {
        qh_remove_sockets(h);
        return r;
    }
    h->st.pid = l->pid;
    r = qh_launch_qmp(h, l, deadline);
    if (r >= 0) {
        if (vc_qemu_pidfile_read(h->path[VC_QEMU_PATH_PIDFILE], &pidfile) < 0 || pidfile != l->pid)
            vc_log(ctx, VC_LOG_WARN, "qemu pid file '%s' does not hold pid %d",
                   h->path[VC_QEMU_PATH_PIDFILE], (int) l->pid);
        return 0;
    }
    vc_err_save(ctx, &err);
    qh_qmp_drop(h);
    (void) vc_qemu_pid_kill(ctx, l->pid, h->path[VC_QEMU_PATH_PIDFILE],
                            (uint64_t) VC_QEMU_STOP_TIMEOUT_MS * MS_NS);
    qh_remove_sockets(h);
    vc_qemu_log_tail(h->log_path, tail, sizeof(tail));
    return vc_err(ctx, r, "vm of sandbox '%s' did not start: %s%s%s", h->sandbox_id, err.msg,
                  tail[0] ? "; qemu.log: " : "", tail);
}

static int qemu_start(struct vc_hv *hv, uint32_t timeout_ms)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_ctx *ctx = hv->ctx;
    uint64_t deadline = vc_now(ctx) + (uint64_t) (timeout_ms ? timeout_ms : 30000) * MS_NS;
    struct qh_launch l = {.vhost_fd = -1, .listen_fd = -1, .client_fd = -1};
    bool fallback = false;
    int r;

    if (qh_state(h) != VC_VM_STATE_CREATED)
        return vc_err(ctx, -EINVAL, "cannot start vm of sandbox '%s' in state '%s'", h->sandbox_id,
                      vm_state_names[qh_state(h)]);
    if (!h->cfg.kernel)
        return vc_err(ctx, -EINVAL, "cannot start vm of sandbox '%s': no config", h->sandbox_id);
    if (strcmp(h->st.accel, "tcg") == 0)
        l.accel = VC_QEMU_ACCEL_TCG;
    else if (strcmp(h->st.accel, "kvm") == 0)
        l.accel = VC_QEMU_ACCEL_KVM;
    else {
        l.accel = vc_qemu_kvm_usable() ? VC_QEMU_ACCEL_KVM : VC_QEMU_ACCEL_TCG;
        fallback = l.accel == VC_QEMU_ACCEL_KVM;
    }
    r = qh_launch(h, &l, deadline);
    qh_launch_clear(ctx, &l);
    if (r < 0 && fallback && l.died && vc_now(ctx) < deadline) {
        vc_log(ctx, VC_LOG_WARN, "qemu died under kvm, trying tcg: %s", vc_ctx_errmsg(ctx));
        l = (struct qh_launch){
            .accel = VC_QEMU_ACCEL_TCG, .vhost_fd = -1, .listen_fd = -1, .client_fd = -1};
        h->st.pid = 0;
        r = qh_launch(h, &l, deadline);
        qh_launch_clear(ctx, &l);
    }
    if (r < 0) {
        (void) qh_set_state(h, VC_VM_STATE_STOPPED);
        return r;
    }
    r = qh_set_str(h, &h->st.accel, l.accel == VC_QEMU_ACCEL_KVM ? "kvm" : "tcg");
    if (r >= 0)
        r = qh_set_state(h, VC_VM_STATE_RUNNING);
    return r;
}

/* --- stop, pause, resume, save ---------------------------------------------------------------- */

/* Puts back the error recorded before a step whose own errors do not matter. */
static void qh_err_keep(struct vc_ctx *ctx, const struct vc_err_saved *err)
{
    if (err->code)
        (void) vc_err_restore(ctx, err, err->code);
    else
        vc_err_clear(ctx);
}

/* QEMU asked to quit over QMP, when it can be reached; stop goes on whatever happens. */
static void qh_quit(struct qemu_hv *h)
{
    struct vc_qmp *q = NULL;
    struct vc_err_saved err;

    vc_err_save(h->base.ctx, &err);
    if (qh_qmp(h, &q) >= 0)
        (void) vc_qmp_quit(q, (uint64_t) VC_QEMU_STOP_TIMEOUT_MS * MS_NS);
    qh_qmp_drop(h);
    qh_err_keep(h->base.ctx, &err);
}

static int qemu_stop(struct vc_hv *hv, bool wait_only)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_ctx *ctx = hv->ctx;
    const char *marker = h->path[VC_QEMU_PATH_PIDFILE];
    uint64_t wait_ms = wait_only ? VC_QEMU_WAIT_TIMEOUT_MS : VC_QEMU_STOP_TIMEOUT_MS;
    int r;

    if (qh_state(h) == VC_VM_STATE_CREATED || h->st.pid <= 0)
        return qh_set_state(h, VC_VM_STATE_STOPPED);
    if (!qh_alive(h)) {
        if (qh_live(h))
            h->st.crashed = true;
        qh_qmp_drop(h);
        return qh_set_state(h, VC_VM_STATE_STOPPED);
    }
    if (!wait_only)
        qh_quit(h);
    if (vc_qemu_pid_wait_exit(ctx, h->st.pid, marker, wait_ms * MS_NS) < 0) {
        vc_log(ctx, VC_LOG_WARN, "qemu pid %d still runs after %u ms: SIGKILL", (int) h->st.pid,
               (unsigned) wait_ms);
        r = vc_qemu_pid_kill(ctx, h->st.pid, marker, (uint64_t) VC_QEMU_STOP_TIMEOUT_MS * MS_NS);
        if (r < 0)
            return r;
    }
    qh_qmp_drop(h);
    return qh_set_state(h, VC_VM_STATE_STOPPED);
}

static int qh_set_paused(struct vc_hv *hv, bool pause)
{
    struct qemu_hv *h = hv_of(hv);
    enum vc_vm_state from = pause ? VC_VM_STATE_RUNNING : VC_VM_STATE_PAUSED;
    struct vc_qmp *q = NULL;
    int r;

    if (qh_state(h) != from)
        return vc_err(hv->ctx, -EINVAL, "cannot %s vm of sandbox '%s' in state '%s'",
                      pause ? "pause" : "resume", h->sandbox_id, vm_state_names[qh_state(h)]);
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = pause ? vc_qmp_stop(q) : vc_qmp_cont(q);
    if (r < 0)
        return qh_qmp_failed(h, r);
    return qh_set_state(h, pause ? VC_VM_STATE_PAUSED : VC_VM_STATE_RUNNING);
}

static int qemu_pause(struct vc_hv *hv)
{
    return qh_set_paused(hv, true);
}

static int qemu_resume(struct vc_hv *hv)
{
    return qh_set_paused(hv, false);
}

static int qemu_save(struct vc_hv *hv)
{
    return vc_err(hv->ctx, -EOPNOTSUPP,
                  "qemu: saving a vm to a template (migrate to a file) is not supported");
}

/* --- hotplug: the guest's side ---------------------------------------------------------------- */

/* Whether an ACPI_DEVICE_OST event is about the device whose id data names. */
static bool qh_match_ost(void *data, const struct vc_qmp_event *ev)
{
    struct json_object *info, *dev;

    return ev->data && json_object_object_get_ex(ev->data, "info", &info) &&
           json_object_object_get_ex(info, "device", &dev) &&
           json_object_is_type(dev, json_type_string) &&
           strcmp(json_object_get_string(dev), (const char *) data) == 0;
}

/* Waits (bounded, best effort) for the guest to report through ACPI _OST that it has handled the
 * hot-added device id, so that the agent's OnlineCPUMem, which comes next, finds its CPU or memory
 * blocks in sysfs. A paused guest cannot answer: no wait then. */
static void qh_wait_ost(struct qemu_hv *h, struct vc_qmp *q, const char *id)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qmp_event *ev = NULL;
    struct vc_err_saved err;

    if (qh_state(h) != VC_VM_STATE_RUNNING)
        return;
    vc_err_save(ctx, &err);
    if (vc_qmp_event_wait(q, QH_EVENT_OST, qh_match_ost, (void *) id,
                          (uint64_t) QH_OST_TIMEOUT_MS * MS_NS, &ev) < 0)
        vc_log(ctx, VC_LOG_DEBUG, "no acpi _ost from the guest for '%s': %s", id,
               vc_ctx_errmsg(ctx));
    vc_qmp_event_free(ev);
    qh_err_keep(ctx, &err);
}

/* --- hotplug: CPUs ---------------------------------------------------------------------------- */

/* Adds up to n vCPUs below the maximum as cpu-<n>; *ret_added says how many. Like kata's
 * hotplugAddCPUs, a failure after the first success ends the loop without an error. */
static int qh_add_cpus(struct qemu_hv *h, uint32_t n, uint32_t *ret_added)
{
    struct vc_ctx *ctx = h->base.ctx;
    uint32_t room = qh_max_vcpus(h) - h->st.vcpus, added = 0;
    struct vc_qmp *q = NULL;
    uint32_t *v;
    char id[32];
    int r;

    if (n == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 vcpus");
    if (h->st.vcpus >= qh_max_vcpus(h))
        return vc_err(ctx, -ENOSPC, "no free vcpu slot (%u of %u in use)", h->st.vcpus,
                      qh_max_vcpus(h));
    r = qh_qmp(h, &q);
    for (; r >= 0 && added < n && added < room; added++) {
        v = vc_realloc(ctx, h->st.cpu_ids, (h->st.n_cpu_ids + 1) * sizeof(*v));
        if (!v) {
            r = vc_err(ctx, -ENOMEM, "out of memory");
            break;
        }
        h->st.cpu_ids = v;
        (void) snprintf(id, sizeof(id), "cpu-%" PRIu32, h->st.cpu_next);
        r = vc_qmp_cpu_add(q, id, NULL);
        if (r < 0)
            break;
        v[h->st.n_cpu_ids++] = h->st.cpu_next++;
        h->st.vcpus++;
        qh_wait_ost(h, q, id);
    }
    if (r < 0 && added == 0)
        return qh_qmp_failed(h, r);
    if (r < 0)
        vc_log(ctx, VC_LOG_WARN, "added %u of %u vcpus: %s", added, n, vc_ctx_errmsg(ctx));
    *ret_added = added;
    return 0;
}

/* Whether query-cpus-fast still lists the CPU device id: 1, 0, or -errno. */
static int qh_cpu_listed(struct qemu_hv *h, struct vc_qmp *q, const char *id)
{
    struct vc_qmp_cpu *cpus = NULL;
    char path[64];
    size_t n = 0;
    int r = vc_qmp_query_cpus_fast(q, &cpus, &n), found = 0;

    if (r < 0)
        return r;
    (void) snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
    for (size_t i = 0; i < n && !found; i++)
        found = cpus[i].qom_path && strcmp(cpus[i].qom_path, path) == 0;
    vc_qmp_cpus_free(h->base.ctx, cpus, n);
    return found;
}

/* QMP command cmd with the one argument {"id": id}. */
static int qh_exec_id(struct qemu_hv *h, struct vc_qmp *q, const char *cmd, const char *id)
{
    struct json_object *args = json_object_new_object();
    int r;

    if (!args || json_object_object_add(args, "id", json_object_new_string(id)) < 0) {
        json_object_put(args);
        return vc_err(h->base.ctx, -ENOMEM, "out of memory");
    }
    r = vc_qmp_execute(q, cmd, args, 0, NULL);
    json_object_put(args);
    return r;
}

/* Whether QEMU still lists device id: 1, 0, or -errno. */
typedef int qh_listed_fn(struct qemu_hv *h, struct vc_qmp *q, const char *id);

/* Hot-remove: device_del, then QEMU is asked until it no longer lists the device (the guest
 * ejected it), up to the unplug deadline. Polling rather than waiting for DEVICE_DELETED: for a
 * CPU QEMU 7.2 sends it only for the lapic child (a path, no device id), never for the CPU. */
static int qh_unplug(struct qemu_hv *h, struct vc_qmp *q, const char *what, const char *id,
                     qh_listed_fn *listed)
{
    struct vc_ctx *ctx = h->base.ctx;
    uint64_t deadline = vc_now(ctx) + (uint64_t) VC_QEMU_UNPLUG_TIMEOUT_MS * MS_NS, now;
    int r = qh_exec_id(h, q, "device_del", id);

    while (r >= 0 && (r = listed(h, q, id)) > 0) {
        now = vc_now(ctx);
        if (now >= deadline)
            return vc_err(ctx, -ETIMEDOUT,
                          "%s '%s' still there %u ms after device_del (the guest did not "
                          "release it)",
                          what, id, VC_QEMU_UNPLUG_TIMEOUT_MS);
        (void) vc_ctx_sleep_until(ctx, now + UNPLUG_POLL_NS < deadline ? now + UNPLUG_POLL_NS
                                                                       : deadline);
    }
    return r;
}

/* Removes up to n hot-added vCPUs, newest first (the boot vCPUs stay). */
static int qh_remove_cpus(struct qemu_hv *h, uint32_t n, uint32_t *ret_removed)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qmp *q = NULL;
    uint32_t removed = 0;
    char id[32];
    int r;

    if (n == 0)
        return vc_err(ctx, -EINVAL, "cannot hot-unplug 0 vcpus");
    if (h->st.n_cpu_ids == 0)
        return vc_err(ctx, -EINVAL, "no hotplugged vcpus to remove (%u boot vcpus)", h->cfg.vcpus);
    r = qh_qmp(h, &q);
    for (; r >= 0 && removed < n && h->st.n_cpu_ids > 0; removed++) {
        (void) snprintf(id, sizeof(id), "cpu-%" PRIu32, h->st.cpu_ids[h->st.n_cpu_ids - 1]);
        r = qh_unplug(h, q, "vcpu", id, qh_cpu_listed);
        if (r < 0)
            break;
        h->st.n_cpu_ids--;
        h->st.vcpus--;
    }
    if (r < 0 && removed == 0)
        return qh_qmp_failed(h, r);
    *ret_removed = removed;
    return 0;
}

/* --- hotplug: memory -------------------------------------------------------------------------- */

static int qh_dimm_fits(struct qemu_hv *h, uint32_t size_mb)
{
    struct vc_ctx *ctx = h->base.ctx;

    if (size_mb == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 MiB of memory");
    if (h->st.n_dimms >= h->cfg.mem_slots || h->st.n_dimms >= VC_QEMU_MAX_DIMMS)
        return vc_err(ctx, -ENOSPC, "no free memory slot (%zu of %u in use)", h->st.n_dimms,
                      h->cfg.mem_slots);
    if (size_mb > qh_max_memory(h) - h->st.memory_mb)
        return vc_err(ctx, -ENOSPC, "cannot hotplug %u MiB: vm has %u MiB of at most %u MiB",
                      size_mb, h->st.memory_mb, qh_max_memory(h));
    return 0;
}

/* Plugs a DIMM of size_mb; *ret describes it. */
static int qh_add_dimm(struct qemu_hv *h, uint32_t size_mb, struct vc_qemu_dimm *ret)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qmp_mem_req req = {.size_mb = size_mb, .query_addr = true};
    struct vc_qmp_dimm d = {0};
    struct vc_qemu_dimm *v;
    struct vc_qmp *q = NULL;
    char id[32];
    int r = qh_dimm_fits(h, size_mb);

    if (r < 0)
        return r;
    v = vc_realloc(ctx, h->st.dimms, (h->st.n_dimms + 1) * sizeof(*v));
    if (!v)
        return vc_err(ctx, -ENOMEM, "out of memory");
    h->st.dimms = v;
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = vc_qmp_memory_add(q, &req, &d);
    if (r < 0)
        return qh_qmp_failed(h, r);
    v[h->st.n_dimms++] = (struct vc_qemu_dimm){(uint32_t) d.slot, size_mb, d.addr};
    h->st.memory_mb += size_mb;
    (void) snprintf(id, sizeof(id), "dimmmem%" PRId64, d.slot);
    qh_wait_ost(h, q, id);
    *ret = v[h->st.n_dimms - 1];
    return 0;
}

/* Whether QEMU still lists the DIMM id: 1, 0, or -errno. */
static int qh_dimm_listed(struct qemu_hv *h, struct vc_qmp *q, const char *id)
{
    struct vc_qmp_memdev *v = NULL;
    size_t n = 0;
    int found = 0, r = vc_qmp_query_memory_devices(q, &v, &n);

    if (r < 0)
        return r;
    for (size_t i = 0; i < n && !found; i++)
        found = v[i].id && strcmp(v[i].id, id) == 0;
    vc_qmp_memdevs_free(h->base.ctx, v, n);
    return found;
}

/* DIMM hot-remove, where QEMU supports it: device_del asks the guest (ACPI) to eject the DIMM,
 * which it can only do for memory it can take offline (the test guest onlines hot-added memory
 * movable); once QEMU no longer lists it, its backend object goes too. A guest that keeps the
 * memory leaves everything as it was, with ETIMEDOUT. Newest DIMM first, as kata adds them. */
static int qh_remove_dimm(struct qemu_hv *h, struct vc_device *dev)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qemu_dimm d;
    struct vc_qmp *q = NULL;
    char id[32], mem[32];
    int r;

    if (h->st.n_dimms == 0)
        return vc_err(ctx, -EINVAL, "no hotplugged memory to remove (%u MiB at boot)",
                      h->cfg.memory_mb);
    d = h->st.dimms[h->st.n_dimms - 1];
    if (dev->size_mb && dev->size_mb != d.size_mb)
        return vc_err(ctx, -EINVAL,
                      "the newest DIMM has %u MiB, not %u: DIMMs come out whole, newest first",
                      d.size_mb, dev->size_mb);
    (void) snprintf(id, sizeof(id), "dimmmem%" PRIu32, d.slot);
    (void) snprintf(mem, sizeof(mem), "mem%" PRIu32, d.slot);
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = qh_unplug(h, q, "DIMM", id, qh_dimm_listed);
    if (r == -ETIMEDOUT)
        return r;
    if (r < 0)
        return qh_qmp_failed(h, r);
    h->st.n_dimms--;
    h->st.memory_mb -= d.size_mb;
    /* The DIMM is gone; its backend object is only memory on the host now. */
    if (qh_exec_id(h, q, "object-del", mem) < 0)
        vc_err_clear(ctx);
    dev->size_mb = d.size_mb;
    return 0;
}

/* dev's memory outputs for DIMM d: its address and id. */
static int qh_dimm_out(struct qemu_hv *h, const struct vc_qemu_dimm *d, struct vc_device *dev)
{
    char *id = vc_strdupf(h->base.ctx, "dimmmem%" PRIu32, d->slot);
    char *path = vc_strdupf(h->base.ctx, "dimmmem%" PRIu32, d->slot);

    if (!id || !path) {
        vc_free(h->base.ctx, id);
        vc_free(h->base.ctx, path);
        return vc_err(h->base.ctx, -ENOMEM, "out of memory");
    }
    if (!dev->id)
        dev->id = id;
    else
        vc_free(h->base.ctx, id);
    vc_free(h->base.ctx, dev->guest_path);
    dev->guest_path = path;
    dev->size_mb = d->size_mb;
    dev->addr = d->addr;
    return 0;
}

/* --- hotplug: block devices ------------------------------------------------------------------- */

static size_t qh_block_find(const struct qemu_hv *h, const char *id)
{
    for (size_t i = 0; i < h->st.n_blocks; i++)
        if (strcmp(h->st.blocks[i].id, id) == 0)
            return i;
    return h->st.n_blocks;
}

/* A free pcie-root-port on q35; -1 on pc, where QEMU picks a slot on the root bus. */
static int qh_block_port(struct qemu_hv *h, const char *id, int32_t *ret)
{
    int m = qh_machine(h);

    if (m == VC_QEMU_MACHINE_MICROVM)
        return vc_err(h->base.ctx, -EOPNOTSUPP, "microvm has no block device hotplug");
    if (m != VC_QEMU_MACHINE_Q35) {
        *ret = -1;
        return 0;
    }
    for (int32_t p = 0; p < (int32_t) h->st.root_ports; p++) {
        bool used = false;
        for (size_t i = 0; i < h->st.n_blocks && !used; i++)
            used = h->st.blocks[i].port == p;
        if (!used) {
            *ret = p;
            return 0;
        }
    }
    return vc_err(h->base.ctx, -ENOSPC,
                  "no free pcie root port for device '%s' (%u in use; VC_QEMU_ROOT_PORTS)", id,
                  h->st.root_ports);
}

/* The guest's PCI path of device id: behind root port port, "<port's slot>/00"; on the root bus
 * (pc, no root ports: port -1), "<its own slot>", the slot QEMU chose. Best effort. */
static char *qh_block_guest_path(struct qemu_hv *h, struct vc_qmp *q, const char *id, int32_t port)
{
    struct json_object *args = json_object_new_object(), *ret = NULL;
    char path[96];
    char *s = NULL;
    int32_t devfn;

    if (!args)
        goto out;
    if (port >= 0)
        (void) snprintf(path, sizeof(path), "/machine/peripheral/rp%d", (int) port);
    else
        (void) snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
    json_object_object_add(args, "path", json_object_new_string(path));
    json_object_object_add(args, "property", json_object_new_string("addr"));
    if (vc_qmp_execute(q, "qom-get", args, 0, &ret) < 0 || !json_object_is_type(ret, json_type_int))
        goto out;
    devfn = json_object_get_int(ret);
    if (devfn >= 0 && devfn < 256)
        s = vc_strdupf(h->base.ctx, port >= 0 ? "%02x/00" : "%02x", (unsigned) devfn >> 3);
out:
    vc_err_clear(h->base.ctx);
    json_object_put(args);
    json_object_put(ret);
    return s;
}

static int qh_add_block(struct qemu_hv *h, struct vc_device *dev)
{
    struct vc_ctx *ctx = h->base.ctx;
    struct vc_qemu_blockdev rec = {.port = -1};
    struct vc_qemu_blockdev *v;
    struct vc_qmp *q = NULL;
    char node[32], bus[16];
    int r;

    if (!vc_qemu_id_ok(dev->id))
        return vc_err(ctx, -EINVAL,
                      "block device id '%.64s' is not a qemu id (a letter, then "
                      "letters, digits, '-', '.', '_')",
                      dev->id ? dev->id : "");
    if (qh_block_find(h, dev->id) < h->st.n_blocks)
        return vc_err(ctx, -EEXIST, "device '%s' exists", dev->id);
    if (dev->format && strcmp(dev->format, "raw") != 0)
        return vc_err(ctx, -EOPNOTSUPP, "block format '%.32s' is not supported (raw only)",
                      dev->format);
    if (h->st.n_blocks >= VC_QEMU_MAX_BLOCKS)
        return vc_err(ctx, -ENOSPC, "too many block devices (%u)", VC_QEMU_MAX_BLOCKS);
    r = qh_block_port(h, dev->id, &rec.port);
    if (r < 0)
        return r;
    v = vc_realloc(ctx, h->st.blocks, (h->st.n_blocks + 1) * sizeof(*v));
    if (!v)
        return vc_err(ctx, -ENOMEM, "out of memory");
    h->st.blocks = v;
    (void) snprintf(node, sizeof(node), "vcblk%" PRIu32, h->st.block_next);
    (void) snprintf(bus, sizeof(bus), "rp%d", (int) rec.port);
    rec.id = vc_strdup(ctx, dev->id);
    rec.node = vc_strdup(ctx, node);
    if (!rec.id || !rec.node) {
        vc_free(ctx, rec.id);
        vc_free(ctx, rec.node);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = vc_qmp_block_add(
            q,
            &(struct vc_qmp_block){
                .id = dev->id,
                .node_name = node,
                .filename = dev->path,
                .null_size = (uint64_t) (dev->size_mb ? dev->size_mb : VC_QEMU_NULL_BLOCK_MB) << 20,
                .read_only = dev->readonly,
                .bus = rec.port >= 0 ? bus : NULL,
            });
    if (r < 0) {
        vc_free(ctx, rec.id);
        vc_free(ctx, rec.node);
        return qh_qmp_failed(h, r);
    }
    v[h->st.n_blocks++] = rec;
    h->st.block_next++;
    vc_free(ctx, dev->guest_path);
    dev->guest_path = qh_block_guest_path(h, q, dev->id, rec.port);
    return 0;
}

static int qh_remove_block(struct qemu_hv *h, const struct vc_device *dev)
{
    struct vc_ctx *ctx = h->base.ctx;
    size_t i = dev->id ? qh_block_find(h, dev->id) : h->st.n_blocks;
    struct vc_qmp *q = NULL;
    int r;

    if (i == h->st.n_blocks)
        return vc_err(ctx, -ENOENT, "device '%s' not found", dev->id ? dev->id : "");
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = vc_qmp_block_remove(q, h->st.blocks[i].id, h->st.blocks[i].node,
                                (uint64_t) VC_QEMU_UNPLUG_TIMEOUT_MS * MS_NS);
    if (r < 0)
        return qh_qmp_failed(h, r);
    vc_free(ctx, h->st.blocks[i].id);
    vc_free(ctx, h->st.blocks[i].node);
    memmove(&h->st.blocks[i], &h->st.blocks[i + 1],
            (h->st.n_blocks - i - 1) * sizeof(*h->st.blocks));
    h->st.n_blocks--;
    return 0;
}

/* --- hotplug ---------------------------------------------------------------------------------- */

static int qemu_hotplug_add(struct vc_hv *hv, struct vc_device *dev)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_qemu_dimm d;
    uint32_t added = 0;
    int r;

    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hotplug");
    r = qh_require_live(h, "hotplug into");
    if (r < 0)
        return r;
    switch (dev->type) {
    case VC_DEVICE_CPU:
        r = qh_add_cpus(h, dev->cpus, &added);
        if (r >= 0)
            dev->cpus = added;
        return r;
    case VC_DEVICE_MEMORY:
        r = qh_add_dimm(h, dev->size_mb, &d);
        return r < 0 ? r : qh_dimm_out(h, &d, dev);
    case VC_DEVICE_BLOCK:
        return qh_add_block(h, dev);
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return vc_err(hv->ctx, -EOPNOTSUPP, "qemu: %s hotplug is not supported",
                      vc_device_type_to_string(dev->type));
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
}

static int qemu_hotplug_remove(struct vc_hv *hv, struct vc_device *dev)
{
    struct qemu_hv *h = hv_of(hv);
    uint32_t removed = 0;
    int r;

    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hot-unplug");
    r = qh_require_live(h, "hot-unplug from");
    if (r < 0)
        return r;
    switch (dev->type) {
    case VC_DEVICE_CPU:
        r = qh_remove_cpus(h, dev->cpus, &removed);
        if (r >= 0)
            dev->cpus = removed;
        return r;
    case VC_DEVICE_MEMORY:
        return qh_remove_dimm(h, dev);
    case VC_DEVICE_BLOCK:
        return qh_remove_block(h, dev);
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return vc_err(hv->ctx, -EOPNOTSUPP, "qemu: %s hot-unplug is not supported",
                      vc_device_type_to_string(dev->type));
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
}

/* The DIMM kata's ResizeMemory plugs: the missing MiB, clamped to the maximum, rounded up to the
 * guest's memory block (and so possibly above the maximum, which then refuses it). */
static uint32_t qh_grow_size(const struct qemu_hv *h, uint32_t req_mb, uint32_t block_mb)
{
    uint64_t add = req_mb - h->st.memory_mb;
    uint64_t block = block_mb ? block_mb : 1;

    if (add > qh_max_memory(h) - h->st.memory_mb)
        add = qh_max_memory(h) - h->st.memory_mb;
    add = (add + block - 1) / block * block;
    return add > UINT32_MAX ? UINT32_MAX : (uint32_t) add;
}

static int qemu_resize_memory(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                              uint32_t *ret_mb, struct vc_device *ret_dev)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_device dimm = {.type = VC_DEVICE_MEMORY, .probe = probe};
    struct vc_qemu_dimm d;
    int r = qh_require_live(h, "resize memory of");

    if (r < 0)
        return r;
    if (!ret_mb)
        return vc_err(hv->ctx, -EINVAL, "no result pointer");
    if (req_mb > h->st.memory_mb) {
        if (h->st.memory_mb >= qh_max_memory(h))
            return vc_err(hv->ctx, -ENOSPC, "vm has reached its maximum of %u MiB",
                          qh_max_memory(h));
        r = qh_add_dimm(h, qh_grow_size(h, req_mb, block_mb), &d);
        if (r >= 0 && ret_dev)
            r = qh_dimm_out(h, &d, &dimm);
        if (r < 0) {
            vc_device_clear(hv->ctx, &dimm);
            return r;
        }
    }
    *ret_mb = h->st.memory_mb;
    if (ret_dev)
        *ret_dev = dimm;
    return 0;
}

static int qemu_resize_vcpus(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new)
{
    struct qemu_hv *h = hv_of(hv);
    uint32_t old = h->st.vcpus, n = 0;
    int r;

    if (req == 0)
        return vc_err(hv->ctx, -EINVAL, "cannot resize to 0 vcpus");
    if (!ret_old || !ret_new)
        return vc_err(hv->ctx, -EINVAL, "no result pointer");
    r = qh_require_live(h, "resize vcpus of");
    if (r < 0)
        return r;
    if (req > qh_max_vcpus(h))
        req = qh_max_vcpus(h);
    if (req < h->cfg.vcpus)
        req = h->cfg.vcpus;
    if (req > old)
        r = qh_add_cpus(h, req - old, &n);
    else if (req < old)
        r = qh_remove_cpus(h, old - req, &n);
    if (r < 0)
        return r;
    *ret_old = old;
    *ret_new = h->st.vcpus;
    return 0;
}

/* --- queries ---------------------------------------------------------------------------------- */

static int qemu_console(struct vc_hv *hv, char **ret_url)
{
    struct qemu_hv *h = hv_of(hv);
    char *url = vc_strdupf(hv->ctx, "file://%s", h->path[VC_QEMU_PATH_CONSOLE]);

    if (!url)
        return vc_err(hv->ctx, -ENOMEM, "out of memory");
    *ret_url = url;
    return 0;
}

/* QEMU's pid, then its vCPU threads' ids as query-cpus-fast gives them (left out when QMP does
 * not answer). */
static int qemu_pids(struct vc_hv *hv, int32_t **ret, size_t *ret_n)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_qmp_cpu *cpus = NULL;
    struct vc_qmp *q = NULL;
    size_t n_cpus = 0, n = 0;
    struct vc_err_saved err;
    int32_t *v;

    if (!qh_alive(h))
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' is not running", h->sandbox_id);
    vc_err_save(hv->ctx, &err);
    if (qh_qmp(h, &q) < 0 || vc_qmp_query_cpus_fast(q, &cpus, &n_cpus) < 0)
        n_cpus = 0;
    qh_err_keep(hv->ctx, &err);
    v = vc_new0(hv->ctx, int32_t, n_cpus + 1);
    if (!v) {
        vc_qmp_cpus_free(hv->ctx, cpus, n_cpus);
        return vc_err(hv->ctx, -ENOMEM, "out of memory");
    }
    v[n++] = h->st.pid;
    for (size_t i = 0; i < n_cpus; i++)
        if (cpus[i].thread_id > 0 && cpus[i].thread_id <= INT32_MAX)
            v[n++] = (int32_t) cpus[i].thread_id;
    vc_qmp_cpus_free(hv->ctx, cpus, n_cpus);
    *ret = v;
    *ret_n = n;
    return 0;
}

/* Alive: QEMU's pid is there and QMP answers query-status. A VM stopped on purpose still
 * answers 0, one that died underneath -ESRCH (as simhv). */
static int qemu_check(struct vc_hv *hv)
{
    struct qemu_hv *h = hv_of(hv);
    struct vc_qmp_status status;
    struct vc_qmp *q = NULL;
    int r;

    if (h->st.crashed)
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' died", h->sandbox_id);
    if (!qh_live(h))
        return 0;
    r = qh_qmp(h, &q);
    if (r >= 0)
        r = vc_qmp_query_status(q, &status);
    return r < 0 ? qh_qmp_failed(h, r) : 0;
}

static int qemu_cleanup(struct vc_hv *hv)
{
    struct qemu_hv *h = hv_of(hv);

    if (qh_alive(h))
        return vc_err(hv->ctx, -EBUSY, "cannot clean up vm of sandbox '%s': qemu pid %d runs",
                      h->sandbox_id, (int) h->st.pid);
    qh_qmp_drop(h);
    return vc_qemu_run_dir_remove(hv->ctx, h->st.run_dir);
}

static int qemu_capabilities(struct vc_hv *hv, uint32_t *ret_caps)
{
    struct qemu_hv *h = hv_of(hv);

    if (!ret_caps)
        return vc_err(hv->ctx, -EINVAL, "no result pointer");
    *ret_caps = qh_machine(h) == VC_QEMU_MACHINE_MICROVM
                    ? 0
                    : VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG;
    return 0;
}

static int qemu_agent_endpoint(struct vc_hv *hv, char **ret_url)
{
    struct qemu_hv *h = hv_of(hv);
    char *url;

    if (strcmp(h->st.agent, "serial") == 0)
        url = vc_strdupf(hv->ctx, "serial://%s", h->path[VC_QEMU_PATH_AGENT]);
    else if (h->st.cid)
        url = vc_strdupf(hv->ctx, "vsock://%" PRIu32 ":%u", h->st.cid, VC_QEMU_AGENT_PORT);
    else
        return vc_err(hv->ctx, -EINVAL, "vm of sandbox '%s' has no vsock cid yet (not started)",
                      h->sandbox_id);
    if (!url)
        return vc_err(hv->ctx, -ENOMEM, "out of memory");
    *ret_url = url;
    return 0;
}

static int qemu_save_state(struct vc_hv *hv, char **ret_state)
{
    return vc_qemu_hvstate_to_json(hv->ctx, &hv_of(hv)->st, ret_state);
}

static int qemu_query(struct vc_hv *hv, struct vc_vm_info *ret)
{
    struct qemu_hv *h = hv_of(hv);
    enum vc_vm_state s = qh_state(h);

    if (!ret)
        return vc_err(hv->ctx, -EINVAL, "no result pointer");
    if (qh_live(h) && !qh_alive(h)) {
        (void) qh_gone(h);
        vc_err_clear(hv->ctx);
        s = VC_VM_STATE_STOPPED;
    }
    *ret = (struct vc_vm_info){
        .state = (int32_t) s,
        .vcpus = h->st.vcpus,
        .memory_mb = h->st.memory_mb,
        .n_devices = (uint32_t) h->st.n_blocks,
        .pid = h->st.pid,
    };
    return 0;
}

const struct vc_hv_ops vc_qemu_hv_ops = {
    .version = VC_HV_OPS_V1,
    .name = "qemu",
    .create = qemu_create,
    .load = qemu_load,
    .destroy = qemu_destroy,
    .start = qemu_start,
    .stop = qemu_stop,
    .pause = qemu_pause,
    .resume = qemu_resume,
    .save = qemu_save,
    .hotplug_add = qemu_hotplug_add,
    .hotplug_remove = qemu_hotplug_remove,
    .resize_memory = qemu_resize_memory,
    .resize_vcpus = qemu_resize_vcpus,
    .console = qemu_console,
    .pids = qemu_pids,
    .check = qemu_check,
    .cleanup = qemu_cleanup,
    .capabilities = qemu_capabilities,
    .agent_endpoint = qemu_agent_endpoint,
    .save_state = qemu_save_state,
    .query = qemu_query,
};
