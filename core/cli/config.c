/* SPDX-License-Identifier: Apache-2.0 */
/* vcctl's configuration file and sandbox config files: reading them (JSON, or YAML through
 * yaml.c) within fixed limits, refusing keys the model does not have (a typo must not silently
 * fall back to a default), merging documents, and filling the model structs through the core's
 * schema descriptors. Real-world only: this file reads files and the environment. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema.h"
#include "vcctl.h"

#define VCCTL_PATH_MAX      4096 /* longest config path built from the environment */
#define VCCTL_KEY_PATH_MAX  256  /* bytes of a key path kept for messages */
#define VCCTL_DEFAULT_VCPUS 1u
#define VCCTL_DEFAULT_MB    2048u
#define VCCTL_DEFAULT_HV    "qemu"
#define VCCTL_DEFAULT_AGENT "kata"

/* --- files ------------------------------------------------------------------------------------ */

/* Reads a regular file of at most VCCTL_DOC_MAX bytes, NUL-terminated. */
static int vcctl_file_read(struct vc_ctx *ctx, const char *path, char **ret, size_t *ret_len)
{
    struct stat st;
    size_t len = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r = 0;

    if (fd < 0)
        return vc_err(ctx, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0)
        r = vc_err(ctx, -errno, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = vc_err(ctx, -EINVAL, "%s: not a regular file", path);
    else if ((uint64_t) st.st_size > VCCTL_DOC_MAX)
        r = vc_err(ctx, -EFBIG, "%s: larger than %u bytes", path, VCCTL_DOC_MAX);
    else if (!(buf = vc_malloc(ctx, (size_t) st.st_size + 1)))
        r = vc_err(ctx, -ENOMEM, "out of memory");
    while (r >= 0 && len < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = vc_err(ctx, -errno, "%s: %s", path, strerror(errno));
        else if (n == 0)
            break; /* shrank while reading: take what is there */
        else
            len += (size_t) n;
    }
    (void) close(fd);
    if (r < 0) {
        vc_free(ctx, buf);
        return r;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

static bool vcctl_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int vcctl_doc_load(struct vc_ctx *ctx, const char *path, json_object **ret)
{
    char *buf = NULL;
    size_t len = 0, i = 0;
    bool yaml;
    int r = vcctl_file_read(ctx, path, &buf, &len);

    if (r < 0)
        return r;
    while (i < len && strchr(" \t\r\n", buf[i]))
        i++;
    yaml = vcctl_ends_with(path, ".yaml") || vcctl_ends_with(path, ".yml") ||
           (!vcctl_ends_with(path, ".json") && (i == len || buf[i] != '{'));
    if (yaml)
        r = vcctl_yaml_parse(ctx, path, buf, len, ret);
    else
        r = vc_json_parse(ctx, path, buf, len, ret);
    vc_free(ctx, buf);
    return r;
}

/* --- schema checks ---------------------------------------------------------------------------- */

static const struct vc_field *vcctl_field(const struct vc_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

/* Appends ".key" or "[i]" to path (cut at the buffer's end). */
static size_t vcctl_path_add(char *path, size_t len, const char *key, long idx)
{
    int n;

    if (len >= VCCTL_KEY_PATH_MAX - 1)
        return len;
    if (key)
        n = snprintf(path + len, VCCTL_KEY_PATH_MAX - len, "%s%s", len ? "." : "", key);
    else
        n = snprintf(path + len, VCCTL_KEY_PATH_MAX - len, "[%ld]", idx);
    len += n > 0 ? (size_t) n : 0;
    return len < VCCTL_KEY_PATH_MAX ? len : VCCTL_KEY_PATH_MAX - 1;
}

static int vcctl_check(struct vc_ctx *ctx, const char *what, const struct vc_schema *s,
                       json_object *j, char *path, size_t len, unsigned depth)
{
    struct json_object_iter it;

    if (depth > VCCTL_DEPTH)
        return vc_err(ctx, -E2BIG, "%s: %s: nested too deeply", what, path);
    if (!json_object_is_type(j, json_type_object))
        return 0; /* vc_obj_from_json names the wrong type */
    json_object_object_foreachC(j, it)
    {
        const struct vc_field *f = vcctl_field(s, it.key);
        json_object *val = it.val;
        size_t n = vcctl_path_add(path, len, it.key, 0);
        int r = 0;

        if (!f)
            return vc_err(ctx, -EINVAL, "%s: unknown key '%s'", what, path);
        if (f->kind == VC_FIELD_STRUCT)
            r = vcctl_check(ctx, what, f->sub, val, path, n, depth + 1);
        for (size_t i = 0;
             r >= 0 && f->kind == VC_FIELD_STRUCTV && json_object_is_type(val, json_type_array) &&
             i < json_object_array_length(val);
             i++)
            r = vcctl_check(ctx, what, f->sub, json_object_array_get_idx(val, i), path,
                            vcctl_path_add(path, n, NULL, (long) i), depth + 1);
        if (r < 0)
            return r;
        path[len] = '\0';
    }
    return 0;
}

int vcctl_schema_check(struct vc_ctx *ctx, const char *what, const struct vc_schema *s,
                       json_object *j)
{
    char path[VCCTL_KEY_PATH_MAX] = "";

    return vcctl_check(ctx, what, s, j, path, 0, 0);
}

/* Checks j against s and fills obj (zeroed) from it; errors name the file. */
static int vcctl_fill(struct vc_ctx *ctx, const char *what, const struct vc_schema *s,
                      json_object *j, void *obj)
{
    int r = vcctl_schema_check(ctx, what, s, j);

    if (r < 0)
        return r;
    r = vc_obj_from_json(ctx, s, j, obj);
    return r < 0 && r != -ENOMEM ? vc_err_prefix(ctx, r, "%s", what) : r;
}

json_object *vcctl_json_merge(json_object *base, json_object *over)
{
    json_object *m = json_object_new_object();
    struct json_object_iter it;

    if (!m)
        return NULL;
    if (base && json_object_is_type(base, json_type_object)) {
        json_object_object_foreachC(base, it)
        {
            if (json_object_object_add(m, it.key, json_object_get(it.val)) < 0)
                goto fail;
        }
    }
    if (!over || !json_object_is_type(over, json_type_object))
        return m;
    json_object_object_foreachC(over, it)
    {
        json_object *old = json_object_object_get(m, it.key), *nv;

        if (old && json_object_is_type(old, json_type_object) &&
            json_object_is_type(it.val, json_type_object))
            nv = vcctl_json_merge(old, it.val);
        else
            nv = json_object_get(it.val);
        if ((!nv && it.val) || json_object_object_add(m, it.key, nv) < 0)
            goto fail;
    }
    return m;
fail:
    json_object_put(m);
    return NULL;
}

/* --- the configuration ------------------------------------------------------------------------ */

/* The file to read: explicit, $VC_CONFIG, then the first default that exists. NULL for none;
 * *must says whether it has to exist. */
static const char *vcctl_config_path(const char *explicit_path, char *buf, size_t size, bool *must)
{
    const char *env = getenv("VC_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    *must = true;
    if (explicit_path)
        return explicit_path;
    if (env && *env)
        return env;
    *must = false;
    if (access("/etc/vc/config.json", F_OK) == 0)
        return "/etc/vc/config.json";
    if (xdg && xdg[0] == '/')
        snprintf(buf, size, "%s/vc/config.json", xdg);
    else if (home && home[0] == '/')
        snprintf(buf, size, "%s/.config/vc/config.json", home);
    else
        return NULL;
    return access(buf, F_OK) == 0 ? buf : NULL;
}

static int vcctl_config_parse(struct vc_ctx *ctx, const char *path, json_object *j,
                              struct vcctl_config *cfg)
{
    struct json_object_iter it;
    json_object *v;
    int r = 0;

    if (!json_object_is_type(j, json_type_object))
        return vc_err(ctx, -EINVAL, "%s: expected an object", path);
    json_object_object_foreachC(j, it)
    {
        if (strcmp(it.key, "root") != 0 && strcmp(it.key, "hypervisor") != 0 &&
            strcmp(it.key, "agent") != 0)
            return vc_err(ctx, -EINVAL, "%s: unknown key '%s' (expected root, hypervisor, agent)",
                          path, it.key);
    }
    if (json_object_object_get_ex(j, "root", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')
            return vc_err(ctx, -EINVAL, "%s: root: expected an absolute path", path);
        cfg->root = vc_strdup(ctx, json_object_get_string(v));
        if (!cfg->root)
            return vc_err(ctx, -ENOMEM, "out of memory");
    }
    if (json_object_object_get_ex(j, "hypervisor", &v))
        r = vcctl_fill(ctx, path, &vc_schema_hv_config, v, &cfg->hv);
    if (r >= 0 && json_object_object_get_ex(j, "agent", &v))
        r = vcctl_fill(ctx, path, &vc_schema_agent_config, v, &cfg->agent);
    return r;
}

int vcctl_config_load(struct vc_ctx *ctx, const char *explicit_path, struct vcctl_config *ret)
{
    struct vcctl_config cfg = {0};
    char buf[VCCTL_PATH_MAX];
    json_object *j = NULL;
    bool must;
    const char *path = vcctl_config_path(explicit_path, buf, sizeof(buf), &must);
    int r = 0;

    if (path) {
        r = vcctl_doc_load(ctx, path, &j);
        if (r == -ENOENT && !must)
            r = 0;
        else if (r >= 0)
            r = vcctl_config_parse(ctx, path, j, &cfg);
        json_object_put(j);
        if (r >= 0 && !(cfg.path = vc_strdup(ctx, path)))
            r = vc_err(ctx, -ENOMEM, "out of memory");
    }
    if (r >= 0 && !cfg.hv.kind && !(cfg.hv.kind = vc_strdup(ctx, VCCTL_DEFAULT_HV)))
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r >= 0 && !cfg.agent.kind && !(cfg.agent.kind = vc_strdup(ctx, VCCTL_DEFAULT_AGENT)))
        r = vc_err(ctx, -ENOMEM, "out of memory");
    if (r < 0) {
        vcctl_config_clear(ctx, &cfg);
        return r;
    }
    if (!cfg.hv.vcpus)
        cfg.hv.vcpus = VCCTL_DEFAULT_VCPUS;
    if (!cfg.hv.memory_mb)
        cfg.hv.memory_mb = VCCTL_DEFAULT_MB;
    *ret = cfg;
    return 0;
}

void vcctl_config_clear(struct vc_ctx *ctx, struct vcctl_config *cfg)
{
    if (!ctx || !cfg)
        return;
    vc_free(ctx, cfg->path);
    vc_free(ctx, cfg->root);
    vc_obj_clear(ctx, &vc_schema_hv_config, &cfg->hv);
    vc_obj_clear(ctx, &vc_schema_agent_config, &cfg->agent);
    *cfg = (struct vcctl_config){0};
}

int vcctl_config_to_json(struct vc_ctx *ctx, const struct vcctl_config *cfg, json_object **ret)
{
    json_object *j = json_object_new_object(), *hv = NULL, *agent = NULL;
    int r = j ? 0 : -ENOMEM;

    if (r >= 0)
        r = vc_obj_to_json(ctx, &vc_schema_hv_config, &cfg->hv, &hv);
    if (r >= 0)
        r = vc_obj_to_json(ctx, &vc_schema_agent_config, &cfg->agent, &agent);
    if (r >= 0) {
        (void) json_object_object_add(j, "file",
                                      cfg->path ? json_object_new_string(cfg->path) : NULL);
        (void) json_object_object_add(j, "root",
                                      cfg->root ? json_object_new_string(cfg->root) : NULL);
        (void) json_object_object_add(j, "hypervisor", hv);
        (void) json_object_object_add(j, "agent", agent);
        *ret = j;
        return 0;
    }
    json_object_put(hv);
    json_object_put(agent);
    json_object_put(j);
    return vc_err(ctx, r, "out of memory");
}
