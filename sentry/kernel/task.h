/* Tasks: one host thread per guest thread. Its loop (task_run) switches into the guest,
 * handles the trap, and repeats until the task exits. */
#ifndef SENTRY_KERNEL_TASK_H
#define SENTRY_KERNEL_TASK_H

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdint.h>

#include "platform/platform.h"
#include "sentry/kernel/cputime.h"
#include "sentry/kernel/cred.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/timer.h"
#include "sentry/syscalls/syscall.h"

struct mm;
struct fdtable;
struct fs_context;
struct pty;
struct ptimer_table;
struct pidref;

#define GUEST_NSIG 64

/* A signal disposition as the guest sees it (the kernel's struct sigaction layout). */
struct guest_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

/* State shared by the threads of a process. Fields marked (k) are protected by
 * g_kernel.mu. */
struct thread_group {
    int tgid;                                     /* immutable */
    struct thread_group *parent;                  /* (k) NULL for init */
    struct thread_group *children, *sibling;      /* (k) */
    struct task *threads;                         /* (k) live threads, via next */
    struct task *leader;                          /* (k) changes only when another
                                                   * thread execs (exec.c take_lead) */
    int nlive;                                    /* (k) threads not yet exited */
    int pgid, sid;                                /* (k) */
    struct pty *ctty;                             /* (k) controlling terminal, a
                                                   * reference (sentry/fs/tty.h);
                                                   * NULL: none */
    int exiting;                                  /* (k) a group exit has begun */
    int zombie;                                   /* (k) dead, waiting to be reaped */
    int exit_status;                              /* (k) wait status once dead */
    int exit_signal;                              /* signal to the parent at death */
    unsigned child_events;                        /* bumped at child changes (atomic) */
    /* job control (jobctl.h) */
    unsigned jobctl;                              /* (k) TG_JOBCTL_* */
    int stop_sig;                                 /* (k) stop to report to wait; 0 once
                                                   * reported */
    int stop_count;                               /* (k) threads yet to stop */
    struct guest_sigaction actions[GUEST_NSIG];   /* shared by the threads */
    struct ktimer real_timer;                     /* ITIMER_REAL / alarm */
    struct ktimer virt_timer, prof_timer;         /* ITIMER_VIRTUAL, ITIMER_PROF */
    struct ptimer_table *ptimers;                 /* POSIX timers (posix_timer.c) */
    struct rusage_acct used_dead;                 /* (k) exited threads' use, and
                                                   * the largest RSS (cputime.h) */
    struct rusage_acct used_children;             /* (k) reaped children's */
    uint64_t rlimits[16][2];                      /* RLIMIT_* cur/max */
    struct task *parent_thread;                   /* (k) the thread of parent that
                                                   * forked it (pdeath_signal) */
    int is_child_subreaper;                       /* (k) PR_SET_CHILD_SUBREAPER */
    int dumpable;                                 /* PR_SET_DUMPABLE (atomic) */
    struct pidref *pidref;                        /* (k) for pidfds; NULL until the
                                                   * first (see pidref.h) */
};

/* What the scheduling calls set (sched.c): kept and reported as Linux does; the
 * host schedules every guest thread as an ordinary thread whatever they say. */
#define SCHED_CPUS_MAX 1024
struct task_sched {
    int nice;                          /* -20..19 */
    int policy;                        /* SCHED_OTHER, BATCH, IDLE, FIFO, RR */
    int rt_priority;                   /* 1..99 for FIFO and RR, else 0 */
    uint64_t affinity[SCHED_CPUS_MAX / 64];   /* the virtual CPUs it may run on */
};

