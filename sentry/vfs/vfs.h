/* The VFS: superblocks, inodes, dentries, mounts and paths, and the operations the
 * system calls use on them. Filesystems (sentry/fs/) implement struct inode_ops and
 * the file_ops of their open files; everything path-shaped happens here.
 *
 * Object lifetimes (all counts atomic):
 *  - an inode lives while a dentry, an open file or a filesystem holds a reference;
 *  - a dentry holds its inode and its parent; a cached dentry is also held by the
 *    dentry cache until it is unlinked, renamed over, or its filesystem is unmounted;
 *  - a mount holds its root dentry and its mountpoint; a path holds a mount and a
 *    dentry.
 *
 * Locks: vfs_tree_mu (the dentry cache, dentry names and parents, the mount table) is
 * taken only briefly and never across a filesystem call. inode->dir_mu serializes
 * changes to one directory's entries (create, unlink, rename); inode->mu protects the
 * attribute fields. Order: dir_mu (parent before child; two unrelated directories in
 * address order, under vfs_rename_mu) → inode->mu → vfs_tree_mu. */
#ifndef SENTRY_VFS_VFS_H
#define SENTRY_VFS_VFS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

struct task;
struct file;
struct inode;
struct dentry;
struct mount;
struct pagecache;
struct creds;
struct path;
struct fsnotify_conn;
struct lock_ctx;

/* ---- superblocks ---- */

enum {
    SB_NOCACHE  = 1 << 0,   /* dentries are not cached: every walk asks lookup()
                             * (procfs, whose entries come and go with processes) */
    SB_RDONLY   = 1 << 1,   /* the filesystem itself cannot be written */
    SB_FREE_WITH_INODES = 1 << 2,   /* the VFS counts the inodes and frees the
                                     * superblock (a calloc'd one) with the last:
                                     * procfs and sysfs, which a guest can mount */
};

struct superblock;

/* What a filesystem the guest can mount offers beyond its inodes. Both optional. */
struct super_ops {
    /* show_options: the filesystem's own options as /proc/mounts ends a line
     * (",size=1024k,mode=755"), NUL-terminated into buf (truncated to size). */
    void (*show_options)(struct superblock *sb, char *buf, size_t size);
    /* reconfigure: applies the option string of a remount (mount(2)'s data; NULL or
     * "" for none). -EINVAL for options the filesystem does not know. */
    int (*reconfigure)(struct superblock *sb, const char *data);
};

struct superblock {
    const char *fstype;        /* "tmpfs", "proc", "9p" ... as /proc/mounts shows it */
    uint64_t dev;              /* st_dev of every inode */
    unsigned flags;            /* SB_*; SB_RDONLY changes on remount under vfs_tree_mu,
                                * read without it */
    uint64_t next_ino;         /* for filesystems that number their own inodes (atomic) */
    const struct super_ops *ops;   /* NULL: no options */
    uint64_t inodes;           /* SB_FREE_WITH_INODES: inodes alive (atomic) */
    int mounts;                /* mounts of this superblock alive (atomic); the last
                                * one to go drops its cached dentries */
    void *priv;                /* the filesystem's */
};

/* vfs_new_dev: a fresh anonymous device number (major 0, as Linux gives tmpfs). */
uint64_t vfs_new_dev(void);
/* sb_next_ino: a fresh inode number of sb. */
uint64_t sb_next_ino(struct superblock *sb);

/* ---- inodes ---- */

/* What create() makes: a regular file, directory, symlink, FIFO, socket or device. */
struct new_node {
    uint32_t mode;             /* S_IFMT type | permission bits (umask applied) */
    uint32_t uid, gid;
    uint64_t rdev;             /* devices */
    const char *target;        /* symlinks */
};

