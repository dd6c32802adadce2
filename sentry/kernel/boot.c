/* Booting the Sentry: the memory file, the platform, the first task and its files,
 * the program; then the task runs on this thread until the sandbox exits. */
#include "sentry/kernel/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <limits.h>

#include "lib/log.h"
#include "lib/util.h"
#include "platform/platform.h"
#include "sentry/fs/hostfd.h"
#include "sentry/kernel/itimer.h"
#include "sentry/kernel/task.h"
#include "sentry/loader/load.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/syscall.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"
#include "sentry/kernel/exec.h"
#include "sentry/kernel/rootfs.h"
#include "sentry/kernel/hostsig.h"
#include "sentry/syscalls/sched.h"
#include "sentry/confine.h"
#include "sentry/socket/ifaces.h"

struct kernel g_kernel;


int kernel_ncpus(void)
{
    int n = __atomic_load_n(&g_kernel.ncpus, __ATOMIC_RELAXED);
    if (n)
        return n;
    long v = sysconf(_SC_NPROCESSORS_ONLN);
    n = v > 0 ? (int)MIN(v, 1024) : 1;
    __atomic_store_n(&g_kernel.ncpus, n, __ATOMIC_RELAXED);
    return n;
}

/* The memory file's ceiling: address space only; pages are committed when touched. */
#define MEMFILE_MAX (1ULL << 40)

static void init_rlimits(struct thread_group *tg)
{
    for (int i = 0; i < RLIM_NLIMITS && i < 16; i++) {
        struct rlimit rl;
        if (getrlimit(i, &rl) == 0) {
            tg->rlimits[i][0] = rl.rlim_cur;
            tg->rlimits[i][1] = rl.rlim_max;
        } else {
            tg->rlimits[i][0] = tg->rlimits[i][1] = RLIM_INFINITY;
        }
    }
    /* the guest's own fd table enforces 1024 by default, as Linux does */
    tg->rlimits[RLIMIT_NOFILE][0] = 1024;
    tg->rlimits[RLIMIT_NOFILE][1] = MIN(tg->rlimits[RLIMIT_NOFILE][1], FD_MAX_GUEST);
    tg->rlimits[RLIMIT_STACK][0] = STACK_SIZE;
}

/* set_fs_context: the first process's root is the mount tree's root and its working
 * directory cwd (or / when cwd does not exist inside the sandbox). */
static int set_fs_context(struct task *t, const char *cwd)
{
    struct path root;
    vfs_root(&root);
    t->fs = fs_context_new(&root, &root);
    path_put(&root);
    if (!t->fs)
        return -ENOMEM;
    struct walk_result w;
    if (cwd && vfs_walk(t, AT_FDCWD_GUEST, cwd, WALK_FOLLOW | WALK_DIRECTORY, &w) == 0) {
        struct path old = t->fs->cwd;
        t->fs->cwd = w.path;
        path_put(&old);
    }
    return 0;
}

/* find_program: the program's path inside the sandbox: as given when it has a '/',
 * else the first executable regular file of that name in $PATH (as a shell does). */
static int find_program(struct task *t, const char *prog, char *const envp[], char *out,
                        size_t size)
{
    if (strchr(prog, '/')) {
        snprintf(out, size, "%s", prog);
        return 0;
    }
    const char *search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (int i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            search = envp[i] + 5;
    int err = -ENOENT;
    for (const char *p = search;; p++) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(out, size, "%.*s%s%s", (int)n, p, n ? "/" : "", prog);
        struct walk_result w;
        if (vfs_walk(t, AT_FDCWD_GUEST, out, WALK_FOLLOW, &w) == 0) {
            struct inode *ino = w.path.d->inode;
            int ok = S_ISREG(ino->mode) && vfs_permission(&t->cred, ino, MAY_EXEC) == 0;
            path_put(&w.path);
            if (ok)
                return 0;
            err = -EACCES;
        }
        if (!e)
            return err;
        p = e;
    }
}

