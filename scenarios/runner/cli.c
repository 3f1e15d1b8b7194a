/* SPDX-License-Identifier: Apache-2.0 */
/* The vcsim command line: options, scenario discovery (files and folders, recursive, sorted),
 * the run list (scenario x seed, tag filter, shard), sequential or forked parallel execution
 * with results returned through pipes and reported in the fixed order, the determinism check,
 * and the reports. Exit 0 all passed, 1 a failure, 2 usage or input error. It is a real-world
 * service of the runner: --jobs forks worker processes, each running whole, self-contained
 * runs, so parallelism never reaches inside a world. */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "cli.h"
#include "scenario.h"
#include "value.h"
#include "vcsim.h"
#include "wall.h"

static const char cli_usage[] =
    "usage: vcsim run PATH... [options]\n"
    "       vcsim sweep PATH... [--kinds faults,alloc,crash] [--actions LIST] [--max-hits N]\n"
    "                           [options]\n"
    "       vcsim explore PATH... --seeds A..B [--max-faults N] [options]\n"
    "       vcsim shrink FILE [--seed N] [--invariants-only] [--fault SPEC]... [-o OUT]\n"
    "       vcsim --help | --version\n"
    "\n"
    "Runs scenario files (folders are searched recursively for *.yaml) in the simulated world.\n"
    "\n"
    "  --seed N              run seed N (default: each scenario's seed)\n"
    "  --seeds A..B          run every seed from A to B (inclusive)\n"
    "  --shard K/N           run only runs whose index %% N == K-1 (K is 1-based: 1/4 .. 4/4)\n"
    "  --jobs N              run in N worker processes (results keep their order)\n"
    "  --junit FILE          write JUnit XML\n"
    "  --json FILE           write the results as JSON\n"
    "  --trace FILE          write the trace for Perfetto (Chrome trace-event JSON; steps as\n"
    "                        slices, a lane per category); FILE.jsonl: one JSON line a record\n"
    "  --check-determinism   run each seed twice and fail when the traces differ\n"
    "  --tag T               only scenarios tagged T (repeatable: any of them)\n"
    "  --list-points         print the fault points each run hit\n"
    "  --agent mock|wire     run scenarios that do not name world.agent with this agent\n"
    "                        (default mock): mock is in-process, wire is the kata backend\n"
    "                        over ttrpc to the mock agent's server on the simulated network\n"
    "  --invariants-only     check only the invariants, not the steps' expectations, and end\n"
    "                        by stopping and deleting everything with faults off\n"
    "  --fault SPEC          add a fault rule, in the keys of a scenario's faults, e.g.\n"
    "                        point=agent.Exec,nth=2,errno=EIO (repeatable)\n"
    "  --skip-invariants L   do not check these invariants (comma separated names)\n"
    "  -v                    print the trace and log of failing runs\n"
    "  -q                    print only failures and the summary\n"
    "\n"
    "sweep: a baseline run records every fault point hit (invariants only), then one run per\n"
    "point and action fails that point's hit. --kinds faults (errno, hang, vm_crash, reset,\n"
    "torn_write at the first hit; --max-hits N for more hits; --actions to choose), alloc (the\n"
    "runtime's Nth allocation fails, for every N) and crash (a runtime crash and a host crash at\n"
    "every persist step of the runtime: disk write, fsync, rename). The alloc and crash runs\n"
    "check what those sweeps promise: a clean error, no leak, no VM nobody knows, a state that\n"
    "loads, and a cleanup that removes everything; stored state may lag behind the VM's.\n"
    "explore: each seed draws a random fault plan (up to --max-faults rules, default 3) from\n"
    "the points of each scenario and runs it, invariants only.\n"
    "shrink: reduces a failing run's fault plan and steps to a minimal scenario that fails the\n"
    "same way and writes it (-o OUT, default stdout).\n"
    "\n"
    "Exit status: 0 all passed, 1 a run failed, 2 usage or input error.\n";

/* --- options ----------------------------------------------------------------------------- */

