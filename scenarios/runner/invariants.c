/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor pass and the invariants checked after every step (FORMAT.md, "invariants"): the
 * store read through the API on the runtime context with faults suspended, compared with the
 * world's VMs, the mock agent's guests, and the runtime's allocations, locks and watches. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <mockagent/host.h>
#include <simhv/disk.h>
#include <simhv/hv.h>

#include "run.h"

/* What one invariant pass looks at. */
struct inv_pass {
    struct vcsim_run *run;         /* the run */
    struct vc_sandbox_status *sbs; /* stored sandboxes */
    size_t n;                      /* number of sbs */
    char *msg;                     /* first violation */
    size_t len;                    /* bytes in msg */
};

static bool inv_live(int32_t state)
{
    return state == VC_STATE_READY || state == VC_STATE_RUNNING || state == VC_STATE_PAUSED;
}

static bool inv_vm_dead(const struct simhv_vm *vm)
{
    return !vm || vm->crashed || vm->state == VC_VM_STATE_STOPPED;
}

static bool inv_on(const struct inv_pass *p, enum vcsim_invariant inv)
{
    return !p->msg[0] && !((p->run->sc->skip | p->run->opts->skip) & (1u << inv));
}

static void inv_fail(struct inv_pass *p, enum vcsim_invariant inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void inv_fail(struct inv_pass *p, enum vcsim_invariant inv, const char *fmt, ...)
{
    char m[VCSIM_DIAG_MAX];
    va_list ap;

    if (p->msg[0])
        return;
    va_start(ap, fmt);
    (void) vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    (void) snprintf(p->msg, p->len, "invariant %s: %s", vcsim_invariant_name(inv), m);
}

void vcsim_run_monitor(struct vcsim_run *run)
{
    struct vc_sandbox_status *v = NULL;
    size_t n = 0;

    simhv_ctx_suspend_faults(run->rctx, true);
    if (vc_sandbox_list(vcsim_run_vc(run), &v, &n) >= 0) {
        for (size_t i = 0; i < n; i++)
            if (inv_live(v[i].state) && inv_vm_dead(simhv_world_vm(run->world, v[i].id)))
                (void) vc_sandbox_check(vcsim_run_vc(run), v[i].id);
        vc_sandbox_status_list_free(vcsim_run_vc(run), v, n);
    }
    simhv_ctx_suspend_faults(run->rctx, false);
}

static struct magent_guest *inv_guest_of(struct vcsim_run *run, const char *sandbox_id)
{
    for (size_t i = 0; i < magent_host_guest_count(run->host); i++) {
        struct magent_guest *g = magent_host_guest_at(run->host, i);
        if (g && strcmp(magent_guest_sandbox_id(g), sandbox_id) == 0)
            return g;
    }
    return NULL;
}

static const struct vc_sandbox_status *inv_stored(const struct inv_pass *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->sbs[i].id, id) == 0)
            return &p->sbs[i];
    return NULL;
}

/* store_matches_vm, no_lost_vm, resources_add_up for one stored sandbox. */
static void inv_sandbox_vm(struct inv_pass *p, const struct vc_sandbox_status *sb)
{
    const struct simhv_vm *vm = simhv_world_vm(p->run->world, sb->id);
    int32_t want = sb->state == VC_STATE_PAUSED ? VC_VM_STATE_PAUSED : VC_VM_STATE_RUNNING;

    if (inv_live(sb->state) && inv_vm_dead(vm) && inv_on(p, VCSIM_INV_NO_LOST_VM))
        inv_fail(p, VCSIM_INV_NO_LOST_VM, "sandbox '%s' is %s but its VM %s", sb->id,
                 vc_state_to_string(sb->state), vm ? "died" : "is gone");
    if (inv_live(sb->state) && !inv_vm_dead(vm) && vm->state != want &&
        inv_on(p, VCSIM_INV_STORE_MATCHES_VM))
        inv_fail(p, VCSIM_INV_STORE_MATCHES_VM, "sandbox '%s' is %s but its VM is %s", sb->id,
                 vc_state_to_string(sb->state), vc_vm_state_to_string(vm->state));
    if (sb->state == VC_STATE_STOPPED && vm && !vm->crashed &&
        (vm->state == VC_VM_STATE_RUNNING || vm->state == VC_VM_STATE_PAUSED) &&
        inv_on(p, VCSIM_INV_STORE_MATCHES_VM))
        inv_fail(p, VCSIM_INV_STORE_MATCHES_VM, "sandbox '%s' is stopped but its VM is %s", sb->id,
                 vc_vm_state_to_string(vm->state));
    if (inv_live(sb->state) && !inv_vm_dead(vm) && inv_on(p, VCSIM_INV_RESOURCES_ADD_UP) &&
        (sb->vcpus != vm->vcpus || sb->memory_mb != vm->memory_mb))
        inv_fail(p, VCSIM_INV_RESOURCES_ADD_UP,
                 "sandbox '%s' stores %" PRIu32 " vCPUs %" PRIu32 " MiB, its VM has %" PRIu32
                 " vCPUs %" PRIu32 " MiB",
                 sb->id, sb->vcpus, sb->memory_mb, vm->vcpus, vm->memory_mb);
}

