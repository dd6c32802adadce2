/* Open files and the three layers of a file operation: the system call decodes and
 * copies, vfs_* checks the access mode and takes the position lock, and the
 * filesystem's file_ops callback does the work. */
#ifndef SENTRY_VFS_FILE_H
#define SENTRY_VFS_FILE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/gva.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/vfs.h"

struct task;
struct file;
struct dir_emit;
struct waitq;
struct epitem;

/* A guest I/O vector, already copied in and bounded (see syscalls/file.c). */
struct guest_iovec { gva_t base; size_t len; };

struct uio {
    struct mm *mm;                    /* whose memory the vector points into */
    const struct guest_iovec *iov;
    int iovcnt;
    size_t size;                      /* sum of lengths, at most MAX_RW_COUNT */
    char *kbuf;                       /* not NULL: the data is this Sentry buffer of
                                       * size bytes instead (mm, iov unused): how
                                       * sendfile and splice move file data */
};

/* uio_kernel: a uio over the Sentry buffer buf of n bytes. */
static inline struct uio uio_kernel(void *buf, size_t n)
{
    return (struct uio){ .size = n, .kbuf = buf };
}

/* Linux caps one read or write at this many bytes. */
#define MAX_RW_COUNT (0x7ffff000UL)

struct file_ops {
    /* read: fills the vector from the file at *pos (pos == NULL: the file's own
     * stream position, which the callback does not keep). Returns bytes read, 0 at end
     * of file, or -errno (-EFAULT only if nothing was read). Called with f->pos_mu
     * held when f is seekable. */
    ssize_t (*read)(struct file *f, const struct uio *u, int64_t *pos);
    /* write: the same, the other way. */
    ssize_t (*write)(struct file *f, const struct uio *u, int64_t *pos);
    /* stat: fills *st. 0 or -errno. */
    int (*stat)(struct file *f, struct stat *st);
    /* ioctl: cmd on the file with the raw argument; copies through t's memory. */
    long (*ioctl)(struct file *f, struct task *t, unsigned cmd, uint64_t arg);
    /* llseek: the new position or -errno (NULL: -ESPIPE). pos_mu held; lseek then
     * stores the result in f->pos. */
    int64_t (*llseek)(struct file *f, int64_t off, int whence);
    /* release: the last reference is gone; free private state. */
    void (*release)(struct file *f);
    /* iterate: getdents: offers entries from f->pos on (pos_mu held) and advances
     * f->pos past each one taken. 0 or -errno. Directories only. */
    int (*iterate)(struct file *f, struct dir_emit *e);
    /* mmap: the object a mapping of f maps (a new reference), or -ENODEV. NULL:
     * files of an inode with a page cache map through it (vfs_mmap_object). */
    int (*mmap)(struct file *f, struct mappable **out);
    /* fsync: data (and metadata unless datasync) to stable storage. NULL: 0. */
    int (*fsync)(struct file *f, int datasync);
    /* fcntl: commands the file type owns (F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS ...);
     * -EINVAL if cmd is not one of them. Optional. */
    long (*fcntl)(struct file *f, int cmd, uint64_t arg);
    /* truncate: ftruncate on an open file when it is not the inode's setattr (NULL). */
    int (*truncate)(struct file *f, int64_t size);
    /* poll: the POLL* events f is ready for now (POLLIN POLLOUT POLLPRI POLLHUP
     * POLLERR POLLRDHUP and the RDNORM/WRNORM twins). When wq is not NULL it also sets
     * *wq to the one wait queue woken (with the events that may have changed) when
     * f's readiness changes; poll, select and epoll add their waiters there. NULL op:
     * always readable and writable, as regular files are on Linux. */
    unsigned (*poll)(struct file *f, struct waitq **wq);
    /* fallocate: fallocate(2)'s mode on [off, off+len) (checked by the system call:
     * off >= 0, len > 0, no overflow, f open for writing). 0 or -errno. NULL:
     * -EOPNOTSUPP. */
    int (*fallocate)(struct file *f, int mode, int64_t off, int64_t len);
};

struct file {
    int refs;                     /* atomic */
    const struct file_ops *ops;   /* immutable */
    unsigned flags;               /* O_ACCMODE and status flags; protected by pos_mu */
    int seekable;                 /* immutable: reads and writes use pos */
    int host_pos;                 /* immutable: the position lives in a host fd, so
                                   * stream calls pass pos NULL, but pread/pwrite
                                   * still work (stdio redirected to a file) */
    pthread_mutex_t pos_mu;
    int64_t pos;                  /* protected by pos_mu */
    void *priv;                   /* the filesystem's; immutable pointer */
    struct path path;             /* where it was opened; {NULL, NULL} for files with
                                   * no name (pipes, eventfd, stdio host fds) */
    struct inode *inode;          /* a reference; NULL only for the stdio host files */
    int write_held;               /* immutable after open: counts as a writer of
                                   * path.mnt (mnt_want_write) until released */
    struct mappable map;          /* how mm sees the file when it is mapped */
    struct epitem *epitems;       /* the epoll items watching this file (fs/epoll.c);
                                   * protected by its g_epoll_mu */
};

/* file_alloc: a file with one reference; NULL on allocation failure. */
struct file *file_alloc(const struct file_ops *ops, unsigned flags, void *priv);
/* file_alloc_path: a file for the object at p (references taken on p and its inode),
 * with ops to be set by the inode's open. */
struct file *file_alloc_path(const struct path *p, unsigned flags);
/* file_get/file_put: take or drop a reference; the last put removes the file from
 * the epoll instances watching it, then calls ops->release. */
void file_get(struct file *f);
void file_put(struct file *f);

/* vfs_read/vfs_write: check the access mode, then read or write at the file
 * position (or at *off for the positioned calls: off != NULL). */
ssize_t vfs_read(struct file *f, const struct uio *u, const int64_t *off);
ssize_t vfs_write(struct file *f, const struct uio *u, const int64_t *off);

/* vfs_mmap_prepare: checks that f may be mapped with prot and flags (mmap(2)'s
 * EACCES/ENODEV/EPERM rules) and returns the object to map (a new reference; NULL:
 * anonymous memory, as for /dev/zero) and the most mprotect may grant later. */
int vfs_mmap_prepare(struct file *f, int prot, int flags, struct mappable **obj,
                     int *maxprot);
/* vfs_deny_writable_maps: from now on no shared mapping of ino may write (F_SEAL_WRITE,
 * Linux's mapping_deny_writable). -EBUSY if one exists. */
int vfs_deny_writable_maps(struct inode *ino);
/* vfs_kernel_read: reads file bytes at off into Sentry memory through the file's page
 * cache (the loader's reads). Returns the bytes read (short at end of file). */
ssize_t vfs_kernel_read(struct file *f, void *buf, size_t n, int64_t off);

/* vfs_fstat: the stat of an open file (its ops->stat, else its inode's). */
int vfs_fstat(struct file *f, struct stat *st);

/* uio_copy_out/uio_copy_in: copy n bytes between host memory at buf and the vector
 * (or the uio's Sentry buffer), starting skip bytes into it. Return the bytes copied
 * (short only at a fault, or at the end of a Sentry buffer), or -EFAULT if none could
 * be. */
ssize_t uio_copy_out(const struct uio *u, size_t skip, const void *buf, size_t n);
ssize_t uio_copy_in(const struct uio *u, size_t skip, void *buf, size_t n);

#endif
