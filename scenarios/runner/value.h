/* SPDX-License-Identifier: Apache-2.0 */
/* Scalar values of the scenario format: integers, booleans, durations, sizes, errno names,
 * agent status names and signals. Each parser checks the node's type and reports a positioned
 * error; results are written only on success. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "yamltree.h"

#define VCSIM_FOREVER UINT64_MAX /* the duration "forever" */

/* Text of a scalar (quoted or plain). */
int vcsim_val_str(struct vcsim_diag *d, const struct vcsim_node *n, const char **ret);
/* A plain true/false. */
int vcsim_val_bool(struct vcsim_diag *d, const struct vcsim_node *n, bool *ret);
/* A plain integer (decimal, 0x hex, 0o octal, optional sign) within [lo, hi]. */
int vcsim_val_int(struct vcsim_diag *d, const struct vcsim_node *n, int64_t lo, int64_t hi,
                  int64_t *ret);
int vcsim_val_u64(struct vcsim_diag *d, const struct vcsim_node *n, uint64_t *ret);
/* A duration in ns ("250ms", "1.5s", "0"); "forever" only when allow_forever. */
int vcsim_val_duration(struct vcsim_diag *d, const struct vcsim_node *n, bool allow_forever,
                       uint64_t *ret);
/* A size in bytes: an integer or with KiB/MiB/GiB (also B). */
int vcsim_val_size(struct vcsim_diag *d, const struct vcsim_node *n, uint64_t *ret);
/* An errno name ("ENOENT") as a negative errno. */
int vcsim_val_errno(struct vcsim_diag *d, const struct vcsim_node *n, int *ret);
/* An agent status name ("NOT_FOUND", "NotFound") as enum vc_status. */
int vcsim_val_status(struct vcsim_diag *d, const struct vcsim_node *n, int32_t *ret);
/* A signal name ("SIGTERM", "TERM") or number. */
int vcsim_val_signal(struct vcsim_diag *d, const struct vcsim_node *n, int32_t *ret);

/* The negative errno of a name, or 0 if unknown. */
int vcsim_errno_from_name(const char *name);
/* Parses a duration from text; false if malformed. */
bool vcsim_parse_duration(const char *s, uint64_t *ret);
/* Parses a size from text; false if malformed. */
bool vcsim_parse_size(const char *s, uint64_t *ret);
/* Whether word is one of the space separated words of list (NULL: none). */
bool vcsim_word_in(const char *list, const char *word);
/* Formats ns as a short duration ("1.250s", "300ms") into buf. */
const char *vcsim_fmt_duration(uint64_t ns, char *buf, size_t len);
