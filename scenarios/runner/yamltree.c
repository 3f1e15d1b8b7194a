/* SPDX-License-Identifier: Apache-2.0 */
/* Loads a YAML document into a vcsim_node tree with libyaml's event parser: recursive descent
 * over events, bounded depth and node count, no anchors or aliases, duplicate keys refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "yamltree.h"

/* The parser and the budget shared by the recursive descent. */
struct yt_state {
    yaml_parser_t parser; /* libyaml's event parser */
    struct vcsim_diag *d; /* where errors go */
    size_t nodes;         /* nodes made so far */
};

static int diag_vat(struct vcsim_diag *d, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    int n;

    if (line)
        n = snprintf(d->msg, sizeof(d->msg), "%s:%u:%u: ", d->path, line, col);
    else
        n = snprintf(d->msg, sizeof(d->msg), "%s: ", d->path);
    if (n >= 0 && (size_t) n < sizeof(d->msg))
        (void) vsnprintf(d->msg + n, sizeof(d->msg) - (size_t) n, fmt, ap);
    return -EINVAL;
}

int vcsim_diag_at(struct vcsim_diag *d, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = diag_vat(d, line, col, fmt, ap);
    va_end(ap);
    return r;
}

int vcsim_diag_node(struct vcsim_diag *d, const struct vcsim_node *node, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = diag_vat(d, node ? node->line : 0, node ? node->col : 0, fmt, ap);
    va_end(ap);
    return r;
}

void vcsim_node_free(struct vcsim_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; i++)
        vcsim_node_free(node->items[i]);
    free(node->items);
    free(node->text);
    free(node);
}

const struct vcsim_node *vcsim_node_get(const struct vcsim_node *map, const char *key)
{
    if (!map || map->kind != VCSIM_NODE_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i + 1];
    return NULL;
}

const char *vcsim_node_kind_name(const struct vcsim_node *node)
{
    if (!node)
        return "nothing";
    switch (node->kind) {
    case VCSIM_NODE_SCALAR:
        return "a scalar";
    case VCSIM_NODE_SEQ:
        return "a list";
    case VCSIM_NODE_MAP:
        return "a map";
    }
    return "?";
}

static int yt_mark_err(struct yt_state *st, const yaml_mark_t *m, const char *what)
{
    return vcsim_diag_at(st->d, (unsigned) m->line + 1, (unsigned) m->column + 1, "%s", what);
}

/* Pulls the next event; a libyaml error becomes a positioned message. */
static int yt_next(struct yt_state *st, yaml_event_t *ev)
{
    const char *p;

    if (yaml_parser_parse(&st->parser, ev))
        return 0;
    if (st->parser.error == YAML_MEMORY_ERROR)
        return -ENOMEM;
    p = st->parser.problem ? st->parser.problem : "malformed YAML";
    return vcsim_diag_at(st->d, (unsigned) st->parser.problem_mark.line + 1,
                         (unsigned) st->parser.problem_mark.column + 1, "malformed YAML: %s", p);
}

static int yt_node_new(struct yt_state *st, enum vcsim_node_kind kind, const yaml_event_t *ev,
                       struct vcsim_node **ret)
{
    struct vcsim_node *n = NULL;

    if (++st->nodes > VCSIM_YAML_NODE_MAX)
        return yt_mark_err(st, &ev->start_mark, "too many nodes in document");
    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->kind = kind;
    n->line = (unsigned) ev->start_mark.line + 1;
    n->col = (unsigned) ev->start_mark.column + 1;
    *ret = n;
    return 0;
}

static int yt_push(struct vcsim_node *parent, struct vcsim_node *child)
{
    struct vcsim_node **v;

    /* Grows by doubling; n is bounded by the node budget. */
    if ((parent->n & (parent->n - 1)) == 0) {
        v = realloc(parent->items, (parent->n ? parent->n * 2 : 1) * sizeof(*v));
        if (!v)
            return -ENOMEM;
        parent->items = v;
    }
    parent->items[parent->n++] = child;
    return 0;
}

static int yt_scalar(struct yt_state *st, const yaml_event_t *ev, struct vcsim_node **ret)
{
    struct vcsim_node *n = NULL;
    int r;

    r = yt_node_new(st, VCSIM_NODE_SCALAR, ev, &n);
    if (r < 0)
        return r;
    n->len = ev->data.scalar.length;
    n->text = malloc(n->len + 1);
    if (!n->text) {
        vcsim_node_free(n);
        return -ENOMEM;
    }
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    *ret = n;
    return 0;
}

static int yt_node(struct yt_state *st, yaml_event_t *ev, unsigned depth, struct vcsim_node **ret);

/* Checks a new map key against the keys already there. */
static int yt_check_key(struct yt_state *st, const struct vcsim_node *map,
                        const struct vcsim_node *key)
{
    if (key->kind != VCSIM_NODE_SCALAR)
        return vcsim_diag_node(st->d, key, "map keys must be scalars");
    if (strlen(key->text) != key->len)
        return vcsim_diag_node(st->d, key, "map key contains a NUL byte");
    for (size_t i = 0; i < map->n; i += 2)
        if (strcmp(map->items[i]->text, key->text) == 0)
            return vcsim_diag_node(st->d, key, "duplicate key '%s'", key->text);
    return 0;
}

