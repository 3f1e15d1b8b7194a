/* SPDX-License-Identifier: Apache-2.0 */
/* Field descriptors of the model structs and the one generic implementation of clear, copy
 * and JSON conversion over them. JSON input is untrusted (it comes from disk or a peer): types
 * are checked, integers range-checked, strings and arrays bounded. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/store.h>
#include <vc/types.h>

#include "schema.h"

#define FLD(T, kind, f)                                                                            \
    {                                                                                              \
#f, kind, offsetof(T, f), 0, NULL                                                          \
    }
#define SUB(T, f, s)                                                                               \
    {                                                                                              \
#f, VC_FIELD_STRUCT, offsetof(T, f), 0, &(s)                                               \
    }
#define VEC(T, kind, f, n, s)                                                                      \
    {                                                                                              \
#f, kind, offsetof(T, f), offsetof(T, n), s                                                \
    }
#define SCHEMA(var, T, tab)                                                                        \
    const struct vc_schema var = {#T, sizeof(struct T), tab, sizeof(tab) / sizeof(tab[0])}

#define S   VC_FIELD_STR
#define B   VC_FIELD_BOOL
#define U32 VC_FIELD_U32
#define I32 VC_FIELD_I32
#define U64 VC_FIELD_U64
#define I64 VC_FIELD_I64

static const struct vc_field annotation_f[] = {
    FLD(struct vc_annotation, S, key),
    FLD(struct vc_annotation, S, value),
};
SCHEMA(vc_schema_annotation, vc_annotation, annotation_f);

static const struct vc_field hv_config_f[] = {
    FLD(struct vc_hv_config, S, kind),
    FLD(struct vc_hv_config, S, path),
    FLD(struct vc_hv_config, U32, vcpus),
    FLD(struct vc_hv_config, U32, max_vcpus),
    FLD(struct vc_hv_config, U32, memory_mb),
    FLD(struct vc_hv_config, U32, max_memory_mb),
    FLD(struct vc_hv_config, U32, mem_slots),
    FLD(struct vc_hv_config, S, kernel),
    FLD(struct vc_hv_config, S, initrd),
    FLD(struct vc_hv_config, S, image),
    FLD(struct vc_hv_config, S, kernel_params),
    FLD(struct vc_hv_config, S, machine_type),
    FLD(struct vc_hv_config, U32, boot_timeout_ms),
};
SCHEMA(vc_schema_hv_config, vc_hv_config, hv_config_f);

static const struct vc_field agent_config_f[] = {
    FLD(struct vc_agent_config, S, kind),
    FLD(struct vc_agent_config, S, url),
    FLD(struct vc_agent_config, U32, dial_timeout_ms),
    FLD(struct vc_agent_config, B, long_live_conn),
    FLD(struct vc_agent_config, U32, create_container_timeout_ms),
    FLD(struct vc_agent_config, S, policy),
};
SCHEMA(vc_schema_agent_config, vc_agent_config, agent_config_f);

static const struct vc_field ip_address_f[] = {
    FLD(struct vc_ip_address, I32, family),
    FLD(struct vc_ip_address, S, address),
    FLD(struct vc_ip_address, S, mask),
};
SCHEMA(vc_schema_ip_address, vc_ip_address, ip_address_f);

static const struct vc_field interface_f[] = {
    FLD(struct vc_interface, S, device),
    FLD(struct vc_interface, S, name),
    VEC(struct vc_interface, VC_FIELD_STRUCTV, addrs, n_addrs, &vc_schema_ip_address),
    FLD(struct vc_interface, U64, mtu),
    FLD(struct vc_interface, S, hw_addr),
    FLD(struct vc_interface, S, device_path),
    FLD(struct vc_interface, S, type),
    FLD(struct vc_interface, U32, raw_flags),
};
SCHEMA(vc_schema_interface, vc_interface, interface_f);

static const struct vc_field route_f[] = {
    FLD(struct vc_route, S, dest),    FLD(struct vc_route, S, gateway),
    FLD(struct vc_route, S, device),  FLD(struct vc_route, S, source),
    FLD(struct vc_route, U32, scope), FLD(struct vc_route, I32, family),
    FLD(struct vc_route, U32, flags), FLD(struct vc_route, U32, mtu),
};
SCHEMA(vc_schema_route, vc_route, route_f);

static const struct vc_field arp_neighbor_f[] = {
    SUB(struct vc_arp_neighbor, to, vc_schema_ip_address),
    FLD(struct vc_arp_neighbor, S, device),
    FLD(struct vc_arp_neighbor, S, lladdr),
    FLD(struct vc_arp_neighbor, I32, state),
    FLD(struct vc_arp_neighbor, I32, flags),
};
SCHEMA(vc_schema_arp_neighbor, vc_arp_neighbor, arp_neighbor_f);

static const struct vc_field network_config_f[] = {
    VEC(struct vc_network_config, VC_FIELD_STRUCTV, interfaces, n_interfaces, &vc_schema_interface),
    VEC(struct vc_network_config, VC_FIELD_STRUCTV, routes, n_routes, &vc_schema_route),
    VEC(struct vc_network_config, VC_FIELD_STRUCTV, neighbors, n_neighbors,
        &vc_schema_arp_neighbor),
    VEC(struct vc_network_config, VC_FIELD_STRV, dns, n_dns, NULL),
};
SCHEMA(vc_schema_network_config, vc_network_config, network_config_f);

static const struct vc_field user_f[] = {
    FLD(struct vc_user, U32, uid),
    FLD(struct vc_user, U32, gid),
    VEC(struct vc_user, VC_FIELD_U32V, extra_gids, n_extra_gids, NULL),
    FLD(struct vc_user, S, username),
};
SCHEMA(vc_schema_user, vc_user, user_f);

static const struct vc_field process_config_f[] = {
    VEC(struct vc_process_config, VC_FIELD_STRV, args, n_args, NULL),
    VEC(struct vc_process_config, VC_FIELD_STRV, env, n_env, NULL),
    FLD(struct vc_process_config, S, cwd),
    SUB(struct vc_process_config, user, vc_schema_user),
    FLD(struct vc_process_config, B, terminal),
    FLD(struct vc_process_config, U32, rows),
    FLD(struct vc_process_config, U32, columns),
};
SCHEMA(vc_schema_process_config, vc_process_config, process_config_f);

static const struct vc_field resources_f[] = {
    FLD(struct vc_resources, U64, cpu_shares),
    FLD(struct vc_resources, I64, cpu_quota),
    FLD(struct vc_resources, U64, cpu_period),
    FLD(struct vc_resources, I64, memory_limit),
};
SCHEMA(vc_schema_resources, vc_resources, resources_f);

static const struct vc_field mount_f[] = {
    FLD(struct vc_mount, S, source),
    FLD(struct vc_mount, S, destination),
    FLD(struct vc_mount, S, type),
    VEC(struct vc_mount, VC_FIELD_STRV, options, n_options, NULL),
};
SCHEMA(vc_schema_mount, vc_mount, mount_f);

static const struct vc_field container_device_f[] = {
    FLD(struct vc_container_device, S, host_path),
    FLD(struct vc_container_device, S, container_path),
    FLD(struct vc_container_device, S, type),
    FLD(struct vc_container_device, I64, major),
    FLD(struct vc_container_device, I64, minor),
};
SCHEMA(vc_schema_container_device, vc_container_device, container_device_f);

static const struct vc_field container_config_f[] = {
    FLD(struct vc_container_config, S, id),
    FLD(struct vc_container_config, S, rootfs),
    FLD(struct vc_container_config, B, rootfs_readonly),
    SUB(struct vc_container_config, process, vc_schema_process_config),
    SUB(struct vc_container_config, resources, vc_schema_resources),
    VEC(struct vc_container_config, VC_FIELD_STRUCTV, mounts, n_mounts, &vc_schema_mount),
    VEC(struct vc_container_config, VC_FIELD_STRUCTV, devices, n_devices,
        &vc_schema_container_device),
    VEC(struct vc_container_config, VC_FIELD_STRUCTV, annotations, n_annotations,
        &vc_schema_annotation),
};
SCHEMA(vc_schema_container_config, vc_container_config, container_config_f);

static const struct vc_field sandbox_config_f[] = {
    FLD(struct vc_sandbox_config, S, id),
    FLD(struct vc_sandbox_config, S, hostname),
    SUB(struct vc_sandbox_config, hv, vc_schema_hv_config),
    SUB(struct vc_sandbox_config, agent, vc_schema_agent_config),
    SUB(struct vc_sandbox_config, net, vc_schema_network_config),
    VEC(struct vc_sandbox_config, VC_FIELD_STRUCTV, containers, n_containers,
        &vc_schema_container_config),
    VEC(struct vc_sandbox_config, VC_FIELD_STRUCTV, annotations, n_annotations,
        &vc_schema_annotation),
};
SCHEMA(vc_schema_sandbox_config, vc_sandbox_config, sandbox_config_f);

static const struct vc_field process_f[] = {
    FLD(struct vc_process, S, exec_id),
    FLD(struct vc_process, I32, pid),
    FLD(struct vc_process, I64, start_time_ns),
};
SCHEMA(vc_schema_process, vc_process, process_f);

static const struct vc_field device_f[] = {
    FLD(struct vc_device, I32, type),   FLD(struct vc_device, S, id),
    FLD(struct vc_device, U32, cpus),   FLD(struct vc_device, U32, size_mb),
    FLD(struct vc_device, U64, addr),   FLD(struct vc_device, B, probe),
    FLD(struct vc_device, S, path),     FLD(struct vc_device, S, format),
    FLD(struct vc_device, B, readonly), FLD(struct vc_device, S, ifname),
    FLD(struct vc_device, S, mac),      FLD(struct vc_device, S, guest_path),
};
SCHEMA(vc_schema_device, vc_device, device_f);

static const struct vc_field container_status_f[] = {
    FLD(struct vc_container_status, S, id),
    FLD(struct vc_container_status, I32, state),
    FLD(struct vc_container_status, I32, pid),
    FLD(struct vc_container_status, I64, start_time_ns),
    FLD(struct vc_container_status, S, rootfs),
    VEC(struct vc_container_status, VC_FIELD_STRUCTV, annotations, n_annotations,
        &vc_schema_annotation),
};
SCHEMA(vc_schema_container_status, vc_container_status, container_status_f);

static const struct vc_field sandbox_status_f[] = {
    FLD(struct vc_sandbox_status, S, id),
    FLD(struct vc_sandbox_status, I32, state),
    FLD(struct vc_sandbox_status, S, hv_kind),
    FLD(struct vc_sandbox_status, S, agent_kind),
    FLD(struct vc_sandbox_status, S, agent_url),
    FLD(struct vc_sandbox_status, U32, vcpus),
    FLD(struct vc_sandbox_status, U32, memory_mb),
    VEC(struct vc_sandbox_status, VC_FIELD_STRUCTV, containers, n_containers,
        &vc_schema_container_status),
    VEC(struct vc_sandbox_status, VC_FIELD_STRUCTV, annotations, n_annotations,
        &vc_schema_annotation),
    VEC(struct vc_sandbox_status, VC_FIELD_STRV, guest_leftovers, n_guest_leftovers, NULL),
};
SCHEMA(vc_schema_sandbox_status, vc_sandbox_status, sandbox_status_f);

static const struct vc_field guest_details_f[] = {
    FLD(struct vc_guest_details, U64, mem_block_size_bytes),
    FLD(struct vc_guest_details, B, support_mem_hotplug_probe),
    FLD(struct vc_guest_details, S, agent_version),
    FLD(struct vc_guest_details, B, init_daemon),
    VEC(struct vc_guest_details, VC_FIELD_STRV, device_handlers, n_device_handlers, NULL),
    VEC(struct vc_guest_details, VC_FIELD_STRV, storage_handlers, n_storage_handlers, NULL),
    FLD(struct vc_guest_details, B, supports_seccomp),
    VEC(struct vc_guest_details, VC_FIELD_STRV, extra_features, n_extra_features, NULL),
};
SCHEMA(vc_schema_guest_details, vc_guest_details, guest_details_f);

static const struct vc_field container_stats_f[] = {
    FLD(struct vc_container_stats, U64, cpu_total_ns),
    FLD(struct vc_container_stats, U64, cpu_kernel_ns),
    FLD(struct vc_container_stats, U64, cpu_user_ns),
    FLD(struct vc_container_stats, U64, mem_usage),
    FLD(struct vc_container_stats, U64, mem_max_usage),
    FLD(struct vc_container_stats, U64, mem_limit),
    FLD(struct vc_container_stats, U64, mem_failcnt),
    FLD(struct vc_container_stats, U64, pids_current),
    FLD(struct vc_container_stats, U64, pids_limit),
    FLD(struct vc_container_stats, U64, net_rx_bytes),
    FLD(struct vc_container_stats, U64, net_tx_bytes),
};
SCHEMA(vc_schema_container_stats, vc_container_stats, container_stats_f);

static const struct vc_field volume_stats_f[] = {
    FLD(struct vc_volume_stats, U64, bytes_available),
    FLD(struct vc_volume_stats, U64, bytes_total),
    FLD(struct vc_volume_stats, U64, bytes_used),
    FLD(struct vc_volume_stats, U64, inodes_available),
    FLD(struct vc_volume_stats, U64, inodes_total),
    FLD(struct vc_volume_stats, U64, inodes_used),
    FLD(struct vc_volume_stats, B, abnormal),
    FLD(struct vc_volume_stats, S, message),
};
SCHEMA(vc_schema_volume_stats, vc_volume_stats, volume_stats_f);

static const struct vc_field copy_file_f[] = {
    FLD(struct vc_copy_file, S, path),
    FLD(struct vc_copy_file, U32, file_mode),
    FLD(struct vc_copy_file, U32, dir_mode),
    FLD(struct vc_copy_file, I32, uid),
    FLD(struct vc_copy_file, I32, gid),
    VEC(struct vc_copy_file, VC_FIELD_BYTES, data, size, NULL),
};
SCHEMA(vc_schema_copy_file, vc_copy_file, copy_file_f);

static const struct vc_field ps_options_f[] = {
    FLD(struct vc_ps_options, S, format),
    VEC(struct vc_ps_options, VC_FIELD_STRV, args, n_args, NULL),
};
SCHEMA(vc_schema_ps_options, vc_ps_options, ps_options_f);

/* --- generic code ---------------------------------------------------------------------------- */

