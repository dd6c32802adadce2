/* See userns.h. */
#include "lib/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int err = w == (ssize_t)len ? 0 : (w < 0 ? -errno : -EIO);
    close(fd);
    return err;
}

int userns_map_root(pid_t pid, uid_t uid, gid_t gid)
{
    char map[64];
    int err = write_proc(pid, "setgroups", "deny");
    if (err < 0 && err != -ENOENT)
        return err;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if ((err = write_proc(pid, "uid_map", map)) < 0)
        return err;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    return write_proc(pid, "gid_map", map);
}
