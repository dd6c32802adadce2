/* goferfs: the filesystem of host files the Gofer serves (gofer/). Metadata goes
 * through Gofer requests; file data moves directly between guest pages and the host
 * fd the Gofer hands over on open. */
#ifndef SENTRY_FS_GOFERFS_H
#define SENTRY_FS_GOFERFS_H

#include "sentry/vfs/vfs.h"

struct file;

/* goferfs_new: a superblock for the Gofer on sock (the Sentry's end of the socket,
 * owned by the superblock on success, still the caller's on failure). Attaches and
 * returns the tree's root in *root (one reference). readonly: the mount is SB_RDONLY
 * (the Gofer should have been started read-only too). NULL with *err = -errno on
 * failure. */
struct superblock *goferfs_new(int sock, int readonly, struct inode **root, int *err);

/* goferfs_file_host_fd: the host fd behind an open goferfs regular file, or -1
 * (for tests and diagnostics; the file keeps ownership). */
int goferfs_file_host_fd(struct file *f);

#endif
