/* SPDX-License-Identifier: Apache-2.0 */
/* The in-process front end ("mock"): every vc_agent_ops member served by a magent_host guest,
 * with no wire. A call finds its guest by the agent URL's CID, costs one RPC round trip of
 * virtual time, applies the script's rules (error, delay, hang), then asks the model; while the
 * model answers "not yet" (or the VM is paused) it runs the loop until the call's deadline. A
 * guest that is not there when a call starts refuses the connection (-ECONNREFUSED, as a dial
 * to a CID nobody listens on); one that halts during a call resets it (-ECONNRESET). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <vc/agent.h>
#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/status.h>

#include <mockagent/agent.h>
#include <mockagent/host.h>

#include "cleanup.h"
#include "magent_model.h"
#include "schema.h"

#define MA_NS_PER_MS    UINT64_C(1000000)
#define MA_CHECK_MS     30000u /* kata's checkRequestTimeout */
#define MA_DEFAULT_MS   60000u /* defaultRequestTimeout */
#define MA_NO_DEADLINE  0u     /* WaitProcess, GetOOMEvent, stdio reads */
#define MA_HOSTNAME_MAX 64     /* kata cuts the hostname to this */
#define MA_DETAIL_MAX   192    /* trace detail */
#define MA_FIELD_MAX    8      /* request fields exposed to rules */
#define MA_NUM_MAX      24     /* a number as text */

struct ma_agent {
    struct vc_agent base;       /* first member: what core sees */
    struct magent_host *host;   /* the guests (borrowed registration data) */
    char *url;                  /* agent URL ("vsock://<cid>:<port>"), or NULL */
    uint32_t create_timeout_ms; /* CreateContainer deadline (0: 60 s) */
};

/* One RPC in flight. */
struct ma_call {
    struct ma_agent *a;                  /* the agent */
    const char *rpc;                     /* wire name */
    uint64_t deadline;                   /* monotonic ns; UINT64_MAX: none */
    uint32_t cid;                        /* guest CID */
    uint64_t gen;                        /* guest generation when the call started */
    struct magent_field f[MA_FIELD_MAX]; /* request fields */
    size_t n;                            /* number of f */
    char nums[MA_FIELD_MAX][MA_NUM_MAX]; /* storage for numeric fields */
};

/* The arguments of a model call (each entry uses the members it needs). */
struct ma_req {
    const char *cid;                       /* container id */
    const char *eid;                       /* exec id */
    const char *str;                       /* a string argument */
    int sig;                               /* signal */
    bool flag;                             /* all / ipv6 / cpu_only / stderr */
    uint32_t u1, u2;                       /* two numbers */
    uint64_t u64;                          /* a 64-bit number */
    const void *in;                        /* input bytes or object */
    size_t in_n;                           /* its length or count */
    void *out;                             /* output buffer or object */
    size_t out_n;                          /* its size */
    size_t *ret_n;                         /* output count */
    const struct vc_sandbox_config *sbcfg; /* CreateSandbox */
};

typedef int ma_model_fn(struct magent_guest *g, struct ma_req *q);

static struct ma_agent *ma_of(struct vc_agent *agent)
{
    return VC_CONTAINER_OF(agent, struct ma_agent, base);
}

static void ma_field(struct ma_call *c, const char *name, const char *value)
{
    if (c->n < MA_FIELD_MAX)
        c->f[c->n++] = (struct magent_field){.name = name, .value = value ? value : ""};
}

static void ma_field_u64(struct ma_call *c, const char *name, uint64_t v)
{
    char d[24], *p = d + sizeof(d);

    if (c->n >= MA_FIELD_MAX)
        return;
    *--p = '\0';
    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(c->nums[c->n], p, (size_t) (d + sizeof(d) - p));
    ma_field(c, name, c->nums[c->n]);
}

/* The request message name kata puts in "<Name>Request timed out". */
static const char *ma_request_name(const char *rpc)
{
    if (strcmp(rpc, "WriteStdin") == 0)
        return "WriteStream";
    if (strcmp(rpc, "ReadStdout") == 0 || strcmp(rpc, "ReadStderr") == 0)
        return "ReadStream";
    if (strcmp(rpc, "GetGuestDetails") == 0)
        return "GuestDetails";
    if (strcmp(rpc, "GetVolumeStats") == 0)
        return "VolumeStats";
    return rpc;
}

/* Appends s to the text of *off bytes in buf of len bytes, cut where snprintf would cut it. */
static void ma_cat(char *buf, size_t len, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (n > len - 1 - *off)
        n = len - 1 - *off;
    memcpy(buf + *off, s, n);
    *off += n;
    buf[*off] = '\0';
}

/* "name=value name=value ..." of the call's fields. */
static void ma_detail(const struct ma_call *c, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            ma_cat(buf, len, &off, " ");
        ma_cat(buf, len, &off, c->f[i].name);
        ma_cat(buf, len, &off, "=");
        ma_cat(buf, len, &off, c->f[i].value);
    }
}

static void ma_trace(const struct ma_call *c, const char *result)
{
    char detail[MA_DETAIL_MAX];

    ma_detail(c, detail, sizeof(detail));
    vc_trace(c->a->base.ctx, "agent", c->rpc, "%s -> %s", detail, result);
}

