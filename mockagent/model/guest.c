/* SPDX-License-Identifier: Apache-2.0 */
/* The kata-agent guest model: sandbox, containers and their processes (pids, exit codes,
 * scripted output, stdin, signals, OOM), and the guest's network, resources, time, files and
 * other state. Refusals use the status codes kata-agent's rpc.rs answers with. Process timers
 * run on the guest context's loop and freeze while the VM or the container is paused. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>

#include "cleanup.h"
#include "magent_model.h"
#include "schema.h"

#define SIGKILL_NR      9
#define SIGTERM_NR      15
#define EXIT_KILLED     (128 + SIGKILL_NR) /* 137 */
#define DEFAULT_BLOCK   (UINT64_C(128) << 20)
#define DEFAULT_VOLUME  (UINT64_C(1) << 30)
#define DEFAULT_VERSION "3.2.0-vcsim"
#define PROBE_MAX       65536u              /* probed memory blocks recorded */
#define PROC_MEM_BYTES  (UINT64_C(4) << 20) /* memory a running process is charged */
#define NEVER           UINT64_MAX

struct ma_buf {
    uint8_t *data; /* bytes */
    size_t len;    /* bytes held */
    size_t off;    /* bytes already read */
};

struct ma_ct;

struct ma_proc {
    struct ma_ct *ct;                  /* its container */
    char *exec_id;                     /* exec id (the container id for init) */
    int32_t pid;                       /* guest pid */
    bool init;                         /* the container's init */
    bool started;                      /* running (init: after StartContainer) */
    bool exited;                       /* ended; exit_code valid */
    bool frozen;                       /* its clock is stopped (VM or container paused) */
    int32_t exit_code;                 /* exit status */
    uint64_t start_ns;                 /* guest time it started */
    uint64_t exit_ns;                  /* guest time it ended */
    const struct magent_program *prog; /* what it does (borrowed from the script), or NULL */
    char **argv;                       /* command line (for ps) */
    size_t n_argv;                     /* number of argv */
    struct ma_buf out;                 /* stdout not yet read */
    struct ma_buf err;                 /* stderr not yet read */
    size_t in_len;                     /* stdin bytes written and not consumed */
    bool stdin_closed;                 /* CloseStdin ran */
    uint64_t end_at;                   /* guest time it ends by itself (NEVER) */
    uint64_t oom_at;                   /* guest time it is OOM-killed (NEVER) */
    uint64_t left_end;                 /* while frozen: time left to end_at */
    uint64_t left_oom;                 /* while frozen: time left to oom_at */
    uint64_t timer;                    /* loop timer id, 0 if none */
};

struct ma_ct {
    struct magent_guest *g;  /* its guest */
    char *id;                /* container id */
    int32_t state;           /* enum magent_ct_state */
    struct ma_proc **procs;  /* tracked processes, init first while it lives */
    size_t n_procs;          /* number of procs */
    struct vc_resources res; /* limits from UpdateContainer */
    uint64_t oom_kills;      /* OOM kills (stats failcnt) */
};

struct ma_file {
    char *path;    /* guest path */
    uint8_t *data; /* contents */
    size_t size;   /* bytes */
    uint32_t mode; /* file mode */
};

struct ma_volume {
    char *path;    /* volume guest path */
    uint64_t size; /* size after ResizeVolume */
};

struct magent_guest {
    struct vc_ctx *ctx;                 /* guest context: clock and loop (borrowed) */
    struct vc_ctx *out;                 /* allocator of results handed to the caller, or NULL
                                         * for ctx (see magent_guest_set_out_ctx) */
    const struct magent_script *script; /* programs and facts (borrowed) */
    uint64_t gen;                       /* boot serial */
    char *sandbox_id;                   /* sandbox the VM runs */
    uint32_t cid;                       /* vsock CID */
    bool sandbox_up;                    /* CreateSandbox ran, DestroySandbox not */
    char *hostname;                     /* from CreateSandbox */
    char **dns;                         /* resolv.conf lines */
    size_t n_dns;                       /* number of dns */
    struct ma_ct **cts;                 /* containers */
    size_t n_cts;                       /* number of cts */
    int32_t next_pid;                   /* next guest pid */
    bool paused;                        /* the VM is paused */
    uint32_t vcpus;                     /* vCPUs plugged */
    uint32_t online_vcpus;              /* vCPUs online */
    uint32_t memory_mb;                 /* memory plugged */
    uint32_t online_memory_mb;          /* memory online */
    char **oom;                         /* OOM events queued (container ids) */
    size_t n_oom;                       /* number of oom */
    struct vc_interface *ifaces;        /* interfaces */
    size_t n_ifaces;                    /* number of ifaces */
    struct vc_route *routes;            /* routes */
    size_t n_routes;                    /* number of routes */
    struct vc_arp_neighbor *neigh;      /* ARP neighbours */
    size_t n_neigh;                     /* number of neigh */
    uint64_t *probed;                   /* probed memory block addresses */
    size_t n_probed;                    /* number of probed */
    int64_t time_sec;                   /* last SetGuestDateTime seconds */
    int64_t time_usec;                  /* and microseconds */
    size_t reseeds;                     /* ReseedRandomDev calls */
    struct vc_copy_file ipt[2];         /* iptables blobs (v4, v6) in data/size */
    char *policy;                       /* SetPolicy document */
    struct ma_file *files;              /* copied files */
    size_t n_files;                     /* number of files */
    size_t n_swaps;                     /* AddSwap devices */
    struct vc_mount *mounts;            /* ephemeral mounts */
    size_t n_mounts;                    /* number of mounts */
    struct ma_volume *vols;             /* resized volumes */
    size_t n_vols;                      /* number of vols */
    char msg[MAGENT_MSG_MAX];           /* last refusal */
    magent_notify_fn *notify;           /* told when a parked call may be answered, or NULL */
    void *notify_data;                  /* passed to notify */
    const struct magent_real_ops *real; /* the machine under the guest, or NULL (modelled) */
    void *real_data;                    /* passed to real's members */
};

/* The allocator of what a call hands back: the caller frees it with its own context. */
static struct vc_ctx *guest_out(const struct magent_guest *g)
{
    return g->out ? g->out : g->ctx;
}

void magent_guest_set_out_ctx(struct magent_guest *g, struct vc_ctx *ctx)
{
    g->out = ctx;
}

static void proc_exit(struct ma_proc *p, int32_t code);

/* Records a refusal's message and returns its status. */
__attribute__((format(printf, 3, 4))) static int guest_refuse(struct magent_guest *g, int status,
                                                              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
    va_end(ap);
    return status;
}

static int guest_ok(struct magent_guest *g)
{
    g->msg[0] = '\0';
    return VC_STATUS_OK;
}

static int guest_nomem(struct magent_guest *g)
{
    (void) guest_refuse(g, VC_STATUS_INTERNAL, "ENOMEM: Cannot allocate memory");
    return MAGENT_NOMEM;
}

static uint64_t guest_now(const struct magent_guest *g)
{
    return vc_now(g->ctx);
}

/* --- buffers --------------------------------------------------------------------------------- */

static int buf_append(struct vc_ctx *ctx, struct ma_buf *b, const void *data, size_t len)
{
    uint8_t *p;

    if (!len)
        return 0;
    if (b->len - b->off + len > MAGENT_STREAM_MAX)
        return -ENOSPC;
    if (b->off == b->len)
        b->off = b->len = 0;
    p = vc_realloc(ctx, b->data, b->len + len);
    if (!p)
        return -ENOMEM;
    memcpy(p + b->len, data, len);
    b->data = p;
    b->len += len;
    return 0;
}

