/* SPDX-License-Identifier: Apache-2.0 */
/* The "sim" hypervisor (hv.h): QEMU's rules over the world's VMs, with a boot model on virtual
 * time, a console, and a guest provider told of boots, halts, pauses and resources. Handles and
 * the strings they hand out come from the context's allocator; the VMs, which outlive
 * contexts, from plain malloc. Every operation costs hv_op_ns of virtual time, during which
 * the world's pending events run. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/hv.h>
#include <vc/types.h>

#include "cleanup.h"
#include "schema.h"
#include "world_priv.h"

#define HV_DIMM_BASE (UINT64_C(4) << 30) /* guest physical address of the first DIMM */

/* A handle: names its VM by sandbox id and creation number, so a VM made again under the same
 * sandbox id is not mistaken for the one the handle was made for. */
struct simhv_hv {
    struct vc_hv base;     /* first member: what core sees */
    struct simhv_world *w; /* the registration data (borrowed) */
    char *sandbox_id;      /* the VM's key (ctx allocator) */
    uint32_t n;            /* the VM's creation number */
};

static struct simhv_hv *hv_of(struct vc_hv *hv)
{
    return VC_CONTAINER_OF(hv, struct simhv_hv, base);
}

/* --- the world's VMs ------------------------------------------------------------------------ */

static size_t vm_index(const struct simhv_world *w, const char *sandbox_id)
{
    for (size_t i = 0; i < w->n_vms; i++)
        if (strcmp(w->vms[i]->vm.sandbox_id, sandbox_id) == 0)
            return i;
    return w->n_vms;
}

static struct simhv_vm_priv *vm_find(const struct simhv_world *w, const char *sandbox_id)
{
    size_t i;

    if (!w || !sandbox_id)
        return NULL;
    i = vm_index(w, sandbox_id);
    return i < w->n_vms ? w->vms[i] : NULL;
}

static void vm_free(struct simhv_vm_priv *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < SIMHV_PCI_PORTS; i++)
        free(p->vm.ports[i].id);
    free(p->vm.sandbox_id);
    free(p->vm.console);
    free(p);
}

void simhv_vms_free(struct simhv_world *w)
{
    for (size_t i = 0; i < w->n_vms; i++)
        vm_free(w->vms[i]);
    free(w->vms);
    w->vms = NULL;
    w->n_vms = 0;
}

static void vm_remove(struct simhv_world *w, struct simhv_vm_priv *p)
{
    size_t i = vm_index(w, p->vm.sandbox_id);

    if (i == w->n_vms)
        return;
    simhv_world_cancel(w, p->boot_event);
    vm_free(p);
    memmove(&w->vms[i], &w->vms[i + 1], (w->n_vms - i - 1) * sizeof(w->vms[0]));
    w->n_vms--;
}

/* Adds a VM in state CREATED for a validated config. 0 or -ENOMEM. */
static int vm_add(struct simhv_world *w, const char *sandbox_id, const struct vc_hv_config *cfg,
                  struct simhv_vm_priv **ret)
{
    struct simhv_vm_priv *p = calloc(1, sizeof(*p));
    struct simhv_vm_priv **v;
    uint32_t n = w->n_created;

    if (!p)
        return -ENOMEM;
    p->vm = (struct simhv_vm){
        .sandbox_id = strdup(sandbox_id),
        .n = n,
        .state = VC_VM_STATE_CREATED,
        .pid = SIMHV_PID_BASE + (int32_t) n,
        .cid = SIMHV_CID_BASE + n,
        .created_ns = w->now,
        .boot_vcpus = cfg->vcpus,
        .vcpus = cfg->vcpus,
        .max_vcpus = cfg->max_vcpus ? cfg->max_vcpus : cfg->vcpus,
        .boot_memory_mb = cfg->memory_mb,
        .memory_mb = cfg->memory_mb,
        .max_memory_mb = cfg->max_memory_mb ? cfg->max_memory_mb : cfg->memory_mb,
        .mem_slots = cfg->mem_slots,
    };
    p->w = w;
    v = realloc(w->vms, (w->n_vms + 1) * sizeof(*v));
    if (v)
        w->vms = v;
    if (!p->vm.sandbox_id || !v) {
        vm_free(p);
        return -ENOMEM;
    }
    v[w->n_vms++] = p;
    w->n_created++;
    *ret = p;
    return 0;
}

size_t simhv_world_vm_count(const struct simhv_world *w)
{
    return w->n_vms;
}

const struct simhv_vm *simhv_world_vm_at(const struct simhv_world *w, size_t i)
{
    return i < w->n_vms ? &w->vms[i]->vm : NULL;
}

const struct simhv_vm *simhv_world_vm(const struct simhv_world *w, const char *sandbox_id)
{
    struct simhv_vm_priv *p = vm_find(w, sandbox_id);

    return p ? &p->vm : NULL;
}

const struct simhv_vm *simhv_world_vm_by_cid(const struct simhv_world *w, uint32_t cid)
{
    for (size_t i = 0; i < w->n_vms; i++)
        if (w->vms[i]->vm.cid == cid)
            return &w->vms[i]->vm;
    return NULL;
}

void simhv_world_set_guest(struct simhv_world *w, const struct simhv_guest_ops *ops, void *data)
{
    w->guest = ops;
    w->guest_data = data;
}

