/* File descriptor tables: shared by the threads of a process (CLONE_FILES). */
#ifndef SENTRY_VFS_FDTABLE_H
#define SENTRY_VFS_FDTABLE_H

#include <pthread.h>

struct file;

#define FD_MAX 1048576   /* the hard RLIMIT_NOFILE ceiling, as in Linux (nr_open) */

struct fdtable {
    pthread_mutex_t mu;
    int refs;                    /* atomic */
    int size;                    /* slots allocated; protected by mu */
    struct file **files;         /* protected by mu */
    unsigned char *cloexec;      /* protected by mu */
    int limit;                   /* RLIMIT_NOFILE soft limit; protected by mu */
};

/* fdtable_create: an empty table; NULL on allocation failure. */
struct fdtable *fdtable_create(void);
/* fdtable_dup: a copy for fork: the same files (new references), same flags. */
struct fdtable *fdtable_dup(struct fdtable *t);
/* fdtable_put: drops a reference; the last one closes every file. */
void fdtable_put(struct fdtable *t);
/* fdtable_get: the file at fd with a new reference, or NULL (-EBADF). */
struct file *fdtable_get(struct fdtable *t, int fd);
/* fdtable_install: puts f (the caller's reference moves to the table) at the lowest
 * free fd >= min_fd; returns the fd or -EMFILE/-ENOMEM. */
int fdtable_install(struct fdtable *t, int min_fd, struct file *f, int cloexec);
/* fdtable_install_at: puts f at fd exactly, closing what was there (dup2). */
int fdtable_install_at(struct fdtable *t, int fd, struct file *f, int cloexec);
/* fdtable_close: closes fd; 0 or -EBADF. */
int fdtable_close(struct fdtable *t, int fd);
/* fdtable_cloexec: get (set < 0) or set the close-on-exec flag of fd; -EBADF. */
int fdtable_cloexec(struct fdtable *t, int fd, int set);

/* fdtable_close_range: close_range(2): closes (or with cloexec_only marks
 * close-on-exec) every open fd in [first, last]. */
int fdtable_close_range(struct fdtable *t, unsigned first, unsigned last, int cloexec_only);
/* fdtable_exec: closes the close-on-exec fds (execve). */
void fdtable_exec(struct fdtable *t);
/* fdtable_list: the open fds in order, at most max of them; returns the count. */
int fdtable_list(struct fdtable *t, int *fds, int max);

#endif
