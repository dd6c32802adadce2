/* Readiness of host fds (gVisor's fdnotifier): the guest's stdio files are host fds,
 * and only the host knows when they become readable or writable. One Sentry thread
 * waits in a host epoll (edge-triggered) on the registered fds and wakes each fd's
 * wait queue when the host reports a change; the instant check is a host poll with a
 * zero timeout.
 *
 * Host calls: epoll_create1 (once), epoll_ctl (ADD at registration, MOD when first
 * armed, DEL at removal), epoll_wait (the notifier thread), poll (instant checks).
 *
 * Locks: the registry lock is held while the thread wakes a queue, so it comes before
 * waitq.mu; host_notify_remove takes it, after which the queue is never touched. */
#ifndef SENTRY_FS_HOST_NOTIFY_H
#define SENTRY_FS_HOST_NOTIFY_H

struct waitq;

/* host_notify_add: registers host fd, whose changes will wake q once armed. 0; -EPERM
 * when the host cannot wait for fd (regular files, directories, /dev/null: always
 * ready, and epoll refuses them in the guest too); other -errno. */
int host_notify_add(int fd, struct waitq *q);

/* host_notify_arm: from now on reports fd's readiness changes (in, out, pri, rdhup,
 * err, hup) to its queue; the first call per fd makes one host epoll_ctl. Cheap after
 * that. Until someone waits, fds stay unarmed so busy output costs no wake-ups. */
void host_notify_arm(int fd);

/* host_notify_remove: unregisters fd (before it is closed). */
void host_notify_remove(int fd);

/* host_poll_now: the POLL* events host fd is ready for now (POLLNVAL if the host
 * says so). */
unsigned host_poll_now(int fd);

#endif
