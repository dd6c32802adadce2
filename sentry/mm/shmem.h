/* Anonymous shared memory: the object behind mmap(MAP_SHARED|MAP_ANONYMOUS) and shared
 * mappings of /dev/zero. As Linux's shmem_zero_setup makes one unlinked shmem file per
 * such mmap, every process that inherits the mapping across fork sees the same pages,
 * however late they are first touched. */
#ifndef SENTRY_MM_SHMEM_H
#define SENTRY_MM_SHMEM_H

#include <stdint.h>

struct mappable;

/* shmem_new: a zero-filled object of len bytes (a page multiple) with one reference;
 * NULL on allocation failure. */
struct mappable *shmem_new(uint64_t len);

#endif
