/* SPDX-License-Identifier: Apache-2.0 */
/* Records seed corpora from real traffic: runs the session target's lifecycle in wire mode (every
 * optional step, then again over one long-lived connection) with a tap on the mock agent's
 * connections, and writes what the kata backend and the agent's server exchanged as rec-*.bin
 * seeds of ttrpc_frame, ttrpc_client, agent_response, mockagent_server and session. With
 * --from-capture it makes e2e-*.bin seeds of the same targets from the wire captures the e2e tests
 * wrote (tests/support/wirecap.h: real QEMU, our agent as the guest's /init). Real-world tool: it
 * writes files. Usage: fuzz_record CORPUS_DIR, or fuzz_record --from-capture CAPTURE_DIR
 * CORPUS_DIR; the old rec-* (or e2e-*) files go first. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wirecap.h"
#include "frame.h"
#include "session.h"
#include "ttrpc.pb-c.h"

#define REC_CONNS_MAX    4096
#define REC_METHODS_MAX  64
#define REC_CAPTURE_MAX  (256u << 20) /* bytes of one capture file read */
#define REC_LIMIT        65536        /* largest seed: ci/fuzz-smoke's -max_len */
#define REC_LIMIT_FRAMES 8192         /* ttrpc_frame's (its -max_len) */
#define REC_KINDS_MAX    1024
#define REC_PER_KIND     4 /* captures: distinct seeds kept per target and kind (method) */

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

/* Where a method's reply sits in the session target's lifecycle, to substitute captured ones. */
struct rec_slot {
    char method[128]; /* RPC name */
    uint8_t opts;     /* the session's option byte */
    uint8_t n;        /* the reply's frame number */
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
    const char *prefix;                 /* of the file names: "rec" or "e2e" */
    const struct rec_slot *slots;       /* captured replies: where they go in a session, or NULL */
    size_t n_slots;                     /* number of slots */
    char kinds[REC_KINDS_MAX][192];     /* with slots: "target/what" of the seeds written */
    unsigned n_kind[REC_KINDS_MAX];     /* distinct seeds written of each */
    size_t n_kinds;                     /* number of kinds */
};

static void buf_add(struct rec_buf *b, const uint8_t *p, size_t len)
{
    uint8_t *np = realloc(b->p, b->len + len + 1);

    FZ_ASSERT(np);
    memcpy(np + b->len, p, len);
    b->p = np;
    b->len += len;
}

/* Notes a frame the agent wrote on conn. */
static void rec_frame_add(struct rec *r, uint64_t conn, uint64_t n, const uint8_t *frame,
                          size_t len)
{
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
}

