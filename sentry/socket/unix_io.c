/* AF_UNIX send and receive (see unix_priv.h), after Linux's unix_stream_sendmsg,
 * unix_stream_read_generic, unix_dgram_sendmsg and unix_dgram_recvmsg: a stream is
 * cut into messages of at most half the send buffer, each charged to the sender
 * until read; a writer waits while its charge reaches SO_SNDBUF. Datagrams and
 * seqpacket records are one message each; a datagram receiver not connected back
 * to the sender holds at most UNIX_DGRAM_QLEN+1 of them. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/socket/unix_priv.h"
#include "sentry/vfs/file.h"

/* Linux caps one stream skb about here (SKB_MAX_HEAD + UNIX_SKB_FRAGS_SZ). */
#define STREAM_CHUNK_MAX 65536

/* ---- messages ---- */

void unix_msg_free(struct unix_msg *m)
{
    if (!m)
        return;
    struct unix_sock *from = m->from;
    if (from) {
        __atomic_sub_fetch(&from->wmem, m->charge, __ATOMIC_RELAXED);
        pthread_mutex_lock(&from->mu);
        unix_wake(from, POLLOUT | POLLWRNORM | POLLWRBAND);
        pthread_mutex_unlock(&from->mu);
        unix_sock_put(from);
    }
    unix_addr_put(m->addr);
    unix_scm_free(m->scm);
    free(m);
}

void unix_msgs_free(struct unix_msg *m)
{
    while (m) {
        struct unix_msg *next = m->next;
        unix_msg_free(m);
        m = next;
    }
}

/* msg_new: a message of len bytes copied from the uio at skip. -EFAULT if the copy
 * faults at once; a short copy shortens the message. */
static struct unix_msg *msg_new(const struct uio *u, size_t skip, size_t len, int *err)
{
    struct unix_msg *m = malloc(sizeof(*m) + len);
    if (!m) {
        *err = -ENOBUFS;
        return NULL;
    }
    memset(m, 0, sizeof(*m));
    if (len) {
        ssize_t n = uio_copy_in(u, skip, m->data, len);
        if (n <= 0) {
            free(m);
            *err = -EFAULT;
            return NULL;
        }
        len = (size_t)n;
    }
    m->len = len;
    return m;
}

/* msg_stamp: who sent m, charging it to u. */
static void msg_stamp(struct unix_msg *m, struct unix_sock *u, const struct unix_cred *cred)
{
    unix_sock_get(u);
    m->from = u;
    m->addr = unix_addr_get(__atomic_load_n(&u->addr, __ATOMIC_ACQUIRE));
    m->cred = *cred;
    m->charge = m->len + UNIX_MSG_OVERHEAD;
    __atomic_add_fetch(&u->wmem, m->charge, __ATOMIC_RELAXED);
}

static void enqueue_locked(struct unix_sock *r, struct unix_msg *m)
{
    m->next = NULL;
    if (r->rq_tail)
        r->rq_tail->next = m;
    else
        r->rq_head = m;
    r->rq_tail = m;
    r->rq_count++;
    r->rq_bytes += m->len - m->off;
    unix_wake(r, POLLIN | POLLRDNORM);
}

static struct unix_msg *dequeue_locked(struct unix_sock *r)
{
    struct unix_msg *m = r->rq_head;
    r->rq_head = m->next;
    if (!r->rq_head)
        r->rq_tail = NULL;
    r->rq_count--;
    r->rq_bytes -= m->len - m->off;
    m->next = NULL;
    return m;
}

/* wait_sndbuf: sock_alloc_send_pskb's wait: until u's charge is under its send
 * buffer (or u's sending side shuts). u->mu held. */
static int wait_sndbuf_locked(struct unix_sock *u, struct socket *s,
                              const struct sock_block *blk)
{
    for (;;) {
        if (u->shutdown & UNIX_SHUT_SEND)
            return -EPIPE;
        if (__atomic_load_n(&u->wmem, __ATOMIC_RELAXED) <
            (size_t)__atomic_load_n(&s->sndbuf, __ATOMIC_RELAXED))
            return 0;
        int err = sock_wait_locked(blk, &s->wq, &u->mu, POLLOUT | POLLWRNORM);
        if (err < 0)
            return err;
    }
}

/* ---- stream ---- */

