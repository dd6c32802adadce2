/* The shared anonymous inode (see anon_inode.h). */
#include "sentry/fs/anon_inode.h"

#include <pthread.h>

#include "sentry/vfs/vfs.h"

static struct superblock g_anon_sb = { .fstype = "anon_inodefs" };
static struct inode *g_anon_inode;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void anon_init(void)
{
    g_anon_sb.dev = vfs_new_dev();
    /* S_IRUSR|S_IWUSR and nothing else, as Linux's anon_inode_mkinode */
    g_anon_inode = inode_new(&g_anon_sb, NULL, sb_next_ino(&g_anon_sb), 0600);
}

struct inode *anon_inode_get(void)
{
    pthread_once(&g_once, anon_init);
    if (g_anon_inode)
        inode_get(g_anon_inode);
    return g_anon_inode;
}
