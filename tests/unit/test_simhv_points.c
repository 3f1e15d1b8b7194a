/* SPDX-License-Identifier: Apache-2.0 */
/* The fault point registry's fast path: point strings found by address must still be told
 * apart by content, rules added after a point was seen must reach it, and plans too long for a
 * point's rule mask must behave the same. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <simhv/fault.h>
#include <simhv/world.h>

struct env {
    struct simhv_world *w; /* the world */
    struct simhv_ctx *c;   /* a "runtime" context */
};

static int setup(void **state)
{
    struct simhv_options o = {.seed = 1};
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    assert_int_equal(simhv_world_new(&o, &e->w), 0);
    assert_int_equal(simhv_ctx_new(e->w, "runtime", &e->c), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    simhv_ctx_free(e->c);
    simhv_world_free(e->w);
    free(e);
    return 0;
}

static void add_rule(struct simhv_world *w, const char *point, const char *context, uint64_t nth)
{
    struct simhv_fault_rule r = {
        .point = (char *) point,
        .context = (char *) context,
        .trigger = SIMHV_TRIGGER_NTH,
        .nth = nth,
        .action = SIMHV_ACTION_ERRNO,
        .err = -EIO,
    };

    assert_int_equal(simhv_world_add_fault(w, &r), 0);
}

/* Hits of the point named name, or 0 when it was never seen. */
static uint64_t hits_of(const struct simhv_world *w, const char *name)
{
    for (size_t i = 0; i < simhv_world_point_count(w); i++)
        if (strcmp(simhv_world_point_name(w, i), name) == 0)
            return simhv_world_point_hits(w, i);
    return 0;
}

static void test_same_address_other_content(void **state)
{
    struct env *e = *state;
    struct simhv_fault_hit hit;
    char buf[32];

    add_rule(e->w, "b.*", NULL, 1);
    for (int round = 0; round < 3; round++) {
        (void) snprintf(buf, sizeof(buf), "a.x");
        assert_false(simhv_world_fault_eval(e->w, e->c, buf, &hit));
        (void) snprintf(buf, sizeof(buf), "b.y");
        assert_int_equal(simhv_world_fault_eval(e->w, e->c, buf, &hit), round == 0);
        (void) snprintf(buf, sizeof(buf), "a.xx"); /* a longer name at the same address */
        assert_false(simhv_world_fault_eval(e->w, e->c, buf, &hit));
        (void) snprintf(buf, sizeof(buf), "a."); /* and a shorter one */
        assert_false(simhv_world_fault_eval(e->w, e->c, buf, &hit));
    }
    assert_int_equal(simhv_world_point_count(e->w), 4);
    assert_int_equal(hits_of(e->w, "a.x"), 3);
    assert_int_equal(hits_of(e->w, "b.y"), 3);
    assert_int_equal(hits_of(e->w, "a.xx"), 3);
    assert_int_equal(hits_of(e->w, "a."), 3);
    assert_int_equal(simhv_world_fault(e->w, 0)->hits, 3);
    assert_int_equal(simhv_world_fault(e->w, 0)->fired, 1);
}

static void test_rules_added_later(void **state)
{
    struct env *e = *state;
    struct simhv_fault_hit hit;

    assert_false(simhv_world_fault_eval(e->w, e->c, "p.one", &hit));
    assert_false(simhv_world_fault_eval(e->w, e->c, "p.two", &hit));
    add_rule(e->w, "p.t*", NULL, 1);
    assert_false(simhv_world_fault_eval(e->w, e->c, "p.one", &hit));
    assert_true(simhv_world_fault_eval(e->w, e->c, "p.two", &hit));
    assert_int_equal(hit.rule, 0);
    add_rule(e->w, "p.o*", NULL, 1);
    assert_true(simhv_world_fault_eval(e->w, e->c, "p.one", &hit));
    assert_int_equal(hit.rule, 1);
    assert_int_equal(hits_of(e->w, "p.one"), 3);
}

static void test_context_and_order(void **state)
{
    struct env *e = *state;
    struct simhv_fault_hit hit;

    add_rule(e->w, "q", "other", 1); /* never this context's */
    add_rule(e->w, "q*", NULL, 2);
    add_rule(e->w, "*", "runtime", 1);
    assert_true(simhv_world_fault_eval(e->w, e->c, "q", &hit));
    assert_int_equal(hit.rule, 2); /* rule 1 counted its first hit, rule 2 fired */
    assert_true(simhv_world_fault_eval(e->w, e->c, "q", &hit));
    assert_int_equal(hit.rule, 1);
    assert_int_equal(simhv_world_fault(e->w, 0)->hits, 0);
    assert_int_equal(simhv_world_fault(e->w, 1)->hits, 2);
    assert_false(simhv_world_fault_eval(e->w, NULL, "q", &hit)); /* no context: rule 2 skips */
}

/* Past 64 rules the mask cannot name them all; the plan is walked as a whole. */
static void test_long_plan(void **state)
{
    struct env *e = *state;
    struct simhv_fault_hit hit;
    char name[32];

    for (int i = 0; i < 70; i++) {
        (void) snprintf(name, sizeof(name), "long.%d", i);
        add_rule(e->w, name, NULL, 1);
    }
    add_rule(e->w, "long.6*", NULL, 1);
    assert_true(simhv_world_fault_eval(e->w, e->c, "long.66", &hit));
    assert_int_equal(hit.rule, 66); /* the first in plan order; rule 70 is not asked */
    assert_true(simhv_world_fault_eval(e->w, e->c, "long.66", &hit));
    assert_int_equal(hit.rule, 70);
    assert_false(simhv_world_fault_eval(e->w, e->c, "long.66", &hit));
    assert_int_equal(simhv_world_fault(e->w, 70)->hits, 2);
    assert_false(simhv_world_fault_eval(e->w, e->c, "long.x", &hit));
    assert_int_equal(hits_of(e->w, "long.66"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_address_other_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_added_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_plan, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
