/* Credentials as Linux keeps them per task: the setuid family and its permission
 * rules, fsuid/fsgid (the owner of new files, the ids permission checks use),
 * supplementary groups, and capabilities (capget/capset and how uid changes clear
 * them). Every change happens in a forked child, so each case starts as root.
 *
 * Needs root (the tests run as root natively): skips otherwise. Capability masks are
 * never printed whole (a container's bounding set differs from the sandbox's); only
 * the bits of interest are. */
#include "guest.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* <linux/capability.h> is not in musl's include path: the ABI by hand. */
#define CAP_V1 0x19980330
#define CAP_V3 0x20080522
#define CAP_CHOWN 0
#define CAP_DAC_OVERRIDE 1
#define CAP_DAC_READ_SEARCH 2
#define CAP_FOWNER 3
#define CAP_KILL 5
#define CAP_SETGID 6
#define CAP_SETUID 7
#define CAP_SETPCAP 8
#define CAP_SYS_ADMIN 21
#define CAP_LAST 40
#define SECBIT_KEEP_CAPS 0x10
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };
struct caps { uint64_t eff, prm, inh; };

static char dir[64], root_file[96], user_file[96];

static int get_caps(int pid, struct caps *c)
{
    struct cap_hdr h = { CAP_V3, pid };
    struct cap_data d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -1;
    c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
    c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

static int set_caps(const struct caps *c)
{
    struct cap_hdr h = { CAP_V3, 0 };
    struct cap_data d[2] = {
        { (uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh },
        { (uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32) },
    };
    return (int)syscall(SYS_capset, &h, d);
}

static int has(uint64_t set, int cap) { return (set >> cap) & 1; }

/* show_caps: the bits this test is about, for the caller. */
static void show_caps(const char *when)
{
    struct caps c;
    CHECK(get_caps(0, &c) == 0);
    say("%s: eff setuid=%d dac_override=%d chown=%d, prm setuid=%d dac_override=%d\n",
        when, has(c.eff, CAP_SETUID), has(c.eff, CAP_DAC_OVERRIDE), has(c.eff, CAP_CHOWN),
        has(c.prm, CAP_SETUID), has(c.prm, CAP_DAC_OVERRIDE));
}

static void show_ids(void)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    CHECK(getresuid(&r, &e, &s) == 0);
    CHECK(getresgid(&rg, &eg, &sg) == 0);
    say("uids %u %u %u, gids %u %u %u\n", r, e, s, rg, eg, sg);
}

/* status_line: prints the /proc/self/status line that starts with key. */
static void status_line(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, strlen(key))) {
            say("status %s", line);
            break;
        }
    }
    fclose(f);
}

static const char *open_result(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno_name(errno);
    close(fd);
    return "ok";
}

/* in_child: runs fn in a child process and waits for it; the child's exit status is
 * the case's result. */
