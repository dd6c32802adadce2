/* Small helpers shared by every component. */
#ifndef LIB_UTIL_H
#define LIB_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* <sys/user.h> defines the same three; ours agree with it */
#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#endif
#undef PAGE_SIZE
#undef PAGE_MASK
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* page_down/page_up: round to a page boundary; page_up reports overflow as 0. */
static inline uint64_t page_down(uint64_t x) { return x & PAGE_MASK; }
static inline uint64_t page_up(uint64_t x) { return (x + PAGE_SIZE - 1) & PAGE_MASK; }
static inline int page_aligned(uint64_t x) { return (x & (PAGE_SIZE - 1)) == 0; }

/* add_overflows: true when a + b does not fit in 64 bits. */
static inline int add_overflows(uint64_t a, uint64_t b) { return a + b < a; }

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
