/* Pseudo-terminals without a controlling terminal: posix_openpt, grantpt, unlockpt
 * and ptsname; the slave's node in /dev/pts; canonical input with erase, kill and
 * EOF, echo as the master sees it, ICRNL/IGNCR on input and ONLCR on output; raw
 * mode and VMIN/VTIME; window sizes; isatty and ttyname; and what each end sees when
 * the other closes. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* show: label, length and bytes, control characters escaped. */
static void show(const char *label, const char *buf, ssize_t n)
{
    char out[512];
    size_t o = 0;
    for (ssize_t i = 0; i < n && o < sizeof(out) - 8; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\n");
        else if (c == '\r')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\r");
        else if (c == '\b')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\b");
        else if (c < 32 || c >= 127)
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = 0;
    say("%s: %zd '%s'\n", label, n, out);
}

static void set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

/* drain: what fd has to read, waiting up to 2 s for expect bytes (Linux hands typed
 * input to the line discipline asynchronously), then a little more for extras. */
static ssize_t drain(int fd, char *buf, size_t size, size_t expect)
{
    set_nonblock(fd, 1);
    size_t got = 0;
    for (int tries = 0; tries < 400 && got < expect; tries++) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n > 0)
            got += (size_t)n;
        else
            sleep_ms(5);
    }
    sleep_ms(20);
    ssize_t n = read(fd, buf + got, size - got);
    if (n > 0)
        got += (size_t)n;
    set_nonblock(fd, 0);
    return (ssize_t)got;
}

/* type: the master writes s; then the slave reads a line and the master its echo. */
static void type_line(int m, int s, const char *what, const char *in, size_t echo_len)
{
    char buf[256], label[64];
    CHECK(write(m, in, strlen(in)) == (ssize_t)strlen(in));
    ssize_t n = read(s, buf, sizeof(buf));
    snprintf(label, sizeof(label), "%s read", what);
    show(label, buf, n);
    n = drain(m, buf, sizeof(buf), echo_len);
    snprintf(label, sizeof(label), "%s echo", what);
    show(label, buf, n);
}

static void set_flags(int fd, tcflag_t iset, tcflag_t iclr, tcflag_t oset, tcflag_t oclr,
                      tcflag_t lset, tcflag_t lclr)
{
    struct termios t;
    CHECK(tcgetattr(fd, &t) == 0);
    t.c_iflag = (t.c_iflag | iset) & ~iclr;
    t.c_oflag = (t.c_oflag | oset) & ~oclr;
    t.c_lflag = (t.c_lflag | lset) & ~lclr;
    CHECK(tcsetattr(fd, TCSANOW, &t) == 0);
}

