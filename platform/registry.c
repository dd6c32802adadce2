/* The table of platforms, by name. */
#include "platform/platform.h"

#include <string.h>

const struct platform_ops *g_plat;

static const struct platform_ops *const g_platforms[] = {
    &g_platform_ptrace,
    &g_platform_kvm,
    &g_platform_null,
};

const struct platform_ops *plat_find(const char *name)
{
    for (size_t i = 0; i < sizeof(g_platforms) / sizeof(g_platforms[0]); i++)
        if (strcmp(g_platforms[i]->name, name) == 0)
            return g_platforms[i];
    return NULL;
}

const char *plat_names(void) { return "ptrace, kvm"; }

/* What --platform=auto tries, in order: the first whose init (for kvm: /dev/kvm opens
 * and the self-test passes) succeeds is used. kvm passes every guest test on this
 * project's PVM hosts but is about 20x slower than ptrace there per system call and
 * per page fault (platform/kvm/README.md, make bench), so auto keeps ptrace; putting
 * "kvm" first here is the whole change once a host makes it worth it. */
static const char *const g_auto_order[] = { "ptrace", NULL };

const char *const *plat_auto_order(void) { return g_auto_order; }
