/* Opening the nodes whose behaviour does not come from the filesystem that holds
 * them: FIFOs (pipe.c) and character devices (devices.c). vfs_open calls these for
 * S_ISFIFO and S_ISCHR inodes on any filesystem (tmpfs, devfs, the Gofer's tree). */
#ifndef SENTRY_FS_SPECIAL_H
#define SENTRY_FS_SPECIAL_H

#include <stdint.h>

struct file;
struct inode;
struct task;

/* fifo_open: sets up f (inode and path set) as an end of ino's pipe with open(2)'s
 * FIFO rules: O_RDONLY waits for a writer and O_WRONLY for a reader unless
 * O_NONBLOCK (then O_WRONLY without a reader is -ENXIO); O_RDWR never waits. */
int fifo_open(struct task *t, struct inode *ino, struct file *f, int flags);

/* chrdev_open: sets up f as the character device rdev (null, zero, full, random,
 * urandom, tty, ptmx, pts/N). -ENXIO for devices the sandbox does not have. */
int chrdev_open(struct task *t, uint64_t rdev, struct file *f, int flags);

#endif
