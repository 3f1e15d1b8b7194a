/* SPDX-License-Identifier: Apache-2.0 */
/* mockagent: the mock agent as a daemon. It boots one guest and serves it over ttrpc on any URL
 * the real transports listen on, or on a virtio-serial port device inside a guest, optionally
 * following a guest script and recording every frame as JSON lines. As a test guest's /init (PID 1
 * or --init) it brings the machine up first (init_real.c). Real-world only: this file uses signals,
 * the clock of the real context's poll loop and files directly. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/pbjson.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include <mockagent/host.h>
#include <mockagent/server.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "init.h"
#include "script_file.h"
#include "ttrpc.pb-c.h"

#define DM_CID          3u                        /* the guest's vsock CID */
#define DM_SANDBOX      "mockagent"               /* the guest's sandbox id */
#define DM_STORE        "/tmp/mockagent-no-store" /* the context's store root: never written */
#define DM_SERIAL       "serial://"
#define DM_REOPEN_NS    (UINT64_C(20) * 1000000) /* serial port: retry after the host left */
#define DM_EXIT_OK      0
#define DM_EXIT_RUNTIME 1
#define DM_EXIT_USAGE   2

struct dm_opts {
    const char *listen; /* --listen URL */
    const char *script; /* --script FILE, or NULL */
    const char *record; /* --record FILE, or NULL */
    uint32_t vcpus;     /* --vcpus */
    uint32_t memory_mb; /* --memory-mb */
    bool once;          /* --once */
    bool verbose;       /* -v */
    bool init;          /* --init, or running as PID 1: a test guest's /init */
};

struct dm {
    const struct dm_opts *o;    /* options */
    struct vc_ctx *ctx;         /* the real context */
    struct magent_host *host;   /* the guest */
    struct magent_server *srv;  /* the ttrpc server */
    FILE *rec;                  /* --record file, or NULL */
    int sigfd;                  /* signalfd for SIGTERM and SIGINT */
    bool stop;                  /* a signal came */
    struct vc_listener *l;      /* --once: the listener until its one connection */
    bool served;                /* --once: a connection was taken */
    const char *serial;         /* serial port device path, or NULL */
    int serial_fd;              /* serial: the port, held open; each connection serves a dup */
    uint64_t reopen_at;         /* serial: when to open the port again */
    const struct dm_init *init; /* init mode: what bringing the machine up found, or NULL */
};

static void dm_usage(FILE *f)
{
    fprintf(f,
            "usage: mockagent --listen URL [--script FILE] [--record FILE] [--vcpus N]\n"
            "                 [--memory-mb N] [--once] [--init] [-v]\n"
            "Serves a mock kata agent (grpc.AgentService, grpc.Health) over ttrpc.\n"
            "  --listen URL     unix://PATH, unix://@NAME, vsock://CID:PORT, mock://PATH, or\n"
            "                   serial:///dev/vportNpM (a virtio-serial port inside a guest)\n"
            "  --script FILE    YAML with a scenario's `guest:` section (rules, programs, facts)\n"
            "  --record FILE    every frame as a JSON line\n"
            "  --vcpus N        vCPUs of the guest (1)\n"
            "  --memory-mb N    memory of the guest in MiB (2048)\n"
            "  --once           exit after the first connection ends\n"
            "  --init           a test guest's /init (implied as PID 1): mount, load the\n"
            "                   modules in " DM_INIT_MODULES ", serve the port named\n"
            "                   " DM_INIT_CHANNEL " (without --listen) and vsock port 1024,\n"
            "                   online CPUs and memory for real; power off at the end\n"
            "  -v, --verbose    log every call to stderr\n"
            "Exit status: 0 clean (SIGTERM/SIGINT), 1 runtime error, 2 usage.\n");
}

static int dm_u32(const char *s, uint32_t *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t) v;
    return 0;
}

