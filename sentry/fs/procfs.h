/* procfs and sysfs: the Sentry's own /proc and /sys, generated from the sandbox's
 * state (tasks, address spaces, fd tables, mounts). No host file is touched. */
#ifndef SENTRY_FS_PROCFS_H
#define SENTRY_FS_PROCFS_H

#include <stddef.h>

struct inode;
struct superblock;
struct task;

/* procfs_new: a proc filesystem (SB_NOCACHE: its entries follow the processes).
 * *root gets its root directory with one reference, for vfs_mount_at. NULL with *err
 * set on failure. */
struct superblock *procfs_new(struct inode **root, int *err);

/* sysfs_new: a minimal sysfs: /devices/system/cpu/{online,possible,present}. */
struct superblock *sysfs_new(struct inode **root, int *err);

/* procfs_ncpus: the virtual CPUs the sandbox shows (cpuinfo, /proc/stat, sysfs,
 * Cpus_allowed): the host's online CPUs, as sched_getaffinity reports. */
int procfs_ncpus(void);

/* Formatters of the files' text, usable without a mounted /proc (tests, debugging).
 * Each writes at most size bytes (NUL-terminated when size > 0) and returns the
 * length the whole text needs, like snprintf. The task ones take g_kernel.mu
 * themselves to copy the task's state, so the caller must not hold it and must keep
 * t alive. */
size_t procfs_fmt_stat(struct task *t, char *buf, size_t size);
size_t procfs_fmt_status(struct task *t, char *buf, size_t size);
size_t procfs_fmt_statm(struct task *t, char *buf, size_t size);
size_t procfs_fmt_limits(struct task *t, char *buf, size_t size);
size_t procfs_fmt_maps(struct task *t, char *buf, size_t size);
size_t procfs_fmt_meminfo(char *buf, size_t size);
size_t procfs_fmt_cpuinfo(char *buf, size_t size);
size_t procfs_fmt_uptime(char *buf, size_t size);
size_t procfs_fmt_loadavg(char *buf, size_t size);
size_t procfs_fmt_version(char *buf, size_t size);

/* How a nameless open file (f->path.d == NULL) shows in /proc/PID/fd/N, by its
 * inode: a FIFO is "pipe:[ino]", a socket "socket:[ino]", anything else
 * "anon_inode:" followed by its superblock's fstype. Special files therefore name
 * their superblock as Linux names the anon inode: "[eventfd]", "[eventpoll]",
 * "[signalfd]", "[timerfd]", "inotify". A file with no inode (host stdio) shows as
 * its host type says (pipe/socket) or "anon_inode:[hostfd]". */

#endif