/* The guest of the call, if it is still the one the call started with. */
static struct magent_guest *ma_guest(const struct ma_call *c)
{
    struct magent_guest *g = magent_host_guest(c->a->host, c->cid);

    return g && magent_guest_generation(g) == c->gen ? g : NULL;
}

static int ma_reset(const struct ma_call *c)
{
    ma_trace(c, "ECONNRESET");
    return vc_err(c->a->base.ctx, -ECONNRESET, "agent: %s: connection reset: the vm at %s is gone",
                  c->rpc, c->a->url);
}

static int ma_timeout(const struct ma_call *c)
{
    ma_trace(c, "DEADLINE_EXCEEDED");
    return vc_err(c->a->base.ctx, -ETIMEDOUT, "%sRequest timed out", ma_request_name(c->rpc));
}

/* One loop step toward until: 0 (something ran), 1 (until reached) or a recorded error. */
static int ma_step(const struct ma_call *c, uint64_t until)
{
    struct vc_ctx *ctx = c->a->base.ctx;
    const struct vc_loop *loop = vc_ctx_loop(ctx);
    int r;

    if (!loop)
        return vc_err(ctx, -EOPNOTSUPP, "agent: %s: the context has no loop to wait on", c->rpc);
    r = loop->ops->run_once(loop->data, until);
    if (r == -ETIMEDOUT)
        return 1;
    if (r == -EDEADLK) {
        ma_trace(c, "EDEADLK");
        return vc_err(ctx, -EDEADLK,
                      "%s would wait forever: nothing left to happen in the simulation", c->rpc);
    }
    if (r < 0)
        return vc_err(ctx, r, "agent: %s: loop failed", c->rpc);
    return vc_now(ctx) >= until ? 1 : 0;
}

/* Lets virtual time pass until until (capped by the deadline), noticing a vanished guest. */
static int ma_wait_until(const struct ma_call *c, uint64_t until)
{
    struct vc_ctx *ctx = c->a->base.ctx;
    uint64_t stop = until < c->deadline ? until : c->deadline;
    int r = 0;

    while (vc_now(ctx) < stop && r == 0) {
        r = ma_step(c, stop);
        if (r < 0)
            return r;
        if (!ma_guest(c))
            return ma_reset(c);
    }
    if (until > c->deadline && vc_now(ctx) >= c->deadline)
        return ma_timeout(c);
    return 0;
}

/* Starts a call: finds the guest, pays the round trip, applies the script. */
static int ma_begin(struct ma_agent *a, struct ma_call *c, uint32_t timeout_ms)
{
    struct vc_ctx *ctx = a->base.ctx;
    const struct magent_rule *rule;
    struct magent_guest *g;
    uint32_t port;
    int r;

    c->a = a;
    c->deadline = timeout_ms ? vc_now(ctx) + (uint64_t) timeout_ms * MA_NS_PER_MS : UINT64_MAX;
    if (!a->url || magent_url_parse(a->url, &c->cid, &port) < 0)
        return vc_err(ctx, -EINVAL, "agent: %s: bad agent url '%s'", c->rpc, a->url ? a->url : "");
    g = magent_host_guest(a->host, c->cid);
    if (!g) {
        ma_trace(c, "ECONNREFUSED");
        return vc_err(ctx, -ECONNREFUSED, "no agent listening at %s", a->url);
    }
    c->gen = magent_guest_generation(g);
    r = ma_wait_until(c, vc_now(ctx) + magent_host_facts(a->host)->rpc_ns);
    if (r < 0)
        return r;
    rule = magent_host_decide(a->host, c->rpc, c->f, c->n);
    if (!rule || rule->reply == MAGENT_REPLY_OK)
        return 0;
    if (rule->reply == MAGENT_REPLY_DELAY)
        return ma_wait_until(c, vc_now(ctx) + rule->delay_ns);
    if (rule->reply == MAGENT_REPLY_HANG) {
        r = ma_wait_until(c, UINT64_MAX);
        return r < 0 ? r : ma_timeout(c);
    }
    ma_trace(c, vc_status_to_string(rule->status));
    return vc_err(ctx, vc_status_to_errno(rule->status), "agent: %s: %s: %s", c->rpc,
                  vc_status_to_string(rule->status),
                  rule->message ? rule->message : "scripted failure");
}

/* Asks the model until it answers, running the loop while it cannot yet. */
static int ma_run(struct ma_call *c, ma_model_fn *fn, struct ma_req *q)
{
    struct vc_ctx *ctx = c->a->base.ctx;
    struct magent_guest *g;
    int st, r;

    for (;;) {
        g = ma_guest(c);
        if (!g)
            return ma_reset(c);
        /* A paused VM answers nothing until it runs again. */
        magent_guest_set_out_ctx(g, ctx);
        st = magent_guest_paused(g) ? MAGENT_AGAIN : fn(g, q);
        magent_guest_set_out_ctx(g, NULL);
        if (st != MAGENT_AGAIN)
            break;
        r = ma_step(c, c->deadline);
        if (r < 0)
            return r;
        if (r == 1 && vc_now(ctx) >= c->deadline)
            return ma_timeout(c);
    }
    if (st == MAGENT_NOMEM) {
        ma_trace(c, "ENOMEM");
        return vc_err(ctx, -ENOMEM, "agent: %s: out of memory", c->rpc);
    }
    ma_trace(c, vc_status_to_string(st));
    if (st == VC_STATUS_OK)
        return 0;
    return vc_err(ctx, vc_status_to_errno(st), "agent: %s: %s: %s", c->rpc, vc_status_to_string(st),
                  magent_guest_message(g));
}

