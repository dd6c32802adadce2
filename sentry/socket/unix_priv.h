/* AF_UNIX internals shared by unix.c (sockets, names, connections), unix_io.c (send
 * and receive) and unix_scm.c (SCM_RIGHTS, SCM_CREDENTIALS). Modelled on Linux's
 * net/unix/af_unix.c: a stream connect makes the server's end at once (the
 * "embryo") and queues it on the listener; data is queued on the receiver as
 * messages charged to the sender's send buffer until read.
 *
 * Lifetimes: a unix_sock is reference counted (refs): its socket holds one while
 * open, a peer pointer one, each queued message one on its sender, a listener's
 * queued embryo one. u->s (the struct socket, whose wait queue poll uses) is valid
 * only while !u->dead; after release only peer_wait (in the unix_sock) may be waited
 * on or woken.
 *
 * Locks: each unix_sock's mu protects its fields marked (mu). Code holds at most one
 * unix_sock mu at a time except a stream connect, which takes the listener's, then
 * the connecting socket's, then the new embryo's (as Linux's unix_stream_connect; no
 * path locks a listener while holding another socket's mu, so it cannot reverse),
 * and the garbage collector, which holds its g_gc_mu and takes sockets' mu under it
 * (a listener's, then its embryos'); nothing takes g_gc_mu with a socket's mu held.
 * The name table's g_unix_names_mu is taken without any unix_sock mu held. Files
 * carried by SCM_RIGHTS are put only with no lock held (their release may be
 * another unix socket's). */
#ifndef SENTRY_SOCKET_UNIX_PRIV_H
#define SENTRY_SOCKET_UNIX_PRIV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sentry/kernel/waitq.h"
#include "sentry/socket/socket.h"
#include "sentry/socket/unix_gc_graph.h"
#include "sentry/socket/unix.h"
#include "sentry/vfs/vfs.h"

struct file;
struct task;

#define UNIX_SHUT_RCV 1               /* Linux's RCV_SHUTDOWN */
#define UNIX_SHUT_SEND 2              /* SEND_SHUTDOWN */
#define UNIX_SHUT_BOTH 3
#define UNIX_MAX_FD 253               /* SCM_MAX_FD */
#define UNIX_DGRAM_QLEN 10            /* net.unix.max_dgram_qlen */
#define UNIX_MSG_OVERHEAD 768         /* charged per message, about an skb's truesize */

/* A bound address: the sockaddr_un bytes as getsockname returns them. Immutable,
 * shared by reference (an accepted socket shares its listener's). */
struct unix_addr {
    int refs;                         /* atomic */
    int len;                          /* bytes of u (2..sizeof(struct sockaddr_un)+1:
                                       * a pathname counts its NUL, as Linux) */
    union {
        struct sockaddr_un sa;
        char raw[SOCK_ADDR_MAX];
    } u;
};

/* Credentials as SCM_CREDENTIALS and SO_PEERCRED carry them. */
struct unix_cred { int32_t pid; uint32_t uid, gid; };

/* What a message carries besides data: passed files (references) and creds. */
struct unix_scm {
    int nfds;
    int nunix;                        /* how many of the files are unix sockets */
    int inflight;                     /* counted by the collector (unix_gc.c): set
                                       * from sendmsg until a receiver detaches */
    struct file *files[UNIX_MAX_FD];
};

/* One queued message (a datagram, a seqpacket record, or a piece of a stream). */
struct unix_msg {
    struct unix_msg *next;
    struct unix_sock *from;           /* a reference: charged, woken on consumption */
    struct unix_addr *addr;           /* the sender's address then, or NULL */
    struct unix_cred cred;            /* sender's pid, uid, gid (or its explicit ones) */
    struct unix_scm *scm;             /* passed files, or NULL */
    size_t charge;                    /* bytes counted in from->wmem */
    size_t len, off;                  /* data bytes; off: read already (stream) */
    char data[];
};

enum unix_state { US_UNCONNECTED, US_LISTENING, US_CONNECTED };

struct unix_sock {
    int refs;                         /* atomic (see above) */
    int type;                         /* immutable: SOCK_STREAM, DGRAM, SEQPACKET */
    pthread_mutex_t mu;
    struct socket *s;                 /* mu; NULL once dead */
    int dead;                         /* mu: released */
    enum unix_state state;            /* mu */
    struct unix_sock *peer;           /* mu: a reference, or NULL */
    struct unix_addr *addr;           /* mu: bound address (reference) or NULL */
    struct path bound;                /* mu: a pathname bind's node (references) */
    int shutdown;                     /* mu: UNIX_SHUT_* */
    int err;                          /* mu: pending error (ECONNRESET), positive */
    struct unix_msg *rq_head, *rq_tail;   /* mu: the receive queue */
    size_t rq_count, rq_bytes;        /* mu */
    struct unix_sock *aq_head, *aq_tail;  /* mu: a listener's embryos (references) */
    struct unix_sock *aq_next;        /* the listener's mu: link in its queue */
    int aq_count, backlog;            /* mu */
    struct unix_cred peercred;        /* mu: SO_PEERCRED */
    int peercred_set;                 /* mu */
    size_t wmem;                      /* atomic: bytes this socket has queued */
    struct waitq peer_wait;           /* senders waiting for room in this socket's
                                       * queue, connectors for backlog room */
    struct waiter peer_wake;          /* a datagram socket's relay on its peer's
                                       * peer_wait: room there wakes this socket's
                                       * pollers (Linux's peer_wake) */
    struct unix_sock *peer_wake_on;   /* mu: whose peer_wait holds peer_wake (it is
                                       * always peer, whose reference keeps it) */
    struct unix_msg *oob_msg;         /* mu: the message in rq holding the pending
                                       * out-of-band byte (MSG_OOB), or NULL */
    struct ugc_node gc;               /* unix_gc.c's g_gc_mu: references to this
                                       * socket's file inside queued messages */
};

