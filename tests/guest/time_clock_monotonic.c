/* Clocks and sleeps: monotonic never goes back, realtime agrees with time() and
 * gettimeofday(), sleeps last at least as long as asked. Through libc (which may use
 * the vDSO) and through raw system calls. Prints only "ok" lines: times differ. */
#include "guest.h"

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#define NSEC 1000000000LL

static int64_t ns(struct timespec ts) { return ts.tv_sec * NSEC + ts.tv_nsec; }

static int64_t now(clockid_t id)
{
    struct timespec ts;
    CHECK(clock_gettime(id, &ts) == 0);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < NSEC);
    return ns(ts);
}

static int64_t now_raw(clockid_t id)
{
    struct timespec ts;
    CHECK(syscall(SYS_clock_gettime, (long)id, &ts) == 0);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < NSEC);
    return ns(ts);
}

static void test_monotonic(void)
{
    int64_t prev = now(CLOCK_MONOTONIC);
    CHECK(prev > 0);
    for (int i = 0; i < 10000; i++) {
        int64_t t = (i % 2) ? now(CLOCK_MONOTONIC) : now_raw(CLOCK_MONOTONIC);
        CHECK(t >= prev);
        prev = t;
    }
    say("ok CLOCK_MONOTONIC never decreases over 10000 calls\n");

    int64_t b = now(CLOCK_BOOTTIME);
    CHECK(now(CLOCK_BOOTTIME) >= b);
    say("ok CLOCK_BOOTTIME\n");
}

static void test_realtime(void)
{
    int64_t rt = now(CLOCK_REALTIME);
    time_t t = time(NULL);
    time_t traw = (time_t)syscall(SYS_time, NULL);
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    int64_t rt2 = now_raw(CLOCK_REALTIME);

    CHECK(rt > 1600000000LL * NSEC); /* after September 2020 */
    /* time() may read a coarse clock that lags by up to a tick. */
    CHECK(t >= rt / NSEC - 1 && t <= rt2 / NSEC + 1);
    CHECK(traw >= rt / NSEC - 1 && traw <= rt2 / NSEC + 1);
    int64_t tv_ns = tv.tv_sec * NSEC + tv.tv_usec * 1000LL;
    CHECK(tv_ns >= rt - 1000000 && tv_ns <= rt2 + 1000000);
    CHECK(rt2 >= rt && rt2 - rt < 2 * NSEC);
    say("ok REALTIME agrees with time() and gettimeofday()\n");
}

static void test_getres(void)
{
    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_REALTIME, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_MONOTONIC, NULL) == 0);
    say("ok clock_getres\n");

    struct timespec ts;
    CHECK_ERR(syscall(SYS_clock_gettime, 12345L, &ts), EINVAL);
    CHECK_ERR(syscall(SYS_clock_getres, 12345L, &ts), EINVAL);
    CHECK_ERR(syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, (void *)1), EFAULT);
    say("ok bad clock ids EINVAL, bad pointer EFAULT\n");
}

static void test_sleep(void)
{
    int64_t t0 = now(CLOCK_MONOTONIC);
    struct timespec req = {0, 10 * 1000 * 1000}, rem = {7, 7};
    CHECK(nanosleep(&req, &rem) == 0);
    int64_t t1 = now(CLOCK_MONOTONIC);
    CHECK(t1 - t0 >= 10 * 1000 * 1000);
    CHECK(t1 - t0 < 5 * NSEC);
    say("ok nanosleep 10 ms sleeps at least 10 ms\n");

    req = (struct timespec){0, 5 * 1000 * 1000};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
    int64_t t2 = now(CLOCK_MONOTONIC);
    CHECK(t2 - t1 >= 5 * 1000 * 1000);
    say("ok clock_nanosleep relative\n");

    int64_t deadline = now(CLOCK_MONOTONIC) + 5 * 1000 * 1000;
    struct timespec abs = {deadline / NSEC, deadline % NSEC};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
    CHECK(now(CLOCK_MONOTONIC) >= deadline);
    abs = (struct timespec){0, 0}; /* long past: returns at once */
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
    say("ok clock_nanosleep TIMER_ABSTIME\n");

    req = (struct timespec){0, NSEC};
    CHECK_ERR(syscall(SYS_nanosleep, &req, NULL), EINVAL);
    req = (struct timespec){-1, 0};
    CHECK_ERR(syscall(SYS_nanosleep, &req, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_nanosleep, (void *)1, NULL), EFAULT);
    req = (struct timespec){0, 0};
    CHECK(syscall(SYS_nanosleep, &req, NULL) == 0);
    say("ok nanosleep EINVAL/EFAULT, zero sleep\n");
}

int main(void)
{
    test_monotonic();
    test_realtime();
    test_getres();
    test_sleep();
    return 0;
}