/* Appends to the console, dropping the oldest text past SIMHV_CONSOLE_MAX. */
static void vm_console(struct simhv_vm_priv *p, const char *text)
{
    struct simhv_vm *vm = &p->vm;
    size_t add = strlen(text);

    if (add >= SIMHV_CONSOLE_MAX) {
        text += add - (SIMHV_CONSOLE_MAX - 1);
        add = SIMHV_CONSOLE_MAX - 1;
    }
    if (vm->console_len + add >= SIMHV_CONSOLE_MAX) {
        size_t drop = vm->console_len + add - (SIMHV_CONSOLE_MAX - 1);

        memmove(vm->console, vm->console + drop, vm->console_len - drop);
        vm->console_len -= drop;
    }
    if (vm->console_len + add + 1 > p->console_cap) {
        size_t cap = p->console_cap ? p->console_cap : 256;
        char *c;

        while (cap < vm->console_len + add + 1)
            cap *= 2;
        c = realloc(vm->console, cap);
        if (!c)
            return; /* console text is best effort, as a real serial log */
        vm->console = c;
        p->console_cap = cap;
    }
    memcpy(vm->console + vm->console_len, text, add);
    vm->console_len += add;
    vm->console[vm->console_len] = '\0';
}

/* "[%5" PRIu64 ".%06" PRIu64 "] " of s and us into buf (of at least 32 bytes); its length. */
static int vm_console_stamp(char *buf, uint64_t s, uint64_t us)
{
    char d[24];
    size_t i = sizeof(d), n = 0;

    do {
        d[--i] = (char) ('0' + s % 10);
        s /= 10;
    } while (s);
    buf[n++] = '[';
    for (size_t k = sizeof(d) - i; k < 5; k++)
        buf[n++] = ' ';
    memcpy(buf + n, d + i, sizeof(d) - i);
    n += sizeof(d) - i;
    buf[n++] = '.';
    for (int k = 5; k >= 0; k--, us /= 10)
        buf[n + (size_t) k] = (char) ('0' + us % 10);
    n += 6;
    memcpy(buf + n, "] ", 3);
    return (int) n + 2;
}

