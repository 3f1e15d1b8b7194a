/* SPDX-License-Identifier: Apache-2.0 */
/* The mockagent daemon as a test guest's /init: mounts the filesystems, loads the virtio modules
 * the initramfs ships, finds the agent's virtio-serial port, and stands for the real machine
 * under the guest model (sysfs CPU and memory onlining, the clock). A real-world service: this
 * file makes syscalls (mount, finit_module, reboot, clock_settime), sleeps and reads sysfs
 * directly, and runs only inside a real guest. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define INIT_SYS_CPU     "/sys/devices/system/cpu"
#define INIT_SYS_MEM     "/sys/devices/system/memory"
#define INIT_PORTS       "/sys/class/virtio-ports"
#define INIT_DRIVERS     "/sys/bus/virtio/drivers"
#define INIT_LINE_MAX    512                 /* longest load.list line */
#define INIT_MODULES_MAX 64                  /* modules load.list may name */
#define INIT_STEP_NS     (10L * 1000 * 1000) /* waiting for the port: poll period */
#define INIT_PORT_STEPS  3000                /* ... and how many (30 s: TCG is slow) */
#define INIT_CPU_TRIES   100                 /* kata-agent's online_cpus retries */
#define INIT_CPU_WAIT_NS (50L * 1000 * 1000) /* ... and its wait between them */

__attribute__((format(printf, 1, 2))) static void init_say(const char *fmt, ...)
{
    va_list ap;

    fputs("mockagent-init: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void init_nap(long ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Reads a small sysfs file into buf (NUL-terminated, trailing whitespace cut). Length, or
 * -errno. */
static int init_read(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    (void) close(fd);
    if (n < 0)
        return -errno;
    while (n > 0 && isspace((unsigned char) buf[n - 1]))
        n--;
    buf[n] = '\0';
    return (int) n;
}

static int init_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    int r = 0;

    if (fd < 0)
        return -errno;
    n = write(fd, text, strlen(text));
    if (n < 0)
        r = -errno;
    (void) close(fd);
    return r;
}

/* Whether name is prefix followed by decimal digits only; *ret the number. */
static bool init_numbered(const char *name, const char *prefix, uint32_t *ret)
{
    size_t n = strlen(prefix);
    char *end;
    unsigned long v;

    if (strncmp(name, prefix, n) != 0 || !isdigit((unsigned char) name[n]))
        return false;
    errno = 0;
    v = strtoul(name + n, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *ret = (uint32_t) v;
    return true;
}

/* --- bringing the machine up ------------------------------------------------------------------ */

static void init_mount(const char *src, const char *dir, const char *type, unsigned long flags)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        init_say("mkdir %s: %s", dir, strerror(errno));
    if (mount(src, dir, type, flags, NULL) < 0 && errno != EBUSY)
        init_say("mount %s on %s: %s", type, dir, strerror(errno));
}

/* As PID 1 without a /dev/console in the initramfs, fds 0-2 are closed: open them on the
 * console devtmpfs provides, so messages reach the log and no later fd lands on 0-2. */
static void init_stdio(void)
{
    int fd;

    if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
        return;
    fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        fd = open("/dev/null", O_RDWR);
    for (int i = 0; fd >= 0 && i <= STDERR_FILENO; i++)
        if (i != fd)
            (void) dup2(fd, i);
    if (fd > STDERR_FILENO)
        (void) close(fd);
}

static int init_load_module(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r = 0;

    if (fd < 0)
        return -errno;
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        r = -errno;
    (void) close(fd);
    return r;
}

/* Loads every module DM_INIT_MODULES lists (one .ko path a line, '#' comments), in its order:
 * the build wrote it dependencies first. A module that fails is reported and skipped. */
static void init_load_modules(void)
{
    FILE *f = fopen(DM_INIT_MODULES, "re");
    char line[INIT_LINE_MAX];
    int n = 0;

    if (!f) {
        init_say("no %s: loading no modules", DM_INIT_MODULES);
        return;
    }
    while (n < INIT_MODULES_MAX && fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\r\n#");
        int r;

        while (len > 0 && isspace((unsigned char) line[len - 1]))
            len--;
        line[len] = '\0';
        if (!len)
            continue;
        n++;
        r = init_load_module(line);
        if (r < 0)
            init_say("cannot load %s: %s", line, strerror(-r));
    }
    (void) fclose(f);
}

/* Whether a virtio device is bound to driver. */
static bool init_bound(const char *driver)
{
    char path[256];
    struct dirent *e;
    bool found = false;
    DIR *d;

    (void) snprintf(path, sizeof(path), "%s/%s", INIT_DRIVERS, driver);
    d = opendir(path);
    if (!d)
        return false;
    while (!found && (e = readdir(d)))
        found = strncmp(e->d_name, "virtio", 6) == 0;
    (void) closedir(d);
    return found;
}

/* The /dev path of the port named name into buf, or -ENOENT while it is not there. */
static int init_find_port(const char *name, char *buf, size_t size)
{
    char path[300], text[128];
    struct dirent *e;
    int r = -ENOENT;
    DIR *d = opendir(INIT_PORTS);
    struct stat st;

    if (!d)
        return -ENOENT;
    while (r < 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        (void) snprintf(path, sizeof(path), "%s/%s/name", INIT_PORTS, e->d_name);
        if (init_read(path, text, sizeof(text)) < 0 || strcmp(text, name) != 0)
            continue;
        (void) snprintf(path, sizeof(path), "/dev/%s", e->d_name);
        if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
            snprintf(buf, size, "serial://%s", path) < (int) size)
            r = 0;
    }
    (void) closedir(d);
    return r;
}

