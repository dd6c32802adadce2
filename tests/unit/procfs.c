/* procfs and sysfs, driven through their inode_ops and file_ops on a fake kernel
 * state: a hand-built process in g_kernel.tasks[], an fd table and an address space
 * with a few VMAs (no platform needed). The path walk is not in this tree, so the
 * VFS functions procfs calls for paths are weak stubs here (a real definition wins
 * once the VFS lands). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/fs/procfs.h"
#include "sentry/fs/seqfile.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* ---- weak stand-ins for the VFS's path functions ---- */

__attribute__((weak)) int vfs_path_string(const struct path *p, const struct path *root,
                                          char *buf, size_t size)
{
    (void)p; (void)root;
    return snprintf(buf, size, "/stub");
}
__attribute__((weak)) void fs_get_root(struct task *t, struct path *out)
{
    (void)t;
    *out = (struct path){ 0 };
}
__attribute__((weak)) void fs_get_cwd(struct task *t, struct path *out)
{
    (void)t;
    *out = (struct path){ 0 };
}

/* ---- the fake kernel: init (pid 1) and a process 42 with its parent init ---- */

static struct thread_group tg1, tg42;
static struct task t1, t42;
static struct mm fake_mm;

static int64_t no_page(struct mappable *m, uint64_t idx, int write)
{
    (void)m; (void)idx; (void)write;
    return -ENXIO;
}
static void nop(struct mappable *m) { (void)m; }
static void describe_true(struct mappable *m, uint64_t *dev, uint64_t *ino, char *buf,
                          size_t size)
{
    (void)m;
    *dev = 0xfe00;
    *ino = 1234;
    snprintf(buf, size, "/bin/true");
}
static const struct mappable_ops exe_ops = {
    .get_page = no_page, .hold = nop, .drop = nop, .describe = describe_true,
};
static struct mappable exe_obj = { &exe_ops };

static void add_vma(uint64_t start, uint64_t end, int prot, int flags, struct mappable *obj)
{
    struct range r = { .start = start, .end = end };
    r.vma = (struct vma){ .prot = prot, .maxprot = 7, .flags = flags, .obj = obj };
    cr_assert_eq(rm_insert(&fake_mm.vmas, &r), 0);
}

static void make_task(struct task *t, struct thread_group *tg, int pid, const char *comm)
{
    tg->tgid = pid;
    tg->leader = t;
    tg->threads = t;
    tg->nlive = 1;
    tg->exit_signal = SIGCHLD;
    for (int i = 0; i < 16; i++)
        tg->rlimits[i][0] = tg->rlimits[i][1] = RLIM_INFINITY;
    t->tid = pid;
    t->tg = tg;
    pthread_mutex_init(&t->mu, NULL);
    snprintf(t->comm, sizeof(t->comm), "%s", comm);
    g_kernel.tasks[pid] = t;
}

static void setup(void)
{
    pthread_mutex_init(&g_kernel.mu, NULL);
    snprintf(g_kernel.hostname, sizeof(g_kernel.hostname), "box");
    clock_gettime(CLOCK_BOOTTIME, &g_kernel.boot_time);
    make_task(&t1, &tg1, 1, "init");
    make_task(&t42, &tg42, 42, "fake");
    g_kernel.last_tid = 42;
    tg42.parent = &tg1;
    tg42.pgid = 42;
    tg42.sid = 1;
    tg42.rlimits[RLIMIT_NOFILE][0] = 1024;
    tg42.rlimits[RLIMIT_NOFILE][1] = 4096;
    tg42.actions[SIGINT - 1].handler = (uint64_t)(uintptr_t)SIG_IGN;
    tg42.actions[SIGUSR1 - 1].handler = 0x401000;
    t42.cred = (struct creds){ .ruid = 1000, .euid = 1001, .suid = 1002, .fsuid = 1001,
                               .rgid = 2000, .egid = 2001, .sgid = 2002, .fsgid = 2001,
                               .cap_bset = CRED_CAP_FULL };
    t42.umask = 022;
    t42.sigmask = SIGBIT(SIGTERM);
    t42.fds = fdtable_create();
    cr_assert_not_null(t42.fds);
    /* the address space: the program, a heap and the stack */
    pthread_mutex_init(&fake_mm.mu, NULL);
    rm_init(&fake_mm.vmas, RM_VMA);
    rm_init(&fake_mm.pmas, RM_PMA);
    fake_mm.users = 1;
    fake_mm.exe = &exe_obj;
    fake_mm.stack_top = 0x7ffffffff000ULL;
    add_vma(0x400000, 0x401000, PROT_READ, 0, &exe_obj);
    add_vma(0x401000, 0x403000, PROT_READ | PROT_EXEC, 0, &exe_obj);
    add_vma(0x600000, 0x621000, PROT_READ | PROT_WRITE, VMA_HEAP, NULL);
    add_vma(0x7ffffffde000ULL, 0x7ffffffff000ULL, PROT_READ | PROT_WRITE,
            VMA_STACK | VMA_GROWSDOWN, NULL);
    t42.mm = &fake_mm;
}

