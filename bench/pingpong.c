/*
 * pingpong N — two threads hand a token back and forth N times through a
 * pair of futex words, and the mean microseconds per round trip is printed as
 * one number.
 *
 * The main thread posts "ping" and waits for "pong"; the partner waits for
 * "ping" and posts "pong". Posting stores 1 and calls FUTEX_WAKE; waiting
 * swaps the word to 0 and, if no token was there, calls FUTEX_WAIT on 0.
 * Raw syscall(SYS_futex, ..., FUTEX_*_PRIVATE) is used, so no libc lock
 * fast path hides the kernel. Each round trip is therefore normally two
 * wake-ups of a sleeping thread: the cost of a futex-based handoff (a
 * condition variable, a channel) between threads.
 *
 * An untimed warm-up comes first: at least N/10 round trips and at least
 * WARM_MS of wall time. The time floor matters natively: at the start the two
 * threads often share a CPU (a same-CPU switch, ~2 us a round trip on the
 * bench VM) until the load balancer moves one away, after which every
 * hand-off is a cross-CPU wake-up (tens of us on the VM). Without the floor a
 * short native run lands on either side of that move, and repeated runs
 * differ by 20x. With it the figure is the steady state.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARM_MS 100

static atomic_int ping, pong, done;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void post(atomic_int *w)
{
    atomic_store(w, 1);
    if (syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) {
        perror("pingpong: FUTEX_WAKE");
        exit(1);
    }
}

static void await(atomic_int *w)
{
    while (atomic_exchange(w, 0) == 0)
        if (syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) < 0 &&
            errno != EAGAIN && errno != EINTR) {
            perror("pingpong: FUTEX_WAIT");
            exit(1);
        }
}

/* The partner answers until main, after its last ping, sets done. */
static void *partner(void *arg)
{
    for (;;) {
        await(&ping);
        int last = atomic_load(&done);
        post(&pong);
        if (last)
            return arg;
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    pthread_t t;
    int e;

    if (n <= 0) {
        fprintf(stderr, "usage: pingpong N   (N > 0 round trips)\n");
        return 2;
    }
    if ((e = pthread_create(&t, NULL, partner, NULL)) != 0) {
        fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(e));
        return 1;
    }

    double start = now_us();
    for (long i = 0; i < n / 10 + 1 || now_us() - start < WARM_MS * 1e3; i++) {
        post(&ping);
        await(&pong);
    }
    double t0 = now_us();
    for (long i = 0; i < n; i++) {
        post(&ping);
        await(&pong);
    }
    double t1 = now_us();

    /* one more round trip to let the partner go */
    atomic_store(&done, 1);
    post(&ping);
    await(&pong);

    if ((e = pthread_join(t, NULL)) != 0) {
        fprintf(stderr, "pingpong: pthread_join: %s\n", strerror(e));
        return 1;
    }
    printf("%.1f\n", (t1 - t0) / n);
    return 0;
}
