/* Tasks: one host thread per guest thread. Its loop (task_run) switches into the guest,
 * handles the trap, and repeats until the task exits. */
#ifndef SENTRY_KERNEL_TASK_H
#define SENTRY_KERNEL_TASK_H

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdint.h>

#include "platform/platform.h"
#include "sentry/kernel/signal.h"
#include "sentry/syscalls/syscall.h"

struct mm;
struct fdtable;

#define GUEST_NSIG 64

/* A signal disposition as the guest sees it (the kernel's struct sigaction layout). */
struct guest_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

/* Credentials (per task, as in Linux). */
struct creds {
    uint32_t ruid, euid, suid, fsuid;
    uint32_t rgid, egid, sgid, fsgid;
};

/* State shared by the threads of a process. */
struct thread_group {
    int tgid;                                     /* immutable */
    int ppid;                                     /* immutable for now */
    int pgid, sid;
    struct guest_sigaction actions[GUEST_NSIG];   /* protected by the task's mu */
    int exit_code;                                /* wait status once dead */
    uint64_t rlimits[16][2];                      /* RLIMIT_* cur/max */
};

struct task {
    int tid;                          /* immutable */
    struct thread_group *tg;          /* immutable */
    struct mm *mm;                    /* owned reference */
    struct fdtable *fds;              /* owned reference */
    struct plat_ctx *ctx;             /* owned by this thread */
    struct guest_regs regs;           /* the guest's registers while in the Sentry */
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
    struct creds cred;
    uint32_t umask;
    char comm[16];
    pthread_mutex_t mu;               /* protects pending, sigmask and the fields marked so */
    pthread_cond_t cond;              /* where the task sleeps */
    int exiting;                      /* set by exit/exit_group or a fatal signal */
    int exit_status;                  /* wait(2) status of the thread group */
};

/* task_run: runs t until it exits; returns its wait status (as waitpid reports it). */
int task_run(struct task *t);

/* task_exit_group: marks the whole group exiting with the given wait status. */
void task_exit_group(struct task *t, int status);

/* task_fatal_signal: kills the thread group with signal sig, as its default action
 * would (issue: processes adds handlers and stops). */
void task_fatal_signal(struct task *t, int sig);

/* task_sleep_until: blocks t until clock id reaches *deadline (absolute; NULL: no
 * deadline). Returns 0 when the time came, or -EINTR if a signal t does not block
 * became pending (or t is exiting) first. */
int task_sleep_until(struct task *t, int id, const struct timespec *deadline);

/* task_wake: makes t look at its pending signals soon: ends a sleep, or interrupts
 * its guest code. */
void task_wake(struct task *t);

#endif
