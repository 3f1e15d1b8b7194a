/* SPDX-License-Identifier: Apache-2.0 */
/* The step table and its executors: one short function per runtime API entry point and per
 * world step. Each returns the step's rc and leaves what the step gave (output, count, exit
 * status, a JSON result, a failed world check) in the outcome. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mockagent/host.h>
#include <simhv/disk.h>
#include <simhv/fault.h>
#include <simhv/hv.h>

#include "run.h"
#include "value.h"

#define READ_CHUNK 4096u      /* bytes per stdio read */
#define READ_MAX   (1u << 20) /* most bytes a read step collects */

typedef int vcsim_read_fn(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                          const char *exec_id, void *buf, size_t len, size_t *ret_len);

static struct vc_ctx *X(struct vcsim_run *run)
{
    return vcsim_run_vc(run);
}

static int out_text(struct vcsim_outcome *out, const void *s, size_t len)
{
    out->output = malloc(len + 1);
    if (!out->output)
        return -ENOMEM;
    memcpy(out->output, s, len);
    out->output[len] = '\0';
    out->output_len = len;
    return 0;
}

/* Takes a string the runtime returned: it becomes the output and is freed on ctx. */
static int out_take(struct vcsim_run *run, struct vcsim_outcome *out, char *s, size_t len)
{
    int r = out_text(out, s ? s : "", s ? len : 0);

    vc_free(X(run), s);
    return r;
}

static int out_json(struct vcsim_run *run, struct vcsim_outcome *out, const struct vc_schema *sc,
                    const void *obj)
{
    return vc_obj_to_json(run->sc->mem, sc, obj, &out->result);
}

static int out_json_array(struct vcsim_run *run, struct vcsim_outcome *out,
                          const struct vc_schema *sc, const void *v, size_t n)
{
    json_object *j;
    int r;

    out->has_count = true;
    out->count = n;
    out->result = json_object_new_array();
    if (!out->result)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r = vc_obj_to_json(run->sc->mem, sc, (const char *) v + i * sc->size, &j);
        if (r < 0)
            return r;
        (void) json_object_array_add(out->result, j);
    }
    return 0;
}

static int fail_check(struct vcsim_outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail_check(struct vcsim_outcome *out, const char *fmt, ...)
{
    va_list ap;

    if (out->fail[0])
        return 0;
    va_start(ap, fmt);
    (void) vsnprintf(out->fail, sizeof(out->fail), fmt, ap);
    va_end(ap);
    return 0;
}

/* --- sandboxes ----------------------------------------------------------------------------- */

static int ex_create_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    return vc_sandbox_create(X(run), st->args.obj);
}

static int ex_run_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    return vc_sandbox_run(X(run), st->args.obj);
}

static int ex_start_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    return vc_sandbox_start(X(run), st->args.id);
}

static int ex_stop_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    return vc_sandbox_stop(X(run), st->args.id, st->args.force);
}

static int ex_delete_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    return vc_sandbox_delete(X(run), st->args.id);
}

static int ex_pause_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    return vc_sandbox_pause(X(run), st->args.id);
}

static int ex_resume_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    return vc_sandbox_resume(X(run), st->args.id);
}

static int ex_check_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    return vc_sandbox_check(X(run), st->args.id);
}

static int ex_fetch_sandbox(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    struct vc_sandbox_config *cfg = NULL;
    struct vc_sandbox_status *sst = NULL;
    json_object *j = NULL;
    int r;

    r = vc_sandbox_fetch(X(run), st->args.id, &cfg, &sst);
    if (r >= 0)
        r = out_json(run, out, &vc_schema_sandbox_status, sst);
    if (r >= 0)
        r = vc_obj_to_json(run->sc->mem, &vc_schema_sandbox_config, cfg, &j);
    if (r >= 0)
        json_object_object_add(out->result, "config", j);
    vc_sandbox_config_free(X(run), cfg);
    vc_sandbox_status_free(X(run), sst);
    return r;
}

static int ex_sandbox_status(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    struct vc_sandbox_status *sst;
    int r = vc_sandbox_status(X(run), st->args.id, &sst);

    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_sandbox_status, sst);
    vc_sandbox_status_free(X(run), sst);
    return r;
}

