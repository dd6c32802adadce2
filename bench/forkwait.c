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

#include "loop.h"

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
    return bench_loop(argc, argv, "forkwait", once);
}
