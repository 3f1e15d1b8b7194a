/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl's container commands: exec, ps, kill, update and stats. exec starts the process, then
 * reads its stdout and stderr through separate child processes, each driving the sandbox with
 * its own API calls (reads hold the sandbox lock shared), while this process copies what they
 * send and forwards the signals it gets (INT, TERM, HUP, QUIT) to the process; it then waits for
 * it. Real-world only: this file forks, handles signals and polls pipes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schema.h"
#include "vcctl.h"

#define EXEC_READ_LEN   (64u << 10) /* bytes one ReadStdout/ReadStderr asks for */
#define EXEC_OUTPUT_MAX (16u << 20) /* bytes of each stream --json keeps */

/* The exec's ids, for the child processes. */
struct exec_ids {
    const char *sid;  /* sandbox */
    const char *cid;  /* container */
    const char *eid;  /* exec */
    const char *root; /* the store's root */
};

/* One output stream as this process receives it. */
struct exec_stream {
    int fd;         /* read end of the child's pipe, -1 once at its end */
    int out_fd;     /* where text mode copies it */
    pid_t pid;      /* the child reading it */
    char *buf;      /* --json: what came */
    size_t len;     /* bytes in buf */
    bool truncated; /* --json: more came than EXEC_OUTPUT_MAX */
};

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* --- the children ----------------------------------------------------------------------------- */

/* Child: copies the process's stdout or stderr into fd until it ends, then leaves. */
static void exec_child_read(const struct vcctl *v, const struct exec_ids *ids, bool err, int fd)
{
    struct vc_ctx *ctx = NULL;
    char *buf = malloc(EXEC_READ_LEN);
    int r = buf ? vcctl_ctx_new(v, ids->root, &ctx) : -ENOMEM;

    while (r >= 0) {
        size_t n = 0;
        r = err ? vc_process_read_stderr(ctx, ids->sid, ids->cid, ids->eid, buf, EXEC_READ_LEN, &n)
                : vc_process_read_stdout(ctx, ids->sid, ids->cid, ids->eid, buf, EXEC_READ_LEN, &n);
        if (r >= 0 && !n)
            _exit(0);
        if (r >= 0 && write_all(fd, buf, n) < 0)
            _exit(0); /* nobody reads any more */
    }
    fprintf(stderr, "vcctl: exec: read %s: %s (%s)\n", err ? "stderr" : "stdout",
            ctx && vc_ctx_errmsg(ctx)[0] ? vc_ctx_errmsg(ctx) : strerror(-r), vc_errno_name(r));
    _exit(1);
}

/* Child: copies vcctl's stdin to the process, then closes the process's stdin. */
static void exec_child_stdin(const struct vcctl *v, const struct exec_ids *ids)
{
    struct vc_ctx *ctx = NULL;
    char *buf = malloc(EXEC_READ_LEN);
    int r = buf ? vcctl_ctx_new(v, ids->root, &ctx) : -ENOMEM;
    ssize_t n;

    while (r >= 0 && (n = read(STDIN_FILENO, buf, EXEC_READ_LEN)) != 0) {
        size_t off = 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        while (r >= 0 && off < (size_t) n) {
            size_t w = 0;
            r = vc_process_write_stdin(ctx, ids->sid, ids->cid, ids->eid, buf + off,
                                       (size_t) n - off, &w);
            off += w;
        }
    }
    if (r >= 0)
        (void) vc_process_close_stdin(ctx, ids->sid, ids->cid, ids->eid);
    _exit(0);
}

/* Starts a reader child with a pipe; the parent keeps the read end. -errno. */
static int exec_spawn_reader(const struct vcctl *v, const struct exec_ids *ids, bool err,
                             struct exec_stream *s, const struct exec_stream *other)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    (void) fflush(NULL);
    s->pid = fork();
    if (s->pid < 0) {
        int r = -errno;
        (void) close(p[0]);
        (void) close(p[1]);
        return r;
    }
    if (s->pid == 0) {
        (void) close(p[0]);
        if (other && other->fd >= 0)
            (void) close(other->fd);
        exec_child_read(v, ids, err, p[1]);
    }
    (void) close(p[1]);
    s->fd = p[0];
    return 0;
}

/* --- the parent ------------------------------------------------------------------------------- */

/* Takes what a child sent: copies it out (text) or keeps it (--json). false at its end. */
static bool exec_take(struct exec_stream *s, bool keep)
{
    char buf[16384];
    ssize_t n = read(s->fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        (void) close(s->fd);
        s->fd = -1;
        return false;
    }
    if (!keep) {
        (void) write_all(s->out_fd, buf, (size_t) n);
        return true;
    }
    if (s->len + (size_t) n > EXEC_OUTPUT_MAX) {
        s->truncated = true;
        n = (ssize_t) (EXEC_OUTPUT_MAX - s->len);
    }
    if (n > 0) {
        char *nb = realloc(s->buf, s->len + (size_t) n);
        if (!nb) {
            s->truncated = true;
            return true;
        }
        memcpy(nb + s->len, buf, (size_t) n);
        s->buf = nb;
        s->len += (size_t) n;
    }
    return true;
}

