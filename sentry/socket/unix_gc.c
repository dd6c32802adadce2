/* The AF_UNIX garbage collector, after Linux's net/unix/garbage.c: sockets passed
 * with SCM_RIGHTS inside queues that no process can read any more (a socket sent
 * over itself and closed, two sockets inside each other's queues ...) would hold
 * each other forever; the collector finds them (unix_gc_graph.c) and empties their
 * queues, which drops the last references and releases them.
 *
 * Accounting (g_gc_mu): a unix socket's node counts the messages' references to its
 * file from the moment a sendmsg has parsed them (unix_gc_inflight, before the
 * message is queued) until a receiver has taken them off the queue
 * (unix_gc_detach, after the dequeue) or the message is freed. So a reference in a
 * queue is always counted, and one counted but outside every queue only keeps its
 * socket alive (a root), never frees it.
 *
 * Why a candidate (a file only messages refer to) cannot gain a reference while a
 * pass holds g_gc_mu: every way to one goes through a counted change (receiving
 * the file detaches it, which waits for the pass) or through a file already held
 * (an fd, or the reference of a call in progress, which fdtable_get takes), except
 * MSG_PEEK, which copies the references without detaching them: its receiver waits
 * for a running pass before it installs them (unix_gc_detach again), as Linux's
 * unix_peek_fds does since CVE-2021-0920.
 *
 * A pass runs when a unix socket is released while anything is in flight (Linux
 * queues it to a worker from unix_release_sock; here the releasing thread runs it),
 * and when a sendmsg with files finds more than UNIX_GC_TRIGGER references in
 * flight. One pass runs at a time; a request meanwhile makes the runner go again.
 * Lock order: g_gc_mu, then a socket's mu (a listener's, then its embryos'). */
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "sentry/socket/unix_priv.h"
#include "sentry/vfs/file.h"

#define UNIX_GC_TRIGGER 16000   /* Linux's UNIX_INFLIGHT_TRIGGER_GC */

static pthread_mutex_t g_gc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ugc_set g_gc_set = {                                  /* g_gc_mu */
    .head = { .prev = &g_gc_set.head, .next = &g_gc_set.head },
};
static long g_inflight_refs;    /* atomic copy of g_gc_set.refs, for the triggers */
static int g_gc_state;          /* atomic: 0 idle, 1 a pass runs, 2 run once more */

struct unix_sock *unix_sock_of_file(struct file *f)
{
    struct socket *s = socket_from_file(f);
    return s && s->ops == &g_unix_ops ? unix_sk(s) : NULL;
}

static struct unix_sock *node_sock(struct ugc_node *n)
{
    return (struct unix_sock *)((char *)n - offsetof(struct unix_sock, gc));
}

/* ---- accounting ---- */

void unix_gc_inflight(struct unix_scm *scm)
{
    if (!scm || !scm->nunix)
        return;
    if (__atomic_load_n(&g_inflight_refs, __ATOMIC_RELAXED) > UNIX_GC_TRIGGER)
        unix_gc();
    pthread_mutex_lock(&g_gc_mu);
    for (int i = 0; i < scm->nfds; i++) {
        struct unix_sock *u = unix_sock_of_file(scm->files[i]);
        if (u)
            ugc_inflight_add(&g_gc_set, &u->gc);
    }
    scm->inflight = 1;
    __atomic_store_n(&g_inflight_refs, g_gc_set.refs, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_gc_mu);
}