static int ex_list_sandboxes(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    struct vc_sandbox_status *v;
    size_t n;
    int r = vc_sandbox_list(X(run), &v, &n);

    if (r < 0)
        return r;
    r = out_json_array(run, out, &vc_schema_sandbox_status, v, n);
    vc_sandbox_status_list_free(X(run), v, n);
    return r;
}

/* --- containers ---------------------------------------------------------------------------- */

static int ex_create_container(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    return vc_container_create(X(run), st->args.sandbox, st->args.obj);
}

static int ex_start_container(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    return vc_container_start(X(run), st->args.sandbox, st->args.id);
}

static int ex_stop_container(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    return vc_container_stop(X(run), st->args.sandbox, st->args.id, st->args.force);
}

static int ex_delete_container(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    return vc_container_delete(X(run), st->args.sandbox, st->args.id);
}

static int ex_pause_container(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    return vc_container_pause(X(run), st->args.sandbox, st->args.id);
}

static int ex_resume_container(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    return vc_container_resume(X(run), st->args.sandbox, st->args.id);
}

static int ex_container_status(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    struct vc_container_status *cst;
    int r = vc_container_status(X(run), st->args.sandbox, st->args.id, &cst);

    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_container_status, cst);
    vc_container_status_free(X(run), cst);
    return r;
}

static int ex_stats_container(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    struct vc_container_stats stats = {0};
    int r = vc_container_stats(X(run), st->args.sandbox, st->args.id, &stats);

    return r < 0 ? r : out_json(run, out, &vc_schema_container_stats, &stats);
}

static int ex_kill_container(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    int sig = vcsim_step_given(st, "signal") ? st->args.signal : SIGTERM;

    return vc_container_kill(X(run), st->args.sandbox, st->args.id, sig, st->args.all);
}

static int ex_process_list(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    const struct vc_ps_options *ps = st->args.obj;
    char *text = NULL;
    int r;

    if (ps && !ps->format && !ps->n_args)
        ps = NULL;
    r = vc_container_process_list(X(run), st->args.sandbox, st->args.id, ps, &text);
    return r < 0 ? r : out_take(run, out, text, text ? strlen(text) : 0);
}

static int ex_update_container(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    const struct vc_resources none = {0};
    const struct vc_resources *res = st->args.vec ? st->args.vec : &none;

    return vc_container_update(X(run), st->args.sandbox, st->args.id, res);
}

static int ex_cleanup_container(struct vcsim_run *run, const struct vcsim_step *st,
                                struct vcsim_outcome *out)
{
    return vc_container_cleanup(X(run), st->args.sandbox, st->args.id, st->args.force);
}

/* --- processes ----------------------------------------------------------------------------- */

/* The exec id a process step names: the container's init when none is given. */
static const char *ex_exec_id(const struct vcsim_step *st)
{
    return st->args.exec_id ? st->args.exec_id : st->args.container;
}

static int ex_exec(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out)
{
    struct vc_process p = {0};
    int r;

    r = vc_container_enter(X(run), st->args.sandbox, st->args.container, st->args.exec_id,
                           st->args.obj, &p);
    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_process, &p);
    vc_process_clear(X(run), &p);
    return r;
}

static int ex_wait_process(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    int r =
        vc_process_wait(X(run), st->args.sandbox, st->args.container, ex_exec_id(st), &out->status);

    out->has_status = r >= 0;
    return r;
}

static int ex_signal_process(struct vcsim_run *run, const struct vcsim_step *st,
                             struct vcsim_outcome *out)
{
    int sig = vcsim_step_given(st, "signal") ? st->args.signal : SIGTERM;

    return vc_process_signal(X(run), st->args.sandbox, st->args.container, ex_exec_id(st), sig,
                             st->args.all);
}

static int ex_winsize_process(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    return vc_process_winsize(X(run), st->args.sandbox, st->args.container, ex_exec_id(st),
                              st->args.rows, st->args.columns);
}

