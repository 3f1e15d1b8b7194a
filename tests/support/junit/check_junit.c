/* SPDX-License-Identifier: Apache-2.0 */
/* Per-test JUnit reports for the Check suites. Every suite's call to srunner_run_all is wrapped
 * at link time (-Wl,--wrap=srunner_run_all, tests/CMakeLists.txt), so with $VC_JUNIT_DIR set and
 * no suite touched, Check also writes its XML log, which this file turns into
 * $VC_JUNIT_DIR/<program>.xml: one JUnit testcase per Check test (suite.tcase / function), with
 * Check's failure or error message. Test support: it calls the filesystem directly. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#define CKJ_LOG_MAX (64u << 20) /* the largest Check log read */

void __real_srunner_run_all(SRunner *sr, enum print_output mode);
void __wrap_srunner_run_all(SRunner *sr, enum print_output mode);

/* A piece of Check's log: [p, p + len). */
struct ckj_span {
    const char *p; /* start (not NUL-terminated) */
    size_t len;    /* length */
};

/* What a suite's testcases add up to. */
struct ckj_totals {
    unsigned tests;    /* testcases */
    unsigned failures; /* result="failure" */
    unsigned errors;   /* result="error" (signal, timeout, early exit) */
    double time;       /* summed durations, seconds */
};

/* mkdir -p: every missing directory of path. */
static int ckj_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0777) < 0 && errno != EEXIST ? -errno : 0;
}

/* The whole file into a NUL-terminated buffer (free it). */
static char *ckj_slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            if (cap > CKJ_LOG_MAX || !(nb = realloc(buf, cap + 1)))
                goto fail;
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    (void) fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
fail:
    (void) fclose(f);
    free(buf);
    return NULL;
}

/* The text of the first <tag>...</tag> in [from, end); an empty span when there is none. */
static struct ckj_span ckj_elem(const char *from, const char *end, const char *tag)
{
    char open[32], close[32];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    a = memmem(from, (size_t) (end - from), open, strlen(open));
    if (!a)
        return (struct ckj_span){from, 0};
    a += strlen(open);
    b = memmem(a, (size_t) (end - a), close, strlen(close));
    return b ? (struct ckj_span){a, (size_t) (b - a)} : (struct ckj_span){a, 0};
}

