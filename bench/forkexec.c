/*
 * forkexec N [PROGRAM] — N times: fork(), the child execs PROGRAM (default /bin/true,
 * Debian's dynamically linked one, so ld.so and libc load each time), the parent
 * waits for it. Prints the mean microseconds per iteration as a single number.
 *
 * This is what a shell does for every command: process creation, loading a program
 * through the file system, exit and reaping. An untimed warm-up of N/10 iterations
 * comes first. Exits 1 if any fork, exec or wait fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

static const char *g_prog = "/bin/true";

static int once(void)
{
    int st;
    pid_t pid = fork();

    if (pid < 0) {
        perror("forkexec: fork");
        return -1;
    }
    if (pid == 0) {
        execl(g_prog, g_prog, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid) {
        perror("forkexec: waitpid");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "forkexec: child status %#x\n", st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        g_prog = argv[2];
    return bench_loop(argc, argv, "forkexec", once);
}
