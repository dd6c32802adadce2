/* Signal generation and delivery: pending sets, default actions, and the x86-64
 * rt_sigframe that handlers run on (the layout of Linux's arch/x86/kernel/signal.c). */
#ifndef SENTRY_KERNEL_SIGNAL_H
#define SENTRY_KERNEL_SIGNAL_H

#include <signal.h>
#include <stdint.h>

#include "sentry/kernel/sigqueue.h"

struct task;

#define SIGBIT(n) (1ULL << ((n) - 1))

/* signal_send: makes sig pending for t with info (NULL: SI_KERNEL from the sandbox),
 * queued as sigqueue.h says (real-time signals queue, counted against t's real
 * user's RLIMIT_SIGPENDING). Ignored signals are dropped at once, as Linux does.
 * Wakes t and the signalfd readers (signal_waitq). SIGCONT and the stop signals act
 * on t's whole process first (jobctl.h): for those, g_kernel.mu must be held. Returns
 * 1 if an instance is now pending, 0 if sig is a standard signal already pending (info
 * is dropped), -1 if sig was discarded (ignored, or not 1..64), -EAGAIN if the queue
 * is full for a real-time signal sent with a siginfo other than SI_USER. */
int signal_send(struct task *t, int sig, const siginfo_t *info);

/* signal_send_timer: a POSIX timer's signal (posix_timer.c): to thread t, or if t is
 * NULL to process tg; queued even while an instance of a standard signal is pending
 * and not counted against RLIMIT_SIGPENDING (a timer has one signal at a time).
 * Returns as signal_send. g_kernel.mu held. */
struct thread_group;
int signal_send_timer(struct thread_group *tg, struct task *t, int sig,
                      const siginfo_t *info);

/* signal_send_group: a process-directed signal: to a thread of tg that does not
 * block it, else to the first. Returns as signal_send (-1 with no threads).
 * g_kernel.mu held. */
struct thread_group;
int signal_send_group(struct thread_group *tg, int sig, const siginfo_t *info);

/* signal_dequeue: takes the lowest pending signal of t in mask (synchronous ones
 * first; the oldest instance of a queued one) into *info and returns it, or 0. A POSIX timer's signal is completed
 * (si_overrun) or, if its timer was deleted or set again since, dropped. t->mu held. */
int signal_dequeue(struct task *t, uint64_t mask, siginfo_t *info);

/* signal_dequeue_any: signal_dequeue for a signalfd read by t: t's own pending
 * signals in mask first, then process-directed ones pending on t's other threads.
 * Takes g_kernel.mu and the tasks' locks. */
int signal_dequeue_any(struct task *t, uint64_t mask, siginfo_t *info);

/* signal_pending_any: whether signal_dequeue_any would find a signal in mask. */
int signal_pending_any(struct task *t, uint64_t mask);

/* signal_pending_set: the signals pending for t: its own and the process-directed ones
 * pending on its other threads (rt_sigpending). Takes g_kernel.mu and tasks' locks. */
uint64_t signal_pending_set(struct task *t);

/* signal_discard: removes every pending instance of the signals in mask from t (a
 * stop signal discarded by SIGCONT, ...). t->mu held. */
void signal_discard(struct task *t, uint64_t mask);

/* signal_waitq: woken (POLLIN) whenever a signal becomes pending on any task: where
 * signalfd readers wait. One queue for the sandbox, so it never outlives a process a
 * waiter still points at; a wake-up for another process's signal is spurious and the
 * waiter looks again. */
struct waitq *signal_waitq(void);

/* signal_flush: empties t's pending set as t exits: process-directed signals move to
 * another thread of the process, the rest are discarded. g_kernel.mu held. Also for a
 * task that never ran. */
void signal_flush(struct task *t);

/* signal_send_sigpipe: SIGPIPE to a thread whose write found no reader, as Linux's
 * send_sig(SIGPIPE, current, 0) makes it: SI_USER from the writer itself. */
void signal_send_sigpipe(struct task *t);

/* signal_send_pgrp: a process-directed signal to every live process of process
 * group pgid. Returns how many processes it reached. g_kernel.mu held. */
int signal_send_pgrp(int pgid, int sig, const siginfo_t *info);

/* signal_force: a synchronous signal from a fault or trap: if the guest blocks or
 * ignores it, the default action is restored first (so a fault loop terminates). */
void signal_force(struct task *t, int sig, int code, uint64_t addr);

/* signal_deliver: before returning to the guest: handles the syscall restart for
 * result ret (a restart code, or anything else) and runs the first deliverable
 * signal's action (a handler frame, or the default action). in_syscall tells whether
 * t just made a system call. */
void signal_deliver(struct task *t, int in_syscall);

/* signal_return: rt_sigreturn: restores the state saved in the frame at the guest's
 * stack. Returns the restored rax, or kills t with SIGSEGV on a bad frame. */
long signal_return(struct task *t);

/* signal_reset_fpu: puts t's FPU in the state a new process, or a signal handler,
 * starts with (FCW 0x37f, MXCSR 0x1f80, every XSAVE component initial), so nothing
 * the Sentry or the interrupted code left in it shows. 0 or -errno. */
int signal_reset_fpu(struct task *t);

/* signal_exec_reset: execve's rules: handled signals go back to their default action
 * (ignored ones stay ignored), the alternate stack is gone; mask and pending stay. */
void signal_exec_reset(struct task *t);

/* signal_pending_unblocked: true if a signal could be delivered to t now. */
int signal_pending_unblocked(struct task *t);

/* signal_set_wait_mask: swaps mask in for a wait (ppoll, pselect6, epoll_pwait), the
 * way rt_sigsuspend does: the old mask is saved (saved_sigmask) and comes back when
 * the call ends, or after the handler of the signal that interrupted it has run
 * (signal_deliver puts it in the frame). SIGKILL and SIGSTOP stay unblocked. */
void signal_set_wait_mask(struct task *t, uint64_t mask);

/* signal_end_wait_mask: the wait is over: restores the saved mask now unless the call
 * was interrupted (Linux's restore_saved_sigmask_unless), in which case signal_deliver
 * does it once the signal is handled. */
void signal_end_wait_mask(struct task *t, int interrupted);

#endif