/* send_oob: Linux's queue_oob: the byte at `at` of m's data as a message of its own,
 * which becomes peer's out-of-band byte (a previous one turns into ordinary data);
 * *scm goes with it when no piece took it; SIGURG to peer's owner. */
static int send_oob(struct unix_sock *u, struct socket *s, struct unix_sock *peer,
                    struct sock_msg *m, size_t at, struct unix_scm **scm,
                    const struct unix_cred *cred)
{
    pthread_mutex_lock(&u->mu);
    int err = wait_sndbuf_locked(u, s, &m->blk);
    pthread_mutex_unlock(&u->mu);
    if (err < 0)
        return err;
    struct unix_msg *msg = msg_new(m->data, at, 1, &err);
    if (!msg)
        return err;
    msg->scm = *scm;
    *scm = NULL;
    pthread_mutex_lock(&peer->mu);
    if (peer->dead || (peer->shutdown & UNIX_SHUT_RCV)) {
        pthread_mutex_unlock(&peer->mu);
        unix_msg_free(msg);
        return -EPIPE;
    }
    msg_stamp(msg, u, cred);
    enqueue_locked(peer, msg);
    peer->oob_msg = msg;
    unix_wake(peer, POLLPRI | POLLRDBAND);
    int64_t owner = __atomic_load_n(&peer->s->owner, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&peer->mu);
    socket_sigurg(owner);
    return 0;
}

static ssize_t stream_send(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    /* MSG_OOB: the last byte is out-of-band, the rest goes as usual */
    int oob = (flags & MSG_OOB) != 0;
    if (oob && m->data->size == 0)
        return -EOPNOTSUPP;
    if (m->namelen) {
        pthread_mutex_lock(&u->mu);
        int connected = u->state == US_CONNECTED;
        pthread_mutex_unlock(&u->mu);
        return connected ? -EISCONN : -EOPNOTSUPP;
    }
    struct unix_scm *scm = NULL;
    struct unix_cred cred = unix_task_cred(t, 0);
    int err = unix_scm_parse(t, m, &scm, &cred);
    if (err < 0)
        return err;
    pthread_mutex_lock(&u->mu);
    struct unix_sock *peer = u->peer;
    if (u->shutdown & UNIX_SHUT_SEND)
        err = -EPIPE;
    else if (!peer || u->state != US_CONNECTED)
        err = -ENOTCONN;
    else
        unix_sock_get(peer);
    pthread_mutex_unlock(&u->mu);
    if (err < 0) {
        unix_scm_free(scm);
        return err;
    }
    size_t total = m->data->size - (size_t)oob, sent = 0;
    while (sent < total) {
        pthread_mutex_lock(&u->mu);
        err = wait_sndbuf_locked(u, s, &m->blk);
        pthread_mutex_unlock(&u->mu);
        if (err < 0)
            break;
        size_t half = (size_t)__atomic_load_n(&s->sndbuf, __ATOMIC_RELAXED) / 2 - 64;
        size_t chunk = MIN(MIN(total - sent, half), (size_t)STREAM_CHUNK_MAX);
        struct unix_msg *msg = msg_new(m->data, sent, chunk, &err);
        if (!msg)
            break;
        msg->scm = scm;   /* the files go with the first piece */
        scm = NULL;
        pthread_mutex_lock(&peer->mu);
        if (peer->dead || (peer->shutdown & UNIX_SHUT_RCV)) {
            pthread_mutex_unlock(&peer->mu);
            unix_msg_free(msg);
            err = -EPIPE;
            break;
        }
        msg_stamp(msg, u, &cred);
        size_t n = msg->len;
        enqueue_locked(peer, msg);
        pthread_mutex_unlock(&peer->mu);
        sent += n;
    }
    if (oob && sent == total) {
        err = send_oob(u, s, peer, m, total, &scm, &cred);
        if (err == 0)
            sent++;
    }
    unix_scm_free(scm);
    unix_sock_put(peer);
    return sent ? (ssize_t)sent : err;
}

static int same_cred(const struct unix_cred *a, const struct unix_cred *b)
{
    return a->pid == b->pid && a->uid == b->uid && a->gid == b->gid;
}

/* unlink_locked: takes m, which is in u's queue, out of it. u->mu held. */
static void unlink_locked(struct unix_sock *u, struct unix_msg *m)
{
    if (u->rq_head == m) {
        dequeue_locked(u);
        return;
    }
    struct unix_msg *prev = u->rq_head;
    while (prev->next != m)
        prev = prev->next;
    prev->next = m->next;
    if (u->rq_tail == m)
        u->rq_tail = prev;
    u->rq_count--;
    u->rq_bytes -= m->len - m->off;
    m->next = NULL;
}