/* install_stdio: the guest's fds 0-2 are host files by design (dup'd here). */
static int install_stdio(struct task *t, const int stdio[3])
{
    for (int i = 0; i < 3; i++) {
        if (stdio[i] < 0)
            continue;
        int fd = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            continue;  /* a closed stdio fd stays closed in the guest too */
        int err;
        struct file *f = hostfd_open(fd, &err);
        if (!f) {
            close(fd);
            return err;
        }
        int r = fdtable_install_at(t->fds, i, f, 0);
        if (r < 0) {
            file_put(f);
            return r;
        }
    }
    return 0;
}

/* choose_platform: sets g_plat to the named platform, initialised, or with "auto" to
 * the first of plat_auto_order() whose init succeeds. Logged either way, so that
 * --debug-log shows the choice and why. */
static int choose_platform(const char *name)
{
    const char *one[] = { name, NULL };
    int automatic = strcmp(name, "auto") == 0;
    const char *const *order = automatic ? plat_auto_order() : one;
    int r = -ENODEV;
    for (; *order; order++) {
        const struct platform_ops *p = plat_find(*order);
        if (!p)
            continue;
        r = p->init(memfile_fd(), memfile_base(), memfile_max());
        if (r == 0) {
            g_plat = p;
            log_info("platform: %s%s", p->name, automatic ? " (chosen by --platform=auto)" : "");
            return 0;
        }
        if (automatic)
            log_info("platform auto: %s unusable (%s), trying the next", p->name, strerror(-r));
        else
            log_err("platform %s unusable: %s", p->name, strerror(-r));
    }
    return r;
}

/* setup: everything before the program starts that is the sandbox's own (not the
 * program's) business. 0 or -errno, logged. */
static int setup(const struct boot_config *cfg)
{
    if (cfg->debug_log) {
        int r = log_open(cfg->debug_log);
        if (r < 0) {
            log_err("cannot open debug log %s: %s", cfg->debug_log, strerror(-r));
            return r;
        }
    }
    g_strace = cfg->strace;
    clock_gettime(CLOCK_BOOTTIME, &g_kernel.boot_time);
    strcpy(g_kernel.hostname, "sandbox");
    kernel_ncpus();

    int automatic = strcmp(cfg->platform, "auto") == 0;
    if (!automatic && !plat_find(cfg->platform)) {
        log_err("unknown platform %s (have: %s)", cfg->platform, plat_names());
        return -EINVAL;
    }
    int r = memfile_init(MEMFILE_MAX);
    if (r < 0) {
        log_err("cannot create the memory file: %s", strerror(-r));
        return r;
    }
    if ((r = choose_platform(cfg->platform)) < 0)
        return r;
    /* the interfaces the guest sees; in host mode read from the host, in sandbox mode
     * taken over from the namespace: both need host sockets, before confinement */
    if ((r = ifaces_init((enum net_mode)cfg->network, cfg->net_plain_io)) < 0) {
        fprintf(stderr, "sandbox: network: %s\n", strerror(-r));
        return r;
    }
    /* from here on the Sentry reaches the host only through what it holds */
    if ((r = sentry_confine(cfg->network == NET_HOST)) < 0) {
        fprintf(stderr, "sandbox: cannot confine the Sentry: %s\n", strerror(-r));
        return r;
    }
    if (cfg->probe_confinement)
        sentry_confinement_probe(2);
    return 0;
}

