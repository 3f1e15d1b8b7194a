/* SPDX-License-Identifier: Apache-2.0 */
/* A real-world service of the runner: the host's monotonic clock, read only to report how long
 * runs took in wall time (and so the virtual:wall ratio). Nothing a world sees comes from here. */
#include <time.h>

#include "wall.h"

double vcsim_wall_seconds(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
