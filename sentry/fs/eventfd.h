/* eventfd: a 64-bit counter file (eventfd(2)). Reads take the counter (or 1 in
 * semaphore mode) and block while it is 0; writes add and block while the sum would
 * reach 0xffffffffffffffff. Its wait queue and eventfd_poll are for poll/epoll. */
#ifndef SENTRY_FS_EVENTFD_H
#define SENTRY_FS_EVENTFD_H

#include <stdint.h>

struct file;
struct waitq;

/* eventfd_create: a new eventfd file with one reference, counter initval. flags:
 * EFD_NONBLOCK, EFD_SEMAPHORE (EFD_CLOEXEC is the fd table's). 0, -EINVAL for other
 * flags, -ENOMEM. */
int eventfd_create(uint64_t initval, int flags, struct file **out);

/* is_eventfd_file: true if f is an eventfd. */
int is_eventfd_file(const struct file *f);

/* eventfd_poll: POLLIN when the counter is above 0, POLLOUT when a write of 1 would
 * not block, POLLERR on overflow (as Linux's eventfd_poll). */
unsigned eventfd_poll(struct file *f);

/* eventfd_waitq: where f reports POLLIN/POLLOUT changes. */
struct waitq *eventfd_waitq(struct file *f);

#endif
