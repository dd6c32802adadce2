/* Forwarding host signals to the guest (see hostsig.h). */
#include "sentry/kernel/hostsig.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "lib/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal.h"
#include "sentry/kernel/task.h"

/* The terminal's signals go to the foreground process group; the rest to pid 1. */
static const int g_terminal_signals[] = { SIGINT, SIGQUIT, SIGWINCH };
static const int g_init_signals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };

static void forwarded_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(g_terminal_signals) / sizeof(int); i++)
        sigaddset(set, g_terminal_signals[i]);
    for (size_t i = 0; i < sizeof(g_init_signals) / sizeof(int); i++)
        sigaddset(set, g_init_signals[i]);
}

void hostsig_block(void)
{
    sigset_t set;
    forwarded_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int is_terminal_signal(int sig)
{
    for (size_t i = 0; i < sizeof(g_terminal_signals) / sizeof(int); i++)
        if (g_terminal_signals[i] == sig)
            return 1;
    return 0;
}

/* deliver: sig from the host (SI_KERNEL for the terminal's, SI_USER from pid 0
 * otherwise: the sender is outside the sandbox's pid namespace). */
static void deliver(int sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = is_terminal_signal(sig) ? SI_KERNEL : SI_USER;
    pthread_mutex_lock(&g_kernel.mu);
    struct task *init = g_kernel.init;
    if (init && !init->tg->zombie) {
        if (is_terminal_signal(sig))
            signal_send_pgrp(init->tg->pgid, sig, &si);
        else
            signal_send_group(init->tg, sig, &si);
    }
    pthread_mutex_unlock(&g_kernel.mu);
}

static void *forwarder(void *arg)
{
    (void)arg;
    sigset_t set;
    forwarded_set(&set);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;  /* EINTR */
        log_info("host signal %d (%s) for the guest", sig, strsignal(sig));
        deliver(sig);
    }
    return NULL;
}

int hostsig_start(void)
{
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&th, &attr, forwarder, NULL);
    pthread_attr_destroy(&attr);
    if (r) {
        log_err("cannot start the host signal thread: %s", strerror(r));
        return -r;
    }
    return 0;
}
