/* Files backed by a host fd (stdio). See hostfd.h.
 *
 * Readiness: a host fd the host can wait for (a pipe, terminal or socket) is
 * registered with the host notifier (host_notify.h) and its file has a poll op; reads
 * wait for the host to report it readable on the file's queue, so signals interrupt
 * them and O_NONBLOCK gives EAGAIN. Other host files (regular files, /dev/null) are
 * always ready and have no poll op, so epoll refuses them as Linux does. */
#include "sentry/fs/hostfd.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "lib/err.h"
#include "sentry/fs/host_notify.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

struct hostfd {
    int fd;                  /* owned */
    int pollable;            /* immutable: registered with the host notifier */
    struct waitq wq;         /* woken by the notifier */
};

static int host_fd(struct file *f) { return ((struct hostfd *)f->priv)->fd; }

/* transfer_kernel: hostfd_transfer of a uio over a Sentry buffer (one host call). */
static ssize_t transfer_kernel(int fd, const struct uio *u, int64_t *pos, int to_guest)
{
    ssize_t n;
    if (pos)
        n = to_guest ? pread(fd, u->kbuf, u->size, *pos) : pwrite(fd, u->kbuf, u->size, *pos);
    else
        n = to_guest ? read(fd, u->kbuf, u->size) : write(fd, u->kbuf, u->size);
    if (n < 0)
        return -errno;
    if (pos)
        *pos += n;
    return n;
}

ssize_t hostfd_transfer(int fd, const struct uio *u, int64_t *pos, int to_guest)
{
    if (u->kbuf)
        return transfer_kernel(fd, u, pos, to_guest);
    size_t done = 0;
    for (int i = 0; i < u->iovcnt && done < u->size; i++) {
        size_t want = u->iov[i].len;
        if (want > u->size - done)
            want = u->size - done;
        size_t at = 0;
        while (at < want) {
            struct mm_io io;
            long got = mm_io_acquire(u->mm, u->iov[i].base.v + at, want - at,
                                     to_guest ? FAULT_WRITE : FAULT_READ, &io);
            if (got < 0)
                return done ? (ssize_t)done : -EFAULT;
            ssize_t n;
            if (pos)
                n = to_guest ? preadv(fd, io.iov, io.n, *pos) : pwritev(fd, io.iov, io.n, *pos);
            else
                n = to_guest ? readv(fd, io.iov, io.n) : writev(fd, io.iov, io.n);
            int e = errno;
            mm_io_release(&io);
            if (n < 0)
                return done ? (ssize_t)done : -e;
            if (pos)
                *pos += n;
            done += (size_t)n;
            at += (size_t)n;
            if ((size_t)n < (size_t)got)
                return (ssize_t)done;  /* short transfer: stop like the host did */
        }
    }
    return (ssize_t)done;
}

static int nonblocking(struct file *f)
{
    return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
}

/* wait_ready: for a pollable host fd: 0 once the host says a call for events would
 * not block, -EAGAIN if f is non-blocking and it would, -ERESTARTSYS on a signal. */
static int wait_ready(struct file *f, unsigned events)
{
    struct hostfd *h = f->priv;
    unsigned want = events | POLLERR | POLLHUP | POLLNVAL;
    if (host_poll_now(h->fd) & want)
        return 0;
    if (nonblocking(f))
        return -EAGAIN;
    host_notify_arm(h->fd);
    for (;;) {
        struct waiter w;
        waiter_init(&w, current_task, want);
        waitq_add(&h->wq, &w);
        int ready = (host_poll_now(h->fd) & want) != 0;   /* registered first */
        int r = ready ? 0 : waiter_sleep(&w, NULL);
        waitq_remove(&h->wq, &w);
        if (ready)
            return 0;
        if (r < 0)
            return -ERESTARTSYS;
    }
}

static ssize_t hostfd_read(struct file *f, const struct uio *u, int64_t *pos)
{
    struct hostfd *h = f->priv;
    /* a stream read of a host pipe or terminal waits in the Sentry, interruptibly */
    if (h->pollable && !pos && u->size && current_task) {
        int err = wait_ready(f, POLLIN);
        if (err < 0)
            return err;
    }
    return hostfd_transfer(h->fd, u, pos, 1);
}