/* Signals a user sends vcctl exec go to the process instead (the children ignore them too, by
 * inheriting them blocked). */
static int exec_signals_block(sigset_t *old)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &set, old) < 0)
        return -1;
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        (void) sigprocmask(SIG_SETMASK, old, NULL);
    return fd;
}

static void exec_forward(struct vcctl *v, const struct exec_ids *ids, int sigfd)
{
    struct signalfd_siginfo si;

    while (read(sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        if (vc_process_signal(v->ctx, ids->sid, ids->cid, ids->eid, (int) si.ssi_signo, false) < 0)
            fprintf(stderr, "vcctl: exec: cannot forward signal %u: %s\n", si.ssi_signo,
                    vc_ctx_errmsg(v->ctx));
    }
}

/* Copies both streams until they end, forwarding signals meanwhile. */
static void exec_pump(struct vcctl *v, const struct exec_ids *ids, struct exec_stream *out,
                      struct exec_stream *err, int sigfd)
{
    while (out->fd >= 0 || err->fd >= 0) {
        struct pollfd p[3] = {{.fd = out->fd, .events = POLLIN},
                              {.fd = err->fd, .events = POLLIN},
                              {.fd = sigfd, .events = POLLIN}};

        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents && out->fd >= 0)
            (void) exec_take(out, v->json);
        if (p[1].revents && err->fd >= 0)
            (void) exec_take(err, v->json);
        if (p[2].revents)
            exec_forward(v, ids, sigfd);
    }
}

/* Reaps a child; false if it failed. */
static bool exec_reap(pid_t pid)
{
    int status;

    if (pid <= 0)
        return true;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static json_object *exec_bytes(const struct exec_stream *s)
{
    return json_object_new_string_len(s->buf ? s->buf : "", (int) s->len);
}

static int exec_result(struct vcctl *v, const struct vc_process *proc,
                       const struct exec_stream *out, const struct exec_stream *err, int32_t status)
{
    json_object *j;

    if (v->json && (j = json_object_new_object())) {
        (void) json_object_object_add(j, "exec_id", json_object_new_string(proc->exec_id));
        (void) json_object_object_add(j, "pid", json_object_new_int(proc->pid));
        (void) json_object_object_add(j, "status", json_object_new_int(status));
        (void) json_object_object_add(j, "stdout", exec_bytes(out));
        (void) json_object_object_add(j, "stderr", exec_bytes(err));
        if (out->truncated || err->truncated)
            (void) json_object_object_add(j, "truncated", json_object_new_boolean(1));
        vcctl_print_json(j, false);
    }
    return status >= 0 && status <= 255 ? status : 255;
}

/* Runs the started process's I/O to the end and waits for it. */
static int exec_io(struct vcctl *v, const struct vcctl_args *a, const struct exec_ids *ids,
                   const struct vc_process *proc)
{
    struct exec_stream out = {.fd = -1, .out_fd = STDOUT_FILENO};
    struct exec_stream err = {.fd = -1, .out_fd = STDERR_FILENO};
    pid_t in_pid = 0;
    int32_t status = 0;
    sigset_t mask;
    int sigfd = exec_signals_block(&mask);
    bool ok;
    int r = 0;

    if (!a->interactive) {
        /* Best effort: a process that never reads its stdin does not care. */
        if (vc_process_close_stdin(v->ctx, ids->sid, ids->cid, ids->eid) < 0 && v->verbose)
            fprintf(stderr, "vcctl: exec: cannot close stdin: %s\n", vc_ctx_errmsg(v->ctx));
    } else {
        (void) fflush(NULL);
        in_pid = fork();
        if (in_pid == 0)
            exec_child_stdin(v, ids);
        r = in_pid < 0 ? -errno : 0;
    }
    if (r >= 0)
        r = exec_spawn_reader(v, ids, false, &out, NULL);
    if (r >= 0 && !a->tty)
        r = exec_spawn_reader(v, ids, true, &err, &out);
    exec_pump(v, ids, &out, &err, sigfd);
    /* Both are reaped, whatever the first says. */
    ok = exec_reap(out.pid);
    ok = exec_reap(err.pid) && ok;
    if (r >= 0 && ok)
        r = vc_process_wait(v->ctx, ids->sid, ids->cid, ids->eid, &status);
    else if (r >= 0)
        r = vc_err(v->ctx, -EIO, "exec '%s': reading its output failed", ids->eid);
    if (in_pid > 0) {
        /* It blocks the terminal's signals like the others: only SIGKILL ends it. */
        (void) kill(in_pid, SIGKILL);
        (void) waitpid(in_pid, NULL, 0);
    }
    if (sigfd >= 0) {
        (void) close(sigfd);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);
    }
    r = r < 0 ? vcctl_fail(v, "exec", r) : exec_result(v, proc, &out, &err, status);
    free(out.buf);
    free(err.buf);
    return r;
}

