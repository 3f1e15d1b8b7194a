/* SPDX-License-Identifier: Apache-2.0 */
/* The model shared by the API, the persistence layer and the backends: sandbox, container and
 * process configs, network objects, devices and states. Arrays are a pointer and a count;
 * strings are NUL-terminated and owned by the struct that holds them. Every struct here has a
 * schema descriptor (vc_schema_*), so copying, freeing and JSON conversion are one generic
 * piece of code. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_ID_MAX 128 /* longest sandbox, container or exec id */

/* States shared by sandboxes and containers, as kata's types.StateString. CREATING is the
 * state of a sandbox stored before its VM starts, whose create has not finished; it is not a
 * valid state for transitions (kata's valid() refuses it too). */
enum vc_state {
    VC_STATE_CREATING,
    VC_STATE_READY,
    VC_STATE_RUNNING,
    VC_STATE_PAUSED,
    VC_STATE_STOPPED,
    VC_STATE_LAST
};

struct vc_annotation {
    char *key;   /* annotation key */
    char *value; /* annotation value */
};

/* --- hypervisor and agent configuration ------------------------------------------------- */

struct vc_hv_config {
    char *kind;               /* "qemu", "sim", or a registered test kind */
    char *path;               /* hypervisor binary; NULL for the backend's default */
    uint32_t vcpus;           /* vCPUs at boot */
    uint32_t max_vcpus;       /* vCPU slots (0: same as vcpus) */
    uint32_t memory_mb;       /* memory at boot */
    uint32_t max_memory_mb;   /* hotplug ceiling (0: same as memory_mb) */
    uint32_t mem_slots;       /* DIMM slots for memory hotplug */
    char *kernel;             /* guest kernel path */
    char *initrd;             /* initramfs path (or NULL) */
    char *image;              /* root disk image path (or NULL) */
    char *kernel_params;      /* extra kernel command line */
    char *machine_type;       /* "q35", "pc", "microvm" */
    uint32_t boot_timeout_ms; /* start timeout (0: 30 s) */
};

struct vc_agent_config {
    char *kind;                           /* "kata", "mock", "noop" */
    char *url;                            /* agent URL; NULL: ask the hypervisor for its endpoint */
    uint32_t dial_timeout_ms;             /* dial retry budget (0: 30 s) */
    bool long_live_conn;                  /* keep the connection between calls */
    uint32_t create_container_timeout_ms; /* CreateContainer deadline (0: 60 s) */
    char *policy; /* policy document sent with SetPolicy at start (or NULL) */
};

/* --- network -------------------------------------------------------------------------------- */

enum { VC_IP_V4 = 0, VC_IP_V6 = 1 }; /* types.IPFamily */

struct vc_ip_address {
    int32_t family; /* VC_IP_V4 or VC_IP_V6 */
    char *address;  /* "10.0.0.2" */
    char *mask;     /* prefix length as text, "24" */
};

struct vc_interface {
    char *device;                /* device name in the guest, "eth0" */
    char *name;                  /* interface name */
    struct vc_ip_address *addrs; /* addresses */
    size_t n_addrs;              /* number of addrs */
    uint64_t mtu;                /* MTU */
    char *hw_addr;               /* MAC address */
    char *device_path;           /* PCI path in the guest */
    char *type;                  /* link type, "veth" */
    uint32_t raw_flags;          /* IFF_* flags */
};

struct vc_route {
    char *dest;     /* destination CIDR, "" for default */
    char *gateway;  /* gateway address */
    char *device;   /* outgoing device */
    char *source;   /* preferred source */
    uint32_t scope; /* route scope */
    int32_t family; /* VC_IP_V4 or VC_IP_V6 */
    uint32_t flags; /* route flags */
    uint32_t mtu;   /* route MTU */
};

struct vc_arp_neighbor {
    struct vc_ip_address to; /* neighbour address */
    char *device;            /* device */
    char *lladdr;            /* link-layer address */
    int32_t state;           /* NUD state */
    int32_t flags;           /* neighbour flags */
};

