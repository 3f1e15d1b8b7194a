/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf <-> JSON: one walk over protobuf-c descriptors in each direction, following the
 * proto3 JSON mapping described in vc/pbjson.h. JSON input is untrusted: types, ranges, UTF-8,
 * base64 and nesting are checked, and every error names the field path. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vc/ctx.h>
#include <vc/err.h>
#include <vc/pbjson.h>

#include "cleanup.h"

#define PBJSON_NAME_MAX  128                    /* a lowerCamelCase field name we build */
#define PBJSON_QUOTE_MAX 40                     /* bytes of untrusted text quoted in errors */
#define PBJSON_2P53      9007199254740992.0     /* above this every double is an integer */
#define PBJSON_2P64      18446744073709551616.0 /* first double beyond uint64 */
#define PBJSON_FLOAT_CUT 0x1.ffffffp+127        /* doubles from here on round to float inf */

/* One conversion: the services, the options and where in the message we are. */
struct pbjson_conv {
    struct vc_ctx *ctx;            /* allocation and errors */
    unsigned flags;                /* VC_PBJSON_* */
    unsigned depth;                /* JSON containers entered */
    const char *root;              /* top-level message type, names errors at the top */
    size_t len;                    /* bytes of path in use */
    char path[VC_PBJSON_PATH_MAX]; /* "spec.process.args[2]", cut when too long */
};

/* An integer read from JSON, wide enough for every protobuf integer type. */
struct pbjson_int {
    bool neg;     /* below zero */
    uint64_t mag; /* magnitude */
};

/* The parts of a JSON number ("-12.50e3"). */
struct pbjson_num {
    bool neg;       /* leading '-' */
    const char *ip; /* integer digits */
    size_t ni;      /* their count */
    bool fraczero;  /* no fraction digit other than 0 */
    bool nonzero;   /* some mantissa digit is not 0 */
    bool exp;       /* has an exponent */
};

static int pbjson_out_msg(struct pbjson_conv *c, const ProtobufCMessage *msg, json_object **ret);
static int pbjson_in_msg(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d, json_object *v,
                         ProtobufCMessage **ret);

/* --- allocator ----------------------------------------------------------------------------- */

static void *pbjson_alloc(void *data, size_t size)
{
    return vc_malloc(data, size);
}

static void pbjson_free(void *data, void *ptr)
{
    vc_free(data, ptr);
}

void vc_pb_allocator(struct vc_ctx *ctx, ProtobufCAllocator *ret)
{
    *ret = (ProtobufCAllocator){.alloc = pbjson_alloc, .free = pbjson_free, .allocator_data = ctx};
}

void vc_pb_free(struct vc_ctx *ctx, ProtobufCMessage *msg)
{
    ProtobufCAllocator a;

    if (!msg)
        return;
    vc_pb_allocator(ctx, &a);
    protobuf_c_message_free_unpacked(msg, &a);
}

/* --- paths and errors ---------------------------------------------------------------------- */

static size_t pbjson_push(struct pbjson_conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends to the path; returns the length to restore with pbjson_pop. */
static size_t pbjson_push(struct pbjson_conv *c, const char *fmt, ...)
{
    size_t old = c->len, room = sizeof(c->path) - c->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + c->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->len += (size_t) n < room ? (size_t) n : room - 1;
    return old;
}

static void pbjson_pop(struct pbjson_conv *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static size_t pbjson_push_field(struct pbjson_conv *c, const char *name)
{
    return pbjson_push(c, "%s%s", c->len ? "." : "", name);
}

/* Untrusted text for a message: at most PBJSON_QUOTE_MAX bytes, anything but printable ASCII
 * as '?'. */
static const char *pbjson_quote(const char *s, char *buf, size_t size)
{
    size_t i;

    for (i = 0; s[i] && i < PBJSON_QUOTE_MAX && i + 4 < size; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s[i])
        memcpy(buf + i, "...", 3), i += 3;
    buf[i] = '\0';
    return buf;
}

static size_t pbjson_push_key(struct pbjson_conv *c, const char *key)
{
    char q[PBJSON_QUOTE_MAX + 8];

    return pbjson_push(c, "[\"%s\"]", pbjson_quote(key, q, sizeof(q)));
}

static int pbjson_err(struct pbjson_conv *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records code with the path (or the top-level type) in front of the message. */
static int pbjson_err(struct pbjson_conv *c, int code, const char *fmt, ...)
{
    char msg[VC_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return vc_err(c->ctx, code, "%s: %s", c->len ? c->path : c->root, msg);
}

static int pbjson_enomem(struct pbjson_conv *c)
{
    return pbjson_err(c, -ENOMEM, "out of memory");
}

/* Counts one more JSON container, refusing to go deeper than the limit. */
static int pbjson_enter(struct pbjson_conv *c)
{
    if (c->depth >= VC_PBJSON_DEPTH_MAX)
        return pbjson_err(c, -E2BIG, "nested deeper than %d", VC_PBJSON_DEPTH_MAX);
    c->depth++;
    return 0;
}

/* --- descriptors --------------------------------------------------------------------------- */

static const char *pbjson_type_name(ProtobufCType t)
{
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
        [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
        [PROTOBUF_C_TYPE_MESSAGE] = "message",
    };

    return (unsigned) t < VC_ELEMENTSOF(names) && names[t] ? names[t] : "?";
}

/* Bytes one element of a repeated field of type t takes (protobuf-c's layout). */
static size_t pbjson_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return sizeof(int32_t); /* 32-bit integers, float, enum */
    }
}

static bool pbjson_is_64(ProtobufCType t)
{
    return pbjson_elem_size(t) == sizeof(uint64_t) && t != PROTOBUF_C_TYPE_DOUBLE;
}

static void *pbjson_at(void *msg, size_t off)
{
    return (char *) msg + off;
}

static const void *pbjson_cat(const void *msg, size_t off)
{
    return (const char *) msg + off;
}

/* The lowerCamelCase json_name protoc derives from a field name ("timeout_nano" ->
 * "timeoutNano"); false if it does not fit. */
static bool pbjson_camel(const char *name, char *buf, size_t size)
{
    bool up = false;
    size_t n = 0;

    for (; *name; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        if (n + 1 >= size)
            return false;
        buf[n++] = up && *name >= 'a' && *name <= 'z' ? (char) (*name - 'a' + 'A') : *name;
        up = false;
    }
    buf[n] = '\0';
    return true;
}

/* Finds the field a JSON key names: the .proto name first, then the lowerCamelCase one. */
static const ProtobufCFieldDescriptor *pbjson_field(const ProtobufCMessageDescriptor *d,
                                                    const char *key, bool *ret_camel)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    char camel[PBJSON_NAME_MAX];

    *ret_camel = false;
    if (f)
        return f;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (pbjson_camel(d->fields[i].name, camel, sizeof(camel)) && strcmp(camel, key) == 0) {
            *ret_camel = true;
            return &d->fields[i];
        }
    return NULL;
}

static bool pbjson_map_key_type(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_FLOAT && t != PROTOBUF_C_TYPE_DOUBLE &&
           t != PROTOBUF_C_TYPE_BYTES && t != PROTOBUF_C_TYPE_MESSAGE && t != PROTOBUF_C_TYPE_ENUM;
}

/* protoc-c 1.4 keeps no map flag: a map<k, v> field is a repeated field of the nested message
 * protoc names after it ("labels" -> "<Parent>.LabelsEntry") holding just key = 1, value = 2. */
static bool pbjson_is_map(const ProtobufCMessageDescriptor *parent,
                          const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    size_t plen = strlen(parent->name);
    const char *s;
    bool up = true;

    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || !e ||
        e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
        strcmp(e->fields[0].name, "key") != 0 || strcmp(e->fields[1].name, "value") != 0 ||
        e->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
        e->fields[1].label == PROTOBUF_C_LABEL_REPEATED || !pbjson_map_key_type(e->fields[0].type))
        return false;
    if (strncmp(e->name, parent->name, plen) != 0 || e->name[plen] != '.')
        return false;
    s = e->name + plen + 1;
    for (const char *n = f->name; *n; n++) {
        char ch = *n;

        if (ch == '_') {
            up = true;
            continue;
        }
        if (up && ch >= 'a' && ch <= 'z')
            ch = (char) (ch - 'a' + 'A');
        up = false;
        if (*s++ != ch)
            return false;
    }
    return strcmp(s, "Entry") == 0;
}

