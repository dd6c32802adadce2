/* procfs: the tree. Inodes are made afresh by every lookup (the superblock is
 * SB_NOCACHE, so the VFS asks again at each walk): an inode records what it shows
 * (struct proc_node) and its content is generated when it is opened. Nothing here
 * holds a task pointer: per-process inodes name their process by tgid/tid and look
 * it up again under g_kernel.mu, so an exited process just stops being found. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/fs/procfs_impl.h"
#include "sentry/kernel/kernel.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

struct proc_entry {
    const char *name;
    int kind;
};

static const struct proc_entry root_ents[] = {
    { "self", PK_SELF }, { "thread-self", PK_THREAD_SELF }, { "mounts", PK_MOUNTS_LINK },
    { "meminfo", PK_MEMINFO }, { "cpuinfo", PK_CPUINFO }, { "stat", PK_STAT },
    { "uptime", PK_UPTIME }, { "loadavg", PK_LOADAVG }, { "version", PK_VERSION },
    { "filesystems", PK_FILESYSTEMS }, { "sys", PK_SYS },
    { "locks", PK_LOCKS },
};
static const struct proc_entry sys_ents[] = {
    { "fs", PK_SYS_FS }, { "kernel", PK_SYS_KERNEL }, { "vm", PK_SYS_VM },
};
static const struct proc_entry sys_kernel_ents[] = {
    { "hostname", PK_SYS_HOSTNAME }, { "osrelease", PK_SYS_OSRELEASE },
    { "ostype", PK_SYS_OSTYPE }, { "pid_max", PK_SYS_PIDMAX },
};
static const struct proc_entry sys_vm_ents[] = {
    { "mmap_min_addr", PK_SYS_MMAP_MIN_ADDR }, { "overcommit_memory", PK_SYS_OVERCOMMIT },
};
static const struct proc_entry sys_fs_ents[] = { { "pipe-max-size", PK_SYS_PIPEMAX } };
/* /proc/PID and /proc/PID/task/TID: the same files, but a thread has no task/ */
static const struct proc_entry pid_ents[] = {
    { "task", PK_TASK_DIR }, { "fd", PK_FD_DIR }, { "fdinfo", PK_FDINFO_DIR },
    { "stat", PK_T_STAT }, { "statm", PK_T_STATM }, { "status", PK_T_STATUS },
    { "cmdline", PK_T_CMDLINE }, { "environ", PK_T_ENVIRON }, { "maps", PK_T_MAPS },
    { "exe", PK_T_EXE }, { "cwd", PK_T_CWD }, { "root", PK_T_ROOT },
    { "mounts", PK_T_MOUNTS }, { "mountinfo", PK_T_MOUNTINFO },
    { "limits", PK_T_LIMITS }, { "auxv", PK_T_AUXV }, { "comm", PK_T_COMM },
};

/* children: the fixed entries of a directory kind. */
static const struct proc_entry *children(const struct proc_node *n, size_t *count)
{
#define TABLE(t) (*count = ARRAY_SIZE(t), t)
    switch (n->kind) {
    case PK_ROOT: return TABLE(root_ents);
    case PK_SYS: return TABLE(sys_ents);
    case PK_SYS_KERNEL: return TABLE(sys_kernel_ents);
    case PK_SYS_VM: return TABLE(sys_vm_ents);
    case PK_SYS_FS: return TABLE(sys_fs_ents);
    case PK_PID_DIR: return TABLE(pid_ents);
    case PK_TID_DIR: *count = ARRAY_SIZE(pid_ents) - 1; return pid_ents + 1;
    default: *count = 0; return NULL;
    }
#undef TABLE
}

static int kind_is_dir(int k)
{
    return k == PK_ROOT || k == PK_SYS || k == PK_SYS_KERNEL || k == PK_SYS_VM ||
           k == PK_SYS_FS || k == PK_PID_DIR || k == PK_TID_DIR || k == PK_TASK_DIR ||
           k == PK_FD_DIR || k == PK_FDINFO_DIR;
}