static bool cli_u64(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

static bool cli_seeds(const char *s, uint64_t *lo, uint64_t *hi)
{
    const char *dots = strstr(s, "..");
    char first[32];

    if (!dots || (size_t) (dots - s) >= sizeof(first))
        return false;
    (void) snprintf(first, sizeof(first), "%.*s", (int) (dots - s), s);
    return cli_u64(first, lo) && cli_u64(dots + 2, hi) && *lo <= *hi && *hi - *lo < CLI_MAX_RUNS;
}

static bool cli_shard(const char *s, unsigned *k, unsigned *n)
{
    uint64_t a, b;
    const char *slash = strchr(s, '/');
    char first[32];

    if (!slash || (size_t) (slash - s) >= sizeof(first))
        return false;
    (void) snprintf(first, sizeof(first), "%.*s", (int) (slash - s), s);
    if (!cli_u64(first, &a) || !cli_u64(slash + 1, &b) || a < 1 || b < 1 || a > b || b > 1000000)
        return false;
    *k = (unsigned) a;
    *n = (unsigned) b;
    return true;
}

int vcsim_cli_usage_error(FILE *err, const char *fmt, const char *arg)
{
    fprintf(err, "vcsim: ");
    fprintf(err, fmt, arg);
    fprintf(err, "\n(try vcsim --help)\n");
    return 2;
}

static unsigned cli_kind_bit(const char *name)
{
    return strcmp(name, "faults") == 0  ? VCSIM_SWEEP_FAULTS
           : strcmp(name, "alloc") == 0 ? VCSIM_SWEEP_ALLOC
           : strcmp(name, "crash") == 0 ? VCSIM_SWEEP_CRASH
                                        : 0;
}

static unsigned cli_invariant_bit(const char *name)
{
    enum vcsim_invariant inv = vcsim_invariant_from_name(name);

    return inv < VCSIM_INV_LAST ? 1u << inv : 0;
}

static unsigned cli_action_bit(const char *name)
{
    int a = simhv_action_from_string(name);

    return a >= 0 ? 1u << a : 0;
}

/* A comma separated list of names, each giving a bit. */
static bool cli_bits(const char *list, unsigned (*bit)(const char *), unsigned *ret)
{
    char buf[256], *save = NULL;
    unsigned v = 0, b;

    if (strlen(list) >= sizeof(buf))
        return false;
    (void) snprintf(buf, sizeof(buf), "%s", list);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!(b = bit(w)))
            return false;
        v |= b;
    }
    *ret = v;
    return v != 0;
}

static int cli_fault(struct cli_opts *o, const char *spec, FILE *err)
{
    struct vcsim_diag d = {.path = "--fault"};
    struct simhv_fault_rule *v = realloc(o->faults, (o->n_faults + 1) * sizeof(*v));

    if (!v)
        return vcsim_cli_usage_error(err, "%s", "out of memory");
    o->faults = v;
    if (vcsim_fault_spec_parse(spec, &d, &v[o->n_faults]) < 0)
        return vcsim_cli_usage_error(err, "%s", d.msg);
    o->n_faults++;
    return 0;
}

