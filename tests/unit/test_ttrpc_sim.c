/* SPDX-License-Identifier: Apache-2.0 */
/* The ttrpc client and server in the simulated world: a runtime context dials a guest context
 * over the simulated network (edge-triggered readiness, bounded queues, virtual time). Round
 * trips with payloads larger than the network's queues, deadlines on virtual time, the same trace
 * for the same seed, and every byte-level network fault at every chunk of a session ending
 * cleanly: each call answered or failed, nothing left behind. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <vc/vc.h>
#include <vc/status.h>
#include <vc/stream.h>
#include <vc/ttrpc.h>

#include <simhv/fault.h>
#include <simhv/net.h>
#include <simhv/world.h>

#include "health.pb-c.h"
#include "ttrpc.pb-c.h"

#define URL   "vsock://3:1024"
#define MS(n) ((uint64_t) (n) *SIMHV_NS_PER_MS)
#define BIG   (100u << 10) /* bytes of each large payload: 8 in flight fill the queues */

struct env {
    struct simhv_world *w;       /* the world */
    struct simhv_ctx *rc;        /* "runtime": the client */
    struct simhv_ctx *gc;        /* "guest": the server */
    struct vc_ctx *r;            /* rc's core context */
    struct vc_ctx *g;            /* gc's core context */
    struct vc_ttrpc_server *srv; /* the server, on g */
    struct vc_ttrpc_client *c;   /* the client, on r */
    struct vc_ttrpc_call *held;  /* a call Hold keeps */
};

static const char *const strings_methods[] = {"Echo", "Hold", NULL};
static const char *const health_methods[] = {"Check", NULL};

static void h_strings(void *data, struct vc_ttrpc_call *call, const char *method,
                      const uint8_t *payload, size_t len)
{
    struct env *e = data;
    ProtobufCMessage *m;

    if (vc_ttrpc_call_decode(call, &ttrpc__string_list__descriptor, payload, len, &m) < 0)
        return;
    if (strcmp(method, "Hold") == 0 && !e->held)
        e->held = call;
    else
        (void) vc_ttrpc_reply(call, m);
    vc_ttrpc_msg_free(e->g, m);
}

static void h_health(void *data, struct vc_ttrpc_call *call, const char *method,
                     const uint8_t *payload, size_t len)
{
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;

    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    (void) vc_ttrpc_reply(call, &resp.base);
}

/* A world, both contexts, the server listening and the client connected. */
static void env_new(struct env *e, uint64_t seed, const struct simhv_fault_rule *rule)
{
    struct simhv_options o = {.seed = seed};
    struct vc_listener *l;
    struct vc_stream *s;

    *e = (struct env){0};
    assert_int_equal(simhv_world_new(&o, &e->w), 0);
    if (rule)
        assert_int_equal(simhv_world_add_fault(e->w, rule), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->rc), 0);
    assert_int_equal(simhv_ctx_new(e->w, "guest", &e->gc), 0);
    e->r = simhv_ctx_vc(e->rc);
    e->g = simhv_ctx_vc(e->gc);
    assert_int_equal(vc_ttrpc_server_new(e->g, &e->srv), 0);
    assert_int_equal(
        vc_ttrpc_server_register(e->srv, "test.Strings", strings_methods, h_strings, e), 0);
    assert_int_equal(vc_ttrpc_server_register(e->srv, "grpc.Health", health_methods, h_health, e),
                     0);
    assert_int_equal(vc_listen(e->g, URL, &l), 0);
    assert_int_equal(vc_ttrpc_server_listen(e->srv, l), 0);
    assert_int_equal(vc_dial(e->r, URL, SIMHV_NS_PER_S, &s), 0);
    assert_int_equal(vc_ttrpc_client_new(e->r, s, &e->c), 0);
}

