/* Pseudo-terminal pairs and their open files (see tty.h, tty_impl.h): the table of
 * slave numbers, opening /dev/ptmx, /dev/pts/N and /dev/tty, and the read, write and
 * poll of both ends, which block around the line discipline (tty_ldisc.c) the way
 * Linux's n_tty_read/n_tty_write and pty_write do.
 *
 * Lifetimes: the pty lives while referenced (tty_impl.h). Its number N stays taken
 * until both the master and every slave file are closed; /dev/pts/N disappears as
 * soon as the master is closed, which also hangs up the slave: its reads return 0,
 * its writes and ioctls fail with EIO. */
#include "sentry/fs/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/fs/tty_impl.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* ---- the table of slave numbers ---- */

static pthread_mutex_t g_pty_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pty *g_ptys[PTY_MAX];   /* g_pty_mu; each slot holds a reference */

void pty_get(struct pty *p) { __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED); }

void pty_put(struct pty *p)
{
    if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ldisc_destroy(&p->ld);
    tty_ring_destroy(&p->to_slave);
    tty_ring_destroy(&p->to_master);
    if (p->slave_inode)
        inode_put(p->slave_inode);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* table_add: the lowest free number for p (the table takes a reference). */
static int table_add(struct pty *p)
{
    pthread_mutex_lock(&g_pty_mu);
    int index = -ENOSPC;
    for (int i = 0; i < PTY_MAX; i++) {
        if (!g_ptys[i]) {
            pty_get(p);
            g_ptys[i] = p;
            index = i;
            break;
        }
    }
    pthread_mutex_unlock(&g_pty_mu);
    return index;
}

/* table_remove: N is free again: called once, when the master and the last slave
 * file have both closed. */
static void table_remove(struct pty *p)
{
    pthread_mutex_lock(&g_pty_mu);
    if (g_ptys[p->index] == p)
        g_ptys[p->index] = NULL;
    pthread_mutex_unlock(&g_pty_mu);
    pty_put(p);
}

static int master_is_open(struct pty *p)
{
    return __atomic_load_n(&p->master_open, __ATOMIC_ACQUIRE);
}

struct pty *pty_lookup(unsigned index)
{
    if (index >= PTY_MAX)
        return NULL;
    pthread_mutex_lock(&g_pty_mu);
    struct pty *p = g_ptys[index];
    if (p && master_is_open(p))
        pty_get(p);
    else
        p = NULL;
    pthread_mutex_unlock(&g_pty_mu);
    return p;
}

int pty_list(unsigned from, unsigned *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&g_pty_mu);
    for (unsigned i = from; i < PTY_MAX && n < max; i++)
        if (g_ptys[i] && master_is_open(g_ptys[i]))
            out[n++] = i;
    pthread_mutex_unlock(&g_pty_mu);
    return n;
}

/* ---- helpers ---- */

void pty_wake(struct pty *p, unsigned master_events, unsigned slave_events)
{
    if (master_events)
        waitq_wake(&p->master_wq, master_events);
    if (slave_events)
        waitq_wake(&p->slave_wq, slave_events);
}