/* Marks a proto2 optional scalar as set (strings and messages are set by their pointer). */
static void pbjson_mark(const ProtobufCFieldDescriptor *f, void *msg)
{
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *) pbjson_at(msg, f->quantifier_offset) = 1;
}

/* --- text: UTF-8, base64, numbers ----------------------------------------------------------- */

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool pbjson_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *) s;
    size_t i = 0;

    while (i < n) {
        unsigned ch = u[i], cp, min;
        size_t k;

        if (ch < 0x80) {
            i++;
            continue;
        }
        if (ch >= 0xc2 && ch <= 0xdf)
            k = 1, cp = ch & 0x1f, min = 0x80;
        else if ((ch & 0xf0) == 0xe0)
            k = 2, cp = ch & 0x0f, min = 0x800;
        else if (ch >= 0xf0 && ch <= 0xf4)
            k = 3, cp = ch & 0x07, min = 0x10000;
        else
            return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((u[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (u[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static const char pbjson_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding; out holds (n + 2) / 3 * 4 bytes. */
static void pbjson_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

        out[o++] = pbjson_b64[v >> 18];
        out[o++] = pbjson_b64[(v >> 12) & 63];
        out[o++] = pbjson_b64[(v >> 6) & 63];
        out[o++] = pbjson_b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t) in[i] << 16 | (i + 1 < n ? (uint32_t) in[i + 1] << 8 : 0);

        out[o++] = pbjson_b64[v >> 18];
        out[o++] = pbjson_b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? pbjson_b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
}

/* A base64 digit of either alphabet (standard or URL-safe); -1 for anything else. */
static int pbjson_b64_digit(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Checks base64 text (padding optional, but then complete) and strips the padding: the number
 * of digits left in *n and the decoded length in *ret_len. false if it is not base64. */
static bool pbjson_b64_check(const char *s, size_t *n, size_t *ret_len)
{
    size_t m = *n, pad = 0;

    while (m > 0 && s[m - 1] == '=' && pad < 2)
        m--, pad++;
    if ((pad && *n % 4 != 0) || m % 4 == 1)
        return false;
    for (size_t i = 0; i < m; i++)
        if (pbjson_b64_digit(s[i]) < 0)
            return false;
    *n = m;
    *ret_len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
    return true;
}

/* Decodes n checked digits into out. */
static void pbjson_b64_decode(const char *s, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        acc = acc << 6 | (uint32_t) pbjson_b64_digit(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t) (acc >> bits);
        }
    }
}

static bool pbjson_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Splits s into the parts of one JSON number; false if s is anything else. */
static bool pbjson_num_scan(const char *s, struct pbjson_num *ret)
{
    struct pbjson_num n = {.fraczero = true};

    if (*s == '-')
        n.neg = true, s++;
    n.ip = s;
    for (; pbjson_digit(*s); s++)
        n.nonzero |= *s != '0';
    n.ni = (size_t) (s - n.ip);
    if (!n.ni)
        return false;
    if (*s == '.') {
        const char *fp = ++s;

        for (; pbjson_digit(*s); s++)
            n.fraczero &= *s == '0';
        if (s == fp)
            return false;
        n.nonzero |= !n.fraczero;
    }
    if (*s == 'e' || *s == 'E') {
        n.exp = true;
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!pbjson_digit(*s))
            return false;
        while (pbjson_digit(*s))
            s++;
    }
    *ret = n;
    return *s == '\0';
}

/* The integer a JSON number's text denotes: exact unless it has an exponent (then through a
 * double). -EINVAL if it is not a number or not integral, -ERANGE beyond 64 bits. */
static int pbjson_text_int(const char *s, struct pbjson_int *ret)
{
    struct pbjson_num n;
    uint64_t mag = 0;
    double d, a;

    if (!pbjson_num_scan(s, &n))
        return -EINVAL;
    if (!n.exp) {
        if (!n.fraczero)
            return -EINVAL;
        for (size_t i = 0; i < n.ni; i++) {
            unsigned dig = (unsigned) (n.ip[i] - '0');

            if (mag > (UINT64_MAX - dig) / 10)
                return -ERANGE;
            mag = mag * 10 + dig;
        }
        *ret = (struct pbjson_int){.neg = n.neg && mag, .mag = mag};
        return 0;
    }
    d = strtod(s, NULL);
    a = d < 0 ? -d : d;
    if (isinf(d) || a >= PBJSON_2P64)
        return -ERANGE;
    if ((d == 0 && n.nonzero) || (a < PBJSON_2P53 && d != (double) (int64_t) d))
        return -EINVAL;
    *ret = (struct pbjson_int){.neg = d < 0, .mag = (uint64_t) a};
    return 0;
}

/* --- JSON -> message ----------------------------------------------------------------------- */

/* Reads any JSON integer form into *ret. */
static int pbjson_in_int_value(struct pbjson_conv *c, ProtobufCType t, json_object *v,
                               struct pbjson_int *ret)
{
    char q[PBJSON_QUOTE_MAX + 8];
    const char *s;
    int r;

    switch (json_object_get_type(v)) {
    case json_type_int: {
        int64_t i = json_object_get_int64(v);

        if (i < 0)
            *ret = (struct pbjson_int){.neg = true, .mag = (uint64_t) 0 - (uint64_t) i};
        else
            *ret = (struct pbjson_int){.mag = json_object_get_uint64(v)};
        return 0;
    }
    case json_type_double: /* the literal as written (json-c keeps it) or as printed */
        s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (!s)
            return pbjson_enomem(c);
        break;
    case json_type_string:
        s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
            return pbjson_err(c, -EINVAL, "expected %s, got a string with NUL",
                              pbjson_type_name(t));
        break;
    default:
        return pbjson_err(c, -EINVAL, "expected %s", pbjson_type_name(t));
    }
    r = pbjson_text_int(s, ret);
    if (r == -ERANGE)
        return pbjson_err(c, r, "'%s' out of range for %s", pbjson_quote(s, q, sizeof(q)),
                          pbjson_type_name(t));
    if (r < 0)
        return pbjson_err(c, r, "expected %s, got '%s'", pbjson_type_name(t),
                          pbjson_quote(s, q, sizeof(q)));
    return 0;
}

/* Stores n into an integer (or enum) member of type t, if it fits. */
static int pbjson_in_int_store(struct pbjson_conv *c, ProtobufCType t, const struct pbjson_int *n,
                               void *m)
{
    bool is64 = pbjson_is_64(t);
    bool is_unsigned = t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
                       t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
    uint64_t lim;

    if (is_unsigned)
        lim = n->neg ? 0 : is64 ? UINT64_MAX : UINT32_MAX;
    else
        lim = is64 ? (uint64_t) INT64_MAX + n->neg : (uint64_t) INT32_MAX + n->neg;
    if (n->mag > lim)
        return pbjson_err(c, -ERANGE, "%s%" PRIu64 " out of range for %s", n->neg ? "-" : "",
                          n->mag, pbjson_type_name(t));
    if (is_unsigned && is64)
        *(uint64_t *) m = n->mag;
    else if (is_unsigned)
        *(uint32_t *) m = (uint32_t) n->mag;
    else if (is64) /* mag may be 2^63: negate mag - 1, which fits, then step once more */
        *(int64_t *) m = n->neg ? -(int64_t) (n->mag - 1) - 1 : (int64_t) n->mag;
    else
        *(int32_t *) m = n->neg ? (int32_t) - (int64_t) n->mag : (int32_t) n->mag;
    return 0;
}

static int pbjson_in_int(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                         void *m)
{
    struct pbjson_int n;
    int r = pbjson_in_int_value(c, f->type, v, &n);

    return r < 0 ? r : pbjson_in_int_store(c, f->type, &n, m);
}

/* Whether a finite number's text gave an infinite double (1e400): out of range. */
static bool pbjson_overflowed(double d, const char *text)
{
    struct pbjson_num n;

    return isinf(d) && pbjson_num_scan(text, &n);
}

/* The double a JSON number, numeric string, or "NaN" / "Infinity" / "-Infinity" denotes. */
static int pbjson_in_double(struct pbjson_conv *c, ProtobufCType t, json_object *v, double *ret)
{
    struct pbjson_num n;
    const char *s;

    switch (json_object_get_type(v)) {
    case json_type_int:
        *ret = json_object_get_int64(v) < 0 ? (double) json_object_get_int64(v)
                                            : (double) json_object_get_uint64(v);
        return 0;
    case json_type_double: /* json-c also reads bare NaN and Infinity: taken as they are */
        *ret = json_object_get_double(v);
        s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (!s)
            return pbjson_enomem(c);
        break;
    case json_type_string:
        s = json_object_get_string(v);
        if (strcmp(s, "NaN") == 0)
            *ret = NAN;
        else if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0)
            *ret = s[0] == '-' ? -INFINITY : INFINITY;
        else if (pbjson_num_scan(s, &n) && strlen(s) == (size_t) json_object_get_string_len(v))
            *ret = strtod(s, NULL);
        else
            return pbjson_err(c, -EINVAL, "expected %s", pbjson_type_name(t));
        break;
    default:
        return pbjson_err(c, -EINVAL, "expected %s", pbjson_type_name(t));
    }
    if (pbjson_overflowed(*ret, s))
        return pbjson_err(c, -ERANGE, "value out of range for %s", pbjson_type_name(t));
    return 0;
}

static int pbjson_in_float(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                           void *m)
{
    double d;
    int r = pbjson_in_double(c, f->type, v, &d);

    if (r < 0)
        return r;
    if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
        *(double *) m = d;
        return 0;
    }
    if (isfinite(d) && (d >= PBJSON_FLOAT_CUT || d <= -PBJSON_FLOAT_CUT))
        return pbjson_err(c, -ERANGE, "value out of range for float");
    *(float *) m = (float) d;
    return 0;
}

