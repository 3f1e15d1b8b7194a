/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU backend's saved state (hvstate.h): field descriptors for the schema code, and the
 * checks that make a document read back from disk safe to act on. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "cmdline.h"
#include "hvstate.h"
#include "schema.h"

#define F(T, kind, f)                                                                              \
    {                                                                                              \
#f, kind, offsetof(T, f), 0, NULL                                                          \
    }
#define V(T, kind, f, n, s)                                                                        \
    {                                                                                              \
#f, kind, offsetof(T, f), offsetof(T, n), s                                                \
    }

static const struct vc_field dimm_f[] = {
    F(struct vc_qemu_dimm, VC_FIELD_U32, slot),
    F(struct vc_qemu_dimm, VC_FIELD_U32, size_mb),
    F(struct vc_qemu_dimm, VC_FIELD_U64, addr),
};
static const struct vc_schema dimm_schema = {"vc_qemu_dimm", sizeof(struct vc_qemu_dimm), dimm_f,
                                             sizeof(dimm_f) / sizeof(dimm_f[0])};

static const struct vc_field block_f[] = {
    F(struct vc_qemu_blockdev, VC_FIELD_STR, id),
    F(struct vc_qemu_blockdev, VC_FIELD_STR, node),
    F(struct vc_qemu_blockdev, VC_FIELD_I32, port),
};
static const struct vc_schema block_schema = {"vc_qemu_blockdev", sizeof(struct vc_qemu_blockdev),
                                              block_f, sizeof(block_f) / sizeof(block_f[0])};

static const struct vc_field state_f[] = {
    F(struct vc_qemu_hvstate, VC_FIELD_U32, version),
    F(struct vc_qemu_hvstate, VC_FIELD_STR, vm_state),
    F(struct vc_qemu_hvstate, VC_FIELD_BOOL, crashed),
    F(struct vc_qemu_hvstate, VC_FIELD_I32, pid),
    F(struct vc_qemu_hvstate, VC_FIELD_STR, run_dir),
    F(struct vc_qemu_hvstate, VC_FIELD_STR, accel),
    F(struct vc_qemu_hvstate, VC_FIELD_STR, agent),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, cid),
    F(struct vc_qemu_hvstate, VC_FIELD_STR, cpu_model),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, root_ports),
    F(struct vc_qemu_hvstate, VC_FIELD_BOOL, debug),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, vcpus),
    V(struct vc_qemu_hvstate, VC_FIELD_U32V, cpu_ids, n_cpu_ids, NULL),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, cpu_next),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, memory_mb),
    V(struct vc_qemu_hvstate, VC_FIELD_STRUCTV, dimms, n_dimms, &dimm_schema),
    V(struct vc_qemu_hvstate, VC_FIELD_STRUCTV, blocks, n_blocks, &block_schema),
    F(struct vc_qemu_hvstate, VC_FIELD_U32, block_next),
};
static const struct vc_schema state_schema = {"vc_qemu_hvstate", sizeof(struct vc_qemu_hvstate),
                                              state_f, sizeof(state_f) / sizeof(state_f[0])};

void vc_qemu_hvstate_clear(struct vc_ctx *ctx, struct vc_qemu_hvstate *st)
{
    if (st)
        vc_obj_clear(ctx, &state_schema, st);
}

