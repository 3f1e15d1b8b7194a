/* SPDX-License-Identifier: Apache-2.0 */
/* Sandboxes: the open/act/save/close cycle every API call runs, attaching the hypervisor and
 * agent on demand, vCPU and memory hotplug for container limits, and the sandbox lifecycle
 * (create with rollback, start, stop, pause, resume, delete, status, list). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "schema.h"
#include "sandbox.h"

#define VC_LOG_TOPIC "sandbox"

#define SB_DEFAULT_BOOT_TIMEOUT_MS 30000u

enum vc_state vc_sb_state(const struct vc_sandbox *sb)
{
    int s = vc_state_from_string(sb->doc.state);
    return s < 0 ? VC_STATE_CREATING : (enum vc_state) s;
}

int vc_sb_set_state(struct vc_sandbox *sb, enum vc_state state)
{
    char *name = vc_strdup(sb->ctx, vc_state_to_string(state));

    if (!name)
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    vc_free(sb->ctx, sb->doc.state);
    sb->doc.state = name;
    vc_trace(sb->ctx, "sandbox", "state", "%s %s", sb->id, name);
    return 0;
}

int vc_sb_require(struct vc_sandbox *sb, const char *op, unsigned states)
{
    enum vc_state s = vc_sb_state(sb);

    if (states & VC_BIT(s))
        return 0;
    return vc_err(sb->ctx, -EINVAL, "cannot %s: sandbox '%s' is %s", op, sb->id,
                  vc_state_to_string(s));
}

struct vc_container *vc_sb_container(struct vc_sandbox *sb, const char *cid)
{
    for (size_t i = 0; i < sb->n_containers; i++)
        if (strcmp(sb->containers[i].doc.config.id, cid) == 0)
            return &sb->containers[i];
    return NULL;
}

int vc_sb_find_container(struct vc_sandbox *sb, const char *cid, struct vc_container **ret)
{
    int r = vc_id_validate(sb->ctx, "container", cid);

    if (r < 0)
        return r;
    *ret = vc_sb_container(sb, cid);
    if (!*ret)
        return vc_err(sb->ctx, -ENOENT, "container '%s' does not exist in sandbox '%s'", cid,
                      sb->id);
    return 0;
}

bool vc_sb_is_leftover(const struct vc_sandbox *sb, const char *cid)
{
    for (size_t i = 0; i < sb->doc.n_guest_leftovers; i++)
        if (strcmp(sb->doc.guest_leftovers[i], cid) == 0)
            return true;
    return false;
}

int vc_sb_add_leftover(struct vc_sandbox *sb, const char *cid)
{
    size_t n = sb->doc.n_guest_leftovers;
    char **v, *id;

    if (vc_sb_is_leftover(sb, cid))
        return 0;
    id = vc_strdup(sb->ctx, cid);
    v = id ? vc_realloc(sb->ctx, sb->doc.guest_leftovers, (n + 1) * sizeof(*v)) : NULL;
    if (!v) {
        vc_free(sb->ctx, id);
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    }
    v[n] = id;
    sb->doc.guest_leftovers = v;
    sb->doc.n_guest_leftovers = n + 1;
    vc_trace(sb->ctx, "sandbox", "guest-leftover", "%s/%s", sb->id, cid);
    return 0;
}

void vc_sb_drop_leftover(struct vc_sandbox *sb, const char *cid)
{
    char **v = sb->doc.guest_leftovers;

    for (size_t i = 0; i < sb->doc.n_guest_leftovers; i++) {
        if (strcmp(v[i], cid) != 0)
            continue;
        vc_free(sb->ctx, v[i]);
        memmove(&v[i], &v[i + 1], (sb->doc.n_guest_leftovers - i - 1) * sizeof(*v));
        if (--sb->doc.n_guest_leftovers == 0) {
            vc_free(sb->ctx, v);
            sb->doc.guest_leftovers = NULL;
        }
        return;
    }
}

int vc_sb_reap_leftover(struct vc_sandbox *sb, struct vc_agent *agent, const char *cid)
{
    int r;

    if (!vc_sb_is_leftover(sb, cid))
        return 0;
    r = vc_agent_stop_container(agent, cid);
    if (r < 0 && r != -ENOENT)
        return r;
    vc_err_clear(sb->ctx);
    vc_sb_drop_leftover(sb, cid);
    return 0;
}

/* The VM is known down: nothing is left in its guest. */
static void sb_clear_leftovers(struct vc_sandbox *sb)
{
    vc_strv_free(sb->ctx, sb->doc.guest_leftovers, sb->doc.n_guest_leftovers);
    sb->doc.guest_leftovers = NULL;
    sb->doc.n_guest_leftovers = 0;
}

void vc_sb_free(struct vc_sandbox *sb)
{
    struct vc_ctx *ctx;

    if (!sb)
        return;
    ctx = sb->ctx;
    vc_agent_free(sb->agent);
    vc_hv_free(sb->hv);
    for (size_t i = 0; i < sb->n_containers; i++)
        vc_ct_doc_clear(ctx, &sb->containers[i].doc);
    vc_free(ctx, sb->containers);
    vc_sb_doc_clear(ctx, &sb->doc);
    vc_store_unlock(vc_ctx_store(ctx), sb->lock);
    vc_free(ctx, sb);
}

/* Allocates a sandbox object for id and resolves its backends from cfg's kinds. */
static int sb_new(struct vc_ctx *ctx, const char *id, const struct vc_sandbox_config *cfg,
                  struct vc_sandbox **ret)
{
    struct vc_sandbox *sb;
    int r;

    if (!vc_ctx_store(ctx))
        return vc_err(ctx, -EINVAL, "context has no store");
    sb = vc_new0(ctx, struct vc_sandbox, 1);
    if (!sb)
        return vc_err(ctx, -ENOMEM, "out of memory");
    sb->ctx = ctx;
    memcpy(sb->id, id, strnlen(id, sizeof(sb->id) - 1)); /* zeroed: stays NUL-terminated */
    r = vc_ctx_hv_backend(ctx, cfg->hv.kind, &sb->hvb);
    if (r >= 0)
        r = vc_ctx_agent_backend(ctx, cfg->agent.kind, &sb->agb);
    if (r < 0) {
        vc_sb_free(sb);
        return r;
    }
    *ret = sb;
    return 0;
}

