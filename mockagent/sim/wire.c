/* SPDX-License-Identifier: Apache-2.0 */
/* The mock agent as simhv's guest speaking the real protocol: each VM that boots gets a guest in
 * the host and a ttrpc server listening on its vsock endpoint in the simulated network, so the
 * runtime's kata backend reaches it by dialling, exactly as it would reach kata-agent. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/stream.h>

#include <mockagent/host.h>
#include <mockagent/server.h>
#include <mockagent/sim.h>

struct magent_sim_wire {
    struct vc_ctx *gctx;          /* the guests' context (borrowed) */
    struct magent_host *host;     /* the guests (borrowed) */
    struct magent_server *server; /* their wire front end (owned) */
};

int magent_sim_wire_new(struct vc_ctx *gctx, struct magent_host *host, struct magent_sim_wire **ret)
{
    struct magent_sim_wire *w = vc_new0(gctx, struct magent_sim_wire, 1);
    int r;

    if (!w)
        return -ENOMEM;
    *w = (struct magent_sim_wire){.gctx = gctx, .host = host};
    r = magent_server_new(gctx, host, &w->server);
    if (r < 0) {
        vc_free(gctx, w);
        return r;
    }
    *ret = w;
    return 0;
}

void magent_sim_wire_free(struct magent_sim_wire *w)
{
    if (!w)
        return;
    magent_server_free(w->server);
    vc_free(w->gctx, w);
}

struct magent_server *magent_sim_wire_server(struct magent_sim_wire *w)
{
    return w->server;
}

static int wire_boot(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;
    struct vc_listener *l = NULL;
    char url[64];
    int r;

    r = magent_host_boot(w->host, vm->sandbox_id, vm->cid, vm->vcpus, vm->memory_mb);
    if (r < 0)
        return r;
    (void) snprintf(url, sizeof(url), "vsock://%" PRIu32 ":%u", vm->cid, MAGENT_SIM_AGENT_PORT);
    r = vc_listen(w->gctx, url, &l);
    if (r >= 0)
        r = magent_server_listen(w->server, vm->cid, l);
    if (r < 0)
        magent_host_halt(w->host, vm->cid);
    return r;
}

/* Halting the guest is enough: the server hears of it from the host and resets the guest's
 * connections and closes its listener. */
static void wire_halt(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;

    magent_host_halt(w->host, vm->cid);
}

static void wire_pause(void *data, const struct simhv_vm *vm, bool paused)
{
    struct magent_sim_wire *w = data;

    magent_host_pause(w->host, vm->cid, paused);
}

static void wire_resources(void *data, const struct simhv_vm *vm)
{
    struct magent_sim_wire *w = data;

    magent_host_resources(w->host, vm->cid, vm->vcpus, vm->memory_mb);
}

const struct simhv_guest_ops magent_simhv_wire_guest_ops = {
    .boot = wire_boot,
    .halt = wire_halt,
    .pause = wire_pause,
    .resources = wire_resources,
};
