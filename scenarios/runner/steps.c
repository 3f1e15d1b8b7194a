/* SPDX-License-Identifier: Apache-2.0 */
/* The step vocabulary: a const table of step descriptors (name, arguments, what it returns,
 * executor) and a table of argument keys (type and place in struct vcsim_args), so parsing is
 * one generic routine and each executor is a short call into the runtime API or the world. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <mockagent/host.h>
#include <simhv/fault.h>
#include <simhv/hv.h>

#include "convert.h"
#include "run.h"
#include "value.h"

enum arg_type {
    ARG_STR,      /* text */
    ARG_TEXT,     /* bytes with a length (data) */
    ARG_BOOL,     /* true/false */
    ARG_SIGNAL,   /* signal name or number */
    ARG_U32,      /* integer */
    ARG_U64,      /* integer */
    ARG_SIZE,     /* size */
    ARG_DURATION, /* duration */
    ARG_VMSTATE,  /* VM state name */
    ARG_U32V,     /* list of integers */
    ARG_STRV,     /* list of strings */
    ARG_KVMAP,    /* map of id to text or list */
    ARG_STRUCT,   /* one struct of a schema */
    ARG_VEC,      /* list of structs of a schema */
};

struct arg_key {
    const char *key;             /* YAML key */
    enum arg_type type;          /* how it is parsed */
    size_t off;                  /* where it goes in struct vcsim_args */
    size_t off_n;                /* its count or length, for lists and bytes */
    const struct vc_schema *sub; /* ARG_STRUCT, ARG_VEC: element schema */
};

#define A(k, t, f)                                                                                 \
    {                                                                                              \
        k, t, offsetof(struct vcsim_args, f), 0, NULL                                              \
    }
#define AN(k, t, f, n)                                                                             \
    {                                                                                              \
        k, t, offsetof(struct vcsim_args, f), offsetof(struct vcsim_args, n), NULL                 \
    }
#define AS(k, t, s)                                                                                \
    {                                                                                              \
        k, t, offsetof(struct vcsim_args, vec), offsetof(struct vcsim_args, n_vec), &(s)           \
    }

static const struct arg_key arg_keys[] = {
    A("id", ARG_STR, id),
    A("sandbox", ARG_STR, sandbox),
    A("container", ARG_STR, container),
    A("exec_id", ARG_STR, exec_id),
    A("name", ARG_STR, name),
    A("path", ARG_STR, path),
    A("log_type", ARG_STR, log_type),
    A("policy", ARG_STR, policy),
    A("console", ARG_STR, console),
    AN("data", ARG_TEXT, data, data_len),
    A("force", ARG_BOOL, force),
    A("all", ARG_BOOL, all),
    A("ipv6", ARG_BOOL, ipv6),
    A("exists", ARG_BOOL, exists),
    A("up", ARG_BOOL, up),
    A("signal", ARG_SIGNAL, signal),
    A("state", ARG_VMSTATE, vm_state),
    A("rows", ARG_U32, rows),
    A("columns", ARG_U32, columns),
    A("max", ARG_SIZE, max),
    A("size", ARG_SIZE, size),
    A("duration", ARG_DURATION, duration),
    A("vcpus", ARG_U64, vcpus),
    A("memory_mb", ARG_U64, memory_mb),
    A("devices", ARG_U64, devices),
    A("online_vcpus", ARG_U64, online_vcpus),
    A("online_memory_mb", ARG_U64, online_memory_mb),
    A("pending_oom", ARG_U64, pending_oom),
    AN("pci_path", ARG_U32V, pci_path, n_pci_path),
    AN("sandboxes", ARG_STRV, sandboxes, n_sandboxes),
    AN("containers", ARG_KVMAP, kvs, n_kvs),
    AS("resources", ARG_STRUCT, vc_schema_resources),
    AS("routes", ARG_VEC, vc_schema_route),
    AS("mounts", ARG_VEC, vc_schema_mount),
};

