/* Overlay internals shared by overlay*.c. Not for other components: use overlay.h.
 *
 * On the upper layer, as Linux overlayfs writes it (so the format is familiar):
 *  - a whiteout (a name deleted although the lower has it) is a character device
 *    0/0;
 *  - an opaque directory (one that hides the lower directory of the same name,
 *    made by mkdir after rmdir of a merged directory) has the xattr
 *    trusted.overlay.opaque = "y";
 *  - a copied-up node has trusted.overlay.origin = the lower inode number (8 bytes),
 *    so its inode number stays the lower's after a rename.
 * The guest never sees these: lookup and getdents skip whiteouts, and xattr calls
 * hide and refuse trusted.overlay.*.
 *
 * Inode numbers: a node with a lower (or an origin) uses the lower's number; an
 * upper-only node uses the upper's with bit 63 set so the two spaces never collide.
 * That number is also the key of the superblock's table of live overlay inodes, so
 * one file has one overlay inode however it is found (by lookup, rename, or two
 * hard links in the lower), and copy-up state is never split between two.
 *
 * Files and mappings: an open overlay file wraps a file opened on the real inode
 * (f->priv); reads, writes and seeks go to it, stat reports the overlay inode. The
 * overlay inode's page cache pointer is the real inode's cache (aliased, not owned),
 * so mmap of an overlay file maps the real data; fill_page delegates to the real
 * inode. After copy-up the alias moves to the upper's cache: a read-only open or
 * mapping made before copy-up keeps seeing the lower's data, as on Linux before
 * 4.19.
 *
 * Locks: the VFS holds the overlay directory's dir_mu around its changes; we also
 * take the upper directory's dir_mu around each change we make to it (copy-up makes
 * changes the VFS did not lock for). Order: overlay dir_mu → node cu_mu (copy-up of
 * that node; a parent's copy-up completes before the child's cu_mu is taken) → upper
 * dir_mu → ovl_sb.mu (the inode table). */
#ifndef SENTRY_FS_OVERLAY_PRIV_H
#define SENTRY_FS_OVERLAY_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "sentry/vfs/file.h"
#include "sentry/vfs/vfs.h"

#define OVL_XATTR_PREFIX "trusted.overlay."
#define OVL_XATTR_OPAQUE "trusted.overlay.opaque"
#define OVL_XATTR_ORIGIN "trusted.overlay.origin"
#define OVL_UPPER_INO (1ULL << 63)

struct ovl_sb {
    pthread_mutex_t mu;            /* the table */
    struct inode **table;          /* open addressing by ino; NULL or tombstone */
    size_t cap, used;              /* used counts tombstones too */
    uint64_t live;                 /* overlay inodes alive (atomic) */
    struct inode *upper_root, *lower_root;   /* references */
};

struct ovl_node {
    pthread_mutex_t cu_mu;         /* serializes copy-up of this node */
    struct inode *upper;           /* a reference; set once (atomic), then fixed */
    struct inode *lower;           /* a reference or NULL; immutable */
    /* Where the node lives, for copying up its parent chain and for "..". The VFS's
     * dir_mu of the directories involved protect them; only rename changes them. */
    struct inode *parent;          /* a reference; NULL for the root */
    char *name;
};

static inline struct ovl_node *ON(struct inode *i) { return i->priv; }
static inline struct inode *ovl_upper(struct inode *i)
{
    return __atomic_load_n(&ON(i)->upper, __ATOMIC_ACQUIRE);
}
/* ovl_realino: the upper inode if there is one, else the lower. */
static inline struct inode *ovl_realino(struct inode *i)
{
    struct inode *u = ovl_upper(i);
    return u ? u : ON(i)->lower;
}

extern const struct inode_ops ovl_inode_ops;

/* overlay.c */
/* ovl_get_inode: the overlay inode for (upper, lower) found at name in parent (the
 * references on upper and lower move in; either may be NULL but not both). */
int ovl_get_inode(struct superblock *sb, struct inode *parent, const char *name,
                  struct inode *upper, struct inode *lower, struct inode **out);
/* ovl_refresh: copies the real inode's attributes into the overlay inode. */
void ovl_refresh(struct inode *ino);
/* ovl_is_whiteout: whether a real inode is a whiteout. */
static inline int ovl_is_whiteout(const struct inode *r)
{
    return S_ISCHR(r->mode) && r->rdev == 0;
}
int ovl_is_opaque(struct inode *upper_dir);

/* overlay_dir.c: names in the real directories and the merged view. */
struct ovl_ent { char *name; uint64_t ino; unsigned type; };
struct ovl_list { struct ovl_ent *e; size_t n, cap; };
void ovl_list_free(struct ovl_list *l);
/* ovl_merge: the merged entries of the overlay directory dir (without "." and
 * ".."), whiteouts removed. */
int ovl_merge(struct inode *dir, struct ovl_list *out);
/* ovl_purge_whiteouts: removes every whiteout from the upper directory (before it is
 * removed or replaced; its merged view must be empty). */
int ovl_purge_whiteouts(struct inode *upper_dir);
/* ovl_lower_has: whether the overlay directory dir's lower layer has name (so
 * removing name must leave a whiteout). */
int ovl_lower_has(struct inode *dir, const char *name);
extern const struct file_ops ovl_dir_ops;
int ovl_open_dir(struct file *f);

/* overlay_copyup.c */
int ovl_copy_up(struct inode *ino);

/* overlay_file.c */
int ovl_open(struct inode *ino, struct file *f, int flags);

#endif
