/* SPDX-License-Identifier: Apache-2.0 */
/* A plain main for the fuzz targets, for builds without libFuzzer (gcc, sanitizers): runs
 * LLVMFuzzerTestOneInput once on every file named on the command line and on every regular file
 * of every directory named (not recursing). Real-world-only tool: it reads files directly.
 * Exit status 0 when every input ran, 1 if one could not be read. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file; 0 or -errno. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    int r = 0;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        r = -EIO;
        goto out;
    }
    /* One spare byte so an empty file still gets a valid pointer. */
    buf = malloc((size_t) len + 1);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    if (len > 0 && fread(buf, 1, (size_t) len, f) != (size_t) len) {
        r = -EIO;
        goto out;
    }
    fprintf(stderr, "replay: %s (%ld bytes)\n", path, len);
    (void) LLVMFuzzerTestOneInput(buf, (size_t) len);
out:
    free(buf);
    fclose(f);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Runs every regular file of dir, in name order; returns how many failed to read. */
static int run_dir(const char *dir)
{
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    DIR *d = opendir(dir);

    if (!d)
        return 1;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));

            if (!nn)
                abort();
            names = nn;
        }
        names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (!names[n])
            abort();
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;

        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) < 0) {
            fprintf(stderr, "replay: cannot read %s\n", names[i]);
            bad++;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0, runs = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            bad++;
        } else if (S_ISDIR(st.st_mode)) {
            bad += run_dir(argv[i]);
        } else if (run_file(argv[i]) < 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            bad++;
        }
        runs++;
    }
    /* Always run the empty input once, as libFuzzer does. */
    (void) LLVMFuzzerTestOneInput((const uint8_t *) "", 0);
    fprintf(stderr, "replay: %d argument(s), %d unreadable\n", runs, bad);
    return bad ? 1 : 0;
}
