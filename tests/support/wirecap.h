/* SPDX-License-Identifier: Apache-2.0 */
/* Wire captures: the ttrpc frames a context's clients sent and received (vc_ctx_set_wire_tap),
 * written to a file by the e2e tests when $VC_WIRE_CAPTURE_DIR is set and turned into fuzz seeds
 * by `fuzz_record --from-capture`. The format and its reader are here (inline, so the fuzz tools
 * read captures without linking the test support library); the writer is wirecap.c. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vc/ctx.h>

/* A capture file: the 8 magic bytes, then one record per frame in the order the tap saw them:
 * dir (1 byte: 0 sent, 1 received), flags (1 byte: bit 0 the data was skipped, the frame being
 * over the message limit), conn (4 bytes, big-endian: the tap's connection serial), n (4 bytes,
 * big-endian: data bytes that follow the header), the frame's 10 header bytes, n data bytes. */
#define VCTEST_WIRECAP_MAGIC     "VCWCAP1\n"
#define VCTEST_WIRECAP_MAGIC_LEN 8
#define VCTEST_WIRECAP_REC_HDR   20 /* dir, flags, conn, n, frame header */
#define VCTEST_WIRECAP_ENV       "VC_WIRE_CAPTURE_DIR"

enum {
    VCTEST_WIRECAP_SKIPPED = 1u << 0, /* the frame's data was not received (oversized) */
};

/* One record, pointing into the capture's bytes. */
struct vctest_wirecap_rec {
    enum vc_wire_dir dir; /* sent or received by the runtime */
    unsigned flags;       /* VCTEST_WIRECAP_* */
    uint32_t conn;        /* connection serial */
    const uint8_t *frame; /* the whole frame: 10 header bytes, then len - 10 data bytes */
    size_t len;           /* bytes at frame */
};

static inline uint32_t vctest_wirecap_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Whether buf starts like a capture; *off is then set past the magic. */
static inline bool vctest_wirecap_check(const uint8_t *buf, size_t len, size_t *off)
{
    if (len < VCTEST_WIRECAP_MAGIC_LEN ||
        memcmp(buf, VCTEST_WIRECAP_MAGIC, VCTEST_WIRECAP_MAGIC_LEN) != 0)
        return false;
    *off = VCTEST_WIRECAP_MAGIC_LEN;
    return true;
}

/* Reads the record at *off of a capture held whole in buf. 1 with *ret filled and *off moved
 * past it, 0 at the end, -EBADMSG for a truncated or malformed record (a test killed while
 * writing leaves one: the records before it are good). */
static inline int vctest_wirecap_next(const uint8_t *buf, size_t len, size_t *off,
                                      struct vctest_wirecap_rec *ret)
{
    const uint8_t *p = buf + *off;
    size_t left = len - *off;
    uint32_t n;

    if (left == 0)
        return 0;
    if (left < VCTEST_WIRECAP_REC_HDR || p[0] > VC_WIRE_RECV)
        return -EBADMSG;
    n = vctest_wirecap_be32(p + 6);
    if (n > left - VCTEST_WIRECAP_REC_HDR)
        return -EBADMSG;
    *ret = (struct vctest_wirecap_rec){
        .dir = p[0] == 0 ? VC_WIRE_SEND : VC_WIRE_RECV,
        .flags = p[1],
        .conn = vctest_wirecap_be32(p + 2),
        .frame = p + 10,
        .len = 10 + (size_t) n,
    };
    *off += VCTEST_WIRECAP_REC_HDR + n;
    return 1;
}

struct vctest_wirecap;

/* Opens <dir>/<name>-<pid>.wcap for writing (the pid keeps forked tests apart). 0 or -errno;
 * *ret is freed with vctest_wirecap_close. */
int vctest_wirecap_open(const char *dir, const char *name, struct vctest_wirecap **ret);
/* The tap (vc_wire_tap_fn) writing to data, a struct vctest_wirecap. Each record is flushed at
 * once, so a test that dies keeps what it captured. Write errors are counted, never fatal. */
void vctest_wirecap_tap(void *data, uint64_t conn, enum vc_wire_dir dir, const uint8_t hdr[10],
                        const uint8_t *body, size_t len);
/* Records written so far, and failed writes. */
size_t vctest_wirecap_records(const struct vctest_wirecap *w);
size_t vctest_wirecap_errors(const struct vctest_wirecap *w);
/* Closes the file and frees w. NULL-safe. */
void vctest_wirecap_close(struct vctest_wirecap *w);

/* For the e2e fixtures: with $VC_WIRE_CAPTURE_DIR set, opens a capture named name there and
 * installs it as ctx's wire tap; NULL otherwise (or when the file cannot be made: a warning is
 * printed and the test goes on without it). Close it with vctest_wirecap_close after freeing
 * ctx (freeing the context may still end connections). */
struct vctest_wirecap *vctest_wirecap_install(struct vc_ctx *ctx, const char *name);
