/*
 * seqio [MIB] [DIR] — write a new file of MIB MiB (default 256) in DIR
 * (default /tmp) sequentially in 1 MiB write(2) calls, then read it back
 * sequentially in 1 MiB read(2) calls, then remove it. Prints two lines,
 * "write MIB_PER_S" and "read MIB_PER_S".
 *
 * No fsync: this is the data path of the kernel (natively the page cache of
 * the host's /tmp; under runsc and our sandbox the in-memory upper layer of
 * the root overlay), not a disk. The write starts at an empty file, so it
 * includes growing it; the read follows at once, from memory. Exits 1 if any
 * call fails or comes back short.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"

#define CHUNK (1 << 20)

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 256;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char path[4096];
    char *buf = malloc(CHUNK);
    int st = 1;

    if (mib <= 0 || !buf) {
        fprintf(stderr, "usage: seqio [MIB] [DIR]   (MIB > 0)\n");
        return 2;
    }
    memset(buf, 0x5a, CHUNK);   /* real data: no zero-page shortcuts */
    snprintf(path, sizeof(path), "%s/bench-seqio.%d", dir, (int)getpid());
    int fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }

    double t0 = now_us();
    for (long i = 0; i < mib; i++)
        if (write(fd, buf, CHUNK) != CHUNK) {
            perror("seqio: write (or short)");
            goto out;
        }
    double t1 = now_us();
    if (lseek(fd, 0, SEEK_SET) != 0) {
        perror("seqio: lseek");
        goto out;
    }
    double t2 = now_us();
    for (long i = 0; i < mib; i++)
        if (read(fd, buf, CHUNK) != CHUNK) {
            perror("seqio: read (or short)");
            goto out;
        }
    double t3 = now_us();
    if (buf[0] != 0x5a || buf[CHUNK - 1] != 0x5a) {
        fprintf(stderr, "seqio: read back the wrong data\n");
        goto out;
    }
    printf("write %.1f\nread %.1f\n", mib / ((t1 - t0) / 1e6), mib / ((t3 - t2) / 1e6));
    st = 0;
out:
    close(fd);
    if (unlink(path) < 0) {
        perror(path);
        st = 1;
    }
    free(buf);
    return st;
}