static void vm_consolef(struct simhv_world *w, struct simhv_vm_priv *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A console line stamped like the kernel's log: seconds since the VM was created. */
static void vm_consolef(struct simhv_world *w, struct simhv_vm_priv *p, const char *fmt, ...)
{
    uint64_t t = w->now - p->start_ns;
    char line[512];
    va_list ap;
    int n;

    n = vm_console_stamp(line, t / SIMHV_NS_PER_S, t % SIMHV_NS_PER_S / 1000);
    va_start(ap, fmt);
    (void) vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    va_end(ap);
    (void) strcat(line, "\n");
    vm_console(p, line);
}

void simhv_world_console_write(struct simhv_world *w, const char *sandbox_id, const char *text)
{
    struct simhv_vm_priv *p = vm_find(w, sandbox_id);

    if (p && text)
        vm_console(p, text);
}

/* The guest goes away: the provider hears it once. */
static void vm_guest_halt(struct simhv_world *w, struct simhv_vm_priv *p)
{
    if (!p->guest_up)
        return;
    p->guest_up = false;
    if (w->guest && w->guest->halt)
        w->guest->halt(w->guest_data, &p->vm);
}

static void vm_guest_resources(struct simhv_world *w, struct simhv_vm_priv *p)
{
    if (p->guest_up && w->guest && w->guest->resources)
        w->guest->resources(w->guest_data, &p->vm);
}

int simhv_world_crash_vm(struct simhv_world *w, const char *sandbox_id)
{
    struct simhv_vm_priv *p = vm_find(w, sandbox_id);

    if (!p)
        return -ENOENT;
    simhv_world_cancel(w, p->boot_event);
    p->boot_event = 0;
    if (p->guest_up)
        vm_consolef(w, p, "Kernel panic - not syncing: Fatal exception");
    p->vm.state = VC_VM_STATE_STOPPED;
    p->vm.crashed = true;
    simhv_world_trace(w, "vm", "crash", "sandbox %s vm %" PRIu32 " pid %" PRId32, sandbox_id,
                      p->vm.n, p->vm.pid);
    vm_guest_halt(w, p);
    return 0;
}

/* --- handles -------------------------------------------------------------------------------- */

/* The handle's VM: -ESRCH when it was cleaned up (or replaced by another of the same id). */
static int hv_vm(struct vc_hv *hv, struct simhv_vm_priv **ret)
{
    struct simhv_hv *h = hv_of(hv);
    struct simhv_vm_priv *p = vm_find(h->w, h->sandbox_id);

    if (!p || p->vm.n != h->n)
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' is gone", h->sandbox_id);
    *ret = p;
    return 0;
}

/* Whether the VM can take hotplug and resize requests (QMP answers them). */
static bool vm_live(const struct simhv_vm *vm)
{
    return vm->state == VC_VM_STATE_RUNNING || vm->state == VC_VM_STATE_PAUSED;
}

static const char *vm_state(const struct simhv_vm *vm)
{
    return vc_vm_state_to_string((enum vc_vm_state) vm->state);
}

/* One operation's cost: a trace record, then hv_op_ns of virtual time, running the events due
 * meanwhile. A context
 * that died meanwhile unwinds with -ECANCELED. */
static int hv_cost(struct vc_ctx *ctx, struct simhv_world *w, const char *op,
                   const char *sandbox_id)
{
    struct simhv_ctx *c = simhv_ctx_find(w, ctx);
    int r;

    simhv_world_trace_str(w, c ? c->name : NULL, "hv", op, sandbox_id);
    r = simhv_world_run_until(w, w->now + w->opts.hv_op_ns);
    if (r < 0)
        return vc_err(ctx, r, "hypervisor %s of sandbox '%s': simulation stopped: %s", op,
                      sandbox_id, simhv_world_stop_reason(w) ? simhv_world_stop_reason(w) : "");
    if (c && c->crashed)
        return -ECANCELED;
    return 0;
}

/* The cost of an operation on a handle, then its VM. */
static int hv_enter(struct vc_hv *hv, const char *op, struct simhv_vm_priv **ret)
{
    struct simhv_hv *h = hv_of(hv);
    int r = hv_cost(hv->ctx, h->w, op, h->sandbox_id);

    if (r < 0)
        return r;
    return hv_vm(hv, ret);
}

static int hv_handle_new(struct vc_ctx *ctx, struct simhv_world *w, const char *sandbox_id,
                         uint32_t n, struct vc_hv **ret)
{
    struct simhv_hv *h = vc_new0(ctx, struct simhv_hv, 1);

    if (!h)
        return vc_err(ctx, -ENOMEM, "hypervisor: out of memory");
    *h = (struct simhv_hv){
        .base = {.ops = &simhv_ops, .ctx = ctx},
        .w = w,
        .sandbox_id = vc_strdup(ctx, sandbox_id),
        .n = n,
    };
    if (!h->sandbox_id) {
        vc_free(ctx, h);
        return vc_err(ctx, -ENOMEM, "hypervisor: out of memory");
    }
    *ret = &h->base;
    return 0;
}

static int hv_check_config(struct vc_ctx *ctx, const struct vc_hv_config *cfg)
{
    if (cfg->vcpus < 1)
        return vc_err(ctx, -EINVAL, "invalid vcpus %u", cfg->vcpus);
    if (cfg->memory_mb < 1)
        return vc_err(ctx, -EINVAL, "invalid memory %u MiB", cfg->memory_mb);
    if (cfg->max_vcpus && cfg->max_vcpus < cfg->vcpus)
        return vc_err(ctx, -EINVAL, "max vcpus %u below vcpus %u", cfg->max_vcpus, cfg->vcpus);
    if (cfg->max_memory_mb && cfg->max_memory_mb < cfg->memory_mb)
        return vc_err(ctx, -EINVAL, "max memory %u MiB below memory %u MiB", cfg->max_memory_mb,
                      cfg->memory_mb);
    return 0;
}

static void simhv_destroy(struct vc_hv *hv)
{
    struct simhv_hv *h;

    if (!hv)
        return;
    h = hv_of(hv);
    vc_free(hv->ctx, h->sandbox_id);
    vc_free(hv->ctx, h);
}

static int simhv_create(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                        const struct vc_hv_config *cfg, struct vc_hv **ret)
{
    struct simhv_world *w = data;
    struct simhv_vm_priv *p = NULL;
    struct vc_hv *hv = NULL;
    int r;

    if (!w || !sandbox_id || !cfg)
        return vc_err(ctx, -EINVAL, "sim hypervisor: missing world, sandbox id or config");
    r = hv_cost(ctx, w, "create", sandbox_id);
    if (r < 0)
        return r;
    if (vm_find(w, sandbox_id))
        return vc_err(ctx, -EEXIST, "vm of sandbox '%s' exists", sandbox_id);
    r = hv_check_config(ctx, cfg);
    if (r < 0)
        return r;
    r = hv_handle_new(ctx, w, sandbox_id, w->n_created, &hv);
    if (r < 0)
        return r;
    r = vm_add(w, sandbox_id, cfg, &p);
    if (r < 0) {
        simhv_destroy(hv);
        return vc_err(ctx, r, "hypervisor: out of memory");
    }
    *ret = hv;
    return 0;
}

/* Reads the digits of a number of at most 18 of them (no sign, no leading zero) at *p. */
static bool hv_state_num(const char **p, int64_t *ret)
{
    const char *s = *p;
    int64_t v = 0;
    int n = 0;

    if (*s == '0' && s[1] >= '0' && s[1] <= '9')
        return false;
    for (; *s >= '0' && *s <= '9' && n < 18; s++, n++)
        v = v * 10 + (*s - '0');
    if (!n || (*s >= '0' && *s <= '9'))
        return false;
    *p = s;
    *ret = v;
    return true;
}

/* The text save_state writes, exactly: {"vm":N,"pid":P}. Anything else is left to json-c. */
static bool hv_state_plain(const char *s, int64_t *ret_n, int64_t *ret_pid)
{
    int64_t n, pid;
    bool neg;

    if (strncmp(s, "{\"vm\":", 6) != 0)
        return false;
    s += 6;
    if (!hv_state_num(&s, &n) || strncmp(s, ",\"pid\":", 7) != 0)
        return false;
    s += 7;
    neg = *s == '-';
    s += neg;
    if (!hv_state_num(&s, &pid) || strcmp(s, "}") != 0 || (neg && !pid))
        return false;
    *ret_n = n;
    *ret_pid = neg ? -pid : pid;
    return true;
}

/* Reads {"vm":N,"pid":P}, what save_state wrote. */
static int hv_parse_state(struct vc_ctx *ctx, const char *state, int64_t *ret_n, int64_t *ret_pid)
{
    json_object *j = NULL, *n, *pid;
    int r;

    if (!state)
        return vc_err(ctx, -EINVAL, "sim hypervisor: no state to load");
    if (hv_state_plain(state, ret_n, ret_pid))
        return 0;
    r = vc_json_parse(ctx, "sim hypervisor state", state, strlen(state), &j);
    if (r < 0)
        return r;
    if (!json_object_object_get_ex(j, "vm", &n) || !json_object_is_type(n, json_type_int) ||
        !json_object_object_get_ex(j, "pid", &pid) || !json_object_is_type(pid, json_type_int)) {
        json_object_put(j);
        return vc_err(ctx, -EINVAL, "sim hypervisor state '%.64s' lacks vm or pid", state);
    }
    *ret_n = json_object_get_int64(n);
    *ret_pid = json_object_get_int64(pid);
    json_object_put(j);
    return 0;
}

static int simhv_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                      const struct vc_hv_config *cfg, const char *state, struct vc_hv **ret)
{
    struct simhv_world *w = data;
    struct simhv_vm_priv *p;
    int64_t n = -1, pid = -1;
    int r;

    if (!w || !sandbox_id)
        return vc_err(ctx, -EINVAL, "sim hypervisor: missing world or sandbox id");
    r = hv_cost(ctx, w, "load", sandbox_id);
    if (r < 0)
        return r;
    /* No state: a create cut short before it saved any; whatever VM the sandbox has is its. */
    r = state ? hv_parse_state(ctx, state, &n, &pid) : 0;
    if (r < 0)
        return r;
    /* A crashed VM is reattached to its remains, so it can be stopped and cleaned up; check
     * reports that it died. Only a VM the world no longer holds is gone. */
    p = vm_find(w, sandbox_id);
    if (!p)
        return vc_err(ctx, -ESRCH, "vm of sandbox '%s' is gone", sandbox_id);
    if (state && (n != (int64_t) p->vm.n || pid != p->vm.pid))
        return vc_err(ctx, -ESRCH, "vm %" PRId64 " of sandbox '%s' is gone (found vm %" PRIu32 ")",
                      n, sandbox_id, p->vm.n);
    return hv_handle_new(ctx, w, sandbox_id, p->vm.n, ret);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

/* The boot-complete event: the console shows the kernel coming up and the guest provider is
 * told; its refusal fails the boot and the VM stops. */
static void hv_boot_complete(void *data)
{
    struct simhv_vm_priv *p = data;
    struct simhv_world *w = p->w;
    int r = 0;

    p->boot_event = 0;
    vm_consolef(w, p, "smp: Brought up 1 node, %" PRIu32 " CPUs", p->vm.vcpus);
    vm_consolef(w, p, "Memory: %" PRIu32 "M available", p->vm.memory_mb);
    vm_consolef(w, p, "NET: Registered PF_VSOCK protocol family (cid %" PRIu32 ")", p->vm.cid);
    p->guest_up = true;
    if (w->guest && w->guest->boot)
        r = w->guest->boot(w->guest_data, &p->vm);
    if (r < 0) {
        p->guest_up = false;
        p->boot_err = r;
        p->vm.state = VC_VM_STATE_STOPPED;
        vm_consolef(w, p, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x%08x",
                    (unsigned) -r);
        simhv_world_trace(w, "vm", "boot_failed", "sandbox %s vm %" PRIu32 " %s", p->vm.sandbox_id,
                          p->vm.n, vc_errno_name(r));
        return;
    }
    p->vm.booted = true;
    p->vm.booted_ns = w->now;
    vm_consolef(w, p, "kata-agent: listening on vsock port %d", SIMHV_AGENT_PORT);
    simhv_world_trace(w, "vm", "booted", "sandbox %s vm %" PRIu32 " after %" PRIu64 " us",
                      p->vm.sandbox_id, p->vm.n, p->boot_ns / 1000);
}

/* The VM does not come up: it stops, and start fails with r. */
static int hv_boot_failed(struct vc_hv *hv, struct simhv_vm_priv *p, int r)
{
    struct simhv_world *w = p->w;

    simhv_world_cancel(w, p->boot_event);
    p->boot_event = 0;
    p->vm.state = VC_VM_STATE_STOPPED;
    vm_guest_halt(w, p);
    simhv_world_trace(w, "vm", "boot_failed", "sandbox %s vm %" PRIu32 " %s", p->vm.sandbox_id,
                      p->vm.n, vc_errno_name(r));
    return vc_err(hv->ctx, r, "vm of sandbox '%s' failed to boot: %s", p->vm.sandbox_id,
                  vc_errno_name(r));
}

/* The world's own "vm.boot" fault point, asked as the VM process starts. */
static int hv_boot_fault(struct vc_hv *hv, struct simhv_ctx *c, struct simhv_vm_priv **pp)
{
    struct simhv_world *w = hv_of(hv)->w;
    struct simhv_fault_hit hit;
    int r;

    if (c && c->suspended)
        return 0;
    if (!simhv_world_fault_eval(w, c, "vm.boot", &hit))
        return 0;
    r = simhv_world_fault_apply(w, c, "vm.boot", &hit);
    if (c && c->crashed)
        return -ECANCELED;
    if (r == -E2BIG)
        return vc_err(hv->ctx, r, "simulation stopped: %s", simhv_world_stop_reason(w));
    /* Time may have run: look the VM up again. */
    if (hv_vm(hv, pp) < 0)
        return -ESRCH;
    if (r < 0)
        return hv_boot_failed(hv, *pp, r);
    return 0;
}

/* Runs the world until the boot-complete event ran or the deadline passed. */
static int hv_boot_wait(struct vc_hv *hv, struct simhv_ctx *c, uint64_t deadline,
                        struct simhv_vm_priv **pp)
{
    struct simhv_world *w = hv_of(hv)->w;
    int r;

    while ((r = hv_vm(hv, pp)) == 0 && (*pp)->boot_event && !(c && c->crashed)) {
        r = simhv_world_step(w, deadline);
        if (r == -ETIMEDOUT)
            return hv_vm(hv, pp) < 0 ? -ESRCH : -ETIMEDOUT;
        if (r < 0)
            return vc_err(hv->ctx, r, "simulation stopped: %s", simhv_world_stop_reason(w));
    }
    if (c && c->crashed)
        return -ECANCELED;
    return r;
}

static int simhv_start(struct vc_hv *hv, uint32_t timeout_ms)
{
    struct simhv_world *w = hv_of(hv)->w;
    struct simhv_ctx *c = simhv_ctx_find(w, hv->ctx);
    uint32_t ms = timeout_ms ? timeout_ms : 30000;
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "start", &p);

    if (r < 0)
        return r;
    if (p->vm.state != VC_VM_STATE_CREATED)
        return vc_err(hv->ctx, -EINVAL, "cannot start vm in state '%s'", vm_state(&p->vm));
    r = hv_boot_fault(hv, c, &p);
    if (r < 0)
        return r;
    if (p->vm.state != VC_VM_STATE_CREATED)
        return vc_err(hv->ctx, -EINVAL, "cannot start vm in state '%s'", vm_state(&p->vm));
    p->vm.state = VC_VM_STATE_RUNNING;
    p->start_ns = w->now;
    p->boot_ns = simhv_world_uniform(w, w->opts.boot_min_ns, w->opts.boot_max_ns);
    r = simhv_world_schedule(w, w->now + p->boot_ns, hv_boot_complete, p, &p->boot_event);
    if (r < 0)
        return hv_boot_failed(hv, p, r);
    vm_consolef(w, p, "Linux version 6.1.0-vcsim (vcsim@simhv) #1 SMP PREEMPT_DYNAMIC");
    vm_consolef(w, p, "Command line: console=hvc0 quiet agent.log=debug vcpus=%" PRIu32,
                p->vm.vcpus);
    r = hv_boot_wait(hv, c, w->now + (uint64_t) ms * SIMHV_NS_PER_MS, &p);
    if (r == -ETIMEDOUT) {
        (void) hv_boot_failed(hv, p, r);
        return vc_err(hv->ctx, r, "vm of sandbox '%s' did not boot within %" PRIu32 " ms",
                      p->vm.sandbox_id, ms);
    }
    if (r < 0)
        return r;
    if (p->boot_err) {
        r = p->boot_err;
        p->boot_err = 0;
        return vc_err(hv->ctx, r, "guest of sandbox '%s' failed to boot: %s", p->vm.sandbox_id,
                      vc_errno_name(r));
    }
    if (!p->vm.booted || !vm_live(&p->vm))
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' died while booting", p->vm.sandbox_id);
    return 0;
}

