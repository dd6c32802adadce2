/* CPU time accounting (sentry/kernel/cputime.c) and timers on CPU clocks
 * (sentry/kernel/timer.c), on hand-built tasks in g_kernel.tasks[]: the accounting
 * measures wall time per state, so sleeping in a state stands for running in it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sentry/kernel/cputime.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timer.h"

#define MS 1000000ULL

/* Linux's clock id encoding, as clock_getcpuclockid and pthread_getcpuclockid make
 * them. */
#define PROCESS_CLOCK(pid, which) ((int)((~(unsigned)(pid)) << 3) | (which))
#define THREAD_CLOCK(tid, which) (PROCESS_CLOCK(tid, which) | 4)

static struct task t10, t11, t20;
static struct thread_group tg10, tg20;

static void add_task(struct task *t, struct thread_group *tg, int tid)
{
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    t->tg = tg;
    pthread_mutex_init(&t->mu, NULL);
    t->next = tg->threads;
    tg->threads = t;
    tg->nlive++;
    g_kernel.tasks[tid] = t;
}

static void setup(void)
{
    pthread_mutex_init(&g_kernel.mu, NULL);
    memset(&tg10, 0, sizeof(tg10));
    memset(&tg20, 0, sizeof(tg20));
    tg10.tgid = 10;
    tg20.tgid = 20;
    add_task(&t11, &tg10, 11);
    add_task(&t10, &tg10, 10);
    tg10.leader = &t10;
    add_task(&t20, &tg20, 20);
    tg20.leader = &t20;
}

static void teardown(void)
{
    g_kernel.tasks[10] = g_kernel.tasks[11] = g_kernel.tasks[20] = NULL;
}

