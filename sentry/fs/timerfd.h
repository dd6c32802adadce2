/* timerfd: a timer read through a file (timerfd_create(2)). A read returns the number
 * of expirations since the last read or setting as 8 bytes, blocking while there are
 * none; poll reports POLLIN when there are. */
#ifndef SENTRY_FS_TIMERFD_H
#define SENTRY_FS_TIMERFD_H

#include <stdint.h>

struct file;

/* timerfd_new: a new disarmed timerfd on clockid (CLOCK_REALTIME, CLOCK_MONOTONIC,
 * CLOCK_BOOTTIME), one reference. flags: TFD_NONBLOCK (TFD_CLOEXEC is the fd
 * table's). 0, -EINVAL (clock or flags), -ENOMEM. */
int timerfd_new(int clockid, int flags, struct file **out);

/* is_timerfd_file: true if f is a timerfd. */
int is_timerfd_file(const struct file *f);

/* timerfd_set: timerfd_settime on timerfd f: expire after value ns (at value on its
 * clock if abs; 0 disarms), then every interval ns; the expiration count restarts at
 * 0. The previous setting in *old_value, *old_interval. */
void timerfd_set(struct file *f, int abs, uint64_t value, uint64_t interval,
                 uint64_t *old_value, uint64_t *old_interval);

/* timerfd_get: timerfd_gettime: time left and interval of timerfd f. */
void timerfd_get(struct file *f, uint64_t *value, uint64_t *interval);

#endif
