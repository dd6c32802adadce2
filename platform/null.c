/* The null platform: every operation fails with -ENOSYS. It keeps the interface whole
 * for unit tests that need a platform but never run guest code. */
#include "platform/platform.h"

#include <errno.h>

static int null_init(int memfd, void *base, uint64_t max)
{
    (void)memfd; (void)base; (void)max;
    return 0;
}
static struct plat_as *null_as_create(int *err) { *err = -ENOSYS; return NULL; }
static void null_as_destroy(struct plat_as *as) { (void)as; }
static int null_map(struct plat_as *as, gva_t va, uint64_t len, int prot, uint64_t off)
{
    (void)as; (void)va; (void)len; (void)prot; (void)off;
    return -ENOSYS;
}
static int null_unmap(struct plat_as *as, gva_t va, uint64_t len)
{
    (void)as; (void)va; (void)len;
    return -ENOSYS;
}
static int null_protect(struct plat_as *as, gva_t va, uint64_t len, int prot)
{
    (void)as; (void)va; (void)len; (void)prot;
    return -ENOSYS;
}
static long null_thread_new(struct plat_as *as) { (void)as; return -ENOSYS; }
static int null_thread_adopt(struct plat_as *as, long h) { (void)as; (void)h; return -ENOSYS; }
static void null_thread_leave(struct plat_as *as) { (void)as; }
static struct plat_ctx *null_ctx_create(int *err) { *err = -ENOSYS; return NULL; }
static void null_ctx_destroy(struct plat_ctx *c) { (void)c; }
static int null_switch(struct plat_ctx *c, struct plat_as *as, struct guest_regs *r,
                       struct trap *t)
{
    (void)c; (void)as; (void)r; (void)t;
    return -ENOSYS;
}
static void null_interrupt(struct plat_ctx *c) { (void)c; }
static int null_fpu_get(struct plat_ctx *c, struct plat_as *as, struct guest_fpu *f)
{
    (void)c; (void)as; (void)f;
    return -ENOSYS;
}
static int null_fpu_set(struct plat_ctx *c, struct plat_as *as, const struct guest_fpu *f)
{
    (void)c; (void)as; (void)f;
    return -ENOSYS;
}
static unsigned null_fpu_size(void) { return 512 + 64; }
static int null_reserved(uint64_t va, uint64_t len) { (void)va; (void)len; return 0; }

const struct platform_ops g_platform_null = {
    .name = "null",
    .init = null_init,
    .as_create = null_as_create, .as_destroy = null_as_destroy,
    .map = null_map, .unmap = null_unmap, .protect = null_protect,
    .thread_new = null_thread_new, .thread_adopt = null_thread_adopt,
    .thread_leave = null_thread_leave,
    .ctx_create = null_ctx_create, .ctx_destroy = null_ctx_destroy,
    .switch_to = null_switch, .interrupt = null_interrupt,
    .fpu_get = null_fpu_get, .fpu_set = null_fpu_set, .fpu_size = null_fpu_size,
    .user_max = 0x7ffffffff000ULL,
    .reserved = null_reserved,
};
