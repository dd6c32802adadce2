/* System call dispatch: the table lookup every guest call goes through. This is the
 * hot path, so it is one bounds check and one indirect call; --strace and the log of
 * unimplemented calls are off to the side. */
#include <asm/unistd_64.h>
#include <errno.h>
#include <stdatomic.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sentry/syscalls/strace.h"
#include "sentry/syscalls/syscall.h"

int g_strace;

/* Numbers below this are logged once each; all larger ones share one last bit, so a
 * guest trying random numbers cannot flood the log. */
#define WARN_NUMBERS 1024
static _Atomic uint64_t g_warned[WARN_NUMBERS / 64 + 1];

const char *syscall_name(uint64_t nr)
{
    return nr < SYSCALL_MAX ? g_syscalls[nr].name : NULL;
}

/* unimplemented: -ENOSYS, logged the first time each number is seen (from any
 * thread: the bitmap is updated atomically, so exactly one caller logs). */
__attribute__((cold, noinline))
static long unimplemented(uint64_t nr)
{
    uint64_t bit = MIN(nr, (uint64_t)WARN_NUMBERS);
    uint64_t mask = 1ull << (bit % 64);
    _Atomic uint64_t *word = &g_warned[bit / 64];

    if (atomic_load_explicit(word, memory_order_relaxed) & mask)
        return -ENOSYS;
    if (atomic_fetch_or_explicit(word, mask, memory_order_relaxed) & mask)
        return -ENOSYS;

    const char *name = syscall_name(nr);
    if (name)
        log_warn("unimplemented system call: %s (%llu)", name, (unsigned long long)nr);
    else if (nr < WARN_NUMBERS)
        log_warn("unknown system call %llu", (unsigned long long)nr);
    else
        log_warn("unknown system call %llu (later ones >= %d are not logged)",
                 (unsigned long long)nr, WARN_NUMBERS);
    return -ENOSYS;
}

/* call: runs the handler. An entry without a name never has a handler (the table's
 * constructors set both), so checking fn covers both cases. */
static inline long call(struct task *t, const struct syscall_args *a)
{
    syscall_fn fn = likely(a->nr < SYSCALL_MAX) ? g_syscalls[a->nr].fn : NULL;
    return likely(fn != NULL) ? fn(t, a) : unimplemented(a->nr);
}

long syscall_dispatch(struct task *t, const struct syscall_args *a)
{
    if (likely(!g_strace))
        return call(t, a);

    /* exit and exit_group do not return to the guest: print them first, as strace
     * does, and not again afterwards. */
    if (a->nr == __NR_exit || a->nr == __NR_exit_group) {
        strace_print_noreturn(t, a);
        return call(t, a);
    }
    if (a->nr == __NR_execve || a->nr == __NR_execveat)
        return strace_call_replacing_memory(t, a, call);
    long ret = call(t, a);
    strace_print(t, a, ret);
    return ret;
}
