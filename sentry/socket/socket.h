/* The generic socket layer, family-neutral (Linux's net/socket.c and the SOL_SOCKET
 * half of net/core/sock.c). A socket is an open file whose inode is its own S_IFSOCK
 * inode on the internal "sockfs" (fstat and /proc/PID/fd show it as Linux does) and
 * whose private data is a struct socket. A family (AF_UNIX, AF_INET ...) registers a
 * create function and fills in s->ops and s->priv.
 *
 * Everything a family receives is already in Sentry memory: addresses are a buffer
 * and a length (at most SOCK_ADDR_MAX bytes), control messages a buffer, data a
 * struct uio (whose copies may still fault: -EFAULT only if nothing moved, as for
 * file_ops.read). The system calls (sentry/syscalls/socket.c) do the copying and
 * the bounds; the generic layer handles the SOL_SOCKET options that mean the same
 * for every family, blocking rules (O_NONBLOCK, MSG_DONTWAIT, SO_RCVTIMEO and
 * SO_SNDTIMEO) through struct sock_block, and SIGPIPE.
 *
 * Blocking in a family: use sock_wait_locked below with the sock_block the call got;
 * it returns -EAGAIN for a non-blocking call or a timeout, and Linux's
 * sock_intr_errno on a signal (-ERESTARTSYS without a timeout, -EINTR with one).
 * Readiness: a family's poll op returns POLL* events and the socket's own wait queue
 * (s->wq); the family wakes s->wq (with the events that may have changed) whenever
 * readiness changes, including a socket's readiness that depends on its peer. */
#ifndef SENTRY_SOCKET_SOCKET_H
#define SENTRY_SOCKET_SOCKET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sentry/kernel/waitq.h"

struct file;
struct task;
struct uio;
struct socket;

/* sizeof(struct sockaddr_storage): the most address bytes the kernel copies in. */
#define SOCK_ADDR_MAX 128
/* Linux's sysctl_optmem_max (net.core.optmem_max): the most control bytes sendmsg
 * copies in. recvmsg's control room is capped the same. */
#define SOCK_CONTROL_MAX 131072
/* The most an option value may be (getsockopt/setsockopt copy through a buffer this
 * big; larger values are cut to it, which no SOL_SOCKET option reaches). */
#define SOCK_OPT_MAX 256

/* Linux's defaults (net.core.wmem_default/rmem_default) and its floor for SO_SNDBUF
 * and SO_RCVBUF (SOCK_MIN_SNDBUF/SOCK_MIN_RCVBUF on x86-64), and the
 * wmem_max/rmem_max an unprivileged setsockopt is capped at before doubling. */
#define SOCK_DEFAULT_BUF 212992
#define SOCK_MIN_SNDBUF 4608
#define SOCK_MIN_RCVBUF 2304
#define SOCK_MAX_BUF 212992

/* How a call may wait: built by the generic layer from O_NONBLOCK / MSG_DONTWAIT and
 * the socket's SO_RCVTIMEO (receiving, accept) or SO_SNDTIMEO (sending, connect),
 * measured from the start of the call. */
struct sock_block {
    int nonblock;                  /* never sleep: -EAGAIN */
    int has_deadline;              /* a timeout was set */
    struct timespec deadline;      /* CLOCK_MONOTONIC, when has_deadline */
};

/* One sendmsg or recvmsg, in Sentry memory (Linux's struct msghdr on the kernel
 * side). */
struct sock_msg {
    const struct uio *data;        /* the bytes to send / room to receive into */
    /* sendmsg: the destination (namelen bytes, 0: none). recvmsg: room for the
     * source, namecap bytes (name NULL: not wanted); the family sets namelen to the
     * address's full length (the syscall copies min(namelen, what the guest gave)). */
    void *name;
    size_t namelen;
    size_t namecap;
    /* sendmsg: the control messages copied in (controllen bytes). recvmsg: room for
     * control messages (controllen bytes, the guest's msg_controllen capped at
     * SOCK_CONTROL_MAX); families append with sock_cmsg_put, which advances
     * control_used and sets MSG_CTRUNC in flags_out. */
    void *control;
    size_t controllen;
    size_t control_used;           /* recvmsg: bytes of control written */
    int cmsg_cloexec;              /* recvmsg: MSG_CMSG_CLOEXEC (passed fds) */
    int flags_out;                 /* recvmsg: msg_flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR) */
    struct sock_block blk;         /* how to wait */
};

