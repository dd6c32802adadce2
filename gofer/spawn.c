/* Starting the Gofer as its own process (see gofer.h). It is a fresh exec of this
 * binary, so it shares no memory, threads or fds with the Sentry beyond its socket. */
#include "gofer/gofer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The fd the Gofer finds its socket on. */
#define GOFER_CHILD_FD 3

int gofer_spawn(const char *root, int readonly, int *sentry_sock, pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int e = -errno;
        close(sv[0]);
        close(sv[1]);
        return e;
    }
    if (child == 0) {
        /* die with the Sentry; if it is already gone, do not start at all */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        /* out of the terminal's session: Ctrl-C is for the guest, not the Gofer */
        setsid();
        if (sv[1] == GOFER_CHILD_FD)
            fcntl(sv[1], F_SETFD, 0);
        else if (dup2(sv[1], GOFER_CHILD_FD) < 0)
            _exit(1);
        /* everything else the CLI had open stays behind */
        close_range(GOFER_CHILD_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", GOFER_CHILD_FD);
        char *argv[] = { "sandbox", "gofer", "--root", (char *)root, "--fd", fd,
                         readonly ? "--readonly" : NULL, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(sv[1]);
    *sentry_sock = sv[0];
    *pid = child;
    return 0;
}
