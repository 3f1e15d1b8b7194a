/* SPDX-License-Identifier: Apache-2.0 */
/* Records seed corpora from real traffic: runs the session target's lifecycle in wire mode (every
 * optional step, then again over one long-lived connection) with a tap on the mock agent's
 * connections, and writes what the kata backend and the agent's server exchanged as rec-*.bin
 * seeds of ttrpc_frame, ttrpc_client, agent_response, mockagent_server and session. Real-world
 * tool: it writes files. Usage: fuzz_record CORPUS_DIR (fuzz/corpus); old rec-* files go first. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "session.h"
#include "ttrpc.pb-c.h"

#define REC_CONNS_MAX   256
#define REC_METHODS_MAX 64

/* One frame the agent wrote. */
struct rec_frame {
    uint64_t conn; /* connection number */
    uint64_t n;    /* frame number over the wire */
    uint8_t *p;    /* the frame (header and data) */
    size_t len;    /* its bytes */
};

/* A growable byte buffer. */
struct rec_buf {
    uint8_t *p; /* bytes */
    size_t len; /* used */
};

struct rec {
    struct rec_buf req[REC_CONNS_MAX];  /* bytes each connection's client sent */
    struct rec_buf resp[REC_CONNS_MAX]; /* bytes the agent wrote on each */
    struct rec_frame *frames;           /* every frame the agent wrote, in order */
    size_t n_frames;                    /* number of frames */
    uint64_t n_conns;                   /* connections seen (highest number + 1) */
    const char *dir;                    /* the corpus directory */
    unsigned opts;                      /* the session's option byte */
    size_t written;                     /* files written (equal ones overwrite) */
    char seen[REC_METHODS_MAX][128];    /* methods with a session seed */
    size_t n_seen;                      /* number of seen */
};

static void buf_add(struct rec_buf *b, const uint8_t *p, size_t len)
{
    uint8_t *np = realloc(b->p, b->len + len + 1);

    FZ_ASSERT(np);
    memcpy(np + b->len, p, len);
    b->p = np;
    b->len += len;
}

static bool rec_frame_fn(void *data, uint32_t cid, uint64_t conn, uint64_t n, const uint8_t *frame,
                         size_t len, const uint8_t **ret, size_t *ret_len)
{
    struct rec *r = data;
    struct rec_frame *nf = realloc(r->frames, (r->n_frames + 1) * sizeof(*nf));

    FZ_ASSERT(nf && conn < REC_CONNS_MAX);
    r->frames = nf;
    nf[r->n_frames] = (struct rec_frame){conn, n, malloc(len + 1), len};
    FZ_ASSERT(nf[r->n_frames].p);
    memcpy(nf[r->n_frames].p, frame, len);
    r->n_frames++;
    buf_add(&r->resp[conn], frame, len);
    if (conn + 1 > r->n_conns)
        r->n_conns = conn + 1;
    return false;
}

static void rec_read_fn(void *data, uint32_t cid, uint64_t conn, const uint8_t *buf, size_t len)
{
    struct rec *r = data;

    FZ_ASSERT(conn < REC_CONNS_MAX);
    buf_add(&r->req[conn], buf, len);
    if (conn + 1 > r->n_conns)
        r->n_conns = conn + 1;
}

