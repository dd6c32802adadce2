/* The generic socket layer (see socket.h): the family registry, socket files on the
 * internal sockfs, blocking rules, control-message output and SOL_SOCKET options
 * every family shares. */
#include "sentry/socket/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/ifioctl.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"
#include "sentry/vfs/vfs.h"

/* ---- the family registry ---- */

#define FAMILY_MAX 46   /* AF_MAX in Linux 6.x */

static socket_create_fn g_families[FAMILY_MAX];   /* written before any guest runs */
static pthread_once_t g_families_once = PTHREAD_ONCE_INIT;

void socket_family_register(int family, socket_create_fn create)
{
    if (family > 0 && family < FAMILY_MAX)
        g_families[family] = create;
}

static void families_init(void) { socket_families_init(); }

/* ---- sockfs: one S_IFSOCK inode per socket, as Linux's sock_alloc ---- */

static struct superblock g_sockfs = { .fstype = "sockfs" };
static pthread_once_t g_sockfs_once = PTHREAD_ONCE_INIT;

static void sockfs_init(void) { g_sockfs.dev = vfs_new_dev(); }

static struct inode *sockfs_inode(struct task *t)
{
    pthread_once(&g_sockfs_once, sockfs_init);
    struct inode *ino = inode_new(&g_sockfs, NULL, sb_next_ino(&g_sockfs),
                                  S_IFSOCK | 0777);
    if (ino && t) {
        ino->uid = t->cred.fsuid;
        ino->gid = t->cred.fsgid;
    }
    if (ino)
        ino->nlink = 1;
    return ino;
}

/* ---- sockets ---- */

struct socket *socket_alloc(int family, int type, int protocol)
{
    struct socket *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->family = family;
    s->type = type;
    s->protocol = protocol;
    waitq_init(&s->wq);
    s->sndbuf = SOCK_DEFAULT_BUF;
    s->rcvbuf = SOCK_DEFAULT_BUF;
    s->rcvlowat = 1;
    return s;
}

void socket_free(struct socket *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->release)
        s->ops->release(s);
    free(s);
}

static struct socket *sock(struct file *f) { return f->priv; }

/* read/write: recvmsg/sendmsg with no flags, as Linux's sock_read_iter. */
static ssize_t sock_file_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    if (u->size == 0)
        return 0;
    struct sock_msg m = { .data = u };
    socket_block(f, 0, 0, &m.blk);
    return socket_recvmsg(sock(f), current_task, &m, 0);
}

static ssize_t sock_file_write(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)pos;
    struct sock_msg m = { .data = u };
    socket_block(f, 0, 1, &m.blk);
    return socket_sendmsg(sock(f), current_task, &m, 0);
}

static int sock_file_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

/* ---- the owner (F_SETOWN) and SIGURG ---- */

/* set_owner: Linux's __f_setown: type and a thread, process or group id that must
 * exist (ESRCH; 0 clears). */
static int set_owner(struct socket *s, int type, int id)
{
    if (id) {
        pthread_mutex_lock(&g_kernel.mu);
        struct task *x = kernel_find_task(id);
        pthread_mutex_unlock(&g_kernel.mu);
        if (!x)
            return -ESRCH;
    }
    __atomic_store_n(&s->owner, id ? SOCK_OWNER(type, id) : 0, __ATOMIC_RELAXED);
    return 0;
}

/* set_owner_pid: F_SETOWN's and FIOSETOWN's argument: a process, or -group. */
static int set_owner_pid(struct socket *s, int who)
{
    if (who == INT32_MIN)
        return -EINVAL;
    return who < 0 ? set_owner(s, F_OWNER_PGRP, -who) : set_owner(s, F_OWNER_PID, who);
}

/* get_owner_pid: F_GETOWN's answer: the id, negative for a group. */
static int get_owner_pid(struct socket *s)
{
    int64_t o = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
    return SOCK_OWNER_TYPE(o) == F_OWNER_PGRP ? -SOCK_OWNER_ID(o) : SOCK_OWNER_ID(o);
}

