/* Interval timers. See itimer.h. */
#include "sentry/kernel/itimer.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"

/* signal_process: timer k of tg expired: its signal to the process, as Linux sends it
 * (SI_KERNEL). On the timer thread. */
static void signal_process(struct thread_group *tg, int sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = SI_KERNEL;
    pthread_mutex_lock(&g_kernel.mu);
    if (!tg->exiting && !tg->zombie)
        signal_send_group(tg, sig, &si);
    pthread_mutex_unlock(&g_kernel.mu);
}

#define TG_OF(k, field) \
    ((struct thread_group *)((char *)(k) - offsetof(struct thread_group, field)))

static void real_fire(struct ktimer *k, uint64_t count)
{
    (void)count;   /* expirations while SIGALRM is pending collapse into it */
    signal_process(TG_OF(k, real_timer), SIGALRM);
}

static void virt_fire(struct ktimer *k, uint64_t count)
{
    (void)count;
    signal_process(TG_OF(k, virt_timer), SIGVTALRM);
}

static void prof_fire(struct ktimer *k, uint64_t count)
{
    (void)count;
    signal_process(TG_OF(k, prof_timer), SIGPROF);
}

void itimer_init(struct thread_group *tg)
{
    struct cpuclock virt = { CPUCLOCK_VIRT, 0, tg->tgid };
    struct cpuclock prof = { CPUCLOCK_PROF, 0, tg->tgid };
    tg->real_timer.fire = real_fire;
    tg->virt_timer.fire = virt_fire;
    tg->prof_timer.fire = prof_fire;
    ktimer_set_cpu(&tg->virt_timer, &virt);
    ktimer_set_cpu(&tg->prof_timer, &prof);
}

static struct ktimer *timer_of(struct task *t, int which)
{
    switch (which) {
    case ITIMER_REAL: return &t->tg->real_timer;
    case ITIMER_VIRTUAL: return &t->tg->virt_timer;
    case ITIMER_PROF: return &t->tg->prof_timer;
    default: return NULL;
    }
}

int itimer_set(struct task *t, int which, uint64_t value, uint64_t interval,
               uint64_t *old_value, uint64_t *old_interval)
{
    struct ktimer *k = timer_of(t, which);
    if (!k)
        return -EINVAL;
    ktimer_set(k, value, 0, interval, old_value, old_interval);
    return 0;
}

int itimer_get(struct task *t, int which, uint64_t *value, uint64_t *interval)
{
    struct ktimer *k = timer_of(t, which);
    if (!k)
        return -EINVAL;
    ktimer_get(k, value, interval);
    return 0;
}

void itimer_exit(struct thread_group *tg)
{
    ktimer_set(&tg->real_timer, 0, 0, 0, NULL, NULL);
    ktimer_set(&tg->virt_timer, 0, 0, 0, NULL, NULL);
    ktimer_set(&tg->prof_timer, 0, 0, 0, NULL, NULL);
}
