/* SPDX-License-Identifier: Apache-2.0 */
/* The trace of a session in Chrome's trace-event JSON format, which Perfetto (ui.perfetto.dev)
 * and chrome://tracing open: one process per run ("<scenario> seed=N"), one thread per trace
 * category (step, sandbox, agent, ttrpc, net, hv, disk, fault, ...), each scenario step as a
 * slice from its start to its result, every ttrpc call as a slice from its send to its answer
 * (the runtime's "call" to "done", the guest's "serve" to "reply"), every record as an instant
 * event with its detail. Timestamps are virtual time in microseconds. Written from the JSON lines
 * each run keeps. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "vcsim.h"

#define CHROME_CATS_MAX 64 /* categories given a thread of their own; the rest share one */
#define CHROME_OPEN_MAX 64 /* ttrpc calls awaiting their answer at once (older ones drop) */
#define CHROME_KEY_MAX  96 /* "[runtime] id=3 grpc.AgentService/CreateContainer" */

/* A ttrpc call seen going out, waiting for its answer. */
struct chrome_open {
    char key[CHROME_KEY_MAX]; /* context, connection and stream id, method: the pairing key */
    uint64_t ts;              /* when it went out, ns */
    bool used;                /* slot taken */
};

/* The categories seen in one run, in order of first appearance: thread ids 1, 2, ... */
struct chrome_run {
    const char *cats[CHROME_CATS_MAX];        /* category names (borrowed from the parsed line) */
    json_object *lines[CHROME_CATS_MAX];      /* the parsed lines that own those names */
    size_t n_cats;                            /* categories named */
    char step_name[64];                       /* the step in progress, "" if none */
    char step_detail[128];                    /* its detail */
    uint64_t step_ts;                         /* its start, ns */
    bool in_step;                             /* a step started and has no result yet */
    struct chrome_open open[CHROME_OPEN_MAX]; /* ttrpc calls in flight */
    size_t next_open;                         /* slot the next call takes when all are used */
};

