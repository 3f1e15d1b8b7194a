/* SPDX-License-Identifier: Apache-2.0 */
/* The QMP client of the QEMU backend (internal to core): one QMP connection driven by the
 * context's loop, commands matched to replies by id, QEMU's error classes mapped to errnos in one
 * place, a bounded event buffer with waits by name and predicate, and the high-level helpers the
 * hv backend uses (status, pause, CPU, memory and block hotplug), each with its QMP sequence. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct vc_ctx;
struct vc_stream;
struct vc_qmp;

/* --- limits ----------------------------------------------------------------------------------
 * Everything the monitor controls is bounded. A line longer than VC_QMP_LINE_MAX (without its
 * '\n'), a JSON value nested deeper than VC_QMP_JSON_DEPTH, invalid JSON (or UTF-8), a NUL byte,
 * a line that is not a JSON object, or anything but the greeting before the greeting, is a
 * protocol error: the connection dies with -EPROTO. Well-formed objects of an unknown shape and
 * replies whose id matches no command in flight are counted (stats.stray) and dropped. */
#define VC_QMP_LINE_MAX           (1u << 20) /* bytes in one line from the monitor */
#define VC_QMP_JSON_DEPTH         64         /* JSON nesting accepted from the monitor */
#define VC_QMP_EVENTS_MAX         256        /* buffered events; the oldest is dropped beyond */
#define VC_QMP_PENDING_MAX        64         /* commands in flight at once (-ENOBUFS beyond) */
#define VC_QMP_OUTPUT_MAX         (4u << 20) /* bytes waiting to be written (-ENOBUFS beyond) */
#define VC_QMP_LIST_MAX           8192       /* entries of a list a helper turns into structs */
#define VC_QMP_TIMEOUT_DEFAULT_NS (30ull * 1000000000ull) /* per command, unless set */

/* Event names the backend relies on. */
#define VC_QMP_EVENT_SHUTDOWN       "SHUTDOWN"
#define VC_QMP_EVENT_STOP           "STOP"
#define VC_QMP_EVENT_RESUME         "RESUME"
#define VC_QMP_EVENT_DEVICE_DELETED "DEVICE_DELETED"
#define VC_QMP_EVENT_POWERDOWN      "POWERDOWN"

/* QEMU's version from the greeting {"QMP":{"version":{"qemu":{...},"package":...}}}. */
struct vc_qmp_version {
    int64_t major;    /* 7 for QEMU 7.2.22 */
    int64_t minor;    /* 2 */
    int64_t micro;    /* 22 */
    char package[64]; /* "Debian 1:7.2+dfsg-7+deb12u18+b3", cut to fit; "" if none */
};

/* Counters, for tests and diagnostics. */
struct vc_qmp_stats {
    uint64_t bytes_in;       /* bytes read */
    uint64_t bytes_out;      /* bytes written */
    uint64_t lines_in;       /* lines read (greeting, replies, events, others) */
    uint64_t commands;       /* commands sent (qmp_capabilities included) */
    uint64_t replies;        /* replies matched to a command */
    uint64_t events;         /* events received */
    uint64_t events_dropped; /* events dropped because the buffer was full (oldest first) */
    uint64_t stray;          /* well-formed lines dropped: unknown id, no id, unknown shape */
};

/* --- connection ------------------------------------------------------------------------------ */

/* Wraps s (takes ownership, also on failure) and watches it on the context's loop; the greeting
 * is read as it arrives. Nothing but vc_qmp_handshake may run before the handshake. 0, -EINVAL,
 * -ENOMEM, or -EOPNOTSUPP without a loop. Free with vc_qmp_free. */
int vc_qmp_new(struct vc_ctx *ctx, struct vc_stream *s, struct vc_qmp **ret);

/* Waits for the greeting (recording QEMU's version), sends {"execute":"qmp_capabilities"} and
 * waits for its return, all within timeout_ns (0: the client's default). 0; -ETIMEDOUT;
 * -EPROTO for anything but a greeting first; -ECONNRESET if QEMU closed; the error of
 * qmp_capabilities. Recorded on the context. Once only: -EALREADY afterwards. */
int vc_qmp_handshake(struct vc_qmp *q, uint64_t timeout_ns);

