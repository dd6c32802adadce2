/* Pipes and FIFOs (see pipe.h). The read and write loops follow Linux's pipe_read and
 * pipe_write step for step, so partial transfers, EAGAIN, EINTR and EPIPE come out the
 * same; the data itself lives in a pipe_buf.
 *
 * Locks: pipe->mu protects the buffer and the counts. Wake-ups are made with it held
 * (object lock → waitq.mu → task->mu, waitq.h); SIGPIPE is sent after dropping it,
 * since signal_send takes task->mu. A FIFO's inode->mu is taken before pipe->mu. */
#include "sentry/fs/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/fs/pipe_buf.h"
#include "sentry/fs/pipe_priv.h"
#include "sentry/fs/special.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

static const struct file_ops g_pipe_ops;

/* ---- the pipe object ---- */

static struct pipe *pipe_alloc(void)
{
    struct pipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pipe_buf_init(&p->buf, PIPE_DEF_SLOTS) < 0) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    waitq_init(&p->wq);
    return p;
}

static void pipe_free(struct pipe *p)
{
    pipe_buf_destroy(&p->buf);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static int can_read(unsigned flags) { return (flags & O_ACCMODE) != O_WRONLY; }
static int can_write(unsigned flags) { return (flags & O_ACCMODE) != O_RDONLY; }

/* the status flags change under F_SETFL; a racy read is what Linux does too */
static unsigned file_flags(struct file *f) { return __atomic_load_n(&f->flags, __ATOMIC_RELAXED); }

static struct pipe *file_pipe(struct file *f) { return ((struct pipe_end *)f->priv)->p; }

/* end_attach: counts a new end with the given open flags. mu held. */
static void end_attach(struct pipe *p, unsigned flags)
{
    if (can_read(flags)) {
        p->readers++;
        p->r_counter++;
    }
    if (can_write(flags)) {
        p->writers++;
        p->w_counter++;
    }
    /* FIFO opens waiting for a partner, and readers/writers blocked on no partner */
    waitq_wake(&p->wq, READ_EVENTS | WRITE_EVENTS);
}

/* end_detach: drops an end; frees the pipe with its last end (a FIFO's also leaves the
 * inode, so the next open starts empty, as in Linux). */
static void end_detach(struct pipe *p, unsigned flags)
{
    struct inode *fifo = p->fifo;  /* immutable */
    if (fifo)
        pthread_mutex_lock(&fifo->mu);
    pthread_mutex_lock(&p->mu);
    if (can_read(flags) && --p->readers == 0)
        waitq_wake(&p->wq, WRITE_EVENTS);   /* writers: EPIPE now */
    if (can_write(flags) && --p->writers == 0)
        waitq_wake(&p->wq, READ_EVENTS);    /* readers: EOF now */
    int dead = p->readers == 0 && p->writers == 0;
    if (dead && fifo)
        fifo->fifo = NULL;
    pthread_mutex_unlock(&p->mu);
    if (fifo)
        pthread_mutex_unlock(&fifo->mu);
    if (dead)
        pipe_free(p);
}

/* wait_locked: sleeps on p's queue for events, dropping p->mu meanwhile (the waiter is
 * registered first, so no wake-up is lost). 0 when woken, -EINTR on a signal. */
static int wait_locked(struct pipe *p, unsigned events)
{
    struct waiter w;
    waiter_init(&w, current_task, events);
    waitq_add(&p->wq, &w);
    pthread_mutex_unlock(&p->mu);
    int r = waiter_sleep(&w, NULL);
    waitq_remove(&p->wq, &w);
    pthread_mutex_lock(&p->mu);
    return r;
}

/* ---- file operations ---- */

static ssize_t copy_out_uio(void *ctx, size_t skip, void *p, size_t n)
{
    return uio_copy_out(ctx, skip, p, n);
}

static ssize_t copy_in_uio(void *ctx, size_t skip, void *p, size_t n)
{
    return uio_copy_in(ctx, skip, p, n);
}

static ssize_t pipe_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pipe *p = file_pipe(f);
    size_t total = u->size;
    if (total == 0)
        return 0;
    ssize_t ret = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (!pipe_buf_empty(&p->buf)) {
            int end;
            ssize_t n = pipe_buf_pop(&p->buf, total - (size_t)ret, copy_out_uio,
                                     (void *)u, (size_t)ret, &end);
            if (n < 0) {
                if (!ret)
                    ret = n;
                break;
            }
            ret += n;
            waitq_wake(&p->wq, ROOM_EVENTS);
            if (end || (size_t)ret == total)
                break;
            if (!pipe_buf_empty(&p->buf))
                continue;
        }
        if (!p->writers || ret)
            break;
        if (file_flags(f) & O_NONBLOCK) {
            ret = -EAGAIN;
            break;
        }
        if (wait_locked(p, READ_EVENTS) < 0) {
            ret = -ERESTARTSYS;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (ret > 0)
        inode_touch(f->inode, ATTR_ATIME);
    return ret;
}

/* for pipe_splice.c (pipe_priv.h) */
struct pipe *pipe_of(struct file *f) { return file_pipe(f); }
int pipe_wait_locked(struct pipe *p, unsigned events) { return wait_locked(p, events); }
void pipe_send_sigpipe(struct task *t) { signal_send_sigpipe(t); }

static ssize_t pipe_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct pipe *p = file_pipe(f);
    size_t total = u->size;
    if (total == 0)
        return 0;   /* even without readers */
    unsigned flags = file_flags(f);
    int packet = (flags & O_DIRECT) != 0;
    int sigpipe = 0;
    ssize_t ret = 0;
    pthread_mutex_lock(&p->mu);
    if (!p->readers) {
        sigpipe = 1;
        ret = -EPIPE;
        goto out;
    }
    /* the tail that is not a whole page may join the last slot */
    if (!packet) {
        ret = pipe_buf_merge(&p->buf, total, copy_in_uio, (void *)u);
        if (ret != 0)
            waitq_wake(&p->wq, DATA_EVENTS);
        if (ret < 0 || (size_t)ret == total)
            goto out;
    }
    for (;;) {
        if (!p->readers) {
            sigpipe = 1;
            if (!ret)
                ret = -EPIPE;
            break;
        }
        if (!pipe_buf_full(&p->buf)) {
            ssize_t n = pipe_buf_push(&p->buf, total - (size_t)ret, packet, copy_in_uio,
                                      (void *)u, (size_t)ret);
            if (n < 0) {
                if (!ret)
                    ret = n;
                break;
            }
            ret += n;
            waitq_wake(&p->wq, DATA_EVENTS);
            if ((size_t)ret == total)
                break;
            continue;
        }
        if (flags & O_NONBLOCK) {
            if (!ret)
                ret = -EAGAIN;
            break;
        }
        if (wait_locked(p, WRITE_EVENTS) < 0) {
            if (!ret)
                ret = -ERESTARTSYS;
            break;
        }
    }
out:
    pthread_mutex_unlock(&p->mu);
    if (sigpipe && current_task)
        signal_send_sigpipe(current_task);
    if (ret > 0)
        inode_touch(f->inode, ATTR_MTIME | ATTR_CTIME);
    return ret;
}

