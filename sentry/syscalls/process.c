/* Process and thread system calls: clone/fork/vfork (with CLONE_PIDFD), exit,
 * wait4/waitid (with P_PIDFD), process groups and sessions, and futex. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sentry/fs/tty.h"
#include "sentry/fs/pidfd.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/jobctl.h"
#include "sentry/kernel/itimer.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/pidref.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/rusage.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* The clone flags the sandbox implements (with CSIGNAL, the exit signal). */
#define CLONE_SUPPORTED (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
    CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
    CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT | CLONE_VFORK | \
    CLONE_DETACHED | CLONE_PIDFD | CSIGNAL)

struct clone_req {
    uint64_t flags;
    uint64_t stack;
    uint64_t parent_tid, child_tid, tls;
    uint64_t pidfd;       /* CLONE_PIDFD: where the pidfd's number goes */
    int exit_signal;
};

/* clone_pidfd: CLONE_PIDFD: a pidfd for the process being made, installed
 * close-on-exec in t's table and its number stored at uptr, before the child exists
 * (as Linux, so a bad pointer fails the clone). *ref is the child's process handle
 * with an extra reference of the caller's, to attach once the child has its id and
 * put after. Returns the fd, or -errno with nothing left behind. */
static int clone_pidfd(struct task *t, uint64_t uptr, struct pidref **ref)
{
    struct pidref *r = pidref_new();
    if (!r)
        return -ENOMEM;
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);   /* the caller's */
    struct file *f;
    int err = pidfd_create(r, 0, &f);
    if (err < 0) {
        pidref_put(r);   /* the one the file did not take */
        pidref_put(r);
        return err;
    }
    int fd = fdtable_install(t->fds, 0, f, 1);
    if (fd < 0) {
        file_put(f);     /* and with it the file's reference */
        pidref_put(r);
        return fd;
    }
    int32_t v = fd;
    if (mm_copy_out(t->mm, uptr, &v, sizeof(v), 0) < 0) {
        fdtable_close(t->fds, fd);
        pidref_put(r);
        return -EFAULT;
    }
    *ref = r;
    return fd;
}