static int ex_write_stdin(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    size_t done = 0, n;
    int r = 0;

    while (r >= 0 && done < st->args.data_len) {
        r = vc_process_write_stdin(X(run), st->args.sandbox, st->args.container, ex_exec_id(st),
                                   st->args.data + done, st->args.data_len - done, &n);
        if (r >= 0 && n == 0)
            r = -EPIPE;
        done += r >= 0 ? n : 0;
    }
    return r;
}

static int ex_close_stdin(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    return vc_process_close_stdin(X(run), st->args.sandbox, st->args.container, ex_exec_id(st));
}

/* Reads until the end of the stream, or max bytes when given. */
static int ex_read(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out,
                   vcsim_read_fn *fn)
{
    uint64_t max = vcsim_step_given(st, "max") ? st->args.max : READ_MAX;
    struct vcsim_buf b = {0};
    char chunk[READ_CHUNK];
    size_t n = 1;
    int r = 0;

    if (max > READ_MAX)
        max = READ_MAX;
    while (r >= 0 && n > 0 && b.len < max) {
        size_t want = max - b.len < sizeof(chunk) ? max - b.len : sizeof(chunk);
        r = fn(X(run), st->args.sandbox, st->args.container, ex_exec_id(st), chunk, want, &n);
        if (r >= 0)
            vcsim_buf_add(&b, chunk, n);
    }
    if (r >= 0)
        r = b.oom ? -ENOMEM : out_text(out, b.data ? b.data : "", b.len);
    vcsim_buf_clear(&b);
    return r;
}

static int ex_read_stdout(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    return ex_read(run, st, out, vc_process_read_stdout);
}

static int ex_read_stderr(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    return ex_read(run, st, out, vc_process_read_stderr);
}

/* --- devices and network ------------------------------------------------------------------- */

static int ex_add_device(struct vcsim_run *run, const struct vcsim_step *st,
                         struct vcsim_outcome *out)
{
    return vc_sandbox_add_device(X(run), st->args.sandbox, st->args.obj);
}

static int ex_add_interface(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    struct vc_interface ret = {0};
    int r = vc_sandbox_add_interface(X(run), st->args.sandbox, st->args.obj, &ret);

    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_interface, &ret);
    vc_interface_clear(X(run), &ret);
    return r;
}

static int ex_remove_interface(struct vcsim_run *run, const struct vcsim_step *st,
                               struct vcsim_outcome *out)
{
    return vc_sandbox_remove_interface(X(run), st->args.sandbox, st->args.name);
}

static int ex_list_interfaces(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    struct vc_interface *v;
    size_t n;
    int r = vc_sandbox_list_interfaces(X(run), st->args.sandbox, &v, &n);

    if (r < 0)
        return r;
    r = out_json_array(run, out, &vc_schema_interface, v, n);
    vc_interfaces_free(X(run), v, n);
    return r;
}

static int ex_list_routes(struct vcsim_run *run, const struct vcsim_step *st,
                          struct vcsim_outcome *out)
{
    struct vc_route *v;
    size_t n;
    int r = vc_sandbox_list_routes(X(run), st->args.sandbox, &v, &n);

    if (r < 0)
        return r;
    r = out_json_array(run, out, &vc_schema_route, v, n);
    vc_routes_free(X(run), v, n);
    return r;
}

static int ex_update_routes(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    struct vc_route *v;
    size_t n;
    int r =
        vc_sandbox_update_routes(X(run), st->args.sandbox, st->args.vec, st->args.n_vec, &v, &n);

    if (r < 0)
        return r;
    r = out_json_array(run, out, &vc_schema_route, v, n);
    vc_routes_free(X(run), v, n);
    return r;
}

/* --- guest services ------------------------------------------------------------------------ */

static int ex_get_oom_event(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    char *id = NULL;
    int r = vc_sandbox_get_oom_event(X(run), st->args.sandbox, &id);

    return r < 0 ? r : out_take(run, out, id, id ? strlen(id) : 0);
}

static int ex_get_agent_metrics(struct vcsim_run *run, const struct vcsim_step *st,
                                struct vcsim_outcome *out)
{
    char *text = NULL;
    int r = vc_sandbox_get_agent_metrics(X(run), st->args.sandbox, &text);

    return r < 0 ? r : out_take(run, out, text, text ? strlen(text) : 0);
}

