/* The terminal line discipline (see tty_ldisc.h). The structure follows Linux's
 * n_tty.c function by function, so the two can be compared: receive_special is
 * n_tty_receive_char_special, eraser is eraser, opost_char is do_output_char.
 *
 * Echoes collect during one batch of input and go out at its end, as n_tty's
 * flush_echoes does. Differences, all in what happens when buffers are full: echoes
 * are formatted at once and wait in a byte ring (Linux keeps echo operations and
 * formats them when there is room, so a column can differ if output interleaves,
 * and it commits early past 256 pending bytes); an ISIG flush does not discard output
 * already queued for the master; flow-control characters are not looked ahead of a
 * full read buffer. */
#include "sentry/fs/tty_ldisc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define DISABLED_CHAR 0            /* _POSIX_VDISABLE; also marks an EOF in buf */
#define MASK(x) ((x) & (LDISC_BUF_SIZE - 1))
#define ECHO_RING_SIZE 4096        /* Linux's echo buffer */

#define I_(ld, f) (((ld)->termios.c_iflag & (f)) != 0)
#define O_(ld, f) (((ld)->termios.c_oflag & (f)) != 0)
#define L_(ld, f) (((ld)->termios.c_lflag & (f)) != 0)
#define CC(ld, v) ((ld)->termios.c_cc[v])

/* ---- the kernel's Latin-1 ctype (lib/ctype.c), which n_tty uses ---- */

static int k_iscntrl(uint8_t c) { return c < 32 || c == 127 || (c >= 128 && c < 160); }
static int k_isupper(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 192 && c <= 222 && c != 215);
}
static int k_islower(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 223 && c != 247);
}
static int k_isalnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || k_isupper(c) || k_islower(c);
}
static uint8_t k_tolower(uint8_t c) { return k_isupper(c) ? (uint8_t)(c + 32) : c; }
static uint8_t k_toupper(uint8_t c) { return k_islower(c) ? (uint8_t)(c - 32) : c; }

static int is_continuation(const struct ldisc *ld, uint8_t c)
{
    return I_(ld, IUTF8) && (c & 0xc0) == 0x80;
}

/* ---- rings ---- */

int tty_ring_init(struct tty_ring *r, uint32_t size)
{
    r->buf = malloc(size);
    if (!r->buf)
        return -ENOMEM;
    r->size = size;
    r->head = r->tail = 0;
    return 0;
}

