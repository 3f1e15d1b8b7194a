/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU backend's host side (launcher.h): run directories, the KVM and vhost-vsock probes,
 * CID reservation, the QMP listener, QEMU's detached launch (double fork, setsid, pid handed back
 * through a pipe) and the checks and waits on its pid. Real-world only: this file makes
 * syscalls (fork, exec, kill, ioctl, sockets, the filesystem) directly; its waits run on the
 * context's loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vhost.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>

#include "cleanup.h"
#include "launcher.h"

#define LAUNCH_MAX_FDS   4u                          /* fds passed to QEMU at 3.. */
#define LAUNCH_HIGH_FD   16                          /* where passed fds wait before their dup2 */
#define WAIT_STEP_MIN_NS (1000ull * 1000ull)         /* first wait step on a pid */
#define WAIT_STEP_MAX_NS (20ull * 1000ull * 1000ull) /* longest wait step on a pid */

/* --- run directory ---------------------------------------------------------------------------- */

int vc_qemu_run_root(struct vc_ctx *ctx, char **ret)
{
    struct vc_store *store = vc_ctx_store(ctx);
    const char *root = NULL, *xdg;
    char *s;

    if (store && store->ops && store->ops->name && strcmp(store->ops->name, "fs") == 0)
        root = vc_store_fs_root(store);
    if (!root || !*root)
        root = secure_getenv("VC_ROOT");
    if (root && *root)
        s = vc_strdup(ctx, root);
    else if (geteuid() == 0)
        s = vc_strdup(ctx, "/run/vc");
    else if ((xdg = getenv("XDG_RUNTIME_DIR")) && *xdg)
        s = vc_strdupf(ctx, "%s/vc", xdg);
    else
        return vc_err(ctx, -EINVAL, "qemu: no run directory root: set VC_ROOT or XDG_RUNTIME_DIR");
    if (!s)
        return vc_err(ctx, -ENOMEM, "out of memory");
    if (s[0] != '/') {
        (void) vc_err(ctx, -EINVAL, "qemu: run directory root '%s' is not absolute", s);
        vc_free(ctx, s);
        return -EINVAL;
    }
    *ret = s;
    return 0;
}