/* An option that takes a value; *i moves past it. 0, or the exit code 2. */
static int cli_valued(struct cli_opts *o, int argc, char **argv, int *i, FILE *err)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    uint64_t x;

    if (!val)
        return vcsim_cli_usage_error(err, "option %s needs a value", opt);
    (*i)++;
    if (strcmp(opt, "--seed") == 0 && cli_u64(val, &x))
        o->seed_lo = o->seed_hi = x;
    else if (strcmp(opt, "--seeds") == 0 && cli_seeds(val, &o->seed_lo, &o->seed_hi))
        ;
    else if (strcmp(opt, "--shard") == 0 && cli_shard(val, &o->shard_k, &o->shard_n))
        return 0;
    else if (strcmp(opt, "--jobs") == 0 && cli_u64(val, &x) && x >= 1 && x <= CLI_MAX_JOBS)
        o->jobs = (unsigned) x;
    else if (strcmp(opt, "--junit") == 0)
        o->junit = val;
    else if (strcmp(opt, "--json") == 0)
        o->json = val;
    else if (strcmp(opt, "--trace") == 0)
        o->trace = val;
    else if (strcmp(opt, "--tag") == 0)
        o->tags[o->n_tags++] = argv[*i];
    else if (strcmp(opt, "--fault") == 0)
        return cli_fault(o, val, err);
    else if (strcmp(opt, "--kinds") == 0 && cli_bits(val, cli_kind_bit, &o->kinds))
        ;
    else if (strcmp(opt, "--actions") == 0 && cli_bits(val, cli_action_bit, &o->actions))
        ;
    else if (strcmp(opt, "--skip-invariants") == 0 && cli_bits(val, cli_invariant_bit, &o->skip))
        ;
    else if (strcmp(opt, "--max-hits") == 0 && cli_u64(val, &x) && x >= 1)
        o->max_hits = x;
    else if (strcmp(opt, "--max-faults") == 0 && cli_u64(val, &x) && x >= 1 && x <= 16)
        o->max_rules = (unsigned) x;
    else if (strcmp(opt, "-o") == 0)
        o->output = val;
    else if (strcmp(opt, "--agent") == 0 && strcmp(val, "mock") == 0)
        o->agent = VCSIM_AGENT_MOCK;
    else if (strcmp(opt, "--agent") == 0 && strcmp(val, "wire") == 0)
        o->agent = VCSIM_AGENT_WIRE;
    else
        return vcsim_cli_usage_error(err, "bad value for %s", opt);
    o->has_seeds |= strncmp(opt, "--seed", 6) == 0;
    return 0;
}

/* Options each command takes besides the common ones. */
static const struct {
    const char *cmd;    /* command */
    const char *flags;  /* flags without a value */
    const char *valued; /* options with a value */
    bool one_path;      /* exactly one PATH, a file */
} cli_cmds[] = {
    {"run", "--check-determinism --list-points --invariants-only",
     "--seed --seeds --shard --jobs --junit --json --trace --tag --agent --fault "
     "--skip-invariants",
     false},
    {"sweep", "",
     "--seed --seeds --shard --jobs --junit --json --tag --agent --kinds --actions "
     "--max-hits",
     false},
    {"explore", "", "--seeds --shard --jobs --junit --json --tag --agent --max-faults", false},
    {"shrink", "--invariants-only", "--seed --agent --fault --skip-invariants -o", true},
};

int vcsim_cli_parse(struct cli_opts *o, const char *cmd, int argc, char **argv, FILE *err)
{
    size_t c = 0;
    int r = 0;

    while (c < sizeof(cli_cmds) / sizeof(cli_cmds[0]) && strcmp(cli_cmds[c].cmd, cmd) != 0)
        c++;
    *o = (struct cli_opts){.jobs = 1,
                           .max_rules = 3,
                           .paths = calloc((size_t) argc + 1, sizeof(char *)),
                           .tags = calloc((size_t) argc + 1, sizeof(char *))};
    if (c == sizeof(cli_cmds) / sizeof(cli_cmds[0]))
        return vcsim_cli_usage_error(err, "unknown command '%s'", cmd);
    if (!o->paths || !o->tags)
        return vcsim_cli_usage_error(err, "%s", "out of memory");
    for (int i = 2; r == 0 && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
            o->verbose = true;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            o->quiet = true;
        else if (vcsim_word_in(cli_cmds[c].flags, a) && strcmp(a, "--list-points") == 0)
            o->list_points = true;
        else if (vcsim_word_in(cli_cmds[c].flags, a) && strcmp(a, "--invariants-only") == 0)
            o->invariants_only = true;
        else if (vcsim_word_in(cli_cmds[c].flags, a))
            o->check_determinism = true;
        else if (vcsim_word_in(cli_cmds[c].valued, a))
            r = cli_valued(o, argc, argv, &i, err);
        else if (a[0] == '-' && a[1])
            r = vcsim_cli_usage_error(err, "unknown option %s", a);
        else
            o->paths[o->n_paths++] = argv[i];
    }
    if (r == 0 && o->n_paths == 0)
        r = vcsim_cli_usage_error(err, "%s", "no scenario PATH given");
    if (r == 0 && cli_cmds[c].one_path && o->n_paths != 1)
        r = vcsim_cli_usage_error(err, "%s takes one scenario FILE", cmd);
    if (r == 0 && strcmp(cmd, "explore") == 0 && !o->has_seeds)
        r = vcsim_cli_usage_error(err, "%s", "explore needs --seeds A..B");
    return r;
}

