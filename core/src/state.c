/* SPDX-License-Identifier: Apache-2.0 */
/* The state machine shared by sandboxes and containers (kata's types.StateString and
 * validTransition) and the names of states and device types. */
#include <errno.h>
#include <string.h>

#include <vc/vc.h>

static const char *const state_names[VC_STATE_LAST] = {
    [VC_STATE_CREATING] = "creating", [VC_STATE_READY] = "ready",
    [VC_STATE_RUNNING] = "running",   [VC_STATE_PAUSED] = "paused",
    [VC_STATE_STOPPED] = "stopped",
};

const char *vc_state_to_string(enum vc_state state)
{
    return (unsigned) state < VC_STATE_LAST ? state_names[state] : "invalid";
}

int vc_state_from_string(const char *name)
{
    for (int i = VC_STATE_CREATING; i < VC_STATE_LAST; i++)
        if (name && strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

bool vc_state_valid(enum vc_state state)
{
    return state > VC_STATE_CREATING && state < VC_STATE_LAST;
}

int vc_state_transition(struct vc_ctx *ctx, const char *what, enum vc_state from, enum vc_state to)
{
    /* allowed[from] is the set of states from may move to. */
    static const unsigned allowed[VC_STATE_LAST] = {
        [VC_STATE_READY] = 1u << VC_STATE_RUNNING | 1u << VC_STATE_STOPPED,
        [VC_STATE_RUNNING] = 1u << VC_STATE_PAUSED | 1u << VC_STATE_STOPPED,
        [VC_STATE_PAUSED] = 1u << VC_STATE_RUNNING | 1u << VC_STATE_STOPPED,
        [VC_STATE_STOPPED] = 1u << VC_STATE_RUNNING,
    };

    if (!vc_state_valid(from))
        return vc_err(ctx, -EINVAL, "%s is in invalid state '%s'", what, vc_state_to_string(from));
    if (!vc_state_valid(to) || !(allowed[from] & (1u << to)))
        return vc_err(ctx, -EINVAL, "%s cannot move from '%s' to '%s'", what,
                      vc_state_to_string(from), vc_state_to_string(to));
    return 0;
}

const char *vc_device_type_to_string(enum vc_device_type type)
{
    static const char *const names[VC_DEVICE_TYPE_LAST] = {
        [VC_DEVICE_CPU] = "cpu", [VC_DEVICE_MEMORY] = "memory", [VC_DEVICE_BLOCK] = "block",
        [VC_DEVICE_NET] = "net", [VC_DEVICE_VFIO] = "vfio",
    };

    return (unsigned) type < VC_DEVICE_TYPE_LAST ? names[type] : "invalid";
}
