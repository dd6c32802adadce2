/*
 * threads N — N times: pthread_create of a thread that returns at once, then
 * pthread_join. Prints the mean microseconds per create+join as one number.
 *
 * This is clone(CLONE_VM|CLONE_THREAD|...) plus the exit and the
 * CLONE_CHILD_CLEARTID futex wake that join waits on. glibc caches thread
 * stacks, so after the warm-up (N/10 untimed) there is normally no mmap per
 * thread. Exits 1 if a create or join fails.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

static void *empty(void *arg)
{
    return arg;
}

static int once(void)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, empty, NULL);

    if (e == 0)
        e = pthread_join(t, NULL);
    if (e != 0) {
        fprintf(stderr, "threads: %s\n", strerror(e));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    return bench_loop(argc, argv, "threads", once);
}