static int sb_load_containers(struct vc_sandbox *sb)
{
    size_t n = sb->doc.n_containers;

    if (!n)
        return 0;
    sb->containers = vc_new0(sb->ctx, struct vc_container, n);
    if (!sb->containers)
        return vc_err(sb->ctx, -ENOMEM, "out of memory");
    for (size_t i = 0; i < sb->doc.n_containers;) {
        char **ids = sb->doc.containers;
        int r = vc_ct_doc_load(sb->ctx, sb->id, ids[i], &sb->containers[i].doc);
        /* A delete cut short (the runtime died) removes container documents before the
         * sandbox's own is saved: a container whose document is gone was deleted. */
        if (r == -ENOENT) {
            vc_trace(sb->ctx, "sandbox", "drop-deleted-container", "%s/%s", sb->id, ids[i]);
            vc_free(sb->ctx, ids[i]);
            memmove(&ids[i], &ids[i + 1], (sb->doc.n_containers - i - 1) * sizeof(*ids));
            sb->doc.n_containers--;
            continue;
        }
        if (r < 0)
            return vc_err_prefix(sb->ctx, r, "sandbox '%s'", sb->id);
        sb->n_containers = ++i;
    }
    if (sb->n_containers < n)
        vc_err_clear(sb->ctx); /* the ENOENTs above were expected */
    return 0;
}

int vc_sb_open(struct vc_ctx *ctx, const char *id, bool exclusive, struct vc_sandbox **ret)
{
    struct vc_sb_doc doc = {0};
    struct vc_sandbox *sb = NULL;
    void *lock = NULL;
    int r;

    r = vc_id_validate(ctx, "sandbox", id);
    if (r < 0)
        return r;
    if (!vc_ctx_store(ctx))
        return vc_err(ctx, -EINVAL, "context has no store");
    r = vc_store_lock(vc_ctx_store(ctx), id, exclusive, false, &lock);
    if (r == -ENOENT)
        return vc_err(ctx, -ENOENT, "sandbox '%s' does not exist", id);
    if (r < 0)
        return r;
    r = vc_sb_doc_load(ctx, id, &doc);
    if (r == -ENOENT)
        r = vc_err(ctx, -ENOENT, "sandbox '%s' does not exist", id);
    if (r < 0)
        goto fail;
    r = sb_new(ctx, id, &doc.config, &sb);
    if (r < 0)
        goto fail;
    sb->doc = doc;
    doc = (struct vc_sb_doc){0};
    sb->lock = lock;
    lock = NULL;
    sb->exclusive = exclusive;
    r = sb_load_containers(sb);
    if (r < 0)
        goto fail;
    *ret = sb;
    return 0;
fail:
    vc_sb_doc_clear(ctx, &doc);
    vc_store_unlock(vc_ctx_store(ctx), lock);
    vc_sb_free(sb);
    return r;
}

/* Refreshes the saved hypervisor and agent state in the document. */
static int sb_capture(struct vc_sandbox *sb)
{
    char *state = NULL;
    int r;

    if (sb->hv) {
        r = vc_hv_save_state(sb->hv, &state);
        if (r < 0)
            return r;
        vc_free(sb->ctx, sb->doc.hv_state);
        sb->doc.hv_state = state;
    }
    if (sb->agent) {
        state = NULL;
        r = vc_agent_save(sb->agent, &state);
        if (r < 0)
            return r;
        vc_free(sb->ctx, sb->doc.agent_state);
        sb->doc.agent_state = state;
    }
    return 0;
}

int vc_sb_save(struct vc_sandbox *sb)
{
    int r = sb_capture(sb);

    if (r < 0)
        return r;
    for (size_t i = 0; i < sb->n_containers; i++) {
        struct vc_container *c = &sb->containers[i];
        if (!c->dirty)
            continue;
        r = vc_ct_doc_save(sb->ctx, sb->id, c->doc.config.id, &c->doc);
        if (r < 0)
            return r;
        c->dirty = false;
    }
    return vc_sb_doc_save(sb->ctx, sb->id, &sb->doc);
}

int vc_sb_close(struct vc_sandbox *sb, bool save)
{
    int r = 0;

    if (!sb)
        return 0;
    if (save)
        r = vc_sb_save(sb);
    if (sb->agent && !vc_agent_long_live_conn(sb->agent))
        (void) vc_agent_disconnect(sb->agent);
    vc_sb_free(sb);
    return r;
}

int vc_sb_finish(struct vc_sandbox *sb, int r)
{
    struct vc_ctx *ctx = sb->ctx;
    struct vc_err_saved err;

    if (r >= 0)
        return vc_sb_close(sb, sb->exclusive);
    /* What happened before the failure did happen (a plugged vCPU, a stopped container):
     * record it, but report the failure itself. */
    vc_err_save(ctx, &err);
    if (vc_sb_close(sb, sb->exclusive) < 0)
        vc_log(ctx, VC_LOG_WARN, "cannot save sandbox after failure: %s", vc_ctx_errmsg(ctx));
    return vc_err_restore(ctx, &err, r);
}

int vc_sb_hv(struct vc_sandbox *sb, struct vc_hv **ret)
{
    int r;

    if (!sb->hv) {
        /* A create or a restart cut short (a crash) may have made the VM before its state was
         * saved: the backend then looks for what this sandbox left by its id alone. */
        if (!sb->doc.hv_state && vc_sb_state(sb) != VC_STATE_CREATING &&
            vc_sb_state(sb) != VC_STATE_STOPPED)
            return vc_err(sb->ctx, -ESRCH, "sandbox '%s' has no vm", sb->id);
        r = vc_hv_load(sb->ctx, &sb->hvb, sb->id, &sb->doc.config.hv, sb->doc.hv_state, &sb->hv);
        /* The VM on record is gone, but a newer one may stand in its place: a start that made
         * a fresh VM and was cut short before saving its state. A sandbox id has one VM at a
         * time, so what the backend finds by the id alone is this sandbox's. */
        if (r == -ESRCH && sb->doc.hv_state)
            r = vc_hv_load(sb->ctx, &sb->hvb, sb->id, &sb->doc.config.hv, NULL, &sb->hv);
        if (r < 0)
            return vc_err_prefix(sb->ctx, r, "sandbox '%s': cannot reattach to vm", sb->id);
    }
    *ret = sb->hv;
    return 0;
}