int vcctl_cmd_exec(struct vcctl *v, const struct vcctl_args *a)
{
    struct exec_ids ids = {a->pos[0], a->pos[1], a->pos[2], NULL};
    struct vc_process_config cmd;
    struct vc_process proc = {0};
    const char **env;
    int r;

    if (!a->n_rest)
        return vcctl_usage(v, "missing the command to run (after --)");
    r = vcctl_open(v);
    if (r != VCCTL_EXIT_OK)
        return r;
    env = vc_new0(v->ctx, const char *, a->n_env + 1);
    if (!env)
        return vcctl_fail(v, "exec", vc_err(v->ctx, -ENOMEM, "out of memory"));
    vcctl_process_config(a, a->rest, a->n_rest, env, &cmd);
    r = vc_container_enter(v->ctx, ids.sid, ids.cid, ids.eid, &cmd, &proc);
    vc_free(v->ctx, env);
    if (r < 0)
        return vcctl_fail(v, "exec", r);
    ids.root = vc_store_fs_root(v->store);
    r = exec_io(v, a, &ids, &proc);
    vc_process_clear(v->ctx, &proc);
    return r;
}

/* --- the others ------------------------------------------------------------------------------- */

int vcctl_cmd_ps(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_ps_options o = {
        .format = (char *) (a->format ? a->format
                            : v->json ? "json"
                                      : "table"),
        .args = a->rest,
        .n_args = a->n_rest,
    };
    json_object *j = NULL;
    char *output = NULL;
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_container_process_list(v->ctx, a->pos[0], a->pos[1], &o, &output);
    if (r < 0)
        return vcctl_fail(v, "ps", r);
    if (!v->json) {
        fputs(output ? output : "", stdout);
    } else if (output && vc_json_parse(v->ctx, "ps", output, strlen(output), &j) >= 0) {
        vcctl_print_json(j, false);
    } else if ((j = json_object_new_object())) {
        vc_err_clear(v->ctx);
        (void) json_object_object_add(j, "output", json_object_new_string(output ? output : ""));
        vcctl_print_json(j, false);
    }
    vc_free(v->ctx, output);
    return VCCTL_EXIT_OK;
}

int vcctl_cmd_kill(struct vcctl *v, const struct vcctl_args *a)
{
    int sig = a->signal ? a->signal : SIGTERM;
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    if (a->n_pos > 2)
        r = vc_process_signal(v->ctx, a->pos[0], a->pos[1], a->pos[2], sig, a->all);
    else
        r = vc_container_kill(v->ctx, a->pos[0], a->pos[1], sig, a->all);
    return r < 0 ? vcctl_fail(v, "kill", r) : vcctl_print_after(v, "kill", a->pos[0]);
}

/* The container's limits now, with those given on the command line over them. */
static int update_limits(struct vcctl *v, const struct vcctl_args *a, struct vc_resources *ret)
{
    struct vc_sandbox_config *cfg = NULL;
    int r = vc_sandbox_fetch(v->ctx, a->pos[0], &cfg, NULL);

    if (r < 0)
        return r;
    r = vc_err(v->ctx, -ENOENT, "container '%s' does not exist in sandbox '%s'", a->pos[1],
               a->pos[0]);
    for (size_t i = 0; i < cfg->n_containers; i++) {
        if (strcmp(cfg->containers[i].id, a->pos[1]) == 0) {
            *ret = cfg->containers[i].resources;
            vc_err_clear(v->ctx);
            r = 0;
        }
    }
    vc_sandbox_config_free(v->ctx, cfg);
    if (r < 0)
        return r;
    if (a->res_set & VCCTL_RES_MEMORY)
        ret->memory_limit = a->res.memory_limit;
    if (a->res_set & VCCTL_RES_QUOTA)
        ret->cpu_quota = a->res.cpu_quota;
    if (a->res_set & VCCTL_RES_PERIOD)
        ret->cpu_period = a->res.cpu_period;
    if (a->res_set & VCCTL_RES_SHARES)
        ret->cpu_shares = a->res.cpu_shares;
    return 0;
}

int vcctl_cmd_update(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_resources res = {0};
    int r;

    if (!a->res_set)
        return vcctl_usage(v, "nothing to update: give --memory-limit, --cpu-quota, "
                              "--cpu-period or --cpu-shares");
    r = vcctl_open(v);
    if (r != VCCTL_EXIT_OK)
        return r;
    r = update_limits(v, a, &res);
    if (r >= 0)
        r = vc_container_update(v->ctx, a->pos[0], a->pos[1], &res);
    return r < 0 ? vcctl_fail(v, "update", r) : vcctl_print_after(v, "update", a->pos[0]);
}

int vcctl_cmd_stats(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_container_stats st = {0};
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_container_stats(v->ctx, a->pos[0], a->pos[1], &st);
    return r < 0 ? vcctl_fail(v, "stats", r) : vcctl_print_stats(v, &st);
}
