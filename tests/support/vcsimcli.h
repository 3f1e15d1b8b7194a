/* SPDX-License-Identifier: Apache-2.0 */
/* What the runner's suites share to drive vcsim's command line in process: scenario files in a
 * scratch folder, and vcsim_main with its report and diagnostics captured. */
#pragma once

/* Writes text to dir/name; returns the path (free it). Fails the test on error. */
char *vctest_write_tmp(const char *dir, const char *name, const char *text);
/* Runs vcsim_main(argc, argv); *out and *err get what it printed (free them). Its exit code. */
int vctest_vcsim(char **out, char **err, int argc, char **argv);
