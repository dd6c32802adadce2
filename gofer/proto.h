/* The Gofer protocol: binary request/response messages over a SOCK_SEQPACKET socket
 * (one message per packet), encoded and decoded by the same code on both sides.
 *
 * Every message is a 12-byte header then a body:
 *     u32 size      the whole message, header included
 *     u16 type      a GP_* request, or GP_REPLY | the request's type
 *     u16 zero      reserved, must be 0
 *     u32 tag       chosen by the Sentry, echoed by the reply
 * Integers are little-endian fixed width. A string is a u16 length, the bytes and a NUL
 * (the length excludes it; no NUL inside). Which fields a body holds, and in which
 * order, depends only on the type (the layout tables in proto.c). A reply body is a u32
 * errno (0 or a positive errno) and, only when it is 0, the reply's fields.
 *
 * Decoding checks everything before use: the size against the packet, every string
 * and count against the bytes left, names against the rules for a single path
 * component, and that nothing is left over. Decoded strings point into the packet. */
#ifndef GOFER_PROTO_H
#define GOFER_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Message types. The values are the wire format: never renumber. */
enum gp_type {
    GP_ERROR    = 0,   /* reply only: to a request that did not decode (EINVAL) */
    GP_ATTACH   = 1,   /* -> fid, stat of the root */
    GP_WALK     = 2,   /* fid, name -> new fid, stat (one component) */
    GP_STAT     = 3,   /* fid -> stat */
    GP_OPEN     = 4,   /* fid, flags -> host fd by SCM_RIGHTS */
    GP_CREATE   = 5,   /* dir fid, name, flags, mode, uid, gid -> fid, stat, fd */
    GP_MKDIR    = 6,   /* dir fid, name, mode, uid, gid -> fid, stat */
    GP_MKNOD    = 7,   /* dir fid, name, mode (FIFO, socket, regular), uid, gid */
    GP_SYMLINK  = 8,   /* dir fid, name, target, uid, gid -> fid, stat */
    GP_LINK     = 9,   /* dir fid, name, fid2 = the existing file */
    GP_UNLINK   = 10,  /* dir fid, name, flags (AT_REMOVEDIR) */
    GP_RENAME   = 11,  /* old dir fid, name, fid2 = new dir, name2, flags (renameat2) */
    GP_READLINK = 12,  /* fid -> target */
    GP_GETDENTS = 13,  /* dir fid, offset cookie -> entries */
    GP_SETATTR  = 14,  /* fid, attributes -> stat */
    GP_STATFS   = 15,  /* fid -> statfs */
    GP_FSYNC    = 16,  /* fid, flags (1: datasync) */
    GP_CLOSE    = 17,  /* fid */
    GP_NTYPES,
    GP_REPLY    = 0x8000,
};

enum {
    GP_HDR_SIZE   = 12,
    GP_MAX_MSG    = 32768,   /* no message is larger (packets are received into this) */
    GP_NAME_MAX   = 255,     /* a path component */
    GP_TARGET_MAX = 4095,    /* a symlink target (PATH_MAX less its NUL) */
    GP_MAX_DENTS  = 64,      /* entries in one GETDENTS reply */
    GP_MAX_ERRNO  = 4095,
};

/* struct stat as it travels: explicit widths, never the host's layout. */
struct gp_stat {
    uint64_t dev, ino, nlink, rdev, size, blocks;
    uint32_t mode, uid, gid, blksize;
    int64_t atime_sec, mtime_sec, ctime_sec;
    uint32_t atime_nsec, mtime_nsec, ctime_nsec;
};

struct gp_statfs {
    uint64_t type, bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, flags;
};

/* SETATTR: valid says which fields apply. Time nsec may be UTIME_NOW or UTIME_OMIT. */
enum {
    GP_SA_MODE = 1 << 0, GP_SA_UID = 1 << 1, GP_SA_GID = 1 << 2, GP_SA_SIZE = 1 << 3,
    GP_SA_ATIME = 1 << 4, GP_SA_MTIME = 1 << 5,
    GP_SA_ALL = (1 << 6) - 1,
};
struct gp_setattr {
    uint32_t valid;
    uint32_t mode, uid, gid;
    uint64_t size;
    int64_t atime_sec, mtime_sec;
    uint32_t atime_nsec, mtime_nsec;
};

struct gp_dirent {
    uint64_t ino;
    uint64_t next;          /* the cookie to continue after this entry */
    uint8_t type;           /* DT_* */
    uint16_t namelen;
    const char *name;       /* into the packet, NUL-terminated */
};

/* A request. Only the fields of its type's layout are encoded or decoded. */
struct gp_req {
    uint16_t type;
    uint32_t tag;
    uint32_t fid;           /* the object, or the directory to work in */
    uint32_t fid2;          /* LINK: the existing file; RENAME: the new directory */
    uint32_t flags;         /* open flags, AT_REMOVEDIR, renameat2 flags, datasync */
    uint32_t mode, uid, gid;
    uint64_t offset;        /* GETDENTS cookie */
    const char *name;       /* a single component */
    const char *name2;      /* RENAME: the new name; SYMLINK: the target */
    struct gp_setattr attr;
};

/* A reply. err != 0 means none of the other fields was sent. */
struct gp_reply {
    uint16_t type;          /* the request's type (GP_REPLY cleared) */
    uint32_t tag;
    uint32_t err;
    uint32_t fid;
    struct gp_stat st;
    struct gp_statfs sfs;
    const char *target;     /* READLINK */
    uint32_t ndents;
    struct gp_dirent dents[GP_MAX_DENTS];
};

/* gp_name_ok: whether s is a single path component: non-empty, at most GP_NAME_MAX
 * bytes, no '/', not "." or "..". */
int gp_name_ok(const char *s, size_t len);

/* gp_encode_req / gp_encode_reply: write the message into buf (size bytes). Return
 * its length, or -EINVAL (a field the decoder would refuse) / -EMSGSIZE (no room). */
int gp_encode_req(const struct gp_req *rq, void *buf, size_t size);
int gp_encode_reply(const struct gp_reply *rp, void *buf, size_t size);

/* gp_decode_req / gp_decode_reply: parse the len-byte packet at buf. 0 or -EINVAL;
 * nothing is read outside buf. Strings in the result point into buf. A request that
 * fails to decode still has its tag in *tag_out when the header was whole (so the
 * error reply can carry it), else 0. */
int gp_decode_req(const void *buf, size_t len, struct gp_req *rq, uint32_t *tag_out);
int gp_decode_reply(const void *buf, size_t len, struct gp_reply *rp);

/* gp_reply_has_fd: whether a successful reply to type carries a host fd. */
int gp_reply_has_fd(uint16_t type);

/* gp_type_name: "WALK" ... for logs; "?" for unknown. */
const char *gp_type_name(uint16_t type);

#endif