static int pbjson_in_enum(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                          void *m)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    const ProtobufCEnumValue *ev;
    char q[PBJSON_QUOTE_MAX + 8];

    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
        return pbjson_in_int(c, f, v, m);
    if (!json_object_is_type(v, json_type_string))
        return pbjson_err(c, -EINVAL, "expected enum %s name or number", ed->name);
    ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_object_get_string(v));
    if (!ev)
        return pbjson_err(c, -EINVAL, "unknown value '%s' for enum %s",
                          pbjson_quote(json_object_get_string(v), q, sizeof(q)), ed->name);
    *(int32_t *) m = ev->value;
    return 0;
}

/* A NUL-terminated copy of UTF-8 text with no NUL in it. */
static int pbjson_in_text(struct pbjson_conv *c, const char *s, size_t n, char **m)
{
    char *copy;

    if (memchr(s, '\0', n))
        return pbjson_err(c, -EINVAL, "string contains NUL");
    if (!pbjson_utf8_valid(s, n))
        return pbjson_err(c, -EINVAL, "invalid UTF-8 in string");
    copy = vc_malloc(c->ctx, n + 1);
    if (!copy)
        return pbjson_enomem(c);
    memcpy(copy, s, n);
    copy[n] = '\0';
    *m = copy;
    return 0;
}

