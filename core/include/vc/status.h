/* SPDX-License-Identifier: Apache-2.0 */
/* Agent status codes: the gRPC codes kata-agent answers with over ttrpc, and the one mapping
 * between them and the negative errnos the core works with. Every agent front end (the wire
 * client, the in-process mock) converts through these functions and nowhere else. */
#pragma once

enum vc_status {
    VC_STATUS_OK = 0,
    VC_STATUS_CANCELLED = 1,
    VC_STATUS_UNKNOWN = 2,
    VC_STATUS_INVALID_ARGUMENT = 3,
    VC_STATUS_DEADLINE_EXCEEDED = 4,
    VC_STATUS_NOT_FOUND = 5,
    VC_STATUS_ALREADY_EXISTS = 6,
    VC_STATUS_PERMISSION_DENIED = 7,
    VC_STATUS_RESOURCE_EXHAUSTED = 8,
    VC_STATUS_FAILED_PRECONDITION = 9,
    VC_STATUS_ABORTED = 10,
    VC_STATUS_OUT_OF_RANGE = 11,
    VC_STATUS_UNIMPLEMENTED = 12,
    VC_STATUS_INTERNAL = 13,
    VC_STATUS_UNAVAILABLE = 14,
    VC_STATUS_DATA_LOSS = 15,
    VC_STATUS_UNAUTHENTICATED = 16,
    VC_STATUS_LAST
};

/* "NOT_FOUND"; "UNKNOWN_STATUS" for a code out of range. */
const char *vc_status_to_string(int code);
/* Accepts "NOT_FOUND", "not_found" and "NotFound"; -1 for an unknown name. */
int vc_status_from_string(const char *name);
/* The errno a status becomes (negative; 0 for OK): NOT_FOUND -ENOENT, ALREADY_EXISTS -EEXIST,
 * INVALID_ARGUMENT -EINVAL, DEADLINE_EXCEEDED -ETIMEDOUT, RESOURCE_EXHAUSTED -ENOSPC,
 * UNIMPLEMENTED -EOPNOTSUPP, UNAVAILABLE -ECONNREFUSED, PERMISSION_DENIED -EACCES, CANCELLED
 * -ECANCELED, ABORTED -ECONNABORTED, OUT_OF_RANGE -ERANGE, FAILED_PRECONDITION -EBUSY,
 * DATA_LOSS -EBADMSG, UNAUTHENTICATED -EPERM, INTERNAL/UNKNOWN and anything else -EIO. */
int vc_status_to_errno(int code);
/* The status an agent answers for a negative errno (the inverse of the above, as a server maps
 * its failures); -EIO and unmapped errnos become INTERNAL. */
int vc_status_from_errno(int err);
