/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory sandbox and container objects behind the API, and the persisted documents they
 * are loaded from and saved to. Internal to core. */
#pragma once

#include <vc/vc.h>

#define VC_PERSIST_VERSION 1u /* version written; newer documents are refused */

/* A container's persisted document. */
struct vc_ct_doc {
    uint32_t version;                  /* VC_PERSIST_VERSION */
    char *state;                       /* state name */
    struct vc_container_config config; /* as created, resources as last updated */
    struct vc_process process;         /* the init process */
    struct vc_process *execs;          /* processes started with enter */
    size_t n_execs;                    /* number of execs */
    bool paused_by_sandbox;            /* paused by a sandbox pause, resumed with it */
};

/* A sandbox's persisted document. */
struct vc_sb_doc {
    uint32_t version;                /* VC_PERSIST_VERSION */
    char *state;                     /* state name */
    struct vc_sandbox_config config; /* config (containers are stored separately) */
    char *hv_state;                  /* what the hypervisor saved to reattach */
    char *agent_state;               /* what the agent saved to reconnect */
    char *agent_url;                 /* agent URL in use */
    uint32_t vcpus;                  /* vCPUs plugged now */
    uint32_t memory_mb;              /* memory plugged now */
    uint32_t mem_block_mb;           /* guest memory block size (from guest details) */
    bool mem_probe;                  /* guest wants MemHotplugByProbe */
    struct vc_device *devices;       /* devices hotplugged after boot */
    size_t n_devices;                /* number of devices */
    struct vc_interface *interfaces; /* interfaces now in the guest */
    size_t n_interfaces;             /* number of interfaces */
    struct vc_route *routes;         /* routes now in the guest */
    size_t n_routes;                 /* number of routes */
    char **containers;               /* container ids in creation order */
    size_t n_containers;             /* number of containers */
    char **guest_leftovers;          /* ids the guest may still hold (a forced removal failed) */
    size_t n_guest_leftovers;        /* number of guest_leftovers */
};

struct vc_container {
    struct vc_ct_doc doc; /* what is persisted */
    bool dirty;           /* doc changed since load */
};

struct vc_sandbox {
    struct vc_ctx *ctx;              /* context (borrowed) */
    char id[VC_ID_MAX + 1];          /* sandbox id */
    struct vc_sb_doc doc;            /* what is persisted */
    struct vc_container *containers; /* loaded containers, in doc.containers order */
    size_t n_containers;             /* number of containers */
    struct vc_hv_backend hvb;        /* hypervisor backend */
    struct vc_agent_backend agb;     /* agent backend */
    struct vc_hv *hv;                /* attached hypervisor, or NULL */
    struct vc_agent *agent;          /* attached agent, or NULL */
    void *lock;                      /* store lock token */
    bool exclusive;                  /* lock mode */
};

/* persist.c: documents to and from the store. */
int vc_sb_doc_save(struct vc_ctx *ctx, const char *id, const struct vc_sb_doc *doc);
int vc_sb_doc_load(struct vc_ctx *ctx, const char *id, struct vc_sb_doc *ret);
void vc_sb_doc_clear(struct vc_ctx *ctx, struct vc_sb_doc *doc);
int vc_ct_doc_save(struct vc_ctx *ctx, const char *sid, const char *cid,
                   const struct vc_ct_doc *doc);
int vc_ct_doc_load(struct vc_ctx *ctx, const char *sid, const char *cid, struct vc_ct_doc *ret);
void vc_ct_doc_clear(struct vc_ctx *ctx, struct vc_ct_doc *doc);

/* sandbox.c: open (lock + load) and close (save + unlock) around every API call. */
int vc_sb_open(struct vc_ctx *ctx, const char *id, bool exclusive, struct vc_sandbox **ret);
/* Saves the sandbox and dirty containers (when save), frees the handles, unlocks, frees sb. */
int vc_sb_close(struct vc_sandbox *sb, bool save);
void vc_sb_free(struct vc_sandbox *sb);
/* Ends an API call that returns r: saves when the sandbox is open exclusively (also after a
 * failure, since what happened before it did happen), closes, and returns r with its message. */
int vc_sb_finish(struct vc_sandbox *sb, int r);
int vc_sb_save(struct vc_sandbox *sb);
int vc_sb_hv(struct vc_sandbox *sb, struct vc_hv **ret);       /* attach on demand */
int vc_sb_agent(struct vc_sandbox *sb, struct vc_agent **ret); /* attach on demand */
enum vc_state vc_sb_state(const struct vc_sandbox *sb);
int vc_sb_set_state(struct vc_sandbox *sb, enum vc_state state);
/* Requires the sandbox to be in one of the states (a bitmask of 1u << state); -EINVAL naming
 * the operation otherwise. */
int vc_sb_require(struct vc_sandbox *sb, const char *op, unsigned states);
struct vc_container *vc_sb_container(struct vc_sandbox *sb, const char *cid);
int vc_sb_find_container(struct vc_sandbox *sb, const char *cid, struct vc_container **ret);
int vc_sb_update_resources(struct vc_sandbox *sb);

/* Guest leftovers: a forced container stop, delete or cleanup goes on when the guest does not
 * confirm the container's removal, and records its id here, so the record says the guest may
 * still hold it. The list is cleared once the VM is known down. */
bool vc_sb_is_leftover(const struct vc_sandbox *sb, const char *cid);
/* Adds cid (once); -ENOMEM. */
int vc_sb_add_leftover(struct vc_sandbox *sb, const char *cid);
void vc_sb_drop_leftover(struct vc_sandbox *sb, const char *cid);
/* Before cid goes into the guest again: when it is a leftover, asks the guest to remove it
 * (NOT_FOUND counts as removed) and drops it from the list. 0, or the guest's error. */
int vc_sb_reap_leftover(struct vc_sandbox *sb, struct vc_agent *agent, const char *cid);

/* container.c */
enum vc_state vc_ct_state(const struct vc_container *c);
int vc_ct_set_state(struct vc_ctx *ctx, struct vc_container *c, enum vc_state state);
int vc_ct_require(struct vc_ctx *ctx, struct vc_container *c, const char *op, unsigned states);
/* Creates cfg in the guest and adds it to sb (no locking; sb is open exclusively). */
int vc_sb_add_container(struct vc_sandbox *sb, const struct vc_container_config *cfg);
int vc_sb_start_container(struct vc_sandbox *sb, struct vc_container *c);
int vc_sb_stop_container(struct vc_sandbox *sb, struct vc_container *c, bool force);
/* Removes the container from the guest (if created there), sb and the store. */
int vc_sb_delete_container(struct vc_sandbox *sb, struct vc_container *c);
/* Drops the container from sb and (as far as it can) from the store without asking the guest:
 * for a rollback whose VM goes next, taking the container with it. */
void vc_sb_forget_container(struct vc_sandbox *sb, struct vc_container *c);

#define VC_BIT(s) (1u << (s))
/* Containers whose processes exist in the guest and accept calls. */
#define VC_CT_ALIVE             (VC_BIT(VC_STATE_READY) | VC_BIT(VC_STATE_RUNNING))
#define VC_DEFAULT_MEM_BLOCK_MB 128u /* guest memory block when the agent reports none */

/* Has the guest online what was just plugged: cpus vCPUs when cpus > 0, else the DIMM dimm
 * (MemHotplugByProbe first for probe-only guests), as kata's onlineCPUMem after hotplug. */
int vc_sb_online(struct vc_sandbox *sb, struct vc_agent *agent, uint32_t cpus,
                 const struct vc_device *dimm);
