/* The terminal line discipline on host memory: canonical lines with their echoes,
 * erase/kill/werase, EOF, the 4095-byte line limit, signal characters, raw mode,
 * flow control, output processing and tab erase. Expected bytes are what Linux's
 * n_tty produces for the same input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "sentry/fs/tty_ldisc.h"

static struct ldisc ld;
static struct tty_ring in, out;

static ssize_t to_buf(void *ctx, size_t skip, const void *src, size_t n)
{
    memcpy((char *)ctx + skip, src, n);
    return (ssize_t)n;
}

static void setup(void)
{
    struct ktermios t;
    ktermios_pty_slave(&t);
    cr_assert_eq(tty_ring_init(&in, 65536), 0);
    cr_assert_eq(tty_ring_init(&out, 65536), 0);
    cr_assert_eq(ldisc_init(&ld, &t, &out), 0);
}

static void teardown(void)
{
    ldisc_destroy(&ld);
    tty_ring_destroy(&in);
    tty_ring_destroy(&out);
}

/* type: feeds s (n bytes) to the line discipline; returns the signals raised. */
static uint64_t type(const char *s, size_t n)
{
    uint64_t sigs = 0;
    cr_assert_eq(tty_ring_put(&in, s, n), n);
    ldisc_receive(&ld, &in, &sigs);
    return sigs;
}
#define TYPE(lit) type(lit, sizeof(lit) - 1)