static int open_pair(int *m, char *name, size_t size)
{
    *m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(*m >= 0);
    CHECK(grantpt(*m) == 0);
    CHECK(unlockpt(*m) == 0);
    CHECK(ptsname_r(*m, name, size) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    return s;
}

static void names_and_nodes(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    int lock = -1;
    CHECK(ioctl(m, TIOCGPTLCK, &lock) == 0);
    say("locked at first: %d\n", lock);
    CHECK(grantpt(m) == 0);
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0);
    unsigned n = 0;
    CHECK(ioctl(m, TIOCGPTN, &n) == 0);
    char expect[64];
    snprintf(expect, sizeof(expect), "/dev/pts/%u", n);
    say("ptsname is /dev/pts/N: %d\n", strcmp(name, expect) == 0);
    CHECK_ERR(open(name, O_RDWR | O_NOCTTY), EIO);
    say("locked slave: EIO\n");
    CHECK(unlockpt(m) == 0);
    CHECK(ioctl(m, TIOCGPTLCK, &lock) == 0);
    say("locked after unlockpt: %d\n", lock);

    struct stat st, fst, mst;
    CHECK(stat(name, &st) == 0);
    say("node: chr %d major %u minor is N %d mode %o\n", S_ISCHR(st.st_mode),
        major(st.st_rdev), minor(st.st_rdev) == n, st.st_mode & 07777);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    CHECK(fstat(s, &fst) == 0);
    say("fstat(slave) is the node: %d\n", fst.st_rdev == st.st_rdev &&
        fst.st_ino == st.st_ino && fst.st_dev == st.st_dev);
    CHECK(fstat(m, &mst) == 0);
    say("master: chr %d %u,%u\n", S_ISCHR(mst.st_mode), major(mst.st_rdev),
        minor(mst.st_rdev));
    CHECK(stat("/dev/pts/ptmx", &st) == 0);
    say("/dev/pts/ptmx: chr %d %u,%u\n", S_ISCHR(st.st_mode), major(st.st_rdev),
        minor(st.st_rdev));

    say("isatty: master %d slave %d\n", isatty(m), isatty(s));
    int p[2];
    CHECK(pipe(p) == 0);
    errno = 0;
    int pipe_tty = isatty(p[0]);
    say("isatty(pipe): %d %s\n", pipe_tty, errno_name(errno));
    close(p[0]);
    close(p[1]);
    char tn[64];
    CHECK(ttyname_r(s, tn, sizeof(tn)) == 0);
    say("ttyname(slave) == ptsname: %d\n", strcmp(tn, name) == 0);
    char link[64], path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", s);
    ssize_t ln = readlink(path, link, sizeof(link) - 1);
    CHECK(ln > 0);
    link[ln] = 0;
    say("/proc/self/fd link == ptsname: %d\n", strcmp(link, name) == 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
    ln = readlink(path, link, sizeof(link) - 1);
    CHECK(ln > 0);
    link[ln] = 0;
    say("master's link: %s\n", link);

    DIR *d = opendir("/dev/pts");
    CHECK(d != NULL);
    int has_ptmx = 0, has_n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        has_ptmx |= strcmp(e->d_name, "ptmx") == 0;
        has_n |= strcmp(e->d_name, name + strlen("/dev/pts/")) == 0;
    }
    closedir(d);
    say("/dev/pts lists ptmx %d and N %d\n", has_ptmx, has_n);

    CHECK_ERR(ioctl(s, TIOCGPTN, &n), ENOTTY);
    CHECK_ERR(ioctl(s, 0x54ff, 0), ENOTTY);
    say("TIOCGPTN on the slave and an unknown ioctl: ENOTTY\n");
    int q = -1;
    CHECK(ioctl(s, TIOCOUTQ, &q) == 0);
    say("TIOCOUTQ: %d\n", q);

    /* the node's attributes can change, as grantpt once did */
    CHECK(chmod(name, 0620) == 0);
    CHECK(stat(name, &st) == 0);
    say("after chmod: mode %o\n", st.st_mode & 07777);
    int on = 1;
    char c;
    CHECK(ioctl(m, FIONBIO, &on) == 0);
    CHECK_ERR(read(m, &c, 1), EAGAIN);
    on = 0;
    CHECK(ioctl(m, FIONBIO, &on) == 0);
    say("FIONBIO: EAGAIN, flags back %d\n", (fcntl(m, F_GETFL) & O_NONBLOCK) == 0);

    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    say("termios: iflag %o oflag %o cflag %o lflag %o\n", (unsigned)t.c_iflag,
        (unsigned)t.c_oflag, (unsigned)t.c_cflag, (unsigned)t.c_lflag);
    say("cc: intr %d quit %d erase %d kill %d eof %d time %d min %d susp %d eol %d\n",
        t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF],
        t.c_cc[VTIME], t.c_cc[VMIN], t.c_cc[VSUSP], t.c_cc[VEOL]);
    struct termios mt;
    CHECK(tcgetattr(m, &mt) == 0);
    say("the master shows the slave's termios: %d\n",
        mt.c_lflag == t.c_lflag && mt.c_iflag == t.c_iflag);
    close(s);
    close(m);
}

