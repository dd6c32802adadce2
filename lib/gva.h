/* Guest virtual addresses. A gva_t is a one-member struct so that it can never be
 * dereferenced or mixed with a host pointer by accident: guest memory is reached only
 * through copy_in/copy_out (sentry/mm/usercopy.h). */
#ifndef LIB_GVA_H
#define LIB_GVA_H
#include <stdint.h>

typedef struct { uint64_t v; } gva_t;

/* gva: wraps a raw guest address value. */
static inline gva_t gva(uint64_t v) { return (gva_t){ v }; }
/* gva_add: the address n bytes past g (wraps like the CPU would). */
static inline gva_t gva_add(gva_t g, uint64_t n) { return (gva_t){ g.v + n }; }
/* gva_is_null: true for address 0. */
static inline int gva_is_null(gva_t g) { return g.v == 0; }

#endif
