/* SPDX-License-Identifier: Apache-2.0 */
/* Containers: their lifecycle inside an open sandbox (create with hotplug of the resources
 * their limits need, start, stop as kata does it, delete) and the container API. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "schema.h"
#include "sandbox.h"

#define VC_LOG_TOPIC "container"

enum vc_state vc_ct_state(const struct vc_container *c)
{
    int s = vc_state_from_string(c->doc.state);
    return s < 0 ? VC_STATE_CREATING : (enum vc_state) s;
}

int vc_ct_set_state(struct vc_ctx *ctx, struct vc_container *c, enum vc_state state)
{
    char *name = vc_strdup(ctx, vc_state_to_string(state));

    if (!name)
        return vc_err(ctx, -ENOMEM, "out of memory");
    vc_free(ctx, c->doc.state);
    c->doc.state = name;
    c->dirty = true;
    vc_trace(ctx, "container", "state", "%s %s", c->doc.config.id, name);
    return 0;
}

int vc_ct_require(struct vc_ctx *ctx, struct vc_container *c, const char *op, unsigned states)
{
    enum vc_state s = vc_ct_state(c);

    if (states & VC_BIT(s))
        return 0;
    return vc_err(ctx, -EINVAL, "cannot %s: container '%s' is %s", op, c->doc.config.id,
                  vc_state_to_string(s));
}

/* Drops container i from the sandbox's arrays (not from the guest or the store). */
static void sb_drop_container(struct vc_sandbox *sb, size_t i)
{
    vc_ct_doc_clear(sb->ctx, &sb->containers[i].doc);
    memmove(&sb->containers[i], &sb->containers[i + 1],
            (sb->n_containers - i - 1) * sizeof(sb->containers[0]));
    sb->n_containers--;
    vc_free(sb->ctx, sb->doc.containers[i]);
    memmove(&sb->doc.containers[i], &sb->doc.containers[i + 1],
            (sb->doc.n_containers - i - 1) * sizeof(char *));
    sb->doc.n_containers--;
}