static int mkdir_one(struct vc_ctx *ctx, const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return vc_err(ctx, -errno, "qemu: cannot make '%s': %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return vc_err(ctx, -ENOTDIR, "qemu: '%s' is not a directory", dir);
    return 0;
}

int vc_qemu_run_dir_make(struct vc_ctx *ctx, const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    int r;

    if (len >= sizeof(path) || dir[0] != '/')
        return vc_err(ctx, -EINVAL, "qemu: bad run directory '%.64s'", dir);
    memcpy(path, dir, len + 1);
    /* The root itself may be missing on a fresh host: the whole chain, root first. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        r = mkdir_one(ctx, path);
        *p = '/';
        if (r < 0)
            return r;
    }
    return mkdir_one(ctx, path);
}

int vc_qemu_run_dir_remove(struct vc_ctx *ctx, const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int r = 0, fd;

    if (!d)
        return errno == ENOENT ? 0 : vc_err(ctx, -errno, "qemu: cannot open '%s'", dir);
    fd = dirfd(d);
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
            r = vc_err(ctx, -errno, "qemu: cannot remove '%s/%s': %s", dir, de->d_name,
                       strerror(errno));
    }
    (void) closedir(d);
    if (r == 0 && rmdir(dir) < 0 && errno != ENOENT)
        r = vc_err(ctx, -errno, "qemu: cannot remove '%s': %s", dir, strerror(errno));
    return r;
}

bool vc_qemu_path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* --- probes ----------------------------------------------------------------------------------- */

bool vc_qemu_kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return false;
    (void) close(fd);
    return true;
}

bool vc_qemu_vhost_vsock_present(void)
{
    return access("/dev/vhost-vsock", F_OK) == 0;
}

int vc_qemu_cid_search(uint32_t start, vc_qemu_cid_probe_fn *probe, void *data, uint32_t *ret)
{
    uint32_t cid, n;
    int r;

    if (start < VC_QEMU_CID_MIN)
        start = VC_QEMU_CID_MIN;
    if (start > VC_QEMU_CID_MAX)
        start = VC_QEMU_CID_MAX;
    for (cid = start, n = 0; n < VC_QEMU_CID_TRIES; cid++, n++) {
        r = probe(data, cid);
        if (r == 0) {
            *ret = cid;
            return 0;
        }
        if (r != -EADDRINUSE)
            return r;
        if (cid == VC_QEMU_CID_MAX)
            break;
    }
    for (cid = start, n = 0; cid > VC_QEMU_CID_MIN && n < VC_QEMU_CID_TRIES; n++) {
        r = probe(data, --cid);
        if (r == 0) {
            *ret = cid;
            return 0;
        }
        if (r != -EADDRINUSE)
            return r;
    }
    return -EADDRNOTAVAIL;
}

static int vhost_cid_probe(void *data, uint32_t cid)
{
    uint64_t v = cid;

    return ioctl(*(int *) data, VHOST_VSOCK_SET_GUEST_CID, &v) < 0 ? -errno : 0;
}

int vc_qemu_vhost_vsock_open(struct vc_ctx *ctx, int *ret_fd, uint32_t *ret_cid)
{
    uint64_t span = (uint64_t) VC_QEMU_CID_MAX - VC_QEMU_CID_MIN + 1;
    uint32_t start = (uint32_t) (VC_QEMU_CID_MIN + vc_random(ctx) % span), cid = 0;
    int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC), r;

    if (fd < 0)
        return vc_err(ctx, -errno, "qemu: cannot open /dev/vhost-vsock: %s", strerror(errno));
    r = vc_qemu_cid_search(start, vhost_cid_probe, &fd, &cid);
    if (r < 0) {
        (void) close(fd);
        return vc_err(ctx, r, "qemu: no free vsock guest cid (searched from %" PRIu32 "): %s",
                      start, strerror(-r));
    }
    *ret_fd = fd;
    *ret_cid = cid;
    return 0;
}

/* --- QMP listener ----------------------------------------------------------------------------- */

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);

    if (len >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    memcpy(sa->sun_path, path, len + 1);
    return 0;
}

