/* Starting the Gofer as its own process (see gofer.h). It is a fresh exec of this
 * binary, so it shares no memory, threads or fds with the Sentry beyond its socket. */
#include "gofer/gofer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/userns.h"

/* The fd the Gofer finds its socket on. */
#define GOFER_CHILD_FD 3

int gofer_spawn(const char *root, int readonly, int rootless, int *sentry_sock, pid_t *pid)
{
    int sv[2], sync[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if (rootless && pipe2(sync, O_CLOEXEC) < 0) {
        int e = -errno;
        close(sv[0]);
        close(sv[1]);
        return e;
    }
    uid_t uid = getuid();
    gid_t gid = getgid();
    pid_t parent = getpid();
    long flags = SIGCHLD | (rootless ? CLONE_NEWUSER : 0);
    pid_t child = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (child < 0) {
        int e = -errno;
        close(sv[0]);
        close(sv[1]);
        if (rootless) {
            close(sync[0]);
            close(sync[1]);
        }
        return e;
    }
    if (child == 0) {
        /* die with the Sentry; if it is already gone, do not start at all */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        if (rootless) {
            /* wait until the parent has mapped our ids: end of file means it failed */
            char c;
            close(sync[1]);
            if (read(sync[0], &c, 1) != 1)
                _exit(1);
        }
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
        char ids[48];
        snprintf(ids, sizeof(ids), "%u:%u", (unsigned)uid, (unsigned)gid);
        char *argv[10] = { "sandbox", "gofer", "--root", (char *)root, "--fd", fd };
        int n = 6;
        if (readonly)
            argv[n++] = "--readonly";
        if (rootless) {
            argv[n++] = "--root-is";
            argv[n++] = ids;
        }
        argv[n] = NULL;
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(sv[1]);
    if (rootless) {
        close(sync[0]);
        int e = userns_map_root(child, uid, gid);
        if (e == 0 && write(sync[1], "g", 1) != 1)
            e = -errno;
        close(sync[1]);
        if (e < 0) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
            close(sv[0]);
            return e;
        }
    }
    *sentry_sock = sv[0];
    *pid = child;
    return 0;
}