#define ARG_AT(args, off, T) ((T *) (void *) ((char *) (args) + (off)))

static const struct arg_key *arg_key_find(const char *key, size_t *ret_index)
{
    for (size_t i = 0; i < sizeof(arg_keys) / sizeof(arg_keys[0]); i++)
        if (strcmp(arg_keys[i].key, key) == 0) {
            *ret_index = i;
            return &arg_keys[i];
        }
    return NULL;
}

bool vcsim_step_given(const struct vcsim_step *st, const char *key)
{
    size_t i;

    return arg_key_find(key, &i) && (st->args.given & (UINT64_C(1) << i));
}

/* --- argument parsing -------------------------------------------------------------------- */

static int arg_dup(const char *s, size_t len, char **ret)
{
    char *c = malloc(len + 1);

    if (!c)
        return -ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    *ret = c;
    return 0;
}

static int arg_vm_state(struct vcsim_diag *d, const struct vcsim_node *v, int32_t *ret)
{
    const char *s;
    int r = vcsim_val_str(d, v, &s);

    for (int i = 0; r >= 0 && i < VC_VM_STATE_LAST; i++)
        if (strcmp(vc_vm_state_to_string((enum vc_vm_state) i), s) == 0) {
            *ret = i;
            return 0;
        }
    return r < 0 ? r : vcsim_diag_node(d, v, "unknown VM state '%s'", s);
}

static int arg_u32v(struct vcsim_diag *d, const struct vcsim_node *v, uint32_t **ret, size_t *ret_n)
{
    int64_t x;
    int r = 0;

    if (v->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, v, "expected a list of integers");
    *ret = calloc(v->n + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < v->n; i++) {
        r = vcsim_val_int(d, v->items[i], 0, UINT32_MAX, &x);
        (*ret)[i] = (uint32_t) x;
    }
    *ret_n = v->n;
    return r;
}

static int arg_strv(struct vcsim_diag *d, const struct vcsim_node *v, char ***ret, size_t *ret_n)
{
    const char *s;
    int r = 0;

    if (v->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, v, "expected a list of strings");
    *ret = calloc(v->n + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < v->n; i++, (*ret_n)++) {
        r = vcsim_val_str(d, v->items[i], &s);
        if (r >= 0)
            r = arg_dup(s, strlen(s), &(*ret)[i]);
    }
    return r;
}

/* {id: text | number | [list]} */
static int arg_kvmap(struct vcsim_diag *d, const struct vcsim_node *v, struct vcsim_kv **ret,
                     size_t *ret_n)
{
    int r = 0;

    if (v->kind != VCSIM_NODE_MAP)
        return vcsim_diag_node(d, v, "expected a map, got %s", vcsim_node_kind_name(v));
    *ret = calloc(v->n / 2 + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i + 1 < v->n; i += 2, (*ret_n)++) {
        struct vcsim_kv *kv = &(*ret)[i / 2];
        const struct vcsim_node *val = v->items[i + 1];
        kv->line = v->items[i]->line;
        r = arg_dup(v->items[i]->text, v->items[i]->len, &kv->key);
        if (r >= 0 && val->kind == VCSIM_NODE_SEQ)
            r = arg_strv(d, val, &kv->list, &kv->n_list);
        else if (r >= 0 && val->kind == VCSIM_NODE_SCALAR)
            r = arg_dup(val->text, val->len, &kv->value);
        else if (r >= 0)
            r = vcsim_diag_node(d, val, "expected a scalar or a list");
    }
    return r;
}