static size_t buf_read(struct ma_buf *b, void *dst, size_t len)
{
    size_t n = b->len - b->off;

    if (n > len)
        n = len;
    if (n)
        memcpy(dst, b->data + b->off, n);
    b->off += n;
    return n;
}

/* --- processes ------------------------------------------------------------------------------- */

static bool proc_should_freeze(const struct ma_proc *p)
{
    return p->ct->g->paused || p->ct->state == MAGENT_CT_PAUSED;
}

static void proc_disarm(struct ma_proc *p)
{
    const struct vc_loop *loop = vc_ctx_loop(p->ct->g->ctx);

    if (p->timer && loop)
        loop->ops->timer_cancel(loop->data, p->timer);
    p->timer = 0;
}

static void proc_fire(void *data);

/* Arms the timer of the earlier of the process's own end and its OOM kill. */
static void proc_arm(struct ma_proc *p)
{
    const struct vc_loop *loop = vc_ctx_loop(p->ct->g->ctx);
    uint64_t at = p->end_at < p->oom_at ? p->end_at : p->oom_at;

    proc_disarm(p);
    if (!loop || p->exited || !p->started || p->frozen || at == NEVER)
        return;
    /* Without a timer the process runs until killed; nothing better can be done here. */
    if (loop->ops->timer_add(loop->data, at, proc_fire, p, &p->timer) < 0)
        p->timer = 0;
}

static uint64_t left(uint64_t at, uint64_t now)
{
    if (at == NEVER)
        return NEVER;
    return at > now ? at - now : 0;
}

static uint64_t again_at(uint64_t left_ns, uint64_t now)
{
    return left_ns == NEVER ? NEVER : now + left_ns;
}

/* Stops or restarts a process's clock to match its VM and container. */
static void proc_sync_freeze(struct ma_proc *p)
{
    uint64_t now = guest_now(p->ct->g);
    bool want = proc_should_freeze(p);

    if (p->exited || want == p->frozen)
        return;
    if (want) {
        p->left_end = left(p->end_at, now);
        p->left_oom = left(p->oom_at, now);
        p->frozen = true;
        proc_disarm(p);
        return;
    }
    p->end_at = again_at(p->left_end, now);
    p->oom_at = again_at(p->left_oom, now);
    p->frozen = false;
    proc_arm(p);
}

static void proc_free(struct vc_ctx *ctx, struct ma_proc *p)
{
    if (!p)
        return;
    proc_disarm(p);
    vc_free(ctx, p->exec_id);
    for (size_t i = 0; i < p->n_argv; i++)
        vc_free(ctx, p->argv[i]);
    vc_free(ctx, p->argv);
    vc_free(ctx, p->out.data);
    vc_free(ctx, p->err.data);
    vc_free(ctx, p);
}

static int proc_new(struct ma_ct *ct, const char *exec_id, const struct vc_process_config *cmd,
                    bool init, struct ma_proc **ret)
{
    struct magent_guest *g = ct->g;
    struct ma_proc *p = vc_new0(g->ctx, struct ma_proc, 1);

    if (!p)
        return -ENOMEM;
    *p = (struct ma_proc){.ct = ct, .init = init, .end_at = NEVER, .oom_at = NEVER};
    p->exec_id = vc_strdup(g->ctx, exec_id);
    if (!p->exec_id)
        goto fail;
    if (cmd->n_args) {
        p->argv = vc_new0(g->ctx, char *, cmd->n_args);
        if (!p->argv)
            goto fail;
    }
    for (size_t i = 0; i < cmd->n_args; i++, p->n_argv++)
        if (!(p->argv[i] = vc_strdup(g->ctx, cmd->args[i] ? cmd->args[i] : "")))
            goto fail;
    p->prog = magent_script_program(g->script, cmd->args, cmd->n_args);
    p->pid = g->next_pid++;
    *ret = p;
    return 0;
fail:
    proc_free(g->ctx, p);
    return -ENOMEM;
}

/* The process starts running: it prints its output and its clock starts. */
static void proc_start(struct ma_proc *p)
{
    struct magent_guest *g = p->ct->g;
    const struct magent_program *prog = p->prog;
    uint64_t now = guest_now(g);

    p->started = true;
    p->start_ns = now;
    if (prog) {
        /* Output beyond the buffer limit is dropped, as a full pipe would block the writer. */
        if (prog->out)
            (void) buf_append(g->ctx, &p->out, prog->out, strlen(prog->out));
        if (prog->err)
            (void) buf_append(g->ctx, &p->err, prog->err, strlen(prog->err));
        if (!prog->echo_stdin && prog->runtime_ns != NEVER)
            p->end_at = now + prog->runtime_ns;
        if (prog->oom_after_ns)
            p->oom_at = now + prog->oom_after_ns;
    }
    p->frozen = false;
    if (proc_should_freeze(p))
        proc_sync_freeze(p);
    else
        proc_arm(p);
}

static int guest_queue_oom(struct magent_guest *g, const char *container_id)
{
    char **v = vc_realloc(g->ctx, g->oom, (g->n_oom + 1) * sizeof(*v));
    char *id;

    if (!v)
        return -ENOMEM;
    g->oom = v;
    id = vc_strdup(g->ctx, container_id);
    if (!id)
        return -ENOMEM;
    g->oom[g->n_oom++] = id;
    vc_trace(g->ctx, "guest", "oom", "%s", container_id);
    if (g->notify)
        g->notify(g->notify_data, g->cid);
    return 0;
}

static void proc_fire(void *data)
{
    struct ma_proc *p = data;
    struct ma_ct *ct = p->ct;
    uint64_t now = guest_now(ct->g);

    p->timer = 0;
    if (p->exited || p->frozen)
        return;
    if (p->oom_at <= now && p->oom_at <= p->end_at) {
        ct->oom_kills++;
        /* An event that cannot be queued is lost, as a full notifier channel loses it. */
        (void) guest_queue_oom(ct->g, ct->id);
        proc_exit(p, EXIT_KILLED);
        return;
    }
    if (p->end_at <= now) {
        proc_exit(p, p->prog ? p->prog->exit_code : 0);
        return;
    }
    proc_arm(p);
}

/* The process ends with code. When a container's init ends, the kernel kills every other
 * process of its pid namespace, and the container is stopped. */
static void proc_exit(struct ma_proc *p, int32_t code)
{
    struct ma_ct *ct = p->ct;

    if (p->exited)
        return;
    proc_disarm(p);
    p->exited = true;
    p->started = true;
    p->exit_code = code;
    p->exit_ns = guest_now(ct->g);
    p->stdin_closed = true;
    vc_trace(ct->g->ctx, "guest", "exit", "%s/%s pid %d status %d", ct->id, p->exec_id, p->pid,
             code);
    if (ct->g->notify)
        ct->g->notify(ct->g->notify_data, ct->g->cid);
    if (!p->init)
        return;
    for (size_t i = 0; i < ct->n_procs; i++)
        if (ct->procs[i] != p)
            proc_exit(ct->procs[i], EXIT_KILLED);
    ct->state = MAGENT_CT_STOPPED;
}

static bool signal_ignored_by_default(int sig)
{
    /* SIGCHLD, SIGCONT, SIGURG, SIGWINCH: the default action is to ignore them. */
    return sig == 17 || sig == 18 || sig == 23 || sig == 28;
}