static int pbjson_in_string(struct pbjson_conv *c, json_object *v, char **m)
{
    if (!json_object_is_type(v, json_type_string))
        return pbjson_err(c, -EINVAL, "expected string");
    return pbjson_in_text(c, json_object_get_string(v), (size_t) json_object_get_string_len(v), m);
}

static int pbjson_in_bytes(struct pbjson_conv *c, json_object *v, ProtobufCBinaryData *m)
{
    const char *s;
    size_t n, len;
    uint8_t *data = NULL;

    if (!json_object_is_type(v, json_type_string))
        return pbjson_err(c, -EINVAL, "expected base64 string");
    s = json_object_get_string(v);
    n = (size_t) json_object_get_string_len(v);
    if (!pbjson_b64_check(s, &n, &len))
        return pbjson_err(c, -EINVAL, "invalid base64");
    if (len) {
        data = vc_malloc(c->ctx, len);
        if (!data)
            return pbjson_enomem(c);
        pbjson_b64_decode(s, n, data);
    }
    *m = (ProtobufCBinaryData){.len = len, .data = data};
    return 0;
}

/* Reads v into the member m of field f. The member is written only on success, so a failure
 * leaves nothing for the caller to free. */
static int pbjson_in_value(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                           void *m)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return pbjson_err(c, -EINVAL, "expected boolean");
        *(protobuf_c_boolean *) m = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return pbjson_in_float(c, f, v, m);
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_in_enum(c, f, v, m);
    case PROTOBUF_C_TYPE_STRING:
        return pbjson_in_string(c, v, m);
    case PROTOBUF_C_TYPE_BYTES:
        return pbjson_in_bytes(c, v, m);
    case PROTOBUF_C_TYPE_MESSAGE:
        return pbjson_in_msg(c, f->descriptor, v, m);
    default:
        return pbjson_in_int(c, f, v, m);
    }
}

/* A map key (always a JSON string) into the entry's key member. */
static int pbjson_in_key(struct pbjson_conv *c, const ProtobufCFieldDescriptor *kf, const char *key,
                         void *m)
{
    struct pbjson_int n;
    int r;

    if (kf->type == PROTOBUF_C_TYPE_STRING)
        return pbjson_in_text(c, key, strlen(key), m);
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return pbjson_err(c, -EINVAL, "expected \"true\" or \"false\" as map key");
        *(protobuf_c_boolean *) m = key[0] == 't';
        return 0;
    }
    r = pbjson_text_int(key, &n);
    if (r == -ERANGE)
        return pbjson_err(c, r, "map key out of range for %s", pbjson_type_name(kf->type));
    if (r < 0)
        return pbjson_err(c, r, "expected %s as map key", pbjson_type_name(kf->type));
    return pbjson_in_int_store(c, kf->type, &n, m);
}

static int pbjson_msg_new(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                          ProtobufCMessage **ret)
{
    ProtobufCMessage *m;

    if (!d || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
        d->sizeof_message < sizeof(ProtobufCMessage))
        return pbjson_err(c, -EINVAL, "invalid message descriptor");
    m = vc_calloc(c->ctx, 1, d->sizeof_message);
    if (!m)
        return pbjson_enomem(c);
    protobuf_c_message_init(d, m);
    *ret = m;
    return 0;
}

static int pbjson_in_entry(struct pbjson_conv *c, const ProtobufCMessageDescriptor *ed,
                           const char *key, json_object *v, ProtobufCMessage **ret)
{
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    ProtobufCMessage *e = NULL;
    int r;

    r = pbjson_msg_new(c, ed, &e);
    if (r < 0)
        return r;
    r = pbjson_in_key(c, kf, key, pbjson_at(e, kf->offset));
    if (r >= 0) {
        pbjson_mark(kf, e);
        if (!json_object_is_type(v, json_type_null))
            r = pbjson_in_value(c, vf, v, pbjson_at(e, vf->offset));
        if (r >= 0)
            pbjson_mark(vf, e);
    }
    if (r < 0) {
        vc_pb_free(c->ctx, e);
        return r;
    }
    *ret = e;
    return 0;
}

