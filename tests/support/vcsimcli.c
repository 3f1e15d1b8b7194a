/* SPDX-License-Identifier: Apache-2.0 */
/* vcsim's command line in process, for the runner's cmocka suites (vcsimcli.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vcsim.h"
#include "vcsimcli.h"

char *vctest_write_tmp(const char *dir, const char *name, const char *text)
{
    char *path;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

int vctest_vcsim(char **out, char **err, int argc, char **argv)
{
    size_t lo, le;
    FILE *fo = open_memstream(out, &lo), *fe = open_memstream(err, &le);
    int code;

    assert_non_null(fo);
    assert_non_null(fe);
    code = vcsim_main(argc, argv, fo, fe);
    (void) fclose(fo);
    (void) fclose(fe);
    return code;
}
