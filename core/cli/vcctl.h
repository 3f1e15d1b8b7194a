/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl's shared declarations: the parsed command line, the loaded configuration, the command
 * table and the helpers every command uses to open the runtime, print results and report
 * errors. Real-world only: the command line reads files, environment and the terminal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include <vc/vc.h>

#define VCCTL_EXIT_OK    0 /* success */
#define VCCTL_EXIT_FAIL  1 /* the operation failed */
#define VCCTL_EXIT_USAGE 2 /* the command line was wrong */

#define VCCTL_DOC_MAX  (1u << 20) /* largest config or --from file */
#define VCCTL_DEPTH    64u        /* deepest nesting of a config or --from document */
#define VCCTL_NODE_MAX 100000u    /* most values in one YAML document */

/* Options a command may accept, one bit each (the global ones are always accepted). */
enum vcctl_opt {
    VCCTL_O_CONTAINER,    /* --container CID */
    VCCTL_O_ROOTFS,       /* --rootfs PATH */
    VCCTL_O_FROM,         /* --from FILE */
    VCCTL_O_HOSTNAME,     /* --hostname NAME */
    VCCTL_O_HV,           /* --hypervisor KIND */
    VCCTL_O_AGENT,        /* --agent KIND */
    VCCTL_O_AGENT_URL,    /* --agent-url URL */
    VCCTL_O_VCPUS,        /* --vcpus N */
    VCCTL_O_MEMORY_MB,    /* --memory-mb N */
    VCCTL_O_ENV,          /* -e, --env NAME=VALUE */
    VCCTL_O_CWD,          /* -w, --cwd DIR */
    VCCTL_O_USER,         /* -u, --user UID[:GID] */
    VCCTL_O_TTY,          /* -t, --tty */
    VCCTL_O_STDIN,        /* -i, --interactive */
    VCCTL_O_ARGS,         /* --args ARG... */
    VCCTL_O_SIGNAL,       /* -s, --signal N|NAME */
    VCCTL_O_ALL,          /* --all */
    VCCTL_O_FORCE,        /* -f, --force */
    VCCTL_O_MEMORY_LIMIT, /* --memory-limit BYTES */
    VCCTL_O_CPU_QUOTA,    /* --cpu-quota US */
    VCCTL_O_CPU_PERIOD,   /* --cpu-period US */
    VCCTL_O_CPU_SHARES,   /* --cpu-shares N */
    VCCTL_O_FORMAT,       /* --format table|json */
    VCCTL_O_TIMEOUT,      /* --timeout DURATION */
    VCCTL_O_DIAL_TIMEOUT, /* --dial-timeout DURATION */
    VCCTL_O_COMPACT,      /* --compact */
    VCCTL_O_DEFAULTS,     /* --defaults */
    VCCTL_O_LIST,         /* --list */
    VCCTL_O_DRY_RUN,      /* --dry-run */
    VCCTL_O_LAST
};

#define VCCTL_BIT(o) (1u << (o))

/* Which resource limits were given on the command line. */
enum {
    VCCTL_RES_MEMORY = 1u << 0, /* --memory-limit */
    VCCTL_RES_QUOTA = 1u << 1,  /* --cpu-quota */
    VCCTL_RES_PERIOD = 1u << 2, /* --cpu-period */
    VCCTL_RES_SHARES = 1u << 3, /* --cpu-shares */
};

/* One command's words and options. Strings point into argv. */
struct vcctl_args {
    char **pos;               /* positional words */
    size_t n_pos;             /* number of pos */
    char **rest;              /* words after "--" or --args (a command to run), or NULL */
    size_t n_rest;            /* number of rest */
    const char *container;    /* --container */
    const char *rootfs;       /* --rootfs */
    const char *from;         /* --from */
    const char *hostname;     /* --hostname */
    const char *hv;           /* --hypervisor */
    const char *agent;        /* --agent */
    const char *agent_url;    /* --agent-url */
    const char *cwd;          /* --cwd */
    const char *format;       /* --format */
    const char **env;         /* --env values */
    size_t n_env;             /* number of env */
    uint32_t vcpus;           /* --vcpus (0: not given) */
    uint32_t memory_mb;       /* --memory-mb (0: not given) */
    bool user_set;            /* --user given */
    uint32_t uid;             /* --user's uid */
    uint32_t gid;             /* --user's gid */
    bool tty;                 /* --tty */
    bool interactive;         /* --interactive */
    int signal;               /* --signal (0: not given) */
    bool all;                 /* --all */
    bool force;               /* --force */
    struct vc_resources res;  /* resource limits given */
    unsigned res_set;         /* VCCTL_RES_* of the limits given */
    uint64_t timeout_ns;      /* --timeout (0: not given) */
    uint64_t dial_timeout_ns; /* --dial-timeout (0: not given) */
    bool compact;             /* --compact */
    bool defaults;            /* --defaults */
    bool list;                /* --list */
    bool dry_run;             /* --dry-run */
};

/* The configuration file's contents, with defaults filled in. */
struct vcctl_config {
    char *path;                   /* the file read, or NULL for the built-in defaults */
    char *root;                   /* store root, or NULL for the runtime's default */
    struct vc_hv_config hv;       /* "hypervisor" */
    struct vc_agent_config agent; /* "agent" */
};

struct vcctl;
struct vc_schema;

/* A command: its words, what it accepts and what runs it. */
struct vcctl_cmd {
    const char *name;     /* "create" */
    const char *synopsis; /* words and options after the name */
    const char *summary;  /* one line for the command list */
    const char *help;     /* the rest of its --help text (options, notes) */
    unsigned opts;        /* VCCTL_BIT()s of the options it accepts */
    size_t min_pos;       /* fewest positional words */
    size_t max_pos;       /* most positional words (SIZE_MAX: any) */
    bool rest;            /* takes a command after "--" (or after its last positional word) */
    int (*run)(struct vcctl *v, const struct vcctl_args *a); /* exit status */
};

