/* epoll instances (see epoll.h). */
#include "sentry/fs/epoll.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>

#include "sentry/fs/anon_inode.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/waitq.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"

/* Epoll's own bits in an item's event mask (never reported). */
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
/* What EPOLLEXCLUSIVE may come with. */
#define EXCLUSIVE_OK_BITS (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | \
                           EPOLLET | EPOLLEXCLUSIVE)

struct eventpoll;

/* One registration: (file, fd) in one instance. */
struct epitem {
    struct eventpoll *ep;            /* immutable */
    struct file *file;               /* immutable; no reference (see epoll.h) */
    int fd;                          /* immutable */
    uint32_t events;                 /* requested events and private bits; ep->lock */
    uint64_t data;                   /* ep->lock */
    int ready;                       /* on ep's ready list; ep->lock */
    struct epitem *rd_next, *rd_prev;   /* the ready list; ep->lock */
    struct epitem *h_next;           /* hash chain; ep->mtx and g_epoll_mu */
    struct epitem *f_next, *f_prev;  /* file->epitems; g_epoll_mu */
    struct waitq *wq;                /* the file's queue w waits on (NULL: none); immutable */
    struct waiter w;                 /* callback waiter, arg = this item */
};

struct eventpoll {
    pthread_mutex_t mtx;             /* the items: held for ctl and while polling them */
    pthread_mutex_t lock;            /* the ready list and item events (callbacks) */
    struct waitq wq;                 /* epoll_wait sleepers and pollers of this file */
    struct epitem **buckets;         /* (file, fd) hash; mtx and g_epoll_mu */
    unsigned nbuckets, nitems;
    struct epitem *rd_head, *rd_tail;   /* lock */
    unsigned nready;                 /* items on the ready list; lock */
    struct file *file;               /* the instance's own file; immutable, no ref */
    unsigned gen;                    /* loop checks: visited in walk gen; g_epoll_mu */
    int depth;                       /* loop checks: depth found; g_epoll_mu */
    uint64_t busy_params;            /* EPIOCSPARAMS, kept but unused (atomic) */
};

static pthread_mutex_t g_epoll_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_loop_gen;          /* g_epoll_mu */

static const struct file_ops g_epoll_ops;

int is_epoll_file(const struct file *f) { return f->ops == &g_epoll_ops; }

/* ---- the ready list (ep->lock held) ---- */

static void rd_append(struct eventpoll *ep, struct epitem *epi)
{
    epi->rd_next = NULL;
    epi->rd_prev = ep->rd_tail;
    if (ep->rd_tail)
        ep->rd_tail->rd_next = epi;
    else
        ep->rd_head = epi;
    ep->rd_tail = epi;
    epi->ready = 1;
    ep->nready++;
}

static void rd_push_front(struct eventpoll *ep, struct epitem *epi)
{
    epi->rd_prev = NULL;
    epi->rd_next = ep->rd_head;
    if (ep->rd_head)
        ep->rd_head->rd_prev = epi;
    else
        ep->rd_tail = epi;
    ep->rd_head = epi;
    epi->ready = 1;
    ep->nready++;
}

static void rd_unlink(struct eventpoll *ep, struct epitem *epi)
{
    if (epi->rd_prev)
        epi->rd_prev->rd_next = epi->rd_next;
    else
        ep->rd_head = epi->rd_next;
    if (epi->rd_next)
        epi->rd_next->rd_prev = epi->rd_prev;
    else
        ep->rd_tail = epi->rd_prev;
    epi->rd_next = epi->rd_prev = NULL;
    epi->ready = 0;
    ep->nready--;
}

static int has_ready(struct eventpoll *ep)
{
    pthread_mutex_lock(&ep->lock);
    int r = ep->rd_head != NULL;
    pthread_mutex_unlock(&ep->lock);
    return r;
}

/* ---- the (file, fd) hash (mtx and g_epoll_mu held to change) ---- */

