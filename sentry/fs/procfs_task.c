/* procfs: the per-process files (/proc/PID/... and /proc/PID/task/TID/...). Each is
 * generated from a snapshot of the task taken under g_kernel.mu (proc_snap) plus the
 * address space and fd table it references, so nothing here holds g_kernel.mu while
 * it formats, copies guest memory or asks the VFS for a path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "lib/util.h"
#include "sentry/fs/pidfd.h"
#include "sentry/fs/procfs_impl.h"
#include "sentry/fs/tty.h"
#include "sentry/kernel/jobctl.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

/* x86-64 open(2) always adds O_LARGEFILE, which fdinfo shows; glibc's is 0 here. */
#define LINUX_O_LARGEFILE 0100000

#ifndef container_of
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#endif

/* ---- snapshots ---- */

void proc_snap_task(struct task *t, struct proc_snap *s)
{
    struct thread_group *tg = t->tg;
    memset(s, 0, sizeof(*s));
    s->tid = t->tid;
    s->tgid = tg->tgid;
    s->ppid = tg->parent ? tg->parent->tgid : 0;
    s->pgid = tg->pgid;
    s->sid = tg->sid;
    tty_proc_stat(tg, &s->tty_nr, &s->tpgid);
    s->nthreads = tg->nlive;
    memcpy(s->comm, t->comm, sizeof(s->comm));
    s->comm[sizeof(s->comm) - 1] = '\0';
    /* a thread that has exited but whose process lives on (a leader after exit(2))
     * is no longer on tg->threads: Linux shows it as a zombie */
    int live = 0;
    for (struct task *x = tg->threads; x; x = x->next)
        live |= x == t;
    s->state = (tg->zombie || !live) ? 'Z' : t == current_task ? 'R' :
               (__atomic_load_n(&t->jobctl, __ATOMIC_ACQUIRE) & JOBCTL_STOPPED) ? 'T' : 'S';
    s->umask = t->umask;
    s->no_new_privs = t->no_new_privs;
    pthread_mutex_lock(&t->mu);
    cred_copy(&s->cred, &t->cred);
    s->sigblk = t->sigmask;
    s->sigpnd = sigpending_private(&t->pending);
    pthread_mutex_unlock(&t->mu);
    s->sigq = sigqueue_user_count(s->cred.ruid);
    for (struct task *x = tg->threads; x; x = x->next) {
        pthread_mutex_lock(&x->mu);
        s->shdpnd |= x->pending.shared;
        pthread_mutex_unlock(&x->mu);
    }
    for (int i = 0; i < GUEST_NSIG; i++) {
        uint64_t h = tg->actions[i].handler;
        if (h == (uint64_t)(uintptr_t)SIG_IGN)
            s->sigign |= 1ULL << i;
        else if (h != (uint64_t)(uintptr_t)SIG_DFL)
            s->sigcgt |= 1ULL << i;
    }
    s->exit_signal = tg->exit_signal;
    cputime_usage_thread(t, &s->use_thread);
    cputime_usage_group(tg, &s->use_group);
    s->use_children = tg->used_children;
    memcpy(s->rlimits, tg->rlimits, sizeof(s->rlimits));
    /* a process's mm and fd table are released after its last thread leaves (nlive
     * reaches 0 under g_kernel.mu first): only take references before that */
    if (!tg->zombie && tg->nlive > 0) {
        if (t->mm) {
            mm_get(t->mm);
            s->mm = t->mm;
        }
        if (t->fds) {
            __atomic_add_fetch(&t->fds->refs, 1, __ATOMIC_RELAXED);
            s->fds = t->fds;
        }
    }
}

int proc_snap_tid(int tgid, int tid, struct proc_snap *s)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct task *t = kernel_find_task(tid);
    int ok = t && t->tg->tgid == tgid;
    if (ok)
        proc_snap_task(t, s);
    pthread_mutex_unlock(&g_kernel.mu);
    return ok ? 0 : -ESRCH;
}

void proc_snap_release(struct proc_snap *s)
{
    cred_release(&s->cred);
    if (s->mm)
        mm_put(s->mm);
    if (s->fds)
        fdtable_put(s->fds);
    s->mm = NULL;
    s->fds = NULL;
}