/* Appends a container built from cfg to the sandbox's arrays, state ready, not yet anywhere. */
static int sb_append_container(struct vc_sandbox *sb, const struct vc_container_config *cfg)
{
    struct vc_ctx *ctx = sb->ctx;
    struct vc_container *v;
    char **ids, *id;

    id = vc_strdup(ctx, cfg->id);
    v = vc_realloc(ctx, sb->containers, (sb->n_containers + 1) * sizeof(*v));
    if (v)
        sb->containers = v;
    ids = v ? vc_realloc(ctx, sb->doc.containers, (sb->doc.n_containers + 1) * sizeof(*ids)) : NULL;
    if (ids)
        sb->doc.containers = ids;
    if (!id || !ids) {
        vc_free(ctx, id);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    v = &sb->containers[sb->n_containers];
    *v = (struct vc_container){.dirty = true};
    v->doc.version = VC_PERSIST_VERSION;
    if (vc_obj_copy(ctx, &vc_schema_container_config, &v->doc.config, cfg) < 0 ||
        vc_ct_set_state(ctx, v, VC_STATE_READY) < 0) {
        vc_ct_doc_clear(ctx, &v->doc);
        vc_free(ctx, id);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    sb->n_containers++;
    sb->doc.containers[sb->doc.n_containers++] = id;
    return 0;
}

int vc_sb_add_container(struct vc_sandbox *sb, const struct vc_container_config *cfg)
{
    struct vc_ctx *ctx = sb->ctx;
    struct vc_agent *agent = NULL;
    struct vc_err_saved err;
    struct vc_container *c;
    int r;

    if (!cfg)
        return vc_err(ctx, -EINVAL, "no container config");
    r = vc_id_validate(ctx, "container", cfg->id);
    if (r < 0)
        return r;
    if (vc_sb_container(sb, cfg->id))
        return vc_err(ctx, -EEXIST, "container '%s' already exists in sandbox '%s'", cfg->id,
                      sb->id);
    r = sb_append_container(sb, cfg);
    if (r < 0)
        return r;
    c = &sb->containers[sb->n_containers - 1];
    /* Plug the vCPUs and memory the new limits need before the guest sees the container. */
    r = vc_sb_update_resources(sb);
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_sb_reap_leftover(sb, agent, cfg->id);
    if (r >= 0)
        r = vc_agent_create_container(agent, &c->doc.config, &c->doc.process);
    if (r >= 0)
        r = vc_ct_doc_save(ctx, sb->id, cfg->id, &c->doc);
    if (r >= 0) {
        c->dirty = false;
        return 0;
    }
    /* Roll back: the guest side first, then the record; plugged resources shrink back. A
     * container the guest keeps is recorded as a leftover. */
    vc_err_save(ctx, &err);
    if (c->doc.process.exec_id) {
        int rr = vc_agent_stop_container(agent, cfg->id);
        if (rr < 0 && rr != -ENOENT)
            (void) vc_sb_add_leftover(sb, cfg->id);
    }
    (void) vc_store_remove(vc_ctx_store(ctx), sb->id, cfg->id);
    sb_drop_container(sb, sb->n_containers - 1);
    (void) vc_sb_update_resources(sb);
    return vc_err_restore(ctx, &err, r);
}

int vc_sb_start_container(struct vc_sandbox *sb, struct vc_container *c)
{
    struct vc_ctx *ctx = sb->ctx;
    const char *cid = c->doc.config.id;
    struct vc_process proc = {0};
    struct vc_agent *agent = NULL;
    enum vc_state s = vc_ct_state(c);
    int r;

    r = vc_sb_require(sb, "start container", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_ct_require(ctx, c, "start", VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_STOPPED));
    if (r >= 0)
        r = vc_state_transition(ctx, "container", s, VC_STATE_RUNNING);
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    /* A stopped container was removed from the guest (or is a leftover, removed now): create
     * it there again first, and record it ready, so a failed start takes it out again. */
    if (r >= 0 && s == VC_STATE_STOPPED)
        r = vc_sb_reap_leftover(sb, agent, cid);
    if (r >= 0 && s == VC_STATE_STOPPED) {
        r = vc_agent_create_container(agent, &c->doc.config, &proc);
        if (r >= 0) {
            vc_process_clear(ctx, &c->doc.process);
            c->doc.process = proc;
            r = vc_ct_set_state(ctx, c, VC_STATE_READY);
        }
    }
    if (r < 0)
        return r;
    r = vc_agent_start_container(agent, cid);
    if (r < 0) {
        struct vc_err_saved err;
        vc_err_save(ctx, &err);
        (void) vc_sb_stop_container(sb, c, true);
        return vc_err_restore(ctx, &err, r);
    }
    c->doc.process.start_time_ns = vc_wall_now(ctx);
    return vc_ct_set_state(ctx, c, VC_STATE_RUNNING);
}

int vc_sb_stop_container(struct vc_sandbox *sb, struct vc_container *c, bool force)
{
    struct vc_ctx *ctx = sb->ctx;
    const char *cid = c->doc.config.id;
    enum vc_state s = vc_ct_state(c);
    struct vc_agent *agent = NULL;
    int32_t status;
    int r, err;

    if (s == VC_STATE_STOPPED)
        return 0;
    r = vc_state_transition(ctx, "container", s, VC_STATE_STOPPED);
    if (r < 0 && !force)
        return r;
    r = vc_sb_agent(sb, &agent);
    if (r < 0 && !force)
        return r;
    if (r >= 0 && (s == VC_STATE_RUNNING || s == VC_STATE_PAUSED)) {
        /* kata: SIGKILL to every process of the container (ESRCH is success), then wait. */
        r = vc_agent_signal_process(agent, cid, "", SIGKILL, true);
        if (r == -ESRCH)
            r = 0;
        if (r < 0 && !force)
            return r;
        /* kata ignores this wait's result: the init may have been waited for already (the
         * agent then no longer knows it), and RemoveContainer is what must succeed. */
        if (r >= 0 && vc_agent_wait_process(agent, cid, cid, &status) < 0)
            vc_err_clear(ctx);
    }
    /* Killed (or never started), it is stopped on record whatever RemoveContainer answers. A
     * guest that did not confirm the removal (an error, a lost reply, no agent under force) may
     * still hold it: its id is kept as a leftover. Only a plain stop reports the error. */
    err = sb->agent ? vc_agent_stop_container(sb->agent, cid) : -ENOTCONN;
    if (err < 0 && err != -ENOENT) {
        r = vc_sb_add_leftover(sb, cid);
        if (r < 0)
            return r;
    } else {
        vc_sb_drop_leftover(sb, cid);
    }
    c->doc.paused_by_sandbox = false;
    r = vc_ct_set_state(ctx, c, VC_STATE_STOPPED);
    if (r < 0)
        return r;
    return err < 0 && !force ? err : 0;
}

int vc_sb_delete_container(struct vc_sandbox *sb, struct vc_container *c)
{
    struct vc_ctx *ctx = sb->ctx;
    size_t i = (size_t) (c - sb->containers);
    struct vc_agent *agent = NULL;
    int r;

    /* A ready or paused container still exists in the guest: it goes only once the guest has
     * removed it (or does not know it), or the record would hide what the guest runs. */
    if (vc_ct_state(c) != VC_STATE_STOPPED) {
        r = vc_sb_agent(sb, &agent);
        if (r < 0)
            return r;
        r = vc_agent_stop_container(agent, c->doc.config.id);
        if (r < 0 && r != -ENOENT)
            return r;
        vc_sb_drop_leftover(sb, c->doc.config.id);
    }
    r = vc_store_remove(vc_ctx_store(ctx), sb->id, c->doc.config.id);
    if (r < 0 && r != -ENOENT)
        return r;
    sb_drop_container(sb, i);
    if (vc_sb_state(sb) == VC_STATE_READY || vc_sb_state(sb) == VC_STATE_RUNNING)
        (void) vc_sb_update_resources(sb);
    return 0;
}

void vc_sb_forget_container(struct vc_sandbox *sb, struct vc_container *c)
{
    size_t i = (size_t) (c - sb->containers);

    (void) vc_store_remove(vc_ctx_store(sb->ctx), sb->id, c->doc.config.id);
    sb_drop_container(sb, i);
}

/* --- the API ------------------------------------------------------------------------------ */

/* Opens the sandbox and finds the container: the start of every container call. */
static int ct_open(struct vc_ctx *ctx, const char *sid, const char *cid, bool exclusive,
                   struct vc_sandbox **ret_sb, struct vc_container **ret_c)
{
    struct vc_sandbox *sb;
    int r;

    r = vc_id_validate(ctx, "container", cid);
    if (r >= 0)
        r = vc_sb_open(ctx, sid, exclusive, &sb);
    if (r < 0)
        return r;
    r = vc_sb_find_container(sb, cid, ret_c);
    if (r < 0) {
        vc_sb_free(sb);
        return r;
    }
    *ret_sb = sb;
    return 0;
}

int vc_container_create(struct vc_ctx *ctx, const char *sandbox_id,
                        const struct vc_container_config *cfg)
{
    struct vc_sandbox *sb;
    int r;

    r = vc_sb_open(ctx, sandbox_id, true, &sb);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, "create container", VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_sb_add_container(sb, cfg);
    return vc_sb_finish(sb, r);
}

int vc_container_start(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    int r;

    r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_sb_start_container(sb, c));
}

int vc_container_stop(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      bool force)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    int r;

    r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    return vc_sb_finish(sb, vc_sb_stop_container(sb, c, force));
}

