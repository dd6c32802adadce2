/* Syscall patching: on a platform where the `syscall` instruction traps slowly and
 * another instruction of the same length traps fast (platform_ops.syscall_patch: the
 * KVM platform on PVM hosts, where `syscall` from ring 3 costs ten times an I/O
 * exit), the Sentry rewrites each `syscall` site in the guest's code the first time
 * it traps there, as gVisor's systrap does. The guest then sees the new bytes if it
 * reads its own code; nothing else changes. */
#ifndef SENTRY_MM_SYSCALL_PATCH_H
#define SENTRY_MM_SYSCALL_PATCH_H
#include <stdint.h>

struct mm;
struct syscall_sites;

/* syscall_patch_site: called on a trap from the `syscall` instruction that ends at
 * site + 2: rewrites it with the platform's instruction if it is in private,
 * file-backed, read-only executable code (program text and libraries, never a JIT's
 * or a shared mapping's) and remembers the site. Failing is harmless: the site keeps
 * trapping the slow way. */
void syscall_patch_site(struct mm *mm, uint64_t site);
/* syscall_site_patched: whether the Sentry wrote the platform's instruction at site
 * (else the guest ran that instruction itself, and it means what it means natively).
 * Lock-free. */
int syscall_site_patched(const struct mm *mm, uint64_t site);
/* syscall_sites_fork: the child of fork has the parent's patched pages, so it gets
 * the parent's sites: a copy, or NULL if the parent has none or (*err = -ENOMEM)
 * there is no memory, in which case fork must fail: the child would take its
 * patched sites for the guest's own instructions. */
struct syscall_sites *syscall_sites_fork(struct mm *parent, int *err);
void syscall_sites_free(struct syscall_sites *s);

#endif
