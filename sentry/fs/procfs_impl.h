/* procfs internals shared by procfs.c (the tree), procfs_task.c (per-process files)
 * and procfs_sys.c (system-wide files). */
#ifndef SENTRY_FS_PROCFS_IMPL_H
#define SENTRY_FS_PROCFS_IMPL_H

#include <stdint.h>

#include "sentry/fs/procfs.h"
#include "sentry/fs/seqfile.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/vfs.h"

struct mm;
struct fdtable;

/* What a procfs inode is. Per-process kinds (from PK_PID_DIR on) also carry the
 * process and thread they describe. */
enum proc_kind {
    PK_ROOT, PK_SELF, PK_THREAD_SELF, PK_MOUNTS_LINK,
    PK_MEMINFO, PK_CPUINFO, PK_STAT, PK_UPTIME, PK_LOADAVG, PK_VERSION, PK_FILESYSTEMS,
    PK_SYS, PK_SYS_KERNEL, PK_SYS_VM, PK_SYS_FS,
    PK_SYS_HOSTNAME, PK_SYS_OSRELEASE, PK_SYS_OSTYPE, PK_SYS_PIDMAX,
    PK_SYS_OVERCOMMIT, PK_SYS_MMAP_MIN_ADDR, PK_SYS_PIPEMAX,
    PK_LOCKS,
    /* per process or thread */
    PK_PID_DIR, PK_TID_DIR, PK_TASK_DIR, PK_FD_DIR, PK_FDINFO_DIR,
    PK_T_STAT, PK_T_STATM, PK_T_STATUS, PK_T_CMDLINE, PK_T_ENVIRON, PK_T_MAPS,
    PK_T_MOUNTS, PK_T_MOUNTINFO, PK_T_LIMITS, PK_T_AUXV, PK_T_COMM,
    PK_T_EXE, PK_T_CWD, PK_T_ROOT,
    PK_FD_LINK, PK_FDINFO,
    PK_COUNT
};

static inline int pk_is_task(int kind) { return kind >= PK_PID_DIR; }

/* inode->priv of every procfs inode. */
struct proc_node {
    int kind;
    int tgid, tid;      /* per-process kinds: the process and the thread shown */
    int thread;         /* under /proc/PID/task/: the thread's own view */
    int fd;             /* PK_FD_LINK, PK_FDINFO */
};

/* A copy of what the per-process files show, taken under g_kernel.mu (so the files
 * can be generated without it) plus references to the shared objects. */
struct proc_snap {
    int tid, tgid, ppid, pgid, sid, nthreads;
    int tty_nr, tpgid;          /* the controlling terminal, stat's fields 7 and 8 */
    char comm[16];
    char state;                 /* 'R', 'S' or 'Z' */
    struct creds cred;          /* a copy with its own reference on the groups */
    uint32_t umask;
    int no_new_privs;
    uint64_t sigblk, sigpnd, sigign, sigcgt;
    uint64_t shdpnd;            /* process-directed signals pending on any thread */
    uint64_t sigq;              /* signals queued for the real user (SigQ) */
    int exit_signal;
    uint64_t rlimits[16][2];
    /* resource use (cputime.h): the thread's, its process's, and the reaped
     * children's; `thread` picks the thread's or the process's for stat */
    int thread;
    struct rusage_acct use_thread, use_group, use_children;
    struct mm *mm;              /* a reference, NULL for a zombie */
    struct fdtable *fds;        /* a reference, NULL for a zombie */
};

/* proc_snap_task: fills s from t. g_kernel.mu held. */
void proc_snap_task(struct task *t, struct proc_snap *s);
/* proc_snap_tid: the snapshot of thread tid of process tgid; -ESRCH if gone. */
int proc_snap_tid(int tgid, int tid, struct proc_snap *s);
/* proc_snap_release: drops the references s holds. */
void proc_snap_release(struct proc_snap *s);

/* Per-process file text (procfs_task.c), appended to b. proc_gen_task_file picks
 * the generator for n and returns 0 or -errno (-ESRCH: the process is gone). */
void proc_gen_stat(const struct proc_snap *s, struct sbuf *b);
void proc_gen_status(const struct proc_snap *s, struct sbuf *b);
void proc_gen_statm(const struct proc_snap *s, struct sbuf *b);
void proc_gen_limits(const struct proc_snap *s, struct sbuf *b);
void proc_gen_maps(const struct proc_snap *s, struct sbuf *b);
int proc_gen_task_file(const struct proc_node *n, struct sbuf *b);
/* proc_fd_flags: the open flags of fd (with O_CLOEXEC) in s's table, or -EBADF. */
int proc_fd_flags(const struct proc_snap *s, int fd);

/* Magic links (procfs_task.c): exe, cwd, root and fd/N. */
int proc_magic_get_link(struct inode *ino, struct task *t, struct path *out);
int proc_magic_readlink(struct inode *ino, char *buf, size_t size);

/* System-wide file text (procfs_sys.c). */
int proc_gen_sys_file(int kind, struct sbuf *b);
/* proc_sys_writable: the sysctl files that show as 0644. */
int proc_sys_writable(int kind);

/* The task table as procfs lists it (procfs.c). */
int proc_task_exists(int tgid, int tid);

#endif