static int kind_is_link(int k)
{
    return k == PK_SELF || k == PK_THREAD_SELF || k == PK_MOUNTS_LINK || k == PK_T_EXE ||
           k == PK_T_CWD || k == PK_T_ROOT || k == PK_FD_LINK;
}

static int kind_is_magic(int k)
{
    return k == PK_T_EXE || k == PK_T_CWD || k == PK_T_ROOT || k == PK_FD_LINK;
}

/* kind_mode: the type and permissions Linux gives the entry. */
static uint32_t kind_mode(int k)
{
    if (k == PK_FD_DIR || k == PK_FDINFO_DIR)
        return S_IFDIR | 0500;
    if (kind_is_dir(k))
        return S_IFDIR | 0555;
    if (kind_is_link(k))
        return S_IFLNK | 0777;
    if (k == PK_T_ENVIRON || k == PK_T_AUXV)
        return S_IFREG | 0400;
    if (k == PK_T_COMM || proc_sys_writable(k))
        return S_IFREG | 0644;
    return S_IFREG | 0444;
}

static unsigned kind_dtype(int k)
{
    return kind_is_dir(k) ? DT_DIR : kind_is_link(k) ? DT_LNK : DT_REG;
}

/* node_ino: a stable inode number: fixed entries are numbered by kind, per-process
 * ones by thread, view, kind and fd. */
static uint64_t node_ino(const struct proc_node *n)
{
    if (!pk_is_task(n->kind))
        return (uint64_t)n->kind + 1;
    return ((uint64_t)n->tid << 32) | ((uint64_t)(n->thread != 0) << 31) |
           ((uint64_t)n->kind << 21) | ((uint64_t)n->fd & 0x1fffff);
}

/* parse_num: a decimal name as Linux accepts it (no sign, no leading zero). */
static int parse_num(const char *s, int max)
{
    if (!*s || (s[0] == '0' && s[1]) )
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v >= max)
            return -1;
    }
    return (int)v;
}

int proc_task_exists(int tgid, int tid)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct task *t = kernel_find_task(tid);
    int ok = t && t->tg->tgid == tgid;
    pthread_mutex_unlock(&g_kernel.mu);
    return ok;
}

/* task_owner: the effective ids of thread tid of tgid, which own its entries. */
static int task_owner(int tgid, int tid, uint32_t *uid, uint32_t *gid)
{
    pthread_mutex_lock(&g_kernel.mu);
    struct task *t = kernel_find_task(tid);
    int ok = t && t->tg->tgid == tgid;
    if (ok) {
        *uid = t->cred.euid;
        *gid = t->cred.egid;
    }
    pthread_mutex_unlock(&g_kernel.mu);
    return ok ? 0 : -ENOENT;
}

static const struct inode_ops proc_dir_iops, proc_file_iops, proc_link_iops,
    proc_magic_iops;

/* make_inode: a new inode showing *n (copied). For per-process kinds the process
 * must still exist (-ENOENT). */
static int make_inode(struct superblock *sb, const struct proc_node *n, struct inode **out)
{
    uint32_t uid = 0, gid = 0, mode = kind_mode(n->kind);
    if (pk_is_task(n->kind)) {
        if (task_owner(n->tgid, n->tid, &uid, &gid) < 0)
            return -ENOENT;
        if (n->kind == PK_FD_LINK || n->kind == PK_FDINFO) {
            struct proc_snap s;
            if (proc_snap_tid(n->tgid, n->tid, &s) < 0)
                return -ENOENT;
            int fl = proc_fd_flags(&s, n->fd);
            proc_snap_release(&s);
            if (fl < 0)
                return -ENOENT;
            if (n->kind == PK_FD_LINK) {
                /* as Linux: r-x for a readable file, -wx for a writable one */
                int acc = fl & O_ACCMODE;
                mode = S_IFLNK | (acc != O_WRONLY ? 0500 : 0) | (acc != O_RDONLY ? 0300 : 0);
            }
        }
    }
    struct proc_node *priv = malloc(sizeof(*priv));
    if (!priv)
        return -ENOMEM;
    *priv = *n;
    const struct inode_ops *ops = kind_is_dir(n->kind)     ? &proc_dir_iops
                                  : kind_is_magic(n->kind) ? &proc_magic_iops
                                  : kind_is_link(n->kind)  ? &proc_link_iops
                                                           : &proc_file_iops;
    struct inode *i = inode_new(sb, ops, node_ino(n), mode);
    if (!i) {
        free(priv);
        return -ENOMEM;
    }
    i->uid = uid;
    i->gid = gid;
    i->nlink = kind_is_dir(n->kind) ? 2 : 1;
    i->priv = priv;
    *out = i;
    return 0;
}