/* echoed: everything in out, as a string. */
static const char *echoed(void)
{
    static char buf[8192];
    ssize_t n = tty_ring_read(&out, sizeof(buf) - 1, to_buf, buf, 0);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static const char *read_line(ssize_t *len)
{
    static char buf[8192];
    cr_assert(ldisc_input_available(&ld, 0));
    *len = ldisc_read_canon(&ld, sizeof(buf) - 1, to_buf, buf, 0);
    buf[*len < 0 ? 0 : *len] = 0;
    return buf;
}

static void set(uint32_t iset, uint32_t iclr, uint32_t oset, uint32_t oclr, uint32_t lset,
                uint32_t lclr)
{
    struct ktermios t = ld.termios;
    t.c_iflag = (t.c_iflag | iset) & ~iclr;
    t.c_oflag = (t.c_oflag | oset) & ~oclr;
    t.c_lflag = (t.c_lflag | lset) & ~lclr;
    ldisc_set_termios(&ld, &t);
}

TestSuite(tty_ldisc, .init = setup, .fini = teardown);

Test(tty_ldisc, canonical_line_and_echo)
{
    TYPE("hel");
    cr_assert_not(ldisc_input_available(&ld, 0));
    cr_assert_eq(ldisc_inq(&ld), 0);
    TYPE("lo\r");
    ssize_t n;
    cr_assert_str_eq(read_line(&n), "hello\n");
    cr_assert_str_eq(echoed(), "hello\r\n");
    cr_assert_not(ldisc_input_available(&ld, 0));
}

Test(tty_ldisc, erase_kill_werase)
{
    ssize_t n;
    TYPE("abx\x7f" "c\n");
    cr_assert_str_eq(read_line(&n), "abc\n");
    cr_assert_str_eq(echoed(), "abx\b \bc\r\n");
    TYPE("junk\x15ok\n");
    cr_assert_str_eq(read_line(&n), "ok\n");
    cr_assert_str_eq(echoed(), "junk\b \b\b \b\b \b\b \bok\r\n");
    TYPE("one two\x17" "3\n");
    cr_assert_str_eq(read_line(&n), "one 3\n");
    /* a control character echoed as ^A takes two columns to rub out */
    TYPE("\x01\x7f\n");
    echoed();
    cr_assert_str_eq(read_line(&n), "\n");
}

Test(tty_ldisc, eof)
{
    ssize_t n;
    TYPE("xy\x04");
    cr_assert_str_eq(read_line(&n), "xy");
    cr_assert_eq(n, 2);
    TYPE("\x04");
    read_line(&n);
    cr_assert_eq(n, 0);
    cr_assert_not(ldisc_input_available(&ld, 0));
    /* a read that fills the buffer right before an EOF eats the EOF */
    char buf[8];
    TYPE("abc\x04");
    cr_assert_eq(ldisc_inq(&ld), 3);
    cr_assert_eq(ldisc_read_canon(&ld, 3, to_buf, buf, 0), 3);
    cr_assert_not(ldisc_input_available(&ld, 0));
}

Test(tty_ldisc, long_line_keeps_its_end)
{
    static char big[5000];
    memset(big, 'a', sizeof(big));
    type(big, sizeof(big));
    TYPE("\n");
    ssize_t n;
    const char *line = read_line(&n);
    cr_assert_eq(n, LDISC_BUF_SIZE);
    cr_assert_eq(line[n - 1], '\n');
}

Test(tty_ldisc, signal_characters)
{
    TYPE("lost");
    echoed();
    uint64_t sigs = TYPE("\x03");
    cr_assert_eq(sigs, 1ULL << (SIGINT - 1));
    cr_assert_str_eq(echoed(), "^C");
    cr_assert_eq(ldisc_inq(&ld), 0);   /* the line was flushed */
    sigs = TYPE("\x1c\x1a");
    cr_assert_eq(sigs, (1ULL << (SIGQUIT - 1)) | (1ULL << (SIGTSTP - 1)));
    cr_assert_str_eq(echoed(), "^Z");   /* ^Z flushed the echo of ^\ */
    /* the echoes of what a signal character flushes are dropped with it */
    TYPE("abc\x03" "def\n");
    cr_assert_str_eq(echoed(), "^Cdef\r\n");
    ssize_t m;
    cr_assert_str_eq(read_line(&m), "def\n");
    set(0, 0, 0, 0, NOFLSH, 0);
    TYPE("abc\x03" "def\n");
    cr_assert_str_eq(echoed(), "abc^Cdef\r\n");
    cr_assert_str_eq(read_line(&m), "abcdef\n");
    set(0, 0, 0, 0, 0, ISIG);
    cr_assert_eq(TYPE("\x03\n"), 0);
    ssize_t n;
    cr_assert_str_eq(read_line(&n), "\x03\n");
}

Test(tty_ldisc, raw_mode)
{
    set(0, ICRNL | IXON, 0, OPOST, 0, ICANON | ECHO | ISIG | IEXTEN);
    TYPE("a\r\x03\x7f");
    cr_assert_str_eq(echoed(), "");
    char buf[16];
    cr_assert_eq(ldisc_read_raw(&ld, 2, to_buf, buf, 0), 2);
    cr_assert_eq(ldisc_read_raw(&ld, sizeof(buf), to_buf, buf + 2, 0), 2);
    cr_assert_eq(memcmp(buf, "a\r\x03\x7f", 4), 0);
    /* poll waits for VMIN bytes when VTIME is 0 */
    struct ktermios t = ld.termios;
    t.c_cc[VMIN] = 3;
    ldisc_set_termios(&ld, &t);
    TYPE("xy");
    cr_assert(ldisc_input_available(&ld, 0));
    cr_assert_not(ldisc_input_available(&ld, 1));
}

Test(tty_ldisc, back_to_canonical_pushes_a_line)
{
    set(0, 0, 0, 0, 0, ICANON);
    TYPE("pend");
    set(0, 0, 0, 0, ICANON, 0);
    ssize_t n;
    cr_assert_str_eq(read_line(&n), "pend");
}

Test(tty_ldisc, flow_control)
{
    TYPE("\x13");
    cr_assert_not(ldisc_can_write(&ld));
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"x", 1), 0);
    TYPE("\x11");
    cr_assert(ldisc_can_write(&ld));
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"x", 1), 1);
    /* TCOOFF is not undone by START */
    ldisc_stop(&ld, 1);
    TYPE("\x11");
    cr_assert_not(ldisc_can_write(&ld));
    ldisc_start(&ld, 1);
    cr_assert(ldisc_can_write(&ld));
}

Test(tty_ldisc, output_processing)
{
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"a\nb\n", 4), 4);
    cr_assert_str_eq(echoed(), "a\r\nb\r\n");
    set(0, 0, XTABS, 0, 0, 0);
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"ab\tc", 4), 4);
    cr_assert_str_eq(echoed(), "ab      c");
    set(0, 0, OCRNL, ONLCR, 0, 0);
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"\r\n", 2), 2);
    cr_assert_str_eq(echoed(), "\n\n");
}

Test(tty_ldisc, output_waits_for_room)
{
    struct tty_ring small;
    cr_assert_eq(tty_ring_init(&small, 4), 0);
    ld.out = &small;
    /* "\n" becomes two bytes and is not split */
    cr_assert_eq(ldisc_write(&ld, (const uint8_t *)"abc\n", 4), 3);
    cr_assert_eq(tty_ring_count(&small), 3);
    ld.out = &out;
    tty_ring_destroy(&small);
}

Test(tty_ldisc, tab_erase_goes_back_to_the_tab_stop)
{
    TYPE("ab\t");
    cr_assert_str_eq(echoed(), "ab\t");
    TYPE("\x7f");
    cr_assert_str_eq(echoed(), "\b\b\b\b\b\b");
}