/* A whole call: begin, then the model. */
static int ma_rpc(struct ma_agent *a, struct ma_call *c, uint32_t timeout_ms, ma_model_fn *fn,
                  struct ma_req *q)
{
    int r = ma_begin(a, c, timeout_ms);

    return r < 0 ? r : ma_run(c, fn, q);
}

/* --- model adapters ----------------------------------------------------------------------------
 */

static int do_ok(struct magent_guest *g, struct ma_req *q)
{
    return VC_STATUS_OK;
}

static int do_set_policy(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_set_policy(g, q->str);
}

static int do_update_interface(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_update_interface(g, q->in, q->out);
}

static int do_update_routes(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_update_routes(g, q->in, q->in_n, q->out, q->ret_n);
}

static int do_add_arp(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_add_arp_neighbors(g, q->in, q->in_n);
}

static int do_create_sandbox(struct magent_guest *g, struct ma_req *q)
{
    const struct vc_sandbox_config *cfg = q->sbcfg;

    return magent_guest_create_sandbox(g, q->str, cfg->net.dns, cfg->net.n_dns, cfg->id);
}

static int do_destroy_sandbox(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_destroy_sandbox(g);
}

static int do_create_container(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_create_container(g, q->in, q->out);
}

static int do_start_container(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_start_container(g, q->cid);
}

static int do_remove_container(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_remove_container(g, q->cid);
}

static int do_exec(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_exec_process(g, q->cid, q->eid, q->in, q->out);
}

static int do_signal(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_signal_process(g, q->cid, q->eid, q->sig, q->flag);
}

static int do_winsize(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_tty_win_resize(g, q->cid, q->eid, q->u1, q->u2);
}

static int do_write_stdin(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_write_stdin(g, q->cid, q->eid, q->in, q->in_n, q->ret_n);
}

static int do_close_stdin(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_close_stdin(g, q->cid, q->eid);
}

static int do_read(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_read_stream(g, q->cid, q->eid, q->flag, q->out, q->out_n, q->ret_n);
}

static int do_update_container(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_update_container(g, q->cid, q->in);
}

static int do_wait(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_wait_process(g, q->cid, q->eid, q->out);
}

static int do_online(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_online_cpu_mem(g, q->u1, q->flag);
}

static int do_probe(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_mem_hotplug_by_probe(g, q->u64, q->u1, q->u2);
}

static int do_stats(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_stats_container(g, q->cid, q->out);
}

static int do_pause(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_pause_container(g, q->cid);
}

static int do_resume(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_resume_container(g, q->cid);
}

static int do_stale_mounts(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_remove_stale_virtiofs_share_mounts(g);
}

static int do_reseed(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_reseed_random(g, q->in, q->in_n);
}

static int do_list_interfaces(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_list_interfaces(g, q->out, q->ret_n);
}

static int do_ephemeral(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_update_ephemeral_mounts(g, q->in, q->in_n);
}

static int do_list_routes(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_list_routes(g, q->out, q->ret_n);
}

static int do_details(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_get_details(g, q->out);
}

static int do_date_time(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_set_date_time(g, (int64_t) q->u64, (int64_t) q->u1);
}

static int do_copy_file(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_copy_file(g, q->in);
}

static int do_add_swap(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_add_swap(g, q->in, q->in_n);
}

static int do_oom(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_get_oom_event(g, q->out);
}

static int do_metrics(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_get_metrics(g, q->out);
}

static int do_volume_stats(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_volume_stats(g, q->str, q->out);
}

static int do_resize_volume(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_resize_volume(g, q->str, q->u64);
}

static int do_get_iptables(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_get_iptables(g, q->flag, q->out, q->ret_n);
}

static int do_set_iptables(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_set_iptables(g, q->flag, q->in, q->in_n);
}

static int do_diagnostic(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_diagnostic_data(g, q->str, q->cid, q->out);
}

static int do_list_processes(struct magent_guest *g, struct ma_req *q)
{
    return magent_guest_list_processes(g, q->cid, q->str, q->out);
}

/* --- handle ------------------------------------------------------------------------------------
 */

static int ma_new(struct vc_ctx *ctx, void *data, const struct vc_agent_config *cfg,
                  struct vc_agent **ret)
{
    struct ma_agent *a;

    if (!data)
        return vc_err(ctx, -EINVAL, "agent 'mock' registered without a magent_host");
    a = vc_new0(ctx, struct ma_agent, 1);
    if (!a)
        return vc_err(ctx, -ENOMEM, "out of memory");
    *a = (struct ma_agent){
        .base = {.ops = &mockagent_ops, .ctx = ctx},
        .host = data,
        .create_timeout_ms = cfg ? cfg->create_container_timeout_ms : 0,
    };
    if (cfg && cfg->url && !(a->url = vc_strdup(ctx, cfg->url))) {
        vc_free(ctx, a);
        return vc_err(ctx, -ENOMEM, "out of memory");
    }
    *ret = &a->base;
    return 0;
}

