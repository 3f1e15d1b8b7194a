/* SPDX-License-Identifier: Apache-2.0 */
/* The kata agent ("kata"): every agent op as the RPC kata's Go runtime sends to kata-agent, over
 * ttrpc on a stream the context's network dials (the agent URL: vsock, hybrid vsock, unix...).
 * Register it with vc_ctx_register_agent(ctx, &vc_kata_agent_ops, NULL); it needs no data. */
#pragma once

#include <vc/agent.h>

extern const struct vc_agent_ops vc_kata_agent_ops;