TestSuite(procfs, .init = setup);

/* ---- helpers ---- */

static char *fmt(size_t (*f)(struct task *, char *, size_t), struct task *t)
{
    size_t need = f(t, NULL, 0);
    char *buf = malloc(need + 1);
    cr_assert_eq(f(t, buf, need + 1), need);
    cr_assert_eq(strlen(buf), need);
    return buf;
}

static struct inode *walk(struct inode *dir, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", path);
    inode_get(dir);
    struct inode *at = dir;
    for (char *save, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        struct inode *next = NULL;
        int err = at->ops->lookup ? at->ops->lookup(at, c, &next) : -ENOTDIR;
        inode_put(at);
        if (err < 0)
            return NULL;
        at = next;
    }
    return at;
}

/* open_text: opens the file at path under root and copies its generated text. */
static int open_text(struct inode *root, const char *path, char *out, size_t size)
{
    struct inode *ino = walk(root, path);
    if (!ino)
        return -ENOENT;
    struct file *f = file_alloc(NULL, O_RDONLY, NULL);
    f->inode = ino;
    int err = ino->ops->open(ino, f, O_RDONLY);
    if (err == 0) {
        size_t len;
        const char *d = seqfile_data(f, &len);
        cr_assert_lt(len, size);
        memcpy(out, d, len);
        out[len] = '\0';
    }
    file_put(f);
    return err;
}

struct names {
    struct dir_emit e;
    char all[4096];
    int n, limit;
};

static int collect(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                   unsigned type, int64_t next)
{
    (void)ino; (void)type; (void)next;
    struct names *nm = (struct names *)e;
    if (nm->limit && nm->n >= nm->limit)
        return 1;
    nm->n++;
    strncat(nm->all, name, len);
    strcat(nm->all, " ");
    return 0;
}

/* list: every name of the directory at path, in order, separated by spaces; batch
 * limits the entries taken per iterate call, to exercise resuming. */
static int list(struct inode *root, const char *path, char *out, int batch)
{
    struct inode *ino = walk(root, path);
    if (!ino)
        return -ENOENT;
    struct file *f = file_alloc(NULL, O_RDONLY, NULL);
    f->inode = ino;
    cr_assert_eq(ino->ops->open(ino, f, O_RDONLY), 0);
    struct names nm = { .e = { collect } };
    int err = 0;
    for (;;) {
        int before = nm.n;
        nm.limit = batch ? nm.n + batch : 0;
        err = f->ops->iterate(f, &nm.e);
        if (err < 0 || nm.n == before)
            break;
    }
    strcpy(out, nm.all);
    file_put(f);
    return err;
}

static struct inode *mount_proc(void)
{
    struct inode *root = NULL;
    int err = 0;
    struct superblock *sb = procfs_new(&root, &err);
    cr_assert_not_null(sb);
    cr_assert(sb->flags & SB_NOCACHE);
    cr_assert_str_eq(sb->fstype, "proc");
    return root;
}

/* ---- formatters ---- */