int vc_sb_agent(struct vc_sandbox *sb, struct vc_agent **ret)
{
    int r;

    if (!sb->agent) {
        if (!sb->doc.agent_state)
            return vc_err(sb->ctx, -ENOTCONN, "sandbox '%s' has no agent", sb->id);
        r = vc_agent_load(sb->ctx, &sb->agb, sb->id, &sb->doc.config.agent, sb->doc.agent_state,
                          &sb->agent);
        if (r < 0)
            return vc_err_prefix(sb->ctx, r, "sandbox '%s': cannot reconnect to agent", sb->id);
        if (sb->doc.agent_url) {
            r = vc_agent_set_agent_url(sb->agent, sb->doc.agent_url);
            if (r < 0)
                return r;
        }
    }
    *ret = sb->agent;
    return 0;
}

/* --- resources --------------------------------------------------------------------------- */

/* vCPUs and MiB the sandbox needs: the boot size plus every container's limits (kata's
 * calculateSandboxCPUs/Memory: CPU from quota/period in milli-CPUs, rounded up). */
static void sb_needed(const struct vc_sandbox *sb, uint32_t *ret_vcpus, uint32_t *ret_mb)
{
    const struct vc_hv_config *hv = &sb->doc.config.hv;
    uint64_t mcpu = 0, mem = 0, vcpus;
    uint32_t max = hv->max_vcpus ? hv->max_vcpus : hv->vcpus;

    for (size_t i = 0; i < sb->n_containers; i++) {
        const struct vc_resources *r = &sb->containers[i].doc.config.resources;
        if (r->cpu_quota > 0 && r->cpu_period > 0)
            mcpu += (uint64_t) r->cpu_quota * 1000 / r->cpu_period;
        if (r->memory_limit > 0)
            mem += (uint64_t) r->memory_limit;
    }
    vcpus = hv->vcpus + (mcpu + 999) / 1000;
    *ret_vcpus = (uint32_t) (vcpus > max ? max : vcpus);
    mem = hv->memory_mb + ((mem + (1u << 20) - 1) >> 20);
    /* Clamped to the ceiling like vCPUs, so a limit beyond it asks once, not on every update. */
    if (hv->max_memory_mb && mem > hv->max_memory_mb)
        mem = hv->max_memory_mb;
    *ret_mb = mem > UINT32_MAX ? UINT32_MAX : (uint32_t) mem;
}

int vc_sb_online(struct vc_sandbox *sb, struct vc_agent *agent, uint32_t cpus,
                 const struct vc_device *dimm)
{
    uint32_t block = sb->doc.mem_block_mb ? sb->doc.mem_block_mb : VC_DEFAULT_MEM_BLOCK_MB;
    int r = 0;

    if (cpus)
        return vc_agent_online_cpu_mem(agent, cpus, true);
    if (dimm->probe || sb->doc.mem_probe)
        r = vc_agent_mem_hotplug_by_probe(agent, dimm->addr, dimm->size_mb, block);
    return r < 0 ? r : vc_agent_online_cpu_mem(agent, 0, false);
}

static int sb_resize_memory(struct vc_sandbox *sb, struct vc_hv *hv, struct vc_agent *agent,
                            uint32_t want_mb)
{
    uint32_t block = sb->doc.mem_block_mb ? sb->doc.mem_block_mb : VC_DEFAULT_MEM_BLOCK_MB;
    struct vc_device dimm = {0};
    uint32_t now_mb = 0;
    int r;

    r = vc_hv_resize_memory(hv, want_mb, block, sb->doc.mem_probe, &now_mb, &dimm);
    if (r >= 0 && now_mb > sb->doc.memory_mb) {
        sb->doc.memory_mb = now_mb;
        r = vc_sb_online(sb, agent, 0, &dimm);
    }
    vc_device_clear(sb->ctx, &dimm);
    return r;
}

int vc_sb_update_resources(struct vc_sandbox *sb)
{
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    uint32_t want_cpus, want_mb, old = 0, now = 0;
    int r;

    sb_needed(sb, &want_cpus, &want_mb);
    if (want_cpus == sb->doc.vcpus && want_mb <= sb->doc.memory_mb)
        return 0;
    r = vc_sb_hv(sb, &hv);
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r < 0)
        return r;
    if (want_cpus != sb->doc.vcpus) {
        r = vc_hv_resize_vcpus(hv, want_cpus, &old, &now);
        if (r < 0)
            return r;
        sb->doc.vcpus = now;
        if (now > old) {
            r = vc_sb_online(sb, agent, now - old, NULL);
            if (r < 0)
                return r;
        }
    }
    if (want_mb > sb->doc.memory_mb)
        return sb_resize_memory(sb, hv, agent, want_mb);
    return 0;
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static int sb_check_config(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg)
{
    const struct vc_hv_config *hv = &cfg->hv;
    int r;

    r = vc_id_validate(ctx, "sandbox", cfg->id);
    if (r < 0)
        return r;
    if (hv->vcpus < 1 || hv->memory_mb < 1)
        return vc_err(ctx, -EINVAL, "sandbox '%s': vcpus and memory must be at least 1", cfg->id);
    if ((hv->max_vcpus && hv->max_vcpus < hv->vcpus) ||
        (hv->max_memory_mb && hv->max_memory_mb < hv->memory_mb))
        return vc_err(ctx, -EINVAL, "sandbox '%s': maximum below boot size", cfg->id);
    for (size_t i = 0; i < cfg->n_containers; i++) {
        r = vc_id_validate(ctx, "container", cfg->containers[i].id);
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->containers[i].id, cfg->containers[j].id) == 0)
                return vc_err(ctx, -EEXIST, "container '%s' appears twice", cfg->containers[i].id);
    }
    return 0;
}

/* Boots the VM and brings up the guest sandbox (kata's startVM + agent.startSandbox). On
 * failure whatever was started is left for sb_teardown. */
