/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU command line as a pure function of its configuration (libvirt's way: argv is data,
 * compared with golden files). Nothing here touches the world: no files are opened, no fds
 * checked, no randomness drawn; the same config always gives the same argv. The launcher
 * (core/qemu/hv.c) decides the run-time facts, builds argv here and executes it.
 * Internal to core (include path from vc_internal). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct vc_ctx;
struct vc_hv_config;

/* ---------------------------------------------------------------------------------------------
 * What the argv assumes (read this before launching it)
 *
 * - No -daemonize. QEMU stays in the foreground: the launcher forks, execs argv[0] (execv, the
 *   path is used as is) and either reaps the child itself or double-forks so that init does.
 *   Nothing is attached to stdio (-nodefaults -nographic, no default serial or monitor): give
 *   QEMU /dev/null as stdin and a log file or pipe as stdout and stderr, which is where QEMU
 *   writes why it refused to start ("Property ... not found", "failed to open vhost device").
 * - -pidfile: QEMU writes its pid there (overwriting a stale file, holding a lock on it while it
 *   runs: a second QEMU on the same file refuses to start) and removes it when it exits.
 * - Sockets given as paths (QMP path form, console socket, agent serial socket) are created by
 *   QEMU as listening sockets (server=on,wait=off): their directory must exist; QEMU unlinks
 *   whatever file is at the path first and removes the socket when it exits. They appear only
 *   once QEMU has started, so a client must retry its connect. Paths are at most
 *   VC_QEMU_SOCK_PATH_MAX bytes (a sockaddr_un limit): with long ids or a deep run dir pass
 *   shorter explicit paths or the QMP fd form.
 * - QMP fd form (qmp_fd >= 3, kata's way, no race): the launcher creates the listening socket
 *   (socket, bind, listen) before it forks, and the child has it at fd number qmp_fd without
 *   FD_CLOEXEC (dup2 it there). The launcher may connect at once: the connection waits in the
 *   backlog until QEMU accepts it and sends its greeting.
 * - vhost-vsock with vhost_fd >= 3: the launcher opens /dev/vhost-vsock (O_RDWR), picks a free
 *   guest CID (kata reserves it with the VHOST_VSOCK_SET_GUEST_CID ioctl on that fd) and hands
 *   the fd to the child at number vhost_fd without FD_CLOEXEC. With vhost_fd -1 QEMU opens
 *   /dev/vhost-vsock itself. Either way the agent is then at vsock://<cid>:1024.
 * - A virtio console (hvc0) needs virtio_console in the guest kernel; Debian's kernels build it
 *   as a module, so early boot messages only reach a serial console (ttyS0).
 * - accel is rendered as given: the caller probes /dev/kvm (readable and writable) and falls
 *   back to TCG. "host" CPUs need KVM, so the TCG default CPU is "max". On a host whose KVM
 *   refuses IA32_ARCH_CAPABILITIES (QEMU 7.2 aborts: "failed to set MSR 0x10a") pass
 *   cpu_model "host,pmu=off,-arch-capabilities".
 * - microvm is for KVM. Under TCG its guest has no dependable clock (no HPET, no ACPI PM
 *   timer, no kvmclock; TSC calibration against the PIT fails on a busy host), so a share of
 *   boots hang early: under TCG prefer q35 or pc.
 * ------------------------------------------------------------------------------------------- */

#define VC_QEMU_DEFAULT_BINARY "/usr/bin/qemu-system-x86_64" /* kata's defaultQemuPath */
#define VC_QEMU_AGENT_CHANNEL  "agent.channel.0"             /* default virtio-serial port name */

/* Limits, each checked by vc_qemu_cmdline_validate (-EINVAL beyond them). */
#define VC_QEMU_MAX_VCPUS      240u  /* kata's MaxQemuVCPUs */
#define VC_QEMU_MAX_MEM_SLOTS  256u  /* QEMU refuses more -m slots */
#define VC_QEMU_MAX_ROOT_PORTS 16u   /* kata's maxPCIeRootPort */
#define VC_QEMU_SOCK_PATH_MAX  107u  /* sun_path less its NUL */
#define VC_QEMU_PATH_MAX       4095u /* any other path, PATH_MAX less its NUL */
#define VC_QEMU_APPEND_MAX     2047u /* kernel command line (x86 COMMAND_LINE_SIZE less NUL) */

/* File names under run_dir for the paths left NULL (kata's /run/vc/vm/<id>/ layout). */
#define VC_QEMU_QMP_SOCK     "qmp.sock"
#define VC_QEMU_CONSOLE_SOCK "console.sock"
#define VC_QEMU_CONSOLE_LOG  "console.log"
#define VC_QEMU_AGENT_SOCK   "agent.sock"
#define VC_QEMU_PIDFILE      "pid"

