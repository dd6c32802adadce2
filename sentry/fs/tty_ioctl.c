/* Terminal ioctls of both pty ends (Linux's tty_ioctl, tty_mode_ioctl, n_tty_ioctl
 * and pty_unix98_ioctl). As in Linux, termios and window-size requests on the
 * master act on the slave; the pty-number calls (TIOCGPTN, TIOCSPTLCK ...) exist
 * only on the master; session calls are in tty_ctty.c. A hung-up slave answers
 * EIO to everything but TIOCSPGRP (ENOTTY).
 *
 * Not implemented (ENOTTY): packet mode (TIOCPKT: only turning it off, TIOCGPKT
 * answers off), TIOCSTI, TIOCVHANGUP, TIOCCONS, the locked-termios calls
 * (TIOCGLCKTRMIOS/TIOCSLCKTRMIOS), and the modem and serial calls a pty lacks in
 * Linux too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "sentry/fs/tty_impl.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/fdtable.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

/* The termios2 calls (asm-generic/ioctls.h), spelled out: their macros need the
 * kernel's struct termios2, which clashes with <termios.h>. */
#define TCGETS2_   0x802c542aU
#define TCSETS2_   0x402c542bU
#define TCSETSW2_  0x402c542cU
#define TCSETSF2_  0x402c542dU

#define N_TTY 0
#ifndef BOTHER
#define BOTHER 0010000          /* asm/termbits.h: the speed is in c_[io]speed */
#endif
#ifndef IBSHIFT
#define IBSHIFT 16              /* the input speed's CBAUD bits */
#endif

/* ---- termios ---- */

/* baud_rate: tty_termios_baud_rate for the CBAUD bits cbaud; other: the explicit
 * speed BOTHER stands for. */
static uint32_t baud_rate(uint32_t cbaud, uint32_t other)
{
    static const uint32_t table[] = {
        0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200,
        38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000,
        1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
    };
    if (cbaud == BOTHER)
        return other;
    if (cbaud & CBAUDEX) {
        cbaud &= ~CBAUDEX;
        cbaud += 15;
    }
    return cbaud < ARRAY_SIZE(table) ? table[cbaud] : 0;
}

/* The layouts the guest passes: struct termios, struct termios2, and the old
 * struct termio (16-bit flags, 8 control characters). */
enum { K_TERMIOS, K_TERMIOS2, K_TERMIO };

struct ktermio {
    uint16_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[8];
};
_Static_assert(sizeof(struct ktermio) == 18, "struct termio ABI");

/* termio_in: user_termio_to_kernel_termios: the low flag bits and 8 characters. */
static int termio_in(struct task *t, uint64_t arg, struct ktermios *kt)
{
    struct ktermio v;
    if (mm_copy_in(t->mm, &v, arg, sizeof(v)) < 0)
        return -EFAULT;
    kt->c_iflag = (kt->c_iflag & 0xffff0000u) | v.c_iflag;
    kt->c_oflag = (kt->c_oflag & 0xffff0000u) | v.c_oflag;
    kt->c_cflag = (kt->c_cflag & 0xffff0000u) | v.c_cflag;
    kt->c_lflag = (kt->c_lflag & 0xffff0000u) | v.c_lflag;
    kt->c_line = v.c_line;
    memcpy(kt->c_cc, v.c_cc, sizeof(v.c_cc));
    return 0;
}

/* set_termios: TCSETS*, TCSETS2* and TCSETA*: the background check, the new
 * termios from the guest, a flush of pending input for the F variants, then the line
 * discipline switches. A pty has no output to drain, so the W variants wait for
 * nothing. */
