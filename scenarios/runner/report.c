/* SPDX-License-Identifier: Apache-2.0 */
/* Reports over run results: the readable text report with one-line repro commands, JUnit XML
 * (one testsuite per scenario folder), one JSON document, and the JSONL trace; plus a result's
 * JSON form, which worker processes also use to send results back. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "value.h"
#include "vcsim.h"

/* Counts and totals over the results. */
struct rep_summary {
    size_t passed;       /* runs that passed */
    size_t failed;       /* runs that failed */
    uint64_t virtual_ns; /* total virtual time */
};

static struct rep_summary rep_sum(const struct vcsim_result *v, size_t n)
{
    struct rep_summary s = {0};

    for (size_t i = 0; i < n; i++) {
        s.passed += v[i].passed;
        s.failed += !v[i].passed;
        s.virtual_ns += v[i].virtual_ns;
    }
    return s;
}

const char *vcsim_agent_flag(int agent)
{
    return agent == VCSIM_AGENT_WIRE   ? " --agent wire"
           : agent == VCSIM_AGENT_MOCK ? " --agent mock"
                                       : "";
}

void vcsim_repro(struct vcsim_buf *b, const struct vcsim_result *r)
{
    vcsim_buf_printf(b, "vcsim run %s --seed %" PRIu64 "%s%s", r->path, r->seed,
                     vcsim_agent_flag(r->agent), r->args ? r->args : "");
}

static void rep_failure(FILE *f, const struct vcsim_result *r, bool verbose)
{
    struct vcsim_buf b = {0};

    vcsim_repro(&b, r);
    fprintf(f, "\nFAIL %s [seed=%" PRIu64 "]%s%s\n", r->name, r->seed, r->label ? " " : "",
            r->label ? r->label : "");
    if (r->fail_step >= 0)
        fprintf(f, "  at step #%d '%s' (%s:%u)\n", r->fail_step,
                r->fail_step_name ? r->fail_step_name : "?", r->path, r->fail_line);
    else
        fprintf(f, "  after the last step (%s)\n", r->path);
    fprintf(f, "  %s\n", r->message ? r->message : "failed");
    fprintf(f, "  repro: %s\n", b.data ? b.data : "(out of memory)");
    vcsim_buf_clear(&b);
    if (verbose && r->log) {
        fprintf(f, "  --- trace and log ---\n");
        for (const char *p = r->log; *p;) {
            const char *e = strchr(p, '\n');
            int len = e ? (int) (e - p) : (int) strlen(p);
            fprintf(f, "  | %.*s\n", len, p);
            p += len + (e != NULL);
        }
    }
}

