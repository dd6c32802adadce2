/* A stack overflow is a SIGSEGV whose handler can only run on an alternate stack
 * (sigaltstack + SA_ONSTACK); the handler escapes with siglongjmp, and the main stack
 * works again afterwards. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "guest.h"

static sigjmp_buf g_back;
static volatile int g_on_alt;
static char *g_alt;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)si; (void)uc;
    char here;
    g_on_alt = &here >= g_alt && &here < g_alt + SIGSTKSZ * 4;
    siglongjmp(g_back, sig);
}

/* recurse: eats stack until it runs out (the volatile buffer keeps frames real) */
static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    if (n < 0)
        return 0;   /* never: the stack runs out first */
    return recurse(n + 1) + pad[0];
}

int main(void)
{
    /* a small stack limit, so the overflow comes quickly and the same everywhere */
    struct rlimit rl = { 1 << 20, 1 << 20 };
    setrlimit(RLIMIT_STACK, &rl);
    g_alt = malloc(SIGSTKSZ * 4);
    stack_t ss = { .ss_sp = g_alt, .ss_size = SIGSTKSZ * 4, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) < 0) {
        printf("FAIL sigaltstack\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    for (int round = 0; round < 2; round++) {
        int sig = sigsetjmp(g_back, 1);
        if (sig == 0) {
            recurse(0);
            printf("FAIL no overflow\n");
            return 1;
        }
        printf("round %d: caught %s on the alternate stack: %s\n", round,
               sig == SIGSEGV ? "SIGSEGV" : "?", g_on_alt ? "yes" : "no");
    }
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("alternate stack still set, not in use: %s\n",
           !(cur.ss_flags & SS_DISABLE) && !(cur.ss_flags & SS_ONSTACK) ? "yes" : "no");
    return 0;
}
