/* Helpers for guest tests: programs that check themselves and print deterministic
 * output, run natively and in the sandbox by tests/guest/run.sh, which compares stdout
 * and exit status. Include this first: it sets _GNU_SOURCE for the libc headers.
 *
 * Output rules: print only what is the same natively and sandboxed, with glibc and musl
 * (no addresses, times, pids, uids, strerror() texts). Exit 0 on success, 77 to skip,
 * and 1 through CHECK() on failure. */
#ifndef GUEST_H
#define GUEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GUEST_PAGE_SIZE 4096UL

/* errno_name: the symbolic name of an errno value ("EFAULT"), or "E?" for one this
 * table lacks. strerror() texts differ between libcs, so tests print these. */
static inline const char *errno_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EXDEV: return "EXDEV";
    case EROFS: return "EROFS";
    case ENXIO: return "ENXIO";
    case EPIPE: return "EPIPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EMFILE: return "EMFILE";
    case ENODATA: return "ENODATA";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case ECHILD: return "ECHILD";
    case ENOSPC: return "ENOSPC";
    case EMLINK: return "EMLINK";
    case ENODEV: return "ENODEV";
    case ETXTBSY: return "ETXTBSY";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
    default: return "E?";
    }
}

/* guest_write_all: writes len bytes of buf to fd, retrying short writes. No stdio, no
 * allocation, so it is safe where malloc or brk state must not change. */
static inline void guest_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* say: printf-style output straight to fd 1 (after flushing stdio, so the order of
 * mixed printf/say output is the order of the calls). Lines are cut at 1 KiB. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
    static char buf[1024];
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    guest_write_all(1, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* guest_fail: prints "FAIL file:line: expr (errno NAME)" on stdout and exits 1. The
 * errno is whatever the failing expression left, which is usually the interesting one. */
__attribute__((noreturn)) static inline void guest_fail(const char *file, int line,
                                                        const char *expr)
{
    int e = errno;
    say("FAIL %s:%d: %s (errno %s)\n", file, line, expr, errno_name(e));
    exit(1);
}

/* CHECK: the test fails (exit 1) unless cond holds. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond))                                                                   \
            guest_fail(__FILE__, __LINE__, #cond);                                     \
    } while (0)

/* CHECK_ERR: expr must return -1 (or MAP_FAILED, which is the same bits) and set errno
 * to err. errno is cleared first so a stale value cannot pass. */
#define CHECK_ERR(expr, err)                                                           \
    do {                                                                               \
        errno = 0;                                                                     \
        long check_err_r_ = (long)(expr);                                              \
        if (check_err_r_ != -1 || errno != (err))                                      \
            guest_fail(__FILE__, __LINE__, #expr " fails with " #err);                 \
    } while (0)

/* guest_skip: prints why on stderr and exits 77, which run.sh reports as a skip. */
__attribute__((noreturn)) static inline void guest_skip(const char *why)
{
    fflush(stdout);
    guest_write_all(2, "SKIP: ", 6);
    guest_write_all(2, why, strlen(why));
    guest_write_all(2, "\n", 1);
    exit(77);
}

/* can_read: 1 if the kernel can read 8 bytes at p, 0 if that faults (EFAULT). Uses
 * rt_sigprocmask with an invalid `how`: Linux copies the new mask in before it looks at
 * `how`, so the call fails with EFAULT or EINVAL and never changes the mask. It lets
 * tests probe protections without taking a fault, since guests get no signals. */
static inline int can_read(const void *p)
{
    long r = syscall(SYS_rt_sigprocmask, 12345L, p, NULL, 8L);
    CHECK(r == -1 && (errno == EFAULT || errno == EINVAL));
    return errno == EINVAL;
}

/* can_write: 1 if the kernel can write one byte at p (it overwrites that byte with a
 * random value), 0 if that faults (EFAULT). */
static inline int can_write(void *p)
{
    long r = syscall(SYS_getrandom, p, 1L, 0L);
    CHECK(r == 1 || (r == -1 && errno == EFAULT));
    return r == 1;
}

#endif /* GUEST_H */
