/* goferfs internals shared by its inode operations (goferfs.c) and its open files
 * (goferfs_file.c). */
#ifndef SENTRY_FS_GOFERFS_IMPL_H
#define SENTRY_FS_GOFERFS_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "gofer/proto.h"
#include "sentry/fs/gofer_client.h"
#include "sentry/vfs/vfs.h"

struct goferfs_sb {
    struct gofer_client *client;
    uint32_t root_fid;
    int readonly;
};

struct gofer_inode {
    uint32_t fid;            /* immutable */
    int stale;               /* atomic: attributes changed behind us; STAT on getattr */
    pthread_mutex_t fd_mu;   /* the two fds below, opened on first use */
    int rd_fd;               /* O_RDONLY: fill_page */
    int rw_fd;               /* O_RDWR: write_page */
    char *link;              /* atomic: a symlink's target, once read (a symlink's
                              * target never changes in place: gVisor caches it too) */
};

static inline struct goferfs_sb *gsb(struct inode *ino) { return ino->sb->priv; }
static inline struct gofer_inode *gino(struct inode *ino) { return ino->priv; }
static inline struct gofer_client *gclient(struct inode *ino)
{
    return gsb(ino)->client;
}

/* goferfs_apply_stat: copies a wire stat into ino's attribute fields (takes ino->mu). */
void goferfs_apply_stat(struct inode *ino, const struct gp_stat *st);
/* goferfs_mark_stale: the next getattr asks the Gofer. */
void goferfs_mark_stale(struct inode *ino);
/* goferfs_inode_fd: the inode's shared host fd (rd_fd, or rw_fd which also reads),
 * opened on first use; it stays the inode's (closed at evict). -errno if the Gofer
 * refuses. For the page cache and for open files. */
int goferfs_inode_fd(struct inode *ino, int write);
/* goferfs_open_host: OPEN of ino's fid with flags; the fd (checked to be of ino's
 * type) or -errno. */
int goferfs_open_host(struct inode *ino, int flags);
/* goferfs_fsync: FSYNC of ino's fid. */
int goferfs_fsync(struct inode *ino, int datasync);

/* goferfs_open_file: the inode op open (goferfs_file.c). */
int goferfs_open_file(struct inode *ino, struct file *f, int flags);

#endif