static unsigned hash_of(const struct file *f, int fd, unsigned nbuckets)
{
    uint64_t h = ((uintptr_t)f >> 4) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(unsigned)fd;
    h *= 0xff51afd7ed558ccdULL;
    return (unsigned)(h >> 32) & (nbuckets - 1);
}

static struct epitem *find(struct eventpoll *ep, const struct file *f, int fd)
{
    if (!ep->nbuckets)
        return NULL;
    for (struct epitem *e = ep->buckets[hash_of(f, fd, ep->nbuckets)]; e; e = e->h_next)
        if (e->file == f && e->fd == fd)
            return e;
    return NULL;
}

/* hash_insert: adds epi, growing the table to keep chains short. -ENOMEM. */
static int hash_insert(struct eventpoll *ep, struct epitem *epi)
{
    if (ep->nitems >= ep->nbuckets) {
        unsigned nb = ep->nbuckets ? ep->nbuckets * 2 : 16;
        struct epitem **b = calloc(nb, sizeof(*b));
        if (!b)
            return -ENOMEM;
        for (unsigned i = 0; i < ep->nbuckets; i++) {
            struct epitem *e = ep->buckets[i];
            while (e) {
                struct epitem *next = e->h_next;
                unsigned h = hash_of(e->file, e->fd, nb);
                e->h_next = b[h];
                b[h] = e;
                e = next;
            }
        }
        free(ep->buckets);
        ep->buckets = b;
        ep->nbuckets = nb;
    }
    unsigned h = hash_of(epi->file, epi->fd, ep->nbuckets);
    epi->h_next = ep->buckets[h];
    ep->buckets[h] = epi;
    ep->nitems++;
    return 0;
}

static void hash_remove(struct eventpoll *ep, struct epitem *epi)
{
    for (struct epitem **pp = &ep->buckets[hash_of(epi->file, epi->fd, ep->nbuckets)];
         *pp; pp = &(*pp)->h_next) {
        if (*pp == epi) {
            *pp = epi->h_next;
            ep->nitems--;
            return;
        }
    }
}

/* ---- items ---- */

/* item_poll: the events epi's file is ready for among those it asks for (nothing for
 * a disabled EPOLLONESHOT item). ep->mtx held. */
static uint32_t item_poll(struct epitem *epi)
{
    uint32_t revents = vfs_poll(epi->file, NULL);
    pthread_mutex_lock(&epi->ep->lock);
    revents &= epi->events & ~EP_PRIVATE_BITS;
    pthread_mutex_unlock(&epi->ep->lock);
    return revents;
}

/* ep_callback: epi's file woke its queue with events (its waitq.mu held): queue the
 * item and wake the instance's waiters. Returns whether an exclusive wake-up was
 * taken: an epoll_wait sleeper was there to take it (Linux's ewake). */
static int ep_callback(struct waiter *w, unsigned events)
{
    struct epitem *epi = w->arg;
    struct eventpoll *ep = epi->ep;
    pthread_mutex_lock(&ep->lock);
    uint32_t want = epi->events;
    int queued = 0;
    if ((want & ~EP_PRIVATE_BITS) && (!events || (events & want))) {
        if (!epi->ready)
            rd_append(ep, epi);
        queued = 1;
    }
    pthread_mutex_unlock(&ep->lock);
    if (!queued)
        return !(want & EPOLLEXCLUSIVE);
    int took = waitq_active(&ep->wq);
    if ((want & EPOLLEXCLUSIVE) && took) {
        unsigned inout = events & (EPOLLIN | EPOLLOUT);
        took = inout == 0 || (inout == EPOLLIN && (want & EPOLLIN)) ||
               (inout == EPOLLOUT && (want & EPOLLOUT));
    }
    waitq_wake(&ep->wq, POLLIN | POLLRDNORM);
    return (want & EPOLLEXCLUSIVE) ? took : 1;
}

