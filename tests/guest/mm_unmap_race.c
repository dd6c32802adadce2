/* No stale translation after munmap or mprotect returns, while another thread keeps
 * using the page: the reader thread reads the page in a loop (its translation warm on
 * whatever CPU or vCPU it runs on), the main thread removes access, then lets the
 * reader read once more: that read must fault, every time. */
#include "guest.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 30

static volatile char *g_page;
static volatile int g_phase;     /* 0: warm the translation, 1: read once more, 2: done */
static volatile int g_warm, g_faulted, g_stale;
static __thread sigjmp_buf t_jmp;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(t_jmp, 1);
}

static void *reader(void *arg)
{
    (void)arg;
    for (int round = 0; round < ROUNDS; round++) {
        while (g_phase != 0)
            ;
        if (sigsetjmp(t_jmp, 1) == 0) {
            while (g_phase == 0) {
                (void)g_page[0];
                g_warm = 1;
            }
            (void)g_page[0];
            g_stale++;
        } else {
            /* the fault may come inside the warm-up loop already, if the removal
             * got there first: wait for the main thread's phase 1 either way */
            g_faulted++;
            while (g_phase != 1)
                ;
        }
        g_phase = 2;
    }
    return NULL;
}

static void run(const char *what, int use_mprotect)
{
    g_faulted = g_stale = 0;
    g_phase = 2;
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    for (int round = 0; round < ROUNDS; round++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        g_page = p;
        g_warm = 0;
        g_phase = 0;
        while (!g_warm)
            ;
        if (use_mprotect)
            mprotect(p, 4096, PROT_NONE);
        else
            munmap(p, 4096);
        g_phase = 1;
        while (g_phase != 2)
            ;
        if (use_mprotect)
            munmap(p, 4096);
    }
    pthread_join(t, NULL);
    printf("%s: %d rounds, %d faulted, %d read a removed page\n", what, ROUNDS, g_faulted,
           g_stale);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    run("munmap", 0);
    run("mprotect", 1);
    return 0;
}
