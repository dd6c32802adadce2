/* The Gofer protocol's encoder and decoder (see proto.h). One table per direction
 * says which fields each message type carries; the same table drives both encoding
 * and decoding, so the two sides cannot disagree about a layout. */
#include "gofer/proto.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ---- which fields each type carries ---- */

enum {  /* request fields, encoded in this order */
    RQ_FID = 1 << 0, RQ_FID2 = 1 << 1, RQ_FLAGS = 1 << 2, RQ_MODE = 1 << 3,
    RQ_OWNER = 1 << 4 /* uid, gid */, RQ_OFFSET = 1 << 5,
    RQ_NAME = 1 << 6 /* a component */, RQ_NAME2 = 1 << 7 /* a component */,
    RQ_TARGET = 1 << 8 /* name2 as a symlink target */, RQ_ATTR = 1 << 9,
};

enum {  /* reply fields, encoded in this order after errno */
    RP_FID = 1 << 0, RP_STAT = 1 << 1, RP_STATFS = 1 << 2, RP_TARGET = 1 << 3,
    RP_DENTS = 1 << 4,
};

static const struct layout {
    const char *name;
    unsigned req, reply;
    int fd;   /* a successful reply carries a host fd */
} g_layout[GP_NTYPES] = {
    [GP_ERROR]    = { "ERROR", 0, 0, 0 },
    [GP_ATTACH]   = { "ATTACH", 0, RP_FID | RP_STAT, 0 },
    [GP_WALK]     = { "WALK", RQ_FID | RQ_NAME, RP_FID | RP_STAT, 0 },
    [GP_STAT]     = { "STAT", RQ_FID, RP_STAT, 0 },
    [GP_OPEN]     = { "OPEN", RQ_FID | RQ_FLAGS, 0, 1 },
    [GP_CREATE]   = { "CREATE", RQ_FID | RQ_NAME | RQ_FLAGS | RQ_MODE | RQ_OWNER,
                      RP_FID | RP_STAT, 1 },
    [GP_MKDIR]    = { "MKDIR", RQ_FID | RQ_NAME | RQ_MODE | RQ_OWNER, RP_FID | RP_STAT, 0 },
    [GP_MKNOD]    = { "MKNOD", RQ_FID | RQ_NAME | RQ_MODE | RQ_OWNER, RP_FID | RP_STAT, 0 },
    [GP_SYMLINK]  = { "SYMLINK", RQ_FID | RQ_NAME | RQ_TARGET | RQ_OWNER,
                      RP_FID | RP_STAT, 0 },
    [GP_LINK]     = { "LINK", RQ_FID | RQ_FID2 | RQ_NAME, RP_STAT, 0 },
    [GP_UNLINK]   = { "UNLINK", RQ_FID | RQ_NAME | RQ_FLAGS, 0, 0 },
    [GP_RENAME]   = { "RENAME", RQ_FID | RQ_FID2 | RQ_NAME | RQ_NAME2 | RQ_FLAGS, 0, 0 },
    [GP_READLINK] = { "READLINK", RQ_FID, RP_TARGET, 0 },
    [GP_GETDENTS] = { "GETDENTS", RQ_FID | RQ_OFFSET, RP_DENTS, 0 },
    [GP_SETATTR]  = { "SETATTR", RQ_FID | RQ_ATTR, RP_STAT, 0 },
    [GP_STATFS]   = { "STATFS", RQ_FID, RP_STATFS, 0 },
    [GP_FSYNC]    = { "FSYNC", RQ_FID | RQ_FLAGS, 0, 0 },
    [GP_CLOSE]    = { "CLOSE", RQ_FID, 0, 0 },
};

/* layout_of: the layout of a known type; GP_ERROR only as a reply. */
static const struct layout *layout_of(uint16_t type)
{
    return type < GP_NTYPES ? &g_layout[type] : NULL;
}

static const struct layout *req_layout_of(uint16_t type)
{
    return type != GP_ERROR ? layout_of(type) : NULL;
}

const char *gp_type_name(uint16_t type)
{
    const struct layout *l = layout_of(type & ~GP_REPLY);
    return l ? l->name : "?";
}

int gp_reply_has_fd(uint16_t type)
{
    const struct layout *l = req_layout_of(type);
    return l && l->fd;
}

int gp_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > GP_NAME_MAX || memchr(s, '/', len) || memchr(s, 0, len))
        return 0;
    return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

static int target_ok(const char *s, size_t len)
{
    return len > 0 && len <= GP_TARGET_MAX && !memchr(s, 0, len);
}