/* stream_recv_oob: recv(MSG_OOB), Linux's unix_stream_recv_urg: the pending
 * out-of-band byte (EINVAL without one, or with SO_OOBINLINE; never waits). Taken,
 * its message stays queued, empty, as the mark a normal read stops at. */
static ssize_t stream_recv_oob(struct socket *s, struct sock_msg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    struct unix_msg *gone = NULL;
    pthread_mutex_lock(&u->mu);
    struct unix_msg *om = u->oob_msg;
    if (u->state != US_CONNECTED || !om ||
        __atomic_load_n(&s->oobinline, __ATOMIC_RELAXED)) {
        pthread_mutex_unlock(&u->mu);
        return -EINVAL;
    }
    char byte = om->data[0];
    if (!(flags & MSG_PEEK)) {
        u->oob_msg = NULL;
        om->off = om->len;
        u->rq_bytes -= om->len;
        /* never two marks in a row: an earlier taken byte's just before goes */
        struct unix_msg *prev = NULL;
        for (struct unix_msg *p = u->rq_head; p != om; p = p->next)
            prev = p;
        if (prev && prev->off == prev->len) {
            unlink_locked(u, prev);
            gone = prev;
        }
    }
    pthread_mutex_unlock(&u->mu);
    unix_msg_free(gone);
    if (m->data->size && uio_copy_out(m->data, 0, &byte, 1) != 1)
        return -EFAULT;
    m->flags_out |= MSG_OOB;
    return 1;
}

static ssize_t stream_recv(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    if (flags & MSG_OOB)
        return stream_recv_oob(s, m, flags);
    int oobinline = __atomic_load_n(&s->oobinline, __ATOMIC_RELAXED);
    size_t size = m->data->size;
    int peek = (flags & MSG_PEEK) != 0;
    int passcred = __atomic_load_n(&s->passcred, __ATOMIC_RELAXED);
    size_t target = (flags & MSG_WAITALL) ? size
                    : MIN((size_t)__atomic_load_n(&s->rcvlowat, __ATOMIC_RELAXED), size);
    if (target == 0)
        target = 1;
    size_t copied = 0;
    ssize_t err = 0;
    struct unix_msg *freed = NULL, **freed_tail = &freed;
    struct unix_scm *scm = NULL;
    struct unix_cred cred = { 0 };
    int have_cred = 0;
    struct unix_addr *from_addr = NULL;

    pthread_mutex_lock(&u->mu);
    if (u->state != US_CONNECTED) {
        pthread_mutex_unlock(&u->mu);
        return -EINVAL;
    }
    struct unix_msg *cur = u->rq_head;
    size_t skip = 0;   /* peeking: bytes of cur already seen */
    while (copied < size || size == 0) {
        if (!cur) {
            if (copied >= target)
                break;
            if (u->err) {
                if (!copied)
                    err = -u->err;
                u->err = 0;
                break;
            }
            if (u->shutdown & UNIX_SHUT_RCV)
                break;
            int r = sock_wait_locked(&m->blk, &s->wq, &u->mu, POLLIN | POLLRDNORM);
            if (r < 0) {
                if (!copied)
                    err = r;
                break;
            }
            /* restart the walk: what was seen may have been read by another reader */
            cur = u->rq_head;
            skip = 0;
            if (peek) {
                size_t seen = copied;
                while (cur && seen >= cur->len - cur->off) {
                    seen -= cur->len - cur->off;
                    cur = cur->next;
                }
                skip = cur ? seen : 0;
            }
            continue;
        }
        /* the out-of-band mark (Linux's manage_oob) */
        if (cur->off == cur->len) {
            /* a taken OOB byte's place: a read with data stops here */
            if (copied && !u->oob_msg)
                break;
            struct unix_msg *next = cur->next;
            if (!peek) {
                dequeue_locked(u);   /* cur is the head when not peeking */
                *freed_tail = cur;
                freed_tail = &cur->next;
            }
            cur = next;
            skip = 0;
            continue;   /* the next one is looked at the same way */
        }
        if (cur == u->oob_msg) {
            /* the pending OOB byte: a read with data stops before it; one without
             * drops it (or, SO_OOBINLINE, reads it as data) */
            if (copied)
                break;
            if (!peek)
                u->oob_msg = NULL;
            if (!oobinline) {
                struct unix_msg *next = cur->next;
                if (!peek) {
                    dequeue_locked(u);
                    *freed_tail = cur;
                    freed_tail = &cur->next;
                }
                cur = next;
                skip = 0;
                continue;
            }
        }
        if (passcred) {
            if (!have_cred) {
                cred = cur->cred;
                have_cred = 1;
            } else if (!same_cred(&cred, &cur->cred)) {
                break;
            }
        }
        if (!from_addr && copied == 0)
            from_addr = unix_addr_get(cur->addr);
        size_t avail = cur->len - cur->off - skip;
        size_t n = MIN(avail, size - copied);
        if (n) {
            ssize_t c = uio_copy_out(m->data, copied, cur->data + cur->off + skip, n);
            if (c <= 0) {
                if (!copied)
                    err = -EFAULT;
                break;
            }
            n = (size_t)c;
        }
        copied += n;
        if (peek) {
            if (cur->scm) {
                scm = unix_scm_dup(cur->scm);
                break;
            }
            if (skip + n < cur->len - cur->off)
                break;   /* the vector is full */
            cur = cur->next;
            skip = 0;
            continue;
        }
        cur->off += n;
        u->rq_bytes -= n;
        if (cur->scm) {
            scm = cur->scm;
            cur->scm = NULL;
        }
        if (cur->off < cur->len)
            break;
        struct unix_msg *done = cur;
        dequeue_locked(u);
        *freed_tail = done;
        freed_tail = &done->next;
        cur = u->rq_head;
        if (scm || size == 0)
            break;
    }
    pthread_mutex_unlock(&u->mu);
    unix_msgs_free(freed);
    if (err < 0 && !copied) {
        unix_addr_put(from_addr);
        unix_scm_free(scm);
        return err;
    }
    if (m->name && from_addr) {
        m->namelen = (size_t)from_addr->len;
        memcpy(m->name, &from_addr->u, MIN(m->namecap, (size_t)from_addr->len));
    }
    unix_addr_put(from_addr);
    unix_scm_deliver(t, m, passcred, have_cred ? &cred : NULL, scm);
    return (ssize_t)copied;
}

