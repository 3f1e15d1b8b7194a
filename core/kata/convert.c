/* SPDX-License-Identifier: Apache-2.0 */
/* The model ↔ agent protocol conversions (convert.h): vc→pb builds messages in an arena with
 * borrowed strings, pb→vc deep-copies a peer's message into model structs after bounding every
 * count and length, so a hostile message costs an -EINVAL, never a crash or a leak. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "convert.h"
#include "schema.h"

#define ARENA_BLOCK_MIN 4096u /* bytes in an ordinary arena block */

struct vc_kata_arena_block {
    struct vc_kata_arena_block *next; /* older block */
    size_t size;                      /* bytes in data */
    size_t used;                      /* bytes handed out */
    max_align_t data[];               /* the memory, aligned for any type */
};

/* --- arena ------------------------------------------------------------------------------------ */

void vc_kata_arena_init(struct vc_kata_arena *a, struct vc_ctx *ctx)
{
    *a = (struct vc_kata_arena){.ctx = ctx};
}

void *vc_kata_arena_alloc(struct vc_kata_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    struct vc_kata_arena_block *b = a->head;
    void *p;

    if (size > SIZE_MAX / 2) {
        (void) vc_err(a->ctx, -ENOMEM, "out of memory");
        return NULL;
    }
    size = (size + align - 1) / align * align;
    if (!b || b->size - b->used < size) {
        size_t bsize = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;

        b = vc_malloc(a->ctx, sizeof(*b) + bsize);
        if (!b) {
            (void) vc_err(a->ctx, -ENOMEM, "out of memory");
            return NULL;
        }
        *b = (struct vc_kata_arena_block){.next = a->head, .size = bsize};
        a->head = b;
    }
    p = (char *) b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *vc_kata_arena_array(struct vc_kata_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / 2 / size) {
        (void) vc_err(a->ctx, -ENOMEM, "out of memory");
        return NULL;
    }
    return vc_kata_arena_alloc(a, n * size);
}

void vc_kata_arena_free(struct vc_kata_arena *a)
{
    if (!a)
        return;
    while (a->head) {
        struct vc_kata_arena_block *b = a->head;

        a->head = b->next;
        vc_free(a->ctx, b);
    }
}

/* --- vc → pb helpers -------------------------------------------------------------------------- */

/* A borrowed string for the wire: protobuf-c wants "" where the model may hold NULL. */
static char *pbs(const char *s)
{
    return (char *) (s ? s : "");
}

/* A message of desc's type, initialised with its defaults. */
static void *pb_new(struct vc_kata_arena *a, const ProtobufCMessageDescriptor *desc)
{
    void *m = vc_kata_arena_alloc(a, desc->sizeof_message);

    if (m)
        protobuf_c_message_init(desc, m);
    return m;
}

/* Borrows a string vector (NULL elements become ""). */
static int strv_to_pb(struct vc_kata_arena *a, char *const *v, size_t n, char ***ret, size_t *ret_n)
{
    char **out;

    if (!n)
        return 0;
    out = vc_kata_arena_array(a, n, sizeof(*out));
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        out[i] = pbs(v[i]);
    *ret = out;
    *ret_n = n;
    return 0;
}

/* Builds one message of an array from the model element at index i. */
typedef int pb_elem_fn(struct vc_kata_arena *a, const void *elem, void **ret);

/* An array of n message pointers, each made by fn from v[i] (elements of size bytes). */
static int array_to_pb(struct vc_kata_arena *a, pb_elem_fn *fn, const void *v, size_t n,
                       size_t size, void ***ret, size_t *ret_n)
{
    void **out;
    int r;

    if (!n)
        return 0;
    out = vc_kata_arena_array(a, n, sizeof(*out));
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r = fn(a, (const char *) v + i * size, &out[i]);
        if (r < 0)
            return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

/* One message made by fn from elem, stored in *ret on success only. */
static int one_to_pb(struct vc_kata_arena *a, pb_elem_fn *fn, const void *elem, void **ret)
{
    void *m = NULL;
    int r = fn(a, elem, &m);

    if (r >= 0)
        *ret = m;
    return r;
}

/* A message of type desc whose field 1 (a repeated message field, as in the list wrappers
 * Interfaces, Routes, ARPNeighbors, UpdateEphemeralMountsRequest) holds n messages made by fn. */
static int list_to_pb(struct vc_kata_arena *a, const ProtobufCMessageDescriptor *desc,
                      pb_elem_fn *fn, const void *v, size_t n, size_t size, void **ret)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, 1);
    char *m = pb_new(a, desc);
    int r;

    assert(f && f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE);
    if (!m)
        return -ENOMEM;
    r = array_to_pb(a, fn, v, n, size, (void ***) (m + f->offset),
                    (size_t *) (m + f->quantifier_offset));
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

static int family_to_pb(struct vc_ctx *ctx, int32_t family, Types__IPFamily *ret)
{
    if (family != VC_IP_V4 && family != VC_IP_V6)
        return vc_err(ctx, -EINVAL, "kata: ip family %d is neither v4 nor v6", (int) family);
    *ret = family == VC_IP_V6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    return 0;
}

static int ip_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_ip_address *ip = elem;
    Types__IPAddress *m = pb_new(a, &types__ipaddress__descriptor);

    if (!m)
        return -ENOMEM;
    m->address = pbs(ip->address);
    m->mask = pbs(ip->mask);
    *ret = m;
    return family_to_pb(a->ctx, ip->family, &m->family);
}

/* --- vc → pb ---------------------------------------------------------------------------------- */

