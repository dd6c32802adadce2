/* Robust futex lists: at a thread's exit (and exec) the kernel walks the list the
 * thread registered with set_robust_list and marks every futex the thread still
 * owns as FUTEX_OWNER_DIED, waking one waiter, so a robust mutex's next locker gets
 * EOWNERDEAD instead of waiting forever. The walk follows Linux's exit_robust_list
 * and handle_futex_death (kernel/futex/core.c): at most ROBUST_LIST_LIMIT entries, and
 * an unreadable entry ends it. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>

#include "sentry/kernel/futex.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"

/* How many times a futex word that keeps changing under us is retried. Linux retries
 * without bound; a guest must not be able to keep an exiting thread spinning. */
#define DEATH_RETRIES 64

/* The guest's struct robust_list_head: { next, futex_offset, list_op_pending }. */
#define HEAD_NEXT 0
#define HEAD_OFFSET 8
#define HEAD_PENDING 16

/* fetch_entry: the list pointer at addr, split into the entry and its PI bit.
 * 0 or -EFAULT. */
static int fetch_entry(struct mm *mm, uint64_t addr, uint64_t *entry, int *pi)
{
    uint64_t v;
    if (mm_copy_in(mm, &v, addr, sizeof(v)) < 0)
        return -EFAULT;
    *entry = v & ~1ULL;
    *pi = (int)(v & 1);
    return 0;
}

/* cmpxchg_u32: atomically replaces the guest u32 at addr with nv if it holds old;
 * *cur gets what it held. 0 or -EFAULT (not writable). */
static int cmpxchg_u32(struct mm *mm, uint64_t addr, uint32_t old, uint32_t nv,
                       uint32_t *cur)
{
    struct mm_io io;
    long got = mm_io_acquire(mm, addr, 4, FAULT_WRITE, &io);
    if (got < 4 || io.n != 1) {
        if (got > 0)
            mm_io_release(&io);
        return -EFAULT;
    }
    uint32_t *p = io.iov[0].iov_base;
    __atomic_compare_exchange_n(p, &old, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    *cur = old;   /* on failure the builtin stored the value it found */
    mm_io_release(&io);
    return 0;
}

/* handle_death: the futex word at uaddr of dying thread tid (handle_futex_death).
 * pending: it is the list_op_pending entry. 0, or -1 to stop the walk. */
static int handle_death(struct mm *mm, uint64_t uaddr, int tid, int pi, int pending)
{
    if (uaddr & 3)
        return -1;
    for (int tries = 0; tries < DEATH_RETRIES; tries++) {
        uint32_t uval, cur;
        if (mm_copy_in(mm, &uval, uaddr, 4) < 0)
            return -1;
        uint32_t owner = uval & FUTEX_TID_MASK;
        /* an unlock (or a woken waiter) died half-way: the word is free, but a
         * waiter may be asleep: wake it to take the futex */
        if (pending && !pi && owner == 0) {
            futex_wake_addr(mm, uaddr, 1);
            return 0;
        }
        if (owner != (uint32_t)tid)
            return 0;
        uint32_t mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if (cmpxchg_u32(mm, uaddr, uval, mval, &cur) < 0)
            return -1;
        if (cur != uval)
            continue;
        /* PI futexes would be woken by their PI state; the sandbox has none */
        if (!pi && (uval & FUTEX_WAITERS))
            futex_wake_addr(mm, uaddr, 1);
        return 0;
    }
    return 0;
}

void futex_exit_robust_list(struct task *t)
{
    uint64_t head = t->robust_list;
    struct mm *mm = t->mm;
    t->robust_list = 0;
    if (!head || !mm)
        return;
    uint64_t entry, pending, next = 0;
    int64_t offset;
    int pi, pip, next_pi = 0;
    if (fetch_entry(mm, head + HEAD_NEXT, &entry, &pi) < 0 ||
        mm_copy_in(mm, &offset, head + HEAD_OFFSET, sizeof(offset)) < 0 ||
        fetch_entry(mm, head + HEAD_PENDING, &pending, &pip) < 0)
        return;
    for (int limit = ROBUST_LIST_LIMIT; entry != head && limit > 0; limit--) {
        /* the next entry first: handling this one may let another thread free it */
        int rc = fetch_entry(mm, entry, &next, &next_pi);
        /* a pending entry may already be on the list: handle it once, below */
        if (entry != pending &&
            handle_death(mm, entry + (uint64_t)offset, t->tid, pi, 0) < 0)
            return;
        if (rc < 0)
            return;
        entry = next;
        pi = next_pi;
    }
    if (pending)
        handle_death(mm, pending + (uint64_t)offset, t->tid, pip, 1);
}