static int ex_guest_volume_stats(struct vcsim_run *run, const struct vcsim_step *st,
                                 struct vcsim_outcome *out)
{
    struct vc_volume_stats vs = {0};
    int r = vc_sandbox_guest_volume_stats(X(run), st->args.sandbox, st->args.path, &vs);

    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_volume_stats, &vs);
    vc_volume_stats_clear(X(run), &vs);
    return r;
}

static int ex_resize_guest_volume(struct vcsim_run *run, const struct vcsim_step *st,
                                  struct vcsim_outcome *out)
{
    return vc_sandbox_resize_guest_volume(X(run), st->args.sandbox, st->args.path, st->args.size);
}

static int ex_get_iptables(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int r = vc_sandbox_get_iptables(X(run), st->args.sandbox, st->args.ipv6, &data, &len);

    return r < 0 ? r : out_take(run, out, (char *) data, len);
}

static int ex_set_iptables(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    return vc_sandbox_set_iptables(X(run), st->args.sandbox, st->args.ipv6,
                                   (const uint8_t *) st->args.data, st->args.data_len);
}

static int ex_set_policy(struct vcsim_run *run, const struct vcsim_step *st,
                         struct vcsim_outcome *out)
{
    return vc_sandbox_set_policy(X(run), st->args.sandbox, st->args.policy);
}

static int ex_get_diagnostic_data(struct vcsim_run *run, const struct vcsim_step *st,
                                  struct vcsim_outcome *out)
{
    char *text = NULL;
    int r = vc_sandbox_get_diagnostic_data(X(run), st->args.sandbox, st->args.log_type,
                                           st->args.container, &text);

    return r < 0 ? r : out_take(run, out, text, text ? strlen(text) : 0);
}

static int ex_guest_details(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    struct vc_guest_details gd = {0};
    int r = vc_sandbox_guest_details(X(run), st->args.sandbox, &gd);

    if (r < 0)
        return r;
    r = out_json(run, out, &vc_schema_guest_details, &gd);
    vc_guest_details_clear(X(run), &gd);
    return r;
}

static int ex_set_guest_date_time(struct vcsim_run *run, const struct vcsim_step *st,
                                  struct vcsim_outcome *out)
{
    return vc_sandbox_set_guest_date_time(X(run), st->args.sandbox);
}

static int ex_copy_file(struct vcsim_run *run, const struct vcsim_step *st,
                        struct vcsim_outcome *out)
{
    return vc_sandbox_copy_file(X(run), st->args.sandbox, st->args.obj);
}

static int ex_add_swap(struct vcsim_run *run, const struct vcsim_step *st,
                       struct vcsim_outcome *out)
{
    return vc_sandbox_add_swap(X(run), st->args.sandbox, st->args.pci_path, st->args.n_pci_path);
}

static int ex_update_ephemeral_mounts(struct vcsim_run *run, const struct vcsim_step *st,
                                      struct vcsim_outcome *out)
{
    return vc_sandbox_update_ephemeral_mounts(X(run), st->args.sandbox, st->args.vec,
                                              st->args.n_vec);
}

/* --- world steps --------------------------------------------------------------------------- */

static int ex_advance(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out)
{
    uint64_t now = simhv_world_now(run->world);
    uint64_t end = UINT64_MAX - now < st->args.duration ? UINT64_MAX : now + st->args.duration;

    return simhv_world_run_until(run->world, end);
}

static int ex_crash_vm(struct vcsim_run *run, const struct vcsim_step *st,
                       struct vcsim_outcome *out)
{
    return simhv_world_crash_vm(run->world, st->args.sandbox);
}

static int ex_crash_host(struct vcsim_run *run, const struct vcsim_step *st,
                         struct vcsim_outcome *out)
{
    struct simhv_fault_hit hit = {.action = SIMHV_ACTION_HOST_CRASH};

    /* The world carries the crash out as the host_crash fault would; the runtime dies with
     * it and the step loop restarts it. */
    (void) simhv_world_fault_apply(run->world, run->rctx, "host.crash", &hit);
    return simhv_ctx_crashed(run->rctx) ? 0 : vcsim_run_restart(run);
}