void vcsim_report_text(FILE *f, const struct vcsim_result *v, size_t n, double wall_s, bool verbose,
                       bool quiet)
{
    struct rep_summary s = rep_sum(v, n);
    char vt[32];

    if (!quiet)
        fprintf(f, "vcsim %s: %zu run%s\n", VCSIM_VERSION, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        if (!quiet || !v[i].passed)
            fprintf(f, "%s %-40s seed=%-6" PRIu64 " %12s virtual %6" PRIu64 " steps%s%s\n",
                    v[i].passed ? "PASS" : "FAIL", v[i].name, v[i].seed,
                    vcsim_fmt_duration(v[i].virtual_ns, vt, sizeof(vt)), v[i].steps,
                    v[i].label ? "  " : "", v[i].label ? v[i].label : "");
    for (size_t i = 0; i < n; i++)
        if (!v[i].passed)
            rep_failure(f, &v[i], verbose);
    fprintf(f, "\n%zu passed, %zu failed, %zu total; wall %.3fs, virtual %s", s.passed, s.failed, n,
            wall_s, vcsim_fmt_duration(s.virtual_ns, vt, sizeof(vt)));
    if (wall_s > 0)
        fprintf(f, " (%.0fx real time)", (double) s.virtual_ns / 1e9 / wall_s);
    fprintf(f, "\n");
}

/* The folder of a scenario path ("." for none), into buf. */
static const char *rep_folder(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        (void) snprintf(buf, len, ".");
    else
        (void) snprintf(buf, len, "%.*s", (int) (slash - path), path);
    return buf;
}

static void rep_junit_case(struct vcsim_buf *b, const struct vcsim_result *r)
{
    struct vcsim_buf repro = {0};
    char seed[32];

    (void) snprintf(seed, sizeof(seed), "[seed=%" PRIu64 "]", r->seed);
    vcsim_buf_add(b, "    <testcase name=\"", 20);
    vcsim_buf_xml(b, r->name);
    vcsim_buf_xml(b, seed);
    if (r->label) {
        vcsim_buf_add(b, "[", 1);
        vcsim_buf_xml(b, r->label);
        vcsim_buf_add(b, "]", 1);
    }
    vcsim_buf_add(b, "\" classname=\"", 13);
    vcsim_buf_xml(b, r->path);
    vcsim_buf_printf(b, "\" time=\"%.6f\"", r->wall_s);
    if (r->passed) {
        vcsim_buf_add(b, "/>\n", 3);
        return;
    }
    vcsim_buf_add(b, ">\n      <failure message=\"", 26);
    vcsim_buf_xml(b, r->message ? r->message : "failed");
    vcsim_buf_add(b, "\">", 2);
    if (r->fail_step >= 0)
        vcsim_buf_printf(b, "step #%d ", r->fail_step);
    vcsim_buf_xml(b, r->fail_step_name ? r->fail_step_name : "");
    vcsim_buf_printf(b, " line %u\nrepro: ", r->fail_line);
    vcsim_repro(&repro, r);
    vcsim_buf_xml(b, repro.data ? repro.data : "");
    vcsim_buf_clear(&repro);
    vcsim_buf_add(b, "\n", 1);
    vcsim_buf_add(b, "</failure>\n    </testcase>\n", 27);
}

/* One testsuite for the runs in folder (in report order). */
static void rep_junit_suite(struct vcsim_buf *b, const struct vcsim_result *v, size_t n,
                            const char *folder)
{
    char f[4096];
    size_t tests = 0, failures = 0;
    double t = 0;

    for (size_t i = 0; i < n; i++)
        if (strcmp(rep_folder(v[i].path, f, sizeof(f)), folder) == 0) {
            tests++;
            failures += !v[i].passed;
            t += v[i].wall_s;
        }
    vcsim_buf_add(b, "  <testsuite name=\"", 19);
    vcsim_buf_xml(b, folder);
    vcsim_buf_printf(b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.6f\">\n", tests,
                     failures, t);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rep_folder(v[i].path, f, sizeof(f)), folder) == 0)
            rep_junit_case(b, &v[i]);
    vcsim_buf_add(b, "  </testsuite>\n", 15);
}