struct vc_network_config {
    struct vc_interface *interfaces;   /* interfaces set up at start */
    size_t n_interfaces;               /* number of interfaces */
    struct vc_route *routes;           /* routes set up at start */
    size_t n_routes;                   /* number of routes */
    struct vc_arp_neighbor *neighbors; /* ARP neighbours set up at start */
    size_t n_neighbors;                /* number of neighbors */
    char **dns;                        /* resolv.conf lines */
    size_t n_dns;                      /* number of dns */
};

/* --- processes and containers -------------------------------------------------------------- */

struct vc_user {
    uint32_t uid;         /* user id */
    uint32_t gid;         /* group id */
    uint32_t *extra_gids; /* additional group ids */
    size_t n_extra_gids;  /* number of extra_gids */
    char *username;       /* user name (or NULL) */
};

struct vc_process_config {
    char **args;         /* argv; args[0] is the program */
    size_t n_args;       /* number of args */
    char **env;          /* "NAME=value" */
    size_t n_env;        /* number of env */
    char *cwd;           /* working directory ("/" if NULL) */
    struct vc_user user; /* credentials */
    bool terminal;       /* allocate a tty */
    uint32_t rows;       /* initial tty rows */
    uint32_t columns;    /* initial tty columns */
};

/* Resource limits. Zero means "not set" for every field. */
struct vc_resources {
    uint64_t cpu_shares;  /* relative CPU weight */
    int64_t cpu_quota;    /* CFS quota in us per period */
    uint64_t cpu_period;  /* CFS period in us */
    int64_t memory_limit; /* bytes */
};

struct vc_mount {
    char *source;      /* host path or fs name */
    char *destination; /* path in the container */
    char *type;        /* "bind", "tmpfs", ... */
    char **options;    /* mount options */
    size_t n_options;  /* number of options */
};

struct vc_container_device {
    char *host_path;      /* device node on the host */
    char *container_path; /* path in the container */
    char *type;           /* "b" or "c" */
    int64_t major;        /* major number */
    int64_t minor;        /* minor number */
};

struct vc_container_config {
    char *id;                            /* container id */
    char *rootfs;                        /* rootfs path (host side) */
    bool rootfs_readonly;                /* mount the rootfs read-only */
    struct vc_process_config process;    /* the container's init process */
    struct vc_resources resources;       /* limits */
    struct vc_mount *mounts;             /* mounts */
    size_t n_mounts;                     /* number of mounts */
    struct vc_container_device *devices; /* devices */
    size_t n_devices;                    /* number of devices */
    struct vc_annotation *annotations;   /* annotations */
    size_t n_annotations;                /* number of annotations */
};

struct vc_sandbox_config {
    char *id;                               /* sandbox id */
    char *hostname;                         /* guest hostname (cut to 64 bytes on the wire) */
    struct vc_hv_config hv;                 /* hypervisor */
    struct vc_agent_config agent;           /* agent */
    struct vc_network_config net;           /* network */
    struct vc_container_config *containers; /* containers created with the sandbox */
    size_t n_containers;                    /* number of containers */
    struct vc_annotation *annotations;      /* annotations */
    size_t n_annotations;                   /* number of annotations */
};

/* A process started in the guest: the container's init (exec_id == container id) or an exec. */
struct vc_process {
    char *exec_id;         /* exec id (kata's token) */
    int32_t pid;           /* guest pid as reported, 0 if unknown */
    int64_t start_time_ns; /* wall clock at start */
};

/* --- devices ------------------------------------------------------------------------------- */

enum vc_device_type {
    VC_DEVICE_CPU,
    VC_DEVICE_MEMORY,
    VC_DEVICE_BLOCK,
    VC_DEVICE_NET,
    VC_DEVICE_VFIO,
    VC_DEVICE_TYPE_LAST
};

/* A device to hotplug or attach. In: the fields of its type. Out (filled by the hypervisor):
 * cpus and size_mb actually added, addr, guest_path. */
struct vc_device {
    int32_t type;     /* enum vc_device_type */
    char *id;         /* unique device id within the VM */
    uint32_t cpus;    /* CPU: vCPUs to add or remove */
    uint32_t size_mb; /* memory: MiB to add */
    uint64_t addr;    /* memory: guest physical address (out) */
    bool probe;       /* memory: the guest needs MemHotplugByProbe */
    char *path;       /* block: host file; vfio: host device (BDF) */
    char *format;     /* block: "raw", "qcow2" */
    bool readonly;    /* block: read-only */
    char *ifname;     /* net: host tap name */
    char *mac;        /* net: MAC address */
    char *guest_path; /* out: where the guest sees it (PCI path) */
};

