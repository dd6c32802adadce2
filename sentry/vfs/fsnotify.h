/* fsnotify: the hooks the VFS calls when something happens to a file, and the marks
 * (watches) that carry the events to their groups (inotify instances, sentry/fs/
 * inotify.c), after Linux's fs/notify. Event bits are Linux's IN_* values.
 *
 * Cost when nothing watches: each hook is an inline test of one global counter of
 * marks. With marks somewhere, a hook looks at one pointer of the inode (and, for
 * events also reported to a watching directory, of its parent's inode).
 *
 * Marks hold a reference on their inode, so a watched inode lives until its watch
 * goes: at inotify_rm_watch, after an IN_ONESHOT event, when the group closes, or
 * when the inode loses its last link and its last dentry (IN_DELETE_SELF, then
 * IN_IGNORED), which is when Linux sends them too: at unlink, or at the last close
 * of a file unlinked while open.
 *
 * Locks: fsnotify_conn.mu (one inode's marks) → fsnotify_group.mu (the group's
 * marks and whatever the group's event callback protects with it) → waitq.mu;
 * the list of all conns (for unmount) has its own innermost lock.
 * Hooks are called with at most dir_mu held and never under vfs_tree_mu. */
#ifndef SENTRY_VFS_FSNOTIFY_H
#define SENTRY_VFS_FSNOTIFY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/inotify.h>

struct dentry;
struct file;
struct inode;
struct fsnotify_group;
struct fsnotify_mark;

/* IN_MASK_CREATE is newer than some libc headers. */
#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

struct fsnotify_group_ops {
    /* event: queues (wd, mask, cookie, name) for g; name is NULL or the entry the
     * event is about. Called with g->mu held (and the inode's mark lock): take no
     * other lock but wait queues'. */
    void (*event)(struct fsnotify_group *g, int wd, uint32_t mask, uint32_t cookie,
                  const char *name);
};

/* A group: what one inotify file watches. The implementation embeds it. */
struct fsnotify_group {
    const struct fsnotify_group_ops *ops;  /* immutable */
    pthread_mutex_t mu;                    /* marks, next_wd; the event callback's */
    struct fsnotify_mark *marks;           /* mu */
    int next_wd;                           /* mu: watch descriptors count up from 1 */
    int nmarks;                            /* mu */
};

/* The most watches one group may hold (Linux's max_user_watches is per user and
 * larger; one sandbox rarely needs more). */
#define FSNOTIFY_MAX_MARKS 65536

/* fsnotify_group_init: an empty group with ops. */
void fsnotify_group_init(struct fsnotify_group *g, const struct fsnotify_group_ops *ops);
/* fsnotify_group_release: removes every mark of g, without events; then g may go. */
void fsnotify_group_release(struct fsnotify_group *g);
/* fsnotify_add_watch: watches ino for the IN_* events in mask for g (a reference on
 * ino is taken). An inode g already watches keeps its wd: the mask is replaced, or
 * with IN_MASK_ADD added to, and IN_MASK_CREATE makes that -EEXIST. IN_ONESHOT and
 * IN_EXCL_UNLINK are kept with the events. Returns the wd, or -ENOSPC (too many). */
int fsnotify_add_watch(struct fsnotify_group *g, struct inode *ino, uint32_t mask);
/* fsnotify_rm_watch: removes g's watch wd, which queues IN_IGNORED. -EINVAL if g
 * has no such watch. */
int fsnotify_rm_watch(struct fsnotify_group *g, int wd);

/* The hooks. Every one returns at once unless some mark exists. */
extern int g_fsnotify_marks;   /* marks alive (atomic) */
static inline int fsnotify_on(void)
{
    return __atomic_load_n(&g_fsnotify_marks, __ATOMIC_RELAXED) != 0;
}

void fsnotify_name_event(struct inode *dir, uint32_t mask, const char *name,
                         uint32_t cookie);
