/* Futex wait queues. A waiter checks the value and queues itself under its bucket's
 * lock; a waker takes the same lock, so no wake-up falls between the two. */
#include "sentry/kernel/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"

#define NBUCKETS 256

struct waiter {
    uint64_t key[2];
    uint32_t bitset;
    struct task *t;
    int woken;                    /* atomic */
    struct waiter *next, **pprev;
};

struct bucket {
    pthread_mutex_t mu;
    struct waiter *head;
};

static struct bucket g_buckets[NBUCKETS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_buckets(void)
{
    for (int i = 0; i < NBUCKETS; i++)
        pthread_mutex_init(&g_buckets[i].mu, NULL);
}

static struct bucket *bucket_of(const uint64_t key[2])
{
    uint64_t h = key[0] * 0x9e3779b97f4a7c15ULL ^ key[1] * 0xc2b2ae3d27d4eb4fULL;
    return &g_buckets[(h >> 32) % NBUCKETS];
}

/* key_of: the futex key of addr in mm. */
static int key_of(struct mm *mm, uint64_t addr, int private, uint64_t key[2])
{
    if (addr & 3)
        return -EINVAL;
    if (private) {
        key[0] = (uint64_t)(uintptr_t)mm;
        key[1] = addr;
        return 0;
    }
    return mm_futex_key(mm, addr, key);
}

static void enqueue(struct bucket *b, struct waiter *w)
{
    w->next = b->head;
    w->pprev = &b->head;
    if (b->head)
        b->head->pprev = &w->next;
    b->head = w;
}

static void dequeue(struct waiter *w)
{
    *w->pprev = w->next;
    if (w->next)
        w->next->pprev = w->pprev;
    w->pprev = NULL;
}

/* wake_one: marks w woken and wakes its task. Bucket lock held. */
static void wake_one(struct waiter *w)
{
    dequeue(w);
    struct task *t = w->t;
    pthread_mutex_lock(&t->mu);
    __atomic_store_n(&w->woken, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static int is_woken(void *arg)
{
    return __atomic_load_n(&((struct waiter *)arg)->woken, __ATOMIC_ACQUIRE);
}

int futex_wait(struct task *t, uint64_t addr, uint32_t val, uint32_t bitset, int private,
               int id, const struct timespec *deadline)
{
    pthread_once(&g_once, init_buckets);
    if (!bitset)
        return -EINVAL;
    struct waiter w = { .bitset = bitset, .t = t };
    int r = key_of(t->mm, addr, private, w.key);
    if (r < 0)
        return r;
    struct bucket *b = bucket_of(w.key);
    pthread_mutex_lock(&b->mu);
    uint32_t cur;
    if (mm_copy_in(t->mm, &cur, addr, 4) < 0) {
        pthread_mutex_unlock(&b->mu);
        return -EFAULT;
    }
    if (cur != val) {
        pthread_mutex_unlock(&b->mu);
        return -EAGAIN;
    }
    enqueue(b, &w);
    pthread_mutex_unlock(&b->mu);

    r = task_block(t, id, deadline, is_woken, &w);
    if (r < 0) {
        pthread_mutex_lock(&b->mu);
        if (w.pprev)
            dequeue(&w);
        else
            r = 0;  /* woken just as we gave up: the wake-up counts */
        pthread_mutex_unlock(&b->mu);
    }
    return r;
}

static int keys_equal(const uint64_t a[2], const uint64_t b[2])
{
    return a[0] == b[0] && a[1] == b[1];
}

/* wake_key: wakes up to n waiters with key and bitset. Bucket lock held. */
static int wake_key(struct bucket *b, const uint64_t key[2], int n, uint32_t bitset)
{
    int woken = 0;
    struct waiter *w = b->head;
    while (w && woken < n) {
        struct waiter *next = w->next;
        if (keys_equal(w->key, key) && (w->bitset & bitset)) {
            wake_one(w);
            woken++;
        }
        w = next;
    }
    return woken;
}

int futex_wake(struct mm *mm, uint64_t addr, int n, uint32_t bitset, int private)
{
    pthread_once(&g_once, init_buckets);
    if (!bitset)
        return -EINVAL;
    uint64_t key[2];
    int r = key_of(mm, addr, private, key);
    if (r < 0)
        return r;
    struct bucket *b = bucket_of(key);
    pthread_mutex_lock(&b->mu);
    r = wake_key(b, key, n, bitset);
    pthread_mutex_unlock(&b->mu);
    return r;
}

int futex_wake_addr(struct mm *mm, uint64_t addr, int n)
{
    return futex_wake(mm, addr, n, FUTEX_BITSET_MATCH_ANY, 0);
}

/* lock2/unlock2: two buckets in address order. */
static void lock2(struct bucket *a, struct bucket *b)
{
    if (a == b) {
        pthread_mutex_lock(&a->mu);
    } else if (a < b) {
        pthread_mutex_lock(&a->mu);
        pthread_mutex_lock(&b->mu);
    } else {
        pthread_mutex_lock(&b->mu);
        pthread_mutex_lock(&a->mu);
    }
}

static void unlock2(struct bucket *a, struct bucket *b)
{
    pthread_mutex_unlock(&a->mu);
    if (a != b)
        pthread_mutex_unlock(&b->mu);
}

int futex_requeue(struct mm *mm, uint64_t addr, uint64_t addr2, int n, int n2, int cmp,
                  uint32_t val, int private)
{
    pthread_once(&g_once, init_buckets);
    if (n < 0 || n2 < 0)
        return -EINVAL;
    uint64_t k1[2], k2[2];
    int r = key_of(mm, addr, private, k1);
    if (r < 0 || (r = key_of(mm, addr2, private, k2)) < 0)
        return r;
    struct bucket *b1 = bucket_of(k1), *b2 = bucket_of(k2);
    lock2(b1, b2);
    if (cmp) {
        uint32_t cur;
        if (mm_copy_in(mm, &cur, addr, 4) < 0) {
            r = -EFAULT;
            goto out;
        }
        if (cur != val) {
            r = -EAGAIN;
            goto out;
        }
    }
    r = wake_key(b1, k1, n, FUTEX_BITSET_MATCH_ANY);
    int moved = 0;
    struct waiter *w = b1->head;
    while (w && moved < n2) {
        struct waiter *next = w->next;
        if (keys_equal(w->key, k1)) {
            dequeue(w);
            w->key[0] = k2[0];
            w->key[1] = k2[1];
            enqueue(b2, w);
            moved++;
        }
        w = next;
    }
    r += moved;
out:
    unlock2(b1, b2);
    return r;
}

int futex_wake_op(struct mm *mm, uint64_t addr, uint64_t addr2, int n, int n2,
                  uint32_t op, int private)
{
    pthread_once(&g_once, init_buckets);
    uint64_t k1[2], k2[2];
    int r = key_of(mm, addr, private, k1);
    if (r < 0 || (r = key_of(mm, addr2, private, k2)) < 0)
        return r;
    int opcode = (op >> 28) & 7, cmp = (op >> 24) & 15;
    uint32_t oparg = (op >> 12) & 0xfff, cmparg = op & 0xfff;
    if (op & (8U << 28))
        oparg = 1U << (oparg & 31);
    struct bucket *b1 = bucket_of(k1), *b2 = bucket_of(k2);
    lock2(b1, b2);
    /* the read-modify-write of *addr2 is atomic against other futex calls (bucket
     * locks) and done on the guest's own page through an I/O window */
    struct mm_io io;
    long got = mm_io_acquire(mm, addr2, 4, FAULT_WRITE, &io);
    if (got < 4 || io.n != 1) {
        if (got > 0)
            mm_io_release(&io);
        unlock2(b1, b2);
        return -EFAULT;
    }
    uint32_t *p = io.iov[0].iov_base, old = __atomic_load_n(p, __ATOMIC_SEQ_CST), nv;
    switch (opcode) {
    case FUTEX_OP_SET: nv = oparg; break;
    case FUTEX_OP_ADD: nv = old + oparg; break;
    case FUTEX_OP_OR: nv = old | oparg; break;
    case FUTEX_OP_ANDN: nv = old & ~oparg; break;
    case FUTEX_OP_XOR: nv = old ^ oparg; break;
    default:
        mm_io_release(&io);
        unlock2(b1, b2);
        return -ENOSYS;
    }
    while (!__atomic_compare_exchange_n(p, &old, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        switch (opcode) {
        case FUTEX_OP_ADD: nv = old + oparg; break;
        case FUTEX_OP_OR: nv = old | oparg; break;
        case FUTEX_OP_ANDN: nv = old & ~oparg; break;
        case FUTEX_OP_XOR: nv = old ^ oparg; break;
        default: break;
        }
    }
    mm_io_release(&io);
    int hit;
    switch (cmp) {
    case FUTEX_OP_CMP_EQ: hit = old == cmparg; break;
    case FUTEX_OP_CMP_NE: hit = old != cmparg; break;
    case FUTEX_OP_CMP_LT: hit = (int32_t)old < (int32_t)cmparg; break;
    case FUTEX_OP_CMP_LE: hit = (int32_t)old <= (int32_t)cmparg; break;
    case FUTEX_OP_CMP_GT: hit = (int32_t)old > (int32_t)cmparg; break;
    case FUTEX_OP_CMP_GE: hit = (int32_t)old >= (int32_t)cmparg; break;
    default:
        unlock2(b1, b2);
        return -ENOSYS;
    }
    r = wake_key(b1, k1, n, FUTEX_BITSET_MATCH_ANY);
    if (hit)
        r += wake_key(b2, k2, n2, FUTEX_BITSET_MATCH_ANY);
    unlock2(b1, b2);
    return r;
}
