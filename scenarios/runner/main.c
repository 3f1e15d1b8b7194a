/* SPDX-License-Identifier: Apache-2.0 */
/* vcsim: the scenario runner's command line; everything is in the library (vcsim_main). */
#include <stdio.h>

#include "vcsim.h"

int main(int argc, char **argv)
{
    return vcsim_main(argc, argv, stdout, stderr);
}