static int ex_restart_runtime(struct vcsim_run *run, const struct vcsim_step *st,
                              struct vcsim_outcome *out)
{
    return vcsim_run_restart(run);
}

/* The guest that runs sandbox_id's VM, or NULL. */
static struct magent_guest *ex_guest(struct vcsim_run *run, const char *sandbox_id)
{
    for (size_t i = 0; i < magent_host_guest_count(run->host); i++) {
        struct magent_guest *g = magent_host_guest_at(run->host, i);
        if (g && strcmp(magent_guest_sandbox_id(g), sandbox_id) == 0)
            return g;
    }
    return NULL;
}

static int ex_oom(struct vcsim_run *run, const struct vcsim_step *st, struct vcsim_outcome *out)
{
    struct magent_guest *g = ex_guest(run, st->args.sandbox);

    return g ? magent_guest_oom(g, st->args.container) : -ENOENT;
}

static void ex_vm_fields(const struct vcsim_step *st, const struct simhv_vm *vm,
                         struct vcsim_outcome *out)
{
    if (vcsim_step_given(st, "state") && vm->state != st->args.vm_state)
        fail_check(out, "VM state %s, expected %s", vc_vm_state_to_string(vm->state),
                   vc_vm_state_to_string(st->args.vm_state));
    if (vcsim_step_given(st, "vcpus") && vm->vcpus != st->args.vcpus)
        fail_check(out, "VM has %" PRIu32 " vCPUs, expected %" PRIu64, vm->vcpus, st->args.vcpus);
    if (vcsim_step_given(st, "memory_mb") && vm->memory_mb != st->args.memory_mb)
        fail_check(out, "VM has %" PRIu32 " MiB, expected %" PRIu64, vm->memory_mb,
                   st->args.memory_mb);
    if (vcsim_step_given(st, "devices") && vm->n_devices != st->args.devices)
        fail_check(out, "VM has %" PRIu32 " devices, expected %" PRIu64, vm->n_devices,
                   st->args.devices);
    if (st->args.console && (!vm->console || !strstr(vm->console, st->args.console)))
        fail_check(out, "VM console does not contain '%s'", st->args.console);
}

static int ex_expect_vm(struct vcsim_run *run, const struct vcsim_step *st,
                        struct vcsim_outcome *out)
{
    const struct simhv_vm *vm = simhv_world_vm(run->world, st->args.sandbox);
    bool want = vcsim_step_given(st, "exists") ? st->args.exists : true;

    if (!vm != !want)
        return fail_check(out, "VM of '%s' %s", st->args.sandbox,
                          vm ? "exists, expected none" : "does not exist");
    if (vm)
        ex_vm_fields(st, vm, out);
    return 0;
}

static void ex_guest_container(struct magent_guest *g, const struct vcsim_kv *kv,
                               struct vcsim_outcome *out)
{
    struct magent_ct_view v;
    const char *have;

    have = magent_guest_container(g, kv->key, &v) < 0
               ? "absent"
               : magent_ct_state_to_string((enum magent_ct_state) v.state);
    if (!kv->value || strcmp(have, kv->value) != 0)
        fail_check(out, "guest container '%s' is %s, expected %s", kv->key, have,
                   kv->value ? kv->value : "a state");
}

static void ex_guest_numbers(const struct vcsim_step *st, struct magent_guest *g,
                             struct vcsim_outcome *out)
{
    if (vcsim_step_given(st, "online_vcpus") &&
        magent_guest_online_vcpus(g) != st->args.online_vcpus)
        fail_check(out, "guest has %" PRIu32 " vCPUs online, expected %" PRIu64,
                   magent_guest_online_vcpus(g), st->args.online_vcpus);
    if (vcsim_step_given(st, "online_memory_mb") &&
        magent_guest_online_memory_mb(g) != st->args.online_memory_mb)
        fail_check(out, "guest has %" PRIu32 " MiB online, expected %" PRIu64,
                   magent_guest_online_memory_mb(g), st->args.online_memory_mb);
    if (vcsim_step_given(st, "pending_oom") && magent_guest_pending_oom(g) != st->args.pending_oom)
        fail_check(out, "guest has %zu pending OOM events, expected %" PRIu64,
                   magent_guest_pending_oom(g), st->args.pending_oom);
}

