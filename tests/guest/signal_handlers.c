/* Signal handlers: delivery of raise/kill/tgkill to oneself, siginfo, masks during a
 * handler (SA_NODEFER), SA_RESETHAND, sigpending, sigtimedwait, the alternate stack,
 * and SSE registers preserved across a handler. */
#include "guest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static volatile int g_hits, g_code, g_blocked_inside, g_on_altstack;
static char *g_alt;
static size_t g_alt_size = 65536;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    g_blocked_inside = sigismember(&cur, sig);
    g_code = si->si_code;
    char here;
    g_on_altstack = &here >= g_alt && &here < g_alt + g_alt_size;
    g_hits++;
    /* clobber the SSE register the interrupted code relies on */
    __asm__ volatile("pxor %%xmm7, %%xmm7" ::: "xmm7");
}

static void install(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | flags;
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    default: return "other";
    }
}

int main(void)
{
    install(SIGUSR1, 0);
    CHECK(raise(SIGUSR1) == 0);
    say("raise: hits=%d code=%s blocked-inside=%d\n", g_hits, code_name(g_code),
        g_blocked_inside);

    CHECK(kill(getpid(), SIGUSR1) == 0);
    say("kill: hits=%d code=%s\n", g_hits, code_name(g_code));

    install(SIGUSR1, SA_NODEFER);
    CHECK(raise(SIGUSR1) == 0);
    say("nodefer: hits=%d blocked-inside=%d\n", g_hits, g_blocked_inside);

    install(SIGUSR1, SA_RESETHAND);
    CHECK(raise(SIGUSR1) == 0);
    struct sigaction now;
    CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
    say("resethand: hits=%d reset=%d\n", g_hits, now.sa_handler == SIG_DFL);

    /* a blocked signal stays pending until unblocked */
    install(SIGUSR2, 0);
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(sigpending(&pend) == 0);
    say("pending while blocked: %d hits=%d\n", sigismember(&pend, SIGUSR2), g_hits);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    say("after unblock: hits=%d\n", g_hits);

    /* sigtimedwait takes a blocked pending signal without running the handler */
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(raise(SIGUSR2) == 0);
    siginfo_t si;
    struct timespec zero = { 0, 0 };
    int got = sigtimedwait(&set, &si, &zero);
    say("sigtimedwait: %s code=%s hits=%d\n", got == SIGUSR2 ? "SIGUSR2" : "?",
        code_name(si.si_code), g_hits);
    CHECK_ERR(sigtimedwait(&set, &si, &zero), EAGAIN);
    say("sigtimedwait empty: EAGAIN\n");

    /* sigqueue carries a value */
    union sigval v = { .sival_int = 42 };
    CHECK(sigqueue(getpid(), SIGUSR2, v) == 0);
    got = sigtimedwait(&set, &si, &zero);
    say("sigqueue: code=%s value=%d\n", code_name(si.si_code), si.si_value.sival_int);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);

    /* the alternate stack */
    g_alt = mmap(NULL, g_alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    CHECK(g_alt != MAP_FAILED);
    stack_t ss = { .ss_sp = g_alt, .ss_size = g_alt_size, .ss_flags = 0 };
    CHECK(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR1, SA_ONSTACK);
    CHECK(raise(SIGUSR1) == 0);
    say("altstack: on=%d\n", g_on_altstack);
    install(SIGUSR1, 0);
    CHECK(raise(SIGUSR1) == 0);
    say("no SA_ONSTACK: on=%d\n", g_on_altstack);

    /* SSE state survives a handler that clobbers it */
    uint64_t out, pat = 0x1122334455667788ULL;
    long pid = getpid();
    __asm__ volatile("movq %[pat], %%xmm7\n\t"
                     "mov $62, %%eax\n\t"      /* kill(pid, SIGUSR1) */
                     "mov %[pid], %%rdi\n\t"
                     "mov $10, %%esi\n\t"
                     "syscall\n\t"
                     "movq %%xmm7, %[out]"
                     : [out] "=r"(out)
                     : [pat] "r"(pat), [pid] "r"(pid)
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "xmm7", "memory");
    say("xmm7 preserved: %d\n", out == pat);

    /* kill's argument checks */
    CHECK(kill(getpid(), 0) == 0);
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    CHECK_ERR(kill(99999999, SIGUSR1), ESRCH);
    say("kill checks: ok\n");
    return 0;
}
