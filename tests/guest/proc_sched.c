/* Scheduling calls: nice values (getpriority/setpriority with their permission
 * rules), policies and priorities, CPU affinity, and what fork inherits. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errno_name(errno));
    else
        printf("%s: %ld\n", what, r);
}

int main(void)
{
    /* the raw call answers 20 - nice; glibc's getpriority turns it back */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    show("setpriority +5", setpriority(PRIO_PROCESS, 0, base + 5));
    show("nice now (relative)", getpriority(PRIO_PROCESS, 0) - base);
    printf("raw getpriority is 20 - nice: %d\n",
           syscall(SYS_getpriority, PRIO_PROCESS, 0) == 20 - (base + 5));
    show("setpriority 100 clamps", setpriority(PRIO_PROCESS, 0, 100));
    show("nice after clamp", getpriority(PRIO_PROCESS, 0));
    show("setpriority bad which", setpriority(42, 0, 0));
    show("getpriority no such pid", getpriority(PRIO_PROCESS, 999999));
    setpriority(PRIO_PROCESS, 0, 3);
    /* a process group of its own: the lowest nice value of its members */
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        show("setpriority own pgrp 7", setpriority(PRIO_PGRP, 0, 7));
        show("getpriority own pgrp", getpriority(PRIO_PGRP, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(g, NULL, 0);

    /* policies */
    show("getscheduler", sched_getscheduler(0));
    show("max FIFO", sched_get_priority_max(SCHED_FIFO));
    show("min RR", sched_get_priority_min(SCHED_RR));
    show("max OTHER", sched_get_priority_max(SCHED_OTHER));
    show("max bad policy", sched_get_priority_max(42));
    struct sched_param p = { .sched_priority = 0 };
    show("setscheduler BATCH", sched_setscheduler(0, SCHED_BATCH, &p));
    show("getscheduler after", sched_getscheduler(0));
    p.sched_priority = 5;
    show("setscheduler BATCH prio 5", sched_setscheduler(0, SCHED_BATCH, &p));
    show("setscheduler bad policy", sched_setscheduler(0, 42, &p));
    show("getscheduler no such pid", sched_getscheduler(999999));
    show("getscheduler pid -1", sched_getscheduler(-1));
    p.sched_priority = 0;
    sched_getparam(0, &p);
    printf("param priority: %d\n", p.sched_priority);
    p.sched_priority = 0;
    show("back to OTHER", sched_setscheduler(0, SCHED_OTHER, &p));

    /* affinity: a subset of the CPUs the test may use natively */
    cpu_set_t all, one;
    sched_getaffinity(0, sizeof(all), &all);
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
        if (CPU_ISSET(i, &all))
            first = i;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    show("setaffinity one CPU", sched_setaffinity(0, sizeof(one), &one));
    cpu_set_t got;
    sched_getaffinity(0, sizeof(got), &got);
    printf("affinity count now: %d, the one set: %d\n", (int)CPU_COUNT(&got),
           (int)CPU_ISSET(first, &got));
    CPU_ZERO(&one);
    CPU_SET(CPU_SETSIZE - 1, &one);
    show("setaffinity no usable CPU", sched_setaffinity(0, sizeof(one), &one));
    show("getaffinity size 3", syscall(SYS_sched_getaffinity, 0, 3, &got));

    /* fork inherits nice and affinity */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cpu_set_t c;
        sched_getaffinity(0, sizeof(c), &c);
        printf("child: nice %d, affinity count %d\n", getpriority(PRIO_PROCESS, 0),
               (int)CPU_COUNT(&c));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("restore affinity", sched_setaffinity(0, sizeof(all), &all));

    /* an unprivileged process may raise its nice value but not lower it */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (setuid(65534) < 0) {
            printf("FAIL setuid\n");
            _exit(1);
        }
        show("unprivileged +1", setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + 1));
        show("unprivileged back down", setpriority(PRIO_PROCESS, 0, 0));
        struct sched_param rt = { .sched_priority = 10 };
        show("unprivileged FIFO", sched_setscheduler(0, SCHED_FIFO, &rt));
        show("parent's nice", setpriority(PRIO_PROCESS, getppid(), 10));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