int vc_kata_process_to_pb(struct vc_kata_arena *a, const struct vc_process_config *p,
                          Grpc__Process **ret)
{
    Grpc__Process *m = pb_new(a, &grpc__process__descriptor);
    Grpc__User *u = pb_new(a, &grpc__user__descriptor);
    int r;

    if (!m || !u)
        return -ENOMEM;
    m->terminal = p->terminal;
    if (p->rows || p->columns) {
        m->consolesize = pb_new(a, &grpc__box__descriptor);
        if (!m->consolesize)
            return -ENOMEM;
        m->consolesize->height = p->rows;
        m->consolesize->width = p->columns;
    }
    u->uid = p->user.uid;
    u->gid = p->user.gid;
    u->n_additionalgids = p->user.extra_gids ? p->user.n_extra_gids : 0;
    u->additionalgids = p->user.extra_gids;
    u->username = pbs(p->user.username);
    m->user = u;
    m->cwd = pbs(p->cwd ? p->cwd : "/");
    r = strv_to_pb(a, p->args, p->n_args, &m->args, &m->n_args);
    if (r >= 0)
        r = strv_to_pb(a, p->env, p->n_env, &m->env, &m->n_env);
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

int vc_kata_resources_to_pb(struct vc_kata_arena *a, const struct vc_resources *res,
                            Grpc__LinuxResources **ret)
{
    Grpc__LinuxResources *m = pb_new(a, &grpc__linux_resources__descriptor);

    if (!m)
        return -ENOMEM;
    if (res->cpu_shares || res->cpu_quota || res->cpu_period) {
        m->cpu = pb_new(a, &grpc__linux_cpu__descriptor);
        if (!m->cpu)
            return -ENOMEM;
        m->cpu->shares = res->cpu_shares;
        m->cpu->quota = res->cpu_quota;
        m->cpu->period = res->cpu_period;
    }
    if (res->memory_limit) {
        m->memory = pb_new(a, &grpc__linux_memory__descriptor);
        if (!m->memory)
            return -ENOMEM;
        m->memory->limit = res->memory_limit;
    }
    *ret = m;
    return 0;
}

static int mount_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_mount *mnt = elem;
    Grpc__Mount *m = pb_new(a, &grpc__mount__descriptor);

    if (!m)
        return -ENOMEM;
    m->destination = pbs(mnt->destination);
    m->source = pbs(mnt->source);
    m->type = pbs(mnt->type);
    *ret = m;
    return strv_to_pb(a, mnt->options, mnt->n_options, &m->options, &m->n_options);
}

static int annotation_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_annotation *an = elem;
    Grpc__Spec__AnnotationsEntry *m = pb_new(a, &grpc__spec__annotations_entry__descriptor);

    if (!m)
        return -ENOMEM;
    m->key = pbs(an->key);
    m->value = pbs(an->value);
    *ret = m;
    return 0;
}

static int device_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_container_device *d = elem;
    Grpc__LinuxDevice *m = pb_new(a, &grpc__linux_device__descriptor);

    if (!m)
        return -ENOMEM;
    m->path = pbs(d->container_path);
    m->type = pbs(d->type);
    m->major = d->major;
    m->minor = d->minor;
    *ret = m;
    return 0;
}

/* The namespaces kata leaves in a container's spec: network and cgroup are the host's, pid
 * goes (sandbox_pidns says whether to share the sandbox's), the others lose their paths. */
static int namespaces_to_pb(struct vc_kata_arena *a, Grpc__Linux *lx)
{
    static const char *const types[] = {"ipc", "uts", "mount"};
    const size_t n = sizeof(types) / sizeof(types[0]);

    lx->namespaces = vc_kata_arena_array(a, n, sizeof(*lx->namespaces));
    if (!lx->namespaces)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        Grpc__LinuxNamespace *ns = pb_new(a, &grpc__linux_namespace__descriptor);

        if (!ns)
            return -ENOMEM;
        ns->type = pbs(types[i]);
        lx->namespaces[i] = ns;
    }
    lx->n_namespaces = n;
    return 0;
}

static int spec_to_pb(struct vc_kata_arena *a, const struct vc_container_config *cfg,
                      Grpc__Spec *spec)
{
    Grpc__Linux *lx = pb_new(a, &grpc__linux__descriptor);
    int r;

    spec->root = pb_new(a, &grpc__root__descriptor);
    if (!lx || !spec->root)
        return -ENOMEM;
    spec->version = pbs(VC_KATA_OCI_VERSION);
    spec->root->path = pbs(cfg->rootfs);
    spec->root->readonly = cfg->rootfs_readonly;
    spec->linux = lx;
    r = vc_kata_process_to_pb(a, &cfg->process, &spec->process);
    if (r >= 0)
        r = array_to_pb(a, mount_to_pb, cfg->mounts, cfg->n_mounts, sizeof(*cfg->mounts),
                        (void ***) &spec->mounts, &spec->n_mounts);
    if (r >= 0)
        r = array_to_pb(a, annotation_to_pb, cfg->annotations, cfg->n_annotations,
                        sizeof(*cfg->annotations), (void ***) &spec->annotations,
                        &spec->n_annotations);
    if (r >= 0)
        r = vc_kata_resources_to_pb(a, &cfg->resources, &lx->resources);
    if (r >= 0)
        r = namespaces_to_pb(a, lx);
    if (r >= 0)
        r = array_to_pb(a, device_to_pb, cfg->devices, cfg->n_devices, sizeof(*cfg->devices),
                        (void ***) &lx->devices, &lx->n_devices);
    return r;
}

