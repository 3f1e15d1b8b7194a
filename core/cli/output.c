/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl's results: sandbox and container states, the sandbox list and container stats, as
 * text for people or as JSON (the core's schema views, with states by name) for programs.
 * Real-world only: this file writes to stdout. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "schema.h"
#include "vcctl.h"

/* Replaces j's numeric "state" with its name. */
static void out_state_name(json_object *j)
{
    json_object *s;
    const char *name;

    if (!json_object_object_get_ex(j, "state", &s) || !json_object_is_type(s, json_type_int))
        return;
    name = vc_state_to_string((enum vc_state) json_object_get_int(s));
    (void) json_object_object_add(j, "state", json_object_new_string(name ? name : "unknown"));
}

static int out_sandbox_json(struct vcctl *v, const struct vc_sandbox_status *st, json_object **ret)
{
    json_object *j = NULL, *cs;
    int r = vc_obj_to_json(v->ctx, &vc_schema_sandbox_status, st, &j);

    if (r < 0)
        return r;
    out_state_name(j);
    if (json_object_object_get_ex(j, "containers", &cs))
        for (size_t i = 0; i < json_object_array_length(cs); i++)
            out_state_name(json_object_array_get_idx(cs, i));
    *ret = j;
    return 0;
}

static const char *out_state(int32_t state)
{
    const char *s = vc_state_to_string((enum vc_state) state);

    return s ? s : "unknown";
}

static void out_annotations(const struct vc_annotation *a, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%s=%s\n", indent, a[i].key ? a[i].key : "", a[i].value ? a[i].value : "");
}

int vcctl_print_sandbox(struct vcctl *v, const struct vc_sandbox_status *st)
{
    json_object *j = NULL;
    int r;

    if (v->json) {
        r = out_sandbox_json(v, st, &j);
        if (r < 0)
            return vcctl_fail(v, "state", vc_err(v->ctx, r, "out of memory"));
        vcctl_print_json(j, false);
        return VCCTL_EXIT_OK;
    }
    printf("id:          %s\n"
           "state:       %s\n"
           "hypervisor:  %s\n"
           "agent:       %s%s%s\n"
           "vcpus:       %" PRIu32 "\n"
           "memory:      %" PRIu32 " MiB\n",
           st->id, out_state(st->state), st->hv_kind ? st->hv_kind : "-",
           st->agent_kind ? st->agent_kind : "-", st->agent_url ? " " : "",
           st->agent_url ? st->agent_url : "", st->vcpus, st->memory_mb);
    if (st->n_annotations) {
        printf("annotations:\n");
        out_annotations(st->annotations, st->n_annotations, "  ");
    }
    printf("containers:  %zu\n", st->n_containers);
    for (size_t i = 0; i < st->n_containers; i++) {
        const struct vc_container_status *c = &st->containers[i];
        printf("  %-20s %-9s pid %" PRId32 "\n", c->id, out_state(c->state), c->pid);
    }
    return VCCTL_EXIT_OK;
}

int vcctl_print_container(struct vcctl *v, const struct vc_container_status *st)
{
    json_object *j = NULL;
    int r;

    if (v->json) {
        r = vc_obj_to_json(v->ctx, &vc_schema_container_status, st, &j);
        if (r < 0)
            return vcctl_fail(v, "state", vc_err(v->ctx, r, "out of memory"));
        out_state_name(j);
        vcctl_print_json(j, false);
        return VCCTL_EXIT_OK;
    }
    printf("id:          %s\n"
           "state:       %s\n"
           "pid:         %" PRId32 "\n"
           "rootfs:      %s\n"
           "started:     %" PRId64 " ns\n",
           st->id, out_state(st->state), st->pid, st->rootfs ? st->rootfs : "-", st->start_time_ns);
    if (st->n_annotations) {
        printf("annotations:\n");
        out_annotations(st->annotations, st->n_annotations, "  ");
    }
    return VCCTL_EXIT_OK;
}

int vcctl_print_list(struct vcctl *v, const struct vc_sandbox_status *st, size_t n)
{
    json_object *arr;
    int r = 0;

    if (!v->json) {
        printf("%-24s %-9s %-6s %-6s %s\n", "ID", "STATE", "HV", "AGENT", "CONTAINERS");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-9s %-6s %-6s %zu\n", st[i].id, out_state(st[i].state),
                   st[i].hv_kind ? st[i].hv_kind : "-", st[i].agent_kind ? st[i].agent_kind : "-",
                   st[i].n_containers);
        return VCCTL_EXIT_OK;
    }
    arr = json_object_new_array();
    if (!arr)
        return vcctl_fail(v, "list", vc_err(v->ctx, -ENOMEM, "out of memory"));
    for (size_t i = 0; i < n && r >= 0; i++) {
        json_object *j = NULL;
        r = out_sandbox_json(v, &st[i], &j);
        if (r >= 0 && json_object_array_add(arr, j) < 0) {
            json_object_put(j);
            r = -ENOMEM;
        }
    }
    if (r < 0) {
        json_object_put(arr);
        return vcctl_fail(v, "list", vc_err(v->ctx, r, "out of memory"));
    }
    vcctl_print_json(arr, false);
    return VCCTL_EXIT_OK;
}

int vcctl_print_stats(struct vcctl *v, const struct vc_container_stats *st)
{
    json_object *j = NULL;
    int r;

    if (v->json) {
        r = vc_obj_to_json(v->ctx, &vc_schema_container_stats, st, &j);
        if (r < 0)
            return vcctl_fail(v, "stats", vc_err(v->ctx, r, "out of memory"));
        vcctl_print_json(j, false);
        return VCCTL_EXIT_OK;
    }
    printf("cpu total:      %" PRIu64 " ns\n"
           "cpu kernel:     %" PRIu64 " ns\n"
           "cpu user:       %" PRIu64 " ns\n"
           "memory usage:   %" PRIu64 " bytes\n"
           "memory max:     %" PRIu64 " bytes\n"
           "memory limit:   %" PRIu64 " bytes\n"
           "memory failcnt: %" PRIu64 "\n"
           "pids:           %" PRIu64 " (limit %" PRIu64 ")\n"
           "network rx:     %" PRIu64 " bytes\n"
           "network tx:     %" PRIu64 " bytes\n",
           st->cpu_total_ns, st->cpu_kernel_ns, st->cpu_user_ns, st->mem_usage, st->mem_max_usage,
           st->mem_limit, st->mem_failcnt, st->pids_current, st->pids_limit, st->net_rx_bytes,
           st->net_tx_bytes);
    return VCCTL_EXIT_OK;
}

int vcctl_print_after(struct vcctl *v, const char *what, const char *sandbox_id)
{
    struct vc_sandbox_status *st = NULL;
    int r;

    if (!v->json)
        return VCCTL_EXIT_OK;
    r = vc_sandbox_status(v->ctx, sandbox_id, &st);
    if (r < 0)
        return vcctl_fail(v, what, r);
    r = vcctl_print_sandbox(v, st);
    vc_sandbox_status_free(v->ctx, st);
    return r;
}
