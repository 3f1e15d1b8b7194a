/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime API (kata virtcontainers' api.go and VCSandbox). Every call takes the sandbox's
 * lock (shared to read, exclusive to change), loads the sandbox from the context's store,
 * reattaches to its hypervisor and agent, acts, saves and unlocks; so separate processes can
 * drive one sandbox and a crash loses nothing that was saved. Every call returns 0 or a
 * negative errno with the detail recorded on ctx (vc_ctx_errmsg). Out-params are written only
 * on success and are owned by the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/log.h>
#include <vc/store.h>
#include <vc/types.h>

/* --- ids ------------------------------------------------------------------------------------ */

/* Checks a sandbox, container or exec id before it touches a path: 1..VC_ID_MAX bytes of
 * [A-Za-z0-9_+.-], not "." or "..". 0 or -EINVAL (recorded, naming what). */
int vc_id_validate(struct vc_ctx *ctx, const char *what, const char *id);

/* --- states --------------------------------------------------------------------------------- */

/* kata's validTransition: 0 if from may move to to; -EINVAL naming both states otherwise. */
int vc_state_transition(struct vc_ctx *ctx, const char *what, enum vc_state from, enum vc_state to);
bool vc_state_valid(enum vc_state state);

/* --- sandboxes ------------------------------------------------------------------------------ */

/* Creates a sandbox: validates, stores it, creates and starts the VM, configures and connects
 * the agent, creates the guest sandbox, then its containers; state ready. Any failure rolls
 * back in reverse order (containers, agent sandbox, VM, network, store) and leaves nothing. */
int vc_sandbox_create(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg);
/* Create followed by start. */
int vc_sandbox_run(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg);
/* ready|stopped -> running; starts every container. */
int vc_sandbox_start(struct vc_ctx *ctx, const char *sandbox_id);
/* -> stopped: stops containers, destroys the guest sandbox, stops the VM. A stopped sandbox is
 * a no-op; force ignores errors of the steps. */
int vc_sandbox_stop(struct vc_ctx *ctx, const char *sandbox_id, bool force);
/* Requires ready, paused or stopped; deletes containers, cleans the VM up, removes the store. */
int vc_sandbox_delete(struct vc_ctx *ctx, const char *sandbox_id);
/* running -> paused: pauses the VM and marks running containers paused. */
int vc_sandbox_pause(struct vc_ctx *ctx, const char *sandbox_id);
/* paused -> running. */
int vc_sandbox_resume(struct vc_ctx *ctx, const char *sandbox_id);
/* kata's sandbox monitor (the shim's watcher): checks that a ready, running or paused sandbox's
 * VM is alive and, unless paused, that its agent answers Check. A VM that died is noticed here:
 * the agent is marked dead, the sandbox and its containers become stopped and are saved, and
 * -ESRCH is returned. 0 when healthy or not up; the agent's error when it does not answer. */
int vc_sandbox_check(struct vc_ctx *ctx, const char *sandbox_id);
/* Loads the stored sandbox: its config (*ret_cfg, may be NULL) and status (*ret_status, may
 * be NULL). Free with vc_sandbox_config_free / vc_sandbox_status_free. */
int vc_sandbox_fetch(struct vc_ctx *ctx, const char *sandbox_id, struct vc_sandbox_config **ret_cfg,
                     struct vc_sandbox_status **ret_status);
int vc_sandbox_status(struct vc_ctx *ctx, const char *sandbox_id, struct vc_sandbox_status **ret);
/* Status of every stored sandbox, sorted by id. Free with vc_sandbox_status_list_free. */
int vc_sandbox_list(struct vc_ctx *ctx, struct vc_sandbox_status **ret, size_t *ret_n);

/* --- containers ----------------------------------------------------------------------------- */

int vc_container_create(struct vc_ctx *ctx, const char *sandbox_id,
                        const struct vc_container_config *cfg);
int vc_container_start(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id);
int vc_container_stop(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      bool force);
int vc_container_delete(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id);
/* Runs cmd in the container; *ret gets the new process (exec id generated when exec_id is
 * NULL). */
int vc_container_enter(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       const char *exec_id, const struct vc_process_config *cmd,
                       struct vc_process *ret);
int vc_container_status(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                        struct vc_container_status **ret);
int vc_container_kill(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      int signal, bool all);
/* ps inside the container; opts NULL means format "table", args "-ef". */
int vc_container_process_list(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                              const struct vc_ps_options *opts, char **ret_output);
/* Updates limits; hotplugs vCPUs and memory the new limits need. */
int vc_container_update(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                        const struct vc_resources *res);
int vc_container_stats(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       struct vc_container_stats *ret);
int vc_container_pause(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id);
int vc_container_resume(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id);
/* kata's CleanupContainer: stop (force) and delete the container; when it was the last one,
 * stop and delete the sandbox too. Marks the agent dead first when the VM is gone. */
int vc_container_cleanup(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                         bool force);

/* --- processes ------------------------------------------------------------------------------ */

int vc_process_wait(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                    const char *exec_id, int32_t *ret_status);
int vc_process_signal(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      const char *exec_id, int signal, bool all);
int vc_process_winsize(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       const char *exec_id, uint32_t rows, uint32_t columns);
int vc_process_write_stdin(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, const void *buf, size_t len, size_t *ret_written);
int vc_process_close_stdin(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id);
/* *ret_len 0 means end of stream. */
int vc_process_read_stdout(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, void *buf, size_t len, size_t *ret_len);
int vc_process_read_stderr(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, void *buf, size_t len, size_t *ret_len);

/* --- devices, network ------------------------------------------------------------------------- */

/* Hotplugs a device into the running sandbox's VM and records it. */
int vc_sandbox_add_device(struct vc_ctx *ctx, const char *sandbox_id, const struct vc_device *dev);
int vc_sandbox_add_interface(struct vc_ctx *ctx, const char *sandbox_id,
                             const struct vc_interface *iface, struct vc_interface *ret);
int vc_sandbox_remove_interface(struct vc_ctx *ctx, const char *sandbox_id, const char *name);
int vc_sandbox_list_interfaces(struct vc_ctx *ctx, const char *sandbox_id,
                               struct vc_interface **ret, size_t *ret_n);
int vc_sandbox_update_routes(struct vc_ctx *ctx, const char *sandbox_id,
                             const struct vc_route *routes, size_t n, struct vc_route **ret,
                             size_t *ret_n);
int vc_sandbox_list_routes(struct vc_ctx *ctx, const char *sandbox_id, struct vc_route **ret,
                           size_t *ret_n);

/* --- guest services --------------------------------------------------------------------------- */

int vc_sandbox_get_oom_event(struct vc_ctx *ctx, const char *sandbox_id, char **ret_container_id);
int vc_sandbox_get_agent_metrics(struct vc_ctx *ctx, const char *sandbox_id, char **ret);
int vc_sandbox_guest_volume_stats(struct vc_ctx *ctx, const char *sandbox_id,
                                  const char *volume_path, struct vc_volume_stats *ret);
int vc_sandbox_resize_guest_volume(struct vc_ctx *ctx, const char *sandbox_id,
                                   const char *volume_path, uint64_t size);
int vc_sandbox_get_iptables(struct vc_ctx *ctx, const char *sandbox_id, bool ipv6, uint8_t **ret,
                            size_t *ret_len);
int vc_sandbox_set_iptables(struct vc_ctx *ctx, const char *sandbox_id, bool ipv6,
                            const uint8_t *data, size_t len);
int vc_sandbox_set_policy(struct vc_ctx *ctx, const char *sandbox_id, const char *policy);
int vc_sandbox_get_diagnostic_data(struct vc_ctx *ctx, const char *sandbox_id, const char *log_type,
                                   const char *container_id, char **ret);
int vc_sandbox_guest_details(struct vc_ctx *ctx, const char *sandbox_id,
                             struct vc_guest_details *ret);
/* Sends the context's wall clock to the guest. */
int vc_sandbox_set_guest_date_time(struct vc_ctx *ctx, const char *sandbox_id);
int vc_sandbox_copy_file(struct vc_ctx *ctx, const char *sandbox_id,
                         const struct vc_copy_file *file);
int vc_sandbox_add_swap(struct vc_ctx *ctx, const char *sandbox_id, const uint32_t *pci_path,
                        size_t n);
int vc_sandbox_update_ephemeral_mounts(struct vc_ctx *ctx, const char *sandbox_id,
                                       const struct vc_mount *mounts, size_t n);

/* --- freeing results -------------------------------------------------------------------------- */

/* Each frees the contents and the struct; NULL-safe. ctx is the context that made them. */
void vc_sandbox_config_free(struct vc_ctx *ctx, struct vc_sandbox_config *cfg);
void vc_sandbox_status_free(struct vc_ctx *ctx, struct vc_sandbox_status *st);
void vc_sandbox_status_list_free(struct vc_ctx *ctx, struct vc_sandbox_status *v, size_t n);
void vc_container_status_free(struct vc_ctx *ctx, struct vc_container_status *st);
/* These free only the contents (the struct is the caller's). */
void vc_process_clear(struct vc_ctx *ctx, struct vc_process *p);
void vc_interface_clear(struct vc_ctx *ctx, struct vc_interface *iface);
void vc_interfaces_free(struct vc_ctx *ctx, struct vc_interface *v, size_t n);
void vc_routes_free(struct vc_ctx *ctx, struct vc_route *v, size_t n);
void vc_guest_details_clear(struct vc_ctx *ctx, struct vc_guest_details *d);
void vc_volume_stats_clear(struct vc_ctx *ctx, struct vc_volume_stats *s);
void vc_device_clear(struct vc_ctx *ctx, struct vc_device *dev);
