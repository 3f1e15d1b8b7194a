/* SPDX-License-Identifier: Apache-2.0 */
/* YAML config files as json-c trees, read with libyaml's event parser within fixed limits: one
 * document, nesting at most VCCTL_DEPTH deep, at most VCCTL_NODE_MAX values, no anchors or
 * aliases (so a hostile file cannot expand), no duplicate keys. Plain scalars that read as null,
 * booleans or decimal integers get those types; everything else stays a string. */
#include <errno.h>
#include <string.h>

#include <yaml.h>

#include "vcctl.h"

struct vcctl_yaml {
    struct vc_ctx *ctx; /* where errors go */
    const char *path;   /* file name for messages */
    yaml_parser_t p;    /* the parser */
    size_t nodes;       /* values made so far */
};

static int yaml_fail(struct vcctl_yaml *y, const yaml_mark_t *m, const char *what)
{
    return vc_err(y->ctx, -EINVAL, "%s:%zu:%zu: %s", y->path, m->line + 1, m->column + 1, what);
}

/* The next event; a parser error becomes -EINVAL with its position. */
static int yaml_next(struct vcctl_yaml *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->p, ev))
        return 0;
    return yaml_fail(y, &y->p.problem_mark, y->p.problem ? y->p.problem : "malformed YAML");
}

static bool yaml_is(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* A plain scalar's JSON value: null, a boolean, an integer, or a string. */
static json_object *yaml_scalar(const yaml_event_t *ev)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    const char *s = (const char *) ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int64_t i;
    uint64_t u;

    if (plain && yaml_is(s, nulls))
        return NULL;
    if (plain && yaml_is(s, trues))
        return json_object_new_boolean(1);
    if (plain && yaml_is(s, falses))
        return json_object_new_boolean(0);
    if (plain && s[0] == '-' && vcctl_parse_i64(s, &i) == 0)
        return json_object_new_int64(i);
    if (plain && s[0] != '-' && vcctl_parse_u64(s, &u) == 0)
        return u > INT64_MAX ? json_object_new_uint64(u) : json_object_new_int64((int64_t) u);
    return json_object_new_string_len(s, (int) len);
}

static int yaml_node(struct vcctl_yaml *y, yaml_event_t *ev, unsigned depth, json_object **ret);

/* The items of a sequence or mapping whose start event was just read. */
static int yaml_items(struct vcctl_yaml *y, bool map, unsigned depth, json_object *j)
{
    yaml_event_t ev, kev;
    json_object *v;
    int r;

    for (;;) {
        r = yaml_next(y, &ev);
        if (r < 0)
            return r;
        if (ev.type == (map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (!map) {
            r = yaml_node(y, &ev, depth + 1, &v);
            if (r >= 0 && json_object_array_add(j, v) < 0)
                r = vc_err(y->ctx, -ENOMEM, "out of memory");
            if (r < 0)
                return r;
            continue;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            r = yaml_fail(y, &ev.start_mark, "mapping keys must be scalars");
            yaml_event_delete(&ev);
            return r;
        }
        kev = ev;
        r = json_object_object_get_ex(j, (const char *) kev.data.scalar.value, NULL)
                ? yaml_fail(y, &kev.start_mark, "duplicate key")
                : yaml_next(y, &ev);
        if (r >= 0)
            r = yaml_node(y, &ev, depth + 1, &v);
        if (r >= 0 && json_object_object_add(j, (const char *) kev.data.scalar.value, v) < 0)
            r = vc_err(y->ctx, -ENOMEM, "out of memory");
        yaml_event_delete(&kev);
        if (r < 0)
            return r;
    }
}

/* Builds the value that starts with ev (consumed). */
static int yaml_node(struct vcctl_yaml *y, yaml_event_t *ev, unsigned depth, json_object **ret)
{
    json_object *j = NULL;
    int r = 0;

    if (++y->nodes > VCCTL_NODE_MAX)
        r = yaml_fail(y, &ev->start_mark, "too many values");
    else if (depth > VCCTL_DEPTH)
        r = yaml_fail(y, &ev->start_mark, "nested too deeply");
    else if (ev->type == YAML_ALIAS_EVENT ||
             (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
             (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor) ||
             (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor))
        r = yaml_fail(y, &ev->start_mark, "anchors and aliases are not supported");
    else if (ev->type == YAML_SCALAR_EVENT)
        j = yaml_scalar(ev);
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        r = (j = json_object_new_array()) ? yaml_items(y, false, depth, j) : -ENOMEM;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        r = (j = json_object_new_object()) ? yaml_items(y, true, depth, j) : -ENOMEM;
    else
        r = yaml_fail(y, &ev->start_mark, "unexpected YAML event");
    yaml_event_delete(ev);
    if (r == -ENOMEM)
        r = vc_err(y->ctx, r, "out of memory");
    if (r < 0) {
        json_object_put(j);
        return r;
    }
    *ret = j;
    return 0;
}

/* Expects the next event to be of type t. */
static int yaml_expect(struct vcctl_yaml *y, yaml_event_type_t t, const char *what)
{
    yaml_event_t ev;
    int r = yaml_next(y, &ev);

    if (r < 0)
        return r;
    if (ev.type != t)
        r = yaml_fail(y, &ev.start_mark, what);
    yaml_event_delete(&ev);
    return r;
}

int vcctl_yaml_parse(struct vc_ctx *ctx, const char *path, const char *buf, size_t len,
                     json_object **ret)
{
    struct vcctl_yaml y = {.ctx = ctx, .path = path};
    json_object *j = NULL;
    yaml_event_t ev;
    int r;

    if (len > VCCTL_DOC_MAX)
        return vc_err(ctx, -EFBIG, "%s: larger than %u bytes", path, VCCTL_DOC_MAX);
    if (!yaml_parser_initialize(&y.p))
        return vc_err(ctx, -ENOMEM, "out of memory");
    yaml_parser_set_input_string(&y.p, (const unsigned char *) buf, len);
    r = yaml_expect(&y, YAML_STREAM_START_EVENT, "expected a YAML stream");
    if (r >= 0)
        r = yaml_next(&y, &ev);
    if (r >= 0) {
        yaml_event_type_t t = ev.type;
        yaml_mark_t m = ev.start_mark;

        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) {
            /* An empty file: an empty document. */
            j = json_object_new_object();
            r = j ? 0 : vc_err(ctx, -ENOMEM, "out of memory");
            goto out;
        }
        if (t != YAML_DOCUMENT_START_EVENT)
            r = yaml_fail(&y, &m, "expected a document");
    }
    if (r >= 0)
        r = yaml_next(&y, &ev);
    if (r >= 0)
        r = yaml_node(&y, &ev, 0, &j);
    if (r >= 0)
        r = yaml_expect(&y, YAML_DOCUMENT_END_EVENT, "expected the end of the document");
    if (r >= 0)
        r = yaml_expect(&y, YAML_STREAM_END_EVENT, "only one document is allowed");
out:
    yaml_parser_delete(&y.p);
    if (r < 0) {
        json_object_put(j);
        return r;
    }
    *ret = j;
    return 0;
}