/* A struct (ARG_STRUCT) or a list of them (ARG_VEC) of schema k->sub. */
static int arg_structs(struct vcsim_scenario *s, struct vcsim_diag *d, const struct arg_key *k,
                       const struct vcsim_node *v, struct vcsim_args *a)
{
    const struct vcsim_node *one = v;
    size_t n = k->type == ARG_STRUCT ? 1 : v->n;
    json_object *j;
    int r = 0;

    if (k->type == ARG_VEC && v->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, v, "'%s' must be a list", k->key);
    a->vec_schema = k->sub;
    a->vec = calloc(n + 1, k->sub->size);
    if (!a->vec)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i < n; i++, a->n_vec++) {
        if (k->type == ARG_VEC)
            one = v->items[i];
        r = vcsim_json_from_map(d, k->sub, one, NULL, &j);
        if (r < 0)
            break;
        r = vcsim_obj_from_json(s, d, one, k->sub, j, (char *) a->vec + i * k->sub->size);
        json_object_put(j);
    }
    return r;
}

static int arg_parse(struct vcsim_scenario *s, struct vcsim_diag *d, const struct arg_key *k,
                     const struct vcsim_node *v, struct vcsim_args *a)
{
    const char *str;
    int64_t x;
    int r;

    switch (k->type) {
    case ARG_STR:
    case ARG_TEXT:
        if (k->type == ARG_TEXT && v->kind == VCSIM_NODE_SCALAR) {
            *ARG_AT(a, k->off_n, size_t) = v->len;
            return arg_dup(v->text, v->len, ARG_AT(a, k->off, char *));
        }
        r = vcsim_val_str(d, v, &str);
        return r < 0 ? r : arg_dup(str, strlen(str), ARG_AT(a, k->off, char *));
    case ARG_BOOL:
        return vcsim_val_bool(d, v, ARG_AT(a, k->off, bool));
    case ARG_SIGNAL:
        return vcsim_val_signal(d, v, ARG_AT(a, k->off, int32_t));
    case ARG_U32:
        r = vcsim_val_int(d, v, 0, UINT32_MAX, &x);
        *ARG_AT(a, k->off, uint32_t) = (uint32_t) x;
        return r;
    case ARG_U64:
        return vcsim_val_u64(d, v, ARG_AT(a, k->off, uint64_t));
    case ARG_SIZE:
        return vcsim_val_size(d, v, ARG_AT(a, k->off, uint64_t));
    case ARG_DURATION:
        return vcsim_val_duration(d, v, false, ARG_AT(a, k->off, uint64_t));
    case ARG_VMSTATE:
        return arg_vm_state(d, v, ARG_AT(a, k->off, int32_t));
    case ARG_U32V:
        return arg_u32v(d, v, ARG_AT(a, k->off, uint32_t *), ARG_AT(a, k->off_n, size_t));
    case ARG_STRV:
        return arg_strv(d, v, ARG_AT(a, k->off, char **), ARG_AT(a, k->off_n, size_t));
    case ARG_KVMAP:
        return arg_kvmap(d, v, ARG_AT(a, k->off, struct vcsim_kv *), ARG_AT(a, k->off_n, size_t));
    default:
        return arg_structs(s, d, k, v, a);
    }
}

/* "args: [...]" sets process.args; no args means "sleep infinity"; rootfs has a default. */
int vcsim_container_json(struct vcsim_diag *d, const struct vcsim_node *map, const char *skip,
                         json_object **ret)
{
    static const struct vc_field args_f = {.name = "args", .kind = VC_FIELD_STRV};
    const struct vcsim_node *args = vcsim_node_get(map, "args");
    json_object *j, *proc, *v = NULL, *id;
    char rootfs[VC_ID_MAX + 32];
    int r;

    r = vcsim_json_from_map(d, &vc_schema_container_config, map, skip ? skip : "args", &j);
    if (r < 0)
        return r;
    if (!json_object_object_get_ex(j, "process", &proc)) {
        proc = json_object_new_object();
        json_object_object_add(j, "process", proc);
    }
    if (args && json_object_object_get_ex(proc, "args", NULL))
        r = vcsim_diag_node(d, args, "both 'args' and 'process.args' given");
    if (r >= 0 && args && (r = vcsim_json_from_field(d, &args_f, args, &v)) >= 0)
        json_object_object_add(proc, "args", v);
    if (r >= 0 && !json_object_object_get_ex(proc, "args", NULL))
        json_object_object_add(proc, "args", json_tokener_parse("[\"sleep\",\"infinity\"]"));
    if (r >= 0 && !json_object_object_get_ex(j, "rootfs", NULL) &&
        json_object_object_get_ex(j, "id", &id)) {
        (void) snprintf(rootfs, sizeof(rootfs), "/run/vc/rootfs/%.*s", VC_ID_MAX,
                        json_object_get_string(id));
        json_object_object_add(j, "rootfs", json_object_new_string(rootfs));
    }
    if (r < 0) {
        json_object_put(j);
        return r;
    }
    *ret = j;
    return 0;
}

