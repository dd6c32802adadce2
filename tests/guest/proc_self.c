/* /proc and /sys as a process sees itself: self links, stat/status/cmdline against the
 * system calls, fd listing, exe, maps, a sysctl, cpuinfo and the sysfs CPU list.
 * Prints only whether facts agree, never the values (pids differ between runs). */
// runs: | one | two words -x
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

/* slurp: the whole of a (generated) file into buf; its length. */
static size_t slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    size_t at = 0;
    for (;;) {
        CHECK(at < size - 1);
        ssize_t n = read(fd, buf + at, size - 1 - at);
        CHECK(n >= 0);
        if (n == 0)
            break;
        at += (size_t)n;
    }
    buf[at] = '\0';
    close(fd);
    return at;
}

static const char *yes(int c) { return c ? "yes" : "no"; }

static void check_self_links(void)
{
    char buf[64], want[64];
    ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
    CHECK(n > 0);
    buf[n] = '\0';
    snprintf(want, sizeof(want), "%d", getpid());
    say("self is pid: %s\n", yes(strcmp(buf, want) == 0));
    n = readlink("/proc/thread-self", buf, sizeof(buf) - 1);
    CHECK(n > 0);
    buf[n] = '\0';
    snprintf(want, sizeof(want), "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
    say("thread-self is pid/task/tid: %s\n", yes(strcmp(buf, want) == 0));
}

static void check_stat(const char *argv0)
{
    char buf[4096];
    slurp("/proc/self/stat", buf, sizeof(buf));
    int fields = 0;
    char copy[4096];
    strcpy(copy, buf);
    for (char *t = strtok(copy, " \n"); t; t = strtok(NULL, " \n"))
        fields++;
    say("stat fields: %d\n", fields);
    int pid, ppid, pgrp, sid;
    char state;
    char *close_paren = strrchr(buf, ')');
    CHECK(close_paren);
    CHECK(sscanf(buf, "%d", &pid) == 1);
    CHECK(sscanf(close_paren + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) == 4);
    say("stat pid matches: %s\n", yes(pid == getpid()));
    say("stat state: %c\n", state);
    say("stat ppid matches: %s\n", yes(ppid == getppid()));
    say("stat pgrp matches: %s\n", yes(pgrp == getpgrp()));
    say("stat session matches: %s\n", yes(sid == getsid(0)));
    /* comm: the program's base name, cut to 15 bytes */
    const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    char comm[32];
    snprintf(comm, sizeof(comm), "(%.15s)", base);
    *(close_paren + 1) = '\0';
    say("stat comm matches: %s\n", yes(strcmp(strchr(buf, '('), comm) == 0));
}

/* status_field: the value of "Name:\t..." in /proc/self/status. */
static void status_field(const char *status, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof(key), "\n%s:\t", name);
    const char *p = strstr(status, key);
    CHECK(p);
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    CHECK(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void check_status(void)
{
    char buf[8192], v[256], want[256];
    slurp("/proc/self/status", buf, sizeof(buf));
    say("status starts with Name: %s\n", yes(strncmp(buf, "Name:\t", 6) == 0));
    status_field(buf, "Pid", v, sizeof(v));
    say("status Pid matches: %s\n", yes(atoi(v) == getpid()));
    status_field(buf, "Tgid", v, sizeof(v));
    say("status Tgid matches: %s\n", yes(atoi(v) == getpid()));
    status_field(buf, "PPid", v, sizeof(v));
    say("status PPid matches: %s\n", yes(atoi(v) == getppid()));
    status_field(buf, "Uid", v, sizeof(v));
    snprintf(want, sizeof(want), "%u\t%u\t", getuid(), geteuid());
    say("status Uid matches: %s\n", yes(strncmp(v, want, strlen(want)) == 0));
    status_field(buf, "Threads", v, sizeof(v));
    say("status Threads: %s\n", v);
    status_field(buf, "State", v, sizeof(v));
    say("status State: %s\n", v);
}

static void check_cmdline(int argc, char **argv)
{
    char buf[4096];
    size_t n = slurp("/proc/self/cmdline", buf, sizeof(buf));
    size_t at = 0;
    int ok = 1;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]) + 1;
        ok &= at + len <= n && memcmp(buf + at, argv[i], len) == 0;
        at += len;
    }
    say("cmdline equals argv: %s\n", yes(ok && at == n));
}

