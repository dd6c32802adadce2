/* Controlling terminals and job control (Linux's drivers/tty/tty_jobctrl.c): which
 * session a pty belongs to and its foreground process group, how a session leader
 * acquires and loses it, the background checks that send SIGTTOU/SIGTTIN, and the
 * signals of a hangup.
 *
 * A process's controlling terminal is thread_group.ctty (a pty reference); the pty
 * records the session and foreground group. All of it is protected by g_kernel.mu,
 * which is also what the process-group scans need. pty_put never takes a lock, so
 * the references dropped here are dropped under g_kernel.mu.
 *
 * Stopping: the Sentry's default action for SIGTTOU/SIGTTIN/SIGTSTP stops only the
 * thread that takes the signal (until SIGCONT), and the parent gets no SIGCHLD for it
 * (job-control stops are an open item of sentry/kernel/signal.c). The checks and
 * signals here are Linux's either way. */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sysmacros.h>

#include "lib/err.h"
#include "sentry/fs/tty_impl.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

/* The sandbox has no capabilities beyond root's uid 0 (the rule vfs_permission
 * follows too); CAP_SYS_ADMIN checks use it. */
static int capable_admin(struct task *t) { return t->cred.euid == 0; }

static int is_session_leader(const struct thread_group *tg) { return tg->sid == tg->tgid; }

/* kill_pgrp: Linux's kill_pgrp(pgrp, sig, 1): sig from the kernel (SI_KERNEL) to
 * every process of the group. g_kernel.mu held. */
static void kill_pgrp(int pgid, int sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = SI_KERNEL;
    signal_send_pgrp(pgid, sig, &si);
}

/* process_at: the process whose table entry is i (its leader), or NULL. */
static struct thread_group *process_at(int i)
{
    struct task *x = g_kernel.tasks[i];
    return x && x->tg->leader == x ? x->tg : NULL;
}

/* clear_ctty: tg has no controlling terminal any more. g_kernel.mu held. */
static void clear_ctty(struct thread_group *tg)
{
    struct pty *p = tg->ctty;
    tg->ctty = NULL;
    pty_put(p);
}

/* session_clear_tty: no process of session sid keeps a controlling terminal. */
static void session_clear_tty(int sid)
{
    for (int i = 1; i < PID_MAX; i++) {
        struct thread_group *tg = process_at(i);
        if (tg && tg->sid == sid && tg->ctty)
            clear_ctty(tg);
    }
}

/* set_ctty: __proc_set_tty: p becomes tg's controlling terminal, tg's session and
 * process group its session and foreground group. */
static void set_ctty(struct thread_group *tg, struct pty *p)
{
    if (tg->ctty)
        clear_ctty(tg);
    pty_get(p);
    tg->ctty = p;
    p->session = tg->sid;
    p->pgrp = tg->pgid;
}

void tty_send_fg(struct pty *p, uint64_t sigs)
{
    pthread_mutex_lock(&g_kernel.mu);
    int pgrp = p->pgrp;
    for (int sig = 1; pgrp && sig <= 64; sig++)
        if (sigs & (1ULL << (sig - 1)))
            kill_pgrp(pgrp, sig);
    pthread_mutex_unlock(&g_kernel.mu);
}

/* pgrp_orphaned: will_become_orphaned_pgrp: no live member of pgid has a parent in
 * another group of the same session. Linux discounts a parent that is the global
 * init; the sandbox's pid 1 is a container's init, which Linux counts. */
static int pgrp_orphaned(int pgid)
{
    for (int i = 1; i < PID_MAX; i++) {
        struct thread_group *tg = process_at(i);
        if (!tg || tg->pgid != pgid || tg->zombie)
            continue;
        struct thread_group *parent = tg->parent;
        if (!parent)
            continue;
        if (parent->pgid != pgid && parent->sid == tg->sid)
            return 0;
    }
    return 1;
}

