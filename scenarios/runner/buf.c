/* SPDX-License-Identifier: Apache-2.0 */
/* Growable text buffers with JSON and XML escaping, for the runner's reports and traces. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static bool buf_reserve(struct vcsim_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->oom || b->truncated)
        return false;
    if (more > VCSIM_BUF_MAX - b->len - 1) {
        b->truncated = true;
        return false;
    }
    while (cap < b->len + more + 1)
        cap *= 2;
    if (cap == b->cap)
        return true;
    p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void vcsim_buf_add(struct vcsim_buf *b, const char *s, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void vcsim_buf_printf(struct vcsim_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t) n))
        return;
    va_start(ap, fmt);
    (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
}

void vcsim_buf_json_str(struct vcsim_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char esc[7];

    vcsim_buf_add(b, "\"", 1);
    for (size_t i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            vcsim_buf_add(b, esc, 2);
        } else if (c == '\n') {
            vcsim_buf_add(b, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            vcsim_buf_add(b, esc, 6);
        } else {
            vcsim_buf_add(b, (const char *) &s[i], 1);
        }
    }
    vcsim_buf_add(b, "\"", 1);
}

void vcsim_buf_xml(struct vcsim_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            vcsim_buf_add(b, "&lt;", 4);
            break;
        case '>':
            vcsim_buf_add(b, "&gt;", 4);
            break;
        case '&':
            vcsim_buf_add(b, "&amp;", 5);
            break;
        case '"':
            vcsim_buf_add(b, "&quot;", 6);
            break;
        case '\'':
            vcsim_buf_add(b, "&apos;", 6);
            break;
        default:
            /* XML 1.0 has no escape for control characters other than tab, LF, CR. */
            if ((unsigned char) *s >= 0x20 || *s == '\t' || *s == '\n' || *s == '\r')
                vcsim_buf_add(b, s, 1);
        }
    }
}

char *vcsim_buf_steal(struct vcsim_buf *b)
{
    char *p = b->len ? b->data : NULL;

    if (!p)
        free(b->data);
    *b = (struct vcsim_buf){0};
    return p;
}

void vcsim_buf_clear(struct vcsim_buf *b)
{
    free(b->data);
    *b = (struct vcsim_buf){0};
}
