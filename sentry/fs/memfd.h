/* memfd_create's files: regular files of a Sentry-internal tmpfs that no directory
 * holds, on a mount in no tree, so /proc/PID/fd and /proc/PID/maps show
 * "/memfd:NAME (deleted)" as on Linux. Data, mmap and seals are tmpfs's. */
#ifndef SENTRY_FS_MEMFD_H
#define SENTRY_FS_MEMFD_H

struct file;

/* memfd_new: a new memfd file called name (at most 249 bytes; "memfd:" is put
 * before it), open O_RDWR, owned by uid/gid, with mode 0777 (0666 when noexec) and
 * the given initial seals (F_SEAL_*). 0 or -errno; *out gets the file's reference. */
int memfd_new(const char *name, unsigned uid, unsigned gid, int noexec, unsigned seals,
              struct file **out);

#endif
