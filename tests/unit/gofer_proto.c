/* gofer_proto: the Gofer wire format. Every message type round-trips; every
 * truncation, extension and random mutation of a valid message either decodes to
 * something that re-encodes to the same bytes or is refused, and never reads outside
 * the packet (packets are exact-size heap copies, so ASan would see it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gofer/proto.h"

/* a request of type t with every field set */
static struct gp_req sample_req(uint16_t t)
{
    return (struct gp_req){
        .type = t, .tag = 0x1234 + t, .fid = 7, .fid2 = 9, .flags = O_RDWR | O_APPEND,
        .mode = S_IFREG | 0644, .uid = 1000, .gid = 1001, .offset = 0x123456789aULL,
        .name = "file.txt", .name2 = t == GP_SYMLINK ? "../target/x" : "other",
        .attr = { .valid = GP_SA_MODE | GP_SA_SIZE | GP_SA_ATIME | GP_SA_MTIME,
                  .mode = 0600, .uid = 5, .gid = 6, .size = 4096, .atime_sec = 100,
                  .atime_nsec = UTIME_NOW, .mtime_sec = 200, .mtime_nsec = 999999999 },
    };
}

static struct gp_reply sample_reply(uint16_t t)
{
    struct gp_reply rp = {
        .type = t, .tag = 0x4321 + t, .fid = 11,
        .st = { .dev = 1, .ino = 2, .nlink = 3, .rdev = 4, .size = 5, .blocks = 6,
                .mode = S_IFDIR | 0755, .uid = 7, .gid = 8, .blksize = 4096,
                .atime_sec = -1, .mtime_sec = 10, .ctime_sec = 11, .atime_nsec = 1,
                .mtime_nsec = 2, .ctime_nsec = 3 },
        .sfs = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 },
        .target = "/etc/passwd",
    };
    static const char *names[] = { ".", "..", "a", "longer-name" };
    rp.ndents = 4;
    for (int i = 0; i < 4; i++)
        rp.dents[i] = (struct gp_dirent){ .ino = 100 + i, .next = 1000 + i, .type = 4,
                                          .namelen = (uint16_t)strlen(names[i]),
                                          .name = names[i] };
    if (t == GP_ERROR)
        rp.err = EINVAL;
    return rp;
}

/* encode into an exact-size heap packet */
static unsigned char *enc_req(const struct gp_req *rq, size_t *len)
{
    unsigned char tmp[GP_MAX_MSG];
    int n = gp_encode_req(rq, tmp, sizeof(tmp));
    cr_assert_gt(n, 0, "encode %s: %d", gp_type_name(rq->type), n);
    unsigned char *p = malloc((size_t)n);
    memcpy(p, tmp, (size_t)n);
    *len = (size_t)n;
    return p;
}

static unsigned char *enc_reply(const struct gp_reply *rp, size_t *len)
{
    unsigned char tmp[GP_MAX_MSG];
    int n = gp_encode_reply(rp, tmp, sizeof(tmp));
    cr_assert_gt(n, 0, "encode reply %s: %d", gp_type_name(rp->type), n);
    unsigned char *p = malloc((size_t)n);
    memcpy(p, tmp, (size_t)n);
    *len = (size_t)n;
    return p;
}

/* decodes buf; if it decodes, re-encoding gives the same bytes. 0 or -EINVAL. */
static int check_req(const unsigned char *buf, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    struct gp_req rq;
    uint32_t tag;
    int r = gp_decode_req(copy, len, &rq, &tag);
    if (r == 0) {
        unsigned char again[GP_MAX_MSG];
        int n = gp_encode_req(&rq, again, sizeof(again));
        cr_assert_eq(n, (int)len);
        cr_assert(memcmp(again, copy, len) == 0);
    }
    free(copy);
    return r;
}

static int check_reply(const unsigned char *buf, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    struct gp_reply rp;
    int r = gp_decode_reply(copy, len, &rp);
    if (r == 0) {
        unsigned char again[GP_MAX_MSG];
        int n = gp_encode_reply(&rp, again, sizeof(again));
        cr_assert_eq(n, (int)len);
        cr_assert(memcmp(again, copy, len) == 0);
    }
    free(copy);
    return r;
}