int vc_kata_container_to_pb(struct vc_kata_arena *a, const struct vc_container_config *cfg,
                            Grpc__CreateContainerRequest **ret)
{
    Grpc__CreateContainerRequest *m = pb_new(a, &grpc__create_container_request__descriptor);
    int r;

    if (!m)
        return -ENOMEM;
    m->oci = pb_new(a, &grpc__spec__descriptor);
    if (!m->oci)
        return -ENOMEM;
    m->container_id = pbs(cfg->id);
    m->exec_id = pbs(cfg->id);
    r = spec_to_pb(a, cfg, m->oci);
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

int vc_kata_exec_to_pb(struct vc_kata_arena *a, const char *container_id, const char *exec_id,
                       const struct vc_process_config *cmd, Grpc__ExecProcessRequest **ret)
{
    Grpc__ExecProcessRequest *m = pb_new(a, &grpc__exec_process_request__descriptor);
    int r;

    if (!m)
        return -ENOMEM;
    m->container_id = pbs(container_id);
    m->exec_id = pbs(exec_id);
    r = vc_kata_process_to_pb(a, cmd, &m->process);
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

static int interface_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_interface *iface = elem;
    Types__Interface *m = pb_new(a, &types__interface__descriptor);

    if (!m)
        return -ENOMEM;
    m->device = pbs(iface->device);
    m->name = pbs(iface->name);
    m->mtu = iface->mtu;
    m->hwaddr = pbs(iface->hw_addr);
    m->devicepath = pbs(iface->device_path);
    m->type = pbs(iface->type);
    m->raw_flags = iface->raw_flags;
    *ret = m;
    return array_to_pb(a, ip_to_pb, iface->addrs, iface->n_addrs, sizeof(*iface->addrs),
                       (void ***) &m->ipaddresses, &m->n_ipaddresses);
}

int vc_kata_interface_to_pb(struct vc_kata_arena *a, const struct vc_interface *iface,
                            Types__Interface **ret)
{
    return one_to_pb(a, interface_to_pb, iface, (void **) ret);
}

int vc_kata_interfaces_to_pb(struct vc_kata_arena *a, const struct vc_interface *v, size_t n,
                             Grpc__Interfaces **ret)
{
    return list_to_pb(a, &grpc__interfaces__descriptor, interface_to_pb, v, n, sizeof(*v),
                      (void **) ret);
}

static int route_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_route *rt = elem;
    Types__Route *m = pb_new(a, &types__route__descriptor);

    if (!m)
        return -ENOMEM;
    m->dest = pbs(rt->dest);
    m->gateway = pbs(rt->gateway);
    m->device = pbs(rt->device);
    m->source = pbs(rt->source);
    m->scope = rt->scope;
    m->flags = rt->flags;
    m->mtu = rt->mtu;
    *ret = m;
    return family_to_pb(a->ctx, rt->family, &m->family);
}

int vc_kata_route_to_pb(struct vc_kata_arena *a, const struct vc_route *route, Types__Route **ret)
{
    return one_to_pb(a, route_to_pb, route, (void **) ret);
}

int vc_kata_routes_to_pb(struct vc_kata_arena *a, const struct vc_route *v, size_t n,
                         Grpc__Routes **ret)
{
    return list_to_pb(a, &grpc__routes__descriptor, route_to_pb, v, n, sizeof(*v), (void **) ret);
}

static int neighbor_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    const struct vc_arp_neighbor *nb = elem;
    Types__ARPNeighbor *m = pb_new(a, &types__arpneighbor__descriptor);
    void *ip = NULL;
    int r;

    if (!m)
        return -ENOMEM;
    r = ip_to_pb(a, &nb->to, &ip);
    if (r < 0)
        return r;
    m->toipaddress = ip;
    m->device = pbs(nb->device);
    m->lladdr = pbs(nb->lladdr);
    m->state = nb->state;
    m->flags = nb->flags;
    *ret = m;
    return 0;
}

int vc_kata_neighbor_to_pb(struct vc_kata_arena *a, const struct vc_arp_neighbor *nb,
                           Types__ARPNeighbor **ret)
{
    return one_to_pb(a, neighbor_to_pb, nb, (void **) ret);
}

int vc_kata_neighbors_to_pb(struct vc_kata_arena *a, const struct vc_arp_neighbor *v, size_t n,
                            Grpc__ARPNeighbors **ret)
{
    return list_to_pb(a, &grpc__arpneighbors__descriptor, neighbor_to_pb, v, n, sizeof(*v),
                      (void **) ret);
}

static int cgroup_stats_to_pb(struct vc_kata_arena *a, const struct vc_container_stats *st,
                              Grpc__CgroupStats *cg)
{
    Grpc__CpuStats *cpu = pb_new(a, &grpc__cpu_stats__descriptor);
    Grpc__CpuUsage *use = pb_new(a, &grpc__cpu_usage__descriptor);
    Grpc__MemoryStats *mem = pb_new(a, &grpc__memory_stats__descriptor);
    Grpc__MemoryData *md = pb_new(a, &grpc__memory_data__descriptor);
    Grpc__PidsStats *pids = pb_new(a, &grpc__pids_stats__descriptor);

    if (!cpu || !use || !mem || !md || !pids)
        return -ENOMEM;
    use->total_usage = st->cpu_total_ns;
    use->usage_in_kernelmode = st->cpu_kernel_ns;
    use->usage_in_usermode = st->cpu_user_ns;
    cpu->cpu_usage = use;
    md->usage = st->mem_usage;
    md->max_usage = st->mem_max_usage;
    md->limit = st->mem_limit;
    md->failcnt = st->mem_failcnt;
    mem->usage = md;
    pids->current = st->pids_current;
    pids->limit = st->pids_limit;
    *cg = (Grpc__CgroupStats){
        .base = cg->base, .cpu_stats = cpu, .memory_stats = mem, .pids_stats = pids};
    return 0;
}

int vc_kata_stats_to_pb(struct vc_kata_arena *a, const struct vc_container_stats *st,
                        Grpc__StatsContainerResponse **ret)
{
    Grpc__StatsContainerResponse *m = pb_new(a, &grpc__stats_container_response__descriptor);
    Grpc__NetworkStats *net;
    int r;

    if (!m)
        return -ENOMEM;
    m->cgroup_stats = pb_new(a, &grpc__cgroup_stats__descriptor);
    if (!m->cgroup_stats)
        return -ENOMEM;
    r = cgroup_stats_to_pb(a, st, m->cgroup_stats);
    if (r < 0)
        return r;
    if (st->net_rx_bytes || st->net_tx_bytes) {
        net = pb_new(a, &grpc__network_stats__descriptor);
        m->network_stats = vc_kata_arena_array(a, 1, sizeof(*m->network_stats));
        if (!net || !m->network_stats)
            return -ENOMEM;
        net->name = pbs(VC_KATA_STATS_IFNAME);
        net->rx_bytes = st->net_rx_bytes;
        net->tx_bytes = st->net_tx_bytes;
        m->network_stats[0] = net;
        m->n_network_stats = 1;
    }
    *ret = m;
    return 0;
}

