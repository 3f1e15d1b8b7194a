/* SPDX-License-Identifier: Apache-2.0 */
/* Locating the programs the integration suites start, and their file chores (tool.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

bool vctest_find_bin(const char *env, const char *built, const char *rel, char *buf, size_t size)
{
    const char *e = getenv(env);
    char self[PATH_MAX], *slash;
    ssize_t n;
    int len;

    if (e && *e)
        len = snprintf(buf, size, "%s", e);
    else if (built && built[0])
        len = snprintf(buf, size, "%s", built);
    else {
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            return false;
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (!slash)
            return false;
        *slash = '\0';
        len = snprintf(buf, size, "%s/../%s", self, rel);
    }
    return len > 0 && (size_t) len < size;
}

static int tool_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path) < 0 ? -errno : 0;
}

int vctest_rm_tree(const char *path)
{
    int r = nftw(path, tool_rm_entry, 8, FTW_DEPTH | FTW_PHYS);

    return r < 0 ? -errno : r;
}

long vctest_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n = 0;

    if (fd < 0 || size == 0) {
        if (fd >= 0)
            (void) close(fd);
        return fd < 0 ? -errno : -EINVAL;
    }
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t) n;
    buf[len] = '\0';
    (void) close(fd);
    return n < 0 ? -EIO : (long) len;
}