#define AT(obj, off, T)  ((T *) (void *) ((char *) (obj) + (off)))
#define CAT(obj, off, T) ((const T *) (const void *) ((const char *) (obj) + (off)))

static size_t elem_size(const struct vc_field *f)
{
    switch (f->kind) {
    case VC_FIELD_STRV:
        return sizeof(char *);
    case VC_FIELD_U32V:
        return sizeof(uint32_t);
    case VC_FIELD_BYTES:
        return 1;
    default:
        return f->sub->size;
    }
}

void vc_obj_clear(struct vc_ctx *ctx, const struct vc_schema *s, void *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct vc_field *f = &s->fields[i];

        switch (f->kind) {
        case VC_FIELD_STR:
            vc_free(ctx, *AT(obj, f->off, char *));
            break;
        case VC_FIELD_STRUCT:
            vc_obj_clear(ctx, f->sub, AT(obj, f->off, char));
            break;
        case VC_FIELD_STRV:
            vc_strv_free(ctx, *AT(obj, f->off, char **), *AT(obj, f->count_off, size_t));
            break;
        case VC_FIELD_STRUCTV:
            vc_obj_array_free(ctx, f->sub, *AT(obj, f->off, void *),
                              *AT(obj, f->count_off, size_t));
            break;
        case VC_FIELD_U32V:
        case VC_FIELD_BYTES:
            vc_free(ctx, *AT(obj, f->off, void *));
            break;
        default:
            break;
        }
    }
    memset(obj, 0, s->size);
}