/* --- results ------------------------------------------------------------------------------- */

struct vc_container_status {
    char *id;                          /* container id */
    int32_t state;                     /* enum vc_state */
    int32_t pid;                       /* guest pid of the init process */
    int64_t start_time_ns;             /* wall clock at start */
    char *rootfs;                      /* rootfs */
    struct vc_annotation *annotations; /* annotations */
    size_t n_annotations;              /* number of annotations */
};

struct vc_sandbox_status {
    char *id;                               /* sandbox id */
    int32_t state;                          /* enum vc_state */
    char *hv_kind;                          /* hypervisor kind */
    char *agent_kind;                       /* agent kind */
    char *agent_url;                        /* agent URL in use */
    uint32_t vcpus;                         /* vCPUs now plugged */
    uint32_t memory_mb;                     /* memory now plugged */
    struct vc_container_status *containers; /* containers */
    size_t n_containers;                    /* number of containers */
    struct vc_annotation *annotations;      /* annotations */
    size_t n_annotations;                   /* number of annotations */
    char **guest_leftovers;                 /* container ids the guest may still hold */
    size_t n_guest_leftovers;               /* number of guest_leftovers */
};

/* Guest facts reported by the agent (GetGuestDetails). */
struct vc_guest_details {
    uint64_t mem_block_size_bytes;  /* memory block size for hotplug */
    bool support_mem_hotplug_probe; /* the guest wants MemHotplugByProbe */
    char *agent_version;            /* agent version string */
    bool init_daemon;               /* the agent runs as init */
    char **device_handlers;         /* device handlers */
    size_t n_device_handlers;       /* number of device_handlers */
    char **storage_handlers;        /* storage handlers */
    size_t n_storage_handlers;      /* number of storage_handlers */
    bool supports_seccomp;          /* seccomp support */
    char **extra_features;          /* extra features */
    size_t n_extra_features;        /* number of extra_features */
};

struct vc_container_stats {
    uint64_t cpu_total_ns;  /* total CPU usage */
    uint64_t cpu_kernel_ns; /* kernel-mode usage */
    uint64_t cpu_user_ns;   /* user-mode usage */
    uint64_t mem_usage;     /* memory usage bytes */
    uint64_t mem_max_usage; /* peak memory usage */
    uint64_t mem_limit;     /* memory limit */
    uint64_t mem_failcnt;   /* limit hits */
    uint64_t pids_current;  /* processes */
    uint64_t pids_limit;    /* process limit */
    uint64_t net_rx_bytes;  /* bytes received (all interfaces) */
    uint64_t net_tx_bytes;  /* bytes sent (all interfaces) */
};

struct vc_volume_stats {
    uint64_t bytes_available;  /* free bytes */
    uint64_t bytes_total;      /* size */
    uint64_t bytes_used;       /* used bytes */
    uint64_t inodes_available; /* free inodes */
    uint64_t inodes_total;     /* inodes */
    uint64_t inodes_used;      /* used inodes */
    bool abnormal;             /* volume condition is abnormal */
    char *message;             /* condition message */
};

/* A file copied into the guest (CopyFile). Symlinks carry their target in data. */
struct vc_copy_file {
    char *path;         /* absolute guest path */
    uint32_t file_mode; /* st_mode of the file (type bits included) */
    uint32_t dir_mode;  /* mode of created parent directories */
    int32_t uid;        /* owner */
    int32_t gid;        /* group */
    uint8_t *data;      /* contents */
    size_t size;        /* bytes in data */
};

/* ps options for ProcessListContainer. */
struct vc_ps_options {
    char *format;  /* "json" or "table" */
    char **args;   /* ps arguments (default "-ef") */
    size_t n_args; /* number of args */
};

const char *vc_state_to_string(enum vc_state state);
/* -1 for an unknown name. */
int vc_state_from_string(const char *name);
const char *vc_device_type_to_string(enum vc_device_type type);
