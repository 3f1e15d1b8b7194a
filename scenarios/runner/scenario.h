/* SPDX-License-Identifier: Apache-2.0 */
/* The scenario model (scenarios/FORMAT.md) as C structs: the world's options, the guest script,
 * the fault plan, and the steps with their arguments and expectations. Parsing validates
 * everything up front, so a run never meets a malformed step. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <mockagent/script.h>
#include <simhv/fault.h>
#include <simhv/world.h>
#include <vc/vc.h>

#include "schema.h"
#include "yamltree.h"

struct vcsim_run;
struct vcsim_step;
struct vcsim_outcome;

#define VCSIM_RC_ANY_ERROR INT32_MIN       /* expect.rc: error (any failure) */
#define VCSIM_RC_ANY       (INT32_MIN + 1) /* expect.rc: any (success or failure) */
#define VCSIM_STATE_ABSENT (-2)            /* expect.state: absent (not stored) */

/* Which object a step is about (for expect.state, invariants and the trace). */
enum vcsim_target {
    VCSIM_TGT_NONE,          /* nothing */
    VCSIM_TGT_SANDBOX,       /* args.id is the sandbox */
    VCSIM_TGT_SANDBOX_CFG,   /* the sandbox config's id */
    VCSIM_TGT_SANDBOX_ARG,   /* args.sandbox (guest services, devices, network) */
    VCSIM_TGT_CONTAINER,     /* args.sandbox and args.id */
    VCSIM_TGT_CONTAINER_CFG, /* args.sandbox and the container config's id */
    VCSIM_TGT_PROCESS,       /* args.sandbox, args.container and args.exec_id */
};

/* What a step gives besides its return code. */
enum {
    VCSIM_OUT_OUTPUT = 1u << 0, /* text (expect.output, expect.contains) */
    VCSIM_OUT_COUNT = 1u << 1,  /* number of results (expect.count) */
    VCSIM_OUT_RESULT = 1u << 2, /* a JSON result (expect.result) */
    VCSIM_OUT_STATUS = 1u << 3, /* an exit status (expect.status) */
    VCSIM_OUT_WORLD = 1u << 4,  /* a world step (not an API call) */
    VCSIM_OUT_CREATE = 1u << 5, /* creates a sandbox (failed_create_leaves_nothing) */
    VCSIM_OUT_DELETE = 1u << 6, /* deletes a sandbox (delete_leaves_nothing) */
};

/* One kind of step: the table-driven dispatch (steps.c). */
struct vcsim_step_desc {
    const char *name;               /* step name in YAML */
    const char *main_key;           /* key a scalar argument sets, or NULL */
    const char *keys;               /* argument keys allowed, space separated */
    const char *required;           /* argument keys required, space separated */
    const struct vc_schema *schema; /* the other keys form this struct (or NULL) */
    enum vcsim_target target;       /* what the step is about */
    unsigned out;                   /* VCSIM_OUT_* */
    /* Runs the step; returns its rc (0 or -errno) and fills out. */
    int (*exec)(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out);
};

/* A name with a value: container states, store listings, fault counters. */
struct vcsim_kv {
    char *key;     /* id or name */
    char *value;   /* text value (or NULL) */
    char **list;   /* list value */
    size_t n_list; /* number of list */
    uint64_t num;  /* numeric value */
    unsigned line; /* source line, for messages */
};