/* Reads the children of a sequence or map until its end event. */
static int yt_children(struct yt_state *st, struct vcsim_node *n, unsigned depth)
{
    yaml_event_t ev;
    struct vcsim_node *child;
    yaml_event_type_t end =
        n->kind == VCSIM_NODE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    int r;

    for (;;) {
        r = yt_next(st, &ev);
        if (r < 0)
            return r;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        r = yt_node(st, &ev, depth + 1, &child);
        yaml_event_delete(&ev);
        if (r < 0)
            return r;
        if (n->kind == VCSIM_NODE_MAP && n->n % 2 == 0)
            r = yt_check_key(st, n, child);
        if (r >= 0)
            r = yt_push(n, child);
        if (r < 0) {
            vcsim_node_free(child);
            return r;
        }
    }
}

static bool yt_has_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return ev->data.scalar.anchor != NULL;
    case YAML_SEQUENCE_START_EVENT:
        return ev->data.sequence_start.anchor != NULL;
    case YAML_MAPPING_START_EVENT:
        return ev->data.mapping_start.anchor != NULL;
    default:
        return false;
    }
}

/* Builds the node that starts with ev (owned by the caller). */
static int yt_node(struct yt_state *st, yaml_event_t *ev, unsigned depth, struct vcsim_node **ret)
{
    struct vcsim_node *n = NULL;
    int r;

    if (depth > VCSIM_YAML_DEPTH_MAX)
        return yt_mark_err(st, &ev->start_mark, "nesting too deep");
    if (ev->type == YAML_ALIAS_EVENT || yt_has_anchor(ev))
        return yt_mark_err(st, &ev->start_mark, "anchors and aliases are not supported");
    if (ev->type == YAML_SCALAR_EVENT)
        return yt_scalar(st, ev, ret);
    if (ev->type != YAML_SEQUENCE_START_EVENT && ev->type != YAML_MAPPING_START_EVENT)
        return yt_mark_err(st, &ev->start_mark, "malformed YAML: unexpected event");
    r = yt_node_new(st, ev->type == YAML_MAPPING_START_EVENT ? VCSIM_NODE_MAP : VCSIM_NODE_SEQ, ev,
                    &n);
    if (r < 0)
        return r;
    r = yt_children(st, n, depth);
    if (r < 0) {
        vcsim_node_free(n);
        return r;
    }
    *ret = n;
    return 0;
}

/* Skips the stream and document start events and reads the root; NULL root for an empty
 * stream. */
static int yt_document(struct yt_state *st, struct vcsim_node **ret)
{
    yaml_event_t ev;
    int r;

    *ret = NULL;
    for (;;) {
        r = yt_next(st, &ev);
        if (r < 0)
            return r;
        if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        r = yt_node(st, &ev, 1, ret);
        yaml_event_delete(&ev);
        return r;
    }
}

/* After the root: only the end of the document and of the stream may follow. */
static int yt_tail(struct yt_state *st)
{
    yaml_event_t ev;
    int r;

    for (;;) {
        r = yt_next(st, &ev);
        if (r < 0)
            return r;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_DOCUMENT_END_EVENT) {
            r = yt_mark_err(st, &ev.start_mark, "only one YAML document is allowed");
            yaml_event_delete(&ev);
            return r;
        }
        yaml_event_delete(&ev);
    }
}

