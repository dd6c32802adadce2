/* Overlay directories: listing the real directories, the merged view (upper entries
 * minus whiteouts, then lower entries the upper does not name), emptiness for rmdir,
 * and getdents over a snapshot of the merged view. The snapshot is taken when a
 * reader starts at position 0, so positions (2 + index) stay stable however the
 * directory changes meanwhile, as Linux overlayfs's readdir cache does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/fs/overlay_priv.h"

void ovl_list_free(struct ovl_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    *l = (struct ovl_list){ 0 };
}

static int list_add(struct ovl_list *l, const char *name, size_t len, uint64_t ino,
                    unsigned type)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct ovl_ent *e = realloc(l->e, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        l->e = e;
        l->cap = cap;
    }
    char *nm = strndup(name, len);
    if (!nm)
        return -ENOMEM;
    l->e[l->n++] = (struct ovl_ent){ nm, ino, type };
    return 0;
}

struct collector {
    struct dir_emit e;
    struct ovl_list *l;
    size_t added;
    int err;
};

static int collect(struct dir_emit *e, const char *name, size_t len, uint64_t ino,
                   unsigned type, int64_t next_pos)
{
    (void)next_pos;
    struct collector *c = (struct collector *)e;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    if (c->err)
        return 1;
    c->err = list_add(c->l, name, len, ino, type);
    if (c->err)
        return 1;
    c->added++;
    return 0;
}

/* list_real: every entry of a real directory, through its own getdents. */
static int list_real(struct inode *dir, struct ovl_list *out)
{
    struct file *f = file_alloc(NULL, O_RDONLY | O_DIRECTORY, NULL);
    if (!f)
        return -ENOMEM;
    f->inode = dir;
    inode_get(dir);
    int err = dir->ops->open(dir, f, O_RDONLY | O_DIRECTORY);
    struct collector c = { { collect }, out, 0, 0 };
    while (!err) {
        c.added = 0;
        err = f->ops->iterate(f, &c.e);
        if (!err)
            err = c.err;
        if (!c.added)
            break;
    }
    file_put(f);
    return err;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const struct ovl_ent *const *)a)->name,
                  (*(const struct ovl_ent *const *)b)->name);
}

/* sorted: an index of l by name, for lookups while merging. */
static struct ovl_ent **sorted(struct ovl_list *l)
{
    struct ovl_ent **s = malloc((l->n ? l->n : 1) * sizeof(*s));
    if (!s)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        s[i] = &l->e[i];
    qsort(s, l->n, sizeof(*s), cmp_name);
    return s;
}

static struct ovl_ent *find(struct ovl_ent **s, size_t n, const char *name)
{
    struct ovl_ent key = { (char *)name, 0, 0 }, *kp = &key;
    struct ovl_ent **hit = bsearch(&kp, s, n, sizeof(*s), cmp_name);
    return hit ? *hit : NULL;
}

/* child_is_whiteout: whether the entry name of the upper dir (of type DT_CHR) is a
 * whiteout; *origin gets the recorded lower number of an upper-only entry. */
static int upper_child(struct inode *ud, const char *name, int *whiteout,
                       uint64_t *origin)
{
    struct inode *c;
    *whiteout = 0;
    *origin = 0;
    if (ud->ops->lookup(ud, name, &c) < 0)
        return 0;      /* gone meanwhile: treat as a plain entry */
    *whiteout = ovl_is_whiteout(c);
    if (!*whiteout && c->ops->getxattr &&
        c->ops->getxattr(c, OVL_XATTR_ORIGIN, origin, sizeof(*origin)) != sizeof(*origin))
        *origin = 0;
    inode_put(c);
    return 0;
}