/* The operations of one socket, set by its family. All optional: a missing one is
 * -EOPNOTSUPP (poll: POLL_DEFAULT_MASK, ioctl: -ENOTTY, release: nothing). t is the
 * calling task (its creds and fd table); every op is called without socket locks
 * held. Address lengths are what the guest passed (already <= SOCK_ADDR_MAX); the
 * family checks them and sun_family/sin_family. */
struct socket_ops {
    int (*bind)(struct socket *s, struct task *t, const void *addr, size_t len);
    int (*connect)(struct socket *s, struct task *t, const void *addr, size_t len,
                   const struct sock_block *blk);
    int (*listen)(struct socket *s, struct task *t, int backlog);
    /* accept: a new connected socket (made with socket_alloc, ops and priv set) in
     * *out. Its address is fetched afterwards with getpeername (peer = 1). */
    int (*accept)(struct socket *s, struct task *t, struct socket **out,
                  const struct sock_block *blk);
    /* socketpair: connects two fresh sockets of this family, type and protocol
     * (both made by the family's create). */
    int (*socketpair)(struct socket *a, struct socket *b, struct task *t);
    /* sendmsg/recvmsg: bytes moved (recvmsg with MSG_TRUNC: the message's real
     * length) or -errno. flags are the MSG_* of the call. -EPIPE on a stream socket
     * makes the generic layer send SIGPIPE unless MSG_NOSIGNAL (the family does not
     * send it). */
    ssize_t (*sendmsg)(struct socket *s, struct task *t, struct sock_msg *m, int flags);
    ssize_t (*recvmsg)(struct socket *s, struct task *t, struct sock_msg *m, int flags);
    /* shutdown: how is SHUT_RD, SHUT_WR or SHUT_RDWR (checked). */
    int (*shutdown)(struct socket *s, int how);
    /* getname: the local (peer = 0) or peer address into buf (SOCK_ADDR_MAX bytes);
     * returns its length or -errno (-ENOTCONN for a missing peer). */
    int (*getname)(struct socket *s, void *buf, int peer);
    /* getsockopt: the value into val (room *len bytes, at most SOCK_OPT_MAX); sets
     * *len. setsockopt: val holds len bytes. Called for every level other than
     * SOL_SOCKET, and for the SOL_SOCKET options the generic layer does not own;
     * -ENOPROTOOPT for unknown ones. */
    int (*getsockopt)(struct socket *s, struct task *t, int level, int name, void *val,
                      size_t *len);
    int (*setsockopt)(struct socket *s, struct task *t, int level, int name,
                      const void *val, size_t len);
    /* poll: the POLL* events s is ready for (s->wq is the queue to wait on). */
    unsigned (*poll)(struct socket *s);
    /* ioctl: FIONREAD/SIOCINQ, SIOCOUTQ and family commands; copies through t. */
    long (*ioctl)(struct socket *s, struct task *t, unsigned cmd, uint64_t arg);
    /* release: the file is closing: drop the connection and free s->priv. */
    void (*release)(struct socket *s);
    /* sol_socket_first: getsockopt/setsockopt see SOL_SOCKET options before the
     * generic layer, which answers those they return -ENOPROTOOPT for (a family
     * whose socket state lives elsewhere: hostinet's host socket). */
    int sol_socket_first;
};

struct socket {
    const struct socket_ops *ops;  /* set by the family's create; immutable after */
    int family, type, protocol;    /* immutable (type without SOCK_NONBLOCK/CLOEXEC) */
    void *priv;                    /* the family's */
    struct file *file;             /* the file that owns s (not a reference: s lives
                                    * exactly as long as it); NULL until installed */
    struct waitq wq;               /* woken when readiness changes (see above) */
    /* SOL_SOCKET state kept by the generic layer; families read it. All atomic. */
    int passcred;                  /* SO_PASSCRED */
    int acceptconn;                /* SO_ACCEPTCONN: set by a successful listen */
    int so_error;                  /* SO_ERROR: a family stores a pending positive
                                    * errno; getsockopt reads and clears it */
    int sndbuf, rcvbuf;            /* SO_SNDBUF/SO_RCVBUF, as Linux stores them
                                    * (doubled) */
    int rcvlowat;                  /* SO_RCVLOWAT (1) */
    int reuseaddr, reuseport, keepalive, broadcast, oobinline, dontroute;
    int priority;                  /* SO_PRIORITY */
    int linger_onoff, linger_secs; /* SO_LINGER */
    int64_t rcvtimeo_ns, sndtimeo_ns;   /* SO_RCVTIMEO/SO_SNDTIMEO; 0: none, < 0:
                                         * fail at once (a negative timeval) */
    int64_t owner;                 /* F_SETOWN(_EX)/FIOSETOWN: whom SIGURG goes to,
                                    * SOCK_OWNER(F_OWNER_*, id); 0: nobody */
};

