/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl's sandbox commands: create and run (a sandbox config from the configuration file, an
 * optional --from file and the command line), start, stop, delete, pause, resume, state, list,
 * check, and config. Each is one call of the runtime API (vc/vc.h). */
#include <errno.h>
#include <string.h>

#include "schema.h"
#include "vcctl.h"

#define VCCTL_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void vcctl_process_config(const struct vcctl_args *a, char **args, size_t n_args,
                          const char **env_storage, struct vc_process_config *ret)
{
    size_t n_env = a->n_env;

    if (n_env)
        memcpy(env_storage, a->env, n_env * sizeof(*env_storage));
    else
        env_storage[n_env++] = VCCTL_DEFAULT_PATH;
    *ret = (struct vc_process_config){
        .args = args,
        .n_args = n_args,
        .env = (char **) env_storage,
        .n_env = n_env,
        .cwd = (char *) (a->cwd ? a->cwd : "/"),
        .user = {.uid = a->uid, .gid = a->gid},
        .terminal = a->tty,
    };
}

/* --- building a sandbox config ---------------------------------------------------------------- */

/* The configuration file's hypervisor and agent as a sandbox config document. */
static int sb_base_json(struct vcctl *v, json_object **ret)
{
    json_object *j = json_object_new_object(), *hv = NULL, *agent = NULL;
    int r = j ? 0 : -ENOMEM;

    if (r >= 0)
        r = vc_obj_to_json(v->ctx, &vc_schema_hv_config, &v->cfg.hv, &hv);
    if (r >= 0)
        r = vc_obj_to_json(v->ctx, &vc_schema_agent_config, &v->cfg.agent, &agent);
    if (r >= 0 && json_object_object_add(j, "hv", hv) < 0)
        r = -ENOMEM;
    else if (r >= 0)
        hv = NULL;
    if (r >= 0 && json_object_object_add(j, "agent", agent) < 0)
        r = -ENOMEM;
    else if (r >= 0)
        agent = NULL;
    json_object_put(hv);
    json_object_put(agent);
    if (r < 0) {
        json_object_put(j);
        return vc_err(v->ctx, r, "out of memory");
    }
    *ret = j;
    return 0;
}

/* Reads --from: a sandbox config, where "hypervisor" may stand for "hv" as in the config file. */
static int sb_from_file(struct vcctl *v, const char *path, json_object **ret)
{
    json_object *j = NULL, *hv;
    int r = vcctl_doc_load(v->ctx, path, &j);

    if (r < 0)
        return r;
    if (!json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return vc_err(v->ctx, -EINVAL, "%s: expected an object", path);
    }
    if (json_object_object_get_ex(j, "hypervisor", &hv)) {
        if (json_object_object_get_ex(j, "hv", NULL)) {
            json_object_put(j);
            return vc_err(v->ctx, -EINVAL, "%s: both 'hv' and 'hypervisor' given", path);
        }
        (void) json_object_object_add(j, "hv", json_object_get(hv));
        json_object_object_del(j, "hypervisor");
    }
    *ret = j;
    return 0;
}

/* Replaces *field with a copy of val. */
static int sb_set_str(struct vcctl *v, char **field, const char *val)
{
    char *s = vc_strdup(v->ctx, val);

    if (!s)
        return vc_err(v->ctx, -ENOMEM, "out of memory");
    vc_free(v->ctx, *field);
    *field = s;
    return 0;
}

/* Appends --container's container to cfg. */
static int sb_add_container(struct vcctl *v, const struct vcctl_args *a,
                            struct vc_sandbox_config *cfg)
{
    const char **env = vc_new0(v->ctx, const char *, a->n_env + 1);
    struct vc_container_config c = {
        .id = (char *) a->container,
        .rootfs = (char *) a->rootfs,
        .resources = a->res,
    };
    struct vc_container_config *vec = NULL;
    int r = 0;

    if (env)
        vec = vc_realloc(v->ctx, cfg->containers, (cfg->n_containers + 1) * sizeof(*vec));
    if (!vec) {
        vc_free(v->ctx, env);
        return vc_err(v->ctx, -ENOMEM, "out of memory");
    }
    cfg->containers = vec;
    vcctl_process_config(a, a->rest, a->n_rest, env, &c.process);
    if (vc_obj_copy(v->ctx, &vc_schema_container_config, &vec[cfg->n_containers], &c) < 0)
        r = vc_err(v->ctx, -ENOMEM, "out of memory");
    else
        cfg->n_containers++;
    vc_free(v->ctx, env);
    return r;
}