/* Stopping a stopped (or crashed) VM is fine, as kata's StopVM on a gone QEMU. */
static int simhv_stop(struct vc_hv *hv, bool wait_only)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "stop", &p);

    if (r < 0)
        return r;
    if (p->vm.state == VC_VM_STATE_STOPPED)
        return 0;
    simhv_world_cancel(p->w, p->boot_event);
    p->boot_event = 0;
    if (p->guest_up)
        vm_consolef(p->w, p, "reboot: Power down");
    p->vm.state = VC_VM_STATE_STOPPED;
    vm_guest_halt(p->w, p);
    return 0;
}

/* Pauses (true) or resumes (false): the guest provider hears it when the guest is up. */
static int hv_set_paused(struct vc_hv *hv, bool pause)
{
    struct simhv_vm_priv *p = NULL;
    int32_t from = pause ? VC_VM_STATE_RUNNING : VC_VM_STATE_PAUSED;
    struct simhv_world *w;
    int r = hv_enter(hv, pause ? "pause" : "resume", &p);

    if (r < 0)
        return r;
    if (p->vm.state != from)
        return vc_err(hv->ctx, -EINVAL, "cannot %s vm in state '%s'", pause ? "pause" : "resume",
                      vm_state(&p->vm));
    w = p->w;
    p->vm.state = pause ? VC_VM_STATE_PAUSED : VC_VM_STATE_RUNNING;
    if (p->guest_up && w->guest && w->guest->pause)
        w->guest->pause(w->guest_data, &p->vm, pause);
    return 0;
}