int vc_kata_guest_details_to_pb(struct vc_kata_arena *a, const struct vc_guest_details *gd,
                                Grpc__GuestDetailsResponse **ret)
{
    Grpc__GuestDetailsResponse *m = pb_new(a, &grpc__guest_details_response__descriptor);
    Grpc__AgentDetails *ad = pb_new(a, &grpc__agent_details__descriptor);
    int r;

    if (!m || !ad)
        return -ENOMEM;
    m->mem_block_size_bytes = gd->mem_block_size_bytes;
    m->support_mem_hotplug_probe = gd->support_mem_hotplug_probe;
    m->agent_details = ad;
    ad->version = pbs(gd->agent_version);
    ad->init_daemon = gd->init_daemon;
    ad->supports_seccomp = gd->supports_seccomp;
    r = strv_to_pb(a, gd->device_handlers, gd->n_device_handlers, &ad->device_handlers,
                   &ad->n_device_handlers);
    if (r >= 0)
        r = strv_to_pb(a, gd->storage_handlers, gd->n_storage_handlers, &ad->storage_handlers,
                       &ad->n_storage_handlers);
    if (r >= 0)
        r = strv_to_pb(a, gd->extra_features, gd->n_extra_features, &ad->extra_features,
                       &ad->n_extra_features);
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

int vc_kata_copy_file_to_pb(struct vc_kata_arena *a, const struct vc_copy_file *file, size_t offset,
                            size_t len, Grpc__CopyFileRequest **ret)
{
    Grpc__CopyFileRequest *m;

    if (offset > file->size || len > file->size - offset || file->size > INT64_MAX)
        return vc_err(a->ctx, -EINVAL, "kata: copy file '%s': chunk %zu+%zu outside %zu bytes",
                      file->path ? file->path : "", offset, len, file->size);
    m = pb_new(a, &grpc__copy_file_request__descriptor);
    if (!m)
        return -ENOMEM;
    m->path = pbs(file->path);
    m->file_size = (int64_t) file->size;
    m->file_mode = file->file_mode;
    m->dir_mode = file->dir_mode;
    m->uid = file->uid;
    m->gid = file->gid;
    m->offset = (int64_t) offset;
    m->data.len = len;
    m->data.data = len ? file->data + offset : NULL;
    *ret = m;
    return 0;
}

/* A mount as a Storage of the given driver (the model's mount has none). */
static int storage_to_pb(struct vc_kata_arena *a, const struct vc_mount *mnt, const char *driver,
                         void **ret)
{
    Grpc__Storage *m = pb_new(a, &grpc__storage__descriptor);

    if (!m)
        return -ENOMEM;
    m->driver = pbs(driver);
    m->source = pbs(mnt->source);
    m->fstype = pbs(mnt->type);
    m->mount_point = pbs(mnt->destination);
    *ret = m;
    return strv_to_pb(a, mnt->options, mnt->n_options, &m->options, &m->n_options);
}

int vc_kata_mount_to_storage(struct vc_kata_arena *a, const struct vc_mount *m, const char *driver,
                             Grpc__Storage **ret)
{
    void *st = NULL;
    int r = storage_to_pb(a, m, driver, &st);

    if (r < 0)
        return r;
    *ret = st;
    return 0;
}

static int ephemeral_to_pb(struct vc_kata_arena *a, const void *elem, void **ret)
{
    return storage_to_pb(a, elem, VC_KATA_EPHEMERAL, ret);
}

int vc_kata_ephemeral_mounts_to_pb(struct vc_kata_arena *a, const struct vc_mount *v, size_t n,
                                   Grpc__UpdateEphemeralMountsRequest **ret)
{
    return list_to_pb(a, &grpc__update_ephemeral_mounts_request__descriptor, ephemeral_to_pb, v, n,
                      sizeof(*v), (void **) ret);
}

static Grpc__VolumeUsage *usage_to_pb(struct vc_kata_arena *a, Grpc__VolumeUsage__Unit unit,
                                      uint64_t avail, uint64_t total, uint64_t used)
{
    Grpc__VolumeUsage *u = pb_new(a, &grpc__volume_usage__descriptor);

    if (u)
        *u = (Grpc__VolumeUsage){
            .base = u->base, .available = avail, .total = total, .used = used, .unit = unit};
    return u;
}

int vc_kata_volume_stats_to_pb(struct vc_kata_arena *a, const struct vc_volume_stats *vs,
                               Grpc__VolumeStatsResponse **ret)
{
    Grpc__VolumeStatsResponse *m = pb_new(a, &grpc__volume_stats_response__descriptor);
    Grpc__VolumeCondition *cond = pb_new(a, &grpc__volume_condition__descriptor);

    if (!m || !cond)
        return -ENOMEM;
    m->usage = vc_kata_arena_array(a, 2, sizeof(*m->usage));
    if (!m->usage)
        return -ENOMEM;
    m->usage[0] = usage_to_pb(a, GRPC__VOLUME_USAGE__UNIT__BYTES, vs->bytes_available,
                              vs->bytes_total, vs->bytes_used);
    m->usage[1] = usage_to_pb(a, GRPC__VOLUME_USAGE__UNIT__INODES, vs->inodes_available,
                              vs->inodes_total, vs->inodes_used);
    if (!m->usage[0] || !m->usage[1])
        return -ENOMEM;
    m->n_usage = 2;
    cond->abnormal = vs->abnormal;
    cond->message = pbs(vs->message);
    m->volume_condition = cond;
    *ret = m;
    return 0;
}

int vc_kata_sandbox_to_pb(struct vc_kata_arena *a, const struct vc_sandbox_config *cfg,
                          Grpc__CreateSandboxRequest **ret)
{
    Grpc__CreateSandboxRequest *m = pb_new(a, &grpc__create_sandbox_request__descriptor);
    size_t len = cfg->hostname ? strnlen(cfg->hostname, VC_KATA_HOSTNAME_MAX) : 0;
    int r;

    if (!m)
        return -ENOMEM;
    m->hostname = vc_kata_arena_alloc(a, len + 1);
    if (!m->hostname)
        return -ENOMEM;
    if (len)
        memcpy(m->hostname, cfg->hostname, len);
    m->sandbox_id = pbs(cfg->id);
    r = strv_to_pb(a, cfg->net.dns, cfg->net.n_dns, &m->dns, &m->n_dns);
    if (r < 0)
        return r;
    *ret = m;
    return 0;
}

/* --- pb → vc helpers -------------------------------------------------------------------------- */

/* Fills the zeroed model struct obj from message pb; on failure obj may be half-filled (the
 * caller clears it with the type's schema). */
typedef int vc_fill_fn(struct vc_ctx *ctx, const void *pb, void *obj);

/* A copy of a peer's string: NULL for "" (see convert.h), bounded by VC_KATA_STR_MAX. */
static int str_from_pb(struct vc_ctx *ctx, const char *what, const char *s, char **ret)
{
    size_t len = s ? strnlen(s, VC_KATA_STR_MAX + 1) : 0;

    if (len > VC_KATA_STR_MAX)
        return vc_err(ctx, -EINVAL, "kata: %s: string longer than %u bytes", what, VC_KATA_STR_MAX);
    *ret = NULL;
    if (!len)
        return 0;
    *ret = vc_malloc(ctx, len + 1);
    if (!*ret)
        return vc_err(ctx, -ENOMEM, "out of memory");
    memcpy(*ret, s, len);
    (*ret)[len] = '\0';
    return 0;
}

static int count_ok(struct vc_ctx *ctx, const char *what, size_t n)
{
    if (n > VC_KATA_ARRAY_MAX)
        return vc_err(ctx, -EINVAL, "kata: %s: %zu elements, more than %u", what, n,
                      VC_KATA_ARRAY_MAX);
    return 0;
}

/* A string vector; its elements keep "" (an argv may hold empty arguments). The vector and
 * its count are stored at once, so a failure part-way leaves something the schema frees. */
static int strv_from_pb(struct vc_ctx *ctx, const char *what, char *const *v, size_t n, char ***ret,
                        size_t *ret_n)
{
    char **out;
    int r = count_ok(ctx, what, n);

    if (r < 0 || !n || !v)
        return r;
    out = vc_new0(ctx, char *, n);
    if (!out)
        return vc_err(ctx, -ENOMEM, "out of memory");
    *ret = out;
    *ret_n = n;
    for (size_t i = 0; i < n; i++) {
        r = str_from_pb(ctx, what, v[i], &out[i]);
        if (r < 0)
            return r;
        if (!out[i] && !(out[i] = vc_strdup(ctx, "")))
            return vc_err(ctx, -ENOMEM, "out of memory");
    }
    return 0;
}

/* One model struct from one message, through fill, cleared on failure; *ret on success. */
static int obj_from_pb(struct vc_ctx *ctx, const struct vc_schema *s, vc_fill_fn *fill,
                       const void *pb, void *ret)
{
    void *obj = vc_calloc(ctx, 1, s->size);
    int r;

    if (!obj)
        return vc_err(ctx, -ENOMEM, "out of memory");
    r = fill(ctx, pb, obj);
    if (r >= 0)
        memcpy(ret, obj, s->size);
    else
        vc_obj_clear(ctx, s, obj);
    vc_free(ctx, obj);
    return r;
}

/* An array of model structs from n messages (NULL elements are refused). */
static int array_from_pb(struct vc_ctx *ctx, const char *what, const struct vc_schema *s,
                         vc_fill_fn *fill, void *const *v, size_t n, void **ret, size_t *ret_n)
{
    char *out;
    int r = count_ok(ctx, what, n);

    if (r < 0)
        return r;
    if (!n || !v) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    out = vc_calloc(ctx, n, s->size);
    if (!out)
        return vc_err(ctx, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n && r >= 0; i++)
        r = v[i] ? fill(ctx, v[i], out + i * s->size)
                 : vc_err(ctx, -EINVAL, "kata: %s: missing element %zu", what, i);
    if (r < 0) {
        vc_obj_array_free(ctx, s, out, n);
        return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

static int family_from_pb(struct vc_ctx *ctx, const char *what, int v, int32_t *ret)
{
    if (v != TYPES__IPFAMILY__v4 && v != TYPES__IPFAMILY__v6)
        return vc_err(ctx, -EINVAL, "kata: %s: ip family %d is neither v4 nor v6", what, v);
    *ret = v == TYPES__IPFAMILY__v6 ? VC_IP_V6 : VC_IP_V4;
    return 0;
}

/* --- pb → vc fills ---------------------------------------------------------------------------- */

static int ip_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Types__IPAddress *m = pb;
    struct vc_ip_address *ip = obj;
    int r = family_from_pb(ctx, "ip address", m->family, &ip->family);

    if (r >= 0)
        r = str_from_pb(ctx, "ip address", m->address, &ip->address);
    if (r >= 0)
        r = str_from_pb(ctx, "ip mask", m->mask, &ip->mask);
    return r;
}

static int process_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__Process *m = pb;
    struct vc_process_config *p = obj;
    const Grpc__User *u = m->user;
    int r;

    p->terminal = m->terminal;
    if (m->consolesize) {
        p->rows = m->consolesize->height;
        p->columns = m->consolesize->width;
    }
    r = strv_from_pb(ctx, "process args", m->args, m->n_args, &p->args, &p->n_args);
    if (r >= 0)
        r = strv_from_pb(ctx, "process env", m->env, m->n_env, &p->env, &p->n_env);
    if (r >= 0)
        r = str_from_pb(ctx, "process cwd", m->cwd, &p->cwd);
    if (r < 0 || !u)
        return r;
    p->user.uid = u->uid;
    p->user.gid = u->gid;
    r = count_ok(ctx, "additional gids", u->n_additionalgids);
    if (r >= 0 && u->n_additionalgids && u->additionalgids) {
        p->user.extra_gids = vc_new0(ctx, uint32_t, u->n_additionalgids);
        if (!p->user.extra_gids)
            return vc_err(ctx, -ENOMEM, "out of memory");
        memcpy(p->user.extra_gids, u->additionalgids,
               u->n_additionalgids * sizeof(*u->additionalgids));
        p->user.n_extra_gids = u->n_additionalgids;
    }
    if (r >= 0)
        r = str_from_pb(ctx, "username", u->username, &p->user.username);
    return r;
}

static int mount_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__Mount *m = pb;
    struct vc_mount *mnt = obj;
    int r = str_from_pb(ctx, "mount destination", m->destination, &mnt->destination);

    if (r >= 0)
        r = str_from_pb(ctx, "mount source", m->source, &mnt->source);
    if (r >= 0)
        r = str_from_pb(ctx, "mount type", m->type, &mnt->type);
    if (r >= 0)
        r = strv_from_pb(ctx, "mount options", m->options, m->n_options, &mnt->options,
                         &mnt->n_options);
    return r;
}

