/* The filesystem types the guest can mount with mount(2) (sentry/syscalls/mount.c):
 * tmpfs, proc and sysfs, each a new Sentry superblock. Nothing here touches the
 * host. Also the option-string parser they share. */
#ifndef SENTRY_FS_FSTYPES_H
#define SENTRY_FS_FSTYPES_H

#include <stdint.h>

struct inode;
struct superblock;

/* fs_type_mount: a new superblock of type for mount(2): data is the option string
 * (NULL: none), readonly mount(2)'s MS_RDONLY, uid/gid the caller's (tmpfs's root
 * belongs to them). *root gets the root inode (a reference, for vfs_mount_at).
 * -ENODEV for a type the sandbox does not have, -EINVAL for a bad option. */
int fs_type_mount(const char *type, const char *data, int readonly, uint32_t uid,
                  uint32_t gid, struct superblock **sb, struct inode **root);

/* fs_opt_fn: one filesystem option, "key" or "key=val" (val NULL without '=').
 * 0, or -EINVAL for an option the filesystem does not take. */
typedef int (*fs_opt_fn)(const char *key, const char *val, void *arg);

/* fs_parse_options: splits data (NULL or "": none) at commas and hands each option
 * to fn (NULL: the filesystem takes none), after the ones every filesystem knows as
 * Linux's vfs_parse_sb_flag does: "ro" and "rw" set *ro (1 or 0; left alone
 * otherwise), "sync", "async", "dirsync", "lazytime", "nolazytime", "mand",
 * "nomand", "silent" and "source=" are accepted. 0 or the first error. */
int fs_parse_options(const char *data, int *ro, fs_opt_fn fn, void *arg);

/* fs_parse_size: a number with an optional k/m/g/t/p/e suffix (Linux's memparse)
 * that must end the string. 0 or -EINVAL. */
int fs_parse_size(const char *s, uint64_t *out, const char **rest);

#endif
