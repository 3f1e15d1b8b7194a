/* SPDX-License-Identifier: Apache-2.0 */
/* A small YAML document tree (maps, sequences, scalars with their source positions) loaded with
 * libyaml, bounded in size, depth and node count; anchors and aliases are refused, so a hostile
 * file cannot expand (billion laughs). Errors are "FILE:LINE:COL: message". */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define VCSIM_YAML_FILE_MAX  (1u << 20) /* largest scenario file */
#define VCSIM_YAML_DEPTH_MAX 64u        /* deepest nesting */
#define VCSIM_YAML_NODE_MAX  200000u    /* most nodes in one document */
#define VCSIM_DIAG_MAX       1024u      /* longest error message */

enum vcsim_node_kind {
    VCSIM_NODE_SCALAR, /* text */
    VCSIM_NODE_SEQ,    /* list of nodes */
    VCSIM_NODE_MAP,    /* key/value pairs, keys are scalars */
};

struct vcsim_node {
    enum vcsim_node_kind kind; /* what it is */
    bool plain;                /* scalar written without quotes or block style */
    char *text;                /* scalar text (NUL-terminated), NULL otherwise */
    size_t len;                /* bytes in text */
    struct vcsim_node **items; /* seq: the items; map: key, value, key, value, ... */
    size_t n;                  /* entries in items */
    unsigned line;             /* 1-based source line */
    unsigned col;              /* 1-based source column */
};

/* Where errors are written: the file's name and the message of the first error. */
struct vcsim_diag {
    const char *path;         /* file name for messages (borrowed) */
    char msg[VCSIM_DIAG_MAX]; /* "FILE:LINE:COL: message" */
};

/* Records "path:line:col: message" in d (line 0: "path: message") and returns -EINVAL. */
int vcsim_diag_at(struct vcsim_diag *d, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same at node's position. */
int vcsim_diag_node(struct vcsim_diag *d, const struct vcsim_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses one YAML document from buf. 0 and *ret (free with vcsim_node_free), or -EINVAL with d
 * filled; -ENOMEM. An empty document gives an empty map. */
int vcsim_yaml_parse(const char *buf, size_t len, struct vcsim_diag *d, struct vcsim_node **ret);
/* Reads a regular file of at most VCSIM_YAML_FILE_MAX bytes into a NUL-terminated buffer
 * (*ret freed with free). 0, or -EINVAL with d filled, -ENOMEM. */
int vcsim_file_read(const char *path, struct vcsim_diag *d, char **ret, size_t *ret_len);
/* Reads and parses a file of at most VCSIM_YAML_FILE_MAX bytes. */
int vcsim_yaml_load(const char *path, struct vcsim_diag *d, struct vcsim_node **ret);
void vcsim_node_free(struct vcsim_node *node); /* NULL-safe */

/* A new node: a scalar with text (plain: unquoted), or an empty map or list. NULL on ENOMEM. */
struct vcsim_node *vcsim_node_new(enum vcsim_node_kind kind, const char *text, bool plain);
/* Appends child (owned from now on, freed on failure) to a list or map. 0 or -ENOMEM (also for
 * a NULL child, so calls can nest). */
int vcsim_node_append(struct vcsim_node *parent, struct vcsim_node *child);
/* Sets key in map to value (owned; replaces an existing value). 0 or -ENOMEM. */
int vcsim_node_put(struct vcsim_node *map, const char *key, struct vcsim_node *value);
/* A deep copy, or NULL on ENOMEM. */
struct vcsim_node *vcsim_node_copy(const struct vcsim_node *node);
/* Writes the tree as one YAML document (block style; plain scalars stay plain, quoted ones are
 * double-quoted or literal blocks) to out. 0, -ENOMEM, -EINVAL (too deep). */
struct vcsim_buf;
int vcsim_node_emit(const struct vcsim_node *root, struct vcsim_buf *out);

/* Map lookup: the value under key, or NULL. */
const struct vcsim_node *vcsim_node_get(const struct vcsim_node *map, const char *key);
/* A human name of a node's kind ("a map"), for messages. */
const char *vcsim_node_kind_name(const struct vcsim_node *node);
