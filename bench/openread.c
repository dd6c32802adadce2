/*
 * openread N PATH — N times: open(PATH, O_RDONLY), read 4096 bytes, close.
 * Prints the mean microseconds per open+read+close as one number.
 *
 * PATH must be a regular file of at least 4 KiB (run.sh makes one in its
 * output directory, which is on the served root). This is the pattern of a
 * program reading a small configuration file: path resolution, opening (under
 * a sandbox, possibly its file server handing over a host fd), one read and
 * the release of the file. An untimed warm-up of N/10 iterations comes first.
 * Exits 1 if any call fails or the read comes back short.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "loop.h"

static const char *path;

static int once(void)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        perror(path);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n != (ssize_t)sizeof(buf)) {
        fprintf(stderr, "openread: read of %s returned %zd (want %zu)\n", path, n, sizeof(buf));
        close(fd);
        return -1;
    }
    if (close(fd) < 0) {
        perror("openread: close");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: openread N PATH   (PATH a file of at least 4 KiB)\n");
        return 2;
    }
    path = argv[2];
    return bench_loop(argc, argv, "openread", once);
}
