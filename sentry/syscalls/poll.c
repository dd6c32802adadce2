/* poll, ppoll, select, pselect6, after Linux's fs/select.c: the same argument checks
 * in the same order, one scan that registers waiters on the files' queues (until a
 * first file is ready), sleeps on a poll table, rescans.
 *
 * Interruptions: ppoll, select and pselect6 return -ERESTARTNOHAND (EINTR after a
 * handler, a restart with the updated timeout otherwise), and write the time left
 * back as Linux does. poll with an infinite timeout does the same; with a finite one
 * it returns EINTR, since the Sentry has no restart_syscall block yet to restart it
 * with the time left (Linux restarts it when no handler runs, e.g. after a stop). */
#include "sentry/syscalls/poll.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/err.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"

#define NSEC_PER_SEC 1000000000LL

/* ---- timeouts and masks (poll.h) ---- */

void wait_end_ms(struct wait_end *e, long ms)
{
    if (ms < 0) {
        e->kind = WAIT_FOREVER;
        return;
    }
    wait_end_ts(e, ms / 1000, (ms % 1000) * 1000000L);
}

int wait_end_ts(struct wait_end *e, int64_t sec, int64_t nsec)
{
    if (sec < 0 || nsec < 0 || nsec >= NSEC_PER_SEC)
        return -EINVAL;
    if (!sec && !nsec) {
        e->kind = WAIT_NOW;
        return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t s = now.tv_sec, ns = now.tv_nsec + nsec;
    if (ns >= NSEC_PER_SEC) {
        ns -= NSEC_PER_SEC;
        s++;
    }
    e->kind = WAIT_UNTIL;
    if (__builtin_add_overflow(s, sec, &s)) {
        s = INT64_MAX;   /* timespec64_add_safe */
        ns = 0;
    }
    e->at.tv_sec = s;
    e->at.tv_nsec = ns;
    return 0;
}

const struct timespec *wait_end_deadline(const struct wait_end *e)
{
    return e->kind == WAIT_UNTIL ? &e->at : NULL;
}

int wait_sigmask_in(struct task *t, uint64_t addr, size_t size)
{
    if (!addr)
        return 0;
    if (size != sizeof(uint64_t))
        return -EINVAL;
    uint64_t mask;
    if (mm_copy_in(t->mm, &mask, addr, sizeof(mask)) < 0)
        return -EFAULT;
    signal_set_wait_mask(t, mask);
    return 0;
}

int signal_pending_now(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    int r = signal_pending_unblocked(t) || t->exiting;
    pthread_mutex_unlock(&t->mu);
    return r;
}

/* time_left: what is left until e's deadline (0 once past). */
static struct timespec time_left(const struct wait_end *e)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t s = e->at.tv_sec - now.tv_sec, ns = e->at.tv_nsec - now.tv_nsec;
    if (ns < 0) {
        ns += NSEC_PER_SEC;
        s--;
    }
    if (s < 0)
        s = ns = 0;
    return (struct timespec){ s, ns };
}

enum { TIME_TIMEVAL, TIME_TIMESPEC };

/* wait_finish: Linux's poll_select_finish: restores the mask unless interrupted,
 * writes the time left to the guest's timeout at uaddr (not for a zero timeout); if
 * that faults, an interrupted call cannot restart and returns EINTR. */
static long wait_finish(struct task *t, const struct wait_end *e, uint64_t uaddr,
                        int type, long ret)
{
    signal_end_wait_mask(t, ret == -ERESTARTNOHAND);
    if (!uaddr || e->kind != WAIT_UNTIL)
        return ret;
    struct timespec left = time_left(e);
    int64_t out[2] = { left.tv_sec,
                       type == TIME_TIMEVAL ? left.tv_nsec / 1000 : left.tv_nsec };
    if (mm_copy_out(t->mm, uaddr, out, sizeof(out), 0) < 0 && ret == -ERESTARTNOHAND)
        ret = -EINTR;
    return ret;
}

/* ---- poll, ppoll ---- */

/* poll_fget: fd's file for polling: NULL for a bad fd or an O_PATH file. */
static struct file *poll_fget(struct task *t, int fd)
{
    struct file *f = fdtable_get(t->fds, fd);
    if (f && (f->flags & O_PATH)) {
        file_put(f);
        f = NULL;
    }
    return f;
}

/* poll_one: Linux's do_pollfd: sets p->revents; registers on the file's queue when
 * pt is given and the file is not ready. Returns revents. */
