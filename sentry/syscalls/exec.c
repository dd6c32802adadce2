/* execve and execveat: copy the path and the argument and environment vectors in
 * (with Linux's limits), then sentry/kernel/exec.c does the work. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/kernel/exec.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/vfs.h"

/* Linux's limits: one string (MAX_ARG_STRLEN), the count of each vector
 * (MAX_ARG_STRINGS) and, through the stack, the total (a quarter of 8 MiB). */
#define MAX_ARG_STRLEN (32 * 4096)
#define MAX_ARG_STRINGS 0x7fffffff
#define MAX_ARG_TOTAL (2u << 20)

static void free_vec(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* copy_vec: the NULL-terminated vector of strings at uvec (0: empty). *total
 * accumulates the bytes used. */
static int copy_vec(struct task *t, uint64_t uvec, char ***out, size_t *total)
{
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof(*v));
    if (!v)
        return -ENOMEM;
    char *buf = malloc(MAX_ARG_STRLEN);
    if (!buf) {
        free(v);
        return -ENOMEM;
    }
    int err = 0;
    for (; uvec; n++) {
        uint64_t p;
        if (mm_copy_in(t->mm, &p, uvec + n * 8, 8) < 0) {
            err = -EFAULT;
            break;
        }
        if (!p)
            break;
        if (n + 1 >= MAX_ARG_STRINGS) {
            err = -E2BIG;
            break;
        }
        long len = mm_copy_string_in(t->mm, p, buf, MAX_ARG_STRLEN);
        if (len < 0) {
            err = len == -ENAMETOOLONG ? -E2BIG : (int)len;
            break;
        }
        *total += (size_t)len + 1 + 8;
        if (*total > MAX_ARG_TOTAL) {
            err = -E2BIG;
            break;
        }
        if (n + 2 > cap) {
            char **nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                err = -ENOMEM;
                break;
            }
            memset(nv + cap, 0, cap * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        v[n] = strdup(buf);
        if (!v[n]) {
            err = -ENOMEM;
            break;
        }
    }
    free(buf);
    if (err < 0) {
        free_vec(v);
        return err;
    }
    *out = v;
    return 0;
}

static long do_execve(struct task *t, int dirfd, uint64_t upath, uint64_t uargv,
                      uint64_t uenvp, int flags)
{
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    char path[PATH_MAX];
    long n = mm_copy_string_in(t->mm, upath, path, sizeof(path));
    if (n < 0)
        return n;
    char **argv = NULL, **envp = NULL;
    size_t total = 0;
    int err = copy_vec(t, uargv, &argv, &total);
    if (err == 0)
        err = copy_vec(t, uenvp, &envp, &total);
    if (err == 0)
        err = kernel_execve(t, dirfd, path, argv, envp, flags);
    free_vec(argv);
    free_vec(envp);
    return err;
}

long sys_execve(struct task *t, const struct syscall_args *a)
{
    return do_execve(t, AT_FDCWD_GUEST, arg_u64(a, 0), arg_u64(a, 1), arg_u64(a, 2), 0);
}

long sys_execveat(struct task *t, const struct syscall_args *a)
{
    return do_execve(t, arg_int(a, 0), arg_u64(a, 1), arg_u64(a, 2), arg_u64(a, 3),
                     arg_int(a, 4));
}
