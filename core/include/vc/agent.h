/* SPDX-License-Identifier: Apache-2.0 */
/* The agent interface: one ops member for every method of kata's agent interface (newest
 * virtcontainers agent.go), plus the 2018 seed's killContainer and processListContainer. Only
 * core/src/agent.c calls through the table; everything else calls the vc_agent_* wrappers,
 * which return -EOPNOTSUPP for a NULL member, run the "agent.<Method>" fault point and log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/types.h>

struct vc_ctx;
struct vc_hv;
struct vc_agent;
struct vc_agent_backend;

#define VC_AGENT_OPS_V1 1u

/* Agent capabilities (kata's types.Capabilities). */
enum {
    VC_AGENT_CAP_BLOCK_DEVICE = 1u << 0,      /* block device support */
    VC_AGENT_CAP_MULTI_QUEUE = 1u << 1,       /* multi-queue network */
    VC_AGENT_CAP_FS_SHARING = 1u << 2,        /* shared filesystem */
    VC_AGENT_CAP_NET_HOTPLUG = 1u << 3,       /* network hotplug */
    VC_AGENT_CAP_MEM_HOTPLUG_PROBE = 1u << 4, /* probe-based memory hotplug */
};

struct vc_agent_ops {
    unsigned version; /* VC_AGENT_OPS_V1; members are only ever appended */
    const char *name; /* kind name: "kata", "mock", "noop" */

    /* init: the factory. data is the backend's registration data; sandbox_id and cfg are
     * borrowed for the call. *ret is owned by the caller, freed with destroy. */
    int (*init)(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                const struct vc_agent_config *cfg, struct vc_agent **ret);
    /* load: rebuilds an agent from what save produced (another process saved it). */
    int (*load)(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret);
    void (*destroy)(struct vc_agent *agent); /* NULL-safe, half-built safe; closes connections */

