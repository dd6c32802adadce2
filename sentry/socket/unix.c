/* AF_UNIX sockets (see unix_priv.h): creation, the name table (pathname names are
 * S_IFSOCK nodes in the VFS, abstract names a sandbox-wide table), bind, connect,
 * listen, accept, socketpair, shutdown, names, SO_PEERCRED, ioctls, poll and
 * release. Sending and receiving are unix_io.c's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/socket/unix_priv.h"
#include "sentry/vfs/vfs.h"

#define SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)

/* ---- objects ---- */

static long g_unix_socks;   /* atomic: unix_socks allocated and not yet freed */

long unix_sock_count(void) { return __atomic_load_n(&g_unix_socks, __ATOMIC_RELAXED); }

static struct unix_sock *unix_sock_new(int type)
{
    struct unix_sock *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    __atomic_add_fetch(&g_unix_socks, 1, __ATOMIC_RELAXED);
    u->refs = 1;
    u->type = type;
    pthread_mutex_init(&u->mu, NULL);
    waitq_init(&u->peer_wait);
    return u;
}

void unix_sock_get(struct unix_sock *u) { __atomic_add_fetch(&u->refs, 1, __ATOMIC_RELAXED); }

void unix_sock_put(struct unix_sock *u)
{
    if (!u || __atomic_sub_fetch(&u->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    unix_addr_put(u->addr);
    pthread_mutex_destroy(&u->mu);
    free(u);
    __atomic_sub_fetch(&g_unix_socks, 1, __ATOMIC_RELAXED);
}

struct unix_addr *unix_addr_get(struct unix_addr *a)
{
    if (a)
        __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
    return a;
}

void unix_addr_put(struct unix_addr *a)
{
    if (a && __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(a);
}

static struct unix_addr *addr_new(const void *sa, int len)
{
    struct unix_addr *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->refs = 1;
    a->len = len;
    memcpy(&a->u, sa, MIN((size_t)len, sizeof(a->u)));
    return a;
}

void unix_wake(struct unix_sock *u, unsigned events)
{
    if (!u->dead && u->s)
        waitq_wake(&u->s->wq, events);
}

struct unix_cred unix_task_cred(struct task *t, int effective)
{
    struct unix_cred c = { .pid = t->tg->tgid };
    c.uid = effective ? t->cred.euid : t->cred.ruid;
    c.gid = effective ? t->cred.egid : t->cred.rgid;
    return c;
}

/* ---- the name table ---- */

struct unix_name {
    struct unix_name *next;
    struct unix_sock *u;          /* not a reference: removed at u's release */
    struct inode *ino;            /* pathname names: the node (u->bound holds it) */
    struct unix_addr *addr;       /* abstract names: the name (u->addr) */
};

#define NAME_BUCKETS 256
static pthread_mutex_t g_unix_names_mu = PTHREAD_MUTEX_INITIALIZER;
static struct unix_name *g_names[NAME_BUCKETS];   /* g_unix_names_mu */

static unsigned hash_ino(const struct inode *ino)
{
    return (unsigned)(((uintptr_t)ino >> 4) % NAME_BUCKETS);
}

static unsigned hash_abstract(const struct unix_addr *a)
{
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)&a->u;
    for (int i = 0; i < a->len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h % NAME_BUCKETS;
}

static int same_abstract(const struct unix_addr *a, const struct unix_addr *b)
{
    return a->len == b->len && memcmp(&a->u, &b->u, (size_t)a->len) == 0;
}

/* name_find: the socket named so (a reference), or NULL. g_unix_names_mu held. */
static struct unix_sock *name_find_locked(struct inode *ino, const struct unix_addr *abs)
{
    unsigned b = ino ? hash_ino(ino) : hash_abstract(abs);
    for (struct unix_name *n = g_names[b]; n; n = n->next) {
        if (ino ? n->ino == ino : (n->addr && same_abstract(n->addr, abs))) {
            unix_sock_get(n->u);
            return n->u;
        }
    }
    return NULL;
}

static void name_insert_locked(struct unix_name *n)
{
    unsigned b = n->ino ? hash_ino(n->ino) : hash_abstract(n->addr);
    n->next = g_names[b];
    g_names[b] = n;
}

static void name_remove(struct unix_sock *u, struct inode *ino, struct unix_addr *abs)
{
    unsigned b = ino ? hash_ino(ino) : hash_abstract(abs);
    struct unix_name *victim = NULL;
    pthread_mutex_lock(&g_unix_names_mu);
    for (struct unix_name **pp = &g_names[b]; *pp; pp = &(*pp)->next) {
        if ((*pp)->u == u) {
            victim = *pp;
            *pp = victim->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_unix_names_mu);
    free(victim);
}

/* ---- addresses ---- */

int unix_validate_addr(const void *addr, size_t len)
{
    sa_family_t fam;
    if (len < SUN_PATH_OFF || len > sizeof(struct sockaddr_un))
        return -EINVAL;
    memcpy(&fam, addr, sizeof(fam));
    return fam == AF_UNIX ? 0 : -EINVAL;
}

/* bsd_path: the NUL-terminated path of a pathname address into buf (109 bytes). */
static void bsd_path(const void *addr, size_t len, char *buf)
{
    size_t n = len - SUN_PATH_OFF;
    memcpy(buf, (const char *)addr + SUN_PATH_OFF, n);
    buf[n] = '\0';
}

int unix_lookup(struct task *t, const void *addr, size_t len, int type,
                struct unix_sock **out)
{
    int err = unix_validate_addr(addr, len);
    if (err < 0)
        return err;
    const char *sun_path = (const char *)addr + SUN_PATH_OFF;
    struct unix_sock *u;
    if (len > SUN_PATH_OFF && sun_path[0]) {
        char path[sizeof(struct sockaddr_un)];
        bsd_path(addr, len, path);
        struct walk_result w;
        err = vfs_walk(t, AT_FDCWD_GUEST, path, WALK_FOLLOW, &w);
        if (err < 0)
            return err;
        struct inode *ino = w.path.d->inode;
        err = vfs_permission(&t->cred, ino, MAY_WRITE);
        if (err == 0 && !S_ISSOCK(ino->mode))
            err = -ECONNREFUSED;
        u = NULL;
        if (err == 0) {
            pthread_mutex_lock(&g_unix_names_mu);
            u = name_find_locked(ino, NULL);
            pthread_mutex_unlock(&g_unix_names_mu);
            if (!u)
                err = -ECONNREFUSED;
        }
        path_put(&w.path);
        if (err < 0)
            return err;
    } else {
        struct unix_addr key = { .len = (int)len };
        memcpy(&key.u, addr, len);
        pthread_mutex_lock(&g_unix_names_mu);
        u = name_find_locked(NULL, &key);
        pthread_mutex_unlock(&g_unix_names_mu);
        if (!u)
            return -ECONNREFUSED;
    }
    if (u->type != type) {
        unix_sock_put(u);
        return -EPROTOTYPE;
    }
    *out = u;
    return 0;
}

/* ---- bind ---- */

static unsigned g_autobind_next = 0x1a3c5;   /* atomic: the next name tried */

int unix_autobind(struct unix_sock *u)
{
    pthread_mutex_lock(&u->mu);
    int bound = u->addr != NULL;
    pthread_mutex_unlock(&u->mu);
    if (bound)
        return 0;
    struct unix_name *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    for (unsigned tries = 0; tries <= 0xfffff; tries++) {
        unsigned num = __atomic_fetch_add(&g_autobind_next, 1, __ATOMIC_RELAXED) & 0xfffff;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char digits[8];
        snprintf(digits, sizeof(digits), "%05x", num);
        memcpy(sa.sun_path + 1, digits, 5);
        struct unix_addr *a = addr_new(&sa, (int)SUN_PATH_OFF + 6);
        if (!a) {
            free(n);
            return -ENOMEM;
        }
        pthread_mutex_lock(&g_unix_names_mu);
        struct unix_sock *other = name_find_locked(NULL, a);
        if (other) {
            pthread_mutex_unlock(&g_unix_names_mu);
            unix_sock_put(other);
            unix_addr_put(a);
            continue;
        }
        pthread_mutex_lock(&u->mu);
        if (u->addr) {   /* bound meanwhile */
            pthread_mutex_unlock(&u->mu);
            pthread_mutex_unlock(&g_unix_names_mu);
            unix_addr_put(a);
            free(n);
            return 0;
        }
        __atomic_store_n(&u->addr, a, __ATOMIC_RELEASE);
        n->u = u;
        n->addr = a;
        name_insert_locked(n);
        pthread_mutex_unlock(&u->mu);
        pthread_mutex_unlock(&g_unix_names_mu);
        return 0;
    }
    free(n);
    return -ENOSPC;
}

static int unix_bind(struct socket *s, struct task *t, const void *addr, size_t len)
{
    struct unix_sock *u = unix_sk(s);
    sa_family_t fam = AF_UNSPEC;
    if (len >= sizeof(fam))
        memcpy(&fam, addr, sizeof(fam));
    if (len == SUN_PATH_OFF && fam == AF_UNIX)
        return unix_autobind(u);
    int err = unix_validate_addr(addr, len);
    if (err < 0)
        return err;
    struct unix_name *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    const char *sun_path = (const char *)addr + SUN_PATH_OFF;
    if (len > SUN_PATH_OFF && sun_path[0]) {
        /* a pathname: the node is made first, as Linux's unix_bind_bsd; an existing
         * name is EADDRINUSE */
        char path[sizeof(struct sockaddr_un)];
        bsd_path(addr, len, path);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        memcpy(sa.sun_path, path, strlen(path));
        struct unix_addr *a = addr_new(&sa, (int)(SUN_PATH_OFF + strlen(path) + 1));
        if (!a) {
            free(n);
            return -ENOMEM;
        }
        struct path p;
        err = vfs_mknod_path(t, AT_FDCWD_GUEST, path, S_IFSOCK | 0777, &p);
        if (err < 0) {
            unix_addr_put(a);
            free(n);
            return err == -EEXIST ? -EADDRINUSE : err;
        }
        pthread_mutex_lock(&g_unix_names_mu);
        pthread_mutex_lock(&u->mu);
        if (u->addr) {
            /* already bound: the new node goes again (unix_bind_bsd's out_unlink) */
            pthread_mutex_unlock(&u->mu);
            pthread_mutex_unlock(&g_unix_names_mu);
            path_put(&p);
            unix_addr_put(a);
            free(n);
            vfs_unlink(t, AT_FDCWD_GUEST, path, 0);
            return -EINVAL;
        }
        u->bound = p;
        __atomic_store_n(&u->addr, a, __ATOMIC_RELEASE);
        n->u = u;
        n->ino = p.d->inode;
        name_insert_locked(n);
        pthread_mutex_unlock(&u->mu);
        pthread_mutex_unlock(&g_unix_names_mu);
        return 0;
    }
    /* an abstract name: the sun_path bytes of the given length, a sandbox-wide table */
    struct unix_addr *a = addr_new(addr, (int)len);
    if (!a) {
        free(n);
        return -ENOMEM;
    }
    pthread_mutex_lock(&g_unix_names_mu);
    struct unix_sock *other = name_find_locked(NULL, a);
    if (other) {
        pthread_mutex_unlock(&g_unix_names_mu);
        unix_sock_put(other);
        unix_addr_put(a);
        free(n);
        return -EADDRINUSE;
    }
    pthread_mutex_lock(&u->mu);
    if (u->addr) {
        pthread_mutex_unlock(&u->mu);
        pthread_mutex_unlock(&g_unix_names_mu);
        unix_addr_put(a);
        free(n);
        return -EINVAL;
    }
    __atomic_store_n(&u->addr, a, __ATOMIC_RELEASE);
    n->u = u;
    n->addr = a;
    name_insert_locked(n);
    pthread_mutex_unlock(&u->mu);
    pthread_mutex_unlock(&g_unix_names_mu);
    return 0;
}

/* ---- connections ---- */

static int unix_create_sock(struct socket *s, int type);

/* embryo_new: the server's end of a new stream/seqpacket connection (a socket with no
 * file until accept). */
static struct unix_sock *embryo_new(int type)
{
    struct socket *ns = socket_alloc(AF_UNIX, type, 0);
    if (!ns)
        return NULL;
    if (unix_create_sock(ns, type) < 0) {
        free(ns);
        return NULL;
    }
    return unix_sk(ns);
}

static int stream_connect(struct unix_sock *u, struct task *t, const void *addr,
                          size_t len, const struct sock_block *blk)
{
    int err = unix_validate_addr(addr, len);
    if (err < 0)
        return err;
    pthread_mutex_lock(&u->mu);
    err = u->state == US_CONNECTED ? -EISCONN : u->state == US_LISTENING ? -EINVAL : 0;
    struct socket *s = u->s;
    pthread_mutex_unlock(&u->mu);
    if (err < 0)
        return err;
    if (__atomic_load_n(&s->passcred, __ATOMIC_RELAXED)) {
        err = unix_autobind(u);
        if (err < 0)
            return err;
    }
    struct unix_sock *other;
    err = unix_lookup(t, addr, len, u->type, &other);
    if (err < 0)
        return err;
    struct unix_sock *nu = embryo_new(u->type);
    if (!nu) {
        unix_sock_put(other);
        return -ENOMEM;
    }
    struct unix_cred mine = unix_task_cred(t, 1);
    pthread_mutex_lock(&other->mu);
    for (;;) {
        if (other->dead || other->state != US_LISTENING) {
            err = -ECONNREFUSED;
            break;
        }
        if (other->aq_count > other->backlog) {
            err = sock_wait_locked(blk, &other->peer_wait, &other->mu, POLLOUT);
            if (err < 0)
                break;
            continue;
        }
        /* listener → connecting socket (the lock order of unix_priv.h) */
        pthread_mutex_lock(&u->mu);
        if (u->state != US_UNCONNECTED) {
            err = u->state == US_CONNECTED ? -EISCONN : -EINVAL;
            pthread_mutex_unlock(&u->mu);
            break;
        }
        pthread_mutex_lock(&nu->mu);
        unix_sock_get(u);
        nu->peer = u;
        nu->state = US_CONNECTED;
        nu->peercred = mine;
        nu->peercred_set = 1;
        nu->addr = unix_addr_get(other->addr);
        pthread_mutex_unlock(&nu->mu);
        unix_sock_get(nu);
        u->peer = nu;
        u->state = US_CONNECTED;
        u->peercred = other->peercred;
        u->peercred_set = 1;
        unix_wake(u, POLLOUT | POLLWRNORM);
        pthread_mutex_unlock(&u->mu);
        unix_sock_get(nu);   /* the accept queue's reference */
        if (other->aq_tail)
            other->aq_tail->aq_next = nu;
        else
            other->aq_head = nu;
        other->aq_tail = nu;
        other->aq_count++;
        nu = NULL;
        unix_wake(other, POLLIN | POLLRDNORM);
        err = 0;
        break;
    }
    pthread_mutex_unlock(&other->mu);
    unix_sock_put(other);
    if (nu)
        socket_free(nu->s);
    return err;
}

static int dgram_connect(struct unix_sock *u, struct task *t, const void *addr, size_t len)
{
    sa_family_t fam = AF_UNSPEC;
    if (len >= sizeof(fam))
        memcpy(&fam, addr, sizeof(fam));
    struct unix_sock *other = NULL;
    if (len < sizeof(fam) || fam != AF_UNSPEC) {
        int err = unix_validate_addr(addr, len);
        if (err < 0)
            return err;
        pthread_mutex_lock(&u->mu);
        struct socket *s = u->s;
        pthread_mutex_unlock(&u->mu);
        if (__atomic_load_n(&s->passcred, __ATOMIC_RELAXED)) {
            err = unix_autobind(u);
            if (err < 0)
                return err;
        }
        err = unix_lookup(t, addr, len, u->type, &other);
        if (err < 0)
            return err;
        /* unix_may_send: a socket connected elsewhere takes nothing from us */
        pthread_mutex_lock(&other->mu);
        int may = !other->peer || other->peer == u;
        pthread_mutex_unlock(&other->mu);
        if (!may) {
            unix_sock_put(other);
            return -EPERM;
        }
    }
    /* AF_UNSPEC: disconnect */
    pthread_mutex_lock(&u->mu);
    unix_peer_wake_disconnect_locked(u);
    struct unix_sock *old = u->peer;
    u->peer = other;
    u->state = other ? US_CONNECTED : US_UNCONNECTED;
    pthread_mutex_unlock(&u->mu);
    unix_sock_put(old);
    return 0;
}

static int unix_connect(struct socket *s, struct task *t, const void *addr, size_t len,
                        const struct sock_block *blk)
{
    struct unix_sock *u = unix_sk(s);
    if (u->type == SOCK_DGRAM)
        return dgram_connect(u, t, addr, len);
    return stream_connect(u, t, addr, len, blk);
}

static int unix_listen(struct socket *s, struct task *t, int backlog)
{
    struct unix_sock *u = unix_sk(s);
    if (u->type == SOCK_DGRAM)
        return -EOPNOTSUPP;
    int err = 0;
    pthread_mutex_lock(&u->mu);
    if (!u->addr || (u->state != US_UNCONNECTED && u->state != US_LISTENING)) {
        err = -EINVAL;
    } else {
        if (backlog > u->backlog)
            waitq_wake(&u->peer_wait, POLLOUT);
        u->backlog = backlog;
        u->state = US_LISTENING;
        u->peercred = unix_task_cred(t, 1);
        u->peercred_set = 1;
    }
    pthread_mutex_unlock(&u->mu);
    return err;
}

static int unix_accept(struct socket *s, struct task *t, struct socket **out,
                       const struct sock_block *blk)
{
    (void)t;
    struct unix_sock *u = unix_sk(s);
    if (u->type == SOCK_DGRAM)
        return -EOPNOTSUPP;
    int err = 0;
    struct unix_sock *nu = NULL;
    pthread_mutex_lock(&u->mu);
    for (;;) {
        if (u->state != US_LISTENING) {
            err = -EINVAL;
            break;
        }
        if (u->aq_head) {
            nu = u->aq_head;
            u->aq_head = nu->aq_next;
            if (!u->aq_head)
                u->aq_tail = NULL;
            nu->aq_next = NULL;
            u->aq_count--;
            break;
        }
        err = sock_wait_locked(blk, &s->wq, &u->mu, POLLIN | POLLRDNORM);
        if (err < 0)
            break;
    }
    pthread_mutex_unlock(&u->mu);
    if (!nu)
        return err;
    waitq_wake(&u->peer_wait, POLLOUT);
    /* the accepted socket inherits SO_PASSCRED (unix_sock_inherit_flags) */
    pthread_mutex_lock(&nu->mu);
    struct socket *ns = nu->s;
    pthread_mutex_unlock(&nu->mu);
    ns->passcred = __atomic_load_n(&s->passcred, __ATOMIC_RELAXED);
    unix_sock_put(nu);   /* the queue's reference; the socket keeps its own */
    *out = ns;
    return 0;
}

static int unix_socketpair(struct socket *a, struct socket *b, struct task *t)
{
    struct unix_sock *ua = unix_sk(a), *ub = unix_sk(b);
    struct unix_cred c = unix_task_cred(t, 1);
    /* both fresh: nobody else can lock them yet */
    unix_sock_get(ub);
    ua->peer = ub;
    unix_sock_get(ua);
    ub->peer = ua;
    ua->state = ub->state = US_CONNECTED;
    ua->peercred = ub->peercred = c;
    ua->peercred_set = ub->peercred_set = 1;
    return 0;
}

static int unix_shutdown(struct socket *s, int how)
{
    struct unix_sock *u = unix_sk(s);
    int mode = how + 1;   /* SHUT_RD → UNIX_SHUT_RCV ... */
    pthread_mutex_lock(&u->mu);
    u->shutdown |= mode;
    struct unix_sock *peer = u->type != SOCK_DGRAM ? u->peer : NULL;
    if (peer)
        unix_sock_get(peer);
    unix_wake(u, POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLRDNORM | POLLWRNORM);
    pthread_mutex_unlock(&u->mu);
    if (peer) {
        int pmode = ((mode & UNIX_SHUT_RCV) ? UNIX_SHUT_SEND : 0) |
                    ((mode & UNIX_SHUT_SEND) ? UNIX_SHUT_RCV : 0);
        pthread_mutex_lock(&peer->mu);
        peer->shutdown |= pmode;
        unix_wake(peer, POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLRDNORM | POLLWRNORM);
        pthread_mutex_unlock(&peer->mu);
        waitq_wake(&peer->peer_wait, POLLOUT);
        unix_sock_put(peer);
    }
    waitq_wake(&u->peer_wait, POLLOUT);
    return 0;
}

/* ---- names, options, ioctls, poll ---- */

static int unix_getname(struct socket *s, void *buf, int peer)
{
    struct unix_sock *u = unix_sk(s);
    struct unix_addr *a = NULL;
    pthread_mutex_lock(&u->mu);
    if (peer) {
        struct unix_sock *p = u->peer;
        if (!p || (u->type != SOCK_DGRAM && u->state != US_CONNECTED)) {
            pthread_mutex_unlock(&u->mu);
            return -ENOTCONN;
        }
        /* set once, freed only with p, which u's reference keeps */
        a = unix_addr_get(__atomic_load_n(&p->addr, __ATOMIC_ACQUIRE));
    } else {
        a = unix_addr_get(u->addr);
    }
    pthread_mutex_unlock(&u->mu);
    if (!a) {
        sa_family_t fam = AF_UNIX;
        memcpy(buf, &fam, sizeof(fam));
        return sizeof(fam);
    }
    int len = a->len;
    memcpy(buf, &a->u, MIN((size_t)len, sizeof(a->u)));
    unix_addr_put(a);
    return len;
}

static int unix_getsockopt(struct socket *s, struct task *t, int level, int name,
                           void *val, size_t *len)
{
    (void)t;
    struct unix_sock *u = unix_sk(s);
    if (level != SOL_SOCKET)
        return -EOPNOTSUPP;
    if (name == SO_PEERCRED) {
        struct ucred uc = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        pthread_mutex_lock(&u->mu);
        if (u->peercred_set) {
            uc.pid = u->peercred.pid;
            uc.uid = u->peercred.uid;
            uc.gid = u->peercred.gid;
        }
        pthread_mutex_unlock(&u->mu);
        *len = MIN(*len, sizeof(uc));
        memcpy(val, &uc, *len);
        return 0;
    }
    return -ENOPROTOOPT;
}

static int unix_setsockopt(struct socket *s, struct task *t, int level, int name,
                           const void *val, size_t len)
{
    (void)s; (void)t; (void)name; (void)val; (void)len;
    return level == SOL_SOCKET ? -ENOPROTOOPT : -EOPNOTSUPP;
}

static long unix_ioctl(struct socket *s, struct task *t, unsigned cmd, uint64_t arg)
{
    struct unix_sock *u = unix_sk(s);
    int amount = 0;
    switch (cmd) {
    case SIOCINQ:   /* FIONREAD */
        pthread_mutex_lock(&u->mu);
        if (u->state == US_LISTENING) {
            pthread_mutex_unlock(&u->mu);
            return -EINVAL;
        }
        if (u->type == SOCK_DGRAM)
            amount = u->rq_head ? (int)u->rq_head->len : 0;
        else
            amount = (int)MIN(u->rq_bytes, (size_t)INT32_MAX);
        pthread_mutex_unlock(&u->mu);
        break;
    case SIOCOUTQ:
        amount = (int)MIN(__atomic_load_n(&u->wmem, __ATOMIC_RELAXED), (size_t)INT32_MAX);
        break;
    case SIOCATMARK: {
        /* at the out-of-band mark: the next byte is the OOB one, or the place of
         * one taken with nothing pending or the pending one right after it (an empty
         * datagram counts the same, as in Linux) */
        pthread_mutex_lock(&u->mu);
        struct unix_msg *h = u->rq_head;
        amount = h && (h == u->oob_msg ||
                       (h->off == h->len && (!u->oob_msg || h->next == u->oob_msg)));
        pthread_mutex_unlock(&u->mu);
        break;
    }
    default:
        return -ENOTTY;
    }
    return mm_copy_out(t->mm, arg, &amount, sizeof(amount), 0) < 0 ? -EFAULT : 0;
}

/* ---- datagram writability: a full peer queue (Linux's unix_dgram_peer_wake_*) ---- */

/* peer_wake_relay: room in the peer's queue: this socket's pollers look again. Runs
 * under the peer's peer_wait.mu; the relay is removed (under the same mu) before
 * the socket goes. */
static int peer_wake_relay(struct waiter *w, unsigned events)
{
    (void)events;
    struct socket *s = w->arg;
    waitq_wake(&s->wq, POLLOUT | POLLWRNORM | POLLWRBAND);
    return 0;
}

void unix_peer_wake_disconnect_locked(struct unix_sock *u)
{
    if (!u->peer_wake_on)
        return;
    waitq_remove(&u->peer_wake_on->peer_wait, &u->peer_wake);
    u->peer_wake_on = NULL;
}

/* peer_queue_full: other takes no more datagrams from u (it is not connected back to
 * u and holds more than max_dgram_qlen), as unix_dgram_sendmsg waits. */
static int peer_queue_full(struct unix_sock *u, struct unix_sock *other)
{
    pthread_mutex_lock(&other->mu);
    int full = !other->dead && other->peer != u && other->rq_count > UNIX_DGRAM_QLEN;
    pthread_mutex_unlock(&other->mu);
    return full;
}

/* dgram_peer_blocks: whether u's connected peer's queue is full; if so u's relay
 * is on that peer's peer_wait first, so making room wakes u's pollers. */
static int dgram_peer_blocks(struct unix_sock *u)
{
    pthread_mutex_lock(&u->mu);
    struct unix_sock *other = u->peer;
    if (other)
        unix_sock_get(other);
    pthread_mutex_unlock(&u->mu);
    if (!other)
        return 0;
    int full = peer_queue_full(u, other);
    if (full) {
        pthread_mutex_lock(&u->mu);
        if (u->peer == other && u->peer_wake_on != other && !u->dead) {
            unix_peer_wake_disconnect_locked(u);
            waiter_init(&u->peer_wake, NULL, ~0u);
            u->peer_wake.fn = peer_wake_relay;
            u->peer_wake.arg = u->s;
            waitq_add(&other->peer_wait, &u->peer_wake);
            u->peer_wake_on = other;
        }
        pthread_mutex_unlock(&u->mu);
        full = peer_queue_full(u, other);   /* room made before the relay was on */
    }
    unix_sock_put(other);
    return full;
}

static unsigned unix_poll(struct socket *s)
{
    struct unix_sock *u = unix_sk(s);
    unsigned mask = 0;
    pthread_mutex_lock(&u->mu);
    if (u->err)
        mask |= POLLERR;
    if (u->shutdown == UNIX_SHUT_BOTH)
        mask |= POLLHUP;
    if (u->shutdown & UNIX_SHUT_RCV)
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (u->rq_head || u->aq_head)
        mask |= POLLIN | POLLRDNORM;
    if (u->oob_msg)
        mask |= POLLPRI;
    if (u->type != SOCK_DGRAM && u->state == US_UNCONNECTED)
        mask |= POLLHUP;
    pthread_mutex_unlock(&u->mu);
    /* unix_writable: at most a quarter of the send buffer in flight; a datagram
     * socket also needs room in its peer's queue (unix_dgram_poll) */
    size_t wmem = __atomic_load_n(&u->wmem, __ATOMIC_RELAXED);
    if (wmem * 4 <= (size_t)__atomic_load_n(&s->sndbuf, __ATOMIC_RELAXED) &&
        !(u->type == SOCK_DGRAM && dgram_peer_blocks(u)))
        mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    return mask;
}

/* ---- release ---- */

static void unix_release(struct socket *s)
{
    struct unix_sock *u = unix_sk(s);
    pthread_mutex_lock(&u->mu);
    unix_peer_wake_disconnect_locked(u);
    u->dead = 1;
    u->s = NULL;
    struct unix_sock *peer = u->peer;
    u->peer = NULL;
    struct unix_msg *rq = u->rq_head;
    int unread = rq != NULL;
    u->rq_head = u->rq_tail = NULL;
    u->rq_count = u->rq_bytes = 0;
    u->oob_msg = NULL;
    struct unix_sock *aq = u->aq_head;
    u->aq_head = u->aq_tail = NULL;
    u->aq_count = 0;
    int embryo = u->state == US_CONNECTED && !s->file;
    struct path bound = u->bound;
    u->bound = (struct path){ NULL, NULL };
    struct unix_addr *addr = u->addr;
    pthread_mutex_unlock(&u->mu);

    if (addr) {
        int pathname = bound.d != NULL;
        name_remove(u, pathname ? bound.d->inode : NULL, pathname ? NULL : addr);
    }
    if (peer && u->type != SOCK_DGRAM) {
        /* the other end reads what is left, then end of file; writes fail */
        pthread_mutex_lock(&peer->mu);
        peer->shutdown = UNIX_SHUT_BOTH;
        if (unread || embryo)
            peer->err = ECONNRESET;
        unix_wake(peer, POLLIN | POLLOUT | POLLHUP | POLLRDHUP | POLLERR | POLLRDNORM |
                            POLLWRNORM);
        pthread_mutex_unlock(&peer->mu);
    }
    if (peer)
        waitq_wake(&peer->peer_wait, POLLOUT);
    waitq_wake(&u->peer_wait, POLLIN | POLLOUT | POLLHUP);
    unix_msgs_free(rq);
    while (aq) {
        struct unix_sock *e = aq;
        aq = e->aq_next;
        pthread_mutex_lock(&e->mu);
        struct socket *es = e->s;
        pthread_mutex_unlock(&e->mu);
        socket_free(es);
        unix_sock_put(e);   /* the queue's reference */
    }
    if (bound.d)
        path_put(&bound);
    unix_sock_put(peer);
    unix_sock_put(u);       /* the socket's reference */
    /* a closed socket may have left a cycle of sockets only queues hold (Linux's
     * unix_release_sock schedules the collector the same way) */
    unix_gc_maybe();
}

const struct socket_ops g_unix_ops = {
    .bind = unix_bind,
    .connect = unix_connect,
    .listen = unix_listen,
    .accept = unix_accept,
    .socketpair = unix_socketpair,
    .sendmsg = unix_sendmsg,
    .recvmsg = unix_recvmsg,
    .shutdown = unix_shutdown,
    .getname = unix_getname,
    .getsockopt = unix_getsockopt,
    .setsockopt = unix_setsockopt,
    .poll = unix_poll,
    .ioctl = unix_ioctl,
    .release = unix_release,
};

/* ---- creation ---- */

static int unix_create_sock(struct socket *s, int type)
{
    struct unix_sock *u = unix_sock_new(type);
    if (!u)
        return -ENOMEM;
    u->s = s;
    s->priv = u;
    s->ops = &g_unix_ops;
    return 0;
}

static int unix_create(struct socket *s, struct task *t, int protocol)
{
    (void)t;
    if (protocol && protocol != AF_UNIX)
        return -EPROTONOSUPPORT;
    switch (s->type) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
        break;
    case SOCK_RAW:
        s->type = SOCK_DGRAM;   /* as Linux: "BSD has AF_UNIX, SOCK_RAW" */
        break;
    default:
        return -ESOCKTNOSUPPORT;
    }
    return unix_create_sock(s, s->type);
}

void unix_family_init(void)
{
    socket_family_register(AF_UNIX, unix_create);
}
