/* execve(2) for the Sentry: shared by the system call and by boot (the first
 * program is started as if init had exec'd it). */
#ifndef SENTRY_KERNEL_EXEC_H
#define SENTRY_KERNEL_EXEC_H

struct task;

/* kernel_execve: runs path (from dirfd, with execveat's AT_* flags) in t's process
 * with argv/envp (Sentry strings). Returns 0 with t's registers set to start the new
 * program, or -errno while the old program can still continue. A failure after the
 * point of no return kills the process (SIGSEGV, as Linux) and returns 0. */
int kernel_execve(struct task *t, int dirfd, const char *path, char *const argv[],
                  char *const envp[], int at_flags);

#endif
