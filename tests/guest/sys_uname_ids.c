/* Identity and machine queries: uname, the id calls, getrandom, resource limits,
 * sysinfo, CPU affinity and the working directory. Prints only what is the same
 * everywhere (names, not numbers: uids and pids differ in the sandbox). */
#include "guest.h"

#include <limits.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

static void test_uname(void)
{
    struct utsname u;
    CHECK(uname(&u) == 0);
    CHECK(strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0);
    CHECK(u.release[0] >= '1' && u.release[0] <= '9' && u.nodename[0] != '\0');
    say("uname: sysname=%s machine=%s\n", u.sysname, u.machine);
    CHECK_ERR(syscall(SYS_uname, (void *)1), EFAULT);
    say("ok uname into a bad pointer: EFAULT\n");
}

static void test_ids(void)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid());
    CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == getgid() && ge == getegid());
    CHECK((uid_t)syscall(SYS_getuid) == getuid() && (gid_t)syscall(SYS_getgid) == getgid());
    say("ok uid/gid calls agree\n");

    pid_t pid = getpid();
    CHECK(pid > 0 && pid == syscall(SYS_getpid));
    CHECK(syscall(SYS_gettid) == pid); /* the only thread is the leader */
    CHECK(getppid() >= 0);
    say("ok getpid == gettid, getppid\n");
}

static void test_getrandom(void)
{
    unsigned char a[64], b[64];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    CHECK(syscall(SYS_getrandom, a, sizeof(a), 0L) == (long)sizeof(a));
    CHECK(syscall(SYS_getrandom, b, sizeof(b), 1L /* GRND_NONBLOCK */) == (long)sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    CHECK(syscall(SYS_getrandom, a, 0L, 0L) == 0);
    CHECK_ERR(syscall(SYS_getrandom, a, sizeof(a), 0x80L), EINVAL);
    CHECK_ERR(syscall(SYS_getrandom, (void *)1, sizeof(a), 0L), EFAULT);
    say("ok getrandom 64 bytes, flags and errors\n");
}

static void test_rlimits(void)
{
    struct rlimit rl, raw;
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
    CHECK(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 128 * 1024);
    CHECK(rl.rlim_max == RLIM_INFINITY || rl.rlim_cur <= rl.rlim_max);
    CHECK(syscall(SYS_prlimit64, 0L, (long)RLIMIT_STACK, NULL, &raw) == 0);
    CHECK(raw.rlim_cur == rl.rlim_cur && raw.rlim_max == rl.rlim_max);
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 3);
    CHECK_ERR(syscall(SYS_prlimit64, 0L, 12345L, NULL, &raw), EINVAL);
    say("ok RLIMIT_STACK sane, prlimit64 agrees with getrlimit\n");
}

static void test_sysinfo(void)
{
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    CHECK(si.mem_unit >= 1 && si.totalram > 0 && si.freeram <= si.totalram);
    CHECK(si.procs >= 1);
    say("ok sysinfo\n");
}

static void test_affinity(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
    CHECK(CPU_COUNT(&set) >= 1);
    /* The raw call returns the size of the kernel's mask in bytes. */
    long n = syscall(SYS_sched_getaffinity, 0L, sizeof(set), &set);
    CHECK(n >= 8 && n <= (long)sizeof(set) && n % 8 == 0);
    say("ok sched_getaffinity has at least one CPU\n");
}

static void test_getcwd(void)
{
    char buf[PATH_MAX];
    CHECK(getcwd(buf, sizeof(buf)) == buf && buf[0] == '/');
    long n = syscall(SYS_getcwd, buf, sizeof(buf));
    CHECK(n == (long)strlen(buf) + 1 && buf[0] == '/');
    CHECK_ERR(syscall(SYS_getcwd, buf, 1L), ERANGE);
    say("ok getcwd is absolute\n");
}

int main(void)
{
    test_uname();
    test_ids();
    test_getrandom();
    test_rlimits();
    test_sysinfo();
    test_affinity();
    test_getcwd();
    return 0;
}
