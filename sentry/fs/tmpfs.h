/* tmpfs: the Sentry's in-memory filesystem. A regular file's data is its inode's page
 * cache (pages of the memory file); directories, symlink targets and extended
 * attributes live in Sentry memory. Used for /tmp, /dev/shm and as the writable upper
 * layer of the root overlay. */
#ifndef SENTRY_FS_TMPFS_H
#define SENTRY_FS_TMPFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct inode;
struct superblock;

#define TMPFS_MAGIC 0x01021994

/* tmpfs_new: a new, empty tmpfs whose root directory has root_mode (S_IFDIR | bits)
 * and the given owner; *root gets the root inode with one reference (the caller's,
 * usually moved into the mount). fstype is what /proc/mounts shows ("tmpfs").
 * The superblock is freed with its last inode. NULL with *err set on failure. */
struct superblock *tmpfs_new(const char *fstype, uint32_t root_mode, uint32_t uid,
                             uint32_t gid, struct inode **root, int *err);

/* tmpfs_mount: a tmpfs for mount(2) with the options in data (see tmpfs_opts.c;
 * NULL: none): the root is 01777 and belongs to uid/gid unless mode=/uid=/gid= say
 * otherwise; readonly (or "ro") makes it read-only. NULL with *err set (-EINVAL for
 * a bad option). */
struct superblock *tmpfs_mount(const char *data, int readonly, uint32_t uid, uint32_t gid,
                               struct inode **root, int *err);

/* tmpfs_read_host/tmpfs_write_host: read or write a regular tmpfs file's data from
 * Sentry memory at off (for tests, and for the Sentry's own use such as copy-up).
 * Same results as read(2)/pwrite(2): bytes moved, 0 at end of file, or -errno
 * (-ENOSPC when the memory file is full). Writes update size, blocks and times;
 * a write at TMPFS_APPEND goes to the end, as with O_APPEND. */
#define TMPFS_APPEND ((int64_t)-1)
ssize_t tmpfs_read_host(struct inode *ino, void *buf, size_t n, int64_t off);
ssize_t tmpfs_write_host(struct inode *ino, const void *buf, size_t n, int64_t off);

/* tmpfs_is: whether ino belongs to a tmpfs. */
int tmpfs_is(const struct inode *ino);

/* tmpfs_new_unnamed: a regular file of sb that no directory holds (memfd_create):
 * nlink 0, mode S_IFREG | (mode & 07777), the given owner; the caller's reference.
 * NULL on allocation failure. Its data goes with its last reference. */
struct inode *tmpfs_new_unnamed(struct superblock *sb, uint32_t mode, uint32_t uid,
                                uint32_t gid);
/* tmpfs_init_seals: the seals (F_SEAL_*) of a file just made: every tmpfs file starts
 * with F_SEAL_SEAL (no sealing), memfd_create's MFD_ALLOW_SEALING clears it. */
void tmpfs_init_seals(struct inode *ino, unsigned seals);

#endif