/* Stored container state against the guest's. A stored running container may have exited in
 * the guest (the runtime learns it only when it waits); pausing a sandbox freezes its VM, not
 * the containers in the guest. */
static bool inv_ct_states_agree(int32_t stored, int32_t guest, bool vm_paused)
{
    switch (stored) {
    case VC_STATE_READY:
        return guest == MAGENT_CT_CREATED;
    case VC_STATE_RUNNING:
        return guest == MAGENT_CT_RUNNING || guest == MAGENT_CT_STOPPED;
    case VC_STATE_PAUSED:
        return guest == MAGENT_CT_PAUSED || guest == MAGENT_CT_STOPPED ||
               (vm_paused && guest == MAGENT_CT_RUNNING);
    default:
        return guest == MAGENT_CT_STOPPED;
    }
}

/* A forced operation went on past a guest that did not confirm a container's removal, and the
 * sandbox records its id: the guest may hold it although the store lacks it or says stopped. */
static bool inv_leftover(const struct vc_sandbox_status *sb, const char *cid)
{
    for (size_t i = 0; i < sb->n_guest_leftovers; i++)
        if (strcmp(sb->guest_leftovers[i], cid) == 0)
            return true;
    return false;
}

static void inv_guest_containers(struct inv_pass *p, const struct vc_sandbox_status *sb,
                                 struct magent_guest *g)
{
    struct magent_ct_view v;

    for (size_t i = 0; i < sb->n_containers && inv_on(p, VCSIM_INV_GUEST_MATCHES_STORE); i++) {
        const struct vc_container_status *c = &sb->containers[i];
        bool there = magent_guest_container(g, c->id, &v) >= 0;
        if (!there && inv_live(c->state))
            inv_fail(p, VCSIM_INV_GUEST_MATCHES_STORE,
                     "container '%s/%s' is stored %s but the guest does not have it", sb->id, c->id,
                     vc_state_to_string(c->state));
        else if (there && !inv_ct_states_agree(c->state, v.state, sb->state == VC_STATE_PAUSED) &&
                 !(c->state == VC_STATE_STOPPED && inv_leftover(sb, c->id)))
            inv_fail(p, VCSIM_INV_GUEST_MATCHES_STORE,
                     "container '%s/%s' is stored %s but is %s in the guest", sb->id, c->id,
                     vc_state_to_string(c->state), magent_ct_state_to_string(v.state));
    }
    for (size_t i = 0; i < magent_guest_container_count(g); i++) {
        bool stored = false;
        if (magent_guest_container_at(g, i, &v) < 0)
            continue;
        for (size_t j = 0; j < sb->n_containers && !stored; j++)
            stored = strcmp(sb->containers[j].id, v.id) == 0;
        stored = stored || inv_leftover(sb, v.id);
        if (!stored && inv_on(p, VCSIM_INV_GUEST_MATCHES_STORE))
            inv_fail(p, VCSIM_INV_GUEST_MATCHES_STORE,
                     "the guest of '%s' runs container '%s' that is not stored", sb->id, v.id);
    }
}

/* guest_matches_store and the guest half of resources_add_up for every guest. */
static void inv_guests(struct inv_pass *p)
{
    for (size_t i = 0; i < magent_host_guest_count(p->run->host); i++) {
        struct magent_guest *g = magent_host_guest_at(p->run->host, i);
        const char *id = g ? magent_guest_sandbox_id(g) : NULL;
        const struct vc_sandbox_status *sb = id ? inv_stored(p, id) : NULL;
        if (!g || !magent_guest_sandbox_up(g))
            continue;
        if ((!sb || sb->state == VC_STATE_STOPPED) && inv_on(p, VCSIM_INV_GUEST_MATCHES_STORE))
            inv_fail(p, VCSIM_INV_GUEST_MATCHES_STORE, "sandbox '%s' is %s but its guest is up", id,
                     sb ? "stopped" : "not stored");
        if (sb && inv_live(sb->state))
            inv_guest_containers(p, sb, g);
        if (inv_on(p, VCSIM_INV_RESOURCES_ADD_UP) &&
            (magent_guest_online_vcpus(g) > magent_guest_vcpus(g) ||
             magent_guest_online_memory_mb(g) > magent_guest_memory_mb(g)))
            inv_fail(p, VCSIM_INV_RESOURCES_ADD_UP,
                     "the guest of '%s' has more online than plugged", id);
    }
}