/* 0, 1 for --help, or -EINVAL (a message printed). */
static int dm_parse(int argc, char **argv, struct dm_opts *o)
{
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"script", required_argument, NULL, 's'},
        {"record", required_argument, NULL, 'r'},
        {"vcpus", required_argument, NULL, 'c'},
        {"memory-mb", required_argument, NULL, 'm'},
        {"once", no_argument, NULL, '1'},
        {"init", no_argument, NULL, 'i'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    *o = (struct dm_opts){.vcpus = 1, .memory_mb = 2048, .init = getpid() == 1};
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "hv", longs, NULL)) != -1) {
        if (ch == 'h')
            return 1;
        if (ch == 'l')
            o->listen = optarg;
        else if (ch == 's')
            o->script = optarg;
        else if (ch == 'r')
            o->record = optarg;
        else if (ch == '1')
            o->once = true;
        else if (ch == 'v')
            o->verbose = true;
        else if (ch == 'i')
            o->init = true;
        else if ((ch == 'c' && dm_u32(optarg, &o->vcpus) == 0) ||
                 (ch == 'm' && dm_u32(optarg, &o->memory_mb) == 0))
            continue;
        else {
            fprintf(stderr, "mockagent: bad option or value: %s\n", argv[optind - 1]);
            return -EINVAL;
        }
    }
    /* The kernel hands init the command line words it does not know: ignore them. */
    if (o->init)
        return 0;
    if (optind < argc || !o->listen) {
        fprintf(stderr, "mockagent: %s\n",
                optind < argc ? "unexpected argument" : "--listen is required");
        return -EINVAL;
    }
    return 0;
}

/* --- logging and recording ------------------------------------------------------------------- */

static void dm_log(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                   const char *msg)
{
    fprintf(stderr, "mockagent: %s: %s: %s\n", vc_log_level_to_string(level), topic, msg);
}

static void dm_trace(void *data, uint64_t ts_ns, const char *category, const char *name,
                     const char *detail)
{
    fprintf(stderr, "mockagent: %" PRIu64 ".%06" PRIu64 " %s %s %s\n", ts_ns / 1000000000,
            ts_ns / 1000 % 1000000, category, name, detail ? detail : "");
}