/* Dials the QMP socket (path, or a URL such as "unix:///run/vc/vm/ID/qmp.sock" when it contains
 * "://"), retrying while QEMU starts (vc_dial), then vc_qmp_new and vc_qmp_handshake; one
 * deadline covers all. 0 with *ret owned by the caller, or -errno (recorded; *ret untouched). */
int vc_qmp_connect(struct vc_ctx *ctx, const char *path, uint64_t timeout_ns, struct vc_qmp **ret);

/* Fails every command in flight with -ECANCELED (callbacks run), wakes every waiter with
 * -ECANCELED, closes the stream, frees buffered events and the client. NULL-safe; safe from a
 * done callback (the memory goes once the client's own code has unwound). */
void vc_qmp_free(struct vc_qmp *q);

/* Whether the connection is usable: false after EOF, a stream error or a protocol error. Once
 * false it stays false (make a new client after QEMU restarts). */
bool vc_qmp_alive(const struct vc_qmp *q);
/* Whether the handshake finished and commands may be sent. */
bool vc_qmp_ready(const struct vc_qmp *q);
/* Why the connection died: 0 while alive, else -ECONNRESET (EOF or a stream error), -EPROTO
 * (protocol error) or -ENOMEM. vc_qmp_dead_msg says more ("" while alive). Both borrowed. */
int vc_qmp_dead_err(const struct vc_qmp *q);
const char *vc_qmp_dead_msg(const struct vc_qmp *q);
/* The greeting's version (zeros until the greeting came). Borrowed, lives with q. */
const struct vc_qmp_version *vc_qmp_version(const struct vc_qmp *q);
/* The timeout a blocking call uses when given 0 (VC_QMP_TIMEOUT_DEFAULT_NS at first). */
void vc_qmp_set_timeout(struct vc_qmp *q, uint64_t timeout_ns);
void vc_qmp_stats(const struct vc_qmp *q, struct vc_qmp_stats *ret);
/* Commands in flight (sent or queued, not yet answered). */
size_t vc_qmp_pending(const struct vc_qmp *q);

enum vc_qmp_dir { VC_QMP_DIR_IN, VC_QMP_DIR_OUT };
/* Sees every line read or written (without its '\n'; borrowed for the call). It must not call
 * into the client. */
typedef void vc_qmp_line_fn(void *data, enum vc_qmp_dir dir, const char *line, size_t len);
void vc_qmp_set_recorder(struct vc_qmp *q, vc_qmp_line_fn *fn, void *data);

/* --- commands --------------------------------------------------------------------------------
 * Each command goes out as one line {"execute":NAME,"arguments":ARGS,"id":N} (no "arguments"
 * when ARGS is NULL), N counting from 1 on each connection; commands are written in the order
 * they are started, and QEMU answers them in that order, echoing "id". A reply
 * {"return":R,"id":N} completes command N with 0 and R; {"error":{"class":C,"desc":D},"id":N}
 * with vc_qmp_error_to_errno(C, D). A command that times out fails with -ETIMEDOUT, but it may
 * still run in QEMU (it may already be written); its late reply is dropped as stray. */

/* QEMU's error class (and desc, for GenericError) as a negative errno; the one place where
 * this mapping lives:
 *   CommandNotFound -> -EOPNOTSUPP    DeviceNotFound -> -ENOENT    DeviceNotActive -> -ENODEV
 *   KVMMissingCap   -> -EOPNOTSUPP    any other or missing class -> -EIO
 *   GenericError    -> -EIO, except when desc (QEMU 7.2's English text; best effort, matched
 *       without regard to case) contains
 *       "duplicate" ("Duplicate device ID 'x'", "Duplicate nodes with node-name='n'",
 *                    "attempt to add duplicate property 'm' to object")       -> -EEXIST
 *       " exists" ("CPU[1] with APIC ID 1 exists")                            -> -EEXIST
 *       "in the process of unplug", " is in use"                              -> -EBUSY */
int vc_qmp_error_to_errno(const char *error_class, const char *desc);

/* The outcome of one command. r is 0, the mapped QEMU error (error_class and desc are QEMU's),
 * or a local failure (error_class NULL, desc says what): -ETIMEDOUT ("timed out after N ms"),
 * -ECONNRESET / -EPROTO / -ENOMEM when the connection died (vc_qmp_dead_msg's text),
 * -ECANCELED (cancelled, or the client freed). Everything is borrowed for the callback; take a
 * reference to ret with json_object_get to keep it. */
