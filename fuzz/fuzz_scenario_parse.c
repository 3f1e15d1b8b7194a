/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the scenario parser (YAML text to a scenario) from a buffer; a scenario that parses
 * is freed again. */
#include "fuzz_common.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcsim_diag d = {.path = "fuzz.yaml"};
    struct vcsim_scenario *s = NULL;

    if (vcsim_scenario_parse("fuzz.yaml", (const char *) data, size, &d, &s) == 0) {
        FZ_ASSERT(s);
        vcsim_scenario_free(s);
    }
    return 0;
}
