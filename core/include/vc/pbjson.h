/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf messages as JSON and back, for traces, recordings and raw agent calls typed on a
 * command line (agent-ctl's `json://{...}`). One generic converter driven by protobuf-c
 * descriptors follows the proto3 JSON mapping; JSON input is untrusted and bounded. */
#pragma once

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct vc_ctx;
struct json_object;

/* Mapping (proto3 JSON, https://protobuf.dev/programming-guides/json/):
 * - a message is an object whose keys come in field-number order; names are the .proto field
 *   names ("container_id") unless VC_PBJSON_CAMEL_CASE asks for lowerCamelCase
 *   ("containerId"). Input accepts both spellings; giving both for one field is an error.
 * - int32, sint32, sfixed32, uint32, fixed32: numbers. int64, sint64, sfixed64, uint64,
 *   fixed64: decimal strings ("-9223372036854775808") unless VC_PBJSON_INT64_NUMBERS. Input
 *   takes any integer as a number, an integral number in exponent or fraction form (1e3, 7.0)
 *   or a string holding a JSON number; a value outside the field's type is -ERANGE.
 * - float, double: numbers, shortest text that reads back exactly; NaN and infinities as
 *   "NaN", "Infinity", "-Infinity"; -0 as -0.0. Input also takes numeric strings; a finite
 *   value beyond the type's range is -ERANGE.
 * - bool: true/false. string: UTF-8 (checked both ways; NUL is refused on input).
 * - bytes: standard base64 with padding; input also takes the URL-safe alphabet and missing
 *   padding.
 * - enum: the value's name ("RED"), or its number when it has no name (open enums) or with
 *   VC_PBJSON_ENUM_NUMBERS. Input takes a name or any int32.
 * - repeated: arrays. map<k, v> (a repeated field of a nested "<Field>Entry" message with
 *   fields key = 1 and value = 2, which is how protoc-c 1.4 represents maps): objects keyed by
 *   the key as a string ("true", "42"). An entry without its message value renders as {} and
 *   reads back with an empty message there (what protobuf runtimes write anyway).
 * - message fields: objects; google.protobuf.Empty is {}. google.protobuf.Any is an ordinary
 *   message {"type_url", "value" (base64)}: no type registry here to expand it.
 * - oneof: the set member only, even when it holds its default. Setting two members of one
 *   oneof on input is an error.
 * - presence: fields without presence (proto3 singular scalars) are left out when they hold
 *   their default, unless VC_PBJSON_DEFAULTS; then scalars, strings, bytes, enums, repeated
 *   fields and maps appear too ([], {}). Fields with presence (messages, proto2 optional, oneof
 *   members) appear exactly when set. proto2 required fields always appear and are required
 *   on input. JSON null on input means "not set" for any field.
 * - unknown fields kept by protobuf-c from the wire are not rendered. */

#define VC_PBJSON_DEPTH_MAX 64         /* JSON containers (objects, arrays) nested, either way */
#define VC_PBJSON_INPUT_MAX (4u << 20) /* bytes vc_pbjson_from_string takes (a ttrpc frame) */
#define VC_PBJSON_PATH_MAX  256        /* bytes of the field path kept for error messages */

enum {
    VC_PBJSON_DEFAULTS = 1u << 0,       /* out: also fields holding their default value */
    VC_PBJSON_CAMEL_CASE = 1u << 1,     /* out: lowerCamelCase names (proto3 json_name) */
    VC_PBJSON_ENUM_NUMBERS = 1u << 2,   /* out: enums as numbers */
    VC_PBJSON_INT64_NUMBERS = 1u << 3,  /* out: 64-bit integers as numbers, not strings */
    VC_PBJSON_PRETTY = 1u << 4,         /* out (to_string): indented by two spaces */
    VC_PBJSON_IGNORE_UNKNOWN = 1u << 8, /* in: skip unknown fields instead of failing */
};

/* Errors, recorded with vc_err on ctx and naming the field path ("spec.process.args[2]:
 * expected string", "labels[\"k\"]: ...", the message type for the top level): -EINVAL for
 * bad arguments, malformed JSON, a wrong JSON type, an unknown field or enum name, bad base64
 * or UTF-8, a missing required field, or two members of a oneof; -ERANGE for a number out of
 * its field's range; -E2BIG for nesting deeper than VC_PBJSON_DEPTH_MAX; -EMSGSIZE for string
 * input over VC_PBJSON_INPUT_MAX; -ENOMEM. On failure nothing is leaked and *ret is untouched. */

/* A protobuf-c allocator over the context's allocator (vc_malloc/vc_free, so the "alloc" fault
 * point applies), for unpacking and for messages built here. ret->allocator_data is ctx. */
void vc_pb_allocator(struct vc_ctx *ctx, ProtobufCAllocator *ret);

/* Frees a message allocated through the context's allocator (vc_pbjson_from_json, or
 * protobuf_c_message_unpack with vc_pb_allocator). NULL-safe. */
void vc_pb_free(struct vc_ctx *ctx, ProtobufCMessage *msg);

/* Renders msg (borrowed; any message type) as a new JSON object. flags: VC_PBJSON_DEFAULTS,
 * VC_PBJSON_CAMEL_CASE, VC_PBJSON_ENUM_NUMBERS, VC_PBJSON_INT64_NUMBERS. 0 with *ret owned by
 * the caller (json_object_put); -EINVAL for invalid UTF-8 in a string field or a NULL element
 * of a repeated message field, -E2BIG for messages nested deeper than VC_PBJSON_DEPTH_MAX,
 * -ENOMEM. */
int vc_pbjson_to_json(struct vc_ctx *ctx, const ProtobufCMessage *msg, unsigned flags,
                      struct json_object **ret);

/* Builds a message of type desc from obj (borrowed, must be a JSON object). flags:
 * VC_PBJSON_IGNORE_UNKNOWN. 0 with *ret allocated through the context's allocator (free it
 * with vc_pb_free); the errors above otherwise. Integers in obj that json-c already clamped
 * to 64 bits cannot be told apart from exact ones: vc_pbjson_from_string catches those. */
int vc_pbjson_from_json(struct vc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                        struct json_object *obj, unsigned flags, ProtobufCMessage **ret);

/* vc_pbjson_to_json as text: compact (no spaces) unless VC_PBJSON_PRETTY, keys in field-number
 * order, "/" not escaped, so equal messages give equal strings. 0 with *ret a NUL-terminated
 * string from the context's allocator (vc_free), or the errors of vc_pbjson_to_json. */
int vc_pbjson_to_string(struct vc_ctx *ctx, const ProtobufCMessage *msg, unsigned flags,
                        char **ret);

/* Parses len bytes of JSON text (one object, surrounding whitespace allowed; buf need not be
 * NUL-terminated) and builds a message of type desc as vc_pbjson_from_json does. Syntax errors
 * are -EINVAL with the line, column and byte offset of the error (json-c's strict mode, which
 * still takes 'single-quoted' strings and bare NaN/Infinity); integer literals beyond 64 bits
 * are -ERANGE with the field path, not clamped; -EMSGSIZE for len over VC_PBJSON_INPUT_MAX. */
int vc_pbjson_from_string(struct vc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                          const char *buf, size_t len, unsigned flags, ProtobufCMessage **ret);
