/* Errors are -errno everywhere. Functions returning pointers encode an error in the
 * pointer itself (the Linux ERR_PTR convention): values in the last page of the address
 * space are -errno. This is the only pointer-error convention in the tree. */
#ifndef LIB_ERR_H
#define LIB_ERR_H
#include <stdint.h>

#define MAX_ERRNO 4095

/* err_ptr: encodes -errno e (e < 0) as a pointer. */
static inline void *err_ptr(long e) { return (void *)(intptr_t)e; }
/* is_err: true when p encodes an error. */
static inline int is_err(const void *p) { return (uintptr_t)p >= (uintptr_t)-MAX_ERRNO; }
/* ptr_err: the -errno encoded in p (only meaningful when is_err(p)). */
static inline long ptr_err(const void *p) { return (long)(intptr_t)p; }

/* Restart codes: never seen by the guest, resolved in the task loop (as in Linux). */
#define ERESTARTSYS           512
#define ERESTARTNOINTR        513
#define ERESTARTNOHAND        514
#define ERESTART_RESTARTBLOCK 516

#endif