/* One character of Check's escaped text at s (n bytes left) into *c; the bytes it took. */
static size_t ckj_unescape(const char *s, size_t n, unsigned *c)
{
    static const struct {
        const char *name; /* the entity */
        char c;           /* its character */
    } ents[] = {{"&quot;", '"'}, {"&apos;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}};
    const char *semi;

    *c = (unsigned char) s[0];
    if (s[0] != '&')
        return 1;
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t l = strlen(ents[i].name);
        if (n >= l && memcmp(s, ents[i].name, l) == 0) {
            *c = (unsigned char) ents[i].c;
            return l;
        }
    }
    semi = memchr(s, ';', n < 12 ? n : 12);
    if (n > 2 && s[1] == '#' && semi) {
        bool hex = s[2] == 'x' || s[2] == 'X';
        *c = (unsigned) strtoul(s + (hex ? 3 : 2), NULL, hex ? 16 : 10);
        return (size_t) (semi - s) + 1;
    }
    return 1;
}

/* Check's escaped text, re-escaped for an XML attribute or text; characters XML 1.0 cannot
 * hold and non-ASCII bytes (Check escapes those byte by byte) become '?'. */
static void ckj_put(FILE *out, struct ckj_span t)
{
    size_t i = 0;

    while (i < t.len) {
        unsigned c;
        i += ckj_unescape(t.p + i, t.len - i, &c);
        switch (c) {
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '\n':
            fputs("&#10;", out);
            break;
        case '\t':
            fputs("&#9;", out);
            break;
        default:
            fputc(c >= 0x20 && c < 0x7f ? (int) c : '?', out);
            break;
        }
    }
}

/* Check's "S.UUUUUU" duration in seconds; 0 when absent or negative (not measured). */
static double ckj_seconds(struct ckj_span t)
{
    char buf[32];
    double d;

    if (t.len == 0 || t.len >= sizeof(buf))
        return 0;
    memcpy(buf, t.p, t.len);
    buf[t.len] = '\0';
    d = strtod(buf, NULL);
    return d > 0 ? d : 0;
}

/* One <test> of Check's log as a JUnit testcase into out; adds it to *tot. */
static void ckj_test(FILE *out, const char *prog, struct ckj_span suite, const char *t,
                     const char *end, struct ckj_totals *tot)
{
    struct ckj_span id = ckj_elem(t, end, "id"), fn = ckj_elem(t, end, "fn");
    struct ckj_span tc = ckj_elem(t, end, "description"), msg = ckj_elem(t, end, "message");
    struct ckj_span iter = ckj_elem(t, end, "iteration");
    double secs = ckj_seconds(ckj_elem(t, end, "duration"));
    bool failure = strncmp(t, "<test result=\"failure\"", 22) == 0;
    bool error = strncmp(t, "<test result=\"error\"", 20) == 0;

    tot->tests++;
    tot->failures += failure;
    tot->errors += error;
    tot->time += secs;
    fprintf(out, "    <testcase classname=\"%s.", prog);
    ckj_put(out, suite);
    fputc('.', out);
    ckj_put(out, tc);
    fputs("\" name=\"", out);
    ckj_put(out, id);
    /* Loop tests run once per iteration: the later ones carry it in their name. */
    if (iter.len && !(iter.len == 1 && iter.p[0] == '0')) {
        fputc('#', out);
        ckj_put(out, iter);
    }
    fprintf(out, "\" time=\"%.6f\">\n", secs);
    if (failure || error) {
        const char *kind = failure ? "failure" : "error";
        fprintf(out, "      <%s type=\"%s\" message=\"", kind, kind);
        ckj_put(out, msg);
        fputs("\">", out);
        ckj_put(out, fn);
        fputs(": ", out);
        ckj_put(out, msg);
        fprintf(out, "</%s>\n", kind);
    }
    fputs("    </testcase>\n", out);
}

/* Check's XML log (log, len bytes) as JUnit into path. 0 or -errno. */
static int ckj_convert(const char *log, size_t len, const char *prog, const char *path)
{
    const char *end = log + len, *s = log;
    char tmp[PATH_MAX + 8];
    FILE *out;
    bool ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
        return -ENAMETOOLONG;
    out = fopen(tmp, "we");
    if (!out)
        return -errno;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"%s\">\n", prog);
    while ((s = memmem(s, (size_t) (end - s), "<suite>", 7))) {
        const char *send = memmem(s, (size_t) (end - s), "</suite>", 8), *t = s;
        struct ckj_span title = ckj_elem(s, send ? send : end, "title");
        struct ckj_totals tot = {0};
        char *body = NULL;
        size_t body_len = 0;
        FILE *b;

        send = send ? send : end;
        b = open_memstream(&body, &body_len);
        if (!b) {
            (void) fclose(out);
            (void) unlink(tmp);
            return -ENOMEM;
        }
        while ((t = memmem(t, (size_t) (send - t), "<test ", 6))) {
            const char *tend = memmem(t, (size_t) (send - t), "</test>", 7);
            tend = tend ? tend : send;
            ckj_test(b, prog, title, t, tend, &tot);
            t = tend;
        }
        ok = fclose(b) == 0;
        fprintf(out, "  <testsuite name=\"%s.", prog);
        ckj_put(out, title);
        fprintf(out, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"0\" time=\"%.6f\">\n",
                tot.tests, tot.failures, tot.errors, tot.time);
        if (ok && body_len)
            (void) fwrite(body, 1, body_len, out);
        fputs("  </testsuite>\n", out);
        free(body);
        s = send;
    }
    fputs("</testsuites>\n", out);
    ok = !ferror(out);
    if (fclose(out) != 0 || !ok || rename(tmp, path) < 0) {
        (void) unlink(tmp);
        return -EIO;
    }
    return 0;
}

void __wrap_srunner_run_all(SRunner *sr, enum print_output mode)
{
    const char *dir = getenv("VC_JUNIT_DIR"), *prog = program_invocation_short_name;
    char log[PATH_MAX], junit[PATH_MAX];
    size_t len = 0;
    char *text;
    int r;

    /* Nothing asked for, or the suite (or CK_XML_LOG_FILE_NAME) already chose an XML log. */
    if (!dir || !dir[0] || srunner_has_xml(sr)) {
        __real_srunner_run_all(sr, mode);
        return;
    }
    if (snprintf(log, sizeof(log), "%s/%s.check.xml", dir, prog) >= (int) sizeof(log) ||
        snprintf(junit, sizeof(junit), "%s/%s.xml", dir, prog) >= (int) sizeof(junit) ||
        ckj_mkdirs(dir) < 0) {
        fprintf(stderr, "%s: cannot write a JUnit report into '%s'\n", prog, dir);
        __real_srunner_run_all(sr, mode);
        return;
    }
    (void) unlink(junit);
    srunner_set_xml(sr, log);
    __real_srunner_run_all(sr, mode);
    /* The runner keeps the pointer: forget it before log goes out of scope. */
    srunner_set_xml(sr, NULL);
    text = ckj_slurp(log, &len);
    r = text ? ckj_convert(text, len, prog, junit) : -(errno ? errno : EIO);
    free(text);
    if (r < 0)
        fprintf(stderr, "%s: no JUnit report %s: %s\n", prog, junit, strerror(-r));
    else
        (void) unlink(log);
}