/* unix.c */
extern const struct socket_ops g_unix_ops;
void unix_sock_get(struct unix_sock *u);
void unix_sock_put(struct unix_sock *u);
void unix_addr_put(struct unix_addr *a);
struct unix_addr *unix_addr_get(struct unix_addr *a);
static inline struct unix_sock *unix_sk(struct socket *s) { return s->priv; }
/* unix_wake: wakes u's socket queue with events unless u is dead. u->mu held. */
void unix_wake(struct unix_sock *u, unsigned events);
/* unix_lookup: the socket bound at addr (len bytes, checked) of type; a reference.
 * -ECONNREFUSED (nobody there), -EPROTOTYPE, -ENOENT, -EACCES ... as unix_find_other. */
int unix_lookup(struct task *t, const void *addr, size_t len, int type,
                struct unix_sock **out);
/* unix_autobind: binds u to a fresh abstract name (5 hex digits) unless bound. */
int unix_autobind(struct unix_sock *u);
/* unix_validate_addr: Linux's checks of a sockaddr_un: -EINVAL. */
int unix_validate_addr(const void *addr, size_t len);
/* unix_task_cred: t's pid, euid, egid (peer) or ruid, rgid (scm). */
struct unix_cred unix_task_cred(struct task *t, int effective);

/* unix_peer_wake_disconnect: takes u's relay off its old peer's queue (before u's
 * peer changes or u dies). u->mu held. */
void unix_peer_wake_disconnect_locked(struct unix_sock *u);

/* unix_io.c */
ssize_t unix_sendmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags);
ssize_t unix_recvmsg(struct socket *s, struct task *t, struct sock_msg *m, int flags);
/* unix_msg_free: drops what m holds (sender charge and wake-up, address, files) and
 * frees it. No unix_sock mu held. */
void unix_msg_free(struct unix_msg *m);
/* unix_msgs_free: unix_msg_free for a chain. */
void unix_msgs_free(struct unix_msg *m);

/* unix_gc.c: the garbage collector of sockets in flight (see there) */
/* unix_sock_of_file: the unix socket behind f, or NULL. */
struct unix_sock *unix_sock_of_file(struct file *f);
/* unix_gc_inflight: scm's unix sockets are now inside a message (sendmsg, before it
 * is queued). No lock held. */
void unix_gc_inflight(struct unix_scm *scm);
/* unix_gc_detach: scm left its queue (a receiver took it; or the message is freed):
 * no longer counted. For a MSG_PEEK copy, waits for a running pass. No lock held. */
void unix_gc_detach(struct unix_scm *scm);
/* unix_gc: runs the collector (returns at once if another thread runs it, which then
 * goes again). No lock held: it releases sockets. */
void unix_gc(void);
/* unix_gc_maybe: unix_gc if anything is in flight (a socket's release). */
void unix_gc_maybe(void);
/* unix_gc_inflight_refs: references to unix sockets inside queued messages. */
long unix_gc_inflight_refs(void);

/* unix_scm.c */
/* unix_scm_parse: the control messages of a sendmsg: files of SCM_RIGHTS into *scm
 * (allocated when any; NULL otherwise) and explicit SCM_CREDENTIALS into *cred
 * (checked against t as scm_check_creds). -EINVAL, -EBADF, -EPERM. */
int unix_scm_parse(struct task *t, const struct sock_msg *m, struct unix_scm **scm,
                   struct unix_cred *cred);
/* unix_scm_dup: a copy of scm with new file references (MSG_PEEK). */
struct unix_scm *unix_scm_dup(const struct unix_scm *scm);
/* unix_scm_free: drops the file references and frees. No lock held. */
void unix_scm_free(struct unix_scm *scm);
/* unix_scm_deliver: puts SCM_CREDENTIALS (when passcred) and SCM_RIGHTS (installing
 * the files in t's table; consumes scm) into m's control room, as scm_recv. */
void unix_scm_deliver(struct task *t, struct sock_msg *m, int passcred,
                      const struct unix_cred *cred, struct unix_scm *scm);

#endif
