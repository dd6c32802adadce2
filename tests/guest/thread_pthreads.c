/* 64 threads with a mutex, a condition variable and a barrier (all futex-based),
 * joined; thread ids are distinct and the process id is shared. */
#include "guest.h"

#include <pthread.h>

#define NTHREADS 64
#define ROUNDS 200

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t g_bar;
static long g_counter;
static int g_ready;
static pid_t g_tids[NTHREADS];

static void *worker(void *arg)
{
    long i = (long)arg;
    g_tids[i] = (pid_t)syscall(SYS_gettid);
    CHECK(getpid() == (pid_t)syscall(SYS_getpid));
    pthread_barrier_wait(&g_bar);
    for (int r = 0; r < ROUNDS; r++) {
        pthread_mutex_lock(&g_mu);
        g_counter++;
        pthread_mutex_unlock(&g_mu);
    }
    pthread_mutex_lock(&g_mu);
    while (!g_ready)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    return (void *)(i * 2);
}

int main(void)
{
    pthread_t th[NTHREADS];
    CHECK(pthread_barrier_init(&g_bar, NULL, NTHREADS) == 0);
    for (long i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)i) == 0);
    pthread_mutex_lock(&g_mu);
    g_ready = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0);
        sum += (long)ret;
    }
    int distinct = 1;
    for (int i = 0; i < NTHREADS; i++)
        for (int j = i + 1; j < NTHREADS; j++)
            if (g_tids[i] == g_tids[j] || g_tids[i] == getpid())
                distinct = 0;
    say("counter=%ld joined-sum=%ld distinct-tids=%d\n", g_counter, sum, distinct);
    return 0;
}