static int annotation_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__Spec__AnnotationsEntry *m = pb;
    struct vc_annotation *an = obj;
    int r = str_from_pb(ctx, "annotation key", m->key, &an->key);

    return r < 0 ? r : str_from_pb(ctx, "annotation value", m->value, &an->value);
}

static int device_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__LinuxDevice *m = pb;
    struct vc_container_device *d = obj;
    int r = str_from_pb(ctx, "device path", m->path, &d->container_path);

    d->major = m->major;
    d->minor = m->minor;
    return r < 0 ? r : str_from_pb(ctx, "device type", m->type, &d->type);
}

static int resources_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__LinuxResources *m = pb;
    struct vc_resources *res = obj;

    if (m && m->cpu) {
        res->cpu_shares = m->cpu->shares;
        res->cpu_quota = m->cpu->quota;
        res->cpu_period = m->cpu->period;
    }
    if (m && m->memory)
        res->memory_limit = m->memory->limit;
    return 0;
}

static int container_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__CreateContainerRequest *m = pb;
    const Grpc__Spec *spec = m->oci;
    struct vc_container_config *c = obj;
    int r;

    if (!spec)
        return vc_err(ctx, -EINVAL, "kata: CreateContainer: missing OCI spec");
    r = str_from_pb(ctx, "container id", m->container_id, &c->id);
    if (r >= 0 && spec->root) {
        c->rootfs_readonly = spec->root->readonly;
        r = str_from_pb(ctx, "root path", spec->root->path, &c->rootfs);
    }
    if (r >= 0 && spec->process)
        r = process_fill(ctx, spec->process, &c->process);
    if (r >= 0)
        r = array_from_pb(ctx, "mounts", &vc_schema_mount, mount_fill, (void *const *) spec->mounts,
                          spec->n_mounts, (void **) &c->mounts, &c->n_mounts);
    if (r >= 0)
        r = array_from_pb(ctx, "annotations", &vc_schema_annotation, annotation_fill,
                          (void *const *) spec->annotations, spec->n_annotations,
                          (void **) &c->annotations, &c->n_annotations);
    if (r < 0 || !spec->linux)
        return r;
    (void) resources_fill(ctx, spec->linux->resources, &c->resources);
    return array_from_pb(ctx, "linux devices", &vc_schema_container_device, device_fill,
                         (void *const *) spec->linux->devices, spec->linux->n_devices,
                         (void **) &c->devices, &c->n_devices);
}