/* Frees everything; nothing may be left: no stream, listener, virtual fd, watch, allocation. */
static void env_free(struct env *e)
{
    vc_ttrpc_client_free(e->c);
    vc_ttrpc_server_free(e->srv);
    assert_int_equal(simhv_net_stream_count(e->w), 0);
    assert_int_equal(simhv_net_listener_count(e->w), 0);
    assert_int_equal(simhv_world_vfd_count(e->w), 0);
    assert_int_equal(simhv_world_watch_count(e->w), 0);
    assert_int_equal(simhv_ctx_live_allocs(e->rc), 0);
    assert_int_equal(simhv_ctx_live_allocs(e->gc), 0);
    simhv_ctx_free(e->rc);
    simhv_ctx_free(e->gc);
    simhv_world_free(e->w);
}

/* One call's outcome. */
struct res {
    int n;         /* callbacks run */
    int r;         /* result */
    uint64_t at;   /* virtual time of the callback */
    char want;     /* the fill byte of the payload expected back */
    bool intact;   /* the response was BIG bytes of want */
    int *all;      /* incremented once per call done */
    struct env *e; /* for the clock */
};

static void on_done(void *data, const struct vc_ttrpc_result *res, bool *take)
{
    struct res *o = data;

    o->n++;
    o->r = res->r;
    o->at = simhv_world_now(o->e->w);
    if (res->resp && res->resp->descriptor == &ttrpc__string_list__descriptor) {
        const Ttrpc__StringList *sl = (const Ttrpc__StringList *) res->resp;

        o->intact = sl->n_list == 1 && strlen(sl->list[0]) == BIG && sl->list[0][0] == o->want &&
                    sl->list[0][BIG - 1] == o->want;
    }
    if (o->all)
        (*o->all)++;
}

/* Starts an Echo of BIG bytes of fill: 0, or the error of a client that lost its connection. */
static int start_big(struct env *e, char fill, uint64_t deadline, struct res *o)
{
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *s = malloc(BIG + 1);
    int r;

    assert_non_null(s);
    memset(s, fill, BIG);
    s[BIG] = 0;
    sl.n_list = 1;
    sl.list = &s;
    o->want = fill;
    o->e = e;
    r = vc_ttrpc_call_start(e->c, "test.Strings", "Echo", &sl.base, &ttrpc__string_list__descriptor,
                            deadline, NULL, 0, on_done, o, NULL);
    free(s);
    assert_true(r == 0 || (r == -ECONNRESET && !vc_ttrpc_client_alive(e->c)));
    return r;
}

