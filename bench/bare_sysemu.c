/*
 * bare_sysemu [N] [nopin] — the floor for any PTRACE_SYSEMU-based sandbox.
 *
 * A traced child spins on raw getppid syscalls. For each one the parent does
 * what every ptrace platform must do at minimum:
 *
 *   PTRACE_SYSEMU (resume; stop at the next syscall entry and skip it)
 *   waitpid       (the stop)
 *   PTRACE_GETREGS, set rax to the result, PTRACE_SETREGS
 *
 * and reports the mean ns per round trip. A second figure leaves out the
 * register transfer (SYSEMU + waitpid only), i.e. just the two context
 * switches and the ptrace stop/resume.
 *
 * Output, two lines:
 *   sysemu+regs <ns>
 *   sysemu <ns>
 *
 * Parent and child are pinned to the CPU the parent starts on: a same-CPU
 * switch costs ~2 us on the bench VM, a cross-CPU wake-up 30 us or more, and
 * a sandbox is expected to arrange the same. "nopin" skips the pinning, to
 * show what that costs.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Fork the traced child and return it stopped, ready for PTRACE_SYSEMU. */
static pid_t start_child(void)
{
    pid_t pid = fork();

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            _exit(127);
        raise(SIGSTOP);
        /* Never returns: under SYSEMU even exit_group would be skipped,
         * so the parent ends us with SIGKILL. */
        for (;;)
            syscall(SYS_getppid);
    }

    int st;
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
        fprintf(stderr, "bare_sysemu: child did not stop (status %#x)\n", st);
        exit(1);
    }
    /* EXITKILL: never leave a spinning child behind if we die.
     * TRACESYSGOOD: syscall stops say so (SIGTRAP|0x80), so we can check. */
    if (ptrace(PTRACE_SETOPTIONS, pid, 0,
               PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) < 0)
        die("PTRACE_SETOPTIONS");
    return pid;
}

/* One emulated syscall: let the child run to its next syscall entry, where
 * SYSEMU stops it and makes the kernel skip the call. */
static void round_trip(pid_t pid, int with_regs)
{
    int st;

    if (ptrace(PTRACE_SYSEMU, pid, 0, 0) < 0)
        die("PTRACE_SYSEMU");
    if (waitpid(pid, &st, __WALL) < 0)
        die("waitpid");
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80)) {
        fprintf(stderr, "bare_sysemu: unexpected stop (status %#x)\n", st);
        exit(1);
    }
    if (with_regs) {
        struct user_regs_struct regs;

        if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
            die("PTRACE_GETREGS");
        regs.rax = 1; /* the emulated getppid's result */
        if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
            die("PTRACE_SETREGS");
    }
}

static double measure(long n, int with_regs)
{
    pid_t pid = start_child();

    /* Untimed warm-up; also absorbs the few libc syscalls raise() makes
     * after the stop, before the child's loop begins. */
    for (long i = 0; i < n / 10 + 10; i++)
        round_trip(pid, with_regs);

    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        round_trip(pid, with_regs);
    double t1 = now_ns();

    kill(pid, SIGKILL);
    waitpid(pid, NULL, __WALL);
    return (t1 - t0) / n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int pin = !(argc > 2 && strcmp(argv[2], "nopin") == 0);

    if (n <= 0) {
        fprintf(stderr, "usage: bare_sysemu [N] [nopin]\n");
        return 2;
    }
    if (pin) {
        /* Pin before fork so the child inherits the same single CPU. */
        int cpu = sched_getcpu();
        cpu_set_t set;

        if (cpu < 0)
            die("sched_getcpu");
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            die("sched_setaffinity");
    }

    printf("sysemu+regs %.1f\n", measure(n, 1));
    printf("sysemu %.1f\n", measure(n, 0));
    return 0;
}
