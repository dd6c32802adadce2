/* The slot ring behind a pipe (see pipe_buf.h). */
#include "sentry/fs/pipe_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int pipe_buf_init(struct pipe_buf *b, unsigned nslots)
{
    memset(b, 0, sizeof(*b));
    b->slots = calloc(nslots, sizeof(*b->slots));
    if (!b->slots)
        return -ENOMEM;
    b->nslots = nslots;
    return 0;
}

void pipe_buf_destroy(struct pipe_buf *b)
{
    for (unsigned i = 0; i < b->used; i++)
        free(b->slots[(b->tail + i) % b->nslots].page);
    free(b->slots);
    free(b->spare);
    memset(b, 0, sizeof(*b));
}

int pipe_buf_resize(struct pipe_buf *b, unsigned nslots)
{
    if (nslots < b->used)
        return -EBUSY;
    struct pipe_slot *s = calloc(nslots, sizeof(*s));
    if (!s)
        return -ENOMEM;
    /* the occupied slots move to the front, in order */
    for (unsigned i = 0; i < b->used; i++)
        s[i] = b->slots[(b->tail + i) % b->nslots];
    free(b->slots);
    b->slots = s;
    b->nslots = nslots;
    b->tail = 0;
    return 0;
}

static struct pipe_slot *slot(struct pipe_buf *b, unsigned i)
{
    return &b->slots[(b->tail + i) % b->nslots];
}

static char *page_take(struct pipe_buf *b)
{
    char *p = b->spare;
    b->spare = NULL;
    return p ? p : malloc(PAGE_SIZE);
}

static void page_drop(struct pipe_buf *b, char *p)
{
    if (!b->spare)
        b->spare = p;
    else
        free(p);
}

ssize_t pipe_buf_merge(struct pipe_buf *b, size_t total, pipe_copy_fn copy, void *ctx)
{
    size_t chars = total & (PAGE_SIZE - 1);
    if (!chars || pipe_buf_empty(b))
        return 0;
    struct pipe_slot *last = slot(b, b->used - 1);
    size_t end = last->off + last->len;
    if (last->packet || last->nomerge || end + chars > PAGE_SIZE)
        return 0;
    ssize_t n = copy(ctx, 0, last->page + end, chars);
    if (n < (ssize_t)chars)
        return -EFAULT;  /* the copied bytes are past len: never seen */
    last->len += (uint32_t)chars;
    b->bytes += chars;
    return (ssize_t)chars;
}

ssize_t pipe_buf_push(struct pipe_buf *b, size_t n, int kind, pipe_copy_fn copy,
                      void *ctx, size_t skip)
{
    if (pipe_buf_full(b) || n == 0)
        return 0;
    char *page = page_take(b);
    if (!page)
        return -ENOMEM;
    size_t want = MIN(n, PAGE_SIZE);
    ssize_t got = copy(ctx, skip, page, want);
    if (got < (ssize_t)want) {
        page_drop(b, page);
        return -EFAULT;
    }
    struct pipe_slot *s = slot(b, b->used);
    *s = (struct pipe_slot){ .page = page, .off = 0, .len = (uint32_t)want,
                             .packet = (kind & PIPE_SLOT_PACKET) != 0,
                             .nomerge = (kind & PIPE_SLOT_NOMERGE) != 0 };
    b->used++;
    b->bytes += want;
    return (ssize_t)want;
}

ssize_t pipe_buf_pop(struct pipe_buf *b, size_t n, pipe_copy_fn copy, void *ctx,
                     size_t skip, int *end)
{
    *end = 0;
    if (pipe_buf_empty(b))
        return 0;
    struct pipe_slot *s = slot(b, 0);
    size_t chars = MIN(n, s->len);
    ssize_t got = copy(ctx, skip, s->page + s->off, chars);
    if (got < (ssize_t)chars)
        return -EFAULT;
    if (s->packet) {
        /* one message per read; the rest of it is discarded, as in Linux */
        b->bytes -= s->len;
        s->len = 0;
        *end = 1;
    } else {
        s->off += (uint32_t)chars;
        s->len -= (uint32_t)chars;
        b->bytes -= chars;
    }
    if (s->len == 0) {
        page_drop(b, s->page);
        s->page = NULL;
        b->tail = (b->tail + 1) % b->nslots;
        b->used--;
    }
    return (ssize_t)chars;
}

/* ---- splice, tee, vmsplice ---- */

