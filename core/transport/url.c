/* SPDX-License-Identifier: Apache-2.0 */
/* Agent URLs: the one parser and formatter of kata's schemes, strict so that a typo fails at
 * once with a message naming the URL and the problem instead of dialing the wrong thing until a
 * timeout. Pure string work; no I/O. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vc/err.h>
#include <vc/url.h>

#include "transport.h"

static const char *const url_scheme_names[VC_URL_SCHEME_LAST] = {
    [VC_URL_UNIX] = "unix",     [VC_URL_ABSTRACT] = "unix", [VC_URL_VSOCK] = "vsock",
    [VC_URL_HVSOCK] = "hvsock", [VC_URL_MOCK] = "mock",     [VC_URL_REMOTE] = "remote",
    [VC_URL_SERIAL] = "serial",
};

const char *vc_url_scheme_to_string(enum vc_url_scheme scheme)
{
    return (unsigned) scheme < VC_URL_SCHEME_LAST ? url_scheme_names[scheme] : NULL;
}

int vc_transport_parse_u32(const char *s, const char **ret_end, uint32_t *ret)
{
    uint64_t v = 0;
    size_t n = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        if (n == 10)
            return -ERANGE;
        v = v * 10 + (uint64_t) (s[n] - '0');
    }
    if (v > UINT32_MAX)
        return -ERANGE;
    *ret_end = s + n;
    *ret = (uint32_t) v;
    return 0;
}

/* A number of url that must end at stop; what names it in messages. */
static int url_number(struct vc_ctx *ctx, const char *url, const char *what, const char *s,
                      char stop, uint32_t *ret)
{
    const char *end;
    int r;

    if (*s == stop)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing %s", url, what);
    r = vc_transport_parse_u32(s, &end, ret);
    if (r == -ERANGE)
        return vc_err(ctx, -EINVAL, "invalid url '%s': %s out of range (0 to %" PRIu32 ")", url,
                      what, UINT32_MAX);
    if (r < 0)
        return vc_err(ctx, -EINVAL, "invalid url '%s': %s is not a decimal number", url, what);
    if (*end != stop)
        return vc_err(ctx, -EINVAL, "invalid url '%s': junk after the %s", url, what);
    return 0;
}

static int url_port(struct vc_ctx *ctx, const char *url, const char *s, uint32_t *ret)
{
    int r = url_number(ctx, url, "port", s, '\0', ret);

    if (r < 0)
        return r;
    if (*ret == 0)
        return vc_err(ctx, -EINVAL, "invalid url '%s': port 0 is not valid", url);
    return 0;
}

/* Copies the path of len bytes at s into u->path after checking it. */
static int url_path(struct vc_ctx *ctx, const char *url, const char *s, size_t len,
                    struct vc_url *u)
{
    if (len == 0)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing path", url);
    if (s[0] != '/' && u->scheme == VC_URL_REMOTE)
        return vc_err(ctx, -EINVAL,
                      "invalid url '%s': the host part must be empty (remote:///path)", url);
    if (s[0] != '/')
        return vc_err(ctx, -EINVAL, "invalid url '%s': path must be absolute", url);
    if (len > VC_URL_PATH_MAX)
        return vc_err(ctx, -EINVAL, "invalid url '%s': path longer than %d bytes (sun_path)", url,
                      VC_URL_PATH_MAX);
    memcpy(u->path, s, len);
    u->path[len] = '\0';
    return 0;
}