/* The command line over the config: id, hostname, kinds, agent URL, sizes, a container. */
static int sb_overrides(struct vcctl *v, const struct vcctl_args *a, struct vc_sandbox_config *cfg)
{
    int r = 0;

    if (a->n_pos && !cfg->id)
        r = sb_set_str(v, &cfg->id, a->pos[0]);
    if (r >= 0 && a->hostname)
        r = sb_set_str(v, &cfg->hostname, a->hostname);
    if (r >= 0 && a->hv)
        r = sb_set_str(v, &cfg->hv.kind, a->hv);
    if (r >= 0 && a->agent)
        r = sb_set_str(v, &cfg->agent.kind, a->agent);
    if (r >= 0 && a->agent_url)
        r = sb_set_str(v, &cfg->agent.url, a->agent_url);
    if (a->vcpus)
        cfg->hv.vcpus = a->vcpus;
    if (a->memory_mb)
        cfg->hv.memory_mb = a->memory_mb;
    if (r >= 0 && a->container)
        r = sb_add_container(v, a, cfg);
    return r;
}

/* Builds the sandbox config create and run use. */
static int sb_build(struct vcctl *v, const struct vcctl_args *a, struct vc_sandbox_config *cfg)
{
    const char *what = a->from ? a->from : "sandbox config";
    json_object *base = NULL, *doc = NULL, *merged = NULL;
    int r = sb_base_json(v, &base);

    if (r >= 0 && a->from)
        r = sb_from_file(v, a->from, &doc);
    if (r >= 0 && !(merged = vcctl_json_merge(base, doc)))
        r = vc_err(v->ctx, -ENOMEM, "out of memory");
    if (r >= 0)
        r = vcctl_schema_check(v->ctx, what, &vc_schema_sandbox_config, merged);
    if (r >= 0) {
        r = vc_obj_from_json(v->ctx, &vc_schema_sandbox_config, merged, cfg);
        if (r < 0 && r != -ENOMEM)
            r = vc_err_prefix(v->ctx, r, "%s", what);
    }
    json_object_put(base);
    json_object_put(doc);
    json_object_put(merged);
    if (r >= 0 && a->n_pos && cfg->id && strcmp(cfg->id, a->pos[0]) != 0)
        r = vc_err(v->ctx, -EINVAL, "%s: id '%s' differs from '%s' on the command line", what,
                   cfg->id, a->pos[0]);
    if (r >= 0)
        r = sb_overrides(v, a, cfg);
    if (r >= 0 && !cfg->id)
        r = vc_err(v->ctx, -EINVAL, "no sandbox id: give ID or an id in --from");
    return r;
}

static int sb_create(struct vcctl *v, const struct vcctl_args *a, bool run)
{
    const char *what = run ? "run" : "create";
    struct vc_sandbox_config cfg = {0};
    int r;

    if (a->container && !a->n_rest)
        return vcctl_usage(v, "--container needs a command: --args ARG... or -- ARG...");
    if (!a->container && a->n_rest)
        return vcctl_usage(v, "a command needs --container CID");
    if (!a->container && (a->rootfs || a->n_env || a->cwd || a->user_set || a->tty || a->res_set))
        return vcctl_usage(v, "container options need --container CID");
    if (!a->n_pos && !a->from)
        return vcctl_usage(v, "missing ID");
    r = vcctl_open(v);
    if (r != VCCTL_EXIT_OK)
        return r;
    r = sb_build(v, a, &cfg);
    if (r >= 0 && a->dry_run) {
        json_object *j = NULL;
        r = vc_obj_to_json(v->ctx, &vc_schema_sandbox_config, &cfg, &j);
        vc_obj_clear(v->ctx, &vc_schema_sandbox_config, &cfg);
        if (r < 0)
            return vcctl_fail(v, what, vc_err(v->ctx, r, "out of memory"));
        vcctl_print_json(j, false);
        return VCCTL_EXIT_OK;
    }
    if (r >= 0)
        r = run ? vc_sandbox_run(v->ctx, &cfg) : vc_sandbox_create(v->ctx, &cfg);
    if (r < 0) {
        vc_obj_clear(v->ctx, &vc_schema_sandbox_config, &cfg);
        return vcctl_fail(v, what, r);
    }
    r = vcctl_print_after(v, what, cfg.id);
    vc_obj_clear(v->ctx, &vc_schema_sandbox_config, &cfg);
    return r;
}

int vcctl_cmd_create(struct vcctl *v, const struct vcctl_args *a)
{
    return sb_create(v, a, false);
}

int vcctl_cmd_run(struct vcctl *v, const struct vcctl_args *a)
{
    return sb_create(v, a, true);
}

/* --- lifecycle -------------------------------------------------------------------------------- */

int vcctl_cmd_start(struct vcctl *v, const struct vcctl_args *a)
{
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_sandbox_start(v->ctx, a->pos[0]);
    return r < 0 ? vcctl_fail(v, "start", r) : vcctl_print_after(v, "start", a->pos[0]);
}

int vcctl_cmd_stop(struct vcctl *v, const struct vcctl_args *a)
{
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_sandbox_stop(v->ctx, a->pos[0], a->force);
    return r < 0 ? vcctl_fail(v, "stop", r) : vcctl_print_after(v, "stop", a->pos[0]);
}