void vc_obj_array_free(struct vc_ctx *ctx, const struct vc_schema *s, void *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        vc_obj_clear(ctx, s, (char *) v + i * s->size);
    vc_free(ctx, v);
}

int vc_obj_array_copy(struct vc_ctx *ctx, const struct vc_schema *s, const void *src, size_t n,
                      void **ret)
{
    char *v;

    if (!n || !src) {
        *ret = NULL;
        return 0;
    }
    v = vc_calloc(ctx, n, s->size);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (vc_obj_copy(ctx, s, v + i * s->size, (const char *) src + i * s->size) < 0) {
            vc_obj_array_free(ctx, s, v, i);
            return -ENOMEM;
        }
    }
    *ret = v;
    return 0;
}

/* Copies one pointer field; dst already holds the scalars and a zeroed pointer. */
static int copy_field(struct vc_ctx *ctx, const struct vc_field *f, void *dst, const void *src)
{
    size_t n =
        f->kind == VC_FIELD_STR || f->kind == VC_FIELD_STRUCT ? 0 : *CAT(src, f->count_off, size_t);

    switch (f->kind) {
    case VC_FIELD_STR: {
        const char *p = *CAT(src, f->off, char *);
        *AT(dst, f->off, char *) = vc_strdup(ctx, p);
        return p && !*AT(dst, f->off, char *) ? -ENOMEM : 0;
    }
    case VC_FIELD_STRUCT:
        return vc_obj_copy(ctx, f->sub, AT(dst, f->off, char), CAT(src, f->off, char));
    case VC_FIELD_STRV: {
        char *const *sv = *(char **const *) (const void *) ((const char *) src + f->off);
        char **v;

        *AT(dst, f->count_off, size_t) = 0;
        if (!n || !sv)
            return 0;
        v = vc_new0(ctx, char *, n);
        if (!v)
            return -ENOMEM;
        *AT(dst, f->off, char **) = v;
        for (size_t i = 0; i < n; i++) {
            v[i] = vc_strdup(ctx, sv[i] ? sv[i] : "");
            if (!v[i])
                return -ENOMEM;
            *AT(dst, f->count_off, size_t) = i + 1;
        }
        return 0;
    }
    case VC_FIELD_STRUCTV: {
        void *v = NULL;

        *AT(dst, f->count_off, size_t) = 0;
        if (vc_obj_array_copy(ctx, f->sub, *CAT(src, f->off, void *), n, &v) < 0)
            return -ENOMEM;
        *AT(dst, f->off, void *) = v;
        *AT(dst, f->count_off, size_t) = v ? n : 0;
        return 0;
    }
    case VC_FIELD_U32V:
    case VC_FIELD_BYTES: {
        const void *p = *CAT(src, f->off, void *);
        void *v;

        *AT(dst, f->count_off, size_t) = 0;
        if (!n || !p)
            return 0;
        v = vc_malloc(ctx, n * elem_size(f));
        if (!v)
            return -ENOMEM;
        memcpy(v, p, n * elem_size(f));
        *AT(dst, f->off, void *) = v;
        *AT(dst, f->count_off, size_t) = n;
        return 0;
    }
    default:
        return 0;
    }
}

/* Zeroes every pointer and count of obj (after a shallow copy), recursing into sub-structs. */
static void detach(const struct vc_schema *s, void *obj)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct vc_field *f = &s->fields[i];

        switch (f->kind) {
        case VC_FIELD_STR:
            *AT(obj, f->off, char *) = NULL;
            break;
        case VC_FIELD_STRUCT:
            detach(f->sub, AT(obj, f->off, char));
            break;
        case VC_FIELD_STRV:
        case VC_FIELD_STRUCTV:
        case VC_FIELD_U32V:
        case VC_FIELD_BYTES:
            *AT(obj, f->off, void *) = NULL;
            *AT(obj, f->count_off, size_t) = 0;
            break;
        default:
            break;
        }
    }
}

int vc_obj_copy(struct vc_ctx *ctx, const struct vc_schema *s, void *dst, const void *src)
{
    memcpy(dst, src, s->size);
    detach(s, dst);
    for (size_t i = 0; i < s->n_fields; i++) {
        if (copy_field(ctx, &s->fields[i], dst, src) < 0) {
            vc_obj_clear(ctx, s, dst);
            return -ENOMEM;
        }
    }
    return 0;
}

