/* execve from a thread that is not the leader: the other threads (the leader among
 * them) go, the exec'ing thread takes the process's pid (gettid() == getpid() in the
 * new program), one thread is left, the parent still sees the same child pid, and the
 * process's pending signals survive. Also from a thread after the leader itself has
 * called pthread_exit, and (argument "self") in the test's own process, which is the
 * sandbox's init: the sandbox's exit status is then the exec'd program's. */
// runs: | self
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static char **g_argv;
static int g_self;         /* the test's own process execs: the new program exits 0 */
static char g_exe[4096];   /* this program (/proc/self/exe goes with the leader's mm) */
static pid_t g_pid;

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int status_threads(void)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    CHECK(n > 0);
    close(fd);
    buf[n] = 0;
    char *p = strstr(buf, "Threads:");
    CHECK(p);
    return atoi(p + 9);
}

static int argc_self(char **argv) { return argv[3] && strcmp(argv[3], "self") == 0; }

/* after: the program the thread exec'd. */
static int after(char **argv)
{
    pid_t want = (pid_t)atoi(argv[2]);
    say("  getpid() is the old pid: %d\n", getpid() == want);
    say("  gettid() == getpid(): %d\n", (pid_t)syscall(SYS_gettid) == getpid());
    say("  Threads: %d, /proc/self/task entries: %d\n", status_threads(), count_tasks());
    sigset_t pend;
    CHECK(sigpending(&pend) == 0);
    say("  SIGUSR1 still pending: %d\n", sigismember(&pend, SIGUSR1));
    /* the thread can make threads of its own again */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, (void *(*)(void *))sched_yield, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    return argc_self(argv) ? 0 : 7;
}

static void *exec_thread(void *arg)
{
    (void)arg;
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)g_pid);
    char *args[] = { g_argv[0], "after", pid, g_self ? "self" : NULL, NULL };
    execv(g_exe, args);
    guest_fail(__FILE__, __LINE__, "execv");
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* child: a threaded process whose second thread execs; leader_exits: the leader
 * calls pthread_exit first. */
static void child(int leader_exits)
{
    g_pid = getpid();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    pthread_t th;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th, NULL, sleeper, NULL) == 0);
    CHECK(pthread_create(&th, NULL, exec_thread, NULL) == 0);
    if (leader_exits)
        pthread_exit(NULL);
    for (;;)
        pause();
}

static void run(int leader_exits)
{
    say("%s:\n", leader_exits ? "after the leader's pthread_exit" : "beside a live leader");
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child(leader_exits);
    int st;
    pid_t w = waitpid(pid, &st, 0);
    say("  wait: same pid %d, exited %d, status %d\n", w == pid, WIFEXITED(st),
        WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "after") == 0)
        return after(argv);
    g_argv = argv;
    ssize_t n = readlink("/proc/self/exe", g_exe, sizeof(g_exe) - 1);
    CHECK(n > 0);
    g_exe[n] = 0;
    if (argc > 1 && strcmp(argv[1], "self") == 0) {
        g_self = 1;
        say("in the test's own process:\n");
        child(0);
    }
    run(0);
    run(1);
    return 0;
}