static void canonical(void)
{
    char name[64], buf[256];
    int m;
    int s = open_pair(&m, name, sizeof(name));

    type_line(m, s, "line", "hello\n", 7);

    /* nothing is readable until the line ends */
    CHECK(write(m, "abc", 3) == 3);
    ssize_t n = drain(m, buf, sizeof(buf), 3);
    show("partial echo", buf, n);
    int avail = -1;
    CHECK(ioctl(s, FIONREAD, &avail) == 0);
    say("FIONREAD of a partial line: %d\n", avail);
    set_nonblock(s, 1);
    CHECK_ERR(read(s, buf, sizeof(buf)), EAGAIN);
    set_nonblock(s, 0);
    say("read of a partial line: EAGAIN\n");
    type_line(m, s, "completed", "def\n", 5);

    type_line(m, s, "erase", "abx\x7f" "c\n", 9);
    type_line(m, s, "kill", "junk\x15ok\n", 20);
    type_line(m, s, "werase", "one two\x17three\n", 23);
    type_line(m, s, "ctl", "\x01z\n", 5);
    type_line(m, s, "icrnl", "cr\r", 4);
    /* ^C flushes the line typed so far (and its echo), even without a process group
     * to signal */
    type_line(m, s, "intr", "abc\x03" "def\n", 7);

    /* EOF: ends a line without being part of it; alone it reads as end of file */
    CHECK(write(m, "xy\x04", 3) == 3);
    n = read(s, buf, sizeof(buf));
    show("eof-terminated", buf, n);
    CHECK(write(m, "\x04", 1) == 1);
    n = read(s, buf, sizeof(buf));
    say("eof alone: %zd\n", n);
    n = drain(m, buf, sizeof(buf), 2);
    show("eof echo", buf, n);

    /* a line read in pieces */
    CHECK(write(m, "pieces\n", 7) == 7);
    n = read(s, buf, 3);
    show("piece 1", buf, n);
    n = read(s, buf, sizeof(buf));
    show("piece 2", buf, n);
    drain(m, buf, sizeof(buf), 8);

    /* IGNCR drops carriage returns; without ICRNL they stay */
    set_flags(s, IGNCR, 0, 0, 0, 0, 0);
    type_line(m, s, "igncr", "a\rb\n", 4);
    set_flags(s, 0, IGNCR | ICRNL, 0, 0, 0, 0);
    type_line(m, s, "no icrnl", "a\rb\n", 6);
    set_flags(s, ICRNL, 0, 0, 0, 0, ECHO);
    type_line(m, s, "no echo", "quiet\n", 0);
    set_flags(s, 0, 0, 0, 0, ECHONL, 0);
    type_line(m, s, "echonl", "quiet\n", 2);
    set_flags(s, 0, 0, 0, 0, ECHO, ECHONL);

    /* output: ONLCR turns \n into \r\n; without OPOST bytes pass as they are */
    CHECK(write(s, "out1\nout2\n", 10) == 10);
    n = drain(m, buf, sizeof(buf), 12);
    show("onlcr", buf, n);
    set_flags(s, 0, 0, 0, OPOST, 0, 0);
    CHECK(write(s, "raw\n", 4) == 4);
    n = drain(m, buf, sizeof(buf), 4);
    show("no opost", buf, n);
    set_flags(s, 0, 0, OPOST | XTABS, 0, 0, 0);
    CHECK(write(s, "a\tb\n", 4) == 4);
    n = drain(m, buf, sizeof(buf), 11);
    show("xtabs", buf, n);
    CHECK(ioctl(m, FIONREAD, &avail) == 0);
    say("master FIONREAD when drained: %d\n", avail);
    close(s);
    close(m);
}

static void raw_mode(void)
{
    char name[64], buf[256];
    int m;
    int s = open_pair(&m, name, sizeof(name));
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    cfmakeraw(&t);
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(tcgetattr(s, &t) == 0);
    say("raw: iflag %o oflag %o lflag %o min %d time %d\n", (unsigned)t.c_iflag,
        (unsigned)t.c_oflag, (unsigned)t.c_lflag, t.c_cc[VMIN], t.c_cc[VTIME]);

    /* bytes pass unchanged, no echo, no signals */
    CHECK(write(m, "r\r\n\x03\x7f", 5) == 5);
    ssize_t n = drain(s, buf, sizeof(buf), 5);
    show("raw input", buf, n);
    n = drain(m, buf, sizeof(buf), 0);
    say("raw echo: %zd\n", n);
    CHECK(write(s, "o\n", 2) == 2);
    n = drain(m, buf, sizeof(buf), 2);
    show("raw output", buf, n);

    /* VMIN 0, VTIME 0: a read never waits */
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    say("min 0 time 0, empty: %zd\n", read(s, buf, sizeof(buf)));
    /* VMIN 0, VTIME 1: waits a tenth of a second for a first byte */
    t.c_cc[VTIME] = 1;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    say("min 0 time 1, empty: %zd\n", read(s, buf, sizeof(buf)));

    /* VMIN 3: a read waits for at least three bytes */
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "ab", 2) == 2);
    pid_t c = fork();
    if (c == 0) {
        sleep_ms(100);
        write(m, "cd", 2);
        _exit(0);
    }
    n = read(s, buf, sizeof(buf));
    show("min 3", buf, n);
    CHECK(waitpid(c, NULL, 0) == c);
    /* ... but no more than asked for */
    CHECK(write(m, "efg", 3) == 3);
    sleep_ms(50);
    n = read(s, buf, 2);
    show("min 3, read of 2", buf, n);
    n = read(s, buf, 1);
    show("then 1", buf, n);

    /* VMIN 1: whatever is there, at least one byte */
    t.c_cc[VMIN] = 1;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "xyz", 3) == 3);
    sleep_ms(50);
    n = read(s, buf, sizeof(buf));
    show("min 1", buf, n);

    /* back to canonical: what is pending becomes a line */
    t.c_cc[VMIN] = 1;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "pend", 4) == 4);
    sleep_ms(50);
    t.c_lflag |= ICANON;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    n = read(s, buf, sizeof(buf));
    show("pushed by ICANON", buf, n);
    close(s);
    close(m);
}

