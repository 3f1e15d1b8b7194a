/* SPDX-License-Identifier: Apache-2.0 */
/* Descriptors of the model structs (vc/types.h) and the generic code over them: clear, copy,
 * and conversion to and from JSON (json-c). One piece of code serves every struct, so a field
 * added to a struct and its descriptor is persisted, copied and freed everywhere at once. */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

struct vc_ctx;

enum vc_field_kind {
    VC_FIELD_STR,     /* char * */
    VC_FIELD_BOOL,    /* bool */
    VC_FIELD_U32,     /* uint32_t */
    VC_FIELD_I32,     /* int32_t */
    VC_FIELD_U64,     /* uint64_t */
    VC_FIELD_I64,     /* int64_t */
    VC_FIELD_STRUCT,  /* embedded struct described by sub */
    VC_FIELD_STRV,    /* char ** + size_t count at count_off */
    VC_FIELD_U32V,    /* uint32_t * + size_t count at count_off */
    VC_FIELD_STRUCTV, /* sub-struct array + size_t count at count_off */
    VC_FIELD_BYTES,   /* uint8_t * + size_t length at count_off (base64 in JSON) */
};

struct vc_schema;

struct vc_field {
    const char *name;            /* JSON key */
    enum vc_field_kind kind;     /* what lives at off */
    size_t off;                  /* offset in the struct */
    size_t count_off;            /* offset of the size_t count for arrays and bytes */
    const struct vc_schema *sub; /* element schema for STRUCT and STRUCTV */
};

struct vc_schema {
    const char *name;              /* struct name, for messages */
    size_t size;                   /* sizeof the struct */
    const struct vc_field *fields; /* its fields */
    size_t n_fields;               /* number of fields */
};

/* Limits on what a JSON document may hold (peer- or disk-controlled input). */
#define VC_SCHEMA_STR_MAX   (1u << 20) /* longest string */
#define VC_SCHEMA_ARRAY_MAX 65536u     /* most elements in one array */

extern const struct vc_schema vc_schema_annotation;
extern const struct vc_schema vc_schema_hv_config;
extern const struct vc_schema vc_schema_agent_config;
extern const struct vc_schema vc_schema_ip_address;
extern const struct vc_schema vc_schema_interface;
extern const struct vc_schema vc_schema_route;
extern const struct vc_schema vc_schema_arp_neighbor;
extern const struct vc_schema vc_schema_network_config;
extern const struct vc_schema vc_schema_user;
extern const struct vc_schema vc_schema_process_config;
extern const struct vc_schema vc_schema_resources;
extern const struct vc_schema vc_schema_mount;
extern const struct vc_schema vc_schema_container_device;
extern const struct vc_schema vc_schema_container_config;
extern const struct vc_schema vc_schema_sandbox_config;
extern const struct vc_schema vc_schema_process;
extern const struct vc_schema vc_schema_device;
extern const struct vc_schema vc_schema_container_status;
extern const struct vc_schema vc_schema_sandbox_status;
extern const struct vc_schema vc_schema_guest_details;
extern const struct vc_schema vc_schema_container_stats;
extern const struct vc_schema vc_schema_volume_stats;
extern const struct vc_schema vc_schema_copy_file;
extern const struct vc_schema vc_schema_ps_options;

/* Frees every owned member of obj and zeroes it. NULL-safe. */
void vc_obj_clear(struct vc_ctx *ctx, const struct vc_schema *s, void *obj);
/* Deep-copies src into dst (dst is overwritten, not cleared first). On failure dst is left
 * zeroed. 0 or -ENOMEM. */
int vc_obj_copy(struct vc_ctx *ctx, const struct vc_schema *s, void *dst, const void *src);
/* Frees an array of n objects and the array. NULL-safe. */
void vc_obj_array_free(struct vc_ctx *ctx, const struct vc_schema *s, void *v, size_t n);
/* Deep-copies an array of n objects. 0 or -ENOMEM. */
int vc_obj_array_copy(struct vc_ctx *ctx, const struct vc_schema *s, const void *src, size_t n,
                      void **ret);

/* JSON object for obj (NULL strings and empty arrays are omitted). 0 or -ENOMEM. */
int vc_obj_to_json(struct vc_ctx *ctx, const struct vc_schema *s, const void *obj,
                   json_object **ret);
/* Fills a zeroed obj from j. Unknown keys are ignored (newer writers); a wrong type or an
 * over-limit value is -EINVAL naming the field. On failure obj is left cleared. */
int vc_obj_from_json(struct vc_ctx *ctx, const struct vc_schema *s, json_object *j, void *obj);

/* Parses a JSON document of at most VC_STORE_DOC_MAX bytes with a depth limit. -EINVAL with
 * json-c's reason on malformed input. *ret owned by the caller (json_object_put). */
int vc_json_parse(struct vc_ctx *ctx, const char *what, const char *buf, size_t len,
                  json_object **ret);

/* Layout of vc_obj_format_json: json-c's JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
 * without it, json-c's JSON_C_TO_STRING_PLAIN. */
#define VC_OBJ_JSON_PRETTY 1u

/* Writes obj as the JSON text vc_obj_to_json would give, laid out as json-c lays it out with the
 * flags' layout, into buf of cap bytes (NUL-terminated when cap > 0). Returns the length of the
 * whole text: a result >= cap means it was cut, as with snprintf. Never allocates. */
size_t vc_obj_format_json(const struct vc_schema *s, const void *obj, unsigned flags, char *buf,
                          size_t cap);

/* vc_obj_read_json's answer for text it leaves to the general path. */
#define VC_OBJ_JSON_OTHER 1

/* Fills a zeroed obj from JSON text without building a json-c tree, as vc_json_parse followed
 * by vc_obj_from_json would, allocating each value as vc_obj_from_json does. It reads plain
 * strict JSON (what vc_obj_format_json writes); for anything else (malformed or unusual text, a
 * wrong type, an out-of-range value, a repeated field) it returns VC_OBJ_JSON_OTHER with obj
 * cleared, and the caller hands the text to that general path for its verdict. 0,
 * VC_OBJ_JSON_OTHER, or -ENOMEM with obj cleared. */
int vc_obj_read_json(struct vc_ctx *ctx, const struct vc_schema *s, const char *buf, size_t len,
                     void *obj);