static int pipe_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static long pipe_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    if (cmd != FIONREAD)
        return -ENOTTY;
    struct pipe *p = file_pipe(f);
    pthread_mutex_lock(&p->mu);
    int n = (int)p->buf.bytes;
    pthread_mutex_unlock(&p->mu);
    return mm_copy_out(t->mm, arg, &n, sizeof(n), 0);
}

/* set_size: F_SETPIPE_SZ: Linux's round_pipe_size (a power of two of at least a page)
 * and pipe_set_size; the sandbox has no CAP_SYS_RESOURCE, so no more than
 * PIPE_MAX_SIZE. Returns the new size. */
static long set_size(struct pipe *p, unsigned arg)
{
    if (arg > (1U << 31))
        return -EINVAL;
    uint64_t size = PAGE_SIZE;
    while (size < arg)
        size <<= 1;
    unsigned nslots = (unsigned)(size / PAGE_SIZE);
    pthread_mutex_lock(&p->mu);
    long ret;
    if (nslots > p->buf.nslots && size > PIPE_MAX_SIZE)
        ret = -EPERM;
    else
        ret = pipe_buf_resize(&p->buf, nslots);
    if (ret == 0) {
        ret = (long)p->buf.nslots * PAGE_SIZE;
        waitq_wake(&p->wq, ROOM_EVENTS);   /* room may have appeared */
    }
    pthread_mutex_unlock(&p->mu);
    return ret;
}