int vcsim_scenario_sandbox_json(struct vcsim_scenario *s, struct vcsim_diag *d,
                                const struct vcsim_node *map, json_object **ret)
{
    const struct vcsim_node *cts = vcsim_node_get(map, "containers");
    json_object *own = NULL, *arr = NULL, *c;
    int r;

    r = vcsim_json_from_map(d, &vc_schema_sandbox_config, map, "containers", &own);
    if (r >= 0 && cts && cts->kind != VCSIM_NODE_SEQ)
        r = vcsim_diag_node(d, cts, "containers must be a list");
    if (r >= 0 && cts && !(arr = json_object_new_array()))
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && cts && i < cts->n; i++) {
        r = vcsim_container_json(d, cts->items[i], NULL, &c);
        if (r >= 0)
            (void) json_object_array_add(arr, c);
    }
    if (r >= 0 && arr) {
        json_object_object_add(own, "containers", arr);
        arr = NULL;
    }
    json_object_put(arr);
    if (r >= 0)
        r = vcsim_json_merge(s->sandbox_defaults, own, ret);
    json_object_put(own);
    return r;
}

/* add_device's type is a name (cpu, memory, block, net, vfio). */
static int arg_device_json(struct vcsim_diag *d, const struct vcsim_node *map, const char *skip,
                           json_object **ret)
{
    const struct vcsim_node *t = vcsim_node_get(map, "type");
    const char *s;
    int type = 0, r;

    if (!t)
        return vcsim_diag_node(d, map, "device needs 'type'");
    r = vcsim_val_str(d, t, &s);
    while (r >= 0 && type < VC_DEVICE_TYPE_LAST &&
           strcmp(vc_device_type_to_string((enum vc_device_type) type), s) != 0)
        type++;
    if (r >= 0 && type == VC_DEVICE_TYPE_LAST)
        r = vcsim_diag_node(d, t, "unknown device type '%s'", s);
    if (r >= 0)
        r = vcsim_json_from_map(d, &vc_schema_device, map, skip, ret);
    if (r >= 0)
        json_object_object_add(*ret, "type", json_object_new_int(type));
    return r;
}

/* The rest of the step's map (keys that are not its arguments) as the step's struct. */
static int arg_schema_obj(struct vcsim_scenario *s, struct vcsim_diag *d, struct vcsim_step *st,
                          const struct vcsim_node *map)
{
    const struct vc_schema *sc = st->desc->schema;
    char skip[256];
    json_object *j = NULL;
    int r;

    (void) snprintf(skip, sizeof(skip), "%s%s", st->desc->keys,
                    sc == &vc_schema_device             ? " type"
                    : sc == &vc_schema_container_config ? " args"
                                                        : "");
    if (sc == &vc_schema_sandbox_config)
        r = vcsim_scenario_sandbox_json(s, d, map, &j);
    else if (sc == &vc_schema_container_config)
        r = vcsim_container_json(d, map, skip, &j);
    else if (sc == &vc_schema_device)
        r = arg_device_json(d, map, skip, &j);
    else
        r = vcsim_json_from_map(d, sc, map, skip, &j);
    if (r < 0)
        return r;
    st->args.schema = sc;
    st->args.obj = calloc(1, sc->size);
    r = st->args.obj ? vcsim_obj_from_json(s, d, map, sc, j, st->args.obj) : -ENOMEM;
    json_object_put(j);
    return r;
}