    int (*capabilities)(struct vc_agent *agent, uint32_t *ret_caps);
    int (*check)(struct vc_agent *agent);
    bool (*long_live_conn)(struct vc_agent *agent);
    int (*disconnect)(struct vc_agent *agent);
    int (*get_agent_url)(struct vc_agent *agent, char **ret_url); /* *ret owned by caller */
    int (*set_agent_url)(struct vc_agent *agent, const char *url);
    int (*reuse_agent)(struct vc_agent *agent, struct vc_agent *other);
    int (*create_sandbox)(struct vc_agent *agent, const struct vc_sandbox_config *cfg);
    int (*exec)(struct vc_agent *agent, const char *container_id, const char *exec_id,
                const struct vc_process_config *cmd, struct vc_process *ret);
    int (*start_sandbox)(struct vc_agent *agent, const struct vc_sandbox_config *cfg);
    int (*stop_sandbox)(struct vc_agent *agent);
    int (*create_container)(struct vc_agent *agent, const struct vc_container_config *cfg,
                            struct vc_process *ret);
    int (*start_container)(struct vc_agent *agent, const char *container_id);
    int (*stop_container)(struct vc_agent *agent, const char *container_id);
    int (*signal_process)(struct vc_agent *agent, const char *container_id, const char *exec_id,
                          int signal, bool all);
    int (*winsize_process)(struct vc_agent *agent, const char *container_id, const char *exec_id,
                           uint32_t rows, uint32_t columns);
    int (*write_process_stdin)(struct vc_agent *agent, const char *container_id,
                               const char *exec_id, const void *buf, size_t len,
                               size_t *ret_written);
    int (*close_process_stdin)(struct vc_agent *agent, const char *container_id,
                               const char *exec_id);
    /* Reads at most len bytes; *ret_len 0 means end of stream. */
    int (*read_process_stdout)(struct vc_agent *agent, const char *container_id,
                               const char *exec_id, void *buf, size_t len, size_t *ret_len);
    int (*read_process_stderr)(struct vc_agent *agent, const char *container_id,
                               const char *exec_id, void *buf, size_t len, size_t *ret_len);
    int (*update_container)(struct vc_agent *agent, const char *container_id,
                            const struct vc_resources *res);
    int (*wait_process)(struct vc_agent *agent, const char *container_id, const char *exec_id,
                        int32_t *ret_status);
    /* cpus: how many vCPUs must be online (0 skips the check); cpu_only: leave memory. */
    int (*online_cpu_mem)(struct vc_agent *agent, uint32_t cpus, bool cpu_only);
    int (*mem_hotplug_by_probe)(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                uint32_t block_size_mb);
    int (*stats_container)(struct vc_agent *agent, const char *container_id,
                           struct vc_container_stats *ret);
    int (*pause_container)(struct vc_agent *agent, const char *container_id);
    int (*resume_container)(struct vc_agent *agent, const char *container_id);
    int (*remove_stale_virtiofs_share_mounts)(struct vc_agent *agent);
    int (*configure)(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                     const struct vc_agent_config *cfg);
    int (*configure_from_grpc)(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                               const struct vc_agent_config *cfg);
    int (*reseed_rng)(struct vc_agent *agent, const void *data, size_t len);
    int (*update_interface)(struct vc_agent *agent, const struct vc_interface *iface,
                            struct vc_interface *ret);
    int (*list_interfaces)(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n);
    int (*update_ephemeral_mounts)(struct vc_agent *agent, const struct vc_mount *mounts, size_t n);
    int (*update_routes)(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                         struct vc_route **ret, size_t *ret_n);
    int (*list_routes)(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n);
    int (*get_guest_details)(struct vc_agent *agent, struct vc_guest_details *ret);
    int (*set_guest_date_time)(struct vc_agent *agent, int64_t sec, int64_t usec);
    int (*copy_file)(struct vc_agent *agent, const struct vc_copy_file *file);
    int (*add_swap)(struct vc_agent *agent, const uint32_t *pci_path, size_t n);
    void (*mark_dead)(struct vc_agent *agent);
    void (*cleanup)(struct vc_agent *agent, const char *sandbox_id);
    int (*save)(struct vc_agent *agent, char **ret_state); /* *ret owned by caller */
    /* Blocks until a container hits OOM; *ret_container_id owned by caller. */
    int (*get_oom_event)(struct vc_agent *agent, char **ret_container_id);
    int (*get_agent_metrics)(struct vc_agent *agent, char **ret_metrics);
    int (*get_guest_volume_stats)(struct vc_agent *agent, const char *volume_guest_path,
                                  struct vc_volume_stats *ret);
    int (*resize_guest_volume)(struct vc_agent *agent, const char *volume_guest_path,
                               uint64_t size);
    int (*get_iptables)(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len);
    int (*set_iptables)(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len);
    int (*set_policy)(struct vc_agent *agent, const char *policy);
    int (*get_diagnostic_data)(struct vc_agent *agent, const char *log_type,
                               const char *container_id, char **ret_data);
    /* 2018 seed */
    int (*kill_container)(struct vc_agent *agent, const char *container_id, int signal, bool all);
    int (*process_list_container)(struct vc_agent *agent, const char *container_id,
                                  const struct vc_ps_options *opts, char **ret_output);
};

/* The base every backend embeds as its first member. */
struct vc_agent {
    const struct vc_agent_ops *ops; /* the backend */
    struct vc_ctx *ctx;             /* the context it was made with (borrowed) */
    bool dead;                      /* a dial failed or mark_dead was called: fail fast */
};

/* The noop agent: every call succeeds with zero values (kata's NoopAgentType). */
extern const struct vc_agent_ops vc_noop_agent_ops;

/* Wrappers: each returns what the backend returns, -EOPNOTSUPP for a NULL member (with a
 * message naming the kind and method), the injected errno when its fault point fires, or
 * -ENOTCONN ("agent is dead") when the agent was marked dead. */
int vc_agent_init(struct vc_ctx *ctx, const struct vc_agent_backend *be, const char *sandbox_id,
                  const struct vc_agent_config *cfg, struct vc_agent **ret);
int vc_agent_load(struct vc_ctx *ctx, const struct vc_agent_backend *be, const char *sandbox_id,
                  const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret);
void vc_agent_free(struct vc_agent *agent); /* NULL-safe */
int vc_agent_capabilities(struct vc_agent *agent, uint32_t *ret_caps);
int vc_agent_check(struct vc_agent *agent);
bool vc_agent_long_live_conn(struct vc_agent *agent);
int vc_agent_disconnect(struct vc_agent *agent);
int vc_agent_get_agent_url(struct vc_agent *agent, char **ret_url);
int vc_agent_set_agent_url(struct vc_agent *agent, const char *url);
int vc_agent_reuse_agent(struct vc_agent *agent, struct vc_agent *other);
int vc_agent_create_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg);
int vc_agent_exec(struct vc_agent *agent, const char *container_id, const char *exec_id,
                  const struct vc_process_config *cmd, struct vc_process *ret);
