/* File descriptor tables. */
#include "sentry/vfs/fdtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/lock.h"

/* close_file: drops the table's reference to f after taking it out of a slot. A
 * close by a table releases the table's POSIX locks on f's inode, as Linux's
 * filp_close does for current->files; called without t->mu. */
static void close_file(struct fdtable *t, struct file *f)
{
    if (!f)
        return;
    vfs_lock_close_posix(f, t);
    file_put(f);
}

struct fdtable *fdtable_create(void)
{
    struct fdtable *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->refs = 1;
    t->limit = 1024;
    return t;
}

void fdtable_put(struct fdtable *t)
{
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (int i = 0; i < t->size; i++)
        close_file(t, t->files[i]);
    free(t->files);
    free(t->cloexec);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

struct file *fdtable_get(struct fdtable *t, int fd)
{
    struct file *f = NULL;
    pthread_mutex_lock(&t->mu);
    if (fd >= 0 && fd < t->size && t->files[fd]) {
        f = t->files[fd];
        file_get(f);
    }
    pthread_mutex_unlock(&t->mu);
    return f;
}

/* grow: makes fd a valid slot. mu held. */
static int grow(struct fdtable *t, int fd)
{
    if (fd < t->size)
        return 0;
    int size = t->size ? t->size : 64;
    while (size <= fd)
        size *= 2;
    struct file **files = realloc(t->files, (size_t)size * sizeof(*files));
    if (!files)
        return -ENOMEM;
    t->files = files;
    unsigned char *ce = realloc(t->cloexec, (size_t)size);
    if (!ce)
        return -ENOMEM;
    t->cloexec = ce;
    memset(files + t->size, 0, (size_t)(size - t->size) * sizeof(*files));
    memset(ce + t->size, 0, (size_t)(size - t->size));
    t->size = size;
    return 0;
}

int fdtable_install(struct fdtable *t, int min_fd, struct file *f, int cloexec)
{
    if (min_fd < 0)
        return -EINVAL;
    pthread_mutex_lock(&t->mu);
    int fd = min_fd, ret;
    while (fd < t->size && t->files[fd])
        fd++;
    if (fd >= t->limit) {
        ret = -EMFILE;
        goto out;
    }
    if ((ret = grow(t, fd)) < 0)
        goto out;
    t->files[fd] = f;
    t->cloexec[fd] = cloexec != 0;
    ret = fd;
out:
    pthread_mutex_unlock(&t->mu);
    return ret;
}

int fdtable_install_at(struct fdtable *t, int fd, struct file *f, int cloexec)
{
    if (fd < 0)
        return -EBADF;
    pthread_mutex_lock(&t->mu);
    struct file *old = NULL;
    int ret;
    if (fd >= t->limit) {
        ret = -EBADF;
        goto out;
    }
    if ((ret = grow(t, fd)) < 0)
        goto out;
    old = t->files[fd];
    t->files[fd] = f;
    t->cloexec[fd] = cloexec != 0;
    ret = fd;
out:
    pthread_mutex_unlock(&t->mu);
    close_file(t, old);  /* outside the lock: release may block */
    return ret;
}

int fdtable_close(struct fdtable *t, int fd)
{
    pthread_mutex_lock(&t->mu);
    struct file *f = NULL;
    if (fd >= 0 && fd < t->size) {
        f = t->files[fd];
        t->files[fd] = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    if (!f)
        return -EBADF;
    close_file(t, f);
    return 0;
}

int fdtable_cloexec(struct fdtable *t, int fd, int set)
{
    pthread_mutex_lock(&t->mu);
    int ret = -EBADF;
    if (fd >= 0 && fd < t->size && t->files[fd]) {
        if (set >= 0)
            t->cloexec[fd] = set != 0;
        ret = t->cloexec[fd];
    }
    pthread_mutex_unlock(&t->mu);
    return ret;
}

struct fdtable *fdtable_dup(struct fdtable *t)
{
    struct fdtable *n = fdtable_create();
    if (!n)
        return NULL;
    pthread_mutex_lock(&t->mu);
    n->limit = t->limit;
    if (t->size && grow(n, t->size - 1) < 0) {
        pthread_mutex_unlock(&t->mu);
        fdtable_put(n);
        return NULL;
    }
    for (int i = 0; i < t->size; i++) {
        if (t->files[i]) {
            file_get(t->files[i]);
            n->files[i] = t->files[i];
            n->cloexec[i] = t->cloexec[i];
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

int fdtable_close_range(struct fdtable *t, unsigned first, unsigned last, int cloexec_only)
{
    for (;;) {
        struct file *f = NULL;
        pthread_mutex_lock(&t->mu);
        unsigned end = MIN(last, (unsigned)t->size - 1);
        if (t->size == 0)
            end = 0;
        for (unsigned fd = first; t->size && fd <= end; fd++) {
            if (!t->files[fd])
                continue;
            if (cloexec_only) {
                t->cloexec[fd] = 1;
                continue;
            }
            f = t->files[fd];
            t->files[fd] = NULL;
            first = fd + 1;
            break;
        }
        pthread_mutex_unlock(&t->mu);
        if (!f)
            return 0;
        close_file(t, f);   /* one at a time, outside the lock */
    }
}

void fdtable_exec(struct fdtable *t)
{
    for (;;) {
        struct file *f = NULL;
        pthread_mutex_lock(&t->mu);
        for (int fd = 0; fd < t->size; fd++) {
            if (t->files[fd] && t->cloexec[fd]) {
                f = t->files[fd];
                t->files[fd] = NULL;
                t->cloexec[fd] = 0;
                break;
            }
        }
        pthread_mutex_unlock(&t->mu);
        if (!f)
            return;
        close_file(t, f);
    }
}

int fdtable_list(struct fdtable *t, int *fds, int max)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (int fd = 0; fd < t->size && n < max; fd++)
        if (t->files[fd])
            fds[n++] = fd;
    pthread_mutex_unlock(&t->mu);
    return n;
}