/* --- discovery --------------------------------------------------------------------------- */

static int cli_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cli_add_file(struct cli_session *s, const char *path)
{
    char **v;

    if (s->n_files >= CLI_MAX_FILES)
        return -E2BIG;
    v = realloc(s->files, (s->n_files + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    s->files = v;
    s->files[s->n_files] = strdup(path);
    return s->files[s->n_files++] ? 0 : -ENOMEM;
}

static bool cli_is_yaml(const char *name)
{
    size_t n = strlen(name);

    return n > 5 && strcmp(name + n - 5, ".yaml") == 0 && name[0] != '.';
}

static int cli_walk(struct cli_session *s, const char *dir, unsigned depth)
{
    struct dirent *e;
    struct stat sb;
    char path[4096];
    DIR *d;
    int r = 0;

    if (depth > 32)
        return -ELOOP;
    d = opendir(dir);
    if (!d)
        return -errno;
    while (r >= 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
            continue;
        if (stat(path, &sb) < 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            r = cli_walk(s, path, depth + 1);
        else if (S_ISREG(sb.st_mode) && cli_is_yaml(e->d_name))
            r = cli_add_file(s, path);
    }
    (void) closedir(d);
    return r;
}

static int cli_discover(struct cli_session *s)
{
    struct stat sb;
    size_t first;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < s->o.n_paths; i++) {
        const char *p = s->o.paths[i];
        size_t len = strlen(p);
        char trimmed[4096];
        first = s->n_files;
        if (stat(p, &sb) < 0) {
            fprintf(s->err, "vcsim: %s: %s\n", p, strerror(errno));
            return -ENOENT;
        }
        if (!S_ISDIR(sb.st_mode)) {
            r = cli_add_file(s, p);
            continue;
        }
        while (len > 1 && p[len - 1] == '/')
            len--;
        (void) snprintf(trimmed, sizeof(trimmed), "%.*s", (int) len, p);
        r = cli_walk(s, trimmed, 0);
        qsort(s->files + first, s->n_files - first, sizeof(*s->files), cli_cmp_str);
        if (r < 0)
            fprintf(s->err, "vcsim: %s: %s\n", p, strerror(-r));
    }
    return r;
}

static int cli_load_files(struct cli_session *s)
{
    struct vcsim_diag d = {0};
    int r = 0;

    s->scenarios = calloc(s->n_files + 1, sizeof(*s->scenarios));
    if (!s->scenarios)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_files; i++) {
        int q = vcsim_scenario_load(s->files[i], &d, &s->scenarios[i]);
        if (q < 0) {
            fprintf(s->err, "%s\n", d.msg);
            r = q;
        }
    }
    return r;
}

int vcsim_cli_load(struct cli_session *s)
{
    int r = cli_discover(s);

    return r < 0 ? r : cli_load_files(s);
}

bool vcsim_cli_selected(const struct cli_session *s, const struct vcsim_scenario *sc)
{
    if (!s->o.n_tags)
        return true;
    for (size_t i = 0; i < s->o.n_tags; i++)
        if (vcsim_scenario_has_tag(sc, s->o.tags[i]))
            return true;
    return false;
}

int vcsim_cli_add_run(struct cli_session *s, const struct cli_run *run)
{
    if (s->n_runs >= CLI_MAX_RUNS) {
        free(run->label);
        return -E2BIG;
    }
    if (!(s->n_runs % 1024)) {
        struct cli_run *v = realloc(s->runs, (s->n_runs + 1024) * sizeof(*v));
        if (!v) {
            free(run->label);
            return -ENOMEM;
        }
        s->runs = v;
    }
    s->runs[s->n_runs++] = *run;
    return 0;
}

int vcsim_cli_shard(struct cli_session *s)
{
    size_t kept = 0;

    for (size_t i = 0; i < s->n_runs; i++) {
        if (!s->o.shard_n || i % s->o.shard_n == s->o.shard_k - 1)
            s->runs[kept++] = s->runs[i];
        else
            free(s->runs[i].label);
    }
    s->n_runs = kept;
    s->results = calloc(s->n_runs + 1, sizeof(*s->results));
    return s->results ? 0 : -ENOMEM;
}

/* The runs of `vcsim run` in their fixed order: scenario, then seed. */
static int cli_plan(struct cli_session *s)
{
    int r = 0;

    for (size_t i = 0; r >= 0 && i < s->n_files; i++) {
        const struct vcsim_scenario *sc = s->scenarios[i];
        uint64_t lo = s->o.has_seeds ? s->o.seed_lo : sc->seed;
        uint64_t hi = s->o.has_seeds ? s->o.seed_hi : sc->seed;
        if (!vcsim_cli_selected(s, sc))
            continue;
        for (uint64_t seed = lo; r >= 0; seed++) {
            r = vcsim_cli_add_run(s, &(struct cli_run){.scenario = i, .seed = seed});
            if (seed == hi)
                break;
        }
    }
    return r < 0 ? r : vcsim_cli_shard(s);
}

/* --- running ----------------------------------------------------------------------------- */

static void cli_quote(struct vcsim_buf *b, const char *word)
{
    vcsim_buf_add(b, " '", 2);
    for (const char *p = word; *p; p++)
        if (*p == '\'')
            vcsim_buf_add(b, "'\\''", 4);
        else
            vcsim_buf_add(b, p, 1);
    vcsim_buf_add(b, "'", 1);
}

static void cli_args_rules(struct vcsim_buf *b, const struct simhv_fault_rule *v, size_t n)
{
    char spec[1024];

    for (size_t i = 0; i < n; i++) {
        vcsim_fault_spec(&v[i], spec, sizeof(spec));
        vcsim_buf_add(b, " --fault", 8);
        cli_quote(b, spec);
    }
}

char *vcsim_cli_args(const struct cli_session *s, bool lenient, unsigned skip,
                     const struct simhv_fault_rule *faults, size_t n)
{
    struct vcsim_buf b = {0};
    bool first = true;

    if (!lenient && !skip && !s->o.n_faults && !n)
        return NULL;
    if (lenient)
        vcsim_buf_printf(&b, " --invariants-only");
    for (unsigned inv = 0; inv < VCSIM_INV_LAST; inv++)
        if (skip & (1u << inv)) {
            vcsim_buf_printf(&b, "%s%s", first ? " --skip-invariants " : ",",
                             vcsim_invariant_name((enum vcsim_invariant) inv));
            first = false;
        }
    cli_args_rules(&b, s->o.faults, s->o.n_faults);
    cli_args_rules(&b, faults, n);
    return vcsim_buf_steal(&b);
}

static void cli_run_one(const struct cli_session *s, size_t i, struct vcsim_result *res)
{
    const struct cli_run *run = &s->runs[i];
    const struct vcsim_scenario *sc = s->scenarios[run->scenario];
    size_t n = s->o.n_faults + run->n_faults;
    struct simhv_fault_rule *plan = n ? calloc(n, sizeof(*plan)) : NULL;
    struct vcsim_run_opts o = {.capture_log = s->o.verbose,
                               .trace_jsonl = s->o.trace != NULL,
                               .list_points = s->o.list_points || run->probe,
                               .agent = s->o.agent,
                               .invariants_only = s->o.invariants_only || run->n_faults,
                               .skip = s->o.skip | run->skip,
                               .faults = plan,
                               .n_faults = plan ? n : 0};
    struct vcsim_run_opts plain = o;
    struct vcsim_result again;
    char msg[256];

    if (n && !plan) {
        *res = (struct vcsim_result){.passed = false,
                                     .fail_step = -1,
                                     .path = strdup(sc->path),
                                     .name = strdup(sc->name),
                                     .seed = run->seed,
                                     .message = strdup("out of memory")};
        return;
    }
    /* The session's --fault rules first, then the run's own, as the repro line lists them. */
    for (size_t k = 0; k < s->o.n_faults; k++)
        plan[k] = s->o.faults[k];
    for (size_t k = 0; k < run->n_faults; k++)
        plan[s->o.n_faults + k] = run->faults[k];
    (void) vcsim_run(sc, run->seed, &o, res);
    res->label = run->label ? strdup(run->label) : NULL;
    res->args = vcsim_cli_args(s, o.invariants_only, o.skip, run->probe ? NULL : run->faults,
                               run->probe ? 0 : run->n_faults);
    if (s->o.check_determinism) {
        plain.capture_log = plain.trace_jsonl = plain.list_points = false;
        (void) vcsim_run(sc, run->seed, &plain, &again);
        if (again.trace_hash != res->trace_hash || again.trace_records != res->trace_records) {
            (void) snprintf(msg, sizeof(msg),
                            "nondeterministic: trace hash %016" PRIx64 " (%" PRIu64
                            " records), then %016" PRIx64 " (%" PRIu64 " records)",
                            res->trace_hash, res->trace_records, again.trace_hash,
                            again.trace_records);
            if (res->passed) {
                res->passed = false;
                res->fail_step = -1;
                free(res->message);
                res->message = strdup(msg);
            }
        }
        vcsim_result_clear(&again);
    }
    free(plan);
}

static void cli_progress(const struct cli_session *s, size_t done)
{
    bool tty = isatty(STDERR_FILENO) && s->err == stderr;

    if (s->o.quiet || s->n_runs < 20)
        return;
    if (tty)
        fprintf(s->err, "\r[%zu/%zu]%s", done, s->n_runs, done == s->n_runs ? "\n" : "");
    else if (done % 1000 == 0 || done == s->n_runs)
        fprintf(s->err, "vcsim: %zu/%zu runs done\n", done, s->n_runs);
}

static void cli_run_sequential(struct cli_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        cli_run_one(s, i, &s->results[i]);
        cli_progress(s, i + 1);
    }
}

