/* pidfds: files that refer to a process (pidfd_open(2), clone's CLONE_PIDFD). One
 * holds a process handle (sentry/kernel/pidref.h), so it keeps naming the same
 * process after its number is reused. poll reports POLLIN once the process has exited
 * (and POLLHUP once it is reaped), as Linux's pidfd_poll; read and write are EINVAL. */
#ifndef SENTRY_FS_PIDFD_H
#define SENTRY_FS_PIDFD_H

struct file;
struct pidref;

/* pidfd_create: a pidfd for r, opened O_RDWR plus flags & O_NONBLOCK. On success the
 * caller's reference on r moves into the file. 0 or -ENOMEM. */
int pidfd_create(struct pidref *r, unsigned flags, struct file **out);

/* pidfd_pidref: the process handle of pidfd f (borrowed: valid while f is), or NULL
 * if f is not a pidfd. */
struct pidref *pidfd_pidref(struct file *f);

/* pidfd_pid: what /proc/PID/fdinfo shows as "Pid:": the process id, or -1 once the
 * process has been reaped. f must be a pidfd. */
int pidfd_pid(struct file *f);

#endif
