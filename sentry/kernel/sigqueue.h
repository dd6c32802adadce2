/* The pending signals of a task, with Linux's queueing rules (kernel/signal.c's
 * struct sigpending and sigqueue): a standard signal (1..31) has at most one instance
 * pending, a second one is dropped; a real-time signal (SIGRTMIN 32..64) queues every
 * instance with its own siginfo, oldest first. Each queued instance is counted against
 * its receiver's real user's RLIMIT_SIGPENDING (Linux's per-user ucounts): past the
 * limit a real-time signal sent with a siginfo fails with EAGAIN, while kill()'s
 * SI_USER and the kernel's own signals are still made pending without one (the signal
 * is dequeued with a bare SI_USER siginfo), and standard signals from the kernel or
 * kill() are queued over the limit.
 *
 * The caller holds the owning task's mu; the per-user counts have a lock of their own,
 * innermost (taken under task->mu, nothing under it). */
#ifndef SENTRY_KERNEL_SIGQUEUE_H
#define SENTRY_KERNEL_SIGQUEUE_H

#include <signal.h>
#include <stdint.h>

#define GUEST_SIGRTMIN 32

/* flags of a queued instance */
enum {
    SQ_SHARED = 1,    /* process-directed: any thread of the process may take it */
    SQ_TIMER = 2,     /* a POSIX timer's own signal (posix_timer.h): queued even while
                       * an instance of a standard signal is pending, never counted
                       * (one per timer) */
    SQ_CHARGED = 4,   /* counted against user `uid` */
    SQ_SPECIAL = 8,   /* (to sigpending_add) sent by the kernel without a siginfo of
                       * its own (Linux's SEND_SIG_PRIV): never fails */
};

struct sigqueue {
    struct sigqueue *next;
    siginfo_t info;
    unsigned flags;
    uint32_t uid;
};

struct sigpending {
    uint64_t mask;               /* signals with an instance pending */
    uint64_t shared;             /* of mask: with a process-directed instance */
    /* per signal (index sig-1): the queued instances, oldest first. A signal in mask
     * with an empty queue is one instance whose siginfo was not kept. */
    struct sigqueue *head[64], *tail[64];
    uint32_t nqueued[64], nshared[64];
};

/* sigpending_add: makes one instance of sig (1..64) pending in p with info (a copy),
 * counted against user uid whose limit is `limit` (RLIMIT_SIGPENDING). flags:
 * SQ_SHARED, SQ_TIMER, SQ_SPECIAL. Returns 1 if it is pending, 0 if it was dropped (a standard
 * signal already pending), or -EAGAIN (see above). */
int sigpending_add(struct sigpending *p, int sig, const siginfo_t *info, unsigned flags,
                   uint32_t uid, uint64_t limit);

/* sigpending_take: removes the oldest instance of sig (only a process-directed one if
 * only_shared) into *info (a bare SI_USER siginfo for one not queued) and its SQ_*
 * flags into *flags; returns 1, or 0 if there is none. Uncounts it. */
int sigpending_take(struct sigpending *p, int sig, int only_shared, siginfo_t *info,
                    unsigned *flags);

/* sigpending_private: the signals of p with an instance sent to the thread itself. */
uint64_t sigpending_private(const struct sigpending *p);

/* sigpending_clear: drops every instance in p (a task being freed). */
void sigpending_clear(struct sigpending *p);

/* sigqueue_user_count: signals queued and counted against user uid now (SigQ). */
uint64_t sigqueue_user_count(uint32_t uid);

#endif