static int proc_lookup(struct inode *dir, const char *name, struct inode **out)
{
    const struct proc_node *d = dir->priv;
    size_t count;
    const struct proc_entry *ents = children(d, &count);
    if (pk_is_task(d->kind) && !proc_task_exists(d->tgid, d->tid))
        return -ENOENT;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(name, ents[i].name) == 0) {
            struct proc_node n = { ents[i].kind, d->tgid, d->tid,
                                   d->thread || d->kind == PK_TID_DIR, 0 };
            return make_inode(dir->sb, &n, out);
        }
    }
    struct proc_node n = { 0 };
    switch (d->kind) {
    case PK_ROOT: {
        /* any thread id works, as in Linux, though only processes are listed */
        int id = parse_num(name, PID_MAX);
        if (id <= 0)
            return -ENOENT;
        pthread_mutex_lock(&g_kernel.mu);
        struct task *t = kernel_find_task(id);
        int tgid = t ? t->tg->tgid : 0;
        pthread_mutex_unlock(&g_kernel.mu);
        if (!tgid)
            return -ENOENT;
        n = (struct proc_node){ PK_PID_DIR, tgid, id, 0, 0 };
        break;
    }
    case PK_TASK_DIR: {
        int id = parse_num(name, PID_MAX);
        if (id <= 0)
            return -ENOENT;
        n = (struct proc_node){ PK_TID_DIR, d->tgid, id, 1, 0 };
        break;
    }
    case PK_FD_DIR:
    case PK_FDINFO_DIR: {
        int fd = parse_num(name, FD_MAX);
        if (fd < 0)
            return -ENOENT;
        n = (struct proc_node){ d->kind == PK_FD_DIR ? PK_FD_LINK : PK_FDINFO, d->tgid,
                                d->tid, d->thread, fd };
        break;
    }
    default:
        return -ENOENT;
    }
    return make_inode(dir->sb, &n, out);
}

/* ---- directory listing ---- */

/* Positions: 0 ".", 1 "..", then the fixed entries, then the numbered ones (pids,
 * tids or fds) at base + number, so a listing resumes correctly when entries come
 * and go between getdents calls. */
#define BATCH 64

/* list_ids: up to max numbered entries >= from of directory d, in order. Returns how
 * many, or -ENOENT if the process is gone. */
static int list_ids(const struct proc_node *d, int from, int *ids, int max)
{
    int n = 0;
    if (d->kind == PK_ROOT || d->kind == PK_TASK_DIR) {
        pthread_mutex_lock(&g_kernel.mu);
        for (int id = MAX(from, 1); id < PID_MAX && n < max; id++) {
            struct task *t = g_kernel.tasks[id];
            if (!t)
                continue;
            /* the root lists processes (their leaders), task/ the threads of one */
            if (d->kind == PK_ROOT ? t->tg->tgid == id : t->tg->tgid == d->tgid)
                ids[n++] = id;
        }
        pthread_mutex_unlock(&g_kernel.mu);
        return n;
    }
    /* fd/ and fdinfo/ */
    struct proc_snap s;
    if (proc_snap_tid(d->tgid, d->tid, &s) < 0)
        return -ENOENT;
    if (s.fds) {
        pthread_mutex_lock(&s.fds->mu);
        for (int fd = from; fd < s.fds->size && n < max; fd++)
            if (s.fds->files[fd])
                ids[n++] = fd;
        pthread_mutex_unlock(&s.fds->mu);
    }
    proc_snap_release(&s);
    return n;
}

