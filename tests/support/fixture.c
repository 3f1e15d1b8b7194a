/* SPDX-License-Identifier: Apache-2.0 */
/* The test fixture (fixture.h). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "fixture.h"
#include "schema.h"

static int fixture_fault(void *data, struct vc_ctx *ctx, const char *point)
{
    struct fixture *fx = data;

    if (strcmp(point, "alloc") == 0 && (!fx->fail_prefix || strcmp(fx->fail_prefix, "alloc")))
        return 0;
    if (fx->record && fx->n_points < FIX_MAX_POINTS)
        fx->points[fx->n_points++] = strdup(point);
    if (fx->fail_prefix && strncmp(point, fx->fail_prefix, strlen(fx->fail_prefix)) != 0)
        return 0;
    fx->hits++;
    if (fx->fail_at && fx->hits == fx->fail_at) {
        free(fx->failed_point);
        fx->failed_point = strdup(point);
        return fx->fail_errno;
    }
    return 0;
}

struct fixture *fixture_new(void)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    (void) snprintf(fx->root, sizeof(fx->root), "/tmp/vc-test-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    assert_int_equal(vc_ctx_new_real(fx->root, &fx->ctx), 0);
    assert_int_equal(simhv_world_new(&(struct simhv_options){.seed = FIX_SEED}, &fx->world), 0);
    assert_int_equal(vc_ctx_register_hv(fx->ctx, &simhv_ops, fx->world), 0);
    vc_ctx_set_fault(fx->ctx, fixture_fault, fx);
    fx->record = true;
    return fx;
}

void fixture_clear_points(struct fixture *fx)
{
    for (size_t i = 0; i < fx->n_points; i++)
        free(fx->points[i]);
    fx->n_points = 0;
}

void fixture_fail_nth(struct fixture *fx, const char *prefix, unsigned nth, int err)
{
    fx->fail_prefix = prefix;
    fx->fail_at = nth;
    fx->fail_errno = err;
    fx->hits = 0;
    free(fx->failed_point);
    fx->failed_point = NULL;
}

static void rm_rf(const char *path)
{
    struct stat st;
    DIR *d;

    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char sub[1024];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            (void) snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        (void) rmdir(path);
    } else {
        (void) unlink(path);
    }
}

void fixture_free(struct fixture *fx)
{
    if (!fx)
        return;
    fixture_clear_points(fx);
    free(fx->failed_point);
    vc_ctx_free(fx->ctx);
    simhv_world_free(fx->world);
    rm_rf(fx->root);
    free(fx);
}

static char **strv(struct vc_ctx *ctx, size_t n, ...)
{
    char **v = vc_new0(ctx, char *, n);
    va_list ap;

    assert_non_null(v);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_non_null(v[i] = vc_strdup(ctx, va_arg(ap, const char *)));
    va_end(ap);
    return v;
}

static void fill_container(struct vc_ctx *ctx, struct vc_container_config *c, const char *id)
{
    *c = (struct vc_container_config){0};
    assert_non_null(c->id = vc_strdup(ctx, id));
    assert_non_null(c->rootfs = vc_strdup(ctx, "/var/lib/vc/rootfs"));
    c->process.args = strv(ctx, 1, "sh");
    c->process.n_args = 1;
    c->process.env = strv(ctx, 1, "PATH=/bin");
    c->process.n_env = 1;
    assert_non_null(c->process.cwd = vc_strdup(ctx, "/"));
}

struct vc_sandbox_config *fixture_sandbox_config(struct fixture *fx, const char *id, size_t n)
{
    return fixture_sandbox_config_in(fx->ctx, id, n);
}

struct vc_sandbox_config *fixture_sandbox_config_in(struct vc_ctx *ctx, const char *id, size_t n)
{
    struct vc_sandbox_config *cfg = vc_new0(ctx, struct vc_sandbox_config, 1);

    assert_non_null(cfg);
    assert_non_null(cfg->id = vc_strdup(ctx, id));
    assert_non_null(cfg->hostname = vc_strdup(ctx, id));
    assert_non_null(cfg->hv.kind = vc_strdup(ctx, "sim"));
    cfg->hv.vcpus = 1;
    cfg->hv.max_vcpus = 4;
    cfg->hv.memory_mb = 256;
    cfg->hv.max_memory_mb = 2048;
    cfg->hv.mem_slots = 4;
    assert_non_null(cfg->agent.kind = vc_strdup(ctx, "noop"));
    if (n) {
        cfg->containers = vc_new0(ctx, struct vc_container_config, n);
        assert_non_null(cfg->containers);
    }
    for (size_t i = 0; i < n; i++) {
        char cid[32];
        (void) snprintf(cid, sizeof(cid), "c%zu", i + 1);
        fill_container(ctx, &cfg->containers[i], cid);
    }
    cfg->n_containers = n;
    return cfg;
}

struct vc_container_config *fixture_container_config(struct fixture *fx, const char *id)
{
    struct vc_container_config *c = vc_new0(fx->ctx, struct vc_container_config, 1);

    assert_non_null(c);
    fill_container(fx->ctx, c, id);
    return c;
}

void fixture_container_config_free(struct fixture *fx, struct vc_container_config *cfg)
{
    vc_obj_clear(fx->ctx, &vc_schema_container_config, cfg);
    vc_free(fx->ctx, cfg);
}

static size_t count_entries(const char *path)
{
    struct dirent *e;
    size_t n = 0;
    DIR *d = opendir(path);

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        char sub[1024];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        (void) snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_entries(sub);
    }
    closedir(d);
    return n;
}

size_t fixture_store_entries(const struct fixture *fx)
{
    char sbs[300];

    (void) snprintf(sbs, sizeof(sbs), "%s/sbs", fx->root);
    return count_entries(sbs);
}