int tty_check_change(struct task *t, struct pty *p, int sig)
{
    if (!t)
        return 0;
    int ret = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (tg->ctty == p && p->pgrp && tg->pgid != p->pgrp) {
        int ignored = (__atomic_load_n(&t->sigmask, __ATOMIC_RELAXED) & SIGBIT(sig)) ||
                      tg->actions[sig - 1].handler == (uint64_t)SIG_IGN;
        if (ignored) {
            if (sig == SIGTTIN)
                ret = -EIO;
        } else if (pgrp_orphaned(tg->pgid)) {
            ret = -EIO;
        } else {
            kill_pgrp(tg->pgid, sig);
            ret = -ERESTARTSYS;
        }
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

void tty_open_ctty(struct task *t, struct pty *p)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (is_session_leader(tg) && !tg->ctty && p->session == 0)
        set_ctty(tg, p);
    pthread_mutex_unlock(&g_kernel.mu);
}

void tty_hangup(struct pty *p)
{
    pthread_mutex_lock(&g_kernel.mu);
    int sid = p->session;
    for (int i = 1; i < PID_MAX; i++) {
        struct thread_group *tg = process_at(i);
        if (!tg)
            continue;
        if (tg->ctty == p)
            clear_ctty(tg);
        /* tty_signal_session_leader */
        if (sid && tg->sid == sid && is_session_leader(tg) && !tg->zombie) {
            signal_send_group(tg, SIGHUP, NULL);
            signal_send_group(tg, SIGCONT, NULL);
        }
    }
    p->session = 0;
    p->pgrp = 0;
    pthread_mutex_unlock(&g_kernel.mu);
}

/* disassociate: disassociate_ctty for a session leader whose terminal is p: SIGHUP
 * (and SIGCONT unless it is exiting) to the foreground group, then the session has
 * no terminal. g_kernel.mu held. */
static void disassociate(struct thread_group *tg, struct pty *p, int on_exit)
{
    int pgrp = p->pgrp;
    if (pgrp) {
        kill_pgrp(pgrp, SIGHUP);
        if (!on_exit)
            kill_pgrp(pgrp, SIGCONT);
    }
    p->session = 0;
    p->pgrp = 0;
    session_clear_tty(tg->sid);
}

void tty_exit_process(struct thread_group *tg)
{
    pthread_mutex_lock(&g_kernel.mu);
    if (tg->ctty && is_session_leader(tg))
        disassociate(tg, tg->ctty, 1);
    if (tg->ctty)
        clear_ctty(tg);
    pthread_mutex_unlock(&g_kernel.mu);
}

void tty_proc_stat(const struct thread_group *tg, int *tty_nr, int *tpgid)
{
    *tty_nr = 0;
    *tpgid = -1;
    const struct pty *p = tg->ctty;
    if (!p)
        return;
    /* new_encode_dev(MKDEV(136, N)) */
    unsigned minor = (unsigned)p->index;
    *tty_nr = (int)((minor & 0xff) | (PTS_MAJOR << 8) | ((minor & ~0xffu) << 12));
    if (p->pgrp)
        *tpgid = p->pgrp;
}

/* ---- the ioctls ---- */

/* tiocsctty: TIOCSCTTY: a session leader without a terminal takes p; arg 1 lets
 * root take it from another session. */
static long tiocsctty(struct task *t, struct file *f, struct pty *p, uint64_t arg)
{
    long ret = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (is_session_leader(tg) && p->session == tg->sid)
        goto out;   /* already ours */
    if (!is_session_leader(tg) || tg->ctty) {
        ret = -EPERM;
        goto out;
    }
    if (p->session) {
        if ((int)arg != 1 || !capable_admin(t)) {
            ret = -EPERM;
            goto out;
        }
        session_clear_tty(p->session);   /* steal it */
    }
    if ((f->flags & O_ACCMODE) == O_WRONLY && !capable_admin(t)) {
        ret = -EPERM;
        goto out;
    }
    set_ctty(tg, p);
out:
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

/* tiocnotty: TIOCNOTTY: the caller gives up its terminal; a session leader takes the
 * whole session off it, with SIGHUP and SIGCONT to the foreground group. */
static long tiocnotty(struct task *t, struct pty *p, int master)
{
    long ret = 0;
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (master || tg->ctty != p) {
        ret = -ENOTTY;
    } else {
        if (is_session_leader(tg))
            disassociate(tg, p, 0);
        if (tg->ctty)
            clear_ctty(tg);
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

/* session_of: the session of the group (or else the process) numbered id, 0 if
 * there is none. */
static int session_of(int id)
{
    for (int i = 1; i < PID_MAX; i++) {
        struct thread_group *tg = process_at(i);
        if (tg && tg->pgid == id && !tg->zombie)
            return tg->sid;
    }
    struct task *x = id > 0 && id < PID_MAX ? kernel_find_task(id) : NULL;
    return x ? x->tg->sid : 0;
}

/* tiocspgrp: TIOCSPGRP (tcsetpgrp): a background caller gets SIGTTOU first. */
static long tiocspgrp(struct task *t, struct pty *p, uint64_t arg)
{
    long ret = tty_check_change(t, p, SIGTTOU);
    if (ret == -EIO)
        return -ENOTTY;
    if (ret)
        return ret;
    int pgrp;
    if (mm_copy_in(t->mm, &pgrp, arg, sizeof(pgrp)) < 0)
        return -EFAULT;
    if (pgrp < 0)
        return -EINVAL;
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    if (tg->ctty != p || p->session != tg->sid) {
        ret = -ENOTTY;
    } else {
        int sid = session_of(pgrp);
        if (!sid)
            ret = -ESRCH;
        else if (sid != tg->sid)
            ret = -EPERM;
        else
            p->pgrp = pgrp;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

long tty_ctty_ioctl(struct task *t, struct file *f, struct pty *p, unsigned cmd,
                    uint64_t arg)
{
    int master = tty_is_master(f);
    switch (cmd) {
    case TIOCSCTTY:
        return tiocsctty(t, f, p, arg);
    case TIOCNOTTY:
        return tiocnotty(t, p, master);
    case TIOCSPGRP:
        return tiocspgrp(t, p, arg);
    case TIOCGPGRP:
    case TIOCGSID: {
        /* the slave answers only its own session; the master always */
        pthread_mutex_lock(&g_kernel.mu);
        int mine = master || t->tg->ctty == p;
        int val = cmd == TIOCGPGRP ? p->pgrp : p->session;
        pthread_mutex_unlock(&g_kernel.mu);
        if (!mine || (cmd == TIOCGSID && !val))
            return -ENOTTY;
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    }
    default:
        return -ENOIOCTLCMD;
    }
}