static bool rec_frame_fn(void *data, uint32_t cid, uint64_t conn, uint64_t n, const uint8_t *frame,
                         size_t len, const uint8_t **ret, size_t *ret_len)
{
    rec_frame_add(data, conn, n, frame, len);
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

/* The largest seed a target gets: ci/fuzz-smoke's -max_len, below what every harness accepts. */
static size_t rec_limit(const char *target)
{
    return strcmp(target, "ttrpc_frame") == 0 ? REC_LIMIT_FRAMES : REC_LIMIT;
}

/* Whether a new seed of target and what may be written: captures repeat the same calls with
 * other ids and times, so only the first REC_PER_KIND distinct ones of a kind are kept. */
static bool rec_kind_ok(struct rec *r, const char *target, const char *what)
{
    char key[192];
    size_t i;

    if (!r->slots)
        return true;
    (void) snprintf(key, sizeof(key), "%s/%s", target, what);
    for (i = 0; i < r->n_kinds && strcmp(r->kinds[i], key) != 0; i++)
        ;
    if (i == REC_KINDS_MAX)
        return false;
    if (i == r->n_kinds)
        (void) snprintf(r->kinds[r->n_kinds++], sizeof(key), "%s", key);
    return r->n_kind[i]++ < REC_PER_KIND;
}

/* Writes <dir>/<target>/<prefix>-<what>-<hash>.bin holding prefix then body, unless it is over
 * the target's limit, is there already or is one too many of its kind. */
static void rec_write(struct rec *r, const char *target, const char *what, const uint8_t *prefix,
                      size_t pn, const uint8_t *body, size_t bn)
{
    char path[4096];
    FILE *f;

    if (pn + bn > rec_limit(target))
        return;
    (void) snprintf(path, sizeof(path), "%s/%s/%s-%s-%016llx.bin", r->dir, target, r->prefix, what,
                    (unsigned long long) rec_hash(prefix, pn, body, bn));
    if (r->slots && (access(path, F_OK) == 0 || !rec_kind_ok(r, target, what)))
        return;
    f = fopen(path, "wb");
    if (!f || fwrite(prefix, 1, pn, f) != pn || (bn && fwrite(body, 1, bn, f) != bn)) {
        fprintf(stderr, "fuzz_record: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fclose(f);
    r->written++;
}

/* Removes the <prefix>-* files of one target directory. */
static void rec_clean(const char *dir, const char *target, const char *prefix)
{
    size_t pl = strlen(prefix);
    char path[4096];
    struct dirent *de;
    DIR *d;

    (void) snprintf(path, sizeof(path), "%s/%s", dir, target);
    d = opendir(path);
    if (!d)
        return;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, pl) == 0 && de->d_name[pl] == '-') {
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

/* The session seed's option byte and frame number for a reply to method (pre[0], pre[1]): the
 * frame's own place in a recorded session, or for a captured reply the place of a reply to the
 * same method in the session's lifecycle. False if there is none. */
static bool rec_slot(const struct rec *r, const char *method, const struct rec_frame *fr,
                     uint8_t *pre)
{
    if (!r->slots) {
        pre[0] = (uint8_t) r->opts;
        pre[1] = (uint8_t) fr->n;
        return fr->n <= 255;
    }
    for (size_t i = 0; i < r->n_slots; i++)
        if (strcmp(r->slots[i].method, method) == 0) {
            pre[0] = r->slots[i].opts;
            pre[1] = r->slots[i].n;
            return true;
        }
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
        if (!rec_slot(r, method, fr, pre) || fr->len - VC_TTRPC_HEADER_LEN > FS_SUB_MAX ||
            rec_seen(r, method))
            continue;
        pre[2] = FS_SUB_DATA;
        pre[3] = (uint8_t) ((fr->len - VC_TTRPC_HEADER_LEN) >> 8);
        pre[4] = (uint8_t) (fr->len - VC_TTRPC_HEADER_LEN);
        rec_write(r, "session", method, pre, 5, fr->p + VC_TTRPC_HEADER_LEN,
                  fr->len - VC_TTRPC_HEADER_LEN);
    }
}

/* Writes a byte stream of whole frames as seeds of target, cut at frame boundaries into pieces
 * that fit the target's limit after the prefix (a frame too large alone is left out). */
static void rec_write_stream(struct rec *r, const char *target, const char *what,
                             const uint8_t *prefix, size_t pn, const struct rec_buf *b)
{
    size_t max = rec_limit(target) - pn, start = 0, off = 0;

    while (off < b->len) {
        size_t fl = b->len - off;

        if (fl > VC_TTRPC_HEADER_LEN && VC_TTRPC_HEADER_LEN + vctest_wirecap_be32(b->p + off) < fl)
            fl = VC_TTRPC_HEADER_LEN + vctest_wirecap_be32(b->p + off);
        if (off + fl - start > max) {
            if (off > start)
                rec_write(r, target, what, prefix, pn, b->p + start, off - start);
            start = fl > max ? off + fl : off;
        }
        off += fl;
    }
    if (off > start)
        rec_write(r, target, what, prefix, pn, b->p + start, off - start);
}

/* Seeds from each connection's two byte streams. */
static void rec_streams(struct rec *r)
{
    static const uint8_t chunked[] = {0x00, 0x03, 0x00, 0x04, 0x09};

    for (uint64_t c = 0; c < r->n_conns; c++) {
        const struct rec_buf *q = &r->req[c], *p = &r->resp[c];
        char m[128] = "", req[160], resp[160], conn[160];

        /* Captures name the kind of a connection by its first call. */
        if (r->slots && q->len >= VC_TTRPC_HEADER_LEN)
            rec_method(r, c, vctest_wirecap_be32(q->p + 4), m, sizeof(m));
        (void) snprintf(req, sizeof(req), "requests%s%s", m[0] ? "-" : "", m);
        (void) snprintf(resp, sizeof(resp), "replies%s%s", m[0] ? "-" : "", m);
        (void) snprintf(conn, sizeof(conn), "conn%s%s", m[0] ? "-" : "", m);
        rec_write_stream(r, "ttrpc_frame", req, (const uint8_t *) "\0\0", 2, q);
        rec_write_stream(r, "mockagent_server", conn, (const uint8_t *) "\0", 1, q);
        rec_write_stream(r, "ttrpc_frame", resp, chunked, sizeof(chunked), p);
        rec_write_stream(r, "ttrpc_client", conn, (const uint8_t *) "\1", 1, p);
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

/* Runs the session target's lifecycle with the options given, recording its traffic into r. */
static void rec_run(struct rec *r, unsigned opts)
{
    struct magent_sim_tap tap = {.frame = rec_frame_fn, .read = rec_read_fn};
    struct fs_run *run = calloc(1, sizeof(*run));

    FZ_ASSERT(run);
    r->opts = opts;
    fs_setup(run, &tap, r);
    fs_lifecycle(run, opts);
    fs_cleanup(run);
    fs_free(run);
    free(run);
}

/* One recorded session with the options given, written as rec-* seeds. */
static void rec_session(const char *dir, unsigned opts)
{
    struct rec *r = calloc(1, sizeof(*r));

    FZ_ASSERT(r);
    r->dir = dir;
    r->prefix = "rec";
    rec_run(r, opts);
    rec_replies(r);
    rec_streams(r);
    printf("fuzz_record: options 0x%02x: %llu connections, %zu reply frames, %zu files\n", opts,
           (unsigned long long) r->n_conns, r->n_frames, r->written);
    rec_free(r);
    free(r);
}

/* Notes where each method's first reply sits in a session with the options given. */
static void rec_learn(unsigned opts, struct rec_slot *slots, size_t *n_slots)
{
    struct rec *r = calloc(1, sizeof(*r));
    char method[128];

    FZ_ASSERT(r);
    rec_run(r, opts);
    for (size_t i = 0; i < r->n_frames && *n_slots < REC_METHODS_MAX; i++) {
        const struct rec_frame *fr = &r->frames[i];
        struct vc_ttrpc_header h;
        bool known = false;

        if (fr->n > 255 || fr->len < VC_TTRPC_HEADER_LEN)
            continue;
        vc_ttrpc_header_decode(fr->p, &h);
        rec_method(r, fr->conn, h.stream_id, method, sizeof(method));
        for (size_t k = 0; k < *n_slots && !known; k++)
            known = strcmp(slots[k].method, method) == 0;
        if (!method[0] || known)
            continue;
        slots[*n_slots] = (struct rec_slot){.opts = (uint8_t) opts, .n = (uint8_t) fr->n};
        (void) snprintf(slots[(*n_slots)++].method, sizeof(slots[0].method), "%s", method);
    }
    rec_free(r);
    free(r);
}

/* Adds one capture file's connections to r, numbered from r->n_conns on. 0, or -1 if the file
 * cannot be read or is no capture (a malformed tail is only reported). */
static int rec_capture_load(struct rec *r, const char *path)
{
    struct vctest_wirecap_rec wr;
    uint64_t base = r->n_conns, n = 0;
    size_t len, off;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(REC_CAPTURE_MAX);
    int k;

    FZ_ASSERT(buf);
    len = f ? fread(buf, 1, REC_CAPTURE_MAX, f) : 0;
    if (f)
        fclose(f);
    if (!vctest_wirecap_check(buf, len, &off)) {
        fprintf(stderr, "fuzz_record: %s: not a wire capture\n", path);
        free(buf);
        return -1;
    }
    while ((k = vctest_wirecap_next(buf, len, &off, &wr)) > 0) {
        uint64_t conn = base + wr.conn;

        if (conn >= REC_CONNS_MAX || (wr.flags & VCTEST_WIRECAP_SKIPPED))
            continue; /* a frame whose data never came would break the stream it is in */
        if (wr.dir == VC_WIRE_SEND)
            buf_add(&r->req[conn], wr.frame, wr.len);
        else
            rec_frame_add(r, conn, n++, wr.frame, wr.len);
        if (conn + 1 > r->n_conns)
            r->n_conns = conn + 1;
    }
    if (k < 0)
        fprintf(stderr, "fuzz_record: %s: truncated at byte %zu, the rest is ignored\n", path, off);
    free(buf);
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Writes e2e-* seeds from every *.wcap file of cap_dir (in name order). */
static int rec_captures(const char *cap_dir, const char *dir)
{
    struct rec_slot *slots = calloc(REC_METHODS_MAX, sizeof(*slots));
    struct rec *r = calloc(1, sizeof(*r));
    char **names = NULL, path[4096];
    size_t n_names = 0, n_slots = 0;
    struct dirent *de;
    DIR *d = opendir(cap_dir);

    FZ_ASSERT(r && slots);
    if (!d) {
        fprintf(stderr, "fuzz_record: %s: %s\n", cap_dir, strerror(errno));
        free(slots);
        free(r);
        return 1;
    }
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);

        if (l > 5 && strcmp(de->d_name + l - 5, ".wcap") == 0) {
            names = realloc(names, (n_names + 1) * sizeof(*names));
            FZ_ASSERT(names && (names[n_names] = strdup(de->d_name)));
            n_names++;
        }
    }
    closedir(d);
    qsort(names, n_names, sizeof(*names), rec_cmp);
    rec_learn(FS_OPT_PAUSE | FS_OPT_QUERY | FS_OPT_STDIO | FS_OPT_CTDEL, slots, &n_slots);
    rec_learn(FS_OPT_QUERY | FS_OPT_LONG, slots, &n_slots);
    *r = (struct rec){.dir = dir, .prefix = "e2e", .slots = slots, .n_slots = n_slots};
    for (size_t i = 0; i < n_names; i++) {
        (void) snprintf(path, sizeof(path), "%s/%s", cap_dir, names[i]);
        (void) rec_capture_load(r, path);
        free(names[i]);
    }
    free(names);
    rec_replies(r);
    rec_streams(r);
    printf("fuzz_record: %zu captures: %llu connections, %zu reply frames, %zu files\n", n_names,
           (unsigned long long) r->n_conns, r->n_frames, r->written);
    rec_free(r);
    free(r);
    free(slots);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const targets[] = {"ttrpc_frame", "ttrpc_client", "agent_response",
                                          "mockagent_server", "session"};
    bool capture = argc == 4 && strcmp(argv[1], "--from-capture") == 0;
    const char *dir = argv[argc - 1];
    char path[4096];

    if (argc != 2 && !capture) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n       %s --from-capture CAPTURE_DIR CORPUS_DIR\n",
                argv[0], argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        rec_clean(dir, targets[i], capture ? "e2e" : "rec");
        (void) snprintf(path, sizeof(path), "%s/%s", dir, targets[i]);
        if (access(path, W_OK) < 0) {
            fprintf(stderr, "fuzz_record: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    if (capture)
        return rec_captures(argv[2], dir);
    rec_session(dir, FS_OPT_PAUSE | FS_OPT_QUERY | FS_OPT_STDIO | FS_OPT_CTDEL);
    rec_session(dir, FS_OPT_QUERY | FS_OPT_LONG);
    return 0;
}