static int ma_init(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                   const struct vc_agent_config *cfg, struct vc_agent **ret)
{
    return ma_new(ctx, data, cfg, ret);
}

static void ma_destroy(struct vc_agent *agent)
{
    struct ma_agent *a;

    if (!agent)
        return;
    a = ma_of(agent);
    vc_free(agent->ctx, a->url);
    vc_free(agent->ctx, a);
}

static int ma_set_agent_url(struct vc_agent *agent, const char *url)
{
    struct ma_agent *a = ma_of(agent);
    char *u = vc_strdup(agent->ctx, url ? url : "");

    if (!u)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    vc_free(agent->ctx, a->url);
    a->url = u;
    return 0;
}

/* The saved state: {"url": "<agent url>"}. */
struct ma_state {
    char *url; /* the agent URL, or NULL */
};

static const struct vc_field ma_state_fields[] = {
    {"url", VC_FIELD_STR, offsetof(struct ma_state, url), 0, NULL},
};
static const struct vc_schema ma_state_schema = {"mock agent state", sizeof(struct ma_state),
                                                 ma_state_fields, 1};

/* Restores the state ma_save wrote: read straight into the struct when plain, through json-c
 * otherwise (where a url that is not a string is ignored). */
static int ma_restore(struct vc_agent *agent, const char *state)
{
    struct ma_state st = {0};
    json_object *j = NULL, *url;
    int r;

    r = vc_obj_read_json(agent->ctx, &ma_state_schema, state, strlen(state), &st);
    if (r == 0 && st.url) {
        vc_free(agent->ctx, ma_of(agent)->url);
        ma_of(agent)->url = st.url;
    }
    if (r != VC_OBJ_JSON_OTHER)
        return r;
    r = vc_json_parse(agent->ctx, "mock agent state", state, strlen(state), &j);
    if (r < 0)
        return r;
    if (json_object_object_get_ex(j, "url", &url) && json_object_is_type(url, json_type_string))
        r = ma_set_agent_url(agent, json_object_get_string(url));
    json_object_put(j);
    return r;
}

static int ma_load(struct vc_ctx *ctx, void *data, const char *sandbox_id,
                   const struct vc_agent_config *cfg, const char *state, struct vc_agent **ret)
{
    struct vc_agent *agent = NULL;
    int r;

    r = ma_new(ctx, data, cfg, &agent);
    if (r < 0)
        return r;
    if (state && *state) {
        r = ma_restore(agent, state);
        if (r < 0)
            goto fail;
    }
    *ret = agent;
    return 0;
fail:
    ma_destroy(agent);
    return r;
}

/* The state as json-c's plain text of {"url": ...} (no url: {}). */
static int ma_save(struct vc_agent *agent, char **ret_state)
{
    struct ma_state st = {.url = ma_of(agent)->url};
    size_t len = vc_obj_format_json(&ma_state_schema, &st, 0, NULL, 0);
    char *s = vc_malloc(agent->ctx, len + 1);

    if (!s)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    (void) vc_obj_format_json(&ma_state_schema, &st, 0, s, len + 1);
    *ret_state = s;
    return 0;
}

static int ma_get_agent_url(struct vc_agent *agent, char **ret_url)
{
    char *u = vc_strdup(agent->ctx, ma_of(agent)->url ? ma_of(agent)->url : "");

    if (!u)
        return vc_err(agent->ctx, -ENOMEM, "out of memory");
    *ret_url = u;
    return 0;
}

static int ma_capabilities(struct vc_agent *agent, uint32_t *ret_caps)
{
    /* kata's agent capabilities: block devices, multi-queue, fs sharing. */
    *ret_caps = VC_AGENT_CAP_BLOCK_DEVICE | VC_AGENT_CAP_MULTI_QUEUE | VC_AGENT_CAP_FS_SHARING;
    return 0;
}

static bool ma_long_live_conn(struct vc_agent *agent)
{
    return false;
}

static int ma_disconnect(struct vc_agent *agent)
{
    return 0;
}

static int ma_reuse_agent(struct vc_agent *agent, struct vc_agent *other)
{
    if (!other || other->ops != &mockagent_ops)
        return vc_err(agent->ctx, -EINVAL, "agent: cannot reuse a non-mock agent");
    return ma_set_agent_url(agent, ma_of(other)->url);
}

static int ma_configure(struct vc_agent *agent, struct vc_hv *hv, const char *id,
                        const struct vc_agent_config *cfg)
{
    if (cfg)
        ma_of(agent)->create_timeout_ms = cfg->create_container_timeout_ms;
    return 0;
}

static void ma_mark_dead(struct vc_agent *agent)
{
    agent->dead = true;
}

static void ma_cleanup(struct vc_agent *agent, const char *sandbox_id)
{
}

/* --- sandbox -----------------------------------------------------------------------------------
 */

static int ma_check(struct vc_agent *agent)
{
    struct ma_call c = {.rpc = "Check"};
    struct ma_req q = {0};

    ma_field(&c, "service", "");
    return ma_rpc(ma_of(agent), &c, MA_CHECK_MS, do_ok, &q);
}

