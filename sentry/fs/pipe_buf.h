/* A pipe's buffer, kept the way Linux keeps it: a ring of page-sized slots. The slot
 * model is what makes guest-visible numbers match Linux: capacity is counted in slots
 * (F_SETPIPE_SZ / PAGE_SIZE), a small write merges into the last slot only when it fits
 * there whole, and a write of at most PIPE_BUF (= PAGE_SIZE) always lands in one slot,
 * which is what makes it atomic. In packet mode (O_DIRECT) every slot is one message.
 *
 * Pure data structure: no locks, no waiting, no guest memory. Data moves through a
 * copy callback so pipe.c can copy straight to and from a guest I/O vector and the unit
 * tests from host memory. */
#ifndef SENTRY_FS_PIPE_BUF_H
#define SENTRY_FS_PIPE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PIPE_DEF_SLOTS 16          /* 65536 bytes, Linux's default */
#define PIPE_MAX_SIZE (1 << 20)    /* /proc/sys/fs/pipe-max-size */

struct pipe_slot {
    char *page;                    /* PAGE_SIZE bytes */
    uint32_t off, len;             /* the unread data in page */
    int packet;                    /* a message of a packet-mode write: never merged */
    int nomerge;                   /* filled by splice, tee or vmsplice: never merged
                                    * into (Linux's page buffers lack CAN_MERGE) */
};

struct pipe_buf {
    struct pipe_slot *slots;       /* nslots entries */
    unsigned nslots;               /* capacity */
    unsigned tail;                 /* the oldest occupied slot */
    unsigned used;                 /* occupied slots, from tail on */
    size_t bytes;                  /* unread bytes in all slots (FIONREAD) */
    char *spare;                   /* one free page kept to avoid malloc churn */
};

/* pipe_copy_fn: copies n bytes between host memory p and the caller's stream, skip
 * bytes into it (the direction is the caller's). Returns the bytes copied (short only
 * at a fault) or a negative errno if none could be. */
typedef ssize_t (*pipe_copy_fn)(void *ctx, size_t skip, void *p, size_t n);

/* pipe_buf_init: an empty buffer of nslots slots. 0 or -ENOMEM. */
int pipe_buf_init(struct pipe_buf *b, unsigned nslots);
/* pipe_buf_destroy: frees every page and the slot array. */
void pipe_buf_destroy(struct pipe_buf *b);
/* pipe_buf_resize: changes the capacity to nslots (> 0), keeping the data. -EBUSY if
 * more slots are occupied than that, -ENOMEM. */
int pipe_buf_resize(struct pipe_buf *b, unsigned nslots);

static inline int pipe_buf_empty(const struct pipe_buf *b) { return b->used == 0; }
static inline int pipe_buf_full(const struct pipe_buf *b) { return b->used >= b->nslots; }

/* pipe_buf_merge: the first step of a write of total bytes (Linux pipe_write): the
 * part that is not a whole number of pages, total % PAGE_SIZE, is appended to the last
 * slot if it fits there entirely and that slot is not a packet. Returns the bytes
 * appended (0: not possible), or -EFAULT (nothing appended). */
ssize_t pipe_buf_merge(struct pipe_buf *b, size_t total, pipe_copy_fn copy, void *ctx);

/* Slot kinds for pipe_buf_push. */
#define PIPE_SLOT_PACKET  1        /* a packet-mode message */
#define PIPE_SLOT_NOMERGE 2        /* spliced data: later writes start a new slot */

/* pipe_buf_push: fills one new slot of the given kind (0 or PIPE_SLOT_*) with up to
 * PAGE_SIZE of the n bytes at skip. Returns the bytes taken, 0 if the buffer is full,
 * -ENOMEM, or -EFAULT when the copy came up short (nothing is kept then). */
ssize_t pipe_buf_push(struct pipe_buf *b, size_t n, int kind, pipe_copy_fn copy,
                      void *ctx, size_t skip);

/* pipe_buf_pop: reads up to n bytes of the oldest slot out to the stream at skip and
 * consumes them. A packet slot is consumed whole (what did not fit is discarded) and
 * sets *end: the read must stop there. Returns the bytes read, 0 if empty, or -EFAULT
 * (nothing consumed). */
ssize_t pipe_buf_pop(struct pipe_buf *b, size_t n, pipe_copy_fn copy, void *ctx,
                     size_t skip, int *end);

/* ---- for splice, tee and vmsplice (sentry/fs/pipe_splice.c) ---- */

/* pipe_buf_free_slots: how many more slots may be filled. */
static inline unsigned pipe_buf_free_slots(const struct pipe_buf *b)
{
    return b->used >= b->nslots ? 0 : b->nslots - b->used;
}

/* pipe_buf_peek: copies up to n bytes from the oldest data on into dst without
 * consuming them (slot and packet boundaries do not stop it: splice ignores them, as
 * Linux does). Returns the bytes copied. */
size_t pipe_buf_peek(const struct pipe_buf *b, void *dst, size_t n);
/* pipe_buf_consume: drops the oldest n bytes (n <= b->bytes). */
void pipe_buf_consume(struct pipe_buf *b, size_t n);
/* pipe_buf_move: splice between pipes: moves up to n bytes from the front of src to
 * the end of dst, whole slots where they fit in n (the page changes hands, flags
 * kept), else a copy of the part into a new non-mergeable slot. Stops when src is
 * empty or dst is full. Returns the bytes moved, or -ENOMEM if none could be. */
ssize_t pipe_buf_move(struct pipe_buf *dst, struct pipe_buf *src, size_t n);
/* pipe_buf_dup: tee: appends copies of src's slots (up to n bytes in all; the last
 * may be cut) to dst as non-mergeable slots, consuming nothing. Stops when src's
 * slots run out or dst is full. Returns the bytes copied, or -ENOMEM if none. */
ssize_t pipe_buf_dup(struct pipe_buf *dst, const struct pipe_buf *src, size_t n);

/* Host-memory conveniences over the above, with Linux's write and read logic but no
 * waiting: write appends what fits (atomically for n <= PAGE_SIZE: all or nothing),
 * read takes what is there. Both return the bytes moved. */
size_t pipe_buf_write(struct pipe_buf *b, const void *src, size_t n, int packet);
size_t pipe_buf_read(struct pipe_buf *b, void *dst, size_t n);

#endif
