/* Advisory file locks, held entirely in the Sentry as Linux holds them in the kernel:
 * no host lock is ever taken (the guest's files are shared only inside the sandbox, so
 * these tables are the truth).
 *
 *  - POSIX record locks (fcntl F_SETLK...): owned by an fd table, which is Linux's
 *    owner too (current->files, one per process unless CLONE_FILES shares it). All of
 *    an owner's locks on an inode go when it closes any fd of that inode
 *    (vfs_lock_close_posix, called by fdtable.c on every close, dup2 over an fd,
 *    close-on-exec and the last put of the table at exit).
 *  - OFD record locks (F_OFD_SETLK...): owned by the open file; they share the POSIX
 *    list and conflict with POSIX locks. Released at the file's last reference.
 *  - flock locks: owned by the open file, a separate list (independent of the record
 *    locks). Released at the file's last reference.
 *
 * The locks of an inode hang off inode->locks (a struct lock_ctx), created on first
 * use and freed with the inode. A file without an inode (the CLI's stdio host files)
 * has a context of its own, freed with the file. One mutex (g_file_locks_mu, in lock.c) protects every
 * context and the list of blocked requests that deadlock detection walks; only
 * waitq.mu and task->mu are taken under it. */
#ifndef SENTRY_VFS_LOCK_H
#define SENTRY_VFS_LOCK_H

#include "sentry/vfs/lock_range.h"

struct task;
struct file;
struct inode;

/* vfs_lock_test: F_GETLK: the lock that blocks req (owner, type, range, flags set) on
 * f's inode is copied into *out and 1 returned; 0 if none. */
int vfs_lock_test(struct file *f, const struct lock_rec *req, struct lock_rec *out);

/* vfs_lock_set: F_SETLK/F_SETLKW and the OFD forms: applies req (F_UNLCK unlocks) to
 * f's inode. A conflict gives -EAGAIN, or with wait sleeps until it goes (-ERESTARTSYS
 * on a signal); a POSIX request that would wait on a chain of waiters leading back to
 * its owner gives -EDEADLK. 0 on success, or -ENOMEM. */
int vfs_lock_set(struct task *t, struct file *f, const struct lock_rec *req, int wait);

/* vfs_flock: flock(2) with type F_RDLCK (LOCK_SH), F_WRLCK (LOCK_EX) or F_UNLCK on f.
 * A conversion first drops f's old lock, as Linux does. -EWOULDBLOCK if it would
 * block and !wait, -ERESTARTSYS on a signal while waiting. pid: the caller's tgid. */
int vfs_flock(struct task *t, struct file *f, int type, int wait, int pid);

/* vfs_lock_close_posix: an fd of f is being closed by the fd table owner: drops
 * owner's POSIX locks on f's inode. Cheap when the inode never had locks. */
void vfs_lock_close_posix(struct file *f, const void *owner);

/* vfs_lock_release_file: f's last reference is going: drops its OFD and flock locks
 * (and the context of an inode-less file). */
void vfs_lock_release_file(struct file *f);

/* vfs_lock_ctx_free: the inode is being freed: frees its lock context. */
void vfs_lock_ctx_free(struct inode *ino);

/* One lock as /proc/locks shows it. */
enum { LI_POSIX, LI_OFD, LI_FLOCK };
struct lock_info {
    int kind;                /* LI_* */
    int type;                /* F_RDLCK or F_WRLCK */
    int pid;                 /* -1 for OFD locks */
    uint64_t dev, ino;       /* the inode's st_dev and number (0 without an inode) */
    int64_t start, end;      /* end LR_EOF: to end of file */
};

/* vfs_lock_for_each: calls fn for every lock held, with the lock mutex held (fn must
 * not call into the VFS). Stops early when fn returns nonzero. */
void vfs_lock_for_each(int (*fn)(const struct lock_info *li, void *arg), void *arg);

#endif