/* kata's createSandbox configures the agent only; the guest hears of the sandbox in
 * startSandbox, so the guest sees one CreateSandbox for the pair. */
static int ma_create_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    if (cfg)
        ma_of(agent)->create_timeout_ms = cfg->agent.create_container_timeout_ms;
    return 0;
}

static int ma_set_policy(struct vc_agent *agent, const char *policy)
{
    struct ma_call c = {.rpc = "SetPolicy"};
    struct ma_req q = {.str = policy};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_set_policy, &q);
}

static int ma_update_interface(struct vc_agent *agent, const struct vc_interface *iface,
                               struct vc_interface *ret)
{
    struct ma_call c = {.rpc = "UpdateInterface"};
    struct ma_req q = {.in = iface, .out = ret};

    ma_field(&c, "name", iface ? iface->name : NULL);
    ma_field(&c, "device", iface ? iface->device : NULL);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_update_interface, &q);
}

static int ma_update_routes(struct vc_agent *agent, const struct vc_route *routes, size_t n,
                            struct vc_route **ret, size_t *ret_n)
{
    struct ma_call c = {.rpc = "UpdateRoutes"};
    struct ma_req q = {.in = routes, .in_n = n, .out = ret, .ret_n = ret_n};

    ma_field_u64(&c, "count", n);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_update_routes, &q);
}

static int ma_add_arp_neighbors(struct ma_agent *a, const struct vc_arp_neighbor *v, size_t n)
{
    struct ma_call c = {.rpc = "AddARPNeighbors"};
    struct ma_req q = {.in = v, .in_n = n};

    ma_field_u64(&c, "count", n);
    return ma_rpc(a, &c, MA_DEFAULT_MS, do_add_arp, &q);
}

/* kata's setupNetworks: each interface, then the routes, then the neighbours. */
static int ma_setup_networks(struct vc_agent *agent, const struct vc_network_config *net)
{
    struct vc_interface out = {0};
    struct vc_route *routes = NULL;
    size_t n = 0;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < net->n_interfaces; i++) {
        r = ma_update_interface(agent, &net->interfaces[i], &out);
        vc_obj_clear(agent->ctx, &vc_schema_interface, &out);
    }
    if (r >= 0 && net->n_routes) {
        r = ma_update_routes(agent, net->routes, net->n_routes, &routes, &n);
        vc_obj_array_free(agent->ctx, &vc_schema_route, routes, n);
    }
    if (r >= 0 && net->n_neighbors)
        r = ma_add_arp_neighbors(ma_of(agent), net->neighbors, net->n_neighbors);
    return r;
}

static int ma_start_sandbox(struct vc_agent *agent, const struct vc_sandbox_config *cfg)
{
    char hostname[MA_HOSTNAME_MAX + 1];
    struct ma_call c = {.rpc = "CreateSandbox"};
    struct ma_req q = {.sbcfg = cfg, .str = hostname};
    int r;

    if (!cfg)
        return vc_err(agent->ctx, -EINVAL, "agent: start sandbox without a config");
    r = ma_check(agent);
    if (r >= 0 && cfg->agent.policy)
        r = ma_set_policy(agent, cfg->agent.policy);
    if (r >= 0)
        r = ma_setup_networks(agent, &cfg->net);
    if (r < 0)
        return r;
    (void) snprintf(hostname, sizeof(hostname), "%s", cfg->hostname ? cfg->hostname : "");
    ma_field(&c, "hostname", hostname);
    ma_field(&c, "sandbox_id", cfg->id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_create_sandbox, &q);
}

static int ma_stop_sandbox(struct vc_agent *agent)
{
    struct ma_call c = {.rpc = "DestroySandbox"};
    struct ma_req q = {0};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_destroy_sandbox, &q);
}

/* --- containers and processes -------------------------------------------------------------------
 */

static int ma_create_container(struct vc_agent *agent, const struct vc_container_config *cfg,
                               struct vc_process *ret)
{
    struct ma_agent *a = ma_of(agent);
    struct ma_call c = {.rpc = "CreateContainer"};
    struct vc_process proc = {0};
    struct ma_req q = {.in = cfg, .out = &proc};
    int r;

    if (!cfg || !ret)
        return vc_err(agent->ctx, -EINVAL, "agent: CreateContainer without a config");
    ma_field(&c, "container_id", cfg->id);
    ma_field(&c, "exec_id", cfg->id);
    r = ma_rpc(a, &c, a->create_timeout_ms ? a->create_timeout_ms : MA_DEFAULT_MS,
               do_create_container, &q);
    if (r < 0)
        return r;
    proc.start_time_ns = vc_wall_now(agent->ctx);
    *ret = proc;
    return 0;
}

static int ma_start_container(struct vc_agent *agent, const char *container_id)
{
    struct ma_call c = {.rpc = "StartContainer"};
    struct ma_req q = {.cid = container_id};

    ma_field(&c, "container_id", container_id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_start_container, &q);
}

static int ma_stop_container(struct vc_agent *agent, const char *container_id)
{
    struct ma_call c = {.rpc = "RemoveContainer"};
    struct ma_req q = {.cid = container_id};

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "timeout", "0");
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_remove_container, &q);
}

