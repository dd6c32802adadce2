/* Pseudo-terminal internals shared by tty.c (the pair and its files), tty_ioctl.c,
 * tty_ctty.c (sessions and job control) and devpts.c (the /dev/pts filesystem).
 *
 * A pty is one object for both ends, as the controlling terminal and every ioctl
 * of the master act on the slave side anyway. The master writes into to_slave (the
 * typed bytes, Linux's flip buffer), which the slave's line discipline processes
 * into its read buffer; the slave's output and the echoes go into to_master, which
 * the master reads raw (the master's own termios is fixed raw in Linux).
 *
 * Locks: pty->mu protects the fields marked (mu), and is an object lock in the sense
 * of waitq.h (pty->mu → waitq.mu → task->mu). session and pgrp are protected by
 * g_kernel.mu, like the thread groups' ctty pointers, so that job-control checks
 * and signals to the foreground group happen under that one lock; pty->mu and
 * g_kernel.mu are never held together. g_pty_mu (the index table) is taken alone. */
#ifndef SENTRY_FS_TTY_IMPL_H
#define SENTRY_FS_TTY_IMPL_H

#include <pthread.h>
#include <poll.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "sentry/fs/tty.h"
#include "sentry/fs/tty_ldisc.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"

#define PTY_MAX 4096            /* /proc/sys/kernel/pty/max */
#define PTS_MAJOR 136           /* UNIX98_PTY_SLAVE_MAJOR */
#define PTY_RING_SIZE 16384     /* each direction (Linux allows more in its flip buffers) */

#define TTY_READ_EVENTS  (POLLIN | POLLRDNORM | POLLHUP | POLLERR)
#define TTY_WRITE_EVENTS (POLLOUT | POLLWRNORM | POLLHUP | POLLERR)

struct pty {
    int refs;                   /* atomic: the master file, each slave file, each
                                 * controlling-tty pointer, the index table */
    int index;                  /* immutable: N of /dev/pts/N */
    struct inode *slave_inode;  /* immutable: the /dev/pts/N node (a reference) */
    pthread_mutex_t mu;
    struct ldisc ld;            /* (mu) the slave's line discipline and termios */
    struct tty_ring to_slave;   /* (mu) typed on the master, not yet processed */
    struct tty_ring to_master;  /* (mu) the slave's output and echoes */
    struct winsize ws;          /* (mu) */
    int locked;                 /* (mu) TIOCSPTLCK: the slave cannot be opened */
    int exclusive;              /* (mu) TIOCEXCL: only root opens the slave again */
    int master_open;            /* (mu; atomic reads) 0 once the master is closed:
                                 * the slave is hung up and N leaves /dev/pts */
    int slave_opens;            /* (mu) open slave files */
    int slave_closed;           /* (mu) the last slave file closed (Linux's
                                 * TTY_OTHER_CLOSED on the master): its reads fail */
    int index_released;         /* (mu) N went back to the table */
    struct waitq master_wq;     /* readiness of the master end */
    struct waitq slave_wq;      /* readiness of the slave end */
    int session;                /* (g_kernel.mu) the session this is the controlling
                                 * terminal of, 0: none */
    int pgrp;                   /* (g_kernel.mu) its foreground process group, 0: none */
};

/* A tty's open file: which pty and which end. The file's priv. */
struct tty_file {
    struct pty *p;              /* a reference */
    int master;
};

static inline struct pty *tty_file_pty(struct file *f) { return ((struct tty_file *)f->priv)->p; }

/* tty.c */
/* pty_lookup: the pty whose slave is /dev/pts/index while its master is open (a new
 * reference), or NULL. */
struct pty *pty_lookup(unsigned index);
/* pty_list: up to max slave numbers >= from whose master is open, in order. */
int pty_list(unsigned from, unsigned *out, int max);
/* pty_slave_attach: opens the slave of p into f (p's reference moves into f on
 * success): EIO if the master is closed or the slave locked, EBUSY if exclusive. The
 * opener acquires p as its controlling terminal unless noctty (tty_ctty.c rules). */
int pty_slave_attach(struct task *t, struct pty *p, struct file *f, int flags, int noctty);
/* pty_push_input: runs the line discipline over what the master typed; signal
 * characters add their bit to *sigs. (mu) held. */
void pty_push_input(struct pty *p, uint64_t *sigs);
/* pty_wake: wakes the master's and the slave's waiters for the given events. */
void pty_wake(struct pty *p, unsigned master_events, unsigned slave_events);
/* tty_is_master: f is a pty master. */
int tty_is_master(struct file *f);

/* tty_ioctl.c */
/* tty_ioctl: the ioctls of both ends (f's ops->ioctl). */
long tty_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg);

/* tty_ctty.c: sessions, the controlling terminal, job control. */
/* tty_send_fg: sends each signal of sigs (bit sig-1) to p's foreground process
 * group, from the kernel (SI_KERNEL). */
void tty_send_fg(struct pty *p, uint64_t sigs);
/* tty_check_change: job control: a background process of p's session that uses its
 * controlling terminal p gets sig (SIGTTOU/SIGTTIN) sent to its process group and
 * -ERESTARTSYS, or -EIO if that cannot stop it (ignored SIGTTIN, orphaned group).
 * 0 when the caller may go on. */
int tty_check_change(struct task *t, struct pty *p, int sig);
/* tty_open_ctty: open(2)'s rule: a session leader without a controlling terminal
 * acquires p if p belongs to no session. */
void tty_open_ctty(struct task *t, struct pty *p);
/* tty_hangup: the master closed: p stops being a controlling terminal; its session
 * leader gets SIGHUP and SIGCONT. */
void tty_hangup(struct pty *p);
/* tty_ctty_ioctl: TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID; -ENOIOCTLCMD
 * for any other command. */
long tty_ctty_ioctl(struct task *t, struct file *f, struct pty *p, unsigned cmd,
                    uint64_t arg);

/* devpts.c */
/* devpts_node: the inode of /dev/pts/index, owned by uid/gid with Linux's default
 * mode 0600. NULL on allocation failure. */
struct inode *devpts_node(unsigned index, uint32_t uid, uint32_t gid);
/* devpts_slave_path: the path of /dev/pts/index in the mounted devpts (new
 * references), for TIOCGPTPEER. -ENOENT when it is not mounted. */
int devpts_slave_path(struct pty *p, struct path *out);

/* An ioctl handler's "not mine" (Linux's ENOIOCTLCMD), never returned to the guest. */
#define ENOIOCTLCMD 515

#endif
