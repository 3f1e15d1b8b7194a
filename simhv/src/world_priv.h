/* SPDX-License-Identifier: Apache-2.0 */
/* The layout of the world, shared by the files of simhv (world, contexts, faults, hypervisor,
 * disk). Nothing outside simhv sees it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/ctx.h>

#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/hv.h>
#include <simhv/world.h>

#define SIMHV_STOP_MSG_MAX 256
#define SIMHV_POINT_CACHE  64 /* slots of the cache of point strings (a power of two) */
#define SIMHV_POINT_RULES  64 /* rules a point's mask of matching rules can name */

/* A pending event; the heap orders by (at, id), ids grow in scheduling order. */
struct simhv_event {
    uint64_t at;        /* virtual time it runs at */
    uint64_t id;        /* scheduling sequence number, also its cancel id */
    simhv_event_fn *fn; /* what runs */
    void *data;         /* passed to fn */
    const void *owner;  /* the context whose timer it is (cancelled when it goes), or NULL */
};

/* A virtual fd slot. */
struct simhv_vfd {
    bool open;         /* the slot is in use */
    unsigned ready;    /* readiness reported and not yet delivered (VC_IO_*) */
    unsigned events;   /* what the watcher asks for; 0 = no watcher */
    vc_io_fn *fn;      /* the watcher */
    void *fn_data;     /* passed to fn */
    const void *owner; /* the context that registered the watcher */
};

/* A distinct fault point seen. */
struct simhv_point {
    char *name;          /* point name (owned) */
    uint64_t hash;       /* FNV-1a of name */
    uint64_t hits;       /* times it was asked */
    uint64_t rules;      /* bit i: the pattern of rule i matches name (rules are only appended) */
    size_t n_rules_seen; /* rules the mask covers so far */
};

/* A point string asked before, by address: most points are literals asked again and again. */
struct simhv_point_ref {
    const char *str; /* the string's address (its content is checked on a hit), or NULL */
    size_t idx;      /* the point it named */
};

/* Point strings by address, direct-mapped. */
struct simhv_point_cache {
    struct simhv_point_ref slot[SIMHV_POINT_CACHE]; /* indexed by a hash of the address */
};

/* A VM and what only simhv needs of it. */
struct simhv_vm_priv {
    struct simhv_vm vm;    /* the public view; first member */
    struct simhv_world *w; /* the world it lives in */
    uint64_t boot_event;   /* pending boot-complete event id, 0 if none */
    uint64_t boot_ns;      /* boot latency drawn at start */
    uint64_t start_ns;     /* virtual time of start: the console's time 0 */
    int boot_err;          /* the guest provider's refusal of the boot, 0 if none */
    bool guest_up;         /* the guest provider was told of a boot and not yet of a halt */
    size_t console_cap;    /* bytes allocated for vm.console */
};

/* One path of the disk: a directory or a file, with its current and durable state. */
struct simhv_disk_entry {
    char *path;      /* "sbs/sb1/persist.json" (owned) */
    bool dir;        /* a directory (no data) */
    bool cur;        /* exists now */
    char *data;      /* current content (owned, NULL when empty) */
    size_t len;      /* bytes in data */
    bool dur;        /* exists after a crash */
    char *dur_data;  /* durable content (owned) */
    size_t dur_len;  /* bytes in dur_data */
    bool pend;       /* a rename onto this path waits for a directory fsync */
    char *pend_data; /* content that rename brings once durable (owned) */
    size_t pend_len; /* bytes in pend_data */
};

/* A lock token (allocated through its context's allocator). */
struct simhv_disk_lock {
    const struct simhv_ctx *owner; /* the context holding it */
    bool exclusive;                /* exclusive or shared */
    char sandbox_id[];             /* the sandbox locked */
};

struct simhv_disk {
    struct simhv_disk_entry *entries; /* sorted by path */
    size_t n_entries;                 /* number of entries */
    size_t cap_entries;               /* allocated entries */
    uint64_t used;                    /* bytes of current file content */
    uint64_t capacity;                /* bytes before ENOSPC */
    uint64_t tmp_seq;                 /* suffix of the next temporary file */
    struct simhv_disk_lock **locks;   /* locks held */
    size_t n_locks;                   /* number of locks */
    size_t cap_locks;                 /* allocated locks */
};