/* do_clone: the work of clone, clone3, fork and vfork. Returns the child's tid. */
static long do_clone(struct task *t, const struct clone_req *req)
{
    uint64_t flags = req->flags;
    if (flags & ~(uint64_t)CLONE_SUPPORTED)
        return -EINVAL;
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_THREAD))
        return -EINVAL;  /* shared handlers across processes: not supported */
    if ((flags & CLONE_VM) && !(flags & CLONE_THREAD) && !(flags & CLONE_VFORK))
        return -EINVAL;  /* shared memory between processes: only vfork, as a copy */
    if ((flags & CLONE_PIDFD) && (flags & (CLONE_DETACHED | CLONE_THREAD)))
        return -EINVAL;

    struct task *c = task_alloc();
    if (!c)
        return -ENOMEM;
    c->regs = t->regs;
    c->regs.rax = 0;
    c->regs.orig_rax = (uint64_t)-1;
    if (req->stack)
        c->regs.rsp = req->stack;
    if (flags & CLONE_SETTLS)
        c->regs.fs_base = req->tls;
    c->sigmask = t->sigmask;
    if (!(flags & CLONE_THREAD) || (flags & CLONE_VFORK))
        c->altstack = t->altstack;
    cred_copy(&c->cred, &t->cred);
    c->no_new_privs = t->no_new_privs;   /* pdeath_signal is not inherited: stays 0 */
    c->umask = t->umask;
    c->sched = t->sched;
    memcpy(c->comm, t->comm, sizeof(c->comm));
    if (flags & CLONE_CHILD_CLEARTID)
        c->clear_child_tid = req->child_tid;

    c->start_fpu = malloc(sizeof(*c->start_fpu));
    if (!c->start_fpu || g_plat->fpu_get(t->ctx, t->mm->as, c->start_fpu) < 0) {
        free(c->start_fpu);
        c->start_fpu = NULL;
    }

    long ret;
    struct thread_group *tg = NULL;
    if (flags & CLONE_THREAD) {
        c->tg = t->tg;
        mm_get(t->mm);
        c->mm = t->mm;
        c->plat_handle = g_plat->thread_new(t->mm->as);
        if (c->plat_handle <= 0) {
            ret = c->plat_handle < 0 ? c->plat_handle : -EAGAIN;
            goto fail_mm;
        }
    } else {
        tg = calloc(1, sizeof(*tg));
        if (!tg) {
            ret = -ENOMEM;
            goto fail;
        }
        memcpy(tg->actions, t->tg->actions, sizeof(tg->actions));
        memcpy(tg->rlimits, t->tg->rlimits, sizeof(tg->rlimits));
        tg->dumpable = __atomic_load_n(&t->tg->dumpable, __ATOMIC_RELAXED);
        tg->exit_signal = req->exit_signal;
        tg->leader = c;
        c->tg = tg;
        int err = 0;
        /* vfork shares memory in Linux; here the child gets a copy and the parent
         * waits for it, which is what programs calling vfork then exec/exit see */
        c->mm = mm_fork(t->mm, &err);
        if (!c->mm) {
            ret = err;
            goto fail;
        }
    }
    if (flags & CLONE_FILES) {
        __atomic_add_fetch(&t->fds->refs, 1, __ATOMIC_RELAXED);
        c->fds = t->fds;
    } else {
        c->fds = fdtable_dup(t->fds);
        if (!c->fds) {
            ret = -ENOMEM;
            goto fail_mm;
        }
    }
    if (flags & CLONE_FS) {
        __atomic_add_fetch(&t->fs->refs, 1, __ATOMIC_RELAXED);
        c->fs = t->fs;
    } else {
        c->fs = fs_context_copy(t->fs);
        if (!c->fs) {
            ret = -ENOMEM;
            goto fail_fds;
        }
    }

    struct pidref *pref = NULL;
    int pidfd = -1;
    if (flags & CLONE_PIDFD) {
        pidfd = clone_pidfd(t, req->pidfd, &pref);
        if (pidfd < 0) {
            ret = pidfd;
            goto fail_fs;
        }
    }

    pthread_mutex_lock(&g_kernel.mu);
    if (t->tg->exiting) {
        pthread_mutex_unlock(&g_kernel.mu);
        ret = -EINTR;  /* being killed: the child would never run */
        goto fail_pidfd;
    }
    ret = kernel_alloc_tid(c);
    if (ret < 0) {
        pthread_mutex_unlock(&g_kernel.mu);
        goto fail_pidfd;
    }
    if (tg) {
        tg->tgid = c->tid;
        int up = (flags & CLONE_PARENT) && t->tg->parent;
        struct thread_group *parent = up ? t->tg->parent : t->tg;
        tg->parent = parent;
        /* the forking thread (its parent's, for CLONE_PARENT): the child's
         * parent-death signal follows it */
        tg->parent_thread = up ? t->tg->parent_thread : t;
        if (pref)
            pidref_attach(pref, tg);
        tg->sibling = parent->children;
        parent->children = tg;
        tg->pgid = t->tg->pgid;
        tg->sid = t->tg->sid;
        tg->ctty = t->tg->ctty;   /* a child shares its parent's terminal */
        if (tg->ctty)
            pty_get(tg->ctty);
    }
    c->next = c->tg->threads;
    c->tg->threads = c;
    c->tg->nlive++;
    if (!tg)
        jobctl_join_new_thread(c);
    pthread_mutex_unlock(&g_kernel.mu);
    if (tg)
        itimer_init(tg);
    pidref_put(pref);   /* attached: the child and the pidfd hold it now */

    uint32_t tid32 = (uint32_t)c->tid;
    if (flags & CLONE_PARENT_SETTID)
        mm_copy_out(t->mm, req->parent_tid, &tid32, 4, 0);
    if (flags & CLONE_CHILD_SETTID)
        mm_copy_out(c->mm, req->child_tid, &tid32, 4, 0);
    if (flags & CLONE_VFORK)
        c->vfork_parent = t;

    long tid = c->tid;
    int r = task_start(c);
    if (r < 0) {
        log_err("cannot start a host thread for task %ld: %d", tid, r);
        /* the child never ran: end it as if SIGKILLed */
        c->exiting = 1;
        c->tg->exiting = 1;
        c->tg->exit_status = SIGKILL;
        task_exit(c);
        return -EAGAIN;
    }
    if (flags & CLONE_VFORK) {
        cputime_switch(t, CPU_IDLE);
        pthread_mutex_lock(&t->mu);
        while (!t->vfork_done)
            pthread_cond_wait(&t->cond, &t->mu);
        t->vfork_done = 0;
        pthread_mutex_unlock(&t->mu);
        cputime_switch(t, CPU_SENTRY);
    }
    return tid;