struct vc_qmp_result {
    int r;                   /* 0 or -errno */
    struct json_object *ret; /* the "return" value on success (may be any JSON type), else NULL */
    const char *error_class; /* QEMU's "class" on a QEMU error, else NULL */
    const char *desc;        /* QEMU's "desc", or the local failure's text; "" on success */
};

/* Runs exactly once per started command, from the loop (never from inside the start call). It
 * may start commands, cancel them, run blocking calls and free the client. */
typedef void vc_qmp_done_fn(void *data, const struct vc_qmp_result *res);

/* Starts name with args (borrowed for this call; NULL: no "arguments") and queues it, writing
 * what the stream takes at once. deadline_ns is monotonic, 0 for none; a deadline already past
 * sends nothing (the command fails with -ETIMEDOUT from the loop). 0 with *ret_id (may be
 * NULL) naming it, or -errno and fn never runs: -EINVAL, -ENOTCONN before the handshake,
 * -ECONNRESET (or the death's code) when not alive, -ENOBUFS beyond VC_QMP_PENDING_MAX or
 * VC_QMP_OUTPUT_MAX, -EMSGSIZE for a line over VC_QMP_LINE_MAX, -ENOMEM, or the errno injected
 * at the fault point "qmp.execute". Errors are recorded. */
int vc_qmp_execute_start(struct vc_qmp *q, const char *name, struct json_object *args,
                         uint64_t deadline_ns, vc_qmp_done_fn *fn, void *data, uint64_t *ret_id);
/* Fails a command in flight with -ECANCELED (its callback runs before this returns). Unknown
 * ids are ignored. The command may still run in QEMU. */
void vc_qmp_cancel(struct vc_qmp *q, uint64_t id);

/* A blocking command: start, then run the loop until it is answered or timeout_ns (0: the
 * client's default) passes. 0 with *ret (may be NULL) holding a reference the caller owns
 * (json_object_put), or the command's -errno recorded on the context as
 * "qmp: NAME: DESC (CLASS)" for QEMU errors and "qmp: NAME: TEXT" for local ones. */
int vc_qmp_execute(struct vc_qmp *q, const char *name, struct json_object *args,
                   uint64_t timeout_ns, struct json_object **ret);

/* --- events ----------------------------------------------------------------------------------
 * Every line with "event" is an event. Events go to a waiting vc_qmp_event_wait whose name and
 * predicate match, else into a buffer of VC_QMP_EVENTS_MAX (the oldest is dropped and counted
 * when full). Events are read whenever the loop runs, whoever runs it. */
struct vc_qmp_event {
    struct vc_ctx *ctx;       /* allocator (borrowed) */
    char *name;               /* "SHUTDOWN" (owned) */
    struct json_object *data; /* "data" (a reference owned by the event), NULL when absent */
    int64_t ts_sec;           /* QEMU's "timestamp" seconds; -1 when absent */
    int64_t ts_usec;          /* QEMU's "timestamp" microseconds; -1 when absent */
    uint64_t recv_ns;         /* when the client read it (the context's monotonic clock) */
    uint64_t seq;             /* 1 for the connection's first event, then 2, 3... */
};

void vc_qmp_event_free(struct vc_qmp_event *ev); /* NULL-safe */

/* Whether an event is the one a wait wants (name already matched). It must not call into the
 * client. */
typedef bool vc_qmp_event_match_fn(void *data, const struct vc_qmp_event *ev);
/* A predicate: data is a device id (const char *), true when the event's data.device equals it
 * (DEVICE_DELETED for a device with that id). */
bool vc_qmp_match_device(void *data, const struct vc_qmp_event *ev);

/* Takes the oldest buffered event named name (NULL: any) that match (NULL: any) accepts. 0 with
 * *ret owned by the caller (NULL: the event is dropped), or -EAGAIN when there is none. Does
 * not run the loop. */
int vc_qmp_event_pop(struct vc_qmp *q, const char *name, vc_qmp_event_match_fn *match,
                     void *match_data, struct vc_qmp_event **ret);