static void nap(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

TestSuite(cputime, .init = setup, .fini = teardown);

Test(cputime, states_charge_user_system_or_nothing)
{
    struct cpu_times ct;
    cputime_start(&t10);
    cputime_switch(&t10, CPU_GUEST);
    nap(20 * MS);
    cputime_switch(&t10, CPU_SENTRY);
    cputime_thread(&t10, &ct);
    cr_assert_geq(ct.utime, 20 * MS);
    cr_assert_lt(ct.stime, 10 * MS);
    uint64_t u = ct.utime;

    nap(10 * MS);   /* in the Sentry: system time, readable while it runs */
    cputime_thread(&t10, &ct);
    cr_assert_geq(ct.stime, 10 * MS);
    cr_assert_eq(ct.utime, u);

    cputime_switch(&t10, CPU_IDLE);
    uint64_t s = ct.stime;
    nap(20 * MS);   /* blocked: neither */
    cputime_switch(&t10, CPU_SENTRY);
    cputime_thread(&t10, &ct);
    cr_assert_lt(ct.stime - s, 10 * MS);
    cr_assert_eq(ct.utime, u);
    cr_assert_eq(t10.cpu.nvcsw, 1);
}

Test(cputime, group_adds_live_threads_and_the_dead)
{
    cputime_start(&t10);
    cputime_start(&t11);
    cputime_switch(&t10, CPU_GUEST);
    cputime_switch(&t11, CPU_GUEST);
    nap(10 * MS);
    cputime_switch(&t10, CPU_IDLE);
    cputime_switch(&t11, CPU_IDLE);
    tg10.used_dead.cpu.utime = 1000 * MS;
    struct cpu_times ct;
    pthread_mutex_lock(&g_kernel.mu);
    cputime_group(&tg10, &ct);
    pthread_mutex_unlock(&g_kernel.mu);
    cr_assert_geq(ct.utime, 1020 * MS);

    /* a thread's exit moves its share, so the total stays */
    pthread_mutex_lock(&g_kernel.mu);
    tg10.threads = &t10;
    t10.next = NULL;
    cputime_thread_exit(&t11);
    struct cpu_times after;
    cputime_group(&tg10, &after);
    pthread_mutex_unlock(&g_kernel.mu);
    cr_assert_eq(after.utime, ct.utime);
}

Test(cputime, reap_adds_the_child_and_its_children)
{
    struct thread_group parent, child;
    memset(&parent, 0, sizeof(parent));
    memset(&child, 0, sizeof(child));
    child.used_dead = (struct rusage_acct){ { 5, 6 }, 7, 8, 4096 };
    child.used_children = (struct rusage_acct){ { 50, 60 }, 70, 80, 8192 };
    parent.used_children.maxrss = 1024;
    struct rusage_acct use;
    cputime_reap(&parent, &child, &use);
    cr_assert_eq(use.cpu.utime, 55);
    cr_assert_eq(use.cpu.stime, 66);
    cr_assert_eq(use.min_flt, 77);
    cr_assert_eq(use.nvcsw, 88);
    cr_assert_eq(use.maxrss, 8192);
    cr_assert_eq(parent.used_children.cpu.utime, 55);
    cr_assert_eq(parent.used_children.maxrss, 8192);
}

Test(cputime, clock_ids_decode_as_linux)
{
    struct cpuclock c;
    cr_assert_eq(cpuclock_decode(&t11, CLOCK_PROCESS_CPUTIME_ID, &c), 1);
    cr_assert(c.which == CPUCLOCK_SCHED && !c.per_thread && c.id == 10);
    cr_assert_eq(cpuclock_decode(&t11, CLOCK_THREAD_CPUTIME_ID, &c), 1);
    cr_assert(c.per_thread && c.id == 11);
    cr_assert_eq(cpuclock_decode(&t11, CLOCK_MONOTONIC, &c), 0);
    /* pid 0 is the caller */
    cr_assert_eq(cpuclock_decode(&t11, PROCESS_CLOCK(0, CPUCLOCK_VIRT), &c), 1);
    cr_assert(c.which == CPUCLOCK_VIRT && c.id == 10);
    /* another process's clock; a thread clock only within the process */
    cr_assert_eq(cpuclock_decode(&t11, PROCESS_CLOCK(20, CPUCLOCK_PROF), &c), 1);
    cr_assert(c.id == 20 && !c.per_thread);
    cr_assert_eq(cpuclock_decode(&t11, THREAD_CLOCK(10, CPUCLOCK_SCHED), &c), 1);
    cr_assert_eq(cpuclock_decode(&t11, THREAD_CLOCK(20, CPUCLOCK_SCHED), &c), -EINVAL);
    cr_assert_eq(cpuclock_decode(&t11, PROCESS_CLOCK(30, CPUCLOCK_SCHED), &c), -EINVAL);
    /* 3 is a dynamic (fd) clock, which the sandbox lacks */
    cr_assert_eq(cpuclock_decode(&t11, PROCESS_CLOCK(0, 3), &c), -EINVAL);

    uint64_t ns;
    int n;
    struct cpuclock gone = { CPUCLOCK_SCHED, 1, 12 };
    cr_assert_eq(cpuclock_read(&gone, &ns, &n), -EINVAL);
    struct cpuclock proc = { CPUCLOCK_SCHED, 0, 10 };
    cr_assert_eq(cpuclock_read(&proc, &ns, &n), 0);
    cr_assert_eq(n, 2);
}

static int g_fired;
static void count_fire(struct ktimer *k, uint64_t count)
{
    (void)k;
    __atomic_add_fetch(&g_fired, (int)count, __ATOMIC_SEQ_CST);
}

Test(cputime, timer_on_a_busy_thread_fires_an_idle_one_waits)
{
    cputime_start(&t20);
    cputime_switch(&t20, CPU_GUEST);   /* "runs" from now on */
    cputime_start(&t10);
    cputime_switch(&t10, CPU_IDLE);

    struct ktimer busy, idle;
    memset(&busy, 0, sizeof(busy));
    memset(&idle, 0, sizeof(idle));
    busy.fire = idle.fire = count_fire;
    struct cpuclock c20 = { CPUCLOCK_VIRT, 1, 20 }, c10 = { CPUCLOCK_PROF, 1, 10 };
    ktimer_set_cpu(&busy, &c20);
    ktimer_set_cpu(&idle, &c10);
    g_fired = 0;
    cr_assert_eq(ktimer_set(&idle, 20 * MS, 0, 0, NULL, NULL), 0);
    cr_assert_eq(ktimer_set(&busy, 30 * MS, 0, 0, NULL, NULL), 0);
    uint64_t left, ival;
    ktimer_get(&busy, &left, &ival);
    cr_assert(left > 0 && left <= 30 * MS);
    uint64_t t0 = ktimer_now();
    while (!__atomic_load_n(&g_fired, __ATOMIC_SEQ_CST) && ktimer_now() - t0 < 5000 * MS)
        nap(MS);
    cr_assert_eq(g_fired, 1, "only the busy thread's timer fires");
    cr_assert_geq(ktimer_now() - t0, 25 * MS);
    nap(50 * MS);
    cr_assert_eq(g_fired, 1);
    ktimer_get(&busy, &left, &ival);
    cr_assert_eq(left, 0);
    ktimer_get(&idle, &left, &ival);
    cr_assert(left > 0);
    ktimer_set(&idle, 0, 0, 0, NULL, NULL);
    cputime_switch(&t20, CPU_IDLE);
}
