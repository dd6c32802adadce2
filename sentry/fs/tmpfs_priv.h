/* tmpfs internals shared by tmpfs*.c. Not for other components: use tmpfs.h.
 *
 * Locks, outermost first: the VFS's dir_mu (held around every change of a
 * directory's entries) → tdir.rw (the entry table: readers are lookup and getdents)
 * → tnode.data_rw (a regular file's size against its I/O) → inode->mu (attributes)
 * → the page cache's own lock. tnode.xmu guards xattrs and nests inside nothing. */
#ifndef SENTRY_FS_TMPFS_PRIV_H
#define SENTRY_FS_TMPFS_PRIV_H

#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* Linux tmpfs counts this many bytes of directory size per entry. */
#define BOGO_DIRENT_SIZE 20
#define TMPFS_NAME_MAX 255

/* One name in a directory. */
struct dent {
    struct dent *hnext;        /* hash chain */
    struct inode *ino;         /* a reference */
    uint64_t cookie;           /* getdents position; never reused in this directory */
    uint32_t hash;
    uint32_t len;
    char name[];               /* NUL-terminated */
};

/* A directory's entries: a hash table by name for lookup, and an array ordered by
 * cookie for getdents. Removed entries leave a NULL slot (so a reader's position
 * stays meaningful) until enough pile up to compact. Positions 0 and 1 are "." and
 * ".."; cookies start at 2 and only grow, so new entries always sort last. */
struct slot { uint64_t cookie; struct dent *d; };
struct tdir {
    pthread_rwlock_t rw;
    struct dent **buckets;     /* power-of-two count */
    size_t nbuckets, count;
    struct slot *slots;
    size_t nslots, capslots, ndead;
    uint64_t next_cookie;
    uint64_t parent_ino;       /* for ".." (rw) */
    int dead;                  /* rmdir'ed: no new entries, getdents shows nothing */
};

struct xattr {
    struct xattr *next;
    char *name;
    size_t size;
    char val[];
};

/* Seal bits newer than some headers. */
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#define TMPFS_ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | \
                         F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

/* inode->priv of every tmpfs inode. */
struct tnode {
    pthread_rwlock_t data_rw;  /* regular files: read I/O shares, writes and size
                                * changes exclude */
    unsigned seals;            /* F_SEAL_* (memfd_create, fcntl F_ADD_SEALS); changed
                                * with data_rw held for writing, read atomically.
                                * F_SEAL_SEAL from birth except for memfds that allow
                                * sealing, as Linux's shmem */
    int linkable;              /* an O_TMPFILE file (without O_EXCL) that linkat may
                                * still name; cleared by that link (dir_mu of its new
                                * directory) */
    pthread_mutex_t xmu;       /* xattrs */
    struct xattr *xattrs;
    char *target;              /* symlinks: immutable */
    struct tdir *dir;          /* directories */
};

static inline struct tnode *TN(struct inode *i) { return i->priv; }

/* superblock->priv. live counts inodes; the last evict frees the superblock. The
 * limits come from mount options (tmpfs_opts.c); fields marked (a) are atomics. */
struct tmpfs_sb {
    uint64_t live;             /* (a) */
    uint64_t max_blocks;       /* (a) pages of file data allowed; 0: no limit */
    uint64_t used_blocks;      /* (a) pages of file data held */
    uint64_t max_inodes;       /* (a) nr_inodes=, shown only (0: no limit) */
    uint32_t mode, uid, gid;   /* the root's at mount time, for show_options */
    unsigned given;            /* (a) TMPFS_GIVEN_*: limits set by an option, shown */
};
enum { TMPFS_GIVEN_SIZE = 1 << 0, TMPFS_GIVEN_INODES = 1 << 1 };

static inline struct tmpfs_sb *TSB(struct superblock *sb) { return sb->priv; }

/* tmpfs_opts.c: mount options: show_options and reconfigure. */
extern const struct super_ops tmpfs_super_ops;
/* tmpfs_charge: the file data of sb grew (or shrank) by delta pages. */
void tmpfs_charge(struct superblock *sb, int64_t delta);
/* tmpfs_full: adding a page to sb would pass its size= limit. */
int tmpfs_full(struct superblock *sb, uint64_t adding);

extern const struct inode_ops tmpfs_inode_ops;
extern const struct file_ops tmpfs_reg_ops;
extern const struct file_ops tmpfs_dir_ops;

/* tmpfs_dir.c: the entry table. Callers hold rw as the comment says. */
struct tdir *tdir_new(uint64_t parent_ino);
void tdir_free(struct tdir *d);                 /* drops the entries' references */
struct dent *tdir_find(struct tdir *d, const char *name);            /* rw held */
int tdir_add(struct tdir *d, const char *name, struct inode *ino);   /* rw held for
                                                 * writing; takes a new reference */
void tdir_remove(struct tdir *d, struct dent *e);   /* rw write; drops the reference */
int tdir_iterate(struct inode *dir, struct file *f, struct dir_emit *e);

/* tmpfs_file.c: regular file data. */
int tmpfs_set_size(struct inode *ino, int64_t size);   /* data_rw not held; -EPERM
                                                        * when a seal forbids it */
int64_t tmpfs_seek_data(struct inode *ino, int64_t off, int hole);
/* tmpfs_mode_sealed: whether changing ino's mode to mode touches execute bits that
 * F_SEAL_EXEC froze. */
int tmpfs_mode_sealed(struct inode *ino, uint32_t mode);
int tmpfs_fill_page(struct inode *ino, uint64_t idx, void *dst);

/* tmpfs_xattr.c */
int tmpfs_getxattr(struct inode *ino, const char *name, void *buf, size_t size);
int tmpfs_setxattr(struct inode *ino, const char *name, const void *val, size_t size,
                   int flags);
int tmpfs_listxattr(struct inode *ino, char *buf, size_t size);
int tmpfs_removexattr(struct inode *ino, const char *name);
void tmpfs_xattrs_free(struct tnode *tn);

/* tmpfs_stat_file: file_ops->stat for every tmpfs file. */
int tmpfs_stat_file(struct file *f, struct stat *st);

#endif
