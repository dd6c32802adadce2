/* inotify files (inotify(7)): a group of watches (sentry/vfs/fsnotify.c) and the
 * queue of struct inotify_event records read(2) returns, with Linux's rules:
 * names padded with NULs to a multiple of 16 bytes, EINVAL when the buffer cannot
 * hold the next event, an identical event right after the last queued one dropped,
 * at most 16384 events and then one IN_Q_OVERFLOW, FIONREAD, and POLLIN while
 * something is queued. */
#ifndef SENTRY_FS_INOTIFY_H
#define SENTRY_FS_INOTIFY_H

#include <stdint.h>

struct file;
struct inode;

/* Linux's default /proc/sys/fs/inotify/max_queued_events. */
#define INOTIFY_MAX_QUEUED 16384

/* inotify_create: a new inotify file (one reference). flags: IN_NONBLOCK (IN_CLOEXEC
 * is the fd table's); anything else -EINVAL. */
int inotify_create(int flags, struct file **out);
/* is_inotify_file: f is an inotify file. */
int is_inotify_file(const struct file *f);
/* inotify_watch/inotify_unwatch: inotify_add_watch and inotify_rm_watch on f (an
 * inotify file); see fsnotify_add_watch/fsnotify_rm_watch. */
int inotify_watch(struct file *f, struct inode *ino, uint32_t mask);
int inotify_unwatch(struct file *f, int wd);

#endif