Test(gofer_proto, request_round_trip)
{
    for (uint16_t t = 1; t < GP_NTYPES; t++) {
        struct gp_req in = sample_req(t), out;
        size_t len;
        unsigned char *p = enc_req(&in, &len);
        uint32_t tag;
        cr_assert_eq(gp_decode_req(p, len, &out, &tag), 0, "%s", gp_type_name(t));
        cr_assert_eq(out.type, t);
        cr_assert_eq(out.tag, in.tag);
        cr_assert_eq(tag, in.tag);
        if (t != GP_ATTACH)
            cr_assert_eq(out.fid, 7, "%s", gp_type_name(t));
        if (out.name)
            cr_assert_str_eq(out.name, "file.txt");
        if (out.name2)
            cr_assert_str_eq(out.name2, in.name2);
        cr_assert(check_req(p, len) == 0);
        free(p);
    }
    /* spot checks of per-type fields */
    struct gp_req in = sample_req(GP_RENAME), out;
    size_t len;
    uint32_t tag;
    unsigned char *p = enc_req(&in, &len);
    gp_decode_req(p, len, &out, &tag);
    cr_assert_eq(out.fid2, 9);
    cr_assert_eq(out.flags, in.flags);
    cr_assert_str_eq(out.name2, "other");
    free(p);
    in = sample_req(GP_SETATTR);
    p = enc_req(&in, &len);
    gp_decode_req(p, len, &out, &tag);
    cr_assert(memcmp(&out.attr, &in.attr, sizeof(in.attr)) == 0);
    free(p);
    in = sample_req(GP_CREATE);
    p = enc_req(&in, &len);
    gp_decode_req(p, len, &out, &tag);
    cr_assert(out.mode == in.mode && out.uid == 1000 && out.gid == 1001);
    free(p);
    in = sample_req(GP_GETDENTS);
    p = enc_req(&in, &len);
    gp_decode_req(p, len, &out, &tag);
    cr_assert_eq(out.offset, in.offset);
    free(p);
}

Test(gofer_proto, reply_round_trip)
{
    for (uint16_t t = 0; t < GP_NTYPES; t++) {
        struct gp_reply in = sample_reply(t), out;
        size_t len;
        unsigned char *p = enc_reply(&in, &len);
        cr_assert_eq(gp_decode_reply(p, len, &out), 0, "%s", gp_type_name(t));
        cr_assert_eq(out.type, t);
        cr_assert_eq(out.tag, in.tag);
        cr_assert_eq(out.err, in.err);
        cr_assert(check_reply(p, len) == 0);
        free(p);
    }
    struct gp_reply in = sample_reply(GP_WALK), out;
    size_t len;
    unsigned char *p = enc_reply(&in, &len);
    gp_decode_reply(p, len, &out);
    cr_assert_eq(out.fid, 11);
    cr_assert(memcmp(&out.st, &in.st, sizeof(in.st)) == 0);
    free(p);
    in = sample_reply(GP_GETDENTS);
    p = enc_reply(&in, &len);
    gp_decode_reply(p, len, &out);
    cr_assert_eq(out.ndents, 4);
    cr_assert_str_eq(out.dents[1].name, "..");
    cr_assert_str_eq(out.dents[3].name, "longer-name");
    cr_assert_eq(out.dents[3].ino, 103);
    cr_assert_eq(out.dents[3].next, 1003);
    free(p);
    in = sample_reply(GP_READLINK);
    p = enc_reply(&in, &len);
    gp_decode_reply(p, len, &out);
    cr_assert_str_eq(out.target, "/etc/passwd");
    free(p);
    in = sample_reply(GP_STATFS);
    p = enc_reply(&in, &len);
    gp_decode_reply(p, len, &out);
    cr_assert(memcmp(&out.sfs, &in.sfs, sizeof(in.sfs)) == 0);
    free(p);
    /* an error reply carries nothing else */
    in = sample_reply(GP_WALK);
    in.err = ENOENT;
    p = enc_reply(&in, &len);
    cr_assert_eq(len, GP_HDR_SIZE + 4);
    gp_decode_reply(p, len, &out);
    cr_assert_eq(out.err, ENOENT);
    cr_assert_eq(out.fid, 0);
    free(p);
}

