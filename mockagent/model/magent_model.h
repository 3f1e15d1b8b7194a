/* SPDX-License-Identifier: Apache-2.0 */
/* The guest model's internal API: one entry per kata-agent RPC, taking vc types and answering
 * with a gRPC status code (0 OK) and, on refusal, a message kept on the guest. Calls that must
 * wait (WaitProcess on a running process, GetOOMEvent with nothing queued, a read with no
 * output yet) answer MAGENT_AGAIN instead; a front end runs the loop and asks again. The model
 * reaches time and timers only through the guest context (vc_now, the ctx loop). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/types.h>

#include <mockagent/host.h>
#include <mockagent/script.h>

struct vc_ctx;

/* "Not yet": the call would block; run the loop and ask again. Distinct from every status. */
#define MAGENT_AGAIN (-EAGAIN)
/* An allocation failed while answering. On the wire this is INTERNAL "ENOMEM"; the in-process
 * front end shares the runtime's memory, so there it is the runtime's own -ENOMEM. */
#define MAGENT_NOMEM (-ENOMEM)

#define MAGENT_MSG_MAX    256        /* longest status message kept */
#define MAGENT_STREAM_MAX (4u << 20) /* bytes a stdio buffer holds (a pipe, generously) */
#define MAGENT_PID_FIRST  100        /* first guest pid handed out */

/* A guest comes up (boot) and goes away (free). script is borrowed from the host. */
int magent_guest_new(struct vc_ctx *gctx, const struct magent_script *script,
                     const char *sandbox_id, uint32_t cid, uint32_t vcpus, uint32_t memory_mb,
                     struct magent_guest **ret);
void magent_guest_free(struct magent_guest *g); /* NULL-safe; cancels every timer */
/* Results the calls hand back (strings, arrays, details) are allocated on ctx, the caller's
 * context that will free them; NULL goes back to the guest context. A front end sets it around
 * each call. */
void magent_guest_set_out_ctx(struct magent_guest *g, struct vc_ctx *ctx);

/* VM-level events from the host. */
void magent_guest_set_paused(struct magent_guest *g, bool paused);
bool magent_guest_paused(const struct magent_guest *g);
void magent_guest_set_resources(struct magent_guest *g, uint32_t vcpus, uint32_t memory_mb);

/* The message of the last refusal ("" after success). Borrowed until the next call. */
const char *magent_guest_message(const struct magent_guest *g);

/* --- sandbox ---------------------------------------------------------------------------- */

/* CreateSandbox: hostname, dns lines (copied). A repeated CreateSandbox is accepted, as
 * kata-agent accepts it (it re-runs its setup). */
int magent_guest_create_sandbox(struct magent_guest *g, const char *hostname, char *const *dns,
                                size_t n_dns, const char *sandbox_id);
int magent_guest_destroy_sandbox(struct magent_guest *g);
const char *magent_guest_hostname(const struct magent_guest *g);

/* --- containers and processes ---------------------------------------------------------- */

int magent_guest_create_container(struct magent_guest *g, const struct vc_container_config *cfg,
                                  struct vc_process *ret);
int magent_guest_start_container(struct magent_guest *g, const char *container_id);
/* RemoveContainer with timeout 0: destroys every process, then forgets the container. */
int magent_guest_remove_container(struct magent_guest *g, const char *container_id);
int magent_guest_exec_process(struct magent_guest *g, const char *container_id, const char *exec_id,
                              const struct vc_process_config *cmd, struct vc_process *ret);
/* exec_id "" means the container's init; all signals every process of the container. */
int magent_guest_signal_process(struct magent_guest *g, const char *container_id,
                                const char *exec_id, int signal, bool all);
/* MAGENT_AGAIN while the process runs; then its status, and the process is forgotten. */
int magent_guest_wait_process(struct magent_guest *g, const char *container_id, const char *exec_id,
                              int32_t *ret_status);
int magent_guest_write_stdin(struct magent_guest *g, const char *container_id, const char *exec_id,
                             const void *buf, size_t len, size_t *ret_written);
int magent_guest_close_stdin(struct magent_guest *g, const char *container_id, const char *exec_id);
/* MAGENT_AGAIN while nothing is buffered and the stream is open; *ret_len 0 at its end. */
int magent_guest_read_stream(struct magent_guest *g, const char *container_id, const char *exec_id,
                             bool err, void *buf, size_t len, size_t *ret_len);