static ssize_t hostfd_write(struct file *f, const struct uio *u, int64_t *pos)
{
    struct hostfd *h = f->priv;
    /* writes block in the host (output rarely waits); O_NONBLOCK is honoured as far
     * as a host poll can tell */
    if (h->pollable && !pos && u->size && nonblocking(f) &&
        !(host_poll_now(h->fd) & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)))
        return -EAGAIN;
    ssize_t n = hostfd_transfer(h->fd, u, pos, 0);
    /* a host pipe or socket without a reader: the guest gets the SIGPIPE the host
     * would have sent it (the Sentry itself ignores SIGPIPE) */
    if (n == -EPIPE && current_task)
        signal_send_sigpipe(current_task);
    return n;
}

/* hostfd_poll: what the host says now; the notifier wakes f's queue on changes. */
static unsigned hostfd_poll(struct file *f, struct waitq **wq)
{
    struct hostfd *h = f->priv;
    if (wq) {
        host_notify_arm(h->fd);   /* before the check, so no change is missed */
        *wq = &h->wq;
    }
    return host_poll_now(h->fd);
}

static int hostfd_stat(struct file *f, struct stat *st)
{
    return fstat(host_fd(f), st) < 0 ? -errno : 0;
}

static long hostfd_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    int fd = host_fd(f);
    switch (cmd) {
    case TCGETS: {
        struct termios tio;
        if (ioctl(fd, TCGETS, &tio) < 0)
            return -errno;
        return mm_copy_out(t->mm, arg, &tio, sizeof(tio), 0);
    }
    case TIOCGWINSZ: {
        struct winsize ws;
        if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
            return -errno;
        return mm_copy_out(t->mm, arg, &ws, sizeof(ws), 0);
    }
    case FIONREAD: {
        int n;
        if (ioctl(fd, FIONREAD, &n) < 0)
            return -errno;
        return mm_copy_out(t->mm, arg, &n, sizeof(n), 0);
    }
    case TIOCGPGRP: {
        /* the sandbox's own process group: the guest's first process */
        int pgrp = t->tg->pgid;
        if (!isatty(fd))
            return -ENOTTY;
        return mm_copy_out(t->mm, arg, &pgrp, sizeof(pgrp), 0);
    }
    default:
        return -ENOTTY;
    }
}

static int64_t hostfd_llseek(struct file *f, int64_t off, int whence)
{
    off_t r = lseek(host_fd(f), off, whence);
    return r < 0 ? -errno : r;
}

static int hostfd_fallocate(struct file *f, int mode, int64_t off, int64_t len)
{
    return fallocate(host_fd(f), mode, off, len) < 0 ? -errno : 0;
}

static void hostfd_release(struct file *f)
{
    struct hostfd *h = f->priv;
    if (h->pollable)
        host_notify_remove(h->fd);
    close(h->fd);
    free(h);
}

/* host files that are always ready (no poll op: Linux's DEFAULT_POLLMASK) */
static const struct file_ops g_hostfd_ops = {
    .read = hostfd_read,
    .write = hostfd_write,
    .stat = hostfd_stat,
    .ioctl = hostfd_ioctl,
    .llseek = hostfd_llseek,
    .release = hostfd_release,
    .fallocate = hostfd_fallocate,
};

/* host pipes, terminals, sockets: readiness from the host */
static const struct file_ops g_hostfd_poll_ops = {
    .read = hostfd_read,
    .write = hostfd_write,
    .stat = hostfd_stat,
    .ioctl = hostfd_ioctl,
    .llseek = hostfd_llseek,
    .release = hostfd_release,
    .poll = hostfd_poll,
};

struct file *hostfd_open(int fd, int *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        *err = -errno;
        return NULL;
    }
    struct hostfd *h = malloc(sizeof(*h));
    if (!h) {
        *err = -ENOMEM;
        return NULL;
    }
    h->fd = fd;
    waitq_init(&h->wq);
    /* the host's answer decides: -EPERM means a file that is always ready */
    h->pollable = host_notify_add(fd, &h->wq) == 0;
    struct file *f = file_alloc(h->pollable ? &g_hostfd_poll_ops : &g_hostfd_ops,
                                (unsigned)fl & ~O_CLOEXEC, h);
    if (!f) {
        if (h->pollable)
            host_notify_remove(fd);
        free(h);
        *err = -ENOMEM;
        return NULL;
    }
    /* the host fd keeps the position, so a shell that shares it with us sees it move
     * (`{ sandbox run ...; echo b; } > out`); whether pread works (files, /dev/null)
     * or fails with ESPIPE (pipes, terminals) is the host file's to say */
    f->host_pos = 1;
    return f;
}