int vc_qemu_qmp_listen(struct vc_ctx *ctx, const char *path, int *ret_listen_fd, int *ret_client_fd)
{
    vc_autoclose int lfd = -1;
    vc_autoclose int cfd = -1;
    struct sockaddr_un sa;
    int r = unix_addr(path, &sa);

    if (r < 0)
        return vc_err(ctx, r, "qemu: qmp socket path '%s' is too long", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return vc_err(ctx, -errno, "qemu: cannot remove stale '%s': %s", path, strerror(errno));
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return vc_err(ctx, -errno, "qemu: socket: %s", strerror(errno));
    if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0)
        return vc_err(ctx, -errno, "qemu: cannot listen on '%s': %s", path, strerror(errno));
    cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (cfd < 0)
        return vc_err(ctx, -errno, "qemu: socket: %s", strerror(errno));
    if (connect(cfd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
        return vc_err(ctx, -errno, "qemu: cannot connect to '%s': %s", path, strerror(errno));
    *ret_listen_fd = VC_TAKE_FD(lfd);
    *ret_client_fd = VC_TAKE_FD(cfd);
    return 0;
}

/* --- launch ----------------------------------------------------------------------------------- */

/* What the launch's children tell the parent through the pipe. */
struct launch_msg {
    int32_t kind;  /* LAUNCH_PID or LAUNCH_ERRNO */
    int32_t value; /* the pid, or the errno of the failed step */
    int32_t step;  /* which step failed (enum launch_step) */
};

enum { LAUNCH_PID = 1, LAUNCH_ERRNO = 2 };
enum launch_step { STEP_SETSID, STEP_FORK, STEP_FDS, STEP_EXEC, STEP_LAST };

static const char *const launch_step_names[STEP_LAST] = {
    [STEP_SETSID] = "setsid",
    [STEP_FORK] = "fork",
    [STEP_FDS] = "set up fds",
    [STEP_EXEC] = "exec",
};

static void launch_tell(int fd, int32_t kind, int32_t value, int32_t step)
{
    struct launch_msg m = {kind, value, step};

    /* A pipe write of a few bytes is atomic; nothing can be done if it fails. */
    if (write(fd, &m, sizeof(m)) < 0)
        return;
}

/* In the grandchild: the fds QEMU gets, then exec. Only async-signal-safe calls. */
__attribute__((noreturn)) static void launch_exec(char *const *argv, const int *pass_fds,
                                                  size_t n_fds, int null_fd, int log_fd,
                                                  int pipe_fd)
{
    int tmp[LAUNCH_MAX_FDS];
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int sig = 1; sig < NSIG; sig++)
        (void) sigaction(sig, &sa, NULL);
    (void) sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    /* Out of the way first, so no dup2 below overwrites a source still to be placed. */
    for (size_t i = 0; i < n_fds; i++) {
        tmp[i] = pass_fds[i] < 0 ? -1 : fcntl(pass_fds[i], F_DUPFD_CLOEXEC, LAUNCH_HIGH_FD);
        if (pass_fds[i] >= 0 && tmp[i] < 0)
            goto fail;
    }
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0)
        goto fail;
    for (size_t i = 0; i < n_fds; i++)
        if (tmp[i] >= 0 && dup2(tmp[i], (int) (3 + i)) < 0)
            goto fail;
    /* Everything above the passed fds closes at exec (the pipe too, which tells the parent the
     * exec happened). */
    (void) syscall(SYS_close_range, (unsigned) (3 + n_fds), ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    if (fcntl(pipe_fd, F_SETFD, FD_CLOEXEC) < 0)
        goto fail;
    execv(argv[0], argv);
    launch_tell(pipe_fd, LAUNCH_ERRNO, errno, STEP_EXEC);
    _exit(127);
fail:
    launch_tell(pipe_fd, LAUNCH_ERRNO, errno, STEP_FDS);
    _exit(127);
}

/* In the child: a new session, the grandchild, then leave so init adopts it. */
__attribute__((noreturn)) static void launch_child(char *const *argv, const int *pass_fds,
                                                   size_t n_fds, int null_fd, int log_fd,
                                                   int pipe_fd)
{
    pid_t pid;

    if (setsid() < 0) {
        launch_tell(pipe_fd, LAUNCH_ERRNO, errno, STEP_SETSID);
        _exit(127);
    }
    pid = fork();
    if (pid < 0) {
        launch_tell(pipe_fd, LAUNCH_ERRNO, errno, STEP_FORK);
        _exit(127);
    }
    if (pid == 0)
        launch_exec(argv, pass_fds, n_fds, null_fd, log_fd, pipe_fd);
    launch_tell(pipe_fd, LAUNCH_PID, pid, 0);
    _exit(0);
}

/* Reads the children's messages until every write end is closed (the grandchild exec'd or
 * died, the child left). 0 with *ret_pid, or -errno of the failed step (recorded). */
static int launch_collect(struct vc_ctx *ctx, int fd, const char *binary, pid_t *ret_pid)
{
    struct launch_msg m;
    pid_t pid = 0;
    int err = 0, step = 0;
    ssize_t n;

    for (;;) {
        n = read(fd, &m, sizeof(m));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (n != (ssize_t) sizeof(m))
            return vc_err(ctx, -EPROTO, "qemu: launch: short message from the launcher");
        if (m.kind == LAUNCH_PID && m.value > 0)
            pid = m.value;
        else if (m.kind == LAUNCH_ERRNO && !err) {
            err = m.value > 0 ? m.value : EIO;
            step = m.step >= 0 && m.step < STEP_LAST ? m.step : STEP_EXEC;
        }
    }
    if (err && step == STEP_EXEC)
        return vc_err(ctx, -err, "qemu: cannot execute '%s': %s", binary, strerror(err));
    if (err)
        return vc_err(ctx, -err, "qemu: launch: %s failed: %s", launch_step_names[step],
                      strerror(err));
    if (pid <= 0)
        return vc_err(ctx, -ECHILD, "qemu: launch: the launcher died before starting '%s'", binary);
    *ret_pid = pid;
    return 0;
}

/* The close-on-exec pipe closes a moment before the kernel gives the new program its command
 * line, and until then /proc/<pid>/cmdline reads empty: wait that moment out (1 s at most), so
 * that vc_qemu_pid_alive recognises QEMU from the first instant it is asked. */
static void launch_wait_cmdline(struct vc_ctx *ctx, pid_t pid)
{
    uint64_t end = vc_now(ctx) + UINT64_C(1000000000);
    char path[64], c;

    (void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
    while (vc_now(ctx) < end && kill(pid, 0) == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, &c, 1) : -1;

        if (fd >= 0)
            (void) close(fd);
        if (n != 0)
            return;
        (void) vc_ctx_sleep_until(ctx, vc_now(ctx) + UINT64_C(1000000));
    }
}

int vc_qemu_spawn(struct vc_ctx *ctx, char *const *argv, const int *pass_fds, size_t n_fds,
                  const char *log_path, pid_t *ret_pid)
{
    vc_autoclose int null_fd = -1;
    vc_autoclose int log_fd = -1;
    int pipefd[2] = {-1, -1};
    pid_t child;
    int r, status;

    if (!argv || !argv[0] || n_fds > LAUNCH_MAX_FDS || (n_fds && !pass_fds) || !log_path)
        return vc_err(ctx, -EINVAL, "qemu: launch: bad arguments");
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0)
        return vc_err(ctx, -errno, "qemu: cannot open /dev/null: %s", strerror(errno));
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log_fd < 0)
        return vc_err(ctx, -errno, "qemu: cannot open '%s': %s", log_path, strerror(errno));
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return vc_err(ctx, -errno, "qemu: pipe: %s", strerror(errno));
    child = fork();
    if (child < 0) {
        r = vc_err(ctx, -errno, "qemu: fork: %s", strerror(errno));
        (void) close(pipefd[0]);
        (void) close(pipefd[1]);
        return r;
    }
    if (child == 0) {
        (void) close(pipefd[0]);
        launch_child(argv, pass_fds, n_fds, null_fd, log_fd, pipefd[1]);
    }
    (void) close(pipefd[1]);
    r = launch_collect(ctx, pipefd[0], argv[0], ret_pid);
    (void) close(pipefd[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (r >= 0)
        launch_wait_cmdline(ctx, *ret_pid);
    return r;
}

/* --- the pid ---------------------------------------------------------------------------------- */

/* Whether /proc/PID/cmdline has an argument equal to marker. A zombie's is empty. */
static bool pid_cmdline_has(struct vc_ctx *ctx, pid_t pid, const char *marker)
{
    size_t mlen = strlen(marker), len = 0;
    char path[64], *buf;
    bool found = false;
    ssize_t n;
    int fd;

    (void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    buf = vc_malloc(ctx, VC_QEMU_CMDLINE_MAX + 1);
    if (buf) {
        while (len < VC_QEMU_CMDLINE_MAX &&
               (n = read(fd, buf + len, VC_QEMU_CMDLINE_MAX - len)) > 0)
            len += (size_t) n;
        buf[len] = '\0';
        for (size_t i = 0; i < len && !found; i += strlen(buf + i) + 1)
            found = strlen(buf + i) == mlen && memcmp(buf + i, marker, mlen) == 0;
    }
    vc_free(ctx, buf);
    (void) close(fd);
    return found;
}

bool vc_qemu_pid_alive(struct vc_ctx *ctx, pid_t pid, const char *marker)
{
    if (pid <= 0 || !marker)
        return false;
    if (kill(pid, 0) < 0 && errno != EPERM)
        return false;
    return pid_cmdline_has(ctx, pid, marker);
}

/* Reaps pid if it is a child of this process (a subreaper's); otherwise does nothing. */
static void pid_reap(pid_t pid)
{
    if (pid > 0)
        (void) waitpid(pid, NULL, WNOHANG);
}

int vc_qemu_pid_wait_exit(struct vc_ctx *ctx, pid_t pid, const char *marker, uint64_t timeout_ns)
{
    uint64_t deadline = vc_now(ctx) + timeout_ns, step = WAIT_STEP_MIN_NS, now;
    bool seen = false;

    for (;;) {
        if (!vc_qemu_pid_alive(ctx, pid, marker)) {
            /* Seen as QEMU a moment ago: if it is a zombie of ours, it is QEMU's. */
            if (seen)
                pid_reap(pid);
            return 0;
        }
        seen = true;
        now = vc_now(ctx);
        if (now >= deadline)
            return -ETIMEDOUT;
        (void) vc_ctx_sleep_until(ctx, now + step < deadline ? now + step : deadline);
        step = step * 2 > WAIT_STEP_MAX_NS ? WAIT_STEP_MAX_NS : step * 2;
    }
}

int vc_qemu_pid_kill(struct vc_ctx *ctx, pid_t pid, const char *marker, uint64_t timeout_ns)
{
    if (!vc_qemu_pid_alive(ctx, pid, marker))
        return 0;
    (void) kill(pid, SIGKILL);
    if (vc_qemu_pid_wait_exit(ctx, pid, marker, timeout_ns) < 0)
        return vc_err(ctx, -ETIMEDOUT, "qemu: pid %d survived SIGKILL", (int) pid);
    return 0;
}

int vc_qemu_pidfile_read(const char *path, pid_t *ret)
{
    char buf[VC_QEMU_PIDFILE_MAX + 1], *end;
    ssize_t n;
    long v;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -errno;
    n = read(fd, buf, VC_QEMU_PIDFILE_MAX);
    (void) close(fd);
    if (n <= 0)
        return n < 0 ? -errno : -EINVAL;
    buf[n] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    while (*end == '\n' || *end == ' ')
        end++;
    if (errno || end == buf || *end || v <= 0 || v > INT32_MAX)
        return -EINVAL;
    *ret = (pid_t) v;
    return 0;
}

void vc_qemu_log_tail(const char *path, char *buf, size_t size)
{
    size_t want, skip = 0, len;
    struct stat st;
    off_t off = 0;
    ssize_t n;
    int fd;

    if (!size)
        return;
    buf[0] = '\0';
    want = size - 1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t) want)
        off = st.st_size - (off_t) want;
    n = pread(fd, buf, want, off);
    (void) close(fd);
    if (n <= 0)
        return;
    len = (size_t) n;
    /* Cut in the middle of a line: start at the next one when it begins early enough. */
    for (size_t i = 0; off > 0 && i < len / 2; i++)
        if (buf[i] == '\n') {
            skip = i + 1;
            break;
        }
    while (len > skip && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    memmove(buf, buf + skip, len - skip);
    len -= skip;
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = ' ';
}

void vc_qemu_uuid(struct vc_ctx *ctx, char buf[37])
{
    uint8_t b[16];
    uint64_t hi = vc_random(ctx), lo = vc_random(ctx);

    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t) (hi >> (8 * i));
        b[8 + i] = (uint8_t) (lo >> (8 * i));
    }
    b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
    (void) snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                    b[13], b[14], b[15]);
}

void vc_qemu_log_append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct iovec iov[2] = {{(void *) text, strlen(text)}, {(void *) "\n", 1}};

    if (fd < 0)
        return;
    (void) writev(fd, iov, 2); /* best effort: a lost log line is no failure */
    (void) close(fd);
}