/* A JSON object into the entries of a map field. The count is always the number of entries
 * filled, so the message can be freed at any point. */
static int pbjson_in_map(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                         ProtobufCMessage *msg)
{
    size_t *np = pbjson_at(msg, f->quantifier_offset);
    ProtobufCMessage ***ap = pbjson_at(msg, f->offset);
    size_t n;
    int r;

    if (!json_object_is_type(v, json_type_object))
        return pbjson_err(c, -EINVAL, "expected object");
    r = pbjson_enter(c);
    if (r < 0)
        return r;
    n = (size_t) json_object_object_length(v);
    if (n) {
        *ap = vc_new0(c->ctx, ProtobufCMessage *, n);
        if (!*ap)
            r = pbjson_enomem(c);
    }
    if (r >= 0) {
        json_object_object_foreach(v, key, val)
        {
            size_t old = pbjson_push_key(c, key);

            r = pbjson_in_entry(c, f->descriptor, key, val, &(*ap)[*np]);
            pbjson_pop(c, old);
            if (r < 0)
                break;
            ++*np;
        }
    }
    c->depth--;
    return r;
}

/* A JSON array into a repeated field; the count always covers the elements filled. */
static int pbjson_in_array(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, json_object *v,
                           ProtobufCMessage *msg)
{
    size_t *np = pbjson_at(msg, f->quantifier_offset);
    char **ap = pbjson_at(msg, f->offset);
    size_t n, es = pbjson_elem_size(f->type);
    int r;

    if (!json_object_is_type(v, json_type_array))
        return pbjson_err(c, -EINVAL, "expected array");
    r = pbjson_enter(c);
    if (r < 0)
        return r;
    n = json_object_array_length(v);
    if (n) {
        *ap = vc_calloc(c->ctx, n, es);
        if (!*ap)
            r = pbjson_enomem(c);
    }
    for (size_t i = 0; r >= 0 && i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        size_t old = pbjson_push(c, "[%zu]", i);

        if (json_object_is_type(e, json_type_null))
            r = pbjson_err(c, -EINVAL, "expected %s, got null", pbjson_type_name(f->type));
        else
            r = pbjson_in_value(c, f, e, *ap + i * es);
        pbjson_pop(c, old);
        if (r >= 0)
            *np = i + 1;
    }
    c->depth--;
    return r;
}

static int pbjson_in_field(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                           const ProtobufCFieldDescriptor *f, json_object *v, ProtobufCMessage *msg)
{
    uint32_t *which;
    int r;

    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return pbjson_is_map(d, f) ? pbjson_in_map(c, f, v, msg) : pbjson_in_array(c, f, v, msg);
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
        r = pbjson_in_value(c, f, v, pbjson_at(msg, f->offset));
        if (r >= 0)
            pbjson_mark(f, msg);
        return r;
    }
    /* The members of a oneof share the case word (and the storage). */
    which = pbjson_at(msg, f->quantifier_offset);
    if (*which) {
        const ProtobufCFieldDescriptor *o = protobuf_c_message_descriptor_get_field(d, *which);

        return pbjson_err(c, -EINVAL, "oneof member '%s' already set", o ? o->name : "?");
    }
    r = pbjson_in_value(c, f, v, pbjson_at(msg, f->offset));
    if (r >= 0)
        *which = f->id;
    return r;
}

static int pbjson_unknown(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                          const char *key)
{
    char q[PBJSON_QUOTE_MAX + 8];

    if (!c->len)
        return vc_err(c->ctx, -EINVAL, "unknown field '%s' in %s", pbjson_quote(key, q, sizeof(q)),
                      d->name);
    return vc_err(c->ctx, -EINVAL, "%s: unknown field '%s' in %s", c->path,
                  pbjson_quote(key, q, sizeof(q)), d->name);
}

static int pbjson_in_fields(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                            json_object *obj, ProtobufCMessage *msg)
{
    json_object_object_foreach(obj, key, val)
    {
        const ProtobufCFieldDescriptor *f;
        bool camel;
        size_t old;
        int r;

        f = pbjson_field(d, key, &camel);
        if (!f) {
            if (c->flags & VC_PBJSON_IGNORE_UNKNOWN)
                continue;
            return pbjson_unknown(c, d, key);
        }
        if (camel && json_object_object_get_ex(obj, f->name, NULL))
            return pbjson_err(c, -EINVAL, "field '%s' given twice (also as '%s') in %s", f->name,
                              key, d->name);
        if (json_object_is_type(val, json_type_null))
            continue;
        old = pbjson_push_field(c, key);
        r = pbjson_in_field(c, d, f, val, msg);
        pbjson_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

/* proto2 required fields must be given (and not as null), under either name. */
static int pbjson_in_required(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                              json_object *obj)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char camel[PBJSON_NAME_MAX];
        json_object *v = NULL;

        if (f->label != PROTOBUF_C_LABEL_REQUIRED)
            continue;
        if (!json_object_object_get_ex(obj, f->name, &v) &&
            pbjson_camel(f->name, camel, sizeof(camel)))
            (void) json_object_object_get_ex(obj, camel, &v);
        if (!v)
            return pbjson_err(c, -EINVAL, "missing required field '%s' in %s", f->name, d->name);
    }
    return 0;
}

static int pbjson_in_msg(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d, json_object *v,
                         ProtobufCMessage **ret)
{
    ProtobufCMessage *msg = NULL;
    int r;

    if (!json_object_is_type(v, json_type_object))
        return pbjson_err(c, -EINVAL, "expected object");
    r = pbjson_enter(c);
    if (r < 0)
        return r;
    r = pbjson_msg_new(c, d, &msg);
    if (r >= 0)
        r = pbjson_in_fields(c, d, v, msg);
    if (r >= 0)
        r = pbjson_in_required(c, d, v);
    c->depth--;
    if (r < 0) {
        vc_pb_free(c->ctx, msg);
        return r;
    }
    *ret = msg;
    return 0;
}

