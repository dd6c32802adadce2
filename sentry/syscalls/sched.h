/* Scheduling parameters of tasks (sched.c). */
#ifndef SENTRY_SYSCALLS_SCHED_H
#define SENTRY_SYSCALLS_SCHED_H

struct task;

/* sched_init_task: the first task's parameters: SCHED_OTHER at nice, every virtual
 * CPU allowed. Later tasks copy their parent's at clone. */
void sched_init_task(struct task *t, int nice);

#endif
