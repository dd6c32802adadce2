/* The timing loop shared by the per-iteration benchmarks: N/10 untimed warm-up
 * iterations, then N timed ones; prints the mean microseconds per iteration. */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* bench_loop: runs once() as described above; once returns < 0 on failure. Returns
 * main's exit status. */
static inline int bench_loop(int argc, char **argv, const char *name, int (*once)(void))
{
    long n = argc > 1 ? atol(argv[1]) : 1000;

    if (n <= 0) {
        fprintf(stderr, "usage: %s N   (N > 0 iterations)\n", name);
        return 2;
    }
    for (long i = 0; i < n / 10 + 1; i++)
        if (once() < 0)
            return 1;
    double t0 = now_us();
    for (long i = 0; i < n; i++)
        if (once() < 0)
            return 1;
    double t1 = now_us();
    printf("%.2f\n", (t1 - t0) / n);
    return 0;
}

#endif