static void inv_orphans(struct inv_pass *p)
{
    for (size_t i = 0; i < simhv_world_vm_count(p->run->world); i++) {
        const struct simhv_vm *vm = simhv_world_vm_at(p->run->world, i);
        if (vm && !inv_stored(p, vm->sandbox_id) && inv_on(p, VCSIM_INV_NO_ORPHAN_VM))
            inv_fail(p, VCSIM_INV_NO_ORPHAN_VM, "VM %" PRIu32 " of sandbox '%s' is not stored",
                     vm->n, vm->sandbox_id);
    }
}

/* failed_create_leaves_nothing and delete_leaves_nothing. */
static void inv_leaves_nothing(struct inv_pass *p, const struct vcsim_step *st, int rc)
{
    struct vcsim_run *run = p->run;
    enum vcsim_invariant inv = VCSIM_INV_DELETE;
    const char *sb, *ct;

    vcsim_step_target(st, &sb, &ct);
    if (!sb || run->crashed)
        return;
    if ((st->desc->out & VCSIM_OUT_CREATE) && rc < 0 && !run->existed_before)
        inv = VCSIM_INV_FAILED_CREATE;
    else if (!((st->desc->out & VCSIM_OUT_DELETE) && rc >= 0))
        return;
    if (!inv_on(p, inv))
        return;
    /* A rollback that could not clean the VM up keeps the sandbox for delete and says so
     * (the settle then checks that delete can finish); anything else left is a violation. */
    if (inv == VCSIM_INV_FAILED_CREATE && inv_stored(p, sb) &&
        inv_stored(p, sb)->state == VC_STATE_CREATING && run->errmsg &&
        strstr(run->errmsg, "kept for delete"))
        return;
    if (inv_stored(p, sb))
        inv_fail(p, inv, "sandbox '%s' is still stored", sb);
    else if (simhv_world_vm(run->world, sb))
        inv_fail(p, inv, "sandbox '%s' still has a VM", sb);
    else if (inv_guest_of(run, sb))
        inv_fail(p, inv, "sandbox '%s' still has a guest", sb);
}

static void inv_leaks(struct inv_pass *p)
{
    struct vcsim_run *run = p->run;
    size_t allocs = simhv_ctx_live_allocs(run->rctx);

    if (!inv_on(p, VCSIM_INV_NO_LEAKS))
        return;
    if (allocs != run->baseline_allocs)
        inv_fail(p, VCSIM_INV_NO_LEAKS, "the runtime holds %zd allocations (%zu at its start)",
                 (ssize_t) allocs, run->baseline_allocs);
    else if (simhv_disk_lock_count(run->world))
        inv_fail(p, VCSIM_INV_NO_LEAKS, "%zu store locks held between steps",
                 simhv_disk_lock_count(run->world));
    else if (simhv_ctx_watch_count(run->rctx))
        inv_fail(p, VCSIM_INV_NO_LEAKS, "the runtime left %zu I/O watches between steps",
                 simhv_ctx_watch_count(run->rctx));
}

void vcsim_run_invariants(struct vcsim_run *run, const struct vcsim_step *st, int rc, char *msg,
                          size_t len)
{
    struct inv_pass p = {.run = run, .msg = msg, .len = len};
    int r;

    msg[0] = '\0';
    /* The leak check comes first: the listing below allocates on the runtime's context. */
    inv_leaks(&p);
    simhv_ctx_suspend_faults(run->rctx, true);
    r = vc_sandbox_list(vcsim_run_vc(run), &p.sbs, &p.n);
    simhv_ctx_suspend_faults(run->rctx, false);
    if (r < 0) {
        (void) snprintf(msg, len, "runner: cannot list the store: %s: %s", vc_errno_name(r),
                        vc_ctx_errmsg(vcsim_run_vc(run)));
        return;
    }
    for (size_t i = 0; i < p.n; i++)
        inv_sandbox_vm(&p, &p.sbs[i]);
    inv_orphans(&p);
    inv_guests(&p);
    if (st)
        inv_leaves_nothing(&p, st, rc);
    vc_sandbox_status_list_free(vcsim_run_vc(run), p.sbs, p.n);
}