int magent_guest_tty_win_resize(struct magent_guest *g, const char *container_id,
                                const char *exec_id, uint32_t rows, uint32_t columns);
int magent_guest_update_container(struct magent_guest *g, const char *container_id,
                                  const struct vc_resources *res);
int magent_guest_stats_container(struct magent_guest *g, const char *container_id,
                                 struct vc_container_stats *ret);
int magent_guest_pause_container(struct magent_guest *g, const char *container_id);
int magent_guest_resume_container(struct magent_guest *g, const char *container_id);
/* ListProcesses: format "table" (ps -ef like) or "json" (an array of pids). *ret owned. */
int magent_guest_list_processes(struct magent_guest *g, const char *container_id,
                                const char *format, char **ret);

/* --- network ------------------------------------------------------------------------------ */

int magent_guest_update_interface(struct magent_guest *g, const struct vc_interface *iface,
                                  struct vc_interface *ret);
int magent_guest_list_interfaces(struct magent_guest *g, struct vc_interface **ret, size_t *ret_n);
int magent_guest_update_routes(struct magent_guest *g, const struct vc_route *routes, size_t n,
                               struct vc_route **ret, size_t *ret_n);
int magent_guest_list_routes(struct magent_guest *g, struct vc_route **ret, size_t *ret_n);
int magent_guest_add_arp_neighbors(struct magent_guest *g, const struct vc_arp_neighbor *v,
                                   size_t n);
size_t magent_guest_neighbor_count(const struct magent_guest *g);

/* --- resources, time, misc ---------------------------------------------------------------- */

/* nb_cpus 0 skips the CPU part; cpu_only leaves memory. Asking for more CPUs than can be
 * onlined fails with INTERNAL, as kata-agent's online_cpus does. */
int magent_guest_online_cpu_mem(struct magent_guest *g, uint32_t nb_cpus, bool cpu_only);
/* Records size_mb / block_mb probed blocks from addr (at least one). */
int magent_guest_mem_hotplug_by_probe(struct magent_guest *g, uint64_t addr, uint32_t size_mb,
                                      uint32_t block_mb);
size_t magent_guest_probed_blocks(const struct magent_guest *g);
int magent_guest_set_date_time(struct magent_guest *g, int64_t sec, int64_t usec);
int64_t magent_guest_date_time_sec(const struct magent_guest *g); /* last set (0: never) */
int magent_guest_reseed_random(struct magent_guest *g, const void *data, size_t len);
int magent_guest_copy_file(struct magent_guest *g, const struct vc_copy_file *file);
/* The bytes and mode copied to path, or -ENOENT. Borrowed. */
int magent_guest_file(const struct magent_guest *g, const char *path, const uint8_t **ret_data,
                      size_t *ret_size, uint32_t *ret_mode);
int magent_guest_add_swap(struct magent_guest *g, const uint32_t *pci_path, size_t n);
size_t magent_guest_swap_count(const struct magent_guest *g);
int magent_guest_update_ephemeral_mounts(struct magent_guest *g, const struct vc_mount *mounts,
                                         size_t n);
size_t magent_guest_ephemeral_mount_count(const struct magent_guest *g);
int magent_guest_get_details(struct magent_guest *g, struct vc_guest_details *ret);
int magent_guest_get_metrics(struct magent_guest *g, char **ret);
/* MAGENT_AGAIN while no OOM event is queued. *ret_container_id owned by the caller. */
int magent_guest_get_oom_event(struct magent_guest *g, char **ret_container_id);
int magent_guest_volume_stats(struct magent_guest *g, const char *path,
                              struct vc_volume_stats *ret);
int magent_guest_resize_volume(struct magent_guest *g, const char *path, uint64_t size);
int magent_guest_get_iptables(struct magent_guest *g, bool ipv6, uint8_t **ret, size_t *ret_len);
int magent_guest_set_iptables(struct magent_guest *g, bool ipv6, const uint8_t *data, size_t len);
int magent_guest_set_policy(struct magent_guest *g, const char *policy);
const char *magent_guest_policy(const struct magent_guest *g); /* NULL: none set */
int magent_guest_diagnostic_data(struct magent_guest *g, const char *log_type,
                                 const char *container_id, char **ret);
int magent_guest_remove_stale_virtiofs_share_mounts(struct magent_guest *g);

/* --- script engine (script.c) --------------------------------------------------------------- */

/* A request field as text, for rule matching. */
struct magent_field {
    const char *name;  /* protocol field name */
    const char *value; /* its value as text */
};