static int sb_boot(struct vc_sandbox *sb)
{
    const struct vc_sandbox_config *cfg = &sb->doc.config;
    struct vc_guest_details gd = {0};
    char *url = NULL;
    int r;

    r = vc_hv_create(sb->ctx, &sb->hvb, sb->id, &cfg->hv, &sb->hv);
    /* Recorded before it starts: after a crash during boot the store still knows the VM. */
    if (r >= 0)
        r = sb_capture(sb);
    if (r >= 0)
        r = vc_sb_doc_save(sb->ctx, sb->id, &sb->doc);
    if (r >= 0)
        r = vc_hv_start(sb->hv, cfg->hv.boot_timeout_ms ? cfg->hv.boot_timeout_ms
                                                        : SB_DEFAULT_BOOT_TIMEOUT_MS);
    if (r < 0)
        return r;
    sb->doc.vcpus = cfg->hv.vcpus;
    sb->doc.memory_mb = cfg->hv.memory_mb;
    r = vc_agent_init(sb->ctx, &sb->agb, sb->id, &cfg->agent, &sb->agent);
    if (r < 0)
        return r;
    url = vc_strdup(sb->ctx, cfg->agent.url);
    if (!url && !cfg->agent.url)
        r = vc_hv_agent_endpoint(sb->hv, &url);
    else if (!url)
        r = vc_err(sb->ctx, -ENOMEM, "out of memory");
    if (r < 0)
        return r;
    vc_free(sb->ctx, sb->doc.agent_url);
    sb->doc.agent_url = url;
    r = vc_agent_set_agent_url(sb->agent, url);
    if (r >= 0)
        r = vc_agent_create_sandbox(sb->agent, cfg);
    if (r >= 0)
        r = vc_agent_start_sandbox(sb->agent, cfg);
    if (r < 0)
        return r;
    r = vc_agent_get_guest_details(sb->agent, &gd);
    if (r < 0)
        return r;
    sb->doc.mem_block_mb = (uint32_t) (gd.mem_block_size_bytes >> 20);
    sb->doc.mem_probe = gd.support_mem_hotplug_probe;
    vc_guest_details_clear(sb->ctx, &gd);
    vc_interfaces_free(sb->ctx, sb->doc.interfaces, sb->doc.n_interfaces);
    vc_routes_free(sb->ctx, sb->doc.routes, sb->doc.n_routes);
    sb->doc.interfaces = NULL;
    sb->doc.routes = NULL;
    sb->doc.n_interfaces = sb->doc.n_routes = 0;
    r = vc_obj_array_copy(sb->ctx, &vc_schema_interface, cfg->net.interfaces, cfg->net.n_interfaces,
                          (void **) &sb->doc.interfaces);
    if (r >= 0) {
        sb->doc.n_interfaces = cfg->net.n_interfaces;
        r = vc_obj_array_copy(sb->ctx, &vc_schema_route, cfg->net.routes, cfg->net.n_routes,
                              (void **) &sb->doc.routes);
    }
    if (r < 0)
        return vc_err(sb->ctx, r, "out of memory");
    sb->doc.n_routes = cfg->net.n_routes;
    return 0;
}

/* Stops the VM, on a fresh handle a second time when retry and the first try fails: 0 once it
 * is known down (stopped, or gone: ESRCH), else the last try's error. */
static int sb_stop_vm(struct vc_sandbox *sb, bool retry)
{
    struct vc_hv *hv = NULL;
    int r;

    for (int tries = retry ? 2 : 1;; tries--) {
        r = vc_sb_hv(sb, &hv);
        if (r >= 0)
            r = vc_hv_stop(hv, false);
        if (r >= 0 || r == -ESRCH)
            break;
        if (tries == 1)
            return r;
        vc_trace(sb->ctx, "sandbox", "vm-stop-retry", "%s %s", sb->id, vc_errno_name(r));
        vc_hv_free(sb->hv);
        sb->hv = NULL;
    }
    if (r < 0)
        vc_err_clear(sb->ctx); /* a VM already gone is down */
    return 0;
}

/* Stops the guest sandbox and the VM (kata's stopVM): the agent is told first, and force goes
 * on past its errors. Not past the VM's, unlike kata: a stop must leave the VM known down, so
 * force retries once and otherwise fails, and the caller keeps the state it had (a later stop
 * or delete tries again). With the VM down the guest holds nothing: no leftovers remain. */
static int sb_shutdown(struct vc_sandbox *sb, bool force)
{
    struct vc_agent *agent = NULL;
    int r;

    r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_stop_sandbox(agent);
    if (r < 0 && !force)
        return r;
    r = sb_stop_vm(sb, force);
    if (r < 0)
        return r;
    if (sb->agent)
        (void) vc_agent_disconnect(sb->agent);
    sb_clear_leftovers(sb);
    return 0;
}

/* Undoes a failed create, in reverse order, keeping the error that caused it. */
static void sb_rollback(struct vc_sandbox *sb)
{
    struct vc_ctx *ctx = sb->ctx;
    struct vc_err_saved err;
    bool vm_left = false;
    int r;

    vc_err_save(ctx, &err);
    /* A container the guest cannot remove (the agent died, say) goes with the VM below: each
     * pass takes one container off, so this ends whatever the guest does. */
    while (sb->n_containers) {
        struct vc_container *c = &sb->containers[sb->n_containers - 1];
        if (vc_sb_delete_container(sb, c) < 0)
            vc_sb_forget_container(sb, c);
    }
    if (sb->agent)
        (void) vc_agent_stop_sandbox(sb->agent);
    if (sb->hv) {
        (void) vc_hv_stop(sb->hv, false);
        r = vc_hv_cleanup(sb->hv);
        vm_left = r < 0 && r != -ESRCH;
    }
    if (sb->agent)
        vc_agent_cleanup(sb->agent, sb->id);
    /* A VM the hypervisor could not clean up stays on record (creating, with its state), so
     * delete can finish the job; forgetting it would leave a VM nobody knows. Should this save
     * fail, the record saved before stands (creating as well; delete finds the VM by id). */
    if (vm_left) {
        if (vc_sb_set_state(sb, VC_STATE_CREATING) >= 0)
            (void) vc_sb_save(sb);
        vc_trace(ctx, "sandbox", "rollback", "%s incomplete: kept for delete", sb->id);
        (void) vc_err(ctx, err.code, "%s; rollback incomplete: sandbox '%s' kept for delete",
                      err.msg, sb->id);
        return;
    }
    r = vc_store_remove(vc_ctx_store(ctx), sb->id, NULL);
    if (r < 0 && r != -ENOENT) {
        /* The record could not go: it stays as it was last saved (creating, unless the create
         * got as far as its last save), for delete. */
        vc_trace(ctx, "sandbox", "rollback", "%s incomplete: kept for delete", sb->id);
        (void) vc_err(ctx, err.code, "%s; rollback incomplete: sandbox '%s' kept for delete",
                      err.msg, sb->id);
        return;
    }
    vc_trace(ctx, "sandbox", "rollback", "%s", sb->id);
    (void) vc_err_restore(ctx, &err, err.code);
}