/* file_link/file_unlink: epi in its file's list. g_epoll_mu held. */
static void file_link(struct epitem *epi)
{
    struct file *f = epi->file;
    epi->f_prev = NULL;
    epi->f_next = f->epitems;
    if (f->epitems)
        f->epitems->f_prev = epi;
    __atomic_store_n(&f->epitems, epi, __ATOMIC_RELEASE);
}

static void file_unlink(struct epitem *epi)
{
    struct file *f = epi->file;
    if (epi->f_prev)
        epi->f_prev->f_next = epi->f_next;
    else
        __atomic_store_n(&f->epitems, epi->f_next, __ATOMIC_RELEASE);
    if (epi->f_next)
        epi->f_next->f_prev = epi->f_prev;
}

/* ep_remove: unregisters and frees epi. g_epoll_mu and ep->mtx held. */
static void ep_remove(struct eventpoll *ep, struct epitem *epi)
{
    /* once off the file's queue no callback can be running on epi */
    if (epi->wq)
        waitq_remove(epi->wq, &epi->w);
    pthread_mutex_lock(&ep->lock);
    if (epi->ready)
        rd_unlink(ep, epi);
    pthread_mutex_unlock(&ep->lock);
    hash_remove(ep, epi);
    file_unlink(epi);
    free(epi);
}

/* ready_now: puts epi on the ready list if its file is ready now, and wakes the
 * instance's waiters if so. ep->mtx held. */
static void queue_if_ready(struct eventpoll *ep, struct epitem *epi)
{
    if (!item_poll(epi))
        return;
    pthread_mutex_lock(&ep->lock);
    if (!epi->ready)
        rd_append(ep, epi);
    pthread_mutex_unlock(&ep->lock);
    waitq_wake(&ep->wq, POLLIN | POLLRDNORM);
}

/* ep_insert: EPOLL_CTL_ADD. g_epoll_mu and ep->mtx held. */
static int ep_insert(struct eventpoll *ep, struct file *tf, int fd, uint32_t events,
                     uint64_t data)
{
    struct epitem *epi = calloc(1, sizeof(*epi));
    if (!epi)
        return -ENOMEM;
    epi->ep = ep;
    epi->file = tf;
    epi->fd = fd;
    epi->events = events;
    epi->data = data;
    if (hash_insert(ep, epi) < 0) {
        free(epi);
        return -ENOMEM;
    }
    file_link(epi);
    struct waitq *wq;
    vfs_poll(tf, &wq);
    epi->wq = wq;
    if (wq) {
        /* every wake-up reaches the callback, which filters with the events of now */
        waiter_init(&epi->w, NULL, ~0u);
        epi->w.fn = ep_callback;
        epi->w.arg = epi;
        epi->w.exclusive = (events & EPOLLEXCLUSIVE) != 0;
        waitq_add(wq, &epi->w);
    }
    /* checked after registering, so a change in between is not lost */
    queue_if_ready(ep, epi);
    return 0;
}

/* ep_modify: EPOLL_CTL_MOD. g_epoll_mu and ep->mtx held. */
static void ep_modify(struct eventpoll *ep, struct epitem *epi, uint32_t events,
                      uint64_t data)
{
    pthread_mutex_lock(&ep->lock);
    epi->events = events;
    epi->data = data;
    pthread_mutex_unlock(&ep->lock);
    queue_if_ready(ep, epi);
}

/* ---- loop and depth checks (g_epoll_mu held) ---- */

/* loop_check_down: the nesting depth below ep, or more than EP_MAX_NESTS if into is
 * reachable from ep or the chain is too deep. */
static int loop_check_down(struct eventpoll *ep, struct eventpoll *into, int depth)
{
    if (ep->gen == g_loop_gen)
        return ep->depth;
    ep->gen = g_loop_gen;
    int result = 0;
    for (unsigned i = 0; i < ep->nbuckets && result <= EP_MAX_NESTS; i++) {
        for (struct epitem *e = ep->buckets[i]; e; e = e->h_next) {
            if (!is_epoll_file(e->file))
                continue;
            struct eventpoll *child = e->file->priv;
            int d;
            if (child == into || depth > EP_MAX_NESTS)
                d = EP_MAX_NESTS + 1;
            else
                d = loop_check_down(child, into, depth + 1) + 1;
            if (d > result)
                result = d;
            if (result > EP_MAX_NESTS)
                break;
        }
    }
    ep->depth = result;
    return result;
}

