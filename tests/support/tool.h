/* SPDX-License-Identifier: Apache-2.0 */
/* Where the integration suites find the programs they start (the mockagent daemon, vcctl). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The path of a program into buf: $env when set, else built (the build's path, compiled in;
 * may be ""), else rel below the build tree, found from this test binary's own location.
 * false when the path does not fit or the binary's location is unknown. */
bool vctest_find_bin(const char *env, const char *built, const char *rel, char *buf, size_t size);