static int init_probe(void *data, struct magent_real_state *ret);

int dm_init_boot(bool want_port, struct dm_init *ret)
{
    struct magent_real_state st;
    struct dm_init in = {.url = ""};
    struct sigaction sa = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
    bool serial;

    /* Orphans are reparented to init: let the kernel reap them. */
    (void) sigaction(SIGCHLD, &sa, NULL);
    init_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    init_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    init_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
    init_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV);
    init_stdio();
    init_load_modules();
    in.vsock = init_bound("vmw_vsock_virtio_transport");
    /* The port's name comes from the host a little after the device is bound. */
    serial = want_port && init_bound("virtio_console");
    for (int i = 0; serial && i < INIT_PORT_STEPS; i++) {
        if (init_find_port(DM_INIT_CHANNEL, in.url, sizeof(in.url)) == 0)
            break;
        in.url[0] = '\0';
        init_nap(INIT_STEP_NS);
    }
    if (want_port && !in.url[0] && !in.vsock) {
        init_say("no virtio-serial port named %s and no vsock device", DM_INIT_CHANNEL);
        return -ENODEV;
    }
    if (init_probe(NULL, &st) == 0) {
        in.vcpus = st.online_vcpus;
        in.memory_mb = st.online_memory_mb;
    }
    *ret = in;
    return 0;
}

void dm_init_halt(const char *why)
{
    init_say("%s", why);
    if (getpid() != 1)
        return;
    /* PID 1 must not exit (the kernel would panic); the host sees the VM go away instead. */
    sync();
    (void) reboot(RB_POWER_OFF);
    for (;;)
        init_nap(1000000000L);
}

/* --- the real machine under the guest model ----------------------------------------------------
 */

/* Counts CPUs: present, and online (a CPU without an online file, the boot CPU, is online). */
static void init_count_cpus(struct magent_real_state *st)
{
    char path[300], text[16];
    struct dirent *e;
    DIR *d = opendir(INIT_SYS_CPU);
    uint32_t n;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!init_numbered(e->d_name, "cpu", &n))
            continue;
        st->vcpus++;
        (void) snprintf(path, sizeof(path), "%s/%s/online", INIT_SYS_CPU, e->d_name);
        if (init_read(path, text, sizeof(text)) < 0 || strcmp(text, "0") != 0)
            st->online_vcpus++;
    }
    (void) closedir(d);
}

