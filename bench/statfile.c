/*
 * statfile N [PATH] — N times stat(PATH) (default /etc/os-release). Prints the
 * mean microseconds per call as one number.
 *
 * This is path resolution and attribute lookup of a file that already exists
 * and was looked up a moment ago, so everything a kernel caches is warm: under
 * a sandbox, the cost of answering from its dentry/inode cache (or of asking
 * its file server) plus the trap. /etc/os-release is a symlink to
 * ../usr/lib/os-release on Debian, so the walk follows one symlink. An untimed
 * warm-up of N/10 calls comes first. Exits 1 if a stat fails.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "loop.h"

static const char *path = "/etc/os-release";

static int once(void)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        path = argv[2];
    return bench_loop(argc, argv, "statfile", once);
}