fail_pidfd:
    if (pref) {
        fdtable_close(t->fds, pidfd);
        pidref_put(pref);
    }
fail_fs:
    fs_context_put(c->fs);
fail_fds:
    fdtable_put(c->fds);
fail_mm:
    if (c->mm)
        mm_put(c->mm);
fail:
    cred_release(&c->cred);
    free(tg);
    free(c->start_fpu);
    free(c);
    return ret;
}

long sys_clone(struct task *t, const struct syscall_args *a)
{
    /* x86-64 order: flags, stack, parent_tid, child_tid, tls */
    struct clone_req req = {
        .flags = arg_u64(a, 0) & ~(uint64_t)CSIGNAL,
        .stack = arg_u64(a, 1),
        .parent_tid = arg_u64(a, 2),
        .child_tid = arg_u64(a, 3),
        .tls = arg_u64(a, 4),
        .pidfd = arg_u64(a, 2),   /* CLONE_PIDFD shares parent_tid's pointer */
        .exit_signal = (int)(arg_u64(a, 0) & CSIGNAL),
    };
    if (req.exit_signal > GUEST_NSIG)
        return -EINVAL;
    if ((req.flags & CLONE_PIDFD) && (req.flags & CLONE_PARENT_SETTID))
        return -EINVAL;
    return do_clone(t, &req);
}

long sys_clone3(struct task *t, const struct syscall_args *a)
{
    struct clone_args ca;
    size_t size = arg_size(a, 1);
    if (size < 64 /* CLONE_ARGS_SIZE_VER0 */ || size > 4096)
        return -EINVAL;
    memset(&ca, 0, sizeof(ca));
    if (mm_copy_in(t->mm, &ca, arg_u64(a, 0), MIN(size, sizeof(ca))) < 0)
        return -EFAULT;
    /* anything past what we know must be zero (extensible-struct rule) */
    for (size_t off = sizeof(ca); off < size; off++) {
        char c;
        if (mm_copy_in(t->mm, &c, arg_u64(a, 0) + off, 1) < 0)
            return -EFAULT;
        if (c)
            return -E2BIG;
    }
    if (ca.exit_signal > GUEST_NSIG || (ca.flags & CSIGNAL))
        return -EINVAL;
    if (size >= 80 && ca.set_tid_size)
        return -EINVAL;  /* choosing pids: not supported */
    if (size >= 88 && ca.cgroup)
        return -EINVAL;
    struct clone_req req = {
        .flags = ca.flags,
        .stack = ca.stack ? ca.stack + ca.stack_size : 0,
        .parent_tid = ca.parent_tid,
        .child_tid = ca.child_tid,
        .tls = ca.tls,
        .pidfd = ca.pidfd,
        .exit_signal = (int)ca.exit_signal,
    };
    return do_clone(t, &req);
}

long sys_fork(struct task *t, const struct syscall_args *a)
{
    (void)a;
    struct clone_req req = { .exit_signal = SIGCHLD };
    return do_clone(t, &req);
}

long sys_vfork(struct task *t, const struct syscall_args *a)
{
    (void)a;
    struct clone_req req = { .flags = CLONE_VFORK | CLONE_VM, .exit_signal = SIGCHLD };
    return do_clone(t, &req);
}

long sys_exit(struct task *t, const struct syscall_args *a)
{
    task_exit_thread(t, (arg_int(a, 0) & 0xff) << 8);
    return 0;
}

long sys_exit_group(struct task *t, const struct syscall_args *a)
{
    task_exit_group(t, (arg_int(a, 0) & 0xff) << 8);
    return 0;
}

/* A wait request, shared by wait4 and waitid. */
struct wait_req {
    int which;          /* P_PID, P_PGID, P_ALL */
    int id;
    int options;
};