int vc_qemu_hvstate_to_json(struct vc_ctx *ctx, const struct vc_qemu_hvstate *st, char **ret)
{
    json_object *j = NULL;
    char *s;
    int r = vc_obj_to_json(ctx, &state_schema, st, &j);

    if (r < 0)
        return vc_err(ctx, r, "out of memory");
    s = vc_strdup(ctx, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    if (!s)
        return vc_err(ctx, -ENOMEM, "out of memory");
    *ret = s;
    return 0;
}

bool vc_qemu_id_ok(const char *s)
{
    size_t len = s ? strnlen(s, VC_QEMU_ID_MAX + 1) : 0;

    if (len == 0 || len > VC_QEMU_ID_MAX)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

static bool one_of(const char *s, const char *const *names)
{
    for (; s && *names; names++)
        if (strcmp(s, *names) == 0)
            return true;
    return false;
}

/* The checks beyond the types: what hv.c relies on when it acts on a loaded state. */
static int state_check(struct vc_ctx *ctx, const struct vc_qemu_hvstate *st)
{
    static const char *const vm_states[] = {"created", "running", "paused", "stopped", NULL};
    static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
    static const char *const agents[] = {"vsock", "serial", NULL};

    if (st->version != VC_QEMU_STATE_VERSION)
        return vc_err(ctx, -EINVAL, "qemu state: version %u, expected %u", st->version,
                      VC_QEMU_STATE_VERSION);
    if (!one_of(st->vm_state, vm_states) || !one_of(st->accel, accels) ||
        !one_of(st->agent, agents))
        return vc_err(ctx, -EINVAL, "qemu state: bad vm_state, accel or agent");
    if (!st->run_dir || st->run_dir[0] != '/' || strlen(st->run_dir) > VC_QEMU_PATH_MAX)
        return vc_err(ctx, -EINVAL, "qemu state: bad run_dir");
    if (st->pid < 0)
        return vc_err(ctx, -EINVAL, "qemu state: bad pid %d", st->pid);
    /* 0: no CID reserved (yet). */
    if (st->cid != 0 && (st->cid < 3 || st->cid == UINT32_MAX))
        return vc_err(ctx, -EINVAL, "qemu state: bad vsock cid %u", st->cid);
    if (st->cpu_model && (!*st->cpu_model || strlen(st->cpu_model) > 256))
        return vc_err(ctx, -EINVAL, "qemu state: bad cpu_model");
    if (st->root_ports > VC_QEMU_MAX_ROOT_PORTS || st->vcpus > VC_QEMU_MAX_VCPUS ||
        st->n_cpu_ids > VC_QEMU_MAX_VCPUS || st->n_dimms > VC_QEMU_MAX_DIMMS ||
        st->n_blocks > VC_QEMU_MAX_BLOCKS)
        return vc_err(ctx, -EINVAL, "qemu state: a count is over its limit");
    for (size_t i = 0; i < st->n_blocks; i++) {
        const struct vc_qemu_blockdev *b = &st->blocks[i];
        if (!vc_qemu_id_ok(b->id) || !vc_qemu_id_ok(b->node) || b->port < -1 ||
            b->port >= (int32_t) VC_QEMU_MAX_ROOT_PORTS)
            return vc_err(ctx, -EINVAL, "qemu state: bad block device %zu", i);
    }
    for (size_t i = 0; i < st->n_dimms; i++)
        if (st->dimms[i].slot >= VC_QEMU_MAX_DIMMS || st->dimms[i].size_mb == 0)
            return vc_err(ctx, -EINVAL, "qemu state: bad dimm %zu", i);
    return 0;
}

int vc_qemu_hvstate_from_json(struct vc_ctx *ctx, const char *text, struct vc_qemu_hvstate *ret)
{
    json_object *j = NULL;
    size_t len;
    int r;

    if (!text)
        return vc_err(ctx, -EINVAL, "qemu state: none to load");
    len = strnlen(text, VC_QEMU_STATE_MAX + 1);
    if (len > VC_QEMU_STATE_MAX)
        return vc_err(ctx, -EINVAL, "qemu state: longer than %u bytes", VC_QEMU_STATE_MAX);
    r = vc_json_parse(ctx, "qemu state", text, len, &j);
    if (r < 0)
        return r;
    if (!json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return vc_err(ctx, -EINVAL, "qemu state: not a JSON object");
    }
    *ret = (struct vc_qemu_hvstate){0};
    r = vc_obj_from_json(ctx, &state_schema, j, ret);
    json_object_put(j);
    if (r < 0)
        return r;
    r = state_check(ctx, ret);
    if (r < 0)
        vc_qemu_hvstate_clear(ctx, ret);
    return r;
}
