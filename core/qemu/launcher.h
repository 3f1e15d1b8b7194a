/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU backend's contact with the host (internal to core): the run directory, KVM and
 * vhost-vsock probes, guest CID allocation, the QMP listener, the detached launch of QEMU and
 * the checks and waits on its pid. Everything here is real-world only (launcher.c makes the
 * syscalls); the hypervisor logic in hv.c reaches the host through these functions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vc_ctx;

#define VC_QEMU_CID_MIN     3u          /* lowest guest CID (0-2 are reserved) */
#define VC_QEMU_CID_MAX     0xfffffffeu /* highest guest CID (-1 means any) */
#define VC_QEMU_CID_TRIES   65536u      /* probes per direction before giving up */
#define VC_QEMU_AGENT_PORT  1024u       /* kata-agent's vsock port */
#define VC_QEMU_LOG         "qemu.log"  /* QEMU's stdout and stderr, in the run dir */
#define VC_QEMU_LOG_TAIL    320u        /* bytes of the log quoted in a start error */
#define VC_QEMU_CMDLINE_MAX (1u << 16)  /* bytes of /proc/PID/cmdline read for the check */
#define VC_QEMU_PIDFILE_MAX 32u         /* bytes of a pid file read */

/* The root the VM run dirs go under: the context's filesystem store root, else what the store
 * would pick ($VC_ROOT, /run/vc as root, $XDG_RUNTIME_DIR/vc). 0 with *ret allocated through
 * the context; -EINVAL (recorded) when there is none. */
int vc_qemu_run_root(struct vc_ctx *ctx, char **ret);

/* Makes dir (mode 0700) and its parent <root>/vm if missing. 0 or -errno (recorded). An
 * existing dir is kept as is. */
int vc_qemu_run_dir_make(struct vc_ctx *ctx, const char *dir);
/* Removes dir and the files in it (one level: the run dir holds no subdirectories). A missing
 * dir is fine. 0 or -errno (recorded). */
int vc_qemu_run_dir_remove(struct vc_ctx *ctx, const char *dir);
/* Whether path exists (any kind of file). */
bool vc_qemu_path_exists(const char *path);

/* Whether /dev/kvm opens read-write. */
bool vc_qemu_kvm_usable(void);
/* Whether /dev/vhost-vsock exists. */
bool vc_qemu_vhost_vsock_present(void);

/* Tries cid: 0 when it was free and is now reserved, -EADDRINUSE when taken, other -errno to
 * stop the search. */
typedef int vc_qemu_cid_probe_fn(void *data, uint32_t cid);

/* kata's FindContextID as a pure search: start (clamped into [VC_QEMU_CID_MIN,
 * VC_QEMU_CID_MAX]), upward to VC_QEMU_CID_MAX, then downward from start - 1 to VC_QEMU_CID_MIN,
 * at most VC_QEMU_CID_TRIES probes each way. 0 with *ret the reserved CID; -EADDRNOTAVAIL when
 * every probe found its CID taken; a probe's other error at once. */
int vc_qemu_cid_search(uint32_t start, vc_qemu_cid_probe_fn *probe, void *data, uint32_t *ret);

/* Opens /dev/vhost-vsock and reserves a guest CID on it (VHOST_VSOCK_SET_GUEST_CID), starting at
 * a random CID from the context. 0 with *ret_fd (O_CLOEXEC, owned by the caller) and *ret_cid;
 * -errno recorded. */
int vc_qemu_vhost_vsock_open(struct vc_ctx *ctx, int *ret_fd, uint32_t *ret_cid);

/* Binds and listens on the unix socket path (a stale file there is removed first), then
 * connects a client to it, which waits in the backlog until QEMU accepts it: there is no window
 * in which QEMU runs and its QMP socket is missing, and when QEMU dies the client sees the
 * connection reset. 0 with *ret_listen_fd and *ret_client_fd (non-blocking, O_CLOEXEC, owned by
 * the caller); -errno recorded. */
int vc_qemu_qmp_listen(struct vc_ctx *ctx, const char *path, int *ret_listen_fd,
                       int *ret_client_fd);

/* Launches argv (argv[0] a path, executed as is) detached from the caller: a double fork with
 * setsid, so QEMU outlives the process that started it and is never its child; stdin from
 * /dev/null, stdout and stderr appended to log_path (created 0600); pass_fds[i] becomes fd
 * 3 + i in QEMU (at most 4; -1 entries are skipped but keep their number); every other fd is
 * closed at exec; signals reset to their defaults. 0 with *ret_pid QEMU's pid once it has been
 * exec'd; -ENOENT/-EACCES... when it cannot be executed (recorded, naming argv[0]); -errno. */
int vc_qemu_spawn(struct vc_ctx *ctx, char *const *argv, const int *pass_fds, size_t n_fds,
                  const char *log_path, pid_t *ret_pid);

/* Whether pid is a live process (not a zombie) whose command line has an argument equal to
 * marker (the VM's pid file path): kill(pid, 0) plus /proc/PID/cmdline, so a recycled pid is
 * not taken for QEMU. */
bool vc_qemu_pid_alive(struct vc_ctx *ctx, pid_t pid, const char *marker);

/* Waits on the context's loop until vc_qemu_pid_alive(pid, marker) is false or timeout_ns
 * passes, and reaps the process if it was seen alive and is this process's child. 0 once gone,
 * -ETIMEDOUT (not recorded). */
int vc_qemu_pid_wait_exit(struct vc_ctx *ctx, pid_t pid, const char *marker, uint64_t timeout_ns);

/* SIGKILLs pid if it is still the VM's process, then waits up to timeout_ns for it to go. 0 once
 * gone (or when it was already), -ETIMEDOUT (recorded). */
int vc_qemu_pid_kill(struct vc_ctx *ctx, pid_t pid, const char *marker, uint64_t timeout_ns);

/* Reads a pid file: 0 with *ret > 0; -ENOENT when absent; -EINVAL for a malformed one. Not
 * recorded. */
int vc_qemu_pidfile_read(const char *path, pid_t *ret);

/* The last bytes of the log at path (at most size - 1, from a line start when one is near),
 * control characters and newlines shown as spaces, into buf (always NUL-terminated; "" when
 * unreadable). */
void vc_qemu_log_tail(const char *path, char *buf, size_t size);

/* A random RFC 4122 version 4 UUID from the context's generator, into buf (37 bytes). */
void vc_qemu_uuid(struct vc_ctx *ctx, char buf[37]);

/* Appends text and a newline to the log at path (created 0600), best effort: the launcher
 * records each command line it runs there. */
void vc_qemu_log_append(const char *path, const char *text);
