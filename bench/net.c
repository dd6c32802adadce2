/*
 * net MODE N — loopback networking, one number printed:
 *   net tcpbulk MIB    a thread receives MIB MiB sent over one TCP connection on
 *                      127.0.0.1 in 256 KiB writes; prints MB/s (10^6 bytes/s),
 *                      timed from the first write to the receiver's end of file
 *   net connrate N     N times: socket, connect, close against a thread that
 *                      accepts and closes; prints microseconds per connection
 *   net udprr N        N UDP request/response round trips (64 bytes) with an
 *                      echo thread; prints microseconds per round trip
 * An untimed warm-up of N/10 (connrate, udprr) comes first.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 << 10)

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int listener(int type, struct sockaddr_in *a)
{
    int fd = socket(AF_INET, type, 0);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(*a);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, len) < 0 ||
        getsockname(fd, (struct sockaddr *)a, &len) < 0)
        die("net: bind");
    if (type == SOCK_STREAM && listen(fd, 4096) < 0)
        die("net: listen");
    return fd;
}

static int g_lfd;
static long g_count;
static double g_end;

static void *bulk_rx(void *arg)
{
    (void)arg;
    int s = accept(g_lfd, NULL, NULL);
    char *buf = malloc(CHUNK);
    ssize_t n;
    long total = 0;
    while ((n = read(s, buf, CHUNK)) > 0)
        total += n;
    g_end = now_us();
    g_count = total;
    close(s);
    return NULL;
}

static int tcpbulk(long mib)
{
    struct sockaddr_in a;
    g_lfd = listener(SOCK_STREAM, &a);
    pthread_t th;
    pthread_create(&th, NULL, bulk_rx, NULL);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("net: connect");
    char *buf = malloc(CHUNK);
    memset(buf, 'x', CHUNK);
    long want = mib << 20;
    double t0 = now_us();
    for (long sent = 0; sent < want;) {
        ssize_t n = write(c, buf, CHUNK);
        if (n <= 0)
            die("net: write");
        sent += n;
    }
    close(c);
    pthread_join(th, NULL);
    if (g_count != want) {
        fprintf(stderr, "net: received %ld of %ld\n", g_count, want);
        return 1;
    }
    printf("%.1f\n", want / (g_end - t0));   /* bytes per us = MB/s */
    return 0;
}

static void *conn_acceptor(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        int s = accept(g_lfd, NULL, NULL);
        if (s < 0)
            die("net: accept");
        close(s);
    }
    return NULL;
}

static int connrate(long n)
{
    struct sockaddr_in a;
    g_lfd = listener(SOCK_STREAM, &a);
    long warm = n / 10 + 1;
    pthread_t th;
    pthread_create(&th, NULL, conn_acceptor, (void *)(n + warm));
    double t0 = 0;
    for (long i = 0; i < n + warm; i++) {
        if (i == warm)
            t0 = now_us();
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
            die("net: connect");
        close(c);
    }
    pthread_join(th, NULL);
    printf("%.2f\n", (now_us() - t0) / n);
    return 0;
}

static void *udp_echo(void *arg)
{
    long n = (long)arg;
    char buf[64];
    struct sockaddr_in from;
    for (long i = 0; i < n; i++) {
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(g_lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (r < 0 || sendto(g_lfd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl) < 0)
            die("net: echo");
    }
    return NULL;
}

static int udprr(long n)
{
    struct sockaddr_in a;
    g_lfd = listener(SOCK_DGRAM, &a);
    long warm = n / 10 + 1;
    pthread_t th;
    pthread_create(&th, NULL, udp_echo, (void *)(n + warm));
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("net: connect");
    char buf[64] = { 0 };
    double t0 = 0;
    for (long i = 0; i < n + warm; i++) {
        if (i == warm)
            t0 = now_us();
        if (send(c, buf, sizeof(buf), 0) != sizeof(buf) || recv(c, buf, sizeof(buf), 0) < 0)
            die("net: udp");
    }
    printf("%.2f\n", (now_us() - t0) / n);
    pthread_join(th, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc < 3 || n <= 0) {
        fprintf(stderr, "usage: net tcpbulk MIB | connrate N | udprr N\n");
        return 2;
    }
    if (!strcmp(argv[1], "tcpbulk"))
        return tcpbulk(n);
    if (!strcmp(argv[1], "connrate"))
        return connrate(n);
    if (!strcmp(argv[1], "udprr"))
        return udprr(n);
    fprintf(stderr, "net: unknown mode %s\n", argv[1]);
    return 2;
}
