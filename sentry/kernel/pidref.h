/* Process handles: a counted reference to a process that outlives it, as Linux's
 * struct pid does for pidfds. A pidfd names its process by identity, so it never
 * reaches a later process that happens to get the same number.
 *
 * A thread group gets its handle on first use (pidfd_open, CLONE_PIDFD) and holds one
 * reference on it until it is reaped; each pidfd holds another. */
#ifndef SENTRY_KERNEL_PIDREF_H
#define SENTRY_KERNEL_PIDREF_H

#include "sentry/kernel/waitq.h"

struct thread_group;

struct pidref {
    int refs;                      /* atomic */
    int tgid;                      /* g_kernel.mu; set when attached */
    struct thread_group *tg;       /* g_kernel.mu; NULL before attach and once reaped */
    int exited;                    /* atomic: every thread is gone (zombie or reaped) */
    int reaped;                    /* atomic: the process is gone (tg is NULL) */
    struct waitq wq;               /* woken with POLLIN when the process exits */
};

/* pidref_new: an unattached handle with one reference, or NULL (no memory). */
struct pidref *pidref_new(void);
/* pidref_attach: makes r the handle of tg (which has none) and gives tg a reference
 * of its own. g_kernel.mu held. */
void pidref_attach(struct pidref *r, struct thread_group *tg);
/* pidref_of: a new reference to tg's handle, made on first use; NULL (no memory).
 * g_kernel.mu held. */
struct pidref *pidref_of(struct thread_group *tg);
/* pidref_put: drops a reference; the last frees r. */
void pidref_put(struct pidref *r);

/* pidref_exited: tg's last thread is gone: its handle (if any) turns readable.
 * g_kernel.mu held. */
void pidref_exited(struct thread_group *tg);
/* pidref_reaped: tg is being freed: its handle (if any) forgets it and drops tg's
 * reference. g_kernel.mu held. */
void pidref_reaped(struct thread_group *tg);

/* pidref_poll: pidfd readiness as Linux's pidfd_poll: POLLIN|POLLRDNORM once the
 * process has exited, with POLLHUP once it is reaped; 0 while it runs. wq (if not
 * NULL) gets the queue woken at exit and at reaping. Takes no lock. */
unsigned pidref_poll(struct pidref *r, struct waitq **wq);

#endif