enum vc_qemu_machine {
    VC_QEMU_MACHINE_Q35,     /* PCIe (pcie.0), PCI hotplug through pcie-root-ports */
    VC_QEMU_MACHINE_PC,      /* i440fx (pci.0), ACPI PCI hotplug on the root bus */
    VC_QEMU_MACHINE_MICROVM, /* virtio-mmio devices only; no PCI, CPU or memory hotplug */
    VC_QEMU_MACHINE_LAST
};

enum vc_qemu_accel {
    VC_QEMU_ACCEL_KVM, /* accel=kvm,kernel_irqchip=on and -cpu host,pmu=off */
    VC_QEMU_ACCEL_TCG, /* accel=tcg (software emulation) and -cpu max */
    VC_QEMU_ACCEL_LAST
};

/* The guest console device; the kernel gets the matching console= parameter. */
enum vc_qemu_console {
    VC_QEMU_CONSOLE_NONE,   /* no console device, no console= */
    VC_QEMU_CONSOLE_VIRTIO, /* virtconsole on the virtio-serial controller: console=hvc0 */
    VC_QEMU_CONSOLE_SERIAL, /* the machine's 8250 UART (-serial): console=ttyS0 */
    VC_QEMU_CONSOLE_LAST
};

/* Where the console's bytes go on the host. */
enum vc_qemu_console_out {
    VC_QEMU_CONSOLE_OUT_SOCKET, /* a unix socket QEMU listens on (server=on,wait=off) */
    VC_QEMU_CONSOLE_OUT_FILE,   /* a log file QEMU writes (truncated at start) */
    VC_QEMU_CONSOLE_OUT_LAST
};

/* How the agent is reached. */
enum vc_qemu_agent_channel {
    VC_QEMU_AGENT_VSOCK,  /* vhost-vsock, guest CID vsock_cid (kata's default) */
    VC_QEMU_AGENT_SERIAL, /* a virtserialport named agent_name behind the unix socket agent_path */
    VC_QEMU_AGENT_NONE,   /* no agent channel */
    VC_QEMU_AGENT_LAST
};

/* The host paths a configuration uses (vc_qemu_cmdline_path). */
enum vc_qemu_path {
    VC_QEMU_PATH_QMP,     /* QMP socket */
    VC_QEMU_PATH_CONSOLE, /* console socket or log file */
    VC_QEMU_PATH_AGENT,   /* agent serial socket */
    VC_QEMU_PATH_PIDFILE, /* pid file */
    VC_QEMU_PATH_LAST
};

/* Everything the command line depends on. Strings are borrowed for the duration of each call.
 * Start from vc_qemu_cmdline_cfg_init, which sets the defaults and copies the vc_hv_config
 * part, then fill in the run-time facts. */
struct vc_qemu_cmdline_cfg {
    /* From struct vc_hv_config. */
    const char *binary;        /* QEMU binary, argv[0] (NULL: VC_QEMU_DEFAULT_BINARY) */
    const char *machine_type;  /* "q35", "pc" or "microvm" (NULL: "q35") */
    uint32_t vcpus;            /* vCPUs at boot, 1..max_vcpus */
    uint32_t max_vcpus;        /* vCPU slots, at most VC_QEMU_MAX_VCPUS (0: vcpus) */
    uint32_t memory_mb;        /* memory at boot in MiB, > 0 */
    uint32_t max_memory_mb;    /* memory hotplug ceiling in MiB (0: memory_mb) */
    uint32_t mem_slots;        /* DIMM slots; > 0 needs max_memory_mb > memory_mb */
    const char *kernel;        /* guest kernel, absolute path (required) */
    const char *initrd;        /* initramfs, absolute path; exactly one of initrd and image */
    const char *image;         /* raw root disk image (virtio-blk, read-only), absolute path */
    const char *kernel_params; /* the user's kernel parameters, appended last (NULL: none) */
    /* Run-time facts the launcher decides. */
    const char *sandbox_id;               /* sandbox id (vc_id_validate rules): -name */
    const char *uuid;                     /* VM UUID, 8-4-4-4-12 hex digits: -uuid */
    const char *run_dir;                  /* absolute; the NULL paths below are made in it */
    enum vc_qemu_accel accel;             /* KVM or TCG, as probed by the caller */
    const char *cpu_model;                /* -cpu (NULL: "host,pmu=off" on KVM, "max" on TCG) */
    int qmp_fd;                           /* >= 3: QMP listener passed as unix:fd=N; -1: path */
    const char *qmp_path;                 /* QMP socket (NULL: run_dir/VC_QEMU_QMP_SOCK) */
    const char *pidfile;                  /* pid file (NULL: run_dir/VC_QEMU_PIDFILE) */
    enum vc_qemu_console console;         /* console device */
    enum vc_qemu_console_out console_out; /* console socket or log file */
    const char *console_path; /* NULL: run_dir/VC_QEMU_CONSOLE_SOCK or VC_QEMU_CONSOLE_LOG */
    enum vc_qemu_agent_channel agent; /* agent channel */
    uint32_t vsock_cid;               /* vsock: guest CID, 3..0xfffffffe */
    int vhost_fd;                     /* vsock: >= 3: open /dev/vhost-vsock fd; -1: QEMU opens it */
    const char *agent_path;           /* serial: host socket (NULL: run_dir/VC_QEMU_AGENT_SOCK) */
    const char *agent_name;           /* serial: port name (NULL: VC_QEMU_AGENT_CHANNEL) */
    uint32_t pcie_root_ports;         /* q35 only: hotplug ports rp0.., at most 16 */
    bool rng;                         /* virtio-rng fed from the host's /dev/urandom */
    bool debug; /* kernel "debug" instead of "quiet"; QEMU names its threads */
};