int vc_container_delete(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    int r;

    r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    r = vc_ct_require(ctx, c, "delete", VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_STOPPED));
    if (r >= 0)
        r = vc_sb_delete_container(sb, c);
    return vc_sb_finish(sb, r);
}

/* A fresh exec id: 16 hex digits from the context's generator. */
static char *ct_new_exec_id(struct vc_ctx *ctx)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = vc_random(ctx);
    char *id = vc_malloc(ctx, 17);

    if (!id)
        return NULL;
    for (int i = 0; i < 16; i++, v >>= 4)
        id[i] = hex[v & 15];
    id[16] = '\0';
    return id;
}

static int ct_record_exec(struct vc_ctx *ctx, struct vc_container *c, const struct vc_process *p)
{
    struct vc_process *v;

    v = vc_realloc(ctx, c->doc.execs, (c->doc.n_execs + 1) * sizeof(*v));
    if (!v)
        return vc_err(ctx, -ENOMEM, "out of memory");
    c->doc.execs = v;
    if (vc_obj_copy(ctx, &vc_schema_process, &v[c->doc.n_execs], p) < 0)
        return vc_err(ctx, -ENOMEM, "out of memory");
    c->doc.n_execs++;
    c->dirty = true;
    return 0;
}

int vc_container_enter(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       const char *exec_id, const struct vc_process_config *cmd,
                       struct vc_process *ret)
{
    struct vc_process proc = {0};
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    char *id = NULL;
    int r;

    if (!cmd || !cmd->n_args || !ret)
        return vc_err(ctx, -EINVAL, "exec needs a command");
    r = exec_id ? vc_id_validate(ctx, "exec", exec_id) : 0;
    if (r >= 0)
        r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, "enter container", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_ct_require(ctx, c, "enter", VC_CT_ALIVE);
    if (r >= 0 && !exec_id && !(exec_id = id = ct_new_exec_id(ctx)))
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_exec(agent, container_id, exec_id, cmd, &proc);
    if (r >= 0 && !proc.exec_id && !(proc.exec_id = vc_strdup(ctx, exec_id)))
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r >= 0) {
        proc.start_time_ns = vc_wall_now(ctx);
        r = ct_record_exec(ctx, c, &proc);
    }
    vc_free(ctx, id);
    r = vc_sb_finish(sb, r);
    if (r < 0) {
        vc_process_clear(ctx, &proc);
        return r;
    }
    *ret = proc;
    return 0;
}