/* matches: whether child c is one the request waits for. g_kernel.mu held. */
static int matches(struct task *t, const struct wait_req *w, struct thread_group *c)
{
    switch (w->which) {
    case P_PID: if (c->tgid != w->id) return 0; break;
    case P_PGID: if (c->pgid != (w->id ? w->id : t->tg->pgid)) return 0; break;
    default: break;
    }
    /* __WCLONE: only children that do not signal SIGCHLD; __WALL: all */
    if (w->options & __WALL)
        return 1;
    return (w->options & __WCLONE) ? c->exit_signal != SIGCHLD
                                   : c->exit_signal == SIGCHLD;
}

struct events_arg { struct thread_group *tg; unsigned seen; };

static int events_changed(void *arg)
{
    struct events_arg *e = arg;
    return __atomic_load_n(&e->tg->child_events, __ATOMIC_SEQ_CST) != e->seen;
}

/* do_wait: finds a child with something to report (WEXITED: dead; WSTOPPED: stopped;
 * WCONTINUED: continued); returns its tgid (0 with WNOHANG and none yet), its wait
 * status in *status, its real uid in *uid and, for a dead child, its resource use in
 * *ru (with its reaped children's), or -errno. */
static long do_wait(struct task *t, const struct wait_req *w, int *status, uint32_t *uid,
                    struct rusage_acct *ru)
{
    for (;;) {
        struct events_arg ev = { t->tg, __atomic_load_n(&t->tg->child_events,
                                                        __ATOMIC_SEQ_CST) };
        pthread_mutex_lock(&g_kernel.mu);
        int any = 0;
        for (struct thread_group *c = t->tg->children; c; c = c->sibling) {
            if (!matches(t, w, c))
                continue;
            any = 1;
            *uid = c->leader->cred.ruid;
            if (c->zombie && (w->options & WEXITED)) {
                long pid = c->tgid;
                *status = c->exit_status;
                if (w->options & WNOWAIT) {
                    struct rusage_acct kids = c->used_children;
                    *ru = c->used_dead;
                    ru->cpu.utime += kids.cpu.utime;
                    ru->cpu.stime += kids.cpu.stime;
                    ru->min_flt += kids.min_flt;
                    ru->nvcsw += kids.nvcsw;
                    ru->maxrss = MAX(ru->maxrss, kids.maxrss);
                } else {
                    cputime_reap(t->tg, c, ru);
                    tg_reap(c);
                }
                pthread_mutex_unlock(&g_kernel.mu);
                return pid;
            }
            int st = jobctl_wait_status(c, w->options);
            if (st) {
                *status = st;
                pthread_mutex_unlock(&g_kernel.mu);
                return c->tgid;
            }
        }
        pthread_mutex_unlock(&g_kernel.mu);
        if (!any)
            return -ECHILD;
        if (w->options & WNOHANG)
            return 0;
        if (task_block(t, CLOCK_MONOTONIC, NULL, events_changed, &ev) == -EINTR)
            return -ERESTARTSYS;
    }
}

long sys_wait4(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0);
    uint64_t ustatus = arg_u64(a, 1);
    int options = arg_int(a, 2);
    uint64_t urusage = arg_u64(a, 3);
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -ESRCH;
    struct wait_req w = { .options = options | WEXITED };
    if (pid > 0) {
        w.which = P_PID;
        w.id = pid;
    } else if (pid == 0) {
        w.which = P_PGID;
        w.id = 0;
    } else if (pid < -1) {
        w.which = P_PGID;
        w.id = -pid;
    } else {
        w.which = P_ALL;
    }
    int status = 0;
    uint32_t uid;
    struct rusage_acct ru;
    memset(&ru, 0, sizeof(ru));
    long r = do_wait(t, &w, &status, &uid, &ru);
    if (r > 0) {
        if (ustatus && mm_copy_out(t->mm, ustatus, &status, 4, 0) < 0)
            return -EFAULT;
        if (urusage && copy_rusage_out(t, urusage, &ru) < 0)
            return -EFAULT;
    }
    return r;
}

/* waitid's idtype for a pidfd (glibc 2.36's P_PIDFD, in an enum). */
#define WAIT_P_PIDFD 3

/* pidfd_wait_id: the process pidfd fd names, for waitid's P_PIDFD: its tgid, or
 * -EBADF (not a pidfd) or -ECHILD (reaped already: no child can match); *fflags gets
 * the pidfd's file flags (O_NONBLOCK makes the wait WNOHANG). */
