/* SPDX-License-Identifier: Apache-2.0 */
/* How the mock agent answers: per-RPC rules (libvirt's scripted monitor, made declarative),
 * programs (what a command line prints, how long it runs, how it exits and takes signals) and the
 * facts the guest reports. A scenario's "guest" section becomes one of these. Rules are tried in
 * order; the first whose RPC, request fields and call count match decides the reply. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum magent_reply {
    MAGENT_REPLY_OK,    /* answer normally (a rule that only counts, or an expectation) */
    MAGENT_REPLY_ERROR, /* answer with status and message, doing nothing */
    MAGENT_REPLY_DELAY, /* answer normally after delay_ns of virtual time */
    MAGENT_REPLY_HANG,  /* never answer: the caller waits until its deadline */
    MAGENT_REPLY_LAST
};

/* A request field and the value it must have. Fields are named as in the protocol's messages
 * (container_id, exec_id, signal, ...); the value is matched as text, '*' matching any run. */
struct magent_match {
    char *field; /* request field */
    char *value; /* glob */
};

struct magent_rule {
    char *rpc;                  /* RPC name on the wire ("CreateContainer", "Check"); glob */
    struct magent_match *match; /* all must hold */
    size_t n_match;             /* number of match */
    uint64_t nth;               /* first matching call the rule applies to (1-based; 0 = 1) */
    uint64_t limit;             /* calls it applies to from there (0 = every later call) */
    int32_t reply;              /* enum magent_reply */
    int32_t status;             /* ERROR: status code (enum vc_status) */
    char *message;              /* ERROR: status message (NULL: a generic one) */
    uint64_t delay_ns;          /* DELAY: virtual time before the answer */
    bool expected;              /* the run fails if the rule never applied */
    uint64_t used;              /* out: calls it applied to */
};

/* What a process does when it gets a signal other than SIGKILL. */
struct magent_signal_rule {
    int32_t signal;    /* signal number */
    bool ignore;       /* the process ignores it */
    int32_t exit_code; /* otherwise it exits with this status (default 128 + signal) */
};

/* A program: what a process whose argv matches does. An empty argv matches every command. */
struct magent_program {
    char **argv;                        /* globs, one per argument; a last "**" matches the rest */
    size_t n_argv;                      /* number of argv */
    char *out;                          /* stdout text (NULL: none) */
    char *err;                          /* stderr text (NULL: none) */
    int32_t exit_code;                  /* exit status when it ends by itself */
    uint64_t runtime_ns;                /* how long it runs; UINT64_MAX: until killed */
    bool echo_stdin;                    /* copies stdin to stdout, ends at stdin's end (cat) */
    uint64_t oom_after_ns;              /* 0, or: is OOM-killed this long after start (exit 137,
                                         * an OOM event for its container) */
    struct magent_signal_rule *signals; /* signals it handles (SIGKILL always ends it: 137) */
    size_t n_signals;                   /* number of signals */
};

/* Facts the guest reports (GetGuestDetails, metrics, volumes). Zero fields take the defaults. */
struct magent_facts {
    uint64_t mem_block_bytes; /* memory block size (128 MiB) */
    bool mem_hotplug_probe;   /* wants MemHotplugByProbe */
    char *agent_version;      /* ("3.2.0-vcsim") */
    char *metrics;            /* GetMetrics text (a small Prometheus text by default) */
    uint64_t volume_bytes;    /* size of every volume stats are asked for (1 GiB) */
    uint64_t rpc_ns;          /* virtual cost of one RPC round trip (200 us), as simhv's
                               * agent_rpc_ns; the in-process front end sleeps this long */
};

struct magent_script {
    struct magent_rule *rules;       /* in order */
    size_t n_rules;                  /* number of rules */
    struct magent_program *programs; /* in order; the first that matches a command wins */
    size_t n_programs;               /* number of programs; with none matching a process runs
                                      * until killed and prints nothing */
    struct magent_facts facts;       /* guest facts */
};

const char *magent_reply_to_string(enum magent_reply r);
int magent_reply_from_string(const char *name); /* -1 if unknown */
