/*
 * forkwait N — N times: fork(), the child calls _exit(0), the parent waits
 * for it with waitpid. Prints the mean microseconds per iteration as a single
 * number.
 *
 * This is process creation and reaping without exec: copying the address
 * space (copy-on-write), scheduling the child, its exit, SIGCHLD and the
 * wait. An untimed warm-up of N/10 iterations comes first. Exits 1 if any
 * fork or wait fails or a child does not exit with status 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int once(void)
{
    int st;
    pid_t pid = fork();

    if (pid < 0) {
        perror("forkwait: fork");
        return -1;
    }
    if (pid == 0)
        _exit(0);
    if (waitpid(pid, &st, 0) != pid) {
        perror("forkwait: waitpid");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "forkwait: child status %#x\n", st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;

    if (n <= 0) {
        fprintf(stderr, "usage: forkwait N   (N > 0 iterations)\n");
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

    printf("%.1f\n", (t1 - t0) / n);
    return 0;
}