static void test_sim_round_trip(void **state)
{
    struct env e;
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    struct res o[9] = {0};
    uint64_t t0;
    int all = 0;

    env_new(&e, 1, NULL);
    assert_int_equal(vc_ttrpc_call(e.c, "grpc.Health", "Check", &req.base,
                                   &grpc__health_check_response__descriptor, MS(30000), &resp),
                     0);
    assert_int_equal(((Grpc__HealthCheckResponse *) resp)->status,
                     GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    vc_ttrpc_msg_free(e.r, resp);
    /* 800 KiB each way through 256 KiB queues: partial writes, output watched and resumed. */
    for (int i = 0; i < 8; i++) {
        o[i].all = &all;
        assert_int_equal(start_big(&e, (char) ('a' + i), 0, &o[i]), 0);
    }
    assert_int_equal(vc_ttrpc_client_pending(e.c), 8);
    while (all < 8)
        assert_int_equal(vc_ctx_sleep_until(e.r, simhv_world_now(e.w) + MS(1)), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(o[i].r, 0);
        assert_true(o[i].intact);
    }
    /* A deadline on virtual time: the call fails exactly 50 ms later. */
    t0 = simhv_world_now(e.w);
    o[8].e = &e;
    assert_int_equal(vc_ttrpc_call_start(e.c, "test.Strings", "Hold", NULL, NULL, t0 + MS(50), NULL,
                                         0, on_done, &o[8], NULL),
                     0);
    assert_int_equal(vc_ctx_sleep_until(e.r, t0 + MS(100)), 0);
    assert_int_equal(o[8].r, -ETIMEDOUT);
    assert_int_equal(o[8].at, t0 + MS(50));
    assert_non_null(e.held);
    assert_int_equal(vc_ttrpc_call_timeout_ns(e.held), (int64_t) MS(50));
    env_free(&e);
}

/* A short session: a few calls, each with a deadline; returns when every one is done. */
static void session(struct env *e, struct res *o, size_t n)
{
    uint64_t deadline = simhv_world_now(e->w) + MS(2000);
    int all = 0;

    for (size_t i = 0; i < n; i++) {
        o[i] = (struct res){.all = &all};
        o[i].r = start_big(e, (char) ('k' + i), deadline, &o[i]);
        if (o[i].r < 0) { /* the connection was lost by an earlier call's write */
            o[i].n = 1;
            all++;
        }
    }
    while (all < (int) n) {
        assert_true(simhv_world_now(e->w) <= deadline); /* never past the deadline */
        assert_int_equal(vc_ctx_sleep_until(e->r, simhv_world_now(e->w) + MS(1)), 0);
    }
}

/* The same seed gives the same trace, byte for byte. */
static void test_sim_determinism(void **state)
{
    uint64_t hash[2], count[2];

    for (int run = 0; run < 2; run++) {
        struct env e;
        struct res o[3];

        env_new(&e, 42, NULL);
        session(&e, o, 3);
        for (int i = 0; i < 3; i++)
            assert_true(o[i].r == 0 && o[i].intact);
        vc_ttrpc_client_free(e.c);
        e.c = NULL;
        assert_int_equal(vc_ctx_sleep_until(e.g, simhv_world_now(e.w) + MS(1)), 0);
        assert_int_equal(vc_ttrpc_server_connections(e.srv), 0);
        hash[run] = simhv_world_trace_hash(e.w);
        count[run] = simhv_world_trace_count(e.w);
        env_free(&e);
    }
    assert_true(count[0] > 10);
    assert_int_equal(count[0], count[1]);
    assert_true(hash[0] == hash[1]);
}

/* Every byte-level fault of the network at every chunk written during a session (either side):
 * each call ends by its deadline, intact when it succeeds (unless bytes were silently altered),
 * and nothing leaks. */
static void test_sim_faults(void **state)
{
    static const int actions[] = {
        SIMHV_ACTION_RESET,   SIMHV_ACTION_DROP,      SIMHV_ACTION_TRUNCATE,
        SIMHV_ACTION_CORRUPT, SIMHV_ACTION_DUPLICATE, SIMHV_ACTION_DRIP,
        SIMHV_ACTION_DELAY,   SIMHV_ACTION_HANG,      SIMHV_ACTION_ERRNO};
    unsigned sessions = 0, failed = 0;

    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
        for (uint64_t nth = 1;; nth++) {
            struct simhv_fault_rule rule = {
                .point = "net.send",
                .trigger = SIMHV_TRIGGER_NTH,
                .nth = nth,
                .action = actions[a],
                .delay_ns = MS(5),
                .err = -EPIPE,
            };
            /* ttrpc has no integrity check: a flipped, dropped or repeated chunk inside a
             * payload's bytes can go unnoticed. The other actions keep the bytes or end the
             * connection. */
            bool lossy = actions[a] == SIMHV_ACTION_CORRUPT || actions[a] == SIMHV_ACTION_DROP ||
                         actions[a] == SIMHV_ACTION_DUPLICATE;
            struct env e;
            struct res o[3];
            uint64_t fired;

            env_new(&e, 7 + nth, &rule);
            session(&e, o, 3);
            for (int i = 0; i < 3; i++) {
                assert_int_equal(o[i].n, 1);
                if (o[i].r == 0 && !lossy && !o[i].intact)
                    fail_msg("%s at send %llu: call %d answered wrong",
                             simhv_action_to_string(actions[a]), (unsigned long long) nth, i);
                failed += o[i].r != 0;
            }
            fired = simhv_world_fault(e.w, 0)->fired;
            sessions++;
            env_free(&e);
            if (!fired)
                break;
        }
    }
    print_message("network faults: %u sessions, %u calls failed\n", sessions, failed);
    assert_true(sessions > 30);
    assert_true(failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_round_trip),
        cmocka_unit_test(test_sim_determinism),
        cmocka_unit_test(test_sim_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