/* slot_c: slot i of a const buffer. */
static const struct pipe_slot *slot_c(const struct pipe_buf *b, unsigned i)
{
    return &b->slots[(b->tail + i) % b->nslots];
}

size_t pipe_buf_peek(const struct pipe_buf *b, void *dst, size_t n)
{
    size_t done = 0;
    for (unsigned i = 0; i < b->used && done < n; i++) {
        const struct pipe_slot *s = slot_c(b, i);
        size_t take = MIN(n - done, s->len);
        memcpy((char *)dst + done, s->page + s->off, take);
        done += take;
    }
    return done;
}

/* pop_slot: frees the oldest slot (empty now). */
static void pop_slot(struct pipe_buf *b)
{
    struct pipe_slot *s = slot(b, 0);
    page_drop(b, s->page);
    s->page = NULL;
    b->tail = (b->tail + 1) % b->nslots;
    b->used--;
}

void pipe_buf_consume(struct pipe_buf *b, size_t n)
{
    while (n > 0 && !pipe_buf_empty(b)) {
        struct pipe_slot *s = slot(b, 0);
        size_t take = MIN(n, s->len);
        s->off += (uint32_t)take;
        s->len -= (uint32_t)take;
        b->bytes -= take;
        n -= take;
        if (s->len == 0)
            pop_slot(b);
    }
}

/* push_copy: a new non-mergeable slot in b holding a copy of n bytes at src. */
static int push_copy(struct pipe_buf *b, const char *src, size_t n)
{
    char *page = page_take(b);
    if (!page)
        return -ENOMEM;
    memcpy(page, src, n);
    *slot(b, b->used) = (struct pipe_slot){ .page = page, .len = (uint32_t)n, .nomerge = 1 };
    b->used++;
    b->bytes += n;
    return 0;
}

ssize_t pipe_buf_move(struct pipe_buf *dst, struct pipe_buf *src, size_t n)
{
    size_t done = 0;
    while (done < n && !pipe_buf_empty(src) && !pipe_buf_full(dst)) {
        struct pipe_slot *s = slot(src, 0);
        if (s->len <= n - done) {
            /* the whole slot changes pipes */
            *slot(dst, dst->used) = *s;
            dst->used++;
            dst->bytes += s->len;
            src->bytes -= s->len;
            done += s->len;
            s->page = NULL;
            src->tail = (src->tail + 1) % src->nslots;
            src->used--;
            continue;
        }
        size_t part = n - done;
        if (push_copy(dst, s->page + s->off, part) < 0)
            return done ? (ssize_t)done : -ENOMEM;
        s->off += (uint32_t)part;
        s->len -= (uint32_t)part;
        src->bytes -= part;
        done += part;
    }
    return (ssize_t)done;
}

ssize_t pipe_buf_dup(struct pipe_buf *dst, const struct pipe_buf *src, size_t n)
{
    size_t done = 0;
    for (unsigned i = 0; i < src->used && done < n && !pipe_buf_full(dst); i++) {
        const struct pipe_slot *s = slot_c(src, i);
        size_t take = MIN(n - done, s->len);
        if (push_copy(dst, s->page + s->off, take) < 0)
            return done ? (ssize_t)done : -ENOMEM;
        done += take;
    }
    return (ssize_t)done;
}

/* host copies for the conveniences: ctx is the host buffer */
static ssize_t copy_from_host(void *ctx, size_t skip, void *p, size_t n)
{
    memcpy(p, (const char *)ctx + skip, n);
    return (ssize_t)n;
}

static ssize_t copy_to_host(void *ctx, size_t skip, void *p, size_t n)
{
    memcpy((char *)ctx + skip, p, n);
    return (ssize_t)n;
}

size_t pipe_buf_write(struct pipe_buf *b, const void *src, size_t n, int packet)
{
    size_t done = 0;
    if (!packet) {
        ssize_t m = pipe_buf_merge(b, n, copy_from_host, (void *)src);
        done = m > 0 ? (size_t)m : 0;
    }
    while (done < n) {
        ssize_t m = pipe_buf_push(b, n - done, packet, copy_from_host, (void *)src, done);
        if (m <= 0)
            break;
        done += (size_t)m;
    }
    return done;
}

size_t pipe_buf_read(struct pipe_buf *b, void *dst, size_t n)
{
    size_t done = 0;
    int end = 0;
    while (done < n && !end) {
        ssize_t m = pipe_buf_pop(b, n - done, copy_to_host, dst, done, &end);
        if (m <= 0 && !end)
            break;
        done += (size_t)(m > 0 ? m : 0);
    }
    return done;
}