/* A socket's owner packed in one word (read and written whole): the F_OWNER_TID,
 * F_OWNER_PID or F_OWNER_PGRP type and the id. */
#define SOCK_OWNER(type, id) (((int64_t)(type) << 32) | (uint32_t)(id))
#define SOCK_OWNER_TYPE(o) ((int)((o) >> 32))
#define SOCK_OWNER_ID(o) ((int)(uint32_t)(o))

/* A family's constructor: sets s->ops and s->priv for s->type and protocol (0: the
 * default), or returns -EPROTONOSUPPORT / -ESOCKTNOSUPPORT / -ENOMEM. t is the
 * caller of socket(2) or socketpair(2). */
typedef int (*socket_create_fn)(struct socket *s, struct task *t, int protocol);

/* socket_family_register: makes socket(family, ...) call create. Called at start-up
 * (before any guest runs); a second registration of a family replaces the first. */
void socket_family_register(int family, socket_create_fn create);

/* socket_alloc: a socket of family/type/protocol with generic defaults and no ops,
 * for families making the accepted end of a connection. Free it with socket_free
 * unless socket_file_alloc took it. NULL on allocation failure. */
struct socket *socket_alloc(int family, int type, int protocol);
/* socket_free: frees a socket that has no file (calls ops->release if ops set). */
void socket_free(struct socket *s);

/* socket_create: socket(2) without the fd: the family's socket of type (SOCK_* with
 * SOCK_NONBLOCK allowed) as a new file with one reference in *out. -EAFNOSUPPORT
 * for a family nobody registered (logged once per family), -EINVAL for bad type
 * flags. */
int socket_create(struct task *t, int family, int type, int protocol, struct file **out);
/* socket_file_alloc: the file for s (which moves in), O_RDWR plus O_NONBLOCK when
 * nonblock. On failure s is freed and NULL returned. */
struct file *socket_file_alloc(struct socket *s, int nonblock);

/* socket_from_file: the socket behind f, or NULL if f is not a socket (-ENOTSOCK). */
struct socket *socket_from_file(struct file *f);

/* socket_block: the waiting rules for one call on f: nonblock from O_NONBLOCK or
 * MSG_DONTWAIT in msg_flags; deadline from SO_SNDTIMEO (send) or SO_RCVTIMEO. */
void socket_block(struct file *f, int msg_flags, int send, struct sock_block *out);

/* sock_wait_locked: the wait-queue pattern for families: registers on wq for events,
 * drops mu, sleeps, retakes mu. 0 when woken (re-check the condition), -EAGAIN when
 * blk is non-blocking or its deadline has passed, -ERESTARTSYS (no deadline) or
 * -EINTR (deadline) on a signal. mu held on entry and on return. */
int sock_wait_locked(const struct sock_block *blk, struct waitq *wq,
                     pthread_mutex_t *mu, unsigned events);

/* sock_cmsg_put: appends one control message (level, type, len data bytes) to a
 * recvmsg's control room as Linux's put_cmsg: a message that does not fit whole is
 * cut (and MSG_CTRUNC set); one whose header does not fit is dropped (MSG_CTRUNC).
 * Returns the data bytes stored. */
size_t sock_cmsg_put(struct sock_msg *m, int level, int type, const void *data,
                     size_t len);

/* Generic SOL_SOCKET options: 0 with the value, or -ENOPROTOOPT when the family must
 * answer (used by the system calls). */
int socket_getsockopt_generic(struct socket *s, int name, void *val, size_t *len);
int socket_setsockopt_generic(struct socket *s, struct task *t, int name,
                              const void *val, size_t len);

/* socket_sendmsg/socket_recvmsg: the family's op plus the generic rules (SIGPIPE,
 * shutdown checks stay the family's). Used by the system calls and by read/write. */
ssize_t socket_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags);
ssize_t socket_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags);

/* socket_sigurg: SIGURG (SI_KERNEL) to owner, a value of struct socket's owner read
 * while the socket was known alive (Linux's sk_send_sigurg): the thread, the process,
 * or every process of the group. Nothing for 0 or an owner gone. Called with no
 * socket lock held (it takes g_kernel.mu). */
void socket_sigurg(int64_t owner);

/* socket_families_init: registers the families built into the Sentry (AF_UNIX ...).
 * Called once at boot. */
void socket_families_init(void);

#endif