static int simhv_pause(struct vc_hv *hv)
{
    return hv_set_paused(hv, true);
}

static int simhv_resume(struct vc_hv *hv)
{
    return hv_set_paused(hv, false);
}

/* Migration to a template needs a paused VM. */
static int simhv_save(struct vc_hv *hv)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "save", &p);

    if (r < 0)
        return r;
    if (p->vm.state != VC_VM_STATE_PAUSED)
        return vc_err(hv->ctx, -EINVAL, "cannot save vm in state '%s'", vm_state(&p->vm));
    p->vm.saved = true;
    return 0;
}

/* --- hotplug -------------------------------------------------------------------------------- */

/* Adds what fits below max_vcpus, as QEMU's hotplugAddCPUs; dev->cpus becomes what was added. */
static int hv_add_cpus(struct vc_ctx *ctx, struct simhv_vm *vm, struct vc_device *dev)
{
    uint32_t room = vm->max_vcpus - vm->vcpus;
    uint32_t add = dev->cpus < room ? dev->cpus : room;

    if (dev->cpus == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 vcpus");
    if (add == 0)
        return vc_err(ctx, -ENOSPC, "no free vcpu slot (%u of %u in use)", vm->vcpus,
                      vm->max_vcpus);
    vm->vcpus += add;
    dev->cpus = add;
    return 0;
}

/* Removes hotplugged vCPUs only: the boot vCPUs stay. dev->cpus becomes what was removed. */
static int hv_remove_cpus(struct vc_ctx *ctx, struct simhv_vm *vm, struct vc_device *dev)
{
    uint32_t plugged = vm->vcpus - vm->boot_vcpus;
    uint32_t rm = dev->cpus < plugged ? dev->cpus : plugged;

    if (dev->cpus == 0)
        return vc_err(ctx, -EINVAL, "cannot hot-unplug 0 vcpus");
    if (rm == 0)
        return vc_err(ctx, -EINVAL, "no hotplugged vcpus to remove (%u boot vcpus)",
                      vm->boot_vcpus);
    vm->vcpus -= rm;
    dev->cpus = rm;
    return 0;
}

/* Whether a DIMM of size_mb can be plugged: a free slot and room below max_memory_mb. */
static int hv_dimm_fits(struct vc_ctx *ctx, const struct simhv_vm *vm, uint32_t size_mb)
{
    if (size_mb == 0)
        return vc_err(ctx, -EINVAL, "cannot hotplug 0 MiB of memory");
    if (vm->used_slots >= vm->mem_slots)
        return vc_err(ctx, -ENOSPC, "no free memory slot (%u of %u in use)", vm->used_slots,
                      vm->mem_slots);
    if (size_mb > vm->max_memory_mb - vm->memory_mb)
        return vc_err(ctx, -ENOSPC, "cannot hotplug %u MiB: vm has %u MiB of at most %u MiB",
                      size_mb, vm->memory_mb, vm->max_memory_mb);
    return 0;
}

/* The next DIMM's guest address: after the DIMMs already plugged. */
static uint64_t hv_dimm_addr(const struct simhv_vm *vm)
{
    return HV_DIMM_BASE + ((uint64_t) (vm->memory_mb - vm->boot_memory_mb) << 20);
}

static void hv_dimm_commit(struct simhv_vm *vm, uint32_t size_mb)
{
    vm->memory_mb += size_mb;
    vm->used_slots++;
}

static int hv_add_memory(struct vc_ctx *ctx, struct simhv_vm *vm, struct vc_device *dev)
{
    int r = hv_dimm_fits(ctx, vm, dev->size_mb);
    char *guest_path;

    if (r < 0)
        return r;
    guest_path = vc_strdupf(ctx, "dimm%u", vm->used_slots);
    if (!guest_path)
        return vc_err(ctx, -ENOMEM, "hypervisor: out of memory");
    vc_free(ctx, dev->guest_path);
    dev->guest_path = guest_path;
    dev->addr = hv_dimm_addr(vm);
    hv_dimm_commit(vm, dev->size_mb);
    return 0;
}

static size_t hv_port_of(const struct simhv_vm *vm, const char *id)
{
    for (size_t i = 0; i < SIMHV_PCI_PORTS; i++)
        if (vm->ports[i].id && strcmp(vm->ports[i].id, id) == 0)
            return i;
    return SIMHV_PCI_PORTS;
}

/* Block, net and vfio devices each take a PCIe root port; the guest sees "<port>/00". */
static int hv_add_pci(struct vc_ctx *ctx, struct simhv_vm *vm, struct vc_device *dev)
{
    char *guest_path;
    size_t port;
    char *id;

    if (!dev->id || !*dev->id)
        return vc_err(ctx, -EINVAL, "%s device without id", vc_device_type_to_string(dev->type));
    if (hv_port_of(vm, dev->id) < SIMHV_PCI_PORTS)
        return vc_err(ctx, -EEXIST, "device '%s' exists", dev->id);
    for (port = 0; port < SIMHV_PCI_PORTS && vm->ports[port].id; port++)
        ;
    if (port == SIMHV_PCI_PORTS)
        return vc_err(ctx, -ENOSPC, "no free pcie root port for device '%s' (%d in use)", dev->id,
                      SIMHV_PCI_PORTS);
    id = strdup(dev->id);
    guest_path = vc_strdupf(ctx, "%02zx/00", port + 2);
    if (!id || !guest_path) {
        free(id);
        vc_free(ctx, guest_path);
        return vc_err(ctx, -ENOMEM, "hypervisor: out of memory");
    }
    vm->ports[port] = (struct simhv_port){.type = dev->type, .id = id};
    vm->n_devices++;
    vc_free(ctx, dev->guest_path);
    dev->guest_path = guest_path;
    return 0;
}

static int hv_remove_pci(struct vc_ctx *ctx, struct simhv_vm *vm, struct vc_device *dev)
{
    size_t port = dev->id ? hv_port_of(vm, dev->id) : SIMHV_PCI_PORTS;

    if (port == SIMHV_PCI_PORTS)
        return vc_err(ctx, -ENOENT, "device '%s' not found", dev->id ? dev->id : "");
    free(vm->ports[port].id);
    vm->ports[port] = (struct simhv_port){0};
    vm->n_devices--;
    return 0;
}

static int simhv_hotplug_add(struct vc_hv *hv, struct vc_device *dev)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "hotplug_add", &p);

    if (r < 0)
        return r;
    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hotplug");
    if (!vm_live(&p->vm))
        return vc_err(hv->ctx, -EINVAL, "cannot hotplug into vm in state '%s'", vm_state(&p->vm));
    switch (dev->type) {
    case VC_DEVICE_CPU:
        r = hv_add_cpus(hv->ctx, &p->vm, dev);
        break;
    case VC_DEVICE_MEMORY:
        r = hv_add_memory(hv->ctx, &p->vm, dev);
        break;
    case VC_DEVICE_BLOCK:
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return hv_add_pci(hv->ctx, &p->vm, dev);
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
    if (r == 0)
        vm_guest_resources(p->w, p);
    return r;
}

