/* Generated text files: buffers and the file operations that serve them (see
 * seqfile.h). */
#include "sentry/fs/seqfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sentry/vfs/file.h"
#include "sentry/vfs/poll.h"

/* reserve: room for n more bytes plus a NUL in a growable buffer. */
static int reserve(struct sbuf *s, size_t n)
{
    if (s->failed)
        return 0;
    if (s->len + n + 1 <= s->size)
        return 1;
    if (!s->grow)
        return 0;
    size_t want = MAX(s->size * 2, MAX(s->len + n + 1, (size_t)512));
    char *nb = realloc(s->buf, want);
    if (!nb) {
        s->failed = 1;
        return 0;
    }
    s->buf = nb;
    s->size = want;
    return 1;
}

void sb_vprintf(struct sbuf *s, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    size_t room = s->size > s->len ? s->size - s->len : 0;
    int n = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room && s->grow && reserve(s, (size_t)n))
        n = vsnprintf(s->buf + s->len, s->size - s->len, fmt, ap2);
    va_end(ap2);
    if (n > 0)
        s->len += (size_t)n;
    /* a fixed buffer that overflowed stays NUL-terminated at its end */
    if (s->size && s->len >= s->size)
        s->buf[s->size - 1] = '\0';
}

void sb_printf(struct sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(s, fmt, ap);
    va_end(ap);
}

void sb_write(struct sbuf *s, const void *data, size_t n)
{
    reserve(s, n);
    if (s->len < s->size) {
        size_t fit = MIN(n, s->size - s->len - 1);
        memcpy(s->buf + s->len, data, fit);
        s->buf[s->len + fit] = '\0';
    }
    s->len += n;
}

void sb_putc(struct sbuf *s, char c) { sb_write(s, &c, 1); }

void sb_pad(struct sbuf *s, size_t line_start, size_t width)
{
    while (s->len - line_start < width)
        sb_putc(s, ' ');
}

/* What an open seq file holds: the content, immutable after open. */
struct seqbuf {
    char *data;
    size_t len;
};

int seqfile_open(struct file *f, struct sbuf *s, const struct file_ops *ops)
{
    if (s->failed) {
        free(s->buf);
        return -ENOMEM;
    }
    struct seqbuf *b = malloc(sizeof(*b));
    if (!b) {
        free(s->buf);
        return -ENOMEM;
    }
    b->data = s->buf;
    b->len = s->len;
    s->buf = NULL;
    f->priv = b;
    f->ops = ops;
    f->seekable = 1;
    return 0;
}

const char *seqfile_data(struct file *f, size_t *len)
{
    struct seqbuf *b = f->priv;
    *len = b->len;
    return b->data ? b->data : "";
}

ssize_t seqfile_read(struct file *f, const struct uio *u, int64_t *pos)
{
    struct seqbuf *b = f->priv;
    if (!pos)
        return -EINVAL;     /* seq files are always seekable: the VFS passes pos */
    if (*pos < 0 || (uint64_t)*pos >= b->len || u->size == 0)
        return 0;
    size_t n = MIN(u->size, b->len - (size_t)*pos);
    ssize_t got = uio_copy_out(u, 0, b->data + *pos, n);
    if (got > 0)
        *pos += got;
    return got;
}

int64_t seqfile_llseek(struct file *f, int64_t off, int whence)
{
    /* seq_lseek: SEEK_SET and SEEK_CUR only; the size is unknown to the reader */
    int64_t base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->pos; break;
    default: return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    f->pos = base + off;
    return f->pos;
}

void seqfile_release(struct file *f)
{
    struct seqbuf *b = f->priv;
    if (b) {
        free(b->data);
        free(b);
    }
    f->priv = NULL;
}

const struct file_ops seqfile_ro_ops = {
    .read = seqfile_read,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
};

unsigned seqfile_poll(struct file *f, struct waitq **wq)
{
    (void)f;
    (void)wq;   /* set to NULL by vfs_poll: the content never changes */
    return POLL_DEFAULT_MASK;
}

const struct file_ops seqfile_ro_poll_ops = {
    .read = seqfile_read,
    .llseek = seqfile_llseek,
    .release = seqfile_release,
    .poll = seqfile_poll,
};