static int interface_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Types__Interface *m = pb;
    struct vc_interface *iface = obj;
    int r = str_from_pb(ctx, "interface device", m->device, &iface->device);

    iface->mtu = m->mtu;
    iface->raw_flags = m->raw_flags;
    if (r >= 0)
        r = str_from_pb(ctx, "interface name", m->name, &iface->name);
    if (r >= 0)
        r = str_from_pb(ctx, "interface hwAddr", m->hwaddr, &iface->hw_addr);
    if (r >= 0)
        r = str_from_pb(ctx, "interface devicePath", m->devicepath, &iface->device_path);
    if (r >= 0)
        r = str_from_pb(ctx, "interface type", m->type, &iface->type);
    if (r >= 0)
        r = array_from_pb(ctx, "interface IPAddresses", &vc_schema_ip_address, ip_fill,
                          (void *const *) m->ipaddresses, m->n_ipaddresses, (void **) &iface->addrs,
                          &iface->n_addrs);
    return r;
}

static int route_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Types__Route *m = pb;
    struct vc_route *rt = obj;
    int r = family_from_pb(ctx, "route", m->family, &rt->family);

    rt->scope = m->scope;
    rt->flags = m->flags;
    rt->mtu = m->mtu;
    if (r >= 0)
        r = str_from_pb(ctx, "route dest", m->dest, &rt->dest);
    if (r >= 0)
        r = str_from_pb(ctx, "route gateway", m->gateway, &rt->gateway);
    if (r >= 0)
        r = str_from_pb(ctx, "route device", m->device, &rt->device);
    if (r >= 0)
        r = str_from_pb(ctx, "route source", m->source, &rt->source);
    return r;
}

static int neighbor_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Types__ARPNeighbor *m = pb;
    struct vc_arp_neighbor *nb = obj;
    int r = 0;

    nb->state = m->state;
    nb->flags = m->flags;
    if (m->toipaddress)
        r = ip_fill(ctx, m->toipaddress, &nb->to);
    if (r >= 0)
        r = str_from_pb(ctx, "neighbor device", m->device, &nb->device);
    if (r >= 0)
        r = str_from_pb(ctx, "neighbor lladdr", m->lladdr, &nb->lladdr);
    return r;
}