static int simhv_hotplug_remove(struct vc_hv *hv, struct vc_device *dev)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "hotplug_remove", &p);

    if (r < 0)
        return r;
    if (!dev)
        return vc_err(hv->ctx, -EINVAL, "no device to hot-unplug");
    if (!vm_live(&p->vm))
        return vc_err(hv->ctx, -EINVAL, "cannot hot-unplug from vm in state '%s'",
                      vm_state(&p->vm));
    switch (dev->type) {
    case VC_DEVICE_CPU:
        r = hv_remove_cpus(hv->ctx, &p->vm, dev);
        if (r == 0)
            vm_guest_resources(p->w, p);
        return r;
    case VC_DEVICE_MEMORY:
        /* kata's QEMU backend never unplugs DIMMs. */
        return vc_err(hv->ctx, -EOPNOTSUPP, "memory hot-unplug is not supported");
    case VC_DEVICE_BLOCK:
    case VC_DEVICE_NET:
    case VC_DEVICE_VFIO:
        return hv_remove_pci(hv->ctx, &p->vm, dev);
    default:
        return vc_err(hv->ctx, -EINVAL, "unknown device type %d", dev->type);
    }
}

/* The DIMM kata's qemu.ResizeMemory plugs: the missing MiB, clamped to the maximum, rounded up to
 * the guest's memory block. */
