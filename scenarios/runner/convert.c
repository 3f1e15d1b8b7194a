/* SPDX-License-Identifier: Apache-2.0 */
/* YAML nodes to json-c objects, typed by the core's schema descriptors, so that scenario
 * config sections are validated by the same tables that persist them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "value.h"

static const char conv_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (padded) of len bytes, for BYTES fields. */
static json_object *conv_base64(const char *s, size_t len)
{
    size_t n = (len + 2) / 3 * 4;
    char *out = malloc(n + 1), *p = out;
    json_object *j;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t) (unsigned char) s[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t) (unsigned char) s[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char) s[i + 2];
        *p++ = conv_b64[v >> 18 & 63];
        *p++ = conv_b64[v >> 12 & 63];
        *p++ = i + 1 < len ? conv_b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? conv_b64[v & 63] : '=';
    }
    *p = '\0';
    j = json_object_new_string_len(out, (int) n);
    free(out);
    return j;
}

const struct vc_field *vcsim_schema_field(const struct vc_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

static int conv_int(struct vcsim_diag *d, enum vc_field_kind k, const struct vcsim_node *n,
                    json_object **ret)
{
    static const int64_t lo[] = {[VC_FIELD_U32] = 0,
                                 [VC_FIELD_I32] = INT32_MIN,
                                 [VC_FIELD_U64] = 0,
                                 [VC_FIELD_I64] = INT64_MIN};
    static const int64_t hi[] = {[VC_FIELD_U32] = UINT32_MAX,
                                 [VC_FIELD_I32] = INT32_MAX,
                                 [VC_FIELD_U64] = INT64_MAX,
                                 [VC_FIELD_I64] = INT64_MAX};
    uint64_t size;
    int64_t v;
    int r;

    /* 64-bit fields hold bytes in the model (memory limits): sizes are accepted there. */
    if ((k == VC_FIELD_U64 || k == VC_FIELD_I64) && n->kind == VCSIM_NODE_SCALAR && n->plain &&
        vcsim_parse_size(n->text, &size) && size <= INT64_MAX)
        v = (int64_t) size;
    else if ((r = vcsim_val_int(d, n, lo[k], hi[k], &v)) < 0)
        return r;
    *ret = json_object_new_int64(v);
    return *ret ? 0 : -ENOMEM;
}

static int conv_scalar(struct vcsim_diag *d, const struct vc_field *f, const struct vcsim_node *n,
                       json_object **ret)
{
    const char *s;
    bool b;
    int r;

    switch (f->kind) {
    case VC_FIELD_STR:
        r = vcsim_val_str(d, n, &s);
        *ret = r < 0 ? NULL : json_object_new_string_len(s, (int) n->len);
        break;
    case VC_FIELD_BYTES:
        r = vcsim_val_str(d, n, &s);
        *ret = r < 0 ? NULL : conv_base64(s, n->len);
        break;
    case VC_FIELD_BOOL:
        r = vcsim_val_bool(d, n, &b);
        *ret = r < 0 ? NULL : json_object_new_boolean(b);
        break;
    default:
        return conv_int(d, f->kind, n, ret);
    }
    if (r >= 0 && !*ret)
        r = -ENOMEM;
    return r;
}

/* {key: value, ...} as an annotation list. */
static int conv_annotation_map(struct vcsim_diag *d, const struct vcsim_node *n, json_object *arr)
{
    const char *k, *v;
    json_object *o;
    int r;

    for (size_t i = 0; i + 1 < n->n; i += 2) {
        r = vcsim_val_str(d, n->items[i + 1], &v);
        if (r < 0)
            return r;
        k = n->items[i]->text;
        o = json_object_new_object();
        if (!o || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            return -ENOMEM;
        }
        json_object_object_add(o, "key", json_object_new_string(k));
        json_object_object_add(o, "value", json_object_new_string(v));
    }
    return 0;
}

static int conv_array(struct vcsim_diag *d, const struct vc_field *f, const struct vcsim_node *n,
                      json_object *arr)
{
    struct vc_field elem = {.name = f->name, .sub = f->sub};
    json_object *j;
    int r;

    if (f->kind == VC_FIELD_STRUCTV && f->sub == &vc_schema_annotation && n->kind == VCSIM_NODE_MAP)
        return conv_annotation_map(d, n, arr);
    if (n->kind != VCSIM_NODE_SEQ)
        return vcsim_diag_node(d, n, "'%s' must be a list, got %s", f->name,
                               vcsim_node_kind_name(n));
    elem.kind = f->kind == VC_FIELD_STRV   ? VC_FIELD_STR
                : f->kind == VC_FIELD_U32V ? VC_FIELD_U32
                                           : VC_FIELD_STRUCT;
    for (size_t i = 0; i < n->n; i++) {
        r = vcsim_json_from_field(d, &elem, n->items[i], &j);
        if (r < 0)
            return r;
        if (json_object_array_add(arr, j) < 0) {
            json_object_put(j);
            return -ENOMEM;
        }
    }
    return 0;
}

int vcsim_json_from_field(struct vcsim_diag *d, const struct vc_field *f,
                          const struct vcsim_node *n, json_object **ret)
{
    json_object *arr;
    int r;

    if (f->kind == VC_FIELD_STRUCT) {
        if (n->kind != VCSIM_NODE_MAP)
            return vcsim_diag_node(d, n, "'%s' must be a map, got %s", f->name,
                                   vcsim_node_kind_name(n));
        return vcsim_json_from_map(d, f->sub, n, NULL, ret);
    }
    if (f->kind != VC_FIELD_STRV && f->kind != VC_FIELD_U32V && f->kind != VC_FIELD_STRUCTV)
        return conv_scalar(d, f, n, ret);
    arr = json_object_new_array();
    if (!arr)
        return -ENOMEM;
    r = conv_array(d, f, n, arr);
    if (r < 0) {
        json_object_put(arr);
        return r;
    }
    *ret = arr;
    return 0;
}

int vcsim_json_from_map(struct vcsim_diag *d, const struct vc_schema *s,
                        const struct vcsim_node *map, const char *skip, json_object **ret)
{
    const struct vc_field *f;
    json_object *o, *v;
    int r = 0;

    if (map->kind != VCSIM_NODE_MAP)
        return vcsim_diag_node(d, map, "expected a map, got %s", vcsim_node_kind_name(map));
    o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && i + 1 < map->n; i += 2) {
        const char *key = map->items[i]->text;
        if (vcsim_word_in(skip, key))
            continue;
        f = vcsim_schema_field(s, key);
        if (!f) {
            r = vcsim_diag_node(d, map->items[i], "unknown key '%s' in %s", key, s->name);
            break;
        }
        r = vcsim_json_from_field(d, f, map->items[i + 1], &v);
        if (r >= 0)
            json_object_object_add(o, key, v);
    }
    if (r < 0) {
        json_object_put(o);
        return r;
    }
    *ret = o;
    return 0;
}