static unsigned poll_one(struct task *t, struct pollfd *p, struct poll_table *pt)
{
    unsigned mask = 0;
    if (p->fd >= 0) {
        struct file *f = poll_fget(t, p->fd);
        mask = POLLNVAL;
        if (f) {
            unsigned filter = (uint16_t)p->events | POLLERR | POLLHUP;
            struct waitq *wq;
            mask = vfs_poll(f, pt ? &wq : NULL) & filter;
            if (pt && wq && !mask)
                poll_table_add(pt, f, wq, filter);
            file_put(f);
        }
    }
    p->revents = (short)mask;
    return mask;
}

/* do_poll: scans until a file is ready, the time is up, or a signal. Returns the
 * count of ready entries, -ERESTARTNOHAND, or -ENOMEM. */
static long do_poll(struct task *t, struct pollfd *fds, unsigned nfds,
                    const struct wait_end *e)
{
    struct poll_table pt;
    poll_table_init(&pt, t);
    struct poll_table *reg = e->kind == WAIT_NOW ? NULL : &pt;
    int timed_out = e->kind == WAIT_NOW, interrupted = 0;
    long count;
    for (;;) {
        count = 0;
        for (unsigned i = 0; i < nfds; i++) {
            if (poll_one(t, &fds[i], reg)) {
                count++;
                reg = NULL;   /* no sleep ahead: stop registering */
            }
        }
        reg = NULL;
        if (!count) {
            count = pt.err;
            if (interrupted || signal_pending_now(t))
                count = -ERESTARTNOHAND;
        }
        if (count || timed_out)
            break;
        int r = poll_table_wait(&pt, wait_end_deadline(e));
        if (r == -ETIMEDOUT)
            timed_out = 1;
        else if (r == -EINTR)
            interrupted = 1;
    }
    poll_table_free(&pt);
    return count;
}

/* do_sys_poll: copies the pollfd array in, polls, copies it back (revents even when
 * interrupted, as Linux). */
static long do_sys_poll(struct task *t, uint64_t ufds, unsigned nfds,
                        const struct wait_end *e)
{
    if (nfds > t->tg->rlimits[RLIMIT_NOFILE][0])
        return -EINVAL;
    struct pollfd one, *fds = &one;
    size_t size = (size_t)nfds * sizeof(struct pollfd);
    if (nfds > 1 && !(fds = malloc(size)))
        return -ENOMEM;
    long ret;
    if (nfds && mm_copy_in(t->mm, fds, ufds, size) < 0) {
        ret = -EFAULT;
        goto out;
    }
    ret = do_poll(t, fds, nfds, e);
    if (nfds && mm_copy_out(t->mm, ufds, fds, size, 0) < 0)
        ret = -EFAULT;
out:
    if (fds != &one)
        free(fds);
    return ret;
}

long sys_poll(struct task *t, const struct syscall_args *a)
{
    uint64_t ufds = arg_u64(a, 0);
    unsigned nfds = arg_uint(a, 1);
    int timeout = arg_int(a, 2);
    struct wait_end e;
    wait_end_ms(&e, timeout);
    long ret = do_sys_poll(t, ufds, nfds, &e);
    if (ret == -ERESTARTNOHAND && timeout >= 0)
        ret = -EINTR;   /* see the top of the file */
    return ret;
}

/* timespec_in: the guest's timespec at addr as a wait end. -EFAULT, -EINVAL. */
static int timespec_in(struct task *t, uint64_t addr, struct wait_end *e)
{
    int64_t ts[2];
    if (mm_copy_in(t->mm, ts, addr, sizeof(ts)) < 0)
        return -EFAULT;
    return wait_end_ts(e, ts[0], ts[1]);
}

long sys_ppoll(struct task *t, const struct syscall_args *a)
{
    uint64_t ufds = arg_u64(a, 0);
    unsigned nfds = arg_uint(a, 1);
    uint64_t tsp = arg_u64(a, 2);
    uint64_t sigmask = arg_u64(a, 3);
    size_t sigsetsize = arg_size(a, 4);
    struct wait_end e = { .kind = WAIT_FOREVER };
    int err;
    if (tsp && (err = timespec_in(t, tsp, &e)) < 0)
        return err;
    if ((err = wait_sigmask_in(t, sigmask, sigsetsize)) < 0)
        return err;
    long ret = do_sys_poll(t, ufds, nfds, &e);
    return wait_finish(t, &e, tsp, TIME_TIMESPEC, ret);
}

/* ---- select, pselect6 ---- */