static long set_termios(struct task *t, struct pty *p, uint64_t arg, int kind, int flush)
{
    long r = tty_check_change(t, p, SIGTTOU);
    if (r)
        return r;
    struct ktermios nt;
    pthread_mutex_lock(&p->mu);
    nt = p->ld.termios;
    pthread_mutex_unlock(&p->mu);
    if (kind == K_TERMIO) {
        if (termio_in(t, arg, &nt) < 0)
            return -EFAULT;
    } else if (mm_copy_in(t->mm, &nt, arg,
                          kind == K_TERMIOS2 ? KTERMIOS2_SIZE : KTERMIOS_SIZE) < 0) {
        return -EFAULT;
    }
    /* the speeds follow the CBAUD bits unless those say BOTHER */
    nt.c_ospeed = baud_rate(nt.c_cflag & CBAUD, nt.c_ospeed);
    uint32_t ibaud = (nt.c_cflag >> IBSHIFT) & CBAUD;
    nt.c_ispeed = ibaud == B0 ? nt.c_ospeed : baud_rate(ibaud, nt.c_ispeed);
    /* pty_set_termios: a pty line is always 8 bits, no parity, receiving */
    nt.c_cflag = (nt.c_cflag & ~(uint32_t)(CSIZE | PARENB)) | CS8 | CREAD;
    uint64_t sigs = 0;
    pthread_mutex_lock(&p->mu);
    nt.c_line = p->ld.termios.c_line;   /* the discipline stays n_tty */
    if (flush) {
        tty_ring_flush(&p->to_slave);
        ldisc_flush_input(&p->ld);
    }
    ldisc_set_termios(&p->ld, &nt);
    pty_push_input(p, &sigs);
    pthread_mutex_unlock(&p->mu);
    /* the new settings may make readers or writers ready */
    pty_wake(p, TTY_READ_EVENTS | TTY_WRITE_EVENTS, TTY_READ_EVENTS | TTY_WRITE_EVENTS);
    if (sigs)
        tty_send_fg(p, sigs);
    return 0;
}

static long get_termios(struct task *t, struct pty *p, uint64_t arg, int kind)
{
    struct ktermios kt;
    pthread_mutex_lock(&p->mu);
    kt = p->ld.termios;
    pthread_mutex_unlock(&p->mu);
    if (kind == K_TERMIO) {
        struct ktermio v;
        memset(&v, 0, sizeof(v));   /* the padding byte goes out as 0, as in Linux */
        v.c_iflag = (uint16_t)kt.c_iflag;
        v.c_oflag = (uint16_t)kt.c_oflag;
        v.c_cflag = (uint16_t)kt.c_cflag;
        v.c_lflag = (uint16_t)kt.c_lflag;
        v.c_line = kt.c_line;
        memcpy(v.c_cc, kt.c_cc, sizeof(v.c_cc));
        return mm_copy_out(t->mm, arg, &v, sizeof(v), 0);
    }
    return mm_copy_out(t->mm, arg, &kt, kind == K_TERMIOS2 ? KTERMIOS2_SIZE : KTERMIOS_SIZE,
                       0);
}

/* ---- flushing and flow control ---- */

/* flush: TCFLSH: input is what this end reads, output what it has written that the
 * other end has not read yet. */
static long flush(struct task *t, struct pty *p, int master, int how)
{
    if (how != TCIFLUSH && how != TCOFLUSH && how != TCIOFLUSH)
        return -EINVAL;
    if (!master) {
        long r = tty_check_change(t, p, SIGTTOU);
        if (r)
            return r;
    }
    int in = how != TCOFLUSH, out = how != TCIFLUSH;
    pthread_mutex_lock(&p->mu);
    /* the slave's output is the master's input as soon as it is written (Linux's
     * master line discipline takes it at once), so only the master flushes it */
    if (master && in)
        tty_ring_flush(&p->to_master);
    if ((master && out) || (!master && in)) {
        tty_ring_flush(&p->to_slave);
        if (!master)
            ldisc_flush_input(&p->ld);
    }
    ldisc_flush_echoes(&p->ld);
    pthread_mutex_unlock(&p->mu);
    pty_wake(p, TTY_WRITE_EVENTS, TTY_WRITE_EVENTS);
    return 0;
}