void socket_sigurg(int64_t owner)
{
    int id = SOCK_OWNER_ID(owner);
    if (!id)
        return;
    pthread_mutex_lock(&g_kernel.mu);
    if (SOCK_OWNER_TYPE(owner) == F_OWNER_PGRP) {
        signal_send_pgrp(id, SIGURG, NULL);
    } else {
        struct task *x = kernel_find_task(id);
        if (x && !x->tg->zombie) {
            if (SOCK_OWNER_TYPE(owner) == F_OWNER_TID)
                signal_send(x, SIGURG, NULL);
            else
                signal_send_group(x->tg, SIGURG, NULL);
        }
    }
    pthread_mutex_unlock(&g_kernel.mu);
}

/* fcntl: the owner commands (F_SETOWN, F_GETOWN and the _EX forms, which glibc's
 * F_GETOWN uses); F_SETSIG is not done. */
static long sock_file_fcntl(struct file *f, int cmd, uint64_t arg)
{
    struct socket *s = sock(f);
    struct task *t = current_task;
    struct f_owner_ex ex;
    switch (cmd) {
    case F_SETOWN:
        return set_owner_pid(s, (int)arg);
    case F_GETOWN:
        return get_owner_pid(s);
    case F_SETOWN_EX:
        if (!t || mm_copy_in(t->mm, &ex, arg, sizeof(ex)) < 0)
            return -EFAULT;
        if (ex.type != F_OWNER_TID && ex.type != F_OWNER_PID && ex.type != F_OWNER_PGRP)
            return -EINVAL;
        if (ex.pid < 0)
            return -EINVAL;
        return set_owner(s, ex.type, ex.pid);
    case F_GETOWN_EX: {
        int64_t o = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
        ex.type = SOCK_OWNER_TYPE(o);
        ex.pid = SOCK_OWNER_ID(o);
        if (!t || mm_copy_out(t->mm, arg, &ex, sizeof(ex), 0) < 0)
            return -EFAULT;
        return 0;
    }
    }
    return -EINVAL;
}

/* ioctl: the owner ioctls (sock_ioctl's FIOSETOWN/SIOCSPGRP, FIOGETOWN/SIOCGPGRP),
 * the family's, then (as Linux's sock_do_ioctl falls back to dev_ioctl) the
 * interface ioctls every socket answers. */
static long sock_file_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    struct socket *s = sock(f);
    int who;
    switch (cmd) {
    case FIOSETOWN:
    case SIOCSPGRP:
        if (mm_copy_in(t->mm, &who, arg, sizeof(who)) < 0)
            return -EFAULT;
        return set_owner_pid(s, who);
    case FIOGETOWN:
    case SIOCGPGRP:
        who = get_owner_pid(s);
        return mm_copy_out(t->mm, arg, &who, sizeof(who), 0) < 0 ? -EFAULT : 0;
    }
    long r = s->ops->ioctl ? s->ops->ioctl(s, t, cmd, arg) : -ENOTTY;
    if (r == -ENOTTY)
        r = ifioctl(t, cmd, arg, s->family == AF_INET);
    return r;
}

static unsigned sock_file_poll(struct file *f, struct waitq **wq)
{
    struct socket *s = sock(f);
    if (wq)
        *wq = &s->wq;
    return s->ops->poll ? s->ops->poll(s) : POLL_DEFAULT_MASK;
}

static int sock_file_mmap(struct file *f, struct mappable **out)
{
    (void)f;
    (void)out;
    return -ENODEV;
}

static void sock_file_release(struct file *f)
{
    socket_free(sock(f));
}

static const struct file_ops g_socket_file_ops = {
    .read = sock_file_read,
    .write = sock_file_write,
    .stat = sock_file_stat,
    .ioctl = sock_file_ioctl,
    .poll = sock_file_poll,
    .mmap = sock_file_mmap,
    .fcntl = sock_file_fcntl,
    .release = sock_file_release,
};

