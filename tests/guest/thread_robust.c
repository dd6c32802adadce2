/* Robust futexes: when a thread dies holding a robust mutex, the kernel walks the
 * list the thread registered (set_robust_list), marks each futex it owns
 * FUTEX_OWNER_DIED and wakes a waiter, so the next locker gets EOWNERDEAD.
 *
 * Through pthreads: a private robust mutex (glibc uses the kernel's list for it,
 * musl its own bookkeeping) and a process-shared one in shared memory (the kernel's
 * list with both libcs), each left locked by a dying owner, both with the next locker
 * already asleep and not. Then the walk itself, with a hand-made list: owned and
 * foreign entries, the pending entry, a cycle (the walk is bounded), get_robust_list. */
#include "guest.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

/* <linux/futex.h> is not in musl's include path. */
#define FUTEX_WAIT_ 0
#define FUTEX_WAITERS_ 0x80000000u

static const char *lock_result(int r)
{
    switch (r) {
    case 0: return "0";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    default: return errno_name(r);
    }
}

static void robust_init(pthread_mutex_t *m, int pshared)
{
    pthread_mutexattr_t at;
    CHECK(pthread_mutexattr_init(&at) == 0);
    CHECK(pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST) == 0);
    if (pshared)
        CHECK(pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED) == 0);
    CHECK(pthread_mutex_init(m, &at) == 0);
    pthread_mutexattr_destroy(&at);
}

/* ---- threads ---- */

struct owner { pthread_mutex_t *m; int locked[2]; int linger_ms; };

/* owner_thread: locks the mutex, says so, maybe waits a little, and exits holding
 * it. */
static void *owner_thread(void *p)
{
    struct owner *o = p;
    CHECK(pthread_mutex_lock(o->m) == 0);
    CHECK(write(o->locked[1], "l", 1) == 1);
    if (o->linger_ms)
        usleep((useconds_t)o->linger_ms * 1000);
    return NULL;
}

static void thread_dies(pthread_mutex_t *m, int sleeping_waiter)
{
    struct owner o = { .m = m, .linger_ms = sleeping_waiter ? 100 : 0 };
    CHECK(pipe(o.locked) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, owner_thread, &o) == 0);
    char b;
    CHECK(read(o.locked[0], &b, 1) == 1);
    if (!sleeping_waiter)
        CHECK(pthread_join(th, NULL) == 0);
    /* with a sleeping waiter this blocks until the owner's death wakes it */
    int r = pthread_mutex_lock(m);
    say("  lock after the owner thread died%s: %s\n",
        sleeping_waiter ? " (waiting)" : "", lock_result(r));
    if (sleeping_waiter)
        CHECK(pthread_join(th, NULL) == 0);
    if (r == EOWNERDEAD) {
        say("  consistent: %s\n", lock_result(pthread_mutex_consistent(m)));
        CHECK(pthread_mutex_unlock(m) == 0);
    }
    say("  lock again: %s\n", lock_result(pthread_mutex_lock(m)));
    CHECK(pthread_mutex_unlock(m) == 0);
    close(o.locked[0]);
    close(o.locked[1]);
}

static void private_mutex(void)
{
    say("private robust mutex\n");
    static pthread_mutex_t m;
    robust_init(&m, 0);
    thread_dies(&m, 0);
    thread_dies(&m, 1);
    /* left inconsistent: nobody can have it any more */
    struct owner o = { .m = &m };
    CHECK(pipe(o.locked) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, owner_thread, &o) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    say("  lock: %s\n", lock_result(pthread_mutex_lock(&m)));
    CHECK(pthread_mutex_unlock(&m) == 0);
    say("  lock after an unlock without consistent: %s\n",
        lock_result(pthread_mutex_lock(&m)));
}

/* ---- processes ---- */

static void process_dies(pthread_mutex_t *m, int sleeping_waiter)
{
    int locked[2];
    CHECK(pipe(locked) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(pthread_mutex_lock(m) == 0);
        CHECK(write(locked[1], "l", 1) == 1);
        if (sleeping_waiter)
            usleep(100 * 1000);
        _exit(0);
    }
    char b;
    CHECK(read(locked[0], &b, 1) == 1);
    int st;
    if (!sleeping_waiter)
        CHECK(waitpid(pid, &st, 0) == pid);
    int r = pthread_mutex_lock(m);
    say("  lock after the owner process died%s: %s\n",
        sleeping_waiter ? " (waiting)" : "", lock_result(r));
    if (sleeping_waiter)
        CHECK(waitpid(pid, &st, 0) == pid);
    if (r == EOWNERDEAD)
        say("  consistent: %s\n", lock_result(pthread_mutex_consistent(m)));
    CHECK(pthread_mutex_unlock(m) == 0);
    close(locked[0]);
    close(locked[1]);
}

static void shared_mutex(void)
{
    say("process-shared robust mutex\n");
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                              -1, 0);
    CHECK(m != MAP_FAILED);
    robust_init(m, 1);
    process_dies(m, 0);
    process_dies(m, 1);
    munmap(m, 4096);
}

