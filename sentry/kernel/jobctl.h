/* Job control: group stops and continues as Linux does them (kernel/signal.c's
 * prepare_signal, do_signal_stop, do_notify_parent_cldstop), and what wait(2) sees of
 * them.
 *
 * A stop signal whose action is the default stops every thread of the process: the
 * thread that dequeues it marks every other live thread STOP_PENDING and wakes it;
 * each thread takes part (STOPPED) at its next stop point (before guest code, or in
 * place when it sleeps in task_block, so blocking calls are not interrupted by a
 * stop); the last one to take part completes the stop and tells the parent
 * (CLD_STOPPED). SIGCONT, at generation, resumes every thread, discards pending stop
 * signals and tells the parent (CLD_CONTINUED). A stopped thread runs no guest code
 * and keeps its signals pending; a fatal signal with the default action (SIGKILL, or
 * a terminating one that does not dump core) ends the stop by killing the process.
 *
 * Locking: tg->jobctl, tg->stop_sig and tg->stop_count are protected by g_kernel.mu;
 * task->jobctl is written with g_kernel.mu and task->mu both held (except the
 * DEQUEUED bit, task->mu alone) and read under either, or atomically. */
#ifndef SENTRY_KERNEL_JOBCTL_H
#define SENTRY_KERNEL_JOBCTL_H

#include "sentry/kernel/task.h"

/* The stop signals (Linux's SIG_KERNEL_STOP_MASK). */
#define JOBCTL_STOP_SIGS (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | \
                          SIGBIT(SIGTTOU))

/* task->jobctl */
#define JOBCTL_STOP_PENDING  0x1u  /* must take part in the group stop */
#define JOBCTL_STOP_CONSUME  0x2u  /* counted in tg->stop_count */
#define JOBCTL_STOPPED       0x4u  /* took part: no guest code until SIGCONT */
#define JOBCTL_STOP_DEQUEUED 0x8u  /* dequeued a stop signal; SIGCONT cancels it */

/* thread_group->jobctl (Linux's SIGNAL_STOP_STOPPED / SIGNAL_STOP_CONTINUED) */
#define TG_JOBCTL_STOPPED   0x1u   /* the group stop is complete */
#define TG_JOBCTL_CONTINUED 0x2u   /* continued, not yet reported to WCONTINUED */

/* jobctl_prepare_signal: the job-control rules at generation of sig for tg: a stop
 * signal discards SIGCONT pending in every thread; SIGCONT discards pending stop
 * signals, resumes every thread and tells the parent. Call before queueing sig.
 * g_kernel.mu held, no task->mu. */
void jobctl_prepare_signal(struct thread_group *tg, int sig);

/* jobctl_mark_dequeued: t (t->mu held) has just dequeued a stop signal whose action
 * is the default, and is about to call jobctl_do_stop. */
static inline void jobctl_mark_dequeued(struct task *t)
{
    __atomic_store_n(&t->jobctl, t->jobctl | JOBCTL_STOP_DEQUEUED, __ATOMIC_RELEASE);
}

/* jobctl_do_stop: t dequeued stop signal sig whose action is the default (after
 * jobctl_mark_dequeued): stops the process, unless sig is SIGTSTP,
 * SIGTTIN or SIGTTOU and t's process group is orphaned (the signal is discarded), or
 * a SIGCONT came in between. Returns when t is continued (0) or dying (1). No locks
 * held. */
int jobctl_do_stop(struct task *t, int sig);

/* jobctl_stop_point: before t returns to guest code with jobctl state set: takes part
 * in a pending group stop and waits while stopped. Returns 1 if t is dying (exiting,
 * or killed by a fatal signal that came while it was stopped), else 0. No locks. */
int jobctl_stop_point(struct task *t);

static inline int jobctl_check(struct task *t)
{
    return __atomic_load_n(&t->jobctl, __ATOMIC_ACQUIRE) ? jobctl_stop_point(t) : 0;
}

/* jobctl_in_sleep: for task_block, when t has unblocked signals pending or jobctl
 * state: handles job control without ending the sleep. Returns -1 if the sleep must
 * end (-EINTR: a signal to deliver, or a fatal one while stopped), 1 if it did some
 * work (t->mu was dropped: re-check), 0 if t is stopped and should just wait.
 * t->mu held; it may be dropped and retaken. */
int jobctl_in_sleep(struct task *t);

/* jobctl_join_new_thread: new thread c of a process whose group stop is in progress
 * or complete joins it. g_kernel.mu held, c already on its group's thread list. */
void jobctl_join_new_thread(struct task *c);

/* jobctl_thread_exit: t left its group's thread list: a stop it was to take part in
 * no longer waits for it. g_kernel.mu held. */
void jobctl_thread_exit(struct task *t);

/* jobctl_wait_status: what wait(2) with options (WSTOPPED, WCONTINUED, WNOWAIT) sees
 * of live child c: a stop not yet reported ((sig << 8) | 0x7f) or a continue
 * (0xffff), each reported once unless WNOWAIT; 0 if nothing. g_kernel.mu held. */
int jobctl_wait_status(struct thread_group *c, int options);

/* jobctl_exit_orphans: tg's last thread is gone and its children are about to go to
 * init: a process group this orphans that has a stopped member gets SIGHUP then
 * SIGCONT (Linux's kill_orphaned_pgrp). g_kernel.mu held. */
void jobctl_exit_orphans(struct thread_group *tg);

#endif
