/* Credentials: a task's user and group ids, supplementary groups and capability
 * sets, with Linux's rules for changing them (kernel/sys.c, kernel/groups.c,
 * security/commoncap.c) and for using them (capable(), in_group_p()).
 *
 * Each task owns its struct creds by value (task->cred). Only the task itself changes
 * its credentials: it builds a new set with cred_prepare, edits it, and publishes it
 * with cred_commit, which swaps it in under task->mu. The task reads its own creds
 * without a lock; other threads read another task's creds with that task's mu held
 * (cred_snapshot does this). */
#ifndef SENTRY_KERNEL_CRED_H
#define SENTRY_KERNEL_CRED_H

#include <linux/capability.h>   /* CAP_* numbers, for callers of cred_capable */
#include <stdint.h>

struct task;

/* The highest capability Linux 6.1 knows (CAP_CHECKPOINT_RESTORE). */
#define CRED_CAP_LAST 40
#define CRED_CAP_FULL ((1ULL << (CRED_CAP_LAST + 1)) - 1)
#define CRED_CAP(c) (1ULL << (c))
/* Linux's limit on supplementary groups (NGROUPS_MAX). */
#define CRED_NGROUPS_MAX 65536

/* Supplementary groups: immutable once made, shared by reference between the
 * credentials of tasks that did not change them (fork). */
struct group_list {
    int refs;                  /* atomic */
    int count;
    uint32_t gids[];           /* ascending, as Linux's groups_sort leaves them */
};

struct creds {
    uint32_t ruid, euid, suid, fsuid;
    uint32_t rgid, egid, sgid, fsgid;
    struct group_list *groups;  /* an owned reference; NULL: no supplementary groups */
    uint64_t cap_inheritable, cap_permitted, cap_effective;
    uint64_t cap_bset;          /* the bounding set */
    uint64_t cap_ambient;       /* kept empty: PR_CAP_AMBIENT is not implemented */
    unsigned securebits;        /* SECBIT_* (KEEP_CAPS is PR_SET_KEEPCAPS) */
};

/* cred_init: the credentials of a first task running as uid/gid: root gets every
 * capability, anyone else none; the bounding set is full either way. */
void cred_init(struct creds *c, uint32_t uid, uint32_t gid);

/* cred_copy: *dst = *src with a new reference on the groups (fork, snapshots). */
void cred_copy(struct creds *dst, const struct creds *src);
/* cred_release: drops the references c holds (a copy, or a prepared set not
 * committed). */
void cred_release(struct creds *c);

/* cred_snapshot: a copy of t's credentials, taken under t->mu; release it. */
void cred_snapshot(struct task *t, struct creds *out);

/* cred_prepare: a copy of t's own credentials to edit (t is the caller). */
void cred_prepare(struct task *t, struct creds *out);
/* cred_commit: makes *c (from cred_prepare; its reference moves in) t's credentials,
 * with commit_creds's side effects: a change of euid, egid, fsuid or fsgid, or a
 * permitted set that grows, clears t's parent-death signal and makes its process
 * non-dumpable. */
void cred_commit(struct task *t, struct creds *c);

/* cred_capable: c's effective set holds capability cap (Linux's capable()). */
int cred_capable(const struct creds *c, int cap);
/* cred_in_group: gid is c's fsgid or one of its supplementary groups (in_group_p). */
int cred_in_group(const struct creds *c, uint32_t gid);

/* cred_groups_new: a group list of count gids (sorted here), or NULL (no memory).
 * count 0 gives NULL too: check count first. */
struct group_list *cred_groups_new(const uint32_t *gids, int count);
/* cred_groups_put: drops a reference (NULL is fine). */
void cred_groups_put(struct group_list *g);

/* cred_fix_setuid: commoncap's fixups after a change of real/effective/saved uid
 * from old to c (setuid, setreuid, setresuid): leaving uid 0 everywhere clears the
 * permitted and effective sets (unless SECBIT_KEEP_CAPS), leaving euid 0 clears the
 * effective set, regaining euid 0 restores it from the permitted set. Nothing with
 * SECBIT_NO_SETUID_FIXUP. */
void cred_fix_setuid(struct creds *c, const struct creds *old);
/* cred_fix_setfsuid: the same for setfsuid: fsuid 0 → nonzero drops the file-system
 * capabilities (CAP_CHOWN, CAP_DAC_*, CAP_FOWNER, CAP_FSETID, CAP_LINUX_IMMUTABLE,
 * CAP_MKNOD, CAP_MAC_OVERRIDE) from the effective set; back to 0 raises the permitted
 * ones again. */
void cred_fix_setfsuid(struct creds *c, const struct creds *old);

/* cred_exec: execve's transformation of t's credentials for a file without file
 * capabilities or set-id bits: root (real or effective uid 0) gets its bounding set
 * as permitted (and effective if euid is 0); anyone else keeps no permitted or
 * effective capabilities; SECBIT_KEEP_CAPS is cleared. Returns 1 if the exec is
 * "secure" (euid != ruid or egid != rgid), in which case the process is made
 * non-dumpable. t is the caller. */
int cred_exec(struct task *t);

/* cred_access_override: the credentials access(2) checks with (no AT_EACCESS):
 * the real ids as fsuid/fsgid, and the permitted set as effective for root, an
 * empty effective set for anyone else. *out borrows c's groups (no reference). */
void cred_access_override(const struct creds *c, struct creds *out);

/* cred_may_signal: whether sender may send sig to target's process (Linux's
 * check_kill_permission for a signal from user space): same process, matching
 * real/effective uid against the target's real/saved uid, CAP_KILL, or SIGCONT within
 * the session. 0 or -EPERM. g_kernel.mu held. */
int cred_may_signal(struct task *sender, struct task *target, int sig);

/* cred_may_inspect: ptrace_may_access(PTRACE_MODE_READ_REALCREDS) without ptrace:
 * the same process, or the caller's real uid/gid equal to all of the target's
 * uids/gids and the target dumpable, or CAP_SYS_PTRACE. 0 or -EPERM. g_kernel.mu
 * held. */
int cred_may_inspect(struct task *caller, struct task *target);

#endif