/* Attribute changes (setattr); valid says which fields. */
enum {
    ATTR_MODE = 1 << 0, ATTR_UID = 1 << 1, ATTR_GID = 1 << 2, ATTR_SIZE = 1 << 3,
    ATTR_ATIME = 1 << 4, ATTR_MTIME = 1 << 5, ATTR_CTIME = 1 << 6,
};
struct iattr {
    unsigned valid;
    uint32_t mode;             /* permission bits only */
    uint32_t uid, gid;
    int64_t size;
    struct timespec atime, mtime, ctime;
};

/* A directory entry as getdents reports it. */
struct dir_emit {
    /* emit: offers one entry; next_pos is the directory position after it. Returns 0
     * if the entry was taken (the filesystem then sets f->pos = next_pos), nonzero if
     * there is no room (stop; the entry is offered again next time). */
    int (*emit)(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                unsigned type /* DT_* */, int64_t next_pos);
};

struct inode_ops {
    /* lookup: the child called name (never "." or ".."), with a new reference, or
     * -ENOENT. dir is a directory. */
    int (*lookup)(struct inode *dir, const char *name, struct inode **out);
    /* create: makes a new node called name in dir (the VFS checked it does not exist
     * and that the caller may write dir). Returns it with a new reference. */
    int (*create)(struct inode *dir, const char *name, const struct new_node *nn,
                  struct inode **out);
    /* link: a new name in dir for target (not a directory). */
    int (*link)(struct inode *dir, const char *name, struct inode *target);
    /* tmpfile: O_TMPFILE: a new regular file (nn->mode, owner) in dir's filesystem
     * that no directory holds (nlink 0); link may name it later if linkable. Returns
     * it with a new reference. Optional: -EOPNOTSUPP. */
    int (*tmpfile)(struct inode *dir, const struct new_node *nn, int linkable,
                   struct inode **out);
    /* unlink/rmdir: removes name (whose inode is victim) from dir. rmdir fails with
     * -ENOTEMPTY unless victim is empty. */
    int (*unlink)(struct inode *dir, const char *name, struct inode *victim);
    int (*rmdir)(struct inode *dir, const char *name, struct inode *victim);
    /* rename: moves oname in odir to nname in ndir (same superblock), replacing what is
     * there unless RENAME_NOREPLACE; RENAME_EXCHANGE swaps. The VFS has checked types
     * (dir over non-dir and so on); the filesystem checks emptiness of a replaced dir. */
    int (*rename)(struct inode *odir, const char *oname, struct inode *ndir,
                  const char *nname, unsigned flags);
    /* readlink: the target of a symlink into buf (not NUL-terminated); its length. */
    int (*readlink)(struct inode *ino, char *buf, size_t size);
    /* get_link: procfs's magic links (/proc/PID/exe, fd/N, cwd, root) resolve to a
     * path directly, not through text. Optional; takes precedence over readlink when
     * walking. */
    int (*get_link)(struct inode *ino, struct task *t, struct path *out);
    /* getattr: refreshes the attribute fields of ino before a stat. Optional. */
    int (*getattr)(struct inode *ino);
    /* setattr: applies ia (checked by the VFS) and updates the fields. */
    int (*setattr)(struct inode *ino, const struct iattr *ia);
    /* open: prepares f (f->inode and f->path are set) for I/O: sets f->ops, f->priv,
     * f->seekable. flags are the open flags. */
    int (*open)(struct inode *ino, struct file *f, int flags);
    /* statfs: the filesystem's numbers. Optional (zeroes with the fs magic). */
    int (*statfs)(struct inode *ino, struct statfs *out);
    /* Extended attributes (tmpfs keeps them in memory). Optional: -EOPNOTSUPP. */
    int (*getxattr)(struct inode *ino, const char *name, void *buf, size_t size);
    int (*setxattr)(struct inode *ino, const char *name, const void *val, size_t size,
                    int flags);
    int (*listxattr)(struct inode *ino, char *buf, size_t size);
    int (*removexattr)(struct inode *ino, const char *name);
    /* fill_page: reads page idx of the file into dst (a page; zero beyond the end) for
     * the page cache. Filesystems whose data lives elsewhere (goferfs) set it. */
    int (*fill_page)(struct inode *ino, uint64_t idx, void *dst);
    /* write_page: writes len bytes of a dirty cached page back (shared mappings,
     * msync). Optional. */
    int (*write_page)(struct inode *ino, uint64_t idx, const void *src, size_t len);
    /* evict: the last reference is gone: free priv. */
    void (*evict)(struct inode *ino);
};