static int rep_write(const char *path, const struct vcsim_buf *b)
{
    FILE *f;
    int r = 0;

    if (b->oom || b->truncated)
        return -ENOMEM;
    f = fopen(path, "we");
    if (!f)
        return -errno;
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
        r = -EIO;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

int vcsim_report_junit(const char *path, const struct vcsim_result *v, size_t n, double wall_s)
{
    struct rep_summary s = rep_sum(v, n);
    struct vcsim_buf b = {0};
    char f[4096], **done = NULL;
    size_t n_done = 0;
    int r = 0;

    vcsim_buf_printf(&b,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites name=\"vcsim\" tests=\"%zu\" failures=\"%zu\" time=\"%.6f\">\n",
                     n, s.failed, wall_s);
    /* A suite per folder, in order of first appearance; the folders written are remembered
     * (there are few, and sweeps have tens of thousands of runs). */
    for (size_t i = 0; i < n && r >= 0; i++) {
        bool seen = false;
        char **grown;
        rep_folder(v[i].path, f, sizeof(f));
        for (size_t j = n_done; j-- > 0 && !seen;)
            seen = strcmp(done[j], f) == 0;
        if (seen)
            continue;
        grown = realloc(done, (n_done + 1) * sizeof(*done));
        if (!grown || !(grown[n_done] = strdup(f))) {
            done = grown ? grown : done;
            r = -ENOMEM;
            break;
        }
        done = grown;
        n_done++;
        rep_junit_suite(&b, v, n, f);
    }
    for (size_t j = 0; j < n_done; j++)
        free(done[j]);
    free(done);
    vcsim_buf_add(&b, "</testsuites>\n", 14);
    if (r >= 0)
        r = rep_write(path, &b);
    vcsim_buf_clear(&b);
    return r;
}

static void rep_add_str(json_object *o, const char *key, const char *s)
{
    if (s)
        json_object_object_add(o, key, json_object_new_string(s));
}

json_object *vcsim_result_to_json(const struct vcsim_result *r, bool full)
{
    json_object *o = json_object_new_object(), *pts;

    if (!o)
        return NULL;
    rep_add_str(o, "path", r->path);
    rep_add_str(o, "name", r->name);
    json_object_object_add(o, "seed", json_object_new_uint64(r->seed));
    json_object_object_add(o, "agent", json_object_new_int(r->agent));
    json_object_object_add(o, "passed", json_object_new_boolean(r->passed));
    json_object_object_add(o, "fail_step", json_object_new_int(r->fail_step));
    rep_add_str(o, "fail_step_name", r->fail_step_name);
    json_object_object_add(o, "fail_line", json_object_new_int64(r->fail_line));
    rep_add_str(o, "message", r->message);
    rep_add_str(o, "label", r->label);
    rep_add_str(o, "args", r->args);
    json_object_object_add(o, "virtual_ns", json_object_new_uint64(r->virtual_ns));
    json_object_object_add(o, "steps", json_object_new_uint64(r->steps));
    json_object_object_add(o, "events", json_object_new_uint64(r->events));
    json_object_object_add(o, "trace_records", json_object_new_uint64(r->trace_records));
    json_object_object_add(o, "trace_hash", json_object_new_uint64(r->trace_hash));
    json_object_object_add(o, "wall_s", json_object_new_double(r->wall_s));
    if (r->n_rules) {
        json_object *rules = json_object_new_array();
        for (size_t i = 0; rules && i < r->n_rules; i++) {
            json_object *p = json_object_new_object();
            json_object_object_add(p, "hits", json_object_new_uint64(r->rules[i].hits));
            json_object_object_add(p, "fired", json_object_new_uint64(r->rules[i].fired));
            (void) json_object_array_add(rules, p);
        }
        json_object_object_add(o, "rules", rules);
    }
    if (!full)
        return o;
    rep_add_str(o, "log", r->log);
    rep_add_str(o, "trace", r->trace);
    pts = json_object_new_array();
    for (size_t i = 0; pts && i < r->n_points; i++) {
        json_object *p = json_object_new_object();
        rep_add_str(p, "name", r->points[i].name);
        json_object_object_add(p, "hits", json_object_new_uint64(r->points[i].hits));
        (void) json_object_array_add(pts, p);
    }
    json_object_object_add(o, "points", pts);
    return o;
}

static char *rep_get_str(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return strdup(json_object_get_string(v));
}

static uint64_t rep_get_u64(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static void rep_points_from_json(json_object *o, struct vcsim_result *r)
{
    json_object *pts;
    size_t n;

    if (!json_object_object_get_ex(o, "points", &pts) || !json_object_is_type(pts, json_type_array))
        return;
    n = json_object_array_length(pts);
    r->points = calloc(n + 1, sizeof(*r->points));
    for (size_t i = 0; r->points && i < n; i++) {
        json_object *p = json_object_array_get_idx(pts, i);
        r->points[r->n_points].name = rep_get_str(p, "name");
        r->points[r->n_points].hits = rep_get_u64(p, "hits");
        r->n_points += r->points[r->n_points].name != NULL;
    }
}

static void rep_rules_from_json(json_object *o, struct vcsim_result *r)
{
    json_object *rules;
    size_t n;

    if (!json_object_object_get_ex(o, "rules", &rules) ||
        !json_object_is_type(rules, json_type_array) || !(n = json_object_array_length(rules)))
        return;
    r->rules = calloc(n, sizeof(*r->rules));
    for (size_t i = 0; r->rules && i < n; i++) {
        json_object *p = json_object_array_get_idx(rules, i);
        r->rules[i] = (struct vcsim_rule_stat){.hits = rep_get_u64(p, "hits"),
                                               .fired = rep_get_u64(p, "fired")};
        r->n_rules = i + 1;
    }
}

int vcsim_result_from_json(json_object *j, struct vcsim_result *ret)
{
    struct vcsim_result r = {0};
    json_object *v;

    if (!json_object_is_type(j, json_type_object))
        return -EINVAL;
    r.path = rep_get_str(j, "path");
    r.name = rep_get_str(j, "name");
    r.seed = rep_get_u64(j, "seed");
    r.agent = (int) rep_get_u64(j, "agent");
    r.passed = json_object_object_get_ex(j, "passed", &v) && json_object_get_boolean(v);
    r.fail_step = json_object_object_get_ex(j, "fail_step", &v) ? json_object_get_int(v) : -1;
    r.fail_step_name = rep_get_str(j, "fail_step_name");
    r.fail_line = (unsigned) rep_get_u64(j, "fail_line");
    r.message = rep_get_str(j, "message");
    r.label = rep_get_str(j, "label");
    r.args = rep_get_str(j, "args");
    r.virtual_ns = rep_get_u64(j, "virtual_ns");
    r.steps = rep_get_u64(j, "steps");
    r.events = rep_get_u64(j, "events");
    r.trace_records = rep_get_u64(j, "trace_records");
    r.trace_hash = rep_get_u64(j, "trace_hash");
    r.wall_s = json_object_object_get_ex(j, "wall_s", &v) ? json_object_get_double(v) : 0;
    r.log = rep_get_str(j, "log");
    r.trace = rep_get_str(j, "trace");
    rep_points_from_json(j, &r);
    rep_rules_from_json(j, &r);
    if (!r.path || !r.name) {
        vcsim_result_clear(&r);
        return -EINVAL;
    }
    *ret = r;
    return 0;
}

int vcsim_report_json(const char *path, const struct vcsim_result *v, size_t n, double wall_s)
{
    struct rep_summary s = rep_sum(v, n);
    json_object *o = json_object_new_object(), *runs = json_object_new_array(), *sum;
    FILE *f;
    int r = 0;

    sum = json_object_new_object();
    if (!o || !runs || !sum) {
        json_object_put(o);
        json_object_put(runs);
        json_object_put(sum);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        (void) json_object_array_add(runs, vcsim_result_to_json(&v[i], false));
    json_object_object_add(sum, "runs", json_object_new_uint64(n));
    json_object_object_add(sum, "passed", json_object_new_uint64(s.passed));
    json_object_object_add(sum, "failed", json_object_new_uint64(s.failed));
    json_object_object_add(sum, "wall_s", json_object_new_double(wall_s));
    json_object_object_add(sum, "virtual_ns", json_object_new_uint64(s.virtual_ns));
    json_object_object_add(o, "runs", runs);
    json_object_object_add(o, "summary", sum);
    f = fopen(path, "we");
    if (!f)
        r = -errno;
    if (f && fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY)) < 0)
        r = -EIO;
    if (f && fclose(f) != 0 && r == 0)
        r = -errno;
    json_object_put(o);
    return r;
}

int vcsim_report_trace(const char *path, const struct vcsim_result *v, size_t n)
{
    FILE *f = fopen(path, "we");
    int r = 0;

    if (!f)
        return -errno;
    for (size_t i = 0; i < n; i++)
        if (v[i].trace && fputs(v[i].trace, f) < 0)
            r = -EIO;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}