/* Counts memory blocks, and the online ones, in MiB. */
static void init_count_memory(struct magent_real_state *st)
{
    char path[300], text[32];
    uint64_t total = 0, online = 0;
    struct dirent *e;
    DIR *d = opendir(INIT_SYS_MEM);
    uint32_t n;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!init_numbered(e->d_name, "memory", &n))
            continue;
        total++;
        (void) snprintf(path, sizeof(path), "%s/%s/state", INIT_SYS_MEM, e->d_name);
        if (init_read(path, text, sizeof(text)) > 0 && strcmp(text, "online") == 0)
            online++;
    }
    (void) closedir(d);
    st->memory_mb = (uint32_t) (total * st->mem_block_bytes >> 20);
    st->online_memory_mb = (uint32_t) (online * st->mem_block_bytes >> 20);
}

static int init_probe(void *data, struct magent_real_state *ret)
{
    struct magent_real_state st = {0};
    char text[32], *end;
    struct stat sb;

    /* block_size_bytes is hexadecimal without a prefix. */
    if (init_read(INIT_SYS_MEM "/block_size_bytes", text, sizeof(text)) > 0) {
        errno = 0;
        st.mem_block_bytes = strtoull(text, &end, 16);
        if (errno || *end)
            st.mem_block_bytes = 0;
    }
    st.mem_hotplug_probe = stat(INIT_SYS_MEM "/probe", &sb) == 0;
    init_count_cpus(&st);
    init_count_memory(&st);
    if (!st.vcpus)
        return -ENOENT;
    *ret = st;
    return 0;
}

/* One pass over the CPUs: writes 1 to every offline one's online file, up to want. How many it
 * onlined. */
static uint32_t init_online_cpus_once(uint32_t want)
{
    char path[300], text[16];
    struct dirent *e;
    DIR *d = opendir(INIT_SYS_CPU);
    uint32_t done = 0, n;

    if (!d)
        return 0;
    while (done < want && (e = readdir(d))) {
        if (!init_numbered(e->d_name, "cpu", &n))
            continue;
        (void) snprintf(path, sizeof(path), "%s/%s/online", INIT_SYS_CPU, e->d_name);
        if (init_read(path, text, sizeof(text)) > 0 && strcmp(text, "0") == 0 &&
            init_write(path, "1") == 0)
            done++;
    }
    (void) closedir(d);
    return done;
}

/* Onlines every offline memory block. 0, or the first error (the others are still tried). */
static int init_online_memory(void)
{
    char path[300], text[32];
    struct dirent *e;
    DIR *d = opendir(INIT_SYS_MEM);
    uint32_t n;
    int r = 0, w;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        if (!init_numbered(e->d_name, "memory", &n))
            continue;
        (void) snprintf(path, sizeof(path), "%s/%s/state", INIT_SYS_MEM, e->d_name);
        if (init_read(path, text, sizeof(text)) <= 0 || strcmp(text, "offline") != 0)
            continue;
        /* Movable, so that the host can take a DIMM back (ACPI eject needs the memory
         * offlined, which only movable memory reliably can be); plain online where the kernel
         * refuses that. */
        w = init_write(path, "online_movable");
        if (w < 0)
            w = init_write(path, "online");
        if (w < 0 && r == 0)
            r = w;
    }
    (void) closedir(d);
    return r;
}

/* As kata-agent: a hot-added CPU may show up in sysfs a little after the host added it, so the
 * CPUs are looked for again, a bounded number of times. This blocks the daemon's loop for up to
 * 5 s; a test guest can afford it. */
static int init_online(void *data, uint32_t nb_cpus, bool cpu_only)
{
    uint32_t done = 0;

    for (int i = 0; done < nb_cpus; i++) {
        if (i == INIT_CPU_TRIES)
            return -ETIMEDOUT;
        if (i)
            init_nap(INIT_CPU_WAIT_NS);
        done += init_online_cpus_once(nb_cpus - done);
    }
    return cpu_only ? 0 : init_online_memory();
}

static int init_set_date_time(void *data, int64_t sec, int64_t usec)
{
    struct timespec ts = {.tv_sec = (time_t) sec, .tv_nsec = (long) usec * 1000};

    return clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
}

const struct magent_real_ops dm_init_real_ops = {
    .probe = init_probe,
    .online_cpu_mem = init_online,
    .set_date_time = init_set_date_time,
};
