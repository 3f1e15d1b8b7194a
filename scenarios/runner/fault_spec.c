/* SPDX-License-Identifier: Apache-2.0 */
/* A fault rule in one line ("point=agent.Exec,nth=2,errno=EIO") and as the map of a scenario
 * file: the form sweeps print in reproduction commands, `--fault` reads back, and shrink writes
 * into the scenarios it produces. Both go through the YAML form, so the keys, values and errors
 * are the scenario parser's own. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simhv/fault.h>
#include <vc/vc.h>

#include "scenario.h"
#include "value.h"

#define SPEC_MAX 4096u /* longest spec */

void vcsim_fault_clear(struct simhv_fault_rule *f)
{
    if (!f)
        return;
    free(f->point);
    free(f->target);
    free(f->context);
    *f = (struct simhv_fault_rule){0};
}

int vcsim_fault_spec_parse(const char *spec, struct vcsim_diag *d, struct simhv_fault_rule *f)
{
    struct vcsim_node *map = vcsim_node_new(VCSIM_NODE_MAP, NULL, false);
    char *name = NULL, buf[SPEC_MAX], *save = NULL;
    int r = map ? 0 : -ENOMEM;

    *f = (struct simhv_fault_rule){0};
    if (r >= 0 && strlen(spec) >= sizeof(buf))
        r = vcsim_diag_at(d, 0, 0, "fault '%.40s...' is too long", spec);
    if (r >= 0)
        (void) snprintf(buf, sizeof(buf), "%s", spec);
    for (char *kv = r >= 0 ? strtok_r(buf, ",", &save) : NULL; r >= 0 && kv;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1]) {
            r = vcsim_diag_at(d, 0, 0, "fault '%s': '%s' is not key=value", spec, kv);
            break;
        }
        *eq = '\0';
        if (vcsim_node_get(map, kv))
            r = vcsim_diag_at(d, 0, 0, "fault '%s': '%s' given twice", spec, kv);
        else
            r = vcsim_node_put(map, kv, vcsim_node_new(VCSIM_NODE_SCALAR, eq + 1, true));
    }
    if (r >= 0)
        r = vcsim_fault_parse(d, map, f, &name);
    free(name);
    vcsim_node_free(map);
    if (r < 0)
        vcsim_fault_clear(f);
    return r;
}

/* An exact duration: the largest unit that divides it. */
static void spec_duration(uint64_t ns, char *buf, size_t len)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } units[] = {{UINT64_C(1000000000), "s"}, {1000000, "ms"}, {1000, "us"}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ns && ns % units[i].ns == 0) {
            (void) snprintf(buf, len, "%" PRIu64 "%s", ns / units[i].ns, units[i].unit);
            return;
        }
    (void) snprintf(buf, len, "%" PRIu64 "%s", ns, ns ? "ns" : "");
}

static int spec_put(struct vcsim_node *map, const char *key, const char *value)
{
    return vcsim_node_put(map, key, vcsim_node_new(VCSIM_NODE_SCALAR, value, true));
}

static int spec_trigger(struct vcsim_node *map, const struct simhv_fault_rule *f)
{
    char v[64];

    switch (f->trigger) {
    case SIMHV_TRIGGER_EVERY:
        return spec_put(map, "every", "true");
    case SIMHV_TRIGGER_PROB:
        (void) snprintf(v, sizeof(v), "%.6g", (double) f->prob_ppm / 1e6);
        return spec_put(map, "probability", v);
    case SIMHV_TRIGGER_AFTER:
        spec_duration(f->after_ns, v, sizeof(v));
        return spec_put(map, "after", v);
    default:
        (void) snprintf(v, sizeof(v), "%" PRIu64, f->nth ? f->nth : 1);
        return spec_put(map, "nth", v);
    }
}

static int spec_action(struct vcsim_node *map, const struct simhv_fault_rule *f)
{
    const char *name = simhv_action_to_string((enum simhv_action) f->action);
    char v[64];

    switch (f->action) {
    case SIMHV_ACTION_ERRNO:
        return spec_put(map, "errno", vc_errno_name(f->err ? f->err : -EIO));
    case SIMHV_ACTION_DELAY:
    case SIMHV_ACTION_HANG:
    case SIMHV_ACTION_DRIP:
        spec_duration(f->delay_ns, v, sizeof(v));
        return spec_put(map, name, v);
    case SIMHV_ACTION_VM_CRASH:
        return vcsim_node_put(
            map, name,
            vcsim_node_new(VCSIM_NODE_SCALAR, f->target ? f->target : "true", !f->target));
    default:
        return spec_put(map, name, "true");
    }
}

struct vcsim_node *vcsim_fault_node(const struct simhv_fault_rule *f)
{
    struct vcsim_node *map = vcsim_node_new(VCSIM_NODE_MAP, NULL, false);
    char v[64];
    int r = map ? 0 : -ENOMEM;

    if (r >= 0)
        r = spec_put(map, "point", f->point);
    if (r >= 0 && f->context)
        r = spec_put(map, "context", f->context);
    if (r >= 0)
        r = spec_trigger(map, f);
    if (r >= 0 && f->limit) {
        (void) snprintf(v, sizeof(v), "%" PRIu64, f->limit);
        r = spec_put(map, "limit", v);
    }
    if (r >= 0)
        r = spec_action(map, f);
    if (r < 0) {
        vcsim_node_free(map);
        return NULL;
    }
    return map;
}

void vcsim_fault_spec(const struct simhv_fault_rule *f, char *buf, size_t len)
{
    struct vcsim_node *map = vcsim_fault_node(f);
    size_t at = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; map && i + 1 < map->n && at < len; i += 2) {
        int n = snprintf(buf + at, len - at, "%s%s=%s", i ? "," : "", map->items[i]->text,
                         map->items[i + 1]->text);
        at += n > 0 ? (size_t) n : 0;
    }
    vcsim_node_free(map);
}
