/*
 * getdents N [FILES] [DIR] — make a new directory under DIR (default /tmp)
 * holding FILES empty files (default 10000), then N times list it in full: open it, call getdents64
 * with a 32 KiB buffer (what glibc's readdir uses) until it returns 0, close.
 * Prints the mean microseconds per full listing as one number, then removes
 * the files and the directory.
 *
 * Making and removing the files is not timed; an untimed warm-up of N/10
 * listings comes first. getdents64 is called directly so that every libc
 * lists the same way. Each listing must return FILES + 2 entries ("." and
 * ".." included); otherwise, or if any call fails, it exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop.h"

static char dir[1024];
static long nfiles = 10000;

/* The 64-bit directory entry as the kernel writes it (linux_dirent64). */
struct dirent64_raw {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int list_once(void)
{
    static char buf[32768];
    long entries = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        perror(dir);
        return -1;
    }
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (n < 0) {
            perror("getdents: getdents64");
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
            off += d->d_reclen;
            entries++;
        }
    }
    close(fd);
    if (entries != nfiles + 2) {
        fprintf(stderr, "getdents: listed %ld entries, want %ld\n", entries, nfiles + 2);
        return -1;
    }
    return 0;
}

/* fill and empty: make / remove dir/f00000 ... Return -1 on the first failure
 * (empty goes on, to leave as little behind as it can). */
static int fill(void)
{
    char p[sizeof(dir) + 32];

    for (long i = 0; i < nfiles; i++) {
        snprintf(p, sizeof(p), "%s/f%05ld", dir, i);
        int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            perror(p);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static int empty(void)
{
    char p[sizeof(dir) + 32];
    int ret = 0;

    for (long i = 0; i < nfiles; i++) {
        snprintf(p, sizeof(p), "%s/f%05ld", dir, i);
        if (unlink(p) < 0 && ret == 0) {
            perror(p);
            ret = -1;
        }
    }
    if (rmdir(dir) < 0) {
        perror(dir);
        ret = -1;
    }
    return ret;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        nfiles = atol(argv[2]);
    if (nfiles < 0 || nfiles > 99999) {
        fprintf(stderr, "usage: getdents N [FILES] [DIR]   (0 <= FILES <= 99999)\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/bench-getdents.XXXXXX", argc > 3 ? argv[3] : "/tmp");
    if (!mkdtemp(dir)) {
        perror("getdents: mkdtemp");
        return 1;
    }
    int st = fill() < 0 ? 1 : bench_loop(argc, argv, "getdents", list_once);
    if (empty() < 0 && st == 0)
        st = 1;
    return st;
}