/* Deep copy with validation. -EINVAL with a message recorded on ctx, or -ENOMEM. */
int magent_script_copy(struct vc_ctx *ctx, const struct magent_script *src,
                       struct magent_script *dst, uint64_t **ret_seen);
void magent_script_clear(struct vc_ctx *ctx, struct magent_script *s);
/* The rule that decides a call (counting it on every rule it matches), or NULL to answer
 * normally. seen holds one counter per rule. */
const struct magent_rule *magent_script_decide(struct magent_script *s, uint64_t *seen,
                                               const char *rpc, const struct magent_field *f,
                                               size_t n);
/* The first program whose argv globs match args, or NULL. */
const struct magent_program *magent_script_program(const struct magent_script *s, char *const *args,
                                                   size_t n_args);
/* '*' matches any run of characters. */
bool magent_glob(const char *pattern, const char *text);
/* A command line as the one request field "args" rules match on (ExecProcess): the arguments
 * joined by single spaces, cut to fit len bytes with its NUL. Both front ends build it here. */
#define MAGENT_ARGS_TEXT_MAX 128
void magent_args_text(char *const *args, size_t n_args, char *buf, size_t len);

/* --- host internals (host.c) for the front ends ----------------------------------------------- */

/* Boot serial of a guest: a front end holding a guest across loop steps looks it up again by
 * CID and compares this, so a guest halted (and perhaps rebooted) meanwhile is noticed. */
uint64_t magent_guest_generation(const struct magent_guest *g);
void magent_guest_set_generation(struct magent_guest *g, uint64_t gen);
/* Told that a guest may now answer a call it answered MAGENT_AGAIN before, with no call in
 * between: one of its processes ended, an OOM event was queued, the VM was paused or resumed, or
 * it halted. The wire front end retries its parked calls then. It runs from inside the model (a
 * process timer, a host call): it must not call into the model; arming a timer is what it is
 * for. */
typedef void magent_notify_fn(void *data, uint32_t cid);
/* One listener per host (NULL unsets); guests booted before and after hear it. */
void magent_host_set_notify(struct magent_host *host, magent_notify_fn *fn, void *data);
void magent_guest_set_notify(struct magent_guest *g, magent_notify_fn *fn, void *data);
/* A real machine under a guest: the daemon running as a VM's /init (mockagent/daemon/init_real.c)
 * hands it the calls that touch the machine itself. OnlineCPUMem onlines CPUs and memory blocks,
 * SetGuestDateTime sets the clock, GetGuestDetails reports the block size, and the model takes
 * the machine's CPU and memory counts as its own; everything else stays modelled. */
struct magent_real_state {
    uint32_t vcpus;            /* CPUs present */
    uint32_t online_vcpus;     /* CPUs online */
    uint32_t memory_mb;        /* memory in blocks, MiB */
    uint32_t online_memory_mb; /* memory in online blocks, MiB */
    uint64_t mem_block_bytes;  /* memory block size */
    bool mem_hotplug_probe;    /* the machine has a memory probe file */
};
/* Each returns 0 or a negative errno; a NULL member leaves that call to the model alone. */
struct magent_real_ops {
    int (*probe)(void *data, struct magent_real_state *ret); /* the machine now */
    /* Onlines nb_cpus offline CPUs (0: none; -ETIMEDOUT when too few showed up) and, unless
     * cpu_only, every offline memory block. */
    int (*online_cpu_mem)(void *data, uint32_t nb_cpus, bool cpu_only);
    int (*set_date_time)(void *data, int64_t sec, int64_t usec); /* sets the clock */
};
/* One per host (NULL unsets; ops borrowed, must outlive the host); guests booted before and
 * after use it. */
void magent_host_set_real(struct magent_host *host, const struct magent_real_ops *ops, void *data);
void magent_guest_set_real(struct magent_guest *g, const struct magent_real_ops *ops, void *data);
/* The script rule deciding a call (see magent_script_decide), or NULL. */
const struct magent_rule *magent_host_decide(struct magent_host *host, const char *rpc,
                                             const struct magent_field *f, size_t n);
const struct magent_facts *magent_host_facts(const struct magent_host *host);
/* Parses "vsock://<cid>:<port>" strictly: decimal, no sign, no spaces, each within 32 bits,
 * port non-zero, at most MAGENT_URL_MAX bytes. 0 or -EINVAL. */
#define MAGENT_URL_MAX 64
int magent_url_parse(const char *url, uint32_t *ret_cid, uint32_t *ret_port);
