/* execve: finds the program through the VFS (following #! scripts to their
 * interpreter, and PT_INTERP to the dynamic loader), then, past the point of no
 * return, gives the process a fresh address space with the program loaded, closes its
 * close-on-exec fds, resets its handled signals and lets a vfork parent go on. */
#include "sentry/kernel/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/posix_timer.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/loader/load.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* Linux follows at most this many #! interpreters (BINPRM_MAX_RECURSION). */
#define MAX_SCRIPT_DEPTH 4
/* A #! line is read up to this many bytes (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256

/* open_exec: opens path for execution, with execve's checks. */
static int open_exec(struct task *t, int dirfd, const char *path, int at_flags,
                     struct file **out)
{
    int oflags = O_RDONLY | ((at_flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
    unsigned wf = (at_flags & AT_EMPTY_PATH) ? WALK_EMPTY_PATH : 0;
    struct file *f;
    int err = vfs_open(t, dirfd, path, oflags, 0, wf, &f);
    if (err == -ELOOP && (at_flags & AT_SYMLINK_NOFOLLOW))
        return -ELOOP;
    if (err < 0)
        return err;
    struct inode *ino = f->inode;
    if (!ino || !S_ISREG(ino->mode) ||
        (f->path.mnt && (f->path.mnt->flags & MNT_NOEXEC)))
        err = -EACCES;
    else
        err = vfs_permission(&t->cred, ino, MAY_EXEC);
    if (err < 0) {
        file_put(f);
        return err;
    }
    *out = f;
    return 0;
}

/* parse_shebang: if buf (n bytes) starts a #! script, fills interp and arg (arg may
 * be empty) and returns 1; 0 if it is not a script; -ENOEXEC for an empty #! line. */
static int parse_shebang(const char *buf, size_t n, char *interp, char *arg)
{
    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return 0;
    char line[SHEBANG_MAX + 1];
    size_t len = 0;
    for (size_t i = 2; i < n && buf[i] != '\n'; i++)
        line[len++] = buf[i];
    line[len] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (e == p)
        return -ENOEXEC;
    memcpy(interp, p, (size_t)(e - p));
    interp[e - p] = 0;
    while (*e == ' ' || *e == '\t')
        e++;
    /* the rest of the line, trailing blanks removed, is one argument */
    size_t al = strlen(e);
    while (al && (e[al - 1] == ' ' || e[al - 1] == '\t' || e[al - 1] == '\r'))
        al--;
    memcpy(arg, e, al);
    arg[al] = 0;
    return 1;
}

/* count: entries of a NULL-terminated vector. */
static size_t count(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* take_lead: t, exec'ing in a thread other than its process's leader, becomes the
 * leader as in Linux's de_thread: it takes the leader's pid (the tgid; its own tid is
 * freed) and the old leader, already exited and waiting in task_exit, is released:
 * its host thread leaves as any thread's does. t's host thread created the new
 * address space's stub, which is what a leader's host thread must own; t has left
 * the old one, whose stub dies with the old leader's host thread. Every other thread
 * has exited (dethread). */
static void take_lead(struct task *t)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    struct task *old = tg->leader;
    if (old == t) {
        pthread_mutex_unlock(&g_kernel.mu);
        return;
    }
    int old_tid = t->tid;
    if (g_kernel.tasks[old_tid] == t)
        g_kernel.tasks[old_tid] = NULL;
    g_kernel.tasks[tg->tgid] = t;
    t->tid = tg->tgid;
    old->tid = old_tid;
    tg->leader = t;
    if (g_kernel.init == old)
        g_kernel.init = t;
    pthread_cond_broadcast(&g_kernel.thread_exit);   /* the old leader may go */
    pthread_mutex_unlock(&g_kernel.mu);
}

/* dethread: the other threads of t's process exit before the image changes (a
 * leader that is not t waits in task_exit until take_lead). -EAGAIN if t is being
 * killed meanwhile (a group exit, or another thread's exec): the call fails and t
 * exits. */
static int dethread(struct task *t)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct thread_group *tg = t->tg;
    int ret = -EAGAIN;
    if (t->exiting)
        goto out;
    for (struct task *x = tg->threads; x; x = x->next) {
        if (x != t) {
            x->exiting = 1;
            task_wake(x);
        }
    }
    while (tg->nlive > 1)
        pthread_cond_wait(&g_kernel.thread_exit, &g_kernel.mu);
    if (t->exiting)
        goto out;
    ret = 0;
out:
    pthread_mutex_unlock(&g_kernel.mu);
    return ret;
}

int kernel_execve(struct task *t, int dirfd, const char *path, char *const argv[],
                  char *const envp[], int at_flags)
{
    char err[256] = "";
    char *cur_path = strdup(path);
    char **args = NULL;
    size_t nargs = count(argv);
    struct file *exe = NULL, *interp = NULL;
    int ret = -ENOMEM;
    if (!cur_path)
        goto out;
    args = calloc(nargs + 1, sizeof(*args));
    if (!args)
        goto out;
    memcpy(args, argv, nargs * sizeof(*args));
    /* args' strings are borrowed from argv except the ones scripts add (owned) */
    char *owned[3 * MAX_SCRIPT_DEPTH] = { 0 };   /* interpreter, argument, script */
    int nowned = 0;

    for (int depth = 0;; depth++) {
        ret = open_exec(t, depth ? AT_FDCWD_GUEST : dirfd, cur_path,
                        depth ? 0 : at_flags, &exe);
        if (ret < 0)
            goto out_owned;
        char head[SHEBANG_MAX];
        ssize_t n = vfs_kernel_read(exe, head, sizeof(head), 0);
        if (n < 0) {
            ret = (int)n;
            goto out_owned;
        }
        char sh_interp[SHEBANG_MAX + 1], sh_arg[SHEBANG_MAX + 1];
        int is_script = parse_shebang(head, (size_t)n, sh_interp, sh_arg);
        if (is_script < 0) {
            ret = is_script;
            goto out_owned;
        }
        if (!is_script)
            break;
        if (depth >= MAX_SCRIPT_DEPTH) {
            ret = -ELOOP;
            goto out_owned;
        }
        /* argv becomes: interpreter [arg] script-path argv[1..] */
        size_t extra = sh_arg[0] ? 3 : 2;
        size_t rest = nargs ? nargs - 1 : 0;
        char **na = calloc(extra + rest + 1, sizeof(*na));
        char *pi = strdup(sh_interp), *pa = sh_arg[0] ? strdup(sh_arg) : NULL;
        char *ps = strdup(cur_path);
        if (!na || !pi || !ps || (sh_arg[0] && !pa) || nowned + 3 > (int)ARRAY_SIZE(owned)) {
            free(na); free(pi); free(pa); free(ps);
            ret = -ENOMEM;
            goto out_owned;
        }
        size_t k = 0;
        na[k++] = pi;
        if (pa)
            na[k++] = pa;
        na[k++] = ps;
        memcpy(na + k, args + (nargs ? 1 : 0), rest * sizeof(*na));
        owned[nowned++] = pi;
        owned[nowned++] = ps;
        if (pa)
            owned[nowned++] = pa;
        free(args);
        args = na;
        nargs = k + rest;
        free(cur_path);
        cur_path = strdup(sh_interp);
        file_put(exe);
        exe = NULL;
        if (!cur_path) {
            ret = -ENOMEM;
            goto out_owned;
        }
    }

    char ipath[PATH_MAX];
    if ((ret = loader_interp_path(exe, ipath, sizeof(ipath), err, sizeof(err))) < 0) {
        log_info("execve %s: %s", cur_path, err);
        ret = ret == -EACCES ? -EACCES : -ENOEXEC;
        goto out_owned;
    }
    if (ipath[0]) {
        ret = vfs_open(t, AT_FDCWD_GUEST, ipath, O_RDONLY, 0, 0, &interp);
        if (ret < 0) {
            log_info("execve %s: interpreter %s: %d", cur_path, ipath, ret);
            goto out_owned;
        }
    }

    /* the point of no return */
    if ((ret = dethread(t)) < 0)
        goto out_owned;
    /* robust futexes held in the old image die with it (Linux's exec_mm_release) */
    futex_exit_robust_list(t);
    int e = 0;
    struct mm *mm = mm_create(&e);
    if (!mm) {
        ret = e;
        goto out_owned;
    }
    struct mm *old = t->mm;
    t->mm = mm;
    ret = loader_load(t, exe, interp, path, args, envp, err, sizeof(err));
    if (old) {
        cputime_note_rss(t->tg, mm_rss(old));   /* ru_maxrss spans the exec */
        /* a thread that was not the old image's leader ends its stub thread there */
        g_plat->thread_leave(old->as);
        mm_put(old);
    }
    take_lead(t);
    ptimer_exit(t->tg, 0);   /* POSIX timers do not survive exec; itimers do */
    if (ret < 0) {
        log_err("execve %s: %s", cur_path, err);
        task_fatal_signal(t, SIGSEGV);
        ret = 0;
        goto out_owned;
    }

    if (__atomic_load_n(&t->fds->refs, __ATOMIC_ACQUIRE) > 1) {
        struct fdtable *own = fdtable_dup(t->fds);
        if (own) {
            fdtable_put(t->fds);
            t->fds = own;
        }
    }
    fdtable_exec(t->fds);
    signal_exec_reset(t);
    cred_exec(t);
    t->robust_list = t->robust_len = 0;
    t->clear_child_tid = 0;
    const char *base = strrchr(path, '/');
    snprintf(t->comm, sizeof(t->comm), "%s", base ? base + 1 : path);
    if (t->vfork_parent) {
        struct task *p = t->vfork_parent;
        pthread_mutex_lock(&p->mu);
        p->vfork_done = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mu);
        t->vfork_parent = NULL;
    }
    signal_reset_fpu(t);
    ret = 0;

out_owned:
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
out:
    if (exe)
        file_put(exe);
    if (interp)
        file_put(interp);
    free(args);
    free(cur_path);
    return ret;
}
