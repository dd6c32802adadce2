/*
 * createunlink N [DIR] — N times: open(DIR/name, O_CREAT|O_EXCL|O_WRONLY),
 * close, unlink, on the same name each time (DIR defaults to /tmp). Prints the
 * mean microseconds per create+close+unlink as one number.
 *
 * Under runsc and our sandbox /tmp is the in-memory upper layer of the root
 * overlay (over the host's /tmp), so this is creating and removing a file in
 * an overlay directory; natively it is the host's /tmp. An untimed warm-up of
 * N/10 iterations comes first. Exits 1 if any call fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "loop.h"

static char path[4096];

static int once(void)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

    if (fd < 0) {
        perror(path);
        return -1;
    }
    if (close(fd) < 0 || unlink(path) < 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 2 ? argv[2] : "/tmp";

    snprintf(path, sizeof(path), "%s/bench-create.%d", dir, (int)getpid());
    return bench_loop(argc, argv, "createunlink", once);
}