/* Delivers sig to a live process by its program's rules. */
static void proc_signal(struct ma_proc *p, int sig)
{
    const struct magent_signal_rule *rule = NULL;

    if (p->exited || sig == 0)
        return;
    for (size_t i = 0; p->prog && i < p->prog->n_signals; i++)
        if (p->prog->signals[i].signal == sig)
            rule = &p->prog->signals[i];
    vc_trace(p->ct->g->ctx, "guest", "signal", "%s/%s pid %d signal %d", p->ct->id, p->exec_id,
             p->pid, sig);
    /* kata-agent turns SIGTERM to an init that has no handler for it into SIGKILL. */
    if (sig == SIGKILL_NR || (sig == SIGTERM_NR && p->init && !rule)) {
        proc_exit(p, EXIT_KILLED);
        return;
    }
    if (rule && rule->ignore)
        return;
    if (!rule && signal_ignored_by_default(sig))
        return;
    proc_exit(p, rule && rule->exit_code ? rule->exit_code : 128 + sig);
}

/* --- containers ------------------------------------------------------------------------------ */

static void ct_free(struct vc_ctx *ctx, struct ma_ct *ct)
{
    if (!ct)
        return;
    for (size_t i = 0; i < ct->n_procs; i++)
        proc_free(ctx, ct->procs[i]);
    vc_free(ctx, ct->procs);
    vc_free(ctx, ct->id);
    vc_free(ctx, ct);
}

static struct ma_ct *guest_ct(const struct magent_guest *g, const char *id)
{
    for (size_t i = 0; id && i < g->n_cts; i++)
        if (strcmp(g->cts[i]->id, id) == 0)
            return g->cts[i];
    return NULL;
}

static void guest_drop_ct(struct magent_guest *g, struct ma_ct *ct)
{
    for (size_t i = 0; i < g->n_cts; i++) {
        if (g->cts[i] != ct)
            continue;
        memmove(&g->cts[i], &g->cts[i + 1], (g->n_cts - i - 1) * sizeof(*g->cts));
        g->n_cts--;
        break;
    }
    ct_free(g->ctx, ct);
}

