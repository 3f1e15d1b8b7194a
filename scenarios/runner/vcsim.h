/* SPDX-License-Identifier: Apache-2.0 */
/* vcsim, the scenario runner as a library: parse scenarios (scenario.h), run one scenario with
 * one seed in a fresh simulated world, and report results as text, JUnit XML, JSON and JSONL
 * traces. The CLI (vcsim_main) is a thin layer over these; tests and fuzzers call them too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vcsim_scenario;
struct simhv_fault_rule;

#define VCSIM_VERSION "0.1.0"

/* What a run should collect besides its verdict. */
struct vcsim_run_opts {
    bool capture_log;     /* keep the trace and the runtime's warnings as text (for -v) */
    bool trace_jsonl;     /* keep every trace record as a JSON line (--trace) */
    bool list_points;     /* keep the fault points the run hit (--list-points) */
    int agent;            /* enum vcsim_agent_mode: the scenario's world.agent, or forced */
    bool invariants_only; /* step expectations are not checked; the end settles (run.c) */
    unsigned skip;        /* invariants not checked, bit per enum vcsim_invariant */
    const struct simhv_fault_rule *faults; /* rules added after the scenario's plan */
    size_t n_faults;                       /* number of faults */
};

/* How the runtime reaches the mock agent's guests. */
enum vcsim_agent_mode {
    VCSIM_AGENT_SCENARIO, /* as the scenario's world.agent says (default mock) */
    VCSIM_AGENT_MOCK,     /* the in-process "mock" agent: no wire */
    VCSIM_AGENT_WIRE,     /* the "kata" agent over ttrpc on the simulated network */
};

/* A fault point and how often the run hit it. */
struct vcsim_point {
    char *name;    /* "agent.CreateContainer" */
    uint64_t hits; /* hits */
};

/* How often an added rule (vcsim_run_opts.faults) matched and fired in a run. */
struct vcsim_rule_stat {
    uint64_t hits;  /* matching hits */
    uint64_t fired; /* firings */
};

/* The option that forces mode agent on a repro command line ("" for VCSIM_AGENT_SCENARIO). */
const char *vcsim_agent_flag(int agent);

/* The outcome of one (scenario, seed) run. Strings are owned (vcsim_result_clear). */
struct vcsim_result {
    char *path;                    /* scenario file */
    char *name;                    /* scenario name */
    uint64_t seed;                 /* seed */
    int agent;                     /* enum vcsim_agent_mode the run was forced to (repro) */
    bool passed;                   /* every expectation and invariant held */
    int fail_step;                 /* index of the failing step, -1 for none or the end checks */
    char *fail_step_name;          /* its action, or NULL */
    unsigned fail_line;            /* its source line (0 if none) */
    char *message;                 /* why it failed, or NULL */
    uint64_t virtual_ns;           /* virtual time at the end */
    uint64_t steps;                /* steps run */
    uint64_t events;               /* world events run */
    uint64_t trace_records;        /* trace records */
    uint64_t trace_hash;           /* FNV-1a of the trace */
    double wall_s;                 /* wall time of the run */
    char *log;                     /* captured trace and log (capture_log), or NULL */
    char *trace;                   /* JSON lines (trace_jsonl), or NULL */
    struct vcsim_point *points;    /* fault points hit (list_points) */
    size_t n_points;               /* number of points */
    char *label;                   /* what varied in this run (a sweep's fault), or NULL */
    char *args;                    /* further repro options (" --fault ..."), or NULL */
    struct vcsim_rule_stat *rules; /* one per added rule (opts.faults), or NULL */
    size_t n_rules;                /* number of rules */
};

/* The one-line command that reruns r ("vcsim run PATH --seed N ..."), into b (buf.h). */
struct vcsim_buf;
void vcsim_repro(struct vcsim_buf *b, const struct vcsim_result *r);

/* Runs scenario s with seed: a fresh world, the steps in order with their expectations, the
 * monitor and the invariants after every step, the end checks, teardown. The result is
 * written to *ret (cleared first by the caller or zeroed). 0 when the run completed (passed or
 * not), -ENOMEM or another -errno when it could not be set up (ret->message says why). */
int vcsim_run(const struct vcsim_scenario *s, uint64_t seed, const struct vcsim_run_opts *opts,
              struct vcsim_result *ret);
void vcsim_result_clear(struct vcsim_result *r);

/* Reports: text (header, one line per run, failure details with a repro command, summary),
 * JUnit XML and JSON over n results. wall_s is the whole session's wall time. */
void vcsim_report_text(FILE *f, const struct vcsim_result *v, size_t n, double wall_s, bool verbose,
                       bool quiet);
int vcsim_report_junit(const char *path, const struct vcsim_result *v, size_t n, double wall_s);
int vcsim_report_json(const char *path, const struct vcsim_result *v, size_t n, double wall_s);
int vcsim_report_trace(const char *path, const struct vcsim_result *v, size_t n);
/* The same records in Chrome's trace-event JSON format (Perfetto, chrome://tracing): one
 * process per run, one thread per category, steps as slices. 0 or -errno. */
int vcsim_report_chrome(const char *path, const struct vcsim_result *v, size_t n);

/* A result as a JSON object and back (reports, and worker processes' pipes). */
struct json_object *vcsim_result_to_json(const struct vcsim_result *r, bool full);
int vcsim_result_from_json(struct json_object *j, struct vcsim_result *ret);

/* The command line: vcsim run PATH... [options], --help, --version. Returns the exit code: 0
 * all passed, 1 a failure, 2 usage or input error. out and err receive the report and
 * diagnostics. */
int vcsim_main(int argc, char **argv, FILE *out, FILE *err);