void fsnotify_inode_event(struct inode *ino, uint32_t mask);
void fsnotify_dentry_event(struct dentry *d, uint32_t mask, int path_event);
void fsnotify_file_event(struct file *f, uint32_t mask);
void fsnotify_move_event(struct inode *odir, const char *oname, struct inode *ndir,
                         const char *nname, struct inode *moved, struct inode *target);
void fsnotify_dentry_freed(struct dentry *d);
/* fsnotify_inode_free: the inode is being freed: its (empty) mark list goes. */
void fsnotify_inode_free(struct inode *ino);
/* fsnotify_unmount: the last mount of sb went: every watch on its inodes hears
 * IN_UNMOUNT, then IN_IGNORED, and goes. */
struct superblock;
void fsnotify_unmount(struct superblock *sb);

/* fsnotify_create: a name was made in dir (create, mkdir, mknod, symlink). */
static inline void fsnotify_create(struct inode *dir, const char *name, int isdir)
{
    if (fsnotify_on())
        fsnotify_name_event(dir, IN_CREATE | (isdir ? IN_ISDIR : 0), name, 0);
}
/* fsnotify_delete: name was removed from dir (unlink, rmdir). */
static inline void fsnotify_delete(struct inode *dir, const char *name, int isdir)
{
    if (fsnotify_on())
        fsnotify_name_event(dir, IN_DELETE | (isdir ? IN_ISDIR : 0), name, 0);
}
/* fsnotify_link_count: ino's link count changed (link, unlink): IN_ATTRIB on it. */
static inline void fsnotify_link_count(struct inode *ino)
{
    if (fsnotify_on())
        fsnotify_inode_event(ino, IN_ATTRIB);
}
/* fsnotify_link: link(2) made name in dir for target. */
static inline void fsnotify_link(struct inode *dir, const char *name, struct inode *target)
{
    if (fsnotify_on()) {
        fsnotify_inode_event(target, IN_ATTRIB);
        fsnotify_name_event(dir, IN_CREATE, name, 0);
    }
}
/* fsnotify_move: rename moved the inode moved from oname in odir to nname in ndir,
 * replacing target (NULL: none): MOVED_FROM and MOVED_TO with one cookie, IN_ATTRIB
 * on the replaced target, MOVE_SELF on the moved inode. */
static inline void fsnotify_move(struct inode *odir, const char *oname, struct inode *ndir,
                                 const char *nname, struct inode *moved,
                                 struct inode *target)
{
    if (fsnotify_on())
        fsnotify_move_event(odir, oname, ndir, nname, moved, target);
}
/* fsnotify_change: setattr changed what ia_valid (ATTR_*) says on d's inode. */
void fsnotify_change(struct dentry *d, unsigned ia_valid);
/* fsnotify_xattr: an extended attribute of d's inode was set or removed. */
static inline void fsnotify_xattr(struct dentry *d)
{
    if (fsnotify_on())
        fsnotify_dentry_event(d, IN_ATTRIB, 0);
}
/* fsnotify_open/access/modify/close: I/O on an open file (not O_PATH ones). */
static inline void fsnotify_open(struct file *f)
{
    if (fsnotify_on())
        fsnotify_file_event(f, IN_OPEN);
}
static inline void fsnotify_access(struct file *f)
{
    if (fsnotify_on())
        fsnotify_file_event(f, IN_ACCESS);
}
static inline void fsnotify_modify(struct file *f)
{
    if (fsnotify_on())
        fsnotify_file_event(f, IN_MODIFY);
}
/* fsnotify_close: the last reference of f went; writable says it was open for
 * writing (IN_CLOSE_WRITE, else IN_CLOSE_NOWRITE). */
static inline void fsnotify_close(struct file *f, int writable)
{
    if (fsnotify_on())
        fsnotify_file_event(f, writable ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
}
/* fsnotify_dentry_put: d is being freed: if that was its inode's last name, the
 * inode is gone for its watchers (IN_DELETE_SELF, IN_IGNORED). */
static inline void fsnotify_dentry_put(struct dentry *d)
{
    if (fsnotify_on())
        fsnotify_dentry_freed(d);
}

#endif
