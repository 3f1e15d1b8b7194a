/* SPDX-License-Identifier: Apache-2.0 */
/* The command line's shared machinery, internal to the runner: options, the session (the
 * scenarios found and loaded, the planned runs and their results), running the plan in this
 * process or in forked workers, and the reports. `vcsim run` (cli.c), `vcsim sweep` and
 * `vcsim explore` (sweep.c) and `vcsim shrink` (shrink.c) are built on it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"
#include "vcsim.h"

#define CLI_MAX_FILES 100000u      /* most scenario files in one session */
#define CLI_MAX_RUNS  10000000u    /* most runs in one session */
#define CLI_MAX_JOBS  256u         /* most worker processes */
#define CLI_FRAME_MAX (512u << 20) /* largest result a worker may send */

struct cli_opts {
    char **paths;                    /* PATH arguments (borrowed from argv) */
    size_t n_paths;                  /* number of paths */
    char **tags;                     /* --tag values (borrowed) */
    size_t n_tags;                   /* number of tags */
    bool has_seeds;                  /* --seed or --seeds given */
    uint64_t seed_lo;                /* first seed */
    uint64_t seed_hi;                /* last seed (inclusive) */
    unsigned shard_k;                /* 1-based shard (0: no sharding) */
    unsigned shard_n;                /* shard count */
    unsigned jobs;                   /* worker processes (1: none) */
    const char *junit;               /* --junit FILE */
    const char *json;                /* --json FILE */
    const char *trace;               /* --trace FILE */
    bool check_determinism;          /* --check-determinism */
    bool list_points;                /* --list-points */
    int agent;                       /* --agent: enum vcsim_agent_mode */
    bool verbose;                    /* -v */
    bool quiet;                      /* -q */
    bool invariants_only;            /* --invariants-only */
    unsigned skip;                   /* --skip-invariants: bit per enum vcsim_invariant */
    struct simhv_fault_rule *faults; /* --fault rules (owned) */
    size_t n_faults;                 /* number of faults */
    /* sweep and explore */
    unsigned kinds;     /* --kinds: VCSIM_SWEEP_* bits */
    unsigned actions;   /* --actions: bit per enum simhv_action (0: all applicable) */
    uint64_t max_hits;  /* --max-hits (0: the kind's default) */
    unsigned max_rules; /* explore: most rules a plan draws (--max-faults) */
    const char *output; /* shrink: -o FILE */
};

/* One planned run. */
struct cli_run {
    size_t scenario;                       /* index into the loaded scenarios */
    uint64_t seed;                         /* seed */
    const struct simhv_fault_rule *faults; /* rules added to the plan (borrowed) */
    size_t n_faults;                       /* number of faults */
    bool probe;                            /* a sweep's baseline: keeps its points */
    unsigned skip;                         /* invariants not checked (besides --skip-invariants) */
    size_t first_rule; /* sweep: its first rule's index in the plan (faults set once planned) */
    char *label;       /* what varies (owned), or NULL */
};

/* The session: what was loaded and planned, and where output goes. */
struct cli_session {
    struct cli_opts o;                 /* options */
    char **files;                      /* scenario files, sorted per folder */
    size_t n_files;                    /* number of files */
    struct vcsim_scenario **scenarios; /* loaded scenarios (same order) */
    struct cli_run *runs;              /* runs in report order */
    size_t n_runs;                     /* number of runs */
    struct vcsim_result *results;      /* one per run */
    FILE *out;                         /* report stream */
    FILE *err;                         /* diagnostics and progress */
};

/* What a sweep does (--kinds). */
enum {
    VCSIM_SWEEP_FAULTS = 1u << 0, /* each point hit, failed with each applicable action */
    VCSIM_SWEEP_ALLOC = 1u << 1,  /* the runtime's Nth allocation fails, for every N */
    VCSIM_SWEEP_CRASH = 1u << 2,  /* the runtime (or host) crashes at every persist step */
};

/* Parses argv[2..] (argv[1] is the command) into o; the options allowed are the command's.
 * 0, or the exit code 2 after a message on err. */
int vcsim_cli_parse(struct cli_opts *o, const char *cmd, int argc, char **argv, FILE *err);
/* A usage error: the message and a hint on err; returns 2. */
int vcsim_cli_usage_error(FILE *err, const char *fmt, const char *arg);
/* Finds and loads the scenarios of o.paths. 0, or -errno after a message. */
int vcsim_cli_load(struct cli_session *s);
/* Whether scenario sc passes the --tag filter. */
bool vcsim_cli_selected(const struct cli_session *s, const struct vcsim_scenario *sc);
/* Appends a run (label is taken over). 0, -E2BIG past CLI_MAX_RUNS, -ENOMEM. */
int vcsim_cli_add_run(struct cli_session *s, const struct cli_run *run);
/* Keeps the runs of the --shard share; then allocates the results. 0 or -ENOMEM. */
int vcsim_cli_shard(struct cli_session *s);
/* Runs every planned run (in workers with --jobs), results in plan order. 0 or -errno. */
int vcsim_cli_execute(struct cli_session *s);
/* The reports the options ask for over the session's results. 0 or -errno. */
int vcsim_cli_reports(struct cli_session *s, double wall);
/* Drops the plan and its results, keeping the scenarios. */
void vcsim_cli_reset_runs(struct cli_session *s);
void vcsim_cli_session_free(struct cli_session *s);
/* The repro options of a run: --invariants-only when lenient, the session's --fault rules and
 * then the n rules given. NULL when there are none (or on ENOMEM). */
char *vcsim_cli_args(const struct cli_session *s, bool lenient, unsigned skip,
                     const struct simhv_fault_rule *faults, size_t n);

/* The commands past option parsing: 0 all passed, 1 a failure, 2 usage or input error. */
int vcsim_cli_sweep(struct cli_session *s);
int vcsim_cli_explore(struct cli_session *s);
int vcsim_cli_shrink(struct cli_session *s);
