/* The stack itself: start-up, the core lock and what happens when it is dropped.
 *
 * lwIP's threaded build (NO_SYS=0, LWIP_TCPIP_CORE_LOCKING) lets any thread call its
 * raw API while holding the core lock. Debian's library ships the Unix port's
 * sys_arch; we provide four of its functions ourselves (the port is the embedder's
 * part of lwIP, and the library calls them through the PLT, so ours win):
 * sys_lock_tcpip_core/sys_unlock_tcpip_core, so that every unlock, including the
 * tcpip thread's after it runs timers, first processes the loopback packets queued
 * meanwhile (netif_loopback.c) and then reports readiness changes to the Sentry with
 * the lock free; sys_check_core_locking, which checks the holder; and
 * sys_mark_tcpip_thread, which turns the check on.
 *
 * The tcpip thread (tcpip_init) only runs lwIP's timers: we never post it messages,
 * because a hand-off to another CPU costs more than the work. */
#include "netstack/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/mem.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

#include "lib/log.h"

/* mem.c replaces lwIP's allocator, but nothing of ours calls into it: naming one of
 * its functions here makes the linker take it from libsandbox.a (otherwise the
 * library's own mem_malloc would run). */
void *(*const ns_link_mem)(mem_size_t) = mem_malloc;

static pthread_mutex_t g_core_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t g_core_holder;
static int g_core_held;            /* g_core_mu */

/* Endpoints with events to report or a delayed ACK to send (core lock). */
struct ep_vec {
    struct ns_ep **v;
    size_t n, cap;
};
static struct ep_vec g_notify, g_acks;

static int vec_push(struct ep_vec *q, struct ns_ep *ep)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct ns_ep **v = realloc(q->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = ep;
    return 0;
}

void ns_notify(struct ns_ep *ep, unsigned events)
{
    ep->notify_ev |= events;
    if (ep->notify_queued)
        return;
    if (vec_push(&g_notify, ep) < 0)
        return;                    /* lost wake-up only under memory exhaustion */
    ep->notify_queued = 1;
    ns_ep_get(ep);
}

void ns_ack_soon(struct ns_ep *ep)
{
    if (ep->ack_queued || vec_push(&g_acks, ep) < 0)
        return;
    ep->ack_queued = 1;
    ns_ep_get(ep);
}

/* Sends the delayed ACKs of the endpoints that received data this round: on
 * loopback an ACK costs less than the 250 ms a sender waiting on it (Nagle) loses. */
static int flush_acks(void)
{
    size_t n = g_acks.n;
    for (size_t i = 0; i < n; i++) {
        struct ns_ep *ep = g_acks.v[i];
        ep->ack_queued = 0;
        struct tcp_pcb *pcb = ep->pcb.tcp;
        if (pcb && !ep->closed && (pcb->flags & TF_ACK_DELAY)) {
            tcp_ack_now(pcb);
            tcp_output(pcb);
        }
    }
    /* the refs go after the loop: a put may free an endpoint, never the vector */
    struct ns_ep *small[64];
    struct ns_ep **put = n <= 64 ? small : malloc(n * sizeof(*put));
    if (put && n)                  /* g_acks.v is NULL until the first push */
        memcpy(put, g_acks.v, n * sizeof(*put));
    g_acks.n = 0;
    for (size_t i = 0; put && i < n; i++)
        ns_ep_put(put[i]);
    if (put && put != small)
        free(put);
    return (int)n;
}

void sys_lock_tcpip_core(void)
{
    pthread_mutex_lock(&g_core_mu);
    g_core_holder = pthread_self();
    g_core_held = 1;
}

