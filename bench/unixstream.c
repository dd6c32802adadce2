/*
 * unixstream [MIB] — AF_UNIX stream throughput: a socketpair between a parent
 * and a forked child; the child writes MIB MiB (default 256) in 64 KiB write(2)
 * calls, the parent reads it in 64 KiB read(2) calls. Prints "stream MIB_PER_S",
 * timed in the parent from the first read to the last byte. Exits 1 on any
 * failure or short transfer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

#define CHUNK (64 << 10)

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 256;
    static char buf[CHUNK];
    int sv[2];
    if (mib <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("unixstream: socketpair");
        return 1;
    }
    long long total = (long long)mib << 20;
    pid_t child = fork();
    if (child < 0) {
        perror("unixstream: fork");
        return 1;
    }
    if (child == 0) {
        close(sv[0]);
        memset(buf, 0x5a, sizeof(buf));
        for (long long sent = 0; sent < total; sent += CHUNK)
            if (write(sv[1], buf, CHUNK) != CHUNK)
                _exit(1);
        _exit(0);
    }
    close(sv[1]);
    long long got = 0;
    ssize_t n = read(sv[0], buf, sizeof(buf));
    double t0 = now_us();
    while (n > 0) {
        got += n;
        if (got >= total)
            break;
        n = read(sv[0], buf, sizeof(buf));
    }
    double t1 = now_us();
    int st;
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        got != total) {
        fprintf(stderr, "unixstream: transfer failed (%lld of %lld bytes)\n", got, total);
        return 1;
    }
    printf("stream %.1f\n", (double)mib / ((t1 - t0) / 1e6));
    return 0;
}
