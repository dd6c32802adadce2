/* ITIMER_REAL and alarm: SIGALRM arrives after the time set, an interval timer
 * repeats, getitimer counts down, alarm returns what was left, and disarming works. */
#include "guest.h"

#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile int g_alarms;

static void on_alarm(int sig) { (void)sig; g_alarms++; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);

    /* one shot, 50 ms */
    struct itimerval it = { { 0, 0 }, { 0, 50000 } }, cur;
    double t0 = now();
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    say("armed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
                       cur.it_value.tv_usec <= 50000);
    while (g_alarms == 0)
        sigsuspend(&old);
    say("one shot: alarms=%d waited-enough=%d\n", g_alarms, now() - t0 >= 0.045);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    say("disarmed after firing: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

    /* interval, 20 ms, three times */
    g_alarms = 0;
    struct itimerval rep = { { 0, 20000 }, { 0, 20000 } };
    CHECK(setitimer(ITIMER_REAL, &rep, NULL) == 0);
    while (g_alarms < 3)
        sigsuspend(&old);
    struct itimerval zero = { { 0, 0 }, { 0, 0 } }, prev;
    CHECK(setitimer(ITIMER_REAL, &zero, &prev) == 0);
    say("interval: alarms>=3 %d, old interval %ld us\n", g_alarms >= 3,
        (long)prev.it_interval.tv_usec);

    /* alarm returns the seconds left of the previous one */
    CHECK(alarm(5) == 0);
    say("alarm(0) after alarm(5): %u\n", alarm(0));
    CHECK_ERR(setitimer(12345, &it, NULL), EINVAL);
    say("bad which: EINVAL\n");
    return 0;
}