/* As vc_qmp_event_pop, but when nothing buffered matches, runs the loop until such an event
 * arrives or timeout_ns (0: the client's default) passes. 0 with *ret (may be NULL) owned by
 * the caller; -ETIMEDOUT; or, once the connection is dead and nothing buffered matches, its
 * code (-ECONNRESET after EOF); -ECANCELED when the client was freed meanwhile; -ENOMEM when
 * an event was lost for want of memory (it may have been this one) during this wait or, when
 * nothing matches in the buffer, since the last wait. Recorded. */
int vc_qmp_event_wait(struct vc_qmp *q, const char *name, vc_qmp_event_match_fn *match,
                      void *match_data, uint64_t timeout_ns, struct vc_qmp_event **ret);
size_t vc_qmp_events_pending(const struct vc_qmp *q); /* buffered events */
void vc_qmp_events_clear(struct vc_qmp *q);           /* drops the buffered events */

/* Runs the loop until the connection is closed (EOF: QEMU exited, or any death) or timeout_ns
 * (0: default) passes. 0 once closed, -ETIMEDOUT (recorded), -ECANCELED if freed meanwhile. */
int vc_qmp_wait_closed(struct vc_qmp *q, uint64_t timeout_ns);

/* --- helpers ---------------------------------------------------------------------------------
 * Blocking, each command with the client's timeout; errors recorded as vc_qmp_execute does,
 * and -EPROTO ("qmp: NAME: malformed reply: ...") for a return of the wrong shape. */

/* QAPI RunState. */
enum vc_qmp_run_state {
    VC_QMP_RUN_STATE_DEBUG,          /* "debug" */
    VC_QMP_RUN_STATE_INMIGRATE,      /* "inmigrate" */
    VC_QMP_RUN_STATE_INTERNAL_ERROR, /* "internal-error" */
    VC_QMP_RUN_STATE_IO_ERROR,       /* "io-error" */
    VC_QMP_RUN_STATE_PAUSED,         /* "paused" (after stop) */
    VC_QMP_RUN_STATE_POSTMIGRATE,    /* "postmigrate" */
    VC_QMP_RUN_STATE_PRELAUNCH,      /* "prelaunch" (-S, never started) */
    VC_QMP_RUN_STATE_FINISH_MIGRATE, /* "finish-migrate" */
    VC_QMP_RUN_STATE_RESTORE_VM,     /* "restore-vm" */
    VC_QMP_RUN_STATE_RUNNING,        /* "running" */
    VC_QMP_RUN_STATE_SAVE_VM,        /* "save-vm" */
    VC_QMP_RUN_STATE_SHUTDOWN,       /* "shutdown" */
    VC_QMP_RUN_STATE_SUSPENDED,      /* "suspended" */
    VC_QMP_RUN_STATE_WATCHDOG,       /* "watchdog" */
    VC_QMP_RUN_STATE_GUEST_PANICKED, /* "guest-panicked" */
    VC_QMP_RUN_STATE_COLO,           /* "colo" */
    VC_QMP_RUN_STATE_UNKNOWN,        /* a state this client does not know */
    VC_QMP_RUN_STATE_LAST
};

const char *vc_qmp_run_state_to_string(enum vc_qmp_run_state s); /* NULL past the end */

struct vc_qmp_status {
    enum vc_qmp_run_state state; /* "status" */
    bool running;                /* "running" */
};

/* query-status -> {"status":S,"running":B,...}. */
int vc_qmp_query_status(struct vc_qmp *q, struct vc_qmp_status *ret);
/* stop (pause; emits STOP). cont (resume, also starts a -S VM; emits RESUME). Both -> {}. */
int vc_qmp_stop(struct vc_qmp *q);
int vc_qmp_cont(struct vc_qmp *q);
/* system_powerdown: asks the guest to power off (ACPI); emits POWERDOWN. */
int vc_qmp_system_powerdown(struct vc_qmp *q);
/* quit, then waits until QEMU closes the connection, within timeout_ns (0: default). QEMU emits
 * SHUTDOWN (buffered), answers {} and exits; a connection closed before the answer counts as
 * success. 0 once closed; -ETIMEDOUT; the error of quit. */
int vc_qmp_quit(struct vc_qmp *q, uint64_t timeout_ns);

