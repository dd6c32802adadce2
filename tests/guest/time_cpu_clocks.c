/* CPU time: the process and thread CPU clocks advance while the program computes,
 * getrusage/times report it, a reaped child's time shows in RUSAGE_CHILDREN, times'
 * cutime and wait4's rusage, clock_getcpuclockid/pthread_getcpuclockid name other
 * processes' and threads' clocks, clock_nanosleep waits on a CPU clock, and
 * ITIMER_VIRTUAL/ITIMER_PROF fire from CPU time. Times are compared with generous
 * bounds and only the verdicts are printed. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

static volatile uint64_t g_sink;
static volatile int g_vtalrm, g_prof, g_stop;

static double clock_s(clockid_t c)
{
    struct timespec ts;
    CHECK(clock_gettime(c, &ts) == 0);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

/* spin: about a millisecond of arithmetic, no system calls. */
static void spin(void)
{
    for (int i = 0; i < 200000; i++)
        g_sink += (uint64_t)i * (uint64_t)i;
}

/* burn: computes until clock c has advanced by secs (or 30 s of wall time passed). */
static void burn(clockid_t c, double secs)
{
    double start = clock_s(c), wall = clock_s(CLOCK_MONOTONIC);
    while (clock_s(c) - start < secs && clock_s(CLOCK_MONOTONIC) - wall < 30)
        spin();
}

/* burn_until: computes until *flag is set (or 30 s of wall time passed). */
static void burn_until(volatile int *flag, int value)
{
    double wall = clock_s(CLOCK_MONOTONIC);
    while (*flag < value && clock_s(CLOCK_MONOTONIC) - wall < 30)
        spin();
}

static void on_vtalrm(int sig) { (void)sig; g_vtalrm++; }
static void on_prof(int sig) { (void)sig; g_prof++; }

struct burner { clockid_t clock; volatile int ready, read_done; };

static void *burner_main(void *arg)
{
    struct burner *b = arg;
    CHECK(pthread_getcpuclockid(pthread_self(), &b->clock) == 0);
    burn(CLOCK_THREAD_CPUTIME_ID, 0.1);
    b->ready = 1;
    while (!b->read_done)
        usleep(1000);
    return NULL;
}

static void *spinner_main(void *arg)
{
    (void)arg;
    burn_until(&g_stop, 1);
    return NULL;
}

