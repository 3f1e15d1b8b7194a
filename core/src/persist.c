/* SPDX-License-Identifier: Apache-2.0 */
/* Sandbox and container documents: JSON through the context's store, written and (when plain)
 * read straight from and into the structs, otherwise parsed by json-c. A document that does not
 * parse, has the wrong shape or names an unknown state is -EBADMSG; one written by a
 * newer version is -EPROTO; both with a message naming the sandbox. */
#include <errno.h>
#include <string.h>

#include "schema.h"
#include "sandbox.h"

#define VC_LOG_TOPIC "persist"

#define FLD(T, kind, f)                                                                            \
    {                                                                                              \
#f, kind, offsetof(T, f), 0, NULL                                                          \
    }
#define SUB(T, f, s)                                                                               \
    {                                                                                              \
#f, VC_FIELD_STRUCT, offsetof(T, f), 0, &(s)                                               \
    }
#define VEC(T, kind, f, n, s)                                                                      \
    {                                                                                              \
#f, kind, offsetof(T, f), offsetof(T, n), s                                                \
    }

static const struct vc_field ct_doc_f[] = {
    FLD(struct vc_ct_doc, VC_FIELD_U32, version),
    FLD(struct vc_ct_doc, VC_FIELD_STR, state),
    SUB(struct vc_ct_doc, config, vc_schema_container_config),
    SUB(struct vc_ct_doc, process, vc_schema_process),
    VEC(struct vc_ct_doc, VC_FIELD_STRUCTV, execs, n_execs, &vc_schema_process),
    FLD(struct vc_ct_doc, VC_FIELD_BOOL, paused_by_sandbox),
};
static const struct vc_schema ct_doc_schema = {"container", sizeof(struct vc_ct_doc), ct_doc_f,
                                               sizeof(ct_doc_f) / sizeof(ct_doc_f[0])};

static const struct vc_field sb_doc_f[] = {
    FLD(struct vc_sb_doc, VC_FIELD_U32, version),
    FLD(struct vc_sb_doc, VC_FIELD_STR, state),
    SUB(struct vc_sb_doc, config, vc_schema_sandbox_config),
    FLD(struct vc_sb_doc, VC_FIELD_STR, hv_state),
    FLD(struct vc_sb_doc, VC_FIELD_STR, agent_state),
    FLD(struct vc_sb_doc, VC_FIELD_STR, agent_url),
    FLD(struct vc_sb_doc, VC_FIELD_U32, vcpus),
    FLD(struct vc_sb_doc, VC_FIELD_U32, memory_mb),
    FLD(struct vc_sb_doc, VC_FIELD_U32, mem_block_mb),
    FLD(struct vc_sb_doc, VC_FIELD_BOOL, mem_probe),
    VEC(struct vc_sb_doc, VC_FIELD_STRUCTV, devices, n_devices, &vc_schema_device),
    VEC(struct vc_sb_doc, VC_FIELD_STRUCTV, interfaces, n_interfaces, &vc_schema_interface),
    VEC(struct vc_sb_doc, VC_FIELD_STRUCTV, routes, n_routes, &vc_schema_route),
    VEC(struct vc_sb_doc, VC_FIELD_STRV, containers, n_containers, NULL),
    /* Added after version 1 shipped: absent (older documents) reads as empty, and an empty list
     * is not written, so older readers see the documents they know. */
    VEC(struct vc_sb_doc, VC_FIELD_STRV, guest_leftovers, n_guest_leftovers, NULL),
};
static const struct vc_schema sb_doc_schema = {"sandbox", sizeof(struct vc_sb_doc), sb_doc_f,
                                               sizeof(sb_doc_f) / sizeof(sb_doc_f[0])};

/* Documents up to this size are written from the stack; larger ones take one allocation. */
#define PERSIST_DOC_STACK 8192

static int doc_save(struct vc_ctx *ctx, const struct vc_schema *s, const char *sid, const char *cid,
                    const void *doc)
{
    char stack[PERSIST_DOC_STACK];
    char *heap = NULL;
    size_t len;
    int r;

    len = vc_obj_format_json(s, doc, VC_OBJ_JSON_PRETTY, stack, sizeof(stack));
    if (len >= sizeof(stack)) {
        heap = vc_malloc(ctx, len + 1);
        if (!heap)
            return vc_err(ctx, -ENOMEM, "cannot encode %s document", s->name);
        (void) vc_obj_format_json(s, doc, VC_OBJ_JSON_PRETTY, heap, len + 1);
    }
    r = vc_store_put(vc_ctx_store(ctx), sid, cid, heap ? heap : stack, len);
    vc_free(ctx, heap);
    return r;
}