int vc_pbjson_from_json(struct vc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                        struct json_object *obj, unsigned flags, ProtobufCMessage **ret)
{
    struct pbjson_conv c = {.ctx = ctx, .flags = flags};

    if (!ctx || !ret)
        return -EINVAL;
    if (!desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return vc_err(ctx, -EINVAL, "pbjson: invalid message descriptor");
    c.root = desc->name;
    return pbjson_in_msg(&c, desc, obj, ret);
}

/* --- message -> JSON ----------------------------------------------------------------------- */

static int pbjson_new(struct pbjson_conv *c, json_object *j, json_object **ret)
{
    if (!j)
        return pbjson_enomem(c);
    *ret = j;
    return 0;
}

static json_object *pbjson_json_i64(const struct pbjson_conv *c, int64_t v)
{
    char buf[24];

    if (c->flags & VC_PBJSON_INT64_NUMBERS)
        return json_object_new_int64(v);
    (void) snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_object_new_string(buf);
}

static json_object *pbjson_json_u64(const struct pbjson_conv *c, uint64_t v)
{
    char buf[24];

    if (c->flags & VC_PBJSON_INT64_NUMBERS)
        return json_object_new_uint64(v);
    (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_object_new_string(buf);
}

/* The shortest text that reads back as the same float (single) or double. */
static json_object *pbjson_json_double(double d, bool single)
{
    char buf[40];

    if (isnan(d))
        return json_object_new_string("NaN");
    if (isinf(d))
        return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
    if (d == 0 && signbit(d))
        return json_object_new_double_s(d, "-0.0"); /* "-0" would read back as integer 0 */
    for (int prec = single ? 6 : 15;; prec++) {
        (void) snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (prec >= (single ? 9 : 17) ||
            (single ? strtof(buf, NULL) == (float) d : strtod(buf, NULL) == d))
            break;
    }
    return json_object_new_double_s(d, buf);
}

static int pbjson_out_string(struct pbjson_conv *c, const char *s, json_object **ret)
{
    size_t n;

    if (!s)
        s = "";
    n = strlen(s);
    if (n > INT_MAX)
        return pbjson_err(c, -EINVAL, "string too long");
    if (!pbjson_utf8_valid(s, n))
        return pbjson_err(c, -EINVAL, "invalid UTF-8 in string");
    return pbjson_new(c, json_object_new_string_len(s, (int) n), ret);
}

static int pbjson_out_bytes(struct pbjson_conv *c, const ProtobufCBinaryData *b, json_object **ret)
{
    size_t n;
    char *buf;
    int r;

    if (b->len > (size_t) INT_MAX / 4 * 3)
        return pbjson_err(c, -EINVAL, "bytes too long");
    if (b->len && !b->data)
        return pbjson_err(c, -EINVAL, "bytes without data");
    n = (b->len + 2) / 3 * 4;
    buf = vc_malloc(c->ctx, n + 1);
    if (!buf)
        return pbjson_enomem(c);
    pbjson_b64_encode(b->data, b->len, buf);
    r = pbjson_new(c, json_object_new_string_len(buf, (int) n), ret);
    vc_free(c->ctx, buf);
    return r;
}

static int pbjson_out_enum(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, int32_t v,
                           json_object **ret)
{
    const ProtobufCEnumValue *ev = NULL;

    if (!(c->flags & VC_PBJSON_ENUM_NUMBERS))
        ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    return pbjson_new(c, ev ? json_object_new_string(ev->name) : json_object_new_int(v), ret);
}

/* One value of field f stored at m. An unset message (a map value) is {}. */
static int pbjson_out_value(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, const void *m,
                            json_object **ret)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return pbjson_new(c, json_object_new_int(*(const int32_t *) m), ret);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return pbjson_new(c, json_object_new_int64(*(const uint32_t *) m), ret);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return pbjson_new(c, pbjson_json_i64(c, *(const int64_t *) m), ret);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return pbjson_new(c, pbjson_json_u64(c, *(const uint64_t *) m), ret);
    case PROTOBUF_C_TYPE_FLOAT:
        return pbjson_new(c, pbjson_json_double(*(const float *) m, true), ret);
    case PROTOBUF_C_TYPE_DOUBLE:
        return pbjson_new(c, pbjson_json_double(*(const double *) m, false), ret);
    case PROTOBUF_C_TYPE_BOOL:
        return pbjson_new(c, json_object_new_boolean(*(const protobuf_c_boolean *) m), ret);
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_out_enum(c, f, *(const int32_t *) m, ret);
    case PROTOBUF_C_TYPE_STRING:
        return pbjson_out_string(c, *(const char *const *) m, ret);
    case PROTOBUF_C_TYPE_BYTES:
        return pbjson_out_bytes(c, m, ret);
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!*(const ProtobufCMessage *const *) m)
            return pbjson_new(c, json_object_new_object(), ret);
        return pbjson_out_msg(c, *(const ProtobufCMessage *const *) m, ret);
    default:
        return pbjson_err(c, -EINVAL, "unsupported field type %d", (int) f->type);
    }
}

/* A map key as JSON object key text; buf holds any integer. */
static int pbjson_out_key(struct pbjson_conv *c, const ProtobufCFieldDescriptor *kf, const void *m,
                          char *buf, size_t size, const char **ret)
{
    const char *s;

    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING:
        s = *(const char *const *) m;
        s = s ? s : "";
        if (!pbjson_utf8_valid(s, strlen(s)))
            return pbjson_err(c, -EINVAL, "invalid UTF-8 in map key");
        *ret = s;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        *ret = *(const protobuf_c_boolean *) m ? "true" : "false";
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        (void) snprintf(buf, size, "%" PRId64, *(const int64_t *) m);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        (void) snprintf(buf, size, "%" PRIu64, *(const uint64_t *) m);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        (void) snprintf(buf, size, "%" PRIu32, *(const uint32_t *) m);
        break;
    default:
        (void) snprintf(buf, size, "%" PRId32, *(const int32_t *) m);
        break;
    }
    *ret = buf;
    return 0;
}

