/* timerfd: relative, absolute and periodic timers read as an expiration count,
 * timerfd_gettime and the old value of timerfd_settime, non-blocking reads, a blocking
 * read interrupted by a signal (EINTR, or restarted with SA_RESTART), and the error
 * cases. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct itimerspec its_ms(long value_ms, long interval_ms)
{
    struct itimerspec its = { { interval_ms / 1000, (interval_ms % 1000) * 1000000 },
                              { value_ms / 1000, (value_ms % 1000) * 1000000 } };
    return its;
}

static double ts_s(struct timespec ts) { return ts.tv_sec + ts.tv_nsec / 1e9; }

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static uint64_t read_count(int fd)
{
    uint64_t n = 0;
    CHECK(read(fd, &n, sizeof(n)) == sizeof(n));
    return n;
}

static volatile int g_alarms;
static void on_alarm(int sig) { (void)sig; g_alarms++; }

int main(void)
{
    /* relative one-shot: a blocking read waits for it */
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(fd >= 0);
    struct itimerspec its = its_ms(30, 0), cur, old;
    double t0 = now_s();
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0);
    uint64_t n = read_count(fd);
    say("relative: count %llu after >= 25ms %d\n", (unsigned long long)n,
        now_s() - t0 >= 0.025);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    say("expired one-shot: value 0 %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* absolute on CLOCK_REALTIME */
    int rfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
    CHECK(rfd >= 0);
    say("TFD_CLOEXEC: %d\n", (fcntl(rfd, F_GETFD) & FD_CLOEXEC) != 0);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_nsec += 30000000;
    if (rt.tv_nsec >= 1000000000) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000;
    }
    struct itimerspec abs_its = { { 0, 0 }, rt };
    t0 = now_s();
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &abs_its,
                          NULL) == 0);
    n = read_count(rfd);
    say("absolute: count %llu after >= 25ms %d\n", (unsigned long long)n,
        now_s() - t0 >= 0.025);
    close(rfd);

    /* periodic: sleeping past three periods leaves at least three expirations */
    int bfd = timerfd_create(CLOCK_BOOTTIME, 0);
    CHECK(bfd >= 0);
    its = its_ms(10, 10);
    CHECK(timerfd_settime(bfd, 0, &its, NULL) == 0);
    sleep_ms(45);
    n = read_count(bfd);
    say("periodic: count >= 3 %d\n", n >= 3);
    n = read_count(bfd);
    say("periodic: next read waits for the next period, count >= 1 %d\n", n >= 1);

    /* gettime, and settime's old value */
    its = its_ms(500, 100);
    CHECK(timerfd_settime(bfd, 0, &its, &old) == 0);
    say("old value: interval %ld ms, value <= 10ms %d\n", old.it_interval.tv_nsec / 1000000,
        ts_s(old.it_value) <= 0.010);
    CHECK(timerfd_gettime(bfd, &cur) == 0);
    say("gettime: value in (0, 500ms] %d, interval %ld ms\n",
        ts_s(cur.it_value) > 0 && ts_s(cur.it_value) <= 0.5,
        cur.it_interval.tv_nsec / 1000000);
    struct itimerspec zero = its_ms(0, 0);
    CHECK(timerfd_settime(bfd, 0, &zero, &old) == 0);
    CHECK(timerfd_gettime(bfd, &cur) == 0);
    say("disarmed: %d, old value was armed %d\n",
        cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 && cur.it_interval.tv_nsec == 0,
        ts_s(old.it_value) > 0);

    /* non-blocking: EAGAIN until it expires; a new setting clears the count */
    int nfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(nfd >= 0);
    uint64_t v;
    CHECK_ERR(read(nfd, &v, sizeof(v)), EAGAIN);
    its = its_ms(5, 0);
    CHECK(timerfd_settime(nfd, 0, &its, NULL) == 0);
    CHECK_ERR(read(nfd, &v, sizeof(v)), EAGAIN);
    sleep_ms(20);
    CHECK(read(nfd, &v, sizeof(v)) == sizeof(v));
    say("non-blocking: EAGAIN, then count %llu\n", (unsigned long long)v);
    CHECK(timerfd_settime(nfd, 0, &its, NULL) == 0);
    sleep_ms(20);
    its = its_ms(1000, 0);
    CHECK(timerfd_settime(nfd, 0, &its, NULL) == 0);
    CHECK_ERR(read(nfd, &v, sizeof(v)), EAGAIN);
    say("settime clears the count: EAGAIN\n");
    /* O_NONBLOCK set later through fcntl counts too */
    CHECK(fcntl(bfd, F_SETFL, O_NONBLOCK) == 0);
    CHECK_ERR(read(bfd, &v, sizeof(v)), EAGAIN);
    CHECK(fcntl(bfd, F_SETFL, 0) == 0);

    /* a blocking read and a signal: EINTR without SA_RESTART, restarted with it */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval al = { { 0, 0 }, { 0, 20000 } };
    CHECK(setitimer(ITIMER_REAL, &al, NULL) == 0);
    CHECK_ERR(read(bfd, &v, sizeof(v)), EINTR);
    say("blocking read, handler without SA_RESTART: EINTR (alarms %d)\n", g_alarms);
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    its = its_ms(80, 0);
    CHECK(timerfd_settime(bfd, 0, &its, NULL) == 0);
    CHECK(setitimer(ITIMER_REAL, &al, NULL) == 0);
    n = read_count(bfd);
    say("with SA_RESTART: the read resumes, count %llu (alarms %d)\n",
        (unsigned long long)n, g_alarms);

    /* errors */
    uint32_t small;
    CHECK_ERR(read(fd, &small, sizeof(small)), EINVAL);
    CHECK_ERR(write(fd, &v, sizeof(v)), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL);
    CHECK_ERR(timerfd_settime(fd, 0x4, &its, NULL), EINVAL);
    struct itimerspec bad = { { 0, 0 }, { 0, 1000000000 } };
    CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(fd, 0, (struct itimerspec *)8, NULL), EFAULT);
    CHECK_ERR(timerfd_gettime(fd, (struct itimerspec *)8), EFAULT);
    CHECK_ERR(timerfd_settime(1000, 0, &its, NULL), EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_ERR(timerfd_settime(p[0], 0, &its, NULL), EINVAL);
    CHECK_ERR(timerfd_gettime(p[0], &cur), EINVAL);
    say("errors: short read EINVAL, write EINVAL, bad clock/flags EINVAL, bad time "
        "EINVAL, EFAULT, EBADF, not a timerfd EINVAL\n");

    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    say("fstat: mode %o\n", (unsigned)st.st_mode);
    say("lseek: %ld\n", (long)lseek(fd, 0, SEEK_SET));
    return 0;
}