/* One invocation. */
struct vcctl {
    const struct vcctl_cmd *cmd; /* the command running */
    const char *config_path;     /* --config, or NULL */
    const char *root;            /* --root, or NULL */
    bool json;                   /* --json */
    int verbose;                 /* -v count */
    struct vcctl_config cfg;     /* loaded by vcctl_open */
    struct vc_ctx *ctx;          /* the real context */
    struct vc_store *store;      /* the store it uses, made by vcctl_open (owned) */
};

/* --- main.c --------------------------------------------------------------------------------- */

/* Loads the configuration and makes the real context (store rooted at --root, the config's
 * root, or the runtime's default). VCCTL_EXIT_OK, or an exit status after printing why. */
int vcctl_open(struct vcctl *v);
/* A fresh context on the same store, for a child process (see exec). 0 or -errno. */
int vcctl_ctx_new(const struct vcctl *v, const char *root, struct vc_ctx **ret);
/* Reports a failed operation: "vcctl: <what>: <message> (<ERRNO>)" on stderr (the message
 * recorded on the context, else strerror), and with --json an error object on stdout. Returns
 * VCCTL_EXIT_FAIL. */
int vcctl_fail(struct vcctl *v, const char *what, int r);
/* Reports a usage error of the running command and returns VCCTL_EXIT_USAGE. */
int vcctl_usage(struct vcctl *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Collapses pretty-printed empty objects and arrays ("{\n}") to "{}" and "[]", in place. */
void vcctl_json_tidy(char *s);
/* Prints j (consumed) to stdout: pretty unless compact. */
void vcctl_print_json(json_object *j, bool compact);

/* --- parse.c -------------------------------------------------------------------------------- */

/* Strict number parsers: 0 or -EINVAL / -ERANGE. */
int vcctl_parse_u32(const char *s, uint32_t *ret);
int vcctl_parse_u64(const char *s, uint64_t *ret);
int vcctl_parse_i64(const char *s, int64_t *ret);
/* "1073741824", "512M", "1GiB", "64k": bytes (binary multiples). */
int vcctl_parse_size(const char *s, int64_t *ret);
/* "60" (seconds), "1.5s", "500ms", "2m": nanoseconds, more than 0. */
int vcctl_parse_duration(const char *s, uint64_t *ret_ns);
/* "9", "KILL", "SIGKILL", "kill": the signal number; -EINVAL for an unknown one. */
int vcctl_parse_signal(const char *s, int *ret);

/* --- config.c ------------------------------------------------------------------------------- */

/* Reads a JSON or YAML document (YAML when the name ends in .yaml/.yml or the text does not
 * start with '{') of at most VCCTL_DOC_MAX bytes. 0 and *ret; -errno with the reason recorded
 * on ctx ("FILE:LINE:COL: ..." for YAML). */
int vcctl_doc_load(struct vc_ctx *ctx, const char *path, json_object **ret);
/* Parses YAML text into a json-c tree (yaml.c): plain scalars that read as null, booleans or
 * integers get those types, everything else is a string; anchors and aliases are refused. */
int vcctl_yaml_parse(struct vc_ctx *ctx, const char *path, const char *buf, size_t len,
                     json_object **ret);
/* Fails (-EINVAL, recorded, naming the path) for a key s does not have, anywhere in j. */
int vcctl_schema_check(struct vc_ctx *ctx, const char *what, const struct vc_schema *s,
                       json_object *j);
/* Loads the configuration: --config, $VC_CONFIG, /etc/vc/config.json, then
 * $XDG_CONFIG_HOME/vc/config.json (or ~/.config/vc/config.json); the first that exists wins
 * (an explicit one must exist). No file gives the built-in defaults. 0 or -errno (recorded). */
int vcctl_config_load(struct vc_ctx *ctx, const char *explicit_path, struct vcctl_config *ret);
void vcctl_config_clear(struct vc_ctx *ctx, struct vcctl_config *cfg);
/* The configuration as JSON (hypervisor, agent, root, file). */
int vcctl_config_to_json(struct vc_ctx *ctx, const struct vcctl_config *cfg, json_object **ret);
/* A new object: base with over merged on top, objects key by key. NULL on allocation failure. */
json_object *vcctl_json_merge(json_object *base, json_object *over);

/* --- output.c ------------------------------------------------------------------------------- */

int vcctl_print_sandbox(struct vcctl *v, const struct vc_sandbox_status *st);
int vcctl_print_container(struct vcctl *v, const struct vc_container_status *st);
int vcctl_print_list(struct vcctl *v, const struct vc_sandbox_status *v_st, size_t n);
int vcctl_print_stats(struct vcctl *v, const struct vc_container_stats *st);
/* Prints the sandbox's state after a change (--json only; nothing otherwise). */
int vcctl_print_after(struct vcctl *v, const char *what, const char *sandbox_id);

/* --- commands ------------------------------------------------------------------------------- */

/* A process from the command line's --env, --cwd, --user and --tty and argv (borrowed: the
 * result points into a and args, env into storage of n_env + 1 slots). Without --env, PATH gets
 * the usual default. */
void vcctl_process_config(const struct vcctl_args *a, char **args, size_t n_args,
                          const char **env_storage, struct vc_process_config *ret);

int vcctl_cmd_create(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_run(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_start(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_stop(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_delete(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_pause(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_sync_time(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_resume(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_state(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_list(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_check(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_config(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_exec(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_ps(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_kill(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_update(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_stats(struct vcctl *v, const struct vcctl_args *a);
int vcctl_cmd_agent(struct vcctl *v, const struct vcctl_args *a);
