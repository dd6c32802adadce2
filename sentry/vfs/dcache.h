/* The dentry cache's internal interface (dentry.c), used by the walk and the VFS
 * operations. All but dcache_drop and dcache_drop_sb need vfs_tree_mu held. */
#ifndef SENTRY_VFS_DCACHE_H
#define SENTRY_VFS_DCACHE_H

#include "sentry/vfs/vfs.h"

/* dcache_lookup: the cached child name of parent with a new reference, or NULL. */
struct dentry *dcache_lookup(struct dentry *parent, const char *name);
/* dcache_insert: caches d (under its parent and name). */
void dcache_insert(struct dentry *d);
/* dcache_unhash: see dentry.c. */
int dcache_unhash(struct dentry *d);
/* dcache_drop: uncaches d and marks it dead (unlinked). Takes vfs_tree_mu. */
void dcache_drop(struct dentry *d);
/* dcache_drop_sb: uncaches every dentry of sb (unmount). Takes vfs_tree_mu. */
void dcache_drop_sb(struct superblock *sb);
/* mnt_put: drops a mount reference. */
void mnt_put(struct mount *m);
/* mount_on: the mount stacked on (m, d), or NULL. */
struct mount *mount_on(struct mount *m, struct dentry *d);

/* vfs_lookup_locked: see namei.c (dir's dir_mu held by the caller). */
int vfs_lookup_locked(struct dentry *dir, const char *name, struct dentry **out);

/* vfs_walk_from: vfs_walk starting at from (when not NULL and path is relative)
 * instead of dirfd: for following a symlink's text from its directory. */
int vfs_walk_from(struct task *t, int dirfd, const struct path *from, const char *path,
                  unsigned flags, struct walk_result *out);

#endif
