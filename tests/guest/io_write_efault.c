/* Bad buffers and bad descriptors on the output path: the kernel reports EFAULT,
 * EBADF or EINVAL and writes nothing. Raw system calls where the compiler would
 * object to the bad pointer. Assumes stdout is not /dev/null (run.sh
 * captures it to a file), where Linux would never touch the buffer. */
#include "guest.h"

#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#define PG GUEST_PAGE_SIZE

/* report: runs one call expected to fail and prints its errno by name. */
#define REPORT(what, expr, err)                                                        \
    do {                                                                               \
        CHECK_ERR(expr, err);                                                          \
        say("%s: %s\n", what, errno_name(err));                                        \
    } while (0)

int main(void)
{
    struct stat st;
    CHECK(fstat(1, &st) == 0);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
        guest_skip("stdout is /dev/null");

    REPORT("write from (void *)1", syscall(SYS_write, 1L, (void *)1, 10L), EFAULT);
    REPORT("write from a kernel address",
           syscall(SYS_write, 1L, 0xffff800000000000UL, 10L), EFAULT);

    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(munmap(p, PG) == 0);
    REPORT("write from an unmapped page", write(1, p, 10), EFAULT);

    char *q = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q != MAP_FAILED);
    REPORT("write from a PROT_NONE page", write(1, q, 10), EFAULT);
    CHECK(munmap(q, PG) == 0);

    /* A zero-length write never looks at the buffer. */
    CHECK(write(1, (void *)1, 0) == 0);
    CHECK(write(1, p, 0) == 0);
    say("write of 0 bytes from a bad pointer: 0\n");

    char ok[] = "unused\n";
    struct iovec bad_base[] = {{(void *)1, 10}};
    REPORT("writev with a bad iov_base", writev(1, bad_base, 1), EFAULT);
    REPORT("writev with an unmapped iov_base",
           writev(1, (struct iovec[]){{p, 10}}, 1), EFAULT);
    REPORT("writev with a bad iov array", syscall(SYS_writev, 1L, (void *)1, 1L), EFAULT);
    REPORT("writev with iovcnt -1", syscall(SYS_writev, 1L, (struct iovec[]){{ok, 7}}, -1L),
           EINVAL);
    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i < IOV_MAX + 1; i++)
        many[i] = (struct iovec){ok, 0};
    REPORT("writev with iovcnt IOV_MAX+1", writev(1, many, IOV_MAX + 1), EINVAL);
    CHECK(writev(1, many, IOV_MAX) == 0);
    say("writev of IOV_MAX empty iovecs: 0\n");

    REPORT("write to fd -1", write(-1, ok, 7), EBADF);
    REPORT("write to fd 99", write(99, ok, 7), EBADF);
    REPORT("read from fd 99", read(99, ok, 7), EBADF);
    REPORT("fstat of fd 99", fstat(99, &st), EBADF);
    REPORT("fstat into (void *)1", syscall(SYS_fstat, 1L, (void *)1), EFAULT);
    return 0;
}