static int ma_exec(struct vc_agent *agent, const char *container_id, const char *exec_id,
                   const struct vc_process_config *cmd, struct vc_process *ret)
{
    struct ma_call c = {.rpc = "ExecProcess"};
    struct vc_process proc = {0};
    struct ma_req q = {.cid = container_id, .eid = exec_id, .in = cmd, .out = &proc};
    char args[MAGENT_ARGS_TEXT_MAX];
    int r;

    if (!ret)
        return vc_err(agent->ctx, -EINVAL, "agent: ExecProcess without a result");
    magent_args_text(cmd ? cmd->args : NULL, cmd ? cmd->n_args : 0, args, sizeof(args));
    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    ma_field(&c, "args", args);
    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_exec, &q);
    if (r < 0)
        return r;
    proc.start_time_ns = vc_wall_now(agent->ctx);
    *ret = proc;
    return 0;
}

static int ma_signal_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                             int signal, bool all)
{
    struct ma_call c = {.rpc = "SignalProcess"};
    struct ma_req q = {.cid = container_id, .eid = all ? "" : exec_id, .sig = signal, .flag = all};

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", q.eid);
    ma_field_u64(&c, "signal", (uint64_t) (uint32_t) signal);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_signal, &q);
}

static int ma_winsize_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                              uint32_t rows, uint32_t columns)
{
    struct ma_call c = {.rpc = "TtyWinResize"};
    struct ma_req q = {.cid = container_id, .eid = exec_id, .u1 = rows, .u2 = columns};

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    ma_field_u64(&c, "row", rows);
    ma_field_u64(&c, "column", columns);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_winsize, &q);
}

static int ma_write_process_stdin(struct vc_agent *agent, const char *container_id,
                                  const char *exec_id, const void *buf, size_t len,
                                  size_t *ret_written)
{
    struct ma_call c = {.rpc = "WriteStdin"};
    size_t n = 0;
    struct ma_req q = {.cid = container_id, .eid = exec_id, .in = buf, .in_n = len, .ret_n = &n};
    int r;

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    ma_field_u64(&c, "len", len);
    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_write_stdin, &q);
    if (r < 0)
        return r;
    *ret_written = n;
    return 0;
}

static int ma_close_process_stdin(struct vc_agent *agent, const char *container_id,
                                  const char *exec_id)
{
    struct ma_call c = {.rpc = "CloseStdin"};
    struct ma_req q = {.cid = container_id, .eid = exec_id};

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_close_stdin, &q);
}

static int ma_read(struct vc_agent *agent, const char *rpc, const char *container_id,
                   const char *exec_id, bool err, void *buf, size_t len, size_t *ret_len)
{
    struct ma_call c = {.rpc = rpc};
    size_t n = 0;
    struct ma_req q = {
        .cid = container_id, .eid = exec_id, .flag = err, .out = buf, .out_n = len, .ret_n = &n};
    int r;

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    ma_field_u64(&c, "len", len);
    r = ma_rpc(ma_of(agent), &c, MA_NO_DEADLINE, do_read, &q);
    if (r < 0)
        return r;
    *ret_len = n;
    return 0;
}

static int ma_read_process_stdout(struct vc_agent *agent, const char *container_id,
                                  const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return ma_read(agent, "ReadStdout", container_id, exec_id, false, buf, len, ret_len);
}

static int ma_read_process_stderr(struct vc_agent *agent, const char *container_id,
                                  const char *exec_id, void *buf, size_t len, size_t *ret_len)
{
    return ma_read(agent, "ReadStderr", container_id, exec_id, true, buf, len, ret_len);
}

static int ma_update_container(struct vc_agent *agent, const char *container_id,
                               const struct vc_resources *res)
{
    struct ma_call c = {.rpc = "UpdateContainer"};
    struct ma_req q = {.cid = container_id, .in = res};

    ma_field(&c, "container_id", container_id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_update_container, &q);
}

static int ma_wait_process(struct vc_agent *agent, const char *container_id, const char *exec_id,
                           int32_t *ret_status)
{
    struct ma_call c = {.rpc = "WaitProcess"};
    int32_t status = 0;
    struct ma_req q = {.cid = container_id, .eid = exec_id, .out = &status};
    int r;

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "exec_id", exec_id);
    r = ma_rpc(ma_of(agent), &c, MA_NO_DEADLINE, do_wait, &q);
    if (r < 0)
        return r;
    *ret_status = status;
    return 0;
}

static int ma_online_cpu_mem(struct vc_agent *agent, uint32_t cpus, bool cpu_only)
{
    struct ma_call c = {.rpc = "OnlineCPUMem"};
    struct ma_req q = {.u1 = cpus, .flag = cpu_only};

    ma_field(&c, "wait", "false");
    ma_field_u64(&c, "nb_cpus", cpus);
    ma_field(&c, "cpu_only", cpu_only ? "true" : "false");
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_online, &q);
}

static int ma_mem_hotplug_by_probe(struct vc_agent *agent, uint64_t addr, uint32_t size_mb,
                                   uint32_t block_size_mb)
{
    struct ma_call c = {.rpc = "MemHotplugByProbe"};
    struct ma_req q = {.u64 = addr, .u1 = size_mb, .u2 = block_size_mb};

    ma_field_u64(&c, "addr", addr);
    ma_field_u64(&c, "size_mb", size_mb);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_probe, &q);
}

