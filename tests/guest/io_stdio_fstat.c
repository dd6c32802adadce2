/* The standard descriptors as the runner sets them up: stdin from /dev/null, stdout
 * and stderr to files. fstat sees their types, isatty and the terminal ioctls say
 * ENOTTY, reading stdin gives end of file. */
#include "guest.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

static const char *type_name(mode_t m)
{
    if (S_ISREG(m)) return "regular file";
    if (S_ISCHR(m)) return "character device";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    return "other";
}

int main(void)
{
    struct stat st;
    for (int fd = 0; fd <= 2; fd++) {
        CHECK(fstat(fd, &st) == 0);
        say("fd %d: %s\n", fd, type_name(st.st_mode));
    }
    CHECK(fstat(0, &st) == 0);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        guest_skip("stdin is not /dev/null");

    char c = 'x';
    CHECK(read(0, &c, 1) == 0 && c == 'x');
    CHECK(pread(0, &c, 1, 0) == 0);
    say("ok stdin at end of file\n");

    struct termios tio;
    struct winsize ws;
    for (int fd = 0; fd <= 1; fd++) {
        CHECK_ERR(ioctl(fd, TCGETS, &tio), ENOTTY);
        CHECK_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
        CHECK(!isatty(fd));
    }
    say("ok TCGETS and TIOCGWINSZ: ENOTTY\n");
    CHECK_ERR(ioctl(99, TCGETS, &tio), EBADF);
    say("ok ioctl on fd 99: EBADF\n");
    return 0;
}