struct socket *socket_from_file(struct file *f)
{
    return f && f->ops == &g_socket_file_ops ? f->priv : NULL;
}

struct file *socket_file_alloc(struct socket *s, int nonblock)
{
    struct inode *ino = sockfs_inode(current_task);
    struct file *f = ino ? file_alloc(&g_socket_file_ops,
                                      O_RDWR | (nonblock ? O_NONBLOCK : 0), s)
                         : NULL;
    if (!f) {
        inode_put(ino);
        socket_free(s);
        return NULL;
    }
    f->inode = ino;   /* the reference moves in */
    s->file = f;
    return f;
}

int socket_create(struct task *t, int family, int type, int protocol, struct file **out)
{
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return -EINVAL;
    int base = type & 0xf;
    if (base >= 11)   /* SOCK_MAX */
        return -EINVAL;
    pthread_once(&g_families_once, families_init);
    socket_create_fn create = family > 0 && family < FAMILY_MAX ? g_families[family]
                                                                : NULL;
    if (family < 0 || family >= FAMILY_MAX)
        return -EAFNOSUPPORT;
    if (!create) {
        static uint64_t logged;   /* one bit per family: log each once */
        uint64_t bit = 1ULL << family;
        if (!(__atomic_fetch_or(&logged, bit, __ATOMIC_RELAXED) & bit))
            log_warn("socket: address family %d is not supported", family);
        return -EAFNOSUPPORT;
    }
    struct socket *s = socket_alloc(family, base, protocol);
    if (!s)
        return -ENOMEM;
    int err = create(s, t, protocol);
    if (err < 0) {
        s->ops = NULL;   /* nothing to release */
        socket_free(s);
        return err;
    }
    struct file *f = socket_file_alloc(s, (type & SOCK_NONBLOCK) != 0);
    if (!f)
        return -ENOMEM;
    *out = f;
    return 0;
}

/* ---- blocking ---- */

void socket_block(struct file *f, int msg_flags, int send, struct sock_block *out)
{
    struct socket *s = sock(f);
    memset(out, 0, sizeof(*out));
    out->nonblock = (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK) ||
                    (msg_flags & MSG_DONTWAIT);
    int64_t ns = __atomic_load_n(send ? &s->sndtimeo_ns : &s->rcvtimeo_ns,
                                 __ATOMIC_RELAXED);
    if (ns < 0)
        out->nonblock = 1;
    if (ns > 0 && !out->nonblock) {
        clock_gettime(CLOCK_MONOTONIC, &out->deadline);
        out->deadline.tv_sec += ns / 1000000000;
        out->deadline.tv_nsec += ns % 1000000000;
        if (out->deadline.tv_nsec >= 1000000000) {
            out->deadline.tv_sec++;
            out->deadline.tv_nsec -= 1000000000;
        }
        out->has_deadline = 1;
    }
}

int sock_wait_locked(const struct sock_block *blk, struct waitq *wq,
                     pthread_mutex_t *mu, unsigned events)
{
    if (blk->nonblock)
        return -EAGAIN;
    struct waiter w;
    waiter_init(&w, current_task, events);
    waitq_add(wq, &w);
    pthread_mutex_unlock(mu);
    int r = waiter_sleep(&w, blk->has_deadline ? &blk->deadline : NULL);
    waitq_remove(wq, &w);
    pthread_mutex_lock(mu);
    if (r == -ETIMEDOUT)
        return -EAGAIN;
    if (r < 0)
        return blk->has_deadline ? -EINTR : -ERESTARTSYS;
    return 0;
}

/* ---- send and receive ---- */

ssize_t socket_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    if (!s->ops->sendmsg)
        return -EOPNOTSUPP;
    ssize_t r = s->ops->sendmsg(s, t, m, flags);
    /* Linux's stream protocols send SIGPIPE themselves (unix_stream_sendmsg,
     * sk_stream_error); datagram and seqpacket sockets return EPIPE without it */
    if (r == -EPIPE && s->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL) && t)
        signal_send_sigpipe(t);
    return r;
}