struct inode {
    int refs;                      /* atomic */
    struct superblock *sb;         /* immutable */
    const struct inode_ops *ops;   /* immutable */
    uint64_t ino;                  /* immutable */
    pthread_mutex_t mu;            /* the attributes below */
    uint32_t mode;                 /* S_IFMT (immutable) | permission bits */
    uint32_t uid, gid;
    uint32_t nlink;
    int64_t size;
    uint64_t blocks;               /* 512-byte units */
    uint64_t rdev;
    struct timespec atime, mtime, ctime;
    pthread_mutex_t dir_mu;        /* serializes changes to this directory */
    struct pagecache *cache;       /* file pages (tmpfs data, mmap of other files);
                                    * created by inode_cache(), freed at evict */
    void *fifo;                    /* a FIFO's pipe (sentry/fs/pipe.c); set once, mu */
    struct fsnotify_conn *fsnotify;   /* its watches (vfs/fsnotify.c); set once */
    struct lock_ctx *locks;        /* file locks (vfs/lock.c); set once under its
                                    * mutex, freed at the last put */
    int mmap_writable;             /* atomic: shared mappings that may write, or < 0
                                    * when F_SEAL_WRITE denies them (Linux's
                                    * i_mmap_writable; sentry/vfs/mmap.c) */
    void *priv;                    /* the filesystem's */
};

/* inode_new: an inode with one reference, attribute lock and times set to now. NULL
 * on allocation failure. */
struct inode *inode_new(struct superblock *sb, const struct inode_ops *ops, uint64_t ino,
                        uint32_t mode);
void inode_get(struct inode *ino);
void inode_put(struct inode *ino);
/* inode_cache: ino's page cache, created on first use (NULL: out of memory). */
struct pagecache *inode_cache(struct inode *ino);
/* inode_stat: fills st from ino (after getattr). 0 or -errno. */
int inode_stat(struct inode *ino, struct stat *st);
/* inode_touch: sets the times named by ATTR_ATIME/MTIME/CTIME to now (inode->mu not
 * held by the caller). */
void inode_touch(struct inode *ino, unsigned which);
/* inode_setattr_copy: applies ia's mode, owner and times to ino (ctime: ia's, or now),
 * as Linux's setattr_copy; for filesystems whose attributes live in the inode.
 * inode->mu not held by the caller. */
void inode_setattr_copy(struct inode *ino, const struct iattr *ia);

static inline int inode_is_dir(const struct inode *i) { return S_ISDIR(i->mode); }
static inline int inode_is_lnk(const struct inode *i) { return S_ISLNK(i->mode); }

/* ---- dentries and mounts ---- */

struct dentry {
    int refs;                      /* atomic */
    struct inode *inode;           /* immutable, never NULL (no negative dentries) */
    struct dentry *parent;         /* vfs_tree_mu; NULL for a filesystem's root */
    char *name;                    /* vfs_tree_mu */
    struct dentry *hash_next;      /* vfs_tree_mu: the cache's chain */
    int cached;                    /* vfs_tree_mu: in the cache */
    int mounted;                   /* vfs_tree_mu: mounts on this dentry */
    int dead;                      /* vfs_tree_mu: unlinked or replaced */
};

/* d_alloc: a dentry for inode (the reference moves in) under parent (a reference is
 * taken), not cached. NULL on allocation failure. */
struct dentry *d_alloc(struct dentry *parent, const char *name, struct inode *inode);
void d_get(struct dentry *d);
void d_put(struct dentry *d);

/* Per-mount flags. The first group is what mount(2) sets (and a remount replaces);
 * MNT_UNBINDABLE is the propagation type MS_UNBINDABLE records (shared, slave and
 * private are accepted and mean nothing in a sandbox of one mount namespace). */