static uint32_t hv_grow_size(const struct simhv_vm *vm, uint32_t req_mb, uint32_t block_mb)
{
    uint64_t add = req_mb - vm->memory_mb;
    uint64_t block = block_mb ? block_mb : 1;

    if (add > vm->max_memory_mb - vm->memory_mb)
        add = vm->max_memory_mb - vm->memory_mb;
    add = (add + block - 1) / block * block;
    return add > UINT32_MAX ? UINT32_MAX : (uint32_t) add;
}

/* Plugs the DIMM growing memory towards req_mb; *dimm describes it. */
static int hv_grow(struct vc_hv *hv, struct simhv_vm *vm, uint32_t req_mb, uint32_t block_mb,
                   bool want_id, struct vc_device *dimm)
{
    int r;

    if (vm->memory_mb >= vm->max_memory_mb)
        return vc_err(hv->ctx, -ENOSPC, "vm has reached its maximum of %u MiB", vm->max_memory_mb);
    dimm->size_mb = hv_grow_size(vm, req_mb, block_mb);
    r = hv_dimm_fits(hv->ctx, vm, dimm->size_mb);
    if (r < 0)
        return r;
    dimm->addr = hv_dimm_addr(vm);
    if (want_id) {
        dimm->id = vc_strdupf(hv->ctx, "dimm%u", vm->used_slots);
        if (!dimm->id)
            return vc_err(hv->ctx, -ENOMEM, "hypervisor: out of memory");
    }
    hv_dimm_commit(vm, dimm->size_mb);
    return 0;
}

/* Grows memory to req_mb; never shrinks (a DIMM cannot be removed). */
static int simhv_resize_memory(struct vc_hv *hv, uint32_t req_mb, uint32_t block_mb, bool probe,
                               uint32_t *ret_mb, struct vc_device *ret_dev)
{
    struct vc_device dimm = {.type = VC_DEVICE_MEMORY, .probe = probe};
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "resize_memory", &p);

    if (r < 0)
        return r;
    if (!vm_live(&p->vm))
        return vc_err(hv->ctx, -EINVAL, "cannot resize memory of vm in state '%s'",
                      vm_state(&p->vm));
    if (req_mb > p->vm.memory_mb) {
        r = hv_grow(hv, &p->vm, req_mb, block_mb, ret_dev != NULL, &dimm);
        if (r < 0)
            return r;
        vm_guest_resources(p->w, p);
    }
    *ret_mb = p->vm.memory_mb;
    if (ret_dev)
        *ret_dev = dimm;
    return 0;
}

/* Sets the vCPU count to req, clamped to [boot vcpus, max vcpus]. */
static int simhv_resize_vcpus(struct vc_hv *hv, uint32_t req, uint32_t *ret_old, uint32_t *ret_new)
{
    struct simhv_vm_priv *p = NULL;
    uint32_t old;
    int r = hv_enter(hv, "resize_vcpus", &p);

    if (r < 0)
        return r;
    if (req == 0)
        return vc_err(hv->ctx, -EINVAL, "cannot resize to 0 vcpus");
    if (!vm_live(&p->vm))
        return vc_err(hv->ctx, -EINVAL, "cannot resize vcpus of vm in state '%s'",
                      vm_state(&p->vm));
    old = p->vm.vcpus;
    if (req > p->vm.max_vcpus)
        req = p->vm.max_vcpus;
    if (req < p->vm.boot_vcpus)
        req = p->vm.boot_vcpus;
    p->vm.vcpus = req;
    if (req != old)
        vm_guest_resources(p->w, p);
    *ret_old = old;
    *ret_new = req;
    return 0;
}

