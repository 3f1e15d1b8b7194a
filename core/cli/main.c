/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl: the command line of the vc runtime. It parses the command line, opens the runtime (a
 * real context on the store) and runs one command; every command is one or a few API calls, each
 * locking, loading, acting on and saving the stored sandbox, so separate invocations can drive
 * one sandbox. Real-world only: this file reads argv, the environment and writes to stdio. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vc/store.h>

#include "vcctl.h"

/* The store root the context is made with before the real one is known: never touched, since
 * every command that uses the store replaces it (vcctl_open) and the others do not store. */
#define VCCTL_NO_STORE "/nonexistent/vcctl-no-store"

#define B(o) VCCTL_BIT(VCCTL_O_##o)

#define CREATE_OPTS                                                                                \
    (B(CONTAINER) | B(ROOTFS) | B(FROM) | B(HOSTNAME) | B(HV) | B(AGENT) | B(AGENT_URL) |          \
     B(VCPUS) | B(MEMORY_MB) | B(ENV) | B(CWD) | B(USER) | B(TTY) | B(ARGS) | B(MEMORY_LIMIT) |    \
     B(CPU_QUOTA) | B(CPU_PERIOD) | B(CPU_SHARES) | B(DRY_RUN))
#define RES_OPTS (B(MEMORY_LIMIT) | B(CPU_QUOTA) | B(CPU_PERIOD) | B(CPU_SHARES))

static const char create_help[] =
    "Creates a sandbox: stores it, boots its VM, connects the agent, creates the guest sandbox\n"
    "and its containers; the sandbox is then ready. On failure everything is rolled back.\n"
    "The hypervisor and agent come from the configuration file; --from FILE gives a whole\n"
    "sandbox config (JSON or YAML, keys as in `vcctl config --json` plus id, hostname, net,\n"
    "containers, annotations; see CONFIG.md) merged over it.\n"
    "  --from FILE            sandbox config file (its id is used when ID is not given)\n"
    "  --hostname NAME        guest hostname\n"
    "  --hypervisor KIND      hypervisor kind (config: hypervisor.kind, default qemu)\n"
    "  --agent KIND           agent kind (config: agent.kind, default kata)\n"
    "  --agent-url URL        agent URL (default: the hypervisor's endpoint)\n"
    "  --vcpus N              vCPUs at boot\n"
    "  --memory-mb N          memory at boot in MiB\n"
    "  --container CID        also create a container CID running the command after --args\n"
    "  --rootfs PATH          the container's rootfs\n"
    "  -e, --env NAME=VALUE   environment of the container's process (repeatable; default\n"
    "                         PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)\n"
    "  -w, --cwd DIR          its working directory (default /)\n"
    "  -u, --user UID[:GID]   its credentials (default 0:0)\n"
    "  -t, --tty              give it a terminal\n"
    "  --memory-limit BYTES   its memory limit (suffixes k, M, G: binary)\n"
    "  --cpu-quota US, --cpu-period US, --cpu-shares N   its CPU limits\n"
    "  --args ARG...          the container's command: every word after it (or after --)\n"
    "  --dry-run              print the sandbox config that would be created (JSON), stop\n";

static const char update_help[] =
    "Updates a running container's resource limits; limits not given keep their value. The\n"
    "sandbox grows (vCPU and memory hotplug) to cover its containers' limits.\n"
    "  --memory-limit BYTES   memory limit (suffixes k, M, G: binary)\n"
    "  --cpu-quota US         CFS quota per period in microseconds\n"
    "  --cpu-period US        CFS period in microseconds\n"
    "  --cpu-shares N         relative CPU weight\n";

static const char exec_help[] =
    "Runs ARG... in container CID as exec EID, copies its stdout and stderr to vcctl's until\n"
    "they end, waits for it and exits with its status (255 when out of range). Without -i the\n"
    "process's stdin is closed at once. With --json the output is collected and printed as one\n"
    "object {exec_id, pid, status, stdout, stderr} instead.\n"
    "  -e, --env NAME=VALUE   environment (repeatable; default PATH=... as for create)\n"
    "  -w, --cwd DIR          working directory (default /)\n"
    "  -u, --user UID[:GID]   credentials (default 0:0)\n"
    "  -t, --tty              give it a terminal (stderr then comes with stdout)\n"
    "  -i, --interactive      copy vcctl's stdin to the process's\n";