/* Standard base64 with padding into a new string (free), or NULL. */
static char *dm_base64(const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* A peer's name as printable ASCII (other bytes become '?'), cut at 256 bytes: the record stays
 * valid UTF-8 whatever the peer sent. */
static json_object *dm_name(const char *s)
{
    char buf[257];
    size_t i;

    for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
    return json_object_new_string(buf);
}

/* A Request frame's service, method and decoded message, when they decode. */
static void dm_rec_request(struct dm *d, json_object *j, const uint8_t *buf, size_t len)
{
    const ProtobufCServiceDescriptor *svc = NULL;
    const ProtobufCMethodDescriptor *md = NULL;
    ProtobufCMessage *msg = NULL;
    json_object *mj = NULL;
    Ttrpc__Request *req = ttrpc__request__unpack(NULL, len, buf);

    if (!req)
        return;
    (void) json_object_object_add(j, "service", dm_name(req->service));
    (void) json_object_object_add(j, "method", dm_name(req->method));
    if (strcmp(req->service, "grpc.AgentService") == 0)
        svc = &grpc__agent_service__descriptor;
    else if (strcmp(req->service, "grpc.Health") == 0)
        svc = &grpc__health__descriptor;
    if (svc)
        md = protobuf_c_service_descriptor_get_method_by_name(svc, req->method);
    if (md)
        msg = protobuf_c_message_unpack(md->input, NULL, req->payload.len, req->payload.data);
    if (msg && vc_pbjson_to_json(d->ctx, msg, 0, &mj) >= 0)
        (void) json_object_object_add(j, "msg", mj);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    ttrpc__request__free_unpacked(req, NULL);
}

/* A Response frame's status. */
static void dm_rec_response(json_object *j, const uint8_t *buf, size_t len)
{
    Ttrpc__Response *resp = ttrpc__response__unpack(NULL, len, buf);

    if (!resp)
        return;
    (void) json_object_object_add(j, "code",
                                  json_object_new_int(resp->status ? resp->status->code : 0));
    if (resp->status && resp->status->message[0])
        (void) json_object_object_add(j, "message", dm_name(resp->status->message));
    ttrpc__response__free_unpacked(resp, NULL);
}

static void dm_record(void *data, enum vc_ttrpc_dir dir, uint32_t stream_id, uint8_t type,
                      uint8_t flags, const uint8_t *buf, size_t len)
{
    struct dm *d = data;
    json_object *j = json_object_new_object();
    char *b64 = NULL;

    if (!j)
        return;
    (void) json_object_object_add(j, "dir",
                                  json_object_new_string(dir == VC_TTRPC_DIR_IN ? "in" : "out"));
    (void) json_object_object_add(j, "stream", json_object_new_int64(stream_id));
    (void) json_object_object_add(j, "type", json_object_new_int(type));
    (void) json_object_object_add(j, "flags", json_object_new_int(flags));
    b64 = buf ? dm_base64(buf, len) : NULL;
    (void) json_object_object_add(j, "data", json_object_new_string(b64 ? b64 : ""));
    if (!buf && len) {
        /* Over 4 MiB: the server skipped the data. */
        (void) json_object_object_add(j, "len", json_object_new_int64((int64_t) len));
        (void) json_object_object_add(j, "oversized", json_object_new_boolean(1));
    }
    if (buf && type == VC_TTRPC_TYPE_REQUEST)
        dm_rec_request(d, j, buf, len);
    else if (buf && type == VC_TTRPC_TYPE_RESPONSE)
        dm_rec_response(j, buf, len);
    fprintf(
        d->rec, "%s\n",
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    (void) fflush(d->rec);
    free(b64);
    json_object_put(j);
}

/* --- listening ------------------------------------------------------------------------------- */

static void dm_signal(void *data, int fd, unsigned revents)
{
    struct dm *d = data;
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
        d->stop = true;
}

/* --once: takes the first connection, then stops listening. */
static void dm_accept_once(void *data, int fd, unsigned revents)
{
    struct dm *d = data;
    const struct vc_loop *loop = vc_ctx_loop(d->ctx);
    struct vc_stream *s = NULL;

    if (vc_listener_accept(d->l, &s) < 0)
        return;
    (void) loop->ops->watch(loop->data, d->l->fd, 0, NULL, NULL);
    vc_listener_close(d->l);
    d->l = NULL;
    d->served = true;
    if (magent_server_serve(d->srv, DM_CID, s) < 0)
        fprintf(stderr, "mockagent: cannot serve: %s\n", vc_ctx_errmsg(d->ctx));
}

/* Serves the serial port; when the host is not there, reads end at once and the connection
 * closes: it is served again a little later. The port itself stays open: a virtio-serial port's
 * last close drops the bytes it holds, which may be the next host connection's first request. */
static void dm_serial_open(struct dm *d)
{
    struct vc_stream *s = NULL;
    int fd;

    d->reopen_at = vc_now(d->ctx) + DM_REOPEN_NS;
    if (d->serial_fd < 0)
        d->serial_fd = open(d->serial, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    fd = d->serial_fd < 0 ? -1 : fcntl(d->serial_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        if (d->o->verbose)
            fprintf(stderr, "mockagent: open %s: %s\n", d->serial, strerror(errno));
        return;
    }
    if (vc_fd_stream_new(d->ctx, fd, "serial", &s) >= 0)
        s->flags |= VC_STREAM_PEER_REPLACEABLE; /* the host may reconnect unseen */
    if (!s || magent_server_serve(d->srv, DM_CID, s) < 0)
        fprintf(stderr, "mockagent: cannot serve %s: %s\n", d->serial, vc_ctx_errmsg(d->ctx));
}

/* A serial:// URL naming a character device is a port inside a guest. */
static const char *dm_serial_device(const char *url)
{
    const char *path = url + strlen(DM_SERIAL);
    struct stat st;

    if (strncmp(url, DM_SERIAL, strlen(DM_SERIAL)) != 0 || stat(path, &st) < 0 ||
        !S_ISCHR(st.st_mode))
        return NULL;
    return path;
}

/* Init mode on a host with vhost-vsock: kata-agent's vsock port as well. */
static void dm_listen_vsock(struct dm *d)
{
    struct vc_listener *l = NULL;

    if (vc_listen(d->ctx, DM_INIT_VSOCK_URL, &l) < 0 || magent_server_listen(d->srv, DM_CID, l) < 0)
        fprintf(stderr, "mockagent: cannot serve %s: %s\n", DM_INIT_VSOCK_URL,
                vc_ctx_errmsg(d->ctx));
    else
        fprintf(stderr, "mockagent: serving %s\n", DM_INIT_VSOCK_URL);
}

static int dm_listen(struct dm *d)
{
    const struct vc_loop *loop = vc_ctx_loop(d->ctx);
    struct vc_listener *l = NULL;
    int r;

    if (d->init && d->init->vsock)
        dm_listen_vsock(d);
    if (d->init && !d->o->listen[0])
        return 0;
    d->serial = dm_serial_device(d->o->listen);
    if (d->serial) {
        dm_serial_open(d);
        return 0;
    }
    r = vc_listen(d->ctx, d->o->listen, &l);
    if (r < 0)
        return r;
    if (!d->o->once)
        return magent_server_listen(d->srv, DM_CID, l);
    d->l = l;
    r = loop->ops->watch(loop->data, l->fd, VC_IO_IN, dm_accept_once, d);
    return r < 0 ? vc_err(d->ctx, r, "cannot watch the listener") : 0;
}

/* --- main ------------------------------------------------------------------------------------ */

static int dm_setup(struct dm *d)
{
    struct vcsim_scenario *sc = NULL;
    struct vcsim_diag diag = {0};
    int r;

    if (d->o->script && vcsim_script_load(d->o->script, &diag, &sc) < 0) {
        fprintf(stderr, "mockagent: %s\n", diag.msg);
        return -EINVAL;
    }
    r = magent_host_new(d->ctx, sc ? &sc->script : NULL, &d->host);
    vcsim_scenario_free(sc);
    if (r >= 0 && d->init)
        magent_host_set_real(d->host, &dm_init_real_ops, NULL);
    if (r >= 0)
        r = magent_host_boot(d->host, DM_SANDBOX, DM_CID,
                             d->init && d->init->vcpus ? d->init->vcpus : d->o->vcpus,
                             d->init && d->init->memory_mb ? d->init->memory_mb : d->o->memory_mb);
    if (r >= 0)
        r = magent_server_new(d->ctx, d->host, &d->srv);
    if (r >= 0 && d->o->record && !(d->rec = fopen(d->o->record, "we")))
        r = vc_err(d->ctx, -errno, "cannot open '%s': %s", d->o->record, strerror(errno));
    if (r >= 0 && d->rec)
        magent_server_set_recorder(d->srv, dm_record, d);
    if (r >= 0)
        r = dm_listen(d);
    if (r < 0)
        fprintf(stderr, "mockagent: %s\n", vc_ctx_errmsg(d->ctx));
    else if (d->init && d->o->listen[0])
        fprintf(stderr, "mockagent: serving %s\n", d->o->listen);
    return r;
}

static int dm_signals(struct dm *d)
{
    const struct vc_loop *loop = vc_ctx_loop(d->ctx);
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    (void) signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0)
        return -errno;
    return loop->ops->watch(loop->data, d->sigfd, VC_IO_IN, dm_signal, d);
}

/* Whether --once has nothing left to serve. */
static bool dm_done(const struct dm *d)
{
    struct vc_ttrpc_stats st;

    if (!d->o->once || magent_server_connections(d->srv) > 0)
        return false;
    magent_server_stats(d->srv, &st);
    return d->serial ? st.frames_in > 0 : d->served;
}

static int dm_run(struct dm *d)
{
    const struct vc_loop *loop = vc_ctx_loop(d->ctx);
    int r;

    while (!d->stop && !dm_done(d)) {
        bool idle = d->serial && magent_server_connections(d->srv) == 0;

        if (idle && vc_now(d->ctx) >= d->reopen_at)
            dm_serial_open(d);
        idle = d->serial && magent_server_connections(d->srv) == 0;
        r = loop->ops->run_once(loop->data, idle ? d->reopen_at : UINT64_MAX);
        if (r < 0 && r != -ETIMEDOUT) {
            fprintf(stderr, "mockagent: loop failed: %s\n", strerror(-r));
            return r;
        }
    }
    return 0;
}

static void dm_teardown(struct dm *d)
{
    const struct vc_loop *loop = d->ctx ? vc_ctx_loop(d->ctx) : NULL;

    if (d->l) {
        (void) loop->ops->watch(loop->data, d->l->fd, 0, NULL, NULL);
        vc_listener_close(d->l);
    }
    magent_server_free(d->srv);
    magent_host_free(d->host);
    if (d->sigfd >= 0) {
        (void) loop->ops->watch(loop->data, d->sigfd, 0, NULL, NULL);
        (void) close(d->sigfd);
    }
    if (d->serial_fd >= 0)
        (void) close(d->serial_fd);
    vc_ctx_free(d->ctx);
    if (d->rec)
        (void) fclose(d->rec);
}

/* Init mode: brings the machine up, finds the port to serve (unless --listen named one) and a
 * guest script shipped in the image. 0, or -ENODEV (nothing to serve). */
static int dm_init_start(struct dm_opts *o, struct dm_init *in)
{
    int r = dm_init_boot(!o->listen, in);

    if (r < 0)
        return r;
    if (!o->listen)
        o->listen = in->url;
    if (!o->script && access(DM_INIT_SCRIPT, R_OK) == 0)
        o->script = DM_INIT_SCRIPT;
    return 0;
}

int main(int argc, char **argv)
{
    struct dm_opts o;
    struct dm_init in;
    struct dm d = {.o = &o, .sigfd = -1, .serial_fd = -1};
    int r = dm_parse(argc, argv, &o);

    if (r != 0) {
        dm_usage(r > 0 ? stdout : stderr);
        if (getpid() == 1)
            dm_init_halt("bad arguments: powering off");
        return r > 0 ? DM_EXIT_OK : DM_EXIT_USAGE;
    }
    if (o.init && dm_init_start(&o, &in) < 0) {
        dm_init_halt("nothing to serve: powering off");
        return DM_EXIT_RUNTIME;
    }
    d.init = o.init ? &in : NULL;
    r = vc_ctx_new_real(DM_STORE, &d.ctx);
    if (r < 0) {
        fprintf(stderr, "mockagent: cannot make a context: %s\n", strerror(-r));
        if (o.init)
            dm_init_halt("mockagent failed: powering off");
        return DM_EXIT_RUNTIME;
    }
    if (o.verbose) {
        vc_ctx_set_log(d.ctx, dm_log, NULL, VC_LOG_DEBUG);
        vc_ctx_set_trace(d.ctx, dm_trace, NULL);
    }
    r = dm_signals(&d);
    if (r < 0)
        fprintf(stderr, "mockagent: cannot watch signals: %s\n", strerror(-r));
    if (r >= 0)
        r = dm_setup(&d);
    if (r >= 0)
        r = dm_run(&d);
    dm_teardown(&d);
    if (o.init)
        dm_init_halt(r < 0 ? "mockagent failed: powering off" : "mockagent stopped: powering off");
    return r < 0 ? DM_EXIT_RUNTIME : DM_EXIT_OK;
}