/* --- JSON ------------------------------------------------------------------------------------ */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(struct vc_ctx *ctx, const uint8_t *p, size_t n)
{
    char *out = vc_malloc(ctx, (n + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = b64_chars[(v >> 18) & 63];
        *o++ = b64_chars[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64_chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_chars, c) : NULL;
    return p ? (int) (p - b64_chars) : -1;
}

/* Decodes padded base64; -EINVAL on anything else. */
static int b64_decode(struct vc_ctx *ctx, const char *s, size_t len, uint8_t **ret, size_t *ret_n)
{
    uint8_t *out;
    size_t n = 0;

    if (len % 4)
        return -EINVAL;
    out = vc_malloc(ctx, len / 4 * 3 + 1);
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < len; i += 4) {
        int a = b64_value(s[i]), b = b64_value(s[i + 1]);
        int c = s[i + 2] == '=' ? 0 : b64_value(s[i + 2]);
        int d = s[i + 3] == '=' ? 0 : b64_value(s[i + 3]);
        bool last = i + 4 == len;

        if (a < 0 || b < 0 || c < 0 || d < 0 || (!last && (s[i + 2] == '=' || s[i + 3] == '=')) ||
            (s[i + 2] == '=' && s[i + 3] != '=')) {
            vc_free(ctx, out);
            return -EINVAL;
        }
        out[n++] = (uint8_t) (a << 2 | b >> 4);
        if (s[i + 2] != '=')
            out[n++] = (uint8_t) (b << 4 | c >> 2);
        if (s[i + 3] != '=')
            out[n++] = (uint8_t) (c << 6 | d);
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

static json_object *field_to_json(struct vc_ctx *ctx, const struct vc_field *f, const void *obj,
                                  int *r);

int vc_obj_to_json(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj,
                   json_object **ret)
{
    json_object *o = json_object_new_object();
    int r = 0;

    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_fields && r == 0; i++) {
        json_object *v = field_to_json(ctx, &s->fields[i], obj, &r);

        if (v && json_object_object_add(o, s->fields[i].name, v) < 0) {
            json_object_put(v);
            r = -ENOMEM;
        }
    }
    if (r < 0) {
        json_object_put(o);
        return r;
    }
    *ret = o;
    return 0;
}

/* The JSON value of one field, or NULL when it is omitted (*r 0) or on failure (*r < 0). */
static json_object *field_to_json(struct vc_ctx *ctx, const struct vc_field *f, const void *obj,
                                  int *r)
{
    size_t n = 0;
    json_object *v = NULL;

    if (f->kind >= VC_FIELD_STRV)
        n = *CAT(obj, f->count_off, size_t);
    switch (f->kind) {
    case VC_FIELD_STR:
        if (!*CAT(obj, f->off, char *))
            return NULL;
        v = json_object_new_string(*CAT(obj, f->off, char *));
        break;
    case VC_FIELD_BOOL:
        v = json_object_new_boolean(*CAT(obj, f->off, bool));
        break;
    case VC_FIELD_U32:
        v = json_object_new_int64(*CAT(obj, f->off, uint32_t));
        break;
    case VC_FIELD_I32:
        v = json_object_new_int64(*CAT(obj, f->off, int32_t));
        break;
    case VC_FIELD_U64:
        v = json_object_new_uint64(*CAT(obj, f->off, uint64_t));
        break;
    case VC_FIELD_I64:
        v = json_object_new_int64(*CAT(obj, f->off, int64_t));
        break;
    case VC_FIELD_STRUCT:
        *r = vc_obj_to_json(ctx, f->sub, CAT(obj, f->off, char), &v);
        return v;
    case VC_FIELD_BYTES: {
        char *enc;

        if (!n)
            return NULL;
        enc = b64_encode(ctx, *CAT(obj, f->off, uint8_t *), n);
        v = enc ? json_object_new_string(enc) : NULL;
        vc_free(ctx, enc);
        break;
    }
    default: /* arrays */
        if (!n)
            return NULL;
        v = json_object_new_array_ext((int) n);
        for (size_t i = 0; v && i < n && *r == 0; i++) {
            json_object *e = NULL;

            if (f->kind == VC_FIELD_STRV)
                e = json_object_new_string((*CAT(obj, f->off, char **))[i]);
            else if (f->kind == VC_FIELD_U32V)
                e = json_object_new_int64((*CAT(obj, f->off, uint32_t *))[i]);
            else
                *r = vc_obj_to_json(ctx, f->sub, *CAT(obj, f->off, char *) + i * f->sub->size, &e);
            if (!e || json_object_array_add(v, e) < 0) {
                json_object_put(e);
                *r = *r < 0 ? *r : -ENOMEM;
            }
        }
        break;
    }
    if (!v || *r < 0) {
        json_object_put(v);
        *r = *r < 0 ? *r : -ENOMEM;
        return NULL;
    }
    return v;
}

static int bad_field(struct vc_ctx *ctx, const struct vc_schema *s, const struct vc_field *f,
                     const char *why)
{
    return vc_err(ctx, -EINVAL, "%s.%s: %s", s->name, f->name, why);
}

/* Reads an integer within [lo, hi] (hi as unsigned for the u64 case). */
static int json_int(json_object *j, bool is_unsigned, int64_t lo, uint64_t hi, uint64_t *ret)
{
    if (!json_object_is_type(j, json_type_int))
        return -EINVAL;
    errno = 0;
    if (is_unsigned) {
        /* json-c keeps values above INT64_MAX as unsigned; negatives read back as 0. */
        int64_t sv = json_object_get_int64(j);
        uint64_t uv = json_object_get_uint64(j);
        if (sv < 0 || uv > hi)
            return -ERANGE;
        *ret = uv;
    } else {
        int64_t sv = json_object_get_int64(j);
        if (errno == ERANGE || sv < lo || (sv > 0 && (uint64_t) sv > hi))
            return -ERANGE;
        *ret = (uint64_t) sv;
    }
    return 0;
}

static int str_from_json(struct vc_ctx *ctx, json_object *j, char **ret)
{
    if (!json_object_is_type(j, json_type_string))
        return -EINVAL;
    if ((size_t) json_object_get_string_len(j) > VC_SCHEMA_STR_MAX)
        return -E2BIG;
    *ret = vc_strdup(ctx, json_object_get_string(j));
    return *ret ? 0 : -ENOMEM;
}

static int array_from_json(struct vc_ctx *ctx, const struct vc_field *f, json_object *j, void *obj)
{
    size_t n;
    char *v;

    if (f->kind == VC_FIELD_BYTES) {
        if (!json_object_is_type(j, json_type_string))
            return -EINVAL;
        if ((size_t) json_object_get_string_len(j) > VC_STORE_DOC_MAX)
            return -E2BIG;
        return b64_decode(ctx, json_object_get_string(j), json_object_get_string_len(j),
                          AT(obj, f->off, uint8_t *), AT(obj, f->count_off, size_t));
    }
    if (!json_object_is_type(j, json_type_array))
        return -EINVAL;
    n = json_object_array_length(j);
    if (n > VC_SCHEMA_ARRAY_MAX)
        return -E2BIG;
    if (!n)
        return 0;
    v = vc_calloc(ctx, n, elem_size(f));
    if (!v)
        return -ENOMEM;
    *AT(obj, f->off, void *) = v;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(j, i);
        uint64_t u;
        int r;

        if (f->kind == VC_FIELD_STRV) {
            r = str_from_json(ctx, e, (char **) (void *) v + i);
        } else if (f->kind == VC_FIELD_U32V) {
            r = json_int(e, true, 0, UINT32_MAX, &u);
            if (r == 0)
                ((uint32_t *) (void *) v)[i] = (uint32_t) u;
        } else {
            r = vc_obj_from_json(ctx, f->sub, e, v + i * f->sub->size);
        }
        if (r < 0)
            return r;
        *AT(obj, f->count_off, size_t) = i + 1;
    }
    return 0;
}

static int field_from_json(struct vc_ctx *ctx, const struct vc_field *f, json_object *j, void *obj)
{
    uint64_t u = 0;
    int r;

    switch (f->kind) {
    case VC_FIELD_STR:
        return str_from_json(ctx, j, AT(obj, f->off, char *));
    case VC_FIELD_BOOL:
        if (!json_object_is_type(j, json_type_boolean))
            return -EINVAL;
        *AT(obj, f->off, bool) = json_object_get_boolean(j);
        return 0;
    case VC_FIELD_U32:
        r = json_int(j, true, 0, UINT32_MAX, &u);
        *AT(obj, f->off, uint32_t) = (uint32_t) u;
        return r;
    case VC_FIELD_I32:
        r = json_int(j, false, INT32_MIN, INT32_MAX, &u);
        *AT(obj, f->off, int32_t) = (int32_t) (int64_t) u;
        return r;
    case VC_FIELD_U64:
        r = json_int(j, true, 0, UINT64_MAX, &u);
        *AT(obj, f->off, uint64_t) = u;
        return r;
    case VC_FIELD_I64:
        r = json_int(j, false, INT64_MIN, INT64_MAX, &u);
        *AT(obj, f->off, int64_t) = (int64_t) u;
        return r;
    case VC_FIELD_STRUCT:
        return vc_obj_from_json(ctx, f->sub, j, AT(obj, f->off, char));
    default:
        return array_from_json(ctx, f, j, obj);
    }
}

int vc_obj_from_json(struct vc_ctx *ctx, const struct vc_schema *s, json_object *j, void *obj)
{
    if (!json_object_is_type(j, json_type_object))
        return vc_err(ctx, -EINVAL, "%s: expected a json object", s->name);
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct vc_field *f = &s->fields[i];
        json_object *v;
        int r;

        if (!json_object_object_get_ex(j, f->name, &v) || json_object_is_type(v, json_type_null))
            continue;
        r = field_from_json(ctx, f, v, obj);
        if (r < 0) {
            /* A nested failure has already named its field; keep the innermost message. */
            if (r == -EINVAL && vc_ctx_errcode(ctx) == -EINVAL &&
                (f->kind == VC_FIELD_STRUCT || f->kind == VC_FIELD_STRUCTV)) {
                vc_obj_clear(ctx, s, obj);
                return r;
            }
            vc_obj_clear(ctx, s, obj);
            if (r == -ENOMEM)
                return vc_err(ctx, r, "out of memory");
            return bad_field(ctx, s, f,
                             r == -ERANGE  ? "value out of range"
                             : r == -E2BIG ? "too large"
                                           : "wrong type");
        }
    }
    return 0;
}