static int url_parse_vsock(struct vc_ctx *ctx, const char *url, const char *rest, struct vc_url *u)
{
    const char *colon = strchr(rest, ':');
    int r;

    if (!colon)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing ':PORT' (vsock://CID:PORT)", url);
    if (strncmp(rest, "-1:", 3) == 0)
        u->cid = VC_URL_CID_ANY;
    else {
        r = url_number(ctx, url, "CID", rest, ':', &u->cid);
        if (r < 0)
            return r;
    }
    return url_port(ctx, url, colon + 1, &u->port);
}

static int url_parse_hvsock(struct vc_ctx *ctx, const char *url, const char *rest, struct vc_url *u)
{
    const char *colon = strrchr(rest, ':');
    int r;

    if (!colon)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing ':PORT' (hvsock://PATH:PORT)", url);
    r = url_path(ctx, url, rest, (size_t) (colon - rest), u);
    if (r < 0)
        return r;
    return url_port(ctx, url, colon + 1, &u->port);
}

static int url_parse_abstract(struct vc_ctx *ctx, const char *url, const char *name,
                              struct vc_url *u)
{
    size_t len = strnlen(name, VC_URL_PATH_MAX + 1);

    if (len == 0)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing abstract socket name after '@'",
                      url);
    if (len > VC_URL_PATH_MAX)
        return vc_err(ctx, -EINVAL, "invalid url '%s': abstract name longer than %d bytes", url,
                      VC_URL_PATH_MAX);
    memcpy(u->path, name, len + 1);
    return 0;
}

static int url_scheme(struct vc_ctx *ctx, const char *url, size_t len, enum vc_url_scheme *ret)
{
    for (unsigned i = 0; i < VC_URL_SCHEME_LAST; i++) {
        if (i == VC_URL_ABSTRACT)
            continue;
        if (strlen(url_scheme_names[i]) == len && memcmp(url, url_scheme_names[i], len) == 0) {
            *ret = (enum vc_url_scheme) i;
            return 0;
        }
    }
    return vc_err(ctx, -EINVAL,
                  "invalid url '%s': unknown scheme (unix, vsock, hvsock, mock, remote, serial)",
                  url);
}

int vc_url_parse(struct vc_ctx *ctx, const char *url, struct vc_url *ret)
{
    struct vc_url u = {0};
    const char *sep, *rest;
    int r;

    if (!url || !ret)
        return vc_err(ctx, -EINVAL, "invalid url: none given");
    sep = strstr(url, "://");
    if (!sep)
        return vc_err(ctx, -EINVAL, "invalid url '%s': missing 'scheme://'", url);
    r = url_scheme(ctx, url, (size_t) (sep - url), &u.scheme);
    if (r < 0)
        return r;
    rest = sep + 3;
    switch (u.scheme) {
    case VC_URL_VSOCK:
        r = url_parse_vsock(ctx, url, rest, &u);
        break;
    case VC_URL_HVSOCK:
        r = url_parse_hvsock(ctx, url, rest, &u);
        break;
    default:
        if (u.scheme == VC_URL_UNIX && rest[0] == '@') {
            u.scheme = VC_URL_ABSTRACT;
            r = url_parse_abstract(ctx, url, rest + 1, &u);
            break;
        }
        r = url_path(ctx, url, rest, strnlen(rest, VC_URL_PATH_MAX + 1), &u);
        break;
    }
    if (r < 0)
        return r;
    *ret = u;
    return 0;
}

int vc_url_format(struct vc_ctx *ctx, const struct vc_url *url, char *buf, size_t size)
{
    /* Room for any path the struct can hold, so checking happens in the parser. */
    char tmp[VC_URL_MAX + 8];
    struct vc_url back;
    const char *scheme = url ? vc_url_scheme_to_string(url->scheme) : NULL;
    int r;

    if (!scheme || !buf)
        return vc_err(ctx, -EINVAL, "format url: no url or unknown scheme");
    if (!memchr(url->path, '\0', sizeof(url->path)))
        return vc_err(ctx, -EINVAL, "format url: path is not terminated");
    if (url->scheme == VC_URL_VSOCK)
        r = snprintf(tmp, sizeof(tmp), "vsock://%" PRIu32 ":%" PRIu32, url->cid, url->port);
    else if (url->scheme == VC_URL_HVSOCK)
        r = snprintf(tmp, sizeof(tmp), "hvsock://%s:%" PRIu32, url->path, url->port);
    else
        r = snprintf(tmp, sizeof(tmp), "%s://%s%s", scheme,
                     url->scheme == VC_URL_ABSTRACT ? "@" : "", url->path);
    if (r < 0 || (size_t) r >= sizeof(tmp))
        return vc_err(ctx, -EINVAL, "format url: parts do not fit");
    r = vc_url_parse(ctx, tmp, &back);
    if (r < 0)
        return r;
    if (back.scheme != url->scheme) /* a unix path that reads as an abstract name */
        return vc_err(ctx, -EINVAL, "format url '%s': does not read back as %s", tmp, scheme);
    if (strlen(tmp) >= size)
        return vc_err(ctx, -ENOBUFS, "format url '%s': buffer of %zu bytes too short", tmp, size);
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 0;
}