static int pbjson_out_entry(struct pbjson_conv *c, const ProtobufCMessage *e, json_object *obj)
{
    const ProtobufCFieldDescriptor *kf = &e->descriptor->fields[0], *vf = &e->descriptor->fields[1];
    json_object *v = NULL;
    const char *key = NULL;
    char buf[24];
    size_t old;
    int r;

    r = pbjson_out_key(c, kf, pbjson_cat(e, kf->offset), buf, sizeof(buf), &key);
    if (r < 0)
        return r;
    old = pbjson_push_key(c, key);
    r = pbjson_out_value(c, vf, pbjson_cat(e, vf->offset), &v);
    if (r >= 0 && json_object_object_add(obj, key, v) < 0) {
        json_object_put(v);
        r = pbjson_enomem(c);
    }
    pbjson_pop(c, old);
    return r;
}

/* One element of a repeated field appended to the array a, or one map entry added to the
 * object a. */
static int pbjson_out_elem(struct pbjson_conv *c, const ProtobufCFieldDescriptor *f, const void *m,
                           bool map, json_object *a)
{
    json_object *v = NULL;
    int r;

    if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(const ProtobufCMessage *const *) m)
        return pbjson_err(c, -EINVAL, "NULL message in repeated field");
    if (map)
        return pbjson_out_entry(c, *(const ProtobufCMessage *const *) m, a);
    r = pbjson_out_value(c, f, m, &v);
    if (r >= 0 && json_object_array_add(a, v) < 0) {
        json_object_put(v);
        r = pbjson_enomem(c);
    }
    return r;
}

/* A repeated field as an array, or a map field as an object. */
static int pbjson_out_repeated(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                               const ProtobufCFieldDescriptor *f, const void *msg,
                               json_object **ret)
{
    size_t n = *(const size_t *) pbjson_cat(msg, f->quantifier_offset);
    const char *arr = *(const char *const *) pbjson_cat(msg, f->offset);
    size_t es = pbjson_elem_size(f->type);
    bool map = pbjson_is_map(d, f);
    json_object *a;
    int r;

    if (n && !arr)
        return pbjson_err(c, -EINVAL, "%zu elements without an array", n);
    r = pbjson_enter(c);
    if (r < 0)
        return r;
    a = map ? json_object_new_object() : json_object_new_array();
    if (!a)
        r = pbjson_enomem(c);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        size_t old = map ? c->len : pbjson_push(c, "[%zu]", i); /* an entry names its key */

        r = pbjson_out_elem(c, f, arr + i * es, map, a);
        pbjson_pop(c, old);
    }
    c->depth--;
    if (r < 0) {
        json_object_put(a);
        return r;
    }
    *ret = a;
    return 0;
}

/* Whether the field appears in the output: set (as protobuf-c's packer sees it) or, for
 * fields without presence, differing from the default unless defaults are asked for. */
static bool pbjson_out_present(const struct pbjson_conv *c, const ProtobufCFieldDescriptor *f,
                               const void *msg)
{
    const void *m = pbjson_cat(msg, f->offset);
    bool ptr = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;

    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return (c->flags & VC_PBJSON_DEFAULTS) ||
               *(const size_t *) pbjson_cat(msg, f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *) pbjson_cat(msg, f->quantifier_offset) == f->id &&
               (!ptr || *(const void *const *) m);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(const void *const *) m != NULL;
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return true;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (f->type == PROTOBUF_C_TYPE_STRING)
            return *(const void *const *) m && *(const void *const *) m != f->default_value;
        return *(const protobuf_c_boolean *) pbjson_cat(msg, f->quantifier_offset);
    }
    if (c->flags & VC_PBJSON_DEFAULTS)
        return true;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *) m;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *) m != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *) m != 0;
    case PROTOBUF_C_TYPE_STRING:
        return *(const char *const *) m && **(const char *const *) m;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *) m)->len > 0;
    default:
        return pbjson_is_64(f->type) ? *(const uint64_t *) m != 0 : *(const uint32_t *) m != 0;
    }
}

static int pbjson_out_field(struct pbjson_conv *c, const ProtobufCMessageDescriptor *d,
                            const ProtobufCFieldDescriptor *f, const void *msg, json_object *obj)
{
    char camel[PBJSON_NAME_MAX];
    const char *name = f->name;
    json_object *v = NULL;
    size_t old;
    int r;

    if (!pbjson_out_present(c, f, msg))
        return 0;
    if ((c->flags & VC_PBJSON_CAMEL_CASE) && pbjson_camel(f->name, camel, sizeof(camel)))
        name = camel;
    old = pbjson_push_field(c, name);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        r = pbjson_out_repeated(c, d, f, msg, &v);
    else
        r = pbjson_out_value(c, f, pbjson_cat(msg, f->offset), &v);
    pbjson_pop(c, old);
    if (r < 0)
        return r;
    if (json_object_object_add(obj, name, v) < 0) {
        json_object_put(v);
        return pbjson_enomem(c);
    }
    return 0;
}

static int pbjson_out_msg(struct pbjson_conv *c, const ProtobufCMessage *msg, json_object **ret)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_object *obj;
    int r;

    if (!d || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return pbjson_err(c, -EINVAL, "not a protobuf-c message");
    r = pbjson_enter(c);
    if (r < 0)
        return r;
    obj = json_object_new_object();
    if (!obj)
        r = pbjson_enomem(c);
    for (unsigned i = 0; r >= 0 && i < d->n_fields; i++)
        r = pbjson_out_field(c, d, &d->fields[i], msg, obj);
    c->depth--;
    if (r < 0) {
        json_object_put(obj);
        return r;
    }
    *ret = obj;
    return 0;
}

int vc_pbjson_to_json(struct vc_ctx *ctx, const ProtobufCMessage *msg, unsigned flags,
                      struct json_object **ret)
{
    struct pbjson_conv c = {.ctx = ctx, .flags = flags};