static int ma_stats_container(struct vc_agent *agent, const char *container_id,
                              struct vc_container_stats *ret)
{
    struct ma_call c = {.rpc = "StatsContainer"};
    struct vc_container_stats s = {0};
    struct ma_req q = {.cid = container_id, .out = &s};
    int r;

    ma_field(&c, "container_id", container_id);
    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_stats, &q);
    if (r < 0)
        return r;
    *ret = s;
    return 0;
}

static int ma_pause_container(struct vc_agent *agent, const char *container_id)
{
    struct ma_call c = {.rpc = "PauseContainer"};
    struct ma_req q = {.cid = container_id};

    ma_field(&c, "container_id", container_id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_pause, &q);
}

static int ma_resume_container(struct vc_agent *agent, const char *container_id)
{
    struct ma_call c = {.rpc = "ResumeContainer"};
    struct ma_req q = {.cid = container_id};

    ma_field(&c, "container_id", container_id);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_resume, &q);
}

static int ma_remove_stale_virtiofs_share_mounts(struct vc_agent *agent)
{
    struct ma_call c = {.rpc = "RemoveStaleVirtiofsShareMounts"};
    struct ma_req q = {0};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_stale_mounts, &q);
}

static int ma_reseed_rng(struct vc_agent *agent, const void *data, size_t len)
{
    struct ma_call c = {.rpc = "ReseedRandomDev"};
    struct ma_req q = {.in = data, .in_n = len};

    ma_field_u64(&c, "len", len);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_reseed, &q);
}

static int ma_list_interfaces(struct vc_agent *agent, struct vc_interface **ret, size_t *ret_n)
{
    struct ma_call c = {.rpc = "ListInterfaces"};
    struct ma_req q = {.out = ret, .ret_n = ret_n};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_list_interfaces, &q);
}

static int ma_update_ephemeral_mounts(struct vc_agent *agent, const struct vc_mount *mounts,
                                      size_t n)
{
    struct ma_call c = {.rpc = "UpdateEphemeralMounts"};
    struct ma_req q = {.in = mounts, .in_n = n};

    ma_field_u64(&c, "count", n);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_ephemeral, &q);
}

static int ma_list_routes(struct vc_agent *agent, struct vc_route **ret, size_t *ret_n)
{
    struct ma_call c = {.rpc = "ListRoutes"};
    struct ma_req q = {.out = ret, .ret_n = ret_n};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_list_routes, &q);
}

static int ma_get_guest_details(struct vc_agent *agent, struct vc_guest_details *ret)
{
    struct ma_call c = {.rpc = "GetGuestDetails"};
    struct ma_req q = {.out = ret};

    ma_field(&c, "mem_block_size", "true");
    ma_field(&c, "mem_hotplug_probe", "true");
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_details, &q);
}

static int ma_set_guest_date_time(struct vc_agent *agent, int64_t sec, int64_t usec)
{
    struct ma_call c = {.rpc = "SetGuestDateTime"};
    struct ma_req q = {.u64 = (uint64_t) sec, .u1 = (uint32_t) usec};

    ma_field_u64(&c, "Sec", (uint64_t) sec);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_date_time, &q);
}

static int ma_copy_file(struct vc_agent *agent, const struct vc_copy_file *file)
{
    struct ma_call c = {.rpc = "CopyFile"};
    struct ma_req q = {.in = file};

    ma_field(&c, "path", file ? file->path : NULL);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_copy_file, &q);
}

static int ma_add_swap(struct vc_agent *agent, const uint32_t *pci_path, size_t n)
{
    struct ma_call c = {.rpc = "AddSwap"};
    struct ma_req q = {.in = pci_path, .in_n = n};

    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_add_swap, &q);
}

static int ma_get_oom_event(struct vc_agent *agent, char **ret_container_id)
{
    struct ma_call c = {.rpc = "GetOOMEvent"};
    char *id = NULL;
    struct ma_req q = {.out = &id};
    int r;

    r = ma_rpc(ma_of(agent), &c, MA_NO_DEADLINE, do_oom, &q);
    if (r < 0)
        return r;
    *ret_container_id = id;
    return 0;
}

static int ma_get_agent_metrics(struct vc_agent *agent, char **ret_metrics)
{
    struct ma_call c = {.rpc = "GetMetrics"};
    char *m = NULL;
    struct ma_req q = {.out = &m};
    int r;

    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_metrics, &q);
    if (r < 0)
        return r;
    *ret_metrics = m;
    return 0;
}

static int ma_get_guest_volume_stats(struct vc_agent *agent, const char *volume_guest_path,
                                     struct vc_volume_stats *ret)
{
    struct ma_call c = {.rpc = "GetVolumeStats"};
    struct ma_req q = {.str = volume_guest_path, .out = ret};

    ma_field(&c, "volume_guest_path", volume_guest_path);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_volume_stats, &q);
}