static int nsec_ok(uint32_t ns)
{
    return ns < 1000000000u || ns == UTIME_NOW || ns == UTIME_OMIT;
}

static int attr_ok(const struct gp_setattr *a)
{
    return !(a->valid & ~(uint32_t)GP_SA_ALL) && !(a->mode & ~07777u) &&
           nsec_ok(a->atime_nsec) && nsec_ok(a->mtime_nsec);
}

/* ---- the writer: fails sticky when out of room ---- */

struct wr { unsigned char *p; size_t size, len; int err; };

static void put(struct wr *w, const void *src, size_t n)
{
    if (w->err)
        return;
    if (n > w->size - w->len) {
        w->err = -EMSGSIZE;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

/* x86-64 is little-endian, the wire's order: fixed-width values copy as they are. */
static void put8(struct wr *w, uint8_t v) { put(w, &v, 1); }
static void put16(struct wr *w, uint16_t v) { put(w, &v, 2); }
static void put32(struct wr *w, uint32_t v) { put(w, &v, 4); }
static void put64(struct wr *w, uint64_t v) { put(w, &v, 8); }

static void put_str(struct wr *w, const char *s, size_t len)
{
    put16(w, (uint16_t)len);
    put(w, s, len);
    put8(w, 0);
}

static void put_header(struct wr *w, uint16_t type, uint32_t tag)
{
    put32(w, 0);  /* size, patched by finish() */
    put16(w, type);
    put16(w, 0);
    put32(w, tag);
}

static int finish(struct wr *w)
{
    if (w->err)
        return w->err;
    if (w->len > GP_MAX_MSG)
        return -EMSGSIZE;
    uint32_t size = (uint32_t)w->len;
    memcpy(w->p, &size, 4);
    return (int)w->len;
}

/* ---- the reader: fails sticky on any overrun ---- */

struct rd { const unsigned char *p; size_t len, off; int bad; };

static void get(struct rd *r, void *dst, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

static uint8_t get8(struct rd *r) { uint8_t v; get(r, &v, 1); return v; }
static uint16_t get16(struct rd *r) { uint16_t v; get(r, &v, 2); return v; }
static uint32_t get32(struct rd *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get64(struct rd *r) { uint64_t v; get(r, &v, 8); return v; }

/* get_str: a string in place; NULL (and r->bad) unless its bytes and NUL are all
 * inside the packet and it has no NUL of its own. */
static const char *get_str(struct rd *r, size_t *len_out)
{
    size_t len = get16(r);
    if (r->bad || len >= r->len - r->off || r->p[r->off + len] != 0 ||
        memchr(r->p + r->off, 0, len)) {
        r->bad = 1;
        return NULL;
    }
    const char *s = (const char *)r->p + r->off;
    r->off += len + 1;
    *len_out = len;
    return s;
}

/* get_header: the header, checked against the packet. */
static void get_header(struct rd *r, uint16_t *type, uint32_t *tag)
{
    uint32_t size = get32(r);
    *type = get16(r);
    uint16_t zero = get16(r);
    *tag = get32(r);
    if (size != r->len || r->len > GP_MAX_MSG || zero != 0)
        r->bad = 1;
}

/* ---- stat and statfs ---- */

static void put_stat(struct wr *w, const struct gp_stat *s)
{
    put64(w, s->dev); put64(w, s->ino); put64(w, s->nlink); put64(w, s->rdev);
    put64(w, s->size); put64(w, s->blocks);
    put32(w, s->mode); put32(w, s->uid); put32(w, s->gid); put32(w, s->blksize);
    put64(w, (uint64_t)s->atime_sec); put64(w, (uint64_t)s->mtime_sec);
    put64(w, (uint64_t)s->ctime_sec);
    put32(w, s->atime_nsec); put32(w, s->mtime_nsec); put32(w, s->ctime_nsec);
}

static void get_stat(struct rd *r, struct gp_stat *s)
{
    s->dev = get64(r); s->ino = get64(r); s->nlink = get64(r); s->rdev = get64(r);
    s->size = get64(r); s->blocks = get64(r);
    s->mode = get32(r); s->uid = get32(r); s->gid = get32(r); s->blksize = get32(r);
    s->atime_sec = (int64_t)get64(r); s->mtime_sec = (int64_t)get64(r);
    s->ctime_sec = (int64_t)get64(r);
    s->atime_nsec = get32(r); s->mtime_nsec = get32(r); s->ctime_nsec = get32(r);
    if (s->atime_nsec >= 1000000000u || s->mtime_nsec >= 1000000000u ||
        s->ctime_nsec >= 1000000000u)
        r->bad = 1;
}

static void put_statfs(struct wr *w, const struct gp_statfs *s)
{
    const uint64_t v[] = { s->type, s->bsize, s->blocks, s->bfree, s->bavail, s->files,
                           s->ffree, s->namelen, s->frsize, s->flags };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        put64(w, v[i]);
}

static void get_statfs(struct rd *r, struct gp_statfs *s)
{
    s->type = get64(r); s->bsize = get64(r); s->blocks = get64(r); s->bfree = get64(r);
    s->bavail = get64(r); s->files = get64(r); s->ffree = get64(r);
    s->namelen = get64(r); s->frsize = get64(r); s->flags = get64(r);
}

static void put_attr(struct wr *w, const struct gp_setattr *a)
{
    put32(w, a->valid); put32(w, a->mode); put32(w, a->uid); put32(w, a->gid);
    put64(w, a->size);
    put64(w, (uint64_t)a->atime_sec); put64(w, (uint64_t)a->mtime_sec);
    put32(w, a->atime_nsec); put32(w, a->mtime_nsec);
}

static void get_attr(struct rd *r, struct gp_setattr *a)
{
    a->valid = get32(r); a->mode = get32(r); a->uid = get32(r); a->gid = get32(r);
    a->size = get64(r);
    a->atime_sec = (int64_t)get64(r); a->mtime_sec = (int64_t)get64(r);
    a->atime_nsec = get32(r); a->mtime_nsec = get32(r);
}

/* ---- requests ---- */

int gp_encode_req(const struct gp_req *rq, void *buf, size_t size)
{
    const struct layout *l = req_layout_of(rq->type);
    if (!l)
        return -EINVAL;
    unsigned f = l->req;
    /* refuse to send what the other side would refuse to decode */
    if ((f & RQ_NAME) && (!rq->name || !gp_name_ok(rq->name, strlen(rq->name))))
        return -EINVAL;
    if ((f & RQ_NAME2) && (!rq->name2 || !gp_name_ok(rq->name2, strlen(rq->name2))))
        return -EINVAL;
    if ((f & RQ_TARGET) && (!rq->name2 || !target_ok(rq->name2, strlen(rq->name2))))
        return -EINVAL;
    if ((f & RQ_ATTR) && !attr_ok(&rq->attr))
        return -EINVAL;

    struct wr w = { buf, size, 0, 0 };
    put_header(&w, rq->type, rq->tag);
    if (f & RQ_FID) put32(&w, rq->fid);
    if (f & RQ_FID2) put32(&w, rq->fid2);
    if (f & RQ_FLAGS) put32(&w, rq->flags);
    if (f & RQ_MODE) put32(&w, rq->mode);
    if (f & RQ_OWNER) { put32(&w, rq->uid); put32(&w, rq->gid); }
    if (f & RQ_OFFSET) put64(&w, rq->offset);
    if (f & RQ_NAME) put_str(&w, rq->name, strlen(rq->name));
    if (f & (RQ_NAME2 | RQ_TARGET)) put_str(&w, rq->name2, strlen(rq->name2));
    if (f & RQ_ATTR) put_attr(&w, &rq->attr);
    return finish(&w);
}

int gp_decode_req(const void *buf, size_t len, struct gp_req *rq, uint32_t *tag_out)
{
    memset(rq, 0, sizeof(*rq));
    *tag_out = 0;
    struct rd r = { buf, len, 0, 0 };
    uint16_t type;
    uint32_t tag;
    get_header(&r, &type, &tag);
    if (len >= GP_HDR_SIZE)
        *tag_out = tag;
    const struct layout *l = req_layout_of(type);
    if (r.bad || !l)
        return -EINVAL;
    rq->type = type;
    rq->tag = tag;

    unsigned f = l->req;
    size_t n = 0;
    if (f & RQ_FID) rq->fid = get32(&r);
    if (f & RQ_FID2) rq->fid2 = get32(&r);
    if (f & RQ_FLAGS) rq->flags = get32(&r);
    if (f & RQ_MODE) rq->mode = get32(&r);
    if (f & RQ_OWNER) { rq->uid = get32(&r); rq->gid = get32(&r); }
    if (f & RQ_OFFSET) rq->offset = get64(&r);
    if (f & RQ_NAME) {
        rq->name = get_str(&r, &n);
        if (rq->name && !gp_name_ok(rq->name, n))
            r.bad = 1;
    }
    if (f & (RQ_NAME2 | RQ_TARGET)) {
        rq->name2 = get_str(&r, &n);
        if (rq->name2 && !((f & RQ_NAME2) ? gp_name_ok(rq->name2, n)
                                          : target_ok(rq->name2, n)))
            r.bad = 1;
    }
    if (f & RQ_ATTR) {
        get_attr(&r, &rq->attr);
        if (!attr_ok(&rq->attr))
            r.bad = 1;
    }
    if (r.bad || r.off != len)  /* short, or bytes left over */
        return -EINVAL;
    return 0;
}

/* ---- replies ---- */

/* one directory entry: ino, next, type, name */
static void put_dirent(struct wr *w, const struct gp_dirent *d)
{
    put64(w, d->ino);
    put64(w, d->next);
    put8(w, d->type);
    put_str(w, d->name, d->namelen);
}

int gp_encode_reply(const struct gp_reply *rp, void *buf, size_t size)
{
    const struct layout *l = layout_of(rp->type);
    /* GP_ERROR answers a request that did not decode: it is always an error */
    if (!l || rp->err > GP_MAX_ERRNO || (rp->type == GP_ERROR && rp->err == 0))
        return -EINVAL;
    struct wr w = { buf, size, 0, 0 };
    put_header(&w, rp->type | GP_REPLY, rp->tag);
    put32(&w, rp->err);
    if (rp->err)
        return finish(&w);

    unsigned f = l->reply;
    if (f & RP_FID) put32(&w, rp->fid);
    if (f & RP_STAT) put_stat(&w, &rp->st);
    if (f & RP_STATFS) put_statfs(&w, &rp->sfs);
    if (f & RP_TARGET) {
        if (!rp->target || !target_ok(rp->target, strlen(rp->target)))
            return -EINVAL;
        put_str(&w, rp->target, strlen(rp->target));
    }
    if (f & RP_DENTS) {
        if (rp->ndents > GP_MAX_DENTS)
            return -EINVAL;
        put32(&w, rp->ndents);
        for (uint32_t i = 0; i < rp->ndents; i++) {
            const struct gp_dirent *d = &rp->dents[i];
            if (!d->name || strnlen(d->name, d->namelen) != d->namelen ||
                d->namelen == 0 || d->namelen > GP_NAME_MAX || memchr(d->name, '/', d->namelen))
                return -EINVAL;
            put_dirent(&w, d);
        }
    }
    return finish(&w);
}

int gp_decode_reply(const void *buf, size_t len, struct gp_reply *rp)
{
    memset(rp, 0, sizeof(*rp));
    struct rd r = { buf, len, 0, 0 };
    uint16_t type;
    uint32_t tag;
    get_header(&r, &type, &tag);
    const struct layout *l = layout_of(type & ~GP_REPLY);
    if (r.bad || !(type & GP_REPLY) || !l)
        return -EINVAL;
    rp->type = type & ~GP_REPLY;
    rp->tag = tag;
    rp->err = get32(&r);
    if (rp->err > GP_MAX_ERRNO || (rp->type == GP_ERROR && rp->err == 0))
        return -EINVAL;

    unsigned f = rp->err ? 0 : l->reply;
    size_t n = 0;
    if (f & RP_FID) rp->fid = get32(&r);
    if (f & RP_STAT) get_stat(&r, &rp->st);
    if (f & RP_STATFS) get_statfs(&r, &rp->sfs);
    if (f & RP_TARGET) {
        rp->target = get_str(&r, &n);
        if (rp->target && !target_ok(rp->target, n))
            r.bad = 1;
    }
    if (f & RP_DENTS) {
        rp->ndents = get32(&r);
        if (rp->ndents > GP_MAX_DENTS)
            r.bad = 1;
        for (uint32_t i = 0; i < rp->ndents && !r.bad; i++) {
            struct gp_dirent *d = &rp->dents[i];
            d->ino = get64(&r);
            d->next = get64(&r);
            d->type = get8(&r);
            d->name = get_str(&r, &n);
            d->namelen = (uint16_t)n;
            /* "." and ".." are allowed here: directories list them */
            if (d->name && (n == 0 || n > GP_NAME_MAX || memchr(d->name, '/', n)))
                r.bad = 1;
        }
        if (r.bad)
            rp->ndents = 0;
    }
    if (r.bad || r.off != len)
        return -EINVAL;
    return 0;
}