/* first_task: pid 1, its process, credentials, address space and stdio. */
static struct task *first_task(const struct boot_config *cfg, uint32_t uid, uint32_t gid,
                               int nice)
{
    pthread_mutex_init(&g_kernel.mu, NULL);
    pthread_cond_init(&g_kernel.thread_exit, NULL);
    struct task *t = task_alloc();
    struct thread_group *tg = calloc(1, sizeof(*tg));
    if (!t || !tg) {
        log_err("out of memory");
        return NULL;
    }
    tg->tgid = tg->pgid = tg->sid = 1;
    tg->leader = tg->threads = t;
    tg->nlive = 1;
    tg->exit_signal = SIGCHLD;
    init_rlimits(tg);
    itimer_init(tg);
    t->tid = 1;
    t->tg = tg;
    g_kernel.tasks[1] = t;
    g_kernel.last_tid = 1;
    g_kernel.init = t;
    cred_init(&t->cred, uid, gid);
    tg->dumpable = 1;
    t->umask = 022;
    sched_init_task(t, nice);
    const char *base = strrchr(cfg->exe_path, '/');
    snprintf(t->comm, sizeof(t->comm), "%s", base ? base + 1 : cfg->exe_path);

    int r;
    t->ctx = g_plat->ctx_create(&r);
    if (!t->ctx) {
        log_err("cannot create a platform context: %s", strerror(-r));
        return NULL;
    }
    t->mm = mm_create(&r);
    if (!t->mm) {
        log_err("cannot create an address space: %s", strerror(-r));
        return NULL;
    }
    t->fds = fdtable_create();
    if (!t->fds || (r = install_stdio(t, cfg->stdio)) < 0) {
        log_err("cannot set up the guest's stdio");
        return NULL;
    }
    return t;
}

/* first_task_exit: task_exit for the first task, run by this thread: the sandbox's
 * status once init has died. If an exec in another thread of init made that thread
 * the leader (exec.c), this one leaves early and the process ends on the other's
 * host thread: wait for that. */
static int first_task_exit(struct task *t)
{
    struct thread_group *tg = t->tg;   /* init's is never reaped */
    int status = task_exit(t);
    if (status >= 0)
        return status;
    pthread_mutex_lock(&g_kernel.mu);
    while (!tg->zombie)
        pthread_cond_wait(&g_kernel.thread_exit, &g_kernel.mu);
    status = tg->exit_status;
    pthread_mutex_unlock(&g_kernel.mu);
    return status;
}

int sentry_boot(const struct boot_config *cfg)
{
    /* before any thread exists, so every Sentry thread inherits the mask */
    hostsig_block();
    /* a host pipe without a reader is an EPIPE the guest gets (with its own SIGPIPE),
     * never a signal that kills the Sentry */
    signal(SIGPIPE, SIG_IGN);
    /* the guest starts with the ids the CLI gave, or ours; taken before confinement
     * (rlimits too) */
    uint32_t uid = cfg->ids_given ? cfg->uid : getuid();
    uint32_t gid = cfg->ids_given ? cfg->gid : getgid();
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);   /* the guest starts with our nice value */
    if (errno)
        nice = 0;
    if (setup(cfg) < 0)
        return SENTRY_SETUP_FAILED;
    struct task *t = first_task(cfg, uid, gid, nice);
    if (!t)
        return SENTRY_SETUP_FAILED;
    int r;
    if ((r = rootfs_build(cfg->gofer_sock, cfg->root_readonly)) < 0 ||
        (r = set_fs_context(t, cfg->cwd)) < 0)
        return SENTRY_SETUP_FAILED;
    if (hostsig_start() < 0)
        return SENTRY_SETUP_FAILED;
    char path[PATH_MAX];
    if ((r = find_program(t, cfg->exe_path, cfg->envp, path, sizeof(path))) < 0) {
        log_err("%s: %s", cfg->exe_path, strerror(-r));
        fprintf(stderr, "sandbox: %s: %s\n", cfg->exe_path, strerror(-r));
        return r;
    }
    r = kernel_execve(t, AT_FDCWD_GUEST, path, cfg->argv, cfg->envp, 0);
    if (r < 0) {
        log_err("%s: cannot execute: %s", cfg->exe_path, strerror(-r));
        fprintf(stderr, "sandbox: %s: cannot execute: %s\n", cfg->exe_path, strerror(-r));
        return r;
    }
    if (!t->exiting)
        task_run(t);
    return first_task_exit(t);
}