Test(procfs, stat_has_52_fields_in_order)
{
    char *s = fmt(procfs_fmt_stat, &t42);
    cr_assert_eq(s[strlen(s) - 1], '\n');
    int fields = 0;
    for (char *tok = strtok(s, " \n"); tok; tok = strtok(NULL, " \n"))
        fields++;
    cr_assert_eq(fields, 52);
    free(s);
    s = fmt(procfs_fmt_stat, &t42);
    int pid, ppid, pgrp, sid, tty, tpgid;
    char comm[32], state;
    cr_assert_eq(sscanf(s, "%d %31s %c %d %d %d %d %d", &pid, comm, &state, &ppid, &pgrp,
                        &sid, &tty, &tpgid), 8);
    cr_assert_eq(pid, 42);
    cr_assert_str_eq(comm, "(fake)");
    cr_assert_eq(state, 'S');
    cr_assert_eq(ppid, 1);
    cr_assert_eq(pgrp, 42);
    cr_assert_eq(sid, 1);
    cr_assert_eq(tpgid, -1);
    /* field 20 num_threads, 23 vsize, 31-34 signal masks, 38 exit_signal */
    char *f[53] = { 0 };
    int i = 1;
    for (char *tok = strtok(strchr(s, ')') + 2, " \n"); tok && i < 50; tok = strtok(NULL, " \n"))
        f[2 + i++] = tok;
    cr_assert_str_eq(f[20], "1");
    cr_assert_eq(strtoull(f[23], NULL, 10), 0x1000 + 0x2000 + 0x21000 + 0x21000);
    cr_assert_eq(strtoull(f[26], NULL, 10), 0x401000);   /* startcode */
    cr_assert_eq(strtoull(f[27], NULL, 10), 0x403000);   /* endcode */
    cr_assert_eq(strtoull(f[32], NULL, 10), SIGBIT(SIGTERM));
    cr_assert_eq(strtoull(f[33], NULL, 10), SIGBIT(SIGINT));
    cr_assert_eq(strtoull(f[34], NULL, 10), SIGBIT(SIGUSR1));
    cr_assert_eq(atoi(f[38]), SIGCHLD);
    free(s);
}

Test(procfs, stat_truncates_like_snprintf)
{
    char small[10];
    size_t need = procfs_fmt_stat(&t42, small, sizeof(small));
    cr_assert_gt(need, sizeof(small));
    cr_assert_str_eq(small, "42 (fake)");
}

Test(procfs, status_lines)
{
    char *s = fmt(procfs_fmt_status, &t42);
    cr_assert(strncmp(s, "Name:\tfake\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n"
                         "Ngid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n"
                         "Uid:\t1000\t1001\t1002\t1001\nGid:\t2000\t2001\t2002\t2001\n",
                      strlen("Name:\tfake\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n"
                             "Ngid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n"
                             "Uid:\t1000\t1001\t1002\t1001\nGid:\t2000\t2001\t2002\t2001\n")) == 0,
              "%s", s);
    cr_assert_not_null(strstr(s, "\nFDSize:\t64\nGroups:\t \n"));
    cr_assert_not_null(strstr(s, "\nVmSize:\t     276 kB\n"), "%s", s);
    cr_assert_not_null(strstr(s, "\nVmStk:\t     132 kB\n"));
    cr_assert_not_null(strstr(s, "\nThreads:\t1\nSigQ:\t0/"));
    cr_assert_not_null(strstr(s, "\nSigBlk:\t0000000000004000\nSigIgn:\t0000000000000002\n"
                                 "SigCgt:\t0000000000000200\n"));
    cr_assert_not_null(strstr(s, "\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n"));
    char line[64];
    snprintf(line, sizeof(line), "\nCpus_allowed_list:\t0-%d\n", procfs_ncpus() - 1);
    if (procfs_ncpus() > 1)
        cr_assert_not_null(strstr(s, line));
    free(s);
}

Test(procfs, zombie_has_no_memory_lines)
{
    tg42.zombie = 1;
    char *s = fmt(procfs_fmt_status, &t42);
    cr_assert_not_null(strstr(s, "State:\tZ (zombie)\n"));
    cr_assert_null(strstr(s, "VmSize"));
    free(s);
    s = fmt(procfs_fmt_statm, &t42);
    cr_assert_str_eq(s, "0 0 0 0 0 0 0\n");
    free(s);
}

Test(procfs, statm_pages)
{
    char *s = fmt(procfs_fmt_statm, &t42);
    /* 69 pages in all, 2 of them the program's code, 33 heap + 33 stack */
    cr_assert_str_eq(s, "69 0 0 2 0 66 0\n");
    free(s);
}

