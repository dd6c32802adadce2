/*
 * pagefault MIB — map MIB MiB of fresh anonymous memory, write one byte to each page,
 * and print the mean cost of touching one page, in nanoseconds, as a single number.
 *
 * Every first touch is a page fault: natively the host kernel's, in the sandbox a
 * trap to the Sentry, which allocates a page of the memory file and maps it (maybe
 * some neighbours too) through the platform.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 1024;
    if (mib <= 0) {
        fprintf(stderr, "usage: pagefault MIB\n");
        return 2;
    }
    size_t len = (size_t)mib << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", ns / (double)(len / 4096));
    return 0;
}
