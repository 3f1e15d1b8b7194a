/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU argv builder (cmdline.h): validates a vc_qemu_cmdline_cfg and renders it as argv in
 * the order kata's govmm uses, plus the kernel command line and a shell rendering for logs and
 * golden files. Pure: it only allocates through the context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/types.h>
#include <vc/vc.h>

#include "cmdline.h"

#define CL_CPU_MODEL_MAX  256u /* longest -cpu value */
#define CL_AGENT_NAME_MAX 64u  /* longest virtio-serial port name */
#define CL_UUID_LEN       36u  /* 8-4-4-4-12 */

static const char *const cl_machine_names[VC_QEMU_MACHINE_LAST] = {
    [VC_QEMU_MACHINE_Q35] = "q35",
    [VC_QEMU_MACHINE_PC] = "pc",
    [VC_QEMU_MACHINE_MICROVM] = "microvm",
};

/* Per path kind: the config field's name (for messages), the default file name under run_dir,
 * and whether it is a unix socket (shorter limit). The console's default name depends on its
 * output and is picked in cl_path. */
static const struct {
    const char *field; /* cfg field */
    const char *file;  /* default name under run_dir */
    bool socket;       /* a unix socket path */
} cl_paths[VC_QEMU_PATH_LAST] = {
    [VC_QEMU_PATH_QMP] = {"qmp_path", VC_QEMU_QMP_SOCK, true},
    [VC_QEMU_PATH_CONSOLE] = {"console_path", VC_QEMU_CONSOLE_SOCK, true},
    [VC_QEMU_PATH_AGENT] = {"agent_path", VC_QEMU_AGENT_SOCK, true},
    [VC_QEMU_PATH_PIDFILE] = {"pidfile", VC_QEMU_PIDFILE, false},
};

/* cfg with its defaults applied (what cl_check derives). */
struct cl_res {
    enum vc_qemu_machine machine; /* parsed machine type */
    uint32_t max_vcpus;           /* max_vcpus, 0 replaced by vcpus */
    uint32_t max_memory_mb;       /* max_memory_mb, 0 replaced by memory_mb */
};

const char *vc_qemu_machine_to_string(enum vc_qemu_machine machine)
{
    if ((unsigned) machine >= VC_QEMU_MACHINE_LAST)
        return NULL;
    return cl_machine_names[machine];
}

int vc_qemu_machine_from_string(const char *name)
{
    if (!name)
        return VC_QEMU_MACHINE_Q35;
    for (int i = 0; i < VC_QEMU_MACHINE_LAST; i++)
        if (strcmp(name, cl_machine_names[i]) == 0)
            return i;
    return -1;
}

void vc_qemu_cmdline_cfg_init(struct vc_qemu_cmdline_cfg *cfg, const struct vc_hv_config *hv)
{
    *cfg = (struct vc_qemu_cmdline_cfg){
        .accel = VC_QEMU_ACCEL_KVM,
        .qmp_fd = -1,
        .console = VC_QEMU_CONSOLE_VIRTIO,
        .console_out = VC_QEMU_CONSOLE_OUT_SOCKET,
        .agent = VC_QEMU_AGENT_VSOCK,
        .vhost_fd = -1,
        .rng = true,
    };
    if (!hv)
        return;
    cfg->binary = hv->path;
    cfg->machine_type = hv->machine_type;
    cfg->vcpus = hv->vcpus;
    cfg->max_vcpus = hv->max_vcpus;
    cfg->memory_mb = hv->memory_mb;
    cfg->max_memory_mb = hv->max_memory_mb;
    cfg->mem_slots = hv->mem_slots;
    cfg->kernel = hv->kernel;
    cfg->initrd = hv->initrd;
    cfg->image = hv->image;
    cfg->kernel_params = hv->kernel_params;
}

/* --- validation ------------------------------------------------------------------------------ */

/* A string that goes into argv or a log line: at most max bytes, no control characters. */
static int cl_check_text(struct vc_ctx *ctx, const char *field, const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);

    if (len > max)
        return vc_err(ctx, -EINVAL, "qemu: %s is longer than %zu bytes", field, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x20 || c == 0x7f)
            return vc_err(ctx, -EINVAL, "qemu: %s has a control character at %zu", field, i);
    }
    return 0;
}