static int ct_add_proc(struct ma_ct *ct, struct ma_proc *p)
{
    struct ma_proc **v = vc_realloc(ct->g->ctx, ct->procs, (ct->n_procs + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    ct->procs = v;
    ct->procs[ct->n_procs++] = p;
    return 0;
}

static void ct_drop_proc(struct ma_ct *ct, struct ma_proc *p)
{
    for (size_t i = 0; i < ct->n_procs; i++) {
        if (ct->procs[i] != p)
            continue;
        memmove(&ct->procs[i], &ct->procs[i + 1], (ct->n_procs - i - 1) * sizeof(*ct->procs));
        ct->n_procs--;
        break;
    }
    proc_free(ct->g->ctx, p);
}

static struct ma_proc *ct_init(const struct ma_ct *ct)
{
    for (size_t i = 0; i < ct->n_procs; i++)
        if (ct->procs[i]->init)
            return ct->procs[i];
    return NULL;
}

/* kata-agent's find_container_process: "" names the init. Refusals are INTERNAL, as the
 * handlers wrap them (map_ttrpc_err). */
static int guest_find(struct magent_guest *g, const char *container_id, const char *exec_id,
                      struct ma_proc **ret)
{
    struct ma_ct *ct = guest_ct(g, container_id);

    if (!ct)
        return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id");
    if (!exec_id || !*exec_id) {
        *ret = ct_init(ct);
        if (!*ret)
            return guest_refuse(g, VC_STATUS_INTERNAL, "cannot find init process!");
        return VC_STATUS_OK;
    }
    for (size_t i = 0; i < ct->n_procs; i++) {
        if (strcmp(ct->procs[i]->exec_id, exec_id) == 0) {
            *ret = ct->procs[i];
            return VC_STATUS_OK;
        }
    }
    return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid exec id");
}

static void ct_kill_all(struct ma_ct *ct, int sig)
{
    /* Init last: its end kills the rest with 137 whatever sig says. */
    for (size_t i = 0; i < ct->n_procs; i++)
        if (!ct->procs[i]->init)
            proc_signal(ct->procs[i], sig);
    for (size_t i = 0; i < ct->n_procs; i++)
        if (ct->procs[i]->init)
            proc_signal(ct->procs[i], sig);
}

static void ct_set_paused(struct ma_ct *ct, bool paused)
{
    ct->state = paused ? MAGENT_CT_PAUSED : MAGENT_CT_RUNNING;
    for (size_t i = 0; i < ct->n_procs; i++)
        proc_sync_freeze(ct->procs[i]);
}

/* kata-agent's verify_cid: at least two characters, alphanumeric first, then [A-Za-z0-9._-]. */
static bool valid_cid(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n < 2 || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
                   (id[0] >= '0' && id[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* --- lifecycle ----------------------------------------------------------------------------- */

int magent_guest_new(struct vc_ctx *gctx, const struct magent_script *script,
                     const char *sandbox_id, uint32_t cid, uint32_t vcpus, uint32_t memory_mb,
                     struct magent_guest **ret)
{
    struct magent_guest *g = vc_new0(gctx, struct magent_guest, 1);

    if (!g)
        return -ENOMEM;
    *g = (struct magent_guest){
        .ctx = gctx,
        .script = script,
        .cid = cid,
        .next_pid = MAGENT_PID_FIRST,
        .vcpus = vcpus,
        .online_vcpus = vcpus,
        .memory_mb = memory_mb,
        .online_memory_mb = memory_mb,
    };
    g->sandbox_id = vc_strdup(gctx, sandbox_id ? sandbox_id : "");
    if (!g->sandbox_id) {
        magent_guest_free(g);
        return -ENOMEM;
    }
    *ret = g;
    return 0;
}

static void strv_free(struct vc_ctx *ctx, char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        vc_free(ctx, v[i]);
    vc_free(ctx, v);
}

static void guest_drop_containers(struct magent_guest *g)
{
    while (g->n_cts)
        guest_drop_ct(g, g->cts[g->n_cts - 1]);
}

void magent_guest_free(struct magent_guest *g)
{
    struct vc_ctx *ctx;

    if (!g)
        return;
    ctx = g->ctx;
    guest_drop_containers(g);
    vc_free(ctx, g->cts);
    vc_free(ctx, g->sandbox_id);
    vc_free(ctx, g->hostname);
    strv_free(ctx, g->dns, g->n_dns);
    strv_free(ctx, g->oom, g->n_oom);
    vc_obj_array_free(ctx, &vc_schema_interface, g->ifaces, g->n_ifaces);
    vc_obj_array_free(ctx, &vc_schema_route, g->routes, g->n_routes);
    vc_obj_array_free(ctx, &vc_schema_arp_neighbor, g->neigh, g->n_neigh);
    vc_obj_array_free(ctx, &vc_schema_mount, g->mounts, g->n_mounts);
    vc_free(ctx, g->probed);
    vc_obj_clear(ctx, &vc_schema_copy_file, &g->ipt[0]);
    vc_obj_clear(ctx, &vc_schema_copy_file, &g->ipt[1]);
    vc_free(ctx, g->policy);
    for (size_t i = 0; i < g->n_files; i++) {
        vc_free(ctx, g->files[i].path);
        vc_free(ctx, g->files[i].data);
    }
    vc_free(ctx, g->files);
    for (size_t i = 0; i < g->n_vols; i++)
        vc_free(ctx, g->vols[i].path);
    vc_free(ctx, g->vols);
    vc_free(ctx, g);
}

void magent_guest_set_paused(struct magent_guest *g, bool paused)
{
    if (g->paused == paused)
        return;
    g->paused = paused;
    for (size_t i = 0; i < g->n_cts; i++)
        for (size_t j = 0; j < g->cts[i]->n_procs; j++)
            proc_sync_freeze(g->cts[i]->procs[j]);
}

bool magent_guest_paused(const struct magent_guest *g)
{
    return g->paused;
}

void magent_guest_set_resources(struct magent_guest *g, uint32_t vcpus, uint32_t memory_mb)
{
    g->vcpus = vcpus;
    g->memory_mb = memory_mb;
    /* Unplugged resources go offline with them. */
    if (g->online_vcpus > vcpus)
        g->online_vcpus = vcpus;
    if (g->online_memory_mb > memory_mb)
        g->online_memory_mb = memory_mb;
}

const char *magent_guest_message(const struct magent_guest *g)
{
    return g->msg;
}

uint64_t magent_guest_generation(const struct magent_guest *g)
{
    return g->gen;
}

void magent_guest_set_generation(struct magent_guest *g, uint64_t gen)
{
    g->gen = gen;
}

void magent_guest_set_notify(struct magent_guest *g, magent_notify_fn *fn, void *data)
{
    g->notify = fn;
    g->notify_data = data;
}

void magent_guest_set_real(struct magent_guest *g, const struct magent_real_ops *ops, void *data)
{
    g->real = ops;
    g->real_data = data;
}

/* With a real machine under the guest: its CPUs and memory become the model's. 1 and *st
 * filled, 0 without one (or when it cannot say), *st zeroed. */
static int guest_real_sync(struct magent_guest *g, struct magent_real_state *st)
{
    *st = (struct magent_real_state){0};
    if (!g->real || !g->real->probe || g->real->probe(g->real_data, st) < 0) {
        *st = (struct magent_real_state){0};
        return 0;
    }
    g->vcpus = st->vcpus;
    g->online_vcpus = st->online_vcpus;
    g->memory_mb = st->memory_mb;
    g->online_memory_mb = st->online_memory_mb;
    return 1;
}

/* OnlineCPUMem on a real machine, worded as kata-agent words its failures. */
static int guest_real_online(struct magent_guest *g, uint32_t nb_cpus, bool cpu_only)
{
    struct magent_real_state st;
    int r = g->real->online_cpu_mem(g->real_data, nb_cpus, cpu_only);

    (void) guest_real_sync(g, &st);
    if (r == -ETIMEDOUT && nb_cpus)
        return guest_refuse(g, VC_STATUS_INTERNAL,
                            "online cpus: failed to online %" PRIu32 " CPU(s) after 100 retries",
                            nb_cpus);
    if (r < 0)
        return guest_refuse(g, VC_STATUS_INTERNAL, "online cpus/memory: %s", vc_errno_name(r));
    return guest_ok(g);
}

/* --- sandbox ------------------------------------------------------------------------------- */

int magent_guest_create_sandbox(struct magent_guest *g, const char *hostname, char *const *dns,
                                size_t n_dns, const char *sandbox_id)
{
    char *h = vc_strdup(g->ctx, hostname ? hostname : "");
    char **v = n_dns ? vc_new0(g->ctx, char *, n_dns) : NULL;
    size_t n = 0;

    if (!h || (n_dns && !v))
        goto fail;
    for (; n < n_dns; n++)
        if (!(v[n] = vc_strdup(g->ctx, dns[n] ? dns[n] : "")))
            goto fail;
    if (sandbox_id && *sandbox_id) {
        char *id = vc_strdup(g->ctx, sandbox_id);
        if (!id)
            goto fail;
        vc_free(g->ctx, g->sandbox_id);
        g->sandbox_id = id;
    }
    vc_free(g->ctx, g->hostname);
    strv_free(g->ctx, g->dns, g->n_dns);
    g->hostname = h;
    g->dns = v;
    g->n_dns = n_dns;
    g->sandbox_up = true;
    return guest_ok(g);
fail:
    vc_free(g->ctx, h);
    strv_free(g->ctx, v, n);
    return guest_nomem(g);
}

int magent_guest_destroy_sandbox(struct magent_guest *g)
{
    for (size_t i = 0; i < g->n_cts; i++)
        ct_kill_all(g->cts[i], SIGKILL_NR);
    guest_drop_containers(g);
    g->sandbox_up = false;
    return guest_ok(g);
}

const char *magent_guest_hostname(const struct magent_guest *g)
{
    return g->hostname;
}

/* --- containers and processes -------------------------------------------------------------- */

int magent_guest_create_container(struct magent_guest *g, const struct vc_container_config *cfg,
                                  struct vc_process *ret)
{
    struct ma_ct **v, *ct = NULL;
    struct ma_proc *p = NULL;
    char *exec_id;

    if (!cfg || !valid_cid(cfg->id))
        return guest_refuse(g, VC_STATUS_INTERNAL, "invalid container ID: \"%s\"",
                            cfg && cfg->id ? cfg->id : "");
    if (guest_ct(g, cfg->id))
        return guest_refuse(g, VC_STATUS_INTERNAL, "container %s already exists", cfg->id);
    if (!cfg->process.n_args)
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    ct = vc_new0(g->ctx, struct ma_ct, 1);
    if (!ct)
        return guest_nomem(g);
    *ct = (struct ma_ct){.g = g, .state = MAGENT_CT_CREATED, .res = cfg->resources};
    ct->id = vc_strdup(g->ctx, cfg->id);
    exec_id = ct->id;
    if (!ct->id || proc_new(ct, exec_id, &cfg->process, true, &p) < 0 || ct_add_proc(ct, p) < 0)
        goto fail;
    p = NULL;
    v = vc_realloc(g->ctx, g->cts, (g->n_cts + 1) * sizeof(*v));
    if (!v)
        goto fail;
    g->cts = v;
    exec_id = vc_strdup(guest_out(g), cfg->id);
    if (!exec_id)
        goto fail;
    g->cts[g->n_cts++] = ct;
    *ret = (struct vc_process){.exec_id = exec_id, .pid = ct->procs[0]->pid};
    return guest_ok(g);
fail:
    proc_free(g->ctx, p);
    ct_free(g->ctx, ct);
    return guest_nomem(g);
}

int magent_guest_start_container(struct magent_guest *g, const char *container_id)
{
    struct ma_ct *ct = guest_ct(g, container_id);
    struct ma_proc *init;

    if (!ct)
        return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id");
    init = ct_init(ct);
    if (ct->state != MAGENT_CT_CREATED || !init)
        return guest_refuse(g, VC_STATUS_INTERNAL, "container %s is not in created state",
                            container_id);
    ct->state = MAGENT_CT_RUNNING;
    proc_start(init);
    return guest_ok(g);
}

int magent_guest_remove_container(struct magent_guest *g, const char *container_id)
{
    struct ma_ct *ct = guest_ct(g, container_id);

    if (!ct)
        return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id");
    ct_kill_all(ct, SIGKILL_NR);
    guest_drop_ct(g, ct);
    return guest_ok(g);
}

int magent_guest_exec_process(struct magent_guest *g, const char *container_id, const char *exec_id,
                              const struct vc_process_config *cmd, struct vc_process *ret)
{
    struct ma_ct *ct = guest_ct(g, container_id);
    struct ma_proc *p = NULL;
    char *id;

    if (!cmd || !cmd->n_args)
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    if (!ct)
        return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id");
    if (!exec_id || !*exec_id)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "exec id must not be empty");
    if (ct->state != MAGENT_CT_RUNNING && ct->state != MAGENT_CT_PAUSED)
        return guest_refuse(g, VC_STATUS_INTERNAL, "container %s is not running", container_id);
    for (size_t i = 0; i < ct->n_procs; i++)
        if (strcmp(ct->procs[i]->exec_id, exec_id) == 0)
            return guest_refuse(g, VC_STATUS_ALREADY_EXISTS, "exec id %s already exists", exec_id);
    id = vc_strdup(guest_out(g), exec_id);
    if (!id || proc_new(ct, exec_id, cmd, false, &p) < 0 || ct_add_proc(ct, p) < 0) {
        vc_free(guest_out(g), id);
        proc_free(g->ctx, p);
        return guest_nomem(g);
    }
    proc_start(p);
    *ret = (struct vc_process){.exec_id = id, .pid = p->pid};
    return guest_ok(g);
}

int magent_guest_signal_process(struct magent_guest *g, const char *container_id,
                                const char *exec_id, int signal, bool all)
{
    struct ma_proc *p;
    int st;

    if (signal < 0 || signal > 64)
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    if (all) {
        struct ma_ct *ct = guest_ct(g, container_id);
        if (!ct)
            return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id %s", container_id);
        ct_kill_all(ct, signal);
        return guest_ok(g);
    }
    st = guest_find(g, container_id, exec_id, &p);
    if (st != VC_STATUS_OK)
        return st;
    /* A process that already ended answers ESRCH, which kata-agent treats as done. */
    proc_signal(p, signal);
    return guest_ok(g);
}

int magent_guest_wait_process(struct magent_guest *g, const char *container_id, const char *exec_id,
                              int32_t *ret_status)
{
    struct ma_proc *p;
    int st = guest_find(g, container_id, exec_id, &p);

    if (st != VC_STATUS_OK)
        return st;
    if (!p->exited)
        return MAGENT_AGAIN;
    *ret_status = p->exit_code;
    /* Reaped: the agent forgets it, and later calls naming it are refused. */
    ct_drop_proc(p->ct, p);
    return guest_ok(g);
}

int magent_guest_write_stdin(struct magent_guest *g, const char *container_id, const char *exec_id,
                             const void *buf, size_t len, size_t *ret_written)
{
    struct ma_proc *p;
    int st = guest_find(g, container_id, exec_id, &p);
    int r;

    if (st != VC_STATUS_OK)
        return st;
    if (len == 0) /* kata-agent: empty data is the end of stdin */
        return magent_guest_close_stdin(g, container_id, exec_id);
    if (p->stdin_closed || p->exited)
        return guest_refuse(g, VC_STATUS_INTERNAL, "cannot get writer");
    if (p->prog && p->prog->echo_stdin && p->started && !p->frozen) {
        r = buf_append(g->ctx, &p->out, buf, len);
    } else {
        /* Nobody reads it: it fills the pipe, and a full pipe blocks the writer. */
        r = p->in_len + len > MAGENT_STREAM_MAX ? -ENOSPC : 0;
        if (r == 0)
            p->in_len += len;
    }
    if (r == -ENOSPC)
        return MAGENT_AGAIN;
    if (r < 0)
        return guest_nomem(g);
    *ret_written = len;
    return guest_ok(g);
}

int magent_guest_close_stdin(struct magent_guest *g, const char *container_id, const char *exec_id)
{
    struct ma_proc *p;

    /* kata-agent's CloseStdin refuses with INVALID_ARGUMENT, unlike the other process calls. */
    if (guest_find(g, container_id, exec_id, &p) != VC_STATUS_OK)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "invalid argument: %s", g->msg);
    p->stdin_closed = true;
    /* cat ends at the end of its input. */
    if (p->prog && p->prog->echo_stdin && p->started && !p->exited)
        proc_exit(p, p->prog->exit_code);
    return guest_ok(g);
}

int magent_guest_read_stream(struct magent_guest *g, const char *container_id, const char *exec_id,
                             bool err, void *buf, size_t len, size_t *ret_len)
{
    struct ma_proc *p;
    struct ma_buf *b;
    int st = guest_find(g, container_id, exec_id, &p);

    if (st != VC_STATUS_OK)
        return st;
    b = err ? &p->err : &p->out;
    if (b->off < b->len && len) {
        *ret_len = buf_read(b, buf, len);
        return guest_ok(g);
    }
    if (!p->exited)
        return MAGENT_AGAIN;
    *ret_len = 0;
    return guest_ok(g);
}

int magent_guest_tty_win_resize(struct magent_guest *g, const char *container_id,
                                const char *exec_id, uint32_t rows, uint32_t columns)
{
    struct ma_proc *p;

    /* kata-agent answers UNAVAILABLE here, both for a process it cannot find and for no tty. */
    if (guest_find(g, container_id, exec_id, &p) != VC_STATUS_OK)
        return guest_refuse(g, VC_STATUS_UNAVAILABLE, "invalid argument: %s", g->msg);
    if (p->exited)
        return guest_refuse(g, VC_STATUS_UNAVAILABLE, "no tty");
    return guest_ok(g);
}

static int guest_find_ct_arg(struct magent_guest *g, const char *container_id, struct ma_ct **ret)
{
    *ret = guest_ct(g, container_id);
    if (!*ret)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "invalid container id");
    return VC_STATUS_OK;
}

int magent_guest_update_container(struct magent_guest *g, const char *container_id,
                                  const struct vc_resources *res)
{
    struct ma_ct *ct;
    int st = guest_find_ct_arg(g, container_id, &ct);

    if (st != VC_STATUS_OK)
        return st;
    if (res)
        ct->res = *res;
    return guest_ok(g);
}

static uint64_t proc_cpu_ns(const struct ma_proc *p, uint64_t now)
{
    uint64_t end;

    if (!p->started)
        return 0;
    end = p->exited ? p->exit_ns : now;
    return end > p->start_ns ? end - p->start_ns : 0;
}

int magent_guest_stats_container(struct magent_guest *g, const char *container_id,
                                 struct vc_container_stats *ret)
{
    struct vc_container_stats s = {0};
    uint64_t now = guest_now(g);
    struct ma_ct *ct;
    int st = guest_find_ct_arg(g, container_id, &ct);

    if (st != VC_STATUS_OK)
        return st;
    for (size_t i = 0; i < ct->n_procs; i++) {
        const struct ma_proc *p = ct->procs[i];
        s.cpu_total_ns += proc_cpu_ns(p, now);
        if (p->started && !p->exited)
            s.pids_current++;
    }
    /* A quarter of the time in the kernel: a made-up but stable split. */
    s.cpu_kernel_ns = s.cpu_total_ns / 4;
    s.cpu_user_ns = s.cpu_total_ns - s.cpu_kernel_ns;
    s.mem_usage = s.pids_current * PROC_MEM_BYTES;
    s.mem_max_usage = s.mem_usage;
    s.mem_limit = ct->res.memory_limit > 0 ? (uint64_t) ct->res.memory_limit : 0;
    s.mem_failcnt = ct->oom_kills;
    *ret = s;
    return guest_ok(g);
}

int magent_guest_pause_container(struct magent_guest *g, const char *container_id)
{
    struct ma_ct *ct;
    int st = guest_find_ct_arg(g, container_id, &ct);

    if (st != VC_STATUS_OK)
        return st;
    if (ct->state != MAGENT_CT_RUNNING)
        return guest_refuse(g, VC_STATUS_INTERNAL,
                            "failed to pause container: current status is %s",
                            magent_ct_state_to_string(ct->state));
    ct_set_paused(ct, true);
    return guest_ok(g);
}

int magent_guest_resume_container(struct magent_guest *g, const char *container_id)
{
    struct ma_ct *ct;
    int st = guest_find_ct_arg(g, container_id, &ct);

    if (st != VC_STATUS_OK)
        return st;
    if (ct->state != MAGENT_CT_PAUSED)
        return guest_refuse(g, VC_STATUS_INTERNAL, "container %s is not paused", container_id);
    ct_set_paused(ct, false);
    return guest_ok(g);
}

static int ps_line(struct vc_ctx *ctx, const struct ma_proc *p, bool json, bool first, char **s)
{
    int r;

    if (json)
        return vc_strappendf(ctx, s, "%s%d", first ? "" : ",", p->pid);
    r = vc_strappendf(ctx, s, "root     %5d     1  0 00:00 ?        00:00:00", p->pid);
    for (size_t i = 0; r >= 0 && i < p->n_argv; i++)
        r = vc_strappendf(ctx, s, " %s", p->argv[i]);
    return r < 0 ? r : vc_strappendf(ctx, s, "\n");
}

int magent_guest_list_processes(struct magent_guest *g, const char *container_id,
                                const char *format, char **ret)
{
    bool json = format && strcmp(format, "json") == 0, first = true;
    struct ma_ct *ct = guest_ct(g, container_id);
    char *s = NULL;
    int r;

    if (!ct)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "invalid container id");
    if (!json && (!format || strcmp(format, "table") != 0))
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "invalid format!");
    r = json ? vc_strappendf(guest_out(g), &s, "[")
             : vc_strappendf(guest_out(g), &s,
                             "UID        PID  PPID  C STIME TTY          TIME CMD\n");
    for (size_t i = 0; r >= 0 && i < ct->n_procs; i++) {
        const struct ma_proc *p = ct->procs[i];
        if (!p->started || p->exited)
            continue;
        r = ps_line(guest_out(g), p, json, first, &s);
        first = false;
    }
    if (r >= 0 && json)
        r = vc_strappendf(guest_out(g), &s, "]");
    if (r < 0) {
        vc_free(guest_out(g), s);
        return guest_nomem(g);
    }
    *ret = s;
    return guest_ok(g);
}

