/* SPDX-License-Identifier: Apache-2.0 */
/* Process calls (kata's VCSandbox WaitProcess, SignalProcess, WinsizeProcess, IOStream). They
 * change nothing stored, so they hold the sandbox lock shared: a wait blocks no one. */
#include <errno.h>

#include "sandbox.h"

#define VC_LOG_TOPIC "process"

/* Opens the sandbox shared and checks the states op needs; returns the agent. */
static int proc_open(struct vc_ctx *ctx, const char *sid, const char *cid, const char *eid,
                     const char *op, unsigned sb_states, unsigned ct_states,
                     struct vc_sandbox **ret_sb, struct vc_agent **ret_agent)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    int r;

    r = vc_id_validate(ctx, "container", cid);
    if (r >= 0 && eid && *eid)
        r = vc_id_validate(ctx, "exec", eid);
    if (r >= 0)
        r = vc_sb_open(ctx, sid, false, &sb);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, op, sb_states);
    if (r >= 0)
        r = vc_sb_find_container(sb, cid, &c);
    if (r >= 0)
        r = vc_ct_require(ctx, c, op, ct_states);
    if (r >= 0)
        r = vc_sb_agent(sb, ret_agent);
    if (r < 0) {
        vc_sb_free(sb);
        return r;
    }
    *ret_sb = sb;
    return 0;
}

/* An exec id is required by every process call except a signal to all. */
static int proc_need_eid(struct vc_ctx *ctx, const char *eid)
{
    if (!eid || !*eid)
        return vc_err(ctx, -EINVAL, "exec id is empty");
    return 0;
}

int vc_process_wait(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                    const char *exec_id, int32_t *ret_status)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret_status)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = proc_need_eid(ctx, exec_id);
    if (r >= 0)
        r = proc_open(ctx, sandbox_id, container_id, exec_id, "wait process",
                      VC_BIT(VC_STATE_RUNNING), VC_CT_ALIVE, &sb, &agent);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_agent_wait_process(agent, container_id, exec_id, ret_status));
}

int vc_process_signal(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      const char *exec_id, int signal, bool all)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    r = all ? 0 : proc_need_eid(ctx, exec_id);
    if (r >= 0)
        r = proc_open(ctx, sandbox_id, container_id, exec_id, "signal process",
                      VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_RUNNING),
                      VC_CT_ALIVE | VC_BIT(VC_STATE_PAUSED), &sb, &agent);
    if (r < 0)
        return r;
    r = vc_agent_signal_process(agent, container_id, all ? "" : exec_id, signal, all);
    return vc_sb_finish(sb, r);
}

int vc_process_winsize(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       const char *exec_id, uint32_t rows, uint32_t columns)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    r = proc_need_eid(ctx, exec_id);
    if (r >= 0)
        r = proc_open(ctx, sandbox_id, container_id, exec_id, "resize terminal",
                      VC_BIT(VC_STATE_RUNNING), VC_CT_ALIVE, &sb, &agent);
    if (r < 0)
        return r;
    r = vc_agent_winsize_process(agent, container_id, exec_id, rows, columns);
    return vc_sb_finish(sb, r);
}

int vc_process_write_stdin(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, const void *buf, size_t len, size_t *ret_written)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if ((!buf && len) || !ret_written)
        return vc_err(ctx, -EINVAL, "no buffer");
    r = proc_need_eid(ctx, exec_id);
    if (r >= 0)
        r = proc_open(ctx, sandbox_id, container_id, exec_id, "write stdin",
                      VC_BIT(VC_STATE_RUNNING), VC_CT_ALIVE, &sb, &agent);
    if (r < 0)
        return r;
    r = vc_agent_write_process_stdin(agent, container_id, exec_id, buf, len, ret_written);
    return vc_sb_finish(sb, r);
}

int vc_process_close_stdin(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    r = proc_need_eid(ctx, exec_id);
    if (r >= 0)
        r = proc_open(ctx, sandbox_id, container_id, exec_id, "close stdin",
                      VC_BIT(VC_STATE_RUNNING), VC_CT_ALIVE, &sb, &agent);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_agent_close_process_stdin(agent, container_id, exec_id));
}

static int proc_read(struct vc_ctx *ctx, const char *sid, const char *cid, const char *eid,
                     bool err, void *buf, size_t len, size_t *ret_len)
{
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if ((!buf && len) || !ret_len)
        return vc_err(ctx, -EINVAL, "no buffer");
    r = proc_need_eid(ctx, eid);
    if (r >= 0)
        r = proc_open(ctx, sid, cid, eid, err ? "read stderr" : "read stdout",
                      VC_BIT(VC_STATE_RUNNING), VC_CT_ALIVE, &sb, &agent);
    if (r < 0)
        return r;
    r = err ? vc_agent_read_process_stderr(agent, cid, eid, buf, len, ret_len)
            : vc_agent_read_process_stdout(agent, cid, eid, buf, len, ret_len);
    return vc_sb_finish(sb, r);
}

int vc_process_read_stdout(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return proc_read(ctx, sandbox_id, container_id, exec_id, false, buf, len, ret_len);
}

int vc_process_read_stderr(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return proc_read(ctx, sandbox_id, container_id, exec_id, true, buf, len, ret_len);
}