static int ex_expect_guest(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    struct magent_guest *g = ex_guest(run, st->args.sandbox);
    bool up = g && magent_guest_sandbox_up(g);

    if (vcsim_step_given(st, "up") && up != st->args.up)
        return fail_check(out, "guest sandbox of '%s' is %s, expected %s", st->args.sandbox,
                          up ? "up" : "not up", st->args.up ? "up" : "not up");
    if (!g)
        return st->args.n_kvs || !vcsim_step_given(st, "up")
                   ? fail_check(out, "no guest for sandbox '%s'", st->args.sandbox)
                   : 0;
    for (size_t i = 0; i < st->args.n_kvs; i++)
        ex_guest_container(g, &st->args.kvs[i], out);
    ex_guest_numbers(st, g, out);
    return 0;
}

/* Compares a stored id list with the expected one (both sorted by the caller's order). */
static void ex_ids(struct vcsim_outcome *out, const char *what, char **want, size_t n_want,
                   const char *const *have, size_t n_have)
{
    bool same = n_want == n_have;
    struct vcsim_buf b = {0};

    for (size_t i = 0; same && i < n_want; i++) {
        bool found = false;
        for (size_t j = 0; j < n_have && !found; j++)
            found = strcmp(want[i], have[j]) == 0;
        same = found;
    }
    if (same)
        return;
    for (size_t j = 0; j < n_have; j++)
        vcsim_buf_printf(&b, "%s%s", j ? ", " : "", have[j]);
    fail_check(out, "%s holds [%s], expected %zu entries", what, b.data ? b.data : "", n_want);
    vcsim_buf_clear(&b);
}

static void ex_store_containers(struct vcsim_run *run, const struct vcsim_kv *kv,
                                const struct vc_sandbox_status *v, size_t n,
                                struct vcsim_outcome *out)
{
    const char *ids[256];
    char what[VC_ID_MAX + 32];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].id, kv->key) != 0)
            continue;
        for (size_t j = 0; j < v[i].n_containers && k < 256; j++)
            ids[k++] = v[i].containers[j].id;
    }
    (void) snprintf(what, sizeof(what), "store of '%s'", kv->key);
    ex_ids(out, what, kv->list, kv->n_list, ids, k);
}

static int ex_expect_store(struct vcsim_run *run, const struct vcsim_step *st,
                           struct vcsim_outcome *out)
{
    struct vc_sandbox_status *v = NULL;
    const char *ids[256];
    size_t n = 0;
    int r;

    simhv_ctx_suspend_faults(run->rctx, true);
    r = vc_sandbox_list(X(run), &v, &n);
    simhv_ctx_suspend_faults(run->rctx, false);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && i < 256; i++)
        ids[i] = v[i].id;
    if (vcsim_step_given(st, "sandboxes"))
        ex_ids(out, "store", st->args.sandboxes, st->args.n_sandboxes, ids, n < 256 ? n : 256);
    for (size_t i = 0; i < st->args.n_kvs; i++)
        ex_store_containers(run, &st->args.kvs[i], v, n, out);
    vc_sandbox_status_list_free(X(run), v, n);
    return 0;
}

static int ex_expect_faults(struct vcsim_run *run, const struct vcsim_step *st,
                            struct vcsim_outcome *out)
{
    for (size_t i = 0; i < st->args.n_kvs; i++) {
        const struct vcsim_kv *kv = &st->args.kvs[i];
        const struct simhv_fault_rule *f = vcsim_run_fault(run, kv->key);
        char *end;
        unsigned long long want = kv->value ? strtoull(kv->value, &end, 10) : 0;
        if (!f)
            return fail_check(out, "no fault rule '%s'", kv->key);
        if (!kv->value || *end || kv->value[0] < '0' || kv->value[0] > '9')
            return fail_check(out, "fault '%s': expected a count", kv->key);
        if (f->fired != want)
            fail_check(out, "fault '%s' fired %" PRIu64 " times, expected %llu", kv->key, f->fired,
                       want);
    }
    return 0;
}

/* --- the table ----------------------------------------------------------------------------- */

