/* SPDX-License-Identifier: Apache-2.0 */
/* The runner's wall clock: it measures runs for the reports and is never fed into a world. */
#pragma once

/* Seconds on the host's monotonic clock, from an arbitrary origin. */
double vcsim_wall_seconds(void);
