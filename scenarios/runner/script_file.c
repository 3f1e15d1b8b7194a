/* SPDX-License-Identifier: Apache-2.0 */
/* A guest script file: a scenario's `guest:` section read through the scenario parser, with a
 * do-nothing step appended when the file has none (the parser wants steps). Appending keeps
 * every line and column of the file where it was, so messages point into the file. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "script_file.h"

static const char sf_no_steps[] = "\nsteps: [{advance: 0s}]\n";

/* What the file's top level holds: 0, or -EINVAL with d filled. */
static int sf_check(const char *buf, size_t len, struct vcsim_diag *d, bool *ret_steps)
{
    struct vcsim_node *root = NULL;
    int r = vcsim_yaml_parse(buf, len, d, &root);

    if (r < 0)
        return r;
    if (root->kind != VCSIM_NODE_MAP)
        r = vcsim_diag_node(d, root, "a guest script must be a map, got %s",
                            vcsim_node_kind_name(root));
    else if (!vcsim_node_get(root, "guest"))
        r = vcsim_diag_node(d, root, "a guest script needs a 'guest' section");
    else
        *ret_steps = vcsim_node_get(root, "steps") != NULL;
    vcsim_node_free(root);
    return r;
}

int vcsim_script_load(const char *path, struct vcsim_diag *d, struct vcsim_scenario **ret)
{
    char *buf = NULL, *text;
    bool steps = false;
    size_t len;
    int r;

    d->path = path;
    r = vcsim_file_read(path, d, &buf, &len);
    if (r >= 0)
        r = sf_check(buf, len, d, &steps);
    if (r < 0 || steps) {
        if (r >= 0)
            r = vcsim_scenario_parse(path, buf, len, d, ret);
        free(buf);
        return r;
    }
    text = malloc(len + sizeof(sf_no_steps));
    if (!text) {
        free(buf);
        (void) vcsim_diag_at(d, 0, 0, "out of memory");
        return -ENOMEM;
    }
    memcpy(text, buf, len);
    memcpy(text + len, sf_no_steps, sizeof(sf_no_steps));
    free(buf);
    r = vcsim_scenario_parse(path, text, len + sizeof(sf_no_steps) - 1, d, ret);
    free(text);
    return r;
}