struct task {
    int tid;                          /* g_kernel.mu; changes only when the task
                                       * execs and takes its leader's (exec.c) */
    struct thread_group *tg;          /* immutable */
    struct task *next;                /* in tg->threads; g_kernel.mu */
    long plat_handle;                 /* thread_adopt handle for a new guest thread */
    struct guest_fpu *start_fpu;      /* FPU state to start with (fork, clone) */
    struct task *vfork_parent;        /* woken when this child exits (vfork) */
    int vfork_done;                   /* set for the vfork parent; protected by mu */
    struct mm *mm;                    /* owned reference */
    struct fdtable *fds;              /* owned reference */
    struct fs_context *fs;            /* root and cwd; owned reference (CLONE_FS shares) */
    struct plat_ctx *ctx;             /* owned by this thread */
    struct guest_regs regs;           /* the guest's registers while in the Sentry */
    struct task_sched sched;          /* protected by mu; inherited by clone */
    struct syscall_args cur;          /* the call being handled */
    uint64_t sigmask;                 /* blocked signals, bit n-1 for signal n */
    struct sigpending pending;        /* protected by mu */
    uint64_t saved_sigmask;           /* to restore after rt_sigsuspend */
    int restore_sigmask;              /* saved_sigmask is valid */
    struct {
        uint64_t sp; int32_t flags; int32_t pad; uint64_t size;
    } altstack;                       /* sigaltstack, in the guest's stack_t layout */
    uint64_t clear_child_tid;         /* set_tid_address */
    uint64_t robust_list, robust_len; /* set_robust_list */
    struct creds cred;                /* see cred.h for who may read and change it */
    int pdeath_signal;                /* PR_SET_PDEATHSIG (atomic) */
    int no_new_privs;                 /* PR_SET_NO_NEW_PRIVS: sticky, inherited */
    uint32_t umask;
    char comm[16];
    pthread_mutex_t mu;               /* protects pending, sigmask and the fields marked so */
    pthread_cond_t cond;              /* where the task sleeps */
    int exiting;                      /* set by exit/exit_group or a fatal signal */
    int exit_status;                  /* wait(2) status of the thread group */
    unsigned jobctl;                  /* JOBCTL_* (jobctl.h says how it is locked) */
    uint64_t sigwait_set;             /* what rt_sigtimedwait waits for (unblocked
                                       * while it waits; Linux's real_blocked): job
                                       * control leaves these signals to it; mu */
    struct task_cputime cpu;          /* CPU time (cputime.h); written by this thread */
};

/* current_task: the task this Sentry thread runs (NULL on other threads). For the
 * few places that have no task argument (procfs's /proc/self). */
extern _Thread_local struct task *current_task;

/* task_run: runs t until it exits; returns its wait status (as waitpid reports it). */
int task_run(struct task *t);

/* task_exit_group: starts the group exit of t's process with the given wait status:
 * every thread leaves at its next return to the Sentry. */
void task_exit_group(struct task *t, int status);

/* task_exit_thread: only t exits (exit(2)); the process ends with its last thread. */
void task_exit_thread(struct task *t, int status);

/* task_alloc: a zeroed task with its lock, condition and defaults set up. */
struct task *task_alloc(void);

/* task_start: runs child on a new host thread: creates its context and address space
 * (or adopts a thread of its parent's), then task_run and task_exit. 0 or -errno. */
int task_start(struct task *child);

/* task_exit: after task_run: releases t's resources; the last thread of a process
 * makes it a zombie and tells its parent. Returns the group's wait status if t's
 * process is now dead, or -1. */
int task_exit(struct task *t);

/* tg_reap: frees a zombie process (wait4, or a parent that does not wait).
 * g_kernel.mu held. */
void tg_reap(struct thread_group *tg);

/* task_block: sleeps until done(arg) is true (0), a signal t does not block is
 * pending or t is exiting (-EINTR), or the deadline on clock id passes (-ETIMEDOUT;
 * NULL: none). A stop of t's process does not end the sleep: t stops where it sleeps
 * (jobctl.h). done() is called with t->mu held and must only read atomics. */
int task_block(struct task *t, int id, const struct timespec *deadline,
               int (*done)(void *arg), void *arg);

/* task_fatal_signal: kills t's process with signal sig, as a default action does. */
void task_fatal_signal(struct task *t, int sig);

/* task_sleep_until: blocks t until clock id reaches *deadline (absolute; NULL: no
 * deadline). Returns 0 when the time came, or -EINTR if a signal t does not block
 * became pending (or t is exiting) first. */
int task_sleep_until(struct task *t, int id, const struct timespec *deadline);

/* task_wake: makes t look at its pending signals soon: ends a sleep, or interrupts
 * its guest code. */
void task_wake(struct task *t);

#endif