static int arg_check_required(struct vcsim_diag *d, const struct vcsim_step *st,
                              const struct vcsim_node *at)
{
    const char *p = st->desc->required;
    char key[32];

    while (p && *p) {
        size_t len = strcspn(p, " ");
        (void) snprintf(key, sizeof(key), "%.*s", (int) len, p);
        if (!vcsim_step_given(st, key))
            return vcsim_diag_node(d, at, "step '%s' needs '%s'", st->desc->name, key);
        p += len + (p[len] == ' ');
    }
    return 0;
}

static int arg_one(struct vcsim_scenario *s, struct vcsim_diag *d, struct vcsim_step *st,
                   const struct vcsim_node *key, const struct vcsim_node *v)
{
    const struct arg_key *k;
    size_t i;

    k = arg_key_find(key->text, &i);
    if (!k)
        return vcsim_diag_node(d, key, "unknown key '%s' in step '%s'", key->text, st->desc->name);
    st->args.given |= UINT64_C(1) << i;
    return arg_parse(s, d, k, v, &st->args);
}

int vcsim_step_parse_args(struct vcsim_scenario *s, struct vcsim_diag *d, struct vcsim_step *st,
                          const struct vcsim_node *val)
{
    const struct vcsim_step_desc *desc = st->desc;
    int r = 0;

    if (strcmp(desc->name, "expect_faults") == 0)
        return arg_kvmap(d, val, &st->args.kvs, &st->args.n_kvs);
    if (val->kind == VCSIM_NODE_SCALAR && val->plain && val->len == 0) {
        /* "- list_sandboxes:" with nothing after it */
    } else if (val->kind == VCSIM_NODE_SCALAR && desc->main_key) {
        struct vcsim_node key = {.kind = VCSIM_NODE_SCALAR, .text = (char *) desc->main_key};
        r = arg_one(s, d, st, &key, val);
    } else if (val->kind != VCSIM_NODE_MAP) {
        return vcsim_diag_node(d, val, "arguments of '%s' must be a map", desc->name);
    } else {
        for (size_t i = 0; r >= 0 && i + 1 < val->n; i += 2) {
            if (!vcsim_word_in(desc->keys, val->items[i]->text)) {
                if (!desc->schema)
                    return vcsim_diag_node(d, val->items[i], "unknown key '%s' in step '%s'",
                                           val->items[i]->text, desc->name);
                continue;
            }
            r = arg_one(s, d, st, val->items[i], val->items[i + 1]);
        }
        if (r >= 0 && desc->schema)
            r = arg_schema_obj(s, d, st, val);
    }
    if (r >= 0 && desc->schema && !st->args.obj)
        return vcsim_diag_node(d, val, "step '%s' needs its arguments", desc->name);
    return r < 0 ? r : arg_check_required(d, st, val);
}

static void arg_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void vcsim_step_args_clear(struct vcsim_scenario *s, struct vcsim_step *st)
{
    struct vcsim_args *a = &st->args;

    for (size_t i = 0; i < sizeof(arg_keys) / sizeof(arg_keys[0]); i++)
        if (arg_keys[i].type == ARG_STR || arg_keys[i].type == ARG_TEXT)
            free(*ARG_AT(a, arg_keys[i].off, char *));
    free(a->pci_path);
    arg_strv_free(a->sandboxes, a->n_sandboxes);
    for (size_t i = 0; i < a->n_kvs; i++) {
        free(a->kvs[i].key);
        free(a->kvs[i].value);
        arg_strv_free(a->kvs[i].list, a->kvs[i].n_list);
    }
    free(a->kvs);
    if (a->obj)
        vc_obj_clear(s->mem, a->schema, a->obj);
    free(a->obj);
    for (size_t i = 0; a->vec && i < a->n_vec; i++)
        vc_obj_clear(s->mem, a->vec_schema, (char *) a->vec + i * a->vec_schema->size);
    free(a->vec);
    *a = (struct vcsim_args){0};
}
