/* System calls made again and again from the same instruction, as the KVM platform
 * on PVM hosts rewrites each `syscall` site the first time it traps there
 * (sentry/mm/syscall_patch.h): the rewritten site must keep working in threads racing
 * for its first call, in a forked child, across a restarted call, and a `syscall`
 * in code the Sentry must not rewrite (a shared file mapping, writable code) must
 * stay as it is. Natively all of this simply works; each step prints what it saw. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <sys/wait.h>

#define CALLS 200

static long raw_getppid(void) { return syscall(SYS_getppid); }

static void *thread_calls(void *arg)
{
    long want = (long)arg, bad = 0;
    for (int i = 0; i < CALLS; i++)
        if (raw_getppid() != want)
            bad++;
    return (void *)bad;
}

static void on_alarm(int sig) { (void)sig; }

/* The guest's own `out` to the port the patched instruction uses is what it is
 * natively: a #GP, SIGSEGV with si_code SI_KERNEL at the instruction, registers as
 * they were. */
extern const char own_out[];
static volatile long seen_code = -1, seen_at_out, seen_rcx, seen_r11;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    ucontext_t *uc = ctx;
    seen_code = si->si_code;
    seen_at_out = uc->uc_mcontext.gregs[REG_RIP] == (greg_t)own_out;
    seen_rcx = uc->uc_mcontext.gregs[REG_RCX];
    seen_r11 = uc->uc_mcontext.gregs[REG_R11];
    uc->uc_mcontext.gregs[REG_RIP] += 2;   /* past the out */
}

static void own_port_io(void)
{
    struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
    sigaction(SIGSEGV, &sa, NULL);
    __asm__ volatile("mov $0x1234, %%rcx\n\t"
                     "mov $0x5678, %%r11\n\t"
                     ".globl own_out\n"
                     "own_out: outb %%al, $0x80"
                     ::: "rcx", "r11", "memory");
    printf("own out: si_code SI_KERNEL %d, at the out %ld, rcx kept %d, r11 kept %d\n",
           seen_code == SI_KERNEL, seen_at_out, seen_rcx == 0x1234, seen_r11 == 0x5678);
    signal(SIGSEGV, SIG_DFL);
}

/* mov $39,%eax (getpid); syscall; ret */
static const unsigned char getpid_code[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };

static int run_code_in(const char *what, void *page)
{
    long (*fn)(void) = (long (*)(void))page;
    int ok = 1;
    for (int i = 0; i < CALLS; i++)
        ok &= fn() == getpid();
    printf("%s: %d calls %s\n", what, CALLS, ok ? "ok" : "WRONG");
    return ok;
}

int main(void)
{
    long ppid = getppid();
    int ok = 1;
    for (int i = 0; i < CALLS; i++)
        ok &= raw_getppid() == ppid;
    printf("one site, %d calls: %s\n", CALLS, ok ? "ok" : "WRONG");

    /* four threads whose first calls race at sites nobody used yet */
    pthread_t th[4];
    long pid = getpid();
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, thread_calls, (void *)ppid) == 0);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    printf("threads: %ld wrong answers\n", bad);

    /* a forked child runs the parent's sites */
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        int cok = 1;
        for (int i = 0; i < CALLS; i++)
            cok &= raw_getppid() == pid;
        _exit(cok ? 0 : 3);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    /* a read interrupted by a signal with SA_RESTART is made again from its site */
    int p[2];
    CHECK(pipe(p) == 0);
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
    sigaction(SIGALRM, &sa, NULL);
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        usleep(300 * 1000);
        write(p[1], "x", 1);
        _exit(0);
    }
    ualarm(100 * 1000, 0);
    char ch = 0;
    ssize_t n = read(p[0], &ch, 1);
    printf("restarted read: %zd '%c'\n", n, ch);
    waitpid(c, &st, 0);

    /* code in a shared mapping of a file: the file must never change */
    int fd = memfd_create("code", 0);
    CHECK(fd >= 0);
    CHECK(write(fd, getpid_code, sizeof(getpid_code)) == (ssize_t)sizeof(getpid_code));
    CHECK(ftruncate(fd, 4096) == 0);
    void *shared = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    CHECK(shared != MAP_FAILED);
    run_code_in("shared file mapping", shared);
    unsigned char back[sizeof(getpid_code)];
    CHECK(pread(fd, back, sizeof(back), 0) == (ssize_t)sizeof(back));
    printf("file bytes unchanged: %s\n", memcmp(back, getpid_code, sizeof(back)) ? "no" : "yes");
    printf("mapped bytes unchanged: %s\n",
           memcmp(shared, getpid_code, sizeof(getpid_code)) ? "no" : "yes");

    /* writable code (a JIT's): its bytes stay the program's */
    void *jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(jit != MAP_FAILED);
    memcpy(jit, getpid_code, sizeof(getpid_code));
    run_code_in("writable anonymous code", jit);
    printf("jit bytes unchanged: %s\n", memcmp(jit, getpid_code, sizeof(getpid_code)) ? "no" : "yes");

    own_port_io();
    return 0;
}