static int sb_create(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg, bool run)
{
    struct vc_sandbox *sb = NULL;
    struct vc_err_saved err;
    char *doc = NULL;
    bool made = false;
    size_t len;
    int r;

    if (!cfg)
        return vc_err(ctx, -EINVAL, "no sandbox config");
    r = sb_check_config(ctx, cfg);
    if (r >= 0)
        r = sb_new(ctx, cfg->id, cfg, &sb);
    if (r < 0)
        return r;
    sb->exclusive = true;
    /* Locking without create first tells whether this call made the sandbox's place, and so
     * must remove it if it fails before anything is stored. */
    r = vc_store_lock(vc_ctx_store(ctx), cfg->id, true, false, &sb->lock);
    if (r == -ENOENT) {
        made = true;
        r = vc_store_lock(vc_ctx_store(ctx), cfg->id, true, true, &sb->lock);
    }
    if (r < 0)
        goto out;
    r = vc_store_get(vc_ctx_store(ctx), cfg->id, NULL, &doc, &len);
    vc_free(ctx, doc);
    if (r != -ENOENT) {
        r = r < 0 ? r : vc_err(ctx, -EEXIST, "sandbox '%s' already exists", cfg->id);
        if (made && r != -EEXIST)
            sb_rollback(sb);
        goto out;
    }
    sb->doc.version = VC_PERSIST_VERSION;
    r = vc_sb_set_state(sb, VC_STATE_CREATING);
    if (r >= 0 && vc_obj_copy(ctx, &vc_schema_sandbox_config, &sb->doc.config, cfg) < 0)
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r < 0)
        goto fail;
    /* Containers are stored in their own documents. */
    vc_obj_array_free(ctx, &vc_schema_container_config, sb->doc.config.containers,
                      sb->doc.config.n_containers);
    sb->doc.config.containers = NULL;
    sb->doc.config.n_containers = 0;
    r = vc_sb_doc_save(ctx, sb->id, &sb->doc);
    if (r >= 0)
        r = sb_boot(sb);
    for (size_t i = 0; r >= 0 && i < cfg->n_containers; i++)
        r = vc_sb_add_container(sb, &cfg->containers[i]);
    if (r >= 0)
        r = vc_sb_set_state(sb, run ? VC_STATE_RUNNING : VC_STATE_READY);
    for (size_t i = 0; run && r >= 0 && i < sb->n_containers; i++)
        r = vc_sb_start_container(sb, &sb->containers[i]);
    if (r >= 0)
        r = vc_sb_save(sb);
    if (r < 0)
        goto fail;
    vc_log(ctx, VC_LOG_DEBUG, "sandbox '%s' created", sb->id);
out:
    if (r >= 0) {
        (void) vc_sb_close(sb, false);
        return r;
    }
    /* A failed disconnect in close must not replace the error (it may say "kept for delete"). */
    vc_err_save(ctx, &err);
    (void) vc_sb_close(sb, false);
    return vc_err_restore(ctx, &err, r);
fail:
    sb_rollback(sb);
    goto out;
}

int vc_sandbox_create(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg)
{
    return sb_create(ctx, cfg, false);
}

int vc_sandbox_run(struct vc_ctx *ctx, const struct vc_sandbox_config *cfg)
{
    return sb_create(ctx, cfg, true);
}

/* A restart that failed: the new VM goes again and everything is stopped, as before it. When
 * the new VM will not stop, it runs on and the record says so: the sandbox stays up (ready
 * when the restart did not get as far as running it) with what the guest was given. */
static void sb_reboot_undo(struct vc_sandbox *sb)
{
    struct vc_err_saved err;
    int r = 0;

    vc_err_save(sb->ctx, &err);
    if (sb->agent)
        (void) vc_agent_stop_sandbox(sb->agent);
    if (sb->hv)
        r = sb_stop_vm(sb, true);
    if (r < 0) {
        if (vc_sb_state(sb) == VC_STATE_STOPPED)
            (void) vc_sb_set_state(sb, VC_STATE_READY);
        (void) vc_err_restore(sb->ctx, &err, err.code);
        return;
    }
    if (sb->hv && vc_hv_cleanup(sb->hv) >= 0) {
        vc_free(sb->ctx, sb->doc.hv_state);
        sb->doc.hv_state = NULL;
        vc_hv_free(sb->hv); /* nothing of it is left to save */
        sb->hv = NULL;
    }
    sb_clear_leftovers(sb);
    for (size_t i = 0; i < sb->n_containers; i++)
        if (vc_ct_state(&sb->containers[i]) != VC_STATE_STOPPED)
            (void) vc_ct_set_state(sb->ctx, &sb->containers[i], VC_STATE_STOPPED);
    (void) vc_sb_set_state(sb, VC_STATE_STOPPED);
    (void) vc_err_restore(sb->ctx, &err, err.code);
}

/* Brings a stopped sandbox back: boots a new VM and recreates its containers in the guest. On
 * failure the caller undoes it (sb_reboot_undo). */
static int sb_reboot(struct vc_sandbox *sb)
{
    struct vc_process proc = {0};
    int r;

    vc_agent_free(sb->agent);
    vc_hv_free(sb->hv);
    sb->agent = NULL;
    sb->hv = NULL;
    if (sb->doc.hv_state) {
        struct vc_hv *old;
        if (vc_hv_load(sb->ctx, &sb->hvb, sb->id, &sb->doc.config.hv, sb->doc.hv_state, &old) >=
            0) {
            (void) vc_hv_stop(old, false); /* stopped on record, but make sure */
            (void) vc_hv_cleanup(old);
            vc_hv_free(old);
        }
    }
    r = sb_boot(sb);
    for (size_t i = 0; r >= 0 && i < sb->n_containers; i++) {
        struct vc_container *c = &sb->containers[i];
        r = vc_agent_create_container(sb->agent, &c->doc.config, &proc);
        if (r < 0)
            break;
        vc_process_clear(sb->ctx, &c->doc.process);
        c->doc.process = proc;
        proc = (struct vc_process){0};
        r = vc_ct_set_state(sb->ctx, c, VC_STATE_READY);
    }
    if (r >= 0)
        r = vc_sb_update_resources(sb);
    return r;
}

