/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent's host: the script (copied), and the guests of booted VMs keyed by vsock CID.
 * Whoever simulates the VMs reports boot, halt, pause and resources here. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vc/ctx.h>
#include <vc/err.h>

#include "magent_model.h"

#define DEFAULT_RPC_NS UINT64_C(200000)

struct magent_host {
    struct vc_ctx *ctx;                 /* guest context (borrowed) */
    struct magent_script script;        /* the script, copied; rules carry use counts */
    uint64_t *seen;                     /* per rule: calls it matched */
    struct magent_facts facts;          /* facts with defaults filled in (strings borrowed) */
    struct magent_guest **guests;       /* booted guests */
    size_t n_guests;                    /* number of guests */
    uint64_t boots;                     /* guests booted so far (generation source) */
    magent_notify_fn *notify;           /* told when a guest may answer anew, or NULL */
    void *notify_data;                  /* passed to notify */
    const struct magent_real_ops *real; /* the machine under the guests, or NULL */
    void *real_data;                    /* passed to real's members */
};

int magent_host_new(struct vc_ctx *gctx, const struct magent_script *script,
                    struct magent_host **ret)
{
    static const struct magent_script empty = {0};
    struct magent_host *h;
    int r;

    if (!gctx || !ret)
        return vc_err(gctx, -EINVAL, "magent_host_new: missing context or result");
    h = vc_new0(gctx, struct magent_host, 1);
    if (!h)
        return vc_err(gctx, -ENOMEM, "out of memory");
    h->ctx = gctx;
    r = magent_script_copy(gctx, script ? script : &empty, &h->script, &h->seen);
    if (r < 0) {
        vc_free(gctx, h);
        return r;
    }
    h->facts = h->script.facts;
    if (!h->facts.rpc_ns)
        h->facts.rpc_ns = DEFAULT_RPC_NS;
    *ret = h;
    return 0;
}

void magent_host_free(struct magent_host *host)
{
    if (!host)
        return;
    for (size_t i = 0; i < host->n_guests; i++)
        magent_guest_free(host->guests[i]);
    vc_free(host->ctx, host->guests);
    magent_script_clear(host->ctx, &host->script);
    vc_free(host->ctx, host->seen);
    vc_free(host->ctx, host);
}

static size_t host_index(const struct magent_host *host, uint32_t cid)
{
    size_t i;

    for (i = 0; i < host->n_guests; i++)
        if (magent_guest_cid(host->guests[i]) == cid)
            break;
    return i;
}

int magent_host_boot(struct magent_host *host, const char *sandbox_id, uint32_t cid, uint32_t vcpus,
                     uint32_t memory_mb)
{
    struct magent_guest **v, *g = NULL;
    int r;

    if (!host)
        return -EINVAL;
    if (host_index(host, cid) < host->n_guests)
        return vc_err(host->ctx, -EEXIST, "guest with cid %u is already up", cid);
    v = vc_realloc(host->ctx, host->guests, (host->n_guests + 1) * sizeof(*v));
    if (!v)
        return vc_err(host->ctx, -ENOMEM, "out of memory");
    host->guests = v;
    r = magent_guest_new(host->ctx, &host->script, sandbox_id, cid, vcpus, memory_mb, &g);
    if (r < 0)
        return vc_err(host->ctx, r, "out of memory");
    magent_guest_set_generation(g, ++host->boots);
    magent_guest_set_notify(g, host->notify, host->notify_data);
    magent_guest_set_real(g, host->real, host->real_data);
    host->guests[host->n_guests++] = g;
    vc_trace(host->ctx, "guest", "boot", "cid %u sandbox %s vcpus %u memory %u", cid,
             sandbox_id ? sandbox_id : "", vcpus, memory_mb);
    return 0;
}

void magent_host_halt(struct magent_host *host, uint32_t cid)
{
    size_t i = host ? host_index(host, cid) : 0;

    if (!host || i == host->n_guests)
        return;
    magent_guest_free(host->guests[i]);
    memmove(&host->guests[i], &host->guests[i + 1],
            (host->n_guests - i - 1) * sizeof(*host->guests));
    host->n_guests--;
    vc_trace(host->ctx, "guest", "halt", "cid %u", cid);
    if (host->notify)
        host->notify(host->notify_data, cid);
}

