/* SPDX-License-Identifier: Apache-2.0 */
/* What the integration suites share: finding the programs they start (the mockagent daemon,
 * vcctl), removing their scratch trees, reading the files those programs write. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The path of a program into buf: $env when set, else built (the build's path, compiled in;
 * may be ""), else rel below the build tree, found from this test binary's own location.
 * false when the path does not fit or the binary's location is unknown. */
bool vctest_find_bin(const char *env, const char *built, const char *rel, char *buf, size_t size);
/* Removes path and everything below it (links are removed, not followed). 0 or -errno. */
int vctest_rm_tree(const char *path);
/* Reads the file at path into buf, NUL-terminated, at most size - 1 bytes. The bytes read, or
 * -errno. */
long vctest_read_file(const char *path, char *buf, size_t size);
