/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup for locals (GCC/Clang __attribute__((cleanup))). Hand a value out with
 * VC_TAKE_PTR / VC_TAKE_FD so the cleanup sees NULL / -1. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define VC_CLEANUP(fn) __attribute__((cleanup(fn)))

#define VC_DEFINE_CLEANUP(type, fn)                                                                \
    static inline void fn##p(type *p)                                                              \
    {                                                                                              \
        if (*p)                                                                                    \
            fn(*p);                                                                                \
    }

#define VC_TAKE_PTR(p)                                                                             \
    ({                                                                                             \
        __typeof__(p) vc_tmp_ = (p);                                                               \
        (p) = NULL;                                                                                \
        vc_tmp_;                                                                                   \
    })

#define VC_TAKE_FD(fd)                                                                             \
    ({                                                                                             \
        int vc_tmpfd_ = (fd);                                                                      \
        (fd) = -1;                                                                                 \
        vc_tmpfd_;                                                                                 \
    })

#define VC_CONTAINER_OF(ptr, type, member)                                                         \
    ((type *) (void *) ((char *) (ptr) - __builtin_offsetof(type, member)))

#define VC_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Closes fd if set, preserving errno; returns -1 to assign back: fd = vc_safe_close(fd). */
static inline int vc_safe_close(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        (void) close(fd);
        errno = saved;
    }
    return -1;
}

static inline void vc_closep(int *fd)
{
    (void) vc_safe_close(*fd);
}

#define vc_autoclose VC_CLEANUP(vc_closep)