/* every prefix is refused, whether or not its size field is patched to agree */
static void truncations(const unsigned char *p, size_t len, int is_req)
{
    for (size_t n = 0; n < len; n++) {
        unsigned char *q = malloc(n ? n : 1);
        memcpy(q, p, n);
        cr_assert_eq(is_req ? check_req(q, n) : check_reply(q, n), -EINVAL);
        if (n >= 4) {
            uint32_t sz = (uint32_t)n;
            memcpy(q, &sz, 4);
            cr_assert_eq(is_req ? check_req(q, n) : check_reply(q, n), -EINVAL,
                         "prefix %zu of %zu", n, len);
        }
        free(q);
    }
    /* one byte too many, with and without the size agreeing */
    unsigned char *q = malloc(len + 1);
    memcpy(q, p, len);
    q[len] = 0;
    cr_assert_eq(is_req ? check_req(q, len + 1) : check_reply(q, len + 1), -EINVAL);
    uint32_t sz = (uint32_t)len + 1;
    memcpy(q, &sz, 4);
    cr_assert_eq(is_req ? check_req(q, len + 1) : check_reply(q, len + 1), -EINVAL);
    free(q);
}

Test(gofer_proto, truncated_and_extended)
{
    for (uint16_t t = 1; t < GP_NTYPES; t++) {
        struct gp_req rq = sample_req(t);
        size_t len;
        unsigned char *p = enc_req(&rq, &len);
        truncations(p, len, 1);
        free(p);
    }
    for (uint16_t t = 0; t < GP_NTYPES; t++) {
        struct gp_reply rp = sample_reply(t);
        size_t len;
        unsigned char *p = enc_reply(&rp, &len);
        truncations(p, len, 0);
        free(p);
    }
}

Test(gofer_proto, oversized)
{
    unsigned char *big = calloc(1, GP_MAX_MSG + 1);
    uint32_t sz = GP_MAX_MSG + 1;
    memcpy(big, &sz, 4);
    uint16_t t = GP_WALK;
    memcpy(big + 4, &t, 2);
    struct gp_req rq;
    uint32_t tag;
    cr_assert_eq(gp_decode_req(big, GP_MAX_MSG + 1, &rq, &tag), -EINVAL);
    t |= GP_REPLY;
    memcpy(big + 4, &t, 2);
    struct gp_reply rp;
    cr_assert_eq(gp_decode_reply(big, GP_MAX_MSG + 1, &rp), -EINVAL);
    free(big);
    /* the encoder will not make one either */
    char target[GP_TARGET_MAX + 2];
    memset(target, 'a', sizeof(target) - 1);
    target[sizeof(target) - 1] = 0;
    struct gp_req s = sample_req(GP_SYMLINK);
    s.name2 = target;
    unsigned char buf[GP_MAX_MSG];
    cr_assert_eq(gp_encode_req(&s, buf, sizeof(buf)), -EINVAL);
    s = sample_req(GP_WALK);
    cr_assert_eq(gp_encode_req(&s, buf, 20), -EMSGSIZE);
}

Test(gofer_proto, bad_names)
{
    const char *bad[] = { "", ".", "..", "a/b", "/", "x/" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert(!gp_name_ok(bad[i], strlen(bad[i])), "%s", bad[i]);
        struct gp_req rq = sample_req(GP_WALK);
        rq.name = bad[i];
        unsigned char buf[GP_MAX_MSG];
        cr_assert_eq(gp_encode_req(&rq, buf, sizeof(buf)), -EINVAL);
    }
    char longname[GP_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname));
    cr_assert(gp_name_ok(longname, GP_NAME_MAX));
    cr_assert(!gp_name_ok(longname, GP_NAME_MAX + 1));
    cr_assert(gp_name_ok("...", 3));

    /* hand-patch a valid WALK of "ab" into ".." and "a/": refused on decode */
    struct gp_req rq = sample_req(GP_WALK);
    rq.name = "ab";
    size_t len;
    unsigned char *p = enc_req(&rq, &len);
    size_t at = len - 3;   /* the name's bytes: a, b, NUL */
    cr_assert_eq(p[at], 'a');
    p[at] = '.'; p[at + 1] = '.';
    cr_assert_eq(check_req(p, len), -EINVAL);
    p[at] = 'a'; p[at + 1] = '/';
    cr_assert_eq(check_req(p, len), -EINVAL);
    p[at + 1] = 0;   /* a NUL inside the string */
    cr_assert_eq(check_req(p, len), -EINVAL);
    p[at + 1] = 'b'; p[at + 2] = 'c';   /* no NUL at the end */
    cr_assert_eq(check_req(p, len), -EINVAL);
    p[at + 2] = 0;
    cr_assert_eq(check_req(p, len), 0);
    uint16_t slen = 200;   /* string length past the end */
    memcpy(p + at - 2, &slen, 2);
    cr_assert_eq(check_req(p, len), -EINVAL);
    free(p);
}

