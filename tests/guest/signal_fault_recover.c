/* Synchronous signals: SIGSEGV for unmapped and read-only memory recovered with
 * siglongjmp, with si_addr and si_code; SIGILL, SIGFPE and SIGTRAP from the CPU. */
#include "guest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static sigjmp_buf g_env;
static volatile void *g_addr;
static volatile int g_sig, g_code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    g_sig = sig;
    g_code = si->si_code;
    g_addr = si->si_addr;
    siglongjmp(g_env, 1);
}

static const char *name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGTRAP: return "SIGTRAP";
    case SIGBUS: return "SIGBUS";
    default: return "?";
    }
}

static const char *code_name(int sig, int code)
{
    if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
    if (sig == SIGFPE && code == FPE_INTDIV) return "FPE_INTDIV";
    if (sig == SIGILL && code == ILL_ILLOPN) return "ILL_ILLOPN";
    if (code == SI_KERNEL) return "SI_KERNEL";
    return "other";
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGBUS };
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);

    volatile char *unmapped = (char *)0x10000;
    if (!sigsetjmp(g_env, 1))
        (void)*unmapped;
    say("read unmapped: %s %s addr-ok=%d\n", name(g_sig), code_name(g_sig, g_code),
        g_addr == unmapped);

    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    g_sig = 0;
    if (!sigsetjmp(g_env, 1))
        *(volatile char *)(ro + 8) = 1;
    say("write read-only: %s %s addr-ok=%d\n", name(g_sig), code_name(g_sig, g_code),
        g_addr == ro + 8);

    g_sig = 0;
    if (!sigsetjmp(g_env, 1))
        __asm__ volatile("ud2");
    say("ud2: %s %s\n", name(g_sig), code_name(g_sig, g_code));

    g_sig = 0;
    if (!sigsetjmp(g_env, 1)) {
        /* idiv by a zero register: the compiler cannot fold it away */
        __asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcltd\n\tidiv %%ecx"
                         ::: "eax", "ecx", "edx");
    }
    say("divide by zero: %s %s\n", name(g_sig), code_name(g_sig, g_code));

    g_sig = 0;
    if (!sigsetjmp(g_env, 1))
        __asm__ volatile("int3");
    say("int3: %s %s\n", name(g_sig), code_name(g_sig, g_code));

    g_sig = 0;
    if (!sigsetjmp(g_env, 1))
        __asm__ volatile("hlt");
    say("hlt: %s %s\n", name(g_sig), code_name(g_sig, g_code));

    /* the mask was restored by siglongjmp each time: faults keep being delivered */
    say("recovered 6 times\n");
    return 0;
}