static int pidfd_wait_id(struct task *t, int fd, unsigned *fflags)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    struct pidref *r = pidfd_pidref(f);
    int ret = -EBADF;
    if (r) {
        *fflags = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
        pthread_mutex_lock(&g_kernel.mu);
        ret = r->tg ? r->tgid : -ECHILD;
        pthread_mutex_unlock(&g_kernel.mu);
    }
    file_put(f);
    return ret;
}

long sys_waitid(struct task *t, const struct syscall_args *a)
{
    int which = arg_int(a, 0), id = arg_int(a, 1);
    uint64_t uinfo = arg_u64(a, 2);
    int options = arg_int(a, 3);
    if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD |
                    __WCLONE | __WALL))
        return -EINVAL;
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return -EINVAL;
    if (which != P_ALL && which != P_PID && which != P_PGID && which != WAIT_P_PIDFD)
        return -EINVAL;
    if ((which == P_PID || which == P_PGID || which == WAIT_P_PIDFD) && id < 0)
        return -EINVAL;
    unsigned fflags = 0;
    if (which == WAIT_P_PIDFD) {
        int tgid = pidfd_wait_id(t, id, &fflags);
        if (tgid < 0)
            return tgid;
        which = P_PID;
        id = tgid;
    }
    int nonblock = (fflags & O_NONBLOCK) && !(options & WNOHANG);
    struct wait_req w = { .which = which, .id = id,
                          .options = options | (nonblock ? WNOHANG : 0) };
    int status = 0;
    uint32_t uid = 0;
    struct rusage_acct ru;
    memset(&ru, 0, sizeof(ru));
    long r = do_wait(t, &w, &status, &uid, &ru);
    if (r < 0)
        return r;
    if (r == 0 && nonblock)
        return -EAGAIN;   /* a non-blocking pidfd's child is still running */
    /* the fifth argument: the child's rusage, written when a child was found */
    if (r > 0 && arg_u64(a, 4) && copy_rusage_out(t, arg_u64(a, 4), &ru) < 0)
        return -EFAULT;
    if (uinfo) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (r > 0) {
            si.si_signo = SIGCHLD;
            si.si_pid = (pid_t)r;
            si.si_uid = uid;
            if (WIFEXITED(status)) {
                si.si_code = CLD_EXITED;
                si.si_status = WEXITSTATUS(status);
            } else if (WIFSTOPPED(status)) {
                si.si_code = CLD_STOPPED;
                si.si_status = WSTOPSIG(status);
            } else if (WIFCONTINUED(status)) {
                si.si_code = CLD_CONTINUED;
                si.si_status = SIGCONT;
            } else {
                si.si_code = CLD_KILLED;
                si.si_status = WTERMSIG(status);
            }
        }
        if (mm_copy_out(t->mm, uinfo, &si, sizeof(si), 0) < 0)
            return -EFAULT;
    }
    return 0;
}

long sys_getppid(struct task *t, const struct syscall_args *a)
{
    (void)a;
    pthread_mutex_lock(&g_kernel.mu);
    int ppid = t->tg->parent ? t->tg->parent->tgid : 0;
    pthread_mutex_unlock(&g_kernel.mu);
    return ppid;
}

/* find_tg: the process with tgid pid (0: the caller's). g_kernel.mu held. */
static struct thread_group *find_tg(struct task *t, int pid)
{
    if (pid == 0)
        return t->tg;
    struct task *x = kernel_find_task(pid);
    return x && x->tg->tgid == pid && !x->tg->zombie ? x->tg : NULL;
}