static bool cli_write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t) n;
    }
    return true;
}

/* A worker: runs its share and writes "<index> <length>\n<json>" frames to fd. */
static void cli_worker(struct cli_session *s, unsigned w, int fd)
{
    struct vcsim_result res;
    char head[64];

    for (size_t i = w; i < s->n_runs; i += s->o.jobs) {
        json_object *j;
        const char *text;
        size_t len;
        cli_run_one(s, i, &res);
        j = vcsim_result_to_json(&res, true);
        text = j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "{}";
        len = strlen(text);
        (void) snprintf(head, sizeof(head), "%zu %zu\n", i, len);
        if (!cli_write_all(fd, head, strlen(head)) || !cli_write_all(fd, text, len))
            _exit(3);
        json_object_put(j);
        vcsim_result_clear(&res);
    }
}

static json_object *cli_parse_json(const char *p, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    json_object *j;

    if (!tok || len > INT32_MAX) {
        json_tokener_free(tok);
        return NULL;
    }
    j = json_tokener_parse_ex(tok, p, (int) len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(j);
        j = NULL;
    }
    json_tokener_free(tok);
    return j;
}

/* Takes every complete frame out of b; -EPROTO on garbage. */
static int cli_frames(struct cli_session *s, struct vcsim_buf *b, size_t *done)
{
    size_t off = 0;

    while (off < b->len) {
        char *nl = memchr(b->data + off, '\n', b->len - off), *end;
        unsigned long long idx, len;
        json_object *j;
        if (!nl)
            break;
        idx = strtoull(b->data + off, &end, 10);
        len = strtoull(end, &end, 10);
        if (end != nl || idx >= s->n_runs || len > CLI_FRAME_MAX)
            return -EPROTO;
        if ((size_t) (nl + 1 - b->data) + len > b->len)
            break;
        j = cli_parse_json(nl + 1, (size_t) len);
        if (!j || vcsim_result_from_json(j, &s->results[idx]) < 0) {
            json_object_put(j);
            return -EPROTO;
        }
        json_object_put(j);
        cli_progress(s, ++*done);
        off = (size_t) (nl + 1 - b->data) + len;
    }
    memmove(b->data, b->data + off, b->len - off);
    b->len -= off;
    return 0;
}