/* xonc: TCXONC: TCOOFF/TCOON suspend and resume the slave's output; TCIOFF/TCION
 * send the STOP or START character to the other end. */
static long xonc(struct task *t, struct pty *p, int master, int action)
{
    if (!master) {
        long r = tty_check_change(t, p, SIGTTOU);
        if (r)
            return r;
    }
    uint64_t sigs = 0;
    pthread_mutex_lock(&p->mu);
    long ret = 0;
    switch (action) {
    case TCOOFF:
    case TCOON:
        /* the master's own output is never stopped in the sandbox */
        if (!master) {
            if (action == TCOOFF)
                ldisc_stop(&p->ld, 1);
            else
                ldisc_start(&p->ld, 1);
        }
        break;
    case TCIOFF:
    case TCION: {
        uint8_t c = p->ld.termios.c_cc[action == TCIOFF ? VSTOP : VSTART];
        if (master) {
            /* the master's termios is Linux's fixed raw one: ^S and ^Q */
            c = action == TCIOFF ? 023 : 021;
            tty_ring_put(&p->to_slave, &c, 1);
            pty_push_input(p, &sigs);
        } else if (c) {
            tty_ring_put(&p->to_master, &c, 1);
        }
        break;
    }
    default:
        ret = -EINVAL;
    }
    pthread_mutex_unlock(&p->mu);
    pty_wake(p, TTY_READ_EVENTS | TTY_WRITE_EVENTS, TTY_READ_EVENTS | TTY_WRITE_EVENTS);
    if (sigs)
        tty_send_fg(p, sigs);
    return ret;
}

/* ---- the master's calls ---- */

/* open_peer: TIOCGPTPEER: opens the slave by its /dev/pts path, with open flags
 * flags, into a new fd. */