static int guest_details_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__GuestDetailsResponse *m = pb;
    const Grpc__AgentDetails *ad = m->agent_details;
    struct vc_guest_details *gd = obj;
    int r;

    gd->mem_block_size_bytes = m->mem_block_size_bytes;
    gd->support_mem_hotplug_probe = m->support_mem_hotplug_probe;
    if (!ad)
        return 0;
    gd->init_daemon = ad->init_daemon;
    gd->supports_seccomp = ad->supports_seccomp;
    r = str_from_pb(ctx, "agent version", ad->version, &gd->agent_version);
    if (r >= 0)
        r = strv_from_pb(ctx, "device handlers", ad->device_handlers, ad->n_device_handlers,
                         &gd->device_handlers, &gd->n_device_handlers);
    if (r >= 0)
        r = strv_from_pb(ctx, "storage handlers", ad->storage_handlers, ad->n_storage_handlers,
                         &gd->storage_handlers, &gd->n_storage_handlers);
    if (r >= 0)
        r = strv_from_pb(ctx, "extra features", ad->extra_features, ad->n_extra_features,
                         &gd->extra_features, &gd->n_extra_features);
    return r;
}

static int copy_file_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__CopyFileRequest *m = pb;
    struct vc_copy_file *f = obj;
    int r;

    if (!m->path || m->path[0] != '/')
        return vc_err(ctx, -EINVAL, "kata: CopyFile: path '%s' is not absolute",
                      m->path ? m->path : "");
    if (m->offset < 0 || m->file_size < 0 || m->offset > m->file_size ||
        m->data.len > (uint64_t) (m->file_size - m->offset))
        return vc_err(ctx, -EINVAL,
                      "kata: CopyFile: chunk of %zu bytes at %lld is outside %lld bytes",
                      m->data.len, (long long) m->offset, (long long) m->file_size);
    r = str_from_pb(ctx, "copy file path", m->path, &f->path);
    if (r < 0)
        return r;
    f->file_mode = m->file_mode;
    f->dir_mode = m->dir_mode;
    f->uid = m->uid;
    f->gid = m->gid;
    if (m->data.len) {
        f->data = vc_malloc(ctx, m->data.len);
        if (!f->data)
            return vc_err(ctx, -ENOMEM, "out of memory");
        memcpy(f->data, m->data.data, m->data.len);
        f->size = m->data.len;
    }
    return 0;
}

static int storage_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__Storage *m = pb;
    struct vc_mount *mnt = obj;
    int r = str_from_pb(ctx, "storage source", m->source, &mnt->source);

    if (r >= 0)
        r = str_from_pb(ctx, "storage mount_point", m->mount_point, &mnt->destination);
    if (r >= 0)
        r = str_from_pb(ctx, "storage fstype", m->fstype, &mnt->type);
    if (r >= 0)
        r = strv_from_pb(ctx, "storage options", m->options, m->n_options, &mnt->options,
                         &mnt->n_options);
    return r;
}

static int volume_stats_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__VolumeStatsResponse *m = pb;
    struct vc_volume_stats *vs = obj;
    int r = count_ok(ctx, "volume usage", m->n_usage);

    for (size_t i = 0; r >= 0 && m->usage && i < m->n_usage; i++) {
        const Grpc__VolumeUsage *u = m->usage[i];

        if (u && u->unit == GRPC__VOLUME_USAGE__UNIT__BYTES) {
            vs->bytes_available = u->available;
            vs->bytes_total = u->total;
            vs->bytes_used = u->used;
        } else if (u && u->unit == GRPC__VOLUME_USAGE__UNIT__INODES) {
            vs->inodes_available = u->available;
            vs->inodes_total = u->total;
            vs->inodes_used = u->used;
        }
    }
    if (r >= 0 && m->volume_condition) {
        vs->abnormal = m->volume_condition->abnormal;
        r = str_from_pb(ctx, "volume condition message", m->volume_condition->message,
                        &vs->message);
    }
    return r;
}

static int sandbox_fill(struct vc_ctx *ctx, const void *pb, void *obj)
{
    const Grpc__CreateSandboxRequest *m = pb;
    struct vc_sandbox_config *sb = obj;
    int r;

    if (m->hostname && strnlen(m->hostname, VC_KATA_HOSTNAME_MAX + 1) > VC_KATA_HOSTNAME_MAX)
        return vc_err(ctx, -EINVAL, "kata: CreateSandbox: hostname longer than %u bytes",
                      VC_KATA_HOSTNAME_MAX);
    r = str_from_pb(ctx, "sandbox id", m->sandbox_id, &sb->id);
    if (r >= 0)
        r = str_from_pb(ctx, "hostname", m->hostname, &sb->hostname);
    if (r >= 0)
        r = strv_from_pb(ctx, "dns", m->dns, m->n_dns, &sb->net.dns, &sb->net.n_dns);
    return r;
}

/* --- pb → vc ---------------------------------------------------------------------------------- */

int vc_kata_container_from_pb(struct vc_ctx *ctx, const Grpc__CreateContainerRequest *req,
                              struct vc_container_config *ret)
{
    return obj_from_pb(ctx, &vc_schema_container_config, container_fill, req, ret);
}

int vc_kata_process_from_pb(struct vc_ctx *ctx, const Grpc__Process *p,
                            struct vc_process_config *ret)
{
    if (!p) {
        *ret = (struct vc_process_config){0};
        return 0;
    }
    return obj_from_pb(ctx, &vc_schema_process_config, process_fill, p, ret);
}

int vc_kata_interface_from_pb(struct vc_ctx *ctx, const Types__Interface *pb,
                              struct vc_interface *ret)
{
    return obj_from_pb(ctx, &vc_schema_interface, interface_fill, pb, ret);
}