/* --- network ------------------------------------------------------------------------------- */

static bool same_iface(const struct vc_interface *a, const struct vc_interface *b)
{
    if (a->name && b->name && *a->name)
        return strcmp(a->name, b->name) == 0;
    return a->device && b->device && strcmp(a->device, b->device) == 0;
}

int magent_guest_update_interface(struct magent_guest *g, const struct vc_interface *iface,
                                  struct vc_interface *ret)
{
    struct vc_interface copy = {0}, out = {0};
    struct vc_interface *v;
    size_t i;

    if (!iface)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "empty update interface request");
    if (vc_obj_copy(g->ctx, &vc_schema_interface, &copy, iface) < 0)
        return guest_nomem(g);
    if (vc_obj_copy(guest_out(g), &vc_schema_interface, &out, iface) < 0) {
        vc_obj_clear(g->ctx, &vc_schema_interface, &copy);
        return guest_nomem(g);
    }
    for (i = 0; i < g->n_ifaces && !same_iface(&g->ifaces[i], iface); i++)
        ;
    if (i == g->n_ifaces) {
        v = vc_realloc(g->ctx, g->ifaces, (g->n_ifaces + 1) * sizeof(*v));
        if (!v) {
            vc_obj_clear(g->ctx, &vc_schema_interface, &copy);
            vc_obj_clear(guest_out(g), &vc_schema_interface, &out);
            return guest_nomem(g);
        }
        g->ifaces = v;
        g->ifaces[g->n_ifaces++] = (struct vc_interface){0};
    }
    vc_obj_clear(g->ctx, &vc_schema_interface, &g->ifaces[i]);
    g->ifaces[i] = copy;
    *ret = out;
    return guest_ok(g);
}