/* Reads the workers' pipes until all close; results land at their indexes. */
static int cli_collect(struct cli_session *s, int *fds, unsigned n)
{
    struct pollfd pfd[CLI_MAX_JOBS];
    struct vcsim_buf bufs[CLI_MAX_JOBS] = {{0}};
    char chunk[65536];
    size_t open = n, done = 0;
    int r = 0;

    for (unsigned i = 0; i < n; i++)
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    while (open && r >= 0) {
        if (poll(pfd, n, -1) < 0 && errno != EINTR)
            r = -errno;
        for (unsigned i = 0; r >= 0 && i < n; i++) {
            ssize_t got;
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(pfd[i].fd, chunk, sizeof(chunk));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                pfd[i].fd = -1;
                open--;
                continue;
            }
            vcsim_buf_add(&bufs[i], chunk, (size_t) got);
            r = bufs[i].oom ? -ENOMEM : cli_frames(s, &bufs[i], &done);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (bufs[i].len && r >= 0)
            r = -EPROTO;
        vcsim_buf_clear(&bufs[i]);
    }
    return r < 0 ? r : (done == s->n_runs ? 0 : -EPIPE);
}

static int cli_run_parallel(struct cli_session *s)
{
    unsigned n = s->o.jobs < s->n_runs ? s->o.jobs : (unsigned) s->n_runs;
    int fds[CLI_MAX_JOBS], pipefd[2], r = 0, status;
    pid_t pids[CLI_MAX_JOBS];
    unsigned started = 0;

    s->o.jobs = n;
    fflush(s->out);
    fflush(s->err);
    for (; started < n; started++) {
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
            r = -errno;
            break;
        }
        pids[started] = fork();
        if (pids[started] == 0) {
            for (unsigned i = 0; i < started; i++)
                (void) close(fds[i]);
            (void) close(pipefd[0]);
            cli_worker(s, started, pipefd[1]);
            _exit(0);
        }
        (void) close(pipefd[1]);
        if (pids[started] < 0) {
            r = -errno;
            (void) close(pipefd[0]);
            break;
        }
        fds[started] = pipefd[0];
    }
    if (r >= 0)
        r = cli_collect(s, fds, started);
    for (unsigned i = 0; i < started; i++) {
        (void) close(fds[i]);
        if (r < 0)
            (void) kill(pids[i], SIGKILL);
        if (waitpid(pids[i], &status, 0) == pids[i] && r >= 0 &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            r = -ECHILD;
    }
    return r;
}