static long open_peer(struct task *t, struct pty *p, int flags)
{
    struct path path;
    int err = devpts_slave_path(p, &path);
    if (err < 0)
        return err;
    struct file *f;
    err = vfs_open_path(t, &path, flags, &f);
    path_put(&path);
    if (err < 0)
        return err;
    int fd = fdtable_install(t->fds, 0, f, (flags & O_CLOEXEC) != 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

static long master_ioctl(struct task *t, struct pty *p, unsigned cmd, uint64_t arg)
{
    int val;
    switch (cmd) {
    case TIOCGPTN:
        val = p->index;
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TIOCSPTLCK:
        if (mm_copy_in(t->mm, &val, arg, sizeof(val)) < 0)
            return -EFAULT;
        pthread_mutex_lock(&p->mu);
        p->locked = val != 0;
        pthread_mutex_unlock(&p->mu);
        return 0;
    case TIOCGPTLCK:
        pthread_mutex_lock(&p->mu);
        val = p->locked;
        pthread_mutex_unlock(&p->mu);
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TIOCGPTPEER:
        return open_peer(t, p, (int)arg);
    case TIOCSIG: {
        int sig = (int)arg;
        if (sig != SIGINT && sig != SIGQUIT && sig != SIGTSTP)
            return -EINVAL;
        tty_send_fg(p, 1ULL << (sig - 1));
        return 0;
    }
    case TIOCPKT:
        if (mm_copy_in(t->mm, &val, arg, sizeof(val)) < 0)
            return -EFAULT;
        return val ? -ENOTTY : 0;   /* packet mode is not implemented */
    case TIOCGPKT:
        val = 0;
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    default:
        return -ENOIOCTLCMD;
    }
}

/* ---- everything else ---- */

static long set_winsize(struct task *t, struct pty *p, uint64_t arg)
{
    struct winsize ws;
    if (mm_copy_in(t->mm, &ws, arg, sizeof(ws)) < 0)
        return -EFAULT;
    pthread_mutex_lock(&p->mu);
    int changed = memcmp(&ws, &p->ws, sizeof(ws)) != 0;
    p->ws = ws;
    pthread_mutex_unlock(&p->mu);
    /* pty_resize: the foreground group learns of a change */
    if (changed)
        tty_send_fg(p, 1ULL << (SIGWINCH - 1));
    return 0;
}

long tty_ioctl(struct file *f, struct task *t, unsigned cmd, uint64_t arg)
{
    struct pty *p = tty_file_pty(f);
    int master = tty_is_master(f);
    if (!master && !__atomic_load_n(&p->master_open, __ATOMIC_ACQUIRE))
        return cmd == TIOCSPGRP ? -ENOTTY : -EIO;   /* hung up */
    long r;
    if (master && (r = master_ioctl(t, p, cmd, arg)) != -ENOIOCTLCMD)
        return r;
    if ((r = tty_ctty_ioctl(t, f, p, cmd, arg)) != -ENOIOCTLCMD)
        return r;

    int val;
    struct winsize ws;
    switch (cmd) {
    case TCGETS:
        return get_termios(t, p, arg, K_TERMIOS);
    case TCGETS2_:
        return get_termios(t, p, arg, K_TERMIOS2);
    case TCGETA:
        return get_termios(t, p, arg, K_TERMIO);
    case TCSETS:
    case TCSETSW:
        return set_termios(t, p, arg, K_TERMIOS, 0);
    case TCSETSF:
        return set_termios(t, p, arg, K_TERMIOS, 1);
    case TCSETS2_:
    case TCSETSW2_:
        return set_termios(t, p, arg, K_TERMIOS2, 0);
    case TCSETSF2_:
        return set_termios(t, p, arg, K_TERMIOS2, 1);
    case TCSETA:
    case TCSETAW:
        return set_termios(t, p, arg, K_TERMIO, 0);
    case TCSETAF:
        return set_termios(t, p, arg, K_TERMIO, 1);
    case TIOCGPTPEER:
        return -EIO;   /* on the slave: not a master */
    case TIOCGWINSZ:
        pthread_mutex_lock(&p->mu);
        ws = p->ws;
        pthread_mutex_unlock(&p->mu);
        return mm_copy_out(t->mm, arg, &ws, sizeof(ws), 0);
    case TIOCSWINSZ:
        return set_winsize(t, p, arg);
    case FIONREAD:
        pthread_mutex_lock(&p->mu);
        val = master ? (int)tty_ring_count(&p->to_master) : (int)ldisc_inq(&p->ld);
        pthread_mutex_unlock(&p->mu);
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TIOCOUTQ:
        val = 0;   /* a pty keeps no output of its own (pty_chars_in_buffer) */
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TCFLSH:
        return flush(t, p, master, (int)arg);
    case TCXONC:
        return xonc(t, p, master, (int)arg);
    case TCSBRK:
    case TCSBRKP:
        /* tcdrain and breaks: nothing to drain, no line to break */
        return master ? 0 : tty_check_change(t, p, SIGTTOU);
    case TIOCSBRK:
    case TIOCCBRK:
        return 0;
    case TIOCEXCL:
    case TIOCNXCL:
        if (!master) {
            pthread_mutex_lock(&p->mu);
            p->exclusive = cmd == TIOCEXCL;
            pthread_mutex_unlock(&p->mu);
        }
        return 0;
    case TIOCGEXCL:
        pthread_mutex_lock(&p->mu);
        val = master ? 0 : p->exclusive;
        pthread_mutex_unlock(&p->mu);
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TIOCGETD:
        val = N_TTY;
        return mm_copy_out(t->mm, arg, &val, sizeof(val), 0);
    case TIOCSETD:
        if (mm_copy_in(t->mm, &val, arg, sizeof(val)) < 0)
            return -EFAULT;
        return val == N_TTY ? 0 : -EINVAL;
    default:
        return -ENOTTY;
    }
}