static int emit_node(struct dir_emit *e, const char *name, const struct proc_node *n,
                     int64_t next)
{
    return e->emit(e, name, strlen(name), node_ino(n), kind_dtype(n->kind), next);
}

static int proc_iterate(struct file *f, struct dir_emit *e)
{
    const struct proc_node *d = f->inode->priv;
    if (pk_is_task(d->kind) && !proc_task_exists(d->tgid, d->tid))
        return -ENOENT;
    size_t count;
    const struct proc_entry *ents = children(d, &count);
    int thread = d->thread || d->kind == PK_TID_DIR;
    struct proc_node dot = *d;
    struct proc_node up = { PK_ROOT, 0, 0, 0, 0 };   /* ".." approximately: ino only */
    if (f->pos == 0) {
        if (emit_node(e, ".", &dot, 1))
            return 0;
        f->pos = 1;
    }
    if (f->pos == 1) {
        if (emit_node(e, "..", &up, 2))
            return 0;
        f->pos = 2;
    }
    while (f->pos >= 2 && (size_t)(f->pos - 2) < count) {
        const struct proc_entry *ent = &ents[f->pos - 2];
        struct proc_node n = { ent->kind, d->tgid, d->tid, thread, 0 };
        if (emit_node(e, ent->name, &n, f->pos + 1))
            return 0;
        f->pos++;
    }
    int64_t base = 2 + (int64_t)count;
    int child = d->kind == PK_ROOT ? PK_PID_DIR : d->kind == PK_TASK_DIR ? PK_TID_DIR
              : d->kind == PK_FD_DIR ? PK_FD_LINK : d->kind == PK_FDINFO_DIR ? PK_FDINFO
              : -1;
    if (child < 0)
        return 0;
    for (;;) {
        int ids[BATCH];
        int64_t from = f->pos - base;
        if (from >= INT32_MAX)
            return 0;
        int got = list_ids(d, (int)from, ids, BATCH);
        if (got < 0)
            return got;
        if (got == 0)
            return 0;
        for (int i = 0; i < got; i++) {
            char name[16];
            snprintf(name, sizeof(name), "%d", ids[i]);
            struct proc_node n = { child, d->tgid, d->tid, thread, 0 };
            if (child == PK_PID_DIR)
                n = (struct proc_node){ child, ids[i], ids[i], 0, 0 };
            else if (child == PK_TID_DIR)
                n.tid = ids[i];
            else
                n.fd = ids[i];
            if (emit_node(e, name, &n, base + ids[i] + 1))
                return 0;
            f->pos = base + ids[i] + 1;
        }
    }
}

static const struct file_ops proc_dir_fops = {
    .iterate = proc_iterate,
};

/* ---- open, attributes, links ---- */

/* sysctl files show as writable but the sandbox's settings are fixed. */
static ssize_t proc_sysctl_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f; (void)u; (void)pos;
    return -EPERM;
}

static const struct file_ops proc_sysctl_fops = {
    .read = seqfile_read,
    .write = proc_sysctl_write,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
    .poll = seqfile_poll,
};

/* /proc/PID/comm: writable, and without a poll method (epoll refuses it) */
static const struct file_ops proc_comm_fops = {
    .read = seqfile_read,
    .write = proc_sysctl_write,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
};

/* mounts and mountinfo: Linux's mounts_poll: readable, never writable */
static unsigned proc_mounts_poll(struct file *f, struct waitq **wq)
{
    (void)f;
    (void)wq;
    return POLLIN | POLLRDNORM;
}

static const struct file_ops proc_mounts_fops = {
    .read = seqfile_read,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
    .poll = proc_mounts_poll,
};

