/* Pending-signal queues and their per-user accounting. See sigqueue.h. */
#include "sentry/kernel/sigqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A bound on queued instances in the whole sandbox, whatever the limits say (a guest
 * root may raise RLIMIT_SIGPENDING and use many uids): past it a queue allocation
 * fails as it would for lack of memory in Linux. */
#define SIGQUEUE_MAX_TOTAL (1u << 18)

/* The per-user counts: few users have signals queued at once, so a small array. */
struct user_count {
    uint32_t uid;
    uint64_t count;
};

static pthread_mutex_t g_acct_mu = PTHREAD_MUTEX_INITIALIZER;
static struct user_count *g_users;
static size_t g_nusers, g_cap;
static uint64_t g_total;

/* find_user: uid's entry, or NULL. g_acct_mu held. */
static struct user_count *find_user(uint32_t uid)
{
    for (size_t i = 0; i < g_nusers; i++)
        if (g_users[i].uid == uid)
            return &g_users[i];
    return NULL;
}

/* charge: counts one more instance for uid; unless override, only within limit (and
 * always within SIGQUEUE_MAX_TOTAL). 1 if counted, 0 if not. */
static int charge(uint32_t uid, uint64_t limit, int override)
{
    int ok = 0;
    pthread_mutex_lock(&g_acct_mu);
    struct user_count *u = find_user(uid);
    uint64_t now = u ? u->count : 0;
    if (g_total >= SIGQUEUE_MAX_TOTAL || (!override && now + 1 > limit))
        goto out;
    if (!u) {
        if (g_nusers == g_cap) {
            size_t cap = g_cap ? 2 * g_cap : 8;
            struct user_count *n = realloc(g_users, cap * sizeof(*n));
            if (!n)
                goto out;
            g_users = n;
            g_cap = cap;
        }
        u = &g_users[g_nusers++];
        u->uid = uid;
        u->count = 0;
    }
    u->count++;
    g_total++;
    ok = 1;
out:
    pthread_mutex_unlock(&g_acct_mu);
    return ok;
}

static void uncharge(uint32_t uid)
{
    pthread_mutex_lock(&g_acct_mu);
    struct user_count *u = find_user(uid);
    if (u) {
        g_total--;
        if (--u->count == 0)
            *u = g_users[--g_nusers];
    }
    pthread_mutex_unlock(&g_acct_mu);
}

uint64_t sigqueue_user_count(uint32_t uid)
{
    pthread_mutex_lock(&g_acct_mu);
    struct user_count *u = find_user(uid);
    uint64_t n = u ? u->count : 0;
    pthread_mutex_unlock(&g_acct_mu);
    return n;
}

int sigpending_add(struct sigpending *p, int sig, const siginfo_t *info, unsigned flags,
                   uint32_t uid, uint64_t limit)
{
    uint64_t bit = 1ULL << (sig - 1);
    int rt = sig >= GUEST_SIGRTMIN;
    /* legacy_queue: one instance of a standard signal (a timer's own is separate) */
    if (!rt && (p->mask & bit) && !(flags & SQ_TIMER))
        return 0;
    struct sigqueue *q = NULL;
    unsigned qflags = flags & (SQ_SHARED | SQ_TIMER);
    if (flags & SQ_TIMER) {
        q = malloc(sizeof(*q));
    } else {
        /* Linux's __send_signal_locked: standard signals from the kernel or kill()
         * (si_code >= 0) go over the limit; real-time ones never do */
        int override = !rt && ((flags & SQ_SPECIAL) || info->si_code >= 0);
        if (charge(uid, limit, override)) {
            q = malloc(sizeof(*q));
            if (q)
                qflags |= SQ_CHARGED;
            else
                uncharge(uid);
        }
    }
    if (q) {
        q->next = NULL;
        q->info = *info;
        q->flags = qflags;
        q->uid = uid;
        int i = sig - 1;
        if (p->tail[i])
            p->tail[i]->next = q;
        else
            p->head[i] = q;
        p->tail[i] = q;
        p->nqueued[i]++;
        if (qflags & SQ_SHARED)
            p->nshared[i]++;
    } else if (rt && !(flags & SQ_SPECIAL) && info->si_code != SI_USER) {
        return -EAGAIN;   /* sigqueue(3) and friends may fail; kill() may not */
    }
    /* else: pending without its siginfo (Linux's TRACE_SIGNAL_LOSE_INFO); with others
     * queued it adds nothing: it would go with the last of them anyway */
    if (!(p->mask & bit) && !q && (flags & SQ_SHARED))
        p->shared |= bit;
    p->mask |= bit;
    if (p->head[sig - 1]) {
        /* with a queue, whether a process-directed instance is pending is its count */
        if (p->nshared[sig - 1])
            p->shared |= bit;
        else
            p->shared &= ~bit;
    }
    return 1;
}

int sigpending_take(struct sigpending *p, int sig, int only_shared, siginfo_t *info,
                    unsigned *flags)
{
    uint64_t bit = 1ULL << (sig - 1);
    int i = sig - 1;
    if (!(p->mask & bit) || (only_shared && !(p->shared & bit)))
        return 0;
    if (!p->head[i]) {
        /* the instance whose siginfo was not kept: collect_signal's bare SI_USER */
        memset(info, 0, sizeof(*info));
        info->si_signo = sig;
        info->si_code = SI_USER;
        *flags = (p->shared & bit) ? SQ_SHARED : 0;
        p->mask &= ~bit;
        p->shared &= ~bit;
        return 1;
    }
    struct sigqueue *q = p->head[i], *prev = NULL;
    while (q && only_shared && !(q->flags & SQ_SHARED)) {
        prev = q;
        q = q->next;
    }
    if (!q)
        return 0;
    if (prev)
        prev->next = q->next;
    else
        p->head[i] = q->next;
    if (p->tail[i] == q)
        p->tail[i] = prev;
    p->nqueued[i]--;
    if (q->flags & SQ_SHARED)
        p->nshared[i]--;
    /* an instance without siginfo behind queued ones goes with the last of them, as
     * in Linux (the pending bit is all it was) */
    if (!p->head[i])
        p->mask &= ~bit;
    if (!p->head[i] || !p->nshared[i])
        p->shared &= ~bit;
    *info = q->info;
    *flags = q->flags & (SQ_SHARED | SQ_TIMER);
    if (q->flags & SQ_CHARGED)
        uncharge(q->uid);
    free(q);
    return 1;
}

uint64_t sigpending_private(const struct sigpending *p)
{
    uint64_t priv = p->mask & ~p->shared;
    for (uint64_t m = p->mask & p->shared; m; m &= m - 1) {
        int i = __builtin_ctzll(m);
        if (p->nqueued[i] > p->nshared[i])
            priv |= 1ULL << i;
    }
    return priv;
}

void sigpending_clear(struct sigpending *p)
{
    for (uint64_t m = p->mask; m; m &= m - 1) {
        siginfo_t info;
        unsigned flags;
        while (sigpending_take(p, __builtin_ctzll(m) + 1, 0, &info, &flags))
            ;
    }
}
