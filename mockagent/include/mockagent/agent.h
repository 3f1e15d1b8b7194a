/* SPDX-License-Identifier: Apache-2.0 */
/* The in-process front end of the mock agent: every vc_agent_ops member served by the guest
 * model, with no wire. Register with vc_ctx_register_agent(ctx, &mockagent_ops, host) where host
 * is a struct magent_host; the kind name is "mock". Calls find their guest by the agent URL the
 * core sets (the hypervisor's endpoint); each call costs one RPC round trip of virtual time, and
 * a call the guest cannot answer yet (WaitProcess, GetOOMEvent, a read with no output, a delayed
 * or hung reply, a paused VM) runs the context's loop until it can, or until the call's deadline
 * as kata sets it (Check 30 s, CreateContainer the config's timeout or 60 s, WaitProcess,
 * GetOOMEvent and stdio reads none, everything else 60 s), which fails with -ETIMEDOUT. Status
 * codes become errnos through vc_status_to_errno. A guest that halted answers -ECONNRESET. */
#pragma once

#include <vc/agent.h>

extern const struct vc_agent_ops mockagent_ops;
