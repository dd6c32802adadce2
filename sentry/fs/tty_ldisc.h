/* The terminal line discipline: Linux's n_tty (drivers/tty/n_tty.c) as a pure data
 * structure. It turns the bytes typed into a terminal into what its readers get
 * (canonical lines with erase/kill/EOF, or raw bytes with VMIN/VTIME), echoes them,
 * recognises the signal characters, and post-processes what the terminal's programs
 * write (OPOST). No locks, no sleeping, no guest memory: the pty code (tty.c) calls
 * these with its lock held and does the blocking around them.
 *
 * Bytes move through byte rings: `in` is what was typed (the pty master's writes,
 * Linux's flip buffer), the ldisc's own read buffer holds the processed input, and
 * `out` receives echoes and processed output (what the master reads). */
#ifndef SENTRY_FS_TTY_LDISC_H
#define SENTRY_FS_TTY_LDISC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>   /* the flag bits and V* indices, which match the kernel's */

/* The kernel's struct termios2 (asm/termbits.h). TCGETS/TCSETS copy the first
 * KTERMIOS_SIZE bytes (struct termios), TCGETS2/TCSETS2 all of it. */
#define KTERMIOS_NCCS 19
struct ktermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[KTERMIOS_NCCS];
    uint32_t c_ispeed, c_ospeed;
};
#define KTERMIOS_SIZE  36
#define KTERMIOS2_SIZE 44
_Static_assert(sizeof(struct ktermios) == KTERMIOS2_SIZE, "termios2 ABI");

/* ktermios_pty_slave: the termios a new pty slave starts with (tty_std_termios with
 * pts_driver's cflag): ICRNL IXON, OPOST ONLCR, B38400 CS8 CREAD, ISIG ICANON ECHO
 * ECHOE ECHOK ECHOCTL ECHOKE IEXTEN, and Linux's INIT_C_CC. */
void ktermios_pty_slave(struct ktermios *t);

/* A byte ring; head and tail run freely, so head - tail is the count. */
struct tty_ring {
    uint8_t *buf;
    uint32_t size;              /* a power of two */
    uint32_t head, tail;
};

/* tty_copy_fn: copies n bytes from src to the destination at offset skip; returns
 * the bytes copied (short only at a fault) or -EFAULT. uio_copy_out fits. */
typedef ssize_t (*tty_copy_fn)(void *ctx, size_t skip, const void *src, size_t n);

/* tty_ring_init: an empty ring of size bytes (a power of two). 0 or -ENOMEM. */
int tty_ring_init(struct tty_ring *r, uint32_t size);
void tty_ring_destroy(struct tty_ring *r);
static inline uint32_t tty_ring_count(const struct tty_ring *r) { return r->head - r->tail; }
static inline uint32_t tty_ring_room(const struct tty_ring *r)
{
    return r->size - (r->head - r->tail);
}
static inline void tty_ring_flush(struct tty_ring *r) { r->tail = r->head; }
/* tty_ring_put: appends as much of src[0..n) as fits; returns how much. */
size_t tty_ring_put(struct tty_ring *r, const void *src, size_t n);
/* tty_ring_read: moves up to n bytes to the destination (fn at offset skip). Returns
 * the bytes moved; only those are consumed. -EFAULT if nothing could be copied. */
ssize_t tty_ring_read(struct tty_ring *r, size_t n, tty_copy_fn fn, void *ctx, size_t skip);

/* The read buffer size (N_TTY_BUF_SIZE): a canonical line holds at most 4095 bytes. */
#define LDISC_BUF_SIZE 4096

struct ldisc {
    struct ktermios termios;
    uint8_t buf[LDISC_BUF_SIZE];            /* processed input */
    uint64_t delim[LDISC_BUF_SIZE / 64];    /* bit set: a line delimiter at that slot */
    uint64_t char_map[4];                   /* the bytes that need special handling */
    uint32_t read_head, read_tail;          /* free-running positions in buf */
    uint32_t canon_head;                    /* end of the last complete line */
    uint32_t line_start;                    /* start of the line being read */
    int icanon;                             /* ICANON as last applied */
    int push;                               /* a line was pushed by a termios change */
    int lnext;                              /* the next byte is taken literally */
    int erasing;                            /* inside an ECHOPRT \...\ sequence */
    unsigned column, canon_column;          /* output column, for tabs and erase */
    int stopped;                            /* output stopped (STOP char or TCOOFF) */
    int tco_stopped;                        /* ... by TCOOFF, which START does not undo */
    struct tty_ring echo;                   /* echoes waiting for room in out */
    struct tty_ring *out;                   /* echoes and output go here (not owned) */
};

/* ldisc_init: termios *t, empty buffers, output to out. 0 or -ENOMEM. */
int ldisc_init(struct ldisc *ld, const struct ktermios *t, struct tty_ring *out);
void ldisc_destroy(struct ldisc *ld);

/* ldisc_set_termios: applies a new termios (n_tty_set_termios): leaving canonical
 * mode makes pending bytes readable, entering it pushes them as a line. */
void ldisc_set_termios(struct ldisc *ld, const struct ktermios *t);

/* ldisc_receive: processes typed bytes from in while the read buffer has room (the
 * rest stay in in). Signal characters (ISIG) add their signal to *sigs as bit
 * (1 << (sig - 1)); the caller sends them to the foreground process group. Returns
 * the bytes consumed. */
size_t ldisc_receive(struct ldisc *ld, struct tty_ring *in, uint64_t *sigs);

/* ldisc_input_available: whether a read would find data now: a complete line in
 * canonical mode, else at least one byte (poll: VMIN bytes when VTIME is 0). */
int ldisc_input_available(const struct ldisc *ld, int poll);

/* ldisc_read_canon: copies one line, or as much of it as n allows, to the
 * destination; the line's EOF character is not copied. Returns the bytes copied (0:
 * an EOF line) or -EFAULT. Call only when ldisc_input_available(). */
ssize_t ldisc_read_canon(struct ldisc *ld, size_t n, tty_copy_fn fn, void *ctx, size_t skip);

/* ldisc_read_raw: copies up to n available bytes (non-canonical mode). Returns the
 * count or -EFAULT. */
ssize_t ldisc_read_raw(struct ldisc *ld, size_t n, tty_copy_fn fn, void *ctx, size_t skip);

/* ldisc_inq: FIONREAD: the bytes a read could return (EOF marks not counted). */
unsigned ldisc_inq(const struct ldisc *ld);

/* ldisc_flush_input: discards the processed input (TCIFLUSH). */
void ldisc_flush_input(struct ldisc *ld);

/* ldisc_write: post-processes (OPOST) up to n bytes a program writes into out,
 * stopping when out has no room for the next byte's expansion or output is stopped.
 * Pending echoes go first. Returns the bytes of buf consumed. */
size_t ldisc_write(struct ldisc *ld, const uint8_t *buf, size_t n);

/* ldisc_flush_echoes: moves pending echoes into out as room allows (after the reader
 * of out made room, or output was restarted). */
void ldisc_flush_echoes(struct ldisc *ld);

/* ldisc_stop/ldisc_start: TCOOFF/TCOON; ldisc_can_write: output is not stopped. */
void ldisc_stop(struct ldisc *ld, int tco);
void ldisc_start(struct ldisc *ld, int tco);
static inline int ldisc_can_write(const struct ldisc *ld) { return !ld->stopped; }

#endif
