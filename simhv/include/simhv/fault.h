/* SPDX-License-Identifier: Apache-2.0 */
/* The world's fault plan (SQLite's fault injector made declarative): each rule names a point, a
 * trigger and an action. Every named fault point the runtime core passes (agent.<Method>,
 * hv.<op>, store.<op>, alloc) and the points of the world itself (disk.write, disk.fsync,
 * disk.rename, vm.boot, and the network's net.connect and net.send) are asked in turn; the first
 * rule that fires decides. The plan counts hits and firings per rule, and the world keeps every
 * distinct point it saw, so a sweep can fail each of them one at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simhv_world;
struct simhv_ctx;

enum simhv_trigger {
    SIMHV_TRIGGER_NTH,   /* the nth matching hit (then up to limit-1 more in a row) */
    SIMHV_TRIGGER_EVERY, /* every matching hit (up to limit) */
    SIMHV_TRIGGER_PROB,  /* each matching hit with probability prob_ppm, from the seed */
    SIMHV_TRIGGER_AFTER, /* every matching hit at or past virtual time after_ns (up to limit) */
    SIMHV_TRIGGER_LAST
};

enum simhv_action {
    SIMHV_ACTION_ERRNO,         /* the operation fails with err */
    SIMHV_ACTION_DELAY,         /* virtual time runs on for delay_ns (events run), then it proceeds;
                                 * at net.send the chunk lands delay_ns later (later chunks wait
                                 * behind it), at net.connect the attempt takes delay_ns longer */
    SIMHV_ACTION_HANG,          /* it hangs until its deadline (delay_ns, default 60 s), then
                                 * fails with -ETIMEDOUT; at net.send the chunk never lands and the
                                 * direction stalls behind it (the connection stays open), at
                                 * net.connect the attempt waits to min(its deadline, delay_ns) */
    SIMHV_ACTION_VM_CRASH,      /* the target VM (or every VM) dies, then the operation proceeds */
    SIMHV_ACTION_RUNTIME_CRASH, /* the runtime process dies here (see simhv_ctx_new) */
    SIMHV_ACTION_HOST_CRASH,    /* the host dies: unsynced disk writes are lost, every VM and
                                 * the runtime die */
    SIMHV_ACTION_TORN_WRITE,    /* at disk.write: half the bytes land, then err (-EIO); elsewhere
                                 * the same as ERRNO */
    /* Byte-level network actions (net.h) at net.send, each hit being one chunk a write takes;
     * at net.connect see there; elsewhere each is the same as ERRNO. */
    SIMHV_ACTION_RESET,     /* the connection is reset: the write and everything after it on
                             * both ends fail with -ECONNRESET; bytes in flight are lost. At
                             * net.connect the attempt fails with -ECONNRESET */
    SIMHV_ACTION_DROP,      /* the chunk vanishes (the write still reports it taken); later
                             * chunks land as usual. At net.connect: as HANG */
    SIMHV_ACTION_TRUNCATE,  /* the first half of the chunk (len / 2 bytes) lands, then the
                             * connection closes: the reader reads the end of the stream, the
                             * writer's later writes fail with -EPIPE */
    SIMHV_ACTION_CORRUPT,   /* one bit of the chunk flips, its byte and bit drawn from the
                             * world's generator (traced as "net corrupt") */
    SIMHV_ACTION_DUPLICATE, /* the chunk lands twice, back to back */
    SIMHV_ACTION_DRIP,      /* the chunk lands one byte per event (over 4096 bytes: in 4096
                             * equal pieces), the first when it would have landed, the last
                             * delay_ns (0: 1 ms) later */
    SIMHV_ACTION_LAST
};

struct simhv_fault_rule {
    char *point;       /* point name; '*' matches any run of characters ("agent.*") */
    int32_t trigger;   /* enum simhv_trigger */
    uint64_t nth;      /* NTH: the hit that fires first (1-based; 0 means 1) */
    uint32_t prob_ppm; /* PROB: chance per hit in parts per million */
    uint64_t after_ns; /* AFTER: virtual time from which hits fire */
    uint64_t limit;    /* most firings; 0 = one for NTH, unlimited otherwise */
    int32_t action;    /* enum simhv_action */
    int err;           /* ERRNO and TORN_WRITE: negative errno (0 means -EIO) */
    uint64_t delay_ns; /* DELAY: how long; HANG: the deadline (0 means 60 s) */
    char *target;      /* VM_CRASH: sandbox whose VM dies; NULL = every running VM */
    char *context;     /* only hits on the context of this name ("runtime"); NULL = any */
    uint64_t hits;     /* out: matching hits seen */
    uint64_t fired;    /* out: times the rule fired */
};

/* What a fired rule asks for. */
struct simhv_fault_hit {
    int32_t action;    /* enum simhv_action */
    int err;           /* negative errno to fail with */
    uint64_t delay_ns; /* DELAY/HANG duration */
    size_t rule;       /* index of the rule that fired */
};

/* Appends a copy of rule (its counters reset). 0, -EINVAL for a rule that cannot fire (no point,
 * unknown trigger or action, positive err), -ENOMEM. */
int simhv_world_add_fault(struct simhv_world *w, const struct simhv_fault_rule *rule);
size_t simhv_world_fault_count(const struct simhv_world *w);
/* Switches the whole plan off (and back on): while off no rule fires, none counts hits and no
 * point is recorded, on every context and at the world's own points. For a harness that must
 * clean up after a fault run without new faults. */
void simhv_world_set_faults(struct simhv_world *w, bool on);
/* Rule i with its counters. Borrowed. */
const struct simhv_fault_rule *simhv_world_fault(const struct simhv_world *w, size_t i);

/* Asks the plan about one hit of point on context c (NULL for the world's own points): true and
 * *ret filled when a rule fires. Records the point. Crash actions are not carried out here; see
 * simhv_world_fault_apply. */
bool simhv_world_fault_eval(struct simhv_world *w, struct simhv_ctx *c, const char *point,
                            struct simhv_fault_hit *ret);
/* Carries out a hit on behalf of an operation at point on context c: delays and hangs advance
 * virtual time, crashes crash what they name. Returns what the operation must do: 0 to proceed,
 * or the negative errno to fail with. TORN_WRITE returns its errno (the disk applies the tear). */
int simhv_world_fault_apply(struct simhv_world *w, struct simhv_ctx *c, const char *point,
                            const struct simhv_fault_hit *hit);

/* Every distinct point hit so far, in order of first hit, with hit counts. */
size_t simhv_world_point_count(const struct simhv_world *w);
const char *simhv_world_point_name(const struct simhv_world *w, size_t i);
uint64_t simhv_world_point_hits(const struct simhv_world *w, size_t i);

const char *simhv_action_to_string(enum simhv_action a);
int simhv_action_from_string(const char *name); /* -1 if unknown ("vm_crash", "errno", ...) */
const char *simhv_trigger_to_string(enum simhv_trigger t);
