/* Terminal ioctls of a pty pair beyond the basics: termios2 speeds and the cflag a
 * pty forces, the old struct termio calls, TCFLSH, TCXONC, breaks and tcdrain,
 * exclusive mode, line disciplines, which calls only the master has, TIOCGPTPEER,
 * and session calls on a terminal that is nobody's controlling terminal. */
#include "guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>

/* struct termios2 and its calls (asm/termbits.h clashes with <termios.h>) */
struct termios2_ {
    unsigned c_iflag, c_oflag, c_cflag, c_lflag;
    unsigned char c_line, c_cc[19];
    unsigned c_ispeed, c_ospeed;
};
#define TCGETS2_ 0x802c542aUL
#define TCSETS2_ 0x402c542bUL
#define BOTHER_ 0010000

/* struct termio of TCGETA/TCSETA* (<termio.h> is glibc's only) */
struct termio_ {
    unsigned short c_iflag, c_oflag, c_cflag, c_lflag;
    unsigned char c_line, c_cc[8];
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* R: runs an ioctl-like call and prints its result or errno name. */
#define R(label, expr)                                                                 \
    do {                                                                               \
        errno = 0;                                                                     \
        long r_ = (long)(expr);                                                        \
        say("%-34s %ld %s\n", label, r_ < 0 ? -1L : r_, r_ < 0 ? errno_name(errno) : ""); \
    } while (0)

static int m, s;

static int inq(int fd)
{
    int v = -1;
    CHECK(ioctl(fd, FIONREAD, &v) == 0);
    return v;
}

static void termios_forms(void)
{
    struct termios2_ t2;
    CHECK(ioctl(s, TCGETS2_, &t2) == 0);
    say("termios2: speeds %u %u cflag %o\n", t2.c_ispeed, t2.c_ospeed, t2.c_cflag);
    t2.c_cflag = (t2.c_cflag & ~(unsigned)(CBAUD | CSIZE)) | B9600 | CS7 | PARENB;
    CHECK(ioctl(s, TCSETS2_, &t2) == 0);
    CHECK(ioctl(s, TCGETS2_, &t2) == 0);
    say("B9600 CS7 PARENB: speeds %u %u cflag %o\n", t2.c_ispeed, t2.c_ospeed, t2.c_cflag);
    t2.c_cflag = (t2.c_cflag & ~(unsigned)CBAUD) | BOTHER_;
    t2.c_ospeed = 12345;
    t2.c_ispeed = 0;
    CHECK(ioctl(s, TCSETS2_, &t2) == 0);
    CHECK(ioctl(s, TCGETS2_, &t2) == 0);
    say("BOTHER 12345: speeds %u %u\n", t2.c_ispeed, t2.c_ospeed);
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    cfsetospeed(&t, B38400);
    cfsetispeed(&t, B38400);
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);

    unsigned char raw[sizeof(struct termio_)];
    memset(raw, 0xee, sizeof(raw));
    CHECK(ioctl(s, TCGETA, raw) == 0);
    char hex[64];
    size_t o = 0;
    for (size_t i = 0; i < sizeof(raw); i++)
        o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x", raw[i]);
    say("TCGETA: %s\n", hex);
    struct termio_ tio;
    CHECK(ioctl(s, TCGETA, &tio) == 0);
    tio.c_lflag &= ~ICANON;
    tio.c_cc[VMIN] = 5;
    CHECK(ioctl(s, TCSETAF, &tio) == 0);
    CHECK(tcgetattr(s, &t) == 0);
    say("after TCSETAF: lflag %o min %d\n", (unsigned)t.c_lflag, t.c_cc[VMIN]);
    t.c_lflag |= ICANON;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
}

static void flushing(void)
{
    char buf[64];
    CHECK(write(m, "abc\n", 4) == 4);
    sleep_ms(50);
    say("typed: slave FIONREAD %d\n", inq(s));
    R("TCFLSH TCIFLUSH on the slave", ioctl(s, TCFLSH, TCIFLUSH));
    say("then: %d\n", inq(s));
    CHECK(read(m, buf, sizeof(buf)) == 5);   /* the echo */
    CHECK(write(s, "out", 3) == 3);
    sleep_ms(20);
    R("TCFLSH TCOFLUSH on the slave", ioctl(s, TCFLSH, TCOFLUSH));
    say("master FIONREAD: %d\n", inq(m));
    R("TCFLSH TCIFLUSH on the master", ioctl(m, TCFLSH, TCIFLUSH));
    say("then: %d\n", inq(m));
    R("TCFLSH 7", ioctl(s, TCFLSH, 7));
}

