/* Address spaces: a VMA set (what the guest asked for) and a PMA set (which memory-file
 * pages back which guest pages), kept in step with the platform's mappings.
 *
 * Locking: mm->mu protects vmas, pmas, brk and the platform mappings of this mm. It is
 * taken by the mm_* functions themselves; callers hold no lock. */
#ifndef SENTRY_MM_MM_H
#define SENTRY_MM_MM_H

/* The lowest address a guest may map (vm.mmap_min_addr, as Debian sets it). */
#define MMAP_MIN_ADDR 0x10000ULL

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/gva.h"
#include "sentry/mm/rangemap.h"

struct plat_as;

/* Something a VMA maps: a file's pages (through its page cache) or a shared anonymous
 * object. The VMA holds a reference while it maps it. */
struct mappable;
struct mappable_ops {
    /* get_page: the memory-file offset of page idx with a new reference for the
     * caller, filled if needed. write: a shared mapping will write it (the object
     * marks it dirty). -ENXIO beyond the object's end (the guest gets SIGBUS), or
     * another -errno. */
    int64_t (*get_page)(struct mappable *m, uint64_t idx, int write);
    void (*hold)(struct mappable *m);
    void (*drop)(struct mappable *m);
    /* sync: writes dirty pages in [idx, idx+n) back (msync, munmap). Optional. */
    int (*sync)(struct mappable *m, uint64_t idx, uint64_t n);
    /* describe: what /proc/PID/maps shows: device, inode number and path (into
     * path, NUL-terminated). Optional (anonymous shared memory). */
    void (*describe)(struct mappable *m, uint64_t *dev, uint64_t *ino, char *path,
                     size_t size);
};
struct mappable { const struct mappable_ops *ops; };

/* VMA flags (beyond PROT_*, which are kept in prot). */
enum {
    VMA_SHARED    = 1 << 0,   /* MAP_SHARED: writes are seen by every mapper */
    VMA_GROWSDOWN = 1 << 1,   /* the main stack */
    VMA_STACK     = 1 << 2,   /* shown as [stack] */
    VMA_HEAP      = 1 << 3,   /* shown as [heap] (brk) */
};

struct mm {
    pthread_mutex_t mu;
    struct rangemap vmas;        /* payload: struct vma; protected by mu */
    struct rangemap pmas;        /* payload: struct pma; protected by mu */
    struct plat_as *as;          /* immutable after mm_create */
    uint64_t brk_start, brk_cur; /* protected by mu */
    uint64_t mmap_base;          /* top-down search starts below this; immutable */
    uint64_t stack_top;          /* immutable after load */
    uint64_t users;              /* reference count (atomic) */
    /* Where execve put argv, envp and the auxv (for /proc/PID/cmdline, environ, auxv);
     * set once by the loader. */
    uint64_t arg_start, arg_end, env_start, env_end, auxv_start, auxv_end;
    struct mappable *exe;        /* the program (/proc/PID/exe); a reference or NULL */
    struct syscall_sites *syscall_sites;  /* syscall_patch.h; NULL until the first */
};

/* mm_create: an empty address space on the current platform; NULL with *err set. */
struct mm *mm_create(int *err);
/* mm_fork: a copy of parent for fork(2): private pages become copy-on-write in both,
 * shared ones stay shared. The copy has no platform address space until
 * mm_activate, which the child's own thread calls. NULL with *err set. */
struct mm *mm_fork(struct mm *parent, int *err);
/* mm_activate: creates the platform address space (on the calling thread, which then
 * drives it). 0 or -errno. */
int mm_activate(struct mm *mm);
/* mm_futex_key: the futex key of addr: (mm, addr) in private memory, (0, memory-file
 * offset) in shared memory, as Linux keys them. 0 or -EFAULT. */
int mm_futex_key(struct mm *mm, uint64_t addr, uint64_t key[2]);

/* mm_get/mm_put: take or drop a reference; the last put frees everything. */
void mm_get(struct mm *mm);
void mm_put(struct mm *mm);

/* mm_mmap: the mmap(2) logic for anonymous memory. addr is a hint unless MAP_FIXED or
 * MAP_FIXED_NOREPLACE is in flags. Returns the address or -errno. */