int vcctl_cmd_delete(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_sandbox_status *st = NULL;
    json_object *j;
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    if (a->force) {
        /* A running sandbox cannot be deleted: stop it first, past any error on the way. */
        r = vc_sandbox_status(v->ctx, a->pos[0], &st);
        if (r >= 0 && st->state == VC_STATE_RUNNING)
            r = vc_sandbox_stop(v->ctx, a->pos[0], true);
        vc_sandbox_status_free(v->ctx, st);
        if (r < 0)
            return vcctl_fail(v, "delete", r);
    }
    r = vc_sandbox_delete(v->ctx, a->pos[0]);
    if (r < 0)
        return vcctl_fail(v, "delete", r);
    if (v->json && (j = json_object_new_object())) {
        (void) json_object_object_add(j, "id", json_object_new_string(a->pos[0]));
        (void) json_object_object_add(j, "deleted", json_object_new_boolean(1));
        vcctl_print_json(j, false);
    }
    return VCCTL_EXIT_OK;
}

static int sb_toggle(struct vcctl *v, const struct vcctl_args *a, bool pause)
{
    const char *what = pause ? "pause" : "resume";
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    if (a->n_pos > 1)
        r = pause ? vc_container_pause(v->ctx, a->pos[0], a->pos[1])
                  : vc_container_resume(v->ctx, a->pos[0], a->pos[1]);
    else
        r = pause ? vc_sandbox_pause(v->ctx, a->pos[0]) : vc_sandbox_resume(v->ctx, a->pos[0]);
    return r < 0 ? vcctl_fail(v, what, r) : vcctl_print_after(v, what, a->pos[0]);
}

int vcctl_cmd_pause(struct vcctl *v, const struct vcctl_args *a)
{
    return sb_toggle(v, a, true);
}

int vcctl_cmd_resume(struct vcctl *v, const struct vcctl_args *a)
{
    return sb_toggle(v, a, false);
}

int vcctl_cmd_sync_time(struct vcctl *v, const struct vcctl_args *a)
{
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_sandbox_set_guest_date_time(v->ctx, a->pos[0]);
    return r < 0 ? vcctl_fail(v, "sync-time", r) : vcctl_print_after(v, "sync-time", a->pos[0]);
}

/* --- queries ---------------------------------------------------------------------------------- */

int vcctl_cmd_state(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_sandbox_status *sb = NULL;
    struct vc_container_status *ct = NULL;
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    if (a->n_pos > 1) {
        r = vc_container_status(v->ctx, a->pos[0], a->pos[1], &ct);
        r = r < 0 ? vcctl_fail(v, "state", r) : vcctl_print_container(v, ct);
        vc_container_status_free(v->ctx, ct);
        return r;
    }
    r = vc_sandbox_status(v->ctx, a->pos[0], &sb);
    r = r < 0 ? vcctl_fail(v, "state", r) : vcctl_print_sandbox(v, sb);
    vc_sandbox_status_free(v->ctx, sb);
    return r;
}

int vcctl_cmd_list(struct vcctl *v, const struct vcctl_args *a)
{
    struct vc_sandbox_status *st = NULL;
    size_t n = 0;
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_sandbox_list(v->ctx, &st, &n);
    if (r == -ENOENT) /* no store yet: nothing stored */
        r = 0;
    if (r < 0)
        return vcctl_fail(v, "list", r);
    r = vcctl_print_list(v, st, n);
    vc_sandbox_status_list_free(v->ctx, st, n);
    return r;
}

int vcctl_cmd_check(struct vcctl *v, const struct vcctl_args *a)
{
    int r = vcctl_open(v);

    if (r != VCCTL_EXIT_OK)
        return r;
    r = vc_sandbox_check(v->ctx, a->pos[0]);
    if (r < 0)
        return vcctl_fail(v, "check", r);
    if (!v->json)
        printf("sandbox '%s' is healthy\n", a->pos[0]);
    return vcctl_print_after(v, "check", a->pos[0]);
}

int vcctl_cmd_config(struct vcctl *v, const struct vcctl_args *a)
{
    const char *root;
    json_object *j = NULL;
    int r = vcctl_config_load(v->ctx, v->config_path, &v->cfg);

    if (r < 0)
        return vcctl_fail(v, "config", r);
    r = vcctl_config_to_json(v->ctx, &v->cfg, &j);
    if (r < 0)
        return vcctl_fail(v, "config", r);
    /* The root the store would really use, defaults applied (null when there is none). */
    root = v->root ? v->root : v->cfg.root;
    if (vc_store_fs_new(v->ctx, root, &v->store) >= 0)
        root = vc_store_fs_root(v->store);
    else
        root = NULL;
    (void) json_object_object_add(j, "store", root ? json_object_new_string(root) : NULL);
    vcctl_print_json(j, false);
    return VCCTL_EXIT_OK;
}