/* The arguments of one step; which ones are set depends on the step (given bits). */
struct vcsim_args {
    uint64_t given;                     /* bit i: argument key i of the key table was given */
    char *id;                           /* main id: sandbox (sandbox steps) or container */
    char *sandbox;                      /* sandbox id */
    char *container;                    /* container id */
    char *exec_id;                      /* exec id */
    char *name;                         /* interface name */
    char *path;                         /* volume path */
    char *log_type;                     /* diagnostic log type */
    char *policy;                       /* policy text */
    char *data;                         /* data bytes (stdin, iptables) */
    size_t data_len;                    /* bytes in data */
    char *console;                      /* expect_vm: console text it contains */
    bool force;                         /* force */
    bool all;                           /* all processes */
    bool ipv6;                          /* iptables family */
    bool exists;                        /* expect_vm: exists */
    bool up;                            /* expect_guest: sandbox up */
    int32_t signal;                     /* signal number */
    int32_t vm_state;                   /* expect_vm: enum vc_vm_state */
    uint32_t rows;                      /* tty rows */
    uint32_t columns;                   /* tty columns */
    uint64_t max;                       /* read limit in bytes */
    uint64_t size;                      /* volume size */
    uint64_t duration;                  /* advance */
    uint64_t vcpus;                     /* expect_vm */
    uint64_t memory_mb;                 /* expect_vm */
    uint64_t devices;                   /* expect_vm */
    uint64_t online_vcpus;              /* expect_guest */
    uint64_t online_memory_mb;          /* expect_guest */
    uint64_t pending_oom;               /* expect_guest */
    uint32_t *pci_path;                 /* add_swap */
    size_t n_pci_path;                  /* number of pci_path */
    char **sandboxes;                   /* expect_store: sandbox ids */
    size_t n_sandboxes;                 /* number of sandboxes */
    struct vcsim_kv *kvs;               /* expect_guest containers, expect_store containers,
                                         * expect_faults counters */
    size_t n_kvs;                       /* number of kvs */
    const struct vc_schema *schema;     /* schema of obj (the step's struct), or NULL */
    void *obj;                          /* the step's struct (config, device, ...), owned */
    const struct vc_schema *vec_schema; /* schema of the elements of vec, or NULL */
    void *vec;                          /* resources, routes or mounts, owned */
    size_t n_vec;                       /* elements in vec (1 for a single struct) */
};

/* Expectation keys given. */
enum {
    VCSIM_EXP_RC = 1u << 0,       /* rc */
    VCSIM_EXP_ERROR = 1u << 1,    /* error */
    VCSIM_EXP_STATE = 1u << 2,    /* state */
    VCSIM_EXP_STATUS = 1u << 3,   /* status */
    VCSIM_EXP_OUTPUT = 1u << 4,   /* output */
    VCSIM_EXP_CONTAINS = 1u << 5, /* contains */
    VCSIM_EXP_COUNT = 1u << 6,    /* count */
    VCSIM_EXP_RESULT = 1u << 7,   /* result */
    VCSIM_EXP_CRASH = 1u << 8,    /* crash */
    VCSIM_EXP_VTIME = 1u << 9,    /* virtual_time */
};

struct vcsim_expect {
    unsigned given;      /* VCSIM_EXP_* */
    int rc;              /* 0, a negative errno, or VCSIM_RC_ANY_ERROR */
    char *error;         /* text the error message contains */
    int32_t state;       /* enum vc_state or VCSIM_STATE_ABSENT */
    int32_t status;      /* exit status */
    char *output;        /* exact output */
    size_t output_len;   /* bytes in output */
    char *contains;      /* text the output contains */
    uint64_t count;      /* number of results */
    json_object *result; /* subset of the result */
    bool crash;          /* the step crashed the runtime */
    uint64_t vt_min;     /* virtual time at least */
    uint64_t vt_max;     /* virtual time at most */
};

struct vcsim_step {
    const struct vcsim_step_desc *desc; /* kind */
    unsigned index;                     /* position (0-based) */
    unsigned line;                      /* source line */
    unsigned col;                       /* source column */
    struct vcsim_args args;             /* arguments */
    struct vcsim_expect expect;         /* expectations */
};

/* Invariants by bit. */
enum vcsim_invariant {
    VCSIM_INV_STORE_MATCHES_VM,
    VCSIM_INV_NO_ORPHAN_VM,
    VCSIM_INV_NO_LOST_VM,
    VCSIM_INV_GUEST_MATCHES_STORE,
    VCSIM_INV_RESOURCES_ADD_UP,
    VCSIM_INV_FAILED_CREATE,
    VCSIM_INV_DELETE,
    VCSIM_INV_NO_LEAKS,
    VCSIM_INV_EXPECTATIONS_USED,
    VCSIM_INV_LAST
};

