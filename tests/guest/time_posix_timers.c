/* POSIX timers through the raw system calls (so glibc's and musl's timer_t do not
 * matter): a periodic SIGEV_SIGNAL timer and its siginfo, overruns counted while the
 * signal is blocked, SIGEV_THREAD_ID to one thread, SIGEV_NONE counting down, the
 * default notification (NULL sigevent), absolute times, CPU-clock timers, deletion,
 * the error cases, and that exec deletes timers. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

// runs: | after-exec

#define SIGEV_THREAD_ID_ 4

/* The kernel's struct sigevent. */
struct ksigevent {
    union sigval value;
    int signo;
    int notify;
    int tid;
    int pad[11];
};

static long tcreate(clockid_t c, const struct ksigevent *ev, int *id)
{
    return syscall(SYS_timer_create, c, ev, id);
}

static long tset(int id, int flags, const struct itimerspec *n, struct itimerspec *o)
{
    return syscall(SYS_timer_settime, id, flags, n, o);
}

static long tget(int id, struct itimerspec *cur)
{
    return syscall(SYS_timer_gettime, id, cur);
}

static long tdelete(int id) { return syscall(SYS_timer_delete, id); }
static long toverrun(int id) { return syscall(SYS_timer_getoverrun, id); }

static struct ksigevent ev_signal(int sig, int value)
{
    struct ksigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.notify = SIGEV_SIGNAL;
    ev.signo = sig;
    ev.value.sival_int = value;
    return ev;
}

static struct itimerspec its_ms(long value_ms, long interval_ms)
{
    struct itimerspec its = { { interval_ms / 1000, (interval_ms % 1000) * 1000000 },
                              { value_ms / 1000, (value_ms % 1000) * 1000000 } };
    return its;
}

/* si_timerid, read the way the kernel lays it out (libcs name and type it
 * differently). */
static int timerid_of(const siginfo_t *si)
{
    int id;
    memcpy(&id, (const char *)si + 16, sizeof(id));
    return id;
}

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double ts_s(struct timespec ts) { return ts.tv_sec + ts.tv_nsec / 1e9; }

static volatile int g_count;
static volatile int g_code, g_value, g_timerid, g_overrun;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    g_count++;
    g_code = si->si_code;
    g_value = si->si_value.sival_int;
    g_timerid = timerid_of(si);
    g_overrun = si->si_overrun;
}