/* A CPU's topology; -1 for members QEMU did not give. */
struct vc_qmp_cpu_props {
    int64_t node_id;    /* "node-id" */
    int64_t socket_id;  /* "socket-id" */
    int64_t die_id;     /* "die-id" (x86 with dies) */
    int64_t cluster_id; /* "cluster-id" */
    int64_t core_id;    /* "core-id" */
    int64_t thread_id;  /* "thread-id" */
};

/* One entry of query-hotpluggable-cpus. */
struct vc_qmp_hotcpu {
    char *type;                    /* the device type to add ("qemu64-x86_64-cpu") */
    int64_t vcpus_count;           /* "vcpus-count" */
    char *qom_path;                /* "qom-path" when plugged, NULL when the slot is free */
    struct vc_qmp_cpu_props props; /* "props" */
};

/* One entry of query-cpus-fast. */
struct vc_qmp_cpu {
    int64_t cpu_index;             /* "cpu-index" */
    int64_t thread_id;             /* "thread-id": the vCPU's host thread id */
    char *qom_path;                /* "qom-path" ("/machine/peripheral/cpu-1") */
    char *target;                  /* "target" ("x86_64"), NULL when absent */
    struct vc_qmp_cpu_props props; /* "props" (all -1 when absent) */
};

/* One entry of query-memory-devices: {"type":T,"data":{...}}. */
struct vc_qmp_memdev {
    char *type;        /* "dimm", "nvdimm", "virtio-mem", "virtio-pmem", "sgx-epc" */
    char *id;          /* data.id, NULL when absent */
    char *memdev;      /* data.memdev ("/objects/mem0"), NULL when absent */
    uint64_t addr;     /* data.addr (guest physical), 0 when absent */
    uint64_t size;     /* data.size in bytes, 0 when absent */
    int64_t slot;      /* data.slot, -1 when absent (not a DIMM) */
    int64_t node;      /* data.node, -1 when absent */
    bool hotplugged;   /* data.hotplugged */
    bool hotpluggable; /* data.hotpluggable */
};

/* query-hotpluggable-cpus, query-cpus-fast and query-memory-devices, as arrays. 0 with *ret
 * (NULL when *ret_n is 0) owned by the caller and freed with the matching _free, or -errno
 * (-EPROTO for a malformed reply or one over VC_QMP_LIST_MAX entries). */
int vc_qmp_query_hotpluggable_cpus(struct vc_qmp *q, struct vc_qmp_hotcpu **ret, size_t *ret_n);
int vc_qmp_query_cpus_fast(struct vc_qmp *q, struct vc_qmp_cpu **ret, size_t *ret_n);
int vc_qmp_query_memory_devices(struct vc_qmp *q, struct vc_qmp_memdev **ret, size_t *ret_n);
void vc_qmp_hotcpus_free(struct vc_ctx *ctx, struct vc_qmp_hotcpu *v, size_t n);
void vc_qmp_cpus_free(struct vc_ctx *ctx, struct vc_qmp_cpu *v, size_t n);
void vc_qmp_memdevs_free(struct vc_ctx *ctx, struct vc_qmp_memdev *v, size_t n);

/* CPU hot-add (kata's hotplugAddCPUs, one CPU):
 *   query-hotpluggable-cpus; the free slot (no "qom-path") with the lowest
 *   (socket, die, cluster, core, thread) is chosen; then
 *   device_add {"driver":TYPE,"id":ID,"socket-id":S,["die-id":D,]"core-id":C,"thread-id":T}
 *   (die-id only when the slot's props have it).
 * id is the device id ("cpu-<n>" in kata; the caller numbers them). 0 with *ret_props (may be
 * NULL) the slot used; -ENOSPC when no slot is free; the error of a command. The guest sees the
 * CPU offline until the agent onlines it. */
int vc_qmp_cpu_add(struct vc_qmp *q, const char *id, struct vc_qmp_cpu_props *ret_props);