/* --- queries -------------------------------------------------------------------------------- */

static int hv_url(struct vc_hv *hv, const char *op, char **ret_url)
{
    struct simhv_vm_priv *p = NULL;
    char *url;
    int r = hv_enter(hv, op, &p);

    if (r < 0)
        return r;
    if (strcmp(op, "console") == 0)
        url = vc_strdupf(hv->ctx, "unix:///run/vc/vm/%s/console.sock", p->vm.sandbox_id);
    else
        url = vc_strdupf(hv->ctx, "vsock://%" PRIu32 ":%d", p->vm.cid, SIMHV_AGENT_PORT);
    if (!url)
        return vc_err(hv->ctx, -ENOMEM, "hypervisor: out of memory");
    *ret_url = url;
    return 0;
}

static int simhv_console(struct vc_hv *hv, char **ret_url)
{
    return hv_url(hv, "console", ret_url);
}

static int simhv_agent_endpoint(struct vc_hv *hv, char **ret_url)
{
    return hv_url(hv, "agent_endpoint", ret_url);
}

static int simhv_pids(struct vc_hv *hv, int32_t **ret, size_t *ret_n)
{
    struct simhv_vm_priv *p = NULL;
    int32_t *v;
    int r = hv_enter(hv, "pids", &p);

    if (r < 0)
        return r;
    v = vc_new0(hv->ctx, int32_t, 1);
    if (!v)
        return vc_err(hv->ctx, -ENOMEM, "hypervisor: out of memory");
    v[0] = p->vm.pid;
    *ret = v;
    *ret_n = 1;
    return 0;
}

/* Alive unless the VM crashed underneath or was cleaned up; a stopped VM still answers. */
static int simhv_check(struct vc_hv *hv)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "check", &p);

    if (r < 0)
        return r;
    if (p->vm.crashed)
        return vc_err(hv->ctx, -ESRCH, "vm of sandbox '%s' died", p->vm.sandbox_id);
    return 0;
}

/* Removes the VM from the world once it is stopped; a VM already removed is fine. */
static int simhv_cleanup(struct vc_hv *hv)
{
    struct simhv_hv *h = hv_of(hv);
    struct simhv_vm_priv *p;
    int r = hv_cost(hv->ctx, h->w, "cleanup", h->sandbox_id);

    if (r < 0)
        return r;
    p = vm_find(h->w, h->sandbox_id);
    if (!p || p->vm.n != h->n)
        return 0;
    if (p->vm.state != VC_VM_STATE_STOPPED)
        return vc_err(hv->ctx, -EBUSY, "cannot clean up vm of sandbox '%s' in state '%s'",
                      h->sandbox_id, vm_state(&p->vm));
    vm_remove(h->w, p);
    return 0;
}

static int simhv_capabilities(struct vc_hv *hv, uint32_t *ret_caps)
{
    struct simhv_hv *h = hv_of(hv);
    int r = hv_cost(hv->ctx, h->w, "capabilities", h->sandbox_id);

    if (r < 0)
        return r;
    *ret_caps = VC_HV_CAP_BLOCK_DEVICE | VC_HV_CAP_CPU_HOTPLUG | VC_HV_CAP_MEM_HOTPLUG |
                VC_HV_CAP_NET_HOTPLUG | VC_HV_CAP_FS_SHARING;
    return 0;
}

static int simhv_save_state(struct vc_hv *hv, char **ret_state)
{
    struct simhv_hv *h = hv_of(hv);
    char *state;
    int r = hv_cost(hv->ctx, h->w, "save_state", h->sandbox_id);

    if (r < 0)
        return r;
    state = vc_strdupf(hv->ctx, "{\"vm\":%" PRIu32 ",\"pid\":%" PRId32 "}", h->n,
                       SIMHV_PID_BASE + (int32_t) h->n);
    if (!state)
        return vc_err(hv->ctx, -ENOMEM, "hypervisor: out of memory");
    *ret_state = state;
    return 0;
}

static int simhv_query(struct vc_hv *hv, struct vc_vm_info *ret)
{
    struct simhv_vm_priv *p = NULL;
    int r = hv_enter(hv, "query", &p);

    if (r < 0)
        return r;
    *ret = (struct vc_vm_info){
        .state = p->vm.state,
        .vcpus = p->vm.vcpus,
        .memory_mb = p->vm.memory_mb,
        .n_devices = p->vm.n_devices,
        .pid = p->vm.pid,
    };
    return 0;
}

const struct vc_hv_ops simhv_ops = {
    .version = VC_HV_OPS_V1,
    .name = "sim",
    .create = simhv_create,
    .load = simhv_load,
    .destroy = simhv_destroy,
    .start = simhv_start,
    .stop = simhv_stop,
    .pause = simhv_pause,
    .resume = simhv_resume,
    .save = simhv_save,
    .hotplug_add = simhv_hotplug_add,
    .hotplug_remove = simhv_hotplug_remove,
    .resize_memory = simhv_resize_memory,
    .resize_vcpus = simhv_resize_vcpus,
    .console = simhv_console,
    .pids = simhv_pids,
    .check = simhv_check,
    .cleanup = simhv_cleanup,
    .capabilities = simhv_capabilities,
    .agent_endpoint = simhv_agent_endpoint,
    .save_state = simhv_save_state,
    .query = simhv_query,
};