/* task_fs_path: thread tid's root (root != 0) or working directory. */
static int task_fs_path(int tgid, int tid, int root, struct path *out)
{
    int err = -ENOENT;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *t = kernel_find_task(tid);
    if (t && t->tg->tgid == tgid && !t->tg->zombie && t->tg->nlive > 0 && t->fs) {
        /* fs_get_* only take fs->mu (a leaf lock) and references */
        if (root)
            fs_get_root(t, out);
        else
            fs_get_cwd(t, out);
        err = out->d ? 0 : -ENOENT;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return err;
}

/* reader_root: the root paths are shown relative to: the reader's. */
static void reader_root(struct path *out)
{
    if (current_task && current_task->fs)
        fs_get_root(current_task, out);
    else
        vfs_root(out);
}

/* ---- address-space numbers ---- */

struct mm_numbers {
    uint64_t vsize, rss, stack, data, exe, shared;   /* bytes */
    uint64_t code_start, code_end;
};

static void mm_numbers(struct mm *mm, struct mm_numbers *n)
{
    memset(n, 0, sizeof(*n));
    if (!mm)
        return;
    /* procfs reads the range maps directly: mm->mu, nothing else called under it */
    pthread_mutex_lock(&mm->mu);
    for (size_t i = 0; i < mm->vmas.n; i++) {
        const struct range *r = &mm->vmas.r[i];
        uint64_t len = r->end - r->start;
        n->vsize += len;
        if (r->vma.flags & (VMA_STACK | VMA_GROWSDOWN))
            n->stack += len;
        else if ((r->vma.prot & PROT_WRITE) && !(r->vma.flags & VMA_SHARED))
            n->data += len;
        if (r->vma.flags & VMA_SHARED)
            n->shared += len;
        if (r->vma.obj && r->vma.obj == mm->exe && (r->vma.prot & PROT_EXEC)) {
            n->exe += len;
            if (!n->code_start)
                n->code_start = r->start;
            n->code_end = r->end;
        }
    }
    for (size_t i = 0; i < mm->pmas.n; i++)
        n->rss += mm->pmas.r[i].end - mm->pmas.r[i].start;
    pthread_mutex_unlock(&mm->mu);
}

/* ---- stat, statm, status ---- */

void proc_gen_stat(const struct proc_snap *s, struct sbuf *b)
{
    struct mm_numbers n;
    mm_numbers(s->mm, &n);
    struct mm *mm = s->mm;
    unsigned long long rsslim = s->rlimits[RLIMIT_RSS][0];
    /* the legacy signal fields show only signals 1-31 */
    const uint64_t low = 0x7fffffffULL;
    /* the thread's use under task/TID/, the process's (all threads, exited ones
     * too) under PID/; the children's either way, as Linux's do_task_stat */
    const struct rusage_acct *u = s->thread ? &s->use_thread : &s->use_group;
    const struct rusage_acct *c = &s->use_children;
    /* fields 1-21: ... flags minflt cminflt majflt cmajflt utime stime cutime cstime
     * priority nice num_threads itrealvalue */
    sb_printf(b, "%d (%s) %c %d %d %d %d %d %u %llu %llu 0 0 %llu %llu %llu %llu 20 0 %d 0",
              s->tid, s->comm, s->state, s->ppid, s->pgid, s->sid, s->tty_nr, s->tpgid,
              0x00400000u /* PF_RANDOMIZE */, (unsigned long long)u->min_flt,
              (unsigned long long)c->min_flt,
              (unsigned long long)(u->cpu.utime / NS_PER_USER_HZ),
              (unsigned long long)(u->cpu.stime / NS_PER_USER_HZ),
              (unsigned long long)(c->cpu.utime / NS_PER_USER_HZ),
              (unsigned long long)(c->cpu.stime / NS_PER_USER_HZ), s->nthreads);
    /* 22-30: starttime vsize rss rsslim startcode endcode startstack kstkesp kstkeip */
    sb_printf(b, " 0 %llu %llu %llu %llu %llu %llu 0 0",
              (unsigned long long)n.vsize, (unsigned long long)(n.rss / PAGE_SIZE), rsslim,
              (unsigned long long)n.code_start, (unsigned long long)n.code_end,
              (unsigned long long)(mm ? mm->stack_top : 0));
    /* 31-44: signal blocked sigignore sigcatch wchan nswap cnswap exit_signal
     * processor rt_priority policy delayacct_blkio_ticks guest_time cguest_time */
    sb_printf(b, " %llu %llu %llu %llu 0 0 0 %d 0 0 0 0 0 0",
              (unsigned long long)(s->sigpnd & low), (unsigned long long)(s->sigblk & low),
              (unsigned long long)(s->sigign & low), (unsigned long long)(s->sigcgt & low),
              s->exit_signal);
    /* 45-52: start_data end_data start_brk arg_start arg_end env_start env_end
     * exit_code */
    sb_printf(b, " 0 0 %llu %llu %llu %llu %llu 0\n",
              (unsigned long long)(mm ? mm->brk_start : 0),
              (unsigned long long)(mm ? mm->arg_start : 0),
              (unsigned long long)(mm ? mm->arg_end : 0),
              (unsigned long long)(mm ? mm->env_start : 0),
              (unsigned long long)(mm ? mm->env_end : 0));
}

void proc_gen_statm(const struct proc_snap *s, struct sbuf *b)
{
    struct mm_numbers n;
    mm_numbers(s->mm, &n);
    /* size resident shared text lib data dt, in pages */
    sb_printf(b, "%llu %llu %llu %llu 0 %llu 0\n",
              (unsigned long long)(n.vsize / PAGE_SIZE), (unsigned long long)(n.rss / PAGE_SIZE),
              (unsigned long long)(n.shared / PAGE_SIZE), (unsigned long long)(n.exe / PAGE_SIZE),
              (unsigned long long)((n.data + n.stack) / PAGE_SIZE));
}

static const char *state_name(char c)
{
    switch (c) {
    case 'R': return "R (running)";
    case 'Z': return "Z (zombie)";
    case 'T': return "T (stopped)";
    default: return "S (sleeping)";
    }
}

void proc_gen_status(const struct proc_snap *s, struct sbuf *b)
{
    sb_printf(b, "Name:\t");
    for (const char *c = s->comm; *c; c++) {
        /* seq_escape(comm, "\n\\") */
        if (*c == '\n')
            sb_printf(b, "\\n");
        else if (*c == '\\')
            sb_printf(b, "\\\\");
        else
            sb_putc(b, *c);
    }
    sb_printf(b, "\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"
                 "TracerPid:\t0\n",
              s->umask, state_name(s->state), s->tgid, s->tid, s->ppid);
    const struct creds *c = &s->cred;
    int fdsize = 0;
    if (s->fds) {
        pthread_mutex_lock(&s->fds->mu);
        fdsize = s->fds->size;
        pthread_mutex_unlock(&s->fds->mu);
    }
    sb_printf(b, "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t%d\nGroups:\t",
              c->ruid, c->euid, c->suid, c->fsuid, c->rgid, c->egid, c->sgid, c->fsgid,
              MAX(fdsize, 64));
    /* space-separated with a trailing space, as Linux's proc_pid_status */
    for (int i = 0; c->groups && i < c->groups->count; i++)
        sb_printf(b, i ? " %u" : "%u", c->groups->gids[i]);
    sb_printf(b, " \n");
    sb_printf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n",
              s->tgid, s->tid, s->pgid, s->sid);
    if (s->mm) {
        struct mm_numbers n;
        mm_numbers(s->mm, &n);
        unsigned long long kb = 1024;
#define KB(name, v) sb_printf(b, name ":\t%8llu kB\n", (unsigned long long)(v) / kb)
        KB("VmPeak", n.vsize); KB("VmSize", n.vsize); KB("VmLck", 0); KB("VmPin", 0);
        KB("VmHWM", n.rss); KB("VmRSS", n.rss); KB("RssAnon", n.rss); KB("RssFile", 0);
        KB("RssShmem", 0); KB("VmData", n.data); KB("VmStk", n.stack); KB("VmExe", n.exe);
        KB("VmLib", 0); KB("VmPTE", 0); KB("VmSwap", 0);
#undef KB
        sb_printf(b, "HugetlbPages:\t%8u kB\n", 0);
    }
    sb_printf(b, "CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t%d\nSigQ:\t%llu/%llu\n",
              s->nthreads, (unsigned long long)s->sigq,
              (unsigned long long)s->rlimits[RLIMIT_SIGPENDING][0]);
    sb_printf(b, "SigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\nSigIgn:\t%016llx\n"
                 "SigCgt:\t%016llx\n",
              (unsigned long long)s->sigpnd, (unsigned long long)s->shdpnd,
              (unsigned long long)s->sigblk,
              (unsigned long long)s->sigign, (unsigned long long)s->sigcgt);
    sb_printf(b, "CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\nCapBnd:\t%016llx\n"
                 "CapAmb:\t%016llx\n",
              (unsigned long long)c->cap_inheritable, (unsigned long long)c->cap_permitted,
              (unsigned long long)c->cap_effective, (unsigned long long)c->cap_bset,
              (unsigned long long)c->cap_ambient);
    int ncpu = procfs_ncpus();
    sb_printf(b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\n", s->no_new_privs);
    sb_printf(b, "Speculation_Store_Bypass:\tvulnerable\n"
                 "SpeculationIndirectBranch:\talways enabled\n");
    /* Cpus_allowed: a hex mask in 32-bit groups (enough for 64 CPUs here) */
    uint64_t mask = ncpu >= 64 ? ~0ULL : (1ULL << ncpu) - 1;
    if (mask >> 32)
        sb_printf(b, "Cpus_allowed:\t%x,%08x\n", (unsigned)(mask >> 32), (unsigned)mask);
    else
        sb_printf(b, "Cpus_allowed:\t%x\n", (unsigned)mask);
    if (ncpu > 1)
        sb_printf(b, "Cpus_allowed_list:\t0-%d\n", ncpu - 1);
    else
        sb_printf(b, "Cpus_allowed_list:\t0\n");
    sb_printf(b, "Mems_allowed:\t1\nMems_allowed_list:\t0\n"
                 "voluntary_ctxt_switches:\t%llu\nnonvoluntary_ctxt_switches:\t0\n",
              (unsigned long long)s->use_thread.nvcsw);
}

/* ---- limits ---- */

static const struct { const char *name, *unit; } limit_names[16] = {
    [RLIMIT_CPU] = { "Max cpu time", "seconds" },
    [RLIMIT_FSIZE] = { "Max file size", "bytes" },
    [RLIMIT_DATA] = { "Max data size", "bytes" },
    [RLIMIT_STACK] = { "Max stack size", "bytes" },
    [RLIMIT_CORE] = { "Max core file size", "bytes" },
    [RLIMIT_RSS] = { "Max resident set", "bytes" },
    [RLIMIT_NPROC] = { "Max processes", "processes" },
    [RLIMIT_NOFILE] = { "Max open files", "files" },
    [RLIMIT_MEMLOCK] = { "Max locked memory", "bytes" },
    [RLIMIT_AS] = { "Max address space", "bytes" },
    [RLIMIT_LOCKS] = { "Max file locks", "locks" },
    [RLIMIT_SIGPENDING] = { "Max pending signals", "signals" },
    [RLIMIT_MSGQUEUE] = { "Max msgqueue size", "bytes" },
    [RLIMIT_NICE] = { "Max nice priority", NULL },
    [RLIMIT_RTPRIO] = { "Max realtime priority", NULL },
    [RLIMIT_RTTIME] = { "Max realtime timeout", "us" },
};

void proc_gen_limits(const struct proc_snap *s, struct sbuf *b)
{
    sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for (int i = 0; i < 16; i++) {
        sb_printf(b, "%-25s ", limit_names[i].name);
        for (int j = 0; j < 2; j++) {
            uint64_t v = s->rlimits[i][j];
            if (v == (uint64_t)RLIM_INFINITY)
                sb_printf(b, "%-20s ", "unlimited");
            else
                sb_printf(b, "%-20llu ", (unsigned long long)v);
        }
        if (limit_names[i].unit)
            sb_printf(b, "%-10s\n", limit_names[i].unit);
        else
            sb_putc(b, '\n');
    }
}

/* ---- maps ---- */

void proc_gen_maps(const struct proc_snap *s, struct sbuf *b)
{
    struct mm *mm = s->mm;
    if (!mm)
        return;
    /* copy the VMAs with a hold on each object, so describe() (which may ask the VFS
     * for a path) runs without mm->mu */
    pthread_mutex_lock(&mm->mu);
    size_t n = mm->vmas.n;
    struct range *r = malloc((n ? n : 1) * sizeof(*r));
    if (!r) {
        pthread_mutex_unlock(&mm->mu);
        b->failed = 1;
        return;
    }
    memcpy(r, mm->vmas.r, n * sizeof(*r));
    for (size_t i = 0; i < n; i++)
        if (r[i].vma.obj)
            r[i].vma.obj->ops->hold(r[i].vma.obj);
    pthread_mutex_unlock(&mm->mu);

    char desc[PATH_MAX + 64];
    for (size_t i = 0; i < n; i++) {
        const struct vma *v = &r[i].vma;
        size_t line = b->len;
        sb_printf(b, "%08llx-%08llx %c%c%c%c %08llx ",
                  (unsigned long long)r[i].start, (unsigned long long)r[i].end,
                  (v->prot & PROT_READ) ? 'r' : '-', (v->prot & PROT_WRITE) ? 'w' : '-',
                  (v->prot & PROT_EXEC) ? 'x' : '-', (v->flags & VMA_SHARED) ? 's' : 'p',
                  (unsigned long long)(v->obj ? v->pgoff << PAGE_SHIFT : 0));
        const char *name = NULL;
        uint64_t dev = 0, ino = 0;
        desc[0] = '\0';
        if (v->obj && v->obj->ops->describe) {
            v->obj->ops->describe(v->obj, &dev, &ino, desc, sizeof(desc));
            name = desc;
        }
        sb_printf(b, "%02x:%02x %llu ", major(dev), minor(dev), (unsigned long long)ino);
        if (!name && !v->obj)
            name = (v->flags & (VMA_STACK | VMA_GROWSDOWN)) ? "[stack]" : (v->flags & VMA_HEAP) ? "[heap]" : NULL;
        if (name && *name) {
            sb_pad(b, line, 72);   /* 25 + 6 * sizeof(void *) - 1 */
            sb_printf(b, " %s", name);
        }
        sb_putc(b, '\n');
    }
    for (size_t i = 0; i < n; i++)
        if (r[i].vma.obj)
            r[i].vma.obj->ops->drop(r[i].vma.obj);
    free(r);
}

/* ---- guest memory: cmdline, environ, auxv ---- */

/* A process's argument block is bounded by the loader; cap what one read shows. */
#define MAX_MEM_FILE (1UL << 20)

static void gen_guest_range(struct mm *mm, uint64_t start, uint64_t end, struct sbuf *b)
{
    if (!mm || end <= start)
        return;
    uint64_t len = MIN(end - start, MAX_MEM_FILE);
    char chunk[4096];
    for (uint64_t at = 0; at < len;) {
        size_t n = MIN(sizeof(chunk), len - at);
        /* page by page so a hole ends the text instead of losing it all */
        n = MIN(n, PAGE_SIZE - ((start + at) & (PAGE_SIZE - 1)));
        if (mm_copy_in(mm, chunk, start + at, n) < 0)
            break;
        sb_write(b, chunk, n);
        at += n;
    }
}

/* ---- mounts and mountinfo ---- */

struct mount_rec {
    struct path p;              /* the mount and its root: a reference */
    int id, parent_id;
    unsigned flags, sbflags;
    unsigned maj, min;
    const char *fstype;
    struct superblock *sb;      /* alive while p holds the mount */
    char *source;
    char *root;                 /* the mounted dentry's path within its filesystem */
};

struct mount_list {
    struct mount_rec *r;
    size_t n, cap;
    int failed;
};

/* dentry_fs_path: d's path from its filesystem's root. vfs_tree_mu held. */
static char *dentry_fs_path(struct dentry *d)
{
    int dead = d->dead;
    char buf[PATH_MAX];
    size_t at = sizeof(buf) - 1;
    buf[at] = '\0';
    for (; d && d->parent; d = d->parent) {
        size_t len = strlen(d->name);
        if (len + 1 > at)
            break;
        at -= len;
        memcpy(buf + at, d->name, len);
        buf[--at] = '/';
    }
    const char *path = at == sizeof(buf) - 1 ? "/" : buf + at;
    char *out = malloc(strlen(path) + sizeof("//deleted"));
    if (out)   /* a removed directory shows as Linux's dentry_path shows it */
        strcat(strcpy(out, path), dead ? "//deleted" : "");
    return out;
}

/* collect_mount: called under vfs_tree_mu: copies what the lines need and takes
 * references (atomics only), calling nothing of the VFS. */
static void collect_mount(struct mount *m, void *arg)
{
    struct mount_list *l = arg;
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct mount_rec *nr = realloc(l->r, cap * sizeof(*nr));
        if (!nr) {
            l->failed = 1;
            return;
        }
        l->r = nr;
        l->cap = cap;
    }
    struct mount_rec *r = &l->r[l->n++];
    r->p = (struct path){ m, m->root };
    path_get(&r->p);
    r->id = m->id;
    r->parent_id = m->parent ? m->parent->id : m->id;
    r->flags = m->flags;
    r->sbflags = m->sb->flags;
    r->maj = major(m->sb->dev);
    r->min = minor(m->sb->dev);
    r->fstype = m->sb->fstype;
    r->sb = m->sb;
    r->source = strdup(m->source ? m->source : "none");
    r->root = dentry_fs_path(m->root);
}