/* --- reports ----------------------------------------------------------------------------- */

/* --trace FILE.jsonl keeps the record-per-line format; any other name gets Chrome's. */
static bool cli_trace_jsonl(const char *path)
{
    size_t n = strlen(path);

    return n >= 6 && strcmp(path + n - 6, ".jsonl") == 0;
}

static void cli_list_points(const struct cli_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct vcsim_result *r = &s->results[i];
        fprintf(s->out, "points of %s [seed=%" PRIu64 "]:\n", r->name, r->seed);
        for (size_t j = 0; j < r->n_points; j++)
            fprintf(s->out, "  %-40s %" PRIu64 "\n", r->points[j].name, r->points[j].hits);
    }
}

int vcsim_cli_execute(struct cli_session *s)
{
    if (s->o.jobs > 1 && s->n_runs > 1)
        return cli_run_parallel(s);
    cli_run_sequential(s);
    return 0;
}

int vcsim_cli_reports(struct cli_session *s, double wall)
{
    int r = 0, q;

    if (s->o.list_points)
        cli_list_points(s);
    vcsim_report_text(s->out, s->results, s->n_runs, wall, s->o.verbose, s->o.quiet);
    if (s->o.junit && (q = vcsim_report_junit(s->o.junit, s->results, s->n_runs, wall)) < 0)
        r = q, fprintf(s->err, "vcsim: %s: %s\n", s->o.junit, strerror(-q));
    if (s->o.json && (q = vcsim_report_json(s->o.json, s->results, s->n_runs, wall)) < 0)
        r = q, fprintf(s->err, "vcsim: %s: %s\n", s->o.json, strerror(-q));
    if (s->o.trace && (q = cli_trace_jsonl(s->o.trace)
                               ? vcsim_report_trace(s->o.trace, s->results, s->n_runs)
                               : vcsim_report_chrome(s->o.trace, s->results, s->n_runs)) < 0)
        r = q, fprintf(s->err, "vcsim: %s: %s\n", s->o.trace, strerror(-q));
    return r;
}