int64_t mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags);
/* mm_mmap_object: maps obj from page pgoff (its reference is taken by the VMA).
 * maxprot limits later mprotect (a read-only file cannot become shared-writable). */
int64_t mm_mmap_object(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
                       struct mappable *obj, uint64_t pgoff, int maxprot);
/* mm_msync: the msync(2) logic. */
int mm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags);
/* mm_munmap, mm_mprotect, mm_mremap, mm_madvise, mm_mincore, mm_brk: the system
 * calls' logic, returning what the call returns (mm_brk: the new break). */
int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len);
int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot);
int64_t mm_mremap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
                  int flags, uint64_t new_addr);
int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice);
/* mm_mincore: fills vec[0..npages) (host memory the caller owns). */
int mm_mincore(struct mm *mm, uint64_t addr, uint64_t len, unsigned char *vec);
uint64_t mm_brk(struct mm *mm, uint64_t want);
/* mm_set_brk_start: where the heap begins (after the loaded program). */
void mm_set_brk_start(struct mm *mm, uint64_t start);

/* mm_handle_fault: resolves a guest fault at addr with FAULT_* access (0: unknown)
 * that the platform reported as present or not. 0 if the guest may retry, -EFAULT if
 * it must get SIGSEGV (with *si_code set to SEGV_MAPERR or SEGV_ACCERR), -ENXIO if it
 * must get SIGBUS (a file mapping beyond the end of its file). */
int mm_handle_fault(struct mm *mm, uint64_t addr, unsigned access, int present,
                    int *si_code);

/* mm_copy_in/out: copy between guest memory and Sentry memory as the guest could
 * (copy_out needs PROT_WRITE, copy_in PROT_READ). 0, or -EFAULT with nothing
 * guaranteed about a partial copy. force: ignore protections (the loader, ptrace). */
int mm_copy_in(struct mm *mm, void *dst, uint64_t src, size_t n);
int mm_copy_out(struct mm *mm, uint64_t dst, const void *src, size_t n, int force);
/* mm_patch_insn2: replaces the 2-byte instruction at addr, which must read old, with
 * new, in private file-backed code that is executable and not writable (the page
 * becomes the process's own copy, as a debugger's breakpoint makes it). The 2 bytes
 * change in one store, so a thread running them sees one instruction or the other.
 * 0; -EACCES if addr is not in such code or the 2 bytes cross a cache line; -EAGAIN
 * if they no longer read old. */
int mm_patch_insn2(struct mm *mm, uint64_t addr, const uint8_t old[2], const uint8_t new[2]);
/* mm_copy_string_in: copies a NUL-terminated string of at most max-1 characters into
 * buf. Returns its length, -EFAULT, or -ENAMETOOLONG. */
long mm_copy_string_in(struct mm *mm, uint64_t src, char *buf, size_t max);

/* An I/O window onto guest memory: host iovecs into the memory file, with a page
 * reference held on each page until mm_io_release. Lets host reads and writes go
 * straight to guest pages without a bounce copy. */
#define MM_IO_MAXIOV 64
struct mm_io {
    struct iovec iov[MM_IO_MAXIOV];
    int n;                       /* iovecs filled */
    size_t size;                 /* bytes covered */
    uint64_t offs[MM_IO_MAXIOV]; /* memory-file offset of each iovec (for release) */
};
/* mm_io_acquire: covers as much of [addr, addr+len) as fits in MM_IO_MAXIOV runs,
 * checking access (FAULT_READ: guest memory is read, FAULT_WRITE: written). Returns the
 * bytes covered (> 0), or -EFAULT if the first byte is not accessible. */
long mm_io_acquire(struct mm *mm, uint64_t addr, size_t len, unsigned access,
                   struct mm_io *io);
/* mm_io_release: drops the references acquire took. */
void mm_io_release(struct mm_io *io);

/* mm_rss: bytes of mm's address space backed by memory pages now (the resident set
 * as getrusage and /proc report it). */
uint64_t mm_rss(struct mm *mm);

/* mm_dump_maps: a short line per VMA into buf (for debugging and tests; the real
 * /proc/PID/maps is procfs's proc_gen_maps). */
size_t mm_dump_maps(struct mm *mm, char *buf, size_t size);

#endif
