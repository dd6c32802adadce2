/* Futexes: wait queues keyed as Linux keys them, (mm, address) for private memory and
 * the memory-file offset for shared memory, so they work across processes. */
#ifndef SENTRY_KERNEL_FUTEX_H
#define SENTRY_KERNEL_FUTEX_H

#include <stdint.h>
#include <time.h>

struct task;
struct mm;

/* futex_wait: if the u32 at addr equals val, sleeps until woken by a matching wake
 * (bitset & the waker's), a signal or the absolute deadline on clock id (NULL: none).
 * private: the caller said FUTEX_PRIVATE_FLAG. 0, -EAGAIN, -ETIMEDOUT, -EINTR, or
 * -EFAULT/-EINVAL. */
int futex_wait(struct task *t, uint64_t addr, uint32_t val, uint32_t bitset, int private,
               int id, const struct timespec *deadline);
/* futex_wake: wakes up to n waiters on addr whose bitset intersects. Returns how
 * many, or -errno. */
int futex_wake(struct mm *mm, uint64_t addr, int n, uint32_t bitset, int private);
/* futex_wake_addr: futex_wake for the kernel's own uses (exit's clear-child-tid). */
int futex_wake_addr(struct mm *mm, uint64_t addr, int n);
/* futex_requeue: wakes n on addr, moves up to n2 more to addr2; with cmp, only if the
 * value at addr is still val (else -EAGAIN). */
int futex_requeue(struct mm *mm, uint64_t addr, uint64_t addr2, int n, int n2, int cmp,
                  uint32_t val, int private);
/* futex_exit_robust_list: t's robust list at its exit or exec (futex_robust.c): each
 * futex t still owns gets FUTEX_OWNER_DIED and one waiter woken; the registration is
 * cleared. t is the caller, its mm still in place. */
void futex_exit_robust_list(struct task *t);
/* futex_wake_op: FUTEX_WAKE_OP. */
int futex_wake_op(struct mm *mm, uint64_t addr, uint64_t addr2, int n, int n2,
                  uint32_t op, int private);

#endif