Test(procfs, limits_table)
{
    char *s = fmt(procfs_fmt_limits, &t42);
    cr_assert(strncmp(s, "Limit                     Soft Limit           Hard Limit           "
                         "Units     \nMax cpu time              unlimited            "
                         "unlimited            seconds   \n", 150) == 0, "%s", s);
    cr_assert_not_null(strstr(s, "\nMax open files            1024                 "
                                 "4096                 files     \n"));
    cr_assert_not_null(strstr(s, "\nMax nice priority         unlimited            "
                                 "unlimited            \n"));
    free(s);
}

Test(procfs, maps_lines)
{
    char *s = fmt(procfs_fmt_maps, &t42);
    const char *want =
        "00400000-00401000 r--p 00000000 fe:00 1234                               /bin/true\n"
        "00401000-00403000 r-xp 00000000 fe:00 1234                               /bin/true\n"
        "00600000-00621000 rw-p 00000000 00:00 0                                  [heap]\n"
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
    cr_assert_str_eq(s, want);
    free(s);
}

Test(procfs, system_files)
{
    char buf[65536];
    cr_assert_lt(procfs_fmt_meminfo(buf, sizeof(buf)), sizeof(buf));
    unsigned long long total;
    cr_assert_eq(sscanf(buf, "MemTotal: %llu kB\n", &total), 1);
    cr_assert_eq(total, (unsigned long long)sysconf(_SC_PHYS_PAGES) * 4);
    cr_assert(strncmp(buf, "MemTotal:       ", 16) == 0);
    cr_assert_not_null(strstr(buf, "\nHugePages_Total:       0\n"));

    cr_assert_lt(procfs_fmt_cpuinfo(buf, sizeof(buf)), sizeof(buf));
    int procs = 0;
    for (char *p = buf; (p = strstr(p, "processor\t: ")); p++)
        procs++;
    cr_assert_eq(procs, sysconf(_SC_NPROCESSORS_ONLN));
    cr_assert_eq(procs, procfs_ncpus());
    cr_assert_not_null(strstr(buf, "\nflags\t\t: fpu "));
    cr_assert_not_null(strstr(buf, "\nvendor_id\t: "));
    cr_assert_not_null(strstr(buf, "\npower management:\n\n"));

    double up, idle;
    procfs_fmt_uptime(buf, sizeof(buf));
    cr_assert_eq(sscanf(buf, "%lf %lf\n", &up, &idle), 2);
    cr_assert_lt(up, 5.0);

    procfs_fmt_loadavg(buf, sizeof(buf));
    cr_assert_str_eq(buf, "0.00 0.00 0.00 1/2 42\n");

    procfs_fmt_version(buf, sizeof(buf));
    cr_assert(strncmp(buf, "Linux version " KERNEL_RELEASE " ", 14 + strlen(KERNEL_RELEASE) + 1) == 0);
}

/* ---- the tree ---- */

Test(procfs, root_listing_and_lookup)
{
    struct inode *root = mount_proc();
    cr_assert(S_ISDIR(root->mode));
    cr_assert_eq(root->mode & 07777, 0555);
    char names[4096];
    cr_assert_eq(list(root, "", names, 0), 0);
    cr_assert_str_eq(names, ". .. self thread-self mounts meminfo cpuinfo stat uptime "
                            "loadavg version filesystems sys locks 1 42 ");
    /* one entry per call resumes where it stopped */
    cr_assert_eq(list(root, "", names, 1), 0);
    cr_assert_str_eq(names, ". .. self thread-self mounts meminfo cpuinfo stat uptime "
                            "loadavg version filesystems sys locks 1 42 ");
    cr_assert_null(walk(root, "43"));
    cr_assert_null(walk(root, "042"));
    cr_assert_null(walk(root, "nonesuch"));
    struct inode *pid = walk(root, "42");
    cr_assert_not_null(pid);
    cr_assert_eq(pid->mode, S_IFDIR | 0555);
    cr_assert_eq(pid->uid, 1001);
    cr_assert_eq(pid->gid, 2001);
    cr_assert_eq(list(root, "42", names, 0), 0);
    cr_assert_str_eq(names, ". .. task fd fdinfo stat statm status cmdline environ maps exe "
                            "cwd root mounts mountinfo limits auxv comm ");
    cr_assert_eq(list(root, "42/task", names, 0), 0);
    cr_assert_str_eq(names, ". .. 42 ");
    cr_assert_eq(list(root, "42/task/42", names, 0), 0);
    cr_assert_str_eq(names, ". .. fd fdinfo stat statm status cmdline environ maps exe "
                            "cwd root mounts mountinfo limits auxv comm ");
    cr_assert_null(walk(root, "42/task/1"));
    struct inode *env = walk(root, "42/environ");
    cr_assert_eq(env->mode, S_IFREG | 0400);
    inode_put(env);
    inode_put(pid);
    inode_put(root);
}

