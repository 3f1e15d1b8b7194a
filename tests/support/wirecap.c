/* SPDX-License-Identifier: Apache-2.0 */
/* The wire capture writer (wirecap.h): a context's wire tap appending each frame to a file, for
 * the e2e tests to record real host<->guest ttrpc traffic. Test support in the real world: it
 * writes files and reads the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wirecap.h"

struct vctest_wirecap {
    FILE *f;        /* the capture file */
    size_t records; /* records written */
    size_t errors;  /* records that could not be written */
};

int vctest_wirecap_open(const char *dir, const char *name, struct vctest_wirecap **ret)
{
    struct vctest_wirecap *w;
    char path[4096];

    if (!dir || !name || !ret)
        return -EINVAL;
    if (snprintf(path, sizeof(path), "%s/%s-%ld.wcap", dir, name, (long) getpid()) >=
        (int) sizeof(path))
        return -ENAMETOOLONG;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->f = fopen(path, "wbe");
    if (!w->f ||
        fwrite(VCTEST_WIRECAP_MAGIC, 1, VCTEST_WIRECAP_MAGIC_LEN, w->f) !=
            VCTEST_WIRECAP_MAGIC_LEN ||
        fflush(w->f) != 0) {
        int r = -errno;

        vctest_wirecap_close(w);
        return r < 0 ? r : -EIO;
    }
    *ret = w;
    return 0;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

void vctest_wirecap_tap(void *data, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                        const uint8_t *body, size_t len)
{
    struct vctest_wirecap *w = data;
    uint8_t rec[VCTEST_WIRECAP_REC_HDR];

    if (!w->f || len > UINT32_MAX || conn > UINT32_MAX) {
        w->errors++;
        return;
    }
    rec[0] = dir == VC_WIRE_SEND ? 0 : 1;
    /* A received header declaring data that never came: the tap hands no body. */
    rec[1] = !body && vctest_wirecap_be32(hdr) != 0 ? VCTEST_WIRECAP_SKIPPED : 0;
    be32(rec + 2, (uint32_t) conn);
    be32(rec + 6, (uint32_t) len);
    memcpy(rec + 10, hdr, 10);
    if (fwrite(rec, 1, sizeof(rec), w->f) != sizeof(rec) ||
        (len && fwrite(body, 1, len, w->f) != len) || fflush(w->f) != 0) {
        w->errors++;
        return;
    }
    w->records++;
}

size_t vctest_wirecap_records(const struct vctest_wirecap *w)
{
    return w ? w->records : 0;
}

size_t vctest_wirecap_errors(const struct vctest_wirecap *w)
{
    return w ? w->errors : 0;
}

void vctest_wirecap_close(struct vctest_wirecap *w)
{
    if (!w)
        return;
    if (w->f)
        (void) fclose(w->f);
    free(w);
}

struct vctest_wirecap *vctest_wirecap_install(struct vc_ctx *ctx, const char *name)
{
    const char *dir = getenv(VCTEST_WIRECAP_ENV);
    struct vctest_wirecap *w = NULL;
    int r;

    if (!dir || !*dir)
        return NULL;
    r = vctest_wirecap_open(dir, name, &w);
    if (r < 0) {
        fprintf(stderr, "wirecap: cannot capture into %s: %s\n", dir, strerror(-r));
        return NULL;
    }
    vc_ctx_set_wire_tap(ctx, vctest_wirecap_tap, w);
    return w;
}