static long pipe_fcntl(struct file *f, int cmd, uint64_t arg)
{
    struct pipe *p = file_pipe(f);
    switch (cmd) {
    case F_SETPIPE_SZ:
        return set_size(p, (unsigned)arg);
    case F_GETPIPE_SZ: {
        pthread_mutex_lock(&p->mu);
        long ret = (long)p->buf.nslots * PAGE_SIZE;
        pthread_mutex_unlock(&p->mu);
        return ret;
    }
    default:
        return -EINVAL;
    }
}

static void pipe_release(struct file *f)
{
    struct pipe_end *e = f->priv;
    end_detach(e->p, f->flags);
    free(e);
}

static int pipe_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static unsigned pipe_poll_op(struct file *f, struct waitq **wq)
{
    if (wq)
        *wq = pipe_waitq(f);
    return pipe_poll(f);
}

static const struct file_ops g_pipe_ops = {
    .poll = pipe_poll_op,
    .read = pipe_read,
    .write = pipe_write,
    .stat = pipe_stat,
    .ioctl = pipe_ioctl,
    .release = pipe_release,
    .mmap = pipe_mmap,
    .fcntl = pipe_fcntl,
};

int is_pipe_file(const struct file *f) { return f->ops == &g_pipe_ops; }

unsigned pipe_poll(struct file *f)
{
    struct pipe_end *e = f->priv;
    struct pipe *p = e->p;
    unsigned flags = file_flags(f);
    unsigned mask = 0;
    pthread_mutex_lock(&p->mu);
    if (can_read(flags)) {
        if (!pipe_buf_empty(&p->buf))
            mask |= POLLIN | POLLRDNORM;
        if (!p->writers && e->w_seen != p->w_counter)
            mask |= POLLHUP;
    }
    if (can_write(flags)) {
        if (!pipe_buf_full(&p->buf))
            mask |= POLLOUT | POLLWRNORM;
        if (!p->readers)
            mask |= POLLERR;
    }
    pthread_mutex_unlock(&p->mu);
    return mask;
}

struct waitq *pipe_waitq(struct file *f) { return &file_pipe(f)->wq; }

/* end_setup: makes f an end of p (counted already). */
static int end_setup(struct file *f, struct pipe *p, unsigned w_seen)
{
    struct pipe_end *e = malloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->p = p;
    e->w_seen = w_seen;
    f->ops = &g_pipe_ops;
    f->priv = e;
    f->seekable = 0;
    return 0;
}

/* ---- anonymous pipes: pipefs ---- */

static struct superblock g_pipefs = { .fstype = "pipefs" };
static pthread_once_t g_pipefs_once = PTHREAD_ONCE_INIT;

static void pipefs_init(void) { g_pipefs.dev = vfs_new_dev(); }

/* pipefs_inode: the inode of a new pipe: S_IFIFO|0600, owned by the creator. */
static struct inode *pipefs_inode(void)
{
    pthread_once(&g_pipefs_once, pipefs_init);
    struct inode *ino = inode_new(&g_pipefs, NULL, sb_next_ino(&g_pipefs), S_IFIFO | 0600);
    if (ino && current_task) {
        ino->uid = current_task->cred.fsuid;
        ino->gid = current_task->cred.fsgid;
    }
    return ino;
}