ssize_t socket_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    if (!s->ops->recvmsg)
        return -EOPNOTSUPP;
    return s->ops->recvmsg(s, t, m, flags);
}

/* ---- control messages ---- */

size_t sock_cmsg_put(struct sock_msg *m, int level, int type, const void *data,
                     size_t len)
{
    size_t room = m->controllen - m->control_used;
    if (!m->control || room < sizeof(struct cmsghdr)) {
        m->flags_out |= MSG_CTRUNC;
        return 0;
    }
    size_t full = CMSG_LEN(len);
    size_t clen = full;
    if (room < full) {
        m->flags_out |= MSG_CTRUNC;
        clen = room;
    }
    struct cmsghdr h = { .cmsg_len = clen, .cmsg_level = level, .cmsg_type = type };
    char *p = (char *)m->control + m->control_used;
    memcpy(p, &h, sizeof(h));
    size_t n = clen - CMSG_LEN(0);
    memcpy(p + CMSG_LEN(0), data, n);
    /* the next message starts aligned, as put_cmsg advances by CMSG_SPACE */
    m->control_used += MIN(CMSG_SPACE(len), room);
    return n;
}

/* ---- SOL_SOCKET options every family shares ---- */

static int put_int(void *val, size_t *len, int v)
{
    /* Linux's sock_getsockopt copies min(len, sizeof(int)) */
    size_t n = MIN(*len, sizeof(int));
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

static int put_timeval(void *val, size_t *len, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    struct { int64_t sec, usec; } tv = { ns / 1000000000, (ns % 1000000000) / 1000 };
    size_t n = MIN(*len, sizeof(tv));
    memcpy(val, &tv, n);
    *len = n;
    return 0;
}

int socket_getsockopt_generic(struct socket *s, int name, void *val, size_t *len)
{
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
    switch (name) {
    case SO_TYPE:        return put_int(val, len, s->type);
    case SO_DOMAIN:      return put_int(val, len, s->family);
    case SO_PROTOCOL:    return put_int(val, len, s->protocol);
    case SO_ACCEPTCONN:  return put_int(val, len, LD(s->acceptconn) != 0);
    case SO_PASSCRED:    return put_int(val, len, LD(s->passcred) != 0);
    case SO_SNDBUF:      return put_int(val, len, LD(s->sndbuf));
    case SO_RCVBUF:      return put_int(val, len, LD(s->rcvbuf));
    case SO_RCVLOWAT:    return put_int(val, len, LD(s->rcvlowat));
    case SO_SNDLOWAT:    return put_int(val, len, 1);
    case SO_REUSEADDR:   return put_int(val, len, LD(s->reuseaddr) != 0);
    case SO_REUSEPORT:   return put_int(val, len, LD(s->reuseport) != 0);
    case SO_KEEPALIVE:   return put_int(val, len, LD(s->keepalive) != 0);
    case SO_BROADCAST:   return put_int(val, len, LD(s->broadcast) != 0);
    case SO_OOBINLINE:   return put_int(val, len, LD(s->oobinline) != 0);
    case SO_DONTROUTE:   return put_int(val, len, LD(s->dontroute) != 0);
    case SO_PRIORITY:    return put_int(val, len, LD(s->priority));
    case SO_ERROR:
        return put_int(val, len, __atomic_exchange_n(&s->so_error, 0, __ATOMIC_RELAXED));
    case SO_LINGER: {
        struct linger l = { LD(s->linger_onoff), LD(s->linger_secs) };
        size_t n = MIN(*len, sizeof(l));
        memcpy(val, &l, n);
        *len = n;
        return 0;
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        return put_timeval(val, len, LD(s->rcvtimeo_ns));
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        return put_timeval(val, len, LD(s->sndtimeo_ns));
    }
    return -ENOPROTOOPT;
#undef LD
}

/* set_timeout: SO_RCVTIMEO/SO_SNDTIMEO from a struct timeval (sock_set_timeout). */
static int set_timeout(int64_t *dst, const void *val, size_t len)
{
    struct { int64_t sec, usec; } tv;
    if (len < sizeof(tv))
        return -EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.usec < 0 || tv.usec >= 1000000)
        return -EDOM;
    int64_t ns;
    if (tv.sec < 0)
        ns = -1;   /* Linux stores a zero timeout: calls fail at once with EAGAIN */
    else if (tv.sec == 0 && tv.usec == 0)
        ns = 0;
    else if (tv.sec > INT64_MAX / 1000000000 - 1)
        ns = 0;   /* too long to matter: forever */
    else
        ns = tv.sec * 1000000000 + tv.usec * 1000;
    __atomic_store_n(dst, ns, __ATOMIC_RELAXED);
    return 0;
}

int socket_setsockopt_generic(struct socket *s, struct task *t, int name,
                              const void *val, size_t len)
{
    (void)t;
    int v = 0;
    /* sk_setsockopt: every option but these takes an int, and a shorter value is
     * EINVAL before the name is looked at */
    if (name != SO_LINGER && name != SO_RCVTIMEO_OLD && name != SO_SNDTIMEO_OLD &&
        name != SO_RCVTIMEO_NEW && name != SO_SNDTIMEO_NEW) {
        if (len < sizeof(int))
            return -EINVAL;
        memcpy(&v, val, sizeof(v));
    }
#define ST(x, y) __atomic_store_n(&(x), (y), __ATOMIC_RELAXED)
    switch (name) {
    case SO_TYPE: case SO_DOMAIN: case SO_PROTOCOL: case SO_ERROR: case SO_ACCEPTCONN:
    case SO_PEERCRED:
        return -ENOPROTOOPT;
    case SO_PASSCRED:   ST(s->passcred, v != 0); return 0;
    case SO_REUSEADDR:  ST(s->reuseaddr, v != 0); return 0;
    case SO_REUSEPORT:  ST(s->reuseport, v != 0); return 0;
    case SO_KEEPALIVE:  ST(s->keepalive, v != 0); return 0;
    case SO_BROADCAST:  ST(s->broadcast, v != 0); return 0;
    case SO_OOBINLINE:  ST(s->oobinline, v != 0); return 0;
    case SO_DONTROUTE:  ST(s->dontroute, v != 0); return 0;
    case SO_PRIORITY:
        if ((v < 0 || v > 6) && !cred_capable(&t->cred, CAP_NET_ADMIN))
            return -EPERM;
        ST(s->priority, v);
        return 0;
    case SO_RCVLOWAT:
        ST(s->rcvlowat, v < 0 ? INT32_MAX : (v ? v : 1));
        return 0;
    case SO_SNDBUF:
    case SO_RCVBUF: {
        /* sock_setsockopt: capped at the max (unprivileged), then doubled for the
         * kernel's bookkeeping, with a floor */
        unsigned u = (unsigned)v;
        if (u > SOCK_MAX_BUF)
            u = SOCK_MAX_BUF;
        int floor = name == SO_SNDBUF ? SOCK_MIN_SNDBUF : SOCK_MIN_RCVBUF;
        int val2 = (int)MAX(u * 2, (unsigned)floor);
        if (name == SO_SNDBUF)
            ST(s->sndbuf, val2);
        else
            ST(s->rcvbuf, val2);
        waitq_wake(&s->wq, POLLOUT | POLLWRNORM | POLLIN | POLLRDNORM);
        return 0;
    }
    case SO_SNDLOWAT:
        return -ENOPROTOOPT;
    case SO_LINGER: {
        struct linger l;
        if (len < sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        ST(s->linger_onoff, l.l_onoff != 0);
        ST(s->linger_secs, l.l_linger);
        return 0;
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        return set_timeout(&s->rcvtimeo_ns, val, len);
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        return set_timeout(&s->sndtimeo_ns, val, len);
    }
#undef ST
    return -ENOPROTOOPT;
}