/* What select counts as readable, writable, exceptional (POLLNVAL in all three: a
 * file that went away, or an O_PATH one, is reported rather than waited for). */
#define POLLIN_SET  (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR | POLLNVAL)
#define POLLOUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR | POLLNVAL)
#define POLLEX_SET  (POLLPRI | POLLNVAL)

/* The six bitmaps of a select, nwords 64-bit words each. */
struct fd_sets {
    int nwords;
    uint64_t *in, *out, *ex;       /* asked */
    uint64_t *rin, *rout, *rex;    /* found */
};

/* max_select_fd: -EBADF if a bit below n names a closed fd (O_PATH ones count as
 * open, as in Linux's open_fds). */
static int check_open(struct task *t, int n, const struct fd_sets *s)
{
    struct fdtable *ft = t->fds;
    int ret = 0;
    pthread_mutex_lock(&ft->mu);
    for (int w = 0; w < s->nwords && !ret; w++) {
        uint64_t all = s->in[w] | s->out[w] | s->ex[w];
        while (all) {
            int fd = w * 64 + __builtin_ctzll(all);
            all &= all - 1;
            if (fd >= n)
                break;
            if (fd >= ft->size || !ft->files[fd]) {
                ret = -EBADF;
                break;
            }
        }
    }
    pthread_mutex_unlock(&ft->mu);
    return ret;
}

/* select_one: fd's events; registers on its queue for key when reg is given and
 * nothing in key is ready. */
static unsigned select_one(struct task *t, int fd, struct poll_table *reg, unsigned key)
{
    struct file *f = poll_fget(t, fd);
    if (!f)
        return POLLNVAL;
    struct waitq *wq;
    unsigned mask = vfs_poll(f, reg ? &wq : NULL);
    if (reg && wq && !(mask & key))
        poll_table_add(reg, f, wq, key);
    file_put(f);
    return mask;
}

/* select_scan: one pass over the asked fds below n, filling the found sets. Returns
 * how many (fd, set) pairs are ready. *reg is cleared once one is (no sleep ahead). */
static int select_scan(struct task *t, int n, struct fd_sets *s, struct poll_table **reg)
{
    int count = 0;
    for (int w = 0; w < s->nwords; w++) {
        uint64_t in = s->in[w], out = s->out[w], ex = s->ex[w], all = in | out | ex;
        uint64_t rin = 0, rout = 0, rex = 0;
        while (all) {
            int j = __builtin_ctzll(all);
            uint64_t bit = 1ULL << j;
            all &= all - 1;
            int fd = w * 64 + j;
            if (fd >= n)
                break;
            unsigned key = POLLEX_SET | ((in & bit) ? POLLIN_SET : 0) |
                           ((out & bit) ? POLLOUT_SET : 0);
            unsigned mask = select_one(t, fd, *reg, key);
            if ((mask & POLLIN_SET) && (in & bit)) {
                rin |= bit;
                count++;
            }
            if ((mask & POLLOUT_SET) && (out & bit)) {
                rout |= bit;
                count++;
            }
            if ((mask & POLLEX_SET) && (ex & bit)) {
                rex |= bit;
                count++;
            }
            if (count)
                *reg = NULL;
        }
        s->rin[w] = rin;
        s->rout[w] = rout;
        s->rex[w] = rex;
    }
    return count;
}

/* do_select: Linux's do_select loop. Returns the count, 0 (timeout or a signal:
 * the caller tells them apart), -EBADF or -ENOMEM. */
static int do_select(struct task *t, int n, struct fd_sets *s, const struct wait_end *e)
{
    int ret = check_open(t, n, s);
    if (ret < 0)
        return ret;
    struct poll_table pt;
    poll_table_init(&pt, t);
    struct poll_table *reg = e->kind == WAIT_NOW ? NULL : &pt;
    int timed_out = e->kind == WAIT_NOW, interrupted = 0;
    for (;;) {
        ret = select_scan(t, n, s, &reg);
        reg = NULL;
        if (ret || timed_out || interrupted || signal_pending_now(t))
            break;
        if (pt.err) {
            ret = pt.err;
            break;
        }
        int r = poll_table_wait(&pt, wait_end_deadline(e));
        if (r == -ETIMEDOUT)
            timed_out = 1;
        else if (r == -EINTR)
            interrupted = 1;
    }
    poll_table_free(&pt);
    return ret;
}