struct simhv_world {
    struct simhv_options opts;           /* options in force */
    uint64_t now;                        /* virtual time */
    struct vc_xoshiro rng;               /* the generator */
    struct simhv_event *heap;            /* pending events, a binary min-heap */
    size_t n_heap;                       /* number of pending events */
    size_t cap_heap;                     /* allocated heap slots */
    uint64_t next_id;                    /* id of the next event */
    uint64_t n_events;                   /* events run */
    bool stopped;                        /* a budget was spent: the run is over */
    char stop_msg[SIMHV_STOP_MSG_MAX];   /* why */
    struct simhv_vfd *vfds;              /* virtual fds by fd - SIMHV_VFD_BASE */
    size_t n_vfd_slots;                  /* slots allocated in vfds */
    size_t n_vfds;                       /* vfds open */
    size_t n_watches;                    /* watchers registered */
    uint64_t io_event;                   /* pending readiness dispatch event, 0 if none */
    simhv_trace_fn *trace_fn;            /* trace sink, or NULL */
    void *trace_data;                    /* passed to trace_fn */
    uint64_t trace_hash;                 /* FNV-1a over every record */
    uint64_t trace_count;                /* records so far */
    struct simhv_fault_rule *rules;      /* the fault plan */
    size_t n_rules;                      /* number of rules */
    bool faults_off;                     /* the plan is switched off (simhv_world_set_faults) */
    struct simhv_point *points;          /* distinct points, in order of first hit */
    size_t n_points;                     /* number of points */
    size_t cap_points;                   /* allocated points */
    uint32_t *point_tab;                 /* open hash: point index + 1, 0 = free */
    size_t point_tab_size;               /* slots in point_tab (a power of two) */
    struct simhv_point_cache pcache;     /* point strings asked, by address */
    struct simhv_vm_priv **vms;          /* VMs, in creation order */
    size_t n_vms;                        /* number of vms */
    uint32_t n_created;                  /* VMs ever created */
    const struct simhv_guest_ops *guest; /* guest provider, or NULL */
    void *guest_data;                    /* passed to guest */
    struct simhv_disk disk;              /* the disk */
    struct simhv_ctx **ctxs;             /* contexts over the world */
    size_t n_ctxs;                       /* number of ctxs */
};

struct simhv_ctx {
    struct simhv_world *w;  /* the world (borrowed) */
    char *name;             /* name for the trace (owned) */
    struct vc_ctx *vc;      /* the core context */
    struct vc_store *store; /* its sim disk store */
    struct vc_clock clock;  /* virtual clock */
    struct vc_rng rng;      /* the world's generator */
    struct vc_alloc alloc;  /* counting allocator */
    size_t live_allocs;     /* allocations not freed, all of them */
    size_t live_bytes;      /* their bytes */
    size_t base_allocs;     /* live_allocs right after setup (the context's bookkeeping) */
    size_t base_bytes;      /* live_bytes right after setup */
    bool crashed;           /* a runtime crash fault hit it */
    bool suspended;         /* fault injection is off */
};

/* world.c */
/* Schedules an event owned by a context (cancelled when the context is freed). */
int simhv_world_schedule_owned(struct simhv_world *w, uint64_t at_ns, simhv_event_fn *fn,
                               void *data, const void *owner, uint64_t *ret_id);
/* Cancels every event and watcher owner registered. */
void simhv_world_drop_owner(struct simhv_world *w, const void *owner);
/* Glob match with '*' for any run of characters: fault-plan points, network addresses. */
bool simhv_glob(const char *pat, const char *s);
/* Watches registered by owner (a context). */
size_t simhv_world_owner_watch_count(const struct simhv_world *w, const void *owner);
/* Registers (events != 0) or removes the watcher of a virtual fd. 0 or -EBADF. */
int simhv_world_watch(struct simhv_world *w, int fd, unsigned events, vc_io_fn *fn, void *fn_data,
                      const void *owner);
/* A trace record with a preformatted detail; ctx_name (may be NULL) prefixes the detail. */
void simhv_world_trace_str(struct simhv_world *w, const char *ctx_name, const char *category,
                           const char *name, const char *detail);

/* ctx.c */
/* The simhv context of a core context made by simhv_ctx_new over w, or NULL. */
struct simhv_ctx *simhv_ctx_find(const struct simhv_world *w, const struct vc_ctx *vc);

/* fault.c */
void simhv_fault_free_all(struct simhv_world *w);

/* hv.c */
void simhv_vms_free(struct simhv_world *w);

/* disk.c */
void simhv_disk_free(struct simhv_world *w);
/* Releases the locks c holds (its process is gone). */
void simhv_disk_release(struct simhv_world *w, struct simhv_ctx *c);