int main(void)
{
    struct timespec res;
    CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0);
    say("process clock resolution <= 1ms: %d\n", res.tv_sec == 0 && res.tv_nsec > 0 &&
        res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &res) == 0);

    /* this process computes for 200 ms of its CPU time */
    double p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), th0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    double w0 = clock_s(CLOCK_MONOTONIC);
    struct tms tm0;
    clock_t ticks0 = times(&tm0);
    burn(CLOCK_PROCESS_CPUTIME_ID, 0.2);
    double pd = clock_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
    double thd = clock_s(CLOCK_THREAD_CPUTIME_ID) - th0;
    double wd = clock_s(CLOCK_MONOTONIC) - w0;
    say("process clock advanced >= 200ms: %d\n", pd >= 0.2);
    say("thread clock advanced >= 150ms: %d\n", thd >= 0.15);
    say("cpu time <= wall time: %d\n", pd <= wd + 0.05);

    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    say("RUSAGE_SELF utime >= 100ms: %d, utime+stime >= 150ms: %d, maxrss > 0: %d\n",
        tv_s(ru.ru_utime) >= 0.1, tv_s(ru.ru_utime) + tv_s(ru.ru_stime) >= 0.15,
        ru.ru_maxrss > 0);
    CHECK(getrusage(RUSAGE_THREAD, &ru) == 0);
    say("RUSAGE_THREAD utime >= 100ms: %d\n", tv_s(ru.ru_utime) >= 0.1);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    say("RUSAGE_CHILDREN before any child: %d\n",
        tv_s(ru.ru_utime) + tv_s(ru.ru_stime) == 0);
    CHECK_ERR(getrusage(12345, &ru), EINVAL);
    say("getrusage(12345): EINVAL\n");

    struct tms tm1;
    clock_t ticks1 = times(&tm1);
    long hz = sysconf(_SC_CLK_TCK);
    say("times: utime+stime >= 15 ticks: %d, elapsed >= 15 ticks: %d, hz=%ld\n",
        (tm1.tms_utime + tm1.tms_stime) - (tm0.tms_utime + tm0.tms_stime) >= 15,
        ticks1 - ticks0 >= 15, hz);

    /* the process's clock through clock_getcpuclockid, the thread's through
     * pthread_getcpuclockid */
    clockid_t pc, tc;
    CHECK(clock_getcpuclockid(getpid(), &pc) == 0);
    CHECK(pthread_getcpuclockid(pthread_self(), &tc) == 0);
    say("own clocks by id >= 200ms: %d %d\n", clock_s(pc) >= 0.2, clock_s(tc) >= 0.15);

    /* another thread's clock, read while it lives */
    struct burner b = { 0, 0, 0 };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, burner_main, &b) == 0);
    while (!b.ready)
        usleep(1000);
    say("other thread's clock >= 100ms: %d\n", clock_s(b.clock) >= 0.1);
    b.read_done = 1;
    CHECK(pthread_join(th, NULL) == 0);
    say("process clock includes the exited thread: %d\n",
        clock_s(CLOCK_PROCESS_CPUTIME_ID) - p0 >= 0.3);

    /* a thread cannot sleep on its own clock; CLOCK_THREAD_CPUTIME_ID cannot sleep */
    struct timespec ms = { 0, 1000000 };
    errno = 0;
    long r = syscall(SYS_clock_nanosleep, tc, 0, &ms, NULL);
    say("clock_nanosleep(own thread clock): %ld %s\n", r, errno_name(errno));
    errno = 0;
    r = syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &ms, NULL);
    say("clock_nanosleep(CLOCK_THREAD_CPUTIME_ID): %ld %s\n", r,
        errno == EOPNOTSUPP ? "EOPNOTSUPP" : errno_name(errno));

    /* sleeping on the process clock while another thread computes */
    g_stop = 0;
    CHECK(pthread_create(&th, NULL, spinner_main, NULL) == 0);
    double before = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec cpu100 = { 0, 100000000 };
    int sr = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &cpu100, NULL);
    double slept = clock_s(CLOCK_PROCESS_CPUTIME_ID) - before;
    g_stop = 1;
    CHECK(pthread_join(th, NULL) == 0);
    say("clock_nanosleep(process clock, 100ms): %d, advanced >= 100ms: %d\n", sr,
        slept >= 0.1);

    /* a child computes 200 ms; its time shows once it has been reaped */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        burn(CLOCK_PROCESS_CPUTIME_ID, 0.2);
        _exit(0);
    }
    clockid_t cc;
    CHECK(clock_getcpuclockid(pid, &cc) == 0);
    struct timespec cts;
    say("child's clock readable: %d\n", clock_gettime(cc, &cts) == 0);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    say("RUSAGE_CHILDREN before the reap: %d\n", tv_s(ru.ru_utime) + tv_s(ru.ru_stime) == 0);
    int st;
    struct rusage cru;
    CHECK(wait4(pid, &st, 0, &cru) == pid);
    /* (a small child's ru_maxrss can be 0 on Linux: its counters are per CPU) */
    say("wait4 rusage of the child >= 150ms: %d\n",
        tv_s(cru.ru_utime) + tv_s(cru.ru_stime) >= 0.15);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    say("RUSAGE_CHILDREN after the reap >= 150ms: %d, utime >= 100ms: %d\n",
        tv_s(ru.ru_utime) + tv_s(ru.ru_stime) >= 0.15, tv_s(ru.ru_utime) >= 0.1);
    struct tms tm2;
    times(&tm2);
    say("times cutime+cstime >= 15 ticks: %d\n", tm2.tms_cutime + tm2.tms_cstime >= 15);
    say("reaped child's clock: %s\n", clock_getcpuclockid(pid, &cc) == ESRCH ? "ESRCH"
                                                                            : "found");

    /* ITIMER_VIRTUAL: user time */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_vtalrm;
    CHECK(sigaction(SIGVTALRM, &sa, NULL) == 0);
    sa.sa_handler = on_prof;
    CHECK(sigaction(SIGPROF, &sa, NULL) == 0);
    struct itimerval it = { { 0, 0 }, { 0, 50000 } }, cur;
    CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
    /* Linux adds a scheduler tick to a CPU timer's first expiry: allow 10 ms */
    say("ITIMER_VIRTUAL armed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
        cur.it_value.tv_usec <= 60000);
    burn_until(&g_vtalrm, 1);
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
    say("SIGVTALRM: %d, disarmed after: %d\n", g_vtalrm,
        cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

    /* ITIMER_PROF: user + system time, periodic */
    struct itimerval rep = { { 0, 20000 }, { 0, 20000 } }, zero = { { 0, 0 }, { 0, 0 } };
    struct itimerval prev;
    CHECK(setitimer(ITIMER_PROF, &rep, NULL) == 0);
    burn_until(&g_prof, 3);
    CHECK(setitimer(ITIMER_PROF, &zero, &prev) == 0);
    say("SIGPROF >= 3: %d, old interval %ld us\n", g_prof >= 3, (long)prev.it_interval.tv_usec);
    return 0;
}
