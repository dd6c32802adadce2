/* signalfd (see signalfd.h), after Linux's fs/signalfd.c: the same record layout
 * (signalfd_copyinfo's choice of fields by siginfo layout) and the same read rules (a
 * buffer smaller than one record is EINVAL; the first record may block, the rest do
 * not).
 *
 * Waiting: readers wait on signal_waitq(), which every newly pending signal wakes
 * (sentry/kernel/signal.h). The mask is an atomic, so no lock of the file is needed. */
#include "sentry/fs/signalfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "lib/err.h"
#include "sentry/fs/anon_inode.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/vfs/file.h"

#define UNTAKEABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

struct signalfd {
    uint64_t mask;     /* atomic: the signals this file takes */
};

/* The guest's struct signalfd_siginfo. */
struct guest_sfd_siginfo {
    uint32_t signo;
    int32_t err;
    int32_t code;
    uint32_t pid, uid;
    int32_t fd;
    uint32_t tid, band, overrun, trapno;
    int32_t status, int_;
    uint64_t ptr, utime, stime, addr;
    uint16_t addr_lsb, pad2;
    int32_t syscall;
    uint64_t call_addr;
    uint32_t arch;
    uint8_t pad[28];
};
_Static_assert(sizeof(struct guest_sfd_siginfo) == 128, "signalfd_siginfo ABI");

static struct signalfd *sfd(struct file *f) { return f->priv; }

static uint64_t mask_of(struct file *f)
{
    return __atomic_load_n(&sfd(f)->mask, __ATOMIC_SEQ_CST);
}

/* Linux's siginfo layouts (kernel/signal.c siginfo_layout), as far as signalfd cares. */
enum layout { L_KILL, L_TIMER, L_POLL, L_FAULT, L_CHLD, L_RT, L_SYS };

static enum layout layout_of(int sig, int code)
{
    if (code > SI_USER && code < SI_KERNEL) {
        /* the signal-specific codes, up to each signal's last one */
        switch (sig) {
        case SIGILL: if (code <= 11) return L_FAULT; break;
        case SIGFPE: if (code <= 15) return L_FAULT; break;
        case SIGSEGV: if (code <= 10) return L_FAULT; break;
        case SIGBUS: if (code <= 5) return L_FAULT; break;
        case SIGTRAP: if (code <= 6) return L_FAULT; break;
        case SIGCHLD: if (code <= 6) return L_CHLD; break;
        case SIGPOLL: if (code <= 6) return L_POLL; break;
        case SIGSYS: if (code <= 2) return L_SYS; break;
        default: break;
        }
        return code <= 6 ? L_POLL : L_KILL;
    }
    if (code == SI_TIMER)
        return L_TIMER;
    if (code == SI_SIGIO)
        return L_POLL;
    return code < 0 ? L_RT : L_KILL;
}

/* to_record: the signalfd_siginfo Linux's signalfd_copyinfo makes of si. */
static void to_record(const siginfo_t *si, struct guest_sfd_siginfo *r)
{
    memset(r, 0, sizeof(*r));
    r->signo = (uint32_t)si->si_signo;
    r->err = si->si_errno;
    r->code = si->si_code;
    switch (layout_of(si->si_signo, si->si_code)) {
    case L_KILL:
        r->pid = (uint32_t)si->si_pid;
        r->uid = si->si_uid;
        break;
    case L_TIMER:
        r->tid = (uint32_t)si->si_timerid;
        r->overrun = (uint32_t)si->si_overrun;
        r->ptr = (uint64_t)(uintptr_t)si->si_ptr;
        r->int_ = si->si_int;
        break;
    case L_POLL:
        r->band = (uint32_t)si->si_band;
        r->fd = si->si_fd;
        break;
    case L_FAULT:
        r->addr = (uint64_t)(uintptr_t)si->si_addr;
        if (si->si_signo == SIGBUS && (si->si_code == BUS_MCEERR_AR ||
                                       si->si_code == BUS_MCEERR_AO))
            r->addr_lsb = (uint16_t)si->si_addr_lsb;
        break;
    case L_CHLD:
        r->pid = (uint32_t)si->si_pid;
        r->uid = si->si_uid;
        r->status = si->si_status;
        r->utime = (uint64_t)si->si_utime;
        r->stime = (uint64_t)si->si_stime;
        break;
    case L_RT:
        r->pid = (uint32_t)si->si_pid;
        r->uid = si->si_uid;
        r->ptr = (uint64_t)(uintptr_t)si->si_ptr;
        r->int_ = si->si_int;
        break;
    case L_SYS:
        r->call_addr = (uint64_t)(uintptr_t)si->si_call_addr;
        r->syscall = si->si_syscall;
        r->arch = si->si_arch;
        break;
    }
}