void magent_host_pause(struct magent_host *host, uint32_t cid, bool paused)
{
    struct magent_guest *g = magent_host_guest(host, cid);

    if (!g)
        return;
    magent_guest_set_paused(g, paused);
    vc_trace(host->ctx, "guest", paused ? "pause" : "resume", "cid %u", cid);
    if (host->notify)
        host->notify(host->notify_data, cid);
}

void magent_host_resources(struct magent_host *host, uint32_t cid, uint32_t vcpus,
                           uint32_t memory_mb)
{
    struct magent_guest *g = magent_host_guest(host, cid);

    if (!g)
        return;
    magent_guest_set_resources(g, vcpus, memory_mb);
    vc_trace(host->ctx, "guest", "resources", "cid %u vcpus %u memory %u", cid, vcpus, memory_mb);
}

struct magent_guest *magent_host_guest(struct magent_host *host, uint32_t cid)
{
    size_t i = host ? host_index(host, cid) : 0;

    return host && i < host->n_guests ? host->guests[i] : NULL;
}

/* Parses a decimal uint32 from *p up to stop; advances *p. */
static int url_number(const char **p, char stop, uint32_t *ret)
{
    uint64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint64_t) (*s - '0');
        if (v > UINT32_MAX)
            return -EINVAL;
    }
    if (*s != stop)
        return -EINVAL;
    *ret = (uint32_t) v;
    *p = s;
    return 0;
}

int magent_url_parse(const char *url, uint32_t *ret_cid, uint32_t *ret_port)
{
    static const char scheme[] = "vsock://";
    uint32_t cid, port;
    const char *p;

    if (!url || strnlen(url, MAGENT_URL_MAX + 1) > MAGENT_URL_MAX ||
        strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return -EINVAL;
    p = url + sizeof(scheme) - 1;
    if (url_number(&p, ':', &cid) < 0)
        return -EINVAL;
    p++;
    if (url_number(&p, '\0', &port) < 0 || port == 0)
        return -EINVAL;
    *ret_cid = cid;
    *ret_port = port;
    return 0;
}

struct magent_guest *magent_host_guest_by_url(struct magent_host *host, const char *url)
{
    uint32_t cid, port;

    if (magent_url_parse(url, &cid, &port) < 0)
        return NULL;
    return magent_host_guest(host, cid);
}

size_t magent_host_guest_count(const struct magent_host *host)
{
    return host ? host->n_guests : 0;
}

struct magent_guest *magent_host_guest_at(struct magent_host *host, size_t i)
{
    return host && i < host->n_guests ? host->guests[i] : NULL;
}

const struct magent_script *magent_host_script(const struct magent_host *host)
{
    return &host->script;
}

size_t magent_host_unused_expectations(const struct magent_host *host)
{
    size_t n = 0;

    for (size_t i = 0; i < host->script.n_rules; i++)
        if (host->script.rules[i].expected && host->script.rules[i].used == 0)
            n++;
    return n;
}

const struct magent_rule *magent_host_decide(struct magent_host *host, const char *rpc,
                                             const struct magent_field *f, size_t n)
{
    return magent_script_decide(&host->script, host->seen, rpc, f, n);
}

void magent_host_set_notify(struct magent_host *host, magent_notify_fn *fn, void *data)
{
    host->notify = fn;
    host->notify_data = data;
    for (size_t i = 0; i < host->n_guests; i++)
        magent_guest_set_notify(host->guests[i], fn, data);
}

const struct magent_facts *magent_host_facts(const struct magent_host *host)
{
    return &host->facts;
}

void magent_host_set_real(struct magent_host *host, const struct magent_real_ops *ops, void *data)
{
    host->real = ops;
    host->real_data = data;
    for (size_t i = 0; i < host->n_guests; i++)
        magent_guest_set_real(host->guests[i], ops, data);
}