int vc_json_parse(struct vc_ctx *ctx, const char *what, const char *buf, size_t len,
                  json_object **ret)
{
    struct json_tokener *tok;
    json_object *j;
    enum json_tokener_error jerr;

    if (len > VC_STORE_DOC_MAX)
        return vc_err(ctx, -EFBIG, "%s: document too large (%zu bytes)", what, len);
    if (len > INT_MAX)
        return vc_err(ctx, -EFBIG, "%s: document too large", what);
    tok = json_tokener_new_ex(32);
    if (!tok)
        return vc_err(ctx, -ENOMEM, "out of memory");
    j = json_tokener_parse_ex(tok, buf, (int) len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
        /* Only whitespace may follow the document. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
            if (!strchr(" \t\r\n", buf[i]) || !buf[i]) {
                json_object_put(j);
                json_tokener_free(tok);
                return vc_err(ctx, -EINVAL, "%s: trailing data after json document", what);
            }
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success || !j) {
        json_object_put(j);
        return vc_err(ctx, -EINVAL, "%s: malformed json: %s", what,
                      jerr == json_tokener_continue ? "unexpected end of document"
                                                    : json_tokener_error_desc(jerr));
    }
    *ret = j;
    return 0;
}

/* --- JSON text without a tree ---------------------------------------------------------------- */

/* The persisted documents are read and written on every API call, so they skip json-c's object
 * tree: the writer prints straight from the struct and the reader fills it straight from the
 * text. The reader takes only the plain JSON the writer makes (and any strict JSON of the same
 * kind) and hands anything else to json-c (vc_json_parse), so json-c keeps deciding what an odd
 * or hostile document means. */

#define JR_DEPTH_MAX 16 /* nesting the reader follows; deeper text goes to json-c */

struct jw {
    char *buf;   /* output, or NULL to measure */
    size_t cap;  /* bytes in buf */
    size_t len;  /* bytes of text so far (may pass cap) */
    bool pretty; /* json-c's PRETTY | SPACED layout, else its PLAIN one */
};

static inline void jw_mem(struct jw *w, const char *p, size_t n)
{
    if (w->len < w->cap)
        memcpy(w->buf + w->len, p, n < w->cap - w->len ? n : w->cap - w->len);
    w->len += n;
}

static inline void jw_ch(struct jw *w, char c)
{
    if (w->len < w->cap)
        w->buf[w->len] = c;
    w->len++;
}

/* A comma if comma, then (pretty) a line break and the indent of level, two spaces a level. */
static void jw_break(struct jw *w, bool comma, unsigned level)
{
    static const char lead[] = ",\n                                ";
    size_t n = 2 * (size_t) level;

    if (!w->pretty) {
        if (comma)
            jw_ch(w, ',');
        return;
    }
    if (n <= sizeof(lead) - 3) {
        jw_mem(w, lead + !comma, n + 1 + comma);
        return;
    }
    jw_mem(w, lead + !comma, 1 + comma);
    for (; n; n -= n < sizeof(lead) - 3 ? n : sizeof(lead) - 3)
        jw_mem(w, lead + 2, n < sizeof(lead) - 3 ? n : sizeof(lead) - 3);
}

static void jw_u64(struct jw *w, uint64_t v, bool neg)
{
    char d[24];
    size_t i = sizeof(d);

    do {
        d[--i] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg)
        d[--i] = '-';
    jw_mem(w, d + i, sizeof(d) - i);
}

static void jw_i64(struct jw *w, int64_t v)
{
    jw_u64(w, v < 0 ? 0 - (uint64_t) v : (uint64_t) v, v < 0);
}

/* How json-c escapes each byte: 0 as is, else the letter after the backslash ('u' for
 * \u00xx); the NUL that ends the string is marked too, to leave the plain loop. */
static const char jw_esc[256] = {
    [0x00] = 1,   [0x01] = 'u', [0x02] = 'u', [0x03] = 'u',  [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', ['\b'] = 'b', ['\t'] = 't',  ['\n'] = 'n', [0x0b] = 'u',
    ['\f'] = 'f', ['\r'] = 'r', [0x0e] = 'u', [0x0f] = 'u',  [0x10] = 'u', [0x11] = 'u',
    [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',  [0x16] = 'u', [0x17] = 'u',
    [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u',  [0x1c] = 'u', [0x1d] = 'u',
    [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',
};

/* A quoted string escaped as json-c escapes it ('/' included, other controls as \u00xx). */
static void jw_str(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    jw_ch(w, '"');
    for (;;) {
        const char *run = s;
        char esc[6] = {'\\', 0, '0', '0'};
        unsigned char c;

        while (!jw_esc[(unsigned char) *s])
            s++;
        jw_mem(w, run, (size_t) (s - run));
        c = (unsigned char) *s++;
        if (!c)
            break;
        esc[1] = jw_esc[c];
        if (esc[1] == 'u') {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        jw_mem(w, esc, esc[1] == 'u' ? 6 : 2);
    }
    jw_ch(w, '"');
}

static void jw_b64(struct jw *w, const uint8_t *p, size_t n)
{
    jw_ch(w, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (uint32_t) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = b64_chars[(v >> 18) & 63];
        q[1] = b64_chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64_chars[v & 63] : '=';
        jw_mem(w, q, 4);
    }
    jw_ch(w, '"');
}

/* Opens a member or element of a container at level: the separator and the indent. */
static void jw_item(struct jw *w, bool *had, unsigned level)
{
    jw_break(w, *had, level);
    *had = true;
}

/* Closes a container at level; pretty json-c breaks the line even after an empty one. */
static void jw_close(struct jw *w, unsigned level, char c)
{
    jw_break(w, false, level);
    jw_ch(w, c);
}

static void jw_obj(struct jw *w, const struct vc_schema *s, const void *obj, unsigned level);

static void jw_array(struct jw *w, const struct vc_field *f, const void *obj, size_t n,
                     unsigned level)
{
    const void *v = *CAT(obj, f->off, void *);
    bool had = false;

    jw_ch(w, '[');
    for (size_t i = 0; i < n; i++) {
        jw_item(w, &had, level + 1);
        if (f->kind == VC_FIELD_STRV) {
            const char *e = ((char *const *) v)[i];
            jw_str(w, e ? e : "");
        } else if (f->kind == VC_FIELD_U32V) {
            jw_u64(w, ((const uint32_t *) v)[i], false);
        } else {
            jw_obj(w, f->sub, (const char *) v + i * f->sub->size, level + 1);
        }
    }
    jw_close(w, level, ']');
}

/* One member, unless it is omitted (as vc_obj_to_json omits it). */
static void jw_field(struct jw *w, const struct vc_field *f, const void *obj, bool *had,
                     unsigned level)
{
    size_t n = f->kind >= VC_FIELD_STRV ? *CAT(obj, f->count_off, size_t) : 0;

    if ((f->kind == VC_FIELD_STR || f->kind >= VC_FIELD_STRV) && !*CAT(obj, f->off, void *))
        return;
    if (f->kind >= VC_FIELD_STRV && !n)
        return;
    jw_item(w, had, level + 1);
    jw_str(w, f->name);
    jw_mem(w, ": ", w->pretty ? 2 : 1);
    switch (f->kind) {
    case VC_FIELD_STR:
        jw_str(w, *CAT(obj, f->off, char *));
        break;
    case VC_FIELD_BOOL:
        if (*CAT(obj, f->off, bool))
            jw_mem(w, "true", 4);
        else
            jw_mem(w, "false", 5);
        break;
    case VC_FIELD_U32:
        jw_u64(w, *CAT(obj, f->off, uint32_t), false);
        break;
    case VC_FIELD_I32:
        jw_i64(w, *CAT(obj, f->off, int32_t));
        break;
    case VC_FIELD_U64:
        jw_u64(w, *CAT(obj, f->off, uint64_t), false);
        break;
    case VC_FIELD_I64:
        jw_i64(w, *CAT(obj, f->off, int64_t));
        break;
    case VC_FIELD_STRUCT:
        jw_obj(w, f->sub, CAT(obj, f->off, char), level + 1);
        break;
    case VC_FIELD_BYTES:
        jw_b64(w, *CAT(obj, f->off, uint8_t *), n);
        break;
    default:
        jw_array(w, f, obj, n, level + 1);
        break;
    }
}

static void jw_obj(struct jw *w, const struct vc_schema *s, const void *obj, unsigned level)
{
    bool had = false;

    jw_ch(w, '{');
    for (size_t i = 0; i < s->n_fields; i++)
        jw_field(w, &s->fields[i], obj, &had, level);
    jw_close(w, level, '}');
}

size_t vc_obj_format_json(const struct vc_schema *s, const void *obj, unsigned flags, char *buf,
                          size_t cap)
{
    struct jw w = {.buf = buf, .cap = cap, .pretty = flags & VC_OBJ_JSON_PRETTY};

    jw_obj(&w, s, obj, 0);
    if (cap)
        buf[w.len < cap ? w.len : cap - 1] = '\0';
    return w.len;
}

/* The reader: one pass that checks the text and fills obj as it goes. A step returns 0,
 * -ENOMEM, or VC_OBJ_JSON_OTHER when the text is not for this reader (the caller then clears
 * obj, which holds every allocation made so far). */
struct jr {
    struct vc_ctx *ctx; /* allocates the values */
    const char *p;      /* next byte */
    const char *end;    /* end of the text */
};

/* JSON's blanks. */
static const bool jr_blank[256] = {[' '] = 1, ['\n'] = 1, ['\t'] = 1, ['\r'] = 1};

/* The bytes that end a plain run inside a string. */
static const bool jr_stop[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* Skips blanks; true when a byte follows. */
static bool jr_ws(struct jr *r)
{
    const char *p = r->p, *end = r->end;

    while (p < end && jr_blank[(unsigned char) *p])
        p++;
    r->p = p;
    return p < end;
}

/* Consumes c (after blanks) or says the text is not for this reader. */
static int jr_expect(struct jr *r, char c)
{
    if (!jr_ws(r) || *r->p != c)
        return VC_OBJ_JSON_OTHER;
    r->p++;
    return 0;
}

/* Consumes c (after blanks) if it is next. */
static bool jr_accept(struct jr *r, char c)
{
    if (!jr_ws(r) || *r->p != c)
        return false;
    r->p++;
    return true;
}

static bool jr_word(struct jr *r, const char *word, size_t n)
{
    if ((size_t) (r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static int jr_hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The byte an escape at p (its backslash) stands for, or -1 for one left to json-c: all but
 * the short ones and \u0001..\u007f. *ret_n is its length in the text. */
static int jr_unescape(const char *p, const char *end, size_t *ret_n)
{
    int u;

    *ret_n = 2;
    if (end - p < 2)
        return -1;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        return p[1];
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        u = end - p >= 6 ? jr_hex4(p + 2) : -1;
        *ret_n = 6;
        return u >= 1 && u <= 0x7f ? u : -1;
    default:
        return -1;
    }
}

/* A string at r->p (its opening quote): *ret_raw its text between the quotes, *ret_raw_len the
 * length of that, *ret_len its length once unescaped. */
static int jr_string(struct jr *r, const char **ret_raw, size_t *ret_raw_len, size_t *ret_len)
{
    const char *p = r->p + 1, *end = r->end;
    size_t n = 0, k;

    *ret_raw = p;
    for (;;) {
        const char *run = p;

        while (p < end && !jr_stop[(unsigned char) *p])
            p++;
        n += (size_t) (p - run);
        if (p == end || *p != '\\')
            break;
        if (jr_unescape(p, end, &k) < 0)
            return VC_OBJ_JSON_OTHER;
        n++;
        p += k;
    }
    if (p == end || *p != '"')
        return VC_OBJ_JSON_OTHER;
    *ret_raw_len = (size_t) (p - *ret_raw);
    *ret_len = n;
    r->p = p + 1;
    return 0;
}

/* Unescapes a string jr_string accepted into out. */
static void jr_unescape_into(char *out, const char *raw, size_t raw_len)
{
    const char *p = raw, *end = raw + raw_len;
    size_t k;

    while (p < end) {
        if (*p != '\\') {
            *out++ = *p++;
            continue;
        }
        *out++ = (char) jr_unescape(p, end, &k);
        p += k;
    }
}

/* An integer without fraction, exponent or leading zeros, that fits 64 bits. */
static int jr_int(struct jr *r, bool *ret_neg, uint64_t *ret_mag)
{
    const char *p = r->p, *end = r->end;
    uint64_t v = 0;
    bool neg = p < end && *p == '-';

    if (neg)
        p++;
    if (p == end || *p < '0' || *p > '9' || (*p == '0' && neg))
        return VC_OBJ_JSON_OTHER;
    if (*p == '0') {
        p++;
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = (unsigned) (*p - '0');

            if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || d > UINT64_MAX % 10))
                return VC_OBJ_JSON_OTHER;
            v = v * 10 + d;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return VC_OBJ_JSON_OTHER;
    if (neg && v > (uint64_t) INT64_MAX + 1)
        return VC_OBJ_JSON_OTHER;
    r->p = p;
    *ret_neg = neg;
    *ret_mag = v;
    return 0;
}

static int jr_skip(struct jr *r, unsigned depth);

/* The members of an object or the elements of an array after its opening bracket, passed over;
 * *ret_n counts them. */
static int jr_items(struct jr *r, char close, unsigned depth, size_t *ret_n)
{
    const char *raw;
    size_t n = 0, raw_len, len;
    int rc;

    if (jr_accept(r, close)) {
        *ret_n = 0;
        return 0;
    }
    do {
        if (close == '}') {
            if (!jr_ws(r) || *r->p != '"')
                return VC_OBJ_JSON_OTHER;
            rc = jr_string(r, &raw, &raw_len, &len);
            if (rc == 0)
                rc = jr_expect(r, ':');
            if (rc != 0)
                return rc;
        }
        rc = jr_skip(r, depth);
        if (rc != 0)
            return rc;
        n++;
    } while (jr_accept(r, ','));
    *ret_n = n;
    return jr_expect(r, close);
}

/* Passes over any value (of a member the schema does not know), checking it. */
static int jr_skip(struct jr *r, unsigned depth)
{
    const char *raw;
    size_t n, raw_len, len;
    uint64_t mag;
    bool neg;

    if (!jr_ws(r))
        return VC_OBJ_JSON_OTHER;
    switch (*r->p) {
    case '{':
    case '[':
        if (depth >= JR_DEPTH_MAX)
            return VC_OBJ_JSON_OTHER;
        return jr_items(r, *r->p++ == '{' ? '}' : ']', depth + 1, &n);
    case '"':
        return jr_string(r, &raw, &raw_len, &len);
    case 't':
        return jr_word(r, "true", 4) ? 0 : VC_OBJ_JSON_OTHER;
    case 'f':
        return jr_word(r, "false", 5) ? 0 : VC_OBJ_JSON_OTHER;
    case 'n':
        return jr_word(r, "null", 4) ? 0 : VC_OBJ_JSON_OTHER;
    default:
        return jr_int(r, &neg, &mag);
    }
}

/* An integer member within [lo, hi] as json_int reads it; out of range goes to json-c, which
 * names the field. */
static int jr_num(struct jr *r, bool is_unsigned, int64_t lo, uint64_t hi, uint64_t *ret)
{
    uint64_t mag;
    bool neg;
    int rc = jr_int(r, &neg, &mag);

    if (rc != 0)
        return rc;
    if (neg ? is_unsigned || (int64_t) (0 - mag) < lo
            : mag > hi || (!is_unsigned && mag > (uint64_t) INT64_MAX))
        return VC_OBJ_JSON_OTHER;
    *ret = neg ? 0 - mag : mag;
    return 0;
}

/* A string member into *ret (allocated as vc_strdup would). */
static int jr_str_value(struct jr *r, char **ret)
{
    const char *raw;
    size_t raw_len, len;
    char *s;
    int rc;

    if (r->p == r->end || *r->p != '"')
        return VC_OBJ_JSON_OTHER;
    rc = jr_string(r, &raw, &raw_len, &len);
    if (rc != 0 || len > VC_SCHEMA_STR_MAX)
        return rc != 0 ? rc : VC_OBJ_JSON_OTHER;
    s = vc_malloc(r->ctx, len + 1);
    if (!s)
        return -ENOMEM;
    if (len == raw_len)
        memcpy(s, raw, len);
    else
        jr_unescape_into(s, raw, raw_len);
    s[len] = '\0';
    *ret = s;
    return 0;
}

static int jr_obj(struct jr *r, const struct vc_schema *s, void *obj, unsigned depth);

/* One element of an array field into slot i of v. */
static int jr_elem(struct jr *r, const struct vc_field *f, char *v, size_t i, unsigned depth)
{
    uint64_t u;
    int rc;

    if (!jr_ws(r))
        return VC_OBJ_JSON_OTHER;
    switch (f->kind) {
    case VC_FIELD_STRV:
        return jr_str_value(r, (char **) (void *) v + i);
    case VC_FIELD_U32V:
        rc = jr_num(r, true, 0, UINT32_MAX, &u);
        if (rc == 0)
            ((uint32_t *) (void *) v)[i] = (uint32_t) u;
        return rc;
    default:
        return jr_obj(r, f->sub, v + i * f->sub->size, depth);
    }
}

/* An array field. Its elements are counted first to allocate them at once, all zero, with the
 * count set: a failure half way clears like a full array. */
static int jr_array(struct jr *r, const struct vc_field *f, void *obj, unsigned depth)
{
    const char *start;
    size_t n;
    char *v;
    int rc;

    if (depth >= JR_DEPTH_MAX)
        return VC_OBJ_JSON_OTHER;
    rc = jr_expect(r, '[');
    start = r->p;
    if (rc == 0)
        rc = jr_items(r, ']', depth + 1, &n);
    if (rc != 0 || n == 0)
        return rc;
    if (n > VC_SCHEMA_ARRAY_MAX)
        return VC_OBJ_JSON_OTHER;
    v = vc_calloc(r->ctx, n, elem_size(f));
    if (!v)
        return -ENOMEM;
    *AT(obj, f->off, void *) = v;
    *AT(obj, f->count_off, size_t) = n;
    r->p = start;
    for (size_t i = 0; i < n; i++) {
        rc = jr_elem(r, f, v, i, depth + 1);
        if (rc == 0 && i + 1 < n)
            rc = jr_expect(r, ',');
        if (rc != 0)
            return rc;
    }
    return jr_expect(r, ']');
}

static int jr_field(struct jr *r, const struct vc_field *f, void *obj, unsigned depth)
{
    uint64_t u = 0;
    bool b;
    int rc;

    switch (f->kind) {
    case VC_FIELD_STR:
        return jr_str_value(r, AT(obj, f->off, char *));
    case VC_FIELD_BOOL:
        b = jr_word(r, "true", 4);
        if (!b && !jr_word(r, "false", 5))
            return VC_OBJ_JSON_OTHER;
        *AT(obj, f->off, bool) = b;
        return 0;
    case VC_FIELD_U32:
        rc = jr_num(r, true, 0, UINT32_MAX, &u);
        *AT(obj, f->off, uint32_t) = (uint32_t) u;
        return rc;
    case VC_FIELD_I32:
        rc = jr_num(r, false, INT32_MIN, INT32_MAX, &u);
        *AT(obj, f->off, int32_t) = (int32_t) (int64_t) u;
        return rc;
    case VC_FIELD_U64:
        rc = jr_num(r, true, 0, UINT64_MAX, &u);
        *AT(obj, f->off, uint64_t) = u;
        return rc;
    case VC_FIELD_I64:
        rc = jr_num(r, false, INT64_MIN, INT64_MAX, &u);
        *AT(obj, f->off, int64_t) = (int64_t) u;
        return rc;
    case VC_FIELD_STRUCT:
        return jr_obj(r, f->sub, AT(obj, f->off, char), depth);
    case VC_FIELD_BYTES:
        return VC_OBJ_JSON_OTHER;
    default:
        return jr_array(r, f, obj, depth);
    }
}

/* The field a key names, looked for from *hint on (documents list fields in schema order). A
 * key holds no NUL (control bytes end a plain run), so a shorter name stops at its end. */
static const struct vc_field *jr_lookup(const struct vc_schema *s, const char *key, size_t len,
                                        size_t *hint)
{
    size_t i = *hint < s->n_fields ? *hint : 0;

    for (size_t k = 0; k < s->n_fields; k++) {
        const char *name = s->fields[i].name;

        if (name[0] == key[0] && strncmp(name, key, len) == 0 && name[len] == '\0') {
            *hint = i + 1;
            return &s->fields[i];
        }
        if (++i == s->n_fields)
            i = 0;
    }
    return NULL;
}

/* One member: a known field is read (null leaves it unset, as absent), an unknown one skipped;
 * a field named twice goes to json-c, which keeps the last. */
static int jr_member(struct jr *r, const struct vc_schema *s, void *obj, unsigned depth,
                     uint64_t *seen, size_t *hint)
{
    const struct vc_field *f;
    const char *key;
    size_t raw_len, len;
    uint64_t bit;
    int rc;

    if (!jr_ws(r) || *r->p != '"')
        return VC_OBJ_JSON_OTHER;
    rc = jr_string(r, &key, &raw_len, &len);
    if (rc == 0 && raw_len != len)
        rc = VC_OBJ_JSON_OTHER; /* an escaped key */
    if (rc == 0)
        rc = jr_expect(r, ':');
    if (rc != 0)
        return rc;
    f = len ? jr_lookup(s, key, len, hint) : NULL;
    if (!f)
        return jr_skip(r, depth);
    bit = UINT64_C(1) << (f - s->fields);
    if (*seen & bit)
        return VC_OBJ_JSON_OTHER;
    *seen |= bit;
    if (!jr_ws(r))
        return VC_OBJ_JSON_OTHER;
    if (*r->p == 'n')
        return jr_word(r, "null", 4) ? 0 : VC_OBJ_JSON_OTHER;
    return jr_field(r, f, obj, depth);
}

static int jr_obj(struct jr *r, const struct vc_schema *s, void *obj, unsigned depth)
{
    uint64_t seen = 0;
    size_t hint = 0;
    int rc;

    if (depth >= JR_DEPTH_MAX || s->n_fields > 64)
        return VC_OBJ_JSON_OTHER;
    rc = jr_expect(r, '{');
    if (rc != 0 || jr_accept(r, '}'))
        return rc;
    do {
        rc = jr_member(r, s, obj, depth + 1, &seen, &hint);
        if (rc != 0)
            return rc;
    } while (jr_accept(r, ','));
    return jr_expect(r, '}');
}

int vc_obj_read_json(struct vc_ctx *ctx, const struct vc_schema *s, const char *buf, size_t len,
                     void *obj)
{
    struct jr r = {.ctx = ctx, .p = buf, .end = buf + len};
    int rc;

    if (len > VC_STORE_DOC_MAX)
        return VC_OBJ_JSON_OTHER;
    rc = jr_obj(&r, s, obj, 0);
    if (rc == 0 && jr_ws(&r))
        rc = VC_OBJ_JSON_OTHER; /* more than blanks after the document */
    if (rc != 0)
        vc_obj_clear(ctx, s, obj);
    if (rc < 0)
        return vc_err(ctx, rc, "out of memory");
    return rc;
}