/* put_escaped: as Linux's mangle(): space, tab, newline and backslash in octal. */
static void put_escaped(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
            sb_printf(b, "\\%03o", (unsigned char)*s);
        else
            sb_putc(b, *s);
    }
}

/* put_mount_opts: the per-mount options, as Linux's show_mnt_opts after "ro"/"rw"
 * (ro: the mount's or, with sb_ro, also its filesystem's read-only state). */
static void put_mount_opts(struct sbuf *b, unsigned flags, int sb_ro)
{
    sb_printf(b, "%s", (flags & MNT_RDONLY) || sb_ro ? "ro" : "rw");
    static const struct { unsigned flag; const char *name; } opts[] = {
        { MNT_NOSUID, ",nosuid" }, { MNT_NODEV, ",nodev" }, { MNT_NOEXEC, ",noexec" },
        { MNT_NOATIME, ",noatime" }, { MNT_NODIRATIME, ",nodiratime" },
        { MNT_RELATIME, ",relatime" }, { MNT_NOSYMFOLLOW, ",nosymfollow" },
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (flags & opts[i].flag)
            sb_printf(b, "%s", opts[i].name);
}

/* put_fs_opts: the filesystem's own options (",size=1024k"), if it has any. */
static void put_fs_opts(struct sbuf *b, struct superblock *sb)
{
    char opts[256] = "";
    if (sb->ops && sb->ops->show_options)
        sb->ops->show_options(sb, opts, sizeof(opts));
    put_escaped(b, opts);
}

static int gen_mounts(const struct proc_node *node, struct sbuf *b, int info)
{
    struct path root = { 0 };
    if (task_fs_path(node->tgid, node->tid, 1, &root) < 0)
        return 0;   /* a zombie's mount table reads as empty */
    struct mount_list l = { 0 };
    vfs_for_each_mount(collect_mount, &l);
    char *mp = malloc(PATH_MAX);
    for (size_t i = 0; i < l.n; i++) {
        struct mount_rec *r = &l.r[i];
        /* as Linux: mounts the process cannot reach from its root are not shown */
        int len = !vfs_path_is_under(&r->p, &root) ? -ENOENT
                  : mp ? vfs_path_string(&r->p, &root, mp, PATH_MAX) : -ENOMEM;
        int sb_ro = (r->sbflags & SB_RDONLY) != 0;
        if (len >= 0 && len < PATH_MAX && r->source && r->root) {
            mp[len] = '\0';
            /* the mount point is where the mount is, which is never removed: a
             * removed directory mounted there does not make it "(deleted)" */
            size_t dl = strlen(" (deleted)");
            if (r->p.d->dead && (size_t)len >= dl && !strcmp(mp + len - dl, " (deleted)"))
                mp[len - dl] = '\0';
            if (info) {
                sb_printf(b, "%d %d %u:%u ", r->id, r->parent_id, r->maj, r->min);
                put_escaped(b, r->root);
                sb_putc(b, ' ');
                put_escaped(b, mp);
                sb_putc(b, ' ');
                put_mount_opts(b, r->flags, 0);
                sb_printf(b, " - %s ", r->fstype);
                put_escaped(b, r->source);
                sb_printf(b, " %s", sb_ro ? "ro" : "rw");
                put_fs_opts(b, r->sb);
                sb_putc(b, '\n');
            } else {
                put_escaped(b, r->source);
                sb_putc(b, ' ');
                put_escaped(b, mp);
                sb_printf(b, " %s ", r->fstype);
                put_mount_opts(b, r->flags, sb_ro);
                put_fs_opts(b, r->sb);
                sb_printf(b, " 0 0\n");
            }
        }
        path_put(&r->p);
        free(r->source);
        free(r->root);
    }
    free(mp);
    free(l.r);
    path_put(&root);
    return l.failed ? -ENOMEM : 0;
}

/* ---- fds ---- */

int proc_fd_flags(const struct proc_snap *s, int fd)
{
    if (!s->fds || fd < 0)
        return -EBADF;
    int flags = -EBADF;
    pthread_mutex_lock(&s->fds->mu);
    if (fd < s->fds->size && s->fds->files[fd]) {
        struct file *f = s->fds->files[fd];
        flags = (int)(__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & ~O_CLOEXEC);
        if (s->fds->cloexec[fd])
            flags |= O_CLOEXEC;
    }
    pthread_mutex_unlock(&s->fds->mu);
    return flags;
}

static int gen_fdinfo(const struct proc_snap *s, int fd, struct sbuf *b)
{
    int flags = proc_fd_flags(s, fd);
    struct file *f = flags >= 0 ? fdtable_get(s->fds, fd) : NULL;
    if (!f)
        return -ENOENT;
    if (f->path.d)
        flags |= LINUX_O_LARGEFILE;
    /* the position without pos_mu: a reader blocked in read(2) holds it */
    long long pos = __atomic_load_n(&f->pos, __ATOMIC_RELAXED);
    sb_printf(b, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n", pos, (unsigned)flags,
              f->path.mnt ? f->path.mnt->id : 0,
              (unsigned long long)(f->inode ? f->inode->ino : 0));
    if (pidfd_pidref(f)) {
        /* pidfd_show_fdinfo: -1 once the process is reaped */
        int pid = pidfd_pid(f);
        sb_printf(b, "Pid:\t%d\nNSpid:\t%d\n", pid, pid);
    }
    file_put(f);
    return 0;
}

/* ---- dispatch ---- */

int proc_gen_task_file(const struct proc_node *n, struct sbuf *b)
{
    if (n->kind == PK_T_MOUNTS || n->kind == PK_T_MOUNTINFO) {
        if (!proc_task_exists(n->tgid, n->tid))
            return -ESRCH;
        return gen_mounts(n, b, n->kind == PK_T_MOUNTINFO);
    }
    struct proc_snap s;
    if (proc_snap_tid(n->tgid, n->tid, &s) < 0)
        return -ESRCH;
    s.thread = n->thread;
    int err = 0;
    switch (n->kind) {
    case PK_T_STAT: proc_gen_stat(&s, b); break;
    case PK_T_STATM: proc_gen_statm(&s, b); break;
    case PK_T_STATUS: proc_gen_status(&s, b); break;
    case PK_T_LIMITS: proc_gen_limits(&s, b); break;
    case PK_T_MAPS: proc_gen_maps(&s, b); break;
    case PK_T_COMM: sb_printf(b, "%s\n", s.comm); break;
    case PK_T_CMDLINE:
        if (s.mm)
            gen_guest_range(s.mm, s.mm->arg_start, s.mm->arg_end, b);
        break;
    case PK_T_ENVIRON:
        if (s.mm)
            gen_guest_range(s.mm, s.mm->env_start, s.mm->env_end, b);
        break;
    case PK_T_AUXV:
        if (s.mm)
            gen_guest_range(s.mm, s.mm->auxv_start, s.mm->auxv_end, b);
        break;
    case PK_FDINFO: err = gen_fdinfo(&s, n->fd, b); break;
    default: err = -EINVAL; break;
    }
    proc_snap_release(&s);
    return err;
}

/* The public formatters: a snapshot of t, then the text. */
typedef void (*gen_fn)(const struct proc_snap *s, struct sbuf *b);

static size_t fmt_task(struct task *t, gen_fn gen, char *buf, size_t size)
{
    struct proc_snap s;
    pthread_mutex_lock(&g_kernel.mu);
    proc_snap_task(t, &s);
    pthread_mutex_unlock(&g_kernel.mu);
    struct sbuf b = sb_fixed(buf, size);
    gen(&s, &b);
    proc_snap_release(&s);
    return b.len;
}

size_t procfs_fmt_stat(struct task *t, char *buf, size_t size)
{
    return fmt_task(t, proc_gen_stat, buf, size);
}
size_t procfs_fmt_status(struct task *t, char *buf, size_t size)
{
    return fmt_task(t, proc_gen_status, buf, size);
}
size_t procfs_fmt_statm(struct task *t, char *buf, size_t size)
{
    return fmt_task(t, proc_gen_statm, buf, size);
}
size_t procfs_fmt_limits(struct task *t, char *buf, size_t size)
{
    return fmt_task(t, proc_gen_limits, buf, size);
}
size_t procfs_fmt_maps(struct task *t, char *buf, size_t size)
{
    return fmt_task(t, proc_gen_maps, buf, size);
}

/* ---- magic links: exe, cwd, root, fd/N ---- */

/* fd_file: the file at fd of the node's thread, with a reference. */
static struct file *fd_file(const struct proc_node *n)
{
    struct proc_snap s;
    if (proc_snap_tid(n->tgid, n->tid, &s) < 0)
        return NULL;
    struct file *f = s.fds ? fdtable_get(s.fds, n->fd) : NULL;
    proc_snap_release(&s);
    return f;
}

int proc_magic_get_link(struct inode *ino, struct task *t, struct path *out)
{
    (void)t;
    const struct proc_node *n = ino->priv;
    switch (n->kind) {
    case PK_T_CWD:
    case PK_T_ROOT:
        return task_fs_path(n->tgid, n->tid, n->kind == PK_T_ROOT, out);
    case PK_T_EXE: {
        struct proc_snap s;
        if (proc_snap_tid(n->tgid, n->tid, &s) < 0)
            return -ENOENT;
        int err = -ENOENT;
        /* the loader keeps the program's file behind mm->exe (file.h: struct file
         * embeds its mappable) */
        if (s.mm && s.mm->exe) {
            struct file *f = container_of(s.mm->exe, struct file, map);
            if (f->path.d) {
                *out = f->path;
                path_get(out);
                err = 0;
            }
        }
        proc_snap_release(&s);
        return err;
    }
    case PK_FD_LINK: {
        struct file *f = fd_file(n);
        if (!f)
            return -ENOENT;
        int err = -ENOENT;
        /* TODO(vfs): a nameless file (pipe, socket, eventfd) needs the walk to open
         * the file itself, which a struct path cannot express */
        if (f->path.d) {
            *out = f->path;
            path_get(out);
            err = 0;
        }
        file_put(f);
        return err;
    }
    default:
        return -EINVAL;
    }
}

/* nameless_link: the text of a file with no path (see procfs.h). */
static void nameless_link(struct file *f, char *buf, size_t size)
{
    uint32_t mode = 0;
    uint64_t ino = 0;
    const char *name = "[hostfd]";
    struct stat st;
    if (f->inode) {
        mode = f->inode->mode;
        ino = f->inode->ino;
        if (f->inode->sb && f->inode->sb->fstype)
            name = f->inode->sb->fstype;
    } else if (f->ops && f->ops->stat && f->ops->stat(f, &st) == 0) {
        mode = st.st_mode;
        ino = st.st_ino;
    }
    if (S_ISFIFO(mode))
        snprintf(buf, size, "pipe:[%llu]", (unsigned long long)ino);
    else if (S_ISSOCK(mode))
        snprintf(buf, size, "socket:[%llu]", (unsigned long long)ino);
    else
        snprintf(buf, size, "anon_inode:%s", name);
}

int proc_magic_readlink(struct inode *ino, char *buf, size_t size)
{
    const struct proc_node *n = ino->priv;
    char *text = malloc(PATH_MAX);
    if (!text)
        return -ENOMEM;
    struct path p = { 0 };
    int len;
    if (n->kind == PK_FD_LINK) {
        struct file *f = fd_file(n);
        if (!f) {
            free(text);
            return -ENOENT;
        }
        if (f->path.d) {
            p = f->path;
            path_get(&p);
            len = 0;
        } else {
            nameless_link(f, text, PATH_MAX);
            len = (int)strlen(text);
        }
        file_put(f);
    } else {
        len = proc_magic_get_link(ino, current_task, &p);
    }
    if (len >= 0 && p.d) {
        struct path root = { 0 };
        reader_root(&root);
        len = vfs_path_string(&p, &root, text, PATH_MAX);
        path_put(&root);
        path_put(&p);
    }
    if (len >= 0) {
        len = (int)MIN((size_t)len, size);
        memcpy(buf, text, (size_t)len);
    }
    free(text);
    return len;
}