void tty_ring_destroy(struct tty_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

size_t tty_ring_put(struct tty_ring *r, const void *src, size_t n)
{
    const uint8_t *s = src;
    n = MIN(n, (size_t)tty_ring_room(r));
    for (size_t done = 0; done < n;) {
        uint32_t at = r->head & (r->size - 1);
        size_t chunk = MIN(n - done, (size_t)(r->size - at));
        memcpy(r->buf + at, s + done, chunk);
        r->head += (uint32_t)chunk;
        done += chunk;
    }
    return n;
}

ssize_t tty_ring_read(struct tty_ring *r, size_t n, tty_copy_fn fn, void *ctx, size_t skip)
{
    n = MIN(n, (size_t)tty_ring_count(r));
    size_t done = 0;
    while (done < n) {
        uint32_t at = r->tail & (r->size - 1);
        size_t chunk = MIN(n - done, (size_t)(r->size - at));
        ssize_t got = fn(ctx, skip + done, r->buf + at, chunk);
        if (got < 0)
            return done ? (ssize_t)done : got;
        r->tail += (uint32_t)got;
        done += (size_t)got;
        if ((size_t)got < chunk)
            break;
    }
    return (ssize_t)done;
}

/* ---- termios ---- */

void ktermios_pty_slave(struct ktermios *t)
{
    static const uint8_t init_cc[KTERMIOS_NCCS] = {
        [VINTR] = 003, [VQUIT] = 034, [VERASE] = 0177, [VKILL] = 025, [VEOF] = 004,
        [VTIME] = 0, [VMIN] = 1, [VSWTC] = 0, [VSTART] = 021, [VSTOP] = 023,
        [VSUSP] = 032, [VEOL] = 0, [VREPRINT] = 022, [VDISCARD] = 017,
        [VWERASE] = 027, [VLNEXT] = 026, [VEOL2] = 0,
    };
    memset(t, 0, sizeof(*t));
    t->c_iflag = ICRNL | IXON;
    t->c_oflag = OPOST | ONLCR;
    t->c_cflag = B38400 | CS8 | CREAD;
    t->c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    memcpy(t->c_cc, init_cc, sizeof(init_cc));
    t->c_ispeed = t->c_ospeed = 38400;
}

/* ---- the read buffer ---- */

static int delim_test(const struct ldisc *ld, uint32_t pos)
{
    return (ld->delim[MASK(pos) / 64] >> (MASK(pos) % 64)) & 1;
}
static void delim_set(struct ldisc *ld, uint32_t pos)
{
    ld->delim[MASK(pos) / 64] |= 1ULL << (MASK(pos) % 64);
}
static void delim_clear(struct ldisc *ld, uint32_t pos)
{
    ld->delim[MASK(pos) / 64] &= ~(1ULL << (MASK(pos) % 64));
}

static void put_queue(struct ldisc *ld, uint8_t c)
{
    ld->buf[MASK(ld->read_head)] = c;
    ld->read_head++;
}

/* reset_buffer: Linux's reset_buffer_flags: the processed input is gone. */
static void reset_buffer(struct ldisc *ld)
{
    ld->read_head = ld->canon_head = ld->read_tail = ld->line_start = 0;
    ld->erasing = 0;
    ld->push = 0;
    memset(ld->delim, 0, sizeof(ld->delim));
}

/* copy_from_buf: copies n bytes from read_tail on without consuming them. */
static ssize_t copy_from_buf(const struct ldisc *ld, size_t n, tty_copy_fn fn, void *ctx,
                             size_t skip)
{
    size_t done = 0;
    while (done < n) {
        uint32_t at = MASK(ld->read_tail + (uint32_t)done);
        size_t chunk = MIN(n - done, (size_t)(LDISC_BUF_SIZE - at));
        ssize_t got = fn(ctx, skip + done, ld->buf + at, chunk);
        if (got < 0)
            return done ? (ssize_t)done : got;
        done += (size_t)got;
        if ((size_t)got < chunk)
            break;
    }
    return (ssize_t)done;
}

/* ---- output processing and echo ---- */

/* opost_char: do_output_char: the bytes c becomes on output (into o, at most 8),
 * updating the columns *col and *ccol. 0: nothing is output (ONOCR). */
static int opost_char(const struct ldisc *ld, uint8_t c, uint8_t *o, unsigned *col,
                      unsigned *ccol)
{
    switch (c) {
    case '\n':
        if (O_(ld, ONLRET))
            *col = 0;
        if (O_(ld, ONLCR)) {
            *ccol = *col = 0;
            o[0] = '\r';
            o[1] = '\n';
            return 2;
        }
        *ccol = *col;
        break;
    case '\r':
        if (O_(ld, ONOCR) && *col == 0)
            return 0;
        if (O_(ld, OCRNL)) {
            c = '\n';
            if (O_(ld, ONLRET))
                *ccol = *col = 0;
            break;
        }
        *ccol = *col = 0;
        break;
    case '\t': {
        unsigned spaces = 8 - (*col & 7);
        *col += spaces;
        if ((ld->termios.c_oflag & TABDLY) == XTABS) {
            memset(o, ' ', spaces);
            return (int)spaces;
        }
        break;
    }
    case '\b':
        if (*col > 0)
            (*col)--;
        break;
    default:
        if (!k_iscntrl(c)) {
            if (O_(ld, OLCUC))
                c = k_toupper(c);
            if (!is_continuation(ld, c))
                (*col)++;
        }
        break;
    }
    o[0] = c;
    return 1;
}

/* echo_bytes: formatted echo output, queued until the end of the input batch (as
 * n_tty's flush_echoes), so a signal character drops the echoes of what it flushes;
 * lost if the echo ring is full. */
static void echo_bytes(struct ldisc *ld, const uint8_t *b, size_t n)
{
    if (tty_ring_room(&ld->echo) >= n)
        tty_ring_put(&ld->echo, b, n);
}

/* echo_raw: echo_char_raw: c as output processing makes it. */
static void echo_raw(struct ldisc *ld, uint8_t c)
{
    if (!O_(ld, OPOST)) {
        echo_bytes(ld, &c, 1);
        return;
    }
    uint8_t o[8];
    int n = opost_char(ld, c, o, &ld->column, &ld->canon_column);
    echo_bytes(ld, o, (size_t)n);
}

/* echo_char: c, or ^X for a control character under ECHOCTL (tabs excepted). */
static void echo_char(struct ldisc *ld, uint8_t c)
{
    if (L_(ld, ECHOCTL) && k_iscntrl(c) && c != '\t') {
        uint8_t o[2] = { '^', (uint8_t)(c ^ 0100) };
        ld->column += 2;
        echo_bytes(ld, o, 2);
        return;
    }
    echo_raw(ld, c);
}

/* echo_backspaces: n raw backspaces (echo_erase_tab, echo_move_back_col). */
static void echo_backspaces(struct ldisc *ld, unsigned n)
{
    while (n--) {
        uint8_t b = '\b';
        echo_bytes(ld, &b, 1);
        if (ld->column > 0)
            ld->column--;
    }
}

static void finish_erasing(struct ldisc *ld)
{
    if (ld->erasing) {
        echo_raw(ld, '/');
        ld->erasing = 0;
    }
}

void ldisc_flush_echoes(struct ldisc *ld)
{
    if (ld->stopped)
        return;
    while (tty_ring_count(&ld->echo) && tty_ring_room(ld->out)) {
        uint32_t at = ld->echo.tail & (ld->echo.size - 1);
        size_t n = MIN((size_t)tty_ring_count(&ld->echo), (size_t)(ld->echo.size - at));
        n = tty_ring_put(ld->out, ld->echo.buf + at, n);
        ld->echo.tail += (uint32_t)n;
    }
}

/* ---- flow control ---- */

static void stop_tty(struct ldisc *ld) { ld->stopped = 1; }

static void start_tty(struct ldisc *ld)
{
    if (!ld->stopped || ld->tco_stopped)
        return;
    ld->stopped = 0;
    ldisc_flush_echoes(ld);
}

void ldisc_stop(struct ldisc *ld, int tco)
{
    if (tco) {
        if (ld->tco_stopped)
            return;
        ld->tco_stopped = 1;
    }
    stop_tty(ld);
}

void ldisc_start(struct ldisc *ld, int tco)
{
    if (tco) {
        if (!ld->tco_stopped)
            return;
        ld->tco_stopped = 0;
    }
    start_tty(ld);
}

/* ---- input ---- */

/* eraser: ERASE, WERASE and KILL in canonical mode, with their echoes. */
static void eraser(struct ldisc *ld, uint8_t c)
{
    enum { ERASE, WERASE, KILL } kill_type;
    if (ld->read_head == ld->canon_head)
        return;
    if (c == CC(ld, VERASE)) {
        kill_type = ERASE;
    } else if (c == CC(ld, VWERASE)) {
        kill_type = WERASE;
    } else {
        if (!L_(ld, ECHO)) {
            ld->read_head = ld->canon_head;
            return;
        }
        if (!L_(ld, ECHOK) || !L_(ld, ECHOKE) || !L_(ld, ECHOE)) {
            ld->read_head = ld->canon_head;
            finish_erasing(ld);
            echo_char(ld, CC(ld, VKILL));
            if (L_(ld, ECHOK))
                echo_raw(ld, '\n');
            return;
        }
        kill_type = KILL;
    }

    int seen_alnums = 0;
    while (MASK(ld->read_head) != MASK(ld->canon_head)) {
        uint32_t head = ld->read_head;
        /* one character, which may be several bytes of UTF-8 */
        do {
            head--;
            c = ld->buf[MASK(head)];
        } while (is_continuation(ld, c) && MASK(head) != MASK(ld->canon_head));
        if (is_continuation(ld, c))
            break;   /* never erase part of a character */
        if (kill_type == WERASE) {
            if (k_isalnum(c) || c == '_')
                seen_alnums++;
            else if (seen_alnums)
                break;
        }
        uint32_t cnt = ld->read_head - head;
        ld->read_head = head;
        if (L_(ld, ECHO)) {
            if (L_(ld, ECHOPRT)) {
                if (!ld->erasing) {
                    echo_raw(ld, '\\');
                    ld->erasing = 1;
                }
                echo_char(ld, c);
                while (--cnt > 0) {
                    head++;
                    echo_raw(ld, ld->buf[MASK(head)]);
                    if (ld->column > 0)
                        ld->column--;
                }
            } else if (kill_type == ERASE && !L_(ld, ECHOE)) {
                echo_char(ld, CC(ld, VERASE));
            } else if (c == '\t') {
                /* back to where the tab started: count the columns since the
                 * previous tab, or since the line began */
                unsigned num_chars = 0;
                int after_tab = 0;
                uint32_t tail = ld->read_head;
                while (MASK(tail) != MASK(ld->canon_head)) {
                    tail--;
                    uint8_t t = ld->buf[MASK(tail)];
                    if (t == '\t') {
                        after_tab = 1;
                        break;
                    } else if (k_iscntrl(t)) {
                        if (L_(ld, ECHOCTL))
                            num_chars += 2;
                    } else if (!is_continuation(ld, t)) {
                        num_chars++;
                    }
                }
                num_chars &= 7;
                if (!after_tab)
                    num_chars += ld->canon_column;
                echo_backspaces(ld, 8 - (num_chars & 7));
            } else {
                static const uint8_t rub[3] = { '\b', ' ', '\b' };
                if (k_iscntrl(c) && L_(ld, ECHOCTL))
                    for (int i = 0; i < 3; i++)
                        echo_raw(ld, rub[i]);
                if (!k_iscntrl(c) || L_(ld, ECHOCTL))
                    for (int i = 0; i < 3; i++)
                        echo_raw(ld, rub[i]);
            }
        }
        if (kill_type == ERASE)
            break;
    }
    if (ld->read_head == ld->canon_head && L_(ld, ECHO))
        finish_erasing(ld);
}

/* handle_newline: the line ends with c (a newline, EOL, or DISABLED_CHAR for EOF). */
static void handle_newline(struct ldisc *ld, uint8_t c)
{
    delim_set(ld, ld->read_head);
    put_queue(ld, c);
    ld->canon_head = ld->read_head;
}

/* signal_char: ISIG: the signal for the foreground group, a flush unless NOFLSH. */
static void signal_char(struct ldisc *ld, int sig, uint8_t c, uint64_t *sigs)
{
    *sigs |= 1ULL << (sig - 1);
    if (!L_(ld, NOFLSH)) {
        tty_ring_flush(&ld->echo);
        reset_buffer(ld);
    }
    if (I_(ld, IXON))
        start_tty(ld);
    if (L_(ld, ECHO))
        echo_char(ld, c);
}

/* receive_canon: the canonical-mode characters; 1 if c was consumed. */
static int receive_canon(struct ldisc *ld, uint8_t c)
{
    if (c == CC(ld, VERASE) || c == CC(ld, VKILL) ||
        (c == CC(ld, VWERASE) && L_(ld, IEXTEN))) {
        eraser(ld, c);
        return 1;
    }
    if (c == CC(ld, VLNEXT) && L_(ld, IEXTEN)) {
        ld->lnext = 1;
        if (L_(ld, ECHO)) {
            finish_erasing(ld);
            if (L_(ld, ECHOCTL)) {
                echo_raw(ld, '^');
                echo_raw(ld, '\b');
            }
        }
        return 1;
    }
    if (c == CC(ld, VREPRINT) && L_(ld, ECHO) && L_(ld, IEXTEN)) {
        finish_erasing(ld);
        echo_char(ld, c);
        echo_raw(ld, '\n');
        for (uint32_t tail = ld->canon_head; MASK(tail) != MASK(ld->read_head); tail++)
            echo_char(ld, ld->buf[MASK(tail)]);
        return 1;
    }
    if (c == '\n') {
        if (L_(ld, ECHO) || L_(ld, ECHONL))
            echo_raw(ld, '\n');
        handle_newline(ld, c);
        return 1;
    }
    if (c == CC(ld, VEOF)) {
        handle_newline(ld, DISABLED_CHAR);
        return 1;
    }
    if (c == CC(ld, VEOL) || (c == CC(ld, VEOL2) && L_(ld, IEXTEN))) {
        if (L_(ld, ECHO)) {
            if (ld->canon_head == ld->read_head)
                ld->canon_column = ld->column;
            echo_char(ld, c);
        }
        if (c == 0377 && I_(ld, PARMRK))
            put_queue(ld, c);
        handle_newline(ld, c);
        return 1;
    }
    return 0;
}

/* receive_plain: n_tty_receive_char: an ordinary character. */
static void receive_plain(struct ldisc *ld, uint8_t c)
{
    if (ld->stopped && !ld->tco_stopped && I_(ld, IXON) && I_(ld, IXANY))
        start_tty(ld);
    if (L_(ld, ECHO)) {
        finish_erasing(ld);
        if (ld->canon_head == ld->read_head)
            ld->canon_column = ld->column;
        echo_char(ld, c);
    }
    if (c == 0377 && I_(ld, PARMRK))
        put_queue(ld, c);
    put_queue(ld, c);
}

/* receive_special: n_tty_receive_char_special: a character of char_map. */
static void receive_special(struct ldisc *ld, uint8_t c, uint64_t *sigs)
{
    if (I_(ld, IXON) && (c == CC(ld, VSTART) || c == CC(ld, VSTOP))) {
        if (c == CC(ld, VSTART))
            start_tty(ld);
        else
            stop_tty(ld);
        return;
    }
    if (L_(ld, ISIG)) {
        int sig = c == CC(ld, VINTR) ? SIGINT : c == CC(ld, VQUIT) ? SIGQUIT
                : c == CC(ld, VSUSP) ? SIGTSTP : 0;
        if (sig) {
            signal_char(ld, sig, c, sigs);
            return;
        }
    }
    if (ld->stopped && !ld->tco_stopped && I_(ld, IXON) && I_(ld, IXANY))
        start_tty(ld);
    if (c == '\r') {
        if (I_(ld, IGNCR))
            return;
        if (I_(ld, ICRNL))
            c = '\n';
    } else if (c == '\n' && I_(ld, INLCR)) {
        c = '\r';
    }
    if (ld->icanon && receive_canon(ld, c))
        return;
    if (L_(ld, ECHO)) {
        finish_erasing(ld);
        if (c == '\n') {
            echo_raw(ld, '\n');
        } else {
            if (ld->canon_head == ld->read_head)
                ld->canon_column = ld->column;
            echo_char(ld, c);
        }
    }
    if (c == 0377 && I_(ld, PARMRK))
        put_queue(ld, c);
    put_queue(ld, c);
}

static int map_test(const struct ldisc *ld, uint8_t c)
{
    return (ld->char_map[c / 64] >> (c % 64)) & 1;
}

static void receive_char(struct ldisc *ld, uint8_t c, uint64_t *sigs)
{
    int lnext = ld->lnext;
    ld->lnext = 0;
    if (I_(ld, ISTRIP))
        c &= 0x7f;
    if (I_(ld, IUCLC) && L_(ld, IEXTEN))
        c = k_tolower(c);
    if (lnext) {
        receive_plain(ld, c);
        return;
    }
    if (L_(ld, EXTPROC)) {
        put_queue(ld, c);
        return;
    }
    if (map_test(ld, c))
        receive_special(ld, c, sigs);
    else
        receive_plain(ld, c);
}

size_t ldisc_receive(struct ldisc *ld, struct tty_ring *in, uint64_t *sigs)
{
    size_t done = 0;
    while (tty_ring_count(in)) {
        /* n_tty_receive_buf_common's room: one slot stays free; a canonical line
         * that fills the buffer keeps overwriting its last byte, so that the line's
         * end can still come in */
        int room = LDISC_BUF_SIZE - (int)(ld->read_head - ld->read_tail);
        if (I_(ld, PARMRK))
            room = (room + 2) / 3;
        room--;
        if (room <= 0) {
            int overflow = ld->icanon && ld->canon_head == ld->read_tail;
            if (!overflow)
                break;
            if (room < 0)
                ld->read_head--;
        }
        uint8_t c = in->buf[in->tail & (in->size - 1)];
        in->tail++;
        receive_char(ld, c, sigs);
        done++;
    }
    ldisc_flush_echoes(ld);
    return done;
}

/* ---- termios changes ---- */

static void map_set(struct ldisc *ld, uint8_t c) { ld->char_map[c / 64] |= 1ULL << (c % 64); }

/* build_char_map: the characters receive_special must see under the current flags. */
static void build_char_map(struct ldisc *ld)
{
    memset(ld->char_map, 0, sizeof(ld->char_map));
    if (I_(ld, IGNCR) || I_(ld, ICRNL))
        map_set(ld, '\r');
    if (I_(ld, INLCR))
        map_set(ld, '\n');
    if (L_(ld, ICANON)) {
        map_set(ld, CC(ld, VERASE));
        map_set(ld, CC(ld, VKILL));
        map_set(ld, CC(ld, VEOF));
        map_set(ld, '\n');
        map_set(ld, CC(ld, VEOL));
        if (L_(ld, IEXTEN)) {
            map_set(ld, CC(ld, VWERASE));
            map_set(ld, CC(ld, VLNEXT));
            map_set(ld, CC(ld, VEOL2));
            if (L_(ld, ECHO))
                map_set(ld, CC(ld, VREPRINT));
        }
    }
    if (I_(ld, IXON)) {
        map_set(ld, CC(ld, VSTART));
        map_set(ld, CC(ld, VSTOP));
    }
    if (L_(ld, ISIG)) {
        map_set(ld, CC(ld, VINTR));
        map_set(ld, CC(ld, VQUIT));
        map_set(ld, CC(ld, VSUSP));
    }
    ld->char_map[0] &= ~1ULL;   /* a disabled character is never special */
}

/* apply_termios: n_tty_set_termios; old is NULL when the ldisc is new. */
static void apply_termios(struct ldisc *ld, const struct ktermios *old)
{
    if (!old || ((old->c_lflag ^ ld->termios.c_lflag) & (ICANON | EXTPROC))) {
        memset(ld->delim, 0, sizeof(ld->delim));
        ld->line_start = ld->read_tail;
        if (!L_(ld, ICANON) || ld->read_head == ld->read_tail) {
            ld->canon_head = ld->read_tail;
            ld->push = 0;
        } else {
            /* what was typed so far becomes a line, as if EOF were pushed */
            delim_set(ld, ld->read_head - 1);
            ld->canon_head = ld->read_head;
            ld->push = 1;
        }
        ld->erasing = 0;
        ld->lnext = 0;
    }
    ld->icanon = L_(ld, ICANON);
    build_char_map(ld);
    if (old && !I_(ld, IXON) && (old->c_iflag & IXON) && !ld->tco_stopped)
        start_tty(ld);
}

void ldisc_set_termios(struct ldisc *ld, const struct ktermios *t)
{
    struct ktermios old = ld->termios;
    ld->termios = *t;
    apply_termios(ld, &old);
}

int ldisc_init(struct ldisc *ld, const struct ktermios *t, struct tty_ring *out)
{
    memset(ld, 0, sizeof(*ld));
    if (tty_ring_init(&ld->echo, ECHO_RING_SIZE) < 0)
        return -ENOMEM;
    ld->out = out;
    ld->termios = *t;
    apply_termios(ld, NULL);
    return 0;
}

void ldisc_destroy(struct ldisc *ld) { tty_ring_destroy(&ld->echo); }

/* ---- reading ---- */

int ldisc_input_available(const struct ldisc *ld, int poll)
{
    if (ld->icanon && !L_(ld, EXTPROC))
        return ld->canon_head != ld->read_tail;
    unsigned amt = poll && !CC(ld, VTIME) && CC(ld, VMIN) ? CC(ld, VMIN) : 1;
    return ld->read_head - ld->read_tail >= amt;
}

/* canon_skip_eof: a read that stopped right before a line's EOF eats the EOF, so
 * the next read does not report end of file for it. */
static void canon_skip_eof(struct ldisc *ld)
{
    if (ld->read_tail == ld->canon_head)
        return;
    if (!delim_test(ld, ld->read_tail) || ld->buf[MASK(ld->read_tail)] != DISABLED_CHAR)
        return;
    delim_clear(ld, ld->read_tail);
    ld->read_tail++;
}

ssize_t ldisc_read_canon(struct ldisc *ld, size_t nr, tty_copy_fn fn, void *ctx, size_t skip)
{
    if (!nr)
        return 0;
    size_t n = MIN(nr, (size_t)(ld->canon_head - ld->read_tail));
    size_t eol = 0;
    int found = 0;
    for (; eol < n; eol++) {
        if (delim_test(ld, ld->read_tail + (uint32_t)eol)) {
            found = 1;
            break;
        }
    }
    size_t consumed = eol + (size_t)found;
    size_t copy = consumed;
    if (found && ld->buf[MASK(ld->read_tail + (uint32_t)eol)] == DISABLED_CHAR)
        copy = eol;   /* the EOF itself is not data */
    ssize_t got = copy_from_buf(ld, copy, fn, ctx, skip);
    if (got < 0)
        return got;
    if ((size_t)got < copy) {
        ld->read_tail += (uint32_t)got;   /* a fault part way: keep the rest */
        return got;
    }
    if (found)
        delim_clear(ld, ld->read_tail + (uint32_t)eol);
    ld->read_tail += (uint32_t)consumed;
    if (found) {
        if (!ld->push)
            ld->line_start = ld->read_tail;
        else
            ld->push = 0;
    } else {
        canon_skip_eof(ld);   /* the caller's buffer is full */
    }
    return got;
}

ssize_t ldisc_read_raw(struct ldisc *ld, size_t n, tty_copy_fn fn, void *ctx, size_t skip)
{
    n = MIN(n, (size_t)(ld->read_head - ld->read_tail));
    ssize_t got = copy_from_buf(ld, n, fn, ctx, skip);
    if (got > 0)
        ld->read_tail += (uint32_t)got;
    return got;
}

unsigned ldisc_inq(const struct ldisc *ld)
{
    if (!L_(ld, ICANON) || L_(ld, EXTPROC))
        return ld->read_head - ld->read_tail;
    unsigned nr = 0;
    for (uint32_t tail = ld->read_tail; tail != ld->canon_head; tail++)
        if (!delim_test(ld, tail) || ld->buf[MASK(tail)] != DISABLED_CHAR)
            nr++;
    return nr;
}

void ldisc_flush_input(struct ldisc *ld) { reset_buffer(ld); }

/* ---- writing ---- */

size_t ldisc_write(struct ldisc *ld, const uint8_t *buf, size_t n)
{
    ldisc_flush_echoes(ld);
    if (ld->stopped || tty_ring_count(&ld->echo))
        return 0;
    if (!O_(ld, OPOST))
        return tty_ring_put(ld->out, buf, n);
    size_t i = 0;
    for (; i < n; i++) {
        if (!tty_ring_room(ld->out))
            break;
        uint8_t o[8];
        unsigned col = ld->column, ccol = ld->canon_column;
        int len = opost_char(ld, buf[i], o, &col, &ccol);
        if ((uint32_t)len > tty_ring_room(ld->out))
            break;
        tty_ring_put(ld->out, o, (size_t)len);
        ld->column = col;
        ld->canon_column = ccol;
    }
    return i;
}