int ovl_merge(struct inode *dir, struct ovl_list *out)
{
    struct inode *ud = ovl_upper(dir), *ld = ON(dir)->lower;
    struct ovl_list U = { 0 }, L = { 0 };
    struct ovl_ent **us = NULL, **ls = NULL;
    int err = 0;
    if (ud)
        err = list_real(ud, &U);
    if (!err && ld)
        err = list_real(ld, &L);
    if (!err && (!(us = sorted(&U)) || !(ls = sorted(&L))))
        err = -ENOMEM;
    for (size_t i = 0; !err && i < U.n; i++) {
        struct ovl_ent *e = &U.e[i];
        struct ovl_ent *low = find(ls, L.n, e->name);
        uint64_t ino = e->ino | OVL_UPPER_INO;
        int wh = 0;
        uint64_t origin = 0;
        if (e->type == DT_CHR || (!low && e->type != DT_DIR))
            upper_child(ud, e->name, &wh, &origin);
        if (wh)
            continue;
        if (low && (low->type == e->type))
            ino = low->ino;       /* merged dir or copied-up file: the lower's */
        else if (origin)
            ino = origin;
        err = list_add(out, e->name, strlen(e->name), ino, e->type);
    }
    for (size_t i = 0; !err && i < L.n; i++) {
        if (!find(us, U.n, L.e[i].name))
            err = list_add(out, L.e[i].name, strlen(L.e[i].name), L.e[i].ino,
                           L.e[i].type);
    }
    free(us);
    free(ls);
    ovl_list_free(&U);
    ovl_list_free(&L);
    if (err)
        ovl_list_free(out);
    return err;
}

int ovl_purge_whiteouts(struct inode *ud)
{
    struct ovl_list l = { 0 };
    int err = list_real(ud, &l);
    pthread_mutex_lock(&ud->dir_mu);
    for (size_t i = 0; !err && i < l.n; i++) {
        if (l.e[i].type != DT_CHR)
            continue;
        struct inode *c;
        if (ud->ops->lookup(ud, l.e[i].name, &c) < 0)
            continue;
        if (ovl_is_whiteout(c))
            err = ud->ops->unlink(ud, l.e[i].name, c);
        inode_put(c);
    }
    pthread_mutex_unlock(&ud->dir_mu);
    ovl_list_free(&l);
    return err;
}

int ovl_lower_has(struct inode *dir, const char *name)
{
    struct inode *ld = ON(dir)->lower, *c;
    if (!ld || ld->ops->lookup(ld, name, &c) < 0)
        return 0;
    inode_put(c);
    return 1;
}

/* ---- getdents ---- */

struct ovl_dirfile {
    struct ovl_list snap;
    int have;
};

static int dir_iterate(struct file *f, struct dir_emit *e)
{
    struct ovl_dirfile *df = f->priv;
    struct inode *dir = f->inode;
    if (f->pos == 0 || !df->have) {
        ovl_list_free(&df->snap);
        df->have = 0;
        int err = ovl_merge(dir, &df->snap);
        if (err)
            return err;
        df->have = 1;
    }
    if (f->pos == 0) {
        if (e->emit(e, ".", 1, dir->ino, DT_DIR, 1))
            return 0;
        f->pos = 1;
    }
    if (f->pos == 1) {
        pthread_mutex_lock(&dir->mu);
        struct inode *p = ON(dir)->parent;
        uint64_t pino = p ? p->ino : dir->ino;
        pthread_mutex_unlock(&dir->mu);
        if (e->emit(e, "..", 2, pino, DT_DIR, 2))
            return 0;
        f->pos = 2;
    }
    for (size_t i = (size_t)f->pos - 2; i < df->snap.n; i++) {
        struct ovl_ent *en = &df->snap.e[i];
        if (e->emit(e, en->name, strlen(en->name), en->ino, en->type, (int64_t)i + 3))
            break;
        f->pos = (int64_t)i + 3;
    }
    return 0;
}

static int64_t dir_llseek(struct file *f, int64_t off, int whence)
{
    if (whence == SEEK_CUR)
        off += f->pos;
    else if (whence != SEEK_SET)
        return -EINVAL;
    return off < 0 ? -EINVAL : off;
}

static ssize_t dir_read(struct file *f, const struct uio *u, int64_t *pos)
{
    (void)f; (void)u; (void)pos;
    return -EISDIR;
}

static int dir_stat(struct file *f, struct stat *st)
{
    return inode_stat(f->inode, st);
}

static void dir_release(struct file *f)
{
    struct ovl_dirfile *df = f->priv;
    ovl_list_free(&df->snap);
    free(df);
}

const struct file_ops ovl_dir_ops = {
    .read = dir_read,
    .stat = dir_stat,
    .llseek = dir_llseek,
    .iterate = dir_iterate,
    .release = dir_release,
};

/* ovl_open_dir: called by ovl_open for directories. */
int ovl_open_dir(struct file *f)
{
    struct ovl_dirfile *df = calloc(1, sizeof(*df));
    if (!df)
        return -ENOMEM;
    f->ops = &ovl_dir_ops;
    f->priv = df;
    f->seekable = 1;
    return 0;
}
