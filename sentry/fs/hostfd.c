/* Files backed by a host fd (stdio). See hostfd.h. */
#include "sentry/fs/hostfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

struct hostfd { int fd; };

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

static ssize_t hostfd_read(struct file *f, const struct uio *u, int64_t *pos)
{
    return hostfd_transfer(host_fd(f), u, pos, 1);
}

static ssize_t hostfd_write(struct file *f, const struct uio *u, int64_t *pos)
{
    return hostfd_transfer(host_fd(f), u, pos, 0);
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
    close(h->fd);
    free(h);
}

static const struct file_ops g_hostfd_ops = {
    .read = hostfd_read,
    .write = hostfd_write,
    .stat = hostfd_stat,
    .ioctl = hostfd_ioctl,
    .llseek = hostfd_llseek,
    .release = hostfd_release,
    .fallocate = hostfd_fallocate,
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
    struct file *f = file_alloc(&g_hostfd_ops, (unsigned)fl & ~O_CLOEXEC, h);
    if (!f) {
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