static int guest_copy_array(struct magent_guest *g, const struct vc_schema *s, const void *src,
                            size_t n, void **ret, size_t *ret_n)
{
    void *v = NULL;

    if (n && vc_obj_array_copy(guest_out(g), s, src, n, &v) < 0)
        return guest_nomem(g);
    *ret = v;
    *ret_n = n;
    return guest_ok(g);
}

int magent_guest_list_interfaces(struct magent_guest *g, struct vc_interface **ret, size_t *ret_n)
{
    return guest_copy_array(g, &vc_schema_interface, g->ifaces, g->n_ifaces, (void **) ret, ret_n);
}

int magent_guest_update_routes(struct magent_guest *g, const struct vc_route *routes, size_t n,
                               struct vc_route **ret, size_t *ret_n)
{
    void *v = NULL;

    if (n && !routes)
        return guest_refuse(g, VC_STATUS_INVALID_ARGUMENT, "empty update routes request");
    if (n && vc_obj_array_copy(g->ctx, &vc_schema_route, routes, n, &v) < 0)
        return guest_nomem(g);
    vc_obj_array_free(g->ctx, &vc_schema_route, g->routes, g->n_routes);
    g->routes = v;
    g->n_routes = n;
    return magent_guest_list_routes(g, ret, ret_n);
}

int magent_guest_list_routes(struct magent_guest *g, struct vc_route **ret, size_t *ret_n)
{
    return guest_copy_array(g, &vc_schema_route, g->routes, g->n_routes, (void **) ret, ret_n);
}

/* Appends copies of n objects of schema s to *v / *n_v. */
static int guest_append(struct magent_guest *g, const struct vc_schema *s, void **v, size_t *n_v,
                        const void *src, size_t n)
{
    void *copy = NULL;
    char *p;

    if (!n)
        return guest_ok(g);
    if (vc_obj_array_copy(g->ctx, s, src, n, &copy) < 0)
        return guest_nomem(g);
    p = vc_realloc(g->ctx, *v, (*n_v + n) * s->size);
    if (!p) {
        vc_obj_array_free(g->ctx, s, copy, n);
        return guest_nomem(g);
    }
    memcpy(p + *n_v * s->size, copy, n * s->size);
    vc_free(g->ctx, copy);
    *v = p;
    *n_v += n;
    return guest_ok(g);
}

int magent_guest_add_arp_neighbors(struct magent_guest *g, const struct vc_arp_neighbor *v,
                                   size_t n)
{
    return guest_append(g, &vc_schema_arp_neighbor, (void **) &g->neigh, &g->n_neigh, v, n);
}

size_t magent_guest_neighbor_count(const struct magent_guest *g)
{
    return g->n_neigh;
}

/* --- resources, time, misc ------------------------------------------------------------------ */

int magent_guest_online_cpu_mem(struct magent_guest *g, uint32_t nb_cpus, bool cpu_only)
{
    if (g->real && g->real->online_cpu_mem)
        return guest_real_online(g, nb_cpus, cpu_only);
    if (nb_cpus) {
        uint32_t offline = g->vcpus - g->online_vcpus;
        uint32_t add = nb_cpus < offline ? nb_cpus : offline;
        g->online_vcpus += add;
        /* kata-agent's online_cpus: done once nb_cpus are online, else it gives up. */
        if (add < nb_cpus && g->online_vcpus < nb_cpus)
            return guest_refuse(
                g, VC_STATUS_INTERNAL,
                "online cpus: failed to online %" PRIu32 " CPU(s) after 100 retries", nb_cpus);
    }
    if (!cpu_only)
        g->online_memory_mb = g->memory_mb;
    return guest_ok(g);
}

