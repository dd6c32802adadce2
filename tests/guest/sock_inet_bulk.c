/* TCP over loopback carries every byte in order, whatever shape the buffers have:
 * large writes, writev with odd, empty and many small pieces, MSG_MORE, a buffer in
 * a file mapping, sendfile, a write from an unmapped address (EFAULT, nothing sent);
 * the reader uses readv with odd pieces, with the default and a small receive
 * buffer. */
#include "guest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define BIG (3 * 1024 * 1024 + 17)

static unsigned char *g_src;       /* BIG bytes of pattern */

struct rx {
    int fd;
    size_t total;
    uint64_t hash;
};

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void *reader(void *arg)
{
    struct rx *r = arg;
    static unsigned char a[1000], b[1], c[65536 + 13];
    struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
    r->hash = 14695981039346656037ULL;
    for (;;) {
        ssize_t n = readv(r->fd, iov, 3);
        CHECK(n >= 0);
        if (n == 0)
            break;
        size_t left = (size_t)n;
        for (int i = 0; i < 3 && left; i++) {
            size_t k = left < iov[i].iov_len ? left : iov[i].iov_len;
            r->hash = fnv(r->hash, iov[i].iov_base, k);
            left -= k;
        }
        r->total += (size_t)n;
    }
    return NULL;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        CHECK(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static int pair(int fam, int *c, int *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    int l = socket(fam, SOCK_STREAM, 0);
    CHECK(l >= 0);
    CHECK(bind(l, (struct sockaddr *)&ss, len) == 0);
    CHECK(listen(l, 4) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&ss, &len) == 0);
    *c = socket(fam, SOCK_STREAM, 0);
    CHECK(*c >= 0);
    CHECK(connect(*c, (struct sockaddr *)&ss, len) == 0);
    *s = accept(l, NULL, NULL);
    CHECK(*s >= 0);
    return l;
}

static void run(int fam, int tiny_rcvbuf)
{
    int c, s;
    int l = pair(fam, &c, &s);
    if (tiny_rcvbuf) {
        int v = 16384;         /* smaller makes Linux crawl (window probes) */
        CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0);
    }
    struct rx r = { .fd = s };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reader, &r) == 0);

    uint64_t want = 14695981039346656037ULL;
    size_t sent = 0;
#define SENT(p, n) (want = fnv(want, (p), (n)), sent += (n))

    /* one large write */
    write_all(c, g_src, BIG);
    SENT(g_src, BIG);

    /* writev: odd, empty and page-crossing pieces, more than one window's worth */
    const unsigned char *p = g_src + 5;
    struct iovec iov[6] = {
        { (void *)p, 1 }, { (void *)(p + 1), 0 }, { (void *)(p + 1), 4095 },
        { (void *)(p + 4096), 70001 }, { (void *)(p + 74097), 3 },
        { (void *)(p + 74100), 131072 + 5 },
    };
    size_t vlen = 1 + 4095 + 70001 + 3 + 131072 + 5;
    CHECK(writev(c, iov, 6) == (ssize_t)vlen);
    SENT(p, vlen);

    /* writev of many small pieces, then a large one */
    static struct iovec many[301];
    size_t mlen = 0;
    for (int i = 0; i < 300; i++) {
        many[i] = (struct iovec){ (void *)(g_src + 1000 + i * 7), 7 };
        mlen += 7;
    }
    many[300] = (struct iovec){ (void *)(g_src + 1000 + 2100), 100000 };
    mlen += 100000;
    CHECK(writev(c, many, 301) == (ssize_t)mlen);
    SENT(g_src + 1000, mlen);

    /* MSG_MORE, then a plain send */
    CHECK(send(c, g_src + 100, 10, MSG_MORE) == 10);
    SENT(g_src + 100, 10);
    CHECK(send(c, g_src + 200, 20, 0) == 20);
    SENT(g_src + 200, 20);

    /* from an unmapped page: EFAULT, and nothing of it is sent */
    unsigned char *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hole != MAP_FAILED);
    CHECK(munmap(hole, 4096) == 0);
    errno = 0;
    ssize_t w = write(c, hole, 100);
    say("write from unmapped: %zd %s\n", w, errno_name(errno));

    /* from a shared file mapping */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK(fwrite(g_src + 7, 1, 3 * 4096, f) == 3 * 4096);
    CHECK(fflush(f) == 0);
    unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fileno(f), 0);
    CHECK(m != MAP_FAILED);
    write_all(c, m + 1, 3 * 4096 - 2);
    SENT(m + 1, 3 * 4096 - 2);
    /* sendfile: the data comes from a Sentry buffer, not guest memory */
    off_t off = 3;
    CHECK(sendfile(c, fileno(f), &off, 3 * 4096 - 5) == 3 * 4096 - 5);
    SENT(m + 3, 3 * 4096 - 5);
    munmap(m, 3 * 4096);
    fclose(f);

    CHECK(shutdown(c, SHUT_WR) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    say("%s%s: sent %zu received %zu same %d\n", fam == AF_INET ? "AF_INET" : "AF_INET6",
        tiny_rcvbuf ? " tiny rcvbuf" : "", sent, r.total, r.hash == want);
    close(c);
    close(s);
    close(l);
}

int main(void)
{
    g_src = malloc(BIG);
    CHECK(g_src != NULL);
    for (size_t i = 0; i < BIG; i++)
        g_src[i] = (unsigned char)(i * 131 + (i >> 9) + (i >> 17));
    run(AF_INET, 0);
    run(AF_INET6, 0);
    run(AF_INET, 1);
    return 0;
}