/* depth_up: how many instances are stacked above ep (watching it, transitively). */
static int depth_up(struct eventpoll *ep)
{
    if (ep->gen == g_loop_gen)
        return ep->depth;
    int result = 0;
    for (struct epitem *e = ep->file->epitems; e; e = e->f_next) {
        int d = depth_up(e->ep) + 1;
        if (d > result)
            result = d;
    }
    ep->gen = g_loop_gen;
    ep->depth = result;
    return result;
}

/* loop_check: whether adding instance to into ep makes a loop or too deep a chain
 * (Linux's ep_loop_check). */
static int loop_check(struct eventpoll *ep, struct eventpoll *to)
{
    g_loop_gen++;
    int down = loop_check_down(to, ep, 0);
    if (down > EP_MAX_NESTS)
        return -1;
    int up = depth_up(ep);
    return down + 1 + up > EP_MAX_NESTS ? -1 : 0;
}

/* ---- epoll_ctl ---- */

int epoll_ctl_file(struct file *epf, int op, struct file *tf, int fd,
                   const struct guest_epoll_event *ev)
{
    int has_event = op != EPOLL_CTL_DEL;
    uint32_t events = has_event ? ev->events : 0;
    uint64_t data = has_event ? ev->data : 0;
    if (!vfs_can_poll(tf))
        return -EPERM;
    /* EPOLLWAKEUP needs CAP_BLOCK_SUSPEND, which the sandbox never has */
    events &= ~EPOLLWAKEUP;
    if (epf == tf || !is_epoll_file(epf))
        return -EINVAL;
    if (has_event && (events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD)
            return -EINVAL;
        if (op == EPOLL_CTL_ADD && (is_epoll_file(tf) || (events & ~EXCLUSIVE_OK_BITS)))
            return -EINVAL;
    }
    struct eventpoll *ep = epf->priv;
    int err;
    pthread_mutex_lock(&g_epoll_mu);
    if (op == EPOLL_CTL_ADD && is_epoll_file(tf) && loop_check(ep, tf->priv) < 0) {
        pthread_mutex_unlock(&g_epoll_mu);
        return -ELOOP;
    }
    pthread_mutex_lock(&ep->mtx);
    struct epitem *epi = find(ep, tf, fd);
    switch (op) {
    case EPOLL_CTL_ADD:
        err = epi ? -EEXIST : ep_insert(ep, tf, fd, events | EPOLLERR | EPOLLHUP, data);
        break;
    case EPOLL_CTL_DEL:
        err = epi ? 0 : -ENOENT;
        if (epi)
            ep_remove(ep, epi);
        break;
    case EPOLL_CTL_MOD:
        if (!epi) {
            err = -ENOENT;
        } else if (epi->events & EPOLLEXCLUSIVE) {
            err = -EINVAL;
        } else {
            ep_modify(ep, epi, events | EPOLLERR | EPOLLHUP, data);
            err = 0;
        }
        break;
    default:
        err = -EINVAL;
    }
    pthread_mutex_unlock(&ep->mtx);
    pthread_mutex_unlock(&g_epoll_mu);
    return err;
}

/* ---- epoll_wait ---- */

/* send_events: reports up to maxevents ready items to the guest array (Linux's
 * ep_send_events): each is polled again and dropped if no longer ready; level-
 * triggered ones go back on the list, EPOLLONESHOT ones are disabled. Returns the
 * count or -EFAULT (only if nothing was copied). */