int vc_sandbox_start(struct vc_ctx *ctx, const char *sandbox_id)
{
    struct vc_sandbox *sb;
    enum vc_state prev;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    prev = vc_sb_state(sb);
    /* The table lets paused move to running, but only resume wakes a paused VM. */
    if (prev == VC_STATE_PAUSED)
        r = vc_err(ctx, -EINVAL, "cannot start: sandbox '%s' is paused (resume it)", sb->id);
    else
        r = vc_state_transition(ctx, "sandbox", prev, VC_STATE_RUNNING);
    if (r >= 0 && prev == VC_STATE_STOPPED)
        r = sb_reboot(sb);
    if (r >= 0)
        r = vc_sb_set_state(sb, VC_STATE_RUNNING);
    for (size_t i = 0; r >= 0 && i < sb->n_containers; i++) {
        struct vc_container *c = &sb->containers[i];
        if (vc_ct_state(c) == VC_STATE_READY || vc_ct_state(c) == VC_STATE_STOPPED)
            r = vc_sb_start_container(sb, c);
    }
    /* kata restores the previous state when a container fails to start. A stopped sandbox
     * got a new VM for it, which goes again first: stopped is recorded once it is down. */
    if (r < 0 && prev == VC_STATE_STOPPED)
        sb_reboot_undo(sb);
    else if (r < 0 && vc_state_valid(prev))
        (void) vc_sb_set_state(sb, prev);
    return vc_sb_finish(sb, r);
}

/* The body of stop, for callers that hold the sandbox open. */
static int sb_stop(struct vc_sandbox *sb, bool force)
{
    enum vc_state s = vc_sb_state(sb);
    int r;

    if (s == VC_STATE_STOPPED)
        return 0;
    if (s == VC_STATE_CREATING)
        return vc_err(sb->ctx, -EINVAL, "cannot stop: sandbox '%s' is creating", sb->id);
    r = vc_state_transition(sb->ctx, "sandbox", s, VC_STATE_STOPPED);
    if (r < 0)
        return r;
    for (size_t i = sb->n_containers; i-- > 0;) {
        r = vc_sb_stop_container(sb, &sb->containers[i], force);
        if (r < 0 && !force)
            return r;
    }
    r = sb_shutdown(sb, force);
    if (r < 0)
        return r;
    return vc_sb_set_state(sb, VC_STATE_STOPPED);
}

int vc_sandbox_stop(struct vc_ctx *ctx, const char *sandbox_id, bool force)
{
    struct vc_sandbox *sb;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, sb_stop(sb, force));
}

/* The body of delete: containers, the VM (stopped first if still up), the store. */
static int sb_delete(struct vc_sandbox *sb)
{
    enum vc_state s = vc_sb_state(sb);
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    int r;

    r = vc_sb_require(sb, "delete",
                      VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_PAUSED) | VC_BIT(VC_STATE_STOPPED) |
                          VC_BIT(VC_STATE_CREATING));
    /* In a stopped sandbox nothing runs, whatever a container's own document says (a crash
     * between the saves of a stop or a start leaves it behind). */
    for (size_t i = 0; r >= 0 && i < sb->n_containers; i++)
        r = vc_ct_require(sb->ctx, &sb->containers[i], "delete",
                          s == VC_STATE_STOPPED
                              ? VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_STOPPED) |
                                    VC_BIT(VC_STATE_RUNNING) | VC_BIT(VC_STATE_PAUSED)
                              : VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_STOPPED));
    if (r < 0)
        return r;
    while (sb->n_containers) {
        struct vc_container *c = &sb->containers[sb->n_containers - 1];
        enum vc_state cs = vc_ct_state(c);
        /* The VM of a stopped sandbox is down: nothing of its containers is left in a guest. */
        if (s == VC_STATE_STOPPED && cs != VC_STATE_STOPPED) {
            vc_sb_forget_container(sb, c);
            continue;
        }
        r = vc_sb_delete_container(sb, c);
        if (r < 0)
            return r;
    }
    /* A VM still up (ready, paused, or a create cut short) is stopped so none is left, and
     * the sandbox is stopped on record at once: should a later step fail, vc_sb_finish saves
     * a true record and the next delete finishes. A VM that will not stop fails the delete,
     * the state kept. A create or restart cut short may not have saved the VM's state:
     * vc_sb_hv then finds it by id, and finds nothing (ESRCH) when there is none. */
    if (s != VC_STATE_STOPPED && (sb->doc.hv_state || s == VC_STATE_CREATING)) {
        r = sb_shutdown(sb, true);
        if (r >= 0)
            r = vc_sb_set_state(sb, VC_STATE_STOPPED);
        if (r < 0)
            return r;
    }
    r = vc_sb_hv(sb, &hv);
    /* A record saved by an older version may say stopped over a running VM (a forced stop
     * went on past a failed VM stop): stopping a stopped VM is harmless, and cleanup needs it
     * down. */
    if (r >= 0 && s == VC_STATE_STOPPED)
        (void) vc_hv_stop(hv, false);
    if (r >= 0)
        r = vc_hv_cleanup(hv);
    if (r < 0 && r != -ESRCH)
        return r;
    if (vc_sb_agent(sb, &agent) >= 0)
        vc_agent_cleanup(agent, sb->id);
    return vc_store_remove(vc_ctx_store(sb->ctx), sb->id, NULL);
}

int vc_sandbox_delete(struct vc_ctx *ctx, const char *sandbox_id)
{
    struct vc_sandbox *sb;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    r = sb_delete(sb);
    /* What was deleted before a failure stays deleted: finish saves the rest. */
    if (r >= 0)
        sb->exclusive = false; /* the document is gone: nothing to save */
    return vc_sb_finish(sb, r);
}

static int sb_toggle_pause(struct vc_ctx *ctx, const char *sandbox_id, bool pause)
{
    enum vc_state from = pause ? VC_STATE_RUNNING : VC_STATE_PAUSED;
    enum vc_state to = pause ? VC_STATE_PAUSED : VC_STATE_RUNNING;
    struct vc_sandbox *sb;
    struct vc_hv *hv = NULL;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, pause ? "pause" : "resume", VC_BIT(from));
    if (r >= 0)
        r = vc_sb_hv(sb, &hv);
    if (r >= 0)
        r = pause ? vc_hv_pause(hv) : vc_hv_resume(hv);
    for (size_t i = 0; r >= 0 && i < sb->n_containers; i++) {
        struct vc_container *c = &sb->containers[i];
        if (pause && vc_ct_state(c) == VC_STATE_RUNNING) {
            c->doc.paused_by_sandbox = true;
            r = vc_ct_set_state(ctx, c, VC_STATE_PAUSED);
        } else if (!pause && c->doc.paused_by_sandbox) {
            c->doc.paused_by_sandbox = false;
            r = vc_ct_set_state(ctx, c, VC_STATE_RUNNING);
        }
    }
    if (r >= 0)
        r = vc_sb_set_state(sb, to);
    return vc_sb_finish(sb, r);
}