static json_object *conv_any_scalar(const struct vcsim_node *n)
{
    char *end;
    long long v;

    if (!n->plain)
        return json_object_new_string_len(n->text, (int) n->len);
    if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0)
        return json_object_new_boolean(n->text[0] == 't');
    if (strcmp(n->text, "null") == 0 || strcmp(n->text, "~") == 0)
        return json_object_new_null();
    errno = 0;
    v = strtoll(n->text, &end, 10);
    if (n->len && !errno && !*end && n->text[0] != '+')
        return json_object_new_int64(v);
    return json_object_new_string_len(n->text, (int) n->len);
}

int vcsim_json_from_any(struct vcsim_diag *d, const struct vcsim_node *n, json_object **ret)
{
    json_object *o, *c;
    bool map = n->kind == VCSIM_NODE_MAP;
    int r;

    if (n->kind == VCSIM_NODE_SCALAR) {
        /* json-c's null is a NULL pointer: a plain null is a valid result. */
        *ret = conv_any_scalar(n);
        return 0;
    }
    o = map ? json_object_new_object() : json_object_new_array();
    if (!o)
        return -ENOMEM;
    for (size_t i = map ? 1 : 0; i < n->n; i += map ? 2 : 1) {
        r = vcsim_json_from_any(d, n->items[i], &c);
        if (r < 0) {
            json_object_put(o);
            return r;
        }
        if (map)
            json_object_object_add(o, n->items[i - 1]->text, c);
        else
            (void) json_object_array_add(o, c);
    }
    *ret = o;
    return 0;
}

int vcsim_json_merge(json_object *base, json_object *over, json_object **ret)
{
    json_object *o, *m;
    int r;

    if (!json_object_is_type(base, json_type_object) ||
        !json_object_is_type(over, json_type_object)) {
        *ret = json_object_get(over ? over : base);
        return 0;
    }
    o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    json_object_object_foreach(base, bk, bv)
    {
        json_object *ov = NULL;
        (void) json_object_object_get_ex(over, bk, &ov);
        r = vcsim_json_merge(bv, ov, &m);
        if (r < 0) {
            json_object_put(o);
            return r;
        }
        json_object_object_add(o, bk, m);
    }
    json_object_object_foreach(over, ok, ov2)
    {
        if (!json_object_object_get_ex(base, ok, NULL))
            json_object_object_add(o, ok, json_object_get(ov2));
    }
    *ret = o;
    return 0;
}
