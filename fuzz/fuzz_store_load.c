/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the persisted-state loader: the input is the document a store returns for a sandbox
 * ("sb", byte 0 even) or a container ("c1" of "sb", odd), loaded with vc_sb_doc_load /
 * vc_ct_doc_load (the fast vc_obj_read_json path with json-c as the fallback); a loaded document is
 * saved again (written back with vc_obj_format_json) and freed. A store of one document stands in
 * for the disk. */
#include <string.h>

#include <vc/store.h>

#include "fuzz_common.h"
#include "sandbox.h"
#include "schema.h"

/* The one-document store. */
struct fz_store {
    struct vc_store base; /* must be first */
    const uint8_t *doc;   /* the document (borrowed input) */
    size_t len;           /* its length */
};

static void fz_store_free(struct vc_store *store)
{
}

static int fz_store_put(struct vc_store *store, const char *sandbox_id, const char *container_id,
                        const void *buf, size_t len)
{
    FZ_ASSERT(len <= VC_STORE_DOC_MAX && (len == 0 || buf));
    return 0;
}

static int fz_store_get(struct vc_store *store, const char *sandbox_id, const char *container_id,
                        char **ret, size_t *ret_len)
{
    struct fz_store *s = (struct fz_store *) store;
    char *b = vc_malloc(store->ctx, s->len + 1);

    if (!b)
        return -ENOMEM;
    if (s->len > 0)
        memcpy(b, s->doc, s->len);
    b[s->len] = 0;
    *ret = b;
    *ret_len = s->len;
    return 0;
}

static const struct vc_store_ops fz_store_ops = {
    .version = VC_STORE_OPS_V1,
    .name = "fuzz",
    .free = fz_store_free,
    .put = fz_store_put,
    .get = fz_store_get,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_plain p;
    struct fz_store st;

    if (size < 1 || size - 1 > VC_STORE_DOC_MAX)
        return 0;
    fz_plain_new(&p);
    st = (struct fz_store){{&fz_store_ops, p.ctx}, data + 1, size - 1};
    vc_ctx_set_store(p.ctx, &st.base);
    if (data[0] & 1) {
        struct vc_ct_doc doc;

        if (vc_ct_doc_load(p.ctx, "sb", "c1", &doc) == 0) {
            (void) vc_ct_doc_save(p.ctx, "sb", "c1", &doc);
            vc_ct_doc_clear(p.ctx, &doc);
        }
    } else {
        struct vc_sb_doc doc;

        if (vc_sb_doc_load(p.ctx, "sb", &doc) == 0) {
            (void) vc_sb_doc_save(p.ctx, "sb", &doc);
            vc_sb_doc_clear(p.ctx, &doc);
        }
    }
    fz_plain_free(&p);
    return 0;
}
