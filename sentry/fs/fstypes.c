/* Filesystem types for mount(2) and the option parser they share (see fstypes.h). */
#include "sentry/fs/fstypes.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/procfs.h"
#include "sentry/fs/tmpfs.h"
#include "sentry/vfs/vfs.h"

int fs_parse_size(const char *s, uint64_t *out, const char **rest)
{
    if (*s < '0' || *s > '9')
        return -EINVAL;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    int shift = 0;
    switch (*end) {
    case 'E': case 'e': shift += 10; /* fall through */
    case 'P': case 'p': shift += 10; /* fall through */
    case 'T': case 't': shift += 10; /* fall through */
    case 'G': case 'g': shift += 10; /* fall through */
    case 'M': case 'm': shift += 10; /* fall through */
    case 'K': case 'k': shift += 10; end++; break;
    }
    if (shift && v > (ULLONG_MAX >> shift))
        v = ULLONG_MAX;
    else
        v <<= shift;
    *out = v;
    if (rest)
        *rest = end;
    else if (*end)
        return -EINVAL;
    return 0;
}

/* generic_option: the options every filesystem takes; 1 if key was one. */
static int generic_option(const char *key, int *ro)
{
    static const char *const accepted[] = {
        "sync", "async", "dirsync", "lazytime", "nolazytime", "mand", "nomand", "silent",
        "source",
    };
    if (strcmp(key, "ro") == 0 || strcmp(key, "rw") == 0) {
        *ro = key[1] == 'o';
        return 1;
    }
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        if (strcmp(key, accepted[i]) == 0)
            return 1;
    return 0;
}

int fs_parse_options(const char *data, int *ro, fs_opt_fn fn, void *arg)
{
    if (!data || !*data)
        return 0;
    char *copy = strdup(data);
    if (!copy)
        return -ENOMEM;
    int err = 0;
    char *save = NULL;
    for (char *opt = strtok_r(copy, ",", &save); opt && err == 0;
         opt = strtok_r(NULL, ",", &save)) {
        char *val = strchr(opt, '=');
        if (val)
            *val++ = '\0';
        if (generic_option(opt, ro))
            continue;
        err = fn ? fn(opt, val, arg) : -EINVAL;
    }
    free(copy);
    return err;
}

/* proc_option: hidepid=, gid= and subset= are accepted (one pid namespace, and
 * /proc shows what the sandbox has anyway). */
static int proc_option(const char *key, const char *val, void *arg)
{
    (void)arg;
    if (!val)
        return -EINVAL;
    if (strcmp(key, "hidepid") == 0) {
        static const char *const modes[] = { "0", "1", "2", "4", "off", "noaccess",
                                             "invisible", "ptraceable" };
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (strcmp(val, modes[i]) == 0)
                return 0;
        return -EINVAL;
    }
    if (strcmp(key, "gid") == 0) {
        uint64_t v;
        return fs_parse_size(val, &v, NULL) == 0 && v < UINT32_MAX ? 0 : -EINVAL;
    }
    if (strcmp(key, "subset") == 0)
        return strcmp(val, "pid") == 0 ? 0 : -EINVAL;
    return -EINVAL;
}

int fs_type_mount(const char *type, const char *data, int readonly, uint32_t uid,
                  uint32_t gid, struct superblock **sb, struct inode **root)
{
    int err = 0, ro = readonly;
    if (strcmp(type, "tmpfs") == 0) {
        *sb = tmpfs_mount(data, readonly, uid, gid, root, &err);
        return *sb ? 0 : err;
    }
    if (strcmp(type, "proc") == 0) {
        if ((err = fs_parse_options(data, &ro, proc_option, NULL)) < 0)
            return err;
        *sb = procfs_new(root, &err);
    } else if (strcmp(type, "sysfs") == 0) {
        if ((err = fs_parse_options(data, &ro, NULL, NULL)) < 0)
            return err;
        *sb = sysfs_new(root, &err);
    } else {
        return -ENODEV;
    }
    if (!*sb)
        return err;
    if (ro)
        (*sb)->flags |= SB_RDONLY;
    return 0;
}