#define SB  VCSIM_TGT_SANDBOX
#define SBC VCSIM_TGT_SANDBOX_CFG
#define SBA VCSIM_TGT_SANDBOX_ARG
#define CT  VCSIM_TGT_CONTAINER
#define CTC VCSIM_TGT_CONTAINER_CFG
#define PR  VCSIM_TGT_PROCESS
#define NO  VCSIM_TGT_NONE
#define OUT VCSIM_OUT_OUTPUT
#define CNT VCSIM_OUT_COUNT
#define RES VCSIM_OUT_RESULT
#define WLD VCSIM_OUT_WORLD

static const struct vcsim_step_desc step_table[] = {
    {"create_sandbox", NULL, "", "", &vc_schema_sandbox_config, SBC, VCSIM_OUT_CREATE,
     ex_create_sandbox},
    {"run_sandbox", NULL, "", "", &vc_schema_sandbox_config, SBC, VCSIM_OUT_CREATE, ex_run_sandbox},
    {"start_sandbox", "id", "id", "id", NULL, SB, 0, ex_start_sandbox},
    {"stop_sandbox", "id", "id force", "id", NULL, SB, 0, ex_stop_sandbox},
    {"delete_sandbox", "id", "id", "id", NULL, SB, VCSIM_OUT_DELETE, ex_delete_sandbox},
    {"pause_sandbox", "id", "id", "id", NULL, SB, 0, ex_pause_sandbox},
    {"resume_sandbox", "id", "id", "id", NULL, SB, 0, ex_resume_sandbox},
    {"fetch_sandbox", "id", "id", "id", NULL, SB, RES, ex_fetch_sandbox},
    {"sandbox_status", "id", "id", "id", NULL, SB, RES, ex_sandbox_status},
    {"list_sandboxes", NULL, "", "", NULL, NO, CNT | RES, ex_list_sandboxes},
    {"check_sandbox", "id", "id", "id", NULL, SB, 0, ex_check_sandbox},
    {"create_container", NULL, "sandbox", "sandbox", &vc_schema_container_config, CTC, 0,
     ex_create_container},
    {"start_container", NULL, "sandbox id", "sandbox id", NULL, CT, 0, ex_start_container},
    {"stop_container", NULL, "sandbox id force", "sandbox id", NULL, CT, 0, ex_stop_container},
    {"delete_container", NULL, "sandbox id", "sandbox id", NULL, CT, 0, ex_delete_container},
    {"pause_container", NULL, "sandbox id", "sandbox id", NULL, CT, 0, ex_pause_container},
    {"resume_container", NULL, "sandbox id", "sandbox id", NULL, CT, 0, ex_resume_container},
    {"container_status", NULL, "sandbox id", "sandbox id", NULL, CT, RES, ex_container_status},
    {"stats_container", NULL, "sandbox id", "sandbox id", NULL, CT, RES, ex_stats_container},
    {"kill_container", NULL, "sandbox id signal all", "sandbox id", NULL, CT, 0, ex_kill_container},
    {"process_list", NULL, "sandbox id", "sandbox id", &vc_schema_ps_options, CT, OUT,
     ex_process_list},
    {"update_container", NULL, "sandbox id resources", "sandbox id", NULL, CT, 0,
     ex_update_container},
    {"cleanup_container", NULL, "sandbox id force", "sandbox id", NULL, CT, 0,
     ex_cleanup_container},
    {"exec", NULL, "sandbox container exec_id", "sandbox container", &vc_schema_process_config, PR,
     RES, ex_exec},
    {"wait_process", NULL, "sandbox container exec_id", "sandbox container", NULL, PR,
     VCSIM_OUT_STATUS, ex_wait_process},
    {"signal_process", NULL, "sandbox container exec_id signal all", "sandbox container", NULL, PR,
     0, ex_signal_process},
    {"winsize_process", NULL, "sandbox container exec_id rows columns", "sandbox container", NULL,
     PR, 0, ex_winsize_process},
    {"write_stdin", NULL, "sandbox container exec_id data", "sandbox container data", NULL, PR, 0,
     ex_write_stdin},
    {"close_stdin", NULL, "sandbox container exec_id", "sandbox container", NULL, PR, 0,
     ex_close_stdin},
    {"read_stdout", NULL, "sandbox container exec_id max", "sandbox container", NULL, PR, OUT,
     ex_read_stdout},
    {"read_stderr", NULL, "sandbox container exec_id max", "sandbox container", NULL, PR, OUT,
     ex_read_stderr},
    {"add_device", NULL, "sandbox", "sandbox", &vc_schema_device, SBA, 0, ex_add_device},
    {"add_interface", NULL, "sandbox", "sandbox", &vc_schema_interface, SBA, RES, ex_add_interface},
    {"remove_interface", NULL, "sandbox name", "sandbox name", NULL, SBA, 0, ex_remove_interface},
    {"list_interfaces", "sandbox", "sandbox", "sandbox", NULL, SBA, CNT | RES, ex_list_interfaces},
    {"list_routes", "sandbox", "sandbox", "sandbox", NULL, SBA, CNT | RES, ex_list_routes},
    {"update_routes", NULL, "sandbox routes", "sandbox", NULL, SBA, CNT | RES, ex_update_routes},
    {"get_oom_event", "sandbox", "sandbox", "sandbox", NULL, SBA, OUT, ex_get_oom_event},
    {"get_agent_metrics", "sandbox", "sandbox", "sandbox", NULL, SBA, OUT, ex_get_agent_metrics},
    {"guest_volume_stats", NULL, "sandbox path", "sandbox path", NULL, SBA, RES,
     ex_guest_volume_stats},
    {"resize_guest_volume", NULL, "sandbox path size", "sandbox path size", NULL, SBA, 0,
     ex_resize_guest_volume},
    {"get_iptables", NULL, "sandbox ipv6", "sandbox", NULL, SBA, OUT, ex_get_iptables},
    {"set_iptables", NULL, "sandbox ipv6 data", "sandbox data", NULL, SBA, 0, ex_set_iptables},
    {"set_policy", NULL, "sandbox policy", "sandbox policy", NULL, SBA, 0, ex_set_policy},
    {"get_diagnostic_data", NULL, "sandbox log_type container", "sandbox", NULL, SBA, OUT,
     ex_get_diagnostic_data},
    {"guest_details", "sandbox", "sandbox", "sandbox", NULL, SBA, RES, ex_guest_details},
    {"set_guest_date_time", "sandbox", "sandbox", "sandbox", NULL, SBA, 0, ex_set_guest_date_time},
    {"copy_file", NULL, "sandbox", "sandbox", &vc_schema_copy_file, SBA, 0, ex_copy_file},
    {"add_swap", NULL, "sandbox pci_path", "sandbox pci_path", NULL, SBA, 0, ex_add_swap},
    {"update_ephemeral_mounts", NULL, "sandbox mounts", "sandbox mounts", NULL, SBA, 0,
     ex_update_ephemeral_mounts},
    {"advance", "duration", "duration", "duration", NULL, NO, WLD, ex_advance},
    {"crash_vm", "sandbox", "sandbox", "sandbox", NULL, NO, WLD, ex_crash_vm},
    {"crash_host", NULL, "", "", NULL, NO, WLD, ex_crash_host},
    {"restart_runtime", NULL, "", "", NULL, NO, WLD, ex_restart_runtime},
    {"oom", NULL, "sandbox container", "sandbox container", NULL, NO, WLD, ex_oom},
    {"expect_vm", "sandbox", "sandbox exists state vcpus memory_mb devices console", "sandbox",
     NULL, NO, WLD, ex_expect_vm},
    {"expect_guest", "sandbox", "sandbox up containers online_vcpus online_memory_mb pending_oom",
     "sandbox", NULL, NO, WLD, ex_expect_guest},
    {"expect_store", NULL, "sandboxes containers", "", NULL, NO, WLD, ex_expect_store},
    {"expect_faults", NULL, "", "", NULL, NO, WLD, ex_expect_faults},
};

const struct vcsim_step_desc *vcsim_step_desc_find(const char *name)
{
    for (size_t i = 0; i < sizeof(step_table) / sizeof(step_table[0]); i++)
        if (strcmp(step_table[i].name, name) == 0)
            return &step_table[i];
    return NULL;
}