static const char kill_help[] =
    "Signals a container's processes (kata's KillContainer), or with EID one exec process.\n"
    "  -s, --signal N|NAME    signal (default TERM): 9, KILL, SIGKILL\n"
    "  --all                  every process of the container\n";

static const char agent_help[] =
    "Sends raw requests to an agent, as kata's agent-ctl does: dials URL, sends each RPC with\n"
    "its request and prints each response as JSON (proto3 JSON mapping, field names as in the\n"
    ".proto). Stops at the first failure: an error status prints\n"
    "\"vcctl: RPC: message (STATUS)\" and exits 1.\n"
    "  URL      unix://PATH, unix://@NAME, vsock://CID:PORT, hvsock://PATH:PORT, mock://PATH,\n"
    "           serial://PATH\n"
    "  RPC      an AgentService method (CreateContainer, GetGuestDetails, ...) or a Health one\n"
    "           (Check, Version); the name's case does not matter\n"
    "  JSON     the request: {...}, json://{...} or file://PATH (default {})\n"
    "  --list                 list the RPCs and their request messages\n"
    "  --timeout DURATION     deadline of each call (default 60s; 500ms, 2m, 10 = 10s)\n"
    "  --dial-timeout DURATION  how long to retry connecting (default 10s)\n"
    "  --compact              one line of JSON per response\n"
    "  --defaults             also print fields that hold their default value\n";

static const struct vcctl_cmd vcctl_cmds[] = {
    {"create", "[ID] [OPTIONS] [--container CID [--rootfs PATH] --args ARG...]",
     "create a sandbox (VM up, agent connected, containers ready)", create_help, CREATE_OPTS, 0, 1,
     true, vcctl_cmd_create},
    {"run", "[ID] [OPTIONS] [--container CID [--rootfs PATH] --args ARG...]",
     "create a sandbox and start it", "Same as create, then start (options as for create).\n",
     CREATE_OPTS, 0, 1, true, vcctl_cmd_run},
    {"start", "ID", "start a ready or stopped sandbox and its containers", "", 0, 1, 1, false,
     vcctl_cmd_start},
    {"stop", "ID [-f]", "stop a sandbox: containers, guest sandbox, VM",
     "  -f, --force            go on past the errors of each step\n", B(FORCE), 1, 1, false,
     vcctl_cmd_stop},
    {"delete", "ID [-f]", "delete a ready, paused or stopped sandbox",
     "  -f, --force            stop it first (forcibly) when it is running\n", B(FORCE), 1, 1,
     false, vcctl_cmd_delete},
    {"pause", "ID [CID]", "pause a running sandbox's VM, or one container",
     "Without CID the whole VM is paused; with CID only that container's processes.\n", 0, 1, 2,
     false, vcctl_cmd_pause},
    {"resume", "ID [CID]", "resume a paused sandbox, or one container", "", 0, 1, 2, false,
     vcctl_cmd_resume},
    {"exec", "ID CID EID [OPTIONS] -- ARG...", "run a process in a container and wait for it",
     exec_help, B(ENV) | B(CWD) | B(USER) | B(TTY) | B(STDIN) | B(ARGS), 3, 3, true,
     vcctl_cmd_exec},
    {"ps", "ID CID [--format table|json] [-- PS_ARG...]", "list a container's processes",
     "Runs ps in the guest (default arguments -ef).\n"
     "  --format table|json    the agent's output format (--json implies json)\n",
     B(FORMAT) | B(ARGS), 2, 2, true, vcctl_cmd_ps},
    {"kill", "ID CID [EID] [-s SIGNAL] [--all]", "signal a container or an exec process", kill_help,
     B(SIGNAL) | B(ALL), 2, 3, false, vcctl_cmd_kill},
    {"update", "ID CID [--memory-limit BYTES] [--cpu-quota US] [--cpu-period US] [--cpu-shares N]",
     "update a container's resource limits", update_help, RES_OPTS, 2, 2, false, vcctl_cmd_update},
    {"stats", "ID CID", "print a container's resource usage", "", 0, 2, 2, false, vcctl_cmd_stats},
    {"state", "ID [CID]", "print a sandbox's or a container's state", "", 0, 1, 2, false,
     vcctl_cmd_state},
    {"list", "", "list the stored sandboxes", "", 0, 0, 0, false, vcctl_cmd_list},
    {"check", "ID", "check that a sandbox's VM and agent are alive",
     "Notices a VM that died (the sandbox then becomes stopped) and an agent that does not\n"
     "answer.\n",
     0, 1, 1, false, vcctl_cmd_check},
    {"sync-time", "ID", "set the guest's clock to the host's wall clock",
     "Sends the host's wall-clock time to the agent (SetGuestDateTime), as kata does for a VM\n"
     "whose clock fell behind (a VM from a template, a resumed VM).\n",
     0, 1, 1, false, vcctl_cmd_sync_time},
    {"config", "", "print the configuration in effect",
     "Prints which file was read and the configuration with its defaults (JSON).\n", 0, 0, 0, false,
     vcctl_cmd_config},
    {"agent", "URL RPC [JSON] [RPC [JSON]]... | --list", "send raw requests to an agent",
     agent_help, B(TIMEOUT) | B(DIAL_TIMEOUT) | B(COMPACT) | B(DEFAULTS) | B(LIST), 0, SIZE_MAX,
     false, vcctl_cmd_agent},
};