/* proc_file_ops: the ops of a generated file, with a poll method where Linux has one:
 * the system-wide files and /proc/sys (DEFAULT_POLLMASK), mounts; the per-process
 * files have none. */
static const struct file_ops *proc_file_ops(int kind)
{
    if (kind == PK_T_COMM)
        return &proc_comm_fops;
    if (proc_sys_writable(kind))
        return &proc_sysctl_fops;
    if (kind == PK_T_MOUNTS || kind == PK_T_MOUNTINFO)
        return &proc_mounts_fops;
    return pk_is_task(kind) ? &seqfile_ro_ops : &seqfile_ro_poll_ops;
}

static int proc_open(struct inode *ino, struct file *f, int flags)
{
    (void)flags;
    const struct proc_node *n = ino->priv;
    if (kind_is_dir(n->kind)) {
        f->ops = &proc_dir_fops;
        f->seekable = 1;
        return 0;
    }
    struct sbuf b = sb_dynamic();
    int err = pk_is_task(n->kind) ? proc_gen_task_file(n, &b)
                                  : proc_gen_sys_file(n->kind, &b);
    if (err < 0) {
        free(b.buf);
        return err;
    }
    return seqfile_open(f, &b, proc_file_ops(n->kind));
}

/* proc_getattr: per-process entries follow their process's effective ids. */
static int proc_getattr(struct inode *ino)
{
    const struct proc_node *n = ino->priv;
    uint32_t uid, gid;
    if (pk_is_task(n->kind) && task_owner(n->tgid, n->tid, &uid, &gid) == 0) {
        pthread_mutex_lock(&ino->mu);
        ino->uid = uid;
        ino->gid = gid;
        pthread_mutex_unlock(&ino->mu);
    }
    return 0;
}

static int proc_readlink(struct inode *ino, char *buf, size_t size)
{
    const struct proc_node *n = ino->priv;
    struct task *me = current_task;
    char text[64];
    switch (n->kind) {
    case PK_SELF:
        if (!me)
            return -ENOENT;
        snprintf(text, sizeof(text), "%d", me->tg->tgid);
        break;
    case PK_THREAD_SELF:
        if (!me)
            return -ENOENT;
        snprintf(text, sizeof(text), "%d/task/%d", me->tg->tgid, me->tid);
        break;
    case PK_MOUNTS_LINK:
        snprintf(text, sizeof(text), "self/mounts");
        break;
    default:
        return -EINVAL;
    }
    size_t len = MIN(strlen(text), size);
    memcpy(buf, text, len);
    return (int)len;
}

static void proc_evict(struct inode *ino)
{
    free(ino->priv);
    ino->priv = NULL;
}

static const struct inode_ops proc_dir_iops = {
    .lookup = proc_lookup,
    .open = proc_open,
    .getattr = proc_getattr,
    .evict = proc_evict,
};
static const struct inode_ops proc_file_iops = {
    .open = proc_open,
    .getattr = proc_getattr,
    .evict = proc_evict,
};
static const struct inode_ops proc_link_iops = {
    .readlink = proc_readlink,
    .getattr = proc_getattr,
    .evict = proc_evict,
};
static const struct inode_ops proc_magic_iops = {
    .readlink = proc_magic_readlink,
    .get_link = proc_magic_get_link,
    .getattr = proc_getattr,
    .evict = proc_evict,
};

struct superblock *procfs_new(struct inode **root, int *err)
{
    struct superblock *sb = calloc(1, sizeof(*sb));
    if (!sb) {
        *err = -ENOMEM;
        return NULL;
    }
    sb->fstype = "proc";
    sb->dev = vfs_new_dev();
    sb->flags = SB_NOCACHE | SB_FREE_WITH_INODES;
    procfs_ncpus();   /* fix the CPU count at boot */
    struct proc_node n = { PK_ROOT, 0, 0, 0, 0 };
    int e = make_inode(sb, &n, root);
    if (e < 0) {
        free(sb);
        *err = e;
        return NULL;
    }
    return sb;
}