Test(gofer_proto, inconsistent_headers_and_counts)
{
    struct gp_req rq = sample_req(GP_STAT);
    size_t len;
    unsigned char *p = enc_req(&rq, &len);
    p[6] = 1;   /* reserved */
    cr_assert_eq(check_req(p, len), -EINVAL);
    p[6] = 0;
    uint16_t t = 99;
    memcpy(p + 4, &t, 2);
    cr_assert_eq(check_req(p, len), -EINVAL);
    t = GP_STAT | GP_REPLY;   /* a reply where a request belongs */
    memcpy(p + 4, &t, 2);
    cr_assert_eq(check_req(p, len), -EINVAL);
    t = GP_ERROR;
    memcpy(p + 4, &t, 2);
    cr_assert_eq(check_req(p, len), -EINVAL);
    free(p);

    /* replies: errno range, error with a body, GP_ERROR without an error, counts */
    struct gp_reply rp = sample_reply(GP_GETDENTS);
    p = enc_reply(&rp, &len);
    uint32_t cnt = GP_MAX_DENTS + 1;
    memcpy(p + GP_HDR_SIZE + 4, &cnt, 4);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    cnt = 5;   /* one more than is there */
    memcpy(p + GP_HDR_SIZE + 4, &cnt, 4);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    cnt = 3;   /* one fewer: bytes left over */
    memcpy(p + GP_HDR_SIZE + 4, &cnt, 4);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    cnt = 4;
    memcpy(p + GP_HDR_SIZE + 4, &cnt, 4);
    uint32_t e = 5000;
    memcpy(p + GP_HDR_SIZE, &e, 4);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    e = ENOENT;   /* an error, yet a body follows */
    memcpy(p + GP_HDR_SIZE, &e, 4);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    free(p);
    rp = sample_reply(GP_ERROR);
    rp.err = 0;
    unsigned char buf[64];
    cr_assert_eq(gp_encode_reply(&rp, buf, sizeof(buf)), -EINVAL);
    /* a stat with an impossible nanosecond count */
    rp = sample_reply(GP_STAT);
    rp.st.mtime_nsec = 1000000000;
    p = enc_reply(&rp, &len);
    cr_assert_eq(check_reply(p, len), -EINVAL);
    free(p);
    /* setattr: unknown valid bits, bad nanoseconds */
    rq = sample_req(GP_SETATTR);
    rq.attr.valid |= 1u << 20;
    unsigned char big[GP_MAX_MSG];
    cr_assert_eq(gp_encode_req(&rq, big, sizeof(big)), -EINVAL);
    rq = sample_req(GP_SETATTR);
    rq.attr.atime_nsec = 1000000000;
    cr_assert_eq(gp_encode_req(&rq, big, sizeof(big)), -EINVAL);
}

/* random byte mutations: no crash, no out-of-bounds read, and anything accepted is
 * exactly what re-encoding it gives */
Test(gofer_proto, random_mutations)
{
    srand(12345);
    for (int round = 0; round < 20000; round++) {
        uint16_t t = (uint16_t)(rand() % GP_NTYPES);
        int is_req = t != 0 && (rand() & 1);
        size_t len;
        unsigned char *p;
        if (is_req) {
            struct gp_req rq = sample_req(t);
            p = enc_req(&rq, &len);
        } else {
            struct gp_reply rp = sample_reply(t);
            p = enc_reply(&rp, &len);
        }
        int k = 1 + rand() % 4;
        for (int i = 0; i < k; i++)
            p[(size_t)rand() % len] = (unsigned char)rand();
        if (is_req)
            check_req(p, len);
        else
            check_reply(p, len);
        free(p);
    }
}