static int send_events(struct task *t, struct eventpoll *ep, uint64_t uevents,
                       int maxevents)
{
    int res = 0;
    pthread_mutex_lock(&ep->mtx);
    /* only the items ready now: level-triggered ones re-queue behind them */
    pthread_mutex_lock(&ep->lock);
    unsigned n = ep->nready;
    pthread_mutex_unlock(&ep->lock);
    for (; n > 0 && res < maxevents; n--) {
        pthread_mutex_lock(&ep->lock);
        struct epitem *epi = ep->rd_head;
        if (epi)
            rd_unlink(ep, epi);
        pthread_mutex_unlock(&ep->lock);
        if (!epi)
            break;
        uint32_t revents = item_poll(epi);
        if (!revents)
            continue;
        pthread_mutex_lock(&ep->lock);
        struct guest_epoll_event out = { .events = revents, .data = epi->data };
        pthread_mutex_unlock(&ep->lock);
        if (mm_copy_out(t->mm, uevents + (uint64_t)res * sizeof(out), &out,
                        sizeof(out), 0) < 0) {
            pthread_mutex_lock(&ep->lock);
            if (!epi->ready)
                rd_push_front(ep, epi);
            pthread_mutex_unlock(&ep->lock);
            if (!res)
                res = -EFAULT;
            break;
        }
        res++;
        pthread_mutex_lock(&ep->lock);
        if (epi->events & EPOLLONESHOT)
            epi->events &= EP_PRIVATE_BITS;
        else if (!(epi->events & EPOLLET) && !epi->ready)
            rd_append(ep, epi);
        pthread_mutex_unlock(&ep->lock);
    }
    pthread_mutex_unlock(&ep->mtx);
    return res;
}

static int signal_pending_locked(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    int r = signal_pending_unblocked(t) || t->exiting;
    pthread_mutex_unlock(&t->mu);
    return r;
}

int epoll_wait_file(struct task *t, struct file *epf, uint64_t events, int maxevents,
                    const struct timespec *deadline, int zero_timeout)
{
    struct eventpoll *ep = epf->priv;
    int timed_out = zero_timeout, interrupted = 0;
    int avail = has_ready(ep);
    for (;;) {
        if (avail) {
            int res = send_events(t, ep, events, maxevents);
            if (res)
                return res;
        }
        if (timed_out)
            return 0;
        if (interrupted || signal_pending_locked(t))
            return -EINTR;
        struct waiter w;
        waiter_init(&w, t, POLLIN | POLLRDNORM);
        waitq_add(&ep->wq, &w);
        int r = has_ready(ep) ? 0 : waiter_sleep(&w, deadline);
        waitq_remove(&ep->wq, &w);
        if (r == -ETIMEDOUT)
            timed_out = 1;
        else if (r == -EINTR)
            interrupted = 1;
        avail = 1;   /* harvest whatever is there, even after a timeout or signal */
    }
}

/* ---- the epoll file ---- */

/* epoll_poll: readable when an item is really ready (Linux's __ep_eventpoll_poll):
 * ready-list items that are not are dropped from it on the way. */
static unsigned epoll_poll(struct file *f, struct waitq **wq)
{
    struct eventpoll *ep = f->priv;
    if (wq)
        *wq = &ep->wq;
    unsigned res = 0;
    pthread_mutex_lock(&ep->mtx);
    pthread_mutex_lock(&ep->lock);
    struct epitem *epi = ep->rd_head;
    pthread_mutex_unlock(&ep->lock);
    /* with mtx held the list only grows at the tail (callbacks), so walking it with
     * the lock dropped around each poll is safe */
    while (epi) {
        uint32_t revents = item_poll(epi);
        pthread_mutex_lock(&ep->lock);
        struct epitem *next = epi->rd_next;
        if (!revents)
            rd_unlink(ep, epi);
        pthread_mutex_unlock(&ep->lock);
        if (revents) {
            res = POLLIN | POLLRDNORM;
            break;
        }
        epi = next;
    }
    pthread_mutex_unlock(&ep->mtx);
    return res;
}

