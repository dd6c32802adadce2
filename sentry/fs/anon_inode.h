/* The one inode that every anonymous file shares (eventfd, and later epoll, signalfd,
 * timerfd), as Linux's anon_inodefs gives them: fstat shows mode 0600 with no type
 * bits and the same st_dev/st_ino for all of them. */
#ifndef SENTRY_FS_ANON_INODE_H
#define SENTRY_FS_ANON_INODE_H

struct inode;

/* anon_inode_get: a new reference to the shared anonymous inode, or NULL. */
struct inode *anon_inode_get(void);

#endif