int magent_guest_mem_hotplug_by_probe(struct magent_guest *g, uint64_t addr, uint32_t size_mb,
                                      uint32_t block_mb)
{
    uint64_t block = block_mb ? (uint64_t) block_mb << 20 : DEFAULT_BLOCK;
    size_t n = block_mb && size_mb / block_mb ? size_mb / block_mb : 1;
    uint64_t *v;

    if (g->n_probed + n > PROBE_MAX)
        return guest_refuse(g, VC_STATUS_INTERNAL, "ENOSPC: No space left on device");
    v = vc_realloc(g->ctx, g->probed, (g->n_probed + n) * sizeof(*v));
    if (!v)
        return guest_nomem(g);
    g->probed = v;
    for (size_t i = 0; i < n; i++)
        g->probed[g->n_probed++] = addr + i * block;
    return guest_ok(g);
}

size_t magent_guest_probed_blocks(const struct magent_guest *g)
{
    return g->n_probed;
}

int magent_guest_set_date_time(struct magent_guest *g, int64_t sec, int64_t usec)
{
    if (usec < 0 || usec >= 1000000)
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    if (g->real && g->real->set_date_time) {
        int r = g->real->set_date_time(g->real_data, sec, usec);

        if (r < 0)
            return guest_refuse(g, VC_STATUS_INTERNAL, "%s: cannot set the clock",
                                vc_errno_name(r));
    }
    g->time_sec = sec;
    g->time_usec = usec;
    return guest_ok(g);
}

int64_t magent_guest_date_time_sec(const struct magent_guest *g)
{
    return g->time_sec;
}

int magent_guest_reseed_random(struct magent_guest *g, const void *data, size_t len)
{
    g->reseeds++;
    return guest_ok(g);
}

/* kata-agent copies only below /run, to a canonical absolute path. */
static bool copy_path_ok(const char *path)
{
    return path && strncmp(path, "/run/", 5) == 0 && !strstr(path, "/../") &&
           !strstr(path, "/./") && !strstr(path, "//") && path[strlen(path) - 1] != '/' &&
           strcmp(path + strlen(path) - 3, "/..") != 0;
}

int magent_guest_copy_file(struct magent_guest *g, const struct vc_copy_file *file)
{
    struct ma_file f = {0}, *v;
    size_t i;

    if (!file || !copy_path_ok(file->path))
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    f.path = vc_strdup(g->ctx, file->path);
    f.size = file->size;
    f.mode = file->file_mode;
    if (file->size && (f.data = vc_malloc(g->ctx, file->size)))
        memcpy(f.data, file->data, file->size);
    if (!f.path || (file->size && !f.data))
        goto fail;
    for (i = 0; i < g->n_files && strcmp(g->files[i].path, f.path) != 0; i++)
        ;
    if (i == g->n_files) {
        v = vc_realloc(g->ctx, g->files, (g->n_files + 1) * sizeof(*v));
        if (!v)
            goto fail;
        g->files = v;
        g->files[g->n_files++] = (struct ma_file){0};
    }
    vc_free(g->ctx, g->files[i].path);
    vc_free(g->ctx, g->files[i].data);
    g->files[i] = f;
    return guest_ok(g);
fail:
    vc_free(g->ctx, f.path);
    vc_free(g->ctx, f.data);
    return guest_nomem(g);
}

int magent_guest_file(const struct magent_guest *g, const char *path, const uint8_t **ret_data,
                      size_t *ret_size, uint32_t *ret_mode)
{
    for (size_t i = 0; path && i < g->n_files; i++) {
        if (strcmp(g->files[i].path, path) != 0)
            continue;
        *ret_data = g->files[i].data;
        *ret_size = g->files[i].size;
        *ret_mode = g->files[i].mode;
        return 0;
    }
    return -ENOENT;
}

int magent_guest_add_swap(struct magent_guest *g, const uint32_t *pci_path, size_t n)
{
    if (!n)
        return guest_refuse(g, VC_STATUS_INTERNAL, "EINVAL: Invalid argument");
    g->n_swaps++;
    return guest_ok(g);
}

size_t magent_guest_swap_count(const struct magent_guest *g)
{
    return g->n_swaps;
}

int magent_guest_update_ephemeral_mounts(struct magent_guest *g, const struct vc_mount *mounts,
                                         size_t n)
{
    return guest_append(g, &vc_schema_mount, (void **) &g->mounts, &g->n_mounts, mounts, n);
}

size_t magent_guest_ephemeral_mount_count(const struct magent_guest *g)
{
    return g->n_mounts;
}

static int strv_dup(struct vc_ctx *ctx, const char *const *src, size_t n, char ***ret)
{
    char **v = vc_new0(ctx, char *, n);

    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = vc_strdup(ctx, src[i]))) {
            strv_free(ctx, v, i);
            return -ENOMEM;
        }
    }
    *ret = v;
    return 0;
}

int magent_guest_get_details(struct magent_guest *g, struct vc_guest_details *ret)
{
    static const char *const storage[] = {"blk",   "9p",   "virtio-fs", "ephemeral",
                                          "local", "scsi", "nvdimm",    "watchable-bind"};
    static const char *const devices[] = {"blk", "scsi", "vfio-pci", "nvdimm"};
    const struct magent_facts *f = &g->script->facts;
    struct vc_guest_details d = {
        .mem_block_size_bytes = f->mem_block_bytes ? f->mem_block_bytes : DEFAULT_BLOCK,
        .support_mem_hotplug_probe = f->mem_hotplug_probe,
        .init_daemon = true,
    };
    struct magent_real_state st;

    if (guest_real_sync(g, &st) && st.mem_block_bytes) {
        d.mem_block_size_bytes = st.mem_block_bytes;
        d.support_mem_hotplug_probe = st.mem_hotplug_probe;
    }
    d.agent_version =
        vc_strdup(guest_out(g), f->agent_version ? f->agent_version : DEFAULT_VERSION);
    if (!d.agent_version ||
        strv_dup(guest_out(g), storage, VC_ELEMENTSOF(storage), &d.storage_handlers) < 0)
        goto fail;
    d.n_storage_handlers = VC_ELEMENTSOF(storage);
    if (strv_dup(guest_out(g), devices, VC_ELEMENTSOF(devices), &d.device_handlers) < 0)
        goto fail;
    d.n_device_handlers = VC_ELEMENTSOF(devices);
    *ret = d;
    return guest_ok(g);
fail:
    vc_obj_clear(guest_out(g), &vc_schema_guest_details, &d);
    return guest_nomem(g);
}

int magent_guest_get_metrics(struct magent_guest *g, char **ret)
{
    const char *m = g->script->facts.metrics;
    char *s = NULL;
    struct magent_real_state st;
    int r;

    (void) guest_real_sync(g, &st);
    if (m)
        r = (s = vc_strdup(guest_out(g), m)) ? 0 : -ENOMEM;
    else
        r = vc_strappendf(
            guest_out(g), &s,
            "# HELP kata_agent_process_count Containers' processes the agent tracks.\n"
            "# TYPE kata_agent_process_count gauge\n"
            "kata_agent_containers %zu\n"
            "kata_guest_online_cpus %" PRIu32 "\n"
            "kata_guest_online_memory_mb %" PRIu32 "\n",
            g->n_cts, g->online_vcpus, g->online_memory_mb);
    if (r < 0) {
        vc_free(guest_out(g), s);
        return guest_nomem(g);
    }
    *ret = s;
    return guest_ok(g);
}

