/* The sandbox-wide state of the Sentry (one per sandbox) and how it boots. */
#ifndef SENTRY_KERNEL_KERNEL_H
#define SENTRY_KERNEL_KERNEL_H

#include <time.h>

/* What uname reports: the Linux the Sentry implements, not the host's. */
#define KERNEL_RELEASE "6.1.0-sandbox"
#define KERNEL_VERSION "#1 SMP PREEMPT_DYNAMIC sandbox"

/* Linux caps getrandom(2) at this per call. */
#define MAX_RANDOM_COUNT (32U << 20)
/* The RLIMIT_NOFILE hard ceiling (fs.nr_open). */
#define FD_MAX_GUEST 1048576

#include <pthread.h>

struct task;

/* Thread ids the sandbox hands out: 1 .. PID_MAX-1 (/proc/sys/kernel/pid_max). */
#define PID_MAX 32768

struct kernel {
    pthread_mutex_t mu;            /* the task table and process tree */
    pthread_cond_t thread_exit;    /* broadcast (with mu) when a thread exits */
    struct task *tasks[PID_MAX];   /* by tid; mu */
    int last_tid;                  /* mu */
    struct task *init;             /* the first task (pid 1) */
    char hostname[65];             /* immutable after boot */
    struct timespec boot_time;     /* CLOCK_BOOTTIME at boot */
    int ncpus;                     /* see kernel_ncpus */
};

extern struct kernel g_kernel;

/* What the front end hands the Sentry. */
struct boot_config {
    const char *platform;          /* "ptrace" */
    int gofer_sock;                /* the Gofer serving the root (the Sentry's end) */
    int root_readonly;             /* the served tree is the overlay's read-only lower */
    const char *exe_path;          /* as the user named it: looked up inside the sandbox */
    char *const *argv;
    char *const *envp;
    int stdio[3];                  /* host fds for the guest's 0, 1, 2 (dup'd here) */
    const char *cwd;
    unsigned uid, gid;             /* the guest's first ids, when ids_given; else the */
    int ids_given;                 /* Sentry's own */
    int strace;
    const char *debug_log;         /* NULL: none */
    int probe_confinement;         /* report on stderr what the confined Sentry is
                                    * refused (sentry_confinement_probe) */
    int network;                   /* enum net_mode (sentry/socket/ifaces.h) */
    int net_plain_io;              /* --network=sandbox: recvmmsg/sendmmsg, not io_uring */
};

/* sentry_boot: builds the sandbox, confines the Sentry (sentry/confine.h), runs the
 * program to its end and returns its wait status (exit code << 8, or the killing
 * signal). Returns -errno if the program could not be started, or
 * SENTRY_SETUP_FAILED if the sandbox itself could not be set up; a message is
 * already logged either way. */
#define SENTRY_SETUP_FAILED (-100000)
int sentry_boot(const struct boot_config *cfg);

/* kernel_ncpus: how many CPUs the sandbox shows: the host's online CPUs, counted
 * once (at boot: the host's /sys is out of reach once the Sentry is confined). */
int kernel_ncpus(void);

/* kernel_find_task: the task with thread id tid, or NULL. g_kernel.mu held: the
 * task stays valid while it is. */
struct task *kernel_find_task(int tid);
/* kernel_alloc_tid: a free thread id for t, entered in the table. g_kernel.mu held.
 * -EAGAIN when all are taken. */
int kernel_alloc_tid(struct task *t);

#endif