/* take: one signal for the reader, waiting for it unless nonblock. The signal number,
 * -EAGAIN, or -ERESTARTSYS when a signal the reader does not block interrupts. */
static int take(struct file *f, int nonblock, siginfo_t *si)
{
    struct task *t = current_task;
    for (;;) {
        int sig = signal_dequeue_any(t, mask_of(f), si);
        if (sig > 0 || nonblock)
            return sig > 0 ? sig : -EAGAIN;
        struct waiter w;
        waiter_init(&w, t, POLLIN);
        waitq_add(signal_waitq(), &w);
        int r = 0;
        if (!signal_pending_any(t, mask_of(f)))
            r = waiter_sleep(&w, NULL);
        waitq_remove(signal_waitq(), &w);
        if (r < 0)
            return -ERESTARTSYS;
    }
}

static ssize_t sfd_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    size_t count = u->size / sizeof(struct guest_sfd_siginfo);
    if (!count)
        return -EINVAL;
    int nonblock = (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) != 0;
    ssize_t total = 0, ret = 0;
    for (size_t i = 0; i < count; i++) {
        siginfo_t si;
        ret = take(f, nonblock, &si);
        if (ret <= 0)
            break;
        struct guest_sfd_siginfo rec;
        to_record(&si, &rec);
        /* as Linux, a record that cannot be copied out is lost */
        if (uio_copy_out(u, (size_t)total, &rec, sizeof(rec)) != sizeof(rec)) {
            ret = -EFAULT;
            break;
        }
        total += (ssize_t)sizeof(rec);
        nonblock = 1;   /* only the first record is waited for */
    }
    return total ? total : ret;
}

static unsigned sfd_poll(struct file *f, struct waitq **wq)
{
    if (wq)
        *wq = signal_waitq();
    struct task *t = current_task;
    return t && signal_pending_any(t, mask_of(f)) ? POLLIN : 0;
}

static int sfd_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

/* noop_llseek, as Linux's signalfd */
static int64_t sfd_llseek(struct file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static int sfd_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static void sfd_release(struct file *f)
{
    free(sfd(f));
}

static const struct file_ops g_signalfd_ops = {
    .read = sfd_read,
    .stat = sfd_stat,
    .llseek = sfd_llseek,
    .release = sfd_release,
    .mmap = sfd_mmap,
    .poll = sfd_poll,
};

int is_signalfd_file(const struct file *f) { return f->ops == &g_signalfd_ops; }

int signalfd_new(uint64_t mask, int flags, struct file **out)
{
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
        return -EINVAL;
    struct signalfd *s = calloc(1, sizeof(*s));
    struct inode *ino = anon_inode_get();
    struct file *f = s && ino ? file_alloc(&g_signalfd_ops,
                                           O_RDWR | ((unsigned)flags & SFD_NONBLOCK), s)
                              : NULL;
    if (!f) {
        free(s);
        inode_put(ino);
        return -ENOMEM;
    }
    s->mask = mask & ~UNTAKEABLE;
    f->inode = ino;   /* the reference moves in */
    *out = f;
    return 0;
}

void signalfd_set_mask(struct file *f, uint64_t mask)
{
    __atomic_store_n(&sfd(f)->mask, mask & ~UNTAKEABLE, __ATOMIC_SEQ_CST);
    waitq_wake(signal_waitq(), POLLIN);
}