#define VCCTL_N_CMDS (sizeof(vcctl_cmds) / sizeof(vcctl_cmds[0]))

/* Option codes beyond the short ones. */
enum {
    OPT_CONFIG = 0x100,
    OPT_ROOT,
    OPT_JSON,
    OPT_FIRST, /* OPT_FIRST + VCCTL_O_* for the long-only command options */
};

static const struct option vcctl_longs[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"root", required_argument, NULL, OPT_ROOT},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"container", required_argument, NULL, OPT_FIRST + VCCTL_O_CONTAINER},
    {"rootfs", required_argument, NULL, OPT_FIRST + VCCTL_O_ROOTFS},
    {"from", required_argument, NULL, OPT_FIRST + VCCTL_O_FROM},
    {"hostname", required_argument, NULL, OPT_FIRST + VCCTL_O_HOSTNAME},
    {"hypervisor", required_argument, NULL, OPT_FIRST + VCCTL_O_HV},
    {"agent", required_argument, NULL, OPT_FIRST + VCCTL_O_AGENT},
    {"agent-url", required_argument, NULL, OPT_FIRST + VCCTL_O_AGENT_URL},
    {"vcpus", required_argument, NULL, OPT_FIRST + VCCTL_O_VCPUS},
    {"memory-mb", required_argument, NULL, OPT_FIRST + VCCTL_O_MEMORY_MB},
    {"env", required_argument, NULL, 'e'},
    {"cwd", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"tty", no_argument, NULL, 't'},
    {"interactive", no_argument, NULL, 'i'},
    {"args", no_argument, NULL, OPT_FIRST + VCCTL_O_ARGS},
    {"signal", required_argument, NULL, 's'},
    {"all", no_argument, NULL, OPT_FIRST + VCCTL_O_ALL},
    {"force", no_argument, NULL, 'f'},
    {"memory-limit", required_argument, NULL, OPT_FIRST + VCCTL_O_MEMORY_LIMIT},
    {"cpu-quota", required_argument, NULL, OPT_FIRST + VCCTL_O_CPU_QUOTA},
    {"cpu-period", required_argument, NULL, OPT_FIRST + VCCTL_O_CPU_PERIOD},
    {"cpu-shares", required_argument, NULL, OPT_FIRST + VCCTL_O_CPU_SHARES},
    {"format", required_argument, NULL, OPT_FIRST + VCCTL_O_FORMAT},
    {"timeout", required_argument, NULL, OPT_FIRST + VCCTL_O_TIMEOUT},
    {"dial-timeout", required_argument, NULL, OPT_FIRST + VCCTL_O_DIAL_TIMEOUT},
    {"compact", no_argument, NULL, OPT_FIRST + VCCTL_O_COMPACT},
    {"defaults", no_argument, NULL, OPT_FIRST + VCCTL_O_DEFAULTS},
    {"list", no_argument, NULL, OPT_FIRST + VCCTL_O_LIST},
    {"dry-run", no_argument, NULL, OPT_FIRST + VCCTL_O_DRY_RUN},
    {NULL, 0, NULL, 0},
};

