/* Signals the host sends the sandbox. A terminal's Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT)
 * and resize (SIGWINCH) reach the Sentry because it shares the CLI's process group;
 * `kill` of the CLI is forwarded to it (runtime/launch.c). None of them may kill or
 * stop the Sentry: they are the guest's. A thread takes them with sigwaitinfo and
 * delivers them as Linux would to a program in the foreground: the terminal's
 * signals to the foreground process group (the first process's group: the guest has
 * no terminal of its own on the host's), the others to the first process, as runc
 * and runsc forward them to a container's init. */
#ifndef SENTRY_KERNEL_HOSTSIG_H
#define SENTRY_KERNEL_HOSTSIG_H

/* hostsig_block: blocks the forwarded signals in the calling thread; call before any
 * other Sentry thread exists, so all inherit the mask. */
void hostsig_block(void);

/* hostsig_start: starts the forwarding thread (the first task must exist). 0 or
 * -errno. */
int hostsig_start(void);

#endif