int vc_sandbox_pause(struct vc_ctx *ctx, const char *sandbox_id)
{
    return sb_toggle_pause(ctx, sandbox_id, true);
}

int vc_sandbox_resume(struct vc_ctx *ctx, const char *sandbox_id)
{
    return sb_toggle_pause(ctx, sandbox_id, false);
}

/* --- status ---------------------------------------------------------------------------------- */

static int ct_status(struct vc_ctx *ctx, const struct vc_container *c,
                     struct vc_container_status *st)
{
    *st = (struct vc_container_status){
        .state = (int32_t) vc_ct_state(c),
        .pid = c->doc.process.pid,
        .start_time_ns = c->doc.process.start_time_ns,
    };
    st->id = vc_strdup(ctx, c->doc.config.id);
    st->rootfs = vc_strdup(ctx, c->doc.config.rootfs);
    if (!st->id || (c->doc.config.rootfs && !st->rootfs) ||
        vc_obj_array_copy(ctx, &vc_schema_annotation, c->doc.config.annotations,
                          c->doc.config.n_annotations, (void **) &st->annotations) < 0) {
        vc_obj_clear(ctx, &vc_schema_container_status, st);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    st->n_annotations = st->annotations ? c->doc.config.n_annotations : 0;
    return 0;
}

static int sb_status_leftovers(const struct vc_sandbox *sb, struct vc_sandbox_status *st)
{
    size_t n = sb->doc.n_guest_leftovers;

    st->guest_leftovers = vc_new0(sb->ctx, char *, n);
    if (!st->guest_leftovers)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        st->guest_leftovers[i] = vc_strdup(sb->ctx, sb->doc.guest_leftovers[i]);
        if (!st->guest_leftovers[i])
            return -ENOMEM;
        st->n_guest_leftovers = i + 1;
    }
    return 0;
}

/* Fills st (zeroed by the caller) from an open sandbox. */
static int sb_status(struct vc_sandbox *sb, struct vc_sandbox_status *st)
{
    struct vc_ctx *ctx = sb->ctx;
    const struct vc_sandbox_config *cfg = &sb->doc.config;
    int r = 0;

    st->state = (int32_t) vc_sb_state(sb);
    st->vcpus = sb->doc.vcpus;
    st->memory_mb = sb->doc.memory_mb;
    st->id = vc_strdup(ctx, sb->id);
    st->hv_kind = vc_strdup(ctx, sb->hvb.ops->name);
    st->agent_kind = vc_strdup(ctx, sb->agb.ops->name);
    st->agent_url = vc_strdup(ctx, sb->doc.agent_url);
    if (!st->id || !st->hv_kind || !st->agent_kind || (sb->doc.agent_url && !st->agent_url))
        r = -ENOMEM;
    if (r >= 0 && sb->n_containers) {
        st->containers = vc_new0(ctx, struct vc_container_status, sb->n_containers);
        r = st->containers ? 0 : -ENOMEM;
    }
    for (size_t i = 0; r >= 0 && i < sb->n_containers; i++) {
        r = ct_status(ctx, &sb->containers[i], &st->containers[i]);
        if (r >= 0)
            st->n_containers = i + 1;
    }
    if (r >= 0 && vc_obj_array_copy(ctx, &vc_schema_annotation, cfg->annotations,
                                    cfg->n_annotations, (void **) &st->annotations) < 0)
        r = -ENOMEM;
    if (r >= 0)
        st->n_annotations = st->annotations ? cfg->n_annotations : 0;
    if (r >= 0 && sb->doc.n_guest_leftovers)
        r = sb_status_leftovers(sb, st);
    if (r < 0) {
        vc_obj_clear(ctx, &vc_schema_sandbox_status, st);
        return vc_err(ctx, r, "out of memory");
    }
    return 0;
}

int vc_sandbox_fetch(struct vc_ctx *ctx, const char *sandbox_id, struct vc_sandbox_config **ret_cfg,
                     struct vc_sandbox_status **ret_status)
{
    struct vc_sandbox_config *cfg = NULL;
    struct vc_sandbox_status *st = NULL;
    struct vc_sandbox *sb;
    int r;

    r = vc_sb_open(ctx, sandbox_id, false, &sb);
    if (r < 0)
        return r;
    if (ret_cfg) {
        cfg = vc_new0(ctx, struct vc_sandbox_config, 1);
        r = cfg ? vc_obj_copy(ctx, &vc_schema_sandbox_config, cfg, &sb->doc.config) : -ENOMEM;
        if (r >= 0 && sb->n_containers) {
            cfg->containers = vc_new0(ctx, struct vc_container_config, sb->n_containers);
            r = cfg->containers ? 0 : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < sb->n_containers; i++) {
            r = vc_obj_copy(ctx, &vc_schema_container_config, &cfg->containers[i],
                            &sb->containers[i].doc.config);
            if (r >= 0)
                cfg->n_containers = i + 1;
        }
        if (r < 0)
            r = vc_err(ctx, -ENOMEM, "out of memory");
    }
    if (r >= 0 && ret_status) {
        st = vc_new0(ctx, struct vc_sandbox_status, 1);
        r = st ? sb_status(sb, st) : vc_err(ctx, -ENOMEM, "out of memory");
    }
    vc_sb_free(sb);
    if (r < 0) {
        vc_sandbox_config_free(ctx, cfg);
        vc_sandbox_status_free(ctx, st);
        return r;
    }
    if (ret_cfg)
        *ret_cfg = cfg;
    if (ret_status)
        *ret_status = st;
    return 0;
}

int vc_sandbox_status(struct vc_ctx *ctx, const char *sandbox_id, struct vc_sandbox_status **ret)
{
    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    return vc_sandbox_fetch(ctx, sandbox_id, NULL, ret);
}