/* A path: absolute, at most max bytes, no control characters. NULL is allowed (not set). */
static int cl_check_path(struct vc_ctx *ctx, const char *field, const char *path, size_t max)
{
    if (!path)
        return 0;
    if (path[0] != '/')
        return vc_err(ctx, -EINVAL, "qemu: %s '%.64s' must be an absolute path", field, path);
    return cl_check_text(ctx, field, path, max);
}

static int cl_check_uuid(struct vc_ctx *ctx, const char *uuid)
{
    if (!uuid)
        return vc_err(ctx, -EINVAL, "qemu: uuid is missing");
    if (strnlen(uuid, CL_UUID_LEN + 1) != CL_UUID_LEN)
        return vc_err(ctx, -EINVAL, "qemu: uuid '%.64s' is not 8-4-4-4-12 hex digits", uuid);
    for (size_t i = 0; i < CL_UUID_LEN; i++) {
        char c = uuid[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return vc_err(ctx, -EINVAL, "qemu: uuid '%s' is not 8-4-4-4-12 hex digits", uuid);
    }
    return 0;
}

/* The enums and the machine: what every later check depends on. */
static int cl_check_kinds(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                          struct cl_res *res)
{
    int m = vc_qemu_machine_from_string(cfg->machine_type);

    if (m < 0)
        return vc_err(ctx, -EINVAL, "qemu: unknown machine type '%.64s' (q35, pc or microvm)",
                      cfg->machine_type);
    res->machine = (enum vc_qemu_machine) m;
    if ((unsigned) cfg->accel >= VC_QEMU_ACCEL_LAST)
        return vc_err(ctx, -EINVAL, "qemu: unknown accel %d", (int) cfg->accel);
    if ((unsigned) cfg->console >= VC_QEMU_CONSOLE_LAST)
        return vc_err(ctx, -EINVAL, "qemu: unknown console %d", (int) cfg->console);
    if ((unsigned) cfg->console_out >= VC_QEMU_CONSOLE_OUT_LAST)
        return vc_err(ctx, -EINVAL, "qemu: unknown console output %d", (int) cfg->console_out);
    if ((unsigned) cfg->agent >= VC_QEMU_AGENT_LAST)
        return vc_err(ctx, -EINVAL, "qemu: unknown agent channel %d", (int) cfg->agent);
    return 0;
}

/* vCPUs, memory and hotplug ports against each other and the machine. */
static int cl_check_sizes(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                          struct cl_res *res)
{
    bool microvm = res->machine == VC_QEMU_MACHINE_MICROVM;

    res->max_vcpus = cfg->max_vcpus ? cfg->max_vcpus : cfg->vcpus;
    res->max_memory_mb = cfg->max_memory_mb ? cfg->max_memory_mb : cfg->memory_mb;
    if (cfg->vcpus == 0)
        return vc_err(ctx, -EINVAL, "qemu: vcpus is 0");
    if (cfg->vcpus > res->max_vcpus)
        return vc_err(ctx, -EINVAL, "qemu: vcpus %u is more than max_vcpus %u", cfg->vcpus,
                      res->max_vcpus);
    if (res->max_vcpus > VC_QEMU_MAX_VCPUS)
        return vc_err(ctx, -EINVAL, "qemu: max_vcpus %u is more than %u", res->max_vcpus,
                      VC_QEMU_MAX_VCPUS);
    if (microvm && res->max_vcpus > cfg->vcpus)
        return vc_err(ctx, -EINVAL, "qemu: microvm has no cpu hotplug (vcpus %u, max_vcpus %u)",
                      cfg->vcpus, res->max_vcpus);
    if (cfg->memory_mb == 0)
        return vc_err(ctx, -EINVAL, "qemu: memory_mb is 0");
    if (cfg->memory_mb > res->max_memory_mb)
        return vc_err(ctx, -EINVAL, "qemu: memory_mb %u is more than max_memory_mb %u",
                      cfg->memory_mb, res->max_memory_mb);
    if (cfg->mem_slots > VC_QEMU_MAX_MEM_SLOTS)
        return vc_err(ctx, -EINVAL, "qemu: mem_slots %u is more than %u", cfg->mem_slots,
                      VC_QEMU_MAX_MEM_SLOTS);
    if (cfg->mem_slots && res->max_memory_mb == cfg->memory_mb)
        return vc_err(ctx, -EINVAL, "qemu: mem_slots %u need max_memory_mb above memory_mb %u",
                      cfg->mem_slots, cfg->memory_mb);
    if (microvm && (cfg->mem_slots || res->max_memory_mb > cfg->memory_mb))
        return vc_err(ctx, -EINVAL,
                      "qemu: microvm has no memory hotplug (mem_slots %u, "
                      "memory_mb %u, max_memory_mb %u)",
                      cfg->mem_slots, cfg->memory_mb, res->max_memory_mb);
    if (cfg->pcie_root_ports > VC_QEMU_MAX_ROOT_PORTS)
        return vc_err(ctx, -EINVAL, "qemu: pcie_root_ports %u is more than %u",
                      cfg->pcie_root_ports, VC_QEMU_MAX_ROOT_PORTS);
    if (cfg->pcie_root_ports && res->machine != VC_QEMU_MACHINE_Q35)
        return vc_err(ctx, -EINVAL, "qemu: pcie_root_ports need machine q35, not '%s'",
                      cl_machine_names[res->machine]);
    return 0;
}

/* Boot files, identity and the other strings that land in argv. */
static int cl_check_strings(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg)
{
    int r;

    if (cfg->binary && !*cfg->binary)
        return vc_err(ctx, -EINVAL, "qemu: binary is empty");
    if (cfg->binary && (r = cl_check_text(ctx, "binary", cfg->binary, VC_QEMU_PATH_MAX)) < 0)
        return r;
    if (!cfg->kernel)
        return vc_err(ctx, -EINVAL, "qemu: kernel is missing");
    if (!cfg->initrd == !cfg->image)
        return vc_err(ctx, -EINVAL, "qemu: need exactly one of initrd and image (%s given)",
                      cfg->initrd ? "both" : "neither");
    if ((r = cl_check_path(ctx, "kernel", cfg->kernel, VC_QEMU_PATH_MAX)) < 0 ||
        (r = cl_check_path(ctx, "initrd", cfg->initrd, VC_QEMU_PATH_MAX)) < 0 ||
        (r = cl_check_path(ctx, "image", cfg->image, VC_QEMU_PATH_MAX)) < 0 ||
        (r = cl_check_path(ctx, "run_dir", cfg->run_dir, VC_QEMU_PATH_MAX)) < 0)
        return r;
    if (cfg->kernel_params &&
        (r = cl_check_text(ctx, "kernel_params", cfg->kernel_params, VC_QEMU_APPEND_MAX)) < 0)
        return r;
    if ((r = vc_id_validate(ctx, "qemu: sandbox", cfg->sandbox_id)) < 0)
        return r;
    if ((r = cl_check_uuid(ctx, cfg->uuid)) < 0)
        return r;
    if (cfg->cpu_model && !*cfg->cpu_model)
        return vc_err(ctx, -EINVAL, "qemu: cpu_model is empty");
    if (cfg->cpu_model &&
        (r = cl_check_text(ctx, "cpu_model", cfg->cpu_model, CL_CPU_MODEL_MAX)) < 0)
        return r;
    return 0;
}

/* A virtio-serial port name: it becomes a sysfs name in the guest, so a plain identifier. */
static int cl_check_agent_name(struct vc_ctx *ctx, const char *name)
{
    size_t len = strnlen(name, CL_AGENT_NAME_MAX + 1);

    if (len == 0 || len > CL_AGENT_NAME_MAX)
        return vc_err(ctx, -EINVAL, "qemu: agent_name must have 1..%u bytes", CL_AGENT_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return vc_err(ctx, -EINVAL, "qemu: agent_name '%s' has an invalid character at %zu",
                          name, i);
    }
    return 0;
}

/* The fds handed to QEMU and the agent channel. */
static int cl_check_channels(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg)
{
    if (cfg->qmp_fd != -1 && cfg->qmp_fd < 3)
        return vc_err(ctx, -EINVAL, "qemu: qmp_fd %d is neither -1 nor a descriptor above stdio",
                      cfg->qmp_fd);
    if (cfg->agent == VC_QEMU_AGENT_VSOCK) {
        if (cfg->vsock_cid < 3 || cfg->vsock_cid == UINT32_MAX)
            return vc_err(ctx, -EINVAL, "qemu: vsock_cid %u is reserved (use 3..%u)",
                          cfg->vsock_cid, UINT32_MAX - 1);
        if (cfg->vhost_fd != -1 && cfg->vhost_fd < 3)
            return vc_err(ctx, -EINVAL,
                          "qemu: vhost_fd %d is neither -1 nor a descriptor above stdio",
                          cfg->vhost_fd);
    }
    if (cfg->agent == VC_QEMU_AGENT_SERIAL && cfg->agent_name)
        return cl_check_agent_name(ctx, cfg->agent_name);
    return 0;
}

static int cl_check(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg, struct cl_res *res)
{
    int r;

    if (!cfg)
        return vc_err(ctx, -EINVAL, "qemu: no command line config");
    if ((r = cl_check_kinds(ctx, cfg, res)) < 0 || (r = cl_check_sizes(ctx, cfg, res)) < 0 ||
        (r = cl_check_strings(ctx, cfg)) < 0 || (r = cl_check_channels(ctx, cfg)) < 0)
        return r;
    return 0;
}

/* --- paths ------------------------------------------------------------------------------------ */

/* The explicit path of kind what, or NULL; *used says whether cfg uses that kind at all. */
static const char *cl_path_field(const struct vc_qemu_cmdline_cfg *cfg, enum vc_qemu_path what,
                                 bool *used)
{
    *used = true;
    switch (what) {
    case VC_QEMU_PATH_QMP:
        return cfg->qmp_path;
    case VC_QEMU_PATH_CONSOLE:
        *used = cfg->console != VC_QEMU_CONSOLE_NONE;
        return cfg->console_path;
    case VC_QEMU_PATH_AGENT:
        *used = cfg->agent == VC_QEMU_AGENT_SERIAL;
        return cfg->agent_path;
    case VC_QEMU_PATH_PIDFILE:
        return cfg->pidfile;
    case VC_QEMU_PATH_LAST:
        break;
    }
    *used = false;
    return NULL;
}

/* The checked path of kind what (cfg already passed cl_check): 0 with *ret allocated,
 * -ENOENT if unused, -EINVAL, -ENOMEM. */
static int cl_path(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                   enum vc_qemu_path what, char **ret)
{
    bool used, socket;
    const char *given, *file;
    size_t max;
    char *p;
    int r;

    if ((unsigned) what >= VC_QEMU_PATH_LAST)
        return vc_err(ctx, -EINVAL, "qemu: unknown path kind %d", (int) what);
    given = cl_path_field(cfg, what, &used);
    if (!used)
        return -ENOENT;
    socket = cl_paths[what].socket;
    file = cl_paths[what].file;
    if (what == VC_QEMU_PATH_CONSOLE && cfg->console_out == VC_QEMU_CONSOLE_OUT_FILE) {
        socket = false;
        file = VC_QEMU_CONSOLE_LOG;
    }
    if (!given && !cfg->run_dir)
        return vc_err(ctx, -EINVAL, "qemu: %s is not set and there is no run_dir to put it in",
                      cl_paths[what].field);
    p = given ? vc_strdup(ctx, given) : vc_strdupf(ctx, "%s/%s", cfg->run_dir, file);
    if (!p)
        return vc_err(ctx, -ENOMEM, "out of memory");
    max = socket ? VC_QEMU_SOCK_PATH_MAX : VC_QEMU_PATH_MAX;
    if (socket && strnlen(p, max + 1) > max)
        r = vc_err(ctx, -EINVAL, "qemu: %s '%s' is longer than a unix socket path (%zu bytes)",
                   cl_paths[what].field, p, max);
    else
        r = cl_check_path(ctx, cl_paths[what].field, p, max);
    if (r < 0) {
        vc_free(ctx, p);
        return r;
    }
    *ret = p;
    return 0;
}

/* --- kernel command line ---------------------------------------------------------------------- */

/* cfg already passed cl_check. */
static int cl_params(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                     const struct cl_res *res, char **ret)
{
    static const char *const console_param[VC_QEMU_CONSOLE_LAST] = {
        [VC_QEMU_CONSOLE_NONE] = "",
        [VC_QEMU_CONSOLE_VIRTIO] = " console=hvc0",
        [VC_QEMU_CONSOLE_SERIAL] = " console=ttyS0",
    };
    bool microvm = res->machine == VC_QEMU_MACHINE_MICROVM;
    char *s;

    /* kata's amd64 defaults; microvm has neither a keyboard controller to reset through nor
     * PCI, so it reboots by triple fault and skips the PCI scan. */
    s = vc_strdupf(ctx,
                   "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 "
                   "i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=%s "
                   "cryptomgr.notests net.ifnames=0 pci=%s%s%s %s panic=1 nr_cpus=%u%s%s",
                   microvm ? "t" : "k", microvm ? "off" : "lastbus=0",
                   cfg->image ? " root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro "
                                "rootfstype=ext4"
                              : "",
                   console_param[cfg->console], cfg->debug ? "debug" : "quiet", res->max_vcpus,
                   cfg->kernel_params && *cfg->kernel_params ? " " : "",
                   cfg->kernel_params ? cfg->kernel_params : "");
    if (!s)
        return -ENOMEM;
    if (strlen(s) > VC_QEMU_APPEND_MAX) {
        size_t len = strlen(s);
        vc_free(ctx, s);
        return vc_err(ctx, -EINVAL, "qemu: kernel command line has %zu bytes, more than %u", len,
                      VC_QEMU_APPEND_MAX);
    }
    *ret = s;
    return 0;
}

int vc_qemu_cmdline_validate(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg)
{
    struct cl_res res;
    char *s = NULL;
    int r;

    if ((r = cl_check(ctx, cfg, &res)) < 0)
        return r;
    for (int i = 0; i < VC_QEMU_PATH_LAST; i++) {
        r = cl_path(ctx, cfg, (enum vc_qemu_path) i, &s);
        if (r == -ENOENT)
            continue;
        if (r < 0)
            return r;
        vc_free(ctx, s);
    }
    if ((r = cl_params(ctx, cfg, &res, &s)) < 0)
        return r;
    vc_free(ctx, s);
    return 0;
}

int vc_qemu_cmdline_path(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                         enum vc_qemu_path what, char **ret)
{
    int r = vc_qemu_cmdline_validate(ctx, cfg);

    return r < 0 ? r : cl_path(ctx, cfg, what, ret);
}

int vc_qemu_cmdline_kernel_params(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                                  char **ret)
{
    struct cl_res res;
    int r = vc_qemu_cmdline_validate(ctx, cfg);

    if (r < 0)
        return r;
    (void) cl_check(ctx, cfg, &res);
    return cl_params(ctx, cfg, &res, ret);
}

/* --- argv ------------------------------------------------------------------------------------- */

/* An argv under construction. The first failure sticks: later calls do nothing, and the
 * builder checks err once at the end, so the rendering code reads as the command line does. */
struct cl_argv {
    struct vc_ctx *ctx; /* allocator */
    char **v;           /* arguments, owned; NULL-terminated while n < cap */
    size_t n;           /* arguments in v */
    size_t cap;         /* slots allocated in v */
    int err;            /* first failure, 0 if none */
};

/* Appends s, taking ownership (NULL means its allocation failed). */
static void cl_push(struct cl_argv *a, char *s)
{
    char **v;

    if (!s && !a->err)
        a->err = vc_err(a->ctx, -ENOMEM, "out of memory");
    if (a->err) {
        vc_free(a->ctx, s);
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        v = vc_realloc(a->ctx, a->v, cap * sizeof(*v));
        if (!v) {
            a->err = vc_err(a->ctx, -ENOMEM, "out of memory");
            vc_free(a->ctx, s);
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void cl_add(struct cl_argv *a, const char *s)
{
    if (!a->err)
        cl_push(a, vc_strdup(a->ctx, s));
}

__attribute__((format(printf, 2, 3))) static void cl_addf(struct cl_argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    if (a->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = n < 0 ? NULL : vc_malloc(a->ctx, (size_t) n + 1);
    if (s) {
        va_start(ap, fmt);
        (void) vsnprintf(s, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }
    cl_push(a, s);
}

/* An option and its value as two arguments. */
static void cl_opt(struct cl_argv *a, const char *opt, const char *value)
{
    cl_add(a, opt);
    cl_add(a, value);
}

/* value with every ',' doubled, as QEMU's option lists want it; NULL (err set) on failure.
 * Free with vc_free. */
static char *cl_esc(struct cl_argv *a, const char *value)
{
    size_t len = 0;
    char *e, *p;

    if (a->err)
        return NULL;
    for (const char *c = value; *c; c++)
        len += *c == ',' ? 2 : 1;
    e = vc_malloc(a->ctx, len + 1);
    if (!e) {
        a->err = vc_err(a->ctx, -ENOMEM, "out of memory");
        return NULL;
    }
    p = e;
    for (const char *c = value; *c; c++) {
        *p++ = *c;
        if (*c == ',')
            *p++ = ',';
    }
    *p = '\0';
    return e;
}

/* The suffix of a virtio device's driver: <name>-pci, or <name>-device (virtio-mmio) on
 * microvm. */
static const char *cl_bus(const struct cl_res *res)
{
    return res->machine == VC_QEMU_MACHINE_MICROVM ? "device" : "pci";
}

/* -chardev socket (server) or file with the given id at path. */
static void cl_chardev(struct cl_argv *a, const char *id, const char *path, bool socket)
{
    char *e = cl_esc(a, path);

    cl_add(a, "-chardev");
    if (socket)
        cl_addf(a, "socket,id=%s,path=%s,server=on,wait=off", id, e);
    else
        cl_addf(a, "file,id=%s,path=%s", id, e);
    vc_free(a->ctx, e);
}

static void cl_head(struct cl_argv *a, const struct vc_qemu_cmdline_cfg *cfg,
                    const struct cl_res *res, const char *qmp)
{
    bool kvm = cfg->accel == VC_QEMU_ACCEL_KVM;
    const char *cpu = cfg->cpu_model ? cfg->cpu_model : kvm ? "host,pmu=off" : "max";
    char *e;

    cl_add(a, cfg->binary ? cfg->binary : VC_QEMU_DEFAULT_BINARY);
    cl_add(a, "-name");
    cl_addf(a, "sandbox-%s%s", cfg->sandbox_id, cfg->debug ? ",debug-threads=on" : "");
    cl_opt(a, "-uuid", cfg->uuid);
    cl_add(a, "-machine");
    cl_addf(a, "%s,accel=%s", cl_machine_names[res->machine],
            kvm ? "kvm,kernel_irqchip=on" : "tcg");
    cl_opt(a, "-cpu", cpu);
    cl_add(a, "-qmp");
    if (cfg->qmp_fd >= 0) {
        cl_addf(a, "unix:fd=%d,server=on,wait=off", cfg->qmp_fd);
    } else {
        e = cl_esc(a, qmp);
        cl_addf(a, "unix:%s,server=on,wait=off", e);
        vc_free(a->ctx, e);
    }
    cl_add(a, "-m");
    if (cfg->mem_slots == 0 && res->max_memory_mb == cfg->memory_mb)
        cl_addf(a, "%uM", cfg->memory_mb);
    else
        cl_addf(a, "%uM,slots=%u,maxmem=%uM", cfg->memory_mb, cfg->mem_slots, res->max_memory_mb);
}

/* The virtio-serial controller, the console and the agent's serial port. */
static void cl_serial(struct cl_argv *a, const struct vc_qemu_cmdline_cfg *cfg,
                      const struct cl_res *res, const char *console, const char *agent)
{
    bool sock = cfg->console_out == VC_QEMU_CONSOLE_OUT_SOCKET;

    if (cfg->console == VC_QEMU_CONSOLE_VIRTIO || cfg->agent == VC_QEMU_AGENT_SERIAL) {
        cl_add(a, "-device");
        cl_addf(a, "virtio-serial-%s,id=serial0", cl_bus(res));
    }
    if (cfg->console == VC_QEMU_CONSOLE_VIRTIO) {
        cl_opt(a, "-device", "virtconsole,id=console0,chardev=charconsole0");
        cl_chardev(a, "charconsole0", console, sock);
    } else if (cfg->console == VC_QEMU_CONSOLE_SERIAL) {
        cl_opt(a, "-serial", "chardev:charconsole0");
        cl_chardev(a, "charconsole0", console, sock);
    }
    if (cfg->agent == VC_QEMU_AGENT_SERIAL) {
        cl_chardev(a, "charch0", agent, true);
        cl_add(a, "-device");
        cl_addf(a, "virtserialport,chardev=charch0,id=channel0,name=%s",
                cfg->agent_name ? cfg->agent_name : VC_QEMU_AGENT_CHANNEL);
    }
}

/* The root image, rng, vsock and hotplug ports. */
static void cl_devices(struct cl_argv *a, const struct vc_qemu_cmdline_cfg *cfg,
                       const struct cl_res *res)
{
    char *e;

    if (cfg->image) {
        e = cl_esc(a, cfg->image);
        cl_add(a, "-device");
        cl_addf(a, "virtio-blk-%s,drive=image0,config-wce=off,share-rw=on,serial=image0",
                cl_bus(res));
        cl_add(a, "-drive");
        cl_addf(a, "id=image0,file=%s,aio=threads,format=raw,if=none,readonly=on", e);
        vc_free(a->ctx, e);
    }
    if (cfg->rng) {
        cl_opt(a, "-object", "rng-random,id=rng0,filename=/dev/urandom");
        cl_add(a, "-device");
        cl_addf(a, "virtio-rng-%s,rng=rng0", cl_bus(res));
    }
    if (cfg->agent == VC_QEMU_AGENT_VSOCK) {
        cl_add(a, "-device");
        if (cfg->vhost_fd >= 0)
            cl_addf(a, "vhost-vsock-%s,vhostfd=%d,id=vsock-%u,guest-cid=%u", cl_bus(res),
                    cfg->vhost_fd, cfg->vsock_cid, cfg->vsock_cid);
        else
            cl_addf(a, "vhost-vsock-%s,id=vsock-%u,guest-cid=%u", cl_bus(res), cfg->vsock_cid,
                    cfg->vsock_cid);
    }
    for (uint32_t i = 0; i < cfg->pcie_root_ports; i++) {
        cl_add(a, "-device");
        cl_addf(a, "pcie-root-port,id=rp%u,bus=pcie.0,chassis=0,slot=%u,multifunction=off", i, i);
    }
}

static void cl_tail(struct cl_argv *a, const struct vc_qemu_cmdline_cfg *cfg,
                    const struct cl_res *res, const char *append, const char *pidfile)
{
    static const char *const fixed[] = {"-vga",        "none",       "-no-user-config",
                                        "-nodefaults", "-nographic", "--no-reboot"};

    cl_opt(a, "-rtc", "base=utc,driftfix=slew,clock=host");
    if (cfg->accel == VC_QEMU_ACCEL_KVM)
        cl_opt(a, "-global", "kvm-pit.lost_tick_policy=discard");
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        cl_add(a, fixed[i]);
    cl_opt(a, "-kernel", cfg->kernel);
    if (cfg->initrd)
        cl_opt(a, "-initrd", cfg->initrd);
    cl_opt(a, "-append", append);
    cl_opt(a, "-pidfile", pidfile);
    cl_add(a, "-smp");
    cl_addf(a, "%u,cores=1,threads=1,sockets=%u,maxcpus=%u", cfg->vcpus, res->max_vcpus,
            res->max_vcpus);
}

/* The argv's parts, resolved once. */
struct cl_parts {
    char *path[VC_QEMU_PATH_LAST]; /* resolved paths, NULL when unused */
    char *append;                  /* kernel command line */
};

static void cl_parts_free(struct vc_ctx *ctx, struct cl_parts *p)
{
    for (int i = 0; i < VC_QEMU_PATH_LAST; i++)
        vc_free(ctx, p->path[i]);
    vc_free(ctx, p->append);
}

static int cl_parts_get(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                        const struct cl_res *res, struct cl_parts *p)
{
    int r;

    for (int i = 0; i < VC_QEMU_PATH_LAST; i++) {
        r = cl_path(ctx, cfg, (enum vc_qemu_path) i, &p->path[i]);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return cl_params(ctx, cfg, res, &p->append);
}

int vc_qemu_cmdline_build(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                          char ***ret_argv)
{
    struct cl_argv a = {.ctx = ctx};
    struct cl_parts p = {0};
    struct cl_res res;
    int r;

    if ((r = cl_check(ctx, cfg, &res)) < 0)
        return r;
    if ((r = cl_parts_get(ctx, cfg, &res, &p)) < 0)
        goto fail;
    cl_head(&a, cfg, &res, p.path[VC_QEMU_PATH_QMP]);
    cl_serial(&a, cfg, &res, p.path[VC_QEMU_PATH_CONSOLE], p.path[VC_QEMU_PATH_AGENT]);
    cl_devices(&a, cfg, &res);
    cl_tail(&a, cfg, &res, p.append, p.path[VC_QEMU_PATH_PIDFILE]);
    if ((r = a.err) < 0)
        goto fail;
    cl_parts_free(ctx, &p);
    *ret_argv = a.v;
    return 0;
fail:
    cl_parts_free(ctx, &p);
    vc_qemu_argv_free(ctx, a.v);
    return r;
}

void vc_qemu_argv_free(struct vc_ctx *ctx, char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        vc_free(ctx, *p);
    vc_free(ctx, argv);
}

/* --- rendering -------------------------------------------------------------------------------- */

/* Whether arg can go to a shell unquoted. */
static bool cl_shell_safe(const char *arg)
{
    if (!*arg)
        return false;
    for (const char *c = arg; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("_@%+=:,./-", *c)))
            return false;
    }
    return true;
}

/* Writes arg, quoted if needed, at out (when out is not NULL); returns its length. */
static size_t cl_quote(const char *arg, char *out)
{
    size_t n = 0;

    if (cl_shell_safe(arg)) {
        n = strlen(arg);
        if (out)
            memcpy(out, arg, n);
        return n;
    }
    if (out)
        out[n] = '\'';
    n++;
    for (const char *c = arg; *c; c++) {
        const char *piece = *c == '\'' ? "'\\''" : NULL;
        size_t len = piece ? strlen(piece) : 1;
        if (out)
            memcpy(out + n, piece ? piece : c, len);
        n += len;
    }
    if (out)
        out[n] = '\'';
    return n + 1;
}

/* Renders argv at out (NULL: only measures); returns the length without the NUL. */
static size_t cl_render(char *const *argv, unsigned flags, char *out)
{
    bool multi = flags & VC_QEMU_RENDER_MULTILINE;
    size_t n = 0;

    for (size_t i = 0; argv[i]; i++) {
        if (i > 0) {
            const char *sep = multi && argv[i][0] == '-' ? " \\\n" : " ";
            if (out)
                memcpy(out + n, sep, strlen(sep));
            n += strlen(sep);
        }
        n += cl_quote(argv[i], out ? out + n : NULL);
    }
    if (multi) {
        if (out)
            out[n] = '\n';
        n++;
    }
    return n;
}

int vc_qemu_argv_render(struct vc_ctx *ctx, char *const *argv, unsigned flags, char **ret)
{
    size_t n;
    char *s;

    if (!argv)
        return vc_err(ctx, -EINVAL, "qemu: no argv to render");
    n = cl_render(argv, flags, NULL);
    s = vc_malloc(ctx, n + 1);
    if (!s)
        return vc_err(ctx, -ENOMEM, "out of memory");
    (void) cl_render(argv, flags, s);
    s[n] = '\0';
    *ret = s;
    return 0;
}
