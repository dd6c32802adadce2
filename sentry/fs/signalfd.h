/* signalfd: pending signals read through a file (signalfd(2)). A read takes signals in
 * the file's mask from the reading task's pending set (and process-directed ones pending
 * on its other threads) as struct signalfd_siginfo records, blocking while there are
 * none; poll reports POLLIN when there are. As in Linux, "pending" is the reader's:
 * the task that reads or polls, not the one that created the file. */
#ifndef SENTRY_FS_SIGNALFD_H
#define SENTRY_FS_SIGNALFD_H

#include <stdint.h>

struct file;

/* signalfd_new: a new signalfd for the signals in mask (bit n-1 for signal n; SIGKILL
 * and SIGSTOP are dropped), one reference. flags: SFD_NONBLOCK (SFD_CLOEXEC is the fd
 * table's). 0, -EINVAL (flags), -ENOMEM. */
int signalfd_new(uint64_t mask, int flags, struct file **out);

/* is_signalfd_file: true if f is a signalfd. */
int is_signalfd_file(const struct file *f);

/* signalfd_set_mask: replaces signalfd f's mask (signalfd(2) on an existing one) and
 * lets blocked readers look again. */
void signalfd_set_mask(struct file *f, uint64_t mask);

#endif