    if (!ctx || !ret)
        return -EINVAL;
    if (!msg || !msg->descriptor || msg->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return vc_err(ctx, -EINVAL, "pbjson: not a protobuf-c message");
    c.root = msg->descriptor->name;
    return pbjson_out_msg(&c, msg, ret);
}

/* --- text ---------------------------------------------------------------------------------- */

int vc_pbjson_to_string(struct vc_ctx *ctx, const ProtobufCMessage *msg, unsigned flags, char **ret)
{
    int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
    json_object *j;
    const char *s;
    char *copy;
    int r;

    if (!ctx || !ret)
        return -EINVAL;
    r = vc_pbjson_to_json(ctx, msg, flags, &j);
    if (r < 0)
        return r;
    jflags |= flags & VC_PBJSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                       : JSON_C_TO_STRING_PLAIN;
    s = json_object_to_json_string_ext(j, jflags);
    copy = s ? vc_strdup(ctx, s) : NULL;
    json_object_put(j);
    if (!copy)
        return vc_err(ctx, -ENOMEM, "%s: out of memory", msg->descriptor->name);
    *ret = copy;
    return 0;
}

/* Whether an integer literal (no fraction, no exponent) lies beyond every 64-bit type. */
static bool pbjson_lit_wide(const char *s, size_t n)
{
    bool neg = n && s[0] == '-';
    const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
    size_t nl = strlen(lim);

    s += neg, n -= neg;
    while (n > 1 && s[0] == '0')
        s++, n--;
    for (size_t i = 0; i < n; i++)
        if (!pbjson_digit(s[i]))
            return false;
    return n != nl ? n > nl : memcmp(s, lim, n) > 0;
}

/* json-c clamps integer literals beyond 64 bits to INT64_MIN / UINT64_MAX without a word. Each
 * such literal gets ".0" appended, so it parses as a double whose text the field conversion
 * reads exactly and rejects as out of range, naming the field. Counts them; with out (len +
 * 2 * count bytes), also writes the widened text. buf is valid JSON. */
static size_t pbjson_widen(const char *buf, size_t len, char *out)
{
    size_t i = 0, o = 0, count = 0;
    bool in_str = false;

    while (i < len) {
        size_t s = i;

        if (in_str) {
            in_str = buf[i] != '"';
            i += buf[i] == '\\' && i + 1 < len ? 2 : 1;
        } else if (buf[i] == '-' || pbjson_digit(buf[i])) {
            while (i < len && buf[i] && (pbjson_digit(buf[i]) || strchr("+-.eE", buf[i])))
                i++;
        } else {
            in_str = buf[i] == '"';
            i++;
        }
        if (out)
            memcpy(out + o, buf + s, i - s);
        o += i - s;
        if (!in_str && (buf[s] == '-' || pbjson_digit(buf[s])) && pbjson_lit_wide(buf + s, i - s)) {
            if (out)
                memcpy(out + o, ".0", 2);
            o += 2;
            count++;
        }
    }
    return count;
}

/* json-c's parse: one JSON value with only whitespace around it, errors with their position.
 * json-c counts a scalar inside the innermost container as a level of its own, hence the one
 * spare level; the converter enforces VC_PBJSON_DEPTH_MAX itself. */
static int pbjson_parse(struct vc_ctx *ctx, const char *what, const char *buf, size_t len,
                        json_object **ret)
{
    struct json_tokener *tok = json_tokener_new_ex(VC_PBJSON_DEPTH_MAX + 1);
    enum json_tokener_error jerr;
    const char *why = NULL;
    json_object *j;
    size_t end, line = 1, col = 1;

    if (!tok)
        return vc_err(ctx, -ENOMEM, "%s: out of memory", what);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    j = json_tokener_parse_ex(tok, buf, (int) len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* A value may end right at the end of input ("null", "12"): say where the input ends. */
        j = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    json_tokener_free(tok);
    if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)
        why = "unexpected end of input";
    else if (jerr != json_tokener_success)
        why = json_tokener_error_desc(jerr);
    for (; !why && end < len; end++)
        if (!strchr(" \t\r\n", buf[end]) || !buf[end])
            why = "trailing data after the JSON value";
    if (!why) {
        *ret = j;
        return 0;
    }
    json_object_put(j);
    for (size_t i = 0; i < end && i < len; i++)
        line += buf[i] == '\n', col = buf[i] == '\n' ? 1 : col + 1;
    return vc_err(ctx, jerr == json_tokener_error_depth ? -E2BIG : -EINVAL,
                  "%s: malformed JSON at line %zu column %zu (offset %zu): %s", what, line, col,
                  end, why);
}

int vc_pbjson_from_string(struct vc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                          const char *buf, size_t len, unsigned flags, ProtobufCMessage **ret)
{
    char *wide = NULL;
    json_object *j;
    size_t n;
    int r;

    if (!ctx || !ret)
        return -EINVAL;
    if (!desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC || (!buf && len))
        return vc_err(ctx, -EINVAL, "pbjson: invalid arguments");
    if (len > VC_PBJSON_INPUT_MAX)
        return vc_err(ctx, -EMSGSIZE, "%s: JSON input of %zu bytes exceeds %u", desc->name, len,
                      VC_PBJSON_INPUT_MAX);
    r = pbjson_parse(ctx, desc->name, buf ? buf : "", len, &j);
    if (r < 0)
        return r;
    n = pbjson_widen(buf, len, NULL);
    if (n) {
        json_object_put(j);
        wide = vc_malloc(ctx, len + 2 * n);
        if (!wide)
            return vc_err(ctx, -ENOMEM, "%s: out of memory", desc->name);
        (void) pbjson_widen(buf, len, wide);
        r = pbjson_parse(ctx, desc->name, wide, len + 2 * n, &j);
        vc_free(ctx, wide);
        if (r < 0)
            return r;
    }
    r = vc_pbjson_from_json(ctx, desc, j, flags, ret);
    json_object_put(j);
    return r;
}