/* FNV-1a 64 of prefix and body: the file name, so equal seeds are written once. */
static uint64_t rec_hash(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < an; i++)
        h = (h ^ a[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < bn; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Writes <dir>/<target>/rec-<what>-<hash>.bin holding prefix then body. */
static void rec_write(struct rec *r, const char *target, const char *what, const uint8_t *prefix,
                      size_t pn, const uint8_t *body, size_t bn)
{
    char path[4096];
    FILE *f;

    (void) snprintf(path, sizeof(path), "%s/%s/rec-%s-%016llx.bin", r->dir, target, what,
                    (unsigned long long) rec_hash(prefix, pn, body, bn));
    f = fopen(path, "wb");
    if (!f || fwrite(prefix, 1, pn, f) != pn || (bn && fwrite(body, 1, bn, f) != bn)) {
        fprintf(stderr, "fuzz_record: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fclose(f);
    r->written++;
}

/* Removes the rec-* files of one target directory. */
static void rec_clean(const char *dir, const char *target)
{
    char path[4096];
    struct dirent *de;
    DIR *d;

    (void) snprintf(path, sizeof(path), "%s/%s", dir, target);
    d = opendir(path);
    if (!d)
        return;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "rec-", 4) == 0) {
            (void) snprintf(path, sizeof(path), "%s/%s/%s", dir, target, de->d_name);
            (void) unlink(path);
        }
    closedir(d);
}

/* fuzz_agent_response's descriptor index for a method's reply (17: the Response envelope). */
static uint8_t rec_response_index(const char *method)
{
    static const struct {
        const char *method; /* RPC name */
        uint8_t index;      /* index in fuzz_agent_response.c's table */
    } map[] = {
        {"ListInterfaces", 0},     {"UpdateInterface", 1}, {"ListRoutes", 2},
        {"UpdateRoutes", 2},       {"StatsContainer", 4},  {"GetGuestDetails", 5},
        {"GetVolumeStats", 6},     {"WaitProcess", 7},     {"ReadStdout", 8},
        {"ReadStderr", 8},         {"WriteStdin", 9},      {"GetMetrics", 10},
        {"GetOOMEvent", 11},       {"GetIPTables", 12},    {"SetIPTables", 13},
        {"GetDiagnosticData", 14}, {"Version", 15},        {"Check", 16},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].method, method) == 0)
            return map[i].index;
    return 17;
}

/* The method of the request on stream sid of conn, from the client's bytes ("" if unknown). */
static void rec_method(struct rec *r, uint64_t conn, uint32_t sid, char *out, size_t size)
{
    struct fz_plain p;
    struct vc_ttrpc_decoder d;
    struct vc_ttrpc_frame f;
    const struct rec_buf *b = &r->req[conn];
    size_t off = 0, used;

    out[0] = '\0';
    fz_plain_new(&p);
    vc_ttrpc_decoder_init(&d, p.ctx, VC_TTRPC_MESSAGE_MAX);
    while (off < b->len && !out[0]) {
        int ev = vc_ttrpc_decoder_feed(&d, b->p + off, b->len - off, &used, &f);

        off += used;
        if (ev != VC_TTRPC_DEC_FRAME)
            break;
        if (f.h.stream_id == sid && f.h.type == VC_TTRPC_TYPE_REQUEST) {
            Ttrpc__Request *req = ttrpc__request__unpack(NULL, f.len, f.data);

            if (req && req->method)
                (void) snprintf(out, size, "%s", req->method);
            if (req)
                ttrpc__request__free_unpacked(req, NULL);
        }
    }
    vc_ttrpc_decoder_fini(&d);
    fz_plain_free(&p);
}

/* Whether a session seed was written for method already (and notes it). */
static bool rec_seen(struct rec *r, const char *method)
{
    for (size_t i = 0; i < r->n_seen; i++)
        if (strcmp(r->seen[i], method) == 0)
            return true;
    if (r->n_seen < REC_METHODS_MAX)
        (void) snprintf(r->seen[r->n_seen++], sizeof(r->seen[0]), "%s", method);
    return false;
}

/* Seeds from each reply frame: its payload for agent_response, and a session input that replaces
 * the frame by its own data (the same session, a real reply to mutate). */
