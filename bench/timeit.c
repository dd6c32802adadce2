/*
 * timeit K CMD [ARGS...] — run CMD K times, one after another, and print the
 * median wall-clock time of one run in milliseconds.
 *
 * Each run is timed from just before fork to just after waitpid, so neither
 * a shell nor the timer's own start-up is counted. One untimed run first
 * warms the page cache. stdin and stdout are /dev/null; stderr is passed on.
 * Exits 1 if any run fails (non-zero status or a signal), so the caller can
 * report the row as unavailable rather than print a misleading number.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run argv once; return its wall time in ms, or -1 if it failed. */
static double run_once(char **argv)
{
    double t0 = now_ms();
    pid_t pid = fork();

    if (pid < 0) {
        perror("timeit: fork");
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
        }
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }

    int st;
    if (waitpid(pid, &st, 0) < 0) {
        perror("timeit: waitpid");
        return -1;
    }
    double t1 = now_ms();

    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "timeit: %s failed (status %#x)\n", argv[0], st);
        return -1;
    }
    return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int k = argc > 2 ? atoi(argv[1]) : 0;

    if (k <= 0) {
        fprintf(stderr, "usage: timeit K CMD [ARGS...]\n");
        return 2;
    }
    double *t = calloc(k, sizeof *t);
    if (!t)
        return 1;

    if (run_once(argv + 2) < 0)
        return 1;
    for (int i = 0; i < k; i++)
        if ((t[i] = run_once(argv + 2)) < 0)
            return 1;

    qsort(t, k, sizeof *t, cmp_double);
    double median = k % 2 ? t[k / 2] : (t[k / 2 - 1] + t[k / 2]) / 2;
    printf("%.2f\n", median);
    return 0;
}
