/* memfd_create: anonymous files with tmpfs semantics (sentry/fs/memfd.c). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "sentry/fs/memfd.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC        0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#define MFD_ALL_FLAGS (MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | \
                       MFD_EXEC)
#define MFD_HUGE_BITS (0x3fU << 26)   /* MFD_HUGE_MASK << MFD_HUGE_SHIFT */
/* Linux's MFD_NAME_MAX_LEN: NAME_MAX less the "memfd:" prefix. */
#define MFD_NAME_MAX 249

long sys_memfd_create(struct task *t, const struct syscall_args *a)
{
    uint64_t uname = arg_u64(a, 0);
    unsigned flags = arg_uint(a, 1);
    unsigned allowed = MFD_ALL_FLAGS | ((flags & MFD_HUGETLB) ? MFD_HUGE_BITS : 0);
    if (flags & ~allowed)
        return -EINVAL;
    if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL))
        return -EINVAL;
    char name[MFD_NAME_MAX + 1];
    long n = mm_copy_string_in(t->mm, uname, name, sizeof(name));
    if (n == -ENAMETOOLONG)
        return -EINVAL;
    if (n < 0)
        return n;
    /* no huge pages in the sandbox (gVisor refuses the same way) */
    if (flags & MFD_HUGETLB)
        return -EINVAL;
    /* every tmpfs file is born sealed against sealing; these flags say otherwise */
    unsigned seals = (flags & MFD_NOEXEC_SEAL) ? F_SEAL_EXEC
                     : (flags & MFD_ALLOW_SEALING) ? 0 : F_SEAL_SEAL;
    struct file *f;
    int err = memfd_new(name, t->cred.fsuid, t->cred.fsgid, (flags & MFD_NOEXEC_SEAL) != 0,
                        seals, &f);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & MFD_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}
