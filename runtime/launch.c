/* Starting a sandbox: the Gofer (gofer_spawn), then the Sentry, a fresh exec of this
 * binary as `sandbox boot` in new mount, pid, ipc, uts and network namespaces (the
 * host's network namespace with --network=host; with --network=sandbox the one the
 * CLI runs in or joins with --netns, never the initial one), which
 * confines itself before running any guest code. The CLI then only waits, forwarding
 * the signals people send it. Started by a user other than root, both get a user
 * namespace of their own first, whose root is that user (lib/userns.h). */
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gofer/gofer.h"
#include "lib/userns.h"
#include "runtime/cli.h"

/* The fd `boot` finds the Gofer's socket on. */
#define BOOT_GOFER_FD 3

#define BOOT_NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | \
                         CLONE_NEWNET)

/* keeps_netns: the Sentry stays in our network namespace: the host's, whose sockets
 * its guest's INET sockets are (host), or the one whose links it takes over
 * (sandbox). */
static int keeps_netns(const struct launch_spec *s)
{
    return s->network && (strcmp(s->network, "host") == 0 ||
                          strcmp(s->network, "sandbox") == 0);
}

/* The initial network namespace's inode number on kernels that give the initial
 * namespaces fixed ones (include/linux/proc_ns.h, 6.18 on); before, it was allocated
 * at boot like any other. */
#define PROC_NET_INIT_INO 0xEFFFFFF9U

/* fixed_init_inodes: the kernel numbers the initial network namespace so (6.18 has
 * it; other namespaces get numbers from 0xF0000000 up, so never this one). */
static int fixed_init_inodes(void)
{
    struct utsname u;
    unsigned major, minor;
    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return 0;
    return major > 6 || (major == 6 && minor >= 18);
}

/* enter_sandbox_netns: --network=sandbox: joins --netns if given, then refuses the
 * namespace of PID 1 (the host's, as a rule): the Sentry would take the host's own
 * interfaces and addresses away. 0, or an exit status for the CLI. */
static int enter_sandbox_netns(const struct launch_spec *s)
{
    if (geteuid() != 0) {
        cli_error("--network=sandbox needs root: the Sentry takes the namespace's links "
                  "over (CAP_NET_ADMIN, CAP_NET_RAW)");
        return EXIT_USAGE;
    }
    if (s->netns) {
        int fd = open(s->netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            cli_error("--netns=%s: %s", s->netns, strerror(errno));
            if (fd >= 0)
                close(fd);
            return EXIT_USAGE;
        }
        close(fd);
    }
    struct stat ours, init;
    if (stat("/proc/self/ns/net", &ours) < 0) {
        cli_error("--network=sandbox: /proc/self/ns/net: %s", strerror(errno));
        return EXIT_USAGE;
    }
    int initial;
    if (stat("/proc/1/ns/net", &init) == 0) {
        initial = ours.st_dev == init.st_dev && ours.st_ino == init.st_ino;
    } else if (ours.st_ino == PROC_NET_INIT_INO || fixed_init_inodes()) {
        initial = ours.st_ino == PROC_NET_INIT_INO;
    } else {
        /* PID 1 hidden from us (another user namespace, say) on a kernel whose
         * initial namespace has no fixed number: not knowing is a refusal */
        cli_error("--network=sandbox: cannot tell this network namespace from the "
                  "host's (/proc/1/ns/net: %s)", strerror(errno));
        return EXIT_USAGE;
    }
    if (initial) {
        cli_error("--network=sandbox: refusing the initial network namespace (that of "
                  "PID 1): the sandbox would take the host's interfaces over and cut it "
                  "off. Run it in a namespace of its own (ip netns exec NAME sandbox run "
                  "..., or --netns=/var/run/netns/NAME)");
        return EXIT_USAGE;
    }
    return 0;
}

static pid_t g_sentry = -1;

/* Signals `kill` sends the CLI go on to the Sentry, which hands them to the guest.
 * (A terminal's SIGINT and SIGQUIT reach the Sentry directly: it is in our process
 * group; the CLI ignores them while it waits.) */
static void forward_signal(int sig)
{
    if (g_sentry > 0)
        kill(g_sentry, sig);
}