static void in_child(const char *name, void (*fn)(void))
{
    say("-- %s\n", name);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- the cases ---- */

static void drop_for_good(void)
{
    CHECK(setresgid(2000, 2000, 2000) == 0);
    CHECK(setresuid(1000, 1000, 1000) == 0);
    show_ids();
    show_caps("after setresuid(1000,1000,1000)");
    status_line("Uid:");
    status_line("Gid:");
    say("dumpable %d\n", prctl(PR_GET_DUMPABLE));
    /* only swaps among the ids it has: 0 is gone */
    CHECK_ERR(setresuid(0, 0, 0), EPERM);
    CHECK_ERR(setuid(0), EPERM);
    CHECK_ERR(seteuid(0), EPERM);
    CHECK_ERR(setreuid(0, -1), EPERM);
    CHECK_ERR(setgid(0), EPERM);
    gid_t g = 5;
    CHECK_ERR(setgroups(1, &g), EPERM);
    CHECK(setresuid(-1, -1, -1) == 0);
    CHECK(setuid(1000) == 0);
    /* fsuid: refused silently, the old value comes back */
    say("setfsuid(0) -> %d, then %d\n", setfsuid(0), setfsuid(-1));
    /* a root process is not this user's to signal */
    CHECK_ERR(kill(getppid(), 0), EPERM);
    CHECK(kill(getpid(), 0) == 0);
    say("open root's 0600 file: %s\n", open_result(root_file));
    say("open own file: %s\n", open_result(user_file));
}

static void swap_euid(void)
{
    /* euid 1000 with root kept as real and saved uid: no effective capabilities,
     * the permitted ones stay, and the way back is open */
    CHECK(seteuid(1000) == 0);
    show_ids();
    show_caps("after seteuid(1000)");
    say("open root's 0600 file: %s\n", open_result(root_file));
    CHECK(seteuid(0) == 0);
    show_caps("after seteuid(0)");
    say("open root's 0600 file: %s\n", open_result(root_file));
    /* setreuid: a real uid change moves the saved uid to the effective one */
    CHECK(setreuid(1000, 1000) == 0);
    show_ids();
    show_caps("after setreuid(1000,1000)");
    CHECK_ERR(setreuid(-1, 0), EPERM);
}

static void keep_caps(void)
{
    CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
    say("keepcaps %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    CHECK(setresuid(1000, 1000, 1000) == 0);
    show_caps("keepcaps, after setresuid(1000,1000,1000)");
    /* the permitted set survived: raise CAP_SETUID into effective and use it */
    struct caps c;
    CHECK(get_caps(0, &c) == 0);
    c.eff |= 1ULL << CAP_SETUID;
    CHECK(set_caps(&c) == 0);
    CHECK(setuid(0) == 0);
    show_ids();
    show_caps("keepcaps, after setuid(0)");
    CHECK_ERR(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
}

static void fs_ids(void)
{
    say("setfsuid(1000) -> %d\n", setfsuid(1000));
    say("setfsgid(3000) -> %d\n", setfsgid(3000));
    say("setfsuid(1000) -> %d\n", setfsuid(1000));
    show_caps("fsuid 1000");
    status_line("Uid:");
    status_line("Gid:");
    /* new files get the fs ids */
    int fd = open(user_file, O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    struct stat st;
    CHECK(stat(user_file, &st) == 0);
    say("new file owner %u group %u\n", st.st_uid, st.st_gid);
    /* permission checks use the fsuid; access() the real uid (root) unless
     * AT_EACCESS */
    say("open root's 0600 file: %s\n", open_result(root_file));
    say("access(R_OK) %d\n", access(root_file, R_OK));
    errno = 0;
    long r = syscall(SYS_faccessat2, AT_FDCWD, root_file, R_OK, AT_EACCESS);
    say("faccessat2(AT_EACCESS) %ld %s\n", r, errno_name(errno));
    /* back to 0: the file-system capabilities return */
    say("setfsuid(0) -> %d\n", setfsuid(0));
    show_caps("fsuid 0 again");
    say("open root's 0600 file: %s\n", open_result(root_file));
}

static void groups(void)
{
    say("getgroups(0) %d\n", getgroups(0, NULL));
    gid_t set[] = { 30, 10, 20, 10 };
    CHECK(setgroups(4, set) == 0);
    gid_t got[8];
    int n = getgroups(8, got);
    say("getgroups %d:", n);
    for (int i = 0; i < n; i++)
        say(" %u", got[i]);
    say("\n");
    CHECK_ERR(getgroups(2, got), EINVAL);
    CHECK_ERR(setgroups(65537, set), EINVAL);
    gid_t bad = (gid_t)-1;
    CHECK_ERR(setgroups(1, &bad), EINVAL);
    CHECK_ERR(syscall(SYS_setgroups, 2, (void *)8), EFAULT);
    status_line("Groups:");
    /* a supplementary group opens a 0060 file of that group to a non-owner */
    char gfile[112];
    snprintf(gfile, sizeof(gfile), "%s/grp", dir);
    int fd = open(gfile, O_CREAT | O_WRONLY, 0060);
    CHECK(fd >= 0 && fchown(fd, 0, 20) == 0 && fchmod(fd, 0060) == 0);
    close(fd);
    CHECK(setfsuid(1000) == 0);
    say("open 0060 group-20 file, in group 20: %s\n", open_result(gfile));
    CHECK(setfsuid(0) == 1000);
    CHECK(setgroups(0, NULL) == 0);
    say("getgroups(0) after clearing %d\n", getgroups(0, NULL));
    CHECK(setfsuid(1000) == 0);
    say("open 0060 group-20 file, no groups: %s\n", open_result(gfile));
    CHECK(setfsuid(0) == 1000);
    unlink(gfile);
}

static void capsets(void)
{
    struct cap_hdr h = { 0, 0 };
    /* version negotiation: a NULL data pointer asks for the preferred version */
    long r = syscall(SYS_capget, &h, NULL);
    say("capget(bad version, NULL) %ld version %#x\n", r, h.version);
    struct cap_data d[2];
    h.version = 1234;
    CHECK_ERR(syscall(SYS_capget, &h, d), EINVAL);
    say("capget(bad version) wrote %#x\n", h.version);
    h.version = CAP_V1;
    CHECK(syscall(SYS_capget, &h, d) == 0);
    say("v1 capget: eff setuid=%d\n", has(d[0].effective, CAP_SETUID));
    h.version = CAP_V3;
    h.pid = -1;
    CHECK_ERR(syscall(SYS_capget, &h, d), EINVAL);
    h.pid = 0x7ffffff0;
    CHECK_ERR(syscall(SYS_capget, &h, d), ESRCH);
    h.pid = getppid();
    CHECK(syscall(SYS_capget, &h, d) == 0);
    say("parent's caps: eff setuid=%d\n", has(d[0].effective, CAP_SETUID));
    CHECK_ERR(syscall(SYS_capset, &h, d), EPERM);   /* only one's own */

    /* drop the DAC overrides from effective: root's own files still open, another
     * user's 0600 file no longer does */
    struct caps c, saved;
    CHECK(get_caps(0, &c) == 0);
    saved = c;
    c.eff &= ~(1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_DAC_READ_SEARCH);
    CHECK(set_caps(&c) == 0);
    show_caps("without DAC overrides");
    say("open root's 0600 file: %s\n", open_result(root_file));
    say("open user 1000's 0600 file: %s\n", open_result(user_file));
    /* effective may come back from permitted */
    CHECK(set_caps(&saved) == 0);
    say("open user 1000's 0600 file again: %s\n", open_result(user_file));
    /* permitted only shrinks; effective stays within permitted */
    c = saved;
    c.prm &= ~(1ULL << CAP_CHOWN);
    c.eff &= ~(1ULL << CAP_CHOWN);
    CHECK(set_caps(&c) == 0);
    CHECK_ERR(set_caps(&saved), EPERM);
    c.eff |= 1ULL << CAP_CHOWN;
    CHECK_ERR(set_caps(&c), EPERM);
    show_caps("after dropping CAP_CHOWN");
    CHECK(fchownat(AT_FDCWD, root_file, 1000, -1, 0) == -1 && errno == EPERM);
    say("chown without CAP_CHOWN: EPERM\n");

    /* the bounding set */
    say("capbset read sys_admin %d\n", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0));
    CHECK_ERR(prctl(PR_CAPBSET_READ, CAP_LAST + 1, 0, 0, 0), EINVAL);
    CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) == 0);
    say("capbset read sys_admin after drop %d\n",
        prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0));
    /* inheritable cannot grow outside the bounding set, even with CAP_SETPCAP */
    CHECK(get_caps(0, &c) == 0);
    c.inh |= 1ULL << CAP_SYS_ADMIN;
    CHECK_ERR(set_caps(&c), EPERM);
    c.inh = 1ULL << CAP_KILL;
    CHECK(set_caps(&c) == 0);
    status_line("CapInh:");
    /* without CAP_SETPCAP nothing more is dropped */
    c.eff &= ~(1ULL << CAP_SETPCAP);
    CHECK(set_caps(&c) == 0);
    CHECK_ERR(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), EPERM);
}

int main(void)
{
    if (getuid() != 0 || geteuid() != 0)
        guest_skip("needs root");
    show_ids();
    show_caps("start");
    say("keepcaps %d dumpable %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0),
        prctl(PR_GET_DUMPABLE));
    status_line("Groups:");

    strcpy(dir, "/tmp/proc_creds.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0777) == 0);
    snprintf(root_file, sizeof(root_file), "%s/root", dir);
    snprintf(user_file, sizeof(user_file), "%s/user", dir);
    int fd = open(root_file, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);

    in_child("fsuid and fsgid", fs_ids);
    in_child("supplementary groups", groups);
    in_child("seteuid away and back", swap_euid);
    in_child("drop to 1000 for good", drop_for_good);
    in_child("keep capabilities", keep_caps);
    in_child("capget and capset", capsets);

    show_ids();
    show_caps("parent at the end");
    unlink(user_file);
    unlink(root_file);
    rmdir(dir);
    return 0;
}