static void epoll_release(struct file *f)
{
    struct eventpoll *ep = f->priv;
    pthread_mutex_lock(&g_epoll_mu);
    pthread_mutex_lock(&ep->mtx);
    for (unsigned i = 0; i < ep->nbuckets; i++)
        while (ep->buckets[i])
            ep_remove(ep, ep->buckets[i]);
    pthread_mutex_unlock(&ep->mtx);
    pthread_mutex_unlock(&g_epoll_mu);
    free(ep->buckets);
    pthread_mutex_destroy(&ep->mtx);
    pthread_mutex_destroy(&ep->lock);
    free(ep);
}

static int epoll_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static int epoll_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

/* Linux 6.9's busy-poll parameters (struct epoll_params, 8 bytes). The Sentry has no
 * busy polling: they are checked and kept, so EPIOCGPARAMS returns them. */
struct epoll_params {
    uint32_t busy_poll_usecs;
    uint16_t busy_poll_budget;
    uint8_t prefer_busy_poll;
    uint8_t pad;
};
#define EPIOCSPARAMS _IOW(0x8A, 0x01, struct epoll_params)
#define EPIOCGPARAMS _IOR(0x8A, 0x02, struct epoll_params)
#define NAPI_POLL_WEIGHT 64

static long epoll_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    struct eventpoll *ep = f->priv;
    struct epoll_params p;
    switch (cmd) {
    case EPIOCSPARAMS:
        if (mm_copy_in(t->mm, &p, arg, sizeof(p)) < 0)
            return -EFAULT;
        if (p.pad || p.busy_poll_usecs > INT32_MAX || p.prefer_busy_poll > 1)
            return -EINVAL;
        if (p.busy_poll_budget > NAPI_POLL_WEIGHT)
            return -EPERM;   /* needs CAP_NET_ADMIN */
        uint64_t v;
        memcpy(&v, &p, sizeof(v));
        __atomic_store_n(&ep->busy_params, v, __ATOMIC_RELAXED);
        return 0;
    case EPIOCGPARAMS: {
        uint64_t v = __atomic_load_n(&ep->busy_params, __ATOMIC_RELAXED);
        memcpy(&p, &v, sizeof(p));
        return mm_copy_out(t->mm, arg, &p, sizeof(p), 0);
    }
    default:
        return -EINVAL;   /* Linux's ep_eventpoll_ioctl */
    }
}

/* noop_llseek, as Linux's epoll files: the position stays 0 and is reported */
static int64_t epoll_llseek(struct file *f, int64_t off, int whence)
{
    (void)off;
    (void)whence;
    return f->pos;
}

static const struct file_ops g_epoll_ops = {
    .poll = epoll_poll,
    .stat = epoll_stat,
    .llseek = epoll_llseek,
    .ioctl = epoll_ioctl,
    .release = epoll_release,
    .mmap = epoll_mmap,
};

void epoll_release_file(struct file *f)
{
    if (!__atomic_load_n(&f->epitems, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&g_epoll_mu);
    struct epitem *epi;
    while ((epi = f->epitems)) {
        struct eventpoll *ep = epi->ep;
        pthread_mutex_lock(&ep->mtx);
        ep_remove(ep, epi);
        pthread_mutex_unlock(&ep->mtx);
    }
    pthread_mutex_unlock(&g_epoll_mu);
}

int epoll_create_file(struct file **out)
{
    struct eventpoll *ep = calloc(1, sizeof(*ep));
    struct inode *ino = anon_inode_get();
    struct file *f = ep && ino ? file_alloc(&g_epoll_ops, O_RDWR, ep) : NULL;
    if (!f) {
        free(ep);
        inode_put(ino);
        return -ENOMEM;
    }
    pthread_mutex_init(&ep->mtx, NULL);
    pthread_mutex_init(&ep->lock, NULL);
    waitq_init(&ep->wq);
    ep->file = f;
    f->inode = ino;   /* the reference moves in */
    *out = f;
    return 0;
}