/* fd_set_in/out: one guest fd_set of nwords words (addr 0: none, read as empty). */
static int fd_set_in(struct task *t, uint64_t addr, uint64_t *set, int nwords)
{
    if (!nwords)
        return 0;
    if (!addr) {
        memset(set, 0, (size_t)nwords * 8);
        return 0;
    }
    return mm_copy_in(t->mm, set, addr, (size_t)nwords * 8) < 0 ? -EFAULT : 0;
}

static int fd_set_out(struct task *t, uint64_t addr, const uint64_t *set, int nwords)
{
    if (!addr || !nwords)
        return 0;
    return mm_copy_out(t->mm, addr, set, (size_t)nwords * 8, 0) < 0 ? -EFAULT : 0;
}

/* core_sys_select: n is cut to the fd table's size (Linux's max_fds), which bounds
 * the copies; the sets are written back only on success. */
static long core_sys_select(struct task *t, int n, uint64_t inp, uint64_t outp,
                            uint64_t exp, const struct wait_end *e)
{
    if (n < 0)
        return -EINVAL;
    pthread_mutex_lock(&t->fds->mu);
    int max_fds = t->fds->size > 64 ? t->fds->size : 64;
    pthread_mutex_unlock(&t->fds->mu);
    if (n > max_fds)
        n = max_fds;
    int nwords = (n + 63) / 64;
    struct fd_sets s = { .nwords = nwords };
    uint64_t one[6], *mem = one;
    if (nwords > 1 && !(mem = calloc((size_t)nwords * 6, 8)))
        return -ENOMEM;
    s.in = mem;
    s.out = mem + nwords;
    s.ex = mem + 2 * nwords;
    s.rin = mem + 3 * nwords;
    s.rout = mem + 4 * nwords;
    s.rex = mem + 5 * nwords;
    long ret;
    if ((ret = fd_set_in(t, inp, s.in, nwords)) < 0 ||
        (ret = fd_set_in(t, outp, s.out, nwords)) < 0 ||
        (ret = fd_set_in(t, exp, s.ex, nwords)) < 0)
        goto out;
    ret = do_select(t, n, &s, e);
    if (ret < 0)
        goto out;
    if (!ret && signal_pending_now(t)) {
        ret = -ERESTARTNOHAND;
        goto out;
    }
    if (fd_set_out(t, inp, s.rin, nwords) < 0 || fd_set_out(t, outp, s.rout, nwords) < 0 ||
        fd_set_out(t, exp, s.rex, nwords) < 0)
        ret = -EFAULT;
out:
    if (mem != one)
        free(mem);
    return ret;
}

long sys_select(struct task *t, const struct syscall_args *a)
{
    int n = arg_int(a, 0);
    uint64_t inp = arg_u64(a, 1), outp = arg_u64(a, 2), exp = arg_u64(a, 3);
    uint64_t tvp = arg_u64(a, 4);
    struct wait_end e = { .kind = WAIT_FOREVER };
    if (tvp) {
        int64_t tv[2], sec;
        if (mm_copy_in(t->mm, tv, tvp, sizeof(tv)) < 0)
            return -EFAULT;
        /* microseconds past a second carry over, as in Linux's kern_select */
        if (__builtin_add_overflow(tv[0], tv[1] / 1000000, &sec) ||
            wait_end_ts(&e, sec, (tv[1] % 1000000) * 1000) < 0)
            return -EINVAL;
    }
    long ret = core_sys_select(t, n, inp, outp, exp, &e);
    return wait_finish(t, &e, tvp, TIME_TIMEVAL, ret);
}

long sys_pselect6(struct task *t, const struct syscall_args *a)
{
    int n = arg_int(a, 0);
    uint64_t inp = arg_u64(a, 1), outp = arg_u64(a, 2), exp = arg_u64(a, 3);
    uint64_t tsp = arg_u64(a, 4), sig = arg_u64(a, 5);
    uint64_t pack[2] = { 0, 0 };   /* { const sigset_t *ss; size_t ss_len; } */
    if (sig && mm_copy_in(t->mm, pack, sig, sizeof(pack)) < 0)
        return -EFAULT;
    struct wait_end e = { .kind = WAIT_FOREVER };
    int err;
    if (tsp && (err = timespec_in(t, tsp, &e)) < 0)
        return err;
    if ((err = wait_sigmask_in(t, pack[0], (size_t)pack[1])) < 0)
        return err;
    long ret = core_sys_select(t, n, inp, outp, exp, &e);
    return wait_finish(t, &e, tsp, TIME_TIMESPEC, ret);
}
