/* Resource use as the guest sees it (struct rusage), shared by getrusage and the wait
 * calls. */
#ifndef SENTRY_SYSCALLS_RUSAGE_H
#define SENTRY_SYSCALLS_RUSAGE_H

#include <stdint.h>

#include "sentry/kernel/cputime.h"

struct task;

/* copy_rusage_out: writes u as a guest struct rusage at addr (times in microseconds,
 * ru_maxrss in KiB; fields the Sentry does not count are 0). 0 or -EFAULT. */
int copy_rusage_out(struct task *t, uint64_t addr, const struct rusage_acct *u);

#endif
