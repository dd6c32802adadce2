/* Memory system calls: the argument checks Linux does at the system-call boundary,
 * then the address-space logic in sentry/mm. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"

long sys_mmap(struct task *t, const struct syscall_args *a)
{
    uint64_t addr = arg_u64(a, 0);
    uint64_t len = arg_u64(a, 1);
    int prot = arg_int(a, 2);
    int flags = arg_int(a, 3);
    int fd = arg_int(a, 4);
    uint64_t off = arg_u64(a, 5);
    if (!page_aligned(off))
        return -EINVAL;
    if (flags & MAP_ANONYMOUS)
        return mm_mmap(t->mm, addr, len, prot, flags);
    struct file *f = fdtable_get(t->fds, fd);
    if (!f)
        return -EBADF;
    struct mappable *obj = NULL;
    int maxprot;
    long ret = vfs_mmap_prepare(f, prot, flags, &obj, &maxprot);
    if (ret == 0) {
        if (obj) {
            ret = mm_mmap_object(t->mm, addr, len, prot, flags, obj, off >> PAGE_SHIFT,
                                 maxprot);
            obj->ops->drop(obj);
        } else {
            /* /dev/zero and friends: anonymous memory */
            ret = mm_mmap(t->mm, addr, len, prot, flags | MAP_ANONYMOUS);
        }
    }
    file_put(f);
    return ret;
}

long sys_msync(struct task *t, const struct syscall_args *a)
{
    return mm_msync(t->mm, arg_u64(a, 0), arg_u64(a, 1), arg_int(a, 2));
}

long sys_munmap(struct task *t, const struct syscall_args *a)
{
    return mm_munmap(t->mm, arg_u64(a, 0), arg_u64(a, 1));
}

long sys_mprotect(struct task *t, const struct syscall_args *a)
{
    return mm_mprotect(t->mm, arg_u64(a, 0), arg_u64(a, 1), arg_int(a, 2));
}

long sys_mremap(struct task *t, const struct syscall_args *a)
{
    return mm_mremap(t->mm, arg_u64(a, 0), arg_u64(a, 1), arg_u64(a, 2), arg_int(a, 3),
                     arg_u64(a, 4));
}

long sys_brk(struct task *t, const struct syscall_args *a)
{
    return (long)mm_brk(t->mm, arg_u64(a, 0));
}

long sys_madvise(struct task *t, const struct syscall_args *a)
{
    return mm_madvise(t->mm, arg_u64(a, 0), arg_u64(a, 1), arg_int(a, 2));
}

long sys_mincore(struct task *t, const struct syscall_args *a)
{
    uint64_t addr = arg_u64(a, 0);
    uint64_t len = arg_u64(a, 1);
    uint64_t vec = arg_u64(a, 2);
    if (!page_aligned(addr))
        return -EINVAL;
    if (len == 0)
        return 0;
    uint64_t pages = page_up(len) >> PAGE_SHIFT;
    if (pages == 0)
        return -ENOMEM;
    /* answer in bounded chunks: the guest chooses len */
    enum { CHUNK = 4096 };
    unsigned char buf[CHUNK];
    for (uint64_t done = 0; done < pages; done += CHUNK) {
        uint64_t n = MIN((uint64_t)CHUNK, pages - done);
        int r = mm_mincore(t->mm, addr + (done << PAGE_SHIFT), n << PAGE_SHIFT, buf);
        if (r < 0)
            return r;
        if (mm_copy_out(t->mm, vec + done, buf, n, 0) < 0)
            return -EFAULT;
    }
    return 0;
}