int vc_container_status(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                        struct vc_container_status **ret)
{
    struct vc_sandbox_status *st = NULL;
    int r;

    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = vc_id_validate(ctx, "container", container_id);
    if (r >= 0)
        r = vc_sandbox_status(ctx, sandbox_id, &st);
    if (r < 0)
        return r;
    for (size_t i = 0; i < st->n_containers; i++) {
        if (strcmp(st->containers[i].id, container_id) != 0)
            continue;
        *ret = vc_new0(ctx, struct vc_container_status, 1);
        if (!*ret) {
            vc_sandbox_status_free(ctx, st);
            return vc_err(ctx, -ENOMEM, "out of memory");
        }
        **ret = st->containers[i];
        st->containers[i] = (struct vc_container_status){0};
        vc_sandbox_status_free(ctx, st);
        return 0;
    }
    vc_sandbox_status_free(ctx, st);
    return vc_err(ctx, -ENOENT, "container '%s' does not exist in sandbox '%s'", container_id,
                  sandbox_id);
}

int vc_container_kill(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                      int signal, bool all)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    r = ct_open(ctx, sandbox_id, container_id, false, &sb, &c);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, "kill container", VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_ct_require(ctx, c, "kill", VC_CT_ALIVE | VC_BIT(VC_STATE_PAUSED));
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_kill_container(agent, container_id, signal, all);
    return vc_sb_finish(sb, r);
}

int vc_container_process_list(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                              const struct vc_ps_options *opts, char **ret_output)
{
    static char *const default_args[] = {"-ef"};
    struct vc_ps_options o = {.format = "table", .args = (char **) default_args, .n_args = 1};
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (opts && opts->format)
        o.format = opts->format;
    if (opts && opts->n_args) {
        o.args = opts->args;
        o.n_args = opts->n_args;
    }
    if (strcmp(o.format, "json") != 0 && strcmp(o.format, "table") != 0)
        return vc_err(ctx, -EINVAL, "invalid ps format '%s': expected json or table", o.format);
    if (!ret_output)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = ct_open(ctx, sandbox_id, container_id, false, &sb, &c);
    if (r < 0)
        return r;
    r = vc_ct_require(ctx, c, "list processes", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_process_list_container(agent, container_id, &o, ret_output);
    return vc_sb_finish(sb, r);
}

int vc_container_update(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                        const struct vc_resources *res)
{
    struct vc_resources old;
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!res)
        return vc_err(ctx, -EINVAL, "no resources");
    r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, "update container", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_ct_require(ctx, c, "update", VC_CT_ALIVE);
    if (r < 0)
        return vc_sb_finish(sb, r);
    old = c->doc.config.resources;
    c->doc.config.resources = *res;
    c->dirty = true;
    r = vc_sb_update_resources(sb);
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_update_container(agent, container_id, res);
    if (r < 0)
        c->doc.config.resources = old;
    return vc_sb_finish(sb, r);
}

int vc_container_stats(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                       struct vc_container_stats *ret)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    if (!ret)
        return vc_err(ctx, -EINVAL, "no result pointer");
    r = ct_open(ctx, sandbox_id, container_id, false, &sb, &c);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, "get container stats", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = vc_agent_stats_container(agent, container_id, ret);
    return vc_sb_finish(sb, r);
}

static int ct_toggle_pause(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id,
                           bool pause)
{
    struct vc_container *c;
    struct vc_sandbox *sb;
    struct vc_agent *agent = NULL;
    int r;

    r = ct_open(ctx, sandbox_id, container_id, true, &sb, &c);
    if (r < 0)
        return r;
    r = vc_sb_require(sb, pause ? "pause container" : "resume container", VC_BIT(VC_STATE_RUNNING));
    if (r >= 0)
        r = vc_ct_require(ctx, c, pause ? "pause" : "resume",
                          VC_BIT(pause ? VC_STATE_RUNNING : VC_STATE_PAUSED));
    if (r >= 0)
        r = vc_sb_agent(sb, &agent);
    if (r >= 0)
        r = pause ? vc_agent_pause_container(agent, container_id)
                  : vc_agent_resume_container(agent, container_id);
    if (r >= 0) {
        c->doc.paused_by_sandbox = false;
        r = vc_ct_set_state(ctx, c, pause ? VC_STATE_PAUSED : VC_STATE_RUNNING);
    }
    return vc_sb_finish(sb, r);
}

int vc_container_pause(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id)
{
    return ct_toggle_pause(ctx, sandbox_id, container_id, true);
}

int vc_container_resume(struct vc_ctx *ctx, const char *sandbox_id, const char *container_id)
{
    return ct_toggle_pause(ctx, sandbox_id, container_id, false);
}
