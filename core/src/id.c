/* SPDX-License-Identifier: Apache-2.0 */
/* Id validation (runc's rule): an id becomes a path component, so only [A-Za-z0-9_+.-],
 * 1..VC_ID_MAX bytes, and never "." or "..". */
#include <errno.h>
#include <string.h>

#include <vc/vc.h>

int vc_id_validate(struct vc_ctx *ctx, const char *what, const char *id)
{
    size_t len;

    if (!id || !*id)
        return vc_err(ctx, -EINVAL, "%s id is empty", what);
    len = strnlen(id, VC_ID_MAX + 1);
    if (len > VC_ID_MAX)
        return vc_err(ctx, -EINVAL, "%s id is longer than %d bytes", what, VC_ID_MAX);
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return vc_err(ctx, -EINVAL, "%s id '%s' is not allowed", what, id);
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.'))
            return vc_err(ctx, -EINVAL, "%s id '%s' has an invalid character at %zu", what, id, i);
    }
    return 0;
}
