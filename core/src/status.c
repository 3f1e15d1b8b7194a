/* SPDX-License-Identifier: Apache-2.0 */
/* Agent status codes to and from errnos (see vc/status.h): the single place they are mapped. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <vc/status.h>

struct status_map {
    const char *name; /* canonical name */
    int err;          /* errno it becomes (positive) */
};

static const struct status_map status_table[VC_STATUS_LAST] = {
    [VC_STATUS_OK] = {"OK", 0},
    [VC_STATUS_CANCELLED] = {"CANCELLED", ECANCELED},
    [VC_STATUS_UNKNOWN] = {"UNKNOWN", EIO},
    [VC_STATUS_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", EINVAL},
    [VC_STATUS_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", ETIMEDOUT},
    [VC_STATUS_NOT_FOUND] = {"NOT_FOUND", ENOENT},
    [VC_STATUS_ALREADY_EXISTS] = {"ALREADY_EXISTS", EEXIST},
    [VC_STATUS_PERMISSION_DENIED] = {"PERMISSION_DENIED", EACCES},
    [VC_STATUS_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", ENOSPC},
    [VC_STATUS_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", EBUSY},
    [VC_STATUS_ABORTED] = {"ABORTED", ECONNABORTED},
    [VC_STATUS_OUT_OF_RANGE] = {"OUT_OF_RANGE", ERANGE},
    [VC_STATUS_UNIMPLEMENTED] = {"UNIMPLEMENTED", EOPNOTSUPP},
    [VC_STATUS_INTERNAL] = {"INTERNAL", EIO},
    [VC_STATUS_UNAVAILABLE] = {"UNAVAILABLE", ECONNREFUSED},
    [VC_STATUS_DATA_LOSS] = {"DATA_LOSS", EBADMSG},
    [VC_STATUS_UNAUTHENTICATED] = {"UNAUTHENTICATED", EPERM},
};

const char *vc_status_to_string(int code)
{
    if (code < 0 || code >= VC_STATUS_LAST)
        return "UNKNOWN_STATUS";
    return status_table[code].name;
}

/* Compares name with a canonical SHOUT_CASE name, ignoring case and underscores in name, so
 * "NotFound", "not_found" and "NOT_FOUND" all match. */
static bool status_name_eq(const char *name, const char *canon)
{
    while (*name || *canon) {
        if (*name == '_') {
            name++;
            continue;
        }
        if (*canon == '_') {
            canon++;
            continue;
        }
        if (toupper((unsigned char) *name) != *canon)
            return false;
        name++;
        canon++;
    }
    return true;
}

int vc_status_from_string(const char *name)
{
    if (!name || !*name)
        return -1;
    for (int i = 0; i < VC_STATUS_LAST; i++)
        if (status_name_eq(name, status_table[i].name))
            return i;
    return -1;
}

int vc_status_to_errno(int code)
{
    if (code == VC_STATUS_OK)
        return 0;
    if (code < 0 || code >= VC_STATUS_LAST)
        return -EIO;
    return -status_table[code].err;
}

int vc_status_from_errno(int err)
{
    if (err >= 0)
        return VC_STATUS_OK;
    if (err == -EIO)
        return VC_STATUS_INTERNAL;
    for (int i = 1; i < VC_STATUS_LAST; i++)
        if (status_table[i].err == -err)
            return i;
    return VC_STATUS_INTERNAL;
}