Test(procfs, self_links)
{
    struct inode *root = mount_proc();
    struct inode *self = walk(root, "self");
    cr_assert(S_ISLNK(self->mode));
    char buf[64];
    current_task = NULL;
    cr_assert_eq(self->ops->readlink(self, buf, sizeof(buf)), -ENOENT);
    current_task = &t42;
    int n = self->ops->readlink(self, buf, sizeof(buf));
    cr_assert_eq(n, 2);
    cr_assert(memcmp(buf, "42", 2) == 0);
    struct inode *ts = walk(root, "thread-self");
    n = ts->ops->readlink(ts, buf, sizeof(buf));
    cr_assert_eq(n, 10);
    cr_assert(memcmp(buf, "42/task/42", 10) == 0);
    struct inode *mounts = walk(root, "mounts");
    n = mounts->ops->readlink(mounts, buf, sizeof(buf));
    cr_assert(n == 11 && memcmp(buf, "self/mounts", 11) == 0);
    current_task = NULL;
    inode_put(self);
    inode_put(ts);
    inode_put(mounts);
    inode_put(root);
}

Test(procfs, per_process_files)
{
    struct inode *root = mount_proc();
    char buf[65536];
    cr_assert_eq(open_text(root, "42/comm", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "fake\n");
    cr_assert_eq(open_text(root, "42/task/42/stat", buf, sizeof(buf)), 0);
    cr_assert(strncmp(buf, "42 (fake) S 1 42 1 ", 19) == 0);
    cr_assert_eq(open_text(root, "42/maps", buf, sizeof(buf)), 0);
    cr_assert_not_null(strstr(buf, "[stack]\n"));
    /* no argument block recorded: empty, as for a kernel thread */
    cr_assert_eq(open_text(root, "42/cmdline", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(open_text(root, "sys/kernel/pid_max", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "32768\n");
    cr_assert_eq(open_text(root, "sys/kernel/hostname", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "box\n");
    cr_assert_eq(open_text(root, "sys/kernel/ostype", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "Linux\n");
    cr_assert_eq(open_text(root, "sys/vm/overcommit_memory", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "0\n");
    cr_assert_eq(open_text(root, "sys/fs/pipe-max-size", buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "1048576\n");
    struct inode *h = walk(root, "sys/kernel/hostname");
    cr_assert_eq(h->mode, S_IFREG | 0644);
    inode_put(h);
    cr_assert_eq(open_text(root, "filesystems", buf, sizeof(buf)), 0);
    cr_assert_not_null(strstr(buf, "nodev\tproc\n"));
    inode_put(root);
}

static ssize_t dummy_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f; (void)u; (void)pos;
    return 0;
}
static const struct file_ops dummy_ops = { .read = dummy_read };

Test(procfs, fd_and_fdinfo)
{
    struct inode *root = mount_proc();
    struct file *r = file_alloc(&dummy_ops, O_RDONLY, NULL);
    struct file *w = file_alloc(&dummy_ops, O_WRONLY | O_APPEND, NULL);
    cr_assert_eq(fdtable_install(t42.fds, 0, r, 0), 0);
    cr_assert_eq(fdtable_install(t42.fds, 5, w, 1), 5);
    char names[4096];
    cr_assert_eq(list(root, "42/fd", names, 1), 0);
    cr_assert_str_eq(names, ". .. 0 5 ");
    cr_assert_eq(list(root, "42/fdinfo", names, 0), 0);
    cr_assert_str_eq(names, ". .. 0 5 ");
    struct inode *l0 = walk(root, "42/fd/0"), *l5 = walk(root, "42/fd/5");
    cr_assert_eq(l0->mode, S_IFLNK | 0500);
    cr_assert_eq(l5->mode, S_IFLNK | 0300);
    cr_assert_null(walk(root, "42/fd/1"));
    /* nameless, no inode, no stat: an anonymous file */
    char buf[256];
    int n = l0->ops->readlink(l0, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "anon_inode:[hostfd]");
    struct path p;
    cr_assert_eq(l0->ops->get_link(l0, &t42, &p), -ENOENT);
    inode_put(l0);
    inode_put(l5);
    cr_assert_eq(open_text(root, "42/fdinfo/5", buf, sizeof(buf)), 0);
    char want[128];
    snprintf(want, sizeof(want), "pos:\t0\nflags:\t0%o\nmnt_id:\t0\nino:\t0\n",
             O_WRONLY | O_APPEND | O_CLOEXEC);
    cr_assert_str_eq(buf, want);
    inode_put(root);
}

Test(procfs, exited_process)
{
    struct inode *root = mount_proc();
    struct inode *dir = walk(root, "42");
    struct inode *stat = walk(root, "42/stat");
    cr_assert(dir && stat);
    /* the process is reaped: its entries stop resolving */
    pthread_mutex_lock(&g_kernel.mu);
    g_kernel.tasks[42] = NULL;
    pthread_mutex_unlock(&g_kernel.mu);
    struct inode *x = NULL;
    cr_assert_eq(dir->ops->lookup(dir, "status", &x), -ENOENT);
    struct file *f = file_alloc(NULL, O_RDONLY, NULL);
    f->inode = stat;
    cr_assert_eq(stat->ops->open(stat, f, O_RDONLY), -ESRCH);
    file_put(f);
    char names[4096];
    struct file *d = file_alloc(NULL, O_RDONLY, NULL);
    d->inode = dir;
    cr_assert_eq(dir->ops->open(dir, d, O_RDONLY), 0);
    struct names nm = { .e = { collect } };
    cr_assert_eq(d->ops->iterate(d, &nm.e), -ENOENT);
    file_put(d);
    cr_assert_eq(list(root, "", names, 0), 0);
    cr_assert_null(strstr(names, " 42 "));
    inode_put(root);
}

Test(procfs, seq_file_seek)
{
    struct inode *root = mount_proc();
    struct inode *v = walk(root, "version");
    struct file *f = file_alloc(NULL, O_RDONLY, NULL);
    f->inode = v;
    cr_assert_eq(v->ops->open(v, f, O_RDONLY), 0);
    cr_assert(f->seekable);
    cr_assert_eq(f->ops->llseek(f, 5, SEEK_SET), 5);
    cr_assert_eq(f->ops->llseek(f, 3, SEEK_CUR), 8);
    cr_assert_eq(f->ops->llseek(f, 0, SEEK_END), -EINVAL);
    cr_assert_eq(f->ops->llseek(f, -9, SEEK_CUR), -EINVAL);
    cr_assert_null(f->ops->write);
    file_put(f);
    inode_put(root);
}

/* ---- sysfs ---- */

Test(procfs, sysfs_cpu_lists)
{
    struct inode *root = NULL;
    int err = 0;
    struct superblock *sb = sysfs_new(&root, &err);
    cr_assert_not_null(sb);
    cr_assert_str_eq(sb->fstype, "sysfs");
    char names[4096], buf[64], want[32];
    cr_assert_eq(list(root, "devices/system/cpu", names, 0), 0);
    cr_assert_str_eq(names, ". .. online possible present ");
    int n = procfs_ncpus();
    if (n > 1)
        snprintf(want, sizeof(want), "0-%d\n", n - 1);
    else
        snprintf(want, sizeof(want), "0\n");
    const char *files[] = { "devices/system/cpu/online", "devices/system/cpu/possible",
                            "devices/system/cpu/present" };
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(open_text(root, files[i], buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, want);
    }
    cr_assert_null(walk(root, "devices/system/cpu/offline"));
    cr_assert_eq(list(root, "", names, 0), 0);
    cr_assert_str_eq(names, ". .. devices ");
    inode_put(root);
}