struct vcsim_scenario {
    char *path;                      /* file it came from */
    char *name;                      /* name (file name without .yaml by default) */
    char *description;               /* one line, or NULL */
    char **tags;                     /* tags */
    size_t n_tags;                   /* number of tags */
    uint64_t seed;                   /* default seed */
    struct simhv_options world;      /* world options (seed set per run) */
    bool wire;                       /* world.agent: wire (the kata backend over ttrpc) */
    bool agent_given;                /* world.agent was written (--agent does not override it) */
    struct magent_script script;     /* guest script */
    struct simhv_fault_rule *faults; /* fault plan */
    char **fault_names;              /* name of each rule, or NULL */
    size_t n_faults;                 /* number of faults */
    struct vcsim_step *steps;        /* steps */
    size_t n_steps;                  /* number of steps */
    unsigned skip;                   /* invariants turned off, bit per enum vcsim_invariant */
    bool no_monitor;                 /* invariants.monitor: false (no monitor pass) */
    bool invariants_only;            /* invariants.only: true (expectations not checked) */
    json_object *sandbox_defaults;   /* merged under create/run configs */
    struct vc_ctx *mem;              /* plain context owning the model structs */
    struct vc_clock mem_clock;       /* its (unused) clock */
    struct vc_rng mem_rng;           /* its (unused) generator */
};

/* Parses a scenario from text; path names it in messages. 0 and *ret, or -EINVAL with d->msg
 * ("FILE:LINE:COL: message"), -ENOMEM. */
int vcsim_scenario_parse(const char *path, const char *text, size_t len, struct vcsim_diag *d,
                         struct vcsim_scenario **ret);
/* Reads and parses a scenario file. */
int vcsim_scenario_load(const char *path, struct vcsim_diag *d, struct vcsim_scenario **ret);
void vcsim_scenario_free(struct vcsim_scenario *s); /* NULL-safe */
/* Whether the scenario carries tag. */
bool vcsim_scenario_has_tag(const struct vcsim_scenario *s, const char *tag);

/* --- internal to the runner ---------------------------------------------------------------- */

/* The step descriptor named name, or NULL. */
const struct vcsim_step_desc *vcsim_step_desc_find(const char *name);
/* Parses one step's arguments (the value of its one key) into st->args. */
int vcsim_step_parse_args(struct vcsim_scenario *s, struct vcsim_diag *d, struct vcsim_step *st,
                          const struct vcsim_node *val);
void vcsim_step_args_clear(struct vcsim_scenario *s, struct vcsim_step *st);
/* Whether the step was given argument key. */
bool vcsim_step_given(const struct vcsim_step *st, const char *key);
/* Builds a sandbox config struct from JSON after merging defaults (scenario.c). */
int vcsim_scenario_sandbox_json(struct vcsim_scenario *s, struct vcsim_diag *d,
                                const struct vcsim_node *map, json_object **ret);
/* A container config as JSON with the args shorthand and defaults applied. */
int vcsim_container_json(struct vcsim_diag *d, const struct vcsim_node *map, const char *skip,
                         json_object **ret);
/* Fills obj (zeroed, of schema sc) from j with the scenario's context; positioned error. */
int vcsim_obj_from_json(struct vcsim_scenario *s, struct vcsim_diag *d, const struct vcsim_node *at,
                        const struct vc_schema *sc, json_object *j, void *obj);
/* Checks map's keys against a space separated list; the first unknown is an error naming
 * what. */
int vcsim_check_keys(struct vcsim_diag *d, const struct vcsim_node *map, const char *what,
                     const char *keys);
/* A fault rule from its map (FORMAT.md, "faults"); *name gets its name or stays NULL. The
 * rule's strings are owned (vcsim_fault_clear). 0, -EINVAL with d filled, -ENOMEM. */
int vcsim_fault_parse(struct vcsim_diag *d, const struct vcsim_node *map,
                      struct simhv_fault_rule *f, char **name);
void vcsim_fault_clear(struct simhv_fault_rule *f);
/* A rule written as "key=value,key=value" with the keys of the YAML form ("point=agent.Exec,
 * nth=2,errno=EIO"): parsed into *f (vcsim_fault_clear), or written from f into buf. */
int vcsim_fault_spec_parse(const char *spec, struct vcsim_diag *d, struct simhv_fault_rule *f);
void vcsim_fault_spec(const struct simhv_fault_rule *f, char *buf, size_t len);
/* A rule as the map a scenario file holds, or NULL on ENOMEM. */
struct vcsim_node *vcsim_fault_node(const struct simhv_fault_rule *f);
/* The invariant named name, or VCSIM_INV_LAST. */
enum vcsim_invariant vcsim_invariant_from_name(const char *name);
/* Invariant names. */
const char *vcsim_invariant_name(enum vcsim_invariant inv);