enum {
    MNT_RDONLY = 1 << 0, MNT_NOSUID = 1 << 1, MNT_NODEV = 1 << 2, MNT_NOEXEC = 1 << 3,
    MNT_NOATIME = 1 << 4, MNT_NODIRATIME = 1 << 5, MNT_RELATIME = 1 << 6,
    MNT_NOSYMFOLLOW = 1 << 7,
    MNT_USER_SETTABLE = (1 << 8) - 1,
    MNT_UNBINDABLE = 1 << 8,
};

struct mount {
    int refs;                      /* atomic: the table's, each path's, each child's */
    int id;                        /* immutable: mountinfo's id */
    struct superblock *sb;         /* immutable */
    struct dentry *root;           /* immutable: what is mounted */
    struct mount *parent;          /* vfs_tree_mu; NULL for the root mount and for a
                                    * detached one */
    struct dentry *mountpoint;     /* vfs_tree_mu: in parent */
    unsigned flags;                /* MNT_*; written under vfs_tree_mu, checks read it
                                    * without (a racing remount is seen before or after) */
    char *source;                  /* immutable: "none", "proc", a host path ... */
    struct mount *next;            /* vfs_tree_mu: the mount table */
    int attached;                  /* vfs_tree_mu: in the table (not unmounted) */
    int writers;                   /* vfs_tree_mu: files open for writing through it */
    int expiry_mark;               /* umount2 MNT_EXPIRE; any use clears it (atomic) */
    int marked;                    /* vfs_tree_mu: scratch for tree operations */
};

struct path { struct mount *mnt; struct dentry *d; };

void path_get(const struct path *p);
void path_put(struct path *p);
static inline int path_equal(const struct path *a, const struct path *b)
{
    return a->mnt == b->mnt && a->d == b->d;
}

extern pthread_mutex_t vfs_tree_mu;
extern pthread_mutex_t vfs_rename_mu;

/* vfs_mount_root: makes root (a filesystem's root inode, reference moved in) the root
 * of the mount tree. Called once at boot. 0 or -errno. */
int vfs_mount_root(struct superblock *sb, struct inode *root, const char *source);
/* vfs_root: the root of the mount tree (a new reference). */
void vfs_root(struct path *out);
/* vfs_mount_at: mounts sb's root inode (reference moved in) on the directory at p.
 * -ENOTDIR if p is not a directory, -ENOENT if it was removed, -EINVAL if p's mount
 * is detached. */
int vfs_mount_at(const struct path *p, struct superblock *sb, struct inode *root,
                 unsigned flags, const char *source, struct mount **out);
/* vfs_bind_at: mounts the tree at src on p (both directories or both not), with
 * src's mount flags; recursive also copies the mounts below src (MS_BIND|MS_REC),
 * leaving out unbindable ones. -EINVAL if src's mount is unbindable or either mount
 * is detached, -ENOTDIR on a type mismatch, -ENOSPC past VFS_MOUNT_MAX mounts. */
int vfs_bind_at(const struct path *p, const struct path *src, int recursive);

/* umount flags (umount2's MNT_DETACH and MNT_EXPIRE). */
enum { VFS_UMOUNT_DETACH = 1 << 0, VFS_UMOUNT_EXPIRE = 1 << 1 };
/* vfs_umount: unmounts the mount whose root p is, and releases p. -EINVAL if p is not
 * a mount's root or that mount is already detached; -EBUSY if it is in use (an open
 * file, a cwd, a mount below it) unless VFS_UMOUNT_DETACH, which detaches it and
 * every mount below it now and frees each when its last user goes; with
 * VFS_UMOUNT_EXPIRE the first call on an unused mount only marks it (-EAGAIN). The
 * root of the tree cannot be unmounted (-EBUSY). */
