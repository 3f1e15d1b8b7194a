/* SPDX-License-Identifier: Apache-2.0 */
/* `vcctl agent`: raw agent calls, as kata's agent-ctl makes them. Each RPC is looked up in the
 * generated service descriptors (grpc.AgentService, grpc.Health), its request is built from
 * proto3 JSON (pbjson), sent over ttrpc on a connection dialled through the real transports, and
 * the response is printed as JSON. Every request is parsed before anything is dialled. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <vc/pbjson.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>
#include <vc/url.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "vcctl.h"

#define AGENT_TIMEOUT_NS      (UINT64_C(60) * 1000000000) /* --timeout default */
#define AGENT_DIAL_TIMEOUT_NS (UINT64_C(10) * 1000000000) /* --dial-timeout default */
#define AGENT_JSON_PREFIX     "json://"
#define AGENT_FILE_PREFIX     "file://"

/* The services vcctl agent knows, with their names on the wire. */
static const struct {
    const char *wire;                       /* Request.service */
    const ProtobufCServiceDescriptor *desc; /* generated descriptor */
} agent_services[] = {
    {"grpc.AgentService", &grpc__agent_service__descriptor},
    {"grpc.Health", &grpc__health__descriptor},
};

#define AGENT_N_SERVICES (sizeof(agent_services) / sizeof(agent_services[0]))

/* One call to make. */
struct agent_call {
    const char *service;                /* wire service name */
    const ProtobufCMethodDescriptor *m; /* the method: name, input, output */
    ProtobufCMessage *req;              /* the request (vc_pb_free) */
};

/* Finds an RPC by name, case-insensitively; "Service.Method" and "Service/Method" (short or
 * full service names) pick one service. */
static int agent_find(const char *name, const char **ret_service,
                      const ProtobufCMethodDescriptor **ret)
{
    const char *sep = strpbrk(name, "./");
    const char *method = name;

    if (sep) {
        const char *dot = strrchr(name, '.');
        const char *slash = strrchr(name, '/');
        method = (slash ? slash : dot) + 1;
    }
    for (size_t i = 0; i < AGENT_N_SERVICES; i++) {
        const ProtobufCServiceDescriptor *d = agent_services[i].desc;
        size_t n = (size_t) (method - name) - (sep ? 1 : 0);

        if (sep && !((strlen(d->name) == n && strncasecmp(d->name, name, n) == 0) ||
                     (strlen(d->short_name) == n && strncasecmp(d->short_name, name, n) == 0)))
            continue;
        for (unsigned k = 0; k < d->n_methods; k++) {
            if (strcasecmp(d->methods[k].name, method) == 0) {
                *ret_service = agent_services[i].wire;
                *ret = &d->methods[k];
                return 0;
            }
        }
    }
    return -ENOENT;
}

static void agent_list(void)
{
    for (size_t i = 0; i < AGENT_N_SERVICES; i++) {
        const ProtobufCServiceDescriptor *d = agent_services[i].desc;
        for (unsigned k = 0; k < d->n_methods; k++)
            printf("%-32s %-40s -> %s\n", d->methods[k].name, d->methods[k].input->name,
                   d->methods[k].output->name);
    }
}

/* Whether word is a request rather than an RPC name. */
static bool agent_is_request(const char *word)
{
    return word[0] == '{' || strncmp(word, AGENT_JSON_PREFIX, strlen(AGENT_JSON_PREFIX)) == 0 ||
           strncmp(word, AGENT_FILE_PREFIX, strlen(AGENT_FILE_PREFIX)) == 0 ||
           strcmp(word, "-") == 0;
}