void pty_push_input(struct pty *p, uint64_t *sigs)
{
    uint32_t echoed = tty_ring_count(&p->to_master);
    if (ldisc_receive(&p->ld, &p->to_slave, sigs) == 0)
        return;
    /* typed input may have completed a line, made room for the master's writer, and
     * echoed (or restarted output, which wakes the slave's writer) */
    pty_wake(p, POLLOUT | POLLWRNORM |
                    (tty_ring_count(&p->to_master) != echoed ? POLLIN | POLLRDNORM : 0),
             POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

static int nonblocking(struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
}

static ssize_t copy_out_uio(void *ctx, size_t skip, const void *src, size_t n)
{
    return uio_copy_out(ctx, skip, src, n);
}

/* wait_locked: sleeps on q for events until deadline (CLOCK_MONOTONIC; NULL: none),
 * dropping p->mu meanwhile. 0 woken, -EINTR, -ETIMEDOUT. */
static int wait_locked(struct pty *p, struct waitq *q, unsigned events,
                       const struct timespec *deadline)
{
    struct waiter w;
    waiter_init(&w, current_task, events);
    waitq_add(q, &w);
    pthread_mutex_unlock(&p->mu);
    int r = waiter_sleep(&w, deadline);
    waitq_remove(q, &w);
    pthread_mutex_lock(&p->mu);
    return r;
}

/* deadline_in: now + ds tenths of a second on CLOCK_MONOTONIC (VTIME's unit). */
static struct timespec deadline_in(unsigned ds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ds / 10;
    ts.tv_nsec += (long)(ds % 10) * 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ---- the master end ---- */

static ssize_t master_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pty *p = tty_file_pty(f);
    if (!u->size)
        return 0;
    ssize_t ret;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (tty_ring_count(&p->to_master)) {
            ret = tty_ring_read(&p->to_master, u->size, copy_out_uio, (void *)u, 0);
            if (ret > 0) {
                ldisc_flush_echoes(&p->ld);
                pty_wake(p, tty_ring_count(&p->to_master) ? POLLIN | POLLRDNORM : 0,
                         POLLOUT | POLLWRNORM);
            }
            break;
        }
        /* the slave was opened and every slave file closed since */
        if (p->slave_closed) {
            ret = -EIO;
            break;
        }
        if (nonblocking(f)) {
            ret = -EAGAIN;
            break;
        }
        if (wait_locked(p, &p->master_wq, TTY_READ_EVENTS, NULL) < 0) {
            ret = -ERESTARTSYS;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return ret;
}

/* master_write: what the master writes is typed into the slave (pty_write into the
 * slave's flip buffer), then processed by the slave's line discipline. */
static ssize_t master_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pty *p = tty_file_pty(f);
    size_t done = 0;
    ssize_t err = 0;
    while (done < u->size && !err) {
        uint8_t chunk[1024];
        ssize_t got = uio_copy_in(u, done, chunk, MIN(sizeof(chunk), u->size - done));
        if (got <= 0) {
            err = -EFAULT;
            break;
        }
        uint64_t sigs = 0;
        size_t off = 0;
        pthread_mutex_lock(&p->mu);
        while (off < (size_t)got) {
            size_t put = tty_ring_put(&p->to_slave, chunk + off, (size_t)got - off);
            if (put) {
                off += put;
                pty_push_input(p, &sigs);
                continue;
            }
            if (nonblocking(f)) {
                err = -EAGAIN;
                break;
            }
            if (wait_locked(p, &p->master_wq, TTY_WRITE_EVENTS, NULL) < 0) {
                err = -ERESTARTSYS;
                break;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (sigs)
            tty_send_fg(p, sigs);
        done += off;
    }
    return done ? (ssize_t)done : err;
}

static unsigned master_poll(struct file *f, struct waitq **wq)
{
    struct pty *p = tty_file_pty(f);
    if (wq)
        *wq = &p->master_wq;
    unsigned mask = 0;
    pthread_mutex_lock(&p->mu);
    if (tty_ring_count(&p->to_master))
        mask |= POLLIN | POLLRDNORM;
    if (p->slave_closed)
        mask |= POLLHUP;
    if (tty_ring_room(&p->to_slave))
        mask |= POLLOUT | POLLWRNORM;
    pthread_mutex_unlock(&p->mu);
    return mask;
}

static void master_release(struct file *f)
{
    struct tty_file *tf = f->priv;
    struct pty *p = tf->p;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->master_open, 0, __ATOMIC_RELEASE);
    int last = p->slave_opens == 0 && !p->index_released;
    if (last)
        p->index_released = 1;
    pthread_mutex_unlock(&p->mu);
    /* the slave is hung up: every waiter on it returns */
    pty_wake(p, TTY_READ_EVENTS | TTY_WRITE_EVENTS, TTY_READ_EVENTS | TTY_WRITE_EVENTS);
    tty_hangup(p);
    if (last)
        table_remove(p);
    pty_put(p);
    free(tf);
}

/* ---- the slave end ---- */

static int slave_hung_up(struct pty *p) { return !master_is_open(p); }

static ssize_t slave_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pty *p = tty_file_pty(f);
    if (slave_hung_up(p))
        return 0;
    int r = tty_check_change(current_task, p, SIGTTIN);
    if (r < 0)
        return r;
    if (!u->size)
        return 0;

    pthread_mutex_lock(&p->mu);
    /* n_tty_read's VMIN/VTIME: minimum bytes, and a timeout that is either overall
     * (VMIN 0) or restarted after each byte (VMIN > 0) */
    unsigned minimum = 0, time = 0;
    int expired = 0, timed = 0;
    struct timespec deadline = { 0, 0 };
    if (!p->ld.icanon) {
        minimum = p->ld.termios.c_cc[VMIN];
        if (minimum) {
            time = p->ld.termios.c_cc[VTIME];
        } else {
            minimum = 1;
            unsigned t = p->ld.termios.c_cc[VTIME];
            if (t) {
                deadline = deadline_in(t);
                timed = 1;
            } else {
                expired = 1;
            }
        }
    }
    uint32_t old_tail = p->ld.read_tail;
    size_t done = 0;
    ssize_t ret = 0;
    while (done < u->size) {
        if (!ldisc_input_available(&p->ld, 0)) {
            if (slave_hung_up(p) || expired)
                break;
            if (nonblocking(f)) {
                ret = -EAGAIN;
                break;
            }
            r = wait_locked(p, &p->slave_wq, TTY_READ_EVENTS, timed ? &deadline : NULL);
            if (r == -ETIMEDOUT)
                expired = 1;
            else if (r < 0) {
                ret = -ERESTARTSYS;
                break;
            }
            continue;
        }
        ssize_t n;
        if (p->ld.icanon) {
            n = ldisc_read_canon(&p->ld, u->size - done, copy_out_uio, (void *)u, done);
            if (n >= 0)
                done += (size_t)n;
            else
                ret = n;
            break;   /* a canonical read returns one line at most */
        }
        n = ldisc_read_raw(&p->ld, u->size - done, copy_out_uio, (void *)u, done);
        if (n < 0) {
            ret = n;
            break;
        }
        done += (size_t)n;
        if (done >= minimum)
            break;
        if (time) {
            deadline = deadline_in(time);
            timed = 1;
            expired = 0;
        }
    }
    uint64_t sigs = 0;
    if (p->ld.read_tail != old_tail || done)
        pty_push_input(p, &sigs);   /* room for what the master typed ahead */
    pthread_mutex_unlock(&p->mu);
    if (sigs)
        tty_send_fg(p, sigs);
    return done ? (ssize_t)done : ret;
}

static ssize_t slave_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pty *p = tty_file_pty(f);
    if (slave_hung_up(p))
        return -EIO;
    pthread_mutex_lock(&p->mu);
    int tostop = (p->ld.termios.c_lflag & TOSTOP) != 0;
    pthread_mutex_unlock(&p->mu);
    if (tostop) {
        int r = tty_check_change(current_task, p, SIGTTOU);
        if (r < 0)
            return r;
    }
    size_t done = 0;
    ssize_t err = 0;
    while (done < u->size && !err) {
        uint8_t chunk[1024];
        ssize_t got = uio_copy_in(u, done, chunk, MIN(sizeof(chunk), u->size - done));
        if (got <= 0) {
            err = -EFAULT;
            break;
        }
        size_t off = 0;
        pthread_mutex_lock(&p->mu);
        while (off < (size_t)got) {
            if (slave_hung_up(p)) {
                err = -EIO;
                break;
            }
            size_t n = ldisc_write(&p->ld, chunk + off, (size_t)got - off);
            if (n) {
                off += n;
                pty_wake(p, POLLIN | POLLRDNORM, 0);
                continue;
            }
            if (nonblocking(f)) {
                err = -EAGAIN;
                break;
            }
            if (wait_locked(p, &p->slave_wq, TTY_WRITE_EVENTS, NULL) < 0) {
                err = -ERESTARTSYS;
                break;
            }
        }
        pthread_mutex_unlock(&p->mu);
        done += off;
    }
    return done ? (ssize_t)done : err;
}

static unsigned slave_poll(struct file *f, struct waitq **wq)
{
    struct pty *p = tty_file_pty(f);
    if (wq)
        *wq = &p->slave_wq;
    if (slave_hung_up(p))
        return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
    unsigned mask = 0;
    pthread_mutex_lock(&p->mu);
    if (ldisc_input_available(&p->ld, 1))
        mask |= POLLIN | POLLRDNORM;
    if (ldisc_can_write(&p->ld) && tty_ring_room(&p->to_master))
        mask |= POLLOUT | POLLWRNORM;
    pthread_mutex_unlock(&p->mu);
    return mask;
}

static void slave_release(struct file *f)
{
    struct tty_file *tf = f->priv;
    struct pty *p = tf->p;
    pthread_mutex_lock(&p->mu);
    int last_file = --p->slave_opens == 0;
    if (last_file)
        p->slave_closed = 1;
    int last = last_file && !master_is_open(p) && !p->index_released;
    if (last)
        p->index_released = 1;
    pthread_mutex_unlock(&p->mu);
    if (last_file)
        pty_wake(p, TTY_READ_EVENTS, 0);   /* the master's reads fail now */
    if (last)
        table_remove(p);
    pty_put(p);
    free(tf);
}

static int tty_mmap(struct file *f, struct mappable **out)
{
    (void)f, (void)out;
    return -ENODEV;
}

static const struct file_ops g_master_ops = {
    .read = master_read, .write = master_write, .ioctl = tty_ioctl,
    .release = master_release, .mmap = tty_mmap, .poll = master_poll,
};
static const struct file_ops g_slave_ops = {
    .read = slave_read, .write = slave_write, .ioctl = tty_ioctl,
    .release = slave_release, .mmap = tty_mmap, .poll = slave_poll,
};

int tty_is_master(struct file *f) { return f->ops == &g_master_ops; }

/* ---- opening ---- */

static struct pty *pty_alloc(void)
{
    struct pty *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    struct ktermios t;
    ktermios_pty_slave(&t);
    if (tty_ring_init(&p->to_slave, PTY_RING_SIZE) < 0 ||
        tty_ring_init(&p->to_master, PTY_RING_SIZE) < 0 ||
        ldisc_init(&p->ld, &t, &p->to_master) < 0) {
        tty_ring_destroy(&p->to_slave);
        tty_ring_destroy(&p->to_master);
        free(p);
        return NULL;
    }
    p->refs = 1;
    pthread_mutex_init(&p->mu, NULL);
    waitq_init(&p->master_wq);
    waitq_init(&p->slave_wq);
    return p;
}

/* attach: f becomes the given end of p through tf (p's reference moves into f). */
static void attach(struct file *f, struct tty_file *tf, struct pty *p, int master)
{
    tf->p = p;
    tf->master = master;
    f->ops = master ? &g_master_ops : &g_slave_ops;
    f->priv = tf;
    f->seekable = 0;
}

int ptmx_open(struct task *t, struct file *f, int flags)
{
    (void)flags;
    struct pty *p = pty_alloc();
    if (!p)
        return -ENOMEM;
    int index = table_add(p);
    if (index < 0) {
        pty_put(p);
        return index;
    }
    p->index = index;
    p->locked = 1;   /* until unlockpt */
    p->slave_inode = devpts_node((unsigned)index, t ? t->cred.fsuid : 0,
                                 t ? t->cred.fsgid : 0);
    struct tty_file *tf = malloc(sizeof(*tf));
    if (!p->slave_inode || !tf) {
        free(tf);
        p->index_released = 1;
        table_remove(p);
        pty_put(p);
        return -ENOMEM;
    }
    attach(f, tf, p, 1);
    __atomic_store_n(&p->master_open, 1, __ATOMIC_RELEASE);
    return 0;
}

int pty_slave_attach(struct task *t, struct pty *p, struct file *f, int flags, int noctty)
{
    struct tty_file *tf = malloc(sizeof(*tf));
    int err = -ENOMEM;
    if (tf) {
        pthread_mutex_lock(&p->mu);
        if (!master_is_open(p) || p->locked)
            err = -EIO;
        else if (p->exclusive && t && t->cred.euid != 0)
            err = -EBUSY;   /* TIOCEXCL: only root opens it again */
        else {
            err = 0;
            p->slave_opens++;
            p->slave_closed = 0;
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (err < 0) {
        free(tf);
        pty_put(p);
        return err;
    }
    attach(f, tf, p, 0);
    /* only a reader may make it its controlling terminal (tty_open_proc_set_tty) */
    if (t && !noctty && !(flags & O_NOCTTY) && (flags & O_ACCMODE) != O_WRONLY)
        tty_open_ctty(t, p);
    return 0;
}

int pts_open(struct task *t, unsigned index, struct file *f, int flags)
{
    struct pty *p = pty_lookup(index);
    if (!p)
        return -EIO;   /* Linux's pts_unix98_lookup: the master must be open */
    return pty_slave_attach(t, p, f, flags, 0);
}

int tty_open_current(struct task *t, struct file *f, int flags)
{
    if (!t)
        return -ENXIO;   /* no process, no controlling terminal */
    pthread_mutex_lock(&g_kernel.mu);
    struct pty *p = t->tg->ctty;
    if (p)
        pty_get(p);
    pthread_mutex_unlock(&g_kernel.mu);
    if (!p)
        return -ENXIO;
    return pty_slave_attach(t, p, f, flags, 1);
}