static void check_fds(void)
{
    int fd = open("/proc/self/stat", O_RDONLY);
    CHECK(fd > 2);
    DIR *d = opendir("/proc/self/fd");
    CHECK(d);
    int seen[4] = { 0 };
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int n = atoi(e->d_name);
        for (int i = 0; i < 3; i++)
            seen[i] |= n == i;
        seen[3] |= n == fd;
    }
    closedir(d);
    say("fd lists 0 1 2: %s\n", yes(seen[0] && seen[1] && seen[2]));
    say("fd lists the opened fd: %s\n", yes(seen[3]));
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    slurp(path, buf, sizeof(buf));
    say("fdinfo starts with pos: %s\n", yes(strncmp(buf, "pos:\t0\nflags:\t", 14) == 0));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    CHECK(n > 0);
    buf[n] = '\0';
    char want[64];
    snprintf(want, sizeof(want), "/proc/%d/stat", getpid());
    say("fd link names the file: %s\n", yes(strcmp(buf, want) == 0));
    close(fd);
}

static void check_exe(void)
{
    char target[4096];
    ssize_t n = readlink("/proc/self/exe", target, sizeof(target) - 1);
    CHECK(n > 0);
    target[n] = '\0';
    say("exe is absolute: %s\n", yes(target[0] == '/'));
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    char magic[4];
    CHECK(read(fd, magic, 4) == 4);
    say("exe reads as ELF: %s\n", yes(memcmp(magic, "\177ELF", 4) == 0));
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0);
    CHECK(stat(target, &b) == 0);
    say("exe is the link's target: %s\n", yes(a.st_ino == b.st_ino && a.st_dev == b.st_dev));
    close(fd);
}

static void check_maps(void)
{
    static char buf[1 << 20];
    slurp("/proc/self/maps", buf, sizeof(buf));
    say("maps has [stack]: %s\n", yes(strstr(buf, " [stack]\n") != NULL));
    /* the line holding a stack variable is the stack's */
    int local = 0;
    unsigned long lo, hi, at = (unsigned long)&local;
    int found = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= at && at < hi)
            found = strstr(line, "rw-p") && strstr(line, "[stack]");
    say("stack variable is in [stack]: %s\n", yes(found));
}

static void check_system(void)
{
    char buf[65536];
    slurp("/proc/sys/kernel/pid_max", buf, sizeof(buf));
    char *end;
    long pid_max = strtol(buf, &end, 10);
    say("pid_max parses: %s\n", yes(pid_max > getpid() && *end == '\n'));
    slurp("/proc/cpuinfo", buf, sizeof(buf));
    int procs = 0;
    for (char *p = buf; (p = strstr(p, "processor\t: ")); p++)
        procs++;
    say("cpuinfo has processor lines: %s\n", yes(procs > 0));
    say("cpuinfo processors match sysconf: %s\n",
        yes(procs == sysconf(_SC_NPROCESSORS_ONLN)));
    slurp("/sys/devices/system/cpu/online", buf, sizeof(buf));
    int first, last = -1, cpus = -1;
    if (sscanf(buf, "%d-%d", &first, &last) == 2)
        cpus = last - first + 1;
    else if (sscanf(buf, "%d", &first) == 1)
        cpus = 1;
    say("sysfs online parses: %s\n", yes(cpus > 0));
    say("sysfs online matches cpuinfo: %s\n", yes(cpus == procs));
    double up, idle;
    slurp("/proc/uptime", buf, sizeof(buf));
    say("uptime parses: %s\n", yes(sscanf(buf, "%lf %lf", &up, &idle) == 2 && up >= 0));
    slurp("/proc/meminfo", buf, sizeof(buf));
    say("meminfo starts with MemTotal: %s\n", yes(strncmp(buf, "MemTotal:", 9) == 0));
    slurp("/proc/self/limits", buf, sizeof(buf));
    say("limits header: %s\n", yes(strncmp(buf, "Limit                     Soft Limit", 36) == 0));
}

static void check_seek(void)
{
    int fd = open("/proc/self/status", O_RDONLY);
    CHECK(fd >= 0);
    char a[16], b[16];
    CHECK(read(fd, a, sizeof(a)) == sizeof(a));
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, b, sizeof(b)) == sizeof(b));
    say("seek and reread: %s\n", yes(memcmp(a, b, sizeof(a)) == 0));
    close(fd);
}

int main(int argc, char **argv)
{
    check_self_links();
    check_stat(argv[0]);
    check_status();
    check_cmdline(argc, argv);
    check_fds();
    check_exe();
    check_maps();
    check_system();
    check_seek();
    return 0;
}