/* "q35", "pc", "microvm"; NULL for an unknown value. */
const char *vc_qemu_machine_to_string(enum vc_qemu_machine machine);
/* The machine named (NULL means the default, q35); -1 for an unknown name. */
int vc_qemu_machine_from_string(const char *name);

/* Resets *cfg to the defaults (q35 through the NULL machine type, KVM, vsock with vhost_fd -1,
 * qmp_fd -1, virtio console to a socket, rng on, no root ports) and, if hv is not NULL, copies
 * its path, machine type, CPU, memory, kernel, initrd, image and kernel params (strings
 * borrowed: hv must outlive every use of cfg). */
void vc_qemu_cmdline_cfg_init(struct vc_qemu_cmdline_cfg *cfg, const struct vc_hv_config *hv);

/* Checks cfg: 0, or -EINVAL with a message naming the offending field (vcpus > max_vcpus,
 * memory > max, a missing kernel, both or neither of initrd and image, an unknown machine type,
 * hotplug the machine cannot do, a relative or too long path, a control character in a string,
 * a bad uuid or CID, a kernel command line over VC_QEMU_APPEND_MAX, ...), or -ENOMEM. */
int vc_qemu_cmdline_validate(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg);

/* The host path cfg uses for what: the explicit one, or the default under run_dir. The QMP path
 * is defined in the fd form too (where the launcher should bind its listener). 0 with *ret
 * allocated through the context (vc_free); -ENOENT when cfg uses no such path (console NONE,
 * an agent that is not serial), -EINVAL for an invalid cfg, -ENOMEM. *ret untouched on
 * failure. */
int vc_qemu_cmdline_path(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                         enum vc_qemu_path what, char **ret);

/* The kernel command line (-append) cfg gives: kata's amd64 defaults (on microvm reboot=t and
 * pci=off, as it has no keyboard controller to reset through and no PCI), the image's root=
 * parameters, console=, quiet or debug, panic=1, nr_cpus=<max_vcpus>, then the user's
 * kernel_params (last, so they win). 0 with *ret allocated through the context (vc_free);
 * -EINVAL for an invalid cfg; -ENOMEM. */
int vc_qemu_cmdline_kernel_params(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                                  char **ret);

/* Builds the argv for cfg (validating it first): a NULL-terminated array whose argv[0] is the
 * binary, in govmm's order (-name, -uuid, -machine, -cpu, -qmp, -m, devices, -rtc, -global,
 * -vga none -no-user-config -nodefaults -nographic --no-reboot, -kernel, -initrd or the image,
 * -append, -pidfile, -smp). Values inside QEMU option lists have their commas doubled. 0 with
 * *ret_argv owned by the caller (free with vc_qemu_argv_free); -EINVAL (message recorded) for an
 * invalid cfg; -ENOMEM. *ret_argv untouched on failure. */
int vc_qemu_cmdline_build(struct vc_ctx *ctx, const struct vc_qemu_cmdline_cfg *cfg,
                          char ***ret_argv);

/* Frees an argv from vc_qemu_cmdline_build, strings and array. NULL-safe. */
void vc_qemu_argv_free(struct vc_ctx *ctx, char **argv);

enum {
    VC_QEMU_RENDER_MULTILINE = 1u << 0, /* one option per line, "\" line ends (golden files) */
};

/* Renders a NULL-terminated argv as one shell command: each argument quoted for a POSIX shell
 * where needed ('...', with ' as '\''), joined by spaces, or with VC_QEMU_RENDER_MULTILINE an
 * option and its value on a line of their own, lines ending " \" and the last one "\n"
 * (libvirt's .args style). Either form pasted into sh runs the same argv. 0 with *ret allocated
 * through the context (vc_free); -EINVAL for a NULL argv; -ENOMEM. */
int vc_qemu_argv_render(struct vc_ctx *ctx, char *const *argv, unsigned flags, char **ret);
