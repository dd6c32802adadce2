/* Pseudo-terminals (Unix98 ptys, as Linux's drivers/tty/pty.c, n_tty.c and
 * devpts): what /dev/ptmx, /dev/pts/N and /dev/tty open, and the hooks the process
 * code calls for controlling terminals. Internals: tty_impl.h. */
#ifndef SENTRY_FS_TTY_H
#define SENTRY_FS_TTY_H

#include <stdint.h>

struct file;
struct inode;
struct path;
struct pty;
struct superblock;
struct task;
struct thread_group;

/* ptmx_open: /dev/ptmx: f becomes the master of a new pty whose slave is locked
 * (TIOCSPTLCK) and appears as /dev/pts/N. -ENOSPC when PTY_MAX are in use. */
int ptmx_open(struct task *t, struct file *f, int flags);
/* pts_open: /dev/pts/N (char 136,N): f becomes the slave. -EIO if the master is
 * closed (or N has none) or the slave is locked; a session leader without a
 * controlling terminal acquires it unless O_NOCTTY. */
int pts_open(struct task *t, unsigned index, struct file *f, int flags);
/* tty_open_current: /dev/tty (char 5,0): the caller's controlling terminal, or
 * -ENXIO without one. */
int tty_open_current(struct task *t, struct file *f, int flags);

/* pty_get/pty_put: references to a pty (thread_group.ctty holds one). */
void pty_get(struct pty *p);
void pty_put(struct pty *p);

/* tty_exit_process: tg's last thread is gone: a session leader's controlling terminal
 * sends SIGHUP to its foreground group and leaves the session (disassociate_ctty);
 * tg's ctty reference is dropped. Takes g_kernel.mu. */
void tty_exit_process(struct thread_group *tg);

/* tty_proc_stat: tty_nr and tpgid of /proc/PID/stat for tg (0 and -1 without a
 * controlling terminal). g_kernel.mu held. */
void tty_proc_stat(const struct thread_group *tg, int *tty_nr, int *tpgid);

/* devpts_new: the devpts filesystem (/dev/pts): "ptmx" and one node per pty whose
 * master is open. Returns the superblock and its root (a reference in *root), or
 * NULL with *err. */
struct superblock *devpts_new(struct inode **root, int *err);
/* devpts_mounted: tells devpts where it is mounted (p: its root, references taken),
 * so TIOCGPTPEER can open /dev/pts/N by path. */
void devpts_mounted(const struct path *p);

#endif