/* boot_argv: `sandbox boot FLAGS -- PROGRAM ARGS...`. */
static char **boot_argv(const struct launch_spec *s)
{
    size_t n = 0;
    while (s->argv[n])
        n++;
    char **v = calloc(n + 16, sizeof(char *));
    if (!v)
        return NULL;
    static char fd[16], ids[48];
    snprintf(fd, sizeof(fd), "%d", BOOT_GOFER_FD);
    /* the guest runs as the user who started it; the Sentry's own ids may be those
     * of its user namespace */
    snprintf(ids, sizeof(ids), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
    size_t i = 0;
    v[i++] = "sandbox";
    v[i++] = "boot";
    v[i++] = "--gofer-fd";
    v[i++] = fd;
    v[i++] = "--platform";
    v[i++] = (char *)s->platform;
    v[i++] = "--cwd";
    v[i++] = (char *)s->cwd;
    v[i++] = "--ids";
    v[i++] = ids;
    if (s->readonly)
        v[i++] = "--readonly";
    if (s->strace)
        v[i++] = "--strace";
    if (s->probe_confinement)
        v[i++] = "--probe-confinement";
    v[i++] = "--network";
    v[i++] = (char *)(s->network ? s->network : "none");
    if (s->net_io) {
        v[i++] = "--net-io";
        v[i++] = (char *)s->net_io;
    }
    if (s->debug_log) {
        v[i++] = "--debug-log";
        v[i++] = (char *)s->debug_log;
    }
    v[i++] = "--";
    for (size_t k = 0; k < n; k++)
        v[i++] = s->argv[k];
    v[i] = NULL;
    return v;
}

/* boot_child: in the new namespaces: waits for the parent's go, keeps stdio and the
 * Gofer's socket, and becomes `sandbox boot`. */
static void __attribute__((noreturn)) boot_child(int gofer_sock, int sync_fd, char **argv,
                                                 char *const *envp)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* end of file instead of the byte: the CLI is gone */
    char c;
    if (read(sync_fd, &c, 1) != 1)
        _exit(126);
    if (gofer_sock == BOOT_GOFER_FD)
        fcntl(gofer_sock, F_SETFD, 0);
    else if (dup2(gofer_sock, BOOT_GOFER_FD) < 0)
        _exit(126);
    close_range(BOOT_GOFER_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    execve("/proc/self/exe", argv, envp);
    _exit(126);
}

/* start_sentry: clones the boot process into its namespaces (and a user namespace
 * mapped to us when rootless) and lets it go once they are set up. */
static pid_t start_sentry(const struct launch_spec *s, int gofer_sock, int rootless)
{
    char **argv = boot_argv(s);
    int sync[2];
    if (!argv || pipe2(sync, O_CLOEXEC) < 0) {
        free(argv);
        return -ENOMEM;
    }
    long flags = BOOT_NAMESPACES | SIGCHLD | (rootless ? CLONE_NEWUSER : 0);
    if (keeps_netns(s))
        flags &= ~CLONE_NEWNET;
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid == 0) {
        close(sync[1]);
        boot_child(gofer_sock, sync[0], argv, s->envp);
    }
    int e = errno;
    close(sync[0]);
    free(argv);
    if (pid < 0) {
        close(sync[1]);
        return -e;
    }
    int err = rootless ? userns_map_root((pid_t)pid, getuid(), getgid()) : 0;
    if (err == 0 && write(sync[1], "g", 1) != 1)
        err = -errno;
    close(sync[1]);   /* without the byte, the child exits */
    if (err < 0) {
        waitpid((pid_t)pid, NULL, 0);
        return err;
    }
    return (pid_t)pid;
}

int launch_sandbox(const struct launch_spec *s)
{
    if (s->network && strcmp(s->network, "sandbox") == 0) {
        int r = enter_sandbox_netns(s);
        if (r)
            return r;
    }
    int rootless = geteuid() != 0;
    int gofer_sock;
    pid_t gofer;
    int r = gofer_spawn(s->root, s->readonly, rootless, &gofer_sock, &gofer);
    if (r < 0) {
        cli_error("cannot start the Gofer%s: %s", rootless ? " in a user namespace" : "",
                  strerror(-r));
        if (rootless)
            cli_error("rootless sandboxes need unprivileged user namespaces "
                      "(/proc/sys/user/max_user_namespaces > 0)");
        return 126;
    }
    /* The Sentry's first task runs on CPU 0 (the ptrace platform hands CPUs out
     * round-robin from 0), and a Gofer round trip costs ~10 us on the caller's CPU
     * against 40-100 us across CPUs here: keep the Gofer next to it. */
    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    sched_setaffinity(gofer, sizeof(cpu0), &cpu0);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    pid_t sentry = start_sentry(s, gofer_sock, rootless);
    /* the Gofer must see the socket close when the Sentry goes */
    close(gofer_sock);
    if (sentry < 0) {
        cli_error("cannot start the Sentry in new namespaces: %s", strerror(-sentry));
        kill(gofer, SIGKILL);
        waitpid(gofer, NULL, 0);
        return 126;
    }
    g_sentry = sentry;
    struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    const int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH };
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaction(forwarded[i], &sa, NULL);

    int status;
    while (waitpid(sentry, &status, 0) < 0)
        if (errno != EINTR) {
            cli_error("waiting for the Sentry: %s", strerror(errno));
            return 126;
        }
    g_sentry = -1;
    /* it serves nobody now (and has seen its socket close already, unless stuck) */
    kill(gofer, SIGKILL);
    waitpid(gofer, NULL, 0);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    if (sig == SIGSYS)
        cli_error("the Sentry made a host system call outside its seccomp allowlist "
                  "and was killed (a bug; --debug-log shows its last steps)");
    else if (sig != SIGKILL)
        cli_error("the Sentry died of signal %d (%s): a bug", sig, strsignal(sig));
    return 128 + sig;
}