int pipe_create(unsigned flags, struct file *out[2])
{
    struct pipe *p = pipe_alloc();
    struct inode *ino = pipefs_inode();
    struct pipe_end *re = calloc(1, sizeof(*re)), *we = calloc(1, sizeof(*we));
    /* ops stay NULL until everything exists, so a failure frees plainly */
    struct file *r = file_alloc(NULL, O_RDONLY | (flags & O_NONBLOCK), NULL);
    struct file *w = file_alloc(NULL, O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)), NULL);
    if (!p || !ino || !re || !we || !r || !w) {
        file_put(r);
        file_put(w);
        free(re);
        free(we);
        inode_put(ino);
        if (p)
            pipe_free(p);
        return -ENOMEM;
    }
    /* w_seen 0: both ends count as having seen the writer (POLLHUP once it goes) */
    re->p = we->p = p;
    r->ops = w->ops = &g_pipe_ops;
    r->priv = re;
    w->priv = we;
    r->inode = ino;   /* the reference moves in */
    w->inode = ino;
    inode_get(ino);
    pthread_mutex_lock(&p->mu);
    end_attach(p, O_RDWR);
    pthread_mutex_unlock(&p->mu);
    out[0] = r;
    out[1] = w;
    return 0;
}

/* ---- FIFOs ---- */

/* fifo_get: ino's pipe, created on first open. ino->mu held. */
static struct pipe *fifo_get(struct inode *ino)
{
    struct pipe *p = ino->fifo;
    if (!p) {
        p = pipe_alloc();
        if (!p)
            return NULL;
        p->fifo = ino;
        ino->fifo = p;
    }
    return p;
}

/* wait_partner: sleeps until *counter moves (the other side opened). mu held. */
static int wait_partner(struct pipe *p, unsigned *counter)
{
    unsigned seen = *counter;
    while (*counter == seen) {
        if (wait_locked(p, READ_EVENTS | WRITE_EVENTS) < 0)
            return -ERESTARTSYS;
    }
    return 0;
}

int fifo_open(struct task *t, struct inode *ino, struct file *f, int flags)
{
    (void)t;
    unsigned acc = (unsigned)flags & O_ACCMODE;
    if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR)
        return -EINVAL;
    pthread_mutex_lock(&ino->mu);
    struct pipe *p = fifo_get(ino);
    if (!p) {
        pthread_mutex_unlock(&ino->mu);
        return -ENOMEM;
    }
    pthread_mutex_lock(&p->mu);
    if (acc == O_WRONLY && (flags & O_NONBLOCK) && !p->readers) {
        int dead = !p->writers;   /* a pipe made just now for nothing */
        if (dead)
            ino->fifo = NULL;
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_unlock(&ino->mu);
        if (dead)
            pipe_free(p);
        return -ENXIO;
    }
    /* a non-blocking reader with no writer sees no POLLHUP until one has come (Linux
     * sets f_version to w_counter then) */
    unsigned w_seen = (acc == O_RDONLY && (flags & O_NONBLOCK) && !p->writers) ?
                      p->w_counter : 0;
    end_attach(p, acc);
    pthread_mutex_unlock(&ino->mu);   /* the count keeps p alive now */

    int err = 0;
    if (acc == O_RDONLY && !p->writers && !(flags & O_NONBLOCK))
        err = wait_partner(p, &p->w_counter);
    else if (acc == O_WRONLY && !p->readers)
        err = wait_partner(p, &p->r_counter);
    pthread_mutex_unlock(&p->mu);
    if (!err)
        err = end_setup(f, p, w_seen);
    if (err < 0) {
        end_detach(p, acc);
        return err;
    }
    return 0;
}
