/* SPDX-License-Identifier: Apache-2.0 */
/* A growable text buffer for reports, captured logs and JSON lines, with a size cap so a run
 * that loops cannot exhaust memory: past the cap further text is dropped and noted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define VCSIM_BUF_MAX (256u << 20) /* most bytes one buffer holds */

struct vcsim_buf {
    char *data;     /* text, NUL-terminated when len > 0 */
    size_t len;     /* bytes used */
    size_t cap;     /* bytes allocated */
    bool truncated; /* text was dropped at the cap */
    bool oom;       /* an allocation failed */
};

void vcsim_buf_add(struct vcsim_buf *b, const char *s, size_t len);
void vcsim_buf_printf(struct vcsim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included); len bytes, NUL bytes escaped. */
void vcsim_buf_json_str(struct vcsim_buf *b, const char *s, size_t len);
/* Appends s with XML special characters escaped (and control characters dropped). */
void vcsim_buf_xml(struct vcsim_buf *b, const char *s);
/* Takes the text out (NULL if empty); the buffer is reset. */
char *vcsim_buf_steal(struct vcsim_buf *b);
void vcsim_buf_clear(struct vcsim_buf *b);
