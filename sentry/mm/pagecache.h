/* A page cache: which memory-file page holds page idx of a file. tmpfs keeps its file
 * data here (the cache is the storage); other filesystems fill it from their backing
 * for mmap. Each cached page holds one memory-file reference. Locked inside. */
#ifndef SENTRY_MM_PAGECACHE_H
#define SENTRY_MM_PAGECACHE_H

#include <stdint.h>

struct pagecache;

/* pc_fill_fn: writes the contents of page idx into dst (PAGE_SIZE bytes, zeroed
 * already). 0 or -errno. */
typedef int (*pc_fill_fn)(void *arg, uint64_t idx, void *dst);

struct pagecache *pc_new(void);
/* pc_free: drops every page. */
void pc_free(struct pagecache *pc);
/* pc_get: the memory-file offset of page idx with a new reference for the caller,
 * filled by fill (zeroes when fill is NULL) if it was not cached. -errno. */
int64_t pc_get(struct pagecache *pc, uint64_t idx, pc_fill_fn fill, void *arg);
/* pc_find: the offset of page idx if cached (no reference taken), else -1. */
int64_t pc_find(struct pagecache *pc, uint64_t idx);
/* pc_truncate: drops pages >= idx; zeroes the tail of page idx-1 beyond byte
 * offset tail_from (0: none) so a file that grows again reads zeroes. */
void pc_truncate(struct pagecache *pc, uint64_t idx, uint64_t tail_from);
/* pc_drop: drops page idx (hole punching). */
void pc_drop(struct pagecache *pc, uint64_t idx);
/* pc_mark_dirty / pc_next_dirty: dirty tracking for write-back (shared mappings of
 * files whose storage is elsewhere). next_dirty returns the first dirty index >= idx
 * and clears its bit, or -1. */
void pc_mark_dirty(struct pagecache *pc, uint64_t idx);
int64_t pc_next_dirty(struct pagecache *pc, uint64_t idx);
/* pc_pages: pages cached (for statistics and st_blocks). */
uint64_t pc_pages(struct pagecache *pc);
/* pc_next_present: the first cached index >= idx, or -1 (SEEK_DATA on tmpfs). */
int64_t pc_next_present(struct pagecache *pc, uint64_t idx);

#endif
