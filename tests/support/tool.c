/* SPDX-License-Identifier: Apache-2.0 */
/* Locating the programs the integration suites start (tool.h). */
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