/* ---- the kernel's walk, by hand ---- */

struct robust_head { void *next; long futex_offset; void *pending; };
struct entry { void *next; uint32_t futex; uint32_t pad; };

struct shared {
    struct robust_head head;
    struct entry e[5];
    int ready;        /* the child has registered its list */
    pid_t tid;        /* its tid */
};

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

struct waiter_arg { struct shared *s; long r; int err; };

static void *futex_waiter(void *p)
{
    struct waiter_arg *w = p;
    struct timespec ts = { 5, 0 };
    uint32_t v = __atomic_load_n(&w->s->e[0].futex, __ATOMIC_ACQUIRE);
    errno = 0;
    w->r = futex(&w->s->e[0].futex, FUTEX_WAIT_, v, &ts);
    w->err = errno;
    return NULL;
}

static void hand_made_list(void)
{
    say("hand-made robust list\n");
    struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    CHECK(s != MAP_FAILED);
    memset(s, 0, sizeof(*s));   /* touched before fork (see the note in main) */
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint32_t tid = (uint32_t)syscall(SYS_gettid);
        /* head -> e0 -> e1 -> e2 -> head; e3 is the pending operation */
        s->head.futex_offset = offsetof(struct entry, futex);
        s->head.next = &s->e[0];
        s->e[0].next = &s->e[1];
        s->e[1].next = &s->e[2];
        s->e[2].next = &s->head;
        s->head.pending = &s->e[3];
        s->e[0].futex = tid | FUTEX_WAITERS_;     /* owned, with a waiter */
        s->e[1].futex = tid;                     /* owned */
        s->e[2].futex = tid + 1;                 /* someone else's */
        s->e[3].futex = 0;                       /* pending: free */
        CHECK(syscall(SYS_set_robust_list, &s->head, sizeof(s->head)) == 0);
        CHECK_ERR(syscall(SYS_set_robust_list, &s->head, 8), EINVAL);
        s->tid = (pid_t)tid;
        __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
        char b;
        read(go[0], &b, 1);
        _exit(0);
    }
    while (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
        usleep(1000);
    void *head = NULL;
    size_t len = 0;
    CHECK(syscall(SYS_get_robust_list, pid, &head, &len) == 0);
    say("  get_robust_list(child): its head %d, len %zu\n", head == &s->head, len);
    CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0);
    say("  get_robust_list(0): registered %d\n", head != NULL);
    CHECK_ERR(syscall(SYS_get_robust_list, 0x7ffffff0, &head, &len), ESRCH);
    /* a waiter on the owned futex with FUTEX_WAITERS, woken by the owner's death */
    struct waiter_arg w = { .s = s };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, futex_waiter, &w) == 0);
    usleep(50 * 1000);
    CHECK(write(go[1], "x", 1) == 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(pthread_join(th, NULL) == 0);
    say("  waiter woken (or saw the change first): %d\n",
        w.r == 0 || (w.r == -1 && w.err == EAGAIN));
    say("  owned+waiters: %#x, owned: %#x, foreign unchanged: %d, pending unchanged: %d\n",
        s->e[0].futex, s->e[1].futex, s->e[2].futex == (uint32_t)s->tid + 1,
        s->e[3].futex == 0);

    /* a cycle that never returns to the head: the walk stops after 2048 entries */
    memset(s, 0, sizeof(*s));
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint32_t tid = (uint32_t)syscall(SYS_gettid);
        s->head.futex_offset = offsetof(struct entry, futex);
        s->head.next = &s->e[0];
        s->e[0].next = &s->e[1];
        s->e[1].next = &s->e[0];
        s->e[0].futex = tid;
        s->e[1].futex = tid;
        /* and an unreadable pending entry */
        s->head.pending = (void *)8;
        CHECK(syscall(SYS_set_robust_list, &s->head, sizeof(s->head)) == 0);
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    say("  cycle: child exited %d, both marked: %#x %#x\n", WIFEXITED(st),
        s->e[0].futex, s->e[1].futex);

    /* an unreadable entry ends the walk */
    memset(s, 0, sizeof(*s));
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint32_t tid = (uint32_t)syscall(SYS_gettid);
        s->head.futex_offset = offsetof(struct entry, futex);
        s->head.next = &s->e[0];
        s->e[0].next = (void *)8;
        s->e[0].futex = tid;
        CHECK(syscall(SYS_set_robust_list, &s->head, sizeof(s->head)) == 0);
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    say("  bad next pointer: child exited %d, first marked: %#x\n", WIFEXITED(st),
        s->e[0].futex);
    munmap(s, 4096);
}

/* The shared pages are written before each fork: the sandbox's MAP_SHARED anonymous
 * mappings share only pages that existed at fork (a known mm gap), which is not what
 * this test is about. */
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    private_mutex();
    shared_mutex();
    hand_made_list();
    return 0;
}