long sys_getpgid(struct task *t, const struct syscall_args *a)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = find_tg(t, arg_int(a, 0));
    long r = tg ? tg->pgid : -ESRCH;
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_getpgrp(struct task *t, const struct syscall_args *a)
{
    (void)a;
    pthread_mutex_lock(&g_kernel.mu);
    long r = t->tg->pgid;
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_getsid(struct task *t, const struct syscall_args *a)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = find_tg(t, arg_int(a, 0));
    long r = tg ? tg->sid : -ESRCH;
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_setpgid(struct task *t, const struct syscall_args *a)
{
    int pid = arg_int(a, 0), pgid = arg_int(a, 1);
    if (pgid < 0)
        return -EINVAL;
    pthread_mutex_lock(&g_kernel.mu);
    long r;
    struct thread_group *tg = find_tg(t, pid);
    if (!tg || (tg != t->tg && tg->parent != t->tg)) {
        r = -ESRCH;
        goto out;
    }
    if (tg->sid != t->tg->sid || tg->sid == tg->tgid) {
        r = -EPERM;  /* another session, or a session leader */
        goto out;
    }
    if (pgid == 0)
        pgid = tg->tgid;
    if (pgid != tg->tgid) {
        /* joining a group: it must exist in the same session */
        int found = 0;
        for (int i = 1; i < PID_MAX && !found; i++) {
            struct task *x = g_kernel.tasks[i];
            found = x && x->tg->pgid == pgid && x->tg->sid == t->tg->sid;
        }
        if (!found) {
            r = -EPERM;
            goto out;
        }
    }
    tg->pgid = pgid;
    r = 0;
out:
    pthread_mutex_unlock(&g_kernel.mu);
    return r;
}

long sys_setsid(struct task *t, const struct syscall_args *a)
{
    (void)a;
    pthread_mutex_lock(&g_kernel.mu);
    long r;
    int in_use = 0;
    struct pty *old_ctty = NULL;
    for (int i = 1; i < PID_MAX && !in_use; i++) {
        struct task *x = g_kernel.tasks[i];
        in_use = x && x->tg->pgid == t->tg->tgid;
    }
    /* a process group leader cannot start a session */
    if (t->tg->pgid == t->tg->tgid || (in_use && t->tg->pgid != t->tg->tgid)) {
        r = -EPERM;
    } else {
        t->tg->sid = t->tg->pgid = t->tg->tgid;
        r = t->tg->sid;
        /* a new session starts without a controlling terminal */
        old_ctty = t->tg->ctty;
        t->tg->ctty = NULL;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    pty_put(old_ctty);
    return r;
}

/* futex_deadline: the futex timeout: relative for FUTEX_WAIT, absolute for
 * FUTEX_WAIT_BITSET. 0, or -errno. */
static int futex_deadline(struct task *t, uint64_t uts, int abs, int id,
                          struct timespec *out)
{
    struct { int64_t sec, nsec; } g;
    if (mm_copy_in(t->mm, &g, uts, sizeof(g)) < 0)
        return -EFAULT;
    if (g.sec < 0 || g.nsec < 0 || g.nsec >= 1000000000)
        return -EINVAL;
    if (abs) {
        out->tv_sec = g.sec;
        out->tv_nsec = g.nsec;
        return 0;
    }
    clock_gettime(id, out);
    out->tv_sec += g.sec;
    out->tv_nsec += g.nsec;
    if (out->tv_nsec >= 1000000000) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000;
    }
    return 0;
}

long sys_futex(struct task *t, const struct syscall_args *a)
{
    uint64_t uaddr = arg_u64(a, 0);
    int op = arg_int(a, 1);
    uint32_t val = arg_uint(a, 2);
    uint64_t utime = arg_u64(a, 3);
    uint64_t uaddr2 = arg_u64(a, 4);
    uint32_t val3 = arg_uint(a, 5);
    int private = (op & FUTEX_PRIVATE_FLAG) != 0;
    int id = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    int cmd = op & FUTEX_CMD_MASK;
    struct timespec deadline, *dl = NULL;
    int r;
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if (utime) {
            r = futex_deadline(t, utime, cmd == FUTEX_WAIT_BITSET, id, &deadline);
            if (r < 0)
                return r;
            dl = &deadline;
        }
        r = futex_wait(t, uaddr, val, cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3,
                       private, id, dl);
        if (r == -EINTR)
            return dl ? -EINTR : -ERESTARTSYS;
        return r;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        return futex_wake(t->mm, uaddr, (int)MIN(val, (uint32_t)INT32_MAX),
                          cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3, private);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
        return futex_requeue(t->mm, uaddr, uaddr2, (int)val, (int)(int64_t)utime,
                             cmd == FUTEX_CMP_REQUEUE, val3, private);
    case FUTEX_WAKE_OP:
        return futex_wake_op(t->mm, uaddr, uaddr2, (int)val, (int)(int64_t)utime, val3,
                             private);
    default:
        return -ENOSYS;  /* PI futexes are not implemented */
    }
}
