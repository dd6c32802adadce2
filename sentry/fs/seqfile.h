/* Generated text files (procfs, sysfs): the whole content is produced once, at open,
 * into a buffer that read and llseek then serve, as Linux's seq_file does for
 * single_open files. A reader therefore sees one consistent snapshot. */
#ifndef SENTRY_FS_SEQFILE_H
#define SENTRY_FS_SEQFILE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct file;
struct file_ops;

/* A text buffer. Fixed (grow == 0): output past size is dropped but still counted in
 * len, so a formatter can return the length it needed, as snprintf does. Growable:
 * the buffer is reallocated as needed (failed is set when memory runs out). */
struct sbuf {
    char *buf;
    size_t size;
    size_t len;
    int grow;
    int failed;
};

/* sb_fixed: a fixed buffer over buf[size] (may be NULL/0 to only measure). */
static inline struct sbuf sb_fixed(char *buf, size_t size)
{
    if (buf && size)
        buf[0] = '\0';
    return (struct sbuf){ buf, size, 0, 0, 0 };
}
/* sb_dynamic: an empty growable buffer; free its buf when done. */
static inline struct sbuf sb_dynamic(void) { return (struct sbuf){ 0, 0, 0, 1, 0 }; }

void sb_printf(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *s, const char *fmt, va_list ap);
void sb_write(struct sbuf *s, const void *data, size_t n);
void sb_putc(struct sbuf *s, char c);
/* sb_pad: appends spaces until the text since line_start is width long. */
void sb_pad(struct sbuf *s, size_t line_start, size_t width);

/* seqfile_open: makes f serve the content of s (a growable buffer whose memory moves
 * into the file) with the given ops (seqfile_ro_ops, or ops whose read/llseek/
 * release are the seqfile ones). Returns -ENOMEM if s failed. */
int seqfile_open(struct file *f, struct sbuf *s, const struct file_ops *ops);
/* seqfile_data: the content behind an open seq file (for tests). */
const char *seqfile_data(struct file *f, size_t *len);

/* The pieces of a seq file's file_ops, for files that add a write. */
struct uio;
ssize_t seqfile_read(struct file *f, const struct uio *u, int64_t *pos);
int64_t seqfile_llseek(struct file *f, int64_t off, int whence);
void seqfile_release(struct file *f);
/* seqfile_ro_ops: read-only generated files (write fails with -EINVAL, as Linux does
 * for a file with no write method). */
extern const struct file_ops seqfile_ro_ops;
/* seqfile_poll: always readable and writable (POLL_DEFAULT_MASK), with no queue: the
 * poll method of Linux's proc files that have one (so epoll accepts them). */
struct waitq;
unsigned seqfile_poll(struct file *f, struct waitq **wq);
/* seqfile_ro_poll_ops: seqfile_ro_ops with seqfile_poll. */
extern const struct file_ops seqfile_ro_poll_ops;

#endif
