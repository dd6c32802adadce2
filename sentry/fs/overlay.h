/* The root overlay: a read-only lower tree (the Gofer's) under a writable upper
 * tmpfs, merged as Linux overlayfs merges them (one lower layer, no redirect_dir, no
 * index). See overlay_priv.h for the on-upper format and the design choices. */
#ifndef SENTRY_FS_OVERLAY_H
#define SENTRY_FS_OVERLAY_H

#include <stdint.h>

struct inode;
struct superblock;

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* overlay_new: an overlay of lower_root (any filesystem; never written) under
 * upper_root (a tmpfs directory). Takes its own references on both roots. *root
 * gets the overlay's root inode with one reference (the caller's, usually moved into
 * the mount). The superblock is freed with its last inode. NULL with *err set. */
struct superblock *overlay_new(struct inode *upper_root, struct inode *lower_root,
                               struct inode **root, int *err);

/* overlay_real: the inode that holds ino's data now: the upper one if ino was
 * copied up (or never had a lower), else the lower one. No reference taken; valid
 * while ino is. For tests and debugging. */
struct inode *overlay_real(struct inode *ino);

/* overlay_copy_up: copies ino (and its parent chain) up to the upper layer if it is
 * not there yet. 0 or -errno. The VFS need not call it: the overlay's operations do,
 * when they must. */
int overlay_copy_up(struct inode *ino);

#endif