int vcsim_yaml_parse(const char *buf, size_t len, struct vcsim_diag *d, struct vcsim_node **ret)
{
    struct yt_state st = {.d = d};
    struct vcsim_node *root = NULL;
    int r;

    if (len > VCSIM_YAML_FILE_MAX)
        return vcsim_diag_at(d, 0, 0, "file larger than %u bytes", VCSIM_YAML_FILE_MAX);
    if (memchr(buf, '\0', len))
        return vcsim_diag_at(d, 0, 0, "file contains a NUL byte");
    if (!yaml_parser_initialize(&st.parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&st.parser, (const unsigned char *) buf, len);
    r = yt_document(&st, &root);
    if (r >= 0 && root)
        r = yt_tail(&st);
    if (r >= 0 && !root) {
        yaml_event_t ev = {.start_mark = {.line = 0, .column = 0}};
        r = yt_node_new(&st, VCSIM_NODE_MAP, &ev, &root);
    }
    yaml_parser_delete(&st.parser);
    if (r < 0) {
        vcsim_node_free(root);
        return r;
    }
    *ret = root;
    return 0;
}

int vcsim_file_read(const char *path, struct vcsim_diag *d, char **ret, size_t *ret_len)
{
    struct stat sb;
    char *buf;
    ssize_t n;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vcsim_diag_at(d, 0, 0, "cannot open: %s", strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        r = vcsim_diag_at(d, 0, 0, "not a regular file");
    else if ((uint64_t) sb.st_size > VCSIM_YAML_FILE_MAX)
        r = vcsim_diag_at(d, 0, 0, "file larger than %u bytes", VCSIM_YAML_FILE_MAX);
    buf = r < 0 ? NULL : malloc((size_t) sb.st_size + 1);
    if (r >= 0 && !buf)
        r = -ENOMEM;
    n = r < 0 ? 0 : read(fd, buf, (size_t) sb.st_size + 1);
    if (r >= 0 && (n < 0 || n > sb.st_size))
        r = vcsim_diag_at(d, 0, 0, "cannot read: %s", n < 0 ? strerror(errno) : "file grew");
    (void) close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = (size_t) n;
    return 0;
}

int vcsim_yaml_load(const char *path, struct vcsim_diag *d, struct vcsim_node **ret)
{
    char *buf = NULL;
    size_t len = 0;
    int r;

    r = vcsim_file_read(path, d, &buf, &len);
    if (r < 0)
        return r;
    r = vcsim_yaml_parse(buf, len, d, ret);
    free(buf);
    return r;
}

/* --- building and writing ------------------------------------------------------------------ */

struct vcsim_node *vcsim_node_new(enum vcsim_node_kind kind, const char *text, bool plain)
{
    struct vcsim_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->kind = kind;
    n->plain = plain;
    if (kind == VCSIM_NODE_SCALAR) {
        n->len = strlen(text ? text : "");
        n->text = strdup(text ? text : "");
        if (!n->text) {
            free(n);
            return NULL;
        }
    }
    return n;
}

int vcsim_node_append(struct vcsim_node *parent, struct vcsim_node *child)
{
    struct vcsim_node **v;

    if (!child)
        return -ENOMEM;
    v = realloc(parent->items, (parent->n + 1) * sizeof(*v));
    if (!v) {
        vcsim_node_free(child);
        return -ENOMEM;
    }
    parent->items = v;
    v[parent->n++] = child;
    return 0;
}

int vcsim_node_put(struct vcsim_node *map, const char *key, struct vcsim_node *value)
{
    int r;

    if (!value)
        return -ENOMEM;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->text, key) == 0) {
            vcsim_node_free(map->items[i + 1]);
            map->items[i + 1] = value;
            return 0;
        }
    r = vcsim_node_append(map, vcsim_node_new(VCSIM_NODE_SCALAR, key, true));
    if (r < 0) {
        vcsim_node_free(value);
        return r;
    }
    return vcsim_node_append(map, value);
}

struct vcsim_node *vcsim_node_copy(const struct vcsim_node *node)
{
    struct vcsim_node *c;

    if (!node)
        return NULL;
    c = vcsim_node_new(node->kind, node->text, node->plain);
    if (!c)
        return NULL;
    c->line = node->line;
    c->col = node->col;
    for (size_t i = 0; i < node->n; i++)
        if (vcsim_node_append(c, vcsim_node_copy(node->items[i])) < 0) {
            vcsim_node_free(c);
            return NULL;
        }
    return c;
}

static int yt_write(void *data, unsigned char *buf, size_t len)
{
    vcsim_buf_add(data, (const char *) buf, len);
    return 1;
}

static int yt_emit_node(yaml_emitter_t *em, const struct vcsim_node *n, unsigned depth)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
    int ok;

    if (depth > VCSIM_YAML_DEPTH_MAX)
        return -EINVAL;
    if (n->kind == VCSIM_NODE_SCALAR) {
        if (!n->plain)
            style = memchr(n->text, '\n', n->len) ? YAML_LITERAL_SCALAR_STYLE
                                                  : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) n->text, (int) n->len,
                                          n->plain, !n->plain, style);
        return ok && yaml_emitter_emit(em, &ev) ? 0 : -ENOMEM;
    }
    ok = n->kind == VCSIM_NODE_MAP
             ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
             : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok || !yaml_emitter_emit(em, &ev))
        return -ENOMEM;
    for (size_t i = 0; i < n->n; i++)
        if (yt_emit_node(em, n->items[i], depth + 1) < 0)
            return -ENOMEM;
    ok = n->kind == VCSIM_NODE_MAP ? yaml_mapping_end_event_initialize(&ev)
                                   : yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev) ? 0 : -ENOMEM;
}

int vcsim_node_emit(const struct vcsim_node *root, struct vcsim_buf *out)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    int r = -ENOMEM;

    if (!yaml_emitter_initialize(&em))
        return -ENOMEM;
    yaml_emitter_set_output(&em, yt_write, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 100);
    if (yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
        yaml_emitter_emit(&em, &ev) &&
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
        yaml_emitter_emit(&em, &ev) && yt_emit_node(&em, root, 0) >= 0 &&
        yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
        yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
        yaml_emitter_flush(&em))
        r = out->oom ? -ENOMEM : 0;
    yaml_emitter_delete(&em);
    return r;
}