/* Device hot-remove, also CPU hot-remove (kata removes "cpu-<n>" last-in first-out):
 *   buffered DEVICE_DELETED events for id are dropped; device_del {"id":ID}; then waits for
 *   DEVICE_DELETED with data.device == ID (buffered if it came before the return).
 * The wait lasts timeout_ns (0: default). PCIe, ACPI and CPU unplug need the guest's consent:
 * with no guest (a -S VM, firmware only) the event never comes and this fails with
 * -ETIMEDOUT, the device staying "in the process of unplug" (a second device_del: -EBUSY).
 * Under QEMU 7.2 TCG, a device_add after a CPU hot-remove aborts QEMU (qemu-e2e.md). */
int vc_qmp_device_remove(struct vc_qmp *q, const char *id, uint64_t timeout_ns);

/* Memory hot-add of one DIMM. */
struct vc_qmp_mem_req {
    uint64_t size_mb;     /* DIMM size in MiB (> 0) */
    const char *mem_path; /* NULL: memory-backend-ram; else memory-backend-file on this path */
    bool share;           /* "share":true (file backends shared with vhost-user daemons) */
    bool query_addr;      /* query again for the DIMM's guest address (probe-based guests) */
};

struct vc_qmp_dimm {
    int64_t slot;  /* the slot used: "mem<slot>" / "dimmmem<slot>" */
    uint64_t size; /* bytes */
    uint64_t addr; /* guest physical address when query_addr, else 0 */
};

/* Memory hot-add (kata's hotplugAddMemory, DIMM):
 *   query-memory-devices (slot = 1 + the highest data.slot, 0 when there is none);
 *   object-add {"qom-type":"memory-backend-ram","id":"mem<slot>","size":MB<<20}
 *     (memory-backend-file: also "mem-path":P; "share":true when share);
 *   device_add {"driver":"pc-dimm","id":"dimmmem<slot>","memdev":"mem<slot>"};
 *   with query_addr: query-memory-devices again for dimmmem<slot>'s addr.
 * When device_add fails, object-del {"id":"mem<slot>"} undoes the backend. 0 with *ret (may be
 * NULL) filled, or -errno (-EINVAL for size 0 or above 2^44 MiB). */
int vc_qmp_memory_add(struct vc_qmp *q, const struct vc_qmp_mem_req *req, struct vc_qmp_dimm *ret);

/* Block hot-add. Strings are borrowed for the call. */
struct vc_qmp_block {
    const char *id;        /* device id */
    const char *node_name; /* block node name (kata: the drive's ID) */
    const char *filename;  /* host file or device; NULL: a null-co node of null_size (tests) */
    uint64_t null_size;    /* the null-co node's size in bytes, when filename is NULL */
    bool host_device;      /* protocol driver "host_device" (a block device) instead of "file" */
    bool read_only;        /* "read-only":true */
    const char *aio;       /* "threads", "native", "io_uring"; NULL: QEMU's default */
    bool cache_direct;     /* "cache":{"direct":true,...} (O_DIRECT) */
    bool cache_no_flush;   /* "cache":{...,"no-flush":true} */
    const char *driver;    /* device driver; NULL: "virtio-blk-pci" */
    const char *bus;       /* bus id (a pcie-root-port or bridge); NULL: QEMU picks */
    const char *addr;      /* slot on bus ("%02x" in kata); NULL: QEMU picks */
    bool share_rw;         /* "share-rw":true */
};

/* Block hot-add (kata's hotplugAddBlockDevice, virtio-blk):
 *   blockdev-add {"driver":"raw","node-name":N,"read-only":RO,
 *                 "file":{"driver":"file"|"host_device","filename":F[,"aio":A]}
 *                 [,"cache":{"direct":D,"no-flush":NF}]}
 *     (filename NULL: {"driver":"null-co","node-name":N,"size":S[,"read-only":true]});
 *   device_add {"driver":"virtio-blk-pci","id":ID,"drive":N[,"bus":B][,"addr":A]
 *               [,"share-rw":true]}.
 * When device_add fails, blockdev-del {"node-name":N} undoes the node. 0 or -errno. */
int vc_qmp_block_add(struct vc_qmp *q, const struct vc_qmp_block *b);

/* Block hot-remove: vc_qmp_device_remove(id) (device_del + DEVICE_DELETED), then blockdev-del
 * {"node-name":N}. The node stays when the device could not be removed. */
int vc_qmp_block_remove(struct vc_qmp *q, const char *id, const char *node_name,
                        uint64_t timeout_ns);
