/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU hypervisor backend (kind "qemu"): real QEMU launched detached from the runtime and
 * driven over QMP, so separate processes can drive one VM. vc_ctx_new_real registers it. */
#pragma once

#include <vc/hv.h>

/* ---------------------------------------------------------------------------------------------
 * How a VM lives on the host
 *
 * - Run directory <root>/vm/<sandbox id>/ (mode 0700), root being the context's filesystem store
 *   root (/run/vc, $XDG_RUNTIME_DIR/vc or $VC_ROOT): qmp.sock (the runtime binds it and hands
 *   the listener to QEMU), agent.sock (virtio-serial agent channel), console.log (the guest's
 *   serial console), qemu.log (QEMU's own stdout and stderr), pid (written by QEMU, -pidfile).
 *   cleanup removes it. Socket paths must fit a sockaddr_un (107 bytes).
 * - QEMU is started with a double fork and setsid: it is never the runtime's child and outlives
 *   the command that started it. start returns once QMP answers and query-status says running;
 *   it kills QEMU on every error path. stop sends QMP quit and waits up to 5 s, then SIGKILL.
 * - A pid is trusted only while /proc/PID/cmdline holds the VM's pid file path; check is that
 *   plus a QMP query-status, and reports -ESRCH once QEMU is gone.
 * - Agent channel: vhost-vsock when /dev/vhost-vsock exists (CID reserved kata's way, endpoint
 *   vsock://CID:1024), else a virtio-serial port named agent.channel.0 behind
 *   <run dir>/agent.sock (endpoint serial://<run dir>/agent.sock).
 * - Hotplug: vCPUs (cpu-<n>, QMP device_add after query-hotpluggable-cpus), memory DIMMs
 *   (memory-backend-ram + pc-dimm, needs mem_slots and max_memory_mb), block devices (raw file,
 *   or a null-co node when the device has no path, as virtio-blk-pci into a free pcie-root-port
 *   on q35). CPU and block hot-remove; memory cannot be removed. Net and VFIO: -EOPNOTSUPP.
 * - console is file://<run dir>/console.log (the guest's ttyS0); pids is QEMU's pid then its
 *   vCPU threads' ids; save (VM templates) is -EOPNOTSUPP.
 * - Hot-added CPUs and DIMMs wait (at most 5 s) for the guest's ACPI _OST answer, so that the
 *   agent's OnlineCPUMem, which the core sends next, finds them in sysfs. A VM only takes
 *   hotplug events once its guest is up (after the agent answered); QEMU 7.2 under TCG aborts on
 *   a device_add that follows a CPU hot-remove.
 *
 * Environment (read when a VM is created, then recorded in its state):
 *   VC_QEMU_ACCEL=kvm|tcg|auto  accelerator (default auto: KVM when /dev/kvm opens read-write,
 *                               falling back to TCG once if QEMU dies under KVM before QMP is
 *                               up; kvm never falls back)
 *   VC_QEMU_AGENT=vsock|serial  agent channel (default: vsock when /dev/vhost-vsock exists)
 *   VC_QEMU_CPU=MODEL           -cpu value (default: host,pmu=off on KVM, max on TCG)
 *   VC_QEMU_ROOT_PORTS=N        pcie-root-ports for block hotplug on q35 (default 2, at most 16)
 *   VC_QEMU_DEBUG=1             kernel "debug" instead of "quiet", named QEMU threads
 * ------------------------------------------------------------------------------------------- */

#define VC_QEMU_DEFAULT_ROOT_PORTS 2u     /* pcie-root-ports on q35 unless overridden */
#define VC_QEMU_STOP_TIMEOUT_MS    5000u  /* quit, then SIGKILL after this long */
#define VC_QEMU_WAIT_TIMEOUT_MS    15000u /* stop(wait_only): kata's 15 s, then SIGKILL */
#define VC_QEMU_QMP_TIMEOUT_MS     10000u /* a QMP reconnect or command, after start */
#define VC_QEMU_UNPLUG_TIMEOUT_MS  20000u /* device_del until DEVICE_DELETED */
#define VC_QEMU_NULL_BLOCK_MB      64u    /* a null-co block device without a size */

extern const struct vc_hv_ops vc_qemu_hv_ops;