static void flow(void)
{
    char buf[64];
    R("TCXONC TCOOFF", ioctl(s, TCXONC, TCOOFF));
    R("write while stopped", write(s, "x", 1));
    R("TCXONC TCOON", ioctl(s, TCXONC, TCOON));
    R("write", write(s, "x", 1));
    sleep_ms(20);
    R("master read", read(m, buf, sizeof(buf)));
    R("TCXONC TCIOFF on the slave", ioctl(s, TCXONC, TCIOFF));
    sleep_ms(20);
    errno = 0;
    ssize_t n = read(m, buf, sizeof(buf));
    say("the master reads %zd byte(s): %d\n", n, n > 0 ? buf[0] : -1);
    R("TCXONC TCIOFF on the master", ioctl(m, TCXONC, TCIOFF));
    sleep_ms(20);
    R("slave write after ^S", write(s, "y", 1));
    R("TCXONC TCION on the master", ioctl(m, TCXONC, TCION));
    sleep_ms(20);
    R("slave write after ^Q", write(s, "y", 1));
    sleep_ms(20);
    CHECK(read(m, buf, sizeof(buf)) == 1);
    R("TCXONC 9", ioctl(s, TCXONC, 9));
    R("TCSBRK 1", ioctl(s, TCSBRK, 1));
    R("tcdrain", tcdrain(s));
    R("tcsendbreak", tcsendbreak(s, 0));
    R("TIOCSBRK", ioctl(s, TIOCSBRK));
    R("TIOCCBRK", ioctl(s, TIOCCBRK));
}

static void misc(void)
{
    int v = -1;
    R("TIOCEXCL", ioctl(s, TIOCEXCL));
    R("TIOCGEXCL", ioctl(s, TIOCGEXCL, &v));
    say("  exclusive %d\n", v);
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0);
    int again = open(name, O_RDWR | O_NOCTTY);
    /* only root may open an exclusive terminal again */
    say("reopen while exclusive: %s as expected %d\n", again >= 0 ? "opened" : errno_name(errno),
        (again >= 0) == (geteuid() == 0));
    if (again >= 0)
        close(again);
    R("TIOCNXCL", ioctl(s, TIOCNXCL));
    R("TIOCGETD", ioctl(s, TIOCGETD, &v));
    say("  ldisc %d\n", v);
    v = 0;
    R("TIOCSETD N_TTY", ioctl(s, TIOCSETD, &v));
    v = 3;
    R("TIOCSETD 3", ioctl(s, TIOCSETD, &v));

    R("slave TIOCGPTLCK", ioctl(s, TIOCGPTLCK, &v));
    R("slave TIOCSPTLCK", ioctl(s, TIOCSPTLCK, &v));
    R("slave TIOCGPTPEER", ioctl(s, TIOCGPTPEER, O_RDWR));
    R("slave TIOCSIG", ioctl(s, TIOCSIG, SIGINT));
    R("master TIOCGPKT", ioctl(m, TIOCGPKT, &v));
    say("  packet mode %d\n", v);

    R("slave TIOCNOTTY", ioctl(s, TIOCNOTTY));
    R("master TIOCNOTTY", ioctl(m, TIOCNOTTY));
    R("slave TIOCGSID", ioctl(s, TIOCGSID, &v));
    R("master TIOCGSID", ioctl(m, TIOCGSID, &v));
    R("slave TIOCGPGRP", ioctl(s, TIOCGPGRP, &v));
    v = -1;
    R("master TIOCGPGRP", ioctl(m, TIOCGPGRP, &v));
    say("  pgrp %d\n", v);
    v = getpgrp();
    R("slave TIOCSPGRP", ioctl(s, TIOCSPGRP, &v));
    R("master TIOCSPGRP", ioctl(m, TIOCSPGRP, &v));
    R("TIOCMGET", ioctl(s, TIOCMGET, &v));

    int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(p >= 0);
    say("TIOCGPTPEER: close-on-exec %d\n", fcntl(p, F_GETFD) == FD_CLOEXEC);
    char tn[64];
    CHECK(ttyname_r(p, tn, sizeof(tn)) == 0);
    say("TIOCGPTPEER: ttyname is ptsname %d\n", strcmp(tn, name) == 0);
    close(p);
    R("lseek slave", lseek(s, 0, SEEK_SET));
    R("lseek master", lseek(m, 0, SEEK_SET));
}

int main(void)
{
    alarm(30);
    m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    CHECK(m >= 0);
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0);
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0);
    s = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK);
    CHECK(s >= 0);
    termios_forms();
    flushing();
    flow();
    misc();
    return 0;
}
