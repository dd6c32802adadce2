/* Confining the Sentry: an empty root, no capabilities, then the seccomp allowlist
 * (see confine.h). */
#include "sentry/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"

/* Where the empty tmpfs that becomes the root is mounted first. It only has to exist
 * in the host's tree: /proc always does (the CLI re-executes us through it). */
#define EMPTY_ROOT_AT "/proc"

static int fail(const char *what)
{
    int e = errno;
    log_err("confine: %s: %s", what, strerror(e));
    return -e;
}

/* enter_empty_root: pivots into a fresh read-only tmpfs with nothing in it, and
 * detaches the host's tree from this mount namespace, so no path the Sentry could
 * name leads to a host file. */
static int enter_empty_root(void)
{
    /* nothing mounted or unmounted here may propagate to the host's namespace */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail("making / private");
    if (mount("sandbox-sentry", EMPTY_ROOT_AT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=4,mode=0555") < 0)
        return fail("mounting the empty root");
    if (chdir(EMPTY_ROOT_AT) < 0)
        return fail("chdir to the empty root");
    /* pivot_root(".", "."): the old root is stacked on the new one, then detached */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return fail("detaching the host's root");
    if (chdir("/") < 0)
        return fail("chdir /");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
                                   MS_NOEXEC, NULL) < 0)
        return fail("making the empty root read-only");
    return 0;
}

/* drop_capabilities: empties the bounding, ambient, effective, permitted and
 * inheritable sets, and sets no_new_privs (which seccomp also requires). */
static int drop_capabilities(void)
{
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return fail("dropping the capability bounding set");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail("clearing ambient capabilities");
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0)
        return fail("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail("no_new_privs");
    return 0;
}

int sentry_confine(int host_network)
{
    int r = enter_empty_root();
    if (r == 0)
        r = drop_capabilities();
    if (r == 0)
        r = sentry_seccomp_install(host_network);
    if (r == 0)
        log_info("confined: empty root, no capabilities, seccomp allowlist");
    return r;
}

static void probe_result(int fd, const char *what, long r)
{
    if (r >= 0)
        dprintf(fd, "confinement: %s: ALLOWED\n", what);
    else
        dprintf(fd, "confinement: %s: refused (%s)\n", what, strerror((int)-r));
}

void sentry_confinement_probe(int fd)
{
    long r = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
    probe_result(fd, "openat /etc/passwd", r < 0 ? -errno : r);
    if (r >= 0)
        close((int)r);
    r = syscall(SYS_open, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    probe_result(fd, "open /", r < 0 ? -errno : r);
    if (r >= 0)
        close((int)r);
    char *argv[] = { "/bin/sh", NULL };
    r = syscall(SYS_execve, "/bin/sh", argv, argv + 1);
    probe_result(fd, "execve /bin/sh", r < 0 ? -errno : r);
    /* AF_INET is allowed with --network=host (its sockets are host sockets); the
     * others never are */
    const struct { int family; const char *what; } socks[] = {
        { AF_INET, "socket AF_INET" },
        { AF_UNIX, "socket AF_UNIX" },
        { AF_NETLINK, "socket AF_NETLINK" },
    };
    for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
        r = syscall(SYS_socket, socks[i].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        probe_result(fd, socks[i].what, r < 0 ? -errno : r);
        if (r >= 0)
            close((int)r);
    }
    r = syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
    probe_result(fd, "mount tmpfs", r < 0 ? -errno : r);
}