int vfs_umount(struct path *p, unsigned flags);
/* vfs_remount: MS_REMOUNT: data (may be NULL) goes to the filesystem's reconfigure,
 * sb_rdonly sets or clears SB_RDONLY, and mnt_flags (MNT_USER_SETTABLE bits) replace
 * the mount's. -EINVAL if p is not a mount's root, -EBUSY when making read-only what
 * has files open for writing. */
int vfs_remount(const struct path *p, int sb_rdonly, unsigned mnt_flags,
                const char *data);
/* vfs_reconfigure_mount: MS_REMOUNT|MS_BIND: replaces only the mount's flags. */
int vfs_reconfigure_mount(const struct path *p, unsigned mnt_flags);
/* vfs_set_unbindable: MS_UNBINDABLE (unbindable) or MS_SHARED/SLAVE/PRIVATE (not) on
 * the mount whose root p is, and on the mounts below it when recursive. */
int vfs_set_unbindable(const struct path *p, int unbindable, int recursive);
/* vfs_move_mount: MS_MOVE: the mount whose root from is, with the mounts below it,
 * moves onto to. -EINVAL as Linux (not a mount root, the tree's root, a type
 * mismatch), -ELOOP if to is inside what moves. */
int vfs_move_mount(const struct path *from, const struct path *to);
/* mnt_want_write/mnt_drop_write: a file open for writing through m counts as a
 * writer (-EROFS if m or its filesystem is read-only), so remounting it read-only
 * fails with -EBUSY while the file is open. */
int mnt_want_write(struct mount *m);
void mnt_drop_write(struct mount *m);
/* vfs_mount_internal: a mount of sb's root inode (reference moved in) that is in no
 * mount tree (Linux's kern_mount): for files the Sentry makes with no place in the
 * guest's tree (memfds), whose paths then print from that root. *out is the
 * caller's reference. */
int vfs_mount_internal(struct superblock *sb, struct inode *root, const char *source,
                       struct mount **out);
/* vfs_for_each_mount: calls fn for each attached mount in mount order (parents
 * first), vfs_tree_mu held (fn must not call back into the VFS). */
void vfs_for_each_mount(void (*fn)(struct mount *m, void *arg), void *arg);
/* The most mounts the table holds (Linux's fs.mount-max default). */
#define VFS_MOUNT_MAX 100000

/* ---- per-process filesystem context (CLONE_FS shares it) ---- */

struct fs_context {
    int refs;                      /* atomic */
    pthread_mutex_t mu;            /* root and cwd */
    struct path root, cwd;
};

struct fs_context *fs_context_new(const struct path *root, const struct path *cwd);
struct fs_context *fs_context_copy(struct fs_context *fs);
void fs_context_put(struct fs_context *fs);
/* fs_get_root/fs_get_cwd: a new reference to t's root or working directory. */
void fs_get_root(struct task *t, struct path *out);
void fs_get_cwd(struct task *t, struct path *out);

/* ---- path walk ---- */

enum {
    WALK_FOLLOW       = 1 << 0,   /* follow a symlink in the last component */
    WALK_DIRECTORY    = 1 << 1,   /* the result must be a directory */
    WALK_EMPTY_PATH   = 1 << 2,   /* "" names dirfd itself (AT_EMPTY_PATH) */
    WALK_PARENT       = 1 << 3,   /* stop at the last component's parent */
    WALK_NO_XDEV      = 1 << 4,   /* openat2 RESOLVE_NO_XDEV */
    WALK_NO_MAGICLINKS = 1 << 5,  /* RESOLVE_NO_MAGICLINKS */
    WALK_NO_SYMLINKS  = 1 << 6,   /* RESOLVE_NO_SYMLINKS */
    WALK_BENEATH      = 1 << 7,   /* RESOLVE_BENEATH */
    WALK_IN_ROOT      = 1 << 8,   /* RESOLVE_IN_ROOT */
};

/* The last component's kind when WALK_PARENT stops short of it. */
enum { LAST_NORM, LAST_ROOT, LAST_DOT, LAST_DOTDOT };