#define VCCTL_SHORTS "+:hve:w:u:tis:f"

/* --- help ------------------------------------------------------------------------------------- */

static void vcctl_help(FILE *f)
{
    fprintf(f,
            "usage: vcctl [--config FILE] [--root DIR] [--json] [-v] COMMAND [ARG...]\n"
            "Drives sandboxes of the vc runtime (kata virtcontainers in C). Every command locks\n"
            "the stored sandbox, acts and saves, so separate invocations drive one sandbox.\n"
            "\nCommands:\n");
    for (size_t i = 0; i < VCCTL_N_CMDS; i++)
        fprintf(f, "  %-8s %s\n", vcctl_cmds[i].name, vcctl_cmds[i].summary);
    fprintf(
        f, "  help     this text, or `vcctl help COMMAND`\n"
           "\nGlobal options (also accepted after the command):\n"
           "  --config FILE   configuration file (default: $VC_CONFIG, /etc/vc/config.json,\n"
           "                  then $XDG_CONFIG_HOME/vc/config.json or ~/.config/vc/config.json;\n"
           "                  the first that exists; none: built-in defaults)\n"
           "  --root DIR      store root (default: the config's root, $VC_ROOT, /run/vc as root,\n"
           "                  else $XDG_RUNTIME_DIR/vc)\n"
           "  --json          machine-readable output (errors too, as {\"error\": ...} on stdout)\n"
           "  -v, --verbose   log the runtime's debug messages to stderr (twice: also traces)\n"
           "  -h, --help      help; `vcctl COMMAND --help` for a command's\n"
           "\nConfiguration (JSON; YAML when the name ends in .yaml or .yml; see CONFIG.md):\n"
           "  {\"root\": DIR,\n"
           "   \"hypervisor\": {\"kind\": \"qemu\", \"path\", \"kernel\", \"initrd\", \"image\",\n"
           "                  \"machine_type\", \"vcpus\": 1, \"max_vcpus\", \"memory_mb\": 2048,\n"
           "                  \"max_memory_mb\", \"mem_slots\", \"kernel_params\", "
           "\"boot_timeout_ms\"},\n"
           "   \"agent\": {\"kind\": \"kata\", \"url\", \"dial_timeout_ms\", "
           "\"create_container_timeout_ms\",\n"
           "             \"long_live_conn\", \"policy\"}}\n"
           "  Unknown keys are errors. `vcctl config` prints what is in effect.\n"
           "\nExit status: 0 success; 1 the operation failed (\"vcctl: WHAT: MESSAGE (ERRNO)\");\n"
           "2 usage error; exec exits with the process's status.\n");
}

static void vcctl_cmd_help(FILE *f, const struct vcctl_cmd *c)
{
    fprintf(f, "usage: vcctl %s %s\n%s.\n%s", c->name, c->synopsis, c->summary, c->help);
    fprintf(f, "Global options: --config FILE, --root DIR, --json, -v (see vcctl --help).\n");
}

static const struct vcctl_cmd *vcctl_find(const char *name)
{
    for (size_t i = 0; i < VCCTL_N_CMDS; i++)
        if (strcmp(vcctl_cmds[i].name, name) == 0)
            return &vcctl_cmds[i];
    return NULL;
}

/* --- errors ----------------------------------------------------------------------------------- */

int vcctl_usage(struct vcctl *v, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "vcctl: %s%s", v->cmd ? v->cmd->name : "", v->cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (v->cmd)
        fprintf(stderr, "\nusage: vcctl %s %s\nTry 'vcctl %s --help' for more.\n", v->cmd->name,
                v->cmd->synopsis, v->cmd->name);
    else
        fprintf(stderr, "\nTry 'vcctl --help' for more.\n");
    return VCCTL_EXIT_USAGE;
}

