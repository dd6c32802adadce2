/*
 * getppid N — run N raw getppid system calls and print the mean cost of one,
 * in nanoseconds, as a single number.
 *
 * getppid does almost no work in any kernel, so the figure is the price of the
 * trap round trip itself: native syscall entry/exit, or a ptrace platform's
 * stop, switch to the tracer, emulation and resume. syscall(2) is used so libc
 * can neither cache the result nor route it through the vDSO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;

    if (n <= 0) {
        fprintf(stderr, "usage: getppid N   (N > 0 syscalls)\n");
        return 2;
    }

    /* Warm up, untimed: fault in the code and stack, and let a sandbox
     * settle (schedule its tracer next to us) before the clock starts. */
    for (long i = 0; i < n / 10 + 10; i++)
        syscall(SYS_getppid);

    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    double t1 = now_ns();

    printf("%.1f\n", (t1 - t0) / n);
    return 0;
}