void vcsim_cli_reset_runs(struct cli_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        free(s->runs[i].label);
        if (s->results)
            vcsim_result_clear(&s->results[i]);
    }
    free(s->results);
    free(s->runs);
    s->results = NULL;
    s->runs = NULL;
    s->n_runs = 0;
}

void vcsim_cli_session_free(struct cli_session *s)
{
    vcsim_cli_reset_runs(s);
    for (size_t i = 0; i < s->n_files; i++) {
        vcsim_scenario_free(s->scenarios ? s->scenarios[i] : NULL);
        free(s->files[i]);
    }
    for (size_t i = 0; i < s->o.n_faults; i++)
        vcsim_fault_clear(&s->o.faults[i]);
    free(s->o.faults);
    free(s->scenarios);
    free(s->files);
    free(s->o.paths);
    free(s->o.tags);
}

/* `vcsim run`: 0 all passed, 1 a failure, 2 an input error. */
static int cli_session_run(struct cli_session *s)
{
    double t0 = vcsim_wall_seconds();
    size_t failed = 0;
    int r;

    if (vcsim_cli_load(s) < 0)
        return 2;
    r = cli_plan(s);
    if (r < 0) {
        fprintf(s->err, "vcsim: cannot plan the runs: %s\n", strerror(-r));
        return 2;
    }
    r = vcsim_cli_execute(s);
    if (r < 0) {
        fprintf(s->err, "vcsim: worker processes failed: %s\n", strerror(-r));
        return 2;
    }
    for (size_t i = 0; i < s->n_runs; i++)
        failed += !s->results[i].passed;
    r = vcsim_cli_reports(s, vcsim_wall_seconds() - t0);
    if (r < 0)
        return 2;
    return failed ? 1 : 0;
}

int vcsim_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct cli_session s = {.out = out, .err = err};
    int code;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(cli_usage, out);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        fprintf(out, "vcsim %s\n", VCSIM_VERSION);
        return 0;
    }
    if (argc < 2)
        return vcsim_cli_usage_error(err, "%s", "no command given");
    code = vcsim_cli_parse(&s.o, argv[1], argc, argv, err);
    if (code == 0 && strcmp(argv[1], "run") == 0)
        code = cli_session_run(&s);
    else if (code == 0 && strcmp(argv[1], "sweep") == 0)
        code = vcsim_cli_sweep(&s);
    else if (code == 0 && strcmp(argv[1], "explore") == 0)
        code = vcsim_cli_explore(&s);
    else if (code == 0)
        code = vcsim_cli_shrink(&s);
    vcsim_cli_session_free(&s);
    return code;
}