static const char *chrome_str(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static uint64_t chrome_u64(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static void chrome_meta(struct vcsim_buf *b, const char *what, size_t pid, size_t tid,
                        const char *name)
{
    vcsim_buf_printf(
        b, ",\n{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%zu,\"tid\":%zu,\"args\":{\"name\":", what,
        pid, tid);
    vcsim_buf_json_str(b, name, strlen(name));
    vcsim_buf_add(b, "}}", 2);
}

/* The thread of cat in this run, announcing it the first time. */
static size_t chrome_tid(struct vcsim_buf *b, struct chrome_run *cr, size_t pid, json_object *line,
                         const char *cat)
{
    for (size_t i = 0; i < cr->n_cats; i++)
        if (strcmp(cr->cats[i], cat) == 0)
            return i + 1;
    if (cr->n_cats == CHROME_CATS_MAX)
        return CHROME_CATS_MAX + 1;
    cr->cats[cr->n_cats] = cat;
    cr->lines[cr->n_cats] = json_object_get(line);
    chrome_meta(b, "thread_name", pid, ++cr->n_cats, cat);
    return cr->n_cats;
}

static void chrome_ts(struct vcsim_buf *b, uint64_t ns)
{
    vcsim_buf_printf(b, "%" PRIu64 ".%03u", ns / 1000, (unsigned) (ns % 1000));
}

/* The first n space-separated words of detail ("[runtime] id=3 grpc.Health/Check r=0": 3) into
 * key; false when there are fewer. */
static bool chrome_key(const char *detail, unsigned n, char *key, size_t len)
{
    const char *p = detail;

    /* p ends up at the end of the nth word: after n-1 spaces, the next space or the end. */
    for (unsigned i = 1; i < n; i++) {
        p = strchr(p, ' ');
        if (!p)
            return false;
        p++;
    }
    p += strcspn(p, " ");
    if ((size_t) (p - detail) >= len)
        return false;
    (void) snprintf(key, len, "%.*s", (int) (p - detail), detail);
    return true;
}

/* ttrpc's call/serve opens a slice, done/reply closes it (on thread tid). */
static void chrome_rpc(struct vcsim_buf *b, struct chrome_run *cr, size_t pid, size_t tid,
                       const char *name, const char *detail, uint64_t ts)
{
    bool out = strcmp(name, "call") == 0 || strcmp(name, "serve") == 0;
    bool back = strcmp(name, "done") == 0 || strcmp(name, "reply") == 0;
    unsigned words = strcmp(name, "call") == 0 || strcmp(name, "done") == 0 ? 3 : 4;
    char key[CHROME_KEY_MAX];
    const char *method;

    if ((!out && !back) || !chrome_key(detail, words, key, sizeof(key)))
        return;
    if (out) {
        size_t i = 0;
        while (i < CHROME_OPEN_MAX && cr->open[i].used)
            i++;
        if (i == CHROME_OPEN_MAX)
            i = cr->next_open++ % CHROME_OPEN_MAX;
        (void) snprintf(cr->open[i].key, sizeof(cr->open[i].key), "%s", key);
        cr->open[i].ts = ts;
        cr->open[i].used = true;
        return;
    }
    for (size_t i = 0; i < CHROME_OPEN_MAX; i++) {
        if (!cr->open[i].used || strcmp(cr->open[i].key, key) != 0)
            continue;
        cr->open[i].used = false;
        /* The slice is named by the method alone: "grpc.Health/Check" -> "Check". */
        method = strrchr(key, ' ');
        method = method ? method + 1 : key;
        method = strrchr(method, '/') ? strrchr(method, '/') + 1 : method;
        vcsim_buf_add(b, ",\n{\"name\":", 10);
        vcsim_buf_json_str(b, method, strlen(method));
        vcsim_buf_printf(b, ",\"cat\":\"rpc\",\"ph\":\"X\",\"pid\":%zu,\"tid\":%zu,\"ts\":", pid,
                         tid);
        chrome_ts(b, cr->open[i].ts);
        vcsim_buf_add(b, ",\"dur\":", 7);
        chrome_ts(b, ts > cr->open[i].ts ? ts - cr->open[i].ts : 0);
        vcsim_buf_add(b, ",\"args\":{\"call\":", 16);
        vcsim_buf_json_str(b, key, strlen(key));
        vcsim_buf_add(b, ",\"answer\":", 10);
        vcsim_buf_json_str(b, detail, strlen(detail));
        vcsim_buf_add(b, "}}", 2);
        return;
    }
}

/* One record: a step's start is remembered, its result closes the slice; ttrpc calls become
 * slices too; every other record is an instant. */
static void chrome_record(struct vcsim_buf *b, struct chrome_run *cr, size_t pid, json_object *o)
{
    const char *cat = chrome_str(o, "cat"), *name = chrome_str(o, "name");
    const char *detail = chrome_str(o, "detail");
    uint64_t ts = chrome_u64(o, "t_ns");
    size_t tid = chrome_tid(b, cr, pid, o, cat);

    if (strcmp(cat, "step") == 0 && strcmp(name, "result") != 0) {
        (void) snprintf(cr->step_name, sizeof(cr->step_name), "%s", name);
        (void) snprintf(cr->step_detail, sizeof(cr->step_detail), "%s", detail);
        cr->step_ts = ts;
        cr->in_step = true;
        return;
    }
    if (strcmp(cat, "step") == 0 && cr->in_step) {
        vcsim_buf_add(b, ",\n{\"name\":", 10);
        vcsim_buf_json_str(b, cr->step_name, strlen(cr->step_name));
        vcsim_buf_printf(b, ",\"cat\":\"step\",\"ph\":\"X\",\"pid\":%zu,\"tid\":%zu,\"ts\":", pid,
                         tid);
        chrome_ts(b, cr->step_ts);
        vcsim_buf_add(b, ",\"dur\":", 7);
        chrome_ts(b, ts > cr->step_ts ? ts - cr->step_ts : 0);
        vcsim_buf_add(b, ",\"args\":{\"step\":", 16);
        vcsim_buf_json_str(b, cr->step_detail, strlen(cr->step_detail));
        vcsim_buf_add(b, ",\"result\":", 10);
        vcsim_buf_json_str(b, detail, strlen(detail));
        vcsim_buf_add(b, "}}", 2);
        cr->in_step = false;
        return;
    }
    if (strcmp(cat, "ttrpc") == 0)
        chrome_rpc(b, cr, pid,
                   strncmp(detail, "[guest]", 7) == 0 ? chrome_tid(b, cr, pid, o, "ttrpc (guest)")
                                                      : tid,
                   name, detail, ts);
    vcsim_buf_add(b, ",\n{\"name\":", 10);
    vcsim_buf_json_str(b, name, strlen(name));
    vcsim_buf_add(b, ",\"cat\":", 7);
    vcsim_buf_json_str(b, cat, strlen(cat));
    vcsim_buf_printf(b, ",\"ph\":\"i\",\"s\":\"t\",\"pid\":%zu,\"tid\":%zu,\"ts\":", pid, tid);
    chrome_ts(b, ts);
    vcsim_buf_printf(b, ",\"args\":{\"seq\":%" PRIu64 ",\"detail\":", chrome_u64(o, "seq"));
    vcsim_buf_json_str(b, detail, strlen(detail));
    vcsim_buf_add(b, "}}", 2);
}

/* One run's JSON lines as events of process pid. */
static int chrome_run(FILE *f, const struct vcsim_result *r, size_t pid)
{
    struct chrome_run cr = {.n_cats = 0};
    struct vcsim_buf b = {0};
    char label[512];
    int ret = 0;

    (void) snprintf(label, sizeof(label), "%s seed=%" PRIu64, r->name, r->seed);
    chrome_meta(&b, "process_name", pid, 0, label);
    for (const char *p = r->trace; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t) (e - p) : strlen(p);
        json_tokener *tok = json_tokener_new();
        json_object *o = tok ? json_tokener_parse_ex(tok, p, (int) len) : NULL;

        json_tokener_free(tok);
        if (o)
            chrome_record(&b, &cr, pid, o);
        json_object_put(o);
        p += len + (e ? 1 : 0);
        if (b.len > (1u << 20)) {
            if (b.data && fwrite(b.data, 1, b.len, f) != b.len)
                ret = -EIO;
            vcsim_buf_clear(&b);
        }
    }
    for (size_t i = 0; i < cr.n_cats; i++)
        json_object_put(cr.lines[i]);
    if (b.oom)
        ret = -ENOMEM;
    if (b.len && b.data && fwrite(b.data, 1, b.len, f) != b.len)
        ret = -EIO;
    vcsim_buf_clear(&b);
    return ret;
}

int vcsim_report_chrome(const char *path, const struct vcsim_result *v, size_t n)
{
    FILE *f = fopen(path, "we");
    int r = 0;

    if (!f)
        return -errno;
    /* The metadata event first, so every later event can start with a comma. */
    if (fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"vcsim " VCSIM_VERSION
              "\",\"clock\":\"virtual\"},\n\"traceEvents\":[\n{\"name\":\"clock\",\"ph\":\"M\","
              "\"pid\":0,\"args\":{\"virtual\":true}}",
              f) < 0)
        r = -EIO;
    for (size_t i = 0; r >= 0 && i < n; i++)
        r = chrome_run(f, &v[i], i + 1);
    if (r >= 0 && fputs("\n]}\n", f) < 0)
        r = -EIO;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}