struct walk_result {
    struct path path;              /* the result, or the parent with WALK_PARENT */
    char last[256];                /* WALK_PARENT: the final component */
    int last_type;                 /* WALK_PARENT: LAST_* */
    int trailing_slash;            /* the path ended in '/' */
};

#define AT_FDCWD_GUEST (-100)
#define SYMLOOP_MAX 40

/* vfs_walk: resolves path (a Sentry string) from dirfd (AT_FDCWD_GUEST: the cwd) for
 * t. On success out->path holds references. Errors as Linux: -ENOENT, -ENOTDIR,
 * -ELOOP, -ENAMETOOLONG, -EACCES (search permission), -EBADF, -EXDEV (RESOLVE_*). */
int vfs_walk(struct task *t, int dirfd, const char *path, unsigned flags,
             struct walk_result *out);
/* vfs_lookup_child: the child name of the directory at dir (cache, then the
 * filesystem), crossing mounts on it. "." and ".." are not handled here. */
int vfs_lookup_child(const struct path *dir, const char *name, struct path *out);
/* vfs_path_is_under: p is root or below it (across mounts): /proc/PID/mounts shows
 * only the mounts a process can reach from its root. */
int vfs_path_is_under(const struct path *p, const struct path *root);
/* vfs_path_string: the path of p as seen from root ("/..." or, when p is not under
 * root, as Linux: the path from the mount tree's root). Returns the length or
 * -ENAMETOOLONG; a deleted file gets " (deleted)". */
int vfs_path_string(const struct path *p, const struct path *root, char *buf, size_t size);

/* ---- permission ---- */

enum { MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4 };
/* vfs_permission: whether creds may access ino as asked: the mode bits for its fsuid,
 * fsgid and supplementary groups, then CAP_DAC_OVERRIDE (read/write always, exec if
 * any x bit is set) and CAP_DAC_READ_SEARCH (read, directory search) from its
 * effective set, as Linux's generic_permission. 0 or -EACCES. */
int vfs_permission(const struct creds *c, struct inode *ino, int may);

/* ---- operations for the system calls (sentry/vfs/ops.c) ---- */

/* vfs_open: openat2 semantics: walks, creates with O_CREAT (mode & ~umask), checks
 * permission and type, truncates with O_TRUNC, and returns the open file. */
int vfs_open(struct task *t, int dirfd, const char *path, int flags, uint32_t mode,
             unsigned walk_flags, struct file **out);
/* vfs_open_path: opens the object at p (for execve and procfs): no create, no walk. */
int vfs_open_path(struct task *t, const struct path *p, int flags, struct file **out);
int vfs_mknod(struct task *t, int dirfd, const char *path, uint32_t mode, uint64_t dev);
/* vfs_mknod_path: mknod of a node whose type needs no checks (S_IFSOCK for a unix
 * socket's bind, S_IFIFO), returning its path in *out (references). -EEXIST if the
 * name exists. */
int vfs_mknod_path(struct task *t, int dirfd, const char *path, uint32_t mode,
                   struct path *out);
int vfs_mkdir(struct task *t, int dirfd, const char *path, uint32_t mode);
int vfs_symlink(struct task *t, const char *target, int dirfd, const char *path);
int vfs_link(struct task *t, int odirfd, const char *opath, int ndirfd, const char *npath,
             int at_flags);
/* vfs_unlink: unlinkat: AT_REMOVEDIR in at_flags makes it rmdir. */
int vfs_unlink(struct task *t, int dirfd, const char *path, int at_flags);
int vfs_rename(struct task *t, int odirfd, const char *opath, int ndirfd,
               const char *npath, unsigned flags);
/* vfs_readlink: the target of the symlink at path into buf; its length. */
int vfs_readlink(struct task *t, int dirfd, const char *path, char *buf, size_t size);
/* vfs_setattr: applies ia to the inode at p, with Linux's permission rules for t. */
int vfs_setattr(struct task *t, const struct path *p, struct iattr *ia);
/* vfs_truncate_file: ftruncate semantics on an open file. */
int vfs_truncate_file(struct task *t, struct file *f, int64_t size);

#endif