void unix_gc_detach(struct unix_scm *scm)
{
    if (!scm || !scm->nunix)
        return;
    /* taken even for a peeked copy (not counted): it waits out a running pass */
    pthread_mutex_lock(&g_gc_mu);
    if (scm->inflight) {
        for (int i = 0; i < scm->nfds; i++) {
            struct unix_sock *u = unix_sock_of_file(scm->files[i]);
            if (u)
                ugc_inflight_sub(&g_gc_set, &u->gc);
        }
        scm->inflight = 0;
        __atomic_store_n(&g_inflight_refs, g_gc_set.refs, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g_gc_mu);
}

/* ---- the graph, seen through sockets ---- */

static long total_refs(struct ugc_node *n, void *ctx)
{
    (void)ctx;
    /* in flight, so not released: s and its file stay */
    struct unix_sock *u = node_sock(n);
    return __atomic_load_n(&u->s->file->refs, __ATOMIC_ACQUIRE);
}

static void visit_queue(struct unix_msg *m, ugc_visit_fn visit, void *arg)
{
    for (; m; m = m->next) {
        if (!m->scm || !m->scm->nunix)
            continue;
        for (int i = 0; i < m->scm->nfds; i++) {
            struct unix_sock *c = unix_sock_of_file(m->scm->files[i]);
            if (c && c->gc.inflight > 0)
                visit(&c->gc, arg);
        }
    }
}

static void children(struct ugc_node *n, ugc_visit_fn visit, void *arg, void *ctx)
{
    (void)ctx;
    struct unix_sock *u = node_sock(n);
    pthread_mutex_lock(&u->mu);
    visit_queue(u->rq_head, visit, arg);
    /* a listener's connections not yet accepted: whoever accepts gets their queues */
    for (struct unix_sock *e = u->aq_head; e; e = e->aq_next) {
        pthread_mutex_lock(&e->mu);
        visit_queue(e->rq_head, visit, arg);
        pthread_mutex_unlock(&e->mu);
    }
    pthread_mutex_unlock(&u->mu);
}

static const struct ugc_ops g_gc_ops = { .total_refs = total_refs, .children = children };

/* take_queue: moves all of u's queued messages (its OOB byte's among them) to the
 * end of *tail. u->mu held. */
static struct unix_msg **take_queue(struct unix_sock *u, struct unix_msg **tail)
{
    if (u->rq_head) {
        *tail = u->rq_head;
        tail = &u->rq_tail->next;
        *tail = NULL;
    }
    u->rq_head = u->rq_tail = NULL;
    u->rq_count = u->rq_bytes = 0;
    u->oob_msg = NULL;
    return tail;
}

/* gc_pass: finds the garbage and frees what its queues hold. */
static void gc_pass(void)
{
    struct unix_msg *hit = NULL, **tail = &hit;
    pthread_mutex_lock(&g_gc_mu);
    struct ugc_node *garbage = ugc_collect(&g_gc_set, &g_gc_ops, NULL);
    for (struct ugc_node *n = garbage; n; n = n->cand_next) {
        /* Linux's unix_collect_skb: the whole queue goes, and for a listener its
         * embryos' queues (they die with it) */
        struct unix_sock *u = node_sock(n);
        pthread_mutex_lock(&u->mu);
        tail = take_queue(u, tail);
        for (struct unix_sock *e = u->aq_head; e; e = e->aq_next) {
            pthread_mutex_lock(&e->mu);
            tail = take_queue(e, tail);
            pthread_mutex_unlock(&e->mu);
        }
        pthread_mutex_unlock(&u->mu);
        waitq_wake(&u->peer_wait, POLLOUT);
    }
    pthread_mutex_unlock(&g_gc_mu);
    /* the last references go here: the sockets are released (which may ask for
     * another pass) */
    unix_msgs_free(hit);
}

void unix_gc(void)
{
    int s = __atomic_load_n(&g_gc_state, __ATOMIC_ACQUIRE);
    for (;;) {
        int want = s == 0 ? 1 : 2;
        if (__atomic_compare_exchange_n(&g_gc_state, &s, want, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    if (s != 0)
        return;   /* the runner goes once more */
    for (;;) {
        gc_pass();
        int one = 1;
        if (__atomic_compare_exchange_n(&g_gc_state, &one, 0, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return;
        __atomic_store_n(&g_gc_state, 1, __ATOMIC_RELEASE);
    }
}

void unix_gc_maybe(void)
{
    if (__atomic_load_n(&g_inflight_refs, __ATOMIC_RELAXED) > 0)
        unix_gc();
}

long unix_gc_inflight_refs(void)
{
    return __atomic_load_n(&g_inflight_refs, __ATOMIC_RELAXED);
}