/* Reads all of stdin (bounded by the JSON limit). */
static int agent_read_stdin(struct vc_ctx *ctx, char **ret, size_t *ret_len)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;

    for (;;) {
        size_t n;
        if (len == cap) {
            char *nb;
            cap = cap ? cap * 2 : 4096;
            if (cap > VC_PBJSON_INPUT_MAX + 1)
                cap = VC_PBJSON_INPUT_MAX + 1;
            if (len == cap || !(nb = vc_realloc(ctx, buf, cap))) {
                vc_free(ctx, buf);
                return len == cap ? vc_err(ctx, -EMSGSIZE, "stdin: request too large")
                                  : vc_err(ctx, -ENOMEM, "out of memory");
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0)
            break;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* Builds a call's request from its JSON word (NULL: an empty request). */
static int agent_request(struct vc_ctx *ctx, const char *word, struct agent_call *c)
{
    const ProtobufCMessageDescriptor *d = c->m->input;
    json_object *j = NULL;
    char *buf = NULL;
    size_t len = 0;
    int r;

    if (!word)
        return vc_pbjson_from_string(ctx, d, "{}", 2, 0, &c->req);
    if (strncmp(word, AGENT_FILE_PREFIX, strlen(AGENT_FILE_PREFIX)) == 0) {
        /* Files may be YAML too; JSON goes through the same converter as typed text. */
        r = vcctl_doc_load(ctx, word + strlen(AGENT_FILE_PREFIX), &j);
        if (r >= 0)
            r = vc_pbjson_from_json(ctx, d, j, 0, &c->req);
        json_object_put(j);
        return r;
    }
    if (strcmp(word, "-") == 0) {
        r = agent_read_stdin(ctx, &buf, &len);
        if (r >= 0)
            r = vc_pbjson_from_string(ctx, d, buf, len, 0, &c->req);
        vc_free(ctx, buf);
        return r;
    }
    if (strncmp(word, AGENT_JSON_PREFIX, strlen(AGENT_JSON_PREFIX)) == 0)
        word += strlen(AGENT_JSON_PREFIX);
    return vc_pbjson_from_string(ctx, d, word, strlen(word), 0, &c->req);
}

/* Turns URL RPC [JSON] [RPC [JSON]]... into calls. 0, or an exit status (usage). */
static int agent_parse(struct vcctl *v, const struct vcctl_args *a, struct agent_call *calls,
                       size_t *ret_n)
{
    size_t n = 0;
    int r;

    for (size_t i = 1; i < a->n_pos; i++) {
        struct agent_call *c = &calls[n];
        const char *rpc = a->pos[i];

        if (agent_is_request(rpc))
            return vcctl_usage(v, "a request must follow an RPC name: '%.40s'", rpc);
        if (agent_find(rpc, &c->service, &c->m) < 0)
            return vcctl_usage(v, "unknown RPC '%s' (vcctl agent --list names them)", rpc);
        n++;
        *ret_n = n;
        r = agent_request(
            v->ctx, i + 1 < a->n_pos && agent_is_request(a->pos[i + 1]) ? a->pos[++i] : NULL, c);
        if (r < 0) {
            fprintf(stderr, "vcctl: %s: bad request: %s (%s)\n", c->m->name, vc_ctx_errmsg(v->ctx),
                    vc_errno_name(r));
            return VCCTL_EXIT_USAGE;
        }
    }
    return 0;
}

/* Makes the calls one after the other on one connection, printing each response. */
static int agent_send(struct vcctl *v, const struct vcctl_args *a, const char *url,
                      const struct agent_call *calls, size_t n)
{
    unsigned flags = (a->compact ? 0 : VC_PBJSON_PRETTY) | (a->defaults ? VC_PBJSON_DEFAULTS : 0);
    struct vc_ttrpc_client *cl = NULL;
    struct vc_stream *s = NULL;
    char what[64];
    int r;

    snprintf(what, sizeof(what), "dial %.48s", url);
    r = vc_dial(v->ctx, url, a->dial_timeout_ns ? a->dial_timeout_ns : AGENT_DIAL_TIMEOUT_NS, &s);
    if (r >= 0)
        r = vc_ttrpc_client_new(v->ctx, s, &cl);
    if (r < 0)
        return vcctl_fail(v, what, r);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *resp = NULL;
        char *text = NULL;
        const char *msg;
        size_t len = strlen(calls[i].m->name);

        r = vc_ttrpc_call(cl, calls[i].service, calls[i].m->name, calls[i].req, calls[i].m->output,
                          a->timeout_ns ? a->timeout_ns : AGENT_TIMEOUT_NS, &resp);
        if (r < 0) {
            /* The client words it "<RPC>: <message> (<STATUS>)" already, most of the time. */
            msg = vc_ctx_errmsg(v->ctx);
            if (strncmp(msg, calls[i].m->name, len) == 0 && msg[len] == ':')
                fprintf(stderr, "vcctl: %s\n", msg);
            else
                fprintf(stderr, "vcctl: %s: %s (%s)\n", calls[i].m->name,
                        msg[0] ? msg : strerror(-r), vc_errno_name(r));
            break;
        }
        r = vc_pbjson_to_string(v->ctx, resp, flags, &text);
        vc_ttrpc_msg_free(v->ctx, resp);
        if (r < 0) {
            vcctl_fail(v, calls[i].m->name, r);
            break;
        }
        vcctl_json_tidy(text);
        printf("%s\n", text);
        (void) fflush(stdout);
        vc_free(v->ctx, text);
    }
    vc_ttrpc_client_free(cl);
    return r < 0 ? VCCTL_EXIT_FAIL : VCCTL_EXIT_OK;
}

int vcctl_cmd_agent(struct vcctl *v, const struct vcctl_args *a)
{
    struct agent_call *calls;
    struct vc_url url;
    size_t n = 0;
    int r;

    if (a->list) {
        if (a->n_pos)
            return vcctl_usage(v, "--list takes no arguments");
        agent_list();
        return VCCTL_EXIT_OK;
    }
    if (a->n_pos < 2)
        return vcctl_usage(v, a->n_pos ? "missing RPC" : "missing URL and RPC");
    if (vc_url_parse(v->ctx, a->pos[0], &url) < 0)
        return vcctl_usage(v, "%s", vc_ctx_errmsg(v->ctx));
    calls = vc_new0(v->ctx, struct agent_call, a->n_pos);
    if (!calls)
        return vcctl_fail(v, "agent", vc_err(v->ctx, -ENOMEM, "out of memory"));
    r = agent_parse(v, a, calls, &n);
    if (r == 0)
        r = agent_send(v, a, a->pos[0], calls, n);
    for (size_t i = 0; i < n; i++)
        vc_pb_free(v->ctx, calls[i].req);
    vc_free(v->ctx, calls);
    return r;
}