int vcctl_fail(struct vcctl *v, const char *what, int r)
{
    const char *msg = v->ctx ? vc_ctx_errmsg(v->ctx) : "";

    if (r >= 0)
        r = -EIO;
    if (!msg[0] || (v->ctx && vc_ctx_errcode(v->ctx) != r))
        msg = strerror(-r);
    /* "store: ..." under "vcctl: store: " says it once. */
    if (strncmp(msg, what, strlen(what)) == 0 && strncmp(msg + strlen(what), ": ", 2) == 0)
        msg += strlen(what) + 2;
    fprintf(stderr, "vcctl: %s: %s (%s)\n", what, msg, vc_errno_name(r));
    if (v->json) {
        json_object *e = json_object_new_object(), *j = json_object_new_object();
        if (e && j) {
            (void) json_object_object_add(e, "what", json_object_new_string(what));
            (void) json_object_object_add(e, "message", json_object_new_string(msg));
            (void) json_object_object_add(e, "errno", json_object_new_string(vc_errno_name(r)));
            (void) json_object_object_add(j, "error", e);
            e = NULL;
            vcctl_print_json(j, false);
            j = NULL;
        }
        json_object_put(e);
        json_object_put(j);
    }
    return VCCTL_EXIT_FAIL;
}

void vcctl_json_tidy(char *s)
{
    char *w = s;

    /* A raw newline never occurs inside a JSON string, so "{\n  }" is always an empty object. */
    for (const char *r = s; *r; r++) {
        *w++ = *r;
        if (*r == '{' || *r == '[') {
            const char *p = r + 1;
            while (*p == '\n' || *p == ' ')
                p++;
            if (p > r + 1 && *p == (*r == '{' ? '}' : ']')) {
                *w++ = *p;
                r = p;
            }
        }
    }
    *w = '\0';
}