/* Parses a document with json-c and fills doc from the tree: the path for text that
 * vc_obj_read_json leaves to json-c. A newer version is -EPROTO, checked before the shape since
 * it decides how to read the rest. */
static int doc_parse_general(struct vc_ctx *ctx, const struct vc_schema *s, const char *what,
                             const char *buf, size_t len, void *doc)
{
    json_object *j = NULL, *v;
    int r;

    r = vc_json_parse(ctx, "store", buf, len, &j);
    if (r < 0)
        return vc_err_prefix(ctx, -EBADMSG, "%s '%s': corrupt document", s->name, what);
    if (json_object_object_get_ex(j, "version", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) > VC_PERSIST_VERSION) {
        r = vc_err(ctx, -EPROTO, "%s '%s': document version %lld is newer than supported %u",
                   s->name, what, (long long) json_object_get_int64(v), VC_PERSIST_VERSION);
        json_object_put(j);
        return r;
    }
    memset(doc, 0, s->size);
    r = vc_obj_from_json(ctx, s, j, doc);
    json_object_put(j);
    if (r < 0)
        return vc_err_prefix(ctx, -EBADMSG, "%s '%s': corrupt document", s->name, what);
    return 0;
}

/* Loads, parses and checks a document's version and state. Plain text is read straight into
 * doc; anything else, and a document of a newer version, goes through json-c. */
static int doc_load(struct vc_ctx *ctx, const struct vc_schema *s, const char *sid, const char *cid,
                    void *doc)
{
    const char *what = cid ? cid : sid;
    char *buf = NULL;
    size_t len = 0;
    uint32_t version;
    const char *state;
    int r;

    r = vc_store_get(vc_ctx_store(ctx), sid, cid, &buf, &len);
    if (r < 0)
        return r;
    memset(doc, 0, s->size);
    r = vc_obj_read_json(ctx, s, buf, len, doc);
    if (r == 0 && *(const uint32_t *) doc > VC_PERSIST_VERSION) {
        vc_obj_clear(ctx, s, doc);
        r = VC_OBJ_JSON_OTHER;
    }
    if (r == VC_OBJ_JSON_OTHER)
        r = doc_parse_general(ctx, s, what, buf, len, doc);
    else if (r < 0)
        r = vc_err_prefix(ctx, -EBADMSG, "%s '%s': corrupt document", s->name, what);
    vc_free(ctx, buf);
    if (r < 0)
        return r;
    /* version and state sit first in both document structs. */
    version = *(const uint32_t *) doc;
    state = *(char *const *) ((const char *) doc + s->fields[1].off);
    if (version == 0)
        r = vc_err(ctx, -EBADMSG, "%s '%s': corrupt document: no version", s->name, what);
    else if (vc_state_from_string(state) < 0)
        r = vc_err(ctx, -EBADMSG, "%s '%s': corrupt document: unknown state '%s'", s->name, what,
                   state ? state : "");
    if (r < 0)
        vc_obj_clear(ctx, s, doc);
    return r;
}

int vc_sb_doc_save(struct vc_ctx *ctx, const char *id, const struct vc_sb_doc *doc)
{
    return doc_save(ctx, &sb_doc_schema, id, NULL, doc);
}

int vc_sb_doc_load(struct vc_ctx *ctx, const char *id, struct vc_sb_doc *ret)
{
    int r = doc_load(ctx, &sb_doc_schema, id, NULL, ret);

    if (r == 0 && (!ret->config.id || strcmp(ret->config.id, id) != 0)) {
        vc_sb_doc_clear(ctx, ret);
        return vc_err(ctx, -EBADMSG, "sandbox '%s': corrupt document: id does not match", id);
    }
    return r;
}

void vc_sb_doc_clear(struct vc_ctx *ctx, struct vc_sb_doc *doc)
{
    vc_obj_clear(ctx, &sb_doc_schema, doc);
}

int vc_ct_doc_save(struct vc_ctx *ctx, const char *sid, const char *cid,
                   const struct vc_ct_doc *doc)
{
    return doc_save(ctx, &ct_doc_schema, sid, cid, doc);
}

int vc_ct_doc_load(struct vc_ctx *ctx, const char *sid, const char *cid, struct vc_ct_doc *ret)
{
    int r = doc_load(ctx, &ct_doc_schema, sid, cid, ret);

    if (r == 0 && (!ret->config.id || strcmp(ret->config.id, cid) != 0)) {
        vc_ct_doc_clear(ctx, ret);
        return vc_err(ctx, -EBADMSG, "container '%s': corrupt document: id does not match", cid);
    }
    return r;
}

void vc_ct_doc_clear(struct vc_ctx *ctx, struct vc_ct_doc *doc)
{
    vc_obj_clear(ctx, &ct_doc_schema, doc);
}