int vc_agent_start_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg);
int vc_agent_stop_sandbox(struct vc_agent *agent);
int vc_agent_create_container(struct vc_agent *agent, const struct vc_container_config *cfg,
                              struct vc_process *ret);
int vc_agent_start_container(struct vc_agent *agent, const char *container_id);
int vc_agent_stop_container(struct vc_agent *agent, const char *container_id);
int vc_agent_signal_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                            int signal, bool all);
int vc_agent_winsize_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                             uint32_t rows, uint32_t columns);
int vc_agent_write_process_stdin(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, const void *buf, size_t len,
                                 size_t *ret_written);
int vc_agent_close_process_stdin(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id);
int vc_agent_read_process_stdout(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, void *buf, size_t len, size_t *ret_len);
int vc_agent_read_process_stderr(struct vc_agent *agent, const char *container_id,
                                 const char *exec_id, void *buf, size_t len, size_t *ret_len);
int vc_agent_update_container(struct vc_agent *agent, const char *container_id,
                              const struct vc_resources *res);
int vc_agent_wait_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                          int32_t *ret_status);
int vc_agent_online_cpu_mem(struct vc_agent *agent, uint32_t cpus, bool cpu_only);
int vc_agent_mem_hotplug_by_probe(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                  uint32_t block_size_mb);
int vc_agent_stats_container(struct vc_agent *agent, const char *container_id,
                             struct vc_container_stats *ret);
int vc_agent_pause_container(struct vc_agent *agent, const char *container_id);
int vc_agent_resume_container(struct vc_agent *agent, const char *container_id);
int vc_agent_remove_stale_virtiofs_share_mounts(struct vc_agent *agent);
int vc_agent_configure(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                       const struct vc_agent_config *cfg);
int vc_agent_configure_from_grpc(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                                 const struct vc_agent_config *cfg);
int vc_agent_reseed_rng(struct vc_agent *agent, const void *data, size_t len);
int vc_agent_update_interface(struct vc_agent *agent, const struct vc_interface *iface,
                              struct vc_interface *ret);
int vc_agent_list_interfaces(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n);
int vc_agent_update_ephemeral_mounts(struct vc_agent *agent, const struct vc_mount *mounts,
                                     size_t n);
int vc_agent_update_routes(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                           struct vc_route **ret, size_t *ret_n);
int vc_agent_list_routes(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n);
int vc_agent_get_guest_details(struct vc_agent *agent, struct vc_guest_details *ret);
int vc_agent_set_guest_date_time(struct vc_agent *agent, int64_t sec, int64_t usec);
int vc_agent_copy_file(struct vc_agent *agent, const struct vc_copy_file *file);
int vc_agent_add_swap(struct vc_agent *agent, const uint32_t *pci_path, size_t n);
void vc_agent_mark_dead(struct vc_agent *agent);
void vc_agent_cleanup(struct vc_agent *agent, const char *sandbox_id);
int vc_agent_save(struct vc_agent *agent, char **ret_state);
int vc_agent_get_oom_event(struct vc_agent *agent, char **ret_container_id);
int vc_agent_get_agent_metrics(struct vc_agent *agent, char **ret_metrics);
int vc_agent_get_guest_volume_stats(struct vc_agent *agent, const char *volume_guest_path,
                                    struct vc_volume_stats *ret);
int vc_agent_resize_guest_volume(struct vc_agent *agent, const char *volume_guest_path,
                                 uint64_t size);
int vc_agent_get_iptables(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len);
int vc_agent_set_iptables(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len);
int vc_agent_set_policy(struct vc_agent *agent, const char *policy);
int vc_agent_get_diagnostic_data(struct vc_agent *agent, const char *log_type,
                                 const char *container_id, char **ret_data);
int vc_agent_kill_container(struct vc_agent *agent, const char *container_id, int signal, bool all);
int vc_agent_process_list_container(struct vc_agent *agent, const char *container_id,
                                    const struct vc_ps_options *opts, char **ret_output);