void vcctl_print_json(json_object *j, bool compact)
{
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE |
        (compact ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    const char *text;
    char *copy;

    if (!j)
        return;
    text = json_object_to_json_string_ext(j, flags);
    copy = text ? strdup(text) : NULL;
    if (copy)
        vcctl_json_tidy(copy);
    printf("%s\n", copy ? copy : text ? text : "null");
    free(copy);
    json_object_put(j);
}

/* --- the runtime ------------------------------------------------------------------------------ */

static void vcctl_log(void *data, enum vc_log_level level, const char *topic, uint64_t ts_ns,
                      const char *msg)
{
    fprintf(stderr, "vcctl: %s: %s: %s\n", vc_log_level_to_string(level), topic, msg);
}

static void vcctl_trace(void *data, uint64_t ts_ns, const char *category, const char *name,
                        const char *detail)
{
    fprintf(stderr, "vcctl: trace %" PRIu64 ".%06" PRIu64 " %s %s %s\n", ts_ns / 1000000000,
            ts_ns / 1000 % 1000000, category, name, detail ? detail : "");
}

int vcctl_ctx_new(const struct vcctl *v, const char *root, struct vc_ctx **ret)
{
    struct vc_ctx *ctx = NULL;
    int r = vc_ctx_new_real(root ? root : VCCTL_NO_STORE, &ctx);

    if (r < 0)
        return r;
    vc_ctx_set_log(ctx, vcctl_log, NULL, v->verbose ? VC_LOG_DEBUG : VC_LOG_WARN);
    if (v->verbose > 1)
        vc_ctx_set_trace(ctx, vcctl_trace, NULL);
    *ret = ctx;
    return 0;
}

int vcctl_open(struct vcctl *v)
{
    const char *root;
    int r;

    r = vcctl_config_load(v->ctx, v->config_path, &v->cfg);
    if (r < 0)
        return vcctl_fail(v, "config", r);
    root = v->root ? v->root : v->cfg.root;
    r = vc_store_fs_new(v->ctx, root, &v->store);
    if (r < 0)
        return vcctl_fail(v, "store", r);
    vc_ctx_set_store(v->ctx, v->store);
    return VCCTL_EXIT_OK;
}

/* --- parsing ---------------------------------------------------------------------------------- */

/* The command option a getopt code stands for, or -1 for a global one. */
static int vcctl_opt_of(int ch)
{
    switch (ch) {
    case 'e':
        return VCCTL_O_ENV;
    case 'w':
        return VCCTL_O_CWD;
    case 'u':
        return VCCTL_O_USER;
    case 't':
        return VCCTL_O_TTY;
    case 'i':
        return VCCTL_O_STDIN;
    case 's':
        return VCCTL_O_SIGNAL;
    case 'f':
        return VCCTL_O_FORCE;
    default:
        return ch >= OPT_FIRST && ch < OPT_FIRST + VCCTL_O_LAST ? ch - OPT_FIRST : -1;
    }
}

static int vcctl_user(const char *s, struct vcctl_args *a)
{
    char buf[32];
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t) (colon - s) : strlen(s);

    if (n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (vcctl_parse_u32(buf, &a->uid) < 0)
        return -EINVAL;
    a->gid = a->uid;
    if (colon && vcctl_parse_u32(colon + 1, &a->gid) < 0)
        return -EINVAL;
    a->user_set = true;
    return 0;
}

/* Stores one command option's value. 0, or -EINVAL for a bad value. */
static int vcctl_set(int o, const char *val, struct vcctl_args *a)
{
    switch (o) {
    case VCCTL_O_CONTAINER:
        a->container = val;
        return 0;
    case VCCTL_O_ROOTFS:
        a->rootfs = val;
        return 0;
    case VCCTL_O_FROM:
        a->from = val;
        return 0;
    case VCCTL_O_HOSTNAME:
        a->hostname = val;
        return 0;
    case VCCTL_O_HV:
        a->hv = val;
        return 0;
    case VCCTL_O_AGENT:
        a->agent = val;
        return 0;
    case VCCTL_O_AGENT_URL:
        a->agent_url = val;
        return 0;
    case VCCTL_O_CWD:
        a->cwd = val;
        return 0;
    case VCCTL_O_FORMAT:
        a->format = val;
        return strcmp(val, "table") == 0 || strcmp(val, "json") == 0 ? 0 : -EINVAL;
    case VCCTL_O_ENV:
        a->env[a->n_env++] = val;
        return strchr(val, '=') && val[0] != '=' ? 0 : -EINVAL;
    case VCCTL_O_VCPUS:
        return vcctl_parse_u32(val, &a->vcpus) < 0 || !a->vcpus ? -EINVAL : 0;
    case VCCTL_O_MEMORY_MB:
        return vcctl_parse_u32(val, &a->memory_mb) < 0 || !a->memory_mb ? -EINVAL : 0;
    case VCCTL_O_USER:
        return vcctl_user(val, a);
    case VCCTL_O_SIGNAL:
        return vcctl_parse_signal(val, &a->signal);
    case VCCTL_O_MEMORY_LIMIT:
        a->res_set |= VCCTL_RES_MEMORY;
        return vcctl_parse_size(val, &a->res.memory_limit);
    case VCCTL_O_CPU_QUOTA:
        a->res_set |= VCCTL_RES_QUOTA;
        return vcctl_parse_i64(val, &a->res.cpu_quota);
    case VCCTL_O_CPU_PERIOD:
        a->res_set |= VCCTL_RES_PERIOD;
        return vcctl_parse_u64(val, &a->res.cpu_period);
    case VCCTL_O_CPU_SHARES:
        a->res_set |= VCCTL_RES_SHARES;
        return vcctl_parse_u64(val, &a->res.cpu_shares);
    case VCCTL_O_TIMEOUT:
        return vcctl_parse_duration(val, &a->timeout_ns);
    case VCCTL_O_DIAL_TIMEOUT:
        return vcctl_parse_duration(val, &a->dial_timeout_ns);
    default:
        return 0;
    }
}

/* Flags (options without a value); false for options with one. */
static bool vcctl_flag(int o, struct vcctl_args *a)
{
    bool *flag = o == VCCTL_O_TTY        ? &a->tty
                 : o == VCCTL_O_STDIN    ? &a->interactive
                 : o == VCCTL_O_ALL      ? &a->all
                 : o == VCCTL_O_FORCE    ? &a->force
                 : o == VCCTL_O_COMPACT  ? &a->compact
                 : o == VCCTL_O_DEFAULTS ? &a->defaults
                 : o == VCCTL_O_LIST     ? &a->list
                 : o == VCCTL_O_DRY_RUN  ? &a->dry_run
                                         : NULL;

    if (flag)
        *flag = true;
    return flag != NULL;
}

/* An option's name for messages: "--name" for a getopt code, "-c" for an unknown short option,
 * else the word itself. */
static const char *vcctl_opt_word(int code, char **argv, char *buf, size_t size)
{
    for (const struct option *o = vcctl_longs; code && o->name; o++) {
        if (o->val == code) {
            snprintf(buf, size, "--%s", o->name);
            return buf;
        }
    }
    if (code > 0 && code < 0x100) {
        snprintf(buf, size, "-%c", code);
        return buf;
    }
    return argv[optind - 1];
}

/* A global option, or a help request (1). 0 if handled, -1 if ch is not global. */
static int vcctl_global(struct vcctl *v, int ch)
{
    switch (ch) {
    case OPT_CONFIG:
        v->config_path = optarg;
        return 0;
    case OPT_ROOT:
        v->root = optarg;
        return 0;
    case OPT_JSON:
        v->json = true;
        return 0;
    case 'v':
        v->verbose++;
        return 0;
    case 'h':
        return 1;
    default:
        return -1;
    }
}

/* Resets getopt's state (optind 0 makes glibc start over on its next call) and leaves optind
 * at 1, the first word after the command's name, so words can be looked at before getopt is. */
static void vcctl_getopt_reset(void)
{
    static const struct option none[] = {{NULL, 0, NULL, 0}};
    char prog[] = "vcctl";
    char *fake[] = {prog, NULL};

    optind = 0;
    opterr = 0;
    (void) getopt_long(1, fake, "+", none, NULL);
    optind = 1;
}

/* One option of a command. 0, 1 for --help, 2 for the start of the rest (--args), or an exit
 * status (a usage error, negated). */
static int vcctl_option(struct vcctl *v, int ch, char **argv, struct vcctl_args *a)
{
    char word[32];
    int o, r = vcctl_global(v, ch);

    if (r >= 0)
        return r;
    if (ch == '?')
        return -vcctl_usage(v, "unknown option '%s'",
                            vcctl_opt_word(optopt, argv, word, sizeof(word)));
    if (ch == ':')
        return -vcctl_usage(v, "option '%s' needs a value",
                            vcctl_opt_word(optopt, argv, word, sizeof(word)));
    o = vcctl_opt_of(ch);
    if (o < 0 || !(v->cmd->opts & VCCTL_BIT(o)))
        return -vcctl_usage(v, "option '%s' does not apply here",
                            vcctl_opt_word(ch, argv, word, sizeof(word)));
    if (o == VCCTL_O_ARGS)
        return 2;
    if (vcctl_flag(o, a))
        return 0;
    if (vcctl_set(o, optarg, a) < 0)
        return -vcctl_usage(v, "invalid value '%s' for %s", optarg,
                            vcctl_opt_word(ch, argv, word, sizeof(word)));
    return 0;
}

/* Parses a command's words (argv[0] is the command's name) into a, whose arrays the caller
 * allocated with argc slots. 0, 1 for --help, or -exit status. */
static int vcctl_parse(struct vcctl *v, int argc, char **argv, struct vcctl_args *a)
{
    const struct vcctl_cmd *c = v->cmd;
    int r;

    /* getopt_long is asked for one option at a time and never permutes ("+"): words are taken
     * here, so a command's own words (after "--", or its last positional one) stay untouched. */
    vcctl_getopt_reset();
    while (optind < argc) {
        const char *w = argv[optind];

        if (strcmp(w, "--") == 0) {
            optind++;
            if (c->rest)
                break;
            while (optind < argc)
                a->pos[a->n_pos++] = argv[optind++];
            break;
        }
        if (w[0] != '-' || w[1] == '\0') {
            if (c->rest && a->n_pos == c->max_pos)
                break;
            a->pos[a->n_pos++] = argv[optind++];
            continue;
        }
        r = vcctl_option(v, getopt_long(argc, argv, VCCTL_SHORTS, vcctl_longs, NULL), argv, a);
        if (r == 2)
            break;
        if (r != 0)
            return r;
    }
    if (optind < argc) {
        a->rest = argv + optind;
        a->n_rest = (size_t) (argc - optind);
    }
    if (a->n_pos < c->min_pos)
        return -vcctl_usage(v, "missing arguments");
    if (a->n_pos > c->max_pos)
        return -vcctl_usage(v, "unexpected argument '%s'", a->pos[c->max_pos]);
    return 0;
}

/* Global options before the command. Returns the index of the command word, argc if none, or
 * -exit status; *help is set for --help. */
static int vcctl_parse_globals(struct vcctl *v, int argc, char **argv, bool *help)
{
    char word[32];

    vcctl_getopt_reset();
    while (optind < argc && argv[optind][0] == '-' && argv[optind][1] != '\0' &&
           strcmp(argv[optind], "--") != 0) {
        int ch = getopt_long(argc, argv, VCCTL_SHORTS, vcctl_longs, NULL);
        int r = vcctl_global(v, ch);

        if (r == 1)
            *help = true;
        else if (r < 0 && ch == ':')
            return -vcctl_usage(v, "option '%s' needs a value",
                                vcctl_opt_word(optopt, argv, word, sizeof(word)));
        else if (r < 0 && ch == '?')
            return -vcctl_usage(v, "unknown option '%s'",
                                vcctl_opt_word(optopt, argv, word, sizeof(word)));
        else if (r < 0)
            return -vcctl_usage(v, "option '%s' must follow the command",
                                vcctl_opt_word(ch, argv, word, sizeof(word)));
    }
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    return optind;
}

/* --- main ------------------------------------------------------------------------------------- */

static int vcctl_help_cmd(struct vcctl *v, int argc, char **argv)
{
    const struct vcctl_cmd *c;

    if (argc < 2) {
        vcctl_help(stdout);
        return VCCTL_EXIT_OK;
    }
    c = vcctl_find(argv[1]);
    if (!c || argc > 2)
        return vcctl_usage(v, c ? "help takes one command" : "unknown command '%s'", argv[1]);
    vcctl_cmd_help(stdout, c);
    return VCCTL_EXIT_OK;
}

static int vcctl_dispatch(struct vcctl *v, int argc, char **argv)
{
    struct vcctl_args a = {0};
    int r;

    v->cmd = vcctl_find(argv[0]);
    if (!v->cmd) {
        if (strcmp(argv[0], "help") == 0)
            return vcctl_help_cmd(v, argc, argv);
        return vcctl_usage(v, "unknown command '%s'", argv[0]);
    }
    a.pos = calloc((size_t) argc, sizeof(*a.pos));
    a.env = calloc((size_t) argc, sizeof(*a.env));
    if (!a.pos || !a.env) {
        r = vcctl_fail(v, "vcctl", -ENOMEM);
        goto out;
    }
    r = vcctl_parse(v, argc, argv, &a);
    if (r == 1) {
        vcctl_cmd_help(stdout, v->cmd);
        r = VCCTL_EXIT_OK;
    } else if (r < 0) {
        r = -r;
    } else {
        r = vcctl_ctx_new(v, NULL, &v->ctx);
        r = r < 0 ? vcctl_fail(v, "cannot make a runtime context", r) : v->cmd->run(v, &a);
    }
out:
    free(a.pos);
    free(a.env);
    return r;
}

int main(int argc, char **argv)
{
    struct vcctl v = {0};
    bool help = false;
    int i, r;

    /* Output may go to a pipe that closes early: a write error then, not a signal. */
    (void) signal(SIGPIPE, SIG_IGN);
    i = vcctl_parse_globals(&v, argc, argv, &help);
    if (i < 0)
        return -i;
    if (i >= argc) {
        vcctl_help(help ? stdout : stderr);
        return help ? VCCTL_EXIT_OK : VCCTL_EXIT_USAGE;
    }
    if (help) {
        const struct vcctl_cmd *c = vcctl_find(argv[i]);
        if (!c)
            return vcctl_usage(&v, "unknown command '%s'", argv[i]);
        vcctl_cmd_help(stdout, c);
        return VCCTL_EXIT_OK;
    }
    r = vcctl_dispatch(&v, argc - i, argv + i);
    vcctl_config_clear(v.ctx, &v.cfg);
    vc_store_free(v.store);
    vc_ctx_free(v.ctx);
    (void) fflush(stdout);
    return r;
}
