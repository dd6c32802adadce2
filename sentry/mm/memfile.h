/* The memory file: every page of guest memory is a page of one memfd, which the Sentry
 * maps into itself once (at memfile_base()) and platforms map into guests. Pages are
 * handed out in runs and reference counted; a page whose count drops to zero is punched
 * out of the file (its memory returns to the host) and becomes free again. The file
 * grows on demand. Thread-safe. */
#ifndef SENTRY_MM_MEMFILE_H
#define SENTRY_MM_MEMFILE_H

#include <stdint.h>

/* memfile_init: creates the memfd and reserves max_size bytes of address space for it.
 * 0 or -errno. Call once before anything else here. */
int memfile_init(uint64_t max_size);
/* memfile_fd: the memfd. */
int memfile_fd(void);
/* memfile_base: the Sentry's mapping of offset 0. */
void *memfile_base(void);
/* memfile_max: the most the file may grow to. */
uint64_t memfile_max(void);
/* memfile_size: the file's current size. */
uint64_t memfile_size(void);

/* memfile_alloc: a run of len bytes (page multiple) of zeroed pages, each with one
 * reference owned by the caller. Returns the file offset, or -ENOMEM. */
int64_t memfile_alloc(uint64_t len);
/* memfile_incref/decref: add or drop one reference on every page of [off, off+len). */
void memfile_incref(uint64_t off, uint64_t len);
void memfile_decref(uint64_t off, uint64_t len);
/* memfile_refs: the reference count of the page at off (for tests and COW). */
uint32_t memfile_refs(uint64_t off);
/* memfile_ptr: the Sentry's address for file offset off. */
static inline void *memfile_ptr(uint64_t off)
{
    extern char *g_memfile_base;
    return g_memfile_base + off;
}
/* memfile_used: bytes currently allocated (referenced). */
uint64_t memfile_used(void);

#endif