static void rec_replies(struct rec *r)
{
    for (size_t i = 0; i < r->n_frames; i++) {
        const struct rec_frame *fr = &r->frames[i];
        struct vc_ttrpc_header h;
        Ttrpc__Response *resp;
        char method[128];
        uint8_t pre[6];

        if (fr->len < VC_TTRPC_HEADER_LEN)
            continue;
        vc_ttrpc_header_decode(fr->p, &h);
        rec_method(r, fr->conn, h.stream_id, method, sizeof(method));
        if (!method[0])
            continue;
        pre[0] = rec_response_index(method);
        resp = ttrpc__response__unpack(NULL, fr->len - VC_TTRPC_HEADER_LEN,
                                       fr->p + VC_TTRPC_HEADER_LEN);
        if (resp && pre[0] != 17)
            rec_write(r, "agent_response", method, pre, 1, resp->payload.data, resp->payload.len);
        else if (resp) /* an Empty reply, or none of the table's: the envelope */
            rec_write(r, "agent_response", "envelope", (const uint8_t *) "\x11", 1,
                      fr->p + VC_TTRPC_HEADER_LEN, fr->len - VC_TTRPC_HEADER_LEN);
        if (resp)
            ttrpc__response__free_unpacked(resp, NULL);
        /* One session seed per method: they all cover the same code until mutated. */
        if (fr->n > 255 || fr->len - VC_TTRPC_HEADER_LEN > FS_SUB_MAX || rec_seen(r, method))
            continue;
        pre[0] = (uint8_t) r->opts;
        pre[1] = (uint8_t) fr->n;
        pre[2] = FS_SUB_DATA;
        pre[3] = (uint8_t) ((fr->len - VC_TTRPC_HEADER_LEN) >> 8);
        pre[4] = (uint8_t) (fr->len - VC_TTRPC_HEADER_LEN);
        rec_write(r, "session", method, pre, 5, fr->p + VC_TTRPC_HEADER_LEN,
                  fr->len - VC_TTRPC_HEADER_LEN);
    }
}

/* Seeds from each connection's two byte streams. */
static void rec_streams(struct rec *r)
{
    static const uint8_t chunked[] = {0x00, 0x03, 0x00, 0x04, 0x09};

    for (uint64_t c = 0; c < r->n_conns; c++) {
        const struct rec_buf *q = &r->req[c], *p = &r->resp[c];

        if (q->len) {
            rec_write(r, "ttrpc_frame", "requests", (const uint8_t *) "\0\0", 2, q->p, q->len);
            rec_write(r, "mockagent_server", "conn", (const uint8_t *) "\0", 1, q->p, q->len);
        }
        if (p->len) {
            rec_write(r, "ttrpc_frame", "replies", chunked, sizeof(chunked), p->p, p->len);
            rec_write(r, "ttrpc_client", "conn", (const uint8_t *) "\1", 1, p->p, p->len);
        }
    }
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n_frames; i++)
        free(r->frames[i].p);
    free(r->frames);
    for (size_t i = 0; i < REC_CONNS_MAX; i++) {
        free(r->req[i].p);
        free(r->resp[i].p);
    }
}

/* One recorded session with the options given. */
static void rec_session(const char *dir, unsigned opts)
{
    struct magent_sim_tap tap = {.frame = rec_frame_fn, .read = rec_read_fn};
    struct rec *r = calloc(1, sizeof(*r));
    struct fs_run *run = calloc(1, sizeof(*run));

    FZ_ASSERT(r && run);
    r->dir = dir;
    r->opts = opts;
    fs_setup(run, &tap, r);
    fs_lifecycle(run, opts);
    fs_cleanup(run);
    fs_free(run);
    rec_replies(r);
    rec_streams(r);
    printf("fuzz_record: options 0x%02x: %llu connections, %zu reply frames, %zu files\n", opts,
           (unsigned long long) r->n_conns, r->n_frames, r->written);
    rec_free(r);
    free(r);
    free(run);
}

int main(int argc, char **argv)
{
    static const char *const targets[] = {"ttrpc_frame", "ttrpc_client", "agent_response",
                                          "mockagent_server", "session"};
    char path[4096];

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        rec_clean(argv[1], targets[i]);
        (void) snprintf(path, sizeof(path), "%s/%s", argv[1], targets[i]);
        if (access(path, W_OK) < 0) {
            fprintf(stderr, "fuzz_record: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    rec_session(argv[1], FS_OPT_PAUSE | FS_OPT_QUERY | FS_OPT_STDIO | FS_OPT_CTDEL);
    rec_session(argv[1], FS_OPT_QUERY | FS_OPT_LONG);
    return 0;
}