static void winsize(void)
{
    char name[64];
    int m;
    int s = open_pair(&m, name, sizeof(name));
    struct winsize ws;
    CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0);
    say("winsize at first: %d x %d\n", ws.ws_row, ws.ws_col);
    ws.ws_row = 24;
    ws.ws_col = 80;
    CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0);
    memset(&ws, 0, sizeof(ws));
    CHECK(ioctl(s, TIOCGWINSZ, &ws) == 0);
    say("slave after the master set it: %d x %d\n", ws.ws_row, ws.ws_col);
    ws.ws_row = 50;
    CHECK(ioctl(s, TIOCSWINSZ, &ws) == 0);
    CHECK(ioctl(m, TIOCGWINSZ, &ws) == 0);
    say("master after the slave set it: %d x %d\n", ws.ws_row, ws.ws_col);
    close(s);
    close(m);
}

static void closing(void)
{
    char name[64], buf[64];
    int m;
    int s = open_pair(&m, name, sizeof(name));

    /* the slave closes: the master reads what is left, then EIO */
    CHECK(write(s, "bye", 3) == 3);
    drain(m, buf, sizeof(buf), 3);   /* "bye" */
    CHECK(write(s, "left", 4) == 4);
    sleep_ms(50);
    close(s);
    ssize_t n = read(m, buf, sizeof(buf));
    show("master after slave close", buf, n);
    CHECK_ERR(read(m, buf, sizeof(buf)), EIO);
    say("then: EIO\n");
    say("master write still works: %zd\n", write(m, "x", 1));
    s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    say("slave reopened\n");

    /* the master closes: the slave is hung up and its node is gone */
    close(m);
    say("slave read after master close: %zd\n", read(s, buf, sizeof(buf)));
    CHECK_ERR(write(s, "x", 1), EIO);
    say("slave write: EIO\n");
    struct termios t;
    CHECK_ERR(tcgetattr(s, &t), EIO);
    say("slave tcgetattr: EIO\n");
    struct stat st;
    CHECK_ERR(stat(name, &st), ENOENT);
    say("node after master close: ENOENT\n");
    close(s);
}

static void with_openpty(void)
{
    int m, s;
    char name[64], tn[64];
    struct winsize ws = { 30, 100, 0, 0 };
    CHECK(openpty(&m, &s, name, NULL, &ws) == 0);
    CHECK(ttyname_r(s, tn, sizeof(tn)) == 0);
    say("openpty: name is ttyname %d\n", strcmp(name, tn) == 0);
    struct winsize got;
    CHECK(ioctl(s, TIOCGWINSZ, &got) == 0);
    say("openpty winsize: %d x %d\n", got.ws_row, got.ws_col);
    CHECK(write(m, "hi\n", 3) == 3);
    char buf[16];
    ssize_t n = read(s, buf, sizeof(buf));
    show("openpty line", buf, n);
    close(s);
    close(m);
}

int main(void)
{
    alarm(30);   /* a hang fails instead of waiting for the runner's timeout */
    names_and_nodes();
    canonical();
    raw_mode();
    winsize();
    closing();
    with_openpty();
    return 0;
}