void sys_unlock_tcpip_core(void)
{
    /* loopback packets may cause ACKs, which cause packets ... until quiet */
    while (ns_loop_flush() + flush_acks() > 0)
        ;
    ns_eth_flush();                /* --network=sandbox: this round's frames, batched */
    struct { struct ns_ep *ep; unsigned ev; } small[32], *out = small;
    size_t n = g_notify.n;
    if (n > 32 && !(out = malloc(n * sizeof(*out)))) {
        out = small;               /* report the first 32 now, the rest next time */
        n = 32;
    }
    for (size_t i = 0; i < n; i++) {
        struct ns_ep *ep = g_notify.v[i];
        out[i].ep = ep;
        out[i].ev = ep->notify_ev;
        ep->notify_ev = 0;
        ep->notify_queued = 0;
    }
    if (g_notify.n > n)
        memmove(g_notify.v, g_notify.v + n, (g_notify.n - n) * sizeof(g_notify.v[0]));
    g_notify.n -= n;
    g_core_held = 0;
    pthread_mutex_unlock(&g_core_mu);

    for (size_t i = 0; i < n; i++) {
        struct ns_ep *ep = out[i].ep;
        pthread_mutex_lock(&ep->notify_mu);
        if (ep->notify)
            ep->notify(ep->notify_arg, out[i].ev);
        pthread_mutex_unlock(&ep->notify_mu);
        ns_ep_put(ep);
    }
    if (out != small)
        free(out);
}

/* Set when the tcpip thread starts: lwip_init (on the thread calling tcpip_init)
 * runs before there is a lock to hold, as in the Unix port's check. */
static int g_checking;

void sys_check_core_locking(void)
{
    if (g_checking && (!g_core_held || !pthread_equal(g_core_holder, pthread_self()))) {
        log_err("netstack: lwIP called without the core lock");
        abort();
    }
}

void sys_mark_tcpip_thread(void)
{
    __atomic_store_n(&g_checking, 1, __ATOMIC_RELEASE);
}

void ns_lock(void)
{
    sys_lock_tcpip_core();
}

void ns_unlock(void)
{
    sys_unlock_tcpip_core();
}

/* Start-up: tcpip_init runs init_done on the new thread, with the core lock held. */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_init_err;
static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_init_cv = PTHREAD_COND_INITIALIZER;
static int g_init_done;

static void init_done(void *arg)
{
    (void)arg;
    int err = ns_netif_setup();
    pthread_mutex_lock(&g_init_mu);
    g_init_err = err;
    g_init_done = 1;
    pthread_cond_signal(&g_init_cv);
    pthread_mutex_unlock(&g_init_mu);
}

static void init_once(void)
{
    tcpip_init(init_done, NULL);
    pthread_mutex_lock(&g_init_mu);
    while (!g_init_done)
        pthread_cond_wait(&g_init_cv, &g_init_mu);
    pthread_mutex_unlock(&g_init_mu);
    if (g_init_err)
        log_err("netstack: cannot set up the loopback interface: %d", g_init_err);
}

int ns_init(void)
{
    pthread_once(&g_once, init_once);
    return g_init_err;
}

int ns_err(int e)
{
    switch (e) {
    case ERR_OK:         return 0;
    case ERR_MEM:        return -ENOMEM;
    case ERR_BUF:        return -ENOBUFS;
    case ERR_TIMEOUT:    return -ETIMEDOUT;
    case ERR_RTE:        return -ENETUNREACH;
    case ERR_INPROGRESS: return -EINPROGRESS;
    case ERR_VAL:        return -EINVAL;
    case ERR_WOULDBLOCK: return -EAGAIN;
    case ERR_USE:        return -EADDRINUSE;
    case ERR_ALREADY:    return -EALREADY;
    case ERR_ISCONN:     return -EISCONN;
    case ERR_CONN:       return -ENOTCONN;
    case ERR_IF:         return -ENETDOWN;
    case ERR_ABRT:       return -ECONNABORTED;
    case ERR_RST:        return -ECONNRESET;
    case ERR_CLSD:       return -ENOTCONN;
    case ERR_ARG:        return -EINVAL;
    default:             return -EIO;
    }
}