static int ma_resize_guest_volume(struct vc_agent *agent, const char *volume_guest_path,
                                  uint64_t size)
{
    struct ma_call c = {.rpc = "ResizeVolume"};
    struct ma_req q = {.str = volume_guest_path, .u64 = size};

    ma_field(&c, "volume_guest_path", volume_guest_path);
    ma_field_u64(&c, "size", size);
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_resize_volume, &q);
}

static int ma_get_iptables(struct vc_agent *agent, bool ipv6, uint8_t **ret, size_t *ret_len)
{
    struct ma_call c = {.rpc = "GetIPTables"};
    struct ma_req q = {.flag = ipv6, .out = ret, .ret_n = ret_len};

    ma_field(&c, "is_ipv6", ipv6 ? "true" : "false");
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_get_iptables, &q);
}

static int ma_set_iptables(struct vc_agent *agent, bool ipv6, const uint8_t *data, size_t len)
{
    struct ma_call c = {.rpc = "SetIPTables"};
    struct ma_req q = {.flag = ipv6, .in = data, .in_n = len};

    ma_field(&c, "is_ipv6", ipv6 ? "true" : "false");
    return ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_set_iptables, &q);
}

static int ma_get_diagnostic_data(struct vc_agent *agent, const char *log_type,
                                  const char *container_id, char **ret_data)
{
    struct ma_call c = {.rpc = "GetDiagnosticData"};
    char *d = NULL;
    struct ma_req q = {.str = log_type, .cid = container_id, .out = &d};
    int r;

    ma_field(&c, "log_type", log_type);
    ma_field(&c, "container_id", container_id);
    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_diagnostic, &q);
    if (r < 0)
        return r;
    *ret_data = d;
    return 0;
}

/* The 2018 seed's killContainer: SignalProcess to the init, or to every process. */
static int ma_kill_container(struct vc_agent *agent, const char *container_id, int signal, bool all)
{
    return ma_signal_process(agent, container_id, container_id, signal, all);
}

static int ma_process_list_container(struct vc_agent *agent, const char *container_id,
                                     const struct vc_ps_options *opts, char **ret_output)
{
    struct ma_call c = {.rpc = "ListProcesses"};
    char *out = NULL;
    const char *format = opts && opts->format ? opts->format : "table";
    struct ma_req q = {.cid = container_id, .str = format, .out = &out};
    int r;

    ma_field(&c, "container_id", container_id);
    ma_field(&c, "format", format);
    r = ma_rpc(ma_of(agent), &c, MA_DEFAULT_MS, do_list_processes, &q);
    if (r < 0)
        return r;
    *ret_output = out;
    return 0;
}

const struct vc_agent_ops mockagent_ops = {
    .version = VC_AGENT_OPS_V1,
    .name = "mock",
    .init = ma_init,
    .load = ma_load,
    .destroy = ma_destroy,
    .capabilities = ma_capabilities,
    .check = ma_check,
    .long_live_conn = ma_long_live_conn,
    .disconnect = ma_disconnect,
    .get_agent_url = ma_get_agent_url,
    .set_agent_url = ma_set_agent_url,
    .reuse_agent = ma_reuse_agent,
    .create_sandbox = ma_create_sandbox,
    .exec = ma_exec,
    .start_sandbox = ma_start_sandbox,
    .stop_sandbox = ma_stop_sandbox,
    .create_container = ma_create_container,
    .start_container = ma_start_container,
    .stop_container = ma_stop_container,
    .signal_process = ma_signal_process,
    .winsize_process = ma_winsize_process,
    .write_process_stdin = ma_write_process_stdin,
    .close_process_stdin = ma_close_process_stdin,
    .read_process_stdout = ma_read_process_stdout,
    .read_process_stderr = ma_read_process_stderr,
    .update_container = ma_update_container,
    .wait_process = ma_wait_process,
    .online_cpu_mem = ma_online_cpu_mem,
    .mem_hotplug_by_probe = ma_mem_hotplug_by_probe,
    .stats_container = ma_stats_container,
    .pause_container = ma_pause_container,
    .resume_container = ma_resume_container,
    .remove_stale_virtiofs_share_mounts = ma_remove_stale_virtiofs_share_mounts,
    .configure = ma_configure,
    .configure_from_grpc = ma_configure,
    .reseed_rng = ma_reseed_rng,
    .update_interface = ma_update_interface,
    .list_interfaces = ma_list_interfaces,
    .update_ephemeral_mounts = ma_update_ephemeral_mounts,
    .update_routes = ma_update_routes,
    .list_routes = ma_list_routes,
    .get_guest_details = ma_get_guest_details,
    .set_guest_date_time = ma_set_guest_date_time,
    .copy_file = ma_copy_file,
    .add_swap = ma_add_swap,
    .mark_dead = ma_mark_dead,
    .cleanup = ma_cleanup,
    .save = ma_save,
    .get_oom_event = ma_get_oom_event,
    .get_agent_metrics = ma_get_agent_metrics,
    .get_guest_volume_stats = ma_get_guest_volume_stats,
    .resize_guest_volume = ma_resize_guest_volume,
    .get_iptables = ma_get_iptables,
    .set_iptables = ma_set_iptables,
    .set_policy = ma_set_policy,
    .get_diagnostic_data = ma_get_diagnostic_data,
    .kill_container = ma_kill_container,
    .process_list_container = ma_process_list_container,
};