int magent_guest_get_oom_event(struct magent_guest *g, char **ret_container_id)
{
    if (!g->n_oom)
        return MAGENT_AGAIN;
    *ret_container_id = vc_strdup(guest_out(g), g->oom[0]);
    if (!*ret_container_id)
        return guest_nomem(g);
    vc_free(g->ctx, g->oom[0]);
    memmove(&g->oom[0], &g->oom[1], (g->n_oom - 1) * sizeof(*g->oom));
    g->n_oom--;
    return guest_ok(g);
}

static struct ma_volume *guest_volume(const struct magent_guest *g, const char *path)
{
    for (size_t i = 0; i < g->n_vols; i++)
        if (strcmp(g->vols[i].path, path) == 0)
            return &g->vols[i];
    return NULL;
}

int magent_guest_volume_stats(struct magent_guest *g, const char *path, struct vc_volume_stats *ret)
{
    const struct ma_volume *v;
    uint64_t size = g->script->facts.volume_bytes ? g->script->facts.volume_bytes : DEFAULT_VOLUME;

    if (!path || *path != '/')
        return guest_refuse(g, VC_STATUS_INTERNAL, "ENOENT: No such file or directory");
    v = guest_volume(g, path);
    if (v)
        size = v->size;
    /* A quarter used: a stable made-up figure. */
    *ret = (struct vc_volume_stats){
        .bytes_total = size,
        .bytes_used = size / 4,
        .bytes_available = size - size / 4,
        .inodes_total = 65536,
        .inodes_used = 16,
        .inodes_available = 65536 - 16,
    };
    return guest_ok(g);
}

int magent_guest_resize_volume(struct magent_guest *g, const char *path, uint64_t size)
{
    struct ma_volume *v, *nv;

    if (!path || *path != '/')
        return guest_refuse(g, VC_STATUS_INTERNAL, "ENOENT: No such file or directory");
    v = guest_volume(g, path);
    if (!v) {
        nv = vc_realloc(g->ctx, g->vols, (g->n_vols + 1) * sizeof(*nv));
        if (!nv)
            return guest_nomem(g);
        g->vols = nv;
        v = &g->vols[g->n_vols];
        v->path = vc_strdup(g->ctx, path);
        if (!v->path)
            return guest_nomem(g);
        g->n_vols++;
    }
    v->size = size;
    return guest_ok(g);
}

int magent_guest_get_iptables(struct magent_guest *g, bool ipv6, uint8_t **ret, size_t *ret_len)
{
    const struct vc_copy_file *t = &g->ipt[ipv6];
    uint8_t *p = NULL;

    if (t->size && !(p = vc_malloc(guest_out(g), t->size)))
        return guest_nomem(g);
    if (t->size)
        memcpy(p, t->data, t->size);
    *ret = p;
    *ret_len = t->size;
    return guest_ok(g);
}

int magent_guest_set_iptables(struct magent_guest *g, bool ipv6, const uint8_t *data, size_t len)
{
    struct vc_copy_file *t = &g->ipt[ipv6];
    uint8_t *p = NULL;

    if (len && !(p = vc_malloc(g->ctx, len)))
        return guest_nomem(g);
    if (len)
        memcpy(p, data, len);
    vc_free(g->ctx, t->data);
    t->data = p;
    t->size = len;
    return guest_ok(g);
}

int magent_guest_set_policy(struct magent_guest *g, const char *policy)
{
    char *p = vc_strdup(g->ctx, policy ? policy : "");

    if (!p)
        return guest_nomem(g);
    vc_free(g->ctx, g->policy);
    g->policy = p;
    return guest_ok(g);
}

const char *magent_guest_policy(const struct magent_guest *g)
{
    return g->policy;
}

int magent_guest_diagnostic_data(struct magent_guest *g, const char *log_type,
                                 const char *container_id, char **ret)
{
    char *s = NULL;
    int r;

    if (container_id && *container_id && !guest_ct(g, container_id))
        return guest_refuse(g, VC_STATUS_INTERNAL, "Invalid container id: %s", container_id);
    r = vc_strappendf(guest_out(g), &s, "%s", "");
    if (r < 0)
        return guest_nomem(g);
    *ret = s;
    return guest_ok(g);
}

int magent_guest_remove_stale_virtiofs_share_mounts(struct magent_guest *g)
{
    return guest_ok(g);
}

/* --- inspection (host.h) --------------------------------------------------------------------- */

const char *magent_guest_sandbox_id(const struct magent_guest *g)
{
    return g->sandbox_id;
}

uint32_t magent_guest_cid(const struct magent_guest *g)
{
    return g->cid;
}

bool magent_guest_sandbox_up(const struct magent_guest *g)
{
    return g->sandbox_up;
}

size_t magent_guest_container_count(const struct magent_guest *g)
{
    return g->n_cts;
}

static void ct_view(const struct ma_ct *ct, struct magent_ct_view *ret)
{
    const struct ma_proc *init = ct_init(ct);
    struct magent_ct_view v = {.id = ct->id, .state = ct->state, .n_procs = ct->n_procs};

    v.init_pid = init ? init->pid : 0;
    for (size_t i = 0; i < ct->n_procs; i++)
        if (ct->procs[i]->started && !ct->procs[i]->exited)
            v.n_running++;
    *ret = v;
}

int magent_guest_container_at(const struct magent_guest *g, size_t i, struct magent_ct_view *ret)
{
    if (i >= g->n_cts)
        return -ENOENT;
    ct_view(g->cts[i], ret);
    return 0;
}

int magent_guest_container(const struct magent_guest *g, const char *id, struct magent_ct_view *ret)
{
    const struct ma_ct *ct = guest_ct(g, id);

    if (!ct)
        return -ENOENT;
    ct_view(ct, ret);
    return 0;
}

uint32_t magent_guest_vcpus(const struct magent_guest *g)
{
    return g->vcpus;
}

uint32_t magent_guest_online_vcpus(const struct magent_guest *g)
{
    return g->online_vcpus;
}

uint32_t magent_guest_memory_mb(const struct magent_guest *g)
{
    return g->memory_mb;
}

uint32_t magent_guest_online_memory_mb(const struct magent_guest *g)
{
    return g->online_memory_mb;
}

int magent_guest_oom(struct magent_guest *g, const char *container_id)
{
    struct ma_ct *ct = guest_ct(g, container_id);

    if (!ct)
        return -ENOENT;
    ct->oom_kills++;
    for (size_t i = 0; i < ct->n_procs; i++)
        proc_exit(ct->procs[i], EXIT_KILLED);
    return guest_queue_oom(g, container_id);
}

size_t magent_guest_pending_oom(const struct magent_guest *g)
{
    return g->n_oom;
}

const char *magent_ct_state_to_string(enum magent_ct_state s)
{
    static const char *const names[MAGENT_CT_LAST] = {
        [MAGENT_CT_CREATED] = "created",
        [MAGENT_CT_RUNNING] = "running",
        [MAGENT_CT_PAUSED] = "paused",
        [MAGENT_CT_STOPPED] = "stopped",
    };

    if ((int) s < 0 || s >= MAGENT_CT_LAST)
        return "unknown";
    return names[s];
}