/* ---- datagrams and seqpacket records ---- */

static ssize_t dgram_send(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    int seqpacket = u->type == SOCK_SEQPACKET;
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    int err;
    if (seqpacket) {
        pthread_mutex_lock(&u->mu);
        err = u->state == US_CONNECTED ? 0 : -ENOTCONN;
        pthread_mutex_unlock(&u->mu);
        if (err < 0)
            return err;
    }
    int named = !seqpacket && m->namelen;
    if (named && (err = unix_validate_addr(m->name, m->namelen)) < 0)
        return err;
    struct unix_scm *scm = NULL;
    struct unix_cred cred = unix_task_cred(t, 0);
    err = unix_scm_parse(t, m, &scm, &cred);
    if (err < 0)
        return err;
    size_t len = m->data->size;
    struct unix_sock *other = NULL;
    struct unix_msg *msg = NULL;
    if (len > (size_t)__atomic_load_n(&s->sndbuf, __ATOMIC_RELAXED) - 32) {
        err = -EMSGSIZE;
        goto out;
    }
    if (__atomic_load_n(&s->passcred, __ATOMIC_RELAXED) && (err = unix_autobind(u)) < 0)
        goto out;
    if (named) {
        err = unix_lookup(t, m->name, m->namelen, u->type, &other);
        if (err < 0)
            goto out;
    } else {
        pthread_mutex_lock(&u->mu);
        other = u->peer;
        if (other)
            unix_sock_get(other);
        pthread_mutex_unlock(&u->mu);
        if (!other) {
            err = -ENOTCONN;
            goto out;
        }
    }
    msg = msg_new(m->data, 0, len, &err);
    if (!msg)
        goto out;
    msg->scm = scm;
    scm = NULL;
    pthread_mutex_lock(&u->mu);
    err = wait_sndbuf_locked(u, s, &m->blk);
    pthread_mutex_unlock(&u->mu);
    if (err < 0)
        goto out;
    pthread_mutex_lock(&other->mu);
    for (;;) {
        if (other->dead) {
            pthread_mutex_unlock(&other->mu);
            if (seqpacket) {
                err = -EPIPE;
                goto out;
            }
            /* a dead peer we were connected to disconnects us */
            pthread_mutex_lock(&u->mu);
            struct unix_sock *old = NULL;
            if (u->peer == other) {
                unix_peer_wake_disconnect_locked(u);
                old = u->peer;
                u->peer = NULL;
                u->state = US_UNCONNECTED;
            }
            pthread_mutex_unlock(&u->mu);
            unix_sock_put(old);
            err = -ECONNREFUSED;
            goto out;
        }
        if (!seqpacket && other->peer && other->peer != u) {
            err = -EPERM;
            break;
        }
        if (other->shutdown & UNIX_SHUT_RCV) {
            err = -EPIPE;
            break;
        }
        if (other != u && other->peer != u && other->rq_count > UNIX_DGRAM_QLEN) {
            err = sock_wait_locked(&m->blk, &other->peer_wait, &other->mu, POLLOUT);
            if (err < 0)
                break;
            continue;
        }
        msg_stamp(msg, u, &cred);
        enqueue_locked(other, msg);
        msg = NULL;
        err = 0;
        break;
    }
    pthread_mutex_unlock(&other->mu);
out:
    unix_msg_free(msg);
    unix_scm_free(scm);
    unix_sock_put(other);
    return err < 0 ? err : (ssize_t)len;
}