int vc_sandbox_list(struct vc_ctx *ctx, struct vc_sandbox_status **ret, size_t *ret_n)
{
    struct vc_sandbox_status *v = NULL;
    char **ids = NULL;
    size_t n_ids = 0, n = 0;
    int r;

    if (!ret || !ret_n)
        return vc_err(ctx, -EINVAL, "no result pointer");
    if (!vc_ctx_store(ctx))
        return vc_err(ctx, -EINVAL, "context has no store");
    r = vc_store_list(vc_ctx_store(ctx), NULL, &ids, &n_ids);
    if (r < 0)
        return r;
    if (n_ids) {
        v = vc_new0(ctx, struct vc_sandbox_status, n_ids);
        if (!v)
            r = vc_err(ctx, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; r >= 0 && i < n_ids; i++) {
        struct vc_sandbox *sb;

        r = vc_sb_open(ctx, ids[i], false, &sb);
        if (r == -ENOENT) { /* deleted since the listing, or a create that never saved */
            r = 0;
            continue;
        }
        if (r >= 0) {
            r = sb_status(sb, &v[n]);
            vc_sb_free(sb);
        }
        if (r >= 0)
            n++;
    }
    vc_strv_free(ctx, ids, n_ids);
    if (r < 0) {
        vc_sandbox_status_list_free(ctx, v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* --- freeing ---------------------------------------------------------------------------------- */

void vc_sandbox_config_free(struct vc_ctx *ctx, struct vc_sandbox_config *cfg)
{
    if (!cfg)
        return;
    vc_obj_clear(ctx, &vc_schema_sandbox_config, cfg);
    vc_free(ctx, cfg);
}

void vc_sandbox_status_free(struct vc_ctx *ctx, struct vc_sandbox_status *st)
{
    if (!st)
        return;
    vc_obj_clear(ctx, &vc_schema_sandbox_status, st);
    vc_free(ctx, st);
}

void vc_sandbox_status_list_free(struct vc_ctx *ctx, struct vc_sandbox_status *v, size_t n)
{
    vc_obj_array_free(ctx, &vc_schema_sandbox_status, v, n);
}

void vc_container_status_free(struct vc_ctx *ctx, struct vc_container_status *st)
{
    if (!st)
        return;
    vc_obj_clear(ctx, &vc_schema_container_status, st);
    vc_free(ctx, st);
}

void vc_process_clear(struct vc_ctx *ctx, struct vc_process *p)
{
    vc_obj_clear(ctx, &vc_schema_process, p);
}

void vc_interface_clear(struct vc_ctx *ctx, struct vc_interface *iface)
{
    vc_obj_clear(ctx, &vc_schema_interface, iface);
}

void vc_interfaces_free(struct vc_ctx *ctx, struct vc_interface *v, size_t n)
{
    vc_obj_array_free(ctx, &vc_schema_interface, v, n);
}

void vc_routes_free(struct vc_ctx *ctx, struct vc_route *v, size_t n)
{
    vc_obj_array_free(ctx, &vc_schema_route, v, n);
}

void vc_guest_details_clear(struct vc_ctx *ctx, struct vc_guest_details *d)
{
    vc_obj_clear(ctx, &vc_schema_guest_details, d);
}

void vc_volume_stats_clear(struct vc_ctx *ctx, struct vc_volume_stats *s)
{
    vc_obj_clear(ctx, &vc_schema_volume_stats, s);
}

void vc_device_clear(struct vc_ctx *ctx, struct vc_device *dev)
{
    vc_obj_clear(ctx, &vc_schema_device, dev);
}

/* --- cleanup ------------------------------------------------------------------------------- */

int vc_container_cleanup(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                         bool force)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    int r;

    r = vc_id_validate(ctx, "container", container_id);
    if (r >= 0)
        r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    r = vc_sb_find_container(sb, container_id, &c);
    if (r < 0)
        return vc_sb_finish(sb, r);
    /* kata: when the VM is gone, the agent is marked dead so nothing waits on it. Only the
     * hypervisor's word that it is gone counts (ESRCH, as vc_sandbox_check): a check that
     * failed otherwise says nothing, and the guest is asked as usual. */
    if (vc_sb_hv(sb, &hv) >= 0 && vc_hv_check(hv) == -ESRCH) {
        if (vc_sb_agent(sb, &agent) >= 0)
            vc_agent_mark_dead(agent);
    }
    vc_err_clear(sb->ctx);
    r = vc_sb_stop_container(sb, c, force);
    if (r >= 0)
        r = vc_sb_delete_container(sb, c);
    if (r >= 0 && sb->n_containers == 0) {
        r = sb_stop(sb, true);
        if (r >= 0)
            r = sb_delete(sb);
        if (r >= 0)
            sb->exclusive = false; /* the document is gone: nothing to save */
    }
    return vc_sb_finish(sb, r);
}

/* --- monitor ------------------------------------------------------------------------------- */

/* The VM died: the agent can no longer answer, so the sandbox and every container that lived in
 * the guest are stopped (what kata's shim does when its watcher reports the VM gone). */
static int sb_vm_died(struct vc_sandbox *sb)
{
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    int r;

    if (vc_sb_agent(sb, &agent) >= 0)
        vc_agent_mark_dead(agent);
    /* The remains (a stopped VM the hypervisor still lists) go with it; a VM that left nothing
     * cannot be stopped, and that is fine. */
    if (vc_sb_hv(sb, &hv) >= 0)
        (void) vc_hv_stop(hv, false);
    for (size_t i = 0; i < sb->n_containers; i++) {
        struct vc_container *c = &sb->containers[i];
        if (vc_ct_state(c) != VC_STATE_STOPPED) {
            r = vc_ct_set_state(sb->ctx, c, VC_STATE_STOPPED);
            if (r < 0)
                return r;
        }
    }
    r = vc_sb_set_state(sb, VC_STATE_STOPPED);
    if (r < 0)
        return r;
    sb_clear_leftovers(sb);
    vc_trace(sb->ctx, "sandbox", "vm-died", "%s", sb->id);
    return vc_err(sb->ctx, -ESRCH, "vm of sandbox '%s' died", sb->id);
}

int vc_sandbox_check(struct vc_ctx *ctx, const char *sandbox_id)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    struct vc_hv *hv = NULL;
    enum vc_state s;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    s = vc_sb_state(sb);
    if (s != VC_STATE_READY && s != VC_STATE_RUNNING && s != VC_STATE_PAUSED)
        return vc_sb_finish(sb, 0);
    r = vc_sb_hv(sb, &hv);
    if (r >= 0)
        r = vc_hv_check(hv);
    if (r == -ESRCH)
        return vc_sb_finish(sb, sb_vm_died(sb));
    /* A paused guest cannot answer; its VM being there is all that can be checked. */
    if (r >= 0 && s != VC_STATE_PAUSED) {
        r = vc_sb_agent(sb, &agent);
        if (r >= 0)
            r = vc_agent_check(agent);
    }
    return vc_sb_finish(sb, r);
}
