/* Attempts to reach outside the tree with mount(2): bind mounts of "/..", of
 * "../../..", of /proc/self/root and /proc/self/cwd, of "/" recursively onto a
 * directory inside itself, from inside a chroot, and of a directory that is then
 * removed. Each prints what it finds, which must be what Linux shows: in the
 * sandbox a bind mount is a Sentry mount of a Sentry dentry, so "/.." is the root
 * the guest already has and nothing names a host path.
 *
 * Natively: root only, in a private mount namespace (see fs_mount.c). */
#include "guest.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char base[64];

static const char *P(const char *name)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", base, name);
    return buf[k];
}

static const char *res(long r) { return r < 0 ? errno_name(errno) : "ok"; }

/* same_file: a and b are the same directory or file (1), different (0), or the
 * errno name of the stat that failed. */
static const char *same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
        return errno_name(errno);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino ? "same" : "different";
}

/* try_bind: binds src on a fresh directory name and says what it is. */
static void try_bind(const char *src, const char *name, const char *expect_same_as)
{
    CHECK(mkdir(P(name), 0755) == 0);
    long r = mount(src, P(name), NULL, MS_BIND, NULL);
    printf("bind %s: %s", src, res(r));
    if (r == 0) {
        printf(", %s as %s", same_file(P(name), expect_same_as),
               strcmp(expect_same_as, base) == 0 ? "<base>" : expect_same_as);
        CHECK(umount2(P(name), 0) == 0);
    }
    printf("\n");
}

/* mountinfo_root: the root field of the mountinfo line whose mount point is path. */
static void mountinfo_root(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    CHECK(f != NULL);
    char line[1024], root[512], mp[512];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%*d %*d %*s %511s %511s", root, mp) == 2 && strcmp(mp, path) == 0)
            printf("mountinfo root of %s: %s\n", path + strlen(base), root);
    fclose(f);
}

static void in_chroot(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(chroot(P("jail")) == 0 && chdir("/") == 0);
        CHECK(mkdir("/x", 0755) == 0);
        printf("jail: bind /..: %s\n", res(mount("/..", "/x", NULL, MS_BIND, NULL)));
        printf("jail: /x is /: %s\n", same_file("/x", "/"));
        printf("jail: /x/inside: %s\n", res(access("/x/inside", F_OK)));
        printf("jail: /x/../../outside: %s\n", res(access("/x/../../outside", F_OK)));
        printf("jail: umount: %s\n", res(umount2("/x", 0)));
        printf("jail: bind ../../..: %s\n", res(mount("../../..", "/x", NULL, MS_BIND, NULL)));
        printf("jail: /x is /: %s\n", same_file("/x", "/"));
        CHECK(umount2("/x", 0) == 0);
        /* the jail's own mounts are listed from its root; the rest are not */
        CHECK(mkdir("/proc", 0755) == 0);
        CHECK(mount("proc", "/proc", "proc", 0, NULL) == 0);
        FILE *f = fopen("/proc/self/mounts", "r");
        CHECK(f != NULL);
        char line[1024], src[256], mp[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "%255s %255s", src, mp) == 2)
                printf("jail: mounts line for %s\n", mp);
        fclose(f);
        CHECK(umount2("/proc", 0) == 0);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    if (geteuid() != 0)
        guest_skip("needs root");
    if (unshare(CLONE_NEWNS) == 0)
        CHECK(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    else if (errno != ENOSYS && errno != EINVAL)
        guest_skip("unshare(CLONE_NEWNS) refused");
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(base, sizeof(base), "/tmp/fs_mount_escape.%d", getpid());
    CHECK(mkdir(base, 0755) == 0);
    CHECK(mount("escape", base, "tmpfs", 0, NULL) == 0);
    CHECK(chdir(base) == 0);

    try_bind("/..", "a", "/");
    try_bind("/../../../..", "b", "/");
    try_bind("../../../../../../../..", "c", "/");
    try_bind("/proc/self/root", "d", "/");
    try_bind("/proc/self/cwd", "e", base);
    try_bind(".", "f", base);

    /* ".." from inside a bind mount of a subdirectory climbs the mount tree, not
     * the source's parents */
    CHECK(mkdir(P("deep"), 0755) == 0 && mkdir(P("deep/er"), 0755) == 0);
    CHECK(mkdir(P("g"), 0755) == 0);
    CHECK(mount(P("deep/er"), P("g"), NULL, MS_BIND, NULL) == 0);
    printf("g/.. is base: %s\n", same_file(P("g/.."), base));
    printf("g/../deep is deep: %s\n", same_file(P("g/../deep"), P("deep")));
    mountinfo_root(P("g"));
    /* the source goes away: the mount still shows it, deleted */
    CHECK(umount2(P("g"), 0) == 0);
    CHECK(mkdir(P("gone"), 0755) == 0);
    CHECK(mount(P("deep/er"), P("gone"), NULL, MS_BIND, NULL) == 0);
    printf("rmdir source: %s\n", res(rmdir(P("deep/er"))));
    printf("create in mount of removed dir: %s\n",
           res(open(P("gone/new"), O_WRONLY | O_CREAT, 0644)));
    mountinfo_root(P("gone"));
    printf("rmdir mount point: %s\n", res(rmdir(P("gone"))));
    CHECK(umount2(P("gone"), 0) == 0);

    /* "/" recursively onto a directory inside it: the copy is made before it is
     * attached, so it does not contain itself */
    CHECK(mkdir(P("all"), 0755) == 0);
    printf("rbind /: %s\n", res(mount("/", P("all"), NULL, MS_BIND | MS_REC, NULL)));
    char inner[256];
    snprintf(inner, sizeof(inner), "%s%s", P("all"), base);
    printf("all%s is base: %s\n", "/<base>", same_file(inner, base));
    snprintf(inner, sizeof(inner), "%s%s/all/tmp", P("all"), base);
    printf("copy inside the copy: %s\n", res(access(inner, F_OK)));
    printf("umount all: %s\n", res(umount2(P("all"), 0)));
    printf("umount all detach: %s\n", res(umount2(P("all"), MNT_DETACH)));

    /* moving the root is refused */
    printf("move /: %s\n", res(mount("/", P("all"), NULL, MS_MOVE, NULL)));

    CHECK(mkdir(P("jail"), 0755) == 0);
    CHECK(close(open(P("jail/inside"), O_WRONLY | O_CREAT, 0644)) == 0);
    CHECK(close(open(P("outside"), O_WRONLY | O_CREAT, 0644)) == 0);
    in_chroot();

    CHECK(chdir("/") == 0);
    CHECK(umount2(base, MNT_DETACH) == 0);
    CHECK(rmdir(base) == 0);
    return 0;
}
