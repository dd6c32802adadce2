/* System information and limits: uname, getrandom, rlimits, sysinfo, cwd, umask. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memfile.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"

long sys_uname(struct task *t, const struct syscall_args *a)
{
    struct utsname u;
    memset(&u, 0, sizeof(u));
    /* the sandbox's own identity, not the host's */
    strcpy(u.sysname, "Linux");
    strcpy(u.nodename, g_kernel.hostname);
    strcpy(u.release, KERNEL_RELEASE);
    strcpy(u.version, KERNEL_VERSION);
    strcpy(u.machine, "x86_64");
    strcpy(u.domainname, "(none)");
    return mm_copy_out(t->mm, arg_u64(a, 0), &u, sizeof(u), 0);
}

long sys_getrandom(struct task *t, const struct syscall_args *a)
{
    uint64_t buf = arg_u64(a, 0);
    size_t len = MIN(arg_size(a, 1), MAX_RANDOM_COUNT);
    unsigned flags = arg_uint(a, 2);
    if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return -EINVAL;
    unsigned char chunk[256];
    size_t done = 0;
    while (done < len) {
        size_t n = MIN(sizeof(chunk), len - done);
        /* the Sentry's entropy source is the host's pool */
        ssize_t got = getrandom(chunk, n, 0);
        if (got <= 0)
            break;
        if (mm_copy_out(t->mm, buf + done, chunk, (size_t)got, 0) < 0)
            return done ? (long)done : -EFAULT;
        done += (size_t)got;
    }
    return (long)done;
}

/* The guest's struct rlimit64. */
struct guest_rlimit { uint64_t cur, max; };

static long do_prlimit(struct task *t, int pid, int res, uint64_t new_addr,
                       uint64_t old_addr)
{
    if (res < 0 || res >= RLIM_NLIMITS)
        return -EINVAL;
    if (pid != 0 && pid != t->tg->tgid)
        return -ESRCH;
    struct guest_rlimit n, old = { t->tg->rlimits[res][0], t->tg->rlimits[res][1] };
    if (new_addr) {
        if (mm_copy_in(t->mm, &n, new_addr, sizeof(n)) < 0)
            return -EFAULT;
        if (n.cur > n.max)
            return -EINVAL;
        /* raising the hard limit needs CAP_SYS_RESOURCE, which the guest has not */
        if (n.max > old.max)
            return -EPERM;
        if (res == RLIMIT_NOFILE && n.max > FD_MAX_GUEST)
            return -EPERM;
    }
    if (old_addr && mm_copy_out(t->mm, old_addr, &old, sizeof(old), 0) < 0)
        return -EFAULT;
    if (new_addr) {
        t->tg->rlimits[res][0] = n.cur;
        t->tg->rlimits[res][1] = n.max;
        if (res == RLIMIT_NOFILE) {
            /* the fd table enforces the soft limit on new fds */
            pthread_mutex_lock(&t->fds->mu);
            t->fds->limit = (int)MIN(n.cur, (uint64_t)FD_MAX_GUEST);
            pthread_mutex_unlock(&t->fds->mu);
        }
    }
    return 0;
}

long sys_prlimit64(struct task *t, const struct syscall_args *a)
{
    return do_prlimit(t, arg_int(a, 0), arg_int(a, 1), arg_u64(a, 2), arg_u64(a, 3));
}

long sys_getrlimit(struct task *t, const struct syscall_args *a)
{
    return do_prlimit(t, 0, arg_int(a, 0), 0, arg_u64(a, 1));
}

long sys_setrlimit(struct task *t, const struct syscall_args *a)
{
    return do_prlimit(t, 0, arg_int(a, 0), arg_u64(a, 1), 0);
}

long sys_sysinfo(struct task *t, const struct syscall_args *a)
{
    struct sysinfo si;
    memset(&si, 0, sizeof(si));
    /* the machine's memory is the sandbox's ceiling; what guests use is what the
     * memory file holds */
    long pages = sysconf(_SC_PHYS_PAGES);
    uint64_t total = pages > 0 ? (uint64_t)pages * PAGE_SIZE : 0;
    uint64_t used = MIN(memfile_used(), total);
    si.totalram = total;
    si.freeram = total - used;
    si.mem_unit = 1;
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    si.uptime = now.tv_sec - g_kernel.boot_time.tv_sec;
    si.procs = 1;
    return mm_copy_out(t->mm, arg_u64(a, 0), &si, sizeof(si), 0);
}

long sys_umask(struct task *t, const struct syscall_args *a)
{
    uint32_t old = t->umask;
    t->umask = arg_uint(a, 0) & 0777;
    return old;
}