int vc_kata_interfaces_from_pb(struct vc_ctx *ctx, const Grpc__Interfaces *pb,
                               struct vc_interface **ret, size_t *ret_n)
{
    return array_from_pb(ctx, "interfaces", &vc_schema_interface, interface_fill,
                         pb ? (void *const *) pb->interfaces : NULL, pb ? pb->n_interfaces : 0,
                         (void **) ret, ret_n);
}

int vc_kata_route_from_pb(struct vc_ctx *ctx, const Types__Route *pb, struct vc_route *ret)
{
    return obj_from_pb(ctx, &vc_schema_route, route_fill, pb, ret);
}

int vc_kata_routes_from_pb(struct vc_ctx *ctx, const Grpc__Routes *pb, struct vc_route **ret,
                           size_t *ret_n)
{
    return array_from_pb(ctx, "routes", &vc_schema_route, route_fill,
                         pb ? (void *const *) pb->routes : NULL, pb ? pb->n_routes : 0,
                         (void **) ret, ret_n);
}

int vc_kata_neighbor_from_pb(struct vc_ctx *ctx, const Types__ARPNeighbor *pb,
                             struct vc_arp_neighbor *ret)
{
    return obj_from_pb(ctx, &vc_schema_arp_neighbor, neighbor_fill, pb, ret);
}

int vc_kata_neighbors_from_pb(struct vc_ctx *ctx, const Grpc__ARPNeighbors *pb,
                              struct vc_arp_neighbor **ret, size_t *ret_n)
{
    return array_from_pb(ctx, "ARP neighbors", &vc_schema_arp_neighbor, neighbor_fill,
                         pb ? (void *const *) pb->arpneighbors : NULL, pb ? pb->n_arpneighbors : 0,
                         (void **) ret, ret_n);
}

int vc_kata_resources_from_pb(struct vc_ctx *ctx, const Grpc__LinuxResources *pb,
                              struct vc_resources *ret)
{
    struct vc_resources res = {0};

    (void) resources_fill(ctx, pb, &res);
    *ret = res;
    return 0;
}

/* a + b, capped at UINT64_MAX. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int vc_kata_stats_from_pb(struct vc_ctx *ctx, const Grpc__StatsContainerResponse *pb,
                          struct vc_container_stats *ret)
{
    const Grpc__CgroupStats *cg = pb ? pb->cgroup_stats : NULL;
    struct vc_container_stats st = {0};
    int r = count_ok(ctx, "network stats", pb ? pb->n_network_stats : 0);

    if (r < 0)
        return r;
    if (cg && cg->cpu_stats && cg->cpu_stats->cpu_usage) {
        st.cpu_total_ns = cg->cpu_stats->cpu_usage->total_usage;
        st.cpu_kernel_ns = cg->cpu_stats->cpu_usage->usage_in_kernelmode;
        st.cpu_user_ns = cg->cpu_stats->cpu_usage->usage_in_usermode;
    }
    if (cg && cg->memory_stats && cg->memory_stats->usage) {
        st.mem_usage = cg->memory_stats->usage->usage;
        st.mem_max_usage = cg->memory_stats->usage->max_usage;
        st.mem_limit = cg->memory_stats->usage->limit;
        st.mem_failcnt = cg->memory_stats->usage->failcnt;
    }
    if (cg && cg->pids_stats) {
        st.pids_current = cg->pids_stats->current;
        st.pids_limit = cg->pids_stats->limit;
    }
    for (size_t i = 0; pb && pb->network_stats && i < pb->n_network_stats; i++) {
        if (!pb->network_stats[i])
            continue;
        st.net_rx_bytes = sat_add(st.net_rx_bytes, pb->network_stats[i]->rx_bytes);
        st.net_tx_bytes = sat_add(st.net_tx_bytes, pb->network_stats[i]->tx_bytes);
    }
    *ret = st;
    return 0;
}

int vc_kata_guest_details_from_pb(struct vc_ctx *ctx, const Grpc__GuestDetailsResponse *pb,
                                  struct vc_guest_details *ret)
{
    return obj_from_pb(ctx, &vc_schema_guest_details, guest_details_fill, pb, ret);
}

int vc_kata_copy_file_from_pb(struct vc_ctx *ctx, const Grpc__CopyFileRequest *pb,
                              struct vc_copy_file *ret, int64_t *ret_offset, int64_t *ret_file_size)
{
    int r = obj_from_pb(ctx, &vc_schema_copy_file, copy_file_fill, pb, ret);

    if (r < 0)
        return r;
    if (ret_offset)
        *ret_offset = pb->offset;
    if (ret_file_size)
        *ret_file_size = pb->file_size;
    return 0;
}

int vc_kata_storage_to_mount(struct vc_ctx *ctx, const Grpc__Storage *pb, struct vc_mount *ret)
{
    return obj_from_pb(ctx, &vc_schema_mount, storage_fill, pb, ret);
}

int vc_kata_ephemeral_mounts_from_pb(struct vc_ctx *ctx,
                                     const Grpc__UpdateEphemeralMountsRequest *pb,
                                     struct vc_mount **ret, size_t *ret_n)
{
    return array_from_pb(ctx, "storages", &vc_schema_mount, storage_fill,
                         pb ? (void *const *) pb->storages : NULL, pb ? pb->n_storages : 0,
                         (void **) ret, ret_n);
}

int vc_kata_volume_stats_from_pb(struct vc_ctx *ctx, const Grpc__VolumeStatsResponse *pb,
                                 struct vc_volume_stats *ret)
{
    return obj_from_pb(ctx, &vc_schema_volume_stats, volume_stats_fill, pb, ret);
}

int vc_kata_sandbox_from_pb(struct vc_ctx *ctx, const Grpc__CreateSandboxRequest *pb,
                            struct vc_sandbox_config *ret)
{
    return obj_from_pb(ctx, &vc_schema_sandbox_config, sandbox_fill, pb, ret);
}
