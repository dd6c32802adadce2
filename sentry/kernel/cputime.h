/* CPU time accounting: how long each task ran guest code (user time) and how long the
 * Sentry worked on its behalf (system time), measured with CLOCK_MONOTONIC around the
 * platform's switch: one clock read per transition. Time a task spends blocked in the
 * Sentry (task_block, a stop, a vfork wait) is neither.
 *
 * The owner thread alone writes its task's record; any thread may read it (a seqcount
 * makes the read consistent). A process's time is its live threads' plus what its
 * exited threads left in tg->used_dead; reaped children add theirs (with their own
 * children's) to tg->used_children at wait(2), as Linux does (children reaped
 * automatically, SIGCHLD ignored, add nothing).
 *
 * The user time includes the platform's own cost of entering and leaving the guest
 * and any time the host did not run the guest while it was switched in; the system
 * time includes waits for the Gofer and host I/O that do not go through task_block.
 * Reading the host's per-thread CPU clocks instead would be exact but costs a system
 * call per transition. */
#ifndef SENTRY_KERNEL_CPUTIME_H
#define SENTRY_KERNEL_CPUTIME_H

#include <stdint.h>

#include "sentry/kernel/timer.h"

struct task;
struct thread_group;

/* USER_HZ: the unit of times(2), wait's si_utime and /proc's tick counts. */
#define USER_HZ 100
#define NS_PER_USER_HZ (1000000000ULL / USER_HZ)

/* Where a task's time goes. */
enum cpu_state {
    CPU_SENTRY = 0,   /* system time */
    CPU_GUEST,        /* user time */
    CPU_IDLE,         /* blocked, or exited: not counted */
};

/* A task's record; written only by its own thread. */
struct task_cputime {
    unsigned seq;               /* odd while the owner updates (atomic) */
    int state;                  /* enum cpu_state */
    uint64_t since;             /* CLOCK_MONOTONIC ns of the last transition */
    uint64_t utime, stime;      /* ns up to `since` */
    uint64_t min_flt;           /* page faults the Sentry resolved */
    uint64_t nvcsw;             /* times the task blocked */
};

/* Times in ns. */
struct cpu_times {
    uint64_t utime, stime;
};

/* Resource use as getrusage(2) reports it, of a process's exited threads or of its
 * reaped children. */
struct rusage_acct {
    struct cpu_times cpu;
    uint64_t min_flt;           /* page faults the Sentry resolved */
    uint64_t nvcsw;             /* times a task blocked */
    uint64_t maxrss;            /* bytes: the largest resident set seen */
};

/* cputime_start: the owner begins accounting (state CPU_SENTRY) at its first run. */
void cputime_start(struct task *t);

/* cputime_switch: the owner moves to state (one clock read), charging the time since
 * the last transition to the state it leaves. */
void cputime_switch(struct task *t, enum cpu_state state);

/* cputime_thread: t's times up to now. Any thread; t must stay valid (the caller is t,
 * or holds g_kernel.mu while t is in the task table). */
void cputime_thread(struct task *t, struct cpu_times *out);

/* cputime_group: tg's times: live threads and the dead ones' share. g_kernel.mu held. */
void cputime_group(struct thread_group *tg, struct cpu_times *out);

/* cputime_usage_thread: t's use (maxrss 0: the caller adds the address space's).
 * As cputime_thread. */
void cputime_usage_thread(struct task *t, struct rusage_acct *out);

/* cputime_usage_group: tg's use: live threads and tg->used_dead. g_kernel.mu held. */
void cputime_usage_group(struct thread_group *tg, struct rusage_acct *out);

/* cputime_thread_exit: t has run its last (state CPU_IDLE): moves its use into its
 * process's tg->used_dead. g_kernel.mu held. */
void cputime_thread_exit(struct task *t);

/* cputime_note_rss: tg's address space has rss bytes resident now (before it goes at
 * exec or exit), for ru_maxrss. Takes g_kernel.mu. */
void cputime_note_rss(struct thread_group *tg, uint64_t rss);

/* cputime_reap: parent reaps the zombie child (wait(2)): the child's use and its own
 * children's, as wait4 reports it, into *child_use (may be NULL) and added to
 * parent->used_children. g_kernel.mu held. */
void cputime_reap(struct thread_group *parent, struct thread_group *child,
                  struct rusage_acct *child_use);

/* cputime_measure: what a CPU clock of kind which (CPUCLOCK_*) reads for times ct. */
uint64_t cputime_measure(const struct cpu_times *ct, int which);

/* cpuclock_decode: the CPU clock named by clockid for t: CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID, or a clockid made by clock_getcpuclockid /
 * pthread_getcpuclockid (Linux's encoding: ~pid << 3 | per-thread << 2 | which).
 * Returns 1 if it is a CPU clock and *out is set, 0 if clockid is no CPU clock, or
 * -EINVAL for a CPU clock id Linux refuses: a bad `which`, no such process, or a
 * thread of another process. */
int cpuclock_decode(struct task *t, int clockid, struct cpuclock *out);

/* cpuclock_read: c's value now (ns), and through *nthreads (may be NULL) how many
 * threads advance it. Takes g_kernel.mu. -EINVAL if the target is gone (a zombie
 * process still reads). */
int cpuclock_read(const struct cpuclock *c, uint64_t *ns, int *nthreads);

#endif