static sigset_t set_of(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

/* SIGEV_THREAD_ID: the thread waits for SIGUSR2 (blocked everywhere); the timer
 * targets it by tid. */
struct target { volatile pid_t tid; volatile int got, code; };

static void *target_main(void *arg)
{
    struct target *tg = arg;
    tg->tid = (pid_t)syscall(SYS_gettid);
    sigset_t s = set_of(SIGUSR2);
    siginfo_t si;
    int sig = sigwaitinfo(&s, &si);
    tg->got = sig;
    tg->code = si.si_code;
    return NULL;
}

static void after_exec(int id)
{
    struct itimerspec cur;
    CHECK_ERR(tget(id, &cur), EINVAL);
    say("after exec: the timer is gone (EINVAL)\n");
}

static volatile uint64_t g_sink;

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exec-child") == 0) {
        after_exec(atoi(argv[2]));
        return 0;
    }
    int exec_case = argc == 2 && strcmp(argv[1], "after-exec") == 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t usr1 = set_of(SIGUSR1), old;
    CHECK(sigprocmask(SIG_BLOCK, &usr1, &old) == 0);

    if (exec_case) {
        /* a timer made before execve does not exist after it */
        struct ksigevent ev = ev_signal(SIGUSR1, 1);
        int id;
        CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0);
        struct itimerspec its = its_ms(10000, 0);
        CHECK(tset(id, 0, &its, NULL) == 0);
        char idbuf[16];
        snprintf(idbuf, sizeof(idbuf), "%d", id);
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "exec-child", idbuf, (char *)NULL);
        CHECK(!"execl");
    }

    /* 1. periodic SIGEV_SIGNAL: five expiries, each with the timer's siginfo */
    struct ksigevent ev = ev_signal(SIGUSR1, 42);
    int id;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0);
    struct itimerspec its = its_ms(10, 10), oldits, cur;
    CHECK(tset(id, 0, &its, NULL) == 0);
    while (g_count < 5)
        sigsuspend(&old);
    struct itimerspec zero = its_ms(0, 0);
    CHECK(tset(id, 0, &zero, &oldits) == 0);
    say("periodic: expiries>=5 %d code=%s value=%d timerid-match=%d overrun>=0 %d\n",
        g_count >= 5, g_code == SI_TIMER ? "SI_TIMER" : "?", g_value, g_timerid == id,
        g_overrun >= 0);
    say("old setting: interval %ld ms, value <= 10 ms %d\n",
        oldits.it_interval.tv_nsec / 1000000,
        oldits.it_value.tv_sec == 0 && oldits.it_value.tv_nsec <= 10000000);
    CHECK(tget(id, &cur) == 0);
    say("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* 2. overruns while the signal is blocked and pending */
    sigset_t usr2 = set_of(SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &usr2, NULL) == 0);
    struct ksigevent ev2 = ev_signal(SIGUSR2, 7);
    int id2;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev2, &id2) == 0);
    its = its_ms(5, 5);
    CHECK(tset(id2, 0, &its, NULL) == 0);
    struct timespec nap = { 0, 80000000 };
    while (nanosleep(&nap, &nap) != 0)
        ;
    siginfo_t si;
    CHECK(sigwaitinfo(&usr2, &si) == SIGUSR2);
    int ov = (int)toverrun(id2);
    say("blocked: one signal, si_overrun > 0: %d, getoverrun matches: %d, value %d\n",
        si.si_overrun > 0, ov == si.si_overrun, si.si_value.sival_int);
    CHECK(tdelete(id2) == 0);
    /* a signal the deleted timer may have queued since is not looked at */
    struct timespec none = { 0, 0 };
    sigtimedwait(&usr2, &si, &none);

    /* 3. SIGEV_THREAD_ID: to one thread of the process */
    struct target tg = { 0, 0, 0 };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, target_main, &tg) == 0);
    while (!tg.tid)
        usleep(1000);
    struct ksigevent ev3 = ev_signal(SIGUSR2, 3);
    ev3.notify = SIGEV_THREAD_ID_;
    ev3.tid = tg.tid;
    int id3;
    CHECK(tcreate(CLOCK_MONOTONIC, &ev3, &id3) == 0);
    its = its_ms(20, 0);
    CHECK(tset(id3, 0, &its, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    say("SIGEV_THREAD_ID: the thread got %s with %s\n", tg.got == SIGUSR2 ? "SIGUSR2" : "?",
        tg.code == SI_TIMER ? "SI_TIMER" : "?");
    CHECK(tdelete(id3) == 0);
    /* a thread of another process is no target */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    ev3.tid = child;
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, &ev3, &id3), EINVAL);
    say("SIGEV_THREAD_ID to another process's thread: EINVAL\n");
    kill(child, SIGKILL);
    CHECK(waitpid(child, NULL, 0) == child);

    /* 4. SIGEV_NONE: nothing is sent; timer_gettime counts down */
    struct ksigevent evn;
    memset(&evn, 0, sizeof(evn));
    evn.notify = SIGEV_NONE;
    int idn;
    CHECK(tcreate(CLOCK_MONOTONIC, &evn, &idn) == 0);
    its = its_ms(500, 0);
    CHECK(tset(idn, 0, &its, NULL) == 0);
    struct itimerspec a, b;
    CHECK(tget(idn, &a) == 0);
    usleep(30000);
    CHECK(tget(idn, &b) == 0);
    say("SIGEV_NONE: counts down %d, within 500ms %d\n", ts_s(b.it_value) < ts_s(a.it_value),
        ts_s(a.it_value) <= 0.5 && ts_s(b.it_value) > 0);
    its = its_ms(1, 0);
    CHECK(tset(idn, 0, &its, NULL) == 0);
    usleep(20000);
    CHECK(tget(idn, &b) == 0);
    say("SIGEV_NONE expired: value 0 %d\n", b.it_value.tv_sec == 0 && b.it_value.tv_nsec == 0);
    CHECK(tdelete(idn) == 0);

    /* 5. no sigevent: SIGALRM to the process with the timer id as si_value */
    sigset_t alrm = set_of(SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &alrm, NULL) == 0);
    int idd;
    CHECK(tcreate(CLOCK_REALTIME, NULL, &idd) == 0);
    its = its_ms(10, 0);
    CHECK(tset(idd, 0, &its, NULL) == 0);
    CHECK(sigwaitinfo(&alrm, &si) == SIGALRM);
    say("NULL sigevent: SIGALRM, si_value is the id %d, code %s\n",
        si.si_value.sival_int == idd, si.si_code == SI_TIMER ? "SI_TIMER" : "?");
    CHECK(tdelete(idd) == 0);

    /* 6. absolute times on CLOCK_REALTIME, and one in the past */
    int ida;
    struct ksigevent eva = ev_signal(SIGALRM, 9);
    CHECK(tcreate(CLOCK_REALTIME, &eva, &ida) == 0);
    double t0 = now_s(CLOCK_MONOTONIC);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_nsec += 30000000;
    if (rt.tv_nsec >= 1000000000) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000;
    }
    struct itimerspec abs_its = { { 0, 0 }, rt };
    CHECK(tset(ida, TIMER_ABSTIME, &abs_its, NULL) == 0);
    CHECK(sigwaitinfo(&alrm, &si) == SIGALRM);
    say("TIMER_ABSTIME: waited >= 25ms %d\n", now_s(CLOCK_MONOTONIC) - t0 >= 0.025);
    struct itimerspec past = { { 0, 0 }, { 1, 0 } };
    t0 = now_s(CLOCK_MONOTONIC);
    CHECK(tset(ida, TIMER_ABSTIME, &past, NULL) == 0);
    CHECK(sigwaitinfo(&alrm, &si) == SIGALRM);
    say("TIMER_ABSTIME in the past: at once %d\n", now_s(CLOCK_MONOTONIC) - t0 < 1.0);
    CHECK(tdelete(ida) == 0);

    /* 7. CPU clocks: the timer follows the process's and the thread's CPU time */
    clockid_t cpu_clocks[2] = { CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };
    for (int i = 0; i < 2; i++) {
        int idc;
        struct ksigevent evc = ev_signal(SIGUSR1, 100 + i);
        CHECK(tcreate(cpu_clocks[i], &evc, &idc) == 0);
        its = its_ms(50, 0);
        double c0 = now_s(cpu_clocks[i]);
        g_count = 0;
        CHECK(tset(idc, 0, &its, NULL) == 0);
        CHECK(sigprocmask(SIG_UNBLOCK, &usr1, NULL) == 0);
        double w0 = now_s(CLOCK_MONOTONIC);
        while (g_count == 0 && now_s(CLOCK_MONOTONIC) - w0 < 30)
            for (int k = 0; k < 100000; k++)
                g_sink += (uint64_t)k * (uint64_t)k;
        CHECK(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0);
        say("%s timer: fired %d after >= 45ms of it %d, value %d\n",
            i ? "thread CPU" : "process CPU", g_count, now_s(cpu_clocks[i]) - c0 >= 0.045,
            g_value);
        CHECK(tdelete(idc) == 0);
    }

    /* 8. errors */
    int idx;
    struct ksigevent bad = ev_signal(SIGUSR1, 0);
    CHECK_ERR(tcreate(99, &bad, &idx), EINVAL);
    CHECK_ERR(tcreate(CLOCK_MONOTONIC_RAW, &bad, &idx), EOPNOTSUPP);
    bad.signo = 0;
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, &bad, &idx), EINVAL);
    bad.signo = 65;
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, &bad, &idx), EINVAL);
    bad.signo = SIGUSR1;
    bad.notify = 7;
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, &bad, &idx), EINVAL);
    bad.notify = SIGEV_SIGNAL;
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, &bad, (int *)8), EFAULT);
    CHECK_ERR(tcreate(CLOCK_MONOTONIC, (struct ksigevent *)8, &idx), EFAULT);
    CHECK(tcreate(CLOCK_MONOTONIC, &bad, &idx) == 0);
    CHECK_ERR(tset(idx, 0, NULL, NULL), EINVAL);
    struct itimerspec badns = { { 0, 0 }, { 0, 1000000000 } };
    CHECK_ERR(tset(idx, 0, &badns, NULL), EINVAL);
    struct itimerspec neg = { { 0, -1 }, { 1, 0 } };
    CHECK_ERR(tset(idx, 0, &neg, NULL), EINVAL);
    CHECK_ERR(tget(idx, (struct itimerspec *)8), EFAULT);
    CHECK(tdelete(idx) == 0);
    CHECK_ERR(tdelete(idx), EINVAL);
    CHECK_ERR(tget(idx, &cur), EINVAL);
    CHECK_ERR(tset(idx, 0, &its, NULL), EINVAL);
    CHECK_ERR(toverrun(idx), EINVAL);
    CHECK_ERR(tget(-1, &cur), EINVAL);
    say("errors: bad clock EINVAL, MONOTONIC_RAW EOPNOTSUPP, signal 0/65 EINVAL, "
        "notify EINVAL, EFAULTs, bad times EINVAL, deleted id EINVAL\n");
    CHECK(tdelete(id) == 0);
    return 0;
}