static ssize_t dgram_recv(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    struct unix_sock *u = unix_sk(s);
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    int peek = (flags & MSG_PEEK) != 0;
    int passcred = __atomic_load_n(&s->passcred, __ATOMIC_RELAXED);
    size_t size = m->data->size;
    struct unix_msg *msg;
    ssize_t ret;
    pthread_mutex_lock(&u->mu);
    if (u->type == SOCK_SEQPACKET && u->state != US_CONNECTED) {
        pthread_mutex_unlock(&u->mu);
        return -ENOTCONN;
    }
    for (;;) {
        msg = u->rq_head;
        if (msg)
            break;
        if (u->err) {
            ret = -u->err;
            u->err = 0;
            pthread_mutex_unlock(&u->mu);
            return ret;
        }
        if (u->shutdown & UNIX_SHUT_RCV) {
            pthread_mutex_unlock(&u->mu);
            return 0;
        }
        int r = sock_wait_locked(&m->blk, &s->wq, &u->mu, POLLIN | POLLRDNORM);
        if (r < 0) {
            pthread_mutex_unlock(&u->mu);
            return r;
        }
    }
    /* copied under mu: a peeked message stays queued for other readers */
    size_t full = msg->len;
    size_t n = MIN(full, size);
    ret = n;
    if (n && uio_copy_out(m->data, 0, msg->data, n) != (ssize_t)n)
        ret = -EFAULT;
    struct unix_scm *scm = NULL;
    struct unix_cred cred = msg->cred;
    struct unix_addr *from_addr = unix_addr_get(msg->addr);
    if (peek) {
        scm = msg->scm ? unix_scm_dup(msg->scm) : NULL;
        msg = NULL;
    } else {
        dequeue_locked(u);
        scm = msg->scm;
        msg->scm = NULL;
    }
    pthread_mutex_unlock(&u->mu);
    if (!peek)
        waitq_wake(&u->peer_wait, POLLOUT);   /* room for a waiting sender */
    if (ret >= 0) {
        if (full > size)
            m->flags_out |= MSG_TRUNC;
        if (flags & MSG_TRUNC)
            ret = (ssize_t)full;
        if (m->name && from_addr) {
            m->namelen = (size_t)from_addr->len;
            memcpy(m->name, &from_addr->u, MIN(m->namecap, (size_t)from_addr->len));
        }
        unix_scm_deliver(t, m, passcred, &cred, scm);
        scm = NULL;
    }
    unix_scm_free(scm);
    unix_addr_put(from_addr);
    unix_msg_free(msg);
    return ret;
}

ssize_t unix_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    return unix_sk(s)->type == SOCK_STREAM ? stream_send(s, t, m, flags)
                                           : dgram_send(s, t, m, flags);
}

ssize_t unix_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags)
{
    return unix_sk(s)->type == SOCK_STREAM ? stream_recv(s, t, m, flags)
                                           : dgram_recv(s, t, m, flags);
}
